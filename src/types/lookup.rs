//! Lookups: what exists already (made by hand, by another tool, by the EC2
//! side of a migration), found at plan time and never written, changed or
//! destroyed. A stack declares them under `data:` as `KIND.NAME` with what to
//! search by, and refers to what they found as `${data.KIND.NAME.ATTR}`.
//!
//! Each kind here says what it may be searched by (its `by` attributes,
//! checked like a resource's), what it exports, and whether it finds one thing
//! or many (`subnets`). `settle` turns what AWS answered into the values a
//! stack uses, or says why it cannot (nothing matched, or more than one). Pure.

use serde_json::{Map, Value};

use super::schema::{Attr, Finding, Kind};

/// One kind of lookup.
#[derive(Debug)]
pub struct LookupSchema {
    /// Its name in the stack file: `target_group` in `data.target_group.NAME`.
    pub name: &'static str,
    /// What it finds, for messages: `target group`.
    pub noun: &'static str,
    /// What it may be searched by; every one given must match.
    pub by: &'static [Attr],
    /// The attributes a stack may refer to.
    pub exports: &'static [&'static str],
    /// Finds any number (at least one), exported as lists; otherwise exactly one.
    pub many: bool,
    /// Which combinations of `by` make a search.
    pub check: fn(&LookupSchema, &Map<String, Value>) -> Vec<Finding>,
}

const PORT: Kind = Kind::Int { min: 1, max: 65_535 };
const TAGS: Kind = Kind::Map(&Kind::String);

pub static VPC: LookupSchema = LookupSchema {
    name: "vpc",
    noun: "VPC",
    by: &[
        Attr::new("id", Kind::String),
        Attr::new("name", Kind::String),
        Attr::new("cidr_block", Kind::Cidr),
        Attr::new("tags", TAGS),
    ],
    exports: &["id", "arn", "cidr_block"],
    many: false,
    check: any_of,
};

pub static SUBNET: LookupSchema = LookupSchema {
    name: "subnet",
    noun: "subnet",
    by: &[
        Attr::new("id", Kind::String),
        Attr::new("name", Kind::String),
        Attr::new("vpc_id", Kind::String),
        Attr::new("availability_zone", Kind::String),
        Attr::new("cidr_block", Kind::Cidr),
        Attr::new("tags", TAGS),
    ],
    exports: &["id", "arn", "vpc_id", "cidr_block", "availability_zone"],
    many: false,
    check: any_of,
};

pub static SUBNETS: LookupSchema = LookupSchema {
    name: "subnets",
    noun: "subnet",
    by: &[
        Attr::new("vpc_id", Kind::String),
        Attr::new("availability_zone", Kind::String),
        Attr::new("tags", TAGS),
    ],
    // The same order in each list: by availability zone, then id.
    exports: &["ids", "cidr_blocks", "availability_zones"],
    many: true,
    check: any_of,
};

pub static SECURITY_GROUP: LookupSchema = LookupSchema {
    name: "security_group",
    noun: "security group",
    by: &[
        Attr::new("id", Kind::String),
        Attr::new("name", Kind::String),
        Attr::new("vpc_id", Kind::String),
        Attr::new("tags", TAGS),
    ],
    exports: &["id", "arn", "name", "vpc_id"],
    many: false,
    check: any_of,
};

pub static LOAD_BALANCER: LookupSchema = LookupSchema {
    name: "load_balancer",
    noun: "load balancer",
    by: &[Attr::new("arn", Kind::String), Attr::new("name", Kind::String), Attr::new("tags", TAGS)],
    exports: &["arn", "arn_suffix", "name", "dns_name", "zone_id", "vpc_id", "security_groups"],
    many: false,
    check: any_of,
};

