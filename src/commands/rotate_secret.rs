//! `cogwire rotate-secret`: runs the rotation steps (`credentials::rotate`) for each named
//! service, waits the grace period between them when asked, and prints what each step did.

use std::collections::BTreeMap;

use super::hinted;
use super::pool::{connect, explain, parse_timeout};
use crate::cli::{GlobalArgs, RotateSecretArgs};
use crate::config::duration::Seconds;
use crate::credentials::rotate::{Rotated, Settle, finish_settled, settle_time, start};
use crate::credentials::sync::{declared_services, select};
use crate::exit::ExitStatus;

pub async fn run(global: &GlobalArgs, args: &RotateSecretArgs) -> anyhow::Result<ExitStatus> {
    let refresh = args.refresh.as_deref().map(parse_timeout).transpose()?;
    let explicit_grace = args
        .grace
        .as_deref()
        .filter(|text| !text.is_empty())
        .map(parse_timeout)
        .transpose()?;
    let session = match connect(global, &args.pace).await? {
        Ok(session) => session,
        Err(status) => return Ok(status),
    };
    // The slowest consumer's refresh: the flag, else `[export] refresh`; unknown, nothing waits.
    let refresh = refresh
        .map(|refresh| Seconds(refresh.as_secs()))
        .or(session.model.export.refresh);
    let grace = match (&args.grace, explicit_grace, refresh) {
        (None, _, _) => None,
        (Some(_), Some(grace), _) => Some(grace),
        (Some(_), None, Some(refresh)) => {
            Some(std::time::Duration::from_secs(settle_time(refresh).0))
        }
        (Some(_), None, None) => {
            return Err(hinted(
                "--grace without a value needs the slowest consumer's refresh",
                "set `[export] refresh = \"1h\"` in services.toml, pass --refresh 1h, or give --grace a duration such as 15m",
            ));
        }
    };
    if let (Some(grace), Some(refresh)) = (grace, refresh)
        && !args.force
        && grace.as_secs() < settle_time(refresh).0
    {
        return Err(hinted(
            format!(
                "--grace {} is shorter than consumers need: they re-read the store every {refresh}",
                Seconds(grace.as_secs())
            ),
            format!(
                "use --grace {} (or --grace alone), or --force if every consumer re-reads sooner",
                settle_time(refresh)
            ),
        ));
    }
    let settle = |force: bool| {
        refresh.filter(|_| !force).map(|refresh| Settle {
            refresh,
            now: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |elapsed| elapsed.as_nanos() as i128),
        })
    };
    let result = async {
        let selected = select(&session.model, &declared_services(&session), &args.services)
            .map_err(explain)?;
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
                // After a grace this run waited out itself, the wait was checked before it.
                let settle = settle(args.force || grace.is_some());
                let outcome = finish_settled(&session, service, settle)
                    .await
                    .map_err(explain)?;
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
