//! The EKS part of the platform against moto, through the fault-injecting proxy
//! where moto falls short (version updates, clusters that take time). Every check
//! reads the emulator itself through the SDK.

use crate::support::{
    Moto, Proxy, Workdir, cutover_stack, flat_stack, kill_at, last_line, runtime, stack_file,
};
use serde_json::json;

fn cluster(moto: &Moto) -> Option<aws_sdk_eks::types::Cluster> {
    let rt = runtime();
    let names = rt.block_on(moto.eks().list_clusters().send()).unwrap();
    let name = names.clusters().first()?.clone();
    rt.block_on(moto.eks().describe_cluster().name(name).send()).unwrap().cluster().cloned()
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
    n.nodegroup().unwrap().scaling_config().unwrap().desired_size().unwrap()
}

#[test]
fn the_eks_platform_applies_scales_upgrades_and_destroys_in_order() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.url);
    let w = Workdir::new(&proxy.url, &flat_stack("eks"));
    let plan = w.run(&["plan", "stack.yaml"]);
    assert_eq!(last_line(&plan.stdout), "Plan: 19 to add, 0 to change, 0 to destroy.");
    // stderr says where the state and lock are, and nothing more.
    assert!(
        plan.stderr.lines().all(|l| l.starts_with("state: local file")),
        "the safe defaults raise no warning: {}",
        plan.stderr
    );
    w.apply_ok();

    // What the emulator holds.
    let c = cluster(&moto).expect("a cluster");
    assert_eq!(c.name(), Some("enza-staging"));
    assert_eq!(c.version(), Some("1.30"));
    assert!(c.role_arn().unwrap().ends_with(":role/eks-cluster"));
    assert_eq!(c.resources_vpc_config().unwrap().subnet_ids().len(), 2);
    let rt = runtime();
    let iam = moto.iam();
    let attached =
        rt.block_on(iam.list_attached_role_policies().role_name("eks-nodes").send()).unwrap();
    let mut arns: Vec<&str> =
        attached.attached_policies().iter().filter_map(|p| p.policy_arn()).collect();
    arns.sort();
    assert_eq!(
        arns,
        [
            "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
            "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
            "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
        ]
    );
    let lts = rt.block_on(moto.ec2().describe_launch_templates().send()).unwrap();
    let lt = lts.launch_templates()[0].launch_template_id().unwrap().to_string();
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
    // The nodes carry the node security group (the launch template's data,
    // as moto keeps it).
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("state/eks.json")).unwrap()).unwrap();
    let nodes_sg = state["resources"]["security_group.nodes"]["id"].as_str().unwrap();
    let data = v.launch_template_versions()[0].launch_template_data().unwrap();
    assert_eq!(data.security_group_ids(), [nodes_sg]);
    // CreateLaunchTemplate carries the create's idempotency token (a UUID,
    // within EC2's 64 characters).
    let tokens: Vec<String> = proxy
        .bodies("CreateLaunchTemplate")
        .iter()
        .filter_map(|b| {
            b.split('&').find_map(|kv| kv.strip_prefix("ClientToken=")).map(str::to_string)
        })
        .collect();
    assert_eq!(tokens.len(), 1, "{:?}", proxy.bodies("CreateLaunchTemplate"));
    assert!(tokens[0].len() == 36 && uuid::Uuid::parse_str(&tokens[0]).is_ok(), "{tokens:?}");
    assert_eq!(desired_size(&moto), 3);
    let again = w.run(&["plan", "--detailed-exitcode", "stack.yaml"]);
    assert_eq!(again.code, 0, "{}", again.stdout);

    // Scaling changes in place.
    let scaled = flat_stack("eks").replace("desired: 3 }", "desired: 5 }");
    w.write_stack(&scaled);
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(
        plan.stdout.contains("# eks_nodegroup.app will be updated in place"),
        "{}",
        plan.stdout
    );
    assert_eq!(last_line(&plan.stdout), "Plan: 0 to add, 1 to change, 0 to destroy.");
    assert_eq!(w.run(&["apply", "--auto-approve", "stack.yaml"]).code, 0);
    assert_eq!(desired_size(&moto), 5);
    w.assert_no_changes();

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
    assert!(plan.stdout.contains("~ version: \"1.30\" -> \"1.31\""), "{}", plan.stdout);
    assert_eq!(last_line(&plan.stdout), "Plan: 0 to add, 1 to change, 0 to destroy.");
    let up = w.run(&["apply", "--auto-approve", "stack.yaml"]);
    assert_eq!(up.code, 0, "{}\n{}", up.stdout, up.stderr);
    assert_eq!(proxy.count("UpdateClusterVersion"), 1);
    assert!(proxy.count("DescribeUpdate") >= 1, "the update was waited for");
    assert_eq!(cluster(&moto).unwrap().arn(), c.arn(), "the same cluster");
    w.assert_no_changes();

    // A launch template change is a new default version, and the node group moves
    // to it in place (UpdateNodegroupVersion, played by the proxy).
    let bigger =
        scaled.replace("\"1.30\"", "\"1.31\"").replace("volume_size: 50", "volume_size: 80");
    w.write_stack(&bigger);
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(
        plan.stdout.contains("# launch_template.nodes will be updated in place"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("# eks_nodegroup.app will be updated in place"),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("(known after apply)"), "{}", plan.stdout);
    assert_eq!(last_line(&plan.stdout), "Plan: 0 to add, 2 to change, 0 to destroy.");
    w.apply_ok();
    let lts = rt.block_on(moto.ec2().describe_launch_templates().send()).unwrap();
    assert_eq!(lts.launch_templates()[0].default_version_number(), Some(2));
    assert_eq!(proxy.count("UpdateNodegroupVersion"), 1);
    w.assert_no_changes();

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
    assert!(plan.stdout.contains("~ endpoint_public_access: false -> true"), "{}", plan.stdout);
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
    w.assert_no_changes();

    // Back to a private endpoint with the CIDRs left in the file: AWS keeps
    // none for a private endpoint, so they are no change, now or after.
    w.write_stack(&bigger.replace(
        "logging: [api, audit]",
        "logging: [api, audit, scheduler]\n    endpoint_public_access: false\n    public_access_cidrs: [203.0.113.0/24]",
    ));
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(plan.stdout.contains("~ endpoint_public_access: true -> false"), "{}", plan.stdout);
    assert!(!plan.stdout.contains("public_access_cidrs"), "{}", plan.stdout);
    assert!(plan.stderr.contains("AWS keeps no CIDRs for a private endpoint"), "{}", plan.stderr);
    assert_eq!(w.run(&["apply", "--auto-approve", "stack.yaml"]).code, 0);
    assert!(!cluster(&moto).unwrap().resources_vpc_config().unwrap().endpoint_public_access());
    w.assert_no_changes();

    // Destroy: node group before cluster, cluster before its role and groups.
    let d = w.run(&["destroy", "--auto-approve", "stack.yaml"]);
    assert_eq!(d.code, 0, "{}\n{}", d.stdout, d.stderr);
    let at = |line: &str| d.stderr.find(line).unwrap_or_else(|| panic!("{line} in:\n{}", d.stderr));
    assert!(at("eks_nodegroup.app: destroyed") < at("eks_cluster.main: destroying"));
    assert!(at("eks_cluster.main: destroyed") < at("iam_role.cluster: destroying"));
    assert!(at("eks_cluster.main: destroyed") < at("security_group.cluster: destroying"));
    assert!(cluster(&moto).is_none());
    let roles = rt.block_on(iam.list_roles().send()).unwrap();
    assert!(roles.roles().iter().all(|r| !r.role_name().starts_with("eks-")), "roles are gone");
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
    let w = Workdir::new(&proxy.url, &flat_stack("eks"));
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
    assert!(w.path("state/eks.json.lock").exists(), "a killed run leaves its lock");

    // The rerun takes over the dead run's lock, waits instead of creating again.
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(
        plan.stdout.contains("# eks_cluster.main is still being created in AWS"),
        "{}",
        plan.stdout
    );
    assert!(plan.stderr.contains("taking over the lock"), "{}", plan.stderr);
    let r = w.apply_ok();
    assert!(
        r.stderr.contains("eks_cluster.main: ready (the wait an earlier apply left: create)"),
        "{}",
        r.stderr
    );
    assert_eq!(proxy.count("CreateCluster"), 1, "created once");
    let rt = runtime();
    assert_eq!(rt.block_on(moto.eks().list_clusters().send()).unwrap().clusters().len(), 1);
    w.assert_no_changes();
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
        "security_group.ssh: ingress open to the internet on 22 (not 80 or 443): from 0.0.0.0/0",
        "s3_bucket.open: the bucket's public access block is off",
        "launch_template.nodes: instance metadata without IMDSv2",
        "launch_template.nodes: a hop limit below 2 keeps pods from reaching instance metadata",
        "eks_cluster.main: the cluster endpoint is public to the internet (0.0.0.0/0",
        "eks_cluster.main: upgrade_policy is left out",
    ] {
        let found = if expected.ends_with("warning") {
            r.stderr.contains("warning: stack.yaml:10:9:")
        } else {
            r.stderr.contains(expected)
        };
        assert!(found, "{expected} in:\n{}", r.stderr);
    }
    assert_eq!(r.stderr.matches("warning: ").count(), 6, "{}", r.stderr);
    let strict = w.run(&["validate", "--strict", "stack.yaml"]);
    assert_eq!(strict.code, 1);
    assert_eq!(strict.stderr.matches("error: stack.yaml").count(), 6, "{}", strict.stderr);
    let strict_plan = w.run(&["plan", "--strict", "stack.yaml"]);
    assert_eq!(strict_plan.code, 1);
    assert!(!w.path("state").exists(), "refused before any state or AWS call");

    // The shipped stacks, on the safe defaults, raise none.
    for (name, text) in
        [("demo", stack_file("demo")), ("cutover", cutover_stack()), ("eks", flat_stack("eks"))]
    {
        let w = Workdir::new("http://127.0.0.1:9", &text);
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
    proxy.rules(json!([not_yet("CreateCluster"), not_yet("CreateNodegroup")]));
    let w = Workdir::new(&proxy.url, &flat_stack("eks"));
    w.apply_ok();
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
    let w = Workdir::new(&proxy.url, &flat_stack("eks"));
    w.apply_ok();

    let release = |v: &str| {
        flat_stack("eks").replace(
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
    w.apply_ok();
    // moto has no UpdateNodegroupVersion: the proxy plays it, and what infra
    // read back through the proxy is in state.
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("state/eks.json")).unwrap()).unwrap();
    assert_eq!(
        state["resources"]["eks_nodegroup.app"]["attributes"]["release_version"],
        "1.30.4-20240917"
    );
    w.assert_no_changes();

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
    // The next plan reports how that update ended; the next apply, with the
    // budget no longer in the way, waits for the node group and tries again.
    let next = w.run(&["plan", "stack.yaml"]);
    assert!(
        next.stdout.contains("# eks_nodegroup.app: an earlier apply's update ended in an error")
            && next.stdout.contains("Needs attention:\n  ! eks_nodegroup.app: its update (since ")
            && next.stdout.contains("PodEvictionFailure: Reached max retries"),
        "{}",
        next.stdout
    );
    proxy.rules(json!([]));
    w.apply_ok();
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("state/eks.json")).unwrap()).unwrap();
    assert!(state["resources"]["eks_nodegroup.app"].get("pending").is_none(), "{state}");
    w.assert_no_changes();
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
            eks_without_outputs()
        )
    };
    let w = Workdir::new(&proxy.url, &with("shipper"));
    w.apply_ok();
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
    w.assert_no_changes();

    w.write_stack(&with("shipper_next"));
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(
        plan.stdout.contains("# eks_pod_identity_association.shipper will be updated in place"),
        "{}",
        plan.stdout
    );
    w.apply_ok();
    assert_eq!(proxy.seen("UpdatePodIdentityAssociation"), 1);
    assert_eq!(proxy.seen("CreatePodIdentityAssociation"), 1);
    assert_eq!(
        state()["resources"]["eks_pod_identity_association.shipper"]["attributes"]["role_arn"],
        state()["resources"]["iam_role.shipper_next"]["attributes"]["arn"]
    );
    w.assert_no_changes();
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
    preserve: true
