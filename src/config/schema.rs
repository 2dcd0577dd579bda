//! services.toml described as a JSON Schema (draft-07, the draft both taplo and tombi read), for
//! editors: completion, hover text and inline errors while the file is typed. It says what `shape`
//! reads and what `rules` checks of one value at a time (types, known keys, defaults, Cognito's
//! character classes and limits); checks that need the whole file (references between services,
//! unique identifiers and client names, the pool's quotas, token validity bounds, expanded secret
//! paths) stay with `cogwire validate`. Built from the same constants `shape`, `model` and `rules`
//! use, so the two cannot drift apart without a test saying so.

use serde_json::{Value, json};

use crate::config::model::{DEFAULT_SECRETS_PATH, HTTP_METHODS};
use crate::config::rules;

/// The draft: taplo (Even Better TOML) reads draft-04 to draft-07, tombi draft-07 and later.
pub const DRAFT: &str = "http://json-schema.org/draft-07/schema#";

/// Where `init` and `import` point editors: a file beside services.toml, written by
/// `cogwire schema > services.schema.json` (and by `init`), so that the schema an editor checks
/// against is the one of the cogwire that will read the file.
pub const FILE_NAME: &str = "services.schema.json";

/// The first line of a services.toml that `init` and `import` write: taplo and tombi both read a
/// `#:schema` directive, with a path relative to the TOML file.
pub const DIRECTIVE: &str = "#:schema ./services.schema.json";

const IDENTIFIER: &str = r"^[\x21\x23-\x5B\x5D-\x7E]{1,256}$";
const SCOPE_NAME: &str = r"^[\x21\x23-\x2E\x30-\x5B\x5D-\x7E]{1,256}$";
const RESOURCE_SERVER_NAME: &str = r"^[A-Za-z0-9_ \t+=,.@-]{1,256}$";
const CLIENT_NAME: &str = r"^[A-Za-z0-9_ \t+=,.@-]{1,128}$";
const SERVICE_NAME: &str = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$";
const DURATION: &str = r"^\s*([0-9]+[smhd])+\s*$";
const SCOPE_REFERENCE: &str = r"^.+/[^/]+$";
/// The characters both stores allow in a name, and the two placeholders.
const SECRETS_PATH: &str = r"^([A-Za-z0-9/_+=.@-]|\{service\}|\{pool\}|\{env\})+$";
const ENVIRONMENT_NAME: &str = r"^[A-Za-z0-9_-]{1,64}$";

/// The schema of services.toml.
pub fn services_toml() -> Value {
    json!({
        "$schema": DRAFT,
        "title": "cogwire services.toml",
        "description": "The resource servers (scopes a service offers) and app clients (scopes a service may use) of one Cognito user pool. `cogwire validate` checks what this schema cannot: references between services, unique identifiers and client names, quotas, token validity bounds and expanded secret paths.",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "pool": pool(),
            "secrets": secrets(),
            "defaults": defaults(),
            "export": export(),
            "services": {
                "description": "One table per service: `[services.<name>]`. A service owns scopes (`scopes`), consumes others' (`consumes`), or both.",
                "type": "object",
                "propertyNames": {
                    "description": "A service name: ASCII letters, digits, `-`, `_` and `.`, beginning with a letter or digit, at most 100 characters (it becomes the default identifier, client name and secret path).",
                    "pattern": SERVICE_NAME,
                },
                "additionalProperties": { "$ref": "#/definitions/service" },
            },
            "environments": {
                "description": "One table per environment (dev, staging, prod): `[environments.<name>]`, chosen with --env NAME or COGWIRE_ENV. Each overrides `[pool]`, `[secrets]` and `[defaults]` key by key, and services' deployment-specific keys.",
                "type": "object",
                "propertyNames": {
                    "description": "An environment name: 1 to 64 ASCII letters, digits, `-` and `_` (`{env}` puts it in secret paths).",
                    "pattern": ENVIRONMENT_NAME,
                },
                "additionalProperties": { "$ref": "#/definitions/environment" },
            },
        },
        "definitions": {
            "environment": environment(),
            "service": service(),
            "client": client(),
            "api_gateway": api_gateway(),
            "route": route(),
            "duration": {
                "description": format!("A duration: a number and a unit (s, m, h, d), in groups: \"30m\", \"1h\", \"1h30m\". Cognito accepts {} to {} for access tokens.", rules::MIN_ACCESS_TOKEN_VALIDITY, rules::MAX_ACCESS_TOKEN_VALIDITY),
                "type": "string",
                "pattern": DURATION,
            },
        },
    })
}

