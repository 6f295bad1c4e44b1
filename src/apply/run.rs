//! One function per operation of a step. Each writes its intent to the journal
//! before the mutating call and its result after, and reads what AWS made back.

use std::time::Duration;

use anyhow::bail;
use serde_json::Value;

use super::ctx::{Ctx, read_back};
use super::recover::{self, Found};
use super::{Step, Work, rollout};
use crate::provider::{ApiError, Provider, api_error};
use crate::stack::graph::Part;
use crate::types::{Address, Attrs, Operation};

use Operation::{Create, Delete, DeleteDeposed, DeleteRules, Update, UpdateRules};

/// What a step did, for the progress line: its verb (`created`, or
/// `adopted` when a create found what this stack had made already) and a
/// detail said after it (` (id vpc-1)`).
pub struct Done {
    pub verb: &'static str,
    pub detail: String,
}

impl Done {
    fn new(verb: &'static str, detail: String) -> Done {
        Done { verb, detail }
    }
}

/// Carries out one step.
pub(super) async fn run(ctx: &Ctx<'_>, step: &Step) -> anyhow::Result<Done> {
    let a = &step.address;
    let detail = match step.work {
        Work::Run(Create) => return create(ctx, a).await,
        Work::Run(Update) => update(ctx, a).await,
        Work::Run(UpdateRules) => update_rules(ctx, a).await,
        Work::Run(DeleteRules) => delete_rules(ctx, a).await,
        Work::Run(DeleteDeposed) => delete_deposed(ctx, a).await,
        Work::Run(Delete) => delete(ctx, a).await,
        Work::Resume => resume(ctx, a).await,
    }?;
    Ok(Done::new(step.done(), detail))
}

async fn create(ctx: &Ctx<'_>, a: &Address) -> anyhow::Result<Done> {
    let provider = ctx.provider(a)?;
    if ctx.journal.read(|s| recover::unresolved(s, a)).await {
        bail!(
            "an earlier create of {a} may have made it, and it could not be looked up; infra will not create it again until that is resolved (`infra state rm {a}` once you have checked by hand)"
        );
    }
    let mut after = ctx.desired(a, Part::Main).await?;
    // A new resource has nothing to remove.
    after.retain(|_, v| !v.is_null());
    provider.prepare(&mut after);
    let token = uuid::Uuid::new_v4().to_string();
    ctx.journal.intend(a, Create, Some(token.clone()), after.clone()).await?;
    let op = ctx.op(a, Some(token));
    let (made, adopted) = match provider.create(&op, &after).await {
        Ok(made) => {
            let found = made.found;
            (made, found)
        }
        Err(e) => (refused(ctx, provider, a, &after, e).await?.into(), true),
    };
    let id = made.id;
    // What was asked for stands in until it can be read back.
    let mut known = after.clone();
    known.insert("id".to_string(), Value::String(id.clone()));
    if provider.waits() || !provider.tags_at_create() {
        // AWS accepted it: a run killed while waiting resumes the wait; one
        // killed before an untagged resource is configured finds it here,
        // since nothing in AWS says it is this stack's.
        ctx.record(a, &id, known.clone(), &after, Some(Create)).await?;
    }
    let rest = async {
        let seen = provider.wait(&op, &id, Create).await?;
        // Configured from what a new one holds, when the provider knows it
        // (from the create's answer, and what the wait's last look saw), and
        // recorded from what was asked, when nothing is left to read.
        let made = match (made.holds, seen) {
            (Some(mut holds), seen) => {
                holds.extend(seen.unwrap_or_default());
                holds
            }
            (None, Some(seen)) => seen,
            (None, None) => read_back(provider, &id).await?,
        };
        visible(|| provider.update(&op, &id, &made, &after)).await?;
        settle(provider, a, &id, &after, &made).await
    };
    match rest.await {
        Ok(observed) => ctx.record(a, &id, observed, &after, None).await?,
        Err(e) if !provider.tags_at_create() => {
            // It exists, still pending: the next run reads what it holds.
            return Err(e);
        }
        Err(e) => {
            // It exists: state keeps it, and the next plan finishes it.
            ctx.record(a, &id, known, &after, None).await?;
            return Err(e);
        }
    }
    Ok(match adopted {
        true => Done::new("adopted", format!(" {id}, which this stack made and did not record")),
        false => Done::new("created", format!(" (id {id})")),
    })
}

