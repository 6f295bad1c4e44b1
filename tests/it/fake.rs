//! A fake cloud for the engine's tests: every resource type served from memory,
//! with a log of the calls, how many run at once, injected failures, a hook
//! before each mutating call, and alarms and target health to set by hand.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use infra::provider::{
    AlarmState, ApiError, Made, Monitor, OpContext, Provider, Registry, TargetHealth, TargetState,
};
use infra::types::{Attrs, AttrsExt};
use serde_json::Value;

/// One mutating call as the fake saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub op: &'static str,
    pub address: String,
    pub id: String,
}

/// What a hook may make a call do.
pub enum Then {
    Proceed,
    /// Fail with this API error code (nothing happens in the cloud).
    Fail(&'static str),
    /// Make the resource, then never answer (the process is killed meanwhile).
    Hang,
    /// Never answer, having made nothing (the request was lost on the way).
    Lose,
}

type Hook = Box<dyn Fn(&Call, &OpContext) -> Then + Send + Sync>;

#[derive(Default)]
struct Inner {
    next: u64,
    /// By id: the type and the attributes as read back.
    resources: BTreeMap<String, (String, Attrs)>,
    calls: Vec<Call>,
    running: usize,
    most_running: usize,
    alarms: BTreeMap<String, AlarmState>,
    health: HashMap<String, Vec<(String, TargetState)>>,
    traffic: HashMap<String, infra::plan::rollout::Traffic>,
    /// The load balancer's own answers, each level from the time it was set.
    balancer: Vec<(chrono::DateTime<chrono::Utc>, infra::plan::rollout::Balancer)>,
    /// How many ids `read` was asked for.
    reads: usize,
}

#[derive(Default)]
pub struct Cloud {
    inner: Mutex<Inner>,
    hook: Mutex<Option<Hook>>,
    /// How long each mutating call takes.
    pub delay: Mutex<Duration>,
    /// Lookups (`find`) are refused with AccessDenied.
    pub deny_find: std::sync::atomic::AtomicBool,
}

impl Cloud {
    pub fn new() -> Arc<Cloud> {
        Arc::new(Cloud::default())
    }

    /// A registry with a fake provider for every type the stack file knows.
    pub fn registry(self: &Arc<Self>) -> Registry {
        let mut r = Registry::new(Arc::new(FakeMonitor(self.clone())));
        for schema in infra::types::SCHEMAS {
            r = r.with(schema, Arc::new(Fake { ty: schema.name, cloud: self.clone() }));
        }
        r
    }

    /// Runs `hook` before every mutating call from now on.
    pub fn on_call(&self, hook: impl Fn(&Call, &OpContext) -> Then + Send + Sync + 'static) {
        *self.hook.lock().unwrap() = Some(Box::new(hook));
    }

    pub fn calls(&self) -> Vec<Call> {
        self.inner.lock().unwrap().calls.clone()
    }

    /// The calls as `op address`, in order.
    pub fn log(&self) -> Vec<String> {
        self.calls().iter().map(|c| format!("{} {}", c.op, c.address)).collect()
    }

    /// How many ids were read, all types together.
    pub fn reads(&self) -> usize {
        self.inner.lock().unwrap().reads
    }

    pub fn most_running(&self) -> usize {
        self.inner.lock().unwrap().most_running
    }

    /// Ids of what exists, by type.
    pub fn ids(&self, ty: &str) -> Vec<String> {
        let inner = self.inner.lock().unwrap();
        inner.resources.iter().filter(|(_, (t, _))| t == ty).map(|(id, _)| id.clone()).collect()
    }

    /// Makes a resource behind the engine's back (another stack's, or one a
    /// lost answer left); returns its id.
    pub fn insert(&self, ty: &str, attrs: Value) -> String {
        let mut inner = self.inner.lock().unwrap();
        inner.next += 1;
        let id = format!("{ty}-{}", inner.next);
        let mut attrs = attrs.as_object().cloned().unwrap_or_default();
        attrs.insert("id".into(), Value::String(id.clone()));
        attrs.insert("arn".into(), Value::String(format!("arn:fake:{ty}/{id}")));
        inner.resources.insert(id.clone(), (ty.to_string(), attrs));
        id
    }

    pub fn set_alarm(&self, name: &str, state: AlarmState) {
        self.inner.lock().unwrap().alarms.insert(name.to_string(), state);
    }

    /// What a target group serves from now on, as its metrics would say.
    pub fn set_traffic(&self, target_group: &str, traffic: infra::plan::rollout::Traffic) {
        self.inner.lock().unwrap().traffic.insert(target_group.to_string(), traffic);
    }

