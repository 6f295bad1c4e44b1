//! The pure core, driven by data files under tests/data and checked with snapshots:
//! validation errors, plans and their text, the dependency graph, the step order.

use std::path::Path;

use infra::apply::{Work, build_steps};
use infra::plan::{self, Action, Observed};
use infra::stack;
use infra::stack::graph::Graph;
use infra::types::Operation::{Create, Delete, DeleteDeposed, DeleteRules, Update};
use infra::types::state::{self, State};
use infra::types::{Address, Operation};

/// A snapshot under the name it had when these tests were `tests/core.rs`.
macro_rules! snapshot {
    ($name:expr, $value:expr) => {{
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path("../snapshots");
        settings.set_prepend_module_to_snapshot(false);
        settings.bind(|| insta::assert_snapshot!(format!("core__{}", $name), $value));
    }};
}

/// The step of `address` that does `op`.
fn step_of(steps: &[infra::apply::Step], address: &str, op: Operation) -> usize {
    steps.iter().position(|s| s.address.to_string() == address && s.work == Work::Run(op)).unwrap()
}

/// A plan as `infra plan` prints it: through `render::render`, the one way
/// renderers see a plan (redacted, unknowns marked).
fn text_plan(p: &plan::Plan) -> String {
    infra::render::render(p, infra::render::Format::Text, false)
}

/// A stack file, parsed and validated.
fn load(path: &Path) -> (stack::Stack, Vec<stack::diag::Problem>) {
    let text = std::fs::read_to_string(path).unwrap();
    stack::parse(&path.display().to_string(), &text).unwrap()
}

/// The inputs of a stack in `stacks/`: the library's module files, by
/// their path beside it (what `infra` reads at the edge).
fn library() -> stack::Inputs {
    let mut inputs = stack::Inputs::default();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("stacks/modules");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        inputs.files.insert(format!("modules/{name}"), Ok(std::fs::read_to_string(&path).unwrap()));
    }
    inputs
}

fn data(rel: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(rel)
}

/// Every invalid stack is refused with located problems (a `warn_` fixture only
/// under `--strict`); the snapshot holds them all.
#[test]
fn invalid_stacks_are_reported_with_locations() {
    insta::glob!("../data", "invalid/*.yaml", |path| {
        let text = std::fs::read_to_string(path).unwrap();
        let name = format!("{}", path.file_name().unwrap().to_string_lossy());
        // Invalid, or (the `warn_` fixtures) invalid under `--strict`.
        let errors = match stack::parse(&name, &text) {
            Err(errors) => errors,
            Ok((_, warnings)) => {
                assert!(name.starts_with("warn_"), "{name}: the fixture is invalid");
                assert!(warnings.iter().all(|w| w.warning));
                stack::StackErrors { file: name.clone(), problems: warnings }
            }
        };
        assert!(!errors.problems.is_empty());
        for p in &errors.problems {
            assert!(
                p.loc.line >= 1 && p.loc.column >= 1,
                "{name}: problem without a location: {}",
                p.message
            );
        }
        snapshot!("invalid_stacks_are_reported_with_locations", errors.render(false));
    });
}

/// No panic on mangled input: every prefix of every fixture either parses or errs.
#[test]
fn truncated_files_never_panic() {
    for dir in ["invalid", "plan", "plan-cutover", "plan-review"] {
        for entry in std::fs::read_dir(data(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "yaml") {
                let text = std::fs::read_to_string(&path).unwrap();
                for cut in (0..text.len()).filter(|i| text.is_char_boundary(*i)) {
                    let _ = stack::parse("cut.yaml", &text[..cut]);
                }
            }
        }
    }
}

#[test]
fn the_demo_stack_is_valid_with_defaults_and_tags() {
    let (s, warnings) = load(&data("../../stacks/demo.yaml"));
    assert!(warnings.is_empty());
    assert_eq!(s.resources.len(), 7);
    let sg = &s.resources[&Address::new("security_group", "alb")];
    assert_eq!(sg.attrs["name"], "demo-alb");
    assert_eq!(sg.attrs["tags"]["infra:stack"], "demo");
    assert_eq!(sg.attrs["tags"]["infra:address"], "security_group.alb");
    assert_eq!(sg.attrs["tags"]["project"], "enza");
    let bucket = &s.resources[&Address::new("s3_bucket", "logs")];
    assert_eq!(bucket.attrs["encryption"], "AES256");
    assert_eq!(bucket.attrs["public_access_block"], true);
    assert_eq!(bucket.attrs["force_destroy"], false);
    let repo = &s.resources[&Address::new("ecr_repository", "app")];
    assert_eq!(repo.attrs["scan_on_push"], true);
}

#[test]
fn mutual_security_group_rules_are_no_cycle_and_the_graph_is_stable() {
    let (s, _) = load(&data("../../stacks/demo.yaml"));
    assert!(infra::stack::graph::cycles(&s).is_empty());
    let g = Graph::build(&s);
    let order = g.creation_order();
    let pos = |a: &str| order.iter().position(|x| x.to_string() == a).unwrap();
    assert!(pos("vpc.main") < pos("subnet.public_a"));
    assert!(pos("vpc.main") < pos("security_group.alb"));
    snapshot!("mutual_security_group_rules_are_no_cycle_and_the_graph_is_stable", g.to_dot());
}

