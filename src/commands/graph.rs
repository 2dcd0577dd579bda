//! `cogwire graph`: the dependency graph and deployment waves.

use super::load_valid;
use crate::cli::{GlobalArgs, GraphArgs, GraphFormat};
use crate::config::graph::ServiceGraph;
use crate::exit::ExitStatus;

pub fn run(global: &GlobalArgs, args: &GraphArgs) -> anyhow::Result<ExitStatus> {
    let (_, model) = match load_valid(
        &global.config_path(),
        global.user_pool_id.as_deref(),
        super::environment(global)?,
    )? {
        Ok(loaded) => loaded,
        Err(status) => return Ok(status),
    };
    let graph = ServiceGraph::build(&model);
    let format = if global.json {
        GraphFormat::Json
    } else {
        args.format
    };
    let rendered = match format {
        GraphFormat::Text => graph.render_text(),
        GraphFormat::Dot => graph.render_dot(),
        GraphFormat::Mermaid => graph.render_mermaid(),
        GraphFormat::Json => format!("{:#}\n", serde_json::to_value(&graph)?),
    };
    out!("{rendered}");
    Ok(ExitStatus::Success)
}
