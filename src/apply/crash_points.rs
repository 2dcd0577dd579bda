//! Every crash point of an apply, enumerated against the in-memory cloud: for each call k of a
//! clean run, the run dies after call k (or call k's reply is lost after it took effect), then
//! runs again without faults until nothing is left to do, and the account is checked: no
//! duplicate client, nothing unmanaged touched, the pool as declared, every managed resource in
//! the record, no fingerprints left of a destroyed client, and every managed client's stored
//! credentials a live secret of that client.
//!
//! It lives beside the saga it tests, as a unit test, and drives it as the binary does: a session
//! on the account, the lock (a dead run's is force-unlocked by its id first), the plan under it,
//! then `Locked::execute`, which stores the credentials and saves the record. The harness
//! (`Scenario`, `Command`, `run_until_converged`, the checks) knows nothing of apply beyond the
//! `Apply` command, so other commands are another `Command` and more checks.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use crate::apply::Progress;
use crate::apply::lock::{Lock, force_unlock};
use crate::apply::record::{Record, RecordStore, RecordedClient, applied_digest};
use crate::apply::run::{self, ExecuteOptions, Locked, PlanSource};
use crate::cloud::memory::{
    Fault, FaultPlan, MemoryAccount, MemoryCloud, Snapshot, StoredClient, StoredEntry,
};
use crate::cloud::pace::{PaceSettings, Pacer};
use crate::cloud::stores::{EntryKind, SecretStore as _};
use crate::cloud::{ClientExtras, ClientState, ResourceServerState, UserPool};
use crate::config::duration::Seconds;
use crate::config::model::{Model, load};
use crate::credentials::rotate::{self, Rotated};
use crate::credentials::sync::{SyncRequest, declared_services, sync};
use crate::plan::diff::{CLIENT_CREDENTIALS, wanted_client_names};
use crate::sensitive::Secret;
use crate::session::Session;

const POOL_ID: &str = "us-east-1_CrashPoints";
/// Reruns without faults that may still change something after a faulted run; the one after
/// them must find nothing to do.
const MAX_RERUNS: usize = 3;

/// A fresh process's pacer: the same limits, back-off of a millisecond (the clock is paused, so
/// pacing costs no wall time either).
fn caller() -> Pacer {
    Pacer::new(PaceSettings {
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(1),
        ..PaceSettings::default()
    })
}

struct Quiet;

impl Progress for Quiet {
    fn start(&self, _total: usize) {}
    fn done(&self, _message: &str) {}
}

/// What one run of a command did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ran {
    NothingToDo,
    Changed,
}

/// One run of a cogwire command as a new process makes it: its own `Pacer`, the account as the
/// last run left it.
trait Command {
    async fn run(&self, cloud: &MemoryCloud, model: &Model) -> Result<Ran, String>;

    /// What the account needs, after the scenario's `before` was applied, for this command to
    /// have work to do.
    async fn prepare(&self, cloud: &MemoryCloud, model: &Model) {
        let _ = (cloud, model);
    }
}

/// A session on the account, as a new process of the binary builds it.
fn session(cloud: &MemoryCloud, model: &Model) -> Session<MemoryAccount> {
    Session::new(
        model.clone(),
        POOL_ID.to_owned(),
        "us-east-1".to_owned(),
        cloud.account(model.secrets.store),
        caller(),
    )
}

/// `cogwire sync-secrets`, after every stored credential was deleted (so it has work to do).
struct SyncSecrets;

impl Command for SyncSecrets {
    async fn run(&self, cloud: &MemoryCloud, model: &Model) -> Result<Ran, String> {
        let report = sync(&session(cloud, model), &SyncRequest::default())
            .await
            .map_err(|error| format!("sync-secrets: {error}"))?;
        Ok(
            if report.plan.writes.is_empty() && report.plan.deletes.is_empty() {
                Ran::NothingToDo
            } else {
                Ran::Changed
            },
        )
    }

    async fn prepare(&self, cloud: &MemoryCloud, model: &Model) {
        let store = cloud.store(model.secrets.store);
        for service in model.services.keys() {
            for (name, _) in model.secrets.entry_names(POOL_ID, service) {
                store.delete(&name).await.expect("deleting a stored entry");
            }
        }
    }
}

/// `cogwire rotate-secret` of every managed service: phase one.
struct RotateStart;

impl Command for RotateStart {
    async fn run(&self, cloud: &MemoryCloud, model: &Model) -> Result<Ran, String> {
        let session = session(cloud, model);
        let mut ran = Ran::NothingToDo;
        for service in declared_services(&session) {
            match rotate::start(&session, &service).await {
                Ok(Rotated::AlreadyStarted) => {}
                Ok(_) => ran = Ran::Changed,
                Err(error) => return Err(format!("rotate-secret {service}: {error}")),
            }
        }
        Ok(ran)
    }
}

/// `cogwire rotate-secret --finish` of every managed service, once phase one is done.
struct RotateFinish;

impl Command for RotateFinish {
    async fn run(&self, cloud: &MemoryCloud, model: &Model) -> Result<Ran, String> {
        let session = session(cloud, model);
        let mut ran = Ran::NothingToDo;
        for service in declared_services(&session) {
            match rotate::finish(&session, &service).await {
                Ok(Rotated::NothingToRetire) => {}
                Ok(_) => ran = Ran::Changed,
                Err(error) => return Err(format!("rotate-secret --finish {service}: {error}")),
            }
        }
        Ok(ran)
    }

    async fn prepare(&self, cloud: &MemoryCloud, model: &Model) {
        run_until_converged(cloud, model, &RotateStart)
            .await
            .expect("phase one converges");
    }
}

/// `cogwire apply --auto-approve`, as the binary runs it: a session on the account, the pool's
/// lock (one a dead run left behind is removed first, by its id, as an operator would with
/// `force-unlock`), the plan under the lock, then the saga: the engine, the credentials stored as
/// clients are created and after, the record saved.
struct Apply;

impl Command for Apply {
    async fn run(&self, cloud: &MemoryCloud, model: &Model) -> Result<Ran, String> {
        let session = session(cloud, model);
        let left = Lock::read(session.parameters(), &session.pacer, POOL_ID)
            .await
            .map_err(|error| format!("reading the lock: {error}"))?;
        if let Some(left) = left {
            force_unlock(
                session.parameters(),
                &session.pacer,
                POOL_ID,
                left.id(),
                true,
            )
            .await
            .map_err(|error| format!("force-unlock: {error}"))?;
        }
        let locked = run::lock(&session, Duration::ZERO)
            .await
            .map_err(|error| format!("lock: {error}"))?;
        let result = plan_and_execute(&locked).await;
        let released = locked.release().await;
        let ran = result?;
        released.map_err(|error| format!("release: {error}"))?;
        Ok(ran)
    }
}

async fn plan_and_execute(locked: &Locked<'_, MemoryAccount>) -> Result<Ran, String> {
    let planned = locked
        .plan(PlanSource::Services(&[]))
        .await
        .map_err(|error| format!("plan: {error}"))?;
    let report = locked
        .execute(planned, &ExecuteOptions::default(), &Quiet)
        .await
        .map_err(|error| format!("apply: {error}"))?;
    let stored = report
        .credentials
        .as_ref()
        .is_some_and(|credentials| !credentials.plan.writes.is_empty());
    Ok(if report.applied || stored {
        Ran::Changed
    } else {
        Ran::NothingToDo
    })
}

