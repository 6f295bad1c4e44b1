//! Lookups (`data:`) against moto: what was made outside infra (a VPC, its
//! subnets, a security group, an ALB with its listener and EC2 target group,
//! an IAM role, a certificate) is found at plan time, used by a new stack, and
//! never written; a lookup shows in a plan only when what it finds changed;
//! one that finds nothing fails the plan at its line.

use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use aws_sdk_elasticloadbalancingv2::types::{Action, ActionTypeEnum, ProtocolEnum, TargetTypeEnum};

use crate::support::{Moto, Proxy, Workdir, runtime, venv_python};

const STACK: &str = r#"stack: adopt
region: ap-northeast-1
data:
  vpc.legacy:
    name: legacy
  subnets.public:
    vpc_id: ${data.vpc.legacy.id}
    tags: { tier: public }
  security_group.alb:
    vpc_id: ${data.vpc.legacy.id}
    name: legacy-alb
  load_balancer.web:
    name: legacy-alb
  listener.http:
    load_balancer_arn: ${data.load_balancer.web.arn}
    port: 80
  target_group.ec2:
    name: legacy-ec2
  iam_role.nodes:
    name: legacy-nodes
  acm_certificate.game:
    domain: game.example.com
    types: [IMPORTED]
    tags: { owner: platform }
resources:
  target_group.eks:
    vpc_id: ${data.vpc.legacy.id}
    protocol: HTTP
    port: 80
    target_type: ip
  listener_rule.canary:
    listener_arn: ${data.listener.http.arn}
    priority: 10
    conditions: { path_patterns: ["/canary/*"] }
    forward:
      - { target_group_arn: "${data.target_group.ec2.arn}", weight: 90 }
      - { target_group_arn: "${target_group.eks.arn}", weight: 10 }
  security_group.pods:
    vpc_id: ${data.vpc.legacy.id}
    description: pods behind the ALB
    ingress:
      - { protocol: tcp, ports: "80", source_security_group: "${data.security_group.alb.id}" }
outputs:
  public_subnets: ${data.subnets.public.ids}
  certificate: ${data.acm_certificate.game.arn}
  node_role: ${data.iam_role.nodes.arn}
"#;

/// What the EC2 side of a migration left, made through the SDK straight
/// against moto, outside infra.
struct Legacy {
    vpc: String,
    subnets: Vec<String>,
    alb_sg: String,
    listener: String,
    target_group: String,
    certificate: String,
}

fn name_tag(kind: ResourceType, name: &str, extra: Option<(&str, &str)>) -> TagSpecification {
    let mut spec = TagSpecification::builder()
        .resource_type(kind)
        .tags(Tag::builder().key("Name").value(name).build());
    if let Some((k, v)) = extra {
        spec = spec.tags(Tag::builder().key(k).value(v).build());
    }
    spec.build()
}

/// A self-signed certificate for `game.example.com` and its key, made with the
/// emulator's own Python (its `cryptography`): nothing secret is kept in the tree.
fn self_signed() -> (String, String) {
    let script = r#"
import datetime
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "game.example.com")])
now = datetime.datetime.now(datetime.timezone.utc)
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
    .public_key(key.public_key()).serial_number(x509.random_serial_number())
    .not_valid_before(now - datetime.timedelta(days=1))
    .not_valid_after(now + datetime.timedelta(days=365))
    .add_extension(x509.SubjectAlternativeName([x509.DNSName("game.example.com")]), critical=False)
    .sign(key, hashes.SHA256()))
print(cert.public_bytes(serialization.Encoding.PEM).decode(), end="")
print("----SPLIT----")
print(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()).decode(), end="")
"#;
    let out = std::process::Command::new(venv_python())
        .args(["-c", script])
        .output()
        .expect("python runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let (cert, key) = text.split_once("----SPLIT----\n").unwrap();
    (cert.to_string(), key.to_string())
}

/// The SDK clients of moto (made outside any runtime: they block on their own).
struct Clients {
    ec2: aws_sdk_ec2::Client,
    elbv2: aws_sdk_elasticloadbalancingv2::Client,
    iam: aws_sdk_iam::Client,
    acm: aws_sdk_acm::Client,
}

