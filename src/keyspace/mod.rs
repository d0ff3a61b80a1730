//! One shard's keys: values, expiry and a per-slot key index. Synchronous,
//! owned by exactly one core, and ignorant of the runtime and the protocol.
//!
//! Keys live in one hash table per slot (`slotmap`), so a slot's keys can be counted,
//! listed, scanned or moved without touching the others (SCAN cursors,
//! CLUSTER COUNTKEYSINSLOT/GETKEYSINSLOT, migration). Volatile keys are also
//! kept in an ordered expiry index, so active expiry removes exactly the keys
//! that are due, oldest first, with bounded work per call.

pub mod hll;
mod inline;
mod key;
mod listpack;
mod lzf;
pub mod members;
pub mod packed;
pub mod rdb;
pub mod rdb_file;
mod slotmap;
mod strbytes;
pub mod stream;
mod value;
pub mod zset;

pub use key::{key_eq, Key};
pub use slotmap::{Node, SlotMap};
pub use strbytes::StrBytes;
pub use value::{EncodingLimits, Hash, Set, StrEncoding, Value};
pub use zset::ZSet;

use crate::cluster::slot::{local_slot_count, local_slot_index, slot_of_local_index};
use bytes::Bytes;
use slotmap::Found;
use std::collections::BTreeSet;
use std::hash::BuildHasher;
use std::sync::OnceLock;

/// A hasher state with one random seed per process: the maps are per slot,
/// so a per-map seed would cost 16 bytes times thousands of maps.
#[derive(Clone, Copy, Default)]
pub struct SeededState;

fn process_seed() -> &'static foldhash::fast::RandomState {
    static SEED: OnceLock<foldhash::fast::RandomState> = OnceLock::new();
    SEED.get_or_init(foldhash::fast::RandomState::default)
}

impl BuildHasher for SeededState {
    type Hasher = foldhash::fast::FoldHasher;
    fn build_hasher(&self) -> Self::Hasher {
        process_seed().build_hasher()
    }
}

/// A key's value, expiry time and last access, in 48 bytes.
///
/// The expiry and the access time share one word, so that a node (key and
/// entry, see `slotmap`) is 72 bytes, not 80. Expiry times from 2024 to 2058
/// (`EXPIRE_BASE_MS` plus 40 bits of milliseconds) are stored beside the
/// last access in seconds, modulo 2^23 (97 days: OBJECT IDLETIME wraps
/// then, as Redis's 24-bit LRU clock wraps after 194 days). Any other
/// expiry time (in the past, or after 2058) is stored whole and the access
/// time is not kept: OBJECT IDLETIME of such a key answers 0.
#[derive(Debug, Clone)]
pub struct Entry {
    pub value: Value,
    meta: u64,
}

const _: () = assert!(std::mem::size_of::<Entry>() == 48);

/// The latest expiry time kept: Redis's (milliseconds in an i64).
pub const EXPIRE_AT_MS_MAX: u64 = i64::MAX as u64;
/// 2024-01-01T00:00:00Z in Unix milliseconds.
const EXPIRE_BASE_MS: u64 = 1_704_067_200_000;
const ACCESS_BITS: u32 = 23;
const ACCESS_MASK: u64 = (1 << ACCESS_BITS) - 1;
/// Set when the word holds a whole expiry time and no access time.
const WHOLE_EXPIRY: u64 = 1 << 63;
/// Expiry times stored beside the access time: 1 + (time - base), so that
/// 0 means none.
const RELATIVE_EXPIRY_MAX: u64 = (1 << (63 - ACCESS_BITS)) - 1;

impl Entry {
    pub fn new(value: Value, now_ms: u64) -> Self {
        Entry {
            value,
            meta: (now_ms / 1000) & ACCESS_MASK,
        }
    }

    /// Absolute expiry time in Unix milliseconds; 0 when the key is
    /// persistent.
    #[inline]
    pub fn expire_at_ms(&self) -> u64 {
        if self.meta & WHOLE_EXPIRY != 0 {
            return self.meta & !WHOLE_EXPIRY;
        }
        match self.meta >> ACCESS_BITS {
            0 => 0,
            relative => EXPIRE_BASE_MS + relative - 1,
        }
    }

    /// Sets the expiry time (0: none), keeping the access time where the
    /// new time leaves room for it. Only the keyspace changes a stored
    /// entry's expiry, to keep its index in step (`Keyspace::set_expire`).
    pub fn set_expire_at_ms(&mut self, expire_at_ms: u64) {
        let expire_at_ms = expire_at_ms.min(EXPIRE_AT_MS_MAX);
        let access = if self.meta & WHOLE_EXPIRY != 0 {
            0
        } else {
            self.meta & ACCESS_MASK
        };
        let relative = expire_at_ms.wrapping_sub(EXPIRE_BASE_MS).wrapping_add(1);
        self.meta = if expire_at_ms == 0 {
            access
        } else if expire_at_ms >= EXPIRE_BASE_MS && relative <= RELATIVE_EXPIRY_MAX {
            relative << ACCESS_BITS | access
        } else {
            // Redis keeps expiry times below 2^63 ms.
            WHOLE_EXPIRY | expire_at_ms
        };
    }