",
            eks_without_outputs()
        )
    };
    let w = Workdir::new(
        &proxy.url,
        &with(r#"{"env": {"ENABLE_PREFIX_DELEGATION": "true", "WARM_PREFIX_TARGET": "1"}}"#),
    );
    let graph = w.run(&["graph", "stack.yaml"]);
    assert!(
        graph.stdout.contains("\"eks_nodegroup.app\" -> \"eks_addon.coredns\";"),
        "{}",
        graph.stdout
    );
    assert!(
        !graph.stdout.contains("\"eks_nodegroup.app\" -> \"eks_addon.vpc_cni\";"),
        "vpc-cni needs no nodes"
    );
    w.apply_ok();
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
    w.assert_no_changes();

    w.write_stack(&with(
        r#"{"env": {"ENABLE_PREFIX_DELEGATION": "true", "WARM_PREFIX_TARGET": "2"}}"#,
    ));
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(
        plan.stdout.contains("# eks_addon.vpc_cni will be updated in place"),
        "{}",
        plan.stdout
    );
    w.apply_ok();
    assert_eq!(proxy.seen("UpdateAddon"), 1);
    assert_eq!(proxy.seen("CreateAddon"), 2);
    // What runs is never reset by default: a create resolves no conflict
    // (NONE: a self-managed add-on's settings stand, or the create fails),
    // an update keeps what was changed on the cluster (PRESERVE).
    let conflicts = |op: &str| -> Vec<String> {
        proxy
            .bodies(op)
            .iter()
            .map(|b| {
                let v: serde_json::Value = serde_json::from_str(b).unwrap();
                v["resolveConflicts"].as_str().unwrap_or("(unset)").to_string()
            })
            .collect()
    };
    assert_eq!(conflicts("CreateAddon"), ["NONE", "NONE"]);
    assert_eq!(conflicts("UpdateAddon"), ["PRESERVE"]);
    w.assert_no_changes();
    let d = w.run(&["destroy", "--auto-approve", "stack.yaml"]);
    assert_eq!(d.code, 0, "{}\n{}", d.stdout, d.stderr);
    assert_eq!(proxy.seen("DeleteAddon"), 2);
    // coredns's objects are kept on the cluster (DeleteAddon --preserve);
    // vpc-cni's go with it.
    let mut deletes = proxy.bodies("DeleteAddon");
    deletes.sort();
    assert!(
        deletes[0].contains("/addons/coredns?preserve=true")
            && deletes[1].contains("/addons/vpc-cni?preserve=false"),
        "{deletes:?}"
    );
}

