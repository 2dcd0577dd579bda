//! `import --find-secrets PREFIX`: the entries other tools wrote for the pool's clients (the
//! serverless plugin, terraform, hand-written scripts), found by the client id they hold, and the
//! `[secrets] path` and `fields` under which cogwire would write the same keys and values there,
//! so that adopting them changes nothing their readers get. Pure: takes what was read, returns a
//! proposal or why there is none. Values are compared here, in memory, and never leave: what
//! comes out holds entry names, key names and the token URL, never a value of any other key.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::cloud::stores::{Stored, StoredKind};
use crate::sensitive::Secret;

/// An entry found under the prefix, as the store holds it.
#[derive(Debug, Clone)]
pub struct FoundEntry {
    pub name: String,
    pub stored: Stored,
}

/// A client of the pool that import turned into a service, with what its entry would hold.
#[derive(Debug, Clone)]
pub struct ServiceClient<'a> {
    pub service: &'a str,
    pub client_id: &'a str,
    /// The secret Cognito describes; `None` when it has none or did not show one.
    pub secret: Option<&'a Secret>,
    /// The client's scopes, as cogwire writes them (`<identifier>/<scope>`, sorted).
    pub scopes: &'a BTreeSet<String>,
}

/// What the entries found say `[secrets]` should be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Proposal {
    /// The path template: the entries' names with the service's name as `{service}`.
    pub path: String,
    /// Each key cogwire writes, by the name the entries use; `None` when they use cogwire's own
    /// names for all of its keys.
    pub fields: Option<BTreeMap<String, String>>,
    /// The token URL the entries hold, for `[pool] token_url`.
    pub token_url: Option<String>,
    /// The entries' key names, sorted.
    pub keys: Vec<String>,
    /// What kind of entry they all are.
    pub kind: StoredKind,
}

/// The outcome of a search: which entries hold which client's id, and the proposal, or why
/// there is none.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub prefix: String,
    /// Entries read under the prefix.
    pub read: usize,
    /// Service to the name of the entry that holds its client's id.
    pub entries: BTreeMap<String, String>,
    pub proposal: Option<Proposal>,
    /// Why nothing is proposed, when nothing is.
    pub reason: Option<String>,
}

/// cogwire's name for each key it writes in a JSON entry.
const CLIENT_ID: &str = "client_id";
const CLIENT_SECRET: &str = "client_secret";
const TOKEN_URL: &str = "token_url";
const SCOPES: &str = "scopes";
const USER_POOL_ID: &str = "user_pool_id";

/// How deep into an entry's JSON a client id is looked for.
const MAX_DEPTH: usize = 8;

/// Where in an entry a client's id was found.
enum Holding {
    /// A key of the top-level object.
    TopLevel,
    /// Deeper: the dotted path to it.
    Nested(String),
    /// The whole value is the id.
    Whole,
}

