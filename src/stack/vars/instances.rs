//! `for_each` and `count`: a resource written once and made many times. Its
//! `for_each` (a map, or a list of strings) or `count` (a whole number) is
//! read first, with what comes from outside, and must then be known: each
//! key becomes an instance, `TYPE.NAME["KEY"]` or `TYPE.NAME[INDEX]`, whose
//! body is read with `each.key` and `each.value` (or `count.index`) put in.
//! `modules::fold_in` reads a whole file so: the instances first, then every
//! string (`substitute::scalar`).

use super::context::{Ctx, Each, Folding, Instances, map_scalars};
use super::substitute::scalar;
use super::*;
use crate::types::reference;
use crate::types::{Address, InstanceKey};

/// The keys that make a resource many.
const REPEATS: [&str; 2] = ["for_each", "count"];

/// The instances of every resource of a `resources:` mapping (or, with
/// `prefix` `data.`, every lookup of `data:`): `None` for one written once,
/// else each instance's key and `each.value`. A `for_each` or `count` that
/// cannot be used is a problem (and the resource is left out).
pub(super) fn instances(
    resources: &MarkedMappingNode,
    prefix: &str,
    ctx: &Ctx,
    folding: &mut Folding,
) -> Instances {
    let mut out = Instances::new();
    for (k, v) in resources.iter() {
        let Some(a) = written(k, prefix) else {
            continue;
        };
        let body = v.as_mapping();
        let given: Vec<(&str, &Node)> = REPEATS
            .iter()
            .filter_map(|r| body.and_then(|b| b.get_node(r)).map(|n| (*r, n)))
            .collect();
        let keys = match given.as_slice() {
            [] => None,
            [(which, node)] => match keys_of(which, node, ctx, folding) {
                Some(keys) => Some(keys),
                None => continue,
            },
            [_, (_, node), ..] => {
                let s = node.span();
                folding.found.push(Found::at(
                    s,
                    1,
                    format!("`{a}` has both `for_each` and `count`"),
                    Some(
                        "keep one: `for_each` for instances by key, `count` for a number of them"
                            .into(),
                    ),
                ));
                continue;
            }
        };
        out.insert((a.ty, a.name), keys);
    }
    out
}

/// A key of `resources:` (or of `data:`, `prefix` put before its kind) as
/// the address it names, if it is one written once.
fn written(k: &MarkedScalarNode, prefix: &str) -> Option<Address> {
    let mut a = Address::parse(k.as_str()).filter(|a| a.key.is_none() && !a.is_lookup())?;
    a.ty = format!("{prefix}{}", a.ty);
    Some(a)
}

/// The instances a `for_each` or `count` value makes, or why it cannot
/// (recorded).
pub(super) fn keys_of(
    which: &str,
    node: &Node,
    ctx: &Ctx,
    folding: &mut Folding,
) -> Option<Vec<(InstanceKey, Value)>> {
    let before = folding.found.len();
    let read = map_scalars(node, &mut |s| scalar(s, ctx, folding));
    if folding.found.len() > before {
        return None;
    }
    let span = *node.span();
    let mut problem = |message: String, hint: &str| {
        folding.found.push(Found::at(&span, 1, message, Some(hint.into())));
        None
    };
    if let Node::Scalar(s) = &read
        && let Some(e) = reference::expression(s.as_str())
    {
        let why = reference::references_in(&e)
            .first()
            .map_or_else(|| "a value".to_string(), |r| format!("`{r}`"));
        return problem(
            format!("`{which}` must be known at plan, and {why} is known only after apply"),
            "take the keys from variables or literals (Terraform refuses the same); or apply with --target what it depends on first",
        );
    }
    let value = to_json(&read);
    match (which, value) {
        ("count", v) => match v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok())) {
            Some(n) => Some((0..n).map(|i| (InstanceKey::Index(i), Value::from(i))).collect()),
            None => problem(
                format!("`count` must be a whole number, not {v}"),
                "for example `count: 2` or `count: ${length(var.zones)}`",
            ),
        },
        (_, Value::Object(m)) => {
            Some(m.into_iter().map(|(k, v)| (InstanceKey::Key(k), v)).collect())
        }
        (_, Value::Array(items)) => {
            let mut keys: Vec<(InstanceKey, Value)> = Vec::new();
            for item in items {
                let Value::String(k) = &item else {
                    return problem(
                        format!("`for_each` over a list takes strings, and {item} is not one"),
                        "give a map (its keys name the instances) or a list of strings",
                    );
                };
                if !keys.iter().any(|(x, _)| x.text() == *k) {
                    keys.push((InstanceKey::Key(k.clone()), item.clone()));
                }
            }
            keys.sort_by(|a, b| a.0.cmp(&b.0));
            Some(keys)
        }
        (_, other) => problem(
            format!("`for_each` takes a map or a list of strings, not {other}"),
            "for example `for_each: ${var.zones}` or `for_each: { a: 10.0.1.0/24 }`",
        ),
    }
}

