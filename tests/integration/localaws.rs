//! Tests of the local AWS launcher through the Rust SDK: each gap localaws fills in moto, and its
//! control endpoint. Every test works in its own account, so they run in parallel.

use aws_sdk_cognitoidentityprovider::types::{
    OAuthFlowType, ResourceServerScopeType, TimeUnitsType, TokenValidityUnitsType,
};
use aws_sdk_ssm::types::{ParameterType, ResourceTypeForTagging, Tag};
use serde_json::{Value, json};

use crate::support::{error_code, local_aws};

fn scope(name: &str) -> ResourceServerScopeType {
    ResourceServerScopeType::builder()
        .scope_name(name)
        .scope_description(name)
        .build()
        .expect("scope")
}

/// Decodes one base64url segment of a JWT into JSON.
fn jwt_segment(segment: &str) -> Value {
    let mut bits = 0u32;
    let mut count = 0;
    let mut bytes = Vec::new();
    for character in segment.bytes() {
        let value = match character {
            b'A'..=b'Z' => character - b'A',
            b'a'..=b'z' => character - b'a' + 26,
            b'0'..=b'9' => character - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => panic!("not base64url: {segment}"),
        };
        bits = bits << 6 | u32::from(value);
        count += 6;
        if count >= 8 {
            count -= 8;
            bytes.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    serde_json::from_slice(&bytes).expect("JWT segment is JSON")
}

#[tokio::test]
async fn update_resource_server_replaces_name_and_scopes_and_delete_removes_it() {
    let account = local_aws().account();
    let cognito = account.cognito().await;
    let pool = account.new_pool("resource-servers").await;
    account
        .new_resource_server(&pool, "orders", &["read", "write"])
        .await;

    let updated = cognito
        .update_resource_server()
        .user_pool_id(&pool)
        .identifier("orders")
        .name("Orders API")
        .scopes(scope("admin"))
        .send()
        .await
        .expect("UpdateResourceServer");
    let server = updated.resource_server().expect("resource server");
    assert_eq!(server.name(), Some("Orders API"));
    let names: Vec<_> = server
        .scopes()
        .iter()
        .map(|scope| scope.scope_name())
        .collect();
    assert_eq!(names, ["admin"]);

    let cleared = cognito
        .update_resource_server()
        .user_pool_id(&pool)
        .identifier("orders")
        .name("Orders API")
        .send()
        .await
        .expect("UpdateResourceServer without scopes");
    assert!(
        cleared
            .resource_server()
            .expect("resource server")
            .scopes()
            .is_empty()
    );

    let missing = cognito
        .update_resource_server()
        .user_pool_id(&pool)
        .identifier("nope")
        .name("x")
        .send()
        .await;
    assert_eq!(error_code(&missing), Some("ResourceNotFoundException"));

    cognito
        .delete_resource_server()
        .user_pool_id(&pool)
        .identifier("orders")
        .send()
        .await
        .expect("DeleteResourceServer");
    let described = cognito
        .describe_resource_server()
        .user_pool_id(&pool)
        .identifier("orders")
        .send()
        .await;
    assert_eq!(error_code(&described), Some("ResourceNotFoundException"));
    let deleted_again = cognito
        .delete_resource_server()
        .user_pool_id(&pool)
        .identifier("orders")
        .send()
        .await;
    assert_eq!(
        error_code(&deleted_again),
        Some("ResourceNotFoundException")
    );
    let missing_pool = cognito
        .delete_resource_server()
        .user_pool_id("us-east-1_missing")
        .identifier("orders")
        .send()
        .await;
    assert_eq!(error_code(&missing_pool), Some("ResourceNotFoundException"));
}

#[tokio::test]
async fn list_resource_servers_on_a_missing_pool_is_not_found() {
    let account = local_aws().account();
    let listed = account
        .cognito()
        .await
        .list_resource_servers()
        .user_pool_id("us-east-1_missing")
        .max_results(10)
        .send()
        .await;
    assert_eq!(error_code(&listed), Some("ResourceNotFoundException"));
}

#[tokio::test]
async fn update_user_pool_client_resets_every_field_not_sent() {
    let account = local_aws().account();
    let cognito = account.cognito().await;
    let pool = account.new_pool("replace").await;
    account
        .new_resource_server(&pool, "orders", &["read"])
        .await;
    let created = cognito
        .create_user_pool_client()
        .user_pool_id(&pool)
        .client_name("billing")
        .generate_secret(true)
        .allowed_o_auth_flows(OAuthFlowType::ClientCredentials)
        .allowed_o_auth_flows_user_pool_client(true)
        .allowed_o_auth_scopes("orders/read")
        .access_token_validity(5)
        .token_validity_units(
            TokenValidityUnitsType::builder()
                .access_token(TimeUnitsType::Minutes)
                .build(),
        )
        .send()
        .await
        .expect("CreateUserPoolClient");
    let created = created.user_pool_client().expect("client");
    let client_id = created.client_id().expect("client id");

    cognito
        .update_user_pool_client()
        .user_pool_id(&pool)
        .client_id(client_id)
        .refresh_token_validity(7)
        .send()
        .await
        .expect("UpdateUserPoolClient");
    let described = cognito
        .describe_user_pool_client()
        .user_pool_id(&pool)
        .client_id(client_id)
        .send()
        .await
        .expect("DescribeUserPoolClient");
    let client = described.user_pool_client().expect("client");
    assert_eq!(client.client_name(), Some("billing"));
    assert_eq!(client.client_secret(), created.client_secret());
    assert_eq!(client.refresh_token_validity(), 7);
    assert!(client.allowed_o_auth_flows().is_empty());
    assert!(client.allowed_o_auth_scopes().is_empty());
    assert_eq!(client.allowed_o_auth_flows_user_pool_client(), Some(false));
    assert_eq!(client.access_token_validity(), None);
    assert!(client.token_validity_units().is_none());

    let missing = cognito
        .update_user_pool_client()
        .user_pool_id(&pool)
        .client_id("nope")
        .send()
        .await;
    assert_eq!(error_code(&missing), Some("ResourceNotFoundException"));
}

#[tokio::test]
async fn scopes_no_resource_server_defines_are_rejected() {
    let account = local_aws().account();
    let cognito = account.cognito().await;
    let pool = account.new_pool("scopes").await;
    account
        .new_resource_server(&pool, "orders", &["read"])
        .await;

    let created = cognito
        .create_user_pool_client()
        .user_pool_id(&pool)
        .client_name("bad")
        .allowed_o_auth_scopes("orders/write")
        .send()
        .await;
    // Real Cognito answers an undefined scope with ScopeDoesNotExistException.
    assert_eq!(error_code(&created), Some("ScopeDoesNotExistException"));

    let (client_id, _) = account
        .new_client(&pool, "good", &["orders/read", "openid"])
        .await;
    let updated = cognito
        .update_user_pool_client()
        .user_pool_id(&pool)
        .client_id(&client_id)
        .allowed_o_auth_scopes("inventory/read")
        .send()
        .await;
    assert_eq!(error_code(&updated), Some("ScopeDoesNotExistException"));
}

#[tokio::test]
async fn client_secrets_are_added_listed_and_deleted_at_most_two_at_a_time() {
    let account = local_aws().account();
    let cognito = account.cognito().await;
    let pool = account.new_pool("secrets").await;
    let (client_id, original) = account.new_client(&pool, "rotating", &[]).await;

    let listed = cognito
        .list_user_pool_client_secrets()
        .user_pool_id(&pool)
        .client_id(&client_id)
        .send()
        .await
        .expect("ListUserPoolClientSecrets");
    assert_eq!(listed.client_secrets().len(), 1);
    let original_id = listed.client_secrets()[0]
        .client_secret_id()
        .expect("id")
        .to_owned();
    assert!(original_id.starts_with(&format!("{client_id}--")));
    assert!(listed.client_secrets()[0].client_secret_value().is_none());

    let added = cognito
        .add_user_pool_client_secret()
        .user_pool_id(&pool)
        .client_id(&client_id)
        .send()
        .await
        .expect("AddUserPoolClientSecret");
    let added = added.client_secret_descriptor().expect("descriptor");
    let second = added
        .client_secret_value()
        .expect("a generated secret is returned")
        .to_owned();
    assert!(added.client_secret_create_date().is_some());

    let third = cognito
        .add_user_pool_client_secret()
        .user_pool_id(&pool)
        .client_id(&client_id)
        .send()
        .await;
    assert_eq!(error_code(&third), Some("LimitExceededException"));

    let listed = cognito
        .list_user_pool_client_secrets()
        .user_pool_id(&pool)
        .client_id(&client_id)
        .send()
        .await
        .expect("ListUserPoolClientSecrets");
    assert_eq!(listed.client_secrets().len(), 2);
    assert!(
        listed
            .client_secrets()
            .iter()
            .all(|secret| secret.client_secret_value().is_none())
    );

    // Both secrets work at the token endpoint.
    for secret in [&original, &second] {
        let (_, body) = local_aws().token(&pool, &client_id, secret, &[]);
        // The client has no scopes, so the grant fails on scope, after authenticating.
        assert_eq!(body["error"], "invalid_scope");
    }

    cognito
        .delete_user_pool_client_secret()
        .user_pool_id(&pool)
        .client_id(&client_id)
        .client_secret_id(&original_id)
        .send()
        .await
        .expect("DeleteUserPoolClientSecret");
    let (status, body) = local_aws().token(&pool, &client_id, &original, &[]);
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let described = cognito
        .describe_user_pool_client()
        .user_pool_id(&pool)
        .client_id(&client_id)
        .send()
        .await
        .expect("DescribeUserPoolClient");
    assert_eq!(
        described
            .user_pool_client()
            .and_then(|client| client.client_secret()),
        Some(second.as_str())
    );

    let remaining = cognito
        .list_user_pool_client_secrets()
        .user_pool_id(&pool)
        .client_id(&client_id)
        .send()
        .await
        .expect("ListUserPoolClientSecrets");
    let last_id = remaining.client_secrets()[0]
        .client_secret_id()
        .expect("id");
    let last = cognito
        .delete_user_pool_client_secret()
        .user_pool_id(&pool)
        .client_id(&client_id)
        .client_secret_id(last_id)
        .send()
        .await;
    assert_eq!(error_code(&last), Some("InvalidParameterException"));

    let custom = cognito
        .add_user_pool_client_secret()
        .user_pool_id(&pool)
        .client_id(&client_id)
        .client_secret("a_custom_secret_of_enough_length_1234")
        .send()
        .await
        .expect("AddUserPoolClientSecret with a value");
    let custom = custom.client_secret_descriptor().expect("descriptor");
    assert!(
        custom.client_secret_value().is_none(),
        "AWS does not echo a secret you chose"
    );
    let (_, body) = local_aws().token(
        &pool,
        &client_id,
        "a_custom_secret_of_enough_length_1234",
        &[],
    );
    assert_eq!(
        body["error"], "invalid_scope",
        "the chosen secret authenticates"
    );
}

#[tokio::test]
async fn token_endpoint_issues_a_jwt_signed_with_the_pool_key() {
    let local_aws = local_aws();
    let account = local_aws.account();
    let pool = account.new_pool("tokens").await;
    account
        .new_resource_server(&pool, "orders", &["read", "write"])
        .await;
    let (client_id, secret) = account
        .new_client(&pool, "caller", &["orders/read", "orders/write"])
        .await;

    let (status, body) = local_aws.token(&pool, &client_id, &secret, &[]);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    let token = body["access_token"].as_str().expect("access_token");
    let segments: Vec<_> = token.split('.').collect();
    assert_eq!(segments.len(), 3);
    let header = jwt_segment(segments[0]);
    let claims = jwt_segment(segments[1]);
    assert_eq!(header["alg"], "RS256");
    let jwks = local_aws.jwks(&pool);
    assert_eq!(header["kid"], jwks["keys"][0]["kid"]);
    assert_eq!(claims["sub"], client_id.as_str());
    assert_eq!(claims["client_id"], client_id.as_str());
    assert_eq!(claims["token_use"], "access");
    assert_eq!(claims["scope"], "orders/read orders/write");
    assert_eq!(claims["version"], 2);
    assert!(
        claims["iss"]
            .as_str()
            .expect("iss")
            .ends_with(&format!("/{pool}"))
    );
    let issued_at = claims["iat"].as_i64().expect("iat");
    assert_eq!(claims["exp"].as_i64(), Some(issued_at + 3600));
    assert!(claims["jti"].is_string() && claims["auth_time"].is_i64());

    // Form-field client authentication, the pool-less path, and a narrower scope.
    let form = format!(
        "grant_type=client_credentials&client_id={client_id}&client_secret={secret}&scope=orders%2Fread"
    );
    let (status, body) = local_aws.post_form("/oauth2/token", None, &form);
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().expect("access_token");
    let claims = jwt_segment(token.split('.').nth(1).expect("claims"));
    assert_eq!(claims["scope"], "orders/read");
}

#[tokio::test]
async fn token_endpoint_answers_oauth_errors() {
    let local_aws = local_aws();
    let account = local_aws.account();
    let pool = account.new_pool("token-errors").await;
    account
        .new_resource_server(&pool, "orders", &["read", "write"])
        .await;
    let (client_id, secret) = account.new_client(&pool, "caller", &["orders/read"]).await;

    let (status, body) = local_aws.token(&pool, &client_id, "wrong", &[]);
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let (status, body) = local_aws.token(&pool, "unknown-client", &secret, &[]);
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let (status, body) = local_aws.token(&pool, &client_id, &secret, &["orders/write"]);
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );
    let form = format!("grant_type=password&client_id={client_id}&client_secret={secret}");
    let (status, body) = local_aws.post_form("/oauth2/token", None, &form);
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    let (status, body) = local_aws.post_form("/oauth2/token", None, "client_id=x");
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );

    let cognito = account.cognito().await;
    let no_flow = cognito
        .create_user_pool_client()
        .user_pool_id(&pool)
        .client_name("no-flow")
        .generate_secret(true)
        .send()
        .await
        .expect("CreateUserPoolClient");
    let no_flow = no_flow.user_pool_client().expect("client");
    let (status, body) = local_aws.token(
        &pool,
        no_flow.client_id().expect("id"),
        no_flow.client_secret().expect("secret"),
        &[],
    );
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client"))
    );
}

