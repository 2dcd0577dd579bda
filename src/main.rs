use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = cogwire::cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return cogwire::exit::ExitStatus::Failure.into();
        }
    };
    match runtime.block_on(cogwire::run(cli)) {
        Ok(status) => status.into(),
        Err(error) => {
            cogwire::report_error(&error);
            cogwire::exit::ExitStatus::Failure.into()
        }
    }
}
