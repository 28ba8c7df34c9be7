//! The store of live instances. Memory follows the live fleet: a released instance's slot is
//! reused, so the store holds O(instances alive), never O(instances ever).

use super::id_order::IdOrder;
use super::instance::{Instance, InstanceId};

/// A stable handle to a live instance: a slot plus the generation of its occupant, so a handle
/// kept past the instance's release (say, in a pending event) is recognised as stale.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct InstanceKey {
    pub slot: u32,
    pub generation: u32,
}

#[derive(Default)]
pub struct Fleet {
    /// Generation of each slot's occupant (bumped on release), apart from the instances: 4 bytes
    /// a slot stay in cache, so a stale handle or a departed id is recognised without touching
    /// the instance records (spot holders and the id order sweep their stale entries this way).
    generations: Vec<u32>,
    slots: Vec<Option<Instance>>,
    free: Vec<u32>,
    /// Instances in creation (= id) order, including some already released; those are swept
    /// out once they are a quarter of the list, so it stays O(instances alive). Ids are serial
    /// numbers, so the list is sorted for free: it pages listings in id order and finds an id
    /// by search, with no id → slot hash map to keep up on every launch and release (a removal
    /// from such a map is a cache miss each).
    order: IdOrder,
    alive: usize,
    stale: usize,
    next_serial: u64,
}

impl Fleet {
    pub fn new() -> Self {
        Self::default()
    }

    /// The id the next created instance will get.
    pub fn next_id(&mut self) -> InstanceId {
        let id = InstanceId(self.next_serial);
        self.next_serial += 1;
        id
    }

    /// Instances ever created.
    pub fn created(&self) -> u64 {
        self.next_serial
    }

    pub fn len(&self) -> usize {
        self.alive
    }
    pub fn is_empty(&self) -> bool {
        self.alive == 0
    }

    pub fn insert(&mut self, inst: Instance) -> InstanceKey {
        let id = inst.id;
        let slot = match self.free.pop() {
            Some(s) => {
                self.slots[s as usize] = Some(inst);
                s
            }
            None => {
                self.slots.push(Some(inst));
                self.generations.push(0);
                (self.slots.len() - 1) as u32
            }
        };
        let key = InstanceKey {
            slot,
            generation: self.generations[slot as usize],
        };
        self.alive += 1;
        self.order.push(id, key);
        key
    }

    /// Whether `key` still names a live instance (reads only the generation array).
    #[inline]
    pub fn is_live(&self, key: InstanceKey) -> bool {
        self.generations.get(key.slot as usize) == Some(&key.generation)
    }

    #[inline]
    pub fn get(&self, key: InstanceKey) -> Option<&Instance> {
        if !self.is_live(key) {
            return None;
        }
        self.slots[key.slot as usize].as_ref()
    }

    #[inline]
    pub fn get_mut(&mut self, key: InstanceKey) -> Option<&mut Instance> {
        if !self.is_live(key) {
            return None;
        }
        self.slots[key.slot as usize].as_mut()
    }

    /// The instance behind a handle the control plane has resolved (or just created): such a
    /// handle is live by construction, so a stale one here is a control-plane bug and panics.
    #[inline]
    pub fn live(&self, key: InstanceKey) -> &Instance {
        self.get(key)
            .expect("a resolved handle names a live instance")
    }

    /// [`Fleet::live`], to change the instance.
    #[inline]
    pub fn live_mut(&mut self, key: InstanceKey) -> &mut Instance {
        self.get_mut(key)
            .expect("a resolved handle names a live instance")
    }

    /// Asks the CPU to start loading an instance record that is about to be read, and its
    /// generation too: checking that a handle is live reads it first, and at a million live
    /// instances the 4-byte generations (4 MB) no longer stay in cache either.
    #[inline]
    pub fn prefetch(&self, key: InstanceKey) {
        if let Some(slot) = self.slots.get(key.slot as usize) {
            crate::engine::prefetch::prefetch(&self.generations[key.slot as usize]);
            crate::engine::prefetch::prefetch(slot);
        }
    }

    /// The live instance with this id, found by search in the id-ordered list (recent ids,
    /// the ones clients look up most, in a few probes; see [`IdOrder::find`]).
    pub fn key_of(&self, id: InstanceId) -> Option<InstanceKey> {
        let key = self.order.find(id)?;
        self.is_live(key).then_some(key)
    }

