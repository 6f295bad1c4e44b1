//! Lean applies and destroys against moto, counted through the proxy: a bucket
//! is created and configured in five calls with nothing read back, a security
//! group in one, a VPC in one; a group's rules are described only when one must
//! be revoked; a plan reads a target group's targets only where they are
//! managed; a destroy asks only which resources exist, and `destroy
//! --refresh=false` reads nothing. What was recorded without reading is what
//! AWS holds: the next plan has no changes and `infra drift` finds none.

use crate::support::{Moto, Proxy, Workdir};

const STACK: &str = r#"
stack: lean
region: ap-northeast-1
resources:
  vpc.main:
    cidr_block: 10.60.0.0/16
  s3_bucket.a:
    name: lean-a
    versioning: true
  s3_bucket.b:
    name: lean-b
  security_group.plain:
    vpc_id: ${vpc.main.id}
    description: AWS's own rules
  security_group.web:
    vpc_id: ${vpc.main.id}
    description: web
    ingress:
      - { protocol: tcp, ports: "443", cidr: 0.0.0.0/0, description: https }
  security_group.closed:
    vpc_id: ${vpc.main.id}
    description: nothing out
    egress: []
    ingress:
      - { protocol: tcp, ports: "8080", source_security_group: "${security_group.web.id}" }
  target_group.web:
    vpc_id: ${vpc.main.id}
    protocol: HTTP
    port: 80
outputs:
  web_arn: ${security_group.web.arn}
"#;

/// The requests the proxy counted whose operation starts with one of these.
fn counted(proxy: &Proxy, prefixes: &[&str]) -> u64 {
    proxy
        .counts()
        .iter()
        .filter(|(op, _)| prefixes.iter().any(|p| op.starts_with(p)))
        .map(|(_, n)| n.as_u64().unwrap_or(0))
        .sum()
}

