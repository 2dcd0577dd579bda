//! The least-privilege IAM policy in the README lists exactly the AWS actions cogwire's code calls:
//! every `Operation` (each of which an adapter calls), as its IAM action.

use std::collections::BTreeSet;

use cogwire::cloud::operation::Operation;

/// Actions AWS requires beside the ones called: BatchGetSecretValue also checks GetSecretValue
/// on each secret it returns.
const IMPLIED: &[&str] = &["secretsmanager:GetSecretValue"];

/// The actions of every operation cogwire has, each of which an adapter in src/cloud calls.
fn called_actions() -> BTreeSet<String> {
    let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/src/cloud");
    let adapters: String = [
        "aws.rs",
        "stores.rs",
        "gateway_aws.rs",
        "gateway_rest_aws.rs",
    ]
    .iter()
    .map(|file| std::fs::read_to_string(format!("{folder}/{file}")).expect("adapter source"))
    .collect();
    Operation::ALL
        .into_iter()
        .inspect(|operation| {
            assert!(
                adapters.contains(&format!("Operation::{}", operation.name())),
                "{operation} is never called by an adapter"
            );
        })
        .map(Operation::iam_action)
        .collect()
}

fn documented_actions() -> BTreeSet<String> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README");
    let start = readme.find("<!-- iam-policy -->").expect("policy marker");
    let block = &readme[start..];
    let json_start = block.find("```json\n").expect("json block") + "```json\n".len();
    let json_end = block[json_start..].find("```").expect("block end") + json_start;
    let policy: serde_json::Value =
        serde_json::from_str(&block[json_start..json_end]).expect("the policy is JSON");
    policy["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .flat_map(|statement| statement["Action"].as_array().cloned().unwrap_or_default())
        .filter_map(|action| action.as_str().map(str::to_owned))
        .filter(|action| !action.starts_with("kms:"))
        .collect()
}

#[test]
fn the_readme_policy_lists_exactly_the_actions_called() {
    let mut called = called_actions();
    assert!(
        called.contains("cognito-idp:CreateUserPoolClient"),
        "{called:?}"
    );
    called.extend(IMPLIED.iter().map(|action| (*action).to_owned()));
    let documented = documented_actions();
    let missing: Vec<_> = called.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&called).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing from the README: {missing:?}; listed but never called: {extra:?}"
    );
}
