//! `cogwire plan`: read the pool, compute the plan, show it; optionally save it.

use super::pool::{connect, explain};
use crate::cli::{GlobalArgs, PlanArgs};
use crate::exit::ExitStatus;
use crate::plan::Plan;
use crate::plan::diff::{Selection, diff, undescribed_holders, wanted_client_names};
use crate::plan::observed::{Observed, read};
use crate::plan::render;
use crate::session::Session;
use crate::style::Style;

/// Reads the pool and plans; shared with `apply`.
pub async fn make_plan(context: &Session, services: &[String]) -> anyhow::Result<(Plan, Observed)> {
    let selection = Selection::of(&context.model, services).map_err(explain)?;
    let wanted = wanted_client_names(&context.model);
    let mut observed = read(
        context.pool(),
        context.parameters(),
        &context.pacer,
        &wanted,
    )
    .await
    .map_err(explain)?;
    let mut plan = diff(&context.model, &observed, &selection).map_err(explain)?;
    // A plan that removes scopes names every client that holds them, unmanaged ones included.
    let holders = undescribed_holders(&plan, &observed);
    if !holders.is_empty() {
        observed
            .describe_more(context.pool(), &context.pacer, holders)
            .await
            .map_err(explain)?;
        plan = diff(&context.model, &observed, &selection).map_err(explain)?;
    }
    Ok((plan, observed))
}

pub async fn run(global: &GlobalArgs, args: &PlanArgs) -> anyhow::Result<ExitStatus> {
    let context = match connect(global, &args.pace).await? {
        Ok(context) => context,
        Err(status) => return Ok(status),
    };
    let (mut plan, _) = make_plan(&context, &args.services).await?;
    plan.adopt = args.adopt;
    if global.json {
        outln!("{}", render::json(&plan));
    } else {
        out!(
            "{}",
            render::human(&plan, Style::for_stdout(), args.show_unmanaged)
        );
    }
    if let Some(path) = &args.out {
        std::fs::write(path, render::json(&plan)).map_err(|error| {
            anyhow::Error::new(error)
                .context(format!("cannot write the plan to {}", path.display()))
        })?;
        eprintln!(
            "Saved the plan to {}. To perform exactly these actions, run: cogwire apply {}",
            path.display(),
            path.display()
        );
    }
    if args.stats {
        eprint!("{}", context.pacer.report().render());
    }
    Ok(if args.detailed_exitcode && plan.has_changes() {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    })
}
