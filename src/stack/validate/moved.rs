//! The validator's `moved:` block: each `{ from, to }` two addresses of one
//! type, `to` declared in the file and `from` no longer; no move into
//! another's `from` (a chain, or a cycle). A move of a whole module
//! (`{ from: module.a, to: module.b }`) moves everything in it.

use super::*;

impl Validator {
    /// The `moved:` block's moves, each checked against the file's
    /// resources.
    pub(super) fn moved_block(
        &mut self,
        top: &MarkedMappingNode,
        resources: &BTreeMap<Address, Resource>,
    ) -> (Vec<Moved>, Vec<ModuleMoved>) {
        let Some(node) = top.get_node("moved") else {
            return (Vec::new(), Vec::new());
        };
        let Some(seq) = node.as_sequence() else {
            let loc = self.node_loc(node);
            self.d.error(
                loc,
                "`moved` must be a list of moves",
                Some("for example `moved: [{ from: subnet.private_a, to: 'subnet.private[\"a\"]' }]`".into()),
            );
            return (Vec::new(), Vec::new());
        };
        let mut all: Vec<Moved> = Vec::new();
        let mut modules: Vec<ModuleMoved> = Vec::new();
        for item in seq.iter() {
            let loc = self.node_loc(item);
            let Some(m) = item.as_mapping() else {
                self.d.error(loc, "a move is `{ from: ADDRESS, to: ADDRESS }`", None);
                continue;
            };
            for (k, _) in m.iter().filter(|(k, _)| !["from", "to"].contains(&k.as_str())) {
                let at = self.key_loc(k);
                let hint = Some("a move has `from` and `to`".into());
                self.d.error(at, format!("unknown key `{}` in a move", k.as_str()), hint);
            }
            let path = |k: &str| {
                m.get_node(k)
                    .and_then(Node::as_scalar)
                    .and_then(|s| crate::types::address::parse_path(s.as_str()))
            };
            if let (Some(from), Some(to)) = (path("from"), path("to")) {
                modules.push(ModuleMoved { from, to, loc });
                continue;
            }
            let from = self.move_end(m, "from", loc);
            let to = self.move_end(m, "to", loc);
            if let (Some(from), Some(to)) = (from, to) {
                all.push(Moved { from, to, loc });
            }
        }
        let mut out = Vec::new();
        for (i, m) in all.iter().enumerate() {
            // No move starts where another ends (a chain, or a cycle), and
            // none moves what another moves.
            if let Some((_, next)) =
                all.iter().enumerate().find(|(j, n)| *j != i && covers(&n.from, &m.to))
            {
                self.d.error(
                    m.loc,
                    format!("{} moves to {}, which moves on to {}", m.from, m.to, next.to),
                    Some(
                        "write one move from where it is in state to where it is in the file"
                            .into(),
                    ),
                );
            } else if all[..i].iter().any(|n| covers(&n.from, &m.from) || covers(&m.from, &n.from))
            {
                self.d.error(m.loc, format!("{} is moved twice", m.from), None);
            } else if let Some((message, hint)) = move_problem(&m.from, &m.to, resources) {
                self.d.error(m.loc, message, Some(hint));
            } else {
                out.push(m.clone());
            }
        }
        let modules = self.module_moves(modules, &out, resources);
        (out, modules)
    }

    /// The moves of whole modules, each from a module the file no longer
    /// uses there to one it does, and none moved twice or also moved by a
    /// resource's move.
    fn module_moves(
        &mut self,
        all: Vec<ModuleMoved>,
        resource_moves: &[Moved],
        resources: &BTreeMap<Address, Resource>,
    ) -> Vec<ModuleMoved> {
        use crate::types::address::{moved_path, path_text, path_within};
        let mut out: Vec<ModuleMoved> = Vec::new();
        for m in all {
            let (from, to) = (path_text(&m.from), path_text(&m.to));
            let moves = |a: &[crate::types::ModuleStep]| moved_path(a, &m.from, &m.to).is_some();
            let problem = if m.from == m.to {
                Some((format!("{from} moves to itself"), "remove the move".to_string()))
            } else if out.iter().any(|n| n.from == m.from) {
                Some((format!("{from} is moved twice"), String::new()))
            } else if let Some(r) = resource_moves.iter().find(|r| moves(&r.from.module)) {
                Some((
                    format!("{} is moved by this move of {from} and on its own", r.from),
                    "keep one of the two moves".into(),
                ))
            } else if !resources.keys().any(|r| path_within(&r.module, &m.to)) {
                Some((
                    format!("{to} is not in the stack file"),
                    "a move's `to` is where the module is used now, under `modules:`".into(),
                ))
            } else if resources.keys().any(|r| r.module.starts_with(&m.from)) {
                Some((
                    format!("{from} is still in the stack file"),
                    "a move's `from` is where the module was used: remove that use".into(),
                ))
            } else {
                None
            };
            match problem {
                Some((message, hint)) => {
                    self.d.error(m.loc, message, (!hint.is_empty()).then_some(hint));
                }
                None => out.push(m),
            }
        }
        out
    }

    /// A move's `from` or `to`, an address.
    fn move_end(&mut self, m: &MarkedMappingNode, key: &str, at: Loc) -> Option<Address> {
        let Some(node) = m.get_node(key) else {
            self.d.error(
                at,
                format!("a move needs `{key}`"),
                Some("a move is `{ from: ADDRESS, to: ADDRESS }`".into()),
            );
            return None;
        };
        let loc = self.node_loc(node);
        match node.as_scalar().and_then(|s| Address::parse(s.as_str())).filter(|a| !a.is_lookup()) {
            Some(a) => Some(a),
            None => {
                self.d.error(
                    loc,
                    format!("`{key}` must be a resource's address"),
                    Some("TYPE.NAME, or one instance, 'TYPE.NAME[\"KEY\"]' or TYPE.NAME[0] (quoted in YAML)".into()),
                );
                None
            }
        }
    }
}

/// Whether `a` is `b`, or names every instance of it.
fn covers(a: &Address, b: &Address) -> bool {
    a == b || (a.key.is_none() && b.base() == *a)
}

/// Why a move cannot be made, and a hint.
fn move_problem(
    from: &Address,
    to: &Address,
    resources: &BTreeMap<Address, Resource>,
) -> Option<(String, String)> {
    let declared = |a: &Address| resources.keys().any(|r| covers(a, r));
    if from.ty != to.ty {
        return Some((
            format!("{from} cannot move to {to}: a move keeps its type"),
            "a resource of another type is another resource: remove one and add the other".into(),
        ));
    }
    if covers(from, to) || covers(to, from) {
        return Some((format!("{from} moves to itself"), "remove the move".into()));
    }
    if !declared(to) {
        return Some((
            format!("{to} is not in the stack file"),
            "a move's `to` is where the resource is declared now".into(),
        ));
    }
    if resources.keys().any(|r| covers(from, r)) {
        return Some((
            format!("{from} is still in the stack file"),
            "a move's `from` is where the resource was: remove it from `resources:`".into(),
        ));
    }
    None
}
