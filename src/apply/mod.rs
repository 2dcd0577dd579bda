//! Executes a plan in three phases: [`intent`] writes into the ownership record what the run is
//! about to create or adopt, before anything is; [`schedule`] runs the plan's writes as a graph
//! of operations, each as soon as what it waits for is done; [`settle`] folds each finished one
//! into the record and the outcome. A crash at any point loses nothing and the next run
//! converges; [`run`] is the saga around it (lock, plan, credentials, record saved once).

pub mod gateway;
mod intent;
pub mod lock;
pub mod record;
pub mod run;
mod schedule;
mod settle;

#[cfg(test)]
mod crash_points;

use crate::apply::lock::{Check, LockError};
use crate::apply::record::{RecordError, RecordStore};
use crate::cloud::pace::Pacer;
use crate::cloud::{ClientSpec, ClientState, CloudError, Parameters, UserPool};
use crate::plan::Plan;
use crate::plan::observed::Observed;
use crate::sensitive::Secret;

pub use settle::UnsavedRecord;

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
    pub record: Option<UnsavedRecord>,
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
    let intent = intent::intent(plan, observed);
    let mut settle = settle::Settle::new(plan, &intent, on_created);
    // Right before the first write: is the lock still this run's?
    fence
        .hold(Check::Now)
        .await
        .map_err(|lost| ApplyError::lock_lost(lost, settle.outcome()))?;
    let slot = intent::save(&intent, observed, &store).await?;
    let scheduled =
        schedule::run(plan, pool, parameters, pacer, fence, progress, &mut settle).await;
    settle.close(scheduled, intent, slot, &store, fence).await
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
