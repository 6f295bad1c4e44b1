//! The moto emulator in server mode on 127.0.0.1, and the real `infra` binary.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const REGION: &str = "ap-northeast-1";

/// A moto server of this test's own, stopped on drop.
pub struct Moto {
    child: Child,
    pub url: String,
}

fn moto_server() -> PathBuf {
    if let Some(p) = std::env::var_os("MOTO_SERVER") {
        return PathBuf::from(p);
    }
    let local = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/moto_server");
    assert!(
        local.exists(),
        "moto_server not found: run the README's test command (scripts/test), which installs it, or set MOTO_SERVER"
    );
    local
}

/// The virtualenv's Python, beside moto_server.
pub fn venv_python() -> PathBuf {
    moto_server().parent().unwrap().join("python")
}

/// The fault-injecting proxy (fault_proxy.py) in front of an emulator.
pub struct Proxy {
    child: Child,
    port: u16,
    pub url: String,
}

/// The SDK's configuration for an endpoint of this test (moto or the proxy).
pub fn sdk_config(url: &str) -> aws_config::SdkConfig {
    runtime().block_on(
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(REGION))
            .endpoint_url(url)
            .credentials_provider(aws_sdk_ec2::config::Credentials::new(
                "test", "test", None, None, "test",
            ))
            .load(),
    )
}

impl Proxy {
    /// An EKS client through the proxy: it sees what the proxy plays where
    /// moto is silent (add-ons, access entries, Pod Identity).
    pub fn eks(&self) -> aws_sdk_eks::Client {
        aws_sdk_eks::Client::new(&sdk_config(&self.url))
    }

    pub fn start(upstream: &str) -> Proxy {
        let port = free_port();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/support/fault_proxy.py");
        let child = Command::new(venv_python())
            .arg(script)
            .args([upstream, &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the proxy starts");
        let proxy = Proxy { child, port, url: format!("http://127.0.0.1:{port}") };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if http_get(port, "/__proxy/counts").is_some_and(|s| s.contains(" 200 ")) {
                return proxy;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the proxy did not start on port {port}");
    }

    /// Replaces the proxy's rules (see fault_proxy.py).
    pub fn rules(&self, rules: serde_json::Value) {
        let body = rules.to_string();
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            s,
            "POST /__proxy/rules HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut reply = String::new();
        s.read_to_string(&mut reply).unwrap();
        assert!(reply.starts_with("HTTP/1.1 200") || reply.starts_with("HTTP/1.0 200"), "{reply}");
    }

    /// Forgets its rules, counts and everything it plays for moto (add-ons,
    /// access entries, Pod Identity), as `Moto::reset` empties moto.
    pub fn reset(&self) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            s,
            "POST /__proxy/reset HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut reply = String::new();
        s.read_to_string(&mut reply).unwrap();
        assert!(reply.contains(" 200 "), "{reply}");
    }

    /// `inventory(moto)` and what the proxy plays on moto's clusters: add-ons,
    /// access entries and their policies, Pod Identity associations (those an
    /// add-on owns are the add-on's), by the ids `infra` gives them.
    pub fn inventory(
        &self,
        moto: &Moto,
    ) -> std::collections::BTreeMap<&'static str, std::collections::BTreeSet<String>> {
        let rt = runtime();
        let mut inv = inventory(moto);
        let eks = self.eks();
        let clusters = rt.block_on(moto.eks().list_clusters().send()).unwrap();
        for c in clusters.clusters() {
            let mut put = |ty: &'static str, id: String| {
                inv.entry(ty).or_default().insert(id);
            };
            for a in rt.block_on(eks.list_addons().cluster_name(c).send()).unwrap().addons() {
                put("eks_addon", format!("{c}:{a}"));
            }
            for p in rt
                .block_on(eks.list_access_entries().cluster_name(c).send())
                .unwrap()
                .access_entries()
            {
                put("eks_access_entry", format!("{c}:{p}"));
                for policy in rt
                    .block_on(
                        eks.list_associated_access_policies()
                            .cluster_name(c)
                            .principal_arn(p)
                            .send(),
                    )
                    .unwrap()
                    .associated_access_policies()
                {
                    put(
                        "eks_access_policy_association",
                        format!("{c}#{p}#{}", policy.policy_arn().unwrap_or_default()),
                    );
                }
            }
            for a in rt
                .block_on(eks.list_pod_identity_associations().cluster_name(c).send())
                .unwrap()
                .associations()
            {
                if a.owner_arn().is_none() {
                    put(
                        "eks_pod_identity_association",
                        format!("{c}:{}", a.association_id().unwrap_or_default()),
                    );
                }
            }
        }
        inv
    }

