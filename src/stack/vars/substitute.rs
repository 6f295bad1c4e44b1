//! Putting values in place in the stack file's YAML tree: `${var.NAME}`
//! (a variable's value), `${stack.NAME.OUTPUT}` (another stack's output) and
//! `${data.KIND.NAME.ATTR}` (what a lookup found), each where it is written,
//! a whole-value one keeping its type. What was put in is a value, never
//! read again (`reference::literal`).

use super::*;

/// A node with `f` put in place of each of its scalars (keys excepted).
fn map_scalars(node: &Node, f: &mut impl FnMut(&MarkedScalarNode) -> Node) -> Node {
    match node {
        Node::Scalar(s) => f(s),
        Node::Sequence(q) => Node::Sequence(MarkedSequenceNode::new(
            *q.span(),
            q.iter().map(|n| map_scalars(n, f)).collect(),
        )),
        Node::Mapping(m) => Node::Mapping(map_mapping(m, f)),
    }
}

fn map_mapping(
    m: &MarkedMappingNode,
    f: &mut impl FnMut(&MarkedScalarNode) -> Node,
) -> MarkedMappingNode {
    MarkedMappingNode::new(
        *m.span(),
        m.iter().map(|(k, v)| (k.clone(), map_scalars(v, f))).collect(),
    )
}

/// Puts each variable's value in place of `${var.NAME}` throughout a node.
pub fn substitute(node: &Node, vars: &[Variable], found: &mut Vec<Found>) -> Node {
    map_scalars(node, &mut |s| scalar(s, VAR, vars, found, &mut Vec::new()))
}

/// `substitute` over a mapping's values (keys are never substituted). The
/// span of each scalar that takes a sensitive variable's value joins
/// `sensitive`: wherever it lands, that place holds a sensitive value.
pub fn substitute_map(
    m: &MarkedMappingNode,
    vars: &[Variable],
    found: &mut Vec<Found>,
    sensitive: &mut Vec<Span>,
) -> MarkedMappingNode {
    map_mapping(m, &mut |s| scalar(s, VAR, vars, found, sensitive))
}

const VAR: &str = "${var.";
const STACK: &str = "${stack.";
const DATA: &str = "${data.";

/// Occurrences of `OPENING...}` in a string: (start, end, what is between);
/// `$${` skipped.
fn occurrences<'a>(s: &'a str, opening: &str) -> Vec<(usize, usize, &'a str)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = s[from..].find(opening) {
        let start = from + i;
        let Some(len) = s[start..].find('}') else {
            break;
        };
        let end = start + len + 1;
        if !(start > 0 && s[..start].ends_with('$')) {
            out.push((start, end, s[start + opening.len()..end - 1].trim()));
        }
        from = end;
    }
    out
}

/// A scalar with the values of `values` put in place of each
/// `OPENING NAME}` it holds (`${var.`: variables, `${stack.`: other stacks'
/// outputs, named `NAME.outputs.KEY`).
fn scalar(
    s: &MarkedScalarNode,
    opening: &str,
    values: &[Variable],
    found: &mut Vec<Found>,
    sensitive: &mut Vec<Span>,
) -> Node {
    let text = s.as_str();
    let uses = occurrences(text, opening);
    if uses.is_empty() {
        return Node::Scalar(s.clone());
    }
    let chars = text.chars().count().max(1);
    let noun = match opening {
        VAR => "variable",
        DATA => "lookup attribute",
        _ => "output",
    };
    let mut put = Vec::new();
    for (_, _, name) in &uses {
        let Some(var) = values.iter().find(|v| v.name == *name) else {
            let known: Vec<&str> = values.iter().map(|v| v.name.as_str()).collect();
            found.push(Found::at(
                s.span(),
                chars,
                format!("unknown {noun} `{name}`"),
                crate::stack::diag::did_you_mean(name, known.iter().copied()).or(Some(match known
                    .is_empty()
                {
                    true => "declare it under `variables:`".into(),
                    false => format!("declared: {}", known.join(", ")),
                })),
            ));
            return Node::Scalar(s.clone());
        };
        let Some(value) = &var.value else {
            if var.refused {
                return Node::Scalar(s.clone());
            }
            found.push(Found::at(
                s.span(),
                chars,
                format!("{noun} `{name}` has no value"),
                Some(format!(
                    "give it one: --var {name}=VALUE, a --var-file, INFRA_VAR_{name}, or a default in `variables:`"
                )),
            ));
            return Node::Scalar(s.clone());
        };
        if var.sensitive {
            sensitive.push(*s.span());
        }
        put.push(value);
    }
    // A value from outside goes in escaped: it is a value, never a
    // reference, never parsed again (`reference::literal`).
    if let [(0, end, _)] = uses.as_slice()
        && *end == text.len()
    {
        return from_json(&reference::literal(put[0]), *s.span());
    }
    let mut out = String::new();
    let mut at = 0;
    for ((start, end, name), value) in uses.iter().zip(put) {
        out.push_str(&text[at..*start]);
        match value {
            Value::String(v) => out.push_str(&reference::escape(v)),
            Value::Number(_) | Value::Bool(_) => out.push_str(&value.to_string()),
            _ => {
                found.push(Found::at(
                    s.span(),
                    chars,
                    format!(
                        "{noun} `{name}` is a list or map: it cannot go inside a longer string"
                    ),
                    Some(format!("use `{opening}{name}}}` alone as the value")),
                ));
                return Node::Scalar(s.clone());
            }
        }
        at = *end;
    }
    out.push_str(&text[at..]);
    let mut n = MarkedScalarNode::new(*s.span(), out);
    n.set_coerce(s.may_coerce());
    Node::Scalar(n)
}

