//! The scale benchmark (`scripts/bench`; docs/benchmarks.md).
//!
//! 1. The pure core on a generated 10,000-resource stack: parse and validate,
//!    graph, diff against a saved observation, render; no AWS at all. And
//!    `infra validate` of a 1,000-resource file, as a process.
//! 2. For N = 100, 500 and 1,000 (`BENCH_SIZES` changes them): a generated stack
//!    (subnets, security groups with three rules each, target groups, buckets,
//!    repositories) is applied once against moto, then a no-op `infra plan` is
//!    measured through the counting proxy: wall time, peak memory, AWS requests
//!    per resource by type. The state file's size and writes are measured on the
//!    way.
//! 3. The field-notes platform applied with the proxy adding 2 s to every
//!    mutating call: wall time against the critical path of its steps.
//!
//! It prints a table and writes it to docs/benchmarks.md (`BENCH_OUT` elsewhere).

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use support::{Moto, Proxy, Workdir, stack_file};

use infra::graph::Graph;
use infra::plan::Observed;
use infra::render::Format;
use infra::stack::reference::{self, Reference};
use infra::state::State;

/// A stack of about `n` resources: one VPC, then subnets, security groups with
/// three rules each (one referencing another group), target groups, buckets and
/// repositories in equal parts.
fn generate(name: &str, n: usize) -> String {
    let per = (n - 1) / 5;
    let mut s = format!(
        "stack: {name}\nregion: ap-northeast-1\ntags:\n  project: bench\n\nresources:\n  vpc.main:\n    cidr_block: 10.0.0.0/16\n"
    );
    for i in 0..per {
        let _ = write!(
            s,
            "  subnet.s{i}:\n    vpc_id: ${{vpc.main.id}}\n    cidr_block: 10.0.{}.{}/28\n",
            i / 16,
            (i % 16) * 16
        );
    }
    for i in 0..per {
        let peer = if i == 0 { per - 1 } else { i - 1 };
        let _ = write!(
            s,
            "  security_group.g{i}:\n    vpc_id: ${{vpc.main.id}}\n    description: bench group {i}\n    ingress:\n      - {{ protocol: tcp, ports: \"443\", cidr: 10.0.0.0/8, description: https }}\n      - {{ protocol: tcp, ports: \"8000-8100\", cidr: 10.1.0.0/16, description: app }}\n      - {{ protocol: tcp, ports: \"9090\", source_security_group: \"${{security_group.g{peer}.id}}\", description: metrics }}\n"
        );
    }
    for i in 0..per {
        let _ = write!(
            s,
            "  target_group.t{i}:\n    vpc_id: ${{vpc.main.id}}\n    protocol: HTTP\n    port: {}\n",
            8000 + i % 100
        );
    }
    for i in 0..per {
        let _ = write!(
            s,
            "  s3_bucket.b{i}:\n    name: {name}-logs-{i}\n    versioning: true\n"
        );
    }
    for i in 0..per {
        let _ = write!(s, "  ecr_repository.r{i}:\n    name: {name}/app-{i}\n");
    }
    s
}

/// Runs a child to its end: exit code, wall time, peak resident memory in MiB
/// (wait4's ru_maxrss), stdout. The child is reaped by wait4 itself.
#[allow(clippy::zombie_processes)]
fn run_measured(mut cmd: Command) -> (i32, Duration, f64, String) {
    let started = Instant::now();
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("infra runs");
    let pid = child.id() as libc::pid_t;
    let mut stdout = child.stdout.expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut s);
        s
    });
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it for this child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid, "wait4");
    let took = started.elapsed();
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    (
        code,
        took,
        usage.ru_maxrss as f64 / 1024.0,
        reader.join().unwrap_or_default(),
    )
}

fn self_peak_mib() -> f64 {
    // SAFETY: as above, for this process.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    usage.ru_maxrss as f64 / 1024.0
}

