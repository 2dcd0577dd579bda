//! `cogwire token`: an access token for a service's client, as the deployed service gets one. The
//! helpers here (finding the client, its secret, the token URL, a cached token) serve `verify` too.

use std::collections::{BTreeMap, BTreeSet};

use super::hinted;
use super::pool::{connect, explain};
use crate::apply::record::RecordStore;
use crate::cli::{CredentialArgs, GlobalArgs, PaceArgs, TokenArgs};
use crate::cloud::operation::Operation;
use crate::cloud::stores::SecretStore;
use crate::config::model::Service;
use crate::credentials::decide::{entry_names, stored_secret};
use crate::exit::ExitStatus;
use crate::sensitive::Secret;
use crate::session::Session;
use crate::tokens::token::{Token, TokenCache, TokenRequest, cache_dir, fetch, now};

pub async fn run(global: &GlobalArgs, args: &TokenArgs) -> anyhow::Result<ExitStatus> {
    let context = match connect(global, &PaceArgs::default()).await? {
        Ok(context) => context,
        Err(status) => return Ok(status),
    };
    let service = declared_service(&context, &args.service)?;
    let client_id = managed_client(&context, service).await?;
    let token_url = token_url(&context)?;
    let scopes = full_scopes(&context, &args.scopes);
    let mut tokens = Tokens::new(&context, &args.credentials, token_url);
    let token = tokens.get(&service.name, &client_id, &scopes).await?;
    let now = now();
    if global.json {
        outln!("{}", token.to_json(now));
    } else {
        outln!("{}", token.access_token.expose());
    }
    Ok(ExitStatus::Success)
}

pub fn declared_service<'a>(context: &'a Session, name: &str) -> anyhow::Result<&'a Service> {
    context.model.services.get(name).ok_or_else(|| {
        let names = context.model.services.keys().map(String::as_str);
        let hint = match crate::config::suggest::closest(name, names) {
            Some(guess) => format!("did you mean `{guess}`?"),
            None => {
                "name a service declared in services.toml (`cogwire graph` lists them)".to_owned()
            }
        };
        hinted(format!("services.toml declares no service `{name}`"), hint)
    })
}

/// The id of the client cogwire manages for the service, from its ownership record.
pub async fn managed_client(context: &Session, service: &Service) -> anyhow::Result<String> {
    if service.client.is_none() {
        return Err(hinted(
            format!("service `{}` has no app client", service.name),
            "a service gets a client when it `consumes` scopes of another",
        ));
    }
    let (record, _) = RecordStore::new(context.parameters(), &context.pacer, &context.pool_id)
        .load()
        .await
        .map_err(explain)?;
    record
        .client_of_service(&service.name)
        .map(str::to_owned)
        .ok_or_else(|| {
            hinted(
                format!(
                    "cogwire manages no client of service `{}` in pool {}",
                    service.name, context.pool_id
                ),
                "run `cogwire apply` to create it",
            )
        })
}

/// `[pool] token_url`, else what `[pool] domain` implies.
pub fn token_url(context: &Session) -> anyhow::Result<String> {
    crate::credentials::decide::token_url(&context.model.pool, Some(&context.region)).ok_or_else(|| {
        hinted(
            "services.toml says nowhere to get tokens",
            "set `[pool] domain` to the pool's Cognito domain prefix (or custom domain host), or `[pool] token_url`",
        )
    })
}

/// `--scope` values as Cognito knows them: `<service>/<scope>` of a declared service becomes
/// `<identifier>/<scope>`; anything else is taken as written.
pub fn full_scopes(context: &Session, wanted: &[String]) -> BTreeSet<String> {
    wanted
        .iter()
        .map(|scope| {
            scope
                .rsplit_once('/')
                .and_then(|(service, name)| {
                    let server = context
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
pub struct Tokens<'a> {
    context: &'a Session,
    options: &'a CredentialArgs,
    token_url: String,
    http: reqwest::Client,
    cache: Option<TokenCache>,
    secrets: BTreeMap<String, Secret>,
}

impl<'a> Tokens<'a> {
    pub fn new(context: &'a Session, options: &'a CredentialArgs, token_url: String) -> Self {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .unwrap_or_default();
        Self {
            context,
            options,
            token_url,
            http,
            cache: (!options.no_cache)
                .then(cache_dir)
                .flatten()
                .map(TokenCache::new),
            secrets: BTreeMap::new(),
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
    ) -> anyhow::Result<Token> {
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
        let token = fetch(&self.http, &request, now()).await.map_err(|error| {
            let hint = error.hint();
            hinted(format!("no token for service `{service}`: {error}"), hint)
        })?;
        if let Some(cache) = &self.cache
            && let Err(error) = cache.save(&self.token_url, client_id, scopes, &token)
        {
            eprintln!(
                "warning: cannot cache the token in {}: {error}",
                cache.dir().display()
            );
        }
        Ok(token)
    }

    async fn secret(&mut self, service: &str, client_id: &str) -> anyhow::Result<Secret> {
        if let Some(secret) = self.secrets.get(client_id) {
            return Ok(secret.clone());
        }
        let secret = if self.options.from_cognito {
            self.context
                .pacer
                .call(Operation::DescribeUserPoolClient, || {
                    crate::cloud::UserPool::client_secret(self.context.pool(), client_id)
                })
                .await
                .map_err(explain)?
                .ok_or_else(|| {
                    hinted(
                        format!("the client of service `{service}` has no secret"),
                        "cogwire's clients always have one: was it replaced by hand? `cogwire plan` tells",
                    )
                })?
        } else {
            self.stored_secret(service, client_id).await?
        };
        self.secrets.insert(client_id.to_owned(), secret.clone());
        Ok(secret)
    }

    /// The secret as the service reads it: from the `[secrets]` store, written by `sync-secrets`.
    async fn stored_secret(&self, service: &str, client_id: &str) -> anyhow::Result<Secret> {
        let settings = &self.context.model.secrets;
        let values = read_entries(self.context.store(), self.context, service).await?;
        stored_secret(settings, &self.context.pool_id, service, client_id, &values).ok_or_else(
            || {
                hinted(
                    format!(
                        "the secrets store holds no credentials of client {client_id} for service `{service}`"
                    ),
                    "run `cogwire sync-secrets`, or pass --from-cognito to read the secret from the pool",
                )
            },
        )
    }
}

async fn read_entries<S: SecretStore>(
    store: &S,
    context: &Session,
    service: &str,
) -> anyhow::Result<BTreeMap<String, Secret>> {
    let names: Vec<String> = entry_names(&context.model.secrets, &context.pool_id, service)
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    let operations = store.operations();
    let found = context
        .pacer
        .call(operations.read, || store.read(&names))
        .await
        .map_err(explain)?;
    Ok(found
        .into_iter()
        .map(|(name, stored)| (name, stored.value))
        .collect())
}
