//! The service dependency graph: an edge from each consumer to each provider it consumes, and the
//! deployment waves that follow from it (providers first; services in a cycle share a wave).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use petgraph::algo::{condensation, toposort};
use petgraph::graph::{DiGraph, NodeIndex};
use serde::Serialize;

use crate::config::model::Model;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Edge {
    pub consumer: String,
    pub provider: String,
    pub scopes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Wave {
    /// 1-based: wave 1 depends on nothing.
    pub wave: usize,
    pub services: Vec<String>,
    /// Services in this wave that consume each other, each cycle sorted; deploy them together.
    pub cycles: Vec<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceGraph {
    pub format_version: &'static str,
    pub services: Vec<GraphService>,
    pub edges: Vec<Edge>,
    pub waves: Vec<Wave>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GraphService {
    pub name: String,
    pub external: bool,
}

impl ServiceGraph {
    pub fn build(model: &Model) -> Self {
        let mut graph: DiGraph<&str, ()> = DiGraph::new();
        let nodes: BTreeMap<&str, NodeIndex> = model
            .services
            .keys()
            .map(|name| (name.as_str(), graph.add_node(name.as_str())))
            .collect();
        let mut edges: BTreeMap<(&str, &str), Vec<String>> = BTreeMap::new();
        for service in model.services.values() {
            for reference in &service.consumes {
                edges
                    .entry((service.name.as_str(), reference.service.as_str()))
                    .or_default()
                    .push(reference.scope.clone());
            }
        }
        for &(consumer, provider) in edges.keys() {
            if consumer != provider {
                graph.add_edge(nodes[consumer], nodes[provider], ());
            }
        }
        let waves = waves(&graph);
        Self {
            format_version: "1",
            services: model
                .services
                .values()
                .map(|service| GraphService {
                    name: service.name.clone(),
                    external: service.external,
                })
                .collect(),
            edges: edges
                .into_iter()
                .map(|((consumer, provider), mut scopes)| {
                    scopes.sort();
                    Edge {
                        consumer: consumer.to_owned(),
                        provider: provider.to_owned(),
                        scopes,
                    }
                })
                .collect(),
            waves,
        }
    }

    fn is_external(&self, name: &str) -> bool {
        self.services
            .iter()
            .any(|service| service.name == name && service.external)
    }

    pub fn render_text(&self) -> String {
        let mut out = String::new();
        for wave in &self.waves {
            let names: Vec<String> = wave
                .services
                .iter()
                .map(|name| {
                    if self.is_external(name) {
                        format!("{name} (external)")
                    } else {
                        name.clone()
                    }
                })
                .collect();
            let _ = writeln!(out, "wave {}: {}", wave.wave, names.join(", "));
            for cycle in &wave.cycles {
                let _ = writeln!(
                    out,
                    "  cycle: {} consume each other; deploy them together",
                    cycle.join(", ")
                );
            }
        }
        if self.waves.is_empty() {
            out.push_str("no services\n");
        }
        out
    }

    pub fn render_dot(&self) -> String {
        let mut out = String::from("digraph cogwire {\n  rankdir=LR;\n  node [shape=box];\n");
        for service in &self.services {
            let style = if service.external {
                " [style=dashed]"
            } else {
                ""
            };
            let _ = writeln!(out, "  {}{style};", dot_quote(&service.name));
        }
        for edge in &self.edges {
            let _ = writeln!(
                out,
                "  {} -> {} [label={}];",
                dot_quote(&edge.consumer),
                dot_quote(&edge.provider),
                dot_quote(&edge.scopes.join(", "))
            );
        }
        out.push_str("}\n");
        out
    }

    pub fn render_mermaid(&self) -> String {
        let mut out = String::from("flowchart LR\n");
        let ids: BTreeMap<&str, String> = self
            .services
            .iter()
            .enumerate()
            .map(|(index, service)| (service.name.as_str(), format!("s{index}")))
            .collect();
        for service in &self.services {
            let (open, close) = if service.external {
                ("[/", "/]")
            } else {
                ("[", "]")
            };
            let _ = writeln!(
                out,
                "  {}{open}\"{}\"{close}",
                ids[service.name.as_str()],
                mermaid_text(&service.name)
            );
        }
        for edge in &self.edges {
            let _ = writeln!(
                out,
                "  {} -->|\"{}\"| {}",
                ids[edge.consumer.as_str()],
                mermaid_text(&edge.scopes.join(", ")),
                ids[edge.provider.as_str()]
            );
        }
        out
    }
}

/// Longest-path layering of the condensed graph: a component's wave is one more than the highest
/// wave of any component it consumes from.
fn waves(graph: &DiGraph<&str, ()>) -> Vec<Wave> {
    let condensed = condensation(graph.clone(), true);
    // Edges run consumer -> provider, so a topological order lists consumers before providers;
    // walking it backwards settles every provider before its consumers.
    let order = toposort(&condensed, None).unwrap_or_else(|_| condensed.node_indices().collect());
    let mut level = vec![0_usize; condensed.node_count()];
    for &component in order.iter().rev() {
        let deepest = condensed
            .neighbors(component)
            .map(|provider| level[provider.index()] + 1)
            .max()
            .unwrap_or(1);
        level[component.index()] = deepest.max(1);
    }
    let mut by_wave: BTreeMap<usize, (BTreeSet<String>, Vec<Vec<String>>)> = BTreeMap::new();
    for component in condensed.node_indices() {
        let members = &condensed[component];
        let entry = by_wave.entry(level[component.index()]).or_default();
        entry
            .0
            .extend(members.iter().map(|name| (*name).to_owned()));
        if members.len() > 1 {
            let mut cycle: Vec<String> = members.iter().map(|name| (*name).to_owned()).collect();
            cycle.sort();
            entry.1.push(cycle);
        }
    }
    by_wave
        .into_iter()
        .map(|(wave, (services, mut cycles))| {
            cycles.sort();
            Wave {
                wave,
                services: services.into_iter().collect(),
                cycles,
            }
        })
        .collect()
}

fn dot_quote(text: &str) -> String {
    let mut quoted = String::from("\"");
    for character in text.chars() {
        match character {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            _ => quoted.push(character),
        }
    }
    quoted.push('"');
    quoted
}

fn mermaid_text(text: &str) -> String {
    text.replace('"', "#quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::load;

    fn graph(text: &str) -> ServiceGraph {
        ServiceGraph::build(&load(text, None).expect("valid"))
    }

    const CHAIN: &str = r#"
[services.a]
scopes = { "a.read" = "A" }
[services.b]
scopes = { "b.read" = "B" }
consumes = ["a/a.read"]
[services.c]
consumes = ["b/b.read", "a/a.read"]
[services.lonely]
scopes = { "l.read" = "L" }
[services.legacy]
external = true
scopes = { "x" = "" }
"#;

    #[test]
    fn providers_come_first() {
        let graph = graph(CHAIN);
        let waves: Vec<_> = graph
            .waves
            .iter()
            .map(|wave| (wave.wave, wave.services.clone()))
            .collect();
        assert_eq!(
            waves,
            vec![
                (
                    1,
                    vec!["a".to_owned(), "legacy".to_owned(), "lonely".to_owned()]
                ),
                (2, vec!["b".to_owned()]),
                (3, vec!["c".to_owned()]),
            ]
        );
        assert!(graph.render_text().contains("legacy (external)"));
    }

    #[test]
    fn services_that_consume_each_other_share_a_wave_as_a_cycle() {
        let text = r#"
[services.base]
scopes = { "r" = "R" }
[services.x]
scopes = { "x" = "X" }
consumes = ["y/y", "base/r"]
[services.y]
scopes = { "y" = "Y" }
consumes = ["x/x"]
[services.top]
consumes = ["y/y"]
"#;
        let graph = graph(text);
        assert_eq!(graph.waves.len(), 3);
        assert_eq!(
            graph.waves[1].services,
            vec!["x".to_owned(), "y".to_owned()]
        );
        assert_eq!(
            graph.waves[1].cycles,
            vec![vec!["x".to_owned(), "y".to_owned()]]
        );
        assert_eq!(graph.waves[2].services, vec!["top".to_owned()]);
        assert!(graph.render_text().contains("cycle: x, y"));
    }

    #[test]
    fn a_service_consuming_its_own_scope_is_not_a_cycle() {
        let graph = graph("[services.s]\nscopes = { \"r\" = \"R\" }\nconsumes = [\"s/r\"]\n");
        assert_eq!(graph.waves.len(), 1);
        assert!(graph.waves[0].cycles.is_empty());
    }

    #[test]
    fn dot_and_mermaid_name_every_edge() {
        let graph = graph(CHAIN);
        let dot = graph.render_dot();
        assert!(dot.contains("\"c\" -> \"a\" [label=\"a.read\"];"), "{dot}");
        assert!(dot.contains("\"legacy\" [style=dashed];"), "{dot}");
        let mermaid = graph.render_mermaid();
        assert_eq!(mermaid.matches("-->").count(), 3, "{mermaid}");
    }
}
