//! The live state of a pool, read with as few calls as possible: every resource server and every
//! client's name from the list calls, and full descriptions only of the clients cogwire manages or
//! is about to adopt. Clients cogwire neither manages nor declares are described only when a plan
//! removes a scope or a resource server (`describe_more`, asked by `diff::undescribed_holders`),
//! so that the plan can name every caller that loses access.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::{StreamExt as _, TryStreamExt as _, stream};
use serde::{Deserialize, Serialize};

use crate::apply::Fence;
use crate::apply::lock::{Check, LockError};
use crate::apply::record::{DIGESTS_SINCE, Record, RecordError, RecordStore, applied_digest};
use crate::cloud::operation::Operation;
use crate::cloud::pace::Pacer;
use crate::cloud::{
    ClientState, ClientSummary, CloudError, Parameters, PoolNotFound, ResourceServerState, UserPool,
};
use crate::plan::Refresh;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observed {
    pub pool_id: String,
    pub resource_servers: BTreeMap<String, ResourceServerState>,
    pub clients: Vec<ClientSummary>,
    /// Full descriptions, by client id, of the clients that matter to this run.
    pub described: BTreeMap<String, ClientState>,
    pub record: Record,
    /// The record's slot in SSM, to save the next version beside it.
    #[serde(skip)]
    pub record_slot: Option<String>,
    /// Services whose client a run that died had created (see `Record::reconcile`).
    #[serde(skip)]
    pub recovered_clients: Vec<String>,
    /// The stored record says more than the pool bears out (a create that failed, a resource
    /// deleted elsewhere): the next apply saves `record` even with nothing else to do, so that a
    /// stale name is never later taken for cogwire's.
    #[serde(skip)]
    pub record_stale: bool,
    /// How many chunks the record's slot holds (to rewrite its pointer alone).
    #[serde(skip)]
    pub record_chunks: usize,
    /// How the clients were read.
    #[serde(skip)]
    pub refresh: Refresh,
    /// The clients taken from the record as declared, undescribed (`Reading::Trusting`).
    #[serde(skip)]
    pub trusted: BTreeSet<String>,
    /// Clients whose digests the stored record no longer holds because this read made it forget
    /// them (`Forget::Differing`): an apply need not mark them again before writing them.
    #[serde(skip)]
    pub forgotten: BTreeSet<String>,
}

/// Whether the read makes the stored record forget digests an apply is about to overturn.
pub enum Forget<'a, F> {
    /// A plan's read: it writes nothing.
    Nothing,
    /// An apply's read, under its lock: the managed clients whose declaration (these, by name)
    /// differs from their digest are the ones it may update, and their digests must be gone from
    /// the stored record before the first write (`intent`). The record forgets them while the
    /// clients are described, off the path of the writes that follow; it forgets nothing a
    /// `--refresh=false` plan would have trusted, since such a plan describes those clients.
    /// `fence` is the run's lock, checked right before that write as before every other.
    Differing {
        declared: &'a BTreeMap<String, ClientState>,
        fence: &'a F,
    },
}

/// A plan's read, which writes nothing and so checks no lock.
pub const NOTHING: Forget<'static, crate::apply::Unfenced> = Forget::Nothing;

/// How to read the clients cogwire manages.
#[derive(Debug, Clone, Copy)]
pub enum Reading<'a> {
    /// Describe every managed or declared client: drift anywhere is seen.
    Full,
    /// `--refresh=false`: a managed client whose record digest equals its declaration's (by
    /// client name, as `diff::declared_clients` gives them) is taken as declared, undescribed.
    Trusting(&'a BTreeMap<String, ClientState>),
}

