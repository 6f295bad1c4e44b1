//! Encryption and customer-managed policies as baselines write them, against
//! moto: a KMS key with its policy, rotation and alias, a managed policy whose
//! versions are pruned to five, each read back, drift seen and put back, and
//! a destroy that schedules the key's deletion after its window; an EKS
//! cluster's secrets encrypted with its own key, add-only.

use crate::support::{Moto, Proxy, Workdir, flat_stack, runtime};

const POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"kms:*","Resource":"*"}]}"#;

fn keys(action: &str) -> String {
    format!(
        r#"stack: keys
region: ap-northeast-1
resources:
  kms_key.secrets:
    description: cluster secrets
    enable_key_rotation: true
    rotation_period_in_days: 180
    deletion_window_in_days: 7
    policy: '{POLICY}'
  kms_alias.secrets:
    name: alias/keys-secrets
    target_key_id: ${{kms_key.secrets.arn}}
  iam_policy.read_logs:
    path: /platform/
    description: what the game servers read
    policy: '{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"{action}","Resource":"*"}}]}}'
  iam_role.app:
    assume_role_service: ec2.amazonaws.com
    managed_policy_arns: ["${{iam_policy.read_logs.arn}}", arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore]
"#
    )
}

const POLICY_ARN: &str = "arn:aws:iam::123456789012:policy/platform/keys-read-logs";

#[test]
fn a_key_its_alias_and_a_managed_policy_apply_drift_and_go() {
    let moto = Moto::start();
    let rt = runtime();
    let (kms, iam) = (moto.kms(), moto.iam());
    let w = Workdir::new(&moto.url, &keys("logs:GetLogEvents"));
    w.apply_ok();
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("state/keys.json")).unwrap()).unwrap();
    let key = state["resources"]["kms_key.secrets"]["id"].as_str().unwrap().to_string();
    let meta = rt.block_on(kms.describe_key().key_id(&key).send()).unwrap();
    let meta = meta.key_metadata().unwrap();
    assert_eq!(meta.description(), Some("cluster secrets"));
    assert_eq!(meta.multi_region(), Some(false));
    let rotation = rt.block_on(kms.get_key_rotation_status().key_id(&key).send()).unwrap();
    assert!(rotation.key_rotation_enabled());
    let policy =
        rt.block_on(kms.get_key_policy().key_id(&key).policy_name("default").send()).unwrap();
    assert!(policy.policy().unwrap().contains("\"Sid\":\"root\""), "{policy:?}");
    let aliases = rt.block_on(kms.list_aliases().send()).unwrap();
    let alias = aliases.aliases().iter().find(|a| a.alias_name() == Some("alias/keys-secrets"));
    assert_eq!(alias.and_then(|a| a.target_key_id()), Some(key.as_str()));
    let p = rt.block_on(iam.get_policy().policy_arn(POLICY_ARN).send()).unwrap();
    assert_eq!(p.policy().unwrap().description(), Some("what the game servers read"));
    let attached = rt.block_on(iam.list_attached_role_policies().role_name("keys-app").send());
    let attached: Vec<_> = attached
        .unwrap()
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn().map(str::to_string))
        .collect();
    assert!(attached.contains(&POLICY_ARN.to_string()), "{attached:?}");
    w.assert_no_changes();

    // Changed by hand: each is drift, and the plan puts it back.
    rt.block_on(kms.disable_key_rotation().key_id(&key).send()).unwrap();
    rt.block_on(kms.update_key_description().key_id(&key).description("by hand").send()).unwrap();
    rt.block_on(
        iam.create_policy_version()
            .policy_arn(POLICY_ARN)
            .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#)
            .set_as_default(true)
            .send(),
    )
    .unwrap();
    // The alias deleted by hand (moto's UpdateAlias fails: it deletes the
    // alias before it moves it).
    rt.block_on(kms.delete_alias().alias_name("alias/keys-secrets").send()).unwrap();
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(plan.stdout.contains("Drift since the last apply"), "{}", plan.stdout);
    assert!(plan.stdout.contains("+ kms_alias.secrets"), "{}", plan.stdout);
    for line in [
        "~ enable_key_rotation: true -> false",
        "~ description: \"cluster secrets\" -> \"by hand\"",
        "s3:*",
    ] {
        assert!(plan.stdout.contains(line), "{line} in:\n{}", plan.stdout);
    }
    w.apply_ok();
    w.assert_no_changes();
    let rotation = rt.block_on(kms.get_key_rotation_status().key_id(&key).send()).unwrap();
    assert!(rotation.key_rotation_enabled());
    let aliases = rt.block_on(kms.list_aliases().send()).unwrap();
    let alias = aliases.aliases().iter().find(|a| a.alias_name() == Some("alias/keys-secrets"));
    assert_eq!(alias.and_then(|a| a.target_key_id()), Some(key.as_str()), "made again");

    // Six new documents: each a new default version, never more than five.
    for n in 1..=6 {
        w.write_stack(&keys(&format!("logs:GetLogEvents{n}")));
        w.apply_ok();
        let versions =
            rt.block_on(iam.list_policy_versions().policy_arn(POLICY_ARN).send()).unwrap();
        let versions = versions.versions();
        assert!(versions.len() <= 5, "{versions:?}");
        let default = versions.iter().find(|v| v.is_default_version()).unwrap();
        let doc = rt
            .block_on(
                iam.get_policy_version()
                    .policy_arn(POLICY_ARN)
                    .version_id(default.version_id().unwrap())
                    .send(),
            )
            .unwrap();
        let text = doc.policy_version().unwrap().document().unwrap().to_string();
        assert!(text.contains(&format!("GetLogEvents{n}")), "{text}");
    }
    w.assert_no_changes();

    // Destroy: the plan says when the key goes; KMS holds it pending deletion.
    let d = w.run(&["destroy", "--auto-approve", "stack.yaml"]);
    assert_eq!(d.code, 0, "{}\n{}", d.stdout, d.stderr);
    assert!(
        d.stdout.contains("KMS schedules its deletion: the key goes 7 days after"),
        "{}",
        d.stdout
    );
    let meta = rt.block_on(kms.describe_key().key_id(&key).send()).unwrap();
    let meta = meta.key_metadata().unwrap();
    assert_eq!(meta.key_state().map(|s| s.as_str()), Some("PendingDeletion"));
    let days = meta.deletion_date().unwrap().secs() - chrono::Utc::now().timestamp();
    assert!((6 * 86400..=7 * 86400 + 60).contains(&days), "{days}");
    let aliases = rt.block_on(kms.list_aliases().send()).unwrap();
    assert!(aliases.aliases().iter().all(|a| a.alias_name() != Some("alias/keys-secrets")));
    assert!(rt.block_on(iam.get_policy().policy_arn(POLICY_ARN).send()).is_err());
}

