//! The REST API end against the local AWS: a REST API made with the SDK (a Cognito user pool
//! authorizer naming another pool, methods without authorization, a stage), kept in line by `plan`
//! and `apply` through the binary, and checked through the SDK.

use std::collections::BTreeSet;

use apigateway::types::{AuthorizerType, IntegrationType};
use aws_sdk_apigateway as apigateway;

use crate::support::{TestAccount, Workdir, local_aws};

const OTHER_POOL: &str = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_Other";

fn services(api_id: &str, authorizer_id: &str, stage: Option<&str>) -> String {
    let stage = stage
        .map(|stage| format!("stage = \"{stage}\"\n"))
        .unwrap_or_default();
    format!(
        r#"
[services.gateway]
identifier = "https://gateway.example.com"
scopes = {{ "demo.read" = "Read demo resources", "demo.write" = "Write demo resources" }}

[services.gateway.api_gateway]
rest_api = "{api_id}"
authorizer = "{authorizer_id}"
{stage}
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
"#
    )
}

struct RestApi {
    client: apigateway::Client,
    api_id: String,
    authorizer_id: String,
}

/// A method as the SDK reads it: (authorization type, authorizer, scopes).
type MethodView = (String, Option<String>, BTreeSet<String>);

impl RestApi {
    /// A REST API with a user pool authorizer of another pool, three methods without
    /// authorization (each with a mock integration, so the API deploys) and a stage `prod`.
    async fn new(account: &TestAccount) -> Self {
        let client = apigateway::Client::new(&account.sdk_config().await);
        let api_id = client
            .create_rest_api()
            .name("demo")
            .send()
            .await
            .expect("CreateRestApi")
            .id()
            .expect("api id")
            .to_owned();
        let root = client
            .get_resources()
            .rest_api_id(&api_id)
            .send()
            .await
            .expect("GetResources")
            .items()
            .iter()
            .find(|resource| resource.path() == Some("/"))
            .and_then(|resource| resource.id())
            .expect("root")
            .to_owned();
        let authorizer_id = client
            .create_authorizer()
            .rest_api_id(&api_id)
            .name("cognito")
            .r#type(AuthorizerType::CognitoUserPools)
            .provider_arns(OTHER_POOL)
            .identity_source("method.request.header.Authorization")
            .send()
            .await
            .expect("CreateAuthorizer")
            .id()
            .expect("authorizer id")
            .to_owned();
        let api = Self {
            client,
            api_id,
            authorizer_id,
        };
        let demo = api.resource(&root, "api").await;
        let demo = api.resource(&demo, "demo").await;
        let role = api.resource(&demo, "protectedRole").await;
        let name = api.resource(&role, "{name}").await;
        let upload = api.resource(&demo, "protectedUpload").await;
        let health = api.resource(&root, "health").await;
        for (resource, method) in [(&name, "GET"), (&upload, "POST"), (&health, "GET")] {
            api.client
                .put_method()
                .rest_api_id(&api.api_id)
                .resource_id(resource)
                .http_method(method)
                .authorization_type("NONE")
                .send()
                .await
                .expect("PutMethod");
            api.client
                .put_integration()
                .rest_api_id(&api.api_id)
                .resource_id(resource)
                .http_method(method)
                .r#type(IntegrationType::Mock)
                .send()
                .await
                .expect("PutIntegration");
        }
        api.client
            .create_deployment()
            .rest_api_id(&api.api_id)
            .stage_name("prod")
            .send()
            .await
            .expect("CreateDeployment");
        api
    }

    async fn resource(&self, parent: &str, part: &str) -> String {
        self.client
            .create_resource()
            .rest_api_id(&self.api_id)
            .parent_id(parent)
            .path_part(part)
            .send()
            .await
            .expect("CreateResource")
            .id()
            .expect("resource id")
            .to_owned()
    }

