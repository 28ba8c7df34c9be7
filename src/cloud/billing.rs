//! What an instance costs. Cost is integrated over state intervals (DESIGN.md principle 4): each
//! state change closes the interval that was accruing and opens the next, so no instance is ever
//! woken just to be billed.

use crate::engine::time::MS_PER_HOUR;
use crate::engine::{SimDuration, SimTime};

use super::catalog::{Catalog, ChargeType, TypeIdx, TypePrice};
use super::instance::{Instance, OpenHour, StoppedMode};
use super::money::Money;
use super::pricing::{self, AttachRates, Item, Ladder, OrderPrices, Split};
use super::spot_market::SpotMarket;
use super::state::InstanceState;

/// The billing rules that CVM.md marks as documented figures or assumptions; all are scenario
/// settings. The prepaid duration discounts are per family, in the catalogue
/// ([`super::catalog::TypePrice::ladder`]).
#[derive(Clone, Debug)]
pub struct BillingRules {
    /// Postpaid price tiers: (accumulated billed hours at which the tier starts, percent of the
    /// tier-1 price). Documented: 0 h 100%, 96 h 50%, 360 h 34%.
    pub postpaid_tiers: Vec<(u64, u32)>,
    /// Billing on (the default). Off, nothing is charged: only for measuring what billing
    /// costs in run time (`--set billing.enabled=false`).
    pub enabled: bool,
    /// Each hourly settlement (per instance and item) and each order or refund is rounded to
    /// 0.01 ("费用四舍五入，精确到小数点后2位", 计费模式). On by default.
    pub round_cents: bool,
    /// Five-day full refunds per account per year (退还包年包月实例退费说明: 1).
    pub five_day_returns_per_year: u32,
    /// Self-service returns of prepaid instances per account per year (the same document:
    /// 199); beyond it TerminateInstances is refused with `LimitExceeded.UserReturnQuota`.
    pub returns_per_year: u32,
    /// Downgrades a prepaid instance may have in all (调整实例配置: 5).
    pub max_downgrades: u32,
}

impl Default for BillingRules {
    fn default() -> Self {
        BillingRules {
            postpaid_tiers: vec![(0, 100), (96, 50), (360, 34)],
            enabled: true,
            round_cents: true,
            five_day_returns_per_year: 1,
            returns_per_year: 199,
            max_downgrades: 5,
        }
    }
}

/// A stretch of time billed at one constant rate: `hourly × percent / 100` per hour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Piece {
    pub start: SimTime,
    pub end: SimTime,
    /// Micro-CNY per hour.
    pub hourly: u64,
    pub percent: u32,
    pub item: Item,
    /// What the 0.01 rounding of the settlement of this piece's clock hour adds (money units,
    /// either sign); the piece then lies within that hour.
    pub settle: i64,
}

impl Piece {
    /// `hourly × percent` from `start` to `end`, of `item`, nothing to settle.
    pub fn new(start: SimTime, end: SimTime, hourly: u64, percent: u32, item: Item) -> Piece {
        Piece {
            start,
            end,
            hourly,
            percent,
            item,
            settle: 0,
        }
    }

    pub fn amount(&self) -> Money {
        Money::for_time(self.hourly, self.end.since(self.start).ms(), self.percent)
            + Money(self.settle as i128)
    }
}

/// What one state change charged: the closed interval's constant-rate pieces, plus any charge
/// or refund made at the instant of the change (`amount − Σ pieces`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Accrual<'a> {
    pub start: SimTime,
    pub end: SimTime,
    pub amount: Money,
    pub pieces: &'a [Piece],
}

impl Accrual<'_> {
    /// A charge (or, negative, a refund) at one instant.
    pub fn point(time: SimTime, amount: Money) -> Accrual<'static> {
        Accrual {
            start: time,
            end: time,
            amount,
            pieces: &[],
        }
    }

    /// The part of `amount` not spread over pieces: an up-front charge or a refund.
    pub fn instant_part(&self) -> Money {
        self.amount - self.pieces.iter().map(Piece::amount).sum::<Money>()
    }
}

/// How an instance accrues cost in a state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RateClass {
    Free,
    /// Micro-CNY per hour.
    Flat(u64),
    /// Postpaid tier-1 price per hour; tiers by accumulated billed hours.
    Tiered(u64),
    Spot,
}

impl BillingRules {
    /// Documented prepaid periods.
    pub fn valid_period(&self, months: u32) -> bool {
        pricing::valid_period(months)
    }