/// A plan case: the stack file, the state captured from a real apply of the demo
/// stack, and the observation made from that state minus the resources the file's
/// first line names as deleted outside infra (`# gone: ADDRESS ...`).
fn plan_case(name: &str) -> (stack::Stack, State, plan::Plan) {
    plan_case_in("plan", name)
}

fn plan_case_in(dir: &str, name: &str) -> (stack::Stack, State, plan::Plan) {
    let text = std::fs::read_to_string(data(&format!("{dir}/{name}.yaml"))).unwrap();
    let gone: Vec<String> = text
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("# gone:"))
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default();
    let (s, _) = stack::parse(&format!("{name}.yaml"), &text).unwrap();
    let state_text = std::fs::read_to_string(data(&format!("{dir}/state.json"))).unwrap();
    let state = state::parse("state.json", &state_text).unwrap();
    let observed: Observed = state
        .resources
        .iter()
        .map(|(a, r)| {
            let seen = (!gone.contains(&a.to_string())).then(|| r.attributes.clone());
            (a.clone(), seen)
        })
        .collect();
    let p = plan::plan(&s, &Graph::build(&s), &state, &observed);
    (s, state, p)
}

fn actions(p: &plan::Plan) -> Vec<(String, Action)> {
    p.changes
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .map(|c| (c.address.to_string(), c.action))
        .collect()
}

#[test]
fn plans_render_as_text() {
    for case in ["noop", "edits", "three_updates", "vpc_replaced"] {
        let (_, _, p) = plan_case(case);
        snapshot!(case, text_plan(&p));
    }
}

#[test]
fn an_unchanged_stack_plans_no_changes() {
    let (_, _, p) = plan_case("noop");
    assert!(!p.has_changes());
    assert!(text_plan(&p).ends_with("No changes.\n"));
}

#[test]
fn three_edits_are_three_updates_in_place() {
    let (_, _, p) = plan_case("three_updates");
    assert_eq!(
        actions(&p),
        vec![
            ("ecr_repository.app".into(), Action::Update),
            ("security_group.alb".into(), Action::Update),
            ("subnet.public_a".into(), Action::Update),
        ]
    );
    let sg = p.change(&Address::new("security_group", "alb")).unwrap();
    assert_eq!(sg.changed, vec!["ingress"]);
    assert!(text_plan(&p).ends_with("Plan: 0 to add, 3 to change, 0 to destroy.\n"));
}

#[test]
fn edits_replace_delete_and_recreate() {
    let (_, state, p) = plan_case("edits");
    let subnet = p.change(&Address::new("subnet", "public_c")).unwrap();
    assert_eq!(subnet.action, Action::DeleteThenCreate);
    assert_eq!(subnet.replace_because, vec!["cidr_block"]);
    let repo = p.change(&Address::new("ecr_repository", "app")).unwrap();
    assert_eq!(repo.action, Action::Delete);
    let bucket = p.change(&Address::new("s3_bucket", "logs")).unwrap();
    assert_eq!(bucket.action, Action::Create);
    assert_eq!(bucket.reason.as_deref(), Some("it was deleted outside infra"));
    // Tags changed everywhere else: in place.
    assert_eq!(p.change(&Address::new("vpc", "main")).unwrap().action, Action::Update);
    let c = p.counts();
    assert_eq!((c.add, c.change, c.destroy), (2, 4, 2));

    // The replacement deletes before it creates, and the repository goes on its own.
    let (steps, deps) = build_steps(&p, Some(&Graph::build(&plan_case("edits").0)), &state);
    assert!(deps[step_of(&steps, "subnet.public_c", Create)].contains(&step_of(
        &steps,
        "subnet.public_c",
        Delete
    )));
    assert!(deps[step_of(&steps, "ecr_repository.app", Delete)].is_empty());
}

#[test]
fn a_replaced_vpc_replaces_what_sits_in_it() {
    let (s, state, p) = plan_case("vpc_replaced");
    for a in [
        "vpc.main",
        "subnet.public_a",
        "subnet.public_c",
        "security_group.alb",
        "security_group.nodes",
    ] {
        let c = p.changes.iter().find(|c| c.address.to_string() == a).unwrap();
        assert_eq!(c.action, Action::DeleteThenCreate, "{a}");
    }
    let (steps, deps) = build_steps(&p, Some(&Graph::build(&s)), &state);
    // Subnets and groups go before the VPC is deleted, and come back after it is made.
    let vpc_delete = step_of(&steps, "vpc.main", Delete);
    assert!(deps[vpc_delete].contains(&step_of(&steps, "subnet.public_a", Delete)));
    assert!(deps[vpc_delete].contains(&step_of(&steps, "security_group.alb", Delete)));
    assert!(
        deps[step_of(&steps, "subnet.public_a", Create)]
            .contains(&step_of(&steps, "vpc.main", Create))
    );
}

