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
        Change::Rename => "=>",
    }
}

fn paint(style: Style, change: Change, text: &str) -> String {
    match change {
        Change::Create => style.green(text),
        Change::Update => style.yellow(text),
        Change::Delete => style.red(text),
        Change::Import => style.cyan(text),
        Change::Forget => style.dim(text),
        Change::Rename => style.cyan(text),
    }
}

fn legend(change: Change) -> &'static str {
    match change {
        Change::Create => "create",
        Change::Update => "update in-place",
        Change::Delete => "destroy",
        Change::Import => "import: adopt an existing resource into cogwire's record",
        Change::Forget => "forget: stop managing, leave the resource as it is",
        Change::Rename => "rename: a renamed service keeps its resource and its id",
    }
}

pub fn human(plan: &Plan, style: Style, show_unmanaged: bool) -> String {
    let mut out = String::new();
    if let Some(environment) = &plan.environment {
        let _ = writeln!(
            out,
            "{}",
            style.bold(&format!(
                "Environment {environment}, user pool {}",
                plan.pool_id
            ))
        );
    }
    let shown: Vec<&Action> = plan.actions.iter().collect();
    let gateways_change = plan.gateways.iter().any(|gateway| gateway.count() > 0);
    let mut used: BTreeSet<Change> = shown.iter().map(|action| action.change()).collect();
    if gateways_change {
        // An authorizer's or a route's line is an update in place.
        used.insert(Change::Update);
    }
    if used.is_empty() && plan.pending_credentials.is_empty() {
        let _ = writeln!(out, "{}", style.bold("No changes."));
        let _ = writeln!(out, "User pool {} matches services.toml.", plan.pool_id);
    }
    if !used.is_empty() {
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
    }
    if !shown.is_empty() {
        let _ = writeln!(
            out,
            "\ncogwire will perform the following actions in user pool {}:",
            plan.pool_id
        );
        let mut current_service = None;
        for action in &shown {
            if current_service != Some(action.service()) {
                let _ = writeln!(
                    out,
                    "\n  {}",
                    style.bold(&format!("# {}", action.service()))
                );
                current_service = Some(action.service());
            }
            action_lines(&mut out, action, style, plan.adopt);
        }
    }
    if gateways_change {
        let _ = writeln!(out, "\ncogwire will update these API Gateway resources:");
        for gateway in plan.gateways.iter().filter(|gateway| gateway.count() > 0) {
            let _ = writeln!(
                out,
                "\n  {}",
                style.bold(&format!("# {} (api_gateway)", gateway.service))
            );
            out.push_str(&crate::plan::gateway::human_lines(gateway, style));
        }
    }
    if !plan.pending_credentials.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            style.bold("Credentials not stored yet (a run stopped before storing them):")
        );
        for pending in &plan.pending_credentials {
            let _ = writeln!(
                out,
                "  {} credentials of {} will be stored {}",
                style.green("+"),
                pending.service,
                style.dim(&format!("(client {})", pending.client_id))
            );
        }
    }
    let adopted = plan.needs_adopt();
    if !adopted.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            style.bold(
                "Resources whose owner changes (not cogwire's until now, and changed by this plan):"
            )
        );
        for label in &adopted {
            let _ = writeln!(out, "  {label}");
        }
        if !plan.adopt {
            let _ = writeln!(
                out,
                "  {} apply refuses this without --adopt; or run `cogwire import` first and adopt them unchanged",
                style.yellow("hint:")
            );
        }
    }
    if !plan.lost_access.is_empty() {
        let _ = writeln!(out, "\n{}", style.bold("Callers that lose access:"));
        for lost in &plan.lost_access {
            let unmanaged = if lost.managed {
                String::new()
            } else {
                format!(" (unmanaged client {})", lost.client_id)
            };
            let _ = writeln!(
                out,
                "  {}{unmanaged} loses {}",
                lost.caller,
                style.red(&lost.scope)
            );
        }
        if !plan.needs_allow_destroy().is_empty() {
            let _ = writeln!(
                out,
                "  {} an unmanaged client keeps naming a removed scope, and its own tool's next save fails: apply needs --allow-destroy",
                style.yellow("warning:")
            );
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
    if let Some(note) = plan.refresh.note() {
        let _ = writeln!(out, "\n{} {note}", style.yellow("note:"));
    }
    if plan.has_changes() {
        let _ = writeln!(out, "\n{}", style.bold(&summary_line(plan)));
    }
    out
}

pub fn summary_line(plan: &Plan) -> String {
    let summary = plan.summary;
    let credentials = match plan.pending_credentials.len() {
        0 => String::new(),
        1 => " 1 service's credentials to store.".to_owned(),
        count => format!(" {count} services' credentials to store."),
    };
    if summary.is_empty() {
        return if credentials.is_empty() {
            "No changes.".to_owned()
        } else {
            format!("Plan:{credentials}")
        };
    }
    let import = if summary.import > 0 {
        format!("{} to import, ", summary.import)
    } else {
        String::new()
    };
    let rename = if summary.rename > 0 {
        format!("{} to rename, ", summary.rename)
    } else {
        String::new()
    };
    format!(
        "Plan: {import}{rename}{} to add, {} to change, {} to destroy.{credentials}",
        summary.add, summary.change, summary.destroy
    )
}

fn action_lines(out: &mut String, action: &Action, style: Style, adopt: bool) {
    let change = action.change();
    let mark = paint(style, change, symbol(change));
    if let Some(previous) = action.previous_service() {
        let keeps = match action {
            Action::Client(_) => "keeps its id",
            Action::ResourceServer(_) => "keeps its scopes",
        };
        let _ = writeln!(
            out,
            "  {mark} service {previous} is now {}; {} {keeps}",
            action.service(),
            action.label()
        );
        return;
    }
    let what = match change {
        Change::Create => "will be created",
        Change::Update => "will be updated in-place",
        Change::Delete => "will be destroyed",
        Change::Import if action.fields().is_empty() => "will be imported",
        Change::Import => "will be imported and updated",
        Change::Forget => "will be forgotten (now external)",
        Change::Rename => "will be renamed",
    };
    let _ = writeln!(out, "  {mark} {} {}", action.label(), style.dim(what));
    if let Some(replaced) = action.replaces() {
        let _ = writeln!(
            out,
            "      {} this replaces client {} ({}) of service {} (new client id; every caller's credentials change)",
            style.red("!"),
            replaced.name,
            replaced.id,
            replaced.service
        );
    }
    if action.adopts_with_changes() && !adopt {
        let _ = writeln!(
            out,
            "      {} not cogwire's: its owner changes and so does what it holds (needs --adopt)",
            style.yellow("!")
        );
    }
    for field in action.fields() {
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
                action.change() == Change::Delete && action.is_resource_server() == is_server
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
    use crate::config::model::load;
    use crate::plan::action::examples;
    use crate::plan::diff::{Selection, diff};
    use crate::plan::observed::Observed;
    use crate::plan::{ClientAction, ClientChange, PendingCredentials, Replaced};

    fn plan(actions: Vec<Action>) -> Plan {
        let mut plan = diff(
            &load("[services.a]\nscopes = { \"r\" = \"R\" }\n", None).expect("valid"),
            &Observed::default(),
            &Selection::all(),
        )
        .expect("plan");
        plan.summary = crate::plan::Summary::of(&actions);
        plan.actions = actions;
        plan
    }

    fn client_action(change: Change, name: &str, id: &str) -> Action {
        examples::client("reader", change, name, id)
    }

    /// The client `readClient` (c1), now declared by the renamed service `reader`.
    fn renamed() -> Action {
        Action::Client(ClientAction {
            service: "reader".into(),
            name: "readClient".into(),
            change: ClientChange::Rename {
                id: "c1".into(),
                previous_service: "readClient".into(),
            },
        })
    }

    #[test]
    fn a_rename_is_its_own_change() {
        let text = human(&plan(vec![renamed()]), Style::plain(), false);
        assert!(
            text.contains("service readClient is now reader; client readClient (c1) keeps its id"),
            "{text}"
        );
        assert!(
            text.contains("Plan: 1 to rename, 0 to add, 0 to change, 0 to destroy."),
            "{text}"
        );
        let json: serde_json::Value =
            serde_json::from_str(&json(&plan(vec![renamed()]))).expect("json");
        assert_eq!(json["actions"][0]["change"], "rename");
        assert_eq!(json["actions"][0]["previous_service"], "readClient");
        assert_eq!(json["format_version"], "2");
    }

    #[test]
    fn a_replaced_client_is_said_loudly() {
        let mut create = client_action(Change::Create, "reader-app-client", "");
        if let Action::Client(ClientAction {
            change: ClientChange::Create { replaces, .. },
            ..
        }) = &mut create
        {
            *replaces = Some(Replaced {
                service: "readClient".into(),
                name: "readClient".into(),
                id: "c1".into(),
            });
        }
        let plan = plan(vec![create]);
        let text = human(&plan, Style::plain(), false);
        assert!(
            text.contains("this replaces client readClient (c1) of service readClient (new client id; every caller's credentials change)"),
            "{text}"
        );
        let json: serde_json::Value = serde_json::from_str(&json(&plan)).expect("json");
        assert_eq!(json["actions"][0]["replaces"]["id"], "c1");
    }

    #[test]
    fn the_legend_names_the_update_of_a_gateway_beside_the_pools_changes() {
        let mut plan = plan(vec![client_action(Change::Create, "reader-app-client", "")]);
        plan.gateways = vec![crate::plan::gateway::GatewayChange {
            service: "gateway".into(),
            api_id: "a1b2c3d4e5".into(),
            authorizer_id: "abc123".into(),
            authorizer: None,
            routes: vec![crate::plan::gateway::RouteChange {
                route_id: "r1".into(),
                route_key: "GET /demo".into(),
                authorization_type_before: "NONE".into(),
                authorizer_before: None,
                scopes_before: BTreeSet::new(),
                scopes_after: BTreeSet::from(["gateway/demo.read".to_owned()]),
            }],
            unmanaged_audience: Vec::new(),
            rest: None,
        }];
        let text = human(&plan, Style::plain(), false);
        assert!(text.contains("  + create\n  ~ update in-place\n"), "{text}");
        assert_eq!(text.matches("Resource actions are indicated").count(), 1);
    }

    #[test]
    fn pending_credentials_are_changes() {
        let mut plan = plan(Vec::new());
        plan.pending_credentials = vec![PendingCredentials {
            service: "reader".into(),
            client_id: "c1".into(),
        }];
        let text = human(&plan, Style::plain(), false);
        assert!(!text.contains("No changes."), "{text}");
        assert!(
            text.contains("credentials of reader will be stored"),
            "{text}"
        );
        assert!(
            text.contains("Plan: 1 service's credentials to store."),
            "{text}"
        );
    }

    #[test]
    fn an_adoption_with_changes_names_the_new_owner_and_the_flag() {
        let mut import = client_action(Change::Import, "someone-else", "u1");
        examples::fields_mut(&mut import).push(crate::plan::FieldChange {
            field: "scope a/r".into(),
            before: Some("granted".into()),
            after: None,
        });
        let mut plan = plan(vec![import]);
        let text = human(&plan, Style::plain(), false);
        assert!(text.contains("Resources whose owner changes"), "{text}");
        assert!(
            text.contains("apply refuses this without --adopt"),
            "{text}"
        );
        plan.adopt = true;
        let text = human(&plan, Style::plain(), false);
        assert!(!text.contains("without --adopt"), "{text}");
    }

    #[test]
    fn unmanaged_callers_that_lose_access_are_named() {
        let mut plan = plan(Vec::new());
        plan.lost_access = vec![crate::plan::LostAccess {
            caller: "legacy".into(),
            scope: "a/w".into(),
            client_id: "u1".into(),
            managed: false,
        }];
        let text = human(&plan, Style::plain(), false);
        assert!(
            text.contains("legacy (unmanaged client u1) loses a/w"),
            "{text}"
        );
        assert!(text.contains("--allow-destroy"), "{text}");
    }

    #[test]
    fn the_prompt_warns_that_destroyed_client_ids_are_gone_for_good() {
        let server = |change| examples::server("orders", change, "orders");
        assert_eq!(
            destroy_warning(&plan(vec![client_action(
                Change::Update,
                "orders-app-client",
                "c1"
            )])),
            None
        );
        let warning = destroy_warning(&plan(vec![
            client_action(Change::Delete, "orders-app-client", "c1"),
            server(Change::Delete),
            server(Change::Create),
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