/// The cluster's authentication mode moves forward in place and never back:
/// a plan back to the ConfigMap fails naming the rule, as does the creator's
/// admin flag after creation. (The proxy keeps what moto drops.)
#[test]
fn the_authentication_mode_moves_forward_only() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.url);
    let with = |mode: &str, bootstrap: bool| {
        flat_stack("eks").replace(
            "    logging: [api, audit]\n",
            &format!(
                "    logging: [api, audit]\n    access_config: {{ authentication_mode: {mode}, bootstrap_cluster_creator_admin_permissions: {bootstrap} }}\n"
            ),
        )
    };
    let w = Workdir::new(&proxy.url, &with("API_AND_CONFIG_MAP", true));
    w.apply_ok();
    w.assert_no_changes();

    w.write_stack(&with("API", true));
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(plan.stdout.contains("# eks_cluster.main will be updated in place"), "{}", plan.stdout);
    let before = proxy.seen("UpdateClusterConfig");
    w.apply_ok();
    assert_eq!(proxy.seen("UpdateClusterConfig") - before, 1);
    w.assert_no_changes();

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

/// The eks stack without its outputs (its last block), so that a test can
/// append resources.
fn eks_without_outputs() -> String {
    let base = flat_stack("eks");
    let at = base
        .find("\n# What stacks/cutover.yaml reads")
        .expect("stacks/eks.yaml ends with its outputs");
    format!("{}\n", &base[..at])
}

