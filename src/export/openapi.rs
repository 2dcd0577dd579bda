//! `cogwire export openapi SERVICE`: the OpenAPI 3 fragment that an API defined elsewhere (SAM,
//! serverless, CDK, an OpenAPI file) merges, so that its authorizer and its routes' scopes come
//! from services.toml instead of being copied by hand. A pure function of the checked model and
//! of what only the pool knows (the issuer, the managed clients' ids).
//!
//! OpenAPI reads one security requirement as "all of these scopes" and a list of requirements as
//! "any one of them"; API Gateway reads a route's scopes as "any one of them". So each scope of a
//! route gets a requirement of its own: both readings then agree.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::config::gateway::{self, ApiKind};
use crate::config::model::{Model, Service};
use crate::config::suggest;

/// The name of the security scheme in `components.securitySchemes`.
pub const SCHEME: &str = "cogwire";

/// What the pool knows and services.toml does not.
#[derive(Debug, Clone, Default)]
pub struct PoolFacts {
    /// `https://cognito-idp.<region>.<aws-domain>/<pool id>`.
    pub issuer: String,
    /// The token endpoint, when `[pool]` implies one: the client-credentials flow names it.
    pub token_url: Option<String>,
    /// Client ids of the managed clients granted any of the service's scopes.
    pub audience: Vec<String>,
    /// REST APIs: the user pool's ARN, which a Cognito user pool authorizer names.
    pub pool_arn: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenapiError {
    #[error("services.toml declares no service `{name}`")]
    UnknownService { name: String, guess: Option<String> },
    #[error("service `{service}` owns no scopes, so no route of it is guarded")]
    NoScopes { service: String },
    #[error("service `{service}` declares no routes")]
    NoRoutes { service: String },
    #[error("service `{service}` is behind a REST API, whose authorizer names the user pool's ARN")]
    NoPoolArn { service: String },
}

impl OpenapiError {
    pub fn hint(&self) -> String {
        match self {
            Self::UnknownService {
                guess: Some(guess), ..
            } => format!("did you mean `{guess}`?"),
            Self::UnknownService { .. } => "name a service declared in services.toml".to_owned(),
            Self::NoScopes { .. } => "export a service that declares `scopes = { ... }`".to_owned(),
            Self::NoRoutes { service } => format!(
                "declare the routes the API serves: [[services.{service}.routes]] with method, path, scope and route"
            ),
            Self::NoPoolArn { .. } => "pass --account-id with the pool's AWS account id".to_owned(),
        }
    }
}

/// The service `name` of the model, or a did-you-mean.
pub fn service<'m>(model: &'m Model, name: &str) -> Result<&'m Service, OpenapiError> {
    model
        .services
        .get(name)
        .ok_or_else(|| OpenapiError::UnknownService {
            name: name.to_owned(),
            guess: suggest::closest(name, model.services.keys().map(String::as_str))
                .map(str::to_owned),
        })
}

/// The OpenAPI 3 document: the security scheme with API Gateway's authorizer, and one path item
/// per declared gateway route with its `security`. Integrations are left to the API's own
/// definition.
pub fn openapi(model: &Model, name: &str, facts: &PoolFacts) -> Result<Value, OpenapiError> {
    let service = service(model, name)?;
    let Some(server) = &service.resource_server else {
        return Err(OpenapiError::NoScopes {
            service: service.name.clone(),
        });
    };
    if service.routes.is_empty() {
        return Err(OpenapiError::NoRoutes {
            service: service.name.clone(),
        });
    }
    let kind = service
        .api_gateway
        .as_ref()
        .map_or(ApiKind::Http, |api| api.kind);
    let scheme = match kind {
        ApiKind::Http => http_scheme(server, facts),
        ApiKind::Rest => rest_scheme(facts).ok_or_else(|| OpenapiError::NoPoolArn {
            service: service.name.clone(),
        })?,
    };
    let mut paths: BTreeMap<String, serde_json::Map<String, Value>> = BTreeMap::new();
    for ((method, template), scopes) in gateway::route_scopes(service) {
        let security: Vec<Value> = scopes
            .iter()
            .map(|scope| json!({ SCHEME: [scope] }))
            .collect();
        let parameters: Vec<Value> = path_parameters(&template)
            .into_iter()
            .map(|parameter| {
                json!({
                    "name": parameter,
                    "in": "path",
                    "required": true,
                    "schema": { "type": "string" },
                })
            })
            .collect();
        let mut operation = json!({
            "summary": format!("{method} {template}"),
            "security": security,
            "responses": {
                "401": { "description": "no token, or one the authorizer refuses" },
                "403": { "description": "a token without any of the route's scopes" },
                "default": { "description": "the integration's response" },
            },
        });
        if !parameters.is_empty() {
            operation["parameters"] = Value::Array(parameters);
        }
        paths
            .entry(template)
            .or_default()
            .insert(method.to_ascii_lowercase(), operation);
    }
    Ok(json!({
        "openapi": "3.0.1",
        "info": {
            "title": service.name,
            "version": "1.0",
            "description": format!("The authorizer and route scopes of service `{}`, as cogwire's services.toml declares them. Merge into the API's own definition, which keeps its integrations.", service.name),
        },
        "paths": paths,
        "components": { "securitySchemes": { SCHEME: scheme } },
    }))
}

