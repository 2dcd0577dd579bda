//! Logging on stderr, for `-v` and `RUST_LOG`. The AWS SDK's own logs carry request and response
//! bodies at trace level, client secrets among them, so they are held at `warn` whatever is asked,
//! `RUST_LOG` directives naming them included.

use tracing::Level;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::prelude::*;

use crate::style::Style;

/// Crates whose logs may quote what is sent to or received from AWS.
const HELD_AT_WARN: &[&str] = &[
    "aws_config",
    "aws_runtime",
    "aws_sigv4",
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_http",
    "aws_smithy_http_client",
    "aws_smithy_types",
    "aws_sdk_apigateway",
    "aws_sdk_apigatewayv2",
    "aws_sdk_cognitoidentityprovider",
    "aws_sdk_ssm",
    "aws_sdk_secretsmanager",
    "aws_sdk_sso",
    "aws_sdk_ssooidc",
    "aws_sdk_sts",
    "hyper",
    "hyper_util",
    "h2",
    "rustls",
    "reqwest",
];

/// `-v` info, `-vv` debug, `-vvv` trace for cogwire; `RUST_LOG`, when set, instead. Never fails:
/// a bad `RUST_LOG` falls back to warnings only.
pub fn init(verbosity: u8) {
    let requested = std::env::var("RUST_LOG")
        .ok()
        .filter(|value| !value.trim().is_empty());
    let base = requested.unwrap_or_else(|| {
        match verbosity {
            0 => "warn",
            1 => "warn,cogwire=info",
            2 => "info,cogwire=debug",
            _ => "debug,cogwire=trace",
        }
        .to_owned()
    });
    // Quiet by default: the SDK's warnings (a missing ~/.aws/config, say) only with -v.
    let held = if verbosity == 0 && std::env::var_os("RUST_LOG").is_none() {
        Level::ERROR
    } else {
        Level::WARN
    };
    let filter = EnvFilter::try_new(&base).unwrap_or_else(|_| EnvFilter::new("warn"));
    // A filter of its own, not EnvFilter directives: a more specific RUST_LOG directive
    // (`aws_smithy_runtime::client=trace`) would win over those.
    let hold = filter_fn(move |metadata| !is_held(metadata.target()) || *metadata.level() <= held);
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(Style::for_stderr().is_colored())
        .with_target(false)
        .with_filter(filter)
        .with_filter(hold);
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

/// A target in `HELD_AT_WARN`, or a module of one.
fn is_held(target: &str) -> bool {
    HELD_AT_WARN.iter().any(|held| {
        target
            .strip_prefix(held)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
    })
}

#[cfg(test)]
mod tests {
    use super::is_held;

    #[test]
    fn held_targets_include_their_modules_only() {
        assert!(is_held("aws_smithy_runtime"));
        assert!(is_held("aws_smithy_runtime::client::orchestrator"));
        assert!(!is_held("aws_smithy_runtime_extra"));
        assert!(!is_held("cogwire::apply"));
    }
}
