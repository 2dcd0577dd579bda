//! Stage one of reading services.toml: its shape. TOML syntax, types and known keys, with the span
//! of every value kept so that the next stage (`model`) can point at the exact token it rejects.
//!
//! Every table is read key by key rather than as one serde struct, so that one file reports every
//! unknown key, every wrong-typed value and every missing key at once, in TOML's words (a string,
//! an integer, a table) rather than Rust's.

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeString, DeTable, DeValue, ValueDeserializer};

use crate::config::diagnostic::Diagnostic;
use crate::config::environment::{self, RawEnvironment};

/// The largest services.toml cogwire reads; past this it is surely not a hand-written file, and
/// refusing early keeps memory bounded on hostile input.
pub const MAX_FILE_BYTES: usize = 16 * 1024 * 1024;

/// At most this many syntax errors are shown: past the first few, a parser's recovery mostly
/// reports the consequences of the first.
const MAX_SYNTAX_ERRORS: usize = 20;

#[derive(Debug, Default, Clone)]
pub struct RawConfig {
    pub pool: RawPool,
    pub secrets: RawSecrets,
    pub defaults: RawDefaults,
    pub export: RawExport,
    pub services: Vec<(Spanned<String>, RawService)>,
    /// Services whose scopes could not be read (the service or its `scopes` had the wrong shape):
    /// known to exist, so references to them are not reported as unknown on top of the shape
    /// problem.
    pub unparsed_services: Vec<String>,
    /// `[environments.<name>]`: what each environment overrides (see `environment`).
    pub environments: Vec<(Spanned<String>, RawEnvironment)>,
    /// The environment this view was merged for (`environment::pick`), if any.
    pub environment: Option<String>,
    /// Services the file declares that this view leaves out, with the environments they exist
    /// in (`environment::pick`), so that a command naming one says where it is.
    pub elsewhere: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Default, Clone)]
pub struct RawPool {
    pub id: Option<Spanned<String>>,
    pub region: Option<Spanned<String>>,
    pub domain: Option<Spanned<String>>,
    pub token_url: Option<Spanned<String>>,
    pub max_resource_servers: Option<Spanned<i64>>,
    pub max_clients: Option<Spanned<i64>>,
}

#[derive(Debug, Default, Clone)]
pub struct RawSecrets {
    pub store: Option<Spanned<String>>,
    pub path: Option<Spanned<String>>,
    pub kms_key_id: Option<Spanned<String>>,
    pub layout: Option<Spanned<String>>,
    /// `fields = { client_id = "clientId", ... }`: the key names the JSON entry uses.
    pub fields: Option<StringTable>,
}

/// A table of strings, key by key, with their spans.
pub type StringTable = Spanned<Vec<(Spanned<String>, Spanned<String>)>>;

/// `[export]`: how `cogwire export` writes runtime files, and how long consumers take to re-read.
#[derive(Debug, Default, Clone)]
pub struct RawExport {
    pub namespace: Option<Spanned<String>>,
    pub secret_store: Option<Spanned<String>>,
    pub cluster_secret_store: Option<Spanned<bool>>,
    pub refresh: Option<Spanned<String>>,
}

#[derive(Debug, Default, Clone)]
pub struct RawDefaults {
    pub access_token_validity: Option<Spanned<String>>,
}

#[derive(Debug, Default, Clone)]
pub struct RawService {
    pub identifier: Option<Spanned<String>>,
    /// The resource server's display name; defaults to the service name.
    pub name: Option<Spanned<String>>,
    pub scopes: Option<Spanned<BTreeMap<Spanned<String>, Spanned<String>>>>,
    pub consumes: Option<Spanned<Vec<Spanned<String>>>>,
    pub client: Option<Spanned<RawClient>>,
    pub external: Option<Spanned<bool>>,
    pub routes: Option<Vec<Spanned<RawRoute>>>,
    /// `[services.X.api_gateway]`: the API Gateway API that enforces the service's scopes.
    pub api_gateway: Option<Spanned<RawApiGateway>>,
    /// The name the service had before a rename: its client and resource server are kept.
    pub previous: Option<Spanned<String>>,
    /// The environments the service exists in (`environments = ["staging"]`); absent: all.
    pub environments: Option<Spanned<Vec<Spanned<String>>>>,
    /// Keys that are present but whose values were rejected (and reported) here: the next stage
    /// must not also report them as absent.
    pub unreadable: Vec<&'static str>,
    /// The service has keys cogwire does not know (reported), perhaps a misspelt `scopes`.
    pub has_unknown_keys: bool,
}

impl RawService {
    pub fn unreadable(&self, key: &str) -> bool {
        self.unreadable.contains(&key)
    }

    /// Whether the file may have meant to give `key` a value that could not be read: it is
    /// unreadable, or the service has an unknown key that may be it misspelt. Checks of the next
    /// stage that would report its absence stay quiet then.
    pub fn may_have(&self, key: &str) -> bool {
        self.unreadable(key) || self.has_unknown_keys
    }
}

#[derive(Debug, Default, Clone)]
pub struct RawClient {
    pub name: Option<Spanned<String>>,
    pub access_token_validity: Option<Spanned<String>>,
}

#[derive(Debug, Clone)]
pub struct RawRoute {
    pub method: Spanned<String>,
    pub path: Spanned<String>,
    pub scope: Spanned<String>,
    pub body: Option<toml::Value>,
    /// The gateway's own route (a template such as `/items/{id}`) that serves `path`.
    pub route: Option<Spanned<String>>,
}

