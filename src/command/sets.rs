//! Set commands, shard side (Redis's `t_set.c`). Commands over several
//! keys (SMOVE, SINTER, SUNION, SDIFF, SINTERCARD, the STORE forms) run
//! here when all their keys live on one core; across cores
//! `shard::collections` runs them under key locks.

use super::dump::encoding_limits;
use super::errors::{NOT_INTEGER, SYNTAX};
use super::hashes::parse_cursor;
use super::scan;
use super::{drop_if_empty, typed_value};
use super::{parse_int, Db};
use crate::keyspace::{EncodingLimits, Entry, Set, Value};
use crate::protocol::Arg;
use crate::protocol::Reply;
use bytes::Bytes;

fn set_of(value: &mut Value) -> Option<&mut Set> {
    match value {
        Value::Set(set) => Some(set),
        _ => None,
    }
}

/// A set for reading: Ok(None) when the key is missing.
fn read_set<'a>(db: &'a mut Db, key: &[u8]) -> Result<Option<&'a mut Set>, Reply> {
    typed_value(db, key, false, set_of)
}

/// A set for writing, without creating it.
fn write_set<'a>(db: &'a mut Db, key: &[u8]) -> Result<Option<&'a mut Set>, Reply> {
    typed_value(db, key, true, set_of)
}

fn bulks(members: Vec<Bytes>) -> Vec<Reply> {
    members.into_iter().map(Reply::Bulk).collect()
}

pub fn sadd(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let limits = encoding_limits(db);
    let (slot, now) = (db.slot(&argv[1]), db.now_ms);
    match write_set(db, &argv[1]) {
        Ok(Some(set)) => {
            let added = argv[2..].iter().filter(|m| set.add(m, &limits)).count();
            return Reply::Int(added as i64);
        }
        Ok(None) => {}
        Err(reply) => return reply,
    }
    let mut set = Set::new();
    let added = argv[2..].iter().filter(|m| set.add(m, &limits)).count();
    db.keyspace
        .insert(slot, &argv[1], Entry::new(Value::Set(Box::new(set)), now));
    Reply::Int(added as i64)
}

pub fn srem(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let removed = match write_set(db, &argv[1]) {
        Ok(Some(set)) => argv[2..].iter().filter(|m| set.remove(m)).count(),
        Ok(None) => 0,
        Err(reply) => return reply,
    };
    drop_if_empty(db, &argv[1]);
    Reply::Int(removed as i64)
}

pub fn smembers(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    match read_set(db, &argv[1]) {
        Ok(set) => Reply::Set(set.map_or_else(Vec::new, |s| bulks(s.members()))),
        Err(reply) => reply,
    }
}

pub fn sismember(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    match read_set(db, &argv[1]) {
        Ok(set) => Reply::Int(i64::from(set.is_some_and(|s| s.contains(&argv[2])))),
        Err(reply) => reply,
    }
}

pub fn smismember(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    match read_set(db, &argv[1]) {
        Ok(set) => Reply::Array(
            argv[2..]
                .iter()
                .map(|m| Reply::Int(i64::from(set.as_ref().is_some_and(|s| s.contains(m)))))
                .collect(),
        ),
        Err(reply) => reply,
    }
}

pub fn scard(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    match read_set(db, &argv[1]) {
        Ok(set) => Reply::Int(set.map_or(0, |s| s.len() as i64)),
        Err(reply) => reply,
    }
}

pub fn spop(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    if argv.len() > 3 {
        return Reply::error(SYNTAX);
    }
    let count = match argv.get(2).map(|arg| parse_int(arg)) {
        None => None,
        Some(Some(count)) if count >= 0 => Some(count as usize),
        Some(_) => return Reply::error("ERR value is out of range, must be positive"),
    };
    let seed = db.random() | 1;
    let popped = match write_set(db, &argv[1]) {
        Ok(Some(set)) => {
            let chosen = set.random_members(count.unwrap_or(1), seed);
            for member in &chosen {
                set.remove(member);
            }
            chosen
        }
        Ok(None) => Vec::new(),
        Err(reply) => return reply,
    };
    drop_if_empty(db, &argv[1]);
    match count {
        Some(_) => Reply::Set(bulks(popped)),
        None => popped.into_iter().next().map_or(Reply::Nil, Reply::Bulk),
    }
}