/// A saved observation of a stack as if it had been applied: every attribute as
/// desired, every exported value made up. One resource in a hundred has drifted.
fn observation(stack: &infra::stack::Stack, graph: &Graph) -> (State, Observed) {
    let mut state = State::new(&stack.name);
    for (i, address) in graph.creation_order().into_iter().enumerate() {
        let r = &stack.resources[&address];
        let lookup = |x: &Reference| {
            state
                .resources
                .get(&x.address)
                .and_then(|s| s.attributes.get(&x.attr))
                .cloned()
        };
        let mut attrs = match reference::resolve(&Value::Object(r.attrs.clone()), &lookup) {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        for e in r.schema.exports {
            attrs
                .entry(e.to_string())
                .or_insert_with(|| json!(format!("{}-{:08x}-{e}", address.ty, i)));
        }
        let id = attrs["id"].as_str().unwrap_or_default().to_string();
        let recorded = infra::apply::resource_state(&address, &id, attrs, Some(r));
        state.resources.insert(address.clone(), recorded);
    }
    let mut observed = infra::plan::as_recorded(&state);
    for (i, seen) in observed.values_mut().enumerate() {
        if i % 100 == 7
            && let Some(tags) = seen
                .as_mut()
                .and_then(|m| m.get_mut("tags"))
                .and_then(Value::as_object_mut)
        {
            tags.insert("project".into(), json!("drifted"));
        }
    }
    (state, observed)
}

struct Core {
    n: usize,
    parse: Duration,
    graph: Duration,
    diff: Duration,
    render: Duration,
    changes: usize,
    peak: f64,
    validate_1000: Duration,
}

fn core(dir: &Path) -> Core {
    let n = 10_001;
    let file = dir.join("core.yaml");
    std::fs::write(&file, generate("core", n)).unwrap();
    let t = Instant::now();
    let (stack, _) = infra::stack::load(&file).expect("the generated stack is valid");
    let parse = t.elapsed();
    let t = Instant::now();
    let graph = Graph::build(&stack);
    let graph_time = t.elapsed();
    let (state, observed) = observation(&stack, &graph);
    let t = Instant::now();
    let plan = infra::plan::plan(&stack, &graph, &state, &observed);
    let diff = t.elapsed();
    let t = Instant::now();
    let text = infra::render::render(&plan, Format::Text, false);
    let render = t.elapsed();
    assert!(text.contains("to change"), "the drifted resources show");
    let peak = self_peak_mib();

    let file = dir.join("validate.yaml");
    std::fs::write(&file, generate("validate", 1001)).unwrap();
    let mut runs: Vec<Duration> = (0..5)
        .map(|_| {
            let t = Instant::now();
            let out = Command::new(env!("CARGO_BIN_EXE_infra"))
                .arg("validate")
                .arg(&file)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            t.elapsed()
        })
        .collect();
    runs.sort();
    Core {
        n: stack.resources.len(),
        parse,
        graph: graph_time,
        diff,
        render,
        changes: plan.counts().change,
        peak,
        validate_1000: runs[2],
    }
}

/// The resource type an operation the proxy counted reads.
fn type_of(op: &str) -> &'static str {
    match op {
        "DescribeVpcs" => "vpc",
        "DescribeSubnets" => "subnet",
        "DescribeSecurityGroups" | "DescribeSecurityGroupRules" => "security_group",
        "DescribeTargetGroups"
        | "DescribeTargetGroupAttributes"
        | "DescribeTargetHealth"
        | "DescribeTags" => "target_group",
        "DescribeRepositories"
        | "ListTagsForResource"
        | "GetLifecyclePolicy"
        | "GetRepositoryPolicy" => "ecr_repository",
        o if o.starts_with("GET /") || o.starts_with("HEAD /") => "s3_bucket",
        _ => "other",
    }
}

struct Scale {
    n: usize,
    apply: Duration,
    plan: Duration,
    peak: f64,
    requests: BTreeMap<&'static str, u64>,
    per_type: BTreeMap<&'static str, usize>,
    state_bytes: u64,
    writes_per_op: f64,
}

