//! The finders of lookups (`data:`): one per kind of `types::lookup`, each
//! only reading. EC2 searches by filters (an id that does not exist is no
//! match, not an error); ELBv2 by names or ARNs, and by tags through
//! DescribeTags; IAM by name; ACM among the issued certificates; SSM
//! parameters by name; EKS add-on versions from DescribeAddonVersions.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_ec2::types::Filter;
use serde_json::{Map, Value, json};

use super::{Aws, Result, api, ec2_tags, elbv2};
use crate::provider::{Finder, GoneOk};
use crate::types::Attrs;

/// EC2 filters for a search: each attribute by its filter name, `name` as the
/// `Name` tag, each of `tags` as `tag:KEY`.
fn ec2_filters(query: &Attrs, names: &[(&str, &str)]) -> Vec<Filter> {
    let mut out = Vec::new();
    let filter = |name: String, value: &str| Filter::builder().name(name).values(value).build();
    for (attr, name) in names {
        if let Some(v) = query.get(*attr).and_then(Value::as_str) {
            out.push(filter((*name).to_string(), v));
        }
    }
    if let Some(v) = query.get("name").and_then(Value::as_str) {
        out.push(filter("tag:Name".into(), v));
    }
    for (k, v) in tags(query) {
        out.push(filter(format!("tag:{k}"), &v));
    }
    out
}

/// The `tags` of a search.
fn tags(query: &Attrs) -> Vec<(String, String)> {
    query
        .get("tags")
        .and_then(Value::as_object)
        .map(|o| {
            o.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect()
        })
        .unwrap_or_default()
}

/// Whether read-back tags hold every tag of a search (and its `Name` tag,
/// for an EC2 search by `name`). EC2 filters on them already; an endpoint
/// that ignores a filter must not widen a search.
fn has_tags(found: &Value, query: &Attrs) -> bool {
    let named = |k: &str, v: &str| found.get(k).and_then(Value::as_str) == Some(v);
    tags(query).iter().all(|(k, v)| named(k, v))
        && query.get("name").and_then(Value::as_str).is_none_or(|n| named("Name", n))
}

fn object(v: Value) -> Attrs {
    match v {
        Value::Object(o) => o,
        _ => Map::new(),
    }
}

pub struct FindVpc(pub Arc<Aws>);

#[async_trait]
impl Finder for FindVpc {
    async fn find(&self, query: &Attrs) -> Result<Vec<Attrs>> {
        let aws = &*self.0;
        let filters = ec2_filters(query, &[("id", "vpc-id"), ("cidr_block", "cidr-block")]);
        let mut pages = aws.ec2.describe_vpcs().set_filters(Some(filters)).into_paginator().send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            for v in page.map_err(api("DescribeVpcs"))?.vpcs() {
                if !has_tags(&ec2_tags::value(v.tags()), query) {
                    continue;
                }
                let id = v.vpc_id().unwrap_or_default();
                out.push(object(json!({
                    "id": id,
                    "arn": format!("arn:aws:ec2:{}:{}:vpc/{id}", aws.region, v.owner_id().unwrap_or_default()),
                    "cidr_block": v.cidr_block(),
                })));
            }
        }
        Ok(out)
    }
}

/// `subnet` and `subnets` alike: every subnet that matches.
pub struct FindSubnets(pub Arc<Aws>);

#[async_trait]
impl Finder for FindSubnets {
    async fn find(&self, query: &Attrs) -> Result<Vec<Attrs>> {
        let filters = ec2_filters(
            query,
            &[
                ("id", "subnet-id"),
                ("vpc_id", "vpc-id"),
                ("availability_zone", "availability-zone"),
                ("cidr_block", "cidr-block"),
            ],
        );
        let mut pages =
            self.0.ec2.describe_subnets().set_filters(Some(filters)).into_paginator().send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            for n in page.map_err(api("DescribeSubnets"))?.subnets() {
                if !has_tags(&ec2_tags::value(n.tags()), query) {
                    continue;
                }
                out.push(object(json!({
                    "id": n.subnet_id(),
                    "arn": n.subnet_arn(),
                    "vpc_id": n.vpc_id(),
                    "cidr_block": n.cidr_block(),
                    "availability_zone": n.availability_zone(),
                })));
            }
        }
        Ok(out)
    }
}

