//! The cut-over against moto: weighted target groups, listener rules, a target
//! group replaced while in use, and a progressive rollout that an alarm reverts.
//! Every check reads the emulator through the SDK.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::Stdio;

use crate::support::{Moto, Workdir, cutover_stack, last_line, runtime};

/// A stack with the network, two target groups, an ALB and a listener whose
/// forward is given; `extra` is appended under `resources:`.
fn stack(ec2: i64, eks: i64, rollout: &str, extra: &str) -> String {
    let base = cutover_stack();
    let start = base.find("  listener.http:").unwrap();
    let end = base.find("outputs:").unwrap();
    let listener = format!(
        "  listener.http:\n    load_balancer_arn: ${{load_balancer.web.arn}}\n    port: 80\n    protocol: HTTP\n    forward:\n      - {{ target_group_arn: \"${{target_group.ec2.arn}}\", weight: {ec2} }}\n      - {{ target_group_arn: \"${{target_group.eks.arn}}\", weight: {eks} }}\n{rollout}{extra}\n"
    );
    format!("{}{listener}{}", &base[..start], &base[end..])
}

/// The listeners of the stack's one load balancer, as the emulator has them.
fn listeners(moto: &Moto) -> Vec<aws_sdk_elasticloadbalancingv2::types::Listener> {
    let rt = runtime();
    let elb = moto.elbv2();
    let lbs = rt.block_on(elb.describe_load_balancers().send()).unwrap();
    let lb = lbs.load_balancers()[0].load_balancer_arn().unwrap().to_string();
    rt.block_on(elb.describe_listeners().load_balancer_arn(&lb).send())
        .unwrap()
        .listeners()
        .to_vec()
}

/// The stack's one listener, as the emulator has it.
fn listener(moto: &Moto) -> aws_sdk_elasticloadbalancingv2::types::Listener {
    let all = listeners(moto);
    assert_eq!(all.len(), 1);
    all[0].clone()
}

/// The listener's forward as read from the emulator: target group name → weight.
fn forward(moto: &Moto) -> BTreeMap<String, i32> {
    weights(moto, &listener(moto).default_actions()[0])
}

fn listener_arn(moto: &Moto) -> String {
    listener(moto).listener_arn().unwrap().to_string()
}

fn weights(
    moto: &Moto,
    action: &aws_sdk_elasticloadbalancingv2::types::Action,
) -> BTreeMap<String, i32> {
    let names = tg_names(moto);
    action
        .forward_config()
        .unwrap()
        .target_groups()
        .iter()
        .map(|t| (names[t.target_group_arn().unwrap()].clone(), t.weight().unwrap_or(1)))
        .collect()
}

/// Target group ARN → the handle in its infra:address tag (or its name).
fn tg_names(moto: &Moto) -> BTreeMap<String, String> {
    let rt = runtime();
    let elb = moto.elbv2();
    let groups = rt.block_on(elb.describe_target_groups().send()).unwrap();
    let arns: Vec<String> =
        groups.target_groups().iter().map(|g| g.target_group_arn().unwrap().to_string()).collect();
    let tags = rt.block_on(elb.describe_tags().set_resource_arns(Some(arns)).send()).unwrap();
    groups
        .target_groups()
        .iter()
        .map(|g| {
            let arn = g.target_group_arn().unwrap();
            let handle = tags
                .tag_descriptions()
                .iter()
                .find(|d| d.resource_arn() == Some(arn))
                .and_then(|d| d.tags().iter().find(|t| t.key() == Some("infra:address")))
                .and_then(|t| t.value())
                .unwrap_or(g.target_group_name().unwrap())
                .to_string();
            (arn.to_string(), handle)
        })
        .collect()
}

/// Registers a target (a pod IP) in a target group: moto reports a registered
/// target healthy. A rollout moves traffic only onto a group with one.
fn register(moto: &Moto, group: &str) {
    let arn =
        tg_names(moto).into_iter().find(|(_, handle)| handle == group).map(|(arn, _)| arn).unwrap();
    runtime()
        .block_on(
            moto.elbv2()
                .register_targets()
                .target_group_arn(arn)
                .targets(
                    aws_sdk_elasticloadbalancingv2::types::TargetDescription::builder()
                        .id("10.30.1.5")
                        .port(8080)
                        .build(),
                )
                .send(),
        )
        .unwrap();
}

fn set_alarm(moto: &Moto, name: &str, state: aws_sdk_cloudwatch::types::StateValue) {
    runtime()
        .block_on(
            moto.cloudwatch()
                .set_alarm_state()
                .alarm_name(name)
                .state_value(state)
                .state_reason("set by the test")
                .send(),
        )
        .unwrap();
}

