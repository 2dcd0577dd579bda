//! `cogwire schema`, `completions` and `man`: what editors, shells and `man` read, generated from
//! cogwire's own definitions (the config's rules, the command line).

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};
use crate::exit::ExitStatus;

pub fn schema() -> anyhow::Result<ExitStatus> {
    tracing::info!("printing the JSON Schema (draft-07) of services.toml");
    outln!("{:#}", crate::config::schema::services_toml());
    Ok(ExitStatus::Success)
}

pub fn completions(args: &CompletionsArgs) -> anyhow::Result<ExitStatus> {
    tracing::info!(shell = %args.shell, "printing the completion script");
    let mut buffer = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "cogwire", &mut buffer);
    print_bytes(&buffer);
    Ok(ExitStatus::Success)
}

pub fn man() -> anyhow::Result<ExitStatus> {
    tracing::info!("printing the man page (roff)");
    let mut buffer = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut buffer)
        .map_err(|error| anyhow::Error::new(error).context("cannot render the man page"))?;
    print_bytes(&buffer);
    Ok(ExitStatus::Success)
}

fn print_bytes(bytes: &[u8]) {
    use std::io::Write as _;
    let _ = std::io::stdout().write_all(bytes);
}
