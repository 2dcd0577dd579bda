//! What every command that talks to a pool shares: its session, the words and hints of the core's
//! errors, progress on stderr, and durations from flags.

use std::io::IsTerminal as _;
use std::time::Duration;

use super::{hinted, load_valid};
use crate::apply::lock::{LockError, UnlockError};
use crate::apply::record::RecordError;
use crate::apply::run::RunError;
use crate::apply::{ApplyError, Progress};
use crate::cli::{GlobalArgs, PaceArgs};
use crate::cloud::CloudError;
use crate::credentials::decide::Foreign;
use crate::credentials::rotate::RotateError;
use crate::credentials::sync::SyncError;
use crate::exit::ExitStatus;
use crate::plan::diff::DiffError;
use crate::plan::observed::ReadError;
use crate::session::{self, Session, SessionError, SessionOptions};
use crate::style::Style;

/// The session of a command that talks to a pool: services.toml loaded and checked (its
/// diagnostics printed and the command ended when it is not valid), then `session::connect`.
pub async fn connect(
    global: &GlobalArgs,
    pace: &PaceArgs,
) -> anyhow::Result<Result<Session, ExitStatus>> {
    connect_in(global, pace, super::environment(global)?).await
}

/// As `connect`, in the environment named (`None`: the file's own tables).
pub async fn connect_in(
    global: &GlobalArgs,
    pace: &PaceArgs,
    environment: Option<&str>,
) -> anyhow::Result<Result<Session, ExitStatus>> {
    // With environments and no pool of the file's own, say which to choose before anything else.
    if environment.is_none() && global.user_pool_id.as_deref().is_none_or(str::is_empty) {
        let (environments, own_pool) = super::declared_environments(&global.config_path());
        if !environments.is_empty() && !own_pool {
            return Err(explain(SessionError::NoPool { environments }));
        }
    }
    let (_, model) = match load_valid(
        &global.config_path(),
        global.user_pool_id.as_deref(),
        environment,
    )? {
        Ok(loaded) => loaded,
        Err(status) => return Ok(Err(status)),
    };
    let options = SessionOptions {
        user_pool_id: global.user_pool_id.clone(),
        region: global.region.clone(),
        profile: global.profile.clone(),
        quota_share: pace.quota_share,
        ssm_higher_throughput: pace.ssm_higher_throughput,
    };
    Ok(Ok(session::connect(model, &options)
        .await
        .map_err(explain)?))
}

/// Turns the engine's errors into ones for people, with the hint each one carries.
pub fn explain(error: impl Into<Explained>) -> anyhow::Error {
    let Explained { message, hint } = error.into();
    match hint {
        Some(hint) => hinted(message, hint),
        None => anyhow::anyhow!(message),
    }
}

pub struct Explained {
    message: String,
    hint: Option<String>,
}

/// A core error's hint, whichever way its type words it.
trait IntoHint {
    fn into_hint(self) -> Option<String>;
}

impl IntoHint for Option<String> {
    fn into_hint(self) -> Option<String> {
        self
    }
}

impl IntoHint for String {
    fn into_hint(self) -> Option<String> {
        Some(self)
    }
}

impl IntoHint for &str {
    fn into_hint(self) -> Option<String> {
        Some(self.to_owned())
    }
}

/// Each core error type carries its own hint; this only reads it.
macro_rules! explained {
    ($($error:ty),* $(,)?) => {$(
        impl From<$error> for Explained {
            fn from(error: $error) -> Self {
                Self {
                    hint: error.hint().into_hint(),
                    message: error.to_string(),
                }
            }
        }
    )*};
}

explained!(
    SessionError,
    crate::tokens::source::SourceError,
    CloudError,
    RecordError,
    ReadError,
    DiffError,
    LockError,
    UnlockError,
    ApplyError,
    SyncError,
    RotateError,
    Foreign,
    crate::export::ExportError,
);

impl From<RunError> for Explained {
    fn from(error: RunError) -> Self {
        match error {
            RunError::Read(read) => read.into(),
            RunError::Record(record) => record.into(),
            RunError::Apply(apply) => apply.into(),
            other => Self {
                hint: other.hint(),
                message: other.to_string(),
            },
        }
    }
}

/// Progress on stderr: a bar on a terminal, plain lines (`[3/12] created client x`) otherwise,
/// so CI logs keep a record of every operation.
pub struct StderrProgress {
    bar: Option<indicatif::ProgressBar>,
    total: std::sync::atomic::AtomicUsize,
    done: std::sync::atomic::AtomicUsize,
    style: Style,
}

impl StderrProgress {
    pub fn new() -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::with_draw_target(
                Some(0),
                indicatif::ProgressDrawTarget::stderr(),
            );
            let template =
                indicatif::ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {msg}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                    .progress_chars("=> ");
            bar.set_style(template);
            bar
        });
        Self {
            bar,
            total: 0.into(),
            done: 0.into(),
            style: Style::for_stderr(),
        }
    }

    /// Clears the bar so the summary that follows stands alone.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Progress for StderrProgress {
    fn start(&self, total: usize) {
        self.total
            .store(total, std::sync::atomic::Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            bar.set_length(total as u64);
        }
    }

    fn done(&self, message: &str) {
        let done = self.done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        let total = self.total.load(std::sync::atomic::Ordering::Relaxed);
        match &self.bar {
            Some(bar) => {
                bar.set_message(message.to_owned());
                bar.inc(1);
            }
            None => eprintln!("{} {message}", self.style.dim(&format!("[{done}/{total}]"))),
        }
    }
}

pub fn parse_timeout(text: &str) -> anyhow::Result<Duration> {
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    crate::config::duration::parse(text)
        .map(|seconds| Duration::from_secs(seconds.0))
        .ok_or_else(|| {
            hinted(
                format!("`{text}` is not a duration"),
                "for example --lock-timeout 5m",
            )
        })
}
