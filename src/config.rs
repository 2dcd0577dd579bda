//! Stage one of reading services.toml: its shape. TOML syntax, types and known keys, with the span
//! of every value kept so that the next stage (`model`) can point at the exact token it rejects.
//!
//! Sections and services are deserialized one at a time, so one bad service does not hide the
//! problems of the others.

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use crate::diagnostic::Diagnostic;

/// The largest services.toml cogwire reads; past this it is surely not a hand-written file, and
/// refusing early keeps memory bounded on hostile input.
pub const MAX_FILE_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, Default)]
pub struct RawConfig {
    pub pool: RawPool,
    pub secrets: RawSecrets,
    pub defaults: RawDefaults,
    pub services: Vec<(Spanned<String>, RawService)>,
    /// Services whose shape was wrong: known to exist, so references to them are not reported
    /// as unknown on top of the shape problem.
    pub unparsed_services: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPool {
    pub id: Option<Spanned<String>>,
    pub region: Option<Spanned<String>>,
    pub domain: Option<Spanned<String>>,
    pub token_url: Option<Spanned<String>>,
    pub max_resource_servers: Option<Spanned<i64>>,
    pub max_clients: Option<Spanned<i64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSecrets {
    pub store: Option<Spanned<String>>,
    pub path: Option<Spanned<String>>,
    pub kms_key_id: Option<Spanned<String>>,
    pub layout: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDefaults {
    pub access_token_validity: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawService {
    pub identifier: Option<Spanned<String>>,
    /// The resource server's display name; defaults to the service name.
    pub name: Option<Spanned<String>>,
    pub scopes: Option<Spanned<BTreeMap<Spanned<String>, Spanned<String>>>>,
    pub consumes: Option<Spanned<Vec<Spanned<String>>>>,
    pub client: Option<Spanned<RawClient>>,
    pub external: Option<Spanned<bool>>,
    pub routes: Option<Vec<Spanned<RawRoute>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawClient {
    pub name: Option<Spanned<String>>,
    pub access_token_validity: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRoute {
    pub method: Spanned<String>,
    pub path: Spanned<String>,
    pub scope: Spanned<String>,
    pub body: Option<toml::Value>,
}

const TOP_LEVEL_KEYS: &[&str] = &["pool", "secrets", "defaults", "services"];

/// Parses the text into its raw shape: as much of it as is well formed, and every shape problem
/// found. A TOML syntax error leaves nothing to read and is the only problem returned.
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
    let document = match DeTable::parse(text) {
        Ok(document) => document,
        Err(error) => return Err(vec![syntax_diagnostic(&error)]),
    };
    let mut config = RawConfig::default();
    let mut problems = Vec::new();
    for (key, value) in document.into_inner() {
        match key.get_ref().as_ref() {
            "pool" => config.pool = section(value, &mut problems),
            "secrets" => config.secrets = section(value, &mut problems),
            "defaults" => config.defaults = section(value, &mut problems),
            "services" => {
                (config.services, config.unparsed_services) = services(value, &mut problems)
            }
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
    Ok((config, problems))
}

fn section<T: Default + for<'de> Deserialize<'de>>(
    value: Spanned<DeValue<'_>>,
    problems: &mut Vec<Diagnostic>,
) -> T {
    match T::deserialize(ValueDeserializer::from(value)) {
        Ok(parsed) => parsed,
        Err(error) => {
            problems.push(shape_diagnostic(&error));
            T::default()
        }
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
    for (name, service) in table {
        let name = Spanned::new(name.span(), name.into_inner().into_owned());
        if !service.get_ref().is_table() {
            problems.push(
                Diagnostic::new(
                    "type",
                    format!(
                        "service `{}` must be a table, found {}",
                        name.get_ref(),
                        service.get_ref().type_str()
                    ),
                    Some(service.span()),
                )
                .with_hint(format!(
                    "write it as a section: [services.{}]",
                    name.get_ref()
                )),
            );
            unparsed.push(name.into_inner());
            continue;
        }
        match RawService::deserialize(ValueDeserializer::from(service)) {
            Ok(parsed) => services.push((name, parsed)),
            Err(error) => {
                problems.push(shape_diagnostic(&error));
                unparsed.push(name.into_inner());
            }
        }
    }
    (services, unparsed)
}

fn syntax_diagnostic(error: &toml::de::Error) -> Diagnostic {
    let message = first_line(error.message());
    if message.contains("duplicate key") {
        return Diagnostic::new(
            "duplicate-key",
            format!("declared twice: {message}"),
            error.span(),
        )
        .with_hint("each key, and so each scope and each service, is declared only once");
    }
    let hint = if message.contains("invalid string") {
        Some("strings are quoted: scopes = { \"customer.read\" = \"Read customers\" }".to_owned())
    } else {
        Some("see the services.toml reference in the README".to_owned())
    };
    Diagnostic::new("syntax", format!("invalid TOML: {message}"), error.span())
        .with_optional_hint(hint)
}

/// Turns serde's messages into ours: an unknown field gets the known keys as a hint (and a guess),
/// a type mismatch says what was expected.
fn shape_diagnostic(error: &toml::de::Error) -> Diagnostic {
    let message = first_line(error.message());
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (field, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let known: Vec<&str> = expected
            .split('`')
            .enumerate()
            .filter_map(|(index, part)| (index % 2 == 1).then_some(part))
            .collect();
        return Diagnostic::new(
            "unknown-key",
            format!("unknown key `{field}`"),
            error.span(),
        )
        .with_hint(known_keys_hint(field, &known));
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or(rest);
        return Diagnostic::new(
            "missing-key",
            format!("missing key `{field}`"),
            error.span(),
        )
        .with_hint(format!("add `{field} = ...` here"));
    }
    let hint = message
        .strip_prefix("invalid type: ")
        .and_then(|rest| rest.split_once(", expected "))
        .map(|(_, expected)| format!("expected {expected}"));
    Diagnostic::new(
        "type",
        message.replace("invalid type: ", "wrong type: "),
        error.span(),
    )
    .with_optional_hint(hint)
}

fn known_keys_hint(unknown: &str, known: &[&str]) -> String {
    let listed = known
        .iter()
        .map(|key| format!("`{key}`"))
        .collect::<Vec<_>>()
        .join(", ");
    match crate::suggest::closest(unknown, known.iter().copied()) {
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
        assert_eq!(config.unparsed_services, vec!["a".to_owned()]);
        assert_eq!(problems[0].message, "unknown key `consume`");
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
    fn a_scope_declared_twice_is_a_syntax_error_with_a_hint() {
        let problems =
            parse("[services.a]\nscopes = { \"r\" = \"R\", \"r\" = \"R\" }\n").expect_err("dup");
        assert_eq!(problems[0].code, "duplicate-key");
        assert!(
            problems[0]
                .hint
                .as_deref()
                .unwrap_or_default()
                .contains("only once")
        );
    }
}