/// Runs `infra apply` and reads its progress; `on_line` sees each line of
/// stderr as it comes, and says whether to stop reading there (the child is
/// then left to the caller). Returns the log and the child.
fn apply_watching(
    w: &Workdir,
    mut on_line: impl FnMut(&str, &std::process::Child) -> bool,
) -> (String, std::process::Child) {
    let mut child = w
        .command(&["apply", "--auto-approve", "stack.yaml"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut log = String::new();
    let lines = BufReader::new(child.stderr.take().unwrap()).lines();
    for line in lines {
        let line = line.unwrap();
        log.push_str(&line);
        log.push('\n');
        if on_line(&line, &child) {
            break;
        }
    }
    (log, child)
}

fn split(pairs: &[(&str, i32)]) -> BTreeMap<String, i32> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

#[test]
fn weights_move_in_place_100_90_50_0() {
    let moto = Moto::start();
    let w = Workdir::new(&moto.url, &stack(100, 0, "", ""));
    w.apply_ok();
    assert_eq!(forward(&moto), split(&[("target_group.ec2", 100), ("target_group.eks", 0)]));
    let arn = listener_arn(&moto);
    w.assert_no_changes();

    for (ec2, eks, line) in [
        (
            90,
            10,
            "~ forward: target_group.ec2 100 → 90 (100% → 90%), target_group.eks 0 → 10 (0% → 10%)",
        ),
        (
            50,
            50,
            "~ forward: target_group.ec2 90 → 50 (90% → 50%), target_group.eks 10 → 50 (10% → 50%)",
        ),
        (
            0,
            100,
            "~ forward: target_group.ec2 50 → 0 (50% → 0%), target_group.eks 50 → 100 (50% → 100%)",
        ),
    ] {
        w.write_stack(&stack(ec2, eks, "", ""));
        let plan = w.run(&["plan", "stack.yaml"]);
        assert!(plan.stdout.contains(line), "{}", plan.stdout);
        assert!(
            plan.stdout.contains("  # listener.http will be updated in place"),
            "{}",
            plan.stdout
        );
        assert_eq!(last_line(&plan.stdout), "Plan: 0 to add, 1 to change, 0 to destroy.");
        w.apply_ok();
        assert_eq!(
            forward(&moto),
            split(&[("target_group.ec2", ec2 as i32), ("target_group.eks", eks as i32)])
        );
        assert_eq!(listener_arn(&moto), arn, "the listener is updated in place");
        let again = w.run(&["plan", "--detailed-exitcode", "stack.yaml"]);
        assert_eq!(again.code, 0, "{}", again.stdout);
    }

    // A one-target forward without a weight and the same target with a weight are
    // the same thing: no perpetual diff.
    let one = stack(0, 100, "", "")
        .replace("      - { target_group_arn: \"${target_group.ec2.arn}\", weight: 0 }\n", "");
    w.write_stack(&one.replace("weight: 100 }", "weight: 5 }"));
    assert_eq!(w.run(&["apply", "--auto-approve", "stack.yaml"]).code, 0);
    w.assert_no_changes();
    w.write_stack(&one.replace(", weight: 100 }", " }"));
    let plan = w.run(&["plan", "--detailed-exitcode", "stack.yaml"]);
    assert_eq!(plan.code, 0, "{}", plan.stdout);

    let r = w.run(&["destroy", "--auto-approve", "stack.yaml"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let rt = runtime();
    assert!(
        rt.block_on(moto.elbv2().describe_load_balancers().send())
            .unwrap()
            .load_balancers()
            .is_empty()
    );
    assert!(
        rt.block_on(moto.elbv2().describe_target_groups().send())
            .unwrap()
            .target_groups()
            .is_empty()
    );
}

#[test]
fn an_alarm_during_a_rollout_reverts_the_weights() {
    let moto = Moto::start();
    let rt = runtime();
    let cw = moto.cloudwatch();
    moto.put_alarm("cutover-5xx");
    let rollout =
        "    rollout: { steps: [25, 50, 100], pause_seconds: 2, alarms: [cutover-5xx] }\n";
    let w = Workdir::new(&moto.url, &stack(100, 0, rollout, ""));
    assert_eq!(w.run(&["apply", "--auto-approve", "stack.yaml"]).code, 0);
    register(&moto, "target_group.eks");

    w.write_stack(&stack(0, 100, rollout, ""));
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(
        plan.stdout.contains(
            "rollout: 3 steps (25%, 50%, 100%), 2 s apart, watched every 10 s and for 2 s after the last, gated by alarm cutover-5xx"
        ),
        "{}",
        plan.stdout
    );
    let mut child = w
        .command(&["apply", "--auto-approve", "stack.yaml"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut log = String::new();
    let mut fired = false;
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        log.push_str(&line);
        log.push('\n');
        // During the second pause, the alarm goes off.
        if line.contains("rollout step 2/3 (50%)") {
            assert_eq!(
                forward(&moto),
                split(&[("target_group.ec2", 50), ("target_group.eks", 50)])
            );
            rt.block_on(
                cw.set_alarm_state()
                    .alarm_name("cutover-5xx")
                    .state_value(aws_sdk_cloudwatch::types::StateValue::Alarm)
                    .state_reason("5xx above threshold")
                    .send(),
            )
            .unwrap();
            fired = true;
        }
    }
    let status = child.wait().unwrap();
    assert!(fired, "the second step was reached:\n{log}");
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(
        log.contains(
            "rollout step 1/3 (25%): target_group.ec2 75 (75%), target_group.eks 25 (25%)"
        ),
        "{log}"
    );
    assert!(
        log.contains("rollout of listener.http reverted in the pause after step 2 of 3 (50%): alarm cutover-5xx is in ALARM"),
        "{log}"
    );
    assert_eq!(
        forward(&moto),
        split(&[("target_group.ec2", 100), ("target_group.eks", 0)]),
        "weights reverted"
    );

    // State records the weights in force and what happened; the change is still pending.
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("state/cutover.json")).unwrap())
            .unwrap();
    let rec = &state["resources"]["listener.http"]["rollout"];
    assert!(
        rec["outcome"].as_str().unwrap().starts_with("reverted in the pause after step 2 of 3"),
        "{rec}"
    );
    assert_eq!(rec["steps"].as_array().unwrap().len(), 3, "two steps and the revert: {rec}");
    // `rollout status` reads it back from state alone.
    let status = w.run(&["rollout", "status", "stack.yaml"]);
    assert_eq!(status.code, 0, "{}", status.stderr);
    assert!(
        status.stdout.contains(
            "listener.http: rollout reverted in the pause after step 2 of 3 (50%): alarm cutover-5xx is in ALARM"
        ) && status.stdout.contains("step 2: 50% — target_group.ec2 50 (50%), target_group.eks 50 (50%)")
            && status.stdout.contains("revert: 0% — target_group.ec2 100 (100%), target_group.eks 0 (0%)"),
        "{}",
        status.stdout
    );
    let plan = w.run(&["plan", "--detailed-exitcode", "stack.yaml"]);
    assert_eq!(plan.code, 2);
    assert!(
        plan.stdout.contains(
            "~ forward: target_group.ec2 100 → 0 (100% → 0%), target_group.eks 0 → 100 (0% → 100%)"
        ),
        "{}",
        plan.stdout
    );
}

/// The revert's ModifyListener refused (by the proxy): the run exits 1
/// naming the alarm, state says the revert failed and why, the next plan
/// refuses any step forward and says how out, and `infra rollout ack` lets
/// the change through again.
#[test]
fn a_failed_revert_blocks_forward_steps_until_acknowledged() {
    let moto = Moto::start();
    let proxy = crate::support::Proxy::start(&moto.url);
    moto.put_alarm("cutover-5xx");
    let rollout = "    rollout: { steps: [50, 100], pause_seconds: 2, alarms: [cutover-5xx] }\n";
    let w = Workdir::new(&proxy.url, &stack(100, 0, rollout, ""));
    assert_eq!(w.run(&["apply", "--auto-approve", "stack.yaml"]).code, 0);
    register(&moto, "target_group.eks");
    w.write_stack(&stack(0, 100, rollout, ""));
    // The first weight change goes through; every one after is refused.
    proxy.rules(serde_json::json!([{
        "op": "ModifyListener", "action": "error", "status": 400,
        "code": "InvalidConfigurationRequest", "message": "refused by the test",
        "after": 1, "times": 100
    }]));
    let (log, mut child) = apply_watching(&w, |line, _| {
        if line.contains("rollout step 1/2 (50%)") {
            set_alarm(&moto, "cutover-5xx", aws_sdk_cloudwatch::types::StateValue::Alarm);
        }
        false
    });
    assert_eq!(child.wait().unwrap().code(), Some(1), "{log}");
    assert!(
        log.contains("could not be reverted in the pause after step 1 of 2 (50%): alarm cutover-5xx is in ALARM")
            && log.contains("InvalidConfigurationRequest"),
        "{log}"
    );
    assert_eq!(forward(&moto), split(&[("target_group.ec2", 50), ("target_group.eks", 50)]));
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("state/cutover.json")).unwrap())
            .unwrap();
    let outcome =
        state["resources"]["listener.http"]["rollout"]["outcome"].as_str().unwrap().to_string();
    assert!(
        outcome.starts_with(
            "revert failed in the pause after step 1 of 2 (50%): alarm cutover-5xx is in ALARM"
        ),
        "{outcome}"
    );

    proxy.rules(serde_json::json!([]));
    set_alarm(&moto, "cutover-5xx", aws_sdk_cloudwatch::types::StateValue::Ok);
    let plan = w.run(&["plan", "stack.yaml"]);
    assert_eq!(plan.code, 1, "{}\n{}", plan.stdout, plan.stderr);
    assert!(
        plan.stderr.contains("listener.http: its last rollout's revert did not finish")
            && plan.stderr.contains("infra rollout ack listener.http"),
        "{}",
        plan.stderr
    );
    let before = forward(&moto);
    let refused = w.run(&["apply", "--auto-approve", "stack.yaml"]);
    assert_eq!(refused.code, 1);
    assert_eq!(forward(&moto), before, "nothing moved forward");

    let ack = w.run(&["rollout", "ack", "listener.http", "stack.yaml"]);
    assert_eq!(ack.code, 0, "{}", ack.stderr);
    let status = w.run(&["rollout", "status", "stack.yaml"]);
    assert!(status.stdout.contains("acknowledged"), "{}", status.stdout);
    let plan = w.run(&["plan", "stack.yaml"]);
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
}

#[test]
fn a_rule_forwards_by_weight_and_an_external_target_group_is_used_by_arn() {
    let moto = Moto::start();
    let rt = runtime();
    // The EC2 side exists before the migration, outside infra.
    let vpc = rt.block_on(moto.ec2().create_vpc().cidr_block("10.99.0.0/16").send()).unwrap();
    let external = rt
        .block_on(
            moto.elbv2()
                .create_target_group()
                .name("legacy-ec2")
                .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
                .port(80)
                .vpc_id(vpc.vpc().unwrap().vpc_id().unwrap())
                .send(),
        )
        .unwrap()
        .target_groups()[0]
        .target_group_arn()
        .unwrap()
        .to_string();
    let rule = |a: i64, b: i64| {
        format!(
            "  listener_rule.api:\n    listener_arn: ${{listener.http.arn}}\n    priority: 10\n    conditions: {{ path_patterns: [\"/api/*\"], host_headers: [api.example.com] }}\n    forward:\n      - {{ target_group_arn: \"{external}\", weight: {a} }}\n      - {{ target_group_arn: \"${{target_group.eks.arn}}\", weight: {b} }}\n"
        )
    };
    let text = |a, b| stack(100, 0, "", &rule(a, b)).replace("${target_group.ec2.arn}", &external);
    let w = Workdir::new(&moto.url, &text(80, 20));
    w.apply_ok();
    assert_eq!(forward(&moto), split(&[("legacy-ec2", 100), ("target_group.eks", 0)]));
    let rules = || {
        let r = rt
            .block_on(moto.elbv2().describe_rules().listener_arn(listener_arn(&moto)).send())
            .unwrap();
        r.rules().iter().filter(|r| r.is_default() != Some(true)).cloned().collect::<Vec<_>>()
    };
    let got = rules();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].priority(), Some("10"));
    assert_eq!(
        weights(&moto, &got[0].actions()[0]),
        split(&[("legacy-ec2", 80), ("target_group.eks", 20)])
    );
    w.assert_no_changes();

    w.write_stack(&text(10, 90));
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(
        plan.stdout.contains(
            "~ forward: legacy-ec2 80 → 10 (80% → 10%), target_group.eks 20 → 90 (20% → 90%)"
        ),
        "{}",
        plan.stdout
    );
    assert_eq!(last_line(&plan.stdout), "Plan: 0 to add, 1 to change, 0 to destroy.");
    let rule_arn = got[0].rule_arn().unwrap().to_string();
    assert_eq!(w.run(&["apply", "--auto-approve", "stack.yaml"]).code, 0);
    let got = rules();
    assert_eq!(got[0].rule_arn(), Some(rule_arn.as_str()), "the rule changes in place");
    assert_eq!(
        weights(&moto, &got[0].actions()[0]),
        split(&[("legacy-ec2", 10), ("target_group.eks", 90)])
    );
    w.assert_no_changes();

    // Destroy leaves the external group alone.
    assert_eq!(w.run(&["destroy", "--auto-approve", "stack.yaml"]).code, 0);
    let left = rt.block_on(moto.elbv2().describe_target_groups().send()).unwrap();
    assert_eq!(left.target_groups().len(), 1);
    assert_eq!(left.target_groups()[0].target_group_arn(), Some(external.as_str()));
}