/// The eks stack with `extra` appended under `resources:`.
fn eks_with(extra: &str) -> String {
    format!("{}{extra}", eks_without_outputs())
}

/// Access entries and access policies (played by the proxy: moto has none): a
/// role is let in with its groups, made admin of one namespace; new groups and
/// a wider scope change in place; another policy replaces the association;
/// destroy takes the policy away before the entry.
#[test]
fn access_entries_let_a_role_in_and_policies_scope_what_it_may_do() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.url);
    let with = |groups: &str, policy: &str, scope: &str| {
        eks_with(&format!(
            "
  iam_role.sre:
    assume_role_service: ec2.amazonaws.com
  eks_access_entry.sre:
    cluster_name: ${{eks_cluster.main.name}}
    principal_arn: ${{iam_role.sre.arn}}
    kubernetes_groups: [{groups}]
  eks_access_policy_association.sre:
    cluster_name: ${{eks_cluster.main.name}}
    principal_arn: ${{iam_role.sre.arn}}
    policy_arn: arn:aws:eks::aws:cluster-access-policy/{policy}
    access_scope: {scope}
"
        ))
    };
    let w = Workdir::new(
        &proxy.url,
        &with("oncall", "AmazonEKSAdminPolicy", "{ type: namespace, namespaces: [game] }"),
    );
    let graph = w.run(&["graph", "stack.yaml"]);
    assert!(
        graph.stdout.contains("\"eks_access_entry.sre\" -> \"eks_access_policy_association.sre\";"),
        "a policy goes to an entry that exists:\n{}",
        graph.stdout
    );
    w.apply_ok();
    let rt = runtime();
    let eks = proxy.eks();
    let sre = rt
        .block_on(moto.iam().get_role().role_name("eks-sre").send())
        .unwrap()
        .role()
        .unwrap()
        .arn()
        .to_string();
    let entry = || {
        rt.block_on(
            eks.describe_access_entry().cluster_name("enza-staging").principal_arn(&sre).send(),
        )
        .unwrap()
        .access_entry()
        .unwrap()
        .clone()
    };
    let policies = || {
        rt.block_on(
            eks.list_associated_access_policies()
                .cluster_name("enza-staging")
                .principal_arn(&sre)
                .send(),
        )
        .unwrap()
        .associated_access_policies()
        .to_vec()
    };
    assert_eq!(entry().kubernetes_groups(), ["oncall"]);
    assert_eq!(entry().r#type(), Some("STANDARD"));
    assert_eq!(
        entry().tags().unwrap().get("infra:address").map(String::as_str),
        Some("eks_access_entry.sre")
    );
    let p = &policies()[0];
    assert_eq!(p.policy_arn(), Some("arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminPolicy"));
    assert_eq!(p.access_scope().unwrap().namespaces(), ["game"]);
    w.assert_no_changes();

    // New groups and a cluster-wide scope: both in place.
    w.write_stack(&with("oncall, deployers", "AmazonEKSAdminPolicy", "{ type: cluster }"));
    let plan = w.run(&["plan", "stack.yaml"]);
    assert_eq!(
        last_line(&plan.stdout),
        "Plan: 0 to add, 2 to change, 0 to destroy.",
        "{}",
        plan.stdout
    );
    w.apply_ok();
    assert_eq!(proxy.seen("UpdateAccessEntry"), 1);
    assert_eq!(proxy.seen("AssociateAccessPolicy"), 2);
    assert_eq!(proxy.seen("CreateAccessEntry"), 1);
    let mut groups = entry().kubernetes_groups().to_vec();
    groups.sort();
    assert_eq!(groups, ["deployers", "oncall"]);
    assert_eq!(
        policies()[0].access_scope().unwrap().r#type(),
        Some(&aws_sdk_eks::types::AccessScopeType::Cluster)
    );
    w.assert_no_changes();

    // Another policy is another association: the old one goes.
    w.write_stack(&with("oncall, deployers", "AmazonEKSClusterAdminPolicy", "{ type: cluster }"));
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(
        plan.stdout.contains("# eks_access_policy_association.sre must be replaced"),
        "{}",
        plan.stdout
    );
    w.apply_ok();
    let now: Vec<_> = policies().iter().map(|p| p.policy_arn().unwrap().to_string()).collect();
    assert_eq!(now, ["arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"]);
    w.assert_no_changes();

    let d = w.run(&["destroy", "--auto-approve", "stack.yaml"]);
    assert_eq!(d.code, 0, "{}\n{}", d.stdout, d.stderr);
    let line = |needle: &str| {
        d.stderr
            .lines()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no `{needle}` in\n{}", d.stderr))
    };
    assert!(
        line("eks_access_policy_association.sre: destroyed")
            < line("eks_access_entry.sre: destroying"),
        "{}",
        d.stderr
    );
    assert_eq!(proxy.seen("DisassociateAccessPolicy"), 2);
    assert_eq!(proxy.seen("DeleteAccessEntry"), 1);
}

