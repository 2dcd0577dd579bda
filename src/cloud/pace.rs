//! Calling AWS within its quotas: a client-side limiter per operation and per quota category,
//! retries with jittered exponential back-off for what is safe to retry, and counts for `--stats`.
//!
//! Cognito allows any one operation 5 requests a second per user pool, and each category of
//! operations 15 to 20 a second per account; cogwire spaces its calls to stay inside both, so
//! throttling is rare rather than the way it finds the limit.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use serde::Serialize;

use crate::cloud::{CloudError, CloudResult};

/// Requests a second for one operation on one user pool.
const COGNITO_PER_OPERATION: f64 = 5.0;

/// Hidden test hook, for `scripts/bench` only: multiplies every rate below, so that a run against
/// localaws's quota emulation with `speedup` S can be paced S times faster too and stay in the
/// same time units. Unset, unparsable or not positive means 1.0. Not a user setting: against
/// AWS, anything above 1 only earns throttling.
const QUOTA_SCALE_VARIABLE: &str = "COGWIRE_QUOTA_SCALE";

fn quota_scale() -> f64 {
    std::env::var(QUOTA_SCALE_VARIABLE)
        .ok()
        .and_then(|value| value.trim().parse::<f64>().ok())
        .filter(|scale| scale.is_finite() && *scale > 0.0)
        .unwrap_or(1.0)
}

/// The quota category of an operation and the category's requests a second.
fn category(operation: &str) -> Option<(&'static str, f64)> {
    Some(match operation {
        "CreateResourceServer" | "UpdateResourceServer" | "DeleteResourceServer" => {
            ("UserPoolResourceUpdate", 15.0)
        }
        "DescribeResourceServer" | "ListResourceServers" => ("UserPoolResourceRead", 20.0),
        "CreateUserPoolClient"
        | "UpdateUserPoolClient"
        | "DeleteUserPoolClient"
        | "AddUserPoolClientSecret"
        | "DeleteUserPoolClientSecret" => ("UserPoolClientUpdate", 15.0),
        "DescribeUserPoolClient" | "ListUserPoolClients" | "ListUserPoolClientSecrets" => {
            ("UserPoolClientRead", 15.0)
        }
        "DescribeUserPool" => ("UserPoolRead", 20.0),
        // SSM's defaults: PutParameter is slow, reads are plentiful.
        "PutParameter" | "DeleteParameter" | "AddTagsToResource" => ("SsmWrite", 3.0),
        "GetParameters" | "GetParameter" | "GetParametersByPath" => ("SsmRead", 40.0),
        _ => return None,
    })
}

fn operation_rate(operation: &str) -> Option<f64> {
    match category(operation) {
        Some((name, _)) if name.starts_with("UserPool") => Some(COGNITO_PER_OPERATION),
        _ => None,
    }
}

