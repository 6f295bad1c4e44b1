//! The human plan: Terraform-like markers (`+`, `~`, `-/+`, `-`), one block per
//! resource, and a last line that is exactly `Plan: ...` or `No changes.`.

use std::fmt::Write;

use serde_json::{Map, Value};

use crate::plan::{Action, Change, Plan, rollout};
use crate::types::Operation;
use crate::types::reference;
use crate::types::schema::Kind;

pub struct Style {
    pub color: bool,
    /// Leave out the `# X will be created` line when it says nothing more
    /// than the `+ X` under it (the markdown plan, whose blocks are headed).
    pub terse: bool,
}

impl Style {
    pub fn plain(color: bool) -> Style {
        Style { color, terse: false }
    }

    pub fn paint(&self, code: &str, s: &str) -> String {
        if self.color { format!("\x1b[{code}m{s}\x1b[0m") } else { s.to_string() }
    }
}

/// "Needs attention": what AWS or an earlier run left that a reviewer must know.
fn notices(out: &mut String, plan: &Plan) {
    if !plan.notices.is_empty() {
        let _ = writeln!(out, "Needs attention:");
        for n in &plan.notices {
            let _ = writeln!(out, "  ! {}: {}", n.address, n.message);
        }
        out.push('\n');
    }
}

pub fn render(plan: &Plan, style: &Style) -> String {
    let mut out = String::new();
    for note in &plan.recovered {
        let _ = writeln!(out, "Recovered: {note}");
    }
    if !plan.recovered.is_empty() {
        out.push('\n');
    }
    let drift = drift_lines(plan);
    if !drift.is_empty() {
        let _ = writeln!(out, "Drift since the last apply (changed outside infra):");
        for line in &drift {
            let _ = writeln!(out, "  {line}");
        }
        out.push('\n');
    }
    let lookups = lookup_lines(plan);
    if !lookups.is_empty() {
        let _ = writeln!(out, "Lookups that found something new since the last apply:");
        for line in &lookups {
            let _ = writeln!(out, "  {line}");
        }
        out.push('\n');
    }
    if !plan.has_changes() {
        // What an earlier run left is said even when nothing changes.
        notices(&mut out, plan);
        // Nothing changes, nor does the cost: the JSON plan still says it.
        out.push_str("No changes.\n");
        return out;
    }
    let _ = writeln!(
        out,
        "infra will perform these actions (stack {}{}, state serial {}):\n",
        plan.stack,
        plan.environment.as_ref().map(|e| format!(", environment {e}")).unwrap_or_default(),
        plan.serial
    );
    let common = common_tags(plan);
    if let Some(line) = common_tags_line(&common) {
        let _ = writeln!(out, "  {line}\n");
    }
    for change in plan.changes.iter().filter(|c| c.pending.is_some()) {
        let operation = change.pending.map_or("updated", Operation::in_aws);
        let _ = match plan.notices.iter().any(|n| n.address == change.address) {
            true => writeln!(
                out,
                "  # {}: an earlier apply's {} ended in an error (see Needs attention): infra waits for it first, then tries again\n",
                change.address,
                change.pending.map_or("update".to_string(), |o| o.to_string())
            ),
            false => writeln!(
                out,
                "  # {} is still being {} in AWS (an earlier apply stopped while waiting): infra waits for it first\n",
                change.address, operation
            ),
        };
    }
    for m in &plan.moves {
        let _ = writeln!(out, "  # {} has moved to {}\n", m.from, m.to);
    }
    for change in plan.changes.iter().filter(|c| c.action != Action::NoOp) {
        render_change(&mut out, plan, change, style, &common);
        out.push('\n');
    }
    notices(&mut out, plan);
    for rb in &plan.cutover {
        let s = super::runbook::sections(plan, rb);
        let _ = writeln!(out, "Cut-over runbook for {}:", rb.address);
        let _ = writeln!(out, "  pre-flight:");
        for line in &s.preflight {
            let _ = writeln!(out, "    {line}");
        }
        let _ = writeln!(out, "  schedule: {}", s.schedule);
        let _ = writeln!(out, "  watched: {}", s.watched);
        let _ = writeln!(out, "  manual revert: {}\n", s.revert);
    }
    if let Some(cost) = &plan.cost {
        for line in crate::cost::text_lines(cost) {
            let _ = writeln!(out, "{line}");
        }
        out.push('\n');
    }
    let c = plan.counts();
    let _ =
        writeln!(out, "Plan: {} to add, {} to change, {} to destroy.", c.add, c.change, c.destroy);
    out
}

