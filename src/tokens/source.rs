//! Tokens for the services of one session, got as each service gets its own: the client cogwire
//! manages for it (from the ownership record), its secret (from the credentials store, or from
//! Cognito when asked), one client-credentials request, and the cache on disk.

use std::collections::{BTreeMap, BTreeSet};

use crate::apply::record::{RecordError, RecordStore};
use crate::cloud::operation::Operation;
use crate::cloud::stores::SecretStore as _;
use crate::cloud::{Cloud, CloudError, UserPool as _};
use crate::config::environment::DeclaredElsewhere;
use crate::config::model::Service;
use crate::credentials::decide::stored_secret;
use crate::sensitive::Secret;
use crate::session::Session;
use crate::tokens::token::{Token, TokenCache, TokenError, TokenRequest, cache_dir, fetch, now};

/// Where a token's client secret comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SourceOptions {
    /// The secret Cognito describes, instead of the one the store holds.
    pub from_cognito: bool,
    /// Always ask the token endpoint, and cache nothing.
    pub no_cache: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("services.toml declares no service `{name}`")]
    UnknownService { name: String, guess: Option<String> },
    #[error(transparent)]
    OtherEnvironment(DeclaredElsewhere),
    #[error("service `{service}` has no app client")]
    NoClient { service: String },
    #[error("cogwire manages no client of service `{service}` in pool {pool_id}")]
    NotManaged { service: String, pool_id: String },
    #[error("services.toml says nowhere to get tokens")]
    NoTokenUrl,
    #[error("the client of service `{service}` has no secret")]
    NoSecret { service: String },
    #[error("the secrets store holds no credentials of client {client_id} for service `{service}`")]
    NotStored { service: String, client_id: String },
    #[error("no token for service `{service}`: {error}")]
    Token { service: String, error: TokenError },
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error(transparent)]
    Cloud(#[from] CloudError),
}

impl SourceError {
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            Self::UnknownService { guess: Some(guess), .. } => format!("did you mean `{guess}`?"),
            Self::UnknownService { guess: None, .. } => {
                "name a service declared in services.toml (`cogwire graph` lists them)".to_owned()
            }
            Self::OtherEnvironment(elsewhere) => elsewhere.hint(),
            Self::NoClient { .. } => {
                "a service gets a client when it `consumes` scopes of another".to_owned()
            }
            Self::NotManaged { .. } => "run `cogwire apply` to create it".to_owned(),
            Self::NoTokenUrl => "set `[pool] domain` to the pool's Cognito domain prefix (or custom domain host), or `[pool] token_url`".to_owned(),
            Self::NoSecret { .. } => "cogwire's clients always have one: was it replaced by hand? `cogwire plan` tells".to_owned(),
            Self::NotStored { .. } => "run `cogwire sync-secrets`, or pass --from-cognito to read the secret from the pool".to_owned(),
            Self::Token { error, .. } => error.hint(),
            Self::Record(error) => return error.hint(),
            Self::Cloud(error) => return error.hint(),
        })
    }
}

/// The service services.toml declares under `name`.
pub fn declared_service<'a, C: Cloud>(
    session: &'a Session<C>,
    name: &str,
) -> Result<&'a Service, SourceError> {
    if let Some(elsewhere) = session.model.declared_elsewhere(name) {
        return Err(SourceError::OtherEnvironment(elsewhere));
    }
    session
        .model
        .services
        .get(name)
        .ok_or_else(|| SourceError::UnknownService {
            name: name.to_owned(),
            guess: crate::config::suggest::closest(
                name,
                session.model.services.keys().map(String::as_str),
            )
            .map(str::to_owned),
        })
}

/// The id of the client cogwire manages for the service, from its ownership record.
pub async fn managed_client<C: Cloud>(
    session: &Session<C>,
    service: &Service,
) -> Result<String, SourceError> {
    if service.client.is_none() {
        return Err(SourceError::NoClient {
            service: service.name.clone(),
        });
    }
    let (record, _) = RecordStore::new(session.parameters(), &session.pacer, &session.pool_id)
        .load()
        .await?;
    record
        .client_of_service(&service.name)
        .map(str::to_owned)
        .ok_or_else(|| SourceError::NotManaged {
            service: service.name.clone(),
            pool_id: session.pool_id.clone(),
        })
}

