//! The inputs of a use of a module (`modules.rs`): each read where the
//! use is written, then given to the module's variables by name, checked
//! against each declaration (missing, unknown, of the wrong type), a value
//! or an expression known only at plan or apply.

use super::context::{Folding, Unknowns, expr_of};
use super::*;
use crate::stack::diag::did_you_mean;
use crate::types::expr::{self, Val};

/// One input of a use, read where it is written.
pub(super) struct Input<'a> {
    pub(super) key: &'a MarkedScalarNode,
    pub(super) written: &'a Node,
    pub(super) node: Node,
    pub(super) sensitive: bool,
    /// Its expression has a problem (said already).
    pub(super) broken: bool,
}

/// The module's variables, each given its input or its default: an input
/// missing, unknown or of the wrong type is a problem where the use is.
pub(super) fn variables(
    block: Option<&Node>,
    given: &[Input],
    call: &MarkedScalarNode,
    folding: &mut Folding,
) -> Vec<Variable> {
    let name = call.as_str();
    let empty = MarkedMappingNode::new_empty(*call.span());
    let map = match block {
        Some(Node::Mapping(m)) => m,
        None => &empty,
        Some(Node::Scalar(s)) if s.as_str().is_empty() => &empty,
        Some(other) => {
            folding.found.push(Found::at(
                other.span(),
                1,
                "`variables` must be a mapping of names to declarations".into(),
                Some("for example `variables: { zones: { type: list } }`".into()),
            ));
            &empty
        }
    };
    let mut out = Vec::new();
    for (k, decl) in map.iter() {
        let none = MarkedMappingNode::new_empty(*k.span());
        let Some(d) = declaration(k, decl, &none, &mut folding.found) else { continue };
        let default = file_default(&d, &mut folding.found);
        let var = match given.iter().find(|g| g.key.as_str() == d.name) {
            Some(g) if g.broken => Variable::refused(&d.name, &d.ty, d.sensitive),
            Some(g) => input(&d, g, name, folding),
            None => match default {
                Some(Some(v)) => Variable {
                    value: Some(v),
                    refused: false,
                    ..Variable::refused(&d.name, &d.ty, d.sensitive)
                },
                Some(None) => {
                    let described = decl
                        .as_mapping()
                        .and_then(|m| m.get_node("description"))
                        .and_then(text)
                        .map(|t| format!(": {t}"))
                        .unwrap_or_default();
                    folding.found.push(Found::at(
                        call.span(),
                        name.chars().count().max(1),
                        format!("module `{name}` needs input `{}`", d.name),
                        Some(format!("give it under `inputs:` (a {}{described})", d.ty)),
                    ));
                    Variable::refused(&d.name, &d.ty, d.sensitive)
                }
                None => Variable::refused(&d.name, &d.ty, d.sensitive),
            },
        };
        if var.sensitive {
            collect(var.value.as_ref(), &mut folding.secrets);
        }
        out.push(var);
    }
    for g in given.iter().filter(|g| map.get_node(g.key.as_str()).is_none()) {
        let declared: Vec<&str> = map.keys().map(|k| k.as_str()).collect();
        let hint =
            did_you_mean(g.key.as_str(), declared.iter().copied()).unwrap_or_else(
                || match declared.is_empty() {
                    true => "it declares no `variables:`".into(),
                    false => format!("its inputs: {}", declared.join(", ")),
                },
            );
        folding.found.push(Found::at(
            g.key.span(),
            g.key.as_str().chars().count().max(1),
            format!("module `{name}` has no input `{}`", g.key.as_str()),
            Some(hint),
        ));
    }
    out
}

/// A variable given its input: a value of its type, or an expression
/// known only at plan or apply.
fn input(d: &Declared, g: &Input, module: &str, folding: &mut Folding) -> Variable {
    let sensitive = d.sensitive || g.sensitive;
    let mut var = Variable { refused: false, ..Variable::refused(&d.name, &d.ty, sensitive) };
    // A scalar written for a string is its text (`"1.30"` stays 1.30), as
    // a string variable's default is.
    if let Node::Scalar(s) = &g.node
        && d.ty == "string"
        && matches!(expr::template(s.as_str()), Ok(None))
    {
        var.value = Some(reference::value_of(&Value::String(s.as_str().to_string())));
        return var;
    }
    let e = expr_of(&g.node);
    match expr::eval(&e, &Unknowns) {
        Ok(Val::Known(v)) => {
            let v = match (d.ty.as_str(), v) {
                ("string", v @ (Value::Number(_) | Value::Bool(_))) => Value::String(v.to_string()),
                (_, v) => v,
            };
            if is_of(&d.ty, &v) {
                var.value = Some(v);
            } else {
                let what = match sensitive {
                    true => "a value".to_string(),
                    false => format!("`{}`", short(&v)),
                };
                folding.found.push(Found::at(
                    g.written.span(),
                    1,
                    format!(
                        "input `{}` of module `{module}` is a {}, and {what} is not one",
                        d.name, d.ty
                    ),
                    Some(type_hint(&d.ty)),
                ));
                var.refused = true;
            }
        }
        Ok(Val::Unknown) => var.unknown = Some(e),
        Err(e) => {
            folding.found.push(Found::at(g.written.span(), 1, e.message, e.hint));
            var.refused = true;
        }
    }
    var
}

/// A value as a message shows it: at most 60 characters.
fn short(v: &Value) -> String {
    let s = v.to_string();
    match s.chars().count() > 60 {
        true => format!("{}...", s.chars().take(57).collect::<String>()),
        false => s,
    }
}
