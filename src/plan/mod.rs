//! The plan: what would change in the pool, as a value. Computed by `diff` without side effects,
//! rendered by `render` for people and as JSON, saved with `plan --out` and executed by `apply`.
//! It never holds a secret.

pub mod action;
pub mod diff;
pub mod gateway;
pub mod observed;
pub mod render;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

pub use action::{
    Action, Change, ClientAction, ClientChange, Edit, FieldChange, Replaced, ServerAction,
    ServerChange,
};

use crate::cloud::ClientSummary;

/// "2": renames, replaced clients, owner changes, pending credentials and per-resource digests.
pub const FORMAT_VERSION: &str = "2";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub format_version: String,
    /// The environment of services.toml planned (`--env`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    pub pool_id: String,
    pub actions: Vec<Action>,
    pub summary: Summary,
    /// Resources in the pool that are neither declared nor recorded: never touched.
    pub unmanaged: Unmanaged,
    /// Callers whose access to a scope this plan removes, managed or not.
    pub lost_access: Vec<LostAccess>,
    /// Services whose client exists but whose credentials a run has not stored yet (a run that
    /// died between creating clients and storing them): `apply` stores them.
    #[serde(default)]
    pub pending_credentials: Vec<PendingCredentials>,
    /// Set by `--adopt`: adopting resources that are not cogwire's and changing them is approved.
    #[serde(default)]
    pub adopt: bool,
    /// Fingerprint of the pool as read for this plan; `apply PLANFILE` refuses if it differs.
    pub observed_digest: String,
    /// A fingerprint of each resource as read (and of the record), by label, so that a refused
    /// `apply PLANFILE` can say which resources changed.
    #[serde(default)]
    pub observed_resources: BTreeMap<String, String>,
    /// The client ids described for this plan, so `apply PLANFILE` reads the same.
    pub described_client_names: BTreeSet<String>,
    /// How the clients were read: all described (the default), or trusted from the record
    /// (`--refresh=false`), so that the plan can say drift was not checked.
    #[serde(default)]
    pub refresh: Refresh,
    /// API Gateway authorizers and routes that change, for services that name a gateway.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gateways: Vec<gateway::GatewayChange>,
}

/// How a plan read the managed clients.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Refresh {
    /// Every managed or declared client was described.
    #[default]
    Full,
    /// `--refresh=false`: `trusted` clients whose declaration matches what cogwire last applied
    /// were taken from its record without a describe; `described` were read (their declaration
    /// changed, or the record held no digest for them). Drift made outside cogwire in the trusted
    /// ones was not checked.
    Skipped { trusted: usize, described: usize },
    /// `--refresh=false` was asked for, but the record was written by an older cogwire, which
    /// keeps no digest of what it applied: every client was described, as a full plan does.
    FellBack { record_format: u32 },
}

impl Refresh {
    /// Whether `--refresh=false` was asked for (so that `apply PLANFILE` reads the same way).
    pub fn skips(&self) -> bool {
        !matches!(self, Self::Full)
    }

