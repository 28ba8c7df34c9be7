//! The money of prepaid orders: what a purchase or renewal costs, what a return gives back
//! (the five-day full refund, the ordinary refund, the yearly return quota) and what a resize
//! charges or refunds. Each has a quote (`&self`, changes nothing: what InquiryPrice* answers)
//! and an application that books exactly the quoted amount.

use std::sync::Arc;

use super::*;
use crate::cloud::instance::{BillingExtra, UpgradeOrder};
use crate::cloud::pricing::{self, AttachRates, Attachments, Ladder, Split};

/// The account's returns of prepaid instances in the current year (a year is 365 days of
/// simulated time from the start of the run).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReturnCounts {
    pub year: u64,
    pub five_day: u32,
    pub ordinary: u32,
}

/// What returning a prepaid instance gives back, per item, and under which rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReturnQuote {
    pub refund: Split,
    /// The five-day full refund (else the ordinary one).
    pub five_day: bool,
    /// Whether the return counts against the account's yearly allowances (a change of charge
    /// type refunds by the same rule but is not a self-service return).
    pub counted: bool,
}

/// What ResetInstancesType charges (positive) or refunds (negative) a prepaid instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResizeQuote {
    /// Not prepaid, or the same monthly price: nothing.
    Nothing,
    /// The price difference for the time left (实例调整配置费用说明).
    Upgrade { fee: Money },
    /// The order returned and re-bought at the smaller type for the time left: the refund
    /// (never below zero) and the new order per item.
    Downgrade {
        refund: Split,
        new_order: Split,
        to: TypeIdx,
    },
}

impl ResizeQuote {
    /// The signed amount the ledger books: a fee positive, a refund negative.
    pub fn amount(&self) -> Money {
        match self {
            ResizeQuote::Nothing => Money::ZERO,
            ResizeQuote::Upgrade { fee } => *fee,
            ResizeQuote::Downgrade { refund, .. } => -refund.total(),
        }
    }
}

const YEAR_MS: u64 = 365 * crate::engine::time::MS_PER_DAY;
const FIVE_DAYS_MS: u64 = 5 * crate::engine::time::MS_PER_DAY;

impl Cloud {
    /// The disk and network rates of an instance launched with `attach`.
    pub fn attach_rates(&self, attach: &Attachments) -> AttachRates {
        self.catalog.attach.rates(attach)
    }

    /// The price of a prepaid order of `months` for type `t` with `attach`, per item: what
    /// RunInstances, RenewInstances or a change to PREPAID charge (InquiryPriceRunInstances,
    /// InquiryPriceRenewInstances).
    pub fn quote_order(&self, t: TypeIdx, attach: Option<&Attachments>, months: u32) -> Split {
        let rates = attach.map(|a| self.attach_rates(a));
        self.rules.order_price(&self.catalog, t, rates, months)
    }

    /// The price of renewing an instance for `months` (its current type and attachments).
    pub fn quote_renewal(&self, key: InstanceKey, months: u32) -> Split {
        let inst = self.fleet.get(key).expect("resolved");
        let rates = inst.billing.extra.as_deref().map(|x| x.rates);
        self.rules
            .order_price(&self.catalog, inst.itype, rates, months)
    }

    /// Gives a new instance its disks and network (RunInstances).
    pub(super) fn attach(&mut self, key: InstanceKey, attach: &Option<Arc<Attachments>>) {
        let Some(a) = attach else {
            return;
        };
        let rates = self.attach_rates(a);
        let inst = self.fleet.get_mut(key).expect("live");
        inst.billing.extra = Some(Box::new(BillingExtra {
            attach: a.clone(),
            rates,
            ..Default::default()
        }));
    }

    /// Books a prepaid order on an instance: charged, and paid for the current order (per
    /// item). `restart` begins a new run of paid periods at that time (a purchase or a change
    /// to PREPAID) instead of extending the current one (a renewal).
    pub(super) fn book_order(&mut self, key: InstanceKey, order: Split, restart: Option<SimTime>) {
        let inst = self.fleet.get_mut(key).expect("live");
        let b = &mut inst.billing;
        b.charged += order.total();
        if let Some(t) = restart {
            let p = b.prepaid_mut();
            p.paid = Money::ZERO;
            p.since = t;
            if let Some(x) = b.extra.as_deref_mut() {
                x.paid_disk = Money::ZERO;
                x.paid_network = Money::ZERO;
                x.order_type = None;
                x.upgrade = None;
            }
        }
        b.prepaid_mut().paid += order.total();
        if let Some(x) = b.extra.as_deref_mut() {
            x.paid_disk += order.disk;
            x.paid_network += order.network;
            x.net_disk += order.disk;
            x.net_network += order.network;
        }
    }

