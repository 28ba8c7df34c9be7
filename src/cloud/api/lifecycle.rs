//! The lifecycle actions: StartInstances, StopInstances, RebootInstances,
//! TerminateInstances and ResetInstancesType. Each resolves its ids (all or nothing), checks
//! what the action needs, then begins the transition on every instance.

use super::*;

impl Cloud {
    /// StartInstances: STOPPED instances start again. The call is accepted whatever the
    /// capacity; an instance stopped with STOP_CHARGING gets its capacity back when the start
    /// completes, or the start fails there (LatestOperationState FAILED, STOPPED again), as
    /// CVM answers a start that finds no capacity ([`Cloud::finish_start`]).
    pub(super) fn start_instances<E: From<CloudEvent>, O: Observer>(
        &mut self,
        ids: &[InstanceRef],
        sched: &mut Scheduler<E>,
        obs: &mut O,
    ) -> Result<Response, ApiError> {
        let keys = self.resolve(Action::StartInstances, ids, &[InstanceState::Stopped])?;
        for &key in keys.iter() {
            self.begin(
                key,
                Transition::Start,
                Operation::StartInstances,
                |t| &t.starting,
                sched,
                obs,
            );
        }
        Ok(Response::Accepted)
    }

    /// Completes a start. A zone in an outage takes nothing: the start fails. An instance
    /// stopped with STOP_CHARGING gave its capacity up; it takes it back now, displacing spot capacity if it is not spot itself (as a
    /// RunInstances does). With none to be had (or the zone in an outage) the start fails:
    /// the instance is STOPPED again and its LatestOperationState is FAILED.
    pub(super) fn finish_start<E: From<CloudEvent>, O: Observer>(
        &mut self,
        key: InstanceKey,
        now: SimTime,
        sched: &mut Scheduler<E>,
        obs: &mut O,
    ) {
        let inst = self.fleet.live(key);
        let (z, t, charge) = (inst.zone, inst.itype, inst.charge);
        let ok = if self.stock.zone_down(z) {
            false
        } else if inst.holds_stock() {
            true
        } else {
            if charge != ChargeType::Spotpaid && self.stock.ask(z, t, 1) != StockAnswer::Available {
                let can = self.reclaimable(z, t, 1);
                if can > 0 {
                    self.reclaim_for(z, t, 1, sched);
                }
            }
            if self.stock.ask(z, t, 1) == StockAnswer::Available {
                self.stock.take(z, t, 1);
                self.fleet.live_mut(key).set_holds_stock(true);
                true
            } else {
                false
            }
        };
        let (tr, st) = if ok {
            (Transition::StartDone, OperationState::Success)
        } else {
            (Transition::StartFailed, OperationState::Failed)
        };
        self.mark(key, Operation::StartInstances, st);
        self.apply(key, tr, now, obs);
    }

    /// StopInstances: RUNNING instances stop (STOP_CHARGING only for POSTPAID_BY_HOUR).
    pub(super) fn stop_instances<E: From<CloudEvent>, O: Observer>(
        &mut self,
        ids: &[InstanceRef],
        stopped_mode: StoppedMode,
        sched: &mut Scheduler<E>,
        obs: &mut O,
    ) -> Result<Response, ApiError> {
        let keys = self.resolve(Action::StopInstances, ids, &[InstanceState::Running])?;
        // STOP_CHARGING applies to POSTPAID_BY_HOUR instances; in a mixed batch the others
        // stop with charging (CVM's "关机不收费" rules); a batch with no postpaid instance at
        // all is refused.
        let postpaid =
            |fleet: &Fleet, k: InstanceKey| fleet.live(k).charge == ChargeType::PostpaidByHour;
        if stopped_mode == StoppedMode::StopCharging
            && !keys.iter().any(|&k| postpaid(&self.fleet, k))
        {
            let inst = self.fleet.live(keys[0]);
            return Err(ApiError::new(
                ErrorCode::StoppedModeStopCharging,
                format!(
                    "{} is {}: STOP_CHARGING is only for POSTPAID_BY_HOUR",
                    inst.id, inst.charge
                ),
            ));
        }
        for &key in keys.iter() {
            let mode = if postpaid(&self.fleet, key) {
                stopped_mode
            } else {
                StoppedMode::KeepCharging
            };
            self.fleet.live_mut(key).set_stopped_mode(mode);
            self.begin(
                key,
                Transition::Stop,
                Operation::StopInstances,
                |t| &t.stopping,
                sched,
                obs,
            );
        }
        Ok(Response::Accepted)
    }

