//! Stage four's rotation: the two steps of rotating a client's secret without downtime with
//! Cognito's two secrets a client. Phase one adds a secret and stores it; phase two deletes every
//! secret but the stored one, once it is proven which that is. What a client is made of is read
//! afresh at every step, so a step repeated after a crash starts from what is really there.

use std::collections::{BTreeMap, BTreeSet};

use super::decide::{
    Current, Fingerprints, FinishStep, Foreign, Holding, Identified, RotationStep, fingerprint,
    finish_step, identify, rotation_step, stored_secret,
};
use super::sync::{
    ManagedClient, SyncError, execute, list_managed, load_fingerprints, plan_sync, read_clients,
    read_current, secret_ids,
};
use crate::cloud::operation::Operation;
use crate::cloud::stores::StoredKind;
use crate::cloud::{AddedSecret, Cloud, CloudError, Parameters as _, UserPool as _};
use crate::config::duration::Seconds;
use crate::config::namespace::fingerprints_name;
use crate::sensitive::Secret;
use crate::session::Session;

#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    #[error("`{service}` has no app client in the pool")]
    NoClient { service: String },
    #[error("the app client of `{service}` has no secret to rotate")]
    NoSecret { service: String },
    #[error(
        "the stored secret of `{service}` is none of its app client's secrets; no secret is deleted until the store holds one"
    )]
    NotLive { service: String },
    #[error(
        "cannot prove which of its app client's secrets the store holds for `{service}`; no secret is deleted"
    )]
    Unproven { service: String },
    /// AddUserPoolClientSecret failed, and may or may not have added a secret.
    #[error("adding a client secret failed: {0}")]
    AddSecret(CloudError),
    /// The store's entry is not cogwire's: nothing is rotated, since the new secret could not be
    /// stored.
    #[error(transparent)]
    Foreign(Foreign),
    #[error(
        "the new secret of `{service}` is {age} old; consumers that re-read the store every {refresh} may still hold the old one"
    )]
    TooSoon {
        service: String,
        age: Seconds,
        refresh: Seconds,
        wait: Seconds,
    },
    #[error(transparent)]
    Sync(#[from] SyncError),
}

impl RotateError {
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::NoClient { .. } => Some("run `cogwire apply` first".to_owned()),
            Self::NoSecret { .. } => Some(
                "cogwire creates clients with a secret; a client made elsewhere without one cannot be rotated"
                    .to_owned(),
            ),
            Self::NotLive { service } => Some(format!(
                "run `cogwire sync-secrets --service {service}` to store a secret the client has, then run this again"
            )),
            Self::Unproven { .. } => Some(
                "cogwire can tell apart only secrets it added; delete the one services do not use with `aws cognito-idp delete-user-pool-client-secret`, then run this again"
                    .to_owned(),
            ),
            Self::AddSecret(error) => {
                let again = "run the same command again: it replaces any secret this run may have added";
                Some(match error.hint() {
                    Some(hint) => format!("{hint}; then {again}"),
                    None => again.to_owned(),
                })
            }
            Self::Foreign(foreign) => Some(foreign.hint()),
            Self::TooSoon { service, wait, .. } => Some(format!(
                "wait {wait} and run `cogwire rotate-secret {service} --finish` again (the slowest consumer's refresh, `[export] refresh` or --refresh, plus a margin), or add --force once every consumer has re-read the store"
            )),
            Self::Sync(error) => error.hint(),
        }
    }
}

/// What a rotation step did to one client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotated {
    /// Phase one: a second secret was added and stored.
    Added,
    /// Phase one: the store held none of the client's secrets; the described one was stored,
    /// then a second secret added and stored.
    RepairedAndAdded,
    /// Phase one: a newer secret whose value a crashed run lost was replaced, and stored.
    ReplacedLost,
    /// Phase one had been done: the store holds the newest secret.
    AlreadyStarted,
    /// Phase two: the one secret was stored; nothing to retire.
    Repaired,
    /// Phase two: one secret, stored; nothing to retire.
    NothingToRetire,
    /// Phase two: every secret but the stored one was deleted.
    Retired,
}

impl std::fmt::Display for Rotated {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            Self::Added => "new secret added and stored; the old one stays valid",
            Self::RepairedAndAdded => {
                "the stored secret was none of the client's: replaced; new secret added and stored"
            }
            Self::ReplacedLost => {
                "replaced a new secret whose value was lost, and stored it; the old one stays valid"
            }
            Self::AlreadyStarted => "already rotating: the store holds the new secret",
            Self::Repaired | Self::NothingToRetire => "one secret, stored; nothing to retire",
            Self::Retired => "old secrets retired; the stored secret is the only one",
        })
    }
}

