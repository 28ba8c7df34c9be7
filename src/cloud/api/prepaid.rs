//! Prepaid billing: RenewInstances, ModifyInstancesChargeType, expiry (auto-renewal or
//! isolation), the recycle bin, and the refund of an early termination.

use super::*;

impl Cloud {
    pub(super) fn renew<E: From<CloudEvent>, O: Observer>(
        &mut self,
        ids: &[InstanceRef],
        months: u32,
        sched: &mut Scheduler<E>,
        obs: &mut O,
    ) -> Result<Response, ApiError> {
        let now = sched.now();
        use InstanceState as S;
        self.check_period(months)?;
        let keys = self.resolve(
            Action::RenewInstances,
            ids,
            &[S::Running, S::Stopped, S::Shutdown],
        )?;
        for &k in &keys {
            let inst = self.fleet.live(k);
            if inst.charge != ChargeType::Prepaid {
                return Err(ApiError::new(
                    ErrorCode::UnsupportedChargeType,
                    format!(
                        "{} is {}: only PREPAID instances are renewed",
                        inst.id, inst.charge
                    ),
                ));
            }
        }
        // An instance restored from the recycle bin runs again: it needs its capacity if it gave
        // it up (stopped with STOP_CHARGING before it was isolated).
        let mut need: std::collections::BTreeMap<(ZoneIdx, TypeIdx), u32> = Default::default();
        for &k in &keys {
            let inst = self.fleet.live(k);
            if inst.state == S::Shutdown && !inst.holds_stock() {
                *need.entry((inst.zone, inst.itype)).or_default() += 1;
            }
        }
        for &k in &keys {
            let inst = self.fleet.live(k);
            if inst.state == S::Shutdown {
                // Restored, it runs again: not in a zone in an outage.
                self.zone_outage_check(Action::RenewInstances, inst.zone)?;
            }
        }
        for (&(z, t), &n) in &need {
            let answer = self.stock.ask(z, t, n);
            if answer != StockAnswer::Available {
                return Err(self.stock_error(z, t, answer));
            }
        }
        for &k in &keys {
            let inst = self.fleet.live_mut(k);
            if inst.state == S::Shutdown && !inst.holds_stock() {
                inst.set_holds_stock(true);
                let (z, t) = (inst.zone, inst.itype);
                self.stock.take(z, t, 1);
            }
            let order = self.quote_renewal(k, months);
            self.book_order(k, order, None);
            let price = order.total();
            let inst = self.fleet.live_mut(k);
            // ExpiredTime moves on by Period from where it was: an instance renewed out of the
            // recycle bin pays for its days there.
            let base = inst.expires().get().unwrap_or(now);
            let expires = base + prepaid_period(months);
            inst.set_expires(OptTime::some(expires));
            sched.schedule_at(expires, CloudEvent::Expire(k).into());
            let state = inst.state;
            self.mark(k, Operation::RenewInstances, OperationState::Success);
            self.charge_now(k, now, price, obs);
            if state == S::Shutdown {
                self.apply(k, Transition::Restore, now, obs);
            }
        }
        Ok(Response::Accepted)
    }

    pub(super) fn modify_charge<E: From<CloudEvent>, O: Observer>(
        &mut self,
        ids: &[InstanceRef],
        to: ChargeType,
        months: u32,
        sched: &mut Scheduler<E>,
        obs: &mut O,
    ) -> Result<Response, ApiError> {
        let now = sched.now();
        use InstanceState as S;
        self.check_charge_target(to, months)?;
        let keys = self.resolve_capped(
            Action::ModifyInstancesChargeType,
            ids,
            &[S::Running, S::Stopped],
            20,
        )?;
        let mut per_zone: std::collections::BTreeMap<ZoneIdx, u32> = Default::default();
        for &k in &keys {
            self.check_charge_change(k, to)?;
            let inst = self.fleet.live(k);
            *per_zone.entry(inst.zone).or_default() += 1;
        }
        for (&z, &n) in &per_zone {
            let over_once = to == ChargeType::Prepaid && self.quotas.once(z).is_some_and(|o| n > o);
            if over_once || self.quotas.remaining(z, to) < n {
                // ModifyInstancesChargeType's list has one quota code, whichever quota is
                // short (the message says which).
                return Err(ApiError::new(
                    ErrorCode::InstanceQuota,
                    format!(
                        "{to} quota in {} cannot take {n} more",
                        self.catalog.zone(z).name
                    ),
                ));
            }
        }
        for &k in &keys {
            // Leaving PREPAID early refunds what is left of the paid period, like a
            // termination would.
            if self.fleet.live(k).charge == ChargeType::Prepaid {
                self.refund_early_termination(k, now, obs);
            }
            let inst = self.fleet.live_mut(k);
            let (acc_start, acc_amount) =
                self.rules
                    .accrue(&self.catalog, &mut self.market, inst, now, &mut self.pieces);
            let from_charge = inst.charge;
            // Prepaid quota counts the month's purchases: leaving PREPAID gives nothing back.
            if inst.holds_quota() {
                self.quotas.give_back(inst.zone, from_charge, 1);
            }
            self.quotas.take(inst.zone, to, 1);
            inst.set_holds_quota(to != ChargeType::Prepaid);
            inst.record_charge_change(now, to);
            debug_assert_eq!(inst.billing_since(), now, "the next interval opens now");
            inst.charge = to;
            inst.billing.tier_ms = 0;
            let mut upfront = Money::ZERO;
            if to == ChargeType::Prepaid {
                let order = self.quote_renewal(k, months);
                self.book_order(k, order, Some(now));
                upfront = order.total();
                let inst = self.fleet.get_mut(k).expect("resolved");
                inst.set_bought_new(false);
                let expires = now + prepaid_period(months);
                inst.set_expires(OptTime::some(expires));
                inst.renew_flag = RenewFlag::default();
                sched.schedule_at(expires, CloudEvent::Expire(k).into());
            } else {
                inst.set_expires(OptTime::NONE);
            }
            let inst = self.fleet.get_mut(k).expect("resolved");
            inst.latest_operation = LatestOperation::some(Operation::ModifyInstancesChargeType);
            inst.latest_operation_state = Some(OperationState::Success);
            let (state, itype) = (inst.state, inst.itype);
            let mut m = Move::interval(
                Some(state),
                Some(state),
                itype,
                from_charge,
                acc_start,
                acc_amount + upfront,
            );
            m.kind = ChangeKind::Charge;
            self.tell(k, now, m, obs);
        }
        Ok(Response::Accepted)
    }