/// A subnet moved from one route table to another is taken by the new table
/// before the old one lets it go: it is never in neither.
#[test]
fn a_subnet_moved_between_route_tables_is_taken_before_it_is_let_go() {
    let (s, state, p) = plan_case_in("plan-cutover", "subnet_moved");
    assert_eq!(
        actions(&p),
        vec![
            ("route_table.public".into(), Action::Update),
            ("route_table.public_c".into(), Action::Create),
        ]
    );
    let (steps, deps) = build_steps(&p, Some(&Graph::build(&s)), &state);
    assert!(
        deps[step_of(&steps, "route_table.public", Update)].contains(&step_of(
            &steps,
            "route_table.public_c",
            Create
        )),
        "{steps:?} {deps:?}"
    );
}

/// The order AWS needs that no reference carries: the load balancer and the
/// NAT gateways wait for the internet gateway, the nodes for their routes and
/// endpoints, the cluster for its log group.
#[test]
fn the_network_implies_what_waits_for_what() {
    // Seen through the modules of stacks/platform.yaml.
    let path = data("../../stacks/platform.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let (s, warnings) = stack::parse_with("platform.yaml", &text, &library()).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let deps = |a: &str| {
        s.resources[&Address::parse(a).unwrap()]
            .dependencies()
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
    };
    assert!(
        deps("module.cutover.load_balancer.web[0]")
            .contains(&"module.network.internet_gateway.main".to_string())
    );
    assert!(
        deps("module.network.nat_gateway.zone[\"a\"]")
            .contains(&"module.network.internet_gateway.main".to_string())
    );
    for need in [
        "module.network.route_table.private[\"a\"]",
        "module.network.route_table.private[\"c\"]",
        "module.network.vpc_endpoint.s3",
    ] {
        assert!(
            deps("module.eks.eks_nodegroup.group[\"app\"]").contains(&need.to_string()),
            "{need}"
        );
    }
    // EKS finds its log group made, with its retention.
    assert!(
        deps("module.eks.eks_cluster.main")
            .contains(&"module.eks.cloudwatch_log_group.eks".to_string())
    );
    let order = Graph::build(&s).creation_order();
    let pos = |a: &str| order.iter().position(|x| x.to_string() == a).unwrap();
    assert!(pos("module.eks.cloudwatch_log_group.eks") < pos("module.eks.eks_cluster.main"));
    assert!(
        pos("module.network.internet_gateway.main") < pos("module.cutover.load_balancer.web[0]")
    );
    assert!(
        pos("module.network.nat_gateway.zone[\"c\"]")
            < pos("module.network.route_table.private[\"c\"]")
    );
    assert!(
        pos("module.network.route_table.private[\"c\"]")
            < pos("module.eks.eks_nodegroup.group[\"app\"]")
    );
}

#[test]
fn destroy_runs_in_reverse_dependency_order() {
    let state_text = std::fs::read_to_string(data("plan/state.json")).unwrap();
    let state = state::parse("state.json", &state_text).unwrap();
    let observed: Observed =
        state.resources.iter().map(|(a, r)| (a.clone(), Some(r.attributes.clone()))).collect();
    let p = plan::plan_destroy(&state, &observed);
    assert_eq!(p.counts().destroy, 7);
    let (steps, deps) = build_steps(&p, None, &state);
    let vpc = step_of(&steps, "vpc.main", Delete);
    for a in ["subnet.public_a", "subnet.public_c", "security_group.alb", "security_group.nodes"] {
        assert!(deps[vpc].contains(&step_of(&steps, a, Delete)), "{a} before the VPC");
    }
    // Each group's rules are revoked before the other group, which they reference, goes.
    assert!(deps[step_of(&steps, "security_group.alb", Delete)].contains(&step_of(
        &steps,
        "security_group.nodes",
        DeleteRules
    )));
    assert!(deps[step_of(&steps, "security_group.nodes", Delete)].contains(&step_of(
        &steps,
        "security_group.alb",
        DeleteRules
    )));
}

#[test]
fn corrupt_and_unknown_states_are_refused() {
    assert!(matches!(state::parse("s.json", "{not json"), Err(state::RecordError::Corrupt { .. })));
    let future = r#"{"version": 99, "serial": 1, "lineage": "x", "stack": "s", "resources": {}}"#;
    assert!(matches!(
        state::parse("s.json", future),
        Err(state::RecordError::UnknownVersion { found: 99, .. })
    ));
    let extra = r#"{"version": 1, "serial": 1, "lineage": "x", "stack": "s", "resources": {}, "surprise": 1}"#;
    assert!(matches!(state::parse("s.json", extra), Err(state::RecordError::Corrupt { .. })));
}

