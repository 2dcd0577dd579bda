//! The API Gateway end of a service, as services.toml declares it (`[services.X.api_gateway]` and
//! each route's `route`): which API and authorizer enforce the service's scopes, and the offline
//! checks of ids and route templates that `model` runs.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::config::model::{Model, Service};

/// The kind of API, which decides the authorizer and the calls that read and write it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiKind {
    /// An HTTP API with a JWT authorizer (API Gateway v2).
    Http,
    /// A REST API with a Cognito user pool authorizer.
    Rest,
}

impl ApiKind {
    pub fn key(self) -> &'static str {
        match self {
            Self::Http => "http_api",
            Self::Rest => "rest_api",
        }
    }
}

/// The API that enforces a service's scopes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiGateway {
    pub kind: ApiKind,
    pub api_id: String,
    pub authorizer: String,
    /// REST APIs only: the stage to deploy to after a change.
    pub stage: Option<String>,
}

impl ApiGateway {
    /// `HTTP API a1b2c3d4e5`, as plans and errors name it.
    pub fn label(&self) -> String {
        match self.kind {
            ApiKind::Http => format!("HTTP API {}", self.api_id),
            ApiKind::Rest => format!("REST API {}", self.api_id),
        }
    }
}

/// A gateway route: its method and its template, as API Gateway keys it (`GET /items/{id}`).
pub type RouteKey = (String, String);

/// Each gateway route the service declares, with the full scopes (`<identifier>/<scope>`) that
/// guard it: the scopes of every declared route it serves, any one of which suffices.
pub fn route_scopes(service: &Service) -> BTreeMap<RouteKey, BTreeSet<String>> {
    let mut routes: BTreeMap<RouteKey, BTreeSet<String>> = BTreeMap::new();
    let Some(server) = &service.resource_server else {
        return routes;
    };
    for route in &service.routes {
        routes
            .entry((route.method.clone(), route.gateway_route().to_owned()))
            .or_default()
            .insert(format!("{}/{}", server.identifier, route.scope));
    }
    routes
}

/// The services whose managed client is granted any of `service`'s scopes: the callers whose
/// client ids the authorizer's audience lists.
pub fn audience_services(model: &Model, service: &Service) -> Vec<String> {
    let Some(server) = &service.resource_server else {
        return Vec::new();
    };
    let prefix = format!("{}/", server.identifier);
    model
        .services
        .values()
        .filter(|caller| {
            caller.client.as_ref().is_some_and(|client| {
                client.scopes.iter().any(|scope| {
                    scope
                        .strip_prefix(&prefix)
                        .is_some_and(|name| server.scopes.contains_key(name))
                })
            })
        })
        .map(|caller| caller.name.clone())
        .collect()
}

/// API, authorizer and route ids are short runs of lower-case letters and digits (10 for an API,
/// 6 to 8 for the others; the local AWS uses 8 for every id).
pub fn is_gateway_id(text: &str) -> bool {
    (6..=10).contains(&text.len())
        && text
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit())
}

/// What an id-shaped mistake names, where it can tell: an API's ARN (`.../restapis/<id>` is a
/// REST API, `.../apis/<id>` an HTTP API) or its invoke URL (`https://<id>.execute-api...`).
/// Returns the kind when the text tells it, and the id.
pub fn id_in(text: &str) -> Option<(Option<ApiKind>, String)> {
    let after = |marker: &str| {
        text.split_once(marker)
            .map(|(_, rest)| rest.split('/').next().unwrap_or_default().to_owned())
    };
    let (kind, id) = if let Some(id) = after("/restapis/") {
        (Some(ApiKind::Rest), id)
    } else if let Some(id) = after("/apis/") {
        (Some(ApiKind::Http), id)
    } else {
        let host = text.split_once("://").map_or(text, |(_, rest)| rest);
        let (id, _) = host.split_once(".execute-api.")?;
        (None, id.to_owned())
    };
    is_gateway_id(&id).then_some((kind, id))
}

/// The hint for a value of `key` (`http_api` or `rest_api`) that is not an id.
pub fn id_hint(key: &str, value: &str) -> String {
    let generic = format!(
        "`{key}` takes the id API Gateway shows (6 to 10 lower-case letters and digits, such as \"a1b2c3d4e5\"), not a name or an ARN"
    );
    match id_in(value) {
        Some((Some(kind), id)) if key != kind.key() && key != "authorizer" => format!(
            "that is {} {}: name it with {} = \"{id}\" instead",
            match kind {
                ApiKind::Http => "an HTTP API's",
                ApiKind::Rest => "a REST API's",
            },
            if value.contains("://") { "URL" } else { "ARN" },
            kind.key()
        ),
        Some((_, id)) if key != "authorizer" => format!("give the id alone: {key} = \"{id}\""),
        _ => generic,
    }
}

/// A stage name as API Gateway allows it.
pub fn is_stage_name(text: &str) -> bool {
    (1..=128).contains(&text.len())
        && text
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
}

