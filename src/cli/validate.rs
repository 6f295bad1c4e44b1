//! `infra validate`: the stack file checked in full, nothing else touched.

use std::path::Path;
use std::process::ExitCode;

use crate::ops::{self, Context, Failure};

pub async fn exec(ctx: &Context, file: &Path) -> Result<ExitCode, Failure> {
    let stack = ops::load_stack(ctx, file).await?;
    ctx.console.outln(&format!(
        "Success: stack {} is valid ({} resources).",
        stack.name,
        stack.resources.len()
    ));
    Ok(ExitCode::SUCCESS)
}
