//! `cogwire sync-secrets` and `cogwire rotate-secret`: read the managed clients and the store,
//! let `secrets` decide, and execute its decision through the store adapters. No value is ever
//! printed: credentials travel as `Secret`s, and AWS error messages are scrubbed of them.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::{StreamExt as _, TryStreamExt as _, stream};

use super::hinted;
use super::pool::{connect, explain, parse_timeout};
use crate::apply::CreatedCredential;
use crate::apply::record::{RecordStore, fingerprints_name};
use crate::cli::{GlobalArgs, RotateSecretArgs, SyncSecretsArgs};
use crate::cloud::operation::Operation;
use crate::cloud::stores::{EntryWrite, SecretStore};
use crate::cloud::{AddedSecret, ClientState, CloudError, CloudResult, Parameters as _, UserPool};
use crate::credentials::decide::{
    Credential, Current, Fingerprints, FinishStep, Holding, Identified, RotationStep, SyncPlan,
    ValueChange, decide, desired_entries, entry_names, fingerprint, finish_step, identify,
    rotation_step, scan_path, stored_secret, tags, token_url,
};
use crate::exit::ExitStatus;
use crate::sensitive::{REDACTED, Secret};
use crate::session::Session;

/// A managed client as one DescribeUserPoolClient tells it, with the secret Cognito shows.
struct ManagedClient {
    state: ClientState,
    secret: Option<Secret>,
}

pub async fn sync(global: &GlobalArgs, args: &SyncSecretsArgs) -> anyhow::Result<ExitStatus> {
    let context = match connect(global, &args.pace).await? {
        Ok(context) => context,
        Err(status) => return Ok(status),
    };
    let region = Some(context.region.clone());
    let result = sync_with(global, args, &context, context.store(), region.as_deref()).await;
    if args.stats {
        eprint!("{}", context.pacer.report().render());
    }
    result
}

async fn sync_with<S: SecretStore>(
    global: &GlobalArgs,
    args: &SyncSecretsArgs,
    context: &Session,
    store: &S,
    region: Option<&str>,
) -> anyhow::Result<ExitStatus> {
    let declared = declared_services(context);
    let selected = select(&declared, &args.services)?;
    let prune = args.services.is_empty();
    let (plan, skipped) = sync_selected(
        context,
        store,
        region,
        &selected,
        BTreeMap::new(),
        None,
        SyncMode {
            prune,
            dry_run: args.dry_run,
        },
    )
    .await?;
    if global.json {
        outln!(
            "{}",
            serde_json::json!({
                "format_version": "1",
                "dry_run": args.dry_run,
                "changed": plan.changed,
                "unchanged": plan.unchanged,
                "deleted": plan.deleted,
                "skipped": skipped,
            })
        );
    } else {
        out!("{}", render(&plan, args.dry_run));
    }
    Ok(ExitStatus::Success)
}

/// How far a sync goes.
#[derive(Debug, Clone, Copy, Default)]
struct SyncMode {
    /// Also delete cogwire's entries of services no longer declared.
    prune: bool,
    /// Decide only; write nothing.
    dry_run: bool,
}

/// The store's entries tagged as cogwire's for this pool.
async fn list_managed<S: SecretStore>(
    context: &Session,
    store: &S,
) -> anyhow::Result<BTreeSet<String>> {
    let path = scan_path(&context.model.secrets, &context.pool_id);
    context
        .pacer
        .call(store.operations().list, || {
            store.list_managed(&path, &context.pool_id)
        })
        .await
        .map_err(explain)
}