/// Calls `f` again while AWS answers that what it names does not exist yet: a
/// resource just made is not visible to every endpoint at once (AWS's eventual
/// consistency: EC2's `InvalidSubnetID.NotFound` or `InvalidGroup.NotFound`,
/// IAM's `NoSuchEntity`), and a configure now follows its create with no read
/// between them. Five tries over about eight seconds; then the error stands.
async fn visible<F, Fut>(mut f: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let mut delay = Duration::from_millis(500);
    let mut attempt = 1;
    loop {
        match f().await {
            Err(e) if attempt < 5 && api_error(&e).is_some_and(ApiError::is_not_found) => {
                tokio::time::sleep(delay).await;
                delay *= 2;
                attempt += 1;
            }
            done => return done,
        }
    }
}

/// How many times, a second apart, a create whose answer was lost is looked for.
const LOOKS: usize = 5;

/// A create that came back with an error. When AWS answered, nothing was made
/// and the intent goes at once, unless the answer is that the thing exists
/// already and it carries this stack's owner tags (the SDK retried a create
/// whose first answer was lost): then it is adopted, and said so. With no
/// answer at all (the connection dropped), the intent stays for the next
/// run's recovery.
async fn refused(
    ctx: &Ctx<'_>,
    provider: &dyn Provider,
    a: &Address,
    asked: &Attrs,
    e: anyhow::Error,
) -> anyhow::Result<String> {
    let answer = api_error(&e).cloned();
    if answer.as_ref().is_some_and(|api| api.code.is_none() && !api.is_unimplemented()) {
        // No answer (an endpoint without the operation is an answer: nothing
        // was made): it may have been made. It is looked for by its tags (it
        // may take a moment to be seen); otherwise the intent stays for the
        // next run's recovery.
        for _ in 0..LOOKS {
            if let Ok(Found::Ours(id, _)) = recover::look(provider, asked).await {
                return Ok(id);
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        return Err(e);
    }
    if answer.as_ref().is_some_and(ApiError::is_conflict) {
        match recover::look(provider, asked).await {
            Ok(Found::Ours(id, _)) => return Ok(id),
            Ok(Found::NotOurs(id, attrs)) => {
                ctx.journal.resolve(a).await?;
                return Err(e.context(format!(
                    "{} {id} exists and is not this stack's ({}); choose another name, or `infra import {a} {id} STACK_FILE` if it is this resource",
                    a.ty,
                    recover::owner(&attrs)
                )));
            }
            _ => {}
        }
    }
    ctx.journal.resolve(a).await?;
    Err(e)
}

async fn update(ctx: &Ctx<'_>, a: &Address) -> anyhow::Result<String> {
    let provider = ctx.provider(a)?;
    let mut after = ctx.desired(a, Part::Main).await?;
    let now = ctx.in_state(a).await?;
    let id = now.id;
    let before = ctx.before(a);
    // A setting to remove (`null`) reaches the provider only where AWS
    // holds one (there is nothing to remove otherwise), or where the type's
    // canonical form makes something else of it (a shorthand's expansion).
    let mut canonical = after.clone();
    if let Some(f) = crate::types::schema(&a.ty).and_then(|s| s.canonical) {
        f(&mut canonical);
    }
    after.retain(|k, v| {
        !v.is_null() || before.get(k).is_some_and(|b| !b.is_null()) || !canonical.contains_key(k)
    });
    if rollout::applies(&before, &after) {
        return Box::pin(rollout::run(ctx, a, &id, &before, &after)).await;
    }
    ctx.journal.intend(a, Update, None, Attrs::new()).await?;
    let op = ctx.op(a, None);
    if provider.waits() {
        // Marked before the call: an update can wait inside it (an EKS version
        // upgrade takes most of an hour), and a run killed or timed out there
        // resumes the wait next time instead of starting another update.
        ctx.journal.set_pending(a, Some(Update)).await?;
    }
    let done = async {
        provider.update(&op, &id, &before, &after).await?;
        provider.wait(&op, &id, Update).await
    }
    .await;
    if let Err(e) = &done
        && provider.waits()
    {
        ctx.journal.pending_failed(a, format!("{e:#}")).await?;
    }
    // What the wait saw (a new platform version) over what state had.
    let mut held = now.attributes;
    held.extend(done?.unwrap_or_default());
    let observed = settle(provider, a, &id, &after, &held).await?;
    ctx.record(a, &id, observed, &after, None).await?;
    Ok(String::new())
}

async fn update_rules(ctx: &Ctx<'_>, a: &Address) -> anyhow::Result<String> {
    let provider = ctx.provider(a)?;
    let after = ctx.desired(a, Part::Deferred).await?;
    let now = ctx.in_state(a).await?;
    let id = now.id;
    // A new group whose rules are the ones its create left (AWS's one rule
    // out): nothing to call, nothing to write.
    let settled = crate::types::schema(&a.ty).is_some_and(|schema| {
        schema.attrs.iter().filter(|x| x.deferred).all(|x| {
            let (have, want) = (now.attributes.get(x.name), after.get(x.name));
            match (have, want) {
                (Some(h), Some(w)) => crate::types::attrs::values_equal(Some(&x.kind), h, w),
                (_, None) => true,
                (None, Some(_)) => false,
            }
        })
    });
    if settled {
        return Ok(String::new());
    }
    ctx.journal.intend(a, UpdateRules, None, Attrs::new()).await?;
    let op = ctx.op(a, None);
    visible(|| provider.update_deferred(&op, &id, &now.attributes, &after)).await?;
    let observed = settle(provider, a, &id, &after, &now.attributes).await?;
    ctx.record(a, &id, observed, &after, None).await?;
    Ok(String::new())
}

async fn delete_rules(ctx: &Ctx<'_>, a: &Address) -> anyhow::Result<String> {
    let provider = ctx.provider(a)?;
    let id = ctx.in_state(a).await?.id;
    ctx.journal.intend(a, DeleteRules, None, Attrs::new()).await?;
    provider.delete_deferred(&ctx.op(a, None), &id).await?;
    ctx.journal.resolve(a).await?;
    Ok(String::new())
}

/// Deletes every object replacements of `a` left, one by one, waiting where
/// AWS deletes in the background; each leaves state only once it is gone.
async fn delete_deposed(ctx: &Ctx<'_>, a: &Address) -> anyhow::Result<String> {
    let provider = ctx.provider(a)?;
    for d in ctx.in_state(a).await?.deposed {
        ctx.journal.intend(a, DeleteDeposed, None, Attrs::new()).await?;
        let op = ctx.op(a, None);
        provider.delete(&op, &d.id, &d.attributes).await?;
        // Gone, not going: a node group drains before it is deleted.
        if provider.waits() {
            provider.wait(&op, &d.id, Delete).await?;
        }
        ctx.journal.forget_deposed(a, &d.id).await?;
    }
    Ok(String::new())
}

async fn delete(ctx: &Ctx<'_>, a: &Address) -> anyhow::Result<String> {
    let provider = ctx.provider(a)?;
    let r = ctx.in_state(a).await?;
    let mut before = ctx.before(a);
    for (k, v) in r.attributes {
        before.entry(k).or_insert(v);
    }
    ctx.journal.intend(a, Delete, None, Attrs::new()).await?;
    let op = ctx.op(a, None);
    provider.delete(&op, &r.id, &before).await?;
    if provider.waits() {
        ctx.journal.set_pending(a, Some(Delete)).await?;
        provider.wait(&op, &r.id, Delete).await?;
    }
    ctx.journal.forget(a).await?;
    Ok(String::new())
}

/// Finishes waiting for what an interrupted apply had started.
async fn resume(ctx: &Ctx<'_>, a: &Address) -> anyhow::Result<String> {
    let provider = ctx.provider(a)?;
    let r = ctx.in_state(a).await?;
    let Some(pending) = r.pending else {
        return Ok(String::new());
    };
    let operation = pending.operation;
    provider.wait(&ctx.op(a, None), &r.id, operation).await?;
    let still = provider.read(std::slice::from_ref(&r.id)).await?;
    match (operation, still.contains_key(&r.id)) {
        (Delete, false) => ctx.journal.forget(a).await?,
        // It is still there: the delete did not go through after all.
        (Delete, true) => ctx.journal.set_pending(a, None).await?,
        _ => {
            let observed = read_back(provider, &r.id).await?;
            ctx.record(a, &r.id, observed, &r.attributes, None).await?;
        }
    }
    Ok(format!(" (the wait an earlier apply left: {operation})"))
}

/// What to record of a resource just made or changed to `asked`, where the
/// provider can tell what AWS computed without reading: what was asked, in
/// the type's canonical form (as `read` gives it), with its id and what AWS
/// computed, over what it held (`previous`: the rest of its attributes).
/// Otherwise what a read gives.
async fn settle(
    provider: &dyn Provider,
    a: &Address,
    id: &str,
    asked: &Attrs,
    previous: &Attrs,
) -> anyhow::Result<Attrs> {
    let Some(computed) = provider.settled(id, asked).await? else {
        return read_back(provider, id).await;
    };
    let mut recorded = asked.clone();
    recorded.retain(|_, v| !v.is_null());
    // What was removed is no longer held.
    let mut previous = previous.clone();
    previous.retain(|k, _| !asked.get(k).is_some_and(Value::is_null));
    if let Some(canonical) = crate::types::schema(&a.ty).and_then(|s| s.canonical) {
        canonical(&mut recorded);
    }
    recorded.insert("id".into(), Value::String(id.to_string()));
    recorded.extend(computed);
    previous.extend(recorded);
    Ok(previous)
}