    /// Up-front price of a prepaid period of a type (its family's ladder), without disks or
    /// network.
    pub fn prepaid_price(&self, price: &TypePrice, months: u32) -> Money {
        if !self.enabled {
            return Money::ZERO;
        }
        let m = pricing::months_at(price.prepaid_monthly, months, price.ladder.percent(months));
        if self.round_cents {
            pricing::round_cents(m)
        } else {
            m
        }
    }

    /// The prices a prepaid order of `inst` is made of: its type `t` and its attachments.
    pub fn order_prices<'a>(
        &self,
        cat: &'a Catalog,
        t: TypeIdx,
        attach: Option<AttachRates>,
    ) -> OrderPrices<'a> {
        let p = cat.price(t);
        OrderPrices {
            monthly: p.prepaid_monthly,
            postpaid_hourly: p.postpaid_hourly,
            ladder: &p.ladder,
            attach: attach.unwrap_or_default(),
            disk_ladder: &cat.attach.disk_ladder,
        }
    }

    /// Up-front price of `months` of type `t` with its attachments, per item: what
    /// RunInstances and RenewInstances charge a PREPAID instance.
    pub fn order_price(
        &self,
        cat: &Catalog,
        t: TypeIdx,
        attach: Option<AttachRates>,
        months: u32,
    ) -> Split {
        if !self.enabled {
            return Split::default();
        }
        pricing::purchase(&self.order_prices(cat, t, attach), months, self.round_cents)
    }

    /// The ladder of a type's family.
    pub fn ladder<'a>(&self, cat: &'a Catalog, t: TypeIdx) -> &'a Ladder {
        &cat.price(t).ladder
    }

    /// How the instance is billed while in `state`: nothing, a flat hourly rate, the postpaid
    /// tiered rate, or the spot market price.
    pub fn rate_class(&self, cat: &Catalog, inst: &Instance, state: InstanceState) -> RateClass {
        use InstanceState as S;
        let billed_state = matches!(
            state,
            S::Running | S::Stopping | S::Starting | S::Rebooting | S::Stopped
        );
        if !billed_state {
            return RateClass::Free;
        }
        let price = cat.price(inst.itype);
        match inst.charge {
            ChargeType::Prepaid => RateClass::Free,
            ChargeType::PostpaidByHour => {
                if state == S::Stopped && inst.stopped_mode() == StoppedMode::StopCharging {
                    // Launched with explicit disks, they are billed as such; otherwise the
                    // instance price covers a system disk of `disk_gib`, which is still paid.
                    let explicit = inst
                        .billing
                        .extra
                        .as_ref()
                        .is_some_and(|x| x.attach.system_disk.is_some());
                    if explicit {
                        RateClass::Free
                    } else {
                        RateClass::Flat(cat.disk_gib_hourly * cat.disk_gib as u64)
                    }
                } else if price.tiered {
                    RateClass::Tiered(price.postpaid_hourly)
                } else {
                    RateClass::Flat(price.postpaid_hourly)
                }
            }
            // A stopped spot instance keeps billing at the market price: stopping without
            // charging "不适用于竞价实例" (按量计费实例关机不收费说明).
            ChargeType::Spotpaid => RateClass::Spot,
        }
    }

    /// Closes the open interval at `now` (the instance was in `inst.state` throughout). The
    /// interval's constant-rate pieces (the instance, then its disks and network) are written
    /// to `pieces` (cleared first); returns where the interval started and what it cost.
    ///
    /// The next interval opens at `now` only once the caller moves the instance to its next
    /// state (`state_since = now`) or records a change of charge type at `now`, as every
    /// caller does; only the closing of the books at the end of the run does neither (see
    /// [`Instance::billing_since`]).
    pub fn accrue(
        &self,
        cat: &Catalog,
        market: &mut SpotMarket,
        inst: &mut Instance,
        now: SimTime,
        pieces: &mut Vec<Piece>,
    ) -> (SimTime, Money) {
        pieces.clear();
        let start = inst.billing_since();
        let ms = now.since(start).ms();
        if ms > 0 && self.enabled {
            match self.rate_class(cat, inst, inst.state) {
                RateClass::Free => {}
                RateClass::Flat(rate) => {
                    pieces.push(Piece::new(start, now, rate, 100, Item::Compute))
                }
                RateClass::Tiered(rate) => {
                    self.tier_pieces(rate, inst.billing.tier_ms, start, now, pieces);
                    inst.billing.tier_ms += ms;
                }
                RateClass::Spot => {
                    let step = market.step_ms();
                    let mut a = start.ms();
                    // One division: the steps that follow are consecutive.
                    let mut k = a / step;
                    while a < now.ms() {
                        let b = ((k + 1) * step).min(now.ms());
                        pieces.push(Piece::new(
                            SimTime(a),
                            SimTime(b),
                            market.price_in_step(inst.zone, inst.itype, k),
                            100,
                            Item::Compute,
                        ));
                        a = b;
                        k += 1;
                    }
                }
            }
            if let Some(x) = inst.billing.extra.as_deref() {
                let (disk, net) = attachment_rates(inst.charge, inst.state, &x.rates);
                if disk > 0 {
                    pieces.push(Piece::new(start, now, disk, 100, Item::Disk));
                }
                if net > 0 {
                    pieces.push(Piece::new(start, now, net, 100, Item::Network));
                }
            }
            if self.round_cents {
                settle_in_cents(inst, start, now, pieces);
            }
        }
        let mut amount = Money::ZERO;
        for p in pieces.iter() {
            let a = p.amount();
            amount += a;
            if p.item != Item::Compute
                && let Some(x) = inst.billing.extra.as_deref_mut()
            {
                match p.item {
                    Item::Disk => x.net_disk += a,
                    _ => x.net_network += a,
                }
            }
        }
        inst.billing.charged += amount;
        (start, amount)
    }

    /// Splits `[start, end)` at the postpaid tier boundaries, given `already_ms` billed before.
    fn tier_pieces(
        &self,
        rate: u64,
        already_ms: u64,
        start: SimTime,
        end: SimTime,
        out: &mut Vec<Piece>,
    ) {
        let len = end.since(start).ms();
        let mut pos = already_ms;
        let stop = already_ms + len;
        for (i, &(from_h, pct)) in self.postpaid_tiers.iter().enumerate() {
            let lo = SimDuration::from_hours(from_h).ms();
            let hi = self
                .postpaid_tiers
                .get(i + 1)
                .map(|&(h, _)| SimDuration::from_hours(h).ms())
                .unwrap_or(u64::MAX);
            let a = pos.max(lo);
            let b = stop.min(hi);
            if b > a {
                out.push(Piece::new(
                    SimTime(start.ms() + (a - already_ms)),
                    SimTime(start.ms() + (b - already_ms)),
                    rate,
                    pct,
                    Item::Compute,
                ));
                pos = b;
            }
        }
    }

    /// Charge of `ms` milliseconds at tier-1 price `rate`, starting after `already_ms` billed
    /// milliseconds, split exactly at the tier boundaries.
    pub fn tiered_charge(&self, rate: u64, already_ms: u64, ms: u64) -> Money {
        let mut pieces = Vec::with_capacity(self.postpaid_tiers.len());
        self.tier_pieces(rate, already_ms, SimTime::ZERO, SimTime(ms), &mut pieces);
        pieces.iter().map(Piece::amount).sum()
    }
}

