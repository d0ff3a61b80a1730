//! What to send: picks keys (uniform or zipfian), and encodes each operation. An operation is a
//! few integers, so a redirected or retried request is encoded again instead of being stored.

use crate::cluster::key_slot;
use crate::config::{Distribution, RunArgs, Workload};
use crate::resp::{write_array_header, write_bulk, write_decimal};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution as _, Zipf};

/// One kind of command; its index is the command's row in the statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Get,
    Set,
    Incr,
    Mget,
    Mset,
    Hset,
    Hget,
    Lpush,
    Lpop,
    Zadd,
    Ping,
}

pub const OP_KINDS: [OpKind; 11] = [
    OpKind::Get,
    OpKind::Set,
    OpKind::Incr,
    OpKind::Mget,
    OpKind::Mset,
    OpKind::Hset,
    OpKind::Hget,
    OpKind::Lpush,
    OpKind::Lpop,
    OpKind::Zadd,
    OpKind::Ping,
];

impl OpKind {
    pub fn name(self) -> &'static str {
        match self {
            OpKind::Get => "GET",
            OpKind::Set => "SET",
            OpKind::Incr => "INCR",
            OpKind::Mget => "MGET",
            OpKind::Mset => "MSET",
            OpKind::Hset => "HSET",
            OpKind::Hget => "HGET",
            OpKind::Lpush => "LPUSH",
            OpKind::Lpop => "LPOP",
            OpKind::Zadd => "ZADD",
            OpKind::Ping => "PING",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }

    fn key_prefix(self) -> &'static [u8] {
        match self {
            OpKind::Get | OpKind::Set | OpKind::Ping => b"key:",
            OpKind::Incr => b"counter:",
            OpKind::Mget | OpKind::Mset => b"mkey:{",
            OpKind::Hset | OpKind::Hget => b"hash:",
            OpKind::Lpush | OpKind::Lpop => b"list:",
            OpKind::Zadd => b"zset:",
        }
    }
}

/// One request to send: the command, its key number, and a second number (a field or member).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Op {
    pub kind: OpKind,
    pub key: u64,
    pub aux: u64,
    /// The hash slot of the key, computed once when the op is drawn.
    pub slot: u16,
}

enum KeyChoice {
    Uniform(u64),
    Zipfian(Zipf<f64>),
}

/// Draws operations for one worker thread.
pub struct Generator {
    rng: SmallRng,
    keys: KeyChoice,
    workload: Workload,
    set_weight: u32,
    total_weight: u32,
    value: Vec<u8>,
    multi_keys: usize,
}

/// Fields and members are drawn from this many names, so hashes and sorted sets stay small.
const MEMBER_COUNT: u64 = 100;

impl Generator {
    pub fn new(arguments: &RunArgs, seed: u64) -> Result<Generator, String> {
        let keys = match arguments.distribution {
            Distribution::Uniform => KeyChoice::Uniform(arguments.keyspace),
            Distribution::Zipfian => KeyChoice::Zipfian(
                Zipf::new(arguments.keyspace, arguments.zipf_exponent)
                    .map_err(|error| format!("zipfian distribution: {error}"))?,
            ),
        };
        Ok(Generator {
            rng: SmallRng::seed_from_u64(seed),
            keys,
            workload: arguments.workload,
            set_weight: arguments.ratio.0,
            total_weight: arguments.ratio.0 + arguments.ratio.1,
            value: vec![b'x'; arguments.value_size],
            multi_keys: arguments.multi_keys,
        })
    }

    /// The commands this workload sends.
    pub fn kinds(workload: Workload) -> Vec<OpKind> {
        match workload {
            Workload::Get => vec![OpKind::Get],
            Workload::Set => vec![OpKind::Set],
            Workload::Incr => vec![OpKind::Incr],
            Workload::Mget => vec![OpKind::Mget],
            Workload::Mset => vec![OpKind::Mset],
            Workload::Hset => vec![OpKind::Hset],
            Workload::Hget => vec![OpKind::Hget],
            Workload::Lpush => vec![OpKind::Lpush],
            Workload::Lpop => vec![OpKind::Lpop],
            Workload::Zadd => vec![OpKind::Zadd],
            Workload::Ping => vec![OpKind::Ping],
            Workload::Mix => vec![OpKind::Set, OpKind::Get],
        }
    }

