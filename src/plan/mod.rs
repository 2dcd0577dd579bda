//! The plan: what would change in the pool, as a value. Computed by `diff` without side effects,
//! rendered by `render` for people and as JSON, saved with `plan --out` and executed by `apply`.
//! It never holds a secret.

pub mod diff;
pub mod observed;
pub mod render;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::cloud::{ClientSpec, ClientState, ClientSummary, ResourceServerState};

pub const FORMAT_VERSION: &str = "1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub format_version: String,
    pub pool_id: String,
    pub actions: Vec<Action>,
    pub summary: Summary,
    /// Resources in the pool that are neither declared nor recorded: never touched.
    pub unmanaged: Unmanaged,
    /// Callers whose access to a scope this plan removes.
    pub lost_access: Vec<LostAccess>,
    /// Fingerprint of the pool as read for this plan; `apply PLANFILE` refuses if it differs.
    pub observed_digest: String,
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
}

impl Action {
    /// Whether executing it calls AWS to write (an import without differences only records).
    pub fn writes(&self) -> bool {
        match self.change {
            Change::Create | Change::Delete | Change::Update => true,
            Change::Import => !self.fields.is_empty(),
            Change::Forget => false,
        }
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
    pub pacer: String,
    /// The full scope string, `<identifier>/<scope>`.
    pub scope: String,
}

impl Plan {
    pub fn has_changes(&self) -> bool {
        self.actions
            .iter()
            .any(|action| action.change != Change::Forget)
            || !self.summary.is_empty()
    }
}