/// Runs `command` without faults until a run finds nothing to do; returns how many runs changed
/// something first.
async fn run_until_converged(
    cloud: &MemoryCloud,
    model: &Model,
    command: &impl Command,
) -> Result<usize, String> {
    cloud.clear_faults();
    for reruns in 0..=MAX_RERUNS {
        match command.run(cloud, model).await {
            Ok(Ran::NothingToDo) => return Ok(reruns),
            Ok(Ran::Changed) => {}
            Err(error) => return Err(format!("rerun {}: {error}", reruns + 1)),
        }
    }
    Err(format!("still changing after {MAX_RERUNS} reruns"))
}

/// A desired state, and the one the pool was brought to before the run under test.
struct Scenario {
    name: String,
    before: Option<Model>,
    after: Model,
}

/// What the pool holds that cogwire must never write: seeded before anything runs.
struct Foreign {
    resource_servers: BTreeMap<String, ResourceServerState>,
    clients: BTreeMap<String, StoredClient>,
    parameters: BTreeMap<String, StoredEntry>,
}

const FOREIGN_IDENTIFIER: &str = "https://foreign.example.com";
const FOREIGN_PARAMETER: &str = "/other-team/settings";

/// What another team owns: a resource server; an authorization-code web client with settings
/// cogwire does not manage and two secrets; a client-credentials client nobody declared; the
/// resource servers of the scenario's external services; a parameter.
async fn seed_foreign(cloud: &MemoryCloud, scenario: &Scenario) -> Foreign {
    cloud.seed_resource_server(ResourceServerState {
        identifier: FOREIGN_IDENTIFIER.to_owned(),
        name: "Another team's API".to_owned(),
        scopes: BTreeMap::from([("foreign.read".to_owned(), "Read".to_owned())]),
    });
    let externals = scenario
        .before
        .iter()
        .chain([&scenario.after])
        .flat_map(|model| model.services.values())
        .filter(|service| service.external);
    for service in externals {
        if let Some(server) = &service.resource_server {
            cloud.seed_resource_server(ResourceServerState {
                identifier: server.identifier.clone(),
                name: server.name.clone(),
                scopes: server
                    .scopes
                    .keys()
                    .map(|scope| (scope.clone(), format!("{scope}, owned elsewhere")))
                    .collect(),
            });
        }
    }
    let web = cloud.seed_client(
        ClientState {
            id: String::new(),
            name: "foreign-web-client".to_owned(),
            has_secret: true,
            allowed_oauth_flows: BTreeSet::from(["code".to_owned()]),
            allowed_oauth_flows_user_pool_client: true,
            scopes: BTreeSet::from([
                "openid".to_owned(),
                format!("{FOREIGN_IDENTIFIER}/foreign.read"),
            ]),
            access_token_validity: Some(Seconds(15 * Seconds::MINUTE.0)),
            extras: ClientExtras {
                callback_urls: Some(vec!["https://web.example.com/callback".to_owned()]),
                explicit_auth_flows: Some(vec!["ALLOW_REFRESH_TOKEN_AUTH".to_owned()]),
                supported_identity_providers: Some(vec!["COGNITO".to_owned()]),
                refresh_token_validity: Some(7),
                ..ClientExtras::default()
            },
        },
        Some(Secret::new("foreign-secret-value-one-0123456789")),
    );
    cloud
        .user_pool()
        .add_client_secret(&web)
        .await
        .expect("a second secret");
    cloud.seed_client(
        ClientState {
            id: String::new(),
            name: "foreign-batch-client".to_owned(),
            has_secret: true,
            allowed_oauth_flows: BTreeSet::from([CLIENT_CREDENTIALS.to_owned()]),
            allowed_oauth_flows_user_pool_client: true,
            scopes: BTreeSet::from([format!("{FOREIGN_IDENTIFIER}/foreign.read")]),
            access_token_validity: None,
            extras: ClientExtras::default(),
        },
        Some(Secret::new("foreign-secret-value-two-0123456789")),
    );
    cloud.seed_parameter(FOREIGN_PARAMETER, "untouchable", EntryKind::Plain, &[]);
    seed_gateways(cloud, scenario);
    let snapshot = cloud.snapshot();
    Foreign {
        resource_servers: snapshot.resource_servers,
        clients: snapshot.clients,
        parameters: snapshot.parameters,
    }
}

/// An audience entry, a provider and a route or method that are not cogwire's: kept as they are.
const FOREIGN_AUDIENCE: &str = "someone-elses-client";
const FOREIGN_PROVIDER: &str =
    "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_Other";
const UNDECLARED_ROUTE: &str = "GET /health";

/// The API of each service that names one, as its own definition made it: an authorizer of
/// another issuer (HTTP, with an audience entry cogwire does not manage) or of another pool
/// (REST), the declared routes or methods without authorization, an undeclared `GET /health`,
/// and a REST API's stage `prod`.
fn seed_gateways(cloud: &MemoryCloud, scenario: &Scenario) {
    use crate::cloud::gateway::{AuthorizerState, RouteState};
    use crate::cloud::gateway_rest::{MethodState, ResourceState, RestAuthorizerState};
    use crate::cloud::memory::{HttpApi, RestApi};
    use crate::config::gateway::{ApiKind, route_scopes};
    let none = |http_method: &str| MethodState {
        http_method: http_method.to_owned(),
        authorization_type: "NONE".to_owned(),
        authorizer_id: None,
        scopes: BTreeSet::new(),
    };
    for service in scenario
        .before
        .iter()
        .chain([&scenario.after])
        .flat_map(|model| model.services.values())
    {
        let Some(api) = &service.api_gateway else {
            continue;
        };
        let mut keys: Vec<(String, String)> = route_scopes(service).into_keys().collect();
        keys.push(("GET".to_owned(), "/health".to_owned()));
        match api.kind {
            ApiKind::Http => {
                if cloud.http_apis().api(&api.api_id).is_some() {
                    continue;
                }
                let routes = keys
                    .iter()
                    .enumerate()
                    .map(|(index, (method, path))| RouteState {
                        id: format!("route{index:03}"),
                        route_key: format!("{method} {path}"),
                        authorization_type: "NONE".to_owned(),
                        authorizer_id: None,
                        scopes: BTreeSet::new(),
                    })
                    .collect();
                let authorizer = AuthorizerState {
                    id: api.authorizer.clone(),
                    name: "cognito".to_owned(),
                    authorizer_type: "JWT".to_owned(),
                    issuer: Some("https://issuer.invalid/placeholder".to_owned()),
                    audience: vec![FOREIGN_AUDIENCE.to_owned()],
                };
                cloud.http_apis().put_api(
                    &api.api_id,
                    HttpApi {
                        authorizers: BTreeMap::from([(api.authorizer.clone(), authorizer)]),
                        routes,
                    },
                );
            }
            ApiKind::Rest => {
                if cloud.rest_apis().api(&api.api_id).is_some() {
                    continue;
                }
                let mut paths: BTreeMap<String, Vec<MethodState>> = BTreeMap::new();
                for (method, path) in &keys {
                    paths.entry(path.clone()).or_default().push(none(method));
                }
                let resources = paths
                    .into_iter()
                    .enumerate()
                    .map(|(index, (path, methods))| ResourceState {
                        id: format!("res{index:03}"),
                        path,
                        methods,
                    })
                    .collect();
                let authorizer = RestAuthorizerState {
                    id: api.authorizer.clone(),
                    name: "cognito".to_owned(),
                    authorizer_type: "COGNITO_USER_POOLS".to_owned(),
                    provider_arns: vec![FOREIGN_PROVIDER.to_owned()],
                };
                cloud.rest_apis().put_api(
                    &api.api_id,
                    RestApi {
                        authorizers: BTreeMap::from([(api.authorizer.clone(), authorizer)]),
                        resources,
                        stages: BTreeMap::from([("prod".to_owned(), None)]),
                        ..RestApi::default()
                    },
                );
            }
        }
    }
}