fn scale(n: usize) -> Scale {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.url);
    let name = format!("bench{n}");
    let text = generate(&name, n);
    let w = Workdir::new(&proxy.url, &text);
    let per_type = {
        let mut m = BTreeMap::new();
        for line in text.lines() {
            if let Some(ty) = line
                .strip_prefix("  ")
                .filter(|l| !l.starts_with(' ') && l.ends_with(':') && l.contains('.'))
                .and_then(|l| l.split('.').next())
            {
                *m.entry(match ty {
                    "vpc" => "vpc",
                    "subnet" => "subnet",
                    "security_group" => "security_group",
                    "target_group" => "target_group",
                    "s3_bucket" => "s3_bucket",
                    _ => "ecr_repository",
                })
                .or_insert(0) += 1;
            }
        }
        m
    };
    // The state's writes are counted by its serial.
    let t = Instant::now();
    let apply = w
        .command(&[
            "apply",
            "--auto-approve",
            "--parallelism",
            "20",
            "stack.yaml",
        ])
        .output()
        .unwrap();
    let apply_time = t.elapsed();
    assert!(
        apply.status.success(),
        "apply of {n}: {}",
        String::from_utf8_lossy(&apply.stderr)
    );
    let state_path = w.path(&format!("state/{name}.json"));
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(&state_path).unwrap()).unwrap();
    let resources = state["resources"].as_object().unwrap().len();
    // A security group is two operations (the group, then its rules).
    let ops = resources + per_type.get("security_group").copied().unwrap_or(0);
    let writes_per_op = state["serial"].as_u64().unwrap() as f64 / ops as f64;
    let state_bytes = std::fs::metadata(&state_path).unwrap().len();

    let counts_before = proxy.counts();
    let (code, plan_time, peak, stdout) =
        run_measured(w.command(&["plan", "--detailed-exitcode", "stack.yaml"]));
    assert_eq!(code, 0, "the plan after apply has nothing to do:\n{stdout}");
    let mut requests: BTreeMap<&'static str, u64> = BTreeMap::new();
    for (op, c) in proxy.counts() {
        let before = counts_before.get(&op).and_then(Value::as_u64).unwrap_or(0);
        let delta = c.as_u64().unwrap_or(0) - before;
        if delta > 0 {
            *requests.entry(type_of(&op)).or_insert(0) += delta;
        }
    }
    Scale {
        n: resources,
        apply: apply_time,
        plan: plan_time,
        peak,
        requests,
        per_type,
        state_bytes,
        writes_per_op,
    }
}

/// The platform applied with 2 s added to every mutating call: its wall time
/// against the critical path of its steps (the longest chain of dependent steps,
/// each as long as it took).
fn critical_path(dir: &Path) -> (f64, f64, f64, usize) {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.url);
    proxy.rules(json!([{"op": "mutating", "action": "latency", "ms": 2000}]));
    let w = Workdir::new(&proxy.url, &stack_file("platform"));
    let timings = dir.join("timings.json");
    let t = Instant::now();
    let out = w
        .command(&["apply", "--auto-approve", "stack.yaml"])
        .env("INFRA_TIMINGS", &timings)
        .output()
        .unwrap();
    let process = t.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&timings).unwrap()).unwrap();
    let steps = doc["steps"].as_array().unwrap();
    let mut finish: Vec<f64> = vec![0.0; steps.len()];
    // Steps are in an order where what a step waits for comes first.
    let mut done = BTreeSet::new();
    while done.len() < steps.len() {
        for (i, s) in steps.iter().enumerate() {
            if done.contains(&i) {
                continue;
            }
            let after: Vec<usize> = s["after"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as usize)
                .collect();
            if after.iter().all(|d| done.contains(d)) {
                let took = s["end"].as_f64().unwrap() - s["start"].as_f64().unwrap();
                let ready = after.iter().map(|&d| finish[d]).fold(0.0, f64::max);
                finish[i] = ready + took;
                done.insert(i);
            }
        }
    }
    let path = finish.iter().copied().fold(0.0, f64::max);
    (doc["wall"].as_f64().unwrap(), path, process, steps.len())
}

