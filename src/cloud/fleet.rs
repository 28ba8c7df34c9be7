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

struct Slot {
    generation: u32,
    instance: Option<Instance>,
}

#[derive(Default)]
pub struct Fleet {
    slots: Vec<Slot>,
    free: Vec<u32>,
    /// Id → slot.
    by_id: FxHashMap<InstanceId, u32>,
    /// Ids in creation (= id) order, including some already released; those are swept out
    /// once they are half the list, so it stays O(instances alive) and listings page in id
    /// order without sorting.
    order: Vec<InstanceId>,
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
                self.slots[s as usize].instance = Some(inst);
                s
            }
            None => {
                self.slots.push(Slot {
                    generation: 0,
                    instance: Some(inst),
                });
                (self.slots.len() - 1) as u32
            }
        };
        debug_assert!(
            self.order.last().is_none_or(|&l| l < id),
            "ids are inserted in order"
        );
        self.by_id.insert(id, slot);
        self.order.push(id);
        InstanceKey {
            slot,
            generation: self.slots[slot as usize].generation,
        }
    }

    #[inline]
    pub fn get(&self, key: InstanceKey) -> Option<&Instance> {
        let s = self.slots.get(key.slot as usize)?;
        if s.generation != key.generation {
            return None;
        }
        s.instance.as_ref()
    }

    #[inline]
    pub fn get_mut(&mut self, key: InstanceKey) -> Option<&mut Instance> {
        let s = self.slots.get_mut(key.slot as usize)?;
        if s.generation != key.generation {
            return None;
        }
        s.instance.as_mut()
    }

    pub fn key_of(&self, id: InstanceId) -> Option<InstanceKey> {
        let slot = *self.by_id.get(&id)?;
        Some(InstanceKey {
            slot,
            generation: self.slots[slot as usize].generation,
        })
    }

    pub fn remove(&mut self, key: InstanceKey) -> Option<Instance> {
        let s = self.slots.get_mut(key.slot as usize)?;
        if s.generation != key.generation {
            return None;
        }
        let inst = s.instance.take()?;
        s.generation = s.generation.wrapping_add(1);
        self.free.push(key.slot);
        self.by_id.remove(&inst.id);
        self.stale += 1;
        if self.stale > 64 && self.stale * 2 > self.order.len() {
            let live = &self.by_id;
            self.order.retain(|id| live.contains_key(id));
            self.stale = 0;
        }
        Some(inst)
    }

    /// Live instances in id order.
    pub fn iter(&self) -> impl Iterator<Item = (InstanceKey, &Instance)> + '_ {
        self.order
            .iter()
            .filter_map(|id| self.by_id.get(id))
            .map(move |&slot| {
                let s = &self.slots[slot as usize];
                (
                    InstanceKey {
                        slot,
                        generation: s.generation,
                    },
                    s.instance.as_ref().expect("indexed slot holds an instance"),
                )
            })
    }
}
