//! A stack's identity is the pair of its name and environment, against moto:
//! `stack: web` with `--env prod` and a stack named `web-prod` share no state,
//! lock, owner tag or default name; what another stack owns is neither
//! adopted by a create nor imported unasked; a bucket is never taken for
//! this stack's for being new.

use crate::support::{Moto, Proxy, Workdir, runtime};

/// A stack with environments, its bucket named by infra.
const WEB: &str = "
stack: web
region: ap-northeast-1
environments:
  prod: {}
resources:
  s3_bucket.logs: { force_destroy: true }
";

/// A stack whose name is the other's name and environment joined.
const WEB_PROD: &str = "
stack: web-prod
region: ap-northeast-1
resources:
  s3_bucket.logs: { force_destroy: true }
";

fn buckets(moto: &Moto) -> Vec<String> {
    runtime()
        .block_on(moto.s3().list_buckets().send())
        .unwrap()
        .buckets()
        .iter()
        .filter_map(|b| b.name().map(str::to_string))
        .collect()
}

fn tags(moto: &Moto, bucket: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = runtime()
        .block_on(moto.s3().get_bucket_tagging().bucket(bucket).send())
        .unwrap()
        .tag_set()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    out.sort();
    out
}

/// The reproduction: the environment's bucket, with an object in
/// it, is neither adopted nor deleted by the stack named like the pair.
#[test]
fn an_environment_and_a_stack_named_like_it_share_nothing() {
    let moto = Moto::start();
    let w = Workdir::new(&moto.url, WEB);
    std::fs::write(w.path("web-prod.yaml"), WEB_PROD).unwrap();
    let a = w.run(&["apply", "--auto-approve", "--env", "prod", "stack.yaml"]);
    assert_eq!(a.code, 0, "{}\n{}", a.stdout, a.stderr);
    assert!(w.path("state/web.prod.json").exists());
    assert_eq!(buckets(&moto), ["web--prod--logs"]);
    assert_eq!(
        tags(&moto, "web--prod--logs"),
        [
            ("infra:address".to_string(), "s3_bucket.logs".to_string()),
            ("infra:env".to_string(), "prod".to_string()),
            ("infra:stack".to_string(), "web".to_string()),
        ]
    );
    runtime()
        .block_on(
            moto.s3()
                .put_object()
                .bucket("web--prod--logs")
                .key("kept.log")
                .body(aws_sdk_s3::primitives::ByteStream::from_static(b"data"))
                .send(),
        )
        .unwrap();

    let b = w.run(&["apply", "--auto-approve", "web-prod.yaml"]);
    assert_eq!(b.code, 0, "{}\n{}", b.stdout, b.stderr);
    assert!(w.path("state/web-prod.json").exists());
    let mut all = buckets(&moto);
    all.sort();
    assert_eq!(all, ["web--prod--logs", "web-prod-logs"], "a bucket each");
    let d = w.run(&["destroy", "--auto-approve", "web-prod.yaml"]);
    assert_eq!(d.code, 0, "{}\n{}", d.stdout, d.stderr);
    assert_eq!(buckets(&moto), ["web--prod--logs"], "theirs is kept");
    let kept = runtime()
        .block_on(moto.s3().get_object().bucket("web--prod--logs").key("kept.log").send())
        .is_ok();
    assert!(kept, "with its object");
    let plan = w.run(&["plan", "--detailed-exitcode", "--env", "prod", "stack.yaml"]);
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
    assert!(!plan.stdout.contains("deleted outside infra"), "{}", plan.stdout);

    // The state of one is never read as the other's.
    let wrong = w.run(&["plan", "--state", "state/web.prod.json", "web-prod.yaml"]);
    assert_eq!(wrong.code, 1);
    assert!(
        wrong.stderr.contains("belongs to stack web (environment prod), not web-prod"),
        "{}",
        wrong.stderr
    );
}

