//! `s3_bucket`: a bucket with safe defaults (public access blocked, encryption on).

use std::collections::HashMap;

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

use super::vpc::into_map;
use super::{Attrs, Aws, Provider, Result, aws_error, b, code, differs, s, tags, tags_value};
use crate::stack::schema::{Attr, Default, Finding, Kind, NameDefault, TypeSchema};

const LIFECYCLE_RULE: Kind = Kind::Object(&[
    Attr::new("id", Kind::String).required(),
    Attr::new("prefix", Kind::String).default(Default::Str("")),
    Attr::new("enabled", Kind::Bool).default(Default::Bool(true)),
    Attr::new(
        "expiration_days",
        Kind::Int {
            min: 1,
            max: 36_500,
        },
    ),
    Attr::new(
        "noncurrent_expiration_days",
        Kind::Int {
            min: 1,
            max: 36_500,
        },
    ),
    Attr::new(
        "transitions",
        Kind::List(&Kind::Object(&[
            Attr::new(
                "days",
                Kind::Int {
                    min: 0,
                    max: 36_500,
                },
            )
            .required(),
            Attr::new(
                "storage_class",
                Kind::Enum(&[
                    "STANDARD_IA",
                    "ONEZONE_IA",
                    "INTELLIGENT_TIERING",
                    "GLACIER",
                    "GLACIER_IR",
                    "DEEP_ARCHIVE",
                ]),
            )
            .required(),
        ])),
    ),
]);

const CORS_RULE: Kind = Kind::Object(&[
    Attr::new(
        "allowed_methods",
        Kind::Set(&Kind::Enum(&["GET", "PUT", "POST", "DELETE", "HEAD"])),
    )
    .required(),
    Attr::new("allowed_origins", Kind::Set(&Kind::String)).required(),
    Attr::new("allowed_headers", Kind::Set(&Kind::String)),
    Attr::new("expose_headers", Kind::Set(&Kind::String)),
    Attr::new(
        "max_age_seconds",
        Kind::Int {
            min: 0,
            max: 86_400,
        },
    ),
]);

pub static SCHEMA: TypeSchema = TypeSchema {
    name: "s3_bucket",
    attrs: &[
        Attr::new("name", Kind::String).force_new(),
        Attr::new("versioning", Kind::Bool).default(Default::Bool(false)),
        Attr::new("encryption", Kind::Enum(&["AES256", "aws:kms"])).default(Default::Str("AES256")),
        // With `encryption: aws:kms`: the key (left out, the AWS managed key).
        Attr::new("kms_key_id", Kind::String),
        Attr::new("lifecycle_rules", Kind::List(&LIFECYCLE_RULE)),
        Attr::new("cors_rules", Kind::List(&CORS_RULE)),
        // JSON, compared by meaning.
        Attr::new("policy", Kind::String),
        // ACLs off: the bucket owner owns every object (AWS's default since 2023).
        Attr::new(
            "object_ownership",
            Kind::Enum(&[
                "BucketOwnerEnforced",
                "BucketOwnerPreferred",
                "ObjectWriter",
            ]),
        )
        .default(Default::Str("BucketOwnerEnforced")),
        Attr::new("public_access_block", Kind::Bool).default(Default::Bool(true)),
        Attr::new("force_destroy", Kind::Bool)
            .default(Default::Bool(false))
            .local(),
    ],
    exports: &["id", "name", "arn"],
    name_attr: Some(("name", NameDefault::StackAndName)),
    lint: Some(lint),
    canonical: Some(canonical),
    ..TypeSchema::BASE
};

fn lint(attrs: &serde_json::Map<String, serde_json::Value>) -> Vec<Finding> {
    if attrs.get("public_access_block") == Some(&serde_json::Value::Bool(false)) {
        vec![Finding {
            pointer: "/public_access_block".into(),
            message: "the bucket's public access block is off".into(),
            hint: Some(
                "keep public_access_block: true unless the bucket must serve the public".into(),
            ),
        }]
    } else {
        Vec::new()
    }
}

/// The policy in canonical form (compared by meaning).
fn canonical(attrs: &mut serde_json::Map<String, Value>) {
    if let Some(Value::String(p)) = attrs.get_mut("policy")
        && let Some(n) = crate::stack::policy::normalize(p)
    {
        *p = n;
    }
}

