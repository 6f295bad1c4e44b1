use std::path::Path;
use std::process::ExitCode;

use crate::ops::{self, Failure, Mode};

pub async fn exec(
    file: &Path,
    state: Option<&Path>,
    detailed_exitcode: bool,
) -> Result<ExitCode, Failure> {
    let (_session, _aws, plan) = ops::plan(file, state, "plan", Mode::Apply).await?;
    Ok(if detailed_exitcode && plan.has_changes() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