    /// Requests of one operation seen so far.
    pub fn seen(&self, op: &str) -> u64 {
        self.counts().get(op).and_then(|v| v.as_u64()).unwrap_or(0)
    }

    pub fn counts(&self) -> serde_json::Map<String, serde_json::Value> {
        self.control("/__proxy/counts").as_object().cloned().unwrap_or_default()
    }

    /// The JSON a GET of one of the proxy's control paths answers.
    fn control(&self, path: &str) -> serde_json::Value {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").unwrap();
        let mut reply = String::new();
        s.read_to_string(&mut reply).unwrap();
        let body = reply.split("\r\n\r\n").nth(1).unwrap_or("{}");
        serde_json::from_str(body).unwrap()
    }

    /// The bodies of the last requests of one operation, as text, oldest
    /// first: what infra asked for.
    pub fn bodies(&self, op: &str) -> Vec<String> {
        self.control("/__proxy/bodies")[op]
            .as_array()
            .map(|a| a.iter().filter_map(|b| b.as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    }

    /// A node group's life as the proxy saw it, in order: (operation, node
    /// group, the status its answer gave).
    pub fn nodegroup_log(&self) -> Vec<(String, String, String)> {
        let log = self.control("/__proxy/nodegroups");
        log["log"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| {
                let s = |i: usize| e[i].as_str().unwrap_or_default().to_string();
                (s(0), s(1), s(2))
            })
            .collect()
    }

    /// Seconds spent waiting on the emulator, summed over every request.
    pub fn upstream_seconds(&self) -> f64 {
        self.control("/__proxy/timing")["upstream_seconds"].as_f64().unwrap_or(0.0)
    }

    pub fn count(&self, op: &str) -> u64 {
        self.counts().get(op).and_then(serde_json::Value::as_u64).unwrap_or(0)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Moto {
    pub fn start() -> Moto {
        let port = free_port();
        let child = Command::new(moto_server())
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
            // A requested certificate is issued at once, as DNS validation
            // that has already passed would have it.
            .env("MOTO_ACM_VALIDATION_WAIT", "0")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts");
        let moto = Moto { child, url: format!("http://127.0.0.1:{port}") };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if http_get(port, "/moto-api/data.json")
                .is_some_and(|s| s.starts_with("HTTP/1.0 200") || s.starts_with("HTTP/1.1 200"))
            {
                return moto;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("moto did not start on port {port}");
    }

    pub fn sdk_config(&self) -> aws_config::SdkConfig {
        sdk_config(&self.url)
    }

    pub fn ec2(&self) -> aws_sdk_ec2::Client {
        aws_sdk_ec2::Client::new(&self.sdk_config())
    }

    pub fn s3(&self) -> aws_sdk_s3::Client {
        let conf =
            aws_sdk_s3::config::Builder::from(&self.sdk_config()).force_path_style(true).build();
        aws_sdk_s3::Client::from_conf(conf)
    }

    pub fn ecr(&self) -> aws_sdk_ecr::Client {
        aws_sdk_ecr::Client::new(&self.sdk_config())
    }

    pub fn eks(&self) -> aws_sdk_eks::Client {
        aws_sdk_eks::Client::new(&self.sdk_config())
    }

    pub fn iam(&self) -> aws_sdk_iam::Client {
        aws_sdk_iam::Client::new(&self.sdk_config())
    }

    pub fn kms(&self) -> aws_sdk_kms::Client {
        aws_sdk_kms::Client::new(&self.sdk_config())
    }

    pub fn firehose(&self) -> aws_sdk_firehose::Client {
        aws_sdk_firehose::Client::new(&self.sdk_config())
    }

    pub fn acm(&self) -> aws_sdk_acm::Client {
        aws_sdk_acm::Client::new(&self.sdk_config())
    }

    pub fn elbv2(&self) -> aws_sdk_elasticloadbalancingv2::Client {
        aws_sdk_elasticloadbalancingv2::Client::new(&self.sdk_config())
    }

    pub fn cloudwatch(&self) -> aws_sdk_cloudwatch::Client {
        aws_sdk_cloudwatch::Client::new(&self.sdk_config())
    }

    pub fn logs(&self) -> aws_sdk_cloudwatchlogs::Client {
        aws_sdk_cloudwatchlogs::Client::new(&self.sdk_config())
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf[..n]).into_owned())
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// A working directory with a stack file, where `infra` keeps its state.
pub struct Workdir {
    pub dir: tempfile::TempDir,
    pub endpoint: String,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Workdir {
    /// A folder with `stack.yaml` and, beside it as in `stacks/`, the
    /// library's modules in `modules/`.
    pub fn new(endpoint: &str, stack: &str) -> Workdir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("stack.yaml"), stack).unwrap();
        let library = Path::new(env!("CARGO_MANIFEST_DIR")).join("stacks/modules");
        std::fs::create_dir_all(dir.path().join("modules")).unwrap();
        for entry in std::fs::read_dir(library).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, dir.path().join("modules").join(path.file_name().unwrap()))
                .unwrap();
        }
        Workdir { dir, endpoint: endpoint.to_string() }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn write_stack(&self, text: &str) {
        std::fs::write(self.path("stack.yaml"), text).unwrap();
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_infra"));
        c.args(args)
            .current_dir(self.dir.path())
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("NO_COLOR", "1")
            .env_remove("AWS_PROFILE")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null());
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.command(args).output().expect("infra runs"))
    }

    /// `infra apply --auto-approve stack.yaml`, which must succeed.
    #[track_caller]
    pub fn apply_ok(&self) -> Run {
        let r = self.run(&["apply", "--auto-approve", "stack.yaml"]);
        assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
        r
    }

    /// A plan of `stack.yaml` that finds nothing to do.
    #[track_caller]
    pub fn assert_no_changes(&self) {
        let r = self.run(&["plan", "--detailed-exitcode", "stack.yaml"]);
        assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    }
}

/// An internet-facing load balancer's network (two subnets of the VPC
/// `vpc.main` whose range starts with `prefix`, an internet gateway, a route
/// table), the EC2 and EKS target groups and a listener forwarding to them
/// with `eks_weight` (a number or a `${var...}`), as stack resources.
pub fn web_resources(prefix: &str, eks_weight: &str) -> String {
    format!(
        r#"  subnet.a:
    vpc_id: ${{vpc.main.id}}
    cidr_block: {prefix}.0.0/20
    availability_zone: ap-northeast-1a
  subnet.c:
    vpc_id: ${{vpc.main.id}}
    cidr_block: {prefix}.16.0/20
    availability_zone: ap-northeast-1c
  internet_gateway.main:
    vpc_id: ${{vpc.main.id}}
  route_table.public:
    vpc_id: ${{vpc.main.id}}
    routes:
      - {{ cidr_block: 0.0.0.0/0, gateway_id: "${{internet_gateway.main.id}}" }}
    subnet_ids: ["${{subnet.a.id}}", "${{subnet.c.id}}"]
  target_group.ec2:
    vpc_id: ${{vpc.main.id}}
    protocol: HTTP
    port: 80
  target_group.eks:
    vpc_id: ${{vpc.main.id}}
    protocol: HTTP
    port: 80
    target_type: ip
  load_balancer.web:
    subnets: ["${{subnet.a.id}}", "${{subnet.c.id}}"]
  listener.http:
    load_balancer_arn: ${{load_balancer.web.arn}}
    port: 80
    protocol: HTTP
    forward:
      - {{ target_group_arn: "${{target_group.ec2.arn}}", weight: 100 }}
      - {{ target_group_arn: "${{target_group.eks.arn}}", weight: {eks_weight} }}
"#
    )
}

pub fn demo_stack() -> String {
    stack_file("demo")
}

/// A stack as it was written before the library of modules
/// (tests/data/flat): every resource in the file, at the addresses the
/// provider tests name, and what `moved:` takes into modules.
pub fn flat_stack(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/data/flat/{name}.yaml")),
    )
    .unwrap()
}

