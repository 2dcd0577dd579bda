//! What editors, shells and new users get, through the binary: `schema` (checked with the
//! `jsonschema` crate against every valid fixture and every type and shape error validate
//! rejects), `init`, `completions` and `man`.

use serde_json::Value;

use crate::support::{Output, Workdir};
use crate::validate::PROVIDER;

fn schema() -> jsonschema::Validator {
    let output = Workdir::new("").run(&["schema"], &[]);
    assert_eq!(output.code, 0, "{}", output.all());
    let schema: Value = serde_json::from_str(&output.stdout).expect("the schema is JSON");
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    assert!(
        jsonschema::draft7::meta::is_valid(&schema),
        "the schema is a valid draft-07 schema"
    );
    jsonschema::draft7::new(&schema).expect("the schema compiles")
}

/// services.toml as the JSON an editor's TOML language server checks.
fn as_json(text: &str) -> Value {
    let table: toml::Table = toml::from_str(text).expect("the fixture is TOML");
    serde_json::to_value(table).expect("TOML becomes JSON")
}

fn validate(text: &str) -> Output {
    Workdir::new(text).run(&["validate"], &[])
}

fn valid_fixtures() -> Vec<(&'static str, String)> {
    let repo = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/services.toml"))
        .expect("services.toml");
    let identifier = "i".repeat(256);
    let scope = "s".repeat(256);
    vec![
        ("the repo's services.toml", repo),
        ("an empty file", String::new()),
        ("validate::PROVIDER", PROVIDER.to_owned()),
        ("aws_errors::SERVICES", crate::aws_errors::SERVICES.to_owned()),
        ("graph::TEXT", crate::graph::TEXT.to_owned()),
        ("plan_apply::SERVICES", crate::plan_apply::SERVICES.to_owned()),
        ("reliability::SERVICES", crate::reliability::SERVICES.to_owned()),
        ("secrets::SERVICES", crate::secrets::SERVICES.to_owned()),
        (
            "end_to_end::services",
            crate::end_to_end::services("http://127.0.0.1:1"),
        ),
        (
            "names at Cognito's limits",
            format!(
                "[services.a]\nidentifier = \"{identifier}\"\nscopes = {{ \"{scope}\" = \"{}\" }}\n[services.b]\nconsumes = [\"a/{scope}\"]\n[services.b.client]\nname = \"{}\"\n",
                "d".repeat(256),
                "c".repeat(128)
            ),
        ),
        (
            "a method in lower case, a split SSM layout, every key",
            "[pool]\nid = \"us-east-1_X\"\nregion = \"us-east-1\"\ntoken_url = \"http://x/oauth2/token\"\nmax_resource_servers = 30\nmax_clients = 1\n\
             [secrets]\nstore = \"ssm\"\npath = \"/app/{pool}/{service}\"\nkms_key_id = \"alias/k\"\nlayout = \"split\"\n\
             [defaults]\naccess_token_validity = \"1h30m\"\n\
             [services.a]\nname = \"A api\"\nscopes = { \"r\" = \"\" }\n[[services.a.routes]]\nmethod = \"get\"\npath = \"/r\"\nscope = \"r\"\nbody = { rows = [1, 2] }\n\
             [services.b]\nconsumes = [\"a/r\"]\nclient = { name = \"b client\", access_token_validity = \"5m\" }\n"
                .to_owned(),
        ),
    ]
}