#[derive(Debug, Clone, Copy)]
pub struct PaceSettings {
    /// The share of each quota cogwire may use, in (0, 1]; lower it for accounts with other
    /// traffic.
    pub quota_share: f64,
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for PaceSettings {
    fn default() -> Self {
        Self {
            quota_share: 1.0,
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct OperationStats {
    pub calls: u64,
    pub throttled: u64,
    pub failed: u64,
}

/// Paces, retries and counts every AWS call of one command run.
pub struct Caller {
    settings: PaceSettings,
    /// `COGWIRE_QUOTA_SCALE`, read once.
    scale: f64,
    started: Instant,
    state: Mutex<CallerState>,
}

#[derive(Default)]
struct CallerState {
    next_slot: BTreeMap<&'static str, Instant>,
    stats: BTreeMap<&'static str, OperationStats>,
    retries: u64,
    random: u64,
}

impl Caller {
    pub fn new(settings: PaceSettings) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0x9e37_79b9, |elapsed| elapsed.as_nanos() as u64)
            | 1;
        Self {
            settings,
            scale: quota_scale(),
            started: Instant::now(),
            state: Mutex::new(CallerState {
                random: seed,
                ..CallerState::default()
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CallerState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Reserves the earliest moment at which both the operation's and its category's budgets
    /// allow another call, and waits for it.
    async fn pace(&self, operation: &'static str) {
        // The share of each quota cogwire may use, times the bench's time scale.
        let factor = self.settings.quota_share.clamp(0.01, 1.0) * self.scale;
        let wait_until = {
            let mut state = self.lock();
            let now = Instant::now();
            let mut keys: Vec<(&'static str, f64)> = Vec::new();
            if let Some(rate) = operation_rate(operation) {
                keys.push((operation, rate));
            }
            if let Some(category) = category(operation) {
                keys.push(category);
            }
            let slot = keys
                .iter()
                .filter_map(|(key, _)| state.next_slot.get(key).copied())
                .fold(now, Instant::max);
            for (key, rate) in keys {
                state
                    .next_slot
                    .insert(key, slot + Duration::from_secs_f64(1.0 / (rate * factor)));
            }
            slot
        };
        tokio::time::sleep_until(wait_until).await;
    }

    /// One paced, counted attempt.
    pub async fn attempt<T, Fut>(
        &self,
        operation: &'static str,
        call: impl FnOnce() -> Fut,
    ) -> CloudResult<T>
    where
        Fut: Future<Output = CloudResult<T>>,
    {
        self.pace(operation).await;
        let result = call().await;
        let mut state = self.lock();
        let stats = state.stats.entry(operation).or_default();
        stats.calls += 1;
        match &result {
            Err(CloudError::Throttled { .. }) => stats.throttled += 1,
            Err(_) => stats.failed += 1,
            Ok(_) => {}
        }
        result
    }

    /// A call that is safe to repeat: retried on throttling and transient failures.
    pub async fn call<T, Fut>(
        &self,
        operation: &'static str,
        mut call: impl FnMut() -> Fut,
    ) -> CloudResult<T>
    where
        Fut: Future<Output = CloudResult<T>>,
    {
        let mut attempt = 0;
        loop {
            match self.attempt(operation, &mut call).await {
                Err(error) if error.is_retryable() && attempt + 1 < self.settings.max_attempts => {
                    tracing::info!("{operation}: {error}; retrying (attempt {})", attempt + 2);
                    self.back_off(attempt).await;
                    attempt += 1;
                }
                result => return result,
            }
        }
    }

    /// Sleeps a random time up to an exponentially growing cap ("full jitter"), so that
    /// concurrent retries spread out instead of colliding again.
    pub async fn back_off(&self, attempt: u32) {
        let delay = {
            let mut state = self.lock();
            state.retries += 1;
            state.random ^= state.random << 13;
            state.random ^= state.random >> 7;
            state.random ^= state.random << 17;
            let cap = self
                .settings
                .base_delay
                .saturating_mul(1 << attempt.min(16))
                .min(self.settings.max_delay);
            let fraction = (state.random % 1_000) as f64 / 1_000.0;
            cap.mul_f64(0.5 + fraction / 2.0)
        };
        tokio::time::sleep(delay).await;
    }

    pub fn max_attempts(&self) -> u32 {
        self.settings.max_attempts
    }

    pub fn report(&self) -> StatsReport {
        let state = self.lock();
        StatsReport {
            operations: state
                .stats
                .iter()
                .map(|(name, stats)| ((*name).to_owned(), stats.clone()))
                .collect(),
            retries: state.retries,
            elapsed_seconds: self.started.elapsed().as_secs_f64(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct StatsReport {
    pub operations: BTreeMap<String, OperationStats>,
    pub retries: u64,
    pub elapsed_seconds: f64,
}

impl StatsReport {
    pub fn total_calls(&self) -> u64 {
        self.operations.values().map(|stats| stats.calls).sum()
    }

    pub fn render(&self) -> String {
        let mut out = String::from("API calls:\n");
        for (name, stats) in &self.operations {
            out.push_str(&format!(
                "  {name:<28} {:>6} calls {:>4} throttled {:>4} failed\n",
                stats.calls, stats.throttled, stats.failed
            ));
        }
        out.push_str(&format!(
            "  {} calls, {} retries, {:.1} s\n",
            self.total_calls(),
            self.retries,
            self.elapsed_seconds
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn calls_of_one_operation_are_spaced_to_its_rate() {
        let caller = Caller::new(PaceSettings::default());
        let start = tokio::time::Instant::now();
        for _ in 0..6 {
            caller
                .attempt("CreateResourceServer", || async { Ok::<_, CloudError>(()) })
                .await
                .ok();
        }
        // Five a second: the sixth call waits a whole second after the first.
        assert_eq!(start.elapsed(), Duration::from_secs(1));
        assert_eq!(caller.report().operations["CreateResourceServer"].calls, 6);
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_is_retried_and_counted_then_given_up() {
        let caller = Caller::new(PaceSettings {
            max_attempts: 3,
            ..PaceSettings::default()
        });
        let result: CloudResult<()> = caller
            .call("ListUserPoolClients", || async {
                Err(CloudError::Throttled {
                    operation: "ListUserPoolClients",
                    code: "TooManyRequestsException".into(),
                })
            })
            .await;
        assert!(result.is_err());
        let report = caller.report();
        assert_eq!(report.operations["ListUserPoolClients"].throttled, 3);
        assert_eq!(report.retries, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn rejections_are_not_retried() {
        let caller = Caller::new(PaceSettings::default());
        let result: CloudResult<()> = caller
            .call("CreateUserPoolClient", || async {
                Err(CloudError::Rejected {
                    operation: "CreateUserPoolClient",
                    code: "InvalidParameterException".into(),
                    message: "no".into(),
                })
            })
            .await;
        assert!(result.is_err());
        assert_eq!(caller.report().operations["CreateUserPoolClient"].calls, 1);
    }
}
