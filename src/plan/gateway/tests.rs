//! The gateway end of plan and apply, on the in-memory cloud: what is read, what changes, what is
//! left alone, and refusals before any write.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::*;
use crate::apply::Progress;
use crate::apply::run::{ExecuteOptions, PlanSource, RunError, lock};
use crate::cloud::gateway::AuthorizerState;
use crate::cloud::memory::{HttpApi as Api, MemoryCloud};
use crate::cloud::pace::{PaceSettings, Pacer};
use crate::config::model::load;
use crate::session::Session;

const POOL_ID: &str = "us-east-1_Gateway";

const FILE: &str = r#"
[services.gateway]
identifier = "https://gw.example.com"
scopes = { "demo.read" = "Read", "demo.write" = "Write" }

[services.gateway.api_gateway]
http_api = "a1b2c3d4e5"
authorizer = "abc123"

[[services.gateway.routes]]
method = "GET"
path = "/api/demo/alice"
route = "/api/demo/{name}"
scope = "demo.read"

[[services.gateway.routes]]
method = "POST"
path = "/api/upload"
scope = "demo.write"

[services.reader]
consumes = ["gateway/demo.read"]

[services.other]
scopes = { "x" = "X" }
"#;

/// The pool's issuer, as cogwire derives it.
fn issuer() -> String {
    crate::tokens::token::issuer(POOL_ID, "us-east-1")
}

struct Quiet;

impl Progress for Quiet {
    fn start(&self, _total: usize) {}
    fn done(&self, _message: &str) {}
}

fn route(id: &str, key: &str, kind: &str, authorizer: Option<&str>, scopes: &[&str]) -> RouteState {
    RouteState {
        id: id.to_owned(),
        route_key: key.to_owned(),
        authorization_type: kind.to_owned(),
        authorizer_id: authorizer.map(str::to_owned),
        scopes: scopes.iter().map(|scope| (*scope).to_owned()).collect(),
    }
}

fn api(kind: &str) -> Api {
    Api {
        authorizers: BTreeMap::from([(
            "abc123".to_owned(),
            AuthorizerState {
                id: "abc123".to_owned(),
                name: "cognito".to_owned(),
                authorizer_type: kind.to_owned(),
                issuer: None,
                audience: vec!["someone-elses-client".to_owned()],
            },
        )]),
        routes: vec![
            route("r1", "GET /api/demo/{name}", "NONE", None, &[]),
            route(
                "r2",
                "POST /api/upload",
                "JWT",
                Some("abc123"),
                &["https://gw.example.com/old"],
            ),
            route("r3", "GET /health", "NONE", None, &[]),
        ],
    }
}

fn session(cloud: &MemoryCloud, text: &str) -> Session<crate::cloud::memory::MemoryAccount> {
    let model = load(text, None).expect("valid");
    let account = cloud.account(model.secrets.store);
    let pacer = Pacer::new(PaceSettings {
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(1),
        ..PaceSettings::default()
    });
    Session::new(
        model,
        POOL_ID.to_owned(),
        "us-east-1".to_owned(),
        account,
        pacer,
    )
}

async fn plan_and_apply(
    session: &Session<crate::cloud::memory::MemoryAccount>,
) -> Result<Plan, RunError> {
    let locked = lock(session, Duration::ZERO).await.expect("lock");
    let planned = locked.plan(PlanSource::Services(&[])).await;
    let result = match planned {
        Ok(planned) => {
            let plan = planned.plan.clone();
            locked
                .execute(planned, &ExecuteOptions::default(), &Quiet)
                .await
                .map(|_| plan)
        }
        Err(error) => Err(error),
    };
    locked.release().await.expect("release");
    result
}

