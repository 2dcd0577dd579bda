//! Between the two stages of reading services.toml: environments. One file describes the same
//! services in several places (`[environments.staging]`, `[environments.prod]`), each with its own
//! pool, secrets path and defaults. `parse` reads the `[environments]` tables (shape), `check`
//! finds what is wrong across them (unknown names, overrides of undeclared services), `pick`
//! merges one environment over the file's own `[pool]`, `[secrets]` and `[defaults]`, key by key,
//! into the same raw view `model::analyze` reads, and `analyze_all` checks every environment as it
//! would be applied, naming it in each diagnostic that is its own.

use std::collections::BTreeMap;

use toml::Spanned;
use toml::de::DeValue;

use crate::config::diagnostic::Diagnostic;
use crate::config::model::{self, Model};
use crate::config::shape::{
    self, Fields, RawClient, RawConfig, RawDefaults, RawPool, RawSecrets, a_type, toml_key,
};
use crate::config::suggest;

pub(crate) const ENVIRONMENT_KEYS: &[&str] = &["pool", "secrets", "defaults", "services"];
/// The keys of a service an environment may override: those that belong to one deployment.
pub(crate) const OVERRIDE_SERVICE_KEYS: &[&str] = &["client", "api_gateway"];
pub(crate) const OVERRIDE_CLIENT_KEYS: &[&str] = &["access_token_validity"];
/// The placeholder of the secrets path that names the environment.
pub const ENV_PLACEHOLDER: &str = "{env}";

/// What one `[environments.<name>]` table overrides.
#[derive(Debug, Default, Clone)]
pub struct RawEnvironment {
    pub pool: RawPool,
    pub secrets: RawSecrets,
    pub defaults: RawDefaults,
    /// `[environments.<name>.services.<service>]`: a service's deployment-specific keys.
    pub services: Vec<(Spanned<String>, RawOverride)>,
}

#[derive(Debug, Default, Clone)]
pub struct RawOverride {
    pub client: Option<Spanned<RawClient>>,
    /// Replaces the service's `api_gateway` table whole: each environment's API and authorizer.
    pub api_gateway: Option<Spanned<shape::RawApiGateway>>,
}

/// Reads `[environments]`: a table of environments, each a table of overrides.
pub(super) fn parse(
    value: Spanned<toml::de::DeValue<'_>>,
    problems: &mut Vec<Diagnostic>,
) -> Vec<(Spanned<String>, RawEnvironment)> {
    let span = value.span();
    let DeValue::Table(table) = value.into_inner() else {
        problems.push(
            Diagnostic::new(
                "type",
                "`environments` must be a table of environments",
                Some(span),
            )
            .with_hint("declare each environment as [environments.<name>]"),
        );
        return Vec::new();
    };
    let mut environments = Vec::new();
    for (name, value) in table {
        let name = Spanned::new(name.span(), name.into_inner().into_owned());
        let header = format!("[environments.{}]", toml_key(name.get_ref()));
        let Some(mut fields) = Fields::table(
            header.clone(),
            name.get_ref(),
            value,
            ENVIRONMENT_KEYS,
            problems,
        ) else {
            continue;
        };
        let mut environment = RawEnvironment::default();
        let key = toml_key(name.get_ref());
        let section = |part: &str| format!("[environments.{key}.{part}]");
        if let Some(value) = fields.take("pool")
            && let Some(mut pool) =
                Fields::table(section("pool"), "pool", value, shape::POOL_KEYS, problems)
        {
            environment.pool = shape::pool(&mut pool, problems);
        }
        if let Some(value) = fields.take("secrets")
            && let Some(mut secrets) = Fields::table(
                section("secrets"),
                "secrets",
                value,
                shape::SECRETS_KEYS,
                problems,
            )
        {
            environment.secrets = shape::secrets(&mut secrets, problems);
        }
        if let Some(value) = fields.take("defaults")
            && let Some(mut defaults) = Fields::table(
                section("defaults"),
                "defaults",
                value,
                shape::DEFAULTS_KEYS,
                problems,
            )
        {
            environment.defaults = shape::defaults(&mut defaults, problems);
        }
        if let Some(value) = fields.take("services") {
            environment.services = overrides(&key, value, problems);
        }
        environments.push((name, environment));
    }
    environments
}