    /// RebootInstances: RUNNING instances reboot.
    pub(super) fn reboot_instances<E: From<CloudEvent>, O: Observer>(
        &mut self,
        ids: &[InstanceRef],
        sched: &mut Scheduler<E>,
        obs: &mut O,
    ) -> Result<Response, ApiError> {
        let keys = self.resolve(Action::RebootInstances, ids, &[InstanceState::Running])?;
        for &key in keys.iter() {
            self.begin(
                key,
                Transition::Reboot,
                Operation::RebootInstances,
                |t| &t.rebooting,
                sched,
                obs,
            );
        }
        Ok(Response::Accepted)
    }

    /// TerminateInstances: a prepaid instance that is RUNNING or STOPPED is refunded and
    /// isolated into the recycle bin; any other is released after TERMINATING.
    pub(super) fn terminate_instances<E: From<CloudEvent>, O: Observer>(
        &mut self,
        ids: &[InstanceRef],
        sched: &mut Scheduler<E>,
        obs: &mut O,
    ) -> Result<Response, ApiError> {
        use InstanceState as S;
        let keys = self.resolve(
            Action::TerminateInstances,
            ids,
            &[S::Running, S::Stopped, S::Shutdown],
        )?;
        self.check_one_charge_type(&keys)?;
        // A first call on prepaid instances returns them: the refunds (and the account's
        // return quota) are settled for the whole call before anything happens.
        let returns = |inst: &crate::cloud::Instance| {
            inst.charge == ChargeType::Prepaid && matches!(inst.state, S::Running | S::Stopped)
        };
        let returned: Vec<InstanceKey> = keys
            .iter()
            .copied()
            .filter(|&k| returns(self.fleet.live(k)))
            .collect();
        let quotes = self.quote_returns(&returned, sched.now())?;
        let mut quotes = returned.iter().copied().zip(quotes);
        for &key in keys.iter() {
            if returns(self.fleet.live(key)) {
                // First call on a prepaid instance: refund what is left of the paid
                // period, then into the recycle bin.
                self.mark(key, Operation::TerminateInstances, OperationState::Success);
                let (k, q) = quotes.next().expect("one quote per returned instance");
                debug_assert_eq!(k, key);
                let now = sched.now();
                let refund = self.apply_return(key, now, q);
                if refund != Money::ZERO {
                    self.charge_now(key, now, -refund, obs);
                }
                self.isolate(key, sched, obs);
            } else {
                self.begin(
                    key,
                    Transition::Terminate,
                    Operation::TerminateInstances,
                    |t| &t.terminating,
                    sched,
                    obs,
                );
            }
        }
        Ok(Response::Accepted)
    }

    /// ResetInstancesType: a STOPPED instance (or, with ForceStop, a RUNNING one, stopped
    /// first) changes type; the new type's capacity is reserved when the call is accepted.
    pub(super) fn reset_type<E: From<CloudEvent>, O: Observer>(
        &mut self,
        ids: &[InstanceRef],
        itype: TypeIdx,
        force_stop: bool,
        sched: &mut Scheduler<E>,
        obs: &mut O,
    ) -> Result<Response, ApiError> {
        use InstanceState as S;
        let accepted: &[S] = if force_stop {
            &[S::Stopped, S::Running]
        } else {
            &[S::Stopped]
        };
        let key = self.resolve_capped(Action::ResetInstancesType, ids, accepted, 1)?[0];
        self.check_reset(Action::ResetInstancesType, key, itype)?;
        let inst = self.fleet.live(key);
        let running = inst.state == S::Running;
        let zone = inst.zone;
        // A prepaid instance pays or gets back the price difference now (InquiryPrice-
        // ResetInstancesType quotes the same), or is refused past its downgrades.
        let now = sched.now();
        let quote = self.quote_resize(key, itype, now)?;
        let amount = self.apply_resize(key, now, quote);
        if amount != Money::ZERO {
            self.charge_now(key, now, amount, obs);
        }
        // The new type's capacity is reserved now, so nothing can take it during the reset.
        self.stock.take(zone, itype, 1);
        let inst = self.fleet.live_mut(key);
        inst.next_type = OptTypeIdx::some(itype);
        if running {
            // The forced stop keeps the instance's capacity (KEEP_CHARGING).
            inst.set_stopped_mode(StoppedMode::KeepCharging);
        }
        if running {
            // ForceStop: the API stops it first; the reset follows the stop.
            self.begin(
                key,
                Transition::Stop,
                Operation::ResetInstancesType,
                |t| &t.stopping,
                sched,
                obs,
            );
        } else {
            self.mark(
                key,
                Operation::ResetInstancesType,
                OperationState::Operating,
            );
            let delay = sample_ms(&self.timings.reset_type, &mut self.timing_rng);
            let ev = sched.schedule_in(delay, CloudEvent::Complete(key).into());
            self.fleet.live_mut(key).pending = crate::cloud::instance::PendingEvent::some(ev);
        }
        Ok(Response::Accepted)
    }
}