#[tokio::test]
async fn apply_puts_new_callers_in_the_audience_and_scopes_on_declared_routes_only() {
    let cloud = MemoryCloud::new(POOL_ID);
    let apis = cloud.http_apis();
    apis.put_api("a1b2c3d4e5", api("JWT"));
    let session = session(&cloud, FILE);

    let plan = plan_and_apply(&session).await.expect("applied");
    let change = &plan.gateways[0];
    let authorizer = change.authorizer.as_ref().expect("the authorizer changes");
    assert_eq!(
        authorizer.add,
        [AudienceMember {
            service: "reader".to_owned(),
            client_id: None
        }]
    );
    assert_eq!(change.unmanaged_audience, ["someone-elses-client"]);
    assert_eq!(change.routes.len(), 2);

    let after = apis.api("a1b2c3d4e5").expect("api");
    let authorizer = &after.authorizers["abc123"];
    assert_eq!(authorizer.issuer.as_deref(), Some(issuer().as_str()));
    assert_eq!(authorizer.audience.len(), 2, "{:?}", authorizer.audience);
    assert_eq!(authorizer.audience[0], "someone-elses-client");
    let reader_id = cloud
        .snapshot()
        .clients
        .values()
        .find(|client| client.state.name == "reader-app-client")
        .map(|client| client.state.id.clone())
        .expect("reader's client");
    assert_eq!(authorizer.audience[1], reader_id);
    let by_key: BTreeMap<&str, &RouteState> = after
        .routes
        .iter()
        .map(|route| (route.route_key.as_str(), route))
        .collect();
    let get = by_key["GET /api/demo/{name}"];
    assert_eq!(get.authorization_type, "JWT");
    assert_eq!(get.authorizer_id.as_deref(), Some("abc123"));
    assert_eq!(
        get.scopes,
        BTreeSet::from(["https://gw.example.com/demo.read".to_owned()])
    );
    assert_eq!(
        by_key["POST /api/upload"].scopes,
        BTreeSet::from(["https://gw.example.com/demo.write".to_owned()])
    );
    // Not declared: untouched.
    assert_eq!(
        *by_key["GET /health"],
        route("r3", "GET /health", "NONE", None, &[])
    );

    // A second run changes nothing.
    let again = plan_and_apply(&session).await.expect("applied");
    assert!(
        again.gateways.iter().all(|gateway| gateway.count() == 0),
        "{:?}",
        again.gateways
    );
    assert!(!again.has_changes());
}

#[tokio::test]
async fn a_plan_without_a_gateway_makes_no_gateway_call() {
    let cloud = MemoryCloud::new(POOL_ID);
    let apis = cloud.http_apis();
    let text = FILE.replace(
        "[services.gateway.api_gateway]\nhttp_api = \"a1b2c3d4e5\"\nauthorizer = \"abc123\"\n",
        "",
    );
    let plan = plan_and_apply(&session(&cloud, &text))
        .await
        .expect("applied");
    assert!(plan.gateways.is_empty());
    assert!(apis.calls().is_empty(), "{:?}", apis.calls());
}

#[tokio::test]
async fn a_missing_route_or_a_lambda_authorizer_is_refused_before_any_write() {
    let cloud = MemoryCloud::new(POOL_ID);
    let apis = cloud.http_apis();
    let mut without_route = api("JWT");
    without_route.routes.remove(0);
    apis.put_api("a1b2c3d4e5", without_route);
    let refused = plan_and_apply(&session(&cloud, FILE))
        .await
        .expect_err("refused");
    assert!(
        refused
            .to_string()
            .contains("has no route `GET /api/demo/{name}`"),
        "{refused}"
    );
    assert!(
        refused
            .hint()
            .unwrap_or_default()
            .contains("cogwire does not create routes")
    );

    apis.put_api("a1b2c3d4e5", api("REQUEST"));
    let refused = plan_and_apply(&session(&cloud, FILE))
        .await
        .expect_err("refused");
    assert!(
        refused.to_string().contains("is a REQUEST authorizer"),
        "{refused}"
    );
    assert!(
        apis.calls().iter().all(|operation| !operation.writes()),
        "{:?}",
        apis.calls()
    );
    assert!(
        cloud.snapshot().clients.is_empty(),
        "the pool was not written either"
    );
}

#[test]
fn a_route_narrows_only_to_scopes_it_keeps() {
    let change = RouteChange {
        route_id: "r".to_owned(),
        route_key: "GET /x".to_owned(),
        authorization_type_before: "JWT".to_owned(),
        authorizer_before: Some("abc123".to_owned()),
        scopes_before: BTreeSet::from(["a".to_owned(), "b".to_owned()]),
        scopes_after: BTreeSet::from(["b".to_owned(), "c".to_owned()]),
    };
    assert_eq!(change.narrowed(), Some(BTreeSet::from(["b".to_owned()])));
    let replaced = RouteChange {
        scopes_before: BTreeSet::from(["a".to_owned()]),
        ..change.clone()
    };
    assert_eq!(replaced.narrowed(), None, "never a route without scopes");
    let gaining = RouteChange {
        scopes_before: BTreeSet::from(["b".to_owned()]),
        ..change
    };
    assert_eq!(gaining.narrowed(), None);
}

