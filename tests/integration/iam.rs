//! The least-privilege IAM policy in the README lists exactly the AWS actions cogwire's code calls:
//! every `const OPERATION` in the adapters, with the service its `classify` names.

use std::collections::BTreeSet;

/// Actions AWS requires beside the ones called: BatchGetSecretValue also checks GetSecretValue
/// on each secret it returns.
const IMPLIED: &[&str] = &["secretsmanager:GetSecretValue"];

fn called_actions() -> BTreeSet<String> {
    let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/src/cloud");
    let mut actions = BTreeSet::new();
    for entry in std::fs::read_dir(folder).expect("src/cloud") {
        let text = std::fs::read_to_string(entry.expect("entry").path()).expect("source");
        let services: Vec<(String, String)> = text
            .lines()
            .filter_map(|line| {
                let rest = line.trim().strip_prefix("const ")?;
                let (name, value) = rest.split_once(": &str = \"")?;
                Some((name.to_owned(), value.strip_suffix("\";")?.to_owned()))
            })
            .collect();
        let mut rest = text.as_str();
        while let Some(start) = rest.find("const OPERATION: &str = \"") {
            rest = &rest[start + "const OPERATION: &str = \"".len()..];
            let operation = &rest[..rest.find('"').expect("closing quote")];
            let after = &rest[rest
                .find("classify(OPERATION, ")
                .expect("every operation is classified")
                + "classify(OPERATION, ".len()..];
            let constant = &after[..after
                .find(|character: char| !(character.is_ascii_uppercase() || character == '_'))
                .unwrap_or(0)];
            let (_, service) = services
                .iter()
                .find(|(name, _)| name == constant)
                .unwrap_or_else(|| panic!("{constant} is not a service constant"));
            actions.insert(format!("{service}:{operation}"));
        }
    }
    actions
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
