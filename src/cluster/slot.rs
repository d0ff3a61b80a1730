//! Key → slot (CRC16-XMODEM with hash tags, as the cluster specification)
//! and slot → core.
//!
//! # Slot → core
//!
//! `core = slot % cores`. A node owns contiguous slot ranges (`0-5460`,
//! `10923-16383`, or whatever resharding left it), and interleaving by
//! remainder spreads *any* contiguous range over the cores within one slot
//! of perfectly even, whatever the range's start and length. A table or a
//! block split (`slot * cores / 16384`) would put a third of the slot space,
//! and so all of a 3-node cluster member's slots, on one core. The function
//! is pure, needs no table, and its inverse (`local_slot_index`) lets each
//! core keep its per-slot key maps in a dense vector.

pub const SLOT_COUNT: usize = 16384;

/// The slot of a key: CRC16 of the hash tag when the key has a non-empty
/// `{...}` section (the first `{` and the first `}` after it), else of the
/// whole key.
pub fn key_hash_slot(key: &[u8]) -> u16 {
    let hashed = hash_tag(key).unwrap_or(key);
    crc16_xmodem(hashed) & (SLOT_COUNT as u16 - 1)
}

/// CRC16-XMODEM (polynomial 0x1021, initial value 0, not reflected), the
/// checksum the cluster specification hashes keys with, eight bytes at a
/// time ("slicing by 8"). The `crc16` crate, which the tests check this
/// against, goes a byte at a time: each step waits for the one before, so a
/// 16-byte key took 16 dependent table loads, 3.5% of a one-core server's
/// samples under `redis-benchmark -t get -P 16`. Here the eight loads of a
/// block are independent of each other; only the fold into the state is
/// sequential.
fn crc16_xmodem(data: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    let mut blocks = data.chunks_exact(8);
    for block in &mut blocks {
        let first = block[0] ^ (crc >> 8) as u8;
        let second = block[1] ^ crc as u8;
        crc = CRC16_TABLES[7][first as usize]
            ^ CRC16_TABLES[6][second as usize]
            ^ CRC16_TABLES[5][block[2] as usize]
            ^ CRC16_TABLES[4][block[3] as usize]
            ^ CRC16_TABLES[3][block[4] as usize]
            ^ CRC16_TABLES[2][block[5] as usize]
            ^ CRC16_TABLES[1][block[6] as usize]
            ^ CRC16_TABLES[0][block[7] as usize];
    }
    for &byte in blocks.remainder() {
        crc = (crc << 8) ^ CRC16_TABLES[0][((crc >> 8) as u8 ^ byte) as usize];
    }
    crc
}

/// `CRC16_TABLES[k][b]`: what byte `b` adds to the checksum when `k` more
/// bytes follow it. Table 0 is the classic byte-at-a-time table; table `k`
/// is table `k - 1` pushed through one more (zero) byte.
static CRC16_TABLES: [[u16; 256]; 8] = crc16_tables();

const fn crc16_tables() -> [[u16; 256]; 8] {
    let mut tables = [[0u16; 256]; 8];
    let mut byte = 0;
    while byte < 256 {
        let mut crc = (byte as u16) << 8;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
            bit += 1;
        }
        tables[0][byte] = crc;
        byte += 1;
    }
    let mut k = 1;
    while k < 8 {
        let mut byte = 0;
        while byte < 256 {
            let previous = tables[k - 1][byte];
            tables[k][byte] = (previous << 8) ^ tables[0][(previous >> 8) as usize];
            byte += 1;
        }
        k += 1;
    }
    tables
}

fn hash_tag(key: &[u8]) -> Option<&[u8]> {
    let open = key.iter().position(|&b| b == b'{')?;
    let close = key[open + 1..].iter().position(|&b| b == b'}')?;
    if close == 0 {
        return None;
    }
    Some(&key[open + 1..open + 1 + close])
}

/// A key's slot, hashed once and remembered with the key's address and
/// length, so that a later step given the very same bytes (not just equal
/// ones) reuses it instead of hashing again.
#[derive(Clone, Copy, Default)]
pub struct KnownSlot {
    address: usize,
    length: usize,
    slot: u16,
}

impl KnownSlot {
    pub const NONE: KnownSlot = KnownSlot {
        address: 0,
        length: 0,
        slot: 0,
    };

    #[inline]
    pub fn new(key: &[u8], slot: u16) -> Self {
        KnownSlot {
            address: key.as_ptr() as usize,
            length: key.len(),
            slot,
        }
    }

