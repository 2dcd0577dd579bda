//! `cogwire apply [PLANFILE]`: take the lock, plan under it (or check a saved plan), show and ask,
//! execute, report. The saga itself is `apply::run`; this is its edge to the terminal.

use std::io::{BufRead as _, IsTerminal as _, Write as _};

use super::hinted;
use super::pool::{StderrProgress, connect, explain, parse_timeout};
use super::secrets::{AfterApply, store_after_apply};
use crate::apply::run::{
    self, ApplyReport, Created, CredentialSink, ExecuteOptions, Locked, PlanSource, RunError,
    SinkError, StoreAfter,
};
use crate::cli::{ApplyArgs, GlobalArgs};
use crate::cloud::aws::AwsCloud;
use crate::credentials::decide::SyncPlan;
use crate::exit::ExitStatus;
use crate::plan::render;
use crate::plan::{FORMAT_VERSION, Plan};
use crate::session::Session;
use crate::style::Style;

pub async fn run(global: &GlobalArgs, args: &ApplyArgs) -> anyhow::Result<ExitStatus> {
    let timeout = parse_timeout(&args.lock_timeout)?;
    let saved = args
        .plan_file
        .as_ref()
        .map(|path| load_plan(path))
        .transpose()?;
    let session = match connect(global, &args.pace).await? {
        Ok(session) => session,
        Err(status) => return Ok(status),
    };

    // As terraform does: lock, then plan, so what is shown is what is executed.
    let locked = run::lock(&session, timeout).await.map_err(explain)?;
    let result = plan_and_apply(&locked, &session, saved.as_ref(), global, args).await;
    let released = locked.release().await;
    let (outcome, plan) = result?;
    released.map_err(explain)?;
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
        None => PlanSource::Services(&args.services),
    };
    let planned = locked
        .plan(source)
        .await
        .map_err(|error| run_error(session, error))?;
    let plan = planned.plan.clone();
    if (plan.actions.is_empty() || saved.is_none()) && !global.json {
        out!("{}", render::human(&plan, style, false));
    }
    if !plan.actions.is_empty() && saved.is_none() && !args.auto_approve && !confirm()? {
        return Err(hinted(
            "apply cancelled: nothing was changed",
            "only 'yes' approves",
        ));
    }
    let options = ExecuteOptions {
        sync_secrets: args.sync_secrets,
    };
    let progress = StderrProgress::new();
    let report = locked
        .execute(planned, &options, &Sink(session), &progress)
        .await;
    progress.finish();
    Ok((report.map_err(|error| run_error(session, error))?, plan))
}

/// The core's error for people; a pool not found names the region, as `plan` does.
fn run_error(session: &Session, error: RunError) -> anyhow::Error {
    match error {
        RunError::Read(read) => super::plan::read_error(session, read),
        RunError::Credentials(failure) => match failure.downcast::<SinkFailure>() {
            Ok(failure) => failure.0,
            Err(other) => anyhow::Error::msg(other.to_string()),
        },
        other => explain(other),
    }
}

/// The credentials store of the session, as the core stores into it.
struct Sink<'a>(&'a Session);

/// The store's own error, carried through the core and unwrapped again in `run_error`.
#[derive(Debug)]
struct SinkFailure(anyhow::Error);

impl std::fmt::Display for SinkFailure {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(formatter)
    }
}

impl std::error::Error for SinkFailure {}

fn sink_failure(error: anyhow::Error) -> SinkError {
    Box::new(SinkFailure(error))
}

impl CredentialSink for Sink<'_> {
    async fn store_as_created(&self, created: Created) -> Result<SyncPlan, SinkError> {
        super::secrets::store_as_created(self.0, created)
            .await
            .map_err(sink_failure)
    }

    async fn store_after_apply(
        &self,
        stored: SyncPlan,
        after: StoreAfter<'_>,
    ) -> Result<(), SinkError> {
        let after = AfterApply {
            created: after.created,
            resync: after.resync,
            prune: after.prune,
            everything: after.everything,
        };
        store_after_apply(self.0, stored, after)
            .await
            .map_err(sink_failure)
    }
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

/// Asks on the terminal, as terraform does; refuses without one.
fn confirm() -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        return Err(hinted(
            "apply needs approval, and there is no terminal to ask on",
            "review the plan, then run `cogwire apply --auto-approve` (as CI does), or apply a saved plan: `cogwire plan --out plan.json` then `cogwire apply plan.json`",
        ));
    }
    out!(
        "\nDo you want to perform these actions?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: "
    );
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}
