//! The plan as a pull-request comment: a headline with the counts, what needs
//! attention first, then each change folded in a `<details>` block. The comment
//! stays under GitHub's 65,536 characters: details are dropped from the least
//! risky changes first, and a line says how many.

use std::fmt::Write;

use serde_json::Value;

use super::text::{Style, render_change};
use crate::plan::{Action, Change, Plan, rollout};

pub const LIMIT: usize = 65_536;

/// ` (environment production)` when the plan is of one environment.
fn env_note(plan: &Plan) -> String {
    plan.environment.as_ref().map(|e| format!(" (environment {e})")).unwrap_or_default()
}

/// How much a reviewer must look at a change: higher first.
fn risk(plan: &Plan, c: &Change) -> u8 {
    match c.action {
        Action::Delete => 5,
        Action::DeleteThenCreate | Action::CreateThenDelete => 4,
        _ if !attention(plan, c).is_empty()
            || plan.notices.iter().any(|n| n.address == c.address) =>
        {
            3
        }
        Action::Update => 2,
        Action::Create => 1,
        Action::NoOp => 0,
    }
}

/// Why a change needs a reviewer's attention, one line each.
pub fn attention(plan: &Plan, c: &Change) -> Vec<String> {
    let a = &c.address;
    let mut out = Vec::new();
    match c.action {
        Action::Delete if c.deposed => {
            out.push(format!("`{a}`: the object it replaced is destroyed"))
        }
        Action::Delete => out.push(format!("`{a}` is **destroyed**")),
        Action::DeleteThenCreate | Action::CreateThenDelete => out.push(format!(
            "`{a}` is **replaced** (because of {})",
            c.replace_because.iter().map(|r| format!("`{r}`")).collect::<Vec<_>>().join(", ")
        )),
        _ => {}
    }
    // What already runs and will cost more a month (a node group scaled
    // out, a cluster moved to extended support).
    if let Some(line) = plan.cost.as_ref().and_then(|cost| {
        cost.resources
            .iter()
            .find(|l| l.address == a.to_string() && l.before > 0.0 && l.after > l.before)
    }) {
        out.push(format!(
            "`{a}` costs **{} more a month** ({} → {}: {})",
            crate::cost::money(line.after - line.before),
            crate::cost::money(line.before),
            crate::cost::money(line.after),
            line.priced_as
        ));
    }
    let (before, after) = (c.before.as_ref(), c.after.as_ref());
    let get =
        |m: Option<&serde_json::Map<String, Value>>, k: &str| m.and_then(|m| m.get(k)).cloned();
    // What the type says a reviewer must see (ingress opened to the
    // internet, IAM that grants more).
    if let Some(risks) = crate::types::schema(&a.ty).and_then(|s| s.risks) {
        let updated = c.action == Action::Update;
        for line in risks(before, after, updated) {
            out.push(format!("`{a}`: {line}"));
        }
    }
    // A group, listener or rule that carries traffic, changed or replaced:
    // the share it touches.
    // (A change of tags alone touches no traffic.)
    let tags_only = c.action == Action::Update && c.changed.iter().all(|k| k == "tags");
    if matches!(
        c.action,
        Action::Update | Action::DeleteThenCreate | Action::CreateThenDelete | Action::Delete
    ) && !c.changed.iter().any(|k| k == "forward")
        && !tags_only
    {
        let name = a.to_string();
        for t in plan.traffic.iter().filter(|t| t.group == name) {
            out.push(format!(
                "`{a}` carries {}% of `{}`: this change touches that traffic",
                t.share, t.by
            ));
        }
        let carried: Vec<String> = plan
            .traffic
            .iter()
            .filter(|t| t.by == *a)
            .map(|t| format!("{} {}%", t.group, t.share))
            .collect();
        if !carried.is_empty() {
            out.push(format!(
                "`{a}` forwards live traffic ({}): this change touches it",
                carried.join(", ")
            ));
        }
        // What that traffic passes through (the load balancer, its security
        // groups, what lets it in to the targets): each listener's share.
        let mut via: Vec<(&crate::types::Address, Vec<String>)> = Vec::new();
        for t in plan.traffic.iter().filter(|t| t.through.contains(a)) {
            let line = format!("{} {}%", t.group, t.share);
            match via.iter_mut().find(|(by, _)| *by == &t.by) {
                Some((_, lines)) => lines.push(line),
                None => via.push((&t.by, vec![line])),
            }
        }
        for (by, groups) in via {
            out.push(format!(
                "`{a}` is on the way of `{by}`'s live traffic ({}): this change touches it",
                groups.join(", ")
            ));
        }
    }
    // Traffic shifts.
    if c.changed.iter().any(|k| k == "forward") {
        let (from, to) = (
            rollout::weights(get(before, "forward").as_ref()),
            rollout::weights(get(after, "forward").as_ref()),
        );
        // Each group's share, by name (a replaced group is the same one).
        let shares = |w: &rollout::Weights| {
            let mut by: std::collections::BTreeMap<String, i64> = Default::default();
            for arn in w.keys() {
                *by.entry(plan.label(&Value::String(arn.clone()))).or_default() +=
                    rollout::share(w, arn);
            }
            by
        };
        let (was, now) = (shares(&from), shares(&to));
        let shift: Vec<String> = now
            .keys()
            .chain(was.keys().filter(|k| !now.contains_key(*k)))
            .map(|name| {
                let (b, w) =
                    (was.get(name).copied().unwrap_or(0), now.get(name).copied().unwrap_or(0));
                format!("{name} {b}% → {w}%")
            })
            .collect();
        if was != now {
            out.push(format!("`{a}`: traffic shifts ({})", shift.join(", ")));
        }
    }
    out
}

