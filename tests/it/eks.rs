//! The EKS part of the platform against moto, through the fault-injecting proxy
//! where moto falls short (version updates, clusters that take time). Every check
//! reads the emulator itself through the SDK.

use crate::support::{Moto, Proxy, Workdir, kill_at, last_line, runtime, stack_file};
use serde_json::json;

fn cluster(moto: &Moto) -> Option<aws_sdk_eks::types::Cluster> {
    let rt = runtime();
    let names = rt.block_on(moto.eks().list_clusters().send()).unwrap();
    let name = names.clusters().first()?.clone();
    rt.block_on(moto.eks().describe_cluster().name(name).send())
        .unwrap()
        .cluster()
        .cloned()
}

fn desired_size(moto: &Moto) -> i32 {
    let rt = runtime();
    let n = rt
        .block_on(
            moto.eks()
                .describe_nodegroup()
                .cluster_name("enza-staging")
                .nodegroup_name("eks-app")
                .send(),
        )
        .unwrap();
    n.nodegroup()
        .unwrap()
        .scaling_config()
        .unwrap()
        .desired_size()
        .unwrap()
}

#[test]
fn the_eks_platform_applies_scales_upgrades_and_destroys_in_order() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.url);
    let w = Workdir::new(&proxy.url, &stack_file("eks"));
    let plan = w.run(&["plan", "stack.yaml"]);
    assert_eq!(
        last_line(&plan.stdout),
        "Plan: 18 to add, 0 to change, 0 to destroy."
    );
    // stderr says where the state and lock are, and nothing more.
    assert!(
        plan.stderr
            .lines()
            .all(|l| l.starts_with("state: local file")),
        "the safe defaults raise no warning: {}",
        plan.stderr
    );
    let r = w.run(&["apply", "--auto-approve", "stack.yaml"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);

    // What the emulator holds.
    let c = cluster(&moto).expect("a cluster");
    assert_eq!(c.name(), Some("enza-staging"));
    assert_eq!(c.version(), Some("1.30"));
    assert!(c.role_arn().unwrap().ends_with(":role/eks-cluster"));
    assert_eq!(c.resources_vpc_config().unwrap().subnet_ids().len(), 2);
    let rt = runtime();
    let iam = moto.iam();
    let attached = rt
        .block_on(
            iam.list_attached_role_policies()
                .role_name("eks-nodes")
                .send(),
        )
        .unwrap();
    let mut arns: Vec<&str> = attached
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn())
        .collect();
    arns.sort();
    assert_eq!(
        arns,
        [
            "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
            "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
            "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
        ]
    );
    let lts = rt
        .block_on(moto.ec2().describe_launch_templates().send())
        .unwrap();
    let lt = lts.launch_templates()[0]
        .launch_template_id()
        .unwrap()
        .to_string();
    let v = rt
        .block_on(
            moto.ec2()
                .describe_launch_template_versions()
                .launch_template_id(&lt)
                .versions("1")
                .send(),
        )
        .unwrap();
    let md = v.launch_template_versions()[0]
        .launch_template_data()
        .unwrap()
        .metadata_options()
        .unwrap()
        .clone();
    assert_eq!(md.http_tokens().map(|t| t.as_str()), Some("required"));
    assert_eq!(md.http_put_response_hop_limit(), Some(2));
    assert_eq!(desired_size(&moto), 3);
    let again = w.run(&["plan", "--detailed-exitcode", "stack.yaml"]);
    assert_eq!(again.code, 0, "{}", again.stdout);

    // Scaling changes in place.
    let scaled = stack_file("eks").replace("desired: 3 }", "desired: 5 }");
    w.write_stack(&scaled);
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(
        plan.stdout
            .contains("# eks_nodegroup.app will be updated in place"),
        "{}",
        plan.stdout
    );
    assert_eq!(
        last_line(&plan.stdout),
        "Plan: 0 to add, 1 to change, 0 to destroy."
    );
    assert_eq!(w.run(&["apply", "--auto-approve", "stack.yaml"]).code, 0);
    assert_eq!(desired_size(&moto), 5);
    assert_eq!(
        w.run(&["plan", "--detailed-exitcode", "stack.yaml"]).code,
        0
    );

    // A version skip is refused before anything is done.
    w.write_stack(&scaled.replace("\"1.30\"", "\"1.32\""));
    let skip = w.run(&["apply", "--auto-approve", "stack.yaml"]);
    assert_eq!(skip.code, 1);
    assert!(
        skip.stderr.contains(
            "EKS upgrades one minor version at a time: 1.30 can go to 1.31 next, not 1.32"
        ),
        "{}",
        skip.stderr
    );
    assert_eq!(proxy.count("UpdateClusterVersion"), 0);

    // One minor up, in place, through the version-update path the proxy plays.
    w.write_stack(&scaled.replace("\"1.30\"", "\"1.31\""));
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(
        plan.stdout.contains("~ version: \"1.30\" -> \"1.31\""),
        "{}",
        plan.stdout
    );
    assert_eq!(
        last_line(&plan.stdout),
        "Plan: 0 to add, 1 to change, 0 to destroy."
    );
    let up = w.run(&["apply", "--auto-approve", "stack.yaml"]);
    assert_eq!(up.code, 0, "{}\n{}", up.stdout, up.stderr);
    assert_eq!(proxy.count("UpdateClusterVersion"), 1);
    assert!(
        proxy.count("DescribeUpdate") >= 1,
        "the update was waited for"
    );
    assert_eq!(cluster(&moto).unwrap().arn(), c.arn(), "the same cluster");
    assert_eq!(
        w.run(&["plan", "--detailed-exitcode", "stack.yaml"]).code,
        0
    );

    // A launch template change is a new default version, and the node group moves
    // to it in place (UpdateNodegroupVersion, played by the proxy).
    let bigger = scaled
        .replace("\"1.30\"", "\"1.31\"")
        .replace("volume_size: 50", "volume_size: 80");
    w.write_stack(&bigger);
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(
        plan.stdout
            .contains("# launch_template.nodes will be updated in place"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("# eks_nodegroup.app will be updated in place"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("(known after apply)"),
        "{}",
        plan.stdout
    );
    assert_eq!(
        last_line(&plan.stdout),
        "Plan: 0 to add, 2 to change, 0 to destroy."
    );
    let r = w.run(&["apply", "--auto-approve", "stack.yaml"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let lts = rt
        .block_on(moto.ec2().describe_launch_templates().send())
        .unwrap();
    assert_eq!(lts.launch_templates()[0].default_version_number(), Some(2));
    assert_eq!(proxy.count("UpdateNodegroupVersion"), 1);
    assert_eq!(
        w.run(&["plan", "--detailed-exitcode", "stack.yaml"]).code,
        0
    );

    // Logging and endpoint access change in place (UpdateClusterConfig), and the
    // cluster keeps its subnets.
    w.write_stack(&bigger.replace(
        "logging: [api, audit]",
        "logging: [api, audit, scheduler]\n    endpoint_public_access: true\n    public_access_cidrs: [203.0.113.0/24]",
    ));
    let plan = w.run(&["plan", "stack.yaml"]);
    assert_eq!(
        last_line(&plan.stdout),
        "Plan: 0 to add, 1 to change, 0 to destroy.",
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("~ endpoint_public_access: false -> true"),
        "{}",
        plan.stdout
    );
    assert_eq!(w.run(&["apply", "--auto-approve", "stack.yaml"]).code, 0);
    let c2 = cluster(&moto).unwrap();
    assert_eq!(c2.arn(), c.arn());
    let vpc = c2.resources_vpc_config().unwrap();
    assert!(vpc.endpoint_public_access());
    assert_eq!(vpc.public_access_cidrs(), ["203.0.113.0/24"]);
    assert_eq!(vpc.subnet_ids().len(), 2, "subnets kept");
    let logged: Vec<&str> = c2
        .logging()
        .unwrap()
        .cluster_logging()
        .iter()
        .filter(|s| s.enabled() == Some(true))
        .flat_map(|s| s.types().iter().map(|t| t.as_str()))
        .collect();
    assert!(logged.contains(&"scheduler"), "{logged:?}");
    assert_eq!(
        w.run(&["plan", "--detailed-exitcode", "stack.yaml"]).code,
        0
    );

    // Destroy: node group before cluster, cluster before its role and groups.
    let d = w.run(&["destroy", "--auto-approve", "stack.yaml"]);
    assert_eq!(d.code, 0, "{}\n{}", d.stdout, d.stderr);
    let at = |line: &str| {
        d.stderr
            .find(line)
            .unwrap_or_else(|| panic!("{line} in:\n{}", d.stderr))
    };
    assert!(at("eks_nodegroup.app: destroyed") < at("eks_cluster.main: destroying"));
    assert!(at("eks_cluster.main: destroyed") < at("iam_role.cluster: destroying"));
    assert!(at("eks_cluster.main: destroyed") < at("security_group.cluster: destroying"));
    assert!(cluster(&moto).is_none());
    let roles = rt.block_on(iam.list_roles().send()).unwrap();
    assert!(
        roles
            .roles()
            .iter()
            .all(|r| !r.role_name().starts_with("eks-")),
        "roles are gone"
    );
    assert!(
        rt.block_on(moto.ec2().describe_launch_templates().send())
            .unwrap()
            .launch_templates()
            .is_empty()
    );
}

#[test]
fn an_apply_killed_while_the_cluster_is_creating_resumes_the_wait() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.url);
    // The cluster reads as CREATING for 20 s after it is first described.
    proxy.rules(
        json!([{"op": "DescribeCluster", "action": "status", "value": "CREATING", "seconds": 20}]),
    );
    let w = Workdir::new(&proxy.url, &stack_file("eks"));
    kill_at(
        &w,
        &["apply", "-v", "--auto-approve", "stack.yaml"],
        "eks_cluster.main: creating (CREATING)",
    );
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("state/eks.json")).unwrap()).unwrap();
    assert_eq!(
        state["resources"]["eks_cluster.main"]["pending"]["operation"], "create",
        "the accepted create is in state"
    );
    assert!(
        w.path("state/eks.json.lock").exists(),
        "a killed run leaves its lock"
    );

    // The rerun takes over the dead run's lock, waits instead of creating again.
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(
        plan.stdout
            .contains("# eks_cluster.main is still being created in AWS"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stderr.contains("taking over the lock"),
        "{}",
        plan.stderr
    );
    let r = w.run(&["apply", "--auto-approve", "stack.yaml"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("eks_cluster.main: ready (the wait an earlier apply left: create)"),
        "{}",
        r.stderr
    );
    assert_eq!(proxy.count("CreateCluster"), 1, "created once");
    let rt = runtime();
    assert_eq!(
        rt.block_on(moto.eks().list_clusters().send())
            .unwrap()
            .clusters()
            .len(),
        1
    );
    assert_eq!(
        w.run(&["plan", "--detailed-exitcode", "stack.yaml"]).code,
        0
    );
}

#[test]
fn the_field_notes_lints_warn_and_strict_refuses() {
    let unsafe_stack = r#"
stack: lints
region: ap-northeast-1
resources:
  vpc.main:
    cidr_block: 10.0.0.0/16
  security_group.ssh:
    vpc_id: ${vpc.main.id}
    ingress:
      - { protocol: tcp, ports: "22", cidr: 0.0.0.0/0 }
      - { protocol: tcp, ports: "443", cidr: 0.0.0.0/0 }
  s3_bucket.open:
    public_access_block: false
  launch_template.nodes:
    metadata_options: { http_tokens: optional, http_put_response_hop_limit: 1 }
  iam_role.cluster:
    assume_role_service: eks.amazonaws.com
  eks_cluster.main:
    version: "1.31"
    role_arn: ${iam_role.cluster.arn}
    subnet_ids: [subnet-1, subnet-2]
    endpoint_public_access: true
"#;
    let w = Workdir::new("http://127.0.0.1:9", unsafe_stack);
    let r = w.run(&["validate", "stack.yaml"]);
    assert_eq!(r.code, 0, "warnings alone pass: {}", r.stderr);
    for expected in [
        "stack.yaml:10:9: warning",
        "security_group.ssh: ingress from 0.0.0.0/0 on 22 (not 80 or 443)",
        "s3_bucket.open: the bucket's public access block is off",
        "launch_template.nodes: instance metadata without IMDSv2",
        "launch_template.nodes: a hop limit below 2 keeps pods from reaching instance metadata",
        "eks_cluster.main: the cluster endpoint is public to 0.0.0.0/0",
    ] {
        let found = if expected.ends_with("warning") {
            r.stderr.contains("warning: stack.yaml:10:9:")
        } else {
            r.stderr.contains(expected)
        };
        assert!(found, "{expected} in:\n{}", r.stderr);
    }
    assert_eq!(r.stderr.matches("warning: ").count(), 5, "{}", r.stderr);
    let strict = w.run(&["validate", "--strict", "stack.yaml"]);
    assert_eq!(strict.code, 1);
    assert_eq!(
        strict.stderr.matches("error: stack.yaml").count(),
        5,
        "{}",
        strict.stderr
    );
    let strict_plan = w.run(&["plan", "--strict", "stack.yaml"]);
    assert_eq!(strict_plan.code, 1);
    assert!(
        !w.path("state").exists(),
        "refused before any state or AWS call"
    );

    // The shipped stacks, on the safe defaults, raise none.
    for name in ["demo", "cutover", "eks"] {
        let w = Workdir::new("http://127.0.0.1:9", &stack_file(name));
        let r = w.run(&["validate", "--strict", "stack.yaml"]);
        assert_eq!(r.code, 0, "{name}: {}", r.stderr);
        assert!(!r.stderr.contains("warning"), "{name}: {}", r.stderr);
    }
}

/// A cluster and node group whose roles were made moments earlier: AWS answers
/// that the role cannot be assumed until IAM has propagated it, and the create
/// is tried again until it can.
#[test]
fn creates_wait_for_a_new_role_to_propagate() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.url);
    let not_yet = |op: &str| {
        json!({"op": op, "action": "error", "status": 400, "code": "InvalidParameterException",
               "message": "Role with arn: arn:aws:iam::123456789012:role/eks-cluster, could not be assumed because it does not exist or the trusted entity is not correct",
               "times": 2})
    };
    proxy.rules(json!([
        not_yet("CreateCluster"),
        not_yet("CreateNodegroup")
    ]));
    let w = Workdir::new(&proxy.url, &stack_file("eks"));
    let r = w.run(&["apply", "--auto-approve", "stack.yaml"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(proxy.count("CreateCluster"), 3, "two refusals, then made");
    assert_eq!(proxy.count("CreateNodegroup"), 3);
    assert!(cluster(&moto).is_some());
}

/// A node group update that rolls the nodes says how many and how fast in the
/// plan; a replacement says all of them go. A failed update prints AWS's error
/// with the update id and leaves the update pending in state.
#[test]
fn a_node_roll_says_how_many_nodes_and_a_failed_one_names_its_error() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.url);
    let w = Workdir::new(&proxy.url, &stack_file("eks"));
    let r = w.run(&["apply", "--auto-approve", "stack.yaml"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);

    let release = |v: &str| {
        stack_file("eks").replace(
            "    update_config: { max_unavailable: 1 }\n",
            &format!("    update_config: {{ max_unavailable: 1 }}\n    release_version: {v}\n"),
        )
    };
    w.write_stack(&release("1.30.4-20240917"));
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(
        plan.stdout
            .contains("# eks_nodegroup.app will be updated in place (rolls 3 nodes, 1 at a time)"),
        "{}",
        plan.stdout
    );
    let r = w.run(&["apply", "--auto-approve", "stack.yaml"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    // moto has no UpdateNodegroupVersion: the proxy plays it, and what infra
    // read back through the proxy is in state.
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("state/eks.json")).unwrap()).unwrap();
    assert_eq!(
        state["resources"]["eks_nodegroup.app"]["attributes"]["release_version"],
        "1.30.4-20240917"
    );
    assert_eq!(
        w.run(&["plan", "--detailed-exitcode", "stack.yaml"]).code,
        0
    );

    let replaced = release("1.30.4-20240917")
        .replace("instance_types: [m6i.large]", "instance_types: [m7i.large]");
    w.write_stack(&replaced);
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(
        plan.stdout.contains("all 3 nodes are replaced: the group is deleted, pods are evicted, and a new group starts"),
        "{}",
        plan.stdout
    );

    proxy.rules(json!([{"action": "update_fails", "op": "-", "code": "PodEvictionFailure",
        "message": "Reached max retries while trying to evict pods from nodes in node group eks-app"}]));
    w.write_stack(&release("1.30.5-20241024"));
    let r = w.run(&["apply", "--auto-approve", "stack.yaml"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("PodEvictionFailure: Reached max retries")
            && r.stdout.contains("update "),
        "{}",
        r.stdout
    );
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("state/eks.json")).unwrap()).unwrap();
    assert_eq!(
        state["resources"]["eks_nodegroup.app"]["pending"]["operation"], "update",
        "{state}"
    );
}

