//! Executes a plan as a graph of operations: new scopes exist before any client is granted them,
//! clients drop a scope before its resource server removes it, clients go before the resource
//! servers they used, and everything independent runs at once (the limiter in `pace` sets the
//! rate). The ownership record is written before anything is created and after it is done, so a
//! crash at any point loses nothing and the next run converges.

pub mod gateway;
pub mod lock;
pub mod record;
pub mod run;

#[cfg(test)]
mod crash_points;

use std::collections::{BTreeSet, BinaryHeap};

use futures_util::StreamExt as _;
use futures_util::stream::FuturesUnordered;
use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};

use crate::apply::lock::{CHECK_INTERVAL, Check, LockError};
use crate::apply::record::{RecordError, RecordStore, RecordedClient, applied_digest};
use crate::cloud::operation::Operation;
use crate::cloud::pace::Pacer;
use crate::cloud::{
    ClientSpec, ClientState, CloudError, Parameters, ResourceServerState, UserPool,
};
use crate::plan::diff::declared_state;
use crate::plan::observed::Observed;
use crate::plan::{Change, Plan, Resource};
use crate::sensitive::Secret;

/// Operations in flight at once; the limiter keeps them within Cognito's quotas.
const CONCURRENCY: usize = 32;

#[derive(Debug, Clone)]
enum Write {
    CreateResourceServer(ResourceServerState),
    UpdateResourceServer(ResourceServerState),
    DeleteResourceServer(String),
    CreateClient { service: String, spec: ClientSpec },
    UpdateClient(Box<ClientState>),
    DeleteClient { id: String, name: String },
}

impl Write {
    /// The call it starts with, whose budget paces it.
    fn first_call(&self) -> Operation {
        match self {
            Self::CreateResourceServer(_) => Operation::CreateResourceServer,
            Self::UpdateResourceServer(_) => Operation::UpdateResourceServer,
            Self::DeleteResourceServer(_) => Operation::DeleteResourceServer,
            Self::CreateClient { .. } => Operation::CreateUserPoolClient,
            Self::UpdateClient(_) => Operation::UpdateUserPoolClient,
            Self::DeleteClient { .. } => Operation::DeleteUserPoolClient,
        }
    }

    fn describe_done(&self) -> String {
        match self {
            Self::CreateResourceServer(server) => {
                format!("created resource server {}", server.identifier)
            }
            Self::UpdateResourceServer(server) => {
                format!("updated resource server {}", server.identifier)
            }
            Self::DeleteResourceServer(identifier) => {
                format!("destroyed resource server {identifier}")
            }
            Self::CreateClient { spec, .. } => format!("created client {}", spec.name),
            Self::UpdateClient(client) => format!("updated client {} ({})", client.name, client.id),
            Self::DeleteClient { id, name } => format!("destroyed client {name} ({id})"),
        }
    }
}

/// A node of the operation graph: one write, with what it means for scopes.
enum Step {
    /// A write of the resource server `identifier`.
    Server {
        write: Write,
        identifier: String,
        /// It adds scopes: clients granted them wait for it.
        adds_scopes: bool,
        /// It removes scopes: it waits for the clients that stop using them.
        removes_scopes: bool,
    },
    /// A write of a client.
    Client {
        write: Write,
        /// Identifiers of resource servers whose scopes it needs to exist.
        grants_from: BTreeSet<String>,
        /// Identifiers of resource servers whose scopes it stops using.
        drops_from: BTreeSet<String>,
    },
}

impl Step {
    fn write(&self) -> &Write {
        match self {
            Self::Server { write, .. } | Self::Client { write, .. } => write,
        }
    }
}

fn identifiers_of<'a>(scopes: impl IntoIterator<Item = &'a String>) -> BTreeSet<String> {
    scopes
        .into_iter()
        .filter_map(|scope| {
            scope
                .rsplit_once('/')
                .map(|(identifier, _)| identifier.to_owned())
        })
        .collect()
}