    pub fn next_op(&mut self) -> Op {
        let kind = match self.workload {
            Workload::Mix => {
                if self.rng.gen_range(0..self.total_weight) < self.set_weight {
                    OpKind::Set
                } else {
                    OpKind::Get
                }
            }
            single => Generator::kinds(single)[0],
        };
        let key = match &self.keys {
            KeyChoice::Uniform(count) => self.rng.gen_range(0..*count),
            // Zipf draws ranks 1..=n as floats; rank 1 is the hottest key.
            KeyChoice::Zipfian(zipf) => (zipf.sample(&mut self.rng) as u64).saturating_sub(1),
        };
        let aux = self.rng.gen_range(0..MEMBER_COUNT);
        Op {
            kind,
            key,
            aux,
            slot: slot_of(kind, key),
        }
    }

    /// Appends `op` as a RESP command.
    pub fn encode(&self, buffer: &mut Vec<u8>, op: Op) {
        let key_bulk = |buffer: &mut Vec<u8>, suffix: Option<usize>| {
            let mut key = [0u8; 64];
            let length = key_into(&mut key, op.kind, op.key, suffix);
            write_bulk(buffer, &key[..length]);
        };
        let member = |buffer: &mut Vec<u8>, prefix: &[u8]| {
            let mut text = Vec::with_capacity(16);
            text.extend_from_slice(prefix);
            write_decimal(&mut text, op.aux);
            write_bulk(buffer, &text);
        };
        match op.kind {
            OpKind::Get | OpKind::Incr | OpKind::Lpop => {
                write_array_header(buffer, 2);
                write_bulk(buffer, op.kind.name().as_bytes());
                key_bulk(buffer, None);
            }
            OpKind::Set | OpKind::Lpush => {
                write_array_header(buffer, 3);
                write_bulk(buffer, op.kind.name().as_bytes());
                key_bulk(buffer, None);
                write_bulk(buffer, &self.value);
            }
            OpKind::Mget | OpKind::Mset => {
                let per_key = if op.kind == OpKind::Mset { 2 } else { 1 };
                write_array_header(buffer, 1 + per_key * self.multi_keys);
                write_bulk(buffer, op.kind.name().as_bytes());
                for index in 0..self.multi_keys {
                    key_bulk(buffer, Some(index));
                    if op.kind == OpKind::Mset {
                        write_bulk(buffer, &self.value);
                    }
                }
            }
            OpKind::Hset => {
                write_array_header(buffer, 4);
                write_bulk(buffer, b"HSET");
                key_bulk(buffer, None);
                member(buffer, b"field:");
                write_bulk(buffer, &self.value);
            }
            OpKind::Hget => {
                write_array_header(buffer, 3);
                write_bulk(buffer, b"HGET");
                key_bulk(buffer, None);
                member(buffer, b"field:");
            }
            OpKind::Zadd => {
                write_array_header(buffer, 4);
                write_bulk(buffer, b"ZADD");
                key_bulk(buffer, None);
                let mut score = Vec::with_capacity(8);
                write_decimal(&mut score, op.aux);
                write_bulk(buffer, &score);
                member(buffer, b"member:");
            }
            OpKind::Ping => {
                write_array_header(buffer, 1);
                write_bulk(buffer, b"PING");
            }
        }
    }
}

/// The hash slot of key number `key` of a `kind` command (all MGET/MSET keys share it).
pub fn slot_of(kind: OpKind, key: u64) -> u16 {
    let mut bytes = [0u8; 64];
    let length = key_into(&mut bytes, kind, key, Some(0));
    key_slot(&bytes[..length])
}

fn is_multi(kind: OpKind) -> bool {
    matches!(kind, OpKind::Mget | OpKind::Mset)
}

