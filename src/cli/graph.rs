use std::path::Path;
use std::process::ExitCode;

use crate::graph::Graph;
use crate::ops::{self, Failure};

pub fn exec(file: &Path) -> Result<ExitCode, Failure> {
    let stack = ops::load_stack(file, super::strict())?;
    print!("{}", Graph::build(&stack).to_dot());
    Ok(ExitCode::SUCCESS)
}