fn steps(plan: &Plan) -> Vec<(Step, Option<usize>)> {
    let mut steps = Vec::new();
    for action in plan.actions.iter().filter(|action| action.writes()) {
        match (&action.resource, action.change) {
            (
                Resource::ResourceServer {
                    after: Some(after),
                    before: None,
                    ..
                },
                _,
            ) => steps.push((
                Step::Server {
                    write: Write::CreateResourceServer(after.clone()),
                    identifier: after.identifier.clone(),
                    adds_scopes: true,
                    removes_scopes: false,
                },
                None,
            )),
            (
                Resource::ResourceServer {
                    after: Some(after),
                    before: Some(before),
                    ..
                },
                _,
            ) => {
                let adds = after
                    .scopes
                    .keys()
                    .any(|scope| !before.scopes.contains_key(scope));
                let removes = before
                    .scopes
                    .keys()
                    .any(|scope| !after.scopes.contains_key(scope));
                let step =
                    |server: ResourceServerState, adds_scopes, removes_scopes| Step::Server {
                        write: Write::UpdateResourceServer(server),
                        identifier: after.identifier.clone(),
                        adds_scopes,
                        removes_scopes,
                    };
                if adds && removes {
                    // Two phases: the union first, so granted scopes exist before clients move.
                    let mut union = after.clone();
                    for (scope, description) in &before.scopes {
                        union
                            .scopes
                            .entry(scope.clone())
                            .or_insert_with(|| description.clone());
                    }
                    let first = steps.len();
                    steps.push((step(union, true, false), None));
                    steps.push((step(after.clone(), false, true), Some(first)));
                } else {
                    steps.push((step(after.clone(), adds, removes), None));
                }
            }
            (
                Resource::ResourceServer {
                    identifier,
                    after: None,
                    ..
                },
                Change::Delete,
            ) => steps.push((
                Step::Server {
                    write: Write::DeleteResourceServer(identifier.clone()),
                    identifier: identifier.clone(),
                    adds_scopes: false,
                    removes_scopes: true,
                },
                None,
            )),
            (
                Resource::Client {
                    spec: Some(spec), ..
                },
                Change::Create,
            ) => steps.push((
                Step::Client {
                    write: Write::CreateClient {
                        service: action.service.clone(),
                        spec: spec.clone(),
                    },
                    grants_from: identifiers_of(&spec.scopes),
                    drops_from: BTreeSet::new(),
                },
                None,
            )),
            (
                Resource::Client {
                    after: Some(after),
                    before,
                    ..
                },
                _,
            ) => {
                let before_scopes = before
                    .as_ref()
                    .map(|before| before.scopes.clone())
                    .unwrap_or_default();
                steps.push((
                    Step::Client {
                        write: Write::UpdateClient(after.clone()),
                        grants_from: identifiers_of(after.scopes.difference(&before_scopes)),
                        drops_from: identifiers_of(before_scopes.difference(&after.scopes)),
                    },
                    None,
                ));
            }
            (
                Resource::Client {
                    id: Some(id),
                    name,
                    before,
                    ..
                },
                Change::Delete,
            ) => {
                // Without a description, assume it may use any scope: it goes before every removal.
                let drops_from = match before {
                    Some(before) => identifiers_of(&before.scopes),
                    None => plan
                        .actions
                        .iter()
                        .filter_map(|action| match &action.resource {
                            Resource::ResourceServer { identifier, .. } => Some(identifier.clone()),
                            Resource::Client { .. } => None,
                        })
                        .collect(),
                };
                steps.push((
                    Step::Client {
                        write: Write::DeleteClient {
                            id: id.clone(),
                            name: name.clone(),
                        },
                        grants_from: BTreeSet::new(),
                        drops_from,
                    },
                    None,
                ));
            }
            _ => {}
        }
    }
    steps
}

