//! maxmemory, as Redis's evict.c. Before each command, while `maxmemory`
//! is set and the process has more allocated, every core evicts keys of
//! its own keyspace by `maxmemory-policy`, each an equal share of the
//! excess, so that the keys go from every core as the slots spread them.
//! Each core also does its share on its active-expiry tick. When that
//! cannot bring the process under the limit (noeviction, no keys, no keys
//! with a TTL for a volatile policy), commands that may add memory are
//! refused with OOM.
//!
//! The LRU policies sample `maxmemory-samples` keys into a pool of the
//! idlest candidates kept across evictions and evict the idlest one still
//! there as sampled, as Redis does; the LFU ones do the same with the
//! least used (the access counter, `keyspace::Lfu`). `volatile-ttl` takes
//! the key due soonest, exactly.

use super::conn::Conn;
use super::locks::{KeyLocks, Mode};
use super::mesh::Op;
use super::Core;
use crate::clock::Stopwatch;
use crate::cluster::key_hash_slot;
use crate::command::Db;
use crate::protocol::{Arg, Reply};
use bytes::Bytes;

/// Redis's reply to a command refused for memory.
pub const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";

/// Random picks tried before a random policy gives up (all locked).
const RANDOM_TRIES: usize = 16;

/// Candidates the LRU and LFU policies keep across evictions (Redis's
/// EVPOOL_SIZE).
const POOL_SIZE: usize = 16;

/// Redis's eviction pool: the idlest keys sampled so far on this core,
/// idlest last, so that each eviction takes the idlest of many samples
/// rather than of the last few.
#[derive(Default)]
pub struct Pool {
    candidates: Vec<(u64, Bytes)>,
}

impl Pool {
    fn offer(&mut self, idle: u64, key: &[u8]) {
        if self.candidates.iter().any(|(_, known)| known == key) {
            return;
        }
        if self.candidates.len() == POOL_SIZE {
            if idle <= self.candidates[0].0 {
                return;
            }
            self.candidates.remove(0);
        }
        let at = self.candidates.partition_point(|(known, _)| *known <= idle);
        self.candidates
            .insert(at, (idle, Bytes::copy_from_slice(key)));
    }
}

/// Each eviction round frees this fraction of the limit beyond the excess
/// (at most `HEADROOM_MAX`), so that the writes that follow do not each
/// need a round of their own.
const HEADROOM_DIVISOR: u64 = 200;
const HEADROOM_MAX: u64 = 256 * 1024;

#[derive(Clone, Copy, PartialEq)]
enum Policy {
    NoEviction,
    AllKeysRandom,
    VolatileRandom,
    AllKeysIdle,
    VolatileIdle,
    VolatileTtl,
}

impl Policy {
    fn of(name: &str) -> Policy {
        match name {
            "allkeys-random" => Policy::AllKeysRandom,
            "volatile-random" => Policy::VolatileRandom,
            "allkeys-lru" | "allkeys-lfu" => Policy::AllKeysIdle,
            "volatile-lru" | "volatile-lfu" => Policy::VolatileIdle,
            "volatile-ttl" => Policy::VolatileTtl,
            _ => Policy::NoEviction,
        }
    }
}

impl Core {
    /// How far the process is over `maxmemory`, when it is: asked before
    /// every command, so the other cores' allocations are as of up to a
    /// millisecond ago, and every counter is read only when that says
    /// the process is over.
    #[inline]
    pub fn memory_excess(&self) -> Option<u64> {
        let db = self.db.borrow();
        let limit = db.config.maxmemory;
        if limit == 0 || crate::memory::allocated_bytes_recent(db.now_ms) <= limit {
            return None;
        }
        let used = crate::memory::refresh_recent(db.now_ms);
        (used > limit).then(|| used - limit)
    }