#[test]
fn removed_callers_leave_the_audience_and_unmanaged_ones_stay() {
    let change = AuthorizerChange {
        issuer_before: Some(issuer()),
        issuer_after: issuer(),
        audience_before: vec!["theirs".to_owned(), "old".to_owned(), "kept".to_owned()],
        add: vec![AudienceMember {
            service: "new".to_owned(),
            client_id: None,
        }],
        remove: vec![AudienceMember {
            service: "gone".to_owned(),
            client_id: Some("old".to_owned()),
        }],
    };
    assert_eq!(
        change.audience_narrowed(),
        Some(vec!["theirs".to_owned(), "kept".to_owned()])
    );
    let created = BTreeMap::from([("new".to_owned(), "fresh".to_owned())]);
    assert_eq!(change.audience_after(&created), ["theirs", "kept", "fresh"]);
}

mod rest_api {
    use super::*;
    use crate::cloud::gateway_rest::{MethodState, ResourceState, RestAuthorizerState};
    use crate::cloud::memory::RestApi;
    use crate::cloud::operation::Operation;
    use crate::plan::gateway::rest::MethodChange;

    const OTHER_POOL: &str = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_Other";

    fn pool_arn() -> String {
        format!("arn:aws:cognito-idp:us-east-1:123456789012:userpool/{POOL_ID}")
    }

    fn file(stage: Option<&str>) -> String {
        let table = match stage {
            Some(stage) => {
                format!("rest_api = \"x9y8z7w6v5\"\nauthorizer = \"cog123\"\nstage = \"{stage}\"\n")
            }
            None => "rest_api = \"x9y8z7w6v5\"\nauthorizer = \"cog123\"\n".to_owned(),
        };
        FILE.replace(
            "http_api = \"a1b2c3d4e5\"\nauthorizer = \"abc123\"\n",
            &table,
        )
    }

    fn method(
        http_method: &str,
        kind: &str,
        authorizer: Option<&str>,
        scopes: &[&str],
    ) -> MethodState {
        MethodState {
            http_method: http_method.to_owned(),
            authorization_type: kind.to_owned(),
            authorizer_id: authorizer.map(str::to_owned),
            scopes: scopes.iter().map(|scope| (*scope).to_owned()).collect(),
        }
    }

    fn resource(id: &str, path: &str, methods: Vec<MethodState>) -> ResourceState {
        ResourceState {
            id: id.to_owned(),
            path: path.to_owned(),
            methods,
        }
    }

    fn rest_api(kind: &str) -> RestApi {
        RestApi {
            authorizers: BTreeMap::from([(
                "cog123".to_owned(),
                RestAuthorizerState {
                    id: "cog123".to_owned(),
                    name: "cognito".to_owned(),
                    authorizer_type: kind.to_owned(),
                    provider_arns: vec![OTHER_POOL.to_owned()],
                },
            )]),
            resources: vec![
                resource("root01", "/", vec![]),
                resource(
                    "res001",
                    "/api/demo/{name}",
                    vec![method("GET", "NONE", None, &[])],
                ),
                resource(
                    "res002",
                    "/api/upload",
                    vec![
                        method(
                            "POST",
                            "COGNITO_USER_POOLS",
                            Some("cog123"),
                            &["https://gw.example.com/old"],
                        ),
                        method("OPTIONS", "NONE", None, &[]),
                    ],
                ),
                resource("res003", "/health", vec![method("GET", "NONE", None, &[])]),
            ],
            stages: BTreeMap::from([("prod".to_owned(), None)]),
            deployments: Vec::new(),
            deployed: BTreeMap::new(),
        }
    }

    fn calls_since(cloud: &MemoryCloud, from: usize) -> Vec<Operation> {
        cloud.call_log()[from..]
            .iter()
            .copied()
            .filter(|operation| {
                operation.service() == crate::cloud::operation::Service::ApiGateway
                    || *operation == Operation::DescribeUserPool
            })
            .collect()
    }

