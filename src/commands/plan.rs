//! `cogwire plan`: read the pool, compute the plan, show it (and the pool's lock, if any);
//! optionally save it.

use super::hinted;
use super::pool::{connect, explain};
use crate::apply::lock::{CurrentLock, Standing};
use crate::apply::run::{current_lock, plan_now};
use crate::cli::{GlobalArgs, PlanArgs};
use crate::exit::ExitStatus;
use crate::plan::Approval;
use crate::plan::render;
use crate::style::Style;

pub async fn run(global: &GlobalArgs, args: &PlanArgs) -> anyhow::Result<ExitStatus> {
    let session = match connect(global, &args.pace).await? {
        Ok(session) => session,
        Err(status) => return Ok(status),
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
    if global.json {
        let mut shown = serde_json::to_value(&plan)?;
        if let Some(fields) = shown.as_object_mut() {
            fields.insert("lock".to_owned(), lock_json(lock.as_ref()));
        }
        outln!("{}", serde_json::to_string_pretty(&shown)?);
    } else {
        out!(
            "{}",
            render::human(&plan, Style::for_stdout(), args.show_unmanaged)
        );
        if let Some(lock) = &lock {
            outln!("\n{}", lock_line(lock));
        }
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
        eprint!("{}", session.pacer.report().render());
    }
    let left_behind = lock
        .as_ref()
        .is_some_and(|lock| lock.standing().is_left_behind());
    Ok(
        if args.detailed_exitcode && (plan.has_changes() || left_behind) {
            ExitStatus::Changes
        } else {
            ExitStatus::Success
        },
    )
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