    /// Evicts keys of this core by the policy until it has freed `bytes`;
    /// false when it ran out of keys to evict first.
    pub fn evict_here(&self, bytes: u64) -> bool {
        let start = crate::memory::thread_bytes();
        let cycle = Stopwatch::start();
        // The latency monitor's eviction-del: the slowest deletion.
        let timed = self.latency_monitor_on();
        let mut slowest_delete = 0;
        let mut evicted = Vec::new();
        let freed_all = {
            let mut db = self.db.borrow_mut();
            let locks = self.locks.borrow();
            let mut pool = self.evict_pool.borrow_mut();
            let policy = Policy::of(&db.config.maxmemory_policy);
            loop {
                if start - crate::memory::thread_bytes() >= bytes as i64 {
                    break true;
                }
                let Some(key) = pick(&mut db, &locks, &mut pool, policy) else {
                    break false;
                };
                let delete = timed.then(Stopwatch::start);
                db.keyspace.remove(key_hash_slot(&key), &key);
                if let Some(delete) = delete {
                    slowest_delete = slowest_delete.max(delete.elapsed_nanos());
                }
                db.keyspace.stats.evicted_keys += 1;
                evicted.push(key);
            }
        };
        if timed {
            self.latency_sample("eviction-del", slowest_delete / 1_000_000);
            self.latency_sample("eviction-cycle", cycle.elapsed_nanos() / 1_000_000);
        }
        if !evicted.is_empty() {
            // An evicted key is a change to its watchers, and an `evicted`
            // event (Redis's signalModifiedKey and NOTIFY_EVICTED).
            {
                let watches = self.watches.borrow();
                for key in &evicted {
                    watches.touch(key);
                }
            }
            {
                let mut db = self.db.borrow_mut();
                if db.feed.is_on() {
                    db.sync_feed();
                    db.propagate_expired();
                    for key in &evicted {
                        db.feed.push(&[&b"DEL"[..], key]);
                    }
                }
                if db.wants(crate::config::notify::EVICTED) {
                    db.events
                        .extend(evicted.into_iter().map(|key| ("evicted", key)));
                }
            }
            self.publish_events();
        }
        freed_all
    }

    /// This core's share of the excess, when the process is over the
    /// limit (the active-expiry tick, for cores whose clients are idle).
    pub fn evict_share(&self) {
        if self.paused() {
            return;
        }
        if let Some(excess) = self.memory_excess() {
            let limit = self.db.borrow().config.maxmemory;
            self.evict_here(share(excess, self.cores(), limit));
        }
    }
}

/// What each of `cores` evicts of `excess` over `limit`: an equal part of
/// it plus the headroom.
fn share(excess: u64, cores: usize, limit: u64) -> u64 {
    let headroom = (limit / HEADROOM_DIVISOR).min(HEADROOM_MAX);
    (excess + headroom).div_ceil(cores.max(1) as u64)
}

