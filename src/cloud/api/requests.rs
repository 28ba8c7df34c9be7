//! The API's vocabulary: actions, requests, responses and the views reads return.

use crate::cloud::catalog::{ChargeType, TypeIdx, ZoneIdx};
use crate::cloud::instance::{InstanceId, OperationState, RenewFlag, StoppedMode};
use crate::cloud::state::InstanceState;

/// CVM's API actions.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum Action {
    RunInstances,
    StartInstances,
    StopInstances,
    RebootInstances,
    TerminateInstances,
    ResetInstancesType,
    RenewInstances,
    ModifyInstancesChargeType,
    DescribeInstances,
    DescribeAccountQuota,
    DescribeZoneInstanceConfigInfos,
    DescribeInstancesStatus,
    ModifyInstancesRenewFlag,
    DescribeZones,
    DescribeRegions,
    DescribeInstanceTypeConfigs,
    InquiryPriceRunInstances,
    InquiryPriceRenewInstances,
    InquiryPriceResetInstancesType,
    InquiryPriceTerminateInstances,
    InquiryPriceModifyInstancesChargeType,
}

impl Action {
    pub const ALL: [Action; 21] = [
        Action::RunInstances,
        Action::StartInstances,
        Action::StopInstances,
        Action::RebootInstances,
        Action::TerminateInstances,
        Action::ResetInstancesType,
        Action::RenewInstances,
        Action::ModifyInstancesChargeType,
        Action::DescribeInstances,
        Action::DescribeAccountQuota,
        Action::DescribeZoneInstanceConfigInfos,
        Action::DescribeInstancesStatus,
        Action::ModifyInstancesRenewFlag,
        Action::DescribeZones,
        Action::DescribeRegions,
        Action::DescribeInstanceTypeConfigs,
        Action::InquiryPriceRunInstances,
        Action::InquiryPriceRenewInstances,
        Action::InquiryPriceResetInstancesType,
        Action::InquiryPriceTerminateInstances,
        Action::InquiryPriceModifyInstancesChargeType,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Action::RunInstances => "RunInstances",
            Action::StartInstances => "StartInstances",
            Action::StopInstances => "StopInstances",
            Action::RebootInstances => "RebootInstances",
            Action::TerminateInstances => "TerminateInstances",
            Action::ResetInstancesType => "ResetInstancesType",
            Action::RenewInstances => "RenewInstances",
            Action::ModifyInstancesChargeType => "ModifyInstancesChargeType",
            Action::DescribeInstances => "DescribeInstances",
            Action::DescribeAccountQuota => "DescribeAccountQuota",
            Action::DescribeZoneInstanceConfigInfos => "DescribeZoneInstanceConfigInfos",
            Action::DescribeInstancesStatus => "DescribeInstancesStatus",
            Action::ModifyInstancesRenewFlag => "ModifyInstancesRenewFlag",
            Action::DescribeZones => "DescribeZones",
            Action::DescribeRegions => "DescribeRegions",
            Action::DescribeInstanceTypeConfigs => "DescribeInstanceTypeConfigs",
            Action::InquiryPriceRunInstances => "InquiryPriceRunInstances",
            Action::InquiryPriceRenewInstances => "InquiryPriceRenewInstances",
            Action::InquiryPriceResetInstancesType => "InquiryPriceResetInstancesType",
            Action::InquiryPriceTerminateInstances => "InquiryPriceTerminateInstances",
            Action::InquiryPriceModifyInstancesChargeType => {
                "InquiryPriceModifyInstancesChargeType"
            }
        }
    }
    pub fn parse(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == s)
    }
    pub fn index(self) -> usize {
        self as usize
    }
}

