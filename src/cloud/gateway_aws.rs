//! The HTTP API adapter: API Gateway v2 through the SDK, one attempt a call (the pacer retries).

use apigateway::types::{AuthorizationType, JwtConfiguration};
use aws_sdk_apigatewayv2 as apigateway;

use super::aws::classify;
use super::gateway::{AuthorizerState, HttpApis, RouteAuthorization, RouteState};
use super::operation::Operation;
use super::{CloudResult, Page};

#[derive(Debug, Clone)]
pub struct AwsHttpApis {
    client: apigateway::Client,
}

impl AwsHttpApis {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self {
            client: apigateway::Client::new(config),
        }
    }
}

impl HttpApis for AwsHttpApis {
    async fn get_authorizer(
        &self,
        api_id: &str,
        authorizer_id: &str,
    ) -> CloudResult<AuthorizerState> {
        const OPERATION: Operation = Operation::GetAuthorizer;
        let reply = self
            .client
            .get_authorizer()
            .api_id(api_id)
            .authorizer_id(authorizer_id)
            .send()
            .await
            .map_err(|error| classify(OPERATION, error))?;
        let jwt = reply.jwt_configuration();
        Ok(AuthorizerState {
            id: reply.authorizer_id().unwrap_or(authorizer_id).to_owned(),
            name: reply.name().unwrap_or_default().to_owned(),
            authorizer_type: reply
                .authorizer_type()
                .map(|kind| kind.as_str().to_owned())
                .unwrap_or_default(),
            issuer: jwt.and_then(|jwt| jwt.issuer()).map(str::to_owned),
            audience: jwt.map(|jwt| jwt.audience().to_vec()).unwrap_or_default(),
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
        self.client
            .update_authorizer()
            .api_id(api_id)
            .authorizer_id(authorizer_id)
            .jwt_configuration(
                JwtConfiguration::builder()
                    .issuer(issuer)
                    .set_audience(Some(audience.to_vec()))
                    .build(),
            )
            .send()
            .await
            .map_err(|error| classify(OPERATION, error))?;
        Ok(())
    }

    async fn get_routes_page(
        &self,
        api_id: &str,
        next_token: Option<String>,
    ) -> CloudResult<Page<RouteState>> {
        const OPERATION: Operation = Operation::GetRoutes;
        let reply = self
            .client
            .get_routes()
            .api_id(api_id)
            .set_next_token(next_token)
            .send()
            .await
            .map_err(|error| classify(OPERATION, error))?;
        let items = reply
            .items()
            .iter()
            .map(|route| RouteState {
                id: route.route_id().unwrap_or_default().to_owned(),
                route_key: route.route_key().unwrap_or_default().to_owned(),
                authorization_type: route
                    .authorization_type()
                    .map_or("NONE", AuthorizationType::as_str)
                    .to_owned(),
                authorizer_id: route.authorizer_id().map(str::to_owned),
                scopes: route.authorization_scopes().iter().cloned().collect(),
            })
            .collect();
        Ok(Page {
            items,
            next_token: reply.next_token().map(str::to_owned),
        })
    }

    async fn update_route(
        &self,
        api_id: &str,
        route_id: &str,
        authorization: &RouteAuthorization,
    ) -> CloudResult<()> {
        const OPERATION: Operation = Operation::UpdateRoute;
        self.client
            .update_route()
            .api_id(api_id)
            .route_id(route_id)
            .authorization_type(AuthorizationType::Jwt)
            .authorizer_id(&authorization.authorizer_id)
            .set_authorization_scopes(Some(authorization.scopes.iter().cloned().collect()))
            .send()
            .await
            .map_err(|error| classify(OPERATION, error))?;
        Ok(())
    }
}
