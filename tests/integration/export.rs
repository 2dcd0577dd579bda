//! `cogwire export` through the binary against the local AWS, for both stores and both SSM
//! layouts: every format parsed back (YAML with PyYAML) and checked field by field against the
//! names and ARNs the store really has; the ECS fragment registered with ECS itself; the IAM
//! policy granting exactly the reads of one service; bad input refused with one line and a hint;
//! and no client secret in any output.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Store {
    SsmJson,
    SsmSplit,
    SecretsManager,
}

impl Store {
    fn secrets(self) -> &'static str {
        match self {
            Self::SsmJson => "",
            Self::SsmSplit => "[secrets]\nlayout = \"split\"\n",
            Self::SecretsManager => "[secrets]\nstore = \"secretsmanager\"\n",
        }
    }
}

struct Setup {
    account: TestAccount,
    pool: String,
    workdir: Workdir,
    env: Vec<(String, String)>,
    store: Store,
}

async fn setup(store: Store) -> Setup {
    let account = local_aws().account();
    let pool = account.new_pool("export").await;
    let mut env = account.env();
    env.push(("COGWIRE_USER_POOL_ID".to_owned(), pool.clone()));
    let setup = Setup {
        account,
        pool,
        workdir: Workdir::new(&format!("{}{SERVICES}", store.secrets())),
        env,
        store,
    };
    setup.ok(&["apply", "--auto-approve"]);
    setup
}

impl Setup {
    fn cogwire(&self, args: &[&str]) -> Output {
        let output = self.workdir.run(args, &self.env);
        self.assert_no_secret(&output);
        output
    }

    fn ok(&self, args: &[&str]) -> Output {
        let output = self.cogwire(args);
        assert_eq!(output.code, 0, "cogwire {args:?}: {}", output.all());
        output
    }