    /// Refunds what is left of a prepaid instance's paid time when it changes to postpaid: the
    /// ordinary refund of a return (not counted as a self-service return). The paid period
    /// then ends now.
    pub(super) fn refund_early_termination<O: Observer>(
        &mut self,
        key: InstanceKey,
        now: SimTime,
        obs: &mut O,
    ) {
        let Ok(q) = self.quote_return(key, now, false) else {
            return;
        };
        let refund = self.apply_return(key, now, q);
        if refund.0 != 0 {
            self.charge_now(key, now, -refund, obs);
        }
    }

    /// Isolates an instance into the recycle bin (SHUTDOWN) and schedules its release when the
    /// bin's time is up.
    pub(super) fn isolate<E: From<CloudEvent>, O: Observer>(
        &mut self,
        key: InstanceKey,
        sched: &mut Scheduler<E>,
        obs: &mut O,
    ) {
        self.apply(key, Transition::Isolate, sched.now(), obs);
        sched.schedule_in(self.recycle_bin, CloudEvent::BinExpire(key).into());
    }

    /// The paid period may have ended: auto-renew by a month, or isolate. Stale events (the
    /// instance was renewed, changed charge type or left) do nothing.
    pub(super) fn expire<E: From<CloudEvent>, O: Observer>(
        &mut self,
        key: InstanceKey,
        sched: &mut Scheduler<E>,
        obs: &mut O,
    ) {
        let now = sched.now();
        let Some(inst) = self.fleet.get_mut(key) else {
            return;
        };
        if inst.charge != ChargeType::Prepaid
            || inst.expires().get().is_none_or(|e| e > now)
            || matches!(
                inst.state,
                InstanceState::Shutdown | InstanceState::Terminating | InstanceState::LaunchFailed
            )
        {
            return;
        }
        if inst.renew_flag == RenewFlag::NotifyAndAutoRenew {
            let order = self.quote_renewal(key, 1);
            self.book_order(key, order, None);
            let price = order.total();
            let inst = self.fleet.get_mut(key).expect("live");
            let expires = inst.expires().get().unwrap_or(now) + prepaid_period(1);
            inst.set_expires(OptTime::some(expires));
            inst.latest_operation = LatestOperation::some(Operation::RenewInstances);
            inst.latest_operation_state = Some(OperationState::Success);
            sched.schedule_at(expires, CloudEvent::Expire(key).into());
            self.charge_now(key, now, price, obs);
            return;
        }
        if inst.busy() || !matches!(inst.state, InstanceState::Running | InstanceState::Stopped) {
            // An operation is finishing (or the launch is): isolate right after it.
            sched.schedule_in(SimDuration::from_secs(1), CloudEvent::Expire(key).into());
            return;
        }
        self.isolate(key, sched, obs);
    }

    /// The recycle bin's time may be up: an instance still isolated is released.
    pub(super) fn bin_expire<O: Observer>(&mut self, key: InstanceKey, now: SimTime, obs: &mut O) {
        let Some(inst) = self.fleet.get(key) else {
            return;
        };
        if inst.state == InstanceState::Shutdown
            && !inst.busy()
            && now.since(inst.state_since) >= self.recycle_bin
        {
            self.apply(key, Transition::BinExpired, now, obs);
        }
    }

    /// Tells the observers of a charge (or, negative, a refund) made at `now` without a state
    /// change: a renewal, a refund.
    pub(super) fn charge_now<O: Observer>(
        &mut self,
        key: InstanceKey,
        now: SimTime,
        amount: Money,
        obs: &mut O,
    ) {
        let inst = self.fleet.live(key);
        let (state, itype, charge) = (inst.state, inst.itype, inst.charge);
        let m = Move::point(
            ChangeKind::Charge,
            Some(state),
            Some(state),
            itype,
            charge,
            amount,
        );
        self.tell(key, now, m, obs);
    }
}
