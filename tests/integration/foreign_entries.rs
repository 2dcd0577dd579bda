//! Entries cogwire did not write, at a path where a service's credentials belong: `sync-secrets`
//! and `apply` leave them byte-identical and say so (exit 1, the entry named with its kind and
//! JSON key names, a hint to `--adopt`), the other services still sync, and `--adopt` takes one
//! over without ever changing its kind. Effects are checked with the test's own AWS clients.

use aws_sdk_ssm::types::{ParameterType, ResourceTypeForTagging, Tag};
use serde_json::Value;

use crate::support::{Output, TestAccount, Workdir, local_aws};

const SERVICES: &str = r#"
[pool]
domain = "fleet"

[services.customers-v1]
scopes = { "customer.read" = "Customer Read Scope" }

[services.accounts-v1]
consumes = ["customers-v1/customer.read"]

[services.orders-v1]
consumes = ["customers-v1/customer.read"]
"#;

/// The path of the reported bug: another tool's credentials live there.
const PATH: &str = "[secrets]\npath = \"/app/{service}/credentials\"\n";

/// What another tool wrote: its own schema, and a secret of its own.
const THEIRS: &str =
    r#"{"url":"https://auth.example.com","clientId":"theirs","clientSecret":"their-secret-0042"}"#;

struct Setup {
    account: TestAccount,
    pool: String,
    workdir: Workdir,
    env: Vec<(String, String)>,
}

/// A pool with cogwire's clients, made by `apply` with `services` (which decides where their
/// credentials were stored).
async fn setup(services: &str) -> Setup {
    let account = local_aws().account();
    let pool = account.new_pool("foreign").await;
    let mut env = account.env();
    env.push(("COGWIRE_USER_POOL_ID".to_owned(), pool.clone()));
    let setup = Setup {
        account,
        pool,
        workdir: Workdir::new(services),
        env,
    };
    setup.ok(&["apply", "--auto-approve"]);
    setup
}

/// An SSM parameter as readers and tag listers see it.
#[derive(Debug, PartialEq, Eq)]
struct Parameter {
    value: String,
    kind: String,
    version: i64,
    tags: Vec<(String, String)>,
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

    fn fails(&self, args: &[&str]) -> Output {
        let output = self.cogwire(args);
        assert_eq!(output.code, 1, "cogwire {args:?}: {}", output.all());
        output
    }

    async fn put(&self, name: &str, value: &str, kind: ParameterType, tags: &[(&str, &str)]) {
        let tags: Vec<Tag> = tags
            .iter()
            .map(|(key, value)| Tag::builder().key(*key).value(*value).build().expect("tag"))
            .collect();
        self.account
            .ssm()
            .await
            .put_parameter()
            .name(name)
            .value(value)
            .r#type(kind)
            .set_tags((!tags.is_empty()).then_some(tags))
            .send()
            .await
            .expect("PutParameter");
    }

    async fn parameter(&self, name: &str) -> Option<Parameter> {
        let ssm = self.account.ssm().await;
        let output = ssm
            .get_parameter()
            .name(name)
            .with_decryption(true)
            .send()
            .await
            .ok()?;
        let parameter = output.parameter()?;
        let listed = ssm
            .list_tags_for_resource()
            .resource_type(ResourceTypeForTagging::Parameter)
            .resource_id(name)
            .send()
            .await
            .expect("ListTagsForResource");
        let mut tags: Vec<(String, String)> = listed
            .tag_list()
            .iter()
            .map(|tag| (tag.key().to_owned(), tag.value().to_owned()))
            .collect();
        tags.sort();
        Some(Parameter {
            value: parameter.value()?.to_owned(),
            kind: parameter.r#type()?.as_str().to_owned(),
            version: parameter.version(),
            tags,
        })
    }

    fn cogwire_tags(&self, service: &str) -> Vec<(String, String)> {
        vec![
            ("cogwire:service".to_owned(), service.to_owned()),
            ("cogwire:user-pool".to_owned(), self.pool.clone()),
            ("managed-by".to_owned(), "cogwire".to_owned()),
        ]
    }

    fn token_status(&self, stored: &Value) -> u16 {
        let (status, _) = local_aws().token(
            &self.pool,
            stored["client_id"].as_str().expect("client_id"),
            stored["client_secret"].as_str().expect("client_secret"),
            &[],
        );
        status
    }
}

fn assert_no_value(output: &Output) {
    for value in [
        "their-secret-0042",
        "theirs",
        "auth.example.com",
        "kept as is",
    ] {
        assert!(
            !output.all().contains(value),
            "a stored value was printed:\n{}",
            output.all()
        );
    }
}

