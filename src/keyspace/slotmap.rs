//! One slot's keys: an open-addressing table of tagged pointers to nodes,
//! each node a key and its entry in one allocation of its own, as Redis's
//! dict points at its dictEntry.
//!
//! Keys are kept per slot, and most slots hold few of them: a node holding
//! 1,000,000 keys holds about 61 per slot. A table's bucket count is a power
//! of two, so a slot's table is between half and fully as full as it may
//! be, and with the 72-byte key and entry inline in each bucket the empty
//! buckets cost 72 bytes each (153 bytes per key at 61 keys in 128
//! buckets). Here an empty bucket costs 8 bytes, and each key its 80-byte
//! node.
//!
//! The table is ours, not hashbrown's, for the lookahead
//! (`Keyspace::warm_slot`): a key's first bucket is a function of its hash
//! alone, so a batch can ask for every key's bucket line first
//! (`prefetch_bucket`), then probe each and ask for its node (`prefetch`),
//! and no load waits on another. A bucket holds the node's address with
//! three bits of the hash in its low bits (nodes are 8-byte aligned), so a
//! probe reads a node only when those bits match: one in eight of the
//! other keys it passes. Linear probing, at most 3/4 full, with
//! backward-shift deletion (no tombstones).

use super::{Entry, Key};
use std::hash::BuildHasher;
use std::ptr::NonNull;

/// A key and its entry, and the key's hash: 80 bytes, mimalloc's size
/// class for the 72 of the other two. Aligned to 8, so that its allocation
/// is a plain `mi_malloc` (see `memory::PLAIN_ALIGN_MAX`).
pub struct Node {
    pub key: Key,
    pub entry: Entry,
    hash: u64,
}

const TAG_BITS: u32 = 3;
const TAG_MASK: usize = (1 << TAG_BITS) - 1;
const _: () = assert!(std::mem::align_of::<Node>() > TAG_MASK);

/// The smallest table allocated, in buckets.
const BUCKETS_MIN: usize = 4;

#[inline]
fn hash(key: &[u8]) -> u64 {
    super::process_seed().hash_one(key)
}

#[inline]
fn tag_of(hash: u64) -> usize {
    (hash >> (64 - TAG_BITS)) as usize
}

/// A bucket: null when empty, else a node's address with its hash's tag in
/// the low bits.
type Bucket = *mut Node;

#[inline]
fn node_of(bucket: Bucket) -> NonNull<Node> {
    // SAFETY (of the callers' dereferences): a non-null bucket is a pointer
    // from Box::into_raw with only its alignment bits changed; clearing
    // them gives back the live node, owned by the table.
    NonNull::new(bucket.map_addr(|address| address & !TAG_MASK)).expect("a non-empty bucket")
}

