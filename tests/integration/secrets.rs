//! `sync-secrets` and `rotate-secret` through the binary against the local AWS: what is stored,
//! that a second run writes nothing, that a token can be had with the stored credentials at every
//! step of a rotation (a crash included), and that no secret ever reaches an output.

use aws_sdk_ssm::types::{ParameterType, ResourceTypeForTagging};
use cogwire::credentials::decide::fingerprint;
use cogwire::sensitive::Secret;
use serde_json::Value;

use crate::support::{Output, TestAccount, Workdir, local_aws};

pub(crate) const SERVICES: &str = r#"
[pool]
domain = "fleet"

[services.customers-v1]
scopes = { "customer.read" = "Customer Read Scope" }

[services.accounts-v1]
consumes = ["customers-v1/customer.read"]

[services.orders-v1]
consumes = ["customers-v1/customer.read"]
"#;

struct Setup {
    account: TestAccount,
    pool: String,
    workdir: Workdir,
    env: Vec<(String, String)>,
}

async fn setup(text: &str) -> Setup {
    let account = local_aws().account();
    let pool = account.new_pool("secrets").await;
    let mut env = account.env();
    env.push(("COGWIRE_USER_POOL_ID".to_owned(), pool.clone()));
    let setup = Setup {
        account,
        pool,
        workdir: Workdir::new(text),
        env,
    };
    let apply = setup.cogwire(&["apply", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}", apply.all());
    setup
}

impl Setup {
    fn cogwire(&self, args: &[&str]) -> Output {
        self.workdir.run(args, &self.env)
    }

    fn ok(&self, args: &[&str]) -> Output {
        let output = self.cogwire(args);
        assert_eq!(output.code, 0, "cogwire {args:?}: {}", output.all());
        output
    }

    async fn parameter(&self, name: &str) -> Option<(String, String)> {
        let output = self
            .account
            .ssm()
            .await
            .get_parameter()
            .name(name)
            .with_decryption(true)
            .send()
            .await
            .ok()?;
        let parameter = output.parameter()?;
        Some((
            parameter.value()?.to_owned(),
            parameter.r#type()?.as_str().to_owned(),
        ))
    }

    async fn stored(&self, service: &str) -> Value {
        let (value, kind) = self
            .parameter(&format!("/cogwire/{service}"))
            .await
            .unwrap_or_else(|| panic!("no parameter for {service}"));
        assert_eq!(kind, "SecureString");
        serde_json::from_str(&value).expect("stored JSON")
    }

    async fn tags(&self, name: &str) -> Vec<(String, String)> {
        let output = self
            .account
            .ssm()
            .await
            .list_tags_for_resource()
            .resource_type(ResourceTypeForTagging::Parameter)
            .resource_id(name)
            .send()
            .await
            .expect("ListTagsForResource");
        let mut tags: Vec<_> = output
            .tag_list()
            .iter()
            .map(|tag| (tag.key().to_owned(), tag.value().to_owned()))
            .collect();
        tags.sort();
        tags
    }

    /// A token from the local /oauth2/token with what the store holds.
    fn token_status(&self, stored: &Value) -> u16 {
        let (status, _) = local_aws().token(
            &self.pool,
            stored["client_id"].as_str().expect("client_id"),
            stored["client_secret"].as_str().expect("client_secret"),
            &[],
        );
        status
    }

    fn puts(&self) -> u64 {
        self.account.calls_to("PutParameter")["calls"]
            .as_u64()
            .unwrap_or(0)
    }

    async fn secret_ids(&self, client_id: &str) -> Vec<String> {
        self.account
            .cognito()
            .await
            .list_user_pool_client_secrets()
            .user_pool_id(&self.pool)
            .client_id(client_id)
            .send()
            .await
            .expect("ListUserPoolClientSecrets")
            .client_secrets()
            .iter()
            .filter_map(|secret| secret.client_secret_id().map(str::to_owned))
            .collect()
    }

    /// What `rotate-secret` keeps of a client's secrets: id to SHA-256 of the value.
    async fn fingerprints(&self, client_id: &str) -> serde_json::Map<String, Value> {
        let name = format!("/cogwire/{}/secrets/{client_id}", self.pool);
        let (text, _) = self.parameter(&name).await.expect("fingerprints kept");
        serde_json::from_str(&text).expect("fingerprints JSON")
    }

    async fn keep_fingerprints(
        &self,
        client_id: &str,
        fingerprints: &serde_json::Map<String, Value>,
    ) {
        self.put(
            &format!("/cogwire/{}/secrets/{client_id}", self.pool),
            &Value::Object(fingerprints.clone()).to_string(),
            ParameterType::String,
        )
        .await;
    }

    async fn put(&self, name: &str, value: &str, kind: ParameterType) {
        self.account
            .ssm()
            .await
            .put_parameter()
            .name(name)
            .value(value)
            .r#type(kind)
            .overwrite(true)
            .send()
            .await
            .expect("PutParameter");
    }

    async fn described_secret(&self, client_id: &str) -> String {
        self.account
            .cognito()
            .await
            .describe_user_pool_client()
            .user_pool_id(&self.pool)
            .client_id(client_id)
            .send()
            .await
            .expect("DescribeUserPoolClient")
            .user_pool_client()
            .and_then(|client| client.client_secret())
            .expect("secret")
            .to_owned()
    }
}

#[tokio::test]
async fn secrets_sync_stores_tagged_json_and_a_second_run_writes_nothing() {
    let setup = setup(SERVICES).await;
    // `apply` stored the new clients' credentials; forget them to watch sync write them.
    for service in ["accounts-v1", "orders-v1"] {
        let name = format!("/cogwire/{service}");
        assert!(
            setup.parameter(&name).await.is_some(),
            "apply stored {service}"
        );
        let ssm = setup.account.ssm().await;
        ssm.delete_parameter()
            .name(name)
            .send()
            .await
            .expect("DeleteParameter");
    }
    let dry = setup.ok(&["sync-secrets", "--dry-run", "--json"]);
    let report: Value = serde_json::from_str(&dry.stdout).expect("json");
    assert_eq!(
        report["changed"],
        serde_json::json!(["accounts-v1", "orders-v1"])
    );
    assert!(setup.parameter("/cogwire/accounts-v1").await.is_none());

    let sync = setup.ok(&["sync-secrets", "--json"]);
    let report: Value = serde_json::from_str(&sync.stdout).expect("json");
    assert_eq!(report["format_version"], "1");
    assert_eq!(
        report["changed"],
        serde_json::json!(["accounts-v1", "orders-v1"])
    );
    assert_eq!(report["deleted"], serde_json::json!([]));

    let stored = setup.stored("orders-v1").await;
    assert_eq!(stored["user_pool_id"], setup.pool.as_str());
    assert_eq!(
        stored["token_url"],
        "https://fleet.auth.us-east-1.amazoncognito.com/oauth2/token"
    );
    assert_eq!(
        stored["scopes"],
        serde_json::json!(["customers-v1/customer.read"])
    );
    assert_eq!(setup.token_status(&stored), 200);
    assert_eq!(
        setup.tags("/cogwire/orders-v1").await,
        vec![
            ("cogwire:service".to_owned(), "orders-v1".to_owned()),
            ("cogwire:user-pool".to_owned(), setup.pool.clone()),
            ("managed-by".to_owned(), "cogwire".to_owned()),
        ]
    );

    let before = setup.puts();
    let again = setup.ok(&["sync-secrets", "--json"]);
    let report: Value = serde_json::from_str(&again.stdout).expect("json");
    assert_eq!(report["changed"], serde_json::json!([]));
    assert_eq!(
        report["unchanged"],
        serde_json::json!(["accounts-v1", "orders-v1"])
    );
    assert_eq!(setup.puts(), before, "a second sync wrote");

    // An entry someone else wrote under the same prefix, without cogwire's tags, is never deleted.
    setup
        .account
        .ssm()
        .await
        .put_parameter()
        .name("/cogwire/someone-else")
        .value("keep me")
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .expect("PutParameter");
    // orders-v1 is no longer declared: sync deletes its entry (before any apply; apply would
    // delete it too, with its client).
    setup.workdir.write(&SERVICES.replace(
        "[services.orders-v1]\nconsumes = [\"customers-v1/customer.read\"]\n",
        "",
    ));
    let pruned = setup.ok(&["sync-secrets", "--json"]);
    let report: Value = serde_json::from_str(&pruned.stdout).expect("json");
    assert_eq!(report["deleted"], serde_json::json!(["orders-v1"]));
    assert!(setup.parameter("/cogwire/orders-v1").await.is_none());
    assert!(setup.parameter("/cogwire/someone-else").await.is_some());
    assert!(setup.parameter("/cogwire/accounts-v1").await.is_some());
    setup.ok(&["apply", "--auto-approve", "--allow-destroy"]);
    assert!(setup.parameter("/cogwire/someone-else").await.is_some());
}

#[tokio::test]
async fn secrets_split_layout_and_secrets_manager() {
    let split = setup(&format!("[secrets]\nlayout = \"split\"\n{SERVICES}")).await;
    split.ok(&["sync-secrets"]);
    let (client_id, kind) = split
        .parameter("/cogwire/orders-v1/client_id")
        .await
        .expect("client_id");
    assert_eq!(kind, "String");
    let (secret, kind) = split
        .parameter("/cogwire/orders-v1/client_secret")
        .await
        .expect("client_secret");
    assert_eq!(kind, "SecureString");
    let (status, _) = local_aws().token(&split.pool, &client_id, &secret, &[]);
    assert_eq!(status, 200);
    let before = split.puts();
    split.ok(&["sync-secrets"]);
    assert_eq!(split.puts(), before);

    let manager = setup(&format!(
        "[secrets]\nstore = \"secretsmanager\"\npath = \"cogwire/{{pool}}/{{service}}\"\n{SERVICES}"
    ))
    .await;
    // `apply` stored the new clients' credentials; forget them to watch sync write them.
    for service in ["accounts-v1", "orders-v1"] {
        let client = manager.account.secrets_manager().await;
        client
            .delete_secret()
            .secret_id(format!("cogwire/{}/{service}", manager.pool))
            .force_delete_without_recovery(true)
            .send()
            .await
            .expect("DeleteSecret");
    }
    let sync = manager.ok(&["sync-secrets", "--json"]);
    let report: Value = serde_json::from_str(&sync.stdout).expect("json");
    assert_eq!(
        report["changed"],
        serde_json::json!(["accounts-v1", "orders-v1"])
    );
    let name = format!("cogwire/{}/orders-v1", manager.pool);
    let client = manager.account.secrets_manager().await;
    let value = client
        .get_secret_value()
        .secret_id(&name)
        .send()
        .await
        .expect("GetSecretValue");
    let stored: Value = serde_json::from_str(value.secret_string().expect("string")).expect("json");
    assert_eq!(manager.token_status(&stored), 200);
    let described = client
        .describe_secret()
        .secret_id(&name)
        .send()
        .await
        .expect("DescribeSecret");
    assert!(
        described
            .tags()
            .iter()
            .any(|tag| tag.key() == Some("managed-by") && tag.value() == Some("cogwire"))
    );
    manager.account.reset_calls();
    let again = manager.ok(&["sync-secrets", "--json"]);
    let report: Value = serde_json::from_str(&again.stdout).expect("json");
    assert_eq!(report["changed"], serde_json::json!([]));
    let calls = manager.account.calls();
    for operation in ["CreateSecret", "PutSecretValue", "TagResource"] {
        assert!(
            calls["operations"][operation].is_null(),
            "{operation} called: {calls}"
        );
    }
}

#[tokio::test]
async fn secrets_rotation_keeps_a_token_at_every_step_even_after_a_crash() {
    let setup = setup(SERVICES).await;
    setup.ok(&["sync-secrets"]);
    let first = setup.stored("orders-v1").await;
    let client_id = first["client_id"].as_str().expect("id").to_owned();
    assert_eq!(setup.token_status(&first), 200);

    // Phase one: a second secret, stored; the first still works for whoever cached it.
    setup.ok(&["rotate-secret", "orders-v1"]);
    let second = setup.stored("orders-v1").await;
    assert_eq!(second["client_id"], client_id.as_str());
    assert_ne!(second["client_secret"], first["client_secret"]);
    assert_eq!(setup.token_status(&second), 200);
    assert_eq!(setup.token_status(&first), 200);
    assert_eq!(setup.secret_ids(&client_id).await.len(), 2);

    // Running phase one again changes nothing, and a sync keeps the newer stored secret.
    setup.ok(&["rotate-secret", "orders-v1"]);
    setup.ok(&["sync-secrets"]);
    assert_eq!(setup.stored("orders-v1").await, second);
    assert_eq!(setup.secret_ids(&client_id).await.len(), 2);

    // Phase two: only the stored secret is left.
    setup.ok(&["rotate-secret", "orders-v1", "--finish"]);
    assert_eq!(setup.stored("orders-v1").await, second);
    assert_eq!(setup.token_status(&second), 200);
    assert_ne!(setup.token_status(&first), 200);
    assert_eq!(setup.secret_ids(&client_id).await.len(), 1);

    // A crash after AddUserPoolClientSecret, before the new value was stored: the value is lost.
    setup
        .account
        .cognito()
        .await
        .add_user_pool_client_secret()
        .user_pool_id(&setup.pool)
        .client_id(&client_id)
        .send()
        .await
        .expect("AddUserPoolClientSecret");
    assert_eq!(setup.token_status(&second), 200);
    // The next run replaces the unknown secret and stores its replacement.
    setup.ok(&["rotate-secret", "orders-v1"]);
    let third = setup.stored("orders-v1").await;
    assert_ne!(third["client_secret"], second["client_secret"]);
    assert_eq!(setup.token_status(&third), 200);
    assert_eq!(setup.token_status(&second), 200);
    assert_eq!(setup.secret_ids(&client_id).await.len(), 2);

    // A crash one step later: the new secret's fingerprint was kept, its value not stored. The
    // kept fingerprint does not make the lost secret the stored one: it is replaced again.
    setup.ok(&["rotate-secret", "orders-v1", "--finish"]);
    assert_eq!(setup.secret_ids(&client_id).await.len(), 1);
    let lost = setup
        .account
        .cognito()
        .await
        .add_user_pool_client_secret()
        .user_pool_id(&setup.pool)
        .client_id(&client_id)
        .send()
        .await
        .expect("AddUserPoolClientSecret");
    let lost = lost.client_secret_descriptor().expect("descriptor");
    let mut fingerprints = setup.fingerprints(&client_id).await;
    fingerprints.insert(
        lost.client_secret_id().expect("id").to_owned(),
        Value::from(fingerprint(&Secret::new(
            lost.client_secret_value().expect("value"),
        ))),
    );
    setup.keep_fingerprints(&client_id, &fingerprints).await;
    setup.ok(&["rotate-secret", "orders-v1"]);
    let replaced = setup.stored("orders-v1").await;
    assert_ne!(
        replaced["client_secret"],
        lost.client_secret_value().expect("value")
    );
    assert_eq!(setup.token_status(&replaced), 200);
    assert_eq!(setup.token_status(&third), 200);
    setup.ok(&["rotate-secret", "orders-v1", "--finish"]);
    assert_eq!(setup.secret_ids(&client_id).await.len(), 1);
    assert_ne!(setup.token_status(&third), 200);

    // The first crash, then straight to --finish: it deletes the unknown secret and keeps the
    // stored one.
    setup
        .account
        .cognito()
        .await
        .add_user_pool_client_secret()
        .user_pool_id(&setup.pool)
        .client_id(&client_id)
        .send()
        .await
        .expect("AddUserPoolClientSecret");
    setup.ok(&["rotate-secret", "orders-v1", "--finish"]);
    let fourth = setup.stored("orders-v1").await;
    assert_eq!(fourth, replaced);
    assert_eq!(setup.token_status(&fourth), 200);
    assert_eq!(setup.secret_ids(&client_id).await.len(), 1);
    assert_eq!(
        setup.described_secret(&client_id).await,
        fourth["client_secret"]
    );

    // Both phases in one run.
    setup.ok(&["rotate-secret", "orders-v1", "--grace", "1s"]);
    let fifth = setup.stored("orders-v1").await;
    assert_ne!(fifth["client_secret"], fourth["client_secret"]);
    assert_eq!(setup.token_status(&fifth), 200);
    assert_ne!(setup.token_status(&fourth), 200);
    assert_eq!(fifth["client_id"], client_id.as_str());
}

/// The audit's case: mid-rotation, something overwrites the stored secret with a value that is
/// none of the client's. `--finish` must not retire the old secret, the only one still stored
/// anywhere that works: it refuses, deleting nothing. `sync-secrets` repairs the store from
/// Cognito, after which `--finish` goes ahead and the stored secret works.
#[tokio::test]
async fn secrets_finish_refuses_while_the_store_holds_none_of_the_clients_secrets() {
    let setup = setup(SERVICES).await;
    let first = setup.stored("orders-v1").await;
    let client_id = first["client_id"].as_str().expect("id").to_owned();
    setup.ok(&["rotate-secret", "orders-v1"]);
    let second = setup.stored("orders-v1").await;
    let wrong = "overwritten_by_someone_else_0123456789";
    let mut overwritten = second.clone();
    overwritten["client_secret"] = Value::from(wrong);
    setup
        .put(
            "/cogwire/orders-v1",
            &overwritten.to_string(),
            ParameterType::SecureString,
        )
        .await;
    assert_eq!(setup.token_status(&overwritten), 401);

    for phase in [
        &["rotate-secret", "orders-v1", "--finish"][..],
        &["rotate-secret", "orders-v1"],
    ] {
        let refused = setup.cogwire(phase);
        assert_eq!(refused.code, 1, "{phase:?}: {}", refused.all());
        let errors: Vec<&str> = refused
            .stderr
            .lines()
            .filter(|line| line.starts_with("error"))
            .collect();
        assert_eq!(errors.len(), 1, "{}", refused.stderr);
        assert!(
            errors[0].contains("none of its app client's secrets"),
            "{}",
            refused.stderr
        );
        assert!(
            refused
                .stderr
                .contains("hint: run `cogwire sync-secrets --service orders-v1`"),
            "{}",
            refused.stderr
        );
        assert!(!refused.all().contains(wrong));
        assert_eq!(setup.secret_ids(&client_id).await.len(), 2, "{phase:?}");
        assert_eq!(setup.token_status(&first), 200, "{phase:?}");
        assert_eq!(setup.token_status(&second), 200, "{phase:?}");
    }

    // sync-secrets no longer keeps a stored value that is provably none of the client's.
    let sync = setup.ok(&["sync-secrets", "--json"]);
    let report: Value = serde_json::from_str(&sync.stdout).expect("json");
    assert!(
        report["changed"]
            .as_array()
            .expect("changed")
            .contains(&Value::from("orders-v1")),
        "{}",
        sync.all()
    );
    let repaired = setup.stored("orders-v1").await;
    assert_eq!(setup.token_status(&repaired), 200);

    setup.ok(&["rotate-secret", "orders-v1", "--finish"]);
    assert_eq!(setup.stored("orders-v1").await, repaired);
    assert_eq!(setup.token_status(&repaired), 200);
    assert_eq!(setup.secret_ids(&client_id).await.len(), 1);
}

/// With one secret, a sync replaces a stored value Cognito rejects with the client's secret.
#[tokio::test]
async fn secrets_sync_repairs_a_stored_secret_cognito_rejects() {
    let setup = setup(SERVICES).await;
    let good = setup.stored("orders-v1").await;
    let mut overwritten = good.clone();
    overwritten["client_secret"] = Value::from("overwritten_by_someone_else_0123456789");
    setup
        .put(
            "/cogwire/orders-v1",
            &overwritten.to_string(),
            ParameterType::SecureString,
        )
        .await;
    setup.ok(&["sync-secrets"]);
    assert_eq!(setup.stored("orders-v1").await, good);
}

#[tokio::test]
async fn secrets_never_reach_any_output_even_at_trace_level() {
    // Tokens from the local endpoint, so that `token` runs all the way.
    let services = SERVICES.replace(
        "domain = \"fleet\"",
        &format!("token_url = \"{}/oauth2/token\"", local_aws().endpoint()),
    );
    let mut setup = setup(&services).await;
    let cache = setup.workdir.path().join("cache").display().to_string();
    setup.env.push(("COGWIRE_CACHE_DIR".to_owned(), cache));
    let sdk_targets = {
        let mut env = setup.env.clone();
        env.push((
            "RUST_LOG".to_owned(),
            "aws_smithy_runtime=trace,aws_sdk_ssm=trace".to_owned(),
        ));
        env
    };
    setup.env.push(("RUST_LOG".to_owned(), "trace".to_owned()));
    let mut outputs = vec![
        setup.ok(&["-vvv", "plan"]),
        setup.ok(&["-vvv", "apply", "--auto-approve"]),
        setup.ok(&["-vvv", "sync-secrets", "--dry-run"]),
        setup.ok(&["-vvv", "sync-secrets", "--json"]),
        setup.ok(&["-vvv", "sync-secrets"]),
    ];
    let before = setup.stored("accounts-v1").await;
    outputs.push(setup.ok(&["-vvv", "rotate-secret", "accounts-v1"]));
    outputs.push(setup.ok(&["-vvv", "--json", "rotate-secret", "accounts-v1"]));
    let during = setup.stored("accounts-v1").await;
    outputs.push(setup.ok(&["-vvv", "sync-secrets", "--json"]));
    outputs.push(setup.ok(&["-vvv", "token", "accounts-v1", "--no-cache"]));
    outputs.push(setup.ok(&["-vvv", "rotate-secret", "accounts-v1", "--finish"]));
    outputs.push(setup.ok(&["-vvv", "--json", "plan"]));
    outputs.push(setup.ok(&["-vvv", "apply", "--auto-approve"]));
    outputs.push(setup.ok(&["-vvv", "token", "orders-v1"]));
    outputs.push(setup.ok(&["-vvv", "token", "orders-v1", "--from-cognito", "--json"]));
    outputs.push(setup.ok(&["-vvv", "env", "orders-v1"]));
    outputs.push(setup.ok(&["-vvv", "env", "orders-v1", "--format", "json"]));
    let imported = setup.workdir.path().join("imported.toml");
    let imported_arg = imported.display().to_string();
    outputs.push(setup.ok(&["-vvv", "import", "--output", &imported_arg]));
    // Asking for the SDK's own targets by name must not get its request and response bodies.
    let sdk_run = setup.workdir.run(&["sync-secrets", "--json"], &sdk_targets);
    assert_eq!(sdk_run.code, 0, "{}", sdk_run.all());
    outputs.push(sdk_run);
    let sdk_token = setup
        .workdir
        .run(&["token", "orders-v1", "--no-cache"], &sdk_targets);
    assert_eq!(sdk_token.code, 0, "{}", sdk_token.all());
    outputs.push(sdk_token);
    let orders = setup.stored("orders-v1").await;
    let mut secrets = [before, during, orders]
        .iter()
        .map(|stored| stored["client_secret"].as_str().expect("secret").to_owned())
        .collect::<Vec<_>>();
    let client_id = setup.stored("orders-v1").await["client_id"]
        .as_str()
        .expect("id")
        .to_owned();
    secrets.push(setup.described_secret(&client_id).await);
    let imported = std::fs::read_to_string(&imported).expect("import wrote its file");
    for text in outputs
        .iter()
        .map(Output::all)
        .chain(std::iter::once(imported))
    {
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "a client secret was printed:\n{text}"
            );
        }
    }
}

