//! The API Gateway end against the local AWS: an HTTP API made with the SDK, kept in line by
//! `plan` and `apply` through the binary, and `export openapi` checked by an OpenAPI validator.

use std::collections::BTreeSet;

use apigateway::types::{AuthorizationType, AuthorizerType, JwtConfiguration, ProtocolType};
use aws_sdk_apigatewayv2 as apigateway;

use crate::support::{TestAccount, Workdir, local_aws};

fn services(api_id: &str, authorizer_id: &str, extra: &str) -> String {
    format!(
        r#"
[services.gateway]
identifier = "https://gateway.example.com"
scopes = {{ "demo.read" = "Read demo resources", "demo.write" = "Write demo resources" }}

[services.gateway.api_gateway]
http_api = "{api_id}"
authorizer = "{authorizer_id}"

[[services.gateway.routes]]
method = "GET"
path = "/api/demo/protectedRole/alice"
route = "/api/demo/protectedRole/{{name}}"
scope = "demo.read"

[[services.gateway.routes]]
method = "POST"
path = "/api/demo/protectedUpload"
scope = "demo.write"

[services.gateway-reader]
consumes = ["gateway/demo.read"]
{extra}"#
    )
}

/// The pool's issuer, as cogwire derives it.
fn issuer(pool: &str) -> String {
    cogwire::tokens::token::issuer(pool, "us-east-1")
}

struct HttpApi {
    client: apigateway::Client,
    api_id: String,
    authorizer_id: String,
}

impl HttpApi {
    /// An HTTP API with a JWT authorizer whose audience holds a client cogwire does not manage,
    /// and three routes without authorization.
    async fn new(account: &TestAccount) -> Self {
        let client = apigateway::Client::new(&account.sdk_config().await);
        let api_id = client
            .create_api()
            .name("demo")
            .protocol_type(ProtocolType::Http)
            .send()
            .await
            .expect("CreateApi")
            .api_id()
            .expect("api id")
            .to_owned();
        let authorizer_id = client
            .create_authorizer()
            .api_id(&api_id)
            .name("cognito")
            .authorizer_type(AuthorizerType::Jwt)
            .identity_source("$request.header.Authorization")
            .jwt_configuration(
                JwtConfiguration::builder()
                    .issuer("https://issuer.invalid/placeholder")
                    .audience("someone-elses-client")
                    .build(),
            )
            .send()
            .await
            .expect("CreateAuthorizer")
            .authorizer_id()
            .expect("authorizer id")
            .to_owned();
        for key in [
            "GET /api/demo/protectedRole/{name}",
            "POST /api/demo/protectedUpload",
            "GET /health",
        ] {
            client
                .create_route()
                .api_id(&api_id)
                .route_key(key)
                .authorization_type(AuthorizationType::None)
                .send()
                .await
                .expect("CreateRoute");
        }
        Self {
            client,
            api_id,
            authorizer_id,
        }
    }

    async fn audience(&self) -> (Option<String>, Vec<String>) {
        let authorizer = self
            .client
            .get_authorizer()
            .api_id(&self.api_id)
            .authorizer_id(&self.authorizer_id)
            .send()
            .await
            .expect("GetAuthorizer");
        let jwt = authorizer.jwt_configuration().expect("jwt");
        (jwt.issuer().map(str::to_owned), jwt.audience().to_vec())
    }

    /// Route key -> (authorization type, scopes).
    async fn routes(&self) -> Vec<(String, String, BTreeSet<String>)> {
        let routes = self
            .client
            .get_routes()
            .api_id(&self.api_id)
            .send()
            .await
            .expect("GetRoutes");
        let mut routes: Vec<_> = routes
            .items()
            .iter()
            .map(|route| {
                (
                    route.route_key().unwrap_or_default().to_owned(),
                    route
                        .authorization_type()
                        .map_or("NONE", AuthorizationType::as_str)
                        .to_owned(),
                    route.authorization_scopes().iter().cloned().collect(),
                )
            })
            .collect();
        routes.sort();
        routes
    }
}

