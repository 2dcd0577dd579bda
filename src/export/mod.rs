//! Beside the pipeline, after `credentials`: what a running service needs to read its own
//! credentials, written for its runtime (Kubernetes through the External Secrets Operator or the
//! Secrets Store CSI driver, ECS, Lambda) and the least-privilege policy of its role. The store is
//! read once, for where each entry lives ([`located`]); every format is then a pure function of
//! that value, one module a format, so adding a format is one `Format` variant and one module.
//! Beside them, [`openapi`]: the security scheme and route scopes of a service's API Gateway API,
//! a pure function of the checked model and of what only the pool knows.

pub mod ecs;
pub mod external_secret;
pub mod iam_policy;
pub mod lambda;
pub mod located;
pub mod openapi;
pub mod secret_provider_class;
pub mod yaml;

use crate::config::duration::Seconds;
use crate::config::model::{SecretLayout, StoreKind};
pub use located::{Entry, Field, ServiceCredentials, locate};

/// What `cogwire export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Format {
    ExternalSecret,
    SecretProviderClass,
    Ecs,
    Lambda,
    IamPolicy,
}

impl Format {
    pub const ALL: [Self; 5] = [
        Self::ExternalSecret,
        Self::SecretProviderClass,
        Self::Ecs,
        Self::Lambda,
        Self::IamPolicy,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::ExternalSecret => "external-secret",
            Self::SecretProviderClass => "secret-provider-class",
            Self::Ecs => "ecs",
            Self::Lambda => "lambda",
            Self::IamPolicy => "iam-policy",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|format| format.name().eq_ignore_ascii_case(text))
    }

    /// The file extension of what it writes.
    pub fn extension(self) -> &'static str {
        match self {
            Self::ExternalSecret | Self::SecretProviderClass => "yaml",
            Self::Ecs | Self::Lambda | Self::IamPolicy => "json",
        }
    }

    fn render(
        self,
        credentials: &ServiceCredentials,
        options: &Options,
    ) -> Result<String, ExportError> {
        match self {
            Self::ExternalSecret => Ok(external_secret::render(credentials, options)),
            Self::SecretProviderClass => Ok(secret_provider_class::render(credentials, options)),
            Self::Ecs => ecs::render(credentials),
            Self::Lambda => Ok(lambda::render(credentials, options)),
            Self::IamPolicy => iam_policy::render(credentials),
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.name())
    }
}

/// Where Kubernetes objects go and how often consumers re-read the store: flags, else
/// `[export]`, else these defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// `metadata.namespace` of the Kubernetes objects; left out when `None`.
    pub namespace: Option<String>,
    /// The operator's SecretStore (or ClusterSecretStore) that reaches the AWS store.
    pub secret_store: Option<String>,
    pub cluster_secret_store: bool,
    /// The slowest consumer's refresh: the ExternalSecret's `refreshInterval` and the Lambda
    /// extension's cache TTL.
    pub refresh: Seconds,
}

/// The External Secrets Operator's default `refreshInterval`.
pub const DEFAULT_REFRESH: Seconds = Seconds::HOUR;

impl Default for Options {
    fn default() -> Self {
        Self {
            namespace: None,
            secret_store: None,
            cluster_secret_store: false,
            refresh: DEFAULT_REFRESH,
        }
    }
}

impl Options {
    /// The SecretStore's name: given, else one named after the AWS store.
    pub fn secret_store_name(&self, store: StoreKind) -> String {
        self.secret_store.clone().unwrap_or_else(|| {
            match store {
                StoreKind::Ssm => "aws-parameter-store",
                StoreKind::SecretsManager => "aws-secrets-manager",
            }
            .to_owned()
        })
    }
}

/// One service's export, ready to print or to write as `<service>.<format>.<extension>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exported {
    pub service: String,
    pub format: Format,
    pub text: String,
}

impl Exported {
    pub fn file_name(&self) -> String {
        format!(
            "{}.{}.{}",
            self.service,
            self.format.name(),
            self.format.extension()
        )
    }
}