fn lifecycle_rule(r: &Value) -> Result<LifecycleRule> {
    let days = |k: &str| r.get(k).and_then(Value::as_i64).map(|d| d as i32);
    let transitions = r.get("transitions").and_then(Value::as_array).map(|t| {
        t.iter()
            .map(|t| {
                Transition::builder()
                    .set_days(t["days"].as_i64().map(|d| d as i32))
                    .set_storage_class(
                        t["storage_class"]
                            .as_str()
                            .map(TransitionStorageClass::from),
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
        .status(if enabled {
            ExpirationStatus::Enabled
        } else {
            ExpirationStatus::Disabled
        })
        .set_expiration(
            days("expiration_days").map(|d| LifecycleExpiration::builder().days(d).build()),
        )
        .set_noncurrent_version_expiration(days("noncurrent_expiration_days").map(|d| {
            NoncurrentVersionExpiration::builder()
                .noncurrent_days(d)
                .build()
        }))
        .set_transitions(transitions)
        .build()?)
}

fn lifecycle_value(r: &LifecycleRule) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("id".into(), json!(r.id()));
    let prefix = r.filter().and_then(|f| f.prefix()).unwrap_or("");
    m.insert("prefix".into(), json!(prefix));
    m.insert(
        "enabled".into(),
        json!(r.status() == &ExpirationStatus::Enabled),
    );
    if let Some(d) = r.expiration().and_then(|e| e.days()) {
        m.insert("expiration_days".into(), json!(d));
    }
    if let Some(d) = r
        .noncurrent_version_expiration()
        .and_then(|e| e.noncurrent_days())
    {
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

pub struct S3Bucket;

impl Provider for S3Bucket {
    async fn read(aws: &Aws, ids: &[String]) -> Result<HashMap<String, Attrs>> {
        // S3 has no batch read of bucket settings: one ListBuckets tells which
        // exist (instead of a HeadBucket each), then each bucket's settings.
        let existing: Vec<String> = if ids.len() > 1 {
            let listed = list_buckets(aws).await?;
            ids.iter()
                .filter(|i| listed.contains(*i))
                .cloned()
                .collect()
        } else {
            ids.to_vec()
        };
        let checked = ids.len() > 1;
        let reads = super::each(existing, |name| async move {
            read_one(aws, &name, checked)
                .await
                .map(|a| a.map(|a| (name, a)))
        })
        .await?;
        Ok(reads.into_iter().flatten().collect())
    }

    async fn create(aws: &Aws, attrs: &Attrs) -> Result<String> {
        let name = s(attrs, "name");
        let mut req = aws.s3.create_bucket().bucket(name);
        if aws.region != "us-east-1" {
            req = req.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(aws.region.as_str()))
                    .build(),
            );
        }
        req.send().await.map_err(|e| aws_error("CreateBucket", e))?;
        Ok(name.to_string())
    }

    async fn update(aws: &Aws, id: &str, before: &Attrs, after: &Attrs) -> Result<()> {
        if differs(before, after, "public_access_block") {
            let on = b(after, "public_access_block");
            aws.s3
                .put_public_access_block()
                .bucket(id)
                .public_access_block_configuration(
                    PublicAccessBlockConfiguration::builder()
                        .block_public_acls(on)
                        .ignore_public_acls(on)
                        .block_public_policy(on)
                        .restrict_public_buckets(on)
                        .build(),
                )
                .send()
                .await
                .map_err(|e| aws_error("PutPublicAccessBlock", e))?;
        }
        if differs(before, after, "encryption") || differs(before, after, "kms_key_id") {
            let default = ServerSideEncryptionByDefault::builder()
                .sse_algorithm(ServerSideEncryption::from(s(after, "encryption")))
                .set_kms_master_key_id(
                    after
                        .get("kms_key_id")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                )
                .build()?;
            let config = ServerSideEncryptionConfiguration::builder()
                .rules(
                    ServerSideEncryptionRule::builder()
                        .apply_server_side_encryption_by_default(default)
                        .build(),
                )
                .build()?;
            aws.s3
                .put_bucket_encryption()
                .bucket(id)
                .server_side_encryption_configuration(config)
                .send()
                .await
                .map_err(|e| aws_error("PutBucketEncryption", e))?;
        }
        if differs(before, after, "versioning") {
            let status = if b(after, "versioning") {
                BucketVersioningStatus::Enabled
            } else {
                BucketVersioningStatus::Suspended
            };
            aws.s3
                .put_bucket_versioning()
                .bucket(id)
                .versioning_configuration(VersioningConfiguration::builder().status(status).build())
                .send()
                .await
                .map_err(|e| aws_error("PutBucketVersioning", e))?;
        }
        if differs(before, after, "object_ownership") {
            let rule = OwnershipControlsRule::builder()
                .object_ownership(ObjectOwnership::from(s(after, "object_ownership")))
                .build()?;
            aws.s3
                .put_bucket_ownership_controls()
                .bucket(id)
                .ownership_controls(OwnershipControls::builder().rules(rule).build()?)
                .send()
                .await
                .map_err(|e| aws_error("PutBucketOwnershipControls", e))?;
        }
        if differs(before, after, "lifecycle_rules") {
            let rules = after
                .get("lifecycle_rules")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if rules.is_empty() {
                aws.s3
                    .delete_bucket_lifecycle()
                    .bucket(id)
                    .send()
                    .await
                    .map_err(|e| aws_error("DeleteBucketLifecycle", e))?;
            } else {
                let rules = rules
                    .iter()
                    .map(lifecycle_rule)
                    .collect::<Result<Vec<_>>>()?;
                aws.s3
                    .put_bucket_lifecycle_configuration()
                    .bucket(id)
                    .lifecycle_configuration(
                        BucketLifecycleConfiguration::builder()
                            .set_rules(Some(rules))
                            .build()?,
                    )
                    .send()
                    .await
                    .map_err(|e| aws_error("PutBucketLifecycleConfiguration", e))?;
            }
        }
        if differs(before, after, "cors_rules") {
            let rules = after
                .get("cors_rules")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if rules.is_empty() {
                aws.s3
                    .delete_bucket_cors()
                    .bucket(id)
                    .send()
                    .await
                    .map_err(|e| aws_error("DeleteBucketCors", e))?;
            } else {
                let rules = rules
                    .iter()
                    .map(|r| {
                        CorsRule::builder()
                            .set_allowed_methods(super::strings(r.get("allowed_methods")))
                            .set_allowed_origins(super::strings(r.get("allowed_origins")))
                            .set_allowed_headers(super::strings(r.get("allowed_headers")))
                            .set_expose_headers(super::strings(r.get("expose_headers")))
                            .set_max_age_seconds(
                                r.get("max_age_seconds")
                                    .and_then(Value::as_i64)
                                    .map(|v| v as i32),
                            )
                            .build()
                    })
                    .collect::<std::result::Result<Vec<_>, _>>()?;
                aws.s3
                    .put_bucket_cors()
                    .bucket(id)
                    .cors_configuration(
                        CorsConfiguration::builder()
                            .set_cors_rules(Some(rules))
                            .build()?,
                    )
                    .send()
                    .await
                    .map_err(|e| aws_error("PutBucketCors", e))?;
            }
        }
        let (mut b, mut a) = (before.clone(), after.clone());
        canonical(&mut b);
        canonical(&mut a);
        if differs(&b, &a, "policy") {
            aws.s3
                .put_bucket_policy()
                .bucket(id)
                .policy(s(after, "policy"))
                .send()
                .await
                .map_err(|e| aws_error("PutBucketPolicy", e))?;
        }
        if differs(before, after, "tags") {
            let tag_set = tags(after)
                .into_iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect::<std::result::Result<Vec<_>, _>>()?;
            aws.s3
                .put_bucket_tagging()
                .bucket(id)
                .tagging(Tagging::builder().set_tag_set(Some(tag_set)).build()?)
                .send()
                .await
                .map_err(|e| aws_error("PutBucketTagging", e))?;
        }
        Ok(())
    }

    async fn find(aws: &Aws, attrs: &Attrs) -> Result<Option<String>> {
        super::find_by_id::<Self>(aws, s(attrs, "name")).await
    }

    async fn delete(aws: &Aws, id: &str, before: &Attrs) -> Result<()> {
        if b(before, "force_destroy") {
            empty(aws, id).await?;
        }
        match aws.s3.delete_bucket().bucket(id).send().await {
            Ok(_) => Ok(()),
            Err(e) if code(&e) == "NoSuchBucket" => Ok(()),
            Err(e) if code(&e) == "BucketNotEmpty" => Err(anyhow::anyhow!(
                "bucket {id} is not empty; it and its objects were left in place \
                 (set `force_destroy: true` on it to delete its objects with it)"
            )),
            Err(e) => Err(aws_error("DeleteBucket", e)),
        }
    }
}

/// Every bucket's name (ListBuckets, page by page).
async fn list_buckets(aws: &Aws) -> Result<std::collections::HashSet<String>> {
    let mut names = std::collections::HashSet::new();
    let mut token = None;
    loop {
        let page = aws
            .s3
            .list_buckets()
            .set_continuation_token(token)
            .send()
            .await
            .map_err(|e| aws_error("ListBuckets", e))?;
        names.extend(
            page.buckets()
                .iter()
                .filter_map(|b| b.name().map(str::to_string)),
        );
        token = page.continuation_token().map(str::to_string);
        if token.is_none() {
            return Ok(names);
        }
    }
}

/// One bucket's settings; `None` when it does not exist. `listed`: ListBuckets
/// has just shown it exists, so no HeadBucket is needed.
async fn read_one(aws: &Aws, name: &str, listed: bool) -> Result<Option<Attrs>> {
    if !listed {
        match aws.s3.head_bucket().bucket(name).send().await {
            Ok(_) => {}
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => {
                return Ok(None);
            }
            Err(e) => return Err(aws_error("HeadBucket", e)),
        }
    }
    let versioning = match aws.s3.get_bucket_versioning().bucket(name).send().await {
        Ok(v) => v,
        // Deleted since it was listed.
        Err(e) if code(&e) == "NoSuchBucket" => return Ok(None),
        Err(e) => return Err(aws_error("GetBucketVersioning", e)),
    };
    let encryption = match aws.s3.get_bucket_encryption().bucket(name).send().await {
        Ok(out) => out
            .server_side_encryption_configuration()
            .and_then(|c| c.rules().first())
            .and_then(|r| r.apply_server_side_encryption_by_default())
            .map(|d| d.sse_algorithm().as_str().to_string()),
        Err(e) if code(&e) == "ServerSideEncryptionConfigurationNotFoundError" => None,
        Err(e) => return Err(aws_error("GetBucketEncryption", e)),
    };
    let public_access_block = match aws.s3.get_public_access_block().bucket(name).send().await {
        Ok(out) => out.public_access_block_configuration().is_some_and(|c| {
            c.block_public_acls() == Some(true)
                && c.ignore_public_acls() == Some(true)
                && c.block_public_policy() == Some(true)
                && c.restrict_public_buckets() == Some(true)
        }),
        Err(e) if code(&e) == "NoSuchPublicAccessBlockConfiguration" => false,
        Err(e) => return Err(aws_error("GetPublicAccessBlock", e)),
    };
    let ownership = match aws
        .s3
        .get_bucket_ownership_controls()
        .bucket(name)
        .send()
        .await
    {
        Ok(out) => out
            .ownership_controls()
            .and_then(|c| c.rules().first())
            .map(|r| r.object_ownership().as_str().to_string()),
        Err(e) if code(&e) == "OwnershipControlsNotFoundError" => None,
        Err(e) => return Err(aws_error("GetBucketOwnershipControls", e)),
    };
    let lifecycle: Option<Vec<Value>> = match aws
        .s3
        .get_bucket_lifecycle_configuration()
        .bucket(name)
        .send()
        .await
    {
        Ok(out) => Some(out.rules().iter().map(lifecycle_value).collect()),
        Err(e) if code(&e) == "NoSuchLifecycleConfiguration" => None,
        Err(e) => return Err(aws_error("GetBucketLifecycleConfiguration", e)),
    };
    let cors: Option<Vec<Value>> = match aws.s3.get_bucket_cors().bucket(name).send().await {
        Ok(out) => Some(
            out.cors_rules()
                .iter()
                .map(|r| {
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
                })
                .collect(),
        ),
        Err(e) if code(&e) == "NoSuchCORSConfiguration" => None,
        Err(e) => return Err(aws_error("GetBucketCors", e)),
    };
    let policy = match aws.s3.get_bucket_policy().bucket(name).send().await {
        Ok(out) => out.policy().map(str::to_string),
        Err(e) if code(&e) == "NoSuchBucketPolicy" => None,
        Err(e) => return Err(aws_error("GetBucketPolicy", e)),
    };
    let tag_set = match aws.s3.get_bucket_tagging().bucket(name).send().await {
        Ok(out) => out.tag_set().to_vec(),
        Err(e) if code(&e) == "NoSuchTagSet" => Vec::new(),
        Err(e) => return Err(aws_error("GetBucketTagging", e)),
    };
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
        canonical(&mut attrs);
    }
    Ok(Some(attrs))
}

/// Deletes every object version and delete marker, a thousand at a time.
async fn empty(aws: &Aws, bucket: &str) -> Result<()> {
    loop {
        let page = match aws
            .s3
            .list_object_versions()
            .bucket(bucket)
            .max_keys(1000)
            .send()
            .await
        {
            Ok(p) => p,
            Err(e) if code(&e) == "NoSuchBucket" => return Ok(()),
            Err(e) => return Err(aws_error("ListObjectVersions", e)),
        };
        let objects: Vec<ObjectIdentifier> = page
            .versions()
            .iter()
            .map(|v| (v.key(), v.version_id()))
            .chain(
                page.delete_markers()
                    .iter()
                    .map(|m| (m.key(), m.version_id())),
            )
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
        aws.s3
            .delete_objects()
            .bucket(bucket)
            .delete(
                Delete::builder()
                    .set_objects(Some(objects))
                    .quiet(true)
                    .build()?,
            )
            .send()
            .await
            .map_err(|e| aws_error("DeleteObjects", e))?;
    }
}