#[test]
fn a_target_group_in_use_is_replaced_in_one_apply() {
    let moto = Moto::start();
    let w = Workdir::new(&moto.url, &stack(50, 50, "", ""));
    assert_eq!(w.run(&["apply", "--auto-approve", "stack.yaml"]).code, 0);
    let before: Vec<String> = tg_names(&moto)
        .into_iter()
        .filter(|(_, n)| n == "target_group.eks")
        .map(|(a, _)| a)
        .collect();
    assert_eq!(before.len(), 1);

    // A new port cannot change in place.
    let text = stack(50, 50, "", "");
    let i = text.find("target_group.eks:").unwrap();
    let j = i + text[i..].find("port: 80").unwrap();
    w.write_stack(&format!("{}port: 8080{}", &text[..j], &text[j + 8..]));
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(
        plan.stdout.contains("# target_group.eks must be replaced (the new one is created first)"),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("~ port: 80 -> 8080  # forces replacement"), "{}", plan.stdout);
    // The listener moves to the new group, and the alarm watches it (its
    // `TargetGroup` dimension is the group's `arn_suffix`).
    assert!(
        plan.stdout.contains("# cloudwatch_alarm.eks_5xx will be updated in place"),
        "{}",
        plan.stdout
    );
    assert_eq!(last_line(&plan.stdout), "Plan: 1 to add, 2 to change, 1 to destroy.");
    w.apply_ok();

    let names = tg_names(&moto);
    let after: Vec<&String> =
        names.iter().filter(|(_, n)| *n == "target_group.eks").map(|(a, _)| a).collect();
    assert_eq!(after.len(), 1, "exactly one eks group: {names:?}");
    assert_ne!(after[0], &before[0], "a new group");
    assert_eq!(
        forward(&moto),
        split(&[("target_group.ec2", 50), ("target_group.eks", 50)]),
        "the listener points at it"
    );
    let rt = runtime();
    let g = rt
        .block_on(moto.elbv2().describe_target_groups().target_group_arns(after[0].as_str()).send())
        .unwrap();
    assert_eq!(g.target_groups()[0].port(), Some(8080));
    w.assert_no_changes();
}

#[test]
fn ctrl_c_during_a_rollout_stops_at_the_last_step_and_the_rest_stays_planned() {
    let moto = Moto::start();
    let rollout = "    rollout: { steps: [25, 50, 100], pause_seconds: 30 }\n";
    let w = Workdir::new(&moto.url, &stack(100, 0, rollout, ""));
    assert_eq!(w.run(&["apply", "--auto-approve", "stack.yaml"]).code, 0);
    register(&moto, "target_group.eks");
    w.write_stack(&stack(0, 100, rollout, ""));
    let mut child = w
        .command(&["apply", "--auto-approve", "stack.yaml"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut log = String::new();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        log.push_str(&line);
        log.push('\n');
        if line.contains("rollout step 1/3 (25%)") {
            let ok = std::process::Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .status()
                .unwrap();
            assert!(ok.success());
            break;
        }
    }
    for line in lines {
        log.push_str(&line.unwrap());
        log.push('\n');
    }
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(log.contains("rollout of listener.http interrupted after step 1 of 3 (25%)"), "{log}");
    // The weights of the last completed step are in force and in state.
    assert_eq!(forward(&moto), split(&[("target_group.ec2", 75), ("target_group.eks", 25)]));
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("state/cutover.json")).unwrap())
            .unwrap();
    assert_eq!(
        state["resources"]["listener.http"]["rollout"]["outcome"],
        "interrupted after step 1 of 3"
    );
    assert!(!w.path("state/cutover.json.lock").exists(), "the lock is released");
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(
        plan.stdout.contains(
            "~ forward: target_group.ec2 75 → 0 (75% → 0%), target_group.eks 25 → 100 (25% → 100%)"
        ),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains(
            "# listener.http will be updated in place (rollout interrupted at step 1 of 3 (25%); this apply goes on from there)"
        ) && plan.stdout.contains("rollout: 2 steps (50%, 100%), 30 s apart"),
        "{}",
        plan.stdout
    );
}