/// `common`: the tags every resource carries (`common_tags`), said once above
/// the changes and left out of each.
pub(crate) fn render_change(
    out: &mut String,
    plan: &Plan,
    change: &Change,
    style: &Style,
    common: &serde_json::Map<String, Value>,
) {
    let a = &change.address;
    let (marker, verb, code) = match change.action {
        Action::Create => ("  +", "will be created", "32"),
        Action::Update => ("  ~", "will be updated in place", "33"),
        Action::DeleteThenCreate => ("-/+", "must be replaced", "35"),
        Action::CreateThenDelete => {
            ("-/+", "must be replaced (the new one is created first)", "35")
        }
        Action::Delete => ("  -", "will be destroyed", "31"),
        Action::NoOp => return,
    };
    let because = change.reason.as_ref().map(|r| format!(" ({r})")).unwrap_or_default();
    if change.deposed {
        let _ = writeln!(out, "  # {a} (the object it replaced) will be destroyed{because}");
        let _ = writeln!(out, "{} {a} (replaced object)", style.paint(code, marker));
        return;
    }
    if !(style.terse && change.action == Action::Create && because.is_empty()) {
        let _ = writeln!(out, "  # {a} {verb}{because}");
    }
    if change.action == Action::Create {
        // What it takes from defaults and from AWS, named beside it.
        let mut body = String::new();
        let note = created(&mut body, plan, change, style, common);
        let note = note.map(|n| format!("  # {n}")).unwrap_or_default();
        let _ = writeln!(out, "{} {a}{note}", style.paint(code, marker));
        out.push_str(&body);
        return;
    }
    let _ = writeln!(out, "{} {a}", style.paint(code, marker));
    match change.action {
        Action::Create => {}
        Action::Update | Action::DeleteThenCreate | Action::CreateThenDelete => {
            changed(out, plan, change, style)
        }
        Action::Delete => {
            if let Some(id) = change.before.as_ref().and_then(|b| b.get("id")) {
                let _ = writeln!(out, "      {} id: {}", style.paint("31", "-"), show(id));
            }
        }
        Action::NoOp => {}
    }
}

