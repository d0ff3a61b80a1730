//! One slot's keys: a hash table of pointers to nodes, each node a key and
//! its entry in one allocation of its own, as Redis's dict points at its
//! dictEntry.
//!
//! Keys are kept per slot, and most slots hold few of them: a node holding
//! 1,000,000 keys holds about 61 per slot. A table's bucket count is a power
//! of two, filled to at most 7/8, so a slot's table is between 44% and 87%
//! full, and 61 keys land just past a doubling: 128 buckets for 61 keys.
//! With the 72-byte key and entry inline in each bucket, those empty
//! buckets cost 72 bytes each (153 bytes per key at 61 keys); with a
//! pointer in each bucket they cost 8, and each key its own 72 bytes
//! (91 bytes per key at 61, 81 to 90 at any other count).
//!
//! A lookup then reads one more cache line (the node, after the bucket),
//! where the inline key shared the bucket's. The batch's lookahead
//! (`Keyspace::warm_key`) hides it: it probes each key's table and
//! prefetches the candidate nodes without reading them, so no key's misses
//! wait for another's.

use super::{Entry, Key};
use hashbrown::hash_table::Entry as TableEntry;
use hashbrown::HashTable;
use std::hash::BuildHasher;

/// A key and its entry.
pub struct Node {
    pub key: Key,
    pub entry: Entry,
}

#[derive(Default)]
pub struct SlotMap {
    table: HashTable<Box<Node>>,
}

#[inline]
fn hash(key: &[u8]) -> u64 {
    super::process_seed().hash_one(key)
}

#[inline(always)]
fn prefetch_line(address: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint; it reads nothing and cannot fault,
    // whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(address.cast())
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = address;
}

/// How an entry was found by `SlotMap::find_live`.
pub enum Found<'a> {
    Live(&'a mut Entry),
    /// Its time had come: removed, with the expiry time it had.
    Expired(Box<Node>, u64),
    Missing,
}

impl SlotMap {
    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    #[inline]
    pub fn get(&self, key: &[u8]) -> Option<&Entry> {
        self.node(key).map(|node| &node.entry)
    }

    #[inline]
    pub fn node(&self, key: &[u8]) -> Option<&Node> {
        self.table
            .find(hash(key), |node| *node.key == *key)
            .map(|node| &**node)
    }

    /// Starts loading `key`'s node into the cache without waiting for it:
    /// probes the table, and for each candidate bucket (its hash matches)
    /// asks the processor to fetch the node's two cache lines, never
    /// reading them. Lookahead for a batch (`Keyspace::warm_key`): the
    /// table's misses of one key overlap those of the next, and the nodes'
    /// arrive while the batch goes on.
    #[inline]
    pub fn prefetch(&self, key: &[u8]) {
        self.table.find(hash(key), |node| {
            let start = (&**node as *const Node).cast::<u8>();
            prefetch_line(start);
            prefetch_line(start.wrapping_add(std::mem::size_of::<Node>() - 1));
            false
        });
    }

    #[inline]
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut Entry> {
        self.table
            .find_mut(hash(key), |node| *node.key == *key)
            .map(|node| &mut node.entry)
    }

