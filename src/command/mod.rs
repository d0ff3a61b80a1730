//! The command table and the shard-side command code.
//!
//! A command is a row of data (`CommandSpec`): name, arity, flags, where its
//! keys are, and how it runs. Shard-side handlers (`ShardFn`) are synchronous:
//! they take the owning core's `Db` and the arguments and return a `Reply`.
//! Commands that need several cores or the connection's state are marked
//! `Exec::Coordinated`; the shard runtime's coordinator implements them.

pub mod dump;
pub mod errors;
pub mod glob;
pub mod hashes;
pub mod keys;
pub mod lists;
pub mod server;
pub mod sets;
pub mod strings;
pub mod table;

use crate::cluster::key_hash_slot;
use crate::config::Config;
use crate::keyspace::Keyspace;
use crate::protocol::Reply;
use bytes::Bytes;

pub use table::{lookup, CommandSpec, Coord, Exec, COMMANDS};

/// A shard-side handler: runs on the core that owns every key it names.
pub type ShardFn = fn(&mut Db, &[Bytes]) -> Reply;

/// Per-command counters kept by each core (INFO commandstats).
#[derive(Debug, Default, Clone, Copy)]
pub struct CommandStats {
    pub calls: u64,
    pub usec: u64,
    pub rejected_calls: u64,
    pub failed_calls: u64,
}

/// One core's database: its keyspace plus what its commands need to know.
pub struct Db {
    pub keyspace: Keyspace,
    pub config: Config,
    pub core: usize,
    pub cores: usize,
    /// The time commands see, refreshed before each batch of commands.
    pub now_ms: u64,
    rng_state: u64,
    /// The slot the router computed for the key the current command was
    /// routed by, with that key's address: handlers reuse it instead of
    /// hashing the key again. Only valid while that command runs.
    routed: (usize, usize, u16),
}

impl Db {
    pub fn new(core: usize, cores: usize, config: Config) -> Self {
        Db {
            keyspace: Keyspace::new(core, cores),
            config,
            core,
            cores,
            now_ms: now_ms(),
            rng_state: 0x9E37_79B9_7F4A_7C15 ^ (core as u64 + 1).wrapping_mul(now_ms()),
            routed: (0, 0, 0),
        }
    }

    pub fn refresh_clock(&mut self) {
        self.now_ms = now_ms();
    }

    /// The slot of `key`, reusing the router's hash when it is the same key.
    #[inline]
    pub fn slot(&self, key: &[u8]) -> u16 {
        let (address, length, slot) = self.routed;
        if address == key.as_ptr() as usize && length == key.len() {
            slot
        } else {
            key_hash_slot(key)
        }
    }

    /// Records the routed key's slot for the command about to run, and
    /// forgets it afterwards (`clear_routed`).
    #[inline]
    pub fn set_routed(&mut self, key: &[u8], slot: u16) {
        self.routed = (key.as_ptr() as usize, key.len(), slot);
    }

    #[inline]
    pub fn clear_routed(&mut self) {
        self.routed = (0, 0, 0);
    }

    /// xorshift64*: good enough for RANDOMKEY and sampling.
    pub fn random(&mut self) -> u64 {
        let mut x = self.rng_state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng_state = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

pub fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// Runs a shard handler, turning a panic (a bug of ours, whatever the
/// client sent) into an error reply so the core and its other clients go on.
#[inline]
pub fn run_guarded(run: ShardFn, db: &mut Db, argv: &[Bytes]) -> Reply {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(db, argv))) {
        Ok(reply) => reply,
        Err(_) => Reply::error("ERR internal error while executing the command (logged)"),
    }
}

/// The positions of a command's keys in `argv`, from its key spec; for
/// `movablekeys` commands with a key count (SINTERCARD, LMPOP) from that
/// count, as Redis's key specs with `keynum` find them.
pub fn key_positions(spec: &CommandSpec, argv: &[Bytes]) -> impl Iterator<Item = usize> {
    let argc = argv.len();
    if spec.flags.contains(&"movablekeys") {
        let count = argv
            .get(1)
            .and_then(|arg| parse_int(arg))
            .filter(|count| *count > 0)
            .map_or(0, |count| count.min(argc as i64) as usize);
        let end = (2 + count).min(argc).max(2);
        return (2..end).step_by(1);
    }
    let first = spec.first_key as usize;
    let last = if spec.first_key == 0 {
        0
    } else if spec.last_key < 0 {
        (argc as i64 + spec.last_key as i64).max(0) as usize
    } else {
        (spec.last_key as usize).min(argc.saturating_sub(1))
    };
    let step = spec.step.max(1) as usize;
    let range = if spec.first_key == 0 || first > last {
        1..1
    } else {
        first..last + 1
    };
    range.step_by(step)
}

/// Parses a Redis integer argument (string2ll rules).
pub fn parse_int(arg: &[u8]) -> Option<i64> {
    crate::protocol::decode::parse_i64_strict(arg)
}
