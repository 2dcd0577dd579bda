//! The REST API end of a plan: for each service that names a REST API (`rest_api`), whether its
//! Cognito user pool authorizer takes the pool's tokens (its providers include the pool's ARN)
//! and what each declared method's authorization (type, authorizer, scopes) would become, and
//! whether a deployment to `stage` is due. `read` makes the calls; `diff` is pure. Methods and
//! resources services.toml does not name are never read into a change, and providers that are not
//! the pool are kept.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::cloud::gateway_rest::{
    COGNITO_USER_POOLS, MethodAuthorization, MethodState, RestApis, RestAuthorizerState,
};
use crate::cloud::operation::Operation;
use crate::cloud::pace::Pacer;
use crate::cloud::{Page, Parameters, UserPool};
use crate::config::gateway::route_scopes;
use crate::config::model::Service;

use super::{GatewayError, route_key};

/// A REST API as read for one service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedRest {
    pub authorizer: RestAuthorizerState,
    /// The declared methods, by `METHOD path`: the resource's id and the method.
    pub methods: BTreeMap<String, (String, MethodState)>,
    /// The pool's ARN: the provider that names the pool, or DescribeUserPool's answer when none
    /// does.
    pub pool_arn: String,
    /// A deployment an earlier run began and did not finish (its marker is still set).
    pub deployment_pending: bool,
}

/// What changes on one REST API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestChange {
    /// Where a change is deployed; `None`: the changes wait for the API's own deployment.
    pub stage: Option<String>,
    pub pool_arn: String,
    /// The authorizer's providers lack the pool: it is added, the others kept.
    pub add_provider: bool,
    /// Providers that are not this pool: kept, and shown.
    pub unmanaged_providers: Vec<String>,
    pub methods: Vec<MethodChange>,
    /// An earlier run changed methods and died before deploying them.
    pub deployment_pending: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MethodChange {
    pub resource_id: String,
    /// `GET /items/{id}`.
    pub method_key: String,
    pub http_method: String,
    pub authorization_type_before: String,
    pub authorizer_before: Option<String>,
    pub scopes_before: BTreeSet<String>,
    pub scopes_after: BTreeSet<String>,
}

impl MethodChange {
    pub fn added(&self) -> impl Iterator<Item = &String> {
        self.scopes_after.difference(&self.scopes_before)
    }

    pub fn removed(&self) -> impl Iterator<Item = &String> {
        self.scopes_before.difference(&self.scopes_after)
    }

    /// The patch before the pool's scopes change: the scopes it loses, when it keeps at least
    /// one and is already a user pool method of `authorizer`. A method never goes without
    /// scopes: a Cognito method without scopes takes any ID token of the pool.
    pub fn narrowing(&self, authorizer: &str) -> Option<MethodAuthorization> {
        let keeps = self.scopes_before.intersection(&self.scopes_after).next();
        (self.removed().next().is_some()
            && keeps.is_some()
            && self.authorization_type_before == COGNITO_USER_POOLS
            && self.authorizer_before.as_deref() == Some(authorizer))
        .then(|| MethodAuthorization {
            authorizer_id: authorizer.to_owned(),
            add: BTreeSet::new(),
            remove: self.removed().cloned().collect(),
        })
    }

    /// The patch once the pool has changed: what `narrowing` did not do. `None` when nothing is
    /// left.
    pub fn completion(&self, authorizer: &str) -> Option<MethodAuthorization> {
        let narrowed = self.narrowing(authorizer);
        let add: BTreeSet<String> = self.added().cloned().collect();
        let remove: BTreeSet<String> = match &narrowed {
            Some(_) => BTreeSet::new(),
            None => self.removed().cloned().collect(),
        };
        let in_line_but_scopes = self.authorization_type_before == COGNITO_USER_POOLS
            && self.authorizer_before.as_deref() == Some(authorizer);
        (!add.is_empty() || !remove.is_empty() || !in_line_but_scopes).then(|| {
            MethodAuthorization {
                authorizer_id: authorizer.to_owned(),
                add,
                remove,
            }
        })
    }
}

