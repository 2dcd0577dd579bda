//! The API Gateway end of a plan: for each service that names an HTTP API (`api_gateway`), what
//! its authorizer (issuer, audience) and its declared routes (authorization, scopes) would become;
//! for a REST API, `rest` does the same for its user pool authorizer and methods.
//! `read` makes the only API Gateway calls of a plan, and none when no service names a gateway;
//! `diff` is pure. Routes and authorizers services.toml does not name are never read into a
//! change, and audience entries that are not clients cogwire manages are kept.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::apply::record::Record;
pub mod rest;

use crate::cloud::Cloud;
use crate::cloud::gateway::{AuthorizerState, HttpApis, RouteState};
use crate::cloud::operation::Operation;
use crate::cloud::pace::Pacer;
use crate::cloud::{CloudError, Page};
use crate::config::gateway::{ApiKind, audience_services, route_scopes};
use crate::config::model::Model;
use crate::plan::{Action, ClientChange, Plan};

/// A service's gateway as read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedGateway {
    pub service: String,
    pub api_id: String,
    pub authorizer: AuthorizerState,
    /// Only the routes the service declares, by `METHOD template`.
    pub routes: BTreeMap<String, RouteState>,
    /// A REST API: its user pool authorizer and declared methods (`authorizer` then holds the
    /// authorizer's id, name and type only, and `routes` nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rest: Option<rest::ObservedRest>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    #[error(transparent)]
    Cloud(#[from] CloudError),
    #[error(
        "authorizer {authorizer} of HTTP API {api_id} (service `{service}`) is a {found} authorizer, not a JWT authorizer"
    )]
    NotJwt {
        service: String,
        api_id: String,
        authorizer: String,
        found: String,
    },
    #[error("HTTP API {api_id} has no route `{route_key}` (declared by service `{service}`)")]
    NoSuchRoute {
        service: String,
        api_id: String,
        route_key: String,
        known: Vec<String>,
    },
    #[error(
        "authorizer {authorizer} of REST API {api_id} (service `{service}`) is a {found} authorizer, not a Cognito user pool authorizer"
    )]
    NotUserPools {
        service: String,
        api_id: String,
        authorizer: String,
        found: String,
    },
    #[error("REST API {api_id} has no method `{method_key}` (declared by service `{service}`)")]
    NoSuchMethod {
        service: String,
        api_id: String,
        method_key: String,
        known: Vec<String>,
    },
    #[error("REST API {api_id} has no stage `{stage}` (service `{service}`)")]
    NoSuchStage {
        service: String,
        api_id: String,
        stage: String,
    },
}

impl GatewayError {
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Cloud(cloud) => cloud.hint(),
            Self::NotJwt { .. } => Some("`authorizer` takes the id of the API's JWT authorizer (a Lambda authorizer cannot be checked); create one with the pool as issuer in the API's own definition".to_owned()),
            Self::NoSuchRoute {
                route_key, known, ..
            } => {
                let listed = match crate::config::suggest::closest(
                    route_key,
                    known.iter().map(String::as_str),
                ) {
                    Some(guess) => format!("did you mean `{guess}`?"),
                    None if known.is_empty() => "the API has no routes".to_owned(),
                    None => format!("its routes: {}", known.join(", ")),
                };
                Some(format!("cogwire does not create routes (their integrations belong to the API's own definition): add the route there, or give the declared route's `route` the gateway's template; {listed}"))
            }
            Self::NotUserPools { .. } => Some("`authorizer` takes the id of the REST API's COGNITO_USER_POOLS authorizer (a Lambda authorizer cannot be checked); create one in the API's own definition, with the pool among its providers".to_owned()),
            Self::NoSuchMethod {
                method_key, known, ..
            } => {
                let listed = match crate::config::suggest::closest(
                    method_key,
                    known.iter().map(String::as_str),
                ) {
                    Some(guess) => format!("did you mean `{guess}`?"),
                    None if known.is_empty() => "the API has no methods".to_owned(),
                    None => format!("its methods: {}", known.join(", ")),
                };
                Some(format!("cogwire does not create methods (their integrations belong to the API's own definition): add the method there, or give the declared route's `route` the resource's path; {listed}"))
            }
            Self::NoSuchStage { .. } => Some("`stage` names an existing stage to deploy to (a deployment would create a missing one): create it in the API's own definition, or fix the name".to_owned()),
        }
    }
}

/// `GET /items/{id}`, as API Gateway keys a route.
pub fn route_key(method: &str, template: &str) -> String {
    format!("{method} {template}")
}

