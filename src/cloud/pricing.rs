//! What the published CVM price rules charge, as pure functions of prices and times: the
//! prepaid duration discounts, the disks and the public network an instance is launched with,
//! the 0.01 rounding of a settlement, and the amounts of a purchase, a renewal, an early return
//! and a prepaid resize. The control plane charges exactly what these say, so a price quote
//! (the InquiryPrice* actions) made with them is the bill that follows.
//!
//! The rules and where Tencent publishes them are listed in the README (*Billing*).

use serde::Serialize;

use super::money::{Money, UNITS_PER_CNY};

/// Prepaid duration discount: `(from_months, percent)` steps, rising. A period of `m` months
/// pays the percent of the largest step at or below `m` ("向下匹配": a period between two
/// published steps gets the lower one); below the first step it pays 100%.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Ladder(pub Vec<(u32, u32)>);

impl Ladder {
    /// Percent of the list price a period of `months` months pays.
    pub fn percent(&self, months: u32) -> u32 {
        self.0
            .iter()
            .rev()
            .find(|&&(from, _)| from <= months)
            .map_or(100, |&(_, p)| p)
    }

    /// The ladder published for 标准型 S5 (价格总览): 1–2 months 87%, 3–5 78%, 6–11 73%,
    /// 1 year 69%, 2 years 55%, 3 years 41%, 4 years 33%, 5 years 27%.
    pub fn published_s5() -> Ladder {
        Ladder(vec![
            (1, 87),
            (3, 78),
            (6, 73),
            (12, 69),
            (24, 55),
            (36, 41),
            (48, 33),
            (60, 27),
        ])
    }

    /// The ladder published for every other family (价格总览): nothing below 6 months, 6–11
    /// months 88%, 1 year 83%, 2 years 70%, 3–5 years 50%.
    pub fn published_others() -> Ladder {
        Ladder(vec![(6, 88), (12, 83), (24, 70), (36, 50)])
    }

    /// The prepaid cloud-disk ladder (硬盘价格): 6–11 months 88%, 1 year 83%, 2 years 70%,
    /// 3 years 50% (no 4- or 5-year figure is published; 50% carries on).
    pub fn published_disks() -> Ladder {
        Ladder(vec![(6, 88), (12, 83), (24, 70), (36, 50)])
    }

    /// The catalogue's default for a family: only S5 is named in the published S5 table.
    pub fn published_for_family(family: &str) -> Ladder {
        if family == "S5" {
            Ladder::published_s5()
        } else {
            Ladder::published_others()
        }
    }

    /// Parses `1:87;3:78;6:73` (from-months:percent, `;`-separated), the price file's form.
    pub fn parse(text: &str) -> Result<Ladder, String> {
        let mut steps = Vec::new();
        for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (m, p) = part
                .split_once(':')
                .ok_or_else(|| format!("`{part}` is not months:percent"))?;
            let m: u32 = m
                .trim()
                .parse()
                .map_err(|_| format!("`{m}` is not a number of months"))?;
            let p: u32 = p
                .trim()
                .parse()
                .map_err(|_| format!("`{p}` is not a percent"))?;
            steps.push((m, p));
        }
        Ladder::new(steps)
    }

    /// Checks and sorts steps: months above 0, percents in 1..=100, no month twice.
    pub fn new(mut steps: Vec<(u32, u32)>) -> Result<Ladder, String> {
        steps.sort();
        if steps.is_empty() {
            return Err("a discount ladder needs at least one months:percent step".into());
        }
        for &(m, p) in &steps {
            if m == 0 || p == 0 || p > 100 {
                return Err(format!(
                    "step {m}:{p}: months must be above 0 and the percent within 1..=100"
                ));
            }
        }
        if steps.windows(2).any(|w| w[0].0 == w[1].0) {
            return Err("a number of months is given twice".into());
        }
        Ok(Ladder(steps))
    }
}

/// The documented prepaid periods (`InstanceChargePrepaid.Period`): 1–12, 24, 36, 48, 60.
pub fn valid_period(months: u32) -> bool {
    matches!(months, 1..=12 | 24 | 36 | 48 | 60)
}

