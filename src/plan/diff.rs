//! Desired x observed -> plan. Pure: no I/O, so every rule about ownership, adoption and deletion
//! is tested here without AWS.

use std::collections::{BTreeMap, BTreeSet};

use crate::cloud::{ClientExtras, ClientSpec, ClientState, ResourceServerState};
use crate::config::model::{Model, Service};
use crate::plan::observed::Observed;
use crate::plan::{
    Action, ClientAction, ClientChange, Edit, FORMAT_VERSION, FieldChange, LostAccess,
    PendingCredentials, Plan, Replaced, ServerAction, ServerChange, Summary, Unmanaged,
};

pub const CLIENT_CREDENTIALS: &str = "client_credentials";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiffError {
    #[error("{} clients in the pool are named `{name}` (ids {}); cogwire knows clients by name and will not guess", ids.len(), ids.join(", "))]
    DuplicateClientName { name: String, ids: Vec<String> },
    #[error(
        "external service `{service}`: resource server `{identifier}` does not exist in the pool"
    )]
    ExternalMissing { service: String, identifier: String },
    #[error("external service `{service}`: resource server `{identifier}` has no scope `{scope}`")]
    ExternalScopeMissing {
        service: String,
        identifier: String,
        scope: String,
    },
    #[error(
        "client `{name}` ({id}) uses the {flows} flow; cogwire manages client-credentials clients only"
    )]
    NotClientCredentials {
        name: String,
        id: String,
        flows: String,
    },
    #[error("client `{name}` ({id}) has no secret, which the client-credentials flow needs")]
    NoSecret { name: String, id: String },
    #[error("unknown service `{name}` in --service")]
    UnknownService { name: String },
}

impl DiffError {
    pub fn hint(&self) -> String {
        match self {
            Self::DuplicateClientName { .. } => {
                "delete or rename the duplicate in the Cognito console (keep the id your callers use), then plan again".to_owned()
            }
            Self::ExternalMissing { .. } | Self::ExternalScopeMissing { .. } => {
                "external services are owned by another tool: create the resource server there first, or remove `external = true` to let cogwire manage it".to_owned()
            }
            Self::NotClientCredentials { .. } | Self::NoSecret { .. } => {
                "give this service another client name (`[services.<name>.client] name = \"...\"`) so cogwire creates its own".to_owned()
            }
            Self::UnknownService { .. } => "name a service declared in services.toml".to_owned(),
        }
    }
}

/// Which services a run covers: all, or some and the resource servers they consume from.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    only: Option<BTreeSet<String>>,
    providers: BTreeSet<String>,
}

impl Selection {
    pub fn all() -> Self {
        Self::default()
    }

    pub fn of(model: &Model, names: &[String]) -> Result<Self, DiffError> {
        if names.is_empty() {
            return Ok(Self::all());
        }
        let mut only = BTreeSet::new();
        let mut providers = BTreeSet::new();
        for name in names {
            let service = model
                .services
                .get(name)
                .ok_or_else(|| DiffError::UnknownService { name: name.clone() })?;
            only.insert(name.clone());
            providers.extend(
                service
                    .consumes
                    .iter()
                    .map(|reference| reference.service.clone()),
            );
        }
        Ok(Self {
            only: Some(only),
            providers,
        })
    }

    fn client(&self, service: &str) -> bool {
        self.only.as_ref().is_none_or(|only| only.contains(service))
    }

    fn resource_server(&self, service: &str) -> bool {
        self.client(service) || self.providers.contains(service)
    }

    fn is_all(&self) -> bool {
        self.only.is_none()
    }
}

/// The client names whose clients must be described for this model.
pub fn wanted_client_names(model: &Model) -> BTreeSet<String> {
    model
        .services
        .values()
        .filter(|service| !service.external)
        .filter_map(|service| service.client.as_ref().map(|client| client.name.clone()))
        .collect()
}

/// A client as its declaration makes it: what `after` holds for a client this plan leaves alone,
/// and what a client created from `spec` is.
pub fn declared_state(spec: &ClientSpec, id: &str) -> ClientState {
    ClientState {
        id: id.to_owned(),
        name: spec.name.clone(),
        has_secret: true,
        allowed_oauth_flows: BTreeSet::from([CLIENT_CREDENTIALS.to_owned()]),
        allowed_oauth_flows_user_pool_client: true,
        scopes: spec.scopes.clone(),
        access_token_validity: Some(spec.access_token_validity),
        extras: ClientExtras::default(),
    }
}

/// The declared clients, by client name, as `declared_state` makes them (without an id): what
/// `plan --refresh=false` compares with the record's digests.
pub fn declared_clients(model: &Model) -> BTreeMap<String, ClientState> {
    model
        .services
        .values()
        .filter(|service| !service.external)
        .filter_map(|service| service.client.as_ref())
        .map(|client| {
            let spec = ClientSpec {
                name: client.name.clone(),
                scopes: client.scopes.clone(),
                access_token_validity: client.access_token_validity,
            };
            (client.name.clone(), declared_state(&spec, ""))
        })
        .collect()
}

