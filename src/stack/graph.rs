//! The dependency graph of a stack (petgraph). Pure.
//!
//! A resource is one node, except a type with deferred attributes (security group
//! rules), which is two: the resource itself and its rules. References from rules
//! point at the other group's node, not at its rules, so two groups whose rules
//! reference each other form no cycle.

use std::collections::{BTreeSet, HashMap};

use petgraph::algo::{tarjan_scc, toposort};
use petgraph::graph::{DiGraph, NodeIndex};

use crate::stack::Stack;
use crate::types::Address;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Part {
    /// The resource itself.
    Main,
    /// Its deferred attributes (security group rules).
    Deferred,
}

pub type Node = (Address, Part);

/// Edges run from a dependency to what depends on it.
pub struct Graph {
    pub graph: DiGraph<Node, ()>,
    index: HashMap<Node, NodeIndex>,
}

impl Graph {
    pub fn build(stack: &Stack) -> Graph {
        let mut g = Graph { graph: DiGraph::new(), index: HashMap::new() };
        for r in stack.resources.values() {
            g.add((r.address.clone(), Part::Main));
            if r.schema.has_deferred() {
                g.add((r.address.clone(), Part::Deferred));
            }
        }
        for r in stack.resources.values() {
            let main = (r.address.clone(), Part::Main);
            for dep in r.main_references() {
                g.edge(&(dep, Part::Main), &main);
            }
            for dep in &r.depends_on {
                let last = g.last_part(dep);
                g.edge(&last, &main);
            }
            if r.schema.has_deferred() {
                let deferred = (r.address.clone(), Part::Deferred);
                g.edge(&main, &deferred);
                for dep in r.deferred_references() {
                    g.edge(&(dep, Part::Main), &deferred);
                }
            }
        }
        g
    }

    fn add(&mut self, node: Node) {
        let i = self.graph.add_node(node.clone());
        self.index.insert(node, i);
    }

    fn edge(&mut self, from: &Node, to: &Node) {
        if let (Some(&a), Some(&b)) = (self.index.get(from), self.index.get(to)) {
            self.graph.update_edge(a, b, ());
        }
    }

    /// The node that finishes a resource: its rules if it has any.
    pub fn last_part(&self, address: &Address) -> Node {
        let deferred = (address.clone(), Part::Deferred);
        if self.index.contains_key(&deferred) { deferred } else { (address.clone(), Part::Main) }
    }

    pub fn contains(&self, node: &Node) -> bool {
        self.index.contains_key(node)
    }

    /// The nodes a node waits for.
    pub fn dependencies(&self, node: &Node) -> Vec<Node> {
        let Some(&i) = self.index.get(node) else {
            return Vec::new();
        };
        self.graph
            .neighbors_directed(i, petgraph::Direction::Incoming)
            .map(|j| self.graph[j].clone())
            .collect()
    }

    /// The edges between resources (a resource's two parts are one), each
    /// from what is depended on to what depends on it, sorted.
    pub fn edges(&self) -> Vec<(Address, Address)> {
        let mut out: BTreeSet<(Address, Address)> = BTreeSet::new();
        for e in self.graph.edge_indices() {
            if let Some((a, b)) = self.graph.edge_endpoints(e) {
                let (a, b) = (&self.graph[a].0, &self.graph[b].0);
                if a != b {
                    out.insert((a.clone(), b.clone()));
                }
            }
        }
        out.into_iter().collect()
    }

    /// Addresses in creation order: every resource after what it references.
    pub fn creation_order(&self) -> Vec<Address> {
        let order = toposort(&self.graph, None).unwrap_or_default();
        let mut seen = BTreeSet::new();
        order
            .into_iter()
            .map(|i| self.graph[i].0.clone())
            .filter(|a| seen.insert(a.clone()))
            .collect()
    }

    /// The graph in Graphviz DOT.
    pub fn to_dot(&self) -> String {
        // A DOT id in quotes: an instance's key has quotes of its own.
        let label = |n: &Node| {
            let text = match n.1 {
                Part::Main => n.0.to_string(),
                Part::Deferred => format!("{} (rules)", n.0),
            };
            text.replace('\\', "\\\\").replace('"', "\\\"")
        };
        let mut nodes: Vec<&Node> = self.graph.node_weights().collect();
        nodes.sort();
        let mut edges: Vec<(String, String)> = self
            .graph
            .edge_indices()
            .filter_map(|e| self.graph.edge_endpoints(e))
            .map(|(a, b)| (label(&self.graph[a]), label(&self.graph[b])))
            .collect();
        edges.sort();
        let mut out = String::from("digraph infra {\n  rankdir = \"LR\";\n");
        for n in nodes {
            out.push_str(&format!("  \"{}\";\n", label(n)));
        }
        for (a, b) in edges {
            out.push_str(&format!("  \"{a}\" -> \"{b}\";\n"));
        }
        out.push_str("}\n");
        out
    }
}

/// Every dependency cycle, each as the addresses on it.
pub fn cycles(stack: &Stack) -> Vec<Vec<Address>> {
    let g = Graph::build(stack);
    let mut out = Vec::new();
    for scc in tarjan_scc(&g.graph) {
        let self_loop = scc.len() == 1 && g.graph.contains_edge(scc[0], scc[0]);
        if scc.len() > 1 || self_loop {
            let members: BTreeSet<Address> = scc.iter().map(|&i| g.graph[i].0.clone()).collect();
            out.push(members.into_iter().collect());
        }
    }
    out.sort();
    out
}