/// Every gateway as declared: an HTTP API's authorizer has the pool's issuer and an audience of
/// exactly the managed callers' clients beside the entry cogwire does not manage; a REST API's
/// providers are the other pool and this one; each declared route or method is guarded by the
/// authorizer with its scopes (and, with a stage, deployed so); the undeclared one is untouched;
/// no deployment is left pending.
fn gateways_are_as_declared(last: &Final, expected: &Expected<'_>) -> Vec<String> {
    use crate::config::gateway::{ApiKind, audience_services, route_scopes};
    let mut problems = Vec::new();
    let snapshot = &last.snapshot;
    for service in expected.model.services.values() {
        let Some(api) = &service.api_gateway else {
            continue;
        };
        let declared = route_scopes(service);
        match api.kind {
            ApiKind::Http => {
                let Some(found) = snapshot.http_apis.get(&api.api_id) else {
                    problems.push(format!("HTTP API {} is gone", api.api_id));
                    continue;
                };
                let authorizer = &found.authorizers[&api.authorizer];
                let issuer = crate::tokens::token::issuer(POOL_ID, "us-east-1");
                if authorizer.issuer.as_deref() != Some(issuer.as_str()) {
                    problems.push(format!("authorizer issuer {:?}", authorizer.issuer));
                }
                let mut wanted: BTreeSet<String> = audience_services(expected.model, service)
                    .iter()
                    .filter_map(|caller| last.record.client_of_service(caller))
                    .map(str::to_owned)
                    .collect();
                wanted.insert(FOREIGN_AUDIENCE.to_owned());
                let audience: BTreeSet<String> = authorizer.audience.iter().cloned().collect();
                if audience != wanted || audience.len() != authorizer.audience.len() {
                    problems.push(format!(
                        "audience {:?}, wanted {wanted:?}",
                        authorizer.audience
                    ));
                }
                for route in &found.routes {
                    if route.route_key == UNDECLARED_ROUTE {
                        if route.authorization_type != "NONE" || !route.scopes.is_empty() {
                            problems.push(format!("undeclared route {UNDECLARED_ROUTE} changed"));
                        }
                        continue;
                    }
                    let Some((method, path)) = route.route_key.split_once(' ') else {
                        continue;
                    };
                    let scopes = declared.get(&(method.to_owned(), path.to_owned()));
                    if route.authorization_type != "JWT"
                        || route.authorizer_id.as_deref() != Some(api.authorizer.as_str())
                        || Some(&route.scopes) != scopes
                    {
                        problems.push(format!("route {} is {route:?}", route.route_key));
                    }
                }
            }
            ApiKind::Rest => {
                let Some(found) = snapshot.rest_apis.get(&api.api_id) else {
                    problems.push(format!("REST API {} is gone", api.api_id));
                    continue;
                };
                let pool_arn =
                    format!("arn:aws:cognito-idp:us-east-1:123456789012:userpool/{POOL_ID}");
                let providers = &found.authorizers[&api.authorizer].provider_arns;
                if *providers != [FOREIGN_PROVIDER.to_owned(), pool_arn] {
                    problems.push(format!("providers {providers:?}"));
                }
                let in_line = |resources: &[crate::cloud::gateway_rest::ResourceState]| {
                    resources.iter().all(|resource| {
                        resource.methods.iter().all(|method| {
                            match declared.get(&(method.http_method.clone(), resource.path.clone()))
                            {
                                Some(scopes) => {
                                    method.authorization_type == "COGNITO_USER_POOLS"
                                        && method.authorizer_id.as_deref()
                                            == Some(api.authorizer.as_str())
                                        && method.scopes == *scopes
                                }
                                None => {
                                    method.authorization_type == "NONE" && method.scopes.is_empty()
                                }
                            }
                        })
                    })
                };
                if !in_line(&found.resources) {
                    problems.push(format!("methods {:?}", found.resources));
                }
                if let Some(stage) = &api.stage
                    && !found
                        .deployed
                        .get(stage)
                        .is_some_and(|deployed| in_line(deployed))
                {
                    problems.push(format!(
                        "stage {stage} serves {:?}",
                        found.deployed.get(stage)
                    ));
                }
                let marker = crate::config::namespace::deployment_name(POOL_ID, &api.api_id);
                if snapshot.parameters.contains_key(&marker) {
                    problems.push("a deployment is left pending".to_owned());
                }
            }
        }
    }
    problems
}

/// The fingerprints `rotate-secret` keeps of each managed client's secrets, as if every client
/// of `model` had been rotated once: an apply that destroys a client must delete them with it.
fn seed_fingerprints(cloud: &MemoryCloud, model: &Model) {
    let managed = wanted_client_names(model);
    for (id, client) in &cloud.snapshot().clients {
        if !managed.contains(&client.state.name) {
            continue;
        }
        let fingerprints: BTreeMap<&str, String> = client
            .secrets
            .iter()
            .map(|secret| {
                (
                    secret.id.as_str(),
                    crate::credentials::decide::fingerprint(&secret.value),
                )
            })
            .collect();
        let value = serde_json::to_string(&fingerprints).expect("json");
        cloud.seed_parameter(
            &crate::config::namespace::fingerprints_name(POOL_ID, id),
            &value,
            EntryKind::Plain,
            &[],
        );
    }
}

/// What a converged run must leave, read back once.
struct Final {
    snapshot: Snapshot,
    record: Record,
}

struct Expected<'a> {
    model: &'a Model,
    foreign: &'a Foreign,
}

