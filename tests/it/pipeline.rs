//! The whole field-notes platform and its log pipeline against moto: Firehose to
//! S3, throttling that loses nothing, and buckets that keep their objects unless
//! told otherwise. Every check reads the emulator itself through the SDK.

use crate::support::{Moto, Proxy, Workdir, flat_stack, inventory, last_line, runtime};
use serde_json::json;

/// Resources the emulator holds, by kind, as a count.
pub(crate) fn census(moto: &Moto, proxy: &Proxy) -> Vec<(&'static str, usize)> {
    let rt = runtime();
    let eks = proxy.eks();
    let cluster = "enza-platform";
    let tagged =
        aws_sdk_ec2::types::Filter::builder().name("tag:infra:stack").values("platform").build();
    let ec2 = moto.ec2();
    let elb = moto.elbv2();
    let inv = inventory(moto);
    let count = |inv: &std::collections::BTreeMap<&str, std::collections::BTreeSet<String>>,
                 ty: &str| inv.get(ty).map_or(0, |ids| ids.len());
    vec![
        (
            "vpcs",
            rt.block_on(ec2.describe_vpcs().filters(tagged.clone()).send()).unwrap().vpcs().len(),
        ),
        (
            "subnets",
            rt.block_on(ec2.describe_subnets().filters(tagged.clone()).send())
                .unwrap()
                .subnets()
                .len(),
        ),
        (
            "security groups",
            rt.block_on(ec2.describe_security_groups().filters(tagged).send())
                .unwrap()
                .security_groups()
                .len(),
        ),
        ("internet gateways", count(&inv, "internet_gateway")),
        ("elastic ips", count(&inv, "elastic_ip")),
        ("nat gateways", count(&inv, "nat_gateway")),
        ("route tables", count(&inv, "route_table")),
        ("endpoints", count(&inv, "vpc_endpoint")),
        ("clusters", rt.block_on(moto.eks().list_clusters().send()).unwrap().clusters().len()),
        (
            "add-ons",
            rt.block_on(eks.list_addons().cluster_name(cluster).send()).unwrap().addons().len(),
        ),
        (
            "access entries",
            rt.block_on(eks.list_access_entries().cluster_name(cluster).send())
                .unwrap()
                .access_entries()
                .len(),
        ),
        (
            "access policies",
            rt.block_on(
                eks.list_associated_access_policies()
                    .cluster_name(cluster)
                    .principal_arn("arn:aws:iam::123456789012:role/platform-sre")
                    .send(),
            )
            .map_or(0, |o| o.associated_access_policies().len()),
        ),
        (
            "pod identities",
            rt.block_on(eks.list_pod_identity_associations().cluster_name(cluster).send())
                .unwrap()
                .associations()
                .len(),
        ),
        (
            "load balancers",
            rt.block_on(elb.describe_load_balancers().send()).unwrap().load_balancers().len(),
        ),
        (
            "target groups",
            rt.block_on(elb.describe_target_groups().send()).unwrap().target_groups().len(),
        ),
        ("buckets", rt.block_on(moto.s3().list_buckets().send()).unwrap().buckets().len()),
        (
            "repositories",
            rt.block_on(moto.ecr().describe_repositories().send()).unwrap().repositories().len(),
        ),
        (
            "streams",
            rt.block_on(moto.firehose().list_delivery_streams().send())
                .unwrap()
                .delivery_stream_names()
                .len(),
        ),
        (
            "launch templates",
            rt.block_on(ec2.describe_launch_templates().send()).unwrap().launch_templates().len(),
        ),
        (
            "alarms",
            rt.block_on(moto.cloudwatch().describe_alarms().send()).unwrap().metric_alarms().len(),
        ),
        ("kms keys", count(&inv, "kms_key")),
        ("kms aliases", count(&inv, "kms_alias")),
    ]
}

pub(crate) const FULL: [(&str, usize); 22] = [
    ("vpcs", 1),
    ("subnets", 4),
    ("security groups", 3),
    ("internet gateways", 1),
    ("elastic ips", 2),
    ("nat gateways", 2),
    ("route tables", 3),
    ("endpoints", 1),
    ("clusters", 1),
    ("add-ons", 4),
    ("access entries", 1),
    ("access policies", 1),
    ("pod identities", 1),
    ("load balancers", 1),
    ("target groups", 2),
    ("buckets", 1),
    ("repositories", 1),
    ("streams", 1),
    ("launch templates", 1),
    ("alarms", 1),
    ("kms keys", 1),
    ("kms aliases", 1),
];