pub fn stack_file(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("stacks/{name}.yaml")),
    )
    .unwrap()
}

/// The network stacks/cutover.yaml reads from stacks/eks.yaml's outputs,
/// declared in the stack instead: an internet-facing ALB's VPC, two public
/// subnets, the internet gateway and the route to it.
const CUTOVER_NETWORK: &str = r#"  vpc.main:
    cidr_block: 10.30.0.0/16
  subnet.public_a:
    vpc_id: ${vpc.main.id}
    cidr_block: 10.30.0.0/20
    availability_zone: ap-northeast-1a
  subnet.public_c:
    vpc_id: ${vpc.main.id}
    cidr_block: 10.30.16.0/20
    availability_zone: ap-northeast-1c
  internet_gateway.main:
    vpc_id: ${vpc.main.id}
  route_table.public:
    vpc_id: ${vpc.main.id}
    routes:
      - { cidr_block: 0.0.0.0/0, gateway_id: "${internet_gateway.main.id}" }
    subnet_ids: ["${subnet.public_a.id}", "${subnet.public_c.id}"]

"#;

/// stacks/cutover.yaml on its own: the network it reads from the cluster's
/// stack declared in it instead (`CUTOVER_NETWORK`), for the tests of the
/// cut-over's mechanics. stack_outputs.rs runs the two shipped stacks together.
pub fn cutover_stack() -> String {
    let shipped = stack_file("cutover");
    let (head, rest) =
        shipped.split_once("stacks:\n  eks: {}\n").expect("stacks/cutover.yaml reads stack eks");
    // The rule on stacks/eks.yaml's node group has no group to stand in
    // for: left out.
    let rule =
        rest.find("  # The path from the load balancer to the pods").expect("the path's rule");
    let end = rule + rest[rule..].find("\n\n").expect("a blank line after the rule") + 2;
    let rest = format!("{}{}", &rest[..rule], &rest[end..]);
    let rest = rest
        .replace("${stack.eks.outputs.vpc_id}", "${vpc.main.id}")
        .replace(
            "${stack.eks.outputs.public_subnet_ids}",
            r#"["${subnet.public_a.id}", "${subnet.public_c.id}"]"#,
        )
        .replacen("resources:\n", &format!("resources:\n{CUTOVER_NETWORK}"), 1);
    assert!(!rest.contains("${stack."), "every output it reads is stood in for");
    format!("{head}{rest}")
}

