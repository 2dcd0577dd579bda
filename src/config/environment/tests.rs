use super::*;
use crate::config::model::{load_all, load_in};

const FILE: &str = r#"
[pool]
domain = "acme-dev"

[secrets]
path = "/{env}/{service}/cogwire"

[defaults]
access_token_validity = "1h"

[environments.staging]
pool = { id = "us-east-1_Stg", domain = "acme-staging" }

[environments.prod]
pool = { id = "eu-west-1_Prd", region = "eu-west-1", domain = "auth.acme.com" }
defaults = { access_token_validity = "30m" }
services.billing.client = { access_token_validity = "15m" }

[services.orders]
scopes = { "orders.read" = "Read orders" }

[services.billing]
consumes = ["orders/orders.read"]

[services.canary]
consumes = ["orders/orders.read"]
environments = ["staging"]
"#;

fn codes(problems: &[Diagnostic]) -> Vec<&'static str> {
    problems.iter().map(|problem| problem.code).collect()
}

fn problems_of(text: &str) -> Vec<Diagnostic> {
    load_all(text, None, None).expect_err("invalid")
}

#[test]
fn an_environment_overrides_the_pool_secrets_and_defaults_key_by_key() {
    let prod = load_in(FILE, None, Some("prod")).expect("valid");
    assert_eq!(prod.environment.as_deref(), Some("prod"));
    assert_eq!(prod.pool.id.as_deref(), Some("eu-west-1_Prd"));
    assert_eq!(prod.pool.region.as_deref(), Some("eu-west-1"));
    assert_eq!(prod.pool.domain.as_deref(), Some("auth.acme.com"));
    assert_eq!(prod.secrets.path_template, "/prod/{service}/cogwire");
    let staging = load_in(FILE, None, Some("staging")).expect("valid");
    assert_eq!(staging.pool.region, None);
    assert_eq!(staging.pool.domain.as_deref(), Some("acme-staging"));
    assert_eq!(staging.secrets.path_template, "/staging/{service}/cogwire");
    assert_eq!(
        staging.environments,
        vec!["prod".to_owned(), "staging".to_owned()]
    );
}

#[test]
fn a_service_exists_only_where_it_says() {
    let staging = load_in(FILE, None, Some("staging")).expect("valid");
    let prod = load_in(FILE, None, Some("prod")).expect("valid");
    assert!(staging.services.contains_key("canary"));
    assert!(!prod.services.contains_key("canary"));
    assert_eq!(
        prod.elsewhere.get("canary"),
        Some(&vec!["staging".to_owned()]),
        "prod knows where canary is"
    );
    assert!(staging.elsewhere.is_empty());
}

#[test]
fn a_service_of_other_environments_is_named_with_them_and_the_flag_to_pass() {
    let elsewhere = |environments: &[&str]| DeclaredElsewhere {
        service: "canary".to_owned(),
        environments: environments.iter().map(|name| (*name).to_owned()).collect(),
    };
    let (message, hint) = {
        let staging = elsewhere(&["staging"]);
        (staging.to_string(), staging.hint())
    };
    assert_eq!(
        message,
        "service `canary` is declared only in environment staging"
    );
    assert_eq!(hint, "pass --env staging (or set COGWIRE_ENV=staging)");
    let (message, hint) = {
        let both = elsewhere(&["dev", "staging"]);
        (both.to_string(), both.hint())
    };
    assert_eq!(
        message,
        "service `canary` is declared only in environments dev, staging"
    );
    assert!(hint.contains("one of dev, staging"), "{hint}");
}

#[test]
fn an_environment_overrides_a_services_token_validity_over_its_defaults() {
    let prod = load_in(FILE, None, Some("prod")).expect("valid");
    let staging = load_in(FILE, None, Some("staging")).expect("valid");
    let validity = |model: &Model, service: &str| {
        model.services[service]
            .client
            .as_ref()
            .map(|client| client.access_token_validity.0)
    };
    assert_eq!(validity(&prod, "billing"), Some(15 * 60));
    assert_eq!(validity(&staging, "billing"), Some(3600));
    assert_eq!(validity(&staging, "canary"), Some(3600));
}

#[test]
fn validate_checks_every_environment_and_not_the_bare_file_whose_path_needs_one() {
    let models = load_all(FILE, None, None).expect("valid");
    let names: Vec<_> = models
        .iter()
        .map(|model| model.environment.as_deref())
        .collect();
    assert_eq!(names, vec![Some("prod"), Some("staging")]);
}

