//! Saved plans against moto: applied exactly, refused when stale.

use crate::support::{Moto, Workdir, demo_stack, last_line, runtime};

#[test]
fn a_saved_plan_applies_exactly_and_a_stale_one_is_refused() {
    let moto = Moto::start();
    let w = Workdir::new(&moto.url, &demo_stack());
    let p = w.run(&["plan", "stack.yaml", "--out", "plan.json", "--detailed-exitcode"]);
    assert_eq!(p.code, 2, "{}", p.stderr);
    let shown = w.run(&["show", "plan.json"]);
    assert_eq!(shown.stdout, p.stdout, "show renders the saved plan as plan did");
    assert_eq!(w.run(&["show", "plan.json", "--detailed-exitcode"]).code, 2);

    // Applied as saved: the same end state as a direct apply.
    let a = w.run(&["apply", "plan.json", "stack.yaml"]);
    assert_eq!(a.code, 0, "{}\n{}", a.stdout, a.stderr);
    assert!(a.stdout.contains("Apply complete: 7 done, 0 failed, 0 skipped."), "{}", a.stdout);
    w.assert_no_changes();
    let rt = runtime();
    let filter =
        aws_sdk_ec2::types::Filter::builder().name("tag:infra:stack").values("demo").build();
    assert_eq!(
        rt.block_on(moto.ec2().describe_subnets().filters(filter).send()).unwrap().subnets().len(),
        2
    );

    // The state moves after the plan is made: refused, naming the serials.
    w.write_stack(&demo_stack().replace("env: demo", "env: prod"));
    assert_eq!(w.run(&["plan", "stack.yaml", "--out", "tags.json"]).code, 0);
    w.write_stack(&demo_stack().replace("env: demo", "env: test"));
    assert_eq!(w.run(&["apply", "--auto-approve", "stack.yaml"]).code, 0);
    w.write_stack(&demo_stack().replace("env: demo", "env: prod"));
    let stale = w.run(&["apply", "tags.json", "stack.yaml"]);
    assert_eq!(stale.code, 1);
    assert!(stale.stderr.contains("saved plan is stale: state serial is"), "{}", stale.stderr);
    assert!(stale.stderr.contains(", the plan was made at"), "{}", stale.stderr);

    // The stack file changes after the plan is made: refused.
    assert_eq!(w.run(&["plan", "stack.yaml", "--out", "again.json"]).code, 0);
    w.write_stack(&demo_stack().replace("env: demo", "env: other"));
    let edited = w.run(&["apply", "again.json", "stack.yaml"]);
    assert_eq!(edited.code, 1);
    assert!(
        edited.stderr.contains(
            "saved plan is stale: the stack file stack.yaml changed since the plan was made"
        ),
        "{}",
        edited.stderr
    );
    // Nothing was applied by the refused plans.
    w.write_stack(&demo_stack().replace("env: demo", "env: test"));
    let now = w.run(&["plan", "stack.yaml"]);
    assert_eq!(last_line(&now.stdout), "No changes.");
}

const SECRET: &str = "hunter2-never-in-a-saved-plan";

fn launch_template_stack(secret: &str) -> String {
    format!(
        "stack: lt\nregion: ap-northeast-1\nvariables:\n  db_password: {{ sensitive: true, default: {secret} }}\nresources:\n  launch_template.nodes:\n    metadata_options: {{ http_tokens: required, http_put_response_hop_limit: 2 }}\n    user_data: |\n      #!/bin/bash\n      export DB_PASSWORD=${{var.db_password}}\n"
    )
}

