//! The service in-process, against a JWKS served by the test itself. The keys under `tests/keys/`
//! are test keys made for this file and nothing else: `pool` plays the user pool's signing key,
//! `other` another pool's (or a forger's).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::routing::get;
use gateway_service::{Config, Verifier, app};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use tokio::sync::RwLock;

const ISSUER: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Test";
const OTHER_ISSUER: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other";
const READ: &str = "https://gateway.example.com/demo.read";
const WRITE: &str = "https://gateway.example.com/demo.write";

struct Keys {
    pool: EncodingKey,
    other: EncodingKey,
}

fn keys() -> Keys {
    let load = |name: &str| {
        let path = format!("{}/tests/keys/{name}.pem", env!("CARGO_MANIFEST_DIR"));
        EncodingKey::from_rsa_pem(&std::fs::read(path).expect("test key")).expect("RSA key")
    };
    Keys {
        pool: load("pool"),
        other: load("other"),
    }
}

fn jwks(name: &str) -> Value {
    let path = format!("{}/tests/keys/{name}.jwks.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_slice(&std::fs::read(path).expect("test JWKS")).expect("JSON")
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

fn sign(key: &EncodingKey, kid: &str, claims: Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, &claims, key).expect("signs")
}

fn access_claims(scope: &str) -> Value {
    json!({
        "sub": "client-1", "client_id": "client-1", "token_use": "access", "scope": scope,
        "iss": ISSUER, "iat": now(), "exp": now() + 3600, "jti": "x", "version": 2,
    })
}

struct Running {
    base: String,
    jwks: Arc<RwLock<Value>>,
    jwks_requests: Arc<AtomicUsize>,
    verifier: Arc<Verifier>,
    http: reqwest::Client,
}

async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{address}")
}

async fn start(skip: &[&str]) -> Running {
    let jwks_value = Arc::new(RwLock::new(jwks("pool")));
    let jwks_requests = Arc::new(AtomicUsize::new(0));
    let jwks_base = serve(axum::Router::new().route(
        "/us-east-1_Test/.well-known/jwks.json",
        get({
            let jwks_value = jwks_value.clone();
            let jwks_requests = jwks_requests.clone();
            move || async move {
                jwks_requests.fetch_add(1, Ordering::SeqCst);
                axum::Json(jwks_value.read().await.clone())
            }
        }),
    ))
    .await;
    let verifier = Arc::new(
        Verifier::new(Config {
            issuer: ISSUER.to_owned(),
            jwks_uri: format!("{jwks_base}/us-east-1_Test/.well-known/jwks.json"),
            resource_server: "https://gateway.example.com".to_owned(),
            insecure_skip_scope_for: skip.iter().map(|path| path.to_string()).collect(),
        })
        .with_refetch_after(std::time::Duration::from_millis(200)),
    );
    let base = serve(app(verifier.clone())).await;
    Running {
        base,
        jwks: jwks_value,
        jwks_requests,
        verifier,
        http: reqwest::Client::new(),
    }
}

impl Running {
    async fn get(&self, token: Option<&str>) -> (u16, Value) {
        let mut request = self
            .http
            .get(format!("{}/api/demo/protectedRole/alice", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn upload(&self, token: Option<&str>, body: Value) -> (u16, Value) {
        let mut request = self
            .http
            .post(format!("{}/api/demo/protectedUpload", self.base))
            .json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

#[tokio::test]
async fn no_token_is_401_with_a_challenge() {
    let service = start(&[]).await;
    let response = service
        .http
        .get(format!("{}/api/demo/protectedRole/alice", service.base))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 401);
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .expect("ascii")
            .starts_with("Bearer")
    );
    assert_eq!(service.upload(None, json!({"a": 1})).await.0, 401);
    assert_eq!(service.get(Some("not-a-jwt")).await.0, 401);
}

#[tokio::test]
async fn the_right_scope_is_200_with_json() {
    let service = start(&[]).await;
    let token = sign(&keys().pool, "test-pool", access_claims(READ));
    let (status, body) = service.get(Some(&token)).await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"protectedAPI": "true", "paramName": "alice"}));