    /// Notes an access now (OBJECT IDLETIME).
    #[inline]
    pub fn touch(&mut self, now_ms: u64) {
        if self.meta & WHOLE_EXPIRY == 0 {
            self.meta = (self.meta & !ACCESS_MASK) | ((now_ms / 1000) & ACCESS_MASK);
        }
    }

    /// Seconds since the last access, modulo 2^23 (97 days).
    pub fn idle_secs(&self, now_ms: u64) -> u64 {
        if self.meta & WHOLE_EXPIRY != 0 {
            return 0;
        }
        ((now_ms / 1000).wrapping_sub(self.meta & ACCESS_MASK)) & ACCESS_MASK
    }

    /// Sets the last access `idle_secs` before now (RESTORE IDLETIME).
    pub fn set_idle_secs(&mut self, idle_secs: u64, now_ms: u64) {
        if self.meta & WHOLE_EXPIRY == 0 {
            let access = (now_ms / 1000).wrapping_sub(idle_secs.min(ACCESS_MASK)) & ACCESS_MASK;
            self.meta = (self.meta & !ACCESS_MASK) | access;
        }
    }

    /// The access clock as DEBUG OBJECT shows it (Redis's `lru` field).
    pub fn access_clock(&self) -> u64 {
        self.meta & ACCESS_MASK
    }

    /// Sets the access word: the access time, or under an LFU policy the
    /// frequency word (`Lfu`). An entry whose expiry takes the whole word
    /// keeps none.
    fn set_access_word(&mut self, word: u64) {
        if self.meta & WHOLE_EXPIRY == 0 {
            self.meta = (self.meta & !ACCESS_MASK) | (word & ACCESS_MASK);
        }
    }

    /// The access frequency as OBJECT FREQ reads it: the counter, less one
    /// for each `decay_minutes` since it was last decremented (Redis's
    /// LFUDecrAndReturn).
    pub fn lfu_counter(&self, now_ms: u64, decay_minutes: u64) -> u64 {
        let word = self.access_clock();
        let (counter, then) = (word & 0xFF, word >> 8);
        let now = lfu_minutes(now_ms);
        let elapsed = if now >= then {
            now - then
        } else {
            LFU_MINUTES_MASK - then + now
        };
        let periods = elapsed.checked_div(decay_minutes).unwrap_or(0);
        counter.saturating_sub(periods)
    }

    /// Sets the access frequency to `counter` as of now (RESTORE FREQ).
    pub fn set_lfu(&mut self, counter: u64, now_ms: u64) {
        self.set_access_word(lfu_minutes(now_ms) << 8 | counter.min(255));
    }

    /// Notes an access under an LFU policy (Redis's updateLFU): the decayed
    /// counter, raised by one with a probability that falls as it grows
    /// (LFULogIncr); `random` is any 64 random bits.
    fn lfu_touch(&mut self, now_ms: u64, lfu: Lfu, random: u64) {
        let mut counter = self.lfu_counter(now_ms, lfu.decay_minutes);
        if counter < 255 {
            let base = counter.saturating_sub(LFU_INIT_VAL) as f64;
            let chance = 1.0 / (base * lfu.log_factor as f64 + 1.0);
            let draw = (random >> 11) as f64 / (1u64 << 53) as f64;
            if draw < chance {
                counter += 1;
            }
        }
        self.set_lfu(counter, now_ms);
    }
}

/// Under an LFU maxmemory policy the access word holds, as Redis's 24-bit
/// `lru` field does, the minute the counter was last decremented (15 bits
/// here, 16 in Redis) and an 8-bit logarithmic access counter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lfu {
    pub log_factor: u64,
    pub decay_minutes: u64,
}

/// xorshift64: the next of a sequence of pseudo-random numbers (random
/// picks and LFU draws; `state` must not be 0).
#[inline(always)]
pub(crate) fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// The counter a new key starts with (Redis's LFU_INIT_VAL).
pub const LFU_INIT_VAL: u64 = 5;
const LFU_MINUTES_MASK: u64 = (1 << (ACCESS_BITS - 8)) - 1;

fn lfu_minutes(now_ms: u64) -> u64 {
    (now_ms / 60_000) & LFU_MINUTES_MASK
}

#[derive(Debug, Default, Clone, Copy)]
pub struct KeyspaceStats {
    pub hits: u64,
    pub misses: u64,
    pub expired_keys: u64,
    pub evicted_keys: u64,
}

