//! The path from the load balancer to the pods (issue 30): the platform's
//! nodes carry the node group and the cluster's group, a `security_group_rule`
//! on the cluster's group (which EKS makes: the proxy plays it as a real group
//! in moto) admits the load balancer's group on the target port, and the
//! validator warns when no rule does. Checked in moto's own data.

use crate::support::{Moto, Proxy, Workdir, flat_stack, runtime};

/// The platform stack without its path rule.
fn without_rule() -> String {
    let text = flat_stack("platform");
    let start = text.find("  # The path from the load balancer to the pods").expect("the rule");
    let end = start + text[start..].find("\n\n").expect("a blank line after it") + 2;
    format!("{}{}", &text[..start], &text[end..])
}

/// An ingress rule as moto holds it: (rule id, protocol, ports, source
/// group, description).
type Rule = (String, String, (i32, i32), Option<String>, Option<String>);

/// Every ingress rule of a group in moto.
fn ingress(moto: &Moto, group: &str) -> Vec<Rule> {
    let rt = runtime();
    let filter = aws_sdk_ec2::types::Filter::builder().name("group-id").values(group).build();
    let out =
        rt.block_on(moto.ec2().describe_security_group_rules().filters(filter).send()).unwrap();
    let mut rules: Vec<_> = out
        .security_group_rules()
        .iter()
        .filter(|r| r.is_egress() == Some(false))
        .map(|r| {
            (
                r.security_group_rule_id().unwrap_or_default().to_string(),
                r.ip_protocol().unwrap_or_default().to_string(),
                (r.from_port().unwrap_or(-1), r.to_port().unwrap_or(-1)),
                r.referenced_group_info().and_then(|g| g.group_id()).map(str::to_string),
                r.description().map(str::to_string),
            )
        })
        .collect();
    rules.sort();
    rules
}

#[test]
fn the_validator_warns_of_a_closed_path_and_only_then() {
    let moto = Moto::start();
    let w = Workdir::new(&moto.url, &flat_stack("platform"));
    let ok = w.run(&["validate", "--strict", "stack.yaml"]);
    assert_eq!(ok.code, 0, "{}{}", ok.stdout, ok.stderr);

    w.write_stack(&without_rule());
    let warned = w.run(&["validate", "stack.yaml"]);
    assert_eq!(warned.code, 0, "{}", warned.stderr);
    let said = "listener.http: forwards to target_group.eks (ip targets: pods of eks_nodegroup.app) but no rule lets the load balancer's security_group.alb into the nodes' security_group.nodes, eks_cluster.main's cluster security group on port 80";
    assert!(warned.stderr.contains(said), "{}", warned.stderr);
    assert!(warned.stderr.contains("see docs/migration.md"), "{}", warned.stderr);
    let strict = w.run(&["validate", "--strict", "stack.yaml"]);
    assert_eq!(strict.code, 1, "{}", strict.stderr);

    // A rule on the nodes' own group opens it as well; a port the rule does
    // not cover (the health check's) does not.
    let inline = without_rule().replace(
        "      - { protocol: all, source_security_group: \"${security_group.nodes.id}\", description: node to node }",
        "      - { protocol: all, source_security_group: \"${security_group.nodes.id}\", description: node to node }\n      - { protocol: tcp, ports: \"80\", source_security_group: \"${security_group.alb.id}\" }",
    );
    assert_ne!(inline, without_rule());
    w.write_stack(&inline);
    let open = w.run(&["validate", "--strict", "stack.yaml"]);
    assert_eq!(open.code, 0, "{}", open.stderr);
    w.write_stack(&inline.replace(
        "health_check: { path: /health }",
        "health_check: { path: /health, port: \"8081\" }",
    ));
    let health = w.run(&["validate", "stack.yaml"]);
    assert!(health.stderr.contains("on port 8081"), "{}", health.stderr);

    // A group given as a literal id is outside the validator's sight: silent.
    w.write_stack(&without_rule().replace(
        "security_groups: [\"${security_group.alb.id}\"]",
        "security_groups: [sg-0123456789abcdef0]",
    ));
    let literal = w.run(&["validate", "--strict", "stack.yaml"]);
    assert_eq!(literal.code, 0, "{}", literal.stderr);

    // A security_group_rule on a group the stack declares is refused: the
    // group's rules are written in its own list.
    w.write_stack(&flat_stack("platform").replace(
        "    security_group_id: ${eks_cluster.main.cluster_security_group_id}",
        "    security_group_id: ${security_group.nodes.id}",
    ));
    let owned = w.run(&["validate", "stack.yaml"]);
    assert_eq!(owned.code, 1, "{}", owned.stderr);
    assert!(
        owned.stderr.contains(
            "security_group.nodes is this stack's: its rules are written in its own `ingress` list"
        ),
        "{}",
        owned.stderr
    );
}

