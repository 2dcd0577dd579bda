//! Stage two of reading services.toml: its meaning. Turns the raw shape into the checked desired
//! state (resource servers, clients and the scopes between them), or into every diagnostic found.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Range;

use serde::Serialize;
use toml::Spanned;

use crate::config::diagnostic::Diagnostic;
use crate::config::duration::{self, DurationError, Seconds};
use crate::config::gateway::{self, ApiGateway, ApiKind};
use crate::config::namespace::reserved;
use crate::config::rules;
use crate::config::shape::{RawConfig, RawService};
use crate::config::suggest;

/// The checked desired state of one user pool.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Model {
    pub pool: Pool,
    pub secrets: SecretsSettings,
    pub export: ExportSettings,
    pub services: BTreeMap<String, Service>,
    /// The environment this model was resolved for (`--env`), if any.
    pub environment: Option<String>,
    /// Every environment the file declares, to name them when none is chosen.
    pub environments: Vec<String>,
    /// Services the file declares only in other environments, with those environments: a
    /// command that names one says where it exists.
    #[serde(skip)]
    pub elsewhere: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pool {
    pub id: Option<String>,
    pub region: Option<String>,
    pub domain: Option<String>,
    pub token_url: Option<String>,
    pub max_resource_servers: u64,
    pub max_clients: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    Ssm,
    SecretsManager,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SecretLayout {
    /// One entry holding the whole credential as JSON, so id and secret change together.
    Json,
    /// `<path>/client_id` and `<path>/client_secret`, for frameworks that map names to keys.
    Split,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretsSettings {
    pub store: StoreKind,
    pub path_template: String,
    pub kms_key_id: Option<String>,
    pub layout: SecretLayout,
    /// `[secrets] fields`: each key cogwire writes in a JSON entry, by the name the entry uses;
    /// a key left out is not written. `None`: cogwire's own names, all of them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<BTreeMap<String, String>>,
}

/// The keys of a JSON entry, by cogwire's names.
pub const CREDENTIAL_KEYS: &[&str] = &[
    "client_id",
    "client_secret",
    "token_url",
    "scopes",
    "user_pool_id",
];

impl SecretsSettings {
    /// The name a JSON entry gives cogwire's `key`, or `None` when it is not written.
    pub fn field<'a>(&'a self, key: &'a str) -> Option<&'a str> {
        match &self.fields {
            None => Some(key),
            Some(fields) => fields.get(key).map(String::as_str),
        }
    }

    pub fn path_for(&self, service: &str, pool: &str) -> String {
        self.path_template
            .replace("{service}", service)
            .replace("{pool}", pool)
    }

    /// The names a service's credentials live under in pool `pool_id`, with how each is stored.
    pub fn entry_names(&self, pool_id: &str, service: &str) -> Vec<(String, EntryKind)> {
        let path = self.path_for(service, pool_id);
        match self.layout {
            SecretLayout::Json => vec![(path, EntryKind::Secure)],
            SecretLayout::Split => vec![
                (format!("{path}/{CLIENT_ID_ENTRY}"), EntryKind::Plain),
                (format!("{path}/{CLIENT_SECRET_ENTRY}"), EntryKind::Secure),
            ],
        }
    }
}

/// The last part of the names of a split layout's two entries.
pub const CLIENT_ID_ENTRY: &str = "client_id";
pub const CLIENT_SECRET_ENTRY: &str = "client_secret";

/// How an entry is stored: SSM distinguishes plain strings from encrypted ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    Plain,
    Secure,
}

impl Pool {
    /// `[pool] token_url`, else what `[pool] domain` implies: a prefix domain is Cognito's hosted
    /// one in the pool's region, a value with a dot is a custom domain's host.
    pub fn token_url(&self, region: Option<&str>) -> Option<String> {
        if let Some(url) = &self.token_url {
            return Some(url.clone());
        }
        let domain = self.domain.as_deref()?;
        if domain.contains('.') {
            Some(format!("https://{domain}/oauth2/token"))
        } else {
            region.map(|region| {
                format!("https://{domain}.auth.{region}.amazoncognito.com/oauth2/token")
            })
        }
    }
}

/// `[export]`: defaults of `cogwire export`'s flags, and the slowest consumer's refresh, which
/// `rotate-secret --finish` waits out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ExportSettings {
    pub namespace: Option<String>,
    pub secret_store: Option<String>,
    pub cluster_secret_store: bool,
    /// `None`: not declared (consumers are taken to refresh hourly, the operator's default).
    pub refresh: Option<Seconds>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Service {
    pub name: String,
    /// Exists in the pool and is owned by someone else: read and checked, never written.
    pub external: bool,
    pub resource_server: Option<ResourceServer>,
    pub client: Option<Client>,
    pub consumes: Vec<ScopeRef>,
    pub routes: Vec<Route>,
    /// The service's name before a rename (`previous = "..."`): the resources the record knows
    /// by that name are this service's, kept with their ids.
    pub previous: Option<String>,
    /// The API Gateway API whose authorizer and routes enforce this service's scopes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_gateway: Option<ApiGateway>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResourceServer {
    pub identifier: String,
    pub name: String,
    /// Scope name to description.
    pub scopes: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Client {
    pub name: String,
    pub access_token_validity: Seconds,
    /// Full scope strings as Cognito knows them: `<identifier>/<scope>`.
    pub scopes: BTreeSet<String>,
}

/// `<service>/<scope>` as written in `consumes`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ScopeRef {
    pub service: String,
    pub scope: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Route {
    pub method: String,
    pub path: String,
    pub scope: String,
    pub body: Option<serde_json::Value>,
    /// The gateway's own route template that serves `path`, when it is not `path` itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
}

impl Route {
    /// The route as the gateway knows it: `route`, else the concrete `path`.
    pub fn gateway_route(&self) -> &str {
        self.route.as_deref().unwrap_or(&self.path)
    }
}

impl Model {
    /// `name`, when only environments other than this model's declare it.
    pub fn declared_elsewhere(
        &self,
        name: &str,
    ) -> Option<crate::config::environment::DeclaredElsewhere> {
        self.elsewhere.get(name).map(
            |environments| crate::config::environment::DeclaredElsewhere {
                service: name.to_owned(),
                environments: environments.clone(),
            },
        )
    }

    pub fn resource_server_count(&self) -> usize {
        self.services
            .values()
            .filter(|service| service.resource_server.is_some())
            .count()
    }

    pub fn client_count(&self) -> usize {
        self.services
            .values()
            .filter(|service| service.client.is_some())
            .count()
    }

    pub fn scope_count(&self) -> usize {
        self.services
            .values()
            .filter_map(|service| service.resource_server.as_ref())
            .map(|server| server.scopes.len())
            .sum()
    }
}

pub(crate) const DEFAULT_SECRETS_PATH: &str = "/cogwire/{service}";
/// Used to check secret paths when the pool id is not known offline: the longest a pool id gets.
const PLACEHOLDER_POOL_ID: &str = "ap-southeast-5_XXXXXXXXX";
pub(crate) const HTTP_METHODS: &[&str] =
    &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// Checks the meaning of a raw config. `pool_id` is the id in force after flags and environment,
/// used to check expanded secret paths; `None` checks them against the longest possible pool id.
pub fn analyze(raw: &RawConfig, pool_id: Option<&str>) -> Result<Model, Vec<Diagnostic>> {
    let mut analyzer = Analyzer::default();
    let model = analyzer.model(raw, pool_id);
    if analyzer.problems.is_empty() {
        Ok(model)
    } else {
        let mut problems = analyzer.problems;
        problems.sort_by_key(|problem| problem.span.as_ref().map(|span| span.start));
        Err(problems)
    }
}

#[derive(Default)]
struct Analyzer {
    problems: Vec<Diagnostic>,
}

impl Analyzer {
    fn report(
        &mut self,
        code: &'static str,
        message: impl Into<String>,
        span: Option<Range<usize>>,
        hint: Option<String>,
    ) {
        self.problems
            .push(Diagnostic::new(code, message, span).with_optional_hint(hint));
    }

    fn model(&mut self, raw: &RawConfig, pool_id: Option<&str>) -> Model {
        let pool = Pool {
            id: raw.pool.id.as_ref().map(|id| id.get_ref().clone()),
            region: raw
                .pool
                .region
                .as_ref()
                .map(|region| region.get_ref().clone()),
            domain: raw
                .pool
                .domain
                .as_ref()
                .map(|domain| domain.get_ref().clone()),
            token_url: raw.pool.token_url.as_ref().map(|url| url.get_ref().clone()),
            max_resource_servers: self.quota(
                &raw.pool.max_resource_servers,
                rules::DEFAULT_MAX_RESOURCE_SERVERS,
            ),
            max_clients: self.quota(&raw.pool.max_clients, rules::DEFAULT_MAX_CLIENTS),
        };
        let default_validity = self
            .validity(raw.defaults.access_token_validity.as_ref())
            .unwrap_or(Seconds::HOUR);
        let declared = Declared::collect(raw);

        let mut services = BTreeMap::new();
        for (name, service) in &raw.services {
            let checked = self.service(name, service, &declared, default_validity);
            services.insert(name.get_ref().clone(), checked);
        }
        self.unique_names(raw, &services);
        self.unique_previous(raw);
        self.pool_quotas(raw, &pool, &services);
        let secrets = self.secrets(raw, pool_id.or(pool.id.as_deref()), &services);
        let export = self.export(&raw.export);
        Model {
            pool,
            secrets,
            export,
            services,
            environment: raw.environment.clone(),
            environments: crate::config::environment::names(raw),
            elsewhere: raw.elsewhere.clone(),
        }
    }

    fn export(&mut self, raw: &crate::config::shape::RawExport) -> ExportSettings {
        let refresh = raw.refresh.as_ref().and_then(|value| match duration::read(value.get_ref()) {
            Ok(seconds) if seconds.0 > 0 => Some(seconds),
            _ => {
                self.report(
                    "invalid-duration",
                    format!("`{}` is not a refresh interval", value.get_ref()),
                    Some(value.span()),
                    Some("write how often the slowest consumer re-reads the store, a number and a unit: \"1h\", \"5m\"".to_owned()),
                );
                None
            }
        });
        ExportSettings {
            namespace: raw.namespace.as_ref().map(|value| value.get_ref().clone()),
            secret_store: raw
                .secret_store
                .as_ref()
                .map(|value| value.get_ref().clone()),
            cluster_secret_store: raw
                .cluster_secret_store
                .as_ref()
                .is_some_and(|value| *value.get_ref()),
            refresh,
        }
    }

    fn quota(&mut self, value: &Option<Spanned<i64>>, default: u64) -> u64 {
        let Some(value) = value else { return default };
        match u64::try_from(*value.get_ref()) {
            Ok(quota) if quota > 0 => quota,
            _ => {
                self.report(
                    "invalid-value",
                    "a quota must be a positive number",
                    Some(value.span()),
                    Some(format!("Cognito's default is {default}; set this only if AWS raised it for your account")),
                );
                default
            }
        }
    }

    fn validity(&mut self, value: Option<&Spanned<String>>) -> Option<Seconds> {
        let value = value?;
        let seconds = match duration::read(value.get_ref()) {
            Ok(seconds) => seconds,
            Err(DurationError::Invalid) => {
                self.report(
                    "invalid-duration",
                    format!("`{}` is not a duration", value.get_ref()),
                    Some(value.span()),
                    Some(
                        "write a number and a unit: \"30m\", \"1h\", \"1h30m\", \"1d\"".to_owned(),
                    ),
                );
                return None;
            }
            Err(DurationError::TooLarge) => {
                self.report(
                    "token-validity",
                    format!(
                        "`{}` is out of bounds: far longer than Cognito allows",
                        value.get_ref()
                    ),
                    Some(value.span()),
                    Some(
                        "Cognito accepts 5m to 1d for access tokens, for example \"1h\"".to_owned(),
                    ),
                );
                return None;
            }
        };
        if !(rules::MIN_ACCESS_TOKEN_VALIDITY..=rules::MAX_ACCESS_TOKEN_VALIDITY).contains(&seconds)
        {
            self.report(
                "token-validity",
                format!("an access token validity of {seconds} is outside Cognito's bounds"),
                Some(value.span()),
                Some("Cognito accepts 5m to 1d for access tokens".to_owned()),
            );
            return None;
        }
        Some(seconds)
    }

    fn name(
        &mut self,
        result: Result<(), rules::NameProblem>,
        what: &str,
        span: Range<usize>,
        hint: &str,
    ) {
        self.name_by(result, what, "Cognito", span, hint);
    }

    /// As `name`, for a rule that is not Cognito's: `authority` is whose rule it is.
    fn name_by(
        &mut self,
        result: Result<(), rules::NameProblem>,
        what: &str,
        authority: &str,
        span: Range<usize>,
        hint: &str,
    ) {
        if let Err(problem) = result {
            self.report(
                "invalid-name",
                problem.describe_for(what, authority),
                Some(span),
                Some(hint.to_owned()),
            );
        }
    }

    fn service(
        &mut self,
        name: &Spanned<String>,
        raw: &RawService,
        declared: &Declared,
        default_validity: Seconds,
    ) -> Service {
        let service_name = name.get_ref();
        self.name_by(
            rules::service_name(service_name),
            &format!("the service name `{service_name}`"),
            "cogwire's rule for service names",
            name.span(),
            "service names use ASCII letters, digits, `-`, `_` and `.`, begin with a letter or digit, and are at most 100 characters, because a service name becomes the default identifier, client name and secret path",
        );
        let external = raw
            .external
            .as_ref()
            .is_some_and(|external| *external.get_ref());
        let resource_server = raw
            .scopes
            .as_ref()
            .map(|scopes| self.resource_server(name, raw, scopes));
        if raw.scopes.is_none() && !raw.may_have("scopes") {
            for (field, span) in [
                ("identifier", raw.identifier.as_ref().map(Spanned::span)),
                ("name", raw.name.as_ref().map(Spanned::span)),
            ] {
                if let Some(span) = span {
                    self.report(
                        "needless-key",
                        format!("`{field}` names a resource server, but service `{service_name}` declares no scopes"),
                        Some(span),
                        Some("add `scopes = { ... }`, or remove this key".to_owned()),
                    );
                }
            }
        }

        let mut consumes = Vec::new();
        if let Some(list) = &raw.consumes {
            if external && !list.get_ref().is_empty() {
                self.report(
                    "external-client",
                    format!("external service `{service_name}` cannot consume scopes: cogwire never writes external services"),
                    Some(list.span()),
                    Some("remove `external = true` to let cogwire manage this service's client".to_owned()),
                );
            }
            let mut seen = BTreeSet::new();
            for reference in list.get_ref() {
                let Some(scope_ref) = self.scope_ref(reference, declared) else {
                    continue;
                };
                if !seen.insert(scope_ref.clone()) {
                    self.report(
                        "duplicate-consume",
                        format!(
                            "`{}` is consumed twice by `{service_name}`",
                            reference.get_ref()
                        ),
                        Some(reference.span()),
                        Some("list each scope once".to_owned()),
                    );
                    continue;
                }
                consumes.push(scope_ref);
            }
        }

        let client = self.client(name, raw, declared, &consumes, default_validity, external);
        if resource_server.is_none()
            && raw.consumes.is_none()
            && raw.client.is_none()
            && raw.unreadable.is_empty()
            && !raw.has_unknown_keys
        {
            self.report(
                "empty-service",
                format!("service `{service_name}` declares neither scopes nor consumes"),
                Some(name.span()),
                Some("a service either owns scopes (`scopes = { ... }`), consumes others' (`consumes = [...]`), or both".to_owned()),
            );
        }
        let routes = self.routes(name, raw);
        let api_gateway = self.api_gateway(name, raw, &routes);
        let previous = raw.previous.as_ref().and_then(|previous| {
            let old = previous.get_ref();
            if declared.services.contains_key(old) || declared.unparsed.contains(old) {
                self.report(
                    "previous-declared",
                    format!("`previous` names `{old}`, a service declared in this file"),
                    Some(previous.span()),
                    Some(format!("`previous` is the name `{service_name}` had before a rename; remove it, or remove [services.{old}]")),
                );
                return None;
            }
            if old == service_name {
                self.report(
                    "previous-declared",
                    format!("`previous` of `{service_name}` names the service itself"),
                    Some(previous.span()),
                    Some("`previous` is the name the service had before a rename".to_owned()),
                );
                return None;
            }
            Some(old.clone())
        });
        Service {
            name: service_name.clone(),
            external,
            resource_server,
            client,
            consumes,
            routes,
            previous,
            api_gateway,
        }
    }

    /// Two services cannot both be the renamed one.
    fn unique_previous(&mut self, raw: &RawConfig) {
        let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
        for (name, service) in &raw.services {
            let Some(previous) = &service.previous else {
                continue;
            };
            if let Some(first) = seen.insert(previous.get_ref(), name.get_ref()) {
                self.report(
                    "duplicate-previous",
                    format!(
                        "`{}` and `{}` both say they were `{}`",
                        first,
                        name.get_ref(),
                        previous.get_ref()
                    ),
                    Some(previous.span()),
                    Some("only one service can keep the renamed service's client".to_owned()),
                );
            }
        }
    }

    fn resource_server(
        &mut self,
        name: &Spanned<String>,
        raw: &RawService,
        scopes: &Spanned<BTreeMap<Spanned<String>, Spanned<String>>>,
    ) -> ResourceServer {
        let (identifier, identifier_span) = match &raw.identifier {
            Some(identifier) => (identifier.get_ref().clone(), identifier.span()),
            None => (name.get_ref().clone(), name.span()),
        };
        self.name(
            rules::identifier(&identifier),
            &format!("the identifier `{identifier}`"),
            identifier_span,
            "identifiers are 1 to 256 printable ASCII characters without spaces, `\"` or `\\`, for example `https://api.example.com` or `orders-v1`",
        );
        let (display_name, name_span) = match &raw.name {
            Some(display) => (display.get_ref().clone(), display.span()),
            None => (name.get_ref().clone(), name.span()),
        };
        self.name(
            rules::resource_server_name(&display_name),
            &format!("the resource-server name `{display_name}`"),
            name_span,
            "resource-server names use letters, digits, spaces and `+=,.@-`, at most 256 characters",
        );
        if scopes.get_ref().is_empty() {
            self.report(
                "empty-scopes",
                format!("service `{}` declares an empty scope list", name.get_ref()),
                Some(scopes.span()),
                Some(
                    "declare at least one scope: scopes = { \"orders.read\" = \"Read orders\" }"
                        .to_owned(),
                ),
            );
        }
        if scopes.get_ref().len() > rules::MAX_SCOPES_PER_RESOURCE_SERVER {
            self.report(
                "too-many-scopes",
                format!(
                    "service `{}` declares {} scopes, more than Cognito's {} per resource server",
                    name.get_ref(),
                    scopes.get_ref().len(),
                    rules::MAX_SCOPES_PER_RESOURCE_SERVER
                ),
                Some(scopes.span()),
                Some("split the API into two services with their own identifiers".to_owned()),
            );
        }
        let mut checked = BTreeMap::new();
        for (scope, description) in scopes.get_ref() {
            self.name(
                rules::scope_name(scope.get_ref()),
                &format!("the scope name `{}`", scope.get_ref()),
                scope.span(),
                "scope names are 1 to 256 printable ASCII characters without spaces, `\"`, `/` or `\\`, for example `orders.read`",
            );
            let length = description.get_ref().chars().count();
            if length > rules::MAX_SCOPE_DESCRIPTION {
                self.report(
                    "scope-description",
                    format!(
                        "the description of scope `{}` is {length} characters long",
                        scope.get_ref()
                    ),
                    Some(description.span()),
                    Some(format!(
                        "Cognito allows at most {} characters; shorten it",
                        rules::MAX_SCOPE_DESCRIPTION
                    )),
                );
            }
            checked.insert(scope.get_ref().clone(), description.get_ref().clone());
        }
        ResourceServer {
            identifier,
            name: display_name,
            scopes: checked,
        }
    }

    /// Resolves `<service>/<scope>`, splitting at the last `/` since scope names never hold one.
    fn scope_ref(&mut self, reference: &Spanned<String>, declared: &Declared) -> Option<ScopeRef> {
        let text = reference.get_ref();
        let span = reference.span();
        let Some((service, scope)) = text
            .rsplit_once('/')
            .filter(|(service, scope)| !service.is_empty() && !scope.is_empty())
        else {
            let guess = declared
                .all_scope_refs()
                .into_iter()
                .find(|candidate| candidate.ends_with(&format!("/{text}")))
                .map(|candidate| format!("write `<service>/<scope>`: did you mean `{candidate}`?"))
                .unwrap_or_else(|| {
                    "write `<service>/<scope>`, for example `customers-v1/customer.read`".to_owned()
                });
            self.report(
                "bad-reference",
                format!("`{text}` is not a `<service>/<scope>` reference"),
                Some(span),
                Some(guess),
            );
            return None;
        };
        if declared.unparsed.iter().any(|unparsed| unparsed == service) {
            return None;
        }
        let Some(scopes) = declared.services.get(service) else {
            let hint = match suggest::closest(service, declared.services.keys().map(String::as_str))
            {
                Some(guess) => format!("did you mean `{guess}/{scope}`?"),
                None if declared.by_identifier.contains_key(service) => format!(
                    "consumes names services, not identifiers: write `{}/{scope}`",
                    declared.by_identifier[service]
                ),
                None => format!(
                    "declare it as [services.{service}], with `external = true` if another tool manages it"
                ),
            };
            self.report(
                "unknown-service",
                format!("`{text}` names service `{service}`, which is not declared"),
                Some(span),
                Some(hint),
            );
            return None;
        };
        if !scopes.iter().any(|known| known == scope) {
            let hint = match suggest::closest(scope, scopes.iter().map(String::as_str)) {
                Some(guess) => format!("did you mean `{service}/{guess}`?"),
                None if scopes.is_empty() => format!("service `{service}` declares no scopes"),
                None => format!(
                    "service `{service}` declares {}",
                    scopes
                        .iter()
                        .map(|known| format!("`{known}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            self.report(
                "unknown-scope",
                format!("service `{service}` has no scope `{scope}`"),
                Some(span),
                Some(hint),
            );
            return None;
        }
        Some(ScopeRef {
            service: service.to_owned(),
            scope: scope.to_owned(),
        })
    }

    fn client(
        &mut self,
        name: &Spanned<String>,
        raw: &RawService,
        declared: &Declared,
        consumes: &[ScopeRef],
        default_validity: Seconds,
        external: bool,
    ) -> Option<Client> {
        let client_section = raw.client.as_ref();
        if raw.consumes.is_none() {
            if let Some(section) = client_section
                && !raw.may_have("consumes")
            {
                self.report(
                    "client-without-consumes",
                    format!("service `{}` configures a client but consumes no scopes", name.get_ref()),
                    Some(section.span()),
                    Some("a client-credentials client needs at least one scope: add `consumes = [\"<service>/<scope>\"]`".to_owned()),
                );
            }
            return None;
        }
        if external {
            return None;
        }
        let consumes_span = raw.consumes.as_ref().map(Spanned::span);
        if raw
            .consumes
            .as_ref()
            .is_some_and(|list| list.get_ref().is_empty())
        {
            self.report(
                "client-without-consumes",
                format!("service `{}` consumes an empty list", name.get_ref()),
                consumes_span.clone(),
                Some("a client-credentials client needs at least one scope; remove `consumes` if the service calls no one".to_owned()),
            );
        }
        let (client_name, client_name_span) =
            match client_section.and_then(|section| section.get_ref().name.as_ref()) {
                Some(client_name) => (client_name.get_ref().clone(), client_name.span()),
                None => (format!("{}-app-client", name.get_ref()), name.span()),
            };
        self.name(
            rules::client_name(&client_name),
            &format!("the client name `{client_name}`"),
            client_name_span,
            "client names use letters, digits, spaces and `+=,.@-`, at most 128 characters",
        );
        let validity = client_section
            .and_then(|section| self.validity(section.get_ref().access_token_validity.as_ref()))
            .unwrap_or(default_validity);
        let scopes: BTreeSet<String> = consumes
            .iter()
            .filter_map(|reference| {
                declared
                    .identifiers
                    .get(&reference.service)
                    .map(|identifier| format!("{identifier}/{}", reference.scope))
            })
            .collect();
        if scopes.len() > rules::MAX_SCOPES_PER_CLIENT {
            self.report(
                "too-many-scopes",
                format!(
                    "service `{}` consumes {} scopes, more than Cognito's {} per app client",
                    name.get_ref(),
                    scopes.len(),
                    rules::MAX_SCOPES_PER_CLIENT
                ),
                consumes_span,
                Some("consume fewer, broader scopes".to_owned()),
            );
        }
        Some(Client {
            name: client_name,
            access_token_validity: validity,
            scopes,
        })
    }

    fn routes(&mut self, name: &Spanned<String>, raw: &RawService) -> Vec<Route> {
        let Some(routes) = &raw.routes else {
            return Vec::new();
        };
        let own_scopes: Vec<&str> = raw
            .scopes
            .as_ref()
            .map(|scopes| {
                scopes
                    .get_ref()
                    .keys()
                    .map(|scope| scope.get_ref().as_str())
                    .collect()
            })
            .unwrap_or_default();
        // Scopes that could not be read are not known to be missing.
        let scopes_unknown = raw.scopes.is_none() && raw.may_have("scopes");
        let mut checked = Vec::new();
        for route in routes {
            let route = route.get_ref();
            let method = route.method.get_ref().to_ascii_uppercase();
            if !HTTP_METHODS.contains(&method.as_str()) {
                self.report(
                    "route-method",
                    format!("`{}` is not an HTTP method", route.method.get_ref()),
                    Some(route.method.span()),
                    Some(format!("use one of {}", HTTP_METHODS.join(", "))),
                );
            }
            if !route.path.get_ref().starts_with('/') {
                self.report(
                    "route-path",
                    format!(
                        "route path `{}` does not begin with `/`",
                        route.path.get_ref()
                    ),
                    Some(route.path.span()),
                    Some(format!(
                        "write it from the root: `/{}`",
                        route.path.get_ref()
                    )),
                );
            }
            let scope = route.scope.get_ref();
            if !own_scopes.contains(&scope.as_str()) && !scopes_unknown {
                let hint = match suggest::closest(scope, own_scopes.iter().copied()) {
                    Some(guess) => format!("did you mean `{guess}`?"),
                    None => format!(
                        "a route is guarded by one of service `{}`'s own scopes",
                        name.get_ref()
                    ),
                };
                self.report(
                    "unknown-scope",
                    format!(
                        "route scope `{scope}` is not a scope of service `{}`",
                        name.get_ref()
                    ),
                    Some(route.scope.span()),
                    Some(hint),
                );
            }
            let body = route
                .body
                .as_ref()
                .and_then(|body| serde_json::to_value(body).ok());
            if let Some(template) = &route.route {
                self.gateway_route(template, &route.path);
            }
            checked.push(Route {
                method,
                path: route.path.get_ref().clone(),
                scope: scope.clone(),
                body,
                route: route
                    .route
                    .as_ref()
                    .map(|template| template.get_ref().clone()),
            });
        }
        checked
    }

    /// A route's `route`: a well-formed template that serves the concrete `path`.
    fn gateway_route(&mut self, template: &Spanned<String>, path: &Spanned<String>) {
        if let Some(problem) = gateway::template_problem(template.get_ref()) {
            self.report(
                "route-template",
                problem,
                Some(template.span()),
                Some("write the gateway's route as API Gateway does: `/items/{id}`, or `/files/{proxy+}` for the rest of the path".to_owned()),
            );
        } else if path.get_ref().starts_with('/')
            && !gateway::template_matches(template.get_ref(), path.get_ref())
        {
            self.report(
                "route-template",
                format!(
                    "route `{}` does not serve path `{}`",
                    template.get_ref(),
                    path.get_ref()
                ),
                Some(template.span()),
                Some("`path` is what `verify` calls and `route` the gateway's route that serves it: each literal segment must be equal, and each `{name}` takes one segment".to_owned()),
            );
        }
    }

    /// `[services.X.api_gateway]`: one API (`http_api` or `rest_api`), its authorizer, a stage
    /// only for REST, ids of the right shape, and routes for the gateway to guard.
    fn api_gateway(
        &mut self,
        name: &Spanned<String>,
        raw: &RawService,
        routes: &[Route],
    ) -> Option<ApiGateway> {
        let section = raw.api_gateway.as_ref()?;
        let span = section.span();
        let section = section.get_ref();
        let header = format!("[services.{}.api_gateway]", name.get_ref());
        let api = match (&section.http_api, &section.rest_api) {
            (Some(http), None) => Some((ApiKind::Http, http)),
            (None, Some(rest)) => Some((ApiKind::Rest, rest)),
            (Some(_), Some(rest)) => {
                self.report(
                    "api-gateway",
                    format!("{header} names both an HTTP API and a REST API"),
                    Some(rest.span()),
                    Some(
                        "a service's scopes are enforced by one API: keep `http_api` or `rest_api`"
                            .to_owned(),
                    ),
                );
                None
            }
            (None, None) => {
                self.report(
                    "api-gateway",
                    format!("{header} names no API"),
                    Some(span.clone()),
                    Some(
                        "add http_api = \"<HTTP API id>\" (or rest_api = \"<REST API id>\")"
                            .to_owned(),
                    ),
                );
                None
            }
        };
        let mut valid = api.is_some();
        for (key, value) in [
            ("http_api", &section.http_api),
            ("rest_api", &section.rest_api),
            ("authorizer", &section.authorizer),
        ] {
            if let Some(value) = value
                && !gateway::is_gateway_id(value.get_ref())
            {
                valid = false;
                self.report(
                    "api-gateway-id",
                    format!("`{}` is not an API Gateway id", value.get_ref()),
                    Some(value.span()),
                    Some(gateway::id_hint(key, value.get_ref())),
                );
            }
        }
        if section.authorizer.is_none() {
            valid = false;
            self.report(
                "api-gateway",
                format!("{header} names no authorizer"),
                Some(span.clone()),
                Some("add authorizer = \"<authorizer id>\": the JWT authorizer of an HTTP API, the Cognito user pool authorizer of a REST API".to_owned()),
            );
        }
        if let Some(stage) = &section.stage {
            if section.http_api.is_some() {
                valid = false;
                self.report(
                    "api-gateway",
                    "`stage` is for REST APIs".to_owned(),
                    Some(stage.span()),
                    Some("an HTTP API's route changes take effect without a deployment: remove `stage`".to_owned()),
                );
            } else if !gateway::is_stage_name(stage.get_ref()) {
                valid = false;
                self.report(
                    "api-gateway",
                    format!("`{}` is not a stage name", stage.get_ref()),
                    Some(stage.span()),
                    Some("a stage name is 1 to 128 letters, digits, `-` and `_`".to_owned()),
                );
            }
        }
        if routes.is_empty() && !raw.may_have("routes") {
            valid = false;
            self.report(
                "api-gateway-routes",
                format!("service `{}` names a gateway but declares no routes", name.get_ref()),
                Some(span.clone()),
                Some(format!("declare the routes the gateway guards: [[services.{}.routes]] with method, path, scope and (for a templated route) route = \"/items/{{id}}\"", name.get_ref())),
            );
        }
        if raw.scopes.is_none() && !raw.may_have("scopes") {
            valid = false;
            self.report(
                "api-gateway-scopes",
                format!("service `{}` names a gateway but owns no scopes", name.get_ref()),
                Some(span),
                Some("the gateway enforces the service's own scopes: declare them with `scopes = { ... }`".to_owned()),
            );
        }
        let (kind, api_id) = api?;
        valid.then(|| ApiGateway {
            kind,
            api_id: api_id.get_ref().clone(),
            authorizer: section
                .authorizer
                .as_ref()
                .map(|authorizer| authorizer.get_ref().clone())
                .unwrap_or_default(),
            stage: section.stage.as_ref().map(|stage| stage.get_ref().clone()),
        })
    }

    fn unique_names(&mut self, raw: &RawConfig, services: &BTreeMap<String, Service>) {
        let mut identifiers: HashMap<&str, &str> = HashMap::new();
        let mut client_names: HashMap<&str, &str> = HashMap::new();
        for (name, raw_service) in &raw.services {
            let Some(service) = services.get(name.get_ref()) else {
                continue;
            };
            if let Some(server) = &service.resource_server
                && let Some(first) = identifiers.insert(&server.identifier, name.get_ref())
            {
                let span = raw_service
                    .identifier
                    .as_ref()
                    .map_or(name.span(), Spanned::span);
                self.report(
                        "duplicate-identifier",
                        format!("services `{first}` and `{}` both use the identifier `{}`", name.get_ref(), server.identifier),
                        Some(span),
                        Some("each resource server needs its own identifier: set `identifier = \"...\"` on one of them".to_owned()),
                    );
            }
            if let Some(client) = &service.client
                && let Some(first) = client_names.insert(&client.name, name.get_ref())
            {
                let span = raw_service
                    .client
                    .as_ref()
                    .and_then(|section| section.get_ref().name.as_ref())
                    .map_or(name.span(), Spanned::span);
                self.report(
                        "duplicate-client-name",
                        format!("services `{first}` and `{}` both name their client `{}`", name.get_ref(), client.name),
                        Some(span),
                        Some("cogwire knows clients by name: give one of them `[services.<name>.client] name = \"...\"`".to_owned()),
                    );
            }
        }
    }

    fn pool_quotas(&mut self, raw: &RawConfig, pool: &Pool, services: &BTreeMap<String, Service>) {
        let servers = services
            .values()
            .filter(|service| service.resource_server.is_some())
            .count() as u64;
        let clients = services
            .values()
            .filter(|service| service.client.is_some())
            .count() as u64;
        let span = raw.services.last().map(|(name, _)| name.span());
        if servers > pool.max_resource_servers {
            self.report(
                "too-many-resource-servers",
                format!("{servers} resource servers are declared, more than the pool's quota of {}", pool.max_resource_servers),
                span.clone(),
                Some("Cognito allows 25 per pool unless AWS raised the quota; then set `[pool] max_resource_servers`".to_owned()),
            );
        }
        if clients > pool.max_clients {
            self.report(
                "too-many-clients",
                format!("{clients} app clients are declared, more than the pool's quota of {}", pool.max_clients),
                span,
                Some("Cognito allows 1,000 per pool unless AWS raised the quota; then set `[pool] max_clients`".to_owned()),
            );
        }
    }

    fn secrets(
        &mut self,
        raw: &RawConfig,
        pool_id: Option<&str>,
        services: &BTreeMap<String, Service>,
    ) -> SecretsSettings {
        let store = match &raw.secrets.store {
            None => StoreKind::Ssm,
            Some(store) => match store.get_ref().as_str() {
                "ssm" => StoreKind::Ssm,
                "secretsmanager" => StoreKind::SecretsManager,
                other => {
                    let guess = suggest::closest(other, ["ssm", "secretsmanager"])
                        .map_or(String::new(), |guess| format!("did you mean `{guess}`? "));
                    self.report(
                        "invalid-value",
                        format!("unknown secrets store `{other}`"),
                        Some(store.span()),
                        Some(format!("{guess}use \"ssm\" (Parameter Store, the default) or \"secretsmanager\"")),
                    );
                    StoreKind::Ssm
                }
            },
        };
        let layout = match &raw.secrets.layout {
            None => SecretLayout::Json,
            Some(layout) => {
                match layout.get_ref().as_str() {
                    "json" => SecretLayout::Json,
                    "split" if store == StoreKind::Ssm => SecretLayout::Split,
                    "split" => {
                        self.report(
                        "invalid-value",
                        "the split layout is for SSM Parameter Store only",
                        Some(layout.span()),
                        Some("Secrets Manager keeps one JSON secret per service; remove `layout`".to_owned()),
                    );
                        SecretLayout::Json
                    }
                    other => {
                        self.report(
                            "invalid-value",
                            format!("unknown secrets layout `{other}`"),
                            Some(layout.span()),
                            Some(
                                "use \"json\" (one entry per service, the default) or \"split\""
                                    .to_owned(),
                            ),
                        );
                        SecretLayout::Json
                    }
                }
            }
        };
        let (path_template, path_span) = match &raw.secrets.path {
            Some(path) => (path.get_ref().clone(), Some(path.span())),
            None => (DEFAULT_SECRETS_PATH.to_owned(), None),
        };
        let settings = SecretsSettings {
            store,
            path_template,
            kms_key_id: raw
                .secrets
                .kms_key_id
                .as_ref()
                .map(|key| key.get_ref().clone()),
            layout,
            fields: self.fields(raw, layout),
        };
        let service_spans: BTreeMap<&str, Range<usize>> = raw
            .services
            .iter()
            .map(|(name, _)| (name.get_ref().as_str(), name.span()))
            .collect();
        self.secrets_path(&settings, path_span, pool_id, services, &service_spans);
        settings
    }

    /// `[secrets] fields`: known keys, each renamed to a name of its own, the client's id and
    /// secret kept (cogwire knows an entry by the client id it holds), for the JSON layout.
    fn fields(
        &mut self,
        raw: &RawConfig,
        layout: SecretLayout,
    ) -> Option<BTreeMap<String, String>> {
        let fields = raw.secrets.fields.as_ref()?;
        let example = "fields = { client_id = \"clientId\", client_secret = \"clientSecret\", token_url = \"url\" }";
        if layout == SecretLayout::Split {
            self.report(
                "secrets-fields",
                "`fields` names the keys of a JSON entry, and the layout is split",
                Some(fields.span()),
                Some(
                    "remove `fields`, or `layout = \"split\"` to store one JSON entry per service"
                        .to_owned(),
                ),
            );
            return None;
        }
        let mut names: BTreeMap<String, String> = BTreeMap::new();
        let mut keys_of: BTreeMap<&str, &str> = BTreeMap::new();
        for (key, name) in fields.get_ref() {
            if !CREDENTIAL_KEYS.contains(&key.get_ref().as_str()) {
                let hint = match suggest::closest(key.get_ref(), CREDENTIAL_KEYS.iter().copied()) {
                    Some(guess) => format!(
                        "did you mean `{guess}`? cogwire writes {}",
                        CREDENTIAL_KEYS.join(", ")
                    ),
                    None => format!("cogwire writes {}", CREDENTIAL_KEYS.join(", ")),
                };
                self.report(
                    "secrets-fields",
                    format!(
                        "`fields` renames `{}`, a key cogwire does not write",
                        key.get_ref()
                    ),
                    Some(key.span()),
                    Some(hint),
                );
                continue;
            }
            if name.get_ref().is_empty() {
                self.report(
                    "secrets-fields",
                    format!("`fields` gives `{}` an empty name", key.get_ref()),
                    Some(name.span()),
                    Some(
                        "name the key the entry uses, or leave it out of `fields` to not write it"
                            .to_owned(),
                    ),
                );
                continue;
            }
            if let Some(first) = keys_of.insert(name.get_ref(), key.get_ref()) {
                self.report(
                    "secrets-fields",
                    format!(
                        "`fields` maps both `{first}` and `{}` to `{}`",
                        key.get_ref(),
                        name.get_ref()
                    ),
                    Some(name.span()),
                    Some(
                        "each key needs a name of its own: one would overwrite the other"
                            .to_owned(),
                    ),
                );
                continue;
            }
            names.insert(key.get_ref().clone(), name.get_ref().clone());
        }
        for kept in ["client_secret", "client_id"] {
            if !fields
                .get_ref()
                .iter()
                .any(|(key, _)| key.get_ref() == kept)
            {
                self.report(
                    "secrets-fields",
                    format!("`fields` leaves out `{kept}`"),
                    Some(fields.span()),
                    Some(format!(
                        "a service needs its client's id and secret, and cogwire knows its entries by the client id they hold: name both, for example {example}"
                    )),
                );
            }
        }
        Some(names)
    }

    /// Checks the template once for its placeholders and then each expansion against the store's
    /// naming rules. Every rule broken is reported, each once, naming the first service it breaks
    /// for, however many services share the template.
    fn secrets_path(
        &mut self,
        settings: &SecretsSettings,
        span: Option<Range<usize>>,
        pool_id: Option<&str>,
        services: &BTreeMap<String, Service>,
        service_spans: &BTreeMap<&str, Range<usize>>,
    ) {
        let template = &settings.path_template;
        let mut checked_template = String::with_capacity(template.len());
        let mut unknown = BTreeSet::new();
        let mut rest = template.as_str();
        while let Some(open) = rest.find('{') {
            checked_template.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let (placeholder, next) = match after.find('}') {
                Some(close) => (&after[..close], &after[close + 1..]),
                None => (after, ""),
            };
            if placeholder == "service" || placeholder == "pool" {
                checked_template.push_str(&rest[open..rest.len() - next.len()]);
            } else {
                // Checked as an ordinary level, so the rest of the path is still checked.
                checked_template.push('x');
                if placeholder == "env" {
                    if unknown.insert(placeholder) {
                        self.report(
                            "secrets-path",
                            "the secrets path uses `{env}`, but no environment is chosen",
                            span.clone(),
                            Some("choose one with --env NAME (or COGWIRE_ENV); `{env}` is an environment's name".to_owned()),
                        );
                    }
                } else if unknown.insert(placeholder) {
                    self.report(
                        "secrets-path",
                        format!("unknown placeholder `{{{placeholder}}}` in the secrets path"),
                        span.clone(),
                        Some("the path may use `{service}` and `{pool}`, for example \"/cogwire/{service}\"".to_owned()),
                    );
                }
            }
            rest = next;
        }
        checked_template.push_str(rest);
        let (store, hint) = match settings.store {
            StoreKind::Ssm => (
                "SSM",
                "SSM parameter names use `a-zA-Z0-9_.-/`, begin with `/`, have at most 15 levels and 1,011 characters, and do not begin with `aws` or `ssm`",
            ),
            StoreKind::SecretsManager => (
                "Secrets Manager",
                "Secrets Manager names are 1 to 512 characters of `A-Za-z0-9/_+=.@-`",
            ),
        };
        let checking = SecretsSettings {
            path_template: checked_template,
            ..settings.clone()
        };
        let pool = pool_id.unwrap_or(PLACEHOLDER_POOL_ID);
        self.shared_entries(&checking, span.clone(), pool, services, service_spans);
        if settings.store == StoreKind::Ssm {
            self.reserved_entries(&checking, span.clone(), pool_id, services, service_spans);
        }
        let mut reported = Vec::new();
        for service in services.values().filter(|service| service.client.is_some()) {
            let shown = settings.path_for(&service.name, pool);
            let checked = checking.path_for(&service.name, pool);
            let suffixes: &[&str] = match settings.layout {
                SecretLayout::Json => &[""],
                SecretLayout::Split => &["/client_id", "/client_secret"],
            };
            for suffix in suffixes {
                let name = format!("{shown}{suffix}");
                let problems = match settings.store {
                    StoreKind::Ssm => rules::ssm_parameter_name(&format!("{checked}{suffix}")),
                    StoreKind::SecretsManager => rules::secret_name(&format!("{checked}{suffix}")),
                };
                for problem in problems {
                    let kind = rule_broken(&problem);
                    if reported.contains(&kind) {
                        continue;
                    }
                    reported.push(kind);
                    self.report(
                        "secrets-path",
                        format!(
                            "the secrets path expands to `{name}` for service `{}`: {}",
                            service.name,
                            problem.describe(store)
                        ),
                        span.clone(),
                        Some(hint.to_owned()),
                    );
                }
            }
        }
    }
}

impl Analyzer {
    /// Every managed client's credentials need entries of their own: two services whose entries
    /// share a name would overwrite each other's, and each would be handed the other's client.
    /// The names are the ones `sync-secrets` writes (`SecretsSettings::entry_names`); one report for each set of
    /// services that share, naming the first entry they share.
    fn shared_entries(
        &mut self,
        settings: &SecretsSettings,
        span: Option<Range<usize>>,
        pool: &str,
        services: &BTreeMap<String, Service>,
        service_spans: &BTreeMap<&str, Range<usize>>,
    ) {
        let mut owners: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        for service in services.values().filter(|service| service.client.is_some()) {
            for (name, _) in settings.entry_names(pool, &service.name) {
                let sharing = owners.entry(name).or_default();
                if !sharing.contains(&service.name.as_str()) {
                    sharing.push(&service.name);
                }
            }
        }
        let mut reported: Vec<Vec<&str>> = Vec::new();
        for (name, sharing) in owners {
            if sharing.len() < 2 || reported.contains(&sharing) {
                continue;
            }
            let shown = shown_entry(&name, pool);
            let named = name_services(&sharing);
            let (message, hint) = if settings.path_template.contains("{service}") {
                (
                    format!("{named} would store their credentials in the same entry `{shown}`"),
                    "each service needs entries of its own: make the path tell the services apart, for example \"/cogwire/{service}\"",
                )
            } else {
                (
                    format!(
                        "the secrets path has no `{{service}}`, so {named} would share the entry `{shown}`"
                    ),
                    "each service needs entries of its own: put `{service}` in the path, for example \"/cogwire/{service}\"",
                )
            };
            let place = span
                .clone()
                .or_else(|| service_spans.get(sharing[1]).cloned());
            self.report("secrets-path", message, place, Some(hint.to_owned()));
            reported.push(sharing);
        }
    }

    /// cogwire keeps its own SSM parameters under `/cogwire/<pool-id>/` (see `namespace::reserved`):
    /// credentials stored there would overwrite the ownership record or the lock, or be
    /// overwritten by them. Every name at or below that prefix is refused, whether in use today or
    /// not; with no pool id known, below any name shaped like a pool id. Secrets Manager names
    /// are a namespace apart from SSM's, where cogwire keeps nothing, so they are not checked.
    /// One report for each kind of reserved name the path reaches, naming the first service.
    fn reserved_entries(
        &mut self,
        settings: &SecretsSettings,
        span: Option<Range<usize>>,
        pool_id: Option<&str>,
        services: &BTreeMap<String, Service>,
        service_spans: &BTreeMap<&str, Range<usize>>,
    ) {
        let pool = pool_id.unwrap_or(PLACEHOLDER_POOL_ID);
        // Whether the path itself reaches the namespace, whatever a service is called.
        let path_reaches = settings
            .entry_names(pool, "x")
            .iter()
            .any(|(name, _)| reserved(name, pool_id).is_some());
        let mut reported = Vec::new();
        for service in services.values().filter(|service| service.client.is_some()) {
            for (name, _) in settings.entry_names(pool, &service.name) {
                let Some(kind) = reserved(&name, pool_id) else {
                    continue;
                };
                if reported.contains(&kind) {
                    continue;
                }
                reported.push(kind);
                let shown = shown_entry(&name, pool);
                let message = format!(
                    "the secrets path expands to `{shown}` for service `{}`: {} in SSM, under `/cogwire/{}/`",
                    service.name,
                    kind.describe(),
                    if pool_id.is_some() { pool } else { "<pool-id>" },
                );
                let (place, hint) = match (&span, path_reaches) {
                    (_, true) => (
                        span.clone(),
                        "cogwire keeps its ownership record, apply lock and secret fingerprints under `/cogwire/<pool-id>/` in SSM; store credentials outside it, for example at \"/cogwire/{service}\" (the default) or \"/apps/{pool}/{service}\"",
                    ),
                    (Some(_), false) => (
                        span.clone(),
                        "the service's name is (or could be) a user pool id, so its entries land in cogwire's own `/cogwire/<pool-id>/`: rename the service, or change the path",
                    ),
                    (None, false) => (
                        service_spans.get(service.name.as_str()).cloned(),
                        "the service's name is (or could be) a user pool id, so its entries land in cogwire's own `/cogwire/<pool-id>/`: rename the service, or set `[secrets] path`, for example \"/apps/{pool}/{service}\"",
                    ),
                };
                self.report("secrets-path", message, place, Some(hint.to_owned()));
            }
        }
    }
}

/// An entry's name as diagnostics show it: the stand-in pool id, when no pool is known, as
/// `{pool}`.
fn shown_entry(name: &str, pool: &str) -> String {
    if pool == PLACEHOLDER_POOL_ID {
        name.replace(PLACEHOLDER_POOL_ID, "{pool}")
    } else {
        name.to_owned()
    }
}

/// "services `a` and `b`", "services `a`, `b` and `c`", "services `a`, `b` and 3 others".
fn name_services(services: &[&str]) -> String {
    let quoted: Vec<String> = services
        .iter()
        .take(3)
        .map(|service| format!("`{service}`"))
        .collect();
    match (services.len(), quoted.as_slice()) {
        (2, [first, second]) => format!("services {first} and {second}"),
        (3, [first, second, third]) => format!("services {first}, {second} and {third}"),
        (count, [first, second, ..]) => {
            format!("services {first}, {second} and {} others", count - 2)
        }
        _ => format!("services {}", quoted.join(", ")),
    }
}

/// Which rule a secret name breaks, whatever the name: one report stands for every service.
fn rule_broken(
    problem: &rules::SecretNameProblem,
) -> (
    std::mem::Discriminant<rules::SecretNameProblem>,
    Option<std::mem::Discriminant<rules::NameProblem>>,
) {
    match problem {
        rules::SecretNameProblem::Name(name) => (
            std::mem::discriminant(problem),
            Some(std::mem::discriminant(name)),
        ),
        other => (std::mem::discriminant(other), None),
    }
}

/// What the file declares, gathered before any service is checked so references can be resolved
/// in any order.
#[derive(Default)]
struct Declared {
    /// Service name to its scope names.
    services: BTreeMap<String, Vec<String>>,
    /// Service name to its resource-server identifier.
    identifiers: BTreeMap<String, String>,
    by_identifier: BTreeMap<String, String>,
    unparsed: Vec<String>,
}

impl Declared {
    fn collect(raw: &RawConfig) -> Self {
        let mut declared = Self {
            unparsed: raw.unparsed_services.clone(),
            ..Self::default()
        };
        for (name, service) in &raw.services {
            let scopes = service
                .scopes
                .as_ref()
                .map(|scopes| {
                    scopes
                        .get_ref()
                        .keys()
                        .map(|scope| scope.get_ref().clone())
                        .collect()
                })
                .unwrap_or_default();
            declared.services.insert(name.get_ref().clone(), scopes);
            if service.scopes.is_some() {
                let identifier = service.identifier.as_ref().map_or_else(
                    || name.get_ref().clone(),
                    |identifier| identifier.get_ref().clone(),
                );
                declared
                    .by_identifier
                    .insert(identifier.clone(), name.get_ref().clone());
                declared
                    .identifiers
                    .insert(name.get_ref().clone(), identifier);
            }
        }
        declared
    }

    fn all_scope_refs(&self) -> Vec<String> {
        self.services
            .iter()
            .flat_map(|(service, scopes)| {
                scopes.iter().map(move |scope| format!("{service}/{scope}"))
            })
            .collect()
    }
}

/// Reads and checks a services.toml as every environment would apply it (or only `environment`),
/// as `validate` does: one model per environment checked.
pub fn load_all(
    text: &str,
    pool_id: Option<&str>,
    environment: Option<&str>,
) -> Result<Vec<Model>, Vec<Diagnostic>> {
    let (raw, mut problems) = crate::config::shape::parse(text)?;
    problems.extend(crate::config::environment::check(&raw));
    match crate::config::environment::analyze_all(&raw, pool_id, environment) {
        Ok(models) if problems.is_empty() => Ok(models),
        Ok(_) => Err(problems),
        Err(meaning) => {
            problems.extend(meaning);
            problems.sort_by_key(|problem| problem.span.as_ref().map(|span| span.start));
            Err(problems)
        }
    }
}

/// Reads and checks a services.toml from text: both stages, all diagnostics.
pub fn load(text: &str, pool_id: Option<&str>) -> Result<Model, Vec<Diagnostic>> {
    load_in(text, pool_id, None)
}

/// As `load`, for one environment (`None`: the file's own tables).
pub fn load_in(
    text: &str,
    pool_id: Option<&str>,
    environment: Option<&str>,
) -> Result<Model, Vec<Diagnostic>> {
    let (raw, mut problems) = crate::config::shape::parse(text)?;
    problems.extend(crate::config::environment::check(&raw));
    let view = match crate::config::environment::pick(&raw, environment) {
        Ok(view) => view,
        Err(problem) => {
            problems.push(problem);
            return Err(problems);
        }
    };
    match analyze(&view, pool_id) {
        Ok(model) if problems.is_empty() => Ok(model),
        Ok(_) => Err(problems),
        Err(meaning) => {
            problems.extend(meaning);
            problems.sort_by_key(|problem| problem.span.as_ref().map(|span| span.start));
            Err(problems)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<(&'static str, String)> {
        match load(text, None) {
            Ok(_) => Vec::new(),
            Err(problems) => problems
                .into_iter()
                .map(|problem| (problem.code, problem.hint.unwrap_or_default()))
                .collect(),
        }
    }

    const TWO: &str = r#"
[services.customers-v1]
identifier = "customers-v1-resource-server"
scopes = { "customer.read" = "Read", "customer.write" = "Write" }

[services.accounts-v1]
consumes = ["customers-v1/customer.read"]
[services.accounts-v1.client]
access_token_validity = "30m"
"#;

    #[test]
    fn builds_resource_servers_and_clients() {
        let model = load(TWO, None).expect("valid");
        let client = model.services["accounts-v1"]
            .client
            .as_ref()
            .expect("client");
        assert_eq!(client.name, "accounts-v1-app-client");
        assert_eq!(client.access_token_validity, Seconds(1_800));
        assert_eq!(
            client.scopes.iter().collect::<Vec<_>>(),
            vec!["customers-v1-resource-server/customer.read"]
        );
        assert_eq!(model.resource_server_count(), 1);
        assert_eq!(model.client_count(), 1);
        assert_eq!(model.scope_count(), 2);
        assert_eq!(
            model.secrets.path_for("accounts-v1", "p"),
            "/cogwire/accounts-v1"
        );
    }

    #[test]
    fn previous_names_the_service_before_a_rename_and_no_declared_one() {
        let renamed = TWO
            .replace(
                "[services.accounts-v1]\n",
                "[services.accounts-v2]\nprevious = \"accounts-v1\"\n",
            )
            .replace(
                "[services.accounts-v1.client]",
                "[services.accounts-v2.client]",
            );
        let model = load(&renamed, None).expect("valid");
        assert_eq!(
            model.services["accounts-v2"].previous.as_deref(),
            Some("accounts-v1")
        );
        let declared = TWO.replace(
            "[services.accounts-v1]\n",
            "[services.accounts-v1]\nprevious = \"customers-v1\"\n",
        );
        let codes: Vec<_> = problems(&declared)
            .into_iter()
            .map(|(code, _)| code)
            .collect();
        assert_eq!(codes, vec!["previous-declared"]);
        let twice = format!(
            "{renamed}[services.accounts-v3]\nprevious = \"accounts-v1\"\nconsumes = [\"customers-v1/customer.read\"]\n"
        );
        let codes: Vec<_> = problems(&twice).into_iter().map(|(code, _)| code).collect();
        assert_eq!(codes, vec!["duplicate-previous"]);
    }

    #[test]
    fn unknown_scope_suggests_the_closest() {
        let text = TWO.replace("customer.read\"]", "customer.reed\"]");
        assert_eq!(
            problems(&text),
            vec![(
                "unknown-scope",
                "did you mean `customers-v1/customer.read`?".to_owned()
            )]
        );
    }

    #[test]
    fn unknown_service_suggests_the_closest() {
        let text = TWO.replace("[\"customers-v1/", "[\"customer-v1/");
        assert_eq!(
            problems(&text),
            vec![(
                "unknown-service",
                "did you mean `customers-v1/customer.read`?".to_owned()
            )]
        );
    }

    #[test]
    fn identifiers_in_consumes_are_redirected_to_service_names() {
        let text = TWO.replace("[\"customers-v1/", "[\"customers-v1-resource-server/");
        assert_eq!(
            problems(&text)[0].1,
            "consumes names services, not identifiers: write `customers-v1/customer.read`"
        );
    }

    /// Two services that consume, under a `[secrets]` section.
    fn with_secrets(secrets: &str, first: &str, second: &str) -> String {
        format!(
            "[secrets]\n{secrets}\n[services.api]\nscopes = {{ \"r\" = \"R\" }}\n\
             [services.{first}]\nconsumes = [\"api/r\"]\n[services.{second}]\nconsumes = [\"api/r\"]\n"
        )
    }

    fn messages(text: &str, pool_id: Option<&str>) -> Vec<(&'static str, String, String)> {
        match load(text, pool_id) {
            Ok(_) => Vec::new(),
            Err(problems) => problems
                .into_iter()
                .map(|problem| {
                    (
                        problem.code,
                        problem.message,
                        problem.hint.unwrap_or_default(),
                    )
                })
                .collect(),
        }
    }

    /// The bug report: services named `state` and `lock` under `/cogwire/{pool}/` stored their
    /// credentials over cogwire's record and lock.
    #[test]
    fn secrets_paths_into_cogwires_own_parameters_are_refused() {
        let text = with_secrets("path = \"/cogwire/{pool}/{service}\"", "state", "lock");
        let path = text.find("\"/cogwire/{pool}").expect("path");
        for pool_id in [None, Some("us-east-1_AbC123")] {
            let shown = pool_id.unwrap_or("{pool}");
            let problems = load(&text, pool_id).expect_err("reserved");
            let found: Vec<_> = problems
                .iter()
                .map(|problem| (problem.code, problem.message.as_str()))
                .collect();
            assert_eq!(
                found,
                [
                    ("secrets-path", format!("the secrets path expands to `/cogwire/{shown}/lock` for service `lock`: cogwire's apply lock in SSM, under `/cogwire/{}/`", pool_id.unwrap_or("<pool-id>")).as_str()),
                    ("secrets-path", format!("the secrets path expands to `/cogwire/{shown}/state` for service `state`: cogwire's ownership record in SSM, under `/cogwire/{}/`", pool_id.unwrap_or("<pool-id>")).as_str()),
                ],
            );
            for problem in &problems {
                assert_eq!(problem.span.as_ref().map(|span| span.start), Some(path));
                assert!(
                    problem
                        .hint
                        .as_deref()
                        .is_some_and(|hint| hint.contains("/cogwire/<pool-id>/")),
                    "{problem:?}"
                );
            }
        }
        // Any other service there is refused too, and the split layout's names as well.
        let split = with_secrets(
            "path = \"/cogwire/{pool}/{service}\"\nlayout = \"split\"",
            "orders",
            "secrets",
        );
        let problems = messages(&split, Some("us-east-1_AbC123"));
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0].1.contains("`/cogwire/us-east-1_AbC123/orders/client_id` for service `orders`: a name cogwire reserves"),
            "{problems:?}"
        );
        assert!(
            problems[1].1.contains("`/cogwire/us-east-1_AbC123/secrets/client_id` for service `secrets`: the secret fingerprints cogwire keeps for a client"),
            "{problems:?}"
        );
        // Without `{service}`, the prefix itself.
        let text = "[secrets]\npath = \"/cogwire/{pool}\"\n[services.api]\nscopes = { \"r\" = \"R\" }\n[services.a]\nconsumes = [\"api/r\"]\n";
        let problems = messages(text, None);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0]
                .1
                .contains("the prefix of cogwire's own parameters"),
            "{problems:?}"
        );
    }

    #[test]
    fn a_service_named_as_the_pool_is_refused_under_the_default_path() {
        let text = with_secrets("", "us-east-1_AbC123", "orders");
        let name = text.find("[services.us-east-1_AbC123]").expect("service") + "[services.".len();
        for pool_id in [None, Some("us-east-1_AbC123")] {
            let problems = load(&text, pool_id).expect_err("reserved");
            assert_eq!(problems.len(), 1, "{problems:?}");
            assert_eq!(
                problems[0].span.as_ref().map(|span| span.start),
                Some(name),
                "points at the service, as the path is the default"
            );
            assert!(
                problems[0]
                    .hint
                    .as_deref()
                    .is_some_and(|hint| hint.starts_with("the service's name is")),
                "{problems:?}"
            );
        }
        // Another pool's id is only a name.
        assert!(load(&text, Some("eu-west-1_Other")).is_ok());
    }

    #[test]
    fn other_secrets_paths_under_cogwire_are_allowed() {
        for secrets in [
            "",
            "path = \"/cogwire/{service}\"\nlayout = \"split\"",
            "path = \"/cogwire/apps/{pool}/{service}\"",
            "path = \"/Cogwire/{pool}/{service}\"",
            // Secrets Manager names are not SSM's: cogwire keeps nothing there.
            "store = \"secretsmanager\"\npath = \"/cogwire/{pool}/{service}\"",
        ] {
            let text = with_secrets(secrets, "state", "lock");
            for pool_id in [None, Some("us-east-1_AbC123")] {
                assert_eq!(messages(&text, pool_id), [], "{secrets}");
            }
        }
    }

    #[test]
    fn services_that_would_share_an_entry_are_named() {
        let text = with_secrets("path = \"/apps/{pool}\"", "a", "b");
        let problems = messages(&text, Some("us-east-1_AbC123"));
        assert_eq!(
            problems,
            [(
                "secrets-path",
                "the secrets path has no `{service}`, so services `a` and `b` would share the entry `/apps/us-east-1_AbC123`".to_owned(),
                "each service needs entries of its own: put `{service}` in the path, for example \"/cogwire/{service}\"".to_owned()
            )]
        );
        // Split layout: two names each, still one report for the pair.
        let split = with_secrets("path = \"/apps/shared\"\nlayout = \"split\"", "a", "b");
        let problems = messages(&split, None);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0]
                .1
                .ends_with("would share the entry `/apps/shared/client_id`"),
            "{problems:?}"
        );
        // One managed client alone may do without `{service}`; an external one has no entry.
        let one = "[secrets]\npath = \"/apps/one\"\n[services.api]\nscopes = { \"r\" = \"R\" }\n[services.a]\nconsumes = [\"api/r\"]\n[services.b]\nexternal = true\nconsumes = []\n";
        assert_eq!(messages(one, None), []);
        assert_eq!(
            name_services(&["a", "b", "c", "d", "e"]),
            "services `a`, `b` and 3 others"
        );
        assert_eq!(name_services(&["a", "b", "c"]), "services `a`, `b` and `c`");
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let text = format!(
            "{TWO}\n[services.b]\nconsumes = [\"nope/x\", \"customer.read\"]\n[services.c]\n"
        );
        let codes: Vec<_> = problems(&text).into_iter().map(|(code, _)| code).collect();
        assert_eq!(
            codes,
            vec!["unknown-service", "bad-reference", "empty-service"]
        );
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::load;
    use crate::config::diagnostic::Source;
    use crate::style::Style;

    const EXAMPLE: &str = include_str!("../../services.toml");

    /// Loading and rendering every diagnostic of `text` must not panic.
    fn check(text: &str) {
        let source = Source::new("services.toml", text);
        if let Err(problems) = load(text, None) {
            assert!(!problems.is_empty());
            for problem in &problems {
                let _ = problem.render(&source, &Style::plain());
                let _ = problem.report(&source);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn random_text_never_panics(text in "\\PC{0,400}") {
            check(&text);
        }

        #[test]
        fn garbled_examples_never_panic(edits in prop::collection::vec((0usize..4_000, "\\PC{0,3}", 0usize..6), 1..8)) {
            let mut text = EXAMPLE.to_owned();
            for (position, insert, remove) in edits {
                let mut start = position.min(text.len());
                while !text.is_char_boundary(start) {
                    start -= 1;
                }
                let mut end = (start + remove).min(text.len());
                while !text.is_char_boundary(end) {
                    end += 1;
                }
                text.replace_range(start..end, &insert);
            }
            check(&text);
        }

        #[test]
        fn toml_shaped_noise_never_panics(
            key in "[a-z_.\"-]{1,12}",
            value in prop_oneof![Just("1".to_owned()), Just("[]".to_owned()), Just("{}".to_owned()), "\"\\PC{0,12}\"", Just("true".to_owned())],
            section in prop_oneof![Just("pool"), Just("secrets"), Just("defaults"), Just("services.a"), Just("services.a.client"), Just("services")],
        ) {
            check(&format!("[{section}]\n{key} = {value}\n"));
            check(&format!("{EXAMPLE}\n[{section}]\n{key} = {value}\n"));
        }
    }
}