#[test]
fn cutover_plans_render_weights_as_a_split() {
    let (_, _, p) = plan_case_in("plan-cutover", "noop");
    assert!(!p.has_changes(), "{}", text_plan(&p));
    let (_, _, p) = plan_case_in("plan-cutover", "weights");
    assert_eq!(actions(&p), vec![("listener.http".into(), Action::Update)]);
    let text = text_plan(&p);
    assert!(
        text.contains(
            "~ forward: target_group.ec2 100 → 90 (100% → 90%), target_group.eks 0 → 10 (0% → 10%)"
        ),
        "{text}"
    );
    assert!(
        // The share of traffic on the group gaining weight after each step.
        text.contains("rollout: 3 steps (25% of the move (2% of traffic), 50% of the move (5% of traffic), 100% of the move (10% of traffic)), 60 s apart, watched every 10 s and for 60 s after the last, gated by alarm cutover-5xx"),
        "{text}"
    );
    snapshot!("cutover_weights", text);
}

#[test]
fn a_target_group_in_use_is_replaced_create_before_destroy() {
    let (s, state, p) = plan_case_in("plan-cutover", "replaced_target_group");
    let tg = p.change(&Address::new("target_group", "eks")).unwrap();
    assert_eq!(tg.action, Action::CreateThenDelete);
    // The listener and the rule that use it are updated in place to point at the new one.
    assert_eq!(p.change(&Address::new("listener", "http")).unwrap().action, Action::Update);
    assert_eq!(p.change(&Address::new("listener_rule", "api")).unwrap().action, Action::Update);
    snapshot!("cutover_replaced_target_group", text_plan(&p));

    let (steps, deps) = build_steps(&p, Some(&Graph::build(&s)), &state);
    let old_goes = step_of(&steps, "target_group.eks", DeleteDeposed);
    assert!(deps[old_goes].contains(&step_of(&steps, "target_group.eks", Create)));
    assert!(
        deps[old_goes].contains(&step_of(&steps, "listener.http", Update)),
        "the listener moves first"
    );
    assert!(
        deps[old_goes].contains(&step_of(&steps, "listener_rule.api", Update)),
        "the rule moves first"
    );
    assert!(deps[step_of(&steps, "listener.http", Update)].contains(&step_of(
        &steps,
        "target_group.eks",
        Create
    )));
    assert!(
        !steps.iter().any(|s| s.work == Work::Run(Delete)),
        "nothing is deleted before its replacement exists"
    );
}

#[test]
fn a_deposed_object_left_by_an_interruption_is_deleted_next_time() {
    let (s, mut state, _) = plan_case_in("plan-cutover", "noop");
    let tg = state.resources.get_mut(&Address::new("target_group", "eks")).unwrap();
    tg.deposed = vec![state::Deposed { id: "arn:old".into(), attributes: Default::default() }];
    let observed: Observed =
        state.resources.iter().map(|(a, r)| (a.clone(), Some(r.attributes.clone()))).collect();
    let p = plan::plan(&s, &Graph::build(&s), &state, &observed);
    assert_eq!(p.counts().destroy, 1);
    let text = text_plan(&p);
    assert!(
        text.contains("# target_group.eks (the object it replaced) will be destroyed"),
        "{text}"
    );
    let (steps, _) = build_steps(&p, Some(&Graph::build(&s)), &state);
    assert_eq!(steps.iter().map(|s| s.work).collect::<Vec<_>>(), vec![Work::Run(DeleteDeposed)]);
}

#[test]
fn plans_render_as_markdown_and_json() {
    for (dir, case) in
        [("plan", "edits"), ("plan-cutover", "weights"), ("plan-cutover", "replaced_target_group")]
    {
        let (_, _, p) = plan_case_in(dir, case);
        snapshot!(
            format!("{case}_markdown"),
            infra::render::render(&p, infra::render::Format::Markdown, false)
        );
        let json = infra::render::render(&p, infra::render::Format::Json, false);
        let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(parsed["format_version"], "1");
        snapshot!(format!("{case}_json"), json);
    }
}

#[test]
fn markdown_lists_risks_first() {
    let (_, _, p) = plan_case_in("plan", "edits");
    let md = infra::render::render(&p, infra::render::Format::Markdown, false);
    let attention = md.find("**Needs attention**").unwrap();
    assert!(md[attention..].contains("`ecr_repository.app` is **destroyed**"), "{md}");
    assert!(
        md[attention..].contains("`subnet.public_c` is **replaced** (because of `cidr_block`)"),
        "{md}"
    );
    assert!(
        md[attention..].contains("`security_group.alb`: ingress opened to the internet on 80"),
        "{md}"
    );
    let (_, _, p) = plan_case_in("plan-cutover", "weights");
    let md = infra::render::render(&p, infra::render::Format::Markdown, false);
    assert!(md.contains("`listener.http`: traffic shifts (target_group.ec2 100% → 90%, target_group.eks 0% → 10%)"), "{md}");
}