/// Reads, decides and (unless `dry_run`) writes the credentials of `selected` services; with
/// `prune`, also deletes cogwire's entries of services no longer declared. `managed` is the
/// store's listing of cogwire's entries when the caller has it. Returns the plan and the
/// selected services that have no client yet.
async fn sync_selected<S: SecretStore>(
    context: &Session,
    store: &S,
    region: Option<&str>,
    selected: &BTreeSet<String>,
    known: BTreeMap<String, ManagedClient>,
    managed: Option<BTreeSet<String>>,
    mode: SyncMode,
) -> anyhow::Result<(SyncPlan, Vec<String>)> {
    let declared = declared_services(context);
    let unknown: BTreeSet<String> = selected
        .iter()
        .filter(|service| !known.contains_key(*service))
        .cloned()
        .collect();
    let mut clients = if unknown.is_empty() {
        BTreeMap::new()
    } else {
        read_clients(context, &unknown).await?
    };
    clients.extend(known);
    let skipped: Vec<String> = selected
        .iter()
        .filter(|service| !clients.contains_key(*service))
        .cloned()
        .collect();
    for service in &skipped {
        eprintln!("note: `{service}` has no app client in the pool yet; run `cogwire apply` first");
    }
    let values = read_values(context, store, clients.keys()).await?;
    let mut secrets = BTreeMap::new();
    for (service, client) in &clients {
        if let Some(secret) = secret_to_store(context, service, client, &values).await? {
            secrets.insert(service.clone(), secret);
        }
    }
    let current = Current {
        managed: match managed {
            Some(managed) => managed,
            None => list_managed(context, store).await?,
        },
        values,
        with_clients: if mode.prune {
            services_with_clients(context).await?
        } else {
            BTreeSet::new()
        },
    };
    let prune = mode.prune.then_some(&declared);
    let plan = plan_sync(context, &clients, &secrets, &current, prune, region);
    if !mode.dry_run {
        execute(context, store, &plan).await.map_err(explain)?;
    }
    Ok((plan, skipped))
}

/// Credentials `apply` hands over as it creates clients.
pub type Created = tokio::sync::mpsc::UnboundedReceiver<(String, CreatedCredential)>;

/// Most entries stored in one round: one GetParameters call reads them all.
const STORE_BATCH: usize = 10;

/// What `apply` runs beside its operations: stores each new client's credentials as soon as it is
/// created, in batches of whatever has arrived, until the engine is done. CreateUserPoolClient's
/// reply carries the secret, so nothing is described again.
pub async fn store_as_created(context: &Session, mut created: Created) -> anyhow::Result<SyncPlan> {
    let mut stored = SyncPlan::default();
    let Some(first) = created.recv().await else {
        return Ok(stored);
    };
    let region = Some(context.region.clone());
    let store = context.store();
    // Listed once: what each round creates is tagged as it is created.
    let managed = list_managed(context, store).await?;
    let mut next = Some(first);
    while let Some(first) = next.take() {
        let mut batch = vec![first];
        while batch.len() < STORE_BATCH {
            match created.try_recv() {
                Ok(more) => batch.push(more),
                Err(_) => break,
            }
        }
        let known: BTreeMap<String, ManagedClient> = batch
            .iter()
            .filter_map(|(service, credential)| {
                Some((service.clone(), managed_client(credential)?))
            })
            .collect();
        // A client found by name after a lost reply comes without its secret: describe it.
        let selected = batch.into_iter().map(|(service, _)| service).collect();
        let (plan, _) = sync_selected(
            context,
            store,
            region.as_deref(),
            &selected,
            known,
            Some(managed.clone()),
            SyncMode::default(),
        )
        .await?;
        stored.merge(plan);
        next = created.recv().await;
    }
    Ok(stored)
}

/// What `apply` stores once its operations are done, beside what it stored as it went.
pub struct AfterApply<'a> {
    /// The clients this run created (their credentials are stored already).
    pub created: &'a BTreeMap<String, CreatedCredential>,
    /// Services whose stored credentials may be missing or stale: clients a dead run created,
    /// clients whose scopes changed.
    pub resync: BTreeSet<String>,
    /// A client was destroyed: delete cogwire's entries of services no longer declared.
    pub prune: bool,
    /// `--sync-secrets`: a full sync.
    pub everything: bool,
}

