//! Secrets by where they sit, against moto: after a rotation, or with a
//! placeholder given for the value, nothing of the secret shows in a plan of
//! any format, a saved plan, `drift`, `state show` or `output`; sensitive
//! numbers and booleans are hidden too; a short secret hides nothing else;
//! RUST_LOG=trace prints no request body.

use crate::support::{Moto, Workdir, runtime};

const STACK: &str = r#"
stack: vault
region: ap-northeast-1
variables:
  api_token: { sensitive: true }
  days: { type: number, sensitive: true }
  hostnames: { type: bool, sensitive: true }
  initial: { sensitive: true }
resources:
  vpc.main:
    cidr_block: 10.70.0.0/16
    enable_dns_hostnames: ${var.hostnames}
    tags:
      api: ${var.api_token}
      owner: "team-${var.initial}"
      note: a plain tag with an a in it
  cloudwatch_log_group.app:
    name: /vault/app
    retention_days: ${var.days}
outputs:
  token: ${var.api_token}
  vpc: ${vpc.main.id}
"#;

const OLD: &str = "tok-old-51f0a9";
const NEW: &str = "tok-new-77c2e4";

fn args<'a>(cmd: &'a str, token: &'a str, extra: &[&'a str]) -> Vec<String> {
    let mut out: Vec<String> = vec![cmd.into()];
    out.extend(extra.iter().map(|s| s.to_string()));
    out.extend([
        "--var".into(),
        format!("api_token={token}"),
        "--var".into(),
        "days=14".into(),
        "--var".into(),
        "hostnames=true".into(),
        "--var".into(),
        "initial=a".into(),
        "stack.yaml".into(),
    ]);
    out
}

fn run(w: &Workdir, args: Vec<String>) -> crate::support::Run {
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    w.run(&refs)
}

#[test]
fn secrets_are_redacted_where_they_sit_whatever_their_value() {
    let moto = Moto::start();
    let w = Workdir::new(&moto.url, STACK);
    let a = run(&w, args("apply", OLD, &["--auto-approve"]));
    assert_eq!(a.code, 0, "{}\n{}", a.stdout, a.stderr);
    let state = std::fs::read_to_string(w.path("state/vault.json")).unwrap();
    let recorded: serde_json::Value = serde_json::from_str(&state).unwrap();
    assert_eq!(
        recorded["resources"]["vpc.main"]["sensitive"],
        serde_json::json!(["/enable_dns_hostnames", "/tags/api", "/tags/owner"]),
        "{state}"
    );
    assert_eq!(
        recorded["resources"]["cloudwatch_log_group.app"]["sensitive"],
        serde_json::json!(["/retention_days"])
    );

    // Rotated: the plan changes the tag and shows neither value, in any
    // format, nor in a saved plan.
    for format in ["text", "markdown", "json"] {
        let p = run(&w, args("plan", NEW, &["--format", format]));
        assert_eq!(p.code, 0, "{format}: {}\n{}", p.stdout, p.stderr);
        for out in [&p.stdout, &p.stderr] {
            assert!(!out.contains(OLD) && !out.contains(NEW), "{format}: {out}");
        }
        if format == "text" {
            assert!(
                p.stdout.contains("~ api: \"(sensitive)\" -> \"(sensitive, changed)\""),
                "{}",
                p.stdout
            );
            // A short secret hides nothing but where it sits.
            assert!(p.stdout.contains("Plan: 0 to add, 1 to change"), "{}", p.stdout);
        }
    }
    let saved = run(&w, args("plan", NEW, &["--out", "rotate.plan"]));
    assert_eq!(saved.code, 0, "{}", saved.stderr);
    let text = std::fs::read_to_string(w.path("rotate.plan")).unwrap();
    assert!(!text.contains(OLD) && !text.contains(NEW), "{text}");
    // A number and a boolean that are sensitive show as such too.
    let full = run(&w, args("plan", NEW, &["--format", "json"]));
    let plan: serde_json::Value = serde_json::from_str(&full.stdout).unwrap();
    let change = |a: &str| {
        plan["resource_changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["address"] == a)
            .unwrap()
            .clone()
    };
    assert_eq!(
        change("cloudwatch_log_group.app")["after"]["retention_days"],
        "(sensitive)",
        "{}",
        full.stdout
    );
    let vpc = change("vpc.main");
    assert_eq!(vpc["before"]["enable_dns_hostnames"], "(sensitive)");
    assert_eq!(vpc["after"]["tags"]["owner"], "(sensitive)");
    assert_eq!(
        vpc["after"]["tags"]["note"], "a plain tag with an a in it",
        "a short secret hides nothing else"
    );
    assert_eq!(vpc["after"]["tags"]["infra:stack"], "vault");

    // Changed outside infra: drift, given a placeholder for the value,
    // shows neither the old value nor the new.
    let rt = runtime();
    let id = recorded["resources"]["vpc.main"]["id"].as_str().unwrap().to_string();
    rt.block_on(
        moto.ec2()
            .create_tags()
            .resources(&id)
            .tags(aws_sdk_ec2::types::Tag::builder().key("api").value("edited-by-hand").build())
            .send(),
    )
    .unwrap();
    let drift = run(&w, args("drift", "placeholder", &[]));
    assert_eq!(drift.code, 2, "{}\n{}", drift.stdout, drift.stderr);
    assert!(drift.stdout.contains("vpc.main"), "{}", drift.stdout);
    for out in [&drift.stdout, &drift.stderr] {
        assert!(!out.contains(OLD) && !out.contains("edited-by-hand"), "{out}");
    }
    let mut state_show = args("state", "placeholder", &[]);
    state_show.splice(1..1, ["show".to_string(), "vpc.main".to_string()]);
    let show = run(&w, state_show);
    assert_eq!(show.code, 0, "{}", show.stderr);
    assert!(
        !show.stdout.contains(OLD) && !show.stdout.contains("edited-by-hand"),
        "{}",
        show.stdout
    );
    assert!(show.stdout.contains("(sensitive)"), "{}", show.stdout);
    let out = run(&w, args("output", "placeholder", &[]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("token = (sensitive)"), "{}", out.stdout);
    assert!(!out.stdout.contains(OLD), "{}", out.stdout);

    // The SDK's wire logs stay off whatever RUST_LOG says.
    let traced = w
        .command(
            &args("apply", NEW, &["--auto-approve"]).iter().map(String::as_str).collect::<Vec<_>>(),
        )
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&traced.stderr);
    assert!(traced.status.success(), "{stderr}");
    assert!(!stderr.contains(NEW) && !stderr.contains(OLD), "{stderr}");
}
