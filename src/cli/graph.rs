use std::path::Path;
use std::process::ExitCode;

use crate::graph::Graph;
use crate::ops::{self, Context, Failure};

pub fn exec(ctx: &Context, file: &Path) -> Result<ExitCode, Failure> {
    let stack = ops::load_stack(ctx, file)?;
    print!("{}", Graph::build(&stack).to_dot());
    Ok(ExitCode::SUCCESS)
}
