//! `import`: a live pool described as a services.toml, so teams adopt cogwire without recreating
//! clients (which would change their ids and break every caller). Pure: takes what was read,
//! returns the text.

pub mod environment;
mod read;
pub mod secrets;

pub use read::{ReadPool, find_secrets, read_pool};

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::cloud::{ClientState, ResourceServerState};
use crate::config::duration::Seconds;
use crate::config::rules;
use crate::plan::diff::CLIENT_CREDENTIALS;

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

/// What the pool becomes: the services to write and the clients left out. The services.toml and
/// the `--json` summary are two renderings of this one value.
#[derive(Debug)]
pub struct Import {
    pool_id: String,
    region: Option<String>,
    services: BTreeMap<String, ImportedService>,
    skipped: Vec<SkippedClient>,
    /// What `--find-secrets` found, if it was asked.
    secrets: Option<secrets::Finding>,
}

#[derive(Debug, Default)]
struct ImportedService {
    resource_server: Option<ImportedServer>,
    client: Option<ImportedClient>,
    /// Whether a client whose name leads here may join the resource server: false when the
    /// server's own name was taken and this one is a `-2`-style stand-in.
    joinable: bool,
}

#[derive(Debug)]
struct ImportedServer {
    identifier: String,
    name: String,
    scopes: BTreeMap<String, String>,
}

#[derive(Debug)]
struct ImportedClient {
    id: String,
    name: String,
    consumes: BTreeSet<String>,
    validity: Seconds,
}

/// A client `import` leaves out, and why: listed at the top of the file.
#[derive(Debug, Serialize)]
pub struct SkippedClient {
    pub name: String,
    pub id: String,
    pub reason: String,
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

fn unique(name: String, services: &BTreeMap<String, ImportedService>) -> String {
    if !services.contains_key(&name) {
        return name;
    }
    (2..)
        .map(|index| format!("{name}-{index}"))
        .find(|candidate| !services.contains_key(candidate))
        .unwrap_or(name)
}

/// Why a client cannot become a service, if it cannot.
fn skip_reason(client: &ClientState, name_shared: bool) -> Option<String> {
    if name_shared {
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
    }
}

impl Import {
    /// Maps the pool to services. Names are handed out in two passes, resource servers first:
    /// names that follow the patterns claim their service before any other name can, so
    /// `orders-app-client` joins `orders-resource-server` even when a client named `orders`
    /// exists. Within a pass, names go in sorted order, so the same pool gives the same result
    /// whatever order AWS lists it in.
    pub fn from_pool(pool: &Pool<'_>, patterns: &Patterns) -> Self {
        let mut services: BTreeMap<String, ImportedService> = BTreeMap::new();
        let mut service_of_identifier: BTreeMap<&str, String> = BTreeMap::new();
        let mut servers: Vec<&ResourceServerState> = pool.resource_servers.iter().collect();
        servers.sort_by_key(|server| {
            let by_pattern =
                Patterns::strip(&patterns.resource_server, &server.identifier).is_some();
            (!by_pattern, &server.identifier)
        });
        for server in servers {
            let from_identifier = Patterns::strip(&patterns.resource_server, &server.identifier)
                .is_some()
                || rules::service_name(&server.identifier).is_ok();
            let candidate = if from_identifier {
                service_name(&server.identifier, &patterns.resource_server)
            } else {
                service_name(&server.name, &patterns.resource_server)
            };
            let name = unique(candidate.clone(), &services);
            service_of_identifier.insert(&server.identifier, name.clone());
            services.insert(
                name.clone(),
                ImportedService {
                    resource_server: Some(ImportedServer {
                        identifier: server.identifier.clone(),
                        name: server.name.clone(),
                        scopes: server.scopes.clone(),
                    }),
                    client: None,
                    joinable: name == candidate,
                },
            );
        }

        let mut clients: Vec<&ClientState> = pool.clients.iter().collect();
        clients.sort_by(|left, right| (&left.name, &left.id).cmp(&(&right.name, &right.id)));
        let mut names_seen: BTreeMap<&str, usize> = BTreeMap::new();
        for client in &clients {
            *names_seen.entry(client.name.as_str()).or_default() += 1;
        }
        let mut skipped: Vec<SkippedClient> = Vec::new();
        let mut accepted: Vec<(&ClientState, BTreeSet<String>)> = Vec::new();
        for client in clients {
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
            let reason = skip_reason(client, names_seen[client.name.as_str()] > 1);
            match (reason, consumes) {
                (Some(reason), _) => skipped.push(SkippedClient {
                    name: client.name.clone(),
                    id: client.id.clone(),
                    reason,
                }),
                (None, None) => skipped.push(SkippedClient {
                    name: client.name.clone(),
                    id: client.id.clone(),
                    reason: "a scope of no resource server (standard scopes are for users, not services)"
                        .to_owned(),
                }),
                (None, Some(consumes)) => accepted.push((client, consumes)),
            }
        }
        accepted.sort_by_key(|(client, _)| {
            let by_pattern = Patterns::strip(&patterns.client, &client.name).is_some();
            (!by_pattern, &client.name, &client.id)
        });
        for (client, consumes) in accepted {
            let candidate = service_name(&client.name, &patterns.client);
            let joins = services
                .get(&candidate)
                .is_some_and(|service| service.joinable && service.client.is_none());
            let name = if joins {
                candidate
            } else {
                unique(candidate, &services)
            };
            services.entry(name).or_default().client = Some(ImportedClient {
                id: client.id.clone(),
                name: client.name.clone(),
                consumes,
                validity: client.effective_access_token_validity(),
            });
        }
        Self {
            pool_id: pool.pool_id.to_owned(),
            region: pool.region.map(str::to_owned),
            services,
            skipped,
            secrets: None,
        }
    }