/// A plan that moves the cluster to the next Kubernetes version asks AWS which
/// add-on versions it supports, and puts each add-on that would be left
/// unsupported under "Needs attention" in the pull-request comment; an add-on
/// moved along in the same plan is not flagged; a plan with no version change
/// asks nothing.
#[test]
fn a_version_bump_flags_the_add_ons_it_leaves_unsupported() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.url);
    let with = |cluster: &str, coredns: &str| {
        eks_with(&format!(
            "
  eks_addon.coredns:
    cluster_name: ${{eks_cluster.main.name}}
    name: coredns
    version: {coredns}
  eks_addon.kube_proxy:
    cluster_name: ${{eks_cluster.main.name}}
    name: kube-proxy
  eks_addon.vpc_cni:
    cluster_name: ${{eks_cluster.main.name}}
    name: vpc-cni
"
        ))
        .replace("version: \"1.30\"", &format!("version: \"{cluster}\""))
    };
    let w = Workdir::new(&proxy.url, &with("1.30", "v1.10.1-eksbuild.13"));
    w.apply_ok();
    w.assert_no_changes();
    assert_eq!(proxy.seen("DescribeAddonVersions"), 0, "no version change, nothing asked");

    w.write_stack(&with("1.31", "v1.10.1-eksbuild.13"));
    let md = w.run(&["plan", "--format", "markdown", "stack.yaml"]);
    assert_eq!(md.code, 0, "{}\n{}", md.stdout, md.stderr);
    let attention =
        md.stdout.split("**Needs attention**").nth(1).unwrap_or_else(|| panic!("{}", md.stdout));
    let attention = attention.split("\n\n").next().unwrap_or_default();
    assert!(
        attention.contains("`eks_addon.coredns`: coredns v1.10.1-eksbuild.13 does not support Kubernetes 1.31, which eks_cluster.main moves to; set its version to one that does (v1.11.3-eksbuild.2)"),
        "{attention}"
    );
    assert!(
        attention.contains(
            "`eks_addon.kube_proxy`: kube-proxy v1.30.6-eksbuild.3 does not support Kubernetes 1.31"
        ),
        "the version it runs counts where the stack names none: {attention}"
    );
    assert!(!attention.contains("vpc_cni"), "{attention}");
    assert_eq!(proxy.seen("DescribeAddonVersions"), 3);
    let text = w.run(&["plan", "stack.yaml"]);
    assert!(
        text.stdout.contains("Needs attention:\n  ! eks_nodegroup.app: stays at Kubernetes 1.30")
            && text.stdout.contains("\n  ! eks_addon.coredns: coredns v1.10.1-eksbuild.13 does not support Kubernetes 1.31"),
        "{}",
        text.stdout
    );

    // coredns moved along in the same plan is not flagged.
    w.write_stack(&with("1.31", "v1.11.3-eksbuild.2"));
    let md = w.run(&["plan", "--format", "markdown", "stack.yaml"]);
    assert!(!md.stdout.contains("`eks_addon.coredns`: coredns"), "{}", md.stdout);
    w.apply_ok();
    w.assert_no_changes();
}

/// The upgrade policy is in place (UpdateClusterConfig) and kept by the proxy
/// where moto drops it; left out, a lint says what extended support costs.
#[test]
fn the_upgrade_policy_changes_in_place_and_leaving_it_out_is_a_lint() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.url);
    let w = Workdir::new(&proxy.url, &flat_stack("eks"));
    w.apply_ok();
    let policy = || {
        runtime()
            .block_on(proxy.eks().describe_cluster().name("enza-staging").send())
            .unwrap()
            .cluster()
            .unwrap()
            .upgrade_policy()
            .unwrap()
            .support_type()
            .cloned()
    };
    assert_eq!(policy(), Some(aws_sdk_eks::types::SupportType::Standard));
    w.assert_no_changes();
    w.write_stack(
        &flat_stack("eks").replace("upgrade_policy: STANDARD", "upgrade_policy: EXTENDED"),
    );
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(
        plan.stdout.contains("~ upgrade_policy: \"STANDARD\" -> \"EXTENDED\""),
        "{}",
        plan.stdout
    );
    let before = proxy.seen("UpdateClusterConfig");
    w.apply_ok();
    assert_eq!(proxy.seen("UpdateClusterConfig") - before, 1);
    assert_eq!(policy(), Some(aws_sdk_eks::types::SupportType::Extended));

    // Left out: not managed (no change), and the lint says what it costs.
    w.write_stack(&flat_stack("eks").replace("    upgrade_policy: STANDARD\n", ""));
    let plan = w.run(&["plan", "--detailed-exitcode", "stack.yaml"]);
    assert_eq!(plan.code, 0, "{}", plan.stdout);
    assert!(
        plan.stderr.contains("upgrade_policy is left out")
            && plan.stderr.contains("$0.60 an hour instead of $0.10"),
        "{}",
        plan.stderr
    );
    let strict = w.run(&["validate", "--strict", "stack.yaml"]);
    assert_eq!(strict.code, 1);
}

