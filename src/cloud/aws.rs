//! The AWS SDK adapters: the only place that knows the SDK's types. Each call is one attempt (the
//! SDK's own retries are off, so the engine decides what is safe to retry and paces itself), and
//! every `SdkError` becomes a `CloudError` that says what failed.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_cognitoidentityprovider as cognito;
use aws_sdk_ssm as ssm;
use cognito::config::http::HttpResponse;
use cognito::error::{ProvideErrorMetadata, SdkError};
use cognito::types::{
    AnalyticsConfigurationType, ExplicitAuthFlowsType, FeatureType, OAuthFlowType,
    PreventUserExistenceErrorTypes, RefreshTokenRotationType, ResourceServerScopeType,
    TimeUnitsType, TokenValidityUnitsType, UserPoolClientType,
};

use super::operation::Operation;
use super::{
    AddedSecret, AnalyticsSettings, ClientExtras, ClientSecretInfo, ClientSpec, ClientState,
    ClientSummary, CloudError, CloudResult, CreatedClient, Page, Parameters, RefreshTokenRotation,
    ResourceServerState, UserPool,
};
use crate::config::duration::Seconds;
use crate::sensitive::Secret;

/// Where cogwire's AWS settings come from: flags first, then the standard chain.
#[derive(Debug, Clone, Default)]
pub struct AwsSettings {
    pub region: Option<String>,
    pub profile: Option<String>,
}

/// Loads the shared SDK configuration: the standard credential chain, `AWS_ENDPOINT_URL`, no SDK
/// retries, and time-outs so that a hung connection becomes a retryable error.
pub async fn load_config(settings: &AwsSettings) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(20))
                .build(),
        );
    if let Some(region) = &settings.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    if let Some(profile) = &settings.profile {
        loader = loader.profile_name(profile);
    }
    loader.load().await
}

/// Turns any SDK error into cogwire's, naming the operation and the IAM action it needs.
pub(crate) fn classify<E>(operation: Operation, error: SdkError<E, HttpResponse>) -> CloudError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let status = error
        .raw_response()
        .map(|response| response.status().as_u16());
    let message = error.message().map(str::to_owned);
    let code = error.code().map(str::to_owned);
    match error {
        SdkError::ServiceError(_) => {
            let code = code.unwrap_or_else(|| "Unknown".to_owned());
            let message = message.unwrap_or_else(|| code.clone());
            classify_code(operation, &code, message, status)
        }
        SdkError::TimeoutError(_) => CloudError::Transient {
            operation,
            message: "timed out waiting for AWS".to_owned(),
        },
        SdkError::ResponseError(_) => CloudError::Transient {
            operation,
            message: "the connection failed while reading AWS's reply".to_owned(),
        },
        other => {
            let chain = error_chain(&other);
            if chain.contains("credential") || chain.contains("Credential") {
                // The SDK lists every provider it tried, one a line; the first line says it all.
                let message = chain
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .trim_end_matches("Attempted:")
                    .trim_end_matches([' ', '.'])
                    .to_owned();
                CloudError::Credentials { operation, message }
            } else {
                CloudError::Transient {
                    operation,
                    message: chain,
                }
            }
        }
    }
}