/// Cloud disk types a workload may launch with (`DiskType`). Local disks belong to the
/// instance type and are not sold separately, so they are not offered here.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize)]
pub enum DiskType {
    #[serde(rename = "CLOUD_BASIC")]
    CloudBasic,
    #[serde(rename = "CLOUD_PREMIUM")]
    CloudPremium,
    #[serde(rename = "CLOUD_SSD")]
    CloudSsd,
    #[serde(rename = "CLOUD_HSSD")]
    CloudHssd,
    #[serde(rename = "CLOUD_TSSD")]
    CloudTssd,
    #[serde(rename = "CLOUD_BSSD")]
    CloudBssd,
}

impl DiskType {
    pub const ALL: [DiskType; 6] = [
        DiskType::CloudBasic,
        DiskType::CloudPremium,
        DiskType::CloudSsd,
        DiskType::CloudHssd,
        DiskType::CloudTssd,
        DiskType::CloudBssd,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            DiskType::CloudBasic => "CLOUD_BASIC",
            DiskType::CloudPremium => "CLOUD_PREMIUM",
            DiskType::CloudSsd => "CLOUD_SSD",
            DiskType::CloudHssd => "CLOUD_HSSD",
            DiskType::CloudTssd => "CLOUD_TSSD",
            DiskType::CloudBssd => "CLOUD_BSSD",
        }
    }
    pub fn parse(s: &str) -> Option<DiskType> {
        DiskType::ALL.into_iter().find(|d| d.as_str() == s)
    }
}

/// Prices of one disk type, micro-CNY.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiskPrice {
    /// POSTPAID per GiB-hour.
    pub gib_hourly: u64,
    /// PREPAID per GiB-month, before the disk ladder.
    pub gib_monthly: u64,
}

/// `InternetChargeType`. `BANDWIDTH_PACKAGE` (a shared package bought separately) is not
/// modelled.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
pub enum InternetChargeType {
    #[serde(rename = "BANDWIDTH_PREPAID")]
    BandwidthPrepaid,
    #[serde(rename = "TRAFFIC_POSTPAID_BY_HOUR")]
    TrafficPostpaidByHour,
    #[serde(rename = "BANDWIDTH_POSTPAID_BY_HOUR")]
    BandwidthPostpaidByHour,
}

