//! Apply, phase two: the plan's writes as a graph of operations, run as soon as what they wait
//! for is done. New scopes exist before any client is granted them, clients drop a scope before
//! its resource server removes it, clients go before the resource servers they used, and
//! everything independent runs at once (the pacer sets the rate). Each finished operation is
//! handed to [`Settle`]; before each wave the lock is checked, and no wave starts after a failure.

use std::collections::{BTreeSet, BinaryHeap};

use futures_util::StreamExt as _;
use futures_util::stream::FuturesUnordered;
use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};

use crate::apply::lock::{CHECK_INTERVAL, Check, LockError};
use crate::apply::{Fence, Progress};
use crate::cloud::operation::Operation;
use crate::cloud::pace::Pacer;
use crate::cloud::{
    ClientSpec, ClientState, CloudError, CreatedClient, Parameters, ResourceServerState, UserPool,
};
use crate::plan::{Action, ClientAction, ClientChange, Plan, ServerChange};
use crate::sensitive::Secret;

/// Operations in flight at once; the pacer keeps them within Cognito's quotas.
const CONCURRENCY: usize = 32;

/// One write to the pool.
#[derive(Debug, Clone)]
pub(super) enum Write {
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

    pub(super) fn describe_done(&self) -> String {
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

/// The plan's writes in order, each with the earlier step it must follow, if any (the two phases
/// of a resource server that both gains and loses scopes).
fn steps(plan: &Plan) -> Vec<(Step, Option<usize>)> {
    let mut steps = Vec::new();
    for action in plan.actions.iter().filter(|action| action.writes()) {
        match action {
            Action::ResourceServer(server) => match &server.change {
                ServerChange::Create { after, .. } => steps.push((
                    Step::Server {
                        write: Write::CreateResourceServer(after.clone()),
                        identifier: server.identifier.clone(),
                        adds_scopes: true,
                        removes_scopes: false,
                    },
                    None,
                )),
                ServerChange::Update(edit) | ServerChange::Import(edit) => {
                    let (before, after) = (&edit.before, &edit.after);
                    let adds = !server.restored_scopes().is_empty();
                    let removes = !server.removed_scopes().is_empty();
                    let step =
                        |state: ResourceServerState, adds_scopes, removes_scopes| Step::Server {
                            write: Write::UpdateResourceServer(state),
                            identifier: server.identifier.clone(),
                            adds_scopes,
                            removes_scopes,
                        };
                    if adds && removes {
                        // Two phases: the union first, so granted scopes exist before clients
                        // move.
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
                ServerChange::Delete { .. } => steps.push((
                    Step::Server {
                        write: Write::DeleteResourceServer(server.identifier.clone()),
                        identifier: server.identifier.clone(),
                        adds_scopes: false,
                        removes_scopes: true,
                    },
                    None,
                )),
                ServerChange::Forget { .. } | ServerChange::Rename { .. } => {}
            },
            Action::Client(ClientAction {
                service,
                name,
                change,
            }) => match change {
                ClientChange::Create { spec, .. } => steps.push((
                    Step::Client {
                        write: Write::CreateClient {
                            service: service.clone(),
                            spec: spec.clone(),
                        },
                        grants_from: identifiers_of(&spec.scopes),
                        drops_from: BTreeSet::new(),
                    },
                    None,
                )),
                ClientChange::Update(edit) | ClientChange::Import(edit) => steps.push((
                    Step::Client {
                        write: Write::UpdateClient(edit.after.clone()),
                        grants_from: identifiers_of(
                            edit.after.scopes.difference(&edit.before.scopes),
                        ),
                        drops_from: identifiers_of(
                            edit.before.scopes.difference(&edit.after.scopes),
                        ),
                    },
                    None,
                )),
                ClientChange::Delete { id, before } => {
                    // Without a description, assume it may use any scope: it goes before every
                    // removal.
                    let drops_from = match before {
                        Some(before) => identifiers_of(&before.scopes),
                        None => plan
                            .actions
                            .iter()
                            .filter_map(|action| match action {
                                Action::ResourceServer(server) => Some(server.identifier.clone()),
                                Action::Client(_) => None,
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
                ClientChange::Rename { .. } => {}
            },
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

/// What the schedule hands each finished operation to (the settle phase).
pub(super) trait Finished {
    /// Whether an operation failed: no further one is launched.
    fn failed(&self) -> bool;
    /// Takes one finished operation; true when it succeeded, so what waits for it may start.
    fn finished(&mut self, write: &Write, result: Result<Executed, Failure>) -> bool;
}

/// How the schedule ended.
pub(super) struct Scheduled {
    /// Operations in the graph.
    pub total: usize,
    /// The lock was found gone: nothing was launched after.
    pub lost: Option<LockError>,
}

/// Runs the plan's operations, each as soon as those it waits for are done, handing each result
/// to `settle`. Stops launching at the first failure or a lost lock, and lets what is in flight
/// finish.
pub(super) async fn run<P: UserPool, S: Parameters, F: Fence>(
    plan: &Plan,
    pool: &P,
    parameters: &S,
    pacer: &Pacer,
    fence: &F,
    progress: &dyn Progress,
    settle: &mut impl Finished,
) -> Scheduled {
    let graph = graph(plan);
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
    // Launched operations, and how many of them have been polled: an operation reserves its
    // pacer slot when first polled, and FuturesUnordered may hand back a finished one before it
    // polls those launched last, so a wave counts the unpolled ones itself.
    let mut launched_in_all = 0usize;
    let polled = std::sync::atomic::AtomicUsize::new(0);
    let mut running = FuturesUnordered::new();
    let mut lost = None;

    loop {
        let launching = lost.is_none() && !settle.failed() && running.len() < CONCURRENCY;
        // Before each wave: still this run's lock? (Read at most once a second.)
        if launching
            && !ready.is_empty()
            && let Err(error) = fence.hold(Check::Due).await
        {
            lost = Some(error);
        }
        while lost.is_none() && !settle.failed() && running.len() < CONCURRENCY {
            let Some(next) = ready.pop() else { break };
            let node = next.3;
            let write = graph[node].write();
            // A wave is what the pacer lets start before the next check of the lock; the rest
            // waits for that check instead of queueing in the pacer past it. (What was launched
            // but not yet polled has not reserved its slot: it is counted here.)
            let call = write.first_call();
            let unreserved =
                launched_in_all.saturating_sub(polled.load(std::sync::atomic::Ordering::Relaxed));
            let starts_in = pacer.wait_for(call, u32::try_from(unreserved).unwrap_or(u32::MAX));
            if !running.is_empty() && starts_in > CHECK_INTERVAL {
                ready.push(next);
                break;
            }
            launched_in_all += 1;
            let polled = &polled;
            running.push(async move {
                polled.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                (node, execute(write, pool, parameters, pacer).await)
            });
        }
        let Some((node, result)) = running.next().await else {
            break;
        };
        let write = graph[node].write();
        if !settle.finished(write, result) {
            continue;
        }
        tracing::debug!("{}", write.describe_done());
        progress.done(&write.describe_done());
        for dependent in graph.neighbors_directed(node, Direction::Outgoing) {
            waiting[dependent.index()] -= 1;
            if waiting[dependent.index()] == 0 {
                ready.push(priority(dependent));
            }
        }
    }
    Scheduled { total, lost }
}

/// What one write did.
pub(super) enum Executed {
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

pub(super) enum Failure {
    Cloud(CloudError),
    Duplicate { name: String, ids: Vec<String> },
}

impl From<CloudError> for Failure {
    fn from(error: CloudError) -> Self {
        Self::Cloud(error)
    }
}

async fn execute<P: UserPool, S: Parameters>(
    write: &Write,
    pool: &P,
    parameters: &S,
    pacer: &Pacer,
) -> Result<Executed, Failure> {
    match write {
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
            let fingerprints = crate::config::namespace::fingerprints_name(pool.pool_id(), id);
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
        Created(CreatedClient),
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
    use crate::apply::record::RecordedClient;
    use crate::config::model::load;
    use crate::plan::diff::{Selection, diff};
    use crate::plan::observed::Observed;
    use crate::plan::{ClientAction, ServerAction};

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
            match action {
                Action::ResourceServer(ServerAction {
                    service,
                    identifier,
                    change: ServerChange::Create { after, .. },
                }) => {
                    observed
                        .resource_servers
                        .insert(identifier.clone(), after.clone());
                    observed
                        .record
                        .resource_servers
                        .insert(identifier.clone(), service.clone());
                }
                Action::Client(ClientAction {
                    service,
                    change: ClientChange::Create { spec, .. },
                    ..
                }) => {
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
                        RecordedClient::new(service.clone(), spec.name.clone()),
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