fn classify_code(
    operation: Operation,
    code: &str,
    message: String,
    status: Option<u16>,
) -> CloudError {
    match code {
        "TooManyRequestsException"
        | "ThrottlingException"
        | "Throttling"
        | "TooManyUpdates"
        | "ConcurrentModificationException"
        | "RequestLimitExceeded" => CloudError::Throttled {
            operation,
            code: code.to_owned(),
        },
        "ResourceNotFoundException"
        | "ParameterNotFound"
        | "UserPoolNotFound"
        | "NotFoundException" => CloudError::NotFound {
            operation,
            what: message,
        },
        "ParameterAlreadyExists" | "ResourceExistsException" => CloudError::AlreadyExists {
            operation,
            what: message,
        },
        "AccessDeniedException" | "AccessDenied" | "UnauthorizedOperation" => {
            CloudError::AccessDenied {
                operation,
                action: operation.iam_action(),
                message,
            }
        }
        "UnrecognizedClientException"
        | "InvalidClientTokenId"
        | "ExpiredTokenException"
        | "ExpiredToken"
        | "InvalidSignatureException"
        | "SignatureDoesNotMatch"
        | "MissingAuthenticationToken" => CloudError::Credentials { operation, message },
        "InvalidKeyId"
        | "KMSInvalidStateException"
        | "KMSNotFoundException"
        | "KMSDisabledException"
        | "KMSAccessDeniedException"
        | "EncryptionFailure"
        | "DecryptionFailure" => CloudError::Kms {
            operation,
            code: code.to_owned(),
            message,
        },
        _ if status.is_some_and(|status| status >= 500)
            || code.starts_with("Internal")
            || code == "ServiceUnavailable" =>
        {
            CloudError::Transient {
                operation,
                message: format!("{code}: {message}"),
            }
        }
        _ => CloudError::Rejected {
            operation,
            code: code.to_owned(),
            message,
        },
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The real cloud: every adapter built from one AWS configuration, loaded once per run.
#[derive(Debug, Clone)]
pub struct AwsCloud {
    pub config: aws_config::SdkConfig,
    pool: AwsUserPool,
    parameters: AwsParameters,
    store: super::stores::AwsStore,
    gateway: super::gateway_aws::AwsHttpApis,
    rest_gateway: super::gateway_rest_aws::AwsRestApis,
}

impl AwsCloud {
    pub fn new(
        config: aws_config::SdkConfig,
        pool_id: &str,
        secrets: &crate::config::model::SecretsSettings,
    ) -> Self {
        Self {
            pool: AwsUserPool::new(&config, pool_id),
            parameters: AwsParameters::new(&config),
            store: super::stores::AwsStore::new(&config, secrets.store, secrets.kms_key_id.clone()),
            gateway: super::gateway_aws::AwsHttpApis::new(&config),
            rest_gateway: super::gateway_rest_aws::AwsRestApis::new(&config),
            config,
        }
    }
}

impl super::Cloud for AwsCloud {
    type Pool = AwsUserPool;
    type Parameters = AwsParameters;
    type Store = super::stores::AwsStore;
    type Gateway = super::gateway_aws::AwsHttpApis;
    type RestGateway = super::gateway_rest_aws::AwsRestApis;

    fn gateway(&self) -> &Self::Gateway {
        &self.gateway
    }

    fn rest_gateway(&self) -> &Self::RestGateway {
        &self.rest_gateway
    }

    fn pool(&self) -> &AwsUserPool {
        &self.pool
    }

    fn parameters(&self) -> &AwsParameters {
        &self.parameters
    }

    fn store(&self) -> &super::stores::AwsStore {
        &self.store
    }
}

/// One Cognito user pool through the SDK.
#[derive(Debug, Clone)]
pub struct AwsUserPool {
    client: cognito::Client,
    pool_id: String,
    region: Option<String>,
}

impl AwsUserPool {
    pub fn new(config: &aws_config::SdkConfig, pool_id: impl Into<String>) -> Self {
        Self {
            client: cognito::Client::new(config),
            pool_id: pool_id.into(),
            region: config.region().map(ToString::to_string),
        }
    }
}

fn to_scopes(scopes: &BTreeMap<String, String>) -> Vec<ResourceServerScopeType> {
    scopes
        .iter()
        .filter_map(|(name, description)| {
            ResourceServerScopeType::builder()
                .scope_name(name)
                .scope_description(description)
                .build()
                .ok()
        })
        .collect()
}

/// Picks the coarsest unit that states the validity exactly.
fn validity_in_units(validity: Seconds) -> (i32, TimeUnitsType) {
    let seconds = validity.0;
    let (amount, unit) = if seconds.is_multiple_of(Seconds::DAY.0) {
        (seconds / Seconds::DAY.0, TimeUnitsType::Days)
    } else if seconds.is_multiple_of(Seconds::HOUR.0) {
        (seconds / Seconds::HOUR.0, TimeUnitsType::Hours)
    } else if seconds.is_multiple_of(Seconds::MINUTE.0) {
        (seconds / Seconds::MINUTE.0, TimeUnitsType::Minutes)
    } else {
        (seconds, TimeUnitsType::Seconds)
    };
    (i32::try_from(amount).unwrap_or(i32::MAX), unit)
}

fn unit_seconds(unit: Option<&TimeUnitsType>, default: Seconds) -> u64 {
    match unit {
        Some(TimeUnitsType::Seconds) => 1,
        Some(TimeUnitsType::Minutes) => Seconds::MINUTE.0,
        Some(TimeUnitsType::Hours) => Seconds::HOUR.0,
        Some(TimeUnitsType::Days) => Seconds::DAY.0,
        _ => default.0,
    }
}

fn non_empty(values: &[String]) -> Option<Vec<String>> {
    (!values.is_empty()).then(|| values.to_vec())
}

fn client_state(client: &UserPoolClientType) -> ClientState {
    let units = client.token_validity_units();
    let access_token_validity = client.access_token_validity().map(|amount| {
        let unit = unit_seconds(
            units.and_then(TokenValidityUnitsType::access_token),
            Seconds::HOUR,
        );
        Seconds(u64::try_from(amount).unwrap_or(0) * unit)
    });
    ClientState {
        id: client.client_id().unwrap_or_default().to_owned(),
        name: client.client_name().unwrap_or_default().to_owned(),
        has_secret: client
            .client_secret()
            .is_some_and(|secret| !secret.is_empty()),
        allowed_oauth_flows: client
            .allowed_o_auth_flows()
            .iter()
            .map(|flow| flow.as_str().to_owned())
            .collect(),
        allowed_oauth_flows_user_pool_client: client
            .allowed_o_auth_flows_user_pool_client()
            .unwrap_or(false),
        scopes: client.allowed_o_auth_scopes().iter().cloned().collect(),
        access_token_validity,
        extras: ClientExtras {
            refresh_token_validity: Some(client.refresh_token_validity())
                .filter(|validity| *validity != 0),
            refresh_token_unit: units
                .and_then(TokenValidityUnitsType::refresh_token)
                .map(|unit| unit.as_str().to_owned()),
            id_token_validity: client.id_token_validity(),
            id_token_unit: units
                .and_then(TokenValidityUnitsType::id_token)
                .map(|unit| unit.as_str().to_owned()),
            read_attributes: non_empty(client.read_attributes()),
            write_attributes: non_empty(client.write_attributes()),
            explicit_auth_flows: (!client.explicit_auth_flows().is_empty()).then(|| {
                client
                    .explicit_auth_flows()
                    .iter()
                    .map(|flow| flow.as_str().to_owned())
                    .collect()
            }),
            supported_identity_providers: non_empty(client.supported_identity_providers()),
            callback_urls: non_empty(client.callback_urls()),
            logout_urls: non_empty(client.logout_urls()),
            default_redirect_uri: client.default_redirect_uri().map(str::to_owned),
            prevent_user_existence_errors: client
                .prevent_user_existence_errors()
                .map(|value| value.as_str().to_owned()),
            enable_token_revocation: client.enable_token_revocation(),
            enable_propagate_additional_user_context_data: client
                .enable_propagate_additional_user_context_data(),
            auth_session_validity: client.auth_session_validity(),
            analytics: client
                .analytics_configuration()
                .map(|analytics| AnalyticsSettings {
                    application_id: analytics.application_id().map(str::to_owned),
                    application_arn: analytics.application_arn().map(str::to_owned),
                    role_arn: analytics.role_arn().map(str::to_owned),
                    external_id: analytics.external_id().map(str::to_owned),
                    user_data_shared: analytics.user_data_shared(),
                }),
            refresh_token_rotation: client.refresh_token_rotation().map(|rotation| {
                RefreshTokenRotation {
                    feature: rotation.feature().as_str().to_owned(),
                    retry_grace_period_seconds: rotation.retry_grace_period_seconds(),
                }
            }),
        },
    }
}

impl UserPool for AwsUserPool {
    fn pool_id(&self) -> &str {
        &self.pool_id
    }

    fn region(&self) -> Option<&str> {
        self.region.as_deref()
    }

    async fn pool_arn(&self) -> CloudResult<String> {
        const OPERATION: Operation = Operation::DescribeUserPool;
        let reply = self
            .client
            .describe_user_pool()
            .user_pool_id(&self.pool_id)
            .send()
            .await
            .map_err(|error| classify(OPERATION, error))?;
        reply
            .user_pool()
            .and_then(|pool| pool.arn())
            .map(str::to_owned)
            .ok_or_else(|| CloudError::NotFound {
                operation: OPERATION,
                what: format!("user pool {} has no ARN in the reply", self.pool_id),
            })
    }

    async fn list_resource_servers_page(
        &self,
        next_token: Option<String>,
    ) -> CloudResult<Page<ResourceServerState>> {
        const OPERATION: Operation = Operation::ListResourceServers;
        let page = self
            .client
            .list_resource_servers()
            .user_pool_id(&self.pool_id)
            .max_results(50)
            .set_next_token(next_token)
            .send()
            .await
            .map_err(|error| classify(OPERATION, error))?;
        let items = page
            .resource_servers()
            .iter()
            .map(|server| ResourceServerState {
                identifier: server.identifier().unwrap_or_default().to_owned(),
                name: server.name().unwrap_or_default().to_owned(),
                scopes: server
                    .scopes()
                    .iter()
                    .map(|scope| {
                        (
                            scope.scope_name().to_owned(),
                            scope.scope_description().to_owned(),
                        )
                    })
                    .collect(),
            })
            .collect();
        Ok(Page {
            items,
            next_token: page
                .next_token()
                .filter(|token| !token.is_empty())
                .map(str::to_owned),
        })
    }

    async fn list_clients_page(
        &self,
        next_token: Option<String>,
    ) -> CloudResult<Page<ClientSummary>> {
        const OPERATION: Operation = Operation::ListUserPoolClients;
        let page = self
            .client
            .list_user_pool_clients()
            .user_pool_id(&self.pool_id)
            .max_results(60)
            .set_next_token(next_token)
            .send()
            .await
            .map_err(|error| classify(OPERATION, error))?;
        let items = page
            .user_pool_clients()
            .iter()
            .map(|client| ClientSummary {
                id: client.client_id().unwrap_or_default().to_owned(),
                name: client.client_name().unwrap_or_default().to_owned(),
            })
            .collect();
        Ok(Page {
            items,
            next_token: page
                .next_token()
                .filter(|token| !token.is_empty())
                .map(str::to_owned),
        })
    }

    async fn describe_client(&self, id: &str) -> CloudResult<ClientState> {
        const OPERATION: Operation = Operation::DescribeUserPoolClient;
        let output = self
            .client
            .describe_user_pool_client()
            .user_pool_id(&self.pool_id)
            .client_id(id)
            .send()
            .await
            .map_err(|error| classify(OPERATION, error))?;
        let client = output
            .user_pool_client()
            .ok_or_else(|| CloudError::NotFound {
                operation: OPERATION,
                what: format!("client {id}"),
            })?;
        Ok(client_state(client))
    }

    async fn client_secret(&self, id: &str) -> CloudResult<Option<Secret>> {
        const OPERATION: Operation = Operation::DescribeUserPoolClient;
        let output = self
            .client
            .describe_user_pool_client()
            .user_pool_id(&self.pool_id)
            .client_id(id)
            .send()
            .await
            .map_err(|error| classify(OPERATION, error))?;
        Ok(output
            .user_pool_client()
            .and_then(UserPoolClientType::client_secret)
            .filter(|secret| !secret.is_empty())
            .map(Secret::new))
    }

    async fn create_resource_server(&self, server: &ResourceServerState) -> CloudResult<()> {
        const OPERATION: Operation = Operation::CreateResourceServer;
        self.client
            .create_resource_server()
            .user_pool_id(&self.pool_id)
            .identifier(&server.identifier)
            .name(&server.name)
            .set_scopes(Some(to_scopes(&server.scopes)))
            .send()
            .await
            .map_err(|error| classify(OPERATION, error))?;
        Ok(())
    }

    async fn update_resource_server(&self, server: &ResourceServerState) -> CloudResult<()> {
        const OPERATION: Operation = Operation::UpdateResourceServer;
        self.client
            .update_resource_server()
            .user_pool_id(&self.pool_id)
            .identifier(&server.identifier)
            .name(&server.name)
            .set_scopes(Some(to_scopes(&server.scopes)))
            .send()
            .await
            .map_err(|error| classify(OPERATION, error))?;
        Ok(())
    }

    async fn delete_resource_server(&self, identifier: &str) -> CloudResult<()> {
        const OPERATION: Operation = Operation::DeleteResourceServer;
        self.client
            .delete_resource_server()
            .user_pool_id(&self.pool_id)
            .identifier(identifier)
            .send()
            .await
            .map_err(|error| classify(OPERATION, error))?;
        Ok(())
    }

    async fn create_client(&self, spec: &ClientSpec) -> CloudResult<CreatedClient> {
        const OPERATION: Operation = Operation::CreateUserPoolClient;
        let (validity, unit) = validity_in_units(spec.access_token_validity);
        let output = self
            .client
            .create_user_pool_client()
            .user_pool_id(&self.pool_id)
            .client_name(&spec.name)
            .generate_secret(true)
            .allowed_o_auth_flows(OAuthFlowType::ClientCredentials)
            .allowed_o_auth_flows_user_pool_client(true)
            .set_allowed_o_auth_scopes(Some(spec.scopes.iter().cloned().collect()))
            .access_token_validity(validity)
            .token_validity_units(TokenValidityUnitsType::builder().access_token(unit).build())
            .send()
            .await
            .map_err(|error| classify(OPERATION, error))?;
        let client = output.user_pool_client();
        let id = client
            .and_then(UserPoolClientType::client_id)
            .unwrap_or_default();
        let secret = client
            .and_then(UserPoolClientType::client_secret)
            .unwrap_or_default();
        if id.is_empty() || secret.is_empty() {
            return Err(CloudError::Transient {
                operation: OPERATION,
                message: "the reply carried no client id or secret".to_owned(),
            });
        }
        Ok(CreatedClient {
            id: id.to_owned(),
            secret: Secret::new(secret),
        })
    }

    async fn update_client(&self, client: &ClientState) -> CloudResult<Option<Secret>> {
        const OPERATION: Operation = Operation::UpdateUserPoolClient;
        let extras = &client.extras;
        let mut units = TokenValidityUnitsType::builder()
            .set_id_token(extras.id_token_unit.as_deref().map(TimeUnitsType::from))
            .set_refresh_token(
                extras
                    .refresh_token_unit
                    .as_deref()
                    .map(TimeUnitsType::from),
            );
        let mut access_token_validity = None;
        if let Some(validity) = client.access_token_validity {
            let (amount, unit) = validity_in_units(validity);
            access_token_validity = Some(amount);
            units = units.access_token(unit);
        }
        let flows: Vec<OAuthFlowType> = client
            .allowed_oauth_flows
            .iter()
            .map(|flow| OAuthFlowType::from(flow.as_str()))
            .collect();
        let analytics = extras.analytics.as_ref().map(|analytics| {
            AnalyticsConfigurationType::builder()
                .set_application_id(analytics.application_id.clone())
                .set_application_arn(analytics.application_arn.clone())
                .set_role_arn(analytics.role_arn.clone())
                .set_external_id(analytics.external_id.clone())
                .user_data_shared(analytics.user_data_shared)
                .build()
        });
        let rotation = extras.refresh_token_rotation.as_ref().and_then(|rotation| {
            RefreshTokenRotationType::builder()
                .feature(FeatureType::from(rotation.feature.as_str()))
                .set_retry_grace_period_seconds(rotation.retry_grace_period_seconds)
                .build()
                .ok()
        });
        let output = self
            .client
            .update_user_pool_client()
            .user_pool_id(&self.pool_id)
            .client_id(&client.id)
            .client_name(&client.name)
            .set_allowed_o_auth_flows((!flows.is_empty()).then_some(flows))
            .allowed_o_auth_flows_user_pool_client(client.allowed_oauth_flows_user_pool_client)
            .set_allowed_o_auth_scopes(
                (!client.scopes.is_empty()).then(|| client.scopes.iter().cloned().collect()),
            )
            .set_access_token_validity(access_token_validity)
            .token_validity_units(units.build())
            .set_refresh_token_validity(extras.refresh_token_validity)
            .set_id_token_validity(extras.id_token_validity)
            .set_read_attributes(extras.read_attributes.clone())
            .set_write_attributes(extras.write_attributes.clone())
            .set_explicit_auth_flows(extras.explicit_auth_flows.as_ref().map(|flows| {
                flows
                    .iter()
                    .map(|flow| ExplicitAuthFlowsType::from(flow.as_str()))
                    .collect()
            }))
            .set_supported_identity_providers(extras.supported_identity_providers.clone())
            .set_callback_urls(extras.callback_urls.clone())
            .set_logout_urls(extras.logout_urls.clone())
            .set_default_redirect_uri(extras.default_redirect_uri.clone())
            .set_prevent_user_existence_errors(
                extras
                    .prevent_user_existence_errors
                    .as_deref()
                    .map(PreventUserExistenceErrorTypes::from),
            )
            .set_enable_token_revocation(extras.enable_token_revocation)
            .set_enable_propagate_additional_user_context_data(
                extras.enable_propagate_additional_user_context_data,
            )
            .set_auth_session_validity(extras.auth_session_validity)
            .set_analytics_configuration(analytics)
            .set_refresh_token_rotation(rotation)
            .send()
            .await
            .map_err(|error| classify(OPERATION, error))?;
        Ok(output
            .user_pool_client()
            .and_then(|client| client.client_secret())
            .filter(|secret| !secret.is_empty())
            .map(Secret::new))
    }

    async fn delete_client(&self, id: &str) -> CloudResult<()> {
        const OPERATION: Operation = Operation::DeleteUserPoolClient;
        self.client
            .delete_user_pool_client()
            .user_pool_id(&self.pool_id)
            .client_id(id)
            .send()
            .await
            .map_err(|error| classify(OPERATION, error))?;
        Ok(())
    }

    async fn describe_client_with_secret(
        &self,
        id: &str,
    ) -> CloudResult<(ClientState, Option<Secret>)> {
        const OPERATION: Operation = Operation::DescribeUserPoolClient;
        let output = self
            .client
            .describe_user_pool_client()
            .user_pool_id(&self.pool_id)
            .client_id(id)
            .send()
            .await
            .map_err(|error| classify(OPERATION, error))?;
        let client = output
            .user_pool_client()
            .ok_or_else(|| CloudError::NotFound {
                operation: OPERATION,
                what: format!("client {id}"),
            })?;
        let secret = client
            .client_secret()
            .filter(|secret| !secret.is_empty())
            .map(Secret::new);
        Ok((client_state(client), secret))
    }

    async fn list_client_secrets(&self, client_id: &str) -> CloudResult<Vec<ClientSecretInfo>> {
        const OPERATION: Operation = Operation::ListUserPoolClientSecrets;
        let mut secrets = Vec::new();
        let mut next_token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_user_pool_client_secrets()
                .user_pool_id(&self.pool_id)
                .client_id(client_id)
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|error| classify(OPERATION, error))?;
            secrets.extend(page.client_secrets().iter().filter_map(|secret| {
                Some(ClientSecretInfo {
                    id: secret.client_secret_id()?.to_owned(),
                    created: secret
                        .client_secret_create_date()
                        .map_or(0, |date| date.as_nanos()),
                })
            }));
            match page.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
                _ => break,
            }
        }
        secrets.sort_by(|left, right| (left.created, &left.id).cmp(&(right.created, &right.id)));
        Ok(secrets)
    }

    async fn add_client_secret(&self, client_id: &str) -> CloudResult<AddedSecret> {
        const OPERATION: Operation = Operation::AddUserPoolClientSecret;
        let output = self
            .client
            .add_user_pool_client_secret()
            .user_pool_id(&self.pool_id)
            .client_id(client_id)
            .send()
            .await
            .map_err(|error| classify(OPERATION, error))?;
        let descriptor = output.client_secret_descriptor();
        match (
            descriptor.and_then(|secret| secret.client_secret_id()),
            descriptor.and_then(|secret| secret.client_secret_value()),
        ) {
            (Some(id), Some(value)) if !value.is_empty() => Ok(AddedSecret {
                id: id.to_owned(),
                value: Secret::new(value),
            }),
            _ => Err(CloudError::Transient {
                operation: OPERATION,
                message: "the reply carried no secret id or value".to_owned(),
            }),
        }
    }

    async fn delete_client_secret(&self, client_id: &str, secret_id: &str) -> CloudResult<()> {
        const OPERATION: Operation = Operation::DeleteUserPoolClientSecret;
        self.client
            .delete_user_pool_client_secret()
            .user_pool_id(&self.pool_id)
            .client_id(client_id)
            .client_secret_id(secret_id)
            .send()
            .await
            .map_err(|error| classify(OPERATION, error))?;
        Ok(())
    }
}

