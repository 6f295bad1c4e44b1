//! Modules: the library in stacks/modules against moto (the platform on
//! it makes what the platform written out makes), moving an applied stack
//! into modules with `moved:`, two instances of one module, and every
//! mistake in a use located with the chain of uses, refused before any
//! call.

use crate::support::{Moto, Proxy, Workdir, flat_stack, last_line, runtime, stack_file};

/// The operations that change something the proxy counted more of than
/// `before` (its counts then: a reset would forget what it plays for moto).
fn mutating(proxy: &Proxy, before: &serde_json::Map<String, serde_json::Value>) -> Vec<String> {
    let was = |op: &str| before.get(op).and_then(|v| v.as_u64()).unwrap_or(0);
    proxy
        .counts()
        .iter()
        .filter(|(op, n)| n.as_u64().unwrap_or(0) > was(op))
        .map(|(op, _)| op.clone())
        .filter(|op| {
            !["Describe", "Get", "List", "GET ", "HEAD "].iter().any(|p| op.starts_with(p))
        })
        .collect()
}

#[test]
fn the_platform_on_the_library_makes_the_platform_and_replans_to_no_changes() {
    let moto = Moto::start();
    // The proxy plays what moto lacks: add-ons, access entries, Pod Identity.
    let proxy = Proxy::start(&moto.url);
    let w = Workdir::new(&proxy.url, &stack_file("platform"));
    let v = w.run(&["validate", "stack.yaml"]);
    assert_eq!(v.code, 0, "{}\n{}", v.stdout, v.stderr);
    let plan = w.run(&["plan", "stack.yaml"]);
    assert_eq!(last_line(&plan.stdout), "Plan: 47 to add, 0 to change, 0 to destroy.");
    assert!(plan.stdout.contains("+ module.eks.eks_nodegroup.group[\"app\"]"), "{}", plan.stdout);
    // The cost block and the runbook name module addresses too.
    assert!(
        plan.stdout
            .lines()
            .any(|l| l.trim_start().starts_with("module.eks.eks_nodegroup.group[\"app\"] ")),
        "{}",
        plan.stdout
    );
    w.apply_ok();
    // What the platform written out makes, the same count of each kind.
    assert_eq!(crate::pipeline::census(&moto, &proxy), crate::pipeline::FULL);
    w.assert_no_changes();
    // Tags say which module instance each resource is.
    let rt = runtime();
    let vpcs = rt
        .block_on(
            moto.ec2()
                .describe_vpcs()
                .filters(
                    aws_sdk_ec2::types::Filter::builder()
                        .name("tag:infra:address")
                        .values("module.network.vpc.main")
                        .build(),
                )
                .send(),
        )
        .unwrap();
    assert_eq!(vpcs.vpcs().len(), 1);
    // The rollout of a listener in a module is the stack's: `infra rollout`
    // names it by its whole address.
    let status = w.run(&["rollout", "status", "stack.yaml"]);
    assert_eq!(status.code, 0, "{}\n{}", status.stdout, status.stderr);
    // The outputs come from the modules' outputs.
    let out = w.run(&["output", "stack.yaml"]);
    assert!(out.stdout.contains("alb_dns_name = \""), "{}", out.stdout);
    let d = w.run(&["destroy", "--auto-approve", "stack.yaml"]);
    assert_eq!(d.code, 0, "{}\n{}", d.stdout, d.stderr);
    assert!(crate::pipeline::census(&moto, &proxy).iter().all(|(_, n)| *n == 0));
}

