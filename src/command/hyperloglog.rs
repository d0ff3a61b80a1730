//! HyperLogLog commands, shard side: PFADD, PFCOUNT, PFMERGE, PFDEBUG and
//! PFSELFTEST. The values are strings in Redis's own layout (`keyspace::hll`).
//!
//! PFCOUNT and PFMERGE over keys on several cores run in the coordinator
//! (`shard::bits`), which reads the values, merges them with
//! `merge_sources` and writes the destination with `pfmerge_apply_local`.

use super::errors::WRONGTYPE;
use super::Db;
use crate::keyspace::hll::{self, Corrupt, REGISTERS};
use crate::keyspace::{Entry, StrEncoding, Value};
use crate::protocol::Arg;
use crate::protocol::Reply;
use bytes::Bytes;

pub const NOT_HLL: &str = "WRONGTYPE Key is not a valid HyperLogLog string value.";
pub const CORRUPT: &str = "INVALIDOBJ Corrupted HLL object detected";

/// Checks a stored value as Redis's isHLLObjectOrReply does: another type
/// is the usual WRONGTYPE, a string that is not an HLL (an int-encoded one
/// included) the HyperLogLog one.
pub fn check_value(value: &Value) -> Result<&[u8], Reply> {
    match value {
        Value::Str {
            encoding: StrEncoding::Int,
            ..
        } => Err(Reply::error(NOT_HLL)),
        Value::Str { bytes, .. } if hll::is_valid(bytes) => Ok(bytes),
        Value::Str { .. } => Err(Reply::error(NOT_HLL)),
        _ => Err(Reply::error(WRONGTYPE)),
    }
}

/// Checks string bytes read from another core (strings travel as their
/// bytes; `is_string` false for any other type).
pub fn check_bytes(bytes: &[u8], is_string: bool) -> Result<(), Reply> {
    if !is_string {
        Err(Reply::error(WRONGTYPE))
    } else if hll::is_valid(bytes) {
        Ok(())
    } else {
        Err(Reply::error(NOT_HLL))
    }
}

/// The HLL at `key` for modifying: None when missing.
fn read_for_write(db: &mut Db, key: &[u8]) -> Result<Option<Vec<u8>>, Reply> {
    let (slot, now) = (db.slot(key), db.now_ms);
    match db.keyspace.lookup_write(slot, key, now) {
        None => Ok(None),
        Some(entry) => check_value(&entry.value).map(|bytes| Some(bytes.to_vec())),
    }
}

/// As `read_for_write`, but the bytes are taken out of the entry instead
/// of copied (PFADD's hot path): the caller must store them back.
fn take_for_write(db: &mut Db, key: &[u8]) -> Result<Option<Vec<u8>>, Reply> {
    let (slot, now) = (db.slot(key), db.now_ms);
    let Some(entry) = db.keyspace.lookup_write(slot, key, now) else {
        return Ok(None);
    };
    check_value(&entry.value)?;
    match &mut entry.value {
        Value::Str { bytes, .. } => Ok(Some(Vec::from(std::mem::take(bytes)))),
        _ => Err(Reply::error(WRONGTYPE)),
    }
}

/// Stores an HLL back: in place (keeping any TTL) or as a new key. Redis
/// unshares the string first, so it is always `raw`.
fn store(db: &mut Db, key: &[u8], hll: Vec<u8>) {
    let (slot, now) = (db.slot(key), db.now_ms);
    let value = Value::raw_string(Bytes::from(hll));
    match db.keyspace.lookup_write(slot, key, now) {
        Some(entry) => entry.value = value,
        None => {
            db.keyspace.insert(slot, key, Entry::new(value, now));
        }
    }
}

fn sparse_bytes_max(db: &Db) -> usize {
    usize::try_from(db.config.hll_sparse_max_bytes).unwrap_or(usize::MAX)
}