pub fn last_line(s: &str) -> &str {
    s.trim_end().lines().last().unwrap_or("")
}

/// A TCP endpoint that counts connections and answers none: proof that a command
/// made no AWS call.
pub struct Tripwire {
    pub url: String,
    count: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Tripwire {
    pub fn start() -> Tripwire {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let c = count.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                drop(stream);
            }
        });
        Tripwire { url, count }
    }

    pub fn connections(&self) -> usize {
        self.count.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// What the emulator holds, by resource type: the ids as `infra` names them.
/// Defaults that AWS makes by itself (the default VPC, its subnets and security
/// groups, a listener's default rule) are left out.
pub fn inventory(
    moto: &Moto,
) -> std::collections::BTreeMap<&'static str, std::collections::BTreeSet<String>> {
    use std::collections::{BTreeMap, BTreeSet};
    let rt = runtime();
    let mut inv: BTreeMap<&'static str, BTreeSet<String>> = BTreeMap::new();
    let mut put = |ty: &'static str, id: Option<&str>| {
        let set = inv.entry(ty).or_default();
        if let Some(id) = id {
            set.insert(id.to_string());
        }
    };
    let ec2 = moto.ec2();
    for v in rt.block_on(ec2.describe_vpcs().send()).unwrap().vpcs() {
        if !v.is_default().unwrap_or(false) {
            put("vpc", v.vpc_id());
        }
    }
    for s in rt.block_on(ec2.describe_subnets().send()).unwrap().subnets() {
        if !s.default_for_az().unwrap_or(false) {
            put("subnet", s.subnet_id());
        }
    }
    // The network kinds moto also holds for its default VPC: only what carries
    // an infra tag, and nothing deleted (a NAT gateway or an endpoint stays
    // listed as `deleted` for a while, as on AWS).
    let ours =
        |tags: &[aws_sdk_ec2::types::Tag]| tags.iter().any(|t| t.key() == Some("infra:stack"));
    // A VPC's default group and the group EKS makes for a cluster (played by
    // the proxy) are AWS's, not a stack's.
    let eks_own = |tags: &[aws_sdk_ec2::types::Tag]| {
        tags.iter().any(|t| t.key() == Some("aws:eks:cluster-name"))
    };
    for g in rt.block_on(ec2.describe_security_groups().send()).unwrap().security_groups() {
        if g.group_name() != Some("default") && !eks_own(g.tags()) {
            put("security_group", g.group_id());
        }
    }
    let rules = rt.block_on(ec2.describe_security_group_rules().send()).unwrap();
    for r in rules.security_group_rules() {
        if ours(r.tags()) {
            put("security_group_rule", r.security_group_rule_id());
        }
    }
    for g in rt.block_on(ec2.describe_internet_gateways().send()).unwrap().internet_gateways() {
        if ours(g.tags()) {
            put("internet_gateway", g.internet_gateway_id());
        }
    }
    for a in rt.block_on(ec2.describe_addresses().send()).unwrap().addresses() {
        put("elastic_ip", a.allocation_id());
    }
    for n in rt.block_on(ec2.describe_nat_gateways().send()).unwrap().nat_gateways() {
        if n.state() != Some(&aws_sdk_ec2::types::NatGatewayState::Deleted) {
            put("nat_gateway", n.nat_gateway_id());
        }
    }
    for t in rt.block_on(ec2.describe_route_tables().send()).unwrap().route_tables() {
        if ours(t.tags()) {
            put("route_table", t.route_table_id());
        }
    }
    for e in rt.block_on(ec2.describe_vpc_endpoints().send()).unwrap().vpc_endpoints() {
        // AWS (and moto) write `deleted` where the SDK's model says `Deleted`.
        if !e.state().is_some_and(|s| s.as_str().eq_ignore_ascii_case("deleted")) {
            put("vpc_endpoint", e.vpc_endpoint_id());
        }
    }
    for t in rt.block_on(ec2.describe_launch_templates().send()).unwrap().launch_templates() {
        put("launch_template", t.launch_template_id());
    }
    for b in rt.block_on(moto.s3().list_buckets().send()).unwrap().buckets() {
        put("s3_bucket", b.name());
    }
    for r in rt.block_on(moto.ecr().describe_repositories().send()).unwrap().repositories() {
        put("ecr_repository", r.repository_name());
    }
    for r in rt.block_on(moto.iam().list_roles().send()).unwrap().roles() {
        put("iam_role", Some(r.role_name()));
    }
    for g in rt.block_on(moto.logs().describe_log_groups().send()).unwrap().log_groups() {
        put("cloudwatch_log_group", g.log_group_name());
    }
    for p in rt
        .block_on(moto.iam().list_open_id_connect_providers().send())
        .unwrap()
        .open_id_connect_provider_list()
    {
        put("iam_oidc_provider", p.arn());
    }
    let eks = moto.eks();
    for c in rt.block_on(eks.list_clusters().send()).unwrap().clusters() {
        put("eks_cluster", Some(c));
        for n in rt.block_on(eks.list_nodegroups().cluster_name(c).send()).unwrap().nodegroups() {
            put("eks_nodegroup", Some(&format!("{c}:{n}")));
        }
    }
    let elb = moto.elbv2();
    for g in rt.block_on(elb.describe_target_groups().send()).unwrap().target_groups() {
        put("target_group", g.target_group_arn());
    }
    for lb in rt.block_on(elb.describe_load_balancers().send()).unwrap().load_balancers() {
        put("load_balancer", lb.load_balancer_arn());
        let arn = lb.load_balancer_arn().unwrap_or_default();
        for l in
            rt.block_on(elb.describe_listeners().load_balancer_arn(arn).send()).unwrap().listeners()
        {
            put("listener", l.listener_arn());
            let larn = l.listener_arn().unwrap_or_default();
            for r in rt.block_on(elb.describe_rules().listener_arn(larn).send()).unwrap().rules() {
                if !r.is_default().unwrap_or(false) {
                    put("listener_rule", r.rule_arn());
                }
            }
        }
    }
    for s in
        rt.block_on(moto.firehose().list_delivery_streams().send()).unwrap().delivery_stream_names()
    {
        put("firehose_stream", Some(s));
    }
    for a in rt.block_on(moto.cloudwatch().describe_alarms().send()).unwrap().metric_alarms() {
        put("cloudwatch_alarm", a.alarm_name());
    }
    for acl in rt.block_on(ec2.describe_network_acls().send()).unwrap().network_acls() {
        if !acl.is_default().unwrap_or(false) && ours(acl.tags()) {
            put("network_acl", acl.network_acl_id());
        }
    }
    let local = aws_sdk_iam::types::PolicyScopeType::Local;
    for p in rt.block_on(moto.iam().list_policies().scope(local).send()).unwrap().policies() {
        put("iam_policy", p.arn());
    }
    // KMS: the account's own keys, those not waiting out their deletion
    // window, and their aliases (not AWS's alias/aws/ ones).
    let kms = moto.kms();
    for k in rt.block_on(kms.list_keys().send()).unwrap().keys() {
        let meta = rt.block_on(kms.describe_key().key_id(k.key_id().unwrap_or_default()).send());
        let live = meta.unwrap().key_metadata().is_some_and(|m| {
            m.key_manager().map(|s| s.as_str()) == Some("CUSTOMER")
                && m.key_state().map(|s| s.as_str()) != Some("PendingDeletion")
        });
        if live {
            put("kms_key", k.key_id());
        }
    }
    for a in rt.block_on(kms.list_aliases().send()).unwrap().aliases() {
        if !a.alias_name().unwrap_or("alias/aws/").starts_with("alias/aws/") {
            put("kms_alias", a.alias_name());
        }
    }
    inv.retain(|_, ids| !ids.is_empty());
    inv
}

