//! Never touching what is not ours, against moto: what another stack owns is
//! neither adopted nor changed nor destroyed, and an interrupted create that
//! cannot be resolved blocks nothing but itself.

use crate::support::{Moto, Proxy, Workdir, demo_stack, runtime};

const ROLE: &str = "
stack: mine
region: ap-northeast-1
resources:
  iam_role.app: { name: enza-shared, assume_role_service: eks.amazonaws.com }
";

/// The issue's own case: a role named like one another stack owns.
#[test]
fn a_role_another_stack_owns_is_never_adopted_rewritten_or_destroyed() {
    let moto = Moto::start();
    let rt = runtime();
    let iam = moto.iam();
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    rt.block_on(
        iam.create_role()
            .role_name("enza-shared")
            .assume_role_policy_document(trust)
            .tags(
                aws_sdk_iam::types::Tag::builder()
                    .key("infra:stack")
                    .value("other")
                    .build()
                    .unwrap(),
            )
            .send(),
    )
    .unwrap();
    let w = Workdir::new(&moto.url, ROLE);

    let apply = w.run(&["apply", "--auto-approve", "stack.yaml"]);
    assert_eq!(apply.code, 1, "{}", apply.stdout);
    let out = format!("{}{}", apply.stdout, apply.stderr);
    assert!(out.contains("EntityAlreadyExists"), "{out}");
    assert!(out.contains("is not this stack's (its tags say infra:stack=other)"), "{out}");
    let state = std::fs::read_to_string(w.path("state/mine.json")).unwrap();
    assert!(!state.contains("intents"), "nothing was made, nothing is pending: {state}");

    // The next plan adopts nothing; destroy has nothing of theirs to delete.
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(!plan.stdout.contains("adopted"), "{}", plan.stdout);
    assert!(plan.stdout.contains("iam_role.app will be created"), "{}", plan.stdout);
    let destroy = w.run(&["destroy", "--auto-approve", "stack.yaml"]);
    assert_eq!(destroy.code, 0, "{}", destroy.stderr);
    let role = rt
        .block_on(iam.get_role().role_name("enza-shared").send())
        .expect("their role is still there");
    let role = role.role().unwrap();
    assert!(
        role.assume_role_policy_document().unwrap().contains("ec2.amazonaws.com"),
        "and unchanged"
    );
}

/// A leftover intent blocks nothing: `state rm` clears it, and says so.
#[test]
fn state_rm_clears_what_an_interrupted_create_left() {
    let moto = Moto::start();
    let w = Workdir::new(&moto.url, ROLE);
    std::fs::create_dir_all(w.path("state")).unwrap();
    // What a run killed just after sending CreateRole for a name another
    // stack holds would leave: an intent, and their role in AWS.
    let rt = runtime();
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"eks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    rt.block_on(
        moto.iam().create_role().role_name("enza-shared").assume_role_policy_document(trust).send(),
    )
    .unwrap();
    let state = serde_json::json!({
        "version": 1, "serial": 3, "lineage": "l", "stack": "mine", "resources": {},
        "intents": {"iam_role.app": {
            "operation": "create", "since": "2026-01-01T00:00:00Z",
            "attributes": {"name": "enza-shared", "tags": {"infra:stack": "mine", "infra:address": "iam_role.app"}}
        }}
    });
    std::fs::write(w.path("state/mine.json"), state.to_string()).unwrap();

    let plan = w.run(&["plan", "stack.yaml"]);
    assert_eq!(plan.code, 1);
    assert!(plan.stderr.contains("infra does not adopt it"), "{}", plan.stderr);
    assert!(plan.stderr.contains("`infra state rm iam_role.app`"), "{}", plan.stderr);
    assert!(plan.stderr.contains("it has no infra:stack or infra:address tag"), "{}", plan.stderr);

    let rm = w.run(&["state", "rm", "iam_role.app", "stack.yaml"]);
    assert_eq!(rm.code, 0, "{}", rm.stderr);
    assert!(
        rm.stdout.contains("Forgot the create an interrupted apply left on iam_role.app"),
        "{}",
        rm.stdout
    );
    let plan = w.run(&["plan", "stack.yaml"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(plan.stdout.contains("iam_role.app will be created"), "{}", plan.stdout);
}

/// CreateVpc has no idempotency token: an answer lost on the way back must not
/// end with a second VPC.
#[test]
fn a_vpc_create_whose_answer_is_lost_makes_one_vpc() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.url);
    proxy.rules(serde_json::json!([{"op": "CreateVpc", "action": "lose", "times": 1}]));
    let w = Workdir::new(&proxy.url, &demo_stack());
    let apply = w.run(&["apply", "--auto-approve", "stack.yaml"]);
    assert_eq!(apply.code, 0, "{}{}", apply.stdout, apply.stderr);
    assert_eq!(proxy.count("CreateVpc"), 1, "sent once, never retried");
    let vpcs = runtime()
        .block_on(
            moto.ec2()
                .describe_vpcs()
                .filters(
                    aws_sdk_ec2::types::Filter::builder()
                        .name("tag:infra:address")
                        .values("vpc.main")
                        .build(),
                )
                .send(),
        )
        .unwrap();
    assert_eq!(vpcs.vpcs().len(), 1, "one VPC, adopted by its tags");
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("state/demo.json")).unwrap()).unwrap();
    assert_eq!(state["resources"]["vpc.main"]["id"], vpcs.vpcs()[0].vpc_id().unwrap());
}