#[test]
fn creates_configure_without_reading_and_destroys_ask_only_what_exists() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.url);
    let w = Workdir::new(&proxy.url, STACK);

    proxy.reset();
    w.apply_ok();
    let counts = proxy.counts();
    // A bucket: CreateBucket, then its public access block, ownership and
    // tags (and versioning when asked); SSE-S3 is AWS's own. Nothing read.
    for (bucket, calls) in [("lean-a", 5), ("lean-b", 4)] {
        assert_eq!(counted(&proxy, &[&format!("PUT /{bucket}/")]), calls, "{bucket}: {counts:?}");
        assert_eq!(
            counted(&proxy, &[&format!("GET /{bucket}/"), &format!("HEAD /{bucket}")]),
            0,
            "{counts:?}"
        );
    }
    assert_eq!(proxy.count("PUT /lean-b/?versioning"), 0, "not versioned: nothing to say");
    assert_eq!(proxy.count("PUT /lean-a/?encryption"), 0);
    // Groups: one create each, their tags in it; rules added without a
    // look, except where AWS's own rule out must be revoked (by its id).
    assert_eq!(proxy.count("CreateSecurityGroup"), 3);
    assert_eq!(proxy.count("CreateTags"), 0);
    assert_eq!(proxy.count("AuthorizeSecurityGroupIngress"), 2);
    assert_eq!(proxy.count("RevokeSecurityGroupEgress"), 1);
    assert_eq!(proxy.count("DescribeSecurityGroupRules"), 1, "{counts:?}");
    // The VPC: its create, with its tags; AWS's DNS settings are the stack's.
    assert_eq!(proxy.count("CreateVpc"), 1);
    assert_eq!(counted(&proxy, &["DescribeVpc", "ModifyVpcAttribute"]), 0, "{counts:?}");

    // What was recorded is what AWS holds. A target group whose targets the
    // stack does not manage has its registered targets left unread.
    proxy.reset();
    w.assert_no_changes();
    assert_eq!(proxy.count("DescribeTargetHealth"), 0, "{:?}", proxy.counts());
    assert_eq!(proxy.count("DescribeTargetGroups"), 1, "{:?}", proxy.counts());
    let drift = w.run(&["drift", "stack.yaml"]);
    assert_eq!(drift.code, 0, "{}\n{}", drift.stdout, drift.stderr);
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("state/lean.json")).unwrap()).unwrap();
    let web = &state["resources"]["security_group.web"]["attributes"];
    let id = web["id"].as_str().unwrap();
    assert_eq!(web["arn"], format!("arn:aws:ec2:ap-northeast-1:123456789012:security-group/{id}"));
    assert_eq!(state["resources"]["s3_bucket.a"]["attributes"]["arn"], "arn:aws:s3:::lean-a");

    // A destroy asks which exist, one call per type, and deletes; only the
    // group whose rule names another has its rules revoked first.
    proxy.reset();
    let d = w.run(&["destroy", "--auto-approve", "stack.yaml"]);
    assert_eq!(d.code, 0, "{}\n{}", d.stdout, d.stderr);
    let counts = proxy.counts();
    assert_eq!(proxy.count("GET /"), 1, "one ListBuckets: {counts:?}");
    assert_eq!(proxy.count("DescribeVpcs"), 1, "{counts:?}");
    assert_eq!(
        counted(&proxy, &["GET /lean-", "HEAD /lean-", "DescribeVpcAttribute"]),
        0,
        "{counts:?}"
    );
    assert_eq!(proxy.count("DeleteSecurityGroup"), 3);
    assert_eq!(proxy.count("RevokeSecurityGroupIngress"), 1, "{counts:?}");
    assert_eq!(counted(&proxy, &["DELETE /lean-"]), 2);

    // Without a refresh, a destroy reads nothing at all.
    w.apply_ok();
    proxy.reset();
    let blind = w.run(&["destroy", "--auto-approve", "--refresh=false", "stack.yaml"]);
    assert_eq!(blind.code, 0, "{}\n{}", blind.stdout, blind.stderr);
    let counts = proxy.counts();
    // Only what a deletion needs: the rule ids of the group whose rule names
    // another, to revoke them.
    let reads: Vec<&String> = counts
        .keys()
        .filter(|op| {
            (op.starts_with("Describe") && op.as_str() != "DescribeSecurityGroupRules")
                || op.starts_with("GET ")
                || op.starts_with("HEAD ")
        })
        .collect();
    assert!(reads.is_empty(), "{counts:?}");
    assert_eq!(proxy.count("DescribeSecurityGroupRules"), 1, "{counts:?}");
    assert_eq!(proxy.count("DeleteSecurityGroup"), 3);
    assert!(
        !w.path("state/lean.json").exists() || {
            let s: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(w.path("state/lean.json")).unwrap())
                    .unwrap();
            s["resources"].as_object().unwrap().is_empty()
        }
    );
}

const MORE: &str = r#"
stack: leaner
region: ap-northeast-1
resources:
  vpc.main:
    cidr_block: 10.61.0.0/16
  subnet.plain:
    vpc_id: ${vpc.main.id}
    cidr_block: 10.61.0.0/24
  subnet.public:
    vpc_id: ${vpc.main.id}
    cidr_block: 10.61.1.0/24
    availability_zone: ap-northeast-1c
    map_public_ip_on_launch: true
  target_group.plain:
    vpc_id: ${vpc.main.id}
    protocol: HTTP
    port: 80
  target_group.tuned:
    vpc_id: ${vpc.main.id}
    name: leaner-tuned
    protocol: HTTP
    port: 8080
    health_check: { path: /healthz, interval_seconds: 10, matcher: "200-299" }
    deregistration_delay_seconds: 30
    stickiness: { enabled: true, duration_seconds: 3600 }
    targets: []
  ecr_repository.plain:
    name: leaner/plain
  ecr_repository.kept:
    name: leaner/kept
    image_tag_mutability: IMMUTABLE
    scan_on_push: false
    keep_last_images: 10
outputs:
  zone: ${subnet.plain.availability_zone}
  url: ${ecr_repository.plain.url}
"#;