    #[tokio::test(start_paused = true)]
    async fn apply_adds_the_pool_scopes_declared_methods_and_deploys_once() {
        let cloud = MemoryCloud::new(POOL_ID);
        let apis = cloud.rest_apis();
        apis.put_api("x9y8z7w6v5", rest_api("COGNITO_USER_POOLS"));
        let session = session(&cloud, &file(Some("prod")));

        let plan = plan_and_apply(&session).await.expect("applied");
        let change = plan.gateways[0].rest.as_ref().expect("a REST change");
        assert!(change.add_provider);
        assert_eq!(change.pool_arn, pool_arn());
        assert_eq!(change.unmanaged_providers, [OTHER_POOL]);
        assert_eq!(change.methods.len(), 2);
        assert!(change.deploys());
        let human =
            crate::plan::gateway::human_lines(&plan.gateways[0], crate::style::Style::plain());
        assert!(
            human.contains(&format!("+ provider {}", pool_arn())),
            "{human}"
        );
        assert!(human.contains("provider arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_Other (not this pool: kept)"), "{human}");
        assert!(
            human.contains(
                "~ api_gateway method GET /api/demo/{name} (res001) of REST API x9y8z7w6v5"
            ),
            "{human}"
        );
        assert!(
            human.contains("~ authorization: NONE -> COGNITO_USER_POOLS"),
            "{human}"
        );
        assert!(
            human.contains("- scope https://gw.example.com/old"),
            "{human}"
        );
        assert!(
            human.contains("~ api_gateway stage prod of REST API x9y8z7w6v5: deploy"),
            "{human}"
        );

        let after = apis.api("x9y8z7w6v5").expect("api");
        assert_eq!(
            after.authorizers["cog123"].provider_arns,
            [OTHER_POOL.to_owned(), pool_arn()],
            "the other pool is kept, this one added"
        );
        let get = &after.resources[1].methods[0];
        assert_eq!(get.authorization_type, "COGNITO_USER_POOLS");
        assert_eq!(get.authorizer_id.as_deref(), Some("cog123"));
        assert_eq!(
            get.scopes,
            BTreeSet::from(["https://gw.example.com/demo.read".to_owned()])
        );
        assert_eq!(
            after.resources[2].methods[0].scopes,
            BTreeSet::from(["https://gw.example.com/demo.write".to_owned()])
        );
        assert_eq!(
            after.resources[2].methods[1],
            method("OPTIONS", "NONE", None, &[])
        );
        assert_eq!(
            after.resources[3],
            rest_api("COGNITO_USER_POOLS").resources[3]
        );
        assert_eq!(after.deployments.len(), 1, "{:?}", after.deployments);
        assert_eq!(after.deployments[0].1, "prod");
        let marker = crate::config::namespace::deployment_name(POOL_ID, "x9y8z7w6v5");
        assert!(
            !cloud.snapshot().parameters.contains_key(&marker),
            "the marker is cleared"
        );

        // A second run: nothing to change, no deployment, three reads (two resource pages).
        let from = cloud.call_log().len();
        let again = plan_and_apply(&session).await.expect("applied");
        assert!(
            again.gateways.iter().all(|gateway| gateway.count() == 0),
            "{:?}",
            again.gateways
        );
        assert!(!again.has_changes());
        assert_eq!(apis.api("x9y8z7w6v5").expect("api").deployments.len(), 1);
        assert_eq!(
            calls_since(&cloud, from),
            [
                Operation::GetRestAuthorizer,
                Operation::GetResources,
                Operation::GetResources,
            ],
            "two pages of resources; no DescribeUserPool once a provider names the pool, no GetStage without a change"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_stage_nothing_is_deployed() {
        let cloud = MemoryCloud::new(POOL_ID);
        let apis = cloud.rest_apis();
        apis.put_api("x9y8z7w6v5", rest_api("COGNITO_USER_POOLS"));
        let plan = plan_and_apply(&session(&cloud, &file(None)))
            .await
            .expect("applied");
        let change = plan.gateways[0].rest.as_ref().expect("a REST change");
        assert!(!change.deploys());
        assert_eq!(
            plan.gateways[0].count(),
            3,
            "the authorizer and two methods"
        );
        let after = apis.api("x9y8z7w6v5").expect("api");
        assert!(after.deployments.is_empty());
        assert_eq!(
            after.resources[1].methods[0].authorization_type,
            "COGNITO_USER_POOLS"
        );
        let log = cloud.call_log();
        assert!(!log.contains(&Operation::GetStage) && !log.contains(&Operation::CreateDeployment));
    }

    #[tokio::test(start_paused = true)]
    async fn a_missing_method_stage_or_a_lambda_authorizer_is_refused_before_any_write() {
        let cloud = MemoryCloud::new(POOL_ID);
        let apis = cloud.rest_apis();
        let mut without = rest_api("COGNITO_USER_POOLS");
        without.resources[1].methods.clear();
        apis.put_api("x9y8z7w6v5", without);
        let refused = plan_and_apply(&session(&cloud, &file(Some("prod"))))
            .await
            .expect_err("refused");
        assert!(
            refused
                .to_string()
                .contains("REST API x9y8z7w6v5 has no method `GET /api/demo/{name}`"),
            "{refused}"
        );
        assert!(
            refused
                .hint()
                .unwrap_or_default()
                .contains("cogwire does not create methods")
        );

        apis.put_api("x9y8z7w6v5", rest_api("TOKEN"));
        let refused = plan_and_apply(&session(&cloud, &file(Some("prod"))))
            .await
            .expect_err("refused");
        assert!(
            refused.to_string().contains("is a TOKEN authorizer"),
            "{refused}"
        );

        apis.put_api("x9y8z7w6v5", rest_api("COGNITO_USER_POOLS"));
        let refused = plan_and_apply(&session(&cloud, &file(Some("staging"))))
            .await
            .expect_err("refused");
        assert!(
            refused
                .to_string()
                .contains("REST API x9y8z7w6v5 has no stage `staging`"),
            "{refused}"
        );
        assert!(
            cloud.call_log().iter().all(|operation| operation.service()
                != crate::cloud::operation::Service::ApiGateway
                || !operation.writes()),
            "{:?}",
            cloud.call_log()
        );
        assert_eq!(apis.api("x9y8z7w6v5"), Some(rest_api("COGNITO_USER_POOLS")));
        assert!(
            cloud.snapshot().clients.is_empty(),
            "the pool was not written either"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_deployment_an_earlier_run_left_is_made_by_the_next() {
        let cloud = MemoryCloud::new(POOL_ID);
        let apis = cloud.rest_apis();
        apis.put_api("x9y8z7w6v5", rest_api("COGNITO_USER_POOLS"));
        let session = session(&cloud, &file(Some("prod")));
        plan_and_apply(&session).await.expect("applied");
        let marker = crate::config::namespace::deployment_name(POOL_ID, "x9y8z7w6v5");
        cloud.seed_parameter(
            &marker,
            "gateway",
            crate::cloud::stores::EntryKind::Plain,
            &[],
        );

        let plan = plan_and_apply(&session).await.expect("applied");
        let change = plan.gateways[0].rest.as_ref().expect("a REST change");
        assert!(change.deployment_pending && change.methods.is_empty());
        assert_eq!(plan.gateways[0].count(), 1);
        assert!(
            crate::plan::gateway::human_lines(&plan.gateways[0], crate::style::Style::plain())
                .contains("deploy (an earlier apply stopped before deploying)")
        );
        assert_eq!(apis.api("x9y8z7w6v5").expect("api").deployments.len(), 2);
        assert!(!cloud.snapshot().parameters.contains_key(&marker));
        let again = plan_and_apply(&session).await.expect("applied");
        assert!(!again.has_changes());
    }

    /// A method gains a scope after its resource server has it, and loses one (deployed) before
    /// the resource server drops it.
    #[tokio::test(start_paused = true)]
    async fn a_method_gains_a_scope_after_it_exists_and_loses_it_before_it_goes() {
        let cloud = MemoryCloud::new(POOL_ID);
        let apis = cloud.rest_apis();
        apis.put_api("x9y8z7w6v5", rest_api("COGNITO_USER_POOLS"));
        plan_and_apply(&session(&cloud, &file(Some("prod"))))
            .await
            .expect("applied");
        let with_admin = file(Some("prod"))
            .replace(
                "\"demo.write\" = \"Write\" }",
                "\"demo.write\" = \"Write\", \"demo.admin\" = \"Admin\" }",
            )
            .replace(
                "[services.reader]",
                "[[services.gateway.routes]]\nmethod = \"GET\"\npath = \"/api/demo/bob\"\nroute = \"/api/demo/{name}\"\nscope = \"demo.admin\"\n\n[services.reader]",
            );
        let position = |log: &[Operation], from: usize, wanted: Operation| {
            log.iter()
                .skip(from)
                .position(|operation| *operation == wanted)
                .map(|index| index + from)
                .unwrap_or_else(|| panic!("no {wanted} in {log:?}"))
        };

        let from = cloud.call_log().len();
        plan_and_apply(&session(&cloud, &with_admin))
            .await
            .expect("applied");
        let log = cloud.call_log();
        assert!(
            position(&log, from, Operation::UpdateResourceServer)
                < position(&log, from, Operation::UpdateMethod),
            "{:?}",
            &log[from..]
        );
        let get = |apis: &crate::cloud::memory::MemoryRestApis| {
            apis.api("x9y8z7w6v5").expect("api").resources[1].methods[0]
                .scopes
                .clone()
        };
        assert_eq!(
            get(&apis),
            set(&[
                "https://gw.example.com/demo.admin",
                "https://gw.example.com/demo.read"
            ])
        );

        let from = cloud.call_log().len();
        plan_and_apply(&session(&cloud, &file(Some("prod"))))
            .await
            .expect("applied");
        let log = cloud.call_log();
        let method = position(&log, from, Operation::UpdateMethod);
        let deployed = position(&log, from, Operation::CreateDeployment);
        let server = position(&log, from, Operation::UpdateResourceServer);
        assert!(method < deployed && deployed < server, "{:?}", &log[from..]);
        assert_eq!(get(&apis), set(&["https://gw.example.com/demo.read"]));
        assert_eq!(
            log[from..]
                .iter()
                .filter(|operation| **operation == Operation::CreateDeployment)
                .count(),
            1,
            "narrowing finished the change: nothing left to deploy after the pool"
        );
    }

    fn change(before: &[&str], after: &[&str]) -> MethodChange {
        MethodChange {
            resource_id: "r".to_owned(),
            method_key: "GET /x".to_owned(),
            http_method: "GET".to_owned(),
            authorization_type_before: "COGNITO_USER_POOLS".to_owned(),
            authorizer_before: Some("cog123".to_owned()),
            scopes_before: before.iter().map(|scope| (*scope).to_owned()).collect(),
            scopes_after: after.iter().map(|scope| (*scope).to_owned()).collect(),
        }
    }

    fn set(scopes: &[&str]) -> BTreeSet<String> {
        scopes.iter().map(|scope| (*scope).to_owned()).collect()
    }

    #[test]
    fn a_method_loses_scopes_before_the_pool_and_gains_them_after() {
        let swap = change(&["a", "b"], &["b", "c"]);
        let narrowing = swap.narrowing("cog123").expect("narrows");
        assert_eq!((narrowing.add, narrowing.remove), (set(&[]), set(&["a"])));
        let completion = swap.completion("cog123").expect("completes");
        assert_eq!((completion.add, completion.remove), (set(&["c"]), set(&[])));

        // Never a method without scopes: a whole swap waits for the pool.
        let replaced = change(&["a"], &["c"]);
        assert_eq!(replaced.narrowing("cog123"), None);
        let completion = replaced.completion("cog123").expect("completes");
        assert_eq!(
            (completion.add, completion.remove),
            (set(&["c"]), set(&["a"]))
        );

        // Narrowing alone finishes it.
        let shrinking = change(&["a", "b"], &["b"]);
        assert!(shrinking.narrowing("cog123").is_some());
        assert_eq!(shrinking.completion("cog123"), None);

        // Another authorizer: nothing before, everything after.
        let moved = MethodChange {
            authorizer_before: Some("other1".to_owned()),
            ..change(&["a", "b"], &["b"])
        };
        assert_eq!(moved.narrowing("cog123"), None);
        assert!(moved.completion("cog123").is_some());
    }

    #[test]
    fn only_an_arn_of_the_pool_names_it() {
        use crate::plan::gateway::rest::names_pool;
        assert!(names_pool(&pool_arn(), POOL_ID));
        assert!(!names_pool(OTHER_POOL, POOL_ID));
        assert!(!names_pool(&format!("{}x", pool_arn()), POOL_ID));
        assert!(!names_pool(
            &format!("arn:aws:iam::1:role/userpool/{POOL_ID}"),
            POOL_ID
        ));
    }
}