    /// The service's client secret, from Cognito.
    fn client_secrets(&self) -> Vec<String> {
        let path = self.workdir.path().join(".secrets-seen");
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn assert_no_secret(&self, output: &Output) {
        for secret in self.client_secrets() {
            assert!(
                !output.all().contains(&secret),
                "a client secret in the output"
            );
        }
    }

    async fn remember_secrets(&self) {
        let cognito = self.account.cognito().await;
        let clients = cognito
            .list_user_pool_clients()
            .user_pool_id(&self.pool)
            .max_results(60)
            .send()
            .await
            .expect("ListUserPoolClients");
        let mut secrets = Vec::new();
        for client in clients.user_pool_clients() {
            let described = cognito
                .describe_user_pool_client()
                .user_pool_id(&self.pool)
                .client_id(client.client_id().expect("id"))
                .send()
                .await
                .expect("DescribeUserPoolClient");
            if let Some(secret) = described.user_pool_client().and_then(|c| c.client_secret()) {
                secrets.push(secret.to_owned());
            }
        }
        assert!(!secrets.is_empty());
        std::fs::write(
            self.workdir.path().join(".secrets-seen"),
            secrets.join("\n"),
        )
        .expect("write");
    }

    /// The store's names and ARNs of a service's entries, as the store tells them.
    async fn arns(&self, service: &str) -> Vec<(String, String)> {
        match self.store {
            Store::SsmJson | Store::SsmSplit => {
                let names: Vec<String> = match self.store {
                    Store::SsmJson => vec![format!("/cogwire/{service}")],
                    _ => vec![
                        format!("/cogwire/{service}/client_id"),
                        format!("/cogwire/{service}/client_secret"),
                    ],
                };
                let ssm = self.account.ssm().await;
                let mut found = Vec::new();
                for name in names {
                    let parameter = ssm
                        .get_parameter()
                        .name(&name)
                        .send()
                        .await
                        .expect("GetParameter");
                    let arn = parameter.parameter().and_then(|p| p.arn()).expect("arn");
                    found.push((name, arn.to_owned()));
                }
                found
            }
            Store::SecretsManager => {
                let name = format!("/cogwire/{service}");
                let described = self
                    .account
                    .secrets_manager()
                    .await
                    .describe_secret()
                    .secret_id(&name)
                    .send()
                    .await
                    .expect("DescribeSecret");
                vec![(name, described.arn().expect("arn").to_owned())]
            }
        }
    }

    fn python(&self, script: &str, input: &str) -> Value {
        let python = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-localaws/bin/python");
        let mut child = Command::new(python)
            .args(["-c", script])
            .envs(self.env.iter().map(|(name, value)| (name, value)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write");
        let output = child.wait_with_output().expect("python ran");
        assert!(
            output.status.success(),
            "python: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("python printed JSON")
    }

    /// YAML documents, parsed by PyYAML.
    fn yaml(&self, text: &str) -> Vec<Value> {
        let parsed = self.python(
            "import json, sys, yaml; print(json.dumps(list(yaml.safe_load_all(sys.stdin))))",
            text,
        );
        parsed.as_array().expect("documents").clone()
    }
}

fn environment_keys(value: &Value, key: &str) -> Vec<String> {
    value[key]
        .as_array()
        .expect("list")
        .iter()
        .map(|item| item["name"].as_str().expect("name").to_owned())
        .collect()
}

const ALL: [Store; 3] = [Store::SsmJson, Store::SsmSplit, Store::SecretsManager];

#[tokio::test]
async fn iam_policy_grants_exactly_the_reads_of_one_service() {
    for store in ALL {
        let setup = setup(store).await;
        setup.remember_secrets().await;
        let output = setup.ok(&["export", "iam-policy", "orders-v1"]);
        let policy: Value = serde_json::from_str(&output.stdout).expect("policy JSON");
        let arns: Vec<String> = setup
            .arns("orders-v1")
            .await
            .into_iter()
            .map(|(_, arn)| arn)
            .collect();
        let actions: &[&str] = match store {
            Store::SecretsManager => &[
                "secretsmanager:DescribeSecret",
                "secretsmanager:GetSecretValue",
            ],
            _ => &["ssm:GetParameter", "ssm:GetParameters"],
        };
        let mut expected: Vec<(String, String)> = actions
            .iter()
            .flat_map(|action| arns.iter().map(|arn| ((*action).to_owned(), arn.clone())))
            .collect();
        expected.sort();
        assert_eq!(
            cogwire::export::iam_policy::grants(&policy),
            expected,
            "{store:?}"
        );
        assert_eq!(policy["Statement"].as_array().expect("statements").len(), 1);
        let others = setup.arns("accounts-v1").await;
        for (_, arn) in others {
            assert!(
                !output.stdout.contains(&arn),
                "{store:?}: another service's entry"
            );
        }
        // `--format` is the same as the first word.
        let flagged = setup.ok(&["export", "--format", "iam-policy", "orders-v1"]);
        assert_eq!(flagged.stdout, output.stdout);
    }
}

#[tokio::test]
async fn a_kms_key_is_decryptable_only_for_the_service_entries() {
    let account = local_aws().account();
    let pool = account.new_pool("export-kms").await;
    let mut env = account.env();
    env.push(("COGWIRE_USER_POOL_ID".to_owned(), pool.clone()));
    let text = format!("[secrets]\nlayout = \"split\"\nkms_key_id = \"alias/aws/ssm\"\n{SERVICES}");
    let workdir = Workdir::new(&text);
    let apply = workdir.run(&["apply", "--auto-approve"], &env);
    assert_eq!(apply.code, 0, "{}", apply.all());
    let output = workdir.run(&["export", "iam-policy", "orders-v1"], &env);
    assert_eq!(output.code, 0, "{}", output.all());
    let policy: Value = serde_json::from_str(&output.stdout).expect("policy JSON");
    let ssm = account.ssm().await;
    let secret_arn = ssm
        .get_parameter()
        .name("/cogwire/orders-v1/client_secret")
        .send()
        .await
        .expect("GetParameter")
        .parameter()
        .and_then(|parameter| parameter.arn().map(str::to_owned))
        .expect("arn");
    let decrypt = &policy["Statement"][1];
    assert_eq!(decrypt["Action"], json!(["kms:Decrypt"]));
    assert_eq!(
        decrypt["Condition"]["StringEquals"]["kms:EncryptionContext:PARAMETER_ARN"],
        json!([secret_arn])
    );
    assert_eq!(
        decrypt["Condition"]["ForAnyValue:StringEquals"]["kms:ResourceAliases"],
        "alias/aws/ssm"
    );
    let account_id = secret_arn.split(':').nth(4).expect("account");
    assert_eq!(
        decrypt["Resource"],
        format!("arn:aws:kms:us-east-1:{account_id}:key/*")
    );
}

#[tokio::test]
async fn ecs_fragment_names_the_real_arns_and_ecs_accepts_it() {
    for store in [Store::SsmSplit, Store::SecretsManager] {
        let setup = setup(store).await;
        setup.remember_secrets().await;
        let output = setup.ok(&["export", "ecs", "orders-v1"]);
        let fragment: Value = serde_json::from_str(&output.stdout).expect("ECS JSON");
        let arns = setup.arns("orders-v1").await;
        let expected = match store {
            Store::SsmSplit => json!([
                {"name": "COGWIRE_CLIENT_ID", "valueFrom": arns[0].1},
                {"name": "COGWIRE_CLIENT_SECRET", "valueFrom": arns[1].1},
            ]),
            _ => {
                let arn = &arns[0].1;
                json!([
                    {"name": "COGWIRE_CLIENT_ID", "valueFrom": format!("{arn}:client_id::")},
                    {"name": "COGWIRE_CLIENT_SECRET", "valueFrom": format!("{arn}:client_secret::")},
                    {"name": "COGWIRE_TOKEN_URL", "valueFrom": format!("{arn}:token_url::")},
                    {"name": "COGWIRE_CLIENT_SCOPES", "valueFrom": format!("{arn}:scopes::")},
                ])
            }
        };
        assert_eq!(fragment["secrets"], expected, "{store:?}");
        let environment = environment_keys(&fragment, "environment");
        assert!(
            environment.contains(&"COGWIRE_ISSUER".to_owned()),
            "{environment:?}"
        );
        assert!(environment.contains(&"COGWIRE_CONSUMES".to_owned()));
        assert!(!environment.contains(&"COGWIRE_CLIENT_SECRET".to_owned()));
        // ECS's own request validation, through RegisterTaskDefinition.
        let registered = setup.python(
            r#"
import json, os, sys, boto3
fragment = json.load(sys.stdin)
ecs = boto3.client("ecs", region_name=os.environ["AWS_REGION"], endpoint_url=os.environ["AWS_ENDPOINT_URL"])
container = {"name": "orders-v1", "image": "orders:1", "memory": 128, "essential": True}
container.update(fragment)
task = ecs.register_task_definition(
    family="orders-v1",
    executionRoleArn="arn:aws:iam::123456789012:role/orders-v1-execution",
    containerDefinitions=[container],
)["taskDefinition"]
print(json.dumps(task["containerDefinitions"][0]))
"#,
            &output.stdout,
        );
        assert_eq!(registered["secrets"], expected, "{store:?}");
        assert_eq!(registered["environment"], fragment["environment"]);
    }
}

#[tokio::test]
async fn ecs_refuses_an_ssm_json_entry_with_a_way_out() {
    let setup = setup(Store::SsmJson).await;
    let output = setup.cogwire(&["export", "ecs", "orders-v1"]);
    assert_eq!(output.code, 1, "{}", output.all());
    assert_eq!(output.stdout, "");
    let lines: Vec<&str> = output.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{}", output.stderr);
    assert!(lines[0].starts_with("error: ECS cannot pick keys out of an SSM parameter"));
    assert!(
        lines[1].starts_with("hint: ") && lines[1].contains("layout = \"split\""),
        "{}",
        lines[1]
    );
}

#[tokio::test]
async fn external_secret_reads_each_key_from_the_stored_entry() {
    for store in ALL {
        let setup = setup(store).await;
        setup.remember_secrets().await;
        let output = setup.ok(&[
            "export",
            "external-secret",
            "orders-v1",
            "--namespace",
            "shop",
            "--refresh",
            "30m",
        ]);
        let documents = setup.yaml(&output.stdout);
        assert_eq!(documents.len(), 2, "{}", output.stdout);
        let external = &documents[0];
        assert_eq!(external["apiVersion"], "external-secrets.io/v1");
        assert_eq!(external["kind"], "ExternalSecret");
        assert_eq!(external["metadata"]["namespace"], "shop");
        assert_eq!(external["spec"]["refreshInterval"], "30m");
        let store_name = match store {
            Store::SecretsManager => "aws-secrets-manager",
            _ => "aws-parameter-store",
        };
        assert_eq!(
            external["spec"]["secretStoreRef"],
            json!({"name": store_name, "kind": "SecretStore"})
        );
        assert_eq!(
            external["spec"]["target"]["name"],
            "orders-v1-cogwire-credentials"
        );
        let names = setup.arns("orders-v1").await;
        let expected = match store {
            Store::SsmSplit => json!([
                {"secretKey": "COGWIRE_CLIENT_ID", "remoteRef": {"key": names[0].0}},
                {"secretKey": "COGWIRE_CLIENT_SECRET", "remoteRef": {"key": names[1].0}},
            ]),
            _ => {
                let key = &names[0].0;
                json!([
                    {"secretKey": "COGWIRE_CLIENT_ID", "remoteRef": {"key": key, "property": "client_id"}},
                    {"secretKey": "COGWIRE_CLIENT_SECRET", "remoteRef": {"key": key, "property": "client_secret"}},
                    {"secretKey": "COGWIRE_TOKEN_URL", "remoteRef": {"key": key, "property": "token_url"}},
                    {"secretKey": "COGWIRE_CLIENT_SCOPES", "remoteRef": {"key": key, "property": "scopes"}},
                ])
            }
        };
        assert_eq!(external["spec"]["data"], expected, "{store:?}");
        // Each property names a key the stored JSON really has.
        if store != Store::SsmSplit {
            let stored = stored_json(&setup, &names[0].0).await;
            for item in expected.as_array().expect("list") {
                let property = item["remoteRef"]["property"].as_str().expect("property");
                assert!(
                    stored.get(property).is_some_and(|value| !value.is_null()),
                    "{property}"
                );
            }
        }
        let config_map = &documents[1];
        assert_eq!(config_map["kind"], "ConfigMap");
        assert_eq!(config_map["metadata"]["name"], "orders-v1-cogwire-env");
        let data = &config_map["data"];
        assert_eq!(data["COGWIRE_USER_POOL_ID"], setup.pool.as_str());
        assert_eq!(data["COGWIRE_CONSUMES"], "customers-v1/customer.read");
        assert!(
            data["COGWIRE_ISSUER"]
                .as_str()
                .expect("issuer")
                .ends_with(&setup.pool)
        );
        assert!(data.get("COGWIRE_CLIENT_SECRET").is_none());
        assert_eq!(
            data.get("COGWIRE_TOKEN_URL").is_some(),
            store == Store::SsmSplit,
            "the token URL is in the Secret when the store holds it"
        );
    }
}

async fn stored_json(setup: &Setup, name: &str) -> Value {
    let text = match setup.store {
        Store::SecretsManager => setup
            .account
            .secrets_manager()
            .await
            .get_secret_value()
            .secret_id(name)
            .send()
            .await
            .expect("GetSecretValue")
            .secret_string()
            .expect("string")
            .to_owned(),
        _ => setup
            .account
            .ssm()
            .await
            .get_parameter()
            .name(name)
            .with_decryption(true)
            .send()
            .await
            .expect("GetParameter")
            .parameter()
            .and_then(|parameter| parameter.value().map(str::to_owned))
            .expect("value"),
    };
    serde_json::from_str(&text).expect("stored JSON")
}

#[tokio::test]
async fn secret_provider_class_mounts_the_stored_entries() {
    for store in ALL {
        let setup = setup(store).await;
        setup.remember_secrets().await;
        let output = setup.ok(&["export", "secret-provider-class", "orders-v1"]);
        let documents = setup.yaml(&output.stdout);
        let class = &documents[0];
        assert_eq!(class["apiVersion"], "secrets-store.csi.x-k8s.io/v1");
        assert_eq!(class["kind"], "SecretProviderClass");
        assert_eq!(class["spec"]["provider"], "aws");
        assert_eq!(class["spec"]["parameters"]["region"], "us-east-1");
        let objects_text = class["spec"]["parameters"]["objects"]
            .as_str()
            .expect("objects is a string");
        let objects = &setup.yaml(objects_text)[0];
        let names = setup.arns("orders-v1").await;
        let object_type = match store {
            Store::SecretsManager => "secretsmanager",
            _ => "ssmparameter",
        };
        let expected = match store {
            Store::SsmSplit => json!([
                {"objectName": names[0].0, "objectType": object_type, "objectAlias": "COGWIRE_CLIENT_ID"},
                {"objectName": names[1].0, "objectType": object_type, "objectAlias": "COGWIRE_CLIENT_SECRET"},
            ]),
            _ => json!([{
                "objectName": names[0].0,
                "objectType": object_type,
                "objectAlias": "orders-v1-cogwire-credentials.json",
                "jmesPath": [
                    {"path": "client_id", "objectAlias": "COGWIRE_CLIENT_ID"},
                    {"path": "client_secret", "objectAlias": "COGWIRE_CLIENT_SECRET"},
                    {"path": "token_url", "objectAlias": "COGWIRE_TOKEN_URL"},
                ],
            }]),
        };
        assert_eq!(objects, &expected, "{store:?}");
        let synced = &class["spec"]["secretObjects"][0];
        assert_eq!(synced["secretName"], "orders-v1-cogwire-credentials");
        assert_eq!(
            synced["data"][1],
            json!({"objectName": "COGWIRE_CLIENT_SECRET", "key": "COGWIRE_CLIENT_SECRET"})
        );
        assert_eq!(documents[1]["kind"], "ConfigMap");
    }
}

#[tokio::test]
async fn lambda_environment_points_the_extension_at_the_stored_entries() {
    for store in ALL {
        let setup = setup(store).await;
        let output = setup.ok(&["export", "lambda", "orders-v1"]);
        let fragment: Value = serde_json::from_str(&output.stdout).expect("JSON");
        let variables = &fragment["Environment"]["Variables"];
        let names = setup.arns("orders-v1").await;
        let encoded = |name: &str| name.replace('/', "%2F");
        match store {
            Store::SsmJson => {
                assert_eq!(variables["COGWIRE_CREDENTIALS_NAME"], names[0].0.as_str());
                assert_eq!(
                    variables["COGWIRE_CREDENTIALS_URL"],
                    format!(
                        "http://localhost:2773/systemsmanager/parameters/get?name={}&withDecryption=true",
                        encoded(&names[0].0)
                    )
                );
                assert_eq!(variables["SSM_PARAMETER_STORE_TTL"], "300");
            }
            Store::SsmSplit => {
                assert_eq!(
                    variables["COGWIRE_CLIENT_SECRET_URL"],
                    format!(
                        "http://localhost:2773/systemsmanager/parameters/get?name={}&withDecryption=true",
                        encoded(&names[1].0)
                    )
                );
            }
            Store::SecretsManager => {
                assert_eq!(
                    variables["COGWIRE_CREDENTIALS_URL"],
                    format!(
                        "http://localhost:2773/secretsmanager/get?secretId={}",
                        encoded(&names[0].0)
                    )
                );
                assert_eq!(variables["SECRETS_MANAGER_TTL"], "300");
            }
        }
        assert_eq!(variables["COGWIRE_USER_POOL_ID"], setup.pool.as_str());
    }
}

#[tokio::test]
async fn every_consuming_service_to_one_file_each_and_the_same_bytes_twice() {
    let setup = setup(Store::SecretsManager).await;
    let out = setup.workdir.path().join("exported");
    let out = out.to_str().expect("utf-8");
    setup.ok(&["export", "ecs", "--out", out]);
    let mut files: Vec<String> = std::fs::read_dir(out)
        .expect("folder")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    files.sort();
    assert_eq!(files, ["accounts-v1.ecs.json", "orders-v1.ecs.json"]);
    let first = std::fs::read_to_string(format!("{out}/orders-v1.ecs.json")).expect("read");
    let again = setup.ok(&["export", "ecs", "orders-v1"]);
    assert_eq!(first, again.stdout);
}

#[tokio::test]
async fn bad_input_gets_one_line_and_a_hint() {
    let setup = setup(Store::SsmJson).await;
    let cases: [(&[&str], &str, &str); 5] = [
        (
            &["export", "iam-policy", "order-v1"],
            "error: `order-v1` is not a service",
            "did you mean `orders-v1`?",
        ),
        (
            &["export", "iam-policy", "customers-v1"],
            "error: `customers-v1` consumes no scopes",
            "consumes",
        ),
        (
            &["export", "iam-polcy", "orders-v1"],
            "error: `iam-polcy` is not a format",
            "did you mean `iam-policy`?",
        ),
        (
            &["export"],
            "error: name a format to export",
            "external-secret",
        ),
        (
            &["export", "ecs", "orders-v1", "--refresh", "soon"],
            "error: `soon` is not a refresh interval",
            "--refresh 1h",
        ),
    ];
    for (args, error, hint) in cases {
        let output = setup.cogwire(args);
        assert_eq!(output.code, 1, "{args:?}: {}", output.all());
        let lines: Vec<&str> = output.stderr.lines().collect();
        assert_eq!(lines.len(), 2, "{args:?}: {}", output.stderr);
        assert!(lines[0].starts_with(error), "{args:?}: {}", output.stderr);
        assert!(
            lines[1].starts_with("hint: ") && lines[1].contains(hint),
            "{args:?}: {}",
            output.stderr
        );
    }
    // Credentials not stored yet.
    setup
        .account
        .ssm()
        .await
        .delete_parameter()
        .name("/cogwire/orders-v1")
        .send()
        .await
        .expect("DeleteParameter");
    let output = setup.cogwire(&["export", "iam-policy", "orders-v1"]);
    assert_eq!(output.code, 1);
    assert!(
        output.stderr.starts_with("error: the credentials of `orders-v1` are not stored yet: /cogwire/orders-v1 does not exist\nhint: run `cogwire apply` (or `cogwire sync-secrets --service orders-v1`)"),
        "{}",
        output.stderr
    );
}

#[tokio::test]
async fn finish_waits_for_the_slowest_consumer_unless_forced() {
    let account = local_aws().account();
    let pool = account.new_pool("export-rotate").await;
    let mut env = account.env();
    env.push(("COGWIRE_USER_POOL_ID".to_owned(), pool.clone()));
    let workdir = Workdir::new(&format!("[export]\nrefresh = \"1h\"\n{SERVICES}"));
    let run = |args: &[&str]| workdir.run(args, &env);
    assert_eq!(run(&["apply", "--auto-approve"]).code, 0);
    let started = run(&["rotate-secret", "orders-v1"]);
    assert_eq!(started.code, 0, "{}", started.all());

    let early = run(&["rotate-secret", "orders-v1", "--finish"]);
    assert_eq!(early.code, 1, "{}", early.all());
    let lines: Vec<&str> = early.stderr.lines().collect();
    assert!(
        lines[0].starts_with("error: the new secret of `orders-v1` is ")
            && lines[0]
                .ends_with("consumers that re-read the store every 1h may still hold the old one"),
        "{}",
        early.stderr
    );
    assert!(
        lines[1].starts_with("hint: wait ") && lines[1].contains("--force"),
        "{}",
        early.stderr
    );
    let secrets = |output: &Output| output.stdout.contains("old secrets retired");
    assert!(!secrets(&early));

    // A grace shorter than the refresh plus its margin is refused before anything changes.
    let short = run(&["rotate-secret", "orders-v1", "--grace", "1m"]);
    assert_eq!(short.code, 1, "{}", short.all());
    assert!(
        short.stderr.contains("use --grace 1h6m"),
        "{}",
        short.stderr
    );
    // A flag overrides `[export] refresh`: a consumer that refreshes every minute.
    let flagged = run(&["rotate-secret", "orders-v1", "--finish", "--refresh", "1m"]);
    assert_eq!(flagged.code, 1, "{}", flagged.all());
    assert!(
        flagged.stderr.contains("every 1m may still hold"),
        "{}",
        flagged.stderr
    );

    let forced = run(&["rotate-secret", "orders-v1", "--finish", "--force"]);
    assert_eq!(forced.code, 0, "{}", forced.all());
    assert!(secrets(&forced), "{}", forced.stdout);
}
