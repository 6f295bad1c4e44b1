//! The state as an object in S3. Every write is conditional on the ETag last
//! read or written (`If-Match`), so a writer holding a stale copy fails instead
//! of overwriting; the first write of a new state uses `If-None-Match: *`.

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;

use super::StateError;
use crate::apply::journal::StoreError;
use crate::types::state::{State, parse};

/// One object: a bucket, a key and the client that reaches them.
#[derive(Clone)]
pub struct S3Place {
    pub client: aws_sdk_s3::Client,
    pub bucket: String,
    pub key: String,
    /// The account the bucket must belong to (`ExpectedBucketOwner` on every
    /// call): a bucket of that name in another account is never read or
    /// written.
    pub owner: Option<String>,
    /// AWS's time, which lease times in this bucket are measured with.
    pub clock: crate::aws::clock::ServerClock,
}

impl S3Place {
    pub fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }

    pub fn error(&self, message: String) -> StateError {
        StateError::Remote { path: self.url(), message }
    }

    pub fn sdk_error<E>(&self, operation: &'static str, e: SdkError<E, HttpResponse>) -> StateError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        self.error(crate::aws::api(operation)(e).to_string())
    }

    /// Deletes the object, if it is still as it was at `etag`.
    pub async fn delete_if_match(&self, etag: &str) -> Result<(), StateError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .set_expected_bucket_owner(self.owner.clone())
            .key(&self.key)
            .if_match(etag)
            .send()
            .await
            .map_err(|e| self.sdk_error("DeleteObject", e))?;
        Ok(())
    }

    /// The object's text and ETag; `None` when there is no such object.
    pub async fn get(&self) -> Result<Option<(String, String)>, StateError> {
        match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .set_expected_bucket_owner(self.owner.clone())
            .key(&self.key)
            .send()
            .await
        {
            Ok(out) => {
                let etag = out.e_tag().unwrap_or_default().to_string();
                let bytes = out
                    .body
                    .collect()
                    .await
                    .map_err(|e| self.error(format!("reading the object: {e}")))?
                    .into_bytes();
                let text = String::from_utf8(bytes.to_vec())
                    .map_err(|_| self.error("the object is not UTF-8 text".into()))?;
                Ok(Some((text, etag)))
            }
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => {
                if e.code() == Some("NoSuchBucket") {
                    return Err(self.error(format!(
                        "the bucket {} does not exist; create it (with versioning) before keeping state in it",
                        self.bucket
                    )));
                }
                Ok(None)
            }
            Err(e) => Err(self.sdk_error("GetObject", e)),
        }
    }
}

/// Whether AWS refused a conditional request because its condition failed, or
/// because another conditional write of the object was under way at once (409
/// ConditionalRequestConflict): either way, someone else wrote or is writing.
pub fn is_precondition_failed<E: ProvideErrorMetadata>(e: &SdkError<E, HttpResponse>) -> bool {
    matches!(e.code(), Some("PreconditionFailed" | "ConditionalRequestConflict"))
        || e.raw_response().is_some_and(|r| matches!(r.status().as_u16(), 409 | 412))
}

pub struct S3Backend {
    pub place: S3Place,
    /// The ETag of the state object as last read or written; `None` when there
    /// was none.
    etag: Option<String>,
}

impl S3Backend {
    pub fn new(place: S3Place) -> S3Backend {
        S3Backend { place, etag: None }
    }

    pub fn lock_place(&self) -> S3Place {
        S3Place { key: format!("{}.lock", self.place.key), ..self.place.clone() }
    }

    pub async fn load(&mut self) -> Result<Option<State>, StateError> {
        let Some((text, etag)) = self.place.get().await? else {
            self.etag = None;
            self.never_written().await?;
            return Ok(None);
        };
        self.etag = Some(etag);
        Ok(Some(parse(&self.place.url(), &text)?))
    }

    pub fn exists(&self) -> bool {
        self.etag.is_some()
    }

    /// No object at the key: a new stack, unless the bucket's versions say the
    /// state was deleted (its latest version is a delete marker). Starting
    /// again from nothing would then plan to create everything a second time.
    async fn never_written(&self) -> Result<(), StateError> {
        let versions = self
            .place
            .client
            .list_object_versions()
            .bucket(&self.place.bucket)
            .set_expected_bucket_owner(self.place.owner.clone())
            .prefix(&self.place.key)
            .send()
            .await
            .map_err(|e| self.place.sdk_error("ListObjectVersions", e))?;
        let key = Some(self.place.key.as_str());
        let markers = versions.delete_markers().iter().filter(|m| m.key() == key).count();
        if markers == 0 {
            return Ok(());
        }
        let earlier = versions.versions().iter().filter(|v| v.key() == key).count();
        Err(self.place.error(format!(
            "the state was deleted: its latest version is a delete marker ({earlier} earlier version{} in the bucket). Restore the last one (remove the delete marker), or give another key to start a new state; infra will not plan this stack as if nothing existed",
            if earlier == 1 { "" } else { "s" }
        )))
    }

    pub(super) async fn write_state(
        &mut self,
        json: Vec<u8>,
        serial: u64,
    ) -> Result<(), StateError> {
        let mut put = self
            .place
            .client
            .put_object()
            .bucket(&self.place.bucket)
            .set_expected_bucket_owner(self.place.owner.clone())
            .key(&self.place.key)
            .content_type("application/json")
            .server_side_encryption(ServerSideEncryption::Aes256)
            .body(ByteStream::from(json.clone()));
        put = match &self.etag {
            Some(etag) => put.if_match(etag),
            None => put.if_none_match("*"),
        };
        match put.send().await {
            Ok(out) => {
                self.etag = out.e_tag().map(str::to_string);
                Ok(())
            }
            Err(e) if is_precondition_failed(&e) => {
                // A retry of this very write, whose first answer was lost, finds
                // its own object there.
                if let Some((text, etag)) = self.place.get().await?
                    && text.as_bytes() == json.as_slice()
                {
                    self.etag = Some(etag);
                    return Ok(());
                }
                Err(StoreError::Stale { location: self.place.url(), serial }.into())
            }
            Err(e) => Err(self.place.sdk_error("PutObject", e)),
        }
    }
}
