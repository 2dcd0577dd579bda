//! The apply lock: one SSM parameter per pool, created with Overwrite=false, so two applies against
//! one pool never interleave. Each run's lock carries an id of its own and names its holder (user,
//! host, pid, CI job). A running apply checks that it still holds it before each batch of writes
//! and stops when another run has taken it (a fence), and pushes its expiry forward while it runs,
//! so a lock that stopped being refreshed belongs to a run that died. `cogwire force-unlock ID`
//! removes exactly the lock it names, and refuses one that looks alive unless told `--force`.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::cloud::operation::Operation;
use crate::cloud::pace::Pacer;
use crate::cloud::{CloudError, Parameters};
use crate::config::namespace::lock_name;

/// A lock not refreshed for this long is taken to belong to a run that died.
pub const LOCK_TTL: Duration = Duration::from_secs(30 * 60);

/// A run that holds its lock pushes the expiry forward once this much of it has passed.
const REFRESH_AFTER: Duration = Duration::from_secs(10 * 60);

/// How stale a holder's "still mine" may be: the lock is read at most this often by the checks
/// before each batch of writes (those that must be exact, before the first write and the record
/// save, read it every time).
pub const CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// A lock as a run writes it into the parameter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    /// Unique to one run, so a run releases only its own lock and force-unlock removes only the
    /// lock it was told.
    pub id: String,
    /// Who, for people: `user@host pid N`, and the CI job where there is one.
    pub holder: String,
    /// The holder's host and pid, to tell a dead local holder from a live one (older cogwire
    /// versions wrote only `holder`, which is then parsed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    pub acquired_at: u64,
    /// Pushed forward while the holder runs.
    pub expires_at: u64,
}

impl LockInfo {
    fn new(holder: &Holder, now: u64) -> Self {
        Self {
            id: new_lock_id(),
            holder: holder.to_string(),
            host: Some(holder.host.clone()),
            pid: Some(holder.pid),
            acquired_at: now,
            expires_at: now.saturating_add(LOCK_TTL.as_secs()),
        }
    }

    /// The holder's host and pid: the fields, else parsed from `holder`.
    pub fn host_and_pid(&self) -> Option<(String, u32)> {
        match (&self.host, self.pid) {
            (Some(host), Some(pid)) => Some((host.clone(), pid)),
            _ => parse_holder(&self.holder),
        }
    }
}

/// What the lock parameter holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CurrentLock {
    Held(LockInfo),
    /// A value that is not a lock cogwire can read: it is taken as held, and has no id.
    Unreadable(String),
}

impl CurrentLock {
    pub fn id(&self) -> Option<&str> {
        match self {
            Self::Held(info) => Some(&info.id),
            Self::Unreadable(_) => None,
        }
    }

    /// `ci@runner-7 pid 42 since 3 min ago (expires in 27 min), lock id 1f0c…`.
    pub fn describe(&self) -> String {
        self.describe_at(now_seconds())
    }

    pub fn describe_at(&self, now: u64) -> String {
        match self {
            Self::Held(info) => format!(
                "{} since {} ({}), lock id {}",
                info.holder,
                since(info.acquired_at, now),
                expires(info.expires_at, now),
                info.id
            ),
            Self::Unreadable(_) => "unreadable lock value".to_owned(),
        }
    }

    /// Whether the run that holds it is alive, as far as can be told from here.
    pub fn standing(&self) -> Standing {
        standing(self, now_seconds(), &this_host(), pid_alive)
    }
}

/// How much a held lock looks alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Not expired: its holder has refreshed it lately, or started lately.
    Fresh,
    /// Held by a process of this host that is running.
    LiveHere,
    /// Expired: left behind by a run that died (or hung).
    Expired,
    /// Held by a process of this host that no longer exists.
    DeadHere,
    Unreadable,
}

impl Standing {
    /// Left behind by a run that died: safe to remove.
    pub fn is_left_behind(self) -> bool {
        matches!(self, Self::Expired | Self::DeadHere)
    }
}

/// The standing of `lock` at `now`, seen from `host`, where `alive` tells whether a pid of this
/// host is running.
pub fn standing(lock: &CurrentLock, now: u64, host: &str, alive: impl Fn(u32) -> bool) -> Standing {
    let CurrentLock::Held(info) = lock else {
        return Standing::Unreadable;
    };
    if let Some((holder_host, pid)) = info.host_and_pid()
        && holder_host == host
        && !host.is_empty()
    {
        return if alive(pid) {
            Standing::LiveHere
        } else {
            Standing::DeadHere
        };
    }
    if info.expires_at <= now {
        Standing::Expired
    } else {
        Standing::Fresh
    }
}

/// A duration for people; `None` past what a lock can mean (a value no run wrote).
fn human_duration(seconds: u64) -> Option<String> {
    Some(match seconds {
        0..120 => format!("{seconds} s"),
        120..7_200 => format!("{} min", seconds / 60),
        7_200..172_800 => format!("{} h", seconds / 3_600),
        172_800..31_622_400 => format!("{} days", seconds / 86_400),
        _ => return None,
    })
}