#[tokio::test]
async fn access_keys_of_twelve_digits_select_the_account() {
    let local_aws = local_aws();
    let (first, second) = (local_aws.account(), local_aws.account());
    let pool = first.new_pool("mine").await;
    first
        .ssm()
        .await
        .put_parameter()
        .name("/isolated")
        .value("1")
        .r#type(ParameterType::String)
        .send()
        .await
        .expect("PutParameter");
    first
        .secrets_manager()
        .await
        .create_secret()
        .name("isolated")
        .secret_string("1")
        .send()
        .await
        .expect("CreateSecret");

    let pools = second
        .cognito()
        .await
        .list_user_pools()
        .max_results(60)
        .send()
        .await
        .expect("ListUserPools");
    assert!(
        pools
            .user_pools()
            .iter()
            .all(|listed| listed.id() != Some(pool.as_str()))
    );
    let parameter = second
        .ssm()
        .await
        .get_parameter()
        .name("/isolated")
        .send()
        .await;
    assert_eq!(error_code(&parameter), Some("ParameterNotFound"));
    let secret = second
        .secrets_manager()
        .await
        .get_secret_value()
        .secret_id("isolated")
        .send()
        .await;
    assert_eq!(error_code(&secret), Some("ResourceNotFoundException"));

    let described = first
        .cognito()
        .await
        .describe_user_pool()
        .user_pool_id(&pool)
        .send()
        .await
        .expect("DescribeUserPool");
    let arn = described
        .user_pool()
        .and_then(|pool| pool.arn())
        .expect("arn");
    assert!(arn.contains(&format!(":{}:", first.id())), "{arn}");
}

