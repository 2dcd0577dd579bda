//! `cogwire import` against pools built through the SDK, and the round trip import -> plan ->
//! apply -> plan.

use aws_sdk_cognitoidentityprovider::types::{
    OAuthFlowType, ResourceServerScopeType, TimeUnitsType, TokenValidityUnitsType,
};

use crate::support::{TestAccount, Workdir, local_aws};

async fn server(
    account: &TestAccount,
    pool: &str,
    identifier: &str,
    name: &str,
    scopes: &[(&str, &str)],
) {
    account
        .cognito()
        .await
        .create_resource_server()
        .user_pool_id(pool)
        .identifier(identifier)
        .name(name)
        .set_scopes(Some(
            scopes
                .iter()
                .map(|(scope, description)| {
                    ResourceServerScopeType::builder()
                        .scope_name(*scope)
                        .scope_description(*description)
                        .build()
                        .expect("scope")
                })
                .collect(),
        ))
        .send()
        .await
        .expect("CreateResourceServer");
}

async fn client_ids(account: &TestAccount, pool: &str) -> Vec<(String, String)> {
    let list = account
        .cognito()
        .await
        .list_user_pool_clients()
        .user_pool_id(pool)
        .max_results(60)
        .send()
        .await
        .expect("ListUserPoolClients");
    let mut ids: Vec<(String, String)> = list
        .user_pool_clients()
        .iter()
        .map(|client| {
            (
                client.client_name().unwrap_or_default().to_owned(),
                client.client_id().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn a_mixed_pool_round_trips_without_changing_any_client_id() {
    let account = local_aws().account();
    let pool = account.new_pool("import").await;
    server(
        &account,
        &pool,
        "customers-v1-resource-server",
        "customers-v1",
        &[("customer.read", "Read"), ("customer.write", "Write")],
    )
    .await;
    server(
        &account,
        &pool,
        "https://gateway.example.com",
        "gateway",
        &[("demo.read", "Read demo"), ("demo.write", "Write demo")],
    )
    .await;
    server(
        &account,
        &pool,
        "billing",
        "Legacy Billing",
        &[("invoice.read", "Invoices")],
    )
    .await;
    account
        .new_client(
            &pool,
            "customers-v1-app-client",
            &["https://gateway.example.com/demo.read"],
        )
        .await;
    account
        .new_client(
            &pool,
            "reporting",
            &[
                "customers-v1-resource-server/customer.read",
                "billing/invoice.read",
            ],
        )
        .await;
    let cognito = account.cognito().await;
    cognito
        .create_user_pool_client()
        .user_pool_id(&pool)
        .client_name("gateway-writer-app-client")
        .generate_secret(true)
        .allowed_o_auth_flows(OAuthFlowType::ClientCredentials)
        .allowed_o_auth_flows_user_pool_client(true)
        .allowed_o_auth_scopes("https://gateway.example.com/demo.write")
        .access_token_validity(15)
        .token_validity_units(
            TokenValidityUnitsType::builder()
                .access_token(TimeUnitsType::Minutes)
                .build(),
        )
        .send()
        .await
        .expect("CreateUserPoolClient");
    cognito
        .create_user_pool_client()
        .user_pool_id(&pool)
        .client_name("web-login")
        .allowed_o_auth_flows(OAuthFlowType::Code)
        .allowed_o_auth_flows_user_pool_client(true)
        .allowed_o_auth_scopes("openid")
        .callback_urls("https://app.example.com/cb")
        .send()
        .await
        .expect("CreateUserPoolClient");
    let before = client_ids(&account, &pool).await;

    let workdir = Workdir::new("");
    let mut env = account.env();
    env.push(("COGWIRE_USER_POOL_ID".to_owned(), pool.clone()));
    let imported = workdir.run(&["import", "--output", "imported.toml"], &env);
    assert_eq!(imported.code, 0, "{}", imported.all());
    let text = std::fs::read_to_string(workdir.path().join("imported.toml")).expect("written");
    assert!(text.contains("#   web-login ("), "{text}");
    assert!(
        text.contains("[services.customers-v1]\nidentifier = \"customers-v1-resource-server\""),
        "{text}"
    );
    assert!(
        text.contains("consumes = [\"gateway/demo.read\"]"),
        "{text}"
    );
    assert!(text.contains("[services.reporting]\nconsumes = [\"billing/invoice.read\", \"customers-v1/customer.read\"]\n[services.reporting.client]\nname = \"reporting\""), "{text}");
    assert!(
        text.contains("[services.gateway-writer.client]\naccess_token_validity = \"15m\""),
        "{text}"
    );
    assert!(
        text.contains("[services.billing]\nname = \"Legacy Billing\""),
        "{text}"
    );

    let config = ["--config", "imported.toml"];
    let validate = workdir.run(&[&config[..], &["validate"]].concat(), &env);
    assert_eq!(validate.code, 0, "{}", validate.all());
    let plan = workdir.run(&[&config[..], &["plan"]].concat(), &env);
    assert_eq!(plan.code, 0, "{}", plan.all());
    assert!(
        plan.stdout
            .contains("Plan: 6 to import, 0 to add, 0 to change, 0 to destroy."),
        "{}",
        plan.stdout
    );
    let apply = workdir.run(&[&config[..], &["apply", "--auto-approve"]].concat(), &env);
    assert_eq!(apply.code, 0, "{}", apply.all());
    let again = workdir.run(
        &[&config[..], &["plan", "--detailed-exitcode"]].concat(),
        &env,
    );
    assert_eq!(again.code, 0, "{}", again.all());
    assert!(again.stdout.starts_with("No changes."), "{}", again.stdout);
    assert_eq!(
        client_ids(&account, &pool).await,
        before,
        "every client id is unchanged"
    );

    // Importing again gives the same bytes.
    let second = workdir.run(&["import"], &env);
    assert_eq!(second.stdout, text);
}

#[tokio::test]
async fn a_pool_of_resource_servers_only_imports_and_refuses_to_overwrite() {
    let account = local_aws().account();
    let pool = account.new_pool("import-servers").await;
    server(&account, &pool, "orders", "orders", &[("order.read", "")]).await;
    server(
        &account,
        &pool,
        "https://api.example.com/v2",
        "API v2",
        &[("a", "A")],
    )
    .await;
    let workdir = Workdir::new("# keep me\n");
    let mut env = account.env();
    env.push(("COGWIRE_USER_POOL_ID".to_owned(), pool.clone()));
    let refused = workdir.run(&["import", "--output", "services.toml"], &env);
    assert_eq!(refused.code, 1);
    assert!(refused.stderr.contains("--force"), "{}", refused.stderr);
    let imported = workdir.run(&["import", "--output", "services.toml", "--force"], &env);
    assert_eq!(imported.code, 0, "{}", imported.all());
    let text = std::fs::read_to_string(workdir.path().join("services.toml")).expect("written");
    // A URL identifier names no service: the display name does.
    assert!(
        text.contains(
            "[services.API-v2]\nidentifier = \"https://api.example.com/v2\"\nname = \"API v2\""
        ),
        "{text}"
    );
    assert!(
        text.contains("scopes = { \"order.read\" = \"\" }"),
        "{text}"
    );
    assert!(!text.contains("consumes"), "{text}");
    let plan = workdir.run(&["plan"], &env);
    assert!(
        plan.stdout
            .contains("Plan: 2 to import, 0 to add, 0 to change, 0 to destroy."),
        "{}",
        plan.all()
    );
}

/// A client of any shape; returns its id.
async fn raw_client(
    account: &TestAccount,
    pool: &str,
    name: &str,
    flows: &[OAuthFlowType],
    secret: bool,
    scopes: &[&str],
) -> String {
    let mut request = account
        .cognito()
        .await
        .create_user_pool_client()
        .user_pool_id(pool)
        .client_name(name)
        .generate_secret(secret)
        .set_allowed_o_auth_flows((!flows.is_empty()).then(|| flows.to_vec()))
        .allowed_o_auth_flows_user_pool_client(!flows.is_empty())
        .set_allowed_o_auth_scopes(
            (!scopes.is_empty()).then(|| scopes.iter().map(|scope| scope.to_string()).collect()),
        );
    if flows
        .iter()
        .any(|flow| *flow != OAuthFlowType::ClientCredentials)
    {
        request = request.callback_urls("https://app.example.com/cb");
    }
    request
        .send()
        .await
        .expect("CreateUserPoolClient")
        .user_pool_client()
        .and_then(|client| client.client_id())
        .expect("client id")
        .to_owned()
}

/// Import into `file`, then check what every import must give: a valid file whose first plan
/// only imports, and whose apply leaves a pool that plans `No changes.` with every client id kept.
fn import_and_round_trip(
    workdir: &Workdir,
    env: &[(String, String)],
    import_args: &[&str],
    file: &str,
    imports: usize,
) -> String {
    let imported = workdir.run(
        &[&["import", "--output", file][..], import_args].concat(),
        env,
    );
    assert_eq!(imported.code, 0, "{}", imported.all());
    let text = std::fs::read_to_string(workdir.path().join(file)).expect("written");
    let config = ["--config", file];
    let validate = workdir.run(&[&config[..], &["validate"]].concat(), env);
    assert_eq!(validate.code, 0, "{}\n{text}", validate.all());
    let plan = workdir.run(&[&config[..], &["plan"]].concat(), env);
    assert_eq!(plan.code, 0, "{}", plan.all());
    assert!(
        plan.stdout.contains(&format!(
            "Plan: {imports} to import, 0 to add, 0 to change, 0 to destroy."
        )),
        "{}\n{text}",
        plan.stdout
    );
    let apply = workdir.run(&[&config[..], &["apply", "--auto-approve"]].concat(), env);
    assert_eq!(apply.code, 0, "{}", apply.all());
    let again = workdir.run(
        &[&config[..], &["plan", "--detailed-exitcode"]].concat(),
        env,
    );
    assert_eq!(again.code, 0, "{}", again.all());
    assert!(again.stdout.starts_with("No changes."), "{}", again.stdout);
    text
}

fn pool_env(account: &TestAccount, pool: &str) -> Vec<(String, String)> {
    let mut env = account.env();
    env.push(("COGWIRE_USER_POOL_ID".to_owned(), pool.to_owned()));
    env
}

#[tokio::test]
async fn a_client_that_follows_the_pattern_joins_its_resource_server_before_a_plain_name() {
    let account = local_aws().account();
    let pool = account.new_pool("import-pattern-wins").await;
    server(
        &account,
        &pool,
        "orders-resource-server",
        "orders",
        &[("r", "Read")],
    )
    .await;
    server(&account, &pool, "billing", "billing", &[("b", "Bill")]).await;
    // `orders` sorts before `orders-app-client`: it must not claim the service.
    account
        .new_client(&pool, "orders", &["orders-resource-server/r"])
        .await;
    account
        .new_client(&pool, "orders-app-client", &["billing/b"])
        .await;
    let before = client_ids(&account, &pool).await;
    let workdir = Workdir::new("");
    let env = pool_env(&account, &pool);
    let text = import_and_round_trip(&workdir, &env, &[], "imported.toml", 4);
    assert!(
        text.contains(
            "[services.orders]\nidentifier = \"orders-resource-server\"\nscopes = { \"r\" = \"Read\" }\nconsumes = [\"billing/b\"]\n\n"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "[services.orders-2]\nconsumes = [\"orders/r\"]\n[services.orders-2.client]\nname = \"orders\"\n"
        ),
        "{text}"
    );
    assert_eq!(client_ids(&account, &pool).await, before);
}

#[tokio::test]
async fn custom_patterns_join_a_client_to_the_resource_server_they_name() {
    let account = local_aws().account();
    let pool = account.new_pool("import-custom-patterns").await;
    server(&account, &pool, "orders", "orders", &[("a", "A")]).await;
    server(&account, &pool, "orders-api", "Orders API", &[("b", "B")]).await;
    account
        .new_client(&pool, "orders-client", &["orders/a"])
        .await;
    // Under the default pattern this would be service `reporting`.
    account
        .new_client(&pool, "reporting-app-client", &["orders-api/b"])
        .await;
    let before = client_ids(&account, &pool).await;
    let workdir = Workdir::new("");
    let env = pool_env(&account, &pool);
    let text = import_and_round_trip(
        &workdir,
        &env,
        &[
            "--client-pattern",
            "{service}-client",
            "--resource-server-pattern",
            "{service}-api",
        ],
        "imported.toml",
        4,
    );
    assert!(
        text.contains(
            "[services.orders]\nidentifier = \"orders-api\"\nname = \"Orders API\"\nscopes = { \"b\" = \"B\" }\nconsumes = [\"orders-2/a\"]\n[services.orders.client]\nname = \"orders-client\"\n"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "[services.orders-2]\nidentifier = \"orders\"\nname = \"orders\"\nscopes = { \"a\" = \"A\" }\n\n"
        ),
        "{text}"
    );
    // The default client pattern is no longer in force.
    assert!(
        text.contains(
            "[services.reporting-app]\nconsumes = [\"orders/b\"]\n[services.reporting-app.client]\nname = \"reporting-app-client\"\n"
        ),
        "{text}"
    );
    assert_eq!(client_ids(&account, &pool).await, before);

    let bad = workdir.run(&["import", "--client-pattern", "{service}-{service}"], &env);
    assert_eq!(bad.code, 1, "{}", bad.all());
    assert!(bad.stderr.contains("exactly once"), "{}", bad.stderr);
}

#[tokio::test]
async fn every_client_left_out_is_listed_at_the_top_with_its_reason() {
    let account = local_aws().account();
    let pool = account.new_pool("import-skipped").await;
    server(
        &account,
        &pool,
        "orders-resource-server",
        "orders",
        &[("r", "Read")],
    )
    .await;
    let scope = "orders-resource-server/r";
    let kept = raw_client(
        &account,
        &pool,
        "orders-app-client",
        &[OAuthFlowType::ClientCredentials],
        true,
        &[scope],
    )
    .await;
    let mut left_out = vec![
        (
            "mixed".to_owned(),
            raw_client(
                &account,
                &pool,
                "mixed",
                &[OAuthFlowType::ClientCredentials, OAuthFlowType::Code],
                true,
                &[scope],
            )
            .await,
            "it mixes client_credentials with other flows",
        ),
        (
            "no-secret".to_owned(),
            raw_client(
                &account,
                &pool,
                "no-secret",
                &[OAuthFlowType::ClientCredentials],
                false,
                &[scope],
            )
            .await,
            "no client secret",
        ),
        (
            "web-login".to_owned(),
            raw_client(
                &account,
                &pool,
                "web-login",
                &[OAuthFlowType::Code],
                false,
                &["openid"],
            )
            .await,
            "code flow, not client_credentials",
        ),
        (
            "spa".to_owned(),
            raw_client(
                &account,
                &pool,
                "spa",
                &[OAuthFlowType::Implicit],
                false,
                &["openid"],
            )
            .await,
            "implicit flow, not client_credentials",
        ),
        (
            "cli".to_owned(),
            raw_client(&account, &pool, "cli", &[], false, &[]).await,
            "no OAuth flow",
        ),
        (
            "no-scopes".to_owned(),
            raw_client(
                &account,
                &pool,
                "no-scopes",
                &[OAuthFlowType::ClientCredentials],
                true,
                &[],
            )
            .await,
            "no scopes",
        ),
    ];
    for _ in 0..2 {
        let id = raw_client(
            &account,
            &pool,
            "shared",
            &[OAuthFlowType::ClientCredentials],
            true,
            &[scope],
        )
        .await;
        left_out.push((
            "shared".to_owned(),
            id,
            "its name is shared with another client; cogwire knows clients by name",
        ));
    }
    left_out.sort();
    let mut expected = format!(
        "#:schema ./services.schema.json\n\
         # services.toml imported from user pool {pool} by `cogwire import`.\n\
         # Review it, then `cogwire plan`: the first plan only records what exists (imports).\n\
         #\n\
         # Clients left out (cogwire manages client-credentials clients only):\n"
    );
    for (name, id, reason) in &left_out {
        expected.push_str(&format!("#   {name} ({id}): {reason}\n"));
    }
    expected.push_str("\n[pool]\n");

    let workdir = Workdir::new("");
    let env = pool_env(&account, &pool);
    let text = import_and_round_trip(&workdir, &env, &[], "imported.toml", 2);
    assert!(
        text.starts_with(&expected),
        "expected:\n{expected}\ngot:\n{text}"
    );
    assert!(
        text.ends_with("[services.orders]\nidentifier = \"orders-resource-server\"\nscopes = { \"r\" = \"Read\" }\nconsumes = [\"orders/r\"]\n"),
        "{text}"
    );
    assert!(!text.contains(&format!("[services.{kept}")), "{text}");

    // The same list, for machines.
    let json = workdir.run(&["--json", "import", "--output", "again.toml"], &env);
    assert_eq!(json.code, 0, "{}", json.all());
    let summary: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON on stdout");
    assert_eq!(summary["format_version"], "1");
    assert_eq!(summary["pool_id"], pool.as_str());
    assert_eq!(summary["output"], "again.toml");
    assert_eq!(
        summary["services"],
        serde_json::json!([{
            "name": "orders",
            "resource_server": "orders-resource-server",
            "client": {"name": "orders-app-client", "id": kept, "consumes": ["orders/r"]},
        }])
    );
    let skipped: Vec<(String, String, String)> = summary["skipped"]
        .as_array()
        .expect("skipped")
        .iter()
        .map(|entry| {
            (
                entry["name"].as_str().unwrap_or_default().to_owned(),
                entry["id"].as_str().unwrap_or_default().to_owned(),
                entry["reason"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let expected_skipped: Vec<(String, String, String)> = left_out
        .iter()
        .map(|(name, id, reason)| (name.clone(), id.clone(), (*reason).to_owned()))
        .collect();
    assert_eq!(skipped, expected_skipped);
    assert_eq!(
        std::fs::read_to_string(workdir.path().join("again.toml")).expect("written"),
        text
    );
}

#[tokio::test]
async fn the_pool_is_found_as_other_commands_find_it() {
    let account = local_aws().account();
    let pool = account.new_pool("import-config").await;
    server(&account, &pool, "orders", "orders", &[("r", "Read")]).await;
    let workdir = Workdir::new("");
    let env = account.env();
    let header = format!(
        "#:schema ./services.schema.json\n# services.toml imported from user pool {pool} by"
    );

    // `[pool] id` of --config.
    std::fs::write(
        workdir.path().join("imp.toml"),
        format!("[pool]\nid = \"{pool}\"\n"),
    )
    .expect("imp.toml");
    let from_flag = workdir.run(&["--config", "imp.toml", "import"], &env);
    assert_eq!(from_flag.code, 0, "{}", from_flag.all());
    assert!(
        from_flag.stdout.starts_with(&header),
        "{}",
        from_flag.stdout
    );

    // ... of COGWIRE_CONFIG.
    let mut with_config = env.clone();
    with_config.push(("COGWIRE_CONFIG".to_owned(), "imp.toml".to_owned()));
    let from_env = workdir.run(&["import"], &with_config);
    assert_eq!(from_env.code, 0, "{}", from_env.all());
    assert_eq!(from_env.stdout, from_flag.stdout);

    // ... of ./services.toml; and --user-pool-id wins over the file.
    workdir.write("[pool]\nid = \"us-east-1_nope\"\n");
    let overridden = workdir.run(&["--user-pool-id", &pool, "import"], &env);
    assert_eq!(overridden.code, 0, "{}", overridden.all());
    assert_eq!(overridden.stdout, from_flag.stdout);
    let from_default = workdir.run(&["import"], &env);
    assert_eq!(from_default.code, 1, "{}", from_default.all());
    assert!(
        from_default.stderr.contains("us-east-1_nope was not found"),
        "{}",
        from_default.stderr
    );

    // No services.toml at all: the pool comes from the environment.
    std::fs::remove_file(workdir.path().join("services.toml")).expect("removed");
    let named = pool_env(&account, &pool);
    let without_file = workdir.run(&["import"], &named);
    assert_eq!(without_file.code, 0, "{}", without_file.all());
    assert_eq!(without_file.stdout, from_flag.stdout);
    let unnamed = workdir.run(&["import"], &env);
    assert_eq!(unnamed.code, 1, "{}", unnamed.all());
    assert!(
        unnamed.stderr.contains("no user pool is named"),
        "{}",
        unnamed.stderr
    );

    // --json is a summary of what was written, so it needs a file to write.
    let json = workdir.run(&["--json", "import"], &named);
    assert_eq!(json.code, 1, "{}", json.all());
    assert!(json.stdout.is_empty(), "{}", json.stdout);
    assert!(
        json.stderr.contains("--json needs --output"),
        "{}",
        json.stderr
    );
}