/// `evict_here` as an op: argv[0] is the number of bytes.
fn evict_core(core: &Core, argv: &[Arg<'_>]) -> Reply {
    let bytes = std::str::from_utf8(&argv[0])
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(0);
    Reply::Int(core.evict_here(bytes) as i64)
}

impl Conn {
    /// Redis's performEvictions, before a command, once `memory_excess`
    /// said the process is `excess` bytes over maxmemory: every core
    /// evicts its share. False when the process is still over the limit
    /// after that (Redis's EVICT_FAIL).
    pub async fn make_room(&mut self, excess: u64) -> bool {
        // Nothing is evicted while clients are paused (Redis answers as if
        // there were room).
        if self.core.paused() {
            return true;
        }
        let limit = self.core.db.borrow().config.maxmemory;
        let argv = vec![Bytes::from(
            share(excess, self.core.cores(), limit).to_string(),
        )];
        self.flush_plan().await;
        self.on_all(|| Op::Core(evict_core, argv.clone())).await;
        self.core.memory_excess().is_none()
    }
}

/// The next key to evict by `policy`, passing over keys a multi-core
/// command holds locked; None when there is none.
fn pick(db: &mut Db, locks: &KeyLocks, pool: &mut Pool, policy: Policy) -> Option<Bytes> {
    let unlocked = |key: &[u8]| !locks.blocks(key, Mode::Exclusive, 0);
    let (volatile, by_idle) = match policy {
        Policy::NoEviction => return None,
        Policy::AllKeysRandom => (false, false),
        Policy::VolatileRandom => (true, false),
        Policy::AllKeysIdle => (false, true),
        Policy::VolatileIdle => (true, true),
        Policy::VolatileTtl => {
            if let Some(key) = db
                .keyspace
                .soonest_volatile_key()
                .filter(|key| unlocked(key))
            {
                return Some(Bytes::copy_from_slice(key));
            }
            (true, false)
        }
    };
    let tries = if by_idle {
        db.config.maxmemory_samples.max(1) as usize
    } else {
        RANDOM_TRIES
    };
    if by_idle {
        // A second round when the pool held only keys gone since (deleted,
        // used, flushed), which kept the new samples out.
        for _ in 0..2 {
            sample_into_pool(db, locks, pool, volatile, tries);
            if let Some(key) = take_idlest(db, locks, pool, volatile) {
                return Some(key);
            }
        }
        return None;
    }
    for _ in 0..tries {
        let seed = db.random();
        let found = if volatile {
            db.keyspace.random_volatile_entry(seed)
        } else {
            db.keyspace.random_entry(seed)
        };
        // None: no key (with a TTL) at all.
        let Some((key, _)) = found else {
            break;
        };
        if unlocked(key) {
            return Some(Bytes::copy_from_slice(key));
        }
    }
    None
}

/// How good a candidate `entry` is, higher better: seconds idle, or under
/// an LFU policy 255 less its access frequency (Redis's pool scores).
fn score(entry: &crate::keyspace::Entry, now_ms: u64, lfu: Option<crate::keyspace::Lfu>) -> u64 {
    match lfu {
        None => entry.idle_secs(now_ms),
        Some(lfu) => 255 - entry.lfu_counter(now_ms, lfu.decay_minutes),
    }
}

/// Offers `tries` sampled keys (with a TTL when `volatile`) to the pool.
fn sample_into_pool(db: &mut Db, locks: &KeyLocks, pool: &mut Pool, volatile: bool, tries: usize) {
    let (now, lfu) = (db.now_ms, db.keyspace.lfu);
    let unlocked = |key: &[u8]| !locks.blocks(key, Mode::Exclusive, 0);
    if !volatile {
        // Neighbouring keys: a few cache lines, not a miss per sample.
        let seed = db.random();
        let mut sampled = Vec::with_capacity(tries.min(64));
        db.keyspace.sample_nodes(seed, tries, &mut sampled);
        for node in &sampled {
            if unlocked(&node.key) {
                pool.offer(score(&node.entry, now, lfu), &node.key);
            }
        }
        return;
    }
    for _ in 0..tries {
        let seed = db.random();
        let Some((key, entry)) = db.keyspace.random_volatile_entry(seed) else {
            return;
        };
        if unlocked(key) {
            pool.offer(score(entry, now, lfu), key);
        }
    }
}

/// The idlest candidate of the pool that is still there as it was sampled:
/// not used since, not deleted, and with a TTL for a volatile policy.
fn take_idlest(db: &Db, locks: &KeyLocks, pool: &mut Pool, volatile: bool) -> Option<Bytes> {
    let (now, lfu) = (db.now_ms, db.keyspace.lfu);
    let unlocked = |key: &[u8]| !locks.blocks(key, Mode::Exclusive, 0);
    while let Some((idle, key)) = pool.candidates.pop() {
        let still = db
            .keyspace
            .entry(key_hash_slot(&key), &key)
            .is_some_and(|entry| {
                score(entry, now, lfu) >= idle && (!volatile || entry.expire_at_ms() != 0)
            });
        if still && unlocked(&key) {
            return Some(key);
        }
    }
    None
}
