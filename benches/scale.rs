//! The scale benchmark (`scripts/bench`; docs/benchmarks.md).
//!
//! 1. The pure core on a generated 10,000-resource stack: parse and validate,
//!    graph, diff against a saved observation, render; no AWS at all. And
//!    `infra validate` of a 1,000-resource file, as a process, written out and
//!    written with `for_each` and `count`; and `infra lsp` with that file open,
//!    from a change to its diagnostics.
//! 2. For N = 100, 500 and 1,000 (`BENCH_SIZES` changes them): a generated stack
//!    (subnets, security groups with three rules each, target groups, buckets,
//!    repositories) is applied once against moto, then a no-op `infra plan` is
//!    measured through the counting proxy: wall time, peak memory, AWS requests
//!    per resource by type. The state file's size and writes are measured on the
//!    way.
//! 3. The field-notes platform applied with the proxy adding 2 s to every
//!    mutating call: wall time against the critical path of its steps.
//! 4. Lean apply and destroy: one VPC, 100 versioned buckets and 100 security
//!    groups applied, planned and destroyed through the counting proxy, next to
//!    a Rust peer's figures and this tool's before (issue 18), with what one
//!    bucket and one group cost by operation in each phase.
//!
//! It prints a table and writes it to docs/benchmarks.md (`BENCH_OUT` elsewhere).

#[path = "../tests/it/support/mod.rs"]
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use support::{Moto, Proxy, Workdir, stack_file};

use infra::plan::Observed;
use infra::render::Format;
use infra::stack::graph::Graph;
use infra::types::reference::{self, Reference};
use infra::types::state::State;

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
        let _ = write!(s, "  s3_bucket.b{i}:\n    name: {name}-logs-{i}\n    versioning: true\n");
    }
    for i in 0..per {
        let _ = write!(s, "  ecr_repository.r{i}:\n    name: {name}/app-{i}\n");
    }
    s
}

/// The same stack as `generate`, each kind written once: `for_each` over
/// keys a for-expression makes (a group's rule naming the group before it
/// by key), `count` for the buckets and repositories.
fn generate_for_each(name: &str, n: usize) -> String {
    let per = (n - 1) / 5;
    let keys = |p: &str| format!("'${{ {{for i in range({per}) : \"{p}${{i}}\" => i}} }}'");
    let mut s = format!(
        "stack: {name}\nregion: ap-northeast-1\ntags:\n  project: bench\n\nresources:\n  vpc.main:\n    cidr_block: 10.0.0.0/16\n"
    );
    let _ = write!(
        s,
        "  subnet.s:\n    for_each: {}\n    vpc_id: ${{vpc.main.id}}\n    cidr_block: ${{cidrsubnet(\"10.0.0.0/16\", 12, each.value)}}\n",
        keys("s")
    );
    let _ = write!(
        s,
        "  security_group.g:\n    for_each: {}\n    vpc_id: ${{vpc.main.id}}\n    description: bench group ${{each.value}}\n    ingress:\n      - {{ protocol: tcp, ports: \"443\", cidr: 10.0.0.0/8, description: https }}\n      - {{ protocol: tcp, ports: \"8000-8100\", cidr: 10.1.0.0/16, description: app }}\n      - {{ protocol: tcp, ports: \"9090\", source_security_group: '${{security_group.g[\"g${{each.value == 0 ? {} : each.value - 1}}\"].id}}', description: metrics }}\n",
        keys("g"),
        per - 1
    );
    let _ = write!(
        s,
        "  target_group.t:\n    for_each: {}\n    vpc_id: ${{vpc.main.id}}\n    protocol: HTTP\n    port: ${{8000 + each.value % 100}}\n",
        keys("t")
    );
    let _ = write!(
        s,
        "  s3_bucket.b:\n    count: {per}\n    name: {name}-logs-${{count.index}}\n    versioning: true\n  ecr_repository.r:\n    count: {per}\n    name: {name}/app-${{count.index}}\n"
    );
    s
}

