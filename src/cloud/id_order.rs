//! The fleet's instances in id order: 12 bytes an entry instead of the 16 of an
//! `(InstanceId, InstanceKey)` pair.
//!
//! Ids are serial numbers, so entries arrive sorted. Each entry keeps the low 32 bits of its
//! id and its handle; the high 32 bits are kept once per run of entries that share them
//! (`runs`), which is a single run until four billion instances have been created. At a
//! million live instances the list is the second-largest structure after the records
//! themselves, so the 4 bytes an entry are worth the bookkeeping.

use super::fleet::InstanceKey;
use super::instance::InstanceId;

#[derive(Clone, Copy)]
struct Entry {
    lo: u32,
    slot: u32,
    generation: u32,
}

impl Entry {
    fn key(self) -> InstanceKey {
        InstanceKey {
            slot: self.slot,
            generation: self.generation,
        }
    }
}

/// Handles in increasing id order; which of them are still live is for the caller to say
/// (see [`IdOrder::retain`]).
#[derive(Clone, Default)]
pub(crate) struct IdOrder {
    entries: Vec<Entry>,
    /// `(high 32 bits, index of the first entry with them)`, in increasing order; every run
    /// is non-empty.
    runs: Vec<(u32, usize)>,
}

fn split(id: InstanceId) -> (u32, u32) {
    ((id.0 >> 32) as u32, id.0 as u32)
}

impl IdOrder {
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Appends `id`, which must be greater than every id already in the list.
    pub(crate) fn push(&mut self, id: InstanceId, key: InstanceKey) {
        debug_assert!(
            self.last_id().is_none_or(|l| l < id),
            "ids are pushed in increasing order"
        );
        let (hi, lo) = split(id);
        if self.runs.last().is_none_or(|&(h, _)| h != hi) {
            self.runs.push((hi, self.entries.len()));
        }
        self.entries.push(Entry {
            lo,
            slot: key.slot,
            generation: key.generation,
        });
    }

    fn last_id(&self) -> Option<InstanceId> {
        let &(hi, _) = self.runs.last()?;
        let e = self.entries.last()?;
        Some(InstanceId(((hi as u64) << 32) | e.lo as u64))
    }

    /// The handle listed for `id`, live or not. Within the run of `id`'s high bits it gallops
    /// back from the end, then bisects: the ids clients look up most are recent ones (just
    /// launched), found in a few probes of cache-hot entries; any other in O(log n).
    pub(crate) fn find(&self, id: InstanceId) -> Option<InstanceKey> {
        self.position(id).map(|i| self.entries[i].key())
    }

    /// The index of `id`'s entry (see [`IdOrder::find`]).
    fn position(&self, id: InstanceId) -> Option<usize> {
        let (hi, lo) = split(id);
        let r = self.runs.iter().rposition(|&(h, _)| h == hi)?;
        let start = self.runs[r].1;
        let end = self.runs.get(r + 1).map_or(self.entries.len(), |&(_, s)| s);
        let run = &self.entries[start..end];
        let n = run.len();
        let (mut a, mut b) = (0, n);
        let mut step = 1;
        while step <= n {
            let i = n - step;
            if run[i].lo <= lo {
                a = i;
                break;
            }
            b = i;
            step *= 2;
        }
        let i = a + run[a..b].binary_search_by_key(&lo, |e| e.lo).ok()?;
        Some(start + i)
    }

    /// Makes the entry of `id` stale while its instance lives on, if its handle passes `keep`
    /// (one search for both): the handle is replaced by one whose slot no fleet has (slots are
    /// indices into a vector), so the next [`IdOrder::retain`] that keeps live handles drops
    /// it. Returns whether it did.
    pub(crate) fn unlist_if(
        &mut self,
        id: InstanceId,
        keep: impl FnOnce(InstanceKey) -> bool,
    ) -> bool {
        let Some(i) = self.position(id) else {
            return false;
        };
        let e = &mut self.entries[i];
        if !keep(e.key()) {
            return false;
        }
        e.slot = u32::MAX;
        true
    }

