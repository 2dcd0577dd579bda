//! The gateway end of plan and apply, on the in-memory cloud: what is read, what changes, what is
//! left alone, and refusals before any write.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::*;
use crate::apply::Progress;
use crate::apply::run::{ExecuteOptions, PlanSource, RunError, lock};
use crate::cloud::gateway::AuthorizerState;
use crate::cloud::memory::{HttpApi as Api, MemoryCloud, MemoryHttpApis};
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

fn session(
    cloud: &MemoryCloud,
    apis: &MemoryHttpApis,
    text: &str,
) -> Session<crate::cloud::memory::MemoryAccount> {
    let model = load(text, None).expect("valid");
    let account = cloud
        .account(model.secrets.store)
        .with_gateway(apis.clone());
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
    let apis = MemoryHttpApis::default();
    apis.put_api("a1b2c3d4e5", api("JWT"));
    let session = session(&cloud, &apis, FILE);

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
    let apis = MemoryHttpApis::default();
    let text = FILE.replace(
        "[services.gateway.api_gateway]\nhttp_api = \"a1b2c3d4e5\"\nauthorizer = \"abc123\"\n",
        "",
    );
    let plan = plan_and_apply(&session(&cloud, &apis, &text))
        .await
        .expect("applied");
    assert!(plan.gateways.is_empty());
    assert!(apis.calls().is_empty(), "{:?}", apis.calls());
}

#[tokio::test]
async fn a_missing_route_or_a_lambda_authorizer_is_refused_before_any_write() {
    let cloud = MemoryCloud::new(POOL_ID);
    let apis = MemoryHttpApis::default();
    let mut without_route = api("JWT");
    without_route.routes.remove(0);
    apis.put_api("a1b2c3d4e5", without_route);
    let refused = plan_and_apply(&session(&cloud, &apis, FILE))
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
    let refused = plan_and_apply(&session(&cloud, &apis, FILE))
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
