//! `cogwire apply [PLANFILE]`: take the lock, plan under it (or check a saved plan), show and ask,
//! execute, report. The saga itself is `apply::run`; this is its edge to the terminal.

use std::io::{BufRead as _, IsTerminal as _, Write as _};

use super::hinted;
use super::pool::{StderrProgress, connect_in, explain, parse_timeout};
use super::sync_secrets::{print_notes, render as render_stored};
use crate::apply::run::{self, ApplyReport, ExecuteOptions, Locked, PlanSource};
use crate::cli::{ApplyArgs, GlobalArgs};
use crate::cloud::aws::AwsCloud;
use crate::exit::ExitStatus;
use crate::plan::render;
use crate::plan::{Approval, FORMAT_VERSION, Plan};
use crate::session::Session;
use crate::style::Style;

pub async fn run(global: &GlobalArgs, args: &ApplyArgs) -> anyhow::Result<ExitStatus> {
    let timeout = parse_timeout(&args.lock_timeout)?;
    let saved = args
        .plan_file
        .as_ref()
        .map(|path| load_plan(path))
        .transpose()?;
    // A saved plan names its environment: it is applied there, and only there.
    let named = super::environment(global)?;
    let environment = match (
        named,
        saved.as_ref().and_then(|plan| plan.environment.as_deref()),
    ) {
        (Some(named), Some(planned)) if named != planned => {
            return Err(hinted(
                format!("the saved plan is for environment `{planned}`, not `{named}`"),
                format!("apply it with --env {planned}, or plan again with --env {named}"),
            ));
        }
        (named, planned) => named.or(planned),
    };
    let session = match connect_in(global, &args.pace, environment).await? {
        Ok(session) => session,
        Err(status) => return Ok(status),
    };

    // As terraform does: lock, then plan, so what is shown is what is executed.
    let locked = run::lock(&session, timeout).await.map_err(explain)?;
    let result = plan_and_apply(&locked, &session, saved.as_ref(), global, args).await;
    let released = locked.release().await;
    let (outcome, plan) = result?;
    released.map_err(explain)?;
    stored_credentials(&outcome)?;
    let stdout_style = Style::for_stdout();

    let report = session.pacer.report();
    let retried = if report.retries > 0 {
        format!(", {} retried", report.retries)
    } else {
        String::new()
    };
    let line = format!(
        "Apply complete: {}{} added, {} changed, {} destroyed ({} API calls{retried}, {:.1} s).",
        if outcome.imported > 0 {
            format!("{} imported, ", outcome.imported)
        } else {
            String::new()
        },
        outcome.added,
        outcome.changed,
        outcome.destroyed,
        report.total_calls(),
        report.elapsed_seconds
    );
    if global.json {
        let summary = serde_json::json!({
            "format_version": FORMAT_VERSION,
            "applied": outcome.applied,
            "environment": session.environment(),
            "pool_id": session.pool_id,
            "summary": plan.summary,
            "outcome": {"imported": outcome.imported, "added": outcome.added, "changed": outcome.changed, "destroyed": outcome.destroyed},
            "api_calls": report.total_calls(),
            "retries": report.retries,
            "seconds": report.elapsed_seconds,
        });
        outln!("{summary:#}");
    } else if outcome.applied {
        outln!("\n{}", stdout_style.bold(&stdout_style.green(&line)));
    }
    if args.stats {
        eprint!("{}", report.render());
    }
    Ok(ExitStatus::Success)
}

