//! Everything of a pool that `import` describes: every resource server and every client, each
//! client described once, all through the session's pacer.

use futures_util::{StreamExt as _, TryStreamExt as _, stream};

use crate::cloud::operation::Operation;
use crate::cloud::{ClientState, Cloud, CloudError, PoolNotFound, ResourceServerState, UserPool};
use crate::plan::observed::ReadError;
use crate::session::Session;

/// Descriptions in flight at once; the pacer sets the rate.
const CONCURRENCY: usize = 16;

/// A pool as read for import.
#[derive(Debug, Clone)]
pub struct ReadPool {
    pub resource_servers: Vec<ResourceServerState>,
    pub clients: Vec<ClientState>,
}

pub async fn read_pool<C: Cloud>(session: &Session<C>) -> Result<ReadPool, ReadError> {
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
    let clients = stream::iter(clients)
        .map(|summary| async move {
            pacer
                .call(Operation::DescribeUserPoolClient, || {
                    pool.describe_client(&summary.id)
                })
                .await
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;
    Ok(ReadPool {
        resource_servers,
        clients,
    })
}
