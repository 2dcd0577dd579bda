//! `plan`, `apply` and `force-unlock` through the binary against the local AWS.

use aws_sdk_cognitoidentityprovider::types::{ExplicitAuthFlowsType, OAuthFlowType};

use crate::support::{TestAccount, Workdir, error_code, local_aws};

pub(crate) const SERVICES: &str = r#"
[services.customers-v1]
identifier = "customers-v1-resource-server"
scopes = { "customer.read" = "Customer Read Scope", "customer.write" = "Customer Write Scope" }

[services.accounts-v1]
consumes = ["customers-v1/customer.read"]
[services.accounts-v1.client]
access_token_validity = "30m"

[services.orders-v1]
scopes = { "order.read" = "Read orders" }
consumes = ["customers-v1/customer.read", "customers-v1/customer.write"]
"#;

struct Setup {
    account: TestAccount,
    pool: String,
    workdir: Workdir,
    env: Vec<(String, String)>,
}

async fn setup(text: &str) -> Setup {
    let account = local_aws().account();
    let pool = account.new_pool("plan-apply").await;
    let mut env = account.env();
    env.push(("COGWIRE_USER_POOL_ID".to_owned(), pool.clone()));
    Setup {
        account,
        pool,
        workdir: Workdir::new(text),
        env,
    }
}

impl Setup {
    fn cogwire(&self, args: &[&str]) -> crate::support::Output {
        self.workdir.run(args, &self.env)
    }

    async fn client_named(
        &self,
        name: &str,
    ) -> aws_sdk_cognitoidentityprovider::types::UserPoolClientType {
        let cognito = self.account.cognito().await;
        let list = cognito
            .list_user_pool_clients()
            .user_pool_id(&self.pool)
            .max_results(60)
            .send()
            .await
            .expect("ListUserPoolClients");
        let id = list
            .user_pool_clients()
            .iter()
            .find(|client| client.client_name() == Some(name))
            .and_then(|client| client.client_id())
            .unwrap_or_else(|| panic!("no client named {name}"))
            .to_owned();
        cognito
            .describe_user_pool_client()
            .user_pool_id(&self.pool)
            .client_id(id)
            .send()
            .await
            .expect("DescribeUserPoolClient")
            .user_pool_client()
            .expect("client")
            .clone()
    }

    /// Writes the pool's lock as another run would have (over any lock there is).
    async fn put_lock(&self, lock: &serde_json::Value) {
        self.account
            .ssm()
            .await
            .put_parameter()
            .name(format!("/cogwire/{}/lock", self.pool))
            .value(lock.to_string())
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .overwrite(true)
            .send()
            .await
            .expect("PutParameter");
    }

    /// The pool's lock parameter, if there is one.
    async fn lock_value(&self) -> Option<String> {
        let read = self
            .account
            .ssm()
            .await
            .get_parameter()
            .name(format!("/cogwire/{}/lock", self.pool))
            .send()
            .await;
        if error_code(&read) == Some("ParameterNotFound") {
            return None;
        }
        read.expect("GetParameter")
            .parameter()
            .and_then(|parameter| parameter.value())
            .map(str::to_owned)
    }

    async fn lock_id(&self) -> Option<String> {
        let value: serde_json::Value = serde_json::from_str(&self.lock_value().await?).ok()?;
        value["id"].as_str().map(str::to_owned)
    }

    /// Client names and how many clients bear each.
    async fn clients_by_name(&self) -> std::collections::BTreeMap<String, usize> {
        let cognito = self.account.cognito().await;
        let mut by_name = std::collections::BTreeMap::new();
        let mut next_token = None;
        loop {
            let page = cognito
                .list_user_pool_clients()
                .user_pool_id(&self.pool)
                .max_results(60)
                .set_next_token(next_token)
                .send()
                .await
                .expect("ListUserPoolClients");
            for client in page.user_pool_clients() {
                *by_name
                    .entry(client.client_name().unwrap_or_default().to_owned())
                    .or_insert(0) += 1;
            }
            next_token = page.next_token().map(str::to_owned);
            if next_token.is_none() {
                return by_name;
            }
        }
    }

