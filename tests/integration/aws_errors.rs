//! The AWS errors users hit, each one line with a hint, through the binary.

use crate::support::{Workdir, local_aws};

const SERVICES: &str = "[services.orders]\nscopes = { \"order.read\" = \"Read\" }\n";

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