    /// Releases an instance, dropping its record in place (observers have read it there);
    /// false if `key` is stale. Its handles go stale, its slot is reused, and the id-order
    /// list is swept once a quarter of it is released instances: a sweep reads the list in
    /// order and each entry's generation (0.7% of `bench-1m`'s samples in all), and sweeping at
    /// a quarter rather than half keeps the list's resident pages a third smaller at the peak.
    pub fn release(&mut self, key: InstanceKey) -> bool {
        if !self.is_live(key) {
            return false;
        }
        self.slots[key.slot as usize] = None;
        let g = &mut self.generations[key.slot as usize];
        *g = g.wrapping_add(1);
        self.free.push(key.slot);
        self.alive -= 1;
        self.stale += 1;
        if self.stale > 64 && self.stale * 4 > self.order.len() {
            let gens = &self.generations;
            self.order
                .retain(|k| gens.get(k.slot as usize) == Some(&k.generation));
            self.stale = 0;
        }
        true
    }

    /// Entries in the id-ordered list, live or not: the positions [`Fleet::live_keys_at`]
    /// takes.
    pub fn listed(&self) -> usize {
        self.order.len()
    }

    /// The handles of the live instances at positions `range` of the id-ordered list, in id
    /// order, found without reading their records (only the generation array); `range` must
    /// lie within [`Fleet::listed`]. A caller that changes records between batches walks the
    /// live fleet without first copying every handle (8 MB at a million instances). Positions
    /// hold while no instance is created or released.
    pub fn live_keys_at(
        &self,
        range: std::ops::Range<usize>,
    ) -> impl Iterator<Item = InstanceKey> + '_ {
        self.order
            .keys_at(range)
            .filter(move |&key| self.is_live(key))
    }

    /// Live instances in id order.
    pub fn iter(&self) -> impl Iterator<Item = (InstanceKey, &Instance)> + '_ {
        self.order
            .keys()
            .filter_map(move |key| self.get(key).map(|inst| (key, inst)))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::cloud::catalog::{ChargeType, TypeIdx, ZoneIdx};
    use crate::cloud::instance::{BillingState, Owner, RenewFlag};
    use crate::cloud::state::InstanceState;
    use crate::engine::SimTime;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    pub(crate) fn bare(id: InstanceId) -> Instance {
        Instance {
            id,
            zone: ZoneIdx(0),
            itype: TypeIdx(0),
            charge: ChargeType::PostpaidByHour,
            state: InstanceState::Running,
            state_since: SimTime::ZERO,
            created: SimTime::ZERO,
            first_running: crate::cloud::instance::OptTime::NONE,
            owner: Owner::Script,
            latest_operation: Default::default(),
            latest_operation_state: None,
            pending: crate::cloud::instance::PendingEvent::NONE,
            next_type: crate::cloud::instance::OptTypeIdx::NONE,
            renew_flag: RenewFlag::NotifyAndAutoRenew,
            flags: crate::cloud::instance::InstanceFlags::new(true),
            billing: BillingState::default(),
        }
    }

    proptest! {
        /// Against an ordered map of the live instances: ids are found (and released ones are
        /// not, even once their slot is reused), handles go stale on release, the count and the
        /// id-ordered listing agree.
        #[test]
        fn lookups_match_a_map(ops in proptest::collection::vec((any::<bool>(), 0usize..1000), 0..600)) {
            let mut fleet = Fleet::new();
            let mut model: BTreeMap<InstanceId, InstanceKey> = BTreeMap::new();
            let mut gone: Vec<(InstanceId, InstanceKey)> = Vec::new();
            for (add, pick) in ops {
                if add || model.is_empty() {
                    let id = fleet.next_id();
                    let key = fleet.insert(bare(id));
                    model.insert(id, key);
                } else {
                    let (&id, &key) = model.iter().nth(pick % model.len()).unwrap();
                    model.remove(&id);
                    prop_assert_eq!(fleet.get(key).map(|i| i.id), Some(id));
                    prop_assert!(fleet.release(key));
                    prop_assert!(!fleet.release(key), "a handle goes stale on release");
                    gone.push((id, key));
                }
                prop_assert_eq!(fleet.len(), model.len());
                for (&id, &key) in &model {
                    prop_assert_eq!(fleet.key_of(id), Some(key));
                    prop_assert_eq!(fleet.get(key).map(|i| i.id), Some(id));
                }
                for &(id, key) in &gone {
                    prop_assert_eq!(fleet.key_of(id), None);
                    prop_assert!(fleet.get(key).is_none());
                }
                prop_assert_eq!(fleet.key_of(InstanceId(fleet.created())), None);
                let listed: Vec<_> = fleet.iter().map(|(k, i)| (i.id, k)).collect();
                let want: Vec<_> = model.iter().map(|(&i, &k)| (i, k)).collect();
                prop_assert_eq!(listed, want);
                // In batches of any size, as the books are closed.
                let want_keys: Vec<_> = model.values().copied().collect();
                for batch in [1, 3, 64] {
                    let keys: Vec<_> = (0..fleet.listed())
                        .step_by(batch)
                        .flat_map(|s| fleet.live_keys_at(s..fleet.listed().min(s + batch)))
                        .collect();
                    prop_assert_eq!(&keys, &want_keys);
                }
            }
        }
    }
}
