//! From a plan to a graph of steps. Pure.
//!
//! Creates and updates follow the stack's dependency graph; deletes run in the
//! reverse of the dependencies recorded in state; a replacement deletes, then
//! creates; security group rules are revoked before any group they reference is
//! deleted.

use std::collections::HashMap;

use crate::plan::{Action, Plan};
use crate::stack::graph::{Graph, Part};
use crate::types::state::State;
use crate::types::{Address, Operation};

/// What a step does: one operation, or the rest of a wait an earlier apply
/// left (AWS accepted the operation; the run stopped before it finished).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Work {
    Run(Operation),
    Resume,
}

use Operation::{Create, Delete, DeleteDeposed, DeleteRules, Update, UpdateRules};
use Work::{Resume, Run};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub address: Address,
    pub work: Work,
}

impl Step {
    pub fn doing(&self) -> &'static str {
        match self.work {
            Run(op) => op.doing(),
            Resume => "waiting for AWS to finish",
        }
    }

    pub fn done(&self) -> &'static str {
        match self.work {
            Run(op) => op.done(),
            Resume => "ready",
        }
    }

    pub fn label(&self) -> String {
        match self.work {
            Run(DeleteRules | UpdateRules) => format!("{} ({})", self.address, self.doing()),
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
    let (steps, index) = steps_of(plan, state);
    let deps = dependencies(plan, graph, state, &steps, &index);
    (steps, deps)
}

/// The steps of each change, once each, and where each is.
fn steps_of(plan: &Plan, state: &State) -> (Vec<Step>, HashMap<(Address, Work), usize>) {
    let mut steps = Vec::new();
    let mut index: HashMap<(Address, Work), usize> = HashMap::new();
    // A step is added once: one DeleteDeposed deletes every object
    // replacements of an address left.
    let mut add = |steps: &mut Vec<Step>, a: &Address, work: Work| {
        if index.contains_key(&(a.clone(), work)) {
            return;
        }
        index.insert((a.clone(), work), steps.len());
        steps.push(Step { address: a.clone(), work });
    };
    for change in &plan.changes {
        let a = &change.address;
        let deferred = crate::types::schema(&a.ty).is_some_and(|s| s.has_deferred());
        let is_deferred = |name: &String| {
            crate::types::schema(&a.ty).and_then(|s| s.attr(name)).is_some_and(|x| x.deferred)
        };
        if change.deposed {
            add(&mut steps, a, Run(DeleteDeposed));
            continue;
        }
        if change.pending.is_some() {
            add(&mut steps, a, Resume);
        }
        match change.action {
            Action::NoOp => {}
            Action::CreateThenDelete => {
                add(&mut steps, a, Run(Create));
                if deferred {
                    add(&mut steps, a, Run(UpdateRules));
                }
                add(&mut steps, a, Run(DeleteDeposed));
            }
            Action::Create => {
                add(&mut steps, a, Run(Create));
                if deferred {
                    add(&mut steps, a, Run(UpdateRules));
                }
            }
            Action::Update => {
                if change.changed.iter().any(|c| !is_deferred(c)) {
                    add(&mut steps, a, Run(Update));
                }
                if change.changed.iter().any(is_deferred) {
                    add(&mut steps, a, Run(UpdateRules));
                }
            }
            Action::DeleteThenCreate | Action::Delete => {
                // Its rules go first only when they name another resource
                // (a group that may go too and that AWS will not delete while
                // a rule names it); the delete takes its other rules with it.
                let names_others =
                    state.resources.get(a).is_some_and(|r| !r.rule_dependencies.is_empty());
                if deferred && names_others {
                    add(&mut steps, a, Run(DeleteRules));
                }
                add(&mut steps, a, Run(Delete));
                if change.action == Action::DeleteThenCreate {
                    add(&mut steps, a, Run(Create));
                    if deferred {
                        add(&mut steps, a, Run(UpdateRules));
                    }
                }
            }
        }
    }
    (steps, index)
}

/// What each step waits for: its own resource's earlier steps, what it
/// references (the stack graph) for creates and updates, what depended on
/// it (the state's record) for deletes.
fn dependencies(
    plan: &Plan,
    graph: Option<&Graph>,
    state: &State,
    steps: &[Step],
    index: &HashMap<(Address, Work), usize>,
) -> Vec<Vec<usize>> {
    let mut deps: Vec<Vec<usize>> = vec![Vec::new(); steps.len()];
    let get = |a: &Address, work: Work| index.get(&(a.clone(), work)).copied();
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
        get(a, Run(Create)).or_else(|| get(a, Run(Update))).or_else(|| get(a, Resume))
    };
    for (i, step) in steps.iter().enumerate() {
        let a = &step.address;
        if step.work != Resume {
            edge(&mut deps, get(a, Resume), Some(i));
        }
        match step.work {
            Run(DeleteRules) | Resume => {}
            Run(Delete) => {
                edge(&mut deps, get(a, Run(DeleteRules)), Some(i));
                // The objects it replaced go first: its state entry holds them.
                edge(&mut deps, get(a, Run(DeleteDeposed)), Some(i));
                // What depended on it goes first.
                for (other, r) in &state.resources {
                    if r.dependencies.contains(a) {
                        edge(&mut deps, get(other, Run(Delete)), Some(i));
                        if plan.change(a).is_some_and(|c| c.action == Action::Delete) {
                            edge(&mut deps, main_step(other), Some(i));
                        }
                    }
                    if r.rule_dependencies.contains(a) {
                        edge(&mut deps, get(other, Run(DeleteRules)), Some(i));
                        if plan.change(a).is_some_and(|c| c.action == Action::Delete) {
                            edge(&mut deps, get(other, Run(UpdateRules)), Some(i));
                        }
                    }
                }
            }
            Run(DeleteDeposed) => {
                edge(&mut deps, get(a, Run(Create)), Some(i));
                edge(&mut deps, get(a, Run(UpdateRules)), Some(i));
                // Whatever used the old object moves to the new one, or goes, first.
                for (j, other) in steps.iter().enumerate() {
                    let uses = graph.is_some_and(|g| {
                        [Part::Main, Part::Deferred].iter().any(|p| {
                            g.dependencies(&(other.address.clone(), *p)).iter().any(|(d, _)| d == a)
                        })
                    });
                    let used = state.resources.get(&other.address).is_some_and(|r| {
                        r.dependencies.contains(a) || r.rule_dependencies.contains(a)
                    });
                    let moves =
                        matches!(other.work, Run(Create) | Run(Update) | Run(UpdateRules)) && uses;
                    let goes = matches!(other.work, Run(Delete) | Run(DeleteRules)) && used;
                    if other.address != *a && (moves || goes) {
                        edge(&mut deps, Some(j), Some(i));
                    }
                }
            }
            Run(Create) | Run(Update) | Run(UpdateRules) => {
                edge(&mut deps, get(a, Run(Delete)), Some(i));
                let part = if step.work == Run(UpdateRules) {
                    edge(&mut deps, main_step(a), Some(i));
                    Part::Deferred
                } else {
                    Part::Main
                };
                // Wait for the steps that apply what this part references.
                for (d, dpart) in
                    graph.map(|g| g.dependencies(&(a.clone(), part))).unwrap_or_default()
                {
                    let from = match dpart {
                        Part::Main => main_step(&d),
                        Part::Deferred => get(&d, Run(UpdateRules)),
                    };
                    edge(&mut deps, from, Some(i));
                }
            }
        }
    }
    order_exclusive_moves(plan, steps, &mut deps, main_step);
    deps
}