#[test]
fn a_plan_of_hundreds_of_changes_fits_a_comment_with_its_risks() {
    // 600 buckets and 200 security groups open to the internet, all created, and
    // the edits fixture's destroys and replacements.
    let mut text = String::from(
        "stack: big\nregion: ap-northeast-1\nresources:\n  vpc.main:\n    cidr_block: 10.0.0.0/16\n",
    );
    for i in 0..600 {
        text.push_str(&format!("  s3_bucket.b{i}:\n    versioning: true\n    tags: {{ team: platform, cost-center: \"12345\", purpose: logs-for-service-{i} }}\n"));
    }
    for i in 0..200 {
        text.push_str(&format!(
            "  security_group.g{i}:\n    vpc_id: ${{vpc.main.id}}\n    ingress:\n      - {{ protocol: tcp, ports: \"443\", cidr: 0.0.0.0/0 }}\n"
        ));
    }
    let (s, _) = stack::parse("big.yaml", &text).unwrap();
    let empty = State::new("big");
    let p = plan::plan(&s, &Graph::build(&s), &empty, &Observed::new());
    assert_eq!(p.counts().add, 801);
    let md = infra::render::render(&p, infra::render::Format::Markdown, false);
    assert!(md.len() < infra::render::markdown::LIMIT, "{} characters", md.len());
    assert!(md.contains("more changes are not shown in detail"), "folded");
    assert_eq!(
        md.matches("ingress opened to the internet on 443").count(),
        200,
        "every risk still listed"
    );
    assert!(md.trim_end().ends_with("Plan: 801 to add, 0 to change, 0 to destroy."));
}

#[test]
fn sensitive_values_never_show_in_any_format() {
    // An output that shows it is redacted as well.
    let text = "stack: s\nregion: ap-northeast-1\nvariables:\n  db_password: { sensitive: true, default: hunter2 }\nresources:\n  launch_template.nodes:\n    user_data: |\n      #!/bin/bash\n      export DB_PASSWORD=${var.db_password}\noutputs:\n  boot: ${launch_template.nodes.user_data}\n";
    let (s, _) = stack::parse("s.yaml", text).unwrap();
    let p = plan::plan(&s, &Graph::build(&s), &State::new("s"), &Observed::new());
    for format in
        [infra::render::Format::Text, infra::render::Format::Markdown, infra::render::Format::Json]
    {
        let out = infra::render::render(&p, format, false);
        assert!(out.contains("(sensitive)"), "{format:?}: {out}");
        assert!(!out.contains("hunter2"), "{format:?} leaks: {out}");
    }
    assert_eq!(p.outputs["boot"], "(sensitive)");
}

