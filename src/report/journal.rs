//! `--trace`: one readable line per event, for a class to follow a run step by step.
//!
//! Two kinds of lines, both starting with the simulated clock (`d2 03:14:07`):
//!
//! ```text
//! d0 00:00:00  ins-fr5huhc3  created as PENDING (S5.MEDIUM4, POSTPAID_BY_HOUR, ap-guangzhou-3)
//! d0 00:00:00  script calls RunInstances: ok, 1 launched: ins-fr5huhc3 (1 × S5.MEDIUM4, POSTPAID_BY_HOUR, ap-guangzhou-3)
//! d0 01:00:00  ins-fr5huhc3  RUNNING -> STOPPING (the 59m in RUNNING cost 0.983333 CNY)
//! d0 02:11:52  workload #1 calls RunInstances: refused with LimitExceeded.InstanceQuota: the zone's postpaid instance quota is used up (POSTPAID_BY_HOUR instance quota in ap-guangzhou-3: 5 used of 5, 1 asked)
//! ```
//!
//! An instance's line names it and says what happened to it, with the cost of the time it
//! spent in the state it leaves; a call's line names the caller, the action, the instances and
//! parameters, and the answer: `ok`, or CVM's error code with what it means in plain words.

use std::io::Write;

use crate::cloud::api::ChangeKind;
use crate::cloud::api::{CallRecord, InstanceRef};
use crate::cloud::{
    Action, ApiError, Catalog, Change, ChargeType, ErrorCode, InstanceState, Money, Owner, Request,
    Response, StoppedMode, TypeIdx, ZoneIdx,
};
use crate::engine::SimTime;

/// Which events to narrate.
#[derive(Clone, Debug, Default)]
pub struct TraceFilter {
    /// Only this instance (`ins-...`).
    pub instance: Option<String>,
    /// Only this zone.
    pub zone: Option<String>,
}

/// Zone and type names, copied from the catalogue the first time a change shows it (a call
/// record carries only indices).
#[derive(Default)]
struct Names {
    zones: Vec<String>,
    types: Vec<String>,
}

impl Names {
    fn zone(&self, z: ZoneIdx) -> String {
        self.zones
            .get(z.0 as usize)
            .cloned()
            .unwrap_or_else(|| format!("zone #{}", z.0))
    }
    fn itype(&self, t: TypeIdx) -> String {
        self.types
            .get(t.0 as usize)
            .cloned()
            .unwrap_or_else(|| format!("type #{}", t.0))
    }
}

pub struct Journal {
    out: Box<dyn Write>,
    filter: TraceFilter,
    names: Option<Names>,
    /// Who made the last narrated call, for a give-up that follows it.
    last_caller: String,
}

/// Most instance ids a call line spells out before it says how many more there are.
const IDS_SHOWN: usize = 5;

impl Journal {
    pub fn new(out: Box<dyn Write>, filter: TraceFilter) -> Self {
        Journal {
            out,
            filter,
            names: None,
            last_caller: String::new(),
        }
    }

    fn wanted(&self, id: &str, zone: &str) -> bool {
        self.filter.instance.as_deref().is_none_or(|w| w == id)
            && self.filter.zone.as_deref().is_none_or(|w| w == zone)
    }

    fn learn_names(&mut self, catalog: &Catalog) {
        if self.names.is_none() {
            self.names = Some(Names {
                zones: catalog.zones.iter().map(|z| z.name.clone()).collect(),
                types: catalog.types.iter().map(|t| t.name.clone()).collect(),
            });
        }
    }

