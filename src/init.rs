//! `init`: a commented services.toml to start from, for a first service, its scopes and its
//! callers. Beside the pipeline, as `import` is (which `init --from-pool` uses instead): pure,
//! takes what was asked, returns the text, which `config` reads as valid.

use std::fmt::Write as _;

use crate::config::{rules, schema};

/// What the file starts with.
#[derive(Debug, Clone, Default)]
pub struct Starter {
    pub pool_id: Option<String>,
    pub region: Option<String>,
    /// The first service; `None` writes an example to rename.
    pub service: Option<String>,
    /// `NAME` or `NAME=DESCRIPTION`.
    pub scopes: Vec<String>,
    pub consumers: Vec<String>,
}

/// A name `init` was asked to write that validate would refuse.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct InitError {
    pub message: String,
    pub hint: String,
}

const EXAMPLE_SERVICE: &str = "orders";
const EXAMPLE_CONSUMER: &str = "billing";

impl Starter {
    /// The text of services.toml, or why one of the names asked for would not validate.
    pub fn render(&self) -> Result<String, InitError> {
        let (service, scopes, consumers) = match &self.service {
            Some(service) => (
                service.as_str(),
                self.scopes
                    .iter()
                    .map(|scope| split_scope(service, scope))
                    .collect::<Vec<_>>(),
                self.consumers.iter().map(String::as_str).collect(),
            ),
            None => (
                EXAMPLE_SERVICE,
                vec![
                    ("orders.read".to_owned(), "Read orders".to_owned()),
                    (
                        "orders.write".to_owned(),
                        "Create and change orders".to_owned(),
                    ),
                ],
                vec![EXAMPLE_CONSUMER],
            ),
        };
        check_service(service)?;
        let scopes = if scopes.is_empty() {
            vec![(format!("{service}.read"), format!("Read {service}"))]
        } else {
            scopes
        };
        for (scope, description) in &scopes {
            rules::scope_name(scope).map_err(|problem| InitError {
                message: problem.describe(&format!("the scope name `{scope}`")),
                hint: "scope names are 1 to 256 printable ASCII characters without spaces, `\"`, `/` or `\\`, e.g. --scope orders.read".to_owned(),
            })?;
            if description.chars().count() > rules::MAX_SCOPE_DESCRIPTION {
                return Err(InitError {
                    message: format!("the description of scope `{scope}` is too long"),
                    hint: format!(
                        "Cognito allows at most {} characters",
                        rules::MAX_SCOPE_DESCRIPTION
                    ),
                });
            }
        }
        for consumer in &consumers {
            check_service(consumer)?;
            if *consumer == service {
                return Err(InitError {
                    message: format!("`{consumer}` is both the service and a consumer"),
                    hint: "a consumer is another service that calls this one".to_owned(),
                });
            }
        }
        Ok(self.text(service, &scopes, &consumers))
    }

    fn text(&self, service: &str, scopes: &[(String, String)], consumers: &[&str]) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{}", schema::DIRECTIVE);
        out.push_str(HEADER);
        if self.service.is_none() {
            out.push_str(
                "#\n# `orders` and `billing` below are an example: rename them, or start again with\n\
                 # `cogwire init --force --service NAME --scope NAME.read --consumer CALLER`.\n",
            );
        }
        out.push_str("\n[pool]\n");
        match &self.pool_id {
            Some(id) => {
                let _ = writeln!(out, "id = {}", quote(id));
            }
            None => out.push_str(
                "# id = \"us-east-1_Example\"     # or --user-pool-id, or COGWIRE_USER_POOL_ID\n",
            ),
        }
        match &self.region {
            Some(region) => {
                let _ = writeln!(out, "region = {}", quote(region));
            }
            None => {
                out.push_str("# region = \"us-east-1\"           # default: the pool id's region\n")
            }
        }
        out.push_str(POOL_AND_SECRETS);
        let _ = writeln!(out, "\n[services.{}]", key(service));
        let _ = writeln!(
            out,
            "# identifier = \"https://{service}.example.com\"  # default: the service name; the prefix of its scopes in tokens"
        );
        let entries: Vec<String> = scopes
            .iter()
            .map(|(scope, description)| format!("{} = {}", quote(scope), quote(description)))
            .collect();
        let _ = writeln!(out, "scopes = {{ {} }}", entries.join(", "));
        let _ = writeln!(
            out,
            "# consumes = [\"<service>/<scope>\"]   # the scopes it may call other services with"
        );
        for consumer in consumers {
            let _ = writeln!(out, "\n[services.{}]", key(consumer));
            let references: Vec<String> = scopes
                .iter()
                .map(|(scope, _)| quote(&format!("{service}/{scope}")))
                .collect();
            let _ = writeln!(out, "consumes = [{}]", references.join(", "));
            out.push_str("# [services.");
            out.push_str(&key(consumer));
            out.push_str(".client]\n# access_token_validity = \"30m\"  # default: [defaults]\n");
        }
        out
    }
}

