//! `costs.csv`: cost settled per hour, by zone and charge type. Computed from billing pieces
//! (constant-rate stretches of time) in O(1) each, never by waking instances every hour: a
//! piece `[a, b)` at rate `r` adds `r` to the running rate from the hour after `a` to the hour
//! of `b`, and the partial hours at both ends directly. Summing per hour at the end gives each
//! hour's cost exactly, and the hours add up to the total to the last unit.

use std::path::Path;

use anyhow::Result;
use serde::Serialize;

use crate::cloud::billing::{Accrual, Piece};
use crate::cloud::{Catalog, ChargeType, Money};
use crate::engine::SimTime;
use crate::engine::time::MS_PER_HOUR;

use super::recorder::Secs;
use super::table::{Shown, Table};

/// Hourly settlement per zone and charge type.
#[derive(Clone, Debug)]
pub struct CostLedger {
    hours: usize,
    /// Per cell (zone × charge type), per hour (`hours + 1` slots a cell, cell after cell in
    /// one vector): the rate (Σ hourly × percent) switched on at the start of that hour, and
    /// the amounts of partial hours and instant charges. One flat vector of both halves keeps
    /// an hour's two numbers side by side, so booking a piece (every state change of a run)
    /// touches two nearby cache lines and no per-cell vector.
    slots: Vec<Slot>,
}

/// One hour of one cell of [`CostLedger`].
#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    rate_step: i128,
    partial: i128,
}

impl CostLedger {
    /// A ledger for a run of `horizon` across `zones` zones.
    pub fn new(zones: usize, horizon: SimTime) -> Self {
        let hours = (horizon.ms().div_ceil(MS_PER_HOUR) as usize).max(1) + 1;
        CostLedger {
            hours,
            slots: vec![Slot::default(); zones * 3 * (hours + 1)],
        }
    }

    /// The slots of one cell, hour by hour.
    fn cell(&self, zone: usize, charge: ChargeType) -> &[Slot] {
        let n = self.hours + 1;
        let at = (zone * 3 + charge.index()) * n;
        &self.slots[at..at + n]
    }

    fn cell_mut(&mut self, zone: usize, charge: ChargeType) -> &mut [Slot] {
        let n = self.hours + 1;
        let at = (zone * 3 + charge.index()) * n;
        &mut self.slots[at..at + n]
    }

    fn hour_of(&self, t: SimTime) -> usize {
        ((t.ms() / MS_PER_HOUR) as usize).min(self.hours - 1)
    }

    /// Books what a state change charged to `zone` and `charge`.
    pub fn book(&mut self, zone: usize, charge: ChargeType, a: &Accrual<'_>) {
        self.book_pieces(zone, charge, a.pieces);
        self.book_instant(zone, charge, a.end, a.instant_part());
    }

    /// Books constant-rate pieces (the spread part of an [`Accrual`]) to `zone` and `charge`.
    pub fn book_pieces(&mut self, zone: usize, charge: ChargeType, pieces: &[Piece]) {
        let last = self.hours - 1;
        let cell = self.cell_mut(zone, charge);
        for p in pieces {
            let r = p.hourly as i128 * p.percent as i128;
            let hour_of = |t: SimTime| ((t.ms() / MS_PER_HOUR) as usize).min(last);
            let ha = hour_of(p.start);
            // The rounding of the hour's settlement (the piece lies within that hour).
            cell[ha].partial += p.settle as i128;
            if p.end > p.start && hour_of(SimTime(p.end.ms() - 1)) == ha {
                // Within one hour (a spot price step, a short stay): the whole amount lands in
                // that hour, which is what the four difference-array updates below add up to.
                cell[ha].partial += r * (p.end.ms() - p.start.ms()) as i128;
                continue;
            }
            let hb = hour_of(p.end);
            let end_of = |h: usize| ((h as u64 + 1) * MS_PER_HOUR) as i128;
            // +r from a onwards: the rest of hour ha, then whole hours from ha+1.
            cell[ha].partial += r * (end_of(ha) - p.start.ms() as i128);
            cell[ha + 1].rate_step += r;
            // −r from b onwards.
            cell[hb].partial -= r * (end_of(hb) - p.end.ms() as i128);
            cell[hb + 1].rate_step -= r;
        }
    }

    /// Books an instant charge (or, negative, refund) made at `time` to `zone` and `charge`.
    pub fn book_instant(&mut self, zone: usize, charge: ChargeType, time: SimTime, amount: Money) {
        if amount.0 != 0 {
            let h = self.hour_of(time);
            self.cell_mut(zone, charge)[h].partial += amount.0;
        }
    }

    /// Cost per hour for one zone and charge type.
    pub fn hourly(&self, zone: usize, charge: ChargeType) -> Vec<Money> {
        let mut rate: i128 = 0;
        self.cell(zone, charge)[..self.hours]
            .iter()
            .map(|s| {
                rate += s.rate_step;
                Money(s.partial + rate * MS_PER_HOUR as i128)
            })
            .collect()
    }

    /// Writes `costs.csv`: one [`CostRow`] for each hour of the run and each zone and charge
    /// type that ever cost anything.
    pub fn write_csv(&self, path: &Path, cat: &Catalog, horizon: SimTime) -> Result<()> {
        let mut t = Table::create_like(
            path,
            &CostRow {
                hour_start_s: Secs(SimTime(0)),
                zone: "",
                charge_type: ChargeType::PostpaidByHour,
                cost: Shown(Money::ZERO),
            },
        )?;
        let last_hour = (horizon.ms().div_ceil(MS_PER_HOUR) as usize).max(1);
        let mut columns = Vec::new();
        for (z, zone) in cat.zones.iter().enumerate() {
            for c in ChargeType::ALL {
                let used = self
                    .cell(z, c)
                    .iter()
                    .any(|s| s.partial != 0 || s.rate_step != 0);
                if used {
                    columns.push((zone.name.as_str(), c, self.hourly(z, c)));
                }
            }
        }
        for h in 0..last_hour {
            for (zone, c, hourly) in &columns {
                t.row(&CostRow {
                    hour_start_s: Secs(SimTime(h as u64 * MS_PER_HOUR)),
                    zone,
                    charge_type: *c,
                    cost: Shown(hourly[h]),
                })?;
            }
        }
        t.finish()
    }
}

/// A row of `costs.csv`: the money settled in one hour, zone and charge type, net of refunds.
#[derive(Serialize)]
pub struct CostRow<'a> {
    pub hour_start_s: Secs,
    pub zone: &'a str,
    pub charge_type: ChargeType,
    pub cost: Shown<Money>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_split_across_hours_exactly() {
        let mut l = CostLedger::new(1, SimTime(5 * MS_PER_HOUR));
        // 1.00/h from 00:30 to 02:15, and a point charge of 3.00 at 01:10
        let pieces = [Piece::new(
            SimTime(MS_PER_HOUR / 2),
            SimTime(2 * MS_PER_HOUR + MS_PER_HOUR / 4),
            1_000_000,
            100,
            crate::cloud::pricing::Item::Compute,
        )];
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