/// The dependency graph of a plan's operations; an edge runs from a step to one that must wait
/// for it.
fn graph(plan: &Plan) -> DiGraph<Step, ()> {
    let mut graph = DiGraph::new();
    let mut nodes = Vec::new();
    for (step, after) in steps(plan) {
        let node = graph.add_node(step);
        if let Some(first) = after {
            graph.add_edge(nodes[first], node, ());
        }
        nodes.push(node);
    }
    let mut edges = Vec::new();
    for &server in &nodes {
        let Step::Server {
            identifier,
            adds_scopes,
            removes_scopes,
            ..
        } = &graph[server]
        else {
            continue;
        };
        for &client in &nodes {
            let Step::Client {
                grants_from,
                drops_from,
                ..
            } = &graph[client]
            else {
                continue;
            };
            if *adds_scopes && grants_from.contains(identifier) {
                edges.push((server, client));
            }
            if *removes_scopes && drops_from.contains(identifier) {
                edges.push((client, server));
            }
        }
    }
    for (from, to) in edges {
        graph.add_edge(from, to, ());
    }
    graph
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// The clients this run created, by service: their credentials are stored next.
    pub created_clients: std::collections::BTreeMap<String, CreatedCredential>,
    pub added: usize,
    pub changed: usize,
    pub destroyed: usize,
    pub imported: usize,
    /// The clients this run updated whose reply showed a secret, by client id: their stored
    /// credentials are rewritten from it, without describing them again.
    pub updated_clients: std::collections::BTreeMap<String, UpdatedCredential>,
    /// What the caller saves once it has stored the new clients' credentials.
    pub record: Option<FinalRecord>,
}

/// A client as this run updated it, and the secret UpdateUserPoolClient's reply showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdatedCredential {
    pub state: ClientState,
    pub secret: Secret,
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("{failed} of {total} operations failed; the first: {first}")]
    Failed {
        failed: usize,
        total: usize,
        first: CloudError,
    },
    #[error("{count} clients named `{name}` exist after a failed create; cogwire will not guess which is its own (ids {})", ids.join(", "))]
    Duplicate {
        name: String,
        count: usize,
        ids: Vec<String>,
    },
    /// Another run took the lock (or it was removed) while this one ran: it stopped writing.
    #[error(
        "{lost}; this apply stopped after {added} added, {changed} changed, {destroyed} destroyed, and made no further change"
    )]
    LockLost {
        lost: Box<LockError>,
        added: usize,
        changed: usize,
        destroyed: usize,
    },
    #[error(transparent)]
    Record(#[from] RecordError),
}

impl ApplyError {
    pub fn hint(&self) -> String {
        let again = "run apply again: it continues from what succeeded";
        match self {
            Self::Failed { first, .. } => first.hint().map_or_else(
                || again.to_owned(),
                |hint| format!("{hint}; what succeeded is recorded, so running apply again continues from there"),
            ),
            Self::Duplicate { .. } => {
                "delete the extra client in the Cognito console, then apply again".to_owned()
            }
            Self::LockLost { lost, .. } => lost.hint().unwrap_or_else(|| again.to_owned()),
            Self::Record(_) => again.to_owned(),
        }
    }

    /// The error for a run that found its lock gone after `outcome`.
    pub fn lock_lost(lost: LockError, outcome: &Outcome) -> Self {
        Self::LockLost {
            lost: Box::new(lost),
            added: outcome.added,
            changed: outcome.changed,
            destroyed: outcome.destroyed,
        }
    }
}

/// Tells the engine whether it may still write: it asks before its first write and before each
/// wave of operations it launches, and stops (no further write) at the first `Err`.
pub trait Fence: Sync {
    fn hold(&self, check: Check) -> impl Future<Output = Result<(), LockError>> + Send;
}

/// No lock to check, for tests of the engine alone.
pub struct Unfenced;

impl Fence for Unfenced {
    async fn hold(&self, _: Check) -> Result<(), LockError> {
        Ok(())
    }
}

/// Told of each client the moment it is created, or updated with a reply that shows its secret, so
/// its credentials can be stored while the rest of the plan runs (SSM's slow writes then overlap
/// Cognito's work instead of following it).
pub type OnCreated<'a> = &'a (dyn Fn(&str, &CreatedCredential) + Sync);