#[test]
fn the_platform_applies_replans_to_no_changes_and_destroys_to_nothing() {
    let moto = Moto::start();
    // The proxy plays what moto lacks: add-ons, access entries, Pod Identity,
    // the cluster's access configuration and upgrade policy.
    let proxy = Proxy::start(&moto.url);
    let w = Workdir::new(&proxy.url, &flat_stack("platform"));
    let plan = w.run(&["plan", "stack.yaml"]);
    assert_eq!(last_line(&plan.stdout), "Plan: 47 to add, 0 to change, 0 to destroy.");
    let r = w.apply_ok();
    assert_eq!(census(&moto, &proxy), FULL);
    w.assert_no_changes();

    // Scaling the node group from 3 to 6 nodes says what that adds a month.
    let scaled = flat_stack("platform").replace("desired: 3 }", "desired: 6 }");
    assert_ne!(scaled, flat_stack("platform"));
    w.write_stack(&scaled);
    let plan = w.run(&["plan", "stack.yaml"]);
    let node = crate::cost::prices()["regions"]["ap-northeast-1"]["instances"]["m6i.large"]
        .as_f64()
        .unwrap()
        * 730.0;
    let (three, six) = (infra::cost::money(3.0 * node), infra::cost::money(6.0 * node));
    let line = plan
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("eks_nodegroup.app "))
        .unwrap_or_else(|| panic!("{}", plan.stdout));
    let delta = infra::cost::money(3.0 * node);
    assert!(line.contains(&format!("{three} -> {six} (+{delta})")), "{line}");
    assert!(
        plan.stdout
            .lines()
            .any(|l| l.trim_start().starts_with("total: ") && l.ends_with(&format!("(+{delta})"))),
        "{}",
        plan.stdout
    );
    let md = w.run(&["plan", "--format", "markdown", "stack.yaml"]);
    assert!(
        md.stdout.contains(&format!("`eks_nodegroup.app` costs **{delta} more a month**")),
        "under Needs attention: {}",
        md.stdout
    );
    w.write_stack(&flat_stack("platform"));
    w.assert_no_changes();

    let rt = runtime();
    // Pods' roles: the OIDC provider is the cluster's issuer, and each role
    // trusts one service account through it.
    // (The cluster's own issuer is the proxy's: moto gives every cluster one.)
    let issuer = rt
        .block_on(proxy.eks().describe_cluster().name("enza-platform").send())
        .unwrap()
        .cluster()
        .unwrap()
        .identity()
        .unwrap()
        .oidc()
        .unwrap()
        .issuer()
        .unwrap()
        .to_string();
    let providers = rt.block_on(moto.iam().list_open_id_connect_providers().send()).unwrap();
    let arn = providers.open_id_connect_provider_list()[0].arn().unwrap().to_string();
    let provider = rt
        .block_on(
            moto.iam().get_open_id_connect_provider().open_id_connect_provider_arn(&arn).send(),
        )
        .unwrap();
    assert_eq!(
        format!("https://{}", provider.url().unwrap()),
        issuer,
        "the provider's URL is the cluster's issuer"
    );
    assert_eq!(provider.client_id_list(), ["sts.amazonaws.com"]);
    let role =
        rt.block_on(moto.iam().get_role().role_name("platform-lb-controller").send()).unwrap();
    let trust: serde_json::Value = serde_json::from_str(
        &percent_encoding::percent_decode_str(
            role.role().unwrap().assume_role_policy_document().unwrap(),
        )
        .decode_utf8_lossy(),
    )
    .unwrap();
    // One statement (infra writes documents in canonical form: a list of one
    // as its one member).
    let statement = match &trust["Statement"] {
        serde_json::Value::Array(all) => &all[0],
        one => one,
    };
    assert_eq!(statement["Principal"]["Federated"], arn.as_str(), "{trust}");
    let host = issuer.trim_start_matches("https://");
    assert_eq!(
        statement["Condition"]["StringEquals"][format!("{host}:sub")],
        "system:serviceaccount:kube-system:aws-load-balancer-controller"
    );
    assert_eq!(statement["Condition"]["StringEquals"][format!("{host}:aud")], "sts.amazonaws.com");
    // The SRE role is let in and made admin of the whole cluster; the log
    // shipper's service account takes its role through Pod Identity.
    let eks = proxy.eks();
    let sre = rt
        .block_on(moto.iam().get_role().role_name("platform-sre").send())
        .unwrap()
        .role()
        .unwrap()
        .arn()
        .to_string();
    let entry = rt
        .block_on(
            eks.describe_access_entry().cluster_name("enza-platform").principal_arn(&sre).send(),
        )
        .unwrap();
    assert_eq!(entry.access_entry().unwrap().r#type(), Some("STANDARD"));
    let policies = rt
        .block_on(
            eks.list_associated_access_policies()
                .cluster_name("enza-platform")
                .principal_arn(&sre)
                .send(),
        )
        .unwrap();
    let admin = &policies.associated_access_policies()[0];
    assert_eq!(
        admin.policy_arn(),
        Some("arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy")
    );
    assert_eq!(
        admin.access_scope().unwrap().r#type(),
        Some(&aws_sdk_eks::types::AccessScopeType::Cluster)
    );
    let shipper = rt
        .block_on(
            eks.list_pod_identity_associations()
                .cluster_name("enza-platform")
                .namespace("logging")
                .service_account("fluent-bit")
                .send(),
        )
        .unwrap();
    assert_eq!(shipper.associations().len(), 1);
    let cluster = rt.block_on(eks.describe_cluster().name("enza-platform").send()).unwrap();
    let cluster = cluster.cluster().unwrap();
    assert_eq!(
        cluster.upgrade_policy().unwrap().support_type(),
        Some(&aws_sdk_eks::types::SupportType::Standard)
    );
    assert_eq!(
        cluster.access_config().unwrap().authentication_mode(),
        Some(&aws_sdk_eks::types::AuthenticationMode::ApiAndConfigMap)
    );
    // coredns was made after the node group it runs on.
    let line = |needle: &str| {
        r.stderr
            .lines()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no `{needle}` in\n{}", r.stderr))
    };
    assert!(
        line("eks_nodegroup.app: created") < line("eks_addon.coredns: creating"),
        "{}",
        r.stderr
    );
    // The log group had its retention before the cluster was asked for.
    assert!(
        line("cloudwatch_log_group.eks: created") < line("eks_cluster.main: creating"),
        "{}",
        r.stderr
    );
    let graph = w.run(&["graph", "stack.yaml"]).stdout;
    for edge in [
        "\"eks_nodegroup.app\" -> \"eks_addon.coredns\";",
        "\"cloudwatch_log_group.eks\" -> \"eks_cluster.main\";",
        "\"eks_access_entry.sre\" -> \"eks_access_policy_association.sre_admin\";",
    ] {
        assert!(graph.contains(edge), "{edge} in\n{graph}");
    }

    // The control-plane log group, made before the cluster, keeps 30 days.
    let groups = rt
        .block_on(
            moto.logs()
                .describe_log_groups()
                .log_group_name_prefix("/aws/eks/enza-platform/cluster")
                .send(),
        )
        .unwrap();
    assert_eq!(groups.log_groups()[0].retention_in_days(), Some(30));
    let lifecycle = rt
        .block_on(moto.ecr().get_lifecycle_policy().repository_name("enza/platform-app").send())
        .unwrap();
    assert!(
        lifecycle.lifecycle_policy_text().unwrap().contains("\"countNumber\":50"),
        "keep_last_images became a policy"
    );
    let rules = rt
        .block_on(
            moto.s3().get_bucket_lifecycle_configuration().bucket("enza-platform-logs").send(),
        )
        .unwrap();
    assert_eq!(rules.rules()[0].expiration().unwrap().days(), Some(90));
    let cors =
        rt.block_on(moto.s3().get_bucket_cors().bucket("enza-platform-logs").send()).unwrap();
    assert_eq!(cors.cors_rules()[0].allowed_origins(), ["https://games.example.com"]);

    // A record put into the stream lands in the bucket under the prefix.
    rt.block_on(
        moto.firehose()
            .put_record()
            .delivery_stream_name("enza-platform-app-logs")
            .record(
                aws_sdk_firehose::types::Record::builder()
                    .data(aws_smithy_types::Blob::new(
                        br#"{"level":"info","msg":"hello"}"#.to_vec(),
                    ))
                    .build()
                    .unwrap(),
            )
            .send(),
    )
    .unwrap();
    let objects =
        rt.block_on(moto.s3().list_objects_v2().bucket("enza-platform-logs").send()).unwrap();
    assert!(!objects.contents().is_empty(), "the record landed");
    assert!(
        objects.contents().iter().all(|o| o.key().unwrap().starts_with("app/")),
        "under the prefix"
    );

    // The buffering interval changes in place.
    w.write_stack(&flat_stack("platform").replace("interval_seconds: 300", "interval_seconds: 60"));
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(plan.stdout.contains("~ s3.buffering.interval_seconds: 300 -> 60"), "{}", plan.stdout);
    assert_eq!(last_line(&plan.stdout), "Plan: 0 to add, 1 to change, 0 to destroy.");
    assert_eq!(w.run(&["apply", "--auto-approve", "stack.yaml"]).code, 0);
    let d = rt
        .block_on(
            moto.firehose()
                .describe_delivery_stream()
                .delivery_stream_name("enza-platform-app-logs")
                .send(),
        )
        .unwrap();
    let dest = &d.delivery_stream_description().unwrap().destinations()[0];
    let s3dest = dest.extended_s3_destination_description().unwrap();
    let logging = s3dest.cloud_watch_logging_options().unwrap();
    assert_eq!(logging.log_group_name(), Some("/aws/firehose/enza-platform"));
    let hints = s3dest.buffering_hints().unwrap();
    assert_eq!(hints.interval_in_seconds(), Some(60));
    w.assert_no_changes();

    // The bucket holds a log object and force_destroy is off: destroy fails clearly
    // for the bucket and leaves it with its objects.
    let d = w.run(&["destroy", "--auto-approve", "stack.yaml"]);
    assert_eq!(d.code, 1, "{}\n{}", d.stdout, d.stderr);
    assert!(
        d.stdout.contains("failed: s3_bucket.logs: bucket enza-platform-logs is not empty"),
        "{}",
        d.stdout
    );
    assert!(d.stdout.contains("set `force_destroy: true`"), "{}", d.stdout);
    let objects =
        rt.block_on(moto.s3().list_objects_v2().bucket("enza-platform-logs").send()).unwrap();
    assert!(!objects.contents().is_empty(), "the objects are still there");

    // With force_destroy it empties the bucket and deletes it; nothing is left.
    let forced = flat_stack("platform")
        .replace("    versioning: true\n", "    versioning: true\n    force_destroy: true\n");
    w.write_stack(&forced);
    assert_eq!(w.run(&["apply", "--auto-approve", "stack.yaml"]).code, 0);
    let d = w.run(&["destroy", "--auto-approve", "stack.yaml"]);
    assert_eq!(d.code, 0, "{}\n{}", d.stdout, d.stderr);
    assert!(census(&moto, &proxy).iter().all(|(_, n)| *n == 0), "{:?}", census(&moto, &proxy));
}

