//! JSON documents (policies, add-on configuration) as a reviewer reads them:
//! indented, and a change as the lines it changes. A policy's statements are
//! compared whole: those a change leaves alone are folded (`# (2 unchanged
//! statements hidden)`), as Terraform renders `jsonencode`. Pure.

use serde_json::Value;

use crate::types::reference;

/// A line of a rendered document: ' ' as it was, '+' added, '-' removed,
/// '#' a fold.
pub type Line = (char, String);

/// The document a value holds: a string that is a JSON object (a policy), or
/// one known only after apply (its template, references shown as `${...}`).
/// `None` for anything else.
pub fn parse(v: &Value) -> Option<(Value, bool)> {
    let (text, unknown) = match v {
        Value::String(s) => (s.as_str(), false),
        Value::Object(m) if m.len() == 1 => (m.get(reference::UNKNOWN)?.as_str()?, true),
        _ => return None,
    };
    let trimmed = text.trim_start();
    if !trimmed.starts_with('{') {
        return None;
    }
    match serde_json::from_str::<Value>(trimmed) {
        Ok(doc @ Value::Object(_)) => Some((doc, unknown)),
        _ => None,
    }
}

/// How wide a line of a document may grow when a value is written on it
/// whole.
const WIDTH: usize = 100;

/// A document's lines, indented two spaces a level; a value inside it (a
/// statement, `"Principal": { "Service": "eks.amazonaws.com" }`, a list of
/// actions) on one line when it fits, as a pretty-printer does.
pub fn lines(doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    pretty(doc, "", "", "", Layout::LaidOut, &mut out);
    out
}

/// A value in one line: `{ "a": 1, "b": [2, 3] }`.
fn one_line(v: &Value) -> String {
    match v {
        Value::Array(a) if a.is_empty() => "[]".into(),
        Value::Object(m) if m.is_empty() => "{}".into(),
        Value::Array(a) => format!("[{}]", a.iter().map(one_line).collect::<Vec<_>>().join(", ")),
        Value::Object(m) => {
            let fields: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{}: {}", Value::String(k.clone()), one_line(v)))
                .collect();
            format!("{{ {} }}", fields.join(", "))
        }
        other => other.to_string(),
    }
}

/// How a value is written.
#[derive(Clone, Copy, PartialEq)]
enum Layout {
    /// On one line when it fits.
    Fits,
    /// A line a member: the document itself, and a policy's statements (a
    /// reviewer reads a statement's action, effect and resource one under
    /// the other).
    LaidOut,
    /// `Statement`'s list: laid out, and so is each statement in it.
    Statements,
}

/// `v` after `head` (its key, or nothing), at `pad`, ended by `comma`.
fn pretty(v: &Value, pad: &str, head: &str, comma: &str, layout: Layout, out: &mut Vec<String>) {
    let whole = format!("{pad}{head}{}{comma}", one_line(v));
    let nested = matches!(v, Value::Array(a) if !a.is_empty())
        || matches!(v, Value::Object(m) if !m.is_empty());
    if !nested || layout == Layout::Fits && whole.chars().count() <= WIDTH {
        out.push(whole);
        return;
    }
    let inner = format!("{pad}  ");
    let comma_after = |i: usize, n: usize| if i + 1 < n { "," } else { "" };
    match v {
        Value::Array(a) => {
            out.push(format!("{pad}{head}["));
            let each = match layout {
                Layout::Statements => Layout::LaidOut,
                _ => Layout::Fits,
            };
            for (i, item) in a.iter().enumerate() {
                pretty(item, &inner, "", comma_after(i, a.len()), each, out);
            }
            out.push(format!("{pad}]{comma}"));
        }
        Value::Object(m) => {
            out.push(format!("{pad}{head}{{"));
            for (i, (k, item)) in m.iter().enumerate() {
                let key = format!("{}: ", Value::String(k.clone()));
                let each = match (k.as_str(), item) {
                    ("Statement", Value::Array(_)) => Layout::Statements,
                    ("Statement", _) => Layout::LaidOut,
                    _ => Layout::Fits,
                };
                pretty(item, &inner, &key, comma_after(i, m.len()), each, out);
            }
            out.push(format!("{pad}}}{comma}"));
        }
        _ => {}
    }
}

/// The lines that change from `before` to `after`. Two policies are compared
/// statement by statement; other documents line by line, runs of more than
/// six unchanged lines folded.
pub fn diff(before: &Value, after: &Value) -> Vec<Line> {
    match (statements(before), statements(after)) {
        (Some(b), Some(a)) => policy_diff(before, after, &b, &a),
        _ => line_diff(&lines(before).join("\n"), &lines(after).join("\n")),
    }
}

/// A policy's statements (one given alone is a list of one).
fn statements(doc: &Value) -> Option<Vec<Value>> {
    match doc.get("Statement")? {
        Value::Array(a) => Some(a.clone()),
        one => Some(vec![one.clone()]),
    }
}

fn indented(v: &Value, by: &str) -> Vec<String> {
    lines(v).into_iter().map(|l| format!("{by}{l}")).collect()
}

