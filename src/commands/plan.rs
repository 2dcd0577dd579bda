//! `cogwire plan`: read the pool, compute the plan, show it (and the pool's lock, if any);
//! optionally save it. With several environments (`--env a --env b`, `--all-environments`), one
//! plan and one section each.

use super::hinted;
use super::pool::{connect_in, explain};
use crate::apply::lock::{CurrentLock, Standing};
use crate::apply::run::{current_lock, plan_now};
use crate::cli::{GlobalArgs, PlanArgs};
use crate::exit::ExitStatus;
use crate::plan::render;
use crate::plan::{Approval, FORMAT_VERSION, Plan};
use crate::style::Style;

pub async fn run(global: &GlobalArgs, args: &PlanArgs) -> anyhow::Result<ExitStatus> {
    let environments = environments(global, args)?;
    let mut planned = Vec::new();
    for environment in &environments {
        match plan_one(global, args, environment.as_deref()).await? {
            Ok(one) => planned.push(one),
            Err(status) => return Ok(status),
        }
    }
    let several = environments.len() > 1;
    if global.json {
        let shown: Vec<serde_json::Value> = planned
            .iter()
            .map(|(plan, lock)| {
                let mut shown = serde_json::to_value(plan)?;
                if let Some(fields) = shown.as_object_mut() {
                    fields.insert("lock".to_owned(), lock_json(lock.as_ref()));
                }
                Ok(shown)
            })
            .collect::<anyhow::Result<_>>()?;
        let document = match (several, shown.as_slice()) {
            (false, [one]) => one.clone(),
            _ => serde_json::json!({"format_version": FORMAT_VERSION, "plans": shown}),
        };
        outln!("{}", serde_json::to_string_pretty(&document)?);
    } else {
        for (index, (plan, lock)) in planned.iter().enumerate() {
            if index > 0 {
                outln!();
            }
            out!(
                "{}",
                render::human(plan, Style::for_stdout(), args.show_unmanaged)
            );
            if let Some(lock) = &lock {
                outln!("\n{}", lock_line(lock));
            }
        }
    }
    if let (Some(path), [(plan, _)]) = (&args.out, planned.as_slice()) {
        std::fs::write(path, render::json(plan)).map_err(|error| {
            anyhow::Error::new(error)
                .context(format!("cannot write the plan to {}", path.display()))
        })?;
        eprintln!(
            "Saved the plan to {}. To perform exactly these actions, run: cogwire apply {}",
            path.display(),
            path.display()
        );
    }
    let changes = planned.iter().any(|(plan, lock)| {
        plan.has_changes()
            || lock
                .as_ref()
                .is_some_and(|lock| lock.standing().is_left_behind())
    });
    Ok(if args.detailed_exitcode && changes {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    })
}

/// The environments to plan: `--all-environments`, else each `--env` (or `COGWIRE_ENV`), else
/// the file's own tables (`None`).
fn environments(global: &GlobalArgs, args: &PlanArgs) -> anyhow::Result<Vec<Option<String>>> {
    let named: Vec<Option<String>> = if args.all_environments {
        let (declared, _) = super::declared_environments(&global.config_path());
        if declared.is_empty() {
            return Err(hinted(
                "--all-environments, but services.toml declares no environments",
                "declare each as [environments.<name>] with the pool it uses, or plan without it",
            ));
        }
        declared.into_iter().map(Some).collect()
    } else {
        let mut named = Vec::new();
        for name in global.env.iter().filter(|name| !name.is_empty()) {
            if !named.contains(&Some(name.clone())) {
                named.push(Some(name.clone()));
            }
        }
        named
    };
    if named.len() > 1 && args.out.is_some() {
        return Err(hinted(
            "--out saves the plan of one environment",
            "plan with one --env to save its plan; applies go one environment at a time",
        ));
    }
    Ok(if named.is_empty() { vec![None] } else { named })
}

type Planned = (Plan, Option<CurrentLock>);

/// One environment's plan and its pool's lock; diagnostics or a refusal end the command.
async fn plan_one(
    global: &GlobalArgs,
    args: &PlanArgs,
    environment: Option<&str>,
) -> anyhow::Result<Result<Planned, ExitStatus>> {
    let session = match connect_in(global, &args.pace, environment).await? {
        Ok(session) => session,
        Err(status) => return Ok(Err(status)),
    };
    let (planned, lock) = tokio::join!(
        plan_now(&session, &args.services, args.refresh),
        current_lock(&session)
    );
    let (mut plan, _) = planned.map_err(explain)?;
    plan.adopt = args.adopt;
    let lock = lock.map_err(explain)?;
    plan.check_destruction(
        !session.model.services.is_empty(),
        Approval::Shown,
        args.allow_destroy,
    )
    .map_err(|refusal| hinted(refusal.to_string(), refusal.hint()))?;
    if args.stats {
        eprint!("{}", session.pacer.report().render());
    }
    Ok(Ok((plan, lock)))
}

/// One line on the pool's lock: who holds it, or that a run that died left it behind.
fn lock_line(lock: &CurrentLock) -> String {
    match (lock.standing(), lock.id()) {
        (standing, Some(id)) if standing.is_left_behind() => format!(
            "Lock: left behind by a run that died: {}. Remove it with: cogwire force-unlock {id}",
            lock.describe()
        ),
        (Standing::Unreadable, _) | (_, None) => "Lock: unreadable lock value; if no run is applying to this pool, remove it with: cogwire force-unlock --force".to_owned(),
        _ => format!(
            "Lock: held by {}; an apply now would wait for it or fail.",
            lock.describe()
        ),
    }
}

fn lock_json(lock: Option<&CurrentLock>) -> serde_json::Value {
    match lock {
        None => serde_json::Value::Null,
        Some(CurrentLock::Unreadable(_)) => serde_json::json!({"state": "unreadable"}),
        Some(held @ CurrentLock::Held(info)) => serde_json::json!({
            "state": if held.standing().is_left_behind() { "left_behind" } else { "held" },
            "id": info.id,
            "holder": info.holder,
            "acquired_at": info.acquired_at,
            "expires_at": info.expires_at,
        }),
    }
}