    /// The note a plan shows about it, if any.
    pub fn note(&self) -> Option<String> {
        match self {
            Self::Full => None,
            Self::Skipped { trusted, described } => Some(format!(
                "--refresh=false: drift was not checked. {trusted} clients were taken from cogwire's record of what it last applied, without reading them; {described} were read. Run a full `cogwire plan` on a schedule to find changes made outside cogwire."
            )),
            Self::FellBack { record_format } => Some(format!(
                "--refresh=false fell back to a full refresh: cogwire's record (format {record_format}) was written by an older cogwire and keeps no digest of what it applied. The next apply records them."
            )),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingCredentials {
    pub service: String,
    pub client_id: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub import: usize,
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
    /// Renamed services whose resources keep their ids.
    #[serde(default)]
    pub rename: usize,
}

impl Summary {
    pub fn of(actions: &[Action]) -> Self {
        let mut summary = Self::default();
        for action in actions {
            match action.change() {
                Change::Create => summary.add += 1,
                Change::Update => summary.change += 1,
                Change::Delete => summary.destroy += 1,
                Change::Import => {
                    summary.import += 1;
                    if !action.fields().is_empty() {
                        summary.change += 1;
                    }
                }
                Change::Forget => {}
                Change::Rename => summary.rename += 1,
            }
        }
        summary
    }

    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unmanaged {
    pub resource_servers: Vec<String>,
    pub clients: Vec<ClientSummary>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LostAccess {
    /// The caller's service, or its client name where the client is not declared.
    pub caller: String,
    /// The full scope string, `<identifier>/<scope>`.
    pub scope: String,
    /// The client that holds the scope.
    #[serde(default)]
    pub client_id: String,
    /// Whether cogwire manages the client: an unmanaged one keeps naming a scope that no longer
    /// exists, and its own tool's next save fails, so removing the scope takes `--allow-destroy`.
    #[serde(default = "managed_by_default")]
    pub managed: bool,
}

fn managed_by_default() -> bool {
    true
}

impl Plan {
    pub fn has_changes(&self) -> bool {
        self.actions
            .iter()
            .any(|action| action.change() != Change::Forget)
            || !self.summary.is_empty()
            || !self.pending_credentials.is_empty()
    }

    /// The resources this plan would take from another owner and change (`--adopt` approves).
    pub fn needs_adopt(&self) -> Vec<String> {
        self.actions
            .iter()
            .filter(|action| action.adopts_with_changes())
            .map(Action::label)
            .collect()
    }

    /// Why this plan needs `--allow-destroy`: the unmanaged clients that hold a scope it removes
    /// (cogwire cannot take the scope from them, and their own tool then fails to save them).
    pub fn needs_allow_destroy(&self) -> Vec<String> {
        self.lost_access
            .iter()
            .filter(|lost| !lost.managed)
            .map(|lost| {
                format!(
                    "unmanaged client {} ({}) holds {}, which this plan removes",
                    lost.caller, lost.client_id, lost.scope
                )
            })
            .collect()
    }

    /// Which resources differ between the pool this plan was made from and `now` (per-resource
    /// digests, labelled as the plan labels them).
    pub fn changed_since(&self, now: &BTreeMap<String, String>) -> Vec<String> {
        let labels: BTreeSet<&String> = self.observed_resources.keys().chain(now.keys()).collect();
        labels
            .into_iter()
            .filter_map(
                |label| match (self.observed_resources.get(label), now.get(label)) {
                    (Some(before), Some(after)) if before == after => None,
                    (Some(_), Some(_)) => Some(format!("{label} changed")),
                    (Some(_), None) => Some(format!("{label} is gone")),
                    (None, _) => Some(format!("{label} is new")),
                },
            )
            .collect()
    }

    /// The clients and resource servers this plan deletes, as the plan labels them.
    pub fn destroyed(&self) -> Vec<String> {
        self.actions
            .iter()
            .filter(|action| action.change() == Change::Delete)
            .map(Action::label)
            .collect()
    }

    /// Whether this plan may destroy, given who approves it. A deleted client's id is gone for
    /// good (every service that holds it stops getting tokens), so destruction is never a side
    /// effect of approving "the plan": it needs `--allow-destroy`, or a person who answers the
    /// prompt that names it. A file that declares no services while the plan destroys is most
    /// likely empty or cut short, so it needs `--allow-destroy` even to be shown or asked about.
    pub fn check_destruction(
        &self,
        declares_services: bool,
        approval: Approval,
        allow_destroy: bool,
    ) -> Result<(), DestroyRefusal> {
        let destroyed = self.destroyed();
        if destroyed.is_empty() || allow_destroy {
            return Ok(());
        }
        match approval {
            // Checked when the plan was made; a person runs it from a terminal.
            Approval::Saved { on_terminal: true } => Ok(()),
            Approval::Saved { on_terminal: false } => Err(DestroyRefusal::Unattended { destroyed }),
            _ if !declares_services => Err(DestroyRefusal::NoServices { destroyed }),
            Approval::Shown | Approval::Prompt => Ok(()),
            Approval::Unattended => Err(DestroyRefusal::Unattended { destroyed }),
        }
    }
}

/// Who approves a plan, which decides what it may destroy (`Plan::check_destruction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Approval {
    /// `plan`: shown, and perhaps saved, but not executed.
    Shown,
    /// `apply` on a terminal: a person answers a prompt that names what is destroyed.
    Prompt,
    /// `apply --auto-approve`, or no terminal: no one is asked.
    Unattended,
    /// `apply PLANFILE`: reviewed when it was made, and never asked about again.
    Saved { on_terminal: bool },
}

/// Why a plan that destroys is not executed (nor shown, for a file with no services).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DestroyRefusal {
    #[error(
        "services.toml declares no services, and the plan would destroy everything cogwire manages in the pool: {}",
        list(destroyed)
    )]
    NoServices { destroyed: Vec<String> },
    #[error(
        "the plan destroys {}, and no one was asked to approve it",
        list(destroyed)
    )]
    Unattended { destroyed: Vec<String> },
}

impl DestroyRefusal {
    pub fn hint(&self) -> &'static str {
        match self {
            Self::NoServices { .. } => {
                "an empty or cut-short services.toml is the usual cause: restore it; to really remove every service, pass --allow-destroy"
            }
            Self::Unattended { .. } => {
                "destroyed clients and their ids are gone for good; review the plan, then add --allow-destroy to --auto-approve (or to `apply PLANFILE`), or run apply on a terminal and answer its prompt"
            }
        }
    }
}

