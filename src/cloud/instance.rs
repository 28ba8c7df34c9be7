//! One instance as the control plane keeps it.

use std::fmt;

use crate::engine::{EventId, SimTime};

use super::catalog::{ChargeType, TypeIdx, ZoneIdx};
use super::money::Money;
use super::pricing::{AttachRates, Attachments};
use super::state::InstanceState;

/// An instance id. Inside the simulator it is a serial number (creation order); outside it is
/// spelled like CVM's, `ins-` and eight lowercase base-36 characters, scrambled so consecutive
/// instances do not look consecutive.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct InstanceId(pub u64);

const ID_SPACE: u64 = 2_821_109_907_456; // 36^8
const ID_MUL: u64 = 1_597_334_677; // coprime with 2 and 3, hence invertible mod 36^8
const ID_ADD: u64 = 1_234_567_891_011;

fn inverse_mod(a: u64, m: u64) -> u64 {
    let (mut t, mut new_t, mut r, mut new_r) = (0i128, 1i128, m as i128, a as i128);
    while new_r != 0 {
        let q = r / new_r;
        (t, new_t) = (new_t, t - q * new_t);
        (r, new_r) = (new_r, r - q * new_r);
    }
    t.rem_euclid(m as i128) as u64
}

impl InstanceId {
    /// Parses `ins-xxxxxxxx`. `None` for anything malformed (which CVM reports as
    /// `InvalidInstanceId.Malformed`).
    pub fn parse(s: &str) -> Option<InstanceId> {
        let body = s.strip_prefix("ins-")?;
        if body.len() != 8 {
            return None;
        }
        let mut x: u64 = 0;
        for b in body.bytes() {
            let d = match b {
                b'0'..=b'9' => b - b'0',
                b'a'..=b'z' => b - b'a' + 10,
                _ => return None,
            };
            x = x * 36 + d as u64;
        }
        let inv = inverse_mod(ID_MUL, ID_SPACE);
        let serial = ((x as u128 + ID_SPACE as u128 - ID_ADD as u128) % ID_SPACE as u128
            * inv as u128
            % ID_SPACE as u128) as u64;
        Some(InstanceId(serial))
    }
}

impl InstanceId {
    /// The two lowercase base-36 digits of every number below 36².
    const BASE36_PAIRS: [[u8; 2]; 1296] = {
        const fn digit(d: usize) -> u8 {
            if d < 10 {
                b'0' + d as u8
            } else {
                b'a' + (d - 10) as u8
            }
        }
        let mut t = [[0u8; 2]; 1296];
        let mut i = 0;
        while i < 1296 {
            t[i] = [digit(i / 36), digit(i % 36)];
            i += 1;
        }
        t
    };

    /// The scrambled number the text spells: `(serial × ID_MUL + ID_ADD) mod 36^8`.
    ///
    /// The product needs 72 bits, and a 128-bit remainder is a library call (`__umodti3`);
    /// `instances.csv` spells millions of ids. Splitting the serial in two keeps every
    /// intermediate below 2^63, so three 64-bit remainders by a constant (multiplies and
    /// shifts) give exactly the same number.
    #[inline]
    fn scrambled(self) -> u64 {
        const LOW_BITS: u32 = 21;
        let x = self.0 % ID_SPACE; // < 2^41.4
        let (hi, lo) = (x >> LOW_BITS, x & ((1 << LOW_BITS) - 1)); // < 2^20.4, < 2^21
        // x × MUL = hi × MUL × 2^21 + lo × MUL, with MUL < 2^30.6.
        let hi = hi * ID_MUL % ID_SPACE; // product < 2^51
        let hi = (hi << LOW_BITS) % ID_SPACE; // < 2^62.4 before the remainder
        (hi + lo * ID_MUL + ID_ADD) % ID_SPACE // sum < 2^52
    }