    /// `METHOD path` -> how it is authorized, for every method of the API.
    async fn methods(&self) -> Vec<(String, MethodView)> {
        let resources = self
            .client
            .get_resources()
            .rest_api_id(&self.api_id)
            .embed("methods")
            .send()
            .await
            .expect("GetResources");
        let mut methods = Vec::new();
        for resource in resources.items() {
            for (name, method) in resource.resource_methods().into_iter().flatten() {
                methods.push((
                    format!("{name} {}", resource.path().unwrap_or_default()),
                    (
                        method.authorization_type().unwrap_or("NONE").to_owned(),
                        method.authorizer_id().map(str::to_owned),
                        method.authorization_scopes().iter().cloned().collect(),
                    ),
                ));
            }
        }
        methods.sort();
        methods
    }

    async fn providers(&self) -> Vec<String> {
        self.client
            .get_authorizer()
            .rest_api_id(&self.api_id)
            .authorizer_id(&self.authorizer_id)
            .send()
            .await
            .expect("GetAuthorizer")
            .provider_arns()
            .to_vec()
    }

    async fn deployments(&self) -> usize {
        self.client
            .get_deployments()
            .rest_api_id(&self.api_id)
            .send()
            .await
            .expect("GetDeployments")
            .items()
            .len()
    }
}

fn pool_arn(account: &TestAccount, pool: &str) -> String {
    format!(
        "arn:aws:cognito-idp:us-east-1:{}:userpool/{pool}",
        account.id()
    )
}

