//! `cogwire plan`: read the pool, compute the plan, show it; optionally save it.

use super::hinted;
use super::pool::{PoolContext, connect, explain};
use crate::cli::{GlobalArgs, PlanArgs};
use crate::exit::ExitStatus;
use crate::plan::diff::{Selection, diff, wanted_client_names};
use crate::plan::observed::{Observed, ReadError, read};
use crate::plan::render;
use crate::plan::{Approval, Plan};
use crate::style::Style;

/// A pool that is not found is most often looked for in the wrong region: say which was used.
pub fn read_error(context: &PoolContext, error: ReadError) -> anyhow::Error {
    match error {
        ReadError::PoolNotFound { pool_id } => {
            let pool_region = pool_id.split_once('_').map_or("", |(region, _)| region);
            let hint = if !pool_region.is_empty() && pool_region != context.region {
                format!(
                    "the pool id names region {pool_region}: pass --region {pool_region} (or set `[pool] region`)"
                )
            } else {
                "check --user-pool-id (or `[pool] id`, or COGWIRE_USER_POOL_ID)".to_owned()
            };
            hinted(
                format!(
                    "user pool {pool_id} was not found in region {}",
                    context.region
                ),
                hint,
            )
        }
        other => explain(other),
    }
}

/// Reads the pool and plans; shared with `apply`.
pub async fn make_plan(
    context: &PoolContext,
    services: &[String],
) -> anyhow::Result<(Plan, Observed)> {
    let selection = Selection::of(&context.model, services).map_err(explain)?;
    let wanted = wanted_client_names(&context.model);
    let observed = read(&context.pool, &context.parameters, &context.caller, &wanted)
        .await
        .map_err(|error| read_error(context, error))?;
    let plan = diff(&context.model, &observed, &selection).map_err(explain)?;
    Ok((plan, observed))
}

pub async fn run(global: &GlobalArgs, args: &PlanArgs) -> anyhow::Result<ExitStatus> {
    let context = match connect(global, &args.pace).await? {
        Ok(context) => context,
        Err(status) => return Ok(status),
    };
    let (plan, _) = make_plan(&context, &args.services).await?;
    plan.check_destruction(
        !context.model.services.is_empty(),
        Approval::Shown,
        args.allow_destroy,
    )
    .map_err(|refusal| hinted(refusal.to_string(), refusal.hint()))?;
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
        eprint!("{}", context.caller.report().render());
    }
    Ok(if args.detailed_exitcode && plan.has_changes() {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    })
}