    /// The id's text (`ins-xxxxxxxx`) as bytes, without allocating.
    #[inline]
    pub fn to_string_buf(self) -> [u8; 12] {
        // Two halves of four base-36 digits (36^4 < 2^32), two table pairs each: one 64-bit
        // and two 32-bit divisions by constants instead of eight 64-bit ones.
        const HALF: u64 = 36 * 36 * 36 * 36;
        let x = self.scrambled();
        let mut buf = *b"ins-00000000";
        for (half, out) in [(x / HALF) as u32, (x % HALF) as u32]
            .into_iter()
            .zip(buf[4..].chunks_exact_mut(4))
        {
            out[..2].copy_from_slice(&Self::BASE36_PAIRS[(half / 1296) as usize]);
            out[2..].copy_from_slice(&Self::BASE36_PAIRS[(half % 1296) as usize]);
        }
        buf
    }

    /// The id's text computed the way it was before the fast path of [`Self::to_string_buf`]
    /// (128-bit arithmetic, one digit at a time): the oracle its tests compare against.
    #[cfg(test)]
    pub(crate) fn to_string_buf_exact(self) -> [u8; 12] {
        let mut x = ((self.0 as u128 % ID_SPACE as u128 * ID_MUL as u128 + ID_ADD as u128)
            % ID_SPACE as u128) as u64;
        let mut buf = *b"ins-00000000";
        for slot in buf[4..].iter_mut().rev() {
            let d = (x % 36) as u8;
            *slot = if d < 10 { b'0' + d } else { b'a' + d - 10 };
            x /= 36;
        }
        buf
    }
}

impl fmt::Display for InstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let buf = self.to_string_buf();
        f.write_str(std::str::from_utf8(&buf).map_err(|_| fmt::Error)?)
    }
}

/// The index of a workload, a trace replay or an autoscaler in its scenario section. 16 bits,
/// so that an [`Owner`] takes 4 bytes of every instance record instead of 8; the scenario
/// loader refuses a section with more than [`MAX_ACTORS`] entries.
pub type ActorIdx = u16;

/// How many workloads, trace replays or autoscalers a scenario can have (each).
pub const MAX_ACTORS: usize = ActorIdx::MAX as usize + 1;

/// Who asked for an instance: a workload (by index), a trace replay, a scripted action, an
/// autoscaler, the prepaid pool, or an external client.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Owner {
    Workload(ActorIdx),
    Script,
    /// The prepaid base of a `compare` strategy, shared by the workloads.
    Pool,
    /// A target-tracking autoscaler (by index in the scenario's `[[autoscalers]]`).
    Autoscaler(ActorIdx),
    /// A trace replay (by index in the scenario's `[[traces]]`).
    Trace(ActorIdx),
    /// A client outside the scenario, calling at the time the run has been advanced to.
    External,
}

/// `LatestOperationState`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum OperationState {
    Operating,
    Success,
    Failed,
}

impl OperationState {
    pub fn as_str(self) -> &'static str {
        match self {
            OperationState::Operating => "OPERATING",
            OperationState::Success => "SUCCESS",
            OperationState::Failed => "FAILED",
        }
    }
}

/// What an instance's `LatestOperation` can name: the actions that operate on an instance and
/// the platform's own operations on it. The names are the wire's ([`Operation::as_str`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Operation {
    RunInstances,
    StartInstances,
    StopInstances,
    RebootInstances,
    TerminateInstances,
    ResetInstancesType,
    RenewInstances,
    ModifyInstancesChargeType,
    ModifyInstancesRenewFlag,
    /// The platform reclaims a spot instance (`SpotReclaim`).
    SpotReclaim,
    /// A zone outage stopped or lost the instance (`ZoneOutage`).
    ZoneOutage,
    /// A random platform failure lost the instance (`InstanceFailure`).
    InstanceFailure,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::RunInstances => "RunInstances",
            Operation::StartInstances => "StartInstances",
            Operation::StopInstances => "StopInstances",
            Operation::RebootInstances => "RebootInstances",
            Operation::TerminateInstances => "TerminateInstances",
            Operation::ResetInstancesType => "ResetInstancesType",
            Operation::RenewInstances => "RenewInstances",
            Operation::ModifyInstancesChargeType => "ModifyInstancesChargeType",
            Operation::ModifyInstancesRenewFlag => "ModifyInstancesRenewFlag",
            Operation::SpotReclaim => "SpotReclaim",
            Operation::ZoneOutage => "ZoneOutage",
            Operation::InstanceFailure => "InstanceFailure",
        }
    }
}