/// `infra validate` of `file`, a whole process: the median of 5 runs.
fn validate_median(file: &Path, resources: usize) -> Duration {
    let mut runs: Vec<Duration> = (0..5)
        .map(|_| {
            let t = Instant::now();
            let out = Command::new(env!("CARGO_BIN_EXE_infra"))
                .arg("validate")
                .arg(file)
                .output()
                .unwrap();
            let said = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            assert!(said.contains(&format!("({resources} resources)")), "{said}");
            t.elapsed()
        })
        .collect();
    runs.sort();
    runs[2]
}

/// `infra lsp` with `file` open: from a change (one attribute edited) to its
/// diagnostics, through the protocol on the process's stdio: the median of 5
/// changes.
fn lsp_change_median(file: &Path) -> Duration {
    use lsp_server::{Message, Notification, Request, RequestId};
    use std::io::BufReader;
    let mut child = Command::new(env!("CARGO_BIN_EXE_infra"))
        .arg("lsp")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut to = child.stdin.take().unwrap();
    let mut from = BufReader::new(child.stdout.take().unwrap());
    let send = |to: &mut std::process::ChildStdin, m: Message| m.write(to).unwrap();
    let init = serde_json::json!({"processId": null, "rootUri": null, "capabilities": {}});
    send(&mut to, Message::Request(Request::new(RequestId::from(1), "initialize".into(), init)));
    assert!(matches!(Message::read(&mut from).unwrap(), Some(Message::Response(_))));
    send(
        &mut to,
        Message::Notification(Notification::new("initialized".into(), serde_json::json!({}))),
    );
    let uri = format!("file://{}", file.display());
    let text = std::fs::read_to_string(file).unwrap();
    let diagnostics = |from: &mut BufReader<std::process::ChildStdout>| loop {
        match Message::read(from).unwrap() {
            Some(Message::Notification(n)) if n.method == "textDocument/publishDiagnostics" => {
                if n.params["uri"] == uri.as_str() {
                    return n.params["diagnostics"].as_array().map_or(0, Vec::len);
                }
            }
            Some(_) => {}
            None => panic!("infra lsp closed its output"),
        }
    };
    let open = serde_json::json!({"textDocument": {"uri": uri, "languageId": "yaml", "version": 1, "text": text}});
    send(&mut to, Message::Notification(Notification::new("textDocument/didOpen".into(), open)));
    assert_eq!(diagnostics(&mut from), 0, "the generated file is valid");
    let mut runs: Vec<Duration> = (0..5)
        .map(|i| {
            let edited =
                text.replacen("versioning: true", &format!("versioning: {}", i % 2 == 0), 1);
            let change = serde_json::json!({
                "textDocument": {"uri": uri, "version": i + 2},
                "contentChanges": [{"text": edited}],
            });
            let t = Instant::now();
            send(
                &mut to,
                Message::Notification(Notification::new("textDocument/didChange".into(), change)),
            );
            diagnostics(&mut from);
            t.elapsed()
        })
        .collect();
    drop(to);
    let _ = child.kill();
    let _ = child.wait();
    runs.sort();
    runs[2]
}

/// Runs a child to its end: exit code, wall time, peak resident memory in MiB,
/// stdout. The child is reaped by waitpid here.
#[allow(clippy::zombie_processes)]
fn run_measured(mut cmd: Command) -> (i32, Duration, f64, String) {
    let started = Instant::now();
    let child = cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("infra runs");
    let pid = child.id() as libc::pid_t;
    let mut stdout = child.stdout.expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut s);
        s
    });
    // The child's own high-water mark (VmHWM of its address space), read until it
    // exits. (wait4's ru_maxrss would also count this process's memory, which
    // the child shared until it exec'd.)
    let mut status = 0;
    let mut peak_kib = 0u64;
    let status_file = format!("/proc/{pid}/status");
    loop {
        if let Ok(s) = std::fs::read_to_string(&status_file)
            && let Some(kib) = s
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        {
            peak_kib = peak_kib.max(kib);
        }
        // SAFETY: reaps this child if it has exited; no other state is touched.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            break;
        }
        assert_eq!(r, 0, "waitpid");
        std::thread::sleep(Duration::from_millis(2));
    }
    let took = started.elapsed();
    let code = if libc::WIFEXITED(status) { libc::WEXITSTATUS(status) } else { -1 };
    (code, took, peak_kib as f64 / 1024.0, reader.join().unwrap_or_default())
}