/// Under the lock: a saved plan must still match the pool; otherwise plan now, show it and ask.
/// Then the core executes it.
async fn plan_and_apply(
    locked: &Locked<'_, AwsCloud>,
    session: &Session,
    saved: Option<&Plan>,
    global: &GlobalArgs,
    args: &ApplyArgs,
) -> anyhow::Result<(ApplyReport, Plan)> {
    let style = Style::for_stdout();
    let source = match saved {
        Some(saved) => PlanSource::Saved(saved),
        None if args.refresh => PlanSource::Services(&args.services),
        None => PlanSource::Trusting(&args.services),
    };
    let planned = locked.plan(source).await.map_err(explain)?;
    let plan = planned.plan.clone();
    let on_terminal = std::io::stdin().is_terminal();
    let approval = match (saved, args.auto_approve) {
        (Some(_), _) => Approval::Saved { on_terminal },
        (None, false) if on_terminal => Approval::Prompt,
        (None, _) => Approval::Unattended,
    };
    plan.check_destruction(
        !session.model.services.is_empty(),
        approval,
        args.allow_destroy,
    )
    .map_err(|refusal| hinted(refusal.to_string(), refusal.hint()))?;
    if (plan.actions.is_empty() || saved.is_none()) && !global.json {
        out!("{}", render::human(&plan, style, false));
    }
    approved(&plan, args)?;
    if !plan.actions.is_empty()
        && saved.is_none()
        && !args.auto_approve
        && !confirm(render::destroy_warning(&plan))?
    {
        return Err(hinted(
            "apply cancelled: nothing was changed",
            "only 'yes' approves",
        ));
    }
    let options = ExecuteOptions {
        sync_secrets: args.sync_secrets,
    };
    let progress = StderrProgress::new();
    let report = locked.execute(planned, &options, &progress).await;
    progress.finish();
    let _ = session;
    Ok((report.map_err(explain)?, plan))
}

/// Shows what was stored of the credentials; a service refused for an entry cogwire did not write
/// fails the command (its credentials stay pending in the record, for the next apply).
fn stored_credentials(outcome: &ApplyReport) -> anyhow::Result<()> {
    let Some(report) = &outcome.credentials else {
        return Ok(());
    };
    print_notes(report);
    eprint!("{}", render_stored(&report.plan, false));
    match report.plan.refused.split_last() {
        None => Ok(()),
        Some((last, others)) => {
            for foreign in others {
                super::report_error(&explain(foreign.clone()));
            }
            Err(explain(last.clone()).context(
                "the pool was changed, but credentials were not stored; the next apply stores them once their entries are cogwire's",
            ))
        }
    }
}

/// Refuses, before any write, a plan that takes resources from another owner and changes them
/// without `--adopt`, or removes a scope an unmanaged client holds without `--allow-destroy`.
fn approved(plan: &Plan, args: &ApplyArgs) -> anyhow::Result<()> {
    let adopted = plan.needs_adopt();
    if !adopted.is_empty() && !args.adopt && !plan.adopt {
        return Err(hinted(
            format!(
                "apply refused: these resources are not cogwire's, and this plan would adopt and change them: {}",
                adopted.join(", ")
            ),
            "pass --adopt to take them over as the plan shows, or run `cogwire import` first to adopt them unchanged",
        ));
    }
    let reasons = plan.needs_allow_destroy();
    if !reasons.is_empty() && !args.allow_destroy {
        return Err(hinted(
            format!("apply refused: {}", reasons.join("; ")),
            "take the scope from those clients first, or pass --allow-destroy to remove it anyway",
        ));
    }
    Ok(())
}

fn load_plan(path: &std::path::Path) -> anyhow::Result<Plan> {
    let text = std::fs::read_to_string(path).map_err(|error| {
        anyhow::Error::new(error).context(format!("cannot read the plan {}", path.display()))
    })?;
    let plan: Plan = serde_json::from_str(&text).map_err(|error| {
        hinted(
            format!("{} is not a cogwire plan: {error}", path.display()),
            "make one with `cogwire plan --out FILE`",
        )
    })?;
    if plan.format_version != FORMAT_VERSION {
        return Err(hinted(
            format!(
                "{} has plan format {}, this cogwire reads {FORMAT_VERSION}",
                path.display(),
                plan.format_version
            ),
            "make the plan with the same cogwire version that applies it",
        ));
    }
    Ok(plan)
}

/// Asks on the terminal, as terraform does, saying first what is destroyed; refuses without one.
fn confirm(destroy_warning: Option<String>) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        return Err(hinted(
            "apply needs approval, and there is no terminal to ask on",
            "review the plan, then run `cogwire apply --auto-approve` (as CI does), or apply a saved plan: `cogwire plan --out plan.json` then `cogwire apply plan.json`",
        ));
    }
    if let Some(warning) = destroy_warning {
        out!("\nWarning: {warning}\n");
    }
    out!(
        "\nDo you want to perform these actions?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: "
    );
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}