fn since(acquired_at: u64, now: u64) -> String {
    match now.checked_sub(acquired_at).and_then(human_duration) {
        Some(age) if acquired_at > 0 => format!("{age} ago"),
        _ => "an unknown time".to_owned(),
    }
}

fn expires(expires_at: u64, now: u64) -> String {
    match expires_at.checked_sub(now) {
        Some(0) | None => match now.checked_sub(expires_at).and_then(human_duration) {
            Some(ago) => format!("expired {ago} ago"),
            None => "expired".to_owned(),
        },
        Some(left) => match human_duration(left) {
            Some(left) => format!("expires in {left}"),
            None => "does not expire".to_owned(),
        },
    }
}

/// A lock id: unique to one run (time, pid, a counter, hashed), so a lock is never taken for
/// another run's even when two runs start in the same second.
pub fn new_lock_id() -> String {
    use sha2::Digest as _;
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    let seed = format!(
        "{nanos}-{}-{}-{:?}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        std::thread::current().id(),
        this_host()
    );
    sha2::Sha256::digest(seed.as_bytes())
        .iter()
        .take(12)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Who holds a lock: read from the environment where it tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub user: String,
    pub host: String,
    pub pid: u32,
    /// The CI job, e.g. `GitHub Actions run 123 of org/repo`.
    pub ci: Option<String>,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{}@{} pid {}", self.user, self.host, self.pid)?;
        if let Some(ci) = &self.ci {
            write!(formatter, " ({ci})")?;
        }
        Ok(())
    }
}

impl Holder {
    /// This process.
    pub fn current() -> Self {
        Self::from_environment(
            &|name| std::env::var(name).ok(),
            &|path| std::fs::read_to_string(path).ok(),
            std::process::id(),
        )
    }

    /// `variable` reads an environment variable, `file` a file.
    pub fn from_environment(
        variable: &dyn Fn(&str) -> Option<String>,
        file: &dyn Fn(&str) -> Option<String>,
        pid: u32,
    ) -> Self {
        let set = |name: &str| {
            variable(name)
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
        };
        let user = ["USER", "USERNAME", "LOGNAME"]
            .into_iter()
            .find_map(set)
            .or_else(|| user_of_uid(file))
            .unwrap_or_else(|| "unknown".to_owned());
        let host = host_name(variable, file).unwrap_or_else(|| "unknown-host".to_owned());
        let both = |first: &str, second: &str| Some((set(first)?, set(second)?));
        let ci = if let Some((run, repository)) = both("GITHUB_RUN_ID", "GITHUB_REPOSITORY") {
            Some(format!("GitHub Actions run {run} of {repository}"))
        } else if let Some((job, project)) = both("CI_JOB_ID", "CI_PROJECT_PATH") {
            Some(format!("GitLab CI job {job} of {project}"))
        } else if let Some((build, pipeline)) =
            both("BUILDKITE_BUILD_NUMBER", "BUILDKITE_PIPELINE_SLUG")
        {
            Some(format!("Buildkite build {build} of {pipeline}"))
        } else if let Some((build, project)) = both("CIRCLE_BUILD_NUM", "CIRCLE_PROJECT_REPONAME") {
            Some(format!("CircleCI build {build} of {project}"))
        } else if let Some(build) = set("CODEBUILD_BUILD_ID") {
            Some(format!("CodeBuild build {build}"))
        } else if let Some((build, project)) = both("BUILD_BUILDID", "SYSTEM_TEAMPROJECT") {
            Some(format!("Azure Pipelines build {build} of {project}"))
        } else {
            set("BUILD_TAG").map(|tag| format!("Jenkins {tag}"))
        };
        Self {
            user,
            host,
            pid,
            ci,
        }
    }
}

/// The host name: `HOSTNAME` (exported only by some shells), else what the kernel says.
fn host_name(
    variable: &dyn Fn(&str) -> Option<String>,
    file: &dyn Fn(&str) -> Option<String>,
) -> Option<String> {
    let clean = |value: String| Some(value.trim().to_owned()).filter(|value| !value.is_empty());
    variable("HOSTNAME")
        .and_then(clean)
        .or_else(|| file("/etc/hostname").and_then(clean))
        .or_else(|| file("/proc/sys/kernel/hostname").and_then(clean))
}

/// The user name of this process's uid, from `/proc/self/status` and `/etc/passwd`.
fn user_of_uid(file: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    let status = file("/proc/self/status")?;
    let uid = status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .to_owned();
    file("/etc/passwd")?.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        (fields.nth(1)? == uid).then(|| name.to_owned())
    })
}

/// This host's name, as a holder names it.
pub fn this_host() -> String {
    host_name(&|name| std::env::var(name).ok(), &|path| {
        std::fs::read_to_string(path).ok()
    })
    .unwrap_or_default()
}

