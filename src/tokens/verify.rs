//! End-to-end checks of a running service against services.toml: every declared route must refuse
//! a request without a token (401) and one whose token lacks the route's scope (403), and serve one
//! whose token has it (2xx). Pure: which checks to make with which client (`plan_checks`), whether
//! an answer passes (`judge`), and the report for people and as JSON. The command makes the calls.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::config::model::{Model, Service};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    NoToken,
    LacksScope,
    HasScope,
}

impl CheckKind {
    pub fn label(self) -> &'static str {
        match self {
            Self::NoToken => "no token",
            Self::LacksScope => "without scope",
            Self::HasScope => "with scope",
        }
    }

    pub fn expected(self) -> &'static str {
        match self {
            Self::NoToken => "401",
            Self::LacksScope => "403",
            Self::HasScope => "2xx",
        }
    }

    pub fn accepts(self, status: u16) -> bool {
        match self {
            Self::NoToken => status == 401,
            Self::LacksScope => status == 403,
            Self::HasScope => (200..300).contains(&status),
        }
    }
}

/// A client cogwire manages, with the scopes the pool grants it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManagedClient {
    pub service: String,
    pub id: String,
    pub scopes: BTreeSet<String>,
}

/// One request to make.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    pub service: String,
    pub method: String,
    pub path: String,
    /// `<identifier>/<scope>`.
    pub scope: String,
    pub kind: CheckKind,
    #[serde(skip)]
    pub body: Option<serde_json::Value>,
    /// The client whose token is sent; `None` for `NoToken`, or when no client fits.
    pub client: Option<ManagedClient>,
    /// Why the check cannot be made, when no client fits.
    pub skip: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SelectError {
    #[error("services.toml declares no service `{0}`")]
    UnknownService(String),
    #[error(transparent)]
    OtherEnvironment(crate::config::environment::DeclaredElsewhere),
    #[error("service `{0}` declares no routes")]
    NoRoutes(String),
    #[error("services.toml declares no routes")]
    NothingToVerify,
}

/// Three checks per route of the selected services (all with routes, if none is named). A token
/// "without the scope" comes from the first client, by service name, that is not granted it; one
/// "with the scope" from the first that is.
pub fn plan_checks(
    model: &Model,
    selected: &[String],
    clients: &[ManagedClient],
) -> Result<Vec<Check>, SelectError> {
    Ok(checks_of(select(model, selected)?, clients))
}

/// The services to verify: those named (each declared here, with routes), else every service
/// with routes. Told apart from the checks so that a bad name fails before AWS is read.
pub fn select<'a>(model: &'a Model, selected: &[String]) -> Result<Vec<&'a Service>, SelectError> {
    let mut services = Vec::new();
    if selected.is_empty() {
        services.extend(
            model
                .services
                .values()
                .filter(|service| !service.routes.is_empty()),
        );
        if services.is_empty() {
            return Err(SelectError::NothingToVerify);
        }
    } else {
        for name in selected {
            if let Some(elsewhere) = model.declared_elsewhere(name) {
                return Err(SelectError::OtherEnvironment(elsewhere));
            }
            let service = model
                .services
                .get(name)
                .ok_or_else(|| SelectError::UnknownService(name.clone()))?;
            if service.routes.is_empty() {
                return Err(SelectError::NoRoutes(name.clone()));
            }
            services.push(service);
        }
    }
    Ok(services)
}

/// Checks a route at a time; see `plan_checks`.
fn checks_of(services: Vec<&Service>, clients: &[ManagedClient]) -> Vec<Check> {
    let mut clients = clients.to_vec();
    clients.sort_by(|left, right| {
        left.service
            .cmp(&right.service)
            .then(left.id.cmp(&right.id))
    });

    let mut checks = Vec::new();
    for service in services {
        let identifier = service
            .resource_server
            .as_ref()
            .map_or(service.name.as_str(), |server| server.identifier.as_str());
        for route in &service.routes {
            let scope = format!("{identifier}/{}", route.scope);
            let without = clients
                .iter()
                .find(|client| !client.scopes.contains(&scope));
            let with = clients.iter().find(|client| client.scopes.contains(&scope));
            let check = |kind, client: Option<&ManagedClient>, skip: Option<&str>| Check {
                service: service.name.clone(),
                method: route.method.clone(),
                path: route.path.clone(),
                scope: scope.clone(),
                kind,
                body: route.body.clone(),
                client: client.cloned(),
                skip: skip.map(str::to_owned),
            };
            checks.push(check(CheckKind::NoToken, None, None));
            checks.push(check(
                CheckKind::LacksScope,
                without,
                without
                    .is_none()
                    .then_some("skipped: no client lacks the scope"),
            ));
            checks.push(check(
                CheckKind::HasScope,
                with,
                with.is_none()
                    .then_some("skipped: no managed client has the scope"),
            ));
        }
    }
    checks
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
    Skip,
}

