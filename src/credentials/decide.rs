//! The last stage: credentials where services read them. Pure decisions only: which entries a
//! service's credentials become (`desired_entries`), what to write, delete or refuse given what
//! is stored (`decide`), and what a rotation step must do given a client's secrets
//! (`rotation_step`). `sync` and `rotate` read AWS, call these, and execute the result.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::cloud::stores::{EntryKind, MANAGED_BY, POOL_TAG, SERVICE_TAG, StoredKind};
use crate::config::model::{CLIENT_ID_ENTRY, CLIENT_SECRET_ENTRY, SecretLayout, SecretsSettings};
use crate::sensitive::Secret;

/// What a service needs to get a token: the JSON a `json` entry holds.
#[derive(Debug, Clone)]
pub struct Credential {
    pub client_id: String,
    pub client_secret: Secret,
    pub token_url: Option<String>,
    pub scopes: BTreeSet<String>,
    pub user_pool_id: String,
}

impl Credential {
    /// The stored JSON, with the key names `[secrets] fields` gives; wrapped as a secret because
    /// it holds one.
    pub fn json(&self, settings: &SecretsSettings) -> Secret {
        let values = [
            ("client_id", serde_json::json!(self.client_id)),
            (
                "client_secret",
                serde_json::json!(self.client_secret.expose()),
            ),
            ("token_url", serde_json::json!(self.token_url)),
            ("scopes", serde_json::json!(self.scopes)),
            ("user_pool_id", serde_json::json!(self.user_pool_id)),
        ];
        let object: serde_json::Map<String, serde_json::Value> = values
            .into_iter()
            .filter_map(|(key, value)| Some((settings.field(key)?.to_owned(), value)))
            .collect();
        Secret::new(serde_json::Value::Object(object).to_string())
    }
}

/// One entry to hold, of one service.
#[derive(Debug, Clone)]
pub struct DesiredEntry {
    pub service: String,
    pub name: String,
    pub value: Secret,
    pub kind: EntryKind,
}

const CLIENT_ID: &str = CLIENT_ID_ENTRY;
const CLIENT_SECRET: &str = CLIENT_SECRET_ENTRY;

pub fn desired_entries(
    settings: &SecretsSettings,
    service: &str,
    credential: &Credential,
) -> Vec<DesiredEntry> {
    let names = settings.entry_names(&credential.user_pool_id, service);
    let values = match settings.layout {
        SecretLayout::Json => vec![credential.json(settings)],
        SecretLayout::Split => vec![
            Secret::new(credential.client_id.clone()),
            credential.client_secret.clone(),
        ],
    };
    names
        .into_iter()
        .zip(values)
        .map(|((name, kind), value)| DesiredEntry {
            service: service.to_owned(),
            name,
            value,
            kind,
        })
        .collect()
}

/// What the store holds for a service, if it names `client_id`: its client secret.
pub fn stored_secret(
    settings: &SecretsSettings,
    pool_id: &str,
    service: &str,
    client_id: &str,
    values: &BTreeMap<String, Secret>,
) -> Option<Secret> {
    let names = settings.entry_names(pool_id, service);
    match settings.layout {
        SecretLayout::Json => {
            let stored: serde_json::Value =
                serde_json::from_str(values.get(&names[0].0)?.expose()).ok()?;
            let id_key = settings.field(CLIENT_ID)?;
            let secret_key = settings.field(CLIENT_SECRET)?;
            (stored.get(id_key)?.as_str()? == client_id)
                .then(|| stored.get(secret_key)?.as_str().map(Secret::new))?
        }
        SecretLayout::Split => (values.get(&names[0].0)?.expose() == client_id)
            .then(|| values.get(&names[1].0).cloned())?,
    }
}

/// The tags of every entry cogwire writes.
pub fn tags(service: &str, pool_id: &str) -> Vec<(String, String)> {
    vec![
        (MANAGED_BY.0.to_owned(), MANAGED_BY.1.to_owned()),
        (SERVICE_TAG.to_owned(), service.to_owned()),
        (POOL_TAG.to_owned(), pool_id.to_owned()),
    ]
}

/// Where to look for entries cogwire wrote: the fixed part of the template, up to its last `/`
/// before `{service}`.
pub fn scan_path(settings: &SecretsSettings, pool_id: &str) -> String {
    let template = settings.path_template.replace("{pool}", pool_id);
    let fixed = template.split("{service}").next().unwrap_or_default();
    match fixed.rfind('/') {
        Some(0) | None => "/".to_owned(),
        Some(end) => fixed[..end].to_owned(),
    }
}

