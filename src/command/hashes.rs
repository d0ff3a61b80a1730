//! Hash commands, shard side (Redis's `t_hash.c`).

use super::dump::encoding_limits;
use super::errors::{self, NOT_INTEGER, OVERFLOW, SYNTAX, WRONGTYPE};
use super::strings::long_double_add;
use super::{drop_if_empty, typed_value};
use super::{parse_int, scan, Db};
use crate::keyspace::{Entry, Hash, Value};
use crate::protocol::Arg;
use crate::protocol::Reply;
use bytes::Bytes;

/// A reply with a copy of a stored field or value.
fn bulk(bytes: &[u8]) -> Reply {
    Reply::Bulk(Bytes::copy_from_slice(bytes))
}

/// A hash for reading: Ok(None) when the key is missing.
fn read_hash<'a>(db: &'a mut Db, key: &[u8]) -> Result<Option<&'a Hash>, Reply> {
    let found = typed_value(db, key, false, |value| match value {
        Value::Hash(hash) => Some(hash),
        _ => None,
    })?;
    Ok(found.map(|hash| &*hash))
}

/// A hash for writing, created empty when the key is missing. Callers that
/// may leave it empty call `drop_if_empty`.
fn write_hash<'a>(db: &'a mut Db, key: &[u8]) -> Result<&'a mut Hash, Reply> {
    let (slot, now) = (db.slot(key), db.now_ms);
    let exists = match db.keyspace.lookup_write(slot, key, now) {
        None => false,
        Some(Entry {
            value: Value::Hash(_),
            ..
        }) => true,
        Some(_) => return Err(Reply::error(WRONGTYPE)),
    };
    if !exists {
        let entry = Entry::new(Value::Hash(Hash::default()), now);
        db.keyspace.insert(slot, key, entry);
    }
    match db.keyspace.lookup_write(slot, key, now) {
        Some(Entry {
            value: Value::Hash(hash),
            ..
        }) => Ok(hash),
        _ => Err(Reply::error(WRONGTYPE)),
    }
}