/// `[services.X.api_gateway]`: an HTTP API (`http_api`) or a REST API (`rest_api`, with an
/// optional `stage` to deploy), and the id of its authorizer.
#[derive(Debug, Default, Clone)]
pub struct RawApiGateway {
    pub http_api: Option<Spanned<String>>,
    pub rest_api: Option<Spanned<String>>,
    pub authorizer: Option<Spanned<String>>,
    pub stage: Option<Spanned<String>>,
}

pub(crate) const TOP_LEVEL_KEYS: &[&str] = &[
    "pool",
    "secrets",
    "defaults",
    "export",
    "services",
    "environments",
];
pub(crate) const EXPORT_KEYS: &[&str] = &[
    "namespace",
    "secret_store",
    "cluster_secret_store",
    "refresh",
];
pub(crate) const POOL_KEYS: &[&str] = &[
    "id",
    "region",
    "domain",
    "token_url",
    "max_resource_servers",
    "max_clients",
];
pub(crate) const SECRETS_KEYS: &[&str] = &["store", "path", "kms_key_id", "layout", "fields"];
pub(crate) const DEFAULTS_KEYS: &[&str] = &["access_token_validity"];
pub(crate) const SERVICE_KEYS: &[&str] = &[
    "identifier",
    "name",
    "scopes",
    "consumes",
    "client",
    "external",
    "routes",
    "previous",
    "environments",
    "api_gateway",
];
pub(crate) const CLIENT_KEYS: &[&str] = &["name", "access_token_validity"];
pub(crate) const ROUTE_KEYS: &[&str] = &["method", "path", "scope", "body", "route"];
pub(crate) const API_GATEWAY_KEYS: &[&str] = &["http_api", "rest_api", "authorizer", "stage"];

/// Parses the text into its raw shape: as much of it as is well formed, and every shape problem
/// found. A TOML syntax error leaves nothing reliable to read, so syntax errors are all that is
/// returned then; a key declared twice is the exception, since the rest of the file still reads.
pub fn parse(text: &str) -> Result<(RawConfig, Vec<Diagnostic>), Vec<Diagnostic>> {
    if text.len() > MAX_FILE_BYTES {
        return Err(vec![
            Diagnostic::new(
                "too-large",
                format!("the file is {} bytes, more than cogwire reads ({MAX_FILE_BYTES})", text.len()),
                None,
            )
            .with_hint("a services.toml describes one user pool: at most 25 resource servers and 1,000 clients"),
        ]);
    }
    let (document, errors) = DeTable::parse_recoverable(text);
    let mut problems = syntax_diagnostics(text, &errors);
    if problems
        .iter()
        .any(|problem| problem.code != "duplicate-key")
    {
        return Err(problems);
    }
    let mut config = RawConfig::default();
    for (key, value) in document.into_inner() {
        match key.get_ref().as_ref() {
            "pool" => {
                if let Some(mut fields) = Fields::section("pool", value, POOL_KEYS, &mut problems) {
                    config.pool = pool(&mut fields, &mut problems);
                }
            }
            "secrets" => {
                if let Some(mut fields) =
                    Fields::section("secrets", value, SECRETS_KEYS, &mut problems)
                {
                    config.secrets = secrets(&mut fields, &mut problems);
                }
            }
            "defaults" => {
                if let Some(mut fields) =
                    Fields::section("defaults", value, DEFAULTS_KEYS, &mut problems)
                {
                    config.defaults = defaults(&mut fields, &mut problems);
                }
            }
            "export" => {
                if let Some(mut fields) =
                    Fields::section("export", value, EXPORT_KEYS, &mut problems)
                {
                    config.export = export(&mut fields, &mut problems);
                }
            }
            "services" => {
                (config.services, config.unparsed_services) = services(value, &mut problems)
            }
            "environments" => config.environments = environment::parse(value, &mut problems),
            other => problems.push(
                Diagnostic::new(
                    "unknown-key",
                    format!("unknown top-level key `{other}`"),
                    Some(key.span()),
                )
                .with_hint(known_keys_hint(other, TOP_LEVEL_KEYS)),
            ),
        }
    }
    problems.sort_by_key(|problem| problem.span.as_ref().map(|span| span.start));
    Ok((config, problems))
}

/// A table being read key by key. Keys it does not know are reported when it is opened; each
/// known value is then taken by name and checked on its own.
pub(super) struct Fields<'i> {
    /// The table's header as written in a file, for messages: `[pool]`, `[services.a.client]`.
    header: String,
    span: Range<usize>,
    entries: Vec<(Spanned<DeString<'i>>, Spanned<DeValue<'i>>)>,
    has_unknown_keys: bool,
}

impl<'i> Fields<'i> {
    pub(super) fn new(
        header: String,
        span: Range<usize>,
        table: DeTable<'i>,
        known: &[&str],
        problems: &mut Vec<Diagnostic>,
    ) -> Self {
        let mut entries = Vec::new();
        let mut has_unknown_keys = false;
        for (key, value) in table {
            if known.contains(&key.get_ref().as_ref()) {
                entries.push((key, value));
            } else {
                has_unknown_keys = true;
                problems.push(
                    Diagnostic::new(
                        "unknown-key",
                        format!("unknown key `{}` in {header}", key.get_ref()),
                        Some(key.span()),
                    )
                    .with_hint(known_keys_hint(key.get_ref(), known)),
                );
            }
        }
        Self {
            header,
            span,
            entries,
            has_unknown_keys,
        }
    }

