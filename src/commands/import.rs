//! `cogwire import`: describe a live pool as a services.toml.

use std::path::Path;

use futures_util::{StreamExt as _, TryStreamExt as _, stream};
use toml::Spanned;

use super::hinted;
use super::pool::explain;
use crate::cli::{GlobalArgs, ImportArgs};
use crate::cloud::UserPool as _;
use crate::cloud::aws::{AwsSettings, AwsUserPool, load_config};
use crate::cloud::operation::Operation;
use crate::cloud::pace::{PaceSettings, Pacer};
use crate::exit::ExitStatus;
use crate::import::{Import, Patterns, Pool};

pub async fn run(global: &GlobalArgs, args: &ImportArgs) -> anyhow::Result<ExitStatus> {
    let config_path = global.config_path();
    let from_file = pool_in_config(&config_path);
    let Some(pool_id) = global
        .user_pool_id
        .clone()
        .filter(|id| !id.is_empty())
        .or_else(|| from_file.id.clone())
    else {
        return Err(hinted(
            "no user pool is named",
            format!(
                "pass --user-pool-id, set COGWIRE_USER_POOL_ID, or set `[pool] id` in {}{}",
                config_path.display(),
                from_file.problem.as_deref().unwrap_or_default()
            ),
        ));
    };
    if global.json && args.output.is_none() {
        return Err(hinted(
            "--json needs --output",
            "--json prints a summary of the import on stdout; the services.toml goes to --output FILE",
        ));
    }
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
        region: global.region.clone().or(from_file.region),
        profile: global.profile.clone(),
    })
    .await;
    let region = config.region().map(ToString::to_string);
    let pool = AwsUserPool::new(&config, &pool_id);
    let pacer = Pacer::new(PaceSettings::default());
    let (servers, clients) = tokio::join!(
        crate::cloud::list_resource_servers(&pool, &pacer),
        crate::cloud::list_clients(&pool, &pacer),
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
            let (pool, pacer) = (&pool, &pacer);
            async move {
                pacer
                    .call(Operation::DescribeUserPoolClient, || {
                        pool.describe_client(&summary.id)
                    })
                    .await
            }
        })
        .buffer_unordered(16)
        .try_collect()
        .await
        .map_err(explain)?;
    let imported = Import::from_pool(
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
    let text = imported.to_toml();
    match &args.output {
        Some(path) => {
            std::fs::write(path, &text).map_err(|error| {
                anyhow::Error::new(error).context(format!("cannot write {}", path.display()))
            })?;
            eprintln!(
                "Wrote {} from user pool {pool_id}: {} resource servers, {} clients read, {} left out. Next: cogwire --config {} plan",
                path.display(),
                servers.len(),
                described.len(),
                imported.skipped().len(),
                path.display()
            );
            if global.json {
                outln!("{:#}", imported.summary(path));
            }
        }
        None => out!("{text}"),
    }
    Ok(ExitStatus::Success)
}

/// `[pool] id` and `region` of the services file, when it exists and parses: import runs before
/// there is a services.toml as often as after, so a missing or broken file is no error here.
#[derive(Default)]
struct PoolInConfig {
    id: Option<String>,
    region: Option<String>,
    /// Why the file gave nothing, for the hint when no pool is named.
    problem: Option<String>,
}

fn pool_in_config(path: &Path) -> PoolInConfig {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return PoolInConfig::default();
        }
        Err(error) => {
            return PoolInConfig {
                problem: Some(format!(" ({} cannot be read: {error})", path.display())),
                ..PoolInConfig::default()
            };
        }
    };
    match crate::config::shape::parse(&text) {
        Ok((raw, _)) => PoolInConfig {
            id: raw
                .pool
                .id
                .map(Spanned::into_inner)
                .filter(|id| !id.is_empty()),
            region: raw
                .pool
                .region
                .map(Spanned::into_inner)
                .filter(|region| !region.is_empty()),
            problem: None,
        },
        Err(_) => PoolInConfig {
            problem: Some(format!(
                " ({} does not parse; `cogwire validate` says why)",
                path.display()
            )),
            ..PoolInConfig::default()
        },
    }
}