#[test]
fn subnets_target_groups_and_repositories_are_made_in_their_create_call() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.url);
    let w = Workdir::new(&proxy.url, MORE);

    proxy.reset();
    w.apply_ok();
    let counts = proxy.counts();
    // Each create's answer describes what it made: nothing is read back, and
    // only what the create call cannot say is sent after it.
    assert_eq!(proxy.count("CreateSubnet"), 2, "{counts:?}");
    assert_eq!(proxy.count("ModifySubnetAttribute"), 1, "{counts:?}");
    assert_eq!(proxy.count("CreateTargetGroup"), 2, "{counts:?}");
    assert_eq!(proxy.count("ModifyTargetGroup"), 1, "{counts:?}");
    assert_eq!(proxy.count("ModifyTargetGroupAttributes"), 1, "{counts:?}");
    assert_eq!(proxy.count("CreateRepository"), 2, "{counts:?}");
    assert_eq!(proxy.count("PutLifecyclePolicy"), 1, "{counts:?}");
    assert_eq!(
        counted(
            &proxy,
            &[
                "Describe",
                "ListTags",
                "GetLifecyclePolicy",
                "GetRepositoryPolicy",
                "AddTags",
                "CreateTags",
                "TagResource",
                "PutImage",
            ]
        ),
        0,
        "{counts:?}"
    );
    assert_eq!(
        counts.values().map(|n| n.as_u64().unwrap()).sum::<u64>(),
        12,
        "the VPC, 2 subnets, 2 groups, 2 repositories, 3 settings and the identity check: {counts:?}"
    );

    // What was recorded is what AWS holds, AWS's choices (a zone, an ARN, a
    // URL) from the creates' answers.
    w.assert_no_changes();
    let drift = w.run(&["drift", "stack.yaml"]);
    assert_eq!(drift.code, 0, "{}\n{}", drift.stdout, drift.stderr);
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("state/leaner.json")).unwrap())
            .unwrap();
    let resources = &state["resources"];
    let zone = resources["subnet.plain"]["attributes"]["availability_zone"].as_str().unwrap();
    assert!(zone.starts_with("ap-northeast-1"), "{zone}");
    assert!(
        resources["subnet.plain"]["attributes"]["arn"]
            .as_str()
            .unwrap()
            .ends_with(resources["subnet.plain"]["id"].as_str().unwrap())
    );
    assert_eq!(
        resources["ecr_repository.plain"]["attributes"]["url"],
        "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/leaner/plain"
    );
    let tuned = &resources["target_group.tuned"]["attributes"];
    assert!(tuned["arn_suffix"].as_str().unwrap().starts_with("targetgroup/leaner-tuned/"));
    let out = w.run(&["output", "stack.yaml"]);
    assert!(out.stdout.contains(zone), "{}", out.stdout);

    // A destroy asks only which exist: one call per type.
    proxy.reset();
    let d = w.run(&["destroy", "--auto-approve", "stack.yaml"]);
    assert_eq!(d.code, 0, "{}\n{}", d.stdout, d.stderr);
    let counts = proxy.counts();
    for op in ["DescribeSubnets", "DescribeTargetGroups", "DescribeRepositories", "DescribeVpcs"] {
        assert_eq!(proxy.count(op), 1, "{op}: {counts:?}");
    }
    assert_eq!(
        counted(
            &proxy,
            &[
                "DescribeTargetGroupAttributes",
                "DescribeTargetHealth",
                "DescribeTags",
                "ListTags",
                "GetLifecyclePolicy",
                "GetRepositoryPolicy",
                "DescribeVpcAttribute",
            ]
        ),
        0,
        "{counts:?}"
    );
    assert_eq!(proxy.count("DeleteSubnet"), 2);
    assert_eq!(proxy.count("DeleteTargetGroup"), 2);
    assert_eq!(proxy.count("DeleteRepository"), 2);
}