    /// Narrates a change; `instant` is its instant part (`ch.accrual.instant_part()`, which
    /// the recorder has computed).
    pub fn change(&mut self, ch: &Change<'_>, instant: Money) {
        self.learn_names(ch.catalog);
        if ch.kind == ChangeKind::Close {
            return;
        }
        let inst = ch.instance;
        let id = inst.id.to_string();
        let zone = &ch.catalog.zone(inst.zone).name;
        if !self.wanted(&id, zone) {
            return;
        }
        let cur = &ch.catalog.currency;
        let ty = &ch.catalog.itype(inst.itype).name;
        // An up-front payment or a refund, as opposed to the cost of time spent in a state.
        let for_time = ch.accrual.amount - instant;
        let paid_until = |inst: &crate::cloud::Instance| match inst.expires().get() {
            Some(e) if e > ch.time => format!(", covering until {e}"),
            _ => String::new(),
        };
        let what = match (ch.from, ch.to) {
            (None, Some(to)) => {
                let mut s = format!("created as {to} ({ty}, {}, {zone})", inst.charge);
                if instant.0 > 0 {
                    s += &format!("; paid {instant} {cur} up front{}", paid_until(inst));
                }
                s
            }
            (Some(from), None) => {
                let why = match from {
                    InstanceState::Shutdown => " (its time in the recycle bin is over)",
                    _ if inst.reclaiming() => " (spot reclaim)",
                    _ => "",
                };
                let mut s = format!("{from} -> released{why}; bill {} {cur}", inst.net_cost());
                if inst.billing.refunded().0 != 0 {
                    s += &format!(
                        " (charged {}, refunded {})",
                        inst.billing.charged,
                        inst.billing.refunded()
                    );
                }
                s
            }
            (Some(_), Some(_)) if ch.kind == ChangeKind::Charge => {
                let op = inst.latest_operation.unwrap_or("billing");
                let mut parts = Vec::new();
                if instant.0 < 0 {
                    parts.push(format!(
                        "refunded {} {cur}: it leaves its paid period early and gets back what \
                         it paid minus what it used",
                        Money(-instant.0)
                    ));
                } else if instant.0 > 0 {
                    parts.push(format!(
                        "charged {instant} {cur} ({op}){}",
                        paid_until(inst)
                    ));
                }
                if ch.from_charge != inst.charge {
                    let mut s = format!("now {} (was {})", inst.charge, ch.from_charge);
                    if for_time.0 != 0 {
                        s += &format!(
                            "; its last {} as {} cost {for_time} {cur}",
                            ch.accrual.end.since(ch.accrual.start),
                            ch.from_charge
                        );
                    }
                    parts.push(s);
                }
                if parts.is_empty() {
                    parts.push(format!("billing changed ({op})"));
                }
                parts.join("; ")
            }
            (Some(from), Some(to)) => {
                let note = transition_note(ch, from, to);
                let cost = if for_time.0 != 0 {
                    format!(
                        " (the {} in {from} cost {for_time} {cur})",
                        ch.accrual.end.since(ch.accrual.start),
                    )
                } else {
                    String::new()
                };
                let extra = if instant.0 < 0 {
                    format!("; refunded {} {cur}", Money(-instant.0))
                } else if instant.0 > 0 {
                    format!("; charged {instant} {cur}")
                } else {
                    String::new()
                };
                format!("{from} -> {to}{note}{cost}{extra}")
            }
            (None, None) => return,
        };
        let _ = writeln!(self.out, "{}  {id}  {what}", ch.time);
    }

    /// A call, first attempt (see [`Journal::call_attempt`]).
    pub fn call(&mut self, c: &CallRecord<'_>) {
        self.call_attempt(c, 1);
    }

    /// A call; `attempt` > 1 marks a client's retry (`… (retry, attempt 2)`).
    pub fn call_attempt(&mut self, c: &CallRecord<'_>, attempt: u32) {
        if self.filter.instance.is_some() || self.filter.zone.is_some() {
            // Calls are narrated only when nothing is filtered: a call may touch many zones.
            return;
        }
        let who = match c.caller {
            Owner::Workload(w) => format!("workload #{w}"),
            Owner::Script => "script".into(),
            Owner::Pool => "prepaid pool".into(),
            Owner::External => "external client".into(),
            Owner::Autoscaler(a) => format!("autoscaler #{a}"),
            Owner::Trace(t) => format!("trace #{t}"),
        };
        let unknown = Names::default();
        let names = self.names.as_ref().unwrap_or(&unknown);
        let outcome = match c.result {
            Ok(r) => ok_words(c.request, r, names),
            Err(e) => refused_words(c.request, e, names),
        };
        let retry = if attempt > 1 {
            format!(" (retry, attempt {attempt})")
        } else {
            String::new()
        };
        let action = c.request.action().as_str();
        let _ = writeln!(
            self.out,
            "{}  {who} calls {action}: {outcome}{retry}",
            c.time
        );
        self.last_caller = who;
    }

    /// The client of the last narrated call gives up on it after its last attempt:
    /// `workload #0 gives up on RunInstances: still RequestLimitExceeded after 3 attempts`.
    /// (For the recorder to call right after that call's line, as it counts the give-up.)
    pub fn give_up(&mut self, time: SimTime, action: Action, code: ErrorCode, attempts: u32) {
        if self.filter.instance.is_some() || self.filter.zone.is_some() {
            return;
        }
        let _ = writeln!(
            self.out,
            "{time}  {} gives up on {}: still {code} after {attempts} attempts",
            self.last_caller,
            action.as_str()
        );
    }