pub struct Keyspace {
    core: usize,
    cores: usize,
    slots: Vec<SlotMap>,
    expiry: BTreeSet<(u64, u16, Key)>,
    key_count: usize,
    pub stats: KeyspaceStats,
    /// False after DEBUG SET-ACTIVE-EXPIRE 0.
    pub active_expire_enabled: bool,
    /// While a CLIENT PAUSE is in force: keys whose time has come read as
    /// missing but stay stored, and active expiry waits (Redis expires
    /// nothing then, so a paused master's replicas see no deletions).
    pub expiry_paused: bool,
    /// On a read-only replica: keys whose time has come read as missing
    /// but stay until the master's DEL (Redis's replicas expire nothing
    /// themselves), and while `master_write` is set (a write command runs:
    /// on such a replica only the master's stream writes) they are live,
    /// as Redis treats every key for its master client.
    pub replica_keeps_expired: bool,
    pub master_write: bool,
    /// When set, every key that expires is noted here (for `expired`
    /// keyspace events).
    pub expired_log: Option<Vec<Bytes>>,
    /// While replicas are fed: every key that expires, for a DEL to them.
    pub repl_expired: Option<Vec<Bytes>>,
    /// Set under an LFU maxmemory policy: accesses count frequency, not
    /// time (see `Lfu`).
    pub lfu: Option<Lfu>,
    /// The time as the database last read it (`Db::refresh_clock`), for
    /// new keys' frequency words.
    pub clock_ms: u64,
    rng: u64,
    /// A snapshot under way on this core (`capture_step`).
    capture: Option<Box<Capture>>,
}

/// A snapshot of this core's keys as they were at its cut, serialized slot
/// by slot while clients go on: the slots below `next_index` are written;
/// before a key of a later slot first changes, its value at the cut is
/// written at once (`preserve`) and the key is noted in `taken`, which the
/// slot's turn then skips (a key made after the cut is noted too, with
/// nothing written).
struct Capture {
    chunk: rdb_file::Chunk,
    next_index: usize,
    taken: std::collections::HashSet<Bytes, foldhash::fast::RandomState>,
}

/// Notes an expired key for keyspace events and for replicas.
fn log_expired(events: &mut Option<Vec<Bytes>>, replicas: &mut Option<Vec<Bytes>>, key: &[u8]) {
    for log in [events, replicas].into_iter().flatten() {
        log.push(Bytes::copy_from_slice(key));
    }
}

impl Keyspace {
    pub fn new(core: usize, cores: usize) -> Self {
        let slots = (0..local_slot_count(core, cores))
            .map(|_| SlotMap::default())
            .collect();
        Keyspace {
            core,
            cores,
            slots,
            expiry: BTreeSet::new(),
            key_count: 0,
            stats: KeyspaceStats::default(),
            active_expire_enabled: true,
            expiry_paused: false,
            replica_keeps_expired: false,
            master_write: false,
            expired_log: None,
            repl_expired: None,
            lfu: None,
            clock_ms: 0,
            rng: 0x2545_F491_4F6C_DD1D ^ core as u64,
            capture: None,
        }
    }

    /// Cuts a snapshot: from now on the keys' values as they are now are
    /// serialized (`capture_step`, `preserve`).
    pub fn start_capture(&mut self) {
        self.capture = Some(Box::new(Capture {
            chunk: rdb_file::Chunk::default(),
            next_index: 0,
            taken: Default::default(),
        }));
    }

    /// Serializes the next slots, about `keys_budget` keys' worth; true
    /// when every slot is done (or no snapshot is under way).
    pub fn capture_step(&mut self, keys_budget: usize) -> bool {
        let Some(capture) = self.capture.as_deref_mut() else {
            return true;
        };
        let mut spent = 0;
        while capture.next_index < self.slots.len() && spent < keys_budget {
            for (key, entry) in &self.slots[capture.next_index] {
                if capture.taken.is_empty() || !capture.taken.contains(&key[..]) {
                    capture.chunk.push(key, &entry.value, entry.expire_at_ms());
                    spent += 1;
                }
            }
            spent += 1;
            capture.next_index += 1;
        }
        capture.next_index >= self.slots.len()
    }

    /// The snapshot's pieces filled so far, taken out to be written.
    pub fn take_capture_pieces(&mut self) -> Vec<Vec<u8>> {
        self.capture
            .as_deref_mut()
            .map(|capture| capture.chunk.take_full())
            .unwrap_or_default()
    }

    /// Ends the snapshot: the rest is serialized now, and the chunk handed
    /// over.
    pub fn finish_capture(&mut self) -> Option<rdb_file::Chunk> {
        self.capture_step(usize::MAX);
        self.capture.take().map(|capture| capture.chunk)
    }

    /// Whether a snapshot is under way (`start_capture`).
    #[inline]
    pub fn capturing(&self) -> bool {
        self.capture.is_some()
    }

    /// Before a write command changes `key`: keeps its value at the
    /// snapshot's cut (for commands that change a value they looked up
    /// for reading, as the stream group commands do).
    pub fn preserve_key(&mut self, key: &[u8]) {
        self.preserve(crate::cluster::key_hash_slot(key), key);
    }

    /// Before `key` changes: keeps its value at the snapshot's cut.
    #[inline]
    fn preserve(&mut self, slot: u16, key: &[u8]) {
        if self.capture.is_some() {
            self.preserve_now(slot, key);
        }
    }

    #[cold]
    fn preserve_now(&mut self, slot: u16, key: &[u8]) {
        let index = local_slot_index(slot, self.cores);
        let Some(capture) = self.capture.as_deref_mut() else {
            return;
        };
        if index < capture.next_index || capture.taken.contains(key) {
            return;
        }
        if let Some(entry) = self.slots.get(index).and_then(|map| map.get(key)) {
            capture.chunk.push(key, &entry.value, entry.expire_at_ms());
        }
        capture.taken.insert(Bytes::copy_from_slice(key));
    }

