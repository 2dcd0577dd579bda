//! An example resource server behind Cognito's client-credentials flow. Every protected route
//! checks the caller's access token before it reads anything else:
//!
//! - the RS256 signature, against the pool's JWKS (cached, fetched again on an unknown `kid`);
//! - `iss` is the pool's issuer, `exp` is in the future, `token_use` is `access`;
//! - `scope` holds the route's scope, `<resource server>/<scope>`.
//!
//! No or a bad token: 401. A good token without the scope: 403.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::RwLock;

pub const READ_ROUTE: &str = "/api/demo/protectedRole/{name}";
pub const UPLOAD_ROUTE: &str = "/api/demo/protectedUpload";
pub const READ_SCOPE: &str = "demo.read";
pub const WRITE_SCOPE: &str = "demo.write";

/// What the service needs to know of the pool, from the environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// `https://cognito-idp.<region>.amazonaws.com/<pool-id>`, the `iss` of the pool's tokens.
    pub issuer: String,
    pub jwks_uri: String,
    /// The resource server's identifier, the prefix of every scope, e.g.
    /// `https://gateway.example.com`.
    pub resource_server: String,
    /// Paths whose scope check is skipped (the token is still checked): a deliberately broken
    /// service, for showing that `cogwire verify` catches it. Never set it anywhere else.
    pub insecure_skip_scope_for: Vec<String>,
}

pub const DEFAULT_RESOURCE_SERVER: &str = "https://gateway.example.com";

