//! A target-tracking autoscaler (`Owner::Autoscaler`) as an actor: every `interval` it reads
//! its signal (a profile, or the instances a workload wants now), terminates its unhealthy
//! instances, then scales toward the desired count, cooldowns permitting. Its model (desired
//! count, members, health, history) is [`Autoscaler`]; this file is how it acts.

use crate::cloud::api::{MAX_IDS_PER_CALL, Notice, Observer};
use crate::cloud::{ActorIdx, ErrorCode, InstanceId, Owner, Request, Response, RunInstances};
use crate::engine::SimTime;
use crate::workload::autoscale::{Autoscaler, ScaleAction, Signal};

use super::Event;
use super::actor::{Actor, Ctx};

/// An autoscaler's own event.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum AutoscalerEvent {
    /// Time to evaluate.
    Evaluate,
}

/// The autoscaler's index, from the owner it acts as.
fn index<O: Observer>(ctx: &Ctx<'_, O>) -> ActorIdx {
    match ctx.who() {
        Some(Owner::Autoscaler(i)) => i,
        _ => 0,
    }
}

impl Autoscaler {
    /// Evaluates: terminates its unhealthy instances, then scales toward `desired`,
    /// cooldowns permitting. The next evaluation is `interval` later.
    fn evaluate<O: Observer>(&mut self, ctx: &mut Ctx<'_, O>) {
        let i = index(ctx);
        let now = ctx.now();
        ctx.schedule_in(self.spec.interval, Event::Autoscale(i));
        let signal = match self.spec.signal {
            Signal::Workload(w) => ctx.wanted_now(w) as f64,
            ref s => s.profile_at(now).unwrap_or(0.0),
        };
        let desired = self.desired_for(signal);
        self.desired = desired;
        let unhealthy = self.unhealthy();
        for chunk in unhealthy.chunks(MAX_IDS_PER_CALL) {
            self.terminate(chunk, ctx);
        }
        let have = self.in_service();
        let out_ok = self
            .last_scale_out
            .is_none_or(|t| now.since(t) >= self.spec.scale_out_cooldown);
        let in_ok = self
            .last_action
            .is_none_or(|t| now.since(t) >= self.spec.scale_in_cooldown);
        if desired > have && out_ok {
            let n = self.scale_out(desired - have, ctx);
            if n > 0 {
                self.last_scale_out = Some(now);
                self.acted(now, n as i64, desired);
            }
        } else if desired < have && in_ok {
            let victims = self.victims(have - desired);
            let mut n = 0;
            for chunk in victims.chunks(MAX_IDS_PER_CALL) {
                if self.terminate(chunk, ctx) {
                    n += chunk.len();
                }
            }
            if n > 0 {
                self.acted(now, -(n as i64), desired);
            }
        }
    }

    fn acted(&mut self, time: SimTime, delta: i64, desired: u32) {
        self.last_action = Some(time);
        self.history.push(ScaleAction {
            time,
            delta,
            desired,
        });
    }

    /// TerminateInstances of `ids`; whether it was accepted.
    fn terminate<O: Observer>(&mut self, ids: &[InstanceId], ctx: &mut Ctx<'_, O>) -> bool {
        let req = Request::TerminateInstances {
            ids: ids.iter().map(|&id| id.into()).collect(),
        };
        let ok = ctx.call(req).is_ok();
        if ok {
            self.leaving(ids);
        }
        ok
    }

    /// Launches up to `n` instances spread over its zones; returns how many were launched. A
    /// zone that refuses is closed for this evaluation and its share goes to the others; a
    /// throttled call ends the evaluation's launches.
    fn scale_out<O: Observer>(&mut self, n: u32, ctx: &mut Ctx<'_, O>) -> u32 {
        let spec = self.spec.clone();
        let mut open = vec![true; spec.zones.len()];
        let mut left = n;
        let mut launched = 0;
        'evaluation: while left > 0 {
            let plan = self.allocate(left, &open);
            if plan.is_empty() {
                break;
            }
            for (z, k) in plan {
                let zi = spec.zones.iter().position(|&x| x == z).unwrap_or(0);
                let mut k = k;
                while k > 0 {
                    let count = k.min(ctx.cloud().max_run_count);
                    let req = Request::RunInstances(RunInstances {
                        zone: z,
                        itype: spec.itype,
                        charge: spec.charge,
                        count,
                        min_count: Some(1),
                        dry_run: false,
                        period_months: 1,
                        renew_flag: Default::default(),
                        max_price: spec.max_price,
                        client_token: None,
                        attach: None,
                    });
                    match ctx.call(req) {
                        Ok(Response::Launched { ids, .. }) => {
                            let got = ids.len() as u32;
                            self.launched(z, &ids);
                            launched += got;
                            left = left.saturating_sub(got);
                            k -= count;
                            if got < count {
                                // A partial delivery: the zone has no more.
                                open[zi] = false;
                                break;
                            }
                        }
                        Err(e) if e.code == ErrorCode::RequestLimitExceeded => {
                            break 'evaluation;
                        }
                        _ => {
                            open[zi] = false;
                            break;
                        }
                    }
                }
            }
        }
        launched
    }
}

impl Actor for Autoscaler {
    type Event = AutoscalerEvent;
    type Reply = ();

    /// Tracks the workload it reads, if it reads one; first evaluation at time zero.
    fn start<O: Observer>(&mut self, ctx: &mut Ctx<'_, O>) {
        if let Signal::Workload(w) = self.spec.signal {
            ctx.track_demand(w);
        }
        let i = index(ctx);
        ctx.schedule_at(SimTime::ZERO, Event::Autoscale(i));
    }

    fn handle<O: Observer>(
        &mut self,
        AutoscalerEvent::Evaluate: AutoscalerEvent,
        ctx: &mut Ctx<'_, O>,
    ) {
        self.evaluate(ctx);
    }

    fn notice<O: Observer>(&mut self, n: &Notice, _ctx: &mut Ctx<'_, O>) {
        Autoscaler::notice(self, n.id, n.to);
    }
}
