//! `infra output`: the outputs the last apply recorded in state, read without
//! the lock and without AWS.

use std::path::Path;
use std::process::ExitCode;

use serde_json::{Value, json};

use crate::ops::{self, Context, Failure};
use crate::render::text::show;

pub async fn exec(
    ctx: &Context,
    file: &Path,
    name: Option<&str>,
    state: Option<&Path>,
    as_json: bool,
) -> Result<ExitCode, Failure> {
    let (stack, state, location) = ops::peek(ctx, file, state).await?;
    let outputs = state.map(|s| s.outputs).unwrap_or_default();
    let shown = |o: &crate::types::state::Output| match o.sensitive {
        true => Value::String("(sensitive)".into()),
        false => o.value.clone(),
    };
    if let Some(name) = name {
        let Some(o) = outputs.get(name) else {
            let known: Vec<&str> = outputs.keys().map(String::as_str).collect();
            return Err(Failure::new(
                format!("stack {} has no output `{name}` in {location}", stack.name),
                Some(&match known.is_empty() {
                    true => "it records none: apply the stack first".to_string(),
                    false => format!("its outputs: {}", known.join(", ")),
                }),
            ));
        };
        match (as_json, shown(o)) {
            (true, v) => ctx.console.outln(&format!("{v}")),
            (false, Value::String(s)) => ctx.console.outln(&s),
            (false, v) => ctx.console.outln(&show(&v)),
        }
        return Ok(ExitCode::SUCCESS);
    }
    if as_json {
        let doc: serde_json::Map<String, Value> = outputs
            .iter()
            .map(|(k, o)| (k.clone(), json!({"value": shown(o), "sensitive": o.sensitive})))
            .collect();
        ctx.console.outln(&serde_json::to_string_pretty(&Value::Object(doc)).unwrap_or_default());
    } else if outputs.is_empty() {
        ctx.console.outln(&format!("No outputs recorded in {location}: apply the stack first."));
    } else {
        ctx.console.out(&crate::render::outputs(&outputs, ""));
    }
    Ok(ExitCode::SUCCESS)
}
