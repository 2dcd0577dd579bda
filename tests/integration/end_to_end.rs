//! From services.toml to a running service: `token`, `env` and `verify` through the binary against
//! the local AWS, with the example service (`examples/gateway-service`) as the resource server.
//! The example is its own crate; it is built once here, into its own target folder (a no-op when
//! `scripts/test` has just tested it).

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

use crate::support::{Output, TestAccount, Workdir, local_aws};

const GATEWAY: &str = "https://gateway.example.com";

pub(crate) fn services(endpoint: &str) -> String {
    format!(
        r#"
[pool]
token_url = "{endpoint}/oauth2/token"

[services.gateway]
identifier = "{GATEWAY}"
name = "Gateway"
scopes = {{ "demo.read" = "Read the demo", "demo.write" = "Upload to the demo" }}

[[services.gateway.routes]]
method = "GET"
path = "/api/demo/protectedRole/alice"
scope = "demo.read"

[[services.gateway.routes]]
method = "POST"
path = "/api/demo/protectedUpload"
scope = "demo.write"
body = {{ file = "report.csv", rows = 3 }}

[services.gateway-reader]
consumes = ["gateway/demo.read"]

[services.gateway-writer]
consumes = ["gateway/demo.write"]
"#
    )
}

struct Setup {
    account: TestAccount,
    pool: String,
    workdir: Workdir,
    env: Vec<(String, String)>,
}

impl Setup {
    fn cogwire(&self, args: &[&str]) -> Output {
        self.workdir.run(args, &self.env)
    }

    fn token_calls(&self) -> u64 {
        self.account.calls_to("OAuth2Token")["calls"]
            .as_u64()
            .unwrap_or(0)
    }

    fn issuer(&self) -> String {
        format!("https://cognito-idp.us-east-1.amazonaws.com/{}", self.pool)
    }

    fn local_jwks(&self) -> String {
        format!(
            "{}/{}/.well-known/jwks.json",
            self.account.local_aws().endpoint(),
            self.pool
        )
    }
}