/// The service whose entry `name` is under the template, if any.
pub fn service_of(settings: &SecretsSettings, pool_id: &str, name: &str) -> Option<String> {
    let template = settings.path_template.replace("{pool}", pool_id);
    let prefix = template.split("{service}").next()?;
    let paths = [
        Some(name),
        name.strip_suffix(&format!("/{CLIENT_ID}")),
        name.strip_suffix(&format!("/{CLIENT_SECRET}")),
    ];
    paths.into_iter().flatten().find_map(|path| {
        let rest = path.strip_prefix(prefix)?;
        let run = rest
            .find(|character: char| {
                !(character.is_ascii_alphanumeric() || matches!(character, '_' | '.' | '-'))
            })
            .unwrap_or(rest.len());
        (1..=run).rev().map(|end| &rest[..end]).find_map(|service| {
            let names = settings.entry_names(pool_id, service);
            names
                .iter()
                .any(|(entry, _)| entry == name)
                .then(|| service.to_owned())
        })
    })
}

/// What the store holds now: values and kinds of the desired names that exist, and which names
/// under the template carry cogwire's tags for this pool.
#[derive(Debug, Clone, Default)]
pub struct Current {
    pub values: BTreeMap<String, Secret>,
    pub kinds: BTreeMap<String, StoredKind>,
    pub managed: BTreeSet<String>,
    /// Services the ownership record maps to a client that still exists. Their entries are never
    /// deleted, declared or not: a service renamed in services.toml before `apply` moved its
    /// client in the record still has its callers reading the old name's entry.
    pub with_clients: BTreeSet<String>,
}

/// What an entry holds, told without its value: the key names of a JSON object, or only what
/// sort of value it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holds {
    JsonKeys(Vec<String>),
    /// JSON, but not an object.
    OtherJson,
    /// Not JSON.
    Text,
    Binary,
}

impl Holds {
    pub fn of(kind: StoredKind, value: &Secret) -> Self {
        if kind == StoredKind::BinarySecret {
            return Self::Binary;
        }
        match serde_json::from_str::<serde_json::Value>(value.expose()) {
            Ok(serde_json::Value::Object(fields)) => {
                Self::JsonKeys(fields.keys().cloned().collect())
            }
            Ok(_) => Self::OtherJson,
            Err(_) => Self::Text,
        }
    }

    /// The key names, when it is a JSON object.
    pub fn keys(&self) -> Option<&[String]> {
        match self {
            Self::JsonKeys(keys) => Some(keys),
            _ => None,
        }
    }
}

impl std::fmt::Display for Holds {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::JsonKeys(keys) if keys.is_empty() => formatter.write_str("an empty JSON object"),
            Self::JsonKeys(keys) => {
                let keys: Vec<String> = keys.iter().map(|key| format!("`{key}`")).collect();
                write!(formatter, "a JSON object with keys {}", keys.join(", "))
            }
            Self::OtherJson => formatter.write_str("JSON that is not an object"),
            Self::Text => formatter.write_str("a value that is not JSON"),
            Self::Binary => formatter.write_str("binary data"),
        }
    }
}

/// Why an entry at a service's path is left alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// It does not carry cogwire's tags for this pool, and the user did not adopt it.
    NotOurs,
    /// Storing the credentials there would change the entry's kind, and so what its readers get.
    KindChange { wanted: StoredKind },
}

/// An entry cogwire did not write, at a path where a service's credentials belong: that
/// service's credentials are not stored (the other services' still are).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message())]
pub struct Foreign {
    pub service: String,
    pub name: String,
    pub kind: StoredKind,
    pub holds: Holds,
    pub refusal: Refusal,
}

impl Foreign {
    fn message(&self) -> String {
        let Self {
            service,
            name,
            kind,
            holds,
            refusal,
        } = self;
        match refusal {
            Refusal::NotOurs => format!(
                "{name} exists and cogwire did not write it (a {kind} holding {holds}, without cogwire's tags for this pool); the credentials of `{service}` were not stored"
            ),
            Refusal::KindChange { wanted } => format!(
                "{name} is a {kind} (holding {holds}) that cogwire did not write; it stores the credentials of `{service}` as a {wanted}, and does not change an entry's kind"
            ),
        }
    }

    pub fn hint(&self) -> String {
        match &self.refusal {
            Refusal::NotOurs => format!(
                "if its readers are to get cogwire's credentials instead (its value is replaced, and cogwire's tags added), run `cogwire sync-secrets --adopt {}`; otherwise choose another `[secrets] path`",
                self.service
            ),
            Refusal::KindChange { .. } => format!(
                "delete {} once nothing reads it (cogwire then creates it), or choose another `[secrets] path`",
                self.name
            ),
        }
    }
}

/// An entry cogwire did not write, taken over because the user said so (`--adopt`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adopted {
    pub service: String,
    pub name: String,
    pub kind: StoredKind,
    pub holds: Holds,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ValueChange {
    Create,
    Update,
}

