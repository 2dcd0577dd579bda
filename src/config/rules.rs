//! Cognito's own rules for names and counts, checked offline so that `apply` never fails on them.
//!
//! The character classes are those of the Cognito API reference; each check returns the first
//! offending character so a diagnostic can name it.

use crate::config::duration::Seconds;

pub const MAX_SCOPES_PER_RESOURCE_SERVER: usize = 100;
pub const MAX_SCOPES_PER_CLIENT: usize = 50;
/// Adjustable quotas: `[pool] max_resource_servers` and `max_clients` override them.
pub const DEFAULT_MAX_RESOURCE_SERVERS: u64 = 25;
pub const DEFAULT_MAX_CLIENTS: u64 = 1_000;
pub const MIN_ACCESS_TOKEN_VALIDITY: Seconds = Seconds(5 * 60);
pub const MAX_ACCESS_TOKEN_VALIDITY: Seconds = Seconds::DAY;
pub const MAX_SCOPE_DESCRIPTION: usize = 256;

/// Why a name breaks a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameProblem {
    Empty,
    TooLong { length: usize, max: usize },
    BadCharacter(char),
}

impl NameProblem {
    /// The problem with a name whose rule is Cognito's.
    pub fn describe(&self, what: &str) -> String {
        self.describe_for(what, "Cognito")
    }

    /// The problem with a name, saying whose rule it breaks (`authority`): Cognito's, SSM's, or
    /// cogwire's own.
    pub fn describe_for(&self, what: &str, authority: &str) -> String {
        match self {
            Self::Empty => format!("{what} is empty"),
            Self::TooLong { length, max } => {
                format!("{what} is {length} characters long, more than {authority} allows ({max})")
            }
            Self::BadCharacter(character) => format!(
                "{what} contains {}, which {authority} does not allow",
                show(*character)
            ),
        }
    }
}

fn show(character: char) -> String {
    if character.is_control() || character.is_whitespace() {
        format!("the character U+{:04X}", u32::from(character))
    } else {
        format!("`{character}`")
    }
}

fn check(name: &str, max: usize, allowed: impl Fn(char) -> bool) -> Result<(), NameProblem> {
    let length = name.chars().count();
    if length == 0 {
        return Err(NameProblem::Empty);
    }
    if let Some(bad) = name.chars().find(|&character| !allowed(character)) {
        return Err(NameProblem::BadCharacter(bad));
    }
    if length > max {
        return Err(NameProblem::TooLong { length, max });
    }
    Ok(())
}

/// `[\x21\x23-\x5B\x5D-\x7E]{1,256}`: printable ASCII but space, `"` and `\`.
pub fn identifier(name: &str) -> Result<(), NameProblem> {
    check(
        name,
        256,
        |character| matches!(character, '\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E'),
    )
}

/// `[\x21\x23-\x2E\x30-\x5B\x5D-\x7E]{1,256}`: as an identifier, and no `/` either.
pub fn scope_name(name: &str) -> Result<(), NameProblem> {
    check(
        name,
        256,
        |character| matches!(character, '\x21' | '\x23'..='\x2E' | '\x30'..='\x5B' | '\x5D'..='\x7E'),
    )
}

fn word_space_or_symbol(character: char) -> bool {
    character.is_ascii_alphanumeric()
        || matches!(
            character,
            '_' | ' ' | '\t' | '+' | '=' | ',' | '.' | '@' | '-'
        )
}

/// `[\w\s+=,.@-]{1,256}`.
pub fn resource_server_name(name: &str) -> Result<(), NameProblem> {
    check(name, 256, word_space_or_symbol)
}

/// `[\w\s+=,.@-]{1,128}`.
pub fn client_name(name: &str) -> Result<(), NameProblem> {
    check(name, 128, word_space_or_symbol)
}

/// Service names become defaults for the other names and `{service}` in secret paths, so they keep
/// to characters every one of those allows.
pub fn service_name(name: &str) -> Result<(), NameProblem> {
    check(name, 100, |character| {
        character.is_ascii_alphanumeric() || matches!(character, '-' | '_' | '.')
    })?;
    if name.starts_with(['-', '_', '.']) {
        return Err(NameProblem::BadCharacter(
            name.chars().next().unwrap_or('-'),
        ));
    }
    Ok(())
}

/// One way a secret's name breaks its store's rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretNameProblem {
    Name(NameProblem),
    NotQualified,
    EmptyLevel,
    TooManyLevels(usize),
    Reserved,
}

impl SecretNameProblem {
    /// `store` names whose rule it is: "SSM" or "Secrets Manager".
    pub fn describe(&self, store: &str) -> String {
        match self {
            Self::Name(problem) => problem.describe_for("the name", store),
            Self::NotQualified => "a hierarchical parameter name must begin with `/`".to_owned(),
            Self::EmptyLevel => {
                "a parameter name has no empty levels (`//` or a trailing `/`)".to_owned()
            }
            Self::TooManyLevels(levels) => {
                format!("the name has {levels} levels, more than SSM allows (15)")
            }
            Self::Reserved => "SSM reserves names that begin with `aws` or `ssm`".to_owned(),
        }
    }
}

