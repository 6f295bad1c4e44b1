//! A role as baselines write it: a description, a path, a session length, a
//! permissions boundary and a customer-managed policy beside AWS's, against
//! moto; each read back, changed in place, drift seen, a removed boundary
//! deleted, a new path a replacement.

use crate::support::{Moto, Workdir, runtime};

fn role(boundary: &str, extra: &str) -> String {
    format!(
        r#"stack: roles
region: ap-northeast-1
resources:
  iam_role.app:
    assume_role_service: ec2.amazonaws.com
    description: what the game servers run as
    path: /service/
    max_session_duration: 7200
    managed_policy_arns:
      - arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore
      - arn:aws:iam::123456789012:policy/game-extra
{boundary}{extra}"#
    )
}

#[test]
fn a_role_takes_a_description_path_session_length_and_boundary() {
    let moto = Moto::start();
    let rt = runtime();
    let iam = moto.iam();
    let doc = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}"#;
    for name in ["game-extra", "game-boundary"] {
        rt.block_on(iam.create_policy().policy_name(name).policy_document(doc).send()).unwrap();
    }
    let boundary = "    permissions_boundary: arn:aws:iam::123456789012:policy/game-boundary\n";
    let w = Workdir::new(&moto.url, &role(boundary, ""));
    w.apply_ok();
    let read = || rt.block_on(iam.get_role().role_name("roles-app").send()).unwrap();
    let r = read();
    let r = r.role().unwrap();
    assert_eq!(r.description(), Some("what the game servers run as"));
    assert_eq!(r.path(), "/service/");
    assert_eq!(r.max_session_duration(), Some(7200));
    assert_eq!(
        r.permissions_boundary().and_then(|b| b.permissions_boundary_arn()),
        Some("arn:aws:iam::123456789012:policy/game-boundary")
    );
    let attached =
        rt.block_on(iam.list_attached_role_policies().role_name("roles-app").send()).unwrap();
    assert_eq!(attached.attached_policies().len(), 2);
    w.assert_no_changes();

    // Changed by hand: drift, and the plan puts it back.
    rt.block_on(iam.update_role().role_name("roles-app").description("changed by hand").send())
        .unwrap();
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(plan.stdout.contains("Drift since the last apply"), "{}", plan.stdout);
    assert!(plan.stdout.contains("description: \"changed by hand\""), "{}", plan.stdout);
    w.apply_ok();
    w.assert_no_changes();

    // The boundary removed from the stack is removed in AWS, and the plan
    // says so; the session length changes in place.
    w.write_stack(&role("", "").replace("7200", "3600"));
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(plan.stdout.contains("~ iam_role.app"), "{}", plan.stdout);
    assert!(
        plan.stdout.contains("(no longer set in the stack file: permissions_boundary)")
            && plan.stdout.contains(
                "~ permissions_boundary: \"arn:aws:iam::123456789012:policy/game-boundary\" -> null"
            ),
        "{}",
        plan.stdout
    );
    w.apply_ok();
    let r = read();
    let r = r.role().unwrap();
    assert!(r.permissions_boundary().is_none());
    assert_eq!(r.max_session_duration(), Some(3600));
    w.assert_no_changes();

    // A new path is a new role.
    w.write_stack(&role("", "").replace("/service/", "/games/"));
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(
        plan.stdout.contains("must be replaced") || plan.stdout.contains("replaced"),
        "{}",
        plan.stdout
    );

    // A path IAM refuses is refused at its line.
    w.write_stack(&role("", "").replace("/service/", "service"));
    let v = w.run(&["validate", "stack.yaml"]);
    assert_eq!(v.code, 1);
    assert!(
        v.stderr.contains("stack.yaml:7:5: iam_role.app: `service` is not an IAM path"),
        "{}",
        v.stderr
    );

    w.write_stack(&role("", ""));
    let d = w.run(&["destroy", "--auto-approve", "stack.yaml"]);
    assert_eq!(d.code, 0, "{}\n{}", d.stdout, d.stderr);
    assert!(rt.block_on(iam.get_role().role_name("roles-app").send()).is_err());
}

const ENDPOINT: &str = r#"stack: endpoints
region: ap-northeast-1
resources:
  vpc.main:
    cidr_block: 10.61.0.0/16
  route_table.private:
    vpc_id: ${vpc.main.id}
  vpc_endpoint.s3:
    vpc_id: ${vpc.main.id}
    service_name: com.amazonaws.ap-northeast-1.s3
    route_table_ids: ["${route_table.private.id}"]
POLICY"#;

