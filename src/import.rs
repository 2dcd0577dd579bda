//! `import`: a live pool described as a services.toml, so teams adopt cogwire without recreating
//! clients (which would change their ids and break every caller). Pure: takes what was read,
//! returns the text.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::cloud::{ClientState, ResourceServerState};
use crate::diff::CLIENT_CREDENTIALS;
use crate::duration::Seconds;
use crate::rules;

/// How names in the pool map to services: `{service}` stands for the service name.
#[derive(Debug, Clone)]
pub struct Patterns {
    pub client: String,
    pub resource_server: String,
}

impl Default for Patterns {
    fn default() -> Self {
        Self {
            client: "{service}-app-client".to_owned(),
            resource_server: "{service}-resource-server".to_owned(),
        }
    }
}

impl Patterns {
    fn strip<'a>(pattern: &str, name: &'a str) -> Option<&'a str> {
        let (prefix, suffix) = pattern.split_once("{service}")?;
        let service = name.strip_prefix(prefix)?.strip_suffix(suffix)?;
        (!service.is_empty()).then_some(service)
    }
}

/// What `import` read: every resource server and every client, described.
pub struct Pool<'a> {
    pub pool_id: &'a str,
    pub region: Option<&'a str>,
    pub resource_servers: &'a [ResourceServerState],
    pub clients: &'a [ClientState],
}

#[derive(Default)]
struct ImportedService {
    identifier: Option<String>,
    display_name: Option<String>,
    scopes: Option<BTreeMap<String, String>>,
    consumes: BTreeSet<String>,
    client_name: Option<String>,
    validity: Option<Seconds>,
}

/// A service name from a name found in the pool: the pattern's `{service}` when it matches,
/// else the name itself made to fit the service-name rule.
fn service_name(found: &str, pattern: &str) -> String {
    let base = Patterns::strip(pattern, found).unwrap_or(found);
    let base = base
        .strip_prefix("https://")
        .or_else(|| base.strip_prefix("http://"))
        .unwrap_or(base);
    let mut name: String = base
        .chars()
        .map(|character| {
            if character.is_ascii_alphanumeric() || matches!(character, '-' | '_' | '.') {
                character
            } else {
                '-'
            }
        })
        .collect();
    name = name
        .trim_matches(|character: char| !character.is_ascii_alphanumeric())
        .to_owned();
    name.truncate(100);
    if name.is_empty() {
        "service".to_owned()
    } else {
        name
    }
}

fn unique(name: String, taken: &BTreeSet<String>) -> String {
    if !taken.contains(&name) {
        return name;
    }
    (2..)
        .map(|index| format!("{name}-{index}"))
        .find(|candidate| !taken.contains(candidate))
        .unwrap_or(name)
}

