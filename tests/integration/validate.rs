//! `cogwire validate` through the binary: one test per class of problem, with the rendered
//! diagnostics snapshotted, and the JSON form.

use crate::support::Workdir;

fn validate(text: &str) -> (i32, String) {
    let workdir = Workdir::new(text);
    let output = workdir.run(&["validate"], &[]);
    (output.code, output.stderr)
}

fn assert_invalid(name: &str, text: &str) {
    let (code, stderr) = validate(text);
    assert_eq!(code, 1, "{stderr}");
    insta::assert_snapshot!(name, stderr);
}

pub(crate) const PROVIDER: &str = "[services.customers-v1]\nscopes = { \"customer.read\" = \"Read\", \"customer.write\" = \"Write\" }\n";

#[test]
fn the_worked_example_is_valid() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/services.toml"))
        .expect("services.toml");
    let workdir = Workdir::new(&text);
    let output = workdir.run(&["validate"], &[]);
    assert_eq!(output.code, 0, "{}", output.stderr);
    assert_eq!(
        output.stdout,
        "services.toml: 9 services, 5 resource servers, 8 scopes, 6 clients: valid\n"
    );
}

#[test]
fn toml_syntax() {
    assert_invalid("syntax", "[services.a\nscopes = {}\n");
}

#[test]
fn wrong_types() {
    assert_invalid(
        "types",
        "[pool]\nid = 7\n[services.a]\nscopes = { \"r\" = 1 }\n",
    );
}

/// Each table is read key by key: every unknown key, wrong type and missing key of one section is
/// reported, not only the first.
#[test]
fn several_problems_in_one_section_are_each_reported() {
    assert_invalid(
        "one_section_many_problems",
        "[pool]\nidd = \"x\"\nregionn = \"y\"\nmax_clients = 0\n\
         [services.a]\nscopes = { \"r\" = 1, \"s\" = 2 }\nconsume = []\nexternal = \"yes\"\n\
         [services.b]\nscopes = { \"read\" = \"Read\" }\n[[services.b.routes]]\nmethod = \"GET\"\n",
    );
}

/// Types are named as TOML names them, and each hint carries a corrected line.
#[test]
fn wrong_types_are_named_in_toml_terms() {
    assert_invalid(
        "types_in_toml_terms",
        &format!(
            "[pool]\nmax_clients = 3.5\nmax_resource_servers = 99999999999999999999\n\
             [defaults]\naccess_token_validity = 30\n{PROVIDER}\
             [services.a]\nconsumes = \"customers-v1/customer.read\"\nclient = 5\n\
             [services.b]\nconsumes = [\"customers-v1/customer.read\", 7]\nclient = []\nroutes = {{ method = \"GET\" }}\n"
        ),
    );
}

#[test]
fn a_duplicate_key_is_named_and_the_rest_still_checked() {
    let (code, stderr) =
        validate("[services.a]\nscopes = { \"r\" = \"R\", \"r\" = \"again\" }\nconsume = []\n");
    assert_eq!(code, 1);
    assert!(stderr.contains("error: `r` is declared twice"), "{stderr}");
    assert!(stderr.contains("unknown key `consume`"), "{stderr}");
}

#[test]
fn unknown_keys_list_the_known_ones() {
    assert_invalid(
        "unknown_keys",
        &format!(
            "{PROVIDER}[services.b]\nconsume = [\"customers-v1/customer.read\"]\n[servises.c]\n"
        ),
    );
}

#[test]
fn unknown_scope_and_service_suggest_the_closest() {
    assert_invalid(
        "unknown_references",
        &format!(
            "{PROVIDER}[services.accounts-v1]\nconsumes = [\"customers-v1/customer.reed\", \"customer-v1/customer.read\", \"customer.read\"]\n"
        ),
    );
}

#[test]
fn duplicate_identifiers_client_names_and_scopes() {
    assert_invalid(
        "duplicates",
        &format!(
            "{PROVIDER}[services.other]\nidentifier = \"customers-v1\"\nscopes = {{ \"x\" = \"X\" }}\n\
             [services.a]\nconsumes = [\"customers-v1/customer.read\"]\n[services.a.client]\nname = \"shared\"\n\
             [services.b]\nconsumes = [\"customers-v1/customer.read\"]\n[services.b.client]\nname = \"shared\"\n"
        ),
    );
    let (code, stderr) = validate("[services.a]\nscopes = { \"r\" = \"R\", \"r\" = \"again\" }\n");
    assert_eq!(code, 1);
    insta::assert_snapshot!("duplicate_scope", stderr);
}