/// A saved observation of a stack as if it had been applied: every attribute as
/// desired, every exported value made up. One resource in a hundred has drifted.
fn observation(stack: &infra::stack::Stack, graph: &Graph) -> (State, Observed) {
    let mut state = State::new(&stack.name);
    for (i, address) in graph.creation_order().into_iter().enumerate() {
        let r = &stack.resources[&address];
        let lookup = |x: &Reference| {
            state.resources.get(&x.address).and_then(|s| s.attributes.get(&x.attr)).cloned()
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
    // Deferred attributes (a group's rules) may reference what came later.
    let resolved: Vec<_> = state
        .resources
        .iter()
        .map(|(a, r)| {
            let lookup = |x: &Reference| {
                state.resources.get(&x.address).and_then(|s| s.attributes.get(&x.attr)).cloned()
            };
            (a.clone(), reference::resolve(&Value::Object(r.attributes.clone()), &lookup))
        })
        .collect();
    for (a, v) in resolved {
        if let (Value::Object(m), Some(r)) = (v, state.resources.get_mut(&a)) {
            r.attributes = m;
        }
    }
    let mut observed = infra::plan::as_recorded(&state);
    for (i, seen) in observed.values_mut().enumerate() {
        if i % 100 == 7
            && let Some(tags) =
                seen.as_mut().and_then(|m| m.get_mut("tags")).and_then(Value::as_object_mut)
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
    /// `infra plan --refresh=false` of the same stack against the same
    /// observation (as its state), a whole process: time and peak memory.
    process: Duration,
    process_peak: f64,
    state_mb: f64,
    validate_1000: Duration,
    /// The same file written with `for_each` and `count`.
    validate_for_each: Duration,
    /// `infra lsp`: a change of the 1,000-resource file to its diagnostics.
    lsp_change: Duration,
}

fn core(dir: &Path) -> Core {
    let n = std::env::var("BENCH_CORE_SIZE").ok().and_then(|s| s.parse().ok()).unwrap_or(10_001);
    let file = dir.join("core.yaml");
    std::fs::write(&file, generate("core", n)).unwrap();
    let t = Instant::now();
    let text = std::fs::read_to_string(&file).unwrap();
    let (stack, _) = infra::stack::parse(&file.display().to_string(), &text)
        .expect("the generated stack is valid");
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
    let changes = plan.counts().change;
    assert!(text.contains("to change"), "the drifted resources show");
    if std::env::var_os("BENCH_SHOW_PLAN").is_some() {
        eprintln!("{text}");
    }

    // The same, as a user runs it: the observation is the state, and the plan
    // does not refresh. An endpoint that answers nothing proves no AWS call.
    let mut recorded = state.clone();
    for (a, seen) in &observed {
        if let (Some(r), Some(attrs)) = (recorded.resources.get_mut(a), seen) {
            r.attributes = attrs.clone();
        }
    }
    std::fs::write(dir.join("core-state.json"), serde_json::to_vec(&recorded).unwrap()).unwrap();
    let n_resources = stack.resources.len();
    drop((recorded, state, observed, plan, text, graph, stack));
    let state_mb =
        std::fs::metadata(dir.join("core-state.json")).map_or(0.0, |m| m.len() as f64 / 1e6);
    let tripwire = support::Tripwire::start();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_infra"));
    cmd.args(["plan", "--refresh=false", "--state", "core-state.json", "core.yaml"])
        .current_dir(dir)
        .env("AWS_ENDPOINT_URL", &tripwire.url)
        .env("AWS_ACCESS_KEY_ID", "bench")
        .env("AWS_SECRET_ACCESS_KEY", "bench")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("NO_COLOR", "1");
    let (code, process, process_peak, stdout) = run_measured(cmd);
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.contains(&format!("Plan: 0 to add, {changes} to change, 0 to destroy.")),
        "{}",
        support::last_line(&stdout)
    );
    assert_eq!(tripwire.connections(), 0, "no AWS request");

    let file = dir.join("validate.yaml");
    std::fs::write(&file, generate("validate", 1001)).unwrap();
    let validate_1000 = validate_median(&file, 1001);
    let lsp_change = lsp_change_median(&file);
    let file = dir.join("validate-for-each.yaml");
    std::fs::write(&file, generate_for_each("validate", 1001)).unwrap();
    let validate_for_each = validate_median(&file, 1001);
    Core {
        n: n_resources,
        state_mb,
        parse,
        graph: graph_time,
        diff,
        render,
        changes,
        process,
        process_peak,
        validate_1000,
        validate_for_each,
        lsp_change,
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
    /// Seconds the emulator took to answer the plan's requests, summed.
    emulator: f64,
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
    let timings = w.path("timings.json");
    let t = Instant::now();
    let apply = w
        .command(&["apply", "--auto-approve", "--parallelism", "20", "stack.yaml"])
        .env("INFRA_TIMINGS", &timings)
        .output()
        .unwrap();
    let apply_time = t.elapsed();
    assert!(apply.status.success(), "apply of {n}: {}", String::from_utf8_lossy(&apply.stderr));
    let state_path = w.path(&format!("state/{name}.json"));
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(&state_path).unwrap()).unwrap();
    let resources = state["resources"].as_object().unwrap().len();
    // A security group is two operations (the group, then its rules).
    let ops = resources + per_type.get("security_group").copied().unwrap_or(0);
    // Counted by apply itself (INFRA_TIMINGS): writes that reached the disk.
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&timings).unwrap()).unwrap();
    let writes_per_op = doc["state_writes"].as_u64().unwrap() as f64 / ops as f64;
    let state_bytes = std::fs::metadata(&state_path).unwrap().len();

    let counts_before = proxy.counts();
    let busy_before = proxy.upstream_seconds();
    let (code, plan_time, peak, stdout) =
        run_measured(w.command(&["plan", "--detailed-exitcode", "stack.yaml"]));
    assert_eq!(code, 0, "the plan after apply has nothing to do:\n{stdout}");
    let emulator = proxy.upstream_seconds() - busy_before;
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
        emulator,
        peak,
        requests,
        per_type,
        state_bytes,
        writes_per_op,
    }
}

