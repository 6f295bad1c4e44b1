use std::path::Path;
use std::process::ExitCode;

use crate::aws::Aws;
use crate::ops::{self, Failure};
use crate::render::text::{self, Style};

pub async fn exec(
    file: &Path,
    state: Option<&Path>,
    detailed_exitcode: bool,
) -> Result<ExitCode, Failure> {
    let mut session = ops::open(file, state, "plan")?;
    let aws = Aws::connect(&session.stack.region).await;
    let observed = ops::refresh(&aws, &mut session).await?;
    let plan = crate::plan::plan(
        &session.stack,
        &session.graph,
        &session.store.state,
        &observed,
    );
    print!(
        "{}",
        text::render(
            &plan,
            &Style {
                color: super::color(&std::io::stdout())
            }
        )
    );
    Ok(if detailed_exitcode && plan.has_changes() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
