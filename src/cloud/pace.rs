//! Calling AWS within its quotas: a client-side limiter per operation and per quota category (the
//! rates come from `Operation`), the one retry policy of every call, and counts for `--stats`.
//!
//! Cognito allows any one operation 5 requests a second per user pool, and each category of
//! operations 15 to 20 a second per account; cogwire spaces its calls to stay inside both, so
//! throttling is rare rather than the way it finds the limit.
//!
//! Each budget is a token bucket that holds one second of its rate and starts full, as AWS's
//! request-rate quotas are enforced: a run may make a second's worth of calls at once, then one
//! every `1 / rate`, and a budget left idle fills again. A throttled reply means the bucket on
//! AWS's side held less than that (another client spent it, or it is smaller): the budget is
//! emptied and spaces its calls without a burst for the rest of the run.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use serde::Serialize;

use crate::cloud::operation::{Category, Operation, Retry};
use crate::cloud::{CloudError, CloudResult};

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

#[derive(Debug, Clone, Copy)]
pub struct PaceSettings {
    /// The share of each quota cogwire may use, in (0, 1]; lower it for accounts with other
    /// traffic.
    pub quota_share: f64,
    /// Parameter Store's higher throughput is enabled in the account (`Category::rate_with`).
    pub ssm_higher_throughput: bool,
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for PaceSettings {
    fn default() -> Self {
        Self {
            quota_share: 1.0,
            ssm_higher_throughput: false,
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
pub struct Pacer {
    settings: PaceSettings,
    /// `COGWIRE_QUOTA_SCALE`, read once.
    scale: f64,
    started: Instant,
    state: Mutex<PacerState>,
}

/// The most the first wait for a refill after a burst adds: a burst's calls open connections and
/// reach AWS later than calls on open ones, by about a handshake's round trips. Where it takes
/// longer (a far region), AWS throttles a call, and that budget stops bursting (`drain`).
const BURST_SLACK: Duration = Duration::from_millis(50);

/// The look of a call that has none.
type NoLook<T> = fn() -> std::future::Ready<CloudResult<Option<T>>>;

/// A budget the limiter spaces calls within.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Budget {
    Operation(Operation),
    Category(Category),
}

#[derive(Default)]
struct PacerState {
    buckets: BTreeMap<Budget, Bucket>,
    stats: BTreeMap<Operation, OperationStats>,
    retries: u64,
    random: u64,
}

impl Pacer {
    pub fn new(settings: PaceSettings) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0x9e37_79b9, |elapsed| elapsed.as_nanos() as u64)
            | 1;
        Self {
            settings,
            scale: quota_scale(),
            started: Instant::now(),
            state: Mutex::new(PacerState {
                random: seed,
                ..PacerState::default()
            }),
        }
    }

    /// The category's rate in this account.
    fn rate(&self, category: Category) -> f64 {
        category.rate_with(self.settings.ssm_higher_throughput)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PacerState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The budgets a call of `operation` spends, with their rates in this run.
    fn budgets(&self, operation: Operation) -> Vec<Spend> {
        // The share of each quota cogwire may use; the bench's time scale makes time run faster
        // and leaves a burst as many calls.
        let share = self.settings.quota_share.clamp(0.01, 1.0);
        let spend = |budget, rate: f64| Spend {
            budget,
            rate: rate * share * self.scale,
            burst: burst(rate * share),
        };
        let category = operation.category();
        let mut budgets = vec![spend(Budget::Category(category), self.rate(category))];
        if let Some(rate) = operation.own_rate() {
            budgets.push(spend(Budget::Operation(operation), rate));
        }
        budgets
    }

    /// Reserves the earliest moment at which both the operation's and its category's budgets
    /// allow another call, and waits for it.
    async fn pace(&self, operation: Operation) {
        let budgets = self.budgets(operation);
        let wait_until = {
            let mut state = self.lock();
            let now = Instant::now();
            reserve(&mut state.buckets, &budgets, now)
        };
        tokio::time::sleep_until(wait_until).await;
    }

    /// A throttled reply: the operation's budgets are empty now, and burst no more in this run.
    fn drain(&self, operation: Operation) {
        let budgets = self.budgets(operation);
        let mut state = self.lock();
        let now = Instant::now();
        for Spend { budget, rate, .. } in budgets {
            let bucket = state
                .buckets
                .entry(budget)
                .or_insert_with(|| Bucket::new(now));
            bucket.burst = false;
            bucket.tat = bucket.tat.max(now + interval(rate));
        }
    }

    /// How long the call of `operation` that follows `queued` more made now would wait for its
    /// budgets, reserving nothing: the apply engine launches a wave of what can start soon, then
    /// checks its lock again.
    pub fn wait_for(&self, operation: Operation, queued: u32) -> Duration {
        let budgets = self.budgets(operation);
        let mut buckets: BTreeMap<Budget, Bucket> = {
            let state = self.lock();
            budgets
                .iter()
                .filter_map(|spend| {
                    let bucket = state.buckets.get(&spend.budget)?;
                    Some((spend.budget, *bucket))
                })
                .collect()
        };
        let now = Instant::now();
        let mut slot = now;
        for _ in 0..=queued {
            slot = reserve(&mut buckets, &budgets, now);
        }
        slot.saturating_duration_since(now)
    }

    /// One paced, counted attempt.
    async fn attempt<T, Fut>(
        &self,
        operation: Operation,
        call: impl FnOnce() -> Fut,
    ) -> CloudResult<T>
    where
        Fut: Future<Output = CloudResult<T>>,
    {
        self.pace(operation).await;
        tracing::debug!("AWS {operation}");
        let result = call().await;
        if let Err(error) = &result {
            tracing::debug!("AWS {operation} failed: {error}");
        }
        let mut state = self.lock();
        let stats = state.stats.entry(operation).or_default();
        stats.calls += 1;
        let throttled = match &result {
            Err(CloudError::Throttled { .. }) => {
                stats.throttled += 1;
                true
            }
            Err(_) => {
                stats.failed += 1;
                false
            }
            Ok(_) => false,
        };
        drop(state);
        if throttled {
            self.drain(operation);
        }
        result
    }

    /// Calls `operation`, paced, and retries it after throttling (AWS did nothing) and, for an
    /// operation that is `Retry::Repeatable`, after a failure whose outcome is unknown. An
    /// operation that must look first is retried after throttling only: call it with
    /// `call_looking` to retry it after such failures too.
    pub async fn call<T, Fut>(
        &self,
        operation: Operation,
        call: impl FnMut() -> Fut,
    ) -> CloudResult<T>
    where
        Fut: Future<Output = CloudResult<T>>,
    {
        self.retrying(operation, call, None::<NoLook<T>>).await
    }

    /// Calls `operation` as `call` does; after a failure whose outcome is unknown, of an
    /// operation that a repeat could do twice, first asks `look` whether the failed attempt took
    /// effect: `Some` is taken as its result, `None` means it did not (or `look` undid it) and
    /// the call is tried again.
    pub async fn call_looking<T, Fut, LookFut>(
        &self,
        operation: Operation,
        call: impl FnMut() -> Fut,
        look: impl FnMut() -> LookFut,
    ) -> CloudResult<T>
    where
        Fut: Future<Output = CloudResult<T>>,
        LookFut: Future<Output = CloudResult<Option<T>>>,
    {
        self.retrying(operation, call, Some(look)).await
    }

    /// The one retry policy.
    async fn retrying<T, Fut, LookFut>(
        &self,
        operation: Operation,
        mut call: impl FnMut() -> Fut,
        mut look: Option<impl FnMut() -> LookFut>,
    ) -> CloudResult<T>
    where
        Fut: Future<Output = CloudResult<T>>,
        LookFut: Future<Output = CloudResult<Option<T>>>,
    {
        let mut attempt = 0;
        loop {
            let error = match self.attempt(operation, &mut call).await {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            let unknown_outcome = matches!(error, CloudError::Transient { .. });
            let must_look = unknown_outcome && operation.retry() == Retry::LookFirst;
            // Throttling means AWS did nothing; an unknown outcome is retried only where a
            // repeat is harmless or the first attempt can be looked for.
            let may_retry = error.is_retryable() && (!must_look || look.is_some());
            if !may_retry {
                return Err(error);
            }
            if attempt + 1 >= self.settings.max_attempts {
                return Err(CloudError::exhausted(error, attempt + 1));
            }
            tracing::info!("{operation}: {error}; retrying (attempt {})", attempt + 2);
            self.back_off(attempt).await;
            attempt += 1;
            if must_look
                && let Some(look) = look.as_mut()
                && let Some(found) = look().await?
            {
                tracing::info!("{operation}: the failed attempt had taken effect");
                return Ok(found);
            }
        }
    }

    /// Sleeps a random time up to an exponentially growing cap ("full jitter"), so that
    /// concurrent retries spread out instead of colliding again.
    async fn back_off(&self, attempt: u32) {
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

    pub fn report(&self) -> StatsReport {
        let state = self.lock();
        StatsReport {
            operations: state
                .stats
                .iter()
                .map(|(operation, stats)| (operation.name().to_owned(), stats.clone()))
                .collect(),
            retries: state.retries,
            elapsed_seconds: self.started.elapsed().as_secs_f64(),
        }
    }
}

/// One budget's token bucket, kept as the generic cell rate algorithm keeps it: a call may go once
/// `now >= tat - (burst - 1) * interval`, and moves `tat` on by one interval; a bucket whose `tat`
/// is past is full.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// The theoretical arrival time of the next call were calls spaced evenly.
    tat: Instant,
    /// Whether it may burst: false once AWS throttled a call of this budget.
    burst: bool,
    /// Whether the wait for a refill in this episode has had its slack (see `burst`): set by
    /// the first call that has to wait, cleared when the bucket is found full again.
    slackened: bool,
}

impl Bucket {
    fn new(now: Instant) -> Self {
        Self {
            tat: now,
            burst: true,
            slackened: false,
        }
    }
}

/// What a call spends of one budget: its rate in this run, and how many calls it lets go at once.
#[derive(Debug, Clone, Copy)]
struct Spend {
    budget: Budget,
    rate: f64,
    burst: u32,
}

/// Reserves the earliest moment, not before `now`, at which every one of `budgets` allows a call.
fn reserve(buckets: &mut BTreeMap<Budget, Bucket>, budgets: &[Spend], now: Instant) -> Instant {
    let mut slot = now;
    for spend in budgets {
        let bucket = buckets
            .entry(spend.budget)
            .or_insert_with(|| Bucket::new(now));
        if bucket.tat <= now {
            bucket.slackened = false;
        }
        let calls = if bucket.burst { spend.burst } else { 1 };
        // In whole intervals, as `tat` moves, so that rounding never delays a call.
        let tolerance = interval(spend.rate) * (calls - 1);
        if bucket.tat.checked_sub(tolerance).is_some_and(|at| at > now)
            && calls > 1
            && !bucket.slackened
        {
            bucket.tat += slack(spend.rate);
            bucket.slackened = true;
        }
        let allowed = bucket.tat.checked_sub(tolerance).unwrap_or(now).max(now);
        slot = slot.max(allowed);
    }
    for spend in budgets {
        if let Some(bucket) = buckets.get_mut(&spend.budget) {
            bucket.tat = bucket.tat.max(slot) + interval(spend.rate);
        }
    }
    slot
}

/// What the first wait for a refill after a burst adds (see `burst`): enough for the burst's new
/// connections to arrive, and never more than half an interval.
fn slack(rate: f64) -> Duration {
    (interval(rate) / 2).min(BURST_SLACK)
}

/// The time between two calls at `rate` a second.
fn interval(rate: f64) -> Duration {
    Duration::from_secs_f64(1.0 / rate)
}

/// How many calls a budget of `rate` a second lets go at once: one second's worth, as AWS's
/// buckets hold (and localaws's emulate), and at least one. The first call after a burst that has
/// to wait for a refill waits a little more, once (`slack`): the burst's first calls open
/// connections and reach AWS later than the calls that follow on open ones, so AWS's bucket is
/// drawn on a little later than cogwire's and must not be found a fraction of a token short.
fn burst(rate: f64) -> u32 {
    rate.floor().max(1.0) as u32
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

    async fn succeed(pacer: &Pacer, operation: Operation) {
        pacer
            .attempt(operation, || async { Ok::<_, CloudError>(()) })
            .await
            .ok();
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_bucket_lets_a_second_of_calls_go_then_spaces_them_to_the_rate() {
        let pacer = Pacer::new(PaceSettings::default());
        let start = tokio::time::Instant::now();
        let mut starts = Vec::new();
        for _ in 0..8 {
            succeed(&pacer, Operation::DescribeUserPoolClient).await;
            starts.push(start.elapsed());
        }
        // Five a second per pool: five at once, then (after 50 ms of slack) one every 200 ms.
        let ms: Vec<u128> = starts.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, vec![0, 0, 0, 0, 0, 250, 450, 650]);
        assert_eq!(pacer.report().operations["DescribeUserPoolClient"].calls, 8);
    }

    /// The bench's speed-up makes time run faster, as localaws's does, and a burst no larger.
    #[tokio::test(start_paused = true)]
    async fn a_time_scale_shortens_the_spacing_not_the_burst() {
        let mut pacer = Pacer::new(PaceSettings::default());
        pacer.scale = 10.0;
        let start = tokio::time::Instant::now();
        let mut starts = Vec::new();
        for _ in 0..7 {
            succeed(&pacer, Operation::ListResourceServers).await;
            starts.push(start.elapsed().as_millis());
        }
        // 20 ms apart after a burst of five, and half an interval of slack.
        assert_eq!(starts, vec![0, 0, 0, 0, 0, 30, 50]);
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_budget_fills_again_but_never_past_one_second() {
        let pacer = Pacer::new(PaceSettings::default());
        for _ in 0..5 {
            succeed(&pacer, Operation::ListResourceServers).await;
        }
        tokio::time::sleep(Duration::from_secs(10)).await;
        let start = tokio::time::Instant::now();
        for _ in 0..6 {
            succeed(&pacer, Operation::ListResourceServers).await;
        }
        // Ten idle seconds buy five calls, not fifty.
        assert_eq!(start.elapsed(), Duration::from_millis(250));
    }

    #[tokio::test(start_paused = true)]
    async fn a_throttled_budget_is_emptied_and_bursts_no_more() {
        let pacer = Pacer::new(PaceSettings {
            max_attempts: 1,
            ..PaceSettings::default()
        });
        let throttled: CloudResult<()> = pacer
            .call(Operation::DescribeUserPoolClient, || async {
                Err(CloudError::Throttled {
                    operation: Operation::DescribeUserPoolClient,
                    code: "TooManyRequestsException".into(),
                })
            })
            .await;
        assert!(throttled.is_err());
        tokio::time::sleep(Duration::from_secs(10)).await;
        let start = tokio::time::Instant::now();
        for _ in 0..3 {
            succeed(&pacer, Operation::DescribeUserPoolClient).await;
        }
        assert_eq!(start.elapsed(), Duration::from_millis(400));
        // Another operation's budget still bursts.
        let start = tokio::time::Instant::now();
        for _ in 0..3 {
            succeed(&pacer, Operation::ListResourceServers).await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn the_category_budget_binds_operations_that_share_it() {
        let pacer = Pacer::new(PaceSettings::default());
        let start = tokio::time::Instant::now();
        // Three client reads of 5 a second each fill UserPoolClientRead's 15 a second.
        for operation in [
            Operation::DescribeUserPoolClient,
            Operation::ListUserPoolClients,
            Operation::ListUserPoolClientSecrets,
        ] {
            for _ in 0..5 {
                succeed(&pacer, operation).await;
            }
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
        succeed(&pacer, Operation::DescribeUserPoolClient).await;
        // The sixteenth waits for its own operation's bucket (5 a second), and the slack.
        assert_eq!(start.elapsed().as_millis(), 250);
    }

    #[tokio::test(start_paused = true)]
    async fn wait_for_counts_the_calls_already_queued() {
        let pacer = Pacer::new(PaceSettings::default());
        assert_eq!(
            pacer.wait_for(Operation::DescribeUserPoolClient, 0),
            Duration::ZERO
        );
        assert_eq!(
            pacer.wait_for(Operation::DescribeUserPoolClient, 4),
            Duration::ZERO
        );
        assert_eq!(
            pacer.wait_for(Operation::DescribeUserPoolClient, 6),
            Duration::from_millis(450)
        );
        succeed(&pacer, Operation::DescribeUserPoolClient).await;
        // One made and four queued: the sixth.
        assert_eq!(
            pacer.wait_for(Operation::DescribeUserPoolClient, 4),
            Duration::from_millis(250)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_is_retried_and_counted_then_given_up() {
        let pacer = Pacer::new(PaceSettings {
            max_attempts: 3,
            ..PaceSettings::default()
        });
        let result: CloudResult<()> = pacer
            .call(Operation::ListUserPoolClients, || async {
                Err(CloudError::Throttled {
                    operation: Operation::ListUserPoolClients,
                    code: "TooManyRequestsException".into(),
                })
            })
            .await;
        assert!(result.is_err());
        let report = pacer.report();
        assert_eq!(report.operations["ListUserPoolClients"].throttled, 3);
        assert_eq!(report.retries, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn rejections_are_not_retried() {
        let pacer = Pacer::new(PaceSettings::default());
        let result: CloudResult<()> = pacer
            .call(Operation::CreateUserPoolClient, || async {
                Err(CloudError::Rejected {
                    operation: Operation::CreateUserPoolClient,
                    code: "InvalidParameterException".into(),
                    message: "no".into(),
                })
            })
            .await;
        assert!(result.is_err());
        assert_eq!(pacer.report().operations["CreateUserPoolClient"].calls, 1);
    }

    fn transient(operation: Operation) -> CloudError {
        CloudError::Transient {
            operation,
            message: "connection reset".into(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_unknown_outcome_is_looked_up_before_a_create_is_tried_again() {
        let pacer = Pacer::new(PaceSettings::default());
        let creates = std::sync::atomic::AtomicU32::new(0);
        let result = pacer
            .call_looking(
                Operation::CreateUserPoolClient,
                || async {
                    creates.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    Err::<&str, _>(transient(Operation::CreateUserPoolClient))
                },
                || async { Ok(Some("found by name")) },
            )
            .await;
        assert_eq!(result, Ok("found by name"));
        assert_eq!(creates.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn an_operation_that_must_look_first_is_not_repeated_blindly() {
        let pacer = Pacer::new(PaceSettings::default());
        let result: CloudResult<()> = pacer
            .call(Operation::AddUserPoolClientSecret, || async {
                Err(transient(Operation::AddUserPoolClientSecret))
            })
            .await;
        assert!(matches!(result, Err(CloudError::Transient { .. })));
        assert_eq!(
            pacer.report().operations["AddUserPoolClientSecret"].calls,
            1
        );
    }

    #[tokio::test(start_paused = true)]
    async fn only_a_retried_failure_says_how_many_attempts_it_took() {
        let pacer = Pacer::new(PaceSettings {
            max_attempts: 3,
            ..PaceSettings::default()
        });
        let retried: CloudResult<()> = pacer
            .call(Operation::PutParameter, || async {
                Err(transient(Operation::PutParameter))
            })
            .await;
        let error = retried.expect_err("always fails");
        assert!(error.to_string().ends_with("(after 3 attempts)"), "{error}");
        let once: CloudResult<()> = pacer
            .call(Operation::AddUserPoolClientSecret, || async {
                Err(transient(Operation::AddUserPoolClientSecret))
            })
            .await;
        let error = once.expect_err("fails");
        assert!(!error.to_string().contains("attempts"), "{error}");
        assert!(!error.hint().unwrap_or_default().contains("every retry"));
    }
}