/// `-v` says what each step does and `-vv` names every AWS call, on stderr; stdout keeps only
/// the command's own output.
#[tokio::test]
async fn verbose_output_says_what_each_step_does() {
    let account = local_aws().account();
    let pool = account.new_pool("verbose").await;
    let mut env = account.env();
    env.push(("COGWIRE_USER_POOL_ID".to_owned(), pool.clone()));
    let workdir = Workdir::new(SERVICES);
    let run = |args: &[&str]| {
        let output = workdir.run(args, &env);
        assert_eq!(output.code, 0, "cogwire {args:?}: {}", output.all());
        output
    };
    let apply = run(&["-v", "apply", "--auto-approve"]);
    for expected in [
        format!("user pool {pool} in us-east-1"),
        "took the lock".to_owned(),
        "applying 3 changes".to_owned(),
        "credentials of accounts-v1: creating /cogwire/accounts-v1".to_owned(),
        "saving the ownership record".to_owned(),
        "releasing the lock".to_owned(),
    ] {
        assert!(
            apply.stderr.contains(&expected),
            "no `{expected}` in:\n{}",
            apply.stderr
        );
    }
    assert!(!apply.stdout.contains("took the lock"), "{}", apply.stdout);
    let sync = run(&["-v", "sync-secrets"]);
    for expected in [
        "credentials: 2 services selected, 2 with a client in the pool",
        "credentials: 0 to write, 0 to delete, 2 unchanged",
    ] {
        assert!(
            sync.stderr.contains(expected),
            "no `{expected}` in:\n{}",
            sync.stderr
        );
    }
    let rotate = run(&["-v", "rotate-secret", "orders-v1"]);
    assert!(
        rotate.stderr.contains("rotation of orders-v1: client "),
        "{}",
        rotate.stderr
    );
    let plan = run(&["-vv", "plan"]);
    for expected in [
        "AWS ListResourceServers",
        "AWS ListUserPoolClients",
        "AWS DescribeUserPoolClient",
    ] {
        assert!(
            plan.stderr.contains(expected),
            "no `{expected}` in:\n{}",
            plan.stderr
        );
    }
    let quiet = run(&["plan"]);
    assert!(!quiet.stderr.contains("AWS "), "{}", quiet.stderr);
}