    #[inline]
    fn map(&self, slot: u16) -> &SlotMap {
        debug_assert_eq!(
            slot as usize % self.cores,
            self.core,
            "slot {slot} is not this core's"
        );
        &self.slots[local_slot_index(slot, self.cores)]
    }

    #[inline]
    fn map_mut(&mut self, slot: u16) -> &mut SlotMap {
        debug_assert_eq!(
            slot as usize % self.cores,
            self.core,
            "slot {slot} is not this core's"
        );
        &mut self.slots[local_slot_index(slot, self.cores)]
    }

    pub fn len(&self) -> usize {
        self.key_count
    }

    pub fn is_empty(&self) -> bool {
        self.key_count == 0
    }

    fn log_expired(&mut self, key: &[u8]) {
        log_expired(&mut self.expired_log, &mut self.repl_expired, key);
    }

    /// Keys whose time has come stay stored (CLIENT PAUSE, a replica).
    #[inline]
    fn keeps_expired(&self) -> bool {
        self.expiry_paused || self.replica_keeps_expired
    }

    /// The time expiry compares with: none is due for the master's writes
    /// on a replica.
    #[inline]
    fn due_clock(&self, now_ms: u64) -> u64 {
        if self.master_write {
            0
        } else {
            now_ms
        }
    }

    pub fn volatile_len(&self) -> usize {
        self.expiry.len()
    }

    /// Removes `key` if its time has come (unless expiry is paused); true
    /// when its time has come.
    fn expire_if_due(&mut self, slot: u16, key: &[u8], now_ms: u64) -> bool {
        let now_ms = self.due_clock(now_ms);
        let due = matches!(self.map(slot).get(key), Some(entry) if entry.expire_at_ms() != 0 && entry.expire_at_ms() <= now_ms);
        if due && !self.keeps_expired() {
            self.remove(slot, key);
            self.stats.expired_keys += 1;
            self.log_expired(key);
        }
        due
    }

    /// The lookahead of a batch, in three passes over its keys so that no
    /// cache miss waits for another: `warm_slot` for every key (asks for the
    /// line of its slot's table header), then `warm_bucket` (reads the
    /// header, asks for the line of the key's first bucket), then
    /// `warm_key` (probes, with the buckets now in the cache, and asks for
    /// the node's lines). The commands then find everything in the cache,
    /// where run one after the other they would take each miss in turn.
    #[inline]
    pub fn warm_slot(&self, slot: u16) {
        if let Some(map) = self.slots.get(local_slot_index(slot, self.cores)) {
            slotmap::prefetch_line((map as *const SlotMap).cast());
        }
    }

    /// See `warm_slot`.
    #[inline]
    pub fn warm_bucket(&self, slot: u16, key: &[u8]) {
        if let Some(map) = self.slots.get(local_slot_index(slot, self.cores)) {
            map.prefetch_bucket(key);
        }
    }

    /// See `warm_slot`.
    #[inline]
    pub fn warm_key(&self, slot: u16, key: &[u8]) {
        if let Some(map) = self.slots.get(local_slot_index(slot, self.cores)) {
            map.prefetch(key);
        }
    }

    /// Finds a live key with one hash lookup, removing it first if its
    /// time has come (lazy expiry), and touches its access time. Counts a
    /// keyspace hit or miss when `count` (reads do, writes do not).
    fn find_live(&mut self, slot: u16, key: &[u8], now_ms: u64, count: bool) -> Option<&mut Entry> {
        debug_assert_eq!(
            slot as usize % self.cores,
            self.core,
            "slot {slot} is not this core's"
        );
        let index = local_slot_index(slot, self.cores);
        let (due_clock, keep) = (self.due_clock(now_ms), self.keeps_expired());
        let found = match self.slots[index].find_live(key, due_clock, keep) {
            Found::Live(entry) => {
                match self.lfu {
                    None => entry.touch(now_ms),
                    Some(lfu) => entry.lfu_touch(now_ms, lfu, xorshift(&mut self.rng)),
                }
                Some(entry)
            }
            Found::Expired(node, expire_at) => {
                log_expired(&mut self.expired_log, &mut self.repl_expired, &node.key);
                self.expiry.remove(&(expire_at, slot, node.key));
                self.key_count -= 1;
                self.stats.expired_keys += 1;
                None
            }
            Found::Missing => None,
        };
        if count {
            match found {
                Some(_) => self.stats.hits += 1,
                None => self.stats.misses += 1,
            }
        }
        found
    }

    /// Looks a key up for reading, expiring it lazily, counting a hit or a
    /// miss and touching its access time.
    pub fn lookup_read(&mut self, slot: u16, key: &[u8], now_ms: u64) -> Option<&mut Entry> {
        self.find_live(slot, key, now_ms, true)
    }

    /// Looks a key up for writing: expires it lazily, counts nothing.
    pub fn lookup_write(&mut self, slot: u16, key: &[u8], now_ms: u64) -> Option<&mut Entry> {
        self.preserve(slot, key);
        self.find_live(slot, key, now_ms, false)
    }