pub fn diff(model: &Model, observed: &Observed, selection: &Selection) -> Result<Plan, DiffError> {
    let mut actions = Vec::new();
    let mut lost = BTreeSet::new();

    for service in model
        .services
        .values()
        .filter(|service| selection.resource_server(&service.name))
    {
        resource_server_action(service, observed, &mut actions)?;
    }

    let mut matched_clients = BTreeSet::new();
    for service in model
        .services
        .values()
        .filter(|service| selection.client(&service.name))
    {
        if let Some(id) = client_action(service, model, observed, &mut actions, &mut lost)? {
            matched_clients.insert(id);
        }
    }

    if selection.is_all() {
        let declared: BTreeSet<&str> = model
            .services
            .values()
            .filter_map(|service| service.resource_server.as_ref())
            .map(|server| server.identifier.as_str())
            .collect();
        for (identifier, service) in &observed.record.resource_servers {
            if declared.contains(identifier.as_str()) {
                continue;
            }
            let Some(before) = observed.resource_servers.get(identifier) else {
                continue;
            };
            actions.push(Action::ResourceServer(ServerAction {
                service: service.clone(),
                identifier: identifier.clone(),
                change: ServerChange::Delete {
                    before: before.clone(),
                },
            }));
        }
        for (id, recorded) in &observed.record.clients {
            if matched_clients.contains(id) {
                continue;
            }
            let before = observed.described.get(id).cloned().map(Box::new);
            if let Some(before) = &before {
                lost.extend(before.scopes.iter().map(|scope| LostAccess {
                    caller: recorded.service.clone(),
                    scope: scope.clone(),
                    client_id: id.clone(),
                    managed: true,
                }));
            }
            actions.push(Action::Client(ClientAction {
                service: recorded.service.clone(),
                name: recorded.name.clone(),
                change: ClientChange::Delete {
                    id: id.clone(),
                    before,
                },
            }));
        }
    }

    lose_access_through_removed_scopes(&actions, model, observed, &mut lost);
    mark_replacements(&mut actions, model);
    actions.sort_by(|left, right| {
        (left.service(), !left.is_resource_server(), left.label()).cmp(&(
            right.service(),
            !right.is_resource_server(),
            right.label(),
        ))
    });
    let pending_credentials = observed
        .recovered_clients
        .iter()
        .filter(|service| selection.client(service))
        .filter_map(|service| {
            Some(PendingCredentials {
                service: service.clone(),
                client_id: observed.record.client_of_service(service)?.to_owned(),
            })
        })
        .collect();
    // Every client described for this plan is described again for `apply PLANFILE`.
    let mut described_client_names = wanted_client_names(model);
    described_client_names.extend(
        observed
            .described
            .values()
            .map(|client| client.name.clone()),
    );
    Ok(Plan {
        format_version: FORMAT_VERSION.to_owned(),
        environment: model.environment.clone(),
        pool_id: observed.pool_id.clone(),
        summary: Summary::of(&actions),
        actions,
        unmanaged: unmanaged(model, observed),
        lost_access: lost.into_iter().collect(),
        pending_credentials,
        adopt: false,
        observed_digest: observed.digest(),
        observed_resources: observed.resource_digests(),
        described_client_names,
        refresh: observed.refresh.clone(),
        gateways: Vec::new(),
    })
}

/// The clients taken from the record undescribed (`plan --refresh=false`) that hold a scope this
/// plan adds back to a resource server: the scope went missing from the pool outside cogwire, and
/// what that did to the clients holding it is read rather than assumed.
pub fn trusted_holders_of_restored_scopes(plan: &Plan, observed: &Observed) -> Vec<String> {
    let mut restored = BTreeSet::new();
    for action in &plan.actions {
        if let Action::ResourceServer(server) = action {
            restored.extend(
                server
                    .restored_scopes()
                    .into_iter()
                    .map(|scope| format!("{}/{scope}", server.identifier)),
            );
        }
    }
    observed
        .trusted
        .iter()
        .filter(|id| {
            observed
                .described
                .get(*id)
                .is_some_and(|client| !client.scopes.is_disjoint(&restored))
        })
        .cloned()
        .collect()
}

/// The clients to describe before the plan can name every caller that loses a scope: when a plan
/// removes a scope or a resource server, any client cogwire has not described may hold it. Empty
/// otherwise, so a plan that removes nothing costs no DescribeUserPoolClient call for clients
/// cogwire neither manages nor declares.
pub fn undescribed_holders(plan: &Plan, observed: &Observed) -> Vec<String> {
    let removes_scopes = plan.actions.iter().any(|action| match action {
        Action::ResourceServer(server) => !server.removed_scopes().is_empty(),
        Action::Client(_) => false,
    });
    if !removes_scopes {
        return Vec::new();
    }
    observed
        .clients
        .iter()
        .filter(|client| !observed.described.contains_key(&client.id))
        .map(|client| client.id.clone())
        .collect()
}