/// SIGTERM while baking after the last step: the weights are in force, but
/// the run exits 1, state says the bake was interrupted, and the next plan
/// says where it stopped.
#[test]
fn sigterm_while_baking_is_an_interruption_not_a_completion() {
    let moto = Moto::start();
    let rollout = "    rollout: { steps: [100], pause_seconds: 60 }\n";
    let w = Workdir::new(&moto.url, &stack(100, 0, rollout, ""));
    assert_eq!(w.run(&["apply", "--auto-approve", "stack.yaml"]).code, 0);
    register(&moto, "target_group.eks");
    w.write_stack(&stack(0, 100, rollout, ""));
    let (log, mut child) = apply_watching(&w, |line, child| {
        if line.contains("rollout step 1/1 (100%)") {
            let ok = std::process::Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status()
                .unwrap();
            assert!(ok.success());
        }
        false
    });
    assert_eq!(child.wait().unwrap().code(), Some(1), "{log}");
    assert!(
        log.contains(
            "rollout of listener.http interrupted while baking after its last step (100%)"
        ),
        "{log}"
    );
    assert_eq!(forward(&moto), split(&[("target_group.ec2", 0), ("target_group.eks", 100)]));
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("state/cutover.json")).unwrap())
            .unwrap();
    let outcome =
        state["resources"]["listener.http"]["rollout"]["outcome"].as_str().unwrap().to_string();
    assert!(outcome.starts_with("interrupted while baking after step 1 of 1 ("), "{outcome}");
    let plan = w.run(&["plan", "stack.yaml"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(
        plan.stdout.contains("its rollout was interrupted while baking after step 1 of 1"),
        "{}",
        plan.stdout
    );
}

#[test]
fn redirects_fixed_responses_and_targets_read_back_without_a_diff() {
    let moto = Moto::start();
    let extra = r#"  listener.redirect:
    load_balancer_arn: ${load_balancer.web.arn}
    port: 8080
    protocol: HTTP
    redirect: { status_code: HTTP_301, port: "80" }
  listener.maintenance:
    load_balancer_arn: ${load_balancer.web.arn}
    port: 8081
    protocol: HTTP
    fixed_response: { status_code: "503", content_type: text/plain, message_body: back soon }
  listener_rule.health:
    listener_arn: ${listener.http.arn}
    priority: 5
    conditions:
      host_headers: [status.example.com]
      http_headers: [{ name: X-Probe, values: ["1"] }]
    fixed_response: { status_code: "200" }
  target_group.pods:
    vpc_id: ${vpc.main.id}
    protocol: HTTP
    port: 8080
    target_type: ip
    stickiness: { enabled: true, duration_seconds: 600 }
    targets: [{ id: 10.30.0.10 }, { id: 10.30.0.11, port: 9090 }]
"#;
    let w = Workdir::new(&moto.url, &stack(100, 0, "", extra));
    w.apply_ok();
    let plan = w.run(&["plan", "--detailed-exitcode", "stack.yaml"]);
    assert_eq!(plan.code, 0, "no perpetual diff:\n{}", plan.stdout);

    let rt = runtime();
    let elb = moto.elbv2();
    let listeners = listeners(&moto);
    let by_port = |p: i32| {
        listeners.iter().find(|l| l.port() == Some(p)).unwrap().default_actions()[0].clone()
    };
    let redirect = by_port(8080);
    assert_eq!(redirect.redirect_config().unwrap().port(), Some("80"));
    assert_eq!(
        redirect.redirect_config().unwrap().status_code().map(|s| s.as_str()),
        Some("HTTP_301")
    );
    let fixed = by_port(8081);
    assert_eq!(fixed.fixed_response_config().unwrap().message_body(), Some("back soon"));
    let pods = tg_names(&moto).into_iter().find(|(_, n)| n == "target_group.pods").unwrap().0;
    let health = rt.block_on(elb.describe_target_health().target_group_arn(&pods).send()).unwrap();
    let mut targets: Vec<(String, i32)> = health
        .target_health_descriptions()
        .iter()
        .map(|d| {
            (d.target().unwrap().id().unwrap().to_string(), d.target().unwrap().port().unwrap())
        })
        .collect();
    targets.sort();
    assert_eq!(targets, [("10.30.0.10".to_string(), 8080), ("10.30.0.11".to_string(), 9090)]);

    // One target leaves, another joins: registered and deregistered in place.
    w.write_stack(&stack(100, 0, "", &extra.replace("{ id: 10.30.0.10 }", "{ id: 10.30.0.12 }")));
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(
        plan.stdout.contains("+ { id: \"10.30.0.12\", port: 8080 }")
            || plan.stdout.contains("+ { id: \"10.30.0.12\" }"),
        "{}",
        plan.stdout
    );
    assert_eq!(last_line(&plan.stdout), "Plan: 0 to add, 1 to change, 0 to destroy.");
    assert_eq!(w.run(&["apply", "--auto-approve", "stack.yaml"]).code, 0);
    let health = rt.block_on(elb.describe_target_health().target_group_arn(&pods).send()).unwrap();
    let mut ids: Vec<&str> = health
        .target_health_descriptions()
        .iter()
        .map(|d| d.target().unwrap().id().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, ["10.30.0.11", "10.30.0.12"]);
    w.assert_no_changes();
}

/// The gate watches all through a pause: an alarm that fires in a 60 s pause
/// reverts at the next poll (every 5 s here), long before the pause ends.
#[test]
fn an_alarm_in_a_long_pause_reverts_within_one_poll() {
    let moto = Moto::start();
    moto.put_alarm("cutover-5xx");
    let rollout = "    rollout: { steps: [50, 100], pause_seconds: 60, poll_seconds: 5, alarms: [cutover-5xx] }\n";
    let w = Workdir::new(&moto.url, &stack(100, 0, rollout, ""));
    assert_eq!(w.run(&["apply", "--auto-approve", "stack.yaml"]).code, 0);
    register(&moto, "target_group.eks");
    w.write_stack(&stack(0, 100, rollout, ""));
    let mut fired = None;
    let mut reverted = None;
    let (log, mut child) = apply_watching(&w, |line, _| {
        if line.contains("rollout step 1/2 (50%)") {
            set_alarm(&moto, "cutover-5xx", aws_sdk_cloudwatch::types::StateValue::Alarm);
            fired = Some(std::time::Instant::now());
        }
        if line.contains("rollout reverted") {
            reverted = Some(std::time::Instant::now());
        }
        false
    });
    assert_eq!(child.wait().unwrap().code(), Some(1), "{log}");
    let took = reverted.expect("reverted") - fired.expect("the first step was reached");
    assert!(
        took < std::time::Duration::from_secs(15),
        "reverted {took:?} after the alarm fired: the gate waited for the pause's end\n{log}"
    );
    assert!(
        log.contains(
            "reverted in the pause after step 1 of 2 (50%): alarm cutover-5xx is in ALARM"
        ),
        "{log}"
    );
    assert_eq!(forward(&moto), split(&[("target_group.ec2", 100), ("target_group.eks", 0)]));
}

/// An alarm with INSUFFICIENT_DATA blocks the first step by default, and so
/// does a target group with no target: nothing moves.
#[test]
fn insufficient_data_and_an_empty_target_group_block_the_first_step() {
    let moto = Moto::start();
    moto.put_alarm("cutover-5xx");
    let rollout = "    rollout: { steps: [50, 100], alarms: [cutover-5xx] }\n";
    let w = Workdir::new(&moto.url, &stack(100, 0, rollout, ""));
    assert_eq!(w.run(&["apply", "--auto-approve", "stack.yaml"]).code, 0);
    w.write_stack(&stack(0, 100, rollout, ""));

    set_alarm(&moto, "cutover-5xx", aws_sdk_cloudwatch::types::StateValue::InsufficientData);
    let blocked = w.run(&["apply", "--auto-approve", "stack.yaml"]);
    assert_eq!(blocked.code, 1);
    assert!(
        blocked
            .stderr
            .contains("reverted before step 1 of 2 (50%): alarm cutover-5xx has INSUFFICIENT_DATA"),
        "{}",
        blocked.stderr
    );
    assert_eq!(forward(&moto), split(&[("target_group.ec2", 100), ("target_group.eks", 0)]));

    set_alarm(&moto, "cutover-5xx", aws_sdk_cloudwatch::types::StateValue::Ok);
    let empty = w.run(&["apply", "--auto-approve", "stack.yaml"]);
    assert_eq!(empty.code, 1);
    assert!(
        empty
            .stderr
            .contains("target group target_group.eks has no healthy target (no target registered)"),
        "{}",
        empty.stderr
    );
    assert_eq!(forward(&moto), split(&[("target_group.ec2", 100), ("target_group.eks", 0)]));

    register(&moto, "target_group.eks");
    let done = w.run(&["apply", "--auto-approve", "stack.yaml"]);
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert_eq!(forward(&moto), split(&[("target_group.ec2", 0), ("target_group.eks", 100)]));
}

/// A forward to one target group reads back as weight 1: steps are shares, so
/// 1 → 0/100 in [25, 50, 100] gives EKS 25%, 50% and 100%.
#[test]
fn steps_are_traffic_shares_from_a_forward_to_one_group() {
    let moto = Moto::start();
    let base = stack(100, 0, "", "");
    let one =
        base.replace("      - { target_group_arn: \"${target_group.eks.arn}\", weight: 0 }\n", "");
    let w = Workdir::new(&moto.url, &one);
    assert_eq!(w.run(&["apply", "--auto-approve", "stack.yaml"]).code, 0);
    // (AWS reads such a forward back as weight 1; the plan's canonical form
    // does the same with whatever the emulator says.)
    assert_eq!(forward(&moto).len(), 1);
    register(&moto, "target_group.eks");
    w.write_stack(&stack(0, 100, "    rollout: { steps: [25, 50, 100] }\n", ""));
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(plan.stdout.contains("rollout: 3 steps (25%, 50%, 100%)"), "{}", plan.stdout);
    let (log, mut child) = apply_watching(&w, |_, _| false);
    assert_eq!(child.wait().unwrap().code(), Some(0), "{log}");
    for want in [
        "rollout step 1/3 (25%): target_group.ec2 75 (75%), target_group.eks 25 (25%)",
        "rollout step 2/3 (50%): target_group.ec2 50 (50%), target_group.eks 50 (50%)",
        "rollout step 3/3 (100%): target_group.ec2 0 (0%), target_group.eks 100 (100%)",
    ] {
        assert!(log.contains(want), "{want}\n{log}");
    }
}

/// A rollout killed (SIGKILL) after step 2 keeps its origin: the next plan
/// says where it stopped, the next apply goes on from there, and a revert
/// forced then (an alarm while baking) goes back to the origin, not to the
/// weights it was killed at.
#[test]
fn a_killed_rollout_resumes_and_a_revert_goes_back_to_the_origin() {
    let moto = Moto::start();
    moto.put_alarm("cutover-5xx");
    let rollout = "    rollout: { steps: [25, 50, 100], pause_seconds: 30, bake_seconds: 30, poll_seconds: 2, alarms: [cutover-5xx] }\n";
    let w = Workdir::new(&moto.url, &stack(100, 0, rollout, ""));
    assert_eq!(w.run(&["apply", "--auto-approve", "stack.yaml"]).code, 0);
    register(&moto, "target_group.eks");
    w.write_stack(&stack(0, 100, rollout, ""));
    let (log, mut child) = apply_watching(&w, |line, child| {
        if line.contains("rollout step 2/3 (50%)") {
            let ok = std::process::Command::new("kill")
                .args(["-KILL", &child.id().to_string()])
                .status()
                .unwrap();
            assert!(ok.success());
            return true;
        }
        false
    });
    child.wait().unwrap();
    assert!(log.contains("rollout step 2/3 (50%)"), "{log}");
    assert_eq!(forward(&moto), split(&[("target_group.ec2", 50), ("target_group.eks", 50)]));

    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(
        plan.stdout
            .contains("(rollout interrupted at step 2 of 3 (50%); this apply goes on from there)")
            && plan.stdout.contains("rollout: 1 step (100%)"),
        "{}",
        plan.stdout
    );

    let (log, mut child) = apply_watching(&w, |line, _| {
        if line.contains("rollout step 3/3 (100%)") {
            set_alarm(&moto, "cutover-5xx", aws_sdk_cloudwatch::types::StateValue::Alarm);
        }
        false
    });
    assert_eq!(child.wait().unwrap().code(), Some(1), "{log}");
    assert!(!log.contains("rollout step 1/3"), "resumed, not restarted:\n{log}");
    assert!(
        log.contains(
            "reverted while baking after step 3 of 3 (100%): alarm cutover-5xx is in ALARM"
        ),
        "{log}"
    );
    assert_eq!(
        forward(&moto),
        split(&[("target_group.ec2", 100), ("target_group.eks", 0)]),
        "back to the origin, not to 50/50"
    );
}

/// `cloudwatch_alarm`: the stack's alarm watches the EKS target group behind
/// the load balancer by their `arn_suffix`es, reads back with no changes,
/// changes in place, and gates the rollout that names it. An alarm of that
/// name made outside the stack is never taken over (PutMetricAlarm would
/// replace it without a word).
#[test]
fn a_managed_alarm_watches_the_target_group_and_gates_the_rollout() {
    let moto = Moto::start();
    let rt = runtime();
    let cw = moto.cloudwatch();
    let text = cutover_stack().replace("pause_seconds: 60", "pause_seconds: 1");
    let w = Workdir::new(&moto.url, &text);
    w.apply_ok();
    let alarm = |name: &str| {
        rt.block_on(cw.describe_alarms().alarm_names(name).send())
            .unwrap()
            .metric_alarms()
            .first()
            .cloned()
    };
    let a = alarm("cutover-eks-5xx").expect("the alarm is made");
    let dims: BTreeMap<String, String> = a
        .dimensions()
        .iter()
        .map(|d| (d.name().unwrap().to_string(), d.value().unwrap().to_string()))
        .collect();
    assert!(dims["LoadBalancer"].starts_with("app/"), "{dims:?}");
    assert!(dims["TargetGroup"].starts_with("targetgroup/"), "{dims:?}");
    assert_eq!(a.threshold(), Some(10.0));
    assert_eq!(a.treat_missing_data(), Some("notBreaching"));
    w.assert_no_changes();

    // In place: PutMetricAlarm with the new threshold.
    let edited = text.replace("threshold: 10", "threshold: 2.5");
    w.write_stack(&edited);
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(plan.stdout.contains("~ threshold: 10.0 -> 2.5"), "{}", plan.stdout);
    assert_eq!(w.run(&["apply", "--auto-approve", "stack.yaml"]).code, 0);
    assert_eq!(alarm("cutover-eks-5xx").unwrap().threshold(), Some(2.5));

    // The rollout gated by it moves traffic while it is OK.
    register(&moto, "target_group.eks");
    let shifted = edited
        .replace("weight: 100 }", "weight: 0 }")
        .replacen("weight: 0 }", "weight: 100 }", 2)
        .replacen("weight: 100 }", "weight: 0 }", 1);
    w.write_stack(&shifted);
    let r = w.apply_ok();
    assert!(r.stderr.contains("rollout step 3/3 (100%)"), "{}", r.stderr);

    // Another stack's alarm of the same name is left alone.
    let other = Workdir::new(&moto.url, &text.replace("stack: cutover", "stack: other"));
    let refused = other.run(&["apply", "--auto-approve", "stack.yaml"]);
    assert_eq!(refused.code, 1);
    assert!(
        refused.stderr.contains("cloudwatch_alarm.eks_5xx")
            && refused.stderr.contains("cutover-eks-5xx"),
        "{}",
        refused.stderr
    );
    assert_eq!(alarm("cutover-eks-5xx").unwrap().threshold(), Some(2.5), "not replaced");
}

/// The load balancer's `arn_suffix`: CloudWatch's `LoadBalancer` dimension.
fn lb_suffix(moto: &Moto) -> String {
    runtime().block_on(moto.elbv2().describe_load_balancers().send()).unwrap().load_balancers()[0]
        .load_balancer_arn()
        .unwrap()
        .split_once(":loadbalancer/")
        .unwrap()
        .1
        .to_string()
}

/// What the load balancer answered itself (its dimension alone): requests,
/// and its own 502s and 504s (pods that crash, pods that time out).
fn put_balancer(moto: &Moto, requests: f64, elb_502: f64, elb_504: f64) {
    use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
    let lb = lb_suffix(moto);
    let now = aws_sdk_cloudwatch::primitives::DateTime::from(std::time::SystemTime::now());
    let datum = |metric: &str, value: f64| {
        MetricDatum::builder()
            .metric_name(metric)
            .dimensions(Dimension::builder().name("LoadBalancer").value(&lb).build())
            .timestamp(now)
            .value(value)
            .build()
    };
    runtime()
        .block_on(
            moto.cloudwatch()
                .put_metric_data()
                .namespace("AWS/ApplicationELB")
                .metric_data(datum("RequestCount", requests))
                .metric_data(datum("HTTPCode_ELB_502_Count", elb_502))
                .metric_data(datum("HTTPCode_ELB_504_Count", elb_504))
                .send(),
        )
        .unwrap();
}

/// What a target group served, as the load balancer reports it to CloudWatch.
fn put_traffic(moto: &Moto, group: &str, requests: f64, errors: f64, latency: f64) {
    put_group(moto, group, requests, errors, 0.0, latency);
}

/// `put_traffic`, with connections to the group's targets that failed.
fn put_group(
    moto: &Moto,
    group: &str,
    requests: f64,
    errors: f64,
    connection_errors: f64,
    latency: f64,
) {
    use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
    let rt = runtime();
    let lb = lb_suffix(moto);
    let tg = tg_names(moto)
        .into_iter()
        .find(|(_, handle)| handle == group)
        .map(|(arn, _)| format!("targetgroup/{}", arn.split_once(":targetgroup/").unwrap().1))
        .unwrap();
    let now = aws_sdk_cloudwatch::primitives::DateTime::from(std::time::SystemTime::now());
    let datum = |metric: &str, value: f64| {
        MetricDatum::builder()
            .metric_name(metric)
            .dimensions(Dimension::builder().name("LoadBalancer").value(&lb).build())
            .dimensions(Dimension::builder().name("TargetGroup").value(&tg).build())
            .timestamp(now)
            .value(value)
            .build()
    };
    rt.block_on(
        moto.cloudwatch()
            .put_metric_data()
            .namespace("AWS/ApplicationELB")
            .metric_data(datum("RequestCount", requests))
            .metric_data(datum("HTTPCode_Target_5XX_Count", errors))
            .metric_data(datum("TargetConnectionErrorCount", connection_errors))
            .metric_data(datum("TargetResponseTime", latency))
            .send(),
    )
    .unwrap();
}

/// Canary analysis against moto's CloudWatch metrics (PutMetricData): a canary
/// with a 10% 5xx share against a 0.1% baseline reverts, naming both; a
/// healthy one completes, each verdict printed with its numbers.
#[test]
fn a_bad_canary_reverts_naming_both_shares_and_a_healthy_one_completes() {
    let moto = Moto::start();
    let rollout = "    rollout: { steps: [50, 100], pause_seconds: 3, analysis: { latency_statistic: Average, wait_seconds: 20 } }\n";
    let w = Workdir::new(&moto.url, &stack(100, 0, rollout, ""));
    assert_eq!(w.run(&["apply", "--auto-approve", "stack.yaml"]).code, 0);
    register(&moto, "target_group.eks");
    w.write_stack(&stack(0, 100, rollout, ""));
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(
        plan.stdout.contains(
            "canary analysis after each pause (5xx at most 1 points over the baseline and under 5%"
        ),
        "{}",
        plan.stdout
    );

    let (log, mut child) = apply_watching(&w, |line, _| {
        if line.contains("rollout step 1/2 (50%)") {
            put_traffic(&moto, "target_group.eks", 1000.0, 100.0, 0.1);
            put_traffic(&moto, "target_group.ec2", 1000.0, 1.0, 0.1);
        }
        false
    });
    assert_eq!(child.wait().unwrap().code(), Some(1), "{log}");
    assert!(
        log.contains("reverted in the pause after step 1 of 2 (50%): canary analysis failed")
            && log.contains("canary failed 10.0% of 1000 requests (100 target 5xx, 0 target connection errors), Average 0.100 s")
            && log.contains("baseline failed 0.1% of 1000 requests (1 target 5xx, 0 target connection errors), Average 0.100 s"),
        "{log}"
    );
    assert_eq!(forward(&moto), split(&[("target_group.ec2", 100), ("target_group.eks", 0)]));

    let (log, mut child) = apply_watching(&w, |line, _| {
        if line.contains("rollout step 1/2 (50%)") {
            put_traffic(&moto, "target_group.eks", 1000.0, 1.0, 0.1);
            put_traffic(&moto, "target_group.ec2", 1000.0, 1.0, 0.1);
        }
        if line.contains("rollout step 2/2 (100%)") {
            put_traffic(&moto, "target_group.eks", 2000.0, 2.0, 0.1);
        }
        false
    });
    assert_eq!(child.wait().unwrap().code(), Some(0), "{log}");
    assert_eq!(log.matches("canary analysis passed").count(), 2, "{log}");
    assert!(
        log.contains("canary failed 0.1% of 2000 requests (2 target 5xx, 0 target connection errors), Average 0.100 s; no baseline traffic"),
        "{log}"
    );
    let status = w.run(&["rollout", "status", "stack.yaml"]);
    assert!(status.stdout.contains("canary analysis passed"), "{}", status.stdout);
}

/// Canaries fail in ways their targets never answer: pods that crash refuse
/// the load balancer's connections (TargetConnectionErrorCount, no target
/// 5xx), pods that time out leave the load balancer to answer 504 itself
/// (HTTPCode_ELB_504_Count, on its own dimension only). Either reverts, the
/// verdict saying what it counted.
#[test]
fn a_canary_whose_pods_crash_or_time_out_reverts() {
    let moto = Moto::start();
    let rollout = "    rollout: { steps: [50, 100], pause_seconds: 3, analysis: { latency_statistic: Average, wait_seconds: 20 } }\n";
    let w = Workdir::new(&moto.url, &stack(100, 0, rollout, ""));
    assert_eq!(w.run(&["apply", "--auto-approve", "stack.yaml"]).code, 0);
    register(&moto, "target_group.eks");
    w.write_stack(&stack(0, 100, rollout, ""));

    // Crashing pods: every failed request is a refused connection.
    let (log, mut child) = apply_watching(&w, |line, _| {
        if line.contains("rollout step 1/2 (50%)") {
            put_group(&moto, "target_group.eks", 1000.0, 0.0, 90.0, 0.1);
            put_group(&moto, "target_group.ec2", 1000.0, 1.0, 0.0, 0.1);
        }
        false
    });
    assert_eq!(child.wait().unwrap().code(), Some(1), "{log}");
    assert!(
        log.contains("reverted in the pause after step 1 of 2 (50%): canary analysis failed")
            && log.contains(
                "canary failed 9.0% of 1000 requests (0 target 5xx, 90 target connection errors)"
            ),
        "{log}"
    );
    assert_eq!(forward(&moto), split(&[("target_group.ec2", 100), ("target_group.eks", 0)]));

    // Timing-out pods: the targets' own numbers look fine, the load
    // balancer answers 504 itself, far above its level before the step.
    put_balancer(&moto, 2000.0, 0.0, 1.0);
    // Metric windows start on whole seconds: the level before the step is
    // put well before it.
    std::thread::sleep(std::time::Duration::from_secs(2));
    let (log, mut child) = apply_watching(&w, |line, _| {
        if line.contains("rollout step 1/2 (50%)") {
            put_group(&moto, "target_group.eks", 1000.0, 1.0, 0.0, 0.1);
            put_group(&moto, "target_group.ec2", 1000.0, 1.0, 0.0, 0.1);
            put_balancer(&moto, 2000.0, 0.0, 160.0);
        }
        false
    });
    assert_eq!(child.wait().unwrap().code(), Some(1), "{log}");
    assert!(
        log.contains("the load balancer's own 5xx share rose to 8.0% from 0.1% before the step")
            && log.contains("(0 502, 0 503, 160 504) during the step"),
        "{log}"
    );
    assert_eq!(forward(&moto), split(&[("target_group.ec2", 100), ("target_group.eks", 0)]));
}

/// A plan holding a rollout carries a cut-over runbook, in text and markdown:
/// the alarms' states, each group's healthy targets, deregistration delay and
/// stickiness, the schedule and its length, what is watched, and a manual
/// revert command that does put the weights back.
#[test]
fn the_plan_carries_a_runbook_whose_revert_puts_the_weights_back() {
    let moto = Moto::start();
    moto.put_alarm("cutover-5xx");
    let rollout =
        "    rollout: { steps: [25, 50, 100], pause_seconds: 60, alarms: [cutover-5xx] }\n";
    let w = Workdir::new(&moto.url, &stack(100, 0, rollout, ""));
    assert_eq!(w.run(&["apply", "--auto-approve", "stack.yaml"]).code, 0);
    register(&moto, "target_group.eks");
    w.write_stack(&stack(0, 100, rollout, ""));
    let plan = w.run(&["plan", "stack.yaml"]);
    for want in [
        "Cut-over runbook for listener.http:",
        "    alarm cutover-5xx: OK",
        "    target_group.ec2 (100% → 0%): no target registered; deregistration delay 30 s; stickiness off",
        "    target_group.eks (0% → 100%): 1 of 1 targets healthy",
        "  schedule: 3 steps (25%, 50%, 100%), 60 s apart, then 60 s of watching: at least 3 min",
        "  watched: alarm cutover-5xx and a healthy target in every group gaining weight, every 10 s",
        "  manual revert: aws elbv2 modify-listener --listener-arn arn:aws:elasticloadbalancing:",
    ] {
        assert!(plan.stdout.contains(want), "{want}\n{}", plan.stdout);
    }
    assert!(plan.stdout.trim_end().ends_with("Plan: 0 to add, 1 to change, 0 to destroy."));
    let md = w.run(&["plan", "stack.yaml", "--format", "markdown"]);
    assert!(
        md.stdout.contains("**Cut-over runbook: `listener.http`**")
            && md.stdout.contains("```sh\naws elbv2 modify-listener"),
        "{}",
        md.stdout
    );

    // Move the weights (no pauses), then run the revert the plan printed.
    let quick = "    rollout: { steps: [100], alarms: [cutover-5xx] }\n";
    w.write_stack(&stack(0, 100, quick, ""));
    assert_eq!(w.run(&["apply", "--auto-approve", "stack.yaml"]).code, 0);
    assert_eq!(forward(&moto), split(&[("target_group.ec2", 0), ("target_group.eks", 100)]));
    let line = plan.stdout.lines().find(|l| l.contains("manual revert: ")).unwrap();
    let command = line.split_once("manual revert: ").unwrap().1;
    let arn = command.split_whitespace().nth(4).unwrap();
    let json = command.split_once("--default-actions '").unwrap().1.trim_end_matches('\'');
    let actions: serde_json::Value = serde_json::from_str(json).unwrap();
    use aws_sdk_elasticloadbalancingv2::types::{
        Action, ActionTypeEnum, ForwardActionConfig, TargetGroupTuple,
    };
    let groups = actions[0]["ForwardConfig"]["TargetGroups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            TargetGroupTuple::builder()
                .target_group_arn(g["TargetGroupArn"].as_str().unwrap())
                .weight(g["Weight"].as_i64().unwrap() as i32)
                .build()
        })
        .collect();
    runtime()
        .block_on(
            moto.elbv2()
                .modify_listener()
                .listener_arn(arn)
                .default_actions(
                    Action::builder()
                        .r#type(ActionTypeEnum::Forward)
                        .forward_config(
                            ForwardActionConfig::builder().set_target_groups(Some(groups)).build(),
                        )
                        .build(),
                )
                .send(),
        )
        .unwrap();
    assert_eq!(
        forward(&moto),
        split(&[("target_group.ec2", 100), ("target_group.eks", 0)]),
        "the printed revert restores the weights from before"
    );
}

