//! `[compare]` and `[sweep]`: sections only `fleetsim compare`, `sweep` and `validate` read. A
//! run does not need them, so they are resolved on demand, not when the file is read (a
//! mistake in `[compare]` does not stop a `run`), but here, like every other section, with the
//! same `file:line: `field`: what` messages.

use crate::cloud::{ChargeType, RenewFlag};

use super::load::{Scenario, ScenarioError};
use super::schema::StrategySettings;

/// A purchasing strategy of `[compare]`, resolved against the scenario.
#[derive(Clone, Debug)]
pub struct Strategy {
    pub name: String,
    /// Per workload: whether the strategy covers it.
    pub scope: Vec<bool>,
    /// Per `[[traces]]` replay: whether the strategy covers it (its charge type and period).
    pub trace_scope: Vec<bool>,
    pub charge: Option<ChargeType>,
    pub period_months: u32,
    pub renew_flag: RenewFlag,
    pub fallback: Option<ChargeType>,
    pub base_percentile: Option<f64>,
}

/// `[sweep]`: replications, and the grid's axes as written.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepSection {
    pub replications: u32,
    /// Each axis: its dotted path and its values as TOML text (`200`, `"6h"`), in path order.
    pub axes: Vec<(String, Vec<String>)>,
}

impl Scenario {
    /// Whether the file has a `[compare]` section.
    pub fn has_compare(&self) -> bool {
        self.file.compare.is_some()
    }

    /// `compare.replications`, when the file has a `[compare]` section.
    pub fn compare_replications(&self) -> Option<u32> {
        self.file.compare.as_ref().map(|c| c.replications)
    }

    /// Checks and resolves the `[compare]` strategies.
    pub fn strategies(&self) -> Result<Vec<Strategy>, ScenarioError> {
        let Some(c) = &self.file.compare else {
            return Err(ScenarioError::Invalid {
                file: self.origin.clone(),
                line: None,
                field: String::new(),
                message: "no [compare] section; add `[[compare.strategies]]` tables (see \
                          README, `fleetsim compare`)"
                    .into(),
            });
        };
        if c.strategies.is_empty() {
            return Err(ScenarioError::Invalid {
                file: self.origin.clone(),
                line: self.line_of("compare"),
                field: String::new(),
                message: "`compare.strategies` is empty".into(),
            });
        }
        if c.replications == 0 {
            return Err(self.mistake("compare.replications", "must be at least 1".into()));
        }
        for (i, s) in c.strategies.iter().enumerate() {
            if let Some(j) = c.strategies[..i].iter().position(|o| o.name == s.name) {
                return Err(self.mistake(
                    &format!("compare.strategies[{i}].name"),
                    format!(
                        "`{}` is also the name of strategy {j}; each strategy needs its own name",
                        s.name
                    ),
                ));
            }
        }
        c.strategies
            .iter()
            .enumerate()
            .map(|(i, s)| self.strategy(i, s))
            .collect()
    }

    /// Strategy `i`, `s`.
    fn strategy(&self, i: usize, s: &StrategySettings) -> Result<Strategy, ScenarioError> {
        let fail = |f: &str, message: String| {
            self.mistake(&format!("compare.strategies[{i}].{f}"), message)
        };
        let mut scope = vec![s.workloads.is_empty(); self.workloads.len()];
        let mut trace_scope = vec![s.workloads.is_empty(); self.traces.len()];
        for name in &s.workloads {
            if let Some(w) = self.workloads.iter().position(|w| &w.name == name) {
                scope[w] = true;
            } else if let Some(t) = self.traces.iter().position(|t| &t.name == name) {
                trace_scope[t] = true;
            } else {
                return Err(fail(
                    "workloads",
                    format!("no workload or trace is named `{name}`"),
                ));
            }
        }
        // A trace replay takes a strategy's charge type and period; what it cannot take is
        // refused, so no row of the table repeats another for a reason the table does not show.
        for (t, spec) in self
            .traces
            .iter()
            .enumerate()
            .filter(|(t, _)| trace_scope[*t])
        {
            let why = if s.base_percentile.is_some() {
                Some("a prepaid base is sized and bought for [[workloads]] only")
            } else if s.fallback.is_some() {
                Some("a fallback charge type applies to [[workloads]] only")
            } else if spec.columns.charge_type.is_some() {
                Some("its charge_type column sets each VM's charge type")
            } else {
                None
            };
            if let Some(why) = why {
                return Err(fail(
                    "workloads",
                    format!(
                        "covers the trace replay `{}` (traces[{t}]), which cannot follow it: \
                         {why}; list the strategy's workloads in `workloads` to leave the trace \
                         out",
                        spec.name
                    ),
                ));
            }
        }
        let period_months = s.period_months.unwrap_or(1);
        let buys_prepaid = s.charge_type == Some(ChargeType::Prepaid)
            || s.base_percentile.is_some()
            || s.fallback == Some(ChargeType::Prepaid);
        if s.period_months.is_some() && !buys_prepaid {
            return Err(fail(
                "period_months",
                "this strategy buys nothing PREPAID, so a prepaid period means nothing".into(),
            ));
        }
        if !self.rules.valid_period(period_months) {
            return Err(fail(
                "period_months",
                format!("{period_months} is not a prepaid period"),
            ));
        }
        let renew_flag = match &s.renew_flag {
            None => RenewFlag::default(),
            Some(t) => RenewFlag::parse(t)
                .ok_or_else(|| fail("renew_flag", format!("unknown RenewFlag `{t}`")))?,
        };
        if s.fallback.is_some() && s.charge_type != Some(ChargeType::Spotpaid) {
            return Err(fail(
                "fallback",
                "a fallback needs charge_type = \"SPOTPAID\"".into(),
            ));
        }
        if s.fallback == Some(ChargeType::Spotpaid) {
            return Err(fail(
                "fallback",
                "the fallback must be PREPAID or POSTPAID_BY_HOUR".into(),
            ));
        }
        if let Some(p) = s.base_percentile {
            if !(0.0..=100.0).contains(&p) {
                return Err(fail(
                    "base_percentile",
                    format!("must be within 0..=100, got {p}"),
                ));
            }
            if s.charge_type.is_some() {
                return Err(fail(
                    "base_percentile",
                    "a prepaid base runs the rest postpaid; drop charge_type".into(),
                ));
            }
        }
        if s.charge_type.is_none() && s.base_percentile.is_none() {
            return Err(fail(
                "name",
                "give a charge_type or a base_percentile".into(),
            ));
        }
        Ok(Strategy {
            name: s.name.clone(),
            scope,
            trace_scope,
            charge: s.charge_type,
            period_months,
            renew_flag,
            fallback: s.fallback,
            base_percentile: s.base_percentile,
        })
    }

    /// The `[sweep]` section, when the file has one.
    pub fn sweep(&self) -> Option<SweepSection> {
        self.file.sweep.as_ref().map(|sw| SweepSection {
            replications: sw.replications,
            axes: sw
                .set
                .iter()
                .map(|(path, values)| {
                    (path.clone(), values.iter().map(|v| v.to_string()).collect())
                })
                .collect(),
        })
    }
}
