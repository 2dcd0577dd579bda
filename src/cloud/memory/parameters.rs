//! SSM Parameter Store as cogwire's bookkeeping (the ownership record, the lock) uses it: plain
//! strings, at most 10 names a read, and `Overwrite=false` refused on a name that exists.

use std::collections::BTreeMap;

use super::{MemoryCloud, StoredEntry, rejected};
use crate::cloud::operation::Operation;
use crate::cloud::stores::EntryKind;
use crate::cloud::{CloudError, CloudResult, Parameters};
use crate::sensitive::Secret;

/// The most names GetParameters takes.
pub(super) const READ_BATCH: usize = 10;

/// The in-memory cloud's Parameter Store, for the record and the lock.
#[derive(Debug, Clone)]
pub struct MemoryParameters {
    cloud: MemoryCloud,
}

impl MemoryParameters {
    pub(super) fn new(cloud: MemoryCloud) -> Self {
        Self { cloud }
    }
}

pub(super) fn too_many_names(operation: Operation, names: usize, most: usize) -> CloudError {
    rejected(
        operation,
        "ValidationException",
        format!("{names} names: member must have length less than or equal to {most}"),
    )
}

impl Parameters for MemoryParameters {
    async fn get(&self, names: &[String]) -> CloudResult<BTreeMap<String, String>> {
        const OPERATION: Operation = Operation::GetParameters;
        // The adapter makes no call for no names.
        if names.is_empty() {
            return Ok(BTreeMap::new());
        }
        self.cloud.call(OPERATION, |account| {
            if names.len() > READ_BATCH {
                return Err(too_many_names(OPERATION, names.len(), READ_BATCH));
            }
            Ok(names
                .iter()
                .filter_map(|name| {
                    let entry = account.parameters.get(name)?;
                    Some((name.clone(), entry.value.expose().to_owned()))
                })
                .collect())
        })
    }

    async fn put(&self, name: &str, value: &str, overwrite: bool) -> CloudResult<()> {
        const OPERATION: Operation = Operation::PutParameter;
        self.cloud.call(OPERATION, |account| {
            match account.parameters.get_mut(name) {
                Some(_) if !overwrite => Err(CloudError::AlreadyExists {
                    operation: OPERATION,
                    what: format!("The parameter {name} already exists."),
                }),
                // Overwriting keeps the parameter's tags.
                Some(entry) => {
                    entry.value = Secret::new(value);
                    entry.kind = EntryKind::Plain;
                    Ok(())
                }
                None => {
                    account.parameters.insert(
                        name.to_owned(),
                        StoredEntry {
                            value: Secret::new(value),
                            kind: EntryKind::Plain,
                            tags: BTreeMap::new(),
                            scheduled_for_deletion: false,
                        },
                    );
                    Ok(())
                }
            }
        })
    }

    async fn delete(&self, name: &str) -> CloudResult<()> {
        // The adapter turns ParameterNotFound into success.
        self.cloud.call(Operation::DeleteParameter, |account| {
            account.parameters.remove(name);
            Ok(())
        })
    }
}
