//! `cogwire sync-secrets`: asks the sync engine (`credentials::sync`) and prints its report: the
//! entries written, deleted and adopted on stdout, notes and refusals on stderr. No value is ever
//! printed; an entry cogwire did not write is named with its kind and JSON key names only.

use super::pool::{connect, explain};
use super::report_error;
use crate::cli::{GlobalArgs, SyncSecretsArgs};
use crate::credentials::decide::{Foreign, Holds, Refusal, SyncPlan, ValueChange};
use crate::credentials::sync::{SyncReport, SyncRequest, sync};
use crate::exit::ExitStatus;

pub async fn run(global: &GlobalArgs, args: &SyncSecretsArgs) -> anyhow::Result<ExitStatus> {
    let session = match connect(global, &args.pace).await? {
        Ok(session) => session,
        Err(status) => return Ok(status),
    };
    let request = SyncRequest {
        services: args.services.clone(),
        adopt: args.adopt.clone(),
        dry_run: args.dry_run,
    };
    let result = sync(&session, &request).await;
    if args.stats {
        eprint!("{}", session.pacer.report().render());
    }
    let report = result.map_err(explain)?;
    print_notes(&report);
    if global.json {
        outln!("{}", json(&report, args.dry_run));
    } else {
        out!("{}", render(&report.plan, args.dry_run));
    }
    Ok(report_refused(&report.plan.refused))
}

/// Notes and skipped services on stderr.
pub(super) fn print_notes(report: &SyncReport) {
    for note in &report.notes {
        eprintln!("note: {note}");
    }
    for skipped in &report.skipped {
        eprintln!("note: {skipped}");
    }
}

/// Each refused entry as an error with its hint on stderr; the exit status says whether any was.
pub(super) fn report_refused(refused: &[Foreign]) -> ExitStatus {
    for foreign in refused {
        report_error(&explain(foreign.clone()));
    }
    if refused.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    }
}

fn json(report: &SyncReport, dry_run: bool) -> serde_json::Value {
    let plan = &report.plan;
    let keys = |holds: &Holds| holds.keys().map(<[String]>::to_vec);
    let refused: Vec<serde_json::Value> = plan
        .refused
        .iter()
        .map(|foreign| {
            serde_json::json!({
                "service": foreign.service,
                "name": foreign.name,
                "kind": foreign.kind,
                "json_keys": keys(&foreign.holds),
                "reason": match foreign.refusal {
                    Refusal::NotOurs => "not_written_by_cogwire",
                    Refusal::KindChange { .. } => "kind_would_change",
                },
                "hint": foreign.hint(),
            })
        })
        .collect();
    let adopted: Vec<serde_json::Value> = plan
        .adopted
        .iter()
        .map(|adopted| {
            serde_json::json!({
                "service": adopted.service,
                "name": adopted.name,
                "kind": adopted.kind,
                "json_keys": keys(&adopted.holds),
            })
        })
        .collect();
    let skipped: Vec<&String> = report
        .skipped
        .iter()
        .map(|skipped| &skipped.service)
        .collect();
    let notes: Vec<String> = report
        .notes
        .iter()
        .map(ToString::to_string)
        .chain(report.skipped.iter().map(ToString::to_string))
        .collect();
    serde_json::json!({
        "format_version": "1",
        "dry_run": dry_run,
        "changed": plan.changed,
        "unchanged": plan.unchanged,
        "deleted": plan.deleted,
        "skipped": skipped,
        "refused": refused,
        "adopted": adopted,
        "notes": notes,
    })
}

/// The plan for people: a line an entry written, deleted, adopted or refused, and a summary.
pub(super) fn render(plan: &SyncPlan, dry_run: bool) -> String {
    let mut out = String::new();
    for adopted in &plan.adopted {
        let verb = if dry_run { "would adopt" } else { "adopted" };
        out.push_str(&format!(
            "  {verb} {}: {}, a {} holding {}\n",
            adopted.service, adopted.name, adopted.kind, adopted.holds
        ));
    }
    for write in &plan.writes {
        let symbol = match write.change {
            Some(ValueChange::Create) => "+",
            Some(ValueChange::Update) | None => "~",
        };
        out.push_str(&format!("  {symbol} {}: {}\n", write.service, write.name));
    }
    for delete in &plan.deletes {
        out.push_str(&format!("  - {}: {}\n", delete.service, delete.name));
    }
    for foreign in &plan.refused {
        out.push_str(&format!(
            "  ! {}: {} (a {} cogwire did not write; left alone)\n",
            foreign.service, foreign.name, foreign.kind
        ));
    }
    let (changed, unchanged, deleted) =
        (plan.changed.len(), plan.unchanged.len(), plan.deleted.len());
    let refused = match plan.refused_services().len() {
        0 => String::new(),
        count => format!(", {count} refused"),
    };
    if dry_run {
        out.push_str(&format!(
            "Would change {changed}, delete {deleted}; {unchanged} unchanged{refused} (dry run: nothing was written).\n"
        ));
    } else {
        out.push_str(&format!(
            "Secrets: {changed} changed, {unchanged} unchanged, {deleted} deleted{refused}.\n"
        ));
    }
    out
}
