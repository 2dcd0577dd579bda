//! Apply, phase three: each finished operation settles into the record and the outcome (a created
//! client becomes a recorded one with what was applied, a deleted one leaves the record), new
//! credentials are handed on as they appear, and the run ends with the record to save, or with an
//! error after saving what a failed run learned.

use std::collections::BTreeSet;

use crate::apply::intent::Intent;
use crate::apply::lock::Check;
use crate::apply::record::{Record, RecordError, RecordStore, RecordedClient, applied_digest};
use crate::apply::schedule::{Executed, Failure, Finished, Scheduled, Write};
use crate::apply::{ApplyError, CreatedCredential, Fence, OnCreated, Outcome, UpdatedCredential};
use crate::cloud::pace::Pacer;
use crate::cloud::{ClientSpec, CloudError, Parameters};
use crate::plan::diff::declared_state;
use crate::plan::{Action, Plan};

/// The record and outcome as the run's operations finish.
pub(super) struct Settle<'a> {
    plan: &'a Plan,
    on_created: OnCreated<'a>,
    record: Record,
    outcome: Outcome,
    failures: Vec<CloudError>,
    duplicate: Option<(String, Vec<String>)>,
}

impl<'a> Settle<'a> {
    pub fn new(plan: &'a Plan, intent: &Intent, on_created: OnCreated<'a>) -> Self {
        Self {
            plan,
            on_created,
            record: intent.record.clone(),
            outcome: Outcome {
                imported: intent.imported,
                ..Outcome::default()
            },
            failures: Vec::new(),
            duplicate: None,
        }
    }

    pub fn outcome(&self) -> &Outcome {
        &self.outcome
    }

    /// Ends the run: an error for a lost lock, a failure or a duplicate (what a failed run learned
    /// saved first, while the lock is still this run's), or the outcome with the record to save.
    pub async fn close<S: Parameters, F: Fence>(
        self,
        scheduled: Scheduled,
        intent: Intent,
        slot: Option<String>,
        store: &RecordStore<'_, S>,
        fence: &F,
    ) -> Result<Outcome, ApplyError> {
        let Self {
            record,
            mut outcome,
            failures,
            duplicate,
            ..
        } = self;
        if let Some(lost) = scheduled.lost {
            // No further write: the intent saved before the first write tells the next run what
            // this one may have created.
            return Err(ApplyError::lock_lost(lost, &outcome));
        }
        let failed = duplicate.is_some() || !failures.is_empty();
        if failed && record != intent.record {
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
        let failed = failures.len();
        if let Some(first) = failures.into_iter().next() {
            return Err(ApplyError::Failed {
                failed,
                total: scheduled.total,
                first,
            });
        }
        outcome.record = Some(UnsavedRecord {
            record,
            slot,
            saved: intent.record,
        });
        Ok(outcome)
    }
}

impl Finished for Settle<'_> {
    fn failed(&self) -> bool {
        !self.failures.is_empty() || self.duplicate.is_some()
    }

    fn finished(&mut self, write: &Write, result: Result<Executed, Failure>) -> bool {
        let executed = match result {
            Ok(executed) => executed,
            Err(Failure::Cloud(error)) => {
                self.failures.push(error);
                return false;
            }
            Err(Failure::Duplicate { name, ids }) => {
                self.duplicate = Some((name, ids));
                return false;
            }
        };
        let plan = self.plan;
        let outcome = &mut self.outcome;
        match (write, executed) {
            (Write::CreateClient { service, spec }, Executed::CreatedClient { id, secret }) => {
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
                (self.on_created)(service, &credential);
                outcome.created_clients.insert(service.clone(), credential);
                self.record.pending_clients.remove(&spec.name);
                let mut recorded = RecordedClient::new(service.clone(), spec.name.clone());
                recorded.applied = applied;
                self.record.clients.insert(id, recorded);
                outcome.added += 1;
            }
            (Write::UpdateClient(client), executed) => {
                if let Executed::UpdatedClient {
                    secret: Some(secret),
                } = executed
                {
                    if let Some(service) = service_of(plan, &client.id) {
                        (self.on_created)(
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
                if let Some(recorded) = self.record.clients.get_mut(&client.id) {
                    recorded.applied = Some(applied_digest(client));
                }
                outcome.changed += 1;
            }
            (Write::CreateResourceServer(_) | Write::CreateClient { .. }, _) => outcome.added += 1,
            (Write::UpdateResourceServer(_), _) => outcome.changed += 1,
            (Write::DeleteResourceServer(identifier), _) => {
                self.record.resource_servers.remove(identifier);
                outcome.destroyed += 1;
            }
            (Write::DeleteClient { id, .. }, _) => {
                self.record.clients.remove(id);
                outcome.destroyed += 1;
            }
        }
        true
    }
}

/// The service of the plan's action on client `id`.
fn service_of<'p>(plan: &'p Plan, id: &str) -> Option<&'p str> {
    plan.actions
        .iter()
        .find(|action| action.client_id() == Some(id))
        .map(Action::service)
}

/// The record as a successful run leaves it, not saved yet: the caller saves it once the new
/// clients' credentials are stored, so that one save records both (at a thousand services the
/// record is dozens of SSM writes). Until then the saved record holds the run's intent, from
/// which the next run recovers if this one dies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsavedRecord {
    record: Record,
    slot: Option<String>,
    saved: Record,
}

impl UnsavedRecord {
    /// The record as the run left it.
    pub fn record(&self) -> &Record {
        &self.record
    }

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