pub static LISTENER: LookupSchema = LookupSchema {
    name: "listener",
    noun: "listener",
    by: &[
        Attr::new("arn", Kind::String),
        Attr::new("load_balancer_arn", Kind::String),
        Attr::new("port", PORT),
    ],
    exports: &["arn", "port", "protocol", "load_balancer_arn"],
    many: false,
    check: listener,
};

pub static TARGET_GROUP: LookupSchema = LookupSchema {
    name: "target_group",
    noun: "target group",
    by: &[Attr::new("arn", Kind::String), Attr::new("name", Kind::String), Attr::new("tags", TAGS)],
    exports: &["arn", "arn_suffix", "name", "port", "protocol", "vpc_id"],
    many: false,
    check: any_of,
};

pub static IAM_ROLE: LookupSchema = LookupSchema {
    name: "iam_role",
    noun: "IAM role",
    // IAM has no search by tag (ListRoles returns no tags): by name or ARN.
    by: &[Attr::new("name", Kind::String), Attr::new("arn", Kind::String)],
    exports: &["arn", "name", "id"],
    many: false,
    check: one_of,
};

pub static ACM_CERTIFICATE: LookupSchema = LookupSchema {
    name: "acm_certificate",
    noun: "issued ACM certificate",
    by: &[
        Attr::new("arn", Kind::String),
        Attr::new("domain", Kind::String),
        Attr::new("tags", TAGS),
        // Left out, Amazon-issued only: anyone allowed to import a
        // certificate could otherwise put the newest one in place, and the
        // HTTPS listener would take its key at the next apply.
        Attr::new("types", Kind::Set(&Kind::Enum(CERTIFICATE_TYPES))),
    ],
    exports: &["arn", "domain", "not_after"],
    many: false,
    check: certificate_search,
};

pub static SSM_PARAMETER: LookupSchema = LookupSchema {
    name: "ssm_parameter",
    noun: "SSM parameter",
    // By its name: AWS's public parameters too, such as
    // /aws/service/eks/optimized-ami/1.33/amazon-linux-2023/x86_64/standard/recommended/release_version.
    by: &[Attr::new("name", Kind::String).required()],
    exports: &["value", "version", "type", "arn", "name"],
    many: false,
    check: any_of,
};

pub static EKS_ADDON_VERSION: LookupSchema = LookupSchema {
    name: "eks_addon_version",
    noun: "EKS add-on version",
    by: &[
        Attr::new("addon_name", Kind::String).required(),
        Attr::new("kubernetes_version", Kind::String).required(),
        // Left out (false): the version AWS installs by default for that
        // Kubernetes version, as Terraform's aws_eks_addon_version does.
        Attr::new("most_recent", Kind::Bool),
    ],
    exports: &["version", "addon_name"],
    many: false,
    check: any_of,
};

pub static MANAGED_PREFIX_LIST: LookupSchema = LookupSchema {
    name: "managed_prefix_list",
    noun: "managed prefix list",
    // AWS's own lists are named for their service
    // (com.amazonaws.REGION.s3); the account's own by their name.
    by: &[Attr::new("id", Kind::String), Attr::new("name", Kind::String), Attr::new("tags", TAGS)],
    exports: &["id", "arn", "name", "cidr_blocks", "max_entries"],
    many: false,
    check: any_of,
};

pub static VPC_ENDPOINT_SERVICE: LookupSchema = LookupSchema {
    name: "vpc_endpoint_service",
    noun: "VPC endpoint service",
    // `service` is AWS's short name (s3, ecr.api, sts): com.amazonaws.REGION.SERVICE.
    by: &[
        Attr::new("service", Kind::String),
        Attr::new("service_name", Kind::String),
        Attr::new("service_type", Kind::Enum(&["Gateway", "Interface", "GatewayLoadBalancer"])),
    ],
    exports: &["service_name", "service_type", "availability_zones", "private_dns_name", "id"],
    many: false,
    check: endpoint_service,
};

