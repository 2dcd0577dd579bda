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
