//! `cogwire validate`: both checking stages, offline.

use serde_json::json;

use super::{Loaded, load, print_diagnostics};
use crate::cli::GlobalArgs;
use crate::exit::ExitStatus;

pub fn run(global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    let path = global.config_path();
    match load(&path, global.user_pool_id.as_deref())? {
        Loaded::Valid { source, model } => {
            let (services, servers, scopes, clients) = (
                model.services.len(),
                model.resource_server_count(),
                model.scope_count(),
                model.client_count(),
            );
            if global.json {
                let report = json!({
                    "format_version": "1",
                    "file": source.path,
                    "valid": true,
                    "services": services,
                    "resource_servers": servers,
                    "scopes": scopes,
                    "clients": clients,
                    "diagnostics": [],
                });
                outln!("{report:#}");
            } else {
                outln!(
                    "{}: {services} service{}, {servers} resource server{}, {scopes} scope{}, {clients} client{}: valid",
                    source.path,
                    plural(services),
                    plural(servers),
                    plural(scopes),
                    plural(clients)
                );
            }
            Ok(ExitStatus::Success)
        }
        Loaded::Invalid { source, problems } => {
            if global.json {
                let diagnostics: Vec<_> = problems
                    .iter()
                    .map(|problem| problem.report(&source))
                    .collect();
                let report = json!({
                    "format_version": "1",
                    "file": source.path,
                    "valid": false,
                    "diagnostics": diagnostics,
                });
                outln!("{report:#}");
            } else {
                print_diagnostics(&source, &problems);
            }
            Ok(ExitStatus::Failure)
        }
    }
}

pub fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}