#[test]
fn moving_applied_stacks_into_the_library_changes_nothing_in_aws() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.url);
    for name in ["eks", "platform"] {
        let w = Workdir::new(&proxy.url, &flat_stack(name));
        w.apply_ok();
        let moves = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join(format!("tests/data/modules/moves-{name}.yaml")),
        )
        .unwrap();
        w.write_stack(&format!("{}\n{moves}", stack_file(name)));
        let plan = w.run(&["plan", "stack.yaml"]);
        assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
        assert_eq!(
            last_line(&plan.stdout),
            "Plan: 0 to add, 0 to change, 0 to destroy.",
            "{name}: {}",
            plan.stdout
        );
        assert!(
            plan.stdout.contains("# vpc.main has moved to module.network.vpc.main"),
            "{}",
            plan.stdout
        );
        let before = proxy.counts();
        let a = w.apply_ok();
        assert!(a.stdout.contains("has moved to"), "{}", a.stdout);
        assert_eq!(
            mutating(&proxy, &before),
            Vec::<String>::new(),
            "{name}: the moves only rewrite state"
        );
        w.assert_no_changes();
        let listed = w.run(&["state", "list", "stack.yaml"]);
        assert!(listed.stdout.contains("module.eks.eks_cluster.main\t"), "{}", listed.stdout);
        let d = w.run(&["destroy", "--auto-approve", "stack.yaml"]);
        assert_eq!(d.code, 0, "{}\n{}", d.stdout, d.stderr);
    }
}

const TITLE: &str = r#"module: title
variables:
  title: { description: the game title }
  vpc_id: {}
resources:
  target_group.app:
    vpc_id: ${var.vpc_id}
    protocol: HTTP
    port: 80
    target_type: ip
  s3_bucket.assets:
    name: modules-${var.title}-assets
outputs:
  target_group_arn: ${target_group.app.arn}
"#;

const TITLES: &str = r#"stack: titles
region: ap-northeast-1
variables:
  titles: { type: list, default: [alpha, beta] }
resources:
  vpc.main:
    cidr_block: 10.70.0.0/16
modules:
  svc:
    for_each: ${toset(var.titles)}
    source: modules/title.yaml
    inputs: { title: "${each.key}", vpc_id: "${vpc.main.id}" }
outputs:
  alpha: ${module.svc["alpha"].outputs.target_group_arn}
  all: ${module.svc[*].outputs.target_group_arn}
"#;

