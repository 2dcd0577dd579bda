//! The edge to AWS: narrow traits the engine depends on, cogwire's own view of the resources, and
//! one error type. `aws` and `stores` implement the traits with the official SDK; `memory` is an
//! in-memory cloud with injected faults, for tests of the engines at every crash point.

pub mod aws;
pub mod gateway;
pub mod gateway_aws;
pub mod gateway_rest;
pub mod gateway_rest_aws;
pub mod memory;
pub mod operation;
pub mod pace;
pub mod stores;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

use serde::{Deserialize, Serialize};

use crate::config::duration::Seconds;
use crate::sensitive::Secret;
use operation::Operation;

/// A resource server as Cognito holds it. Scope order is Cognito's business: scopes are a map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceServerState {
    pub identifier: String,
    pub name: String,
    pub scopes: BTreeMap<String, String>,
}

/// What ListUserPoolClients tells: enough to find clients by name without describing them all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientSummary {
    pub id: String,
    pub name: String,
}

/// An app client as DescribeUserPoolClient tells it, minus its secret. The fields cogwire manages
/// are named; everything else is carried in `extras` so an update can send it back unchanged
/// (UpdateUserPoolClient resets every field it is not sent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientState {
    pub id: String,
    pub name: String,
    pub has_secret: bool,
    pub allowed_oauth_flows: BTreeSet<String>,
    pub allowed_oauth_flows_user_pool_client: bool,
    pub scopes: BTreeSet<String>,
    /// `None`: Cognito's default (one hour).
    pub access_token_validity: Option<Seconds>,
    pub extras: ClientExtras,
}

impl ClientState {
    pub fn effective_access_token_validity(&self) -> Seconds {
        self.access_token_validity.unwrap_or(Seconds::HOUR)
    }
}

/// The settings of a client that cogwire does not manage but must preserve.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientExtras {
    pub refresh_token_validity: Option<i32>,
    pub refresh_token_unit: Option<String>,
    pub id_token_validity: Option<i32>,
    pub id_token_unit: Option<String>,
    pub read_attributes: Option<Vec<String>>,
    pub write_attributes: Option<Vec<String>>,
    pub explicit_auth_flows: Option<Vec<String>>,
    pub supported_identity_providers: Option<Vec<String>>,
    pub callback_urls: Option<Vec<String>>,
    pub logout_urls: Option<Vec<String>>,
    pub default_redirect_uri: Option<String>,
    pub prevent_user_existence_errors: Option<String>,
    pub enable_token_revocation: Option<bool>,
    pub enable_propagate_additional_user_context_data: Option<bool>,
    pub auth_session_validity: Option<i32>,
    pub analytics: Option<AnalyticsSettings>,
    pub refresh_token_rotation: Option<RefreshTokenRotation>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnalyticsSettings {
    pub application_id: Option<String>,
    pub application_arn: Option<String>,
    pub role_arn: Option<String>,
    pub external_id: Option<String>,
    pub user_data_shared: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshTokenRotation {
    pub feature: String,
    pub retry_grace_period_seconds: Option<i32>,
}

/// A new client-credentials client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientSpec {
    pub name: String,
    pub scopes: BTreeSet<String>,
    pub access_token_validity: Seconds,
}

/// What CreateUserPoolClient returns: the only moment Cognito hands out a new client's secret
/// unasked.
#[derive(Debug, Clone)]
pub struct CreatedClient {
    pub id: String,
    pub secret: Secret,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CloudError {
    #[error("{operation}: not found: {what}")]
    NotFound { operation: Operation, what: String },
    #[error("{operation}: {what} already exists")]
    AlreadyExists { operation: Operation, what: String },
    #[error("{operation}: throttled by AWS ({code})")]
    Throttled { operation: Operation, code: String },
    #[error("{operation}: access denied: {message}")]
    AccessDenied {
        operation: Operation,
        action: String,
        message: String,
    },
    #[error("{operation}: the AWS credentials were rejected or are missing: {message}")]
    Credentials {
        operation: Operation,
        message: String,
    },
    /// The KMS key `[secrets] kms_key_id` names does not exist, is disabled, or may not be used.
    #[error("{operation}: the KMS key was refused ({code}): {message}")]
    Kms {
        operation: Operation,
        code: String,
        message: String,
    },
    /// A 5xx, a time-out or a dropped connection: the request may or may not have taken effect.
    #[error("{operation}: {message}")]
    Transient {
        operation: Operation,
        message: String,
    },
    #[error("{operation}: {code}: {message}")]
    Rejected {
        operation: Operation,
        code: String,
        message: String,
    },
    /// A throttled or transient failure that outlasted every retry.
    #[error("{last} (after {attempts} attempts)")]
    Exhausted {
        attempts: u32,
        last: Box<CloudError>,
    },
}

impl CloudError {
    pub fn operation(&self) -> Operation {
        match self {
            Self::NotFound { operation, .. }
            | Self::AlreadyExists { operation, .. }
            | Self::Throttled { operation, .. }
            | Self::AccessDenied { operation, .. }
            | Self::Credentials { operation, .. }
            | Self::Transient { operation, .. }
            | Self::Kms { operation, .. }
            | Self::Rejected { operation, .. } => *operation,
            Self::Exhausted { last, .. } => last.operation(),
        }
    }