#[tokio::test]
async fn throttle_fault_answers_too_many_requests_without_sdk_retries() {
    let account = local_aws().account();
    let pool = account.new_pool("throttled").await;
    account.set_faults(
        json!({"seed": 1, "throttle_share": 1.0, "operations": ["ListResourceServers"]}),
    );

    let listed = account
        .cognito()
        .await
        .list_resource_servers()
        .user_pool_id(&pool)
        .max_results(5)
        .send()
        .await;
    assert_eq!(error_code(&listed), Some("TooManyRequestsException"));
    let parameter = account
        .ssm()
        .await
        .get_parameter()
        .name("/unaffected")
        .send()
        .await;
    assert_eq!(
        error_code(&parameter),
        Some("ParameterNotFound"),
        "other operations pass"
    );
    account.set_faults(json!({"error_share": 1.0, "operations": ["GetParameter"]}));
    let parameter = account.ssm().await.get_parameter().name("/x").send().await;
    assert_eq!(error_code(&parameter), Some("InternalServerError"));
    account.clear_faults();

    let calls = account.calls_to("ListResourceServers");
    assert_eq!(
        (calls["calls"].as_i64(), calls["throttled"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(account.calls_to("GetParameter")["injected_errors"], 1);
}

#[tokio::test]
async fn an_error_fault_can_answer_any_aws_error() {
    let account = local_aws().account();
    let pool = account.new_pool("denied").await;
    account.set_faults(json!({
        "error_share": 1.0,
        "error_code": "AccessDeniedException",
        "error_message": "not authorized to perform: cognito-idp:ListResourceServers",
        "operations": ["ListResourceServers"],
    }));
    let listed = account
        .cognito()
        .await
        .list_resource_servers()
        .user_pool_id(&pool)
        .max_results(5)
        .send()
        .await;
    assert_eq!(error_code(&listed), Some("AccessDeniedException"));
    let message = listed.as_ref().err().and_then(|error| {
        aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata::message(error)
    });
    assert_eq!(
        message,
        Some("not authorized to perform: cognito-idp:ListResourceServers")
    );
    account.clear_faults();
}

#[tokio::test]
async fn reset_fault_drops_the_connection_after_the_call_took_effect() {
    let account = local_aws().account();
    let pool = account.new_pool("reset").await;
    account.set_faults(json!({"reset_share": 1.0, "operations": ["CreateResourceServer"]}));
    let created = account
        .cognito()
        .await
        .create_resource_server()
        .user_pool_id(&pool)
        .identifier("orders")
        .name("orders")
        .send()
        .await;
    account.clear_faults();

    let error = created.expect_err("the connection is dropped");
    assert!(
        error.as_service_error().is_none(),
        "no AWS error, a transport one: {error:?}"
    );
    let described = account
        .cognito()
        .await
        .describe_resource_server()
        .user_pool_id(&pool)
        .identifier("orders")
        .send()
        .await;
    assert!(described.is_ok(), "the operation happened: {described:?}");
    assert_eq!(account.calls_to("CreateResourceServer")["resets"], 1);
}

#[tokio::test]
async fn calls_are_counted_per_account_and_operation() {
    let account = local_aws().account();
    let ssm = account.ssm().await;
    for index in 0..3 {
        ssm.put_parameter()
            .name(format!("/counted/{index}"))
            .value("v")
            .r#type(ParameterType::String)
            .send()
            .await
            .expect("PutParameter");
    }
    let missing = ssm.get_parameter().name("/counted/missing").send().await;
    assert!(missing.is_err());

    let calls = account.calls();
    assert_eq!(calls["total"], 4);
    assert_eq!(calls["operations"]["PutParameter"]["calls"], 3);
    assert_eq!(calls["operations"]["GetParameter"]["failed"], 1);
    account.reset_calls();
    assert_eq!(account.calls()["total"], 0);
}

#[tokio::test]
async fn quotas_throttle_a_burst_in_one_pool() {
    let account = local_aws().account();
    let pool = account.new_pool("quota").await;
    let cognito = account.cognito().await;
    account.set_quotas(json!({"enabled": true, "speedup": 1.0}));
    let mut throttled = 0;
    for index in 0..10 {
        let created = cognito
            .create_resource_server()
            .user_pool_id(&pool)
            .identifier(format!("api{index}"))
            .name("api")
            .send()
            .await;
        match error_code(&created) {
            None => {}
            Some("TooManyRequestsException") => throttled += 1,
            Some(other) => panic!("unexpected {other}"),
        }
    }
    // 5 per second per operation and pool: a burst of 10 loses about half.
    assert!((4..=6).contains(&throttled), "{throttled} throttled");
    account.set_quotas(
        json!({"limits": [{"operation": "DescribeResourceServer", "pool": pool, "rps": 1}]}),
    );
    let first = cognito
        .describe_resource_server()
        .user_pool_id(&pool)
        .identifier("api0")
        .send()
        .await;
    let second = cognito
        .describe_resource_server()
        .user_pool_id(&pool)
        .identifier("api0")
        .send()
        .await;
    account.clear_quotas();
    assert!(first.is_ok(), "{first:?}");
    assert_eq!(error_code(&second), Some("TooManyRequestsException"));
    assert_eq!(
        account.calls_to("CreateResourceServer")["throttled"],
        throttled
    );
}

#[tokio::test]
async fn ssm_parameters_behave_like_aws() {
    let account = local_aws().account();
    let ssm = account.ssm().await;
    ssm.put_parameter()
        .name("/app/secret")
        .value("s3cret")
        .r#type(ParameterType::SecureString)
        .send()
        .await
        .expect("PutParameter");

    let again = ssm
        .put_parameter()
        .name("/app/secret")
        .value("other")
        .r#type(ParameterType::SecureString)
        .send()
        .await;
    assert_eq!(error_code(&again), Some("ParameterAlreadyExists"));
    let tagged = ssm
        .put_parameter()
        .name("/app/secret")
        .value("other")
        .r#type(ParameterType::SecureString)
        .overwrite(true)
        .tags(Tag::builder().key("team").value("a").build().expect("tag"))
        .send()
        .await;
    assert_eq!(error_code(&tagged), Some("ValidationException"));

    let fetched = ssm
        .get_parameters()
        .names("/app/secret")
        .with_decryption(true)
        .send()
        .await
        .expect("GetParameters");
    assert_eq!(fetched.parameters()[0].value(), Some("s3cret"));

    ssm.add_tags_to_resource()
        .resource_type(ResourceTypeForTagging::Parameter)
        .resource_id("/app/secret")
        .tags(Tag::builder().key("team").value("a").build().expect("tag"))
        .send()
        .await
        .expect("AddTagsToResource");
    let tags = ssm
        .list_tags_for_resource()
        .resource_type(ResourceTypeForTagging::Parameter)
        .resource_id("/app/secret")
        .send()
        .await
        .expect("ListTagsForResource");
    assert_eq!(tags.tag_list().len(), 1);

    ssm.put_parameter()
        .name("/app/other")
        .value("v")
        .r#type(ParameterType::String)
        .send()
        .await
        .expect("PutParameter");
    let deleted = ssm
        .delete_parameters()
        .names("/app/other")
        .names("/app/none")
        .send()
        .await
        .expect("DeleteParameters");
    assert_eq!(deleted.deleted_parameters(), ["/app/other"]);
    assert_eq!(deleted.invalid_parameters(), ["/app/none"]);
    ssm.delete_parameter()
        .name("/app/secret")
        .send()
        .await
        .expect("DeleteParameter");
    let gone = ssm.delete_parameter().name("/app/secret").send().await;
    assert_eq!(error_code(&gone), Some("ParameterNotFound"));
}

#[tokio::test]
async fn secrets_manager_basics_work() {
    let account = local_aws().account();
    let secrets = account.secrets_manager().await;
    secrets
        .create_secret()
        .name("app/client")
        .secret_string("one")
        .send()
        .await
        .expect("CreateSecret");
    secrets
        .put_secret_value()
        .secret_id("app/client")
        .secret_string("two")
        .send()
        .await
        .expect("PutSecretValue");
    let value = secrets
        .get_secret_value()
        .secret_id("app/client")
        .send()
        .await
        .expect("GetSecretValue");
    assert_eq!(value.secret_string(), Some("two"));
    secrets
        .tag_resource()
        .secret_id("app/client")
        .tags(
            aws_sdk_secretsmanager::types::Tag::builder()
                .key("team")
                .value("a")
                .build(),
        )
        .send()
        .await
        .expect("TagResource");
    let described = secrets
        .describe_secret()
        .secret_id("app/client")
        .send()
        .await
        .expect("DescribeSecret");
    assert_eq!(described.tags().len(), 1);
    secrets
        .delete_secret()
        .secret_id("app/client")
        .force_delete_without_recovery(true)
        .send()
        .await
        .expect("DeleteSecret");
    let gone = secrets
        .get_secret_value()
        .secret_id("app/client")
        .send()
        .await;
    assert_eq!(error_code(&gone), Some("ResourceNotFoundException"));
}

/// moto has no UpdateMethod, and answers a 500 to a patch of an authorizer's providers: localaws
/// adds both, as cogwire sends them (one scope or one ARN an operation).
#[tokio::test]
async fn rest_api_methods_and_authorizer_providers_take_patches() {
    use aws_sdk_apigateway::types::{AuthorizerType, Op, PatchOperation};
    let account = local_aws().account();
    let client = aws_sdk_apigateway::Client::new(&account.sdk_config().await);
    let api = client
        .create_rest_api()
        .name("patches")
        .send()
        .await
        .expect("CreateRestApi")
        .id()
        .expect("id")
        .to_owned();
    let root = client
        .get_resources()
        .rest_api_id(&api)
        .send()
        .await
        .expect("GetResources")
        .items()[0]
        .id()
        .expect("root")
        .to_owned();
    let items = client
        .create_resource()
        .rest_api_id(&api)
        .parent_id(&root)
        .path_part("items")
        .send()
        .await
        .expect("CreateResource")
        .id()
        .expect("resource")
        .to_owned();
    client
        .put_method()
        .rest_api_id(&api)
        .resource_id(&items)
        .http_method("GET")
        .authorization_type("NONE")
        .send()
        .await
        .expect("PutMethod");
    let first = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_First";
    let second = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_Second";
    let authorizer = client
        .create_authorizer()
        .rest_api_id(&api)
        .name("cognito")
        .r#type(AuthorizerType::CognitoUserPools)
        .provider_arns(first)
        .identity_source("method.request.header.Authorization")
        .send()
        .await
        .expect("CreateAuthorizer")
        .id()
        .expect("authorizer")
        .to_owned();
    let patch = |op: Op, path: &str, value: &str| {
        PatchOperation::builder()
            .op(op)
            .path(path)
            .value(value)
            .build()
    };

    // Providers: add one (twice is once), remove one, never the last.
    for _ in 0..2 {
        client
            .update_authorizer()
            .rest_api_id(&api)
            .authorizer_id(&authorizer)
            .patch_operations(patch(Op::Add, "/providerARNs", second))
            .send()
            .await
            .expect("UpdateAuthorizer add");
    }
    let providers = |reply: &aws_sdk_apigateway::operation::get_authorizer::GetAuthorizerOutput| {
        reply.provider_arns().to_vec()
    };
    let read = client
        .get_authorizer()
        .rest_api_id(&api)
        .authorizer_id(&authorizer)
        .send()
        .await
        .expect("GetAuthorizer");
    assert_eq!(providers(&read), [first, second]);
    client
        .update_authorizer()
        .rest_api_id(&api)
        .authorizer_id(&authorizer)
        .patch_operations(patch(Op::Remove, "/providerARNs", first))
        .send()
        .await
        .expect("UpdateAuthorizer remove");
    let last = client
        .update_authorizer()
        .rest_api_id(&api)
        .authorizer_id(&authorizer)
        .patch_operations(patch(Op::Remove, "/providerARNs", second))
        .send()
        .await;
    assert_eq!(error_code(&last), Some("BadRequestException"));

    // Methods: authorization type, authorizer and single scopes, all or nothing.
    let updated = client
        .update_method()
        .rest_api_id(&api)
        .resource_id(&items)
        .http_method("GET")
        .patch_operations(patch(
            Op::Replace,
            "/authorizationType",
            "COGNITO_USER_POOLS",
        ))
        .patch_operations(patch(Op::Replace, "/authorizerId", &authorizer))
        .patch_operations(patch(Op::Add, "/authorizationScopes", "https://x/read"))
        .patch_operations(patch(Op::Add, "/authorizationScopes", "https://x/write"))
        .send()
        .await
        .expect("UpdateMethod");
    assert_eq!(updated.authorization_type(), Some("COGNITO_USER_POOLS"));
    assert_eq!(
        updated.authorization_scopes(),
        ["https://x/read", "https://x/write"]
    );
    client
        .update_method()
        .rest_api_id(&api)
        .resource_id(&items)
        .http_method("GET")
        .patch_operations(patch(Op::Remove, "/authorizationScopes", "https://x/read"))
        .send()
        .await
        .expect("UpdateMethod remove");
    let bad = client
        .update_method()
        .rest_api_id(&api)
        .resource_id(&items)
        .http_method("GET")
        .patch_operations(patch(Op::Add, "/authorizationScopes", "https://x/admin"))
        .patch_operations(patch(Op::Replace, "/authorizerId", "nosuch1234"))
        .send()
        .await;
    assert_eq!(error_code(&bad), Some("BadRequestException"));
    let method = client
        .get_method()
        .rest_api_id(&api)
        .resource_id(&items)
        .http_method("GET")
        .send()
        .await
        .expect("GetMethod");
    assert_eq!(method.authorizer_id(), Some(authorizer.as_str()));
    assert_eq!(method.authorization_scopes(), ["https://x/write"]);
    let missing = client
        .update_method()
        .rest_api_id(&api)
        .resource_id(&items)
        .http_method("POST")
        .patch_operations(patch(Op::Add, "/authorizationScopes", "https://x/read"))
        .send()
        .await;
    assert_eq!(error_code(&missing), Some("NotFoundException"));
    let calls = account.calls();
    assert_eq!(calls["operations"]["UpdateMethod"]["calls"], 4, "{calls}");
}