    /// The account's return counts as of `now` (a new year starts from zero).
    pub fn return_counts(&self, now: SimTime) -> ReturnCounts {
        let year = now.ms() / YEAR_MS;
        if self.returns.year == year {
            self.returns
        } else {
            ReturnCounts {
                year,
                ..Default::default()
            }
        }
    }

    /// What the current order of a prepaid instance is worth returned now, per item, by the
    /// ordinary rule: paid − consumed (never below 0), plus the unused share of an upgrade.
    fn return_value(&self, inst: &Instance, now: SimTime) -> Split {
        let b = &inst.billing;
        let x = b.extra.as_deref();
        let order_type = x.and_then(|x| x.order_type).unwrap_or(inst.itype);
        let prices = self
            .rules
            .order_prices(&self.catalog, order_type, x.map(|x| x.rates));
        let month = prepaid_period(1).ms();
        let used = now.since(b.prepaid_since()).ms();
        let consumed = pricing::consumed(&prices, used, month);
        let paid = paid_split(inst);
        let mut r = pricing::ordinary_refund(paid, consumed, self.rules.round_cents);
        if let Some(u) = x.and_then(|x| x.upgrade) {
            let unused = u.unused(now);
            r.compute += if self.rules.round_cents {
                pricing::round_cents(unused)
            } else {
                unused
            };
        }
        r
    }

    /// The refund of returning a prepaid instance now (InquiryPriceTerminateInstances), or
    /// `LimitExceeded.UserReturnQuota` when the ordinary returns of the year are used up.
    /// `counted`: a self-service return (TerminateInstances), subject to the five-day rule and
    /// the yearly quota; otherwise (a change of charge type) the ordinary rule only.
    pub fn quote_return(
        &self,
        key: InstanceKey,
        now: SimTime,
        counted: bool,
    ) -> Result<ReturnQuote, ApiError> {
        self.quote_return_with(key, now, counted, self.return_counts(now))
    }

    /// The quotes of returning `keys` in one call, in order (each return uses up what the
    /// ones before it used), or the first refusal: the call is all or nothing.
    pub fn quote_returns(
        &self,
        keys: &[InstanceKey],
        now: SimTime,
    ) -> Result<Vec<ReturnQuote>, ApiError> {
        let mut counts = self.return_counts(now);
        let mut out = Vec::with_capacity(keys.len());
        for &k in keys {
            let q = self.quote_return_with(k, now, true, counts)?;
            if q.counted {
                if q.five_day {
                    counts.five_day += 1;
                } else {
                    counts.ordinary += 1;
                }
            }
            out.push(q);
        }
        Ok(out)
    }

    fn quote_return_with(
        &self,
        key: InstanceKey,
        now: SimTime,
        counted: bool,
        counts: ReturnCounts,
    ) -> Result<ReturnQuote, ApiError> {
        let inst = self.fleet.get(key).expect("resolved");
        let none = ReturnQuote {
            refund: Split::default(),
            five_day: false,
            counted: false,
        };
        if !self.rules.enabled || inst.expires().get().is_none_or(|e| e <= now) {
            return Ok(none);
        }
        let used = now.since(inst.billing.prepaid_since()).ms();
        if counted
            && inst.bought_new()
            && used <= FIVE_DAYS_MS
            && counts.five_day < self.rules.five_day_returns_per_year
        {
            // 五天无理由退还: everything paid for the instance comes back.
            let mut refund = paid_split(inst);
            if let Some(u) = inst.billing.extra.as_deref().and_then(|x| x.upgrade) {
                refund.compute += u.paid;
            }
            return Ok(ReturnQuote {
                refund,
                five_day: true,
                counted,
            });
        }
        if counted && counts.ordinary >= self.rules.returns_per_year {
            return Err(ApiError::new(
                ErrorCode::UserReturnQuota,
                format!(
                    "{}: the account has returned {} prepaid instances this year, the most it may",
                    inst.id, counts.ordinary
                ),
            ));
        }
        Ok(ReturnQuote {
            refund: self.return_value(inst, now),
            five_day: false,
            counted,
        })
    }

    /// Books a return quoted by [`Cloud::quote_return`]: the refund, the account's counts, and
    /// the paid period ends now. Returns the refund.
    pub(super) fn apply_return(&mut self, key: InstanceKey, now: SimTime, q: ReturnQuote) -> Money {
        if q.counted {
            let mut c = self.return_counts(now);
            if q.five_day {
                c.five_day += 1;
            } else {
                c.ordinary += 1;
            }
            self.returns = c;
        }
        let inst = self.fleet.get_mut(key).expect("live");
        let refund = q.refund.total();
        let b = &mut inst.billing;
        b.add_refund(refund);
        let p = b.prepaid_mut();
        p.paid -= refund.min(p.paid);
        if let Some(x) = b.extra.as_deref_mut() {
            x.paid_disk -= q.refund.disk;
            x.paid_network -= q.refund.network;
            x.net_disk -= q.refund.disk;
            x.net_network -= q.refund.network;
            x.upgrade = None;
        }
        if inst.expires().get().is_some_and(|e| e > now) {
            inst.set_expires(OptTime::some(now));
        }
        refund
    }

