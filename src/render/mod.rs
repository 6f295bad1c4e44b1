//! Renderers read a `Plan`; they never recompute it.

mod document;
pub mod json;
pub mod markdown;
pub mod mermaid;
mod rollouts;
pub mod runbook;
pub mod text;

pub use rollouts::render as rollouts;

/// The output formats of `plan` and `show`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Markdown,
    Json,
}

/// The outputs state recorded, one `NAME = VALUE` line each after `indent`;
/// a sensitive one reads `(sensitive)`.
pub fn outputs(
    outputs: &std::collections::BTreeMap<String, crate::types::state::Output>,
    indent: &str,
) -> String {
    outputs
        .iter()
        .map(|(k, o)| match o.sensitive {
            true => format!("{indent}{k} = (sensitive)\n"),
            false => format!("{indent}{k} = {}\n", text::show(&o.value)),
        })
        .collect()
}

/// Renders `infra drift`'s report (a plan that carries only its drift),
/// sensitive values hidden.
pub fn drift(report: &crate::plan::Plan, format: Format, color: bool) -> String {
    let report = &report.redacted();
    let n = report.drift.len();
    match format {
        Format::Json => json::drift(report),
        Format::Text if n == 0 => {
            "No drift: AWS matches what the last apply recorded.\n".to_string()
        }
        Format::Text => {
            let style = text::Style::plain(color);
            let mut out = format!(
                "Drift in stack {} since the last apply (changed outside infra):\n\n",
                report.stack
            );
            for line in text::drift_lines(report) {
                let painted = match line.chars().next() {
                    Some('-') => style.paint("31", &line),
                    Some('~') => style.paint("33", &line),
                    _ => line,
                };
                out.push_str(&format!("  {painted}\n"));
            }
            out.push_str(&format!("\n{n} resource{} drifted.\n", if n == 1 { "" } else { "s" }));
            out
        }
        Format::Markdown if n == 0 => format!(
            "### infra drift for `{}`: none\n\nAWS matches what the last apply recorded.\n",
            report.stack
        ),
        Format::Markdown => format!(
            "### infra drift for `{}`: {n} resource{} changed outside infra\n\n{}",
            report.stack,
            if n == 1 { "" } else { "s" },
            markdown::drift_section(report)
        ),
    }
}

/// Renders a plan, sensitive values hidden.
pub fn render(plan: &crate::plan::Plan, format: Format, color: bool) -> String {
    let plan = &match format {
        Format::Json => plan.redacted(),
        Format::Text | Format::Markdown => plan.redacted_where(|c| {
            c.action != crate::plan::Action::NoOp || c.pending.is_some() || c.deposed
        }),
    };
    match format {
        Format::Text => text::render(plan, &text::Style::plain(color)),
        Format::Markdown => markdown::render(plan),
        Format::Json => json::render(plan),
    }
}
