//! `cogwire verify`: calls a running service's declared routes with no token, a token without the
//! route's scope and one with it, and reports what each answered. Tokens are never printed.

use std::collections::BTreeSet;

use super::hinted;
use super::pool::{connect, explain};
use super::token::{source_options, warn_cache};
use crate::cli::{GlobalArgs, PaceArgs, VerifyArgs};
use crate::exit::ExitStatus;
use crate::plan::observed;
use crate::tokens::probe::probe;
use crate::tokens::source::{TokenSource, token_url};
use crate::tokens::verify::{
    SelectError, Verdict, managed_clients, plan_checks, render_json, render_table, select,
};

pub async fn run(global: &GlobalArgs, args: &VerifyArgs) -> anyhow::Result<ExitStatus> {
    let base_url = args.base_url.trim_end_matches('/').to_owned();
    if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
        return Err(hinted(
            format!("--base-url `{base_url}` is not an http(s) URL"),
            "for example --base-url https://api.example.com",
        ));
    }
    let context = match connect(global, &PaceArgs::default()).await? {
        Ok(context) => context,
        Err(status) => return Ok(status),
    };
    // A bad selection fails before the pool is read.
    select(&context.model, &args.services).map_err(selection)?;
    let observed = observed::read(
        context.pool(),
        context.parameters(),
        &context.pacer,
        &BTreeSet::new(),
        observed::Reading::Full,
        observed::NOTHING,
    )
    .await
    .map_err(explain)?;
    let clients = managed_clients(&observed.record.clients, &observed.described);
    let checks = plan_checks(&context.model, &args.services, &clients).map_err(selection)?;
    let needs_tokens = checks
        .iter()
        .any(|check| check.client.is_some() && check.skip.is_none());
    let token_url = if needs_tokens {
        token_url(&context).map_err(explain)?
    } else {
        String::new()
    };
    let mut tokens = TokenSource::new(&context, source_options(&args.credentials), token_url);
    let results = probe(&mut tokens, &base_url, checks).await;
    warn_cache(&tokens);

    if global.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&render_json(&base_url, &results))?
        );
    } else {
        out!("{}", render_table(&base_url, &results));
    }
    let failed = results.iter().any(|result| result.verdict == Verdict::Fail);
    Ok(if failed {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

/// A selection that cannot be verified, as one line with a hint where one helps.
fn selection(error: SelectError) -> anyhow::Error {
    match error {
        SelectError::NothingToVerify => hinted(
            error.to_string(),
            "declare routes under [[services.NAME.routes]] with method, path and scope",
        ),
        SelectError::OtherEnvironment(elsewhere) => hinted(elsewhere.to_string(), elsewhere.hint()),
        other => anyhow::anyhow!(other),
    }
}