    /// A platform event (a zone outage beginning or ending): narrated unless the trace is
    /// narrowed to one instance or to another zone.
    pub fn platform(&mut self, time: SimTime, zone: &str, what: &str) {
        if self.filter.instance.is_some() || self.filter.zone.as_deref().is_some_and(|z| z != zone)
        {
            return;
        }
        let _ = writeln!(self.out, "{time}  platform: {what}");
    }

    pub fn flush(&mut self) {
        let _ = self.out.flush();
    }
}

/// Why an instance moved, in plain words, where the two states alone do not say it.
fn transition_note(ch: &Change<'_>, from: InstanceState, to: InstanceState) -> String {
    use InstanceState as S;
    let inst = ch.instance;
    match (from, to) {
        (S::Stopped, S::Running) if ch.from_type != inst.itype => format!(
            " as {}, reset from {}",
            ch.catalog.itype(inst.itype).name,
            ch.catalog.itype(ch.from_type).name
        ),
        (S::Stopping, S::Stopped) if inst.next_type.is_some() => format!(
            ", its type is now being reset to {}",
            ch.catalog.itype(inst.next_type.unwrap_or(inst.itype)).name
        ),
        (S::Stopping, S::Stopped) if inst.stopped_mode() == StoppedMode::StopCharging => {
            ", STOP_CHARGING: only the disk is billed while stopped".into()
        }
        (S::Pending, S::LaunchFailed) => ": the launch failed, nothing is billed".into(),
        (S::Starting, S::Stopped)
            if inst.latest_operation_state
                == Some(crate::cloud::instance::OperationState::Failed) =>
        {
            ": the start failed, no capacity could be had (LatestOperationState FAILED)".into()
        }
        (_, S::Shutdown)
            if inst.latest_operation.get()
                == Some(crate::cloud::instance::Operation::TerminateInstances) =>
        {
            ": isolated in the recycle bin by TerminateInstances (not billed)".into()
        }
        (_, S::Shutdown) => {
            ": the paid period is over, isolated in the recycle bin (not billed)".into()
        }
        (S::Shutdown, S::Running) => ": restored from the recycle bin".into(),
        (S::Shutdown, S::Terminating) => ": destroyed out of the recycle bin".into(),
        (_, S::Terminating) if inst.reclaiming() => {
            ": spot reclaim, its capacity went to an on-demand launch and the notice is over".into()
        }
        _ => String::new(),
    }
}

/// `ins-a, ins-b, … and N more`.
fn id_list(ids: impl ExactSizeIterator<Item = String>) -> String {
    let n = ids.len();
    let shown: Vec<String> = ids.take(IDS_SHOWN).collect();
    let mut s = shown.join(", ");
    if n > IDS_SHOWN {
        s += &format!(" and {} more", n - IDS_SHOWN);
    }
    s
}

fn refs(ids: &[InstanceRef]) -> String {
    id_list(ids.iter().map(|r| match r {
        InstanceRef::Id(id) | InstanceRef::Known(id, _) => id.to_string(),
        InstanceRef::Text(t) => t.clone(),
    }))
}

fn months(m: u32) -> String {
    if m == 1 {
        "1 month".into()
    } else {
        format!("{m} months")
    }
}