/// A reviewer reads a policy change as the statement it changes (the others
/// folded) and a node bootstrap change as the lines it changes; user data
/// built from a sensitive variable shows none of itself, in any format. The
/// JSON plan holds documents as JSON values.
#[test]
fn a_plan_shows_what_changes_inside_documents_and_text_and_seals_a_secret() {
    let (_, _, p) = plan_case_in("plan-review", "reviewed");
    let text = text_plan(&p);
    let md = infra::render::render(&p, infra::render::Format::Markdown, false);
    let json = infra::render::render(&p, infra::render::Format::Json, false);
    for out in [&text, &md, &json] {
        assert!(!out.contains("tok-1") && !out.contains("tok-2"), "the join token leaks: {out}");
        assert!(!out.contains("JOIN_TOKEN"), "no line of sealed user data shows: {out}");
    }
    assert!(text.contains("(2 unchanged statements hidden)"), "{text}");
    assert!(!text.contains("s3:GetObject"), "an unchanged statement is folded: {text}");
    assert!(text.contains("\"sqs:GetQueueUrl\""), "{text}");
    assert!(text.contains("-   --kubelet-extra-args '--max-pods=58'"), "{text}");
    assert!(text.contains("+   --kubelet-extra-args '--max-pods=110'"), "{text}");
    assert!(text.contains("~ user_data: \"(sensitive)\" -> \"(sensitive, changed)\""), "{text}");
    // In markdown each change's marker stands in the first column, where
    // GitHub's diff highlighting reads it.
    assert!(md.lines().any(|l| l.starts_with("-") && l.contains("max-pods=58")), "{md}");
    assert!(md.lines().any(|l| l.starts_with("+") && l.contains("max-pods=110")), "{md}");
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    let role = parsed["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == "iam_role.app")
        .unwrap();
    assert!(role["after"]["inline_policies"]["app"]["Statement"].is_array(), "{role}");
    assert!(role["before"]["assume_role_policy"]["Statement"].is_object(), "{role}");
    snapshot!("reviewed_text", text);
    snapshot!("reviewed_markdown", md);
    // docs/ci.md shows this very comment.
    let ci = std::fs::read_to_string(data("../../docs/ci.md")).unwrap();
    assert!(ci.contains(&md), "docs/ci.md's example is not the comment infra writes:\n{md}");
}

/// The platform's first plan as a reviewer reads it in the pull request:
/// under half the 702 lines it was, every policy indented (no escaped JSON),
/// the tags every resource carries said once, each "Needs attention" item
/// a real grant or exposure, and the chart of its modules.
#[test]
fn the_platforms_first_markdown_plan_is_short_and_every_item_is_true() {
    let path = data("../../stacks/platform.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let (s, _) = stack::parse_with("platform.yaml", &text, &library()).unwrap();
    let p = plan::plan(&s, &Graph::build(&s), &State::new("platform"), &Observed::new());
    let md = infra::render::render(&p, infra::render::Format::Markdown, false);
    let lines = md.lines().count();
    assert!(lines < 351, "{lines} lines:\n{md}");
    assert!(!md.contains("\\\"Statement"), "a policy as escaped JSON:\n{md}");
    assert_eq!(md.matches("jsonencode({").count(), 10, "every policy and document indented:\n{md}");
    assert_eq!(md.matches("infra:stack").count(), 1, "said once:\n{md}");
    assert!(!md.contains("labels: {  }") && !md.contains("taints: []"), "{md}");
    snapshot!("platform_markdown", md);
}

/// A value that reads like JSON in an attribute that holds no document (a
/// description, a tag, from a variable) stays the text it is in the JSON
/// plan; a policy becomes a JSON value.
#[test]
fn only_document_attributes_become_json_values() {
    let text = "stack: s\nregion: ap-northeast-1\nvariables:\n  odd: { default: '{\"a\": 1}' }\nresources:\n  iam_role.r:\n    assume_role_service: ec2.amazonaws.com\n    description: ${var.odd}\n    tags: { note: \"${var.odd}\" }\n";
    let (s, _) = stack::parse("s.yaml", text).unwrap();
    let p = plan::plan(&s, &Graph::build(&s), &State::new("s"), &Observed::new());
    let json = infra::render::render(&p, infra::render::Format::Json, false);
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    let after = &parsed["resource_changes"][0]["after"];
    assert_eq!(after["description"], "{\"a\": 1}", "{after}");
    assert_eq!(after["tags"]["note"], "{\"a\": 1}", "{after}");
    assert!(after["assume_role_policy"]["Statement"].is_object(), "{after}");
}

/// A saved plan is a file anyone can edit: a change without the side its action
/// needs renders without a panic, in every format.
#[test]
fn an_edited_saved_plan_never_panics_a_renderer() {
    let (_, _, mut p) = plan_case("edits");
    for c in &mut p.changes {
        c.before = None;
        c.after = None;
    }
    for format in
        [infra::render::Format::Text, infra::render::Format::Markdown, infra::render::Format::Json]
    {
        let out = infra::render::render(&p, format, false);
        assert!(out.contains("subnet.public_c"), "{format:?}: {out}");
    }
}

#[test]
fn drift_names_what_changed_outside_infra() {
    let (s, state, _) = plan_case("edits");
    // AWS now reports another ingress rule on the ALB group than the last apply left.
    let mut observed: Observed =
        state.resources.iter().map(|(a, r)| (a.clone(), Some(r.attributes.clone()))).collect();
    let alb = Address::new("security_group", "alb");
    observed
        .get_mut(&alb)
        .unwrap()
        .as_mut()
        .unwrap()
        .insert("ingress".into(), serde_json::json!([]));
    observed.insert(Address::new("s3_bucket", "logs"), None);
    let p = plan::plan(&s, &Graph::build(&s), &state, &observed);
    let drift: Vec<(String, bool, Vec<String>)> =
        p.drift.iter().map(|d| (d.address.to_string(), d.deleted, d.attributes.clone())).collect();
    assert_eq!(
        drift,
        vec![
            ("s3_bucket.logs".to_string(), true, vec![]),
            ("security_group.alb".to_string(), false, vec!["ingress".to_string()]),
        ]
    );
    let json: serde_json::Value =
        serde_json::from_str(&infra::render::render(&p, infra::render::Format::Json, false))
            .unwrap();
    assert_eq!(json["drift"][1]["attributes"][0], "ingress");
}

#[test]
fn a_plan_without_no_op_sides_renders_the_same_text_and_a_target_keeps_its_dependencies() {
    for case in ["noop", "edits", "three_updates", "vpc_replaced"] {
        let text = std::fs::read_to_string(data(&format!("plan/{case}.yaml"))).unwrap();
        let (s, _) = stack::parse(&format!("{case}.yaml"), &text).unwrap();
        let state_text = std::fs::read_to_string(data("plan/state.json")).unwrap();
        let state = state::parse("state.json", &state_text).unwrap();
        let observed = plan::as_recorded(&state);
        let graph = Graph::build(&s);
        let full = plan::plan(&s, &graph, &state, &observed);
        let lean = plan::plan_with(&s, &graph, &state, &observed, false);
        assert_eq!(text_plan(&full), text_plan(&lean), "{case}");
        for c in &lean.changes {
            let sides = c.before.is_some() || c.after.is_some();
            assert_eq!(sides, c.action != Action::NoOp, "{case}: {}", c.address);
        }
    }
    let (s, _, _) = plan_case("edits");
    let target = Address::parse("subnet.public_a").unwrap();
    let closure = plan::target_closure(&s, std::slice::from_ref(&target));
    let names: Vec<String> = closure.iter().map(|a| a.to_string()).collect();
    assert_eq!(names, ["subnet.public_a", "vpc.main"]);
}

/// What lookups found, as a finder would give it.
fn found(arn_suffix: &str) -> stack::LookedUp {
    let tg = format!(
        "arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:targetgroup/game-ec2/{arn_suffix}"
    );
    let lb = "arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:loadbalancer/app/game-alb/50dc6c495c0c9188";
    let obj = |v: serde_json::Value| v.as_object().unwrap().clone();
    [
        ("data.vpc.legacy", obj(serde_json::json!({"id": "vpc-0a1", "arn": "arn:aws:ec2:ap-northeast-1:123456789012:vpc/vpc-0a1", "cidr_block": "10.20.0.0/16"}))),
        ("data.subnets.private", obj(serde_json::json!({"ids": ["subnet-1", "subnet-2"], "cidr_blocks": ["10.20.1.0/24", "10.20.2.0/24"], "availability_zones": ["ap-northeast-1a", "ap-northeast-1c"]}))),
        ("data.load_balancer.web", obj(serde_json::json!({"arn": lb, "arn_suffix": "app/game-alb/50dc6c495c0c9188", "name": "game-alb", "dns_name": "game-alb.example", "zone_id": "Z14GRHDCWA56QT", "vpc_id": "vpc-0a1", "security_groups": ["sg-1"]}))),
        ("data.listener.https", obj(serde_json::json!({"arn": format!("{lb}/f2f7dc8efc522ab2").replace(":loadbalancer/", ":listener/"), "port": 443, "protocol": "HTTPS", "load_balancer_arn": lb}))),
        ("data.target_group.ec2", obj(serde_json::json!({"arn": tg, "arn_suffix": format!("targetgroup/game-ec2/{arn_suffix}"), "name": "game-ec2", "port": 80, "protocol": "HTTP", "vpc_id": "vpc-0a1"}))),
    ]
    .into_iter()
    .map(|(a, v)| (Address::parse(a).unwrap(), v))
    .collect()
}

/// Lookups are validated without AWS (their values unknown, nothing waits for
/// them), then put in where they are used; a plan shows only those whose
/// findings differ from what the last apply recorded, and names what they
/// found (`data.target_group.ec2`) rather than its ARN.
#[test]
fn lookups_are_put_in_and_shown_only_when_changed() {
    let (s, warnings) = load(&data("lookups/cutover.yaml"));
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(s.lookups.len(), 5);
    let rule = &s.resources[&Address::new("listener_rule", "canary")];
    assert_eq!(rule.dependencies().len(), 1, "only target_group.eks: lookups are no node");
    let order = stack::lookup_waves(&s.lookups).unwrap();
    assert_eq!(order.len(), 2, "the listener and the subnets wait for the lookups they use");
    assert!(order[1].contains(&Address::parse("data.listener.https").unwrap()));

    let now = found("73e2d6bc24d8a067");
    let resolved = s.with_lookups(&now).unwrap();
    let tg = &resolved.resources[&Address::new("target_group", "eks")];
    assert_eq!(tg.attrs["vpc_id"], "vpc-0a1");
    let rule = &resolved.resources[&Address::new("listener_rule", "canary")];
    assert!(rule.attrs["listener_arn"].as_str().unwrap().contains(":listener/app/game-alb/"));
    assert_eq!(resolved.outputs["private_subnets"], serde_json::json!(["subnet-1", "subnet-2"]));

    let graph = Graph::build(&resolved);
    let state = State::new(&resolved.name);
    let observed = Observed::new();
    let mut p = plan::plan_with(&resolved, &graph, &state, &observed, false);
    // Never recorded: every lookup is shown once, as first read.
    let (changes, labels) = plan::lookups(&now, &state.lookups);
    assert_eq!(changes.len(), 5);
    assert!(changes.iter().all(|c| c.before.is_none()));
    // Recorded as found: nothing to show.
    let (none, _) = plan::lookups(&now, &now);
    assert!(none.is_empty());
    // The EC2 target group was replaced by hand since the last apply.
    let (changes, _) = plan::lookups(&now, &found("0000000000000000"));
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].changed, ["arn", "arn_suffix"]);
    p.lookups = changes;
    p.labels.extend(labels);
    let text = text_plan(&p);
    assert!(text.contains("data.target_group.ec2 90 (90%)"), "{text}");
    snapshot!("lookups_text", text);
    snapshot!(
        "lookups_markdown",
        infra::render::render(&p, infra::render::Format::Markdown, false)
    );
}

