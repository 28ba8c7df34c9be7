//! Pricing before buying: InquiryPriceRunInstances, InquiryPriceRenewInstances,
//! InquiryPriceResetInstancesType, InquiryPriceTerminateInstances and
//! InquiryPriceModifyInstancesChargeType. Each checks its call as the action it prices does
//! (same ids, states, charge types and periods, same codes) and answers with the amount that
//! action would book now, computed by the very quote functions the action books with
//! (orders.rs): a quote is the bill that follows, to the cent, as long as nothing changes in
//! between. Nothing changes here: no state, no quota, no stock, no return count.
//!
//! Signs: a positive `DiscountPrice` is charged, a negative one is money back (a downgrade, or
//! leaving PREPAID early). The instance's disks are priced with the instance, as CVM's
//! `Price.InstancePrice` does; the public network is `Price.BandwidthPrice`.

use super::*;
use crate::cloud::pricing::{self, AttachRates, InternetChargeType, InternetSpec, Split};

fn micros(m: u64) -> Money {
    Money::from_micros(m as i128)
}

/// A prepaid item: paid now, `list` before the duration discount, `paid` after it.
fn upfront(list: Money, paid: Money) -> ItemQuote {
    ItemQuote {
        original_price: Some(list),
        discount_price: Some(paid),
        ..Default::default()
    }
}

impl Cloud {
    /// The undiscounted (list) price of a prepaid order: what [`Cloud::quote_order`] charges
    /// with every ladder at 100% (`OriginalPrice`).
    fn list_order(&self, t: TypeIdx, rates: Option<AttachRates>, months: u32) -> Split {
        if !self.rules.enabled {
            return Split::default();
        }
        let p = self.catalog.price(t);
        let r = rates.unwrap_or_default();
        let s = Split {
            compute: pricing::months_at(p.prepaid_monthly, months, 100),
            disk: pricing::months_at(r.disk_monthly, months, 100),
            network: pricing::months_at(r.bw_monthly, months, 100),
        };
        let round = |m| {
            if self.rules.round_cents {
                pricing::round_cents(m)
            } else {
                m
            }
        };
        Split {
            compute: round(s.compute),
            disk: round(s.disk),
            network: round(s.network),
        }
    }

    /// The instance item of a postpaid or spot instance of type `t`: billed per hour, the
    /// instance at its price (the spot market's now) plus its postpaid disks; a tiered type
    /// also has the prices of its second and third tiers.
    fn hourly_instance(
        &mut self,
        z: ZoneIdx,
        t: TypeIdx,
        c: ChargeType,
        disk: u64,
        now: SimTime,
    ) -> ItemQuote {
        let (postpaid, tiered) = {
            let p = self.catalog.price(t);
            (p.postpaid_hourly, p.tiered)
        };
        let on = self.rules.enabled;
        let hourly = if on { postpaid } else { 0 };
        let disk = if on { disk } else { 0 };
        let billed = match c {
            ChargeType::Spotpaid if on => self.market.price_at(z, t, now),
            _ => hourly,
        };
        let mut q = ItemQuote {
            unit_price: Some(micros(hourly + disk)),
            unit_price_discount: Some(micros(billed + disk)),
            charge_unit: Some("HOUR"),
            ..Default::default()
        };
        if c == ChargeType::PostpaidByHour && tiered {
            // Later tiers are a discount on the same list price (UnitPriceSecondStep is the
            // list, UnitPriceDiscountSecondStep what is billed).
            let step = |i: usize| {
                self.rules.postpaid_tiers.get(i).map(|&(_, pct)| {
                    let billed = micros(disk) + Money::for_time(hourly, 3_600_000, pct);
                    (micros(hourly + disk), billed)
                })
            };
            q.second_step = step(1);
            q.third_step = step(2);
        }
        q
    }

    /// The bandwidth item of a network billed after use: per hour (BANDWIDTH_POSTPAID_BY_HOUR)
    /// or per GB (TRAFFIC_POSTPAID_BY_HOUR).
    fn hourly_bandwidth(&self, net: &InternetSpec, rates: &AttachRates) -> ItemQuote {
        let on = self.rules.enabled;
        let (price, unit) = match net.charge {
            InternetChargeType::TrafficPostpaidByHour => {
                (self.catalog.attach.bandwidth.per_gb, "GB")
            }
            _ => (rates.bw_hourly, "HOUR"),
        };
        let price = if on { micros(price) } else { Money::ZERO };
        ItemQuote {
            unit_price: Some(price),
            unit_price_discount: Some(price),
            charge_unit: Some(unit),
            ..Default::default()
        }
    }

