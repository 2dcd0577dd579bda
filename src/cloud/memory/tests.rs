use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::cloud::operation::Operation;
use crate::cloud::pace::{PaceSettings, Pacer};
use crate::cloud::stores::{EntryWrite, MANAGED_BY, POOL_TAG, SecretStore};
use crate::cloud::{ClientExtras, ClientSpec, Parameters, UserPool};
use crate::config::duration::Seconds;

const POOL: &str = "us-east-1_Memory";

fn server(identifier: &str, scopes: &[&str]) -> ResourceServerState {
    ResourceServerState {
        identifier: identifier.to_owned(),
        name: identifier.to_owned(),
        scopes: scopes
            .iter()
            .map(|scope| ((*scope).to_owned(), format!("{scope} scope")))
            .collect(),
    }
}

fn spec(name: &str, scopes: &[&str]) -> ClientSpec {
    ClientSpec {
        name: name.to_owned(),
        scopes: scopes.iter().map(|scope| (*scope).to_owned()).collect(),
        access_token_validity: Seconds::HOUR,
    }
}

fn code(error: &CloudError) -> &str {
    match error {
        CloudError::Rejected { code, .. } => code,
        other => panic!("not a rejection: {other:?}"),
    }
}

#[tokio::test]
async fn a_duplicate_resource_server_is_an_invalid_parameter() {
    let cloud = MemoryCloud::new(POOL);
    let pool = cloud.user_pool();
    pool.create_resource_server(&server("orders", &["read"]))
        .await
        .expect("created");
    let error = pool
        .create_resource_server(&server("orders", &["write"]))
        .await
        .expect_err("duplicate");
    assert_eq!(code(&error), "InvalidParameterException");
    assert_eq!(
        cloud.snapshot().resource_servers["orders"],
        server("orders", &["read"])
    );
    assert!(matches!(
        pool.update_resource_server(&server("missing", &[])).await,
        Err(CloudError::NotFound { .. })
    ));
    assert!(matches!(
        pool.delete_resource_server("missing").await,
        Err(CloudError::NotFound { .. })
    ));
}

#[tokio::test]
async fn an_update_replaces_the_whole_resource_server() {
    let cloud = MemoryCloud::new(POOL);
    let pool = cloud.user_pool();
    pool.create_resource_server(&server("orders", &["read", "write"]))
        .await
        .expect("created");
    let mut renamed = server("orders", &["delete"]);
    renamed.name = "Orders".to_owned();
    pool.update_resource_server(&renamed)
        .await
        .expect("updated");
    assert_eq!(cloud.snapshot().resource_servers["orders"], renamed);
}

#[tokio::test]
async fn clients_may_only_name_scopes_that_exist() {
    let cloud = MemoryCloud::new(POOL);
    let pool = cloud.user_pool();
    let error = pool
        .create_client(&spec("reader", &["orders/read"]))
        .await
        .expect_err("no such scope");
    assert_eq!(code(&error), "ScopeDoesNotExistException");
    assert!(!error.is_retryable());
    assert!(cloud.snapshot().clients.is_empty());

    pool.create_resource_server(&server("orders", &["read"]))
        .await
        .expect("created");
    let created = pool
        .create_client(&spec("reader", &["orders/read", "openid"]))
        .await
        .expect("scopes exist");
    let mut state = pool.describe_client(&created.id).await.expect("described");
    state.scopes.insert("orders/write".to_owned());
    let error = pool.update_client(&state).await.expect_err("no such scope");
    assert_eq!(code(&error), "ScopeDoesNotExistException");

    // Deleting the resource server leaves the client's scopes as they were.
    pool.delete_resource_server("orders")
        .await
        .expect("deleted");
    let after = pool.describe_client(&created.id).await.expect("described");
    assert!(after.scopes.contains("orders/read"));
}

