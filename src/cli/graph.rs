//! `infra graph`: the dependency graph as Graphviz DOT or a Mermaid flowchart.

use std::path::Path;
use std::process::ExitCode;

use crate::ops::{self, Context, Failure};
use crate::stack::graph::Graph;

/// The formats of `infra graph`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Dot,
    Mermaid,
}

pub async fn exec(ctx: &Context, file: &Path, format: Format) -> Result<ExitCode, Failure> {
    let stack = ops::load_stack(ctx, file).await?;
    let graph = Graph::build(&stack);
    let text = match format {
        Format::Dot => graph.to_dot(),
        Format::Mermaid => crate::render::mermaid::of_graph(&graph),
    };
    ctx.console.out(&text);
    Ok(ExitCode::SUCCESS)
}