/// Reports progress on stderr; the command decides how.
pub trait Progress: Sync {
    fn start(&self, total: usize);
    fn done(&self, message: &str);
}

#[allow(clippy::too_many_arguments)]
pub async fn apply<P: UserPool, S: Parameters, F: Fence>(
    plan: &Plan,
    observed: &Observed,
    pool: &P,
    parameters: &S,
    pacer: &Pacer,
    fence: &F,
    progress: &dyn Progress,
    on_created: OnCreated<'_>,
) -> Result<Outcome, ApplyError> {
    let store = RecordStore::new(parameters, pacer, pool.pool_id());
    let mut record = observed.record.clone();
    let mut slot = observed.record_slot.clone();
    let mut outcome = Outcome::default();

    // Write intent first: what is about to be created or adopted is cogwire's from now on.
    for action in &plan.actions {
        match (&action.resource, action.change) {
            (Resource::ResourceServer { identifier, .. }, Change::Create | Change::Import) => {
                record
                    .resource_servers
                    .insert(identifier.clone(), action.service.clone());
            }
            (Resource::Client { name, .. }, Change::Create) => {
                record
                    .pending_clients
                    .insert(name.clone(), action.service.clone());
                record.credentials_pending.insert(action.service.clone());
            }
            (
                Resource::Client {
                    name,
                    id: Some(id),
                    after,
                    ..
                },
                Change::Import,
            ) => {
                let mut recorded = RecordedClient::new(action.service.clone(), name.clone());
                // Adopted unchanged: it is as it was read. Changed: known once the update is done.
                if !action.writes() {
                    recorded.applied = after.as_deref().map(applied_digest);
                }
                record.clients.insert(id.clone(), recorded);
            }
            (Resource::ResourceServer { identifier, .. }, Change::Forget) => {
                record.resource_servers.remove(identifier);
            }
            // A renamed service keeps its resources: the record moves them to the new name, and
            // the client's credentials are to be stored at the new name's path.
            (Resource::ResourceServer { identifier, .. }, Change::Rename) => {
                record
                    .resource_servers
                    .insert(identifier.clone(), action.service.clone());
            }
            (Resource::Client { id: Some(id), .. }, Change::Rename) => {
                if let Some(recorded) = record.clients.get_mut(id) {
                    recorded.service.clone_from(&action.service);
                }
                record.credentials_pending.insert(action.service.clone());
            }
            _ => {}
        }
        if action.change == Change::Import {
            outcome.imported += 1;
        }
    }
    // Right before the first write: is the lock still this run's?
    fence
        .hold(Check::Now)
        .await
        .map_err(|lost| ApplyError::lock_lost(lost, &outcome))?;
    // The clients about to be written: until this run records what it wrote, no digest of theirs
    // may be trusted (`plan --refresh=false`), should it die in between.
    let unsettled: BTreeSet<String> = plan
        .actions
        .iter()
        .filter(|action| action.writes() && action.change != Change::Create)
        .filter_map(|action| match &action.resource {
            Resource::Client { id: Some(id), .. } => Some(id.clone()),
            Resource::Client { .. } | Resource::ResourceServer { .. } => None,
        })
        .collect();
    let intent_changed = record != observed.record || observed.record_stale;
    for id in &unsettled {
        if let Some(recorded) = record.clients.get_mut(id) {
            recorded.applied = None;
        }
    }
    if intent_changed {
        slot = Some(store.save(&record, slot.as_deref()).await?);
    } else if record != observed.record
        && let Some(current) = &slot
    {
        // Only digests to forget: the pointer alone says so, one write instead of the record.
        store
            .mark_unsettled(current, observed.record_chunks, &unsettled)
            .await?;
    }
    let saved = record.clone();

    let mut graph = graph(plan);
    let total = graph.node_count();
    progress.start(total);
    let mut waiting: Vec<usize> = graph
        .node_indices()
        .map(|node| graph.neighbors_directed(node, Direction::Incoming).count())
        .collect();
    // Which ready operation goes next: clients first (they waited for their scopes), then the
    // resource servers that the most operations wait for, so clients are unblocked early and
    // the two quota buckets stay busy side by side.
    let priority = |node: NodeIndex| {
        let client = matches!(graph[node], Step::Client { .. });
        let dependents = graph.neighbors_directed(node, Direction::Outgoing).count();
        (client, dependents, std::cmp::Reverse(node.index()), node)
    };
    let mut ready: BinaryHeap<_> = graph
        .node_indices()
        .filter(|node| waiting[node.index()] == 0)
        .map(priority)
        .collect();
    let operations: Vec<Write> = graph
        .node_weights()
        .map(|step| step.write().clone())
        .collect();
    let mut running = FuturesUnordered::new();
    let mut failures: Vec<CloudError> = Vec::new();
    let mut duplicate = None;
    let mut lost = None;

    loop {
        // Before each wave: still this run's lock? (Read at most once a second.)
        if lost.is_none()
            && failures.is_empty()
            && duplicate.is_none()
            && running.len() < CONCURRENCY
            && !ready.is_empty()
            && let Err(error) = fence.hold(Check::Due).await
        {
            lost = Some(error);
        }
        let mut launched = 0;
        while lost.is_none()
            && failures.is_empty()
            && duplicate.is_none()
            && running.len() < CONCURRENCY
        {
            let Some(next) = ready.pop() else { break };
            let node = next.3;
            let operation = &operations[node.index()];
            // A wave is what the pacer lets start before the next check of the lock; the rest
            // waits for that check instead of queueing in the pacer past it. (What was launched
            // in this round has not reserved its slot yet: it is counted here.)
            let call = operation.first_call();
            let starts_in = pacer.wait_for(call) + pacer.spacing(call) * launched;
            if !running.is_empty() && starts_in > CHECK_INTERVAL {
                ready.push(next);
                break;
            }
            launched += 1;
            running.push(async move { (node, execute(operation, pool, parameters, pacer).await) });
        }
        let Some((node, result)) = running.next().await else {
            break;
        };
        match result {
            Ok(Executed::Done) => {}
            Ok(Executed::UpdatedClient { secret }) => {
                if let (Write::UpdateClient(client), Some(secret)) =
                    (&operations[node.index()], secret)
                {
                    if let Some(service) = service_of(plan, &client.id) {
                        on_created(
                            service,
                            &CreatedCredential {
                                id: client.id.clone(),
                                spec: ClientSpec {
                                    name: client.name.clone(),
                                    scopes: client.scopes.clone(),
                                    access_token_validity: client.effective_access_token_validity(),
                                },
                                secret: Some(secret.clone()),
                            },
                        );
                    }
                    outcome.updated_clients.insert(
                        client.id.clone(),
                        UpdatedCredential {
                            state: client.as_ref().clone(),
                            secret,
                        },
                    );
                }
            }
            Ok(Executed::CreatedClient { id, secret }) => {
                if let Write::CreateClient { service, spec } = &operations[node.index()] {
                    let credential = CreatedCredential {
                        id: id.clone(),
                        spec: spec.clone(),
                        secret,
                    };
                    // Created as declared; one found by name after a lost reply is read next time.
                    let applied = credential
                        .secret
                        .is_some()
                        .then(|| applied_digest(&declared_state(spec, &id)));
                    on_created(service, &credential);
                    outcome.created_clients.insert(service.clone(), credential);
                    record.pending_clients.remove(&spec.name);
                    let mut recorded = RecordedClient::new(service.clone(), spec.name.clone());
                    recorded.applied = applied;
                    record.clients.insert(id, recorded);
                }
            }
            Err(Failure::Cloud(error)) => {
                failures.push(error);
                continue;
            }
            Err(Failure::Duplicate { name, ids }) => {
                duplicate = Some((name, ids));
                continue;
            }
        }
        let operation = &operations[node.index()];
        match operation {
            Write::CreateResourceServer(_) | Write::CreateClient { .. } => outcome.added += 1,
            Write::UpdateResourceServer(_) => outcome.changed += 1,
            Write::UpdateClient(client) => {
                if let Some(recorded) = record.clients.get_mut(&client.id) {
                    recorded.applied = Some(applied_digest(client));
                }
                outcome.changed += 1;
            }
            Write::DeleteResourceServer(identifier) => {
                record.resource_servers.remove(identifier);
                outcome.destroyed += 1;
            }
            Write::DeleteClient { id, .. } => {
                record.clients.remove(id);
                outcome.destroyed += 1;
            }
        }
        tracing::debug!("{}", operation.describe_done());
        progress.done(&operation.describe_done());
        let dependents: Vec<NodeIndex> = graph
            .neighbors_directed(node, Direction::Outgoing)
            .collect();
        for dependent in dependents {
            waiting[dependent.index()] -= 1;
            if waiting[dependent.index()] == 0 {
                ready.push(priority(dependent));
            }
        }
    }
    graph.clear();

    if let Some(lost) = lost {
        // No further write: the intent saved before the first write tells the next run what
        // this one may have created.
        return Err(ApplyError::lock_lost(lost, &outcome));
    }
    let failed = duplicate.is_some() || !failures.is_empty();
    if failed && record != saved {
        fence
            .hold(Check::Now)
            .await
            .map_err(|lost| ApplyError::lock_lost(lost, &outcome))?;
        store.save(&record, slot.as_deref()).await?;
    }
    if let Some((name, ids)) = duplicate {
        return Err(ApplyError::Duplicate {
            count: ids.len(),
            name,
            ids,
        });
    }
    if let Some(first) = failures.first() {
        return Err(ApplyError::Failed {
            failed: failures.len(),
            total,
            first: first.clone(),
        });
    }
    outcome.record = Some(FinalRecord {
        record,
        slot,
        saved,
    });
    Ok(outcome)
}