#[test]
fn without_an_environment_a_path_with_env_says_to_choose_one() {
    let problems = load_in(FILE, None, None).expect_err("no environment");
    assert!(problems[0].message.contains("`{env}`"), "{problems:?}");
    assert!(
        problems[0]
            .hint
            .as_deref()
            .is_some_and(|hint| hint.contains("--env"))
    );
}

#[test]
fn an_unknown_environment_is_named_with_a_guess() {
    let problems = load_in(FILE, None, Some("prdo")).expect_err("unknown");
    assert_eq!(codes(&problems), vec!["unknown-environment"]);
    assert!(
        problems[0]
            .hint
            .as_deref()
            .is_some_and(|hint| hint.contains("did you mean `prod`?"))
    );
}

#[test]
fn a_service_naming_an_undeclared_environment_is_refused_with_a_guess() {
    let text = FILE.replace(
        "environments = [\"staging\"]",
        "environments = [\"stagign\"]",
    );
    let problems = problems_of(&text);
    assert_eq!(codes(&problems), vec!["unknown-environment"]);
    assert!(problems[0].span.is_some());
    assert!(
        problems[0]
            .hint
            .as_deref()
            .is_some_and(|hint| hint.contains("did you mean `staging`?"))
    );
}

#[test]
fn an_environment_overriding_a_key_that_does_not_exist_is_refused() {
    let text = FILE.replace("region = \"eu-west-1\"", "regoin = \"eu-west-1\"");
    let problems = problems_of(&text);
    assert_eq!(codes(&problems), vec!["unknown-key"]);
    assert!(problems[0].message.contains("[environments.prod.pool]"));
    assert!(
        problems[0]
            .hint
            .as_deref()
            .is_some_and(|hint| hint.contains("did you mean `region`?"))
    );
    let scopes = FILE.replace(
        "services.billing.client = { access_token_validity = \"15m\" }",
        "services.billing.scopes = { a = \"A\" }",
    );
    let problems = problems_of(&scopes);
    assert_eq!(codes(&problems), vec!["unknown-key"]);
}

#[test]
fn an_override_of_an_undeclared_service_is_refused_with_a_guess() {
    let text = FILE.replace("services.billing.client", "services.biling.client");
    let problems = problems_of(&text);
    assert_eq!(codes(&problems), vec!["unknown-service"]);
    assert!(
        problems[0]
            .hint
            .as_deref()
            .is_some_and(|hint| hint.contains("did you mean `billing`?"))
    );
}

#[test]
fn two_environments_in_one_pool_with_the_same_entries_are_refused() {
    // Declaring the same services alike, and apart by `{env}`, they may share the pool.
    let alike = FILE
        .replace("eu-west-1_Prd", "us-east-1_Stg")
        .replace("defaults = { access_token_validity = \"30m\" }\n", "")
        .replace(
            "services.billing.client = { access_token_validity = \"15m\" }\n",
            "",
        )
        .replace("environments = [\"staging\"]\n", "");
    assert!(load_all(&alike, None, None).is_ok());
    let text = alike.replace(
        "path = \"/{env}/{service}/cogwire\"",
        "path = \"/apps/{service}\"",
    );
    let problems = problems_of(&text);
    assert_eq!(codes(&problems), vec!["shared-secrets-path"]);
    assert!(
        problems[0]
            .message
            .contains("`prod` and environment `staging`")
    );
}

#[test]
fn two_environments_in_one_pool_that_declare_it_differently_are_refused() {
    // One pool holds one record: prod's apply would destroy staging's canary client, and each
    // apply would set billing's token validity back.
    let shared = FILE.replace("eu-west-1_Prd", "us-east-1_Stg");
    let problems = problems_of(&shared);
    assert_eq!(codes(&problems), vec!["shared-pool"]);
    assert!(problems[0].message.contains("share pool `us-east-1_Stg`"));
    let only_canary = shared
        .replace("defaults = { access_token_validity = \"30m\" }\n", "")
        .replace(
            "services.billing.client = { access_token_validity = \"15m\" }\n",
            "",
        );
    let problems = problems_of(&only_canary);
    assert_eq!(codes(&problems), vec!["shared-pool"]);
    assert!(problems[0].message.contains("declare `canary` differently"));
}

