//! What the engine asks of a cloud: one `Provider` per resource type, a
//! `Monitor` for a rollout's alarms and target health, and a `Registry` that maps
//! type names to them. The AWS implementations are in `src/aws`; tests bring a
//! fake. Nothing here knows the SDK.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::observe::Observer;
use crate::types::{Address, Attrs, Operation, Timeouts};

pub type Result<T> = std::result::Result<T, anyhow::Error>;

/// What one mutating call knows beyond the attributes: whose it is, how long
/// its waits may take, the idempotency token of a create, and where progress
/// goes.
#[derive(Clone)]
pub struct OpContext {
    pub address: Address,
    pub timeouts: Timeouts,
    /// The idempotency token a create passes to the API, where it takes one.
    pub token: Option<String>,
    pub observer: Arc<dyn Observer>,
}

impl OpContext {
    /// The timeout of an operation: the resource's own, or `default`.
    pub fn timeout(&self, operation: Operation, default: Duration) -> Duration {
        self.timeouts.get(operation, default)
    }
}

/// What a create made: its id, and what the new resource holds, as `read`
/// would give it, where the provider knows without asking (the create's answer
/// describes it, or AWS's settings for a new object are known): `update` then
/// configures from that rather than from a read.
#[derive(Debug, Clone)]
pub struct Made {
    pub id: String,
    pub holds: Option<Attrs>,
    /// The create found what it had made already, by its owner tags (its
    /// answer was lost): adopted, not created, and said so.
    pub found: bool,
}

impl Made {
    /// A resource whose new settings are known.
    pub fn holding(id: impl Into<String>, holds: Attrs) -> Self {
        Made { id: id.into(), holds: Some(holds), found: false }
    }

    /// Made as asked, with what AWS's answer says (its id, what AWS chose or
    /// computed) laid over it.
    pub fn asked(id: impl Into<String>, asked: &Attrs, answer: Attrs) -> Self {
        let mut holds = asked.clone();
        holds.extend(answer);
        Made::holding(id, holds)
    }

    /// `asked`, its id the one the answer gives (`id`).
    pub fn answered(asked: &Attrs, answer: Attrs) -> Result<Self> {
        let id = answer
            .get("id")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| anyhow::anyhow!("the create's answer has no id"))?
            .to_string();
        Ok(Made::asked(id, asked, answer))
    }

    /// What a create whose answer was lost found it had made, by its owner
    /// tags: read back, and said to be adopted.
    pub fn found(id: impl Into<String>) -> Self {
        Made { id: id.into(), holds: None, found: true }
    }
}

/// Only the id: what it holds is read back.
impl From<String> for Made {
    fn from(id: String) -> Self {
        Made { id, holds: None, found: false }
    }
}