fn name_problems(name: &str, max: usize, allowed: impl Fn(char) -> bool) -> Vec<NameProblem> {
    let length = name.chars().count();
    if length == 0 {
        return vec![NameProblem::Empty];
    }
    let mut problems = Vec::new();
    if let Some(bad) = name.chars().find(|&character| !allowed(character)) {
        problems.push(NameProblem::BadCharacter(bad));
    }
    if length > max {
        problems.push(NameProblem::TooLong { length, max });
    }
    problems
}

/// SSM parameter names: `a-zA-Z0-9_.-/`, at most 1,011 characters and 15 levels, fully qualified
/// when hierarchical, not under the reserved `aws` and `ssm` prefixes. Every rule broken is
/// returned, none when the name is valid.
pub fn ssm_parameter_name(name: &str) -> Vec<SecretNameProblem> {
    let mut problems: Vec<SecretNameProblem> = name_problems(name, 1_011, |character| {
        character.is_ascii_alphanumeric() || matches!(character, '_' | '.' | '-' | '/')
    })
    .into_iter()
    .map(SecretNameProblem::Name)
    .collect();
    if name.contains('/') && !name.starts_with('/') {
        problems.push(SecretNameProblem::NotQualified);
    }
    if name.contains("//") || (name.len() > 1 && name.ends_with('/')) {
        problems.push(SecretNameProblem::EmptyLevel);
    }
    let levels = name.trim_start_matches('/').split('/').count();
    if levels > 15 {
        problems.push(SecretNameProblem::TooManyLevels(levels));
    }
    let lowered = name.trim_start_matches('/').to_ascii_lowercase();
    if lowered.starts_with("aws") || lowered.starts_with("ssm") {
        problems.push(SecretNameProblem::Reserved);
    }
    problems
}

/// Secrets Manager names: `A-Za-z0-9/_+=.@-`, 1 to 512 characters. Every rule broken is returned.
pub fn secret_name(name: &str) -> Vec<SecretNameProblem> {
    name_problems(name, 512, |character| {
        character.is_ascii_alphanumeric()
            || matches!(character, '/' | '_' | '+' | '=' | '.' | '@' | '-')
    })
    .into_iter()
    .map(SecretNameProblem::Name)
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_allow_urls_but_not_quotes_or_spaces() {
        assert_eq!(identifier("https://gateway.example.com"), Ok(()));
        assert_eq!(identifier("a b"), Err(NameProblem::BadCharacter(' ')));
        assert_eq!(identifier("a\"b"), Err(NameProblem::BadCharacter('"')));
        assert_eq!(identifier(&"x".repeat(256)), Ok(()));
        assert_eq!(
            identifier(&"x".repeat(257)),
            Err(NameProblem::TooLong {
                length: 257,
                max: 256
            })
        );
        assert_eq!(identifier(""), Err(NameProblem::Empty));
    }

    #[test]
    fn scope_names_exclude_the_slash() {
        assert_eq!(scope_name("customer.read"), Ok(()));
        assert_eq!(scope_name("a/b"), Err(NameProblem::BadCharacter('/')));
        assert_eq!(scope_name("é"), Err(NameProblem::BadCharacter('é')));
    }

    #[test]
    fn client_names_stop_at_128() {
        assert_eq!(client_name(&"c".repeat(128)), Ok(()));
        assert!(client_name(&"c".repeat(129)).is_err());
        assert_eq!(client_name("a:b"), Err(NameProblem::BadCharacter(':')));
    }

    #[test]
    fn ssm_names() {
        assert_eq!(ssm_parameter_name("/cogwire/orders-v1"), vec![]);
        assert_eq!(
            ssm_parameter_name("cogwire/orders"),
            vec![SecretNameProblem::NotQualified]
        );
        assert_eq!(
            ssm_parameter_name("/aws/x"),
            vec![SecretNameProblem::Reserved]
        );
        assert_eq!(
            ssm_parameter_name("/SSM-x"),
            vec![SecretNameProblem::Reserved]
        );
        assert_eq!(
            ssm_parameter_name("/a b"),
            vec![SecretNameProblem::Name(NameProblem::BadCharacter(' '))]
        );
        assert_eq!(
            ssm_parameter_name(&"/a".repeat(16)),
            vec![SecretNameProblem::TooManyLevels(16)]
        );
        assert_eq!(ssm_parameter_name(&"/a".repeat(15)), vec![]);
        assert!(!ssm_parameter_name(&format!("/{}", "a".repeat(1_011))).is_empty());
    }

    #[test]
    fn every_broken_rule_is_returned() {
        assert_eq!(
            ssm_parameter_name("/aws/a b//"),
            vec![
                SecretNameProblem::Name(NameProblem::BadCharacter(' ')),
                SecretNameProblem::EmptyLevel,
                SecretNameProblem::Reserved,
            ]
        );
        assert_eq!(
            secret_name(&format!("{}!", "s".repeat(512))),
            vec![
                SecretNameProblem::Name(NameProblem::BadCharacter('!')),
                SecretNameProblem::Name(NameProblem::TooLong {
                    length: 513,
                    max: 512
                }),
            ]
        );
    }

    #[test]
    fn service_names_are_cogwires_rule() {
        let problem = service_name("ünï").expect_err("not ASCII");
        assert_eq!(
            problem.describe_for("the service name `ünï`", "cogwire's rule for service names"),
            "the service name `ünï` contains `ü`, which cogwire's rule for service names does not allow"
        );
    }
}
