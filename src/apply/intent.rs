//! Apply, phase one: the record says what this run is about to create, adopt, forget or rename
//! before the first write, so that a run that dies at any later point leaves the next one enough
//! to recover (a client found under a pending name is cogwire's, never a stranger's).

use std::collections::BTreeSet;

use crate::apply::record::{Record, RecordError, RecordStore, RecordedClient, applied_digest};
use crate::cloud::Parameters;
use crate::plan::observed::Observed;
use crate::plan::{Action, Change, ClientAction, ClientChange, Plan, ServerAction, ServerChange};

/// The record as it must be saved before the first write.
pub(super) struct Intent {
    pub record: Record,
    /// Whether ownership changed (anything beyond forgetting digests), so the whole record is
    /// saved rather than only marked.
    pub owners_changed: bool,
    /// Clients about to be written: until this run records what it wrote, no digest of theirs
    /// may be trusted (`plan --refresh=false`), should it die in between.
    pub unsettled: BTreeSet<String>,
    /// Resources adopted into the record.
    pub imported: usize,
}

/// What the record says once the plan's intent is written into it. Pure.
pub(super) fn intent(plan: &Plan, observed: &Observed) -> Intent {
    let mut record = observed.record.clone();
    for action in &plan.actions {
        match action {
            Action::ResourceServer(ServerAction {
                service,
                identifier,
                change,
            }) => match change {
                // A renamed service keeps its resources: the record moves them to the new name.
                ServerChange::Create { .. }
                | ServerChange::Import(_)
                | ServerChange::Rename { .. } => {
                    record
                        .resource_servers
                        .insert(identifier.clone(), service.clone());
                }
                ServerChange::Forget { .. } => {
                    record.resource_servers.remove(identifier);
                }
                ServerChange::Update(_) | ServerChange::Delete { .. } => {}
            },
            Action::Client(ClientAction {
                service,
                name,
                change,
            }) => match change {
                ClientChange::Create { .. } => {
                    record.pending_clients.insert(name.clone(), service.clone());
                    record.credentials_pending.insert(service.clone());
                }
                ClientChange::Import(edit) => {
                    let mut recorded = RecordedClient::new(service.clone(), name.clone());
                    // Adopted unchanged: it is as it was read. Changed: known once updated.
                    if edit.fields.is_empty() {
                        recorded.applied = Some(applied_digest(&edit.after));
                    }
                    record.clients.insert(edit.after.id.clone(), recorded);
                }
                // Its credentials are to be stored at the new name's path.
                ClientChange::Rename { id, .. } => {
                    if let Some(recorded) = record.clients.get_mut(id) {
                        recorded.service.clone_from(service);
                    }
                    record.credentials_pending.insert(service.clone());
                }
                ClientChange::Update(_) | ClientChange::Delete { .. } => {}
            },
        }
    }
    let imported = plan
        .actions
        .iter()
        .filter(|action| action.change() == Change::Import)
        .count();
    let owners_changed = record != observed.record || observed.record_stale;
    let unsettled: BTreeSet<String> = plan
        .actions
        .iter()
        .filter(|action| action.writes())
        .filter_map(Action::client_id)
        .map(str::to_owned)
        .collect();
    record.forget_digests(&unsettled);
    Intent {
        record,
        owners_changed,
        unsettled,
        imported,
    }
}

/// Saves the intent, in as few writes as it takes; returns the record's slot afterwards.
pub(super) async fn save<S: Parameters>(
    intent: &Intent,
    observed: &Observed,
    store: &RecordStore<'_, S>,
) -> Result<Option<String>, RecordError> {
    if intent.owners_changed {
        return Ok(Some(
            store
                .save(&intent.record, observed.record_slot.as_deref())
                .await?,
        ));
    }
    // The read already made the stored record forget these (`observed::Forget`).
    if intent.unsettled.is_subset(&observed.forgotten) || intent.record == observed.record {
        return Ok(observed.record_slot.clone());
    }
    let Some(current) = &observed.record_slot else {
        return Ok(None);
    };
    if observed.record_chunks == 0 {
        // An inline record is saved whole: one write, as a mark would be.
        return Ok(Some(
            store.save(&intent.record, Some(current.as_str())).await?,
        ));
    }
    // Only digests to forget: the pointer alone says so, one write instead of the record; it
    // keeps naming what the read made it forget.
    let unsettled: BTreeSet<String> = intent
        .unsettled
        .union(&observed.forgotten)
        .cloned()
        .collect();
    store
        .mark_unsettled(current, observed.record_chunks, &unsettled)
        .await?;
    Ok(observed.record_slot.clone())
}
