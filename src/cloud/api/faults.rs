//! Platform faults: zone outages and instance failures. These are the platform's own actions,
//! not API calls: nobody asks for them, so they pass no rate limit, quota or precondition. They
//! still move instances only through the control plane's own code paths (`apply` and the state
//! table), so every move is a normal state-change record and bills, counts, `instances.csv` and
//! the trace stay right. The fault injector (`workload/faults.rs`) decides *when*; the methods
//! here decide *what happens*.
//!
//! Also here: the one read of the spot market a controller makes (`spot_market_price`), for the
//! `cheapest` placement policy.

use super::*;

/// How a zone outage treats the instances in the zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutageMode {
    /// Lost: the platform releases them at once.
    Lost,
    /// Stopped by the platform (KEEP_CHARGING, they keep their capacity); starting them again
    /// is their owner's business, once the zone is back.
    Stopped,
}

/// What the platform did to one instance, for its owner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlatformNotice {
    pub id: InstanceId,
    pub owner: Owner,
    pub zone: ZoneIdx,
    pub itype: TypeIdx,
    pub charge: ChargeType,
    /// `true`: the instance is gone (released); `false`: it was stopped, or its launch failed.
    pub lost: bool,
    /// The state the instance is in now (`None` when released).
    pub state: Option<InstanceState>,
}

impl Cloud {
    /// Refuses placing capacity in a zone that is in an outage, with the code `action`'s list
    /// has for it: `ResourceInsufficient.AvailabilityZoneSoldOut` (RunInstances),
    /// `ResourcesSoldOut.AvailableZone` (ResetInstancesType). RenewInstances lists neither;
    /// restoring an instance there answers the first (a known gap).
    pub(super) fn zone_outage_check(&self, action: Action, z: ZoneIdx) -> Result<(), ApiError> {
        if self.stock.zone_down(z) {
            let listed = |c: ErrorCode| {
                crate::cloud::sdk_codes::action_codes(action.as_str())
                    .is_some_and(|l| l.contains(c.as_str()))
            };
            let code = if !listed(ErrorCode::ZoneSoldOut) && listed(ErrorCode::SoldOutZone) {
                ErrorCode::SoldOutZone
            } else {
                ErrorCode::ZoneSoldOut
            };
            return Err(ApiError::new(
                code,
                format!(
                    "{} is in an outage: no capacity can be placed there",
                    self.catalog.zone(z).name
                ),
            ));
        }
        Ok(())
    }

    /// Whether zone `z` is in an outage now.
    pub fn zone_is_down(&self, z: ZoneIdx) -> bool {
        self.stock.zone_down(z)
    }

    /// The spot market price per hour (micro-CNY) of a type in a zone now. Reading it does not
    /// move the price path (each zone and type draws its path lazily, in step order, from its
    /// own stream), so a controller that reads it changes nothing else in the run.
    pub fn spot_market_price(&mut self, z: ZoneIdx, t: TypeIdx, now: SimTime) -> u64 {
        self.market.price_at(z, t, now)
    }

    /// A zone outage begins: from now on nothing can be placed in the zone (RunInstances,
    /// ResetInstancesType and restoring RenewInstances fail with
    /// `ResourceInsufficient.AvailabilityZoneSoldOut`; a StartInstances is accepted and fails
    /// when it completes), and its instances are lost or stopped,
    /// in id order. Returns what happened to each instance touched.
    pub fn begin_zone_outage<E: From<CloudEvent>, O: Observer>(
        &mut self,
        z: ZoneIdx,
        mode: OutageMode,
        sched: &mut Scheduler<E>,
        obs: &mut O,
    ) -> Vec<PlatformNotice> {
        self.stock.set_zone_down(z, true);
        let keys: Vec<InstanceKey> = self
            .fleet
            .iter()
            .filter(|(_, i)| i.zone == z)
            .map(|(k, _)| k)
            .collect();
        let mut out = Vec::new();
        for key in keys {
            let notice = match mode {
                OutageMode::Lost => self.lose(key, Operation::ZoneOutage, sched, obs),
                OutageMode::Stopped => self.platform_stop(key, sched, obs),
            };
            out.extend(notice);
        }
        out
    }

    /// The outage of zone `z` ends: capacity can be placed there again.
    pub fn end_zone_outage(&mut self, z: ZoneIdx) {
        self.stock.set_zone_down(z, false);
    }

    /// A random failure strikes instance `id`: if it is RUNNING with no operation in flight,
    /// the platform loses it (releases it at once). Any other instance is spared (`None`).
    pub fn fail_instance<E: From<CloudEvent>, O: Observer>(
        &mut self,
        id: InstanceId,
        sched: &mut Scheduler<E>,
        obs: &mut O,
    ) -> Option<PlatformNotice> {
        let key = self.fleet.key_of(id)?;
        let inst = self.fleet.get(key)?;
        if inst.state != InstanceState::Running || inst.busy() {
            return None;
        }
        self.lose(key, Operation::InstanceFailure, sched, obs)
    }