    /// Looks a key up without side effects other than lazy expiry (TYPE,
    /// OBJECT, EXISTS-like checks that Redis does not count as hits).
    pub fn peek(&mut self, slot: u16, key: &[u8], now_ms: u64) -> Option<&Entry> {
        if self.expire_if_due(slot, key, now_ms) && self.keeps_expired() {
            return None;
        }
        self.map(slot).get(key)
    }

    /// Whether the key is stored, live or with its time come and not yet
    /// expired (Redis's dictFind on the main dict).
    pub fn holds(&self, slot: u16, key: &[u8]) -> bool {
        self.stored(slot, key).is_some()
    }

    /// The key's entry as stored, even when its time has come (nothing is
    /// expired): Redis's dictFind on the main dict.
    pub fn stored(&self, slot: u16, key: &[u8]) -> Option<&Entry> {
        self.map(slot).get(key)
    }

    pub fn contains(&mut self, slot: u16, key: &[u8], now_ms: u64) -> bool {
        self.peek(slot, key, now_ms).is_some()
    }

    /// Stores `entry` under `key`, replacing any old value; keeps the expiry
    /// index in step. The key is copied only when it
    /// is new: overwriting reuses the stored key.
    pub fn insert(&mut self, slot: u16, key: &[u8], mut entry: Entry) {
        self.preserve(slot, key);
        let new_expire = entry.expire_at_ms();
        let index = local_slot_index(slot, self.cores);
        if self.lfu.is_some() {
            // A new key starts at LFU_INIT_VAL; one written over keeps its
            // frequency, as Redis's dbOverwrite does.
            match self.slots[index].get(key) {
                Some(old) => entry.set_access_word(old.access_clock()),
                None => entry.set_lfu(LFU_INIT_VAL, self.clock_ms),
            }
        }
        debug_assert_eq!(
            slot as usize % self.cores,
            self.core,
            "slot {slot} is not this core's"
        );
        // One lookup for both cases; the key is copied only when new.
        let Some((stored_key, old_expire)) = self.slots[index].insert(key, entry) else {
            if new_expire != 0 {
                self.expiry.insert((new_expire, slot, key.into()));
            }
            self.key_count += 1;
            return;
        };
        if old_expire != new_expire {
            if old_expire != 0 {
                self.expiry.remove(&(old_expire, slot, stored_key.clone()));
            }
            if new_expire != 0 {
                self.expiry.insert((new_expire, slot, stored_key.clone()));
            }
        }
    }

    pub fn remove(&mut self, slot: u16, key: &[u8]) -> Option<Entry> {
        self.preserve(slot, key);
        let Node { key, entry, .. } = *self.map_mut(slot).remove(key)?;
        self.key_count -= 1;
        if entry.expire_at_ms() != 0 {
            self.expiry.remove(&(entry.expire_at_ms(), slot, key));
        }
        Some(entry)
    }

    /// Sets or clears (0) a live key's expiry time; false if the key is missing.
    pub fn set_expire(&mut self, slot: u16, key: &[u8], expire_at_ms: u64) -> bool {
        self.preserve(slot, key);
        let expire_at_ms = expire_at_ms.min(EXPIRE_AT_MS_MAX);
        let Some(node) = self.map(slot).node(key) else {
            return false;
        };
        let (stored_key, old) = (node.key.clone(), node.entry.expire_at_ms());
        if old == expire_at_ms {
            return true;
        }
        if old != 0 {
            self.expiry.remove(&(old, slot, stored_key.clone()));
        }
        if expire_at_ms != 0 {
            self.expiry.insert((expire_at_ms, slot, stored_key));
        }
        if let Some(entry) = self.map_mut(slot).get_mut(key) {
            entry.set_expire_at_ms(expire_at_ms);
        }
        true
    }

    /// Removes up to `keys_max` keys whose time has come; returns how many.
    pub fn expire_due(&mut self, now_ms: u64, keys_max: usize) -> usize {
        if self.expiry_paused {
            return 0;
        }
        let mut removed = 0;
        while removed < keys_max && self.has_due_keys(now_ms) {
            let Some((_, slot, key)) = self.expiry.pop_first() else {
                break;
            };
            let index = local_slot_index(slot, self.cores);
            if self.slots[index].remove(&key).is_some() {
                self.key_count -= 1;
                self.stats.expired_keys += 1;
                removed += 1;
                self.log_expired(&key);
            }
        }
        removed
    }

    pub fn has_due_keys(&self, now_ms: u64) -> bool {
        self.expiry.first().is_some_and(|(at, _, _)| *at <= now_ms)
    }

    pub fn clear(&mut self) {
        // A snapshot under way keeps what it has not written yet.
        self.capture_step(usize::MAX);
        for map in &mut self.slots {
            *map = SlotMap::default();
        }
        self.expiry.clear();
        self.key_count = 0;
    }

    pub fn slot_len(&self, slot: u16) -> usize {
        self.map(slot).len()
    }

    /// Up to `count` keys of `slot` (CLUSTER GETKEYSINSLOT, migration).
    pub fn slot_keys(&self, slot: u16, count: usize) -> Vec<Bytes> {
        self.map(slot)
            .keys()
            .take(count)
            .map(|key| Bytes::copy_from_slice(key))
            .collect()
    }