const GATEWAYS_AND_LOGS: &str = r#"
stack: leanest
region: ap-northeast-1
resources:
  vpc.main:
    cidr_block: 10.62.0.0/16
  subnet.a:
    vpc_id: ${vpc.main.id}
    cidr_block: 10.62.0.0/24
    availability_zone: ap-northeast-1a
  subnet.c:
    vpc_id: ${vpc.main.id}
    cidr_block: 10.62.1.0/24
    availability_zone: ap-northeast-1c
  internet_gateway.main:
    vpc_id: ${vpc.main.id}
  elastic_ip.nat: {}
  route_table.public:
    vpc_id: ${vpc.main.id}
    routes:
      - { cidr_block: 0.0.0.0/0, gateway_id: "${internet_gateway.main.id}" }
    subnet_ids: ["${subnet.a.id}"]
  cloudwatch_log_group.app:
    name: /leanest/app
    retention_days: 30
  iam_role.app:
    assume_role_service: ec2.amazonaws.com
    managed_policy_arns: [arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly]
  cloudwatch_alarm.errors:
    namespace: AWS/ApplicationELB
    metric: HTTPCode_Target_5XX_Count
    statistic: Sum
    period: 60
    threshold: 5
    comparison: GreaterThanThreshold
  load_balancer.internal:
    scheme: internal
    subnets: ["${subnet.a.id}", "${subnet.c.id}"]
  launch_template.nodes: {}
  s3_bucket.logs:
    name: leanest-logs
  firehose_stream.logs:
    role_arn: ${iam_role.app.arn}
    s3: { bucket_arn: "${s3_bucket.logs.arn}" }
"#;

#[test]
fn gateways_routes_roles_and_log_groups_are_made_without_a_read_and_destroys_ask_only_what_exists()
{
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.url);
    let w = Workdir::new(&proxy.url, GATEWAYS_AND_LOGS);

    proxy.reset();
    w.apply_ok();
    let counts = proxy.counts();
    // An internet gateway is made and attached, an address allocated, a log
    // group made and given its retention: nothing of them read back.
    assert_eq!(proxy.count("CreateInternetGateway"), 1, "{counts:?}");
    assert_eq!(proxy.count("AttachInternetGateway"), 1, "{counts:?}");
    assert_eq!(proxy.count("AllocateAddress"), 1, "{counts:?}");
    assert_eq!(proxy.count("CreateLogGroup"), 1, "{counts:?}");
    assert_eq!(proxy.count("PutRetentionPolicy"), 1, "{counts:?}");
    // A route table: made, its route added, its subnet associated (the
    // association is looked up by its own describe, as it must be); a role:
    // made and its policy attached, nothing read.
    assert_eq!(proxy.count("CreateRouteTable"), 1, "{counts:?}");
    assert_eq!(proxy.count("CreateRoute"), 1, "{counts:?}");
    assert_eq!(proxy.count("AssociateRouteTable"), 1, "{counts:?}");
    assert_eq!(proxy.count("CreateRole"), 1, "{counts:?}");
    assert_eq!(proxy.count("AttachRolePolicy"), 1, "{counts:?}");
    assert_eq!(
        counted(
            &proxy,
            &["GetRole", "ListAttachedRolePolicies", "ListRolePolicies", "ListRoleTags"]
        ),
        0,
        "{counts:?}"
    );
    assert_eq!(
        counted(
            &proxy,
            &["DescribeInternetGateways", "DescribeAddresses", "DescribeLogGroups", "CreateTags"]
        ),
        0,
        "{counts:?}"
    );
    // What was recorded without reading is what AWS holds.
    w.assert_no_changes();
    let drift = w.run(&["drift", "stack.yaml"]);
    assert_eq!(drift.code, 0, "{}\n{}", drift.stdout, drift.stderr);
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("state/leanest.json")).unwrap())
            .unwrap();
    let eip = &state["resources"]["elastic_ip.nat"]["attributes"];
    assert!(eip["public_ip"].as_str().is_some_and(|ip| ip.contains('.')), "{eip}");
    assert_eq!(
        state["resources"]["cloudwatch_log_group.app"]["attributes"]["arn"],
        "arn:aws:logs:ap-northeast-1:123456789012:log-group:/leanest/app"
    );

    // A destroy asks which exist: a role by GetRole alone, alarms, load
    // balancers and launch templates by their describe alone, a log group by
    // its describe alone; no attributes, versions or tags. (A role's policies
    // are listed by its delete, which detaches them first.)
    proxy.reset();
    let d = w.run(&["destroy", "--auto-approve", "stack.yaml"]);
    assert_eq!(d.code, 0, "{}\n{}", d.stdout, d.stderr);
    let counts = proxy.counts();
    for op in [
        "GetRole",
        "DescribeAlarms",
        "DescribeLoadBalancers",
        "DescribeLaunchTemplates",
        "DescribeLogGroups",
        "DescribeInternetGateways",
        "DescribeAddresses",
    ] {
        assert_eq!(proxy.count(op), 1, "{op}: {counts:?}");
    }
    // A stream: whether it exists, then the wait until it is gone.
    assert_eq!(proxy.count("DescribeDeliveryStream"), 2, "{counts:?}");
    assert_eq!(
        counted(
            &proxy,
            &[
                "GetRolePolicy",
                "ListRoleTags",
                "ListTagsForResource",
                "DescribeLoadBalancerAttributes",
                "DescribeTags",
                "DescribeLaunchTemplateVersions",
                "ListTagsForDeliveryStream",
            ]
        ),
        0,
        "{counts:?}"
    );
    assert_eq!(proxy.count("ListAttachedRolePolicies"), 1, "{counts:?}");
    assert_eq!(proxy.count("DeleteLogGroup"), 1);
    assert_eq!(proxy.count("ReleaseAddress"), 1);
    assert_eq!(proxy.count("DeleteInternetGateway"), 1);
}