#[derive(Debug, Clone)]
pub struct Write {
    pub service: String,
    pub name: String,
    pub value: Secret,
    pub kind: EntryKind,
    /// `None`: the value is right, only the tags are missing.
    pub change: Option<ValueChange>,
    /// Add cogwire's tags (a new entry, or one written before it was tagged).
    pub tag: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delete {
    pub service: String,
    pub name: String,
}

/// What a sync does, and the services it touches; the lists are what `--json` shows.
#[derive(Debug, Clone, Default)]
pub struct SyncPlan {
    pub writes: Vec<Write>,
    pub deletes: Vec<Delete>,
    pub changed: BTreeSet<String>,
    pub unchanged: BTreeSet<String>,
    pub deleted: BTreeSet<String>,
    /// Entries cogwire did not write, left alone: their services' credentials are not stored.
    pub refused: Vec<Foreign>,
    /// Entries cogwire did not write, taken over as the user asked.
    pub adopted: Vec<Adopted>,
}

impl SyncPlan {
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty() && self.deletes.is_empty()
    }

    /// The services whose credentials were not stored because of an entry cogwire did not write.
    pub fn refused_services(&self) -> BTreeSet<String> {
        self.refused
            .iter()
            .map(|foreign| foreign.service.clone())
            .collect()
    }

    /// One plan for work done in rounds: what a later round did to a service is what counts.
    pub fn merge(&mut self, later: SyncPlan) {
        self.writes.extend(later.writes);
        self.deletes.extend(later.deletes);
        for service in later.changed.iter().chain(&later.deleted) {
            self.unchanged.remove(service);
        }
        self.unchanged.extend(
            later.unchanged.into_iter().filter(|service| {
                !self.changed.contains(service) && !self.deleted.contains(service)
            }),
        );
        self.changed.extend(later.changed);
        self.deleted.extend(later.deleted);
        for foreign in later.refused {
            if !self.refused.contains(&foreign) {
                self.refused.push(foreign);
            }
        }
        self.adopted.extend(later.adopted);
    }
}

/// Stored JSON counts as the same when it means the same, whoever wrote it.
pub fn same_value(stored: &str, wanted: &str) -> bool {
    stored == wanted
        || matches!(
            (
                serde_json::from_str::<serde_json::Value>(stored),
                serde_json::from_str::<serde_json::Value>(wanted),
            ),
            (Ok(left), Ok(right)) if left.is_object() && left == right
        )
}

/// Desired entries against what is stored. `declared` is every service declared with a client:
/// with it, cogwire-tagged entries of services not among them are deleted; `None` (a run limited
/// by `--service`) deletes nothing. An entry without cogwire's tags is never deleted, nor one of a
/// service whose client still exists (`Current::with_clients`): its client may now be another
/// declared service's, whose own entry is not written yet. An entry without cogwire's tags is
/// never written either unless its service is in `adopt` and writing keeps its kind: otherwise its
/// service is refused whole (none of its entries is written).
pub fn decide(
    settings: &SecretsSettings,
    pool_id: &str,
    desired: &[DesiredEntry],
    current: &Current,
    declared: Option<&BTreeSet<String>>,
    adopt: &BTreeSet<String>,
) -> SyncPlan {
    let mut plan = SyncPlan::default();
    let mut adopted = Vec::new();
    for entry in desired {
        let (Some(stored), Some(&kind)) = (
            current.values.get(&entry.name),
            current.kinds.get(&entry.name),
        ) else {
            continue;
        };
        if current.managed.contains(&entry.name) {
            continue;
        }
        let holds = Holds::of(kind, stored);
        let refusal = if !kind.holds(entry.kind) {
            Refusal::KindChange {
                wanted: kind.written_as(entry.kind),
            }
        } else if adopt.contains(&entry.service) {
            adopted.push(Adopted {
                service: entry.service.clone(),
                name: entry.name.clone(),
                kind,
                holds,
            });
            continue;
        } else {
            Refusal::NotOurs
        };
        plan.refused.push(Foreign {
            service: entry.service.clone(),
            name: entry.name.clone(),
            kind,
            holds,
            refusal,
        });
    }
    let refused = plan.refused_services();
    plan.adopted = adopted
        .into_iter()
        .filter(|adopted| !refused.contains(&adopted.service))
        .collect();
    let desired: Vec<&DesiredEntry> = desired
        .iter()
        .filter(|entry| !refused.contains(&entry.service))
        .collect();
    for entry in &desired {
        let change = match current.values.get(&entry.name) {
            None => Some(ValueChange::Create),
            Some(stored) if !same_value(stored.expose(), entry.value.expose()) => {
                Some(ValueChange::Update)
            }
            Some(_) => None,
        };
        let tag = !current.managed.contains(&entry.name);
        if change.is_some() || tag {
            plan.changed.insert(entry.service.clone());
            plan.writes.push(Write {
                service: entry.service.clone(),
                name: entry.name.clone(),
                value: entry.value.clone(),
                kind: entry.kind,
                change,
                tag,
            });
        }
    }
    for entry in &desired {
        if !plan.changed.contains(&entry.service) {
            plan.unchanged.insert(entry.service.clone());
        }
    }
    if let Some(declared) = declared {
        let wanted: BTreeSet<&str> = desired.iter().map(|entry| entry.name.as_str()).collect();
        for name in &current.managed {
            if wanted.contains(name.as_str()) {
                continue;
            }
            let Some(service) = service_of(settings, pool_id, name) else {
                continue;
            };
            if !declared.contains(&service) && !current.with_clients.contains(&service) {
                plan.deleted.insert(service.clone());
                plan.deletes.push(Delete {
                    service,
                    name: name.clone(),
                });
            }
        }
    }
    plan
}