/// Type and shape errors validate rejects, each alone in a file (with what it needs to be the
/// only problem).
fn shape_errors() -> Vec<(&'static str, String)> {
    let with_provider = |rest: &str| format!("{PROVIDER}{rest}");
    let consumer = |rest: &str| {
        with_provider(&format!(
            "[services.a]\nconsumes = [\"customers-v1/customer.read\"]\n{rest}"
        ))
    };
    let route = |rest: &str| {
        format!("[services.a]\nscopes = {{ \"r\" = \"R\" }}\n[[services.a.routes]]\n{rest}")
    };
    let many_scopes: Vec<String> = (0..101)
        .map(|index| format!("\"s{index}\" = \"S\""))
        .collect();
    let many_consumed: Vec<String> = (0..51).map(|index| format!("\"big/s{index}\"")).collect();
    vec![
        ("a string that is an integer", "[pool]\nid = 7\n".to_owned()),
        ("a table that is not", "pool = 5\n".to_owned()),
        ("services not a table", "services = [1]\n".to_owned()),
        ("a service not a table", "[services]\na = 5\n".to_owned()),
        ("a float quota", "[pool]\nmax_clients = 3.5\n".to_owned()),
        (
            "a zero quota",
            "[pool]\nmax_resource_servers = 0\n".to_owned(),
        ),
        (
            "a quoted quota",
            "[pool]\nmax_clients = \"10\"\n".to_owned(),
        ),
        ("unknown top-level key", "[servises.c]\n".to_owned()),
        ("unknown pool key", "[pool]\nidd = \"x\"\n".to_owned()),
        (
            "unknown secrets key",
            "[secrets]\nstor = \"ssm\"\n".to_owned(),
        ),
        (
            "unknown defaults key",
            "[defaults]\nvalidity = \"1h\"\n".to_owned(),
        ),
        (
            "unknown service key",
            with_provider("[services.b]\nconsume = [\"customers-v1/customer.read\"]\n"),
        ),
        (
            "unknown client key",
            consumer("[services.a.client]\nnmae = \"x\"\n"),
        ),
        (
            "unknown route key",
            route("method = \"GET\"\npath = \"/\"\nscope = \"r\"\nheaders = 1\n"),
        ),
        (
            "a route without its scope",
            route("method = \"GET\"\npath = \"/\"\n"),
        ),
        (
            "a route without method",
            route("path = \"/\"\nscope = \"r\"\n"),
        ),
        (
            "a method that is not HTTP's",
            route("method = \"FETCH\"\npath = \"/\"\nscope = \"r\"\n"),
        ),
        (
            "a relative route path",
            route("method = \"GET\"\npath = \"v1/x\"\nscope = \"r\"\n"),
        ),
        (
            "routes a table",
            "[services.a]\nscopes = { \"r\" = \"R\" }\nroutes = { method = \"GET\" }\n".to_owned(),
        ),
        (
            "a route not a table",
            "[services.a]\nscopes = { \"r\" = \"R\" }\nroutes = [5]\n".to_owned(),
        ),
        (
            "a duration that is a number",
            "[defaults]\naccess_token_validity = 30\n".to_owned(),
        ),
        (
            "a duration without a unit",
            "[defaults]\naccess_token_validity = \"soon\"\n".to_owned(),
        ),
        (
            "a client duration with a space",
            consumer("[services.a.client]\naccess_token_validity = \"1 h\"\n"),
        ),
        (
            "a scope description that is an integer",
            "[services.a]\nscopes = { \"r\" = 1 }\n".to_owned(),
        ),
        (
            "scopes an array",
            "[services.a]\nscopes = [\"r\"]\n".to_owned(),
        ),
        ("empty scopes", "[services.a]\nscopes = {}\n".to_owned()),
        (
            "a description too long",
            format!(
                "[services.a]\nscopes = {{ \"r\" = \"{}\" }}\n",
                "d".repeat(257)
            ),
        ),
        (
            "too many scopes",
            format!(
                "[services.big]\nscopes = {{ {} }}\n",
                many_scopes.join(", ")
            ),
        ),
        (
            "consumes a string",
            with_provider("[services.a]\nconsumes = \"customers-v1/customer.read\"\n"),
        ),
        (
            "a consumed entry that is an integer",
            with_provider("[services.a]\nconsumes = [\"customers-v1/customer.read\", 7]\n"),
        ),
        (
            "consumes empty",
            with_provider("[services.a]\nconsumes = []\n"),
        ),
        (
            "a scope consumed twice",
            with_provider(
                "[services.a]\nconsumes = [\"customers-v1/customer.read\", \"customers-v1/customer.read\"]\n",
            ),
        ),
        (
            "a reference without its service",
            with_provider("[services.a]\nconsumes = [\"customer.read\"]\n"),
        ),
        (
            "too many consumed scopes",
            format!(
                "[services.big]\nscopes = {{ {} }}\n[services.greedy]\nconsumes = [{}]\n",
                many_scopes[..51].join(", "),
                many_consumed.join(", ")
            ),
        ),
        ("client an integer", consumer("client = 5\n")),
        ("client an array", consumer("client = []\n")),
        (
            "external a string",
            "[services.a]\nscopes = { \"r\" = \"R\" }\nexternal = \"yes\"\n".to_owned(),
        ),
        (
            "an identifier with a space",
            "[services.a]\nidentifier = \"has space\"\nscopes = { \"r\" = \"R\" }\n".to_owned(),
        ),
        (
            "an identifier too long",
            format!(
                "[services.a]\nidentifier = \"{}\"\nscopes = {{ \"r\" = \"R\" }}\n",
                "i".repeat(257)
            ),
        ),
        (
            "a scope name with a slash",
            "[services.a]\nscopes = { \"a/b\" = \"slash\" }\n".to_owned(),
        ),
        (
            "a resource-server name with `!`",
            "[services.a]\nname = \"Orders!\"\nscopes = { \"r\" = \"R\" }\n".to_owned(),
        ),
        (
            "a client name too long",
            consumer(&format!(
                "[services.a.client]\nname = \"{}\"\n",
                "c".repeat(129)
            )),
        ),
        (
            "a client name with `/`",
            consumer("[services.a.client]\nname = \"a/b\"\n"),
        ),
        (
            "a service name with `ü`",
            with_provider("[services.\"ünï\"]\nconsumes = [\"customers-v1/customer.read\"]\n"),
        ),
        (
            "a service name beginning with `-`",
            "[services.-a]\nscopes = { \"r\" = \"R\" }\n".to_owned(),
        ),
        (
            "an unknown store",
            "[secrets]\nstore = \"vault\"\n".to_owned(),
        ),
        (
            "an unknown layout",
            "[secrets]\nlayout = \"flat\"\n".to_owned(),
        ),
        (
            "split with Secrets Manager",
            "[secrets]\nstore = \"secretsmanager\"\nlayout = \"split\"\n".to_owned(),
        ),
        (
            "an unknown placeholder",
            format!("[secrets]\npath = \"/x/{{team}}\"\n{PROVIDER}"),
        ),
        (
            "a path with a space",
            consumer("[secrets]\nstore = \"secretsmanager\"\npath = \"cogwire {service}\"\n"),
        ),
    ]
}