impl InternetChargeType {
    pub fn as_str(self) -> &'static str {
        match self {
            InternetChargeType::BandwidthPrepaid => "BANDWIDTH_PREPAID",
            InternetChargeType::TrafficPostpaidByHour => "TRAFFIC_POSTPAID_BY_HOUR",
            InternetChargeType::BandwidthPostpaidByHour => "BANDWIDTH_POSTPAID_BY_HOUR",
        }
    }
    pub fn parse(s: &str) -> Option<InternetChargeType> {
        [
            InternetChargeType::BandwidthPrepaid,
            InternetChargeType::TrafficPostpaidByHour,
            InternetChargeType::BandwidthPostpaidByHour,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

/// Public network prices, micro-CNY.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BandwidthPrices {
    /// BANDWIDTH_POSTPAID_BY_HOUR: per Mbps-hour up to `tier_mbps`, and for each Mbps above.
    pub hourly_per_mbps: u64,
    pub hourly_per_mbps_above: u64,
    pub tier_mbps: u32,
    /// BANDWIDTH_PREPAID per Mbps-month: `(from_mbps, price)` steps, each price for the Mbps
    /// above its `from` (≤ 2 Mbps 20, 2–5 Mbps 25, above 5 Mbps 90).
    pub monthly_per_mbps: Vec<(u32, u64)>,
    /// TRAFFIC_POSTPAID_BY_HOUR per GB of outbound traffic.
    pub per_gb: u64,
}

impl Default for BandwidthPrices {
    /// Mainland China figures of 独享型公网网络计费 (illustrative: the page is undated).
    fn default() -> Self {
        BandwidthPrices {
            hourly_per_mbps: 63_000,
            hourly_per_mbps_above: 250_000,
            tier_mbps: 5,
            monthly_per_mbps: vec![(0, 20_000_000), (2, 25_000_000), (5, 90_000_000)],
            per_gb: 800_000,
        }
    }
}

impl BandwidthPrices {
    /// BANDWIDTH_POSTPAID_BY_HOUR price of `mbps` for an hour.
    pub fn hourly(&self, mbps: u32) -> u64 {
        let low = mbps.min(self.tier_mbps) as u64;
        let high = mbps.saturating_sub(self.tier_mbps) as u64;
        low * self.hourly_per_mbps + high * self.hourly_per_mbps_above
    }

    /// BANDWIDTH_PREPAID price of `mbps` for a month.
    pub fn monthly(&self, mbps: u32) -> u64 {
        let steps = &self.monthly_per_mbps;
        steps
            .iter()
            .enumerate()
            .map(|(i, &(from, price))| {
                let to = steps.get(i + 1).map_or(u32::MAX, |s| s.0);
                let n = mbps.min(to).saturating_sub(from) as u64;
                n * price
            })
            .sum()
    }
}

/// The disk and public-network prices of the catalogue.
#[derive(Clone, Debug, PartialEq)]
pub struct AttachmentPrices {
    pub disks: Vec<(DiskType, DiskPrice)>,
    pub disk_ladder: Ladder,
    pub bandwidth: BandwidthPrices,
}

impl Default for AttachmentPrices {
    /// Illustrative figures from Tencent's 云硬盘 价格总览 (Guangzhou/Shanghai/Beijing), which
    /// are examples, not a price list; CLOUD_BASIC (no published figure) and CLOUD_BSSD are
    /// priced like CLOUD_PREMIUM.
    fn default() -> Self {
        let p = |h: u64, m: u64| DiskPrice {
            gib_hourly: h,
            gib_monthly: m,
        };
        AttachmentPrices {
            disks: vec![
                (DiskType::CloudBasic, p(900, 350_000)),
                (DiskType::CloudPremium, p(900, 350_000)),
                (DiskType::CloudSsd, p(2_500, 1_000_000)),
                (DiskType::CloudHssd, p(2_100, 1_000_000)),
                (DiskType::CloudTssd, p(2_100, 1_000_000)),
                (DiskType::CloudBssd, p(900, 350_000)),
            ],
            disk_ladder: Ladder::published_disks(),
            bandwidth: BandwidthPrices::default(),
        }
    }
}

impl AttachmentPrices {
    pub fn disk(&self, t: DiskType) -> DiskPrice {
        self.disks
            .iter()
            .find(|(d, _)| *d == t)
            .map(|&(_, p)| p)
            .unwrap_or(DiskPrice {
                gib_hourly: 0,
                gib_monthly: 0,
            })
    }

    /// The rates of an instance launched with `spec`.
    pub fn rates(&self, spec: &Attachments) -> AttachRates {
        let mut r = AttachRates::default();
        for d in spec.system_disk.iter().chain(&spec.data_disks) {
            let p = self.disk(d.disk_type);
            r.disk_hourly += p.gib_hourly * d.disk_size as u64;
            r.disk_monthly += p.gib_monthly * d.disk_size as u64;
        }
        if let Some(net) = &spec.internet {
            let bw = &self.bandwidth;
            // The postpaid bandwidth price is also what the used network of a returned
            // prepaid instance is valued at (退费说明: 按量计费主机每小时带宽费用 × 使用时长).
            r.bw_hourly_value = bw.hourly(net.max_bandwidth_out);
            match net.charge {
                InternetChargeType::BandwidthPostpaidByHour => r.bw_hourly = r.bw_hourly_value,
                InternetChargeType::BandwidthPrepaid => {
                    r.bw_monthly = bw.monthly(net.max_bandwidth_out)
                }
                InternetChargeType::TrafficPostpaidByHour => {
                    // micro-CNY per GB × milli-GB per hour / 1000.
                    r.traffic_hourly = bw.per_gb * net.traffic_mgb_per_hour / 1000;
                }
            }
        }
        r
    }
}

/// A disk of a RunInstances (`SystemDisk`, `DataDisks[]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct DiskSpec {
    #[serde(rename = "DiskType")]
    pub disk_type: DiskType,
    /// GiB.
    #[serde(rename = "DiskSize")]
    pub disk_size: u32,
}

