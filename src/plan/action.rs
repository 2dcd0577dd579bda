//! One change a plan makes to one resource of the pool. Each kind of change holds exactly what
//! executing and showing it need, so an update always has both states, a create its spec and a
//! rename the service it came from; nothing is an `Option` that "should" be set.
//!
//! Saved plans and `--json` keep the shape of format 2 (one object per action with `change`,
//! `resource`, `fields`, `previous_service` and `replaces`); a saved plan whose action lacks what
//! its change needs is refused when it is read.

use serde::{Deserialize, Serialize};

use crate::cloud::{ClientSpec, ClientState, ResourceServerState};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "wire::Action", try_from = "wire::Action")]
pub enum Action {
    ResourceServer(ServerAction),
    Client(ClientAction),
}

/// A change to the resource server `identifier`, declared by `service`.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerAction {
    pub service: String,
    pub identifier: String,
    pub change: ServerChange,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ServerChange {
    Create {
        after: ResourceServerState,
        fields: Vec<FieldChange>,
    },
    Update(Edit<ResourceServerState>),
    /// Adopt it into cogwire's record, changed where `fields` say (none: adopted as it is).
    Import(Edit<ResourceServerState>),
    Delete {
        before: ResourceServerState,
    },
    /// Its service became `external`: forgotten, not touched.
    Forget {
        before: ResourceServerState,
    },
    /// Declared now by a renamed service: the record moves it from `previous_service`.
    Rename {
        previous_service: String,
        before: Option<ResourceServerState>,
    },
}

/// A change to the client `name` of `service`.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientAction {
    pub service: String,
    pub name: String,
    pub change: ClientChange,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ClientChange {
    Create {
        spec: ClientSpec,
        fields: Vec<FieldChange>,
        /// The client this plan destroys in its place (a new client id, so every caller's
        /// credentials change).
        replaces: Option<Replaced>,
    },
    /// `after` is the whole client to send, unmanaged settings included.
    Update(Edit<Box<ClientState>>),
    Import(Edit<Box<ClientState>>),
    /// `before` is `None` when the client was not described: it may hold any scope.
    Delete {
        id: String,
        before: Option<Box<ClientState>>,
    },
    /// Declared now by a renamed service: it keeps its id, the record moves it from
    /// `previous_service` and its credentials are stored at the new service's path.
    Rename {
        id: String,
        previous_service: String,
    },
}

/// A resource as it is and as the plan leaves it, with the differences for people to review.
#[derive(Debug, Clone, PartialEq)]
pub struct Edit<T> {
    pub before: T,
    pub after: T,
    pub fields: Vec<FieldChange>,
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
pub struct FieldChange {
    pub field: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// The kind of a change, for legends, summaries and JSON.
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
    /// A managed resource now declared by a renamed service: it keeps its id, the record moves
    /// it to the new name and its credentials are stored at the new path.
    Rename,
}

impl Action {
    pub fn service(&self) -> &str {
        match self {
            Self::ResourceServer(server) => &server.service,
            Self::Client(client) => &client.service,
        }
    }

    pub fn change(&self) -> Change {
        match self {
            Self::ResourceServer(server) => match server.change {
                ServerChange::Create { .. } => Change::Create,
                ServerChange::Update(_) => Change::Update,
                ServerChange::Import(_) => Change::Import,
                ServerChange::Delete { .. } => Change::Delete,
                ServerChange::Forget { .. } => Change::Forget,
                ServerChange::Rename { .. } => Change::Rename,
            },
            Self::Client(client) => match client.change {
                ClientChange::Create { .. } => Change::Create,
                ClientChange::Update(_) => Change::Update,
                ClientChange::Import(_) => Change::Import,
                ClientChange::Delete { .. } => Change::Delete,
                ClientChange::Rename { .. } => Change::Rename,
            },
        }
    }

    /// Field-level differences, `before -> after`, for people and for review.
    pub fn fields(&self) -> &[FieldChange] {
        match self {
            Self::ResourceServer(server) => match &server.change {
                ServerChange::Create { fields, .. } => fields,
                ServerChange::Update(edit) | ServerChange::Import(edit) => &edit.fields,
                ServerChange::Delete { .. }
                | ServerChange::Forget { .. }
                | ServerChange::Rename { .. } => &[],
            },
            Self::Client(client) => match &client.change {
                ClientChange::Create { fields, .. } => fields,
                ClientChange::Update(edit) | ClientChange::Import(edit) => &edit.fields,
                ClientChange::Delete { .. } | ClientChange::Rename { .. } => &[],
            },
        }
    }

