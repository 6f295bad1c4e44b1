//! The terminal: the one place that writes to standard output and error.
//! A command's console (results, notes, questions), its failure, the logs,
//! and the observers of the engine at the command line (progress lines and
//! spinners on stderr, and the step timings the benchmark reads).

use std::collections::HashMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};

use crate::observe::{Event, Observer, Stop};
use crate::ops::{Context, Failure};
use crate::types::Address;

/// Whether a stream takes colour: a terminal, unless `NO_COLOR` is set.
fn color(stream: &impl IsTerminal) -> bool {
    stream.is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

pub fn color_out() -> bool {
    color(&std::io::stdout())
}

pub fn color_err() -> bool {
    color(&std::io::stderr())
}

/// A command's console on the terminal: results on stdout (a reader that has
/// gone, as in `infra plan | head`, fails nothing: what was asked goes on,
/// unprinted), notes on stderr, questions asked on a terminal's stdin.
pub struct Console;

impl crate::ops::Console for Console {
    fn out(&self, text: &str) {
        let _ = std::io::stdout().lock().write_all(text.as_bytes());
    }

    fn err(&self, text: &str) {
        let _ = std::io::stderr().lock().write_all(text.as_bytes());
    }

    fn ask(&self, question: &str) -> Option<String> {
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            return None;
        }
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(question.as_bytes());
        let _ = err.flush();
        let mut answer = String::new();
        stdin.lock().read_line(&mut answer).ok()?;
        Some(answer)
    }
}

/// A failed command said on stderr; its exit code (130 when abandoned by a
/// second interrupt, else 1).
pub fn failed(ctx: &Context, failure: Failure) -> ExitCode {
    use crate::ops::Console as _;
    let (message, hint, code) = match failure {
        Failure::Invalid(errors) => {
            Console.err(&errors.render(ctx.color_err));
            return ExitCode::from(1);
        }
        Failure::Error { message, hint } => (message, hint, 1),
        Failure::Abandoned { message, hint } => (message, hint, 130),
    };
    Console.note(&format!("error: {message}"));
    if let Some(h) = hint {
        Console.note(&format!("hint: {h}"));
    }
    ExitCode::from(code)
}

/// Logs on stderr: warnings, `-v` info, `-vv` debug; `RUST_LOG` overrides.
pub fn init_logging(verbose: u8, log_wire: bool) {
    use tracing_subscriber::filter::{FilterExt, filter_fn};
    use tracing_subscriber::layer::{Layer, SubscriberExt};
    use tracing_subscriber::util::SubscriberInitExt;
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!(
            "{default},aws_config=warn,aws_smithy_runtime=warn,hyper=warn"
        ))
    });
    // The SDK and its HTTP stack log requests and answers, bodies included,
    // at debug and trace: what the stack sends, sensitive values too. Kept
    // to info whatever RUST_LOG asks, unless --log-wire says otherwise.
    let wire = filter_fn(move |meta| {
        log_wire || *meta.level() <= tracing::Level::INFO || !wire_target(meta.target())
    });
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(color(&std::io::stderr()))
        .with_target(false)
        .with_filter(filter.and(wire));
    tracing_subscriber::registry().with(layer).init();
}

/// Whether a log's target is the AWS SDK's or its HTTP stack's.
fn wire_target(target: &str) -> bool {
    ["aws_", "hyper", "h2", "rustls", "http", "tower"].iter().any(|p| target.starts_with(p))
}

/// Progress on stderr: a line when a step starts and ends, rollout steps with
/// the time, and a spinner while AWS works on a long operation (drawn only on a
/// terminal).
#[derive(Default)]
pub struct Terminal {
    spinners: Mutex<HashMap<Address, ProgressBar>>,
}

fn clock() -> String {
    chrono::Utc::now().format("%H:%M:%S").to_string()
}