/// The service of the plan's action on client `id`.
fn service_of<'p>(plan: &'p Plan, id: &str) -> Option<&'p str> {
    plan.actions
        .iter()
        .find_map(|action| match &action.resource {
            Resource::Client { id: Some(own), .. } if own == id => Some(action.service.as_str()),
            _ => None,
        })
}

/// The record as a successful run leaves it, not saved yet: the caller saves it once the new
/// clients' credentials are stored, so that one save records both (at a thousand services the
/// record is dozens of SSM writes). Until then the saved record holds the run's intent, from
/// which the next run recovers if this one dies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinalRecord {
    record: crate::apply::record::Record,
    slot: Option<String>,
    saved: crate::apply::record::Record,
}

impl FinalRecord {
    /// Saves the record, the services in `stored` no longer marked as waiting for credentials.
    pub async fn save<S: Parameters>(
        mut self,
        parameters: &S,
        pacer: &Pacer,
        pool_id: &str,
        stored: &BTreeSet<String>,
    ) -> Result<(), RecordError> {
        self.record
            .credentials_pending
            .retain(|service| !stored.contains(service));
        if self.record != self.saved {
            RecordStore::new(parameters, pacer, pool_id)
                .save(&self.record, self.slot.as_deref())
                .await?;
        }
        Ok(())
    }
}