impl Clients {
    fn of(moto: &Moto) -> Clients {
        Clients { ec2: moto.ec2(), elbv2: moto.elbv2(), iam: moto.iam(), acm: moto.acm() }
    }
}

async fn make_legacy(c: &Clients) -> Legacy {
    let ec2 = &c.ec2;
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.90.0.0/16")
        .tag_specifications(name_tag(ResourceType::Vpc, "legacy", None))
        .send()
        .await
        .unwrap()
        .vpc
        .unwrap()
        .vpc_id
        .unwrap();
    // A VPC that must not be found: another name.
    ec2.create_vpc()
        .cidr_block("10.91.0.0/16")
        .tag_specifications(name_tag(ResourceType::Vpc, "other", None))
        .send()
        .await
        .unwrap();
    let mut subnets = Vec::new();
    for (i, zone) in ["ap-northeast-1a", "ap-northeast-1c", "ap-northeast-1d"].iter().enumerate() {
        let tier = if i < 2 { "public" } else { "private" };
        let id = ec2
            .create_subnet()
            .vpc_id(&vpc)
            .cidr_block(format!("10.90.{i}.0/24"))
            .availability_zone(*zone)
            .tag_specifications(name_tag(
                ResourceType::Subnet,
                &format!("legacy-{i}"),
                Some(("tier", tier)),
            ))
            .send()
            .await
            .unwrap()
            .subnet
            .unwrap()
            .subnet_id
            .unwrap();
        if tier == "public" {
            subnets.push(id);
        }
    }
    let alb_sg = ec2
        .create_security_group()
        .vpc_id(&vpc)
        .group_name("legacy-alb")
        .description("the legacy ALB")
        .send()
        .await
        .unwrap()
        .group_id
        .unwrap();
    let elbv2 = &c.elbv2;
    let lb = elbv2
        .create_load_balancer()
        .name("legacy-alb")
        .set_subnets(Some(subnets.clone()))
        .security_groups(&alb_sg)
        .send()
        .await
        .unwrap()
        .load_balancers()[0]
        .load_balancer_arn
        .clone()
        .unwrap();
    let target_group = elbv2
        .create_target_group()
        .name("legacy-ec2")
        .protocol(ProtocolEnum::Http)
        .port(80)
        .vpc_id(&vpc)
        .target_type(TargetTypeEnum::Instance)
        .send()
        .await
        .unwrap()
        .target_groups()[0]
        .target_group_arn
        .clone()
        .unwrap();
    let listener = elbv2
        .create_listener()
        .load_balancer_arn(&lb)
        .protocol(ProtocolEnum::Http)
        .port(80)
        .default_actions(
            Action::builder()
                .r#type(ActionTypeEnum::Forward)
                .target_group_arn(&target_group)
                .build(),
        )
        .send()
        .await
        .unwrap()
        .listeners()[0]
        .listener_arn
        .clone()
        .unwrap();
    c.iam
        .create_role()
        .role_name("legacy-nodes")
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        )
        .send()
        .await
        .unwrap();
    let (cert, key) = self_signed();
    let certificate = c
        .acm
        .import_certificate()
        .certificate(aws_sdk_acm::primitives::Blob::new(cert.into_bytes()))
        .private_key(aws_sdk_acm::primitives::Blob::new(key.into_bytes()))
        .tags(aws_sdk_acm::types::Tag::builder().key("owner").value("platform").build().unwrap())
        .send()
        .await
        .unwrap()
        .certificate_arn
        .unwrap();
    Legacy { vpc, subnets, alb_sg, listener, target_group, certificate }
}

/// Every line of `text` that is a stack file problem: `error: stack.yaml:L:C: ...`.
fn located(text: &str) -> Vec<&str> {
    text.lines().filter(|l| l.starts_with("error: stack.yaml:")).collect()
}