/// An instance's `LatestOperation`, if any, in one byte (the action's name as an
/// `Option<&'static str>` took 16 in every record). Compared as an [`Operation`] (`get`), shown
/// as its wire name (`as_str`, `unwrap_or`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct LatestOperation(Option<Operation>);

impl LatestOperation {
    pub const NONE: LatestOperation = LatestOperation(None);

    pub fn some(op: Operation) -> LatestOperation {
        LatestOperation(Some(op))
    }

    pub fn get(self) -> Option<Operation> {
        self.0
    }

    /// The wire name (`LatestOperation`), `None` before any.
    pub fn as_str(self) -> Option<&'static str> {
        self.0.map(Operation::as_str)
    }

    /// The wire name, or `default` before any operation.
    pub fn unwrap_or(self, default: &'static str) -> &'static str {
        self.as_str().unwrap_or(default)
    }
}

/// `StoppedMode` of StopInstances.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum StoppedMode {
    #[default]
    KeepCharging,
    StopCharging,
}

/// An instance's yes-or-no state in one byte (five separate fields took five, which made the
/// record 8 bytes longer): read and written through the accessors of [`Instance`].
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct InstanceFlags(u8);

impl InstanceFlags {
    const RECLAIMING: u8 = 1;
    const HOLDS_QUOTA: u8 = 1 << 1;
    const HOLDS_STOCK: u8 = 1 << 2;
    const BOUGHT_NEW: u8 = 1 << 3;
    const STOP_CHARGING: u8 = 1 << 4;

    /// A new instance's: not reclaiming, not bought new, `KeepCharging`, holding quota as
    /// given and zone stock.
    pub fn new(holds_quota: bool) -> InstanceFlags {
        let mut f = InstanceFlags(Self::HOLDS_STOCK);
        f.set(Self::HOLDS_QUOTA, holds_quota);
        f
    }

    fn get(self, bit: u8) -> bool {
        self.0 & bit != 0
    }

    fn set(&mut self, bit: u8, on: bool) {
        if on {
            self.0 |= bit;
        } else {
            self.0 &= !bit;
        }
    }
}

/// PREPAID `RenewFlag`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum RenewFlag {
    /// Renews one month at each expiry.
    NotifyAndAutoRenew,
    /// The default: at expiry the instance is isolated unless renewed by hand.
    #[default]
    NotifyAndManualRenew,
    DisableNotifyAndManualRenew,
}

impl RenewFlag {
    pub fn parse(s: &str) -> Option<RenewFlag> {
        match s {
            "NOTIFY_AND_AUTO_RENEW" => Some(RenewFlag::NotifyAndAutoRenew),
            "NOTIFY_AND_MANUAL_RENEW" => Some(RenewFlag::NotifyAndManualRenew),
            "DISABLE_NOTIFY_AND_MANUAL_RENEW" => Some(RenewFlag::DisableNotifyAndManualRenew),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            RenewFlag::NotifyAndAutoRenew => "NOTIFY_AND_AUTO_RENEW",
            RenewFlag::NotifyAndManualRenew => "NOTIFY_AND_MANUAL_RENEW",
            RenewFlag::DisableNotifyAndManualRenew => "DISABLE_NOTIFY_AND_MANUAL_RENEW",
        }
    }
}

/// Per-instance billing state, kept by the control plane's billing (cloud/billing.rs).
#[derive(Clone, Debug, Default)]
pub struct BillingState {
    /// Billed postpaid milliseconds so far (drives the price tiers; reset by a type change).
    pub tier_ms: u64,
    /// Everything charged so far, refunds not deducted.
    pub charged: Money,
    /// PREPAID: the current order, the end of the paid period and the refunds (see
    /// [`PrepaidOrder`]); boxed, as most instances never buy one (49 bytes inline in every
    /// record otherwise). Read through the accessors below, which give an instance without
    /// one the zero values.
    pub prepaid: Option<Box<PrepaidOrder>>,
    /// What the clock hour being settled for the instance itself (that of `since`) has
    /// accrued beyond whole cents (0.01 rounding of each hourly settlement).
    pub open: OpenHour,
    /// Disks, public network, resizes of a prepaid order: boxed, as most instances have none.
    pub extra: Option<Box<BillingExtra>>,
}

