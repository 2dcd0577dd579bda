//! `--format iam-policy`: what a service's runtime role (an ECS task's execution role, a pod's
//! or a function's role) needs to read its own credentials, and nothing else: the exact ARNs of
//! its entries, and `kms:Decrypt` of `[secrets] kms_key_id` only for those entries (through the
//! encryption context the store sets), when a key is set.

use serde_json::{Value, json};

use super::ExportError;
use super::located::{Arn, ServiceCredentials};
use crate::cloud::stores::StoredKind;
use crate::config::model::StoreKind;

pub fn render(credentials: &ServiceCredentials) -> Result<String, ExportError> {
    let mut arns: Vec<&str> = credentials
        .entries
        .iter()
        .map(|entry| entry.arn.as_str())
        .collect();
    arns.sort_unstable();
    let (actions, context_key) = match credentials.store {
        StoreKind::Ssm => (
            ["ssm:GetParameter", "ssm:GetParameters"],
            "kms:EncryptionContext:PARAMETER_ARN",
        ),
        StoreKind::SecretsManager => (
            [
                "secretsmanager:DescribeSecret",
                "secretsmanager:GetSecretValue",
            ],
            "kms:EncryptionContext:SecretARN",
        ),
    };
    let mut statements = vec![json!({
        "Sid": "ReadOwnCredentials",
        "Effect": "Allow",
        "Action": actions,
        "Resource": arns,
    })];
    if let Some(key) = &credentials.kms_key_id {
        let encrypted: Vec<&str> = credentials
            .entries
            .iter()
            .filter(|entry| matches!(entry.kind, StoredKind::SecureString | StoredKind::Secret))
            .map(|entry| entry.arn.as_str())
            .collect();
        let first = credentials
            .entries
            .first()
            .map(|entry| entry.arn.as_str())
            .unwrap_or_default();
        let arn = Arn::parse(first)?;
        // The store's own name of the key wins: it is what the entries are encrypted with.
        let stored_key = credentials
            .entries
            .iter()
            .find_map(|entry| entry.kms_key_id.as_deref())
            .filter(|stored| stored.starts_with("arn:") && stored.contains(":key/"));
        let (resource, alias) = key_resource(stored_key.unwrap_or(key), &arn);
        let mut condition = json!({"StringEquals": {context_key: encrypted}});
        if let Some(alias) = alias {
            condition["ForAnyValue:StringEquals"] = json!({"kms:ResourceAliases": alias});
        }
        statements.push(json!({
            "Sid": "DecryptOwnCredentials",
            "Effect": "Allow",
            "Action": ["kms:Decrypt"],
            "Resource": resource,
            "Condition": condition,
        }));
    }
    let policy = json!({"Version": "2012-10-17", "Statement": statements});
    Ok(format!(
        "{}\n",
        serde_json::to_string_pretty(&policy).unwrap_or_default()
    ))
}

/// A key's ARN, or for an alias every key of the account limited to the one the alias names
/// (IAM matches `kms:Decrypt` against the key, never the alias).
fn key_resource(key: &str, entry: &Arn<'_>) -> (String, Option<String>) {
    let prefix = format!(
        "arn:{}:kms:{}:{}",
        entry.partition, entry.region, entry.account
    );
    if key.starts_with("arn:") {
        return match key.split_once(":alias/") {
            Some((_, alias)) => (format!("{prefix}:key/*"), Some(format!("alias/{alias}"))),
            None => (key.to_owned(), None),
        };
    }
    if key.starts_with("alias/") {
        return (format!("{prefix}:key/*"), Some(key.to_owned()));
    }
    (format!("{prefix}:key/{key}"), None)
}

/// What a policy allows, for checks: `(action, resource)` of every Allow statement.
pub fn grants(policy: &Value) -> Vec<(String, String)> {
    let list = |value: &Value| -> Vec<String> {
        match value {
            Value::String(text) => vec![text.clone()],
            Value::Array(items) => items
                .iter()
                .filter_map(|item| item.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        }
    };
    let mut grants = Vec::new();
    for statement in policy["Statement"].as_array().into_iter().flatten() {
        for action in list(&statement["Action"]) {
            for resource in list(&statement["Resource"]) {
                grants.push((action.clone(), resource));
            }
        }
    }
    grants.sort();
    grants
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::located::tests::{ACCOUNT, credentials};

    #[test]
    fn a_service_reads_its_own_parameter_and_nothing_else() {
        let policy: Value =
            serde_json::from_str(&render(&credentials("", "orders")).expect("policy"))
                .expect("json");
        let arn = format!("arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/cogwire/orders");
        assert_eq!(
            grants(&policy),
            [
                ("ssm:GetParameter".to_owned(), arn.clone()),
                ("ssm:GetParameters".to_owned(), arn)
            ]
        );
    }

    #[test]
    fn an_aliased_key_decrypts_only_the_service_entries() {
        let policy: Value = serde_json::from_str(
            &render(&credentials(
                "[secrets]\nlayout = \"split\"\nkms_key_id = \"alias/cogwire\"",
                "orders",
            ))
            .expect("policy"),
        )
        .expect("json");
        let decrypt = &policy["Statement"][1];
        assert_eq!(decrypt["Action"], json!(["kms:Decrypt"]));
        assert_eq!(
            decrypt["Resource"],
            format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/*")
        );
        assert_eq!(
            decrypt["Condition"]["ForAnyValue:StringEquals"]["kms:ResourceAliases"],
            "alias/cogwire"
        );
        assert_eq!(
            decrypt["Condition"]["StringEquals"]["kms:EncryptionContext:PARAMETER_ARN"],
            json!([format!(
                "arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/cogwire/orders/client_secret"
            )])
        );
    }

    #[test]
    fn a_key_id_becomes_its_arn() {
        let entry = Arn::parse("arn:aws:ssm:eu-west-1:111122223333:parameter/x").expect("arn");
        assert_eq!(
            key_resource("1234abcd-12ab-34cd-56ef-1234567890ab", &entry),
            (
                "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
                    .to_owned(),
                None
            )
        );
    }
}