/// Hourly rates of an instance's disks and network in `state`, micro-CNY: postpaid disks and
/// hourly bandwidth in every billed state (stopped included: 关机不收费 stops only CPU and
/// memory), traffic only while RUNNING (a stopped instance sends nothing). A PREPAID
/// instance's disks and prepaid bandwidth are paid up front.
pub fn attachment_rates(charge: ChargeType, state: InstanceState, r: &AttachRates) -> (u64, u64) {
    use InstanceState as S;
    let billed = matches!(
        state,
        S::Running | S::Stopping | S::Starting | S::Rebooting | S::Stopped
    );
    if !billed {
        return (0, 0);
    }
    let disk = if charge == ChargeType::Prepaid {
        0
    } else {
        r.disk_hourly
    };
    let traffic = if state == S::Running {
        r.traffic_hourly
    } else {
        0
    };
    (disk, r.bw_hourly + traffic)
}

/// Rewrites `pieces` (the accrual of `[start, now)`) as CVM settles them: per clock hour and
/// per item, the amount of the hour rounded to 0.01. Whole hours inside a piece are billed at
/// the rounded hourly rate; a part of an hour adds to the hour's open amount and carries the
/// change of its rounded value (`settle`), so what has been charged for an hour is always its
/// amount so far, rounded. No closing step is needed: an instance released mid-hour has paid
/// that hour, rounded.
///
/// Each item's [`OpenHour`] belongs to the clock hour of [`Instance::billing_since`] (the
/// start of every accrual, which only accruals move): its pieces start there and run on without gaps, so the
/// hour is followed here, and what is still open at `now` is kept only if it is `now`'s hour.
fn settle_in_cents(inst: &mut Instance, start: SimTime, now: SimTime, pieces: &mut Vec<Piece>) {
    let mut hours = [start.ms() / MS_PER_HOUR; 3];
    let n = pieces.len();
    for i in 0..n {
        let p = pieces[i];
        let acc = match p.item {
            Item::Compute => &mut inst.billing.open,
            Item::Disk => &mut inst.billing.extra.as_deref_mut().expect("disk piece").open[0],
            Item::Network => &mut inst.billing.extra.as_deref_mut().expect("net piece").open[1],
        };
        split_hours(p, &mut hours[p.item as usize], acc, pieces);
    }
    pieces.drain(..n);
    carry_over(hours[0], now, &mut inst.billing.open);
    if let Some(x) = inst.billing.extra.as_deref_mut() {
        carry_over(hours[1], now, &mut x.open[0]);
        carry_over(hours[2], now, &mut x.open[1]);
    }
}