    /// A top-level section such as `[pool]`, or `None` (reported) when it is not a table.
    fn section(
        key: &str,
        value: Spanned<DeValue<'i>>,
        known: &[&str],
        problems: &mut Vec<Diagnostic>,
    ) -> Option<Self> {
        Self::table(format!("[{key}]"), key, value, known, problems)
    }

    /// A table written under `header`, such as `[environments.prod.pool]`, or `None` (reported)
    /// when it is not a table.
    pub(super) fn table(
        header: String,
        key: &str,
        value: Spanned<DeValue<'i>>,
        known: &[&str],
        problems: &mut Vec<Diagnostic>,
    ) -> Option<Self> {
        let span = value.span();
        match value.into_inner() {
            DeValue::Table(table) => Some(Self::new(header, span, table, known, problems)),
            other => {
                problems.push(
                    Diagnostic::new(
                        "type",
                        format!("`{key}` must be a table, found {}", a_type(&other)),
                        Some(span),
                    )
                    .with_hint(format!("write it as a section: {header}")),
                );
                None
            }
        }
    }

    pub(super) fn take(&mut self, key: &str) -> Option<Spanned<DeValue<'i>>> {
        let index = self
            .entries
            .iter()
            .position(|(name, _)| name.get_ref() == key)?;
        Some(self.entries.swap_remove(index).1)
    }

    /// A key the table cannot do without; its absence is reported at the table's header.
    fn require(
        &mut self,
        key: &str,
        example: &str,
        problems: &mut Vec<Diagnostic>,
    ) -> Option<Spanned<DeValue<'i>>> {
        let value = self.take(key);
        if value.is_none() {
            problems.push(
                Diagnostic::new(
                    "missing-key",
                    format!("missing key `{key}` in {}", self.header),
                    Some(self.span.clone()),
                )
                .with_hint(format!("add it, for example: {example}")),
            );
        }
        value
    }
}

pub(super) fn pool(fields: &mut Fields<'_>, problems: &mut Vec<Diagnostic>) -> RawPool {
    let mut text = |key: &str, example: &str, problems: &mut Vec<Diagnostic>| {
        fields
            .take(key)
            .and_then(|value| string(value, key, example, problems))
    };
    let id = text("id", "\"us-east-1_Example\"", problems);
    let region = text("region", "\"us-east-1\"", problems);
    let domain = text("domain", "\"example-prefix\"", problems);
    let token_url = text(
        "token_url",
        "\"https://example-prefix.auth.us-east-1.amazoncognito.com/oauth2/token\"",
        problems,
    );
    RawPool {
        id,
        region,
        domain,
        token_url,
        max_resource_servers: fields
            .take("max_resource_servers")
            .and_then(|value| integer(value, "max_resource_servers", "50", problems)),
        max_clients: fields
            .take("max_clients")
            .and_then(|value| integer(value, "max_clients", "2000", problems)),
    }
}

/// A table of strings, such as `fields = { client_id = "clientId" }`, in the order written.
fn string_table(
    value: Spanned<DeValue<'_>>,
    key: &str,
    problems: &mut Vec<Diagnostic>,
) -> Option<StringTable> {
    let span = value.span();
    let table = match value.into_inner() {
        DeValue::Table(table) => table,
        other => {
            problems.push(
                Diagnostic::new(
                    "type",
                    format!("`{key}` must be a table, found {}", a_type(&other)),
                    Some(span),
                )
                .with_hint(format!(
                    "for example: {key} = {{ client_id = \"clientId\", client_secret = \"clientSecret\" }}"
                )),
            );
            return None;
        }
    };
    let mut entries = Vec::new();
    for (name, value) in table {
        let name = Spanned::new(name.span(), name.into_inner().into_owned());
        let example = format!("\"{}\"", escape(name.get_ref()));
        if let Some(value) = string(value, name.get_ref(), &example, problems) {
            entries.push((name, value));
        }
    }
    Some(Spanned::new(span, entries))
}

pub(super) fn defaults(fields: &mut Fields<'_>, problems: &mut Vec<Diagnostic>) -> RawDefaults {
    RawDefaults {
        access_token_validity: fields
            .take("access_token_validity")
            .and_then(|value| duration(value, "access_token_validity", problems)),
    }
}

pub(super) fn secrets(fields: &mut Fields<'_>, problems: &mut Vec<Diagnostic>) -> RawSecrets {
    let mut text = |key: &str, example: &str, problems: &mut Vec<Diagnostic>| {
        fields
            .take(key)
            .and_then(|value| string(value, key, example, problems))
    };
    RawSecrets {
        store: text("store", "\"ssm\" (or \"secretsmanager\")", problems),
        path: text("path", "\"/cogwire/{service}\"", problems),
        kms_key_id: text("kms_key_id", "\"alias/cogwire\"", problems),
        layout: text("layout", "\"json\" (or \"split\")", problems),
        fields: fields
            .take("fields")
            .and_then(|value| string_table(value, "fields", problems)),
    }
}