/// What a created resource will hold; what it takes from the type's
/// defaults and the exports known only after apply are returned, named.
fn created(
    out: &mut String,
    plan: &Plan,
    change: &Change,
    style: &Style,
    common: &serde_json::Map<String, Value>,
) -> Option<String> {
    let schema = crate::types::schema(&change.address.ty);
    let after = change.after.as_ref()?;
    // What the file leaves at the type's default (and the name infra makes
    // up for it, `<stack>-<name>`): named, not shown.
    let made_up = schema.and_then(|s| match s.name_attr {
        Some((attr, crate::types::schema::NameDefault::StackAndName(sep))) => {
            let id = crate::types::StackId::new(&plan.stack, plan.environment.as_deref());
            Some((attr, Value::String(id.default_name(&change.address.handle(), sep))))
        }
        _ => None,
    });
    let mut defaults: Vec<&str> = Vec::new();
    for (k, v) in after {
        if let Some(attr) = schema.and_then(|s| s.attr(k))
            && (attr.default_value().as_ref() == Some(v)
                || made_up.as_ref().is_some_and(|(name, made)| *name == k && made == v))
        {
            defaults.push(attr.name);
            continue;
        }
        // A resource's own tags: those every resource carries are said
        // once, above the changes.
        let own;
        let v = match (k.as_str(), v) {
            ("tags", Value::Object(tags)) => {
                own = Value::Object(own_tags(tags, common, &change.address));
                &own
            }
            _ => v,
        };
        let document = schema.and_then(|s| s.attr(k)).is_some_and(|a| a.document);
        if let Some((doc, unknown)) = super::document::parse(v).filter(|_| document) {
            document_lines(out, style, "+", k, None, &doc, unknown, '+', "");
            continue;
        }
        if let Value::Object(m) = v
            && document
            && !m.is_empty()
            && m.values().all(|d| super::document::parse(d).is_some())
        {
            // A map of documents (inline policies): each by its name,
            // `inline_policies["read"]`.
            for (name, d) in m {
                if let Some((doc, unknown)) = super::document::parse(d) {
                    let entry = format!("{k}[{}]", Value::String(name.clone()));
                    document_lines(out, style, "+", &entry, None, &doc, unknown, '+', "");
                }
            }
            continue;
        }
        match v {
            // Nothing to see: left out on create (the JSON plan keeps it).
            Value::Null => {}
            Value::String(s) if s.is_empty() => {}
            Value::String(text) if text.contains('\n') => {
                heredoc(out, style, "+", k, None, text, '+', "");
            }
            Value::Array(a) if a.is_empty() => {}
            Value::Object(o) if o.is_empty() => {}
            _ if k == "forward" => {
                let _ = writeln!(
                    out,
                    "      {} forward: {}",
                    style.paint("32", "+"),
                    forward_split(plan, None, v)
                );
            }
            _ if k == "rollout" => {}
            // A list of objects or of references: one per line, unless it
            // fits on one.
            Value::Array(items)
                if items.len() > 1
                    && items.iter().any(Value::is_object)
                    && k.len() + show(v).len() > 150 =>
            {
                let _ = writeln!(out, "      {} {k}:", style.paint("32", "+"));
                for item in items {
                    let _ = writeln!(out, "          {} {}", style.paint("32", "+"), show(item));
                }
            }
            _ => {
                let _ = writeln!(out, "      {} {k}: {}", style.paint("32", "+"), show(v));
            }
        }
    }
    // What it takes from the type's defaults, and what AWS gives it: named
    // on one line.
    let later: Vec<&str> = schema
        .map(|s| s.exports.iter().copied().filter(|e| !after.contains_key(*e)).collect())
        .unwrap_or_default();
    let mut names = Vec::new();
    if !defaults.is_empty() {
        names.push(format!("at their defaults: {}", defaults.join(", ")));
    }
    if !later.is_empty() {
        names.push(format!("known after apply: {}", later.join(", ")));
    }
    (!names.is_empty()).then(|| names.join("; "))
}

/// The tags every resource the plan makes or changes carries (the stack's,
/// and its owner tags): said once, above the changes. `infra:address`, the
/// resource's own address on each, is said as such. Empty when fewer than
/// two resources carry tags.
pub(crate) fn common_tags(plan: &Plan) -> serde_json::Map<String, Value> {
    let mut tagged = plan
        .changes
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .filter_map(|c| c.after.as_ref()?.get("tags")?.as_object());
    let Some(first) = tagged.next() else { return serde_json::Map::new() };
    let mut common = first.clone();
    let mut n = 1;
    for tags in tagged {
        common.retain(|k, v| tags.get(k) == Some(v));
        n += 1;
    }
    common.remove(crate::types::stack_id::ADDRESS_TAG);
    if n < 2 { serde_json::Map::new() } else { common }
}

/// `tags on every resource: { env: "staging", infra:stack: "platform" }, and
/// infra:address: its address`.
pub(crate) fn common_tags_line(common: &serde_json::Map<String, Value>) -> Option<String> {
    (!common.is_empty()).then(|| {
        format!(
            "tags on every resource: {}, and {}: its address",
            show(&Value::Object(common.clone())),
            crate::types::stack_id::ADDRESS_TAG
        )
    })
}

