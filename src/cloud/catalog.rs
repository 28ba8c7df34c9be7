//! What can be bought where: regions, availability zones (with CVM's real numeric ids), instance
//! types named by the CVM rule, and their prices.
//!
//! Runtime structures refer to zones and types by small indices ([`ZoneIdx`], [`TypeIdx`]) so
//! the hot path never compares or hashes strings.

use std::fmt;

use serde::Serialize;

use super::pricing::{AttachmentPrices, Ladder};

/// Index of a zone in the [`Catalog`].
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct ZoneIdx(pub u16);
/// Index of an instance type in the [`Catalog`].
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct TypeIdx(pub u16);

/// The real numeric ZoneIds CVM uses for the zones named in its documentation.
pub const KNOWN_ZONES: &[(&str, u32)] = &[
    ("ap-guangzhou-3", 100003),
    ("ap-guangzhou-4", 100004),
    ("ap-guangzhou-6", 100006),
    ("ap-guangzhou-7", 100007),
    ("ap-shanghai-2", 200002),
    ("ap-shanghai-4", 200004),
    ("ap-shanghai-5", 200005),
    ("ap-beijing-6", 800006),
    ("ap-beijing-7", 800007),
    ("ap-nanjing-1", 330001),
    ("ap-chengdu-1", 160001),
    ("ap-hongkong-1", 300001),
    ("ap-singapore-1", 900001),
    ("na-siliconvalley-1", 150001),
    ("eu-frankfurt-1", 170001),
    ("ap-seoul-1", 180001),
];

/// CVM's numeric id for a documented zone name.
pub fn known_zone_id(name: &str) -> Option<u32> {
    KNOWN_ZONES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, id)| id)
}

/// The region of a zone name: everything before the last `-<number>` (`ap-guangzhou-3` →
/// `ap-guangzhou`).
pub fn region_of_zone(name: &str) -> Option<&str> {
    let (region, num) = name.rsplit_once('-')?;
    if region.is_empty() || num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(region)
}

#[derive(Clone, Debug, Serialize)]
pub struct Zone {
    pub name: String,
    pub zone_id: u32,
    pub region: String,
}

/// An instance type: `<Family>.<Size><MemGiB>`, e.g. `S5.LARGE8` is 4 vCPU and 8 GiB.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InstanceType {
    pub name: String,
    pub family: String,
    pub vcpus: u32,
    pub memory_gib: u32,
}

/// Parses a type name by the CVM rule: SMALL = 1 vCPU, MEDIUM = 2, LARGE = 4, `n`XLARGE = 4n;
/// the trailing number is memory in GiB.
pub fn parse_instance_type(name: &str) -> Result<InstanceType, String> {
    let bad = |why: &str| {
        format!(
            "`{name}` is not a CVM instance type name ({why}); expected <Family>.<Size><MemGiB> such as S5.MEDIUM4 or S5.2XLARGE16"
        )
    };
    let (family, rest) = name.split_once('.').ok_or_else(|| bad("no `.`"))?;
    if family.is_empty() || !family.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(bad("bad family"));
    }
    let digits_at = rest
        .rfind(|c: char| !c.is_ascii_digit())
        .map(|i| i + 1)
        .ok_or_else(|| bad("no size"))?;
    let (size, mem) = rest.split_at(digits_at);
    let memory_gib: u32 = mem.parse().map_err(|_| bad("no memory figure"))?;
    let vcpus = match size {
        "SMALL" => 1,
        "MEDIUM" => 2,
        "LARGE" => 4,
        "XLARGE" => 4,
        s if s.ends_with("XLARGE") => {
            let n: u32 = s[..s.len() - 6].parse().map_err(|_| bad("bad size"))?;
            if n == 0 {
                return Err(bad("zero size"));
            }
            4 * n
        }
        _ => return Err(bad("unknown size")),
    };
    if memory_gib == 0 {
        return Err(bad("zero memory"));
    }
    Ok(InstanceType {
        name: name.to_string(),
        family: family.to_string(),
        vcpus,
        memory_gib,
    })
}

/// How an instance is paid for (`InstanceChargeType`).
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, serde::Deserialize,
)]
pub enum ChargeType {
    #[serde(rename = "PREPAID")]
    Prepaid,
    #[serde(rename = "POSTPAID_BY_HOUR")]
    PostpaidByHour,
    #[serde(rename = "SPOTPAID")]
    Spotpaid,
}

impl ChargeType {
    pub const ALL: [ChargeType; 3] = [
        ChargeType::Prepaid,
        ChargeType::PostpaidByHour,
        ChargeType::Spotpaid,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            ChargeType::Prepaid => "PREPAID",
            ChargeType::PostpaidByHour => "POSTPAID_BY_HOUR",
            ChargeType::Spotpaid => "SPOTPAID",
        }
    }
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for ChargeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Prices of one instance type, in micro-CNY so that sums are exact integers.
#[derive(Clone, Debug, PartialEq)]
pub struct TypePrice {
    /// POSTPAID_BY_HOUR price per hour (tier 1).
    pub postpaid_hourly: u64,
    /// PREPAID price of one month, before the period discount.
    pub prepaid_monthly: u64,
    /// Whether the postpaid price falls with accumulated hours (tiers 1.0 / 0.5 / 0.34).
    pub tiered: bool,
    /// Prepaid duration discount of the type's family (价格总览), replaceable per family by the
    /// price file or `[billing]`.
    pub ladder: Ladder,
}

