//! `s3_bucket`: a bucket with safe defaults (public access blocked, encryption on).

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;

use super::{Aws, Result};
use crate::provider::{ApiError, GoneOk, Made, OpContext, Provider};
use crate::types::attrs::{differs, into_map, tags_value};
use crate::types::s3_bucket as ty;
use crate::types::{Attrs, AttrsExt};
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, BucketLocationConstraint, BucketVersioningStatus,
    CorsConfiguration, CorsRule, CreateBucketConfiguration, Delete, ExpirationStatus,
    LifecycleExpiration, LifecycleRule, LifecycleRuleFilter, NoncurrentVersionExpiration,
    ObjectIdentifier, ObjectOwnership, OwnershipControls, OwnershipControlsRule,
    PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule, Tag, Tagging, Transition,
    TransitionStorageClass, VersioningConfiguration,
};
use serde_json::{Value, json};

fn lifecycle_rule(r: &Value) -> Result<LifecycleRule> {
    let days = |k: &str| r.get(k).and_then(Value::as_i64).map(|d| d as i32);
    let transitions = r.get("transitions").and_then(Value::as_array).map(|t| {
        t.iter()
            .map(|t| {
                Transition::builder()
                    .set_days(t["days"].as_i64().map(|d| d as i32))
                    .set_storage_class(
                        t["storage_class"].as_str().map(TransitionStorageClass::from),
                    )
                    .build()
            })
            .collect()
    });
    let enabled = r.get("enabled").and_then(Value::as_bool).unwrap_or(true);
    Ok(LifecycleRule::builder()
        .set_id(r.get("id").and_then(Value::as_str).map(str::to_string))
        .filter(
            LifecycleRuleFilter::builder()
                .prefix(r.get("prefix").and_then(Value::as_str).unwrap_or(""))
                .build(),
        )
        .status(if enabled { ExpirationStatus::Enabled } else { ExpirationStatus::Disabled })
        .set_expiration(
            days("expiration_days").map(|d| LifecycleExpiration::builder().days(d).build()),
        )
        .set_noncurrent_version_expiration(
            days("noncurrent_expiration_days")
                .map(|d| NoncurrentVersionExpiration::builder().noncurrent_days(d).build()),
        )
        .set_transitions(transitions)
        .build()?)
}

fn lifecycle_value(r: &LifecycleRule) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("id".into(), json!(r.id()));
    let prefix = r.filter().and_then(|f| f.prefix()).unwrap_or("");
    m.insert("prefix".into(), json!(prefix));
    m.insert("enabled".into(), json!(r.status() == &ExpirationStatus::Enabled));
    if let Some(d) = r.expiration().and_then(|e| e.days()) {
        m.insert("expiration_days".into(), json!(d));
    }
    if let Some(d) = r.noncurrent_version_expiration().and_then(|e| e.noncurrent_days()) {
        m.insert("noncurrent_expiration_days".into(), json!(d));
    }
    if !r.transitions().is_empty() {
        let t: Vec<Value> = r
            .transitions()
            .iter()
            .map(|t| json!({"days": t.days(), "storage_class": t.storage_class().map(|s| s.as_str())}))
            .collect();
        m.insert("transitions".into(), Value::Array(t));
    }
    Value::Object(m)
}

pub struct S3Bucket {
    aws: Arc<Aws>,
    /// The buckets this account held before this run's first create: one
    /// ListBuckets for every create of the run (a HeadBucket each would be
    /// one request a bucket), taken at the first create, not at the
    /// refresh, so that a confirmation's wait is not inside it.
    before: tokio::sync::OnceCell<std::collections::HashSet<String>>,
}

impl S3Bucket {
    pub fn new(aws: Arc<Aws>) -> S3Bucket {
        S3Bucket { aws, before: tokio::sync::OnceCell::new() }
    }

    /// Whether the bucket existed in this account before this run created
    /// anything.
    async fn existed(&self, name: &str) -> Result<bool> {
        let listed = self
            .before
            .get_or_try_init(|| async {
                Ok::<_, anyhow::Error>(
                    list_buckets(&self.aws)
                        .await?
                        .iter()
                        .filter_map(|b| b.name().map(str::to_string))
                        .collect(),
                )
            })
            .await?;
        Ok(listed.contains(name))
    }
}

