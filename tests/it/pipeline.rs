//! The whole field-notes platform and its log pipeline against moto: Firehose to
//! S3, throttling that loses nothing, and buckets that keep their objects unless
//! told otherwise. Every check reads the emulator itself through the SDK.

use crate::support::{Moto, Proxy, Workdir, inventory, last_line, runtime, stack_file};
use serde_json::json;

/// Resources the emulator holds, by kind, as a count.
fn census(moto: &Moto) -> Vec<(&'static str, usize)> {
    let rt = runtime();
    let tagged = aws_sdk_ec2::types::Filter::builder()
        .name("tag:infra:stack")
        .values("platform")
        .build();
    let ec2 = moto.ec2();
    let elb = moto.elbv2();
    let inv = inventory(moto);
    let count = |inv: &std::collections::BTreeMap<&str, std::collections::BTreeSet<String>>,
                 ty: &str| inv.get(ty).map_or(0, |ids| ids.len());
    vec![
        (
            "vpcs",
            rt.block_on(ec2.describe_vpcs().filters(tagged.clone()).send())
                .unwrap()
                .vpcs()
                .len(),
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
        (
            "clusters",
            rt.block_on(moto.eks().list_clusters().send())
                .unwrap()
                .clusters()
                .len(),
        ),
        (
            "load balancers",
            rt.block_on(elb.describe_load_balancers().send())
                .unwrap()
                .load_balancers()
                .len(),
        ),
        (
            "target groups",
            rt.block_on(elb.describe_target_groups().send())
                .unwrap()
                .target_groups()
                .len(),
        ),
        (
            "buckets",
            rt.block_on(moto.s3().list_buckets().send())
                .unwrap()
                .buckets()
                .len(),
        ),
        (
            "repositories",
            rt.block_on(moto.ecr().describe_repositories().send())
                .unwrap()
                .repositories()
                .len(),
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
            rt.block_on(ec2.describe_launch_templates().send())
                .unwrap()
                .launch_templates()
                .len(),
        ),
        (
            "alarms",
            rt.block_on(moto.cloudwatch().describe_alarms().send())
                .unwrap()
                .metric_alarms()
                .len(),
        ),
    ]
}

const FULL: [(&str, usize); 16] = [
    ("vpcs", 1),
    ("subnets", 4),
    ("security groups", 3),
    ("internet gateways", 1),
    ("elastic ips", 2),
    ("nat gateways", 2),
    ("route tables", 3),
    ("endpoints", 1),
    ("clusters", 1),
    ("load balancers", 1),
    ("target groups", 2),
    ("buckets", 1),
    ("repositories", 1),
    ("streams", 1),
    ("launch templates", 1),
    ("alarms", 1),
];

#[test]
fn the_platform_applies_replans_to_no_changes_and_destroys_to_nothing() {
    let moto = Moto::start();
    let w = Workdir::new(&moto.url, &stack_file("platform"));
    let plan = w.run(&["plan", "stack.yaml"]);
    assert_eq!(
        last_line(&plan.stdout),
        "Plan: 36 to add, 0 to change, 0 to destroy."
    );
    let r = w.run(&["apply", "--auto-approve", "stack.yaml"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(census(&moto), FULL);
    assert_eq!(
        w.run(&["plan", "--detailed-exitcode", "stack.yaml"]).code,
        0
    );

    let rt = runtime();
    // Pods' roles: the OIDC provider is the cluster's issuer, and each role
    // trusts one service account through it.
    let issuer = rt
        .block_on(moto.eks().describe_cluster().name("enza-platform").send())
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
    let providers = rt
        .block_on(moto.iam().list_open_id_connect_providers().send())
        .unwrap();
    let arn = providers.open_id_connect_provider_list()[0]
        .arn()
        .unwrap()
        .to_string();
    let provider = rt
        .block_on(
            moto.iam()
                .get_open_id_connect_provider()
                .open_id_connect_provider_arn(&arn)
                .send(),
        )
        .unwrap();
    assert_eq!(
        format!("https://{}", provider.url().unwrap()),
        issuer,
        "the provider's URL is the cluster's issuer"
    );
    assert_eq!(provider.client_id_list(), ["sts.amazonaws.com"]);
    let role = rt
        .block_on(
            moto.iam()
                .get_role()
                .role_name("platform-lb-controller")
                .send(),
        )
        .unwrap();
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
    assert_eq!(
        statement["Condition"]["StringEquals"][format!("{host}:aud")],
        "sts.amazonaws.com"
    );
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
        .block_on(
            moto.ecr()
                .get_lifecycle_policy()
                .repository_name("enza/platform-app")
                .send(),
        )
        .unwrap();
    assert!(
        lifecycle
            .lifecycle_policy_text()
            .unwrap()
            .contains("\"countNumber\":50"),
        "keep_last_images became a policy"
    );
    let rules = rt
        .block_on(
            moto.s3()
                .get_bucket_lifecycle_configuration()
                .bucket("enza-platform-logs")
                .send(),
        )
        .unwrap();
    assert_eq!(rules.rules()[0].expiration().unwrap().days(), Some(90));
    let cors = rt
        .block_on(
            moto.s3()
                .get_bucket_cors()
                .bucket("enza-platform-logs")
                .send(),
        )
        .unwrap();
    assert_eq!(
        cors.cors_rules()[0].allowed_origins(),
        ["https://games.example.com"]
    );

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
    let objects = rt
        .block_on(
            moto.s3()
                .list_objects_v2()
                .bucket("enza-platform-logs")
                .send(),
        )
        .unwrap();
    assert!(!objects.contents().is_empty(), "the record landed");
    assert!(
        objects
            .contents()
            .iter()
            .all(|o| o.key().unwrap().starts_with("app/")),
        "under the prefix"
    );

    // The buffering interval changes in place.
    w.write_stack(&stack_file("platform").replace("interval_seconds: 300", "interval_seconds: 60"));
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(
        plan.stdout
            .contains("~ s3.buffering.interval_seconds: 300 -> 60"),
        "{}",
        plan.stdout
    );
    assert_eq!(
        last_line(&plan.stdout),
        "Plan: 0 to add, 1 to change, 0 to destroy."
    );
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
    assert_eq!(
        logging.log_group_name(),
        Some("/aws/firehose/enza-platform")
    );
    let hints = s3dest.buffering_hints().unwrap();
    assert_eq!(hints.interval_in_seconds(), Some(60));
    assert_eq!(
        w.run(&["plan", "--detailed-exitcode", "stack.yaml"]).code,
        0
    );

    // The bucket holds a log object and force_destroy is off: destroy fails clearly
    // for the bucket and leaves it with its objects.
    let d = w.run(&["destroy", "--auto-approve", "stack.yaml"]);
    assert_eq!(d.code, 1, "{}\n{}", d.stdout, d.stderr);
    assert!(
        d.stdout
            .contains("failed: s3_bucket.logs: bucket enza-platform-logs is not empty"),
        "{}",
        d.stdout
    );
    assert!(
        d.stdout.contains("set `force_destroy: true`"),
        "{}",
        d.stdout
    );
    let objects = rt
        .block_on(
            moto.s3()
                .list_objects_v2()
                .bucket("enza-platform-logs")
                .send(),
        )
        .unwrap();
    assert!(
        !objects.contents().is_empty(),
        "the objects are still there"
    );

    // With force_destroy it empties the bucket and deletes it; nothing is left.
    let forced = stack_file("platform").replace(
        "    versioning: true\n",
        "    versioning: true\n    force_destroy: true\n",
    );
    w.write_stack(&forced);
    assert_eq!(w.run(&["apply", "--auto-approve", "stack.yaml"]).code, 0);
    let d = w.run(&["destroy", "--auto-approve", "stack.yaml"]);
    assert_eq!(d.code, 0, "{}\n{}", d.stdout, d.stderr);
    assert!(
        census(&moto).iter().all(|(_, n)| *n == 0),
        "{:?}",
        census(&moto)
    );
}

#[test]
fn the_platform_applies_with_a_third_of_all_calls_throttled() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.url);
    proxy.rules(json!([
        {"op": "*", "action": "error", "status": 400, "code": "ThrottlingException",
         "message": "Rate exceeded", "probability": 0.3}
    ]));
    let w = Workdir::new(&proxy.url, &stack_file("platform"));
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
        r.stderr
            .contains("aws_sdk_s3: throttled (HTTP 503), slowing to"),
        "S3's SlowDown slows the S3 client's pace"
    );
    // Nothing duplicated, nothing missing.
    assert_eq!(census(&moto), FULL);
    proxy.rules(json!([]));
    assert_eq!(
        w.run(&["plan", "--detailed-exitcode", "stack.yaml"]).code,
        0
    );
}