/// A resource's tags without those every resource carries, nor its
/// `infra:address` when that is its address.
fn own_tags(
    tags: &serde_json::Map<String, Value>,
    common: &serde_json::Map<String, Value>,
    address: &crate::types::Address,
) -> serde_json::Map<String, Value> {
    let address_tag = crate::types::stack_id::ADDRESS_TAG;
    let own = address.tag_value();
    tags.iter()
        .filter(|(k, v)| common.get(*k) != Some(*v))
        .filter(|(k, v)| !(k.as_str() == address_tag && v.as_str() == Some(&own)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Each attribute an update or a replacement changes: sets by member, tags
/// by key, nested objects by path, a forward as its traffic split.
fn changed(out: &mut String, plan: &Plan, change: &Change, style: &Style) {
    let schema = crate::types::schema(&change.address.ty);
    let kind = |name: &str| schema.and_then(|s| s.attr(name)).map(|x| &x.kind);
    let (Some(before), Some(after)) = (&change.before, &change.after) else {
        return;
    };
    for k in &change.changed {
        let forces = if change.replace_because.contains(k) { "  # forces replacement" } else { "" };
        let (b, w) = (before.get(k).unwrap_or(&Value::Null), after.get(k).unwrap_or(&Value::Null));
        if k == "forward" {
            let _ = writeln!(
                out,
                "      {} forward: {}{forces}",
                style.paint("33", "~"),
                forward_split(plan, Some(b), w)
            );
            if let (Some(r), Some(view)) = (after.get("rollout"), &change.rollout) {
                let shares = Some(view.shares.as_slice());
                let r = reference::undisplayed(r);
                let _ = writeln!(out, "        rollout: {}", rollout::describe(&r, shares));
            }
            continue;
        }
        let document = schema.and_then(|s| s.attr(k)).is_some_and(|a| a.document);
        if document && document_change(out, style, k, b, w, forces) {
            continue;
        }
        // A text of several lines (user data): the lines that change.
        let multi = |v: &Value| v.as_str().is_some_and(|t| t.contains('\n'));
        if multi(b) || multi(w) {
            match (b, w) {
                (Value::String(bt), Value::String(wt)) => {
                    heredoc(out, style, "~", k, Some(bt), wt, ' ', forces);
                    continue;
                }
                (Value::Null, Value::String(wt)) => {
                    heredoc(out, style, "~", k, None, wt, '+', forces);
                    continue;
                }
                (Value::String(bt), Value::Null) => {
                    let tail = format!(" -> null{forces}");
                    heredoc(out, style, "~", k, None, bt, '-', &tail);
                    continue;
                }
                _ => {}
            }
        }
        match (kind(k), b, w) {
            (Some(Kind::Set(_)), Value::Array(b), Value::Array(w))
                if !reference::has_unknown(&Value::Array(w.clone())) =>
            {
                let _ = writeln!(out, "      {} {k}:{forces}", style.paint("33", "~"));
                for item in w.iter().filter(|i| !b.contains(i)) {
                    let _ = writeln!(out, "          {} {}", style.paint("32", "+"), show(item));
                }
                for item in b.iter().filter(|i| !w.contains(i)) {
                    let _ = writeln!(out, "          {} {}", style.paint("31", "-"), show(item));
                }
            }
            (_, Value::Object(b), Value::Object(w)) if k == "tags" => {
                let _ = writeln!(out, "      {} {k}:{forces}", style.paint("33", "~"));
                map_diff(out, b, w, style);
            }
            // A nested object: only the fields that change, by path.
            (_, Value::Object(b), Value::Object(w)) => {
                for (path, bv, wv) in leaf_changes(k, b, w) {
                    let _ = writeln!(
                        out,
                        "      {} {path}: {} -> {}{forces}",
                        style.paint("33", "~"),
                        show(&bv),
                        show(&wv)
                    );
                }
            }
            _ => {
                let _ = writeln!(
                    out,
                    "      {} {k}: {} -> {}{forces}",
                    style.paint("33", "~"),
                    show(b),
                    show(w)
                );
            }
        }
    }
}

/// A changed document (a policy), or a map of them (inline policies):
/// indented, only what changes shown. False for any other value.
fn document_change(
    out: &mut String,
    style: &Style,
    k: &str,
    b: &Value,
    w: &Value,
    forces: &str,
) -> bool {
    // A document (a policy): indented, only what changes shown.
    let (bd, wd) = (super::document::parse(b), super::document::parse(w));
    if bd.is_some() || wd.is_some() {
        match (bd, wd) {
            (Some((bd, _)), Some((wd, unknown))) => {
                document_lines(out, style, "~", k, Some(&bd), &wd, unknown, ' ', forces)
            }
            (None, Some((wd, unknown))) => {
                document_lines(out, style, "+", k, None, &wd, unknown, '+', forces)
            }
            // Removed: its lines go, and it is null after.
            (Some((bd, _)), None) => {
                let tail = format!(" -> {}{forces}", show(w));
                document_lines(out, style, "~", k, None, &bd, false, '-', &tail)
            }
            (None, None) => {}
        }
        return true;
    }
    if let (Value::Object(bm), Value::Object(wm)) = (b, w)
        && bm.values().chain(wm.values()).all(|d| super::document::parse(d).is_some())
        && !(bm.is_empty() && wm.is_empty())
    {
        // A map of documents (inline policies): each that changes.
        let _ = writeln!(out, "      {} {k}:{forces}", style.paint("33", "~"));
        let parsed = |d: &Value| super::document::parse(d);
        for (name, d) in wm {
            match (bm.get(name).and_then(parsed), parsed(d)) {
                (Some((old, _)), Some((new, unknown))) if old != new || unknown => {
                    document_lines(out, style, "    ~", name, Some(&old), &new, unknown, ' ', "")
                }
                (None, Some((new, unknown))) => {
                    document_lines(out, style, "    +", name, None, &new, unknown, '+', "")
                }
                _ => {}
            }
        }
        for (name, d) in bm.iter().filter(|(n, _)| !wm.contains_key(*n)) {
            if let Some((old, _)) = parsed(d) {
                document_lines(out, style, "    -", name, None, &old, false, '-', "");
            }
        }
        return true;
    }
    false
}

/// A document under its attribute: `+ policy: jsonencode(` then its lines
/// (each marked, for a change: those it changes, the rest folded), then `)`
/// and `tail` (` -> null` for one removed). `mark` is the attribute's own
/// (`+`, `~`, `-`, indented for a map's entry); `before` the document it
/// changes from, else every line takes `lines` (`+` made, `-` removed).
#[allow(clippy::too_many_arguments)]
fn document_lines(
    out: &mut String,
    style: &Style,
    mark: &str,
    name: &str,
    before: Option<&Value>,
    after: &Value,
    unknown: bool,
    lines: char,
    tail: &str,
) {
    let later = if unknown { "  # its ${...} known after apply" } else { "" };
    let mut body: Vec<(char, String)> = match before {
        Some(b) => super::document::diff(b, after),
        None => super::document::lines(after).into_iter().map(|l| (lines, l)).collect(),
    };
    // Its braces go with `jsonencode(` and `)`.
    let braces = body.len() > 1
        && body.first().is_some_and(|(_, l)| l == "{")
        && body.last().is_some_and(|(_, l)| l == "}");
    if braces {
        body.remove(0);
        body.pop();
        for (_, line) in &mut body {
            if let Some(rest) = line.strip_prefix("  ") {
                *line = rest.to_string();
            }
        }
    }
    let (open, close) = if braces { ("{", "}") } else { ("", "") };
    let head = format!("{name}: jsonencode({open}{later}");
    let whole = before.is_none().then_some(lines);
    block(out, style, mark, &head, &body, &format!("{close}){tail}"), whole);
}

/// A text of several lines (user data) under its attribute, as a heredoc:
/// `+ user_data: <<-EOT`, its lines, `EOT`. A change shows the lines it
/// changes, long unchanged runs folded; made or removed whole, every line
/// takes `lines`.
#[allow(clippy::too_many_arguments)]
fn heredoc(
    out: &mut String,
    style: &Style,
    mark: &str,
    name: &str,
    before: Option<&str>,
    after: &str,
    lines: char,
    tail: &str,
) {
    let body: Vec<(char, String)> = match before {
        Some(b) => super::document::line_diff(b, after),
        None => after.lines().map(|l| (lines, l.to_string())).collect(),
    };
    let whole = before.is_none().then_some(lines);
    block(out, style, mark, &format!("{name}: <<-EOT"), &body, &format!("EOT{tail}"), whole);
}

/// A block under an attribute: its `head` line marked `mark`, its body
/// lines each with their own mark, its `close` line (marked `whole` when the
/// block is made or removed whole).
fn block(
    out: &mut String,
    style: &Style,
    mark: &str,
    head: &str,
    body: &[(char, String)],
    close: &str,
    whole: Option<char>,
) {
    let sign = mark.trim();
    let colour = |m: char| match m {
        '+' => "32",
        '-' => "31",
        '~' => "33",
        _ => "0",
    };
    let pad = " ".repeat(mark.len() - sign.len());
    let _ = writeln!(
        out,
        "      {pad}{} {head}",
        style.paint(colour(sign.chars().next().unwrap_or(' ')), sign)
    );
    for (m, line) in body {
        let marker = match m {
            '+' | '-' => style.paint(colour(*m), &m.to_string()),
            _ => " ".to_string(),
        };
        let _ = writeln!(out, "      {pad}    {marker} {line}");
    }
    let last = match whole {
        Some(m) => style.paint(colour(m), &m.to_string()),
        None => " ".to_string(),
    };
    let _ = writeln!(out, "      {pad}{last} {close}");
}

fn map_diff(
    out: &mut String,
    before: &Map<String, Value>,
    after: &Map<String, Value>,
    style: &Style,
) {
    for (k, v) in after {
        match before.get(k) {
            None => {
                let _ = writeln!(out, "          {} {k}: {}", style.paint("32", "+"), show(v));
            }
            Some(b) if b != v => {
                let _ = writeln!(
                    out,
                    "          {} {k}: {} -> {}",
                    style.paint("33", "~"),
                    show(b),
                    show(v)
                );
            }
            _ => {}
        }
    }
    for (k, v) in before.iter().filter(|(k, _)| !after.contains_key(*k)) {
        let _ = writeln!(out, "          {} {k}: {}", style.paint("31", "-"), show(v));
    }
}

/// What changed outside infra since the last apply, one block per resource:
/// a forward as its split of traffic, anything else as old -> new.
pub fn drift_lines(plan: &Plan) -> Vec<String> {
    let mut out = Vec::new();
    for d in &plan.drift {
        if d.deleted {
            out.push(format!("- {} was deleted outside infra", d.address));
            continue;
        }
        out.push(format!("~ {}", d.address));
        for v in &d.values {
            let line = match v.attribute.as_str() {
                "forward" => forward_split(plan, Some(&v.was), &v.now),
                _ => format!("{} -> {}", show(&v.was), show(&v.now)),
            };
            let ignored = if v.ignored { "  (ignored: ignore_changes)" } else { "" };
            out.push(format!("    ~ {}: {line}{ignored}", v.attribute));
        }
    }
    out
}

/// What lookups found that differs from the last apply, one block each
/// (`<=`: read, never written): old -> new, or, never recorded, what it found.
pub fn lookup_lines(plan: &Plan) -> Vec<String> {
    let mut out = Vec::new();
    for l in &plan.lookups {
        match &l.before {
            Some(before) => {
                out.push(format!("<= {}", l.address));
                for k in &l.changed {
                    let was = before.get(k).unwrap_or(&Value::Null);
                    let now = l.after.get(k).unwrap_or(&Value::Null);
                    out.push(format!("    ~ {k}: {} -> {}", show(was), show(now)));
                }
            }
            None => {
                out.push(format!("<= {} (first read)", l.address));
                for (k, v) in &l.after {
                    out.push(format!("      {k}: {}", show(v)));
                }
            }
        }
    }
    out
}

/// A forward as a traffic split: `target_group.ec2 90 → 50 (90% → 50%), ...`.
fn forward_split(plan: &Plan, before: Option<&Value>, after: &Value) -> String {
    let to = rollout::weights(Some(after));
    let Some(before) = before else {
        return to
            .iter()
            .map(|(arn, w)| {
                format!(
                    "{} {w} ({}%)",
                    plan.label(&Value::String(arn.clone())),
                    rollout::share(&to, arn)
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
    };
    let from = rollout::weights(Some(before));
    // Match target groups by name, so a replaced group reads as one line.
    let mut rows: Vec<(String, Option<&String>, Option<&String>)> = Vec::new();
    for arn in from.keys() {
        rows.push((plan.label(&Value::String(arn.clone())), Some(arn), None));
    }
    for arn in to.keys() {
        let label = plan.label(&Value::String(arn.clone()));
        match rows.iter_mut().find(|(l, _, t)| *l == label && t.is_none()) {
            Some(row) => row.2 = Some(arn),
            None => rows.push((label, None, Some(arn))),
        }
    }
    rows.sort();
    rows.iter()
        .map(|(label, b, a)| {
            let (wb, wa) = (b.map_or(0, |x| from[x]), a.map_or(0, |x| to[x]));
            let (sb, sa) = (
                b.map_or(0, |x| rollout::share(&from, x)),
                a.map_or(0, |x| rollout::share(&to, x)),
            );
            let moved = match (b, a) {
                (Some(b), Some(a)) if b != a => " (to the replacement)",
                _ => "",
            };
            if wb == wa && sb == sa {
                format!("{label} {wa} ({sa}%){moved}")
            } else {
                format!("{label} {wb} → {wa} ({sb}% → {sa}%){moved}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The leaves that differ between two objects, as `a.b.c` paths.
fn leaf_changes(
    prefix: &str,
    before: &Map<String, Value>,
    after: &Map<String, Value>,
) -> Vec<(String, Value, Value)> {
    let mut out = Vec::new();
    let keys: Vec<&String> =
        after.keys().chain(before.keys().filter(|k| !after.contains_key(*k))).collect();
    for k in keys {
        let (b, w) = (
            before.get(k).cloned().unwrap_or(Value::Null),
            after.get(k).cloned().unwrap_or(Value::Null),
        );
        let path = format!("{prefix}.{k}");
        match (&b, &w) {
            (Value::Object(bm), Value::Object(wm)) => out.extend(leaf_changes(&path, bm, wm)),
            _ if b != w => out.push((path, b, w)),
            _ => {}
        }
    }
    out
}

/// A value in one line: strings quoted, objects in flow style, and what is
/// known only after apply (`reference::displayed`) as its reference, marked
/// `(known after apply)`.
pub fn show(v: &Value) -> String {
    let s = flow(v);
    if reference::has_unknown(v) { format!("{s} (known after apply)") } else { s }
}

fn flow(v: &Value) -> String {
    if let Some(template) = reference::unknown(v) {
        return serde_json::to_string(template).expect("a string serialises");
    }
    match v {
        Value::Null => "null".into(),
        Value::String(s) => serde_json::to_string(s).expect("a string serialises"),
        Value::Array(a) => format!("[{}]", a.iter().map(flow).collect::<Vec<_>>().join(", ")),
        Value::Object(m) => format!(
            "{{ {} }}",
            m.iter().map(|(k, v)| format!("{k}: {}", flow(v))).collect::<Vec<_>>().join(", ")
        ),
        other => other.to_string(),
    }
}