/// What cogwire knows of a client's secrets: secret id to the fingerprint of its value, for the
/// secrets whose value it has seen. Kept apart from the store (see `namespace::fingerprints_name`),
/// because Cognito never links a value to an id after AddUserPoolClientSecret: with two secrets,
/// DescribeUserPoolClient shows one of them, and AWS does not say which.
pub type Fingerprints = BTreeMap<String, String>;

/// Which of a client's live secrets the store holds, as far as it can be proven.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holding {
    /// The live secret with this id.
    Live(String),
    /// Nothing, or a value that is none of the client's secrets.
    NotLive,
    /// Cannot tell: the value may be a live secret whose value cogwire never saw.
    Unproven,
}

/// What `identify` found: the fingerprints of the live secrets whose value is known, and which
/// one the store holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identified {
    pub fingerprints: Fingerprints,
    pub holding: Holding,
}

/// Ties the stored value to one of `secret_ids` (the client's live secrets), from the
/// fingerprints cogwire kept and the secret Cognito describes. The described secret is live, so
/// its id is known when it is the only secret, when its fingerprint was kept, or when it is the
/// only secret whose fingerprint was not. Fingerprints that contradict Cognito prove nothing.
pub fn identify(
    secret_ids: &[String],
    described: Option<&Secret>,
    stored: Option<&Secret>,
    known: &Fingerprints,
) -> Identified {
    let mut fingerprints: Fingerprints = secret_ids
        .iter()
        .filter_map(|id| Some((id.clone(), known.get(id)?.clone())))
        .collect();
    let unproven = |fingerprints| Identified {
        fingerprints,
        holding: Holding::Unproven,
    };
    if let Some(described) = described.map(fingerprint)
        && !fingerprints.values().any(|known| *known == described)
    {
        let unknown: Vec<&String> = secret_ids
            .iter()
            .filter(|id| !fingerprints.contains_key(*id))
            .collect();
        match unknown[..] {
            [id] => {
                fingerprints.insert(id.clone(), described);
            }
            [] => return unproven(Fingerprints::new()),
            _ => {}
        }
    }
    let holding = match stored.map(fingerprint) {
        None => Holding::NotLive,
        Some(stored) => match fingerprints.iter().find(|(_, known)| **known == stored) {
            Some((id, _)) => Holding::Live(id.clone()),
            None if fingerprints.len() == secret_ids.len() => Holding::NotLive,
            None => Holding::Unproven,
        },
    };
    Identified {
        fingerprints,
        holding,
    }
}

/// What phase one of a rotation does to one client, given its secrets (oldest first) and which
/// one the store holds.
///
/// A secret's value is told once, by AddUserPoolClientSecret. If a run crashed after adding a
/// secret and before storing it, that value is lost: a secret newer than the stored one is
/// unknown to everyone, so it is deleted and a new one added, whose value is then stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RotationStep {
    /// One secret: add a second and store it (adding deletes nothing, so it is always safe).
    Add,
    /// The store holds an older secret; the newer ones' values are unknown: delete them, add
    /// again, store.
    Replace { unknown: Vec<String> },
    /// The store holds the newest secret: phase one is done.
    Started,
    /// Nothing to rotate with: the client has no secret.
    NoSecret,
    /// More than one secret and no proof of which one the store holds: touch nothing.
    Refuse(Holding),
}

pub fn rotation_step(secret_ids: &[String], holding: &Holding) -> RotationStep {
    match (secret_ids, holding) {
        ([], _) => RotationStep::NoSecret,
        ([_], _) => RotationStep::Add,
        ([.., newest], Holding::Live(held)) if newest == held => RotationStep::Started,
        (_, Holding::Live(held)) => RotationStep::Replace {
            unknown: secret_ids
                .iter()
                .skip_while(|id| *id != held)
                .skip(1)
                .cloned()
                .collect(),
        },
        (_, other) => RotationStep::Refuse(other.clone()),
    }
}