/// A pool with the gateway's resource server and two callers, applied; tokens cached in the
/// scratch folder.
async fn setup() -> Setup {
    let account = local_aws().account();
    let pool = account.new_pool("end-to-end").await;
    let workdir = Workdir::new(&services(account.local_aws().endpoint()));
    let mut env = account.env();
    env.push(("COGWIRE_USER_POOL_ID".to_owned(), pool.clone()));
    env.push((
        "COGWIRE_CACHE_DIR".to_owned(),
        workdir.path().join("cache").display().to_string(),
    ));
    let setup = Setup {
        account,
        pool,
        workdir,
        env,
    };
    let apply = setup.cogwire(&["apply", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}", apply.all());
    setup
}

fn assert_no_token_in(text: &str, token: &str) {
    assert!(
        !text.contains(token) && !text.contains(&token[..token.len().min(40)]),
        "the token leaked: {text}"
    );
}

#[tokio::test]
async fn token_prints_a_cached_access_token() {
    let setup = setup().await;
    let first = setup.cogwire(&["token", "gateway-reader", "--from-cognito"]);
    assert_eq!(first.code, 0, "{}", first.all());
    let token = first.stdout.trim_end().to_owned();
    assert_eq!(first.stdout, format!("{token}\n"), "bare, one line");
    assert_eq!(token.split('.').count(), 3, "a JWT: {token}");
    assert_no_token_in(&first.stderr, &token);
    assert_eq!(setup.token_calls(), 1);

    // Cached: the same token, no call to the token endpoint.
    let second = setup.cogwire(&["token", "gateway-reader", "--from-cognito"]);
    assert_eq!(second.code, 0, "{}", second.all());
    assert_eq!(second.stdout.trim_end(), token);
    assert_eq!(setup.token_calls(), 1, "the cached token is reused");

    let cache = setup.workdir.path().join("cache");
    let files: Vec<PathBuf> = std::fs::read_dir(&cache)
        .expect("cache folder")
        .map(|entry| entry.expect("entry").path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&files[0])
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // --no-cache asks again; --json tells the scope granted and the time left.
    let fresh = setup.cogwire(&["token", "gateway-reader", "--from-cognito", "--no-cache"]);
    assert_eq!(fresh.code, 0, "{}", fresh.all());
    assert_eq!(setup.token_calls(), 2);
    let json = setup.cogwire(&[
        "token",
        "gateway-writer",
        "--from-cognito",
        "--json",
        "--scope",
        "gateway/demo.write",
    ]);
    assert_eq!(json.code, 0, "{}", json.all());
    let reply: Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(reply["token_type"], "Bearer");
    assert_eq!(reply["scope"], format!("{GATEWAY}/demo.write"));
    let expires_in = reply["expires_in"].as_u64().expect("expires_in");
    assert!((3000..=3600).contains(&expires_in), "{expires_in}");
    assert!(
        reply["access_token"]
            .as_str()
            .is_some_and(|token| token.starts_with("eyJ"))
    );
    assert_eq!(setup.token_calls(), 3);
}

#[tokio::test]
async fn token_errors_say_what_to_do_without_the_secret() {
    let setup = setup().await;
    let not_consumer = setup.cogwire(&["token", "gateway", "--from-cognito"]);
    assert_eq!(not_consumer.code, 1);
    assert!(
        not_consumer.stderr.contains("has no app client"),
        "{}",
        not_consumer.stderr
    );

    let typo = setup.cogwire(&["token", "gateway-reades", "--from-cognito"]);
    assert_eq!(typo.code, 1);
    assert!(
        typo.stderr.contains("did you mean `gateway-reader`?"),
        "{}",
        typo.stderr
    );

    let not_granted = setup.cogwire(&[
        "token",
        "gateway-reader",
        "--from-cognito",
        "--scope",
        "gateway/demo.write",
    ]);
    assert_eq!(not_granted.code, 1);
    assert!(
        not_granted.stderr.contains("invalid_scope"),
        "{}",
        not_granted.stderr
    );
    assert!(not_granted.stdout.is_empty());

    // The store lost the credentials (apply stores them): the hint says how to get them back.
    setup
        .account
        .ssm()
        .await
        .delete_parameter()
        .name("/cogwire/gateway-reader")
        .send()
        .await
        .expect("DeleteParameter");
    let unsynced = setup.cogwire(&["token", "gateway-reader"]);
    assert_eq!(unsynced.code, 1);
    assert!(
        unsynced.stderr.contains("sync-secrets"),
        "{}",
        unsynced.stderr
    );

    setup
        .workdir
        .write(&services(setup.account.local_aws().endpoint()).replace(
            &format!(
                "token_url = \"{}/oauth2/token\"",
                setup.account.local_aws().endpoint()
            ),
            "",
        ));
    let nowhere = setup.cogwire(&["token", "gateway-reader", "--from-cognito"]);
    assert_eq!(nowhere.code, 1);
    assert!(
        nowhere.stderr.contains("[pool] domain"),
        "{}",
        nowhere.stderr
    );
}

#[tokio::test]
async fn token_reads_the_secrets_store_as_services_do() {
    let setup = setup().await;
    let sync = setup.cogwire(&["sync-secrets"]);
    assert_eq!(sync.code, 0, "{}", sync.all());
    let token = setup.cogwire(&["token", "gateway-writer", "--json"]);
    assert_eq!(token.code, 0, "{}", token.all());
    let reply: Value = serde_json::from_str(&token.stdout).expect("JSON");
    assert_eq!(reply["scope"], format!("{GATEWAY}/demo.write"));
}

#[tokio::test]
async fn env_tells_a_service_its_issuer_keys_and_scopes() {
    let setup = setup().await;
    let json = setup.cogwire(&["env", "gateway-reader", "--format", "json"]);
    assert_eq!(json.code, 0, "{}", json.all());
    let described: Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(described["issuer"], setup.issuer());
    assert_eq!(
        described["jwks_uri"],
        format!("{}/.well-known/jwks.json", setup.issuer())
    );
    assert_eq!(
        described["token_url"],
        format!("{}/oauth2/token", setup.account.local_aws().endpoint())
    );
    assert!(
        described["client_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty())
    );
    assert_eq!(
        described["consumes"],
        serde_json::json!([format!("{GATEWAY}/demo.read")])
    );

    let env = setup.cogwire(&["env", "gateway"]);
    assert_eq!(env.code, 0, "{}", env.all());
    let lines: Vec<&str> = env.stdout.lines().collect();
    assert!(
        lines.contains(&format!("COGWIRE_ISSUER={}", setup.issuer()).as_str()),
        "{}",
        env.stdout
    );
    assert!(lines.contains(&format!("COGWIRE_RESOURCE_SERVER={GATEWAY}").as_str()));
    assert!(
        lines.contains(
            &format!("COGWIRE_SCOPES='{GATEWAY}/demo.read {GATEWAY}/demo.write'").as_str()
        ),
        "{}",
        env.stdout
    );
    assert!(
        !env.stdout.contains("COGWIRE_CLIENT_ID"),
        "the gateway has no client"
    );
}

/// The example service, built once per test run in the workspace's target folder, where its
/// dependencies shared with cogwire are built already.
fn gateway_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target"));
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let status = Command::new(cargo)
            .args([
                "build",
                "--quiet",
                "-p",
                "gateway-service",
                "--manifest-path",
            ])
            .arg(root.join("Cargo.toml"))
            .status()
            .expect("cargo runs");
        assert!(status.success(), "the example service builds");
        target.join("debug").join("gateway-service")
    })
}