    /// Every listed handle, newest (highest id) first.
    pub(crate) fn keys_newest_first(&self) -> impl Iterator<Item = InstanceKey> + '_ {
        self.entries.iter().rev().map(|e| e.key())
    }

    /// The listed handles at positions `range` of the list, in id order.
    pub(crate) fn keys_at(
        &self,
        range: std::ops::Range<usize>,
    ) -> impl Iterator<Item = InstanceKey> + '_ {
        self.entries[range].iter().map(|e| e.key())
    }

    /// Every listed handle, in id order.
    pub(crate) fn keys(&self) -> impl Iterator<Item = InstanceKey> + '_ {
        self.entries.iter().map(|e| e.key())
    }

    /// Keeps the entries whose handle `keep` accepts, in order.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(InstanceKey) -> bool) {
        let mut runs = Vec::with_capacity(self.runs.len());
        let mut w = 0;
        for r in 0..self.runs.len() {
            let (hi, start) = self.runs[r];
            let end = self.runs.get(r + 1).map_or(self.entries.len(), |&(_, s)| s);
            let first = w;
            for i in start..end {
                // Without a branch: which entries stay follows no pattern a branch predictor
                // could learn, and without one the loads of successive entries' generations
                // (scattered: handles in id order have random slots) overlap.
                let e = self.entries[i];
                self.entries[w] = e;
                w += keep(e.key()) as usize;
            }
            if w > first {
                runs.push((hi, first));
            }
        }
        self.entries.truncate(w);
        self.runs = runs;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(n: u32) -> InstanceKey {
        InstanceKey {
            slot: n,
            generation: n.wrapping_mul(7),
        }
    }

    #[test]
    fn entries_take_twelve_bytes() {
        assert_eq!(std::mem::size_of::<Entry>(), 12);
    }

    proptest! {
        /// Against a sorted list of full ids, with ids that cross several 2³² boundaries:
        /// every listed id is found, no other is, and retaining keeps order and runs right.
        #[test]
        fn matches_a_sorted_list(
            gaps in proptest::collection::vec(prop_oneof![1u64..4, Just(1u64 << 32), 1u64..(3u64 << 32)], 1..200),
            drop in proptest::collection::vec(any::<bool>(), 200),
            start in 0u64..(1u64 << 34),
        ) {
            let mut order = IdOrder::default();
            let mut model: Vec<(InstanceId, InstanceKey)> = Vec::new();
            let mut id = start;
            for (n, g) in gaps.iter().enumerate() {
                id += g;
                order.push(InstanceId(id), key(n as u32));
                model.push((InstanceId(id), key(n as u32)));
            }
            let check = |order: &IdOrder, model: &[(InstanceId, InstanceKey)]| -> Result<(), TestCaseError> {
                prop_assert_eq!(order.len(), model.len());
                prop_assert_eq!(order.keys().collect::<Vec<_>>(), model.iter().map(|e| e.1).collect::<Vec<_>>());
                for &(id, k) in model {
                    prop_assert_eq!(order.find(id), Some(k));
                    let absent = [InstanceId(id.0 + 1), InstanceId(id.0.wrapping_sub(1)), InstanceId(id.0 ^ (1 << 32))];
                    for a in absent {
                        if !model.iter().any(|e| e.0 == a) {
                            prop_assert_eq!(order.find(a), None);
                        }
                    }
                }
                Ok(())
            };
            check(&order, &model)?;
            let gone: Vec<InstanceKey> = model.iter().zip(&drop).filter(|(_, d)| **d).map(|(e, _)| e.1).collect();
            order.retain(|k| !gone.contains(&k));
            model.retain(|e| !gone.contains(&e.1));
            check(&order, &model)?;
            // Pushing after a sweep continues the last run or starts a new one.
            let next = model.last().map_or(start, |e| e.0.0) + (1 << 32) + 5;
            order.push(InstanceId(next), key(9999));
            model.push((InstanceId(next), key(9999)));
            check(&order, &model)?;
        }
    }
}