    /// The slot-map at local position `index`, and its slot number.
    pub fn slot_at(&self, index: usize) -> Option<(u16, &SlotMap)> {
        let map = self.slots.get(index)?;
        Some((slot_of_local_index(index, self.core, self.cores), map))
    }

    pub fn local_slot_count(&self) -> usize {
        self.slots.len()
    }

    /// A pseudo-random key that has an expiry time and its entry, or None
    /// when no key has one: the first one due at or after a time `seed`
    /// picks between the soonest expiry and the latest (O(log n) in the
    /// expiry index).
    pub fn random_volatile_entry(&self, seed: u64) -> Option<(&[u8], &Entry)> {
        let (first, _, _) = self.expiry.first()?;
        let (last, _, _) = self.expiry.last()?;
        let at = first + seed % (last - first).saturating_add(1);
        let (_, slot, key) = self.expiry.range((at, 0, Key::from(&b""[..]))..).next()?;
        Some((key, self.map(*slot).get(key)?))
    }

    /// `key`'s entry (of `slot`) as it is, expired or not: no access is
    /// noted and nothing is removed.
    pub fn entry(&self, slot: u16, key: &[u8]) -> Option<&Entry> {
        self.map(slot).get(key)
    }

    /// `entry`, to change: no access is noted.
    pub fn entry_mut(&mut self, slot: u16, key: &[u8]) -> Option<&mut Entry> {
        self.preserve(slot, key);
        self.map_mut(slot).get_mut(key)
    }

    /// The key due soonest (volatile-ttl eviction).
    pub fn soonest_volatile_key(&self) -> Option<&[u8]> {
        let (_, _, key) = self.expiry.first()?;
        Some(key)
    }

    /// A pseudo-random key and its entry, expired or not; None when empty.
    /// `seed` drives the picks: random slots until one has keys (the first
    /// with keys from a random one on, after `SLOT_TRIES`), then a random
    /// key in it. Trying again rather than taking the next slot with keys
    /// keeps the keys after a long run of empty slots from coming up far
    /// more often than the others, which eviction sampling would feel.
    pub fn random_entry(&self, seed: u64) -> Option<(&[u8], &Entry)> {
        let mut state = seed | 1;
        let index = self.random_slot(&mut state)?;
        let node = self.slots[index].random_node(xorshift(&mut state))?;
        Some((&node.key, &node.entry))
    }

    /// The local index of a slot with keys, picked as `random_entry` says;
    /// None when the keyspace is empty.
    fn random_slot(&self, state: &mut u64) -> Option<usize> {
        const SLOT_TRIES: u32 = 64;
        if self.key_count == 0 {
            return None;
        }
        let count = self.slots.len();
        let tried = (0..SLOT_TRIES)
            .map(|_| xorshift(state) as usize % count)
            .find(|&index| !self.slots[index].is_empty());
        tried.or_else(|| {
            let start = xorshift(state) as usize % count;
            (0..count)
                .map(|offset| (start + offset) % count)
                .find(|&index| !self.slots[index].is_empty())
        })
    }