fn resource_server_action(
    service: &Service,
    observed: &Observed,
    actions: &mut Vec<Action>,
) -> Result<(), DiffError> {
    let Some(server) = &service.resource_server else {
        return Ok(());
    };
    let current = observed.resource_servers.get(&server.identifier);
    let recorded = observed
        .record
        .resource_servers
        .contains_key(&server.identifier);
    if service.external {
        let current = current.ok_or_else(|| DiffError::ExternalMissing {
            service: service.name.clone(),
            identifier: server.identifier.clone(),
        })?;
        if let Some(scope) = server
            .scopes
            .keys()
            .find(|scope| !current.scopes.contains_key(*scope))
        {
            return Err(DiffError::ExternalScopeMissing {
                service: service.name.clone(),
                identifier: server.identifier.clone(),
                scope: scope.clone(),
            });
        }
        if recorded {
            actions.push(Action::ResourceServer(ServerAction {
                service: service.name.clone(),
                identifier: server.identifier.clone(),
                change: ServerChange::Forget {
                    before: current.clone(),
                },
            }));
        }
        return Ok(());
    }
    // An empty description means "any": keep the pool's, or name a new scope after itself
    // (Cognito requires one).
    let scopes = server
        .scopes
        .iter()
        .map(|(scope, description)| {
            let effective = if description.is_empty() {
                current
                    .and_then(|current| current.scopes.get(scope))
                    .cloned()
                    .unwrap_or_else(|| scope.clone())
            } else {
                description.clone()
            };
            (scope.clone(), effective)
        })
        .collect();
    let desired = ResourceServerState {
        identifier: server.identifier.clone(),
        name: server.name.clone(),
        scopes,
    };
    if let Some(previous) = observed
        .record
        .resource_servers
        .get(&server.identifier)
        .filter(|owner| **owner != service.name && current.is_some())
    {
        actions.push(Action::ResourceServer(ServerAction {
            service: service.name.clone(),
            identifier: server.identifier.clone(),
            change: ServerChange::Rename {
                previous_service: previous.clone(),
                before: current.cloned(),
            },
        }));
    }
    let change = match current {
        None => ServerChange::Create {
            fields: resource_server_fields(None, &desired),
            after: desired,
        },
        Some(current) => {
            let edit = Edit {
                fields: resource_server_fields(Some(current), &desired),
                before: current.clone(),
                after: desired,
            };
            match (recorded, edit.fields.is_empty()) {
                (true, true) => return Ok(()),
                (true, false) => ServerChange::Update(edit),
                (false, _) => ServerChange::Import(edit),
            }
        }
    };
    actions.push(Action::ResourceServer(ServerAction {
        service: service.name.clone(),
        identifier: server.identifier.clone(),
        change,
    }));
    Ok(())
}

fn resource_server_fields(
    before: Option<&ResourceServerState>,
    after: &ResourceServerState,
) -> Vec<FieldChange> {
    let mut fields = Vec::new();
    let before_name = before.map(|server| server.name.clone());
    if before_name.as_deref() != Some(after.name.as_str()) {
        fields.push(field("name", before_name, Some(after.name.clone())));
    }
    let empty = BTreeMap::new();
    let before_scopes = before.map_or(&empty, |server| &server.scopes);
    let names: BTreeSet<&String> = before_scopes.keys().chain(after.scopes.keys()).collect();
    for name in names {
        let (old, new) = (before_scopes.get(name), after.scopes.get(name));
        if old != new {
            fields.push(field(&format!("scope {name}"), old.cloned(), new.cloned()));
        }
    }
    fields
}