    pub fn skipped(&self) -> &[SkippedClient] {
        &self.skipped
    }

    /// Each service with a client, and the client's id: whose entries `--find-secrets` looks
    /// for.
    pub fn service_clients(&self) -> Vec<(&str, &str)> {
        self.services
            .iter()
            .filter_map(|(name, service)| {
                Some((name.as_str(), service.client.as_ref()?.id.as_str()))
            })
            .collect()
    }

    /// Writes `finding` into the file: the proposed `[secrets]` (and `[pool] token_url`), or
    /// why none is proposed.
    pub fn set_secrets(&mut self, finding: secrets::Finding) {
        self.secrets = Some(finding);
    }

    pub fn secrets(&self) -> Option<&secrets::Finding> {
        self.secrets.as_ref()
    }

    /// Drops the proposal, keeping why, when the file it would give does not validate.
    pub fn withdraw_secrets(&mut self, reason: String) {
        if let Some(finding) = &mut self.secrets {
            finding.proposal = None;
            finding.reason = Some(reason);
        }
    }

    fn proposal(&self) -> Option<&secrets::Proposal> {
        self.secrets.as_ref()?.proposal.as_ref()
    }

    /// The `--json` summary: what was written where, and what was left out and why.
    pub fn summary(&self, output: &Path) -> serde_json::Value {
        let services: Vec<serde_json::Value> = self
            .services
            .iter()
            .map(|(name, service)| {
                serde_json::json!({
                    "name": name,
                    "resource_server": service.resource_server.as_ref().map(|server| &server.identifier),
                    "client": service.client.as_ref().map(|client| serde_json::json!({
                        "name": client.name,
                        "id": client.id,
                        "consumes": client.consumes,
                    })),
                })
            })
            .collect();
        let mut summary = serde_json::json!({
            "format_version": "1",
            "pool_id": self.pool_id,
            "output": output,
            "services": services,
            "skipped": self.skipped,
        });
        if let (Some(finding), Some(object)) = (&self.secrets, summary.as_object_mut()) {
            object.insert("secrets".to_owned(), serde_json::json!(finding));
        }
        summary
    }

    /// `[pool]`'s keys as `key = value`: the id, the region, and the quotas a pool over AWS's
    /// defaults needs, so that validate accepts what import wrote.
    pub(crate) fn pool_keys(&self) -> Vec<String> {
        let mut keys = vec![format!("id = {}", quote(&self.pool_id))];
        if let Some(region) = &self.region {
            keys.push(format!("region = {}", quote(region)));
        }
        if let Some(url) = self
            .proposal()
            .and_then(|proposal| proposal.token_url.as_ref())
        {
            keys.push(format!("token_url = {}", quote(url)));
        }
        let resource_servers = self
            .services
            .values()
            .filter(|service| service.resource_server.is_some())
            .count();
        if resource_servers as u64 > rules::DEFAULT_MAX_RESOURCE_SERVERS {
            keys.push(format!("max_resource_servers = {resource_servers}"));
        }
        let clients = self
            .services
            .values()
            .filter(|service| service.client.is_some())
            .count();
        if clients as u64 > rules::DEFAULT_MAX_CLIENTS {
            keys.push(format!("max_clients = {clients}"));
        }
        keys
    }