/// A state an older infra kept for an environment (format 1, `NAME-ENV` at
/// `state/NAME-ENV.json`) is refused by name, saying where it goes; moved
/// there, it is read as the pair, and the names it recorded are kept (no
/// replacement for how names are made now).
#[test]
fn an_environments_state_from_before_is_refused_by_name_then_read() {
    let moto = Moto::start();
    let w = Workdir::new(&moto.url, WEB);
    // What infra made before: its bucket and its state.
    let rt = runtime();
    moto.create_bucket("web-prod-logs");
    let tag = |k: &str, v: &str| aws_sdk_s3::types::Tag::builder().key(k).value(v).build().unwrap();
    rt.block_on(
        moto.s3()
            .put_bucket_tagging()
            .bucket("web-prod-logs")
            .tagging(
                aws_sdk_s3::types::Tagging::builder()
                    .tag_set(tag("infra:stack", "web-prod"))
                    .tag_set(tag("infra:env", "prod"))
                    .tag_set(tag("infra:address", "s3_bucket.logs"))
                    .build()
                    .unwrap(),
            )
            .send(),
    )
    .unwrap();
    std::fs::create_dir_all(w.path("state")).unwrap();
    let old = serde_json::json!({
        "version": 1, "serial": 4, "lineage": "l", "stack": "web-prod",
        "resources": {"s3_bucket.logs": {"type": "s3_bucket", "id": "web-prod-logs",
            "attributes": {"id": "web-prod-logs", "name": "web-prod-logs", "force_destroy": true,
                "tags": {"infra:stack": "web-prod", "infra:env": "prod", "infra:address": "s3_bucket.logs"}},
            "dependencies": []}}
    });
    std::fs::write(w.path("state/web-prod.json"), old.to_string()).unwrap();
    let plan = w.run(&["plan", "--env", "prod", "stack.yaml"]);
    assert_eq!(plan.code, 1, "{}\n{}", plan.stdout, plan.stderr);
    assert!(
        plan.stderr.contains("state/web-prod.json is where infra kept it")
            && plan.stderr.contains("move it (and its .backup) to state/web.prod.json"),
        "{}",
        plan.stderr
    );
    // Read by the stack named like the pair, the tags tell it is not its own.
    std::fs::write(w.path("web-prod.yaml"), WEB_PROD).unwrap();
    let other = w.run(&["plan", "web-prod.yaml"]);
    assert_eq!(other.code, 1, "{}\n{}", other.stdout, other.stderr);
    assert!(
        other.stderr.contains("belongs to stack web (environment prod), not web-prod"),
        "{}",
        other.stderr
    );

    std::fs::rename(w.path("state/web-prod.json"), w.path("state/web.prod.json")).unwrap();
    let plan = w.run(&["plan", "--env", "prod", "stack.yaml"]);
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
    assert!(!plan.stdout.contains("must be replaced"), "{}", plan.stdout);
    assert!(
        plan.stdout.contains("infra:stack: \"web-prod\" -> \"web\""),
        "the owner tags move to the pair: {}",
        plan.stdout
    );
    let a = w.run(&["apply", "--auto-approve", "--env", "prod", "stack.yaml"]);
    assert_eq!(a.code, 0, "{}\n{}", a.stdout, a.stderr);
    assert_eq!(buckets(&moto), ["web-prod-logs"], "kept, not replaced");
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("state/web.prod.json")).unwrap())
            .unwrap();
    assert_eq!(state["version"], 2);
    assert_eq!(state["stack"], "web");
    assert_eq!(state["env"], "prod");
}