    /// What the load balancer answers itself from now on (its requests and
    /// its own 5xx), as its metrics would say.
    pub fn set_balancer(&self, level: infra::plan::rollout::Balancer) {
        self.inner.lock().unwrap().balancer.push((chrono::Utc::now(), level));
    }

    pub fn set_health(&self, target_group: &str, targets: &[(&str, TargetState)]) {
        self.inner.lock().unwrap().health.insert(
            target_group.to_string(),
            targets.iter().map(|(t, s)| (t.to_string(), *s)).collect(),
        );
    }

    /// Logs a call, asks the hook, and waits the delay with the call counted as
    /// running.
    async fn call(&self, op: &'static str, ctx: &OpContext, id: &str) -> Then {
        let call = Call { op, address: ctx.address.to_string(), id: id.to_string() };
        {
            let mut inner = self.inner.lock().unwrap();
            inner.calls.push(call.clone());
            inner.running += 1;
            inner.most_running = inner.most_running.max(inner.running);
        }
        let delay = *self.delay.lock().unwrap();
        tokio::time::sleep(delay).await;
        self.inner.lock().unwrap().running -= 1;
        self.ask(&call, ctx)
    }

    /// What the hook makes of a call (not logged: a wait is no call).
    fn ask(&self, call: &Call, ctx: &OpContext) -> Then {
        match &*self.hook.lock().unwrap() {
            Some(hook) => hook(call, ctx),
            None => Then::Proceed,
        }
    }
}

/// The fake provider of one type.
struct Fake {
    ty: &'static str,
    cloud: Arc<Cloud>,
}

fn failure(op: &'static str, code: &str) -> anyhow::Error {
    ApiError::new(op, code, "injected by the test").into()
}

#[async_trait]
impl Provider for Fake {
    async fn read(&self, ids: &[String]) -> anyhow::Result<HashMap<String, Attrs>> {
        let mut inner = self.cloud.inner.lock().unwrap();
        inner.reads += ids.len();
        Ok(ids
            .iter()
            .filter_map(|id| match inner.resources.get(id) {
                Some((ty, attrs)) if ty == self.ty => Some((id.clone(), attrs.clone())),
                _ => None,
            })
            .collect())
    }

    async fn create(&self, ctx: &OpContext, attrs: &Attrs) -> anyhow::Result<Made> {
        let then = self.cloud.call("create", ctx, "").await;
        match then {
            Then::Fail(code) => return Err(failure("Create", code)),
            Then::Lose => std::future::pending::<()>().await,
            _ => {}
        }
        let id = {
            let mut inner = self.cloud.inner.lock().unwrap();
            inner.next += 1;
            let id = format!("{}-{}", self.ty, inner.next);
            let mut stored = attrs.clone();
            stored.insert("id".into(), Value::String(id.clone()));
            stored.insert("arn".into(), Value::String(format!("arn:fake:{}/{id}", self.ty)));
            // Security group rules come in a step of their own.
            if self.ty == "security_group" {
                stored.insert("ingress".into(), Value::Array(Vec::new()));
                stored.remove("egress");
            }
            inner.resources.insert(id.clone(), (self.ty.to_string(), stored));
            id
        };
        if let Then::Hang = then {
            std::future::pending::<()>().await;
        }
        Ok(id.into())
    }

    async fn update(
        &self,
        ctx: &OpContext,
        id: &str,
        _before: &Attrs,
        after: &Attrs,
    ) -> anyhow::Result<()> {
        let then = self.cloud.call("update", ctx, id).await;
        match then {
            Then::Fail(code) => return Err(failure("Update", code)),
            // Lost on the way: nothing changes, and no answer ever comes.
            Then::Lose => std::future::pending::<()>().await,
            _ => {}
        }
        {
            let mut inner = self.cloud.inner.lock().unwrap();
            let (_, stored) =
                inner.resources.get_mut(id).ok_or_else(|| failure("Update", "NotFound"))?;
            for (k, v) in after {
                stored.insert(k.clone(), v.clone());
            }
        }
        if let Then::Hang = then {
            // Accepted; AWS works on it while the process dies waiting.
            std::future::pending::<()>().await;
        }
        Ok(())
    }

    /// A bucket is tagged after its create, as S3's are.
    fn tags_at_create(&self) -> bool {
        self.ty != "s3_bucket"
    }

    /// A wait the hook holds (`Then::Hang`) lasts for ever: AWS is still at it.
    async fn wait(
        &self,
        ctx: &OpContext,
        id: &str,
        _operation: infra::types::Operation,
    ) -> anyhow::Result<Option<Attrs>> {
        let call = Call { op: "wait", address: ctx.address.to_string(), id: id.to_string() };
        if let Then::Hang = self.cloud.ask(&call, ctx) {
            std::future::pending::<()>().await;
        }
        // AWS finished: the last look sees it whole, ACTIVE.
        let mut inner = self.cloud.inner.lock().unwrap();
        Ok(inner.resources.get_mut(id).map(|(_, stored)| {
            stored.insert("status".into(), Value::String("ACTIVE".into()));
            stored.clone()
        }))
    }