/// `plan --out` writes the file 0600, whole (a temporary file renamed over
/// it), replacing a link rather than following it, and keeps no sensitive
/// value: apply takes it from the stack file.
#[test]
fn a_saved_plan_is_private_written_whole_and_holds_no_secret() {
    use std::os::unix::fs::PermissionsExt;
    let moto = Moto::start();
    let w = Workdir::new(&moto.url, &launch_template_stack(SECRET));
    std::fs::write(w.path("victim.txt"), "untouched\n").unwrap();
    std::os::unix::fs::symlink(w.path("victim.txt"), w.path("plan.json")).unwrap();

    let p = w.run(&["plan", "stack.yaml", "--out", "plan.json"]);
    assert_eq!(p.code, 0, "{}", p.stderr);
    assert_eq!(
        std::fs::read_to_string(w.path("victim.txt")).unwrap(),
        "untouched\n",
        "the link was replaced, not followed"
    );
    let meta = std::fs::symlink_metadata(w.path("plan.json")).unwrap();
    assert!(meta.file_type().is_file());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let text = std::fs::read_to_string(w.path("plan.json")).unwrap();
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("(sensitive sha256:"), "{text}");
    let leftovers: Vec<_> = std::fs::read_dir(w.path("."))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".infra-plan"))
        .collect();
    assert!(leftovers.is_empty(), "no temporary file is left");

    // Applied: the launch template gets the value from the stack file.
    let a = w.run(&["apply", "plan.json", "stack.yaml"]);
    assert_eq!(a.code, 0, "{}\n{}", a.stdout, a.stderr);
    assert!(!a.stdout.contains("hunter2") && !a.stderr.contains("hunter2"));
    let rt = runtime();
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("state/lt.json")).unwrap()).unwrap();
    let id = state["resources"]["launch_template.nodes"]["id"].as_str().unwrap();
    let versions = rt
        .block_on(moto.ec2().describe_launch_template_versions().launch_template_id(id).send())
        .unwrap();
    let data = versions.launch_template_versions()[0]
        .launch_template_data()
        .and_then(|d| d.user_data())
        .unwrap()
        .to_string();
    let decoded = String::from_utf8(base64_decode(&data)).unwrap();
    assert!(decoded.contains(SECRET), "{decoded}");

    // A saved plan of a new value, applied after the stack changed again: refused.
    w.write_stack(&launch_template_stack("rotated-once"));
    assert_eq!(w.run(&["plan", "stack.yaml", "--out", "rotate.json"]).code, 0);
    w.write_stack(&launch_template_stack("rotated-twice"));
    let stale = w.run(&["apply", "rotate.json", "stack.yaml"]);
    assert_eq!(stale.code, 1);
    assert!(stale.stderr.contains("saved plan is stale"), "{}", stale.stderr);
}

fn base64_decode(s: &str) -> Vec<u8> {
    aws_smithy_types::base64::decode(s).unwrap()
}

/// `apply FILE` plans again from the refresh the file records, the stack file
/// and the state, and refuses a file whose actions or values differ, naming
/// the address: an edited action list, `force_destroy` or protection is never
/// carried out.
#[test]
fn an_edited_saved_plan_is_refused_naming_the_address() {
    let moto = Moto::start();
    let stack = demo_stack().replace(
        "    name: enza-demo-logs\n",
        "    name: enza-demo-logs\n    prevent_destroy: true\n",
    );
    let w = Workdir::new(&moto.url, &stack);
    assert_eq!(w.run(&["apply", "--auto-approve", "stack.yaml"]).code, 0);
    let bucket_exists =
        || runtime().block_on(moto.s3().head_bucket().bucket("enza-demo-logs").send()).is_ok();

    // Nothing to do, but the file says delete the protected bucket.
    assert_eq!(w.run(&["plan", "stack.yaml", "--out", "plan.json"]).code, 0);
    let mut saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("plan.json")).unwrap()).unwrap();
    for c in saved["plan"]["changes"].as_array_mut().unwrap() {
        if c["address"] == "s3_bucket.logs" {
            c["action"] = "delete".into();
            c["after"] = serde_json::Value::Null;
        }
    }
    std::fs::write(w.path("edited.json"), saved.to_string()).unwrap();
    let refused = w.run(&["apply", "edited.json", "stack.yaml"]);
    assert_eq!(refused.code, 1, "{}", refused.stdout);
    assert!(
        refused.stderr.contains(
            "saved plan does not match the stack file and state: s3_bucket.logs: the saved plan says delete, the stack and state give no change"
        ),
        "{}",
        refused.stderr
    );
    assert!(bucket_exists());

    // A real change (a tag), with force_destroy slipped into the file.
    w.write_stack(&stack.replace("env: demo", "env: prod"));
    assert_eq!(w.run(&["plan", "stack.yaml", "--out", "tags.json"]).code, 0);
    let mut saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("tags.json")).unwrap()).unwrap();
    for c in saved["plan"]["changes"].as_array_mut().unwrap() {
        if c["address"] == "s3_bucket.logs" {
            c["after"]["force_destroy"] = true.into();
        }
    }
    std::fs::write(w.path("tags-edited.json"), saved.to_string()).unwrap();
    let refused = w.run(&["apply", "tags-edited.json", "stack.yaml"]);
    assert_eq!(refused.code, 1);
    assert!(
        refused.stderr.contains(
            "s3_bucket.logs: update as saved differs from what the stack and state give (after)"
        ),
        "{}",
        refused.stderr
    );
    // The file as written applies, and what it does is the stack's.
    let a = w.run(&["apply", "tags.json", "stack.yaml"]);
    assert_eq!(a.code, 0, "{}\n{}", a.stdout, a.stderr);
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("state/demo.json")).unwrap()).unwrap();
    assert_eq!(state["resources"]["s3_bucket.logs"]["attributes"]["force_destroy"], false);
    assert!(bucket_exists());
}

