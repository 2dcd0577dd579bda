//! The one integration test binary: drives the real `cogwire` executable and the AWS SDK against
//! the local AWS (moto's server extended by `localaws/`).

mod aws_errors;
mod ecosystem;
mod end_to_end;
mod environments;
mod export;
mod foreign_entries;
mod gateway;
mod gateway_rest;
mod graph;
mod iam;
mod import;
mod layout;
mod localaws;
mod plan_apply;
mod plan_safety;
mod reliability;
mod secrets;
mod support;
mod validate;
