//! `cogwire import`: describe a live pool as a services.toml.

use std::path::Path;

use toml::Spanned;

use super::hinted;
use super::pool::explain;
use crate::cli::{GlobalArgs, ImportArgs};
use crate::config::model::StoreKind;
use crate::exit::ExitStatus;
use crate::import::{Import, Patterns, Pool, find_secrets, read_pool};
use crate::session::{self, SessionOptions};

pub async fn run(global: &GlobalArgs, args: &ImportArgs) -> anyhow::Result<ExitStatus> {
    let config_path = global.config_path();
    let environment = super::environment(global)?;
    let from_file = pool_in_config(&config_path, environment);
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
    if let Some(prefix) = &args.find_secrets
        && !prefix.starts_with('/')
    {
        return Err(hinted(
            format!("--find-secrets `{prefix}` is not an SSM path"),
            "give the path the entries are under, beginning with `/`, for example --find-secrets /app",
        ));
    }
    // With --env, an existing file gets the environment's table merged in.
    let merging = environment.is_some() && !args.force;
    if let Some(output) = &args.output
        && output.exists()
        && !args.force
        && !merging
    {
        return Err(hinted(
            format!("{} exists", output.display()),
            "choose another --output, or pass --force to replace it",
        ));
    }
    // The file is optional here: an empty model when it is missing or not valid.
    let model = match super::load(&config_path, Some(&pool_id), environment) {
        Ok(super::Loaded::Valid { model, .. }) => *model,
        _ => crate::config::model::load("", None).map_err(|_| anyhow::anyhow!("an empty model"))?,
    };
    if args.find_secrets.is_some() && model.secrets.store == StoreKind::SecretsManager {
        return Err(hinted(
            format!(
                "--find-secrets searches SSM Parameter Store, and {} keeps credentials in Secrets Manager",
                config_path.display()
            ),
            "import without --find-secrets, and set `[secrets] path` and `fields` by hand",
        ));
    }
    let options = SessionOptions {
        user_pool_id: Some(pool_id.clone()),
        region: global.region.clone().or(from_file.region),
        profile: global.profile.clone(),
        quota_share: 1.0,
        ssm_higher_throughput: false,
    };
    let session = session::connect(model, &options).await.map_err(explain)?;
    let read = read_pool(&session, args.find_secrets.is_some())
        .await
        .map_err(explain)?;
    let (servers, described) = (&read.resource_servers, &read.clients);
    let mut imported = Import::from_pool(
        &Pool {
            pool_id: &pool_id,
            region: Some(&session.region),
            resource_servers: servers,
            clients: described,
        },
        &Patterns {
            client: args.client_pattern.clone(),
            resource_server: args.resource_server_pattern.clone(),
        },
    );
    if let Some(prefix) = &args.find_secrets {
        find_secrets(&session, prefix, &read, &mut imported)
            .await
            .map_err(explain)?;
    }
    let existing = match (environment, &args.output) {
        (Some(_), Some(path)) if merging && path.exists() => {
            Some(std::fs::read_to_string(path).map_err(|error| {
                anyhow::Error::new(error).context(format!("cannot read {}", path.display()))
            })?)
        }
        _ => None,
    };
    let render = |imported: &Import| -> anyhow::Result<String> {
        Ok(match (environment, &existing) {
            (None, _) => imported.to_toml(),
            (Some(name), Some(existing)) => imported
                .merge_into(existing, name)
                .map_err(|error| hinted(error.to_string(), error.hint()))?,
            (Some(name), None) => imported.to_toml_in(name),
        })
    };
    let mut text = render(&imported)?;
    // A proposal is only written if the file it gives is valid; otherwise the file says why not.
    if imported
        .secrets()
        .is_some_and(|finding| finding.proposal.is_some())
        && let Err(problems) = crate::config::model::load_all(&text, None, environment)
    {
        let first = problems
            .first()
            .map_or_else(String::new, |problem| problem.message.clone());
        imported.withdraw_secrets(format!(
            "the [secrets] it would propose does not validate ({first})"
        ));
        text = render(&imported)?;
    }
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
    if let Some(finding) = imported.secrets() {
        match &finding.proposal {
            Some(proposal) => eprintln!(
                "Found {} under {} that hold a client's id: proposed [secrets] path = \"{}\"{}; review it, then `cogwire sync-secrets --dry-run --adopt SERVICE`",
                crate::import::entries(finding.entries.len()),
                finding.prefix,
                proposal.path,
                if proposal.fields.is_some() {
                    " with their key names as `fields`"
                } else {
                    ""
                }
            ),
            None => eprintln!(
                "No [secrets] proposed from {} ({} read): {}",
                finding.prefix,
                crate::import::entries(finding.read),
                finding.reason.as_deref().unwrap_or("nothing matched")
            ),
        }
    }
    if args.stats {
        eprint!("{}", session.pacer.report().render());
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

fn pool_in_config(path: &Path, environment: Option<&str>) -> PoolInConfig {
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
    let picked = crate::config::shape::parse(&text)
        .ok()
        .map(|(raw, _)| crate::config::environment::pick(&raw, environment));
    match picked {
        Some(Err(unknown)) => PoolInConfig {
            problem: Some(format!(
                " ({}: {})",
                unknown.message,
                unknown.hint.unwrap_or_default()
            )),
            ..PoolInConfig::default()
        },
        Some(Ok(raw)) => PoolInConfig {
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
        None => PoolInConfig {
            problem: Some(format!(
                " ({} does not parse; `cogwire validate` says why)",
                path.display()
            )),
            ..PoolInConfig::default()
        },
    }
}