pub struct FindSecurityGroup(pub Arc<Aws>);

#[async_trait]
impl Finder for FindSecurityGroup {
    async fn find(&self, query: &Attrs) -> Result<Vec<Attrs>> {
        let aws = &*self.0;
        // A security group's name is its group name, not a `Name` tag.
        let mut named = query.clone();
        let group_name = named.remove("name");
        let mut filters = ec2_filters(&named, &[("id", "group-id"), ("vpc_id", "vpc-id")]);
        if let Some(n) = group_name.as_ref().and_then(Value::as_str) {
            filters.push(Filter::builder().name("group-name").values(n).build());
        }
        let mut pages =
            aws.ec2.describe_security_groups().set_filters(Some(filters)).into_paginator().send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            for g in page.map_err(api("DescribeSecurityGroups"))?.security_groups() {
                let id = g.group_id().unwrap_or_default();
                // Filters by tag are applied here too: an endpoint may ignore them.
                if !has_tags(&ec2_tags::value(g.tags()), &named) {
                    continue;
                }
                out.push(object(json!({
                    "id": id,
                    "arn": format!("arn:aws:ec2:{}:{}:security-group/{id}", aws.region, g.owner_id().unwrap_or_default()),
                    "name": g.group_name(),
                    "vpc_id": g.vpc_id(),
                })));
            }
        }
        Ok(out)
    }
}

/// Keeps what matches a search's `arn` and `name` exactly (an answer may hold
/// more than was asked for) and carries every tag it names (ELBv2:
/// DescribeTags, twenty ARNs a call).
async fn elbv2_matching(aws: &Aws, found: Vec<Attrs>, query: &Attrs) -> Result<Vec<Attrs>> {
    let same = |f: &Attrs, key: &str| {
        query
            .get(key)
            .and_then(Value::as_str)
            .is_none_or(|want| f.get(key).and_then(Value::as_str) == Some(want))
    };
    let found: Vec<Attrs> =
        found.into_iter().filter(|f| same(f, "arn") && same(f, "name")).collect();
    if tags(query).is_empty() || found.is_empty() {
        return Ok(found);
    }
    let arns: Vec<String> = found
        .iter()
        .filter_map(|f| f.get("arn").and_then(Value::as_str).map(str::to_string))
        .collect();
    let read = elbv2::read_tags(aws, &arns).await?;
    Ok(found
        .into_iter()
        .filter(|f| {
            let arn = f.get("arn").and_then(Value::as_str).unwrap_or_default();
            read.get(arn).is_some_and(|t| has_tags(t, query))
        })
        .collect())
}

pub struct FindLoadBalancer(pub Arc<Aws>);

#[async_trait]
impl Finder for FindLoadBalancer {
    async fn find(&self, query: &Attrs) -> Result<Vec<Attrs>> {
        let aws = &*self.0;
        let mut request = aws.elbv2.describe_load_balancers();
        if let Some(arn) = query.get("arn").and_then(Value::as_str) {
            request = request.load_balancer_arns(arn);
        }
        if let Some(name) = query.get("name").and_then(Value::as_str) {
            request = request.names(name);
        }
        // A name or ARN that does not exist is no match.
        let pages = pages!(request, "DescribeLoadBalancers").or_gone()?.unwrap_or_default();
        let found = pages
            .iter()
            .flat_map(|p| p.load_balancers())
            .map(|lb| {
                let arn = lb.load_balancer_arn().unwrap_or_default();
                object(json!({
                    "arn": arn,
                    "arn_suffix": elbv2::arn_suffix(arn),
                    "name": lb.load_balancer_name(),
                    "dns_name": lb.dns_name(),
                    "zone_id": lb.canonical_hosted_zone_id(),
                    "vpc_id": lb.vpc_id(),
                    "security_groups": lb.security_groups(),
                }))
            })
            .collect();
        elbv2_matching(aws, found, query).await
    }
}

pub struct FindListener(pub Arc<Aws>);

