//! Faults, crashes and hostile input. The local AWS injects throttling, 5xx, latency and
//! connections dropped after the request was processed; after each run the pool and the secrets
//! store must be exactly as declared, with no duplicate client and a true ownership record.

use std::collections::BTreeMap;

use crate::support::{TestAccount, Workdir, local_aws};

pub(crate) const SERVICES: &str = r#"
[services.customers-v1]
scopes = { "customer.read" = "Read customers", "customer.write" = "Write customers" }
[services.accounts-v1]
scopes = { "account.read" = "Read accounts" }
consumes = ["customers-v1/customer.read"]
[services.orders-v1]
scopes = { "order.read" = "Read orders" }
consumes = ["customers-v1/customer.read", "accounts-v1/account.read"]
[services.billing-v1]
consumes = ["orders-v1/order.read", "customers-v1/customer.write"]
[services.reporting-v1]
consumes = ["orders-v1/order.read"]
"#;

async fn clients_by_name(account: &TestAccount, pool: &str) -> BTreeMap<String, Vec<String>> {
    let list = account
        .cognito()
        .await
        .list_user_pool_clients()
        .user_pool_id(pool)
        .max_results(60)
        .send()
        .await
        .expect("ListUserPoolClients");
    let mut by_name: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for client in list.user_pool_clients() {
        by_name
            .entry(client.client_name().unwrap_or_default().to_owned())
            .or_default()
            .push(client.client_id().unwrap_or_default().to_owned());
    }
    by_name
}

/// Every declared client exists exactly once, and the store holds its current credentials.
async fn assert_as_declared(account: &TestAccount, pool: &str, services: &[&str]) {
    let clients = clients_by_name(account, pool).await;
    let expected: Vec<String> = services
        .iter()
        .map(|service| format!("{service}-app-client"))
        .collect();
    assert_eq!(
        clients.keys().cloned().collect::<Vec<_>>(),
        expected,
        "{clients:?}"
    );
    for (name, ids) in &clients {
        assert_eq!(ids.len(), 1, "duplicate client {name}: {ids:?}");
    }
    let ssm = account.ssm().await;
    for service in services {
        let stored = ssm
            .get_parameter()
            .name(format!("/cogwire/{service}"))
            .with_decryption(true)
            .send()
            .await
            .unwrap_or_else(|error| panic!("no stored credentials for {service}: {error:?}"));
        let value: serde_json::Value = serde_json::from_str(
            stored
                .parameter()
                .and_then(|parameter| parameter.value())
                .unwrap_or_default(),
        )
        .expect("JSON");
        let id = &clients[&format!("{service}-app-client")][0];
        assert_eq!(value["client_id"], id.as_str(), "{service}");
        let secret = account
            .cognito()
            .await
            .describe_user_pool_client()
            .user_pool_id(pool)
            .client_id(id)
            .send()
            .await
            .expect("DescribeUserPoolClient")
            .user_pool_client()
            .and_then(|client| client.client_secret())
            .expect("secret")
            .to_owned();
        assert_eq!(value["client_secret"], secret.as_str(), "{service}");
    }
}

#[tokio::test]
async fn apply_and_sync_under_throttling_errors_latency_and_dropped_connections() {
    for seed in [11_u64, 12, 13] {
        let account = local_aws().account();
        let pool = account.new_pool("faults").await;
        let mut env = account.env();
        env.push(("COGWIRE_USER_POOL_ID".to_owned(), pool.clone()));
        let workdir = Workdir::new(SERVICES);
        account.set_faults(serde_json::json!({
            "seed": seed, "throttle_share": 0.2, "error_share": 0.05, "reset_share": 0.05, "latency_ms": [0, 60]
        }));
        let apply = workdir.run(&["apply", "--auto-approve"], &env);
        assert_eq!(apply.code, 0, "seed {seed}: {}", apply.all());
        assert!(
            !apply.stderr.contains("panicked") && !apply.stderr.contains("backtrace"),
            "{}",
            apply.stderr
        );
        let changed = SERVICES.replace(
            "consumes = [\"orders-v1/order.read\"]\n",
            "consumes = [\"orders-v1/order.read\", \"accounts-v1/account.read\"]\n",
        );
        let changed = changed.replace("[services.billing-v1]\nconsumes = [\"orders-v1/order.read\", \"customers-v1/customer.write\"]\n", "");
        workdir.write(&changed);
        let apply = workdir.run(
            &[
                "apply",
                "--auto-approve",
                "--allow-destroy",
                "--sync-secrets",
            ],
            &env,
        );
        assert_eq!(apply.code, 0, "seed {seed}: {}", apply.all());
        let faults = account.calls();
        account.clear_faults();

        assert_as_declared(
            &account,
            &pool,
            &["accounts-v1", "orders-v1", "reporting-v1"],
        )
        .await;
        let plan = workdir.run(&["plan", "--detailed-exitcode"], &env);
        assert_eq!(plan.code, 0, "seed {seed}: {}", plan.all());
        let injected: u64 = faults["operations"]
            .as_object()
            .map(|operations| {
                operations
                    .values()
                    .map(|operation| {
                        operation["throttled"].as_u64().unwrap_or(0)
                            + operation["injected_errors"].as_u64().unwrap_or(0)
                            + operation["resets"].as_u64().unwrap_or(0)
                    })
                    .sum()
            })
            .unwrap_or(0);
        assert!(injected > 0, "seed {seed}: no fault was injected: {faults}");
    }
}