#[async_trait]
impl Provider for S3Bucket {
    async fn read(&self, ids: &[String]) -> Result<HashMap<String, Attrs>> {
        let aws = &*self.aws;
        // S3 has no batch read of bucket settings: one ListBuckets tells which
        // exist (instead of a HeadBucket each), then each bucket's settings.
        let existing: Vec<String> = if ids.len() > 1 {
            let listed: std::collections::HashSet<String> = list_buckets(aws)
                .await?
                .iter()
                .filter_map(|b| b.name().map(str::to_string))
                .collect();
            ids.iter().filter(|i| listed.contains(*i)).cloned().collect()
        } else {
            ids.to_vec()
        };
        let checked = ids.len() > 1;
        let reads = super::each(existing, |name| async move {
            read_one(aws, &name, checked).await.map(|a| a.map(|a| (name, a)))
        })
        .await?;
        Ok(reads.into_iter().flatten().collect())
    }

    /// A bucket this account held before the run is never answered as
    /// made: whether it is this stack's is for its tags to say (`refused`).
    /// That is what proves a create made the bucket: not listed before, and
    /// CreateBucket answered 200 (in us-east-1 it answers 200 for a bucket
    /// this account owns already, so the list is the only proof there).
    /// Nothing is adopted for being new.
    async fn create(&self, _ctx: &OpContext, attrs: &Attrs) -> Result<Made> {
        let aws = &*self.aws;
        let name = attrs.str("name")?;
        if self.existed(name).await? {
            return Err(ApiError::new(
                "CreateBucket",
                "BucketAlreadyOwnedByYou",
                "the bucket exists in this account already (ListBuckets listed it before the create)",
            )
            .into());
        }
        // Its tags go in the create (general purpose buckets take them since
        // 2025, given s3:TagResource), so that what a create made carries its
        // owner tags from the first moment, as the other types' do; without
        // that permission it is made bare, as before, and tagged after.
        let tags: Vec<Tag> = attrs
            .tags()
            .into_iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect::<std::result::Result<_, _>>()?;
        let create = |tagged: bool| {
            let mut config = CreateBucketConfiguration::builder();
            if aws.region != "us-east-1" {
                config =
                    config.location_constraint(BucketLocationConstraint::from(aws.region.as_str()));
            }
            if tagged {
                config = config.set_tags(Some(tags.clone()));
            }
            let req = aws.s3.create_bucket().bucket(name);
            match tagged || aws.region != "us-east-1" {
                true => req.create_bucket_configuration(config.build()),
                false => req,
            }
        };
        match send!(create(!tags.is_empty()), "CreateBucket") {
            Ok(_) => {}
            Err(e) if !tags.is_empty() && e.code().starts_with("AccessDenied") => {
                send!(create(false), "CreateBucket")?;
            }
            Err(e) => return Err(e.into()),
        }
        // Its tags are put again by `update`: an endpoint that ignores them
        // in the create (an emulator) has them too.
        Ok(Made::holding(name, new_bucket(name)))
    }

    /// Its tags may not have gone in the create (without s3:TagResource):
    /// recorded as soon as the create answers, so that nothing is left for
    /// recovery to tell by anything but tags.
    fn tags_at_create(&self) -> bool {
        false
    }

    /// Its ARN: nothing else of a bucket is computed by AWS.
    async fn settled(&self, id: &str, _asked: &Attrs) -> Result<Option<Attrs>> {
        Ok(Some(into_map(json!({"arn": format!("arn:aws:s3:::{id}")}))))
    }

    /// One ListBuckets for every bucket.
    async fn exist(&self, ids: &[String]) -> Result<std::collections::HashSet<String>> {
        let listed: std::collections::HashSet<String> = list_buckets(&self.aws)
            .await?
            .iter()
            .filter_map(|b| b.name().map(str::to_string))
            .collect();
        Ok(ids.iter().filter(|i| listed.contains(*i)).cloned().collect())
    }

    async fn update(
        &self,
        _ctx: &OpContext,
        id: &str,
        before: &Attrs,
        after: &Attrs,
    ) -> Result<()> {
        let aws = &*self.aws;
        if differs(before, after, "public_access_block") {
            put_access_block(aws, id, after).await?;
        }
        if differs(before, after, "encryption") || differs(before, after, "kms_key_id") {
            put_encryption(aws, id, after).await?;
        }
        if differs(before, after, "versioning") {
            put_versioning(aws, id, after).await?;
        }
        if differs(before, after, "object_ownership") {
            put_ownership(aws, id, after).await?;
        }
        if differs(before, after, "lifecycle_rules") {
            put_lifecycle(aws, id, after).await?;
        }
        if differs(before, after, "cors_rules") {
            put_cors(aws, id, after).await?;
        }
        let (b, a) = super::canonical_pair(ty::canonical, before, after);
        // A policy no longer set (`null`) is deleted.
        if differs(&b, &a, "policy") {
            put_policy(aws, id, after).await?;
        }
        if differs(before, after, "tags") {
            put_tags(aws, id, after).await?;
        }
        Ok(())
    }

