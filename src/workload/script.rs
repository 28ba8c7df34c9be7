//! Scripted API calls: at a given time, call an action on a selection of instances. They go
//! through the same control plane as every other client, so a script sees the same quotas,
//! stock, rate limits and error codes.

use crate::cloud::api::{Filter, InstanceRef, InstanceRefs, RunInstances};
use crate::cloud::instance::RenewFlag;
use crate::cloud::{
    Action, ChargeType, Fleet, Instance, InstanceId, InstanceState, Owner, Request, StoppedMode,
    TypeIdx, ZoneIdx,
};
use crate::engine::{RandomStream, SimTime};

/// What a scripted action calls.
#[derive(Clone, Debug, PartialEq)]
pub enum ScriptCall {
    Run(RunInstances),
    Start,
    Stop(StoppedMode),
    Reboot,
    Terminate,
    Reset {
        itype: TypeIdx,
        force_stop: bool,
    },
    Renew {
        months: u32,
    },
    Modify {
        charge: ChargeType,
        months: u32,
    },
    Describe {
        page_size: u32,
        filters: Vec<Filter>,
    },
    DescribeQuota {
        zone: Option<ZoneIdx>,
    },
    DescribeConfigs {
        zone: Option<ZoneIdx>,
    },
    /// DescribeInstancesStatus of the selected instances (all, without `select`).
    DescribeStatus,
    ModifyRenewFlag(RenewFlag),
    DescribeZones,
    DescribeRegions,
    DescribeTypeConfigs {
        zone: Option<ZoneIdx>,
    },
    /// The InquiryPrice* action pricing this call (Run, Renew, Reset, Terminate or Modify):
    /// answers what the call would charge, and does nothing.
    Inquire(Box<ScriptCall>),
}

/// Which instances an action names, resolved to catalogue indices.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Selection {
    pub zone: Option<ZoneIdx>,
    pub charge: Option<ChargeType>,
    pub state: Option<InstanceState>,
    pub itype: Option<TypeIdx>,
    pub owner: Option<Owner>,
    /// Index of an earlier action whose instances to take.
    pub from: Option<usize>,
    /// Explicit ids: when set, exactly these and nothing else (the loader refuses other fields).
    pub ids: Vec<String>,
    pub fraction: Option<f64>,
    pub count: Option<u32>,
}

/// One scripted action.
#[derive(Clone, Debug, PartialEq)]
pub struct ScriptAction {
    pub at: SimTime,
    pub name: Option<String>,
    pub call: ScriptCall,
    pub select: Option<Selection>,
}

impl ScriptCall {
    pub fn action(&self) -> Action {
        match self {
            ScriptCall::Run(_) => Action::RunInstances,
            ScriptCall::Start => Action::StartInstances,
            ScriptCall::Stop(_) => Action::StopInstances,
            ScriptCall::Reboot => Action::RebootInstances,
            ScriptCall::Terminate => Action::TerminateInstances,
            ScriptCall::Reset { .. } => Action::ResetInstancesType,
            ScriptCall::Renew { .. } => Action::RenewInstances,
            ScriptCall::Modify { .. } => Action::ModifyInstancesChargeType,
            ScriptCall::Describe { .. } => Action::DescribeInstances,
            ScriptCall::DescribeQuota { .. } => Action::DescribeAccountQuota,
            ScriptCall::DescribeConfigs { .. } => Action::DescribeZoneInstanceConfigInfos,
            ScriptCall::DescribeStatus => Action::DescribeInstancesStatus,
            ScriptCall::ModifyRenewFlag(_) => Action::ModifyInstancesRenewFlag,
            ScriptCall::DescribeZones => Action::DescribeZones,
            ScriptCall::DescribeRegions => Action::DescribeRegions,
            ScriptCall::DescribeTypeConfigs { .. } => Action::DescribeInstanceTypeConfigs,
            ScriptCall::Inquire(c) => match c.action() {
                Action::RunInstances => Action::InquiryPriceRunInstances,
                Action::RenewInstances => Action::InquiryPriceRenewInstances,
                Action::ResetInstancesType => Action::InquiryPriceResetInstancesType,
                Action::TerminateInstances => Action::InquiryPriceTerminateInstances,
                _ => Action::InquiryPriceModifyInstancesChargeType,
            },
        }
    }

    /// Most ids one call of this action takes.
    pub fn ids_per_call(&self) -> usize {
        match self {
            ScriptCall::Reset { .. } => 1,
            ScriptCall::Modify { .. } => 20,
            // The inquiries take up to 100 instances, InquiryPriceResetInstancesType one.
            ScriptCall::Inquire(c) if matches!(**c, ScriptCall::Reset { .. }) => 1,
            _ => 100,
        }
    }