/// Renders the pool as services.toml. Deterministic: the same pool gives the same bytes.
pub fn services_toml(pool: &Pool<'_>, patterns: &Patterns) -> String {
    let mut services: BTreeMap<String, ImportedService> = BTreeMap::new();
    let mut service_of_identifier: BTreeMap<&str, String> = BTreeMap::new();
    let mut servers: Vec<&ResourceServerState> = pool.resource_servers.iter().collect();
    servers.sort_by(|left, right| left.identifier.cmp(&right.identifier));
    for server in servers {
        let from_identifier = Patterns::strip(&patterns.resource_server, &server.identifier)
            .is_some()
            || rules::service_name(&server.identifier).is_ok();
        let candidate = if from_identifier {
            service_name(&server.identifier, &patterns.resource_server)
        } else {
            service_name(&server.name, &patterns.resource_server)
        };
        let taken: BTreeSet<String> = services.keys().cloned().collect();
        let name = unique(candidate, &taken);
        service_of_identifier.insert(&server.identifier, name.clone());
        services.insert(
            name.clone(),
            ImportedService {
                identifier: (server.identifier != name).then(|| server.identifier.clone()),
                display_name: (server.name != name).then(|| server.name.clone()),
                scopes: Some(server.scopes.clone()),
                ..ImportedService::default()
            },
        );
    }

    let mut skipped: Vec<String> = Vec::new();
    let mut clients: Vec<&ClientState> = pool.clients.iter().collect();
    clients.sort_by(|left, right| (&left.name, &left.id).cmp(&(&right.name, &right.id)));
    let mut client_services: BTreeSet<String> = BTreeSet::new();
    let mut names_seen: BTreeMap<&str, usize> = BTreeMap::new();
    for client in &clients {
        *names_seen.entry(client.name.as_str()).or_default() += 1;
    }
    for client in clients {
        let reason = if names_seen[client.name.as_str()] > 1 {
            Some("its name is shared with another client; cogwire knows clients by name".to_owned())
        } else if !client.allowed_oauth_flows.contains(CLIENT_CREDENTIALS) {
            Some(if client.allowed_oauth_flows.is_empty() {
                "no OAuth flow".to_owned()
            } else {
                format!(
                    "{} flow, not client_credentials",
                    client
                        .allowed_oauth_flows
                        .iter()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
        } else if client.allowed_oauth_flows.len() > 1 {
            Some("it mixes client_credentials with other flows".to_owned())
        } else if !client.has_secret {
            Some("no client secret".to_owned())
        } else if client.scopes.is_empty() {
            Some("no scopes".to_owned())
        } else if rules::client_name(&client.name).is_err() {
            Some("its name breaks Cognito's client-name rule".to_owned())
        } else {
            None
        };
        let consumes: Option<BTreeSet<String>> = client
            .scopes
            .iter()
            .map(|scope| {
                let (identifier, scope_name) = scope.rsplit_once('/')?;
                Some(format!(
                    "{}/{scope_name}",
                    service_of_identifier.get(identifier)?
                ))
            })
            .collect();
        let reason = reason.or_else(|| {
            consumes.is_none().then(|| {
                "a scope of no resource server (standard scopes are for users, not services)"
                    .to_owned()
            })
        });
        if let Some(reason) = reason {
            skipped.push(format!("{} ({}): {reason}", client.name, client.id));
            continue;
        }
        let candidate = service_name(&client.name, &patterns.client);
        let name = if services
            .get(&candidate)
            .is_some_and(|service| service.client_name.is_none())
        {
            candidate
        } else {
            let taken: BTreeSet<String> = services.keys().cloned().collect();
            unique(candidate, &taken)
        };
        client_services.insert(name.clone());
        let service = services.entry(name.clone()).or_default();
        service.consumes = consumes.unwrap_or_default();
        service.client_name = Some(client.name.clone());
        service.validity = Some(client.effective_access_token_validity());
    }

    let mut out = String::new();
    let _ = writeln!(
        out,
        "# services.toml imported from user pool {} by `cogwire import`.",
        pool.pool_id
    );
    let _ = writeln!(
        out,
        "# Review it, then `cogwire plan`: the first plan only records what exists (imports)."
    );
    if !skipped.is_empty() {
        let _ = writeln!(
            out,
            "#\n# Clients left out (cogwire manages client-credentials clients only):"
        );
        for line in &skipped {
            let _ = writeln!(out, "#   {line}");
        }
    }
    let _ = writeln!(out, "\n[pool]\nid = {}", quote(pool.pool_id));
    if let Some(region) = pool.region {
        let _ = writeln!(out, "region = {}", quote(region));
    }
    if services
        .values()
        .filter(|service| service.scopes.is_some())
        .count() as u64
        > rules::DEFAULT_MAX_RESOURCE_SERVERS
    {
        let _ = writeln!(out, "max_resource_servers = {}", services.len());
    }
    if client_services.len() as u64 > rules::DEFAULT_MAX_CLIENTS {
        let _ = writeln!(out, "max_clients = {}", client_services.len());
    }
    for (name, service) in &services {
        let _ = writeln!(out, "\n[services.{}]", key(name));
        if let Some(identifier) = &service.identifier {
            let _ = writeln!(out, "identifier = {}", quote(identifier));
        }
        if let Some(display_name) = &service.display_name {
            let _ = writeln!(out, "name = {}", quote(display_name));
        }
        if let Some(scopes) = &service.scopes {
            let entries: Vec<String> = scopes
                .iter()
                .map(|(scope, description)| format!("{} = {}", quote(scope), quote(description)))
                .collect();
            let _ = writeln!(out, "scopes = {{ {} }}", entries.join(", "));
        }
        if service.client_name.is_some() {
            let entries: Vec<String> = service.consumes.iter().map(|scope| quote(scope)).collect();
            let _ = writeln!(out, "consumes = [{}]", entries.join(", "));
        }
        let default_name = format!("{name}-app-client");
        let custom_name = service
            .client_name
            .as_ref()
            .filter(|client_name| **client_name != default_name);
        let custom_validity = service
            .validity
            .filter(|validity| *validity != Seconds::HOUR);
        if custom_name.is_some() || custom_validity.is_some() {
            let _ = writeln!(out, "[services.{}.client]", key(name));
            if let Some(client_name) = custom_name {
                let _ = writeln!(out, "name = {}", quote(client_name));
            }
            if let Some(validity) = custom_validity {
                let _ = writeln!(
                    out,
                    "access_token_validity = {}",
                    quote(&validity.to_string())
                );
            }
        }
    }
    out
}

/// A TOML basic string.
fn quote(text: &str) -> String {
    let mut quoted = String::from("\"");
    for character in text.chars() {
        match character {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\t' => quoted.push_str("\\t"),
            control if control.is_control() => {
                let _ = write!(quoted, "\\u{:04X}", u32::from(control));
            }
            other => quoted.push(other),
        }
    }
    quoted.push('"');
    quoted
}

/// A table key: bare when it can be, quoted otherwise.
fn key(name: &str) -> String {
    if !name.is_empty()
        && name
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
    use crate::cloud::ClientExtras;

    fn server(identifier: &str, name: &str, scopes: &[(&str, &str)]) -> ResourceServerState {
        ResourceServerState {
            identifier: identifier.into(),
            name: name.into(),
            scopes: scopes
                .iter()
                .map(|(scope, description)| ((*scope).into(), (*description).into()))
                .collect(),
        }
    }

    fn client(id: &str, name: &str, flows: &[&str], scopes: &[&str]) -> ClientState {
        ClientState {
            id: id.into(),
            name: name.into(),
            has_secret: true,
            allowed_oauth_flows: flows.iter().map(|flow| (*flow).to_owned()).collect(),
            allowed_oauth_flows_user_pool_client: true,
            scopes: scopes.iter().map(|scope| (*scope).to_owned()).collect(),
            access_token_validity: None,
            extras: ClientExtras::default(),
        }
    }

    #[test]
    fn patterns_join_a_client_and_a_resource_server_into_one_service() {
        let servers = [
            server(
                "customers-v1-resource-server",
                "customers-v1",
                &[("customer.read", "Read")],
            ),
            server(
                "https://gateway.example.com",
                "gateway",
                &[("demo.read", "")],
            ),
        ];
        let clients = [
            client(
                "c1",
                "customers-v1-app-client",
                &["client_credentials"],
                &["https://gateway.example.com/demo.read"],
            ),
            client("c2", "Web Login", &["code"], &[]),
            client(
                "c3",
                "reporting",
                &["client_credentials"],
                &["customers-v1-resource-server/customer.read"],
            ),
        ];
        let pool = Pool {
            pool_id: "us-east-1_X",
            region: Some("us-east-1"),
            resource_servers: &servers,
            clients: &clients,
        };
        let text = services_toml(&pool, &Patterns::default());
        assert_eq!(
            text,
            r#"# services.toml imported from user pool us-east-1_X by `cogwire import`.
# Review it, then `cogwire plan`: the first plan only records what exists (imports).
#
# Clients left out (cogwire manages client-credentials clients only):
#   Web Login (c2): code flow, not client_credentials

[pool]
id = "us-east-1_X"
region = "us-east-1"

[services.customers-v1]
identifier = "customers-v1-resource-server"
scopes = { "customer.read" = "Read" }
consumes = ["gateway/demo.read"]

[services.gateway]
identifier = "https://gateway.example.com"
scopes = { "demo.read" = "" }

[services.reporting]
consumes = ["customers-v1/customer.read"]
[services.reporting.client]
name = "reporting"
"#
        );
        let model = crate::model::load(&text, None).expect("the import is valid");
        assert_eq!(model.client_count(), 2);
    }

    #[test]
    fn output_is_the_same_whatever_order_the_pool_lists_things_in() {
        let servers = [
            server("b", "b", &[("x", "X")]),
            server("a", "a", &[("y", "Y")]),
        ];
        let mut clients = vec![
            client("1", "p-app-client", &["client_credentials"], &["a/y"]),
            client("2", "q-app-client", &["client_credentials"], &["b/x"]),
        ];
        let first = services_toml(
            &Pool {
                pool_id: "p",
                region: None,
                resource_servers: &servers,
                clients: &clients,
            },
            &Patterns::default(),
        );
        clients.reverse();
        let reversed = [servers[1].clone(), servers[0].clone()];
        let second = services_toml(
            &Pool {
                pool_id: "p",
                region: None,
                resource_servers: &reversed,
                clients: &clients,
            },
            &Patterns::default(),
        );
        assert_eq!(first, second);
    }
}