/// What only prepaid instances need: when their current order began and what it cost, when
/// their paid period ends, and what was refunded to them (refunds come only from prepaid
/// orders: a return, a downgrade, a change to postpaid, a purchase that never launched). The
/// charge types over time are kept here too: every change of charge type enters or leaves
/// PREPAID (SPOTPAID cannot change, and a change to the same type is refused), so only an
/// instance with an order has a history, and the other records save its 8 bytes.
#[derive(Clone, Debug)]
pub struct PrepaidOrder {
    /// When the current run of paid periods began, and what it has cost (purchase and
    /// renewals), for the refund of an early termination.
    pub since: SimTime,
    pub paid: Money,
    /// The end of the paid period (none once it is no longer prepaid).
    pub expires: OptTime,
    /// Everything refunded so far.
    pub refunded: Money,
    /// The charge types over time (see [`Instance::charge_history`]).
    pub history: ChargeHistory,
}

impl Default for PrepaidOrder {
    fn default() -> Self {
        PrepaidOrder {
            since: SimTime::ZERO,
            paid: Money::ZERO,
            expires: OptTime::NONE,
            refunded: Money::ZERO,
            history: ChargeHistory::default(),
        }
    }
}

impl BillingState {
    /// PREPAID: when the current run of paid periods began (zero without an order).
    pub fn prepaid_since(&self) -> SimTime {
        self.prepaid.as_ref().map_or(SimTime::ZERO, |p| p.since)
    }

    /// PREPAID: what the current run of paid periods has cost (zero without an order).
    pub fn prepaid_paid(&self) -> Money {
        self.prepaid.as_ref().map_or(Money::ZERO, |p| p.paid)
    }

    /// Everything refunded so far (zero without an order).
    pub fn refunded(&self) -> Money {
        self.prepaid.as_ref().map_or(Money::ZERO, |p| p.refunded)
    }

    /// Adds a refund (an instance without an order gets one only for a refund that is not
    /// zero).
    pub fn add_refund(&mut self, refund: Money) {
        if refund != Money::ZERO {
            self.prepaid_mut().refunded += refund;
        }
    }

    /// The order, created (zero) on first use.
    pub fn prepaid_mut(&mut self) -> &mut PrepaidOrder {
        self.prepaid.get_or_insert_with(Default::default)
    }
}

/// What the clock hour being settled (that of [`Instance::billing_since`]) has accrued so far
/// beyond its last whole cent (money units, below [`pricing::CENT`](super::pricing::CENT)).
///
/// The hour's whole amount is never needed: it is never negative, so the change of its rounded
/// value that a new piece makes depends only on that remainder (rounding `q × CENT + r` to
/// the cent gives `q × CENT + round(r)`). Nor is the hour kept: the settlement follows it from
/// the interval's start (cloud/billing.rs, `settle_in_cents`). 8 bytes in every instance record, where the
/// hour and the whole amount (an `i128`) took 24.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpenHour {
    pub rem: u64,
}

/// An upgrade of a prepaid instance, paid for the time left to expiry: its value falls
/// linearly from `paid` at `since` to nothing at `until` (refunded pro rata on a return).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UpgradeOrder {
    pub paid: Money,
    pub since: SimTime,
    pub until: SimTime,
}

impl UpgradeOrder {
    /// The unused value at `now`.
    pub fn unused(&self, now: SimTime) -> Money {
        let span = self.until.since(self.since).ms() as i128;
        if span <= 0 || now >= self.until {
            return Money::ZERO;
        }
        let left = self.until.since(now.max(self.since)).ms() as i128;
        Money(self.paid.0 * left / span)
    }
}

/// Billing state of the instances that have disks, public network or a resized prepaid order.
#[derive(Clone, Debug, Default)]
pub struct BillingExtra {
    /// What RunInstances launched it with (`SystemDisk`, `DataDisks`, `InternetAccessible`).
    pub attach: std::sync::Arc<Attachments>,
    pub rates: AttachRates,
    /// Hours being settled for the disks and the network.
    pub open: [OpenHour; 2],
    /// Net charges (charged − refunded) for the disks and the network, parts of the bill.
    pub net_disk: Money,
    pub net_network: Money,
    /// PREPAID: the disks' and the network's share of `prepaid_paid`.
    pub paid_disk: Money,
    pub paid_network: Money,
    /// PREPAID: the type the current order was bought as, when a resize changed the type
    /// since (an upgrade keeps the order and adds an upgrade order; a downgrade re-buys).
    pub order_type: Option<TypeIdx>,
    pub upgrade: Option<UpgradeOrder>,
    /// PREPAID downgrades so far (CVM allows 5 per instance in all).
    pub downgrades: u32,
}