/// Two clusters, each with its own OIDC issuer (the proxy gives each one, as
/// AWS does; moto gives every cluster the same), so each gets its IAM OIDC
/// provider. `bootstrap_self_managed_addons: false` is asked at create and
/// kept: DescribeCluster never reports it, and a re-plan has no changes.
#[test]
fn each_cluster_has_its_own_issuer_and_bootstrap_is_asked_at_create() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.url);
    let w = Workdir::new(
        &proxy.url,
        &eks_with(
            "
  eks_cluster.second:
    name: enza-second
    version: \"1.30\"
    upgrade_policy: STANDARD
    role_arn: ${iam_role.cluster.arn}
    subnet_ids: ${subnet.private[*].id}
    bootstrap_self_managed_addons: false
  iam_oidc_provider.main:
    url: ${eks_cluster.main.oidc_issuer}
  iam_oidc_provider.second:
    url: ${eks_cluster.second.oidc_issuer}
",
        ),
    );
    w.apply_ok();
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("state/eks.json")).unwrap()).unwrap();
    let issuer =
        |c: &str| state["resources"][c]["attributes"]["oidc_issuer"].as_str().unwrap().to_string();
    assert_ne!(issuer("eks_cluster.main"), issuer("eks_cluster.second"));
    let providers = runtime().block_on(moto.iam().list_open_id_connect_providers().send()).unwrap();
    assert_eq!(providers.open_id_connect_provider_list().len(), 2);
    let creates: Vec<serde_json::Value> =
        proxy.bodies("CreateCluster").iter().map(|b| serde_json::from_str(b).unwrap()).collect();
    let asked = |name: &str| {
        creates.iter().find(|c| c["name"] == name).unwrap()["bootstrapSelfManagedAddons"].clone()
    };
    assert_eq!((asked("enza-staging"), asked("enza-second")), (json!(true), json!(false)));
    assert_eq!(
        state["resources"]["eks_cluster.second"]["attributes"]["bootstrap_self_managed_addons"],
        json!(false)
    );
    w.assert_no_changes();
    // A change of it replaces the cluster.
    w.write_stack(
        &std::fs::read_to_string(w.path("stack.yaml"))
            .unwrap()
            .replace("bootstrap_self_managed_addons: false", "bootstrap_self_managed_addons: true"),
    );
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(plan.stdout.contains("# eks_cluster.second must be replaced"), "{}", plan.stdout);
}

/// Living with an autoscaler: with `ignore_changes: [scaling.desired]`, a
/// desired size changed outside infra plans `No changes.`, drift shows it
/// marked ignored (and `infra drift` exits 0), and an unrelated change leaves
/// it as the autoscaler set it. A node group that leaves `desired` out starts
/// at `min` and is then the same.
#[test]
fn an_ignored_desired_size_is_the_autoscalers() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.url);
    let ignoring = flat_stack("eks").replace(
        "    labels: { role: app }\n",
        "    labels: { role: app }\n    ignore_changes: [scaling.desired]\n",
    );
    assert_ne!(ignoring, flat_stack("eks"));
    let w = Workdir::new(&proxy.url, &ignoring);
    w.apply_ok();
    assert_eq!(desired_size(&moto), 3);
    let rt = runtime();
    let scale = |n: i32| {
        rt.block_on(
            moto.eks()
                .update_nodegroup_config()
                .cluster_name("enza-staging")
                .nodegroup_name("eks-app")
                .scaling_config(
                    aws_sdk_eks::types::NodegroupScalingConfig::builder()
                        .min_size(2)
                        .max_size(10)
                        .desired_size(n)
                        .build(),
                )
                .send(),
        )
        .unwrap();
    };
    scale(10);
    let plan = w.run(&["plan", "--detailed-exitcode", "stack.yaml"]);
    assert_eq!(plan.code, 0, "{}", plan.stdout);
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);
    assert!(plan.stdout.contains("(ignored: ignore_changes)"), "{}", plan.stdout);
    let drift = w.run(&["drift", "stack.yaml"]);
    assert_eq!(drift.code, 0, "ignored drift is no reason to act: {}", drift.stdout);
    assert!(drift.stdout.contains("~ eks_nodegroup.app"), "{}", drift.stdout);
    assert!(
        drift.stdout.contains("desired: 3 } -> { min: 2, max: 10, desired: 10 }"),
        "{}",
        drift.stdout
    );
    assert!(drift.stdout.contains("(ignored: ignore_changes)"), "{}", drift.stdout);
    let json = w.run(&["drift", "--format", "json", "stack.yaml"]);
    let report: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(report["drift"][0]["values"][0]["ignored"], json!(true), "{report}");

    // An unrelated change leaves the autoscaler's size alone.
    w.write_stack(&ignoring.replace("labels: { role: app }", "labels: { role: app, tier: web }"));
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(
        plan.stdout.contains("# eks_nodegroup.app will be updated in place"),
        "{}",
        plan.stdout
    );
    let actions = plan.stdout.split("will perform these actions").nth(1).unwrap();
    assert!(!actions.contains("scaling"), "the size is not in the change: {}", plan.stdout);
    w.apply_ok();
    assert_eq!(desired_size(&moto), 10);
    w.assert_no_changes();

    // Without the ignore, the stack's size is put back.
    w.write_stack(
        &flat_stack("eks").replace("labels: { role: app }", "labels: { role: app, tier: web }"),
    );
    let plan = w.run(&["plan", "stack.yaml"]);
    let actions = plan.stdout.split("will perform these actions").nth(1).unwrap();
    assert!(actions.contains("~ scaling.desired: 10 -> 3"), "{}", plan.stdout);

    // Left out, desired starts at min and is not managed afterwards.
    let unset = flat_stack("eks")
        .replace("scaling: { min: 2, max: 10, desired: 3 }", "scaling: { min: 2, max: 10 }")
        .replace("labels: { role: app }", "labels: { role: app, tier: web }");
    w.write_stack(&unset);
    w.assert_no_changes();
    let bad = w.run(&["validate", "stack.yaml"]);
    assert_eq!(bad.code, 0);
    w.write_stack(&ignoring.replace("[scaling.desired]", "[scaling.wanted]"));
    let bad = w.run(&["validate", "stack.yaml"]);
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr
            .contains("ignore_changes: `scaling` has no field `wanted` (it has min, max, desired)"),
        "{}",
        bad.stderr
    );
}