/// The example service as a child process, stopped when dropped.
struct Gateway {
    child: Child,
    base_url: String,
}

impl Gateway {
    fn start(env: &[(&str, String)]) -> Self {
        let mut command = Command::new(gateway_binary());
        command
            .env("LISTEN", "127.0.0.1:0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("the example service starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("its first line");
        let base_url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {line}"))
            .to_owned();
        Self { child, base_url }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The service configured from `cogwire env`, with the local AWS's JWKS address.
fn gateway_env(setup: &Setup) -> Vec<(&'static str, String)> {
    let mut env = setup.env.clone();
    env.push(("COGWIRE_JWKS_URI".to_owned(), setup.local_jwks()));
    let described = setup.workdir.run(&["env", "gateway", "--json"], &env);
    assert_eq!(described.code, 0, "{}", described.all());
    let described: Value = serde_json::from_str(&described.stdout).expect("JSON");
    assert_eq!(described["jwks_uri"], setup.local_jwks());
    vec![
        (
            "COGWIRE_ISSUER",
            described["issuer"].as_str().expect("issuer").to_owned(),
        ),
        (
            "COGWIRE_JWKS_URI",
            described["jwks_uri"].as_str().expect("jwks").to_owned(),
        ),
        (
            "RESOURCE_SERVER",
            described["resource_server"]
                .as_str()
                .expect("identifier")
                .to_owned(),
        ),
    ]
}

#[tokio::test]
async fn verify_passes_against_the_example_service() {
    let setup = setup().await;
    let gateway = Gateway::start(&gateway_env(&setup));
    let verify = setup.cogwire(&["verify", "--base-url", &gateway.base_url, "--from-cognito"]);
    assert_eq!(verify.code, 0, "{}", verify.all());
    assert!(
        verify
            .stdout
            .contains("6 ok, 0 failed, 0 skipped of 6 checks"),
        "{}",
        verify.stdout
    );

    let json = setup.cogwire(&[
        "verify",
        "--base-url",
        &gateway.base_url,
        "--from-cognito",
        "--json",
    ]);
    assert_eq!(json.code, 0, "{}", json.all());
    let report: Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(report["passed"], true);
    let rows: Vec<(String, String, String, u64)> = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|check| {
            (
                check["path"].as_str().unwrap_or_default().to_owned(),
                check["kind"].as_str().unwrap_or_default().to_owned(),
                check["client"]["service"]
                    .as_str()
                    .unwrap_or("-")
                    .to_owned(),
                check["status"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    let read = "/api/demo/protectedRole/alice";
    let upload = "/api/demo/protectedUpload";
    let row = |path: &str, kind: &str, client: &str, status| {
        (path.to_owned(), kind.to_owned(), client.to_owned(), status)
    };
    assert_eq!(
        rows,
        vec![
            row(read, "no_token", "-", 401),
            row(read, "lacks_scope", "gateway-writer", 403),
            row(read, "has_scope", "gateway-reader", 200),
            row(upload, "no_token", "-", 401),
            row(upload, "lacks_scope", "gateway-reader", 403),
            row(upload, "has_scope", "gateway-writer", 200),
        ]
    );
    assert_no_token_in(&json.all(), "eyJ");
}

#[tokio::test]
async fn verify_catches_a_route_that_skips_its_scope_check() {
    let setup = setup().await;
    let mut env = gateway_env(&setup);
    env.push((
        "INSECURE_SKIP_SCOPE_FOR",
        "/api/demo/protectedUpload".to_owned(),
    ));
    let gateway = Gateway::start(&env);
    let verify = setup.cogwire(&["verify", "--base-url", &gateway.base_url, "--from-cognito"]);
    assert_eq!(verify.code, 1, "{}", verify.all());
    let failing: Vec<&str> = verify
        .stdout
        .lines()
        .filter(|line| line.contains("FAIL"))
        .collect();
    assert_eq!(failing.len(), 1, "{}", verify.stdout);
    assert!(
        failing[0].contains("/api/demo/protectedUpload"),
        "{}",
        failing[0]
    );
    assert!(failing[0].contains("without scope"), "{}", failing[0]);
    assert!(
        failing[0].contains("served a token that lacks the scope"),
        "{}",
        failing[0]
    );
    assert!(
        verify.stdout.contains("5 ok, 1 failed"),
        "{}",
        verify.stdout
    );
}
