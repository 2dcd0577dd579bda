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
    /// The environment of services.toml to work in (`[environments.NAME]`); `plan` takes several
    #[arg(long = "env", global = true, env = "COGWIRE_ENV", value_name = "NAME")]
    pub env: Vec<String>,
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
    /// Show what apply would change in the user pool, like `terraform plan`
    #[command(
        long_about = "Read the user pool and show what `apply` would change: resource servers and \
clients to create (+), update (~), destroy (-) or import (<=, adopt an existing resource), with \
scope-level detail and the callers that lose access. Nothing is written."
    )]
    Plan(PlanArgs),
    /// Create and update resource servers and app clients so the pool matches services.toml
    #[command(
        long_about = "Make the user pool match services.toml: scopes are created before any client that \
needs them, clients drop scopes before resource servers remove them, and independent operations run \
at once within Cognito's quotas. Takes a lock per pool. Asks for 'yes' on a terminal; use \
--auto-approve in CI, or apply a plan saved with `plan --out`. A plan that destroys a client or a \
resource server runs without a terminal (or with --auto-approve) only with --allow-destroy too."
    )]
    Apply(ApplyArgs),
    /// Remove the apply lock of a user pool left behind by a run that died
    #[command(
        long_about = "Remove the apply lock of a user pool, the one LOCK_ID names (without LOCK_ID it shows \
the lock and its id). It refuses a lock that is still fresh (a running apply refreshes its lock) or \
whose holder is a process running on this host, unless --force. A lock whose value is unreadable has \
no id: remove it with --force alone."
    )]
    ForceUnlock(ForceUnlockArgs),
    /// Write a services.toml that describes an existing user pool, to adopt it without recreating clients
    #[command(
        long_about = "Read a live user pool and write a services.toml that describes it: resource \
servers become services with their scopes; client-credentials clients become services that consume \
those scopes. A client and a resource server whose names follow the patterns become one service. \
Other clients are listed in a comment with the reason. The first `plan` after an import only records \
what exists; client ids never change. The pool is --user-pool-id, else COGWIRE_USER_POOL_ID, else \
`[pool] id` of the services file if one exists. With --json (which needs --output), a summary of \
what was written goes to stdout. With --find-secrets PREFIX, the SSM parameters under PREFIX that \
hold a client's id give a proposed `[secrets] path` and `fields` (and `[pool] token_url`) under \
which cogwire would write exactly what they hold, or a comment saying why none is proposed; no \
value is printed."
    )]
    Import(ImportArgs),
    /// Store each managed client's credentials where its service reads them (SSM or Secrets Manager)
    #[command(
        long_about = "Store the credentials of every app client cogwire manages where its service reads \
them, as `[secrets]` says: SSM Parameter Store (a SecureString of JSON, or client_id and client_secret \
entries) or Secrets Manager. Only entries that differ are written; entries cogwire tagged for services \
no longer declared are deleted. An entry cogwire did not write is never written: its service is \
refused (exit 1) until you take it over with --adopt SERVICE. Values are never printed."
    )]
    SyncSecrets(SyncSecretsArgs),
    /// Rotate client secrets without downtime: add a second secret and store it, then retire the old
    #[command(
        long_about = "Rotate the secret of each named service's app client without downtime, using \
Cognito's two secrets per client. Without --finish: add a new secret and store it; the old one stays \
valid for services that have not re-read it. With --finish: delete every secret but the one the store \
holds, once cogwire can prove which that is (it refuses otherwise). --grace 15m does both in one run, waiting in between. The client id never \
changes, and running either step again after a crash is safe."
    )]
    RotateSecret(RotateSecretArgs),
    /// Print an access token for a service's client (client-credentials), for `$(cogwire token x)`
    #[command(
        long_about = "Get an access token for the app client cogwire manages for SERVICE, with the \
client-credentials flow, as the deployed service would: the credentials come from the secrets store \
(`[secrets]`), or with --from-cognito from the pool itself. The token is printed bare on stdout, or \
with --json as the endpoint's reply. It is cached per client and scope set in a file only you can \
read (COGWIRE_CACHE_DIR, else $XDG_CACHE_HOME/cogwire, else ~/.cache/cogwire) and reused until a \
minute before it expires."
    )]
    Token(TokenArgs),
    /// Print what a service needs to check or get tokens: issuer, JWKS URL, token URL, scopes
    #[command(
        long_about = "Print a service's OAuth settings: the pool's issuer and JWKS URL (for checking \
tokens), the token URL and its client id (for getting them), and its resource server's identifier \
and full scopes. `--format env` prints shell-quoted COGWIRE_* assignments for `eval`. \
COGWIRE_ISSUER and COGWIRE_JWKS_URI, when set, replace the issuer and JWKS URL printed (for a \
local AWS, whose JWKS is not at the real issuer's address)."
    )]
    Env(EnvArgs),
    /// Write what a runtime or another tool needs: Kubernetes, ECS, Lambda, IAM, OpenAPI
    #[command(
        long_about = "Write, for each named service (default: every service that consumes scopes), what its runtime needs to read its credentials from the store, with the names and ARNs the store tells (no value is ever read): external-secret (an External Secrets Operator ExternalSecret and a ConfigMap), secret-provider-class (a Secrets Store CSI driver SecretProviderClass with the AWS provider, and a ConfigMap), ecs (a container definition's `secrets` and `environment`), lambda (a function's environment for the Parameters and Secrets extension), iam-policy (the least-privilege policy of the runtime's role). And `openapi SERVICE`: for an API defined elsewhere (SAM, serverless, CDK, an OpenAPI file), an OpenAPI 3 document with the security scheme of the service's API Gateway authorizer (`x-amazon-apigateway-authorizer`: jwt for an HTTP API, cognito_user_pools for a REST API) and, for each declared route, its `security` with one requirement per scope (OpenAPI reads a list of requirements as any one, as API Gateway reads a route's scopes); the audience is read from cogwire's record of the pool. FORMAT is the first word, or --format FORMAT: `cogwire export ecs orders` and `cogwire export --format ecs orders` are the same. Output goes to stdout, or with --out DIR to one file per service."
    )]
    Export(ExportArgs),
    /// Check a running service: every declared route refuses no token (401) and a token without its
    /// scope (403), and serves one with it (2xx)
    #[command(
        long_about = "Call every route declared in `[[services.X.routes]]` on BASE-URL three times: \
with no token (expect 401), with a token of a managed client that lacks the route's scope (expect \
403; skipped when every client has it), and with a token of a client that has it, asking for that \
scope only (expect 2xx). Prints a table, or --json; exit 1 on any mismatch."
    )]
    Verify(VerifyArgs),
    /// Print a JSON Schema of services.toml, for editors: `cogwire schema > services.schema.json`
    #[command(
        long_about = "Print a JSON Schema (draft-07) of services.toml on stdout: every key, its type, \
default, pattern and limits, with descriptions. Editors with a TOML language server (taplo in Even \
Better TOML, Zed and Helix; tombi) read it for completion, hover text and errors as you type, when \
services.toml begins with `#:schema ./services.schema.json` (as `init` and `import` write it). \
Checks that need the whole file (references, uniqueness, quotas) stay with `validate`."
    )]
    Schema,
    /// Write a commented services.toml to start from, for a first service and its callers
    #[command(
        long_about = "Write a commented services.toml to start from (the --config path, else \
./services.toml), and services.schema.json beside it for editors. --service, --scope and \
--consumer name a first service, the scopes it offers and the services that call it; without \
them the file holds an example to rename. --from-pool writes what `import` writes for a live pool \
instead. An existing file is never replaced without --force."
    )]
    Init(InitArgs),
    /// Print a shell completion script: bash, zsh, fish, powershell or elvish
    #[command(
        long_about = "Print a completion script for SHELL on stdout, generated from cogwire's own \
command-line definition. For example:\n\n  \
bash: cogwire completions bash > ~/.local/share/bash-completion/completions/cogwire\n  \
zsh: cogwire completions zsh > \"${fpath[1]}/_cogwire\"\n  \
fish: cogwire completions fish > ~/.config/fish/completions/cogwire.fish\n  \
powershell: cogwire completions powershell | Out-String | Invoke-Expression"
    )]
    Completions(CompletionsArgs),
    /// Print cogwire's man page (roff) on stdout: `cogwire man > cogwire.1`
    Man,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Write to this file instead of stdout
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Replace --output if it exists
    #[arg(long)]
    pub force: bool,
    /// How client names name their service
    #[arg(long, default_value = "{service}-app-client", value_name = "PATTERN")]
    pub client_pattern: String,
    /// How resource-server identifiers name their service
    #[arg(
        long,
        default_value = "{service}-resource-server",
        value_name = "PATTERN"
    )]
    pub resource_server_pattern: String,
    /// Look under this SSM path for entries that hold the clients' ids (written by another tool),
    /// and propose the `[secrets] path` and `fields` that match them; no value is printed
    #[arg(long, value_name = "PREFIX")]
    pub find_secrets: Option<String>,
    /// Print API calls per operation, retries and elapsed time on stderr
    #[arg(long)]
    pub stats: bool,
}

