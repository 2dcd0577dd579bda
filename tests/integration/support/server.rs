//! The local AWS server: started once per test binary, stopped when the binary exits (the server
//! watches its standard input, which only this process holds).

use std::fs::{self, File};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use serde_json::{Value, json};

use super::account::TestAccount;
use super::http::{self, base64, form_encode};

pub struct LocalAws {
    endpoint: String,
    address: String,
    next_account: AtomicU32,
    /// Kept for the life of the binary: closing stdin stops the server.
    _process: Mutex<(Child, ChildStdin, BufReader<ChildStdout>)>,
}

static LOCAL_AWS: OnceLock<LocalAws> = OnceLock::new();

/// The server of this test binary, started on first use (the first start may install the
/// virtualenv, which takes about half a minute).
pub fn local_aws() -> &'static LocalAws {
    LOCAL_AWS.get_or_init(LocalAws::start)
}

impl LocalAws {
    fn start() -> Self {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        let log_dir = repo.join(".localaws");
        fs::create_dir_all(&log_dir).expect("create .localaws/ for the server log");
        let log_path = log_dir.join(format!("server-{}.log", std::process::id()));
        let log = File::create(&log_path).expect("create the localaws server log");
        let started = Instant::now();
        let mut child = Command::new(repo.join("scripts/localaws"))
            .args(["--port", "0", "--exit-on-stdin-eof"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|error| panic!("cannot run scripts/localaws: {error}"));
        let stdin = child.stdin.take().expect("piped stdin");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut line = String::new();
        let read = stdout.read_line(&mut line);
        let endpoint = match line.trim().strip_prefix("localaws listening on ") {
            Some(endpoint) if read.is_ok() => endpoint.to_owned(),
            _ => panic!(
                "scripts/localaws did not announce its URL (read {read:?}, first line {line:?}); \
                 its stderr ({}):\n{}",
                log_path.display(),
                fs::read_to_string(&log_path).unwrap_or_default()
            ),
        };
        eprintln!("localaws: {endpoint} ready after {:?}", started.elapsed());
        let address = endpoint.trim_start_matches("http://").to_owned();
        LocalAws {
            endpoint,
            address,
            next_account: AtomicU32::new(1),
            _process: Mutex::new((child, stdin, stdout)),
        }
    }

    /// `http://127.0.0.1:PORT`
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// A fresh AWS account: nothing made through it is visible to other accounts.
    pub fn account(&'static self) -> TestAccount {
        let counter = self.next_account.fetch_add(1, Ordering::Relaxed);
        assert!(counter < 1_000_000, "too many test accounts");
        let id = format!("{:06}{counter:06}", std::process::id() % 1_000_000);
        TestAccount::new(self, id)
    }

    /// Sends a raw request to the server.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> http::Response {
        http::request(&self.address, method, path, headers, body)
    }

    fn control(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let body = body.map(Value::to_string).unwrap_or_default();
        let response = self.request(method, path, &[("Content-Type", "application/json")], &body);
        assert_eq!(
            response.status, 200,
            "localaws control {method} {path} failed: {}",
            response.body
        );
        response.json()
    }

    /// Counts of calls per operation, over all accounts, as
    /// `{"total": n, "operations": {"PutParameter": {"calls", "throttled", "injected_errors",
    /// "resets", "failed"}}}`.
    pub fn calls(&self) -> Value {
        self.control("GET", "/_localaws/calls", None)
    }

    /// The same counts for one account.
    pub fn calls_of(&self, account: &str) -> Value {
        self.control("GET", &format!("/_localaws/calls?account={account}"), None)
    }

    pub fn reset_calls(&self) {
        self.control("POST", "/_localaws/calls/reset", None);
    }

    pub fn reset_calls_of(&self, account: &str) {
        self.control(
            "POST",
            &format!("/_localaws/calls/reset?account={account}"),
            None,
        );
    }

    /// Sets the faults; see localaws/README.md for the fields. Without an `accounts` filter they
    /// hit every test: hold [`exclusive`].
    pub fn set_faults(&self, faults: Value) {
        self.control("POST", "/_localaws/faults", Some(&faults));
    }

    /// Clears the faults set for every account (not those of single accounts).
    pub fn clear_faults(&self) {
        self.control("DELETE", "/_localaws/faults?account=*", None);
    }

    /// Sets Cognito quota emulation, e.g. `{"enabled": true, "speedup": 1.0}`.
    pub fn set_quotas(&self, quotas: Value) {
        self.control("POST", "/_localaws/quotas", Some(&quotas));
    }

    /// Clears the quota settings for every account (not those of single accounts).
    pub fn clear_quotas(&self) {
        self.control("DELETE", "/_localaws/quotas?account=*", None);
    }

    pub(super) fn clear_faults_of(&self, account: &str) {
        self.control(
            "DELETE",
            &format!("/_localaws/faults?account={account}"),
            None,
        );
    }

    pub(super) fn clear_quotas_of(&self, account: &str) {
        self.control(
            "DELETE",
            &format!("/_localaws/quotas?account={account}"),
            None,
        );
    }

    /// Asks the token endpoint for a client_credentials token with HTTP Basic client auth;
    /// `scopes` empty asks for all the client's scopes. Returns the status and JSON body.
    pub fn token(
        &self,
        pool_id: &str,
        client_id: &str,
        secret: &str,
        scopes: &[&str],
    ) -> (u16, Value) {
        let mut form = "grant_type=client_credentials".to_owned();
        if !scopes.is_empty() {
            form.push_str(&format!("&scope={}", form_encode(&scopes.join(" "))));
        }
        let basic = format!(
            "Basic {}",
            base64(format!("{client_id}:{secret}").as_bytes())
        );
        self.post_form(&format!("/{pool_id}/oauth2/token"), Some(&basic), &form)
    }

    /// POSTs a form (already encoded) to `path`, with an optional Authorization header.
    pub fn post_form(&self, path: &str, authorization: Option<&str>, form: &str) -> (u16, Value) {
        let mut headers = vec![("Content-Type", "application/x-www-form-urlencoded")];
        if let Some(authorization) = authorization {
            headers.push(("Authorization", authorization));
        }
        let response = self.request("POST", path, &headers, form);
        (response.status, response.json())
    }

    /// The JSON Web Key Set moto signs the pool's tokens with.
    pub fn jwks(&self, pool_id: &str) -> Value {
        let response = self.request("GET", &format!("/{pool_id}/.well-known/jwks.json"), &[], "");
        assert_eq!(response.status, 200, "jwks: {}", response.body);
        response.json()
    }
}

/// Held by a test that changes faults or quotas for every account; clears both when dropped, so
/// that a failing test leaves none behind.
pub struct Exclusive {
    _guard: tokio::sync::MutexGuard<'static, ()>,
}

impl Drop for Exclusive {
    fn drop(&mut self) {
        let local_aws = local_aws();
        local_aws.clear_faults();
        local_aws.clear_quotas();
    }
}

/// Waits until no other test of this binary holds it.
pub async fn exclusive() -> Exclusive {
    static LOCK: OnceLock<tokio::sync::Mutex<()>> = OnceLock::new();
    let guard = LOCK
        .get_or_init(|| tokio::sync::Mutex::new(()))
        .lock()
        .await;
    Exclusive { _guard: guard }
}

/// `{"accounts": [id], ..fields}`: the same settings, for one account only.
pub(super) fn for_account(id: &str, mut settings: Value) -> Value {
    if let Some(object) = settings.as_object_mut() {
        object.insert("accounts".to_owned(), json!([id]));
    }
    settings
}