    /// The price of a prepaid order split into CVM's two items; the bandwidth item only when
    /// the instance has public network (paid up front if BANDWIDTH_PREPAID, else after use).
    fn order_quote(
        &self,
        list: Split,
        paid: Split,
        net: Option<&InternetSpec>,
        rates: &AttachRates,
        n: i128,
    ) -> PriceQuote {
        PriceQuote {
            instance: upfront(
                (list.compute + list.disk) * n,
                (paid.compute + paid.disk) * n,
            ),
            bandwidth: net.map(|net| match net.charge {
                InternetChargeType::BandwidthPrepaid => upfront(list.network * n, paid.network * n),
                _ => {
                    let mut q = self.hourly_bandwidth(net, rates);
                    q.unit_price = q.unit_price.map(|m| m * n);
                    q.unit_price_discount = q.unit_price_discount.map(|m| m * n);
                    q
                }
            }),
        }
    }

    /// InquiryPriceRunInstances: what RunInstances with these parameters would charge for all
    /// `InstanceCount` instances (up front for PREPAID, per hour otherwise). Checked as
    /// RunInstances checks its parameters, and the type must be sold in the zone; quota and
    /// free stock are not a price's business.
    pub(super) fn inquire_run(
        &mut self,
        r: &RunInstances,
        now: SimTime,
    ) -> Result<Response, ApiError> {
        Self::check_client_token(r)?;
        self.check_run(r)?;
        let net = r.attach.as_deref().and_then(|a| a.internet);
        let (z, t, c) = (r.zone, r.itype, r.charge);
        if self.stock.ask(z, t, 1) == StockAnswer::NotOffered {
            return Err(self.stock_error(z, t, StockAnswer::NotOffered));
        }
        let n = r.count as i128;
        let rates = r.attach.as_deref().map(|a| self.attach_rates(a));
        let r0 = rates.unwrap_or_default();
        let quote = if c == ChargeType::Prepaid {
            let paid = self.quote_order(t, r.attach.as_deref(), r.period_months);
            let list = self.list_order(t, rates, r.period_months);
            self.order_quote(list, paid, net.as_ref(), &r0, n)
        } else {
            let mut i = self.hourly_instance(z, t, c, r0.disk_hourly, now);
            scale(&mut i, n);
            PriceQuote {
                instance: i,
                bandwidth: net.map(|net| {
                    let mut b = self.hourly_bandwidth(&net, &r0);
                    scale(&mut b, n);
                    b
                }),
            }
        };
        Ok(Response::Price(Box::new(quote)))
    }

    /// InquiryPriceRenewInstances: what RenewInstances would charge (each instance's renewal
    /// order at its current type and attachments), checked as RenewInstances checks its period,
    /// ids, states and charge type (the capacity an isolated instance needs back to run again
    /// is not a price's business).
    pub(super) fn inquire_renew(
        &self,
        ids: &[InstanceRef],
        months: u32,
    ) -> Result<Response, ApiError> {
        use InstanceState as S;
        self.check_period(months)?;
        let keys = self.resolve(
            Action::InquiryPriceRenewInstances,
            ids,
            &[S::Running, S::Stopped, S::Shutdown],
        )?;
        let mut paid = Split::default();
        let mut list = Split::default();
        let mut net = None;
        let mut rates = AttachRates::default();
        for &k in &keys {
            let inst = self.fleet.live(k);
            if inst.charge != ChargeType::Prepaid {
                return Err(ApiError::new(
                    ErrorCode::InvalidInstanceNotSupported,
                    format!(
                        "{} is {}: only PREPAID instances are renewed",
                        inst.id, inst.charge
                    ),
                ));
            }
            let x = inst.billing.extra.as_deref();
            let r = x.map(|x| x.rates);
            paid = paid.plus(self.quote_renewal(k, months));
            list = list.plus(self.list_order(inst.itype, r, months));
            if let Some(n) = x.and_then(|x| x.attach.internet) {
                net = Some(n);
                let r = r.unwrap_or_default();
                rates.bw_hourly += r.bw_hourly;
            }
        }
        // Several instances with hourly-billed network: their hourly prices add up.
        Ok(Response::Price(Box::new(self.order_quote(
            list,
            paid,
            net.as_ref(),
            &rates,
            1,
        ))))
    }

