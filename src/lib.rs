//! cogwire: machine-to-machine OAuth 2.0 on Amazon Cognito, declared in one file.
//!
//! The pipeline, one stage per module:
//! `config` (raw TOML with spans) -> `model` (checked desired state) -> `graph` (dependencies).

pub mod cli;
mod commands;
pub mod config;
pub mod diagnostic;
pub mod duration;
pub mod exit;
pub mod graph;
pub mod model;
pub mod rules;
pub mod style;
pub mod suggest;

pub use commands::{report_error, run};