/// Phase one: a second secret, stored; the first stays valid.
pub async fn start<C: Cloud>(session: &Session<C>, service: &str) -> Result<Rotated, RotateError> {
    let mut inspected = inspect(session, service).await?;
    match rotation_step(&inspected.secret_ids, &inspected.identified.holding) {
        RotationStep::NoSecret => Err(no_secret(service)),
        RotationStep::Refuse(holding) => Err(unproven(service, &holding)),
        RotationStep::Started => Ok(Rotated::AlreadyStarted),
        RotationStep::Add => {
            ensure_ours(session, service, &mut inspected).await?;
            if inspected.identified.holding != Holding::NotLive {
                add_and_store(session, service, &mut inspected, &[]).await?;
                return Ok(Rotated::Added);
            }
            // First store the only secret: should this run die after adding, the store then
            // holds a secret the next run can tell from the one whose value was lost.
            store_described(session, service, &mut inspected).await?;
            add_and_store(session, service, &mut inspected, &[]).await?;
            Ok(Rotated::RepairedAndAdded)
        }
        RotationStep::Replace { unknown } => {
            ensure_ours(session, service, &mut inspected).await?;
            for secret_id in &unknown {
                delete_secret(session, &inspected.client.state.id, secret_id).await?;
            }
            add_and_store(session, service, &mut inspected, &unknown).await?;
            Ok(Rotated::ReplacedLost)
        }
    }
}

/// How long after a new secret the old one may go: the slowest consumer's refresh, plus a tenth
/// of it (at least a minute) for a consumer that read just before the new secret was stored.
pub fn settle_time(refresh: Seconds) -> Seconds {
    Seconds(refresh.0 + (refresh.0 / 10).max(60))
}

/// What phase two must wait out before it deletes a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settle {
    /// The slowest consumer's refresh interval.
    pub refresh: Seconds,
    /// Nanoseconds since the epoch, now.
    pub now: i128,
}

/// Whether the secret the store holds, created at `created` (nanoseconds since the epoch), is old
/// enough for every consumer to have re-read it; `Err` holds its age and how long to wait.
pub fn settled(settle: &Settle, created: i128) -> Result<(), (Seconds, Seconds)> {
    let age =
        Seconds(u64::try_from((settle.now - created).max(0) / 1_000_000_000).unwrap_or(u64::MAX));
    let needed = settle_time(settle.refresh);
    if age >= needed {
        Ok(())
    } else {
        Err((age, Seconds(needed.0 - age.0)))
    }
}

/// Phase two: every secret but the one the store holds is deleted, once the store provably
/// holds one of the client's secrets.
pub async fn finish<C: Cloud>(session: &Session<C>, service: &str) -> Result<Rotated, RotateError> {
    finish_settled(session, service, None).await
}

/// `finish`, refusing (before any delete) while the secret the store holds is younger than
/// `settle` allows.
pub async fn finish_settled<C: Cloud>(
    session: &Session<C>,
    service: &str,
    settle: Option<Settle>,
) -> Result<Rotated, RotateError> {
    let mut inspected = inspect(session, service).await?;
    match finish_step(&inspected.secret_ids, &inspected.identified.holding) {
        FinishStep::NoSecret => Err(no_secret(service)),
        FinishStep::Refuse(holding) => Err(unproven(service, &holding)),
        FinishStep::Repair => {
            ensure_ours(session, service, &mut inspected).await?;
            store_described(session, service, &mut inspected).await?;
            Ok(Rotated::Repaired)
        }
        FinishStep::Retire(others) if others.is_empty() => Ok(Rotated::NothingToRetire),
        FinishStep::Retire(others) => {
            if let Some(settle) = settle {
                let client_id = &inspected.client.state.id;
                let secrets = session
                    .pacer
                    .call(Operation::ListUserPoolClientSecrets, || {
                        session.pool().list_client_secrets(client_id)
                    })
                    .await
                    .map_err(SyncError::from)?;
                let held = secrets.iter().find(|secret| !others.contains(&secret.id));
                if let Some(held) = held
                    && let Err((age, wait)) = settled(&settle, held.created)
                {
                    return Err(RotateError::TooSoon {
                        service: service.to_owned(),
                        age,
                        refresh: settle.refresh,
                        wait,
                    });
                }
            }
            for secret_id in &others {
                delete_secret(session, &inspected.client.state.id, secret_id).await?;
            }
            Ok(Rotated::Retired)
        }
    }
}

/// A client as a rotation step sees it.
struct Inspected {
    client: ManagedClient,
    /// Oldest first.
    secret_ids: Vec<String>,
    /// The store's entries of the service (the listing of cogwire's entries once `ensure_ours`
    /// read it).
    current: Current,
    /// The fingerprints kept, as read.
    known: Fingerprints,
    identified: Identified,
}