impl RestChange {
    /// Resources that change: the authorizer, each method, and the stage when it is deployed.
    pub fn count(&self) -> usize {
        usize::from(self.add_provider) + self.methods.len() + usize::from(self.deploys())
    }

    /// A deployment to the stage follows the changes (or finishes an earlier run's).
    pub fn deploys(&self) -> bool {
        self.stage.is_some()
            && (self.deployment_pending || self.add_provider || !self.methods.is_empty())
    }
}

/// Whether an authorizer provider ARN names the pool (`...:userpool/<pool id>`).
pub fn names_pool(arn: &str, pool_id: &str) -> bool {
    arn.strip_suffix(pool_id)
        .is_some_and(|rest| rest.ends_with(":userpool/") && rest.contains(":cognito-idp:"))
}

/// Reads one service's REST API: the authorizer (which must be a user pool authorizer), the
/// resources (every page) for its declared methods, the pool's ARN when no provider names it,
/// and the marker of a deployment left pending.
#[allow(clippy::too_many_arguments)]
pub async fn read<R: RestApis, P: UserPool, S: Parameters>(
    service: &Service,
    api_id: &str,
    authorizer_id: &str,
    stage: Option<&str>,
    rest: &R,
    pool: &P,
    parameters: &S,
    pacer: &Pacer,
) -> Result<ObservedRest, GatewayError> {
    let authorizer = pacer
        .call(Operation::GetRestAuthorizer, || {
            rest.get_authorizer(api_id, authorizer_id)
        })
        .await?;
    if authorizer.authorizer_type != COGNITO_USER_POOLS {
        return Err(GatewayError::NotUserPools {
            service: service.name.clone(),
            api_id: api_id.to_owned(),
            authorizer: authorizer_id.to_owned(),
            found: authorizer.authorizer_type,
        });
    }
    let mut resources = Vec::new();
    let mut position = None;
    loop {
        let Page { items, next_token } = pacer
            .call(Operation::GetResources, || {
                rest.get_resources_page(api_id, position.clone())
            })
            .await?;
        resources.extend(items);
        match next_token {
            Some(token) => position = Some(token),
            None => break,
        }
    }
    let mut methods = BTreeMap::new();
    for (method, path) in route_scopes(service).into_keys() {
        let key = route_key(&method, &path);
        let found = resources
            .iter()
            .find(|resource| resource.path == path)
            .and_then(|resource| {
                resource
                    .methods
                    .iter()
                    .find(|candidate| candidate.http_method == method)
                    .map(|found| (resource.id.clone(), found.clone()))
            });
        match found {
            Some(found) => {
                methods.insert(key, found);
            }
            None => {
                return Err(GatewayError::NoSuchMethod {
                    service: service.name.clone(),
                    api_id: api_id.to_owned(),
                    method_key: key,
                    known: resources
                        .iter()
                        .flat_map(|resource| {
                            resource
                                .methods
                                .iter()
                                .map(|method| route_key(&method.http_method, &resource.path))
                        })
                        .collect(),
                });
            }
        }
    }
    let pool_arn = match authorizer
        .provider_arns
        .iter()
        .find(|arn| names_pool(arn, pool.pool_id()))
    {
        Some(arn) => arn.clone(),
        None => {
            pacer
                .call(Operation::DescribeUserPool, || pool.pool_arn())
                .await?
        }
    };
    let deployment_pending = match stage {
        Some(_) => {
            let name = crate::config::namespace::deployment_name(pool.pool_id(), api_id);
            let names = [name.clone()];
            pacer
                .call(Operation::GetParameters, || parameters.get(&names))
                .await
                .map_err(GatewayError::Cloud)?
                .contains_key(&name)
        }
        None => false,
    };
    Ok(ObservedRest {
        authorizer,
        methods,
        pool_arn,
        deployment_pending,
    })
}

