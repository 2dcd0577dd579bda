//! API Gateway REST APIs, as far as cogwire keeps them in line: one Cognito user pool authorizer
//! (that its providers include the pool) and the authorization of declared methods, made live by
//! a deployment to a stage. The narrow trait the gateway plan and apply depend on;
//! `gateway_rest_aws` implements it with the SDK, `memory` in memory.

use std::collections::BTreeSet;
use std::future::Future;

use serde::{Deserialize, Serialize};

use super::{CloudResult, Page};

/// The authorization type of a method guarded by a Cognito user pool authorizer.
pub const COGNITO_USER_POOLS: &str = "COGNITO_USER_POOLS";

/// A REST API authorizer as GetAuthorizer tells it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestAuthorizerState {
    pub id: String,
    pub name: String,
    /// `COGNITO_USER_POOLS`, `TOKEN` or `REQUEST`.
    pub authorizer_type: String,
    /// The user pools whose tokens it takes, in the order API Gateway keeps them.
    pub provider_arns: Vec<String>,
}

/// One method of a resource, as GetResources tells it (with its methods embedded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MethodState {
    /// `GET`, `POST`, `ANY`...
    pub http_method: String,
    /// `NONE`, `AWS_IAM`, `CUSTOM` or `COGNITO_USER_POOLS`.
    pub authorization_type: String,
    pub authorizer_id: Option<String>,
    pub scopes: BTreeSet<String>,
}

/// A resource (a path) of a REST API and its methods.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceState {
    pub id: String,
    /// `/items/{id}`.
    pub path: String,
    pub methods: Vec<MethodState>,
}

/// What UpdateMethod is sent: the authorization only (never the integration), as patch
/// operations that add and remove single scopes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MethodAuthorization {
    pub authorizer_id: String,
    pub add: BTreeSet<String>,
    pub remove: BTreeSet<String>,
}

/// REST APIs (API Gateway v1) of one account and region.
pub trait RestApis: Send + Sync + 'static {
    fn get_authorizer(
        &self,
        api_id: &str,
        authorizer_id: &str,
    ) -> impl Future<Output = CloudResult<RestAuthorizerState>> + Send;
    /// Adds one provider (a user pool's ARN) to the authorizer; the others are kept.
    fn add_provider(
        &self,
        api_id: &str,
        authorizer_id: &str,
        provider_arn: &str,
    ) -> impl Future<Output = CloudResult<()>> + Send;
    /// One page of the API's resources, with their methods.
    fn get_resources_page(
        &self,
        api_id: &str,
        position: Option<String>,
    ) -> impl Future<Output = CloudResult<Page<ResourceState>>> + Send;
    /// Makes the method a Cognito user pool method of the authorizer, adding and removing the
    /// scopes named.
    fn update_method(
        &self,
        api_id: &str,
        resource_id: &str,
        http_method: &str,
        authorization: &MethodAuthorization,
    ) -> impl Future<Output = CloudResult<()>> + Send;
    /// Whether the stage exists (CreateDeployment would create a missing one).
    fn get_stage(&self, api_id: &str, stage: &str) -> impl Future<Output = CloudResult<()>> + Send;
    /// Deploys the API's current state to `stage`; returns the deployment's id.
    fn create_deployment(
        &self,
        api_id: &str,
        stage: &str,
        description: &str,
    ) -> impl Future<Output = CloudResult<String>> + Send;
}