/// What is wrong with a route template, if anything: it begins with `/`, each segment is either
/// literal text without braces or one `{name}` parameter, and only the last may be greedy
/// (`{name+}`).
pub fn template_problem(template: &str) -> Option<String> {
    let Some(rest) = template.strip_prefix('/') else {
        return Some(format!("route `{template}` does not begin with `/`"));
    };
    if rest.is_empty() {
        return None;
    }
    let segments: Vec<&str> = rest.split('/').collect();
    let mut names = Vec::new();
    for (index, segment) in segments.iter().enumerate() {
        if segment.is_empty() {
            return Some(format!(
                "route `{template}` has an empty segment (`//` or a trailing `/`)"
            ));
        }
        match parameter(segment) {
            Some((name, greedy)) => {
                if name.is_empty()
                    || !name
                        .bytes()
                        .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-')
                {
                    return Some(format!(
                        "route `{template}`: `{segment}` is not a parameter name"
                    ));
                }
                if greedy && index + 1 != segments.len() {
                    return Some(format!(
                        "route `{template}`: only the last segment may be greedy (`{segment}`)"
                    ));
                }
                if names.contains(&name) {
                    return Some(format!("route `{template}` names parameter `{name}` twice"));
                }
                names.push(name);
            }
            None if segment.contains(['{', '}']) => {
                return Some(format!(
                    "route `{template}`: `{segment}` mixes text and a parameter; a parameter takes a whole segment"
                ));
            }
            None => {}
        }
    }
    None
}

/// `{name}` -> (`name`, false), `{name+}` -> (`name`, true), anything else -> `None`.
fn parameter(segment: &str) -> Option<(&str, bool)> {
    let inner = segment.strip_prefix('{')?.strip_suffix('}')?;
    Some(match inner.strip_suffix('+') {
        Some(name) => (name, true),
        None => (inner, false),
    })
}