#[tokio::test]
async fn sync_secrets_killed_at_any_point_converges_on_the_next_run() {
    let account = local_aws().account();
    let pool = account.new_pool("crash-sync").await;
    let mut env = account.env();
    env.push(("COGWIRE_USER_POOL_ID".to_owned(), pool.clone()));
    let workdir = Workdir::new(SERVICES);
    assert_eq!(workdir.run(&["apply", "--auto-approve"], &env).code, 0);
    let ssm = account.ssm().await;
    for kill_after_ms in [50_u64, 150, 300, 600] {
        for service in ["accounts-v1", "orders-v1", "billing-v1", "reporting-v1"] {
            let _ = ssm
                .delete_parameter()
                .name(format!("/cogwire/{service}"))
                .send()
                .await;
        }
        account.set_faults(serde_json::json!({"seed": kill_after_ms, "latency_ms": 80}));
        let mut child = workdir.spawn(&["sync-secrets"], &env);
        std::thread::sleep(std::time::Duration::from_millis(kill_after_ms));
        let _ = child.kill();
        let _ = child.wait();
        account.clear_faults();
        let again = workdir.run(&["sync-secrets"], &env);
        assert_eq!(
            again.code,
            0,
            "killed after {kill_after_ms} ms: {}",
            again.all()
        );
        assert_as_declared(
            &account,
            &pool,
            &["accounts-v1", "billing-v1", "orders-v1", "reporting-v1"],
        )
        .await;
    }
}

#[test]
fn hostile_files_get_a_diagnostic_never_a_crash() {
    let deep_arrays = format!("a = {}{}\n", "[".repeat(50_000), "]".repeat(50_000));
    let deep_tables = format!(
        "[services.x]\nscopes = {}1{}\n",
        "{a=".repeat(20_000),
        "}".repeat(20_000)
    );
    let unicode = "[services.\"kundé-v1\"]\nscopes = { \"lire.ü\" = \"Lire 🦀\" }\n[services.b]\nconsumes = [\"kundé-v1/lire.ü\"]\n".to_owned();
    let control = "[services.a]\nscopes = { \"r\u{1b}[31m\" = \"x\" }\n".to_owned();
    let mut big = String::with_capacity(10 * 1024 * 1024);
    let mut index = 0;
    while big.len() < 10 * 1024 * 1024 {
        big.push_str(&format!(
            "[services.s{index}]\nscopes = {{ \"r\" = \"Read {index}\" }}\n"
        ));
        index += 1;
    }
    let too_big = "#".repeat(17 * 1024 * 1024);
    for (name, text) in [
        ("deep arrays", deep_arrays),
        ("deep tables", deep_tables),
        ("unicode", unicode),
        ("control characters", control),
        ("10 MB", big),
        ("17 MB", too_big),
    ] {
        let output = Workdir::new(&text).run(&["validate"], &[]);
        assert_eq!(output.code, 1, "{name}: {}", output.stdout);
        assert!(
            output.stderr.contains("error: "),
            "{name}: {}",
            &output.stderr[..output.stderr.len().min(2_000)]
        );
        assert!(!output.stderr.contains("panicked"), "{name}");
        assert!(
            !output.stderr.contains('\u{1b}'),
            "{name}: a control character reached the terminal"
        );
    }
}

/// SSM answers a burst of writes to one parameter with TooManyUpdates: sync-secrets waits and
/// tries again, and the user sees the retries counted, not an error.
#[tokio::test]
async fn ssm_too_many_updates_is_retried() {
    let account = local_aws().account();
    let pool = account.new_pool("too-many-updates").await;
    let mut env = account.env();
    env.push(("COGWIRE_USER_POOL_ID".to_owned(), pool));
    let workdir = Workdir::new(SERVICES);
    assert_eq!(workdir.run(&["apply", "--auto-approve"], &env).code, 0);
    let ssm = account.ssm().await;
    ssm.delete_parameter()
        .name("/cogwire/billing-v1")
        .send()
        .await
        .expect("DeleteParameter");
    account.set_faults(serde_json::json!({
        "error_share": 1.0,
        "error_code": "TooManyUpdates",
        "max_faults": 2,
        "operations": ["PutParameter"],
    }));
    let sync = workdir.run(&["sync-secrets", "--stats"], &env);
    account.clear_faults();
    assert_eq!(sync.code, 0, "{}", sync.all());
    assert!(sync.stderr.contains("2 retries"), "{}", sync.stderr);
    let stored = ssm
        .get_parameter()
        .name("/cogwire/billing-v1")
        .with_decryption(true)
        .send()
        .await
        .expect("the entry was stored after the retries");
    assert!(stored.parameter().and_then(|p| p.value()).is_some());
}
