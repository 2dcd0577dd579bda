//! Runs the real `cogwire` executable in a scratch folder, with a clean environment: nothing of
//! the developer's AWS setup leaks in, colour is off, and the account's variables are added.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// A scratch folder holding a services.toml.
pub struct Workdir {
    path: PathBuf,
}

impl Workdir {
    pub fn new(services_toml: &str) -> Self {
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let index = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("cogwire-test-{}-{index}", std::process::id()));
        std::fs::create_dir_all(&path).expect("scratch folder");
        std::fs::write(path.join("services.toml"), services_toml).expect("services.toml");
        Self { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn write(&self, services_toml: &str) {
        std::fs::write(self.path.join("services.toml"), services_toml).expect("services.toml");
    }

    /// `cogwire args` here, with nothing of the caller's AWS setup and the account's `env`.
    pub fn command(&self, args: &[&str], env: &[(String, String)]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_cogwire"));
        command
            .current_dir(&self.path)
            .args(args)
            .stdin(Stdio::null());
        for (name, _) in std::env::vars() {
            if name.starts_with("AWS_") || name.starts_with("COGWIRE_") || name == "RUST_LOG" {
                command.env_remove(name);
            }
        }
        command.env("NO_COLOR", "1");
        command.envs(
            env.iter()
                .map(|(name, value)| (name.as_str(), value.as_str())),
        );
        command
    }

    pub fn run(&self, args: &[&str], env: &[(String, String)]) -> Output {
        let output = self.command(args, env).output().expect("cogwire runs");
        Output {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Starts cogwire without waiting, its output discarded: for tests that kill it or watch it.
    pub fn spawn(&self, args: &[&str], env: &[(String, String)]) -> Child {
        self.command(args, env)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cogwire starts")
    }
}

impl Drop for Workdir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
