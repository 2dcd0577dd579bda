//! The apply saga, in phases a command walks through: [`lock`] the pool, [`Locked::plan`] under
//! the lock (so what is shown is what is executed, as terraform does), then, once the command has
//! shown the plan and been told yes, [`Locked::execute`]: the engine, the new clients' credentials
//! stored as they are created, what else the store needs after the apply, and the ownership record
//! saved once. Every batch of writes first checks that the lock is still this run's, so a run
//! whose lock was taken stops instead of writing beside the thief. [`Locked::release`] last,
//! always. Nothing here prints: progress goes to a `Progress`, results come back as data.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::apply::lock::{Check, Lock, LockError};
use crate::apply::record::RecordError;
use crate::apply::{ApplyError, Fence, Outcome, Progress, UnsavedRecord, apply};
use crate::cloud::{Cloud, CloudError};
use crate::credentials::sync::{
    AfterApply, SyncError, SyncReport, store_after_apply, store_as_created,
};
use crate::plan::diff::{
    DiffError, Selection, declared_clients, diff, trusted_holders_of_restored_scopes,
    undescribed_holders, wanted_client_names,
};
use crate::plan::observed::{Forget, Observed, ReadError, Reading, read};
use crate::plan::{Action, ClientAction, ClientChange, Plan};
use crate::session::Session;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("the saved plan is for user pool {plan_pool}, not {pool}")]
    WrongPool { plan_pool: String, pool: String },
    #[error("the user pool changed since this plan was made: {}", if changed.is_empty() { "the clients described differ".to_owned() } else { changed.join(", ") })]
    PoolChanged { changed: Vec<String> },
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error(transparent)]
    Diff(#[from] DiffError),
    #[error(transparent)]
    Apply(#[from] ApplyError),
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error(transparent)]
    Credentials(#[from] SyncError),
    #[error(transparent)]
    Gateway(#[from] crate::plan::gateway::GatewayError),
}

impl RunError {
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::WrongPool { .. } => {
                Some("apply a saved plan against the pool it was made for".to_owned())
            }
            Self::PoolChanged { .. } => {
                Some("run `cogwire plan --out FILE` again and review the new plan".to_owned())
            }
            Self::Read(read) => read.hint(),
            Self::Record(record) => record.hint(),
            Self::Credentials(credentials) => credentials.hint(),
            Self::Diff(diff) => Some(diff.hint()),
            Self::Apply(apply) => Some(apply.hint()),
            Self::Gateway(gateway) => gateway.hint(),
        }
    }
}

/// The pool read and the plan made for `services` (all when empty); shared with `plan`. With
/// `refresh` false, managed clients whose declaration is what cogwire last applied are taken from
/// its record instead of described (`plan --refresh=false`).
///
/// Not an `async fn` of its own: one more layer of futures would take the binary's past rustc's
/// query depth limit.
pub fn plan_now<'a, C: Cloud>(
    session: &'a Session<C>,
    services: &'a [String],
    refresh: bool,
) -> impl Future<Output = Result<(Plan, Observed), RunError>> + 'a {
    plan_reading(session, services, refresh, None::<&crate::apply::Unfenced>)
}