/// An optional time in the 8 bytes of a [`SimTime`] (an `Option<SimTime>` takes 16): no
/// simulated time reaches `u64::MAX` milliseconds, so that value means none.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct OptTime(u64);

impl OptTime {
    pub const NONE: OptTime = OptTime(u64::MAX);

    pub fn some(t: SimTime) -> OptTime {
        debug_assert!(t.0 != u64::MAX, "u64::MAX ms is the none of an OptTime");
        OptTime(t.0)
    }

    pub fn get(self) -> Option<SimTime> {
        (self.0 != u64::MAX).then_some(SimTime(self.0))
    }

    pub fn is_none(self) -> bool {
        self.0 == u64::MAX
    }
}

/// An optional instance type in the 2 bytes of a [`TypeIdx`] (an `Option<TypeIdx>` takes 4,
/// which made the record 8 bytes longer): a catalog never holds 65,535 types, so that index
/// means none. Reads like the `Option` it replaced (`is_some`, `take`, `unwrap_or`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct OptTypeIdx(u16);

impl OptTypeIdx {
    pub const NONE: OptTypeIdx = OptTypeIdx(u16::MAX);

    pub fn some(t: TypeIdx) -> OptTypeIdx {
        debug_assert!(t.0 != u16::MAX, "u16::MAX is the none of an OptTypeIdx");
        OptTypeIdx(t.0)
    }

    pub fn get(self) -> Option<TypeIdx> {
        (self.0 != u16::MAX).then_some(TypeIdx(self.0))
    }

    pub fn is_some(self) -> bool {
        self.0 != u16::MAX
    }

    pub fn unwrap_or(self, default: TypeIdx) -> TypeIdx {
        self.get().unwrap_or(default)
    }

    /// The type, leaving none.
    pub fn take(&mut self) -> Option<TypeIdx> {
        std::mem::replace(self, Self::NONE).get()
    }
}

/// The completion event of an operation in flight, if any, in 8 bytes (an `Option<EventId>`
/// takes 16): event ids count up from 0 and never reach `u64::MAX`, which means none.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PendingEvent(u64);

impl PendingEvent {
    pub const NONE: PendingEvent = PendingEvent(u64::MAX);

    pub fn some(ev: EventId) -> PendingEvent {
        debug_assert!(ev.0 != u64::MAX, "u64::MAX is the none of a PendingEvent");
        PendingEvent(ev.0)
    }

    pub fn get(self) -> Option<EventId> {
        (self.0 != u64::MAX).then_some(EventId(self.0))
    }

    /// The event, leaving none.
    pub fn take(&mut self) -> Option<EventId> {
        std::mem::replace(self, Self::NONE).get()
    }
}

/// An instance's charge types over time, `(since, charge type)`. Boxed: nearly every instance
/// keeps its charge type for life, and an empty `Vec` inline would cost every record 24 bytes
/// where this costs 8.
// The Box is the point: `Option<Box<Vec>>` is one pointer, where a `Vec` is three words.
#[allow(clippy::box_collection)]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChargeHistory(Option<Box<Vec<(SimTime, ChargeType)>>>);

impl ChargeHistory {
    pub fn is_empty(&self) -> bool {
        self.0.as_ref().is_none_or(|v| v.is_empty())
    }

    pub fn push(&mut self, entry: (SimTime, ChargeType)) {
        self.0.get_or_insert_with(Default::default).push(entry);
    }

    pub fn iter(&self) -> std::slice::Iter<'_, (SimTime, ChargeType)> {
        self.0.as_deref().map_or(&[][..], |v| v).iter()
    }

    /// When the charge type last changed (none before the first change).
    pub fn last_change(&self) -> Option<SimTime> {
        self.0.as_deref().and_then(|v| v.last()).map(|&(t, _)| t)
    }
}