/// The figures the lean workload is compared with (issue 18, measured against
/// moto 5.1.22 on one machine): carina (provider-aws v0.5.0) and infra before
/// the lean apply and destroy (a debug build): (requests, seconds).
const PEER: [(&str, u64, f64); 3] =
    [("apply", 1_105, 11.1), ("no-op plan", 703, 8.1), ("destroy", 904, 10.1)];
const BEFORE: [(&str, u64, f64); 3] =
    [("apply", 3_303, 25.9), ("no-op plan", 804, 2.4), ("destroy", 1_205, 9.9)];

/// One phase of the lean workload: requests, wall time, and the requests by
/// operation.
struct Phase {
    name: &'static str,
    requests: u64,
    wall: Duration,
    by_op: BTreeMap<String, u64>,
}

/// The lean workload: one VPC, 100 versioned buckets, 100 security groups.
fn lean() -> Vec<Phase> {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.url);
    let mut text =
        "stack: lean\nregion: ap-northeast-1\nresources:\n  vpc.main:\n    cidr_block: 10.0.0.0/16\n"
            .to_string();
    for i in 0..100 {
        let _ = write!(
            text,
            "  s3_bucket.b{i}:\n    name: lean-bucket-{i}\n    versioning: true\n  security_group.g{i}:\n    vpc_id: ${{vpc.main.id}}\n    description: group {i}\n"
        );
    }
    // The first requests to each of the emulator's services load it (about two
    // seconds here): a small stack applied and destroyed first, untimed, so
    // that the figures are the workload's.
    let warm = Workdir::new(
        &proxy.url,
        "stack: warm\nregion: ap-northeast-1\nresources:\n  vpc.main:\n    cidr_block: 10.9.0.0/16\n  s3_bucket.b:\n    name: warm-bucket\n  security_group.g:\n    vpc_id: ${vpc.main.id}\n    description: warm\n",
    );
    warm.apply_ok();
    assert_eq!(warm.run(&["destroy", "--auto-approve", "stack.yaml"]).code, 0);
    let w = Workdir::new(&proxy.url, &text);
    let mut phases = Vec::new();
    for (name, args) in [
        ("apply", &["apply", "--auto-approve", "stack.yaml"][..]),
        ("no-op plan", &["plan", "--detailed-exitcode", "stack.yaml"][..]),
        ("destroy", &["destroy", "--auto-approve", "stack.yaml"][..]),
    ] {
        proxy.reset();
        let t = Instant::now();
        let out = w.command(args).output().unwrap();
        let wall = t.elapsed();
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        let by_op: BTreeMap<String, u64> =
            proxy.counts().into_iter().map(|(k, v)| (k, v.as_u64().unwrap_or(0))).collect();
        phases.push(Phase { name, requests: by_op.values().sum(), wall, by_op });
    }
    phases
}