#[tokio::test]
async fn an_update_resets_what_it_is_not_sent() {
    let cloud = MemoryCloud::new(POOL);
    let pool = cloud.user_pool();
    pool.create_resource_server(&server("orders", &["read"]))
        .await
        .expect("created");
    let created = pool
        .create_client(&spec("reader", &["orders/read"]))
        .await
        .expect("created");
    let mut state = pool.describe_client(&created.id).await.expect("described");
    assert_eq!(state.extras.refresh_token_validity, Some(30));
    assert_eq!(state.access_token_validity, Some(Seconds::HOUR));
    state.extras.callback_urls = Some(vec!["https://example.com/cb".to_owned()]);
    state.extras.refresh_token_validity = Some(7);
    pool.update_client(&state).await.expect("updated");
    assert_eq!(
        pool.describe_client(&created.id).await.expect("described"),
        state
    );

    // Sent without its extras or its validity: they go back to Cognito's defaults.
    let bare = ClientState {
        extras: ClientExtras::default(),
        access_token_validity: None,
        name: "renamed".to_owned(),
        ..state.clone()
    };
    pool.update_client(&bare).await.expect("updated");
    let after = pool.describe_client(&created.id).await.expect("described");
    assert_eq!(after.name, "renamed");
    assert_eq!(after.extras.callback_urls, None);
    assert_eq!(after.extras.refresh_token_validity, Some(30));
    assert_eq!(after.access_token_validity, None);
    assert!(after.has_secret, "an update never touches the secrets");

    let mut too_long = after.clone();
    too_long.access_token_validity = Some(Seconds(2 * Seconds::DAY.0));
    let error = pool.update_client(&too_long).await.expect_err("too long");
    assert_eq!(code(&error), "InvalidParameterException");
}

#[tokio::test]
async fn two_clients_may_share_a_name() {
    let cloud = MemoryCloud::new(POOL);
    let pool = cloud.user_pool();
    let first = pool.create_client(&spec("twin", &[])).await.expect("first");
    let second = pool
        .create_client(&spec("twin", &[]))
        .await
        .expect("second");
    assert_ne!(first.id, second.id);
    assert_ne!(first.secret, second.secret);
    let caller = Pacer::new(PaceSettings::default());
    let names: Vec<String> = crate::cloud::list_clients(&pool, &caller)
        .await
        .expect("listed")
        .into_iter()
        .map(|client| client.name)
        .collect();
    assert_eq!(names, vec!["twin", "twin"]);
}

#[tokio::test(start_paused = true)]
async fn lists_come_in_pages_of_fifty_servers_and_sixty_clients() {
    let cloud = MemoryCloud::new(POOL);
    for index in 0..101 {
        cloud.seed_resource_server(server(&format!("server-{index:03}"), &["read"]));
    }
    for index in 0..121 {
        cloud.seed_client(
            ClientState {
                id: String::new(),
                name: format!("client-{index}"),
                has_secret: true,
                allowed_oauth_flows: BTreeSet::new(),
                allowed_oauth_flows_user_pool_client: false,
                scopes: BTreeSet::new(),
                access_token_validity: None,
                extras: ClientExtras::default(),
            },
            None,
        );
    }
    let pool = cloud.user_pool();
    let first = pool.list_clients_page(None).await.expect("page");
    assert_eq!(first.items.len(), 60);
    let caller = Pacer::new(PaceSettings::default());
    let servers = crate::cloud::list_resource_servers(&pool, &caller)
        .await
        .expect("listed");
    let clients = crate::cloud::list_clients(&pool, &caller)
        .await
        .expect("listed");
    assert_eq!(servers.len(), 101);
    assert_eq!(clients.len(), 121);
    let distinct: BTreeSet<&str> = clients.iter().map(|client| client.id.as_str()).collect();
    assert_eq!(distinct.len(), 121, "a client was listed twice");
    assert_eq!(
        cloud.call_log(),
        [
            vec![Operation::ListUserPoolClients],
            vec![Operation::ListResourceServers; 3],
            vec![Operation::ListUserPoolClients; 3],
        ]
        .concat()
    );
}