/// The parameters of a call, briefly: what it asks for and of which instances.
fn params(req: &Request, names: &Names) -> String {
    match req {
        Request::RunInstances(r) | Request::InquiryPriceRunInstances(r) => {
            let mut charge = r.charge.to_string();
            if r.charge == ChargeType::Prepaid {
                charge += &format!(" {}", months(r.period_months));
            }
            if let Some(p) = r.max_price {
                charge += &format!(" bid {}", Money::from_micros(p as i128));
            }
            let mut s = format!(
                "{} × {}, {charge}, {}",
                r.count,
                names.itype(r.itype),
                names.zone(r.zone)
            );
            if let Some(m) = r.min_count {
                s += &format!(", at least {m}");
            }
            if r.dry_run {
                s += ", DryRun";
            }
            s
        }
        Request::StartInstances { ids }
        | Request::RebootInstances { ids }
        | Request::TerminateInstances { ids }
        | Request::InquiryPriceTerminateInstances { ids } => refs(ids),
        Request::StopInstances { ids, stopped_mode } => format!(
            "{}, {}",
            refs(ids),
            match stopped_mode {
                StoppedMode::KeepCharging => "KEEP_CHARGING",
                StoppedMode::StopCharging => "STOP_CHARGING",
            }
        ),
        Request::ResetInstancesType {
            ids,
            itype,
            force_stop,
        } => format!(
            "{} to {}{}",
            refs(ids),
            names.itype(*itype),
            if *force_stop { ", ForceStop" } else { "" }
        ),
        Request::InquiryPriceResetInstancesType { ids, itype } => {
            format!("{} to {}", refs(ids), names.itype(*itype))
        }
        Request::RenewInstances { ids, period_months }
        | Request::InquiryPriceRenewInstances { ids, period_months } => {
            format!("{} for {}", refs(ids), months(*period_months))
        }
        Request::ModifyInstancesChargeType {
            ids,
            charge,
            period_months,
        }
        | Request::InquiryPriceModifyInstancesChargeType {
            ids,
            charge,
            period_months,
        } => {
            let mut s = format!("{} to {charge}", refs(ids));
            if *charge == ChargeType::Prepaid {
                s += &format!(" {}", months(*period_months));
            }
            s
        }
        Request::DescribeInstances {
            ids,
            filters,
            offset,
            limit,
        } => {
            let mut s = format!("Offset {offset}, Limit {}", limit.unwrap_or(20));
            if !ids.is_empty() {
                s += &format!(", {}", refs(ids));
            }
            for f in filters {
                s += &format!(", {} = {}", f.name, f.values.join("|"));
            }
            s
        }
        Request::DescribeAccountQuota { zone }
        | Request::DescribeZoneInstanceConfigInfos { zone }
        | Request::DescribeInstanceTypeConfigs { zone } => zone
            .map(|z| names.zone(z))
            .unwrap_or_else(|| "every zone".into()),
        Request::DescribeInstancesStatus {
            ids, offset, limit, ..
        } => {
            let mut s = format!("Offset {offset}, Limit {}", limit.unwrap_or(20));
            if !ids.is_empty() {
                s += &format!(", {}", refs(ids));
            }
            s
        }
        Request::ModifyInstancesRenewFlag { ids, flag } => {
            format!("{} to {}", refs(ids), flag.as_str())
        }
        Request::DescribeZones | Request::DescribeRegions => "every one".into(),
    }
}

/// An accepted call: what it did.
fn ok_words(req: &Request, resp: &Response, names: &Names) -> String {
    match resp {
        Response::Launched { ids, .. } => format!(
            "ok, {} launched: {} ({})",
            ids.len(),
            id_list(ids.iter().map(|i| i.to_string())),
            params(req, names)
        ),
        Response::Accepted => format!("ok ({})", params(req, names)),
        Response::Instances { total, items } => format!(
            "ok, {} of {total} listed ({})",
            items.len(),
            params(req, names)
        ),
        Response::Quotas(q) => {
            // One group per zone: `zone CHARGE used of total, CHARGE ...`.
            let mut s = String::from("ok:");
            let mut last_zone = None;
            for v in q {
                let unit = if v.charge == ChargeType::Spotpaid {
                    " vCPUs"
                } else {
                    ""
                };
                let total = match v.total {
                    Some(t) => format!(" of {t}"),
                    None => " (no limit)".into(),
                };
                if last_zone == Some(v.zone) {
                    s += ",";
                } else {
                    if last_zone.is_some() {
                        s += ";";
                    }
                    s += &format!(" {}", names.zone(v.zone));
                    last_zone = Some(v.zone);
                }
                s += &format!(" {} {}{unit} used{total}", v.charge, v.used);
            }
            s
        }
        Response::Statuses { total, items } => format!(
            "ok, {} of {total} listed ({})",
            items.len(),
            params(req, names)
        ),
        Response::Zones(z) => {
            let down: Vec<String> = z
                .iter()
                .filter(|v| !v.available)
                .map(|v| names.zone(v.zone))
                .collect();
            if down.is_empty() {
                format!("ok, {} zones, all AVAILABLE", z.len())
            } else {
                format!("ok, {} zones; UNAVAILABLE: {}", z.len(), down.join(", "))
            }
        }
        Response::Regions(r) => format!("ok: {}", r.join(", ")),
        Response::Price(q) => {
            // What is paid now and what is billed per unit afterwards, for each item.
            let item = |name: &str, i: &crate::cloud::api::ItemQuote| {
                let mut parts = Vec::new();
                if let Some(p) = i.discount_price {
                    parts.push(format!("{p} now"));
                }
                if let (Some(p), Some(u)) = (i.unit_price_discount, i.charge_unit) {
                    parts.push(format!("{p} per {}", u.to_lowercase()));
                }
                format!("{name} {}", parts.join(" and "))
            };
            let mut s = format!("ok, quoted {}", item("instance", &q.instance));
            if let Some(b) = &q.bandwidth {
                s += &format!(", {}", item("bandwidth", b));
            }
            s + &format!(" ({})", params(req, names))
        }
        Response::Refunds(r) => format!(
            "ok, refunds quoted: {}",
            id_list(r.iter().map(|q| format!("{} {}", q.id, q.refund)))
        ),
        Response::TypeConfigs(c) => format!("ok, {} zone/type lines", c.len()),
        Response::Configs(c) => {
            let sold: Vec<String> = c
                .iter()
                .filter(|v| v.status != "SELL")
                .map(|v| format!("{} in {}", names.itype(v.itype), names.zone(v.zone)))
                .collect();
            if sold.is_empty() {
                format!("ok, {} zone/type lines, all SELL", c.len())
            } else {
                format!(
                    "ok, {} zone/type lines; SOLD_OUT: {}",
                    c.len(),
                    sold.join(", ")
                )
            }
        }
    }
}