const HEADER: &str = "\
# services.toml: the resource servers (the scopes each service offers) and app clients (the
# scopes each service may call others with) of one Cognito user pool, for cogwire.
#
#   cogwire validate    check this file offline
#   cogwire plan        show what apply would change in the pool
#   cogwire apply       make the pool match this file
#   cogwire sync-secrets  store each client's id and secret where its service reads them
#
# The first line points editors at services.schema.json (`cogwire schema > services.schema.json`)
# for completion and errors as you type.
";

const POOL_AND_SECRETS: &str = "\
# domain = \"example-prefix\"       # the Cognito domain prefix, for the token URL
# max_clients = 1000               # only if AWS raised the pool's quota

# Where sync-secrets stores each client's id and secret.
[secrets]
store = \"ssm\"                      # or \"secretsmanager\"
path = \"/cogwire/{service}\"        # {service} and {pool} are replaced
# layout = \"json\"                  # or \"split\": <path>/client_id and <path>/client_secret (SSM)

[defaults]
access_token_validity = \"1h\"       # 5m to 1d; a client's own [services.X.client] overrides it
";

fn check_service(name: &str) -> Result<(), InitError> {
    rules::service_name(name).map_err(|problem| InitError {
        message: problem.describe_for(
            &format!("the service name `{name}`"),
            "cogwire's rule for service names",
        ),
        hint: "service names use ASCII letters, digits, `-`, `_` and `.`, and begin with a letter or digit".to_owned(),
    })
}

/// `orders.read=Read orders` or `orders.read` (described from its name).
fn split_scope(service: &str, scope: &str) -> (String, String) {
    match scope.split_once('=') {
        Some((name, description)) => (name.trim().to_owned(), description.trim().to_owned()),
        None => (scope.to_owned(), format!("{scope} on {service}")),
    }
}

/// A TOML basic string.
fn quote(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

/// A table key: bare when TOML allows it, else quoted. Service names always are bare.
fn key(name: &str) -> String {
    if name
        .chars()
        .all(|character| character.is_ascii_alphanumeric() || matches!(character, '-' | '_'))
    {
        name.to_owned()
    } else {
        quote(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model;

    fn valid(text: &str) -> model::Model {
        match model::load(text, None) {
            Ok(model) => model,
            Err(problems) => panic!("{problems:?}\n{text}"),
        }
    }

    #[test]
    fn the_example_validates() {
        let text = Starter::default().render().expect("renders");
        assert!(text.starts_with("#:schema ./services.schema.json\n"));
        let model = valid(&text);
        assert_eq!(model.services.len(), 2);
        assert_eq!(model.client_count(), 1);
    }

    #[test]
    fn a_service_its_scopes_and_consumers() {
        let starter = Starter {
            pool_id: Some("eu-west-1_Abc".to_owned()),
            service: Some("orders-v1".to_owned()),
            scopes: vec![
                "orders.read".to_owned(),
                "orders.write=Write \"orders\"".to_owned(),
            ],
            consumers: vec!["billing".to_owned(), "reporting.v2".to_owned()],
            ..Starter::default()
        };
        let model = valid(&starter.render().expect("renders"));
        assert_eq!(model.pool.id.as_deref(), Some("eu-west-1_Abc"));
        assert_eq!(model.client_count(), 2);
        assert_eq!(model.scope_count(), 2);
    }

    #[test]
    fn a_service_alone_validates() {
        let starter = Starter {
            service: Some("orders".to_owned()),
            ..Starter::default()
        };
        assert_eq!(valid(&starter.render().expect("renders")).scope_count(), 1);
    }

    #[test]
    fn names_validate_would_refuse_are_refused() {
        for starter in [
            Starter {
                service: Some("-bad".to_owned()),
                ..Starter::default()
            },
            Starter {
                service: Some("orders".to_owned()),
                scopes: vec!["a/b".to_owned()],
                ..Starter::default()
            },
            Starter {
                service: Some("orders".to_owned()),
                consumers: vec!["orders".to_owned()],
                ..Starter::default()
            },
        ] {
            assert!(starter.render().is_err(), "{starter:?}");
        }
    }
}