#[tokio::test]
async fn a_client_has_at_most_two_secrets_listed_oldest_first() {
    let cloud = MemoryCloud::new(POOL);
    let pool = cloud.user_pool();
    let created = pool
        .create_client(&spec("reader", &[]))
        .await
        .expect("created");
    let added = pool.add_client_secret(&created.id).await.expect("added");
    let error = pool
        .add_client_secret(&created.id)
        .await
        .expect_err("third");
    assert_eq!(code(&error), "LimitExceededException");

    let secrets = pool.list_client_secrets(&created.id).await.expect("listed");
    assert_eq!(secrets.len(), 2);
    assert!(secrets[0].created < secrets[1].created);
    assert_eq!(secrets[1].id, added.id);
    // Describe shows the oldest.
    let (_, shown) = pool
        .describe_client_with_secret(&created.id)
        .await
        .expect("described");
    assert_eq!(shown, Some(created.secret.clone()));

    pool.delete_client_secret(&created.id, &secrets[0].id)
        .await
        .expect("deleted");
    assert_eq!(
        pool.client_secret(&created.id).await.expect("described"),
        Some(added.value.clone())
    );
    let error = pool
        .delete_client_secret(&created.id, &added.id)
        .await
        .expect_err("the last one");
    assert_eq!(code(&error), "InvalidParameterException");
    assert!(matches!(
        pool.delete_client_secret(&created.id, "gone").await,
        Err(CloudError::NotFound { .. })
    ));
    assert!(matches!(
        pool.list_client_secrets("no-such-client").await,
        Err(CloudError::NotFound { .. })
    ));
}

#[tokio::test]
async fn parameters_refuse_to_overwrite_unless_asked() {
    let cloud = MemoryCloud::new(POOL);
    let parameters = cloud.parameters();
    parameters.put("/lock", "one", false).await.expect("put");
    assert!(matches!(
        parameters.put("/lock", "two", false).await,
        Err(CloudError::AlreadyExists { .. })
    ));
    parameters.put("/lock", "three", true).await.expect("put");
    let values = parameters
        .get(&["/lock".to_owned(), "/missing".to_owned()])
        .await
        .expect("got");
    assert_eq!(
        values,
        BTreeMap::from([("/lock".to_owned(), "three".to_owned())])
    );
    let eleven: Vec<String> = (0..11).map(|index| format!("/p{index}")).collect();
    assert!(matches!(
        parameters.get(&eleven).await,
        Err(CloudError::Rejected { .. })
    ));
    parameters.delete("/lock").await.expect("deleted");
    parameters
        .delete("/lock")
        .await
        .expect("deleting nothing is fine");
    assert!(cloud.snapshot().parameters.is_empty());
}

fn tags(pool: &str) -> Vec<(String, String)> {
    vec![
        (MANAGED_BY.0.to_owned(), MANAGED_BY.1.to_owned()),
        (POOL_TAG.to_owned(), pool.to_owned()),
    ]
}