fn export(fields: &mut Fields<'_>, problems: &mut Vec<Diagnostic>) -> RawExport {
    let mut text = |key: &str, example: &str, problems: &mut Vec<Diagnostic>| {
        fields
            .take(key)
            .and_then(|value| string(value, key, example, problems))
    };
    let namespace = text("namespace", "\"payments\"", problems);
    let secret_store = text("secret_store", "\"aws-parameter-store\"", problems);
    RawExport {
        namespace,
        secret_store,
        cluster_secret_store: fields
            .take("cluster_secret_store")
            .and_then(|value| boolean(value, "cluster_secret_store", problems)),
        refresh: fields
            .take("refresh")
            .and_then(|value| duration(value, "refresh", problems)),
    }
}

type Services = (Vec<(Spanned<String>, RawService)>, Vec<String>);

fn services(value: Spanned<DeValue<'_>>, problems: &mut Vec<Diagnostic>) -> Services {
    let span = value.span();
    let DeValue::Table(table) = value.into_inner() else {
        problems.push(
            Diagnostic::new("type", "`services` must be a table of services", Some(span))
                .with_hint("declare each service as [services.<name>]"),
        );
        return (Vec::new(), Vec::new());
    };
    let mut services = Vec::new();
    let mut unparsed = Vec::new();
    for (name, value) in table {
        let name = Spanned::new(name.span(), name.into_inner().into_owned());
        let span = value.span();
        let header = format!("[services.{}]", toml_key(name.get_ref()));
        match value.into_inner() {
            DeValue::Table(table) => {
                let fields = Fields::new(header, span, table, SERVICE_KEYS, problems);
                let parsed = service(name.get_ref(), fields, problems);
                if parsed.scopes.is_none() && parsed.may_have("scopes") {
                    unparsed.push(name.get_ref().clone());
                }
                services.push((name, parsed));
            }
            other => {
                problems.push(
                    Diagnostic::new(
                        "type",
                        format!(
                            "service `{}` must be a table, found {}",
                            name.get_ref(),
                            a_type(&other)
                        ),
                        Some(span),
                    )
                    .with_hint(format!("write it as a section: {header}")),
                );
                unparsed.push(name.into_inner());
            }
        }
    }
    (services, unparsed)
}

fn service(name: &str, mut fields: Fields<'_>, problems: &mut Vec<Diagnostic>) -> RawService {
    let key = toml_key(name);
    let identifier = fields.take("identifier");
    let display_name = fields.take("name");
    let scope_table = fields.take("scopes");
    let consumed = fields.take("consumes");
    let client_table = fields.take("client");
    let external_flag = fields.take("external");
    let route_list = fields.take("routes");
    let previous_name = fields.take("previous");
    let environment_list = fields.take("environments");
    let gateway_table = fields.take("api_gateway");
    let present = [
        identifier.is_some(),
        display_name.is_some(),
        scope_table.is_some(),
        consumed.is_some(),
        client_table.is_some(),
        external_flag.is_some(),
        route_list.is_some(),
        previous_name.is_some(),
        environment_list.is_some(),
        gateway_table.is_some(),
    ];
    let mut raw = RawService {
        identifier: identifier
            .and_then(|value| string(value, "identifier", "\"https://api.example.com\"", problems)),
        name: display_name.and_then(|value| string(value, "name", "\"Orders API\"", problems)),
        scopes: scope_table.and_then(|value| scopes(value, problems)),
        consumes: consumed.and_then(|value| consumes(value, problems)),
        client: client_table.and_then(|value| client(&key, value, problems)),
        external: external_flag.and_then(|value| boolean(value, "external", problems)),
        routes: route_list.and_then(|value| routes(&key, value, problems)),
        previous: previous_name
            .and_then(|value| string(value, "previous", "\"orders-api\"", problems)),
        environments: environment_list.and_then(|value| environment::names_list(value, problems)),
        api_gateway: gateway_table.and_then(|value| api_gateway(&key, value, problems)),
        unreadable: Vec::new(),
        has_unknown_keys: fields.has_unknown_keys,
    };
    let read = [
        raw.identifier.is_some(),
        raw.name.is_some(),
        raw.scopes.is_some(),
        raw.consumes.is_some(),
        raw.client.is_some(),
        raw.external.is_some(),
        raw.routes.is_some(),
        raw.previous.is_some(),
        raw.environments.is_some(),
        raw.api_gateway.is_some(),
    ];
    for ((field, present), read) in SERVICE_KEYS.iter().zip(present).zip(read) {
        if present && !read {
            raw.unreadable.push(field);
        }
    }
    raw
}

type Scopes = Spanned<BTreeMap<Spanned<String>, Spanned<String>>>;

fn scopes(value: Spanned<DeValue<'_>>, problems: &mut Vec<Diagnostic>) -> Option<Scopes> {
    let span = value.span();
    let table = match value.into_inner() {
        DeValue::Table(table) => table,
        other => {
            problems.push(
                Diagnostic::new(
                    "type",
                    format!(
                        "`scopes` must be a table of scope names to descriptions, found {}",
                        a_type(&other)
                    ),
                    Some(span),
                )
                .with_hint("for example: scopes = { \"orders.read\" = \"Read orders\" }"),
            );
            return None;
        }
    };
    let mut scopes = BTreeMap::new();
    for (scope, description) in table {
        let scope = Spanned::new(scope.span(), scope.into_inner().into_owned());
        let description_span = description.span();
        let description = match description.into_inner() {
            DeValue::String(text) => text.into_owned(),
            other => {
                problems.push(
                    Diagnostic::new(
                        "type",
                        format!(
                            "the description of scope `{}` must be a string, found {}",
                            scope.get_ref(),
                            a_type(&other)
                        ),
                        Some(description_span.clone()),
                    )
                    .with_hint(format!(
                        "describe the scope in quotes: {} = \"Read orders\"",
                        toml_key(scope.get_ref())
                    )),
                );
                // The scope itself is declared; keeping it spares references to it a second,
                // misleading diagnostic.
                String::new()
            }
        };
        scopes.insert(scope, Spanned::new(description_span, description));
    }
    Some(Spanned::new(span, scopes))
}