/// The first few of a list of labels, and how many more.
fn list(labels: &[String]) -> String {
    const SHOWN: usize = 10;
    let mut text = labels
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if labels.len() > SHOWN {
        text.push_str(&format!(" and {} more", labels.len() - SHOWN));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::plan::action::examples::fields_mut;

    fn client(change: Change, id: &str) -> Action {
        action::examples::client("orders", change, &format!("{id}-app-client"), id)
    }

    fn server(change: Change, identifier: &str) -> Action {
        action::examples::server("orders", change, identifier)
    }

    fn plan(actions: Vec<Action>) -> Plan {
        Plan {
            format_version: FORMAT_VERSION.to_owned(),
            environment: None,
            pool_id: "us-east-1_x".to_owned(),
            summary: Summary::of(&actions),
            actions,
            unmanaged: Unmanaged::default(),
            lost_access: Vec::new(),
            pending_credentials: Vec::new(),
            adopt: false,
            observed_digest: String::new(),
            observed_resources: BTreeMap::new(),
            described_client_names: BTreeSet::new(),
            refresh: Refresh::Full,
            gateways: Vec::new(),
        }
    }

    const EVERY_APPROVAL: [Approval; 5] = [
        Approval::Shown,
        Approval::Prompt,
        Approval::Unattended,
        Approval::Saved { on_terminal: true },
        Approval::Saved { on_terminal: false },
    ];

    #[test]
    fn only_deletes_are_destruction() {
        let mut import = client(Change::Import, "c2");
        fields_mut(&mut import).push(FieldChange {
            field: "scope x".to_owned(),
            before: None,
            after: Some("granted".to_owned()),
        });
        let safe = plan(vec![
            client(Change::Create, "c1"),
            server(Change::Update, "orders"),
            import,
            server(Change::Forget, "c3"),
        ]);
        assert!(safe.destroyed().is_empty());
        for approval in EVERY_APPROVAL {
            for declares in [true, false] {
                assert_eq!(safe.check_destruction(declares, approval, false), Ok(()));
            }
        }
        let destroying = plan(vec![
            client(Change::Create, "c1"),
            client(Change::Delete, "c2"),
            server(Change::Delete, "orders"),
        ]);
        assert_eq!(
            destroying.destroyed(),
            ["client c2-app-client (c2)", "resource server orders"]
        );
    }

    #[test]
    fn destruction_needs_a_person_or_the_flag() {
        let destroying = plan(vec![client(Change::Delete, "c1")]);
        let destroyed = vec!["client c1-app-client (c1)".to_owned()];
        let check = |approval, allow| destroying.check_destruction(true, approval, allow);
        assert_eq!(check(Approval::Shown, false), Ok(()));
        assert_eq!(check(Approval::Prompt, false), Ok(()));
        assert_eq!(check(Approval::Saved { on_terminal: true }, false), Ok(()));
        for unattended in [Approval::Unattended, Approval::Saved { on_terminal: false }] {
            assert_eq!(
                check(unattended, false),
                Err(DestroyRefusal::Unattended {
                    destroyed: destroyed.clone()
                })
            );
        }
        for approval in EVERY_APPROVAL {
            assert_eq!(check(approval, true), Ok(()));
        }
    }

    /// An empty or truncated services.toml must not wipe the fleet, whoever approves.
    #[test]
    fn a_file_without_services_destroys_only_with_the_flag() {
        let destroying = plan(vec![
            client(Change::Delete, "c1"),
            server(Change::Delete, "orders"),
        ]);
        for approval in [Approval::Shown, Approval::Prompt, Approval::Unattended] {
            let refused = destroying.check_destruction(false, approval, false);
            assert!(
                matches!(refused, Err(DestroyRefusal::NoServices { ref destroyed }) if destroyed.len() == 2),
                "{approval:?}: {refused:?}"
            );
            assert_eq!(destroying.check_destruction(false, approval, true), Ok(()));
        }
        let message = DestroyRefusal::NoServices {
            destroyed: destroying.destroyed(),
        }
        .to_string();
        assert!(
            message.ends_with("client c1-app-client (c1), resource server orders"),
            "{message}"
        );
    }

    #[test]
    fn long_lists_are_cut() {
        let labels: Vec<String> = (0..12).map(|index| format!("client c{index}")).collect();
        let shown = list(&labels);
        assert!(shown.starts_with("client c0, client c1, "), "{shown}");
        assert!(shown.ends_with("client c9 and 2 more"), "{shown}");
    }
}
