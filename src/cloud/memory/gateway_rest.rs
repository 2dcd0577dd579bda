//! REST APIs in memory: Cognito user pool authorizers, resources with their methods, stages and
//! deployments, held in the account so that their calls are numbered and faulted with the
//! pool's, answered as API Gateway answers (NotFound for a missing API, authorizer, resource,
//! method or stage; a patch adds and removes single scopes).

use std::collections::BTreeMap;

use super::{Account, MemoryCloud};
use crate::cloud::gateway_rest::{
    COGNITO_USER_POOLS, MethodAuthorization, ResourceState, RestApis, RestAuthorizerState,
};
use crate::cloud::operation::Operation;
use crate::cloud::{CloudError, CloudResult, Page};

/// A handle on the account's REST APIs.
#[derive(Debug, Clone)]
pub struct MemoryRestApis {
    cloud: MemoryCloud,
}

/// One REST API.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RestApi {
    pub authorizers: BTreeMap<String, RestAuthorizerState>,
    pub resources: Vec<ResourceState>,
    /// Stage name to the id of its deployment.
    pub stages: BTreeMap<String, Option<String>>,
    /// Every deployment made, oldest first: (id, stage, description).
    pub deployments: Vec<(String, String, String)>,
    /// What each stage serves: the resources as its last deployment found them.
    pub deployed: BTreeMap<String, Vec<ResourceState>>,
}

/// GetResources pages hold this many resources here, so that tests page.
const PAGE: usize = 2;

impl MemoryRestApis {
    pub(super) fn new(cloud: MemoryCloud) -> Self {
        Self { cloud }
    }

    /// Puts an API in the account without a call.
    pub fn put_api(&self, api_id: &str, api: RestApi) {
        self.cloud
            .lock()
            .account
            .rest_apis
            .insert(api_id.to_owned(), api);
    }

    pub fn api(&self, api_id: &str) -> Option<RestApi> {
        self.cloud.lock().account.rest_apis.get(api_id).cloned()
    }

    fn call<T>(
        &self,
        operation: Operation,
        api_id: &str,
        effect: impl FnOnce(&mut RestApi) -> CloudResult<T>,
    ) -> CloudResult<T> {
        self.cloud.call(operation, |account: &mut Account| {
            let api = account.rest_apis.get_mut(api_id).ok_or_else(|| {
                not_found(
                    operation,
                    format!("Invalid API identifier specified {api_id}"),
                )
            })?;
            effect(api)
        })
    }
}

fn not_found(operation: Operation, what: String) -> CloudError {
    CloudError::NotFound { operation, what }
}

impl RestApis for MemoryRestApis {
    async fn get_authorizer(
        &self,
        api_id: &str,
        authorizer_id: &str,
    ) -> CloudResult<RestAuthorizerState> {
        const OPERATION: Operation = Operation::GetRestAuthorizer;
        self.call(OPERATION, api_id, |api| {
            api.authorizers.get(authorizer_id).cloned().ok_or_else(|| {
                not_found(
                    OPERATION,
                    format!("Invalid Authorizer identifier specified {authorizer_id}"),
                )
            })
        })
    }

    async fn add_provider(
        &self,
        api_id: &str,
        authorizer_id: &str,
        provider_arn: &str,
    ) -> CloudResult<()> {
        const OPERATION: Operation = Operation::UpdateRestAuthorizer;
        self.call(OPERATION, api_id, |api| {
            let authorizer = api.authorizers.get_mut(authorizer_id).ok_or_else(|| {
                not_found(
                    OPERATION,
                    format!("Invalid Authorizer identifier specified {authorizer_id}"),
                )
            })?;
            if !authorizer
                .provider_arns
                .iter()
                .any(|arn| arn == provider_arn)
            {
                authorizer.provider_arns.push(provider_arn.to_owned());
            }
            Ok(())
        })
    }

    async fn get_resources_page(
        &self,
        api_id: &str,
        position: Option<String>,
    ) -> CloudResult<Page<ResourceState>> {
        self.call(Operation::GetResources, api_id, |api| {
            let start: usize = position.and_then(|token| token.parse().ok()).unwrap_or(0);
            let end = (start + PAGE).min(api.resources.len());
            Ok(Page {
                items: api.resources.get(start..end).unwrap_or_default().to_vec(),
                next_token: (end < api.resources.len()).then(|| end.to_string()),
            })
        })
    }

    async fn update_method(
        &self,
        api_id: &str,
        resource_id: &str,
        http_method: &str,
        authorization: &MethodAuthorization,
    ) -> CloudResult<()> {
        const OPERATION: Operation = Operation::UpdateMethod;
        self.call(OPERATION, api_id, |api| {
            if !api.authorizers.contains_key(&authorization.authorizer_id) {
                return Err(CloudError::Rejected {
                    operation: OPERATION,
                    code: "BadRequestException".to_owned(),
                    message: format!(
                        "Invalid authorizer ID specified. Setting the authorization type to {COGNITO_USER_POOLS} requires a valid authorizer."
                    ),
                });
            }
            let resource = api
                .resources
                .iter_mut()
                .find(|resource| resource.id == resource_id)
                .ok_or_else(|| {
                    not_found(
                        OPERATION,
                        format!("Invalid Resource identifier specified {resource_id}"),
                    )
                })?;
            let method = resource
                .methods
                .iter_mut()
                .find(|method| method.http_method == http_method)
                .ok_or_else(|| {
                    not_found(OPERATION, "Invalid Method identifier specified".to_owned())
                })?;
            method.authorization_type = COGNITO_USER_POOLS.to_owned();
            method.authorizer_id = Some(authorization.authorizer_id.clone());
            method.scopes.extend(authorization.add.iter().cloned());
            for scope in &authorization.remove {
                method.scopes.remove(scope);
            }
            Ok(())
        })
    }

    async fn get_stage(&self, api_id: &str, stage: &str) -> CloudResult<()> {
        const OPERATION: Operation = Operation::GetStage;
        self.call(OPERATION, api_id, |api| {
            api.stages.contains_key(stage).then_some(()).ok_or_else(|| {
                not_found(OPERATION, "Invalid stage identifier specified".to_owned())
            })
        })
    }

    async fn create_deployment(
        &self,
        api_id: &str,
        stage: &str,
        description: &str,
    ) -> CloudResult<String> {
        self.call(Operation::CreateDeployment, api_id, |api| {
            let id = format!("dep{:05}", api.deployments.len() + 1);
            api.deployments
                .push((id.clone(), stage.to_owned(), description.to_owned()));
            api.stages.insert(stage.to_owned(), Some(id.clone()));
            api.deployed.insert(stage.to_owned(), api.resources.clone());
            Ok(id)
        })
    }
}