fn overrides(
    environment_key: &str,
    value: Spanned<DeValue<'_>>,
    problems: &mut Vec<Diagnostic>,
) -> Vec<(Spanned<String>, RawOverride)> {
    let span = value.span();
    let DeValue::Table(table) = value.into_inner() else {
        problems.push(
            Diagnostic::new(
                "type",
                "`services` of an environment must be a table of services",
                Some(span),
            )
            .with_hint(format!(
                "override a service's deployment-specific keys as [environments.{environment_key}.services.<name>.client]"
            )),
        );
        return Vec::new();
    };
    let mut overrides = Vec::new();
    for (name, value) in table {
        let name = Spanned::new(name.span(), name.into_inner().into_owned());
        let header = format!(
            "[environments.{environment_key}.services.{}]",
            toml_key(name.get_ref())
        );
        let Some(mut fields) = Fields::table(
            header.clone(),
            name.get_ref(),
            value,
            OVERRIDE_SERVICE_KEYS,
            problems,
        ) else {
            continue;
        };
        let mut service = RawOverride::default();
        if let Some(value) = fields.take("client") {
            let span = value.span();
            let client_header = format!(
                "[environments.{environment_key}.services.{}.client]",
                toml_key(name.get_ref())
            );
            if let Some(mut client) = Fields::table(
                client_header,
                "client",
                value,
                OVERRIDE_CLIENT_KEYS,
                problems,
            ) {
                let access_token_validity = client
                    .take("access_token_validity")
                    .and_then(|value| shape::duration(value, "access_token_validity", problems));
                service.client = Some(Spanned::new(
                    span,
                    RawClient {
                        name: None,
                        access_token_validity,
                    },
                ));
            }
        }
        if let Some(value) = fields.take("api_gateway") {
            service.api_gateway = shape::api_gateway(&toml_key(name.get_ref()), value, problems);
        }
        overrides.push((name, service));
    }
    overrides
}

/// A service's `environments = ["staging", "prod"]`.
pub(super) fn names_list(
    value: Spanned<DeValue<'_>>,
    problems: &mut Vec<Diagnostic>,
) -> Option<Spanned<Vec<Spanned<String>>>> {
    let span = value.span();
    let DeValue::Array(array) = value.into_inner() else {
        problems.push(
            Diagnostic::new(
                "type",
                "`environments` must be an array of environment names",
                Some(span),
            )
            .with_hint("for example: environments = [\"staging\"]"),
        );
        return None;
    };
    let mut names = Vec::new();
    for entry in array {
        let entry_span = entry.span();
        match entry.into_inner() {
            DeValue::String(text) => names.push(Spanned::new(entry_span, text.into_owned())),
            other => problems.push(
                Diagnostic::new(
                    "type",
                    format!(
                        "each entry of `environments` must be a string, found {}",
                        a_type(&other)
                    ),
                    Some(entry_span),
                )
                .with_hint("write the environment's name in quotes, for example \"staging\""),
            ),
        }
    }
    Some(Spanned::new(span, names))
}

/// The environments the file declares, by name.
pub fn names(raw: &RawConfig) -> Vec<String> {
    raw.environments
        .iter()
        .map(|(name, _)| name.get_ref().clone())
        .collect()
}

/// Environment names become parts of secret paths (`{env}`) and CI job names.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || matches!(character, '-' | '_'))
}

/// What is wrong with the environments whichever is chosen: names, services that name an
/// environment that is not declared, overrides of services that are not declared.
pub fn check(raw: &RawConfig) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    let declared = names(raw);
    for (name, _) in &raw.environments {
        if !valid_name(name.get_ref()) {
            problems.push(
                Diagnostic::new(
                    "invalid-name",
                    format!("the environment name `{}` is not usable", name.get_ref()),
                    Some(name.span()),
                )
                .with_hint("environment names are 1 to 64 ASCII letters, digits, `-` and `_`, because `{env}` puts them in secret paths"),
            );
        }
    }
    for (service, raw_service) in &raw.services {
        let Some(list) = &raw_service.environments else {
            continue;
        };
        if list.get_ref().is_empty() {
            problems.push(
                Diagnostic::new(
                    "empty-environments",
                    format!("service `{}` exists in no environment", service.get_ref()),
                    Some(list.span()),
                )
                .with_hint("name at least one environment, or remove `environments` for a service that exists in all"),
            );
        }
        for wanted in list.get_ref() {
            if !declared.contains(wanted.get_ref()) {
                problems.push(unknown(wanted.get_ref(), Some(wanted.span()), &declared));
            }
        }
    }
    let services: Vec<&str> = raw
        .services
        .iter()
        .map(|(name, _)| name.get_ref().as_str())
        .collect();
    for (environment, overrides) in &raw.environments {
        for (service, _) in &overrides.services {
            let name = service.get_ref();
            let Some((_, declared_service)) = raw
                .services
                .iter()
                .find(|(declared, _)| declared.get_ref() == name)
            else {
                if raw.unparsed_services.contains(name) {
                    continue;
                }
                let hint = match suggest::closest(name, services.iter().copied()) {
                    Some(guess) => format!("did you mean `{guess}`?"),
                    None => format!("declare it as [services.{}]", toml_key(name)),
                };
                problems.push(
                    Diagnostic::new(
                        "unknown-service",
                        format!(
                            "environment `{}` overrides service `{name}`, which is not declared",
                            environment.get_ref()
                        ),
                        Some(service.span()),
                    )
                    .with_hint(hint),
                );
                continue;
            };
            if !exists_in(declared_service, environment.get_ref()) {
                problems.push(
                    Diagnostic::new(
                        "unknown-service",
                        format!(
                            "environment `{}` overrides service `{name}`, which does not exist there",
                            environment.get_ref()
                        ),
                        Some(service.span()),
                    )
                    .with_hint(format!(
                        "add \"{}\" to the service's `environments`, or remove this override",
                        environment.get_ref()
                    )),
                );
            }
        }
    }
    problems
}

