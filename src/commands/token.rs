//! `cogwire token`: an access token for a service's client, as the deployed service gets one.

use super::pool::{connect, explain};
use crate::cli::{CredentialArgs, GlobalArgs, PaceArgs, TokenArgs};
use crate::exit::ExitStatus;
use crate::tokens::source::{
    SourceOptions, TokenSource, declared_service, full_scopes, managed_client, token_url,
};
use crate::tokens::token::now;

pub async fn run(global: &GlobalArgs, args: &TokenArgs) -> anyhow::Result<ExitStatus> {
    let session = match connect(global, &PaceArgs::default()).await? {
        Ok(session) => session,
        Err(status) => return Ok(status),
    };
    let service = declared_service(&session, &args.service).map_err(explain)?;
    let client_id = managed_client(&session, service).await.map_err(explain)?;
    let token_url = token_url(&session).map_err(explain)?;
    let scopes = full_scopes(&session, &args.scopes);
    let mut tokens = TokenSource::new(&session, source_options(&args.credentials), token_url);
    let token = tokens
        .get(&service.name, &client_id, &scopes)
        .await
        .map_err(explain)?;
    warn_cache(&tokens);
    if global.json {
        outln!("{}", token.to_json(now()));
    } else {
        outln!("{}", token.access_token.expose());
    }
    Ok(ExitStatus::Success)
}

pub fn source_options(credentials: &CredentialArgs) -> SourceOptions {
    SourceOptions {
        from_cognito: credentials.from_cognito,
        no_cache: credentials.no_cache,
    }
}

/// A token that could not be cached is still a token: a warning, once.
pub fn warn_cache<C: crate::cloud::Cloud>(tokens: &TokenSource<'_, C>) {
    if let Some(problem) = &tokens.cache_problem {
        eprintln!("warning: {problem}");
    }
}
