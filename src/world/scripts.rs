//! The scenario's scripted actions (`Owner::Script`): each at its time selects its instances
//! (with its own random stream `script:<index>`, or from what an earlier action was applied
//! to) and makes as many calls as the per-call caps need; throttled calls are retried like any
//! client's.

use crate::cloud::api::{InstanceRef, InstanceRefs, Observer};
use crate::cloud::{InstanceId, Request, Response};
use crate::engine::{RandomStream, RngStreams};
use crate::workload::script::{ScriptAction, ScriptCall};

use super::Event;
use super::actor::{Actor, Ctx, RetryCall};

/// The scripted actions.
#[derive(Default)]
pub struct Scripts {
    actions: Vec<ScriptAction>,
    /// Per action: the instances it was applied to (sorted).
    applied: Vec<Vec<InstanceId>>,
    /// Per action: its random stream.
    rngs: Vec<RandomStream>,
}

impl Scripts {
    /// The actions, action `i` drawing from the stream `script:<i>`.
    pub fn new(actions: Vec<ScriptAction>, streams: &RngStreams) -> Self {
        Scripts {
            applied: vec![Vec::new(); actions.len()],
            rngs: (0..actions.len())
                .map(|i| streams.stream(&format!("script:{i}")))
                .collect(),
            actions,
        }
    }

    /// The instances action `i` was applied to (sorted; empty before it ran).
    pub fn applied(&self, i: usize) -> &[InstanceId] {
        self.applied.get(i).map_or(&[], |v| v.as_slice())
    }

    /// Runs action `i`.
    fn run<O: Observer>(&mut self, i: usize, ctx: &mut Ctx<'_, O>) {
        let Some(a) = self.actions.get(i).cloned() else {
            return;
        };
        let mut applied: Vec<InstanceId> = Vec::new();
        match &a.call {
            ScriptCall::Run(_)
            | ScriptCall::DescribeQuota { .. }
            | ScriptCall::DescribeConfigs { .. }
            | ScriptCall::DescribeZones
            | ScriptCall::DescribeRegions
            | ScriptCall::DescribeTypeConfigs { .. } => {
                if let Ok(Response::Launched { ids, .. }) =
                    ctx.call_or_retry(a.call.request(InstanceRefs::new()), 1)
                {
                    applied = ids.into_vec();
                }
            }
            // Pricing a launch names no instances.
            ScriptCall::Inquire(c) if matches!(**c, ScriptCall::Run(_)) => {
                let _ = ctx.call_or_retry(a.call.request(InstanceRefs::new()), 1);
            }
            ScriptCall::Describe { page_size, filters } if a.select.is_none() => {
                // Page through everything: Offset advances until TotalCount is reached.
                let mut offset = 0u32;
                loop {
                    let req = Request::DescribeInstances {
                        ids: InstanceRefs::new(),
                        filters: filters.clone(),
                        offset,
                        limit: Some(*page_size),
                    };
                    match ctx.call(req) {
                        Ok(Response::Instances { total, items }) => {
                            applied.extend(items.iter().map(|v| v.id));
                            offset += items.len() as u32;
                            if items.is_empty() || offset >= total {
                                break;
                            }
                        }
                        _ => break,
                    }
                }
            }
            call => {
                let sel = a.select.clone().unwrap_or_default();
                let earlier = sel
                    .from
                    .map(|j| self.applied[j].clone())
                    .unwrap_or_default();
                let refs = sel.pick(ctx.cloud().fleet(), &earlier, &mut self.rngs[i]);
                for batch in refs.chunks(call.ids_per_call()) {
                    if ctx
                        .call_or_retry(call.request(batch.iter().cloned().collect()), 1)
                        .is_ok()
                    {
                        applied.extend(batch.iter().filter_map(InstanceRef::id));
                    }
                }
            }
        }
        applied.sort();
        applied.dedup();
        self.applied[i] = applied;
    }
}

impl Actor for Scripts {
    /// The index of the action due.
    type Event = u32;
    type Reply = ();

    fn start<O: Observer>(&mut self, ctx: &mut Ctx<'_, O>) {
        for (i, a) in self.actions.iter().enumerate() {
            ctx.schedule_at(a.at, Event::Script(i as u32));
        }
    }

    fn handle<O: Observer>(&mut self, i: u32, ctx: &mut Ctx<'_, O>) {
        self.run(i as usize, ctx);
    }

    fn retry<O: Observer>(&mut self, call: RetryCall, attempts: u32, ctx: &mut Ctx<'_, O>) {
        if let RetryCall::Plain(r) = call {
            let _ = ctx.call_or_retry(r, attempts + 1);
        }
    }
}