/// The reported bug: a SecureString another tool wrote at the path is neither rewritten nor
/// tagged; --dry-run and the JSON report name it; the other service still syncs; --adopt takes
/// it over, showing its key names, and from then on it is cogwire's.
#[tokio::test]
async fn foreign_entries_a_securestring_another_tool_wrote_is_left_alone_until_adopted() {
    let setup = setup(SERVICES).await;
    setup.workdir.write(&format!("{PATH}{SERVICES}"));
    let name = "/app/accounts-v1/credentials";
    setup
        .put(name, THEIRS, ParameterType::SecureString, &[])
        .await;
    let before = setup.parameter(name).await.expect("their parameter");

    let dry = setup.fails(&["sync-secrets", "--dry-run", "--json"]);
    assert_no_value(&dry);
    let report: Value = serde_json::from_str(&dry.stdout).expect("json");
    assert_eq!(report["refused"][0]["service"], "accounts-v1");
    assert_eq!(report["refused"][0]["name"], name);
    assert_eq!(report["refused"][0]["kind"], "secure_string");
    assert_eq!(
        report["refused"][0]["json_keys"],
        serde_json::json!(["clientId", "clientSecret", "url"])
    );
    assert_eq!(report["changed"], serde_json::json!(["orders-v1"]));
    assert!(dry.stderr.contains("--adopt accounts-v1"), "{}", dry.stderr);
    assert_eq!(setup.parameter(name).await.as_ref(), Some(&before));

    let dry = setup.fails(&["sync-secrets", "--dry-run"]);
    assert!(dry.stdout.contains(name), "{}", dry.stdout);
    assert!(dry.stdout.contains("1 refused"), "{}", dry.stdout);

    let sync = setup.fails(&["sync-secrets"]);
    assert_no_value(&sync);
    let error = sync
        .stderr
        .lines()
        .find(|line| line.starts_with("error:"))
        .unwrap_or_default();
    assert!(
        error.contains(name) && error.contains("SecureString"),
        "{}",
        sync.stderr
    );
    assert!(
        sync.stderr
            .contains("hint: if its readers are to get cogwire's credentials instead"),
        "{}",
        sync.stderr
    );
    assert!(
        sync.stderr
            .contains("cogwire sync-secrets --adopt accounts-v1"),
        "{}",
        sync.stderr
    );
    assert_eq!(
        setup.parameter(name).await.as_ref(),
        Some(&before),
        "the entry another tool wrote was changed"
    );
    // The other service was stored all the same.
    let orders = setup
        .parameter("/app/orders-v1/credentials")
        .await
        .expect("orders-v1 stored");
    assert_eq!(orders.tags, setup.cogwire_tags("orders-v1"));

    let adopt = setup.ok(&["sync-secrets", "--adopt", "accounts-v1"]);
    assert_no_value(&adopt);
    assert!(
        adopt.stdout.contains(&format!(
            "adopted accounts-v1: {name}, a SecureString parameter holding a JSON object with keys `clientId`, `clientSecret`, `url`"
        )),
        "{}",
        adopt.stdout
    );
    let adopted = setup.parameter(name).await.expect("adopted parameter");
    assert_eq!(adopted.kind, "SecureString");
    assert_eq!(adopted.tags, setup.cogwire_tags("accounts-v1"));
    let stored: Value = serde_json::from_str(&adopted.value).expect("cogwire's JSON");
    assert_eq!(setup.token_status(&stored), 200);
    // Now cogwire's: a plain sync keeps it, without --adopt.
    setup.ok(&["sync-secrets"]);
    assert_eq!(setup.parameter(name).await, Some(adopted));
}

/// A String parameter is never made a SecureString, even with --adopt; an entry tagged as
/// cogwire's for another pool is not this pool's to write.
#[tokio::test]
async fn foreign_entries_a_string_parameter_or_another_pools_entry_is_refused() {
    let setup = setup(SERVICES).await;
    setup.workdir.write(&format!("{PATH}{SERVICES}"));
    let plain = "/app/accounts-v1/credentials";
    setup
        .put(plain, "kept as is", ParameterType::String, &[])
        .await;
    let other_pool = "/app/orders-v1/credentials";
    setup
        .put(
            other_pool,
            THEIRS,
            ParameterType::SecureString,
            &[
                ("managed-by", "cogwire"),
                ("cogwire:service", "orders-v1"),
                ("cogwire:user-pool", "us-east-1_SomeOtherPool"),
            ],
        )
        .await;
    let plain_before = setup.parameter(plain).await.expect("String parameter");
    let other_before = setup.parameter(other_pool).await.expect("other pool's");

    for args in [
        &["sync-secrets"][..],
        &["sync-secrets", "--adopt", "accounts-v1"][..],
    ] {
        let sync = setup.fails(args);
        assert_no_value(&sync);
        assert!(
            sync.stderr
                .contains(&format!("{plain} is a String parameter")),
            "{}",
            sync.stderr
        );
        assert!(
            sync.stderr.contains("does not change an entry's kind"),
            "{}",
            sync.stderr
        );
        assert!(sync.stderr.contains(other_pool), "{}", sync.stderr);
        assert!(sync.stderr.contains("--adopt orders-v1"), "{}", sync.stderr);
        assert_eq!(setup.parameter(plain).await.as_ref(), Some(&plain_before));
        assert_eq!(
            setup.parameter(other_pool).await.as_ref(),
            Some(&other_before)
        );
    }
}