/// Reads the authorizer and the declared routes of each service in `services` (every one when
/// empty) that names a gateway. No service naming one: no call.
pub async fn read<C: Cloud>(
    model: &Model,
    services: &[String],
    cloud: &C,
    pacer: &Pacer,
) -> Result<Vec<ObservedGateway>, GatewayError> {
    let gateway = cloud.gateway();
    let mut observed = Vec::new();
    for service in model.services.values() {
        let Some(api) = &service.api_gateway else {
            continue;
        };
        if !services.is_empty() && !services.contains(&service.name) {
            continue;
        }
        if api.kind == ApiKind::Rest {
            let read = rest::read(
                service,
                &api.api_id,
                &api.authorizer,
                api.stage.as_deref(),
                cloud.rest_gateway(),
                cloud.pool(),
                cloud.parameters(),
                pacer,
            )
            .await?;
            observed.push(ObservedGateway {
                service: service.name.clone(),
                api_id: api.api_id.clone(),
                authorizer: AuthorizerState {
                    id: read.authorizer.id.clone(),
                    name: read.authorizer.name.clone(),
                    authorizer_type: read.authorizer.authorizer_type.clone(),
                    issuer: None,
                    audience: Vec::new(),
                },
                routes: BTreeMap::new(),
                rest: Some(read),
            });
            continue;
        }
        let authorizer = pacer
            .call(Operation::GetAuthorizer, || {
                gateway.get_authorizer(&api.api_id, &api.authorizer)
            })
            .await?;
        if authorizer.authorizer_type != "JWT" {
            return Err(GatewayError::NotJwt {
                service: service.name.clone(),
                api_id: api.api_id.clone(),
                authorizer: api.authorizer.clone(),
                found: authorizer.authorizer_type,
            });
        }
        let mut all = Vec::new();
        let mut next_token = None;
        loop {
            let Page {
                items,
                next_token: next,
            } = pacer
                .call(Operation::GetRoutes, || {
                    gateway.get_routes_page(&api.api_id, next_token.clone())
                })
                .await?;
            all.extend(items);
            match next {
                Some(token) => next_token = Some(token),
                None => break,
            }
        }
        let mut routes = BTreeMap::new();
        for (method, template) in route_scopes(service).into_keys() {
            let key = route_key(&method, &template);
            match all.iter().find(|route| route.route_key == key) {
                Some(route) => {
                    routes.insert(key, route.clone());
                }
                None => {
                    return Err(GatewayError::NoSuchRoute {
                        service: service.name.clone(),
                        api_id: api.api_id.clone(),
                        route_key: key,
                        known: all.iter().map(|route| route.route_key.clone()).collect(),
                    });
                }
            }
        }
        observed.push(ObservedGateway {
            service: service.name.clone(),
            api_id: api.api_id.clone(),
            authorizer,
            routes,
            rest: None,
        });
    }
    Ok(observed)
}

/// Each REST API stage a change deploys to exists: CreateDeployment would create a missing one,
/// and a misspelt stage must be an error before any write, not a new stage.
pub async fn check_stages<C: Cloud>(
    changes: &[GatewayChange],
    cloud: &C,
    pacer: &Pacer,
) -> Result<(), GatewayError> {
    use crate::cloud::gateway_rest::RestApis as _;
    for change in changes {
        let Some(rest) = &change.rest else {
            continue;
        };
        let Some(stage) = rest.stage.as_deref().filter(|_| rest.deploys()) else {
            continue;
        };
        let found = pacer
            .call(Operation::GetStage, || {
                cloud.rest_gateway().get_stage(&change.api_id, stage)
            })
            .await;
        match found {
            Ok(()) => {}
            Err(CloudError::NotFound { .. }) => {
                return Err(GatewayError::NoSuchStage {
                    service: change.service.clone(),
                    api_id: change.api_id.clone(),
                    stage: stage.to_owned(),
                });
            }
            Err(error) => return Err(error.into()),
        }
    }
    Ok(())
}

/// A caller in an authorizer's audience: a managed client, by its service. `client_id` is `None`
/// for a client this plan creates (it joins the audience once it exists).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AudienceMember {
    pub service: String,
    pub client_id: Option<String>,
}

/// What changes on one service's gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayChange {
    pub service: String,
    pub api_id: String,
    pub authorizer_id: String,
    /// `None` when the authorizer is as it should be.
    pub authorizer: Option<AuthorizerChange>,
    pub routes: Vec<RouteChange>,
    /// Audience entries that are not clients cogwire manages: kept, and shown.
    pub unmanaged_audience: Vec<String>,
    /// A REST API's changes (`authorizer` and `routes` are then empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rest: Option<rest::RestChange>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizerChange {
    pub issuer_before: Option<String>,
    pub issuer_after: String,
    pub audience_before: Vec<String>,
    /// Managed callers granted one of the service's scopes and not in the audience yet.
    pub add: Vec<AudienceMember>,
    /// Managed clients in the audience that no longer hold any of the scopes.
    pub remove: Vec<AudienceMember>,
}

