//! One isolated AWS account on the local server: its environment for the `cogwire` binary, SDK
//! clients for it, and quick ways to make pools, resource servers and clients in it.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_cognitoidentityprovider::config::Credentials;
use aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata;
use aws_sdk_cognitoidentityprovider::types::{OAuthFlowType, ResourceServerScopeType};
use serde_json::Value;

use super::server::{LocalAws, for_account};

/// moto maps a 12-digit access key id to the account of that id (localaws arranges it), so each
/// `TestAccount` sees only what it made.
pub struct TestAccount {
    local_aws: &'static LocalAws,
    id: String,
}

const SECRET_ACCESS_KEY: &str = "localaws-secret";
const REGION: &str = "us-east-1";

impl TestAccount {
    pub(super) fn new(local_aws: &'static LocalAws, id: String) -> Self {
        TestAccount { local_aws, id }
    }

    /// The 12-digit account id, also the access key id.
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn local_aws(&self) -> &'static LocalAws {
        self.local_aws
    }

    /// The environment for a `cogwire` child process (apply with `Command::env_clear` or remove
    /// `AWS_PROFILE` and the other `AWS_*` variables of the test process first).
    pub fn env(&self) -> Vec<(String, String)> {
        let nowhere = "/nonexistent/localaws/aws-config".to_owned();
        [
            ("AWS_ENDPOINT_URL", self.local_aws.endpoint().to_owned()),
            ("AWS_ACCESS_KEY_ID", self.id.clone()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY.to_owned()),
            ("AWS_REGION", REGION.to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
            ("AWS_CONFIG_FILE", nowhere.clone()),
            ("AWS_SHARED_CREDENTIALS_FILE", nowhere),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect()
    }

    /// SDK configuration for this account with retries disabled, so that error-path tests see
    /// the first error instead of waiting in the SDK's back-off.
    pub async fn sdk_config(&self) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .empty_test_environment()
            .endpoint_url(self.local_aws.endpoint())
            .region(Region::new(REGION))
            .credentials_provider(Credentials::new(
                &self.id,
                SECRET_ACCESS_KEY,
                None,
                None,
                "localaws",
            ))
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_timeout(Duration::from_secs(30))
                    .build(),
            )
            .load()
            .await
    }

    pub async fn cognito(&self) -> aws_sdk_cognitoidentityprovider::Client {
        aws_sdk_cognitoidentityprovider::Client::new(&self.sdk_config().await)
    }

    pub async fn ssm(&self) -> aws_sdk_ssm::Client {
        aws_sdk_ssm::Client::new(&self.sdk_config().await)
    }

    pub async fn secrets_manager(&self) -> aws_sdk_secretsmanager::Client {
        aws_sdk_secretsmanager::Client::new(&self.sdk_config().await)
    }

    /// Creates a user pool; returns its id.
    pub async fn new_pool(&self, name: &str) -> String {
        let output = self
            .cognito()
            .await
            .create_user_pool()
            .pool_name(name)
            .send()
            .await
            .expect("CreateUserPool");
        output
            .user_pool()
            .and_then(|pool| pool.id())
            .expect("CreateUserPool returns the pool id")
            .to_owned()
    }

    /// Creates a resource server with the given scope names (descriptions = names).
    pub async fn new_resource_server(&self, pool_id: &str, identifier: &str, scopes: &[&str]) {
        let scopes = scopes
            .iter()
            .map(|scope| {
                ResourceServerScopeType::builder()
                    .scope_name(*scope)
                    .scope_description(*scope)
                    .build()
                    .expect("scope has name and description")
            })
            .collect();
        self.cognito()
            .await
            .create_resource_server()
            .user_pool_id(pool_id)
            .identifier(identifier)
            .name(identifier)
            .set_scopes(Some(scopes))
            .send()
            .await
            .expect("CreateResourceServer");
    }

    /// Creates a confidential client allowed the client_credentials flow for `scopes`
    /// (`<identifier>/<scope>`); returns (client id, client secret).
    pub async fn new_client(&self, pool_id: &str, name: &str, scopes: &[&str]) -> (String, String) {
        let output = self
            .cognito()
            .await
            .create_user_pool_client()
            .user_pool_id(pool_id)
            .client_name(name)
            .generate_secret(true)
            .allowed_o_auth_flows(OAuthFlowType::ClientCredentials)
            .allowed_o_auth_flows_user_pool_client(true)
            .set_allowed_o_auth_scopes(Some(scopes.iter().map(|scope| scope.to_string()).collect()))
            .send()
            .await
            .expect("CreateUserPoolClient");
        let client = output
            .user_pool_client()
            .expect("CreateUserPoolClient returns the client");
        (
            client.client_id().expect("client id").to_owned(),
            client.client_secret().expect("client secret").to_owned(),
        )
    }

    /// This account's call counts (see [`LocalAws::calls`]).
    pub fn calls(&self) -> Value {
        self.local_aws.calls_of(&self.id)
    }

    /// Calls of one operation in this account, e.g. `calls_to("PutParameter")["throttled"]`.
    pub fn calls_to(&self, operation: &str) -> Value {
        self.calls()["operations"][operation].clone()
    }

    pub fn reset_calls(&self) {
        self.local_aws.reset_calls_of(&self.id);
    }

    /// Faults for this account only (see localaws/README.md for the fields); other tests are
    /// not affected. Replaces this account's earlier faults.
    pub fn set_faults(&self, faults: Value) {
        self.local_aws.set_faults(for_account(&self.id, faults));
    }

    pub fn clear_faults(&self) {
        self.local_aws.clear_faults_of(&self.id);
    }

    /// Cognito quota emulation for this account only, e.g. `{"enabled": true, "speedup": 1.0}`.
    pub fn set_quotas(&self, quotas: Value) {
        self.local_aws.set_quotas(for_account(&self.id, quotas));
    }

    pub fn clear_quotas(&self) {
        self.local_aws.clear_quotas_of(&self.id);
    }
}

/// The AWS error code of an SDK error (`"ResourceNotFoundException"`), if the call failed with one.
pub fn error_code<T, E: ProvideErrorMetadata>(result: &Result<T, E>) -> Option<&str> {
    result.as_ref().err().and_then(|error| error.code())
}