/// `InternetAccessible` of a RunInstances.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct InternetSpec {
    #[serde(rename = "InternetChargeType")]
    pub charge: InternetChargeType,
    /// `InternetMaxBandwidthOut`, Mbps.
    #[serde(rename = "InternetMaxBandwidthOut")]
    pub max_bandwidth_out: u32,
    /// TRAFFIC_POSTPAID_BY_HOUR: outbound traffic while RUNNING, thousandths of a GB per
    /// hour (ASSUMPTION: not a CVM field; a simulated instance moves no bytes).
    #[serde(skip)]
    pub traffic_mgb_per_hour: u64,
}

/// The disks and public network a RunInstances launches an instance with. Without a
/// `system_disk`, the instance price is taken to cover the system disk (the catalogue's
/// `disk_gib` is then what a STOP_CHARGING instance still pays).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Attachments {
    pub system_disk: Option<DiskSpec>,
    pub data_disks: Vec<DiskSpec>,
    pub internet: Option<InternetSpec>,
}

impl Attachments {
    pub fn is_empty(&self) -> bool {
        self.system_disk.is_none() && self.data_disks.is_empty() && self.internet.is_none()
    }
}

/// Rates of an instance's attachments, micro-CNY.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AttachRates {
    /// Disks, per hour postpaid (charged in every billed state, stopped included).
    pub disk_hourly: u64,
    /// Disks, per month prepaid before the disk ladder.
    pub disk_monthly: u64,
    /// BANDWIDTH_POSTPAID_BY_HOUR per hour (every billed state, stopped included).
    pub bw_hourly: u64,
    /// The postpaid hourly price of the bandwidth, whatever its charge type: the value of the
    /// network used by a returned prepaid instance.
    pub bw_hourly_value: u64,
    /// BANDWIDTH_PREPAID per month.
    pub bw_monthly: u64,
    /// TRAFFIC_POSTPAID_BY_HOUR per RUNNING hour.
    pub traffic_hourly: u64,
}

/// What a charge is for: the instance (CPU and memory), its disks, its public network.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum Item {
    #[default]
    Compute,
    Disk,
    Network,
}

/// An amount split by [`Item`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Split {
    pub compute: Money,
    pub disk: Money,
    pub network: Money,
}

impl Split {
    pub fn total(&self) -> Money {
        self.compute + self.disk + self.network
    }
    pub fn get(&self, i: Item) -> Money {
        match i {
            Item::Compute => self.compute,
            Item::Disk => self.disk,
            Item::Network => self.network,
        }
    }
    fn map(self, f: impl Fn(Money) -> Money) -> Split {
        Split {
            compute: f(self.compute),
            disk: f(self.disk),
            network: f(self.network),
        }
    }
    pub fn minus(self, o: Split) -> Split {
        Split {
            compute: self.compute - o.compute,
            disk: self.disk - o.disk,
            network: self.network - o.network,
        }
    }
    pub fn plus(self, o: Split) -> Split {
        Split {
            compute: self.compute + o.compute,
            disk: self.disk + o.disk,
            network: self.network + o.network,
        }
    }
}

/// One cent (0.01 CNY) in money units.
pub const CENT: i128 = UNITS_PER_CNY / 100;

/// Rounds to 0.01, halves away from zero ("四舍五入，精确到小数点后2位").
///
/// Every hourly settlement rounds twice, millions of times in a run, and a 128-bit division is
/// a library call (`__modti3`), while a 64-bit division by a constant is a multiply and a
/// shift. Amounts up to about 51,000 CNY fit in 64 bits, so the exact 128-bit path is only the
/// fallback; both give the same result for every value (tested).
#[inline]
pub fn round_cents(m: Money) -> Money {
    const C: u64 = CENT as u64;
    let a = m.0.unsigned_abs();
    let r = match u64::try_from(a) {
        Ok(a) if a <= u64::MAX - C / 2 => ((a + C / 2) / C * C) as u128,
        _ => (a + (C / 2) as u128) / C as u128 * C as u128,
    };
    // r ≤ |m| + CENT / 2: an i128 with either sign for any amount below 10^23 CNY.
    let r = r as i128;
    Money(if m.0 < 0 { -r } else { r })
}

/// What a non-negative amount holds beyond its last whole cent, in units: the 64-bit fast
/// path of `rem_euclid(CENT)` (see [`round_cents`]).
#[inline]
pub fn beyond_cents(units: i128) -> u64 {
    debug_assert!(units >= 0);
    match u64::try_from(units) {
        Ok(u) => u % CENT as u64,
        Err(_) => units.rem_euclid(CENT) as u64,
    }
}

