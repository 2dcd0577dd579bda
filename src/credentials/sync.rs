//! Stage four's engine: each managed client's credentials written where its service reads them.
//! It reads the managed clients and the store, lets `decide` choose, and (unless it is a dry run)
//! executes the choice through the store, every call paced. It returns what it did as a report
//! and prints nothing; AWS error messages are scrubbed of the values it writes.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::{StreamExt as _, TryStreamExt as _, stream};

use super::decide::{
    Credential, Current, Fingerprints, Holding, SyncPlan, ValueChange, decide, desired_entries,
    identify, scan_path, stored_secret, tags,
};
use crate::apply::record::{Record, RecordError, RecordStore};
use crate::apply::{CreatedCredential, UpdatedCredential};
use crate::cloud::operation::Operation;
use crate::cloud::stores::{EntryWrite, SecretStore as _};
use crate::cloud::{ClientState, Cloud, CloudError, Parameters as _, UserPool as _};
use crate::config::environment::DeclaredElsewhere;
use crate::config::model::Model;
use crate::config::namespace::fingerprints_name;
use crate::sensitive::{REDACTED, Secret};
use crate::session::Session;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("service `{service}` has no app client that cogwire manages")]
    UnknownService { service: String },
    #[error(transparent)]
    OtherEnvironment(DeclaredElsewhere),
    #[error(transparent)]
    Cloud(#[from] CloudError),
    #[error(transparent)]
    Record(#[from] RecordError),
}

impl SyncError {
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::UnknownService { .. } => Some(
                "name a service of services.toml that consumes scopes (and is not external)"
                    .to_owned(),
            ),
            Self::OtherEnvironment(elsewhere) => Some(elsewhere.hint()),
            Self::Cloud(error) | Self::Record(RecordError::Cloud(error)) => error.hint(),
            Self::Record(_) => Some(
                "upgrade cogwire, or restore the parameter from its version history in SSM"
                    .to_owned(),
            ),
        }
    }
}

/// What a sync did (or, dry, would do): the plan it executed, and the services it left alone.
#[derive(Debug, Clone, Default)]
pub struct SyncReport {
    pub plan: SyncPlan,
    pub skipped: Vec<Skipped>,
    pub notes: Vec<Note>,
}

impl SyncReport {
    /// One report for work done in rounds.
    pub fn merge(&mut self, later: SyncReport) {
        self.plan.merge(later.plan);
        for skipped in later.skipped {
            if !self.skipped.contains(&skipped) {
                self.skipped.push(skipped);
            }
        }
        self.notes.extend(later.notes);
    }
}

/// A selected service whose credentials were not stored, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub service: String,
    pub reason: SkipReason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// Its app client does not exist yet.
    NoClient,
    /// Its app client has no secret.
    NoSecret,
}

impl std::fmt::Display for Skipped {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let service = &self.service;
        match self.reason {
            SkipReason::NoClient => write!(
                formatter,
                "`{service}` has no app client in the pool yet; run `cogwire apply` first"
            ),
            SkipReason::NoSecret => write!(
                formatter,
                "the app client of `{service}` has no secret; nothing to store"
            ),
        }
    }
}

/// Which secret a sync chose to store when the stored one is not the one Cognito describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// The stored secret may be one of the client's (a rotation's newer one): kept.
    Unproven { service: String },
    /// The stored secret is none of the client's: replaced with the one Cognito describes.
    NotLive { service: String },
}

impl std::fmt::Display for Note {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unproven { service } => write!(
                formatter,
                "cannot tell whether the stored secret of `{service}` is one of its app client's; left as it is"
            ),
            Self::NotLive { service } => write!(
                formatter,
                "the stored secret of `{service}` is none of its app client's secrets; storing the one Cognito describes"
            ),
        }
    }
}

/// What `cogwire sync-secrets` asks for.
#[derive(Debug, Clone, Default)]
pub struct SyncRequest {
    /// Only these services (`--service`); none: every declared one, and entries of services no
    /// longer declared are deleted.
    pub services: Vec<String>,
    /// Take over these services' existing entries that cogwire did not write (`--adopt`).
    pub adopt: Vec<String>,
    /// Decide only; write nothing.
    pub dry_run: bool,
}

