//! One services.toml, two environments, two pools in the local AWS: `--env` (and `COGWIRE_ENV`)
//! chooses one, an apply in one leaves the other untouched, `plan` plans both in one run, and each
//! environment's credentials are stored at its own path with its own key names. Then `[secrets]
//! fields`: entries another tool wrote in its own key names are adopted without a byte changed.

use std::collections::BTreeSet;

use aws_sdk_ssm::types::ParameterType;
use serde_json::Value;

use crate::support::{Output, TestAccount, Workdir, local_aws};

fn services(staging: &str, prod: &str, endpoint: &str) -> String {
    format!(
        r#"
[pool]
token_url = "{endpoint}/oauth2/token"

[secrets]
path = "/{{env}}/{{service}}/cogwire"

[environments.staging]
pool = {{ id = "{staging}" }}

[environments.prod]
pool = {{ id = "{prod}" }}
secrets = {{ fields = {{ client_id = "clientId", client_secret = "clientSecret", token_url = "url" }} }}

[environments.prod.services.accounts-v1.client]
access_token_validity = "15m"

[services.customers-v1]
scopes = {{ "customer.read" = "Customer Read Scope" }}

[services.accounts-v1]
consumes = ["customers-v1/customer.read"]

[services.canary]
consumes = ["customers-v1/customer.read"]
environments = ["staging"]
"#
    )
}

struct Setup {
    account: TestAccount,
    staging: String,
    prod: String,
    workdir: Workdir,
    env: Vec<(String, String)>,
}

impl Setup {
    async fn new() -> Self {
        let account = local_aws().account();
        let staging = account.new_pool("staging").await;
        let prod = account.new_pool("prod").await;
        let workdir = Workdir::new(&services(&staging, &prod, local_aws().endpoint()));
        let env = account.env();
        Self {
            account,
            staging,
            prod,
            workdir,
            env,
        }
    }

    fn cogwire(&self, args: &[&str]) -> Output {
        self.workdir.run(args, &self.env)
    }

    fn code(&self, args: &[&str], code: i32) -> Output {
        let output = self.cogwire(args);
        assert_eq!(output.code, code, "cogwire {args:?}: {}", output.all());
        output
    }

    /// Client name to (id, access token validity in seconds).
    async fn clients(&self, pool: &str) -> Vec<(String, String, i64)> {
        let cognito = self.account.cognito().await;
        let listed = cognito
            .list_user_pool_clients()
            .user_pool_id(pool)
            .max_results(60)
            .send()
            .await
            .expect("ListUserPoolClients");
        let mut clients = Vec::new();
        for client in listed.user_pool_clients() {
            let described = cognito
                .describe_user_pool_client()
                .user_pool_id(pool)
                .client_id(client.client_id().unwrap_or_default())
                .send()
                .await
                .expect("DescribeUserPoolClient");
            let client = described.user_pool_client().expect("the client");
            let unit = client
                .token_validity_units()
                .and_then(|units| units.access_token())
                .map_or("hours", |unit| unit.as_str());
            let factor = match unit {
                "seconds" => 1,
                "minutes" => 60,
                "days" => 86_400,
                _ => 3600,
            };
            clients.push((
                client.client_name().unwrap_or_default().to_owned(),
                client.client_id().unwrap_or_default().to_owned(),
                i64::from(client.access_token_validity().unwrap_or(1)) * factor,
            ));
        }
        clients.sort();
        clients
    }

    /// The stored entry: its JSON and its SSM version.
    async fn stored(&self, name: &str) -> Option<(Value, i64)> {
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
            serde_json::from_str(parameter.value()?).expect("stored JSON"),
            parameter.version(),
        ))
    }
}

