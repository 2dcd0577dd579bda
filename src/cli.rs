//! The command line: global flags and one subcommand per job.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "cogwire",
    version,
    about = "Machine-to-machine OAuth 2.0 on Amazon Cognito, declared in one file",
    long_about = "cogwire keeps a Cognito user pool's resource servers (the scopes each service offers) and \
app clients (the scopes each caller may use) in line with services.toml, the way terraform keeps \
infrastructure in line with its files: `plan` shows what would change, `apply` makes it so.\n\n\
AWS credentials come from the standard chain (AWS_PROFILE, environment, SSO, instance roles); \
AWS_ENDPOINT_URL points cogwire at another endpoint, such as a local test server.",
    after_help = "Exit codes: 0 success, 1 error, 2 changes present (plan --detailed-exitcode).\n\
Colour is off when NO_COLOR is set or the output is not a terminal."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The services file [env: COGWIRE_CONFIG] [default: ./services.toml]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// The Cognito user pool, overriding `[pool] id` in the file
    #[arg(long, global = true, env = "COGWIRE_USER_POOL_ID", value_name = "ID")]
    pub user_pool_id: Option<String>,
    /// The AWS region, overriding `[pool] region` and the AWS default chain
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,
    /// A named AWS profile from ~/.aws/config
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// Print machine-readable JSON on stdout instead of text
    #[arg(long, global = true)]
    pub json: bool,
    /// More logging on stderr (-v info, -vv debug, -vvv trace); secrets are always redacted
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

impl GlobalArgs {
    /// `--config`, else `COGWIRE_CONFIG`, else `./services.toml`.
    pub fn config_path(&self) -> PathBuf {
        self.config
            .clone()
            .or_else(|| {
                std::env::var_os("COGWIRE_CONFIG")
                    .filter(|value| !value.is_empty())
                    .map(PathBuf::from)
            })
            .unwrap_or_else(|| PathBuf::from("services.toml"))
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check services.toml offline: syntax, references, and Cognito's naming rules and limits
    #[command(
        long_about = "Check services.toml without calling AWS. Every problem is reported at once, \
with its file, line and column, the offending line, and a hint. Exit 1 if any is found."
    )]
    Validate,
    /// Print the service dependency graph and the order in which services can deploy
    #[command(
        long_about = "Print the service dependency graph: an edge from each consumer to each provider \
it consumes from, and deployment waves, providers first. Services that consume each other share a wave \
and are named as a cycle. `apply` itself never depends on this order: it creates every scope before any \
client that needs it."
    )]
    Graph(GraphArgs),
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    /// Output format (`--json` is the same as `--format json`)
    #[arg(long, value_enum, default_value_t = GraphFormat::Text)]
    pub format: GraphFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    Text,
    Dot,
    Mermaid,
    Json,
}