async fn inspect<C: Cloud>(session: &Session<C>, service: &str) -> Result<Inspected, RotateError> {
    let selected = BTreeSet::from([service.to_owned()]);
    let Some((_, client)) = read_clients(session, &selected).await?.0.pop_first() else {
        return Err(RotateError::NoClient {
            service: service.to_owned(),
        });
    };
    let secret_ids = secret_ids(session, &client.state.id).await?;
    let known = load_fingerprints(session, &client.state.id).await?;
    let current = read_current(session, selected.iter()).await?;
    let stored = stored_secret(
        &session.model.secrets,
        &session.pool_id,
        service,
        &client.state.id,
        &current.values,
    );
    let identified = identify(&secret_ids, client.secret.as_ref(), stored.as_ref(), &known);
    tracing::info!(
        "rotation of {service}: client {} has {} secrets; the store holds {:?}",
        client.state.id,
        secret_ids.len(),
        identified.holding
    );
    Ok(Inspected {
        client,
        secret_ids,
        current,
        known,
        identified,
    })
}

/// Before a step changes anything: the store's entries of the service must be cogwire's, or the
/// new secret could not be stored (and its value would be lost).
async fn ensure_ours<C: Cloud>(
    session: &Session<C>,
    service: &str,
    inspected: &mut Inspected,
) -> Result<(), RotateError> {
    inspected.current.managed = list_managed(session).await?;
    let probe = Secret::new("");
    let plan = plan_of(session, service, inspected, probe);
    match plan.refused.into_iter().next() {
        Some(foreign) => Err(RotateError::Foreign(foreign)),
        None => Ok(()),
    }
}

fn plan_of<C: Cloud>(
    session: &Session<C>,
    service: &str,
    inspected: &Inspected,
    secret: Secret,
) -> super::decide::SyncPlan {
    let clients = BTreeMap::from([(
        service.to_owned(),
        ManagedClient {
            state: inspected.client.state.clone(),
            secret: inspected.client.secret.clone(),
        },
    )]);
    let secrets = BTreeMap::from([(service.to_owned(), secret)]);
    plan_sync(
        session,
        &clients,
        &secrets,
        &inspected.current,
        None,
        &BTreeSet::new(),
    )
}

/// Adds a secret and stores it. The fingerprints are saved before adding (with the stored
/// secret's) and again after (with the new one's), so that wherever a run dies, the next one can
/// prove which secret the store holds, and knows any newer one's value is lost.
async fn add_and_store<C: Cloud>(
    session: &Session<C>,
    service: &str,
    inspected: &mut Inspected,
    deleted: &[String],
) -> Result<(), RotateError> {
    let client_id = inspected.client.state.id.clone();
    let mut fingerprints = inspected.identified.fingerprints.clone();
    fingerprints.retain(|secret_id, _| !deleted.contains(secret_id));
    if fingerprints != inspected.known {
        save_fingerprints(session, &client_id, &fingerprints).await?;
    }
    let before: Vec<String> = inspected
        .secret_ids
        .iter()
        .filter(|secret_id| !deleted.contains(secret_id))
        .cloned()
        .collect();
    let added = add_secret(session, &client_id, &before).await?;
    fingerprints.insert(added.id.clone(), fingerprint(&added.value));
    save_fingerprints(session, &client_id, &fingerprints).await?;
    store_secret(session, service, inspected, added.value).await
}