/// Stores what `after` names, so that no managed client is left with missing or stale stored
/// credentials and no destroyed one with an orphaned entry. Prints one summary line on stderr,
/// `stored` included.
pub async fn store_after_apply(
    context: &Session,
    mut stored: SyncPlan,
    after: AfterApply<'_>,
) -> anyhow::Result<()> {
    let declared = declared_services(context);
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
        if !after.created.is_empty() {
            eprint!("{}", render(&stored, false));
        }
        return Ok(());
    }
    let region = Some(context.region.clone());
    let known: BTreeMap<String, ManagedClient> = after
        .created
        .iter()
        .filter(|(service, _)| selected.contains(*service))
        .filter_map(|(service, credential)| Some((service.clone(), managed_client(credential)?)))
        .collect();
    let (plan, _) = {
        sync_selected(
            context,
            context.store(),
            region.as_deref(),
            &selected,
            known,
            None,
            SyncMode {
                prune,
                dry_run: false,
            },
        )
        .await
    }?;
    stored.merge(plan);
    eprint!("{}", render(&stored, false));
    Ok(())
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

/// Services declared with an app client that cogwire manages.
fn declared_services(context: &Session) -> BTreeSet<String> {
    context
        .model
        .services
        .values()
        .filter(|service| service.client.is_some() && !service.external)
        .map(|service| service.name.clone())
        .collect()
}

fn select(declared: &BTreeSet<String>, names: &[String]) -> anyhow::Result<BTreeSet<String>> {
    if names.is_empty() {
        return Ok(declared.clone());
    }
    for name in names {
        if !declared.contains(name) {
            return Err(hinted(
                format!("service `{name}` has no app client that cogwire manages"),
                "name a service of services.toml that consumes scopes (and is not external)",
            ));
        }
    }
    Ok(names.iter().cloned().collect())
}

/// The record's clients of the selected services, each described once (secret included). A
/// service whose client does not exist yet is left out.
async fn read_clients(
    context: &Session,
    selected: &BTreeSet<String>,
) -> anyhow::Result<BTreeMap<String, ManagedClient>> {
    let pacer = &context.pacer;
    let pool = context.pool();
    let record_store = RecordStore::new(context.parameters(), pacer, &context.pool_id);
    let (record, clients) =
        tokio::join!(record_store.load(), crate::cloud::list_clients(pool, pacer),);
    let (mut record, _) = record.map_err(explain)?;
    let clients = clients.map_err(explain)?;
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
        .await
        .map_err(explain)?;
    Ok(described.into_iter().flatten().collect())
}

/// Services the record maps to a client that still exists: a prune keeps their entries.
async fn services_with_clients(context: &Session) -> anyhow::Result<BTreeSet<String>> {
    let pacer = &context.pacer;
    let record_store = RecordStore::new(context.parameters(), pacer, &context.pool_id);
    let (record, clients) = tokio::join!(
        record_store.load(),
        crate::cloud::list_clients(context.pool(), pacer)
    );
    let (mut record, _) = record.map_err(explain)?;
    let clients = clients.map_err(explain)?;
    let identifiers: Vec<String> = record.resource_servers.keys().cloned().collect();
    let _ = record.reconcile(&identifiers, &clients);
    Ok(record
        .clients
        .into_values()
        .map(|recorded| recorded.service)
        .collect())
}

/// The stored values of every entry the services' credentials live under.
async fn read_values<'a, S: SecretStore>(
    context: &Session,
    store: &S,
    services: impl Iterator<Item = &'a String>,
) -> anyhow::Result<BTreeMap<String, Secret>> {
    let settings = &context.model.secrets;
    let names: Vec<String> = services
        .flat_map(|service| entry_names(settings, &context.pool_id, service))
        .map(|(name, _)| name)
        .collect();
    let operations = store.operations();
    let mut values = BTreeMap::new();
    for batch in names.chunks(operations.read_batch) {
        values.extend(
            context
                .pacer
                .call(operations.read, || store.read(batch))
                .await
                .map_err(explain)?,
        );
    }
    Ok(values)
}

