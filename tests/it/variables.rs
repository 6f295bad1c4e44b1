//! One stack file for staging and production: variables (defaults, an
//! environment's overlay, `--var`, `--var-file`, `INFRA_VAR_name`), and what
//! the environment changes (the stack's name, state, tags), against moto.

use crate::support::{Moto, Workdir, runtime, web_resources};

/// The cut-over's network and listener, with what differs per environment in
/// variables.
const STACK: &str = r#"
stack: web
region: ap-northeast-1
tags: { project: enza }
variables:
  prefix: { type: string, description: the first two octets of the VPC's range }
  eks_weight: { type: number, default: 0 }
  zones: { type: list, default: [ap-northeast-1a, ap-northeast-1c] }
  api_token: { type: string, sensitive: true }
environments:
  staging:
    variables:
      prefix: { default: "10.30" }
  production:
    variables:
      prefix: { default: "10.40" }
      eks_weight: { default: 10 }
    resources:
      s3_bucket.scratch: ~
resources:
  vpc.main:
    cidr_block: ${var.prefix}.0.0/16
    tags: { api: "${var.api_token}" }
  # the load balancer's network, target groups and listener
  s3_bucket.scratch:
    name: web-scratch-${var.bucket_suffix}
outputs:
  token: ${var.api_token}
  vpc: ${vpc.main.id}
"#;

fn stack() -> String {
    // The scratch bucket's name comes from a variable of its own.
    STACK
        .replace(
            "  # the load balancer's network, target groups and listener\n",
            &web_resources("${var.prefix}", "\"${var.eks_weight}\""),
        )
        .replace(
        "  api_token: { type: string, sensitive: true }\n",
        "  api_token: { type: string, sensitive: true }\n  bucket_suffix: { default: staging }\n",
    )
}

const SECRET: &str = "tok-93a7be11f0";

#[test]
fn one_stack_file_plans_and_applies_staging_and_production_apart() {
    let moto = Moto::start();
    let w = Workdir::new(&moto.url, &stack());

    // A variable with no value is located where it is used, before AWS or state.
    let missing = w.run(&["plan", "--env", "staging", "stack.yaml"]);
    assert_eq!(missing.code, 1, "{}", missing.stderr);
    assert!(
        missing.stderr.contains("stack.yaml:24:21: variable `api_token` has no value"),
        "{}",
        missing.stderr
    );
    assert!(missing.stderr.contains("--var api_token=VALUE"));
    assert!(!w.path("state").exists(), "refused before any state");

    std::fs::write(w.path("secret.yaml"), format!("api_token: {SECRET}\n")).unwrap();
    let staging = w.run(&["plan", "--env", "staging", "--var-file", "secret.yaml", "stack.yaml"]);
    assert_eq!(staging.code, 0, "{}\n{}", staging.stdout, staging.stderr);
    assert!(
        staging.stdout.contains(
            "infra will perform these actions (stack web, environment staging, state serial 0)"
        ),
        "{}",
        staging.stdout
    );
    assert!(staging.stdout.contains("+ cidr_block: \"10.30.0.0/16\""));
    assert!(staging.stdout.contains("infra:env: \"staging\""));
    assert!(staging.stdout.contains("api: \"(sensitive)\""), "{}", staging.stdout);
    assert!(staging.stdout.contains("Plan: 10 to add"), "{}", staging.stdout);

    let production_args = |cmd: &'static str| {
        vec![
            cmd,
            "--env",
            "production",
            "--var-file",
            "secret.yaml",
            "--var",
            "bucket_suffix=prod",
            "stack.yaml",
        ]
    };
    let md = w.run(
        &[production_args("plan"), vec!["--format", "markdown"]]
            .concat()
            .into_iter()
            .filter(|a| *a != "stack.yaml")
            .chain(["stack.yaml"])
            .collect::<Vec<_>>(),
    );
    assert_eq!(md.code, 0, "{}\n{}", md.stdout, md.stderr);
    assert!(
        md.stdout.starts_with("### infra plan for `web` (environment production): 9 to add"),
        "production leaves the scratch bucket out:\n{}",
        md.stdout
    );
    for out in [&staging.stdout, &staging.stderr, &md.stdout, &md.stderr] {
        assert!(!out.contains(SECRET), "the sensitive value shows:\n{out}");
    }

    // Both apply, each to its own state, side by side in one account.
    let a = w.run(&[
        "apply",
        "--auto-approve",
        "--env",
        "staging",
        "--var-file",
        "secret.yaml",
        "stack.yaml",
    ]);
    assert_eq!(a.code, 0, "{}\n{}", a.stdout, a.stderr);
    assert!(a.stdout.contains("token = (sensitive)"), "{}", a.stdout);
    assert!(!a.stdout.contains(SECRET) && !a.stderr.contains(SECRET));
    let a = w.command(&production_args("apply")).arg("--auto-approve").output().unwrap();
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    assert!(w.path("state/web.staging.json").exists());
    assert!(w.path("state/web.production.json").exists());

    let rt = runtime();
    let vpcs = rt.block_on(moto.ec2().describe_vpcs().send()).unwrap().vpcs().to_vec();
    let ours: Vec<(String, String)> = vpcs
        .iter()
        .filter_map(|v| {
            let tag = |k: &str| {
                v.tags()
                    .iter()
                    .find(|t| t.key() == Some(k))
                    .and_then(|t| t.value())
                    .map(str::to_string)
            };
            Some((
                format!("{}/{}", tag("infra:stack")?, tag("infra:env")?),
                v.cidr_block()?.to_string(),
            ))
        })
        .collect();
    assert_eq!(ours.len(), 2, "{ours:?}");
    assert!(ours.contains(&("web/staging".into(), "10.30.0.0/16".into())));
    assert!(ours.contains(&("web/production".into(), "10.40.0.0/16".into())));
    let weights = |stack: &str| -> Vec<i32> {
        let state: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(w.path(&format!("state/{stack}.json"))).unwrap(),
        )
        .unwrap();
        let arn = state["resources"]["listener.http"]["id"].as_str().unwrap().to_string();
        let l = rt.block_on(moto.elbv2().describe_listeners().listener_arns(arn).send()).unwrap();
        let action = &l.listeners()[0].default_actions()[0];
        let mut w: Vec<i32> = action
            .forward_config()
            .unwrap()
            .target_groups()
            .iter()
            .filter_map(|t| t.weight())
            .collect();
        w.sort();
        w
    };
    assert_eq!(weights("web.staging"), [0, 100]);
    assert_eq!(weights("web.production"), [10, 100]);
    let buckets = rt.block_on(moto.s3().list_buckets().send()).unwrap();
    let names: Vec<&str> = buckets.buckets().iter().filter_map(|b| b.name()).collect();
    assert_eq!(names, ["web-scratch-staging"], "production has none");

    // The outputs the apply recorded, read back from state: the sensitive one
    // never shows, the other as it resolved.
    let output = |extra: &[&str]| {
        let mut args =
            vec!["output", "--env", "staging", "--var-file", "secret.yaml", "stack.yaml"];
        args.extend_from_slice(extra);
        w.run(&args)
    };
    let out = output(&[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("token = (sensitive)"), "{}", out.stdout);
    assert!(out.stdout.contains("vpc = \"vpc-"), "{}", out.stdout);
    assert!(!out.stdout.contains(SECRET));
    let one = output(&["vpc"]);
    assert!(one.stdout.trim().starts_with("vpc-"), "{}", one.stdout);
    let none = output(&["nope"]);
    assert_eq!(none.code, 1);
    assert!(none.stderr.contains("its outputs: token, vpc"), "{}", none.stderr);
    let recorded: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("state/web.staging.json")).unwrap())
            .unwrap();
    assert_eq!(recorded["outputs"]["token"]["sensitive"], true);

    // The same values re-plan to nothing; INFRA_VAR_ gives one as well.
    let again = w
        .command(&["plan", "--detailed-exitcode", "--env", "staging", "stack.yaml"])
        .env("INFRA_VAR_api_token", SECRET)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(0), "{}", String::from_utf8_lossy(&again.stdout));
    // A saved plan keeps the environment and the values that are not
    // sensitive: apply is given only the sensitive one again.
    let saved = w.run(&[
        "plan",
        "--env",
        "production",
        "--var",
        "eks_weight=30",
        "--var-file",
        "secret.yaml",
        "--out",
        "prod.plan",
        "stack.yaml",
    ]);
    assert_eq!(saved.code, 0, "{}\n{}", saved.stdout, saved.stderr);
    let text = std::fs::read_to_string(w.path("prod.plan")).unwrap();
    assert!(!text.contains(SECRET), "no sensitive value is saved");
    assert!(text.contains("\"environment\": \"production\""), "{text}");
    let without = w.run(&["apply", "prod.plan", "stack.yaml"]);
    assert_eq!(without.code, 1, "{}\n{}", without.stdout, without.stderr);
    assert!(without.stderr.contains("variable `api_token` has no value"), "{}", without.stderr);
    let elsewhere = w.run(&["apply", "--env", "staging", "prod.plan", "stack.yaml"]);
    assert_eq!(elsewhere.code, 1);
    assert!(
        elsewhere
            .stderr
            .contains("--env staging: the saved plan was made for environment production"),
        "{}",
        elsewhere.stderr
    );
    let applied = w
        .command(&["apply", "prod.plan", "stack.yaml"])
        .env("INFRA_VAR_api_token", SECRET)
        .output()
        .unwrap();
    assert!(
        applied.status.success(),
        "{}{}",
        String::from_utf8_lossy(&applied.stdout),
        String::from_utf8_lossy(&applied.stderr)
    );
    assert_eq!(weights("web.production"), [30, 100]);

    // A wrong type from outside is a located error naming where it came from.
    let bad = w.run(&[
        "plan",
        "--env",
        "staging",
        "--var-file",
        "secret.yaml",
        "--var",
        "eks_weight=half",
        "stack.yaml",
    ]);
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr
            .contains("stack.yaml:7:3: --var eks_weight gives variable `eks_weight` `half`, which is not a number"),
        "{}",
        bad.stderr
    );
}