fn set_pairs(db: &mut Db, argv: &[Arg<'_>], name: &str) -> Result<i64, Reply> {
    if argv.len() % 2 == 1 {
        return Err(errors::wrong_arity(name));
    }
    let limits = encoding_limits(db);
    let hash = write_hash(db, &argv[1])?;
    let mut added = 0;
    for pair in argv[2..].chunks_exact(2) {
        added += i64::from(hash.set(&pair[0], &pair[1], &limits));
    }
    Ok(added)
}

pub fn hset(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    set_pairs(db, argv, "hset").map_or_else(|e| e, Reply::Int)
}

pub fn hmset(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    set_pairs(db, argv, "hmset").map_or_else(|e| e, |_| Reply::ok())
}

pub fn hsetnx(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let limits = encoding_limits(db);
    let hash = match write_hash(db, &argv[1]) {
        Ok(hash) => hash,
        Err(reply) => return reply,
    };
    if hash.get(&argv[2]).is_some() {
        return Reply::Int(0);
    }
    hash.set(&argv[2], &argv[3], &limits);
    Reply::Int(1)
}

pub fn hget(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    match read_hash(db, &argv[1]) {
        Ok(hash) => hash.and_then(|h| h.get(&argv[2])).map_or(Reply::Nil, bulk),
        Err(reply) => reply,
    }
}

pub fn hmget(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    match read_hash(db, &argv[1]) {
        Ok(hash) => Reply::Array(
            argv[2..]
                .iter()
                .map(|field| hash.and_then(|h| h.get(field)).map_or(Reply::Nil, bulk))
                .collect(),
        ),
        Err(reply) => reply,
    }
}

pub fn hgetall(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    match read_hash(db, &argv[1]) {
        Ok(hash) => Reply::Map(hash.map_or_else(Vec::new, |h| {
            h.iter().map(|(f, v)| (bulk(f), bulk(v))).collect()
        })),
        Err(reply) => reply,
    }
}

fn keys_or_values(db: &mut Db, argv: &[Arg<'_>], keys: bool) -> Reply {
    match read_hash(db, &argv[1]) {
        Ok(hash) => Reply::Array(hash.map_or_else(Vec::new, |h| {
            h.iter()
                .map(|(f, v)| bulk(if keys { f } else { v }))
                .collect()
        })),
        Err(reply) => reply,
    }
}

pub fn hkeys(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    keys_or_values(db, argv, true)
}

pub fn hvals(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    keys_or_values(db, argv, false)
}

pub fn hdel(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let now = db.now_ms;
    let removed = match db.keyspace.lookup_write(db.slot(&argv[1]), &argv[1], now) {
        None => return Reply::Int(0),
        Some(Entry {
            value: Value::Hash(hash),
            ..
        }) => argv[2..].iter().filter(|field| hash.remove(field)).count(),
        Some(_) => return Reply::error(WRONGTYPE),
    };
    drop_if_empty(db, &argv[1]);
    Reply::Int(removed as i64)
}

pub fn hexists(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    match read_hash(db, &argv[1]) {
        Ok(hash) => Reply::Int(i64::from(hash.is_some_and(|h| h.get(&argv[2]).is_some()))),
        Err(reply) => reply,
    }
}

pub fn hlen(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    match read_hash(db, &argv[1]) {
        Ok(hash) => Reply::Int(hash.map_or(0, |h| h.len() as i64)),
        Err(reply) => reply,
    }
}

pub fn hstrlen(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    match read_hash(db, &argv[1]) {
        Ok(hash) => Reply::Int(
            hash.and_then(|h| h.get(&argv[2]))
                .map_or(0, |v| v.len() as i64),
        ),
        Err(reply) => reply,
    }
}

pub fn hincrby(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let Some(increment) = parse_int(&argv[3]) else {
        return Reply::error(NOT_INTEGER);
    };
    let limits = encoding_limits(db);
    let hash = match write_hash(db, &argv[1]) {
        Ok(hash) => hash,
        Err(reply) => return reply,
    };
    let current = match hash.get(&argv[2]) {
        None => 0,
        Some(value) => match parse_int(value) {
            Some(number) => number,
            None => return Reply::error("ERR hash value is not an integer"),
        },
    };
    let Some(result) = current.checked_add(increment) else {
        return Reply::error(OVERFLOW);
    };
    hash.set(&argv[2], result.to_string().as_bytes(), &limits);
    Reply::Int(result)
}

pub fn hincrbyfloat(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    // The increment alone: not a float, or infinite.
    if let Err(error) = long_double_add(None, &argv[3]) {
        return if error.contains("NaN") {
            Reply::error("ERR value is NaN or Infinity")
        } else {
            Reply::error(error)
        };
    }
    let limits = encoding_limits(db);
    let hash = match write_hash(db, &argv[1]) {
        Ok(hash) => hash,
        Err(reply) => return reply,
    };
    match long_double_add(hash.get(&argv[2]), &argv[3]) {
        Ok(text) => {
            let text = Bytes::from(text);
            hash.set(&argv[2], &text, &limits);
            Reply::Bulk(text)
        }
        Err(error) if error.contains("NaN") => Reply::error(error),
        Err(_) => Reply::error("ERR hash value is not a float"),
    }
}

pub fn hrandfield(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    if argv.len() == 2 {
        let len = match read_hash(db, &argv[1]) {
            Ok(Some(hash)) => hash.len(),
            Ok(None) => return Reply::Nil,
            Err(reply) => return reply,
        };
        let pick = (db.random() % len as u64) as usize;
        return Reply::Bulk(nth_pair(db, &argv[1], pick).0);
    }
    let count = match parse_int(&argv[2]) {
        Some(count) if count != i64::MIN => count,
        Some(_) => return Reply::error(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ),
        None => return Reply::error(NOT_INTEGER),
    };
    let with_values = argv.len() == 4 && argv[3].eq_ignore_ascii_case(b"WITHVALUES");
    if argv.len() > 4 || (argv.len() == 4 && !with_values) {
        return Reply::error(SYNTAX);
    }
    if with_values && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        return Reply::error("ERR value is out of range");
    }
    let seed = db.random() | 1;
    let pairs = match read_hash(db, &argv[1]) {
        Ok(Some(hash)) => random_pairs(hash, count, seed),
        Ok(None) => Vec::new(),
        Err(reply) => return reply,
    };
    if with_values {
        Reply::Pairs(
            pairs
                .into_iter()
                .map(|(f, v)| (Reply::Bulk(f), Reply::Bulk(v)))
                .collect(),
        )
    } else {
        Reply::Array(pairs.into_iter().map(|(f, _)| Reply::Bulk(f)).collect())
    }
}

fn nth_pair(db: &mut Db, key: &[u8], index: usize) -> (Bytes, Bytes) {
    let now = db.now_ms;
    match db.keyspace.peek(db.slot(key), key, now) {
        Some(Entry {
            value: Value::Hash(hash),
            ..
        }) => hash
            .iter()
            .nth(index)
            .map(|(f, v)| (Bytes::copy_from_slice(f), Bytes::copy_from_slice(v)))
            .unwrap_or_default(),
        _ => Default::default(),
    }
}

/// HRANDFIELD with a count: negative may repeat fields, positive gives
/// distinct ones (the whole hash, in its order, when it asks for as many).
fn random_pairs(hash: &Hash, count: i64, mut seed: u64) -> Vec<(Bytes, Bytes)> {
    let all: Vec<(Bytes, Bytes)> = hash
        .iter()
        .map(|(f, v)| (Bytes::copy_from_slice(f), Bytes::copy_from_slice(v)))
        .collect();
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    if count < 0 {
        let wanted = count.unsigned_abs() as usize;
        return (0..wanted)
            .map(|_| all[(next() % all.len() as u64) as usize].clone())
            .collect();
    }
    let wanted = count as usize;
    if wanted >= all.len() {
        return all;
    }
    // A partial Fisher-Yates shuffle picks `wanted` distinct pairs.
    let mut all = all;
    for index in 0..wanted {
        let pick = index + (next() % (all.len() - index) as u64) as usize;
        all.swap(index, pick);
    }
    all.truncate(wanted);
    all
}

/// HSCAN key cursor [MATCH pattern] [COUNT count]. A listpack hash comes
/// back whole with cursor 0, as Redis's; a table pages (see `scan`).
pub fn hscan(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let Some(cursor) = parse_cursor(&argv[2]) else {
        return Reply::error("ERR invalid cursor");
    };
    let hash = match read_hash(db, &argv[1]) {
        Ok(Some(hash)) => hash,
        Ok(None) => return scan::reply(0, Vec::new()),
        Err(reply) => return reply,
    };
    let options = match scan::parse_options(&argv[3..]) {
        Ok(options) => options,
        Err(reply) => return reply,
    };
    let (pairs, next) = match hash {
        Hash::Listpack(_) => (hash.iter().collect(), 0),
        Hash::Table(_) => scan::page(
            hash.iter().map(|pair| (scan::position(pair.0), pair)),
            hash.len(),
            cursor,
            options.count,
        ),
    };
    let mut items = Vec::with_capacity(pairs.len() * 2);
    for (field, value) in pairs {
        if options.matches(field) {
            items.push(bulk(field));
            items.push(bulk(value));
        }
    }
    scan::reply(next, items)
}

/// A SCAN cursor as Redis reads it (strtoul): optional sign, decimal
/// digits, no surrounding space; "" is 0 and "-1" wraps around.
pub fn parse_cursor(arg: &[u8]) -> Option<u64> {
    if arg.is_empty() {
        return Some(0);
    }
    let (negative, digits) = match arg[0] {
        b'-' => (true, &arg[1..]),
        b'+' => (false, &arg[1..]),
        _ => (false, arg),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let value: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}