/// At the end of an accrual up to `now`: an open hour other than `now`'s is over (the next
/// accrual starts at `now`).
fn carry_over(hour: u64, now: SimTime, acc: &mut OpenHour) {
    if hour != now.ms() / MS_PER_HOUR {
        *acc = OpenHour::default();
    }
}

/// 0.01 per hour in units of `hourly × percent`.
const CENT_RATE: i128 = 1_000_000;

/// Settles one piece that starts in `*hour`, the clock hour `acc` belongs to, or a later one;
/// leaves `*hour` at the hour `acc` then belongs to.
fn split_hours(p: Piece, hour: &mut u64, acc: &mut OpenHour, out: &mut Vec<Piece>) {
    use crate::engine::time::MS_PER_HOUR as H;
    let rate = p.hourly as i128 * p.percent as i128;
    let (mut a, end) = (p.start.ms(), p.end.ms());
    while a < end {
        let h = a / H;
        if a == h * H && end >= (h + 1) * H {
            // Whole hours: each settles at the hourly amount rounded.
            let b = a + (end - a) / H * H;
            let r = (rate + CENT_RATE / 2) / CENT_RATE * CENT_RATE;
            out.push(Piece::new(
                SimTime(a),
                SimTime(b),
                (r / 100) as u64,
                100,
                p.item,
            ));
            *hour = b / H - 1;
            *acc = OpenHour::default();
            a = b;
            continue;
        }
        let b = end.min((h + 1) * H);
        let amount = rate * (b - a) as i128;
        if *hour != h {
            *hour = h;
            *acc = OpenHour::default();
        }
        // `rem` stands for the hour's amount so far, which has the same cents rounding
        // change: amounts are never negative (prices, percents and times are unsigned).
        let before = pricing::round_cents(Money(acc.rem as i128)).0;
        let raw = acc.rem as i128 + amount;
        let after = pricing::round_cents(Money(raw)).0;
        acc.rem = pricing::beyond_cents(raw);
        out.push(Piece {
            settle: (after - before - amount) as i64,
            ..Piece::new(SimTime(a), SimTime(b), p.hourly, p.percent, p.item)
        });
        a = b;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_split_at_96_hours() {
        let r = BillingRules::default();
        // 100 h at 1.00/h: 96 h full + 4 h at 50%
        let m = r.tiered_charge(1_000_000, 0, SimDuration::from_hours(100).ms());
        assert_eq!(m, Money::from_micros(98_000_000));
        // the same 100 h billed in two pieces costs the same
        let a = r.tiered_charge(1_000_000, 0, SimDuration::from_hours(95).ms());
        let b = r.tiered_charge(
            1_000_000,
            SimDuration::from_hours(95).ms(),
            SimDuration::from_hours(5).ms(),
        );
        assert_eq!(a + b, m);
        // beyond 360 h: 34%
        let c = r.tiered_charge(
            1_000_000,
            SimDuration::from_hours(400).ms(),
            SimDuration::from_hours(1).ms(),
        );
        assert_eq!(c, Money::from_micros(340_000));
    }

    #[test]
    fn prepaid_ladder_of_the_family() {
        let r = BillingRules::default();
        let price = |family: &str| TypePrice {
            postpaid_hourly: 0,
            prepaid_monthly: 100_000_000,
            tiered: false,
            ladder: Ladder::published_for_family(family),
        };
        // S5: 1 month 87%, 12 months 69%; others: 1 month 100%, 12 months 83%.
        assert_eq!(
            r.prepaid_price(&price("S5"), 1),
            Money::from_micros(87_000_000)
        );
        assert_eq!(
            r.prepaid_price(&price("S5"), 12),
            Money::from_micros(828_000_000)
        );
        assert_eq!(
            r.prepaid_price(&price("SA2"), 1),
            Money::from_micros(100_000_000)
        );
        assert_eq!(
            r.prepaid_price(&price("SA2"), 12),
            Money::from_micros(996_000_000)
        );
        assert!(r.valid_period(36) && !r.valid_period(13));
    }

    /// The open hour keeps only what its amount holds beyond whole cents, and not its hour:
    /// every settlement must be the one the hour's whole amount gives, the hour kept beside
    /// it (the oracle below, as the record did before), through accruals as `accrue` makes
    /// them (each from the end of the last), billed or free, within an hour or across many,
    /// ending on an hour or inside one, at rates from nothing to 7 × u32::MAX micro-CNY/h.
    #[test]
    fn the_cents_remainder_settles_as_the_whole_amount() {
        use crate::engine::time::MS_PER_HOUR as H;
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: u64| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) % n
        };
        let (mut acc, mut out) = (OpenHour::default(), Vec::new());
        let (mut oracle_hour, mut oracle_raw) = (0u64, 0i128);
        let mut since = 0u64;
        let (mut whole_cents_seen, mut carried) = (0, 0);
        for _ in 0..30_000 {
            let len = match next(4) {
                0 => next(H / 20),
                1 => H - since % H, // to the end of the hour
                2 => next(H),
                _ => next(3) * H + next(H),
            };
            let now = since + len;
            // An accrual of [since, now): billed (one or two pieces, as tiers make) or free.
            let mut hour = since / H;
            out.clear();
            if next(3) > 0 && len > 0 {
                let cut = since + next(len + 1);
                for (a, b) in [(since, cut), (cut, now)] {
                    if a == b {
                        continue;
                    }
                    let hourly = [0, 1, 123_456, 9_999_999, 4_200_000_000, u32::MAX as u64 * 7]
                        [next(6) as usize];
                    let percent = [100, 50, 34, 250][next(4) as usize];
                    let p = Piece::new(SimTime(a), SimTime(b), hourly, percent, Item::Compute);
                    let n = out.len();
                    split_hours(p, &mut hour, &mut acc, &mut out);
                    // The oracle: the hour's whole amount and the hour itself.
                    let rate = hourly as i128 * percent as i128;
                    for q in &out[n..] {
                        let (qa, qb) = (q.start.ms(), q.end.ms());
                        if qa % H == 0 && qb - qa >= H {
                            (oracle_hour, oracle_raw) = (qb / H - 1, 0);
                            continue;
                        }
                        if oracle_hour != qa / H {
                            (oracle_hour, oracle_raw) = (qa / H, 0);
                        } else if oracle_raw != 0 {
                            carried += 1;
                        }
                        let amount = rate * (qb - qa) as i128;
                        let before = pricing::round_cents(Money(oracle_raw)).0;
                        oracle_raw += amount;
                        let after = pricing::round_cents(Money(oracle_raw)).0;
                        assert_eq!(q.settle as i128, after - before - amount, "{p:?} {q:?}");
                        whole_cents_seen += (oracle_raw >= pricing::CENT) as u32;
                    }
                }
            }
            carry_over(hour, SimTime(now), &mut acc);
            assert!(acc.rem < pricing::CENT as u64);
            since = now;
        }
        assert!(whole_cents_seen > 1_000, "{whole_cents_seen}");
        assert!(carried > 1_000, "{carried}");
    }

    #[test]
    fn settlements_round_each_clock_hour() {
        use crate::engine::time::MS_PER_HOUR as H;
        // 0.123456/h from 00:30 to 03:15: hour 0 half (0.061728 → 0.06), hours 1 and 2 whole
        // (0.12 each), hour 3 a quarter (0.030864 → 0.03): 0.33 in all.
        let (mut acc, mut hour) = (OpenHour::default(), 0);
        let mut out = Vec::new();
        let p = Piece::new(
            SimTime(H / 2),
            SimTime(3 * H + H / 4),
            123_456,
            100,
            Item::Compute,
        );
        split_hours(p, &mut hour, &mut acc, &mut out);
        let total: Money = out.iter().map(Piece::amount).sum();
        assert_eq!(total, Money::from_micros(330_000));
        assert_eq!(out.len(), 3);
        // Hour 3 goes on to 03:45: 0.030864 + 0.061728 = 0.092592 → 0.09, so 0.06 more.
        let q = Piece::new(
            SimTime(3 * H + H / 4),
            SimTime(3 * H + 3 * H / 4),
            123_456,
            100,
            Item::Compute,
        );
        out.clear();
        split_hours(q, &mut hour, &mut acc, &mut out);
        assert_eq!(
            out.iter().map(Piece::amount).sum::<Money>(),
            Money::from_micros(60_000)
        );
    }
}