/// One resource type's operations. `read` takes many ids at once, so that a
/// refresh costs as few calls as the API allows, and leaves out what no longer
/// exists.
#[async_trait]
pub trait Provider: Send + Sync {
    async fn read(&self, ids: &[String]) -> Result<HashMap<String, Attrs>>;
    /// A refresh's read: `read`, told which attributes are wanted of each id
    /// (those its stack resource sets, or those state recorded), so that a
    /// read no one asked for can be left out (a target group's registered
    /// targets, one call a group, where none are managed). By default, `read`.
    async fn read_wanted(
        &self,
        ids: &[String],
        _wanted: &HashMap<String, std::collections::BTreeSet<String>>,
    ) -> Result<HashMap<String, Attrs>> {
        self.read(ids).await
    }
    /// Creates the resource with as little as the API needs and returns its id,
    /// with what it holds where the provider knows (`Made`); `update` then
    /// brings the rest of the attributes in line.
    async fn create(&self, ctx: &OpContext, attrs: &Attrs) -> Result<Made>;
    async fn update(&self, ctx: &OpContext, id: &str, before: &Attrs, after: &Attrs) -> Result<()>;
    /// Deletes; what is gone already counts as deleted.
    async fn delete(&self, ctx: &OpContext, id: &str, before: &Attrs) -> Result<()>;
    /// Looks for what a create given `attrs` may have made, by its owner
    /// tags or by its name, port or priority: every candidate's id. Whether a
    /// candidate is this stack's is for the caller to check (by its tags).
    async fn find(&self, attrs: &Attrs) -> Result<Vec<String>>;
    /// Whether the create call carries the resource's tags. One that cannot
    /// (an S3 bucket is tagged after CreateBucket) is recorded as soon as its
    /// create answers, pending until it is configured: untagged, nothing
    /// else could ever tell it is this stack's.
    fn tags_at_create(&self) -> bool {
        true
    }
    /// Fills in, before the intent to create is written, what the create would
    /// otherwise choose at random (a generated name), so that `find` can find it.
    fn prepare(&self, _attrs: &mut Attrs) {}
    /// Whether `wait` has anything to wait for: apply then marks the operation
    /// pending in state while it waits.
    fn waits(&self) -> bool {
        false
    }
    /// Waits until AWS has finished what it accepted (EKS works asynchronously),
    /// and gives what its last look saw of the resource, as `read` gives it
    /// (or the part of that its describe call answers), where it has it: laid
    /// over what the create's answer held (`Made::holds`) or what state had,
    /// it spares a read back. A create whose `Made` holds nothing needs it
    /// whole.
    async fn wait(
        &self,
        _ctx: &OpContext,
        _id: &str,
        _operation: Operation,
    ) -> Result<Option<Attrs>> {
        Ok(None)
    }
    /// Brings the deferred attributes (security group rules) in line, from
    /// `before`: what the resource holds now, as the plan's refresh read it or
    /// as its create left it.
    async fn update_deferred(
        &self,
        _ctx: &OpContext,
        _id: &str,
        _before: &Attrs,
        _after: &Attrs,
    ) -> Result<()> {
        Ok(())
    }
    /// What AWS computed for a resource just made or changed to `asked` that
    /// the provider can tell without reading (an ARN derived from the id and
    /// the account): the engine then records what was asked, in the type's
    /// canonical form, with the id and these, over what the resource held.
    /// Where AWS normalises a value, the next refresh records its form.
    /// By default nothing: what the create's answer (`Made::holds`) or the
    /// wait's last look said, or what state had, stands for the rest. A type
    /// whose update changes what AWS computes (a launch template's version
    /// numbers) says it here; `None`: it is read back whole.
    async fn settled(&self, _id: &str, _asked: &Attrs) -> Result<Option<Attrs>> {
        Ok(Some(Attrs::new()))
    }
    /// Which of these ids exist: all a destroy needs to know, in as few calls
    /// as the API allows. By default, a read.
    async fn exist(&self, ids: &[String]) -> Result<std::collections::HashSet<String>> {
        Ok(self.read(ids).await?.into_keys().collect())
    }
    /// Removes the deferred attributes before the resource is deleted.
    async fn delete_deferred(&self, _ctx: &OpContext, _id: &str) -> Result<()> {
        Ok(())
    }
}

pub use crate::types::health::{AlarmState, TargetHealth, TargetState};

/// What a rollout watches while it moves traffic.
#[async_trait]
pub trait Monitor: Send + Sync {
    /// The state of each of these alarms that exists, by name; an alarm that
    /// does not exist is left out.
    async fn alarms(&self, names: &[String]) -> Result<Vec<(String, AlarmState)>>;
    /// The health of every target registered in a target group, by target id.
    async fn target_health(&self, target_group: &str) -> Result<Vec<TargetHealth>>;
    /// What a target group served behind a load balancer (both by their
    /// `arn_suffix`) from `since` to `until`: requests, target 5xx answers,
    /// connections to its targets that failed, and `TargetResponseTime` by
    /// `latency_statistic` (`p99`, `Average`).
    async fn traffic(
        &self,
        load_balancer: &str,
        target_group: &str,
        since: chrono::DateTime<chrono::Utc>,
        until: chrono::DateTime<chrono::Utc>,
        latency_statistic: &str,
    ) -> Result<crate::plan::rollout::Traffic>;
    /// What a load balancer (by its `arn_suffix`) answered itself from
    /// `since` to `until`: its requests and its own 502, 503 and 504s.
    async fn balancer(
        &self,
        load_balancer: &str,
        since: chrono::DateTime<chrono::Utc>,
        until: chrono::DateTime<chrono::Utc>,
    ) -> Result<crate::plan::rollout::Balancer>;
}