#[test]
fn exposure_is_judged_by_the_address_space_rules_cover_together() {
    // SSH open to the two halves of the internet, in two rules: as open as
    // 0.0.0.0/0, a warning (an error with --strict) and a risk in the plan.
    let text = "stack: s\nregion: ap-northeast-1\nresources:\n  vpc.main:\n    cidr_block: 10.0.0.0/16\n  security_group.ssh:\n    vpc_id: ${vpc.main.id}\n    ingress:\n      - { protocol: tcp, ports: \"22\", cidr: 0.0.0.0/1 }\n      - { protocol: tcp, ports: \"22\", cidr: 128.0.0.0/1 }\n      - { protocol: tcp, ports: \"5432\", cidr: 10.0.0.0/8 }\n  eks_cluster.main:\n    version: \"1.31\"\n    role_arn: arn:aws:iam::123456789012:role/c\n    subnet_ids: [subnet-1, subnet-2]\n    upgrade_policy: STANDARD\n    endpoint_public_access: true\n    public_access_cidrs: [0.0.0.0/2, 64.0.0.0/2, 128.0.0.0/1]\n";
    let (s, warnings) = stack::parse("s.yaml", text).unwrap();
    let said: Vec<&str> = warnings.iter().map(|w| w.message.as_str()).collect();
    assert!(
        said.iter().any(|m| m.starts_with(
            "security_group.ssh: ingress open to the internet on 22 (not 80 or 443): from 0.0.0.0/1, 128.0.0.0/1"
        )),
        "{said:?}"
    );
    assert!(
        said.iter()
            .any(|m| m
                .starts_with("eks_cluster.main: the cluster endpoint is public to the internet")),
        "{said:?}"
    );
    assert!(!said.iter().any(|m| m.contains("5432")), "a private range is no exposure: {said:?}");
    let p = plan::plan(&s, &Graph::build(&s), &State::new("s"), &Observed::new());
    let md = infra::render::render(&p, infra::render::Format::Markdown, false);
    let attention = md.find("**Needs attention**").unwrap();
    assert!(
        md[attention..].contains("`security_group.ssh`: ingress opened to the internet on 22"),
        "{md}"
    );
    assert!(!md.contains("opened to the internet on 5432"), "{md}");
}