    /// What resizing a prepaid instance to `to` now charges or refunds
    /// (InquiryPriceResetInstancesType), or the code when its downgrades are used up.
    pub fn quote_resize(
        &self,
        key: InstanceKey,
        to: TypeIdx,
        now: SimTime,
    ) -> Result<ResizeQuote, ApiError> {
        let inst = self.fleet.get(key).expect("resolved");
        let Some(expires) = inst.expires().get().filter(|&e| e > now) else {
            return Ok(ResizeQuote::Nothing);
        };
        if inst.charge != ChargeType::Prepaid || !self.rules.enabled {
            return Ok(ResizeQuote::Nothing);
        }
        let (old, new) = (
            self.catalog.price(inst.itype).prepaid_monthly,
            self.catalog.price(to).prepaid_monthly,
        );
        let left = expires.since(now).ms();
        let month = prepaid_period(1).ms();
        let cents = self.rules.round_cents;
        if new > old {
            let fee =
                pricing::upgrade_fee(old, new, &self.catalog.price(to).ladder, left, month, cents);
            return Ok(ResizeQuote::Upgrade { fee });
        }
        if new == old {
            return Ok(ResizeQuote::Nothing);
        }
        let x = inst.billing.extra.as_deref();
        let done = x.map_or(0, |x| x.downgrades);
        if done >= self.rules.max_downgrades {
            return Err(ApiError::new(
                ErrorCode::LimitOperationQuota,
                format!(
                    "{} has been downgraded {done} times, the most a prepaid instance may",
                    inst.id
                ),
            ));
        }
        // 实例降配退款金额 = 实例退货费用 − 新规格新购费用: the order is returned by the
        // ordinary rule and the smaller type (with the same disks and network) bought for the
        // time left, at the discount of the whole months left.
        let value = self.return_value(inst, now);
        let rates = x.map(|x| x.rates).unwrap_or_default();
        let new_order = Split {
            compute: pricing::prorated_purchase(
                new,
                &self.catalog.price(to).ladder,
                left,
                month,
                cents,
            ),
            disk: pricing::prorated_purchase(
                rates.disk_monthly,
                &self.catalog.attach.disk_ladder,
                left,
                month,
                cents,
            ),
            network: pricing::prorated_purchase(
                rates.bw_monthly,
                &Ladder::default(),
                left,
                month,
                cents,
            ),
        };
        let diff = value.minus(new_order);
        let refund = if diff.total() > Money::ZERO {
            diff
        } else {
            // 若退款金额 <= 0，实施配置降级但不退费.
            Split::default()
        };
        Ok(ResizeQuote::Downgrade {
            refund,
            new_order,
            to,
        })
    }

    /// Books a resize quoted by [`Cloud::quote_resize`]; returns the signed amount (a fee
    /// positive, a refund negative).
    pub(super) fn apply_resize(&mut self, key: InstanceKey, now: SimTime, q: ResizeQuote) -> Money {
        let inst = self.fleet.get_mut(key).expect("live");
        let itype = inst.itype;
        let expires = inst.expires().get().unwrap_or(now);
        let b = &mut inst.billing;
        match q {
            ResizeQuote::Nothing => {}
            ResizeQuote::Upgrade { fee } => {
                b.charged += fee;
                let x = b.extra.get_or_insert_with(Default::default);
                x.order_type.get_or_insert(itype);
                // One upgrade order for the time left: an earlier one's unused value joins it.
                let carried = x.upgrade.map_or(Money::ZERO, |u| u.unused(now));
                x.upgrade = Some(UpgradeOrder {
                    paid: carried + fee,
                    since: now,
                    until: expires,
                });
            }
            ResizeQuote::Downgrade {
                refund,
                new_order,
                to,
            } => {
                b.add_refund(refund.total());
                // A new order; the end of the paid period and the refunds carry over.
                let p = b.prepaid_mut();
                p.since = now;
                p.paid = new_order.total();
                let x = b.extra.get_or_insert_with(Default::default);
                x.paid_disk = new_order.disk;
                x.paid_network = new_order.network;
                x.net_disk -= refund.disk;
                x.net_network -= refund.network;
                x.upgrade = None;
                x.order_type = Some(to);
                x.downgrades += 1;
                inst.set_bought_new(false);
            }
        }
        q.amount()
    }
}

/// What the current order of a prepaid instance was paid, per item.
fn paid_split(inst: &Instance) -> Split {
    let b = &inst.billing;
    let (disk, network) = b.extra.as_deref().map_or((Money::ZERO, Money::ZERO), |x| {
        (x.paid_disk, x.paid_network)
    });
    Split {
        compute: b.prepaid_paid() - disk - network,
        disk,
        network,
    }
}