/// The providers by resource type name, the monitor, and the finders by kind
/// of lookup: built in one place (`aws::registry` for AWS, a test's own for a
/// fake).
#[derive(Clone)]
pub struct Registry {
    providers: BTreeMap<&'static str, Arc<dyn Provider>>,
    monitor: Arc<dyn Monitor>,
    catalog: Option<Arc<dyn Catalog>>,
    finders: BTreeMap<&'static str, Arc<dyn Finder>>,
}

/// Finds what exists already for one kind of lookup (`data:` in the stack
/// file), at plan time. Only reads.
#[async_trait]
pub trait Finder: Send + Sync {
    /// Everything that matches every attribute of the search, each as the
    /// kind's exports (`types::lookup`); whether that is one is for
    /// `LookupSchema::settle` to say.
    async fn find(&self, query: &Attrs) -> Result<Vec<Attrs>>;
}

/// What the cloud offers, asked at plan time to warn a reviewer.
#[async_trait]
pub trait Catalog: Send + Sync {
    /// The versions of an EKS add-on that a Kubernetes version supports.
    async fn addon_versions(&self, addon: &str, kubernetes: &str) -> Result<Vec<String>>;
}

impl Registry {
    pub fn new(monitor: Arc<dyn Monitor>) -> Registry {
        Registry { providers: BTreeMap::new(), monitor, catalog: None, finders: BTreeMap::new() }
    }

    /// Adds the finder of one kind of lookup.
    pub fn with_finder(
        mut self,
        kind: &'static crate::types::lookup::LookupSchema,
        finder: Arc<dyn Finder>,
    ) -> Registry {
        self.finders.insert(kind.name, finder);
        self
    }

    pub fn finder(&self, kind: &str) -> Result<&dyn Finder> {
        self.finders
            .get(kind)
            .map(|f| f.as_ref())
            .ok_or_else(|| anyhow::anyhow!("no finder for lookups of `{kind}`"))
    }

    /// The kinds of lookup it has finders for.
    pub fn finder_kinds(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.finders.keys().copied()
    }

    /// Adds what the cloud offers; without one, a plan asks nothing of it.
    pub fn with_catalog(mut self, catalog: Arc<dyn Catalog>) -> Registry {
        self.catalog = Some(catalog);
        self
    }

    pub fn catalog(&self) -> Option<&dyn Catalog> {
        self.catalog.as_deref()
    }

    /// Adds the provider of one type.
    /// Registers the provider of a type, by its schema's name.
    pub fn with(
        mut self,
        schema: &'static crate::types::schema::TypeSchema,
        provider: Arc<dyn Provider>,
    ) -> Registry {
        self.providers.insert(schema.name, provider);
        self
    }

    pub fn provider(&self, ty: &str) -> Result<&dyn Provider> {
        self.providers
            .get(ty)
            .map(|p| p.as_ref())
            .ok_or_else(|| anyhow::anyhow!("no provider for resource type `{ty}`"))
    }

    pub fn monitor(&self) -> &dyn Monitor {
        self.monitor.as_ref()
    }

    /// The type names it has providers for.
    pub fn types(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.providers.keys().copied()
    }
}

/// An error a cloud API answered, with its code kept as data: callers ask
/// `is_not_found()` rather than match message text.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}", self.line())]
pub struct ApiError {
    /// The API operation, such as `DeleteVpc`.
    pub operation: String,
    /// The error code, such as `InvalidVpcID.NotFound`; `None` when the answer
    /// carried none (a transport failure, an endpoint without the operation).
    pub code: Option<String>,
    pub message: Option<String>,
    /// The HTTP status, when there was an answer.
    pub status: Option<u16>,
    /// What went wrong when there is no code.
    pub detail: String,
}

