//! Cognito's side of the in-memory account: resource servers and app clients, with the rules
//! cogwire's correctness leans on, answered as `aws.rs` classifies Cognito's answers:
//! - a duplicate resource-server identifier is an `InvalidParameterException` (`Rejected`);
//! - a client may only name scopes that exist (`ScopeDoesNotExistException`, `Rejected`), and
//!   deleting a resource server leaves its clients as they are;
//! - client names need not be unique (the duplicate cogwire must never make);
//! - `UpdateUserPoolClient` replaces the whole client: what it is not sent goes back to the
//!   default;
//! - a client has at most two secrets, listed oldest first; the last one cannot be deleted;
//! - lists come in pages of 50 resource servers and 60 clients.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use super::{Account, MemoryCloud, StoredClient, not_found, rejected};
use crate::cloud::operation::Operation;
use crate::cloud::{
    AddedSecret, ClientExtras, ClientSecretInfo, ClientSpec, ClientState, ClientSummary,
    CloudResult, CreatedClient, Page, ResourceServerState, UserPool,
};
use crate::config::duration::Seconds;
use crate::plan::diff::CLIENT_CREDENTIALS;
use crate::sensitive::Secret;

const RESOURCE_SERVERS_PAGE: usize = 50;
const CLIENTS_PAGE: usize = 60;
const MAX_CLIENT_SECRETS: usize = 2;
/// Scopes every pool has without a resource server.
const STANDARD_SCOPES: &[&str] = &[
    "openid",
    "email",
    "phone",
    "profile",
    "aws.cognito.signin.user.admin",
];
/// Cognito's bounds on an access token's validity.
const ACCESS_TOKEN_VALIDITY: (Seconds, Seconds) = (Seconds(5 * 60), Seconds::DAY);

/// The in-memory cloud's user pool.
#[derive(Debug, Clone)]
pub struct MemoryUserPool {
    cloud: MemoryCloud,
    pool_id: String,
}

impl MemoryUserPool {
    pub(super) fn new(cloud: MemoryCloud) -> Self {
        let pool_id = cloud.pool_id().to_owned();
        Self { cloud, pool_id }
    }
}

/// One page of a map, starting after the key `next_token` names.
fn page<V, T>(
    map: &BTreeMap<String, V>,
    next_token: Option<String>,
    size: usize,
    item: impl Fn(&V) -> T,
) -> Page<T> {
    let start = match next_token {
        Some(after) => Bound::Excluded(after),
        None => Bound::Unbounded,
    };
    let mut range = map.range((start, Bound::Unbounded));
    let items: Vec<(&String, &V)> = range.by_ref().take(size).collect();
    let next_token = match (items.last(), range.next()) {
        (Some((last, _)), Some(_)) => Some((*last).clone()),
        _ => None,
    };
    Page {
        items: items.into_iter().map(|(_, value)| item(value)).collect(),
        next_token,
    }
}

/// The defaults Cognito gives a client, and gives back to an update that does not send them
/// (as localaws's `CLIENT_DEFAULTS`).
fn with_defaults(mut extras: ClientExtras) -> ClientExtras {
    extras.refresh_token_validity.get_or_insert(30);
    extras.auth_session_validity.get_or_insert(3);
    extras.enable_token_revocation.get_or_insert(true);
    extras
        .enable_propagate_additional_user_context_data
        .get_or_insert(false);
    extras
}

impl Account {
    fn check_scopes(&self, operation: Operation, scopes: &BTreeSet<String>) -> CloudResult<()> {
        let exists = |scope: &String| {
            STANDARD_SCOPES.contains(&scope.as_str())
                || scope.rsplit_once('/').is_some_and(|(identifier, name)| {
                    self.resource_servers
                        .get(identifier)
                        .is_some_and(|server| server.scopes.contains_key(name))
                })
        };
        match scopes.iter().find(|scope| !exists(scope)) {
            Some(missing) => Err(rejected(
                operation,
                "ScopeDoesNotExistException",
                format!("Invalid scope requested: {missing}"),
            )),
            None => Ok(()),
        }
    }

    fn client(&self, operation: Operation, id: &str) -> CloudResult<&StoredClient> {
        self.clients
            .get(id)
            .ok_or_else(|| not_found(operation, format!("client {id}")))
    }

    fn client_mut(&mut self, operation: Operation, id: &str) -> CloudResult<&mut StoredClient> {
        self.clients
            .get_mut(id)
            .ok_or_else(|| not_found(operation, format!("client {id}")))
    }