/// The secret a sync stores: the one the store holds when it is, or may be, one of the client's
/// secrets (during a rotation, the newer one, which Cognito may not describe); the one Cognito
/// describes when the stored one provably is not, so a sync repairs a store holding a value
/// Cognito rejects.
async fn secret_to_store(
    context: &Session,
    service: &str,
    client: &ManagedClient,
    values: &BTreeMap<String, Secret>,
) -> anyhow::Result<Option<Secret>> {
    let Some(described) = &client.secret else {
        eprintln!("note: the app client of `{service}` has no secret; nothing to store");
        return Ok(None);
    };
    let Some(stored) = stored_secret(
        &context.model.secrets,
        &context.pool_id,
        service,
        &client.state.id,
        values,
    ) else {
        return Ok(Some(described.clone()));
    };
    if &stored == described {
        return Ok(Some(stored));
    }
    let secret_ids = secret_ids(context, &client.state.id).await?;
    let known = if secret_ids.len() > 1 {
        load_fingerprints(context, &client.state.id).await?
    } else {
        Fingerprints::new()
    };
    match identify(&secret_ids, Some(described), Some(&stored), &known).holding {
        Holding::Live(_) => Ok(Some(stored)),
        Holding::Unproven => {
            eprintln!(
                "note: cannot tell whether the stored secret of `{service}` is one of its app client's; left as it is"
            );
            Ok(Some(stored))
        }
        Holding::NotLive => {
            eprintln!(
                "note: the stored secret of `{service}` is none of its app client's secrets; storing the one Cognito describes"
            );
            Ok(Some(described.clone()))
        }
    }
}

/// A client's secret ids, oldest first.
async fn secret_ids(context: &Session, client_id: &str) -> anyhow::Result<Vec<String>> {
    Ok(context
        .pacer
        .call(Operation::ListUserPoolClientSecrets, || {
            context.pool().list_client_secrets(client_id)
        })
        .await
        .map_err(explain)?
        .into_iter()
        .map(|secret| secret.id)
        .collect())
}

/// The fingerprints `rotate-secret` kept for a client; none if it never rotated it. An unreadable
/// value counts as none: it then proves nothing, and rotation refuses rather than guesses.
async fn load_fingerprints(context: &Session, client_id: &str) -> anyhow::Result<Fingerprints> {
    let name = fingerprints_name(&context.pool_id, client_id);
    let found = context
        .pacer
        .call(Operation::GetParameters, || {
            context.parameters().get(std::slice::from_ref(&name))
        })
        .await
        .map_err(explain)?;
    Ok(found
        .get(&name)
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or_default())
}

async fn save_fingerprints(
    context: &Session,
    client_id: &str,
    fingerprints: &Fingerprints,
) -> anyhow::Result<()> {
    let name = fingerprints_name(&context.pool_id, client_id);
    let text = serde_json::to_string(fingerprints)?;
    context
        .pacer
        .call(Operation::PutParameter, || {
            context.parameters().put(&name, &text, true)
        })
        .await
        .map_err(explain)
}

fn plan_sync(
    context: &Session,
    clients: &BTreeMap<String, ManagedClient>,
    secrets: &BTreeMap<String, Secret>,
    current: &Current,
    prune: Option<&BTreeSet<String>>,
    region: Option<&str>,
) -> SyncPlan {
    let settings = &context.model.secrets;
    let url = token_url(&context.model.pool, region);
    let desired: Vec<_> = secrets
        .iter()
        .filter_map(|(service, secret)| {
            let client = clients.get(service)?;
            let credential = Credential {
                client_id: client.state.id.clone(),
                client_secret: secret.clone(),
                token_url: url.clone(),
                scopes: client.state.scopes.clone(),
                user_pool_id: context.pool_id.clone(),
            };
            Some(desired_entries(settings, service, &credential))
        })
        .flatten()
        .collect();
    decide(settings, &context.pool_id, &desired, current, prune)
}

