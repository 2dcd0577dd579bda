//! Plans for people, in terraform's vocabulary, and as versioned JSON: two renderings of one value.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::plan::{Action, Change, Plan};
use crate::style::Style;

fn symbol(change: Change) -> &'static str {
    match change {
        Change::Create => "+",
        Change::Update => "~",
        Change::Delete => "-",
        Change::Import => "<=",
        Change::Forget => "?",
    }
}

fn paint(style: Style, change: Change, text: &str) -> String {
    match change {
        Change::Create => style.green(text),
        Change::Update => style.yellow(text),
        Change::Delete => style.red(text),
        Change::Import => style.cyan(text),
        Change::Forget => style.dim(text),
    }
}

fn legend(change: Change) -> &'static str {
    match change {
        Change::Create => "create",
        Change::Update => "update in-place",
        Change::Delete => "destroy",
        Change::Import => "import: adopt an existing resource into cogwire's record",
        Change::Forget => "forget: stop managing, leave the resource as it is",
    }
}

pub fn human(plan: &Plan, style: Style, show_unmanaged: bool) -> String {
    let mut out = String::new();
    let shown: Vec<&Action> = plan.actions.iter().collect();
    if shown.is_empty() {
        let _ = writeln!(out, "{}", style.bold("No changes."));
        let _ = writeln!(out, "User pool {} matches services.toml.", plan.pool_id);
    } else {
        let used: BTreeSet<Change> = shown.iter().map(|action| action.change).collect();
        let _ = writeln!(
            out,
            "Resource actions are indicated with the following symbols:"
        );
        for change in &used {
            let _ = writeln!(
                out,
                "  {} {}",
                paint(style, *change, symbol(*change)),
                legend(*change)
            );
        }
        let _ = writeln!(
            out,
            "\ncogwire will perform the following actions in user pool {}:",
            plan.pool_id
        );
        let mut current_service = None;
        for action in shown {
            if current_service != Some(&action.service) {
                let _ = writeln!(out, "\n  {}", style.bold(&format!("# {}", action.service)));
                current_service = Some(&action.service);
            }
            action_lines(&mut out, action, style);
        }
    }
    if !plan.lost_access.is_empty() {
        let _ = writeln!(out, "\n{}", style.bold("Callers that lose access:"));
        for lost in &plan.lost_access {
            let _ = writeln!(out, "  {} loses {}", lost.caller, style.red(&lost.scope));
        }
    }
    if show_unmanaged {
        let unmanaged = &plan.unmanaged;
        let _ = writeln!(
            out,
            "\n{}",
            style.bold("Unmanaged (neither declared nor recorded; cogwire never touches them):")
        );
        if unmanaged.resource_servers.is_empty() && unmanaged.clients.is_empty() {
            let _ = writeln!(out, "  none");
        }
        for identifier in &unmanaged.resource_servers {
            let _ = writeln!(out, "  resource server {identifier}");
        }
        for client in &unmanaged.clients {
            let _ = writeln!(out, "  client {} ({})", client.name, client.id);
        }
    }
    if !plan.actions.is_empty() || !plan.summary.is_empty() {
        let _ = writeln!(out, "\n{}", style.bold(&summary_line(plan)));
    }
    out
}

pub fn summary_line(plan: &Plan) -> String {
    let summary = plan.summary;
    if summary.is_empty() {
        return "No changes.".to_owned();
    }
    let import = if summary.import > 0 {
        format!("{} to import, ", summary.import)
    } else {
        String::new()
    };
    format!(
        "Plan: {import}{} to add, {} to change, {} to destroy.",
        summary.add, summary.change, summary.destroy
    )
}