#[test]
fn what_exists_is_found_used_and_never_written() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.url);
    let rt = runtime();
    let c = Clients::of(&moto);
    let legacy = rt.block_on(make_legacy(&c));
    let w = Workdir::new(&proxy.url, STACK);

    // Validation alone needs no AWS: the lookups' values are unknown yet.
    proxy.reset();
    let v = w.run(&["validate", "stack.yaml"]);
    assert_eq!(v.code, 0, "{}\n{}", v.stdout, v.stderr);
    assert_eq!(proxy.counts().len(), 0, "{:?}", proxy.counts());

    // The first plan shows what each lookup found, once.
    let plan = w.run(&["plan", "stack.yaml"]);
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
    assert!(plan.stdout.contains("<= data.target_group.ec2 (first read)"), "{}", plan.stdout);
    assert!(plan.stdout.contains(&legacy.vpc), "{}", plan.stdout);
    assert!(
        plan.stdout.contains("data.target_group.ec2 90 (90%)"),
        "the forward names the looked-up group: {}",
        plan.stdout
    );

    // A saved plan carries what its lookups found: apply does not look again.
    proxy.reset();
    let saved = w.run(&["plan", "--out", "first.plan", "stack.yaml"]);
    assert_eq!(saved.code, 0, "{}\n{}", saved.stdout, saved.stderr);
    for op in ["GetRole", "DescribeCertificate", "ListCertificates"] {
        assert_eq!(proxy.count(op), 1, "{op}: {:?}", proxy.counts());
    }
    proxy.reset();
    let applied = w.run(&["apply", "first.plan", "stack.yaml"]);
    assert_eq!(applied.code, 0, "{}\n{}", applied.stdout, applied.stderr);
    // Reads only of what was looked up: no call changed the legacy objects.
    let counts = proxy.counts();
    for op in ["GetRole", "DescribeCertificate", "ListCertificates"] {
        assert!(
            !counts.contains_key(op),
            "{op}: the saved plan's lookups were not used: {counts:?}"
        );
    }
    for op in [
        "ModifyListener",
        "DeleteListener",
        "DeleteTargetGroup",
        "ModifyTargetGroup",
        "DeleteRole",
        "DeleteSecurityGroup",
    ] {
        assert!(!counts.contains_key(op), "{op} was called: {counts:?}");
    }

    rt.block_on(async {
        // The new target group is in the looked-up VPC; the rule on the
        // looked-up listener forwards to the looked-up EC2 group.
        let elbv2 = &c.elbv2;
        let groups = elbv2.describe_target_groups().send().await.unwrap();
        let eks = groups
            .target_groups()
            .iter()
            .find(|g| g.target_group_arn() != Some(legacy.target_group.as_str()))
            .unwrap();
        assert_eq!(eks.vpc_id(), Some(legacy.vpc.as_str()));
        let rules = elbv2.describe_rules().listener_arn(&legacy.listener).send().await.unwrap();
        let canary = rules
            .rules()
            .iter()
            .find(|r| r.priority() == Some("10"))
            .expect("the canary rule is on the legacy listener");
        let forward = canary.actions()[0].forward_config().unwrap();
        let weight_of = |arn: &str| {
            forward
                .target_groups()
                .iter()
                .find(|t| t.target_group_arn() == Some(arn))
                .and_then(|t| t.weight())
        };
        assert_eq!(weight_of(&legacy.target_group), Some(90));
        // The pods' group admits the looked-up ALB group.
        let pods = c
            .ec2
            .describe_security_groups()
            .filters(Filter::builder().name("group-name").values("adopt-pods").build())
            .send()
            .await
            .unwrap();
        let rule = &pods.security_groups()[0].ip_permissions()[0];
        assert_eq!(rule.user_id_group_pairs()[0].group_id(), Some(legacy.alb_sg.as_str()));
        // The legacy listener still forwards to the EC2 group alone.
        let l = elbv2.describe_listeners().listener_arns(&legacy.listener).send().await.unwrap();
        assert_eq!(
            l.listeners()[0].default_actions()[0].target_group_arn(),
            Some(legacy.target_group.as_str())
        );
    });

    // State holds only what infra made, and what the lookups found.
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("state/adopt.json")).unwrap())
            .unwrap();
    let managed: Vec<&String> = state["resources"].as_object().unwrap().keys().collect();
    assert_eq!(managed, ["listener_rule.canary", "security_group.pods", "target_group.eks"]);
    assert_eq!(state["lookups"].as_object().unwrap().len(), 8);
    let out = w.run(&["output", "stack.yaml", "--json"]);
    let outputs: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(outputs["public_subnets"]["value"], serde_json::json!(legacy.subnets));
    assert_eq!(outputs["certificate"]["value"], legacy.certificate);
    assert!(outputs["node_role"]["value"].as_str().unwrap().ends_with(":role/legacy-nodes"));

    // Nothing changed: no lookups shown, no changes.
    let again = w.run(&["plan", "--detailed-exitcode", "stack.yaml"]);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    assert!(!again.stdout.contains("<= data."), "{}", again.stdout);

    // The role is made again by hand (a new role id): the plan says so, and
    // nothing in the stack changes; apply records it.
    rt.block_on(async {
        let iam = &c.iam;
        iam.delete_role().role_name("legacy-nodes").send().await.unwrap();
        iam.create_role()
            .role_name("legacy-nodes")
            .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[]}"#)
            .send()
            .await
            .unwrap();
    });
    let moved = w.run(&["plan", "--detailed-exitcode", "stack.yaml"]);
    assert_eq!(moved.code, 0, "{}\n{}", moved.stdout, moved.stderr);
    assert!(moved.stdout.contains("<= data.iam_role.nodes\n"), "{}", moved.stdout);
    assert!(moved.stdout.contains("~ id: "), "{}", moved.stdout);
    assert!(!moved.stdout.contains("data.vpc.legacy"), "{}", moved.stdout);
    w.apply_ok();
    let recorded = w.run(&["plan", "stack.yaml"]);
    assert!(!recorded.stdout.contains("<= data."), "{}", recorded.stdout);

    // The listener is deleted outside infra: the next plan fails at the
    // lookup's line, saying what was searched, and writes nothing.
    let serial = |w: &Workdir| {
        let s: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(w.path("state/adopt.json")).unwrap())
                .unwrap();
        s["serial"].as_u64().unwrap()
    };
    let before = serial(&w);
    rt.block_on(async {
        c.elbv2.delete_listener().listener_arn(&legacy.listener).send().await.unwrap();
    });
    let gone = w.run(&["plan", "stack.yaml"]);
    assert_eq!(gone.code, 1, "{}\n{}", gone.stdout, gone.stderr);
    let problems = located(&gone.stderr);
    assert_eq!(problems.len(), 1, "{}", gone.stderr);
    let line = STACK.lines().position(|l| l.trim() == "listener.http:").unwrap() + 1;
    assert!(
        problems[0].starts_with(&format!("error: stack.yaml:{line}:3: data.listener.http: no listener matches load_balancer_arn = arn:")),
        "{}",
        gone.stderr
    );
    assert!(problems[0].ends_with("port = 80"), "{}", problems[0]);
    assert_eq!(serial(&w), before, "a failed plan writes nothing");

    // A destroy needs no lookup: it removes what infra made, and only that.
    let d = w.run(&["destroy", "--auto-approve", "stack.yaml"]);
    assert_eq!(d.code, 0, "{}\n{}", d.stdout, d.stderr);
    rt.block_on(async {
        let groups = c.elbv2.describe_target_groups().send().await.unwrap();
        let arns: Vec<&str> =
            groups.target_groups().iter().filter_map(|g| g.target_group_arn()).collect();
        assert_eq!(arns, [legacy.target_group.as_str()]);
        let role = c.iam.get_role().role_name("legacy-nodes").send().await;
        assert!(role.is_ok(), "the looked-up role is left alone");
    });
}