/// What phase two does to one client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FinishStep {
    /// Delete these: every secret but the one the store holds (none when it is the only one).
    Retire(Vec<String>),
    /// One secret, which the store does not hold: store it, retire nothing.
    Repair,
    NoSecret,
    /// Deleting any secret could delete the one services use: touch nothing.
    Refuse(Holding),
}

/// `--finish` deletes only secrets it can prove the store does not hold, whatever their age.
pub fn finish_step(secret_ids: &[String], holding: &Holding) -> FinishStep {
    match (secret_ids, holding) {
        ([], _) => FinishStep::NoSecret,
        (_, Holding::Live(held)) => FinishStep::Retire(
            secret_ids
                .iter()
                .filter(|id| *id != held)
                .cloned()
                .collect(),
        ),
        ([_], Holding::NotLive) => FinishStep::Repair,
        (_, other) => FinishStep::Refuse(other.clone()),
    }
}

/// A value's SHA-256, in hex: tells whether two values are the same without telling either, so it
/// may be kept where secrets may not (a String parameter, an error message).
pub fn fingerprint(secret: &Secret) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(secret.expose().as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::Pool;
    use crate::config::model::StoreKind;

    fn settings(layout: SecretLayout) -> SecretsSettings {
        SecretsSettings {
            store: StoreKind::Ssm,
            path_template: "/cogwire/{service}".to_owned(),
            kms_key_id: None,
            layout,
            fields: None,
        }
    }

    fn credential(secret: &str) -> Credential {
        Credential {
            client_id: "client1".to_owned(),
            client_secret: Secret::new(secret),
            token_url: None,
            scopes: ["a/b".to_owned()].into(),
            user_pool_id: "us-east-1_x".to_owned(),
        }
    }

    fn pool(domain: Option<&str>, token_url: Option<&str>) -> Pool {
        Pool {
            id: None,
            region: None,
            domain: domain.map(str::to_owned),
            token_url: token_url.map(str::to_owned),
            max_resource_servers: 25,
            max_clients: 1_000,
        }
    }

    #[test]
    fn token_url_from_domain_or_override() {
        assert_eq!(
            pool(Some("fleet"), None)
                .token_url(Some("eu-west-1"))
                .as_deref(),
            Some("https://fleet.auth.eu-west-1.amazoncognito.com/oauth2/token")
        );
        assert_eq!(
            pool(Some("auth.example.com"), None)
                .token_url(None)
                .as_deref(),
            Some("https://auth.example.com/oauth2/token")
        );
        assert_eq!(
            pool(Some("fleet"), Some("http://local/t"))
                .token_url(None)
                .as_deref(),
            Some("http://local/t")
        );
        assert_eq!(pool(None, None).token_url(Some("us-east-1")), None);
    }

    #[test]
    fn json_entry_holds_the_whole_credential() {
        let entries = desired_entries(
            &settings(SecretLayout::Json),
            "orders",
            &credential("s3cr3t"),
        );
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].name, "/cogwire/orders");
        assert_eq!(entries[0].kind, EntryKind::Secure);
        let value: serde_json::Value =
            serde_json::from_str(entries[0].value.expose()).expect("json");
        assert_eq!(
            value,
            serde_json::json!({"client_id": "client1", "client_secret": "s3cr3t",
                "token_url": null, "scopes": ["a/b"], "user_pool_id": "us-east-1_x"})
        );
        assert!(!format!("{entries:?}").contains("s3cr3t"));
    }

    #[test]
    fn split_entries_and_reading_them_back() {
        let settings = settings(SecretLayout::Split);
        let entries = desired_entries(&settings, "orders", &credential("s3cr3t"));
        let names: Vec<_> = entries
            .iter()
            .map(|entry| (entry.name.as_str(), entry.kind))
            .collect();
        assert_eq!(
            names,
            [
                ("/cogwire/orders/client_id", EntryKind::Plain),
                ("/cogwire/orders/client_secret", EntryKind::Secure)
            ]
        );
        let values: BTreeMap<String, Secret> = entries
            .iter()
            .map(|entry| (entry.name.clone(), entry.value.clone()))
            .collect();
        let stored = stored_secret(&settings, "us-east-1_x", "orders", "client1", &values);
        assert_eq!(stored.as_ref().map(Secret::expose), Some("s3cr3t"));
        assert_eq!(
            stored_secret(&settings, "us-east-1_x", "orders", "other", &values),
            None
        );
    }

    #[test]
    fn second_run_writes_nothing() {
        let settings = settings(SecretLayout::Json);
        let desired = desired_entries(&settings, "orders", &credential("s3cr3t"));
        let first = decide(&settings, "p", &desired, &Current::default(), None, &none());
        assert_eq!(first.writes.len(), 1);
        assert_eq!(first.writes[0].change, Some(ValueChange::Create));
        assert!(first.writes[0].tag);
        let current = Current {
            values: desired
                .iter()
                .map(|entry| (entry.name.clone(), entry.value.clone()))
                .collect(),
            kinds: desired
                .iter()
                .map(|entry| (entry.name.clone(), StoredKind::SecureString))
                .collect(),
            managed: desired.iter().map(|entry| entry.name.clone()).collect(),
            with_clients: BTreeSet::new(),
        };
        let second = decide(&settings, "p", &desired, &current, None, &none());
        assert!(second.is_empty());
        assert_eq!(second.unchanged, ["orders".to_owned()].into());
    }

    fn none() -> BTreeSet<String> {
        BTreeSet::new()
    }

    fn holding(name: &str, value: &str, kind: StoredKind, managed: bool) -> Current {
        Current {
            values: [(name.to_owned(), Secret::new(value))].into(),
            kinds: [(name.to_owned(), kind)].into(),
            managed: if managed {
                [name.to_owned()].into()
            } else {
                BTreeSet::new()
            },
            with_clients: BTreeSet::new(),
        }
    }

    #[test]
    fn a_changed_value_of_cogwires_entry_is_updated() {
        let settings = settings(SecretLayout::Json);
        let desired = desired_entries(&settings, "orders", &credential("new"));
        let old = desired_entries(&settings, "orders", &credential("old"));
        let current = holding(
            &old[0].name,
            old[0].value.expose(),
            StoredKind::SecureString,
            true,
        );
        let plan = decide(&settings, "p", &desired, &current, None, &none());
        assert_eq!(plan.writes[0].change, Some(ValueChange::Update));
        assert!(!plan.writes[0].tag);
        assert_eq!(plan.changed, ["orders".to_owned()].into());
    }

    /// An entry without cogwire's tags is never written, not even one holding cogwire's own
    /// schema, until it is adopted; the other services are still written.
    #[test]
    fn an_entry_cogwire_did_not_write_is_refused_until_adopted() {
        let settings = settings(SecretLayout::Json);
        let mut desired = desired_entries(&settings, "orders", &credential("new"));
        desired.extend(desired_entries(&settings, "billing", &credential("b")));
        let foreign = r#"{"url":"u","clientId":"c","clientSecret":"theirs"}"#;
        let current = holding("/cogwire/orders", foreign, StoredKind::SecureString, false);
        let plan = decide(&settings, "p", &desired, &current, None, &none());
        assert_eq!(
            plan.refused,
            [Foreign {
                service: "orders".to_owned(),
                name: "/cogwire/orders".to_owned(),
                kind: StoredKind::SecureString,
                holds: Holds::JsonKeys(vec![
                    "clientId".into(),
                    "clientSecret".into(),
                    "url".into()
                ]),
                refusal: Refusal::NotOurs,
            }]
        );
        assert!(plan.refused[0].hint().contains("--adopt orders"));
        assert!(!plan.refused[0].to_string().contains("theirs"));
        let written: Vec<&str> = plan
            .writes
            .iter()
            .map(|write| write.name.as_str())
            .collect();
        assert_eq!(written, ["/cogwire/billing"]);
        assert_eq!(plan.changed, ["billing".to_owned()].into());

        let adopt: BTreeSet<String> = ["orders".to_owned()].into();
        let adopted = decide(&settings, "p", &desired, &current, None, &adopt);
        assert!(adopted.refused.is_empty());
        assert_eq!(adopted.adopted.len(), 1);
        let orders = &adopted.writes[0];
        assert_eq!(orders.name, "/cogwire/orders");
        assert_eq!(orders.change, Some(ValueChange::Update));
        assert!(orders.tag);
    }

    /// Adopting never changes an entry's kind: a String parameter stays refused, and a split
    /// service is refused whole when one of its entries is.
    #[test]
    fn adopting_never_changes_an_entrys_kind() {
        let settings = settings(SecretLayout::Json);
        let desired = desired_entries(&settings, "orders", &credential("new"));
        let current = holding("/cogwire/orders", "plain text", StoredKind::String, false);
        let adopt: BTreeSet<String> = ["orders".to_owned()].into();
        let plan = decide(&settings, "p", &desired, &current, None, &adopt);
        assert!(plan.writes.is_empty());
        assert_eq!(plan.refused[0].holds, Holds::Text);
        assert_eq!(
            plan.refused[0].refusal,
            Refusal::KindChange {
                wanted: StoredKind::SecureString
            }
        );

        let split = settings_split();
        let desired = desired_entries(&split, "orders", &credential("new"));
        let mut current = holding(
            "/cogwire/orders/client_secret",
            "s",
            StoredKind::String,
            false,
        );
        current
            .kinds
            .insert("/cogwire/orders/client_id".into(), StoredKind::String);
        current
            .values
            .insert("/cogwire/orders/client_id".into(), Secret::new("client1"));
        let plan = decide(&split, "p", &desired, &current, None, &adopt);
        assert!(plan.writes.is_empty(), "{:?}", plan.writes);
        assert!(plan.adopted.is_empty());
        assert_eq!(plan.refused_services(), ["orders".to_owned()].into());
        // Secrets Manager: a string secret may be adopted, a binary one may not.
        let secret = holding("/cogwire/orders", "x", StoredKind::Secret, false);
        let plan = decide(&settings, "p", &desired_json(), &secret, None, &adopt);
        assert!(plan.refused.is_empty());
        let binary = holding("/cogwire/orders", "", StoredKind::BinarySecret, false);
        let plan = decide(&settings, "p", &desired_json(), &binary, None, &adopt);
        assert_eq!(plan.refused[0].holds, Holds::Binary);
    }

    fn settings_split() -> SecretsSettings {
        settings(SecretLayout::Split)
    }

    fn desired_json() -> Vec<DesiredEntry> {
        desired_entries(&settings(SecretLayout::Json), "orders", &credential("new"))
    }

    #[test]
    fn only_tagged_entries_of_undeclared_services_are_deleted() {
        let settings = settings(SecretLayout::Json);
        let desired = desired_entries(&settings, "orders", &credential("s"));
        let current = Current {
            values: BTreeMap::new(),
            kinds: BTreeMap::new(),
            managed: [
                "/cogwire/orders".to_owned(),
                "/cogwire/gone".to_owned(),
                "/cogwire/pending".to_owned(),
                "/cogwire/us-east-1_x/state".to_owned(),
            ]
            .into(),
            with_clients: BTreeSet::new(),
        };
        let declared: BTreeSet<String> = ["orders".to_owned(), "pending".to_owned()].into();
        let plan = decide(&settings, "p", &desired, &current, Some(&declared), &none());
        assert_eq!(
            plan.deletes,
            [Delete {
                service: "gone".to_owned(),
                name: "/cogwire/gone".to_owned()
            }]
        );
        let limited = decide(&settings, "p", &desired, &current, None, &none());
        assert!(limited.deletes.is_empty());
    }

    #[test]
    fn an_entry_whose_client_still_exists_is_kept_though_its_service_is_gone() {
        // `readClient` was renamed `reader` in services.toml; until apply moves its client in the
        // record, its callers still read the old entry.
        let settings = settings(SecretLayout::Json);
        let desired = desired_entries(&settings, "orders", &credential("s"));
        let mut current = Current {
            values: BTreeMap::new(),
            kinds: BTreeMap::new(),
            managed: ["/cogwire/readClient".to_owned()].into(),
            with_clients: ["readClient".to_owned()].into(),
        };
        let declared: BTreeSet<String> = ["orders".to_owned(), "reader".to_owned()].into();
        let kept = decide(&settings, "p", &desired, &current, Some(&declared), &none());
        assert!(kept.deletes.is_empty(), "{:?}", kept.deletes);
        // Once the record moved the client to `reader`, the old entry goes.
        current.with_clients = ["reader".to_owned()].into();
        let pruned = decide(&settings, "p", &desired, &current, Some(&declared), &none());
        assert_eq!(
            pruned.deletes,
            [Delete {
                service: "readClient".to_owned(),
                name: "/cogwire/readClient".to_owned()
            }]
        );
    }

    #[test]
    fn names_map_back_to_services() {
        let mut settings = settings(SecretLayout::Split);
        settings.path_template = "/apps/{pool}/{service}-creds".to_owned();
        assert_eq!(scan_path(&settings, "p1"), "/apps/p1");
        assert_eq!(
            service_of(&settings, "p1", "/apps/p1/my-svc-creds/client_secret").as_deref(),
            Some("my-svc")
        );
        assert_eq!(
            service_of(&settings, "p1", "/apps/p2/x-creds/client_id"),
            None
        );
        assert_eq!(service_of(&settings, "p1", "/apps/p1/x-creds"), None);
        settings.layout = SecretLayout::Json;
        assert_eq!(
            service_of(&settings, "p1", "/apps/p1/x-creds").as_deref(),
            Some("x")
        );
        settings.path_template = "{service}".to_owned();
        assert_eq!(scan_path(&settings, "p1"), "/");
    }

    #[test]
    fn json_compares_by_meaning() {
        assert!(same_value(r#"{"a":1,"b":2}"#, r#"{"b":2, "a":1}"#));
        assert!(!same_value(r#"{"a":1}"#, r#"{"a":2}"#));
        assert!(same_value("x", "x"));
    }

    fn ids(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|id| (*id).to_owned()).collect()
    }

    fn known(pairs: &[(&str, &Secret)]) -> Fingerprints {
        pairs
            .iter()
            .map(|(id, secret)| ((*id).to_owned(), fingerprint(secret)))
            .collect()
    }

    #[test]
    fn sha256_matches_the_standard() {
        let hex = |data: &str| fingerprint(&Secret::new(data));
        assert_eq!(
            hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
        // Several blocks.
        assert_eq!(
            hex(&"a".repeat(1000)),
            "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3"
        );
    }

    #[test]
    fn one_secret_is_identified_by_what_cognito_describes() {
        let (only, wrong) = (Secret::new("only"), Secret::new("wrong"));
        let one = ids(&["s1"]);
        let none = Fingerprints::new();
        let found = identify(&one, Some(&only), Some(&only), &none);
        assert_eq!(found.holding, Holding::Live("s1".to_owned()));
        assert_eq!(found.fingerprints, known(&[("s1", &only)]));
        assert_eq!(
            identify(&one, Some(&only), Some(&wrong), &none).holding,
            Holding::NotLive
        );
        assert_eq!(
            identify(&one, Some(&only), None, &none).holding,
            Holding::NotLive
        );
    }

    /// Whichever of two secrets Cognito describes, the stored one is found by its fingerprint.
    #[test]
    fn two_secrets_do_not_depend_on_which_one_is_described() {
        let (old, new, wrong) = (Secret::new("old"), Secret::new("new"), Secret::new("wrong"));
        let two = ids(&["s1", "s2"]);
        let both = known(&[("s1", &old), ("s2", &new)]);
        for described in [&old, &new] {
            let held = |stored| identify(&two, Some(described), stored, &both).holding;
            assert_eq!(held(Some(&new)), Holding::Live("s2".to_owned()));
            assert_eq!(held(Some(&old)), Holding::Live("s1".to_owned()));
            assert_eq!(held(Some(&wrong)), Holding::NotLive);
        }
        // Only the new secret's fingerprint kept: the described old one is the other id.
        let new_only = known(&[("s2", &new)]);
        let found = identify(&two, Some(&old), Some(&wrong), &new_only);
        assert_eq!(found.holding, Holding::NotLive);
        assert_eq!(found.fingerprints, both);
        // ...but when Cognito describes the new one, the old one's value stays unknown.
        assert_eq!(
            identify(&two, Some(&new), Some(&wrong), &new_only).holding,
            Holding::Unproven
        );
        // Nothing kept: two secrets prove nothing, even a stored value equal to the described.
        assert_eq!(
            identify(&two, Some(&old), Some(&old), &Fingerprints::new()).holding,
            Holding::Unproven
        );
        // Kept fingerprints that Cognito contradicts prove nothing either.
        let contradicted = known(&[("s1", &wrong), ("s2", &new)]);
        assert_eq!(
            identify(&two, Some(&old), Some(&new), &contradicted).holding,
            Holding::Unproven
        );
        // Fingerprints of deleted secrets are ignored.
        let stale = known(&[("s0", &wrong), ("s2", &new)]);
        assert_eq!(
            identify(&two, Some(&old), Some(&wrong), &stale).holding,
            Holding::NotLive
        );
    }

    #[test]
    fn rotation_steps() {
        let one = ids(&["s1"]);
        let two = ids(&["s1", "s2"]);
        let live = |id: &str| Holding::Live(id.to_owned());
        assert_eq!(
            rotation_step(&[], &Holding::NotLive),
            RotationStep::NoSecret
        );
        assert_eq!(rotation_step(&one, &live("s1")), RotationStep::Add);
        assert_eq!(rotation_step(&one, &Holding::NotLive), RotationStep::Add);
        assert_eq!(rotation_step(&two, &live("s2")), RotationStep::Started);
        // Crashed after adding, before storing: the store still holds the older.
        assert_eq!(
            rotation_step(&two, &live("s1")),
            RotationStep::Replace {
                unknown: ids(&["s2"])
            }
        );
        for holding in [Holding::NotLive, Holding::Unproven] {
            assert_eq!(
                rotation_step(&two, &holding),
                RotationStep::Refuse(holding.clone())
            );
        }
    }

    #[test]
    fn finish_keeps_the_stored_secret_whatever_its_age() {
        let one = ids(&["s1"]);
        let two = ids(&["s1", "s2"]);
        let live = |id: &str| Holding::Live(id.to_owned());
        assert_eq!(
            finish_step(&two, &live("s2")),
            FinishStep::Retire(ids(&["s1"]))
        );
        assert_eq!(
            finish_step(&two, &live("s1")),
            FinishStep::Retire(ids(&["s2"]))
        );
        assert_eq!(finish_step(&one, &live("s1")), FinishStep::Retire(vec![]));
        assert_eq!(finish_step(&one, &Holding::NotLive), FinishStep::Repair);
        assert_eq!(finish_step(&[], &Holding::NotLive), FinishStep::NoSecret);
        for holding in [Holding::NotLive, Holding::Unproven] {
            assert_eq!(
                finish_step(&two, &holding),
                FinishStep::Refuse(holding.clone())
            );
        }
    }
}