/// A new node group whose stack leaves `desired` out is made at `min`.
#[test]
fn a_node_group_without_a_desired_size_starts_at_its_minimum() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.url);
    let unset = flat_stack("eks")
        .replace("scaling: { min: 2, max: 10, desired: 3 }", "scaling: { min: 2, max: 10 }");
    let w = Workdir::new(&proxy.url, &unset);
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(plan.stdout.contains("desired"), "{}", plan.stdout);
    w.apply_ok();
    assert_eq!(desired_size(&moto), 2);
    w.assert_no_changes();
}

/// Node groups keep up with the cluster: a bump from 1.32 to 1.33 that leaves
/// the node group at 1.32 is flagged in the markdown plan; the next bump is
/// refused until the node group is at 1.33, which its version update rolls
/// it to; a node group asked ahead of its cluster is refused.
#[test]
fn node_groups_keep_up_with_the_cluster() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.url);
    let at = |cluster: &str, nodes: Option<&str>| {
        let text =
            flat_stack("eks").replace("version: \"1.30\"", &format!("version: \"{cluster}\""));
        match nodes {
            Some(v) => text.replace(
                "    labels: { role: app }\n",
                &format!("    labels: {{ role: app }}\n    version: \"{v}\"\n"),
            ),
            None => text,
        }
    };
    let w = Workdir::new(&proxy.url, &at("1.32", None));
    w.apply_ok();
    let state = || -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(w.path("state/eks.json")).unwrap()).unwrap()
    };
    assert_eq!(state()["resources"]["eks_nodegroup.app"]["attributes"]["version"], "1.32");

    w.write_stack(&at("1.33", None));
    let md = w.run(&["plan", "--format", "markdown", "stack.yaml"]);
    assert_eq!(md.code, 0, "{}", md.stderr);
    assert!(md.stdout.contains("Needs attention"), "{}", md.stdout);
    assert!(
        md.stdout.contains(
            "stays at Kubernetes 1.32, one minor behind eks_cluster.main, which moves to 1.33"
        ),
        "{}",
        md.stdout
    );
    w.apply_ok();

    // The next bump is what EKS refuses while the nodes are behind.
    w.write_stack(&at("1.34", None));
    let refused = w.run(&["plan", "stack.yaml"]);
    assert_eq!(refused.code, 1, "{}", refused.stdout);
    assert!(
        refused.stderr.contains(
            "eks_cluster.main cannot move from 1.33 to 1.34 while eks_nodegroup.app runs Kubernetes 1.32"
        ),
        "{}",
        refused.stderr
    );
    // Nor may the nodes run ahead of the control plane.
    w.write_stack(&at("1.33", Some("1.34")));
    let ahead = w.run(&["plan", "stack.yaml"]);
    assert_eq!(ahead.code, 1);
    assert!(ahead.stderr.contains("Kubernetes 1.34 is ahead of its cluster"), "{}", ahead.stderr);

    // The node group's version update rolls it.
    w.write_stack(&at("1.33", Some("1.33")));
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(plan.stdout.contains("~ version: \"1.32\" -> \"1.33\""), "{}", plan.stdout);
    assert!(plan.stdout.contains("rolls 3 nodes, 1 at a time"), "{}", plan.stdout);
    w.apply_ok();
    let bodies = proxy.bodies("UpdateNodegroupVersion");
    assert!(bodies.iter().any(|b| b.contains("\"version\":\"1.33\"")), "{bodies:?}");
    assert_eq!(state()["resources"]["eks_nodegroup.app"]["attributes"]["version"], "1.33");
    w.assert_no_changes();
}

/// Versions found, not pasted: the node group's AMI release from AWS's public
/// SSM parameter, the add-on's version from DescribeAddonVersions (AWS's
/// default, or the most recent); a parameter that does not exist stops the
/// plan at the lookup.
#[test]
fn versions_are_looked_up_from_ssm_and_the_addon_catalog() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.url);
    let stack = eks_with(
        "
  eks_addon.vpc_cni:
    cluster_name: ${eks_cluster.main.name}
    name: vpc-cni
    version: ${data.eks_addon_version.cni.version}

data:
  ssm_parameter.al2023:
    name: /aws/service/eks/optimized-ami/1.30/amazon-linux-2023/x86_64/standard/recommended/release_version
  eks_addon_version.cni: { addon_name: vpc-cni, kubernetes_version: \"1.32\" }
  eks_addon_version.cni_newest: { addon_name: vpc-cni, kubernetes_version: \"1.32\", most_recent: true }

outputs:
  newest_cni: ${data.eks_addon_version.cni_newest.version}
",
    )
    .replace(
        "    labels: { role: app }\n",
        "    labels: { role: app }\n    release_version: ${data.ssm_parameter.al2023.value}\n",
    );
    let w = Workdir::new(&proxy.url, &stack);
    w.apply_ok();
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("state/eks.json")).unwrap()).unwrap();
    let attrs = |a: &str| state["resources"][a]["attributes"].clone();
    assert_eq!(attrs("eks_nodegroup.app")["release_version"], "1.30.8-20251120");
    assert_eq!(attrs("eks_addon.vpc_cni")["version"], "v1.19.0-eksbuild.1", "AWS's default");
    assert_eq!(state["outputs"]["newest_cni"]["value"], "v1.20.4-eksbuild.2");
    assert!(proxy.seen("GetParameter") >= 1);
    w.assert_no_changes();

    let missing = stack.replace("/1.30/amazon-linux-2023", "/1.99/amazon-linux-2023");
    w.write_stack(&missing);
    let plan = w.run(&["plan", "stack.yaml"]);
    assert_eq!(plan.code, 1, "{}", plan.stdout);
    assert!(plan.stderr.contains("data.ssm_parameter.al2023"), "{}", plan.stderr);
}