#[async_trait]
impl Finder for FindListener {
    async fn find(&self, query: &Attrs) -> Result<Vec<Attrs>> {
        let mut request = self.0.elbv2.describe_listeners();
        if let Some(arn) = query.get("arn").and_then(Value::as_str) {
            request = request.listener_arns(arn);
        }
        if let Some(lb) = query.get("load_balancer_arn").and_then(Value::as_str) {
            request = request.load_balancer_arn(lb);
        }
        let pages = pages!(request, "DescribeListeners").or_gone()?.unwrap_or_default();
        let port = query.get("port").and_then(Value::as_i64);
        Ok(pages
            .iter()
            .flat_map(|p| p.listeners())
            .filter(|l| port.is_none_or(|p| l.port().map(i64::from) == Some(p)))
            .map(|l| {
                object(json!({
                    "arn": l.listener_arn(),
                    "port": l.port(),
                    "protocol": l.protocol().map(|p| p.as_str()),
                    "load_balancer_arn": l.load_balancer_arn(),
                }))
            })
            .collect())
    }
}

pub struct FindTargetGroup(pub Arc<Aws>);

#[async_trait]
impl Finder for FindTargetGroup {
    async fn find(&self, query: &Attrs) -> Result<Vec<Attrs>> {
        let aws = &*self.0;
        let mut request = aws.elbv2.describe_target_groups();
        if let Some(arn) = query.get("arn").and_then(Value::as_str) {
            request = request.target_group_arns(arn);
        }
        if let Some(name) = query.get("name").and_then(Value::as_str) {
            request = request.names(name);
        }
        let pages = pages!(request, "DescribeTargetGroups").or_gone()?.unwrap_or_default();
        let found = pages
            .iter()
            .flat_map(|p| p.target_groups())
            .map(|tg| {
                let arn = tg.target_group_arn().unwrap_or_default();
                object(json!({
                    "arn": arn,
                    "arn_suffix": elbv2::arn_suffix(arn),
                    "name": tg.target_group_name(),
                    "port": tg.port(),
                    "protocol": tg.protocol().map(|p| p.as_str()),
                    "vpc_id": tg.vpc_id(),
                }))
            })
            .collect();
        elbv2_matching(aws, found, query).await
    }
}

pub struct FindIamRole(pub Arc<Aws>);

#[async_trait]
impl Finder for FindIamRole {
    async fn find(&self, query: &Attrs) -> Result<Vec<Attrs>> {
        // A role's name is the last part of its ARN (after any path).
        let name = match (
            query.get("name").and_then(Value::as_str),
            query.get("arn").and_then(Value::as_str),
        ) {
            (Some(n), _) => n.to_string(),
            (None, Some(arn)) => arn.rsplit('/').next().unwrap_or(arn).to_string(),
            (None, None) => return Ok(Vec::new()),
        };
        let Some(role) = super::iam_role::get_role(&self.0, &name).await? else {
            return Ok(Vec::new());
        };
        if query.get("arn").and_then(Value::as_str).is_some_and(|a| a != role.arn()) {
            return Ok(Vec::new());
        }
        Ok(vec![object(json!({
            "arn": role.arn(),
            "name": role.role_name(),
            "id": role.role_id(),
        }))])
    }
}

/// The newest issued certificate of the kinds the lookup takes (Amazon-issued
/// unless it says otherwise) for a domain (its name or one of its
/// alternative names), by ARN, or by tags: ListCertificates of the issued
/// ones of every key type (left out, AWS lists RSA 2048 only), then
/// DescribeCertificate (and its tags) of each candidate.
pub struct FindCertificate(pub Arc<Aws>);