/// An endpoint policy, compared by meaning: written in another order it is
/// no change; changed by hand it is drift put back; removed from the stack,
/// AWS's full access is put back and the plan says so.
#[test]
fn an_endpoint_policy_is_compared_by_meaning_and_reset_when_removed() {
    let moto = Moto::start();
    let rt = runtime();
    let policy = "    policy: |\n      {\"Version\": \"2012-10-17\", \"Statement\": [{\"Effect\": \"Allow\", \"Principal\": \"*\",\n        \"Action\": [\"s3:GetObject\"], \"Resource\": [\"arn:aws:s3:::enza-images/*\"]}]}\n";
    let w = Workdir::new(&moto.url, &ENDPOINT.replace("POLICY", policy));
    w.apply_ok();
    let read = || {
        let out = rt.block_on(moto.ec2().describe_vpc_endpoints().send()).unwrap();
        out.vpc_endpoints()[0].policy_document().unwrap_or_default().to_string()
    };
    assert!(read().contains("enza-images"), "{}", read());
    w.assert_no_changes();
    // The same document, its keys in another order and spaced otherwise.
    let reordered = "    policy: '{\"Statement\": [{\"Resource\": [\"arn:aws:s3:::enza-images/*\"], \"Action\": [\"s3:GetObject\"], \"Principal\": \"*\", \"Effect\": \"Allow\"}], \"Version\": \"2012-10-17\"}'\n";
    w.write_stack(&ENDPOINT.replace("POLICY", reordered));
    w.assert_no_changes();

    let id = {
        let out = rt.block_on(moto.ec2().describe_vpc_endpoints().send()).unwrap();
        out.vpc_endpoints()[0].vpc_endpoint_id().unwrap().to_string()
    };
    rt.block_on(
        moto.ec2()
            .modify_vpc_endpoint()
            .vpc_endpoint_id(&id)
            .policy_document(r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]}"#)
            .send(),
    )
    .unwrap();
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(plan.stdout.contains("Drift since the last apply"), "{}", plan.stdout);
    w.apply_ok();
    assert!(read().contains("enza-images"), "{}", read());

    w.write_stack(&ENDPOINT.replace("POLICY", ""));
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(plan.stdout.contains("(no longer set in the stack file: policy)"), "{}", plan.stdout);
    w.apply_ok();
    assert!(!read().contains("enza-images") && read().contains("\"Action\""), "{}", read());
    w.assert_no_changes();
    let d = w.run(&["destroy", "--auto-approve", "stack.yaml"]);
    assert_eq!(d.code, 0, "{}\n{}", d.stdout, d.stderr);
}

const DHCP: &str = r#"stack: dhcp
region: ap-northeast-1
resources:
  vpc.main:
    cidr_block: 10.62.0.0/16
  vpc_dhcp_options.main:
    domain_name: internal.enza.example
    domain_name_servers: [AmazonProvidedDNS]
    ntp_servers: [169.254.169.123]
    vpc_id: ${vpc.main.id}
"#;

/// DHCP options associated with their VPC: read back, the association put
/// back when changed by hand, a new domain name a new set in the old one's
/// place, and the VPC given AWS's default set when they go.
#[test]
fn dhcp_options_are_associated_replaced_in_place_and_leave_the_default() {
    let moto = Moto::start();
    let rt = runtime();
    let w = Workdir::new(&moto.url, DHCP);
    w.apply_ok();
    let ec2 = moto.ec2();
    let vpc_options = || {
        let out = rt.block_on(ec2.describe_vpcs().send()).unwrap();
        out.vpcs()
            .iter()
            .find(|v| v.cidr_block() == Some("10.62.0.0/16"))
            .and_then(|v| v.dhcp_options_id())
            .unwrap_or_default()
            .to_string()
    };
    let first = vpc_options();
    assert!(first.starts_with("dopt-"), "{first}");
    let sets = rt.block_on(ec2.describe_dhcp_options().dhcp_options_ids(&first).send()).unwrap();
    let keys: Vec<&str> =
        sets.dhcp_options()[0].dhcp_configurations().iter().filter_map(|c| c.key()).collect();
    assert!(keys.contains(&"domain-name") && keys.contains(&"ntp-servers"), "{keys:?}");
    w.assert_no_changes();

    // The VPC given the default set by hand: drift, put back.
    let vpc = {
        let out = rt.block_on(ec2.describe_vpcs().send()).unwrap();
        out.vpcs()
            .iter()
            .find(|v| v.cidr_block() == Some("10.62.0.0/16"))
            .and_then(|v| v.vpc_id())
            .unwrap()
            .to_string()
    };
    rt.block_on(ec2.associate_dhcp_options().dhcp_options_id("default").vpc_id(&vpc).send())
        .unwrap();
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(plan.stdout.contains(&format!("~ vpc_id: null -> \"{vpc}\"")), "{}", plan.stdout);
    w.apply_ok();
    assert_eq!(vpc_options(), first);

    // Another domain name: a new set, associated in the old one's place.
    w.write_stack(&DHCP.replace("internal.enza.example", "corp.enza.example"));
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(plan.stdout.contains("vpc_dhcp_options.main"), "{}", plan.stdout);
    assert!(plan.stdout.contains("1 to add, 0 to change, 1 to destroy"), "{}", plan.stdout);
    w.apply_ok();
    let second = vpc_options();
    assert!(second.starts_with("dopt-") && second != first, "{second}");
    w.assert_no_changes();

    let d = w.run(&["destroy", "--auto-approve", "stack.yaml"]);
    assert_eq!(d.code, 0, "{}\n{}", d.stdout, d.stderr);
    let left = rt.block_on(ec2.describe_dhcp_options().send()).unwrap();
    assert!(
        left.dhcp_options().iter().all(|d| d.dhcp_options_id() != Some(second.as_str())),
        "deleted"
    );
}