/// One instance.
#[derive(Clone, Debug)]
pub struct Instance {
    pub id: InstanceId,
    pub zone: ZoneIdx,
    pub itype: TypeIdx,
    pub charge: ChargeType,
    pub state: InstanceState,
    pub state_since: SimTime,
    pub created: SimTime,
    /// First time the instance reached RUNNING.
    pub first_running: OptTime,
    pub owner: Owner,
    /// `LatestOperation` (the action name) and `LatestOperationState`.
    pub latest_operation: LatestOperation,
    pub latest_operation_state: Option<OperationState>,
    /// The completion event of the operation in flight, if any.
    pub pending: PendingEvent,
    /// Type to switch to when a ResetInstancesType completes.
    pub next_type: OptTypeIdx,
    pub renew_flag: RenewFlag,
    /// Reclaiming, holding quota and stock, bought new, and the stopped mode: see the
    /// accessors below.
    pub flags: InstanceFlags,
    pub billing: BillingState,
}

impl Instance {
    /// SPOTPAID: a reclaim notice has been given; the instance is destroyed when it runs out.
    pub fn reclaiming(&self) -> bool {
        self.flags.get(InstanceFlags::RECLAIMING)
    }

    pub fn set_reclaiming(&mut self, on: bool) {
        self.flags.set(InstanceFlags::RECLAIMING, on);
    }

    /// The instance counts against its zone's quota now.
    pub fn holds_quota(&self) -> bool {
        self.flags.get(InstanceFlags::HOLDS_QUOTA)
    }

    pub fn set_holds_quota(&mut self, on: bool) {
        self.flags.set(InstanceFlags::HOLDS_QUOTA, on);
    }

    /// The instance occupies zone stock now.
    pub fn holds_stock(&self) -> bool {
        self.flags.get(InstanceFlags::HOLDS_STOCK)
    }

    pub fn set_holds_stock(&mut self, on: bool) {
        self.flags.set(InstanceFlags::HOLDS_STOCK, on);
    }

    /// PREPAID: the current paid periods began with a RunInstances (not a change of charge
    /// type), which the five-day full refund requires. In the record rather than in the
    /// prepaid order, whose box stays at 56 bytes (a 64-byte allocation, where 64 would take
    /// 80).
    pub fn bought_new(&self) -> bool {
        self.flags.get(InstanceFlags::BOUGHT_NEW)
    }

    pub fn set_bought_new(&mut self, on: bool) {
        self.flags.set(InstanceFlags::BOUGHT_NEW, on);
    }

    /// Listed among its zone × type's spot holders, the reclaim candidates: a spot instance
    /// holding stock without a reclaim notice. It is listed at launch and leaves the list when
    /// it gives its capacity up (a failed launch, a reclaim notice: the notice is never taken
    /// back, and a spot instance keeps its charge type and type), so its release need not
    /// search the list.
    pub fn spot_listed(&self) -> bool {
        self.charge == ChargeType::Spotpaid && self.holds_stock() && !self.reclaiming()
    }

    /// `StoppedMode` of the StopInstances that stopped it (or is stopping it).
    pub fn stopped_mode(&self) -> StoppedMode {
        if self.flags.get(InstanceFlags::STOP_CHARGING) {
            StoppedMode::StopCharging
        } else {
            StoppedMode::KeepCharging
        }
    }

    pub fn set_stopped_mode(&mut self, mode: StoppedMode) {
        self.flags.set(
            InstanceFlags::STOP_CHARGING,
            mode == StoppedMode::StopCharging,
        );
    }

    /// An operation is in flight: a new mutating call is refused with
    /// `OperationDenied.InstanceOperationInProgress`.
    pub fn busy(&self) -> bool {
        self.pending.get().is_some()
    }

    /// The start of the interval now accruing: the last accrual's end. Not stored, as it is
    /// always known: every accrual but two is a move to another state, which sets
    /// `state_since` to the accrual's end; one is a change of charge type, which records
    /// its time in the charge history (so an instance whose interval began at a change of
    /// charge type always has a prepaid box to hold it); the other closes the books at the
    /// end of the run, after which nothing accrues. 8 bytes of every record.
    pub fn billing_since(&self) -> SimTime {
        match self.charge_history().last_change() {
            Some(t) if t > self.state_since => t,
            _ => self.state_since,
        }
    }

