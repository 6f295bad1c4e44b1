use std::path::Path;
use std::process::ExitCode;

use super::RunArgs;
use crate::apply::execute;
use crate::aws::Aws;
use crate::ops::{self, Failure};
use crate::render::text::{self, Style, show};
use crate::stack::reference::{self, Reference};

pub async fn apply(file: &Path, args: &RunArgs) -> Result<ExitCode, Failure> {
    let mut session = ops::open(file, args.state.state.as_deref(), "apply")?;
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
    let mut store = session.store;
    if plan.has_changes() {
        ops::confirm("apply these changes", args.auto_approve)?;
        let (outcome, after) = execute(
            plan,
            Some(session.stack.clone()),
            Some(&session.graph),
            aws,
            store,
            args.parallelism.into(),
        )
        .await;
        store = after;
        ops::report("Apply", &outcome)?;
    } else if store.backend.path.exists() || !store.state.resources.is_empty() {
        store.save()?;
    }
    let lookup = |r: &Reference| {
        store
            .state
            .resources
            .get(&r.address)
            .and_then(|s| s.attributes.get(&r.attr))
            .cloned()
    };
    if !session.stack.outputs.is_empty() {
        println!("\nOutputs:");
        for (name, value) in &session.stack.outputs {
            println!("  {name} = {}", show(&reference::resolve(value, &lookup)));
        }
    }
    drop(session.lock);
    Ok(ExitCode::SUCCESS)
}

pub async fn destroy(file: &Path, args: &RunArgs) -> Result<ExitCode, Failure> {
    let mut session = ops::open(file, args.state.state.as_deref(), "destroy")?;
    let aws = Aws::connect(&session.stack.region).await;
    let observed = ops::refresh(&aws, &mut session).await?;
    let plan = crate::plan::plan_destroy(&session.store.state, &observed);
    print!(
        "{}",
        text::render(
            &plan,
            &Style {
                color: super::color(&std::io::stdout())
            }
        )
    );
    let mut store = session.store;
    if plan.has_changes() {
        ops::confirm("destroy everything in this stack", args.auto_approve)?;
        let (outcome, _) = execute(plan, None, None, aws, store, args.parallelism.into()).await;
        ops::report("Destroy", &outcome)?;
    } else if !store.state.resources.is_empty() || store.backend.path.exists() {
        store.save()?;
    }
    drop(session.lock);
    Ok(ExitCode::SUCCESS)
}