/// `plan_now`; with `fence`, an apply's, under its lock (`observed::Forget::Differing`).
async fn plan_reading<C: Cloud, F: Fence>(
    session: &Session<C>,
    services: &[String],
    refresh: bool,
    fence: Option<&F>,
) -> Result<(Plan, Observed), RunError> {
    let selection = Selection::of(&session.model, services)?;
    let wanted = wanted_client_names(&session.model);
    let declared = declared_clients(&session.model);
    let reading = if refresh {
        Reading::Full
    } else {
        Reading::Trusting(&declared)
    };
    let mut observed = read(
        session.pool(),
        session.parameters(),
        &session.pacer,
        &wanted,
        reading,
        match fence {
            Some(fence) => Forget::Differing {
                declared: &declared,
                fence,
            },
            None => Forget::Nothing,
        },
    )
    .await?;
    let mut plan = diff(&session.model, &observed, &selection)?;
    // A scope that went missing from the pool may have gone from the clients trusted to hold it.
    let restored = trusted_holders_of_restored_scopes(&plan, &observed);
    if !restored.is_empty() {
        observed
            .describe_more(session.pool(), &session.pacer, restored)
            .await
            .map_err(ReadError::Cloud)?;
        plan = diff(&session.model, &observed, &selection)?;
    }
    // A plan that removes scopes names every client that holds them, unmanaged ones included.
    let holders = undescribed_holders(&plan, &observed);
    if !holders.is_empty() {
        observed
            .describe_more(session.pool(), &session.pacer, holders)
            .await
            .map_err(ReadError::Cloud)?;
        plan = diff(&session.model, &observed, &selection)?;
    }
    // The gateway end: read only when a selected service names a gateway.
    let gateways =
        crate::plan::gateway::read(&session.model, services, &session.cloud, &session.pacer)
            .await?;
    if !gateways.is_empty() {
        let issuer = crate::tokens::token::issuer(&session.pool_id, &session.region);
        plan.gateways = crate::plan::gateway::diff(
            &session.model,
            &gateways,
            &plan,
            &observed.record,
            &issuer,
            &session.pool_id,
        );
        crate::plan::gateway::check_stages(&plan.gateways, &session.cloud, &session.pacer).await?;
        plan.summary.change += plan
            .gateways
            .iter()
            .map(|gateway| gateway.count())
            .sum::<usize>();
    }
    Ok((plan, observed))
}

/// Takes the pool's lock, waiting up to `timeout` for another run to let go.
pub async fn lock<C: Cloud>(
    session: &Session<C>,
    timeout: Duration,
) -> Result<Locked<'_, C>, LockError> {
    let lock = Lock::acquire(
        session.parameters(),
        &session.pacer,
        &session.pool_id,
        timeout,
    )
    .await?;
    tracing::info!(
        "took the lock {} of user pool {}",
        lock.id(),
        session.pool_id
    );
    Ok(Locked { session, lock })
}

/// A pool this run holds the lock of.
pub struct Locked<'s, C: Cloud> {
    session: &'s Session<C>,
    lock: Lock,
}