#[test]
fn cognito_naming_rules() {
    let long_client = "c".repeat(129);
    assert_invalid(
        "naming_rules",
        &format!(
            "[services.a]\nidentifier = \"has space\"\nscopes = {{ \"a/b\" = \"slash\", \"ok\" = \"\" }}\n\
             [services.b]\nconsumes = [\"a/ok\"]\n[services.b.client]\nname = \"{long_client}\"\n"
        ),
    );
}

#[test]
fn names_at_exactly_cognitos_limits_are_valid() {
    let identifier = "i".repeat(256);
    let scope = "s".repeat(256);
    let client = "c".repeat(128);
    let text = format!(
        "[services.a]\nidentifier = \"{identifier}\"\nscopes = {{ \"{scope}\" = \"{}\" }}\n[services.b]\nconsumes = [\"a/{scope}\"]\n[services.b.client]\nname = \"{client}\"\n",
        "d".repeat(256)
    );
    let (code, stderr) = validate(&text);
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn cognito_count_limits() {
    let scopes: Vec<String> = (0..101)
        .map(|index| format!("\"s{index}\" = \"S\""))
        .collect();
    let mut text = format!("[services.big]\nscopes = {{ {} }}\n", scopes.join(", "));
    let consumed: Vec<String> = (0..51).map(|index| format!("\"big/s{index}\"")).collect();
    text.push_str(&format!(
        "[services.greedy]\nconsumes = [{}]\n",
        consumed.join(", ")
    ));
    for index in 0..25 {
        text.push_str(&format!(
            "[services.rs{index}]\nscopes = {{ \"r\" = \"R\" }}\n"
        ));
    }
    assert_invalid("count_limits", &text);
    // The adjustable quotas can be raised in [pool].
    let raised = format!(
        "[pool]\nmax_resource_servers = 30\n{}",
        text.replace(", \"s100\" = \"S\"", "")
            .replace(", \"big/s50\"", "")
    );
    let (code, stderr) = validate(&raised);
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn token_validity_bounds() {
    assert_invalid(
        "token_validity",
        &format!(
            "[defaults]\naccess_token_validity = \"4m\"\n{PROVIDER}[services.a]\nconsumes = [\"customers-v1/customer.read\"]\n[services.a.client]\naccess_token_validity = \"soon\"\n"
        ),
    );
}

#[test]
fn secrets_paths_must_be_valid_ssm_names() {
    assert_invalid(
        "secrets_path",
        &format!(
            "[secrets]\npath = \"/aws/{{service}}\"\n{PROVIDER}[services.a]\nconsumes = [\"customers-v1/customer.read\"]\n"
        ),
    );
    let (code, stderr) = validate(&format!("[secrets]\npath = \"/x/{{team}}\"\n{PROVIDER}"));
    assert_eq!(code, 1);
    assert!(stderr.contains("unknown placeholder `{team}`"), "{stderr}");
    // Every problem with the path, not only the first; and Secrets Manager's rules for its store.
    assert_invalid(
        "secrets_path_all_problems",
        &format!(
            "[secrets]\npath = \"/aws/{{service}}/{{nope}}\"\n{PROVIDER}[services.a]\nconsumes = [\"customers-v1/customer.read\"]\n"
        ),
    );
    assert_invalid(
        "secrets_manager_path",
        &format!(
            "[secrets]\nstore = \"secretsmanager\"\npath = \"cogwire {{service}}\"\n{PROVIDER}[services.a]\nconsumes = [\"customers-v1/customer.read\"]\n"
        ),
    );
}

/// The bug report: `/cogwire/{pool}/{service}` with services named `state` and `lock` validated,
/// and apply then stored client secrets over cogwire's record and lock.
#[test]
fn secrets_paths_into_cogwires_own_parameters() {
    let text = format!(
        "[secrets]\npath = \"/cogwire/{{pool}}/{{service}}\"\n{PROVIDER}\
         [services.state]\nconsumes = [\"customers-v1/customer.read\"]\n\
         [services.lock]\nconsumes = [\"customers-v1/customer.read\"]\n"
    );
    assert_invalid("secrets_path_reserved", &text);
    // With the pool known, as plan and apply check it.
    let workdir = Workdir::new(&text);
    let output = workdir.run(&["--user-pool-id", "us-east-1_AbC123", "validate"], &[]);
    assert_eq!(output.code, 1, "{}", output.stderr);
    assert!(
        output
            .stderr
            .contains("expands to `/cogwire/us-east-1_AbC123/state` for service `state`"),
        "{}",
        output.stderr
    );
}

#[test]
fn services_sharing_one_secrets_entry() {
    assert_invalid(
        "secrets_path_shared",
        &format!(
            "[secrets]\npath = \"/apps/{{pool}}/creds\"\nlayout = \"split\"\n{PROVIDER}\
             [services.a]\nconsumes = [\"customers-v1/customer.read\"]\n\
             [services.b]\nconsumes = [\"customers-v1/customer.read\"]\n"
        ),
    );
}

#[test]
fn service_names_and_huge_durations_are_worded_truthfully() {
    let (code, stderr) = validate(&format!(
        "{PROVIDER}[services.\"ünï\"]\nconsumes = [\"customers-v1/customer.read\"]\n[services.\"ünï\".client]\nname = \"uni\"\naccess_token_validity = \"99999999999999999999h\"\n"
    ));
    assert_eq!(code, 1);
    assert!(
        stderr.contains("contains `ü`, which cogwire's rule for service names does not allow"),
        "{stderr}"
    );
    assert!(
        stderr.contains("`99999999999999999999h` is out of bounds"),
        "{stderr}"
    );
    assert!(!stderr.contains("is not a duration"), "{stderr}");
}

#[test]
fn json_diagnostics_carry_positions_and_hints() {
    let workdir = Workdir::new(&format!(
        "{PROVIDER}[services.a]\nconsumes = [\"customers-v1/customer.reed\"]\n"
    ));
    let output = workdir.run(&["validate", "--json"], &[]);
    assert_eq!(output.code, 1);
    let report: serde_json::Value = serde_json::from_str(&output.stdout).expect("JSON");
    let diagnostic = &report["diagnostics"][0];
    assert_eq!(diagnostic["code"], "unknown-scope");
    assert_eq!(diagnostic["line"], 4);
    assert_eq!(diagnostic["column"], 13);
    assert_eq!(
        diagnostic["hint"],
        "did you mean `customers-v1/customer.read`?"
    );
}

#[test]
fn a_missing_file_says_where_it_looked() {
    let workdir = Workdir::new("");
    let output = workdir.run(&["--config", "nope.toml", "validate"], &[]);
    assert_eq!(output.code, 1);
    assert!(
        output.stderr.contains("nope.toml does not exist"),
        "{}",
        output.stderr
    );
    assert!(output.stderr.contains("hint:"), "{}", output.stderr);
}

/// On a terminal, with colour allowed, cogwire colours its output and logs instead of failing.
#[test]
fn a_terminal_gets_colour_not_a_crash() {
    let workdir = Workdir::new(PROVIDER);
    let command = format!("{} -vvv validate", env!("CARGO_BIN_EXE_cogwire"));
    let output = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(workdir.path())
        .env_remove("NO_COLOR")
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("script(1) runs cogwire on a pseudo-terminal");
    let shown = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{shown}");
    assert!(!shown.contains("panicked"), "{shown}");
    assert!(shown.contains(": valid"), "{shown}");
}

/// A reader that goes away early (`cogwire graph | head -1`) is no crash.
#[test]
fn a_closed_pipe_is_not_a_crash() {
    let workdir = Workdir::new(PROVIDER);
    let mut child = workdir
        .command(&["graph", "--format", "json"], &[])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("cogwire starts");
    drop(child.stdout.take());
    let output = child.wait_with_output().expect("cogwire ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(output.status.code(), Some(0), "{stderr}");
}

/// A mistyped flag is an error (1), never "changes present" (2) to a CI step that branches on
/// `plan --detailed-exitcode`; `--help` still succeeds.
#[test]
fn a_usage_error_exits_1_not_2() {
    let workdir = Workdir::new(PROVIDER);
    let typo = workdir.run(&["plan", "--detailed-exitcode", "--typo"], &[]);
    assert_eq!(typo.code, 1, "{}", typo.all());
    assert!(typo.stderr.contains("--typo"), "{}", typo.stderr);
    let help = workdir.run(&["plan", "--help"], &[]);
    assert_eq!(help.code, 0, "{}", help.all());
    assert!(
        help.stdout.contains("--detailed-exitcode"),
        "{}",
        help.stdout
    );
}
