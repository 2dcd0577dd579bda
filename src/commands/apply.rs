//! `cogwire apply [PLANFILE]`: plan (or load a saved plan), ask, take the lock, execute, report.

use std::io::{BufRead as _, IsTerminal as _, Write as _};

use super::hinted;
use super::plan::make_plan;
use super::pool::{PoolContext, StderrProgress, connect, explain, parse_timeout};
use super::secrets::{AfterApply, store_after_apply};
use crate::apply::lock::Lock;
use crate::apply::{FinalRecord, Outcome, apply};
use crate::cli::{ApplyArgs, GlobalArgs};
use crate::credentials::decide::SyncPlan;
use crate::exit::ExitStatus;
use crate::plan::observed::read;
use crate::plan::render;
use crate::plan::{Approval, FORMAT_VERSION, Plan};
use crate::plan::{Change, Resource};
use crate::style::Style;
use std::collections::{BTreeMap, BTreeSet};

pub async fn run(global: &GlobalArgs, args: &ApplyArgs) -> anyhow::Result<ExitStatus> {
    let timeout = parse_timeout(&args.lock_timeout)?;
    let saved = args
        .plan_file
        .as_ref()
        .map(|path| load_plan(path))
        .transpose()?;
    let context = match connect(global, &args.pace).await? {
        Ok(context) => context,
        Err(status) => return Ok(status),
    };
    if let Some(saved) = &saved
        && saved.pool_id != context.pool_id
    {
        return Err(hinted(
            format!(
                "the saved plan is for user pool {}, not {}",
                saved.pool_id, context.pool_id
            ),
            "apply a saved plan against the pool it was made for",
        ));
    }

    // As terraform does: lock, then plan, so what is shown is what is executed.
    let lock = Lock::acquire(
        &context.parameters,
        &context.caller,
        &context.pool_id,
        timeout,
    )
    .await
    .map_err(explain)?;
    let result = plan_and_apply(&context, saved.as_ref(), global, args).await;
    let released = lock
        .release(&context.parameters, &context.caller, &context.pool_id)
        .await;
    let (outcome, plan, applied) = result?;
    released.map_err(explain)?;
    let stdout_style = Style::for_stdout();

    let report = context.caller.report();
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
            "applied": applied,
            "pool_id": context.pool_id,
            "summary": plan.summary,
            "outcome": {"imported": outcome.imported, "added": outcome.added, "changed": outcome.changed, "destroyed": outcome.destroyed},
            "api_calls": report.total_calls(),
            "retries": report.retries,
            "seconds": report.elapsed_seconds,
        });
        outln!("{summary:#}");
    } else if applied {
        outln!("\n{}", stdout_style.bold(&stdout_style.green(&line)));
    }
    if args.stats {
        eprint!("{}", report.render());
    }
    Ok(ExitStatus::Success)
}