/// Writes `prefix` + 12-digit key number (as redis-benchmark's `key:__rand_int__`) into `out`;
/// MGET/MSET keys are `mkey:{NNNNNNNNNNNN}:i`, all in the slot of their tag.
fn key_into(out: &mut [u8; 64], kind: OpKind, key: u64, suffix: Option<usize>) -> usize {
    let prefix = kind.key_prefix();
    out[..prefix.len()].copy_from_slice(prefix);
    let mut length = prefix.len();
    let (digits, count) = decimal_digits(key);
    for _ in count..12 {
        out[length] = b'0';
        length += 1;
    }
    out[length..length + count].copy_from_slice(&digits[20 - count..]);
    length += count;
    if is_multi(kind) {
        out[length..length + 2].copy_from_slice(b"}:");
        length += 2;
        let (digits, count) = decimal_digits(suffix.unwrap_or(0) as u64);
        out[length..length + count].copy_from_slice(&digits[20 - count..]);
        length += count;
    }
    length
}

/// The decimal digits of `value`, right-aligned in 20 bytes, and how many there are.
fn decimal_digits(value: u64) -> ([u8; 20], usize) {
    let mut digits = [0u8; 20];
    let mut index = digits.len();
    let mut rest = value;
    loop {
        index -= 1;
        digits[index] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            return (digits, 20 - index);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Cli;
    use clap::Parser;

    fn arguments(extra: &[&str]) -> RunArgs {
        Cli::try_parse_from(std::iter::once("slotcore-bench").chain(extra.iter().copied()))
            .unwrap()
            .run
    }

    fn encoded(extra: &[&str], op: Op) -> String {
        let generator = Generator::new(&arguments(extra), 1).unwrap();
        let mut buffer = Vec::new();
        generator.encode(&mut buffer, op);
        String::from_utf8(buffer).unwrap()
    }

    #[test]
    fn encodes_each_command() {
        let op = |kind| Op {
            kind,
            key: 42,
            aux: 7,
            slot: 0,
        };
        assert_eq!(
            encoded(&[], op(OpKind::Get)),
            "*2\r\n$3\r\nGET\r\n$16\r\nkey:000000000042\r\n"
        );
        assert_eq!(
            encoded(&["-d", "2"], op(OpKind::Set)),
            "*3\r\n$3\r\nSET\r\n$16\r\nkey:000000000042\r\n$2\r\nxx\r\n"
        );
        assert_eq!(
            encoded(&["--multi-keys", "2"], op(OpKind::Mget)),
            "*3\r\n$4\r\nMGET\r\n$21\r\nmkey:{000000000042}:0\r\n$21\r\nmkey:{000000000042}:1\r\n"
        );
        assert!(encoded(&[], op(OpKind::Zadd)).contains("$1\r\n7\r\n$8\r\nmember:7\r\n"));
        assert_eq!(encoded(&[], op(OpKind::Ping)), "*1\r\n$4\r\nPING\r\n");
    }

    #[test]
    fn multi_key_commands_stay_in_one_slot() {
        assert_eq!(slot_of(OpKind::Mset, 5), key_slot(b"000000000005"));
        assert_eq!(slot_of(OpKind::Get, 5), key_slot(b"key:000000000005"));
    }

    #[test]
    fn keys_stay_in_the_keyspace_and_mix_follows_the_ratio() {
        for distribution in ["uniform", "zipfian"] {
            let run = arguments(&[
                "-t",
                "mix",
                "--ratio",
                "1:3",
                "--keyspace",
                "50",
                "--distribution",
                distribution,
            ]);
            let mut generator = Generator::new(&run, 7).unwrap();
            let mut sets = 0;
            for _ in 0..10_000 {
                let op = generator.next_op();
                assert!(op.key < 50);
                sets += usize::from(op.kind == OpKind::Set);
            }
            assert!((2000..3000).contains(&sets), "{sets} SETs of 10000 at 1:3");
        }
    }

    #[test]
    fn zipfian_prefers_low_keys() {
        let run = arguments(&["--keyspace", "1000", "--distribution", "zipfian"]);
        let mut generator = Generator::new(&run, 3).unwrap();
        let hot = (0..10_000).filter(|_| generator.next_op().key < 10).count();
        assert!(
            hot > 2000,
            "only {hot} of 10000 draws in the 10 hottest keys"
        );
    }
}