/// The EC2 side declared: two instances (their AMI found by a lookup, an
/// instance profile, IMDSv2) registered in `target_group.ec2` by
/// `target_group_attachment`s. The runbook counts their health; the rollout
/// moves the traffic from them to the pods; back again, the gate counts
/// them: with both stopped by hand it refuses the first step, with one
/// running again it goes through.
#[test]
fn a_rollout_moves_traffic_from_registered_instances_and_the_gate_counts_them() {
    let moto = Moto::start();
    let rollout = "    rollout: { steps: [50, 100], pause_seconds: 1 }\n";
    let instances = r#"
  iam_role.web:
    assume_role_service: ec2.amazonaws.com
  iam_instance_profile.web:
    role: ${iam_role.web.name}
  instance.web:
    for_each: { a: 1, b: 2 }
    ami: ${data.ami.app.id}
    instance_type: t3.medium
    subnet_id: ${subnet.public_a.id}
    iam_instance_profile: ${iam_instance_profile.web.name}
  target_group_attachment.web:
    for_each: { a: 1, b: 2 }
    target_group_arn: ${target_group.ec2.arn}
    target_id: ${instance.web[each.key].id}
    port: 80
"#;
    let with = |ec2: i64, eks: i64| {
        stack(ec2, eks, rollout, instances).replacen(
            "resources:\n",
            "data:\n  ami.app: { owners: [amazon], name: \"amzn2-ami-hvm-*-x86_64-gp2\", most_recent: true }\nresources:\n",
            1,
        )
    };
    let w = Workdir::new(&moto.url, &with(100, 0));
    w.apply_ok();
    register(&moto, "target_group.eks");
    let rt = runtime();
    let ec2 = moto.ec2();
    let running = rt
        .block_on(
            ec2.describe_instances()
                .filters(
                    aws_sdk_ec2::types::Filter::builder()
                        .name("instance-state-name")
                        .values("running")
                        .build(),
                )
                .send(),
        )
        .unwrap();
    let ids: Vec<String> = running
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .filter_map(|i| i.instance_id().map(str::to_string))
        .collect();
    assert_eq!(ids.len(), 2, "{running:?}");
    w.assert_no_changes();

    w.write_stack(&with(0, 100));
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(
        plan.stdout.contains("    target_group.ec2 (100% → 0%): 2 of 2 targets healthy"),
        "{}",
        plan.stdout
    );
    w.apply_ok();
    assert_eq!(forward(&moto), split(&[("target_group.ec2", 0), ("target_group.eks", 100)]));

    // Back to the instances, both stopped by hand: the gate finds no healthy
    // one and the first step is refused.
    rt.block_on(ec2.stop_instances().set_instance_ids(Some(ids.clone())).send()).unwrap();
    w.write_stack(&with(100, 0));
    let back = w.run(&["apply", "--auto-approve", "stack.yaml"]);
    assert_eq!(back.code, 1, "{}\n{}", back.stdout, back.stderr);
    assert!(
        back.stderr.contains("target group target_group.ec2 has no healthy target (2 unused)"),
        "{}",
        back.stderr
    );
    assert_eq!(forward(&moto), split(&[("target_group.ec2", 0), ("target_group.eks", 100)]));
    // One running again: the gate counts it, and the traffic goes back.
    rt.block_on(ec2.start_instances().instance_ids(&ids[0]).send()).unwrap();
    w.apply_ok();
    assert_eq!(forward(&moto), split(&[("target_group.ec2", 100), ("target_group.eks", 0)]));
}

