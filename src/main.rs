use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    // clap exits 2 on a usage error, which `plan --detailed-exitcode` means as "changes present":
    // a mistyped flag in CI must read as an error instead.
    let cli = match cogwire::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                cogwire::exit::ExitStatus::Failure.into()
            } else {
                cogwire::exit::ExitStatus::Success.into()
            };
        }
    };
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
