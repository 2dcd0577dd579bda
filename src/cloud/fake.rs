//! An in-memory cloud for unit tests of the engines: a pool of app clients (with Cognito's two
//! secrets a client), Parameter Store for cogwire's bookkeeping, and a secrets store that keeps
//! each entry's kind and tags as SSM does (an overwrite retypes the entry, as SSM's does).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::operation::Operation;
use super::stores::{EntryKind, EntryWrite, SecretStore, StoreOperations, Stored, StoredKind};
use super::{
    AddedSecret, ClientSecretInfo, ClientSpec, ClientState, ClientSummary, Cloud, CloudError,
    CloudResult, CreatedClient, Page, Parameters, ResourceServerState, UserPool,
};
use crate::sensitive::Secret;

#[derive(Default)]
pub struct FakeCloud {
    pub pool: FakePool,
    pub parameters: FakeParameters,
    pub store: FakeStore,
}

impl Cloud for FakeCloud {
    type Pool = FakePool;
    type Parameters = FakeParameters;
    type Store = FakeStore;

    fn pool(&self) -> &FakePool {
        &self.pool
    }

    fn parameters(&self) -> &FakeParameters {
        &self.parameters
    }

    fn store(&self) -> &FakeStore {
        &self.store
    }
}

struct FakeClient {
    state: ClientState,
    /// Oldest first.
    secrets: Vec<(String, Secret)>,
}

#[derive(Default)]
pub struct FakePool {
    clients: Mutex<BTreeMap<String, FakeClient>>,
    next: AtomicUsize,
    /// ListUserPoolClients calls, to tell whether an engine read the client list.
    pub list_calls: AtomicUsize,
}

impl FakePool {
    fn next_id(&self, prefix: &str) -> String {
        format!("{prefix}{}", self.next.fetch_add(1, Ordering::Relaxed))
    }

    /// A client with one secret, as CreateUserPoolClient makes it.
    pub fn add_client(&self, name: &str, scopes: &[&str]) -> CreatedClient {
        let id = self.next_id("client");
        let secret = Secret::new(self.next_id("secret-value-"));
        let state = ClientState {
            id: id.clone(),
            name: name.to_owned(),
            has_secret: true,
            allowed_oauth_flows: BTreeSet::from([crate::plan::diff::CLIENT_CREDENTIALS.to_owned()]),
            allowed_oauth_flows_user_pool_client: true,
            scopes: scopes.iter().map(|scope| (*scope).to_owned()).collect(),
            access_token_validity: None,
            extras: Default::default(),
        };
        let secrets = vec![(self.next_id("secret"), secret.clone())];
        self.lock()
            .insert(id.clone(), FakeClient { state, secrets });
        CreatedClient { id, secret }
    }

    /// The ids of a client's secrets, oldest first.
    pub fn secret_ids(&self, client_id: &str) -> Vec<String> {
        self.lock()
            .get(client_id)
            .map(|client| client.secrets.iter().map(|(id, _)| id.clone()).collect())
            .unwrap_or_default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, FakeClient>> {
        self.clients.lock().expect("clients")
    }

    fn with_client<T>(
        &self,
        operation: Operation,
        id: &str,
        action: impl FnOnce(&mut FakeClient) -> CloudResult<T>,
    ) -> CloudResult<T> {
        match self.lock().get_mut(id) {
            Some(client) => action(client),
            None => Err(CloudError::NotFound {
                operation,
                what: id.to_owned(),
            }),
        }
    }
}

impl UserPool for FakePool {
    fn pool_id(&self) -> &str {
        "us-east-1_Fake"
    }

    async fn list_resource_servers_page(
        &self,
        _next_token: Option<String>,
    ) -> CloudResult<Page<ResourceServerState>> {
        Ok(Page {
            items: Vec::new(),
            next_token: None,
        })
    }

    async fn list_clients_page(
        &self,
        _next_token: Option<String>,
    ) -> CloudResult<Page<ClientSummary>> {
        self.list_calls.fetch_add(1, Ordering::Relaxed);
        let items = self
            .lock()
            .values()
            .map(|client| ClientSummary {
                id: client.state.id.clone(),
                name: client.state.name.clone(),
            })
            .collect();
        Ok(Page {
            items,
            next_token: None,
        })
    }