fn exists_in(service: &shape::RawService, environment: &str) -> bool {
    service.environments.as_ref().is_none_or(|list| {
        list.get_ref()
            .iter()
            .any(|name| name.get_ref() == environment)
    })
}

/// A service the chosen environment (or the file's own tables) does not have but other
/// environments declare: what every command that names a service says of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredElsewhere {
    pub service: String,
    /// The environments that declare it (none: its `environments` names none that exist).
    pub environments: Vec<String>,
}

impl std::fmt::Display for DeclaredElsewhere {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let service = &self.service;
        match self.environments.as_slice() {
            [] => write!(
                formatter,
                "service `{service}` is declared for no environment (its `environments` names none that exist)"
            ),
            environments => write!(
                formatter,
                "service `{service}` is declared only in environment{} {}",
                if environments.len() == 1 { "" } else { "s" },
                environments.join(", ")
            ),
        }
    }
}

impl std::error::Error for DeclaredElsewhere {}

impl DeclaredElsewhere {
    pub fn hint(&self) -> String {
        match self.environments.as_slice() {
            [] => "add a declared environment to the service's `environments`".to_owned(),
            [one] => format!("pass --env {one} (or set COGWIRE_ENV={one})"),
            several => format!(
                "pass --env with one of {} (or set COGWIRE_ENV)",
                several.join(", ")
            ),
        }
    }
}

/// An environment that is not declared, with the closest declared name.
pub fn unknown(
    name: &str,
    span: Option<std::ops::Range<usize>>,
    declared: &[String],
) -> Diagnostic {
    let hint = match suggest::closest(name, declared.iter().map(String::as_str)) {
        Some(guess) => format!("did you mean `{guess}`? declared: {}", listed(declared)),
        None if declared.is_empty() => {
            "services.toml declares no environments: add [environments.<name>] with the pool it uses"
                .to_owned()
        }
        None => format!("declared: {}", listed(declared)),
    };
    Diagnostic::new(
        "unknown-environment",
        format!("unknown environment `{name}`"),
        span,
    )
    .with_hint(hint)
}