/// SSM Parameter Store through the SDK.
#[derive(Debug, Clone)]
pub struct AwsParameters {
    client: ssm::Client,
}

impl AwsParameters {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self {
            client: ssm::Client::new(config),
        }
    }
}

impl Parameters for AwsParameters {
    async fn get(&self, names: &[String]) -> CloudResult<BTreeMap<String, String>> {
        const OPERATION: Operation = Operation::GetParameters;
        if names.is_empty() {
            return Ok(BTreeMap::new());
        }
        let output = self
            .client
            .get_parameters()
            .set_names(Some(names.to_vec()))
            .with_decryption(true)
            .send()
            .await
            .map_err(|error| classify(OPERATION, error))?;
        Ok(output
            .parameters()
            .iter()
            .filter_map(|parameter| {
                Some((parameter.name()?.to_owned(), parameter.value()?.to_owned()))
            })
            .collect())
    }

    async fn put(&self, name: &str, value: &str, overwrite: bool) -> CloudResult<()> {
        const OPERATION: Operation = Operation::PutParameter;
        self.client
            .put_parameter()
            .name(name)
            .value(value)
            .r#type(ssm::types::ParameterType::String)
            .overwrite(overwrite)
            .send()
            .await
            .map_err(|error| classify(OPERATION, error))?;
        Ok(())
    }