async fn client_id(account: &TestAccount, pool: &str, name: &str) -> String {
    account
        .cognito()
        .await
        .list_user_pool_clients()
        .user_pool_id(pool)
        .max_results(60)
        .send()
        .await
        .expect("ListUserPoolClients")
        .user_pool_clients()
        .iter()
        .find(|client| client.client_name() == Some(name))
        .and_then(|client| client.client_id())
        .unwrap_or_else(|| panic!("no client {name}"))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_and_apply_keep_the_authorizer_and_declared_routes_in_line() {
    let account = local_aws().account();
    let pool = account.new_pool("gateway").await;
    let api = HttpApi::new(&account).await;
    let mut env = account.env();
    env.push(("COGWIRE_USER_POOL_ID".to_owned(), pool.clone()));
    let workdir = Workdir::new(&services(&api.api_id, &api.authorizer_id, ""));

    let plan = workdir.run(&["plan"], &env);
    assert_eq!(plan.code, 0, "{}", plan.all());
    for expected in [
        format!(
            "~ api_gateway authorizer {} of HTTP API {}",
            api.authorizer_id, api.api_id
        ),
        format!(
            "~ issuer: https://issuer.invalid/placeholder -> {}",
            issuer(&pool)
        ),
        "+ audience (known after apply) (gateway-reader)".to_owned(),
        "audience someone-elses-client (not a client cogwire manages: kept)".to_owned(),
        "~ api_gateway route GET /api/demo/protectedRole/{name}".to_owned(),
        "~ authorization: NONE -> JWT".to_owned(),
        "+ scope https://gateway.example.com/demo.read".to_owned(),
    ] {
        assert!(
            plan.stdout.contains(&expected),
            "{expected}\n{}",
            plan.stdout
        );
    }
    assert!(!plan.stdout.contains("GET /health"), "{}", plan.stdout);

    let apply = workdir.run(&["apply", "--auto-approve"], &env);
    assert_eq!(apply.code, 0, "{}", apply.all());
    let reader = client_id(&account, &pool, "gateway-reader-app-client").await;
    let (issuer_now, audience) = api.audience().await;
    assert_eq!(issuer_now, Some(issuer(&pool)));
    assert_eq!(
        audience,
        ["someone-elses-client".to_owned(), reader.clone()]
    );
    let scope = |name: &str| BTreeSet::from([format!("https://gateway.example.com/{name}")]);
    assert_eq!(
        api.routes().await,
        [
            (
                "GET /api/demo/protectedRole/{name}".to_owned(),
                "JWT".to_owned(),
                scope("demo.read")
            ),
            ("GET /health".to_owned(), "NONE".to_owned(), BTreeSet::new()),
            (
                "POST /api/demo/protectedUpload".to_owned(),
                "JWT".to_owned(),
                scope("demo.write")
            ),
        ]
    );
    let again = workdir.run(&["plan", "--detailed-exitcode"], &env);
    assert_eq!(again.code, 0, "{}", again.all());
    assert!(again.stdout.contains("No changes."), "{}", again.stdout);

    // A new consumer: its client is created, then joins the audience.
    workdir.write(&services(
        &api.api_id,
        &api.authorizer_id,
        "\n[services.gateway-auditor]\nconsumes = [\"gateway/demo.read\"]\n",
    ));
    let plan = workdir.run(&["plan"], &env);
    assert!(
        plan.stdout
            .contains("+ audience (known after apply) (gateway-auditor)"),
        "{}",
        plan.stdout
    );
    let apply = workdir.run(&["apply", "--auto-approve"], &env);
    assert_eq!(apply.code, 0, "{}", apply.all());
    let auditor = client_id(&account, &pool, "gateway-auditor-app-client").await;
    assert_eq!(
        api.audience().await.1,
        ["someone-elses-client".to_owned(), reader, auditor]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_route_is_refused_before_any_write() {
    let account = local_aws().account();
    let pool = account.new_pool("gateway-missing").await;
    let api = HttpApi::new(&account).await;
    let mut env = account.env();
    env.push(("COGWIRE_USER_POOL_ID".to_owned(), pool));
    let text = services(&api.api_id, &api.authorizer_id, "").replace(
        "/api/demo/protectedUpload\"\nscope",
        "/api/demo/upload\"\nscope",
    );
    let workdir = Workdir::new(&text);
    let apply = workdir.run(&["apply", "--auto-approve"], &env);
    assert_eq!(apply.code, 1, "{}", apply.all());
    assert!(
        apply
            .stderr
            .contains("has no route `POST /api/demo/upload`"),
        "{}",
        apply.stderr
    );
    assert!(
        apply.stderr.contains("cogwire does not create routes"),
        "{}",
        apply.stderr
    );
    let calls = account.calls().to_string();
    assert!(
        !calls.contains("UpdateRoute") && !calls.contains("CreateUserPoolClient"),
        "{calls}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_without_a_gateway_calls_no_api_gateway() {
    let account = local_aws().account();
    let pool = account.new_pool("gateway-none").await;
    let mut env = account.env();
    env.push(("COGWIRE_USER_POOL_ID".to_owned(), pool));
    let text = services("a1b2c3d4e5", "abc123", "").replace(
        "[services.gateway.api_gateway]\nhttp_api = \"a1b2c3d4e5\"\nauthorizer = \"abc123\"\n",
        "",
    );
    let plan = Workdir::new(&text).run(&["plan"], &env);
    assert_eq!(plan.code, 0, "{}", plan.all());
    let calls = account.calls().to_string();
    assert!(calls.contains("ListResourceServers"), "{calls}");
    assert!(
        !calls.contains("GetAuthorizer") && !calls.contains("GetRoutes"),
        "{calls}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn export_openapi_is_a_valid_openapi_document() {
    let account = local_aws().account();
    let pool = account.new_pool("gateway-export").await;
    let mut env = account.env();
    env.push(("COGWIRE_USER_POOL_ID".to_owned(), pool));
    let workdir = Workdir::new(&services("a1b2c3d4e5", "abc123", ""));
    let apply = workdir.run(&["apply", "--auto-approve"], &env);
    // The API does not exist here: the plan stops at the gateway, before any write.
    assert_eq!(apply.code, 1, "{}", apply.all());
    assert!(
        apply
            .stderr
            .contains("hint: check `[services.<name>.api_gateway]`"),
        "{}",
        apply.stderr
    );

    for args in [
        vec!["export", "openapi", "gateway"],
        vec!["export", "--format", "openapi", "gateway"],
    ] {
        let export = workdir.run(&args, &env);
        assert_eq!(export.code, 0, "{}", export.all());
        let document: serde_json::Value =
            serde_json::from_str(&export.stdout).expect("the export is JSON");
        assert_eq!(
            document["paths"]["/api/demo/protectedRole/{name}"]["get"]["security"],
            serde_json::json!([{ "cogwire": ["https://gateway.example.com/demo.read"] }])
        );
        let python = concat!(env!("CARGO_MANIFEST_DIR"), "/.venv-localaws/bin/python");
        let validated = std::process::Command::new(python)
            .args([
                "-c",
                "import json, sys\nfrom openapi_spec_validator import validate\nvalidate(json.load(sys.stdin))\nprint('valid')",
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write as _;
                child
                    .stdin
                    .take()
                    .expect("stdin")
                    .write_all(export.stdout.as_bytes())?;
                child.wait_with_output()
            })
            .expect("the validator runs");
        assert!(
            validated.status.success(),
            "{}",
            String::from_utf8_lossy(&validated.stderr)
        );
    }
}