    /// InquiryPriceResetInstancesType: what ResetInstancesType to `to` would charge now — for
    /// a prepaid instance the price difference for the time left (negative: a downgrade's
    /// refund), or the downgrade limit's code; for a postpaid one the new hourly price.
    /// Checked as ResetInstancesType checks (one instance, STOPPED or RUNNING — the inquiry
    /// has no ForceStop —, not spot, another type, capacity for it).
    pub(super) fn inquire_reset(
        &mut self,
        ids: &[InstanceRef],
        to: TypeIdx,
        now: SimTime,
    ) -> Result<Response, ApiError> {
        use InstanceState as S;
        let key = self.resolve_capped(
            Action::InquiryPriceResetInstancesType,
            ids,
            &[S::Stopped, S::Running],
            1,
        )?[0];
        self.check_reset(Action::InquiryPriceResetInstancesType, key, to)?;
        let inst = self.fleet.live(key);
        let (zone, charge) = (inst.zone, inst.charge);
        let disk = inst
            .billing
            .extra
            .as_deref()
            .map_or(0, |x| x.rates.disk_hourly);
        if charge != ChargeType::Prepaid {
            return Ok(Response::Price(Box::new(PriceQuote {
                instance: self.hourly_instance(zone, to, charge, disk, now),
                bandwidth: None,
            })));
        }
        let q = self.quote_resize(key, to, now)?;
        let paid = q.amount();
        let list = match q {
            ResizeQuote::Upgrade { .. } => {
                // The same difference without the duration discount.
                let inst = self.fleet.live(key);
                let left = inst.expires().get().map_or(0, |e| e.since(now).ms());
                pricing::upgrade_fee(
                    self.catalog.price(inst.itype).prepaid_monthly,
                    self.catalog.price(to).prepaid_monthly,
                    &pricing::Ladder::default(),
                    left,
                    prepaid_period(1).ms(),
                    self.rules.round_cents,
                )
            }
            _ => paid,
        };
        Ok(Response::Price(Box::new(PriceQuote {
            instance: upfront(list, paid),
            bandwidth: None,
        })))
    }

    /// InquiryPriceTerminateInstances: what TerminateInstances would refund each instance now
    /// — a prepaid RUNNING or STOPPED instance is returned (the five-day full refund or the
    /// ordinary one, in call order against the account's yearly allowances), anything else
    /// gets 0. Checked as TerminateInstances checks; a return past the yearly quota is
    /// `FailedOperation.Unreturnable`, the inquiry's code for it.
    pub(super) fn inquire_terminate(
        &self,
        ids: &[InstanceRef],
        now: SimTime,
    ) -> Result<Response, ApiError> {
        use InstanceState as S;
        let keys = self.resolve(
            Action::InquiryPriceTerminateInstances,
            ids,
            &[S::Running, S::Stopped, S::Shutdown],
        )?;
        self.check_one_charge_type(&keys)?;
        let returns = |inst: &Instance| {
            inst.charge == ChargeType::Prepaid && matches!(inst.state, S::Running | S::Stopped)
        };
        let returned: Vec<InstanceKey> = keys
            .iter()
            .copied()
            .filter(|&k| returns(self.fleet.live(k)))
            .collect();
        let quotes = self.quote_returns(&returned, now).map_err(|e| {
            if e.code == ErrorCode::UserReturnQuota {
                ApiError::new(ErrorCode::Unreturnable, e.message)
            } else {
                e
            }
        })?;
        let mut quotes = quotes.into_iter();
        let out = keys
            .iter()
            .map(|&k| {
                let inst = self.fleet.live(k);
                let (refund, detail) = if returns(inst) {
                    let q = quotes.next().expect("one quote per returned instance");
                    let rule = if q.five_day {
                        "five-day full refund of everything paid"
                    } else {
                        "ordinary refund: paid minus consumed (whole months at their \
                         discounted monthly price, the rest at the postpaid price)"
                    };
                    (q.refund.total(), rule.to_string())
                } else if inst.charge == ChargeType::Prepaid {
                    (
                        Money::ZERO,
                        format!("{} is {}: nothing is refunded", inst.id, inst.state),
                    )
                } else {
                    (
                        Money::ZERO,
                        format!(
                            "{} is {}: billed after use, nothing to refund",
                            inst.id, inst.charge
                        ),
                    )
                };
                RefundQuote {
                    id: inst.id,
                    refund,
                    detail,
                }
            })
            .collect();
        Ok(Response::Refunds(out))
    }

