//! `infra graph`: the dependency graph as Graphviz DOT.

use std::path::Path;
use std::process::ExitCode;

use crate::ops::{self, Context, Failure};
use crate::stack::graph::Graph;

pub async fn exec(ctx: &Context, file: &Path) -> Result<ExitCode, Failure> {
    let stack = ops::load_stack(ctx, file).await?;
    ctx.console.out(&Graph::build(&stack).to_dot());
    Ok(ExitCode::SUCCESS)
}