/// Whether a concrete path (as `verify` calls it) is served by a valid route template: literal
/// segments are equal, `{name}` takes one non-empty segment, `{name+}` the non-empty rest.
pub fn template_matches(template: &str, path: &str) -> bool {
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let (Some(template), Some(path)) = (template.strip_prefix('/'), path.strip_prefix('/')) else {
        return false;
    };
    let template_segments: Vec<&str> = if template.is_empty() {
        Vec::new()
    } else {
        template.split('/').collect()
    };
    let path_segments: Vec<&str> = if path.is_empty() {
        Vec::new()
    } else {
        path.split('/').collect()
    };
    for (index, segment) in template_segments.iter().enumerate() {
        match parameter(segment) {
            Some((_, true)) => {
                return path_segments.len() > index
                    && path_segments[index..].iter().all(|part| !part.is_empty());
            }
            Some((_, false)) => match path_segments.get(index) {
                Some(part) if !part.is_empty() => {}
                _ => return false,
            },
            None => {
                if path_segments.get(index) != Some(segment) {
                    return false;
                }
            }
        }
    }
    template_segments.len() == path_segments.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_short_lower_case_words() {
        assert!(is_gateway_id("a1b2c3d4e5"));
        assert!(is_gateway_id("abc123"));
        assert!(is_gateway_id("qwertyui"));
        assert!(!is_gateway_id("abc"));
        assert!(!is_gateway_id("A1B2C3D4E5"));
        assert!(!is_gateway_id("a1b2c3d4e5f"));
        assert!(!is_gateway_id("https://x"));
    }

    #[test]
    fn an_arn_or_url_given_as_an_id_is_named_with_its_kind() {
        assert_eq!(
            id_hint("rest_api", "arn:aws:apigateway:us-east-1::/apis/a1b2c3d4e5"),
            "that is an HTTP API's ARN: name it with http_api = \"a1b2c3d4e5\" instead"
        );
        assert_eq!(
            id_hint(
                "http_api",
                "arn:aws:apigateway:us-east-1::/restapis/x9y8z7w6v5/stages/prod"
            ),
            "that is a REST API's ARN: name it with rest_api = \"x9y8z7w6v5\" instead"
        );
        assert_eq!(
            id_hint(
                "rest_api",
                "https://x9y8z7w6v5.execute-api.us-east-1.amazonaws.com/prod"
            ),
            "give the id alone: rest_api = \"x9y8z7w6v5\""
        );
        assert!(id_hint("rest_api", "my-api").contains("not a name or an ARN"));
        assert!(
            id_hint(
                "authorizer",
                "arn:aws:apigateway:us-east-1::/apis/a1b2c3d4e5"
            )
            .contains("not a name or an ARN")
        );
    }

    #[test]
    fn templates_match_the_paths_they_serve() {
        assert!(template_matches(
            "/api/demo/protectedRole/{name}",
            "/api/demo/protectedRole/alice"
        ));
        assert!(template_matches("/api/upload", "/api/upload"));
        assert!(template_matches("/files/{path+}", "/files/a/b/c"));
        assert!(template_matches("/", "/"));
        assert!(template_matches("/v1/{id}", "/v1/42?verbose=1"));
        assert!(!template_matches("/files/{path+}", "/files"));
        assert!(!template_matches("/api/{name}", "/api/alice/more"));
        assert!(!template_matches("/api/{name}", "/api/"));
        assert!(!template_matches("/api/other", "/api/upload"));
        assert!(!template_matches("/api", "/api/upload"));
    }

    const SERVICE: &str = "[services.gw]\nscopes = { r = \"R\" }\n";

    fn problems(text: &str) -> Vec<String> {
        match crate::config::model::load(text, None) {
            Ok(_) => Vec::new(),
            Err(problems) => problems
                .into_iter()
                .map(|problem| problem.message)
                .collect(),
        }
    }

    #[test]
    fn a_gateway_is_one_api_with_an_authorizer_and_routes() {
        let route = "[[services.gw.routes]]\nmethod = \"GET\"\npath = \"/items/42\"\nroute = \"/items/{id}\"\nscope = \"r\"\n";
        let good = format!(
            "{SERVICE}[services.gw.api_gateway]\nhttp_api = \"a1b2c3d4e5\"\nauthorizer = \"abc123\"\n{route}"
        );
        let model = crate::config::model::load(&good, None).expect("valid");
        let gateway = model.services["gw"].api_gateway.as_ref().expect("gateway");
        assert_eq!(gateway.kind, ApiKind::Http);
        assert_eq!(gateway.label(), "HTTP API a1b2c3d4e5");
        assert_eq!(
            model.services["gw"].routes[0].gateway_route(),
            "/items/{id}"
        );
        for (table, expected) in [
            (
                "http_api = \"a1b2c3d4e5\"\nrest_api = \"x9y8z7w6v5\"\nauthorizer = \"abc123\"\n",
                "names both an HTTP API and a REST API",
            ),
            ("authorizer = \"abc123\"\n", "names no API"),
            ("http_api = \"a1b2c3d4e5\"\n", "names no authorizer"),
            (
                "http_api = \"arn:aws:apigateway\"\nauthorizer = \"abc123\"\n",
                "`arn:aws:apigateway` is not an API Gateway id",
            ),
            (
                "http_api = \"a1b2c3d4e5\"\nauthorizer = \"abc123\"\nstage = \"prod\"\n",
                "`stage` is for REST APIs",
            ),
            (
                "rest_api = \"a1b2c3d4e5\"\nauthorizer = \"abc123\"\nstage = \"pr od\"\n",
                "`pr od` is not a stage name",
            ),
        ] {
            let text = format!("{SERVICE}[services.gw.api_gateway]\n{table}{route}");
            let found = problems(&text);
            assert!(
                found.iter().any(|message| message.contains(expected)),
                "{expected}: {found:?}"
            );
        }
        let without_routes = format!(
            "{SERVICE}[services.gw.api_gateway]\nhttp_api = \"a1b2c3d4e5\"\nauthorizer = \"abc123\"\n"
        );
        assert_eq!(
            problems(&without_routes),
            ["service `gw` names a gateway but declares no routes"]
        );
        let unknown = format!(
            "{SERVICE}[services.gw.api_gateway]\nhttp_api = \"a1b2c3d4e5\"\nauthoriser = \"abc123\"\n{route}"
        );
        assert!(
            problems(&unknown)
                .iter()
                .any(|message| message.contains("unknown key `authoriser`"))
        );
    }

    #[test]
    fn a_route_template_must_serve_the_path() {
        let text = format!(
            "{SERVICE}[[services.gw.routes]]\nmethod = \"GET\"\npath = \"/items/42/parts\"\nroute = \"/items/{{id}}\"\nscope = \"r\"\n"
        );
        assert_eq!(
            problems(&text),
            ["route `/items/{id}` does not serve path `/items/42/parts`"]
        );
        let text = format!(
            "{SERVICE}[[services.gw.routes]]\nmethod = \"GET\"\npath = \"/items/42\"\nroute = \"/items/item-{{id}}\"\nscope = \"r\"\n"
        );
        assert_eq!(problems(&text).len(), 1);
    }

    #[test]
    fn malformed_templates_are_named() {
        assert_eq!(template_problem("/api/{name}"), None);
        assert_eq!(template_problem("/files/{proxy+}"), None);
        assert_eq!(template_problem("/"), None);
        for (template, expected) in [
            ("api", "does not begin with `/`"),
            ("/a//b", "empty segment"),
            ("/a/", "empty segment"),
            ("/{rest+}/x", "only the last segment may be greedy"),
            ("/item-{id}", "mixes text and a parameter"),
            ("/{}", "is not a parameter name"),
            ("/{id}/{id}", "names parameter `id` twice"),
        ] {
            let problem = template_problem(template).unwrap_or_default();
            assert!(problem.contains(expected), "{template}: {problem}");
        }
    }
}