/// The ids a state file holds, by resource type.
pub fn state_ids(
    state: &serde_json::Value,
) -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    let mut out: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
        Default::default();
    for r in state["resources"].as_object().unwrap().values() {
        out.entry(r["type"].as_str().unwrap().to_string())
            .or_default()
            .insert(r["id"].as_str().unwrap().to_string());
    }
    out
}

impl Moto {
    /// A CloudWatch alarm on the load balancer's 5xx count, as a rollout names it.
    pub fn put_alarm(&self, name: &str) {
        runtime()
            .block_on(
                self.cloudwatch()
                    .put_metric_alarm()
                    .alarm_name(name)
                    .metric_name("HTTPCode_Target_5XX_Count")
                    .namespace("AWS/ApplicationELB")
                    .statistic(aws_sdk_cloudwatch::types::Statistic::Sum)
                    .period(60)
                    .evaluation_periods(1)
                    .threshold(10.0)
                    .comparison_operator(
                        aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanThreshold,
                    )
                    .send(),
            )
            .unwrap();
    }

    /// Makes a bucket in the tests' region behind infra's back (another
    /// tool's, or one infra made before).
    pub fn create_bucket(&self, name: &str) {
        runtime()
            .block_on(
                self.s3()
                    .create_bucket()
                    .bucket(name)
                    .create_bucket_configuration(
                        aws_sdk_s3::types::CreateBucketConfiguration::builder()
                            .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(
                                REGION,
                            ))
                            .build(),
                    )
                    .send(),
            )
            .unwrap();
    }

    /// Empties the emulator.
    pub fn reset(&self) {
        let port: u16 = self.url.rsplit(':').next().unwrap().parse().unwrap();
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(
            s,
            "POST /moto-api/reset HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut reply = String::new();
        s.read_to_string(&mut reply).unwrap();
        assert!(reply.contains(" 200 "), "{reply}");
    }
}

/// Runs `infra ARGS` in `w` and kills it (SIGKILL, a crash) as soon as a line
/// of its stderr holds `marker`: the stderr read until then.
pub fn kill_at(w: &Workdir, args: &[&str], marker: &str) -> String {
    use std::io::{BufRead, BufReader};
    let mut child = w
        .command(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut log = String::new();
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        log.push_str(&line);
        log.push('\n');
        if line.contains(marker) {
            child.kill().unwrap();
            break;
        }
    }
    child.wait().unwrap();
    assert!(log.contains(marker), "{log}");
    log
}
