//! `cogwire export openapi SERVICE`: the security scheme and route scopes of a service's API
//! Gateway API, as OpenAPI 3, on stdout. The audience comes from cogwire's record of the pool.

use crate::apply::record::RecordStore;
use crate::cli::{ExportArgs, GlobalArgs, PaceArgs};
use crate::commands::hinted;
use crate::commands::pool::{connect, explain};
use crate::config::gateway::audience_services;
use crate::exit::ExitStatus;
use crate::export::openapi::{self, PoolFacts};
use crate::tokens::token::issuer;

pub async fn run(
    global: &GlobalArgs,
    args: &ExportArgs,
    services: &[String],
) -> anyhow::Result<ExitStatus> {
    let [service] = services else {
        return Err(hinted(
            format!("export openapi takes one service, got {}", services.len()),
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
    let document = openapi::openapi(model, service, &facts)
        .map_err(|error| hinted(error.to_string(), error.hint()))?;
    outln!("{document:#}");
    Ok(ExitStatus::Success)
}