impl Observer for Terminal {
    fn event(&self, event: &Event<'_>) {
        match event {
            Event::StepStarted { step, .. } => eprintln!("{}: {}...", step.address, step.doing()),
            Event::StepDone { step, verb, detail, took, .. } => {
                eprintln!("{}: {verb}{detail} [{:.1}s]", step.address, took.as_secs_f64())
            }
            Event::StepFailed { step, error, .. } => {
                eprintln!("{}: {} failed: {error:#}", step.address, step.doing())
            }
            Event::Stopping(Stop::Stale) => {
                eprintln!("the state changed under this run: starting no more steps")
            }
            Event::Stopping(Stop::Interrupted) => eprintln!(
                "interrupt: finishing the steps under way, starting no more (state is saved after each); interrupt again to abandon them"
            ),
            Event::Stopping(Stop::Abandoned) => eprintln!(
                "second interrupt: abandoning the steps under way (what AWS accepted is marked in state, and the next run waits for it); releasing the lock"
            ),
            Event::RolloutStep { address, step, of, percent, split } => {
                eprintln!("[{}] {address}: rollout step {step}/{of} ({percent}%): {split}", clock())
            }
            Event::RolloutEnded { address, outcome } => {
                eprintln!("[{}] {address}: rollout {outcome}", clock())
            }
            Event::RolloutVerdict { address, verdict } => {
                eprintln!("[{}] {address}: {verdict}", clock())
            }
            Event::Looking { address } => {
                eprintln!("{address}: looking for what an interrupted apply was creating...")
            }
            Event::Waiting { address, doing, status, elapsed } => {
                tracing::info!("{address}: {doing} ({status}), {}s so far", elapsed.as_secs());
                let mut spinners = self.spinners.lock().unwrap_or_else(|p| p.into_inner());
                let bar = spinners.entry((*address).clone()).or_insert_with(|| {
                    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
                    bar.set_style(
                        ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                            .expect("a valid template"),
                    );
                    bar.enable_steady_tick(Duration::from_millis(250));
                    bar
                });
                bar.set_message(format!("{address}: {doing} ({status})"));
            }
            Event::WaitOver { address } => {
                let mut spinners = self.spinners.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(bar) = spinners.remove(*address) {
                    bar.finish_and_clear();
                }
            }
            Event::Scheduled { .. } | Event::Finished { .. } | Event::Retry { .. } => {}
        }
    }
}

/// When each step started and ended (seconds from the start of execution) and
/// what it waited for, written as JSON when the run finishes: what the
/// benchmark computes the critical path from (`INFRA_TIMINGS` names the file).
pub struct Timings {
    path: PathBuf,
    run: Mutex<TimingsRun>,
}

#[derive(Default)]
struct TimingsRun {
    began: Option<Instant>,
    steps: Vec<(String, String, Vec<usize>)>,
    spans: Vec<(Option<f64>, Option<f64>)>,
}

impl Timings {
    pub fn new(path: PathBuf) -> Timings {
        Timings { path, run: Mutex::new(TimingsRun::default()) }
    }
}

impl Observer for Timings {
    fn event(&self, event: &Event<'_>) {
        let mut run = self.run.lock().unwrap_or_else(|p| p.into_inner());
        let at = |run: &TimingsRun| run.began.map(|b| b.elapsed().as_secs_f64());
        match event {
            Event::Scheduled { steps, deps } => {
                run.began = Some(Instant::now());
                run.steps = steps
                    .iter()
                    .zip(deps.iter())
                    .map(|(s, d)| (s.label(), format!("{:?}", s.work), d.clone()))
                    .collect();
                run.spans = vec![(None, None); steps.len()];
            }
            Event::StepStarted { index, .. } => {
                let t = at(&run);
                if let Some(span) = run.spans.get_mut(*index) {
                    span.0 = t;
                }
            }
            Event::StepDone { index, .. } | Event::StepFailed { index, .. } => {
                let t = at(&run);
                if let Some(span) = run.spans.get_mut(*index) {
                    span.1 = t;
                }
            }
            Event::Finished { wall, state_writes } => {
                let rows: Vec<Value> = run
                    .steps
                    .iter()
                    .zip(run.spans.iter())
                    .map(|((step, op, after), (start, end))| {
                        json!({"step": step, "op": op, "start": start, "end": end, "after": after})
                    })
                    .collect();
                let doc = json!({
                    "wall": wall.as_secs_f64(),
                    "state_writes": state_writes,
                    "steps": rows,
                });
                if let Err(e) = std::fs::write(&self.path, doc.to_string()) {
                    tracing::warn!("could not write the timings: {e}");
                }
            }
            _ => {}
        }
    }
}