    /// A waiting type knows what AWS computed from its wait's last look;
    /// the others are read back.
    async fn settled(&self, _id: &str, _asked: &Attrs) -> anyhow::Result<Option<Attrs>> {
        Ok(self.waits().then(Attrs::new))
    }

    /// The types AWS works on after it answers, as the real providers wait.
    fn waits(&self) -> bool {
        matches!(self.ty, "eks_cluster" | "eks_nodegroup" | "load_balancer" | "firehose_stream")
    }

    async fn delete(&self, ctx: &OpContext, id: &str, _before: &Attrs) -> anyhow::Result<()> {
        if let Then::Fail(code) = self.cloud.call("delete", ctx, id).await {
            return Err(failure("Delete", code));
        }
        self.cloud.inner.lock().unwrap().resources.remove(id);
        Ok(())
    }

    /// By name where the type has one (as IAM, S3, ECR, EKS do), else by the
    /// `infra:stack` and `infra:address` tags (as the EC2 types do).
    async fn find(&self, attrs: &Attrs) -> anyhow::Result<Vec<String>> {
        if self.cloud.deny_find.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(failure("Find", "AccessDenied"));
        }
        if let Some(name) = attrs.opt_str("name") {
            let inner = self.cloud.inner.lock().unwrap();
            return Ok(inner
                .resources
                .iter()
                .filter(|(_, (ty, a))| ty == self.ty && a.opt_str("name") == Some(name))
                .map(|(id, _)| id.clone())
                .collect());
        }
        let want = attrs.tags();
        let owner = |tags: &[(String, String)]| {
            ["infra:stack", "infra:address"].iter().all(|k| {
                let get = |t: &[(String, String)]| {
                    t.iter().find(|(tk, _)| tk == k).map(|(_, v)| v.clone())
                };
                get(tags).is_some() && get(tags) == get(&want)
            })
        };
        let inner = self.cloud.inner.lock().unwrap();
        Ok(inner
            .resources
            .iter()
            .filter(|(_, (ty, a))| ty == self.ty && owner(&a.tags()))
            .map(|(id, _)| id.clone())
            .collect())
    }

    async fn update_deferred(
        &self,
        ctx: &OpContext,
        id: &str,
        _before: &Attrs,
        after: &Attrs,
    ) -> anyhow::Result<()> {
        self.update(ctx, id, &Attrs::new(), after).await
    }

    async fn delete_deferred(&self, ctx: &OpContext, id: &str) -> anyhow::Result<()> {
        let mut none = Attrs::new();
        none.insert("ingress".into(), Value::Array(Vec::new()));
        none.insert("egress".into(), Value::Array(Vec::new()));
        self.update(ctx, id, &Attrs::new(), &none).await
    }
}

struct FakeMonitor(Arc<Cloud>);

#[async_trait]
impl Monitor for FakeMonitor {
    async fn alarms(&self, names: &[String]) -> anyhow::Result<Vec<(String, AlarmState)>> {
        let inner = self.0.inner.lock().unwrap();
        Ok(names.iter().filter_map(|n| inner.alarms.get(n).map(|s| (n.clone(), *s))).collect())
    }

    async fn traffic(
        &self,
        _load_balancer: &str,
        target_group: &str,
        _since: chrono::DateTime<chrono::Utc>,
        _until: chrono::DateTime<chrono::Utc>,
        _latency_statistic: &str,
    ) -> anyhow::Result<infra::plan::rollout::Traffic> {
        Ok(self.0.inner.lock().unwrap().traffic.get(target_group).copied().unwrap_or_default())
    }

    /// The level set last before the window's end.
    async fn balancer(
        &self,
        _load_balancer: &str,
        _since: chrono::DateTime<chrono::Utc>,
        until: chrono::DateTime<chrono::Utc>,
    ) -> anyhow::Result<infra::plan::rollout::Balancer> {
        Ok(self
            .0
            .inner
            .lock()
            .unwrap()
            .balancer
            .iter()
            .rev()
            .find(|(at, _)| *at < until)
            .map(|(_, level)| *level)
            .unwrap_or_default())
    }

    async fn target_health(&self, target_group: &str) -> anyhow::Result<Vec<TargetHealth>> {
        Ok(self
            .0
            .inner
            .lock()
            .unwrap()
            .health
            .get(target_group)
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|(id, state)| TargetHealth { id, state, zone: Some("ap-northeast-1a".into()) })
            .collect())
    }
}