enum Executed {
    Done,
    /// The secret UpdateUserPoolClient's reply showed, if any.
    UpdatedClient {
        secret: Option<Secret>,
    },
    /// `secret` is `None` when the client was found by name after a lost reply.
    CreatedClient {
        id: String,
        secret: Option<Secret>,
    },
}

/// A client this run created, as CreateUserPoolClient told it: what storing its credentials
/// needs, without describing it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedCredential {
    pub id: String,
    pub spec: ClientSpec,
    /// `None` when the reply was lost and the client was found by name: describe it to learn it.
    pub secret: Option<Secret>,
}

enum Failure {
    Cloud(CloudError),
    Duplicate { name: String, ids: Vec<String> },
}

impl From<CloudError> for Failure {
    fn from(error: CloudError) -> Self {
        Self::Cloud(error)
    }
}

async fn execute<P: UserPool, S: Parameters>(
    operation: &Write,
    pool: &P,
    parameters: &S,
    pacer: &Pacer,
) -> Result<Executed, Failure> {
    match operation {
        Write::CreateResourceServer(server) => {
            match pacer
                .call(Operation::CreateResourceServer, || {
                    pool.create_resource_server(server)
                })
                .await
            {
                // A retry after a lost reply finds its own earlier success.
                Ok(()) | Err(CloudError::AlreadyExists { .. }) => {}
                Err(CloudError::Rejected { code, .. })
                    if code == "InvalidParameterException"
                        && exists(pool, pacer, server).await? => {}
                Err(error) => return Err(error.into()),
            }
        }
        Write::UpdateResourceServer(server) => {
            pacer
                .call(Operation::UpdateResourceServer, || {
                    pool.update_resource_server(server)
                })
                .await?;
        }
        Write::DeleteResourceServer(identifier) => {
            match pacer
                .call(Operation::DeleteResourceServer, || {
                    pool.delete_resource_server(identifier)
                })
                .await
            {
                Ok(()) | Err(CloudError::NotFound { .. }) => {}
                Err(error) => return Err(error.into()),
            }
        }
        Write::CreateClient { spec, .. } => return create_client(spec, pool, pacer).await,
        Write::UpdateClient(client) => {
            let secret = pacer
                .call(Operation::UpdateUserPoolClient, || {
                    pool.update_client(client)
                })
                .await?;
            return Ok(Executed::UpdatedClient { secret });
        }
        Write::DeleteClient { id, .. } => {
            // The fingerprints rotation kept of its secrets go first: should the run die between
            // the two, the next run still destroys the client (and deletes them again), whereas
            // a client gone first would leave them to nobody.
            let fingerprints = crate::apply::record::fingerprints_name(pool.pool_id(), id);
            pacer
                .call(Operation::DeleteParameter, || {
                    parameters.delete(&fingerprints)
                })
                .await?;
            match pacer
                .call(Operation::DeleteUserPoolClient, || pool.delete_client(id))
                .await
            {
                Ok(()) | Err(CloudError::NotFound { .. }) => {}
                Err(error) => return Err(error.into()),
            }
        }
    }
    Ok(Executed::Done)
}