/// How hard cogwire may press on AWS's request quotas.
#[derive(Debug, Clone, Args)]
pub struct PaceArgs {
    /// The share of Cognito's request quotas to use, in (0, 1]; lower it when other tools call
    /// Cognito in the same account at the same time
    #[arg(
        long,
        env = "COGWIRE_QUOTA_SHARE",
        default_value_t = 1.0,
        value_name = "SHARE"
    )]
    pub quota_share: f64,
    /// The account has Parameter Store's higher throughput enabled (a paid setting): pace SSM
    /// calls to its quotas instead of the standard ones (3 writes a second)
    #[arg(long, env = "COGWIRE_SSM_HIGHER_THROUGHPUT")]
    pub ssm_higher_throughput: bool,
}

impl Default for PaceArgs {
    fn default() -> Self {
        Self {
            quota_share: 1.0,
            ssm_higher_throughput: false,
        }
    }
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Save the plan as JSON, for `cogwire apply FILE` to execute exactly
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 0 when there are no changes, 2 when there are, 1 on error
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Also list resource servers and clients that cogwire neither declares nor manages
    #[arg(long)]
    pub show_unmanaged: bool,
    /// Limit the plan to this service and the resource servers it consumes from (repeatable)
    #[arg(long = "service", value_name = "NAME")]
    pub services: Vec<String>,
    /// Approve adopting resources that exist but are not cogwire's and changing them in the same
    /// run (saved with `--out`, so `apply PLANFILE` needs no `--adopt` again)
    #[arg(long)]
    pub adopt: bool,
    /// Plan even when services.toml declares no services and the plan destroys everything
    /// cogwire manages (without it, such a file is taken for an empty or truncated one)
    #[arg(long)]
    pub allow_destroy: bool,
    /// With false, trust cogwire's record for clients whose declaration did not change since it
    /// last applied them: the pool's pages are still listed, but only changed clients are
    /// described. Drift made outside cogwire in the others is not checked (run a full plan on a
    /// schedule). Default true: describe every managed client
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub refresh: bool,
    /// Print API calls per operation, retries and elapsed time on stderr
    #[arg(long)]
    pub stats: bool,
    /// Plan every environment services.toml declares, one section each (as --env a --env b)
    #[arg(long, conflicts_with = "out")]
    pub all_environments: bool,
    #[command(flatten)]
    pub pace: PaceArgs,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A plan saved by `cogwire plan --out`; it is executed exactly, or refused if the pool changed
    #[arg(value_name = "PLANFILE")]
    pub plan_file: Option<PathBuf>,
    /// Do not ask for approval (for CI); a plan that destroys needs --allow-destroy as well
    #[arg(long)]
    pub auto_approve: bool,
    /// Approve destroying clients and resource servers when no one is asked (with
    /// --auto-approve, with a saved plan off a terminal, or when services.toml declares no
    /// services), and removing a scope an unmanaged client still holds. A destroyed client's id
    /// is gone for good
    #[arg(long)]
    pub allow_destroy: bool,
    /// After applying, sync every managed client's credentials to the secrets store (as
    /// `sync-secrets` does); without it, only the clients this run created are stored
    #[arg(long)]
    pub sync_secrets: bool,
    /// Limit the apply to this service and the resource servers it consumes from (repeatable)
    #[arg(long = "service", value_name = "NAME", conflicts_with = "plan_file")]
    pub services: Vec<String>,
    /// Adopt resources that exist but are not cogwire's and change them in the same run; without
    /// it, apply refuses such a plan before any write (`cogwire import` adopts without changes)
    #[arg(long)]
    pub adopt: bool,
    /// How long to wait for another run's lock on the pool, e.g. 5m; 0 fails at once
    #[arg(long, default_value = "0", value_name = "DURATION")]
    pub lock_timeout: String,
    /// With false, trust cogwire's record for clients whose declaration did not change since it
    /// last applied them: the pool's pages are still listed, but only changed clients are
    /// described. Drift made outside cogwire in the others is not checked (run a full plan on a
    /// schedule). Default true: describe every managed client
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub refresh: bool,
    /// Print API calls per operation, retries and elapsed time on stderr
    #[arg(long)]
    pub stats: bool,
    #[command(flatten)]
    pub pace: PaceArgs,
}