/// Two matches where one is wanted: the plan names both and asks to narrow.
#[test]
fn a_lookup_that_finds_two_fails_at_its_line() {
    let moto = Moto::start();
    let rt = runtime();
    let ec2 = moto.ec2();
    rt.block_on(async {
        for cidr in ["10.92.0.0/16", "10.93.0.0/16"] {
            ec2.create_vpc()
                .cidr_block(cidr)
                .tag_specifications(name_tag(ResourceType::Vpc, "twin", Some(("team", "game"))))
                .send()
                .await
                .unwrap();
        }
    });
    let w = Workdir::new(
        &moto.url,
        r#"stack: twins
region: ap-northeast-1
data:
  vpc.main:
    tags: { team: game }
resources:
  security_group.a:
    vpc_id: ${data.vpc.main.id}
"#,
    );
    let r = w.run(&["plan", "stack.yaml"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let problems = located(&r.stderr);
    assert_eq!(problems.len(), 1, "{}", r.stderr);
    assert!(
        problems[0].starts_with(
            "error: stack.yaml:4:3: data.vpc.main: 2 VPCs match tags = {team: game}: vpc-"
        ),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("narrow it by id, name, cidr_block, tags"), "{}", r.stderr);
    assert!(!w.path("state/twins.json").exists());
}

/// Imports a self-signed certificate for game.example.com, with tags.
async fn import(acm: &aws_sdk_acm::Client, tags: &[(&str, &str)]) -> String {
    let (cert, key) = self_signed();
    acm.import_certificate()
        .certificate(aws_sdk_acm::primitives::Blob::new(cert.into_bytes()))
        .private_key(aws_sdk_acm::primitives::Blob::new(key.into_bytes()))
        .set_tags(Some(
            tags.iter()
                .map(|(k, v)| aws_sdk_acm::types::Tag::builder().key(*k).value(*v).build().unwrap())
                .collect(),
        ))
        .send()
        .await
        .unwrap()
        .certificate_arn
        .unwrap()
}

/// The certificate an HTTPS listener takes is Amazon's: a newer certificate
/// for the same domain imported by anyone allowed to import is not picked up;
/// an imported one is found only when the lookup asks for imported ones and
/// names tags it carries; ListCertificates asks for every key type.
#[test]
fn the_certificate_lookup_takes_only_what_it_asks_for() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.url);
    let rt = runtime();
    let acm = moto.acm();
    let issued = rt.block_on(async {
        acm.request_certificate()
            .domain_name("game.example.com")
            .send()
            .await
            .unwrap()
            .certificate_arn
            .unwrap()
    });
    // Requested first, issued (moto validates at once here); imported after.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let planted = rt.block_on(import(&acm, &[]));
    let ours = rt.block_on(import(&acm, &[("owner", "platform")]));
    let stack = |lookup: &str| {
        format!(
            "stack: certs\nregion: ap-northeast-1\ndata:\n  acm_certificate.game:\n{lookup}resources:\n  cloudwatch_log_group.app:\n    name: /certs/app\n    retention_days: 7\noutputs:\n  certificate: ${{data.acm_certificate.game.arn}}\n"
        )
    };
    let w = Workdir::new(&proxy.url, &stack("    domain: game.example.com\n"));
    w.apply_ok();
    let out = w.run(&["output", "stack.yaml", "certificate"]);
    assert_eq!(out.stdout.trim(), issued, "not the newer imported {planted}");
    let listed = proxy.bodies("ListCertificates");
    let asked: serde_json::Value = serde_json::from_str(&listed[0]).unwrap();
    let keys = asked["Includes"]["keyTypes"].as_array().unwrap();
    for k in ["RSA_2048", "RSA_4096", "EC_prime256v1", "EC_secp384r1"] {
        assert!(keys.contains(&serde_json::json!(k)), "{k}: {asked}");
    }

    // Imported ones only by their tags too: without them the file is refused.
    w.write_stack(&stack("    domain: game.example.com\n    types: [IMPORTED]\n"));
    let r = w.run(&["validate", "stack.yaml"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("an imported certificate is looked up by its tags too"),
        "{}",
        r.stderr
    );
    w.write_stack(&stack(
        "    domain: game.example.com\n    types: [IMPORTED]\n    tags: { owner: platform }\n",
    ));
    w.apply_ok();
    let out = w.run(&["output", "stack.yaml", "certificate"]);
    assert_eq!(out.stdout.trim(), ours);
}