    let token = sign(
        &keys().pool,
        "test-pool",
        access_claims(&format!("{READ} {WRITE}")),
    );
    let sent = json!({"name": "report.csv", "size": 3, "tags": ["a", "b"]});
    let (status, body) = service.upload(Some(&token), sent.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(body, sent);
}

#[tokio::test]
async fn a_valid_token_without_the_scope_is_403() {
    let service = start(&[]).await;
    let token = sign(&keys().pool, "test-pool", access_claims(WRITE));
    let (status, body) = service.get(Some(&token)).await;
    assert_eq!(status, 403);
    assert_eq!(body["scope"], READ);
    let token = sign(&keys().pool, "test-pool", access_claims(READ));
    assert_eq!(service.upload(Some(&token), json!({})).await.0, 403);
    // A scope of another resource server with the same name is not the scope.
    let token = sign(
        &keys().pool,
        "test-pool",
        access_claims("https://other.example.com/demo.read"),
    );
    assert_eq!(service.get(Some(&token)).await.0, 403);
}

#[tokio::test]
async fn an_expired_token_is_401() {
    let service = start(&[]).await;
    let mut claims = access_claims(READ);
    claims["iat"] = json!(now() - 7200);
    claims["exp"] = json!(now() - 60);
    let (status, body) = service
        .get(Some(&sign(&keys().pool, "test-pool", claims)))
        .await;
    assert_eq!(status, 401);
    assert_eq!(body["error_description"], "the token has expired");
}

#[tokio::test]
async fn a_token_of_another_pool_is_401() {
    let service = start(&[]).await;
    let mut claims = access_claims(READ);
    claims["iss"] = json!(OTHER_ISSUER);
    // Signed by the other pool's key, which this pool does not publish.
    let (status, _) = service
        .get(Some(&sign(&keys().other, "test-other", claims.clone())))
        .await;
    assert_eq!(status, 401);
    // And with a key this pool does publish but another issuer.
    let (status, body) = service
        .get(Some(&sign(&keys().pool, "test-pool", claims)))
        .await;
    assert_eq!(status, 401);
    assert_eq!(
        body["error_description"],
        "the token is from another issuer"
    );
}

#[tokio::test]
async fn a_bad_signature_is_401() {
    let service = start(&[]).await;
    // The pool's kid, another key's signature.
    let forged = sign(&keys().other, "test-pool", access_claims(READ));
    let (status, body) = service.get(Some(&forged)).await;
    assert_eq!(status, 401);
    assert_eq!(body["error_description"], "the signature does not verify");
    // A genuine token with its payload changed.
    let genuine = sign(&keys().pool, "test-pool", access_claims(WRITE));
    let forged_payload = sign(&keys().pool, "test-pool", access_claims(READ));
    let mut parts: Vec<&str> = genuine.split('.').collect();
    parts[1] = forged_payload.split('.').nth(1).expect("payload");
    assert_eq!(service.get(Some(&parts.join("."))).await.0, 401);
}

#[tokio::test]
async fn an_id_token_is_401() {
    let service = start(&[]).await;
    let mut claims = access_claims(READ);
    claims["token_use"] = json!("id");
    let (status, body) = service
        .get(Some(&sign(&keys().pool, "test-pool", claims)))
        .await;
    assert_eq!(status, 401);
    assert_eq!(body["error_description"], "not an access token");
}

#[tokio::test]
async fn keys_are_cached_and_fetched_again_for_an_unknown_kid() {
    let service = start(&[]).await;
    let token = sign(&keys().pool, "test-pool", access_claims(READ));
    for _ in 0..3 {
        assert_eq!(service.get(Some(&token)).await.0, 200);
    }
    assert_eq!(service.jwks_requests.load(Ordering::SeqCst), 1);
    assert_eq!(service.verifier.jwks_fetches(), 1);

    // A token naming a key not seen yet makes the service fetch again, at most once per
    // refetch interval, so made-up kids cannot hammer the pool's JWKS endpoint.
    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    let unknown = sign(&keys().other, "made-up", access_claims(READ));
    assert_eq!(service.get(Some(&unknown)).await.0, 401);
    assert_eq!(service.get(Some(&unknown)).await.0, 401);
    assert_eq!(service.jwks_requests.load(Ordering::SeqCst), 2);

    // The pool rotates: a new key is published beside the old one, and is picked up.
    let mut both = jwks("pool");
    let other = jwks("other")["keys"][0].clone();
    both["keys"].as_array_mut().expect("keys").push(other);
    *service.jwks.write().await = both;
    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    let token = sign(&keys().other, "test-other", access_claims(READ));
    assert_eq!(service.get(Some(&token)).await.0, 200);
    assert_eq!(service.get(Some(&token)).await.0, 200);
    assert_eq!(service.jwks_requests.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn the_insecure_flag_skips_only_the_scope_check_of_its_path() {
    let service = start(&["/api/demo/protectedUpload"]).await;
    let read_only = sign(&keys().pool, "test-pool", access_claims(READ));
    assert_eq!(service.upload(Some(&read_only), json!({})).await.0, 200);
    assert_eq!(service.upload(None, json!({})).await.0, 401);
    let write_only = sign(&keys().pool, "test-pool", access_claims(WRITE));
    assert_eq!(service.get(Some(&write_only)).await.0, 403);
}