#[derive(Debug, Args)]
pub struct ForceUnlockArgs {
    /// The id of the lock to remove, as `plan`, a refused apply or force-unlock without it show
    #[arg(value_name = "LOCK_ID")]
    pub lock_id: Option<String>,
    /// Remove the lock even though it looks alive (fresh, or its holder runs on this host)
    #[arg(long)]
    pub force: bool,
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

#[derive(Debug, Args)]
pub struct SyncSecretsArgs {
    /// Only this service's credentials (repeatable); nothing is deleted in such a run
    #[arg(long = "service", value_name = "NAME")]
    pub services: Vec<String>,
    /// Name the services whose credentials would change, and write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Take over this service's existing entries that cogwire did not write (repeatable): what
    /// they hold is shown (kind and JSON key names, never values), then cogwire's value and tags
    /// are written
    #[arg(long = "adopt", value_name = "SERVICE")]
    pub adopt: Vec<String>,
    /// Print API calls per operation, retries and elapsed time on stderr
    #[arg(long)]
    pub stats: bool,
    #[command(flatten)]
    pub pace: PaceArgs,
}

#[derive(Debug, Args)]
pub struct RotateSecretArgs {
    /// The services whose client secret to rotate
    #[arg(value_name = "SERVICE", required = true)]
    pub services: Vec<String>,
    /// Retire every secret but the one the store holds (the second step)
    #[arg(long, conflicts_with = "grace")]
    pub finish: bool,
    /// Do both steps in one run, waiting this long in between for services to pick up the new
    /// secret, e.g. 15m; without a value, the slowest consumer's refresh plus a margin
    #[arg(long, value_name = "DURATION", num_args = 0..=1, default_missing_value = "")]
    pub grace: Option<String>,
    /// How often the slowest consumer re-reads the store, e.g. 1h [default: `[export] refresh`];
    /// when known, --finish refuses while the new secret is younger than this plus a margin
    #[arg(long, value_name = "DURATION")]
    pub refresh: Option<String>,
    /// Retire the old secret even though a consumer may not have re-read the store yet
    #[arg(long)]
    pub force: bool,
    /// Print API calls per operation, retries and elapsed time on stderr
    #[arg(long)]
    pub stats: bool,
    #[command(flatten)]
    pub pace: PaceArgs,
}

/// Where a client's credentials come from, and whether a cached token may be used.
#[derive(Debug, Clone, Args)]
pub struct CredentialArgs {
    /// Read the client secret from Cognito (DescribeUserPoolClient) instead of the secrets store
    #[arg(long)]
    pub from_cognito: bool,
    /// Always ask the token endpoint, and do not cache the token
    #[arg(long)]
    pub no_cache: bool,
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// The service whose app client gets the token
    #[arg(value_name = "SERVICE")]
    pub service: String,
    /// Ask for this scope only (repeatable): `<identifier>/<scope>` or `<service>/<scope>`;
    /// default: every scope the client has
    #[arg(long = "scope", value_name = "SCOPE")]
    pub scopes: Vec<String>,
    #[command(flatten)]
    pub credentials: CredentialArgs,
}

#[derive(Debug, Args)]
pub struct EnvArgs {
    /// The service to describe
    #[arg(value_name = "SERVICE")]
    pub service: String,
    /// Output format (`--json` is the same as `--format json`)
    #[arg(long, value_enum, default_value_t = EnvFormat::Env)]
    pub format: EnvFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EnvFormat {
    Env,
    Json,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// FORMAT then SERVICE...: FORMAT is external-secret, secret-provider-class, ecs, lambda,
    /// iam-policy or openapi (unless --format names it); no SERVICE means every service that
    /// consumes scopes (openapi takes exactly one)
    #[arg(value_name = "FORMAT|SERVICE")]
    pub words: Vec<String>,
    /// The format, instead of the first word
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Write one file per service into DIR (`<service>.<format>.yaml|json`) instead of stdout
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// The Kubernetes namespace of the objects [default: `[export] namespace`, else none]
    #[arg(long, value_name = "NAMESPACE")]
    pub namespace: Option<String>,
    /// The External Secrets Operator store to read through [default: `[export] secret_store`,
    /// else aws-parameter-store or aws-secrets-manager]
    #[arg(long, value_name = "NAME")]
    pub secret_store: Option<String>,
    /// The store is a ClusterSecretStore [default: `[export] cluster_secret_store`]
    #[arg(long)]
    pub cluster_secret_store: bool,
    /// How often the slowest consumer re-reads the store, e.g. 1h [default: `[export] refresh`,
    /// else 1h]
    #[arg(long, value_name = "DURATION")]
    pub refresh: Option<String>,
    /// openapi, REST APIs: the user pool's AWS account, which its ARN names
    #[arg(long, value_name = "ID")]
    pub account_id: Option<String>,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Where the service runs, e.g. https://api.example.com; route paths are appended
    #[arg(long, value_name = "URL")]
    pub base_url: String,
    /// Only this service's routes (repeatable); default: every service that declares routes
    #[arg(long = "service", value_name = "NAME")]
    pub services: Vec<String>,
    #[command(flatten)]
    pub credentials: CredentialArgs,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The first service: it offers --scope and is called by each --consumer
    #[arg(long, value_name = "NAME", conflicts_with = "from_pool")]
    pub service: Option<String>,
    /// A scope the service offers, `NAME` or `NAME=DESCRIPTION` (repeatable)
    #[arg(long = "scope", value_name = "SCOPE", requires = "service")]
    pub scopes: Vec<String>,
    /// A service that calls the first one, with all its scopes (repeatable)
    #[arg(long = "consumer", value_name = "NAME", requires = "service")]
    pub consumers: Vec<String>,
    /// Describe the live pool (--user-pool-id, else COGWIRE_USER_POOL_ID), as `import` does
    #[arg(long)]
    pub from_pool: bool,
    /// Replace services.toml (and services.schema.json) if they exist
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}