/// Everything the simulated account can buy, with prices. Zones and types are in scenario order.
#[derive(Clone, Debug)]
pub struct Catalog {
    pub zones: Vec<Zone>,
    pub types: Vec<InstanceType>,
    pub prices: Vec<TypePrice>,
    /// Spot market price as a fraction of the postpaid price.
    pub spot_fraction: f64,
    /// Disk price per GiB-hour in micro-CNY, still charged while STOPPED with STOP_CHARGING.
    pub disk_gib_hourly: u64,
    /// System disk size every instance carries, GiB.
    pub disk_gib: u32,
    /// The ISO currency of all prices (CNY on the Chinese site).
    pub currency: String,
    /// Disk and public-network prices (illustrative unless the scenario gives its own).
    pub attach: AttachmentPrices,
}

impl Catalog {
    pub fn zone(&self, z: ZoneIdx) -> &Zone {
        &self.zones[z.0 as usize]
    }
    pub fn itype(&self, t: TypeIdx) -> &InstanceType {
        &self.types[t.0 as usize]
    }
    pub fn price(&self, t: TypeIdx) -> &TypePrice {
        &self.prices[t.0 as usize]
    }
    pub fn zone_index(&self, name: &str) -> Option<ZoneIdx> {
        self.zones
            .iter()
            .position(|z| z.name == name)
            .map(|i| ZoneIdx(i as u16))
    }
    pub fn type_index(&self, name: &str) -> Option<TypeIdx> {
        self.types
            .iter()
            .position(|t| t.name == name)
            .map(|i| TypeIdx(i as u16))
    }
    /// Spot market price per hour, micro-CNY.
    pub fn spot_hourly(&self, t: TypeIdx) -> u64 {
        (self.price(t).postpaid_hourly as f64 * self.spot_fraction).round() as u64
    }
}

/// The **illustrative** price list: no public CVM price table exists, so these figures are made
/// up to respect only the documented ratios. Per family, micro-CNY per vCPU-hour and per
/// GiB-hour of the postpaid price, and whether the postpaid price is tiered (CVM tiers some
/// types and not others; here the older S5 family is). Replace them with real prices via the
/// scenario's `[prices]`.
pub const ILLUSTRATIVE_FAMILY_RATES: &[(&str, u64, u64, bool)] = &[
    ("S5", 60_000, 30_000, true),
    ("S6", 55_000, 28_000, false),
    ("SA2", 50_000, 25_000, false),
    ("C5", 80_000, 30_000, false),
    ("M5", 50_000, 35_000, false),
];
/// Rate for families not in the list above (untiered).
pub const ILLUSTRATIVE_DEFAULT_RATE: (u64, u64) = (65_000, 32_000);
/// Prepaid monthly list price as hours of the postpaid price: 730 h × 0.7 (a month bought is
/// cheaper than running postpaid all month; the family's published ladder discounts it
/// further).
pub const ILLUSTRATIVE_PREPAID_HOURS_PER_MONTH: f64 = 511.0;

/// Illustrative price of a type from its family and size.
pub fn illustrative_price(t: &InstanceType) -> TypePrice {
    let (cpu, mem, tiered) = ILLUSTRATIVE_FAMILY_RATES
        .iter()
        .find(|(f, _, _, _)| *f == t.family)
        .map(|&(_, c, m, tiered)| (c, m, tiered))
        .unwrap_or((
            ILLUSTRATIVE_DEFAULT_RATE.0,
            ILLUSTRATIVE_DEFAULT_RATE.1,
            false,
        ));
    let hourly = cpu * t.vcpus as u64 + mem * t.memory_gib as u64;
    TypePrice {
        postpaid_hourly: hourly,
        prepaid_monthly: (hourly as f64 * ILLUSTRATIVE_PREPAID_HOURS_PER_MONTH).round() as u64,
        tiered,
        ladder: Ladder::published_for_family(&t.family),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_follow_the_cvm_rule() {
        let t = |n| parse_instance_type(n).unwrap();
        assert_eq!((t("S5.SMALL2").vcpus, t("S5.SMALL2").memory_gib), (1, 2));
        assert_eq!((t("S5.MEDIUM4").vcpus, t("S5.MEDIUM4").memory_gib), (2, 4));
        assert_eq!((t("S5.LARGE8").vcpus, t("S5.LARGE8").memory_gib), (4, 8));
        assert_eq!(
            (t("S5.2XLARGE16").vcpus, t("S5.2XLARGE16").memory_gib),
            (8, 16)
        );
        assert_eq!(
            (t("S5.4XLARGE32").vcpus, t("S5.4XLARGE32").memory_gib),
            (16, 32)
        );
        assert_eq!((t("M5.LARGE32").vcpus, t("M5.LARGE32").memory_gib), (4, 32));
        assert_eq!(t("SA2.MEDIUM4").family, "SA2");
        for bad in [
            "S5",
            "S5.HUGE4",
            "S5.MEDIUM",
            ".MEDIUM4",
            "S5.0XLARGE8",
            "S5.MEDIUM0",
        ] {
            assert!(parse_instance_type(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn zones_and_regions() {
        assert_eq!(known_zone_id("ap-guangzhou-3"), Some(100003));
        assert_eq!(known_zone_id("na-siliconvalley-1"), Some(150001));
        assert_eq!(region_of_zone("ap-guangzhou-3"), Some("ap-guangzhou"));
        assert_eq!(region_of_zone("eu-frankfurt-1"), Some("eu-frankfurt"));
        assert_eq!(region_of_zone("nozone"), None);
    }
}