#[test]
fn a_var_file_with_a_key_twice_is_refused_where_it_repeats() {
    let wire = crate::support::Tripwire::start();
    let w = Workdir::new(&wire.url, &stack());
    std::fs::write(
        w.path("vars.yaml"),
        "prefix: \"10.30\"\napi_token: tok-first\napi_token: tok-second\n",
    )
    .unwrap();
    let r = w.run(&["plan", "--env", "staging", "--var-file", "vars.yaml", "stack.yaml"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("vars.yaml"), "{}", r.stderr);
    assert!(r.stderr.contains("api_token"), "{}", r.stderr);
    assert!(r.stderr.contains(":3:"), "located at the repeat: {}", r.stderr);
    assert!(r.stderr.contains("hint:"), "{}", r.stderr);
    assert!(!r.stderr.contains("tok-"), "no value is shown: {}", r.stderr);
    assert_eq!(wire.connections(), 0);
    assert!(!w.path("state").exists());
}

/// A value from outside the file is a value: a variable, or a security
/// group's name a lookup found, that reads like a reference to the node
/// bootstrap secret lands in a tag as that text: never the secret, never an
/// edge of the graph, and no change on the next plan.
#[test]
fn a_value_from_outside_is_never_read_as_a_reference() {
    let moto = Moto::start();
    let secret = "export BOOTSTRAP_TOKEN=s3cr3t-9f2";
    let odd = "${launch_template.nodes.user_data}";
    let rt = runtime();
    let vpc = rt.block_on(moto.ec2().describe_vpcs().send()).unwrap().vpcs()[0]
        .vpc_id()
        .unwrap()
        .to_string();
    rt.block_on(
        moto.ec2()
            .create_security_group()
            .group_name(odd)
            .description("a group named like a reference")
            .vpc_id(&vpc)
            .tag_specifications(
                aws_sdk_ec2::types::TagSpecification::builder()
                    .resource_type(aws_sdk_ec2::types::ResourceType::SecurityGroup)
                    .tags(aws_sdk_ec2::types::Tag::builder().key("purpose").value("odd").build())
                    .build(),
            )
            .send(),
    )
    .unwrap();
    let text = format!(
        "stack: vals\nregion: ap-northeast-1\nvariables:\n  owner: {{ type: string }}\n  bootstrap: {{ sensitive: true, default: \"{secret}\" }}\ndata:\n  security_group.odd: {{ tags: {{ purpose: odd }} }}\nresources:\n  launch_template.nodes:\n    user_data: ${{var.bootstrap}}\n  s3_bucket.logs:\n    name: vals-logs\n    tags:\n      owner: ${{var.owner}}\n      group: ${{data.security_group.odd.name}}\n      both: \"by ${{var.owner}} in ${{data.security_group.odd.name}}\"\n"
    );
    let w = Workdir::new(&moto.url, &text);
    let graph = w.run(&["graph", "--var", &format!("owner={odd}"), "stack.yaml"]);
    assert_eq!(graph.code, 0, "{}", graph.stderr);
    assert!(
        !graph.stdout.contains("\"launch_template.nodes\" -> \"s3_bucket.logs\""),
        "no edge: {}",
        graph.stdout
    );
    let apply = w.run(&["apply", "--auto-approve", "--var", &format!("owner={odd}"), "stack.yaml"]);
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    let tags: std::collections::BTreeMap<String, String> = rt
        .block_on(moto.s3().get_bucket_tagging().bucket("vals-logs").send())
        .unwrap()
        .tag_set()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    assert_eq!(tags["owner"], odd);
    assert_eq!(tags["group"], odd);
    assert_eq!(tags["both"], format!("by {odd} in {odd}"));
    let state = std::fs::read_to_string(w.path("state/vals.json")).unwrap();
    for out in [&apply.stdout, &apply.stderr] {
        assert!(!out.contains("s3cr3t"), "{out}");
    }
    assert!(
        !state.contains("s3cr3t-9f2\", \"") && !tags.values().any(|v| v.contains("s3cr3t")),
        "{tags:?}"
    );
    let plan =
        w.run(&["plan", "--detailed-exitcode", "--var", &format!("owner={odd}"), "stack.yaml"]);
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
}

/// `default: null`, of any type, leaves a variable without a value: an
/// attribute set to it alone is not set (Terraform's optional input), and a
/// value given from outside sets it.
#[test]
fn a_null_default_leaves_the_attribute_unset() {
    let moto = Moto::start();
    let w = Workdir::new(
        &moto.url,
        r#"stack: nulls
region: ap-northeast-1
variables:
  boundary: { default: null }
  encryption: { type: map, default: ~ }
resources:
  iam_role.app:
    assume_role_service: ec2.amazonaws.com
    permissions_boundary: ${var.boundary}
"#,
    );
    let plan = w.run(&["plan", "stack.yaml"]);
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
    assert!(!plan.stdout.contains("permissions_boundary"), "{}", plan.stdout);
    let given =
        w.run(&["plan", "--var", "boundary=arn:aws:iam::aws:policy/PowerUserAccess", "stack.yaml"]);
    assert_eq!(given.code, 0, "{}\n{}", given.stdout, given.stderr);
    assert!(
        given
            .stdout
            .contains("+ permissions_boundary: \"arn:aws:iam::aws:policy/PowerUserAccess\""),
        "{}",
        given.stdout
    );
}