/// Puts each consumed output in place of `${stack.NAME.outputs.KEY}`
/// throughout a mapping, checking the names against the `stacks:` block
/// (`declared`). Sensitive outputs join `secrets`.
pub fn substitute_outputs(
    m: &MarkedMappingNode,
    declared: &[String],
    stacks: &BTreeMap<String, Result<Produced, String>>,
    secrets: &mut Vec<String>,
    found: &mut Vec<Found>,
    sensitive: &mut Vec<Span>,
) -> MarkedMappingNode {
    let mut outputs = Vec::new();
    for name in declared {
        if let Some(Ok(p)) = stacks.get(name) {
            for (key, (value, sensitive)) in &p.outputs {
                if *sensitive {
                    collect(Some(value), secrets);
                }
                outputs.push(Variable {
                    name: format!("{name}.outputs.{key}"),
                    ty: String::new(),
                    sensitive: *sensitive,
                    value: Some(value.clone()),
                    refused: false,
                });
            }
        }
    }
    map_mapping(m, &mut |s| {
        let problem = occurrences(s.as_str(), STACK)
            .into_iter()
            .find_map(|(_, _, inner)| output_problem(inner, declared, stacks));
        match problem {
            Some((message, hint)) => {
                let chars = s.as_str().chars().count().max(1);
                found.push(Found::at(s.span(), chars, message, Some(hint)));
                Node::Scalar(s.clone())
            }
            None => scalar(s, STACK, &outputs, found, sensitive),
        }
    })
}

/// Puts what each lookup found in place of `${data.KIND.NAME.ATTR}`
/// throughout a mapping (the references were checked before the lookups ran).
pub fn substitute_lookups(
    m: &MarkedMappingNode,
    found: &crate::stack::LookedUp,
    problems: &mut Vec<Found>,
) -> MarkedMappingNode {
    let values: Vec<Variable> = found
        .iter()
        .flat_map(|(a, attrs)| {
            attrs.iter().map(move |(k, v)| Variable {
                name: format!("{}.{}.{k}", a.lookup_kind().unwrap_or(&a.ty), a.name),
                ty: String::new(),
                sensitive: false,
                value: Some(v.clone()),
                refused: false,
            })
        })
        .collect();
    map_mapping(m, &mut |s| scalar(s, DATA, &values, problems, &mut Vec::new()))
}

/// Why `${stack.INNER}` names no output that can be put in, if it does not.
fn output_problem(
    inner: &str,
    declared: &[String],
    stacks: &BTreeMap<String, Result<Produced, String>>,
) -> Option<(String, String)> {
    let mut parts = inner.splitn(3, '.');
    let (name, kw, key) = (parts.next().unwrap_or(""), parts.next(), parts.next());
    let key = key.filter(|k| !k.is_empty() && kw == Some("outputs"));
    let Some(key) = key else {
        return Some((
            format!("malformed stack reference `${{stack.{inner}}}`"),
            "write ${stack.NAME.outputs.KEY}".to_string(),
        ));
    };
    if !declared.iter().any(|d| d == name) {
        return Some((
            format!("stack `{name}` is not declared under `stacks:`"),
            format!(
                "add `stacks: {{ {name}: {{}} }}` (its state is state/{name}.json) or give its `state:`"
            ),
        ));
    }
    match stacks.get(name) {
        Some(Err(why)) => Some((
            format!("the outputs of stack `{name}` cannot be read: {why}"),
            format!("apply stack {name} first, or point `stacks.{name}.state` at its state"),
        )),
        Some(Ok(p)) if !p.outputs.contains_key(key) => Some((
            format!("stack `{name}` ({}) has no output `{key}`", p.location),
            match p.outputs.is_empty() {
                true => format!(
                    "its state records no outputs: declare them in stack {name}'s file and apply it"
                ),
                false => format!(
                    "its outputs: {}",
                    p.outputs.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            },
        )),
        _ => None,
    }
}