/// Syncs the credentials of the services `request` names.
pub async fn sync<C: Cloud>(
    session: &Session<C>,
    request: &SyncRequest,
) -> Result<SyncReport, SyncError> {
    let declared = declared_services(session);
    let adopt = select(&session.model, &declared, &request.adopt)?;
    let prune = request.services.is_empty();
    let mut selected = select(&session.model, &declared, &request.services)?;
    if selected.is_empty() && prune {
        selected = declared;
    }
    selected.extend(adopt.iter().cloned());
    let (clients, record) = read_clients(session, &selected).await?;
    let mode = Mode {
        prune: prune.then_some(&record),
        dry_run: request.dry_run,
        adopt: &adopt,
    };
    sync_clients(session, &selected, clients, None, mode).await
}

/// Services declared with an app client that cogwire manages.
pub fn declared_services<C: Cloud>(session: &Session<C>) -> BTreeSet<String> {
    session
        .model
        .services
        .values()
        .filter(|service| service.client.is_some() && !service.external)
        .map(|service| service.name.clone())
        .collect()
}

/// `names`, each checked to be one of `declared`; one that only other environments of `model`
/// declare is named as such.
pub fn select(
    model: &Model,
    declared: &BTreeSet<String>,
    names: &[String],
) -> Result<BTreeSet<String>, SyncError> {
    match names.iter().find(|name| !declared.contains(*name)) {
        Some(unknown) => Err(model.declared_elsewhere(unknown).map_or_else(
            || SyncError::UnknownService {
                service: unknown.clone(),
            },
            SyncError::OtherEnvironment,
        )),
        None => Ok(names.iter().cloned().collect()),
    }
}

/// How far a sync goes.
#[derive(Debug, Clone, Copy)]
struct Mode<'a> {
    /// Also delete cogwire's entries of services no longer declared, but those whose client a
    /// declared service holds, as this record (reconciled with the pool) says.
    prune: Option<&'a Record>,
    dry_run: bool,
    adopt: &'a BTreeSet<String>,
}

const NO_ADOPTION: &BTreeSet<String> = &BTreeSet::new();

impl Default for Mode<'_> {
    fn default() -> Self {
        Self {
            prune: None,
            dry_run: false,
            adopt: NO_ADOPTION,
        }
    }
}

/// A managed client as one DescribeUserPoolClient tells it, with the secret Cognito shows.
pub(super) struct ManagedClient {
    pub(super) state: ClientState,
    pub(super) secret: Option<Secret>,
}

/// Reads, decides and (unless dry) writes the credentials of `selected` services, whose clients
/// are `clients`; with `prune`, also deletes cogwire's entries of services no longer declared.
/// `managed` is the store's listing of cogwire's entries when the caller has it.
async fn sync_clients<C: Cloud>(
    session: &Session<C>,
    selected: &BTreeSet<String>,
    clients: BTreeMap<String, ManagedClient>,
    managed: Option<BTreeSet<String>>,
    mode: Mode<'_>,
) -> Result<SyncReport, SyncError> {
    let mut report = SyncReport {
        skipped: selected
            .iter()
            .filter(|service| !clients.contains_key(*service))
            .map(|service| Skipped {
                service: service.clone(),
                reason: SkipReason::NoClient,
            })
            .collect(),
        ..SyncReport::default()
    };
    tracing::info!(
        "credentials: {} services selected, {} with a client in the pool",
        selected.len(),
        clients.len()
    );
    let mut current = read_current(session, clients.keys()).await?;
    tracing::info!(
        "credentials: read {} stored entries at the services' paths",
        current.values.len()
    );
    let mut secrets = BTreeMap::new();
    for (service, client) in &clients {
        match secret_to_store(session, service, client, &current.values).await? {
            Chosen::Secret(secret, note) => {
                report.notes.extend(note);
                secrets.insert(service.clone(), secret);
            }
            Chosen::Nothing => report.skipped.push(Skipped {
                service: service.clone(),
                reason: SkipReason::NoSecret,
            }),
        }
    }
    current.managed = match managed {
        Some(managed) => managed,
        None => list_managed(session).await?,
    };
    if let Some(record) = mode.prune {
        current.with_clients = services_with_clients(&session.model, record);
    }
    let declared = declared_services(session);
    let prune = mode.prune.is_some().then_some(&declared);
    report.plan = plan_sync(session, &clients, &secrets, &current, prune, mode.adopt);
    tracing::info!(
        "credentials: {} to write, {} to delete, {} unchanged, {} left alone (not cogwire's)",
        report.plan.writes.len(),
        report.plan.deletes.len(),
        report.plan.unchanged.len(),
        report.plan.refused.len()
    );
    if !mode.dry_run {
        execute(session, &report.plan).await?;
    }
    Ok(report)
}

