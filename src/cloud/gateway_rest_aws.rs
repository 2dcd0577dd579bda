//! The REST API adapter: API Gateway (v1) through the SDK, one attempt a call (the pacer retries).
//! Changes go as JSON patch operations, each naming one field or one list entry, so nothing the
//! patch does not name is sent back or reset.

use apigateway::types::{Op, PatchOperation};
use aws_sdk_apigateway as apigateway;

use super::aws::classify;
use super::gateway_rest::{
    COGNITO_USER_POOLS, MethodAuthorization, MethodState, ResourceState, RestApis,
    RestAuthorizerState,
};
use super::operation::Operation;
use super::{CloudResult, Page};

/// GetResources' largest page.
const PAGE_LIMIT: i32 = 500;

#[derive(Debug, Clone)]
pub struct AwsRestApis {
    client: apigateway::Client,
}

impl AwsRestApis {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self {
            client: apigateway::Client::new(config),
        }
    }
}

fn patch(op: Op, path: &str, value: Option<&str>) -> PatchOperation {
    PatchOperation::builder()
        .op(op)
        .path(path)
        .set_value(value.map(str::to_owned))
        .build()
}

/// The patch operations that make a method a Cognito user pool method of `authorization`'s
/// authorizer, with its scopes added and removed one by one.
pub fn method_patch(authorization: &MethodAuthorization) -> Vec<PatchOperation> {
    let mut operations = vec![
        patch(Op::Replace, "/authorizationType", Some(COGNITO_USER_POOLS)),
        patch(
            Op::Replace,
            "/authorizerId",
            Some(&authorization.authorizer_id),
        ),
    ];
    for scope in &authorization.add {
        operations.push(patch(Op::Add, "/authorizationScopes", Some(scope)));
    }
    for scope in &authorization.remove {
        operations.push(patch(Op::Remove, "/authorizationScopes", Some(scope)));
    }
    operations
}

impl RestApis for AwsRestApis {
    async fn get_authorizer(
        &self,
        api_id: &str,
        authorizer_id: &str,
    ) -> CloudResult<RestAuthorizerState> {
        const OPERATION: Operation = Operation::GetRestAuthorizer;
        let reply = self
            .client
            .get_authorizer()
            .rest_api_id(api_id)
            .authorizer_id(authorizer_id)
            .send()
            .await
            .map_err(|error| classify(OPERATION, error))?;
        Ok(RestAuthorizerState {
            id: reply.id().unwrap_or(authorizer_id).to_owned(),
            name: reply.name().unwrap_or_default().to_owned(),
            authorizer_type: reply
                .r#type()
                .map(|kind| kind.as_str().to_owned())
                .unwrap_or_default(),
            provider_arns: reply.provider_arns().to_vec(),
        })
    }

    async fn add_provider(
        &self,
        api_id: &str,
        authorizer_id: &str,
        provider_arn: &str,
    ) -> CloudResult<()> {
        const OPERATION: Operation = Operation::UpdateRestAuthorizer;
        self.client
            .update_authorizer()
            .rest_api_id(api_id)
            .authorizer_id(authorizer_id)
            .patch_operations(patch(Op::Add, "/providerARNs", Some(provider_arn)))
            .send()
            .await
            .map_err(|error| classify(OPERATION, error))?;
        Ok(())
    }

    async fn get_resources_page(
        &self,
        api_id: &str,
        position: Option<String>,
    ) -> CloudResult<Page<ResourceState>> {
        const OPERATION: Operation = Operation::GetResources;
        let reply = self
            .client
            .get_resources()
            .rest_api_id(api_id)
            .limit(PAGE_LIMIT)
            .embed("methods")
            .set_position(position)
            .send()
            .await
            .map_err(|error| classify(OPERATION, error))?;
        let items = reply
            .items()
            .iter()
            .map(|resource| {
                let mut methods: Vec<MethodState> = resource
                    .resource_methods()
                    .into_iter()
                    .flatten()
                    .map(|(name, method)| MethodState {
                        http_method: method.http_method().unwrap_or(name).to_owned(),
                        authorization_type: method
                            .authorization_type()
                            .unwrap_or("NONE")
                            .to_owned(),
                        authorizer_id: method.authorizer_id().map(str::to_owned),
                        scopes: method.authorization_scopes().iter().cloned().collect(),
                    })
                    .collect();
                methods.sort_by(|left, right| left.http_method.cmp(&right.http_method));
                ResourceState {
                    id: resource.id().unwrap_or_default().to_owned(),
                    path: resource.path().unwrap_or_default().to_owned(),
                    methods,
                }
            })
            .collect();
        Ok(Page {
            items,
            next_token: reply.position().map(str::to_owned),
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
        self.client
            .update_method()
            .rest_api_id(api_id)
            .resource_id(resource_id)
            .http_method(http_method)
            .set_patch_operations(Some(method_patch(authorization)))
            .send()
            .await
            .map_err(|error| classify(OPERATION, error))?;
        Ok(())
    }

    async fn get_stage(&self, api_id: &str, stage: &str) -> CloudResult<()> {
        const OPERATION: Operation = Operation::GetStage;
        self.client
            .get_stage()
            .rest_api_id(api_id)
            .stage_name(stage)
            .send()
            .await
            .map_err(|error| classify(OPERATION, error))?;
        Ok(())
    }

    async fn create_deployment(
        &self,
        api_id: &str,
        stage: &str,
        description: &str,
    ) -> CloudResult<String> {
        const OPERATION: Operation = Operation::CreateDeployment;
        let reply = self
            .client
            .create_deployment()
            .rest_api_id(api_id)
            .stage_name(stage)
            .description(description)
            .send()
            .await
            .map_err(|error| classify(OPERATION, error))?;
        Ok(reply.id().unwrap_or_default().to_owned())
    }
}