/// `[pool] token_url`, else what `[pool] domain` implies in the session's region.
pub fn token_url<C: Cloud>(session: &Session<C>) -> Result<String, SourceError> {
    session
        .model
        .pool
        .token_url(Some(&session.region))
        .ok_or(SourceError::NoTokenUrl)
}

/// Scopes as Cognito knows them: `<service>/<scope>` of a declared service becomes
/// `<identifier>/<scope>`; anything else is taken as written.
pub fn full_scopes<C: Cloud>(session: &Session<C>, wanted: &[String]) -> BTreeSet<String> {
    wanted
        .iter()
        .map(|scope| {
            scope
                .rsplit_once('/')
                .and_then(|(service, name)| {
                    let server = session
                        .model
                        .services
                        .get(service)?
                        .resource_server
                        .as_ref()?;
                    server
                        .scopes
                        .contains_key(name)
                        .then(|| format!("{}/{name}", server.identifier))
                })
                .unwrap_or_else(|| scope.clone())
        })
        .collect()
}

/// Gets tokens for clients, from the cache when allowed, reading each client's secret at most
/// once.
pub struct TokenSource<'a, C: Cloud> {
    session: &'a Session<C>,
    options: SourceOptions,
    token_url: String,
    http: reqwest::Client,
    cache: Option<TokenCache>,
    secrets: BTreeMap<String, Secret>,
    /// Why the cache could not be written, once: the caller shows it as a warning.
    pub cache_problem: Option<String>,
}

impl<'a, C: Cloud> TokenSource<'a, C> {
    pub fn new(session: &'a Session<C>, options: SourceOptions, token_url: String) -> Self {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .unwrap_or_default();
        Self {
            session,
            options,
            token_url,
            http,
            cache: (!options.no_cache)
                .then(cache_dir)
                .flatten()
                .map(TokenCache::new),
            secrets: BTreeMap::new(),
            cache_problem: None,
        }
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub async fn get(
        &mut self,
        service: &str,
        client_id: &str,
        scopes: &BTreeSet<String>,
    ) -> Result<Token, SourceError> {
        if let Some(token) = self
            .cache
            .as_ref()
            .and_then(|cache| cache.load(&self.token_url, client_id, scopes, now()))
        {
            return Ok(token);
        }
        let secret = self.secret(service, client_id).await?;
        let request = TokenRequest {
            token_url: &self.token_url,
            client_id,
            client_secret: &secret,
            scopes,
        };
        let token =
            fetch(&self.http, &request, now())
                .await
                .map_err(|error| SourceError::Token {
                    service: service.to_owned(),
                    error,
                })?;
        if let Some(cache) = &self.cache
            && let Err(error) = cache.save(&self.token_url, client_id, scopes, &token)
            && self.cache_problem.is_none()
        {
            self.cache_problem = Some(format!(
                "cannot cache the token in {}: {error}",
                cache.dir().display()
            ));
        }
        Ok(token)
    }

    async fn secret(&mut self, service: &str, client_id: &str) -> Result<Secret, SourceError> {
        if let Some(secret) = self.secrets.get(client_id) {
            return Ok(secret.clone());
        }
        let secret = if self.options.from_cognito {
            let pool = self.session.pool();
            self.session
                .pacer
                .call(Operation::DescribeUserPoolClient, || {
                    pool.client_secret(client_id)
                })
                .await?
                .ok_or_else(|| SourceError::NoSecret {
                    service: service.to_owned(),
                })?
        } else {
            self.stored_secret(service, client_id).await?
        };
        self.secrets.insert(client_id.to_owned(), secret.clone());
        Ok(secret)
    }

    /// The secret as the service reads it: from the `[secrets]` store, written by `sync-secrets`.
    async fn stored_secret(&self, service: &str, client_id: &str) -> Result<Secret, SourceError> {
        let session = self.session;
        let settings = &session.model.secrets;
        let names: Vec<String> = settings
            .entry_names(&session.pool_id, service)
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        let store = session.store();
        let values = session
            .pacer
            .call(store.operations().read, || store.read(&names))
            .await?
            .into_iter()
            .map(|(name, stored)| (name, stored.value))
            .collect();
        stored_secret(settings, &session.pool_id, service, client_id, &values).ok_or_else(|| {
            SourceError::NotStored {
                service: service.to_owned(),
                client_id: client_id.to_owned(),
            }
        })
    }
}