/// What changed outside infra, in a section of its own; then what lookups
/// found that differs from the last apply, in another. Empty when neither.
pub fn drift_section(plan: &Plan) -> String {
    let drift = super::text::drift_lines(plan);
    let lookups = super::text::lookup_lines(plan);
    let mut out = String::new();
    if !drift.is_empty() {
        let _ = write!(
            out,
            "**Drift since the last apply** (changed outside infra)\n\n```\n{}\n```\n\n",
            drift.join("\n")
        );
    }
    if !lookups.is_empty() {
        let _ = write!(
            out,
            "**Lookups** (found something new since the last apply; read, never changed)\n\n```\n{}\n```\n\n",
            lookups.join("\n")
        );
    }
    out
}

/// The monthly cost: the total before and after, a table of the priced
/// resources, what is billed by use, what could not be priced, and where the
/// prices come from.
fn cost_section(cost: &crate::cost::Cost) -> String {
    use crate::cost::{money, signed};
    let mut out = format!(
        "\n**Monthly cost**, on-demand ({}, {} prices of {}): {}\n\n",
        cost.currency,
        cost.region,
        cost.prices_date,
        match cost.fully_priced() {
            true => format!(
                "{} → {} (**{}**)",
                money(cost.before),
                money(cost.after),
                signed(cost.delta())
            ),
            false => crate::cost::total(cost, "→"),
        }
    );
    if !cost.resources.is_empty() {
        out.push_str(
            "| resource | before | after | change | priced as |\n|---|---:|---:|---:|---|\n",
        );
        for l in &cost.resources {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} |",
                l.address,
                money(l.before),
                money(l.after),
                signed(l.after - l.before),
                l.priced_as
            );
        }
        out.push('\n');
    }
    // What is billed by use, in one line: each with what it bills.
    let by_use: Vec<String> = cost
        .billed_by_use
        .iter()
        .map(|u| {
            let addresses: Vec<String> = u.addresses.iter().map(|a| format!("`{a}`")).collect();
            format!("{}: {}", u.what, addresses.join(", "))
        })
        .collect();
    if !by_use.is_empty() {
        let _ = writeln!(out, "- not priced, billed by use: {}", by_use.join("; "));
    }
    for why in &cost.unknown {
        let _ = writeln!(out, "- not priced: {why}");
    }
    if !out.ends_with("\n\n") {
        out.push('\n');
    }
    let _ = writeln!(out, "_Prices: {}._", cost.source);
    out
}