/// Whether a process of this host is running: `/proc/<pid>`, else `kill -0 <pid>`.
pub fn pid_alive(pid: u32) -> bool {
    if std::path::Path::new("/proc/self").exists() {
        return std::path::Path::new(&format!("/proc/{pid}")).exists();
    }
    std::process::Command::new("kill")
        .args(["-0", &pid.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// The host and pid of a holder written as `user@host pid N ...` (as every cogwire version does).
pub fn parse_holder(holder: &str) -> Option<(String, u32)> {
    let (_, rest) = holder.split_once('@')?;
    let mut words = rest.split_whitespace();
    let host = words.next()?;
    (words.next()? == "pid").then_some(())?;
    let pid = words.next()?.parse().ok()?;
    Some((host.to_owned(), pid))
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another cogwire run holds the lock on this pool: {}", .0.describe())]
    Held(CurrentLock),
    /// This run's lock was removed or taken by another run while it ran.
    #[error("{}", lost_message(.pool_id, .current.as_ref()))]
    Lost {
        pool_id: String,
        current: Option<CurrentLock>,
    },
    #[error(transparent)]
    Cloud(#[from] CloudError),
}

fn lost_message(pool_id: &str, current: Option<&CurrentLock>) -> String {
    match current {
        Some(current @ CurrentLock::Held(info)) => format!(
            "this run no longer holds the lock on user pool {pool_id}: it was taken by {} (host {}, lock id {}), {}",
            info.holder,
            info.host_and_pid()
                .map_or_else(|| "unknown".to_owned(), |(host, _)| host),
            info.id,
            current.describe()
        ),
        Some(CurrentLock::Unreadable(_)) => format!(
            "this run no longer holds the lock on user pool {pool_id}: it was replaced by an unreadable lock value"
        ),
        None => format!(
            "this run no longer holds the lock on user pool {pool_id}: it was removed (cogwire force-unlock?)"
        ),
    }
}

impl LockError {
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Held(CurrentLock::Held(info)) => Some(format!(
                "wait for it (--lock-timeout 10m), or if that run is dead: cogwire force-unlock {}",
                info.id
            )),
            Self::Held(CurrentLock::Unreadable(_)) => Some(
                "the lock parameter holds no lock cogwire wrote; if no run is applying to this pool: cogwire force-unlock --force".to_owned(),
            ),
            Self::Lost { .. } => Some(
                "another run may be applying to this pool now: run `cogwire plan` to see where the pool stands, and apply again once that run is done".to_owned(),
            ),
            Self::Cloud(cloud) => cloud.hint(),
        }
    }
}

pub fn now_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// What names a takeover claim: the stale lock's own id (unique to the run that took it) and
/// when it was taken, so that a claim is never shared by two different stale locks.
fn claim_suffix(held: &LockInfo) -> String {
    let id: String = held
        .id
        .chars()
        .filter(|character| character.is_ascii_alphanumeric() || *character == '-')
        .collect();
    format!("{id}-{}", held.acquired_at)
}

/// How exact a check that the lock is still held must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// At most once every `CHECK_INTERVAL`: before each wave of writes.
    Due,
    /// Now: before the first write and before the record save.
    Now,
}

/// What a check last found.
struct Checked {
    at: Option<tokio::time::Instant>,
    refreshed_at: tokio::time::Instant,
    lost: Option<Option<CurrentLock>>,
}

/// A lock this run holds.
pub struct Lock {
    name: String,
    pool_id: String,
    info: Mutex<LockInfo>,
    checked: Mutex<Checked>,
}

impl Lock {
    /// Takes the lock, waiting up to `timeout` for a holder to let go.
    pub async fn acquire<S: Parameters>(
        parameters: &S,
        pacer: &Pacer,
        pool_id: &str,
        timeout: Duration,
    ) -> Result<Self, LockError> {
        let name = lock_name(pool_id);
        let info = LockInfo::new(&Holder::current(), now_seconds());
        let value = serde_json::to_string(&info).unwrap_or_default();
        let taken = |info: LockInfo| Self {
            name: name.clone(),
            pool_id: pool_id.to_owned(),
            info: Mutex::new(info),
            checked: Mutex::new(Checked {
                at: None,
                refreshed_at: tokio::time::Instant::now(),
                lost: None,
            }),
        };
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match pacer
                .call(Operation::PutParameter, || {
                    parameters.put(&name, &value, false)
                })
                .await
            {
                Ok(()) => return Ok(taken(info)),
                Err(CloudError::AlreadyExists { .. }) => {}
                Err(error) => return Err(error.into()),
            }
            let current = Self::read(parameters, pacer, pool_id).await?;
            match current {
                // Our own earlier attempt took it, and its reply was lost.
                Some(CurrentLock::Held(held)) if held.id == info.id => return Ok(taken(info)),
                Some(CurrentLock::Held(held)) if held.expires_at <= now_seconds() => {
                    // A run that died left it. Deleting it outright could delete the fresh lock
                    // of a run that took it over a moment ago; a claim named after the stale lock,
                    // created with Overwrite=false, lets exactly one run remove it.
                    let claim = format!("{name}-takeover-{}", claim_suffix(&held));
                    match pacer
                        .call(Operation::PutParameter, || {
                            parameters.put(&claim, &value, false)
                        })
                        .await
                    {
                        Ok(()) => {
                            let still = Self::read(parameters, pacer, pool_id).await?;
                            if still == Some(CurrentLock::Held(held)) {
                                pacer
                                    .call(Operation::DeleteParameter, || parameters.delete(&name))
                                    .await?;
                            }
                            pacer
                                .call(Operation::DeleteParameter, || parameters.delete(&claim))
                                .await?;
                            continue;
                        }
                        // Another run is taking it over: it is held.
                        Err(CloudError::AlreadyExists { .. })
                            if tokio::time::Instant::now() < deadline =>
                        {
                            tokio::time::sleep(Duration::from_millis(1_000)).await;
                        }
                        Err(CloudError::AlreadyExists { .. }) => {
                            return Err(LockError::Held(CurrentLock::Held(held)));
                        }
                        Err(error) => return Err(error.into()),
                    }
                }
                Some(held) if tokio::time::Instant::now() >= deadline => {
                    return Err(LockError::Held(held));
                }
                Some(_) => tokio::time::sleep(Duration::from_millis(1_000)).await,
                // Released between our put and our read: try again at once.
                None => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    /// The lock of a pool, if there is one.
    pub async fn read<S: Parameters>(
        parameters: &S,
        pacer: &Pacer,
        pool_id: &str,
    ) -> Result<Option<CurrentLock>, CloudError> {
        let name = lock_name(pool_id);
        let values = pacer
            .call(Operation::GetParameters, || {
                parameters.get(std::slice::from_ref(&name))
            })
            .await?;
        Ok(values.get(&name).map(|value| parse_lock(value)))
    }

    /// This run's lock id.
    pub fn id(&self) -> String {
        self.info
            .lock()
            .map(|info| info.id.clone())
            .unwrap_or_default()
    }

    /// Ok while this run still holds its lock; once it does not, `LockError::Lost` for good. A
    /// `Check::Due` reads the lock at most once every `CHECK_INTERVAL`. While held, the lock's
    /// expiry is pushed forward every `REFRESH_AFTER`.
    pub async fn hold<S: Parameters>(
        &self,
        parameters: &S,
        pacer: &Pacer,
        check: Check,
    ) -> Result<(), LockError> {
        let now = tokio::time::Instant::now();
        {
            let checked = self.checked.lock().map_err(|_| self.lost(None))?;
            if let Some(current) = &checked.lost {
                return Err(self.lost(current.clone()));
            }
            if check == Check::Due
                && checked
                    .at
                    .is_some_and(|at| now.duration_since(at) < CHECK_INTERVAL)
            {
                return Ok(());
            }
        }
        let current = Self::read(parameters, pacer, &self.pool_id).await?;
        let id = self.id();
        let mine = current.as_ref().and_then(CurrentLock::id) == Some(id.as_str());
        let refresh = {
            let mut checked = self.checked.lock().map_err(|_| self.lost(None))?;
            if !mine {
                checked.lost = Some(current.clone());
                return Err(self.lost(current));
            }
            checked.at = Some(now);
            let due = now.duration_since(checked.refreshed_at) >= REFRESH_AFTER;
            if due {
                checked.refreshed_at = now;
            }
            due
        };
        if refresh {
            let value = {
                let mut info = self.info.lock().map_err(|_| self.lost(None))?;
                info.expires_at = now_seconds().saturating_add(LOCK_TTL.as_secs());
                serde_json::to_string(&*info).unwrap_or_default()
            };
            pacer
                .call(Operation::PutParameter, || {
                    parameters.put(&self.name, &value, true)
                })
                .await?;
        }
        Ok(())
    }

    fn lost(&self, current: Option<CurrentLock>) -> LockError {
        LockError::Lost {
            pool_id: self.pool_id.clone(),
            current,
        }
    }

    /// Releases the lock if it is still this run's.
    pub async fn release<S: Parameters>(
        self,
        parameters: &S,
        pacer: &Pacer,
    ) -> Result<(), CloudError> {
        let id = self.id();
        if let Some(current) = Self::read(parameters, pacer, &self.pool_id).await?
            && current.id() == Some(id.as_str())
        {
            pacer
                .call(Operation::DeleteParameter, || parameters.delete(&self.name))
                .await?;
        }
        Ok(())
    }
}

pub fn parse_lock(value: &str) -> CurrentLock {
    match serde_json::from_str::<LockInfo>(value) {
        Ok(info) if !info.id.is_empty() => CurrentLock::Held(info),
        _ => CurrentLock::Unreadable(value.to_owned()),
    }
}

/// What `force-unlock` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unlocked {
    NotLocked,
    Removed(CurrentLock),
}

#[derive(Debug, thiserror::Error)]
pub enum UnlockError {
    #[error("user pool {pool_id} is locked by {}; force-unlock removes only the lock whose id it is given", .current.describe())]
    NoId {
        pool_id: String,
        current: Box<CurrentLock>,
    },
    #[error("the lock on user pool {pool_id} is not {given}: it is held by {}", .current.describe())]
    WrongId {
        pool_id: String,
        given: String,
        current: Box<CurrentLock>,
    },
    #[error("the lock on user pool {pool_id} is fresh: held by {}", .current.describe())]
    Fresh {
        pool_id: String,
        current: Box<CurrentLock>,
    },
    #[error("the lock on user pool {pool_id} is held by a process that is running on this host: {}", .current.describe())]
    LiveHere {
        pool_id: String,
        current: Box<CurrentLock>,
    },
    #[error("the lock on user pool {pool_id} has an unreadable lock value, so it has no id")]
    Unreadable { pool_id: String },
    #[error(transparent)]
    Cloud(#[from] CloudError),
}

impl UnlockError {
    pub fn hint(&self) -> Option<String> {
        let id = |current: &CurrentLock| current.id().unwrap_or_default().to_owned();
        match self {
            Self::NoId { current, .. } if current.standing().is_left_behind() => Some(format!(
                "it was left behind by a run that died; remove it with: cogwire force-unlock {}",
                id(current)
            )),
            Self::NoId { current, .. } | Self::WrongId { current, .. } => Some(format!(
                "check that run is dead, then: cogwire force-unlock {} (add --force while it is fresh)",
                id(current)
            )),
            Self::Fresh { current, .. } => Some(format!(
                "that run may still be applying: it refreshes its lock while it runs. If you are sure it is dead: cogwire force-unlock {} --force",
                id(current)
            )),
            Self::LiveHere { current, .. } => Some(format!(
                "stop that process first; if it is not cogwire (its pid was reused): cogwire force-unlock {} --force",
                id(current)
            )),
            Self::Unreadable { .. } => Some(
                "if no cogwire run is applying to this pool: cogwire force-unlock --force"
                    .to_owned(),
            ),
            Self::Cloud(cloud) => cloud.hint(),
        }
    }
}

/// Whether force-unlock may remove `current` when told `id` (and `force`).
pub fn may_unlock(
    pool_id: &str,
    current: CurrentLock,
    id: Option<&str>,
    force: bool,
    standing: Standing,
) -> Result<CurrentLock, UnlockError> {
    let pool_id = pool_id.to_owned();
    let boxed = |current: &CurrentLock| Box::new(current.clone());
    match (&current, id) {
        (CurrentLock::Unreadable(_), _) if force => Ok(current),
        (CurrentLock::Unreadable(_), _) => Err(UnlockError::Unreadable { pool_id }),
        (CurrentLock::Held(_), None) => Err(UnlockError::NoId {
            pool_id,
            current: boxed(&current),
        }),
        (CurrentLock::Held(info), Some(given)) if info.id != given => Err(UnlockError::WrongId {
            pool_id,
            given: given.to_owned(),
            current: boxed(&current),
        }),
        _ if force || standing.is_left_behind() => Ok(current),
        _ if standing == Standing::LiveHere => Err(UnlockError::LiveHere {
            pool_id,
            current: boxed(&current),
        }),
        _ => Err(UnlockError::Fresh {
            pool_id,
            current: boxed(&current),
        }),
    }
}

/// Removes the pool's lock if it is the one `id` names and it was left behind (or `force`).
pub async fn force_unlock<S: Parameters>(
    parameters: &S,
    pacer: &Pacer,
    pool_id: &str,
    id: Option<&str>,
    force: bool,
) -> Result<Unlocked, UnlockError> {
    let Some(current) = Lock::read(parameters, pacer, pool_id).await? else {
        return Ok(Unlocked::NotLocked);
    };
    let standing = current.standing();
    let current = may_unlock(pool_id, current, id, force, standing)?;
    // Read again right before deleting: the lock may have changed hands meanwhile.
    let again = Lock::read(parameters, pacer, pool_id).await?;
    if again.as_ref() != Some(&current) {
        return match again {
            None => Ok(Unlocked::NotLocked),
            Some(other) => Err(UnlockError::WrongId {
                pool_id: pool_id.to_owned(),
                given: current.id().unwrap_or("the unreadable lock").to_owned(),
                current: Box::new(other),
            }),
        };
    }
    let name = lock_name(pool_id);
    pacer
        .call(Operation::DeleteParameter, || parameters.delete(&name))
        .await?;
    Ok(Unlocked::Removed(current))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::cloud::CloudResult;
    use crate::cloud::pace::PaceSettings;

    /// Parameter Store in memory, where another run takes an expired lock over right after this
    /// run has read it: the moment two runs that found the same stale lock race.
    struct Racing {
        values: Mutex<BTreeMap<String, String>>,
        other: Mutex<Option<(String, String)>>,
    }

    impl Parameters for Racing {
        async fn get(&self, names: &[String]) -> CloudResult<BTreeMap<String, String>> {
            let found = {
                let values = self.values.lock().expect("values");
                names
                    .iter()
                    .filter_map(|name| Some((name.clone(), values.get(name)?.clone())))
                    .collect()
            };
            if let Some((name, value)) = self.other.lock().expect("other").take() {
                self.values.lock().expect("values").insert(name, value);
            }
            Ok(found)
        }

        async fn put(&self, name: &str, value: &str, overwrite: bool) -> CloudResult<()> {
            let mut values = self.values.lock().expect("values");
            if !overwrite && values.contains_key(name) {
                return Err(CloudError::AlreadyExists {
                    operation: Operation::PutParameter,
                    what: name.to_owned(),
                });
            }
            values.insert(name.to_owned(), value.to_owned());
            Ok(())
        }

        async fn delete(&self, name: &str) -> CloudResult<()> {
            self.values.lock().expect("values").remove(name);
            Ok(())
        }
    }

    fn parameters(values: &[(String, String)]) -> Racing {
        Racing {
            values: Mutex::new(values.iter().cloned().collect()),
            other: Mutex::new(None),
        }
    }

    fn info(id: &str, expires_at: u64) -> LockInfo {
        LockInfo {
            id: id.to_owned(),
            holder: format!("{id}@host pid 7"),
            host: None,
            pid: None,
            acquired_at: 1,
            expires_at,
        }
    }

    fn lock_info(id: &str, expires_at: u64) -> String {
        serde_json::to_string(&info(id, expires_at)).expect("json")
    }

    #[tokio::test]
    async fn a_lock_another_run_just_took_over_is_left_alone() {
        let name = lock_name("pool");
        let fresh = lock_info("other-run", now_seconds() + 600);
        let parameters = Racing {
            values: Mutex::new(BTreeMap::from([(name.clone(), lock_info("dead-run", 2))])),
            other: Mutex::new(Some((name.clone(), fresh.clone()))),
        };
        let pacer = Pacer::new(PaceSettings::default());
        let taken = Lock::acquire(&parameters, &pacer, "pool", Duration::ZERO).await;
        assert!(
            matches!(&taken, Err(LockError::Held(held)) if held.id() == Some("other-run")),
            "took a lock another run holds"
        );
        let values = parameters.values.lock().expect("values");
        assert_eq!(
            values.get(&name),
            Some(&fresh),
            "the other run's lock was removed"
        );
        assert_eq!(
            values.len(),
            1,
            "a takeover claim was left behind: {values:?}"
        );
    }

    #[tokio::test]
    async fn an_expired_lock_is_taken_over() {
        let name = lock_name("pool");
        let parameters = parameters(&[(name.clone(), lock_info("dead-run", 2))]);
        let pacer = Pacer::new(PaceSettings::default());
        let lock = Lock::acquire(&parameters, &pacer, "pool", Duration::ZERO)
            .await
            .expect("the expired lock is taken over");
        assert_eq!(parameters.values.lock().expect("values").len(), 1);
        lock.release(&parameters, &pacer).await.expect("released");
        assert!(parameters.values.lock().expect("values").is_empty());
    }

    #[tokio::test]
    async fn an_unreadable_lock_is_held_and_never_taken_over() {
        let name = lock_name("pool");
        let parameters = parameters(&[(name.clone(), "not json".to_owned())]);
        let pacer = Pacer::new(PaceSettings::default());
        let taken = Lock::acquire(&parameters, &pacer, "pool", Duration::ZERO).await;
        let Err(error) = taken else {
            panic!("took an unreadable lock")
        };
        assert_eq!(
            error.to_string(),
            "another cogwire run holds the lock on this pool: unreadable lock value"
        );
        assert!(
            error
                .hint()
                .is_some_and(|hint| hint.contains("force-unlock --force")),
            "{:?}",
            error.hint()
        );
        assert_eq!(
            parameters.values.lock().expect("values").get(&name),
            Some(&"not json".to_owned())
        );
    }

    #[test]
    fn lock_ids_are_unique_and_carry_no_pid() {
        let ids: std::collections::BTreeSet<String> = (0..10_000).map(|_| new_lock_id()).collect();
        assert_eq!(ids.len(), 10_000);
        let id = new_lock_id();
        assert_eq!(id.len(), 24);
        assert!(id.chars().all(|character| character.is_ascii_hexdigit()));
    }

    #[test]
    fn a_lock_describes_itself_without_nonsense() {
        let now = 1_800_000_000;
        let unreadable = CurrentLock::Unreadable("{".to_owned());
        assert_eq!(unreadable.describe_at(now), "unreadable lock value");
        let odd = CurrentLock::Held(LockInfo {
            acquired_at: 0,
            expires_at: u64::MAX,
            ..info("abc", 0)
        });
        assert_eq!(
            odd.describe_at(now),
            "abc@host pid 7 since an unknown time (does not expire), lock id abc"
        );
        let recent = CurrentLock::Held(LockInfo {
            acquired_at: now - 2,
            expires_at: now + 1_798,
            ..info("abc", 0)
        });
        assert_eq!(
            recent.describe_at(now),
            "abc@host pid 7 since 2 s ago (expires in 29 min), lock id abc"
        );
        let expired = CurrentLock::Held(LockInfo {
            acquired_at: now - 7_200,
            expires_at: now - 5_400,
            ..info("abc", 0)
        });
        assert!(
            expired.describe_at(now).contains("(expired 90 min ago)"),
            "{}",
            expired.describe_at(now)
        );
        let future = CurrentLock::Held(LockInfo {
            acquired_at: now + 5,
            expires_at: now + 60,
            ..info("abc", 0)
        });
        assert!(future.describe_at(now).contains("since an unknown time"));
    }

    #[test]
    fn the_holder_names_user_host_and_ci_job() {
        let environment = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| (*value).to_owned())
            }
        };
        let no_files = |_: &str| None;
        let github = environment(&[
            ("USER", "runner"),
            ("HOSTNAME", "fv-az12"),
            ("GITHUB_RUN_ID", "9876"),
            ("GITHUB_REPOSITORY", "acme/platform"),
        ]);
        assert_eq!(
            Holder::from_environment(&github, &no_files, 42).to_string(),
            "runner@fv-az12 pid 42 (GitHub Actions run 9876 of acme/platform)"
        );
        let gitlab = environment(&[
            ("LOGNAME", "gitlab-runner"),
            ("CI_JOB_ID", "555"),
            ("CI_PROJECT_PATH", "acme/infra"),
        ]);
        let files = |path: &str| match path {
            "/etc/hostname" => Some("build-7\n".to_owned()),
            _ => None,
        };
        assert_eq!(
            Holder::from_environment(&gitlab, &files, 1).to_string(),
            "gitlab-runner@build-7 pid 1 (GitLab CI job 555 of acme/infra)"
        );
        // No USER at all (a container): the uid's name; the kernel's host name.
        let bare = environment(&[("USER", "  ")]);
        let system = |path: &str| match path {
            "/proc/self/status" => {
                Some("Name:\tcogwire\nUid:\t1001\t1001\t1001\t1001\n".to_owned())
            }
            "/etc/passwd" => Some(
                "root:x:0:0::/root:/bin/sh\nalice:x:1001:1001::/home/alice:/bin/sh\n".to_owned(),
            ),
            "/proc/sys/kernel/hostname" => Some("vm-3\n".to_owned()),
            _ => None,
        };
        assert_eq!(
            Holder::from_environment(&bare, &system, 9).to_string(),
            "alice@vm-3 pid 9"
        );
    }

    #[test]
    fn a_holder_string_gives_host_and_pid() {
        assert_eq!(
            parse_holder("ci@runner-7 pid 42"),
            Some(("runner-7".to_owned(), 42))
        );
        assert_eq!(
            parse_holder("a@b pid 3 (GitHub Actions run 1 of x/y)"),
            Some(("b".to_owned(), 3))
        );
        assert_eq!(parse_holder("an unreadable lock"), None);
        assert_eq!(parse_holder("a@b pid x"), None);
    }

    #[test]
    fn staleness_is_expiry_or_a_dead_local_holder() {
        let now = 1_000;
        let held = |host: Option<&str>, expires_at| {
            CurrentLock::Held(LockInfo {
                host: host.map(str::to_owned),
                pid: host.map(|_| 7),
                holder: "x@elsewhere pid 7".to_owned(),
                ..info("abc", expires_at)
            })
        };
        let alive = |_| true;
        let dead = |_| false;
        assert_eq!(
            standing(&held(None, 2_000), now, "here", alive),
            Standing::Fresh
        );
        assert_eq!(
            standing(&held(None, 999), now, "here", alive),
            Standing::Expired
        );
        assert_eq!(
            standing(&held(Some("here"), 2_000), now, "here", alive),
            Standing::LiveHere
        );
        assert_eq!(
            standing(&held(Some("here"), 2_000), now, "here", dead),
            Standing::DeadHere
        );
        // The holder string of an older version tells the host too.
        assert_eq!(
            standing(&held(None, 2_000), now, "elsewhere", dead),
            Standing::DeadHere
        );
        assert_eq!(
            standing(&CurrentLock::Unreadable(String::new()), now, "here", dead),
            Standing::Unreadable
        );
        assert!(Standing::Expired.is_left_behind() && Standing::DeadHere.is_left_behind());
        assert!(!Standing::Fresh.is_left_behind() && !Standing::LiveHere.is_left_behind());
    }

    #[test]
    fn force_unlock_needs_the_id_and_a_dead_holder_or_force() {
        let lock = CurrentLock::Held(info("abc", u64::MAX));
        let check = |id, force, standing| may_unlock("p", lock.clone(), id, force, standing);
        assert!(matches!(
            check(None, true, Standing::Expired),
            Err(UnlockError::NoId { .. })
        ));
        assert!(matches!(
            check(Some("abd"), true, Standing::Expired),
            Err(UnlockError::WrongId { .. })
        ));
        assert!(matches!(
            check(Some("abc"), false, Standing::Fresh),
            Err(UnlockError::Fresh { .. })
        ));
        assert!(matches!(
            check(Some("abc"), false, Standing::LiveHere),
            Err(UnlockError::LiveHere { .. })
        ));
        assert!(check(Some("abc"), false, Standing::Expired).is_ok());
        assert!(check(Some("abc"), false, Standing::DeadHere).is_ok());
        assert!(check(Some("abc"), true, Standing::Fresh).is_ok());
        let unreadable = CurrentLock::Unreadable("?".to_owned());
        assert!(matches!(
            may_unlock("p", unreadable.clone(), None, false, Standing::Unreadable),
            Err(UnlockError::Unreadable { .. })
        ));
        assert!(may_unlock("p", unreadable, None, true, Standing::Unreadable).is_ok());
    }

    #[tokio::test]
    async fn force_unlock_removes_only_the_lock_it_names() {
        let name = lock_name("pool");
        let parameters = parameters(&[(name.clone(), lock_info("dead-run", 2))]);
        let pacer = Pacer::new(PaceSettings::default());
        let wrong = force_unlock(&parameters, &pacer, "pool", Some("other"), true).await;
        assert!(
            matches!(wrong, Err(UnlockError::WrongId { .. })),
            "{wrong:?}"
        );
        assert_eq!(parameters.values.lock().expect("values").len(), 1);
        let removed = force_unlock(&parameters, &pacer, "pool", Some("dead-run"), false)
            .await
            .expect("an expired lock is removed");
        assert!(matches!(removed, Unlocked::Removed(_)));
        assert!(parameters.values.lock().expect("values").is_empty());
    }

    #[tokio::test]
    async fn a_run_whose_lock_was_taken_stops_for_good() {
        let name = lock_name("pool");
        let parameters = parameters(&[]);
        let pacer = Pacer::new(PaceSettings::default());
        let lock = Lock::acquire(&parameters, &pacer, "pool", Duration::ZERO)
            .await
            .expect("taken");
        lock.hold(&parameters, &pacer, Check::Now)
            .await
            .expect("still held");
        let thief = LockInfo {
            holder: "mallory@elsewhere pid 13643".to_owned(),
            ..info("thief", now_seconds() + 600)
        };
        parameters
            .values
            .lock()
            .expect("values")
            .insert(name.clone(), serde_json::to_string(&thief).expect("json"));
        // Read at most once a second: a check right after the last one trusts it.
        assert!(lock.hold(&parameters, &pacer, Check::Due).await.is_ok());
        let lost = lock.hold(&parameters, &pacer, Check::Now).await;
        let Err(error @ LockError::Lost { .. }) = lost else {
            panic!("{lost:?}")
        };
        let message = error.to_string();
        assert!(message.contains("mallory@elsewhere pid 13643"), "{message}");
        assert!(message.contains("lock id thief"), "{message}");
        assert!(message.contains("host elsewhere"), "{message}");
        // Lost for good, even once the thief lets go, and the thief's lock is left alone.
        parameters.values.lock().expect("values").remove(&name);
        assert!(lock.hold(&parameters, &pacer, Check::Due).await.is_err());
        parameters
            .values
            .lock()
            .expect("values")
            .insert(name.clone(), serde_json::to_string(&thief).expect("json"));
        lock.release(&parameters, &pacer).await.expect("release");
        assert!(
            parameters
                .values
                .lock()
                .expect("values")
                .contains_key(&name)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_held_lock_is_refreshed_while_the_run_goes_on() {
        let name = lock_name("pool");
        let parameters = parameters(&[]);
        let pacer = Pacer::new(PaceSettings::default());
        let lock = Lock::acquire(&parameters, &pacer, "pool", Duration::ZERO)
            .await
            .expect("taken");
        let expiry = |parameters: &Racing| {
            let values = parameters.values.lock().expect("values");
            match parse_lock(&values[&name]) {
                CurrentLock::Held(info) => info.expires_at,
                CurrentLock::Unreadable(_) => 0,
            }
        };
        let first = expiry(&parameters);
        tokio::time::advance(REFRESH_AFTER + Duration::from_secs(1)).await;
        lock.hold(&parameters, &pacer, Check::Due)
            .await
            .expect("held");
        assert!(expiry(&parameters) >= first, "the expiry went back");
        assert_eq!(
            parse_lock(&parameters.values.lock().expect("values")[&name]).id(),
            Some(lock.id().as_str())
        );
    }
}