    /// Net cost so far (charged minus refunded), not counting the open interval.
    pub fn net_cost(&self) -> Money {
        self.billing.charged - self.billing.refunded()
    }

    /// PREPAID: the end of the paid period (none without one).
    pub fn expires(&self) -> OptTime {
        self.billing
            .prepaid
            .as_ref()
            .map_or(OptTime::NONE, |p| p.expires)
    }

    /// Charge types over time, `(since, charge type)`; empty until the first change (then it
    /// starts with the charge type at creation).
    pub fn charge_history(&self) -> &ChargeHistory {
        static NONE: ChargeHistory = ChargeHistory(None);
        self.billing.prepaid.as_ref().map_or(&NONE, |p| &p.history)
    }

    /// Records a change of charge type to `to` at `now` (before `charge` itself changes), with
    /// the charge type at creation first if this is the first change.
    pub fn record_charge_change(&mut self, now: SimTime, to: ChargeType) {
        let (created, from) = (self.created, self.charge);
        let history = &mut self.billing.prepaid_mut().history;
        if history.is_empty() {
            history.push((created, from));
        }
        history.push((now, to));
    }

    /// Sets the end of the paid period (an instance without an order gets one only for an
    /// end that is not none).
    pub fn set_expires(&mut self, t: OptTime) {
        if t.get().is_some() || self.billing.prepaid.is_some() {
            self.billing.prepaid_mut().expires = t;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_look_like_cvm_and_round_trip() {
        for serial in [0u64, 1, 2, 99, 123_456, 10_000_000] {
            let id = InstanceId(serial);
            let s = id.to_string();
            assert_eq!(s.len(), 12);
            assert!(s.starts_with("ins-"));
            assert!(
                s[4..]
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
            );
            assert_eq!(InstanceId::parse(&s), Some(id));
        }
        assert_ne!(InstanceId(0).to_string(), InstanceId(1).to_string());
    }

    /// A million live instances hold a million records: the record must not grow back
    /// unnoticed (README, Performance: memory per live instance).
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn the_record_stays_small() {
        use std::mem::size_of;
        assert_eq!(size_of::<Money>(), 16);
        assert_eq!(std::mem::align_of::<Money>(), 8);
        assert_eq!(size_of::<OpenHour>(), 8);
        assert_eq!(size_of::<BillingState>(), 48);
        assert_eq!(size_of::<LatestOperation>(), 1);
        assert_eq!(size_of::<OptTypeIdx>(), 2);
        assert_eq!(size_of::<PrepaidOrder>(), 56);
        assert_eq!(size_of::<Owner>(), 4);
        assert_eq!(size_of::<InstanceFlags>(), 1);
        assert_eq!(size_of::<Instance>(), 104);
        assert_eq!(size_of::<Option<Instance>>(), size_of::<Instance>());
    }

    /// The one-byte `LatestOperation` answers as the name it replaced: API actions by their
    /// wire names, the platform's own operations by names no action has.
    #[test]
    fn latest_operation_reads_as_its_name() {
        use crate::cloud::api::Action;
        let none = LatestOperation::NONE;
        assert_eq!(none.as_str(), None);
        assert_eq!(none.unwrap_or("billing"), "billing");
        assert!(none.get().is_none());
        assert!(none.as_str() != Some("RunInstances"));
        let renew = LatestOperation::some(Operation::RenewInstances);
        assert!(renew.as_str() == Some("RenewInstances"));
        assert_eq!(renew.get(), Some(Operation::RenewInstances));
        assert!(renew.as_str() != Some("TerminateInstances"));
        assert_eq!(renew.unwrap_or("billing"), "RenewInstances");
        let platform = [
            Operation::SpotReclaim,
            Operation::ZoneOutage,
            Operation::InstanceFailure,
        ];
        for op in [
            Operation::RunInstances,
            Operation::StartInstances,
            Operation::StopInstances,
            Operation::RebootInstances,
            Operation::TerminateInstances,
            Operation::ResetInstancesType,
            Operation::RenewInstances,
            Operation::ModifyInstancesChargeType,
            Operation::ModifyInstancesRenewFlag,
        ] {
            assert_eq!(
                Action::parse(op.as_str()).map(Action::as_str),
                Some(op.as_str())
            );
        }
        for op in platform {
            assert_eq!(Action::parse(op.as_str()), None, "{op:?}");
        }
        assert_eq!(
            [
                Operation::SpotReclaim.as_str(),
                Operation::ZoneOutage.as_str(),
                Operation::InstanceFailure.as_str()
            ],
            ["SpotReclaim", "ZoneOutage", "InstanceFailure"]
        );
    }

    /// Each of the five flags packed in one byte reads back what was last written to it,
    /// whatever the others hold.
    #[test]
    fn flags_are_independent() {
        let mut inst = crate::cloud::fleet::tests::bare(InstanceId(1));
        assert!(inst.holds_quota() && inst.holds_stock());
        assert!(!inst.reclaiming() && !inst.bought_new());
        assert_eq!(inst.stopped_mode(), StoppedMode::KeepCharging);
        assert!(!InstanceFlags::new(false).get(InstanceFlags::HOLDS_QUOTA));
        for pattern in 0u8..32 {
            let on = |i: u8| pattern & (1 << i) != 0;
            inst.set_reclaiming(on(0));
            inst.set_holds_quota(on(1));
            inst.set_holds_stock(on(2));
            inst.set_bought_new(on(3));
            inst.set_stopped_mode(if on(4) {
                StoppedMode::StopCharging
            } else {
                StoppedMode::KeepCharging
            });
            let read = [
                inst.reclaiming(),
                inst.holds_quota(),
                inst.holds_stock(),
                inst.bought_new(),
                inst.stopped_mode() == StoppedMode::StopCharging,
            ];
            assert_eq!(read, [on(0), on(1), on(2), on(3), on(4)], "{pattern:05b}");
        }
    }

    /// A spot instance is a listed holder while it holds stock and has had no reclaim notice;
    /// no other instance ever is.
    #[test]
    fn a_listed_spot_holder_holds_stock_without_a_notice() {
        let mut inst = crate::cloud::fleet::tests::bare(InstanceId(1));
        inst.charge = ChargeType::Spotpaid;
        assert!(inst.spot_listed());
        inst.set_holds_stock(false);
        assert!(!inst.spot_listed(), "a failed launch gave its stock up");
        inst.set_holds_stock(true);
        inst.set_reclaiming(true);
        assert!(
            !inst.spot_listed(),
            "started during its notice: stock again, no candidate"
        );
        for charge in [ChargeType::Prepaid, ChargeType::PostpaidByHour] {
            inst.charge = charge;
            inst.set_reclaiming(false);
            assert!(inst.holds_stock() && !inst.spot_listed());
        }
    }

    /// The open interval starts at the later of the time the instance entered its state and
    /// its last change of charge type, which is where the accrual before either ended.
    #[test]
    fn the_open_interval_starts_at_the_last_move_or_charge_change() {
        let mut inst = crate::cloud::fleet::tests::bare(InstanceId(7));
        inst.state_since = SimTime(1_000);
        assert_eq!(inst.billing_since(), SimTime(1_000));
        inst.record_charge_change(SimTime(5_000), ChargeType::Prepaid);
        assert_eq!(inst.billing_since(), SimTime(5_000));
        inst.state_since = SimTime(9_000);
        assert_eq!(inst.billing_since(), SimTime(9_000));
        inst.record_charge_change(SimTime(9_000), ChargeType::PostpaidByHour);
        assert_eq!(inst.billing_since(), SimTime(9_000));
        inst.record_charge_change(SimTime(12_000), ChargeType::Prepaid);
        assert_eq!(inst.billing_since(), SimTime(12_000));
        assert_eq!(
            inst.charge_history()
                .iter()
                .map(|&(t, _)| t.0)
                .collect::<Vec<_>>(),
            [0, 5_000, 9_000, 12_000]
        );
    }

    #[test]
    fn malformed_ids_are_refused() {
        for bad in [
            "ins-",
            "ins-ABCDEFGH",
            "ins-1234567",
            "vm-12345678",
            "ins-123456789",
        ] {
            assert_eq!(InstanceId::parse(bad), None, "{bad}");
        }
    }
}