#[async_trait]
impl Finder for FindCertificate {
    async fn find(&self, query: &Attrs) -> Result<Vec<Attrs>> {
        use aws_sdk_acm::types::{CertificateStatus, Filters, KeyAlgorithm};
        let acm = &self.0.acm;
        let domain = query.get("domain").and_then(Value::as_str);
        let types = crate::types::lookup::certificate_types(query);
        let every_key = Filters::builder()
            .set_key_types(Some(
                KeyAlgorithm::values().iter().map(|k| KeyAlgorithm::from(*k)).collect(),
            ))
            .build();
        let candidates: Vec<String> = match query.get("arn").and_then(Value::as_str) {
            Some(arn) => vec![arn.to_string()],
            None => items!(
                acm.list_certificates()
                    .certificate_statuses(CertificateStatus::Issued)
                    .includes(every_key),
                "ListCertificates"
            )?
            .into_iter()
            .filter(|c| {
                domain.is_none_or(|d| {
                    c.domain_name() == Some(d)
                        || c.subject_alternative_name_summaries().iter().any(|s| s == d)
                })
            })
            .filter_map(|c| c.certificate_arn().map(str::to_string))
            .collect(),
        };
        let types = &types;
        let described = super::each(candidates, |arn| async move {
            let got =
                send!(acm.describe_certificate().certificate_arn(&arn), "DescribeCertificate")
                    .or_gone()?;
            let Some(c) = got.and_then(|g| g.certificate) else {
                return Ok(None);
            };
            let issued = c.status() == Some(&CertificateStatus::Issued)
                && c.r#type().is_some_and(|t| types.iter().any(|k| k == t.as_str()));
            let named = domain.is_none_or(|d| {
                c.domain_name() == Some(d) || c.subject_alternative_names().iter().any(|s| s == d)
            });
            if !issued || !named {
                return Ok(None);
            }
            if !tags(query).is_empty() {
                let t = send!(
                    acm.list_tags_for_certificate().certificate_arn(&arn),
                    "ListTagsForCertificate"
                )?;
                let read = crate::types::attrs::tags_value(
                    t.tags().iter().map(|t| (t.key(), t.value().unwrap_or_default())),
                );
                if !has_tags(&read, query) {
                    return Ok(None);
                }
            }
            let when = c.issued_at().or(c.imported_at()).or(c.created_at()).map_or(0, |t| t.secs());
            Ok(Some((when, c)))
        })
        .await?;
        // The newest issued one: a renewal or a re-import replaces the old.
        let newest = described
            .into_iter()
            .flatten()
            .max_by(|(a, x), (b, y)| a.cmp(b).then(x.certificate_arn().cmp(&y.certificate_arn())));
        Ok(newest
            .into_iter()
            .map(|(_, c)| {
                object(json!({
                    "arn": c.certificate_arn(),
                    "domain": c.domain_name(),
                    "not_after": c.not_after().map(|t| t.to_string()),
                }))
            })
            .collect())
    }
}

/// An SSM parameter by its name (GetParameter): one, or none when it does
/// not exist. A SecureString's value is not decrypted.
pub struct FindParameter(pub Arc<Aws>);

#[async_trait]
impl Finder for FindParameter {
    async fn find(&self, query: &Attrs) -> Result<Vec<Attrs>> {
        let Some(name) = query.get("name").and_then(Value::as_str) else {
            return Ok(Vec::new());
        };
        let got = send!(self.0.ssm.get_parameter().name(name), "GetParameter").or_gone()?;
        Ok(got
            .and_then(|o| o.parameter().cloned())
            .map(|p| {
                object(json!({
                    "name": p.name(),
                    "value": p.value(),
                    "version": p.version(),
                    "type": p.r#type().map(|t| t.as_str()),
                    "arn": p.arn(),
                }))
            })
            .into_iter()
            .collect())
    }
}

/// The version of an EKS add-on for a Kubernetes version
/// (DescribeAddonVersions): AWS's default for it, or the most recent.
pub struct FindAddonVersion(pub Arc<Aws>);

#[async_trait]
impl Finder for FindAddonVersion {
    async fn find(&self, query: &Attrs) -> Result<Vec<Attrs>> {
        let get = |k: &str| query.get(k).and_then(Value::as_str).unwrap_or_default();
        let (addon, kubernetes) = (get("addon_name"), get("kubernetes_version"));
        let most_recent = query.get("most_recent").and_then(Value::as_bool).unwrap_or(false);
        let addons: Vec<aws_sdk_eks::types::AddonInfo> = items!(
            self.0.eks.describe_addon_versions().addon_name(addon).kubernetes_version(kubernetes),
            "DescribeAddonVersions"
        )?;
        let versions: Vec<&aws_sdk_eks::types::AddonVersionInfo> = addons
            .iter()
            .filter(|a| a.addon_name() == Some(addon))
            .flat_map(|a| a.addon_versions())
            .filter(|v| v.compatibilities().iter().any(|c| c.cluster_version() == Some(kubernetes)))
            .collect();
        let chosen = if most_recent {
            versions.iter().filter_map(|v| v.addon_version()).max_by(newer)
        } else {
            versions
                .iter()
                .find(|v| {
                    v.compatibilities()
                        .iter()
                        .any(|c| c.cluster_version() == Some(kubernetes) && c.default_version())
                })
                .and_then(|v| v.addon_version())
        };
        Ok(chosen
            .map(|v| object(json!({ "version": v, "addon_name": addon })))
            .into_iter()
            .collect())
    }
}

