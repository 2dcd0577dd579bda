//! The value every format is made from: what a service's credentials are (the keys its runtime
//! gets), where they live (each entry's name and ARN, as the store tells them), and the settings
//! that are not secret. The store is read once, for metadata only; no value is ever read.

use std::collections::BTreeMap;

use super::{ExportError, layout_fields};
use crate::cloud::stores::{Located, SecretStore as _, StoredKind};
use crate::cloud::{Cloud, CloudResult};
use crate::config::model::{Model, SecretLayout, Service, StoreKind};
use crate::session::Session;
use crate::tokens::token::{issuer, jwks_uri};

/// One entry of the store that holds (part of) a service's credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub arn: String,
    pub kind: StoredKind,
    /// The KMS key encrypting it, as the store names it.
    pub kms_key_id: Option<String>,
}

/// One key of the runtime's environment that comes from the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// `COGWIRE_CLIENT_SECRET` and the like.
    pub key: &'static str,
    /// Index into `entries`.
    pub entry: usize,
    /// The JSON property of the entry; `None`: the whole entry.
    pub property: Option<&'static str>,
}

/// A service's credentials and where they live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceCredentials {
    pub service: String,
    pub store: StoreKind,
    pub layout: SecretLayout,
    pub region: String,
    pub entries: Vec<Entry>,
    pub fields: Vec<Field>,
    /// `[secrets] kms_key_id`, when set.
    pub kms_key_id: Option<String>,
    /// What the service needs that is not secret (as `cogwire env` prints it), less the keys
    /// that come from the store.
    pub environment: Vec<(String, String)>,
}

/// The token issuer and its keys, as `cogwire env` tells them (overrides included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuer {
    pub issuer: String,
    pub jwks_uri: String,
}

impl Issuer {
    pub fn of_pool(pool_id: &str, region: &str) -> Self {
        let issuer = issuer(pool_id, region);
        Self {
            jwks_uri: jwks_uri(&issuer),
            issuer,
        }
    }
}

/// An ARN's parts, for a policy's other resources in the same account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

impl<'a> Arn<'a> {
    pub fn parse(text: &'a str) -> Result<Self, ExportError> {
        let bad = || ExportError::BadArn {
            arn: text.to_owned(),
        };
        let mut parts = text.splitn(6, ':');
        if parts.next() != Some("arn") {
            return Err(bad());
        }
        let mut next = || parts.next().ok_or_else(bad);
        Ok(Self {
            partition: next()?,
            service: next()?,
            region: next()?,
            account: next()?,
            resource: next()?,
        })
    }
}

/// The services to export: those named, or every service with credentials.
pub fn select(model: &Model, named: &[String]) -> Result<Vec<String>, ExportError> {
    if named.is_empty() {
        let all: Vec<String> = model
            .services
            .values()
            .filter(|service| has_credentials(service))
            .map(|service| service.name.clone())
            .collect();
        return if all.is_empty() {
            Err(ExportError::NoConsumers)
        } else {
            Ok(all)
        };
    }
    let mut selected: Vec<String> = Vec::new();
    for name in named {
        if let Some(elsewhere) = model.declared_elsewhere(name) {
            return Err(ExportError::OtherEnvironment(elsewhere));
        }
        let Some(service) = model.services.get(name) else {
            return Err(ExportError::UnknownService {
                name: name.clone(),
                guess: crate::config::suggest::closest(
                    name,
                    model.services.keys().map(String::as_str),
                )
                .map(str::to_owned),
            });
        };
        if service.external {
            return Err(ExportError::External {
                service: name.clone(),
            });
        }
        if service.client.is_none() {
            return Err(ExportError::ConsumesNothing {
                service: name.clone(),
            });
        }
        if !selected.contains(name) {
            selected.push(name.clone());
        }
    }
    Ok(selected)
}

fn has_credentials(service: &Service) -> bool {
    !service.external && service.client.is_some()
}

/// Reads where the credentials of `named` (every service with credentials when empty) live:
/// one metadata call per ten entries, paced.
pub async fn locate<C: Cloud>(
    session: &Session<C>,
    named: &[String],
    issuer: &Issuer,
) -> Result<Vec<ServiceCredentials>, ExportError> {
    let selected = select(&session.model, named)?;
    let names: Vec<String> = selected
        .iter()
        .flat_map(|service| session.model.secrets.entry_names(&session.pool_id, service))
        .map(|(name, _)| name)
        .collect();
    let store = session.store();
    let mut located = BTreeMap::new();
    for chunk in names.chunks(10) {
        let found: CloudResult<BTreeMap<String, Located>> = session
            .pacer
            .call(store.locate_operation(), || store.locate(chunk))
            .await;
        located.extend(found?);
    }
    selected
        .iter()
        .map(|service| {
            describe(
                &session.model,
                &session.pool_id,
                &session.region,
                service,
                &located,
                issuer,
            )
        })
        .collect()
}

