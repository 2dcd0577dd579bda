//! `cogwire export FORMAT SERVICE`: services.toml in another tool's format, on stdout. Only
//! `openapi` so far: the security scheme and route scopes of a service's API Gateway API.

use clap::ValueEnum as _;

use super::hinted;
use super::pool::{connect, explain};
use crate::apply::record::RecordStore;
use crate::cli::{ExportArgs, ExportFormat, GlobalArgs, PaceArgs};
use crate::config::gateway::audience_services;
use crate::exit::ExitStatus;
use crate::export::openapi::{self, PoolFacts};
use crate::tokens::token::issuer;

pub async fn run(global: &GlobalArgs, args: &ExportArgs) -> anyhow::Result<ExitStatus> {
    let (format, services) = format_and_services(args)?;
    let [service] = services else {
        return Err(hinted(
            format!(
                "export {} takes one service, got {}",
                name(format),
                services.len()
            ),
            "for example: cogwire export openapi gateway",
        ));
    };
    let context = match connect(global, &PaceArgs::default()).await? {
        Ok(context) => context,
        Err(status) => return Ok(status),
    };
    let model = &context.model;
    let declared = openapi::service(model, service)
        .map_err(|error| hinted(error.to_string(), error.hint()))?;
    let (record, _) = RecordStore::new(context.parameters(), &context.pacer, &context.pool_id)
        .load()
        .await
        .map_err(explain)?;
    let mut audience = Vec::new();
    for caller in audience_services(model, declared) {
        match record.client_of_service(&caller) {
            Some(id) => audience.push(id.to_owned()),
            None => eprintln!(
                "note: `{caller}` is granted a scope of `{service}` but has no client yet: run `cogwire apply`, then export again"
            ),
        }
    }
    audience.sort();
    let facts = PoolFacts {
        issuer: issuer(&context.pool_id, &context.region),
        token_url: crate::tokens::source::token_url(&context).ok(),
        audience,
        pool_arn: args.account_id.as_ref().map(|account| {
            format!(
                "arn:aws:cognito-idp:{}:{account}:userpool/{}",
                context.region, context.pool_id
            )
        }),
    };
    let document = match format {
        ExportFormat::Openapi => openapi::openapi(model, service, &facts)
            .map_err(|error| hinted(error.to_string(), error.hint()))?,
    };
    outln!("{document:#}");
    Ok(ExitStatus::Success)
}

fn name(format: ExportFormat) -> String {
    format
        .to_possible_value()
        .map(|value| value.get_name().to_owned())
        .unwrap_or_default()
}

/// `export openapi SERVICE`, or `export --format openapi SERVICE`.
fn format_and_services(args: &ExportArgs) -> anyhow::Result<(ExportFormat, &[String])> {
    if let Some(format) = args.format {
        return Ok((format, &args.arguments));
    }
    let Some((first, rest)) = args.arguments.split_first() else {
        return Err(hinted(
            "export needs a format",
            "for example: cogwire export openapi gateway",
        ));
    };
    let format = ExportFormat::from_str(first, true).map_err(|_| {
        hinted(
            format!("`{first}` is not a format cogwire exports"),
            "formats: openapi",
        )
    })?;
    Ok((format, rest))
}
