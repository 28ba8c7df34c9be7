//! The spot instances holding stock in one zone × type cell, oldest first: the candidates for a
//! reclaim, which takes the newest.
//!
//! Instances join only when they are created, so ids arrive in increasing order and the list
//! is the fleet's own id-ordered list type ([`IdOrder`], 12 bytes an entry). A holder that is
//! released simply goes stale (its fleet handle no longer matches the slot's generation) and
//! only the count changes; one that gives its capacity up while alive (a reclaim notice, a
//! failed launch) is found by search and unlisted. Stale entries are swept out once they are a
//! quarter of the list, checking generations only, never the instance records. This replaced
//! a `BTreeSet`, whose insert and remove on every spot launch and release were 4% of a large
//! run, although the set is read only when on-demand demand finds the stock short; and then a
//! vector of 24-byte entries swept at half, 15.7 MB allocated at `bench-1m`'s peak.

use super::fleet::{Fleet, InstanceKey};
use super::id_order::IdOrder;
use super::instance::InstanceId;

#[derive(Clone, Default)]
pub struct SpotHolders {
    entries: IdOrder,
    /// Holders: entries that hold and are live.
    live: usize,
}

impl SpotHolders {
    /// Adds a holder. Ids must come in increasing order (they do: only creation adds).
    pub fn insert(&mut self, id: InstanceId, key: InstanceKey) {
        self.entries.push(id, key);
        self.live += 1;
    }

    /// A live holder gave its capacity up; an id that is not a holder is ignored.
    pub fn forget(&mut self, id: InstanceId, fleet: &Fleet) {
        if self.entries.unlist_if(id, |k| fleet.is_live(k)) {
            self.live -= 1;
            self.sweep(fleet);
        }
    }

    /// A listed holder was released (its record says so: [`Instance::spot_listed`]): its
    /// entry is now stale by generation, and only the count changes. A spot instance that
    /// gave its capacity up (a reclaim notice) and took it again (started during the notice)
    /// is listed no more, and is not passed here.
    ///
    /// [`Instance::spot_listed`]: super::instance::Instance::spot_listed
    pub fn departed(&mut self, fleet: &Fleet) {
        self.live -= 1;
        self.sweep(fleet);
    }

    /// Sweeps once stale entries are a quarter of the list (and more than a few).
    fn sweep(&mut self, fleet: &Fleet) {
        let stale = self.entries.len() - self.live;
        if stale > 32 && stale * 4 > self.entries.len() {
            self.entries.retain(|k| fleet.is_live(k));
            debug_assert_eq!(self.entries.len(), self.live);
        }
    }

    /// Holders, newest first.
    pub fn newest_first<'a>(&'a self, fleet: &'a Fleet) -> impl Iterator<Item = InstanceKey> + 'a {
        self.entries
            .keys_newest_first()
            .filter(move |&k| fleet.is_live(k))
    }

    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn instance(fleet: &mut Fleet) -> (InstanceId, InstanceKey) {
        let id = fleet.next_id();
        let mut inst = crate::cloud::fleet::tests::bare(id);
        inst.charge = crate::cloud::catalog::ChargeType::Spotpaid;
        (id, fleet.insert(inst))
    }

    proptest! {
        /// Any mix of joins, releases and give-ups (some followed by the release of the instance
        /// that gave up, as when a spot instance started during its reclaim notice is
        /// destroyed) lists the same holders, newest first, as an ordered map of the holders,
        /// and releases reuse slots (stale handles must not match).
        #[test]
        fn matches_an_ordered_set(ops in proptest::collection::vec((0u8..3, 0usize..200), 0..400)) {
            let mut fleet = Fleet::new();
            let mut h = SpotHolders::default();
            let mut model: BTreeMap<InstanceId, InstanceKey> = BTreeMap::new();
            for (op, pick) in ops {
                if op == 0 || model.is_empty() {
                    let (id, key) = instance(&mut fleet);
                    h.insert(id, key);
                    model.insert(id, key);
                } else {
                    let (&id, &key) = model.iter().nth(pick % model.len()).unwrap();
                    model.remove(&id);
                    if op == 1 {
                        fleet.release(key);
                        h.departed(&fleet);
                    } else {
                        h.forget(id, &fleet);
                        h.forget(id, &fleet); // a second give-up changes nothing
                        if pick % 2 == 0 {
                            // Took its capacity again and is released: listed no more, so
                            // its release is not a holder's departure.
                            fleet.release(key);
                        }
                    }
                }
                let got: Vec<_> = h.newest_first(&fleet).collect();
                let want: Vec<_> = model.values().rev().copied().collect();
                prop_assert_eq!(got, want);
                prop_assert_eq!(h.len(), model.len());
                prop_assert!(h.entries.len() <= model.len() * 4 / 3 + 33);
            }
        }
    }
}