/// Writes what the plan says, one entry at a time (SSM allows few writes a second anyway).
async fn execute<S: SecretStore>(context: &Session, store: &S, plan: &SyncPlan) -> CloudResult<()> {
    let pacer = &context.pacer;
    let operations = store.operations();
    for write in &plan.writes {
        let entry = EntryWrite {
            name: &write.name,
            value: &write.value,
            kind: write.kind,
        };
        let tags = tags(&write.service, &context.pool_id);
        let scrub = |error: CloudError| scrub(error, &write.value);
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
                    Err(error) => return Err(scrub(error)),
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
        if let Ok(serde_json::Value::Object(fields)) =
            serde_json::from_str::<serde_json::Value>(value.expose())
            && let Some(serde_json::Value::String(inner)) = fields.get("client_secret")
            && !inner.is_empty()
        {
            text = text.replace(inner.as_str(), REDACTED);
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

fn render(plan: &SyncPlan, dry_run: bool) -> String {
    let mut out = String::new();
    for write in &plan.writes {
        let symbol = match write.change {
            Some(ValueChange::Create) => "+",
            Some(ValueChange::Update) | None => "~",
        };
        out.push_str(&format!("  {symbol} {}: {}\n", write.service, write.name));
    }
    for delete in &plan.deletes {
        out.push_str(&format!("  - {}: {}\n", delete.service, delete.name));
    }
    let (changed, unchanged, deleted) =
        (plan.changed.len(), plan.unchanged.len(), plan.deleted.len());
    if dry_run {
        out.push_str(&format!(
            "Would change {changed}, delete {deleted}; {unchanged} unchanged (dry run: nothing was written).\n"
        ));
    } else {
        out.push_str(&format!(
            "Secrets: {changed} changed, {unchanged} unchanged, {deleted} deleted.\n"
        ));
    }
    out
}

pub async fn rotate(global: &GlobalArgs, args: &RotateSecretArgs) -> anyhow::Result<ExitStatus> {
    let grace = args.grace.as_deref().map(parse_timeout).transpose()?;
    let context = match connect(global, &args.pace).await? {
        Ok(context) => context,
        Err(status) => return Ok(status),
    };
    let region = Some(context.region.clone());
    let result = rotate_with(
        global,
        args,
        grace,
        &context,
        context.store(),
        region.as_deref(),
    )
    .await;
    if args.stats {
        eprint!("{}", context.pacer.report().render());
    }
    result
}

async fn rotate_with<S: SecretStore>(
    global: &GlobalArgs,
    args: &RotateSecretArgs,
    grace: Option<std::time::Duration>,
    context: &Session,
    store: &S,
    region: Option<&str>,
) -> anyhow::Result<ExitStatus> {
    let declared = declared_services(context);
    let selected = select(&declared, &args.services)?;
    let rotation = Rotation {
        context,
        store,
        region,
    };
    let mut outcomes: BTreeMap<String, &'static str> = BTreeMap::new();
    if !args.finish {
        for service in &selected {
            let outcome = rotation.start(service).await?;
            eprintln!("{service}: {outcome}");
            outcomes.insert(service.clone(), outcome);
        }
    }
    if let Some(grace) = grace {
        eprintln!(
            "waiting {} for services to pick up the new secrets",
            crate::config::duration::Seconds(grace.as_secs())
        );
        tokio::time::sleep(grace).await;
    }
    if args.finish || grace.is_some() {
        for service in &selected {
            let outcome = rotation.finish(service).await?;
            eprintln!("{service}: {outcome}");
            outcomes.insert(service.clone(), outcome);
        }
    }
    if global.json {
        outln!(
            "{}",
            serde_json::json!({"format_version": "1", "services": outcomes})
        );
    } else {
        for (service, outcome) in &outcomes {
            outln!("{service}: {outcome}");
        }
        if !args.finish && grace.is_none() {
            outln!(
                "Once every service has read its new secret, retire the old: cogwire rotate-secret {} --finish",
                selected.iter().cloned().collect::<Vec<_>>().join(" ")
            );
        }
    }
    Ok(ExitStatus::Success)
}

/// One rotation run: what it knows of a client is read afresh at every step, so a step repeated
/// after a crash starts from what is really there.
struct Rotation<'a, S> {
    context: &'a Session,
    store: &'a S,
    region: Option<&'a str>,
}

/// A client as a rotation step sees it.
struct Inspected {
    client: ManagedClient,
    /// Oldest first.
    secret_ids: Vec<String>,
    values: BTreeMap<String, Secret>,
    /// The fingerprints kept, as read.
    known: Fingerprints,
    identified: Identified,
}

impl<S: SecretStore> Rotation<'_, S> {
    async fn inspect(&self, service: &str) -> anyhow::Result<Inspected> {
        let context = self.context;
        let selected = BTreeSet::from([service.to_owned()]);
        let Some((_, client)) = read_clients(context, &selected).await?.pop_first() else {
            return Err(hinted(
                format!("`{service}` has no app client in the pool"),
                "run `cogwire apply` first",
            ));
        };
        let secret_ids = secret_ids(context, &client.state.id).await?;
        let known = load_fingerprints(context, &client.state.id).await?;
        let values = read_values(context, self.store, selected.iter()).await?;
        let stored = stored_secret(
            &context.model.secrets,
            &context.pool_id,
            service,
            &client.state.id,
            &values,
        );
        let identified = identify(&secret_ids, client.secret.as_ref(), stored.as_ref(), &known);
        Ok(Inspected {
            client,
            secret_ids,
            values,
            known,
            identified,
        })
    }

    /// Phase one: a second secret, stored; the first stays valid.
    async fn start(&self, service: &str) -> anyhow::Result<&'static str> {
        let inspected = self.inspect(service).await?;
        match rotation_step(&inspected.secret_ids, &inspected.identified.holding) {
            RotationStep::NoSecret => Err(no_secret(service)),
            RotationStep::Refuse(holding) => Err(unproven(service, &holding)),
            RotationStep::Started => Ok("already rotating: the store holds the new secret"),
            RotationStep::Add => {
                if inspected.identified.holding != Holding::NotLive {
                    self.add_and_store(service, &inspected, &[]).await?;
                    return Ok("new secret added and stored; the old one stays valid");
                }
                // First store the only secret: should this run die after adding, the store then
                // holds a secret the next run can tell from the one whose value was lost.
                self.store_described(service, &inspected).await?;
                self.add_and_store(service, &inspected, &[]).await?;
                Ok(
                    "the stored secret was none of the client's: replaced; new secret added and stored",
                )
            }
            RotationStep::Replace { unknown } => {
                for secret_id in &unknown {
                    self.delete_secret(&inspected.client.state.id, secret_id)
                        .await?;
                }
                self.add_and_store(service, &inspected, &unknown).await?;
                Ok(
                    "replaced a new secret whose value was lost, and stored it; the old one stays valid",
                )
            }
        }
    }

    /// Phase two: every secret but the one the store holds is deleted, once the store provably
    /// holds one of the client's secrets.
    async fn finish(&self, service: &str) -> anyhow::Result<&'static str> {
        let inspected = self.inspect(service).await?;
        match finish_step(&inspected.secret_ids, &inspected.identified.holding) {
            FinishStep::NoSecret => Err(no_secret(service)),
            FinishStep::Refuse(holding) => Err(unproven(service, &holding)),
            FinishStep::Repair => {
                self.store_described(service, &inspected).await?;
                Ok("one secret, stored; nothing to retire")
            }
            FinishStep::Retire(others) if others.is_empty() => {
                Ok("one secret, stored; nothing to retire")
            }
            FinishStep::Retire(others) => {
                for secret_id in &others {
                    self.delete_secret(&inspected.client.state.id, secret_id)
                        .await?;
                }
                Ok("old secrets retired; the stored secret is the only one")
            }
        }
    }

    /// Adds a secret and stores it. The fingerprints are saved before adding (with the stored
    /// secret's) and again after (with the new one's), so that wherever a run dies, the next one
    /// can prove which secret the store holds, and knows any newer one's value is lost.
    async fn add_and_store(
        &self,
        service: &str,
        inspected: &Inspected,
        deleted: &[String],
    ) -> anyhow::Result<()> {
        let context = self.context;
        let client_id = &inspected.client.state.id;
        let mut fingerprints = inspected.identified.fingerprints.clone();
        fingerprints.retain(|secret_id, _| !deleted.contains(secret_id));
        if fingerprints != inspected.known {
            save_fingerprints(context, client_id, &fingerprints).await?;
        }
        let before: Vec<String> = inspected
            .secret_ids
            .iter()
            .filter(|secret_id| !deleted.contains(secret_id))
            .cloned()
            .collect();
        let added = self.add_secret(client_id, &before).await?;
        fingerprints.insert(added.id.clone(), fingerprint(&added.value));
        save_fingerprints(context, client_id, &fingerprints).await?;
        self.store_secret(service, inspected, added.value).await
    }

    /// AddUserPoolClientSecret is not safe to repeat (a repeat adds a third secret, which Cognito
    /// refuses). After a failure whose outcome is unknown, the client's secrets are listed: one
    /// that is not in `before` was added by the failed attempt and its value is lost, so it is
    /// deleted (nobody can hold it) before the secret is added again.
    async fn add_secret(&self, client_id: &str, before: &[String]) -> anyhow::Result<AddedSecret> {
        let context = self.context;
        context
            .pacer
            .call_looking(
                Operation::AddUserPoolClientSecret,
                || context.pool().add_client_secret(client_id),
                || async {
                    let now = context
                        .pacer
                        .call(Operation::ListUserPoolClientSecrets, || {
                            context.pool().list_client_secrets(client_id)
                        })
                        .await?;
                    for lost in now.iter().filter(|secret| !before.contains(&secret.id)) {
                        match context
                            .pacer
                            .call(Operation::DeleteUserPoolClientSecret, || {
                                context.pool().delete_client_secret(client_id, &lost.id)
                            })
                            .await
                        {
                            Ok(()) | Err(CloudError::NotFound { .. }) => {}
                            Err(error) => return Err(error),
                        }
                    }
                    Ok(None)
                },
            )
            .await
            .map_err(|error| {
                explain(error).context(
                    "adding a client secret failed; run the same command again: it replaces any secret this run may have added",
                )
            })
    }

    async fn delete_secret(&self, client_id: &str, secret_id: &str) -> anyhow::Result<()> {
        match self
            .context
            .pacer
            .call(Operation::DeleteUserPoolClientSecret, || {
                self.context
                    .pool()
                    .delete_client_secret(client_id, secret_id)
            })
            .await
        {
            Ok(()) | Err(CloudError::NotFound { .. }) => Ok(()),
            Err(error) => Err(explain(error)),
        }
    }

    /// Stores the one secret Cognito describes, for a client whose store holds none of its secrets.
    async fn store_described(&self, service: &str, inspected: &Inspected) -> anyhow::Result<()> {
        let only = inspected
            .client
            .secret
            .clone()
            .ok_or_else(|| no_secret(service))?;
        self.store_secret(service, inspected, only).await
    }

    async fn store_secret(
        &self,
        service: &str,
        inspected: &Inspected,
        secret: Secret,
    ) -> anyhow::Result<()> {
        let context = self.context;
        let clients = BTreeMap::from([(
            service.to_owned(),
            ManagedClient {
                state: inspected.client.state.clone(),
                secret: inspected.client.secret.clone(),
            },
        )]);
        let secrets = BTreeMap::from([(service.to_owned(), secret)]);
        let current = Current {
            values: inspected.values.clone(),
            managed: list_managed(context, self.store).await?,
            with_clients: BTreeSet::new(),
        };
        let plan = plan_sync(context, &clients, &secrets, &current, None, self.region);
        execute(context, self.store, &plan).await.map_err(explain)
    }
}

/// Why a phase deletes no secret, with what to do.
fn unproven(service: &str, holding: &Holding) -> anyhow::Error {
    if *holding == Holding::NotLive {
        hinted(
            format!(
                "the stored secret of `{service}` is none of its app client's secrets; no secret is deleted until the store holds one"
            ),
            format!(
                "run `cogwire sync-secrets --service {service}` to store a secret the client has, then run this again"
            ),
        )
    } else {
        hinted(
            format!(
                "cannot prove which of its app client's secrets the store holds for `{service}`; no secret is deleted"
            ),
            "cogwire can tell apart only secrets it added; delete the one services do not use with `aws cognito-idp delete-user-pool-client-secret`, then run this again",
        )
    }
}

fn no_secret(service: &str) -> anyhow::Error {
    hinted(
        format!("the app client of `{service}` has no secret to rotate"),
        "cogwire creates clients with a secret; a client made elsewhere without one cannot be rotated",
    )
}