type Check = fn(&Final, &Expected<'_>) -> Vec<String>;

/// The invariants of a converged apply; sync and rotation add theirs (credentials stored are
/// Cognito's) beside them.
const CHECKS: &[Check] = &[
    no_two_clients_share_a_name,
    nothing_unmanaged_touched,
    pool_is_as_declared,
    record_maps_every_managed_resource,
    no_fingerprints_outlive_their_client,
    stored_credentials_are_live_secrets,
];

/// After phase one of a rotation: the pool as declared but for the second secret each managed
/// client now has, and the store holding the newest.
const ROTATION_STARTED_CHECKS: &[Check] = &[
    no_two_clients_share_a_name,
    nothing_unmanaged_touched,
    record_maps_every_managed_resource,
    no_fingerprints_outlive_their_client,
    stored_credentials_are_live_secrets,
    the_store_holds_each_clients_newest_of_two_secrets,
];

fn the_store_holds_each_clients_newest_of_two_secrets(
    last: &Final,
    expected: &Expected<'_>,
) -> Vec<String> {
    let settings = &expected.model.secrets;
    let values: BTreeMap<String, Secret> = last
        .snapshot
        .parameters
        .iter()
        .map(|(name, entry)| (name.clone(), entry.value.clone()))
        .collect();
    let mut problems = Vec::new();
    for (id, recorded) in &last.record.clients {
        let Some(client) = last.snapshot.clients.get(id) else {
            continue;
        };
        let stored = crate::credentials::decide::stored_secret(
            settings,
            POOL_ID,
            &recorded.service,
            id,
            &values,
        );
        match (client.secrets.as_slice(), stored) {
            ([_, newest], Some(stored)) if newest.value == stored => {}
            (secrets, _) => problems.push(format!(
                "{} has {} secrets and the store does not hold the newest of two",
                recorded.service,
                secrets.len()
            )),
        }
    }
    problems
}

/// Every managed client's stored credentials name that client and hold one of its secrets, and
/// the record waits for none.
fn stored_credentials_are_live_secrets(last: &Final, expected: &Expected<'_>) -> Vec<String> {
    let settings = &expected.model.secrets;
    let entries = match settings.store {
        crate::config::model::StoreKind::Ssm => &last.snapshot.parameters,
        crate::config::model::StoreKind::SecretsManager => &last.snapshot.manager_secrets,
    };
    let values: BTreeMap<String, Secret> = entries
        .iter()
        .filter(|(_, entry)| !entry.scheduled_for_deletion)
        .map(|(name, entry)| (name.clone(), entry.value.clone()))
        .collect();
    let mut problems: Vec<String> = last
        .record
        .credentials_pending
        .iter()
        .map(|service| format!("the record still waits for the credentials of {service}"))
        .collect();
    for (id, recorded) in &last.record.clients {
        let Some(client) = last.snapshot.clients.get(id) else {
            continue;
        };
        let stored = crate::credentials::decide::stored_secret(
            settings,
            POOL_ID,
            &recorded.service,
            id,
            &values,
        );
        match stored {
            None => problems.push(format!(
                "no stored credentials of {} (client {id})",
                recorded.service
            )),
            Some(secret) if !client.secrets.iter().any(|live| live.value == secret) => problems
                .push(format!(
                    "the stored secret of {} is none of client {id}'s",
                    recorded.service
                )),
            Some(_) => {}
        }
    }
    problems
}

fn no_two_clients_share_a_name(last: &Final, _: &Expected<'_>) -> Vec<String> {
    let mut seen: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (id, client) in &last.snapshot.clients {
        seen.entry(client.state.name.as_str()).or_default().push(id);
    }
    seen.into_iter()
        .filter(|(_, ids)| ids.len() > 1)
        .map(|(name, ids)| format!("{} clients named {name}: {ids:?}", ids.len()))
        .collect()
}

fn nothing_unmanaged_touched(last: &Final, expected: &Expected<'_>) -> Vec<String> {
    let mut problems = Vec::new();
    let snapshot = &last.snapshot;
    for (identifier, server) in &expected.foreign.resource_servers {
        if snapshot.resource_servers.get(identifier) != Some(server) {
            problems.push(format!("foreign resource server {identifier} was changed"));
        }
    }
    for (id, client) in &expected.foreign.clients {
        if snapshot.clients.get(id) != Some(client) {
            problems.push(format!(
                "foreign client {} ({id}) was changed",
                client.state.name
            ));
        }
    }
    for (name, entry) in &expected.foreign.parameters {
        if snapshot.parameters.get(name) != Some(entry) {
            problems.push(format!("foreign parameter {name} was changed"));
        }
    }
    problems
}

/// The managed resource servers and clients the model declares, and nothing else of cogwire's.
fn pool_is_as_declared(last: &Final, expected: &Expected<'_>) -> Vec<String> {
    let mut problems = Vec::new();
    let snapshot = &last.snapshot;
    let managed = expected
        .model
        .services
        .values()
        .filter(|service| !service.external);
    let mut servers = BTreeSet::new();
    let mut client_names = BTreeSet::new();
    for service in managed {
        if let Some(server) = &service.resource_server {
            servers.insert(server.identifier.clone());
            match snapshot.resource_servers.get(&server.identifier) {
                None => problems.push(format!("resource server {} is missing", server.identifier)),
                Some(found) => {
                    let same_scopes = found.scopes.len() == server.scopes.len()
                        && server.scopes.iter().all(|(scope, description)| {
                            found
                                .scopes
                                .get(scope)
                                .is_some_and(|found| description.is_empty() || found == description)
                        });
                    if found.name != server.name || !same_scopes {
                        problems.push(format!(
                            "resource server {} is {found:?}, not as declared",
                            server.identifier
                        ));
                    }
                }
            }
        }
        if let Some(client) = &service.client {
            client_names.insert(client.name.clone());
            let named: Vec<_> = snapshot
                .clients
                .values()
                .filter(|found| found.state.name == client.name)
                .collect();
            let [found] = named.as_slice() else {
                problems.push(format!("{} clients named {}", named.len(), client.name));
                continue;
            };
            let state = &found.state;
            if state.scopes != client.scopes
                || state.access_token_validity != Some(client.access_token_validity)
                || state.allowed_oauth_flows != BTreeSet::from([CLIENT_CREDENTIALS.to_owned()])
                || !state.allowed_oauth_flows_user_pool_client
                || found.secrets.len() != 1
            {
                problems.push(format!(
                    "client {} is {found:?}, not as declared",
                    client.name
                ));
            }
        }
    }
    for identifier in snapshot.resource_servers.keys() {
        if !servers.contains(identifier)
            && !expected.foreign.resource_servers.contains_key(identifier)
        {
            problems.push(format!("resource server {identifier} is not declared"));
        }
    }
    for (id, client) in &snapshot.clients {
        if !client_names.contains(&client.state.name) && !expected.foreign.clients.contains_key(id)
        {
            problems.push(format!(
                "client {} ({id}) is not declared",
                client.state.name
            ));
        }
    }
    problems
}

/// The record, read back through `RecordStore`, names every managed resource server and client
/// (by its id in the pool), and nothing else: no intent left pending.
fn record_maps_every_managed_resource(last: &Final, expected: &Expected<'_>) -> Vec<String> {
    let mut problems = Vec::new();
    let managed = || {
        expected
            .model
            .services
            .values()
            .filter(|service| !service.external)
    };
    let servers: BTreeMap<String, String> = managed()
        .filter_map(|service| {
            let server = service.resource_server.as_ref()?;
            Some((server.identifier.clone(), service.name.clone()))
        })
        .collect();
    if last.record.resource_servers != servers {
        problems.push(format!(
            "the record's resource servers are {:?}, not {servers:?}",
            last.record.resource_servers
        ));
    }
    let clients: BTreeMap<String, RecordedClient> = managed()
        .filter_map(|service| {
            let client = service.client.as_ref()?;
            let (id, _) = last
                .snapshot
                .clients
                .iter()
                .find(|(_, found)| found.state.name == client.name)?;
            Some((
                id.clone(),
                RecordedClient::new(service.name.clone(), client.name.clone()),
            ))
        })
        .collect();
    // What cogwire knows of each client's settings is checked by `digests_are_the_pools`.
    let mut recorded = last.record.clients.clone();
    for client in recorded.values_mut() {
        client.applied = None;
    }
    if recorded != clients {
        problems.push(format!(
            "the record's clients are {:?}, not {clients:?}",
            last.record.clients
        ));
    }
    if !last.record.pending_clients.is_empty() || !last.record.credentials_pending.is_empty() {
        problems.push(format!(
            "the record still holds intent: pending clients {:?}, credentials pending {:?}",
            last.record.pending_clients, last.record.credentials_pending
        ));
    }
    problems
}

/// Every digest the record holds (as `load` gives it: an unsettled client's forgotten) is that of
/// the client as the pool holds it: what `plan --refresh=false` trusts is never stale.
fn digests_are_the_pools(snapshot: &Snapshot, record: &Record) -> Vec<String> {
    record
        .clients
        .iter()
        .filter_map(|(id, recorded)| {
            let applied = recorded.applied.as_ref()?;
            let Some(client) = snapshot.clients.get(id) else {
                return Some(format!(
                    "the record has a digest of client {id}, which is gone"
                ));
            };
            (applied_digest(&client.state) != *applied).then(|| {
                format!(
                    "the record's digest of {} ({id}) is not the pool's: {:?}",
                    recorded.service, client.state
                )
            })
        })
        .collect()
}

/// The plan with `--refresh=false` and the full plan, for `model`, agree on every action, every
/// caller that loses access and every pending credential.
async fn fast_plan_agrees(cloud: &MemoryCloud, model: &Model) -> Result<(), String> {
    let session = session(cloud, model);
    let (full, _) = run::plan_now(&session, &[], true)
        .await
        .map_err(|error| format!("full plan: {error}"))?;
    let (fast, _) = run::plan_now(&session, &[], false)
        .await
        .map_err(|error| format!("fast plan: {error}"))?;
    let shown = |plan: &crate::plan::Plan| {
        serde_json::json!([
            plan.actions,
            plan.lost_access,
            plan.pending_credentials,
            plan.summary
        ])
    };
    if shown(&full) == shown(&fast) {
        Ok(())
    } else {
        Err(format!(
            "the plan with --refresh=false differs from the full plan: {} against {}",
            shown(&fast),
            shown(&full)
        ))
    }
}

/// `secrets/<client-id>` under cogwire's prefix exists only while the client does. Not in
/// Every scenario checks it; `fingerprints_outlive_...` seeds fingerprints so that it bites.
fn no_fingerprints_outlive_their_client(last: &Final, _: &Expected<'_>) -> Vec<String> {
    let prefix = format!("{}/secrets/", crate::config::namespace::prefix(POOL_ID));
    last.snapshot
        .parameters
        .keys()
        .filter_map(|name| name.strip_prefix(&prefix))
        .filter(|id| !last.snapshot.clients.contains_key(*id))
        .map(|id| format!("the fingerprints of destroyed client {id} are left behind"))
        .collect()
}

async fn read_final(cloud: &MemoryCloud) -> Result<Final, String> {
    let caller = caller();
    let parameters = cloud.parameters();
    let (record, _) = RecordStore::new(&parameters, &caller, POOL_ID)
        .load()
        .await
        .map_err(|error| format!("loading the record: {error}"))?;
    Ok(Final {
        snapshot: cloud.snapshot(),
        record,
    })
}

/// How a faulted run is made to fail.
#[derive(Debug, Clone, Copy)]
enum Injection {
    DiesAfter(u64),
    LostReply(u64),
    /// Any call: 20% throttled, 5% a 5xx, 5% a lost reply, drawn from the seed.
    Random(u64),
}

impl Injection {
    fn plan(self) -> FaultPlan {
        match self {
            Self::DiesAfter(calls) => FaultPlan::none().dies_after(calls),
            Self::LostReply(call) => FaultPlan::none().at_call(call, Fault::LostReply),
            Self::Random(seed) => FaultPlan::seeded(seed)
                .randomly(None, Fault::Throttled, 0.2)
                .randomly(None, Fault::ServerError, 0.05)
                .randomly(None, Fault::LostReply, 0.05),
        }
    }
}

/// Seeded runs with random faults, per scenario.
const RANDOM_SEEDS: u64 = 10;

/// What an enumeration did, and what it found.
#[derive(Debug, Default)]
struct Report {
    clean_calls: u64,
    crash_points: usize,
    lost_replies: usize,
    random_runs: usize,
    runs: usize,
    most_reruns: usize,
    failures: Vec<String>,
}

/// A read is any call that changes nothing; the rest are writes.
/// The pool before the run under test: the foreign resources, and `before` applied cleanly.
async fn prepare(scenario: &Scenario, command: &impl Command) -> (MemoryCloud, Foreign) {
    let base = MemoryCloud::new(POOL_ID);
    let foreign = seed_foreign(&base, scenario).await;
    if let Some(before) = &scenario.before {
        run_until_converged(&base, before, &Apply)
            .await
            .unwrap_or_else(|error| panic!("{}: the starting state: {error}", scenario.name));
        seed_fingerprints(&base, before);
        command.prepare(&base, before).await;
    }
    (base.fork(), foreign)
}

/// One faulted run from `base`, the reruns, and the checks; what failed goes in the report.
async fn faulted_run(
    base: &MemoryCloud,
    scenario: &Scenario,
    foreign: &Foreign,
    (command, checks): (&impl Command, &[Check]),
    injection: Injection,
    report: &mut Report,
) {
    let cloud = base.fork();
    cloud.inject(injection.plan());
    // It may fail: that is the point. What matters is what the reruns make of it.
    let _ = command.run(&cloud, &scenario.after).await;
    report.runs += 1;
    // Whatever the run left, a plan that trusts the record is the full plan: for the declaration
    // it ran with, and for the one before it (a revert after a failed run).
    cloud.clear_faults();
    let mut failure = None;
    match read_final(&cloud).await {
        Ok(left) => {
            let stale = digests_are_the_pools(&left.snapshot, &left.record);
            if !stale.is_empty() {
                failure = Some(stale.join("; "));
            }
        }
        Err(error) => failure = Some(error),
    }
    for model in scenario.before.iter().chain([&scenario.after]) {
        if failure.is_none()
            && let Err(error) = fast_plan_agrees(&cloud, model).await
        {
            failure = Some(error);
        }
    }
    if let Some(failure) = failure {
        report
            .failures
            .push(format!("{} {injection:?}: {failure}", scenario.name));
        return;
    }
    let failure = match run_until_converged(&cloud, &scenario.after, command).await {
        Err(error) => Some(error),
        Ok(reruns) => {
            report.runs += reruns + 1;
            report.most_reruns = report.most_reruns.max(reruns);
            match read_final(&cloud).await {
                Err(error) => Some(error),
                Ok(last) => {
                    let expected = Expected {
                        model: &scenario.after,
                        foreign,
                    };
                    let problems: Vec<String> = checks
                        .iter()
                        .flat_map(|check| check(&last, &expected))
                        .chain(digests_are_the_pools(&last.snapshot, &last.record))
                        .collect();
                    (!problems.is_empty()).then(|| problems.join("; "))
                }
            }
        }
    };
    if let Some(failure) = failure {
        report
            .failures
            .push(format!("{} {injection:?}: {failure}", scenario.name));
    }
}

/// The clean run, then every crash point of it, every lost reply of its writes, and seeded runs
/// with random faults; after each, the reruns and `checks`.
async fn enumerate(scenario: &Scenario, command: &impl Command, checks: &[Check]) -> Report {
    let started = Instant::now();
    let (base, foreign) = prepare(scenario, command).await;
    let mut report = Report::default();

    let clean = base.fork();
    let ran = command.run(&clean, &scenario.after).await;
    assert_eq!(ran, Ok(Ran::Changed), "{}: the clean run", scenario.name);
    report.clean_calls = clean.calls();
    let log = clean.call_log();
    let again = base.fork();
    let _ = command.run(&again, &scenario.after).await;
    assert_eq!(
        again.call_log(),
        log,
        "{}: two clean runs make different calls, so call numbers mean nothing",
        scenario.name
    );

    let crash_points = (0..=report.clean_calls).map(Injection::DiesAfter);
    let lost_replies = log
        .iter()
        .enumerate()
        .filter(|(_, operation)| operation.writes())
        .map(|(index, _)| Injection::LostReply(index as u64 + 1));
    let random = (1..=RANDOM_SEEDS).map(Injection::Random);
    for injection in crash_points.chain(lost_replies).chain(random) {
        faulted_run(
            &base,
            scenario,
            &foreign,
            (command, checks),
            injection,
            &mut report,
        )
        .await;
        match injection {
            Injection::DiesAfter(_) => report.crash_points += 1,
            Injection::LostReply(_) => report.lost_replies += 1,
            Injection::Random(_) => report.random_runs += 1,
        }
    }
    eprintln!(
        "{}: {} calls clean; {} crash points, {} lost replies, {} random; {} runs; at most {} reruns changed something; {:.2} s",
        scenario.name,
        report.clean_calls,
        report.crash_points,
        report.lost_replies,
        report.random_runs,
        report.runs,
        report.most_reruns,
        started.elapsed().as_secs_f64()
    );
    report
}

async fn assert_every_crash_point_converges(scenario: Scenario, checks: &[Check]) {
    assert_every_crash_point_of(&Apply, scenario, checks).await;
}

async fn assert_every_crash_point_of(command: &impl Command, scenario: Scenario, checks: &[Check]) {
    let report = enumerate(&scenario, command, checks).await;
    assert!(
        report.failures.is_empty(),
        "{} of {} faulted runs failed:\n{}",
        report.failures.len(),
        report.crash_points + report.lost_replies + report.random_runs,
        report.failures.join("\n")
    );
}

// --- The repo's services.toml ------------------------------------------------------------

const SERVICES_TOML: &str = include_str!("../../services.toml");

fn model(text: &str) -> Model {
    load(text, None).unwrap_or_else(|problems| panic!("invalid services.toml: {problems:?}"))
}

/// `text` with `from` replaced by `to`; `from` must be there.
fn edit(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "services.toml no longer has {from:?}");
    text.replacen(from, to, 1)
}

