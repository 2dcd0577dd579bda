//! `cogwire force-unlock [LOCK_ID] [--force]`: remove the apply lock a run that died left behind.

use super::pool::{connect, explain};
use crate::apply::lock::Unlocked;
use crate::apply::run::force_unlock;
use crate::cli::{ForceUnlockArgs, GlobalArgs, PaceArgs};
use crate::exit::ExitStatus;

pub async fn run(global: &GlobalArgs, args: &ForceUnlockArgs) -> anyhow::Result<ExitStatus> {
    let session = match connect(global, &PaceArgs::default()).await? {
        Ok(session) => session,
        Err(status) => return Ok(status),
    };
    match force_unlock(&session, args.lock_id.as_deref(), args.force)
        .await
        .map_err(explain)?
    {
        Unlocked::NotLocked => outln!("User pool {} is not locked.", session.pool_id),
        Unlocked::Removed(lock) => outln!(
            "Removed the lock on user pool {} held by {}.",
            session.pool_id,
            lock.describe()
        ),
    }
    Ok(ExitStatus::Success)
}