/// Orders add-on versions (`v1.19.0-eksbuild.1`) by their numbers: major,
/// minor, patch, then the eksbuild.
fn newer(a: &&str, b: &&str) -> std::cmp::Ordering {
    let numbers = |v: &str| -> Vec<u64> {
        v.split(|c: char| !c.is_ascii_digit()).filter_map(|n| n.parse().ok()).collect()
    };
    numbers(a).cmp(&numbers(b))
}

/// A managed prefix list by id, name or tags (DescribeManagedPrefixLists),
/// with its entries' CIDR blocks (GetManagedPrefixListEntries).
pub struct FindPrefixList(pub Arc<Aws>);

#[async_trait]
impl Finder for FindPrefixList {
    async fn find(&self, query: &Attrs) -> Result<Vec<Attrs>> {
        let aws = &*self.0;
        let mut filters = Vec::new();
        let filter = |name: &str, value: &str| Filter::builder().name(name).values(value).build();
        if let Some(id) = query.get("id").and_then(Value::as_str) {
            filters.push(filter("prefix-list-id", id));
        }
        if let Some(name) = query.get("name").and_then(Value::as_str) {
            filters.push(filter("prefix-list-name", name));
        }
        for (k, v) in tags(query) {
            filters.push(filter(&format!("tag:{k}"), &v));
        }
        let lists: Vec<aws_sdk_ec2::types::ManagedPrefixList> = items!(
            aws.ec2.describe_managed_prefix_lists().set_filters(Some(filters)),
            "DescribeManagedPrefixLists"
        )?;
        // A prefix list's name is its own, not a `Name` tag.
        let mut by_tags = query.clone();
        by_tags.remove("name");
        let mut out = Vec::new();
        for l in lists {
            let named =
                |want: Option<&str>, have: Option<&str>| want.is_none_or(|w| have == Some(w));
            // An endpoint that ignores a filter must not widen the search.
            if !named(query.get("id").and_then(Value::as_str), l.prefix_list_id())
                || !named(query.get("name").and_then(Value::as_str), l.prefix_list_name())
                || !has_tags(&ec2_tags::value(l.tags()), &by_tags)
            {
                continue;
            }
            let id = l.prefix_list_id().unwrap_or_default();
            let entries: Vec<aws_sdk_ec2::types::PrefixListEntry> = items!(
                aws.ec2.get_managed_prefix_list_entries().prefix_list_id(id),
                "GetManagedPrefixListEntries"
            )?;
            let mut cidrs: Vec<&str> = entries.iter().filter_map(|e| e.cidr()).collect();
            cidrs.sort_unstable();
            out.push(object(json!({
                "id": id,
                "arn": l.prefix_list_arn(),
                "name": l.prefix_list_name(),
                "cidr_blocks": cidrs,
                "max_entries": l.max_entries(),
            })));
        }
        Ok(out)
    }
}

/// A VPC endpoint service by its short name (`s3`: com.amazonaws.REGION.s3)
/// or whole name, and its type (DescribeVpcEndpointServices).
pub struct FindEndpointService(pub Arc<Aws>);