/// The stack language's expressions against Terraform's results
/// (tests/data/expressions/cases.json): operators, the conditional,
/// for-expressions, indexing, splat, functions, unknown values and located
/// errors.
#[test]
fn expressions_evaluate_as_terraform_does() {
    use infra::types::expr::{Scope, Val, eval, parse};
    struct Vars(serde_json::Value);
    impl Scope for Vars {
        fn get(&self, name: &str) -> Option<Val> {
            match name {
                "var" => Some(Val::Known(self.0.clone())),
                "vpc" => Some(Val::Unknown),
                _ => None,
            }
        }
    }
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data("expressions/cases.json")).unwrap())
            .unwrap();
    let scope = Vars(doc["scope"]["var"].clone());
    let mut wrong = Vec::new();
    for case in doc["cases"].as_array().unwrap() {
        let text = case["expr"].as_str().unwrap();
        let got = parse(text).and_then(|e| eval(&e, &scope));
        let ok = match (&got, case.get("want"), case.get("error")) {
            (Ok(Val::Unknown), Some(w), _) => w == "unknown",
            (Ok(Val::Known(v)), Some(w), _) => v == w,
            (Err(e), _, Some(m)) => e.message.contains(m.as_str().unwrap()),
            _ => false,
        };
        if !ok {
            wrong.push(format!("{text}: got {got:?}, want {}", case));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Every complete stack in docs/stack-format.md (a ```yaml block that starts
/// with `stack:`) validates as the docs say it does.
#[test]
fn the_stacks_of_the_docs_validate() {
    let mut checked = 0;
    for file in ["docs/stack-format.md", "docs/modules.md"] {
        let doc = std::fs::read_to_string(file).unwrap();
        for (i, block) in doc.split("```yaml\n").skip(1).enumerate() {
            let Some((text, _)) = block.split_once("```") else { continue };
            let name = format!("{file} (yaml block {})", i + 1);
            // As if in stacks/: beside the library's modules.
            let mut inputs = library();
            let text = match text.starts_with("module:") {
                // A module, used with a value for each input it needs.
                true => {
                    inputs.files.insert("doc.yaml".into(), Ok(text.to_string()));
                    format!(
                        "stack: doc\nregion: eu-west-1\nmodules:\n  m:\n    source: doc.yaml\n    inputs: {}\n",
                        needed_inputs(text)
                    )
                }
                false if text.starts_with("stack:") => text.to_string(),
                false => continue,
            };
            if let Err(e) = stack::parse_with(&name, &text, &inputs) {
                panic!("{}\n{text}", e.render(false));
            }
            checked += 1;
        }
    }
    assert!(checked >= 4, "the docs hold complete stacks and modules");
}

/// A value, by type, for each variable of a module that has no default.
fn needed_inputs(module: &str) -> serde_json::Value {
    let doc = stack::vars::to_json(&marked_yaml::parse_yaml(0, module).unwrap());
    let mut out = serde_json::Map::new();
    for (name, decl) in doc["variables"].as_object().into_iter().flatten() {
        if decl.get("default").is_some() {
            continue;
        }
        let value = match decl["type"].as_str().unwrap_or("string") {
            "number" => serde_json::json!(1),
            "bool" => serde_json::json!(true),
            "list" => serde_json::json!([]),
            "map" => serde_json::json!({}),
            _ => serde_json::json!("doc-example"),
        };
        out.insert(name.clone(), value);
    }
    serde_json::Value::Object(out)
}