#[test]
fn a_rule_on_the_cluster_group_opens_the_path_and_leaves_the_group_alone() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.url);
    let w = Workdir::new(&proxy.url, &flat_stack("platform"));
    w.apply_ok();
    let state = || -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(w.path("state/platform.json")).unwrap())
            .unwrap()
    };
    let id = |a: &str| state()["resources"][a]["id"].as_str().unwrap().to_string();
    let rt = runtime();
    let cluster = rt
        .block_on(moto.eks().describe_cluster().name("enza-platform").send())
        .unwrap()
        .cluster()
        .cloned()
        .unwrap();
    // moto has no cluster group: the proxy made one in moto with the cluster.
    let proxied = rt.block_on(proxy.eks().describe_cluster().name("enza-platform").send()).unwrap();
    let cluster_sg = proxied
        .cluster()
        .and_then(|c| c.resources_vpc_config())
        .and_then(|v| v.cluster_security_group_id())
        .unwrap()
        .to_string();
    assert!(cluster.name().is_some());
    assert_eq!(
        state()["resources"]["eks_cluster.main"]["attributes"]["cluster_security_group_id"],
        serde_json::json!(cluster_sg)
    );

    // The nodes carry both groups (moto's launch template data).
    let lts = rt.block_on(moto.ec2().describe_launch_templates().send()).unwrap();
    let lt = lts.launch_templates()[0].launch_template_id().unwrap().to_string();
    let v = rt
        .block_on(moto.ec2().describe_launch_template_versions().launch_template_id(&lt).send())
        .unwrap();
    let data = v.launch_template_versions()[0].launch_template_data().unwrap();
    assert_eq!(data.security_group_ids(), [id("security_group.nodes"), cluster_sg.clone()]);

    // The cluster group admits itself (EKS's rule) and the load balancer's
    // group on the target port (the stack's rule, by its id).
    let rule = id("security_group_rule.alb_to_pods");
    assert!(rule.starts_with("sgr-"), "{rule}");
    let alb = id("security_group.alb");
    let rules = ingress(&moto, &cluster_sg);
    assert_eq!(rules.len(), 2, "{rules:?}");
    let ours = rules.iter().find(|r| r.0 == rule).expect("the stack's rule");
    assert_eq!((ours.1.as_str(), ours.2, ours.3.as_deref()), ("tcp", (80, 80), Some(alb.as_str())));
    let eks_own = rules.iter().find(|r| r.0 != rule).unwrap();
    assert_eq!(eks_own.3.as_deref(), Some(cluster_sg.as_str()));
    w.assert_no_changes();

    // Someone adds a rule by hand; the stack's description changes in place;
    // then the stack's rule goes: only it is revoked, by its id.
    rt.block_on(
        moto.ec2()
            .authorize_security_group_ingress()
            .group_id(&cluster_sg)
            .ip_permissions(
                aws_sdk_ec2::types::IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(22)
                    .to_port(22)
                    .ip_ranges(aws_sdk_ec2::types::IpRange::builder().cidr_ip("10.0.0.0/8").build())
                    .build(),
            )
            .send(),
    )
    .unwrap();
    w.assert_no_changes();
    w.write_stack(&flat_stack("platform").replace("the load balancer to the pods", "ALB to pods"));
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(
        plan.stdout.contains("# security_group_rule.alb_to_pods will be updated in place"),
        "{}",
        plan.stdout
    );
    w.apply_ok();
    assert_eq!(id("security_group_rule.alb_to_pods"), rule, "changed in place, same rule");
    assert_eq!(proxy.seen("ModifySecurityGroupRules"), 1);
    w.assert_no_changes();

    w.write_stack(&without_rule());
    w.apply_ok();
    let left = ingress(&moto, &cluster_sg);
    assert_eq!(left.len(), 2, "EKS's rule and the hand-made one stay: {left:?}");
    assert!(left.iter().all(|r| r.0 != rule));
    assert!(left.iter().any(|r| r.2 == (22, 22)));
    let revokes = proxy.bodies("RevokeSecurityGroupIngress");
    assert!(
        revokes.iter().any(|b| b.contains(&format!("SecurityGroupRuleId.1={rule}"))),
        "{revokes:?}"
    );

    // The group EKS made goes with the cluster.
    let destroyed = w.run(&["destroy", "--auto-approve", "stack.yaml"]);
    assert_eq!(destroyed.code, 0, "{}", destroyed.stderr);
    let groups = rt.block_on(moto.ec2().describe_security_groups().send()).unwrap();
    assert!(
        groups.security_groups().iter().all(|g| g.group_id() != Some(cluster_sg.as_str())),
        "the cluster group is deleted with the cluster"
    );
}