impl Observed {
    pub fn clients_named<'a>(
        &'a self,
        name: &'a str,
    ) -> impl Iterator<Item = &'a ClientSummary> + 'a {
        self.clients
            .iter()
            .filter(move |client| client.name == name)
    }

    /// A stable fingerprint of what was read, so that `apply PLANFILE` can tell whether the pool
    /// changed since the plan was made (FNV-1a over the canonical JSON).
    pub fn digest(&self) -> String {
        fingerprint(self)
    }

    /// A fingerprint of each resource read, and of the record, labelled as a plan labels them:
    /// the compact part of a saved plan that lets a refused `apply PLANFILE` say what changed.
    pub fn resource_digests(&self) -> BTreeMap<String, String> {
        let mut digests = BTreeMap::new();
        for (identifier, server) in &self.resource_servers {
            digests.insert(format!("resource server {identifier}"), fingerprint(server));
        }
        for client in &self.clients {
            digests.insert(
                format!("client {} ({})", client.name, client.id),
                fingerprint(&(client, self.described.get(&client.id))),
            );
        }
        digests.insert(
            "cogwire's ownership record".to_owned(),
            fingerprint(&self.record),
        );
        digests
    }

    /// Describes the clients `ids` too (see `diff::undescribed_holders`).
    pub async fn describe_more<P: UserPool>(
        &mut self,
        pool: &P,
        pacer: &Pacer,
        ids: Vec<String>,
    ) -> Result<(), CloudError> {
        let described = describe(pool, pacer, ids).await?;
        tracing::info!(
            "described {} more clients that may hold a removed scope",
            described.len()
        );
        if let Refresh::Skipped {
            trusted,
            described: read,
        } = &mut self.refresh
        {
            let were_trusted = described
                .keys()
                .filter(|id| self.trusted.contains(*id))
                .count();
            *trusted -= were_trusted;
            *read += were_trusted;
        }
        for id in described.keys() {
            self.trusted.remove(id);
        }
        self.described.extend(described);
        Ok(())
    }
}