/// An HTTP API's JWT authorizer, as an OAuth 2.0 scheme listing the service's scopes.
fn http_scheme(server: &crate::config::model::ResourceServer, facts: &PoolFacts) -> Value {
    let scopes: serde_json::Map<String, Value> = server
        .scopes
        .iter()
        .map(|(scope, description)| {
            let description = if description.is_empty() {
                scope.clone()
            } else {
                description.clone()
            };
            (
                format!("{}/{scope}", server.identifier),
                Value::String(description),
            )
        })
        .collect();
    let flows = match &facts.token_url {
        Some(token_url) => json!({
            "clientCredentials": { "tokenUrl": token_url, "scopes": scopes },
        }),
        None => json!({}),
    };
    json!({
        "type": "oauth2",
        "description": "Cognito access tokens from the client-credentials flow",
        "flows": flows,
        "x-amazon-apigateway-authorizer": {
            "type": "jwt",
            "identitySource": "$request.header.Authorization",
            "jwtConfiguration": {
                "issuer": facts.issuer,
                "audience": facts.audience,
            },
        },
    })
}

/// A REST API's Cognito user pool authorizer, as API Gateway reads it from OpenAPI.
fn rest_scheme(facts: &PoolFacts) -> Option<Value> {
    let arn = facts.pool_arn.as_ref()?;
    Some(json!({
        "type": "apiKey",
        "name": "Authorization",
        "in": "header",
        "x-amazon-apigateway-authtype": "cognito_user_pools",
        "x-amazon-apigateway-authorizer": {
            "type": "cognito_user_pools",
            "providerARNs": [arn],
        },
    }))
}

