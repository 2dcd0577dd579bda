//! `cogwire force-unlock`: remove the apply lock of a pool left by a run that died.

use super::pool::{connect, explain};
use crate::apply::lock::Lock;
use crate::apply::record::lock_name;
use crate::cli::{GlobalArgs, PaceArgs};
use crate::cloud::operation::Operation;
use crate::exit::ExitStatus;

pub async fn run(global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    let context = match connect(global, &PaceArgs::default()).await? {
        Ok(context) => context,
        Err(status) => return Ok(status),
    };
    let held = Lock::read(context.parameters(), &context.pacer, &context.pool_id)
        .await
        .map_err(explain)?;
    let Some(held) = held else {
        outln!("User pool {} is not locked.", context.pool_id);
        return Ok(ExitStatus::Success);
    };
    use crate::cloud::Parameters as _;
    let name = lock_name(&context.pool_id);
    context
        .pacer
        .call(Operation::DeleteParameter, || {
            context.parameters().delete(&name)
        })
        .await
        .map_err(explain)?;
    outln!(
        "Removed the lock on user pool {} held by {}.",
        context.pool_id,
        held.describe()
    );
    Ok(ExitStatus::Success)
}