/// `monthly × months × percent / 100`, exact.
pub fn months_at(monthly_micro: u64, months: u32, percent: u32) -> Money {
    // One micro-CNY is UNITS_PER_CNY / 1e6 units, a multiple of 100: the percent divides
    // exactly.
    Money(monthly_micro as i128 * months as i128 * percent as i128 * (UNITS_PER_CNY / 100_000_000))
}

/// Prices that make up a prepaid order of one instance: the type's monthly price and ladder,
/// and its attachments.
#[derive(Clone, Copy, Debug)]
pub struct OrderPrices<'a> {
    pub monthly: u64,
    pub postpaid_hourly: u64,
    pub ladder: &'a Ladder,
    pub attach: AttachRates,
    pub disk_ladder: &'a Ladder,
}

/// The price of `months` prepaid months: the instance at its family's ladder, disks at the
/// disk ladder, prepaid bandwidth undiscounted; each item rounded to 0.01 when `cents`.
pub fn purchase(p: &OrderPrices<'_>, months: u32, cents: bool) -> Split {
    let s = Split {
        compute: months_at(p.monthly, months, p.ladder.percent(months)),
        disk: months_at(p.attach.disk_monthly, months, p.disk_ladder.percent(months)),
        network: months_at(p.attach.bw_monthly, months, 100),
    };
    if cents { s.map(round_cents) } else { s }
}

/// The value consumed by `used_ms` of a prepaid order (退还包年包月实例退费说明, CVM 普通自助退还
/// 规则): the whole months used at the monthly price with the discount of that many months,
/// the rest at the postpaid price, to the millisecond; the network at the postpaid bandwidth
/// price for all the time used (nothing for traffic-billed network, which is charged hourly).
pub fn consumed(p: &OrderPrices<'_>, used_ms: u64, month_ms: u64) -> Split {
    let months = (used_ms / month_ms) as u32;
    let rest = used_ms - months as u64 * month_ms;
    let ladder_months =
        |monthly: u64, ladder: &Ladder| months_at(monthly, months, ladder.percent(months));
    let net_rate = if p.attach.bw_monthly > 0 {
        p.attach.bw_hourly_value
    } else {
        0
    };
    Split {
        compute: ladder_months(p.monthly, p.ladder) + Money::for_time(p.postpaid_hourly, rest, 100),
        disk: ladder_months(p.attach.disk_monthly, p.disk_ladder)
            + Money::for_time(p.attach.disk_hourly, rest, 100),
        network: Money::for_time(net_rate, used_ms, 100),
    }
}

/// Refund of an ordinary return, per item: paid − consumed, each at least 0 (退款金额 ≤ 0
/// 按 0 计算), rounded to 0.01 when `cents`.
pub fn ordinary_refund(paid: Split, consumed: Split, cents: bool) -> Split {
    let r = paid.minus(consumed).map(|m| m.max(Money::ZERO));
    if cents { r.map(round_cents) } else { r }
}

/// The fee of a prepaid upgrade (实例调整配置费用说明): the monthly price difference for the
/// time left to expiry, `Δmonthly × left / month × discount`, the discount matched downward
/// to the whole months left. The document divides days by 365/12; the simulator's month is
/// 30 days, so an upgrade for a whole period costs exactly the difference of the two prices.
pub fn upgrade_fee(
    old_monthly: u64,
    new_monthly: u64,
    ladder: &Ladder,
    left_ms: u64,
    month_ms: u64,
    cents: bool,
) -> Money {
    let diff = new_monthly.saturating_sub(old_monthly) as i128;
    let pct = ladder.percent((left_ms / month_ms) as u32) as i128;
    // diff micro × left/month × pct/100, in money units (1 micro = UNITS_PER_CNY / 1e6).
    let units = diff * (UNITS_PER_CNY / 1_000_000) * left_ms as i128 * pct / 100 / month_ms as i128;
    let m = Money(units);
    if cents { round_cents(m) } else { m }
}

