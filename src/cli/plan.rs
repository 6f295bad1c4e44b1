//! `infra plan`: what an apply would change, rendered, and saved with `--out`.

use std::path::Path;
use std::process::ExitCode;

use crate::ops::{self, Context, Failure};
use crate::plan::Mode;
use crate::plan::saved::{Made, SavedPlan};
use crate::render::Format;

pub async fn exec(
    ctx: &Context,
    file: &Path,
    state: Option<&Path>,
    detailed_exitcode: bool,
    out: Option<&Path>,
    format: Format,
    options: &ops::PlanOptions,
) -> Result<ExitCode, Failure> {
    // Only the JSON plan and a saved plan show no-op changes whole.
    let options = &ops::PlanOptions {
        noop_sides: format == Format::Json || out.is_some(),
        keep_observed: out.is_some(),
        ..options.clone()
    };
    let mut planned =
        ops::plan(ctx, file, state, ops::Command::Plan, Mode::Apply, format, options).await?;
    let changes = planned.plan.has_changes();
    if let Some(out) = out {
        let session = &mut planned.session;
        let location = session.journal.location().to_string();
        let saved = SavedPlan::new(
            &planned.plan,
            planned.observed.as_ref().unwrap_or(&Default::default()),
            Made {
                stack_file: &file.display().to_string(),
                stack_text: &session.stack.source(),
                state_file: &location,
                state: session.journal.existed().then_some(session.journal.state()),
                refresh: options.refresh,
                targets: &options.targets,
                lookups: session.stack.inputs.lookups.as_ref(),
                inputs: Some(&session.stack.inputs),
                sensitive_variables: &session.stack.sensitive_variables,
            },
        );
        let json = serde_json::to_string_pretty(&saved).expect("a saved plan serialises");
        write_private(out, &(json + "\n")).map_err(|e| {
            Failure::new(format!("cannot write the saved plan {}: {e}", out.display()), None)
        })?;
        ctx.console.note(&format!(
            "Saved the plan to {}; `infra apply {}` carries out exactly this plan.",
            out.display(),
            out.display()
        ));
    }
    Ok(if detailed_exitcode && changes { ExitCode::from(2) } else { ExitCode::SUCCESS })
}

/// Writes a file readable by its owner only (0600), whole or not at all: a
/// temporary file beside it, synced, renamed over it. A link at `path` is
/// replaced, never followed.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    crate::state::private_beside(path, ".infra-plan", text.as_bytes())?
        .persist(path)
        .map_err(|e| e.error)?;
    Ok(())
}

/// `infra show SAVED`: a saved plan in any format.
pub fn show(
    ctx: &Context,
    file: &Path,
    format: Format,
    detailed_exitcode: bool,
    no_cost: bool,
) -> Result<ExitCode, Failure> {
    let mut saved = read_saved(file)?;
    if no_cost {
        saved.plan.cost = None;
    }
    ctx.console.out(&crate::render::render(&saved.plan, format, ctx.color_out));
    Ok(if detailed_exitcode && saved.plan.has_changes() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

pub fn read_saved(file: &Path) -> Result<SavedPlan, Failure> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| Failure::new(format!("cannot read {}: {e}", file.display()), None))?;
    match SavedPlan::parse(&text) {
        Some(Ok(saved)) => Ok(saved),
        Some(Err(why)) => {
            Err(Failure::new(why, Some("make the plan again with `infra plan STACK --out FILE`")))
        }
        None => Err(Failure::new(
            format!("{} is not a saved plan", file.display()),
            Some("saved plans are written by `infra plan STACK --out FILE`"),
        )),
    }
}