pub static AMI: LookupSchema = LookupSchema {
    name: "ami",
    noun: "AMI",
    by: &[
        // Whose images: account ids, or amazon, self, aws-marketplace.
        Attr::new("owners", Kind::Set(&Kind::String)).required(),
        // A name pattern, * and ? as wildcards.
        Attr::new("name", Kind::String),
        Attr::new("architecture", Kind::Enum(&["x86_64", "arm64", "i386"])),
        Attr::new("id", Kind::String),
        Attr::new("tags", TAGS),
        // Of all that match, the newest (by creation date); else exactly one must.
        Attr::new("most_recent", Kind::Bool),
    ],
    exports: &["id", "name", "creation_date", "architecture", "owner_id"],
    many: false,
    check: any_of,
};

pub static AUTOSCALING_GROUP: LookupSchema = LookupSchema {
    name: "autoscaling_group",
    noun: "Auto Scaling group",
    by: &[Attr::new("name", Kind::String), Attr::new("tags", TAGS)],
    exports: &[
        "name",
        "arn",
        "instance_ids",
        "desired_capacity",
        "min_size",
        "max_size",
        "target_group_arns",
        "availability_zones",
    ],
    many: false,
    check: any_of,
};

/// An endpoint service by its short name or its whole name, not both.
fn endpoint_service(kind: &LookupSchema, query: &Map<String, Value>) -> Vec<Finding> {
    if query.contains_key("service") && query.contains_key("service_name") {
        return vec![Finding {
            lint: None,
            pointer: "/service".into(),
            message: "give `service` or `service_name`, not both".into(),
            hint: Some("service: s3 is service_name: com.amazonaws.REGION.s3".into()),
        }];
    }
    let searched: Map<String, Value> = query
        .iter()
        .filter(|(k, _)| *k != "service_type")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    any_of(kind, &searched)
}

/// The kinds of ACM certificate, as AWS names them.
pub const CERTIFICATE_TYPES: &[&str] = &["AMAZON_ISSUED", "PRIVATE", "IMPORTED"];

/// The kinds of certificate a certificate lookup takes: what it names, else
/// Amazon-issued only.
pub fn certificate_types(query: &Map<String, Value>) -> Vec<String> {
    match query.get("types").and_then(Value::as_array) {
        Some(t) if !t.is_empty() => {
            t.iter().filter_map(Value::as_str).map(str::to_string).collect()
        }
        _ => vec!["AMAZON_ISSUED".to_string()],
    }
}

/// A certificate search: by something, and an imported one only by its tags
/// too (whoever may import a certificate chooses its domain and its date).
fn certificate_search(kind: &LookupSchema, query: &Map<String, Value>) -> Vec<Finding> {
    let searched: Map<String, Value> =
        query.iter().filter(|(k, _)| *k != "types").map(|(k, v)| (k.clone(), v.clone())).collect();
    let mut out = any_of(kind, &searched);
    let imported = certificate_types(query).iter().any(|t| t == "IMPORTED");
    let tagged = query.get("tags").and_then(Value::as_object).is_some_and(|t| !t.is_empty());
    if imported && !tagged {
        out.push(Finding {
            lint: None,
            pointer: "/types".into(),
            message: "an imported certificate is looked up by its tags too".into(),
            hint: Some(
                "add `tags:` that only your certificate carries: anyone allowed to import a certificate could otherwise swap the listener's key"
                    .into(),
            ),
        });
    }
    out
}

/// Every kind of lookup, one line each.
pub static LOOKUPS: &[&LookupSchema] = &[
    &VPC,
    &SUBNET,
    &SUBNETS,
    &SECURITY_GROUP,
    &LOAD_BALANCER,
    &LISTENER,
    &TARGET_GROUP,
    &IAM_ROLE,
    &ACM_CERTIFICATE,
    &SSM_PARAMETER,
    &EKS_ADDON_VERSION,
    &MANAGED_PREFIX_LIST,
    &VPC_ENDPOINT_SERVICE,
    &AMI,
    &AUTOSCALING_GROUP,
];