    /// The `[pool]` table as `to_toml` writes it, and the proposed `[secrets]` after it.
    fn pool_table(&self) -> String {
        let mut out = format!("\n[pool]\n{}\n", self.pool_keys().join("\n"));
        out.push_str(&self.secrets_comment());
        if let Some(keys) = self.secrets_keys() {
            let _ = writeln!(out, "[secrets]\n{}", keys.join("\n"));
        }
        out
    }

    /// `[secrets]`'s keys as `key = value`, when a proposal was found.
    pub(crate) fn secrets_keys(&self) -> Option<Vec<String>> {
        let proposal = self.proposal()?;
        let mut keys = vec![format!("path = {}", quote(&proposal.path))];
        if let Some(fields) = &proposal.fields {
            let entries: Vec<String> = fields
                .iter()
                .map(|(key, name)| format!("{key} = {}", quote(name)))
                .collect();
            keys.push(format!("fields = {{ {} }}", entries.join(", ")));
        }
        Some(keys)
    }

    /// Comment lines on what `--find-secrets` found: the entries, and the proposal or why none.
    pub(crate) fn secrets_comment(&self) -> String {
        let Some(finding) = &self.secrets else {
            return String::new();
        };
        let mut out = String::new();
        let clients = self.service_clients().len();
        let searched = format!("`import --find-secrets {}`", finding.prefix);
        match &finding.proposal {
            Some(proposal) => {
                let _ = writeln!(
                    out,
                    "#\n# {searched} read {}; {} the id of one of the pool's {clients}\n# clients, each a {} with keys {}:",
                    entries(finding.read),
                    match finding.entries.len() {
                        1 => "1 holds".to_owned(),
                        count => format!("{count} hold"),
                    },
                    proposal.kind,
                    proposal.keys.join(", "),
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "#\n# {searched} read {} and proposes no [secrets]: {}.",
                    entries(finding.read),
                    finding.reason.as_deref().unwrap_or("nothing matched")
                );
                if !finding.entries.is_empty() {
                    let _ = writeln!(out, "# Entries that hold a client's id:");
                }
            }
        }
        for (service, entry) in &finding.entries {
            let _ = writeln!(out, "#   {service}: {entry}");
        }
        if let Some(proposal) = &finding.proposal {
            let url = if proposal.token_url.is_some() {
                ", and [pool] token_url the URL they hold"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "# With the [secrets] below{url}, cogwire writes the same keys and\n# values there: adopting them changes nothing their readers get. For each service above:\n# `cogwire sync-secrets --dry-run --adopt SERVICE`, then the same without --dry-run."
            );
        }
        out
    }

