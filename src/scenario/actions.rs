//! `[[actions]]`: scripted API calls, each checked for what it needs and nothing it cannot use.

use std::collections::HashMap;

use crate::cloud::api::{Filter, RunInstances};
use crate::cloud::billing::BillingRules;
use crate::cloud::{
    Action, ActorIdx, ChargeType, InstanceState, Owner, StoppedMode, TypeIdx, ZoneIdx,
};
use crate::engine::SimTime;
use crate::workload::script::{ScriptAction, ScriptCall, Selection};

use super::attach::{AttachSettings, attachments_of};
use super::load::{Fail, ScenarioError};
use super::names::Names;
use super::schema::ScenarioFile;
use super::values::{parse_price, parse_renew_flag};

/// Resolves `[[actions]]`: checks each action has what it needs and nothing it cannot use.
pub(super) fn resolve_actions(
    f: &ScenarioFile,
    names: &Names<'_>,
    rules: &BillingRules,
    fail: Fail<'_>,
) -> Result<Vec<ScriptAction>, ScenarioError> {
    let mut out: Vec<ScriptAction> = Vec::new();
    let mut named: HashMap<&str, usize> = HashMap::new();
    for (i, a) in f.actions.iter().enumerate() {
        let at = |s: &str| format!("actions[{i}].{s}");
        if a.at.0 >= f.duration.0 {
            return Err(fail(
                &at("at"),
                format!(
                    "{} is not before the end of the run ({})",
                    a.at.0, f.duration.0
                ),
            ));
        }
        let action = Action::parse(&a.action).ok_or_else(|| {
            fail(
                &at("action"),
                format!(
                    "unknown action `{}`; use one of {}",
                    a.action,
                    Action::ALL
                        .iter()
                        .map(|x| x.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?;
        let zone = |field: &str, name: &Option<String>| -> Result<Option<ZoneIdx>, ScenarioError> {
            name.as_ref().map(|n| names.zone(&at(field), n)).transpose()
        };
        let itype =
            |field: &str, name: &Option<String>| -> Result<Option<TypeIdx>, ScenarioError> {
                name.as_ref()
                    .map(|n| names.itype(&at(field), n))
                    .transpose()
            };
        let need = |what: &str| fail(&at(what), format!("{} needs `{what}`", a.action));
        let months = |default: u32| -> Result<u32, ScenarioError> {
            let m = a.period_months.unwrap_or(default);
            if rules.valid_period(m) {
                Ok(m)
            } else {
                Err(fail(
                    &at("period_months"),
                    format!("{m} is not a prepaid period; use 1-12, 24, 36, 48 or 60"),
                ))
            }
        };
        let takes_selection = !matches!(
            action,
            Action::RunInstances
                | Action::InquiryPriceRunInstances
                | Action::DescribeAccountQuota
                | Action::DescribeZoneInstanceConfigInfos
                | Action::DescribeZones
                | Action::DescribeRegions
                | Action::DescribeInstanceTypeConfigs
        );
        if !takes_selection && a.select.is_some() {
            return Err(fail(
                &at("select"),
                format!("{} does not name instances", a.action),
            ));
        }
        if matches!(
            action,
            Action::StartInstances
                | Action::StopInstances
                | Action::RebootInstances
                | Action::TerminateInstances
                | Action::ResetInstancesType
                | Action::RenewInstances
                | Action::ModifyInstancesChargeType
                | Action::ModifyInstancesRenewFlag
                | Action::InquiryPriceRenewInstances
                | Action::InquiryPriceResetInstancesType
                | Action::InquiryPriceTerminateInstances
                | Action::InquiryPriceModifyInstancesChargeType
        ) && a.select.is_none()
        {
            return Err(need("select"));
        }
        // An inquiry takes the fields of the action it prices.
        let priced = match action {
            Action::InquiryPriceRunInstances => Action::RunInstances,
            Action::InquiryPriceRenewInstances => Action::RenewInstances,
            Action::InquiryPriceResetInstancesType => Action::ResetInstancesType,
            Action::InquiryPriceTerminateInstances => Action::TerminateInstances,
            Action::InquiryPriceModifyInstancesChargeType => Action::ModifyInstancesChargeType,
            other => other,
        };
        let call = match priced {
            Action::RunInstances => ScriptCall::Run(RunInstances {
                zone: zone("zone", &a.zone)?.ok_or_else(|| need("zone"))?,
                itype: itype("instance_type", &a.instance_type)?
                    .ok_or_else(|| need("instance_type"))?,
                charge: a.charge_type.unwrap_or(ChargeType::PostpaidByHour),
                count: a.count.unwrap_or(1),
                min_count: a.min_count,
                dry_run: a.dry_run,
                // Left unchecked on purpose: a bad Period is for the control plane to refuse.
                period_months: a.period_months.unwrap_or(1),
                renew_flag: parse_renew_flag(&a.renew_flag, &at("renew_flag"), fail)?,
                max_price: parse_price(a.max_price, &at("max_price"), fail)?,
                client_token: a.client_token.clone(),
                attach: attachments_of(
                    AttachSettings {
                        charge_type: a.charge_type.unwrap_or(ChargeType::PostpaidByHour),
                        system_disk: &a.system_disk,
                        data_disks: &a.data_disks,
                        internet_accessible: &a.internet_accessible,
                    },
                    &at,
                    fail,
                )?,
            }),
            Action::StartInstances => ScriptCall::Start,
            Action::StopInstances => {
                match a.stop_type.as_deref() {
                    None | Some("SOFT") | Some("HARD") | Some("SOFT_FIRST") => {}
                    Some(o) => {
                        return Err(fail(
                            &at("stop_type"),
                            format!("`{o}`: use SOFT, HARD or SOFT_FIRST"),
                        ));
                    }
                }
                ScriptCall::Stop(match a.stopped_mode.as_deref() {
                    None | Some("KEEP_CHARGING") => StoppedMode::KeepCharging,
                    Some("STOP_CHARGING") => StoppedMode::StopCharging,
                    Some(o) => {
                        return Err(fail(
                            &at("stopped_mode"),
                            format!("`{o}`: use KEEP_CHARGING or STOP_CHARGING"),
                        ));
                    }
                })
            }
            Action::RebootInstances => ScriptCall::Reboot,
            Action::TerminateInstances => ScriptCall::Terminate,
            Action::ResetInstancesType => ScriptCall::Reset {
                itype: itype("instance_type", &a.instance_type)?
                    .ok_or_else(|| need("instance_type"))?,
                force_stop: a.force_stop,
            },
            Action::RenewInstances => ScriptCall::Renew { months: months(1)? },
            Action::ModifyInstancesChargeType => ScriptCall::Modify {
                charge: a.charge_type.ok_or_else(|| need("charge_type"))?,
                months: months(1)?,
            },
            Action::DescribeInstances => {
                // CVM refuses InstanceIds with Filters (InvalidParameter), and a selection is
                // sent as InstanceIds: every such call would fail, so say so now.
                if a.select.is_some() && !a.filters.is_empty() {
                    return Err(fail(
                        &at("filters"),
                        "DescribeInstances takes `select` (sent as InstanceIds) or `filters`, \
                         not both: CVM refuses InstanceIds with Filters (InvalidParameter); \
                         use `filters` alone (an `instance-id` filter names ids)"
                            .into(),
                    ));
                }
                let page_size = a.page_size.unwrap_or(20);
                ScriptCall::Describe {
                    page_size,
                    filters: a
                        .filters
                        .iter()
                        .map(|(k, v)| Filter {
                            name: k.clone(),
                            values: v.clone(),
                        })
                        .collect(),
                }
            }
            Action::DescribeAccountQuota => ScriptCall::DescribeQuota {
                zone: zone("zone", &a.zone)?,
            },
            Action::DescribeZoneInstanceConfigInfos => ScriptCall::DescribeConfigs {
                zone: zone("zone", &a.zone)?,
            },
            Action::DescribeInstancesStatus => ScriptCall::DescribeStatus,
            Action::ModifyInstancesRenewFlag => {
                if a.renew_flag.is_none() {
                    return Err(need("renew_flag"));
                }
                ScriptCall::ModifyRenewFlag(parse_renew_flag(
                    &a.renew_flag,
                    &at("renew_flag"),
                    fail,
                )?)
            }
            Action::DescribeZones => ScriptCall::DescribeZones,
            Action::DescribeRegions => ScriptCall::DescribeRegions,
            Action::DescribeInstanceTypeConfigs => ScriptCall::DescribeTypeConfigs {
                zone: zone("zone", &a.zone)?,
            },
            Action::InquiryPriceRunInstances
            | Action::InquiryPriceRenewInstances
            | Action::InquiryPriceResetInstancesType
            | Action::InquiryPriceTerminateInstances
            | Action::InquiryPriceModifyInstancesChargeType => {
                unreachable!("an inquiry is resolved as the action it prices")
            }
        };
        let call = if priced == action {
            call
        } else {
            ScriptCall::Inquire(Box::new(call))
        };
        let select = match &a.select {
            None => None,
            Some(sel) => {
                let state = sel
                    .state
                    .as_ref()
                    .map(|s| {
                        InstanceState::parse(s).ok_or_else(|| {
                            fail(
                                &at("select.state"),
                                format!("`{s}` is not an instance state (e.g. RUNNING, STOPPED)"),
                            )
                        })
                    })
                    .transpose()?;
                let owner = sel
                    .owner
                    .as_ref()
                    .map(|o| {
                        if o == "script" {
                            Ok(Owner::Script)
                        } else {
                            f.workloads
                                .iter()
                                .position(|w| &w.name == o)
                                .map(|p| Owner::Workload(p as ActorIdx))
                                .or_else(|| {
                                    f.autoscalers
                                        .iter()
                                        .position(|a| &a.name == o)
                                        .map(|p| Owner::Autoscaler(p as ActorIdx))
                                })
                                .ok_or_else(|| {
                                    fail(
                                        &at("select.owner"),
                                        format!(
                                            "`{o}` is neither `script` nor a workload's or an \
                                             autoscaler's name"
                                        ),
                                    )
                                })
                        }
                    })
                    .transpose()?;
                let from = sel
                    .from
                    .as_ref()
                    .map(|n| {
                        out.iter()
                            .position(|x| x.name.as_deref() == Some(n))
                            .ok_or_else(|| {
                                fail(
                                    &at("select.from"),
                                    format!("no earlier action is named `{n}`"),
                                )
                            })
                    })
                    .transpose()?;
                if let Some(ids) = &sel.ids {
                    // `ids` names instances exactly; mixed with filters it would be unclear
                    // whether they add to or narrow the match, so neither is guessed.
                    let others: Vec<&str> = [
                        ("zone", sel.zone.is_some()),
                        ("charge_type", sel.charge_type.is_some()),
                        ("state", sel.state.is_some()),
                        ("instance_type", sel.instance_type.is_some()),
                        ("owner", sel.owner.is_some()),
                        ("from", sel.from.is_some()),
                        ("fraction", sel.fraction.is_some()),
                        ("count", sel.count.is_some()),
                    ]
                    .into_iter()
                    .filter_map(|(k, set)| set.then_some(k))
                    .collect();
                    if !others.is_empty() {
                        return Err(fail(
                            &at("select.ids"),
                            format!(
                                "`ids` names the instances exactly and cannot be combined with \
                                 `{}`: use either `ids` or the other fields",
                                others.join("`, `")
                            ),
                        ));
                    }
                    if ids.is_empty() {
                        return Err(fail(
                            &at("select.ids"),
                            "is empty: name at least one instance id".into(),
                        ));
                    }
                }
                if let Some(fr) = sel.fraction
                    && !(fr > 0.0 && fr <= 1.0)
                {
                    return Err(fail(
                        &at("select.fraction"),
                        format!("must be in (0, 1], got {fr}"),
                    ));
                }
                Some(Selection {
                    zone: zone("select.zone", &sel.zone)?,
                    charge: sel.charge_type,
                    state,
                    itype: itype("select.instance_type", &sel.instance_type)?,
                    owner,
                    from,
                    ids: sel.ids.clone().unwrap_or_default(),
                    fraction: sel.fraction,
                    count: sel.count,
                })
            }
        };
        if let Some(n) = &a.name
            && let Some(j) = named.insert(n, i)
        {
            return Err(fail(
                &at("name"),
                format!("two actions are named `{n}` (actions[{j}] too)"),
            ));
        }
        if let Some(prev) = out.last()
            && prev.at > SimTime::ZERO + a.at.0
        {
            return Err(fail(
                &at("at"),
                "actions must be listed in time order".into(),
            ));
        }
        out.push(ScriptAction {
            at: SimTime::ZERO + a.at.0,
            name: a.name.clone(),
            call,
            select,
        });
    }
    Ok(out)
}