/// What to plan under the lock.
#[derive(Debug, Clone, Copy)]
pub enum PlanSource<'a> {
    /// Plan now, for these services (all when empty).
    Services(&'a [String]),
    /// Plan now, for these services, trusting the record for clients whose declaration did not
    /// change since cogwire last applied them (`--refresh=false`).
    Trusting(&'a [String]),
    /// Execute a saved plan, if the pool is still as it was when the plan was made.
    Saved(&'a Plan),
}

/// A plan made (or checked) under the lock, with the pool as it was read for it.
pub struct Planned {
    pub plan: Plan,
    observed: Observed,
}

#[derive(Debug, Clone, Default)]
pub struct ExecuteOptions {
    /// `--sync-secrets`: after applying, store every managed client's credentials.
    pub sync_secrets: bool,
}

/// What an apply did.
#[derive(Debug, Clone, Default)]
pub struct ApplyReport {
    /// False when there was nothing to do.
    pub applied: bool,
    pub imported: usize,
    pub added: usize,
    pub changed: usize,
    pub destroyed: usize,
    /// What was stored of the services' credentials, when anything was to be.
    pub credentials: Option<SyncReport>,
}

impl<C: Cloud> Fence for Locked<'_, C> {
    async fn hold(&self, check: Check) -> Result<(), LockError> {
        self.lock
            .hold(self.session.parameters(), &self.session.pacer, check)
            .await
    }
}

impl<'s, C: Cloud> Locked<'s, C> {
    /// This run's lock id.
    pub fn lock_id(&self) -> String {
        self.lock.id()
    }

    pub async fn plan(&self, source: PlanSource<'_>) -> Result<Planned, RunError> {
        let session = self.session;
        match source {
            PlanSource::Services(services) | PlanSource::Trusting(services) => {
                let refresh = matches!(source, PlanSource::Services(_));
                let (plan, observed) = plan_reading(session, services, refresh, Some(self)).await?;
                Ok(Planned { plan, observed })
            }
            PlanSource::Saved(saved) => {
                if saved.pool_id != session.pool_id {
                    return Err(RunError::WrongPool {
                        plan_pool: saved.pool_id.clone(),
                        pool: session.pool_id.clone(),
                    });
                }
                // Read as the plan was read, so that an unchanged pool gives the same digest.
                let declared = declared_clients(&session.model);
                let reading = if saved.refresh.skips() {
                    Reading::Trusting(&declared)
                } else {
                    Reading::Full
                };
                let mut observed = read(
                    session.pool(),
                    session.parameters(),
                    &session.pacer,
                    &saved.described_client_names,
                    reading,
                    Forget::Differing {
                        declared: &declared,
                        fence: self,
                    },
                )
                .await?;
                let restored = trusted_holders_of_restored_scopes(saved, &observed);
                if !restored.is_empty() {
                    observed
                        .describe_more(session.pool(), &session.pacer, restored)
                        .await
                        .map_err(ReadError::Cloud)?;
                }
                if observed.digest() != saved.observed_digest {
                    return Err(RunError::PoolChanged {
                        changed: saved.changed_since(&observed.resource_digests()),
                    });
                }
                // The gateways the saved plan read, as it found them, or the plan no longer
                // holds.
                let gateway_services: Vec<String> = saved
                    .gateways
                    .iter()
                    .map(|gateway| gateway.service.clone())
                    .collect();
                let gateways = if gateway_services.is_empty() {
                    Vec::new()
                } else {
                    crate::plan::gateway::read(
                        &session.model,
                        &gateway_services,
                        &session.cloud,
                        &session.pacer,
                    )
                    .await?
                };
                let now = crate::plan::gateway::diff(
                    &session.model,
                    &gateways,
                    saved,
                    &observed.record,
                    &crate::tokens::token::issuer(&session.pool_id, &session.region),
                    &session.pool_id,
                );
                if now != saved.gateways {
                    return Err(RunError::PoolChanged {
                        changed: vec!["the API Gateway authorizer or routes".to_owned()],
                    });
                }
                Ok(Planned {
                    plan: saved.clone(),
                    observed,
                })
            }
        }
    }

    /// Executes the plan, storing each new client's credentials as it is created, then what else
    /// the store needs, then saves the record.
    pub async fn execute(
        &self,
        planned: Planned,
        options: &ExecuteOptions,
        progress: &dyn Progress,
    ) -> Result<ApplyReport, RunError> {
        let Planned { plan, observed } = planned;
        let session = self.session;
        tracing::info!("applying {} changes", plan.actions.len());
        let gateway_writes = if plan.gateways.is_empty() {
            0
        } else {
            self.hold(Check::Now).await.map_err(|error| {
                RunError::Apply(ApplyError::lock_lost(error, &Outcome::default()))
            })?;
            crate::apply::gateway::before_pool(&plan.gateways, &session.cloud, &session.pacer)
                .await
                .map_err(crate::plan::gateway::GatewayError::from)?
        };
        if plan.actions.is_empty() {
            let gateway_writes = gateway_writes
                + crate::apply::gateway::after_pool(
                    &plan.gateways,
                    &BTreeMap::new(),
                    &session.cloud,
                    &session.pacer,
                )
                .await
                .map_err(crate::plan::gateway::GatewayError::from)?;
            let mut record = None;
            if !observed.recovered_clients.is_empty() || observed.record_stale {
                // Clients a dead run created, or a record that says more than the pool bears
                // out: save the record as the pool is (nothing else to do).
                let outcome = apply(
                    &plan,
                    &observed,
                    session.pool(),
                    session.parameters(),
                    &session.pacer,
                    self,
                    progress,
                    &|_, _| {},
                )
                .await?;
                record = outcome.record;
            }
            let after = AfterApply {
                created: &BTreeMap::new(),
                updated: &BTreeMap::new(),
                record: &observed.record,
                resync: observed.recovered_clients.iter().cloned().collect(),
                prune: false,
                everything: options.sync_secrets,
            };
            let credentials = self
                .store(
                    Ok(SyncReport::default()),
                    after,
                    record,
                    &Outcome::default(),
                )
                .await?;
            return Ok(ApplyReport {
                applied: gateway_writes > 0,
                changed: plan.gateways.iter().map(|gateway| gateway.count()).sum(),
                credentials,
                ..ApplyReport::default()
            });
        }

        let (created, from_engine) = tokio::sync::mpsc::unbounded_channel();
        let (to_sink, created_for_sink) = tokio::sync::mpsc::unbounded_channel();
        // Credentials will arrive: a client is created or updated (whose reply holds its secret).
        let expected = plan.actions.iter().any(|action| {
            matches!(
                action,
                Action::Client(ClientAction {
                    change: ClientChange::Create { .. } | ClientChange::Update(_),
                    ..
                })
            )
        });
        let engine = async {
            // Moved in, so the channel closes when the engine is done, which ends the storing.
            let created = created;
            apply(
                &plan,
                &observed,
                session.pool(),
                session.parameters(),
                &session.pacer,
                self,
                progress,
                &|service, credential| {
                    // Fails only once storing has stopped, which is reported below.
                    let _ = created.send((service.to_owned(), credential.clone()));
                },
            )
            .await
        };
        // Each credential goes to the store only while the lock is still this run's.
        let forward = async {
            let (mut from_engine, to_sink) = (from_engine, to_sink);
            while let Some(created) = from_engine.recv().await {
                if self.hold(Check::Due).await.is_err() || to_sink.send(created).is_err() {
                    break;
                }
            }
        };
        let (outcome, (), stored) = tokio::join!(
            engine,
            forward,
            store_as_created(session, created_for_sink, expected)
        );
        let mut outcome = outcome?;
        let created_ids: BTreeMap<String, String> = outcome
            .created_clients
            .iter()
            .map(|(service, credential)| (service.clone(), credential.id.clone()))
            .collect();
        let record = outcome.record.take();
        let mut resync: BTreeSet<String> = observed.recovered_clients.iter().cloned().collect();
        let mut prune = false;
        for action in &plan.actions {
            let Action::Client(client) = action else {
                continue;
            };
            match &client.change {
                // Stored as it was updated, when the reply showed its secret.
                ClientChange::Update(edit)
                    if outcome.updated_clients.contains_key(&edit.after.id) => {}
                ClientChange::Update(_) => {
                    resync.insert(client.service.clone());
                }
                ClientChange::Delete { .. } => prune = true,
                // Stored at the new name's path; the old name's entry goes.
                ClientChange::Rename { .. } => {
                    resync.insert(client.service.clone());
                    prune = true;
                }
                ClientChange::Create { .. } | ClientChange::Import(_) => {}
            }
        }
        // The record as this run left it: a renamed service's client under its new name, a
        // destroyed one gone.
        let left = record
            .as_ref()
            .map_or_else(|| observed.record.clone(), |record| record.record().clone());
        let after = AfterApply {
            created: &outcome.created_clients,
            updated: &outcome.updated_clients,
            record: &left,
            resync,
            prune,
            everything: options.sync_secrets,
        };
        let credentials = self.store(stored, after, record, &outcome).await?;
        // The pool, the credentials and the record are done: new clients exist, so they join
        // the audience now.
        if !plan.gateways.is_empty() {
            self.hold(Check::Due)
                .await
                .map_err(|error| RunError::Apply(ApplyError::lock_lost(error, &outcome)))?;
            crate::apply::gateway::after_pool(
                &plan.gateways,
                &created_ids,
                &session.cloud,
                &session.pacer,
            )
            .await
            .map_err(crate::plan::gateway::GatewayError::from)?;
            outcome.changed += plan
                .gateways
                .iter()
                .map(|gateway| gateway.count())
                .sum::<usize>();
        }
        Ok(ApplyReport {
            applied: true,
            imported: outcome.imported,
            added: outcome.added,
            changed: outcome.changed,
            destroyed: outcome.destroyed,
            credentials,
        })
    }

    /// Stores credentials after the plan ran (`stored`: what was stored while it ran), then saves
    /// the run's record once, with the marks of the services whose credentials are now stored
    /// cleared. The record is saved also when storing failed: its marks then tell the next run
    /// what to store. A service refused for an entry cogwire did not write stays marked (the
    /// report names it). Neither happens once the lock is no longer this run's. Returns what was
    /// stored, when anything was to be.
    async fn store(
        &self,
        stored: Result<SyncReport, SyncError>,
        after: AfterApply<'_>,
        record: Option<UnsavedRecord>,
        outcome: &Outcome,
    ) -> Result<Option<SyncReport>, RunError> {
        let lost = |error| RunError::Apply(ApplyError::lock_lost(error, outcome));
        let mut done: BTreeSet<String> =
            after.created.keys().chain(&after.resync).cloned().collect();
        let shown =
            !after.created.is_empty() || !done.is_empty() || after.prune || after.everything;
        let result = match stored {
            Ok(stored) => {
                self.hold(Check::Due).await.map_err(lost)?;
                store_after_apply(self.session, stored, after).await
            }
            Err(error) => Err(error),
        };
        match &result {
            Ok(report) => {
                for service in report.plan.refused_services() {
                    done.remove(&service);
                }
            }
            Err(_) => done.clear(),
        }
        if let Some(record) = record {
            self.hold(Check::Now).await.map_err(lost)?;
            record
                .save(
                    self.session.parameters(),
                    &self.session.pacer,
                    &self.session.pool_id,
                    &done,
                )
                .await?;
        }
        Ok(result?).map(|report| shown.then_some(report))
    }

    /// Releases the lock if it is still this run's. Call it whatever the phases returned.
    pub async fn release(self) -> Result<(), CloudError> {
        tracing::info!("releasing the lock {}", self.lock.id());
        self.lock
            .release(self.session.parameters(), &self.session.pacer)
            .await
    }
}

/// The pool's lock, if any, and how alive its holder looks: for `plan` to show.
pub async fn current_lock<C: Cloud>(
    session: &Session<C>,
) -> Result<Option<crate::apply::lock::CurrentLock>, CloudError> {
    Lock::read(session.parameters(), &session.pacer, &session.pool_id).await
}

/// Removes the pool's lock `id` names; see `lock::force_unlock`.
pub async fn force_unlock<C: Cloud>(
    session: &Session<C>,
    id: Option<&str>,
    force: bool,
) -> Result<crate::apply::lock::Unlocked, crate::apply::lock::UnlockError> {
    crate::apply::lock::force_unlock(
        session.parameters(),
        &session.pacer,
        &session.pool_id,
        id,
        force,
    )
    .await
}

#[cfg(test)]
mod tests {
    //! `--refresh=false` against the in-memory cloud: which calls a plan makes, and that it falls
    //! back to describing every client when the record cannot support it.

    use super::*;
    use crate::apply::record::RecordStore;
    use crate::cloud::Parameters as _;
    use crate::cloud::memory::{MemoryAccount, MemoryCloud};
    use crate::cloud::operation::Operation;
    use crate::cloud::pace::{PaceSettings, Pacer};
    use crate::config::model::{Model, StoreKind, load};
    use crate::plan::Refresh;

    const POOL_ID: &str = "us-east-1_Refresh";

    /// Ten services, each with a resource server; eight of them consume a scope of another.
    fn fleet(changed: &[usize]) -> Model {
        let mut text = String::new();
        for index in 0..10 {
            text.push_str(&format!(
                "[services.svc-{index}]\nscopes = {{ \"read\" = \"Read\", \"write\" = \"Write\" }}\n"
            ));
            if index < 8 {
                let scope = if changed.contains(&index) {
                    "write"
                } else {
                    "read"
                };
                text.push_str(&format!(
                    "consumes = [\"svc-{}/{scope}\"]\n",
                    (index + 1) % 10
                ));
            }
        }
        load(&text, None).unwrap_or_else(|problems| panic!("invalid fleet: {problems:?}"))
    }

    fn session(cloud: &MemoryCloud, model: &Model) -> Session<MemoryAccount> {
        Session::new(
            model.clone(),
            POOL_ID.to_owned(),
            "us-east-1".to_owned(),
            cloud.account(StoreKind::Ssm),
            Pacer::new(PaceSettings::default()),
        )
    }

    struct Quiet;

    impl crate::apply::Progress for Quiet {
        fn start(&self, _total: usize) {}
        fn done(&self, _message: &str) {}
    }

    async fn apply_now(cloud: &MemoryCloud, model: &Model, refresh: bool) {
        let session = session(cloud, model);
        let locked = lock(&session, Duration::ZERO).await.expect("lock");
        let source = if refresh {
            PlanSource::Services(&[])
        } else {
            PlanSource::Trusting(&[])
        };
        let planned = locked.plan(source).await.expect("plan");
        locked
            .execute(planned, &ExecuteOptions::default(), &Quiet)
            .await
            .expect("apply");
        locked.release().await.expect("release");
    }

    /// The plan, and the calls it made, by operation.
    async fn plan_counting(
        cloud: &MemoryCloud,
        model: &Model,
        refresh: bool,
    ) -> (Plan, BTreeMap<Operation, usize>) {
        let before = cloud.call_log().len();
        let (plan, _) = plan_now(&session(cloud, model), &[], refresh)
            .await
            .expect("plan");
        let mut calls = BTreeMap::new();
        for operation in &cloud.call_log()[before..] {
            *calls.entry(*operation).or_default() += 1;
        }
        (plan, calls)
    }

    fn describes(calls: &BTreeMap<Operation, usize>) -> usize {
        calls
            .get(&Operation::DescribeUserPoolClient)
            .copied()
            .unwrap_or(0)
    }

    /// An apply's read makes the stored record forget the digests of the clients whose
    /// declaration changed, while it describes them; a plan's read writes nothing.
    async fn forgets_the_changed_clients_while_reading() {
        let cloud = MemoryCloud::new(POOL_ID);
        apply_now(&cloud, &fleet(&[]), true).await;
        let changed = fleet(&[2, 5]);
        let parameters = cloud.parameters();
        let pacer = Pacer::new(PaceSettings::default());
        let store = RecordStore::new(&parameters, &pacer, POOL_ID);
        let before = store.load().await.expect("load").0;
        let id_of = |service: &str| {
            before
                .client_of_service(service)
                .expect("a client")
                .to_owned()
        };

        plan_now(&session(&cloud, &changed), &[], true)
            .await
            .expect("plan");
        assert_eq!(
            store.load().await.expect("load").0,
            before,
            "a plan writes nothing"
        );

        let session = session(&cloud, &changed);
        let locked = lock(&session, Duration::ZERO).await.expect("lock");
        let planned = locked.plan(PlanSource::Services(&[])).await.expect("plan");
        let expected = BTreeSet::from([id_of("svc-2"), id_of("svc-5")]);
        assert_eq!(planned.observed.forgotten, expected);
        let after = store.load().await.expect("load").0;
        for (id, recorded) in &after.clients {
            assert_eq!(
                recorded.applied.is_none(),
                expected.contains(id),
                "{}: {:?}",
                recorded.service,
                recorded.applied
            );
        }
        // What the read already forgot needs no mark before the writes: the record is written
        // once more, at the end.
        let writes_before = cloud
            .call_log()
            .iter()
            .filter(|operation| **operation == Operation::PutParameter)
            .count();
        locked
            .execute(planned, &ExecuteOptions::default(), &Quiet)
            .await
            .expect("apply");
        locked.release().await.expect("release");
        let log = cloud.call_log();
        let first_update = log
            .iter()
            .position(|operation| *operation == Operation::UpdateUserPoolClient)
            .expect("an update");
        let puts_before_update = log[..first_update]
            .iter()
            .filter(|operation| **operation == Operation::PutParameter)
            .count();
        assert_eq!(
            puts_before_update, writes_before,
            "no mark before the first write"
        );
        let (record, _) = store.load().await.expect("load");
        assert!(
            record
                .clients
                .values()
                .all(|client| client.applied.is_some())
        );
        let (fast, _) = plan_counting(&cloud, &changed, false).await;
        assert!(!fast.has_changes());
    }

    /// The read's one write is fenced like every other: a run whose lock was force-unlocked
    /// writes nothing, and its plan fails.
    #[tokio::test(start_paused = true)]
    async fn a_run_that_lost_its_lock_forgets_nothing() {
        let cloud = MemoryCloud::new(POOL_ID);
        apply_now(&cloud, &fleet(&[]), true).await;
        let parameters = cloud.parameters();
        let pacer = Pacer::new(PaceSettings::default());
        let store = RecordStore::new(&parameters, &pacer, POOL_ID);
        let before = store.load().await.expect("load").0;
        let changed = fleet(&[2, 5]);
        let session = session(&cloud, &changed);
        let locked = lock(&session, Duration::ZERO).await.expect("lock");
        parameters
            .delete(&crate::config::namespace::lock_name(POOL_ID))
            .await
            .expect("force-unlock");
        let error = locked
            .plan(PlanSource::Services(&[]))
            .await
            .err()
            .expect("the lock is gone");
        assert!(error.to_string().contains("lock"), "{error}");
        assert_eq!(store.load().await.expect("load").0, before);
    }

    #[tokio::test(start_paused = true)]
    async fn an_apply_forgets_changed_digests_while_reading_an_inline_record() {
        forgets_the_changed_clients_while_reading().await;
    }

    #[tokio::test(start_paused = true)]
    async fn an_apply_forgets_changed_digests_while_reading_a_record_in_chunks() {
        crate::apply::record::testing::small_parameters(512);
        forgets_the_changed_clients_while_reading().await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_plan_without_refresh_describes_only_the_changed_clients() {
        let cloud = MemoryCloud::new(POOL_ID);
        apply_now(&cloud, &fleet(&[]), true).await;

        let (full, full_calls) = plan_counting(&cloud, &fleet(&[]), true).await;
        assert!(!full.has_changes());
        assert_eq!(
            describes(&full_calls),
            8,
            "a full plan describes every client"
        );
        assert_eq!(full.refresh, Refresh::Full);

        let (fast, fast_calls) = plan_counting(&cloud, &fleet(&[]), false).await;
        assert!(!fast.has_changes());
        assert_eq!(
            fast_calls.keys().copied().collect::<Vec<_>>(),
            vec![
                Operation::ListResourceServers,
                Operation::ListUserPoolClients,
                Operation::GetParameters
            ],
            "only the list pages and the record: {fast_calls:?}"
        );
        assert_eq!(
            fast.refresh,
            Refresh::Skipped {
                trusted: 8,
                described: 0
            }
        );
        assert!(
            crate::plan::render::human(&fast, crate::style::Style::plain(), false)
                .contains("drift was not checked")
        );

        let changed = fleet(&[2, 5]);
        let (full, _) = plan_counting(&cloud, &changed, true).await;
        let (fast, fast_calls) = plan_counting(&cloud, &changed, false).await;
        assert_eq!(describes(&fast_calls), 2, "only the two changed clients");
        assert_eq!(fast.actions, full.actions);
        assert_eq!(fast.summary.change, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn an_apply_without_refresh_records_what_it_wrote() {
        let cloud = MemoryCloud::new(POOL_ID);
        apply_now(&cloud, &fleet(&[]), true).await;
        let before = cloud.call_log().len();
        apply_now(&cloud, &fleet(&[3]), false).await;
        let log = cloud.call_log();
        let count = |wanted: Operation| {
            log[before..]
                .iter()
                .filter(|operation| **operation == wanted)
                .count()
        };
        assert_eq!(
            count(Operation::DescribeUserPoolClient),
            1,
            "the changed client is described by the plan, and not again to store its credentials: the update's reply holds its secret"
        );
        assert_eq!(count(Operation::ListUserPoolClients), 1);
        assert_eq!(count(Operation::UpdateUserPoolClient), 1);
        let snapshot = cloud.snapshot();
        let stored = snapshot
            .parameters
            .iter()
            .find(|(name, _)| name.ends_with("/svc-3"))
            .map(|(_, entry)| entry.value.expose().to_owned())
            .expect("svc-3's credentials");
        assert!(
            stored.contains("svc-4/write") && !stored.contains("svc-4/read"),
            "the stored credentials name the new scopes"
        );
        let (plan, calls) = plan_counting(&cloud, &fleet(&[3]), false).await;
        assert!(!plan.has_changes(), "{plan:?}");
        assert_eq!(describes(&calls), 0, "the update's digest is recorded");
        // Reverting is a change again, seen without a full refresh.
        let (full, _) = plan_counting(&cloud, &fleet(&[]), true).await;
        let (fast, calls) = plan_counting(&cloud, &fleet(&[]), false).await;
        assert_eq!(describes(&calls), 1);
        assert_eq!(fast.actions, full.actions);
        assert_eq!(fast.summary.change, 1);
    }

    /// What an older cogwire wrote: format 1, no digests. The fast plan reads every client.
    #[tokio::test(start_paused = true)]
    async fn a_record_of_an_older_cogwire_falls_back_to_a_full_refresh() {
        let cloud = MemoryCloud::new(POOL_ID);
        apply_now(&cloud, &fleet(&[]), true).await;
        let parameters = cloud.parameters();
        let pacer = Pacer::new(PaceSettings::default());
        let store = RecordStore::new(&parameters, &pacer, POOL_ID);
        let (mut record, slot) = store.load().await.expect("load");
        assert!(
            record
                .clients
                .values()
                .all(|client| client.applied.is_some()),
            "format 2 records a digest of every client"
        );
        for client in record.clients.values_mut() {
            client.applied = None;
        }
        let pointer = crate::config::namespace::state_name(POOL_ID);
        let slot = if slot.as_deref() == Some("a") {
            "b"
        } else {
            "a"
        };
        let json = serde_json::to_string(&record).expect("json");
        parameters
            .put(&format!("{pointer}/{slot}/0"), &json, true)
            .await
            .expect("put");
        let old = serde_json::json!({"format_version": 1, "slot": slot, "chunks": 1}).to_string();
        parameters.put(&pointer, &old, true).await.expect("put");

        let (full, _) = plan_counting(&cloud, &fleet(&[4]), true).await;
        let (fast, calls) = plan_counting(&cloud, &fleet(&[4]), false).await;
        assert_eq!(describes(&calls), 8, "every client, as a full plan");
        assert_eq!(fast.refresh, Refresh::FellBack { record_format: 1 });
        assert_eq!(fast.actions, full.actions);
        assert!(
            crate::plan::render::human(&fast, crate::style::Style::plain(), false)
                .contains("fell back to a full refresh")
        );
    }

    /// A client changed outside cogwire is not seen without a refresh (that is the trade), but a
    /// client whose update may not have been recorded is never trusted.
    #[tokio::test(start_paused = true)]
    async fn an_unsettled_client_is_described() {
        // A record in chunks, whose pointer alone can be rewritten to mark a client.
        crate::apply::record::testing::small_parameters(512);
        let cloud = MemoryCloud::new(POOL_ID);
        apply_now(&cloud, &fleet(&[]), true).await;
        let parameters = cloud.parameters();
        let pacer = Pacer::new(PaceSettings::default());
        let store = RecordStore::new(&parameters, &pacer, POOL_ID);
        let loaded = store.load_versioned().await.expect("load");
        let (id, recorded) = loaded
            .record
            .clients
            .iter()
            .next()
            .expect("a managed client");
        assert!(recorded.applied.is_some());
        let slot = loaded.slot.clone().expect("a slot");
        store
            .mark_unsettled(&slot, loaded.chunks, &BTreeSet::from([id.clone()]))
            .await
            .expect("mark");
        let (record, _) = store.load().await.expect("load");
        assert_eq!(record.clients[id].applied, None);
        let (_, calls) = plan_counting(&cloud, &fleet(&[]), false).await;
        assert_eq!(describes(&calls), 1);
    }

    /// A scope deleted outside cogwire (and taken from the client holding it) is restored by the
    /// plan; the clients the record says hold it are read, not trusted.
    #[tokio::test(start_paused = true)]
    async fn clients_holding_a_restored_scope_are_read() {
        use crate::cloud::UserPool as _;
        let cloud = MemoryCloud::new(POOL_ID);
        apply_now(&cloud, &fleet(&[]), true).await;
        let pool = cloud.user_pool();
        let snapshot = cloud.snapshot();
        let mut server = snapshot.resource_servers["svc-1"].clone();
        server.scopes.remove("read");
        pool.update_resource_server(&server).await.expect("update");
        let (_, holder) = snapshot
            .clients
            .iter()
            .find(|(_, client)| client.state.name == "svc-0-app-client")
            .expect("svc-0's client");
        let mut state = holder.state.clone();
        state.scopes.remove("svc-1/read");
        pool.update_client(&state).await.expect("update");

        let (full, _) = plan_counting(&cloud, &fleet(&[]), true).await;
        let (fast, calls) = plan_counting(&cloud, &fleet(&[]), false).await;
        assert_eq!(
            describes(&calls),
            1,
            "svc-0's client, which held svc-1/read"
        );
        assert_eq!(fast.actions, full.actions);
        assert_eq!(fast.summary.change, 2, "the scope and the client's grant");
    }
}
