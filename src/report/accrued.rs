//! `costs_accrued.csv`: the accrued view of cost. `costs.csv` is cash: a prepaid period is
//! charged in full in the hour it is bought or renewed, and a refund counts in the hour it is
//! made. Here each of those instant amounts is instead spread evenly over the paid time it
//! concerns, so a planner sees what the fleet costs to run day by day.
//!
//! Per instance, the money paid but not yet accrued (its deferred balance) accrues at a
//! constant rate until the end of its paid period (`Instance::expires`). Each change of the
//! instance first accrues the balance up to that time, then adds the change's instant amount
//! (a payment, or a negative refund) and takes the new end of the paid period. A balance with
//! no paid time left (released, returned) accrues at once. At the end of the run what is left
//! is prepaid time bought beyond the horizon: it goes into one last row per zone and charge
//! type, at the end of the run, so that the file sums to exactly what `costs.csv` sums to (the
//! run's `cost_total`).
//!
//! Only the differences to `costs.csv` are booked here (minus each instant amount where cash
//! has it, plus its spread), in a [`CostLedger`] of their own: metered costs (postpaid, spot,
//! disks, network) are the same in both views, and booking them twice would cost every state
//! change of a run.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result};
use rustc_hash::FxHashMap;

use crate::cloud::api::ChangeKind;
use crate::cloud::{Catalog, Change, ChargeType, InstanceId, Money};
use crate::engine::SimTime;
use crate::engine::time::MS_PER_HOUR;

use super::costs::CostLedger;
use super::recorder::secs;

/// The file name in the run folder.
pub const COSTS_ACCRUED_FILE: &str = "costs_accrued.csv";

/// What one instance has paid and not yet accrued.
#[derive(Clone, Copy, Debug)]
struct Deferred {
    zone: usize,
    charge: ChargeType,
    /// Money not yet accrued, in [`Money`]'s unit.
    balance: i128,
    /// Accrued up to this time.
    since: SimTime,
    /// The end of the paid period: the balance accrues evenly over `[since, until)`.
    until: SimTime,
}

/// The accrued view's differences to the cash view, hour by hour.
#[derive(Clone, Debug)]
pub struct AccruedLedger {
    adjust: CostLedger,
    open: FxHashMap<InstanceId, Deferred>,
}

/// A time past every hour of the ledger: [`CostLedger`] books it in its last slot, the hour
/// after the run, which holds what was bought beyond the horizon.
const AFTER_THE_RUN: SimTime = SimTime(u64::MAX);

impl AccruedLedger {
    /// A ledger for a run of `horizon` across `zones` zones.
    pub fn new(zones: usize, horizon: SimTime) -> Self {
        AccruedLedger {
            adjust: CostLedger::new(zones, horizon),
            open: FxHashMap::default(),
        }
    }

    /// Whether [`change`](Self::change) would do anything for a change with this instant
    /// part: nothing is deferred until a first instant amount, so until then (and in a run
    /// without prepaid instances, always) a change without one is skipped without a call.
    #[inline]
    pub fn takes(&self, instant: Money) -> bool {
        instant.0 != 0 || !self.open.is_empty()
    }

    /// Takes one change of an instance (called for every change the recorder sees that
    /// [`takes`](Self::takes) accepts), with its instant part (`ch.accrual.instant_part()`,
    /// which the recorder has computed).
    pub fn change(&mut self, ch: &Change<'_>, instant: Money) {
        // The hot path: most changes move no money up front and concern an instance that has
        // nothing deferred. Only a prepaid instance (or one that just stopped being prepaid)
        // can have a balance open, and the end of the run or a release closes one whatever
        // the instance has become (an instance's balance is looked up at each of these).
        let prepaid = ch.instance.charge == ChargeType::Prepaid
            || ch.from_charge == ChargeType::Prepaid
            || ch.kind == ChangeKind::Close
            || ch.to.is_none();
        let id = ch.instance.id;
        if instant.0 == 0 && (!prepaid || !self.open.contains_key(&id)) {
            return;
        }
        let t = ch.time;
        let zone = ch.instance.zone.0 as usize;
        let charge = ch.instance.charge;
        let mut d = self.open.remove(&id).unwrap_or(Deferred {
            zone,
            charge,
            balance: 0,
            since: t,
            until: t,
        });
        self.accrue(&mut d, t);
        if instant.0 != 0 {
            // Cash has the amount now; here it joins the balance instead.
            self.adjust.book_instant(zone, charge, t, Money(-instant.0));
            // The balance stays with the zone and charge type of its first payment (a change
            // of charge type while money is deferred is rare); the total is the same.
            d.balance += instant.0;
        }
        d.until = ch
            .instance
            .expires()
            .get()
            .filter(|_| ch.to.is_some())
            .unwrap_or(t);
        if ch.kind == ChangeKind::Close {
            // The end of the run: what is left was bought for time beyond it.
            self.adjust
                .book_instant(d.zone, d.charge, AFTER_THE_RUN, Money(d.balance));
        } else if d.until <= t {
            // No paid time left: the rest accrues now.
            self.adjust
                .book_instant(d.zone, d.charge, t, Money(d.balance));
        } else if d.balance != 0 {
            self.open.insert(id, d);
        }
    }