const DEFAULT_SG: &str = r#"stack: baseline
region: ap-northeast-1
resources:
  default_security_group.main:
    vpc_id: VPC
"#;

/// The CIS baseline: the VPC's default group adopted with no rules strips
/// AWS's own; a rule added by hand is taken off again; destroy leaves the
/// group in place.
#[test]
fn a_default_security_group_with_no_rules_strips_them_and_outlives_destroy() {
    let moto = Moto::start();
    let rt = runtime();
    let ec2 = moto.ec2();
    // A VPC the stack does not make: its default group outlives the stack.
    let made = rt.block_on(ec2.create_vpc().cidr_block("10.63.0.0/16").send()).unwrap();
    let vpc_id = made.vpc().unwrap().vpc_id().unwrap().to_string();
    let w = Workdir::new(&moto.url, &DEFAULT_SG.replace("VPC", &vpc_id));
    let default_group = || {
        let vpcs = rt.block_on(ec2.describe_vpcs().send()).unwrap();
        let vpc = vpcs
            .vpcs()
            .iter()
            .find(|v| v.cidr_block() == Some("10.63.0.0/16"))?
            .vpc_id()?
            .to_string();
        let out = rt
            .block_on(
                ec2.describe_security_groups()
                    .filters(
                        aws_sdk_ec2::types::Filter::builder().name("vpc-id").values(vpc).build(),
                    )
                    .filters(
                        aws_sdk_ec2::types::Filter::builder()
                            .name("group-name")
                            .values("default")
                            .build(),
                    )
                    .send(),
            )
            .unwrap();
        out.security_groups().first().cloned()
    };
    w.apply_ok();
    let g = default_group().unwrap();
    assert!(g.ip_permissions().is_empty(), "{:?}", g.ip_permissions());
    assert!(g.ip_permissions_egress().is_empty(), "{:?}", g.ip_permissions_egress());
    w.assert_no_changes();

    // A rule added by hand is drift, taken off again.
    rt.block_on(
        ec2.authorize_security_group_ingress()
            .group_id(g.group_id().unwrap())
            .ip_protocol("tcp")
            .from_port(22)
            .to_port(22)
            .cidr_ip("0.0.0.0/0")
            .send(),
    )
    .unwrap();
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(plan.stdout.contains("default_security_group.main"), "{}", plan.stdout);
    w.apply_ok();
    assert!(default_group().unwrap().ip_permissions().is_empty());

    let d = w.run(&["destroy", "--auto-approve", "stack.yaml"]);
    assert_eq!(d.code, 0, "{}\n{}", d.stdout, d.stderr);
    let left = default_group().expect("the default group outlives the stack");
    assert!(left.ip_permissions().is_empty(), "its rules as the stack made them");
    assert!(
        left.tags().iter().all(|t| !t.key().unwrap_or_default().starts_with("infra:")),
        "{:?}",
        left.tags()
    );
}

/// A policy renders as indented JSON; changing one statement of an inline
/// policy shows that statement, removed and added, and folds the others.
#[test]
fn one_changed_statement_of_an_inline_policy_shows_and_the_rest_fold() {
    let moto = Moto::start();
    let role = |action: &str| {
        format!(
            r#"stack: docs
region: ap-northeast-1
resources:
  iam_role.app:
    assume_role_service: ec2.amazonaws.com
    inline_policies:
      app: |
        {{"Version": "2012-10-17", "Statement": [
          {{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::game-assets/*"}},
          {{"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "arn:aws:logs:*:*:log-group:game"}},
          {{"Effect": "Allow", "Action": "{action}", "Resource": "arn:aws:sqs:*:*:game-events"}}]}}
"#
        )
    };
    let w = Workdir::new(&moto.url, &role("sqs:SendMessage"));
    let first = w.run(&["plan", "stack.yaml"]);
    assert!(first.stdout.contains("+ assume_role_policy: jsonencode({"), "{}", first.stdout);
    assert!(first.stdout.contains("+ \"Version\": \"2012-10-17\""), "{}", first.stdout);
    w.apply_ok();
    w.write_stack(&role("sqs:ReceiveMessage"));
    let plan = w.run(&["plan", "stack.yaml"]);
    let out = &plan.stdout;
    assert!(out.contains("~ app: jsonencode("), "{out}");
    assert!(out.contains("- ") && out.contains("\"Action\": \"sqs:SendMessage\""), "{out}");
    assert!(out.contains("\"Action\": \"sqs:ReceiveMessage\""), "{out}");
    assert!(out.contains("# (2 unchanged statements hidden)"), "{out}");
    assert!(!out.contains("s3:GetObject") && !out.contains("logs:PutLogEvents"), "{out}");
}