/// RunInstances parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct RunInstances {
    pub zone: ZoneIdx,
    pub itype: TypeIdx,
    pub charge: ChargeType,
    /// InstanceCount.
    pub count: u32,
    /// MinCount: accept a partial delivery of at least this many.
    pub min_count: Option<u32>,
    pub dry_run: bool,
    /// PREPAID period in months.
    pub period_months: u32,
    /// PREPAID `RenewFlag`.
    pub renew_flag: RenewFlag,
    /// SPOTPAID `MaxPrice` (the bid), micro-CNY per hour; `None` bids the market price.
    pub max_price: Option<u64>,
    /// `ClientToken`: a call repeating an accepted call's token gets that call's
    /// `InstanceIdSet` back and creates nothing.
    pub client_token: Option<String>,
    /// `SystemDisk`, `DataDisks`, `InternetAccessible`; `None`: no disks beyond what the
    /// instance price covers, no public network.
    pub attach: Option<std::sync::Arc<crate::cloud::pricing::Attachments>>,
}

/// The ids a RunInstances answers with.
pub type LaunchedIds = smallvec::SmallVec<[InstanceId; 2]>;

/// Fleet handles of the instances a RunInstances created.
pub type LaunchedKeys = smallvec::SmallVec<[crate::cloud::fleet::InstanceKey; 2]>;

/// The instances a request names: inline when it names one, as the simulated clients' calls
/// nearly always do (a `Vec` was a heap allocation and a free for every TerminateInstances: 211,021
/// of the 249,305 allocations of the 30k model's main thread over 48 h).
pub type InstanceRefs = smallvec::SmallVec<[InstanceRef; 1]>;

/// An instance named in a call: already parsed (clients that got it from RunInstances), or as
/// text (scripts), which the control plane checks for `InvalidInstanceId.Malformed`.
#[derive(Clone, Debug, PartialEq)]
pub enum InstanceRef {
    Id(InstanceId),
    Text(String),
    /// An id together with the fleet slot the caller saw it in: the simulated clients keep
    /// the handle so the control plane finds the instance without an id lookup (the hot path
    /// of a large run). A handle gone stale means the instance is gone: NotFound, as for an id.
    Known(InstanceId, crate::cloud::fleet::InstanceKey),
}

impl InstanceRef {
    /// The id named, if it parses.
    pub fn id(&self) -> Option<InstanceId> {
        match self {
            InstanceRef::Id(id) | InstanceRef::Known(id, _) => Some(*id),
            InstanceRef::Text(t) => InstanceId::parse(t),
        }
    }
}

impl From<InstanceId> for InstanceRef {
    fn from(id: InstanceId) -> Self {
        InstanceRef::Id(id)
    }
}

/// A DescribeInstances filter: `zone`, `instance-state`, `instance-charge-type`,
/// `instance-type`, `instance-id`; the values are alternatives.
#[derive(Clone, Debug, PartialEq)]
pub struct Filter {
    pub name: String,
    pub values: Vec<String>,
}

