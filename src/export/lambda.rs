//! `--format lambda`: a function's environment for the AWS Parameters and Secrets Lambda
//! Extension, which serves the stored credentials on a local port and caches them (five minutes
//! at most). The function reads `COGWIRE_CREDENTIALS_URL` (or one URL a split entry) with the
//! header `X-Aws-Parameters-Secrets-Token: $AWS_SESSION_TOKEN`; nothing secret is in the
//! environment itself.

use std::collections::BTreeMap;

use serde_json::json;

use super::Options;
use super::located::ServiceCredentials;
use crate::config::model::StoreKind;

/// The extension's port (its default).
pub const PORT: u16 = 2773;
/// The longest cache the extension allows, in seconds.
pub const MAX_TTL: u64 = 300;

pub fn render(credentials: &ServiceCredentials, options: &Options) -> String {
    let mut variables: BTreeMap<String, String> = credentials.environment.iter().cloned().collect();
    let ttl = options.refresh.0.min(MAX_TTL).to_string();
    let (store, ttl_variable) = match credentials.store {
        StoreKind::Ssm => ("ssm", "SSM_PARAMETER_STORE_TTL"),
        StoreKind::SecretsManager => ("secretsmanager", "SECRETS_MANAGER_TTL"),
    };
    variables.insert("COGWIRE_CREDENTIALS_STORE".to_owned(), store.to_owned());
    variables.insert(ttl_variable.to_owned(), ttl);
    variables.insert(
        "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT".to_owned(),
        PORT.to_string(),
    );
    match credentials.entries.as_slice() {
        [entry] => {
            variables.insert("COGWIRE_CREDENTIALS_NAME".to_owned(), entry.name.clone());
            variables.insert(
                "COGWIRE_CREDENTIALS_URL".to_owned(),
                url(credentials.store, &entry.name),
            );
        }
        entries => {
            for field in &credentials.fields {
                let entry = &entries[field.entry];
                variables.insert(
                    format!("{}_URL", field.key),
                    url(credentials.store, &entry.name),
                );
            }
        }
    }
    let fragment = json!({"Environment": {"Variables": variables}});
    format!(
        "{}\n",
        serde_json::to_string_pretty(&fragment).unwrap_or_default()
    )
}

/// The extension's local URL for one entry.
pub fn url(store: StoreKind, name: &str) -> String {
    let name = encode(name);
    match store {
        StoreKind::Ssm => format!(
            "http://localhost:{PORT}/systemsmanager/parameters/get?name={name}&withDecryption=true"
        ),
        StoreKind::SecretsManager => {
            format!("http://localhost:{PORT}/secretsmanager/get?secretId={name}")
        }
    }
}

/// Percent-encodes what a query value may not hold as is.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
                (byte as char).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::duration::Seconds;
    use crate::export::located::tests::credentials;

    #[test]
    fn the_environment_points_at_the_extension_and_caps_its_cache() {
        let rendered = render(
            &credentials("", "orders"),
            &Options {
                refresh: Seconds(120),
                ..Options::default()
            },
        );
        let fragment: serde_json::Value = serde_json::from_str(&rendered).expect("json");
        let variables = &fragment["Environment"]["Variables"];
        assert_eq!(
            variables["COGWIRE_CREDENTIALS_URL"],
            "http://localhost:2773/systemsmanager/parameters/get?name=%2Fcogwire%2Forders&withDecryption=true"
        );
        assert_eq!(variables["SSM_PARAMETER_STORE_TTL"], "120");
        let capped = render(&credentials("", "orders"), &Options::default());
        assert!(capped.contains("\"SSM_PARAMETER_STORE_TTL\": \"300\""));
    }
}