/// Renders one format for each service, in the order given.
pub fn render(
    format: Format,
    services: &[ServiceCredentials],
    options: &Options,
) -> Result<Vec<Exported>, ExportError> {
    services
        .iter()
        .map(|credentials| {
            Ok(Exported {
                service: credentials.service.clone(),
                format,
                text: format.render(credentials, options)?,
            })
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    #[error("`{name}` is not a service of services.toml")]
    UnknownService { name: String, guess: Option<String> },
    #[error(transparent)]
    OtherEnvironment(crate::config::environment::DeclaredElsewhere),
    #[error("`{service}` consumes no scopes, so it has no credentials to export")]
    ConsumesNothing { service: String },
    #[error("`{service}` is external: cogwire stores no credentials for it")]
    External { service: String },
    #[error("no service of services.toml consumes scopes, so none has credentials to export")]
    NoConsumers,
    #[error("the credentials of `{service}` are not stored yet: {missing} does not exist")]
    NotStored { service: String, missing: String },
    #[error("{name} is a {kind}, not what cogwire stores there")]
    WrongKind {
        name: String,
        kind: crate::cloud::stores::StoredKind,
    },
    #[error(
        "ECS cannot pick keys out of an SSM parameter, and `{service}`'s credentials are one JSON parameter"
    )]
    EcsNeedsSplit { service: String },
    #[error("`{arn}` is not an ARN cogwire can read")]
    BadArn { arn: String },
    #[error("`{text}` is not a format; formats: {}", Format::ALL.map(Format::name).join(", "))]
    UnknownFormat { text: String, guess: Option<String> },
    #[error(transparent)]
    Cloud(#[from] crate::cloud::CloudError),
}

impl ExportError {
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            Self::UnknownService {
                guess: Some(guess), ..
            } => format!("did you mean `{guess}`?"),
            Self::UnknownService { guess: None, .. } => {
                "name a service declared in services.toml (`cogwire graph` lists them)".to_owned()
            }
            Self::OtherEnvironment(elsewhere) => elsewhere.hint(),
            Self::ConsumesNothing { .. } | Self::External { .. } | Self::NoConsumers => {
                "a service has credentials when it `consumes` scopes of another (`[services.NAME] consumes = [\"provider/scope\"]`); export the services that do".to_owned()
            }
            Self::NotStored { service, .. } => format!(
                "run `cogwire apply` (or `cogwire sync-secrets --service {service}`) to store them first"
            ),
            Self::WrongKind { .. } => {
                "run `cogwire sync-secrets`, which names what holds the entry and how to fix it"
                    .to_owned()
            }
            Self::EcsNeedsSplit { .. } => {
                "set `[secrets] layout = \"split\"` (client_id and client_secret as two parameters) or `store = \"secretsmanager\"` (ECS picks JSON keys of a secret), then `cogwire sync-secrets`; or use `cogwire export lambda`/`external-secret`, which read JSON".to_owned()
            }
            Self::BadArn { .. } => return None,
            Self::UnknownFormat {
                guess: Some(guess), ..
            } => format!("did you mean `{guess}`? For example: cogwire export {guess} SERVICE"),
            Self::UnknownFormat { guess: None, .. } => {
                "for example: cogwire export iam-policy SERVICE".to_owned()
            }
            Self::Cloud(error) => return error.hint(),
        })
    }
}

/// `--format FORMAT`, or the first word after `export`.
pub fn parse_format(text: &str) -> Result<Format, ExportError> {
    Format::parse(text).ok_or_else(|| ExportError::UnknownFormat {
        text: text.to_owned(),
        guess: crate::config::suggest::closest(text, Format::ALL.map(Format::name))
            .map(str::to_owned),
    })
}

/// The keys a service's runtime gets from the store, in the order they are written, and the
/// JSON property of the entry each comes from (`None`: the whole entry, in the split layout).
pub(crate) fn layout_fields(
    layout: SecretLayout,
    has_token_url: bool,
) -> Vec<(&'static str, usize, Option<&'static str>)> {
    match layout {
        SecretLayout::Json => {
            let mut fields = vec![
                ("COGWIRE_CLIENT_ID", 0, Some("client_id")),
                ("COGWIRE_CLIENT_SECRET", 0, Some("client_secret")),
            ];
            if has_token_url {
                fields.push(("COGWIRE_TOKEN_URL", 0, Some("token_url")));
            }
            fields.push(("COGWIRE_CLIENT_SCOPES", 0, Some("scopes")));
            fields
        }
        SecretLayout::Split => vec![
            ("COGWIRE_CLIENT_ID", 0, None),
            ("COGWIRE_CLIENT_SECRET", 1, None),
        ],
    }
}