/// In us-east-1, CreateBucket on a bucket this account owns answers 200: a
/// bucket of another stack's is not taken over for that.
#[test]
fn a_bucket_this_account_holds_for_another_stack_is_not_taken_in_us_east_1() {
    let moto = Moto::start();
    let rt = runtime();
    let s3 = {
        let conf = aws_sdk_s3::config::Builder::from(&moto.sdk_config())
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(conf)
    };
    rt.block_on(s3.create_bucket().bucket("enza-shared-logs").send()).unwrap();
    let theirs = aws_sdk_s3::types::Tagging::builder()
        .tag_set(
            aws_sdk_s3::types::Tag::builder().key("infra:stack").value("other").build().unwrap(),
        )
        .build()
        .unwrap();
    rt.block_on(s3.put_bucket_tagging().bucket("enza-shared-logs").tagging(theirs).send()).unwrap();
    let w = Workdir::new(
        &moto.url,
        "stack: mine\nregion: us-east-1\nresources:\n  s3_bucket.logs: { name: enza-shared-logs, versioning: true }\n",
    );
    let apply = w.run(&["apply", "--auto-approve", "stack.yaml"]);
    assert_eq!(apply.code, 1, "{}", apply.stdout);
    assert!(
        apply.stderr.contains("is not this stack's (its tags say infra:stack=other)")
            || apply.stdout.contains("is not this stack's (its tags say infra:stack=other)"),
        "{}{}",
        apply.stdout,
        apply.stderr
    );
    let tags = rt.block_on(s3.get_bucket_tagging().bucket("enza-shared-logs").send()).unwrap();
    let tags: Vec<(&str, &str)> = tags.tag_set().iter().map(|t| (t.key(), t.value())).collect();
    assert_eq!(tags, vec![("infra:stack", "other")], "their tags are untouched");
    let versioning =
        rt.block_on(s3.get_bucket_versioning().bucket("enza-shared-logs").send()).unwrap();
    assert!(versioning.status().is_none(), "and so are their settings");
}

/// A role with more managed policies than one page of ListAttachedRolePolicies
/// holds (100): every one is seen, and every one is detached.
#[test]
fn every_page_of_a_roles_policies_is_read() {
    let moto = Moto::start();
    let rt = runtime();
    let iam = moto.iam();
    let w = Workdir::new(
        &moto.url,
        "stack: mine\nregion: ap-northeast-1\nresources:\n  iam_role.app: { name: enza-paged, assume_role_service: eks.amazonaws.com }\n",
    );
    assert_eq!(w.run(&["apply", "--auto-approve", "stack.yaml"]).code, 0);
    // Attached by hand, outside the stack (which wants none).
    let policies = rt
        .block_on(
            iam.list_policies()
                .scope(aws_sdk_iam::types::PolicyScopeType::Aws)
                .max_items(101)
                .send(),
        )
        .unwrap();
    let arns: Vec<String> =
        policies.policies().iter().filter_map(|p| p.arn().map(str::to_string)).collect();
    assert_eq!(arns.len(), 101);
    for arn in &arns {
        rt.block_on(iam.attach_role_policy().role_name("enza-paged").policy_arn(arn).send())
            .unwrap();
    }
    let plan = w.run(&["plan", "--format", "json", "stack.yaml"]);
    let plan: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    let role = &plan["resource_changes"][0];
    assert_eq!(role["before"]["managed_policy_arns"].as_array().unwrap().len(), 101);
    assert_eq!(w.run(&["apply", "--auto-approve", "stack.yaml"]).code, 0);
    let left =
        rt.block_on(iam.list_attached_role_policies().role_name("enza-paged").send()).unwrap();
    assert!(left.attached_policies().is_empty(), "every one is detached");
}

/// `force_destroy` on a bucket holding an object it may not delete (a legal
/// hold) stops, naming the object, instead of trying for ever.
#[test]
fn force_destroy_stops_at_an_object_it_may_not_delete() {
    let moto = Moto::start();
    let rt = runtime();
    let s3 = moto.s3();
    rt.block_on(
        s3.create_bucket()
            .bucket("enza-held")
            .object_lock_enabled_for_bucket(true)
            .create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::ApNortheast1)
                    .build(),
            )
            .send(),
    )
    .unwrap();
    rt.block_on(
        s3.put_object()
            .bucket("enza-held")
            .key("evidence.log")
            .body(aws_sdk_s3::primitives::ByteStream::from_static(b"x"))
            .object_lock_legal_hold_status(aws_sdk_s3::types::ObjectLockLegalHoldStatus::On)
            .send(),
    )
    .unwrap();
    let w = Workdir::new(
        &moto.url,
        "stack: mine\nregion: ap-northeast-1\nresources:\n  s3_bucket.held: { name: enza-held, versioning: true, force_destroy: true }\n",
    );
    assert_eq!(w.run(&["import", "s3_bucket.held", "enza-held", "stack.yaml"]).code, 0);
    let mut destroy = w
        .command(&["destroy", "--auto-approve", "stack.yaml"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while destroy.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = destroy.kill();
            panic!("destroy did not stop at the held object");
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let out = destroy.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(
        text.contains("bucket enza-held could not be emptied: 1 object version could not be deleted: evidence.log"),
        "{text}"
    );
    assert!(
        w.run(&["state", "list", "stack.yaml"]).stdout.contains("s3_bucket.held"),
        "it stays in state"
    );
}
