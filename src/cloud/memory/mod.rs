//! An AWS account in memory, for tests of the engine: one Cognito user pool, SSM Parameter Store
//! and Secrets Manager, behind the same narrow traits as the SDK adapters (`UserPool`,
//! `Parameters`, `SecretStore`), answering with the `CloudError`s the adapters make of AWS's
//! answers. It exists so failure paths (throttling, 5xx, lost replies, a process that dies after
//! any call) can be tested in-process, call by call and deterministically, rather than only
//! through the binary against a server.
//!
//! One `MemoryCloud` is a cheap handle over shared state: the wrappers it hands out
//! (`user_pool`, `parameters`, `store`) see one account, and calls are numbered across all of
//! them, so a `FaultPlan` can name "the 12th call", whichever trait makes it. Every call is
//! atomic: its effect happens under one lock, with no await inside.

mod faults;
mod gateway;
mod gateway_rest;
mod parameters;
mod pool;
mod stores;
#[cfg(test)]
mod tests;

use crate::cloud::operation::Operation;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

pub use faults::{Fault, FaultPlan};
pub use gateway::{Api as HttpApi, MemoryHttpApis};
pub use gateway_rest::{MemoryRestApis, RestApi};
pub use parameters::MemoryParameters;
pub use pool::MemoryUserPool;
pub use stores::MemoryStore;

use super::stores::EntryKind;
use super::{ClientState, CloudError, CloudResult, ResourceServerState};
use crate::config::model::StoreKind;
use crate::sensitive::Secret;
use faults::{Decision, Faults, SplitMix};

/// A handle on one in-memory account; clones share it.
#[derive(Debug, Clone)]
pub struct MemoryCloud {
    pool_id: Arc<str>,
    state: Arc<Mutex<State>>,
}

#[derive(Debug)]
struct State {
    account: Account,
    /// The operation of every call that reached the account, in order.
    log: Vec<Operation>,
    faults: Faults,
}

/// What the account holds, and what it needs to make new ids and secrets.
#[derive(Debug, Clone)]
struct Account {
    resource_servers: BTreeMap<String, ResourceServerState>,
    clients: BTreeMap<String, StoredClient>,
    parameters: BTreeMap<String, StoredEntry>,
    manager_secrets: BTreeMap<String, StoredEntry>,
    /// API Gateway HTTP APIs and REST APIs, by id.
    http_apis: BTreeMap<String, HttpApi>,
    rest_apis: BTreeMap<String, RestApi>,
    /// Ids and secret values: seeded, so two runs of a test make the same ones.
    random: SplitMix,
    /// Nanoseconds since the epoch of the last secret made; each new one is later.
    clock: i128,
}

/// An app client as the pool holds it, with its secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredClient {
    /// `has_secret` is true exactly when `secrets` is not empty.
    pub state: ClientState,
    /// Oldest first; at most two.
    pub secrets: Vec<StoredClientSecret>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredClientSecret {
    pub id: String,
    pub created: i128,
    pub value: Secret,
}

/// One SSM parameter or one Secrets Manager secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntry {
    pub value: Secret,
    pub kind: EntryKind,
    pub tags: BTreeMap<String, String>,
    /// Secrets Manager only: deleted but restorable, and its name still taken.
    pub scheduled_for_deletion: bool,
}

/// Everything the account holds, for tests to assert on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub resource_servers: BTreeMap<String, ResourceServerState>,
    /// By client id.
    pub clients: BTreeMap<String, StoredClient>,
    /// SSM Parameter Store: cogwire's record and lock, and credentials when the store is SSM.
    pub parameters: BTreeMap<String, StoredEntry>,
    pub manager_secrets: BTreeMap<String, StoredEntry>,
    /// API Gateway HTTP APIs and REST APIs, by id.
    pub http_apis: BTreeMap<String, HttpApi>,
    pub rest_apis: BTreeMap<String, RestApi>,
}

/// 2026-01-01T00:00:00Z: where the clock of secret creation times starts.
const EPOCH_NANOS: i128 = 1_767_225_600_000_000_000;