#[test]
fn the_platform_applies_with_a_third_of_all_calls_throttled() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.url);
    // A third of all calls at random, and the bucket's tagging once for sure:
    // a bucket is made in a handful of S3 calls, which chance alone may spare.
    proxy.rules(json!([
        {"op": "PUT /enza-platform-logs/?tagging", "action": "error", "times": 1},
        {"op": "*", "action": "error", "status": 400, "code": "ThrottlingException",
         "message": "Rate exceeded", "probability": 0.3}
    ]));
    let w = Workdir::new(&proxy.url, &flat_stack("platform"));
    let r = w.run(&["apply", "-v", "--auto-approve", "stack.yaml"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let retried: u64 = r
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("AWS calls retried after throttling or transient errors: "))
        .and_then(|n| n.trim_end_matches('.').parse().ok())
        .unwrap_or_else(|| panic!("the summary counts retries:\n{}", r.stdout));
    assert!(retried > 10, "{retried}");
    assert!(r.stderr.contains("retrying "), "retries show in -v logs");
    assert!(
        r.stderr.contains("aws_sdk_s3: throttled (HTTP 503), slowing to"),
        "S3's SlowDown slows the S3 client's pace"
    );
    // Nothing duplicated, nothing missing (counted with the faults off).
    proxy.rules(json!([]));
    assert_eq!(census(&moto, &proxy), FULL);
    w.assert_no_changes();
}