fn action_lines(out: &mut String, action: &Action, style: Style) {
    let mark = paint(style, action.change, symbol(action.change));
    let what = match action.change {
        Change::Create => "will be created",
        Change::Update => "will be updated in-place",
        Change::Delete => "will be destroyed",
        Change::Import if action.fields.is_empty() => "will be imported",
        Change::Import => "will be imported and updated",
        Change::Forget => "will be forgotten (now external)",
    };
    let _ = writeln!(out, "  {mark} {} {}", action.label(), style.dim(what));
    for field in &action.fields {
        let (field_mark, line) = match (&field.before, &field.after) {
            (None, Some(after)) => ("+", join_words(&field.field, &quote(after))),
            (Some(before), None) => ("-", join_words(&field.field, &quote(before))),
            (Some(before), Some(after)) => (
                "~",
                format!("{}: {} -> {}", field.field, quote(before), quote(after)),
            ),
            (None, None) => ("~", field.field.clone()),
        };
        let painted = match field_mark {
            "+" => style.green(field_mark),
            "-" => style.red(field_mark),
            _ => style.yellow(field_mark),
        };
        let _ = writeln!(out, "      {painted} {line}");
    }
}

/// Values are quoted; a granted scope has no value worth showing.
fn quote(value: &str) -> String {
    if value == "granted" {
        String::new()
    } else {
        format!("{value:?}")
    }
}

fn join_words(field: &str, value: &str) -> String {
    if value.is_empty() {
        field.to_owned()
    } else {
        format!("{field} {value}")
    }
}

/// The plan as JSON: the same value, serialized. `format_version` lets consumers check it.
pub fn json(plan: &Plan) -> String {
    serde_json::to_string_pretty(plan).unwrap_or_else(|_| "{}".to_owned())
}

/// What the approval prompt says before asking, when the plan destroys: that a destroyed
/// client's id is gone for good, since a person may take a `-` line for a mere update.
pub fn destroy_warning(plan: &Plan) -> Option<String> {
    let deleted = |is_server: bool| {
        plan.actions
            .iter()
            .filter(|action| {
                action.change == Change::Delete && action.is_resource_server() == is_server
            })
            .count()
    };
    let (clients, servers) = (deleted(false), deleted(true));
    let plural = |count: usize, one: &str, many: &str| {
        format!("{count} {}", if count == 1 { one } else { many })
    };
    let mut lines = Vec::new();
    if clients > 0 {
        lines.push(format!(
            "{} will be destroyed. A destroyed client and its id are gone for good: services that use it can no longer get tokens, and a new client gets a new id.",
            plural(clients, "app client", "app clients")
        ));
    }
    if servers > 0 {
        lines.push(format!(
            "{} will be destroyed, with {} scopes.",
            plural(servers, "resource server", "resource servers"),
            if servers == 1 { "its" } else { "their" }
        ));
    }
    (!lines.is_empty()).then(|| lines.join("\n  "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Resource, Summary, Unmanaged};

    fn plan(resources: Vec<(Change, Resource)>) -> Plan {
        let actions: Vec<Action> = resources
            .into_iter()
            .map(|(change, resource)| Action {
                service: "orders".to_owned(),
                change,
                resource,
                fields: Vec::new(),
            })
            .collect();
        Plan {
            format_version: crate::plan::FORMAT_VERSION.to_owned(),
            pool_id: "p".to_owned(),
            summary: Summary::of(&actions),
            actions,
            unmanaged: Unmanaged::default(),
            lost_access: Vec::new(),
            observed_digest: String::new(),
            described_client_names: BTreeSet::new(),
        }
    }

    fn client() -> Resource {
        Resource::Client {
            name: "orders-app-client".to_owned(),
            id: Some("c1".to_owned()),
            spec: None,
            after: None,
            before: None,
        }
    }

    fn server() -> Resource {
        Resource::ResourceServer {
            identifier: "orders".to_owned(),
            after: None,
            before: None,
        }
    }

    #[test]
    fn the_prompt_warns_that_destroyed_client_ids_are_gone_for_good() {
        assert_eq!(
            destroy_warning(&plan(vec![(Change::Update, client())])),
            None
        );
        let warning = destroy_warning(&plan(vec![
            (Change::Delete, client()),
            (Change::Delete, server()),
            (Change::Create, server()),
        ]))
        .expect("a warning");
        assert!(
            warning.starts_with(
                "1 app client will be destroyed. A destroyed client and its id are gone for good"
            ),
            "{warning}"
        );
        assert!(
            warning.ends_with("1 resource server will be destroyed, with its scopes."),
            "{warning}"
        );
    }
}