pub fn pfadd(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let key = &argv[1];
    let (mut hll, mut updated) = match take_for_write(db, key) {
        Ok(Some(hll)) => (hll, false),
        Ok(None) => (hll::new_sparse(), true),
        Err(reply) => return reply,
    };
    let limit = sparse_bytes_max(db);
    for element in &argv[2..] {
        match hll::add(&mut hll, element, limit) {
            Ok(changed) => updated |= changed,
            Err(Corrupt) => {
                // Redis keeps what it changed before it found the damage.
                store(db, key, hll);
                return Reply::error(CORRUPT);
            }
        }
    }
    if updated {
        hll::invalidate_cache(&mut hll);
    }
    store(db, key, hll);
    Reply::Int(i64::from(updated))
}

/// PFCOUNT when every key is on this core.
pub fn pfcount(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    if argv.len() > 2 {
        let mut max = vec![0u8; REGISTERS];
        for key in &argv[1..] {
            let now = db.now_ms;
            let Some(entry) = db.keyspace.lookup_read(db.slot(key), key, now) else {
                continue;
            };
            match check_value(&entry.value) {
                Ok(bytes) => {
                    if hll::merge_into(&mut max, bytes).is_err() {
                        return Reply::error(CORRUPT);
                    }
                }
                Err(reply) => return reply,
            }
        }
        return Reply::Int(hll::count_registers(&max) as i64);
    }
    let key = &argv[1];
    let (slot, now) = (db.slot(key), db.now_ms);
    let Some(entry) = db.keyspace.lookup_read(slot, key, now) else {
        return Reply::Int(0);
    };
    // The cached count, or a copy of the HLL to count and store.
    let found = match check_value(&entry.value) {
        Ok(bytes) => hll::cached_count(bytes).ok_or_else(|| bytes.to_vec()),
        Err(reply) => return reply,
    };
    let mut hll = match found {
        Ok(count) => {
            // Redis unshares the value (it becomes raw) even to read the cache.
            if let Value::Str { encoding, .. } = &mut entry.value {
                *encoding = StrEncoding::Raw;
            }
            return Reply::Int(count as i64);
        }
        Err(hll) => hll,
    };
    match hll::count(&hll) {
        Ok(count) => {
            hll::set_cached_count(&mut hll, count);
            store(db, key, hll);
            Reply::Int(count as i64)
        }
        Err(Corrupt) => {
            store(db, key, hll);
            Reply::error(CORRUPT)
        }
    }
}

/// Merges source values into `max`, in key order: the first bad one is the
/// reply. `sources` holds each key's bytes (None when missing) and whether
/// it is a string. Returns whether any source was dense.
pub fn merge_sources<'a>(
    max: &mut [u8],
    sources: impl Iterator<Item = Option<(&'a [u8], bool)>>,
) -> Result<bool, Reply> {
    let mut any_dense = false;
    for (bytes, is_string) in sources.flatten() {
        check_bytes(bytes, is_string)?;
        any_dense |= hll::encoding(bytes) == hll::DENSE;
        if hll::merge_into(max, bytes).is_err() {
            return Err(Reply::error(CORRUPT));
        }
    }
    Ok(any_dense)
}

/// PFMERGE when every key is on this core.
pub fn pfmerge(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let mut values = Vec::with_capacity(argv.len() - 1);
    for key in &argv[1..] {
        let now = db.now_ms;
        values.push(db.keyspace.lookup_read(db.slot(key), key, now).map(
            |entry| match &entry.value {
                // An int-encoded string reads as its digits: never an HLL.
                Value::Str { bytes, .. } => (bytes.to_bytes(), true),
                _ => (Bytes::new(), false),
            },
        ));
    }
    let mut max = vec![0u8; REGISTERS];
    let sources = values
        .iter()
        .map(|value| value.as_ref().map(|(bytes, ok)| (&bytes[..], *ok)));
    match merge_sources(&mut max, sources) {
        Ok(any_dense) => apply_merge(db, &argv[1], &max, any_dense),
        Err(reply) => reply,
    }
}