    /// Accrues `d`'s balance evenly from `d.since` to `t` (at most to `d.until`), hour by hour:
    /// the amount accrued by time `x` is `balance × (x − since) / (until − since)`, rounded
    /// toward zero, and each hour gets the difference of its two ends, so the parts add up to
    /// the balance exactly.
    fn accrue(&mut self, d: &mut Deferred, t: SimTime) {
        let end = t.min(d.until);
        if d.balance == 0 || end <= d.since {
            d.since = d.since.max(end);
            return;
        }
        let span = (d.until.ms() - d.since.ms()) as i128;
        let start = d.since.ms();
        let upto = |x: u64| d.balance * (x - start) as i128 / span;
        let mut from = start;
        let mut done = 0i128;
        while from < end.ms() {
            let next = ((from / MS_PER_HOUR + 1) * MS_PER_HOUR).min(end.ms());
            let now = upto(next);
            self.adjust
                .book_instant(d.zone, d.charge, SimTime(from), Money(now - done));
            done = now;
            from = next;
        }
        d.balance -= done;
        d.since = end;
    }

    /// Writes `costs_accrued.csv` from the cash ledger `cash` and these differences: the
    /// columns of `costs.csv`, the same hours and cells, then one row per cell at the end of
    /// the run (`hour_start_s` = the run's length) with the prepaid time bought beyond it.
    pub fn write_csv(
        &self,
        path: &Path,
        cash: &CostLedger,
        cat: &Catalog,
        horizon: SimTime,
    ) -> Result<()> {
        let f = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        let mut w = BufWriter::new(f);
        writeln!(w, "hour_start_s,zone,charge_type,cost")?;
        let last_hour = (horizon.ms().div_ceil(MS_PER_HOUR) as usize).max(1);
        let mut columns = Vec::new();
        for (z, zone) in cat.zones.iter().enumerate() {
            for c in ChargeType::ALL {
                let a = cash.hourly(z, c);
                let b = self.adjust.hourly(z, c);
                let sum: Vec<Money> = a.iter().zip(&b).map(|(x, y)| *x + *y).collect();
                if a.iter().chain(&b).any(|m| m.0 != 0) {
                    columns.push((zone.name.as_str(), c, sum));
                }
            }
        }
        for h in 0..=last_hour {
            let start = if h == last_hour {
                horizon
            } else {
                SimTime(h as u64 * MS_PER_HOUR)
            };
            for (zone, c, hourly) in &columns {
                let v = hourly.get(h).copied().unwrap_or(Money::ZERO);
                writeln!(w, "{},{},{},{}", secs(start), zone, c, v)?;
            }
        }
        w.flush()
            .with_context(|| format!("cannot write {COSTS_ACCRUED_FILE}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_balance_accrues_evenly_hour_by_hour_and_exactly() {
        const H: u64 = MS_PER_HOUR;
        let mut l = AccruedLedger::new(1, SimTime(5 * H));
        // 30.00 paid for 00:30–03:30: 10.00 an hour.
        let mut d = Deferred {
            zone: 0,
            charge: ChargeType::Prepaid,
            balance: Money::from_micros(30_000_000).0,
            since: SimTime(H / 2),
            until: SimTime(3 * H + H / 2),
        };
        l.accrue(&mut d, SimTime(2 * H));
        assert_eq!(Money(d.balance), Money::from_micros(15_000_000));
        assert_eq!(d.since, SimTime(2 * H));
        // Past the end of the paid period: the rest, and no more.
        l.accrue(&mut d, SimTime(10 * H));
        assert_eq!(d.balance, 0);
        let h = l.adjust.hourly(0, ChargeType::Prepaid);
        let cny = |v: u64| Money::from_micros(v as i128 * 1_000_000);
        assert_eq!(h[..5], [cny(5), cny(10), cny(10), cny(5), Money::ZERO]);

        // An amount that does not divide: the hours still add up to it exactly.
        let mut d = Deferred {
            balance: 1_000_003,
            since: SimTime(0),
            until: SimTime(3 * H),
            ..d
        };
        let mut l = AccruedLedger::new(1, SimTime(5 * H));
        l.accrue(&mut d, SimTime(3 * H));
        let sum: i128 = l
            .adjust
            .hourly(0, ChargeType::Prepaid)
            .iter()
            .map(|m| m.0)
            .sum();
        assert_eq!(sum, 1_000_003);
    }
}
