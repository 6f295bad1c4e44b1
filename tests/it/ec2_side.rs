//! The EC2 side of a migration, declared, against moto: instances from an
//! AMI found by a lookup, with an instance profile, IMDSv2 and a root
//! volume, registered in a target group by attachments; each read back,
//! re-planned to no changes, a hand change seen as drift, a new type made
//! in place (stopped and started), an attachment taken away deregistered,
//! and all of it destroyed. The rollout off them is in cutover.rs.

use crate::support::{Moto, Workdir, runtime};

fn stack(instance_type: &str, attached: &str, hop_limit: &str) -> String {
    format!(
        r##"stack: ec2side
region: ap-northeast-1
data:
  ami.app: {{ owners: [amazon], name: "amzn2-ami-hvm-*-x86_64-gp2", most_recent: true }}
resources:
  vpc.main:
    cidr_block: 10.9.0.0/16
  subnet.a:
    vpc_id: ${{vpc.main.id}}
    cidr_block: 10.9.1.0/24
  security_group.web:
    vpc_id: ${{vpc.main.id}}
    ingress:
      - {{ protocol: tcp, ports: "80", cidr: 10.9.0.0/16 }}
  iam_role.web:
    assume_role_service: ec2.amazonaws.com
  iam_instance_profile.web:
    path: /game/
    role: ${{iam_role.web.name}}
  instance.web:
    for_each: {{ a: 1, b: 2 }}
    ami: ${{data.ami.app.id}}
    instance_type: {instance_type}
    subnet_id: ${{subnet.a.id}}
    vpc_security_group_ids: ["${{security_group.web.id}}"]
    iam_instance_profile: ${{iam_instance_profile.web.name}}
    user_data: "#!/bin/bash\necho game server"
    root_block_device: {{ volume_size: 20 }}
{hop_limit}  target_group.ec2:
    vpc_id: ${{vpc.main.id}}
    protocol: HTTP
    port: 80
  target_group_attachment.web:
    for_each: {attached}
    target_group_arn: ${{target_group.ec2.arn}}
    target_id: ${{instance.web[each.key].id}}
    port: 80
"##
    )
}

