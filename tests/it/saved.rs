//! Saved plans against moto: applied exactly, refused when stale.

use crate::support::{Moto, Workdir, demo_stack, last_line, runtime};

#[test]
fn a_saved_plan_applies_exactly_and_a_stale_one_is_refused() {
    let moto = Moto::start();
    let w = Workdir::new(&moto.url, &demo_stack());
    let p = w.run(&[
        "plan",
        "stack.yaml",
        "--out",
        "plan.json",
        "--detailed-exitcode",
    ]);
    assert_eq!(p.code, 2, "{}", p.stderr);
    let shown = w.run(&["show", "plan.json"]);
    assert_eq!(
        shown.stdout, p.stdout,
        "show renders the saved plan as plan did"
    );
    assert_eq!(w.run(&["show", "plan.json", "--detailed-exitcode"]).code, 2);

    // Applied as saved: the same end state as a direct apply.
    let a = w.run(&["apply", "plan.json"]);
    assert_eq!(a.code, 0, "{}\n{}", a.stdout, a.stderr);
    assert!(
        a.stdout
            .contains("Apply complete: 9 done, 0 failed, 0 skipped."),
        "{}",
        a.stdout
    );
    w.assert_no_changes();
    let rt = runtime();
    let filter = aws_sdk_ec2::types::Filter::builder()
        .name("tag:infra:stack")
        .values("demo")
        .build();
    assert_eq!(
        rt.block_on(moto.ec2().describe_subnets().filters(filter).send())
            .unwrap()
            .subnets()
            .len(),
        2
    );

    // The state moves after the plan is made: refused, naming the serials.
    w.write_stack(&demo_stack().replace("env: demo", "env: prod"));
    assert_eq!(w.run(&["plan", "stack.yaml", "--out", "tags.json"]).code, 0);
    w.write_stack(&demo_stack().replace("env: demo", "env: test"));
    assert_eq!(w.run(&["apply", "--auto-approve", "stack.yaml"]).code, 0);
    w.write_stack(&demo_stack().replace("env: demo", "env: prod"));
    let stale = w.run(&["apply", "tags.json"]);
    assert_eq!(stale.code, 1);
    assert!(
        stale
            .stderr
            .contains("saved plan is stale: state serial is"),
        "{}",
        stale.stderr
    );
    assert!(
        stale.stderr.contains(", the plan was made at"),
        "{}",
        stale.stderr
    );

    // The stack file changes after the plan is made: refused.
    assert_eq!(
        w.run(&["plan", "stack.yaml", "--out", "again.json"]).code,
        0
    );
    w.write_stack(&demo_stack().replace("env: demo", "env: other"));
    let edited = w.run(&["apply", "again.json"]);
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
        "stack: lt\nregion: ap-northeast-1\nresources:\n  launch_template.nodes:\n    metadata_options: {{ http_tokens: required, http_put_response_hop_limit: 2 }}\n    user_data: |\n      #!/bin/bash\n      export DB_PASSWORD={secret}\n"
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
    let a = w.run(&["apply", "plan.json"]);
    assert_eq!(a.code, 0, "{}\n{}", a.stdout, a.stderr);
    assert!(!a.stdout.contains("hunter2") && !a.stderr.contains("hunter2"));
    let rt = runtime();
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("state/lt.json")).unwrap()).unwrap();
    let id = state["resources"]["launch_template.nodes"]["id"]
        .as_str()
        .unwrap();
    let versions = rt
        .block_on(
            moto.ec2()
                .describe_launch_template_versions()
                .launch_template_id(id)
                .send(),
        )
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
    assert_eq!(
        w.run(&["plan", "stack.yaml", "--out", "rotate.json"]).code,
        0
    );
    w.write_stack(&launch_template_stack("rotated-twice"));
    let stale = w.run(&["apply", "rotate.json"]);
    assert_eq!(stale.code, 1);
    assert!(
        stale.stderr.contains("saved plan is stale"),
        "{}",
        stale.stderr
    );
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
    let bucket_exists = || {
        runtime()
            .block_on(moto.s3().head_bucket().bucket("enza-demo-logs").send())
            .is_ok()
    };

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
    let refused = w.run(&["apply", "edited.json"]);
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
    let refused = w.run(&["apply", "tags-edited.json"]);
    assert_eq!(refused.code, 1);
    assert!(
        refused.stderr.contains(
            "s3_bucket.logs: update as saved differs from what the stack and state give (after)"
        ),
        "{}",
        refused.stderr
    );
    // The file as written applies, and what it does is the stack's.
    let a = w.run(&["apply", "tags.json"]);
    assert_eq!(a.code, 0, "{}\n{}", a.stdout, a.stderr);
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("state/demo.json")).unwrap()).unwrap();
    assert_eq!(
        state["resources"]["s3_bucket.logs"]["attributes"]["force_destroy"],
        false
    );
    assert!(bucket_exists());
}