/// The reads of an apply, by operation: what the proxy counted whose name says
/// it reads.
fn reads(proxy: &Proxy) -> std::collections::BTreeMap<String, u64> {
    proxy
        .counts()
        .into_iter()
        .filter(|(op, _)| {
            ["Describe", "Get", "List", "GET ", "HEAD "].iter().any(|p| op.starts_with(p))
        })
        .map(|(op, n)| (op, n.as_u64().unwrap_or(0)))
        .collect()
}

#[test]
fn the_whole_platform_is_made_reading_only_what_aws_computes_and_its_waits() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.url);
    let w = Workdir::new(&proxy.url, &crate::support::flat_stack("platform"));

    proxy.reset();
    w.apply_ok();
    // What is read while the platform is made: one look per wait (a NAT
    // gateway, an endpoint, the load balancer, the cluster, each add-on, the
    // node group, the stream), which sees it whole; the alarm's name before
    // PutMetricAlarm (which would replace another silently); the launch
    // template's version numbers; the subnets a route table takes over; and
    // the account, once. moto drops a node group's update_config at create,
    // so it is set once more and waited for (DescribeUpdate, a second look).
    let expected: std::collections::BTreeMap<String, u64> = [
        // The buckets the account holds before one is made: one ListBuckets
        // for the run, what proves a create made its bucket.
        ("GET /", 1),
        ("DescribeAddon", 4),
        ("DescribeAlarms", 1),
        ("DescribeCluster", 1),
        ("DescribeDeliveryStream", 1),
        ("DescribeLaunchTemplates", 1),
        ("DescribeLoadBalancers", 1),
        ("DescribeNatGateways", 2),
        ("DescribeNodegroup", 2),
        ("DescribeRouteTables", 3),
        ("DescribeUpdate", 1),
        ("DescribeVpcEndpoints", 1),
        ("GetCallerIdentity", 1),
    ]
    .into_iter()
    .map(|(op, n)| (op.to_string(), n))
    .collect();
    assert_eq!(reads(&proxy), expected, "{:?}", proxy.counts());

    // What was recorded without reading is what AWS holds, AWS's choices
    // (a DNS name, an endpoint, an issuer, version numbers) included.
    w.assert_no_changes();
    let drift = w.run(&["drift", "stack.yaml"]);
    assert_eq!(drift.code, 0, "{}\n{}", drift.stdout, drift.stderr);
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("state/platform.json")).unwrap())
            .unwrap();
    let attrs = |a: &str| state["resources"][a]["attributes"].clone();
    assert!(
        attrs("load_balancer.web")["dns_name"]
            .as_str()
            .is_some_and(|d| d.contains("elb.amazonaws.com")),
        "{}",
        attrs("load_balancer.web")
    );
    assert_eq!(attrs("load_balancer.web")["state"], "active");
    assert!(
        attrs("eks_cluster.main")["endpoint"].as_str().is_some_and(|e| e.starts_with("https://"))
    );
    assert_eq!(attrs("launch_template.nodes")["latest_version"], "1");
    assert!(
        attrs("nat_gateway.zone[\"a\"]")["public_ip"].as_str().is_some_and(|ip| ip.contains('.'))
    );
    assert!(attrs("listener.http")["arn"].as_str().is_some_and(|a| a.contains(":listener/app/")));

    // A change of the launch template is a new version, read back (its
    // number is AWS's), and the node group moves to it in the same apply.
    let bigger =
        crate::support::flat_stack("platform").replace("volume_size: 50", "volume_size: 80");
    assert_ne!(bigger, crate::support::flat_stack("platform"));
    w.write_stack(&bigger);
    w.apply_ok();
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("state/platform.json")).unwrap())
            .unwrap();
    assert_eq!(state["resources"]["launch_template.nodes"]["attributes"]["latest_version"], "2");
    assert_eq!(
        state["resources"]["eks_nodegroup.app"]["attributes"]["launch_template"]["version"],
        "2"
    );
    w.assert_no_changes();

    // A destroy asks which exist: listeners and rules by their describe
    // alone, no tags.
    proxy.reset();
    let d = w.run(&["destroy", "--auto-approve", "stack.yaml"]);
    assert_eq!(d.code, 0, "{}\n{}", d.stdout, d.stderr);
    let counts = proxy.counts();
    assert_eq!(proxy.count("DescribeListeners"), 1, "{counts:?}");
    assert_eq!(proxy.count("DescribeRules"), 1, "{counts:?}");
    assert_eq!(
        counted(&proxy, &["DescribeTags", "DescribeLoadBalancerAttributes"]),
        0,
        "{counts:?}"
    );
}