fn pool() -> Value {
    json!({
        "description": "The user pool. Flags and the environment override each key.",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "id": {
                "description": "The user pool id, e.g. \"us-east-1_Example\"; overridden by --user-pool-id, then COGWIRE_USER_POOL_ID.",
                "type": "string",
            },
            "region": {
                "description": "The AWS region; overridden by --region. Default: the pool id's region, else the AWS chain.",
                "type": "string",
            },
            "domain": {
                "description": "The pool's Cognito domain prefix, for the token URL https://<domain>.auth.<region>.amazoncognito.com/oauth2/token.",
                "type": "string",
            },
            "token_url": {
                "description": "The token endpoint, when it is not the Cognito domain's (a custom domain).",
                "type": "string",
            },
            "max_resource_servers": {
                "description": "The pool's resource-server quota, if AWS raised it for the account.",
                "type": "integer",
                "minimum": 1,
                "default": rules::DEFAULT_MAX_RESOURCE_SERVERS,
            },
            "max_clients": {
                "description": "The pool's app-client quota, if AWS raised it for the account.",
                "type": "integer",
                "minimum": 1,
                "default": rules::DEFAULT_MAX_CLIENTS,
            },
        },
    })
}

fn export() -> Value {
    json!({
        "description": "Defaults of `cogwire export` (its flags override them), and how long consumers take to re-read the store.",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "namespace": {
                "description": "The Kubernetes namespace of exported objects. Default: none (kubectl's current one).",
                "type": "string",
            },
            "secret_store": {
                "description": "The External Secrets Operator store the ExternalSecret reads through. Default: \"aws-parameter-store\" or \"aws-secrets-manager\".",
                "type": "string",
            },
            "cluster_secret_store": {
                "description": "`secret_store` is a ClusterSecretStore.",
                "type": "boolean",
                "default": false,
            },
            "refresh": {
                "description": "How often the slowest consumer re-reads the store: the ExternalSecret's refreshInterval, and how long `rotate-secret --finish` waits after a new secret (plus a margin) before retiring the old one. Default: 1h.",
                "$ref": "#/definitions/duration",
            },
        },
    })
}

fn secrets() -> Value {
    json!({
        "description": "Where `sync-secrets` stores each managed client's id and secret.",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "store": {
                "description": "\"ssm\" (Parameter Store, SecureString) or \"secretsmanager\".",
                "enum": ["ssm", "secretsmanager"],
                "default": "ssm",
            },
            "path": {
                "description": "The entry's name; `{service}` and `{pool}` are replaced. SSM names begin with `/`, have at most 15 levels and 1,011 characters, and do not begin with `aws` or `ssm` (validate checks each expansion).",
                "type": "string",
                "pattern": SECRETS_PATH,
                "default": DEFAULT_SECRETS_PATH,
            },
            "kms_key_id": {
                "description": "The KMS key that encrypts the entries, e.g. \"alias/cogwire\"; default: the store's AWS-managed key.",
                "type": "string",
            },
            "layout": {
                "description": "\"json\": one entry holding the credential as JSON. \"split\": `<path>/client_id` and `<path>/client_secret` (SSM only).",
                "enum": ["json", "split"],
                "default": "json",
            },
            "fields": {
                "description": "The key names of the JSON entry, for services that already read other names (the serverless plugin's `clientId`, `clientSecret`, `url`): cogwire's key = the entry's name. Keys left out are not written; `client_id` and `client_secret` are required.",
                "type": "object",
                "additionalProperties": false,
                "required": ["client_id", "client_secret"],
                "properties": {
                    "client_id": { "type": "string", "minLength": 1 },
                    "client_secret": { "type": "string", "minLength": 1 },
                    "token_url": { "type": "string", "minLength": 1 },
                    "scopes": { "type": "string", "minLength": 1 },
                    "user_pool_id": { "type": "string", "minLength": 1 },
                },
            },
        },
        "if": {
            "properties": { "store": { "const": "secretsmanager" } },
            "required": ["store"],
        },
        "then": {
            "properties": { "layout": { "const": "json" } },
        },
    })
}

fn defaults() -> Value {
    json!({
        "description": "Defaults for every service.",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "access_token_validity": {
                "$ref": "#/definitions/duration",
                "default": "1h",
            },
        },
    })
}

