//! The credentials store of the in-memory account, as `cloud::stores`' two adapters behave:
//! - SSM: one namespace with `MemoryParameters`; a create is `PutParameter` with
//!   `Overwrite=false` and the tags; an update overwrites (creating a missing name, as SSM does)
//!   and keeps the tags; a listing is by path, recursive, filtered on cogwire's tags;
//! - Secrets Manager: a delete only schedules the secret for deletion, and its name stays taken:
//!   a create of such a name restores it with the new value and tags, as the adapter does
//!   (RestoreSecret, PutSecretValue, TagResource: here one call, logged as `CreateSecret`); an
//!   update or a second delete of it is refused with `InvalidRequestException`.

use crate::cloud::operation::Operation;
use std::collections::{BTreeMap, BTreeSet};

use super::parameters::too_many_names;
use super::{Account, MemoryCloud, StoredEntry, not_found, rejected};
use crate::cloud::stores::{
    EntryKind, EntryWrite, MANAGED_BY, POOL_TAG, SecretStore, StoreOperations, Stored, StoredKind,
};
use crate::cloud::{CloudError, CloudResult};
use crate::config::model::StoreKind;

/// One credentials store of the in-memory cloud.
#[derive(Debug, Clone)]
pub struct MemoryStore {
    cloud: MemoryCloud,
    kind: StoreKind,
}

impl MemoryStore {
    pub(super) fn new(cloud: MemoryCloud, kind: StoreKind) -> Self {
        Self { cloud, kind }
    }
}

impl Account {
    fn entries(&self, kind: StoreKind) -> &BTreeMap<String, StoredEntry> {
        match kind {
            StoreKind::Ssm => &self.parameters,
            StoreKind::SecretsManager => &self.manager_secrets,
        }
    }

    fn entries_mut(&mut self, kind: StoreKind) -> &mut BTreeMap<String, StoredEntry> {
        match kind {
            StoreKind::Ssm => &mut self.parameters,
            StoreKind::SecretsManager => &mut self.manager_secrets,
        }
    }
}

fn new_entry(entry: EntryWrite<'_>, tags: &[(String, String)]) -> StoredEntry {
    StoredEntry {
        value: entry.value.clone(),
        kind: entry.kind,
        tags: tags.iter().cloned().collect(),
        scheduled_for_deletion: false,
    }
}

fn marked_for_deletion(operation: Operation, name: &str) -> CloudError {
    rejected(
        operation,
        "InvalidRequestException",
        format!(
            "You can't perform this operation on the secret {name} because it was marked for deletion."
        ),
    )
}

/// Whether `name` is listed under `path`: SSM lists a hierarchy below the path, Secrets Manager
/// (filtered by the adapter) every name that begins with it.
fn under(kind: StoreKind, path: &str, name: &str) -> bool {
    match kind {
        StoreKind::Ssm => {
            let path = path.trim_end_matches('/');
            name.strip_prefix(path)
                .is_some_and(|rest| rest.starts_with('/'))
        }
        StoreKind::SecretsManager => name.starts_with(path),
    }
}

impl SecretStore for MemoryStore {
    /// As `AwsSsmStore` and `AwsSecretsManagerStore` report them.
    fn operations(&self) -> StoreOperations {
        match self.kind {
            StoreKind::Ssm => StoreOperations {
                read: Operation::GetParameters,
                read_batch: 10,
                list: Operation::GetParametersByPath,
                create: Operation::PutParameter,
                create_tags: true,
                update: Operation::PutParameter,
                tag: Operation::AddTagsToResource,
                delete: Operation::DeleteParameter,
            },
            StoreKind::SecretsManager => StoreOperations {
                read: Operation::BatchGetSecretValue,
                read_batch: 20,
                list: Operation::ListSecrets,
                create: Operation::CreateSecret,
                create_tags: true,
                update: Operation::PutSecretValue,
                tag: Operation::TagResource,
                delete: Operation::DeleteSecret,
            },
        }
    }

    async fn read(&self, names: &[String]) -> CloudResult<BTreeMap<String, Stored>> {
        let operations = self.operations();
        if names.is_empty() {
            return Ok(BTreeMap::new());
        }
        let kind = self.kind;
        self.cloud.call(operations.read, |account| {
            if names.len() > operations.read_batch {
                return Err(too_many_names(
                    operations.read,
                    names.len(),
                    operations.read_batch,
                ));
            }
            let entries = account.entries(kind);
            Ok(names
                .iter()
                .filter_map(|name| {
                    let entry = entries.get(name)?;
                    let stored = Stored {
                        value: entry.value.clone(),
                        kind: match (kind, entry.kind) {
                            (StoreKind::SecretsManager, _) => StoredKind::Secret,
                            (StoreKind::Ssm, EntryKind::Plain) => StoredKind::String,
                            (StoreKind::Ssm, EntryKind::Secure) => StoredKind::SecureString,
                        },
                    };
                    (!entry.scheduled_for_deletion).then(|| (name.clone(), stored))
                })
                .collect())
        })
    }

