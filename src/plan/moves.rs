//! `moved:` against state: which records move, and the moves a plan
//! cannot make (the target is in state already). A move whose `from` state
//! does not hold is done already, or was never made: nothing to do (as in
//! Terraform). Pure.

use serde::{Deserialize, Serialize};

use crate::stack::diag::Diagnostics;
use crate::stack::{ModuleMoved, Moved};
use crate::types::Address;
use crate::types::address::moved_path;
use crate::types::state::State;

/// One record that moves: the plan shows it, apply rewrites state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Move {
    pub from: Address,
    pub to: Address,
}

/// The records of `state` the stack's moves take to their new addresses;
/// a located error for each move whose target state holds already.
pub fn resolve(
    moved: &[Moved],
    modules: &[ModuleMoved],
    state: &State,
    d: &mut Diagnostics,
) -> Vec<Move> {
    // Each record that moves, with where its move is written.
    let mut wanted: Vec<(Move, crate::stack::diag::Loc)> = Vec::new();
    for m in modules {
        for from in state.resources.keys() {
            if let Some(path) = moved_path(&from.module, &m.from, &m.to) {
                let to = Address { module: path, ..from.clone() };
                wanted.push((Move { from: from.clone(), to }, m.loc));
            }
        }
    }
    for m in moved {
        // A resource to a resource moves every instance, each keeping its
        // key; to one instance, the one record of a resource written once.
        let whole = m.from.key.is_none() && m.to.key.is_none();
        let records = state
            .resources
            .keys()
            .filter(|a| **a == m.from || (whole && a.key.is_some() && a.base() == m.from));
        for from in records {
            let to = match whole {
                true => Address { key: from.key.clone(), ..m.to.clone() },
                false => m.to.clone(),
            };
            wanted.push((Move { from: from.clone(), to }, m.loc));
        }
    }
    let mut out: Vec<Move> = Vec::new();
    for (m, loc) in wanted {
        let (from, to) = (&m.from, &m.to);
        if state.resources.contains_key(to) || out.iter().any(|x| x.to == *to) {
            d.error(
                loc,
                format!("{from} cannot move to {to}: state holds {to} already"),
                Some(format!(
                    "`infra state rm {to}` if it is not needed, or remove this move and keep both"
                )),
            );
            continue;
        }
        out.push(m);
    }
    out
}