/// The pure half of `locate`: one service's credentials from what the store told.
pub fn describe(
    model: &Model,
    pool_id: &str,
    region: &str,
    service: &str,
    located: &BTreeMap<String, Located>,
    issuer: &Issuer,
) -> Result<ServiceCredentials, ExportError> {
    let settings = &model.secrets;
    let declared = model
        .services
        .get(service)
        .ok_or_else(|| ExportError::UnknownService {
            name: service.to_owned(),
            guess: None,
        })?;
    let mut entries = Vec::new();
    for (name, _) in settings.entry_names(pool_id, service) {
        let Some(found) = located.get(&name) else {
            return Err(ExportError::NotStored {
                service: service.to_owned(),
                missing: name,
            });
        };
        entries.push(Entry {
            name,
            arn: found.arn.clone(),
            kind: found.kind,
            kms_key_id: found.kms_key_id.clone(),
        });
    }
    let expected: Vec<StoredKind> = match (settings.store, settings.layout) {
        (StoreKind::SecretsManager, _) => vec![StoredKind::Secret],
        (StoreKind::Ssm, SecretLayout::Json) => vec![StoredKind::SecureString],
        (StoreKind::Ssm, SecretLayout::Split) => {
            vec![StoredKind::String, StoredKind::SecureString]
        }
    };
    for (entry, kind) in entries.iter().zip(expected) {
        if entry.kind != kind {
            return Err(ExportError::WrongKind {
                name: entry.name.clone(),
                kind: entry.kind,
            });
        }
    }
    let token_url = model.pool.token_url(Some(region));
    let fields: Vec<Field> = layout_fields(settings.layout, token_url.is_some())
        .into_iter()
        .map(|(key, entry, property)| Field {
            key,
            entry,
            property,
        })
        .collect();
    let mut environment = vec![
        ("COGWIRE_SERVICE".to_owned(), service.to_owned()),
        ("COGWIRE_USER_POOL_ID".to_owned(), pool_id.to_owned()),
        ("COGWIRE_ISSUER".to_owned(), issuer.issuer.clone()),
        ("COGWIRE_JWKS_URI".to_owned(), issuer.jwks_uri.clone()),
    ];
    if let Some(url) = token_url
        && !fields.iter().any(|field| field.key == "COGWIRE_TOKEN_URL")
    {
        environment.push(("COGWIRE_TOKEN_URL".to_owned(), url));
    }
    if let Some(server) = &declared.resource_server {
        environment.push((
            "COGWIRE_RESOURCE_SERVER".to_owned(),
            server.identifier.clone(),
        ));
        let scopes: Vec<String> = server
            .scopes
            .keys()
            .map(|scope| format!("{}/{scope}", server.identifier))
            .collect();
        if !scopes.is_empty() {
            environment.push(("COGWIRE_SCOPES".to_owned(), scopes.join(" ")));
        }
    }
    if let Some(client) = &declared.client
        && !client.scopes.is_empty()
    {
        let consumes: Vec<&str> = client.scopes.iter().map(String::as_str).collect();
        environment.push(("COGWIRE_CONSUMES".to_owned(), consumes.join(" ")));
    }
    Ok(ServiceCredentials {
        service: service.to_owned(),
        store: settings.store,
        layout: settings.layout,
        region: region.to_owned(),
        entries,
        fields,
        kms_key_id: settings.kms_key_id.clone(),
        environment,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const ACCOUNT: &str = "123456789012";

    pub(crate) fn model(secrets: &str) -> Model {
        let text = format!(
            r#"
[pool]
id = "us-east-1_Pool"
domain = "fleet"

{secrets}

[services.customers]
scopes = {{ "customer.read" = "Read" }}

[services.orders]
consumes = ["customers/customer.read"]

[services.billing]
consumes = ["customers/customer.read"]
"#
        );
        crate::config::model::load(&text, None).expect("valid model")
    }

    /// What the store would tell for every service of `model`.
    pub(crate) fn located(model: &Model) -> BTreeMap<String, Located> {
        let mut located = BTreeMap::new();
        for service in ["orders", "billing"] {
            for (name, kind) in model.secrets.entry_names("us-east-1_Pool", service) {
                let (arn, kind) = match model.secrets.store {
                    StoreKind::Ssm => (
                        format!("arn:aws:ssm:us-east-1:{ACCOUNT}:parameter{name}"),
                        match kind {
                            crate::cloud::stores::EntryKind::Plain => StoredKind::String,
                            crate::cloud::stores::EntryKind::Secure => StoredKind::SecureString,
                        },
                    ),
                    StoreKind::SecretsManager => (
                        format!("arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:{name}-AbCdEf"),
                        StoredKind::Secret,
                    ),
                };
                let kms_key_id = model.secrets.kms_key_id.clone();
                located.insert(
                    name,
                    Located {
                        arn,
                        kind,
                        kms_key_id,
                    },
                );
            }
        }
        located
    }

    pub(crate) fn credentials(secrets: &str, service: &str) -> ServiceCredentials {
        let model = model(secrets);
        describe(
            &model,
            "us-east-1_Pool",
            "us-east-1",
            service,
            &located(&model),
            &Issuer::of_pool("us-east-1_Pool", "us-east-1"),
        )
        .expect("described")
    }

    #[test]
    fn json_layout_takes_every_key_from_the_one_entry() {
        let credentials = credentials("", "orders");
        assert_eq!(credentials.entries.len(), 1);
        assert_eq!(credentials.entries[0].name, "/cogwire/orders");
        let keys: Vec<_> = credentials.fields.iter().map(|field| field.key).collect();
        assert_eq!(
            keys,
            [
                "COGWIRE_CLIENT_ID",
                "COGWIRE_CLIENT_SECRET",
                "COGWIRE_TOKEN_URL",
                "COGWIRE_CLIENT_SCOPES"
            ]
        );
        let environment: BTreeMap<_, _> = credentials.environment.iter().cloned().collect();
        assert!(!environment.contains_key("COGWIRE_TOKEN_URL"));
        assert_eq!(environment["COGWIRE_CONSUMES"], "customers/customer.read");
    }

    #[test]
    fn split_layout_reads_two_entries_and_keeps_the_token_url_in_the_environment() {
        let credentials = credentials("[secrets]\nlayout = \"split\"", "orders");
        let names: Vec<_> = credentials
            .entries
            .iter()
            .map(|entry| entry.name.as_str())
            .collect();
        assert_eq!(
            names,
            ["/cogwire/orders/client_id", "/cogwire/orders/client_secret"]
        );
        let environment: BTreeMap<_, _> = credentials.environment.iter().cloned().collect();
        assert_eq!(
            environment["COGWIRE_TOKEN_URL"],
            "https://fleet.auth.us-east-1.amazoncognito.com/oauth2/token"
        );
    }

    #[test]
    fn credentials_not_stored_are_named() {
        let model = model("");
        let error = describe(
            &model,
            "us-east-1_Pool",
            "us-east-1",
            "orders",
            &BTreeMap::new(),
            &Issuer::of_pool("us-east-1_Pool", "us-east-1"),
        )
        .expect_err("nothing stored");
        assert_eq!(
            error,
            ExportError::NotStored {
                service: "orders".to_owned(),
                missing: "/cogwire/orders".to_owned()
            }
        );
        assert!(
            error
                .hint()
                .expect("hint")
                .contains("sync-secrets --service orders")
        );
    }

    #[test]
    fn selection_refuses_what_has_no_credentials() {
        let model = model("");
        assert_eq!(select(&model, &[]).expect("all"), ["billing", "orders"]);
        assert!(matches!(
            select(&model, &["customers".to_owned()]),
            Err(ExportError::ConsumesNothing { .. })
        ));
        assert!(matches!(
            select(&model, &["order".to_owned()]),
            Err(ExportError::UnknownService { guess: Some(guess), .. }) if guess == "orders"
        ));
    }

    #[test]
    fn a_service_of_another_environment_is_named_with_its_environment() {
        let text = "[environments.staging]\n[environments.prod]\n[services.orders]\nscopes = { \"read\" = \"Read\" }\n[services.canary]\nenvironments = [\"staging\"]\nconsumes = [\"orders/read\"]\n";
        let prod = crate::config::model::load_in(text, None, Some("prod")).expect("valid");
        let error = select(&prod, &["canary".to_owned()]).expect_err("not in prod");
        assert_eq!(
            error.to_string(),
            "service `canary` is declared only in environment staging"
        );
        assert_eq!(
            error.hint().as_deref(),
            Some("pass --env staging (or set COGWIRE_ENV=staging)")
        );
    }
}