#[tokio::test]
async fn the_ssm_store_keeps_kinds_and_tags() {
    let cloud = MemoryCloud::new(POOL);
    let store = cloud.store(StoreKind::Ssm);
    let value = Secret::new("{\"client_id\":\"x\"}");
    let entry = EntryWrite {
        name: "/cogwire/orders",
        value: &value,
        kind: EntryKind::Secure,
    };
    store.create(entry, &tags(POOL)).await.expect("created");
    assert!(matches!(
        store.create(entry, &tags(POOL)).await,
        Err(CloudError::AlreadyExists { .. })
    ));
    let other = Secret::new("plain");
    store
        .create(
            EntryWrite {
                name: "/cogwire/other/client_id",
                value: &other,
                kind: EntryKind::Plain,
            },
            &tags("another-pool"),
        )
        .await
        .expect("created");
    cloud.seed_parameter("/cogwire-not-under", "x", EntryKind::Plain, &tags(POOL));
    let listed = store.list_managed("/cogwire", POOL).await.expect("listed");
    assert_eq!(listed, BTreeSet::from(["/cogwire/orders".to_owned()]));

    let newer = Secret::new("newer");
    store
        .update(EntryWrite {
            value: &newer,
            ..entry
        })
        .await
        .expect("updated");
    let stored = &cloud.snapshot().parameters["/cogwire/orders"];
    assert_eq!(stored.value, newer);
    assert_eq!(stored.kind, EntryKind::Secure);
    assert_eq!(stored.tags.len(), 2, "an overwrite keeps the tags");
    assert!(matches!(
        store.tag("/cogwire/missing", &tags(POOL)).await,
        Err(CloudError::Rejected { .. })
    ));
    store.delete("/cogwire/orders").await.expect("deleted");
    store
        .delete("/cogwire/orders")
        .await
        .expect("deleting nothing is fine");
    assert!(
        store
            .read(&["/cogwire/orders".to_owned()])
            .await
            .expect("read")
            .is_empty(),
        "a deleted entry reads as absent"
    );
}

#[tokio::test]
async fn secrets_manager_keeps_a_deleted_name_taken_until_restored() {
    let cloud = MemoryCloud::new(POOL);
    let store = cloud.store(StoreKind::SecretsManager);
    let value = Secret::new("first");
    let entry = EntryWrite {
        name: "/cogwire/orders",
        value: &value,
        kind: EntryKind::Secure,
    };
    assert!(matches!(
        store.update(entry).await,
        Err(CloudError::NotFound { .. })
    ));
    store.create(entry, &tags(POOL)).await.expect("created");
    store.delete("/cogwire/orders").await.expect("scheduled");
    assert!(
        store
            .list_managed("/cogwire", POOL)
            .await
            .expect("listed")
            .is_empty()
    );
    assert!(
        store
            .read(&["/cogwire/orders".to_owned()])
            .await
            .expect("read")
            .is_empty()
    );
    assert_eq!(
        code(&store.update(entry).await.expect_err("marked")),
        "InvalidRequestException"
    );
    assert_eq!(
        code(&store.delete("/cogwire/orders").await.expect_err("marked")),
        "InvalidRequestException"
    );

    let second = Secret::new("second");
    store
        .create(
            EntryWrite {
                value: &second,
                ..entry
            },
            &tags(POOL),
        )
        .await
        .expect("restored");
    let read = store
        .read(&["/cogwire/orders".to_owned()])
        .await
        .expect("read");
    assert_eq!(read["/cogwire/orders"].value, second);
    assert_eq!(store.operations().read_batch, 20);
    assert_eq!(
        cloud.call_log().last(),
        Some(&Operation::BatchGetSecretValue)
    );
}

#[tokio::test]
async fn faults_before_the_effect_change_nothing() {
    let cloud = MemoryCloud::new(POOL);
    let pool = cloud.user_pool();
    cloud.inject(
        FaultPlan::none()
            .at_call(1, Fault::Throttled)
            .at_call(2, Fault::ServerError),
    );
    let throttled = pool
        .create_resource_server(&server("orders", &["read"]))
        .await
        .expect_err("throttled");
    assert!(matches!(throttled, CloudError::Throttled { .. }));
    let failed = pool
        .create_resource_server(&server("orders", &["read"]))
        .await
        .expect_err("5xx");
    assert!(matches!(failed, CloudError::Transient { .. }));
    assert!(cloud.snapshot().resource_servers.is_empty());
    pool.create_resource_server(&server("orders", &["read"]))
        .await
        .expect("third time");
    assert_eq!(cloud.calls(), 3);
}