    /// The slot of `key`: the remembered one when `key` is those bytes.
    #[inline]
    pub fn slot_of(&self, key: &[u8]) -> u16 {
        if self.address == key.as_ptr() as usize && self.length == key.len() {
            self.slot
        } else {
            key_hash_slot(key)
        }
    }
}

/// The core that owns `slot` on a node running `cores` shard cores.
#[inline]
pub fn core_of_slot(slot: u16, cores: usize) -> usize {
    debug_assert!(cores > 0);
    slot as usize % cores
}

/// The position of `slot` among the slots its core owns.
#[inline]
pub fn local_slot_index(slot: u16, cores: usize) -> usize {
    slot as usize / cores
}

/// How many slots `core` owns.
pub fn local_slot_count(core: usize, cores: usize) -> usize {
    (SLOT_COUNT - core).div_ceil(cores)
}

/// The slot at `index` among `core`'s slots (inverse of `local_slot_index`).
#[inline]
pub fn slot_of_local_index(index: usize, core: usize, cores: usize) -> u16 {
    (index * cores + core) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_tags_follow_the_specification() {
        assert_eq!(
            key_hash_slot(b"{user1000}.following"),
            key_hash_slot(b"user1000")
        );
        assert_eq!(
            key_hash_slot(b"{user1000}.followers"),
            key_hash_slot(b"user1000")
        );
        // An empty tag means the whole key is hashed.
        assert_eq!(
            key_hash_slot(b"foo{}{bar}"),
            crc16::State::<crc16::XMODEM>::calculate(b"foo{}{bar}") & 16383
        );
        // The tag is between the first '{' and the first '}' after it.
        assert_eq!(key_hash_slot(b"foo{{bar}}zap"), key_hash_slot(b"{bar"));
        assert_eq!(key_hash_slot(b"foo{bar}{zap}"), key_hash_slot(b"bar"));
        assert_eq!(
            key_hash_slot(b"{}"),
            crc16::State::<crc16::XMODEM>::calculate(b"{}") & 16383
        );
    }

    #[test]
    fn crc16_matches_the_reference_crate_at_every_length() {
        // Every length up to 70 (eight-byte blocks and every remainder),
        // with bytes that cover the whole table range.
        let data: Vec<u8> = (0..70u32)
            .map(|i| (i.wrapping_mul(151).wrapping_add(7) % 256) as u8)
            .collect();
        for start in 0..4 {
            for end in start..data.len() {
                let bytes = &data[start..end];
                assert_eq!(
                    crc16_xmodem(bytes),
                    crc16::State::<crc16::XMODEM>::calculate(bytes),
                    "{bytes:?}"
                );
            }
        }
        for byte in 0..=255u8 {
            let bytes = [byte; 9];
            assert_eq!(
                crc16_xmodem(&bytes),
                crc16::State::<crc16::XMODEM>::calculate(&bytes)
            );
        }
        // The specification's check value.
        assert_eq!(crc16_xmodem(b"123456789"), 0x31c3);
    }

    #[test]
    fn known_slots_match_redis() {
        // Values from CLUSTER KEYSLOT on Redis 7.0.
        assert_eq!(key_hash_slot(b"foo"), 12182);
        assert_eq!(key_hash_slot(b"bar"), 5061);
        assert_eq!(key_hash_slot(b"123456789"), 12739);
        assert_eq!(key_hash_slot(b""), 0);
    }

    #[test]
    fn any_contiguous_range_is_balanced_over_cores() {
        for cores in 1..=16 {
            for (start, end) in [
                (0, 5460),
                (5461, 10922),
                (10923, 16383),
                (0, 16383),
                (100, 137),
            ] {
                let mut per_core = vec![0usize; cores];
                for slot in start..=end {
                    per_core[core_of_slot(slot as u16, cores)] += 1;
                }
                let (min, max) = (
                    per_core.iter().min().unwrap(),
                    per_core.iter().max().unwrap(),
                );
                assert!(
                    max - min <= 1,
                    "cores {cores} range {start}-{end}: {per_core:?}"
                );
            }
        }
    }

    #[test]
    fn local_index_is_dense_and_invertible() {
        for cores in [1, 2, 3, 4, 7, 16] {
            let mut total = 0;
            for core in 0..cores {
                let count = local_slot_count(core, cores);
                total += count;
                for index in 0..count {
                    let slot = slot_of_local_index(index, core, cores);
                    assert_eq!(core_of_slot(slot, cores), core);
                    assert_eq!(local_slot_index(slot, cores), index);
                }
            }
            assert_eq!(total, SLOT_COUNT);
        }
    }
}