fn keys(value: &Value) -> BTreeSet<&str> {
    value
        .as_object()
        .map(|object| object.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn two_environments_in_one_file_are_planned_and_applied_apart() {
    let setup = Setup::new().await;
    let valid = setup.code(&["validate"], 0);
    assert!(
        valid.stdout.contains("(environment prod)")
            && valid.stdout.contains("(environment staging)"),
        "{}",
        valid.stdout
    );

    // No environment chosen, none of the file's own: the command names them.
    let unchosen = setup.code(&["plan"], 1);
    assert!(
        unchosen.stderr.contains("--env NAME") && unchosen.stderr.contains("prod, staging"),
        "{}",
        unchosen.stderr
    );
    let typo = setup.code(&["plan", "--env", "prdo"], 1);
    assert!(
        typo.stderr.contains("did you mean `prod`?"),
        "{}",
        typo.stderr
    );

    // The plan's first line names the environment and its pool.
    let plan = setup.code(&["plan", "--env", "staging", "--detailed-exitcode"], 2);
    assert_eq!(
        plan.stdout.lines().next(),
        Some(format!("Environment staging, user pool {}", setup.staging).as_str()),
        "{}",
        plan.stdout
    );

    // Apply staging: prod's pool is untouched.
    setup.code(&["apply", "--env", "staging", "--auto-approve"], 0);
    let staging_clients = setup.clients(&setup.staging).await;
    let names: Vec<&str> = staging_clients
        .iter()
        .map(|(name, ..)| name.as_str())
        .collect();
    assert_eq!(names, vec!["accounts-v1-app-client", "canary-app-client"]);
    assert!(setup.clients(&setup.prod).await.is_empty());
    let (staging_entry, staging_version) = setup
        .stored("/staging/accounts-v1/cogwire")
        .await
        .expect("staging's entry");
    assert_eq!(
        keys(&staging_entry),
        BTreeSet::from([
            "client_id",
            "client_secret",
            "scopes",
            "token_url",
            "user_pool_id"
        ])
    );
    assert_eq!(staging_entry["user_pool_id"], setup.staging.as_str());
    assert!(setup.stored("/prod/accounts-v1/cogwire").await.is_none());

    // Both planned in one run: staging has nothing to do, prod everything.
    let both = setup.code(&["plan", "--all-environments", "--detailed-exitcode"], 2);
    assert!(
        both.stdout
            .contains(&format!("Environment prod, user pool {}", setup.prod))
            && both
                .stdout
                .contains(&format!("Environment staging, user pool {}", setup.staging)),
        "{}",
        both.stdout
    );
    let json = setup.code(&["plan", "--env", "prod", "--env", "staging", "--json"], 0);
    let document: Value = serde_json::from_str(&json.stdout).expect("plan JSON");
    let plans = document["plans"]
        .as_array()
        .expect("one plan per environment");
    assert_eq!(plans.len(), 2);
    assert_eq!(plans[0]["environment"], "prod");
    assert_eq!(plans[0]["pool_id"], setup.prod.as_str());
    assert_eq!(plans[1]["environment"], "staging");
    assert_eq!(plans[1]["summary"]["add"], 0, "{}", json.stdout);
    setup.code(&["plan", "--env", "staging", "--detailed-exitcode"], 0);

    // Apply prod through COGWIRE_ENV: staging's clients and entries are untouched.
    let mut prod_env = setup.env.clone();
    prod_env.push(("COGWIRE_ENV".to_owned(), "prod".to_owned()));
    let applied = setup.workdir.run(&["apply", "--auto-approve"], &prod_env);
    assert_eq!(applied.code, 0, "{}", applied.all());
    assert_eq!(setup.clients(&setup.staging).await, staging_clients);
    assert_eq!(
        setup.stored("/staging/accounts-v1/cogwire").await,
        Some((staging_entry, staging_version))
    );
    let prod_clients = setup.clients(&setup.prod).await;
    let names: Vec<&str> = prod_clients
        .iter()
        .map(|(name, ..)| name.as_str())
        .collect();
    assert_eq!(
        names,
        vec!["accounts-v1-app-client"],
        "canary is staging's only"
    );
    assert_eq!(prod_clients[0].2, 15 * 60, "prod's own token validity");
    assert_eq!(staging_clients[0].2, 3600);
    let (prod_entry, _) = setup
        .stored("/prod/accounts-v1/cogwire")
        .await
        .expect("prod's entry");
    assert_eq!(
        keys(&prod_entry),
        BTreeSet::from(["clientId", "clientSecret", "url"])
    );
    assert_eq!(prod_entry["clientId"], prod_clients[0].1.as_str());
    assert!(
        !applied
            .all()
            .contains(prod_entry["clientSecret"].as_str().unwrap_or("-")),
        "a secret was printed"
    );
    setup.code(&["plan", "--all-environments", "--detailed-exitcode"], 0);

    // The token of each environment comes from its own entry.
    for environment in ["staging", "prod"] {
        let token = setup.code(
            &["token", "accounts-v1", "--env", environment, "--no-cache"],
            0,
        );
        assert!(
            token.stdout.trim().split('.').count() == 3,
            "{}",
            token.stdout
        );
    }
}

#[tokio::test]
async fn bad_environments_are_one_line_each_with_a_hint() {
    let text = services("us-east-1_Stg", "us-east-1_Prd", "http://127.0.0.1:9")
        .replace(
            "environments = [\"staging\"]",
            "environments = [\"stagign\"]",
        )
        .replace(
            "[environments.prod.services.accounts-v1.client]",
            "[environments.prod.services.acounts-v1.client]",
        );
    let workdir = Workdir::new(&text);
    let output = workdir.run(&["validate"], &[]);
    assert_eq!(output.code, 1, "{}", output.all());
    assert!(
        output.stderr.contains("unknown environment `stagign`"),
        "{}",
        output.stderr
    );
    assert!(
        output.stderr.contains("did you mean `staging`?"),
        "{}",
        output.stderr
    );
    assert!(
        output.stderr.contains("did you mean `accounts-v1`?"),
        "{}",
        output.stderr
    );
    assert!(
        output.stderr.contains("services.toml:"),
        "{}",
        output.stderr
    );

    let shared = services("us-east-1_Same", "us-east-1_Same", "http://127.0.0.1:9")
        .replace("path = \"/{env}/{service}/cogwire\"", "path = \"/apps/{service}\"")
        .replace(
            "fields = { client_id = \"clientId\", client_secret = \"clientSecret\", token_url = \"url\" }",
            "fields = { client_id = \"clientId\", token_url = \"clientId\" }",
        );
    workdir.write(&shared);
    let output = workdir.run(&["validate"], &[]);
    assert_eq!(output.code, 1, "{}", output.all());
    assert!(
        output.stderr.contains("leaves out `client_secret`"),
        "{}",
        output.stderr
    );
    assert!(
        output
            .stderr
            .contains("maps both `client_id` and `token_url`"),
        "{}",
        output.stderr
    );
    // Once the fields are right, the two environments' shared pool and paths are the problem.
    workdir.write(
        &services("us-east-1_Same", "us-east-1_Same", "http://127.0.0.1:9").replace(
            "path = \"/{env}/{service}/cogwire\"",
            "path = \"/apps/{service}\"",
        ),
    );
    let output = workdir.run(&["validate"], &[]);
    assert_eq!(output.code, 1, "{}", output.all());
    assert!(
        output.stderr.contains("share pool `us-east-1_Same`"),
        "{}",
        output.stderr
    );
}

/// `token`, `env` and `verify` naming a service that the chosen environment does not have say
/// where it is declared, with the `--env` to pass, before any AWS call (the endpoint here
/// answers nothing).
#[test]
fn a_service_of_another_environment_is_named_with_its_environment() {
    let workdir = Workdir::new(&services(
        "us-east-1_Stg",
        "us-east-1_Prd",
        "http://127.0.0.1:9",
    ));
    let env: Vec<(String, String)> = [
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
    ]
    .iter()
    .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
    .collect();
    let commands: [&[&str]; 3] = [
        &["token", "canary", "--env", "prod"],
        &["env", "canary", "--env", "prod"],
        &[
            "verify",
            "--base-url",
            "http://127.0.0.1:9",
            "--service",
            "canary",
            "--env",
            "prod",
        ],
    ];
    for args in commands {
        let output = workdir.run(args, &env);
        assert_eq!(output.code, 1, "{args:?}: {}", output.all());
        assert!(
            output
                .stderr
                .contains("service `canary` is declared only in environment staging"),
            "{args:?}: {}",
            output.stderr
        );
        assert!(
            output.stderr.contains("hint: pass --env staging"),
            "{args:?}: {}",
            output.stderr
        );
    }
    // A name declared nowhere is still the plain "declares no service", with its guess.
    let output = workdir.run(&["token", "canry", "--env", "staging"], &env);
    assert_eq!(output.code, 1, "{}", output.all());
    assert!(
        output.stderr.contains("declares no service `canry`"),
        "{}",
        output.stderr
    );
}

/// What the serverless plugin (and hand-written scripts like it) store: the token URL and the
/// client's id and secret, in their own key names, at their own path.
#[tokio::test]
async fn entries_in_another_tools_key_names_are_adopted_without_a_byte_changed() {
    let account = local_aws().account();
    let pool = account.new_pool("serverless").await;
    account
        .new_resource_server(&pool, "customers-v1", &["customer.read"])
        .await;
    let (client_id, client_secret) = account
        .new_client(
            &pool,
            "accounts-v1-app-client",
            &["customers-v1/customer.read"],
        )
        .await;
    let endpoint = local_aws().endpoint();
    let token_url = format!("{endpoint}/oauth2/token");
    let name = "/serverless/accounts-v1/credentials";
    let written = format!(
        r#"{{"url":"{token_url}","clientId":"{client_id}","clientSecret":"{client_secret}"}}"#
    );
    let ssm = account.ssm().await;
    ssm.put_parameter()
        .name(name)
        .value(&written)
        .r#type(ParameterType::SecureString)
        .send()
        .await
        .expect("PutParameter");
    let text = format!(
        r#"
[pool]
id = "{pool}"
token_url = "{token_url}"

[secrets]
path = "/serverless/{{service}}/credentials"
fields = {{ client_id = "clientId", client_secret = "clientSecret", token_url = "url" }}

[services.customers-v1]
scopes = {{ "customer.read" = "customer.read" }}

[services.accounts-v1]
consumes = ["customers-v1/customer.read"]
"#
    );
    let workdir = Workdir::new(&text);
    let env = account.env();
    let run = |args: &[&str]| workdir.run(args, &env);
    let imported = run(&["apply", "--auto-approve"]);
    assert_eq!(imported.code, 0, "{}", imported.all());
    let adopted = run(&["sync-secrets", "--adopt", "accounts-v1"]);
    assert_eq!(adopted.code, 0, "{}", adopted.all());
    assert!(
        !adopted.all().contains(&client_secret),
        "a secret was printed"
    );
    let stored = ssm
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
        .expect("GetParameter");
    let parameter = stored.parameter().expect("the parameter");
    assert_eq!(
        parameter.value(),
        Some(written.as_str()),
        "not a byte changed"
    );
    assert_eq!(parameter.version(), 1, "never rewritten");
    let second = run(&["sync-secrets", "--dry-run", "--json"]);
    assert_eq!(second.code, 0, "{}", second.all());
    let token = run(&["token", "accounts-v1", "--no-cache"]);
    assert_eq!(token.code, 0, "{}", token.all());
}

/// `import --find-secrets PREFIX` finds the entries another tool wrote in the serverless plugin's
/// key names for the pool's clients, by the client id each holds, and proposes the `[secrets]
/// path` and `fields` (and `[pool] token_url`) under which cogwire writes exactly what they hold.
/// With that file, `apply` then `sync-secrets --adopt` leave every entry's keys, values and SSM
/// version as they were, read from outside; no output and no file holds a secret.
#[tokio::test]
async fn import_finds_another_tools_entries_and_adopting_them_changes_nothing() {
    let account = local_aws().account();
    let pool = account.new_pool("serverless-found").await;
    account
        .new_resource_server(&pool, "customers-v1", &["customer.read"])
        .await;
    let token_url = format!("{}/oauth2/token", local_aws().endpoint());
    let ssm = account.ssm().await;
    let mut seeded = Vec::new();
    for service in ["accounts-v1", "billing-v1", "orders-v1"] {
        let (client_id, client_secret) = account
            .new_client(
                &pool,
                &format!("{service}-app-client"),
                &["customers-v1/customer.read"],
            )
            .await;
        let name = format!("/sls/{service}/credentials");
        // The plugin's key order, which cogwire (sorting its keys) would not write.
        let value = format!(
            r#"{{"url":"{token_url}","clientId":"{client_id}","clientSecret":"{client_secret}"}}"#
        );
        ssm.put_parameter()
            .name(&name)
            .value(&value)
            .r#type(ParameterType::SecureString)
            .send()
            .await
            .expect("PutParameter");
        seeded.push((name, value, client_secret));
    }
    // Beside them, an entry of the same services that holds no client id: not the credentials.
    ssm.put_parameter()
        .name("/sls/orders-v1/database")
        .value(r#"{"password":"not-a-client-secret"}"#)
        .r#type(ParameterType::SecureString)
        .send()
        .await
        .expect("PutParameter");

    let workdir = Workdir::new("");
    let env = account.env();
    let run = |args: &[&str]| workdir.run(args, &env);
    let mut outputs = Vec::new();
    account.reset_calls();
    let imported = run(&[
        "import",
        "--user-pool-id",
        &pool,
        "--find-secrets",
        "/sls",
        "--output",
        "services.toml",
        "--force",
        "--stats",
        "--json",
    ]);
    assert_eq!(imported.code, 0, "{}", imported.all());
    let summary: Value = serde_json::from_str(&imported.stdout).expect("JSON");
    assert_eq!(
        summary["secrets"]["proposal"]["path"],
        "/sls/{service}/credentials"
    );
    assert_eq!(
        summary["secrets"]["entries"]["orders-v1"],
        "/sls/orders-v1/credentials"
    );
    assert_eq!(summary["secrets"]["read"], 4);
    // Three clients, four entries under the prefix: one DescribeUserPoolClient each (which
    // tells the secret too) and one page of GetParametersByPath.
    assert_eq!(account.calls_to("DescribeUserPoolClient")["calls"], 3);
    assert_eq!(account.calls_to("GetParametersByPath")["calls"], 1);
    assert_eq!(account.calls_to("GetParameters")["calls"], Value::Null);
    let written = std::fs::read_to_string(workdir.path().join("services.toml")).expect("the file");
    assert!(
        written.contains(&format!("token_url = \"{token_url}\"\n")),
        "{written}"
    );
    assert!(
        written.contains(
            "[secrets]\npath = \"/sls/{service}/credentials\"\nfields = { client_id = \"clientId\", client_secret = \"clientSecret\", token_url = \"url\" }\n"
        ),
        "{written}"
    );
    assert!(
        written.contains("#   orders-v1: /sls/orders-v1/credentials\n"),
        "{written}"
    );
    outputs.push(imported.all());
    outputs.push(written);

    let applied = run(&["apply", "--auto-approve"]);
    assert_eq!(applied.code, 0, "{}", applied.all());
    assert!(applied.stdout.contains("0 to add"), "{}", applied.stdout);
    let adopt = [
        "sync-secrets",
        "--adopt",
        "accounts-v1",
        "--adopt",
        "billing-v1",
        "--adopt",
        "orders-v1",
    ];
    let dry = run(&[&adopt[..], &["--dry-run"]].concat());
    assert_eq!(dry.code, 0, "{}", dry.all());
    let adopted = run(&adopt);
    assert_eq!(adopted.code, 0, "{}", adopted.all());
    let again = run(&["sync-secrets", "--json"]);
    assert_eq!(again.code, 0, "{}", again.all());
    let report: Value = serde_json::from_str(&again.stdout).expect("JSON");
    assert_eq!(report["changed"], serde_json::json!([]), "{report}");
    outputs.extend([applied.all(), dry.all(), adopted.all(), again.all()]);

    for (name, value, _) in &seeded {
        let stored = ssm
            .get_parameter()
            .name(name)
            .with_decryption(true)
            .send()
            .await
            .expect("GetParameter");
        let parameter = stored.parameter().expect("the parameter");
        assert_eq!(
            parameter.value(),
            Some(value.as_str()),
            "{name}: not a byte changed"
        );
        assert_eq!(parameter.version(), 1, "{name}: never rewritten");
        assert_eq!(parameter.r#type(), Some(&ParameterType::SecureString));
    }
    let tags = ssm
        .list_tags_for_resource()
        .resource_type(aws_sdk_ssm::types::ResourceTypeForTagging::Parameter)
        .resource_id("/sls/orders-v1/credentials")
        .send()
        .await
        .expect("ListTagsForResource");
    assert!(
        tags.tag_list()
            .iter()
            .any(|tag| tag.key() == "managed-by" && tag.value() == "cogwire"),
        "adopted: cogwire's from now on"
    );
    for output in &outputs {
        for (_, _, secret) in &seeded {
            assert!(!output.contains(secret.as_str()), "a secret was printed");
        }
        assert!(
            !output.contains("not-a-client-secret"),
            "a value was printed"
        );
    }
}

/// The serverless plugin itself merges the credentials into the application's configuration
/// JSON, under `auth.cognito`: `import --find-secrets` names such an entry and proposes nothing,
/// since `fields` cannot write it without dropping the rest.
#[tokio::test]
async fn import_names_credentials_nested_in_other_configuration_and_proposes_nothing() {
    let account = local_aws().account();
    let pool = account.new_pool("serverless-nested").await;
    account
        .new_resource_server(&pool, "customers-v1", &["customer.read"])
        .await;
    let (client_id, client_secret) = account
        .new_client(
            &pool,
            "orders-v1-app-client",
            &["customers-v1/customer.read"],
        )
        .await;
    let value = format!(
        "{{\n\t\"auth\": {{\n\t\t\"cognito\": {{\n\t\t\t\"url\": \"https://example-prefix.auth.us-east-1.amazoncognito.com/oauth2/token\",\n\t\t\t\"clientId\": \"{client_id}\",\n\t\t\t\"clientSecret\": \"{client_secret}\"\n\t\t}}\n\t}},\n\t\"database\": {{\n\t\t\"password\": \"db-password\"\n\t}}\n}}"
    );
    account
        .ssm()
        .await
        .put_parameter()
        .name("/layered-apis/orders-v1/prod")
        .value(&value)
        .r#type(ParameterType::SecureString)
        .send()
        .await
        .expect("PutParameter");
    let workdir = Workdir::new("");
    let imported = workdir.run(
        &[
            "import",
            "--user-pool-id",
            &pool,
            "--find-secrets",
            "/layered-apis",
        ],
        &account.env(),
    );
    assert_eq!(imported.code, 0, "{}", imported.all());
    assert!(
        !imported.stdout.contains("\n[secrets]\n"),
        "{}",
        imported.stdout
    );
    assert!(
        imported.stdout.contains(
            "proposes no [secrets]: /layered-apis/orders-v1/prod holds the client id of `orders-v1` at `auth.cognito.clientId`"
        ),
        "{}",
        imported.stdout
    );
    assert!(
        imported.stderr.contains("No [secrets] proposed"),
        "{}",
        imported.stderr
    );
    let all = imported.all();
    assert!(!all.contains(&client_secret) && !all.contains("db-password"));
    let checked = Workdir::new(&imported.stdout).run(&["validate"], &[]);
    assert_eq!(checked.code, 0, "{}", checked.all());
}

/// `import --env NAME` writes the pool as `[environments.NAME]`; into an existing file it adds
/// that table and changes nothing else; an environment the file declares is not imported twice.
#[tokio::test]
async fn import_env_writes_then_merges_an_environments_table() {
    let account = local_aws().account();
    let mut pools = Vec::new();
    for name in ["staging", "prod"] {
        let pool = account.new_pool(name).await;
        account
            .new_resource_server(&pool, "customers-v1", &["customer.read"])
            .await;
        account
            .new_client(
                &pool,
                "accounts-v1-app-client",
                &["customers-v1/customer.read"],
            )
            .await;
        pools.push(pool);
    }
    let workdir = Workdir::new("");
    let env = account.env();
    let output = workdir.path().join("imported.toml");
    let shown = output.display().to_string();
    let run = |args: &[&str]| workdir.run(args, &env);
    let first = run(&[
        "import",
        "--user-pool-id",
        &pools[0],
        "--env",
        "staging",
        "--output",
        &shown,
    ]);
    assert_eq!(first.code, 0, "{}", first.all());
    let written = std::fs::read_to_string(&output).expect("the imported file");
    assert!(written.contains("[environments.staging]"), "{written}");
    assert!(!written.contains("[pool]"), "{written}");
    let second = run(&[
        "import",
        "--user-pool-id",
        &pools[1],
        "--env",
        "prod",
        "--output",
        &shown,
    ]);
    assert_eq!(second.code, 0, "{}", second.all());
    let merged = std::fs::read_to_string(&output).expect("the merged file");
    assert!(
        merged.starts_with(&written),
        "the file's own tables are kept as they were"
    );
    assert!(
        merged.contains(&format!("pool = {{ id = \"{}\"", pools[1])),
        "{merged}"
    );
    let valid = run(&["validate", "--config", &shown]);
    assert_eq!(valid.code, 0, "{}", valid.all());
    let again = run(&[
        "import",
        "--user-pool-id",
        &pools[1],
        "--env",
        "prod",
        "--output",
        &shown,
    ]);
    assert_eq!(again.code, 1, "{}", again.all());
    assert!(
        again
            .stderr
            .contains("already declares [environments.prod]"),
        "{}",
        again.stderr
    );
    let plan = run(&[
        "plan",
        "--config",
        &shown,
        "--all-environments",
        "--detailed-exitcode",
    ]);
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(
        plan.stdout.contains("Environment prod") && plan.stdout.contains("Environment staging")
    );
}