#[tokio::test]
async fn apply_stores_a_new_clients_credentials_at_once() {
    // setup() ran `apply` only: the stored credentials are already there, and they work.
    let setup = setup(SERVICES).await;
    for service in ["accounts-v1", "orders-v1"] {
        let stored = setup.stored(service).await;
        let client_id = stored["client_id"].as_str().expect("client_id");
        let secret = stored["client_secret"].as_str().expect("client_secret");
        let (status, body) = setup
            .account
            .local_aws()
            .token(&setup.pool, client_id, secret, &[]);
        assert_eq!(status, 200, "{body}");
    }
    // A lost entry comes back with `apply --sync-secrets`, even when the pool needs no change.
    setup
        .account
        .ssm()
        .await
        .delete_parameter()
        .name("/cogwire/orders-v1")
        .send()
        .await
        .expect("DeleteParameter");
    let apply = setup.ok(&["apply", "--auto-approve", "--sync-secrets"]);
    assert!(apply.stdout.contains("No changes."), "{}", apply.stdout);
    assert!(setup.parameter("/cogwire/orders-v1").await.is_some());
}

/// A new client's credentials are stored while the rest of the plan still runs, not after it:
/// with one slow CreateResourceServer in the plan, the new client's parameter appears while
/// apply is still running.
#[tokio::test]
async fn apply_stores_credentials_while_the_rest_of_the_plan_runs() {
    let setup = setup(SERVICES).await;
    setup.workdir.write(&format!(
        "{SERVICES}\n[services.audit-v1]\nscopes = {{ \"event.read\" = \"Event Read\" }}\n\n[services.billing-v1]\nconsumes = [\"customers-v1/customer.read\"]\n"
    ));
    setup.account.set_faults(serde_json::json!({
        "operations": ["CreateResourceServer"],
        "latency_ms": 6000,
    }));
    let mut apply = setup
        .workdir
        .spawn(&["apply", "--auto-approve"], &setup.env);
    let started = std::time::Instant::now();
    let stored_while_running = loop {
        let running = apply.try_wait().expect("apply's status").is_none();
        if setup.parameter("/cogwire/billing-v1").await.is_some() {
            break running;
        }
        assert!(
            running,
            "apply ended without storing billing-v1's credentials"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(30));
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let status = apply.wait().expect("apply ends");
    setup.account.clear_faults();
    assert!(status.success(), "apply failed: {status}");
    assert!(
        stored_while_running,
        "billing-v1's credentials were stored only after apply was done"
    );
    let stored = setup.stored("billing-v1").await;
    let (code, body) = setup.account.local_aws().token(
        &setup.pool,
        stored["client_id"].as_str().expect("client_id"),
        stored["client_secret"].as_str().expect("client_secret"),
        &[],
    );
    assert_eq!(code, 200, "{body}");
}

/// A client whose credentials could not be stored (the store refused, or the run was killed
/// after creating it) gets them stored by the next apply, though the pool needs no change.
#[tokio::test]
async fn credentials_a_failed_apply_did_not_store_are_stored_by_the_next() {
    let store = "[secrets]\nstore = \"secretsmanager\"\npath = \"cogwire/{pool}/{service}\"\n";
    let setup = setup(&format!("{store}{SERVICES}")).await;
    setup.workdir.write(&format!(
        "{store}{SERVICES}\n[services.billing-v1]\nconsumes = [\"customers-v1/customer.read\"]\n"
    ));
    setup.account.set_faults(serde_json::json!({
        "error_share": 1.0,
        "error_code": "AccessDeniedException",
        "operations": ["CreateSecret"],
    }));
    let failed = setup.cogwire(&["apply", "--auto-approve"]);
    setup.account.clear_faults();
    assert_eq!(failed.code, 1, "{}", failed.all());
    assert!(failed.stderr.contains("AccessDenied"), "{}", failed.stderr);

    // The pool needs no change, but the plan is not done: it says what is left to store.
    let plan = setup.cogwire(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(
        plan.stdout
            .contains("credentials of billing-v1 will be stored"),
        "{}",
        plan.stdout
    );
    let again = setup.ok(&["apply", "--auto-approve"]);
    assert!(
        again
            .stdout
            .contains("credentials of billing-v1 will be stored"),
        "{}",
        again.stdout
    );
    let value = setup
        .account
        .secrets_manager()
        .await
        .get_secret_value()
        .secret_id(format!("cogwire/{}/billing-v1", setup.pool))
        .send()
        .await
        .expect("the next apply stored billing-v1's credentials");
    let stored: Value = serde_json::from_str(value.secret_string().expect("string")).expect("json");
    assert_eq!(setup.token_status(&stored), 200);
    let done = setup.cogwire(&["plan", "--detailed-exitcode"]);
    assert_eq!(done.code, 0, "{}", done.all());
    // Stored once: a third apply has nothing left to store.
    setup.account.reset_calls();
    setup.ok(&["apply", "--auto-approve"]);
    for write in ["CreateSecret", "PutSecretValue"] {
        let calls = setup.account.calls_to(write)["calls"].as_i64().unwrap_or(0);
        assert_eq!(calls, 0, "{write}");
    }
}

/// A plain apply leaves no stale credentials: a client whose scopes changed has them rewritten,
/// and a destroyed client's entry is deleted.
#[tokio::test]
async fn apply_keeps_stored_credentials_current() {
    let setup = setup(SERVICES).await;
    // A rotation leaves fingerprints of orders-v1's secrets beside the record.
    setup.ok(&["rotate-secret", "orders-v1"]);
    let orders = setup.stored("orders-v1").await;
    let fingerprints = format!(
        "/cogwire/{}/secrets/{}",
        setup.pool,
        orders["client_id"].as_str().expect("client_id")
    );
    assert!(setup.parameter(&fingerprints).await.is_some());
    setup.workdir.write(
        r#"
[pool]
domain = "fleet"

[services.customers-v1]
scopes = { "customer.read" = "Customer Read Scope", "customer.write" = "Customer Write Scope" }

[services.accounts-v1]
consumes = ["customers-v1/customer.read", "customers-v1/customer.write"]
"#,
    );
    setup.ok(&["apply", "--auto-approve", "--allow-destroy"]);
    let stored = setup.stored("accounts-v1").await;
    assert_eq!(
        stored["scopes"],
        serde_json::json!(["customers-v1/customer.read", "customers-v1/customer.write"])
    );
    assert!(
        setup.parameter("/cogwire/orders-v1").await.is_none(),
        "the destroyed client's credentials are still stored"
    );
    assert!(
        setup.parameter(&fingerprints).await.is_none(),
        "the destroyed client's secret fingerprints are left behind"
    );
}

#[tokio::test]
async fn kms_key_id_is_passed_to_the_store() {
    let setup = setup(&format!(
        "[secrets]\nkms_key_id = \"alias/cogwire-test\"\n{SERVICES}"
    ))
    .await;
    let described = setup
        .account
        .ssm()
        .await
        .describe_parameters()
        .parameter_filters(
            aws_sdk_ssm::types::ParameterStringFilter::builder()
                .key("Name")
                .values("/cogwire/orders-v1")
                .build()
                .expect("filter"),
        )
        .send()
        .await
        .expect("DescribeParameters");
    let parameter = described
        .parameters()
        .first()
        .expect("the stored parameter");
    assert_eq!(parameter.key_id(), Some("alias/cogwire-test"));
    assert_eq!(
        parameter.r#type().map(|kind| kind.as_str()),
        Some("SecureString")
    );
}
