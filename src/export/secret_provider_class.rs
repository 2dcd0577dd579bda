//! `--format secret-provider-class`: the Secrets Store CSI driver's `SecretProviderClass` with
//! the AWS provider. It mounts the service's stored credentials as files (JSON keys picked with
//! `jmesPath`) and syncs them into a Kubernetes Secret for `envFrom`; a ConfigMap beside it holds
//! what is not secret.

use super::Options;
use super::external_secret::{config_map, metadata, secret_name};
use super::located::ServiceCredentials;
use super::yaml::{Node, documents, map, render as render_yaml, text};
use crate::config::model::StoreKind;

pub const API_VERSION: &str = "secrets-store.csi.x-k8s.io/v1";

pub fn render(credentials: &ServiceCredentials, options: &Options) -> String {
    let service = &credentials.service;
    let object_type = match credentials.store {
        StoreKind::Ssm => "ssmparameter",
        StoreKind::SecretsManager => "secretsmanager",
    };
    // The provider takes only strings out of JSON: the scopes list stays out.
    let fields: Vec<_> = credentials
        .fields
        .iter()
        .filter(|field| field.property != Some("scopes"))
        .collect();
    let objects: Vec<Node> = credentials
        .entries
        .iter()
        .enumerate()
        .map(|(index, entry)| {
            let of_entry: Vec<_> = fields.iter().filter(|field| field.entry == index).collect();
            let mut object = vec![
                ("objectName".to_owned(), text(&entry.name)),
                ("objectType".to_owned(), text(object_type)),
            ];
            match of_entry.as_slice() {
                [whole] if whole.property.is_none() => {
                    object.push(("objectAlias".to_owned(), text(whole.key)));
                }
                picked => {
                    object.push((
                        "objectAlias".to_owned(),
                        text(format!("{service}-cogwire-credentials.json")),
                    ));
                    object.push((
                        "jmesPath".to_owned(),
                        Node::List(
                            picked
                                .iter()
                                .filter_map(|field| {
                                    Some(map([
                                        ("path", text(field.property?)),
                                        ("objectAlias", text(field.key)),
                                    ]))
                                })
                                .collect(),
                        ),
                    ));
                }
            }
            Node::Map(object)
        })
        .collect();
    let synced = fields
        .iter()
        .map(|field| map([("objectName", text(field.key)), ("key", text(field.key))]))
        .collect();
    let class = map([
        ("apiVersion", text(API_VERSION)),
        ("kind", text("SecretProviderClass")),
        (
            "metadata",
            metadata(&format!("{service}-cogwire"), service, options),
        ),
        (
            "spec",
            map([
                ("provider", text("aws")),
                (
                    "parameters",
                    map([
                        ("region", text(&credentials.region)),
                        ("objects", text(render_yaml(&Node::List(objects)))),
                    ]),
                ),
                (
                    "secretObjects",
                    Node::List(vec![map([
                        ("secretName", text(secret_name(service))),
                        ("type", text("Opaque")),
                        ("data", Node::List(synced)),
                    ])]),
                ),
            ]),
        ),
    ]);
    documents(&[class, config_map(credentials, options)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::located::tests::credentials;

    #[test]
    fn split_parameters_are_mounted_whole_under_their_keys() {
        let rendered = render(
            &credentials("[secrets]\nlayout = \"split\"", "orders"),
            &Options::default(),
        );
        assert!(rendered.contains(
            "    objects: |\n      - objectName: \"/cogwire/orders/client_id\"\n        objectType: \"ssmparameter\"\n        objectAlias: \"COGWIRE_CLIENT_ID\"\n"
        ), "{rendered}");
    }

    #[test]
    fn json_entries_pick_string_keys_only() {
        let rendered = render(
            &credentials("[secrets]\nstore = \"secretsmanager\"", "orders"),
            &Options::default(),
        );
        assert!(rendered.contains("path: \"client_secret\""), "{rendered}");
        assert!(!rendered.contains("scopes"), "{rendered}");
    }
}
