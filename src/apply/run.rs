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
use crate::apply::{ApplyError, Fence, FinalRecord, Outcome, Progress, apply};
use crate::cloud::{Cloud, CloudError};
use crate::credentials::sync::{
    AfterApply, SyncError, SyncReport, store_after_apply, store_as_created,
};
use crate::plan::diff::{DiffError, Selection, diff, undescribed_holders, wanted_client_names};
use crate::plan::observed::{Observed, ReadError, read};
use crate::plan::{Change, Plan, Resource};
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

/// The pool read and the plan made for `services` (all when empty); shared with `plan`.
pub async fn plan_now<C: Cloud>(
    session: &Session<C>,
    services: &[String],
) -> Result<(Plan, Observed), RunError> {
    let selection = Selection::of(&session.model, services)?;
    let wanted = wanted_client_names(&session.model);
    let mut observed = read(
        session.pool(),
        session.parameters(),
        &session.pacer,
        &wanted,
    )
    .await?;
    let mut plan = diff(&session.model, &observed, &selection)?;
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
    let gateways = crate::plan::gateway::read(
        &session.model,
        services,
        session.cloud.gateway(),
        &session.pacer,
    )
    .await?;
    if !gateways.is_empty() {
        let issuer = crate::tokens::token::issuer(&session.pool_id, &session.region);
        plan.gateways =
            crate::plan::gateway::diff(&session.model, &gateways, &plan, &observed.record, &issuer);
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
            PlanSource::Services(services) => {
                let (plan, observed) = plan_now(session, services).await?;
                Ok(Planned { plan, observed })
            }
            PlanSource::Saved(saved) => {
                if saved.pool_id != session.pool_id {
                    return Err(RunError::WrongPool {
                        plan_pool: saved.pool_id.clone(),
                        pool: session.pool_id.clone(),
                    });
                }
                let observed = read(
                    session.pool(),
                    session.parameters(),
                    &session.pacer,
                    &saved.described_client_names,
                )
                .await?;
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
                        session.cloud.gateway(),
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
        let gateway_writes = if plan.gateways.is_empty() {
            0
        } else {
            self.hold(Check::Now).await.map_err(|error| {
                RunError::Apply(ApplyError::lock_lost(error, &Outcome::default()))
            })?;
            crate::apply::gateway::before_pool(
                &plan.gateways,
                session.cloud.gateway(),
                &session.pacer,
            )
            .await
            .map_err(crate::plan::gateway::GatewayError::from)?
        };
        if plan.actions.is_empty() {
            let gateway_writes = gateway_writes
                + crate::apply::gateway::after_pool(
                    &plan.gateways,
                    &BTreeMap::new(),
                    session.cloud.gateway(),
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
        let (outcome, (), stored) =
            tokio::join!(engine, forward, store_as_created(session, created_for_sink));
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
            if let Resource::Client { .. } = action.resource {
                match action.change {
                    Change::Update => {
                        resync.insert(action.service.clone());
                    }
                    Change::Delete => prune = true,
                    // Stored at the new name's path; the old name's entry goes.
                    Change::Rename => {
                        resync.insert(action.service.clone());
                        prune = true;
                    }
                    _ => {}
                }
            }
        }
        // The record as this run left it: a renamed service's client is found under its new name.
        let mut renamed = observed.record.clone();
        for action in &plan.actions {
            if let (Change::Rename, Some(previous)) = (action.change, &action.previous_service) {
                for recorded in renamed.clients.values_mut() {
                    if &recorded.service == previous {
                        recorded.service.clone_from(&action.service);
                    }
                }
            }
        }
        let after = AfterApply {
            created: &outcome.created_clients,
            record: &renamed,
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
                session.cloud.gateway(),
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
        record: Option<FinalRecord>,
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
