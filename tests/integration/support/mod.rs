//! Test support: the local AWS server (moto extended by `localaws/`), one isolated AWS account per
//! test, the server's control endpoint and its OAuth2 token endpoint.
//!
//! The server is global to the test binary, so is its control state. Calls are counted per
//! account, and faults and quotas set through a [`TestAccount`] apply to that account only, so
//! such tests run in parallel with the rest. A test that sets faults or quotas for every account
//! holds [`exclusive`] while it does.

// Each test module uses a different part of this support.
#![allow(dead_code, unused_imports)]

mod account;
mod cli;
mod http;
mod server;

pub use account::{TestAccount, error_code};
pub use cli::{Output, Workdir};
pub use server::{Exclusive, LocalAws, exclusive, local_aws};
