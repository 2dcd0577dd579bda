//! The plan: what would change in the pool, as a value. Computed by `diff` without side effects,
//! rendered by `render` for people and as JSON, saved with `plan --out` and executed by `apply`.
//! It never holds a secret.

pub mod diff;
pub mod observed;
pub mod render;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::cloud::{ClientSpec, ClientState, ClientSummary, ResourceServerState};

/// "2": renames, replaced clients, owner changes, pending credentials and per-resource digests.
pub const FORMAT_VERSION: &str = "2";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub format_version: String,
    pub pool_id: String,
    pub actions: Vec<Action>,
    pub summary: Summary,
    /// Resources in the pool that are neither declared nor recorded: never touched.
    pub unmanaged: Unmanaged,
    /// Callers whose access to a scope this plan removes, managed or not.
    pub lost_access: Vec<LostAccess>,
    /// Services whose client exists but whose credentials a run has not stored yet (a run that
    /// died between creating clients and storing them): `apply` stores them.
    #[serde(default)]
    pub pending_credentials: Vec<PendingCredentials>,
    /// Set by `--adopt`: adopting resources that are not cogwire's and changing them is approved.
    #[serde(default)]
    pub adopt: bool,
    /// Fingerprint of the pool as read for this plan; `apply PLANFILE` refuses if it differs.
    pub observed_digest: String,
    /// A fingerprint of each resource as read (and of the record), by label, so that a refused
    /// `apply PLANFILE` can say which resources changed.
    #[serde(default)]
    pub observed_resources: BTreeMap<String, String>,
    /// The client ids described for this plan, so `apply PLANFILE` reads the same.
    pub described_client_names: BTreeSet<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    Create,
    Update,
    Delete,
    /// Adopt an existing resource into cogwire's record, changing it where it differs.
    Import,
    /// A recorded resource whose service became `external`: forgotten, not touched.
    Forget,
    /// A managed resource now declared by a renamed service (`previous_service`): it keeps its
    /// id, the record moves it to the new name and its credentials are stored at the new path.
    Rename,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Resource {
    ResourceServer {
        identifier: String,
        /// The state after the change; `None` for a delete.
        after: Option<ResourceServerState>,
        /// The state before; `None` for a create.
        before: Option<ResourceServerState>,
    },
    Client {
        name: String,
        /// `None` until created.
        id: Option<String>,
        /// For a create.
        spec: Option<ClientSpec>,
        /// The whole client to send for an update, unmanaged settings included.
        after: Option<Box<ClientState>>,
        before: Option<Box<ClientState>>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    pub service: String,
    pub change: Change,
    pub resource: Resource,
    /// Field-level differences, `before -> after`, for people and for review.
    pub fields: Vec<FieldChange>,
    /// For a rename: the service the record knew the resource by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_service: Option<String>,
    /// For a created client: the client this plan destroys in its place (a new client id, so
    /// every caller's credentials change).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<Replaced>,
}

impl Action {
    /// Whether executing it calls AWS to write (an import without differences only records).
    pub fn writes(&self) -> bool {
        match self.change {
            Change::Create | Change::Delete | Change::Update => true,
            Change::Import => !self.fields.is_empty(),
            Change::Forget | Change::Rename => false,
        }
    }

    /// An import that changes the resource: its owner changes and so does what it holds, which
    /// takes `--adopt`.
    pub fn adopts_with_changes(&self) -> bool {
        self.change == Change::Import && !self.fields.is_empty()
    }

    pub fn is_resource_server(&self) -> bool {
        matches!(self.resource, Resource::ResourceServer { .. })
    }

    pub fn label(&self) -> String {
        match &self.resource {
            Resource::ResourceServer { identifier, .. } => format!("resource server {identifier}"),
            Resource::Client {
                name, id: Some(id), ..
            } => format!("client {name} ({id})"),
            Resource::Client { name, .. } => format!("client {name}"),
        }
    }
}

/// A client a plan destroys while it creates another for the same caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replaced {
    /// The service the record knew the replaced client by.
    pub service: String,
    pub name: String,
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingCredentials {
    pub service: String,
    pub client_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub import: usize,
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
    /// Renamed services whose resources keep their ids.
    #[serde(default)]
    pub rename: usize,
}

impl Summary {
    pub fn of(actions: &[Action]) -> Self {
        let mut summary = Self::default();
        for action in actions {
            match action.change {
                Change::Create => summary.add += 1,
                Change::Update => summary.change += 1,
                Change::Delete => summary.destroy += 1,
                Change::Import => {
                    summary.import += 1;
                    if !action.fields.is_empty() {
                        summary.change += 1;
                    }
                }
                Change::Forget => {}
                Change::Rename => summary.rename += 1,
            }
        }
        summary
    }

    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unmanaged {
    pub resource_servers: Vec<String>,
    pub clients: Vec<ClientSummary>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LostAccess {
    /// The caller's service, or its client name where the client is not declared.
    pub caller: String,
    /// The full scope string, `<identifier>/<scope>`.
    pub scope: String,
    /// The client that holds the scope.
    #[serde(default)]
    pub client_id: String,
    /// Whether cogwire manages the client: an unmanaged one keeps naming a scope that no longer
    /// exists, and its own tool's next save fails, so removing the scope takes `--allow-destroy`.
    #[serde(default = "managed_by_default")]
    pub managed: bool,
}

fn managed_by_default() -> bool {
    true
}

impl Plan {
    pub fn has_changes(&self) -> bool {
        self.actions
            .iter()
            .any(|action| action.change != Change::Forget)
            || !self.summary.is_empty()
            || !self.pending_credentials.is_empty()
    }

    /// The resources this plan would take from another owner and change (`--adopt` approves).
    pub fn needs_adopt(&self) -> Vec<String> {
        self.actions
            .iter()
            .filter(|action| action.adopts_with_changes())
            .map(Action::label)
            .collect()
    }

    /// Why this plan needs `--allow-destroy`: the unmanaged clients that hold a scope it removes
    /// (cogwire cannot take the scope from them, and their own tool then fails to save them).
    pub fn needs_allow_destroy(&self) -> Vec<String> {
        self.lost_access
            .iter()
            .filter(|lost| !lost.managed)
            .map(|lost| {
                format!(
                    "unmanaged client {} ({}) holds {}, which this plan removes",
                    lost.caller, lost.client_id, lost.scope
                )
            })
            .collect()
    }

    /// Which resources differ between the pool this plan was made from and `now` (per-resource
    /// digests, labelled as the plan labels them).
    pub fn changed_since(&self, now: &BTreeMap<String, String>) -> Vec<String> {
        let labels: BTreeSet<&String> = self.observed_resources.keys().chain(now.keys()).collect();
        labels
            .into_iter()
            .filter_map(
                |label| match (self.observed_resources.get(label), now.get(label)) {
                    (Some(before), Some(after)) if before == after => None,
                    (Some(_), Some(_)) => Some(format!("{label} changed")),
                    (Some(_), None) => Some(format!("{label} is gone")),
                    (None, _) => Some(format!("{label} is new")),
                },
            )
            .collect()
    }
}