#[derive(Default)]
pub struct SlotMap {
    buckets: Box<[Bucket]>,
    len: usize,
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
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline]
    fn mask(&self) -> usize {
        self.buckets.len().wrapping_sub(1)
    }

    /// Walks the run of buckets from `hash`'s first one to the first empty
    /// one, calling `matches` with each bucket whose tag is `hash`'s; the
    /// position of the first for which it says true.
    #[inline]
    fn probe(&self, hash: u64, mut matches: impl FnMut(Bucket) -> bool) -> Option<usize> {
        if self.len == 0 {
            return None;
        }
        let (mask, tag) = (self.mask(), tag_of(hash));
        let mut at = hash as usize & mask;
        loop {
            let bucket = self.buckets[at];
            if bucket.is_null() {
                return None;
            }
            if bucket.addr() & TAG_MASK == tag && matches(bucket) {
                return Some(at);
            }
            at = (at + 1) & mask;
        }
    }

    /// The bucket holding `key` (whose hash is `hash`), if any.
    #[inline]
    fn find(&self, hash: u64, key: &[u8]) -> Option<usize> {
        self.probe(hash, |bucket| {
            // SAFETY: see node_of.
            let node = unsafe { node_of(bucket).as_ref() };
            node.hash == hash && super::key_eq(&node.key, key)
        })
    }

    /// The first empty bucket from `hash`'s first one on; the table has one.
    fn vacancy(buckets: &[Bucket], hash: u64) -> usize {
        let mask = buckets.len() - 1;
        let mut at = hash as usize & mask;
        while !buckets[at].is_null() {
            at = (at + 1) & mask;
        }
        at
    }

    #[inline]
    fn node_at(&self, at: usize) -> &Node {
        // SAFETY: see node_of; the table is borrowed, so the node is too.
        unsafe { node_of(self.buckets[at]).as_ref() }
    }

    #[inline]
    fn node_at_mut(&mut self, at: usize) -> &mut Node {
        // SAFETY: see node_of; the table is borrowed mutably, and a node is
        // in one bucket only.
        unsafe { node_of(self.buckets[at]).as_mut() }
    }

    #[inline]
    pub fn get(&self, key: &[u8]) -> Option<&Entry> {
        self.node(key).map(|node| &node.entry)
    }

    #[inline]
    pub fn node(&self, key: &[u8]) -> Option<&Node> {
        let at = self.find(hash(key), key)?;
        Some(self.node_at(at))
    }

    #[inline]
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut Entry> {
        let at = self.find(hash(key), key)?;
        Some(&mut self.node_at_mut(at).entry)
    }

    /// Asks the processor for the cache line of `key`'s first bucket,
    /// without waiting for it: the first step of a batch's lookahead.
    #[inline]
    pub fn prefetch_bucket(&self, key: &[u8]) {
        if let Some(bucket) = self.buckets.get(hash(key) as usize & self.mask()) {
            prefetch_line((bucket as *const Bucket).cast());
        }
    }

    /// Probes for `key` and asks for the cache lines of every node whose
    /// tag matches, never reading them: the second step of the lookahead,
    /// once the buckets are in the cache.
    #[inline]
    pub fn prefetch(&self, key: &[u8]) {
        self.probe(hash(key), |bucket| {
            let start = node_of(bucket).as_ptr().cast::<u8>();
            prefetch_line(start);
            prefetch_line(start.wrapping_add(std::mem::size_of::<Node>() - 1));
            false
        });
    }

    /// Finds `key` with one probe: removes it when its expiry time is at or
    /// before `now_ms` (and not 0), else returns its entry. With
    /// `keep_expired` (CLIENT PAUSE) such a key is missing but stays.
    #[inline]
    pub fn find_live(&mut self, key: &[u8], now_ms: u64, keep_expired: bool) -> Found<'_> {
        let Some(at) = self.find(hash(key), key) else {
            return Found::Missing;
        };
        let expire_at = self.node_at(at).entry.expire_at_ms();
        if expire_at != 0 && expire_at <= now_ms {
            if keep_expired {
                return Found::Missing;
            }
            Found::Expired(self.remove_at(at), expire_at)
        } else {
            Found::Live(&mut self.node_at_mut(at).entry)
        }
    }

    /// Stores `entry` under `key`. An existing key keeps its node and gets
    /// the new entry, in place (the old one is dropped); the stored key and
    /// the old entry's expiry time come back. A new key is copied into a
    /// new node.
    #[inline]
    pub fn insert(&mut self, key: &[u8], entry: Entry) -> Option<(&Key, u64)> {
        let hash = hash(key);
        if let Some(at) = self.find(hash, key) {
            let node = self.node_at_mut(at);
            let old_expire = node.entry.expire_at_ms();
            // Assigned, not swapped out: moving the old entry to the stack
            // and back cost a store-forwarding stall per SET.
            node.entry = entry;
            return Some((&node.key, old_expire));
        }
        let node = Box::new(Node {
            key: key.into(),
            entry,
            hash,
        });
        self.insert_new(node);
        None
    }

    /// Puts a node whose key is not in the table into it.
    fn insert_new(&mut self, node: Box<Node>) {
        if (self.len + 1) * 4 > self.buckets.len() * 3 {
            self.grow();
        }
        let tag = tag_of(node.hash);
        let at = Self::vacancy(&self.buckets, node.hash);
        self.buckets[at] = Box::into_raw(node).map_addr(|address| address | tag);
        self.len += 1;
    }

    /// Doubles the buckets and puts every node back.
    #[cold]
    fn grow(&mut self) {
        let count = (self.buckets.len() * 2).max(BUCKETS_MIN);
        let old = std::mem::replace(
            &mut self.buckets,
            vec![std::ptr::null_mut(); count].into_boxed_slice(),
        );
        for bucket in old.iter().copied().filter(|bucket| !bucket.is_null()) {
            // SAFETY: see node_of.
            let hash = unsafe { node_of(bucket).as_ref() }.hash;
            let at = Self::vacancy(&self.buckets, hash);
            self.buckets[at] = bucket;
        }
    }

    /// Takes the node out of bucket `at`, and moves later nodes of the
    /// same run back so that no probe stops short of them.
    fn remove_at(&mut self, at: usize) -> Box<Node> {
        let mask = self.mask();
        let taken = node_of(self.buckets[at]);
        let mut hole = at;
        let mut next = (at + 1) & mask;
        loop {
            let bucket = self.buckets[next];
            if bucket.is_null() {
                break;
            }
            // SAFETY: see node_of.
            let home = unsafe { node_of(bucket).as_ref() }.hash as usize & mask;
            // The node may fill the hole when its home is not strictly
            // after the hole, going round from the hole to it.
            if (next.wrapping_sub(home) & mask) >= (next.wrapping_sub(hole) & mask) {
                self.buckets[hole] = bucket;
                hole = next;
            }
            next = (next + 1) & mask;
        }
        self.buckets[hole] = std::ptr::null_mut();
        self.len -= 1;
        if self.len == 0 {
            // An empty slot keeps no table: otherwise every slot a key ever
            // passed through would hold one, memory that maxmemory cannot
            // evict.
            self.buckets = Box::default();
        }
        // SAFETY: the node came from Box::into_raw and no bucket holds it now.
        unsafe { Box::from_raw(taken.as_ptr()) }
    }

    pub fn remove(&mut self, key: &[u8]) -> Option<Box<Node>> {
        let at = self.find(hash(key), key)?;
        Some(self.remove_at(at))
    }

    /// A node picked at random, reading one node rather than every node
    /// before it: random buckets until one is full, else (a table emptied
    /// by deletions, which do not shrink it) the first full one after the
    /// last tried.
    pub fn random_node(&self, seed: u64) -> Option<&Node> {
        const BUCKET_TRIES: u32 = 8;
        if self.len == 0 {
            return None;
        }
        let mask = self.mask();
        let mut state = seed | 1;
        let mut at = 0;
        for _ in 0..BUCKET_TRIES {
            at = super::xorshift(&mut state) as usize & mask;
            if !self.buckets[at].is_null() {
                return Some(self.node_at(at));
            }
        }
        while self.buckets[at].is_null() {
            at = (at + 1) & mask;
        }
        Some(self.node_at(at))
    }

    /// Up to `count` nodes from the full buckets at and after a random
    /// position (wrapping once around), added to `out`: neighbours in the
    /// table, as Redis's dictGetSomeKeys takes them, so that eviction
    /// samples cost a few cache lines of buckets, and each node's line is
    /// asked for before any is read.
    pub fn some_nodes<'a>(&'a self, seed: u64, count: usize, out: &mut Vec<&'a Node>) {
        if self.len == 0 {
            return;
        }
        let mask = self.mask();
        let start = seed as usize & mask;
        let first = out.len();
        for offset in 0..self.buckets.len() {
            if out.len() - first == count {
                break;
            }
            let bucket = self.buckets[(start + offset) & mask];
            if !bucket.is_null() {
                let node = node_of(bucket);
                prefetch_line(node.as_ptr().cast());
                // SAFETY: see node_of; the table is borrowed for 'a.
                out.push(unsafe { node.as_ref() });
            }
        }
    }

    pub fn keys(&self) -> impl Iterator<Item = &Key> {
        self.iter().map(|(key, _)| key)
    }

    pub fn iter(&self) -> Iter<'_> {
        Iter {
            buckets: self.buckets.iter(),
        }
    }
}