impl MemoryCloud {
    /// An empty account holding one empty user pool, `pool_id`.
    pub fn new(pool_id: &str) -> Self {
        let seed = pool_id
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
                (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
            });
        Self::with_account(
            pool_id,
            Account {
                resource_servers: BTreeMap::new(),
                clients: BTreeMap::new(),
                parameters: BTreeMap::new(),
                manager_secrets: BTreeMap::new(),
                http_apis: BTreeMap::new(),
                rest_apis: BTreeMap::new(),
                random: SplitMix::new(seed),
                clock: EPOCH_NANOS,
            },
        )
    }

    fn with_account(pool_id: &str, account: Account) -> Self {
        Self {
            pool_id: Arc::from(pool_id),
            state: Arc::new(Mutex::new(State {
                account,
                log: Vec::new(),
                faults: Faults::default(),
            })),
        }
    }

    /// An independent account holding the same resources (and making the same ids next), with
    /// no faults and no calls yet: one starting point, forked for each run of an enumeration.
    pub fn fork(&self) -> Self {
        let account = self.lock().account.clone();
        Self::with_account(&self.pool_id, account)
    }

    pub fn pool_id(&self) -> &str {
        &self.pool_id
    }

    pub fn user_pool(&self) -> MemoryUserPool {
        MemoryUserPool::new(self.clone())
    }

    pub fn parameters(&self) -> MemoryParameters {
        MemoryParameters::new(self.clone())
    }

    /// The account's API Gateway HTTP APIs.
    pub fn http_apis(&self) -> MemoryHttpApis {
        MemoryHttpApis::new(self.clone())
    }

    /// The account's API Gateway REST APIs.
    pub fn rest_apis(&self) -> MemoryRestApis {
        MemoryRestApis::new(self.clone())
    }

    /// The credentials store of `kind`: SSM shares its parameters with `parameters()`.
    pub fn store(&self, kind: StoreKind) -> MemoryStore {
        MemoryStore::new(self.clone(), kind)
    }

    /// The whole cloud as a session sees it, with the credentials store of `kind`.
    pub fn account(&self, kind: StoreKind) -> MemoryAccount {
        MemoryAccount {
            pool: self.user_pool(),
            parameters: self.parameters(),
            store: self.store(kind),
            gateway: self.http_apis(),
            rest_gateway: self.rest_apis(),
        }
    }

    /// Replaces the fault plan; call numbers keep counting from this cloud's first call.
    pub fn inject(&self, plan: FaultPlan) {
        self.lock().faults = Faults::new(plan);
    }

    /// No more faults, and a dead process is a live one again (the next run).
    pub fn clear_faults(&self) {
        self.inject(FaultPlan::none());
    }

    /// How many calls reached the account (refused calls of a dead process do not).
    pub fn calls(&self) -> u64 {
        self.lock().log.len() as u64
    }

    /// The operation of each call, in order: call number `n` is at index `n - 1`.
    pub fn call_log(&self) -> Vec<Operation> {
        self.lock().log.clone()
    }

    pub fn snapshot(&self) -> Snapshot {
        let state = self.lock();
        let account = &state.account;
        Snapshot {
            resource_servers: account.resource_servers.clone(),
            clients: account.clients.clone(),
            parameters: account.parameters.clone(),
            manager_secrets: account.manager_secrets.clone(),
            http_apis: account.http_apis.clone(),
            rest_apis: account.rest_apis.clone(),
        }
    }

    /// Puts a resource server in the pool without a call (no fault, not counted).
    pub fn seed_resource_server(&self, server: ResourceServerState) {
        self.lock()
            .account
            .resource_servers
            .insert(server.identifier.clone(), server);
    }

    /// Puts a client in the pool without a call, under a new id, which it returns. `state.id` and
    /// `state.has_secret` are ignored: the client has a secret when `secret` is given.
    pub fn seed_client(&self, mut state: ClientState, secret: Option<Secret>) -> String {
        let mut guard = self.lock();
        let account = &mut guard.account;
        state.id = account.random.text(26);
        state.has_secret = secret.is_some();
        let secrets = secret
            .map(|value| vec![account.new_client_secret(&state.id, value)])
            .unwrap_or_default();
        let id = state.id.clone();
        account
            .clients
            .insert(id.clone(), StoredClient { state, secrets });
        id
    }

    /// Puts an SSM parameter in the account without a call.
    pub fn seed_parameter(
        &self,
        name: &str,
        value: &str,
        kind: EntryKind,
        tags: &[(String, String)],
    ) {
        self.lock().account.parameters.insert(
            name.to_owned(),
            StoredEntry {
                value: Secret::new(value),
                kind,
                tags: tags.iter().cloned().collect(),
                scheduled_for_deletion: false,
            },
        );
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// One call: numbered, logged, subjected to the fault plan, then (unless a fault says
    /// otherwise) its effect on the account, all under one lock.
    fn call<T>(
        &self,
        operation: Operation,
        effect: impl FnOnce(&mut Account) -> CloudResult<T>,
    ) -> CloudResult<T> {
        let mut guard = self.lock();
        let state = &mut *guard;
        let number = state.log.len() as u64 + 1;
        match state.faults.decide(operation, number) {
            Decision::Refuse => Err(faults::refused(operation)),
            Decision::Fail(Fault::LostReply) => {
                state.log.push(operation);
                // The effect's own answer never reaches the caller.
                let _ = effect(&mut state.account);
                Err(faults::error(operation, Fault::LostReply))
            }
            Decision::Fail(fault) => {
                state.log.push(operation);
                Err(faults::error(operation, fault))
            }
            Decision::Proceed => {
                state.log.push(operation);
                effect(&mut state.account)
            }
        }
    }
}

impl Account {
    /// A new generated secret of a client; its id follows AWS's `<client-id>--<creation time>`.
    fn new_client_secret(&mut self, client_id: &str, value: Secret) -> StoredClientSecret {
        self.clock += 1_000_000;
        StoredClientSecret {
            id: format!("{client_id}--{}", self.clock / 1_000_000),
            created: self.clock,
            value,
        }
    }
}

fn not_found(operation: Operation, what: String) -> CloudError {
    CloudError::NotFound { operation, what }
}

fn rejected(operation: Operation, code: &str, message: String) -> CloudError {
    CloudError::Rejected {
        operation,
        code: code.to_owned(),
        message,
    }
}

/// One `MemoryCloud` behind the `Cloud` trait, so the engines run on it as on AWS.
#[derive(Debug, Clone)]
pub struct MemoryAccount {
    pool: MemoryUserPool,
    parameters: MemoryParameters,
    store: MemoryStore,
    gateway: MemoryHttpApis,
    rest_gateway: MemoryRestApis,
}

impl crate::cloud::Cloud for MemoryAccount {
    type Pool = MemoryUserPool;
    type Parameters = MemoryParameters;
    type Store = MemoryStore;
    type Gateway = MemoryHttpApis;
    type RestGateway = MemoryRestApis;

    fn gateway(&self) -> &MemoryHttpApis {
        &self.gateway
    }

    fn rest_gateway(&self) -> &MemoryRestApis {
        &self.rest_gateway
    }

    fn pool(&self) -> &MemoryUserPool {
        &self.pool
    }

    fn parameters(&self) -> &MemoryParameters {
        &self.parameters
    }

    fn store(&self) -> &MemoryStore {
        &self.store
    }
}
