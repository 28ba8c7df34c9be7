//! `--trace`: one readable line per event, for a class to follow a run step by step.

use std::io::Write;

use crate::cloud::api::CallRecord;
use crate::cloud::api::ChangeKind;
use crate::cloud::{Change, Money, Owner, Response};

/// Which events to narrate.
#[derive(Clone, Debug, Default)]
pub struct TraceFilter {
    /// Only this instance (`ins-...`).
    pub instance: Option<String>,
    /// Only this zone.
    pub zone: Option<String>,
}

pub struct Journal {
    out: Box<dyn Write>,
    filter: TraceFilter,
}

impl Journal {
    pub fn new(out: Box<dyn Write>, filter: TraceFilter) -> Self {
        Journal { out, filter }
    }

    fn wanted(&self, id: &str, zone: &str) -> bool {
        self.filter.instance.as_deref().is_none_or(|w| w == id)
            && self.filter.zone.as_deref().is_none_or(|w| w == zone)
    }

    pub fn change(&mut self, ch: &Change<'_>) {
        if ch.kind == ChangeKind::Close {
            return;
        }
        let inst = ch.instance;
        let id = inst.id.to_string();
        let zone = &ch.catalog.zone(inst.zone).name;
        if !self.wanted(&id, zone) {
            return;
        }
        let ty = &ch.catalog.itype(inst.itype).name;
        let what = match (ch.from, ch.to) {
            (None, Some(to)) => format!("created as {to} ({ty}, {}, {zone})", inst.charge),
            (Some(from), None) => format!(
                "{from} -> released; bill {} {}",
                inst.net_cost(),
                ch.catalog.currency
            ),
            (Some(_), Some(_)) if ch.kind == ChangeKind::Charge => {
                let a = ch.accrual.instant_part();
                let what = if a.0 < 0 { "refunded" } else { "charged" };
                format!(
                    "{what} {} {} ({}, now {}, {})",
                    Money(a.0.abs()),
                    ch.catalog.currency,
                    inst.latest_operation.unwrap_or("billing"),
                    inst.charge,
                    ch.catalog.itype(inst.itype).name
                )
            }
            (Some(from), Some(to)) => {
                let cost = if ch.accrual.amount.0 != 0 {
                    format!(
                        " (the {} in {from} cost {} {})",
                        ch.accrual.end.since(ch.accrual.start),
                        ch.accrual.amount,
                        ch.catalog.currency
                    )
                } else {
                    String::new()
                };
                format!("{from} -> {to}{cost}")
            }
            (None, None) => return,
        };
        let _ = writeln!(self.out, "{}  {id}  {what}", ch.time);
    }

    pub fn call(&mut self, c: &CallRecord<'_>) {
        if self.filter.instance.is_some() || self.filter.zone.is_some() {
            // Calls are narrated only when nothing is filtered: a call may touch many zones.
            return;
        }
        let who = match c.caller {
            Owner::Workload(w) => format!("workload #{w}"),
            Owner::Script => "script".into(),
            Owner::Pool => "prepaid pool".into(),
            Owner::Autoscaler(a) => format!("autoscaler #{a}"),
            Owner::Trace(t) => format!("trace #{t}"),
        };
        let outcome = match c.result {
            Ok(Response::Launched(ids)) => format!("ok, {} launched", ids.len()),
            Ok(Response::Accepted) => "ok".into(),
            Ok(Response::Instances { total, items }) => {
                format!("ok, {} of {total} listed", items.len())
            }
            Ok(Response::Quotas(q)) => format!("ok, {} quota lines", q.len()),
            Ok(Response::Configs(c)) => format!("ok, {} zone/type lines", c.len()),
            Err(e) => format!("refused: {}", e),
        };
        let _ = writeln!(
            self.out,
            "{}  {who} calls {}: {outcome}",
            c.time,
            c.request.action().as_str()
        );
    }

    /// A platform event (a zone outage beginning or ending): narrated unless the trace is
    /// narrowed to one instance or to another zone.
    pub fn platform(&mut self, time: crate::engine::SimTime, zone: &str, what: &str) {
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