/// The bench's workload (a VPC, 100 versioned buckets, 100 security groups)
/// in us-east-1, where CreateBucket answers 200 for a bucket the account owns
/// already: what proves each bucket was made by this run is one ListBuckets
/// before the first create, not a HeadBucket a bucket. At most 610 requests.
#[test]
fn the_hundred_bucket_workload_applies_in_at_most_610_requests_in_us_east_1() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.url);
    let mut text =
        "stack: lean\nregion: us-east-1\nresources:\n  vpc.main:\n    cidr_block: 10.0.0.0/16\n"
            .to_string();
    for i in 0..100 {
        text.push_str(&format!(
            "  s3_bucket.b{i}:\n    name: lean-bucket-{i}\n    versioning: true\n  security_group.g{i}:\n    vpc_id: ${{vpc.main.id}}\n    description: group {i}\n"
        ));
    }
    let w = Workdir::new(&proxy.url, &text);
    proxy.reset();
    w.apply_ok();
    let counts = proxy.counts();
    let total: u64 = counts.values().filter_map(|v| v.as_u64()).sum();
    eprintln!("the us-east-1 workload applied in {total} requests");
    assert!(total <= 610, "{total} requests: {counts:?}");
    assert_eq!(counted(&proxy, &["HEAD /"]), 0, "{counts:?}");
    assert_eq!(proxy.count("GET /"), 1, "one ListBuckets: {counts:?}");
    assert_eq!(counted(&proxy, &["PUT /lean-bucket-"]), 500, "{counts:?}");
}