/// Credentials `apply` hands over as it creates clients.
pub type Created = tokio::sync::mpsc::UnboundedReceiver<(String, CreatedCredential)>;

/// Most entries stored in one round: one GetParameters call reads them all.
const STORE_BATCH: usize = 10;

/// What `apply` runs beside its operations: stores each new client's credentials as soon as it is
/// created, in batches of whatever has arrived, until the engine is done. CreateUserPoolClient's
/// reply carries the secret, so nothing is described again but a client whose reply was lost.
///
/// The store's entries are listed once (what each round creates is tagged as it is created); with
/// `expected`, while the first client is still being created or updated (a large store lists in
/// tens of pages, which would otherwise hold back every write), else once one arrives.
pub async fn store_as_created<C: Cloud>(
    session: &Session<C>,
    mut created: Created,
    expected: bool,
) -> Result<SyncReport, SyncError> {
    let mut stored = SyncReport::default();
    let (first, managed) = if expected {
        let (first, managed) = tokio::join!(created.recv(), list_managed(session));
        (first, Some(managed))
    } else {
        (created.recv().await, None)
    };
    let Some(first) = first else {
        return Ok(stored);
    };
    let managed = match managed {
        Some(managed) => managed?,
        None => list_managed(session).await?,
    };
    let mut next = Some(first);
    while let Some(first) = next.take() {
        let mut batch = vec![first];
        while batch.len() < STORE_BATCH {
            match created.try_recv() {
                Ok(more) => batch.push(more),
                Err(_) => break,
            }
        }
        let selected: BTreeSet<String> = batch.iter().map(|(service, _)| service.clone()).collect();
        let mut clients = BTreeMap::new();
        let mut lost = Vec::new();
        for (service, credential) in batch {
            match managed_client(&credential) {
                Some(client) => {
                    clients.insert(service, client);
                }
                // Found by name after a lost reply: its id is known, its secret is not.
                None => lost.push((service, credential.id)),
            }
        }
        clients.extend(describe_clients(session, lost).await?);
        let mode = Mode::default();
        let round = sync_clients(session, &selected, clients, Some(managed.clone()), mode).await?;
        stored.merge(round);
        next = created.recv().await;
    }
    Ok(stored)
}

/// What `apply` stores once its operations are done, beside what it stored as it went.
pub struct AfterApply<'a> {
    /// The clients this run created (their credentials are stored already).
    pub created: &'a BTreeMap<String, CreatedCredential>,
    /// The clients this run updated, by client id, with the secret the update's reply showed.
    pub updated: &'a BTreeMap<String, UpdatedCredential>,
    /// The record as this run leaves it (the pool as read, with the run's changes): which client
    /// is whose, renamed services under their new names.
    pub record: &'a Record,
    /// Services whose stored credentials may be missing or stale: clients a dead run created,
    /// clients whose scopes changed.
    pub resync: BTreeSet<String>,
    /// A client was destroyed: delete cogwire's entries of services no longer declared.
    pub prune: bool,
    /// `--sync-secrets`: a full sync.
    pub everything: bool,
}

