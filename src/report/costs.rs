//! `costs.csv`: cost settled per hour, by zone and charge type. Computed from billing pieces
//! (constant-rate stretches of time) in O(1) each, never by waking instances every hour: a
//! piece `[a, b)` at rate `r` adds `r` to the running rate from the hour after `a` to the hour
//! of `b`, and the partial hours at both ends directly. Summing per hour at the end gives each
//! hour's cost exactly, and the hours add up to the total to the last unit.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result};

use crate::cloud::billing::Accrual;
use crate::cloud::{Catalog, ChargeType, Money};
use crate::engine::SimTime;
use crate::engine::time::MS_PER_HOUR;

use super::recorder::secs;

/// Hourly settlement per zone and charge type.
#[derive(Clone, Debug)]
pub struct CostLedger {
    hours: usize,
    /// Per cell (zone × charge type), per hour: the rate (Σ hourly × percent) switched on at
    /// the start of that hour, and the amounts of partial hours and instant charges.
    rate_step: Vec<Vec<i128>>,
    partial: Vec<Vec<i128>>,
}

impl CostLedger {
    /// A ledger for a run of `horizon` across `zones` zones.
    pub fn new(zones: usize, horizon: SimTime) -> Self {
        let hours = (horizon.ms().div_ceil(MS_PER_HOUR) as usize).max(1) + 1;
        CostLedger {
            hours,
            rate_step: vec![vec![0; hours + 1]; zones * 3],
            partial: vec![vec![0; hours + 1]; zones * 3],
        }
    }

    fn hour_of(&self, t: SimTime) -> usize {
        ((t.ms() / MS_PER_HOUR) as usize).min(self.hours - 1)
    }

    /// Books what a state change charged to `zone` and `charge`.
    pub fn book(&mut self, zone: usize, charge: ChargeType, a: &Accrual<'_>) {
        let cell = zone * 3 + charge.index();
        for p in a.pieces {
            let r = p.hourly as i128 * p.percent as i128;
            let (ha, hb) = (self.hour_of(p.start), self.hour_of(p.end));
            let end_of = |h: usize| ((h as u64 + 1) * MS_PER_HOUR) as i128;
            // +r from a onwards: the rest of hour ha, then whole hours from ha+1.
            self.partial[cell][ha] += r * (end_of(ha) - p.start.ms() as i128);
            self.rate_step[cell][ha + 1] += r;
            // −r from b onwards.
            self.partial[cell][hb] -= r * (end_of(hb) - p.end.ms() as i128);
            self.rate_step[cell][hb + 1] -= r;
        }
        let instant = a.instant_part();
        if instant.0 != 0 {
            let h = self.hour_of(a.end);
            self.partial[cell][h] += instant.0;
        }
    }

    /// Cost per hour for one zone and charge type.
    pub fn hourly(&self, zone: usize, charge: ChargeType) -> Vec<Money> {
        let cell = zone * 3 + charge.index();
        let mut rate: i128 = 0;
        (0..self.hours)
            .map(|h| {
                rate += self.rate_step[cell][h];
                Money(self.partial[cell][h] + rate * MS_PER_HOUR as i128)
            })
            .collect()
    }

    /// Writes `costs.csv`: `hour_start_s, zone, charge_type, cost`, for each hour of the run
    /// and each zone and charge type that ever cost anything.
    pub fn write_csv(&self, path: &Path, cat: &Catalog, horizon: SimTime) -> Result<()> {
        let f = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        let mut w = BufWriter::new(f);
        writeln!(w, "hour_start_s,zone,charge_type,cost")?;
        let last_hour = (horizon.ms().div_ceil(MS_PER_HOUR) as usize).max(1);
        let mut columns = Vec::new();
        for (z, zone) in cat.zones.iter().enumerate() {
            for c in ChargeType::ALL {
                let cell = z * 3 + c.index();
                let used = self.partial[cell].iter().any(|&x| x != 0)
                    || self.rate_step[cell].iter().any(|&x| x != 0);
                if used {
                    columns.push((zone.name.as_str(), c, self.hourly(z, c)));
                }
            }
        }
        for h in 0..last_hour {
            for (zone, c, hourly) in &columns {
                writeln!(
                    w,
                    "{},{},{},{}",
                    secs(SimTime(h as u64 * MS_PER_HOUR)),
                    zone,
                    c,
                    hourly[h]
                )?;
            }
        }
        w.flush().context("cannot write costs.csv")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::billing::Piece;

    #[test]
    fn pieces_split_across_hours_exactly() {
        let mut l = CostLedger::new(1, SimTime(5 * MS_PER_HOUR));
        // 1.00/h from 00:30 to 02:15, and a point charge of 3.00 at 01:10
        let pieces = [Piece {
            start: SimTime(MS_PER_HOUR / 2),
            end: SimTime(2 * MS_PER_HOUR + MS_PER_HOUR / 4),
            hourly: 1_000_000,
            percent: 100,
        }];
        let amount = pieces[0].amount() + Money::from_micros(3_000_000);
        l.book(
            0,
            ChargeType::PostpaidByHour,
            &Accrual {
                start: pieces[0].start,
                end: SimTime(MS_PER_HOUR + 10 * 60_000),
                amount,
                pieces: &pieces,
            },
        );
        let h = l.hourly(0, ChargeType::PostpaidByHour);
        assert_eq!(h[0], Money::from_micros(500_000));
        assert_eq!(h[1], Money::from_micros(4_000_000));
        assert_eq!(h[2], Money::from_micros(250_000));
        assert_eq!(h[3], Money::ZERO);
        assert_eq!(h.iter().copied().sum::<Money>(), amount);
    }
}