/// Plans the client of a service; returns the id of the existing client it matched.
fn client_action(
    service: &Service,
    model: &Model,
    observed: &Observed,
    actions: &mut Vec<Action>,
    lost: &mut BTreeSet<LostAccess>,
) -> Result<Option<String>, DiffError> {
    let Some(client) = &service.client else {
        return Ok(None);
    };
    if service.external {
        return Ok(None);
    }
    let named: Vec<_> = observed.clients_named(&client.name).collect();
    let current_id = match named.as_slice() {
        // The client of the service, or of the service it was (`previous`), renamed.
        [] => std::iter::once(&service.name)
            .chain(&service.previous)
            .filter_map(|name| observed.record.client_of_service(name))
            .filter(|id| observed.described.contains_key(*id))
            .find(|id| {
                // A rename, unless the recorded client's current name is another service's.
                let name = &observed.described[*id].name;
                !wanted_client_names(model).contains(name)
            })
            .map(str::to_owned),
        [only] => Some(only.id.clone()),
        several => {
            return Err(DiffError::DuplicateClientName {
                name: client.name.clone(),
                ids: several.iter().map(|summary| summary.id.clone()).collect(),
            });
        }
    };
    let Some(id) = current_id else {
        let spec = ClientSpec {
            name: client.name.clone(),
            scopes: client.scopes.clone(),
            access_token_validity: client.access_token_validity,
        };
        let mut fields = vec![field("name", None, Some(client.name.clone()))];
        fields.extend(
            client
                .scopes
                .iter()
                .map(|scope| field(&format!("scope {scope}"), None, Some("granted".to_owned()))),
        );
        fields.push(field(
            "access_token_validity",
            None,
            Some(client.access_token_validity.to_string()),
        ));
        actions.push(Action::Client(ClientAction {
            service: service.name.clone(),
            name: client.name.clone(),
            change: ClientChange::Create {
                spec,
                fields,
                replaces: None,
            },
        }));
        return Ok(None);
    };
    if let Some(recorded) = observed
        .record
        .clients
        .get(&id)
        .filter(|recorded| recorded.service != service.name)
    {
        actions.push(Action::Client(ClientAction {
            service: service.name.clone(),
            name: client.name.clone(),
            change: ClientChange::Rename {
                id: id.clone(),
                previous_service: recorded.service.clone(),
            },
        }));
    }
    let Some(current) = observed.described.get(&id) else {
        return Ok(Some(id));
    };
    if !current.has_secret {
        return Err(DiffError::NoSecret {
            name: current.name.clone(),
            id: id.clone(),
        });
    }
    if let Some(flow) = current
        .allowed_oauth_flows
        .iter()
        .find(|flow| *flow != CLIENT_CREDENTIALS)
    {
        return Err(DiffError::NotClientCredentials {
            name: current.name.clone(),
            id: id.clone(),
            flows: flow.clone(),
        });
    }
    let mut after = current.clone();
    after.name.clone_from(&client.name);
    after.allowed_oauth_flows = BTreeSet::from([CLIENT_CREDENTIALS.to_owned()]);
    after.allowed_oauth_flows_user_pool_client = true;
    after.scopes.clone_from(&client.scopes);
    after.access_token_validity = Some(client.access_token_validity);
    let fields = client_fields(current, &after);
    lost.extend(
        current
            .scopes
            .difference(&after.scopes)
            .map(|scope| LostAccess {
                caller: service.name.clone(),
                scope: scope.clone(),
                client_id: id.clone(),
                managed: true,
            }),
    );
    let recorded = observed.record.clients.contains_key(&id);
    let edit = Edit {
        before: Box::new(current.clone()),
        after: Box::new(after),
        fields,
    };
    let change = match (recorded, edit.fields.is_empty()) {
        (true, true) => return Ok(Some(id)),
        (true, false) => ClientChange::Update(edit),
        (false, _) => ClientChange::Import(edit),
    };
    actions.push(Action::Client(ClientAction {
        service: service.name.clone(),
        name: client.name.clone(),
        change,
    }));
    Ok(Some(id))
}

fn client_fields(before: &ClientState, after: &ClientState) -> Vec<FieldChange> {
    let mut fields = Vec::new();
    if before.name != after.name {
        fields.push(field(
            "name",
            Some(before.name.clone()),
            Some(after.name.clone()),
        ));
    }
    for scope in before.scopes.union(&after.scopes) {
        let (had, has) = (before.scopes.contains(scope), after.scopes.contains(scope));
        if had != has {
            let granted = || Some("granted".to_owned());
            fields.push(field(
                &format!("scope {scope}"),
                had.then(granted).flatten(),
                has.then(granted).flatten(),
            ));
        }
    }
    if before.allowed_oauth_flows != after.allowed_oauth_flows {
        fields.push(field(
            "allowed_oauth_flows",
            Some(join(&before.allowed_oauth_flows)),
            Some(join(&after.allowed_oauth_flows)),
        ));
    }
    if before.allowed_oauth_flows_user_pool_client != after.allowed_oauth_flows_user_pool_client {
        fields.push(field(
            "allowed_oauth_flows_user_pool_client",
            Some(before.allowed_oauth_flows_user_pool_client.to_string()),
            Some(after.allowed_oauth_flows_user_pool_client.to_string()),
        ));
    }
    if before.effective_access_token_validity() != after.effective_access_token_validity() {
        fields.push(field(
            "access_token_validity",
            Some(before.effective_access_token_validity().to_string()),
            Some(after.effective_access_token_validity().to_string()),
        ));
    }
    fields
}