    async fn list_managed(&self, path: &str, pool_id: &str) -> CloudResult<BTreeSet<String>> {
        let kind = self.kind;
        self.cloud.call(self.operations().list, |account| {
            let tagged = |entry: &StoredEntry, key: &str, value: &str| {
                entry.tags.get(key).is_some_and(|found| found == value)
            };
            Ok(account
                .entries(kind)
                .iter()
                .filter(|(name, entry)| {
                    under(kind, path, name)
                        && !entry.scheduled_for_deletion
                        && tagged(entry, MANAGED_BY.0, MANAGED_BY.1)
                        && tagged(entry, POOL_TAG, pool_id)
                })
                .map(|(name, _)| name.clone())
                .collect())
        })
    }

    async fn create(&self, entry: EntryWrite<'_>, tags: &[(String, String)]) -> CloudResult<()> {
        let operation = self.operations().create;
        let kind = self.kind;
        self.cloud.call(operation, |account| {
            let entries = account.entries_mut(kind);
            match entries.get_mut(entry.name) {
                Some(existing) if existing.scheduled_for_deletion => {
                    existing.value = entry.value.clone();
                    existing.kind = entry.kind;
                    existing.tags.extend(tags.iter().cloned());
                    existing.scheduled_for_deletion = false;
                    Ok(())
                }
                Some(_) => Err(CloudError::AlreadyExists {
                    operation,
                    what: entry.name.to_owned(),
                }),
                None => {
                    entries.insert(entry.name.to_owned(), new_entry(entry, tags));
                    Ok(())
                }
            }
        })
    }

    async fn update(&self, entry: EntryWrite<'_>) -> CloudResult<()> {
        let operation = self.operations().update;
        let kind = self.kind;
        self.cloud.call(operation, |account| {
            let entries = account.entries_mut(kind);
            match (kind, entries.get_mut(entry.name)) {
                (StoreKind::SecretsManager, Some(existing)) if existing.scheduled_for_deletion => {
                    Err(marked_for_deletion(operation, entry.name))
                }
                (_, Some(existing)) => {
                    existing.value = entry.value.clone();
                    existing.kind = entry.kind;
                    Ok(())
                }
                (StoreKind::Ssm, None) => {
                    entries.insert(entry.name.to_owned(), new_entry(entry, &[]));
                    Ok(())
                }
                (StoreKind::SecretsManager, None) => Err(not_found(
                    operation,
                    format!(
                        "Secrets Manager can't find the specified secret {}.",
                        entry.name
                    ),
                )),
            }
        })
    }

    async fn tag(&self, name: &str, tags: &[(String, String)]) -> CloudResult<()> {
        let operation = self.operations().tag;
        let kind = self.kind;
        self.cloud.call(operation, |account| {
            match account.entries_mut(kind).get_mut(name) {
                Some(existing) => {
                    existing.tags.extend(tags.iter().cloned());
                    Ok(())
                }
                // SSM says InvalidResourceId, which the adapter does not classify further.
                None if kind == StoreKind::Ssm => Err(rejected(
                    operation,
                    "InvalidResourceId",
                    format!("{name} does not exist"),
                )),
                None => Err(not_found(
                    operation,
                    format!("Secrets Manager can't find the specified secret {name}."),
                )),
            }
        })
    }

    async fn delete(&self, name: &str) -> CloudResult<()> {
        let operation = self.operations().delete;
        let kind = self.kind;
        self.cloud.call(operation, |account| {
            let entries = account.entries_mut(kind);
            match (kind, entries.get_mut(name)) {
                // The adapters turn "not found" into success.
                (_, None) => Ok(()),
                (StoreKind::Ssm, Some(_)) => {
                    entries.remove(name);
                    Ok(())
                }
                (StoreKind::SecretsManager, Some(existing)) if existing.scheduled_for_deletion => {
                    Err(marked_for_deletion(operation, name))
                }
                (StoreKind::SecretsManager, Some(existing)) => {
                    existing.scheduled_for_deletion = true;
                    Ok(())
                }
            }
        })
    }
}