/// A weight change without `rollout` still moves traffic: the plan carries
/// its runbook, saying it moves at once, nothing watches it, and how to put
/// the weights back.
#[test]
fn a_weight_change_without_rollout_gets_a_runbook_that_says_it_moves_at_once() {
    let moto = Moto::start();
    let w = Workdir::new(&moto.url, &stack(100, 0, "", ""));
    w.apply_ok();
    register(&moto, "target_group.eks");
    w.write_stack(&stack(50, 50, "", ""));
    let plan = w.run(&["plan", "stack.yaml"]);
    for want in [
        "Cut-over runbook for listener.http:",
        "    target_group.eks (0% → 50%): 1 of 1 targets healthy",
        "  schedule: at once: one call moves every share, no steps (the change has no `rollout`)",
        "  watched: nothing: without `rollout` no gate watches the move",
        "  manual revert: aws elbv2 modify-listener --listener-arn arn:aws:elasticloadbalancing:",
    ] {
        assert!(plan.stdout.contains(want), "{want}\n{}", plan.stdout);
    }
    let md = w.run(&["plan", "stack.yaml", "--format", "markdown"]);
    assert!(md.stdout.contains("**Cut-over runbook: `listener.http`**"), "{}", md.stdout);
    // Unchanged weights: no runbook.
    w.apply_ok();
    let again = w.run(&["plan", "stack.yaml"]);
    assert!(!again.stdout.contains("Cut-over runbook"), "{}", again.stdout);
}

