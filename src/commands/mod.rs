//! The binary's edge: each subcommand wires the pure stages to files, terminals and AWS, and turns
//! the outcome into an exit status. `anyhow` lives here and nowhere deeper.

/// `print!` for the commands' results on stdout. A reader that went away (`cogwire plan | head`)
/// is no crash: the rest of the output is dropped and the command finishes its work, so an
/// apply still releases its lock and reports through its exit code.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($arg)*);
    }};
}

/// `println!`, as `out!` is `print!`.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

mod apply;
mod env;
mod export;
mod graph;
mod import;
mod init;
mod plan;
mod pool;
mod rotate_secret;
mod schema;
mod sync_secrets;
mod token;
mod unlock;
mod validate;
mod verify;

use std::path::Path;

use crate::cli::{Cli, Command};
use crate::config::diagnostic::{Diagnostic, Source};
use crate::config::model::Model;
use crate::exit::ExitStatus;
use crate::style::Style;

pub async fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    crate::logging::init(cli.global.verbose);
    match &cli.command {
        Command::Validate => validate::run(&cli.global),
        Command::Graph(args) => graph::run(&cli.global, args),
        Command::Plan(args) => plan::run(&cli.global, args).await,
        Command::Apply(args) => apply::run(&cli.global, args).await,
        Command::ForceUnlock(args) => unlock::run(&cli.global, args).await,
        Command::Import(args) => import::run(&cli.global, args).await,
        Command::SyncSecrets(args) => sync_secrets::run(&cli.global, args).await,
        Command::RotateSecret(args) => rotate_secret::run(&cli.global, args).await,
        Command::Token(args) => token::run(&cli.global, args).await,
        Command::Env(args) => env::run(&cli.global, args).await,
        Command::Export(args) => export::run(&cli.global, args).await,
        Command::Verify(args) => verify::run(&cli.global, args).await,
        Command::Schema => schema::schema(),
        Command::Init(args) => init::run(&cli.global, args).await,
        Command::Completions(args) => schema::completions(args),
        Command::Man => schema::man(),
    }
}

/// Prints an error that ends a command: the message, its causes, and a hint where one is known.
pub fn report_error(error: &anyhow::Error) {
    let style = Style::for_stderr();
    eprintln!("{}: {error}", style.error("error"));
    for cause in error.chain().skip(1) {
        eprintln!("  {} {cause}", style.dim("caused by:"));
    }
    if let Some(hint) = error.chain().find_map(hint_of) {
        eprintln!("{}: {hint}", style.hint("hint"));
    }
}

fn hint_of(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    error
        .downcast_ref::<Hinted>()
        .map(|hinted| hinted.hint.clone())
}

/// An error for people, with what to do about it.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Hinted {
    pub message: String,
    pub hint: String,
}

pub fn hinted(message: impl Into<String>, hint: impl Into<String>) -> anyhow::Error {
    Hinted {
        message: message.into(),
        hint: hint.into(),
    }
    .into()
}

/// A services.toml read and checked, or the diagnostics that say why it is not usable.
pub enum Loaded {
    Valid {
        source: Source,
        model: Model,
    },
    Invalid {
        source: Source,
        problems: Vec<Diagnostic>,
    },
}

pub fn load(path: &Path, pool_id: Option<&str>) -> anyhow::Result<Loaded> {
    let shown = path.display().to_string();
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(hinted(
                format!("{shown} does not exist"),
                "run cogwire in the folder that holds services.toml, or pass --config PATH (or set COGWIRE_CONFIG)",
            ));
        }
        Err(error) => return Err(anyhow::Error::new(error).context(format!("cannot read {shown}"))),
    };
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => {
            let valid_up_to = error.utf8_error().valid_up_to();
            let source = Source::new(
                shown,
                String::from_utf8_lossy(error.as_bytes()).into_owned(),
            );
            let problem = Diagnostic::new(
                "encoding",
                "the file is not valid UTF-8",
                Some(valid_up_to..valid_up_to + 1),
            )
            .with_hint("TOML files are UTF-8; re-save the file as UTF-8");
            return Ok(Loaded::Invalid {
                source,
                problems: vec![problem],
            });
        }
    };
    let source = Source::new(shown, text);
    Ok(match crate::config::model::load(&source.text, pool_id) {
        Ok(model) => Loaded::Valid { source, model },
        Err(problems) => Loaded::Invalid { source, problems },
    })
}

/// Prints diagnostics for people on stderr, with a closing count.
pub fn print_diagnostics(source: &Source, problems: &[Diagnostic]) {
    let style = Style::for_stderr();
    for problem in problems {
        eprintln!("{}", problem.render(source, &style));
    }
    let count = problems.len();
    eprintln!(
        "{}: {count} problem{} found",
        source.path,
        if count == 1 { "" } else { "s" }
    );
}

/// Loads a config for commands that need a valid one: diagnostics are printed and end the command.
pub fn load_valid(
    path: &Path,
    pool_id: Option<&str>,
) -> anyhow::Result<Result<(Source, Model), ExitStatus>> {
    Ok(match load(path, pool_id)? {
        Loaded::Valid { source, model } => Ok((source, model)),
        Loaded::Invalid { source, problems } => {
            print_diagnostics(&source, &problems);
            Err(ExitStatus::Failure)
        }
    })
}