impl AuthorizerChange {
    /// The audience once `created` (service to new client id) is known: what was there, less the
    /// removed, plus the added, in the order API Gateway had them.
    pub fn audience_after(&self, created: &BTreeMap<String, String>) -> Vec<String> {
        let removed: BTreeSet<&str> = self
            .remove
            .iter()
            .filter_map(|member| member.client_id.as_deref())
            .collect();
        let mut audience: Vec<String> = self
            .audience_before
            .iter()
            .filter(|id| !removed.contains(id.as_str()))
            .cloned()
            .collect();
        for member in &self.add {
            let id = member
                .client_id
                .clone()
                .or_else(|| created.get(&member.service).cloned());
            if let Some(id) = id
                && !audience.contains(&id)
            {
                audience.push(id);
            }
        }
        audience
    }

    /// The audience without the removed members, before any client is created: `None` when
    /// nothing is removed, or when removing would leave it empty (API Gateway refuses that).
    pub fn audience_narrowed(&self) -> Option<Vec<String>> {
        if self.remove.is_empty() {
            return None;
        }
        let narrowed = self.audience_after(&BTreeMap::new());
        let only_removals: Vec<String> = narrowed
            .into_iter()
            .filter(|id| self.audience_before.contains(id))
            .collect();
        (!only_removals.is_empty()).then_some(only_removals)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteChange {
    pub route_id: String,
    pub route_key: String,
    pub authorization_type_before: String,
    pub authorizer_before: Option<String>,
    pub scopes_before: BTreeSet<String>,
    pub scopes_after: BTreeSet<String>,
}

impl RouteChange {
    pub fn added(&self) -> impl Iterator<Item = &String> {
        self.scopes_after.difference(&self.scopes_before)
    }

    pub fn removed(&self) -> impl Iterator<Item = &String> {
        self.scopes_before.difference(&self.scopes_after)
    }

    /// What the route may hold before the pool's scopes change: its scopes that stay, when it
    /// loses some and keeps at least one; a route never goes without scopes, which would let any
    /// token of the audience through.
    pub fn narrowed(&self) -> Option<BTreeSet<String>> {
        let kept: BTreeSet<String> = self
            .scopes_before
            .intersection(&self.scopes_after)
            .cloned()
            .collect();
        (self.removed().next().is_some()
            && !kept.is_empty()
            && self.authorization_type_before == "JWT")
            .then_some(kept)
    }
}

impl GatewayChange {
    /// Resources that change: the authorizer and each route.
    pub fn count(&self) -> usize {
        usize::from(self.authorizer.is_some())
            + self.routes.len()
            + self.rest.as_ref().map_or(0, rest::RestChange::count)
    }
}

/// The gateway changes that bring each observed gateway in line with the model, given the
/// Cognito plan (clients it creates join the audience) and cogwire's record (which clients are
/// managed). `issuer` is the pool's, `pool_id` the pool.
pub fn diff(
    model: &Model,
    observed: &[ObservedGateway],
    plan: &Plan,
    record: &Record,
    issuer: &str,
    pool_id: &str,
) -> Vec<GatewayChange> {
    let mut changes = Vec::new();
    for gateway in observed {
        let Some(service) = model.services.get(&gateway.service) else {
            continue;
        };
        let Some(api) = &service.api_gateway else {
            continue;
        };
        if let Some(observed_rest) = &gateway.rest {
            changes.push(GatewayChange {
                service: service.name.clone(),
                api_id: gateway.api_id.clone(),
                authorizer_id: api.authorizer.clone(),
                authorizer: None,
                routes: Vec::new(),
                unmanaged_audience: Vec::new(),
                rest: Some(rest::diff(
                    service,
                    &api.authorizer,
                    api.stage.as_deref(),
                    observed_rest,
                    pool_id,
                )),
            });
            continue;
        }
        let desired: Vec<AudienceMember> = audience_services(model, service)
            .into_iter()
            .map(|caller| AudienceMember {
                client_id: client_after(plan, record, &caller),
                service: caller,
            })
            .collect();
        let managed: BTreeMap<&str, &str> = record
            .clients
            .iter()
            .map(|(id, recorded)| (id.as_str(), recorded.service.as_str()))
            .collect();
        let before = &gateway.authorizer.audience;
        let add: Vec<AudienceMember> = desired
            .iter()
            .filter(|member| {
                member
                    .client_id
                    .as_ref()
                    .is_none_or(|id| !before.contains(id))
            })
            .cloned()
            .collect();
        let wanted: BTreeSet<&str> = desired
            .iter()
            .filter_map(|member| member.client_id.as_deref())
            .collect();
        let remove: Vec<AudienceMember> = before
            .iter()
            .filter(|id| managed.contains_key(id.as_str()) && !wanted.contains(id.as_str()))
            .map(|id| AudienceMember {
                service: managed
                    .get(id.as_str())
                    .map(|service| (*service).to_owned())
                    .unwrap_or_default(),
                client_id: Some(id.clone()),
            })
            .collect();
        let unmanaged_audience: Vec<String> = before
            .iter()
            .filter(|id| !managed.contains_key(id.as_str()))
            .cloned()
            .collect();
        let issuer_ok = gateway.authorizer.issuer.as_deref() == Some(issuer);
        let authorizer =
            (!issuer_ok || !add.is_empty() || !remove.is_empty()).then(|| AuthorizerChange {
                issuer_before: gateway.authorizer.issuer.clone(),
                issuer_after: issuer.to_owned(),
                audience_before: before.clone(),
                add,
                remove,
            });
        let mut routes = Vec::new();
        for ((method, template), scopes) in route_scopes(service) {
            let Some(route) = gateway.routes.get(&route_key(&method, &template)) else {
                continue;
            };
            let in_line = route.authorization_type == "JWT"
                && route.authorizer_id.as_deref() == Some(api.authorizer.as_str())
                && route.scopes == scopes;
            if !in_line {
                routes.push(RouteChange {
                    route_id: route.id.clone(),
                    route_key: route.route_key.clone(),
                    authorization_type_before: route.authorization_type.clone(),
                    authorizer_before: route.authorizer_id.clone(),
                    scopes_before: route.scopes.clone(),
                    scopes_after: scopes,
                });
            }
        }
        changes.push(GatewayChange {
            service: service.name.clone(),
            api_id: gateway.api_id.clone(),
            authorizer_id: api.authorizer.clone(),
            authorizer,
            routes,
            unmanaged_audience,
            rest: None,
        });
    }
    changes
}

/// The id `caller`'s client will have after the plan: `None` when the plan creates it.
fn client_after(plan: &Plan, record: &Record, caller: &str) -> Option<String> {
    for action in &plan.actions {
        if action.service() != caller {
            continue;
        }
        if let Action::Client(client) = action {
            return match client.change {
                ClientChange::Create { .. } => None,
                ClientChange::Delete { .. } => continue,
                _ => action.client_id().map(str::to_owned),
            };
        }
    }
    record.client_of_service(caller).map(str::to_owned)
}

/// The plan's lines for one gateway, in the plan's vocabulary.
pub fn human_lines(change: &GatewayChange, style: crate::style::Style) -> String {
    use std::fmt::Write as _;
    if let Some(rest) = &change.rest {
        return rest::human_lines(&change.api_id, &change.authorizer_id, rest, style);
    }
    let mut out = String::new();
    let update = style.yellow("~");
    if let Some(authorizer) = &change.authorizer {
        let _ = writeln!(
            out,
            "  {update} api_gateway authorizer {} of HTTP API {}",
            change.authorizer_id, change.api_id
        );
        if authorizer.issuer_before.as_deref() != Some(authorizer.issuer_after.as_str()) {
            let _ = writeln!(
                out,
                "      {update} issuer: {} -> {}",
                authorizer.issuer_before.as_deref().unwrap_or("(none)"),
                authorizer.issuer_after
            );
        }
        for member in &authorizer.add {
            let id = member
                .client_id
                .clone()
                .unwrap_or_else(|| "(known after apply)".to_owned());
            let _ = writeln!(
                out,
                "      {} audience {id} ({})",
                style.green("+"),
                member.service
            );
        }
        for member in &authorizer.remove {
            let _ = writeln!(
                out,
                "      {} audience {} ({})",
                style.red("-"),
                member.client_id.as_deref().unwrap_or_default(),
                member.service
            );
        }
    }
    for id in &change.unmanaged_audience {
        let _ = writeln!(
            out,
            "        audience {id} {}",
            style.dim("(not a client cogwire manages: kept)")
        );
    }
    for route in &change.routes {
        let _ = writeln!(
            out,
            "  {update} api_gateway route {} ({}) of HTTP API {}",
            route.route_key, route.route_id, change.api_id
        );
        if route.authorization_type_before != "JWT" {
            let _ = writeln!(
                out,
                "      {update} authorization: {} -> JWT",
                route.authorization_type_before
            );
        }
        if route.authorizer_before.as_deref() != Some(change.authorizer_id.as_str()) {
            let _ = writeln!(
                out,
                "      {update} authorizer: {} -> {}",
                route.authorizer_before.as_deref().unwrap_or("(none)"),
                change.authorizer_id
            );
        }
        for scope in route.added() {
            let _ = writeln!(out, "      {} scope {scope}", style.green("+"));
        }
        for scope in route.removed() {
            let _ = writeln!(out, "      {} scope {scope}", style.red("-"));
        }
    }
    out
}

#[cfg(test)]
mod tests;