fn listed(names: &[String]) -> String {
    names
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The raw view of one environment: its overrides over the file's own tables, key by key, and
/// only the services that exist in it. With no environment, the file's own tables and the
/// services that name no environments.
pub fn pick(raw: &RawConfig, environment: Option<&str>) -> Result<RawConfig, Diagnostic> {
    let mut view = raw.clone();
    let (kept, left_out) = raw.services.iter().cloned().partition(|(_, service)| {
        match (environment, &service.environments) {
            (_, None) => true,
            (None, Some(_)) => false,
            (Some(name), Some(_)) => exists_in(service, name),
        }
    });
    view.services = kept;
    let left_out: Vec<(Spanned<String>, shape::RawService)> = left_out;
    let declared = names(raw);
    view.elsewhere = left_out
        .into_iter()
        .map(|(name, service)| {
            let environments = declared
                .iter()
                .filter(|declared| exists_in(&service, declared))
                .cloned()
                .collect();
            (name.into_inner(), environments)
        })
        .collect();
    let Some(name) = environment else {
        return Ok(view);
    };
    let Some((_, chosen)) = raw
        .environments
        .iter()
        .find(|(declared, _)| declared.get_ref() == name)
    else {
        return Err(unknown(name, None, &names(raw)));
    };
    view.environment = Some(name.to_owned());
    overlay(&mut view.pool.id, &chosen.pool.id);
    overlay(&mut view.pool.region, &chosen.pool.region);
    overlay(&mut view.pool.domain, &chosen.pool.domain);
    overlay(&mut view.pool.token_url, &chosen.pool.token_url);
    overlay(
        &mut view.pool.max_resource_servers,
        &chosen.pool.max_resource_servers,
    );
    overlay(&mut view.pool.max_clients, &chosen.pool.max_clients);
    overlay(&mut view.secrets.store, &chosen.secrets.store);
    overlay(&mut view.secrets.path, &chosen.secrets.path);
    overlay(&mut view.secrets.kms_key_id, &chosen.secrets.kms_key_id);
    overlay(&mut view.secrets.layout, &chosen.secrets.layout);
    overlay(&mut view.secrets.fields, &chosen.secrets.fields);
    overlay(
        &mut view.defaults.access_token_validity,
        &chosen.defaults.access_token_validity,
    );
    if let Some(path) = &mut view.secrets.path {
        *path = Spanned::new(path.span(), path.get_ref().replace(ENV_PLACEHOLDER, name));
    }
    for (service, overrides) in &chosen.services {
        let Some((_, target)) = view
            .services
            .iter_mut()
            .find(|(declared, _)| declared.get_ref() == service.get_ref())
        else {
            continue;
        };
        if let Some(client) = &overrides.client {
            let validity = client.get_ref().access_token_validity.clone();
            match &mut target.client {
                Some(existing) => {
                    let span = existing.span();
                    let mut merged = existing.get_ref().clone();
                    overlay(&mut merged.access_token_validity, &validity);
                    *existing = Spanned::new(span, merged);
                }
                None => target.client = Some(client.clone()),
            }
        }
        overlay(&mut target.api_gateway, &overrides.api_gateway);
    }
    Ok(view)
}

fn overlay<T: Clone>(base: &mut Option<T>, over: &Option<T>) {
    if over.is_some() {
        base.clone_from(over);
    }
}

/// Every view `validate` checks: each environment, and the file's own tables when they can be
/// used alone (no environments declared, or `[pool] id` set).
fn views(raw: &RawConfig, only: Option<&str>) -> Vec<Option<String>> {
    if let Some(name) = only {
        return vec![Some(name.to_owned())];
    }
    let declared = names(raw);
    let mut views = Vec::new();
    let names_env = raw
        .secrets
        .path
        .as_ref()
        .is_some_and(|path| path.get_ref().contains(ENV_PLACEHOLDER));
    if declared.is_empty() || (raw.pool.id.is_some() && !names_env) {
        views.push(None);
    }
    views.extend(declared.into_iter().map(Some));
    views
}

/// Checks the file as every environment would apply it (or only `only`). A problem found in
/// every view is reported once, as it is written; one found in some views only names them.
pub fn analyze_all(
    raw: &RawConfig,
    pool_id: Option<&str>,
    only: Option<&str>,
) -> Result<Vec<Model>, Vec<Diagnostic>> {
    let views = views(raw, only);
    let mut models = Vec::new();
    // Each problem, with the views it was found in.
    let mut found: Vec<(Diagnostic, Vec<Option<String>>)> = Vec::new();
    let mut note = |problem: Diagnostic, view: &Option<String>| match found
        .iter_mut()
        .find(|(seen, _)| *seen == problem)
    {
        Some((_, seen_in)) => seen_in.push(view.clone()),
        None => found.push((problem, vec![view.clone()])),
    };
    for view in &views {
        let merged = match pick(raw, view.as_deref()) {
            Ok(merged) => merged,
            Err(problem) => {
                note(problem, view);
                continue;
            }
        };
        match model::analyze(&merged, pool_id) {
            Ok(model) => models.push(model),
            Err(problems) => problems.into_iter().for_each(|problem| note(problem, view)),
        }
    }
    let mut problems: Vec<Diagnostic> = found
        .into_iter()
        .map(|(problem, seen_in)| {
            if seen_in.len() == views.len() && only.is_none() {
                problem
            } else {
                named(problem, &seen_in)
            }
        })
        .collect();
    if problems.is_empty() {
        problems.extend(shared_pools(raw, &models));
        problems.extend(shared_authorizers(&models));
    }
    if problems.is_empty() {
        Ok(models)
    } else {
        problems.sort_by_key(|problem| problem.span.as_ref().map(|span| span.start));
        Err(problems)
    }
}

/// One API Gateway authorizer trusts one pool: two environments with different pools that name
/// the same authorizer would each point it at their own pool, in turn.
fn shared_authorizers(models: &[Model]) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    let mut claimed: BTreeMap<(String, String), (&Model, &str)> = BTreeMap::new();
    for model in models {
        let Some(pool) = model.pool.id.as_deref() else {
            continue;
        };
        for service in model.services.values() {
            let Some(gateway) = &service.api_gateway else {
                continue;
            };
            let key = (gateway.api_id.clone(), gateway.authorizer.clone());
            match claimed.get(&key) {
                Some((first, first_pool)) if *first_pool != pool => {
                    problems.push(
                        Diagnostic::new(
                            "shared-authorizer",
                            format!(
                                "{} and {} both point authorizer `{}` of {} at their own pool: each apply would take it from the other",
                                label(first),
                                label(model),
                                gateway.authorizer,
                                gateway.label()
                            ),
                            None,
                        )
                        .with_hint(format!(
                            "give each environment its own API: [environments.<name>.services.{}.api_gateway] with its http_api and authorizer",
                            service.name
                        )),
                    );
                }
                Some(_) => {}
                None => {
                    claimed.insert(key, (model, pool));
                }
            }
        }
    }
    problems
}