#[test]
fn instances_and_their_registrations_apply_change_drift_and_go() {
    let moto = Moto::start();
    let rt = runtime();
    let (ec2, elb) = (moto.ec2(), moto.elbv2());
    let w = Workdir::new(&moto.url, &stack("t3.medium", "{ a: 1, b: 2 }", ""));
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(
        plan.stdout.contains("instance.web[\"a\"]") && plan.stdout.contains("t3.medium at $"),
        "{}",
        plan.stdout
    );
    // User data holding no sensitive value is shown, a line a line.
    assert!(plan.stdout.contains("+ user_data: <<-EOT"), "{}", plan.stdout);
    assert!(plan.stdout.contains("+ echo game server"), "{}", plan.stdout);
    w.apply_ok();
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("state/ec2side.json")).unwrap())
            .unwrap();
    let id = |a: &str| state["resources"][a]["id"].as_str().unwrap().to_string();
    let (a, b) = (id("instance.web[\"a\"]"), id("instance.web[\"b\"]"));
    let described = |i: &str| {
        rt.block_on(ec2.describe_instances().instance_ids(i).send()).unwrap().reservations()[0]
            .instances()[0]
            .clone()
    };
    let inst = described(&a);
    assert_eq!(inst.instance_type().map(|t| t.as_str()), Some("t3.medium"));
    let m = inst.metadata_options().unwrap();
    assert_eq!(m.http_tokens().map(|t| t.as_str()), Some("required"));
    assert_eq!(m.http_put_response_hop_limit(), Some(2));
    assert!(
        inst.iam_instance_profile()
            .and_then(|p| p.arn())
            .unwrap()
            .ends_with("instance-profile/game/ec2side-web")
    );
    let tg = id("target_group.ec2");
    let health = rt.block_on(elb.describe_target_health().target_group_arn(&tg).send()).unwrap();
    let mut registered: Vec<String> = health
        .target_health_descriptions()
        .iter()
        .filter_map(|d| d.target().and_then(|t| t.id()).map(str::to_string))
        .collect();
    registered.sort();
    let mut both = vec![a.clone(), b.clone()];
    both.sort();
    assert_eq!(registered, both);
    w.assert_no_changes();

    // Metadata options changed by hand: drift, put back.
    rt.block_on(
        ec2.modify_instance_metadata_options()
            .instance_id(&a)
            .http_tokens(aws_sdk_ec2::types::HttpTokensState::Optional)
            // moto needs every field.
            .http_put_response_hop_limit(2)
            .http_endpoint(aws_sdk_ec2::types::InstanceMetadataEndpointState::Enabled)
            .send(),
    )
    .unwrap();
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(plan.stdout.contains("Drift since the last apply"), "{}", plan.stdout);
    w.apply_ok();
    assert_eq!(
        described(&a).metadata_options().unwrap().http_tokens().map(|t| t.as_str()),
        Some("required")
    );
    // The profile's role taken out and an instance deregistered by hand:
    // both drift, both put back.
    rt.block_on(
        moto.iam()
            .remove_role_from_instance_profile()
            .instance_profile_name("ec2side-web")
            .role_name("ec2side-web")
            .send(),
    )
    .unwrap();
    rt.block_on(
        elb.deregister_targets()
            .target_group_arn(&tg)
            .targets(
                aws_sdk_elasticloadbalancingv2::types::TargetDescription::builder()
                    .id(&b)
                    .port(80)
                    .build(),
            )
            .send(),
    )
    .unwrap();
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(plan.stdout.contains("~ iam_instance_profile.web"), "{}", plan.stdout);
    assert!(plan.stdout.contains("+ target_group_attachment.web[\"b\"]"), "{}", plan.stdout);
    w.apply_ok();
    w.assert_no_changes();
    let profile = rt
        .block_on(moto.iam().get_instance_profile().instance_profile_name("ec2side-web").send())
        .unwrap();
    assert_eq!(profile.instance_profile().unwrap().roles().len(), 1);

    // A new type: stopped, changed and started, the same instance. One
    // attachment fewer: that instance is deregistered.
    w.write_stack(&stack("t3.large", "{ a: 1 }", ""));
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(
        plan.stdout.contains("# instance.web[\"a\"] will be updated in place"),
        "{}",
        plan.stdout
    );
    w.apply_ok();
    let inst = described(&a);
    assert_eq!(inst.instance_type().map(|t| t.as_str()), Some("t3.large"));
    assert_eq!(inst.state().and_then(|s| s.name()).map(|s| s.as_str()), Some("running"));
    let health = rt.block_on(elb.describe_target_health().target_group_arn(&tg).send()).unwrap();
    let left: Vec<&str> = health
        .target_health_descriptions()
        .iter()
        .filter_map(|d| d.target().and_then(|t| t.id()))
        .collect();
    assert_eq!(left, vec![a.as_str()]);
    w.assert_no_changes();

    // A hop limit of 1 is the launch templates' lint; accepted, it is silent.
    w.write_stack(&stack(
        "t3.large",
        "{ a: 1 }",
        "    metadata_options: { http_put_response_hop_limit: 1 }\n",
    ));
    let strict = w.run(&["plan", "--strict", "stack.yaml"]);
    assert_eq!(strict.code, 1, "{}\n{}", strict.stdout, strict.stderr);
    assert!(
        strict.stderr.contains("imds-hop-limit") || strict.stderr.contains("hop limit below 2"),
        "{}",
        strict.stderr
    );

    let d = w.run(&["destroy", "--auto-approve", "stack.yaml"]);
    assert_eq!(d.code, 0, "{}\n{}", d.stdout, d.stderr);
    for i in [&a, &b] {
        let s = described(i).state().and_then(|s| s.name()).map(|s| s.as_str().to_string());
        assert_eq!(s.as_deref(), Some("terminated"), "{i}");
    }
    assert!(
        rt.block_on(moto.iam().get_instance_profile().instance_profile_name("ec2side-web").send())
            .is_err()
    );
}