fn policy_diff(before: &Value, after: &Value, b: &[Value], a: &[Value]) -> Vec<Line> {
    let mut out: Vec<Line> = vec![(' ', "{".into())];
    let empty = serde_json::Map::new();
    let (bm, am) = (before.as_object().unwrap_or(&empty), after.as_object().unwrap_or(&empty));
    let mut keys: Vec<&String> = bm.keys().chain(am.keys()).filter(|k| *k != "Statement").collect();
    keys.sort();
    keys.dedup();
    for k in keys {
        let field = |v: &Value| format!("  {}: {},", Value::String(k.clone()), v);
        match (bm.get(k), am.get(k)) {
            (Some(x), Some(y)) if x == y => out.push((' ', field(y))),
            (x, y) => {
                out.extend(x.map(|x| ('-', field(x))));
                out.extend(y.map(|y| ('+', field(y))));
            }
        }
    }
    out.push((' ', "  \"Statement\": [".into()));
    let kept = a.iter().filter(|s| b.contains(s)).count();
    for s in b.iter().filter(|s| !a.contains(s)) {
        out.extend(indented(s, "    ").into_iter().map(|l| ('-', l)));
    }
    for s in a.iter().filter(|s| !b.contains(s)) {
        out.extend(indented(s, "    ").into_iter().map(|l| ('+', l)));
    }
    if kept > 0 {
        let noun = if kept == 1 { "statement" } else { "statements" };
        out.push(('#', format!("    # ({kept} unchanged {noun} hidden)")));
    }
    out.push((' ', "  ]".into()));
    out.push((' ', "}".into()));
    out
}

/// A line diff of two texts; runs of more than six unchanged lines keep two
/// on each side and fold the rest.
pub fn line_diff(before: &str, after: &str) -> Vec<Line> {
    use similar::{ChangeTag, TextDiff};
    let diff = TextDiff::from_lines(before, after);
    let all: Vec<Line> = diff
        .iter_all_changes()
        .map(|c| {
            let mark = match c.tag() {
                ChangeTag::Equal => ' ',
                ChangeTag::Delete => '-',
                ChangeTag::Insert => '+',
            };
            (mark, c.value().trim_end_matches('\n').to_string())
        })
        .collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < all.len() {
        if all[i].0 != ' ' {
            out.push(all[i].clone());
            i += 1;
            continue;
        }
        let start = i;
        while i < all.len() && all[i].0 == ' ' {
            i += 1;
        }
        let run = &all[start..i];
        if run.len() > 6 {
            let (head, tail) = (if start == 0 { 0 } else { 2 }, if i == all.len() { 0 } else { 2 });
            out.extend(run[..head].iter().cloned());
            let hidden = run.len() - head - tail;
            out.push(('#', format!("# ({hidden} unchanged lines hidden)")));
            out.extend(run[run.len() - tail..].iter().cloned());
        } else {
            out.extend(run.iter().cloned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn policy(actions: &[&str]) -> Value {
        let statements: Vec<Value> = actions
            .iter()
            .map(|a| json!({"Effect": "Allow", "Action": a, "Resource": "*"}))
            .collect();
        json!({"Version": "2012-10-17", "Statement": statements})
    }

    #[test]
    fn one_changed_statement_shows_and_the_rest_fold() {
        let d = diff(
            &policy(&["s3:GetObject", "logs:PutLogEvents", "sqs:SendMessage"]),
            &policy(&["s3:GetObject", "logs:PutLogEvents", "sqs:ReceiveMessage"]),
        );
        let text: Vec<String> = d.iter().map(|(m, l)| format!("{m}{l}")).collect();
        assert!(
            text.iter().any(|l| l.starts_with('-') && l.contains("sqs:SendMessage")),
            "{text:#?}"
        );
        assert!(
            text.iter().any(|l| l.starts_with('+') && l.contains("sqs:ReceiveMessage")),
            "{text:#?}"
        );
        assert!(text.iter().any(|l| l.contains("(2 unchanged statements hidden)")), "{text:#?}");
        assert!(!text.iter().any(|l| l.contains("s3:GetObject")), "{text:#?}");
    }

    #[test]
    fn a_document_is_a_json_object_in_a_string_or_a_template() {
        assert!(parse(&json!("{\"a\": 1}")).is_some());
        assert!(parse(&json!("not json")).is_none());
        assert!(parse(&json!("[1]")).is_none());
        let unknown = json!({ reference::UNKNOWN: "{\"Resource\": \"${s3_bucket.logs.arn}\"}" });
        assert_eq!(parse(&unknown).map(|(_, u)| u), Some(true));
    }

    #[test]
    fn long_unchanged_runs_fold_in_a_line_diff() {
        let before: String = (1..=20).map(|i| format!("line {i}\n")).collect();
        let after = before.replace("line 10\n", "line ten\n");
        let d = line_diff(&before, &after);
        assert!(d.iter().any(|(m, l)| *m == '-' && l == "line 10"));
        assert!(d.iter().any(|(m, l)| *m == '+' && l == "line ten"));
        assert!(d.iter().any(|(m, l)| *m == '#' && l.contains("unchanged lines hidden")));
        assert!(d.len() < 12, "{d:?}");
    }
}
