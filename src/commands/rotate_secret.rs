//! `cogwire rotate-secret`: runs the rotation steps (`credentials::rotate`) for each named
//! service, waits the grace period between them when asked, and prints what each step did.

use std::collections::BTreeMap;

use super::pool::{connect, explain, parse_timeout};
use crate::cli::{GlobalArgs, RotateSecretArgs};
use crate::credentials::rotate::{Rotated, finish, start};
use crate::credentials::sync::{declared_services, select};
use crate::exit::ExitStatus;

pub async fn run(global: &GlobalArgs, args: &RotateSecretArgs) -> anyhow::Result<ExitStatus> {
    let grace = args.grace.as_deref().map(parse_timeout).transpose()?;
    let session = match connect(global, &args.pace).await? {
        Ok(session) => session,
        Err(status) => return Ok(status),
    };
    let result = async {
        let selected = select(&declared_services(&session), &args.services).map_err(explain)?;
        let mut outcomes: BTreeMap<String, Rotated> = BTreeMap::new();
        if !args.finish {
            for service in &selected {
                let outcome = start(&session, service).await.map_err(explain)?;
                eprintln!("{service}: {outcome}");
                outcomes.insert(service.clone(), outcome);
            }
        }
        if let Some(grace) = grace {
            eprintln!(
                "waiting {} for services to pick up the new secrets",
                crate::config::duration::Seconds(grace.as_secs())
            );
            tokio::time::sleep(grace).await;
        }
        if args.finish || grace.is_some() {
            for service in &selected {
                let outcome = finish(&session, service).await.map_err(explain)?;
                eprintln!("{service}: {outcome}");
                outcomes.insert(service.clone(), outcome);
            }
        }
        anyhow::Ok((selected, outcomes))
    }
    .await;
    if args.stats {
        eprint!("{}", session.pacer.report().render());
    }
    let (selected, outcomes) = result?;
    if global.json {
        let services: BTreeMap<&String, String> = outcomes
            .iter()
            .map(|(service, outcome)| (service, outcome.to_string()))
            .collect();
        outln!(
            "{}",
            serde_json::json!({"format_version": "1", "services": services})
        );
    } else {
        for (service, outcome) in &outcomes {
            outln!("{service}: {outcome}");
        }
        if !args.finish && grace.is_none() {
            outln!(
                "Once every service has read its new secret, retire the old: cogwire rotate-secret {} --finish",
                selected.iter().cloned().collect::<Vec<_>>().join(" ")
            );
        }
    }
    Ok(ExitStatus::Success)
}