/// EKS Pod Identity (played by the proxy: moto has none): a service account
/// gets a role; another role is an in-place update; destroy removes the
/// association before the role and the cluster.
#[test]
fn a_pod_identity_association_gives_a_service_account_a_role_in_place() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.url);
    let with = |role: &str| {
        format!(
            "{}
  iam_role.shipper:
    assume_role_service: pods.eks.amazonaws.com
  iam_role.shipper_next:
    assume_role_service: pods.eks.amazonaws.com
  eks_pod_identity_association.shipper:
    cluster_name: ${{eks_cluster.main.name}}
    namespace: logging
    service_account: fluent-bit
    role_arn: ${{iam_role.{role}.arn}}
",
            stack_file("eks").replace(
                "outputs:\n  cluster_endpoint: ${eks_cluster.main.endpoint}\n",
                ""
            )
        )
    };
    let w = Workdir::new(&proxy.url, &with("shipper"));
    let r = w.run(&["apply", "--auto-approve", "stack.yaml"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let state = || -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(w.path("state/eks.json")).unwrap()).unwrap()
    };
    let association = &state()["resources"]["eks_pod_identity_association.shipper"]["attributes"];
    assert_eq!(association["namespace"], "logging");
    assert_eq!(association["service_account"], "fluent-bit");
    assert_eq!(
        association["role_arn"],
        state()["resources"]["iam_role.shipper"]["attributes"]["arn"]
    );
    let trust = &state()["resources"]["iam_role.shipper"]["attributes"]["assume_role_policy"];
    assert!(
        trust.as_str().unwrap().contains("sts:TagSession"),
        "Pod Identity tags the session: {trust}"
    );
    assert_eq!(
        w.run(&["plan", "--detailed-exitcode", "stack.yaml"]).code,
        0
    );

    w.write_stack(&with("shipper_next"));
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(
        plan.stdout
            .contains("# eks_pod_identity_association.shipper will be updated in place"),
        "{}",
        plan.stdout
    );
    let r = w.run(&["apply", "--auto-approve", "stack.yaml"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(proxy.seen("UpdatePodIdentityAssociation"), 1);
    assert_eq!(proxy.seen("CreatePodIdentityAssociation"), 1);
    assert_eq!(
        state()["resources"]["eks_pod_identity_association.shipper"]["attributes"]["role_arn"],
        state()["resources"]["iam_role.shipper_next"]["attributes"]["arn"]
    );
    assert_eq!(
        w.run(&["plan", "--detailed-exitcode", "stack.yaml"]).code,
        0
    );
    let d = w.run(&["destroy", "--auto-approve", "stack.yaml"]);
    assert_eq!(d.code, 0, "{}\n{}", d.stdout, d.stderr);
    assert_eq!(proxy.seen("DeletePodIdentityAssociation"), 1);
}

/// Managed add-ons (played by the proxy: moto has none): coredns is made after
/// the node group (the graph says so), configuration values compare by
/// meaning, and a new configuration is one UpdateAddon in place.
#[test]
fn add_ons_follow_the_node_groups_and_change_in_place() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.url);
    let with = |config: &str| {
        format!(
            "{}
  eks_addon.vpc_cni:
    cluster_name: ${{eks_cluster.main.name}}
    name: vpc-cni
    version: v1.18.3-eksbuild.2
    configuration_values: '{config}'
  eks_addon.coredns:
    cluster_name: ${{eks_cluster.main.name}}
    name: coredns
",
            stack_file("eks").replace(
                "outputs:\n  cluster_endpoint: ${eks_cluster.main.endpoint}\n",
                ""
            )
        )
    };
    let w = Workdir::new(
        &proxy.url,
        &with(r#"{"env": {"ENABLE_PREFIX_DELEGATION": "true", "WARM_PREFIX_TARGET": "1"}}"#),
    );
    let graph = w.run(&["graph", "stack.yaml"]);
    assert!(
        graph
            .stdout
            .contains("\"eks_nodegroup.app\" -> \"eks_addon.coredns\";"),
        "{}",
        graph.stdout
    );
    assert!(
        !graph
            .stdout
            .contains("\"eks_nodegroup.app\" -> \"eks_addon.vpc_cni\";"),
        "vpc-cni needs no nodes"
    );
    let r = w.run(&["apply", "--auto-approve", "stack.yaml"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let state = || -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(w.path("state/eks.json")).unwrap()).unwrap()
    };
    assert_eq!(
        state()["resources"]["eks_addon.vpc_cni"]["attributes"]["version"],
        "v1.18.3-eksbuild.2"
    );
    // The same configuration with its keys in another order is no change.
    w.write_stack(&with(
        r#"{"env": {"WARM_PREFIX_TARGET": "1", "ENABLE_PREFIX_DELEGATION": "true"}}"#,
    ));
    assert_eq!(
        w.run(&["plan", "--detailed-exitcode", "stack.yaml"]).code,
        0
    );

    w.write_stack(&with(
        r#"{"env": {"ENABLE_PREFIX_DELEGATION": "true", "WARM_PREFIX_TARGET": "2"}}"#,
    ));
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(
        plan.stdout
            .contains("# eks_addon.vpc_cni will be updated in place"),
        "{}",
        plan.stdout
    );
    let r = w.run(&["apply", "--auto-approve", "stack.yaml"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(proxy.seen("UpdateAddon"), 1);
    assert_eq!(proxy.seen("CreateAddon"), 2);
    assert_eq!(
        w.run(&["plan", "--detailed-exitcode", "stack.yaml"]).code,
        0
    );
    let d = w.run(&["destroy", "--auto-approve", "stack.yaml"]);
    assert_eq!(d.code, 0, "{}\n{}", d.stdout, d.stderr);
    assert_eq!(proxy.seen("DeleteAddon"), 2);
}

/// The cluster's authentication mode moves forward in place and never back:
/// a plan back to the ConfigMap fails naming the rule, as does the creator's
/// admin flag after creation. (The proxy keeps what moto drops.)
#[test]
fn the_authentication_mode_moves_forward_only() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.url);
    let with = |mode: &str, bootstrap: bool| {
        stack_file("eks").replace(
            "    logging: [api, audit]\n",
            &format!(
                "    logging: [api, audit]\n    access_config: {{ authentication_mode: {mode}, bootstrap_cluster_creator_admin_permissions: {bootstrap} }}\n"
            ),
        )
    };
    let w = Workdir::new(&proxy.url, &with("API_AND_CONFIG_MAP", true));
    let r = w.run(&["apply", "--auto-approve", "stack.yaml"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(
        w.run(&["plan", "--detailed-exitcode", "stack.yaml"]).code,
        0
    );

    w.write_stack(&with("API", true));
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(
        plan.stdout
            .contains("# eks_cluster.main will be updated in place"),
        "{}",
        plan.stdout
    );
    let before = proxy.seen("UpdateClusterConfig");
    let r = w.run(&["apply", "--auto-approve", "stack.yaml"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(proxy.seen("UpdateClusterConfig") - before, 1);
    assert_eq!(
        w.run(&["plan", "--detailed-exitcode", "stack.yaml"]).code,
        0
    );

    w.write_stack(&with("API_AND_CONFIG_MAP", true));
    let back = w.run(&["plan", "stack.yaml"]);
    assert_eq!(back.code, 1, "{}\n{}", back.stdout, back.stderr);
    let all = format!("{}{}", back.stdout, back.stderr);
    assert!(
        all.contains("EKS cannot move authentication_mode from API back to API_AND_CONFIG_MAP"),
        "{all}"
    );
    w.write_stack(&with("API", false));
    let flag = w.run(&["plan", "stack.yaml"]);
    assert_eq!(flag.code, 1);
    assert!(
        format!("{}{}", flag.stdout, flag.stderr).contains(
            "bootstrap_cluster_creator_admin_permissions only when the cluster is created"
        ),
        "{}{}",
        flag.stdout,
        flag.stderr
    );
}