    /// Finds `key` with one probe: removes it when its expiry time is at or
    /// before `now_ms` (and not 0), else returns its entry.
    #[inline]
    pub fn find_live(&mut self, key: &[u8], now_ms: u64) -> Found<'_> {
        match self.table.find_entry(hash(key), |node| *node.key == *key) {
            Ok(occupied) => {
                let expire_at = occupied.get().entry.expire_at_ms();
                if expire_at != 0 && expire_at <= now_ms {
                    Found::Expired(occupied.remove().0, expire_at)
                } else {
                    Found::Live(&mut occupied.into_mut().entry)
                }
            }
            Err(_) => Found::Missing,
        }
    }

    /// Stores `entry` under `key`. An existing key keeps its node and gets
    /// the new entry; the old one comes back with the stored key. A new key
    /// is copied into a new node.
    #[inline]
    pub fn insert(&mut self, key: &[u8], entry: Entry) -> Option<(&Key, Entry)> {
        let found = self
            .table
            .entry(hash(key), |node| *node.key == *key, |node| hash(&node.key));
        match found {
            TableEntry::Occupied(occupied) => {
                let node = occupied.into_mut();
                let old = std::mem::replace(&mut node.entry, entry);
                Some((&node.key, old))
            }
            TableEntry::Vacant(vacant) => {
                vacant.insert(Box::new(Node {
                    key: key.into(),
                    entry,
                }));
                None
            }
        }
    }

    pub fn remove(&mut self, key: &[u8]) -> Option<Box<Node>> {
        match self.table.find_entry(hash(key), |node| *node.key == *key) {
            Ok(occupied) => Some(occupied.remove().0),
            Err(_) => None,
        }
    }

    pub fn keys(&self) -> impl Iterator<Item = &Key> {
        self.table.iter().map(|node| &node.key)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Key, &Entry)> {
        self.table.iter().map(|node| (&node.key, &node.entry))
    }
}

impl<'a> IntoIterator for &'a SlotMap {
    type Item = (&'a Key, &'a Entry);
    type IntoIter = std::iter::Map<
        hashbrown::hash_table::Iter<'a, Box<Node>>,
        fn(&'a Box<Node>) -> (&'a Key, &'a Entry),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.table.iter().map(|node| (&node.key, &node.entry))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::Value;

    fn entry(text: &str) -> Entry {
        Entry::new(Value::string_copied(text.as_bytes()), 0)
    }

    #[test]
    fn a_node_is_a_key_and_an_entry_and_a_bucket_a_pointer() {
        assert_eq!(std::mem::size_of::<Node>(), 72);
        assert_eq!(std::mem::size_of::<Box<Node>>(), 8);
    }

    #[test]
    fn insert_find_replace_remove_and_iterate() {
        let mut map = SlotMap::default();
        let long = [b'x'; 40];
        for (key, value) in [(&b"a"[..], "1"), (b"user:1000", "2"), (&long[..], "3")] {
            assert!(map.insert(key, entry(value)).is_none());
        }
        assert_eq!(map.len(), 3);
        let (stored, old) = map.insert(b"a", entry("4")).expect("a is stored");
        assert_eq!(&**stored, b"a");
        assert!(matches!(&old.value, Value::Str { bytes, .. } if &bytes[..] == b"1"));
        assert!(
            matches!(&map.get(b"a").expect("a").value, Value::Str { bytes, .. } if &bytes[..] == b"4")
        );
        assert!(map.get(&long).is_some());
        assert!(map.get(b"user:100").is_none());
        let mut keys: Vec<Vec<u8>> = map.keys().map(|key| key.to_vec()).collect();
        keys.sort();
        assert_eq!(keys, [b"a".to_vec(), b"user:1000".to_vec(), long.to_vec()]);
        assert_eq!((&map).into_iter().count(), 3);
        assert_eq!(
            &*map.remove(b"user:1000").expect("stored").key,
            b"user:1000"
        );
        assert!(map.remove(b"user:1000").is_none());
        assert_eq!(map.len(), 2);
        // Growing past many doublings rehashes every node from its key.
        for i in 0..1000 {
            map.insert(format!("k{i}").as_bytes(), entry("v"));
        }
        assert!((0..1000).all(|i| map.get(format!("k{i}").as_bytes()).is_some()));
        assert_eq!(map.len(), 1002);
    }

    #[test]
    fn find_live_removes_a_key_whose_time_has_come() {
        let mut map = SlotMap::default();
        let mut volatile = entry("v");
        volatile.set_expire_at_ms(100);
        map.insert(b"k", volatile);
        assert!(matches!(map.find_live(b"k", 99), Found::Live(_)));
        assert!(
            matches!(map.find_live(b"k", 100), Found::Expired(node, 100) if &*node.key == b"k")
        );
        assert!(matches!(map.find_live(b"k", 100), Found::Missing));
        assert!(map.is_empty());
    }
}