    async fn describe_client(&self, id: &str) -> CloudResult<ClientState> {
        self.with_client(Operation::DescribeUserPoolClient, id, |client| {
            Ok(client.state.clone())
        })
    }

    async fn client_secret(&self, id: &str) -> CloudResult<Option<Secret>> {
        self.with_client(Operation::DescribeUserPoolClient, id, |client| {
            Ok(client.secrets.first().map(|(_, secret)| secret.clone()))
        })
    }

    async fn create_resource_server(&self, _server: &ResourceServerState) -> CloudResult<()> {
        Ok(())
    }

    async fn update_resource_server(&self, _server: &ResourceServerState) -> CloudResult<()> {
        Ok(())
    }

    async fn delete_resource_server(&self, _identifier: &str) -> CloudResult<()> {
        Ok(())
    }

    async fn create_client(&self, spec: &ClientSpec) -> CloudResult<CreatedClient> {
        let scopes: Vec<&str> = spec.scopes.iter().map(String::as_str).collect();
        Ok(self.add_client(&spec.name, &scopes))
    }

    async fn update_client(&self, state: &ClientState) -> CloudResult<()> {
        self.with_client(Operation::UpdateUserPoolClient, &state.id, |client| {
            client.state = state.clone();
            Ok(())
        })
    }

    async fn delete_client(&self, id: &str) -> CloudResult<()> {
        self.lock().remove(id);
        Ok(())
    }

    async fn describe_client_with_secret(
        &self,
        id: &str,
    ) -> CloudResult<(ClientState, Option<Secret>)> {
        self.with_client(Operation::DescribeUserPoolClient, id, |client| {
            let secret = client.secrets.first().map(|(_, secret)| secret.clone());
            Ok((client.state.clone(), secret))
        })
    }

    async fn list_client_secrets(&self, client_id: &str) -> CloudResult<Vec<ClientSecretInfo>> {
        self.with_client(Operation::ListUserPoolClientSecrets, client_id, |client| {
            Ok((0..)
                .zip(&client.secrets)
                .map(|(created, (id, _))| ClientSecretInfo {
                    id: id.clone(),
                    created,
                })
                .collect())
        })
    }

    async fn add_client_secret(&self, client_id: &str) -> CloudResult<AddedSecret> {
        let id = self.next_id("secret");
        let value = Secret::new(self.next_id("secret-value-"));
        self.with_client(Operation::AddUserPoolClientSecret, client_id, |client| {
            if client.secrets.len() >= 2 {
                return Err(CloudError::Rejected {
                    operation: Operation::AddUserPoolClientSecret,
                    code: "LimitExceededException".to_owned(),
                    message: "a client has at most two secrets".to_owned(),
                });
            }
            client.secrets.push((id.clone(), value.clone()));
            Ok(AddedSecret { id, value })
        })
    }

    async fn delete_client_secret(&self, client_id: &str, secret_id: &str) -> CloudResult<()> {
        self.with_client(Operation::DeleteUserPoolClientSecret, client_id, |client| {
            client.secrets.retain(|(id, _)| id != secret_id);
            Ok(())
        })
    }
}

#[derive(Default)]
pub struct FakeParameters {
    values: Mutex<BTreeMap<String, String>>,
}

impl Parameters for FakeParameters {
    async fn get(&self, names: &[String]) -> CloudResult<BTreeMap<String, String>> {
        let values = self.values.lock().expect("values");
        Ok(names
            .iter()
            .filter_map(|name| Some((name.clone(), values.get(name)?.clone())))
            .collect())
    }

    async fn put(&self, name: &str, value: &str, overwrite: bool) -> CloudResult<()> {
        let mut values = self.values.lock().expect("values");
        if !overwrite && values.contains_key(name) {
            return Err(CloudError::AlreadyExists {
                operation: Operation::PutParameter,
                what: name.to_owned(),
            });
        }
        values.insert(name.to_owned(), value.to_owned());
        Ok(())
    }

