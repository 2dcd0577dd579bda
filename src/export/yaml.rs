//! A tiny YAML writer for the Kubernetes objects: block mappings and sequences in the order
//! built, every string double-quoted as JSON quotes it (which YAML reads the same), and a text
//! that ends in a newline as a literal block. The same tree always gives the same bytes.

/// A YAML value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Text(String),
    Map(Vec<(String, Node)>),
    List(Vec<Node>),
}

/// A mapping from pairs, in order.
pub fn map<const N: usize>(pairs: [(&str, Node); N]) -> Node {
    Node::Map(
        pairs
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value))
            .collect(),
    )
}

pub fn text(value: impl Into<String>) -> Node {
    Node::Text(value.into())
}

/// Documents separated by `---`.
pub fn documents(nodes: &[Node]) -> String {
    nodes
        .iter()
        .map(|node| format!("---\n{}", render(node)))
        .collect()
}

/// One document, ending in a newline.
pub fn render(node: &Node) -> String {
    let mut out = String::new();
    match node {
        Node::Map(pairs) if !pairs.is_empty() => write_map(&mut out, pairs, 0),
        Node::List(items) if !items.is_empty() => write_list(&mut out, items, 0),
        other => {
            out.push_str(&inline(other));
            out.push('\n');
        }
    }
    out
}

fn write_map(out: &mut String, pairs: &[(String, Node)], indent: usize) {
    for (index, (key, value)) in pairs.iter().enumerate() {
        // The first pair of a sequence item follows its `- ` on the same line.
        if index > 0 || !out.ends_with("- ") {
            out.push_str(&" ".repeat(indent));
        }
        out.push_str(&quote_key(key));
        out.push(':');
        write_value(out, value, indent);
    }
}

fn write_list(out: &mut String, items: &[Node], indent: usize) {
    for item in items {
        out.push_str(&" ".repeat(indent));
        match item {
            Node::Map(pairs) if !pairs.is_empty() => {
                out.push_str("- ");
                write_map(out, pairs, indent + 2);
            }
            Node::List(inner) if !inner.is_empty() => {
                out.push_str("-\n");
                write_list(out, inner, indent + 2);
            }
            other => {
                out.push_str("- ");
                out.push_str(&inline(other));
                out.push('\n');
            }
        }
    }
}

/// What follows `key:`.
fn write_value(out: &mut String, value: &Node, indent: usize) {
    match value {
        Node::Map(pairs) if !pairs.is_empty() => {
            out.push('\n');
            write_map(out, pairs, indent + 2);
        }
        Node::List(items) if !items.is_empty() => {
            out.push('\n');
            write_list(out, items, indent);
        }
        Node::Text(text) if literal(text) => {
            out.push_str(" |\n");
            for line in text.lines() {
                if !line.is_empty() {
                    out.push_str(&" ".repeat(indent + 2));
                    out.push_str(line);
                }
                out.push('\n');
            }
        }
        other => {
            out.push(' ');
            out.push_str(&inline(other));
            out.push('\n');
        }
    }
}

/// A text shown as a literal block: several lines, ending in exactly one newline, with nothing
/// a literal block would change (tabs, trailing blanks, a leading blank).
fn literal(text: &str) -> bool {
    text.ends_with('\n')
        && !text.ends_with("\n\n")
        && !text.starts_with([' ', '\n'])
        && text.lines().all(|line| {
            !line.ends_with(' ')
                && line
                    .chars()
                    .all(|character| character == ' ' || !character.is_control())
        })
}

fn inline(node: &Node) -> String {
    match node {
        Node::Text(text) => quote(text),
        Node::Map(_) => "{}".to_owned(),
        Node::List(_) => "[]".to_owned(),
    }
}

fn quote(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}

fn quote_key(key: &str) -> String {
    let plain = key
        .chars()
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic())
        && key
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || "_-.".contains(character));
    if plain { key.to_owned() } else { quote(key) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_maps_and_lists_are_block_style_with_quoted_strings() {
        let node = map([
            ("apiVersion", text("v1")),
            (
                "spec",
                map([
                    (
                        "data",
                        Node::List(vec![
                            map([
                                ("secretKey", text("A")),
                                ("remoteRef", map([("key", text("/x"))])),
                            ]),
                            map([("secretKey", text("B"))]),
                        ]),
                    ),
                    ("empty", Node::List(vec![])),
                ]),
            ),
            ("objects", text("- a: \"b\"\n  c: d\n")),
            ("weird key", text("it's \"quoted\"\ttab")),
        ]);
        assert_eq!(
            render(&node),
            r#"apiVersion: "v1"
spec:
  data:
  - secretKey: "A"
    remoteRef:
      key: "/x"
  - secretKey: "B"
  empty: []
objects: |
  - a: "b"
    c: d
"weird key": "it's \"quoted\"\ttab"
"#
        );
    }
}