fn consumes(
    value: Spanned<DeValue<'_>>,
    problems: &mut Vec<Diagnostic>,
) -> Option<Spanned<Vec<Spanned<String>>>> {
    let span = value.span();
    let array = match value.into_inner() {
        DeValue::Array(array) => array,
        other => {
            let example = match &other {
                DeValue::String(text) => format!("consumes = [\"{}\"]", escape(text)),
                _ => "consumes = [\"customers-v1/customer.read\"]".to_owned(),
            };
            problems.push(
                Diagnostic::new(
                    "type",
                    format!(
                        "`consumes` must be an array of \"<service>/<scope>\" strings, found {}",
                        a_type(&other)
                    ),
                    Some(span),
                )
                .with_hint(format!("put it in square brackets: {example}")),
            );
            return None;
        }
    };
    let mut references = Vec::new();
    for entry in array {
        let entry_span = entry.span();
        match entry.into_inner() {
            DeValue::String(text) => {
                references.push(Spanned::new(entry_span, text.into_owned()));
            }
            other => problems.push(
                Diagnostic::new(
                    "type",
                    format!(
                        "each entry of `consumes` must be a string, found {}",
                        a_type(&other)
                    ),
                    Some(entry_span),
                )
                .with_hint("write \"<service>/<scope>\" in quotes, for example \"customers-v1/customer.read\""),
            ),
        }
    }
    Some(Spanned::new(span, references))
}

fn client(
    service_key: &str,
    value: Spanned<DeValue<'_>>,
    problems: &mut Vec<Diagnostic>,
) -> Option<Spanned<RawClient>> {
    let span = value.span();
    let header = format!("[services.{service_key}.client]");
    let table = match value.into_inner() {
        DeValue::Table(table) => table,
        other => {
            problems.push(
                Diagnostic::new(
                    "type",
                    format!("`client` must be a table, found {}", a_type(&other)),
                    Some(span),
                )
                .with_hint(format!(
                    "write a table: client = {{ access_token_validity = \"30m\" }}, or a {header} section"
                )),
            );
            return None;
        }
    };
    let mut fields = Fields::new(header, span.clone(), table, CLIENT_KEYS, problems);
    let default_name = format!("\"{}-app-client\"", escape(service_key.trim_matches('"')));
    let client = RawClient {
        name: fields
            .take("name")
            .and_then(|value| string(value, "name", &default_name, problems)),
        access_token_validity: fields
            .take("access_token_validity")
            .and_then(|value| duration(value, "access_token_validity", problems)),
    };
    Some(Spanned::new(span, client))
}

fn routes(
    service_key: &str,
    value: Spanned<DeValue<'_>>,
    problems: &mut Vec<Diagnostic>,
) -> Option<Vec<Spanned<RawRoute>>> {
    let span = value.span();
    let header = format!("[[services.{service_key}.routes]]");
    let hint = format!(
        "declare each route as a section: {header} with method = \"GET\", path = \"/v1/orders/42\" and scope = \"orders.read\""
    );
    let array = match value.into_inner() {
        DeValue::Array(array) => array,
        other => {
            problems.push(
                Diagnostic::new(
                    "type",
                    format!(
                        "`routes` must be an array of tables, found {}",
                        a_type(&other)
                    ),
                    Some(span),
                )
                .with_hint(hint),
            );
            return None;
        }
    };
    let mut routes = Vec::new();
    for entry in array {
        let span = entry.span();
        let table = match entry.into_inner() {
            DeValue::Table(table) => table,
            other => {
                problems.push(
                    Diagnostic::new(
                        "type",
                        format!("each route must be a table, found {}", a_type(&other)),
                        Some(span),
                    )
                    .with_hint(hint.clone()),
                );
                continue;
            }
        };
        let mut fields = Fields::new(header.clone(), span.clone(), table, ROUTE_KEYS, problems);
        let mut required = |key: &str, example: &str, problems: &mut Vec<Diagnostic>| {
            fields
                .require(key, &format!("{key} = {example}"), problems)
                .and_then(|value| string(value, key, example, problems))
        };
        let method = required("method", "\"GET\"", problems);
        let path = required("path", "\"/v1/orders/42\"", problems);
        let scope = required("scope", "\"orders.read\"", problems);
        let body = fields.take("body").and_then(|value| body(value, problems));
        let route = fields
            .take("route")
            .and_then(|value| string(value, "route", "\"/v1/orders/{id}\"", problems));
        if let (Some(method), Some(path), Some(scope)) = (method, path, scope) {
            routes.push(Spanned::new(
                span,
                RawRoute {
                    method,
                    path,
                    scope,
                    body,
                    route,
                },
            ));
        }
    }
    Some(routes)
}