    /// The id of the client it changes, once the client exists.
    pub fn client_id(&self) -> Option<&str> {
        let Self::Client(client) = self else {
            return None;
        };
        match &client.change {
            ClientChange::Create { .. } => None,
            ClientChange::Update(edit) | ClientChange::Import(edit) => Some(&edit.after.id),
            ClientChange::Delete { id, .. } | ClientChange::Rename { id, .. } => Some(id),
        }
    }

    /// For a rename: the service the record knew the resource by.
    pub fn previous_service(&self) -> Option<&str> {
        match self {
            Self::ResourceServer(ServerAction {
                change:
                    ServerChange::Rename {
                        previous_service, ..
                    },
                ..
            })
            | Self::Client(ClientAction {
                change:
                    ClientChange::Rename {
                        previous_service, ..
                    },
                ..
            }) => Some(previous_service),
            _ => None,
        }
    }

    /// For a created client: the client destroyed in its place.
    pub fn replaces(&self) -> Option<&Replaced> {
        match self {
            Self::Client(ClientAction {
                change: ClientChange::Create { replaces, .. },
                ..
            }) => replaces.as_ref(),
            _ => None,
        }
    }

    /// Whether executing it calls AWS to write (an import without differences only records).
    pub fn writes(&self) -> bool {
        match self.change() {
            Change::Create | Change::Delete | Change::Update => true,
            Change::Import => !self.fields().is_empty(),
            Change::Forget | Change::Rename => false,
        }
    }

    /// An import that changes the resource: its owner changes and so does what it holds, which
    /// takes `--adopt`.
    pub fn adopts_with_changes(&self) -> bool {
        self.change() == Change::Import && !self.fields().is_empty()
    }

    pub fn is_resource_server(&self) -> bool {
        matches!(self, Self::ResourceServer(_))
    }

    pub fn label(&self) -> String {
        match self {
            Self::ResourceServer(server) => format!("resource server {}", server.identifier),
            Self::Client(client) => match self.client_id() {
                Some(id) => format!("client {} ({id})", client.name),
                None => format!("client {}", client.name),
            },
        }
    }
}

impl ServerAction {
    /// The scopes (bare names) it takes from the pool: those an update drops, or all of a deleted
    /// server's. Forgetting or renaming leaves the pool's server as it is.
    pub fn removed_scopes(&self) -> Vec<&str> {
        match &self.change {
            ServerChange::Update(edit) | ServerChange::Import(edit) => {
                lacking(&edit.before, &edit.after)
            }
            ServerChange::Delete { before } => before.scopes.keys().map(String::as_str).collect(),
            ServerChange::Create { .. }
            | ServerChange::Forget { .. }
            | ServerChange::Rename { .. } => Vec::new(),
        }
    }

    /// The scopes it adds to a server that exists (a created server's are all new anyway).
    pub fn restored_scopes(&self) -> Vec<&str> {
        match &self.change {
            ServerChange::Update(edit) | ServerChange::Import(edit) => {
                lacking(&edit.after, &edit.before)
            }
            _ => Vec::new(),
        }
    }
}

/// The scopes of `server` that `other` lacks.
fn lacking<'a>(server: &'a ResourceServerState, other: &ResourceServerState) -> Vec<&'a str> {
    server
        .scopes
        .keys()
        .filter(|scope| !other.scopes.contains_key(*scope))
        .map(String::as_str)
        .collect()
}

/// An action whose saved form lacks what its change needs.
#[derive(Debug, thiserror::Error)]
#[error("a {change:?} of {resource} without {missing}")]
pub struct InvalidAction {
    change: Change,
    resource: String,
    missing: &'static str,
}

/// Format 2's shape of an action, as saved plans and `--json` hold it.
mod wire {
    use serde::{Deserialize, Serialize};

    use super::{Change, FieldChange, Replaced};
    use crate::cloud::{ClientSpec, ClientState, ResourceServerState};

    #[derive(Serialize, Deserialize)]
    pub struct Action {
        pub service: String,
        pub change: Change,
        pub resource: Resource,
        pub fields: Vec<FieldChange>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub previous_service: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub replaces: Option<Replaced>,
    }

    #[derive(Serialize, Deserialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    pub enum Resource {
        ResourceServer {
            identifier: String,
            after: Option<ResourceServerState>,
            before: Option<ResourceServerState>,
        },
        Client {
            name: String,
            id: Option<String>,
            spec: Option<ClientSpec>,
            after: Option<Box<ClientState>>,
            before: Option<Box<ClientState>>,
        },
    }
}