    /// `last`, the failure of the last of `attempts` attempts.
    pub fn exhausted(last: CloudError, attempts: u32) -> Self {
        if attempts <= 1 {
            return last;
        }
        Self::Exhausted {
            attempts,
            last: Box::new(last),
        }
    }

    /// Worth trying again after a pause: throttling, or a failure that may be gone next time.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Throttled { .. } | Self::Transient { .. })
    }

    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::AccessDenied { action, .. } => Some(format!(
                "the AWS identity in use may not call `{action}`: add it to its IAM policy (the README lists the least-privilege policy)"
            )),
            Self::Credentials { .. } => Some(
                "set AWS_PROFILE (run `aws sso login` if it uses SSO), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".to_owned(),
            ),
            Self::Exhausted { attempts, last } => match **last {
                Self::Throttled { .. } => Some(format!(
                    "AWS kept throttling for {attempts} attempts: other traffic shares these quotas; lower --quota-share or try again later"
                )),
                _ => Some(format!("AWS or the network failed {attempts} times in a row; try again")),
            },
            Self::Throttled { .. } => Some(
                "AWS throttled the call: other traffic shares these quotas; lower --quota-share or try again later"
                    .to_owned(),
            ),
            Self::Transient { .. } => Some(
                "AWS or the network failed, and AWS may or may not have acted; run the same command again: it picks up where this one stopped"
                    .to_owned(),
            ),
            Self::Kms { .. } => Some(
                "check `[secrets] kms_key_id`: the key must exist in this account and region, be enabled, and its key policy must let this identity use it (kms:Encrypt and kms:Decrypt; kms:GenerateDataKey for Secrets Manager); leave it out to use the AWS managed key".to_owned(),
            ),
            Self::NotFound {
                operation: Operation::ListUserPoolClients | Operation::ListResourceServers,
                ..
            } =>
            {
                Some("check --user-pool-id (or `[pool] id`) and that the region is the pool's: it is the part before `_`".to_owned())
            }
            Self::NotFound {
                operation: Operation::GetAuthorizer | Operation::GetRoutes,
                ..
            } => Some("check `[services.<name>.api_gateway]`: `http_api` takes an HTTP API's id and `authorizer` its JWT authorizer's id (a REST API's id belongs in `rest_api`), in the pool's region".to_owned()),
            Self::Rejected {
                operation: Operation::UpdateAuthorizer | Operation::UpdateRoute,
                ..
            } => Some("API Gateway refused the change: check the API's own definition (the route's authorizer type, the authorizer's identity source)".to_owned()),
            Self::NotFound {
                operation: Operation::GetRestAuthorizer | Operation::GetResources,
                ..
            } => Some("check `[services.<name>.api_gateway]`: `rest_api` takes a REST API's id and `authorizer` its Cognito user pool authorizer's id (an HTTP API's id belongs in `http_api`), in the pool's region".to_owned()),
            Self::NotFound {
                operation: Operation::CreateDeployment,
                ..
            } => Some("check `stage` in `[services.<name>.api_gateway]`: it names a stage of the REST API to deploy to (create it in the API's own definition)".to_owned()),
            Self::Rejected {
                operation:
                    Operation::UpdateRestAuthorizer
                    | Operation::UpdateMethod
                    | Operation::CreateDeployment,
                ..
            } => Some("API Gateway refused the change: check the API's own definition (the method's integration, the authorizer's type, the stage)".to_owned()),
            Self::NotFound { .. } | Self::AlreadyExists { .. } | Self::Rejected { .. } => None,
        }
    }
}