/// The parameter names of a route template, `{proxy+}` named `proxy+` as API Gateway names it.
fn path_parameters(template: &str) -> Vec<String> {
    template
        .split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
[pool]
id = "us-east-1_Example"
domain = "example-prefix"

[services.gateway]
identifier = "https://gateway.example.com"
scopes = { "demo.read" = "Read demo resources", "demo.write" = "" }

[services.gateway.api_gateway]
http_api = "a1b2c3d4e5"
authorizer = "abc123"

[[services.gateway.routes]]
method = "GET"
path = "/api/demo/protectedRole/alice"
route = "/api/demo/protectedRole/{name}"
scope = "demo.read"

[[services.gateway.routes]]
method = "GET"
path = "/api/demo/protectedRole/bob"
route = "/api/demo/protectedRole/{name}"
scope = "demo.write"

[[services.gateway.routes]]
method = "POST"
path = "/api/demo/protectedUpload"
scope = "demo.write"

[services.reader]
consumes = ["gateway/demo.read"]
"#;

    fn facts() -> PoolFacts {
        PoolFacts {
            issuer: "https://issuer.test/us-east-1_Example".to_owned(),
            token_url: Some("https://token.test/oauth2/token".to_owned()),
            audience: vec!["client1".to_owned()],
            pool_arn: None,
        }
    }

    fn model(text: &str) -> Model {
        crate::config::model::load(text, None).expect("valid")
    }

    #[test]
    fn each_scope_of_a_route_is_a_requirement_of_its_own() {
        let document = openapi(&model(FILE), "gateway", &facts()).expect("exported");
        let get = &document["paths"]["/api/demo/protectedRole/{name}"]["get"];
        assert_eq!(
            get["security"],
            json!([
                { "cogwire": ["https://gateway.example.com/demo.read"] },
                { "cogwire": ["https://gateway.example.com/demo.write"] },
            ])
        );
        assert_eq!(get["parameters"][0]["name"], "name");
        assert_eq!(get["parameters"][0]["in"], "path");
        let post = &document["paths"]["/api/demo/protectedUpload"]["post"];
        assert_eq!(
            post["security"],
            json!([{ "cogwire": ["https://gateway.example.com/demo.write"] }])
        );
        assert!(post.get("parameters").is_none());
    }

    #[test]
    fn an_http_api_gets_a_jwt_authorizer_with_the_audience() {
        let document = openapi(&model(FILE), "gateway", &facts()).expect("exported");
        let scheme = &document["components"]["securitySchemes"]["cogwire"];
        assert_eq!(scheme["type"], "oauth2");
        let authorizer = &scheme["x-amazon-apigateway-authorizer"];
        assert_eq!(authorizer["type"], "jwt");
        assert_eq!(
            authorizer["jwtConfiguration"]["issuer"],
            "https://issuer.test/us-east-1_Example"
        );
        assert_eq!(
            authorizer["jwtConfiguration"]["audience"],
            json!(["client1"])
        );
        let scopes = &scheme["flows"]["clientCredentials"]["scopes"];
        assert_eq!(
            scopes["https://gateway.example.com/demo.read"],
            "Read demo resources"
        );
        // An empty description keeps the pool's; the document names the scope instead.
        assert_eq!(
            scopes["https://gateway.example.com/demo.write"],
            "demo.write"
        );
    }

    #[test]
    fn a_rest_api_gets_a_user_pool_authorizer() {
        let text = FILE.replace("http_api", "rest_api");
        let refused = openapi(&model(&text), "gateway", &facts());
        assert!(matches!(refused, Err(OpenapiError::NoPoolArn { .. })));
        let with_arn = PoolFacts {
            pool_arn: Some(
                "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_Example".to_owned(),
            ),
            ..facts()
        };
        let document = openapi(&model(&text), "gateway", &with_arn).expect("exported");
        let scheme = &document["components"]["securitySchemes"]["cogwire"];
        assert_eq!(scheme["x-amazon-apigateway-authtype"], "cognito_user_pools");
        assert_eq!(
            scheme["x-amazon-apigateway-authorizer"]["providerARNs"][0],
            "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_Example"
        );
    }

    /// What `export openapi` writes for a REST API is what `apply` makes of it: each declared
    /// method (by its resource path), guarded by the user pool authorizer with the same
    /// `<identifier>/<scope>` scopes.
    #[test]
    fn a_rest_export_names_the_methods_and_scopes_apply_sets() {
        let text = FILE.replace("http_api", "rest_api");
        let model = model(&text);
        let with_arn = PoolFacts {
            pool_arn: Some(
                "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_Example".to_owned(),
            ),
            ..facts()
        };
        let document = openapi(&model, "gateway", &with_arn).expect("exported");
        let mut exported = BTreeMap::new();
        for (path, item) in document["paths"].as_object().expect("paths") {
            for (method, operation) in item.as_object().expect("path item") {
                let scopes: std::collections::BTreeSet<String> = operation["security"]
                    .as_array()
                    .expect("security")
                    .iter()
                    .flat_map(|requirement| {
                        requirement[SCHEME].as_array().cloned().unwrap_or_default()
                    })
                    .filter_map(|scope| scope.as_str().map(str::to_owned))
                    .collect();
                exported.insert((method.to_ascii_uppercase(), path.clone()), scopes);
            }
        }
        assert_eq!(exported, gateway::route_scopes(&model.services["gateway"]));
        let authorizer =
            &document["components"]["securitySchemes"][SCHEME]["x-amazon-apigateway-authorizer"];
        assert_eq!(
            authorizer["type"],
            crate::cloud::gateway_rest::COGNITO_USER_POOLS.to_ascii_lowercase()
        );
        assert!(crate::plan::gateway::rest::names_pool(
            authorizer["providerARNs"][0].as_str().unwrap_or_default(),
            "us-east-1_Example"
        ));
    }

    #[test]
    fn services_without_routes_or_scopes_are_refused_with_a_hint() {
        let model = model(FILE);
        let unknown = openapi(&model, "gatewey", &facts()).expect_err("unknown");
        assert_eq!(unknown.hint(), "did you mean `gateway`?");
        assert_eq!(
            openapi(&model, "reader", &facts()),
            Err(OpenapiError::NoScopes {
                service: "reader".to_owned()
            })
        );
    }
}