fn main() {
    // `cargo bench` passes --bench; nothing else is taken.
    let sizes: Vec<usize> = std::env::var("BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![101, 501, 1001]);
    let dir = tempfile::tempdir().unwrap();
    let mut out = String::new();
    let started = chrono::Utc::now().format("%Y-%m-%d");

    eprintln!("core: 10,000 resources, no AWS...");
    let c = core(dir.path());
    let core_total = c.parse + c.graph + c.diff + c.render;
    let _ = writeln!(out, "## The pure core, {} resources, no AWS\n", c.n);
    let _ = writeln!(out, "| phase | time |\n|---|---|");
    for (phase, t) in [
        ("parse and validate", c.parse),
        ("graph", c.graph),
        ("diff against the saved observation", c.diff),
        ("render (text)", c.render),
        ("total", core_total),
    ] {
        let _ = writeln!(out, "| {phase} | {:.0} ms |", t.as_secs_f64() * 1000.0);
    }
    let _ = writeln!(
        out,
        "\nPeak memory of the benchmark process after the core: {:.0} MiB (target: under 200 MB). The plan has {} changes (1 resource in 100 drifted). Target: under 1 s: **{}**.\n",
        c.peak,
        c.changes,
        if core_total < Duration::from_secs(1) && c.peak < 200.0 {
            "met"
        } else {
            "not met"
        }
    );
    let _ = writeln!(
        out,
        "`infra validate` of a 1,000-resource file, a whole process (median of 5): {:.0} ms (target: under 200 ms: **{}**).\n",
        c.validate_1000.as_secs_f64() * 1000.0,
        if c.validate_1000 < Duration::from_millis(200) {
            "met"
        } else {
            "not met"
        }
    );

    let mut rows = Vec::new();
    for &n in &sizes {
        eprintln!("scale: {n} resources against moto (apply once, then a no-op plan)...");
        rows.push(scale(n));
    }
    let _ = writeln!(
        out,
        "## No-op plan against moto, through the counting proxy\n"
    );
    let _ = writeln!(
        out,
        "| resources | no-op plan | peak memory | requests / resource | subnet | security group | target group | bucket | repository | state file | state writes / operation | first apply |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|---|---|");
    for r in &rows {
        let total: u64 = r.requests.values().sum();
        let per = |ty: &str| {
            let req = r.requests.get(ty).copied().unwrap_or(0) as f64;
            let count = r.per_type.get(ty).copied().unwrap_or(1).max(1) as f64;
            format!("{:.2}", req / count)
        };
        let _ = writeln!(
            out,
            "| {} | {:.2} s | {:.0} MiB | {:.2} | {} | {} | {} | {} | {} | {:.0} KiB | {:.2} | {:.0} s |",
            r.n,
            r.plan.as_secs_f64(),
            r.peak,
            total as f64 / r.n as f64,
            per("subnet"),
            per("security_group"),
            per("target_group"),
            per("s3_bucket"),
            per("ecr_repository"),
            r.state_bytes as f64 / 1024.0,
            r.writes_per_op,
            r.apply.as_secs_f64(),
        );
    }
    if let (Some(first), Some(last)) = (rows.first(), rows.last()) {
        let _ = writeln!(
            out,
            "\nThe {}-resource plan took {:.1} times the {}-resource one (target: at most 11).\n",
            last.n,
            last.plan.as_secs_f64() / first.plan.as_secs_f64(),
            first.n
        );
    }

    eprintln!("critical path: the platform with 2 s on every mutating call...");
    let (wall, path, process, steps) = critical_path(dir.path());
    let _ = writeln!(
        out,
        "## Apply of the field-notes platform, 2 s added to every mutating call\n"
    );
    let _ = writeln!(
        out,
        "{steps} steps. Executor wall time {wall:.1} s; critical path (the longest chain of dependent steps, each as long as it took) {path:.1} s; ratio **{:.2}** (target: at most 1.1). The whole process took {process:.1} s.\n",
        wall / path
    );

    let doc = format!(
        "# Benchmarks\n\nMeasured on {started} with `scripts/bench` (one command from a fresh clone: it installs moto, builds with the `bench` profile and runs `benches/scale.rs`). The figures are from one run on a shared 2-core machine; timings vary by tens of percent from run to run.\n\n{out}"
    );
    print!("{doc}");
    let target = std::env::var("BENCH_OUT").unwrap_or_else(|_| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("docs/benchmarks.md")
            .display()
            .to_string()
    });
    std::fs::write(&target, doc).unwrap();
    eprintln!("written to {target}");
}