    /// What DescribeUserPoolClient tells: the client and the oldest of its secrets (AWS does not
    /// say which of two it shows; localaws shows the oldest).
    fn described(
        &self,
        operation: Operation,
        id: &str,
    ) -> CloudResult<(ClientState, Option<Secret>)> {
        let client = self.client(operation, id)?;
        let secret = client.secrets.first().map(|secret| secret.value.clone());
        Ok((client.state.clone(), secret))
    }
}

fn check_validity(operation: Operation, validity: Option<Seconds>) -> CloudResult<()> {
    let (shortest, longest) = ACCESS_TOKEN_VALIDITY;
    match validity {
        Some(validity) if validity < shortest || validity > longest => Err(rejected(
            operation,
            "InvalidParameterException",
            format!("AccessTokenValidity {validity} is outside 5m to 1d"),
        )),
        _ => Ok(()),
    }
}

/// The account every in-memory pool's ARN names.
pub const ACCOUNT_ID: &str = "123456789012";

impl UserPool for MemoryUserPool {
    fn pool_id(&self) -> &str {
        &self.pool_id
    }

    async fn pool_arn(&self) -> CloudResult<String> {
        let region = self.pool_id.split('_').next().unwrap_or_default();
        let arn = format!(
            "arn:aws:cognito-idp:{region}:{ACCOUNT_ID}:userpool/{}",
            self.pool_id
        );
        self.cloud.call(Operation::DescribeUserPool, |_| Ok(arn))
    }

    async fn list_resource_servers_page(
        &self,
        next_token: Option<String>,
    ) -> CloudResult<Page<ResourceServerState>> {
        self.cloud.call(Operation::ListResourceServers, |account| {
            Ok(page(
                &account.resource_servers,
                next_token,
                RESOURCE_SERVERS_PAGE,
                Clone::clone,
            ))
        })
    }

    async fn list_clients_page(
        &self,
        next_token: Option<String>,
    ) -> CloudResult<Page<ClientSummary>> {
        self.cloud.call(Operation::ListUserPoolClients, |account| {
            Ok(page(&account.clients, next_token, CLIENTS_PAGE, |client| {
                ClientSummary {
                    id: client.state.id.clone(),
                    name: client.state.name.clone(),
                }
            }))
        })
    }

    async fn describe_client(&self, id: &str) -> CloudResult<ClientState> {
        const OPERATION: Operation = Operation::DescribeUserPoolClient;
        self.cloud
            .call(OPERATION, |account| Ok(account.described(OPERATION, id)?.0))
    }

    async fn client_secret(&self, id: &str) -> CloudResult<Option<Secret>> {
        const OPERATION: Operation = Operation::DescribeUserPoolClient;
        self.cloud
            .call(OPERATION, |account| Ok(account.described(OPERATION, id)?.1))
    }

    async fn create_resource_server(&self, server: &ResourceServerState) -> CloudResult<()> {
        const OPERATION: Operation = Operation::CreateResourceServer;
        self.cloud.call(OPERATION, |account| {
            if account.resource_servers.contains_key(&server.identifier) {
                return Err(rejected(
                    OPERATION,
                    "InvalidParameterException",
                    format!(
                        "{} already exists in user pool {}.",
                        server.identifier, self.pool_id
                    ),
                ));
            }
            account
                .resource_servers
                .insert(server.identifier.clone(), server.clone());
            Ok(())
        })
    }

    async fn update_resource_server(&self, server: &ResourceServerState) -> CloudResult<()> {
        const OPERATION: Operation = Operation::UpdateResourceServer;
        self.cloud.call(OPERATION, |account| {
            let current = account
                .resource_servers
                .get_mut(&server.identifier)
                .ok_or_else(|| {
                    not_found(OPERATION, format!("resource server {}", server.identifier))
                })?;
            *current = server.clone();
            Ok(())
        })
    }

    async fn delete_resource_server(&self, identifier: &str) -> CloudResult<()> {
        const OPERATION: Operation = Operation::DeleteResourceServer;
        self.cloud.call(OPERATION, |account| {
            account
                .resource_servers
                .remove(identifier)
                .map(|_| ())
                .ok_or_else(|| not_found(OPERATION, format!("resource server {identifier}")))
        })
    }

