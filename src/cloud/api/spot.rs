//! Spot reclaims: on-demand demand displaces spot instances when a zone's stock runs short.
//! The displaced instances give their capacity up at once and get a notice
//! (`Cloud::spot_notice`, default 2 minutes) before the platform destroys them.

use super::*;
use crate::cloud::spot_holders::SpotHolders;

impl Cloud {
    /// The spot holders of zone `z` and type `t`.
    fn holders(&self, z: ZoneIdx, t: TypeIdx) -> &SpotHolders {
        &self.spot_holders[self.holders_cell(z, t)]
    }

    pub(super) fn holders_mut(&mut self, z: ZoneIdx, t: TypeIdx) -> &mut SpotHolders {
        let i = self.holders_cell(z, t);
        &mut self.spot_holders[i]
    }

    /// The holders of a cell and the fleet (which judges their entries stale), borrowed
    /// together.
    pub(super) fn holders_and_fleet(
        &mut self,
        z: ZoneIdx,
        t: TypeIdx,
    ) -> (&mut SpotHolders, &Fleet) {
        let i = self.holders_cell(z, t);
        (&mut self.spot_holders[i], &self.fleet)
    }

    fn holders_cell(&self, z: ZoneIdx, t: TypeIdx) -> usize {
        z.0 as usize * self.catalog.types.len() + t.0 as usize
    }

    /// Spot instances that could be reclaimed now: RUNNING or STOPPED, no operation in
    /// flight, no notice yet. Newest first, at most `max`.
    fn victims(&self, z: ZoneIdx, t: TypeIdx, max: u32) -> Vec<InstanceKey> {
        let mut out = Vec::new();
        for key in self.holders(z, t).newest_first(&self.fleet) {
            if out.len() as u32 >= max {
                break;
            }
            let Some(inst) = self.fleet.get(key) else {
                continue;
            };
            if !inst.busy()
                && !inst.reclaiming()
                && matches!(inst.state, InstanceState::Running | InstanceState::Stopped)
            {
                out.push(key);
            }
        }
        out
    }

    /// How many of `wanted` instances' capacity reclaiming spot instances would free.
    pub(super) fn reclaimable(&self, z: ZoneIdx, t: TypeIdx, wanted: u32) -> u32 {
        self.victims(z, t, wanted).len() as u32
    }

    /// Reclaims `n` spot instances of type `t` in zone `z`: their stock is freed now, and
    /// each is destroyed when its notice runs out.
    pub(super) fn reclaim_for<E: From<CloudEvent>>(
        &mut self,
        z: ZoneIdx,
        t: TypeIdx,
        n: u32,
        sched: &mut Scheduler<E>,
    ) {
        for key in self.victims(z, t, n) {
            let inst = self.fleet.live_mut(key);
            inst.set_reclaiming(true);
            inst.set_holds_stock(false);
            let id = inst.id;
            self.stock.give_back(z, t, 1);
            let (cell, fleet) = self.holders_and_fleet(z, t);
            cell.forget(id, fleet);
            sched.schedule_in(self.spot_notice, CloudEvent::Reclaim(key).into());
        }
    }

    /// The notice has run out: the platform destroys the instance (no API call is made).
    pub(super) fn reclaim<E: From<CloudEvent>, O: Observer>(
        &mut self,
        key: InstanceKey,
        sched: &mut Scheduler<E>,
        obs: &mut O,
    ) {
        let Some(inst) = self.fleet.get(key) else {
            return;
        };
        match inst.state {
            InstanceState::Running | InstanceState::Stopped if !inst.busy() => {
                self.begin(
                    key,
                    Transition::Terminate,
                    Operation::SpotReclaim,
                    |t| &t.terminating,
                    sched,
                    obs,
                );
            }
            // Already on its way out (its owner terminated it during the notice).
            InstanceState::Terminating | InstanceState::Shutdown => {}
            // An operation is finishing: reclaim right after it.
            _ => {
                sched.schedule_in(SimDuration::from_secs(1), CloudEvent::Reclaim(key).into());
            }
        }
    }
}