    /// The request naming `ids`.
    pub fn request(&self, ids: InstanceRefs) -> Request {
        match self {
            ScriptCall::Run(r) => Request::RunInstances(r.clone()),
            ScriptCall::Start => Request::StartInstances { ids },
            ScriptCall::Stop(m) => Request::StopInstances {
                ids,
                stopped_mode: *m,
            },
            ScriptCall::Reboot => Request::RebootInstances { ids },
            ScriptCall::Terminate => Request::TerminateInstances { ids },
            ScriptCall::Reset { itype, force_stop } => Request::ResetInstancesType {
                ids,
                itype: *itype,
                force_stop: *force_stop,
            },
            ScriptCall::Renew { months } => Request::RenewInstances {
                ids,
                period_months: *months,
            },
            ScriptCall::Modify { charge, months } => Request::ModifyInstancesChargeType {
                ids,
                charge: *charge,
                period_months: *months,
            },
            ScriptCall::Describe { page_size, filters } => Request::DescribeInstances {
                ids,
                filters: filters.clone(),
                offset: 0,
                limit: Some(*page_size),
            },
            ScriptCall::DescribeQuota { zone } => Request::DescribeAccountQuota { zone: *zone },
            ScriptCall::DescribeConfigs { zone } => {
                Request::DescribeZoneInstanceConfigInfos { zone: *zone }
            }
            ScriptCall::DescribeStatus => Request::DescribeInstancesStatus {
                limit: Some(ids.len().clamp(1, 100) as u32),
                ids,
                zones: vec![],
                offset: 0,
            },
            ScriptCall::ModifyRenewFlag(flag) => {
                Request::ModifyInstancesRenewFlag { ids, flag: *flag }
            }
            ScriptCall::DescribeZones => Request::DescribeZones,
            ScriptCall::DescribeRegions => Request::DescribeRegions,
            ScriptCall::DescribeTypeConfigs { zone } => {
                Request::DescribeInstanceTypeConfigs { zone: *zone }
            }
            ScriptCall::Inquire(c) => match c.request(ids) {
                Request::RunInstances(r) => Request::InquiryPriceRunInstances(r),
                Request::RenewInstances { ids, period_months } => {
                    Request::InquiryPriceRenewInstances { ids, period_months }
                }
                Request::ResetInstancesType { ids, itype, .. } => {
                    Request::InquiryPriceResetInstancesType { ids, itype }
                }
                Request::TerminateInstances { ids } => {
                    Request::InquiryPriceTerminateInstances { ids }
                }
                Request::ModifyInstancesChargeType {
                    ids,
                    charge,
                    period_months,
                } => Request::InquiryPriceModifyInstancesChargeType {
                    ids,
                    charge,
                    period_months,
                },
                other => other,
            },
        }
    }
}

impl Selection {
    fn matches(&self, inst: &Instance, earlier: &[InstanceId]) -> bool {
        self.zone.is_none_or(|z| inst.zone == z)
            && self.charge.is_none_or(|c| inst.charge == c)
            && self.state.is_none_or(|s| inst.state == s)
            && self.itype.is_none_or(|t| inst.itype == t)
            && self.owner.is_none_or(|o| inst.owner == o)
            && (self.from.is_none() || earlier.binary_search(&inst.id).is_ok())
    }

    /// The instances selected now, in id order; explicit `ids` instead select exactly those
    /// ids, as written, whether they exist or not (the control plane answers for unknown ones).
    /// `earlier` is the sorted set of instances the `from` action was applied to.
    pub fn pick(
        &self,
        fleet: &Fleet,
        earlier: &[InstanceId],
        rng: &mut RandomStream,
    ) -> InstanceRefs {
        if !self.ids.is_empty() {
            return self.ids.iter().cloned().map(InstanceRef::Text).collect();
        }
        let mut ids: Vec<InstanceId> = fleet
            .iter()
            .filter(|(_, i)| self.matches(i, earlier))
            .map(|(_, i)| i.id)
            .collect();
        let mut keep = ids.len();
        if let Some(f) = self.fraction {
            keep = ((ids.len() as f64) * f).round() as usize;
        }
        if let Some(c) = self.count {
            keep = keep.min(c as usize);
        }
        if keep < ids.len() {
            // Partial Fisher-Yates: a uniform random subset of size `keep`.
            for i in 0..keep {
                let j = i + rng.below((ids.len() - i) as u64) as usize;
                ids.swap(i, j);
            }
            ids.truncate(keep);
            ids.sort();
        }
        ids.into_iter().map(InstanceRef::Id).collect()
    }
}