    async fn find(&self, attrs: &Attrs) -> Result<Vec<String>> {
        super::find_by_id(self, attrs.str("name")?).await
    }

    async fn delete(&self, _ctx: &OpContext, id: &str, before: &Attrs) -> Result<()> {
        let aws = &*self.aws;
        // Kept only in state; an object recorded before it existed has none.
        if before.opt_bool("force_destroy") == Some(true) {
            empty(aws, id).await?;
        }
        match send!(aws.s3.delete_bucket().bucket(id), "DeleteBucket").or_gone() {
            Ok(_) => Ok(()),
            Err(e) if e.code() == "BucketNotEmpty" => Err(anyhow::anyhow!(
                "bucket {id} is not empty; it and its objects were left in place \
                 (set `force_destroy: true` on it to delete its objects with it)"
            )),
            Err(e) => Err(e.into()),
        }
    }
}

/// The public access block: all four settings on or off together.
async fn put_access_block(aws: &Aws, id: &str, after: &Attrs) -> Result<()> {
    let on = after.bool("public_access_block")?;
    send!(
        aws.s3.put_public_access_block().bucket(id).public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(on)
                .ignore_public_acls(on)
                .block_public_policy(on)
                .restrict_public_buckets(on)
                .build(),
        ),
        "PutPublicAccessBlock"
    )?;
    Ok(())
}

/// Default encryption: the algorithm, and its KMS key where one is named.
async fn put_encryption(aws: &Aws, id: &str, after: &Attrs) -> Result<()> {
    let default = ServerSideEncryptionByDefault::builder()
        .sse_algorithm(ServerSideEncryption::from(after.str("encryption")?))
        .set_kms_master_key_id(after.get("kms_key_id").and_then(Value::as_str).map(str::to_string))
        .build()?;
    let config = ServerSideEncryptionConfiguration::builder()
        .rules(
            ServerSideEncryptionRule::builder()
                .apply_server_side_encryption_by_default(default)
                .build(),
        )
        .build()?;
    send!(
        aws.s3.put_bucket_encryption().bucket(id).server_side_encryption_configuration(config),
        "PutBucketEncryption"
    )?;
    Ok(())
}

/// Versioning, enabled or suspended (a bucket never goes back to unversioned).
async fn put_versioning(aws: &Aws, id: &str, after: &Attrs) -> Result<()> {
    let status = if after.bool("versioning")? {
        BucketVersioningStatus::Enabled
    } else {
        BucketVersioningStatus::Suspended
    };
    send!(
        aws.s3
            .put_bucket_versioning()
            .bucket(id)
            .versioning_configuration(VersioningConfiguration::builder().status(status).build()),
        "PutBucketVersioning"
    )?;
    Ok(())
}

/// Object ownership.
async fn put_ownership(aws: &Aws, id: &str, after: &Attrs) -> Result<()> {
    let rule = OwnershipControlsRule::builder()
        .object_ownership(ObjectOwnership::from(after.str("object_ownership")?))
        .build()?;
    send!(
        aws.s3
            .put_bucket_ownership_controls()
            .bucket(id)
            .ownership_controls(OwnershipControls::builder().rules(rule).build()?),
        "PutBucketOwnershipControls"
    )?;
    Ok(())
}

/// Lifecycle rules; none deletes the configuration.
async fn put_lifecycle(aws: &Aws, id: &str, after: &Attrs) -> Result<()> {
    let rules = after.get("lifecycle_rules").and_then(Value::as_array).cloned().unwrap_or_default();
    if rules.is_empty() {
        send!(aws.s3.delete_bucket_lifecycle().bucket(id), "DeleteBucketLifecycle")?;
    } else {
        let rules = rules.iter().map(lifecycle_rule).collect::<Result<Vec<_>>>()?;
        send!(
            aws.s3.put_bucket_lifecycle_configuration().bucket(id).lifecycle_configuration(
                BucketLifecycleConfiguration::builder().set_rules(Some(rules)).build()?,
            ),
            "PutBucketLifecycleConfiguration"
        )?;
    }
    Ok(())
}