/// Writes merged registers into the destination, as Redis's PFMERGE does
/// after reading its sources: created sparse when missing, made dense when
/// a source was, then raised register by register.
fn apply_merge(db: &mut Db, key: &[u8], max: &[u8], to_dense: bool) -> Reply {
    let mut hll = match read_for_write(db, key) {
        Ok(Some(hll)) => hll,
        Ok(None) => hll::new_sparse(),
        Err(reply) => return reply,
    };
    if to_dense && hll::sparse_to_dense(&mut hll).is_err() {
        store(db, key, hll);
        return Reply::error(CORRUPT);
    }
    let limit = sparse_bytes_max(db);
    for (index, value) in max.iter().enumerate() {
        if *value != 0 {
            // Redis ignores a failed sparse update here (the value was
            // checked when it was merged).
            let _ = hll::set_register(&mut hll, index, *value, limit);
        }
    }
    hll::invalidate_cache(&mut hll);
    store(db, key, hll);
    Reply::ok()
}

/// The destination half of a cross-core PFMERGE:
/// `[_, destkey, registers (16384 bytes), "1" if a source was dense]`.
pub fn pfmerge_apply_local(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    if argv.len() != 4 || argv[2].len() != REGISTERS {
        return Reply::error("ERR internal: malformed PFMERGE step");
    }
    apply_merge(db, &argv[1], &argv[2], &argv[3][..] == b"1")
}

pub fn pfdebug(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let key = &argv[2];
    let mut hll = match read_for_write(db, key) {
        Ok(Some(hll)) => hll,
        Ok(None) => return Reply::error("ERR The specified key does not exist"),
        Err(reply) => return reply,
    };
    let reply = pfdebug_reply(&argv[1], &mut hll);
    // Redis unshares the value first: whatever the reply, it is now raw.
    store(db, key, hll);
    reply
}

fn pfdebug_reply(sub: &[u8], hll: &mut Vec<u8>) -> Reply {
    match sub.to_ascii_lowercase().as_slice() {
        b"getreg" => match hll::sparse_to_dense(hll) {
            Ok(()) => Reply::Array(
                hll::dense_registers(hll)
                    .map(|value| Reply::Int(value as i64))
                    .collect(),
            ),
            Err(Corrupt) => Reply::error(CORRUPT),
        },
        b"decode" if hll::encoding(hll) != hll::SPARSE => {
            Reply::error("ERR HLL encoding is not sparse")
        }
        b"decode" => Reply::Bulk(Bytes::from(hll::decode_sparse(hll))),
        b"encoding" if hll::encoding(hll) == hll::DENSE => Reply::Simple("dense".into()),
        b"encoding" => Reply::Simple("sparse".into()),
        b"todense" => {
            let converted = hll::encoding(hll) == hll::SPARSE;
            match hll::sparse_to_dense(hll) {
                Ok(()) => Reply::Int(i64::from(converted)),
                Err(Corrupt) => Reply::error(CORRUPT),
            }
        }
        _ => Reply::error_owned(format!(
            "ERR Unknown PFDEBUG subcommand '{}'",
            String::from_utf8_lossy(sub)
        )),
    }
}

/// PFSELFTEST: dense registers keep what is written to them, and a sparse
/// value counts the same as its dense form while it grows.
pub fn pfselftest(db: &mut Db, _argv: &[Arg<'_>]) -> Reply {
    let mut registers = vec![0u8; hll::DENSE_BYTES - hll::HEADER_BYTES];
    let mut expected = vec![0u8; REGISTERS];
    for _ in 0..10 {
        for (index, slot) in expected.iter_mut().enumerate() {
            *slot = (db.random() & 63) as u8;
            hll::dense_put(&mut registers, index, *slot);
        }
        for (index, value) in expected.iter().enumerate() {
            let found = hll::dense_get(&registers, index);
            if found != *value {
                return Reply::error_owned(format!(
                    "TESTFAILED Register {index} should be {value} but is {found}"
                ));
            }
        }
    }
    let mut sparse = hll::new_sparse();
    for step in 0..2000u64 {
        let element = (db.random() ^ step).to_le_bytes();
        if hll::add(&mut sparse, &element, usize::MAX).is_err() {
            return Reply::error("TESTFAILED sparse representation corrupted");
        }
        let mut dense = sparse.clone();
        if step % 100 == 0
            && (hll::sparse_to_dense(&mut dense).is_err()
                || hll::count(&dense).ok() != hll::count(&sparse).ok())
        {
            return Reply::error("TESTFAILED sparse and dense counts differ");
        }
    }
    Reply::ok()
}