/// Under the lock: a saved plan must still match the pool; otherwise plan now, show it and ask.
/// Executes it, storing each new client's credentials as it is created, then what else the store
/// needs. The flag is false when there was nothing to do.
async fn plan_and_apply(
    context: &PoolContext,
    saved: Option<&Plan>,
    global: &GlobalArgs,
    args: &ApplyArgs,
) -> anyhow::Result<(Outcome, Plan, bool)> {
    let style = Style::for_stdout();
    let (plan, observed) = match saved {
        Some(saved) => {
            let observed = read(
                &context.pool,
                &context.parameters,
                &context.caller,
                &saved.described_client_names,
            )
            .await
            .map_err(|error| super::plan::read_error(context, error))?;
            if observed.digest() != saved.observed_digest {
                return Err(hinted(
                    "the user pool changed since this plan was made",
                    "run `cogwire plan --out FILE` again and review the new plan",
                ));
            }
            (saved.clone(), observed)
        }
        None => make_plan(context, &args.services).await?,
    };
    if plan.actions.is_empty() {
        if !global.json {
            out!("{}", render::human(&plan, style, false));
        }
        let mut record = None;
        if !observed.recovered_clients.is_empty() || observed.record_stale {
            // Clients a dead run created, or a record that says more than the pool bears out:
            // save the record as the pool is (nothing else to do).
            let quiet = StderrProgress::new();
            let recorded = apply(
                &plan,
                &observed,
                &context.pool,
                &context.parameters,
                &context.caller,
                &quiet,
                &|_, _| {},
            )
            .await;
            quiet.finish();
            record = recorded.map_err(explain)?.record;
        }
        let after = AfterApply {
            created: &BTreeMap::new(),
            resync: observed.recovered_clients.iter().cloned().collect(),
            prune: false,
            everything: args.sync_secrets,
        };
        store(context, Ok(SyncPlan::default()), after, record).await?;
        return Ok((Outcome::default(), plan, false));
    }
    let on_terminal = std::io::stdin().is_terminal();
    let approval = match (saved, args.auto_approve) {
        (Some(_), _) => Approval::Saved { on_terminal },
        (None, false) if on_terminal => Approval::Prompt,
        (None, _) => Approval::Unattended,
    };
    plan.check_destruction(
        !context.model.services.is_empty(),
        approval,
        args.allow_destroy,
    )
    .map_err(|refusal| hinted(refusal.to_string(), refusal.hint()))?;
    if saved.is_none() {
        if !global.json {
            out!("{}", render::human(&plan, style, false));
        }
        if !args.auto_approve && !confirm(render::destroy_warning(&plan))? {
            return Err(hinted(
                "apply cancelled: nothing was changed",
                "only 'yes' approves",
            ));
        }
    }
    let progress = StderrProgress::new();
    let (created, receiver) = tokio::sync::mpsc::unbounded_channel();
    let engine = async {
        // Moved in, so the channel closes when the engine is done, which ends the storing.
        let created = created;
        apply(
            &plan,
            &observed,
            &context.pool,
            &context.parameters,
            &context.caller,
            &progress,
            &|service, credential| {
                // Only fails once storing has stopped on an error, which is reported below.
                let _ = created.send((service.to_owned(), credential.clone()));
            },
        )
        .await
    };
    let (outcome, stored) =
        tokio::join!(engine, super::secrets::store_as_created(context, receiver));
    progress.finish();
    let mut outcome = outcome.map_err(explain)?;
    let record = outcome.record.take();
    let mut resync: BTreeSet<String> = observed.recovered_clients.iter().cloned().collect();
    let mut prune = false;
    for action in &plan.actions {
        if let Resource::Client { .. } = action.resource {
            match action.change {
                Change::Update => {
                    resync.insert(action.service.clone());
                }
                Change::Delete => prune = true,
                _ => {}
            }
        }
    }
    let after = AfterApply {
        created: &outcome.created_clients,
        resync,
        prune,
        everything: args.sync_secrets,
    };
    store(context, stored, after, record).await?;
    Ok((outcome, plan, true))
}

/// Stores credentials after the plan ran (`stored`: what was stored while it ran), then saves the
/// run's record once, with the marks of the services whose credentials are now stored cleared.
/// The record is saved also when storing failed: its marks then tell the next run what to store.
async fn store(
    context: &PoolContext,
    stored: anyhow::Result<SyncPlan>,
    after: AfterApply<'_>,
    record: Option<FinalRecord>,
) -> anyhow::Result<()> {
    let done: BTreeSet<String> = after.created.keys().chain(&after.resync).cloned().collect();
    let result = match stored {
        Ok(stored) => store_after_apply(context, stored, after).await,
        Err(error) => Err(error),
    };
    if let Some(record) = record {
        let done = if result.is_ok() {
            done
        } else {
            BTreeSet::new()
        };
        record
            .save(
                &context.parameters,
                &context.caller,
                &context.pool_id,
                &done,
            )
            .await
            .map_err(explain)?;
    }
    result
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
