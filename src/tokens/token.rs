//! Access tokens, as a service gets them: the pool's OAuth 2.0 endpoints, one client-credentials
//! request, and a small cache on disk so that scripts calling `cogwire token` in a loop do not
//! ask Cognito each time. A token is a bearer credential: it is a [`Secret`] here, its value is
//! written only to the cache file (mode 0600) and to stdout where a command is asked for it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::sensitive::Secret;

/// `https://cognito-idp.<region>.amazonaws.com/<pool-id>`: the `iss` of the pool's tokens.
pub fn issuer(pool_id: &str, region: &str) -> String {
    format!("https://cognito-idp.{region}.amazonaws.com/{pool_id}")
}

pub fn jwks_uri(issuer: &str) -> String {
    format!("{}/.well-known/jwks.json", issuer.trim_end_matches('/'))
}

/// The region a pool lives in is the part of its id before `_`.
pub fn region_of_pool(pool_id: &str) -> Option<&str> {
    pool_id
        .split_once('_')
        .map(|(region, _)| region)
        .filter(|region| !region.is_empty())
}

/// A client's credentials and what it asks for. `scopes` empty: every scope the client has.
pub struct TokenRequest<'a> {
    pub token_url: &'a str,
    pub client_id: &'a str,
    pub client_secret: &'a Secret,
    pub scopes: &'a BTreeSet<String>,
}

/// An access token and what the endpoint said of it.
#[derive(Debug, Clone)]
pub struct Token {
    pub access_token: Secret,
    pub token_type: String,
    /// Space-separated, as granted.
    pub scope: String,
    /// Seconds since the epoch.
    pub expires_at: u64,
}

impl Token {
    pub fn expires_in(&self, now: u64) -> u64 {
        self.expires_at.saturating_sub(now)
    }

    /// Worth handing out: more than `CACHE_MARGIN` left.
    pub fn is_fresh(&self, now: u64) -> bool {
        self.expires_at > now + CACHE_MARGIN.as_secs()
    }

    /// `{"access_token","expires_in","scope","token_type"}`, as the endpoint answers.
    pub fn to_json(&self, now: u64) -> serde_json::Value {
        serde_json::json!({
            "access_token": self.access_token.expose(),
            "expires_in": self.expires_in(now),
            "scope": self.scope,
            "token_type": self.token_type,
        })
    }
}

/// A cached token is reused until this long before it expires.
pub const CACHE_MARGIN: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The endpoint could not be reached or answered something that is not a token reply. The
    /// message never holds the request's credentials (they travel in a header).
    #[error("the token endpoint {url} could not be used: {message}")]
    Transport { url: String, message: String },
    /// The endpoint refused, with OAuth's error code (`invalid_client`, `invalid_scope`, ...).
    #[error("the token endpoint {url} answered {status}: {code}")]
    Refused {
        url: String,
        status: u16,
        code: String,
    },
}

impl TokenError {
    pub fn hint(&self) -> String {
        match self {
            Self::Transport { .. } => {
                "check `[pool] token_url` or `[pool] domain`, and that the pool has that domain"
                    .to_owned()
            }
            Self::Refused { code, .. } => match code.as_str() {
                "invalid_client" => "the client id or secret is wrong: if the secret was rotated, run `cogwire sync-secrets`, or try --from-cognito".to_owned(),
                "invalid_scope" => "ask only for scopes the client consumes (`cogwire env <service>` lists them), or run `cogwire apply`".to_owned(),
                "unauthorized_client" => "the client is not allowed the client_credentials flow: run `cogwire plan` to see why".to_owned(),
                _ => "check `[pool] token_url` or `[pool] domain`".to_owned(),
            },
        }
    }
}

#[derive(Deserialize)]
struct TokenReply {
    access_token: String,
    expires_in: Option<u64>,
    token_type: Option<String>,
    scope: Option<String>,
}

#[derive(Deserialize)]
struct ErrorReply {
    error: String,
}