/// Every described client that holds a scope a resource-server change removes loses it.
fn lose_access_through_removed_scopes(
    actions: &[Action],
    model: &Model,
    observed: &Observed,
    lost: &mut BTreeSet<LostAccess>,
) {
    let service_of_client: BTreeMap<&str, &str> = observed
        .record
        .clients
        .iter()
        .map(|(id, recorded)| (id.as_str(), recorded.service.as_str()))
        .collect();
    let declared_names: BTreeMap<&str, &str> = model
        .services
        .values()
        .filter_map(|service| {
            service
                .client
                .as_ref()
                .map(|client| (client.name.as_str(), service.name.as_str()))
        })
        .collect();
    for action in actions {
        let Action::ResourceServer(server) = action else {
            continue;
        };
        let removed: Vec<String> = server
            .removed_scopes()
            .into_iter()
            .map(|scope| format!("{}/{scope}", server.identifier))
            .collect();
        for client in observed.described.values() {
            let managed = service_of_client.contains_key(client.id.as_str())
                || declared_names.contains_key(client.name.as_str());
            let caller = service_of_client
                .get(client.id.as_str())
                .or_else(|| declared_names.get(client.name.as_str()))
                .map_or_else(|| client.name.clone(), |service| (*service).to_owned());
            for scope in removed
                .iter()
                .filter(|scope| client.scopes.contains(*scope))
            {
                lost.insert(LostAccess {
                    caller: caller.clone(),
                    scope: scope.clone(),
                    client_id: client.id.clone(),
                    managed,
                });
            }
        }
    }
}

/// Names the client each new client replaces: a client this plan destroys whose service is the
/// new one's (or its `previous`), else one of a service no longer declared that held the same
/// scopes, else the only such client when exactly one client is created. Such a pair is a rename
/// that does not keep the client: a new id, new credentials for every caller.
fn mark_replacements(actions: &mut [Action], model: &Model) {
    let deleted: Vec<(Replaced, BTreeSet<String>)> = actions
        .iter()
        .filter_map(|action| match action {
            Action::Client(ClientAction {
                service,
                name,
                change: ClientChange::Delete { id, before },
            }) => Some((
                Replaced {
                    service: service.clone(),
                    name: name.clone(),
                    id: id.clone(),
                },
                before
                    .as_ref()
                    .map(|before| before.scopes.clone())
                    .unwrap_or_default(),
            )),
            _ => None,
        })
        .collect();
    if deleted.is_empty() {
        return;
    }
    let created = actions
        .iter()
        .filter(|action| {
            matches!(
                action,
                Action::Client(ClientAction {
                    change: ClientChange::Create { .. },
                    ..
                })
            )
        })
        .count();
    let vanished = |replaced: &Replaced| !model.services.contains_key(&replaced.service);
    let mut taken = BTreeSet::new();
    for action in actions.iter_mut() {
        let Action::Client(ClientAction {
            service,
            change: ClientChange::Create { spec, replaces, .. },
            ..
        }) = action
        else {
            continue;
        };
        let previous = model
            .services
            .get(service.as_str())
            .and_then(|service| service.previous.as_ref());
        let free: Vec<&(Replaced, BTreeSet<String>)> = deleted
            .iter()
            .filter(|(replaced, _)| !taken.contains(&replaced.id))
            .collect();
        let found = free
            .iter()
            .find(|(replaced, _)| {
                replaced.service == *service || Some(&replaced.service) == previous
            })
            .or_else(|| {
                free.iter()
                    .find(|(replaced, scopes)| vanished(replaced) && *scopes == spec.scopes)
            })
            .or_else(|| {
                let mut gone = free.iter().filter(|(replaced, _)| vanished(replaced));
                match (gone.next(), gone.next()) {
                    (Some(only), None) if created == 1 => Some(only),
                    _ => None,
                }
            });
        if let Some((replaced, _)) = found {
            taken.insert(replaced.id.clone());
            *replaces = Some(replaced.clone());
        }
    }
}

fn unmanaged(model: &Model, observed: &Observed) -> Unmanaged {
    let declared_identifiers: BTreeSet<&str> = model
        .services
        .values()
        .filter_map(|service| service.resource_server.as_ref())
        .map(|server| server.identifier.as_str())
        .collect();
    let declared_names = wanted_client_names(model);
    Unmanaged {
        resource_servers: observed
            .resource_servers
            .keys()
            .filter(|identifier| {
                !declared_identifiers.contains(identifier.as_str())
                    && !observed.record.resource_servers.contains_key(*identifier)
            })
            .cloned()
            .collect(),
        clients: observed
            .clients
            .iter()
            .filter(|client| {
                !declared_names.contains(&client.name)
                    && !observed.record.clients.contains_key(&client.id)
            })
            .cloned()
            .collect(),
    }
}

fn field(name: &str, before: Option<String>, after: Option<String>) -> FieldChange {
    FieldChange {
        field: name.to_owned(),
        before,
        after,
    }
}