pub(crate) fn api_gateway(
    service_key: &str,
    value: Spanned<DeValue<'_>>,
    problems: &mut Vec<Diagnostic>,
) -> Option<Spanned<RawApiGateway>> {
    let span = value.span();
    let header = format!("[services.{service_key}.api_gateway]");
    let table = match value.into_inner() {
        DeValue::Table(table) => table,
        other => {
            problems.push(
                Diagnostic::new(
                    "type",
                    format!("`api_gateway` must be a table, found {}", a_type(&other)),
                    Some(span),
                )
                .with_hint(format!(
                    "write a section: {header} with http_api = \"a1b2c3d4e5\" and authorizer = \"abc123\""
                )),
            );
            return None;
        }
    };
    let mut fields = Fields::new(header, span.clone(), table, API_GATEWAY_KEYS, problems);
    let mut text = |key: &str, example: &str| {
        fields
            .take(key)
            .and_then(|value| string(value, key, example, problems))
    };
    let gateway = RawApiGateway {
        http_api: text("http_api", "\"a1b2c3d4e5\""),
        rest_api: text("rest_api", "\"x9y8z7w6v5\""),
        authorizer: text("authorizer", "\"abc123\""),
        stage: text("stage", "\"prod\""),
    };
    Some(Spanned::new(span, gateway))
}

/// A route's request body: any TOML value, sent as JSON.
fn body(value: Spanned<DeValue<'_>>, problems: &mut Vec<Diagnostic>) -> Option<toml::Value> {
    let span = value.span();
    match toml::Value::deserialize(ValueDeserializer::from(value)) {
        Ok(body) => Some(body),
        Err(_) => {
            problems.push(
                Diagnostic::new(
                    "invalid-value",
                    "`body` holds a number cogwire cannot represent",
                    Some(span),
                )
                .with_hint("integers must fit in 64 bits; write larger numbers as strings"),
            );
            None
        }
    }
}

fn string(
    value: Spanned<DeValue<'_>>,
    key: &str,
    example: &str,
    problems: &mut Vec<Diagnostic>,
) -> Option<Spanned<String>> {
    let span = value.span();
    match value.into_inner() {
        DeValue::String(text) => Some(Spanned::new(span, text.into_owned())),
        other => {
            let example = match scalar_text(&other) {
                Some(text) => format!("\"{text}\""),
                None => example.to_owned(),
            };
            problems.push(
                Diagnostic::new(
                    "type",
                    format!("`{key}` must be a string, found {}", a_type(&other)),
                    Some(span),
                )
                .with_hint(format!("write it in quotes: {key} = {example}")),
            );
            None
        }
    }
}

/// A duration such as "30m": a string, so a bare number (whose unit nobody could guess) is refused
/// with the spelling it probably meant.
pub(super) fn duration(
    value: Spanned<DeValue<'_>>,
    key: &str,
    problems: &mut Vec<Diagnostic>,
) -> Option<Spanned<String>> {
    let span = value.span();
    match value.into_inner() {
        DeValue::String(text) => Some(Spanned::new(span, text.into_owned())),
        other => {
            let hint = match &other {
                DeValue::Integer(number) if number.radix() == 10 => format!(
                    "a duration is a string with a unit (s, m, h or d): {key} = \"{}m\"",
                    number.as_str()
                ),
                _ => format!("a duration is a string with a unit (s, m, h or d): {key} = \"1h\""),
            };
            problems.push(
                Diagnostic::new(
                    "type",
                    format!(
                        "`{key}` must be a string such as \"1h\", found {}",
                        a_type(&other)
                    ),
                    Some(span),
                )
                .with_hint(hint),
            );
            None
        }
    }
}

fn integer(
    value: Spanned<DeValue<'_>>,
    key: &str,
    example: &str,
    problems: &mut Vec<Diagnostic>,
) -> Option<Spanned<i64>> {
    let span = value.span();
    let other = match value.into_inner() {
        DeValue::Integer(number) => {
            return match i64::from_str_radix(number.as_str(), number.radix()) {
                Ok(parsed) => Some(Spanned::new(span, parsed)),
                Err(_) => {
                    let size = if number.as_str().starts_with('-') {
                        "too small"
                    } else {
                        "too large"
                    };
                    problems.push(
                        Diagnostic::new(
                            "invalid-value",
                            format!("`{key}` is out of bounds: {number} is {size} for an integer"),
                            Some(span),
                        )
                        .with_hint(format!(
                            "write a whole number that fits in 64 bits, for example: {key} = {example}"
                        )),
                    );
                    None
                }
            };
        }
        other => other,
    };
    let message = match &other {
        DeValue::Float(_) => format!("`{key}` must be a whole number (an integer), found a float"),
        _ => format!("`{key}` must be an integer, found {}", a_type(&other)),
    };
    problems.push(
        Diagnostic::new("type", message, Some(span)).with_hint(format!(
            "write a whole number without quotes: {key} = {example}"
        )),
    );
    None
}