#[tokio::test]
async fn a_lost_reply_fails_after_the_effect() {
    let cloud = MemoryCloud::new(POOL);
    let pool = cloud.user_pool();
    cloud.inject(FaultPlan::none().at_call(1, Fault::LostReply));
    let error = pool
        .create_client(&spec("reader", &[]))
        .await
        .expect_err("lost");
    assert!(matches!(error, CloudError::Transient { .. }));
    let clients = cloud.snapshot().clients;
    assert_eq!(clients.len(), 1, "the client was made all the same");
    assert!(clients.values().all(|client| client.secrets.len() == 1));
}

#[tokio::test]
async fn a_dead_process_makes_no_calls_across_every_trait() {
    let cloud = MemoryCloud::new(POOL);
    let pool = cloud.user_pool();
    let parameters = cloud.parameters();
    let store = cloud.store(StoreKind::Ssm);
    cloud.inject(FaultPlan::none().dies_after(2));
    pool.create_resource_server(&server("orders", &["read"]))
        .await
        .expect("call 1");
    parameters.put("/p", "v", true).await.expect("call 2");
    let refused = store.delete("/p").await.expect_err("dead");
    assert!(!refused.is_retryable(), "a dead process does not retry");
    assert!(pool.create_client(&spec("reader", &[])).await.is_err());
    assert_eq!(cloud.calls(), 2);
    assert_eq!(
        cloud.call_log(),
        vec![Operation::CreateResourceServer, Operation::PutParameter]
    );
    let snapshot = cloud.snapshot();
    assert!(snapshot.clients.is_empty());
    assert!(snapshot.parameters.contains_key("/p"));

    cloud.clear_faults();
    store.delete("/p").await.expect("alive again");
    assert_eq!(cloud.calls(), 3);
}

#[tokio::test]
async fn dying_after_no_call_refuses_the_first() {
    let cloud = MemoryCloud::new(POOL);
    cloud.inject(FaultPlan::none().dies_after(0));
    assert!(cloud.parameters().put("/p", "v", true).await.is_err());
    assert_eq!(cloud.calls(), 0);
    assert!(cloud.snapshot().parameters.is_empty());
}

async fn failing_calls(seed: u64) -> Vec<u64> {
    let cloud = MemoryCloud::new(POOL);
    let parameters = cloud.parameters();
    cloud.inject(
        FaultPlan::seeded(seed)
            .randomly(Some(Operation::DeleteParameter), Fault::ServerError, 0.3)
            .randomly(None, Fault::Throttled, 0.0),
    );
    let mut failed = Vec::new();
    for number in 1..=200 {
        let result = if number % 2 == 0 {
            parameters.delete("/p").await
        } else {
            parameters.put("/p", "v", true).await
        };
        if let Err(error) = result {
            assert!(matches!(
                error,
                CloudError::Transient {
                    operation: Operation::DeleteParameter,
                    ..
                }
            ));
            failed.push(number);
        }
    }
    failed
}

#[tokio::test]
async fn random_faults_are_drawn_from_the_seed() {
    let first = failing_calls(7).await;
    assert_eq!(
        first,
        failing_calls(7).await,
        "the same seed fails the same calls"
    );
    assert_ne!(first, failing_calls(8).await);
    assert!(
        (15..=45).contains(&first.len()),
        "about 30% of 100 deletes: {}",
        first.len()
    );
}

#[tokio::test]
async fn a_fork_is_independent_and_makes_the_same_ids() {
    let cloud = MemoryCloud::new(POOL);
    cloud.seed_resource_server(server("orders", &["read"]));
    let fork = cloud.fork();
    let first = cloud
        .user_pool()
        .create_client(&spec("reader", &["orders/read"]))
        .await
        .expect("created");
    assert!(fork.snapshot().clients.is_empty());
    assert_eq!(fork.calls(), 0);
    let second = fork
        .user_pool()
        .create_client(&spec("reader", &["orders/read"]))
        .await
        .expect("created");
    assert_eq!(first.id, second.id);
    assert_eq!(first.secret, second.secret);
    assert_eq!(cloud.snapshot(), fork.snapshot());
}
