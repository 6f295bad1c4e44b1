//! Renderers read a `Plan`; they never recompute it.

pub mod json;
pub mod markdown;
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

/// Renders a plan, sensitive values hidden.
pub fn render(plan: &crate::plan::Plan, format: Format, color: bool) -> String {
    let plan = &match format {
        Format::Json => plan.redacted(),
        Format::Text | Format::Markdown => plan.redacted_where(|c| {
            c.action != crate::plan::Action::NoOp || c.pending.is_some() || c.deposed
        }),
    };
    match format {
        Format::Text => text::render(plan, &text::Style { color }),
        Format::Markdown => markdown::render(plan),
        Format::Json => json::render(plan),
    }
}