fn service() -> Value {
    json!({
        "description": "A service: the resource server that owns its scopes, and the app client that holds the scopes it consumes.",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "identifier": {
                "description": "The resource server's identifier, the prefix of its scopes in tokens: 1 to 256 printable ASCII characters without spaces, `\"` or `\\`. Default: the service name.",
                "type": "string",
                "pattern": IDENTIFIER,
            },
            "name": {
                "description": "The resource server's display name: letters, digits, spaces and `+=,.@-`, at most 256 characters. Default: the service name.",
                "type": "string",
                "pattern": RESOURCE_SERVER_NAME,
            },
            "scopes": {
                "description": format!("The scopes this service offers, name = description: at least one, at most {} per resource server.", rules::MAX_SCOPES_PER_RESOURCE_SERVER),
                "type": "object",
                "minProperties": 1,
                "maxProperties": rules::MAX_SCOPES_PER_RESOURCE_SERVER,
                "propertyNames": {
                    "description": "A scope name: 1 to 256 printable ASCII characters without spaces, `\"`, `/` or `\\`, e.g. \"orders.read\".",
                    "pattern": SCOPE_NAME,
                },
                "additionalProperties": {
                    "description": format!("What the scope allows, at most {} characters.", rules::MAX_SCOPE_DESCRIPTION),
                    "type": "string",
                    "maxLength": rules::MAX_SCOPE_DESCRIPTION,
                },
            },
            "consumes": {
                "description": format!("The scopes this service's client may use, as \"<service>/<scope>\" (the service's name, not its identifier): at least one, each once, at most {} per client.", rules::MAX_SCOPES_PER_CLIENT),
                "type": "array",
                "minItems": 1,
                "maxItems": rules::MAX_SCOPES_PER_CLIENT,
                "uniqueItems": true,
                "items": {
                    "description": "\"<service>/<scope>\", e.g. \"customers-v1/customer.read\".",
                    "type": "string",
                    "pattern": SCOPE_REFERENCE,
                },
            },
            "client": { "$ref": "#/definitions/client" },
            "external": {
                "description": "Another tool manages this service's resource server: cogwire reads its scopes and never writes it.",
                "type": "boolean",
                "default": false,
            },
            "previous": {
                "description": "The service's old name, when it was renamed: it keeps its app client (same id) and its credentials move to the new path.",
                "type": "string",
            },
            "environments": {
                "description": "The environments this service exists in; default: all of them.",
                "type": "array",
                "minItems": 1,
                "uniqueItems": true,
                "items": { "type": "string", "pattern": ENVIRONMENT_NAME },
            },
            "routes": {
                "description": "Routes `cogwire verify` calls: each must refuse no token (401) and a token without its scope (403), and serve one with it (2xx). With `api_gateway`, also the routes whose scopes cogwire keeps in line on the gateway.",
                "type": "array",
                "items": { "$ref": "#/definitions/route" },
            },
            "api_gateway": { "$ref": "#/definitions/api_gateway" },
        },
    })
}

fn api_gateway() -> Value {
    let id = "^[a-z0-9]{6,10}$";
    json!({
        "description": "The API Gateway API that enforces this service's scopes: cogwire keeps its authorizer's issuer and audience, and the declared routes' scopes, in line with services.toml. Exactly one of `http_api` and `rest_api`.",
        "type": "object",
        "additionalProperties": false,
        "required": ["authorizer"],
        "oneOf": [
            { "required": ["http_api"], "not": { "anyOf": [{ "required": ["rest_api"] }, { "required": ["stage"] }] } },
            { "required": ["rest_api"], "not": { "required": ["http_api"] } },
        ],
        "properties": {
            "http_api": {
                "description": "The id of an HTTP API, whose JWT authorizer `authorizer` names.",
                "type": "string",
                "pattern": id,
            },
            "rest_api": {
                "description": "The id of a REST API, whose Cognito user pool authorizer `authorizer` names.",
                "type": "string",
                "pattern": id,
            },
            "authorizer": {
                "description": "The authorizer's id (not its name).",
                "type": "string",
                "pattern": id,
            },
            "stage": {
                "description": "REST APIs: the stage to deploy to after a change (a REST API's changes take effect only when deployed).",
                "type": "string",
                "pattern": "^[A-Za-z0-9_-]{1,128}$",
            },
        },
    })
}