fn boolean(
    value: Spanned<DeValue<'_>>,
    key: &str,
    problems: &mut Vec<Diagnostic>,
) -> Option<Spanned<bool>> {
    let span = value.span();
    match value.into_inner() {
        DeValue::Boolean(flag) => Some(Spanned::new(span, flag)),
        other => {
            let meant = match &other {
                DeValue::String(text)
                    if ["false", "no", "off", "0"]
                        .contains(&text.trim().to_ascii_lowercase().as_str()) =>
                {
                    "false"
                }
                DeValue::Integer(number) if number.as_str() == "0" => "false",
                _ => "true",
            };
            problems.push(
                Diagnostic::new(
                    "type",
                    format!("`{key}` must be a boolean, found {}", a_type(&other)),
                    Some(span),
                )
                .with_hint(format!(
                    "write true or false, without quotes: {key} = {meant}"
                )),
            );
            None
        }
    }
}

/// A value's type as TOML names it, with its article.
pub(super) fn a_type(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// The text of a number, boolean or date-time, to quote it in a hint.
fn scalar_text(value: &DeValue<'_>) -> Option<String> {
    let text = match value {
        DeValue::Integer(number) => number.to_string(),
        DeValue::Float(number) => number.to_string(),
        DeValue::Boolean(flag) => flag.to_string(),
        DeValue::Datetime(datetime) => datetime.to_string(),
        _ => return None,
    };
    (text.chars().count() <= 40).then_some(text)
}

/// A key as it would be written in a TOML header: bare when it can be, quoted otherwise.
pub(super) fn toml_key(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || matches!(character, '-' | '_'));
    if bare {
        key.to_owned()
    } else {
        format!("\"{}\"", escape(key))
    }
}

/// The inside of a TOML basic string; control characters are escaped so a hint never carries one
/// to the terminal.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '"' => escaped.push_str("\\\""),
            '\\' => escaped.push_str("\\\\"),
            control if control.is_control() => {
                escaped.push_str(&format!("\\u{:04X}", u32::from(control)));
            }
            other => escaped.push(other),
        }
    }
    escaped
}

/// Turns the parser's errors into diagnostics, in order, one per place. A key declared twice is
/// named: the parser's own message does not say which.
fn syntax_diagnostics(text: &str, errors: &[toml::de::Error]) -> Vec<Diagnostic> {
    let mut problems: Vec<Diagnostic> = Vec::new();
    for error in errors {
        let problem = syntax_diagnostic(text, error);
        if !problems
            .iter()
            .any(|seen| seen.span == problem.span && seen.message == problem.message)
        {
            problems.push(problem);
        }
    }
    problems.sort_by_key(|problem| problem.span.as_ref().map(|span| span.start));
    if problems.len() > MAX_SYNTAX_ERRORS {
        let more = problems.len() - MAX_SYNTAX_ERRORS;
        problems.truncate(MAX_SYNTAX_ERRORS);
        problems.push(
            Diagnostic::new(
                "syntax",
                format!("{more} more syntax errors not shown"),
                None,
            )
            .with_hint("fix the first ones: later errors often follow from them"),
        );
    }
    problems
}

fn syntax_diagnostic(text: &str, error: &toml::de::Error) -> Diagnostic {
    let message = first_line(error.message());
    if message.contains("duplicate key") {
        let key = error
            .span()
            .and_then(|span| text.get(span))
            .map(|key| key.trim().trim_matches(['"', '\'']))
            .filter(|key| !key.is_empty() && key.chars().count() <= 100);
        let message = match key {
            Some(key) => format!("`{key}` is declared twice"),
            None => "a key is declared twice".to_owned(),
        };
        return Diagnostic::new("duplicate-key", message, error.span()).with_hint(
            "each key, and so each scope and each service, is declared only once: remove or rename this one",
        );
    }
    let hint = if message.contains("invalid string") || message.contains("must be quoted") {
        "strings are quoted: scopes = { \"customer.read\" = \"Read customers\" }"
    } else {
        "see the services.toml reference in the README"
    };
    Diagnostic::new("syntax", format!("invalid TOML: {message}"), error.span()).with_hint(hint)
}

fn known_keys_hint(unknown: &str, known: &[&str]) -> String {
    let listed = known
        .iter()
        .map(|key| format!("`{key}`"))
        .collect::<Vec<_>>()
        .join(", ");
    match crate::config::suggest::closest(unknown, known.iter().copied()) {
        Some(guess) => format!("did you mean `{guess}`? known keys: {listed}"),
        None if known.is_empty() => "remove it".to_owned(),
        None => format!("known keys: {listed}"),
    }
}

fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or(message).trim().to_owned()
}

