//! The store of live instances. Memory follows the live fleet: a released instance's slot is
//! reused, so the store holds O(instances alive), never O(instances ever).

use crate::engine::hash::FxHashMap;

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
    /// Id → slot.
    by_id: FxHashMap<InstanceId, u32>,
    /// Instances in creation (= id) order, including some already released; those are swept
    /// out once they are half the list, so it stays O(instances alive) and listings page in id
    /// order without sorting.
    order: Vec<(InstanceId, InstanceKey)>,
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
        self.by_id.len()
    }
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
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
        debug_assert!(
            self.order.last().is_none_or(|&(l, _)| l < id),
            "ids are inserted in order"
        );
        let key = InstanceKey {
            slot,
            generation: self.generations[slot as usize],
        };
        self.by_id.insert(id, slot);
        self.order.push((id, key));
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

    pub fn key_of(&self, id: InstanceId) -> Option<InstanceKey> {
        let slot = *self.by_id.get(&id)?;
        Some(InstanceKey {
            slot,
            generation: self.generations[slot as usize],
        })
    }

    pub fn remove(&mut self, key: InstanceKey) -> Option<Instance> {
        if !self.is_live(key) {
            return None;
        }
        let inst = self.slots[key.slot as usize].take()?;
        let g = &mut self.generations[key.slot as usize];
        *g = g.wrapping_add(1);
        self.free.push(key.slot);
        self.by_id.remove(&inst.id);
        self.stale += 1;
        if self.stale > 64 && self.stale * 2 > self.order.len() {
            let gens = &self.generations;
            self.order
                .retain(|&(_, k)| gens[k.slot as usize] == k.generation);
            self.stale = 0;
        }
        Some(inst)
    }

    /// Live instances in id order.
    pub fn iter(&self) -> impl Iterator<Item = (InstanceKey, &Instance)> + '_ {
        self.order
            .iter()
            .filter_map(move |&(_, key)| self.get(key).map(|inst| (key, inst)))
    }
}