    /// Up to `count` keys for eviction sampling, expired or not, into
    /// `out` (emptied first): neighbours from a random slot with keys on
    /// (`SlotMap::some_nodes`), from the next slots while that one has too
    /// few. Nothing when the keyspace is empty.
    pub fn sample_nodes<'a>(&'a self, seed: u64, count: usize, out: &mut Vec<&'a Node>) {
        const SLOTS_MAX: usize = 16;
        out.clear();
        let mut state = seed | 1;
        let Some(start) = self.random_slot(&mut state) else {
            return;
        };
        let count_slots = self.slots.len();
        let position = xorshift(&mut state);
        for offset in 0..SLOTS_MAX.min(count_slots) {
            if out.len() >= count {
                break;
            }
            let map = &self.slots[(start + offset) % count_slots];
            map.some_nodes(position, count - out.len(), out);
        }
    }

    /// A pseudo-random live key, or None when empty (RANDOMKEY): a random
    /// entry, and another while the one found has expired (removed then).
    pub fn random_key(&mut self, seed: u64, now_ms: u64) -> Option<Bytes> {
        for attempt in 0..100u64 {
            let seed = seed.wrapping_add(attempt.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let (key, entry) = self.random_entry(seed)?;
            let due = entry.expire_at_ms() != 0 && entry.expire_at_ms() <= now_ms;
            let key = Bytes::copy_from_slice(key);
            if !due {
                return Some(key);
            }
            self.expire_if_due(crate::cluster::key_hash_slot(&key), &key, now_ms);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::key_hash_slot;

    fn string(text: &str) -> Value {
        Value::string_copied(text.as_bytes())
    }

    /// A snapshot holds every key as it was at the cut, whatever changes
    /// its key's slot sees before or after its turn to be serialized.
    #[test]
    fn a_replica_keeps_due_keys_and_its_masters_writes_see_them() {
        let mut keyspace = Keyspace::new(0, 1);
        let slot = key_hash_slot(b"k");
        let mut entry = Entry::new(string("v"), 0);
        entry.set_expire_at_ms(1_000);
        keyspace.insert(slot, b"k", entry);
        keyspace.replica_keeps_expired = true;
        assert!(
            keyspace.lookup_read(slot, b"k", 2_000).is_none(),
            "a read sees it missing"
        );
        assert!(keyspace.peek(slot, b"k", 2_000).is_none(), "so does a peek");
        assert!(keyspace.holds(slot, b"k"), "but it stays stored");
        keyspace.master_write = true;
        assert!(
            keyspace.lookup_write(slot, b"k", 2_000).is_some(),
            "the master's write finds it"
        );
        keyspace.master_write = false;
        keyspace.replica_keeps_expired = false;
        assert!(keyspace.lookup_read(slot, b"k", 2_000).is_none());
        assert!(!keyspace.holds(slot, b"k"), "a master deletes it on access");
    }

    #[test]
    fn a_capture_keeps_the_values_at_its_cut() {
        let mut keyspace = Keyspace::new(1, 2);
        let keys: Vec<String> = (0..3000)
            .map(|i| format!("key:{i}"))
            .filter(|key| key_hash_slot(key.as_bytes()) % 2 == 1)
            .collect();
        let value_of = |key: &str| format!("{key}=cut");
        for (i, key) in keys.iter().enumerate() {
            let mut entry = Entry::new(string(&value_of(key)), 0);
            if i % 7 == 0 {
                entry.set_expire_at_ms(4_000_000_000_000 + i as u64);
            }
            keyspace.insert(key_hash_slot(key.as_bytes()), key.as_bytes(), entry);
        }
        keyspace.start_capture();
        let mut done = false;
        for (round, key) in keys.iter().enumerate() {
            let slot = key_hash_slot(key.as_bytes());
            match round % 5 {
                0 => keyspace.insert(slot, key.as_bytes(), Entry::new(string("after"), 0)),
                1 => drop(keyspace.remove(slot, key.as_bytes())),
                2 => drop(keyspace.set_expire(slot, key.as_bytes(), 1)),
                3 => {
                    if let Some(entry) = keyspace.lookup_write(slot, key.as_bytes(), 0) {
                        entry.value = string("changed in place");
                    }
                }
                _ => {
                    // A new key of this core's slots (odd ones).
                    let new = (0..)
                        .map(|n| format!("new:{round}:{n}"))
                        .find(|new| key_hash_slot(new.as_bytes()) % 2 == 1)
                        .expect("some key hashes to an odd slot");
                    keyspace.insert(
                        key_hash_slot(new.as_bytes()),
                        new.as_bytes(),
                        Entry::new(string("x"), 0),
                    );
                }
            }
            if round % 50 == 0 && !done {
                done = keyspace.capture_step(40);
            }
        }
        let chunk = keyspace.finish_capture().expect("a capture");
        let file = rdb_file::file_of_chunk(chunk, keys.len() as u64, 0);
        let mut saved = std::collections::BTreeMap::new();
        rdb_file::load(&file, &EncodingLimits::default(), |loaded| {
            let Value::Str { bytes, .. } = &loaded.value else {
                panic!("a string");
            };
            saved.insert(
                String::from_utf8(loaded.key.to_vec()).expect("utf-8"),
                (
                    String::from_utf8(bytes.to_vec()).expect("utf-8"),
                    loaded.expire_at_ms,
                ),
            );
        })
        .expect("the chunk loads");
        assert_eq!(saved.len(), keys.len(), "exactly the keys at the cut");
        for (i, key) in keys.iter().enumerate() {
            let expire = if i % 7 == 0 {
                4_000_000_000_000 + i as u64
            } else {
                0
            };
            assert_eq!(saved.get(key), Some(&(value_of(key), expire)), "{key}");
        }
    }

    #[test]
    fn insert_lookup_remove_and_counts() {
        let mut keyspace = Keyspace::new(0, 1);
        let slot = key_hash_slot(b"a");
        keyspace.insert(slot, b"a", Entry::new(string("1"), 0));
        keyspace.insert(slot, b"a", Entry::new(string("2"), 0));
        assert_eq!(keyspace.len(), 1);
        assert!(matches!(
            keyspace.peek(slot, b"a", 0).map(|entry| &entry.value),
            Some(Value::Str { bytes, .. }) if &bytes[..] == b"2"
        ));
        assert!(keyspace.lookup_read(slot, b"a", 0).is_some());
        assert!(keyspace.lookup_read(slot, b"b", 0).is_none());
        assert_eq!((keyspace.stats.hits, keyspace.stats.misses), (1, 1));
        assert!(keyspace.remove(slot, b"a").is_some());
        assert!(keyspace.is_empty());
    }

    #[test]
    fn an_entry_keeps_any_expiry_time_exactly_and_the_access_time_when_it_can() {
        let now = 1_795_000_000_000; // 2026
        let mut entry = Entry::new(string("v"), now);
        assert_eq!(entry.expire_at_ms(), 0);
        assert_eq!(entry.idle_secs(now + 5_000), 5);
        for expire in [
            1,
            100,
            EXPIRE_BASE_MS - 1,
            EXPIRE_BASE_MS,
            now + 1,
            EXPIRE_BASE_MS + RELATIVE_EXPIRY_MAX - 1,
            EXPIRE_BASE_MS + RELATIVE_EXPIRY_MAX,
            EXPIRE_BASE_MS + RELATIVE_EXPIRY_MAX + 1,
            EXPIRE_AT_MS_MAX,
        ] {
            let mut entry = Entry::new(string("v"), now);
            entry.set_expire_at_ms(expire);
            assert_eq!(entry.expire_at_ms(), expire, "expiry {expire}");
            let kept = (EXPIRE_BASE_MS..EXPIRE_BASE_MS + RELATIVE_EXPIRY_MAX).contains(&expire);
            entry.touch(now + 7_000);
            let idle = if kept { 3 } else { 0 };
            assert_eq!(entry.idle_secs(now + 10_000), idle, "expiry {expire}");
            entry.set_expire_at_ms(0);
            assert_eq!(entry.expire_at_ms(), 0);
        }
        entry.set_expire_at_ms(u64::MAX);
        assert_eq!(entry.expire_at_ms(), EXPIRE_AT_MS_MAX);
        // The access clock wraps after 2^23 seconds, as Redis's after 2^24.
        let mut entry = Entry::new(string("v"), now);
        entry.set_idle_secs(1000, now);
        assert_eq!(entry.idle_secs(now), 1000);
        assert_eq!(entry.idle_secs(now + (ACCESS_MASK + 1) * 1000), 1000);
        entry.set_expire_at_ms(now + 60_000);
        assert_eq!(
            entry.idle_secs(now),
            1000,
            "an expiry keeps the access time"
        );
    }

    #[test]
    fn expiry_is_lazy_and_active_and_index_stays_in_step() {
        let mut keyspace = Keyspace::new(0, 1);
        for i in 0..10 {
            let key = Bytes::from(format!("k{i}"));
            let slot = key_hash_slot(&key);
            let mut entry = Entry::new(string("v"), 0);
            entry.set_expire_at_ms(100 + i);
            keyspace.insert(slot, &key, entry);
        }
        assert_eq!(keyspace.volatile_len(), 10);
        assert!(
            keyspace
                .lookup_read(key_hash_slot(b"k0"), b"k0", 100)
                .is_none(),
            "lazy expiry"
        );
        assert_eq!(keyspace.expire_due(105, 3), 3);
        assert_eq!(keyspace.expire_due(105, 100), 2);
        assert_eq!(keyspace.len(), 4);
        let slot = key_hash_slot(b"k9");
        assert!(keyspace.set_expire(slot, b"k9", 0));
        assert_eq!(keyspace.expire_due(1000, 100), 3);
        assert_eq!(keyspace.len(), 1);
        assert_eq!(keyspace.volatile_len(), 0);
        assert_eq!(keyspace.stats.expired_keys, 9);
    }

    #[test]
    fn overwriting_a_volatile_key_drops_its_old_deadline() {
        let mut keyspace = Keyspace::new(0, 1);
        let slot = key_hash_slot(b"x");
        let mut entry = Entry::new(string("v"), 0);
        entry.set_expire_at_ms(50);
        keyspace.insert(slot, b"x", entry);
        keyspace.insert(slot, b"x", Entry::new(string("w"), 0));
        assert_eq!(keyspace.volatile_len(), 0);
        assert_eq!(keyspace.expire_due(100, 10), 0);
        assert_eq!(keyspace.len(), 1);
    }

    #[test]
    fn volatile_key_picks_are_keys_with_a_ttl() {
        let mut keyspace = Keyspace::new(0, 1);
        assert!(keyspace.random_volatile_entry(1).is_none());
        assert!(keyspace.soonest_volatile_key().is_none());
        for i in 0..10u64 {
            let key = format!("k{i}");
            let mut entry = Entry::new(string("v"), 0);
            if i % 2 == 1 {
                entry.set_expire_at_ms(1000 + i * 10);
            }
            keyspace.insert(key_hash_slot(key.as_bytes()), key.as_bytes(), entry);
        }
        assert_eq!(keyspace.soonest_volatile_key(), Some(&b"k1"[..]));
        let mut seen = std::collections::BTreeSet::new();
        for seed in 0..200 {
            let (key, _) = keyspace.random_volatile_entry(seed).unwrap();
            seen.insert(String::from_utf8(key.to_vec()).unwrap());
        }
        let volatile: std::collections::BTreeSet<String> = ["k1", "k3", "k5", "k7", "k9"]
            .iter()
            .map(|k| k.to_string())
            .collect();
        assert_eq!(seen, volatile);
    }

    #[test]
    fn random_key_finds_keys_on_a_multi_core_shard() {
        let mut keyspace = Keyspace::new(1, 2);
        let key = (0..)
            .map(|i| format!("k{i}"))
            .find(|k| key_hash_slot(k.as_bytes()) % 2 == 1)
            .unwrap();
        assert!(keyspace.random_key(7, 0).is_none());
        keyspace.insert(
            key_hash_slot(key.as_bytes()),
            key.as_bytes(),
            Entry::new(string("v"), 0),
        );
        for seed in 0..20 {
            assert_eq!(
                keyspace.random_key(seed, 0).as_deref(),
                Some(key.as_bytes())
            );
        }
    }
}
