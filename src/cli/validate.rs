use std::path::Path;
use std::process::ExitCode;

use crate::ops::{self, Failure};

pub fn exec(file: &Path) -> Result<ExitCode, Failure> {
    let stack = ops::load_stack(file, super::strict())?;
    println!(
        "Success: stack {} is valid ({} resources).",
        stack.name,
        stack.resources.len()
    );
    Ok(ExitCode::SUCCESS)
}