/// A member of an `exclusive` set (a subnet of a route table) that a plan moves
/// from one resource to another: the step that gives it up waits for the one
/// that takes it over, so that it is never held by neither. An edge that
/// would close a cycle (two tables swapping subnets) is left out.
fn order_exclusive_moves(
    plan: &Plan,
    steps: &[Step],
    deps: &mut [Vec<usize>],
    main_step: impl Fn(&Address) -> Option<usize>,
) {
    let members = |attrs: &Option<serde_json::Map<String, serde_json::Value>>, name: &str| {
        attrs
            .as_ref()
            .and_then(|a| a.get(name))
            .and_then(serde_json::Value::as_array)
            .map(|v| {
                v.iter().filter_map(|x| x.as_str()).map(str::to_string).collect::<Vec<String>>()
            })
            .unwrap_or_default()
    };
    for (giver_step, step) in steps.iter().enumerate() {
        if !matches!(step.work, Run(Update) | Run(Delete)) {
            continue;
        }
        let Some(giver) = plan.change(&step.address) else {
            continue;
        };
        let Some(schema) = crate::types::schema(&giver.address.ty) else {
            continue;
        };
        for name in schema.exclusive {
            let kept = members(&giver.after, name);
            let given: Vec<String> =
                members(&giver.before, name).into_iter().filter(|m| !kept.contains(m)).collect();
            for taker in plan
                .changes
                .iter()
                .filter(|c| c.address.ty == giver.address.ty && c.address != giver.address)
            {
                let takes = members(&taker.after, name);
                if !given.iter().any(|m| takes.contains(m)) {
                    continue;
                }
                if let Some(t) = main_step(&taker.address)
                    && !deps[giver_step].contains(&t)
                    && !waits_for(deps, t, giver_step)
                {
                    deps[giver_step].push(t);
                }
            }
        }
    }
}

/// Whether step `from` waits, directly or not, for step `to`.
fn waits_for(deps: &[Vec<usize>], from: usize, to: usize) -> bool {
    let mut seen = vec![false; deps.len()];
    let mut stack = vec![from];
    while let Some(i) = stack.pop() {
        if i == to {
            return true;
        }
        if !std::mem::replace(&mut seen[i], true) {
            stack.extend(deps[i].iter().copied());
        }
    }
    false
}