impl Config {
    /// `COGNITO_ISSUER` (or `COGWIRE_ISSUER`, as `cogwire env` prints it), `JWKS_URI` (or
    /// `COGWIRE_JWKS_URI`; default `<issuer>/.well-known/jwks.json`), `RESOURCE_SERVER` (or
    /// `REQUIRED_SCOPE_PREFIX`; default `https://gateway.example.com`), and
    /// `INSECURE_SKIP_SCOPE_FOR` (comma-separated paths).
    pub fn from_env() -> Result<Self, String> {
        let read = |names: &[&str]| {
            names
                .iter()
                .find_map(|name| std::env::var(name).ok().filter(|value| !value.is_empty()))
        };
        let issuer = read(&["COGNITO_ISSUER", "COGWIRE_ISSUER"])
            .ok_or("set COGNITO_ISSUER to https://cognito-idp.<region>.amazonaws.com/<pool-id> (`cogwire env <service>` prints it)")?
            .trim_end_matches('/')
            .to_owned();
        let jwks_uri = read(&["JWKS_URI", "COGWIRE_JWKS_URI"])
            .unwrap_or_else(|| format!("{issuer}/.well-known/jwks.json"));
        let resource_server = read(&["RESOURCE_SERVER", "REQUIRED_SCOPE_PREFIX"])
            .unwrap_or_else(|| DEFAULT_RESOURCE_SERVER.to_owned())
            .trim_end_matches('/')
            .to_owned();
        let insecure_skip_scope_for = read(&["INSECURE_SKIP_SCOPE_FOR"])
            .map(|paths| {
                paths
                    .split(',')
                    .map(str::trim)
                    .filter(|path| !path.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self {
            issuer,
            jwks_uri,
            resource_server,
            insecure_skip_scope_for,
        })
    }
}

/// Why a request is refused.
#[derive(Debug)]
pub enum Denied {
    /// 401: no token, or one that is not a valid access token of the pool.
    Unauthenticated(&'static str),
    /// 403: a valid token without the route's scope.
    MissingScope(String),
}

impl IntoResponse for Denied {
    fn into_response(self) -> Response {
        let (status, challenge, body) = match self {
            Denied::Unauthenticated(reason) => (
                StatusCode::UNAUTHORIZED,
                "Bearer error=\"invalid_token\"".to_owned(),
                json!({"error": "invalid_token", "error_description": reason}),
            ),
            Denied::MissingScope(scope) => (
                StatusCode::FORBIDDEN,
                format!("Bearer error=\"insufficient_scope\", scope=\"{scope}\""),
                json!({"error": "insufficient_scope", "scope": scope}),
            ),
        };
        let mut response = (status, axum::Json(body)).into_response();
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

/// The pool's signing keys by `kid`, fetched on first use and again when a token names a key
/// not seen yet (Cognito rotates keys by adding one), at most once per `REFETCH_AFTER`.
struct KeyCache {
    keys: HashMap<String, DecodingKey>,
    fetched_at: Option<Instant>,
}

/// The least time between two JWKS fetches, so that tokens naming made-up keys cannot make the
/// service hammer the pool's JWKS endpoint.
const REFETCH_AFTER: Duration = Duration::from_secs(10);

pub struct Verifier {
    config: Config,
    refetch_after: Duration,
    http: reqwest::Client,
    cache: RwLock<KeyCache>,
    fetches: std::sync::atomic::AtomicUsize,
}

#[derive(Debug, Deserialize)]
struct Claims {
    token_use: Option<String>,
    #[serde(default)]
    scope: String,
}

impl Verifier {
    pub fn new(config: Config) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        Self {
            config,
            refetch_after: REFETCH_AFTER,
            http,
            cache: RwLock::new(KeyCache {
                keys: HashMap::new(),
                fetched_at: None,
            }),
            fetches: 0.into(),
        }
    }

    /// Sets the least time between two JWKS fetches (default 10 s).
    pub fn with_refetch_after(mut self, interval: Duration) -> Self {
        self.refetch_after = interval;
        self
    }

    /// How many times the JWKS was fetched: the cache at work.
    pub fn jwks_fetches(&self) -> usize {
        self.fetches.load(std::sync::atomic::Ordering::Relaxed)
    }

    async fn key(&self, kid: &str) -> Option<DecodingKey> {
        {
            let cache = self.cache.read().await;
            if let Some(key) = cache.keys.get(kid) {
                return Some(key.clone());
            }
            if cache
                .fetched_at
                .is_some_and(|at| at.elapsed() < self.refetch_after)
            {
                return None;
            }
        }
        let mut cache = self.cache.write().await;
        // Another request may have fetched while this one waited for the lock.
        if let Some(key) = cache.keys.get(kid) {
            return Some(key.clone());
        }
        if cache
            .fetched_at
            .is_some_and(|at| at.elapsed() < self.refetch_after)
        {
            return None;
        }
        cache.fetched_at = Some(Instant::now());
        self.fetches
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match self.fetch_keys().await {
            Ok(keys) => cache.keys = keys,
            Err(error) => eprintln!(
                "cannot fetch the JWKS from {}: {error}",
                self.config.jwks_uri
            ),
        }
        cache.keys.get(kid).cloned()
    }

    async fn fetch_keys(&self) -> Result<HashMap<String, DecodingKey>, String> {
        let set: JwkSet = self
            .http
            .get(&self.config.jwks_uri)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|error| error.to_string())?
            .json()
            .await
            .map_err(|error| error.to_string())?;
        Ok(set
            .keys
            .iter()
            .filter_map(|jwk| {
                let kid = jwk.common.key_id.clone()?;
                DecodingKey::from_jwk(jwk).ok().map(|key| (kid, key))
            })
            .collect())
    }

    /// Checks the bearer token of a request against the scope `<resource server>/<scope>`.
    pub async fn authorize(
        &self,
        headers: &HeaderMap,
        path: &str,
        scope: &str,
    ) -> Result<(), Denied> {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| {
                value
                    .strip_prefix("Bearer ")
                    .or_else(|| value.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or(Denied::Unauthenticated("no bearer token"))?;
        let header =
            jsonwebtoken::decode_header(token).map_err(|_| Denied::Unauthenticated("not a JWT"))?;
        if header.alg != Algorithm::RS256 {
            return Err(Denied::Unauthenticated("not signed with RS256"));
        }
        let kid = header
            .kid
            .ok_or(Denied::Unauthenticated("the token names no key"))?;
        let key = self.key(&kid).await.ok_or(Denied::Unauthenticated(
            "signed by a key the pool does not publish",
        ))?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_required_spec_claims(&["exp", "iss"]);
        // Cognito access tokens carry `client_id`, not `aud`.
        validation.validate_aud = false;
        validation.leeway = 0;
        let claims = jsonwebtoken::decode::<Claims>(token, &key, &validation)
            .map_err(|error| {
                use jsonwebtoken::errors::ErrorKind;
                Denied::Unauthenticated(match error.kind() {
                    ErrorKind::ExpiredSignature => "the token has expired",
                    ErrorKind::InvalidIssuer => "the token is from another issuer",
                    ErrorKind::InvalidSignature => "the signature does not verify",
                    _ => "the token is not valid",
                })
            })?
            .claims;
        if claims.token_use.as_deref() != Some("access") {
            return Err(Denied::Unauthenticated("not an access token"));
        }
        let wanted = format!("{}/{scope}", self.config.resource_server);
        let granted = claims.scope.split_whitespace().any(|held| held == wanted);
        let skipped = self
            .config
            .insecure_skip_scope_for
            .iter()
            .any(|skipped| skipped == path);
        if granted || skipped {
            Ok(())
        } else {
            Err(Denied::MissingScope(wanted))
        }
    }
}

/// The service's routes, sharing one verifier (and so one key cache).
pub fn app(verifier: Arc<Verifier>) -> Router {
    Router::new()
        .route("/health", get(|| async { axum::Json(json!({"ok": true})) }))
        .route(READ_ROUTE, get(protected_role))
        .route(UPLOAD_ROUTE, post(protected_upload))
        .with_state(verifier)
}

async fn protected_role(
    State(verifier): State<Arc<Verifier>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Denied> {
    let path = format!("/api/demo/protectedRole/{name}");
    verifier.authorize(&headers, &path, READ_SCOPE).await?;
    Ok(axum::Json(json!({"protectedAPI": "true", "paramName": name})).into_response())
}

async fn protected_upload(
    State(verifier): State<Arc<Verifier>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Denied> {
    verifier
        .authorize(&headers, UPLOAD_ROUTE, WRITE_SCOPE)
        .await?;
    Ok(match serde_json::from_slice::<Value>(&body) {
        Ok(received) => axum::Json(received).into_response(),
        Err(_) => (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "the body is not JSON"})),
        )
            .into_response(),
    })
}