/// What one bucket (`lean-bucket-7`) and one group (the group operations'
/// counts over 100) cost by operation in each phase, as table rows.
fn lean_by_op(phases: &[Phase]) -> String {
    let mut rows: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (i, p) in phases.iter().enumerate() {
        for (op, n) in &p.by_op {
            let (what, count) = if op.contains("/lean-bucket-7/") {
                ("bucket", format!("{n}"))
            } else if op.contains("SecurityGroup") {
                ("group", format!("{:.2}", *n as f64 / 100.0))
            } else {
                continue;
            };
            let shown = op.replace("lean-bucket-7", "BUCKET");
            let row = rows
                .entry(format!("{what} | `{shown}`"))
                .or_insert_with(|| vec!["0".to_string(); phases.len()]);
            row[i] = count;
        }
    }
    rows.into_iter().map(|(k, v)| format!("| {k} | {} |\n", v.join(" | "))).collect()
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
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
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

/// What the figures mean; the same on every run.
const NOTES: &str = r#"## Reading the figures

**Requests per resource.** Refresh reads each type in as few calls as its API
allows, types in parallel, each service within its pace: subnets, security groups
and their rules by lists of 200 ids; target groups and their tags by lists of 20
ARNs; repositories by lists of 100 names; listeners by load balancer; buckets'
existence by one ListBuckets. Those batchable reads cost 0.01 to 0.1 requests per
resource. What no AWS API can batch is read once per resource, a few at a time: a
target group's attributes (1 call; its registered targets, 1 more, only where the
stack manages them), a repository's tags, lifecycle policy and repository policy
(3), and a bucket's versioning, encryption, public access block, ownership, tags,
lifecycle, CORS and policy (8; S3 has no batch read at all, and Terraform's
provider spends about fourteen). The 0.3-a-resource target is met by every
batchable read and cannot be met by those per-resource reads without dropping
attributes from drift detection; the mix averages about 2.4.

**Wall time.** The no-op plan waits on the emulator. "Emulator busy" is the time
moto (behind the Python proxy) took to answer the plan's requests, summed over
them; it exceeds the wall time because requests overlap, and there is a request
outstanding nearly all the time. `infra`'s own work is small beside it: the core
figures above put parsing, diffing and rendering at well under a second for
10,000 resources, so about a tenth of a second at 1,000. Each service's pace (50
requests a second, 500 for S3; `INFRA_MAX_REQUESTS_PER_SECOND`) keeps a large
refresh under AWS's throttling limits. Wall time grows linearly with the number
of resources.

