//! cogwire: machine-to-machine OAuth 2.0 on Amazon Cognito, declared in one file.
//!
//! The pipeline, one folder a stage, in the order data passes through them:
//!
//! 1. [`config`]: services.toml read (shape, with spans) and checked (meaning) into the desired
//!    state, with diagnostics that point at the token they reject.
//! 2. [`plan`]: the live pool read ([`plan::observed`]), compared with the desired state
//!    ([`plan::diff`]) into a plan, a value with no side effects, rendered for people and as JSON.
//! 3. [`apply`]: a plan executed under a lock in three phases: the run's intent written into the
//!    ownership record kept in the account, the writes run as a paced graph of operations, each
//!    finished one settled into the record.
//! 4. [`credentials`]: each caller's client id and secret written where its service reads them
//!    (sync), and secrets rotated without downtime.
//! 5. [`tokens`]: access tokens got as a service gets them, and a running service's routes checked
//!    end to end.
//!
//! Beside the pipeline: [`import`] turns a live pool into a services.toml, [`init`] writes one to
//! start from; [`cloud`] is the edge
//! to AWS (narrow traits, the SDK adapters, the pacer, an in-memory cloud for tests); `commands`
//! is the binary's edge, which parses, asks, calls one of the stages and prints its report.

pub mod apply;
pub mod cli;
pub mod cloud;
mod commands;
pub mod config;
pub mod credentials;
pub mod exit;
pub mod export;
pub mod import;
pub mod init;
pub mod logging;
pub mod plan;
pub mod sensitive;
pub mod session;
pub mod style;
pub mod tokens;

pub use commands::{report_error, run};