    /// The pool as AWS has it: resource-server identifiers, and client names with their ids.
    async fn pool_contents(&self) -> (Vec<String>, Vec<(String, String)>) {
        let cognito = self.account.cognito().await;
        let servers = cognito
            .list_resource_servers()
            .user_pool_id(&self.pool)
            .max_results(50)
            .send()
            .await
            .expect("ListResourceServers");
        let mut identifiers: Vec<String> = servers
            .resource_servers()
            .iter()
            .filter_map(|server| server.identifier().map(str::to_owned))
            .collect();
        identifiers.sort();
        let list = cognito
            .list_user_pool_clients()
            .user_pool_id(&self.pool)
            .max_results(60)
            .send()
            .await
            .expect("ListUserPoolClients");
        let mut clients: Vec<(String, String)> = list
            .user_pool_clients()
            .iter()
            .map(|client| {
                (
                    client.client_name().unwrap_or_default().to_owned(),
                    client.client_id().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        clients.sort();
        (identifiers, clients)
    }

    /// Whether SSM holds a parameter of this name.
    async fn has_parameter(&self, name: &str) -> bool {
        self.account
            .ssm()
            .await
            .get_parameter()
            .name(name)
            .send()
            .await
            .is_ok()
    }

    async fn client_count(&self) -> usize {
        let cognito = self.account.cognito().await;
        let list = cognito
            .list_user_pool_clients()
            .user_pool_id(&self.pool)
            .max_results(60)
            .send()
            .await
            .expect("ListUserPoolClients");
        list.user_pool_clients().len()
    }
}

#[tokio::test]
async fn apply_creates_everything_then_plan_says_no_changes() {
    let setup = setup(SERVICES).await;
    let plan = setup.cogwire(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(
        plan.stdout
            .contains("+ resource server customers-v1-resource-server"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("Plan: 4 to add, 0 to change, 0 to destroy."),
        "{}",
        plan.stdout
    );

    let apply = setup.cogwire(&["apply", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}", apply.all());
    assert!(
        apply
            .stdout
            .contains("Apply complete: 4 added, 0 changed, 0 destroyed"),
        "{}",
        apply.stdout
    );

    let client = setup.client_named("orders-v1-app-client").await;
    let mut scopes = client.allowed_o_auth_scopes().to_vec();
    scopes.sort();
    assert_eq!(
        scopes,
        vec![
            "customers-v1-resource-server/customer.read",
            "customers-v1-resource-server/customer.write"
        ]
    );
    assert_eq!(
        client.allowed_o_auth_flows(),
        &[OAuthFlowType::ClientCredentials]
    );
    let accounts = setup.client_named("accounts-v1-app-client").await;
    assert!(accounts.client_secret().is_some());

    let again = setup.cogwire(&["plan", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}", again.all());
    assert!(again.stdout.starts_with("No changes."), "{}", again.stdout);

    // A no-op apply reports in the same JSON shape, as not applied.
    let noop = setup.cogwire(&["--json", "apply", "--auto-approve"]);
    assert_eq!(noop.code, 0, "{}", noop.all());
    let report: serde_json::Value = serde_json::from_str(&noop.stdout).expect("JSON");
    assert_eq!(report["applied"], false);
    assert_eq!(report["outcome"]["added"], 0);
    assert_eq!(report["pool_id"], setup.pool.as_str());
    assert!(report["api_calls"].as_u64().is_some_and(|calls| calls > 0));
    assert_eq!(report["retries"], 0);

    // No secret of any client reaches any output.
    for name in ["accounts-v1-app-client", "orders-v1-app-client"] {
        let secret = setup
            .client_named(name)
            .await
            .client_secret()
            .expect("secret")
            .to_owned();
        for output in [&plan, &apply, &again] {
            assert!(
                !output.all().contains(&secret),
                "a client secret was printed"
            );
        }
    }
}

#[tokio::test]
async fn apply_refuses_without_a_terminal_or_approval() {
    let setup = setup(SERVICES).await;
    let apply = setup.cogwire(&["apply"]);
    assert_eq!(apply.code, 1, "{}", apply.all());
    assert!(apply.stderr.contains("--auto-approve"), "{}", apply.stderr);
    assert_eq!(setup.client_count().await, 0);
}

#[tokio::test]
async fn drift_is_shown_and_corrected() {
    let setup = setup(SERVICES).await;
    assert_eq!(setup.cogwire(&["apply", "--auto-approve"]).code, 0);
    let client = setup.client_named("orders-v1-app-client").await;
    // A console edit: drop a scope and change the validity.
    let cognito = setup.account.cognito().await;
    cognito
        .update_user_pool_client()
        .user_pool_id(&setup.pool)
        .client_id(client.client_id().expect("id"))
        .client_name("orders-v1-app-client")
        .allowed_o_auth_flows(OAuthFlowType::ClientCredentials)
        .allowed_o_auth_flows_user_pool_client(true)
        .allowed_o_auth_scopes("customers-v1-resource-server/customer.read")
        .send()
        .await
        .expect("UpdateUserPoolClient");

    let plan = setup.cogwire(&["plan"]);
    assert!(
        plan.stdout.contains("~ client orders-v1-app-client"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("+ scope customers-v1-resource-server/customer.write"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("Plan: 0 to add, 1 to change, 0 to destroy."),
        "{}",
        plan.stdout
    );

    assert_eq!(setup.cogwire(&["apply", "--auto-approve"]).code, 0);
    let again = setup.cogwire(&["plan", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}", again.all());
}

#[tokio::test]
async fn adopted_clients_keep_their_other_settings() {
    let setup = setup(SERVICES).await;
    setup
        .account
        .new_resource_server(
            &setup.pool,
            "customers-v1-resource-server",
            &["customer.read"],
        )
        .await;
    let cognito = setup.account.cognito().await;
    let created = cognito
        .create_user_pool_client()
        .user_pool_id(&setup.pool)
        .client_name("accounts-v1-app-client")
        .generate_secret(true)
        .allowed_o_auth_flows(OAuthFlowType::ClientCredentials)
        .allowed_o_auth_flows_user_pool_client(true)
        .allowed_o_auth_scopes("customers-v1-resource-server/customer.read")
        .callback_urls("https://app.example.com/callback")
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .send()
        .await
        .expect("CreateUserPoolClient");
    let id = created
        .user_pool_client()
        .and_then(|client| client.client_id())
        .expect("id")
        .to_owned();

    let plan = setup.cogwire(&["plan"]);
    assert!(
        plan.stdout
            .contains(&format!("<= client accounts-v1-app-client ({id})")),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("<= resource server customers-v1-resource-server"),
        "{}",
        plan.stdout
    );
    // Adopting them changes them too (a scope added, a validity): that takes --adopt.
    let refused = setup.cogwire(&["apply", "--auto-approve"]);
    assert_eq!(refused.code, 1, "{}", refused.all());
    assert!(refused.stderr.contains("--adopt"), "{}", refused.stderr);
    assert_eq!(
        setup.cogwire(&["apply", "--auto-approve", "--adopt"]).code,
        0
    );

    let client = setup.client_named("accounts-v1-app-client").await;
    assert_eq!(
        client.client_id(),
        Some(id.as_str()),
        "the client id survives adoption"
    );
    assert_eq!(
        client.callback_urls(),
        &["https://app.example.com/callback".to_owned()]
    );
    assert_eq!(
        client.explicit_auth_flows(),
        &[ExplicitAuthFlowsType::AllowRefreshTokenAuth]
    );
    assert_eq!(client.access_token_validity(), Some(30));
    assert_eq!(setup.cogwire(&["plan", "--detailed-exitcode"]).code, 0);
}

#[tokio::test]
async fn removing_a_service_deletes_only_what_cogwire_manages() {
    let setup = setup(SERVICES).await;
    assert_eq!(setup.cogwire(&["apply", "--auto-approve"]).code, 0);
    setup
        .account
        .new_resource_server(&setup.pool, "someone-elses", &["x"])
        .await;
    let (unmanaged_id, _) = setup
        .account
        .new_client(
            &setup.pool,
            "someone-elses-client",
            &["customers-v1-resource-server/customer.read"],
        )
        .await;

    let unmanaged = setup.cogwire(&["plan", "--show-unmanaged"]);
    assert!(
        unmanaged
            .stdout
            .contains(&format!("client someone-elses-client ({unmanaged_id})")),
        "{}",
        unmanaged.stdout
    );
    assert!(
        unmanaged.stdout.contains("resource server someone-elses"),
        "{}",
        unmanaged.stdout
    );

    // orders-v1 goes away: its resource server and client are destroyed, and callers lose access.
    let remaining = SERVICES
        .split("[services.orders-v1]")
        .next()
        .unwrap_or_default();
    setup.workdir.write(remaining);
    let plan = setup.cogwire(&["plan"]);
    assert!(
        plan.stdout.contains("- resource server orders-v1"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("- client orders-v1-app-client"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("orders-v1 loses customers-v1-resource-server/customer.write"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("Plan: 0 to add, 0 to change, 2 to destroy."),
        "{}",
        plan.stdout
    );
    assert_eq!(
        setup
            .cogwire(&["apply", "--auto-approve", "--allow-destroy"])
            .code,
        0
    );

    let client = setup.client_named("someone-elses-client").await;
    assert_eq!(client.client_id(), Some(unmanaged_id.as_str()));
    assert_eq!(setup.client_count().await, 2);
    let servers = setup
        .account
        .cognito()
        .await
        .list_resource_servers()
        .user_pool_id(&setup.pool)
        .max_results(50)
        .send()
        .await
        .expect("ListResourceServers");
    let mut identifiers: Vec<_> = servers
        .resource_servers()
        .iter()
        .filter_map(|server| server.identifier())
        .collect();
    identifiers.sort();
    assert_eq!(
        identifiers,
        vec!["customers-v1-resource-server", "someone-elses"]
    );
}

/// An empty or cut-short services.toml is taken for a mistake, not for "destroy everything":
/// plan and apply refuse it until --allow-destroy says otherwise.
#[tokio::test]
async fn an_empty_services_toml_destroys_nothing_without_allow_destroy() {
    let setup = setup(SERVICES).await;
    assert_eq!(setup.cogwire(&["apply", "--auto-approve"]).code, 0);
    let before = setup.pool_contents().await;
    assert_eq!(before.0.len(), 2, "{before:?}");
    assert_eq!(before.1.len(), 2, "{before:?}");

    for empty in ["", "# services.toml\n[pool]\n"] {
        setup.workdir.write(empty);
        for command in [
            &["plan"][..],
            &["plan", "--out", "plan.json"][..],
            &["apply", "--auto-approve"][..],
            &["apply"][..],
        ] {
            let refused = setup.cogwire(command);
            assert_eq!(refused.code, 1, "{command:?}: {}", refused.all());
            assert!(
                refused.stderr.contains("declares no services")
                    && refused.stderr.contains("client accounts-v1-app-client (")
                    && refused
                        .stderr
                        .contains("resource server customers-v1-resource-server")
                    && refused.stderr.contains("--allow-destroy"),
                "{command:?}: {}",
                refused.stderr
            );
            assert!(refused.stdout.is_empty(), "{}", refused.stdout);
        }
        assert!(!setup.workdir.path().join("plan.json").exists());
        assert_eq!(setup.pool_contents().await, before);
        assert!(setup.has_parameter("/cogwire/accounts-v1").await);
    }

    let plan = setup.cogwire(&["plan", "--allow-destroy"]);
    assert_eq!(plan.code, 0, "{}", plan.all());
    assert!(
        plan.stdout
            .contains("Plan: 0 to add, 0 to change, 4 to destroy."),
        "{}",
        plan.stdout
    );
    let apply = setup.cogwire(&["apply", "--auto-approve", "--allow-destroy"]);
    assert_eq!(apply.code, 0, "{}", apply.all());
    assert_eq!(setup.pool_contents().await, (vec![], vec![]));
}

/// With no one to ask (CI's --auto-approve, or a saved plan off a terminal), a plan that destroys
/// runs only with --allow-destroy; refused, it names what it would destroy and changes nothing.
#[tokio::test]
async fn an_unattended_apply_destroys_only_with_allow_destroy() {
    let setup = setup(SERVICES).await;
    assert_eq!(setup.cogwire(&["apply", "--auto-approve"]).code, 0);
    let before = setup.pool_contents().await;
    let remaining = SERVICES
        .split("[services.orders-v1]")
        .next()
        .unwrap_or_default();
    setup.workdir.write(remaining);

    let refused = setup.cogwire(&["apply", "--auto-approve"]);
    assert_eq!(refused.code, 1, "{}", refused.all());
    assert!(
        refused.stderr.contains("the plan destroys ")
            && refused.stderr.contains("client orders-v1-app-client (")
            && refused.stderr.contains("resource server orders-v1")
            && refused.stderr.contains("--allow-destroy"),
        "{}",
        refused.stderr
    );
    assert_eq!(setup.pool_contents().await, before);
    assert!(setup.has_parameter("/cogwire/orders-v1").await);
    // The lock was released: the next run is not blocked.
    assert!(
        !setup
            .has_parameter(&format!("/cogwire/{}/lock", setup.pool))
            .await
    );

    // A saved plan that destroys: planned freely, applied off a terminal only with the flag.
    let plan = setup.cogwire(&["plan", "--out", "plan.json"]);
    assert_eq!(plan.code, 0, "{}", plan.all());
    let refused = setup.cogwire(&["apply", "plan.json"]);
    assert_eq!(refused.code, 1, "{}", refused.all());
    assert!(
        refused.stderr.contains("--allow-destroy"),
        "{}",
        refused.stderr
    );
    assert_eq!(setup.pool_contents().await, before);

    let applied = setup.cogwire(&["apply", "--allow-destroy", "plan.json"]);
    assert_eq!(applied.code, 0, "{}", applied.all());
    assert!(
        applied.stdout.contains("0 added, 0 changed, 2 destroyed"),
        "{}",
        applied.stdout
    );
    let (servers, clients) = setup.pool_contents().await;
    assert_eq!(servers, ["customers-v1-resource-server"]);
    assert_eq!(
        clients
            .iter()
            .map(|(name, _)| name.as_str())
            .collect::<Vec<_>>(),
        ["accounts-v1-app-client"]
    );
    assert!(!setup.has_parameter("/cogwire/orders-v1").await);
}

#[tokio::test]
async fn duplicate_client_names_are_refused() {
    let setup = setup(SERVICES).await;
    setup
        .account
        .new_resource_server(
            &setup.pool,
            "customers-v1-resource-server",
            &["customer.read"],
        )
        .await;
    let scope = ["customers-v1-resource-server/customer.read"];
    let (first, _) = setup
        .account
        .new_client(&setup.pool, "accounts-v1-app-client", &scope)
        .await;
    let (second, _) = setup
        .account
        .new_client(&setup.pool, "accounts-v1-app-client", &scope)
        .await;
    for command in [&["plan"][..], &["apply", "--auto-approve"][..]] {
        let output = setup.cogwire(command);
        assert_eq!(output.code, 1, "{}", output.all());
        assert!(
            output.stderr.contains(&first) && output.stderr.contains(&second),
            "{}",
            output.stderr
        );
    }
    assert_eq!(setup.client_count().await, 2);
}

#[tokio::test]
async fn a_saved_plan_is_applied_exactly_or_refused_after_a_change() {
    let setup = setup(SERVICES).await;
    let plan_path = setup.workdir.path().join("plan.json");
    let plan_file = plan_path.to_str().expect("path");
    let plan = setup.cogwire(&["plan", "--out", plan_file]);
    assert_eq!(plan.code, 0, "{}", plan.all());
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&plan_path).expect("plan")).expect("JSON");
    assert_eq!(saved["format_version"], "2");
    assert_eq!(saved["summary"]["add"], 4);

    // Someone changes the pool between plan and apply.
    setup
        .account
        .new_resource_server(&setup.pool, "surprise", &["x"])
        .await;
    let refused = setup.cogwire(&["apply", plan_file]);
    assert_eq!(refused.code, 1, "{}", refused.all());
    assert!(
        refused.stderr.contains("changed since this plan was made"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("resource server surprise is new"),
        "the refusal names what changed: {}",
        refused.stderr
    );
    assert_eq!(setup.client_count().await, 0);

    let fresh = setup.cogwire(&["plan", "--out", plan_file]);
    assert_eq!(fresh.code, 0);
    let applied = setup.cogwire(&["apply", plan_file]);
    assert_eq!(applied.code, 0, "{}", applied.all());
    assert_eq!(setup.client_count().await, 2);
}

#[tokio::test]
async fn a_held_lock_names_its_holder_and_force_unlock_removes_it() {
    let setup = setup(SERVICES).await;
    let lock = serde_json::json!({"id": "other", "holder": "ci@runner-7 pid 42", "acquired_at": 1, "expires_at": u64::MAX / 2});
    setup.put_lock(&lock).await;
    let blocked = setup.cogwire(&["apply", "--auto-approve"]);
    assert_eq!(blocked.code, 1, "{}", blocked.all());
    assert!(
        blocked.stderr.contains("ci@runner-7 pid 42"),
        "{}",
        blocked.stderr
    );
    assert!(
        blocked.stderr.contains("force-unlock"),
        "{}",
        blocked.stderr
    );
    assert_eq!(setup.client_count().await, 0);

    // The lock is fresh and held on another host: removing it takes its id and --force.
    let unlock = setup.cogwire(&["force-unlock", "other", "--force"]);
    assert_eq!(unlock.code, 0, "{}", unlock.all());
    assert!(
        unlock.stdout.contains("ci@runner-7 pid 42"),
        "{}",
        unlock.stdout
    );
    assert_eq!(setup.cogwire(&["apply", "--auto-approve"]).code, 0);
}

#[tokio::test]
async fn a_missing_pool_is_one_clear_error() {
    let setup = setup(SERVICES).await;
    let mut env = setup.env.clone();
    env.push((
        "COGWIRE_USER_POOL_ID".to_owned(),
        "us-east-1_doesnotexist".to_owned(),
    ));
    let output = setup.workdir.run(&["plan"], &env);
    assert_eq!(output.code, 1);
    assert!(
        output
            .stderr
            .contains("user pool us-east-1_doesnotexist was not found"),
        "{}",
        output.stderr
    );
    assert!(output.stderr.contains("hint:"), "{}", output.stderr);
}

#[tokio::test]
async fn throttling_is_retried_until_the_pool_is_as_declared() {
    let setup = setup(SERVICES).await;
    setup
        .account
        .set_faults(serde_json::json!({"seed": 7, "throttle_share": 0.3, "error_share": 0.1}));
    let apply = setup.cogwire(&["apply", "--auto-approve", "--stats"]);
    setup.account.clear_faults();
    assert_eq!(apply.code, 0, "{}", apply.all());
    let throttled: u64 = setup.account.calls()["operations"]
        .as_object()
        .map(|operations| {
            operations
                .values()
                .filter_map(|operation| operation["throttled"].as_u64())
                .sum()
        })
        .unwrap_or(0);
    assert!(
        throttled > 0,
        "the fault plan throttled nothing: {}",
        setup.account.calls()
    );
    assert!(!apply.stderr.contains("panicked"), "{}", apply.stderr);
    // Retries are summarised in the closing line, not only with --stats.
    assert!(
        apply.stdout.contains(" retried, "),
        "no retry count: {}",
        apply.stdout
    );
    assert_eq!(setup.client_count().await, 2, "no duplicate client");
    assert_eq!(setup.cogwire(&["plan", "--detailed-exitcode"]).code, 0);
}

#[tokio::test]
async fn the_rendered_plan_reads_like_terraform() {
    let setup = setup(SERVICES).await;
    let plan = setup.cogwire(&["plan"]);
    assert_eq!(plan.code, 0, "{}", plan.all());
    insta::assert_snapshot!("plan_create", plan.stdout.replace(&setup.pool, "[POOL]"));

    assert_eq!(setup.cogwire(&["apply", "--auto-approve"]).code, 0);
    let changed = SERVICES
        .replace(
            "\"customer.write\" = \"Customer Write Scope\"",
            "\"customer.delete\" = \"Customer Delete Scope\"",
        )
        .replace(", \"customers-v1/customer.write\"", "")
        .replace(
            "access_token_validity = \"30m\"",
            "access_token_validity = \"45m\"",
        );
    setup.workdir.write(&changed);
    let update = setup.cogwire(&["plan"]);
    assert_eq!(update.code, 0, "{}", update.all());
    let mut shown = update.stdout.replace(&setup.pool, "[POOL]");
    for name in ["accounts-v1-app-client", "orders-v1-app-client"] {
        let id = setup
            .client_named(name)
            .await
            .client_id()
            .expect("id")
            .to_owned();
        shown = shown.replace(&id, "[CLIENT-ID]");
    }
    insta::assert_snapshot!("plan_update", shown);
}

/// Runs two applies against one pool at once. Latency makes each take seconds, so they overlap.
#[tokio::test]
async fn two_applies_at_once_never_both_write() {
    let setup = setup(SERVICES).await;
    setup
        .account
        .set_faults(serde_json::json!({"seed": 3, "latency_ms": 150}));
    let (first, second) = std::thread::scope(|scope| {
        let first = scope.spawn(|| setup.cogwire(&["apply", "--auto-approve"]));
        std::thread::sleep(std::time::Duration::from_millis(300));
        let second = scope.spawn(|| setup.cogwire(&["apply", "--auto-approve"]));
        (first.join().expect("first"), second.join().expect("second"))
    });
    assert_eq!(first.code, 0, "{}", first.all());
    assert!(
        first.stdout.contains("Apply complete: 4 added"),
        "{}",
        first.stdout
    );
    assert_eq!(second.code, 1, "{}", second.all());
    assert!(
        second.stderr.contains("holds the lock on this pool"),
        "{}",
        second.stderr
    );
    assert!(
        second.stderr.contains("--lock-timeout"),
        "{}",
        second.stderr
    );

    // With a lock timeout the second run waits its turn, then finds nothing to do.
    setup.workdir.write(&SERVICES.replace("\"30m\"", "\"20m\""));
    let (first, second) = std::thread::scope(|scope| {
        let first = scope.spawn(|| setup.cogwire(&["apply", "--auto-approve"]));
        std::thread::sleep(std::time::Duration::from_millis(300));
        let second =
            scope.spawn(|| setup.cogwire(&["apply", "--auto-approve", "--lock-timeout", "2m"]));
        (first.join().expect("first"), second.join().expect("second"))
    });
    setup.account.clear_faults();
    assert_eq!(first.code, 0, "{}", first.all());
    assert!(first.stdout.contains("1 changed"), "{}", first.stdout);
    assert_eq!(second.code, 0, "{}", second.all());
    assert!(second.stdout.contains("No changes."), "{}", second.stdout);
    assert_eq!(setup.client_count().await, 2);
}

/// kill -9 at several points of an apply, then force-unlock and apply again: the pool converges
/// with no duplicate client and the record knows every client (a later removal deletes them).
#[tokio::test]
async fn an_apply_killed_half_way_converges_on_the_next_run() {
    for kill_after_ms in [250_u64, 600, 1_000, 1_600] {
        let setup = setup(SERVICES).await;
        setup
            .account
            .set_faults(serde_json::json!({"seed": kill_after_ms, "latency_ms": 120}));
        let mut child = setup
            .workdir
            .spawn(&["apply", "--auto-approve"], &setup.env);
        std::thread::sleep(std::time::Duration::from_millis(kill_after_ms));
        child.kill().expect("kill -9");
        let _ = child.wait();
        setup.account.clear_faults();

        // The killed run held its lock on this host, and its process is gone: its id suffices.
        if let Some(id) = setup.lock_id().await {
            let unlock = setup.cogwire(&["force-unlock", &id]);
            assert_eq!(unlock.code, 0, "{}", unlock.all());
        }
        let again = setup.cogwire(&["apply", "--auto-approve"]);
        assert_eq!(
            again.code,
            0,
            "killed after {kill_after_ms} ms: {}",
            again.all()
        );
        assert_eq!(
            setup.client_count().await,
            2,
            "killed after {kill_after_ms} ms: a duplicate client"
        );
        let plan = setup.cogwire(&["plan", "--detailed-exitcode"]);
        assert_eq!(
            plan.code,
            0,
            "killed after {kill_after_ms} ms: {}",
            plan.all()
        );
        // Every client's credentials are stored, also those of clients the killed run created.
        let ssm = setup.account.ssm().await;
        for service in ["accounts-v1", "orders-v1"] {
            let stored = ssm
                .get_parameter()
                .name(format!("/cogwire/{service}"))
                .with_decryption(true)
                .send()
                .await;
            assert!(
                stored.is_ok(),
                "killed after {kill_after_ms} ms: no stored credentials for {service}"
            );
        }

        // Everything is recorded as cogwire's: removing all services destroys all of it.
        setup
            .workdir
            .write("[services.placeholder]\nscopes = { \"p\" = \"P\" }\n");
        let teardown = setup.cogwire(&["apply", "--auto-approve", "--allow-destroy"]);
        assert!(
            teardown.stdout.contains("2 destroyed") || teardown.stdout.contains("4 destroyed"),
            "{}",
            teardown.stdout
        );
        assert_eq!(
            setup.client_count().await,
            0,
            "killed after {kill_after_ms} ms: {}",
            teardown.all()
        );
    }
}

/// A create that failed leaves its name in the record as intent. Once the service is gone from
/// services.toml, the next apply forgets that name, so a client another team later creates under
/// it is never taken for cogwire's (and never destroyed).
#[tokio::test]
async fn a_failed_create_leaves_no_claim_on_its_name() {
    let setup = setup(SERVICES).await;
    assert_eq!(setup.cogwire(&["apply", "--auto-approve"]).code, 0);
    setup.workdir.write(&format!(
        "{SERVICES}\n[services.lonely]\nconsumes = [\"customers-v1/customer.read\"]\n"
    ));
    setup.account.set_faults(serde_json::json!({
        "error_share": 1.0,
        "error_code": "InvalidParameterException",
        "operations": ["CreateUserPoolClient"],
    }));
    let failed = setup.cogwire(&["apply", "--auto-approve"]);
    setup.account.clear_faults();
    assert_eq!(failed.code, 1, "{}", failed.all());

    setup.workdir.write(SERVICES);
    let again = setup.cogwire(&["apply", "--auto-approve"]);
    assert_eq!(again.code, 0, "{}", again.all());
    assert!(again.stdout.contains("No changes."), "{}", again.stdout);

    setup
        .account
        .new_client(&setup.pool, "lonely-app-client", &[])
        .await;
    let plan = setup.cogwire(&["plan", "--detailed-exitcode"]);
    assert_eq!(
        plan.code,
        0,
        "the other team's client is planned: {}",
        plan.all()
    );
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);
}

/// Two runs that find the same expired lock at once: exactly one takes it over and applies, the
/// other is told the lock is held. Neither deletes the lock the other just took.
#[tokio::test]
async fn a_stale_lock_is_taken_over_by_one_run_only() {
    let setup = setup(SERVICES).await;
    let stale = serde_json::json!({
        "id": "4242-1-dead", "holder": "ci@gone pid 4242", "acquired_at": 1, "expires_at": 2,
    });
    setup.put_lock(&stale).await;
    setup
        .account
        .set_faults(serde_json::json!({"seed": 5, "latency_ms": 150}));
    let (first, second) = std::thread::scope(|scope| {
        let first = scope.spawn(|| setup.cogwire(&["apply", "--auto-approve"]));
        let second = scope.spawn(|| setup.cogwire(&["apply", "--auto-approve"]));
        (first.join().expect("first"), second.join().expect("second"))
    });
    setup.account.clear_faults();
    let (winner, loser) = if first.code == 0 {
        (first, second)
    } else {
        (second, first)
    };
    assert_eq!(winner.code, 0, "{}", winner.all());
    assert!(
        winner.stdout.contains("Apply complete: 4 added"),
        "{}",
        winner.stdout
    );
    assert_eq!(loser.code, 1, "both applied: {}", loser.all());
    assert!(
        loser.stderr.contains("holds the lock on this pool"),
        "{}",
        loser.stderr
    );
    assert_eq!(setup.client_count().await, 2);
    let plan = setup.cogwire(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{}", plan.all());
}

fn now_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

#[tokio::test]
async fn force_unlock_with_a_wrong_id_refuses_and_the_lock_stays() {
    let setup = setup(SERVICES).await;
    let now = now_seconds();
    let lock = serde_json::json!({"id": "5d41402abc4b2a76", "holder": "ci@runner-7 pid 42", "acquired_at": now - 3_600, "expires_at": now - 1_800});
    setup.put_lock(&lock).await;

    // Without an id it shows the lock and its id, and removes nothing.
    let bare = setup.cogwire(&["force-unlock"]);
    assert_eq!(bare.code, 1, "{}", bare.all());
    assert!(
        bare.stderr.contains("ci@runner-7 pid 42"),
        "{}",
        bare.stderr
    );
    assert!(
        bare.stderr.contains("force-unlock 5d41402abc4b2a76"),
        "{}",
        bare.stderr
    );
    assert_eq!(setup.lock_value().await, Some(lock.to_string()));

    // Another lock's id, even with --force: refused, naming the holder and the real id.
    let wrong = setup.cogwire(&["force-unlock", "0000deadbeef", "--force"]);
    assert_eq!(wrong.code, 1, "{}", wrong.all());
    assert!(
        wrong.stderr.contains("is not 0000deadbeef"),
        "{}",
        wrong.stderr
    );
    assert!(
        wrong.stderr.contains("ci@runner-7 pid 42"),
        "{}",
        wrong.stderr
    );
    assert!(
        wrong.stderr.contains("5d41402abc4b2a76"),
        "{}",
        wrong.stderr
    );
    assert_eq!(setup.lock_value().await, Some(lock.to_string()));

    // Its own id: it expired half an hour ago, so it goes without --force.
    let right = setup.cogwire(&["force-unlock", "5d41402abc4b2a76"]);
    assert_eq!(right.code, 0, "{}", right.all());
    assert_eq!(setup.lock_value().await, None);
}

#[tokio::test]
async fn force_unlock_refuses_a_fresh_or_locally_live_lock_without_force() {
    let setup = setup(SERVICES).await;
    let now = now_seconds();
    // Taken 2 s ago on another host, as in the reproduced incident.
    let fresh = serde_json::json!({"id": "a1b2c3", "holder": "alice@laptop-9 pid 13643", "host": "laptop-9", "pid": 13643, "acquired_at": now - 2, "expires_at": now + 1_798});
    setup.put_lock(&fresh).await;
    let refused = setup.cogwire(&["force-unlock", "a1b2c3"]);
    assert_eq!(refused.code, 1, "{}", refused.all());
    assert!(refused.stderr.contains("is fresh"), "{}", refused.stderr);
    assert!(refused.stderr.contains("--force"), "{}", refused.stderr);
    // Its age as the refusal tells it (2 s, or a little more on a slow machine).
    assert!(
        refused
            .stderr
            .contains("held by alice@laptop-9 pid 13643 since ")
            && refused.stderr.contains(" s ago"),
        "{}",
        refused.stderr
    );
    assert_eq!(setup.lock_value().await, Some(fresh.to_string()));
    let forced = setup.cogwire(&["force-unlock", "a1b2c3", "--force"]);
    assert_eq!(forced.code, 0, "{}", forced.all());
    assert_eq!(setup.lock_value().await, None);

    // Expired, but its holder is a process running on this host (this test): refused too.
    let live = serde_json::json!({"id": "d4e5f6", "holder": format!("me@test-host-live pid {}", std::process::id()), "acquired_at": now - 7_200, "expires_at": now - 3_600});
    setup.put_lock(&live).await;
    let mut env = setup.env.clone();
    env.push(("HOSTNAME".to_owned(), "test-host-live".to_owned()));
    let refused = setup.workdir.run(&["force-unlock", "d4e5f6"], &env);
    assert_eq!(refused.code, 1, "{}", refused.all());
    assert!(
        refused.stderr.contains("running on this host"),
        "{}",
        refused.stderr
    );
    assert_eq!(setup.lock_value().await, Some(live.to_string()));
    let forced = setup
        .workdir
        .run(&["force-unlock", "d4e5f6", "--force"], &env);
    assert_eq!(forced.code, 0, "{}", forced.all());
    assert_eq!(setup.lock_value().await, None);
}

#[tokio::test]
async fn an_unreadable_lock_reads_as_such_and_needs_force() {
    let setup = setup(SERVICES).await;
    setup
        .account
        .ssm()
        .await
        .put_parameter()
        .name(format!("/cogwire/{}/lock", setup.pool))
        .value("garbage{")
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .expect("PutParameter");
    let blocked = setup.cogwire(&["apply", "--auto-approve"]);
    assert_eq!(blocked.code, 1, "{}", blocked.all());
    assert!(
        blocked.stderr.contains("unreadable lock value"),
        "{}",
        blocked.stderr
    );
    assert!(!blocked.stderr.contains(" s ago"), "{}", blocked.stderr);
    assert!(!blocked.stderr.contains("expires in"), "{}", blocked.stderr);
    let plan = setup.cogwire(&["plan"]);
    assert!(
        plan.stdout.contains("Lock: unreadable lock value"),
        "{}",
        plan.all()
    );
    let refused = setup.cogwire(&["force-unlock"]);
    assert_eq!(refused.code, 1, "{}", refused.all());
    assert!(
        refused.stderr.contains("force-unlock --force"),
        "{}",
        refused.stderr
    );
    let forced = setup.cogwire(&["force-unlock", "--force"]);
    assert_eq!(forced.code, 0, "{}", forced.all());
    assert_eq!(setup.lock_value().await, None);
    assert_eq!(setup.client_count().await, 0);
}

#[tokio::test]
async fn plan_shows_a_lock_left_behind_and_detailed_exitcode_gives_2() {
    let setup = setup(SERVICES).await;
    assert_eq!(setup.cogwire(&["apply", "--auto-approve"]).code, 0);
    let quiet = setup.cogwire(&["plan", "--detailed-exitcode"]);
    assert_eq!(quiet.code, 0, "{}", quiet.all());
    assert!(!quiet.stdout.contains("Lock:"), "{}", quiet.stdout);

    let now = now_seconds();
    let stale = serde_json::json!({"id": "0bad0bad", "holder": "ci@gone pid 4242", "acquired_at": now - 7_200, "expires_at": now - 5_400});
    setup.put_lock(&stale).await;
    let plan = setup.cogwire(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);
    assert!(
        plan.stdout
            .contains("Lock: left behind by a run that died: ci@gone pid 4242"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("cogwire force-unlock 0bad0bad"),
        "{}",
        plan.stdout
    );
    let json = setup.cogwire(&["--json", "plan"]);
    assert_eq!(json.code, 0, "{}", json.all());
    let value: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(value["lock"]["state"], "left_behind", "{value}");
    assert_eq!(value["lock"]["id"], "0bad0bad", "{value}");

    // A fresh lock is shown as held, and is no change.
    let fresh = serde_json::json!({"id": "f00d", "holder": "ci@runner-2 pid 7", "acquired_at": now - 60, "expires_at": now + 1_740});
    setup.put_lock(&fresh).await;
    let plan = setup.cogwire(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{}", plan.all());
    assert!(
        plan.stdout
            .contains("Lock: held by ci@runner-2 pid 7 since 1 s ago")
            || plan
                .stdout
                .contains("Lock: held by ci@runner-2 pid 7 since 6"),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("expires in 2"), "{}", plan.stdout);
}

fn many_callers(count: usize) -> String {
    let mut text = String::from("[services.core]\nscopes = { \"read\" = \"Read\" }\n");
    for index in 0..count {
        text.push_str(&format!(
            "[services.caller-{index:02}]\nconsumes = [\"core/read\"]\n"
        ));
    }
    text
}

/// The reproduced incident: an apply of 30 services whose lock is taken while it runs. It stops at
/// its next check, names the thief, writes nothing more, and no client is ever made twice.
#[tokio::test]
async fn an_apply_whose_lock_is_stolen_stops_and_names_the_thief() {
    let setup = setup(&many_callers(30)).await;
    setup
        .account
        .set_faults(serde_json::json!({"seed": 11, "latency_ms": 1_500, "operations": ["CreateUserPoolClient"]}));
    let child = setup
        .workdir
        .command(&["apply", "--auto-approve"], &setup.env)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("cogwire starts");
    // Once the apply has begun creating clients, another run takes the lock.
    let started = std::time::Instant::now();
    while setup.clients_by_name().await.len() < 3 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "the apply created no client"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let now = now_seconds();
    let thief = serde_json::json!({"id": "7h1ef", "holder": "mallory@elsewhere pid 13643", "host": "elsewhere", "pid": 13643, "acquired_at": now, "expires_at": now + 1_800});
    setup.put_lock(&thief).await;
    let output = child.wait_with_output().expect("cogwire ends");
    setup.account.clear_faults();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    for expected in [
        "no longer holds the lock",
        "mallory@elsewhere pid 13643",
        "host elsewhere",
        "lock id 7h1ef",
        "stopped after",
        "cogwire plan",
    ] {
        assert!(stderr.contains(expected), "no `{expected}`: {stderr}");
    }
    let clients = setup.clients_by_name().await;
    assert!(
        clients.len() < 30,
        "the apply did not stop: {clients:?} {stderr}"
    );
    assert!(
        clients.values().all(|count| *count == 1),
        "a duplicate client: {clients:?}"
    );
    // The thief's lock is left alone.
    assert_eq!(setup.lock_value().await, Some(thief.to_string()));

    // Once the thief is gone, apply converges: every client once.
    assert_eq!(setup.cogwire(&["force-unlock", "7h1ef", "--force"]).code, 0);
    let again = setup.cogwire(&["apply", "--auto-approve"]);
    assert_eq!(again.code, 0, "{}", again.all());
    let clients = setup.clients_by_name().await;
    assert_eq!(clients.len(), 30, "{clients:?}");
    assert!(
        clients.values().all(|count| *count == 1),
        "a duplicate client: {clients:?}"
    );
    let plan = setup.cogwire(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{}", plan.all());
}
