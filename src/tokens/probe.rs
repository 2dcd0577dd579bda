//! The calls `verify` makes: each check's request to the running service, with no token, a token
//! without the route's scope, or one with it, judged by `verify::judge`. Tokens are never printed.

use std::collections::BTreeSet;

use crate::cloud::Cloud;
use crate::tokens::source::TokenSource;
use crate::tokens::verify::{Check, CheckKind, CheckResult, judge};

/// Makes every check that is not skipped, in order, and judges each answer.
pub async fn probe<C: Cloud>(
    tokens: &mut TokenSource<'_, C>,
    base_url: &str,
    checks: Vec<Check>,
) -> Vec<CheckResult> {
    let mut results = Vec::with_capacity(checks.len());
    for check in checks {
        let answer = if check.skip.is_some() {
            Err(String::new())
        } else {
            answer(tokens, base_url, &check).await
        };
        results.push(judge(check, answer));
    }
    results
}

/// The status the service answered, or why there is none.
async fn answer<C: Cloud>(
    tokens: &mut TokenSource<'_, C>,
    base_url: &str,
    check: &Check,
) -> Result<u16, String> {
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
    tracing::info!(
        "verify: {} {} {} answered {}",
        check.method,
        check.path,
        match (&check.client, check.kind) {
            (None, _) | (_, CheckKind::NoToken) => "without a token".to_owned(),
            (Some(client), kind) => format!("with {}'s token ({})", client.service, kind.label()),
        },
        response.status().as_u16()
    );
    Ok(response.status().as_u16())
}