/// A call to the API.
#[derive(Clone, Debug)]
pub enum Request {
    RunInstances(RunInstances),
    StartInstances {
        ids: InstanceRefs,
    },
    StopInstances {
        ids: InstanceRefs,
        stopped_mode: StoppedMode,
    },
    RebootInstances {
        ids: InstanceRefs,
    },
    TerminateInstances {
        ids: InstanceRefs,
    },
    ResetInstancesType {
        ids: InstanceRefs,
        itype: TypeIdx,
        force_stop: bool,
    },
    RenewInstances {
        ids: InstanceRefs,
        period_months: u32,
    },
    ModifyInstancesChargeType {
        ids: InstanceRefs,
        charge: ChargeType,
        period_months: u32,
    },
    DescribeInstances {
        ids: InstanceRefs,
        filters: Vec<Filter>,
        offset: u32,
        limit: Option<u32>,
    },
    DescribeAccountQuota {
        zone: Option<ZoneIdx>,
    },
    DescribeZoneInstanceConfigInfos {
        zone: Option<ZoneIdx>,
    },
    /// `InstanceIds` (none: every instance, paged), in `zones` only (empty: all zones).
    DescribeInstancesStatus {
        ids: InstanceRefs,
        zones: Vec<ZoneIdx>,
        offset: u32,
        limit: Option<u32>,
    },
    ModifyInstancesRenewFlag {
        ids: InstanceRefs,
        flag: RenewFlag,
    },
    DescribeZones,
    DescribeRegions,
    /// The types sold in one zone, or in every zone.
    DescribeInstanceTypeConfigs {
        zone: Option<ZoneIdx>,
    },
    /// What a RunInstances with these parameters would charge (its `DryRun`, `ClientToken`
    /// and `MinCount` play no part in a price).
    InquiryPriceRunInstances(RunInstances),
    /// What renewing the instances for `period_months` would charge.
    InquiryPriceRenewInstances {
        ids: InstanceRefs,
        period_months: u32,
    },
    /// What changing one instance's type to `itype` would charge (or refund) now.
    InquiryPriceResetInstancesType {
        ids: InstanceRefs,
        itype: TypeIdx,
    },
    /// What returning the instances now would refund.
    InquiryPriceTerminateInstances {
        ids: InstanceRefs,
    },
    /// What changing the instances' charge type would charge (or refund) now.
    InquiryPriceModifyInstancesChargeType {
        ids: InstanceRefs,
        charge: ChargeType,
        period_months: u32,
    },
}

impl Request {
    pub fn action(&self) -> Action {
        match self {
            Request::RunInstances(_) => Action::RunInstances,
            Request::StartInstances { .. } => Action::StartInstances,
            Request::StopInstances { .. } => Action::StopInstances,
            Request::RebootInstances { .. } => Action::RebootInstances,
            Request::TerminateInstances { .. } => Action::TerminateInstances,
            Request::ResetInstancesType { .. } => Action::ResetInstancesType,
            Request::RenewInstances { .. } => Action::RenewInstances,
            Request::ModifyInstancesChargeType { .. } => Action::ModifyInstancesChargeType,
            Request::DescribeInstances { .. } => Action::DescribeInstances,
            Request::DescribeAccountQuota { .. } => Action::DescribeAccountQuota,
            Request::DescribeZoneInstanceConfigInfos { .. } => {
                Action::DescribeZoneInstanceConfigInfos
            }
            Request::DescribeInstancesStatus { .. } => Action::DescribeInstancesStatus,
            Request::ModifyInstancesRenewFlag { .. } => Action::ModifyInstancesRenewFlag,
            Request::DescribeZones => Action::DescribeZones,
            Request::DescribeRegions => Action::DescribeRegions,
            Request::DescribeInstanceTypeConfigs { .. } => Action::DescribeInstanceTypeConfigs,
            Request::InquiryPriceRunInstances(_) => Action::InquiryPriceRunInstances,
            Request::InquiryPriceRenewInstances { .. } => Action::InquiryPriceRenewInstances,
            Request::InquiryPriceResetInstancesType { .. } => {
                Action::InquiryPriceResetInstancesType
            }
            Request::InquiryPriceTerminateInstances { .. } => {
                Action::InquiryPriceTerminateInstances
            }
            Request::InquiryPriceModifyInstancesChargeType { .. } => {
                Action::InquiryPriceModifyInstancesChargeType
            }
        }
    }
}

/// One instance as DescribeInstances lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct InstanceView {
    pub id: InstanceId,
    pub zone: ZoneIdx,
    pub itype: TypeIdx,
    pub charge: ChargeType,
    pub state: InstanceState,
    pub latest_operation: Option<&'static str>,
    pub latest_operation_state: Option<OperationState>,
}

/// One zone and charge type of DescribeAccountQuota.
#[derive(Clone, Debug, PartialEq)]
pub struct QuotaView {
    pub zone: ZoneIdx,
    pub charge: ChargeType,
    pub used: u32,
    pub remaining: Option<u32>,
    pub total: Option<u32>,
    pub once: Option<u32>,
}

