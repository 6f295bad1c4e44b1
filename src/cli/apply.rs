use std::path::Path;
use std::process::ExitCode;

use super::RunArgs;
use crate::ops::{self, Failure, Mode};
use crate::render::text::show;
use crate::stack::reference::{self, Reference};

pub async fn apply(file: &Path, args: &RunArgs) -> Result<ExitCode, Failure> {
    let (session, aws, plan) =
        ops::plan(file, args.state.state.as_deref(), "apply", Mode::Apply).await?;
    let outputs = session.stack.outputs.clone();
    let state = ops::carry_out(
        session,
        aws,
        plan,
        Mode::Apply,
        args.auto_approve,
        args.parallelism.into(),
    )
    .await?;
    if !outputs.is_empty() {
        let lookup = |r: &Reference| {
            state
                .resources
                .get(&r.address)
                .and_then(|s| s.attributes.get(&r.attr))
                .cloned()
        };
        println!("\nOutputs:");
        for (name, value) in &outputs {
            println!("  {name} = {}", show(&reference::resolve(value, &lookup)));
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn destroy(file: &Path, args: &RunArgs) -> Result<ExitCode, Failure> {
    let (session, aws, plan) =
        ops::plan(file, args.state.state.as_deref(), "destroy", Mode::Destroy).await?;
    ops::carry_out(
        session,
        aws,
        plan,
        Mode::Destroy,
        args.auto_approve,
        args.parallelism.into(),
    )
    .await?;
    Ok(ExitCode::SUCCESS)
}