/// The EC2 side found instead: an Auto Scaling group made by hand, looked
/// up by its tags, gives its instances, sizes and target groups; the stack
/// registers its instances in a new group by attachments.
#[test]
fn an_autoscaling_group_is_found_with_its_instances_and_target_groups() {
    let moto = Moto::start();
    let rt = runtime();
    let ec2 = moto.ec2();
    let asg = aws_sdk_autoscaling::Client::new(&moto.sdk_config());
    let vpc = rt.block_on(ec2.create_vpc().cidr_block("10.11.0.0/16").send()).unwrap();
    let vpc = vpc.vpc().unwrap().vpc_id().unwrap().to_string();
    let subnet = rt
        .block_on(
            ec2.create_subnet()
                .vpc_id(&vpc)
                .cidr_block("10.11.1.0/24")
                .availability_zone("ap-northeast-1a")
                .send(),
        )
        .unwrap();
    let subnet = subnet.subnet().unwrap().subnet_id().unwrap().to_string();
    let images = rt.block_on(ec2.describe_images().owners("amazon").send()).unwrap();
    let ami = images.images()[0].image_id().unwrap().to_string();
    rt.block_on(
        ec2.create_launch_template()
            .launch_template_name("legacy")
            .launch_template_data(
                aws_sdk_ec2::types::RequestLaunchTemplateData::builder()
                    .image_id(&ami)
                    .instance_type(aws_sdk_ec2::types::InstanceType::T3Medium)
                    .build(),
            )
            .send(),
    )
    .unwrap();
    let tg = rt
        .block_on(
            moto.elbv2()
                .create_target_group()
                .name("legacy-web")
                .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
                .port(80)
                .vpc_id(&vpc)
                .send(),
        )
        .unwrap();
    let tg = tg.target_groups()[0].target_group_arn().unwrap().to_string();
    rt.block_on(
        asg.create_auto_scaling_group()
            .auto_scaling_group_name("legacy-web")
            .launch_template(
                aws_sdk_autoscaling::types::LaunchTemplateSpecification::builder()
                    .launch_template_name("legacy")
                    .build(),
            )
            .min_size(2)
            .max_size(4)
            .desired_capacity(2)
            .vpc_zone_identifier(&subnet)
            .target_group_arns(&tg)
            .tags(
                aws_sdk_autoscaling::types::Tag::builder()
                    .key("game")
                    .value("enza")
                    .resource_id("legacy-web")
                    .resource_type("auto-scaling-group")
                    .propagate_at_launch(true)
                    .build(),
            )
            .send(),
    )
    .unwrap();

    let w = Workdir::new(
        &moto.url,
        &format!(
            r#"stack: found
region: ap-northeast-1
data:
  autoscaling_group.legacy: {{ tags: {{ game: enza }} }}
resources:
  target_group.ec2:
    vpc_id: {vpc}
    protocol: HTTP
    port: 80
  target_group_attachment.legacy:
    count: 2
    target_group_arn: ${{target_group.ec2.arn}}
    target_id: ${{data.autoscaling_group.legacy.instance_ids[count.index]}}
outputs:
  instances: ${{data.autoscaling_group.legacy.instance_ids}}
  desired: ${{data.autoscaling_group.legacy.desired_capacity}}
  groups: ${{data.autoscaling_group.legacy.target_group_arns}}
"#
        ),
    );
    w.apply_ok();
    let out = w.run(&["output", "stack.yaml", "--json"]);
    let outputs: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let instances = outputs["instances"]["value"].as_array().unwrap().clone();
    assert_eq!(instances.len(), 2, "{outputs}");
    assert_eq!(outputs["desired"]["value"].to_string().trim_matches('"'), "2");
    assert_eq!(outputs["groups"]["value"], serde_json::json!([tg]));
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("state/found.json")).unwrap())
            .unwrap();
    let ours = state["resources"]["target_group.ec2"]["id"].as_str().unwrap().to_string();
    let health =
        rt.block_on(moto.elbv2().describe_target_health().target_group_arn(&ours).send()).unwrap();
    assert_eq!(health.target_health_descriptions().len(), 2);
    w.assert_no_changes();
}
