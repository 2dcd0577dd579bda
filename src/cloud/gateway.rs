//! API Gateway HTTP APIs, as far as cogwire keeps them in line: one JWT authorizer (its issuer and
//! audience) and the authorization of declared routes. The narrow trait the gateway plan and apply
//! depend on; `aws` implements it with the SDK, `memory` in memory.

use std::collections::BTreeSet;
use std::future::Future;

use serde::{Deserialize, Serialize};

use super::{CloudResult, Page};

/// An authorizer as GetAuthorizer tells it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizerState {
    pub id: String,
    pub name: String,
    /// `JWT` or `REQUEST`.
    pub authorizer_type: String,
    pub issuer: Option<String>,
    /// In the order API Gateway keeps it.
    pub audience: Vec<String>,
}

/// A route's key and how it is authorized, as GetRoutes tells it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteState {
    pub id: String,
    /// `GET /items/{id}`, `ANY /{proxy+}`, `$default`.
    pub route_key: String,
    /// `NONE`, `JWT`, `AWS_IAM` or `CUSTOM`.
    pub authorization_type: String,
    pub authorizer_id: Option<String>,
    pub scopes: BTreeSet<String>,
}

/// What UpdateRoute is sent: only the authorization, never the route's key or integration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteAuthorization {
    pub authorizer_id: String,
    /// Never empty: a JWT route without scopes takes any token of the audience.
    pub scopes: BTreeSet<String>,
}

/// HTTP APIs (API Gateway v2) of one account and region.
pub trait HttpApis: Send + Sync + 'static {
    fn get_authorizer(
        &self,
        api_id: &str,
        authorizer_id: &str,
    ) -> impl Future<Output = CloudResult<AuthorizerState>> + Send;
    /// Sets the JWT configuration only; the authorizer's other settings are not sent, so kept.
    fn update_authorizer(
        &self,
        api_id: &str,
        authorizer_id: &str,
        issuer: &str,
        audience: &[String],
    ) -> impl Future<Output = CloudResult<()>> + Send;
    /// One page of the API's routes.
    fn get_routes_page(
        &self,
        api_id: &str,
        next_token: Option<String>,
    ) -> impl Future<Output = CloudResult<Page<RouteState>>> + Send;
    /// Makes the route a JWT route of `authorization`'s authorizer and scopes.
    fn update_route(
        &self,
        api_id: &str,
        route_id: &str,
        authorization: &RouteAuthorization,
    ) -> impl Future<Output = CloudResult<()>> + Send;
}
