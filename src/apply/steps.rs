//! From a plan to a graph of steps. Pure.
//!
//! Creates and updates follow the stack's dependency graph; deletes run in the
//! reverse of the dependencies recorded in state; a replacement deletes, then
//! creates; security group rules are revoked before any group they reference is
//! deleted.

use std::collections::HashMap;

use crate::aws::registry;
use crate::graph::{Graph, Part};
use crate::plan::{Action, Plan};
use crate::stack::Address;
use crate::state::State;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    DeleteDeferred,
    Delete,
    Create,
    Update,
    ApplyDeferred,
    /// Deletes the old object of a create-before-destroy replacement.
    DeleteDeposed,
    /// Finishes waiting for what an interrupted apply had started.
    Wait,
}

impl Op {
    pub fn doing(self) -> &'static str {
        match self {
            Op::DeleteDeferred => "revoking rules",
            Op::Delete => "destroying",
            Op::Create => "creating",
            Op::Update => "updating",
            Op::ApplyDeferred => "applying rules",
            Op::DeleteDeposed => "destroying the replaced object",
            Op::Wait => "waiting for AWS to finish",
        }
    }

    pub fn done(self) -> &'static str {
        match self {
            Op::DeleteDeferred => "rules revoked",
            Op::Delete => "destroyed",
            Op::Create => "created",
            Op::Update => "updated",
            Op::ApplyDeferred => "rules applied",
            Op::DeleteDeposed => "replaced object destroyed",
            Op::Wait => "ready",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub address: Address,
    pub op: Op,
}

impl Step {
    pub fn label(&self) -> String {
        match self.op {
            Op::DeleteDeferred | Op::ApplyDeferred => {
                format!("{} ({})", self.address, self.op.doing())
            }
            _ => self.address.to_string(),
        }
    }
}

/// The steps and, for each, the indices of the steps it waits for.
pub fn build_steps(
    plan: &Plan,
    graph: Option<&Graph>,
    state: &State,
) -> (Vec<Step>, Vec<Vec<usize>>) {
    let mut steps = Vec::new();
    let mut index: HashMap<(Address, Op), usize> = HashMap::new();
    let mut add = |steps: &mut Vec<Step>, a: &Address, op: Op| {
        index.insert((a.clone(), op), steps.len());
        steps.push(Step {
            address: a.clone(),
            op,
        });
    };
    for change in &plan.changes {
        let a = &change.address;
        let deferred = registry::schema(&a.ty).is_some_and(|s| s.has_deferred());
        let is_deferred = |name: &String| {
            registry::schema(&a.ty)
                .and_then(|s| s.attr(name))
                .is_some_and(|x| x.deferred)
        };
        if change.deposed {
            add(&mut steps, a, Op::DeleteDeposed);
            continue;
        }
        if change.pending.is_some() {
            add(&mut steps, a, Op::Wait);
        }
        match change.action {
            Action::NoOp => {}
            Action::Replace if change.create_before_destroy => {
                add(&mut steps, a, Op::Create);
                if deferred {
                    add(&mut steps, a, Op::ApplyDeferred);
                }
                add(&mut steps, a, Op::DeleteDeposed);
            }
            Action::Create => {
                add(&mut steps, a, Op::Create);
                if deferred {
                    add(&mut steps, a, Op::ApplyDeferred);
                }
            }
            Action::Update => {
                if change.changed.iter().any(|c| !is_deferred(c)) {
                    add(&mut steps, a, Op::Update);
                }
                if change.changed.iter().any(is_deferred) {
                    add(&mut steps, a, Op::ApplyDeferred);
                }
            }
            Action::Replace | Action::Delete => {
                if deferred {
                    add(&mut steps, a, Op::DeleteDeferred);
                }
                add(&mut steps, a, Op::Delete);
                if change.action == Action::Replace {
                    add(&mut steps, a, Op::Create);
                    if deferred {
                        add(&mut steps, a, Op::ApplyDeferred);
                    }
                }
            }
        }
    }
    let mut deps: Vec<Vec<usize>> = vec![Vec::new(); steps.len()];
    let get = |a: &Address, op: Op| index.get(&(a.clone(), op)).copied();
    let edge = |deps: &mut Vec<Vec<usize>>, from: Option<usize>, to: Option<usize>| {
        if let (Some(f), Some(t)) = (from, to)
            && f != t
            && !deps[t].contains(&f)
        {
            deps[t].push(f);
        }
    };
    // The one part that finishes a resource's main part when it is applied.
    let main_step = |a: &Address| {
        get(a, Op::Create)
            .or_else(|| get(a, Op::Update))
            .or_else(|| get(a, Op::Wait))
    };
    for (i, step) in steps.iter().enumerate() {
        let a = &step.address;
        if step.op != Op::Wait {
            edge(&mut deps, get(a, Op::Wait), Some(i));
        }
        match step.op {
            Op::DeleteDeferred | Op::Wait => {}
            Op::Delete => {
                edge(&mut deps, get(a, Op::DeleteDeferred), Some(i));
                // What depended on it goes first.
                for (other, r) in &state.resources {
                    if r.dependencies.contains(a) {
                        edge(&mut deps, get(other, Op::Delete), Some(i));
                        if plan.change(a).is_some_and(|c| c.action == Action::Delete) {
                            edge(&mut deps, main_step(other), Some(i));
                        }
                    }
                    if r.rule_dependencies.contains(a) {
                        edge(&mut deps, get(other, Op::DeleteDeferred), Some(i));
                        if plan.change(a).is_some_and(|c| c.action == Action::Delete) {
                            edge(&mut deps, get(other, Op::ApplyDeferred), Some(i));
                        }
                    }
                }
            }
            Op::DeleteDeposed => {
                edge(&mut deps, get(a, Op::Create), Some(i));
                edge(&mut deps, get(a, Op::ApplyDeferred), Some(i));
                // Whatever used the old object moves to the new one, or goes, first.
                for (j, other) in steps.iter().enumerate() {
                    let uses = graph.is_some_and(|g| {
                        [Part::Main, Part::Deferred].iter().any(|p| {
                            g.dependencies(&(other.address.clone(), *p))
                                .iter()
                                .any(|(d, _)| d == a)
                        })
                    });
                    let used = state.resources.get(&other.address).is_some_and(|r| {
                        r.dependencies.contains(a) || r.rule_dependencies.contains(a)
                    });
                    let moves =
                        matches!(other.op, Op::Create | Op::Update | Op::ApplyDeferred) && uses;
                    let goes = matches!(other.op, Op::Delete | Op::DeleteDeferred) && used;
                    if other.address != *a && (moves || goes) {
                        edge(&mut deps, Some(j), Some(i));
                    }
                }
            }
            Op::Create | Op::Update | Op::ApplyDeferred => {
                edge(&mut deps, get(a, Op::Delete), Some(i));
                let part = if step.op == Op::ApplyDeferred {
                    edge(&mut deps, main_step(a), Some(i));
                    Part::Deferred
                } else {
                    Part::Main
                };
                // Wait for the steps that apply what this part references.
                for (d, dpart) in graph
                    .map(|g| g.dependencies(&(a.clone(), part)))
                    .unwrap_or_default()
                {
                    let from = match dpart {
                        Part::Main => main_step(&d),
                        Part::Deferred => get(&d, Op::ApplyDeferred),
                    };
                    edge(&mut deps, from, Some(i));
                }
            }
        }
    }
    (steps, deps)
}