/// One client-credentials request; the client authenticates with HTTP Basic, as Cognito prefers.
pub async fn fetch(
    http: &reqwest::Client,
    request: &TokenRequest<'_>,
    now: u64,
) -> Result<Token, TokenError> {
    let url = request.token_url.to_owned();
    let transport = |message: String| TokenError::Transport {
        url: url.clone(),
        message,
    };
    let mut form = vec![("grant_type", "client_credentials".to_owned())];
    if !request.scopes.is_empty() {
        let joined: Vec<&str> = request.scopes.iter().map(String::as_str).collect();
        form.push(("scope", joined.join(" ")));
    }
    tracing::info!(
        "requesting a token for client {} from {}{}",
        request.client_id,
        request.token_url,
        if request.scopes.is_empty() {
            String::new()
        } else {
            let scopes: Vec<&str> = request.scopes.iter().map(String::as_str).collect();
            format!(" with scopes {}", scopes.join(" "))
        }
    );
    let response = http
        .post(request.token_url)
        .basic_auth(request.client_id, Some(request.client_secret.expose()))
        .form(&form)
        .send()
        .await
        .map_err(|error| transport(describe(&error)))?;
    let status = response.status();
    let body = response
        .bytes()
        .await
        .map_err(|error| transport(describe(&error)))?;
    if !status.is_success() {
        let code = serde_json::from_slice::<ErrorReply>(&body)
            .map(|reply| reply.error)
            .unwrap_or_else(|_| "no OAuth error code".to_owned());
        return Err(TokenError::Refused {
            url,
            status: status.as_u16(),
            code,
        });
    }
    let reply: TokenReply = serde_json::from_slice(&body)
        .map_err(|_| transport("the reply is not an OAuth token reply".to_owned()))?;
    let scope = reply
        .scope
        .or_else(|| scope_claim(&reply.access_token))
        .unwrap_or_else(|| {
            request
                .scopes
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(" ")
        });
    Ok(Token {
        access_token: Secret::new(reply.access_token),
        token_type: reply.token_type.unwrap_or_else(|| "Bearer".to_owned()),
        scope,
        expires_at: now + reply.expires_in.unwrap_or(3600),
    })
}