/// What a check came to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckResult {
    #[serde(flatten)]
    pub check: Check,
    pub expected: &'static str,
    /// The HTTP status, if the request got an answer.
    pub status: Option<u16>,
    pub verdict: Verdict,
    /// Why it failed or was skipped.
    pub detail: Option<String>,
}

/// The answer to one request: a status, or why there was none (no token, no connection).
pub fn judge(check: Check, answer: Result<u16, String>) -> CheckResult {
    let expected = check.kind.expected();
    if let Some(reason) = check.skip.clone() {
        return CheckResult {
            check,
            expected,
            status: None,
            verdict: Verdict::Skip,
            detail: Some(reason),
        };
    }
    match answer {
        Ok(status) => {
            let passed = check.kind.accepts(status);
            let detail = (!passed).then(|| mismatch(check.kind, status));
            CheckResult {
                check,
                expected,
                status: Some(status),
                verdict: if passed { Verdict::Pass } else { Verdict::Fail },
                detail,
            }
        }
        Err(reason) => CheckResult {
            check,
            expected,
            status: None,
            verdict: Verdict::Fail,
            detail: Some(reason),
        },
    }
}

fn mismatch(kind: CheckKind, status: u16) -> String {
    match (kind, status) {
        (CheckKind::NoToken, 200..=299) => "served without a token".to_owned(),
        (CheckKind::LacksScope, 200..=299) => "served a token that lacks the scope".to_owned(),
        (CheckKind::LacksScope, 401) => {
            "refused the token itself (401): it should accept the token and refuse the scope (403)"
                .to_owned()
        }
        (CheckKind::HasScope, 401) => {
            "refused a valid token: does it trust this pool's issuer and keys?".to_owned()
        }
        (CheckKind::HasScope, 403) => "refused a token that has the scope".to_owned(),
        _ => format!("answered {status}"),
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
}

pub fn summarize(results: &[CheckResult]) -> Summary {
    let mut summary = Summary::default();
    for result in results {
        match result.verdict {
            Verdict::Pass => summary.passed += 1,
            Verdict::Fail => summary.failed += 1,
            Verdict::Skip => summary.skipped += 1,
        }
    }
    summary
}

/// A table for people: one row per check, then a closing line.
pub fn render_table(base_url: &str, results: &[CheckResult]) -> String {
    let header = [
        "SERVICE", "METHOD", "PATH", "CHECK", "AS", "EXPECT", "GOT", "RESULT",
    ];
    let rows: Vec<[String; 8]> = results
        .iter()
        .map(|result| {
            let verdict = match result.verdict {
                Verdict::Pass => "ok".to_owned(),
                Verdict::Fail => format!("FAIL: {}", result.detail.as_deref().unwrap_or("")),
                Verdict::Skip => result.detail.clone().unwrap_or_default(),
            };
            [
                result.check.service.clone(),
                result.check.method.clone(),
                result.check.path.clone(),
                result.check.kind.label().to_owned(),
                result
                    .check
                    .client
                    .as_ref()
                    .map_or_else(|| "-".to_owned(), |client| client.service.clone()),
                result.expected.to_owned(),
                result
                    .status
                    .map_or_else(|| "-".to_owned(), |status| status.to_string()),
                verdict,
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut text = String::new();
        for (index, cell) in cells.iter().enumerate() {
            if index + 1 == cells.len() {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<width$}  ", width = widths[index]));
            }
        }
        text.push('\n');
        text
    };
    let mut text = line(header.to_vec());
    for row in &rows {
        text.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    let summary = summarize(results);
    text.push_str(&format!(
        "\nVerified {base_url}: {} ok, {} failed, {} skipped of {} checks.\n",
        summary.passed,
        summary.failed,
        summary.skipped,
        results.len()
    ));
    text
}

pub fn render_json(base_url: &str, results: &[CheckResult]) -> serde_json::Value {
    let summary = summarize(results);
    serde_json::json!({
        "format_version": "1",
        "base_url": base_url,
        "passed": summary.failed == 0,
        "summary": summary,
        "checks": results,
    })
}

/// The clients cogwire manages, from the record and the live descriptions.
pub fn managed_clients(
    recorded: &BTreeMap<String, crate::apply::record::RecordedClient>,
    described: &BTreeMap<String, crate::cloud::ClientState>,
) -> Vec<ManagedClient> {
    recorded
        .iter()
        .filter_map(|(id, recorded)| {
            let state = described.get(id)?;
            Some(ManagedClient {
                service: recorded.service.clone(),
                id: id.clone(),
                scopes: state.scopes.clone(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVICES: &str = r#"
[services.gateway]
identifier = "https://gateway.example.com"
scopes = { "demo.read" = "Read", "demo.write" = "Write" }

[[services.gateway.routes]]
method = "GET"
path = "/api/demo/protectedRole/alice"
scope = "demo.read"

[[services.gateway.routes]]
method = "POST"
path = "/api/demo/protectedUpload"
scope = "demo.write"
body = { file = "a.csv" }

[services.reader]
consumes = ["gateway/demo.read"]

[services.writer]
consumes = ["gateway/demo.read", "gateway/demo.write"]
"#;

    fn model() -> Model {
        crate::config::model::load(SERVICES, Some("us-east-1_x")).expect("valid")
    }

    fn client(service: &str, scopes: &[&str]) -> ManagedClient {
        ManagedClient {
            service: service.to_owned(),
            id: format!("{service}-id"),
            scopes: scopes
                .iter()
                .map(|scope| format!("https://gateway.example.com/{scope}"))
                .collect(),
        }
    }

    #[test]
    fn each_route_gets_three_checks_with_fitting_clients() {
        let clients = [
            client("writer", &["demo.read", "demo.write"]),
            client("reader", &["demo.read"]),
        ];
        let checks = plan_checks(&model(), &[], &clients).expect("checks");
        let summary: Vec<(String, CheckKind, Option<String>, Option<String>)> = checks
            .iter()
            .map(|check| {
                (
                    check.path.clone(),
                    check.kind,
                    check.client.as_ref().map(|client| client.service.clone()),
                    check.skip.clone(),
                )
            })
            .collect();
        let read = "/api/demo/protectedRole/alice".to_owned();
        let upload = "/api/demo/protectedUpload".to_owned();
        assert_eq!(
            summary,
            vec![
                (read.clone(), CheckKind::NoToken, None, None),
                (
                    read.clone(),
                    CheckKind::LacksScope,
                    None,
                    Some("skipped: no client lacks the scope".to_owned())
                ),
                (read, CheckKind::HasScope, Some("reader".to_owned()), None),
                (upload.clone(), CheckKind::NoToken, None, None),
                (
                    upload.clone(),
                    CheckKind::LacksScope,
                    Some("reader".to_owned()),
                    None
                ),
                (upload, CheckKind::HasScope, Some("writer".to_owned()), None),
            ]
        );
        assert_eq!(checks[4].scope, "https://gateway.example.com/demo.write");
        assert_eq!(checks[4].body, Some(serde_json::json!({"file": "a.csv"})));
    }

    #[test]
    fn selecting_services() {
        assert_eq!(
            plan_checks(&model(), &["nope".to_owned()], &[]),
            Err(SelectError::UnknownService("nope".to_owned()))
        );
        assert_eq!(
            plan_checks(&model(), &["reader".to_owned()], &[]),
            Err(SelectError::NoRoutes("reader".to_owned()))
        );
    }

    #[test]
    fn answers_are_judged_and_reported() {
        let clients = [
            client("reader", &["demo.read"]),
            client("writer", &["demo.write"]),
        ];
        let checks = plan_checks(&model(), &[], &clients).expect("checks");
        let answers = [
            Ok(401),
            Ok(403),
            Ok(200),
            Ok(401),
            Ok(200),
            Err("connection refused".to_owned()),
        ];
        let results: Vec<CheckResult> = checks
            .into_iter()
            .zip(answers)
            .map(|(check, answer)| judge(check, answer))
            .collect();
        assert_eq!(
            summarize(&results),
            Summary {
                passed: 4,
                failed: 2,
                skipped: 0
            }
        );
        assert_eq!(
            results[4].detail.as_deref(),
            Some("served a token that lacks the scope")
        );
        let table = render_table("http://x", &results);
        assert!(
            table.contains("FAIL: served a token that lacks the scope"),
            "{table}"
        );
        assert!(table.ends_with("Verified http://x: 4 ok, 2 failed, 0 skipped of 6 checks.\n"));
        let json = render_json("http://x", &results);
        assert_eq!(json["passed"], false);
        assert_eq!(json["checks"][4]["kind"], "lacks_scope");
        assert_eq!(json["checks"][4]["status"], 200);
        assert_eq!(json["checks"][4]["client"]["service"], "reader");
    }
}
