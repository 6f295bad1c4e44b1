use std::path::Path;
use std::process::ExitCode;

use super::RunArgs;
use crate::ops::{self, Failure, Mode};
use crate::render::Format;
use crate::render::text::show;
use crate::stack::reference::{self, Reference};

pub async fn apply(
    file: &Path,
    args: &RunArgs,
    options: &ops::PlanOptions,
) -> Result<ExitCode, Failure> {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    if crate::plan::saved::SavedPlan::parse(&text).is_some() {
        return apply_saved(file, args).await;
    }
    let options = &ops::PlanOptions {
        noop_sides: false,
        ..options.clone()
    };
    let (session, aws, plan) = ops::plan(
        file,
        args.state.state.as_deref(),
        "apply",
        Mode::Apply,
        Format::Text,
        options,
    )
    .await?;
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
    let (session, aws, plan) = ops::plan(
        file,
        args.state.state.as_deref(),
        "destroy",
        Mode::Destroy,
        Format::Text,
        &ops::PlanOptions::default(),
    )
    .await?;
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

/// Applies a saved plan exactly, without planning again, unless the state or the
/// stack file moved since it was made. The plan was reviewed: no question asked.
async fn apply_saved(file: &Path, args: &RunArgs) -> Result<ExitCode, Failure> {
    let saved = super::plan::read_saved(file)?;
    let session = ops::open(
        Path::new(&saved.stack_file),
        Some(Path::new(&saved.state_file)),
        "apply",
    )
    .await?;
    let state = session.existed.then_some(&session.store.state);
    if let Some(why) = saved.staleness(&session.stack.text, state) {
        return Err(Failure::new(
            format!("saved plan is stale: {why}"),
            Some("make a new plan with `infra plan STACK --out FILE` and review it"),
        ));
    }
    print!(
        "{}",
        crate::render::render(&saved.plan, Format::Text, super::color(&std::io::stdout()))
    );
    let aws = crate::aws::Aws::connect(&session.stack.region).await;
    let mut session = session;
    for note in crate::apply::recover(&aws, &session.stack, &mut session.store.state).await? {
        eprintln!("Recovered: {note}");
    }
    ops::carry_out(
        session,
        aws,
        saved.plan,
        Mode::Apply,
        true,
        args.parallelism.into(),
    )
    .await?;
    Ok(ExitCode::SUCCESS)
}