fn join(values: &BTreeSet<String>) -> String {
    values.iter().cloned().collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::record::RecordedClient;
    use crate::cloud::{ClientExtras, ClientSummary};
    use crate::config::duration::Seconds;
    use crate::config::model::load;
    use crate::plan::Change;

    const TEXT: &str = r#"
[services.customers]
scopes = { "read" = "Read", "write" = "Write" }
[services.accounts]
consumes = ["customers/read"]
"#;

    fn model() -> Model {
        load(TEXT, None).expect("valid")
    }

    fn server(scopes: &[(&str, &str)]) -> ResourceServerState {
        ResourceServerState {
            identifier: "customers".into(),
            name: "customers".into(),
            scopes: scopes
                .iter()
                .map(|(name, description)| ((*name).into(), (*description).into()))
                .collect(),
        }
    }

    fn client(id: &str, scopes: &[&str]) -> ClientState {
        ClientState {
            id: id.into(),
            name: "accounts-app-client".into(),
            has_secret: true,
            allowed_oauth_flows: BTreeSet::from([CLIENT_CREDENTIALS.to_owned()]),
            allowed_oauth_flows_user_pool_client: true,
            scopes: scopes.iter().map(|scope| (*scope).to_owned()).collect(),
            access_token_validity: Some(Seconds::HOUR),
            extras: ClientExtras::default(),
        }
    }

    /// A pool holding both resources; `recorded` says whether cogwire's record knows them.
    fn observed(recorded: bool, client_state: ClientState) -> Observed {
        let mut observed = Observed {
            pool_id: "pool".into(),
            ..Observed::default()
        };
        observed.resource_servers.insert(
            "customers".into(),
            server(&[("write", "Write"), ("read", "Read")]),
        );
        observed.clients.push(ClientSummary {
            id: client_state.id.clone(),
            name: client_state.name.clone(),
        });
        if recorded {
            observed
                .record
                .resource_servers
                .insert("customers".into(), "customers".into());
            observed.record.clients.insert(
                client_state.id.clone(),
                RecordedClient::new("accounts".into(), client_state.name.clone()),
            );
        }
        observed
            .described
            .insert(client_state.id.clone(), client_state);
        observed
    }

    fn changes(plan: &Plan) -> Vec<(Change, String)> {
        plan.actions
            .iter()
            .map(|action| (action.change(), action.label()))
            .collect()
    }

    #[test]
    fn an_empty_pool_gets_everything_created() {
        let plan = diff(&model(), &Observed::default(), &Selection::all()).expect("plan");
        assert_eq!(
            changes(&plan),
            vec![
                (Change::Create, "client accounts-app-client".to_owned()),
                (Change::Create, "resource server customers".to_owned()),
            ]
        );
        assert_eq!(plan.summary.add, 2);
    }

    #[test]
    fn recorded_and_equal_is_no_change_whatever_the_scope_order() {
        let plan = diff(
            &model(),
            &observed(true, client("c1", &["customers/read"])),
            &Selection::all(),
        )
        .expect("plan");
        assert!(plan.actions.is_empty(), "{:?}", changes(&plan));
        assert!(!plan.has_changes());
    }

    #[test]
    fn existing_but_unrecorded_is_imported_with_its_id() {
        let plan = diff(
            &model(),
            &observed(false, client("c1", &["customers/read"])),
            &Selection::all(),
        )
        .expect("plan");
        assert_eq!(
            changes(&plan),
            vec![
                (Change::Import, "client accounts-app-client (c1)".to_owned()),
                (Change::Import, "resource server customers".to_owned()),
            ]
        );
        assert_eq!(
            plan.summary,
            Summary {
                import: 2,
                ..Summary::default()
            }
        );
    }

    #[test]
    fn drift_on_a_managed_client_is_an_update_that_keeps_its_other_settings() {
        let mut drifted = client("c1", &["customers/write"]);
        drifted.extras.callback_urls = Some(vec!["https://app.example.com/cb".into()]);
        let plan = diff(&model(), &observed(true, drifted), &Selection::all()).expect("plan");
        let [action] = plan.actions.as_slice() else {
            panic!("{:?}", changes(&plan))
        };
        let Action::Client(ClientAction {
            change: ClientChange::Update(Edit { after, .. }),
            ..
        }) = action
        else {
            panic!("not a client update")
        };
        assert_eq!(after.scopes, BTreeSet::from(["customers/read".to_owned()]));
        assert_eq!(
            after.extras.callback_urls,
            Some(vec!["https://app.example.com/cb".to_owned()])
        );
        assert_eq!(
            plan.lost_access,
            vec![LostAccess {
                caller: "accounts".into(),
                scope: "customers/write".into(),
                client_id: "c1".into(),
                managed: true,
            }]
        );
    }

    #[test]
    fn removed_services_are_deleted_only_if_recorded() {
        let only_customers = load(
            "[services.customers]\nscopes = { \"read\" = \"Read\", \"write\" = \"Write\" }\n",
            None,
        )
        .expect("valid");
        let managed = diff(
            &only_customers,
            &observed(true, client("c1", &["customers/read"])),
            &Selection::all(),
        )
        .expect("plan");
        assert_eq!(
            changes(&managed),
            vec![(Change::Delete, "client accounts-app-client (c1)".to_owned())]
        );
        let unmanaged = diff(
            &only_customers,
            &observed(false, client("c1", &["customers/read"])),
            &Selection::all(),
        )
        .expect("plan");
        assert_eq!(
            changes(&unmanaged),
            vec![(Change::Import, "resource server customers".to_owned())]
        );
        assert_eq!(unmanaged.unmanaged.clients.len(), 1);
    }

    #[test]
    fn two_clients_of_one_name_stop_the_plan() {
        let mut pool = observed(true, client("c1", &["customers/read"]));
        pool.clients.push(ClientSummary {
            id: "c2".into(),
            name: "accounts-app-client".into(),
        });
        let error = diff(&model(), &pool, &Selection::all()).expect_err("duplicate");
        assert_eq!(
            error,
            DiffError::DuplicateClientName {
                name: "accounts-app-client".into(),
                ids: vec!["c1".into(), "c2".into()]
            }
        );
    }

    #[test]
    fn clients_of_other_flows_or_without_a_secret_are_not_adopted() {
        let mut code_flow = client("c1", &["customers/read"]);
        code_flow.allowed_oauth_flows.insert("code".into());
        assert!(matches!(
            diff(&model(), &observed(false, code_flow), &Selection::all()),
            Err(DiffError::NotClientCredentials { .. })
        ));
        let mut public = client("c1", &["customers/read"]);
        public.has_secret = false;
        assert!(matches!(
            diff(&model(), &observed(false, public), &Selection::all()),
            Err(DiffError::NoSecret { .. })
        ));
    }

    #[test]
    fn a_renamed_client_keeps_its_id() {
        let renamed = load(
            &format!("{TEXT}[services.accounts.client]\nname = \"accounts-v2\"\n"),
            None,
        )
        .expect("valid");
        let plan = diff(
            &renamed,
            &observed(true, client("c1", &["customers/read"])),
            &Selection::all(),
        )
        .expect("plan");
        let [action] = plan.actions.as_slice() else {
            panic!("{:?}", changes(&plan))
        };
        assert_eq!(action.change(), Change::Update);
        assert_eq!(action.fields()[0].after.as_deref(), Some("accounts-v2"));
    }

    /// `accounts` renamed `reader` in services.toml, its client's name written out as it was.
    const RENAMED_KEEPING_THE_NAME: &str = r#"
[services.customers]
scopes = { "read" = "Read", "write" = "Write" }
[services.reader]
consumes = ["customers/read"]
client = { name = "accounts-app-client" }
"#;

    #[test]
    fn a_service_renamed_with_its_client_name_keeps_the_client() {
        let renamed = load(RENAMED_KEEPING_THE_NAME, None).expect("valid");
        let plan = diff(
            &renamed,
            &observed(true, client("c1", &["customers/read"])),
            &Selection::all(),
        )
        .expect("plan");
        assert_eq!(
            changes(&plan),
            vec![(Change::Rename, "client accounts-app-client (c1)".to_owned())]
        );
        assert_eq!(plan.actions[0].service(), "reader");
        assert_eq!(plan.actions[0].previous_service(), Some("accounts"));
        assert!(plan.has_changes(), "a rename is a change");
        assert_eq!(plan.summary.rename, 1);
    }

    #[test]
    fn a_service_renamed_with_previous_keeps_its_client_under_a_new_name() {
        let renamed = load(
            r#"
[services.customers]
scopes = { "read" = "Read", "write" = "Write" }
[services.reader]
previous = "accounts"
consumes = ["customers/read"]
"#,
            None,
        )
        .expect("valid");
        let plan = diff(
            &renamed,
            &observed(true, client("c1", &["customers/read"])),
            &Selection::all(),
        )
        .expect("plan");
        assert_eq!(
            changes(&plan),
            vec![
                (Change::Rename, "client reader-app-client (c1)".to_owned()),
                (Change::Update, "client reader-app-client (c1)".to_owned()),
            ]
        );
        assert_eq!(
            plan.actions[1].fields()[0].after.as_deref(),
            Some("reader-app-client")
        );
        assert!(
            plan.actions
                .iter()
                .all(|action| action.replaces().is_none())
        );
    }

    #[test]
    fn a_rename_that_creates_a_new_client_names_the_client_it_replaces() {
        let renamed = load(
            r#"
[services.customers]
scopes = { "read" = "Read", "write" = "Write" }
[services.reader]
consumes = ["customers/read"]
"#,
            None,
        )
        .expect("valid");
        let plan = diff(
            &renamed,
            &observed(true, client("c1", &["customers/read"])),
            &Selection::all(),
        )
        .expect("plan");
        let create = plan
            .actions
            .iter()
            .find(|action| action.change() == Change::Create)
            .expect("a new client");
        assert_eq!(
            create.replaces(),
            Some(&Replaced {
                service: "accounts".into(),
                name: "accounts-app-client".into(),
                id: "c1".into()
            })
        );
    }

    #[test]
    fn adopting_and_changing_needs_adopt_but_a_plain_import_does_not() {
        let unchanged = diff(
            &model(),
            &observed(false, client("c1", &["customers/read"])),
            &Selection::all(),
        )
        .expect("plan");
        assert!(unchanged.needs_adopt().is_empty());
        let changed = diff(
            &model(),
            &observed(false, client("c1", &["customers/read", "customers/write"])),
            &Selection::all(),
        )
        .expect("plan");
        assert_eq!(
            changed.needs_adopt(),
            vec!["client accounts-app-client (c1)".to_owned()]
        );
    }

    fn unmanaged_holder() -> ClientState {
        let mut holder = client("u1", &["customers/write"]);
        holder.name = "someone-else".into();
        holder
    }

    #[test]
    fn removing_a_scope_an_unmanaged_client_holds_names_it_and_needs_allow_destroy() {
        let only_read = load(
            "[services.customers]\nscopes = { \"read\" = \"Read\" }\n[services.accounts]\nconsumes = [\"customers/read\"]\n",
            None,
        )
        .expect("valid");
        let mut pool = observed(true, client("c1", &["customers/read"]));
        pool.clients.push(ClientSummary {
            id: "u1".into(),
            name: "someone-else".into(),
        });
        let first = diff(&only_read, &pool, &Selection::all()).expect("plan");
        assert_eq!(undescribed_holders(&first, &pool), vec!["u1".to_owned()]);
        pool.described.insert("u1".into(), unmanaged_holder());
        let plan = diff(&only_read, &pool, &Selection::all()).expect("plan");
        assert_eq!(
            plan.lost_access,
            vec![LostAccess {
                caller: "someone-else".into(),
                scope: "customers/write".into(),
                client_id: "u1".into(),
                managed: false,
            }]
        );
        assert_eq!(plan.needs_allow_destroy().len(), 1);
        assert!(plan.described_client_names.contains("someone-else"));
    }

    #[test]
    fn forgetting_or_renaming_a_provider_takes_no_scope_from_anyone() {
        let renamed = r#"
[services.clients]
previous = "customers"
identifier = "customers"
scopes = { "read" = "Read", "write" = "Write" }
[services.accounts]
consumes = ["clients/read"]
"#;
        let external = r#"
[services.customers]
external = true
scopes = { "read" = "Read", "write" = "Write" }
[services.accounts]
consumes = ["customers/read"]
"#;
        for (text, change) in [(renamed, Change::Rename), (external, Change::Forget)] {
            let model = load(text, None).expect("valid");
            let mut pool = observed(true, client("c1", &["customers/read"]));
            pool.clients.push(ClientSummary {
                id: "u1".into(),
                name: "someone-else".into(),
            });
            pool.described.insert("u1".into(), unmanaged_holder());
            let plan = diff(&model, &pool, &Selection::all()).expect("plan");
            // (The renamed service also renames the resource server: an update of its name.)
            assert_eq!(
                changes(&plan)[0],
                (change, "resource server customers".to_owned())
            );
            assert!(plan.lost_access.is_empty(), "{:?}", plan.lost_access);
            assert!(plan.needs_allow_destroy().is_empty());
            assert!(undescribed_holders(&plan, &pool).is_empty());
        }
    }

    #[test]
    fn unmanaged_clients_are_not_described_when_nothing_is_removed() {
        let mut pool = observed(true, client("c1", &["customers/read"]));
        pool.clients.push(ClientSummary {
            id: "u1".into(),
            name: "someone-else".into(),
        });
        let plan = diff(&model(), &pool, &Selection::all()).expect("plan");
        assert!(undescribed_holders(&plan, &pool).is_empty());
    }

    #[test]
    fn credentials_not_stored_yet_are_a_change() {
        let mut pool = observed(true, client("c1", &["customers/read"]));
        pool.recovered_clients = vec!["accounts".into()];
        let plan = diff(&model(), &pool, &Selection::all()).expect("plan");
        assert!(plan.actions.is_empty());
        assert_eq!(
            plan.pending_credentials,
            vec![PendingCredentials {
                service: "accounts".into(),
                client_id: "c1".into()
            }]
        );
        assert!(plan.has_changes());
    }

    #[test]
    fn a_refused_saved_plan_names_the_resources_that_changed() {
        let pool = observed(true, client("c1", &["customers/read"]));
        let plan = diff(&model(), &pool, &Selection::all()).expect("plan");
        let mut later = pool.clone();
        later
            .described
            .get_mut("c1")
            .expect("c1")
            .scopes
            .insert("customers/write".into());
        later.resource_servers.remove("customers");
        assert_eq!(
            plan.changed_since(&later.resource_digests()),
            vec![
                "client accounts-app-client (c1) changed".to_owned(),
                "resource server customers is gone".to_owned()
            ]
        );
        assert!(plan.changed_since(&pool.resource_digests()).is_empty());
    }

    #[test]
    fn selection_limits_to_a_service_and_its_providers() {
        let model = model();
        let selection = Selection::of(&model, &["accounts".to_owned()]).expect("known");
        assert!(selection.client("accounts") && !selection.client("customers"));
        assert!(selection.resource_server("customers"));
        assert!(Selection::of(&model, &["nope".to_owned()]).is_err());
    }
}