impl Drop for SlotMap {
    fn drop(&mut self) {
        for bucket in self.buckets.iter().copied() {
            if !bucket.is_null() {
                // SAFETY: see node_of; each node is in one bucket and freed
                // once, here.
                drop(unsafe { Box::from_raw(node_of(bucket).as_ptr()) });
            }
        }
    }
}

pub struct Iter<'a> {
    buckets: std::slice::Iter<'a, Bucket>,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a Key, &'a Entry);

    fn next(&mut self) -> Option<Self::Item> {
        let bucket = self.buckets.find(|bucket| !bucket.is_null())?;
        // SAFETY: see node_of; the table is borrowed for 'a.
        let node = unsafe { node_of(*bucket).as_ref() };
        Some((&node.key, &node.entry))
    }
}

impl<'a> IntoIterator for &'a SlotMap {
    type Item = (&'a Key, &'a Entry);
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

#[inline(always)]
pub(super) fn prefetch_line(address: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint; it reads nothing and cannot fault,
    // whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(address.cast())
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = address;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::Value;

    fn entry(text: &str) -> Entry {
        Entry::new(Value::string_copied(text.as_bytes()), 0)
    }

    fn value_of(map: &SlotMap, key: &[u8]) -> Option<Vec<u8>> {
        map.get(key).map(|entry| match &entry.value {
            Value::Str { bytes, .. } => bytes.to_vec(),
            _ => panic!("not a string"),
        })
    }

    #[test]
    fn a_node_fills_its_size_class_and_a_bucket_is_a_pointer() {
        assert_eq!(std::mem::size_of::<Node>(), 80);
        assert_eq!(std::mem::size_of::<Bucket>(), 8);
    }

    #[test]
    fn insert_find_replace_remove_and_iterate() {
        let mut map = SlotMap::default();
        assert!(map.get(b"a").is_none());
        assert!(map.remove(b"a").is_none());
        map.prefetch(b"a");
        map.prefetch_bucket(b"a");
        let long = [b'x'; 40];
        for (key, value) in [(&b"a"[..], "1"), (b"user:1000", "2"), (&long[..], "3")] {
            assert!(map.insert(key, entry(value)).is_none());
        }
        assert_eq!(map.len(), 3);
        let mut volatile = entry("4");
        volatile.set_expire_at_ms(77);
        let (stored, old_expire) = map.insert(b"a", volatile).expect("a is stored");
        assert_eq!((&**stored, old_expire), (&b"a"[..], 0));
        let (_, old_expire) = map.insert(b"a", entry("4")).expect("a is stored");
        assert_eq!(old_expire, 77);
        assert_eq!(value_of(&map, b"a").as_deref(), Some(&b"4"[..]));
        assert_eq!(value_of(&map, &long).as_deref(), Some(&b"3"[..]));
        assert!(map.get(b"user:100").is_none());
        let mut keys: Vec<Vec<u8>> = map.keys().map(|key| key.to_vec()).collect();
        keys.sort();
        assert_eq!(keys, [b"a".to_vec(), b"user:1000".to_vec(), long.to_vec()]);
        assert_eq!((&map).into_iter().count(), 3);
        let removed = map.remove(b"user:1000").expect("stored");
        assert_eq!(&*removed.key, b"user:1000");
        assert!(map.remove(b"user:1000").is_none());
        assert_eq!(map.len(), 2);
    }

    /// Many keys in and out in a shuffled order, checked against a
    /// std HashMap after every step that could move a node.
    #[test]
    fn agrees_with_a_reference_map_through_growth_and_removals() {
        let mut map = SlotMap::default();
        let mut reference = std::collections::HashMap::new();
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for step in 0..40_000 {
            let key = format!("k{}", next() % 3000).into_bytes();
            let value = step.to_string();
            if next() % 3 == 0 {
                assert_eq!(
                    map.remove(&key).is_some(),
                    reference.remove(&key).is_some(),
                    "step {step}"
                );
            } else {
                let replaced = map.insert(&key, entry(&value)).is_some();
                assert_eq!(
                    replaced,
                    reference.insert(key, value).is_some(),
                    "step {step}"
                );
            }
            if step % 997 == 0 {
                assert_eq!(map.len(), reference.len());
                for (key, value) in &reference {
                    assert_eq!(value_of(&map, key).as_deref(), Some(value.as_bytes()));
                }
                assert_eq!(map.iter().count(), reference.len());
                // No bucket is more than 3/4 full.
                assert!(map.len() * 4 <= map.buckets.len() * 3);
            }
        }
        // Removing everything leaves an empty table that still works.
        let keys: Vec<Vec<u8>> = reference.keys().cloned().collect();
        for key in &keys {
            assert!(map.remove(key).is_some());
        }
        assert!(map.is_empty() && map.iter().next().is_none());
        assert!(map.insert(b"again", entry("v")).is_none());
        assert_eq!(value_of(&map, b"again").as_deref(), Some(&b"v"[..]));
    }

    #[test]
    fn find_live_removes_a_key_whose_time_has_come() {
        let mut map = SlotMap::default();
        let mut volatile = entry("v");
        volatile.set_expire_at_ms(100);
        map.insert(b"k", volatile);
        assert!(matches!(map.find_live(b"k", 99, false), Found::Live(_)));
        // Under CLIENT PAUSE it is missing but stays.
        assert!(matches!(map.find_live(b"k", 100, true), Found::Missing));
        assert_eq!(map.len(), 1);
        assert!(
            matches!(map.find_live(b"k", 100, false), Found::Expired(node, 100) if &*node.key == b"k")
        );
        assert!(matches!(map.find_live(b"k", 100, false), Found::Missing));
        assert!(map.is_empty());
    }
}