    fn notice(&self, key: InstanceKey, lost: bool) -> Option<PlatformNotice> {
        let inst = self.fleet.get(key)?;
        Some(PlatformNotice {
            id: inst.id,
            owner: inst.owner,
            zone: inst.zone,
            itype: inst.itype,
            charge: inst.charge,
            lost,
            state: if lost { None } else { Some(inst.state) },
        })
    }

    /// Cancels the operation in flight on an instance, if any, and gives back the capacity a
    /// ResetInstancesType in flight had reserved for its new type.
    fn cut_short<E: From<CloudEvent>>(&mut self, key: InstanceKey, sched: &mut Scheduler<E>) {
        let inst = self.fleet.live_mut(key);
        if let Some(ev) = inst.pending.take() {
            sched.cancel(ev);
        }
        if let Some(nt) = inst.next_type.take() {
            let z = inst.zone;
            self.stock.give_back(z, nt, 1);
        }
    }

    /// The platform loses an instance: the operation in flight (if any) is cut short and the
    /// instance lands where that operation would have ended (a launch in progress fails:
    /// LAUNCH_FAILED), then it is destroyed and released at once (TERMINATING → released at
    /// the same instant). A PREPAID instance is refunded what is left of its paid period, as
    /// for an early termination.
    fn lose<E: From<CloudEvent>, O: Observer>(
        &mut self,
        key: InstanceKey,
        op: Operation,
        sched: &mut Scheduler<E>,
        obs: &mut O,
    ) -> Option<PlatformNotice> {
        let now = sched.now();
        let mut notice = self.notice(key, true)?;
        self.cut_short(key, sched);
        let inst = self.fleet.live(key);
        let cut = match inst.state {
            InstanceState::Pending => Some(Transition::LaunchFailed),
            InstanceState::Starting => Some(Transition::StartFailed),
            InstanceState::Stopping => Some(Transition::StopDone),
            InstanceState::Rebooting => Some(Transition::RebootDone),
            _ => None,
        };
        if let Some(t) = cut {
            let st = if t == Transition::LaunchFailed {
                OperationState::Failed
            } else {
                OperationState::Success
            };
            self.mark(key, inst_op(self.fleet.get(key)), st);
            self.apply(key, t, now, obs);
        }
        self.mark(key, op, OperationState::Success);
        if self.fleet.live(key).state != InstanceState::Terminating {
            self.refund_early_termination(key, now, obs);
            self.apply(key, Transition::Terminate, now, obs);
        }
        self.apply(key, Transition::Released, now, obs);
        notice.state = None;
        Some(notice)
    }

    /// The platform stops an instance of a zone in an outage. RUNNING (or REBOOTING) instances
    /// are stopped at once (STOPPING → STOPPED at the same instant, KEEP_CHARGING); a start in
    /// progress fails back to STOPPED; a stop in progress completes; a launch in progress fails
    /// (LAUNCH_FAILED). Instances already STOPPED, SHUTDOWN, TERMINATING or LAUNCH_FAILED are
    /// left as they are (`None`), though a ResetInstancesType in flight is cancelled.
    fn platform_stop<E: From<CloudEvent>, O: Observer>(
        &mut self,
        key: InstanceKey,
        sched: &mut Scheduler<E>,
        obs: &mut O,
    ) -> Option<PlatformNotice> {
        use InstanceState as S;
        let now = sched.now();
        let state = self.fleet.get(key)?.state;
        match state {
            S::Terminating | S::Shutdown | S::LaunchFailed => return None,
            S::Stopped => {
                // A reset in flight is cancelled; a plain stopped instance is untouched.
                let resetting = self.fleet.get(key).is_some_and(|i| i.next_type.is_some());
                if resetting {
                    self.cut_short(key, sched);
                    self.mark(key, Operation::ZoneOutage, OperationState::Failed);
                }
                return None;
            }
            _ => {}
        }
        self.cut_short(key, sched);
        match state {
            S::Pending => {
                self.mark(key, Operation::RunInstances, OperationState::Failed);
                self.apply(key, Transition::LaunchFailed, now, obs);
                self.schedule_cleanup(key, sched);
            }
            S::Starting => {
                self.mark(key, Operation::ZoneOutage, OperationState::Success);
                self.apply(key, Transition::StartFailed, now, obs);
            }
            S::Stopping => {
                self.mark(key, Operation::ZoneOutage, OperationState::Success);
                self.apply(key, Transition::StopDone, now, obs);
            }
            S::Running | S::Rebooting => {
                if state == S::Rebooting {
                    self.apply(key, Transition::RebootDone, now, obs);
                }
                self.mark(key, Operation::ZoneOutage, OperationState::Success);
                self.fleet
                    .live_mut(key)
                    .set_stopped_mode(StoppedMode::KeepCharging);
                self.apply(key, Transition::Stop, now, obs);
                self.apply(key, Transition::StopDone, now, obs);
            }
            _ => return None,
        }
        self.notice(key, false)
    }
}