/// Stores what `after` names, so that no managed client is left with missing or stale stored
/// credentials and no destroyed one with an orphaned entry. Returns `stored` (what was stored as
/// clients were created) with what this did. The clients are the ones `apply` read and created:
/// neither the record nor the pool's client list is read again.
pub async fn store_after_apply<C: Cloud>(
    session: &Session<C>,
    mut stored: SyncReport,
    after: AfterApply<'_>,
) -> Result<SyncReport, SyncError> {
    let declared = declared_services(session);
    let selected: BTreeSet<String> = if after.everything {
        declared
    } else {
        after
            .resync
            .into_iter()
            .filter(|service| declared.contains(service))
            .collect()
    };
    let prune = after.prune || after.everything;
    if selected.is_empty() && !prune {
        return Ok(stored);
    }
    let mut clients = BTreeMap::new();
    let mut to_describe = Vec::new();
    for service in &selected {
        match after.created.get(service) {
            Some(credential) => match managed_client(credential) {
                Some(client) => {
                    clients.insert(service.clone(), client);
                }
                None => to_describe.push((service.clone(), credential.id.clone())),
            },
            None => {
                if let Some(id) = after.record.client_of_service(service) {
                    match after.updated.get(id) {
                        Some(updated) => {
                            clients.insert(
                                service.clone(),
                                ManagedClient {
                                    state: updated.state.clone(),
                                    secret: Some(updated.secret.clone()),
                                },
                            );
                        }
                        None => to_describe.push((service.clone(), id.to_owned())),
                    }
                }
            }
        }
    }
    clients.extend(describe_clients(session, to_describe).await?);
    let mode = Mode {
        prune: prune.then_some(after.record),
        ..Mode::default()
    };
    stored.merge(sync_clients(session, &selected, clients, None, mode).await?);
    Ok(stored)
}

/// A client as CreateUserPoolClient told it; `None` when its reply was lost and the secret is
/// unknown.
fn managed_client(credential: &CreatedCredential) -> Option<ManagedClient> {
    let secret = credential.secret.clone()?;
    let spec = &credential.spec;
    let state = ClientState {
        id: credential.id.clone(),
        name: spec.name.clone(),
        has_secret: true,
        allowed_oauth_flows: BTreeSet::from([crate::plan::diff::CLIENT_CREDENTIALS.to_owned()]),
        allowed_oauth_flows_user_pool_client: true,
        scopes: spec.scopes.clone(),
        access_token_validity: Some(spec.access_token_validity),
        extras: Default::default(),
    };
    Some(ManagedClient {
        state,
        secret: Some(secret),
    })
}

/// The record's clients of the selected services, each described once (secret included), and the
/// record: it is loaded and reconciled with the pool's client list once, here. A service whose
/// client does not exist yet is left out.
pub(super) async fn read_clients<C: Cloud>(
    session: &Session<C>,
    selected: &BTreeSet<String>,
) -> Result<(BTreeMap<String, ManagedClient>, Record), SyncError> {
    let pacer = &session.pacer;
    let record_store = RecordStore::new(session.parameters(), pacer, &session.pool_id);
    let (record, clients) = tokio::join!(
        record_store.load(),
        crate::cloud::list_clients(session.pool(), pacer),
    );
    let (mut record, _) = record?;
    let clients = clients?;
    let identifiers: Vec<String> = record.resource_servers.keys().cloned().collect();
    let _ = record.reconcile(&identifiers, &clients);
    let wanted: Vec<(String, String)> = selected
        .iter()
        .filter_map(|service| {
            record
                .client_of_service(service)
                .map(|id| (service.clone(), id.to_owned()))
        })
        .collect();
    Ok((describe_clients(session, wanted).await?, record))
}

/// Services `record` (reconciled with the pool) maps to a client that a declared service now
/// holds: a prune keeps their entries (a service renamed before `apply` moved its client still
/// has callers reading the old name's entry).
fn services_with_clients(model: &Model, record: &Record) -> BTreeSet<String> {
    // Only a client that another declared service now holds (the same client name, or that
    // service's `previous`) keeps its old entry: a service simply removed loses it.
    let declared_names = crate::plan::diff::wanted_client_names(model);
    let previous: BTreeSet<&str> = model
        .services
        .values()
        .filter_map(|service| service.previous.as_deref())
        .collect();
    record
        .clients
        .values()
        .filter(|recorded| {
            declared_names.contains(&recorded.name) || previous.contains(recorded.service.as_str())
        })
        .map(|recorded| recorded.service.clone())
        .collect()
}

/// Describes each `(service, client id)`, secret included; a client that is gone is left out.
async fn describe_clients<C: Cloud>(
    session: &Session<C>,
    wanted: Vec<(String, String)>,
) -> Result<BTreeMap<String, ManagedClient>, SyncError> {
    let pacer = &session.pacer;
    let pool = session.pool();
    let described: Vec<Option<(String, ManagedClient)>> = stream::iter(wanted)
        .map(|(service, id)| async move {
            match pacer
                .call(Operation::DescribeUserPoolClient, || {
                    pool.describe_client_with_secret(&id)
                })
                .await
            {
                Ok((state, secret)) => Ok(Some((service, ManagedClient { state, secret }))),
                Err(CloudError::NotFound { .. }) => Ok(None),
                Err(error) => Err(error),
            }
        })
        .buffer_unordered(8)
        .try_collect()
        .await?;
    Ok(described.into_iter().flatten().collect())
}