    /// Renders services.toml. Deterministic: the same pool gives the same bytes.
    pub fn to_toml(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{}", crate::config::schema::DIRECTIVE);
        let _ = writeln!(
            out,
            "# services.toml imported from user pool {} by `cogwire import`.",
            self.pool_id
        );
        let _ = writeln!(
            out,
            "# Review it, then `cogwire plan`: the first plan only records what exists (imports)."
        );
        if !self.skipped.is_empty() {
            let _ = writeln!(
                out,
                "#\n# Clients left out (cogwire manages client-credentials clients only):"
            );
            for client in &self.skipped {
                let _ = writeln!(
                    out,
                    "#   {} ({}): {}",
                    client.name, client.id, client.reason
                );
            }
        }
        let _ = write!(out, "{}", self.pool_table());
        for (name, service) in &self.services {
            let _ = writeln!(out, "\n[services.{}]", key(name));
            if let Some(server) = &service.resource_server {
                if server.identifier != *name {
                    let _ = writeln!(out, "identifier = {}", quote(&server.identifier));
                }
                if server.name != *name {
                    let _ = writeln!(out, "name = {}", quote(&server.name));
                }
                let entries: Vec<String> = server
                    .scopes
                    .iter()
                    .map(|(scope, description)| {
                        format!("{} = {}", quote(scope), quote(description))
                    })
                    .collect();
                let _ = writeln!(out, "scopes = {{ {} }}", entries.join(", "));
            }
            let Some(client) = &service.client else {
                continue;
            };
            let entries: Vec<String> = client.consumes.iter().map(|scope| quote(scope)).collect();
            let _ = writeln!(out, "consumes = [{}]", entries.join(", "));
            let custom_name = (client.name != format!("{name}-app-client")).then_some(&client.name);
            let custom_validity = (client.validity != Seconds::HOUR).then_some(client.validity);
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
}

/// "1 entry", "3 entries".
pub(crate) fn entries(count: usize) -> String {
    if count == 1 {
        "1 entry".to_owned()
    } else {
        format!("{count} entries")
    }
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
        let text = Import::from_pool(&pool, &Patterns::default()).to_toml();
        assert_eq!(
            text,
            r#"#:schema ./services.schema.json
# services.toml imported from user pool us-east-1_X by `cogwire import`.
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
        let model = crate::config::model::load(&text, None).expect("the import is valid");
        assert_eq!(model.client_count(), 2);
    }

    /// A pool over AWS's default quota keeps its `max_resource_servers` in the pool's table,
    /// `[pool]` or an environment's `pool = { ... }`, and the file validates either way.
    #[test]
    fn a_pool_over_the_default_quota_imports_valid_as_an_environment() {
        let servers: Vec<ResourceServerState> = (0..30)
            .map(|index| server(&format!("s{index}"), &format!("s{index}"), &[("r", "R")]))
            .collect();
        let pool = Pool {
            pool_id: "us-east-1_X",
            region: Some("us-east-1"),
            resource_servers: &servers,
            clients: &[],
        };
        let import = Import::from_pool(&pool, &Patterns::default());
        let plain = import.to_toml();
        assert!(plain.contains(
            "[pool]\nid = \"us-east-1_X\"\nregion = \"us-east-1\"\nmax_resource_servers = 30\n"
        ));
        crate::config::model::load(&plain, None).expect("the import is valid");
        let staging = import.to_toml_in("staging");
        assert!(!staging.contains("[pool]"), "{staging}");
        assert!(staging.contains(
            "pool = { id = \"us-east-1_X\", region = \"us-east-1\", max_resource_servers = 30 }"
        ));
        let models = crate::config::model::load_all(&staging, None, None)
            .unwrap_or_else(|problems| panic!("invalid: {problems:?}\n{staging}"));
        assert_eq!(models[0].resource_server_count(), 30);
    }

    /// The proposal of `--find-secrets` lands in `[secrets]` and `[pool] token_url`, or in the
    /// environment's table, and validates either way; without one, the file says why.
    #[test]
    fn found_entries_become_the_secrets_table_or_a_reason() {
        use crate::cloud::stores::{Stored, StoredKind};
        use crate::sensitive::Secret;
        let servers = [server("orders", "orders", &[("read", "Read")])];
        let clients = [client(
            "id-billing",
            "billing-app-client",
            &["client_credentials"],
            &["orders/read"],
        )];
        let pool = Pool {
            pool_id: "us-east-1_X",
            region: Some("us-east-1"),
            resource_servers: &servers,
            clients: &clients,
        };
        let mut import = Import::from_pool(&pool, &Patterns::default());
        assert_eq!(import.service_clients(), vec![("billing", "id-billing")]);
        let secret = Secret::new("the-secret");
        let scopes = clients[0].scopes.clone();
        let found = [secrets::FoundEntry {
            name: "/app/billing/credentials".to_owned(),
            stored: Stored {
                value: Secret::new(
                    r#"{"url":"https://example-prefix.auth.us-east-1.amazoncognito.com/oauth2/token","clientId":"id-billing","clientSecret":"the-secret"}"#,
                ),
                kind: StoredKind::SecureString,
            },
        }];
        let service_clients = [secrets::ServiceClient {
            service: "billing",
            client_id: "id-billing",
            secret: Some(&secret),
            scopes: &scopes,
        }];
        import.set_secrets(secrets::propose(
            "/app",
            &found,
            &service_clients,
            "us-east-1_X",
        ));
        let text = import.to_toml();
        assert!(
            text.contains(
                "token_url = \"https://example-prefix.auth.us-east-1.amazoncognito.com/oauth2/token\"\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("[secrets]\npath = \"/app/{service}/credentials\"\nfields = { client_id = \"clientId\", client_secret = \"clientSecret\", token_url = \"url\" }\n"),
            "{text}"
        );
        assert!(
            text.contains("#   billing: /app/billing/credentials\n"),
            "{text}"
        );
        assert!(!text.contains("the-secret"));
        let model = crate::config::model::load(&text, None).expect("the import is valid");
        assert_eq!(model.secrets.path_template, "/app/{service}/credentials");
        let staging = import.to_toml_in("staging");
        assert!(
            staging.contains("secrets = { path = \"/app/{service}/credentials\", fields = {"),
            "{staging}"
        );
        let models = crate::config::model::load_all(&staging, None, None)
            .unwrap_or_else(|problems| panic!("invalid: {problems:?}\n{staging}"));
        assert_eq!(
            models[0].secrets.path_template,
            "/app/{service}/credentials"
        );

        import.withdraw_secrets("a reason".to_owned());
        let text = import.to_toml();
        assert!(!text.contains("\n[secrets]\n"), "{text}");
        assert!(!text.contains("token_url"), "{text}");
        assert!(text.contains("proposes no [secrets]: a reason."), "{text}");
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
        let first = Import::from_pool(
            &Pool {
                pool_id: "p",
                region: None,
                resource_servers: &servers,
                clients: &clients,
            },
            &Patterns::default(),
        )
        .to_toml();
        clients.reverse();
        let reversed = [servers[1].clone(), servers[0].clone()];
        let second = Import::from_pool(
            &Pool {
                pool_id: "p",
                region: None,
                resource_servers: &reversed,
                clients: &clients,
            },
            &Patterns::default(),
        )
        .to_toml();
        assert_eq!(first, second);
    }

    #[test]
    fn a_name_that_follows_the_pattern_wins_its_service_over_a_plain_name() {
        let servers = [
            server("orders-resource-server", "orders", &[("r", "R")]),
            server("billing", "billing", &[("b", "B")]),
        ];
        let clients = [
            client(
                "c1",
                "orders",
                &["client_credentials"],
                &["orders-resource-server/r"],
            ),
            client(
                "c2",
                "orders-app-client",
                &["client_credentials"],
                &["billing/b"],
            ),
        ];
        let pool = Pool {
            pool_id: "p",
            region: None,
            resource_servers: &servers,
            clients: &clients,
        };
        let text = Import::from_pool(&pool, &Patterns::default()).to_toml();
        assert!(
            text.contains(
                "[services.orders]\nidentifier = \"orders-resource-server\"\nscopes = { \"r\" = \"R\" }\nconsumes = [\"billing/b\"]\n\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "[services.orders-2]\nconsumes = [\"orders/r\"]\n[services.orders-2.client]\nname = \"orders\"\n"
            ),
            "{text}"
        );
        crate::config::model::load(&text, None).expect("the import is valid");
    }

    #[test]
    fn a_resource_server_that_follows_the_pattern_wins_over_a_plain_identifier() {
        let servers = [
            server("orders", "orders", &[("a", "A")]),
            server("orders-api", "orders-api", &[("b", "B")]),
        ];
        let clients = [client(
            "c1",
            "orders-client",
            &["client_credentials"],
            &["orders/a"],
        )];
        let pool = Pool {
            pool_id: "p",
            region: None,
            resource_servers: &servers,
            clients: &clients,
        };
        let patterns = Patterns {
            client: "{service}-client".to_owned(),
            resource_server: "{service}-api".to_owned(),
        };
        let text = Import::from_pool(&pool, &patterns).to_toml();
        assert!(
            text.contains(
                "[services.orders]\nidentifier = \"orders-api\"\nname = \"orders-api\"\nscopes = { \"b\" = \"B\" }\nconsumes = [\"orders-2/a\"]\n[services.orders.client]\nname = \"orders-client\"\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("[services.orders-2]\nidentifier = \"orders\"\nname = \"orders\"\n"),
            "{text}"
        );
        crate::config::model::load(&text, None).expect("the import is valid");
    }

    #[test]
    fn a_client_never_joins_a_resource_server_renamed_to_keep_names_unique() {
        let servers = [
            server("orders-resource-server", "orders", &[("r", "R")]),
            server("orders", "orders", &[("s", "S")]),
        ];
        let clients = [client(
            "c1",
            "orders-2-app-client",
            &["client_credentials"],
            &["orders/s"],
        )];
        let pool = Pool {
            pool_id: "p",
            region: None,
            resource_servers: &servers,
            clients: &clients,
        };
        let text = Import::from_pool(&pool, &Patterns::default()).to_toml();
        assert!(
            text.contains("[services.orders-2]\nidentifier = \"orders\"\nname = \"orders\"\nscopes = { \"s\" = \"S\" }\n\n"),
            "{text}"
        );
        assert!(
            text.contains("[services.orders-2-2]\nconsumes = [\"orders-2/s\"]\n"),
            "{text}"
        );
        crate::config::model::load(&text, None).expect("the import is valid");
    }
}