fn count(calls: &serde_json::Value, operation: &str) -> u64 {
    calls["operations"][operation]["calls"]
        .as_u64()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_and_apply_keep_the_authorizer_and_declared_methods_in_line_and_deploy() {
    let account = local_aws().account();
    let pool = account.new_pool("rest-gateway").await;
    let api = RestApi::new(&account).await;
    let mut env = account.env();
    env.push(("COGWIRE_USER_POOL_ID".to_owned(), pool.clone()));
    let workdir = Workdir::new(&services(&api.api_id, &api.authorizer_id, Some("prod")));
    let untouched = api
        .methods()
        .await
        .into_iter()
        .find(|(key, _)| key == "GET /health")
        .expect("GET /health");

    let plan = workdir.run(&["plan"], &env);
    assert_eq!(plan.code, 0, "{}", plan.all());
    for expected in [
        format!(
            "~ api_gateway authorizer {} of REST API {}",
            api.authorizer_id, api.api_id
        ),
        format!("+ provider {}", pool_arn(&account, &pool)),
        format!("provider {OTHER_POOL} (not this pool: kept)"),
        "~ api_gateway method GET /api/demo/protectedRole/{name}".to_owned(),
        "~ authorization: NONE -> COGNITO_USER_POOLS".to_owned(),
        format!("~ authorizer: (none) -> {}", api.authorizer_id),
        "+ scope https://gateway.example.com/demo.read".to_owned(),
        format!(
            "~ api_gateway stage prod of REST API {}: deploy",
            api.api_id
        ),
    ] {
        assert!(
            plan.stdout.contains(&expected),
            "{expected}\n{}",
            plan.stdout
        );
    }
    assert!(!plan.stdout.contains("/health"), "{}", plan.stdout);
    let deployments = api.deployments().await;

    let apply = workdir.run(&["apply", "--auto-approve"], &env);
    assert_eq!(apply.code, 0, "{}", apply.all());
    assert_eq!(
        api.providers().await,
        [OTHER_POOL.to_owned(), pool_arn(&account, &pool)]
    );
    let guarded = |scope: &str| {
        (
            "COGNITO_USER_POOLS".to_owned(),
            Some(api.authorizer_id.clone()),
            BTreeSet::from([format!("https://gateway.example.com/{scope}")]),
        )
    };
    assert_eq!(
        api.methods().await,
        [
            (
                "GET /api/demo/protectedRole/{name}".to_owned(),
                guarded("demo.read")
            ),
            untouched,
            (
                "POST /api/demo/protectedUpload".to_owned(),
                guarded("demo.write")
            ),
        ]
    );
    assert_eq!(api.deployments().await, deployments + 1, "one deployment");

    // Nothing left: the next plan is empty and makes three API Gateway reads (the pool is now a
    // provider, so no DescribeUserPool; nothing to deploy, so no GetStage).
    account.reset_calls();
    let again = workdir.run(&["plan", "--detailed-exitcode"], &env);
    assert_eq!(again.code, 0, "{}", again.all());
    assert!(again.stdout.contains("No changes."), "{}", again.stdout);
    let calls = account.calls();
    assert_eq!(count(&calls, "GetAuthorizer"), 1, "{calls}");
    assert_eq!(count(&calls, "GetResources"), 1, "{calls}");
    for absent in [
        "DescribeUserPool",
        "GetStage",
        "UpdateMethod",
        "CreateDeployment",
    ] {
        assert_eq!(count(&calls, absent), 0, "{absent}: {calls}");
    }
    let apply = workdir.run(&["apply", "--auto-approve"], &env);
    assert_eq!(apply.code, 0, "{}", apply.all());
    assert_eq!(
        api.deployments().await,
        deployments + 1,
        "no change, no deployment"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_stage_the_methods_change_and_nothing_is_deployed() {
    let account = local_aws().account();
    let pool = account.new_pool("rest-gateway-no-stage").await;
    let api = RestApi::new(&account).await;
    let mut env = account.env();
    env.push(("COGWIRE_USER_POOL_ID".to_owned(), pool));
    let workdir = Workdir::new(&services(&api.api_id, &api.authorizer_id, None));
    let deployments = api.deployments().await;
    let plan = workdir.run(&["plan"], &env);
    assert!(
        plan.stdout
            .contains("(no `stage`: the changes take effect at the API's next deployment)"),
        "{}",
        plan.stdout
    );
    let apply = workdir.run(&["apply", "--auto-approve"], &env);
    assert_eq!(apply.code, 0, "{}", apply.all());
    assert_eq!(api.deployments().await, deployments);
    let calls = account.calls();
    assert_eq!(
        count(&calls, "CreateDeployment"),
        1,
        "only the setup's: {calls}"
    );
    assert_eq!(count(&calls, "GetStage"), 0, "{calls}");
    assert!(count(&calls, "UpdateMethod") >= 2, "{calls}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_method_or_stage_is_refused_before_any_write() {
    let account = local_aws().account();
    let pool = account.new_pool("rest-gateway-missing").await;
    let api = RestApi::new(&account).await;
    let mut env = account.env();
    env.push(("COGWIRE_USER_POOL_ID".to_owned(), pool));
    let before = api.methods().await;
    let text = services(&api.api_id, &api.authorizer_id, Some("prod")).replace(
        "method = \"POST\"\npath = \"/api/demo/protectedUpload\"",
        "method = \"PUT\"\npath = \"/api/demo/protectedUpload\"",
    );
    let apply = Workdir::new(&text).run(&["apply", "--auto-approve"], &env);
    assert_eq!(apply.code, 1, "{}", apply.all());
    assert!(
        apply
            .stderr
            .contains("has no method `PUT /api/demo/protectedUpload`"),
        "{}",
        apply.stderr
    );
    assert!(
        apply
            .stderr
            .contains("did you mean `POST /api/demo/protectedUpload`?"),
        "{}",
        apply.stderr
    );

    let text = services(&api.api_id, &api.authorizer_id, Some("production"));
    let apply = Workdir::new(&text).run(&["apply", "--auto-approve"], &env);
    assert_eq!(apply.code, 1, "{}", apply.all());
    assert!(
        apply.stderr.contains("has no stage `production`"),
        "{}",
        apply.stderr
    );

    // An id that is no REST API here (an HTTP API's, say): the hint says where each kind goes.
    let text = services("a1b2c3d4e5", &api.authorizer_id, Some("prod"));
    let apply = Workdir::new(&text).run(&["apply", "--auto-approve"], &env);
    assert_eq!(apply.code, 1, "{}", apply.all());
    assert!(
        apply
            .stderr
            .contains("`rest_api` takes a REST API's id and `authorizer` its Cognito user pool authorizer's id (an HTTP API's id belongs in `http_api`)"),
        "{}",
        apply.stderr
    );

    let calls = account.calls().to_string();
    for write in ["UpdateMethod", "UpdateAuthorizer", "CreateUserPoolClient"] {
        assert!(!calls.contains(write), "{write}: {calls}");
    }
    assert_eq!(api.methods().await, before);
    assert_eq!(api.providers().await, [OTHER_POOL]);
}