/// The store's entries tagged as cogwire's for this pool.
pub(super) async fn list_managed<C: Cloud>(
    session: &Session<C>,
) -> Result<BTreeSet<String>, SyncError> {
    let store = session.store();
    let path = scan_path(&session.model.secrets, &session.pool_id);
    Ok(session
        .pacer
        .call(store.operations().list, || {
            store.list_managed(&path, &session.pool_id)
        })
        .await?)
}

/// What the store holds under every name the services' credentials live under: values and
/// kinds of those that exist (the listing of cogwire's entries is left to the caller).
pub(super) async fn read_current<'a, C: Cloud>(
    session: &Session<C>,
    services: impl Iterator<Item = &'a String>,
) -> Result<Current, SyncError> {
    let store = session.store();
    let settings = &session.model.secrets;
    let names: Vec<String> = services
        .flat_map(|service| settings.entry_names(&session.pool_id, service))
        .map(|(name, _)| name)
        .collect();
    let operations = store.operations();
    let mut current = Current::default();
    for batch in names.chunks(operations.read_batch) {
        let found = session
            .pacer
            .call(operations.read, || store.read(batch))
            .await?;
        for (name, stored) in found {
            current.kinds.insert(name.clone(), stored.kind);
            current.values.insert(name, stored.value);
        }
    }
    Ok(current)
}

enum Chosen {
    Secret(Secret, Option<Note>),
    Nothing,
}

/// The secret a sync stores: the one the store holds when it is, or may be, one of the client's
/// secrets (during a rotation, the newer one, which Cognito may not describe); the one Cognito
/// describes when the stored one provably is not, so a sync repairs a store holding a value
/// Cognito rejects.
async fn secret_to_store<C: Cloud>(
    session: &Session<C>,
    service: &str,
    client: &ManagedClient,
    values: &BTreeMap<String, Secret>,
) -> Result<Chosen, SyncError> {
    let Some(described) = &client.secret else {
        return Ok(Chosen::Nothing);
    };
    let Some(stored) = stored_secret(
        &session.model.secrets,
        &session.pool_id,
        service,
        &client.state.id,
        values,
    ) else {
        return Ok(Chosen::Secret(described.clone(), None));
    };
    if &stored == described {
        return Ok(Chosen::Secret(stored, None));
    }
    let secret_ids = secret_ids(session, &client.state.id).await?;
    let known = if secret_ids.len() > 1 {
        load_fingerprints(session, &client.state.id).await?
    } else {
        Fingerprints::new()
    };
    let service = service.to_owned();
    Ok(
        match identify(&secret_ids, Some(described), Some(&stored), &known).holding {
            Holding::Live(_) => Chosen::Secret(stored, None),
            Holding::Unproven => Chosen::Secret(stored, Some(Note::Unproven { service })),
            Holding::NotLive => Chosen::Secret(described.clone(), Some(Note::NotLive { service })),
        },
    )
}

/// A client's secret ids, oldest first.
pub(super) async fn secret_ids<C: Cloud>(
    session: &Session<C>,
    client_id: &str,
) -> Result<Vec<String>, SyncError> {
    Ok(session
        .pacer
        .call(Operation::ListUserPoolClientSecrets, || {
            session.pool().list_client_secrets(client_id)
        })
        .await?
        .into_iter()
        .map(|secret| secret.id)
        .collect())
}

/// The fingerprints `rotate-secret` kept for a client; none if it never rotated it. An unreadable
/// value counts as none: it then proves nothing, and rotation refuses rather than guesses.
pub(super) async fn load_fingerprints<C: Cloud>(
    session: &Session<C>,
    client_id: &str,
) -> Result<Fingerprints, SyncError> {
    let name = fingerprints_name(&session.pool_id, client_id);
    let found = session
        .pacer
        .call(Operation::GetParameters, || {
            session.parameters().get(std::slice::from_ref(&name))
        })
        .await?;
    Ok(found
        .get(&name)
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or_default())
}