async fn exists<P: UserPool>(
    pool: &P,
    pacer: &Pacer,
    server: &ResourceServerState,
) -> Result<bool, CloudError> {
    let servers = crate::cloud::list_resource_servers(pool, pacer).await?;
    Ok(servers.iter().any(|existing| existing == server))
}

/// Creates a client without ever making a second one of the same name: after any failure that may
/// have happened after Cognito acted (a 5xx, a time-out, a dropped connection), the pacer has the
/// name looked up before trying again.
async fn create_client<P: UserPool>(
    spec: &ClientSpec,
    pool: &P,
    pacer: &Pacer,
) -> Result<Executed, Failure> {
    /// What one create, or the look after it failed, found.
    enum Creation {
        Created(crate::cloud::CreatedClient),
        Found(String),
        Duplicates(Vec<String>),
    }
    let creation = pacer
        .call_looking(
            Operation::CreateUserPoolClient,
            || async { pool.create_client(spec).await.map(Creation::Created) },
            || async {
                let ids: Vec<String> = crate::cloud::list_clients(pool, pacer)
                    .await?
                    .into_iter()
                    .filter(|client| client.name == spec.name)
                    .map(|client| client.id)
                    .collect();
                Ok(match ids.len() {
                    0 => None,
                    1 => ids.into_iter().next().map(Creation::Found),
                    _ => Some(Creation::Duplicates(ids)),
                })
            },
        )
        .await?;
    match creation {
        Creation::Created(created) => Ok(Executed::CreatedClient {
            id: created.id,
            secret: Some(created.secret),
        }),
        Creation::Found(id) => Ok(Executed::CreatedClient { id, secret: None }),
        Creation::Duplicates(ids) => Err(Failure::Duplicate {
            name: spec.name.clone(),
            ids,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::load;
    use crate::plan::diff::{Selection, diff};
    use crate::plan::observed::Observed;

    fn execution_order(plan: &Plan) -> Vec<String> {
        let graph = graph(plan);
        petgraph::algo::toposort(&graph, None)
            .expect("acyclic")
            .into_iter()
            .map(|node| graph[node].write().describe_done())
            .collect()
    }

    fn position(order: &[String], wanted: &str) -> usize {
        order
            .iter()
            .position(|done| done == wanted)
            .unwrap_or_else(|| panic!("{wanted} not in {order:?}"))
    }

    #[test]
    fn scopes_exist_before_clients_are_granted_them() {
        let model = load(
            "[services.a]\nscopes = { \"r\" = \"R\" }\n[services.b]\nconsumes = [\"a/r\"]\n",
            None,
        )
        .expect("valid");
        let plan = diff(&model, &Observed::default(), &Selection::all()).expect("plan");
        let order = execution_order(&plan);
        assert!(
            position(&order, "created resource server a")
                < position(&order, "created client b-app-client")
        );
    }

    #[test]
    fn clients_let_go_before_resource_servers_go() {
        let before = load("[services.a]\nscopes = { \"r\" = \"R\", \"w\" = \"W\" }\n[services.b]\nconsumes = [\"a/r\", \"a/w\"]\n", None).expect("valid");
        let empty = diff(&before, &Observed::default(), &Selection::all()).expect("plan");
        // Build the observed pool as if `empty` had been applied.
        let mut observed = Observed::default();
        for action in &empty.actions {
            match &action.resource {
                Resource::ResourceServer {
                    after: Some(after),
                    identifier,
                    ..
                } => {
                    observed
                        .resource_servers
                        .insert(identifier.clone(), after.clone());
                    observed
                        .record
                        .resource_servers
                        .insert(identifier.clone(), action.service.clone());
                }
                Resource::Client {
                    spec: Some(spec), ..
                } => {
                    let state = crate::cloud::ClientState {
                        id: "c1".into(),
                        name: spec.name.clone(),
                        has_secret: true,
                        allowed_oauth_flows: ["client_credentials".to_owned()].into(),
                        allowed_oauth_flows_user_pool_client: true,
                        scopes: spec.scopes.clone(),
                        access_token_validity: Some(spec.access_token_validity),
                        extras: Default::default(),
                    };
                    observed.clients.push(crate::cloud::ClientSummary {
                        id: "c1".into(),
                        name: spec.name.clone(),
                    });
                    observed.described.insert("c1".into(), state);
                    observed.record.clients.insert(
                        "c1".into(),
                        RecordedClient::new(action.service.clone(), spec.name.clone()),
                    );
                }
                _ => {}
            }
        }
        // `w` is replaced by `x`: the server first gains `x`, the client moves, then `w` goes.
        let after = load("[services.a]\nscopes = { \"r\" = \"R\", \"x\" = \"X\" }\n[services.b]\nconsumes = [\"a/r\", \"a/x\"]\n", None).expect("valid");
        let plan = diff(&after, &observed, &Selection::all()).expect("plan");
        let order = execution_order(&plan);
        assert_eq!(order.len(), 3, "{order:?}");
        assert_eq!(order[1], "updated client b-app-client (c1)");
        let operations = graph(&plan);
        let Write::UpdateResourceServer(first) = operations[NodeIndex::new(0)].write() else {
            panic!("{order:?}")
        };
        assert_eq!(first.scopes.len(), 3, "the first phase holds the union");

        // Removing service b and a: the client goes before the server.
        let gone = load("[services.z]\nscopes = { \"z\" = \"Z\" }\n", None).expect("valid");
        let plan = diff(&gone, &observed, &Selection::all()).expect("plan");
        let order = execution_order(&plan);
        assert!(
            position(&order, "destroyed client b-app-client (c1)")
                < position(&order, "destroyed resource server a")
        );
    }
}