**Core.** The whole-process figure adds starting the binary and reading and
parsing a 5 MB state to the core's phases. Its peak memory is the child's own
high-water mark (VmHWM, read while it runs). On this shared machine the same run
varies by a few hundred milliseconds from one run to the next. To stay fast and
under 200 MB, the state is parsed straight into its types rather than through a
JSON tree, a plan that does not refresh moves the recorded attributes instead of
copying them, the plan keeps of each resource only the values something
references (copied from what exists, not cloned whole), a text plan keeps no
sides of its no-op changes (the JSON plan and saved plans keep them), and
rendering copies only the changes it shows.

**Apply.** The executor starts each step the moment the last step it waits for
finishes, bounded by `--parallelism`, so the platform's apply takes the time of its
longest chain of dependent steps. A create is configured from what the create's
answer describes (a subnet's zone and ARN, a target group's health check, a
repository's URL) or from what AWS gives a new resource (a bucket's SSE-S3, a
group's one rule out, a VPC's DNS settings, a target group's attributes) rather
than from a read, and recorded from what was asked plus what AWS computed (ids,
ARNs, zones, addresses), for every type. Listeners, rules, load balancers,
access entries and Pod Identity associations take what AWS chose from their
create's answer; OIDC providers and alarms derive their ARN; a launch template
asks DescribeLaunchTemplates for its version numbers (a change makes a new
one); the types AWS works on after it answers (NAT gateways, endpoints, load
balancers, the cluster, node groups, add-ons, Firehose) read nothing after the
wait, whose last look saw them whole. The whole platform (stacks/platform.yaml,
46 resources) is made in 93 requests, 19 of them reads: one look per wait, the
alarm's name (PutMetricAlarm would replace another silently), the template's
versions, the subnets route tables take over, the account (147 before). A
configure that AWS answers with "not found" right after the create is tried again
for a few seconds (eventual consistency). A group whose rules are those its create left takes no rules step
at all. The first apply of the 1,000-resource stack is about two requests a
resource: a subnet, target group or repository one (its create), a group two (its
create, its rules), a versioned bucket five.

**Lean.** A bucket is five calls (CreateBucket; public access block, ownership,
versioning, tags), a group one (CreateSecurityGroup with its tags), a VPC one. The
public access block and ownership are AWS's defaults for a new bucket only since
2023 and the emulator does not apply them, so they are set rather than assumed;
SSE-S3 applies to every bucket and cannot be turned off, so it is assumed (a read
with no configuration reports it). A destroy asks only which resources exist (one
ListBuckets; DescribeVpcs, DescribeSubnets, DescribeSecurityGroups,
DescribeTargetGroups and DescribeRepositories by lists of ids) and revokes only a
group's rules that name another group, first; `destroy --refresh=false` reads
nothing. The emulator is warmed first (its first request to each service loads
that service, about two seconds), so that the figures are the workload's.

The no-op plan's floor is its 807 requests: the issue's 804 (8 reads a bucket, S3
having no batch read, since that is how drift such as a policy added by hand is
found; one ListBuckets, DescribeVpcs, DescribeSecurityGroups and
DescribeSecurityGroupRules) plus the check that the credentials are the state's
account (GetCallerIdentity, which refuses to plan against the wrong account) and
the VPC's two DNS settings (DescribeVpcAttribute answers one a call; EKS needs
both on). Its wall time is the emulator's: about 130 requests a second on the
issue's machine, fewer here. The peer's figures are the issue's, from the same
emulator on another machine; this machine answers the same plan more slowly, so
its wall times are compared as measured (met or not) and as estimated on the
issue's machine.

**State.** The state file grows linearly (under 1 MB at 1,000 resources). Each
resource operation writes it at most twice: the intent before the mutating call
and the result after it, which is what makes a killed apply recoverable
(docs/state.md); an operation AWS finishes later (EKS) writes once more while it
waits. Writes of steps that finish together are coalesced (a write that a later
snapshot already covers is skipped), but local writes take a millisecond or two,
so they seldom overlap and the figure stays at 2. The 1-write target conflicts
with the intent that must be on disk before each mutating call; the second write
is the price of a crash-proof apply.
"#;