    async fn create_client(&self, spec: &ClientSpec) -> CloudResult<CreatedClient> {
        const OPERATION: Operation = Operation::CreateUserPoolClient;
        self.cloud.call(OPERATION, |account| {
            account.check_scopes(OPERATION, &spec.scopes)?;
            check_validity(OPERATION, Some(spec.access_token_validity))?;
            let id = account.random.text(26);
            let value = Secret::new(account.random.text(52));
            let secret = account.new_client_secret(&id, value.clone());
            let state = ClientState {
                id: id.clone(),
                name: spec.name.clone(),
                has_secret: true,
                allowed_oauth_flows: BTreeSet::from([CLIENT_CREDENTIALS.to_owned()]),
                allowed_oauth_flows_user_pool_client: true,
                scopes: spec.scopes.clone(),
                access_token_validity: Some(spec.access_token_validity),
                extras: with_defaults(ClientExtras::default()),
            };
            account.clients.insert(
                id.clone(),
                StoredClient {
                    state,
                    secrets: vec![secret],
                },
            );
            Ok(CreatedClient { id, secret: value })
        })
    }

    async fn update_client(&self, client: &ClientState) -> CloudResult<Option<Secret>> {
        const OPERATION: Operation = Operation::UpdateUserPoolClient;
        self.cloud.call(OPERATION, |account| {
            account.client(OPERATION, &client.id)?;
            account.check_scopes(OPERATION, &client.scopes)?;
            check_validity(OPERATION, client.access_token_validity)?;
            let stored = account.client_mut(OPERATION, &client.id)?;
            // Everything is replaced by what was sent; only the id and the secrets stay.
            stored.state = ClientState {
                id: stored.state.id.clone(),
                has_secret: stored.state.has_secret,
                extras: with_defaults(client.extras.clone()),
                ..client.clone()
            };
            Ok(account.described(OPERATION, &client.id)?.1)
        })
    }

    async fn delete_client(&self, id: &str) -> CloudResult<()> {
        const OPERATION: Operation = Operation::DeleteUserPoolClient;
        self.cloud.call(OPERATION, |account| {
            account
                .clients
                .remove(id)
                .map(|_| ())
                .ok_or_else(|| not_found(OPERATION, format!("client {id}")))
        })
    }

    async fn describe_client_with_secret(
        &self,
        id: &str,
    ) -> CloudResult<(ClientState, Option<Secret>)> {
        const OPERATION: Operation = Operation::DescribeUserPoolClient;
        self.cloud
            .call(OPERATION, |account| account.described(OPERATION, id))
    }

    async fn list_client_secrets(&self, client_id: &str) -> CloudResult<Vec<ClientSecretInfo>> {
        const OPERATION: Operation = Operation::ListUserPoolClientSecrets;
        self.cloud.call(OPERATION, |account| {
            Ok(account
                .client(OPERATION, client_id)?
                .secrets
                .iter()
                .map(|secret| ClientSecretInfo {
                    id: secret.id.clone(),
                    created: secret.created,
                })
                .collect())
        })
    }

    async fn add_client_secret(&self, client_id: &str) -> CloudResult<AddedSecret> {
        const OPERATION: Operation = Operation::AddUserPoolClientSecret;
        self.cloud.call(OPERATION, |account| {
            let client = account.client(OPERATION, client_id)?;
            if !client.state.has_secret {
                return Err(rejected(
                    OPERATION,
                    "InvalidParameterException",
                    format!("Client {client_id} has no client secret."),
                ));
            }
            if client.secrets.len() >= MAX_CLIENT_SECRETS {
                return Err(rejected(
                    OPERATION,
                    "LimitExceededException",
                    format!("Client {client_id} already has {MAX_CLIENT_SECRETS} client secrets."),
                ));
            }
            let value = Secret::new(account.random.text(52));
            let secret = account.new_client_secret(client_id, value.clone());
            let id = secret.id.clone();
            account
                .client_mut(OPERATION, client_id)?
                .secrets
                .push(secret);
            Ok(AddedSecret { id, value })
        })
    }

    async fn delete_client_secret(&self, client_id: &str, secret_id: &str) -> CloudResult<()> {
        const OPERATION: Operation = Operation::DeleteUserPoolClientSecret;
        self.cloud.call(OPERATION, |account| {
            let client = account.client_mut(OPERATION, client_id)?;
            let position = client
                .secrets
                .iter()
                .position(|secret| secret.id == secret_id)
                .ok_or_else(|| {
                    not_found(
                        OPERATION,
                        format!("Client secret {secret_id} does not exist."),
                    )
                })?;
            if client.secrets.len() == 1 {
                return Err(rejected(
                    OPERATION,
                    "InvalidParameterException",
                    "The last client secret of a client cannot be deleted.".to_owned(),
                ));
            }
            client.secrets.remove(position);
            Ok(())
        })
    }
}