/// CORS rules; none deletes the configuration.
async fn put_cors(aws: &Aws, id: &str, after: &Attrs) -> Result<()> {
    let rules = after.get("cors_rules").and_then(Value::as_array).cloned().unwrap_or_default();
    if rules.is_empty() {
        send!(aws.s3.delete_bucket_cors().bucket(id), "DeleteBucketCors")?;
    } else {
        let rules = rules
            .iter()
            .map(|r| {
                CorsRule::builder()
                    .set_allowed_methods(r.opt_strings("allowed_methods"))
                    .set_allowed_origins(r.opt_strings("allowed_origins"))
                    .set_allowed_headers(r.opt_strings("allowed_headers"))
                    .set_expose_headers(r.opt_strings("expose_headers"))
                    .set_max_age_seconds(
                        r.get("max_age_seconds").and_then(Value::as_i64).map(|v| v as i32),
                    )
                    .build()
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        send!(
            aws.s3.put_bucket_cors().bucket(id).cors_configuration(
                CorsConfiguration::builder().set_cors_rules(Some(rules)).build()?,
            ),
            "PutBucketCors"
        )?;
    }
    Ok(())
}

/// The bucket policy; none (`null`) deletes it.
async fn put_policy(aws: &Aws, id: &str, after: &Attrs) -> Result<()> {
    match after.opt_str("policy") {
        Some(policy) => {
            send!(aws.s3.put_bucket_policy().bucket(id).policy(policy), "PutBucketPolicy")?;
        }
        None => {
            send!(aws.s3.delete_bucket_policy().bucket(id), "DeleteBucketPolicy")?;
        }
    }
    Ok(())
}

/// Tags, the whole set (S3 has no per-key tag calls).
async fn put_tags(aws: &Aws, id: &str, after: &Attrs) -> Result<()> {
    let tag_set = after
        .tags()
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<std::result::Result<Vec<_>, _>>()?;
    send!(
        aws.s3
            .put_bucket_tagging()
            .bucket(id)
            .tagging(Tagging::builder().set_tag_set(Some(tag_set)).build()?),
        "PutBucketTagging"
    )?;
    Ok(())
}

/// Every bucket's name (ListBuckets, page by page).
async fn list_buckets(aws: &Aws) -> Result<Vec<aws_sdk_s3::types::Bucket>> {
    let mut buckets = Vec::new();
    let mut token = None;
    loop {
        let page = send!(aws.s3.list_buckets().set_continuation_token(token), "ListBuckets")?;
        buckets.extend(page.buckets().iter().cloned());
        token = page.continuation_token().map(str::to_string);
        if token.is_none() {
            return Ok(buckets);
        }
    }
}

/// Whether a bucket exists (HeadBucket: a 404 says it does not).
async fn exists(aws: &Aws, name: &str) -> Result<bool> {
    match send!(aws.s3.head_bucket().bucket(name), "HeadBucket") {
        Ok(_) => Ok(true),
        Err(e) if e.status == Some(404) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// One bucket's settings; `None` when it does not exist. `listed`: ListBuckets
/// has just shown it exists, so no HeadBucket is needed.
async fn read_one(aws: &Aws, name: &str, listed: bool) -> Result<Option<Attrs>> {
    if !listed && !exists(aws, name).await? {
        return Ok(None);
    }
    let Some(versioning) =
        send!(aws.s3.get_bucket_versioning().bucket(name), "GetBucketVersioning").or_gone()?
    else {
        return Ok(None); // deleted since it was listed
    };
    // AWS encrypts every bucket with SSE-S3 at least (since January 2023,
    // new and existing, and it cannot be turned off): a bucket with no
    // configuration (an emulator's, an answer from before) holds that.
    let encryption = send!(aws.s3.get_bucket_encryption().bucket(name), "GetBucketEncryption")
        .or_gone()?
        .map_or(Some("AES256".to_string()), |out| {
            out.server_side_encryption_configuration()
                .and_then(|c| c.rules().first())
                .and_then(|r| r.apply_server_side_encryption_by_default())
                .map(|d| d.sse_algorithm().as_str().to_string())
        });
    let public_access_block =
        send!(aws.s3.get_public_access_block().bucket(name), "GetPublicAccessBlock")
            .or_gone()?
            .and_then(|out| out.public_access_block_configuration().cloned())
            .is_some_and(|c| {
                c.block_public_acls() == Some(true)
                    && c.ignore_public_acls() == Some(true)
                    && c.block_public_policy() == Some(true)
                    && c.restrict_public_buckets() == Some(true)
            });
    let ownership =
        send!(aws.s3.get_bucket_ownership_controls().bucket(name), "GetBucketOwnershipControls")
            .or_gone()?
            .and_then(|out| {
                out.ownership_controls()
                    .and_then(|c| c.rules().first())
                    .map(|r| r.object_ownership().as_str().to_string())
            });
    let lifecycle: Option<Vec<Value>> = send!(
        aws.s3.get_bucket_lifecycle_configuration().bucket(name),
        "GetBucketLifecycleConfiguration"
    )
    .or_gone()?
    .map(|out| out.rules().iter().map(lifecycle_value).collect());
    let cors: Option<Vec<Value>> = send!(aws.s3.get_bucket_cors().bucket(name), "GetBucketCors")
        .or_gone()?
        .map(|out| out.cors_rules().iter().map(cors_value).collect());
    let policy = send!(aws.s3.get_bucket_policy().bucket(name), "GetBucketPolicy")
        .or_gone()?
        .and_then(|out| out.policy().map(str::to_string));
    let tag_set = send!(aws.s3.get_bucket_tagging().bucket(name), "GetBucketTagging")
        .or_gone()?
        .map(|out| out.tag_set().to_vec())
        .unwrap_or_default();
    let mut attrs = into_map(json!({
        "id": name,
        "name": name,
        "arn": format!("arn:aws:s3:::{name}"),
        "versioning": versioning.status() == Some(&BucketVersioningStatus::Enabled),
        "encryption": encryption,
        "public_access_block": public_access_block,
        "tags": tags_value(tag_set.iter().map(|t| (t.key(), t.value()))),
    }));
    attrs.insert("object_ownership".into(), json!(ownership));
    if let Some(rules) = lifecycle {
        attrs.insert("lifecycle_rules".into(), Value::Array(rules));
    }
    if let Some(rules) = cors {
        attrs.insert("cors_rules".into(), Value::Array(rules));
    }
    if let Some(p) = policy {
        attrs.insert("policy".into(), json!(p));
        ty::canonical(&mut attrs);
    }
    Ok(Some(attrs))
}

/// A CORS rule as the stack file writes it.
fn cors_value(r: &CorsRule) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("allowed_methods".into(), json!(r.allowed_methods()));
    m.insert("allowed_origins".into(), json!(r.allowed_origins()));
    if !r.allowed_headers().is_empty() {
        m.insert("allowed_headers".into(), json!(r.allowed_headers()));
    }
    if !r.expose_headers().is_empty() {
        m.insert("expose_headers".into(), json!(r.expose_headers()));
    }
    if let Some(a) = r.max_age_seconds() {
        m.insert("max_age_seconds".into(), json!(a));
    }
    Value::Object(m)
}

/// Deletes every object version and delete marker, a thousand at a time.
async fn empty(aws: &Aws, bucket: &str) -> Result<()> {
    loop {
        let page = match send!(
            aws.s3.list_object_versions().bucket(bucket).max_keys(1000),
            "ListObjectVersions"
        )
        .or_gone()?
        {
            Some(p) => p,
            None => return Ok(()),
        };
        let objects: Vec<ObjectIdentifier> = page
            .versions()
            .iter()
            .map(|v| (v.key(), v.version_id()))
            .chain(page.delete_markers().iter().map(|m| (m.key(), m.version_id())))
            .filter_map(|(k, v)| {
                ObjectIdentifier::builder()
                    .set_key(k.map(str::to_string))
                    .set_version_id(v.map(str::to_string))
                    .build()
                    .ok()
            })
            .collect();
        if objects.is_empty() {
            return Ok(());
        }
        let out = send!(
            aws.s3
                .delete_objects()
                .bucket(bucket)
                .delete(Delete::builder().set_objects(Some(objects)).quiet(true).build()?,),
            "DeleteObjects"
        )?;
        // What could not be deleted (object lock, legal hold, access denied)
        // would be listed again and again: stop, naming it.
        if !out.errors().is_empty() {
            let refused: Vec<String> = out
                .errors()
                .iter()
                .map(|e| {
                    format!(
                        "{} ({})",
                        e.key().unwrap_or("?"),
                        e.code().or(e.message()).unwrap_or("refused")
                    )
                })
                .collect();
            anyhow::bail!(
                "bucket {bucket} could not be emptied: {} object version{} could not be deleted: {}",
                refused.len(),
                if refused.len() == 1 { "" } else { "s" },
                refused.join(", ")
            );
        }
    }
}

/// A new bucket: not versioned, encrypted with SSE-S3 (AWS's default, which
/// `read` reports for a bucket with no configuration), no tags, rules or
/// policy. Its public access block and object ownership are AWS's defaults for
/// a new bucket only since 2023 and an emulator's may differ: they are left
/// out, so that `update` sets them as the stack says.
fn new_bucket(id: &str) -> Attrs {
    into_map(json!({
        "id": id,
        "name": id,
        "arn": format!("arn:aws:s3:::{id}"),
        "versioning": false,
        "encryption": "AES256",
        "tags": {},
    }))
}