impl From<Action> for wire::Action {
    fn from(action: Action) -> Self {
        let change = action.change();
        let service = action.service().to_owned();
        let previous_service = action.previous_service().map(str::to_owned);
        let replaces = action.replaces().cloned();
        let fields = action.fields().to_vec();
        let resource = match action {
            Action::ResourceServer(server) => {
                let (before, after) = match server.change {
                    ServerChange::Create { after, .. } => (None, Some(after)),
                    ServerChange::Update(edit) | ServerChange::Import(edit) => {
                        (Some(edit.before), Some(edit.after))
                    }
                    ServerChange::Delete { before } | ServerChange::Forget { before } => {
                        (Some(before), None)
                    }
                    ServerChange::Rename { before, .. } => (before, None),
                };
                wire::Resource::ResourceServer {
                    identifier: server.identifier,
                    after,
                    before,
                }
            }
            Action::Client(client) => {
                let (id, spec, before, after) = match client.change {
                    ClientChange::Create { spec, .. } => (None, Some(spec), None, None),
                    ClientChange::Update(edit) | ClientChange::Import(edit) => (
                        Some(edit.after.id.clone()),
                        None,
                        Some(edit.before),
                        Some(edit.after),
                    ),
                    ClientChange::Delete { id, before } => (Some(id), None, before, None),
                    ClientChange::Rename { id, .. } => (Some(id), None, None, None),
                };
                wire::Resource::Client {
                    name: client.name,
                    id,
                    spec,
                    after,
                    before,
                }
            }
        };
        Self {
            service,
            change,
            resource,
            fields,
            previous_service,
            replaces,
        }
    }
}

impl TryFrom<wire::Action> for Action {
    type Error = InvalidAction;

    fn try_from(action: wire::Action) -> Result<Self, Self::Error> {
        let wire::Action {
            service,
            change,
            resource,
            fields,
            previous_service,
            replaces,
        } = action;
        let invalid = |resource: &str, missing| InvalidAction {
            change,
            resource: resource.to_owned(),
            missing,
        };
        match resource {
            wire::Resource::ResourceServer {
                identifier,
                after,
                before,
            } => {
                let label = format!("resource server {identifier}");
                let change = match (change, before, after) {
                    (Change::Create, _, Some(after)) => ServerChange::Create { after, fields },
                    (Change::Update, Some(before), Some(after)) => ServerChange::Update(Edit {
                        before,
                        after,
                        fields,
                    }),
                    (Change::Import, Some(before), Some(after)) => ServerChange::Import(Edit {
                        before,
                        after,
                        fields,
                    }),
                    (Change::Delete, Some(before), _) => ServerChange::Delete { before },
                    (Change::Forget, Some(before), _) => ServerChange::Forget { before },
                    (Change::Rename, before, _) => ServerChange::Rename {
                        previous_service: previous_service
                            .ok_or_else(|| invalid(&label, "previous_service"))?,
                        before,
                    },
                    (Change::Create | Change::Update | Change::Import, _, None) => {
                        return Err(invalid(&label, "its state after"));
                    }
                    (_, None, _) => return Err(invalid(&label, "its state before")),
                };
                Ok(Self::ResourceServer(ServerAction {
                    service,
                    identifier,
                    change,
                }))
            }
            wire::Resource::Client {
                name,
                id,
                spec,
                after,
                before,
            } => {
                let label = format!("client {name}");
                let change = match (change, id, spec, before, after) {
                    (Change::Create, _, Some(spec), _, _) => ClientChange::Create {
                        spec,
                        fields,
                        replaces,
                    },
                    (Change::Update, _, _, Some(before), Some(after)) => {
                        ClientChange::Update(Edit {
                            before,
                            after,
                            fields,
                        })
                    }
                    (Change::Import, _, _, Some(before), Some(after)) => {
                        ClientChange::Import(Edit {
                            before,
                            after,
                            fields,
                        })
                    }
                    (Change::Delete, Some(id), _, before, _) => ClientChange::Delete { id, before },
                    (Change::Rename, Some(id), ..) => ClientChange::Rename {
                        id,
                        previous_service: previous_service
                            .ok_or_else(|| invalid(&label, "previous_service"))?,
                    },
                    (Change::Create, ..) => return Err(invalid(&label, "its spec")),
                    (Change::Update | Change::Import, ..) => {
                        return Err(invalid(&label, "its states before and after"));
                    }
                    (Change::Delete | Change::Rename, None, ..) => {
                        return Err(invalid(&label, "its id"));
                    }
                    (Change::Forget, ..) => {
                        return Err(invalid(&label, "a meaning: clients are not forgotten"));
                    }
                };
                Ok(Self::Client(ClientAction {
                    service,
                    name,
                    change,
                }))
            }
        }
    }
}

/// Actions of each kind, with placeholder states, for tests of what reads plans.
#[cfg(test)]
pub mod examples {
    use super::*;
    use crate::plan::diff::declared_state;

