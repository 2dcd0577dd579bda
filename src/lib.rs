//! cogwire: machine-to-machine OAuth 2.0 on Amazon Cognito, declared in one file.
//!
//! The pipeline, one stage per module:
//! `config` (raw TOML with spans) -> `model` (checked desired state) -> `graph` (dependencies);
//! `observed` (live state, through the `cloud` traits) -> `diff` (desired x observed) -> `plan`
//! (a value) -> `render` (for people, as JSON) -> `apply` (executes a plan, paced by `pace`,
//! recorded in `record`, under `lock`).

pub mod apply;
pub mod cli;
pub mod cloud;
mod commands;
pub mod config;
pub mod diagnostic;
pub mod diff;
pub mod duration;
pub mod exit;
pub mod graph;
pub mod import;
pub mod lock;
pub mod logging;
pub mod model;
pub mod observed;
pub mod pace;
pub mod plan;
pub mod record;
pub mod render;
pub mod rules;
pub mod secret;
pub mod secrets;
pub mod style;
pub mod suggest;
pub mod token;
pub mod verify;

pub use commands::{report_error, run};