/// The kind of lookup of a name in the stack file.
pub fn lookup(name: &str) -> Option<&'static LookupSchema> {
    LOOKUPS.iter().copied().find(|s| s.name == name)
}

fn names(by: &[Attr]) -> String {
    by.iter().map(|a| a.name).collect::<Vec<_>>().join(", ")
}

fn search_needed(kind: &LookupSchema) -> Vec<Finding> {
    vec![Finding {
        lint: None,
        pointer: String::new(),
        message: format!("say which {} to look for: by {}", kind.noun, names(kind.by)),
        hint: Some("a lookup that names nothing to look for would find everything".into()),
    }]
}

/// At least one attribute to search by.
fn any_of(kind: &LookupSchema, query: &Map<String, Value>) -> Vec<Finding> {
    if query.values().any(|v| !is_empty(v)) {
        return Vec::new();
    }
    search_needed(kind)
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Object(o) => o.is_empty(),
        Value::String(s) => s.is_empty(),
        Value::Null => true,
        _ => false,
    }
}

/// Exactly one of the attributes (an IAM role: name or ARN).
fn one_of(kind: &LookupSchema, query: &Map<String, Value>) -> Vec<Finding> {
    match query.len() {
        1 => Vec::new(),
        0 => search_needed(kind),
        _ => vec![Finding {
            lint: None,
            pointer: String::new(),
            message: "give the role's `name` or its `arn`, not both".into(),
            hint: None,
        }],
    }
}

/// By `arn`, or by `load_balancer_arn` and `port` together.
fn listener(_: &LookupSchema, query: &Map<String, Value>) -> Vec<Finding> {
    let has = |k: &str| query.contains_key(k);
    if has("arn") || (has("load_balancer_arn") && has("port")) {
        return Vec::new();
    }
    let (pointer, message) = match (has("load_balancer_arn"), has("port")) {
        (true, false) => {
            ("", "a listener is found by its load balancer and its port: `port` is missing")
        }
        (false, true) => (
            "/port",
            "a listener is found by its load balancer and its port: `load_balancer_arn` is missing",
        ),
        _ => ("", "say which listener: `arn`, or `load_balancer_arn` and `port`"),
    };
    vec![Finding {
        lint: None,
        pointer: pointer.into(),
        message: message.into(),
        hint: Some(
            "for example `load_balancer_arn: ${data.load_balancer.web.arn}` and `port: 443`".into(),
        ),
    }]
}