/// A refused call: CVM's code, what it means, and the details.
fn refused_words(req: &Request, e: &ApiError, names: &Names) -> String {
    let details = match e.code {
        // The message only repeats the action: say what was asked instead.
        ErrorCode::RequestLimitExceeded => params(req, names),
        _ => e.message.clone(),
    };
    format!(
        "refused with {}: {} ({details})",
        e.code,
        meaning(e.code, req)
    )
}

/// What an error code means, in a few plain words.
fn meaning(code: ErrorCode, req: &Request) -> String {
    use ErrorCode as E;
    let s = match code {
        E::RequestLimitExceeded => "over the rate limit, nothing was done",
        E::InvalidInstanceIdNotFound => "no such instance (any more)",
        E::InvalidInstanceIdMalformed => "that is not an instance id",
        E::InvalidParameterValueLimitExceeded => "too many instances named in one call",
        E::InvalidParameterValue => "a parameter has a value CVM does not accept",
        E::InvalidParameter => "the parameters do not go together",
        E::InvalidPeriod => "not a prepaid period CVM sells",
        E::InvalidZone => "that zone is not in this region",
        E::InvalidInstanceType => "no such instance type",
        E::InstanceState(s) => {
            return format!(
                "{} does not accept an instance that is {s}",
                req.action().as_str()
            );
        }
        E::OperationInProgress => "another operation on the instance has not finished yet",
        E::StoppedModeStopCharging => "only postpaid instances can stop without charging",
        E::UnsupportedChargeType => "not possible for this charge type",
        E::InstanceQuota => "the zone's postpaid instance quota is used up",
        E::PrepayQuota => "the zone's prepaid instance quota is used up",
        E::SpotQuota => "the zone's spot vCPU quota is used up",
        E::ResourceInsufficientType => "the zone has too few of this type left",
        E::SoldOutType => "the zone has none of this type left",
        E::ZoneSoldOut => "the zone cannot take new instances now",
        E::TypeUnavailable => "the zone does not sell this type",
        E::DryRunOperation => "a dry run: checked, nothing was done",
        E::InsufficientPrice => "the spot bid is below the market price",
        E::UserReturnQuota => "the account's prepaid returns for the year are used up",
        E::LimitOperationQuota => "the instance has had all the downgrades CVM allows",
        E::InvalidInstanceNotSupported => "the action does not apply to this instance",
        E::InvalidFilter => "DescribeInstances has no such filter",
        E::InvalidFilterValueLimitExceeded => "a filter has too many values",
        E::InvalidParameterValueRange => "a number is outside the range CVM accepts",
        E::InvalidClientTokenTooLong => "the ClientToken is over 64 characters",
        E::InvalidParameterMinCount => "MinCount is above InstanceCount",
        E::InsufficientOfferingMinimum => "the zone cannot deliver even MinCount instances",
        E::InstanceMixedPricingModel => "one call cannot mix charge types",
        E::UnsupportedOperation => "the action does not accept the instance as it is",
        E::SoldOutZone => "the zone cannot take new instances now",
        E::StoppedModeStopChargingSameFamily => {
            "an instance stopped without charging cannot be resized within its family"
        }
        E::Unreturnable => "the instance cannot be returned now",
    };
    s.into()
}
