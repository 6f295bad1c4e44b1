//! Mermaid flowcharts: the plan's picture in a pull request (GitHub draws a
//! `mermaid` block), and `infra graph --format mermaid`. Pure.
//!
//! A chart is drawn left to right, each edge from what is depended on to
//! what depends on it, one line a node with its edges out. Past `cap` nodes
//! the resources of each module are drawn as one node (`module.network: 14
//! to add`); past it still, the rest are one node, `and N more`.

use std::collections::BTreeMap;
use std::fmt::Write;

/// What happens to a node, which gives its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    /// The whole graph (`infra graph`): nothing happens.
    Plain,
    Create,
    Update,
    Replace,
    Delete,
}

impl Class {
    fn name(self) -> &'static str {
        match self {
            Class::Plain => "plain",
            Class::Create => "create",
            Class::Update => "update",
            Class::Replace => "replace",
            Class::Delete => "delete",
        }
    }

    /// What a collapsed node of many says: `3 to add`.
    fn count(self, n: usize) -> String {
        match self {
            Class::Plain => format!("{n}"),
            Class::Create => format!("{n} to add"),
            Class::Update => format!("{n} to change"),
            Class::Replace => format!("{n} to replace"),
            Class::Delete => format!("{n} to destroy"),
        }
    }

    /// Its colours, as GitHub's own diff colours.
    fn style(self) -> &'static str {
        match self {
            Class::Plain => "fill:#f6f8fa,stroke:#57606a,color:#1f2328",
            Class::Create => "fill:#dafbe1,stroke:#1a7f37,color:#1f2328",
            Class::Update => "fill:#fff8c5,stroke:#9a6700,color:#1f2328",
            Class::Replace => "fill:#fbefff,stroke:#8250df,color:#1f2328",
            Class::Delete => "fill:#ffebe9,stroke:#cf222e,color:#1f2328",
        }
    }
}

/// A node to draw: its label, the module it sits in (`module.network`, ""
/// at the top), and what happens to it.
pub struct Node {
    pub label: String,
    pub module: String,
    pub class: Class,
}

/// The flowchart of `nodes` and `edges` (indexes into `nodes`, from what is
/// depended on to what depends on it), at most `cap` nodes drawn.
pub fn flowchart(nodes: &[Node], edges: &[(usize, usize)], cap: usize) -> String {
    // Each node drawn: (label, class), and which one every node is drawn as.
    let mut drawn: Vec<(String, Class)> = Vec::new();
    let mut as_drawn: Vec<usize> = Vec::with_capacity(nodes.len());
    if nodes.len() <= cap {
        for n in nodes {
            as_drawn.push(drawn.len());
            drawn.push((n.label.clone(), n.class));
        }
    } else {
        // A module's resources as one node; those at the top as themselves.
        let mut modules: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, n) in nodes.iter().enumerate().filter(|(_, n)| !n.module.is_empty()) {
            modules.entry(n.module.as_str()).or_default().push(i);
        }
        as_drawn = vec![0; nodes.len()];
        for (i, n) in nodes.iter().enumerate().filter(|(_, n)| n.module.is_empty()) {
            as_drawn[i] = drawn.len();
            drawn.push((n.label.clone(), n.class));
        }
        for (module, members) in modules {
            let mut by_class: BTreeMap<Class, usize> = BTreeMap::new();
            for &i in &members {
                *by_class.entry(nodes[i].class).or_default() += 1;
                as_drawn[i] = drawn.len();
            }
            let counts: Vec<String> = by_class.iter().rev().map(|(c, n)| c.count(*n)).collect();
            let class = by_class.keys().next_back().copied().unwrap_or(Class::Plain);
            drawn.push((format!("{module}: {}", counts.join(", ")), class));
        }
        // Still too many: the rest as one.
        if drawn.len() > cap {
            let keep = cap.saturating_sub(1);
            let rest = drawn.len() - keep;
            let class = drawn[keep..].iter().map(|d| d.1).max().unwrap_or(Class::Plain);
            drawn.truncate(keep);
            drawn.push((format!("and {rest} more"), class));
            for d in &mut as_drawn {
                *d = (*d).min(keep);
            }
        }
    }
    let mut out_edges: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for &(a, b) in edges {
        let (Some(&a), Some(&b)) = (as_drawn.get(a), as_drawn.get(b)) else { continue };
        let to = out_edges.entry(a).or_default();
        if a != b && !to.contains(&b) {
            to.push(b);
        }
    }
    let mut out = String::from("flowchart LR\n");
    for (i, (label, class)) in drawn.iter().enumerate() {
        let class = match class {
            Class::Plain => String::new(),
            c => format!(":::{}", c.name()),
        };
        let _ = write!(out, "  n{i}[\"{}\"]{class}", text(label));
        if let Some(to) = out_edges.get(&i).filter(|t| !t.is_empty()) {
            let to: Vec<String> = to.iter().map(|j| format!("n{j}")).collect();
            let _ = write!(out, " --> {}", to.join(" & "));
        }
        out.push('\n');
    }
    let mut used: Vec<Class> = drawn.iter().map(|d| d.1).filter(|c| *c != Class::Plain).collect();
    used.sort();
    used.dedup();
    for c in used {
        let _ = writeln!(out, "  classDef {} {}", c.name(), c.style());
    }
    out
}

