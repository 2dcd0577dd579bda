//! The plan's safety rules through the binary: renames keep their client, a rename that does not
//! says it replaces one, adoption with changes takes `--adopt`, removing a scope an unmanaged client
//! holds takes `--allow-destroy`. Pool effects are checked with the test's own AWS client.

use serde_json::Value;

use crate::support::{Output, TestAccount, Workdir, local_aws};

const READ_CLIENT: &str = r#"
[pool]
domain = "fleet"

[services.customers]
scopes = { "read" = "Read", "write" = "Write" }

[services.readClient]
consumes = ["customers/read"]
client = { name = "readClient" }
"#;

struct Setup {
    account: TestAccount,
    pool: String,
    workdir: Workdir,
    env: Vec<(String, String)>,
}

async fn setup(text: &str) -> Setup {
    let account = local_aws().account();
    let pool = account.new_pool("plan-safety").await;
    let mut env = account.env();
    env.push(("COGWIRE_USER_POOL_ID".to_owned(), pool.clone()));
    Setup {
        account,
        pool,
        workdir: Workdir::new(text),
        env,
    }
}

impl Setup {
    fn cogwire(&self, args: &[&str]) -> Output {
        self.workdir.run(args, &self.env)
    }

    fn ok(&self, args: &[&str]) -> Output {
        let output = self.cogwire(args);
        assert_eq!(output.code, 0, "cogwire {args:?}: {}", output.all());
        output
    }

    /// Client name to (id, scopes), as the pool has them.
    async fn clients(&self) -> Vec<(String, String, Vec<String>)> {
        let cognito = self.account.cognito().await;
        let list = cognito
            .list_user_pool_clients()
            .user_pool_id(&self.pool)
            .max_results(60)
            .send()
            .await
            .expect("ListUserPoolClients");
        let mut clients = Vec::new();
        for summary in list.user_pool_clients() {
            let id = summary.client_id().expect("id");
            let described = cognito
                .describe_user_pool_client()
                .user_pool_id(&self.pool)
                .client_id(id)
                .send()
                .await
                .expect("DescribeUserPoolClient");
            let client = described.user_pool_client().expect("client");
            let mut scopes = client.allowed_o_auth_scopes().to_vec();
            scopes.sort();
            clients.push((
                client.client_name().unwrap_or_default().to_owned(),
                id.to_owned(),
                scopes,
            ));
        }
        clients.sort();
        clients
    }

    async fn client_id(&self, name: &str) -> String {
        self.clients()
            .await
            .into_iter()
            .find(|(client, ..)| client == name)
            .map(|(_, id, _)| id)
            .unwrap_or_else(|| panic!("no client named {name}"))
    }

    async fn scopes_of(&self, identifier: &str) -> Vec<String> {
        let described = self
            .account
            .cognito()
            .await
            .describe_resource_server()
            .user_pool_id(&self.pool)
            .identifier(identifier)
            .send()
            .await
            .expect("DescribeResourceServer");
        let mut scopes: Vec<String> = described
            .resource_server()
            .expect("server")
            .scopes()
            .iter()
            .map(|scope| scope.scope_name().to_owned())
            .collect();
        scopes.sort();
        scopes
    }

    async fn stored(&self, service: &str) -> Option<Value> {
        let output = self
            .account
            .ssm()
            .await
            .get_parameter()
            .name(format!("/cogwire/{service}"))
            .with_decryption(true)
            .send()
            .await
            .ok()?;
        serde_json::from_str(output.parameter()?.value()?).ok()
    }
}