/// FNV-1a over the canonical JSON.
fn fingerprint<T: Serialize + ?Sized>(value: &T) -> String {
    let canonical = serde_json::to_string(value).unwrap_or_default();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in canonical.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

async fn describe<P: UserPool>(
    pool: &P,
    pacer: &Pacer,
    ids: Vec<String>,
) -> Result<BTreeMap<String, ClientState>, CloudError> {
    stream::iter(ids)
        .map(|id| async move {
            let state = pacer
                .call(Operation::DescribeUserPoolClient, || {
                    pool.describe_client(&id)
                })
                .await?;
            Ok::<_, CloudError>((id, state))
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    PoolNotFound(#[from] PoolNotFound),
    #[error(transparent)]
    Cloud(#[from] CloudError),
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error(transparent)]
    Lock(#[from] LockError),
}

impl ReadError {
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::PoolNotFound(not_found) => Some(not_found.hint()),
            Self::Cloud(cloud) => cloud.hint(),
            Self::Record(record) => record.hint(),
            Self::Lock(lock) => lock.hint(),
        }
    }
}

/// How many descriptions may be in flight at once; the limiter sets the actual rate.
const CONCURRENCY: usize = 16;

/// Reads the pool. `wanted_names` are the client names the desired state declares; those clients,
/// and every client the record says cogwire manages, are described, except, when `reading` trusts
/// the record, those whose declaration is what cogwire last applied.
pub async fn read<P: UserPool, S: Parameters, F: Fence>(
    pool: &P,
    parameters: &S,
    pacer: &Pacer,
    wanted_names: &BTreeSet<String>,
    reading: Reading<'_>,
    forget: Forget<'_, F>,
) -> Result<Observed, ReadError> {
    let store = RecordStore::new(parameters, pacer, pool.pool_id());
    // The clients to describe follow from the client list and the record alone: they are
    // described while the resource servers' pages are still being listed.
    let clients_and_record = async {
        let (clients, loaded) = tokio::join!(
            crate::cloud::list_clients(pool, pacer),
            store.load_versioned()
        );
        let mut clients = clients.map_err(ReadError::Cloud)?;
        clients.sort_by(|left, right| left.id.cmp(&right.id));
        let loaded = loaded?;
        let mut record = loaded.record.clone();
        let recovered = record.reconcile_clients(&clients);
        let mut to_describe = Vec::new();
        let mut described = BTreeMap::new();
        for client in clients.iter().filter(|client| {
            wanted_names.contains(&client.name) || record.clients.contains_key(&client.id)
        }) {
            match trusted(&record, client, reading) {
                Some(state) => {
                    described.insert(client.id.clone(), state);
                }
                None => to_describe.push(client.id.clone()),
            }
        }
        let (differing, fence) = match forget {
            Forget::Nothing => (BTreeSet::new(), None),
            Forget::Differing { declared, fence } => {
                (differing(&loaded.record, &clients, declared), Some(fence))
            }
        };
        let (read, forgotten) = tokio::join!(
            describe(pool, pacer, to_describe),
            forget_in_store(&store, &loaded, differing, fence)
        );
        let read = read.map_err(ReadError::Cloud)?;
        let (slot, forgotten) = forgotten?;
        Ok::<_, ReadError>((
            clients, loaded, slot, forgotten, record, recovered, described, read,
        ))
    };
    let (servers, clients_and_record) = tokio::join!(
        crate::cloud::list_resource_servers(pool, pacer),
        clients_and_record,
    );
    let servers = servers.map_err(|error| match error {
        CloudError::NotFound { .. } => ReadError::PoolNotFound(PoolNotFound::of(pool)),
        other => ReadError::Cloud(other),
    })?;
    let (clients, loaded, slot, forgotten, mut record, recovered, mut described, read) =
        clients_and_record?;
    let identifiers: Vec<String> = servers
        .iter()
        .map(|server| server.identifier.clone())
        .collect();
    record.reconcile_resource_servers(&identifiers);
    let trusted: BTreeSet<String> = described.keys().cloned().collect();
    let trusted_count = trusted.len();
    // What was read is what the record knows of each client from now on.
    for (id, state) in &read {
        if let Some(recorded) = record.clients.get_mut(id) {
            recorded.applied = Some(applied_digest(state));
        }
    }
    let read_count = read.len();
    described.extend(read);
    let record_stale = record != loaded.record;
    let refresh = match (reading, loaded.format_version) {
        (Reading::Full, _) => Refresh::Full,
        (Reading::Trusting(_), Some(format)) if format < DIGESTS_SINCE => Refresh::FellBack {
            record_format: format,
        },
        (Reading::Trusting(_), _) => Refresh::Skipped {
            trusted: trusted_count,
            described: read_count,
        },
    };

    tracing::info!(
        "read user pool {}: {} resource servers, {} clients, {} described, {} trusted from the record",
        pool.pool_id(),
        servers.len(),
        clients.len(),
        read_count,
        trusted_count,
    );
    Ok(Observed {
        pool_id: pool.pool_id().to_owned(),
        resource_servers: servers
            .into_iter()
            .map(|server| (server.identifier.clone(), server))
            .collect(),
        clients,
        described,
        record,
        record_slot: slot,
        recovered_clients: recovered,
        record_stale,
        record_chunks: loaded.chunks,
        refresh,
        trusted,
        forgotten,
    })
}

/// The managed clients (as listed) whose stored digest is not that of their declaration.
fn differing(
    record: &Record,
    clients: &[ClientSummary],
    declared: &BTreeMap<String, ClientState>,
) -> BTreeSet<String> {
    clients
        .iter()
        .filter(|client| matches_declaration(record, client, declared) == Some(false))
        .map(|client| client.id.clone())
        .collect()
}

/// Makes the stored record forget the digests of `ids` (one write: the pointer of a record in
/// chunks, or the whole record when it is inline); returns the record's slot afterwards and what
/// it forgot. The clients the pointer already names stay named.
async fn forget_in_store<S: Parameters, F: Fence>(
    store: &RecordStore<'_, S>,
    loaded: &crate::apply::record::Loaded,
    ids: BTreeSet<String>,
    fence: Option<&F>,
) -> Result<(Option<String>, BTreeSet<String>), ReadError> {
    let (Some(slot), Some(fence)) = (loaded.slot.clone().filter(|_| !ids.is_empty()), fence) else {
        return Ok((loaded.slot.clone(), BTreeSet::new()));
    };
    // A write like any other: only while the lock is still this run's.
    fence.hold(Check::Now).await?;
    if loaded.chunks > 0 {
        let unsettled: BTreeSet<String> = loaded.unsettled.union(&ids).cloned().collect();
        store
            .mark_unsettled(&slot, loaded.chunks, &unsettled)
            .await?;
        return Ok((Some(slot), ids));
    }
    let mut record = loaded.record.clone();
    record.forget_digests(&ids);
    let slot = store.save(&record, Some(&slot)).await?;
    Ok((Some(slot), ids))
}

/// The client as declared, when `reading` trusts the record and the record's digest of what cogwire
/// last applied to it equals its declaration's under the name the pool lists it by.
fn trusted(record: &Record, client: &ClientSummary, reading: Reading<'_>) -> Option<ClientState> {
    let Reading::Trusting(declared) = reading else {
        return None;
    };
    let state = declared.get(&client.name)?;
    matches_declaration(record, client, declared)?.then(|| ClientState {
        id: client.id.clone(),
        ..state.clone()
    })
}

/// Whether the record's digest of `client` is that of its declaration (by the name the pool lists
/// it by); `None` when the record holds no digest of it or it is not declared.
fn matches_declaration(
    record: &Record,
    client: &ClientSummary,
    declared: &BTreeMap<String, ClientState>,
) -> Option<bool> {
    let applied = record.clients.get(&client.id)?.applied.as_ref()?;
    let declared = declared.get(&client.name)?;
    Some(applied_digest(declared) == *applied)
}