/// A node group named from a `name_prefix` is replaced without an outage:
/// the new group, under a new name, is ACTIVE before the old one is deleted
/// (the proxy's record of the node groups' lives says so), one is left at the
/// end, and an apply killed between the two resumes to exactly one.
#[test]
fn a_prefixed_node_group_is_replaced_create_then_delete() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.url);
    let with = |instance: &str| {
        flat_stack("eks")
            .replace(
                "    labels: { role: app }\n",
                "    labels: { role: app }\n    name_prefix: app-\n",
            )
            .replace("instance_types: [m6i.large]", &format!("instance_types: [{instance}]"))
            .replace(
                "  launch_template.nodes:\n",
                "  launch_template.nodes:\n    name_prefix: nodes-\n",
            )
            .replace(
                "    description: EKS worker nodes\n",
                "    description: EKS worker nodes\n    name_prefix: nodes-\n",
            )
    };
    let w = Workdir::new(&proxy.url, &with("m6i.large"));
    w.apply_ok();
    // The launch template and the node group's security group are named from
    // their prefixes too.
    let rt = runtime();
    let lts = rt.block_on(moto.ec2().describe_launch_templates().send()).unwrap();
    let lt_name = lts.launch_templates()[0].launch_template_name().unwrap().to_string();
    assert!(lt_name.starts_with("nodes-") && lt_name.len() == 28, "{lt_name}");
    let sgs = rt.block_on(moto.ec2().describe_security_groups().send()).unwrap();
    assert!(
        sgs.security_groups()
            .iter()
            .any(|g| g.group_name().is_some_and(|n| n.starts_with("nodes-"))),
        "{sgs:?}"
    );
    let groups = || -> Vec<String> {
        let rt = runtime();
        let out =
            rt.block_on(moto.eks().list_nodegroups().cluster_name("enza-staging").send()).unwrap();
        out.nodegroups().to_vec()
    };
    let first = groups();
    assert_eq!(first.len(), 1);
    assert!(first[0].starts_with("app-") && first[0].len() == 26, "{first:?}");
    w.assert_no_changes();

    w.write_stack(&with("m6i.xlarge"));
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(plan.stdout.contains("eks_nodegroup.app must be replaced"), "{}", plan.stdout);
    assert!(
        plan.stdout.contains("a new group starts under a new name and is ACTIVE before the old one's 3 nodes are drained and deleted"),
        "{}",
        plan.stdout
    );
    // The new group takes a while to become ACTIVE.
    proxy.rules(
        json!([{"op": "DescribeNodegroup", "action": "status", "value": "CREATING", "times": 2}]),
    );
    let applied = w.apply_ok();
    eprintln!("{}", applied.stderr);
    let second = groups();
    assert_eq!(second.len(), 1, "{second:?}");
    assert_ne!(second, first);
    let log = proxy.nodegroup_log();
    let at = |op: &str, name: &str| log.iter().position(|(o, n, _)| o == op && n == name);
    let created = at("CreateNodegroup", &second[0]).expect("the new group was created");
    let deleted = at("DeleteNodegroup", &first[0]).expect("the old group was deleted");
    let active = log
        .iter()
        .position(|(o, n, s)| o == "DescribeNodegroup" && n == &second[0] && s == "ACTIVE")
        .expect("the new group was seen ACTIVE");
    assert!(created < active && active < deleted, "{log:#?}");
    w.assert_no_changes();

    // Killed between the two: the new group is made and recorded, the old
    // one's delete never reaches AWS. Both exist; the next apply deletes the
    // old one and nothing else.
    w.write_stack(&with("m6i.2xlarge"));
    proxy.rules(json!([{"op": "DeleteNodegroup", "action": "hang", "ms": 20000, "times": 1}]));
    kill_at(&w, &["apply", "--auto-approve", "stack.yaml"], "destroying the replaced object");
    let both = groups();
    assert_eq!(both.len(), 2, "{both:?}");
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("state/eks.json")).unwrap()).unwrap();
    let app = &state["resources"]["eks_nodegroup.app"];
    assert_eq!(app["deposed"][0]["id"], format!("enza-staging:{}", second[0]), "{app}");
    let third = app["id"].as_str().unwrap().trim_start_matches("enza-staging:").to_string();
    assert!(both.contains(&third), "{both:?} {third}");
    proxy.rules(json!([]));
    let resumed = w.run(&["apply", "--auto-approve", "stack.yaml"]);
    assert_eq!(resumed.code, 0, "{}\n{}", resumed.stdout, resumed.stderr);
    assert_eq!(groups(), [third]);
    w.assert_no_changes();
}