/// AddUserPoolClientSecret is not safe to repeat (a repeat adds a third secret, which Cognito
/// refuses). After a failure whose outcome is unknown, the client's secrets are listed: one that
/// is not in `before` was added by the failed attempt and its value is lost, so it is deleted
/// (nobody can hold it) before the secret is added again.
async fn add_secret<C: Cloud>(
    session: &Session<C>,
    client_id: &str,
    before: &[String],
) -> Result<AddedSecret, RotateError> {
    session
        .pacer
        .call_looking(
            Operation::AddUserPoolClientSecret,
            || session.pool().add_client_secret(client_id),
            || async {
                let now = session
                    .pacer
                    .call(Operation::ListUserPoolClientSecrets, || {
                        session.pool().list_client_secrets(client_id)
                    })
                    .await?;
                for lost in now.iter().filter(|secret| !before.contains(&secret.id)) {
                    match session
                        .pacer
                        .call(Operation::DeleteUserPoolClientSecret, || {
                            session.pool().delete_client_secret(client_id, &lost.id)
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
        .map_err(RotateError::AddSecret)
}

async fn delete_secret<C: Cloud>(
    session: &Session<C>,
    client_id: &str,
    secret_id: &str,
) -> Result<(), RotateError> {
    match session
        .pacer
        .call(Operation::DeleteUserPoolClientSecret, || {
            session.pool().delete_client_secret(client_id, secret_id)
        })
        .await
    {
        Ok(()) | Err(CloudError::NotFound { .. }) => Ok(()),
        Err(error) => Err(SyncError::from(error).into()),
    }
}

async fn save_fingerprints<C: Cloud>(
    session: &Session<C>,
    client_id: &str,
    fingerprints: &Fingerprints,
) -> Result<(), RotateError> {
    let name = fingerprints_name(&session.pool_id, client_id);
    let text = serde_json::Value::Object(
        fingerprints
            .iter()
            .map(|(id, hash)| (id.clone(), serde_json::Value::from(hash.as_str())))
            .collect(),
    )
    .to_string();
    session
        .pacer
        .call(Operation::PutParameter, || {
            session.parameters().put(&name, &text, true)
        })
        .await
        .map_err(|error| SyncError::from(error).into())
}

/// Stores the one secret Cognito describes, for a client whose store holds none of its secrets.
async fn store_described<C: Cloud>(
    session: &Session<C>,
    service: &str,
    inspected: &mut Inspected,
) -> Result<(), RotateError> {
    let only = inspected
        .client
        .secret
        .clone()
        .ok_or_else(|| no_secret(service))?;
    store_secret(session, service, inspected, only).await
}

/// Stores `secret` as the service's, and keeps `inspected` in step with what the store holds.
async fn store_secret<C: Cloud>(
    session: &Session<C>,
    service: &str,
    inspected: &mut Inspected,
    secret: Secret,
) -> Result<(), RotateError> {
    let plan = plan_of(session, service, inspected, secret);
    if let Some(foreign) = plan.refused.first() {
        return Err(RotateError::Foreign(foreign.clone()));
    }
    execute(session, &plan).await?;
    let current = &mut inspected.current;
    for write in plan.writes {
        let kind = match current.kinds.get(&write.name) {
            Some(kind) => kind.written_as(write.kind),
            None => StoredKind::String.written_as(write.kind),
        };
        current.kinds.insert(write.name.clone(), kind);
        current.managed.insert(write.name.clone());
        current.values.insert(write.name, write.value);
    }
    Ok(())
}

fn no_secret(service: &str) -> RotateError {
    RotateError::NoSecret {
        service: service.to_owned(),
    }
}

/// Why a phase deletes no secret.
fn unproven(service: &str, holding: &Holding) -> RotateError {
    let service = service.to_owned();
    if *holding == Holding::NotLive {
        RotateError::NotLive { service }
    } else {
        RotateError::Unproven { service }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::sync::tests::{entry, fleet, is_theirs, put_theirs};

    fn secret_ids(cloud: &crate::cloud::memory::MemoryCloud, client_id: &str) -> Vec<String> {
        cloud.snapshot().clients[client_id]
            .secrets
            .iter()
            .map(|secret| secret.id.clone())
            .collect()
    }

    /// A secret is added only where it can be stored: with another tool's entry at the path,
    /// the client keeps its one secret and the entry is untouched.
    #[tokio::test]
    async fn no_secret_is_added_that_could_not_be_stored() {
        let (cloud, session, _, clients) = fleet(true).await;
        put_theirs(&cloud, "/cogwire/billing");
        let error = start(&session, "billing").await.expect_err("refused");
        assert!(matches!(error, RotateError::Foreign(_)), "{error}");
        assert!(
            error
                .hint()
                .is_some_and(|hint| hint.contains("--adopt billing"))
        );
        assert_eq!(secret_ids(&cloud, &clients["billing"]).len(), 1);
        assert!(is_theirs(entry(&cloud, "/cogwire/billing")));
    }

    #[tokio::test]
    async fn both_steps_leave_one_secret_the_store_holds() {
        let (cloud, session, _, clients) = fleet(true).await;
        let client_id = &clients["shipping"];
        let started = start(&session, "shipping").await.expect("phase one");
        assert_eq!(started, Rotated::RepairedAndAdded);
        let ids = secret_ids(&cloud, client_id);
        assert_eq!(ids.len(), 2);
        assert_eq!(
            start(&session, "shipping").await.expect("again"),
            Rotated::AlreadyStarted
        );
        assert_eq!(
            finish(&session, "shipping").await.expect("phase two"),
            Rotated::Retired
        );
        assert_eq!(secret_ids(&cloud, client_id), ids[1..]);
    }

    #[test]
    fn the_old_secret_waits_for_the_slowest_consumer_and_a_margin() {
        assert_eq!(settle_time(Seconds::HOUR), Seconds(3_960));
        assert_eq!(settle_time(Seconds(120)), Seconds(180));
        let second = 1_000_000_000_i128;
        let settle = Settle {
            refresh: Seconds(120),
            now: 1_000 * second,
        };
        assert_eq!(
            settled(&settle, 900 * second),
            Err((Seconds(100), Seconds(80)))
        );
        assert_eq!(settled(&settle, 820 * second), Ok(()));
        assert_eq!(
            settled(&settle, 2_000 * second),
            Err((Seconds(0), Seconds(180)))
        );
    }
}