/// The desired entries of the clients' `secrets`, decided against `current`.
pub(super) fn plan_sync<C: Cloud>(
    session: &Session<C>,
    clients: &BTreeMap<String, ManagedClient>,
    secrets: &BTreeMap<String, Secret>,
    current: &Current,
    prune: Option<&BTreeSet<String>>,
    adopt: &BTreeSet<String>,
) -> SyncPlan {
    let settings = &session.model.secrets;
    let url = session.model.pool.token_url(Some(&session.region));
    let desired: Vec<_> = secrets
        .iter()
        .filter_map(|(service, secret)| {
            let client = clients.get(service)?;
            let credential = Credential {
                client_id: client.state.id.clone(),
                client_secret: secret.clone(),
                token_url: url.clone(),
                scopes: client.state.scopes.clone(),
                user_pool_id: session.pool_id.clone(),
            };
            Some(desired_entries(settings, service, &credential))
        })
        .flatten()
        .collect();
    decide(settings, &session.pool_id, &desired, current, prune, adopt)
}

/// Writes what the plan says, one entry at a time (SSM allows few writes a second anyway).
pub(super) async fn execute<C: Cloud>(
    session: &Session<C>,
    plan: &SyncPlan,
) -> Result<(), SyncError> {
    let pacer = &session.pacer;
    let store = session.store();
    let operations = store.operations();
    for write in &plan.writes {
        let entry = EntryWrite {
            name: &write.name,
            value: &write.value,
            kind: write.kind,
        };
        let tags = tags(&write.service, &session.pool_id);
        let scrub = |error: CloudError| scrub(error, &write.value);
        tracing::info!(
            "credentials of {}: {} {}",
            write.service,
            match write.change {
                Some(ValueChange::Create) => "creating",
                Some(ValueChange::Update) => "updating",
                None => "tagging",
            },
            write.name
        );
        let mut tagged = false;
        match write.change {
            Some(ValueChange::Create) => {
                match pacer
                    .call(operations.create, || store.create(entry, &tags))
                    .await
                {
                    Ok(()) => tagged = operations.create_tags,
                    // Created by a concurrent run, or by an attempt whose reply was lost.
                    Err(CloudError::AlreadyExists { .. }) => pacer
                        .call(operations.update, || store.update(entry))
                        .await
                        .map_err(scrub)?,
                    Err(error) => return Err(scrub(error).into()),
                }
            }
            Some(ValueChange::Update) => pacer
                .call(operations.update, || store.update(entry))
                .await
                .map_err(scrub)?,
            None => {}
        }
        if write.tag && !tagged {
            pacer
                .call(operations.tag, || store.tag(&write.name, &tags))
                .await?;
        }
    }
    for delete in &plan.deletes {
        tracing::info!("credentials: deleting {}", delete.name);
        pacer
            .call(operations.delete, || store.delete(&delete.name))
            .await?;
    }
    Ok(())
}