    fn spec(name: &str) -> ClientSpec {
        ClientSpec {
            name: name.to_owned(),
            scopes: Default::default(),
            access_token_validity: crate::config::duration::Seconds(3600),
        }
    }

    fn server_state(identifier: &str) -> ResourceServerState {
        ResourceServerState {
            identifier: identifier.to_owned(),
            name: identifier.to_owned(),
            scopes: Default::default(),
        }
    }

    /// A change of kind `change` to the client `name` of `service` (its id `id` where it exists).
    pub fn client(service: &str, change: Change, name: &str, id: &str) -> Action {
        let state = || Box::new(declared_state(&spec(name), id));
        let edit = || Edit {
            before: state(),
            after: state(),
            fields: Vec::new(),
        };
        let change = match change {
            Change::Create => ClientChange::Create {
                spec: spec(name),
                fields: Vec::new(),
                replaces: None,
            },
            Change::Update => ClientChange::Update(edit()),
            Change::Import => ClientChange::Import(edit()),
            Change::Delete => ClientChange::Delete {
                id: id.to_owned(),
                before: None,
            },
            Change::Rename | Change::Forget => ClientChange::Rename {
                id: id.to_owned(),
                previous_service: format!("{service}-before"),
            },
        };
        Action::Client(ClientAction {
            service: service.to_owned(),
            name: name.to_owned(),
            change,
        })
    }

    /// A change of kind `change` to the resource server `identifier` of `service`.
    pub fn server(service: &str, change: Change, identifier: &str) -> Action {
        let state = || server_state(identifier);
        let edit = || Edit {
            before: state(),
            after: state(),
            fields: Vec::new(),
        };
        let change = match change {
            Change::Create => ServerChange::Create {
                after: state(),
                fields: Vec::new(),
            },
            Change::Update => ServerChange::Update(edit()),
            Change::Import => ServerChange::Import(edit()),
            Change::Delete => ServerChange::Delete { before: state() },
            Change::Forget => ServerChange::Forget { before: state() },
            Change::Rename => ServerChange::Rename {
                previous_service: format!("{service}-before"),
                before: Some(state()),
            },
        };
        Action::ResourceServer(ServerAction {
            service: service.to_owned(),
            identifier: identifier.to_owned(),
            change,
        })
    }

    /// The fields of `action`, to give it differences.
    pub fn fields_mut(action: &mut Action) -> &mut Vec<FieldChange> {
        match action {
            Action::ResourceServer(ServerAction {
                change:
                    ServerChange::Create { fields, .. }
                    | ServerChange::Update(Edit { fields, .. })
                    | ServerChange::Import(Edit { fields, .. }),
                ..
            })
            | Action::Client(ClientAction {
                change:
                    ClientChange::Create { fields, .. }
                    | ClientChange::Update(Edit { fields, .. })
                    | ClientChange::Import(Edit { fields, .. }),
                ..
            }) => fields,
            _ => panic!("{} holds no fields", action.label()),
        }
    }

    #[test]
    fn every_kind_keeps_its_shape_through_json() {
        for change in [
            Change::Create,
            Change::Update,
            Change::Import,
            Change::Delete,
            Change::Rename,
        ] {
            let action = client("orders", change, "orders-app-client", "c1");
            let json = serde_json::to_value(&action).expect("serializes");
            assert_eq!(
                json["change"],
                serde_json::to_value(change).expect("change")
            );
            assert_eq!(json["resource"]["type"], "client");
            let back: Action = serde_json::from_value(json).expect("reads back");
            assert_eq!(back, action);
        }
        for change in [
            Change::Create,
            Change::Update,
            Change::Import,
            Change::Delete,
            Change::Forget,
            Change::Rename,
        ] {
            let action = server("orders", change, "orders");
            let json = serde_json::to_value(&action).expect("serializes");
            assert_eq!(json["resource"]["type"], "resource_server");
            let back: Action = serde_json::from_value(json).expect("reads back");
            assert_eq!(back, action);
        }
    }

    #[test]
    fn a_saved_action_without_what_its_change_needs_is_refused() {
        let mut json =
            serde_json::to_value(client("orders", Change::Update, "orders-app-client", "c1"))
                .expect("serializes");
        json["resource"]["after"] = serde_json::Value::Null;
        let error = serde_json::from_value::<Action>(json)
            .expect_err("an update without its state after")
            .to_string();
        assert!(error.contains("client orders-app-client"), "{error}");

        let mut json =
            serde_json::to_value(server("orders", Change::Rename, "orders")).expect("serializes");
        json.as_object_mut()
            .expect("object")
            .remove("previous_service");
        let error = serde_json::from_value::<Action>(json)
            .expect_err("a rename without the service it came from")
            .to_string();
        assert!(error.contains("previous_service"), "{error}");
    }
}