/// Scopes added and removed (one replaced while a client holds it), and consumers moved.
fn services_toml_changed() -> String {
    let text = edit(
        SERVICES_TOML,
        r#"scopes = { "customer.read" = "Customer Read Scope", "customer.write" = "Customer Write Scope" }"#,
        r#"scopes = { "customer.read" = "Customer Read Scope", "customer.delete" = "Customer Delete Scope" }"#,
    );
    let text = edit(
        &text,
        r#"scopes = { "account.read" = "Account Read Scope" }"#,
        r#"scopes = { "account.view" = "Account View Scope" }"#,
    );
    let text = edit(
        &text,
        r#"consumes = ["customers-v1/customer.read", "accounts-v1/account.read"]"#,
        r#"consumes = ["customers-v1/customer.read", "accounts-v1/account.view", "customers-v1/customer.delete"]"#,
    );
    let text = edit(
        &text,
        r#"consumes = ["orders-v1/order.read", "accounts-v1/account.read"]"#,
        r#"consumes = ["orders-v1/order.read", "accounts-v1/account.view"]"#,
    );
    let text = edit(
        &text,
        r#"consumes = ["gateway/demo.write"]"#,
        r#"consumes = ["gateway/demo.write", "gateway/demo.read"]"#,
    );
    edit(
        &text,
        r#"scopes = { "order.read" = "Order Read Scope", "order.write" = "Order Write Scope" }"#,
        r#"scopes = { "order.read" = "Order Read Scope", "order.write" = "Order Write Scope", "order.cancel" = "Order Cancel Scope" }"#,
    )
}

