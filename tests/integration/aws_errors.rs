//! The AWS errors users hit, each one line with a hint, through the binary.

use crate::support::{Workdir, local_aws};

pub(crate) const SERVICES: &str = "[services.orders]\nscopes = { \"order.read\" = \"Read\" }\n";

#[tokio::test]
async fn missing_credentials_say_how_to_provide_them() {
    let account = local_aws().account();
    let pool = account.new_pool("errors").await;
    let mut env: Vec<(String, String)> = account
        .env()
        .into_iter()
        .filter(|(name, _)| {
            !name.starts_with("AWS_ACCESS_KEY_ID") && !name.starts_with("AWS_SECRET_ACCESS_KEY")
        })
        .collect();
    env.push(("COGWIRE_USER_POOL_ID".to_owned(), pool));
    env.push(("HOME".to_owned(), "/nonexistent".to_owned()));
    let output = Workdir::new(SERVICES).run(&["plan"], &env);
    assert_eq!(output.code, 1, "{}", output.all());
    let lines: Vec<&str> = output.stderr.lines().collect();
    assert_eq!(
        lines.len(),
        2,
        "one error line and one hint: {}",
        output.stderr
    );
    assert!(
        lines[0].contains("the AWS credentials were rejected or are missing"),
        "{}",
        output.stderr
    );
    assert!(
        !lines[0].ends_with(':'),
        "the line ends mid-sentence: {}",
        output.stderr
    );
    assert!(
        lines[1].starts_with("hint: set AWS_PROFILE"),
        "{}",
        output.stderr
    );
}

#[tokio::test]
async fn a_pool_looked_for_in_the_wrong_region_names_the_right_one() {
    let account = local_aws().account();
    let pool = account.new_pool("errors").await;
    let mut env = account.env();
    env.push(("COGWIRE_USER_POOL_ID".to_owned(), pool.clone()));
    let output = Workdir::new(SERVICES).run(&["--region", "eu-west-1", "plan"], &env);
    assert_eq!(output.code, 1, "{}", output.all());
    assert!(
        output.stderr.contains(&format!(
            "user pool {pool} was not found in region eu-west-1"
        )),
        "{}",
        output.stderr
    );
    assert!(
        output
            .stderr
            .contains("hint: the pool id names region us-east-1: pass --region us-east-1"),
        "{}",
        output.stderr
    );
}

#[tokio::test]
async fn no_pool_named_anywhere_is_a_hint_not_a_crash() {
    let output = Workdir::new(SERVICES).run(&["plan"], &local_aws().account().env());
    assert_eq!(output.code, 1);
    assert!(
        output.stderr.contains("no user pool is named"),
        "{}",
        output.stderr
    );
    assert!(
        output.stderr.contains("COGWIRE_USER_POOL_ID"),
        "{}",
        output.stderr
    );
}

/// Runs `args` with every `operations` call answered by the AWS error `code`; returns the
/// output's stderr lines after checking it failed with exit 1.
async fn failing_with(
    code: &str,
    message: &str,
    operations: &[&str],
    services: &str,
    args: &[&str],
) -> Vec<String> {
    let account = local_aws().account();
    let pool = account.new_pool("errors").await;
    let mut env = account.env();
    env.push(("COGWIRE_USER_POOL_ID".to_owned(), pool));
    let workdir = Workdir::new(services);
    assert_eq!(workdir.run(&["apply", "--auto-approve"], &env).code, 0);
    account.set_faults(serde_json::json!({
        "error_share": 1.0,
        "error_code": code,
        "error_message": message,
        "operations": operations,
    }));
    let output = workdir.run(args, &env);
    account.clear_faults();
    assert_eq!(output.code, 1, "{}", output.all());
    assert!(!output.all().contains("panicked"), "{}", output.all());
    output.stderr.lines().map(str::to_owned).collect()
}

#[tokio::test]
async fn access_denied_names_the_missing_iam_action() {
    let lines = failing_with(
        "AccessDeniedException",
        "User: arn:aws:iam::000000000000:user/ci is not authorized to perform: cognito-idp:ListResourceServers",
        &["ListResourceServers"],
        SERVICES,
        &["plan"],
    )
    .await;
    assert_eq!(lines.len(), 2, "one error line and one hint: {lines:?}");
    assert!(lines[0].contains("access denied"), "{lines:?}");
    assert!(
        lines[1].contains("may not call `cognito-idp:ListResourceServers`"),
        "{lines:?}"
    );
}

#[tokio::test]
async fn expired_credentials_say_how_to_renew_them() {
    let lines = failing_with(
        "ExpiredTokenException",
        "The security token included in the request is expired",
        &["ListResourceServers"],
        SERVICES,
        &["plan"],
    )
    .await;
    assert_eq!(lines.len(), 2, "one error line and one hint: {lines:?}");
    assert!(
        lines[0].contains("the AWS credentials were rejected or are missing")
            && lines[0].contains("expired"),
        "{lines:?}"
    );
    assert!(lines[1].contains("aws sso login"), "{lines:?}");
}

#[tokio::test]
async fn a_kms_key_that_cannot_be_used_points_at_kms_key_id() {
    let services = "[secrets]\nkms_key_id = \"alias/missing\"\n[services.orders]\nscopes = { \"order.read\" = \"Read\" }\n[services.billing]\nconsumes = [\"orders/order.read\"]\n";
    let lines = failing_with(
        "InvalidKeyId",
        "Invalid keyId alias/missing",
        &["PutParameter"],
        services,
        &["rotate-secret", "billing"],
    )
    .await;
    assert!(
        lines
            .iter()
            .any(|line| line.contains("the KMS key was refused (InvalidKeyId)")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|line| line.starts_with("hint: check `[secrets] kms_key_id`")),
        "{lines:?}"
    );
}
