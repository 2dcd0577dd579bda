//! Everything of a pool that `import` describes: every resource server and every client, each
//! client described once, all through the session's pacer; and, for `--find-secrets`, every
//! entry under a prefix, with its value, for `secrets::propose` to match in memory.

use std::collections::BTreeMap;

use futures_util::{StreamExt as _, TryStreamExt as _, stream};

use crate::cloud::operation::Operation;
use crate::cloud::stores::{SecretStore as _, Stored};
use crate::cloud::{
    ClientState, Cloud, CloudError, CloudResult, PoolNotFound, ResourceServerState, UserPool,
};
use crate::import::Import;
use crate::import::secrets::{FoundEntry, ServiceClient, propose};
use crate::plan::observed::ReadError;
use crate::sensitive::Secret;
use crate::session::Session;

/// Descriptions in flight at once; the pacer sets the rate.
const CONCURRENCY: usize = 16;

/// A pool as read for import.
#[derive(Debug, Clone)]
pub struct ReadPool {
    pub resource_servers: Vec<ResourceServerState>,
    pub clients: Vec<ClientState>,
    /// Client id to the secret DescribeUserPoolClient showed, when asked for (the same call
    /// that describes the client tells it): only for matching stored entries in memory.
    pub secrets: BTreeMap<String, Secret>,
}

/// Reads the pool; with `secrets`, keeps each client's secret from its description.
pub async fn read_pool<C: Cloud>(
    session: &Session<C>,
    secrets: bool,
) -> Result<ReadPool, ReadError> {
    let pool = session.pool();
    let pacer = &session.pacer;
    let (servers, clients) = tokio::join!(
        crate::cloud::list_resource_servers(pool, pacer),
        crate::cloud::list_clients(pool, pacer),
    );
    let resource_servers = servers.map_err(|error| match error {
        CloudError::NotFound { .. } => ReadError::PoolNotFound(PoolNotFound::of(pool)),
        other => ReadError::Cloud(other),
    })?;
    let clients = clients?;
    tracing::info!(
        "import: {} resource servers and {} clients listed; describing each client",
        resource_servers.len(),
        clients.len()
    );
    let described: Vec<(ClientState, Option<Secret>)> = stream::iter(clients)
        .map(|summary| async move {
            pacer
                .call(Operation::DescribeUserPoolClient, || async {
                    if secrets {
                        pool.describe_client_with_secret(&summary.id).await
                    } else {
                        Ok((pool.describe_client(&summary.id).await?, None))
                    }
                })
                .await
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;
    let secrets = described
        .iter()
        .filter_map(|(client, secret)| Some((client.id.clone(), secret.clone()?)))
        .collect();
    Ok(ReadPool {
        resource_servers,
        clients: described.into_iter().map(|(client, _)| client).collect(),
        secrets,
    })
}

/// `import --find-secrets PREFIX`: reads the entries under `prefix` and has `imported` propose
/// the `[secrets]` that fits those holding its clients' ids (matching secrets in memory only).
pub async fn find_secrets<C: Cloud>(
    session: &Session<C>,
    prefix: &str,
    pool: &ReadPool,
    imported: &mut Import,
) -> CloudResult<()> {
    let found: Vec<FoundEntry> = entries_under(session, prefix)
        .await?
        .into_iter()
        .map(|(name, stored)| FoundEntry { name, stored })
        .collect();
    let by_id: BTreeMap<&str, &ClientState> = pool
        .clients
        .iter()
        .map(|client| (client.id.as_str(), client))
        .collect();
    let clients: Vec<ServiceClient<'_>> = imported
        .service_clients()
        .into_iter()
        .filter_map(|(service, client_id)| {
            Some(ServiceClient {
                service,
                client_id,
                secret: pool.secrets.get(client_id),
                scopes: &by_id.get(client_id)?.scopes,
            })
        })
        .collect();
    let finding = propose(prefix, &found, &clients, &session.pool_id);
    imported.set_secrets(finding);
    Ok(())
}

/// Every entry of the store under `prefix`, at any depth, one paced call a page.
async fn entries_under<C: Cloud>(
    session: &Session<C>,
    prefix: &str,
) -> CloudResult<Vec<(String, Stored)>> {
    let store = session.store();
    let mut entries = Vec::new();
    let mut next_token: Option<String> = None;
    loop {
        let page = session
            .pacer
            .call(Operation::GetParametersByPath, || {
                store.read_under_page(prefix, next_token.clone())
            })
            .await?;
        entries.extend(page.items);
        match page.next_token {
            Some(token) => next_token = Some(token),
            None => return Ok(entries),
        }
    }
}
