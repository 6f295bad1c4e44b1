//! `infra drift`: what changed outside infra since the last apply. A read:
//! the state without its lock, AWS through the providers' reads, nothing
//! written anywhere.

use std::path::Path;
use std::process::ExitCode;

use crate::ops::{self, Context, Failure};
use crate::render::Format;

pub async fn exec(
    ctx: &Context,
    file: &Path,
    state: Option<&Path>,
    format: Format,
    ignore: &[String],
) -> Result<ExitCode, Failure> {
    let (stack, state, location) = ops::peek(ctx, file, state).await?;
    let Some(state) = state else {
        ctx.console.outln(&format!(
            "No state at {location}: nothing was applied, so nothing can have drifted."
        ));
        return Ok(ExitCode::SUCCESS);
    };
    for entry in ignore {
        let address = entry
            .rsplit_once('.')
            .filter(|(a, _)| a.contains('.'))
            .map_or(entry.as_str(), |(a, _)| a);
        let known = state.resources.keys().any(|a| a.to_string() == address);
        if !known {
            return Err(Failure::new(
                format!("--ignore {entry}: the state has no resource {address}"),
                Some("write ADDRESS or ADDRESS.ATTR, for example --ignore listener.http.forward"),
            ));
        }
    }
    let engine = ops::reader(ctx, &stack, &state, &location).await?;
    let observed = engine.refresh(&state, None, Some(&stack)).await?;
    let report = crate::plan::Plan::drift_report(&stack, &state, &observed, ignore);
    ctx.console.out(&crate::render::drift(&report, format, ctx.color_out));
    // Drift the stack ignores (`ignore_changes`) is shown, and is no reason
    // to act.
    let acted_on = report.drift.iter().any(|d| d.deleted || d.values.iter().any(|v| !v.ignored));
    Ok(match acted_on {
        false => ExitCode::SUCCESS,
        true => ExitCode::from(2),
    })
}