/// The span of an optional value, or of its section when it is absent.
pub fn span_of<T>(value: &Option<Spanned<T>>) -> Option<Range<usize>> {
    value.as_ref().map(Spanned::span)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(text: &str) -> Vec<&'static str> {
        match parse(text) {
            Ok((_, problems)) | Err(problems) => {
                problems.iter().map(|problem| problem.code).collect()
            }
        }
    }

    #[test]
    fn reads_a_service_with_spans() {
        let (config, problems) =
            parse("[services.a]\nscopes = { \"x.read\" = \"X\" }\n").expect("valid");
        assert!(problems.is_empty());
        let (name, service) = &config.services[0];
        assert_eq!(name.get_ref(), "a");
        assert_eq!(name.span(), 10..11);
        let scopes = service.scopes.as_ref().expect("scopes");
        assert_eq!(scopes.get_ref().len(), 1);
    }

    #[test]
    fn reports_every_bad_service_not_just_the_first() {
        let text = "[services.a]\nscope = {}\n[services.b]\nconsume = []\n[servises]\n";
        assert_eq!(
            codes(text),
            vec!["unknown-key", "unknown-key", "unknown-key"]
        );
    }

    #[test]
    fn unknown_key_hint_guesses_and_lists() {
        let (config, problems) = parse("[services.a]\nconsume = []\n").expect("readable");
        assert_eq!(config.services.len(), 1);
        assert_eq!(problems[0].message, "unknown key `consume` in [services.a]");
        let hint = problems[0].hint.as_deref().unwrap_or_default();
        assert!(hint.starts_with("did you mean `consumes`?"), "{hint}");
        assert!(hint.contains("`external`"), "{hint}");
    }

    #[test]
    fn wrong_types_and_syntax_are_reported() {
        assert_eq!(codes("[pool]\nid = 7\n"), vec!["type"]);
        assert_eq!(codes("[pool\n"), vec!["syntax"]);
        assert_eq!(codes("services = 3\n"), vec!["type"]);
        assert_eq!(codes("[services]\na = 1\n"), vec!["type"]);
    }

    #[test]
    fn a_scope_declared_twice_is_named_and_the_rest_still_checked() {
        let (_, problems) =
            parse("[services.a]\nscopes = { \"r\" = \"R\", \"r\" = \"R\" }\nconsume = []\n")
                .expect("a duplicate key leaves the rest readable");
        assert_eq!(problems[0].code, "duplicate-key");
        assert_eq!(problems[0].message, "`r` is declared twice");
        assert!(
            problems[0]
                .hint
                .as_deref()
                .unwrap_or_default()
                .contains("only once")
        );
        assert_eq!(problems[1].code, "unknown-key");
    }

    #[test]
    fn every_problem_in_one_section_is_reported() {
        assert_eq!(
            codes("[pool]\nidd = \"x\"\nregionn = \"y\"\nmax_clients = 3.5\n"),
            vec!["unknown-key", "unknown-key", "type"]
        );
        let (config, problems) = parse(
            "[services.a]\nscopes = { \"r\" = 1, \"s\" = 2 }\nconsume = []\nexternal = \"yes\"\n",
        )
        .expect("readable");
        let codes: Vec<_> = problems.iter().map(|problem| problem.code).collect();
        assert_eq!(codes, vec!["type", "type", "unknown-key", "type"]);
        let (_, service) = &config.services[0];
        assert_eq!(
            service.scopes.as_ref().map(|scopes| scopes.get_ref().len()),
            Some(2)
        );
        assert_eq!(service.unreadable, vec!["external"]);
    }

    #[test]
    fn every_missing_route_key_is_reported() {
        let (config, problems) = parse(
            "[services.b]\nscopes = { \"r\" = \"R\" }\n[[services.b.routes]]\nmethod = \"GET\"\n",
        )
        .expect("readable");
        let messages: Vec<_> = problems
            .iter()
            .map(|problem| problem.message.as_str())
            .collect();
        assert_eq!(
            messages,
            vec![
                "missing key `path` in [[services.b.routes]]",
                "missing key `scope` in [[services.b.routes]]"
            ]
        );
        assert_eq!(config.services[0].1.routes.as_ref().map(Vec::len), Some(0));
    }

    #[test]
    fn types_are_named_in_toml_terms_with_a_corrected_example() {
        let hint = |text: &str| match parse(text) {
            Ok((_, problems)) | Err(problems) => (
                problems[0].message.clone(),
                problems[0].hint.clone().unwrap_or_default(),
            ),
        };
        assert_eq!(
            hint("[services.a]\nconsumes = \"b/r\"\n"),
            (
                "`consumes` must be an array of \"<service>/<scope>\" strings, found a string"
                    .to_owned(),
                "put it in square brackets: consumes = [\"b/r\"]".to_owned()
            )
        );
        assert!(
            hint("[defaults]\naccess_token_validity = 30\n")
                .1
                .ends_with("access_token_validity = \"30m\"")
        );
        assert_eq!(
            hint("[services.a]\nclient = 5\n").0,
            "`client` must be a table, found an integer"
        );
        assert_eq!(
            hint("[services.a]\nclient = []\n").0,
            "`client` must be a table, found an array"
        );
        assert_eq!(
            hint("[pool]\nmax_clients = 99999999999999999999\n").0,
            "`max_clients` is out of bounds: 99999999999999999999 is too large for an integer"
        );
        assert_eq!(
            hint("[services.a]\nroutes = [\"x\"]\n").0,
            "each route must be a table, found a string"
        );
        for text in [
            "[pool]\nid = 7\n",
            "[services.a]\nclient = 5\n",
            "[services.a]\nroutes = 1\n",
            "[pool]\nmax_clients = 3.5\n",
            "[services.a]\nexternal = \"yes\"\n",
        ] {
            let (message, hint) = hint(text);
            for rust in ["struct", "i64", "i128", "sequence", "expected"] {
                assert!(
                    !message.contains(rust) && !hint.contains(rust),
                    "{message} / {hint}"
                );
            }
            assert!(hint.contains('='), "a hint with an example: {hint}");
        }
    }

    #[test]
    fn syntax_errors_are_all_reported_in_order() {
        let problems =
            parse("[pool]\nid = x\n[services.a]\nscopes = { \"r\" = R }\n").expect_err("syntax");
        let lines: Vec<_> = problems
            .iter()
            .map(|problem| problem.span.as_ref().map(|span| span.start))
            .collect();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(lines.is_sorted());
    }
}