/// The gateway and its two callers removed, and reporting-v1.
fn services_toml_reduced() -> String {
    let start = SERVICES_TOML
        .find("[services.gateway]")
        .expect("services.toml declares the gateway");
    let end = SERVICES_TOML
        .find("# --- 2. Microservices")
        .expect("services.toml has its microservices section");
    let text = format!("{}{}", &SERVICES_TOML[..start], &SERVICES_TOML[end..]);
    edit(
        &text,
        "[services.reporting-v1]\nconsumes = [\"orders-v1/order.read\", \"accounts-v1/account.read\"]\n",
        "",
    )
}

#[tokio::test(start_paused = true)]
async fn services_toml_from_empty() {
    assert_every_crash_point_converges(
        Scenario {
            name: "services.toml from empty".to_owned(),
            before: None,
            after: model(SERVICES_TOML),
        },
        CHECKS,
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn services_toml_after_a_change() {
    assert_every_crash_point_converges(
        Scenario {
            name: "services.toml changed".to_owned(),
            before: Some(model(SERVICES_TOML)),
            after: model(&services_toml_changed()),
        },
        CHECKS,
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn services_toml_with_removals() {
    assert_every_crash_point_converges(
        Scenario {
            name: "services.toml reduced".to_owned(),
            before: Some(model(SERVICES_TOML)),
            after: model(&services_toml_reduced()),
        },
        CHECKS,
    )
    .await;
}

/// services.toml with its gateway behind an HTTP API (or a REST API with a stage).
fn services_toml_with_gateway(kind: &str) -> String {
    let table = match kind {
        "rest" => {
            "[services.gateway.api_gateway]\nrest_api = \"x9y8z7w6v5\"\nauthorizer = \"cog123\"\nstage = \"prod\"\n"
        }
        _ => "[services.gateway.api_gateway]\nhttp_api = \"a1b2c3d4e5\"\nauthorizer = \"abc123\"\n",
    };
    edit(
        SERVICES_TOML,
        "# [services.gateway.api_gateway]\n# http_api = \"a1b2c3d4e5\"\n# authorizer = \"abc123\"\n",
        table,
    )
}

/// Gateway checks beside the apply's.
const GATEWAY_CHECKS: &[Check] = &[
    no_two_clients_share_a_name,
    nothing_unmanaged_touched,
    pool_is_as_declared,
    record_maps_every_managed_resource,
    stored_credentials_are_live_secrets,
    gateways_are_as_declared,
];

#[tokio::test(start_paused = true)]
async fn an_http_api_from_empty() {
    assert_every_crash_point_converges(
        Scenario {
            name: "an HTTP API from empty".to_owned(),
            before: None,
            after: model(&services_toml_with_gateway("http")),
        },
        GATEWAY_CHECKS,
    )
    .await;
}

/// A caller removed: it leaves the audience before its client goes; a scope added to a route.
#[tokio::test(start_paused = true)]
async fn an_http_api_loses_a_caller_and_a_route_gains_a_scope() {
    let before = services_toml_with_gateway("http");
    let after = edit(
        &before,
        "[services.gateway-reader]\nconsumes = [\"gateway/demo.read\"]\n",
        "",
    );
    let after = edit(
        &after,
        "body = { name = \"report.csv\", size = 42 }\n",
        "body = { name = \"report.csv\", size = 42 }\n\n[[services.gateway.routes]]\nmethod = \"POST\"\npath = \"/api/demo/protectedUpload\"\nscope = \"demo.read\"\n",
    );
    assert_every_crash_point_converges(
        Scenario {
            name: "an HTTP API changed".to_owned(),
            before: Some(model(&before)),
            after: model(&after),
        },
        GATEWAY_CHECKS,
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_rest_api_from_empty() {
    assert_every_crash_point_converges(
        Scenario {
            name: "a REST API from empty".to_owned(),
            before: None,
            after: model(&services_toml_with_gateway("rest")),
        },
        GATEWAY_CHECKS,
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn services_toml_sync_secrets() {
    assert_every_crash_point_of(
        &SyncSecrets,
        Scenario {
            name: "services.toml sync-secrets".to_owned(),
            before: Some(model(SERVICES_TOML)),
            after: model(SERVICES_TOML),
        },
        CHECKS,
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn services_toml_rotation_start() {
    assert_every_crash_point_of(
        &RotateStart,
        Scenario {
            name: "services.toml rotate-secret".to_owned(),
            before: Some(model(SERVICES_TOML)),
            after: model(SERVICES_TOML),
        },
        ROTATION_STARTED_CHECKS,
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn services_toml_rotation_finish() {
    assert_every_crash_point_of(
        &RotateFinish,
        Scenario {
            name: "services.toml rotate-secret --finish".to_owned(),
            before: Some(model(SERVICES_TOML)),
            after: model(SERVICES_TOML),
        },
        CHECKS,
    )
    .await;
}

// --- A seeded fleet of 30 services -------------------------------------------------------

/// xorshift64*: enough to make a fleet from a seed.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }
}

#[derive(Debug, Clone)]
struct FleetService {
    /// An explicit identifier; otherwise the service name is.
    identifier: Option<String>,
    scopes: BTreeSet<String>,
    /// `(service, scope)`.
    consumes: BTreeSet<(String, String)>,
    validity: &'static str,
}

#[derive(Debug, Clone)]
struct Fleet {
    services: BTreeMap<String, FleetService>,
}

const FLEET_SIZE: usize = 30;
const FLEET_PROVIDERS: usize = 12;
const SCOPE_NAMES: &[&str] = &["read", "write", "admin", "audit", "export"];

impl Fleet {
    /// Twelve providers with one to three scopes (four of them also consumers), eighteen
    /// consumers of one to three scopes of others.
    fn generate(seed: u64) -> Self {
        let mut random = Random(seed | 1);
        let mut services = BTreeMap::new();
        for index in 0..FLEET_SIZE {
            let scopes = if index < FLEET_PROVIDERS {
                SCOPE_NAMES[..1 + random.below(3)]
                    .iter()
                    .map(|scope| (*scope).to_owned())
                    .collect()
            } else {
                BTreeSet::new()
            };
            services.insert(
                format!("svc-{index:02}"),
                FleetService {
                    identifier: (index % 3 == 0)
                        .then(|| format!("https://svc-{index:02}.example.com")),
                    scopes,
                    consumes: BTreeSet::new(),
                    validity: ["15m", "30m", "1h"][random.below(3)],
                },
            );
        }
        let mut fleet = Self { services };
        for index in FLEET_PROVIDERS - 4..FLEET_SIZE {
            let name = format!("svc-{index:02}");
            for _ in 0..1 + random.below(3) {
                if let Some(scope) = fleet.any_scope(&mut random, &name) {
                    fleet.service(&name).consumes.insert(scope);
                }
            }
        }
        fleet
    }

    fn service(&mut self, name: &str) -> &mut FleetService {
        self.services.get_mut(name).expect("a service of the fleet")
    }

    /// A scope of another service, if any is left.
    fn any_scope(&self, random: &mut Random, except: &str) -> Option<(String, String)> {
        let all: Vec<(String, String)> = self
            .services
            .iter()
            .filter(|(name, _)| name.as_str() != except)
            .flat_map(|(name, service)| {
                service
                    .scopes
                    .iter()
                    .map(|scope| (name.clone(), scope.clone()))
            })
            .collect();
        (!all.is_empty()).then(|| all[random.below(all.len())].clone())
    }

    fn providers(&self) -> Vec<String> {
        self.services
            .iter()
            .filter(|(_, service)| !service.scopes.is_empty())
            .map(|(name, _)| name.clone())
            .collect()
    }

    fn consumers(&self) -> Vec<String> {
        self.services
            .iter()
            .filter(|(_, service)| !service.consumes.is_empty())
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// Forgets a scope, and every consumer's use of it.
    fn remove_scope(&mut self, provider: &str, scope: &str) {
        self.service(provider).scopes.remove(scope);
        let used = (provider.to_owned(), scope.to_owned());
        for service in self.services.values_mut() {
            service.consumes.remove(&used);
        }
    }

    /// Three providers gain a scope, two lose one (their consumers lose it too), one replaces a
    /// scope its consumers move to, and four consumers change what they consume.
    fn changed(&self, seed: u64) -> Self {
        let mut random = Random(seed | 1);
        let mut fleet = self.clone();
        let providers = fleet.providers();
        for provider in providers.iter().take(3) {
            let service = fleet.service(provider);
            if let Some(new) = SCOPE_NAMES
                .iter()
                .find(|scope| !service.scopes.contains(**scope))
            {
                service.scopes.insert((*new).to_owned());
            }
        }
        for provider in providers.iter().skip(3).take(2) {
            let scopes: Vec<String> = fleet.services[provider].scopes.iter().cloned().collect();
            if scopes.len() > 1 {
                fleet.remove_scope(provider, &scopes[random.below(scopes.len())]);
            }
        }
        if let Some(provider) = providers.get(5) {
            let old = fleet.services[provider].scopes.iter().next().cloned();
            if let Some(old) = old {
                let users: Vec<String> = fleet
                    .services
                    .iter()
                    .filter(|(_, service)| {
                        service.consumes.contains(&(provider.clone(), old.clone()))
                    })
                    .map(|(name, _)| name.clone())
                    .collect();
                fleet.remove_scope(provider, &old);
                fleet.service(provider).scopes.insert("renamed".to_owned());
                for user in users {
                    fleet
                        .service(&user)
                        .consumes
                        .insert((provider.clone(), "renamed".to_owned()));
                }
            }
        }
        for consumer in fleet.consumers().iter().rev().take(4) {
            let dropped = fleet.services[consumer].consumes.iter().next().cloned();
            if let Some(added) = fleet.any_scope(&mut random, consumer) {
                let service = fleet.service(consumer);
                service.consumes.insert(added);
                if service.consumes.len() > 1
                    && let Some(dropped) = dropped
                {
                    service.consumes.remove(&dropped);
                }
            }
        }
        fleet
    }

    /// Five services gone, two consumers and three providers, and their consumers drop them
    /// (a consumer left with nothing to consume is gone too).
    fn reduced(&self) -> Self {
        let mut fleet = self.clone();
        let gone: Vec<String> = fleet
            .consumers()
            .into_iter()
            .rev()
            .take(2)
            .chain(fleet.providers().into_iter().take(3))
            .collect();
        for name in &gone {
            fleet.services.remove(name);
        }
        for service in fleet.services.values_mut() {
            service
                .consumes
                .retain(|(provider, _)| !gone.contains(provider));
        }
        // A service with nothing left to provide or consume is gone too, and its client with it.
        fleet
            .services
            .retain(|_, service| !service.scopes.is_empty() || !service.consumes.is_empty());
        fleet
    }

    fn toml(&self) -> String {
        let mut text = String::new();
        for (name, service) in &self.services {
            text.push_str(&format!("[services.{name}]\n"));
            if !service.scopes.is_empty() {
                if let Some(identifier) = &service.identifier {
                    text.push_str(&format!("identifier = \"{identifier}\"\n"));
                }
                let scopes: Vec<String> = service
                    .scopes
                    .iter()
                    .map(|scope| format!("\"{scope}\" = \"{scope} of {name}\""))
                    .collect();
                text.push_str(&format!("scopes = {{ {} }}\n", scopes.join(", ")));
            }
            if !service.consumes.is_empty() {
                let consumes: Vec<String> = service
                    .consumes
                    .iter()
                    .map(|(provider, scope)| format!("\"{provider}/{scope}\""))
                    .collect();
                text.push_str(&format!("consumes = [{}]\n", consumes.join(", ")));
                text.push_str(&format!(
                    "[services.{name}.client]\naccess_token_validity = \"{}\"\n",
                    service.validity
                ));
            }
            text.push('\n');
        }
        text
    }

    fn model(&self) -> Model {
        model(&self.toml())
    }
}

const FLEET_SEED: u64 = 0x00c0_ffee;

#[tokio::test(start_paused = true)]
async fn a_fleet_from_empty() {
    assert_every_crash_point_converges(
        Scenario {
            name: "fleet from empty".to_owned(),
            before: None,
            after: Fleet::generate(FLEET_SEED).model(),
        },
        CHECKS,
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_fleet_after_a_change() {
    let fleet = Fleet::generate(FLEET_SEED);
    assert_every_crash_point_converges(
        Scenario {
            name: "fleet changed".to_owned(),
            before: Some(fleet.model()),
            after: fleet.changed(FLEET_SEED).model(),
        },
        CHECKS,
    )
    .await;
}

/// The same change with the record in many chunks, as a large fleet's is: the intent marks the
/// clients it writes in the pointer alone, and each chunk is a write that a crash may follow.
#[tokio::test(start_paused = true)]
async fn a_fleet_after_a_change_with_a_record_in_chunks() {
    crate::apply::record::testing::small_parameters(700);
    let fleet = Fleet::generate(FLEET_SEED);
    assert_every_crash_point_converges(
        Scenario {
            name: "fleet changed, record in chunks".to_owned(),
            before: Some(fleet.model()),
            after: fleet.changed(FLEET_SEED).model(),
        },
        CHECKS,
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_fleet_with_removals() {
    let fleet = Fleet::generate(FLEET_SEED);
    assert_every_crash_point_converges(
        Scenario {
            name: "fleet reduced".to_owned(),
            before: Some(fleet.model()),
            after: fleet.reduced().model(),
        },
        CHECKS,
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_fleet_sync_secrets() {
    let fleet = Fleet::generate(FLEET_SEED).model();
    assert_every_crash_point_of(
        &SyncSecrets,
        Scenario {
            name: "fleet sync-secrets".to_owned(),
            before: Some(fleet.clone()),
            after: fleet,
        },
        CHECKS,
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_fleet_rotation_start() {
    let fleet = Fleet::generate(FLEET_SEED).model();
    assert_every_crash_point_of(
        &RotateStart,
        Scenario {
            name: "fleet rotate-secret".to_owned(),
            before: Some(fleet.clone()),
            after: fleet,
        },
        ROTATION_STARTED_CHECKS,
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_fleet_rotation_finish() {
    let fleet = Fleet::generate(FLEET_SEED).model();
    assert_every_crash_point_of(
        &RotateFinish,
        Scenario {
            name: "fleet rotate-secret --finish".to_owned(),
            before: Some(fleet.clone()),
            after: fleet,
        },
        CHECKS,
    )
    .await;
}

#[test]
fn the_fleet_is_thirty_services_with_clients_and_scopes() {
    let fleet = Fleet::generate(FLEET_SEED);
    let model = fleet.model();
    assert_eq!(model.services.len(), FLEET_SIZE);
    assert_eq!(model.resource_server_count(), FLEET_PROVIDERS);
    assert!(model.client_count() >= 20, "{}", fleet.toml());
    let changed = fleet.changed(FLEET_SEED).model();
    assert_ne!(changed, model);
    let reduced = fleet.reduced().model();
    assert!(reduced.services.len() <= FLEET_SIZE - 5);
}

/// Found by this enumeration: apply deleted a destroyed client, then its fingerprints parameter
/// (`/cogwire/<pool>/secrets/<client-id>`, written by rotate-secret). A run that died between the
/// two (services.toml reduced: crash points 11, 13 and 16, each right after a
/// DeleteUserPoolClient) left the parameter behind for good: the next run's record no longer knew
/// the client (`Record::reconcile` drops ids the pool lacks). The parameter now goes first.
#[tokio::test(start_paused = true)]
async fn fingerprints_outlive_a_client_destroyed_just_before_a_crash() {
    assert_every_crash_point_converges(
        Scenario {
            name: "services.toml reduced, fingerprints".to_owned(),
            before: Some(model(SERVICES_TOML)),
            after: model(&services_toml_reduced()),
        },
        &[no_fingerprints_outlive_their_client],
    )
    .await;
}