#[test]
fn the_schema_accepts_every_valid_fixture() {
    let validator = schema();
    for (name, text) in valid_fixtures() {
        let output = validate(&text);
        assert_eq!(output.code, 0, "{name}: {}", output.all());
        let errors: Vec<String> = validator
            .iter_errors(&as_json(&text))
            .map(|error| error.to_string())
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:?}");
    }
}

#[test]
fn the_schema_rejects_each_type_and_shape_error_validate_rejects() {
    let validator = schema();
    for (name, text) in shape_errors() {
        let output = validate(&text);
        assert_eq!(output.code, 1, "validate accepts {name}: {}", output.all());
        assert!(
            !validator.is_valid(&as_json(&text)),
            "the schema accepts {name}:\n{text}"
        );
    }
}

/// The schema in the repo, for editors that open services.toml here, is the binary's.
#[test]
fn the_committed_schema_is_current() {
    let output = Workdir::new("").run(&["schema"], &[]);
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/services.schema.json"))
            .expect("services.schema.json");
    assert!(
        committed == output.stdout,
        "services.schema.json is stale: run `cargo run -- schema > services.schema.json`"
    );
}

#[test]
fn init_writes_a_file_that_validates_and_the_schema_beside_it() {
    let validator = schema();
    for args in [
        vec!["init"],
        vec![
            "init",
            "--service",
            "orders",
            "--scope",
            "orders.read",
            "--scope",
            "orders.write=Change orders",
            "--consumer",
            "billing",
            "--consumer",
            "reporting",
        ],
        vec![
            "--user-pool-id",
            "eu-west-1_Abc",
            "init",
            "--service",
            "orders",
        ],
    ] {
        let workdir = Workdir::new("");
        std::fs::remove_file(workdir.path().join("services.toml")).expect("no services.toml");
        let init = workdir.run(&args, &[]);
        assert_eq!(init.code, 0, "{args:?}: {}", init.all());
        let validated = workdir.run(&["validate"], &[]);
        assert_eq!(validated.code, 0, "{args:?}: {}", validated.all());
        let text =
            std::fs::read_to_string(workdir.path().join("services.toml")).expect("services.toml");
        assert!(
            text.starts_with("#:schema ./services.schema.json\n"),
            "{text}"
        );
        assert!(validator.is_valid(&as_json(&text)), "{text}");
        let schema = std::fs::read_to_string(workdir.path().join("services.schema.json"))
            .expect("services.schema.json");
        assert_eq!(schema, Workdir::new("").run(&["schema"], &[]).stdout);
    }
}

