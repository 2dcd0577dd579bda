//! `cogwire init`: a services.toml to start from (and services.schema.json beside it), never
//! replacing a file without --force. `--from-pool` is `import` writing the file.

use std::path::{Path, PathBuf};

use super::hinted;
use crate::cli::{GlobalArgs, ImportArgs, InitArgs};
use crate::config::schema;
use crate::exit::ExitStatus;
use crate::import::Patterns;
use crate::init::Starter;

pub async fn run(global: &GlobalArgs, args: &InitArgs) -> anyhow::Result<ExitStatus> {
    let path = global.config_path();
    let schema_path = schema_beside(&path);
    if path.exists() && !args.force {
        return Err(hinted(
            format!("{} exists", path.display()),
            "pass --force to replace it, or --config PATH to write another file",
        ));
    }
    if args.from_pool {
        tracing::info!(path = %path.display(), "init --from-pool: importing the live pool");
        let patterns = Patterns::default();
        let import = ImportArgs {
            output: Some(path.clone()),
            force: args.force,
            client_pattern: patterns.client,
            resource_server_pattern: patterns.resource_server,
            find_secrets: None,
            stats: false,
        };
        let status = super::import::run(global, &import).await?;
        if status != ExitStatus::Success {
            return Ok(status);
        }
    } else {
        let starter = Starter {
            pool_id: global.user_pool_id.clone().filter(|id| !id.is_empty()),
            region: global.region.clone(),
            service: args.service.clone(),
            scopes: args.scopes.clone(),
            consumers: args.consumers.clone(),
        };
        let text = starter
            .render()
            .map_err(|error| hinted(error.message, error.hint))?;
        tracing::info!(path = %path.display(), "init: writing the starter services.toml");
        write(&path, &text)?;
        eprintln!(
            "Wrote {}. Next: edit it, then `cogwire validate` and `cogwire plan`.",
            path.display()
        );
    }
    if schema_path.exists() && !args.force {
        tracing::info!(path = %schema_path.display(), "init: the schema file exists, left as it is");
    } else {
        tracing::info!(path = %schema_path.display(), "init: writing the JSON Schema for editors");
        write(&schema_path, &format!("{:#}\n", schema::services_toml()))?;
        eprintln!(
            "Wrote {} for editors (completion and errors as you type; see the README).",
            schema_path.display()
        );
    }
    Ok(ExitStatus::Success)
}

/// services.schema.json in the folder of services.toml, where the `#:schema` line points.
fn schema_beside(config: &Path) -> PathBuf {
    config
        .parent()
        .unwrap_or_else(|| Path::new(""))
        .join(schema::FILE_NAME)
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).map_err(|error| {
        anyhow::Error::new(error).context(format!("cannot write {}", path.display()))
    })
}
