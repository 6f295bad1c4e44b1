//! Removing an attribute from the stack removes it in AWS, and the plan says
//! so, against moto: a bucket policy granting `Principal: "*"`, a repository
//! policy, a lifecycle policy made from `keep_last_images` and a log group's
//! retention, each set once and then no longer set (or set to `~`, which is
//! "not set", never the text `~`).

use crate::support::{Moto, Workdir, runtime};

const POLICY: &str = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::rm-public/*"}]}"#;
const REPO_POLICY: &str = r#"{"Version": "2012-10-17", "Statement": [{"Sid": "pull", "Effect": "Allow", "Principal": {"AWS": "123456789012"}, "Action": "ecr:BatchGetImage"}]}"#;

fn stack(set: bool) -> String {
    let (policy, repo, keep, retention) = match set {
        true => (
            format!("    policy: '{POLICY}'\n"),
            format!("    repository_policy: '{REPO_POLICY}'\n"),
            "    keep_last_images: 30\n".to_string(),
            "    retention_days: 14\n".to_string(),
        ),
        // The policy as `~`: not set; the others left out.
        false => ("    policy: ~\n".into(), String::new(), String::new(), String::new()),
    };
    format!(
        "stack: rm\nregion: ap-northeast-1\nresources:\n  s3_bucket.public:\n    name: rm-public\n    public_access_block: false\n{policy}  ecr_repository.app:\n    name: rm/app\n{repo}{keep}  cloudwatch_log_group.app:\n    name: /rm/app\n{retention}"
    )
}

#[test]
fn removing_an_attribute_removes_it_in_aws_and_the_plan_says_so() {
    let moto = Moto::start();
    let w = Workdir::new(&moto.url, &stack(true));
    w.apply_ok();
    let rt = runtime();
    assert!(rt.block_on(moto.s3().get_bucket_policy().bucket("rm-public").send()).is_ok());

    w.write_stack(&stack(false));
    let v = w.run(&["validate", "stack.yaml"]);
    assert_eq!(v.code, 0, "`~` is not set, not the text `~`: {}", v.stderr);
    let plan = w.run(&["plan", "--detailed-exitcode", "stack.yaml"]);
    assert_eq!(plan.code, 2, "{}\n{}", plan.stdout, plan.stderr);
    for expected in [
        "# s3_bucket.public will be updated in place (no longer set in the stack file: policy)",
        "~ policy: ",
        "# ecr_repository.app will be updated in place (no longer set in the stack file: keep_last_images, repository_policy)",
        "~ repository_policy: ",
        "~ lifecycle_policy: ",
        "# cloudwatch_log_group.app will be updated in place (no longer set in the stack file: retention_days)",
        "~ retention_days: 14 -> null",
        "Plan: 0 to add, 3 to change, 0 to destroy.",
    ] {
        assert!(plan.stdout.contains(expected), "{expected} in:\n{}", plan.stdout);
    }
    assert_eq!(plan.stdout.matches("-> null").count(), 4, "{}", plan.stdout);

    w.apply_ok();
    let gone = |r: Result<(), String>, what: &str| {
        let e = r.expect_err(what);
        assert!(e.contains("NotFound") || e.contains("NoSuch"), "{what}: {e}");
    };
    gone(
        rt.block_on(moto.s3().get_bucket_policy().bucket("rm-public").send())
            .map(|_| ())
            .map_err(|e| format!("{:?}", e.into_service_error())),
        "bucket policy",
    );
    gone(
        rt.block_on(moto.ecr().get_repository_policy().repository_name("rm/app").send())
            .map(|_| ())
            .map_err(|e| format!("{:?}", e.into_service_error())),
        "repository policy",
    );
    gone(
        rt.block_on(moto.ecr().get_lifecycle_policy().repository_name("rm/app").send())
            .map(|_| ())
            .map_err(|e| format!("{:?}", e.into_service_error())),
        "lifecycle policy",
    );
    let groups = rt
        .block_on(moto.logs().describe_log_groups().log_group_name_prefix("/rm/app").send())
        .unwrap();
    assert_eq!(groups.log_groups()[0].retention_in_days(), None, "kept for ever");
    w.assert_no_changes();

    // A state that did not record what the stack set (format 1) removes
    // nothing: what it cannot know it does not guess.
    let state_path = w.path("state/rm.json");
    let mut state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state_path).unwrap()).unwrap();
    assert!(state["resources"]["s3_bucket.public"]["managed"].is_array());
    for r in state["resources"].as_object_mut().unwrap().values_mut() {
        r.as_object_mut().unwrap().remove("managed");
    }
    std::fs::write(&state_path, state.to_string()).unwrap();
    w.write_stack(&stack(true));
    w.apply_ok();
    let recorded: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state_path).unwrap()).unwrap();
    assert!(
        recorded["resources"]["s3_bucket.public"]["managed"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("policy")),
        "an apply records what the stack sets"
    );
}