/// The whole dependency graph of a stack (`infra graph --format mermaid`):
/// every resource, uncoloured, every edge.
pub fn of_graph(graph: &crate::stack::graph::Graph) -> String {
    let mut addresses: Vec<&crate::types::Address> =
        graph.graph.node_weights().map(|n| &n.0).collect();
    addresses.sort();
    addresses.dedup();
    let nodes: Vec<Node> = addresses
        .iter()
        .map(|a| Node {
            label: a.to_string(),
            module: crate::types::address::path_text(&a.module),
            class: Class::Plain,
        })
        .collect();
    let at = |a: &crate::types::Address| addresses.binary_search(&a).ok();
    let edges: Vec<(usize, usize)> =
        graph.edges().iter().filter_map(|(a, b)| Some((at(a)?, at(b)?))).collect();
    flowchart(&nodes, &edges, usize::MAX)
}

/// A label as Mermaid reads it between quotes: a quote as `#quot;`.
fn text(label: &str) -> String {
    label.replace('"', "#quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(label: &str, module: &str, class: Class) -> Node {
        Node { label: label.into(), module: module.into(), class }
    }

    #[test]
    fn each_node_is_a_line_with_its_edges_and_its_colour() {
        let nodes = [
            node("vpc.main", "", Class::Create),
            node("subnet.a[\"x\"]", "", Class::Create),
            node("subnet.b", "", Class::Update),
        ];
        let chart = flowchart(&nodes, &[(0, 1), (0, 2)], 30);
        assert_eq!(
            chart,
            "flowchart LR\n  n0[\"vpc.main\"]:::create --> n1 & n2\n  n1[\"subnet.a[#quot;x#quot;]\"]:::create\n  n2[\"subnet.b\"]:::update\n  classDef create fill:#dafbe1,stroke:#1a7f37,color:#1f2328\n  classDef update fill:#fff8c5,stroke:#9a6700,color:#1f2328\n"
        );
    }

    #[test]
    fn a_big_chart_draws_modules_as_one_and_the_rest_as_and_n_more() {
        let mut nodes = vec![node("iam_role.a", "", Class::Create)];
        for i in 0..10 {
            nodes.push(node(&format!("module.net.subnet.s{i}"), "module.net", Class::Create));
        }
        nodes.push(node("module.net.vpc.main", "module.net", Class::Delete));
        let edges: Vec<(usize, usize)> = (1..=10).map(|i| (11, i)).chain([(11, 0)]).collect();
        let chart = flowchart(&nodes, &edges, 5);
        assert!(
            chart.contains("n1[\"module.net: 1 to destroy, 10 to add\"]:::delete --> n0"),
            "{chart}"
        );
        assert_eq!(chart.lines().filter(|l| l.contains("[\"")).count(), 2, "{chart}");
        let many: Vec<Node> =
            (0..8).map(|i| node(&format!("s3_bucket.b{i}"), "", Class::Create)).collect();
        let chart = flowchart(&many, &[(0, 7)], 5);
        assert!(chart.contains("n4[\"and 4 more\"]:::create"), "{chart}");
        assert!(chart.contains("n0[\"s3_bucket.b0\"]:::create --> n4"), "{chart}");
        assert_eq!(chart.lines().filter(|l| l.contains("[\"")).count(), 5, "{chart}");
    }
}