/// A saved plan is not authenticated: a file whose refresh and plan were
/// edited together (a log group's name recorded as another, so that the
/// plan replaces it, its events lost) agrees with itself. Apply reads again
/// what the plan changes or deletes and refuses, naming the address and the
/// attribute; the log group and its events are kept.
#[test]
fn a_saved_plan_whose_refresh_was_edited_is_refused_naming_the_attribute() {
    let moto = Moto::start();
    let text = "stack: logs\nregion: ap-northeast-1\nresources:\n  cloudwatch_log_group.app:\n    name: /enza/app\n    retention_days: 7\n";
    let w = Workdir::new(&moto.url, text);
    w.apply_ok();
    let rt = runtime();
    let logs = moto.logs();
    rt.block_on(logs.create_log_stream().log_group_name("/enza/app").log_stream_name("s").send())
        .unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    rt.block_on(
        logs.put_log_events()
            .log_group_name("/enza/app")
            .log_stream_name("s")
            .log_events(
                aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                    .timestamp(now)
                    .message("kept")
                    .build()
                    .unwrap(),
            )
            .send(),
    )
    .unwrap();
    assert_eq!(w.run(&["plan", "stack.yaml", "--out", "plan.json"]).code, 0);

    // Forged with infra's own code: the refresh says the group has another
    // name, and the plan is the one that refresh gives (a replacement).
    let saved = infra::plan::saved::SavedPlan::parse(
        &std::fs::read_to_string(w.path("plan.json")).unwrap(),
    )
    .unwrap()
    .unwrap();
    let address = infra::types::Address::parse("cloudwatch_log_group.app").unwrap();
    let mut observed = saved.observed.clone();
    if let Some(Some(attrs)) = observed.get_mut(&address) {
        attrs.insert("name".into(), "/enza/old".into());
    }
    let (stack, _) = infra::stack::parse("stack.yaml", text).unwrap();
    let graph = infra::stack::graph::Graph::build(&stack);
    let state = infra::types::state::parse(
        "state",
        &std::fs::read_to_string(w.path("state/logs.json")).unwrap(),
    )
    .unwrap();
    let plan = infra::plan::plan_with(&stack, &graph, &state, &observed, true);
    assert_eq!(plan.change(&address).unwrap().action, infra::plan::Action::DeleteThenCreate);
    let none = std::collections::BTreeSet::new();
    let forged = infra::plan::saved::SavedPlan::new(
        &plan,
        &observed,
        infra::plan::saved::Made {
            stack_file: &saved.stack_file,
            stack_text: text,
            state_file: &saved.state_file,
            state: Some(&state),
            refresh: true,
            targets: &[],
            lookups: None,
            inputs: None,
            sensitive_variables: &none,
        },
    );
    std::fs::write(w.path("forged.json"), serde_json::to_string(&forged).unwrap()).unwrap();
    let refused = w.run(&["apply", "forged.json", "stack.yaml"]);
    assert_eq!(refused.code, 1, "{}\n{}", refused.stdout, refused.stderr);
    assert!(
        refused.stderr.contains(
            "cloudwatch_log_group.app: `name` is not what the saved plan's refresh recorded: AWS holds \"/enza/app\", the saved plan's refresh says \"/enza/old\""
        ),
        "{}",
        refused.stderr
    );
    let events = rt
        .block_on(logs.get_log_events().log_group_name("/enza/app").log_stream_name("s").send())
        .unwrap();
    assert_eq!(events.events().len(), 1, "the group and its events are kept");

    // The stack and state are the command line's: a plan names no other.
    let unnamed = w.run(&["apply", "plan.json"]);
    assert_eq!(unnamed.code, 1);
    assert!(
        unnamed.stderr.contains(
            "name the stack file the plan was made from: infra apply plan.json stack.yaml"
        ),
        "{}",
        unnamed.stderr
    );
    let elsewhere = w.run(&["apply", "--state", "state/other.json", "plan.json", "stack.yaml"]);
    assert_eq!(elsewhere.code, 1);
    assert!(
        elsewhere
            .stderr
            .contains("the saved plan was made against the state state/logs.json; this apply's is state/other.json"),
        "{}",
        elsewhere.stderr
    );
    // The file as written applies: nothing to do, and nothing is touched.
    let a = w.run(&["apply", "plan.json", "stack.yaml"]);
    assert_eq!(a.code, 0, "{}\n{}", a.stdout, a.stderr);
}
