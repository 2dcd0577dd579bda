//! `import --env NAME`: the pool read as one environment's table, `[environments.NAME]`, written
//! in a new services.toml or merged into an existing one whose other tables stay byte for byte.

use std::fmt::Write as _;

use super::Import;

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("the services file does not parse, so no environment can be merged into it")]
    Unparsable,
    #[error("the services file already declares [environments.{0}]")]
    Declared(String),
}

impl MergeError {
    pub fn hint(&self) -> String {
        match self {
            Self::Unparsable => {
                "run `cogwire validate` to see why, or write to another --output".to_owned()
            }
            Self::Declared(name) => format!(
                "remove [environments.{name}] to import it again, or import another environment"
            ),
        }
    }
}

impl Import {
    /// `[environments.NAME]` with the pool's id and region; `undeclared` lists the pool's services
    /// the file does not declare, in a comment.
    pub fn environment_table(&self, name: &str, undeclared: &[String]) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "\n# Imported from user pool {} by `cogwire import --env {name}`.",
            self.pool_id
        );
        if !undeclared.is_empty() {
            let _ = writeln!(
                out,
                "# In the pool but not declared here: {}. Declare them with `environments = [\"{name}\"]`.",
                undeclared.join(", ")
            );
        }
        out.push_str(&self.secrets_comment());
        let _ = writeln!(out, "[environments.{name}]");
        let pool = self.pool_keys();
        let _ = writeln!(out, "pool = {{ {} }}", pool.join(", "));
        if let Some(secrets) = self.secrets_keys() {
            let _ = writeln!(out, "secrets = {{ {} }}", secrets.join(", "));
        }
        out
    }

    /// A new services.toml for one environment: the services as `to_toml` writes them, the pool
    /// in `[environments.NAME]` instead of `[pool]`.
    pub fn to_toml_in(&self, name: &str) -> String {
        let table = self.environment_table(name, &[]);
        self.to_toml().replacen(&self.pool_table(), &table, 1)
    }

    /// `existing` with `[environments.NAME]` added at its end; nothing else in it changes.
    pub fn merge_into(&self, existing: &str, name: &str) -> Result<String, MergeError> {
        let (raw, _) = crate::config::shape::parse(existing).map_err(|_| MergeError::Unparsable)?;
        if crate::config::environment::names(&raw)
            .iter()
            .any(|declared| declared == name)
        {
            return Err(MergeError::Declared(name.to_owned()));
        }
        let undeclared: Vec<String> = self
            .services
            .keys()
            .filter(|service| {
                !raw.services
                    .iter()
                    .any(|(declared, _)| declared.get_ref() == *service)
            })
            .cloned()
            .collect();
        let mut merged = existing.to_owned();
        if !merged.ends_with('\n') {
            merged.push('\n');
        }
        merged.push_str(&self.environment_table(name, &undeclared));
        Ok(merged)
    }
}