    /// InquiryPriceModifyInstancesChargeType: what ModifyInstancesChargeType would charge now
    /// — to PREPAID, the order for `months` at each instance's type and attachments; to
    /// POSTPAID_BY_HOUR, the ordinary refund of what is left of the paid period (negative) and
    /// the hourly price from then on. Checked as ModifyInstancesChargeType checks its
    /// parameters and instances (the inquiry's documented batch is 100 instances).
    pub(super) fn inquire_modify_charge(
        &mut self,
        ids: &[InstanceRef],
        to: ChargeType,
        months: u32,
        now: SimTime,
    ) -> Result<Response, ApiError> {
        use InstanceState as S;
        self.check_charge_target(to, months)?;
        let keys = self.resolve(
            Action::InquiryPriceModifyInstancesChargeType,
            ids,
            &[S::Running, S::Stopped],
        )?;
        for &k in &keys {
            self.check_charge_change(k, to)?;
        }
        let mut list = Split::default();
        let mut paid = Split::default();
        let mut net = None;
        let mut rates = AttachRates::default();
        let mut hourly = ItemQuote::default();
        for &k in keys.iter() {
            let inst = self.fleet.live(k);
            let (z, t) = (inst.zone, inst.itype);
            let x = inst.billing.extra.as_deref();
            let r = x.map(|x| x.rates);
            let r0 = r.unwrap_or_default();
            if let Some(n) = x.and_then(|x| x.attach.internet) {
                net = Some(n);
                rates.bw_hourly += r0.bw_hourly;
            }
            if to == ChargeType::Prepaid {
                paid = paid.plus(self.quote_renewal(k, months));
                list = list.plus(self.list_order(t, r, months));
            } else {
                // Leaving PREPAID: the refund ModifyInstancesChargeType books (the ordinary
                // rule, not a self-service return), then the hourly price.
                let q = self.quote_return(k, now, false)?;
                paid = paid.minus(q.refund);
                let h = self.hourly_instance(z, t, to, r0.disk_hourly, now);
                add(&mut hourly, &h);
            }
        }
        if to == ChargeType::PostpaidByHour {
            // A refund has no duration discount: the list amount is the amount.
            list = paid;
        }
        let mut quote = self.order_quote(list, paid, net.as_ref(), &rates, 1);
        if to == ChargeType::PostpaidByHour {
            hourly.original_price = quote.instance.original_price;
            hourly.discount_price = quote.instance.discount_price;
            quote.instance = hourly;
            if let Some(b) = quote.bandwidth.as_mut()
                && b.charge_unit.is_none()
            {
                // BANDWIDTH_PREPAID becomes hourly bandwidth with the instance.
                b.unit_price = Some(micros(rates.bw_hourly));
                b.unit_price_discount = b.unit_price;
                b.charge_unit = Some("HOUR");
            }
        }
        Ok(Response::Price(Box::new(quote)))
    }
}

/// Multiplies an item's per-unit prices by `n` instances.
fn scale(q: &mut ItemQuote, n: i128) {
    for m in [&mut q.unit_price, &mut q.unit_price_discount] {
        *m = m.map(|m| m * n);
    }
    for s in [&mut q.second_step, &mut q.third_step] {
        *s = s.map(|(a, b)| (a * n, b * n));
    }
}

/// Adds another instance's per-unit prices to `sum`.
fn add(sum: &mut ItemQuote, q: &ItemQuote) {
    let plus = |a: Option<Money>, b: Option<Money>| match (a, b) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(Money::ZERO) + b.unwrap_or(Money::ZERO)),
    };
    sum.unit_price = plus(sum.unit_price, q.unit_price);
    sum.unit_price_discount = plus(sum.unit_price_discount, q.unit_price_discount);
    sum.charge_unit = q.charge_unit.or(sum.charge_unit);
    let pair = |a: Option<(Money, Money)>, b: Option<(Money, Money)>| match (a, b) {
        (None, None) => None,
        (a, b) => {
            let (a, b) = (a.unwrap_or_default(), b.unwrap_or_default());
            Some((a.0 + b.0, a.1 + b.1))
        }
    };
    sum.second_step = pair(sum.second_step, q.second_step);
    sum.third_step = pair(sum.third_step, q.third_step);
}