    async fn delete(&self, name: &str) -> CloudResult<()> {
        const OPERATION: Operation = Operation::DeleteParameter;
        match self.client.delete_parameter().name(name).send().await {
            Ok(_) => Ok(()),
            Err(error) => match classify(OPERATION, error) {
                CloudError::NotFound { .. } => Ok(()),
                other => Err(other),
            },
        }
    }
}

/// Scopes as a set, whatever order Cognito lists them in.
pub fn scope_set(scopes: &[String]) -> BTreeSet<String> {
    scopes.iter().cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validity_uses_the_coarsest_exact_unit() {
        assert_eq!(validity_in_units(Seconds::DAY), (1, TimeUnitsType::Days));
        assert_eq!(validity_in_units(Seconds(7_200)), (2, TimeUnitsType::Hours));
        assert_eq!(
            validity_in_units(Seconds(1_800)),
            (30, TimeUnitsType::Minutes)
        );
        assert_eq!(
            validity_in_units(Seconds(330)),
            (330, TimeUnitsType::Seconds)
        );
    }

    #[test]
    fn error_codes_map_to_kinds() {
        let throttled = classify_code(
            Operation::CreateResourceServer,
            "TooManyRequestsException",
            "slow".into(),
            Some(400),
        );
        assert!(throttled.is_retryable());
        let denied = classify_code(
            Operation::CreateResourceServer,
            "AccessDeniedException",
            "no".into(),
            Some(400),
        );
        assert!(
            denied
                .hint()
                .unwrap_or_default()
                .contains("cognito-idp:CreateResourceServer")
        );
        let server = classify_code(
            Operation::ListUserPoolClients,
            "InternalErrorException",
            "boom".into(),
            Some(500),
        );
        assert!(matches!(server, CloudError::Transient { .. }));
        let invalid = classify_code(
            Operation::CreateUserPoolClient,
            "InvalidParameterException",
            "bad".into(),
            Some(400),
        );
        assert!(!invalid.is_retryable());
    }
}