/// Renaming `[services.readClient]` to `[services.reader]`, the client's name kept: the plan
/// says so and counts it, `sync-secrets` before apply deletes nothing, apply moves the record and
/// the credentials, and the client keeps its id.
#[tokio::test]
async fn a_service_renamed_with_its_client_name_keeps_the_client_and_moves_its_credentials() {
    let setup = setup(READ_CLIENT).await;
    setup.ok(&["apply", "--auto-approve"]);
    let id = setup.client_id("readClient").await;
    assert_eq!(
        setup.stored("readClient").await.expect("stored")["client_id"],
        id.as_str()
    );

    setup
        .workdir
        .write(&READ_CLIENT.replace("[services.readClient]", "[services.reader]"));
    let plan = setup.cogwire(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(
        plan.stdout.contains(&format!(
            "service readClient is now reader; client readClient ({id}) keeps its id"
        )),
        "{}",
        plan.stdout
    );
    let json = setup.ok(&["--json", "plan"]);
    let json: Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(json["actions"][0]["change"], "rename");
    assert_eq!(json["actions"][0]["previous_service"], "readClient");

    // The old entry stays while the record still says the client is readClient's.
    setup.ok(&["sync-secrets"]);
    assert!(
        setup.stored("readClient").await.is_some(),
        "sync-secrets deleted the credentials of a client that still exists"
    );

    setup.ok(&["apply", "--auto-approve"]);
    assert_eq!(
        setup.client_id("readClient").await,
        id,
        "the client is kept"
    );
    let stored = setup
        .stored("reader")
        .await
        .expect("stored at the new path");
    assert_eq!(stored["client_id"], id.as_str());
    let (status, _) = local_aws().token(
        &setup.pool,
        stored["client_id"].as_str().expect("client_id"),
        stored["client_secret"].as_str().expect("client_secret"),
        &[],
    );
    assert_eq!(status, 200);
    assert!(
        setup.stored("readClient").await.is_none(),
        "the old path is pruned"
    );
    let again = setup.cogwire(&["plan", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}", again.all());
}

/// `previous = "readClient"`: the renamed service's client gets its new default name and keeps
/// its id.
#[tokio::test]
async fn previous_keeps_the_renamed_services_client() {
    let setup = setup(READ_CLIENT).await;
    setup.ok(&["apply", "--auto-approve"]);
    let id = setup.client_id("readClient").await;
    setup.workdir.write(&READ_CLIENT.replace(
        "[services.readClient]\nconsumes = [\"customers/read\"]\nclient = { name = \"readClient\" }",
        "[services.reader]\nprevious = \"readClient\"\nconsumes = [\"customers/read\"]",
    ));
    let plan = setup.cogwire(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(
        plan.stdout.contains("service readClient is now reader"),
        "{}",
        plan.stdout
    );
    assert!(!plan.stdout.contains("replaces"), "{}", plan.stdout);
    setup.ok(&["apply", "--auto-approve"]);
    assert_eq!(setup.client_id("reader-app-client").await, id);
    assert_eq!(setup.clients().await.len(), 1);
    assert_eq!(
        setup.stored("reader").await.expect("stored")["client_id"],
        id.as_str()
    );
    assert_eq!(setup.cogwire(&["plan", "--detailed-exitcode"]).code, 0);
}

/// A rename that does not keep the client says it replaces it, for people and in JSON.
#[tokio::test]
async fn a_rename_that_is_not_a_keep_says_it_replaces_the_client() {
    let setup = setup(READ_CLIENT).await;
    setup.ok(&["apply", "--auto-approve"]);
    let id = setup.client_id("readClient").await;
    setup.workdir.write(&READ_CLIENT.replace(
        "[services.readClient]\nconsumes = [\"customers/read\"]\nclient = { name = \"readClient\" }",
        "[services.reader]\nconsumes = [\"customers/read\"]",
    ));
    let plan = setup.cogwire(&["plan"]);
    assert!(
        plan.stdout.contains(&format!(
            "this replaces client readClient ({id}) of service readClient (new client id; every caller's credentials change)"
        )),
        "{}",
        plan.stdout
    );
    let json = setup.ok(&["--json", "plan"]);
    let json: Value = serde_json::from_str(&json.stdout).expect("JSON");
    let create = json["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .find(|action| action["change"] == "create")
        .expect("a create");
    assert_eq!(create["replaces"]["id"], id.as_str());
}

/// Another team's resource server and client, declared here with other scopes: adopting and
/// changing them takes `--adopt`; without it apply refuses before any write.
#[tokio::test]
async fn adopting_and_changing_another_teams_resources_needs_adopt() {
    let setup = setup(
        r#"
[services.other-team-api]
scopes = { "mine" = "Mine" }

[services.consumer]
consumes = ["other-team-api/mine"]
client = { name = "someone-else" }
"#,
    )
    .await;
    setup
        .account
        .new_resource_server(&setup.pool, "other-team-api", &["theirs", "mine"])
        .await;
    let (their_id, _) = setup
        .account
        .new_client(
            &setup.pool,
            "someone-else",
            &["other-team-api/theirs", "other-team-api/mine"],
        )
        .await;

    let plan = setup.cogwire(&["plan"]);
    assert!(
        plan.stdout.contains("Resources whose owner changes"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains(&format!("  client someone-else ({their_id})\n")),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("  resource server other-team-api\n"),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("--adopt"), "{}", plan.stdout);

    let refused = setup.cogwire(&["apply", "--auto-approve"]);
    assert_eq!(refused.code, 1, "{}", refused.all());
    assert!(
        refused.stderr.contains("resource server other-team-api")
            && refused.stderr.contains(&their_id)
            && refused.stderr.contains("--adopt")
            && refused.stderr.contains("cogwire import"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        setup.scopes_of("other-team-api").await,
        vec!["mine", "theirs"],
        "the refused apply wrote nothing"
    );
    assert_eq!(
        setup.clients().await[0].2,
        vec!["other-team-api/mine", "other-team-api/theirs"]
    );

    setup.ok(&["apply", "--auto-approve", "--adopt"]);
    assert_eq!(setup.scopes_of("other-team-api").await, vec!["mine"]);
    assert_eq!(setup.client_id("someone-else").await, their_id);
    assert_eq!(setup.cogwire(&["plan", "--detailed-exitcode"]).code, 0);
}

/// Removing a scope an unmanaged client holds: the plan names it among the callers that lose
/// access, and apply needs `--allow-destroy`.
#[tokio::test]
async fn removing_a_scope_an_unmanaged_client_holds_names_it_and_needs_allow_destroy() {
    let setup = setup(READ_CLIENT).await;
    setup.ok(&["apply", "--auto-approve"]);
    let (legacy_id, _) = setup
        .account
        .new_client(&setup.pool, "legacy-tool", &["customers/write"])
        .await;
    setup.workdir.write(&READ_CLIENT.replace(
        "scopes = { \"read\" = \"Read\", \"write\" = \"Write\" }",
        "scopes = { \"read\" = \"Read\" }",
    ));
    let plan = setup.cogwire(&["plan"]);
    assert!(
        plan.stdout.contains(&format!(
            "legacy-tool (unmanaged client {legacy_id}) loses customers/write"
        )),
        "{}",
        plan.stdout
    );
    let json = setup.ok(&["--json", "plan"]);
    let json: Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(json["lost_access"][0]["caller"], "legacy-tool");
    assert_eq!(json["lost_access"][0]["managed"], false);

    let refused = setup.cogwire(&["apply", "--auto-approve"]);
    assert_eq!(refused.code, 1, "{}", refused.all());
    assert!(
        refused.stderr.contains(&legacy_id) && refused.stderr.contains("--allow-destroy"),
        "{}",
        refused.stderr
    );
    assert_eq!(setup.scopes_of("customers").await, vec!["read", "write"]);

    setup.ok(&["apply", "--auto-approve", "--allow-destroy"]);
    assert_eq!(setup.scopes_of("customers").await, vec!["read"]);
}

/// Only a plan that removes a scope describes clients cogwire neither manages nor declares.
#[tokio::test]
async fn unmanaged_clients_are_described_only_when_a_scope_is_removed() {
    let setup = setup(READ_CLIENT).await;
    setup.ok(&["apply", "--auto-approve"]);
    setup
        .account
        .new_client(&setup.pool, "legacy-tool", &["customers/write"])
        .await;
    let describes = || {
        setup.account.calls_to("DescribeUserPoolClient")["calls"]
            .as_u64()
            .unwrap_or(0)
    };
    setup.account.reset_calls();
    setup.ok(&["plan"]);
    assert_eq!(describes(), 1, "only the managed client is described");
    setup.workdir.write(&READ_CLIENT.replace(
        "scopes = { \"read\" = \"Read\", \"write\" = \"Write\" }",
        "scopes = { \"read\" = \"Read\" }",
    ));
    setup.account.reset_calls();
    let plan = setup.ok(&["plan"]);
    assert_eq!(
        describes(),
        2,
        "the unmanaged client is described too: {} {}",
        plan.all(),
        setup.account.calls()
    );
}
