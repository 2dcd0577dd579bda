//! HTTP APIs in memory: authorizers and routes of any number of APIs, held in the account so
//! that their calls are numbered and faulted with the pool's (a crash point may fall between two
//! gateway writes) and a fork copies them.

use std::collections::BTreeMap;

use super::{Account, MemoryCloud};
use crate::cloud::gateway::{AuthorizerState, HttpApis, RouteAuthorization, RouteState};
use crate::cloud::operation::{Operation, Service};
use crate::cloud::{CloudError, CloudResult, Page};

/// A handle on the account's HTTP APIs.
#[derive(Debug, Clone)]
pub struct MemoryHttpApis {
    cloud: MemoryCloud,
}

/// One HTTP API: its authorizers by id and its routes in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Api {
    pub authorizers: BTreeMap<String, AuthorizerState>,
    pub routes: Vec<RouteState>,
}

/// GetRoutes pages hold this many routes here, so that tests page.
const PAGE: usize = 2;

impl MemoryHttpApis {
    pub(super) fn new(cloud: MemoryCloud) -> Self {
        Self { cloud }
    }

    /// Puts an API in the account without a call.
    pub fn put_api(&self, api_id: &str, api: Api) {
        self.cloud
            .lock()
            .account
            .http_apis
            .insert(api_id.to_owned(), api);
    }

    pub fn api(&self, api_id: &str) -> Option<Api> {
        self.cloud.lock().account.http_apis.get(api_id).cloned()
    }

    /// The API Gateway operations called so far (HTTP and REST), in order.
    pub fn calls(&self) -> Vec<Operation> {
        self.cloud
            .call_log()
            .into_iter()
            .filter(|operation| operation.service() == Service::ApiGateway)
            .collect()
    }

    fn call<T>(
        &self,
        operation: Operation,
        api_id: &str,
        effect: impl FnOnce(&mut Api) -> CloudResult<T>,
    ) -> CloudResult<T> {
        self.cloud.call(operation, |account: &mut Account| {
            let api = account
                .http_apis
                .get_mut(api_id)
                .ok_or_else(|| CloudError::NotFound {
                    operation,
                    what: format!("Invalid API identifier specified {api_id}"),
                })?;
            effect(api)
        })
    }
}

impl HttpApis for MemoryHttpApis {
    async fn get_authorizer(
        &self,
        api_id: &str,
        authorizer_id: &str,
    ) -> CloudResult<AuthorizerState> {
        const OPERATION: Operation = Operation::GetAuthorizer;
        self.call(OPERATION, api_id, |api| {
            api.authorizers
                .get(authorizer_id)
                .cloned()
                .ok_or_else(|| CloudError::NotFound {
                    operation: OPERATION,
                    what: format!("Invalid authorizer identifier specified {authorizer_id}"),
                })
        })
    }

    async fn update_authorizer(
        &self,
        api_id: &str,
        authorizer_id: &str,
        issuer: &str,
        audience: &[String],
    ) -> CloudResult<()> {
        const OPERATION: Operation = Operation::UpdateAuthorizer;
        self.call(OPERATION, api_id, |api| {
            let authorizer =
                api.authorizers
                    .get_mut(authorizer_id)
                    .ok_or_else(|| CloudError::NotFound {
                        operation: OPERATION,
                        what: format!("Invalid authorizer identifier specified {authorizer_id}"),
                    })?;
            authorizer.issuer = Some(issuer.to_owned());
            authorizer.audience = audience.to_vec();
            Ok(())
        })
    }

    async fn get_routes_page(
        &self,
        api_id: &str,
        next_token: Option<String>,
    ) -> CloudResult<Page<RouteState>> {
        self.call(Operation::GetRoutes, api_id, |api| {
            let start: usize = next_token.and_then(|token| token.parse().ok()).unwrap_or(0);
            let end = (start + PAGE).min(api.routes.len());
            Ok(Page {
                items: api.routes.get(start..end).unwrap_or_default().to_vec(),
                next_token: (end < api.routes.len()).then(|| end.to_string()),
            })
        })
    }

    async fn update_route(
        &self,
        api_id: &str,
        route_id: &str,
        authorization: &RouteAuthorization,
    ) -> CloudResult<()> {
        const OPERATION: Operation = Operation::UpdateRoute;
        self.call(OPERATION, api_id, |api| {
            let route = api
                .routes
                .iter_mut()
                .find(|route| route.id == route_id)
                .ok_or_else(|| CloudError::NotFound {
                    operation: OPERATION,
                    what: format!("Invalid Route identifier specified {route_id}"),
                })?;
            route.authorization_type = "JWT".to_owned();
            route.authorizer_id = Some(authorization.authorizer_id.clone());
            route.scopes = authorization.scopes.clone();
            Ok(())
        })
    }
}