/// An environment: the pool, secrets and defaults it overrides, key by key, and the
/// deployment-specific keys of services.
fn environment() -> Value {
    let mut pool = pool();
    pool["description"] = json!("This environment's user pool: each key overrides `[pool]`.");
    let mut secrets = secrets();
    secrets["description"] = json!(
        "This environment's secrets: each key overrides `[secrets]`; `{env}` in the path is the environment's name."
    );
    let mut defaults = defaults();
    defaults["description"] =
        json!("This environment's defaults: each key overrides `[defaults]`.");
    json!({
        "description": "An environment of services.toml, chosen with --env NAME or COGWIRE_ENV.",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "pool": pool,
            "secrets": secrets,
            "defaults": defaults,
            "services": {
                "description": "Services' deployment-specific keys in this environment: `[environments.<name>.services.<service>.client]`, and `.api_gateway`, which replaces the service's whole.",
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "additionalProperties": false,
                    "properties": {
                        "client": {
                            "type": "object",
                            "additionalProperties": false,
                            "properties": {
                                "access_token_validity": { "$ref": "#/definitions/duration" },
                            },
                        },
                        "api_gateway": { "$ref": "#/definitions/api_gateway" },
                    },
                },
            },
        },
    })
}

fn client() -> Value {
    json!({
        "description": "The service's app client (client-credentials); it exists when the service consumes scopes.",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "name": {
                "description": "The client's name: letters, digits, spaces and `+=,.@-`, at most 128 characters. Default: \"<service>-app-client\".",
                "type": "string",
                "pattern": CLIENT_NAME,
            },
            "access_token_validity": {
                "$ref": "#/definitions/duration",
                "description": "How long this client's access tokens last; default: `[defaults] access_token_validity`, else 1h.",
            },
        },
    })
}

fn route() -> Value {
    json!({
        "description": "A route of the service, for `cogwire verify`.",
        "type": "object",
        "additionalProperties": false,
        "required": ["method", "path", "scope"],
        "properties": {
            "method": {
                "description": format!("The HTTP method, in any case: {}.", HTTP_METHODS.join(", ")),
                "type": "string",
                "pattern": method_pattern(),
                "examples": HTTP_METHODS,
            },
            "path": {
                "description": "The path from the root, e.g. \"/v1/orders/42\".",
                "type": "string",
                "pattern": "^/",
            },
            "scope": {
                "description": "The scope of this service's own that guards the route, e.g. \"orders.read\".",
                "type": "string",
            },
            "body": {
                "description": "A request body, sent as JSON.",
            },
            "route": {
                "description": "The gateway's own route that serves `path`, e.g. \"/v1/orders/{id}\" (default: `path`).",
                "type": "string",
                "pattern": "^/",
            },
        },
    })
}

/// The HTTP methods in any case, as `model` reads them: `^(?:[Gg][Ee][Tt]|...)$`, since draft-07
/// patterns have no case-insensitive flag.
fn method_pattern() -> String {
    let alternatives: Vec<String> = HTTP_METHODS
        .iter()
        .map(|method| {
            method
                .chars()
                .map(|letter| {
                    format!(
                        "[{}{}]",
                        letter.to_ascii_uppercase(),
                        letter.to_ascii_lowercase()
                    )
                })
                .collect()
        })
        .collect();
    format!("^(?:{})$", alternatives.join("|"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::shape;

    fn keys(schema: &Value) -> Vec<&str> {
        let mut keys: Vec<&str> = schema["properties"]
            .as_object()
            .map(|properties| properties.keys().map(String::as_str).collect())
            .unwrap_or_default();
        keys.sort_unstable();
        keys
    }

    fn sorted<'a>(list: &[&'a str]) -> Vec<&'a str> {
        let mut list = list.to_vec();
        list.sort_unstable();
        list
    }

    /// Every key `shape` reads is in the schema, and no other.
    #[test]
    fn names_the_keys_shape_reads() {
        let schema = services_toml();
        let definitions = &schema["definitions"];
        for (described, known) in [
            (&schema, shape::TOP_LEVEL_KEYS),
            (&schema["properties"]["pool"], shape::POOL_KEYS),
            (&schema["properties"]["secrets"], shape::SECRETS_KEYS),
            (&schema["properties"]["defaults"], shape::DEFAULTS_KEYS),
            (&schema["properties"]["export"], shape::EXPORT_KEYS),
            (&definitions["service"], shape::SERVICE_KEYS),
            (&definitions["client"], shape::CLIENT_KEYS),
            (&definitions["route"], shape::ROUTE_KEYS),
            (
                &definitions["environment"],
                crate::config::environment::ENVIRONMENT_KEYS,
            ),
            (&definitions["api_gateway"], shape::API_GATEWAY_KEYS),
        ] {
            assert_eq!(keys(described), sorted(known));
        }
    }

    #[test]
    fn method_pattern_spells_each_method_in_any_case() {
        assert!(method_pattern().starts_with("^(?:[Gg][Ee][Tt]|[Hh][Ee][Aa][Dd]|"));
    }

    #[test]
    fn the_directive_names_the_file() {
        assert_eq!(DIRECTIVE, format!("#:schema ./{FILE_NAME}"));
    }
}