fn main() {
    // `cargo bench` passes --bench; nothing else is taken.
    let sizes: Vec<usize> = std::env::var("BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![101, 501, 1001]);
    let dir = tempfile::tempdir().unwrap();
    let mut out = String::new();
    let started = chrono::Utc::now().format("%Y-%m-%d");

    // The AWS parts first: a child's peak memory counts what this process held
    // when it forked, and the core's fixture is large.
    let only_core = std::env::var("BENCH_ONLY").as_deref() == Ok("core");
    let mut rows = Vec::new();
    let mut platform = None;
    let mut lean_phases = Vec::new();
    if !only_core {
        for &n in &sizes {
            eprintln!("scale: {n} resources against moto (apply once, then a no-op plan)...");
            rows.push(scale(n));
        }
        eprintln!("critical path: the platform with 2 s on every mutating call...");
        platform = Some(critical_path(dir.path()));
        eprintln!("lean: 100 buckets, 100 groups and a VPC applied, planned, destroyed...");
        lean_phases = lean();
    }
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
        "\nThe plan has {} changes (1 resource in 100 drifted). Target for the core: under 1 s: **{}**.\n",
        c.changes,
        if core_total < Duration::from_secs(1) { "met" } else { "not met" },
    );
    let _ = writeln!(
        out,
        "As a user runs it, `infra plan --refresh=false` of the same file against that observation as its state (parse, validate, lock, read the {:.1} MB state, diff, render; no AWS request), a whole process: **{:.0} ms, {:.0} MiB peak** (target: under 1 s and 200 MB: **{}**).\n",
        c.state_mb,
        c.process.as_secs_f64() * 1000.0,
        c.process_peak,
        if c.process < Duration::from_secs(1) && c.process_peak < 200.0 {
            "met"
        } else {
            "not met"
        }
    );
    let _ = writeln!(
        out,
        "`infra validate` of a 1,000-resource file, a whole process (median of 5): {:.0} ms (target: under 100 ms: **{}**); the same file written with `for_each` and `count` (five resources, the keys from for-expressions, a rule naming another instance by key): {:.0} ms (target: under 150 ms: **{}**).\n",
        c.validate_1000.as_secs_f64() * 1000.0,
        if c.validate_1000 < Duration::from_millis(100) { "met" } else { "not met" },
        c.validate_for_each.as_secs_f64() * 1000.0,
        if c.validate_for_each < Duration::from_millis(150) { "met" } else { "not met" }
    );
    let _ = writeln!(
        out,
        "`infra lsp` with the 1,000-resource file open, from a change to its diagnostics, through the protocol on the process's stdio (median of 5): {:.0} ms (target: under 200 ms: **{}**).\n",
        c.lsp_change.as_secs_f64() * 1000.0,
        if c.lsp_change < Duration::from_millis(200) { "met" } else { "not met" }
    );

    if !rows.is_empty() {
        let _ = writeln!(out, "## No-op plan against moto, through the counting proxy\n");
        let _ = writeln!(
            out,
            "| resources | no-op plan | emulator busy | peak memory | requests / resource | subnet | security group | target group | bucket | repository | state file | state writes / operation | first apply |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        for r in &rows {
            let total: u64 = r.requests.values().sum();
            let per = |ty: &str| {
                let req = r.requests.get(ty).copied().unwrap_or(0) as f64;
                let count = r.per_type.get(ty).copied().unwrap_or(1).max(1) as f64;
                format!("{:.2}", req / count)
            };
            let _ = writeln!(
                out,
                "| {} | {:.2} s | {:.2} s | {:.0} MiB | {:.2} | {} | {} | {} | {} | {} | {:.0} KiB | {:.2} | {:.0} s |",
                r.n,
                r.plan.as_secs_f64(),
                r.emulator,
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
    }

    if let Some((wall, path, process, steps)) = platform {
        let _ = writeln!(
            out,
            "## Apply of the field-notes platform, 2 s added to every mutating call\n"
        );
        let _ = writeln!(
            out,
            "{steps} steps. Executor wall time {wall:.1} s; critical path (the longest chain of dependent steps, each as long as it took) {path:.1} s; ratio **{:.2}** (target: at most 1.1). The whole process took {process:.1} s.\n",
            wall / path
        );
    }

    if !lean_phases.is_empty() {
        let _ = writeln!(
            out,
            "## Lean apply and destroy: 100 versioned buckets, 100 security groups, one VPC\n"
        );
        let _ = writeln!(
            out,
            "| phase | requests | wall time | on the issue's machine (est.) | carina (issue 18) | infra before (debug build) | target | met |\n|---|---|---|---|---|---|---|---|"
        );
        // The no-op plan is the issue's own (it did not change): how much
        // slower this machine and its emulator are than the issue's.
        let plan_here = lean_phases
            .iter()
            .find(|p| p.name == "no-op plan")
            .map_or(1.0, |p| p.wall.as_secs_f64());
        let plan_there = BEFORE[1].2;
        let slower = plan_here / plan_there;
        for p in &lean_phases {
            let peer = PEER.iter().find(|x| x.0 == p.name).expect("a peer figure");
            let before = BEFORE.iter().find(|x| x.0 == p.name).expect("a figure before");
            let wall = p.wall.as_secs_f64();
            let (target, met) = match p.name {
                "apply" => (
                    "≤ 660 requests, ≤ half the peer's time".to_string(),
                    p.requests <= 660 && wall <= peer.2 / 2.0,
                ),
                "destroy" => ("≤ 450 requests".to_string(), p.requests <= 450),
                _ => (
                    format!("≤ {} requests, < 0.3 × the peer's time", before.1),
                    p.requests <= before.1 && wall < peer.2 * 0.3,
                ),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {wall:.1} s | {:.1} s | {} requests, {:.1} s | {} requests, {:.1} s | {target} | **{}** |",
                p.name,
                p.requests,
                wall / slower,
                peer.1,
                peer.2,
                before.1,
                before.2,
                if met { "met" } else { "not met" }
            );
        }
        let _ = writeln!(
            out,
            "\nMet or not is judged on this machine's own wall time. This machine answers the unchanged no-op plan in {plan_here:.1} s where the issue measured {plan_there:.1} s ({slower:.1} times slower; the plan waits on the emulator, so the build matters little); the estimate divides by that. The peer cannot be run here.\n"
        );
        let _ = writeln!(
            out,
            "\nBy operation, one bucket (`BUCKET`, counted) and one group (the group operations over 100):\n\n| resource | operation | {} |\n|---|---|{}",
            lean_phases.iter().map(|p| p.name).collect::<Vec<_>>().join(" | "),
            "---|".repeat(lean_phases.len())
        );
        out.push_str(&lean_by_op(&lean_phases));
        if let Some(big) = rows.iter().find(|r| r.n > 900) {
            let _ = writeln!(
                out,
                "\nFirst apply of the {}-resource stack: {:.0} s (target: at most half of 140 s: **{}**).",
                big.n,
                big.apply.as_secs_f64(),
                if big.apply.as_secs_f64() <= 70.0 { "met" } else { "not met" }
            );
        }
        out.push('\n');
    }

    let doc = format!(
        "# Benchmarks\n\nMeasured on {started} with `scripts/bench` (one command from a fresh clone: it installs moto, builds with the `bench` profile and runs `benches/scale.rs`). The figures are from one run on a shared 2-core machine; timings vary by tens of percent from run to run.\n\n{out}{NOTES}"
    );
    print!("{doc}");
    let target = std::env::var("BENCH_OUT").unwrap_or_else(|_| {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/benchmarks.md").display().to_string()
    });
    std::fs::write(&target, doc).unwrap();
    eprintln!("written to {target}");
}
