//! `cogwire env`: what a service needs to check tokens (issuer, JWKS URL, its scopes) and to get
//! them (token URL, its client id), as shell assignments or JSON. Nothing secret is printed.

use serde::Serialize;

use super::pool::{connect, explain};
use crate::apply::record::RecordStore;
use crate::cli::{EnvArgs, EnvFormat, GlobalArgs, PaceArgs};
use crate::exit::ExitStatus;
use crate::tokens::source::{declared_service, token_url};
use crate::tokens::token::{issuer, jwks_uri};

#[derive(Debug, Serialize)]
struct ServiceEnv {
    service: String,
    user_pool_id: String,
    issuer: String,
    jwks_uri: String,
    token_url: Option<String>,
    client_id: Option<String>,
    resource_server: Option<String>,
    /// Full scope strings of the service's resource server, `<identifier>/<scope>`.
    scopes: Vec<String>,
    /// Full scope strings the service's client may ask for.
    consumes: Vec<String>,
}

pub async fn run(global: &GlobalArgs, args: &EnvArgs) -> anyhow::Result<ExitStatus> {
    let context = match connect(global, &PaceArgs::default()).await? {
        Ok(context) => context,
        Err(status) => return Ok(status),
    };
    let service = declared_service(&context, &args.service).map_err(explain)?;
    let issuer =
        overridden("COGWIRE_ISSUER").unwrap_or_else(|| issuer(&context.pool_id, &context.region));
    let jwks_uri = overridden("COGWIRE_JWKS_URI").unwrap_or_else(|| jwks_uri(&issuer));
    let client_id = if service.client.is_some() {
        let (record, _) = RecordStore::new(context.parameters(), &context.pacer, &context.pool_id)
            .load()
            .await
            .map_err(explain)?;
        let id = record.client_of_service(&service.name).map(str::to_owned);
        if id.is_none() {
            eprintln!(
                "note: cogwire manages no client of `{}` yet: run `cogwire apply`",
                service.name
            );
        }
        id
    } else {
        None
    };
    let server = service.resource_server.as_ref();
    let described = ServiceEnv {
        service: service.name.clone(),
        user_pool_id: context.pool_id.clone(),
        issuer,
        jwks_uri,
        token_url: token_url(&context).ok(),
        client_id,
        resource_server: server.map(|server| server.identifier.clone()),
        scopes: server
            .map(|server| {
                server
                    .scopes
                    .keys()
                    .map(|scope| format!("{}/{scope}", server.identifier))
                    .collect()
            })
            .unwrap_or_default(),
        consumes: service
            .client
            .as_ref()
            .map(|client| client.scopes.iter().cloned().collect())
            .unwrap_or_default(),
    };
    if global.json || args.format == EnvFormat::Json {
        outln!("{}", serde_json::to_string_pretty(&described)?);
    } else {
        out!("{}", render_env(&described));
    }
    Ok(ExitStatus::Success)
}

/// An override from the environment, said on stderr so a stale one is noticed.
fn overridden(name: &str) -> Option<String> {
    let value = std::env::var(name).ok().filter(|value| !value.is_empty())?;
    eprintln!("note: {name} is set and replaces the value cogwire would print");
    Some(value)
}

fn render_env(described: &ServiceEnv) -> String {
    let mut lines = vec![
        ("COGWIRE_SERVICE", described.service.clone()),
        ("COGWIRE_USER_POOL_ID", described.user_pool_id.clone()),
        ("COGWIRE_ISSUER", described.issuer.clone()),
        ("COGWIRE_JWKS_URI", described.jwks_uri.clone()),
    ];
    let optional = [
        ("COGWIRE_TOKEN_URL", &described.token_url),
        ("COGWIRE_CLIENT_ID", &described.client_id),
        ("COGWIRE_RESOURCE_SERVER", &described.resource_server),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            lines.push((name, value.clone()));
        }
    }
    if !described.scopes.is_empty() {
        lines.push(("COGWIRE_SCOPES", described.scopes.join(" ")));
    }
    if !described.consumes.is_empty() {
        lines.push(("COGWIRE_CONSUMES", described.consumes.join(" ")));
    }
    lines
        .into_iter()
        .map(|(name, value)| format!("{name}={}\n", shell_quote(&value)))
        .collect()
}

/// POSIX single quotes, unless the value needs none.
fn shell_quote(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || "-_./:@%+=,".contains(character));
    if plain {
        value.to_owned()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_shell_quoted_when_needed() {
        assert_eq!(
            shell_quote("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_x"),
            "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_x"
        );
        assert_eq!(shell_quote("a/b c/d"), "'a/b c/d'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("$(rm -rf)"), "'$(rm -rf)'");
    }
}