#[test]
fn init_replaces_nothing_without_force() {
    let workdir = Workdir::new("# mine\n");
    let refused = workdir.run(&["init", "--service", "orders"], &[]);
    assert_eq!(refused.code, 1, "{}", refused.all());
    assert!(
        refused.stderr.contains("services.toml exists"),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains("--force"), "{}", refused.stderr);
    let kept = std::fs::read_to_string(workdir.path().join("services.toml")).expect("kept");
    assert_eq!(kept, "# mine\n");
    let forced = workdir.run(&["init", "--service", "orders", "--force"], &[]);
    assert_eq!(forced.code, 0, "{}", forced.all());
    assert_eq!(workdir.run(&["validate"], &[]).code, 0);
}

#[test]
fn init_refuses_names_validate_would_refuse() {
    let workdir = Workdir::new("");
    std::fs::remove_file(workdir.path().join("services.toml")).expect("no services.toml");
    let output = workdir.run(&["init", "--service", "orders", "--scope", "a/b"], &[]);
    assert_eq!(output.code, 1, "{}", output.all());
    assert!(output.stderr.contains("hint:"), "{}", output.stderr);
    assert!(!workdir.path().join("services.toml").exists());
}

const SUBCOMMANDS: &[&str] = &[
    "validate",
    "plan",
    "apply",
    "import",
    "sync-secrets",
    "rotate-secret",
    "init",
    "schema",
    "completions",
];

#[test]
fn completions_for_each_shell_name_the_subcommands() {
    let workdir = Workdir::new("");
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let output = workdir.run(&["completions", shell], &[]);
        assert_eq!(output.code, 0, "{shell}: {}", output.all());
        assert!(!output.stdout.is_empty(), "{shell}");
        for subcommand in SUBCOMMANDS {
            assert!(
                output.stdout.contains(subcommand),
                "{shell} does not name {subcommand}"
            );
        }
    }
    let unknown = workdir.run(&["completions", "tcsh"], &[]);
    assert_eq!(unknown.code, 1, "{}", unknown.all());
}

#[test]
fn the_man_page_is_roff_and_names_the_subcommands() {
    let output = Workdir::new("").run(&["man"], &[]);
    assert_eq!(output.code, 0, "{}", output.all());
    assert!(output.stdout.contains(".TH cogwire"), "{}", output.stdout);
    for subcommand in SUBCOMMANDS {
        assert!(
            // roff escapes a hyphen as `\-`.
            output.stdout.contains(&subcommand.replace('-', "\\-")),
            "the man page does not name {subcommand}"
        );
    }
}