pub fn render(plan: &Plan) -> String {
    let c = plan.counts();
    let mut head = String::new();
    let recovered: String = plan.recovered.iter().map(|n| format!("- recovered: {n}\n")).collect();
    let drift = drift_section(plan);
    if !plan.has_changes() {
        return no_changes(plan, &recovered, &drift);
    }
    let _ = writeln!(
        head,
        "### infra plan for `{}`{}: {} to add, {} to change, {} to destroy",
        plan.stack,
        env_note(plan),
        c.add,
        c.change,
        c.destroy
    );
    // The tags every resource carries, said once, under the headline.
    let common = super::text::common_tags(plan);
    if let Some(line) = super::text::common_tags_line(&common) {
        let _ = writeln!(head, "_{}_", line.replace('_', "\\_"));
    }
    head.push('\n');
    if !recovered.is_empty() {
        let _ = writeln!(head, "{recovered}");
    }
    let mut changes: Vec<&Change> =
        plan.changes.iter().filter(|c| c.action != Action::NoOp || c.pending.is_some()).collect();
    changes.sort_by(|a, b| risk(plan, b).cmp(&risk(plan, a)).then(a.address.cmp(&b.address)));
    let notes: Vec<String> = changes
        .iter()
        .flat_map(|c| attention(plan, c))
        .chain(plan.notices.iter().map(|n| format!("`{}`: {}", n.address, n.message)))
        .collect();
    if !notes.is_empty() {
        let _ = writeln!(head, "**Needs attention**");
        for n in &notes {
            let _ = writeln!(head, "- {n}");
        }
        head.push('\n');
    }
    if !plan.moves.is_empty() {
        let _ = writeln!(head, "**Moved** (state only: nothing changes in AWS)\n");
        for m in &plan.moves {
            let _ = writeln!(head, "- `{}` has moved to `{}`", m.from, m.to);
        }
        head.push('\n');
    }
    head.push_str(&drift);
    for rb in &plan.cutover {
        runbook(&mut head, plan, rb);
    }
    head.push_str(&chart(plan));
    let details = details(plan, &changes, &common);
    let tail = format!(
        "{}\nPlan: {} to add, {} to change, {} to destroy.\n",
        plan.cost.as_ref().map(cost_section).unwrap_or_default(),
        c.add,
        c.change,
        c.destroy
    );
    folded(head, &details, &tail)
}

/// How many nodes the plan's chart draws before it draws a module's
/// resources as one node.
pub const CHART_NODES: usize = 30;

/// The picture of the changes: a Mermaid flowchart of the resources that
/// change, coloured by action, with the dependency edges among them, folded
/// in a `<details>` block (GitHub draws it).
fn chart(plan: &Plan) -> String {
    use super::mermaid::{Class, Node};
    let changes: Vec<&Change> =
        plan.changes.iter().filter(|c| c.action != Action::NoOp && !c.deposed).collect();
    if changes.is_empty() {
        return String::new();
    }
    let nodes: Vec<Node> = changes
        .iter()
        .map(|c| Node {
            label: c.address.to_string(),
            module: crate::types::address::path_text(&c.address.module),
            class: match c.action {
                Action::Create => Class::Create,
                Action::Update => Class::Update,
                Action::DeleteThenCreate | Action::CreateThenDelete => Class::Replace,
                Action::Delete => Class::Delete,
                Action::NoOp => Class::Plain,
            },
        })
        .collect();
    let at = |a: &crate::types::Address| changes.iter().position(|c| &c.address == a);
    let edges: Vec<(usize, usize)> =
        plan.edges.iter().filter_map(|(a, b)| Some((at(a)?, at(b)?))).collect();
    format!(
        "<details><summary>Chart: what changes, and what depends on what</summary>\n\n```mermaid\n{}```\n</details>",
        super::mermaid::flowchart(&nodes, &edges, CHART_NODES)
    )
}

/// The changes, each in a `<details>` block, riskiest first. What is
/// created is folded a module at a time (`create 12 in module.network`),
/// one block holding each; anything else has a block of its own.
fn details(
    plan: &Plan,
    changes: &[&Change],
    common: &serde_json::Map<String, Value>,
) -> Vec<String> {
    /// A block: how risky its riskiest change is, what it is of (a module's
    /// path for creates, else the address), and the changes in it.
    struct Block<'c> {
        risk: u8,
        key: String,
        creates: bool,
        changes: Vec<&'c Change>,
        body: String,
    }
    let style = Style { color: false, terse: true };
    let mut blocks: Vec<Block> = Vec::new();
    for ch in changes {
        let mut body = String::new();
        render_change(&mut body, plan, ch, &style, common);
        let risk = risk(plan, ch);
        let creates = ch.action == Action::Create && !ch.deposed;
        let key = match creates {
            true => crate::types::address::path_text(&ch.address.module),
            false => ch.address.to_string(),
        };
        match blocks.iter_mut().find(|b| creates && b.creates && b.key == key) {
            Some(b) => {
                b.risk = b.risk.max(risk);
                b.body.push_str(&body);
                b.changes.push(ch);
            }
            None => blocks.push(Block { risk, key, creates, changes: vec![ch], body }),
        }
    }
    blocks.sort_by(|a, b| b.risk.cmp(&a.risk).then(a.key.cmp(&b.key)));
    blocks
        .into_iter()
        .map(|b| {
            let (first, n) = (b.changes[0], b.changes.len());
            let verb = match first.action {
                Action::Create => "create",
                Action::Update => "update",
                Action::DeleteThenCreate | Action::CreateThenDelete => "replace",
                Action::Delete => "destroy",
                Action::NoOp => "wait",
            };
            let summary = match (b.creates && n > 1, b.key.is_empty()) {
                (true, true) => format!("create {n} in the root module"),
                (true, false) => format!("create {n} in <code>{}</code>", b.key),
                (false, _) => format!("{verb} <code>{}</code>", first.address),
            };
            let body = gutter(&b.body);
            format!("<details><summary>{summary}</summary>\n\n```diff\n{body}```\n</details>")
        })
        .collect()
}

