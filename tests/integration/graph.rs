//! `cogwire graph` through the binary.

use crate::support::Workdir;

pub(crate) const TEXT: &str = r#"
[services.base]
scopes = { "r" = "R" }
[services.x]
scopes = { "x" = "X" }
consumes = ["y/y", "base/r"]
[services.y]
scopes = { "y" = "Y" }
consumes = ["x/x"]
[services.alone]
scopes = { "a" = "A" }
[services.legacy]
external = true
scopes = { "l" = "" }
[services.caller]
consumes = ["legacy/l"]
"#;

#[test]
fn text_names_waves_cycles_and_externals() {
    let output = Workdir::new(TEXT).run(&["graph"], &[]);
    assert_eq!(output.code, 0, "{}", output.stderr);
    assert_eq!(
        output.stdout,
        "wave 1: alone, base, legacy (external)\nwave 2: caller, x, y\n  cycle: x, y consume each other; deploy them together\n"
    );
}

#[test]
fn json_lists_edges_and_waves() {
    let output = Workdir::new(TEXT).run(&["graph", "--json"], &[]);
    let graph: serde_json::Value = serde_json::from_str(&output.stdout).expect("JSON");
    assert_eq!(graph["format_version"], "1");
    assert_eq!(graph["edges"].as_array().map(Vec::len), Some(4));
    assert_eq!(
        graph["waves"][1]["cycles"][0],
        serde_json::json!(["x", "y"])
    );
}

#[test]
fn dot_output_parses() {
    let output = Workdir::new(TEXT).run(&["graph", "--format", "dot"], &[]);
    let statements =
        parse_dot(&output.stdout).unwrap_or_else(|error| panic!("{error}\n{}", output.stdout));
    let edges = statements
        .iter()
        .filter(|statement| statement.contains("->"))
        .count();
    assert_eq!(edges, 4);
}

/// A small parser for the DOT subset cogwire writes: `digraph ID { stmt; ... }` where a statement
/// is an attribute statement, a node or an edge, each with an optional attribute list.
fn parse_dot(text: &str) -> Result<Vec<String>, String> {
    let tokens = tokenize(text)?;
    let mut position = 0;
    let expect = |wanted: &str, position: &mut usize| -> Result<(), String> {
        match tokens.get(*position) {
            Some(token) if token == wanted => {
                *position += 1;
                Ok(())
            }
            other => Err(format!("expected `{wanted}`, found {other:?}")),
        }
    };
    expect("digraph", &mut position)?;
    position += 1;
    expect("{", &mut position)?;
    let mut statements = Vec::new();
    while tokens.get(position).is_some_and(|token| token != "}") {
        let mut statement = String::new();
        while tokens.get(position).is_some_and(|token| token != ";") {
            let token = &tokens[position];
            if token == "[" {
                position += 1;
                while tokens.get(position).is_some_and(|token| token != "]") {
                    position += 1;
                    expect("=", &mut position)?;
                    position += 1;
                    if tokens.get(position).is_some_and(|token| token == ",") {
                        position += 1;
                    }
                }
                expect("]", &mut position)?;
                continue;
            }
            statement.push_str(token);
            statement.push(' ');
            position += 1;
        }
        expect(";", &mut position)?;
        statements.push(statement);
    }
    expect("}", &mut position)?;
    if position != tokens.len() {
        return Err("text after the closing brace".to_owned());
    }
    Ok(statements)
}

fn tokenize(text: &str) -> Result<Vec<String>, String> {
    let mut tokens = Vec::new();
    let mut characters = text.chars().peekable();
    while let Some(character) = characters.next() {
        match character {
            ' ' | '\n' | '\t' => {}
            '{' | '}' | '[' | ']' | ';' | '=' | ',' => tokens.push(character.to_string()),
            '-' if characters.peek() == Some(&'>') => {
                characters.next();
                tokens.push("->".to_owned());
            }
            '"' => {
                let mut quoted = String::from("\"");
                loop {
                    match characters.next() {
                        Some('\\') => {
                            quoted.push('\\');
                            quoted.push(characters.next().ok_or("unterminated escape")?);
                        }
                        Some('"') => break,
                        Some(other) => quoted.push(other),
                        None => return Err("unterminated string".to_owned()),
                    }
                }
                quoted.push('"');
                tokens.push(quoted);
            }
            other if other.is_ascii_alphanumeric() || other == '_' => {
                let mut word = other.to_string();
                while let Some(&next) = characters.peek() {
                    if !(next.is_ascii_alphanumeric() || next == '_') {
                        break;
                    }
                    word.push(next);
                    characters.next();
                }
                tokens.push(word);
            }
            other => return Err(format!("unexpected character {other:?}")),
        }
    }
    Ok(tokens)
}
