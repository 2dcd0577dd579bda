//! `cogwire verify`: calls a running service's declared routes with no token, a token without the
//! route's scope and one with it, and reports what each answered. Tokens are never printed.

use std::collections::BTreeSet;

use super::hinted;
use super::pool::{connect, explain};
use super::token::{Tokens, token_url};
use crate::cli::{GlobalArgs, PaceArgs, VerifyArgs};
use crate::exit::ExitStatus;
use crate::plan::observed;
use crate::tokens::verify::{
    Check, CheckKind, SelectError, Verdict, judge, managed_clients, plan_checks, render_json,
    render_table,
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
    let observed = observed::read(
        context.pool(),
        context.parameters(),
        &context.pacer,
        &BTreeSet::new(),
    )
    .await
    .map_err(explain)?;
    let clients = managed_clients(&observed.record.clients, &observed.described);
    let checks =
        plan_checks(&context.model, &args.services, &clients).map_err(|error| match error {
            SelectError::NothingToVerify => hinted(
                error.to_string(),
                "declare routes under [[services.NAME.routes]] with method, path and scope",
            ),
            other => anyhow::anyhow!(other),
        })?;
    let needs_tokens = checks
        .iter()
        .any(|check| check.client.is_some() && check.skip.is_none());
    let token_url = if needs_tokens {
        token_url(&context)?
    } else {
        String::new()
    };
    let mut tokens = Tokens::new(&context, &args.credentials, token_url);

    let mut results = Vec::with_capacity(checks.len());
    for check in checks {
        let answer = if check.skip.is_some() {
            Err(String::new())
        } else {
            answer(&mut tokens, &base_url, &check).await
        };
        results.push(judge(check, answer));
    }

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

/// The status the service answered, or why there is none.
async fn answer(tokens: &mut Tokens<'_>, base_url: &str, check: &Check) -> Result<u16, String> {
    let bearer = match (&check.client, check.kind) {
        (None, _) | (_, CheckKind::NoToken) => None,
        (Some(client), kind) => {
            // With the scope: ask for it alone, so the answer shows that it is the one needed.
            let scopes: BTreeSet<String> = if kind == CheckKind::HasScope {
                [check.scope.clone()].into()
            } else {
                BTreeSet::new()
            };
            let token = tokens
                .get(&client.service, &client.id, &scopes)
                .await
                .map_err(|error| format!("no token: {error}"))?;
            Some(token.access_token)
        }
    };
    let method = reqwest::Method::from_bytes(check.method.as_bytes())
        .map_err(|_| format!("`{}` is not an HTTP method", check.method))?;
    let url = format!("{base_url}{}", check.path);
    let mut request = tokens.http().request(method, &url);
    if let Some(token) = &bearer {
        request = request.bearer_auth(token.expose());
    }
    if let Some(body) = &check.body {
        request = request.json(body);
    }
    let response = request.send().await.map_err(|error| {
        // Without the URL's query, which is the service's business; never with the token.
        let mut message = format!("{url}: request failed");
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            message.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        message
    })?;
    Ok(response.status().as_u16())
}