#[test]
fn two_instances_of_a_module_are_two_sets_each_targeted_and_destroyed_alone() {
    let moto = Moto::start();
    let w = Workdir::new(&moto.url, TITLES);
    std::fs::write(w.path("modules/title.yaml"), TITLE).unwrap();
    w.apply_ok();
    let rt = runtime();
    let buckets = || -> Vec<String> {
        let mut b: Vec<String> = rt
            .block_on(moto.s3().list_buckets().send())
            .unwrap()
            .buckets()
            .iter()
            .filter_map(|b| b.name().map(str::to_string))
            .collect();
        b.sort();
        b
    };
    assert_eq!(buckets(), ["modules-alpha-assets", "modules-beta-assets"]);
    let out = w.run(&["output", "stack.yaml"]);
    assert!(out.stdout.contains("alpha = \"arn:aws:elasticloadbalancing:"), "{}", out.stdout);
    w.assert_no_changes();

    let json = w.run(&["plan", "--format", "json", "--refresh=false", "stack.yaml"]);
    assert_eq!(json.code, 0, "{}", json.stderr);
    // No change: the JSON plan's resources are read from a plan with one.
    w.write_stack(&TITLES.replace("[alpha, beta]", "[alpha, beta, gamma]"));
    let json = w.run(&["plan", "--format", "json", "stack.yaml"]);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let change = doc["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == "module.svc[\"gamma\"].s3_bucket.assets")
        .unwrap_or_else(|| panic!("{}", json.stdout))
        .clone();
    assert_eq!(change["module_address"], "module.svc[\"gamma\"]");
    assert_eq!(change["type"], "s3_bucket");
    w.write_stack(TITLES);

    // One instance, targeted: a plan of it alone, then its destroy, which
    // takes what it holds and nothing else.
    let plan = w.run(&["plan", "--target", "module.svc[\"beta\"]", "stack.yaml"]);
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
    assert!(
        plan.stderr.contains("only module.svc[\"beta\"] and what they depend on (3 resources)"),
        "{}",
        plan.stderr
    );
    let d = w.run(&["destroy", "--auto-approve", "--target", "module.svc[\"beta\"]", "stack.yaml"]);
    assert_eq!(d.code, 0, "{}\n{}", d.stdout, d.stderr);
    assert!(d.stdout.contains("- module.svc[\"beta\"].s3_bucket.assets"), "{}", d.stdout);
    assert!(!d.stdout.contains("module.svc[\"alpha\"]"), "{}", d.stdout);
    assert!(!d.stdout.contains("- vpc.main"), "{}", d.stdout);
    assert_eq!(buckets(), ["modules-alpha-assets"]);
    let listed = w.run(&["state", "list", "stack.yaml"]);
    assert!(
        listed.stdout.contains("module.svc[\"alpha\"].target_group.app\t"),
        "{}",
        listed.stdout
    );
    assert!(!listed.stdout.contains("beta"), "{}", listed.stdout);

    // A title dropped from the list is that instance's resources destroyed.
    w.write_stack(
        &TITLES
            .replace("[alpha, beta]", "[alpha]")
            .replace("  all: ${module.svc[*].outputs.target_group_arn}\n", ""),
    );
    w.assert_no_changes();
    let d = w.run(&["destroy", "--auto-approve", "stack.yaml"]);
    assert_eq!(d.code, 0, "{}\n{}", d.stdout, d.stderr);
    assert!(buckets().is_empty());
}

/// Each mistake in a use of a module, the file and place the error names,
/// and what it says: exit 1, nothing written, no call made (no endpoint
/// answers here).
#[test]
fn every_mistake_in_a_module_use_is_located_with_its_chain_of_uses() {
    let inner = "module: inner\nvariables:\n  cidr: { type: string }\nresources:\n  vpc.main:\n    cidr_block: ${var.cidr}\noutputs:\n  id: ${vpc.main.id}\n";
    let outer = "module: outer\nvariables:\n  zones: { type: list }\nmodules:\n  net:\n    source: inner.yaml\n    inputs: { cidr: 10.1.0.0/16, zonez: \"${var.zones}\" }\n";
    let cases: &[(&str, &str, &str)] = &[
        (
            "modules:\n  a: { source: modules/inner.yaml }\n",
            "stack.yaml:4:3: module `a` needs input `cidr`",
            "",
        ),
        (
            "modules:\n  a: { source: modules/inner.yaml, inputs: { cidr: [1] } }\n",
            "stack.yaml:4:52: input `cidr` of module `a` is a string, and `[1]` is not one",
            "",
        ),
        (
            "modules:\n  a: { source: modules/outer.yaml, inputs: { zones: [a] } }\n",
            "modules/outer.yaml:7:34: module `net` has no input `zonez`",
            "in module.a, used at stack.yaml:4:3",
        ),
        (
            "modules:\n  a: { source: modules/inner.yaml, inputs: { cidr: 10.0.0.0/16 } }\noutputs:\n  x: ${module.a.outputs.idd}\n",
            "stack.yaml:6:8: module `a` has no output `idd`",
            "did you mean `id`?",
        ),
        (
            "modules:\n  a: { source: modules/loop.yaml }\n",
            "modules/loop.yaml:4:13: module `again` uses itself: modules/loop.yaml -> modules/loop.yaml",
            "in module.a, used at stack.yaml:4:3",
        ),
        (
            // A link to a file outside the repository.
            "modules:\n  a: { source: modules/outside.yaml }\n",
            "stack.yaml:4:16: module `a`: `modules/outside.yaml`: it is outside the stack file's repository",
            "",
        ),
        (
            "modules:\n  a: { source: modules/inner.yaml, inputs: { cidr: 10.0.0.0/16 } }\nresources:\n  vpc.x:\n    cidr_block: ${module.a.vpc.main.cidr_block}\n",
            "stack.yaml:7:19: `module.a` gives only its outputs",
            "",
        ),
    ];
    for (body, want, chain) in cases {
        let text = format!("stack: mods\nregion: ap-northeast-1\n{body}");
        let w = Workdir::new("http://127.0.0.1:9", &text);
        // A repository: the stack's folder, with a `.git`.
        std::fs::create_dir_all(w.path(".git")).unwrap();
        std::fs::write(w.path("modules/inner.yaml"), inner).unwrap();
        std::fs::write(w.path("modules/outer.yaml"), outer).unwrap();
        std::fs::write(
            w.path("modules/loop.yaml"),
            "module: loop\nmodules:\n  again:\n    source: ./loop.yaml\n",
        )
        .unwrap();
        std::os::unix::fs::symlink("/etc/passwd", w.path("modules/outside.yaml")).unwrap();
        for cmd in ["validate", "plan"] {
            let r = w.run(&[cmd, "stack.yaml"]);
            assert_eq!(r.code, 1, "{cmd} {body}: {}\n{}", r.stdout, r.stderr);
            assert!(r.stderr.contains(want), "{body}: want {want}\n{}", r.stderr);
            assert!(r.stderr.contains(chain), "{body}: want {chain}\n{}", r.stderr);
            assert!(!w.path("state").exists(), "nothing written");
        }
    }
}

/// A stack of its own that made an ALB, named, the way another team's
/// stack would have.
fn existing_alb() -> String {
    format!(
        "stack: theirs\nregion: ap-northeast-1\nresources:\n  vpc.main:\n    cidr_block: 10.90.0.0/16\n{}",
        crate::support::web_resources("10.90", "0").replace(
            "  load_balancer.web:\n",
            "  security_group.alb:\n    vpc_id: ${vpc.main.id}\n    description: their ALB\n  load_balancer.web:\n    name: existing-alb\n    security_groups: [\"${security_group.alb.id}\"]\n"
        )
    )
}

const ON_THEIR_ALB: &str = r#"stack: ours
region: ap-northeast-1
data:
  vpc.theirs: { cidr_block: 10.90.0.0/16 }
  security_group.pods: { name: default, vpc_id: "${data.vpc.theirs.id}" }
modules:
  cutover:
    source: modules/cutover.yaml
    inputs:
      name: ours
      vpc_id: ${data.vpc.theirs.id}
      load_balancer_name: existing-alb
      port: 8080
      pods_security_group_id: ${data.security_group.pods.id}
      eks_weight: EKS_WEIGHT
outputs:
  dns: ${module.cutover.outputs.dns_name}
"#;

/// The cut-over module on an ALB another stack made: its lookup (inside the
/// module) finds it, its listener is made on it, and a new weight plans the
/// module's rollout as a listener of the stack's would.
#[test]
fn a_lookup_in_a_module_finds_what_exists_and_its_listener_plans_a_rollout() {
    let moto = Moto::start();
    let theirs = Workdir::new(&moto.url, &existing_alb());
    theirs.apply_ok();
    let w = Workdir::new(&moto.url, &ON_THEIR_ALB.replace("EKS_WEIGHT", "0"));
    let plan = w.run(&["plan", "stack.yaml"]);
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
    assert!(
        plan.stdout.contains("module.cutover.data.load_balancer.existing[0]"),
        "what the lookup found is said: {}",
        plan.stdout
    );
    assert!(!plan.stdout.contains("+ module.cutover.load_balancer.web"), "{}", plan.stdout);
    w.apply_ok();
    let rt = runtime();
    let elb = moto.elbv2();
    let lbs = rt.block_on(elb.describe_load_balancers().names("existing-alb").send()).unwrap();
    let arn = lbs.load_balancers()[0].load_balancer_arn().unwrap().to_string();
    let listeners = rt.block_on(elb.describe_listeners().load_balancer_arn(&arn).send()).unwrap();
    let ports: Vec<i32> = listeners.listeners().iter().filter_map(|l| l.port()).collect();
    assert!(ports.contains(&8080), "{ports:?}");
    let out = w.run(&["output", "stack.yaml"]);
    assert!(out.stdout.contains("dns = \""), "{}", out.stdout);
    w.assert_no_changes();

    w.write_stack(&ON_THEIR_ALB.replace("EKS_WEIGHT", "50"));
    let plan = w.run(&["plan", "stack.yaml"]);
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
    assert!(plan.stdout.contains("~ module.cutover.listener.http"), "{}", plan.stdout);
    // 50 of 150 is a third of the traffic, in the module's three steps.
    assert!(
        plan.stdout.contains("Cut-over runbook for module.cutover.listener.http:")
            && plan.stdout.contains("schedule: 3 steps (25% of the move (8% of traffic), 50% of the move (17% of traffic), 100% of the move (33% of traffic)), 60 s apart"),
        "the module's listener rolls out: {}",
        plan.stdout
    );
    assert!(plan.stdout.contains("watched: alarm ours-5xx"), "{}", plan.stdout);
}

/// A sensitive variable given to a module is redacted wherever it lands in
/// it, whatever its value; the plan is made from state alone, with no call.
#[test]
fn a_sensitive_input_is_redacted_inside_the_module() {
    let module = "module: tagged\nvariables:\n  owner: {}\nresources:\n  s3_bucket.b:\n    name: redaction-test\n    tags: { owner: \"${var.owner}\" }\noutputs:\n  owner: ${var.owner}\n";
    let text = "stack: secretive\nregion: ap-northeast-1\nvariables:\n  owner: { sensitive: true }\nmodules:\n  t:\n    source: modules/tagged.yaml\n    inputs: { owner: \"${var.owner}\" }\noutputs:\n  owner: ${module.t.outputs.owner}\n";
    let w = Workdir::new("http://127.0.0.1:9", text);
    std::fs::write(w.path("modules/tagged.yaml"), module).unwrap();
    let r = w.run(&["plan", "--refresh=false", "--var", "owner=hunter2-team", "stack.yaml"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(!r.stdout.contains("hunter2") && !r.stderr.contains("hunter2"), "{}", r.stdout);
    assert!(r.stdout.contains("module.t.s3_bucket.b"), "{}", r.stdout);
    assert!(r.stdout.contains("(sensitive)"), "{}", r.stdout);
}

const TIERS: &str = r#"stack: tiers
region: ap-northeast-1
modules:
  network:
    source: modules/network.yaml
    inputs:
      region: ap-northeast-1
      cidr_block: 10.60.0.0/16
      zones: { a: 0, c: 1 }
      single_nat_gateway: true
      isolated: true
      interface_endpoints: [sts]
resources:
  security_group.db:
    vpc_id: ${module.network.outputs.vpc_id}
    description: the database, in the isolated tier
    depends_on: [module.network]
outputs:
  isolated: ${module.network.outputs.isolated_subnet_ids}
"#;

/// The network module's optional tiers: isolated subnets with no way out,
/// an interface endpoint in the private subnets with its security group,
/// one NAT gateway shared; a resource that waits for the whole module.
#[test]
fn the_network_module_makes_its_optional_tiers() {
    let moto = Moto::start();
    let w = Workdir::new(&moto.url, TIERS);
    let v = w.run(&["validate", "--strict", "stack.yaml"]);
    assert_eq!(v.code, 0, "no warning: {}\n{}", v.stdout, v.stderr);
    // `depends_on: [module.network]` waits for everything in it.
    let graph = w.run(&["graph", "stack.yaml"]);
    assert!(
        graph.stdout.contains(
            "\"module.network.vpc_endpoint.interface[\\\"sts\\\"]\" -> \"security_group.db\""
        ),
        "{}",
        graph.stdout
    );
    w.apply_ok();
    w.assert_no_changes();
    let rt = runtime();
    let tagged =
        |v: &str| aws_sdk_ec2::types::Filter::builder().name("tag:infra:stack").values(v).build();
    let subnets =
        rt.block_on(moto.ec2().describe_subnets().filters(tagged("tiers")).send()).unwrap();
    let mut cidrs: Vec<&str> = subnets.subnets().iter().filter_map(|s| s.cidr_block()).collect();
    cidrs.sort();
    assert_eq!(
        cidrs,
        [
            "10.60.0.0/19",
            "10.60.128.0/20",
            "10.60.144.0/20",
            "10.60.224.0/21",
            "10.60.232.0/21",
            "10.60.32.0/19"
        ]
    );
    let endpoints =
        rt.block_on(moto.ec2().describe_vpc_endpoints().send()).unwrap().vpc_endpoints().to_vec();
    let services: Vec<&str> = endpoints.iter().filter_map(|e| e.service_name()).collect();
    assert!(services.contains(&"com.amazonaws.ap-northeast-1.sts"), "{services:?}");
    assert!(services.contains(&"com.amazonaws.ap-northeast-1.s3"), "{services:?}");
    let nats = rt.block_on(moto.ec2().describe_nat_gateways().send()).unwrap();
    let live = nats
        .nat_gateways()
        .iter()
        .filter(|n| n.state().is_some_and(|s| s.as_str() == "available"))
        .count();
    assert_eq!(live, 1, "one NAT gateway for both zones");
    let d = w.run(&["destroy", "--auto-approve", "stack.yaml"]);
    assert_eq!(d.code, 0, "{}\n{}", d.stdout, d.stderr);
}

/// A saved plan is of the modules' text too: one edited after the plan was
/// saved is refused at apply.
#[test]
fn a_saved_plan_is_stale_once_a_module_it_used_changes() {
    let moto = Moto::start();
    let w = Workdir::new(&moto.url, TITLES);
    std::fs::write(w.path("modules/title.yaml"), TITLE).unwrap();
    let p = w.run(&["plan", "stack.yaml", "--out", "plan.json"]);
    assert_eq!(p.code, 0, "{}", p.stderr);
    std::fs::write(w.path("modules/title.yaml"), TITLE.replace("port: 80", "port: 8080")).unwrap();
    let stale = w.run(&["apply", "plan.json", "stack.yaml"]);
    assert_eq!(stale.code, 1, "{}\n{}", stale.stdout, stale.stderr);
    assert!(stale.stderr.contains("saved plan is stale"), "{}", stale.stderr);
    let rt = runtime();
    assert!(rt.block_on(moto.s3().list_buckets().send()).unwrap().buckets().is_empty());
}

/// A use of a module renamed, or turned into one instance of a use with
/// `for_each`: `moved:` of whole modules takes every resource in it, and
/// the apply changes nothing in AWS.
#[test]
fn a_whole_module_moves_to_another_name_without_touching_aws() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.url);
    let w = Workdir::new(&proxy.url, TITLES);
    std::fs::write(w.path("modules/title.yaml"), TITLE).unwrap();
    w.apply_ok();
    let renamed = format!(
        "{}moved:\n  - {{ from: module.svc, to: module.game }}\n",
        TITLES.replace("  svc:\n", "  game:\n").replace("module.svc", "module.game")
    );
    w.write_stack(&renamed);
    let plan = w.run(&["plan", "stack.yaml"]);
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
    assert!(
        plan.stdout.contains(
            "# module.svc[\"beta\"].target_group.app has moved to module.game[\"beta\"].target_group.app"
        ),
        "{}",
        plan.stdout
    );
    assert_eq!(last_line(&plan.stdout), "Plan: 0 to add, 0 to change, 0 to destroy.");
    let before = proxy.counts();
    w.apply_ok();
    assert_eq!(mutating(&proxy, &before), Vec::<String>::new());
    w.assert_no_changes();
    // A move to where nothing is used is refused at its line.
    w.write_stack(&format!("{renamed}  - {{ from: module.old, to: module.nowhere }}\n"));
    let r = w.run(&["plan", "stack.yaml"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("module.nowhere is not in the stack file"), "{}", r.stderr);
}