#[test]
fn kms_names_and_specs_are_checked_before_any_call() {
    let moto = Moto::start();
    let w = Workdir::new(
        &moto.url,
        r#"stack: keys
region: ap-northeast-1
resources:
  kms_key.signing:
    key_spec: ECC_NIST_P256
    key_usage: SIGN_VERIFY
    enable_key_rotation: true
  kms_key.short:
    deletion_window_in_days: 3
  kms_alias.bad:
    name: alias/aws/mine
    target_key_id: ${kms_key.signing.id}
  iam_policy.bad:
    path: platform
    policy: 'not json'
"#,
    );
    let v = w.run(&["validate", "stack.yaml"]);
    assert_eq!(v.code, 1, "{}\n{}", v.stdout, v.stderr);
    for says in [
        "KMS rotates only symmetric encryption keys",
        "alias/aws/ is kept for AWS's own keys",
        "`platform` is not an IAM path",
        "this policy document is not valid JSON",
        "3 is out of range",
    ] {
        assert!(v.stderr.contains(says), "{says} in:\n{}", v.stderr);
    }
    assert!(!w.path("state/keys.json").exists());
}

/// The eks stack (without its outputs) with its cluster's secrets encrypted
/// as `config` says, and two keys.
fn encrypted(config: &str) -> String {
    let base = flat_stack("eks")
        .replace("    logging: [api, audit]\n", &format!("    logging: [api, audit]\n{config}"));
    let at = base.find("\n# What stacks/cutover.yaml reads").expect("the eks stack's outputs");
    format!(
        "{}\n  kms_key.secrets:\n    description: secrets of the cluster\n    enable_key_rotation: true\n  kms_key.other:\n    description: another key\n",
        &base[..at]
    )
}

#[test]
fn a_cluster_encrypts_its_secrets_with_its_own_key_add_only() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.url);
    let with = |arn: &str| {
        format!(
            "    encryption_config: {{ provider: {{ key_arn: \"${{kms_key.{arn}.arn}}\" }}, resources: [secrets] }}\n"
        )
    };
    let w = Workdir::new(&proxy.url, &encrypted(&with("secrets")));
    w.apply_ok();
    let rt = runtime();
    let c = rt.block_on(moto.eks().list_clusters().send()).unwrap();
    let name = c.clusters()[0].clone();
    let c = rt.block_on(moto.eks().describe_cluster().name(&name).send()).unwrap();
    let config = c.cluster().unwrap().encryption_config();
    assert_eq!(config.len(), 1, "{c:?}");
    let key_arn = config[0].provider().and_then(|p| p.key_arn()).unwrap();
    assert!(key_arn.starts_with("arn:aws:kms:"), "{key_arn}");
    assert_eq!(config[0].resources(), ["secrets"]);
    w.assert_no_changes();

    // Removed, or moved to another key: the plan fails naming the rule, and
    // nothing is changed.
    for (stack, says) in [
        (encrypted(""), "EKS cannot remove encryption_config"),
        (encrypted(&with("other")), "EKS cannot change the key of encryption_config"),
    ] {
        w.write_stack(&stack);
        let before = proxy.counts();
        let plan = w.run(&["apply", "--auto-approve", "stack.yaml"]);
        assert_eq!(plan.code, 1, "{}\n{}", plan.stdout, plan.stderr);
        let all = format!("{}{}", plan.stdout, plan.stderr);
        assert!(all.contains(says) && all.contains("add-only"), "{all}");
        let after = proxy.counts();
        let writes = |m: &serde_json::Map<String, serde_json::Value>| {
            m.iter()
                .filter(|(op, _)| {
                    !op.starts_with("Describe") && !op.starts_with("List") && !op.starts_with("Get")
                })
                .map(|(_, n)| n.as_u64().unwrap_or(0))
                .sum::<u64>()
        };
        assert_eq!(writes(&before), writes(&after), "no write: {before:?} -> {after:?}");
    }
}

#[test]
fn encryption_is_added_to_a_cluster_that_had_none() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.url);
    let w = Workdir::new(&proxy.url, &encrypted(""));
    w.apply_ok();
    w.write_stack(&encrypted(
        "    encryption_config: { provider: { key_arn: \"${kms_key.secrets.arn}\" } }\n",
    ));
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(plan.stdout.contains("# eks_cluster.main will be updated in place"), "{}", plan.stdout);
    w.apply_ok();
    assert_eq!(proxy.seen("AssociateEncryptionConfig"), 1);
    w.assert_no_changes();
}