/// What was searched for, as a message says it: `name = game-ec2, tags = {team: web}`.
pub fn searched(query: &Map<String, Value>) -> String {
    query
        .iter()
        .map(|(k, v)| {
            let shown = match v {
                Value::String(s) => s.clone(),
                Value::Object(o) => format!(
                    "{{{}}}",
                    o.iter()
                        .map(|(k, v)| format!("{k}: {}", v.as_str().unwrap_or(&v.to_string())))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                other => other.to_string(),
            };
            format!("{k} = {shown}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why a lookup found nothing it can use.
#[derive(Debug, Clone, PartialEq)]
pub struct Unsettled {
    pub message: String,
    pub hint: String,
}

impl LookupSchema {
    /// The values a stack uses from what AWS answered (each match as the
    /// kind's exports), or why there are none: nothing matched, or more than one
    /// where one was wanted.
    pub fn settle(
        &self,
        query: &Map<String, Value>,
        mut matches: Vec<Map<String, Value>>,
    ) -> Result<Map<String, Value>, Unsettled> {
        let what = searched(query);
        let by = names(self.by);
        match matches.len() {
            0 => Err(Unsettled {
                message: format!("no {} matches {what}", self.noun),
                hint: format!(
                    "check that it exists in this account and region; a {} is looked up by {by}",
                    self.noun
                ),
            }),
            1 if !self.many => Ok(matches.remove(0)),
            n if !self.many => {
                let mut ids: Vec<String> = matches.iter().map(identity).collect();
                ids.sort();
                Err(Unsettled {
                    message: format!("{n} {}s match {what}: {}", self.noun, ids.join(", ")),
                    hint: format!("a lookup finds exactly one: narrow it by {by}"),
                })
            }
            _ => {
                let key = |m: &Map<String, Value>| {
                    (text(m, "availability_zone").to_string(), text(m, "id").to_string())
                };
                matches.sort_by_key(key);
                let mut out = Map::new();
                for (export, field) in [
                    ("ids", "id"),
                    ("cidr_blocks", "cidr_block"),
                    ("availability_zones", "availability_zone"),
                ] {
                    out.insert(
                        export.into(),
                        Value::Array(
                            matches
                                .iter()
                                .map(|m| m.get(field).cloned().unwrap_or(Value::Null))
                                .collect(),
                        ),
                    );
                }
                Ok(out)
            }
        }
    }
}

fn text<'a>(m: &'a Map<String, Value>, key: &str) -> &'a str {
    m.get(key).and_then(Value::as_str).unwrap_or("")
}

/// What names one match in a message: its id or ARN.
fn identity(m: &Map<String, Value>) -> String {
    ["id", "arn", "name"]
        .iter()
        .find_map(|k| m.get(*k).and_then(Value::as_str))
        .unwrap_or("?")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn one_match_is_found_none_or_two_say_what_was_searched() {
        let q = map(json!({"name": "game-ec2"}));
        let tg = map(json!({"arn": "arn:tg/1", "name": "game-ec2"}));
        assert_eq!(TARGET_GROUP.settle(&q, vec![tg.clone()]), Ok(tg.clone()));
        let none = TARGET_GROUP.settle(&q, Vec::new()).unwrap_err();
        assert_eq!(none.message, "no target group matches name = game-ec2");
        assert!(none.hint.contains("arn, name, tags"), "{}", none.hint);
        let other = map(json!({"arn": "arn:tg/0"}));
        let two = TARGET_GROUP.settle(&q, vec![tg, other]).unwrap_err();
        assert_eq!(two.message, "2 target groups match name = game-ec2: arn:tg/0, arn:tg/1");
    }

    #[test]
    fn many_are_listed_by_zone_then_id() {
        let q = map(json!({"tags": {"tier": "private"}}));
        let found = SUBNETS
            .settle(
                &q,
                vec![
                    map(json!({"id": "subnet-b", "availability_zone": "z-c", "cidr_block": "10.0.2.0/24"})),
                    map(json!({"id": "subnet-a", "availability_zone": "z-a", "cidr_block": "10.0.1.0/24"})),
                ],
            )
            .unwrap();
        assert_eq!(found["ids"], json!(["subnet-a", "subnet-b"]));
        assert_eq!(found["availability_zones"], json!(["z-a", "z-c"]));
        let none = SUBNETS.settle(&q, Vec::new()).unwrap_err();
        assert_eq!(none.message, "no subnet matches tags = {tier: private}");
    }

    #[test]
    fn searches_that_say_nothing_are_refused() {
        let none = (VPC.check)(&VPC, &Map::new());
        assert_eq!(none[0].message, "say which VPC to look for: by id, name, cidr_block, tags");
        assert!((VPC.check)(&VPC, &map(json!({"name": "legacy"}))).is_empty());
        let both = map(json!({"name": "a", "arn": "b"}));
        assert_eq!((IAM_ROLE.check)(&IAM_ROLE, &both).len(), 1);
        let by_port = map(json!({"load_balancer_arn": "x", "port": 443}));
        assert!((LISTENER.check)(&LISTENER, &by_port).is_empty());
        let port_only = map(json!({"port": 443}));
        assert_eq!((LISTENER.check)(&LISTENER, &port_only)[0].pointer, "/port");
    }
}