/// Each line's marker moved to the first column, where GitHub's `diff`
/// highlighting reads it: `+` green, `-` red, `~` as `!` (changed).
fn gutter(body: &str) -> String {
    let mut out = String::new();
    for line in body.lines() {
        let rest = line.trim_start_matches(' ');
        let pad = line.len() - rest.len();
        let mark = ["-/+ ", "+ ", "- ", "~ "].into_iter().find(|m| rest.starts_with(m));
        match mark {
            Some(m) => {
                let sign = match m {
                    "~ " => "!",
                    "-/+ " => "-/+",
                    _ => &m[..1],
                };
                let gap = " ".repeat(pad + m.len() - sign.len());
                let _ = writeln!(out, "{sign}{gap}{}", &rest[m.len()..]);
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

/// The comment of a plan with nothing to change.
fn no_changes(plan: &Plan, recovered: &str, drift: &str) -> String {
    let mut head = String::new();
    let cost = plan
        .cost
        .as_ref()
        .map(|cost| {
            let amount = match cost.fully_priced() {
                true => crate::cost::money(cost.after),
                false => crate::cost::total(cost, "→"),
            };
            format!(
                "Monthly cost: {amount}, unchanged (on-demand, {}, {} prices of {}).\n\n",
                cost.currency, cost.region, cost.prices_date
            )
        })
        .unwrap_or_default();
    let notices: String = match plan.notices.is_empty() {
        true => String::new(),
        false => format!(
            "**Needs attention**\n\n{}\n",
            plan.notices
                .iter()
                .map(|n| format!("- `{}`: {}\n", n.address, n.message))
                .collect::<String>()
        ),
    };
    let _ = writeln!(
        head,
        "### infra plan for `{}`{}: no changes\n\n{recovered}{notices}{drift}{cost}No changes.",
        plan.stack,
        env_note(plan)
    );
    head
}

/// A rollout's cut-over runbook.
fn runbook(head: &mut String, plan: &Plan, rb: &crate::plan::Runbook) {
    let sec = super::runbook::sections(plan, rb);
    let _ = writeln!(head, "**Cut-over runbook: `{}`**\n", rb.address);
    let _ = writeln!(head, "Pre-flight (read when the plan was made):\n");
    for line in &sec.preflight {
        let _ = writeln!(head, "- {line}");
    }
    let _ = writeln!(head, "\nSchedule: {}\n", sec.schedule);
    let _ = writeln!(head, "Watched: {}\n", sec.watched);
    let _ = writeln!(
        head,
        "Manual revert (the weights in force before this apply):\n\n```sh\n{}\n```\n",
        sec.revert
    );
}

/// The comment: its head, the riskiest details that fit under GitHub's
/// limit (the rest folded into a line that says how many), its tail.
fn folded(head: String, details: &[String], tail: &str) -> String {
    // Keep the riskiest details; fold the rest when the comment would be too long.
    let mut kept = details.len();
    let folded_line = |n: usize| {
        format!(
            "\n_{n} more changes are not shown in detail (the comment would pass GitHub's limit); see the saved plan._\n"
        )
    };
    loop {
        let body: usize = details[..kept].iter().map(String::len).sum();
        let extra = if kept < details.len() { folded_line(details.len() - kept).len() } else { 0 };
        if head.len() + body + extra + tail.len() < LIMIT || kept == 0 {
            break;
        }
        kept -= 1;
    }
    let mut out = head;
    // One block's `</details>` and the next one's `<details>` share a line
    // (the chart's too).
    for d in &details[..kept] {
        out.push_str(d);
    }
    if !out.ends_with('\n') {
        out.push('\n');
    }
    if kept < details.len() {
        out.push_str(&folded_line(details.len() - kept));
    }
    out.push_str(tail);
    out
}