#[test]
fn a_problem_of_one_environment_names_it() {
    let text = FILE.replace(
        "defaults = { access_token_validity = \"30m\" }",
        "defaults = { access_token_validity = \"3d\" }",
    );
    let problems = problems_of(&text);
    assert_eq!(codes(&problems), vec!["token-validity"]);
    assert!(
        problems[0].message.starts_with("environment `prod`: "),
        "{}",
        problems[0].message
    );
    // A problem every environment shares is reported once, as written.
    let shared = FILE.replace(
        "orders/orders.read\"]\n\n[services.canary]",
        "orders/orders.raed\"]\n\n[services.canary]",
    );
    let problems = problems_of(&shared);
    assert_eq!(codes(&problems), vec!["unknown-scope"]);
    assert!(problems[0].message.starts_with("service `orders`"));
}

#[test]
fn a_file_without_environments_reads_as_before() {
    let text = "[pool]\nid = \"us-east-1_A\"\n[services.a]\nscopes = { r = \"R\" }\n";
    let models = load_all(text, None, None).expect("valid");
    assert_eq!(models.len(), 1);
    assert_eq!(models[0].environment, None);
    assert!(models[0].environments.is_empty());
    let problems = load_in(text, None, Some("prod")).expect_err("no environments");
    assert_eq!(codes(&problems), vec!["unknown-environment"]);
}

#[test]
fn fields_rename_the_keys_and_keep_the_client_id_and_secret() {
    let text = "[secrets]\nfields = { client_id = \"clientId\", client_secret = \"clientSecret\", token_url = \"url\" }\n[services.a]\nscopes = { r = \"R\" }\n[services.b]\nconsumes = [\"a/r\"]\n";
    let model = load_in(text, None, None).expect("valid");
    assert_eq!(model.secrets.field("client_secret"), Some("clientSecret"));
    assert_eq!(model.secrets.field("scopes"), None);
    let dropped = text.replace("client_secret = \"clientSecret\", ", "");
    let problems = problems_of(&dropped);
    assert_eq!(codes(&problems), vec!["secrets-fields"]);
    assert!(problems[0].message.contains("leaves out `client_secret`"));
    let twice = text.replace("token_url = \"url\"", "token_url = \"clientId\"");
    let problems = problems_of(&twice);
    assert_eq!(codes(&problems), vec!["secrets-fields"]);
    assert!(
        problems[0]
            .message
            .contains("both `client_id` and `token_url`")
    );
    let unknown = text.replace("token_url = \"url\"", "token_ulr = \"url\"");
    let problems = problems_of(&unknown);
    assert_eq!(codes(&problems), vec!["secrets-fields"]);
    assert!(
        problems[0]
            .hint
            .as_deref()
            .is_some_and(|hint| hint.contains("did you mean `token_url`?"))
    );
}

const GATEWAY: &str = r#"
[environments.staging]
pool = { id = "us-east-1_Stg" }

[environments.prod]
pool = { id = "eu-west-1_Prd" }

[secrets]
path = "/{env}/{service}"

[services.orders]
scopes = { "orders.read" = "Read orders" }
routes = [{ method = "GET", path = "/orders", scope = "orders.read" }]

[services.orders.api_gateway]
http_api = "a1b2c3d4e5"
authorizer = "abc123"

[services.billing]
consumes = ["orders/orders.read"]
"#;

#[test]
fn two_environments_may_not_point_one_authorizer_at_their_own_pools() {
    let problems = problems_of(GATEWAY);
    assert_eq!(codes(&problems), vec!["shared-authorizer"]);
    assert!(problems[0].message.contains("authorizer `abc123`"));
    assert!(
        problems[0]
            .hint
            .as_deref()
            .is_some_and(|hint| hint.contains("[environments.<name>.services.orders.api_gateway]"))
    );
}

#[test]
fn an_environment_gives_a_service_its_own_api_gateway() {
    let text = GATEWAY.replace(
        "pool = { id = \"eu-west-1_Prd\" }\n",
        "pool = { id = \"eu-west-1_Prd\" }\nservices.orders.api_gateway = { http_api = \"z9y8x7w6v5\", authorizer = \"prd123\" }\n",
    );
    let models = load_all(&text, None, None).expect("valid");
    let gateway_of = |environment: &str| {
        let model = models
            .iter()
            .find(|model| model.environment.as_deref() == Some(environment))
            .expect("environment");
        let gateway = model.services["orders"]
            .api_gateway
            .clone()
            .expect("gateway");
        (gateway.api_id, gateway.authorizer)
    };
    assert_eq!(
        gateway_of("staging"),
        ("a1b2c3d4e5".into(), "abc123".into())
    );
    assert_eq!(gateway_of("prod"), ("z9y8x7w6v5".into(), "prd123".into()));
}
