//! `--format external-secret`: the External Secrets Operator's `ExternalSecret` (its stable API,
//! `external-secrets.io/v1`) that copies the service's stored credentials into a Kubernetes
//! Secret under environment-style keys, and beside it a ConfigMap with what is not secret.

use super::Options;
use super::located::ServiceCredentials;
use super::yaml::{Node, documents, map, text};
use crate::config::duration::Seconds;

pub const API_VERSION: &str = "external-secrets.io/v1";

/// The Kubernetes Secret the operator writes, and the pod reads with `envFrom`.
pub fn secret_name(service: &str) -> String {
    format!("{service}-cogwire-credentials")
}

/// The ConfigMap with what the service needs to check and get tokens.
pub fn config_map_name(service: &str) -> String {
    format!("{service}-cogwire-env")
}

pub fn render(credentials: &ServiceCredentials, options: &Options) -> String {
    let service = &credentials.service;
    let data = credentials
        .fields
        .iter()
        .map(|field| {
            let mut remote = vec![(
                "key".to_owned(),
                text(&credentials.entries[field.entry].name),
            )];
            if let Some(property) = field.property {
                remote.push(("property".to_owned(), text(property)));
            }
            map([
                ("secretKey", text(field.key)),
                ("remoteRef", Node::Map(remote)),
            ])
        })
        .collect();
    let store_kind = if options.cluster_secret_store {
        "ClusterSecretStore"
    } else {
        "SecretStore"
    };
    let external_secret = map([
        ("apiVersion", text(API_VERSION)),
        ("kind", text("ExternalSecret")),
        (
            "metadata",
            metadata(&format!("{service}-cogwire"), service, options),
        ),
        (
            "spec",
            map([
                ("refreshInterval", text(go_duration(options.refresh))),
                (
                    "secretStoreRef",
                    map([
                        ("name", text(options.secret_store_name(credentials.store))),
                        ("kind", text(store_kind)),
                    ]),
                ),
                (
                    "target",
                    map([
                        ("name", text(secret_name(service))),
                        ("creationPolicy", text("Owner")),
                    ]),
                ),
                ("data", Node::List(data)),
            ]),
        ),
    ]);
    documents(&[external_secret, config_map(credentials, options)])
}

/// The non-secret settings, as `cogwire env` prints them, less what the Secret holds.
pub fn config_map(credentials: &ServiceCredentials, options: &Options) -> Node {
    let service = &credentials.service;
    map([
        ("apiVersion", text("v1")),
        ("kind", text("ConfigMap")),
        (
            "metadata",
            metadata(&config_map_name(service), service, options),
        ),
        (
            "data",
            Node::Map(
                credentials
                    .environment
                    .iter()
                    .map(|(name, value)| (name.clone(), text(value)))
                    .collect(),
            ),
        ),
    ])
}

pub fn metadata(name: &str, service: &str, options: &Options) -> Node {
    let mut pairs = vec![("name".to_owned(), text(name))];
    if let Some(namespace) = &options.namespace {
        pairs.push(("namespace".to_owned(), text(namespace)));
    }
    pairs.push((
        "labels".to_owned(),
        map([
            ("app.kubernetes.io/managed-by", text("cogwire")),
            ("cogwire/service", text(service)),
        ]),
    ));
    Node::Map(pairs)
}

/// A duration as Go parses it (the operator is written in Go): hours, minutes and seconds only.
pub fn go_duration(duration: Seconds) -> String {
    let (hours, minutes, seconds) = (duration.0 / 3600, duration.0 % 3600 / 60, duration.0 % 60);
    let mut out = String::new();
    if hours > 0 {
        out.push_str(&format!("{hours}h"));
    }
    if minutes > 0 {
        out.push_str(&format!("{minutes}m"));
    }
    if seconds > 0 || out.is_empty() {
        out.push_str(&format!("{seconds}s"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::located::tests::credentials;

    #[test]
    fn durations_are_written_as_go_reads_them() {
        assert_eq!(go_duration(Seconds::HOUR), "1h");
        assert_eq!(go_duration(Seconds::DAY), "24h");
        assert_eq!(go_duration(Seconds(5400)), "1h30m");
        assert_eq!(go_duration(Seconds(90)), "1m30s");
        assert_eq!(go_duration(Seconds(0)), "0s");
    }

    #[test]
    fn json_entry_gives_one_remote_ref_per_property() {
        let rendered = render(&credentials("", "orders"), &Options::default());
        assert!(rendered.starts_with("---\napiVersion: \"external-secrets.io/v1\"\n"));
        assert!(rendered.contains(
            "  - secretKey: \"COGWIRE_CLIENT_SECRET\"\n    remoteRef:\n      key: \"/cogwire/orders\"\n      property: \"client_secret\"\n"
        ));
        assert!(rendered.contains("name: \"aws-parameter-store\""));
        assert!(rendered.contains("refreshInterval: \"1h\""));
        assert!(rendered.contains("kind: \"ConfigMap\""));
    }
}