/// reqwest's error, with its causes: "error sending request" alone says little.
fn describe(error: &reqwest::Error) -> String {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

/// The `scope` claim of a JWT, read without checking the signature: only to tell the user what
/// was granted when the endpoint does not say.
pub fn scope_claim(jwt: &str) -> Option<String> {
    let payload = base64url_decode(jwt.split('.').nth(1)?)?;
    let claims: serde_json::Value = serde_json::from_slice(&payload).ok()?;
    claims.get("scope")?.as_str().map(str::to_owned)
}

fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    let mut bits: u32 = 0;
    let mut count = 0;
    let mut bytes = Vec::with_capacity(text.len() * 3 / 4);
    for character in text.trim_end_matches('=').bytes() {
        let value = match character {
            b'A'..=b'Z' => character - b'A',
            b'a'..=b'z' => character - b'a' + 26,
            b'0'..=b'9' => character - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(value);
        count += 6;
        if count >= 8 {
            count -= 8;
            bytes.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    Some(bytes)
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| since.as_secs())
        .unwrap_or_default()
}

/// `COGWIRE_CACHE_DIR`, else `$XDG_CACHE_HOME/cogwire`, else `~/.cache/cogwire`.
pub fn cache_dir() -> Option<PathBuf> {
    let from = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
    from("COGWIRE_CACHE_DIR")
        .map(PathBuf::from)
        .or_else(|| from("XDG_CACHE_HOME").map(|base| PathBuf::from(base).join("cogwire")))
        .or_else(|| from("HOME").map(|home| PathBuf::from(home).join(".cache").join("cogwire")))
}

#[derive(Serialize, Deserialize)]
struct CachedToken {
    access_token: String,
    token_type: String,
    scope: String,
    expires_at: u64,
}

/// Tokens on disk, one file per token endpoint, client and scope set, readable by the user only.
pub struct TokenCache {
    dir: PathBuf,
}

impl TokenCache {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, token_url: &str, client_id: &str, scopes: &BTreeSet<String>) -> PathBuf {
        // The file name says whose token it is without holding anything secret; the hash keeps
        // scope sets apart.
        let mut key = format!("{token_url}\n{client_id}");
        for scope in scopes {
            key.push('\n');
            key.push_str(scope);
        }
        let safe_id: String = client_id
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(64)
            .collect();
        self.dir
            .join(format!("token-{safe_id}-{:016x}.json", fnv1a(&key)))
    }

    /// A cached token with more than [`CACHE_MARGIN`] left, if any.
    pub fn load(
        &self,
        token_url: &str,
        client_id: &str,
        scopes: &BTreeSet<String>,
        now: u64,
    ) -> Option<Token> {
        let text = std::fs::read(self.path(token_url, client_id, scopes)).ok()?;
        let cached: CachedToken = serde_json::from_slice(&text).ok()?;
        let token = Token {
            access_token: Secret::new(cached.access_token),
            token_type: cached.token_type,
            scope: cached.scope,
            expires_at: cached.expires_at,
        };
        token.is_fresh(now).then_some(token)
    }

    /// Writes the token to a file only the user can read, replacing any earlier one at once.
    pub fn save(
        &self,
        token_url: &str,
        client_id: &str,
        scopes: &BTreeSet<String>,
        token: &Token,
    ) -> std::io::Result<()> {
        create_private_dir(&self.dir)?;
        let path = self.path(token_url, client_id, scopes);
        let temporary = path.with_extension(format!("{}.tmp", std::process::id()));
        let cached = CachedToken {
            access_token: token.access_token.expose().to_owned(),
            token_type: token.token_type.clone(),
            scope: token.scope.clone(),
            expires_at: token.expires_at,
        };
        let text = serde_json::to_vec(&cached).map_err(std::io::Error::other)?;
        let written =
            write_private(&temporary, &text).and_then(|()| std::fs::rename(&temporary, &path));
        if written.is_err() {
            let _ = std::fs::remove_file(&temporary);
        }
        written
    }
}

fn fnv1a(text: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_of_a_pool() {
        let issuer = issuer("eu-west-1_AbC", "eu-west-1");
        assert_eq!(
            issuer,
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC"
        );
        assert_eq!(
            jwks_uri(&issuer),
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC/.well-known/jwks.json"
        );
        assert_eq!(region_of_pool("eu-west-1_AbC"), Some("eu-west-1"));
        assert_eq!(region_of_pool("nounderscore"), None);
    }

    #[test]
    fn the_scope_claim_is_read_from_the_payload() {
        // {"alg":"none"} . {"scope":"a/b c/d","n":"~~~"} . (no signature)
        let payload = "eyJzY29wZSI6ImEvYiBjL2QiLCJuIjoifn5-In0";
        let jwt = format!("eyJhbGciOiJub25lIn0.{payload}.");
        assert_eq!(scope_claim(&jwt).as_deref(), Some("a/b c/d"));
        assert_eq!(scope_claim("not a jwt"), None);
    }

    #[test]
    fn a_cached_token_is_reused_until_a_minute_before_expiry() {
        let dir = std::env::temp_dir().join(format!("cogwire-token-cache-{}", std::process::id()));
        let cache = TokenCache::new(dir.clone());
        let scopes: BTreeSet<String> = ["a/read".to_owned()].into();
        let token = Token {
            access_token: Secret::new("eyJ.token.value"),
            token_type: "Bearer".to_owned(),
            scope: "a/read".to_owned(),
            expires_at: 10_000,
        };
        cache
            .save("http://x/oauth2/token", "client1", &scopes, &token)
            .expect("saved");
        let loaded = cache
            .load("http://x/oauth2/token", "client1", &scopes, 9_000)
            .expect("fresh");
        assert_eq!(loaded.access_token.expose(), "eyJ.token.value");
        assert!(
            cache
                .load("http://x/oauth2/token", "client1", &scopes, 9_941)
                .is_none()
        );
        assert!(
            cache
                .load("http://x/oauth2/token", "client1", &BTreeSet::new(), 9_000)
                .is_none(),
            "another scope set is another token"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let file = std::fs::read_dir(&dir)
                .expect("dir")
                .next()
                .expect("one file")
                .expect("entry");
            let mode = file.metadata().expect("metadata").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}