pub fn srandmember(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    if argv.len() > 3 {
        return Reply::error(SYNTAX);
    }
    let count = match argv.get(2).map(|arg| parse_int(arg)) {
        None => None,
        Some(Some(i64::MIN)) => return Reply::error(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ),
        Some(Some(count)) => Some(count),
        Some(None) => return Reply::error(NOT_INTEGER),
    };
    let mut seed = db.random() | 1;
    let set = match read_set(db, &argv[1]) {
        Ok(Some(set)) => set,
        Ok(None) if count.is_none() => return Reply::Nil,
        Ok(None) => return Reply::Array(Vec::new()),
        Err(reply) => return reply,
    };
    match count {
        None => Reply::Bulk(set.random_members(1, seed).swap_remove(0)),
        Some(count) if count >= 0 => Reply::Array(bulks(set.random_members(count as usize, seed))),
        // Negative: members may repeat.
        Some(count) => {
            let len = set.len() as u64;
            Reply::Array(
                (0..count.unsigned_abs())
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        Reply::Bulk(set.member_at((seed % len) as usize))
                    })
                    .collect(),
            )
        }
    }
}

pub fn smove(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let (source, destination, member) = (&argv[1], &argv[2], &argv[3]);
    let limits = encoding_limits(db);
    let source_is_set = match write_set(db, source) {
        Ok(set) => set.is_some(),
        Err(reply) => return reply,
    };
    let destination_exists = match write_set(db, destination) {
        Ok(set) => set.is_some(),
        Err(reply) if source_is_set => return reply,
        Err(_) => false,
    };
    if !source_is_set {
        return Reply::Int(0);
    }
    if source == destination {
        let found = matches!(write_set(db, source), Ok(Some(set)) if set.contains(member));
        return Reply::Int(i64::from(found));
    }
    let removed = match write_set(db, source) {
        Ok(Some(set)) => set.remove(member),
        _ => false,
    };
    if !removed {
        return Reply::Int(0);
    }
    drop_if_empty(db, source);
    if !destination_exists {
        let now = db.now_ms;
        let entry = Entry::new(Value::Set(Box::default()), now);
        db.keyspace.insert(db.slot(destination), destination, entry);
    }
    if let Ok(Some(set)) = write_set(db, destination) {
        set.add(member, &limits);
    }
    Reply::Int(1)
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum SetOp {
    Inter,
    Union,
    Diff,
}

/// The sets named by `keys` (None for a missing key), or WRONGTYPE.
fn gather(db: &mut Db, keys: &[Arg<'_>]) -> Result<Vec<Option<Set>>, Reply> {
    keys.iter()
        .map(|key| read_set(db, key).map(|set| set.map(|s| s.clone())))
        .collect()
}

/// The result of an operation, in the order Redis would produce it.
pub fn compute(op: SetOp, sets: Vec<Option<Set>>, limits: &EncodingLimits) -> Vec<Bytes> {
    match op {
        SetOp::Inter => {
            if sets.iter().any(|s| s.as_ref().is_none_or(|s| s.is_empty())) {
                return Vec::new();
            }
            let mut sets: Vec<Set> = sets.into_iter().flatten().collect();
            // Redis walks the smallest set and probes the others.
            sets.sort_by_key(|s| s.len());
            let Some((first, rest)) = sets.split_first() else {
                return Vec::new();
            };
            first
                .members()
                .into_iter()
                .filter(|m| rest.iter().all(|s| s.contains(m)))
                .collect()
        }
        SetOp::Union | SetOp::Diff => {
            let mut result = Set::new();
            let mut sets = sets.into_iter();
            if op == SetOp::Diff {
                let Some(first) = sets.next().flatten() else {
                    return Vec::new();
                };
                let others: Vec<Set> = sets.flatten().collect();
                for member in first.members() {
                    if !others.iter().any(|s| s.contains(&member)) {
                        result.add(&member, limits);
                    }
                }
            } else {
                for set in sets.flatten() {
                    for member in set.members() {
                        result.add(&member, limits);
                    }
                }
            }
            result.members()
        }
    }
}

fn set_op(db: &mut Db, keys: &[Arg<'_>], op: SetOp) -> Reply {
    let limits = encoding_limits(db);
    match gather(db, keys) {
        Ok(sets) => Reply::Set(bulks(compute(op, sets, &limits))),
        Err(reply) => reply,
    }
}

fn set_op_store(db: &mut Db, argv: &[Arg<'_>], op: SetOp) -> Reply {
    let limits = encoding_limits(db);
    let members = match gather(db, &argv[2..]) {
        Ok(sets) => compute(op, sets, &limits),
        Err(reply) => return reply,
    };
    let (destination, now) = (&argv[1], db.now_ms);
    let slot = db.slot(destination);
    if members.is_empty() {
        db.keyspace.remove(slot, destination);
        return Reply::Int(0);
    }
    let mut set = Set::new();
    for member in &members {
        set.add(member, &limits);
    }
    let count = set.len() as i64;
    db.keyspace.insert(
        slot,
        destination,
        Entry::new(Value::Set(Box::new(set)), now),
    );
    Reply::Int(count)
}

pub fn sinter(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    set_op(db, &argv[1..], SetOp::Inter)
}

pub fn sunion(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    set_op(db, &argv[1..], SetOp::Union)
}

pub fn sdiff(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    set_op(db, &argv[1..], SetOp::Diff)
}

/// SINTERCARD numkeys key [key ...] [LIMIT limit].
pub fn sintercard(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let (count, limit) = match parse_sintercard(argv) {
        Ok(parsed) => parsed,
        Err(reply) => return reply,
    };
    let limits = encoding_limits(db);
    match gather(db, &argv[2..2 + count]) {
        Ok(sets) => Reply::Int(compute(SetOp::Inter, sets, &limits).len().min(limit) as i64),
        Err(reply) => reply,
    }
}

/// SINTERCARD's arguments: (number of keys, limit or usize::MAX).
pub fn parse_sintercard(argv: &[Arg<'_>]) -> Result<(usize, usize), Reply> {
    let count = match parse_int(&argv[1]) {
        Some(count) if count > 0 => count as usize,
        _ => return Err(Reply::error("ERR numkeys should be greater than 0")),
    };
    if count > argv.len() - 2 {
        return Err(Reply::error(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    let mut limit = usize::MAX;
    let mut index = 2 + count;
    while index < argv.len() {
        if !argv[index].eq_ignore_ascii_case(b"LIMIT") || index + 1 >= argv.len() {
            return Err(Reply::error(SYNTAX));
        }
        limit = match parse_int(&argv[index + 1]) {
            Some(0) => usize::MAX,
            Some(value) if value > 0 => value as usize,
            _ => return Err(Reply::error("ERR LIMIT can't be negative")),
        };
        index += 2;
    }
    Ok((count, limit))
}

pub fn sinterstore(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    set_op_store(db, argv, SetOp::Inter)
}

pub fn sunionstore(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    set_op_store(db, argv, SetOp::Union)
}

pub fn sdiffstore(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    set_op_store(db, argv, SetOp::Diff)
}

/// SSCAN key cursor [MATCH pattern] [COUNT count]. An intset comes back
/// whole with cursor 0, as Redis's; a table pages (see `scan`).
pub fn sscan(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let Some(cursor) = parse_cursor(&argv[2]) else {
        return Reply::error("ERR invalid cursor");
    };
    let set = match read_set(db, &argv[1]) {
        Ok(Some(set)) => set,
        Ok(None) => return scan::reply(0, Vec::new()),
        Err(reply) => return reply,
    };
    let options = match scan::parse_options(&argv[3..]) {
        Ok(options) => options,
        Err(reply) => return reply,
    };
    let (members, next) = match set {
        Set::Intset { .. } => (set.members(), 0),
        Set::Table(table) => scan::page(
            table.iter().map(|m| (scan::position(m), m.clone())),
            table.len(),
            cursor,
            options.count,
        ),
    };
    let items = members
        .into_iter()
        .filter(|m| options.matches(m))
        .map(Reply::Bulk)
        .collect();
    scan::reply(next, items)
}
