//! The spot instances holding stock in one zone × type cell, oldest first: the candidates for a
//! reclaim, which takes the newest.
//!
//! Instances join only when they are created, so ids arrive in increasing order and a plain
//! vector stays sorted without any work. Leaving is a binary search and a tombstone; the
//! tombstones are swept out once they are half the vector. This replaced a `BTreeSet`, whose
//! insert and remove were 4% of a large run: every spot launch and every release paid a tree
//! walk, and the set is read only when on-demand demand finds the stock short.

use super::fleet::InstanceKey;
use super::instance::InstanceId;

#[derive(Clone, Copy, Debug)]
struct Entry {
    id: InstanceId,
    key: InstanceKey,
    live: bool,
}

#[derive(Clone, Debug, Default)]
pub struct SpotHolders {
    entries: Vec<Entry>,
    dead: usize,
}

impl SpotHolders {
    /// Adds a holder. Ids must come in increasing order (they do: only creation adds).
    pub fn insert(&mut self, id: InstanceId, key: InstanceKey) {
        debug_assert!(
            self.entries.last().is_none_or(|e| e.id < id),
            "spot holders join in id order"
        );
        self.entries.push(Entry {
            id,
            key,
            live: true,
        });
    }

    /// Removes a holder; an id that is not one is ignored.
    pub fn remove(&mut self, id: InstanceId) {
        if self.entries.is_empty() {
            return;
        }
        let Ok(i) = self.entries.binary_search_by_key(&id, |e| e.id) else {
            return;
        };
        let e = &mut self.entries[i];
        if !e.live {
            return;
        }
        e.live = false;
        self.dead += 1;
        if self.dead > 32 && self.dead * 2 > self.entries.len() {
            self.entries.retain(|e| e.live);
            self.dead = 0;
        }
    }

    /// Holders, newest first.
    pub fn newest_first(&self) -> impl Iterator<Item = (InstanceId, InstanceKey)> + '_ {
        self.entries
            .iter()
            .rev()
            .filter(|e| e.live)
            .map(|e| (e.id, e.key))
    }

    pub fn len(&self) -> usize {
        self.entries.len() - self.dead
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn key(i: u64) -> InstanceKey {
        InstanceKey {
            slot: i as u32,
            generation: 0,
        }
    }

    proptest! {
        /// Any mix of joins and leaves lists the same holders, newest first, as an ordered set.
        #[test]
        fn matches_an_ordered_set(ops in proptest::collection::vec((any::<bool>(), 0u64..200), 0..400)) {
            let mut h = SpotHolders::default();
            let mut model = BTreeSet::new();
            let mut next = 0u64;
            for (join, pick) in ops {
                if join || model.is_empty() {
                    h.insert(InstanceId(next), key(next));
                    model.insert(next);
                    next += 1;
                } else {
                    // Leave: a live holder, or an id that is not one (ignored).
                    let id = if pick % 3 == 0 { pick + 1_000 } else {
                        *model.iter().nth(pick as usize % model.len()).unwrap()
                    };
                    h.remove(InstanceId(id));
                    model.remove(&id);
                }
                let got: Vec<u64> = h.newest_first().map(|(id, k)| {
                    assert_eq!(k, key(id.0));
                    id.0
                }).collect();
                let want: Vec<u64> = model.iter().rev().copied().collect();
                prop_assert_eq!(got, want);
                prop_assert_eq!(h.len(), model.len());
            }
        }
    }

    #[test]
    fn removing_twice_counts_once() {
        let mut h = SpotHolders::default();
        for i in 0..100 {
            h.insert(InstanceId(i), key(i));
        }
        for i in 0..60 {
            h.remove(InstanceId(i));
            h.remove(InstanceId(i));
        }
        assert_eq!(h.len(), 40);
        assert!(h.entries.len() < 100, "tombstones were swept");
        assert_eq!(h.newest_first().last().map(|(id, _)| id.0), Some(60));
    }
}