/// One zone and type of DescribeZoneInstanceConfigInfos.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigView {
    pub zone: ZoneIdx,
    pub itype: TypeIdx,
    /// `SELL` or `SOLD_OUT`.
    pub status: &'static str,
}

/// One zone of DescribeZones.
#[derive(Clone, Debug, PartialEq)]
pub struct ZoneView {
    pub zone: ZoneIdx,
    /// `ZoneState`: AVAILABLE, or UNAVAILABLE while the zone is in an outage.
    pub available: bool,
}

/// A successful answer.
#[derive(Clone, Debug, PartialEq)]
pub enum Response {
    /// RunInstances: the `InstanceIdSet` (inline up to two: no allocation for the usual
    /// launch), and the fleet handles of the instances this call created, in the same order,
    /// so a client that keeps handles needs no id lookups (empty when a ClientToken replays
    /// an earlier answer: nothing was created).
    Launched {
        ids: LaunchedIds,
        keys: LaunchedKeys,
    },
    /// Any other mutating call: accepted, the work goes on asynchronously.
    Accepted,
    /// DescribeInstances: `TotalCount` and one page.
    Instances {
        total: u32,
        items: Vec<InstanceView>,
    },
    Quotas(Vec<QuotaView>),
    Configs(Vec<ConfigView>),
    /// DescribeInstancesStatus: `TotalCount` and one page of (id, state).
    Statuses {
        total: u32,
        items: Vec<(InstanceId, InstanceState)>,
    },
    Zones(Vec<ZoneView>),
    /// DescribeRegions: the account's regions, sorted.
    Regions(Vec<String>),
    /// DescribeInstanceTypeConfigs: the types sold, per zone.
    TypeConfigs(Vec<(ZoneIdx, TypeIdx)>),
    /// InquiryPriceRunInstances, InquiryPriceRenewInstances, InquiryPriceResetInstancesType,
    /// InquiryPriceModifyInstancesChargeType: CVM's `Price`.
    Price(Box<PriceQuote>),
    /// InquiryPriceTerminateInstances: `InstanceRefundsSet`, in call order.
    Refunds(Vec<RefundQuote>),
}

/// CVM's `Price`: the instance (with its disks, which CVM prices with the instance) and its
/// public bandwidth (`None`: no public network, or the action does not change its price).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PriceQuote {
    pub instance: ItemQuote,
    pub bandwidth: Option<ItemQuote>,
}

/// CVM's `ItemPrice`: what is paid now (prepaid: `OriginalPrice` before the duration discount,
/// `DiscountPrice` charged; negative: money back) and what is billed afterwards per unit
/// (postpaid: `UnitPrice` list, `UnitPriceDiscount` billed, per `ChargeUnit`; a tiered type
/// also has the prices from its 96th and 360th billed hour on).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ItemQuote {
    pub original_price: Option<crate::cloud::money::Money>,
    pub discount_price: Option<crate::cloud::money::Money>,
    pub unit_price: Option<crate::cloud::money::Money>,
    pub unit_price_discount: Option<crate::cloud::money::Money>,
    /// `HOUR` or `GB`.
    pub charge_unit: Option<&'static str>,
    /// From the 96th billed hour (tiered types only): (list, billed).
    pub second_step: Option<(crate::cloud::money::Money, crate::cloud::money::Money)>,
    /// From the 360th billed hour (tiered types only): (list, billed).
    pub third_step: Option<(crate::cloud::money::Money, crate::cloud::money::Money)>,
}

/// One instance of CVM's `InstanceRefundsSet`.
#[derive(Clone, Debug, PartialEq)]
pub struct RefundQuote {
    pub id: InstanceId,
    /// `Refunds`: what the return gives back (0 for an instance that is not prepaid).
    pub refund: crate::cloud::money::Money,
    /// `PriceDetail`: the rule that applies, in words.
    pub detail: String,
}