    async fn delete(&self, name: &str) -> CloudResult<()> {
        self.values.lock().expect("values").remove(name);
        Ok(())
    }
}

/// One entry of the fake store, as a test sets it up and checks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeEntry {
    pub value: String,
    pub kind: StoredKind,
    pub tags: BTreeMap<String, String>,
}

/// Parameter Store, as far as the credentials need it.
#[derive(Default)]
pub struct FakeStore {
    entries: Mutex<BTreeMap<String, FakeEntry>>,
}

impl FakeStore {
    pub fn insert(&self, name: &str, entry: FakeEntry) {
        self.lock().insert(name.to_owned(), entry);
    }

    pub fn get(&self, name: &str) -> Option<FakeEntry> {
        self.lock().get(name).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, FakeEntry>> {
        self.entries.lock().expect("entries")
    }
}

fn kind_of(kind: EntryKind) -> StoredKind {
    match kind {
        EntryKind::Plain => StoredKind::String,
        EntryKind::Secure => StoredKind::SecureString,
    }
}

impl SecretStore for FakeStore {
    fn operations(&self) -> StoreOperations {
        StoreOperations {
            read: Operation::GetParameters,
            read_batch: 10,
            list: Operation::GetParametersByPath,
            create: Operation::PutParameter,
            create_tags: true,
            update: Operation::PutParameter,
            tag: Operation::AddTagsToResource,
            delete: Operation::DeleteParameter,
        }
    }

    async fn read(&self, names: &[String]) -> CloudResult<BTreeMap<String, Stored>> {
        let entries = self.lock();
        Ok(names
            .iter()
            .filter_map(|name| {
                let entry = entries.get(name)?;
                let stored = Stored {
                    value: Secret::new(entry.value.clone()),
                    kind: entry.kind,
                };
                Some((name.clone(), stored))
            })
            .collect())
    }

    async fn list_managed(&self, path: &str, pool_id: &str) -> CloudResult<BTreeSet<String>> {
        let tagged = |entry: &FakeEntry, key: &str, value: &str| {
            entry.tags.get(key).map(String::as_str) == Some(value)
        };
        Ok(self
            .lock()
            .iter()
            .filter(|(name, entry)| {
                name.starts_with(path)
                    && tagged(
                        entry,
                        super::stores::MANAGED_BY.0,
                        super::stores::MANAGED_BY.1,
                    )
                    && tagged(entry, super::stores::POOL_TAG, pool_id)
            })
            .map(|(name, _)| name.clone())
            .collect())
    }

    async fn create(&self, entry: EntryWrite<'_>, tags: &[(String, String)]) -> CloudResult<()> {
        let mut entries = self.lock();
        if entries.contains_key(entry.name) {
            return Err(CloudError::AlreadyExists {
                operation: Operation::PutParameter,
                what: entry.name.to_owned(),
            });
        }
        let created = FakeEntry {
            value: entry.value.expose().to_owned(),
            kind: kind_of(entry.kind),
            tags: tags.iter().cloned().collect(),
        };
        entries.insert(entry.name.to_owned(), created);
        Ok(())
    }

    async fn update(&self, entry: EntryWrite<'_>) -> CloudResult<()> {
        let mut entries = self.lock();
        let Some(existing) = entries.get_mut(entry.name) else {
            return Err(CloudError::NotFound {
                operation: Operation::PutParameter,
                what: entry.name.to_owned(),
            });
        };
        existing.value = entry.value.expose().to_owned();
        existing.kind = kind_of(entry.kind);
        Ok(())
    }

    async fn tag(&self, name: &str, tags: &[(String, String)]) -> CloudResult<()> {
        match self.lock().get_mut(name) {
            Some(entry) => {
                entry.tags.extend(tags.iter().cloned());
                Ok(())
            }
            None => Err(CloudError::NotFound {
                operation: Operation::AddTagsToResource,
                what: name.to_owned(),
            }),
        }
    }

    async fn delete(&self, name: &str) -> CloudResult<()> {
        self.lock().remove(name);
        Ok(())
    }
}
