//! `cogwire import`: describe a live pool as a services.toml.

use futures_util::{StreamExt as _, TryStreamExt as _, stream};

use super::hinted;
use super::pool::explain;
use crate::cli::{GlobalArgs, ImportArgs};
use crate::cloud::UserPool as _;
use crate::cloud::aws::{AwsSettings, AwsUserPool, load_config};
use crate::exit::ExitStatus;
use crate::import::{Patterns, Pool, services_toml};
use crate::pace::{Caller, PaceSettings};

pub async fn run(global: &GlobalArgs, args: &ImportArgs) -> anyhow::Result<ExitStatus> {
    let Some(pool_id) = global.user_pool_id.clone().filter(|id| !id.is_empty()) else {
        return Err(hinted(
            "no user pool is named",
            "pass --user-pool-id, or set COGWIRE_USER_POOL_ID",
        ));
    };
    for pattern in [&args.client_pattern, &args.resource_server_pattern] {
        if pattern.matches("{service}").count() != 1 {
            return Err(hinted(
                format!("the pattern `{pattern}` must hold `{{service}}` exactly once"),
                "for example --client-pattern '{service}-app-client'",
            ));
        }
    }
    if let Some(output) = &args.output
        && output.exists()
        && !args.force
    {
        return Err(hinted(
            format!("{} exists", output.display()),
            "choose another --output, or pass --force to replace it",
        ));
    }
    let config = load_config(&AwsSettings {
        region: global.region.clone(),
        profile: global.profile.clone(),
    })
    .await;
    let region = config.region().map(ToString::to_string);
    let pool = AwsUserPool::new(&config, &pool_id);
    let caller = Caller::new(PaceSettings::default());
    let (servers, clients) = tokio::join!(
        crate::cloud::list_resource_servers(&pool, &caller),
        crate::cloud::list_clients(&pool, &caller),
    );
    let servers = servers.map_err(|error| match error {
        crate::cloud::CloudError::NotFound { .. } => hinted(
            format!("user pool {pool_id} was not found"),
            "check --user-pool-id and that the region is the pool's: it is the part before `_`",
        ),
        other => explain(other),
    })?;
    let clients = clients.map_err(explain)?;
    let described: Vec<_> = stream::iter(clients)
        .map(|summary| {
            let (pool, caller) = (&pool, &caller);
            async move {
                caller
                    .call("DescribeUserPoolClient", || {
                        pool.describe_client(&summary.id)
                    })
                    .await
            }
        })
        .buffer_unordered(16)
        .try_collect()
        .await
        .map_err(explain)?;
    let text = services_toml(
        &Pool {
            pool_id: &pool_id,
            region: region.as_deref(),
            resource_servers: &servers,
            clients: &described,
        },
        &Patterns {
            client: args.client_pattern.clone(),
            resource_server: args.resource_server_pattern.clone(),
        },
    );
    match &args.output {
        Some(path) => {
            std::fs::write(path, &text).map_err(|error| {
                anyhow::Error::new(error).context(format!("cannot write {}", path.display()))
            })?;
            eprintln!(
                "Wrote {} from user pool {pool_id}: {} resource servers, {} clients read. Next: cogwire --config {} plan",
                path.display(),
                servers.len(),
                described.len(),
                path.display()
            );
        }
        None => out!("{text}"),
    }
    Ok(ExitStatus::Success)
}