/// The same for Secrets Manager: an untagged secret at the path keeps its value and gets no tags.
#[tokio::test]
async fn foreign_entries_an_untagged_secrets_manager_secret_is_refused() {
    let store = "[secrets]\nstore = \"secretsmanager\"\npath = \"app/{service}/credentials\"\n";
    let setup = setup(&format!(
        "[secrets]\nstore = \"secretsmanager\"\npath = \"cogwire/{{pool}}/{{service}}\"\n{SERVICES}"
    ))
    .await;
    setup.workdir.write(&format!("{store}{SERVICES}"));
    let name = "app/accounts-v1/credentials";
    let client = setup.account.secrets_manager().await;
    client
        .create_secret()
        .name(name)
        .secret_string(THEIRS)
        .send()
        .await
        .expect("CreateSecret");
    let read = || async {
        let client = setup.account.secrets_manager().await;
        let value = client
            .get_secret_value()
            .secret_id(name)
            .send()
            .await
            .expect("GetSecretValue");
        let described = client
            .describe_secret()
            .secret_id(name)
            .send()
            .await
            .expect("DescribeSecret");
        (
            value.secret_string().map(str::to_owned),
            value.version_id().map(str::to_owned),
            described.tags().len(),
        )
    };
    let before = read().await;
    assert_eq!(before.2, 0);

    let sync = setup.fails(&["sync-secrets", "--json"]);
    assert_no_value(&sync);
    let report: Value = serde_json::from_str(&sync.stdout).expect("json");
    assert_eq!(report["refused"][0]["name"], name);
    assert_eq!(report["refused"][0]["kind"], "secret");
    assert!(
        sync.stderr.contains("--adopt accounts-v1"),
        "{}",
        sync.stderr
    );
    assert_eq!(read().await, before, "the secret another tool made changed");
    assert!(
        client
            .get_secret_value()
            .secret_id("app/orders-v1/credentials")
            .send()
            .await
            .is_ok(),
        "orders-v1 was not stored"
    );
}

/// `apply` stores a new client's credentials, but not over an entry cogwire did not write: it
/// names the entry and fails, and the service stays pending, so that the apply after the entry
/// is dealt with stores them though the pool needs no change.
#[tokio::test]
async fn foreign_entries_apply_leaves_them_alone_and_keeps_the_credentials_pending() {
    let setup = setup(&format!("{PATH}{SERVICES}")).await;
    let name = "/app/billing-v1/credentials";
    setup
        .put(name, THEIRS, ParameterType::SecureString, &[])
        .await;
    let before = setup.parameter(name).await.expect("their parameter");
    setup.workdir.write(&format!(
        "{PATH}{SERVICES}\n[services.billing-v1]\nconsumes = [\"customers-v1/customer.read\"]\n"
    ));
    let apply = setup.fails(&["apply", "--auto-approve"]);
    assert_no_value(&apply);
    assert!(apply.stderr.contains(name), "{}", apply.stderr);
    assert!(
        apply.stderr.contains("--adopt billing-v1"),
        "{}",
        apply.stderr
    );
    assert_eq!(setup.parameter(name).await.as_ref(), Some(&before));

    // Still pending: the next apply tries again, and refuses again.
    let again = setup.fails(&["apply", "--auto-approve"]);
    // The plan says what is still to do: the pool needs nothing, the credentials are pending.
    assert!(
        again
            .stdout
            .contains("credentials of billing-v1 will be stored"),
        "{}",
        again.stdout
    );
    assert!(again.stderr.contains(name), "{}", again.stderr);
    assert_eq!(setup.parameter(name).await.as_ref(), Some(&before));

    // Once the other tool's entry is gone, an apply with nothing to change stores them.
    setup
        .account
        .ssm()
        .await
        .delete_parameter()
        .name(name)
        .send()
        .await
        .expect("DeleteParameter");
    let stored = setup.ok(&["apply", "--auto-approve"]);
    assert!(
        stored
            .stdout
            .contains("credentials of billing-v1 will be stored"),
        "{}",
        stored.stdout
    );
    let parameter = setup.parameter(name).await.expect("billing-v1 stored");
    assert_eq!(parameter.tags, setup.cogwire_tags("billing-v1"));
    let credentials: Value = serde_json::from_str(&parameter.value).expect("JSON");
    assert_eq!(setup.token_status(&credentials), 200);
}
