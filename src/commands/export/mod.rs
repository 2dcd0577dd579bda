//! `cogwire export`: reads where the named services' credentials live (`export::locate`), renders
//! one format for each, and prints it or writes one file per service. Nothing secret is read.

mod openapi;

use std::path::Path;

use crate::cli::{ExportArgs, GlobalArgs, PaceArgs};
use crate::commands::hinted;
use crate::commands::pool::{connect, explain, parse_timeout};
use crate::config::duration::Seconds;
use crate::config::model::ExportSettings;
use crate::exit::ExitStatus;
use crate::export::located::Issuer;
use crate::export::{DEFAULT_REFRESH, Exported, Format, Options, locate, parse_format, render};

pub async fn run(global: &GlobalArgs, args: &ExportArgs) -> anyhow::Result<ExitStatus> {
    let (format, services) = format_and_services(args)?;
    let format = match format {
        Export::Openapi => return openapi::run(global, args, &services).await,
        Export::Runtime(format) => format,
    };
    let refresh = args
        .refresh
        .as_deref()
        .map(|text| {
            parse_timeout(text).map_err(|_| {
                hinted(
                    format!("`{text}` is not a refresh interval"),
                    "for example --refresh 1h (how often the slowest consumer re-reads the store)",
                )
            })
        })
        .transpose()?;
    let session = match connect(global, &PaceArgs::default()).await? {
        Ok(session) => session,
        Err(status) => return Ok(status),
    };
    let options = options(
        args,
        &session.model.export,
        refresh.map(|refresh| Seconds(refresh.as_secs())),
    );
    let issuer = issuer(&session.pool_id, &session.region);
    let located = locate(&session, &services, &issuer)
        .await
        .map_err(explain)?;
    let exported = render(format, &located, &options).map_err(explain)?;
    match &args.out {
        Some(folder) => {
            let written = write_files(folder, &exported)?;
            if global.json {
                outln!(
                    "{}",
                    serde_json::json!({"format_version": "1", "format": format.name(), "files": written})
                );
            } else {
                for path in &written {
                    eprintln!("wrote {path}");
                }
            }
        }
        None => print(format, &exported, global.json)?,
    }
    Ok(ExitStatus::Success)
}

/// What to export: the OpenAPI fragment of a service's API, or a runtime's files.
enum Export {
    Openapi,
    Runtime(Format),
}

/// `export FORMAT SERVICE...` or `export --format FORMAT SERVICE...`.
fn format_and_services(args: &ExportArgs) -> anyhow::Result<(Export, Vec<String>)> {
    let parse = |word: &str| {
        if word.eq_ignore_ascii_case("openapi") {
            Ok(Export::Openapi)
        } else {
            parse_format(word).map(Export::Runtime).map_err(explain)
        }
    };
    match (&args.format, args.words.split_first()) {
        (Some(format), _) => Ok((parse(format)?, args.words.clone())),
        (None, Some((format, services))) => Ok((parse(format)?, services.to_vec())),
        (None, None) => Err(hinted(
            "name a format to export",
            format!(
                "cogwire export FORMAT [SERVICE]...; formats: {}, openapi",
                Format::ALL.map(Format::name).join(", ")
            ),
        )),
    }
}

/// Flags, else `[export]`, else the defaults.
fn options(args: &ExportArgs, settings: &ExportSettings, refresh: Option<Seconds>) -> Options {
    Options {
        namespace: args
            .namespace
            .clone()
            .or_else(|| settings.namespace.clone()),
        secret_store: args
            .secret_store
            .clone()
            .or_else(|| settings.secret_store.clone()),
        cluster_secret_store: args.cluster_secret_store || settings.cluster_secret_store,
        refresh: refresh.or(settings.refresh).unwrap_or(DEFAULT_REFRESH),
    }
}

/// The pool's issuer, or the overrides `cogwire env` honours (for a local AWS).
fn issuer(pool_id: &str, region: &str) -> Issuer {
    let mut issuer = Issuer::of_pool(pool_id, region);
    let overridden = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
    if let Some(value) = overridden("COGWIRE_ISSUER") {
        eprintln!("note: COGWIRE_ISSUER is set and replaces the issuer cogwire would write");
        issuer.jwks_uri = crate::tokens::token::jwks_uri(&value);
        issuer.issuer = value;
    }
    if let Some(value) = overridden("COGWIRE_JWKS_URI") {
        eprintln!("note: COGWIRE_JWKS_URI is set and replaces the JWKS URL cogwire would write");
        issuer.jwks_uri = value;
    }
    issuer
}

fn write_files(folder: &Path, exported: &[Exported]) -> anyhow::Result<Vec<String>> {
    let mut written = Vec::new();
    std::fs::create_dir_all(folder).map_err(|error| {
        anyhow::Error::new(error).context(format!("cannot create {}", folder.display()))
    })?;
    for one in exported {
        let path = folder.join(one.file_name());
        std::fs::write(&path, &one.text).map_err(|error| {
            anyhow::Error::new(error).context(format!("cannot write {}", path.display()))
        })?;
        written.push(path.display().to_string());
    }
    Ok(written)
}

/// One service's document as it is; several: YAML documents one after another, JSON as an object
/// keyed by service.
fn print(format: Format, exported: &[Exported], json: bool) -> anyhow::Result<()> {
    match exported {
        [one] => out!("{}", one.text),
        several if format.extension() == "yaml" && !json => {
            for one in several {
                out!("{}", one.text);
            }
        }
        several => {
            let mut keyed = serde_json::Map::new();
            for one in several {
                let value: serde_json::Value = serde_json::from_str(&one.text)
                    .unwrap_or_else(|_| serde_json::Value::String(one.text.clone()));
                keyed.insert(one.service.clone(), value);
            }
            outln!("{}", serde_json::to_string_pretty(&keyed)?);
        }
    }
    Ok(())
}