/// AWS sometimes quotes a rejected value in its message; the value never reaches the user.
fn scrub(error: CloudError, value: &Secret) -> CloudError {
    let clean = |text: String| {
        let mut text = text;
        if !value.expose().is_empty() {
            text = text.replace(value.expose(), REDACTED);
        }
        // Whatever `[secrets] fields` calls the secret, no string the entry holds is shown.
        if let Ok(serde_json::Value::Object(fields)) =
            serde_json::from_str::<serde_json::Value>(value.expose())
        {
            for inner in fields.values().filter_map(serde_json::Value::as_str) {
                if !inner.is_empty() {
                    text = text.replace(inner, REDACTED);
                }
            }
        }
        text
    };
    match error {
        CloudError::NotFound { operation, what } => CloudError::NotFound {
            operation,
            what: clean(what),
        },
        CloudError::AlreadyExists { operation, what } => CloudError::AlreadyExists {
            operation,
            what: clean(what),
        },
        CloudError::AccessDenied {
            operation,
            action,
            message,
        } => CloudError::AccessDenied {
            operation,
            action,
            message: clean(message),
        },
        CloudError::Credentials { operation, message } => CloudError::Credentials {
            operation,
            message: clean(message),
        },
        CloudError::Transient { operation, message } => CloudError::Transient {
            operation,
            message: clean(message),
        },
        CloudError::Kms {
            operation,
            code,
            message,
        } => CloudError::Kms {
            operation,
            code,
            message: clean(message),
        },
        CloudError::Rejected {
            operation,
            code,
            message,
        } => CloudError::Rejected {
            operation,
            code,
            message: clean(message),
        },
        throttled @ CloudError::Throttled { .. } => throttled,
        CloudError::Exhausted { attempts, last } => CloudError::Exhausted {
            attempts,
            last: Box::new(scrub(*last, value)),
        },
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::apply::record::RecordedClient;
    use crate::cloud::memory::{MemoryAccount, MemoryCloud, StoredEntry};
    use crate::cloud::operation::Operation;
    use crate::cloud::pace::{PaceSettings, Pacer};
    use crate::cloud::stores::{EntryKind, MANAGED_BY, POOL_TAG};
    use crate::config::model::StoreKind;

    const SERVICES: &str = r#"
[services.orders]
scopes = { "order.read" = "Read" }

[services.billing]
consumes = ["orders/order.read"]

[services.shipping]
consumes = ["orders/order.read"]
"#;

    pub(crate) const POOL: &str = "us-east-1_Memory";

    /// A pool with the clients of billing and shipping, recorded as cogwire's when `recorded`;
    /// the store is empty. Returns the cloud, the session on it, the record and the client ids.
    pub(crate) async fn fleet(
        recorded: bool,
    ) -> (
        MemoryCloud,
        Session<MemoryAccount>,
        Record,
        BTreeMap<String, String>,
    ) {
        let model = crate::config::model::load(SERVICES, None).expect("valid services");
        let cloud = MemoryCloud::new(POOL);
        let session = Session::new(
            model,
            POOL.to_owned(),
            "us-east-1".to_owned(),
            cloud.account(StoreKind::Ssm),
            Pacer::new(PaceSettings::default()),
        );
        let mut record = Record::default();
        let mut clients = BTreeMap::new();
        for service in ["billing", "shipping"] {
            let id = cloud.seed_client(
                ClientState {
                    id: String::new(),
                    name: service.to_owned(),
                    has_secret: true,
                    allowed_oauth_flows: [crate::plan::diff::CLIENT_CREDENTIALS.to_owned()].into(),
                    allowed_oauth_flows_user_pool_client: true,
                    scopes: ["orders/order.read".to_owned()].into(),
                    access_token_validity: None,
                    extras: Default::default(),
                },
                Some(Secret::new(format!("{service}-secret-0123456789"))),
            );
            record.clients.insert(
                id.clone(),
                RecordedClient::new(service.to_owned(), service.to_owned()),
            );
            clients.insert(service.to_owned(), id);
        }
        if recorded {
            RecordStore::new(session.parameters(), &session.pacer, POOL)
                .save(&record, None)
                .await
                .expect("record saved");
        }
        (cloud, session, record, clients)
    }

    /// Another tool's entry: JSON under other key names, untagged.
    pub(crate) const THEIRS: &str = r#"{"url":"u","clientId":"c","clientSecret":"their-secret"}"#;

    pub(crate) fn put_theirs(cloud: &MemoryCloud, name: &str) {
        cloud.seed_parameter(name, THEIRS, EntryKind::Secure, &[]);
    }

    pub(crate) fn entry(cloud: &MemoryCloud, name: &str) -> Option<StoredEntry> {
        cloud.snapshot().parameters.remove(name)
    }

    pub(crate) fn is_theirs(entry: Option<StoredEntry>) -> bool {
        entry.is_some_and(|entry| entry.value.expose() == THEIRS && entry.tags.is_empty())
    }

    fn is_cogwires(entry: &StoredEntry, service: &str) -> bool {
        entry.tags.get(MANAGED_BY.0).map(String::as_str) == Some(MANAGED_BY.1)
            && entry.tags.get(POOL_TAG).map(String::as_str) == Some(POOL)
            && entry
                .tags
                .get(crate::cloud::stores::SERVICE_TAG)
                .map(String::as_str)
                == Some(service)
    }

    #[tokio::test]
    async fn an_entry_cogwire_did_not_write_is_left_alone_until_adopted() {
        let (cloud, session, _, clients) = fleet(true).await;
        put_theirs(&cloud, "/cogwire/billing");

        let dry = SyncRequest {
            dry_run: true,
            ..SyncRequest::default()
        };
        let report = sync(&session, &dry).await.expect("dry run");
        assert_eq!(
            report.plan.refused_services(),
            ["billing".to_owned()].into()
        );
        assert_eq!(report.plan.changed, ["shipping".to_owned()].into());
        assert!(entry(&cloud, "/cogwire/shipping").is_none());

        let report = sync(&session, &SyncRequest::default()).await.expect("sync");
        assert_eq!(
            report.plan.refused_services(),
            ["billing".to_owned()].into()
        );
        assert!(is_theirs(entry(&cloud, "/cogwire/billing")));
        let shipping = entry(&cloud, "/cogwire/shipping").expect("stored");
        assert!(is_cogwires(&shipping, "shipping"));

        let adopt = SyncRequest {
            adopt: vec!["billing".to_owned()],
            ..SyncRequest::default()
        };
        let report = sync(&session, &adopt).await.expect("adopt");
        assert!(report.plan.refused.is_empty());
        assert_eq!(report.plan.adopted.len(), 1);
        let billing = entry(&cloud, "/cogwire/billing").expect("adopted");
        assert!(is_cogwires(&billing, "billing"));
        assert_eq!(billing.kind, EntryKind::Secure);
        assert!(billing.value.expose().contains(&clients["billing"]));
        // Cogwire's from now on: a plain sync leaves it as it is.
        let report = sync(&session, &SyncRequest::default()).await.expect("sync");
        assert!(report.plan.is_empty() && report.plan.refused.is_empty());
    }

    #[tokio::test]
    async fn an_unknown_service_is_a_typed_error_with_a_hint() {
        let (_, session, _, _) = fleet(true).await;
        let request = SyncRequest {
            adopt: vec!["orders".to_owned()],
            ..SyncRequest::default()
        };
        let error = sync(&session, &request)
            .await
            .expect_err("orders has no client");
        assert!(matches!(&error, SyncError::UnknownService { service } if service == "orders"));
        assert!(error.hint().is_some());
    }

    /// After apply, the clients it read and created are described by id: neither the record nor
    /// the pool's client list is read again (here the account holds no record at all).
    #[tokio::test]
    async fn after_apply_the_record_apply_read_is_used() {
        let (cloud, session, record, clients) = fleet(false).await;
        let after = AfterApply {
            created: &BTreeMap::new(),
            updated: &BTreeMap::new(),
            record: &record,
            resync: ["billing".to_owned()].into(),
            prune: false,
            everything: false,
        };
        let report = store_after_apply(&session, SyncReport::default(), after)
            .await
            .expect("stored");
        assert_eq!(report.plan.changed, ["billing".to_owned()].into());
        let billing = entry(&cloud, "/cogwire/billing").expect("stored");
        assert!(billing.value.expose().contains(&clients["billing"]));
        assert!(!cloud.call_log().contains(&Operation::ListUserPoolClients));
    }
}

#[cfg(test)]
mod selection_tests {
    use super::*;
    use crate::config::model::load_in;

    #[test]
    fn a_service_of_another_environment_is_named_with_its_environment() {
        let text = r#"
[environments.staging]
pool = { id = "us-east-1_Stg" }
[environments.prod]
pool = { id = "us-east-1_Prd" }
[services.orders]
scopes = { "read" = "Read" }
[services.canary]
environments = ["staging"]
consumes = ["orders/read"]
[services.reader]
consumes = ["orders/read"]
"#;
        let prod = load_in(text, None, Some("prod")).expect("valid");
        let declared = BTreeSet::from(["reader".to_owned()]);
        let error = select(&prod, &declared, &["canary".to_owned()]).expect_err("not in prod");
        assert_eq!(
            error.to_string(),
            "service `canary` is declared only in environment staging"
        );
        assert_eq!(
            error.hint().as_deref(),
            Some("pass --env staging (or set COGWIRE_ENV=staging)")
        );
        let error = select(&prod, &declared, &["nobody".to_owned()]).expect_err("unknown");
        assert!(matches!(error, SyncError::UnknownService { .. }), "{error}");
        assert_eq!(
            select(&prod, &declared, &["reader".to_owned()]).expect("declared"),
            declared
        );
    }
}