/// The `resources:` mapping read: each resource written once as it is, each
/// with `for_each` or `count` as its instances, `each` and `count` put in;
/// a `depends_on` that names a resource of many names every instance.
pub(super) fn expand(
    resources: &MarkedMappingNode,
    prefix: &str,
    ctx: &Ctx,
    folding: &mut Folding,
) -> MarkedMappingNode {
    let mut out = Vec::new();
    for (k, v) in resources.iter() {
        let written = written(k, prefix);
        let many =
            written.as_ref().and_then(|a| ctx.instances.get(&(a.ty.clone(), a.name.clone())));
        let (Some(a), Some(Some(keys))) = (&written, many) else {
            if written.is_some_and(|a| !ctx.instances.contains_key(&(a.ty.clone(), a.name.clone())))
            {
                // Left out: its `for_each` or `count` was said to be wrong.
                continue;
            }
            out.push((k.clone(), body(v, ctx, folding)));
            continue;
        };
        for (key, value) in keys {
            let each = Each { key: key.clone(), value: value.clone() };
            let inner = Ctx { each: Some(&each), ..*ctx };
            let ty = a.ty.strip_prefix(prefix).unwrap_or(&a.ty);
            let name = Address::instance(ty, &a.name, key.clone()).to_string();
            let mut body_node = v.clone();
            if let Node::Mapping(m) = &v {
                let kept = m.iter().filter(|(k, _)| !REPEATS.contains(&k.as_str()));
                body_node = Node::Mapping(MarkedMappingNode::new(
                    *m.span(),
                    kept.map(|(k, v)| (k.clone(), v.clone())).collect(),
                ));
            }
            out.push((MarkedScalarNode::new(*k.span(), name), body(&body_node, &inner, folding)));
        }
    }
    MarkedMappingNode::new(*resources.span(), out.into_iter().collect())
}

/// One resource's body read, its `depends_on` naming instances.
pub(super) fn body(v: &Node, ctx: &Ctx, folding: &mut Folding) -> Node {
    let Node::Mapping(m) = v else {
        return map_scalars(v, &mut |s| scalar(s, ctx, folding));
    };
    let entries = m.iter().map(|(k, v)| {
        let v = match (k.as_str(), v) {
            ("depends_on", Node::Sequence(q)) => Node::Sequence(MarkedSequenceNode::new(
                *q.span(),
                q.iter().flat_map(|item| each_instance(item, ctx)).collect(),
            )),
            _ => map_scalars(v, &mut |s| scalar(s, ctx, folding)),
        };
        (k.clone(), v)
    });
    Node::Mapping(MarkedMappingNode::new(*m.span(), entries.collect()))
}

/// A `depends_on` entry: a resource of many as each of its instances; a
/// module (`module.NAME`) as every resource in it; each by its whole
/// address (inside the modules the file is read in).
pub(super) fn each_instance(item: &Node, ctx: &Ctx) -> Vec<Node> {
    let Some(s) = item.as_scalar() else { return vec![item.clone()] };
    let at = |a: &Address| Node::Scalar(MarkedScalarNode::new(*s.span(), a.to_string()));
    if let Some(path) = crate::types::address::parse_path(s.as_str())
        && let [step] = path.as_slice()
        && let Some(called) = ctx.modules.get(&step.name)
    {
        return called
            .instances
            .iter()
            .filter(|(k, _)| step.key.is_none() || *k == step.key)
            .flat_map(|(_, made)| made.resources.iter().map(at))
            .collect();
    }
    let Some(a) = Address::parse(s.as_str()).filter(|a| a.key.is_none() && a.module.is_empty())
    else {
        let path = &ctx.scope.path;
        return match Address::parse(s.as_str()).filter(|a| a.module.is_empty()) {
            Some(a) if !path.is_empty() => vec![at(&a.under(path))],
            _ => vec![item.clone()],
        };
    };
    match ctx.instances.get(&(a.ty.clone(), a.name.clone())) {
        Some(Some(keys)) => keys
            .iter()
            .map(|(k, _)| at(&Address::instance(&a.ty, &a.name, k.clone()).under(&ctx.scope.path)))
            .collect(),
        _ => vec![at(&a.under(&ctx.scope.path))],
    }
}
