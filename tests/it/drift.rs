//! `infra drift`: what changed outside infra, read without a lock and without
//! a write, against moto through the counting proxy.

use crate::support::{Moto, Proxy, Workdir, runtime, web_resources};

fn stack() -> String {
    STACK.replace(
        "  # the load balancer's network, target groups and listener\n",
        &web_resources("10.70", "0"),
    )
}

const STACK: &str = r#"
stack: drifty
region: ap-northeast-1
resources:
  vpc.main:
    cidr_block: 10.70.0.0/16
  # the load balancer's network, target groups and listener
  s3_bucket.scratch:
    name: drifty-scratch
"#;

/// Operations that change something, by the names the proxy counts.
fn mutations(proxy: &Proxy) -> Vec<String> {
    const VERBS: &[&str] = &[
        "Create",
        "Delete",
        "Modify",
        "Put",
        "Attach",
        "Detach",
        "Authorize",
        "Revoke",
        "Register",
        "Deregister",
        "Add",
        "Remove",
        "Update",
        "Tag",
        "Untag",
        "Set",
        "Associate",
        "Disassociate",
        "Enable",
        "Disable",
        "Replace",
    ];
    proxy
        .counts()
        .keys()
        .filter(|op| {
            VERBS.iter().any(|v| op.starts_with(v))
                || ["PUT ", "POST ", "DELETE "].iter().any(|m| op.starts_with(m))
        })
        .cloned()
        .collect()
}

#[test]
fn a_weight_changed_outside_infra_is_drift_read_without_a_write() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.url);
    let w = Workdir::new(&proxy.url, &stack());
    w.apply_ok();
    let clean = w.run(&["drift", "stack.yaml"]);
    assert_eq!(clean.code, 0, "{}\n{}", clean.stdout, clean.stderr);
    assert!(clean.stdout.contains("No drift"), "{}", clean.stdout);

    // Someone moves half the traffic by hand and deletes the scratch bucket.
    let state_text = || std::fs::read_to_string(w.path("state/drifty.json")).unwrap();
    let state: serde_json::Value = serde_json::from_str(&state_text()).unwrap();
    let arn = |a: &str| state["resources"][a]["attributes"]["arn"].as_str().unwrap().to_string();
    let rt = runtime();
    let group = |tg: String, weight: i32| {
        aws_sdk_elasticloadbalancingv2::types::TargetGroupTuple::builder()
            .target_group_arn(tg)
            .weight(weight)
            .build()
    };
    rt.block_on(
        moto.elbv2()
            .modify_listener()
            .listener_arn(state["resources"]["listener.http"]["id"].as_str().unwrap())
            .default_actions(
                aws_sdk_elasticloadbalancingv2::types::Action::builder()
                    .r#type(aws_sdk_elasticloadbalancingv2::types::ActionTypeEnum::Forward)
                    .forward_config(
                        aws_sdk_elasticloadbalancingv2::types::ForwardActionConfig::builder()
                            .target_groups(group(arn("target_group.ec2"), 50))
                            .target_groups(group(arn("target_group.eks"), 50))
                            .build(),
                    )
                    .build(),
            )
            .send(),
    )
    .unwrap();
    rt.block_on(moto.s3().delete_bucket().bucket("drifty-scratch").send()).unwrap();

    proxy.reset();
    let serial = state["serial"].clone();
    let before = state_text();
    let d = w.run(&["drift", "stack.yaml"]);
    assert_eq!(d.code, 2, "{}\n{}", d.stdout, d.stderr);
    assert!(
        d.stdout.contains("~ listener.http")
            && d.stdout.contains(
                "~ forward: target_group.ec2 100 → 50 (100% → 50%), target_group.eks 0 → 50 (0% → 50%)"
            ),
        "{}",
        d.stdout
    );
    assert!(d.stdout.contains("- s3_bucket.scratch was deleted outside infra"), "{}", d.stdout);
    assert!(d.stdout.contains("2 resources drifted."), "{}", d.stdout);
    assert_eq!(mutations(&proxy), Vec::<String>::new(), "a read only");
    assert_eq!(state_text(), before, "nothing written");
    assert!(!w.path("state/drifty.json.lock").exists(), "no lock left behind");

    let json = w.run(&["drift", "--format", "json", "stack.yaml"]);
    assert_eq!(json.code, 2);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(doc["state_serial"], serial);
    let listener =
        doc["drift"].as_array().unwrap().iter().find(|d| d["address"] == "listener.http").unwrap();
    let forward = &listener["values"][0];
    assert_eq!(forward["attribute"], "forward");
    assert_eq!(forward["was"][0]["weight"], 100);
    assert_eq!(forward["now"][0]["weight"], 50);

    let md = w.run(&["drift", "--format", "markdown", "stack.yaml"]);
    assert!(
        md.stdout.starts_with("### infra drift for `drifty`: 2 resources changed outside infra"),
        "{}",
        md.stdout
    );

    // Ignored, what is left is no drift.
    let ignored = w.run(&[
        "drift",
        "--ignore",
        "listener.http.forward",
        "--ignore",
        "s3_bucket.scratch",
        "stack.yaml",
    ]);
    assert_eq!(ignored.code, 0, "{}", ignored.stdout);
    let unknown = w.run(&["drift", "--ignore", "listener.nope", "stack.yaml"]);
    assert_eq!(unknown.code, 1);
    assert!(unknown.stderr.contains("the state has no resource listener.nope"));

    // A plan shows the drift in a section of its own, before its changes.
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(
        plan.stdout
            .starts_with("Drift since the last apply (changed outside infra):\n  ~ listener.http"),
        "{}",
        plan.stdout
    );
    assert_eq!(state_text(), before, "a plan writes nothing either");
}