/// What a new purchase of `monthly` for `left_ms` costs (the 新规格新购费用 of a downgrade):
/// the monthly price pro rata, with the discount matched downward to the whole months left.
pub fn prorated_purchase(
    monthly: u64,
    ladder: &Ladder,
    left_ms: u64,
    month_ms: u64,
    cents: bool,
) -> Money {
    upgrade_fee(0, monthly, ladder, left_ms, month_ms, cents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ladders_match_downward() {
        let s5 = Ladder::published_s5();
        assert_eq!(
            [1, 2, 3, 5, 6, 11, 12, 24, 36, 48, 60].map(|m| s5.percent(m)),
            [87, 87, 78, 78, 73, 73, 69, 55, 41, 33, 27]
        );
        let o = Ladder::published_others();
        assert_eq!(
            [1, 5, 6, 11, 12, 24, 36, 48, 60].map(|m| o.percent(m)),
            [100, 100, 88, 88, 83, 70, 50, 50, 50]
        );
        assert_eq!(Ladder::published_for_family("SA2"), o);
        assert_eq!(s5.percent(0), 100);
        assert_eq!(Ladder::parse("3:78; 1:87").unwrap().percent(4), 78);
        assert!(Ladder::parse("1:0").is_err() && Ladder::parse("x").is_err());
    }

    #[test]
    fn cents_round_half_away_from_zero() {
        let c = |micro: i128| round_cents(Money::from_micros(micro));
        assert_eq!(c(4_999), Money::ZERO);
        assert_eq!(c(5_000), Money::from_micros(10_000));
        assert_eq!(c(-5_000), Money::from_micros(-10_000));
        assert_eq!(c(1_234_567), Money::from_micros(1_230_000));
    }

    /// The exact 128-bit rounding the 64-bit fast path must agree with.
    fn round_cents_exact(m: Money) -> Money {
        let a = m.0.abs();
        let r = (a + CENT / 2) / CENT * CENT;
        Money(if m.0 < 0 { -r } else { r })
    }

    #[test]
    fn cents_fast_paths_at_their_edges() {
        let edge = (u64::MAX - CENT as u64 / 2) as i128;
        for v in [
            0,
            1,
            CENT / 2 - 1,
            CENT / 2,
            CENT - 1,
            CENT,
            edge - 1,
            edge,
            edge + 1,
            u64::MAX as i128,
            u64::MAX as i128 + 1,
            i128::MAX / 4,
        ] {
            for m in [Money(v), Money(-v)] {
                assert_eq!(round_cents(m), round_cents_exact(m), "{v}");
            }
            assert_eq!(beyond_cents(v), v.rem_euclid(CENT) as u64, "{v}");
        }
    }

    proptest::proptest! {
        #[test]
        fn cents_fast_paths_are_exact(v in -(1i128 << 80)..(1i128 << 80), small in proptest::num::i64::ANY) {
            proptest::prop_assert_eq!(round_cents(Money(v)), round_cents_exact(Money(v)));
            let s = Money(small as i128);
            proptest::prop_assert_eq!(round_cents(s), round_cents_exact(s));
            proptest::prop_assert_eq!(beyond_cents(v.abs()), v.abs().rem_euclid(CENT) as u64);
        }
    }

    #[test]
    fn bandwidth_tiers() {
        let b = BandwidthPrices::default();
        // 独享型公网网络计费: 10 Mbps for an hour = 5 × 0.063 + 5 × 0.25 = 1.565.
        assert_eq!(b.hourly(10), 1_565_000);
        // 5 Mbps a month prepaid = 2 × 20 + 3 × 25 = 115.
        assert_eq!(b.monthly(5), 115_000_000);
        assert_eq!(b.monthly(6), 205_000_000);
    }

    #[test]
    fn upgrade_example_of_the_document() {
        // 实例调整配置费用说明: 65 → 218 a month, 244 days left at 88%:
        // (218 − 65) × 244 / (365/12) × 0.88 = 1080.07. With a 30-day month instead of
        // 365/12 days: 153 × 244/30 × 0.88 = 1095.072 → 1095.07.
        let month = 30 * 86_400_000;
        let fee = upgrade_fee(
            65_000_000,
            218_000_000,
            &Ladder::published_others(),
            244 * 86_400_000,
            month,
            true,
        );
        assert_eq!(fee, Money::from_micros(1_095_070_000));
    }
}