/// The change that brings one observed REST API in line with `service`'s declaration.
pub fn diff(
    service: &Service,
    authorizer_id: &str,
    stage: Option<&str>,
    observed: &ObservedRest,
    pool_id: &str,
) -> RestChange {
    let add_provider = !observed
        .authorizer
        .provider_arns
        .iter()
        .any(|arn| names_pool(arn, pool_id));
    let unmanaged_providers = observed
        .authorizer
        .provider_arns
        .iter()
        .filter(|arn| !names_pool(arn, pool_id))
        .cloned()
        .collect();
    let mut methods = Vec::new();
    for ((method, path), scopes) in route_scopes(service) {
        let key = route_key(&method, &path);
        let Some((resource_id, state)) = observed.methods.get(&key) else {
            continue;
        };
        let in_line = state.authorization_type == COGNITO_USER_POOLS
            && state.authorizer_id.as_deref() == Some(authorizer_id)
            && state.scopes == scopes;
        if !in_line {
            methods.push(MethodChange {
                resource_id: resource_id.clone(),
                method_key: key,
                http_method: state.http_method.clone(),
                authorization_type_before: state.authorization_type.clone(),
                authorizer_before: state.authorizer_id.clone(),
                scopes_before: state.scopes.clone(),
                scopes_after: scopes,
            });
        }
    }
    RestChange {
        stage: stage.map(str::to_owned),
        pool_arn: observed.pool_arn.clone(),
        add_provider,
        unmanaged_providers,
        methods,
        deployment_pending: observed.deployment_pending,
    }
}

/// The plan's lines for one REST API.
pub fn human_lines(
    api_id: &str,
    authorizer_id: &str,
    change: &RestChange,
    style: crate::style::Style,
) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let update = style.yellow("~");
    if change.add_provider {
        let _ = writeln!(
            out,
            "  {update} api_gateway authorizer {authorizer_id} of REST API {api_id}"
        );
        let _ = writeln!(
            out,
            "      {} provider {}",
            style.green("+"),
            change.pool_arn
        );
    }
    for arn in &change.unmanaged_providers {
        let _ = writeln!(
            out,
            "        provider {arn} {}",
            style.dim("(not this pool: kept)")
        );
    }
    for method in &change.methods {
        let _ = writeln!(
            out,
            "  {update} api_gateway method {} ({}) of REST API {api_id}",
            method.method_key, method.resource_id
        );
        if method.authorization_type_before != COGNITO_USER_POOLS {
            let _ = writeln!(
                out,
                "      {update} authorization: {} -> {COGNITO_USER_POOLS}",
                method.authorization_type_before
            );
        }
        if method.authorizer_before.as_deref() != Some(authorizer_id) {
            let _ = writeln!(
                out,
                "      {update} authorizer: {} -> {authorizer_id}",
                method.authorizer_before.as_deref().unwrap_or("(none)")
            );
        }
        for scope in method.added() {
            let _ = writeln!(out, "      {} scope {scope}", style.green("+"));
        }
        for scope in method.removed() {
            let _ = writeln!(out, "      {} scope {scope}", style.red("-"));
        }
    }
    if let Some(stage) = &change.stage
        && change.deploys()
    {
        let why = if change.deployment_pending && change.methods.is_empty() && !change.add_provider
        {
            "an earlier apply stopped before deploying"
        } else {
            "after the changes above"
        };
        let _ = writeln!(
            out,
            "  {update} api_gateway stage {stage} of REST API {api_id}: deploy ({why})"
        );
    } else if change.stage.is_none() && change.count() > 0 {
        let _ = writeln!(
            out,
            "      {}",
            style.dim("(no `stage`: the changes take effect at the API's next deployment)")
        );
    }
    out
}