#[async_trait]
impl Finder for FindEndpointService {
    async fn find(&self, query: &Attrs) -> Result<Vec<Attrs>> {
        let aws = &*self.0;
        let get = |k: &str| query.get(k).and_then(Value::as_str);
        let name = match (get("service_name"), get("service")) {
            (Some(n), _) => n.to_string(),
            (None, Some(short)) => format!("com.amazonaws.{}.{short}", aws.region),
            (None, None) => return Ok(Vec::new()),
        };
        // By ServiceNames (the emulator breaks on the service-name filter);
        // a name AWS does not offer here is no match.
        let found = match send!(
            aws.ec2.describe_vpc_endpoint_services().service_names(&name),
            "DescribeVpcEndpointServices"
        ) {
            Ok(found) => found,
            Err(e) if e.code() == "InvalidServiceName" => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        Ok(found
            .service_details()
            .iter()
            .filter(|d| d.service_name() == Some(name.as_str()))
            .filter_map(|d| {
                let kind = d.service_type().first().and_then(|t| t.service_type())?.as_str();
                if get("service_type").is_some_and(|want| want != kind) {
                    return None;
                }
                Some(object(json!({
                    "id": d.service_id(),
                    "service_name": d.service_name(),
                    "service_type": kind,
                    "availability_zones": d.availability_zones(),
                    "private_dns_name": d.private_dns_name(),
                })))
            })
            .collect())
    }
}

/// An AMI of the given owners (DescribeImages), by name pattern,
/// architecture, id or tags; with `most_recent`, the newest of those that
/// match.
pub struct FindAmi(pub Arc<Aws>);

#[async_trait]
impl Finder for FindAmi {
    async fn find(&self, query: &Attrs) -> Result<Vec<Attrs>> {
        let aws = &*self.0;
        let owners: Vec<String> = query
            .get("owners")
            .and_then(Value::as_array)
            .map(|o| o.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default();
        let mut filters = Vec::new();
        let filter = |name: &str, value: &str| Filter::builder().name(name).values(value).build();
        for (attr, name) in [("name", "name"), ("architecture", "architecture"), ("id", "image-id")]
        {
            if let Some(v) = query.get(attr).and_then(Value::as_str) {
                filters.push(filter(name, v));
            }
        }
        for (k, v) in tags(query) {
            filters.push(filter(&format!("tag:{k}"), &v));
        }
        let images = send!(
            aws.ec2.describe_images().set_owners(Some(owners)).set_filters(Some(filters)),
            "DescribeImages"
        )?;
        let mut found: Vec<Attrs> = images
            .images()
            .iter()
            .map(|i| {
                object(json!({
                    "id": i.image_id(),
                    "name": i.name(),
                    "creation_date": i.creation_date(),
                    "architecture": i.architecture().map(|a| a.as_str()),
                    "owner_id": i.owner_id(),
                }))
            })
            .collect();
        if query.get("most_recent").and_then(Value::as_bool) == Some(true) && found.len() > 1 {
            let date = |a: &Attrs| {
                a.get("creation_date").and_then(Value::as_str).unwrap_or("").to_string()
            };
            found.sort_by_key(date);
            found = found.split_off(found.len() - 1);
        }
        Ok(found)
    }
}

/// An Auto Scaling group by name or tags (DescribeAutoScalingGroups): its
/// sizes, its instances and the target groups it registers them in.
pub struct FindAutoscalingGroup(pub Arc<Aws>);

#[async_trait]
impl Finder for FindAutoscalingGroup {
    async fn find(&self, query: &Attrs) -> Result<Vec<Attrs>> {
        use aws_sdk_autoscaling::types::Filter as AsgFilter;
        let aws = &*self.0;
        let mut call = aws.autoscaling.describe_auto_scaling_groups();
        if let Some(name) = query.get("name").and_then(Value::as_str) {
            call = call.auto_scaling_group_names(name);
        }
        for (k, v) in tags(query) {
            call = call.filters(AsgFilter::builder().name(format!("tag:{k}")).values(v).build());
        }
        let groups: Vec<aws_sdk_autoscaling::types::AutoScalingGroup> =
            items!(call, "DescribeAutoScalingGroups")?;
        Ok(groups
            .iter()
            .filter(|g| {
                let tags = crate::types::attrs::tags_value(
                    g.tags()
                        .iter()
                        .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default())),
                );
                has_tags(&tags, query)
                    && query
                        .get("name")
                        .and_then(Value::as_str)
                        .is_none_or(|n| g.auto_scaling_group_name() == Some(n))
            })
            .map(|g| {
                let mut instances: Vec<&str> =
                    g.instances().iter().filter_map(|i| i.instance_id()).collect();
                instances.sort_unstable();
                object(json!({
                    "id": g.auto_scaling_group_name(),
                    "name": g.auto_scaling_group_name(),
                    "arn": g.auto_scaling_group_arn(),
                    "instance_ids": instances,
                    "desired_capacity": g.desired_capacity(),
                    "min_size": g.min_size(),
                    "max_size": g.max_size(),
                    "target_group_arns": g.target_group_arns(),
                    "availability_zones": g.availability_zones(),
                }))
            })
            .collect())
    }
}
