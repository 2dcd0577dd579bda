//! `cogwire validate`: both checking stages, offline, for every environment the file declares.

use serde_json::json;

use super::{load_all, print_diagnostics};
use crate::cli::GlobalArgs;
use crate::config::model::Model;
use crate::exit::ExitStatus;

pub fn run(global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    let path = global.config_path();
    let environment = super::environment(global)?;
    match load_all(&path, global.user_pool_id.as_deref(), environment)? {
        Ok((source, models)) => {
            if global.json {
                let mut report = json!({
                    "format_version": "1",
                    "file": source.path,
                    "valid": true,
                    "diagnostics": [],
                });
                if let (Some(fields), Some(first)) = (report.as_object_mut(), models.first()) {
                    // The file's own counts stay where they were before environments existed.
                    if let Some(counts) = counts(first).as_object() {
                        fields.extend(counts.clone());
                    }
                    if models.iter().any(|model| model.environment.is_some()) {
                        let environments: Vec<_> = models
                            .iter()
                            .filter_map(|model| {
                                let mut shown = counts(model);
                                shown["environment"] = json!(model.environment.as_ref()?);
                                shown["pool_id"] = json!(model.pool.id);
                                Some(shown)
                            })
                            .collect();
                        fields.insert("environments".to_owned(), json!(environments));
                    }
                }
                outln!("{report:#}");
            } else {
                for model in &models {
                    let place = match &model.environment {
                        Some(name) => format!(" (environment {name})"),
                        None => String::new(),
                    };
                    let (services, servers, scopes, clients) = (
                        model.services.len(),
                        model.resource_server_count(),
                        model.scope_count(),
                        model.client_count(),
                    );
                    outln!(
                        "{}{place}: {services} service{}, {servers} resource server{}, {scopes} scope{}, {clients} client{}: valid",
                        source.path,
                        plural(services),
                        plural(servers),
                        plural(scopes),
                        plural(clients)
                    );
                }
            }
            Ok(ExitStatus::Success)
        }
        Err((source, problems)) => {
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

fn counts(model: &Model) -> serde_json::Value {
    json!({
        "services": model.services.len(),
        "resource_servers": model.resource_server_count(),
        "scopes": model.scope_count(),
        "clients": model.client_count(),
    })
}

pub fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}