/// A change to a target group that carries traffic says, under Needs
/// attention, the share of the listener's traffic it touches; the same
/// change to a group that carries none says nothing of traffic.
#[test]
fn a_change_to_a_group_carrying_traffic_says_the_share_it_touches() {
    let moto = Moto::start();
    // The pods' group, which lets the load balancer in.
    let pods = "  security_group.pods:\n    vpc_id: ${vpc.main.id}\n    description: the pods\n    ingress:\n      - { protocol: tcp, ports: \"80\", source_security_group: \"${security_group.alb.id}\", description: from the ALB }\n";
    let stack = |ec2: i64, eks: i64, rollout: &str, extra: &str| {
        stack(ec2, eks, rollout, &format!("{extra}{pods}"))
    };
    let w = Workdir::new(&moto.url, &stack(100, 0, "", ""));
    w.apply_ok();
    let touched = |stack: String| {
        w.write_stack(&stack);
        let md = w.run(&["plan", "stack.yaml", "--format", "markdown"]);
        assert_eq!(md.code, 0, "{}\n{}", md.stdout, md.stderr);
        md.stdout
    };
    // target_group.ec2 carries all of listener.http; target_group.eks none.
    let md = touched(stack(100, 0, "", "").replacen(
        "health_check: { path: /health, healthy_threshold: 3",
        "health_check: { path: /healthz, healthy_threshold: 3",
        1,
    ));
    assert!(
        md.contains(
            "`target_group.ec2` carries 100% of `listener.http`: this change touches that traffic"
        ),
        "{md}"
    );
    let md = touched(stack(100, 0, "", "").replacen(
        "    health_check: { path: /health }\n",
        "    health_check: { path: /healthz }\n",
        1,
    ));
    assert!(md.contains("update <code>target_group.eks</code>"), "{md}");
    assert!(!md.contains("this change touches that traffic"), "{md}");

    // What the traffic passes through: the load balancer, its security
    // group, the rule that lets it in to the pods.
    let on_the_way = |a: &str| {
        format!(
            "`{a}` is on the way of `listener.http`'s live traffic (target_group.ec2 100%): this change touches it"
        )
    };
    let md = touched(stack(100, 0, "", "").replacen(
        "idle_timeout_seconds: 60",
        "idle_timeout_seconds: 120",
        1,
    ));
    assert!(md.contains(&on_the_way("load_balancer.web")), "{md}");
    let md = touched(stack(100, 0, "", "").replacen(
        "cidr: 0.0.0.0/0, description: http }",
        "cidr: 0.0.0.0/0, description: http }\n      - { protocol: tcp, ports: \"443\", cidr: 10.0.0.0/8 }",
        1,
    ));
    assert!(md.contains(&on_the_way("security_group.alb")), "{md}");
    let md =
        touched(stack(100, 0, "", "").replacen("description: from the ALB", "description: ALB", 1));
    assert!(md.contains(&on_the_way("security_group.pods")), "{md}");
    // A change of tags alone touches no traffic.
    let md = touched(stack(100, 0, "", "").replacen("  env: staging", "  env: stage", 1));
    assert!(md.contains("update <code>load_balancer.web</code>"), "{md}");
    assert!(!md.contains("this change touches"), "{md}");
}