impl ApiError {
    pub fn new(operation: &str, code: &str, message: &str) -> ApiError {
        ApiError {
            operation: operation.to_string(),
            code: Some(code.to_string()),
            message: (!message.is_empty()).then(|| message.to_string()),
            status: None,
            detail: String::new(),
        }
    }

    fn line(&self) -> String {
        match (&self.code, &self.message) {
            (Some(code), Some(msg)) => format!("{}: {code}: {msg}", self.operation),
            (Some(code), None) => format!("{}: {code}", self.operation),
            _ if self.is_unimplemented() => format!(
                "{}: the endpoint does not implement this operation (HTTP 404 with no error code; AWS has it, an emulator may not: moto has no EKS add-ons, access entries or Pod Identity)",
                self.operation
            ),
            _ => format!("{}: {}", self.operation, self.detail),
        }
    }

    pub fn code(&self) -> &str {
        self.code.as_deref().unwrap_or("")
    }

    /// Whether the thing asked about does not exist: `InvalidVpcID.NotFound`,
    /// `NoSuchBucket`, `ResourceNotFoundException`, `TargetGroupNotFound`, ...
    pub fn is_not_found(&self) -> bool {
        let c = self.code();
        c.starts_with("NoSuch")
            || c.ends_with("NotFound")
            || c.ends_with("NotFoundException")
            || c.ends_with("NotFoundError")
            || c.contains(".NotFound")
    }

    /// Whether the answer is that the thing exists already (a name, port or
    /// priority or CIDR taken): `EntityAlreadyExists`, `DuplicateTargetGroupName`,
    /// `BucketAlreadyOwnedByYou`, `ResourceInUseException`, `PriorityInUse`,
    /// `InvalidSubnet.Conflict`, ...
    pub fn is_conflict(&self) -> bool {
        let c = self.code();
        ["AlreadyExist", "Duplicate", "AlreadyOwned", "InUse", "Conflict"]
            .iter()
            .any(|k| c.contains(k))
    }

    /// An endpoint that does not implement the operation at all (an emulator's
    /// plain 404 page, with no error code): callers fall back where they can.
    pub fn is_unimplemented(&self) -> bool {
        self.code.is_none() && self.status == Some(404)
    }
}

/// The one way to say "gone already is fine": a not-found answer becomes
/// `Ok(None)`.
pub trait GoneOk<T> {
    fn or_gone(self) -> std::result::Result<Option<T>, ApiError>;
}

impl<T> GoneOk<T> for std::result::Result<T, ApiError> {
    fn or_gone(self) -> std::result::Result<Option<T>, ApiError> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// The API error inside an error chain, if it came from one.
pub fn api_error(e: &anyhow::Error) -> Option<&ApiError> {
    e.chain().find_map(|c| c.downcast_ref::<ApiError>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_is_read_from_the_code() {
        for code in [
            "InvalidVpcID.NotFound",
            "NoSuchBucket",
            "NoSuchEntity",
            "ResourceNotFoundException",
            "TargetGroupNotFound",
            "InvalidLaunchTemplateId.NotFound",
        ] {
            assert!(ApiError::new("X", code, "").is_not_found(), "{code}");
        }
        for code in ["DependencyViolation", "Throttling", "EntityAlreadyExists"] {
            assert!(!ApiError::new("X", code, "").is_not_found(), "{code}");
        }
        let gone: std::result::Result<(), ApiError> =
            Err(ApiError::new("DeleteVpc", "InvalidVpcID.NotFound", "gone"));
        assert!(matches!(gone.or_gone(), Ok(None)));
        assert_eq!(
            ApiError::new("DeleteVpc", "DependencyViolation", "in use").to_string(),
            "DeleteVpc: DependencyViolation: in use"
        );
    }
}