pub type CloudResult<T> = Result<T, CloudError>;

/// A user pool that is not where it was looked for: most often, looked for in the wrong region.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("user pool {pool_id} was not found{}", region.as_ref().map(|region| format!(" in region {region}")).unwrap_or_default())]
pub struct PoolNotFound {
    pub pool_id: String,
    pub region: Option<String>,
}

impl PoolNotFound {
    pub fn of<P: UserPool>(pool: &P) -> Self {
        Self {
            pool_id: pool.pool_id().to_owned(),
            region: pool.region().map(str::to_owned),
        }
    }

    pub fn hint(&self) -> String {
        let named = self
            .pool_id
            .split_once('_')
            .map_or("", |(region, _)| region);
        match &self.region {
            Some(region) if !named.is_empty() && named != region => format!(
                "the pool id names region {named}: pass --region {named} (or set `[pool] region`)"
            ),
            _ => "check --user-pool-id (or `[pool] id`, or COGWIRE_USER_POOL_ID)".to_owned(),
        }
    }
}

/// One page of a list call and the token of the next, if any.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_token: Option<String>,
}

/// Every resource server of the pool, one paced call a page: a throttled page is retried alone,
/// not the whole listing.
pub async fn list_resource_servers<P: UserPool>(
    pool: &P,
    pacer: &crate::cloud::pace::Pacer,
) -> CloudResult<Vec<ResourceServerState>> {
    let mut items = Vec::new();
    let mut next_token = None;
    loop {
        let page = pacer
            .call(Operation::ListResourceServers, || {
                pool.list_resource_servers_page(next_token.clone())
            })
            .await?;
        items.extend(page.items);
        match page.next_token {
            Some(token) => next_token = Some(token),
            None => return Ok(items),
        }
    }
}

/// Every client of the pool (id and name), one paced call a page.
pub async fn list_clients<P: UserPool>(
    pool: &P,
    pacer: &crate::cloud::pace::Pacer,
) -> CloudResult<Vec<ClientSummary>> {
    let mut items = Vec::new();
    let mut next_token = None;
    loop {
        let page = pacer
            .call(Operation::ListUserPoolClients, || {
                pool.list_clients_page(next_token.clone())
            })
            .await?;
        items.extend(page.items);
        match page.next_token {
            Some(token) => next_token = Some(token),
            None => return Ok(items),
        }
    }
}