/// `import` refuses what another stack owns, naming it; `--take-over` imports
/// it, and the plan then says whose tags it carries until the apply puts this
/// stack's on it.
#[test]
fn import_takes_nothing_another_stack_owns_unless_told() {
    let moto = Moto::start();
    let w = Workdir::new(&moto.url, WEB);
    std::fs::write(w.path("web-prod.yaml"), WEB_PROD).unwrap();
    assert_eq!(w.run(&["apply", "--auto-approve", "web-prod.yaml"]).code, 0);
    let text = "stack: mine\nregion: ap-northeast-1\nresources:\n  s3_bucket.logs: { name: web-prod-logs }\n";
    std::fs::write(w.path("mine.yaml"), text).unwrap();
    let import = w.run(&["import", "s3_bucket.logs", "web-prod-logs", "mine.yaml"]);
    assert_eq!(import.code, 1, "{}\n{}", import.stdout, import.stderr);
    assert!(
        import.stderr.contains("s3_bucket web-prod-logs belongs to stack web-prod")
            && import.stderr.contains("--take-over"),
        "{}",
        import.stderr
    );
    assert!(!w.path("state/mine.json").exists(), "nothing written");

    let taken = w.run(&["import", "--take-over", "s3_bucket.logs", "web-prod-logs", "mine.yaml"]);
    assert_eq!(taken.code, 0, "{}\n{}", taken.stdout, taken.stderr);
    assert!(taken.stderr.contains("warning:"), "{}", taken.stderr);
    let plan = w.run(&["plan", "mine.yaml"]);
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
    assert!(
        plan.stdout.contains(
            "s3_bucket.logs: it belongs to stack web-prod by its tags (its tags say infra:stack=web-prod, infra:address=s3_bucket.logs)"
        ),
        "{}",
        plan.stdout
    );
}

/// A bucket someone else made in this account a moment before this stack's
/// create is never adopted for being new (in us-east-1, where CreateBucket
/// answers 200 for a bucket the account owns, as elsewhere): the create
/// fails naming it, and its settings and tags are untouched.
#[test]
fn a_new_untagged_bucket_is_not_taken_for_this_stacks() {
    for region in ["ap-northeast-1", "us-east-1"] {
        let moto = Moto::start();
        let rt = runtime();
        let s3 = {
            let conf = aws_sdk_s3::config::Builder::from(&moto.sdk_config())
                .region(aws_sdk_s3::config::Region::new(region))
                .force_path_style(true)
                .build();
            aws_sdk_s3::Client::from_conf(conf)
        };
        let mut create = s3.create_bucket().bucket("their-logs");
        if region != "us-east-1" {
            create = create.create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(region))
                    .build(),
            );
        }
        rt.block_on(create.send()).unwrap();
        let w = Workdir::new(
            &moto.url,
            &format!(
                "stack: mine\nregion: {region}\nresources:\n  s3_bucket.logs: {{ name: their-logs, versioning: true }}\n"
            ),
        );
        let apply = w.run(&["apply", "--auto-approve", "stack.yaml"]);
        assert_eq!(apply.code, 1, "{region}: {}\n{}", apply.stdout, apply.stderr);
        assert!(
            apply
                .stderr
                .contains("s3_bucket their-logs exists and is not this stack's (it has no infra:stack or infra:address tag)"),
            "{region}: {}",
            apply.stderr
        );
        let versioning =
            rt.block_on(s3.get_bucket_versioning().bucket("their-logs").send()).unwrap();
        assert!(versioning.status().is_none(), "{region}: untouched");
        let tagged = rt
            .block_on(s3.get_bucket_tagging().bucket("their-logs").send())
            .map(|t| t.tag_set().len())
            .unwrap_or(0);
        assert_eq!(tagged, 0, "{region}: no tags put on it");
        let state: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(w.path("state/mine.json")).unwrap())
                .unwrap();
        assert!(state["resources"].as_object().unwrap().is_empty(), "{region}: {state}");
    }
}

/// A create whose answer was lost and that the SDK sent again finds what it
/// made by its owner tags: it is adopted, and the progress line says so.
#[test]
fn a_create_that_finds_what_it_made_says_adopted() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.url);
    proxy.rules(serde_json::json!([{"op": "CreateVpc", "action": "lose", "times": 1}]));
    let w = Workdir::new(
        &proxy.url,
        "stack: mine\nregion: ap-northeast-1\nresources:\n  vpc.main: { cidr_block: 10.0.0.0/16 }\n",
    );
    let apply = w.run(&["apply", "--auto-approve", "stack.yaml"]);
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    assert!(apply.stderr.contains("vpc.main: adopted vpc-"), "{}", apply.stderr);
    assert!(!apply.stderr.contains("vpc.main: created"), "{}", apply.stderr);
}