/// Finds the entries under `prefix` that hold a client's id, and what `[secrets]` would let
/// cogwire write exactly what they hold.
pub fn propose(
    prefix: &str,
    found: &[FoundEntry],
    clients: &[ServiceClient<'_>],
    pool_id: &str,
) -> Finding {
    let mut finding = Finding {
        prefix: prefix.to_owned(),
        read: found.len(),
        entries: BTreeMap::new(),
        proposal: None,
        reason: None,
    };
    match infer(found, clients, pool_id, &mut finding.entries) {
        Ok(proposal) => finding.proposal = Some(proposal),
        Err(reason) => finding.reason = Some(reason),
    }
    finding
}

fn infer(
    found: &[FoundEntry],
    clients: &[ServiceClient<'_>],
    pool_id: &str,
    entries: &mut BTreeMap<String, String>,
) -> Result<Proposal, String> {
    let by_id: BTreeMap<&str, &ServiceClient<'_>> = clients
        .iter()
        .map(|client| (client.client_id, client))
        .collect();
    // Entry to the client whose id it holds, with where.
    let mut matched: Vec<(&FoundEntry, &ServiceClient<'_>, Holding)> = Vec::new();
    for entry in found {
        if entry.stored.kind == StoredKind::BinarySecret {
            continue;
        }
        let value = entry.stored.value.expose();
        let holdings = match serde_json::from_str::<serde_json::Value>(value) {
            Ok(json) => ids_in(&json, &by_id),
            Err(_) => by_id
                .get(value.trim())
                .map(|client| vec![(*client, Holding::Whole)])
                .unwrap_or_default(),
        };
        let mut of_clients = holdings.iter().map(|(client, _)| client.service);
        if let (Some(first), Some(second)) = (of_clients.next(), of_clients.next())
            && first != second
        {
            return Err(format!(
                "{} holds the ids of two clients (of `{first}` and `{second}`)",
                entry.name
            ));
        }
        if let Some((client, holding)) = holdings.into_iter().next() {
            matched.push((entry, client, holding));
        }
    }
    if matched.is_empty() {
        return Err("no entry there holds the id of one of the pool's clients".to_owned());
    }
    for (entry, client, _) in &matched {
        if let Some(other) = entries.insert(client.service.to_owned(), entry.name.clone()) {
            return Err(format!(
                "two entries hold the id of the client of `{}`: {other} and {}",
                client.service, entry.name
            ));
        }
    }
    for (entry, client, holding) in &matched {
        match holding {
            Holding::TopLevel => {}
            Holding::Nested(path) => {
                return Err(format!(
                    "{} holds the client id of `{}` at `{path}`, inside other JSON; `fields` names top-level keys, so cogwire cannot write that entry without changing what its readers get",
                    entry.name, client.service
                ));
            }
            Holding::Whole => {
                return Err(format!(
                    "{} holds the client id of `{}` alone, not in a JSON object",
                    entry.name, client.service
                ));
            }
        }
        if entry.stored.kind != StoredKind::SecureString && entry.stored.kind != StoredKind::Secret
        {
            return Err(format!(
                "{} is a {}; cogwire stores credentials as SecureStrings and never changes an entry's kind, so it could not adopt it",
                entry.name, entry.stored.kind
            ));
        }
    }
    let kind = matched[0].0.stored.kind;
    if matched.iter().any(|(entry, ..)| entry.stored.kind != kind) {
        return Err("the entries are not all of one kind".to_owned());
    }

    // The keys each entry holds, by cogwire's names; they must agree.
    let mut agreed: Option<(BTreeMap<&'static str, String>, &str)> = None;
    // The token URL each entry holds (`None`: null), of those that hold one.
    let mut token_urls: BTreeSet<Option<String>> = BTreeSet::new();
    for (entry, client, _) in &matched {
        let (roles, url) = roles(entry, client, pool_id)?;
        token_urls.extend(url);
        match &agreed {
            None => agreed = Some((roles, &entry.name)),
            Some((first, first_name)) if *first != roles => {
                return Err(format!(
                    "the entries use different keys: {first_name} holds {}, {} holds {}",
                    listed(first),
                    entry.name,
                    listed(&roles)
                ));
            }
            Some(_) => {}
        }
    }
    let Some((roles, _)) = agreed else {
        return Err("no entry there holds the id of one of the pool's clients".to_owned());
    };
    if token_urls.len() > 1 {
        return Err(format!(
            "the entries hold {} different token URLs (or none), and `[pool] token_url` is one",
            token_urls.len()
        ));
    }
    let path = template(&matched)?;
    let keys: Vec<String> = roles
        .values()
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let all_own = [CLIENT_ID, CLIENT_SECRET, TOKEN_URL, SCOPES, USER_POOL_ID]
        .iter()
        .all(|key| roles.get(key).is_some_and(|name| name == key));
    Ok(Proposal {
        path,
        fields: (!all_own).then(|| {
            roles
                .into_iter()
                .map(|(key, name)| (key.to_owned(), name))
                .collect()
        }),
        token_url: token_urls.into_iter().next().flatten(),
        keys,
        kind,
    })
}

/// Every place in `json` that holds one of the clients' ids (objects only; arrays are not
/// entered).
fn ids_in<'a, 'b>(
    json: &serde_json::Value,
    by_id: &BTreeMap<&str, &'b ServiceClient<'a>>,
) -> Vec<(&'b ServiceClient<'a>, Holding)> {
    fn walk<'a, 'b>(
        value: &serde_json::Value,
        path: &mut Vec<String>,
        by_id: &BTreeMap<&str, &'b ServiceClient<'a>>,
        out: &mut Vec<(&'b ServiceClient<'a>, Holding)>,
    ) {
        match value {
            serde_json::Value::String(text) => {
                if let Some(client) = by_id.get(text.as_str()) {
                    let holding = match path.len() {
                        0 => Holding::Whole,
                        1 => Holding::TopLevel,
                        _ => Holding::Nested(path.join(".")),
                    };
                    out.push((*client, holding));
                }
            }
            serde_json::Value::Object(object) if path.len() < MAX_DEPTH => {
                for (key, inner) in object {
                    path.push(key.clone());
                    walk(inner, path, by_id, out);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(json, &mut Vec::new(), by_id, &mut out);
    out
}

/// cogwire's name of each key an entry holds, to the entry's name for it.
type Roles = BTreeMap<&'static str, String>;

/// Each key of a top-level JSON entry by the cogwire key it holds, and the token URL: every key
/// must be one cogwire writes with the same value, or adopting the entry would change it.
fn roles(
    entry: &FoundEntry,
    client: &ServiceClient<'_>,
    pool_id: &str,
) -> Result<(Roles, Option<Option<String>>), String> {
    let Ok(serde_json::Value::Object(object)) =
        serde_json::from_str::<serde_json::Value>(entry.stored.value.expose())
    else {
        return Err(format!("{} does not hold a JSON object", entry.name));
    };
    let mut roles: BTreeMap<&'static str, String> = BTreeMap::new();
    let mut token_url = None;
    let scopes: Vec<&str> = client.scopes.iter().map(String::as_str).collect();
    for (key, value) in &object {
        let text = value.as_str();
        let role = if text == Some(client.client_id) {
            CLIENT_ID
        } else if text.is_some() && text == client.secret.map(Secret::expose) {
            CLIENT_SECRET
        } else if let Some(url) = text.filter(|text| is_token_url(text)) {
            token_url = Some(Some(url.to_owned()));
            TOKEN_URL
        } else if value.is_null() {
            // What cogwire writes as `token_url` when it knows none.
            token_url = Some(None);
            TOKEN_URL
        } else if text == Some(pool_id) {
            USER_POOL_ID
        } else if value.as_array().is_some_and(|array| {
            array
                .iter()
                .map(|scope| scope.as_str())
                .eq(scopes.iter().map(|scope| Some(*scope)))
        }) {
            SCOPES
        } else {
            return Err(format!(
                "{} holds the key `{key}`, which cogwire does not write (not the client's id, current secret, token URL, scopes or pool id): adopting it would drop that key",
                entry.name
            ));
        };
        if let Some(earlier) = roles.insert(role, key.clone()) {
            return Err(format!(
                "{} holds the {} under two keys, `{earlier}` and `{key}`",
                entry.name,
                role.replace('_', " ")
            ));
        }
    }
    if !roles.contains_key(CLIENT_SECRET) {
        return Err(format!(
            "no key of {} holds the current secret of the client of `{}` (an older secret, or the client has two?)",
            entry.name, client.service
        ));
    }
    Ok((roles, token_url))
}

fn is_token_url(text: &str) -> bool {
    (text.starts_with("https://") || text.starts_with("http://"))
        && text.ends_with("/oauth2/token")
        && !text.contains(char::is_whitespace)
}

/// The path template all the entries' names share: each name with its service's name as
/// `{service}`, at the one place that gives every entry the same template.
fn template(matched: &[(&FoundEntry, &ServiceClient<'_>, Holding)]) -> Result<String, String> {
    let mut common: Option<BTreeSet<String>> = None;
    for (entry, client, _) in matched {
        let candidates: BTreeSet<String> = entry
            .name
            .match_indices(client.service)
            .map(|(at, service)| {
                format!(
                    "{}{{service}}{}",
                    &entry.name[..at],
                    &entry.name[at + service.len()..]
                )
            })
            .collect();
        if candidates.is_empty() {
            return Err(format!(
                "{} does not hold the name of its service `{}`, so no path template names it",
                entry.name, client.service
            ));
        }
        common = Some(match common {
            None => candidates,
            Some(common) => common.intersection(&candidates).cloned().collect(),
        });
    }
    let common = common.unwrap_or_default();
    let mut templates = common.into_iter();
    match (templates.next(), templates.next()) {
        (Some(only), None) => Ok(only),
        (None, _) => Err(
            "the entries' names follow no one template with the service's name in it".to_owned(),
        ),
        (Some(first), Some(second)) => Err(format!(
            "the entries' names fit more than one template (`{first}`, `{second}`); name the service in one place"
        )),
    }
}

fn listed(roles: &BTreeMap<&'static str, String>) -> String {
    roles
        .values()
        .map(|key| format!("`{key}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const POOL: &str = "us-east-1_P";

    fn entry(name: &str, kind: StoredKind, value: &str) -> FoundEntry {
        FoundEntry {
            name: name.to_owned(),
            stored: Stored {
                value: Secret::new(value),
                kind,
            },
        }
    }

    fn plugin(name: &str, id: &str, secret: &str) -> FoundEntry {
        entry(
            name,
            StoredKind::SecureString,
            &format!(
                r#"{{"url":"https://example-prefix.auth.us-east-1.amazoncognito.com/oauth2/token","clientId":"{id}","clientSecret":"{secret}"}}"#
            ),
        )
    }

    struct Clients {
        secrets: Vec<Secret>,
        scopes: BTreeSet<String>,
    }

    impl Clients {
        fn new() -> Self {
            Self {
                secrets: vec![Secret::new("s-orders"), Secret::new("s-billing")],
                scopes: BTreeSet::from(["orders/read".to_owned()]),
            }
        }

        fn list(&self) -> Vec<ServiceClient<'_>> {
            vec![
                ServiceClient {
                    service: "orders",
                    client_id: "id-orders",
                    secret: Some(&self.secrets[0]),
                    scopes: &self.scopes,
                },
                ServiceClient {
                    service: "billing",
                    client_id: "id-billing",
                    secret: Some(&self.secrets[1]),
                    scopes: &self.scopes,
                },
            ]
        }
    }

    #[test]
    fn plugin_entries_give_their_path_fields_and_token_url() {
        let found = [
            plugin("/app/orders/credentials", "id-orders", "s-orders"),
            plugin("/app/billing/credentials", "id-billing", "s-billing"),
            entry(
                "/app/orders/database",
                StoredKind::SecureString,
                r#"{"password":"x"}"#,
            ),
        ];
        let clients = Clients::new();
        let finding = propose("/app", &found, &clients.list(), POOL);
        assert_eq!(finding.reason, None);
        let proposal = finding.proposal.expect("a proposal");
        assert_eq!(proposal.path, "/app/{service}/credentials");
        assert_eq!(
            proposal.fields,
            Some(BTreeMap::from([
                ("client_id".to_owned(), "clientId".to_owned()),
                ("client_secret".to_owned(), "clientSecret".to_owned()),
                ("token_url".to_owned(), "url".to_owned()),
            ]))
        );
        assert_eq!(
            proposal.token_url.as_deref(),
            Some("https://example-prefix.auth.us-east-1.amazoncognito.com/oauth2/token")
        );
        assert_eq!(finding.read, 3);
        assert_eq!(finding.entries.len(), 2);
    }

    #[test]
    fn nothing_it_returns_holds_a_secret() {
        let found = [plugin("/app/orders/credentials", "id-orders", "s-orders")];
        let clients = Clients::new();
        let finding = propose("/app", &found, &clients.list(), POOL);
        let shown = format!("{finding:?} {}", serde_json::json!(finding));
        assert!(finding.proposal.is_some());
        assert!(!shown.contains("s-orders"), "{shown}");
    }

    #[test]
    fn cogwires_own_names_need_no_fields() {
        let value = r#"{"client_id":"id-orders","client_secret":"s-orders","token_url":null,"scopes":["orders/read"],"user_pool_id":"us-east-1_P"}"#;
        let found = [entry("/x/orders", StoredKind::SecureString, value)];
        let clients = Clients::new();
        let proposal = propose("/x", &found, &clients.list(), POOL)
            .proposal
            .expect("a proposal");
        assert_eq!(proposal.path, "/x/{service}");
        assert_eq!(proposal.fields, None);
        assert_eq!(
            proposal.token_url, None,
            "null: cogwire knows no URL either"
        );
        let value = r#"{"client_id":"id-orders","client_secret":"s-orders","token_url":"https://a.b/oauth2/token","scopes":["orders/read"],"user_pool_id":"us-east-1_P"}"#;
        let found = [entry("/x/orders", StoredKind::SecureString, value)];
        let proposal = propose("/x", &found, &clients.list(), POOL)
            .proposal
            .expect("a proposal");
        assert_eq!(proposal.fields, None);
    }

    #[test]
    fn entries_that_disagree_give_no_proposal_and_say_why() {
        let clients = Clients::new();
        let reason = |found: &[FoundEntry]| {
            let finding = propose("/app", found, &clients.list(), POOL);
            assert_eq!(finding.proposal, None);
            finding.reason.expect("a reason")
        };
        let other_keys = entry(
            "/app/billing/credentials",
            StoredKind::SecureString,
            r#"{"client_id":"id-billing","client_secret":"s-billing"}"#,
        );
        let text = reason(&[
            plugin("/app/orders/credentials", "id-orders", "s-orders"),
            other_keys,
        ]);
        assert!(text.contains("different keys"), "{text}");
        let text = reason(&[
            plugin("/app/orders/credentials", "id-orders", "s-orders"),
            plugin("/legacy/billing-creds", "id-billing", "s-billing"),
        ]);
        assert!(text.contains("no one template"), "{text}");
        let text = reason(&[entry(
            "/app/orders/credentials",
            StoredKind::SecureString,
            r#"{"clientId":"id-orders","clientSecret":"s-orders","region":"us-east-1"}"#,
        )]);
        assert!(text.contains("`region`"), "{text}");
        let text = reason(&[plugin(
            "/app/orders/credentials",
            "id-orders",
            "an-old-secret",
        )]);
        assert!(text.contains("current secret"), "{text}");
        let text = reason(&[entry(
            "/app/orders/credentials",
            StoredKind::String,
            r#"{"clientId":"id-orders","clientSecret":"s-orders"}"#,
        )]);
        assert!(text.contains("String parameter"), "{text}");
        let text = reason(&[
            plugin("/app/orders/credentials", "id-orders", "s-orders"),
            plugin("/app/orders/old", "id-orders", "s-orders"),
        ]);
        assert!(text.contains("two entries"), "{text}");
        let text = reason(&[entry("/app/none", StoredKind::SecureString, "{}")]);
        assert!(text.contains("no entry"), "{text}");
        for text in [
            reason(&[plugin(
                "/app/orders/credentials",
                "id-orders",
                "an-old-secret",
            )]),
            reason(&[entry(
                "/app/orders/credentials",
                StoredKind::SecureString,
                r#"{"clientId":"id-orders","clientSecret":"s-orders","password":"hunter2"}"#,
            )]),
        ] {
            assert!(
                !text.contains("s-orders") && !text.contains("hunter2"),
                "{text}"
            );
        }
    }

    /// The plugin merges the credentials into the application's configuration, under
    /// `auth.cognito`: cogwire cannot write that without dropping the rest.
    #[test]
    fn credentials_nested_in_other_configuration_are_named_not_proposed() {
        let value = r#"{"auth":{"cognito":{"url":"https://a.b/oauth2/token","clientId":"id-orders","clientSecret":"s-orders"}},"database":{"password":"hunter2"}}"#;
        let found = [entry(
            "/layered-apis/orders/prod",
            StoredKind::SecureString,
            value,
        )];
        let clients = Clients::new();
        let finding = propose("/layered-apis", &found, &clients.list(), POOL);
        assert_eq!(finding.proposal, None);
        let reason = finding.reason.expect("a reason");
        assert!(reason.contains("`auth.cognito.clientId`"), "{reason}");
        assert!(!reason.contains("hunter2") && !reason.contains("s-orders"));
    }

    #[test]
    fn an_ambiguous_service_name_in_one_entry_is_refused() {
        let found = [plugin("/orders/orders", "id-orders", "s-orders")];
        let clients = Clients::new();
        let finding = propose("/", &found, &clients.list(), POOL);
        assert!(
            finding
                .reason
                .is_some_and(|reason| reason.contains("more than one template"))
        );
        // A second entry settles which part is the service.
        let found = [
            plugin("/orders/orders", "id-orders", "s-orders"),
            plugin("/orders/billing", "id-billing", "s-billing"),
        ];
        let finding = propose("/", &found, &clients.list(), POOL);
        assert_eq!(
            finding.proposal.map(|proposal| proposal.path).as_deref(),
            Some("/orders/{service}")
        );
    }
}