/// One user pool's resource servers and app clients.
pub trait UserPool: Send + Sync + 'static {
    fn pool_id(&self) -> &str;
    /// The region the pool is looked for in, to say so when it is not there.
    fn region(&self) -> Option<&str> {
        None
    }
    /// The pool's ARN, as DescribeUserPool tells it: a REST API's user pool authorizer names it.
    fn pool_arn(&self) -> impl Future<Output = CloudResult<String>> + Send {
        async { Err(unsupported(Operation::DescribeUserPool)) }
    }
    /// One page (50 servers); list every page with `list_resource_servers`, which paces each.
    fn list_resource_servers_page(
        &self,
        next_token: Option<String>,
    ) -> impl Future<Output = CloudResult<Page<ResourceServerState>>> + Send;
    /// One page (60 clients); list every page with `list_clients`, which paces each.
    fn list_clients_page(
        &self,
        next_token: Option<String>,
    ) -> impl Future<Output = CloudResult<Page<ClientSummary>>> + Send;
    fn describe_client(&self, id: &str) -> impl Future<Output = CloudResult<ClientState>> + Send;
    /// The current secret of a client, for recovering one whose creation reply was lost.
    fn client_secret(&self, id: &str) -> impl Future<Output = CloudResult<Option<Secret>>> + Send;
    fn create_resource_server(
        &self,
        server: &ResourceServerState,
    ) -> impl Future<Output = CloudResult<()>> + Send;
    fn update_resource_server(
        &self,
        server: &ResourceServerState,
    ) -> impl Future<Output = CloudResult<()>> + Send;
    fn delete_resource_server(
        &self,
        identifier: &str,
    ) -> impl Future<Output = CloudResult<()>> + Send;
    fn create_client(
        &self,
        spec: &ClientSpec,
    ) -> impl Future<Output = CloudResult<CreatedClient>> + Send;
    /// Sends the whole client: UpdateUserPoolClient resets what it is not sent. Returns the secret
    /// the reply shows, if any (one of the client's secrets; with two, AWS does not say which, as
    /// with DescribeUserPoolClient), so its stored credentials can be rewritten without a describe.
    fn update_client(
        &self,
        client: &ClientState,
    ) -> impl Future<Output = CloudResult<Option<Secret>>> + Send;
    fn delete_client(&self, id: &str) -> impl Future<Output = CloudResult<()>> + Send;
    /// One DescribeUserPoolClient: the client and the secret Cognito shows for it. With two
    /// secrets AWS does not document which one it shows, so nothing may depend on which.
    fn describe_client_with_secret(
        &self,
        id: &str,
    ) -> impl Future<Output = CloudResult<(ClientState, Option<Secret>)>> + Send {
        let _ = id;
        async { Err(unsupported(Operation::DescribeUserPoolClient)) }
    }
    /// The client's secrets, oldest first, without their values.
    fn list_client_secrets(
        &self,
        client_id: &str,
    ) -> impl Future<Output = CloudResult<Vec<ClientSecretInfo>>> + Send {
        let _ = client_id;
        async { Err(unsupported(Operation::ListUserPoolClientSecrets)) }
    }
    /// Adds a generated secret; its value is only ever told here.
    fn add_client_secret(
        &self,
        client_id: &str,
    ) -> impl Future<Output = CloudResult<AddedSecret>> + Send {
        let _ = client_id;
        async { Err(unsupported(Operation::AddUserPoolClientSecret)) }
    }
    fn delete_client_secret(
        &self,
        client_id: &str,
        secret_id: &str,
    ) -> impl Future<Output = CloudResult<()>> + Send {
        let _ = (client_id, secret_id);
        async { Err(unsupported(Operation::DeleteUserPoolClientSecret)) }
    }
}

fn unsupported(operation: Operation) -> CloudError {
    CloudError::Rejected {
        operation,
        code: "Unsupported".to_owned(),
        message: "this pool implementation does not support it".to_owned(),
    }
}

/// One of a client's (at most two) secrets, as ListUserPoolClientSecrets tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSecretInfo {
    pub id: String,
    /// Nanoseconds since the epoch: orders secrets oldest first, even two added within a second.
    pub created: i128,
}

/// What AddUserPoolClientSecret returns.
#[derive(Debug, Clone)]
pub struct AddedSecret {
    pub id: String,
    pub value: Secret,
}

/// Everything of AWS one run talks to: the user pool, SSM for cogwire's own bookkeeping, and the
/// store of the services' credentials. `aws::AwsCloud` is the real one; the engines are generic
/// over this so that tests run them against an in-memory cloud with injected faults.
pub trait Cloud: Send + Sync + 'static {
    type Pool: UserPool;
    type Parameters: Parameters;
    type Store: stores::SecretStore;
    type Gateway: gateway::HttpApis;
    type RestGateway: gateway_rest::RestApis;
    fn pool(&self) -> &Self::Pool;
    fn parameters(&self) -> &Self::Parameters;
    fn store(&self) -> &Self::Store;
    /// API Gateway's HTTP APIs: called only for services that name one (`api_gateway`).
    fn gateway(&self) -> &Self::Gateway;
    /// API Gateway's REST APIs: called only for services that name one (`rest_api`).
    fn rest_gateway(&self) -> &Self::RestGateway;
}

/// SSM Parameter Store, as far as cogwire's own bookkeeping (ownership record, lock) needs it.
pub trait Parameters: Send + Sync + 'static {
    /// Values of the names that exist; at most 10 names a call.
    fn get(
        &self,
        names: &[String],
    ) -> impl Future<Output = CloudResult<BTreeMap<String, String>>> + Send;
    /// `overwrite = false` fails with `AlreadyExists` when the name exists: the basis of the lock.
    fn put(
        &self,
        name: &str,
        value: &str,
        overwrite: bool,
    ) -> impl Future<Output = CloudResult<()>> + Send;
    /// Deleting a name that does not exist is not an error.
    fn delete(&self, name: &str) -> impl Future<Output = CloudResult<()>> + Send;
}