/// How a diagnostic across environments names a model's: `environment `prod``, or the file's own
/// `[pool]` when no environment is chosen.
fn label(model: &Model) -> String {
    match &model.environment {
        Some(name) => format!("environment `{name}`"),
        None => "the file's own [pool]".to_owned(),
    }
}

/// The first service that two models of one pool do not declare alike, as far as the pool is
/// concerned (its resource server, its client, whether it is another team's, its old name).
fn differing_service(first: &Model, second: &Model) -> Option<String> {
    let pool_side = |model: &Model, name: &str| {
        model.services.get(name).map(|service| {
            (
                service.external,
                service.resource_server.clone(),
                service.client.clone(),
                service.previous.clone(),
            )
        })
    };
    first
        .services
        .keys()
        .chain(second.services.keys())
        .find(|name| pool_side(first, name) != pool_side(second, name))
        .cloned()
}

/// Prefixes a problem with the environments it was found in.
fn named(mut problem: Diagnostic, views: &[Option<String>]) -> Diagnostic {
    let names: Vec<String> = views
        .iter()
        .map(|view| match view {
            Some(name) => format!("`{name}`"),
            None => "the file's own [pool]".to_owned(),
        })
        .collect();
    let label = if names.len() == 1 {
        if views[0].is_some() {
            format!("environment {}", names[0])
        } else {
            names[0].clone()
        }
    } else {
        format!("environments {}", names.join(", "))
    };
    problem.message = format!("{label}: {}", problem.message);
    problem
}

/// Two environments in one pool must not store credentials in the same entries: each apply
/// would overwrite the other's.
fn shared_pools(raw: &RawConfig, models: &[Model]) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    let mut by_pool: BTreeMap<&str, Vec<&Model>> = BTreeMap::new();
    for model in models {
        if let Some(pool) = &model.pool.id {
            by_pool.entry(pool).or_default().push(model);
        }
    }
    for (pool, sharing) in by_pool {
        for (index, first) in sharing.iter().enumerate() {
            for second in &sharing[index + 1..] {
                let span = second.environment.as_ref().and_then(|name| {
                    raw.environments
                        .iter()
                        .find(|(declared, _)| declared.get_ref() == name)
                        .map(|(declared, _)| declared.span())
                });
                // One pool holds one record: an apply of either would take what only the other
                // declares (or declares otherwise) as its own to change or destroy.
                if let Some(service) = differing_service(first, second) {
                    problems.push(
                        Diagnostic::new(
                            "shared-pool",
                            format!(
                                "{} and {} share pool `{pool}` but declare `{service}` differently there: an apply of either would undo the other's",
                                label(first),
                                label(second)
                            ),
                            span.clone(),
                        )
                        .with_hint("give each environment its own pool; environments that share one must declare the same services, scopes and clients (only their secrets paths may differ)"),
                    );
                    continue;
                }
                let entries = |model: &Model| -> Vec<String> {
                    model
                        .services
                        .values()
                        .filter(|service| service.client.is_some())
                        .flat_map(|service| model.secrets.entry_names(pool, &service.name))
                        .map(|(name, _)| name)
                        .collect()
                };
                let theirs = entries(second);
                let Some(shared) = entries(first)
                    .into_iter()
                    .find(|entry| theirs.contains(entry))
                else {
                    continue;
                };
                problems.push(
                    Diagnostic::new(
                        "shared-secrets-path",
                        format!(
                            "{} and {} share pool `{pool}` and would both store credentials at `{shared}`",
                            label(first),
                            label(second)
                        ),
                        span,
                    )
                    .with_hint("give each environment its own secrets path, for example [secrets] path = \"/{env}/{service}/cogwire\""),
                );
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests;
