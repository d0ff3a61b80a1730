//! Generic key commands, shard side. The parts of multi-key and keyspace-wide
//! commands that run on one core are here too (`*_local`); the coordinator
//! fans them out and merges their replies.

use super::errors::{self, NOT_INTEGER, NO_SUCH_KEY, SYNTAX};
use super::{glob, parse_int, Db};
use crate::keyspace::{Entry, StrEncoding, Value};
use crate::protocol::Arg;
use crate::protocol::Reply;
use bytes::Bytes;

/// DEL / UNLINK on this core's keys: how many were removed.
pub fn del_local(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let now = db.now_ms;
    let mut removed = 0;
    for key in &argv[1..] {
        let slot = db.slot(key);
        if db.keyspace.contains(slot, key, now) && db.keyspace.remove(slot, key).is_some() {
            removed += 1;
        }
    }
    Reply::Int(removed)
}

/// EXISTS on this core's keys; a key named twice counts twice.
pub fn exists_local(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let now = db.now_ms;
    Reply::Int(
        argv[1..]
            .iter()
            .filter(|key| db.keyspace.contains(db.slot(key), key, now))
            .count() as i64,
    )
}

pub fn touch_local(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let now = db.now_ms;
    Reply::Int(
        argv[1..]
            .iter()
            .filter(|key| db.keyspace.lookup_write(db.slot(key), key, now).is_some())
            .count() as i64,
    )
}

pub fn type_(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let now = db.now_ms;
    let name = db
        .keyspace
        .peek(db.slot(&argv[1]), &argv[1], now)
        .map_or("none", |entry| entry.value.type_name());
    Reply::Simple(name.into())
}

#[derive(Default)]
struct ExpireFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

fn parse_expire_flags(args: &[Arg<'_>]) -> Result<ExpireFlags, Reply> {
    let mut flags = ExpireFlags::default();
    for arg in args {
        match arg.to_ascii_uppercase().as_slice() {
            b"NX" => flags.nx = true,
            b"XX" => flags.xx = true,
            b"GT" => flags.gt = true,
            b"LT" => flags.lt = true,
            _ => {
                return Err(Reply::error_owned(format!(
                    "ERR Unsupported option {}",
                    String::from_utf8_lossy(arg)
                )))
            }
        }
    }
    if flags.nx && (flags.xx || flags.gt || flags.lt) {
        return Err(Reply::error(
            "ERR NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if flags.gt && flags.lt {
        return Err(Reply::error(
            "ERR GT and LT options at the same time are not compatible",
        ));
    }
    Ok(flags)
}

/// EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT.
fn expire_generic(
    db: &mut Db,
    argv: &[Arg<'_>],
    base_ms: i64,
    seconds: bool,
    command: &str,
) -> Reply {
    let flags = match parse_expire_flags(&argv[3..]) {
        Ok(flags) => flags,
        Err(reply) => return reply,
    };
    let Some(mut when) = parse_int(&argv[2]) else {
        return Reply::error(NOT_INTEGER);
    };
    if seconds {
        if !(i64::MIN / 1000..=i64::MAX / 1000).contains(&when) {
            return errors::invalid_expire(command);
        }
        when *= 1000;
    }
    if when > i64::MAX - base_ms {
        return errors::invalid_expire(command);
    }
    when += base_ms;
    let (key, slot, now) = (&argv[1], db.slot(&argv[1]), db.now_ms);
    let Some(entry) = db.keyspace.lookup_write(slot, key, now) else {
        return Reply::Int(0);
    };
    let current = if entry.expire_at_ms() == 0 {
        -1
    } else {
        entry.expire_at_ms() as i64
    };
    let refused = (flags.nx && current != -1)
        || (flags.xx && current == -1)
        || (flags.gt && (when <= current || current == -1))
        || (flags.lt && current != -1 && when >= current);
    if refused {
        return Reply::Int(0);
    }
    if when <= now as i64 {
        db.keyspace.remove(slot, key);
    } else {
        db.keyspace.set_expire(slot, key, when as u64);
    }
    Reply::Int(1)
}

pub fn expire(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let now = db.now_ms as i64;
    expire_generic(db, argv, now, true, "expire")
}

pub fn pexpire(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let now = db.now_ms as i64;
    expire_generic(db, argv, now, false, "pexpire")
}

pub fn expireat(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    expire_generic(db, argv, 0, true, "expireat")
}

pub fn pexpireat(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    expire_generic(db, argv, 0, false, "pexpireat")
}

/// TTL, PTTL, EXPIRETIME, PEXPIRETIME.
fn ttl_generic(db: &mut Db, argv: &[Arg<'_>], milliseconds: bool, absolute: bool) -> Reply {
    let now = db.now_ms;
    let Some(entry) = db.keyspace.peek(db.slot(&argv[1]), &argv[1], now) else {
        return Reply::Int(-2);
    };
    if entry.expire_at_ms() == 0 {
        return Reply::Int(-1);
    }
    let expire = entry.expire_at_ms() as i64;
    if absolute {
        return Reply::Int(if milliseconds { expire } else { expire / 1000 });
    }
    let ttl = (expire - now as i64).max(0);
    Reply::Int(if milliseconds {
        ttl
    } else {
        (ttl + 500) / 1000
    })
}

pub fn ttl(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    ttl_generic(db, argv, false, false)
}

pub fn pttl(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    ttl_generic(db, argv, true, false)
}

pub fn expiretime(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    ttl_generic(db, argv, false, true)
}

pub fn pexpiretime(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    ttl_generic(db, argv, true, true)
}

pub fn persist(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let (slot, now) = (db.slot(&argv[1]), db.now_ms);
    match db.keyspace.lookup_write(slot, &argv[1], now) {
        Some(entry) if entry.expire_at_ms() != 0 => {
            db.keyspace.set_expire(slot, &argv[1], 0);
            Reply::Int(1)
        }
        _ => Reply::Int(0),
    }
}

/// Takes a key's entry out of this core (for a cross-core RENAME): the
/// value and its expiry travel as an internal reply.
pub fn take_entry(db: &mut Db, key: &[u8]) -> Option<Entry> {
    let (slot, now) = (db.slot(key), db.now_ms);
    db.keyspace.lookup_write(slot, key, now)?;
    db.keyspace.remove(slot, key)
}

/// RENAME and RENAMENX when both keys live on this core.
pub fn rename_generic(db: &mut Db, argv: &[Arg<'_>], nx: bool) -> Reply {
    let (source, destination, now) = (&argv[1], &argv[2], db.now_ms);
    if !db.keyspace.contains(db.slot(source), source, now) {
        return Reply::error(NO_SUCH_KEY);
    }
    if source == destination {
        return if nx { Reply::Int(0) } else { Reply::ok() };
    }
    if nx && db.keyspace.contains(db.slot(destination), destination, now) {
        return Reply::Int(0);
    }
    let Some(entry) = take_entry(db, source) else {
        return Reply::error(NO_SUCH_KEY);
    };
    db.keyspace.insert(db.slot(destination), destination, entry);
    if nx {
        Reply::Int(1)
    } else {
        Reply::ok()
    }
}

pub fn rename(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    rename_generic(db, argv, false)
}

pub fn renamenx(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    rename_generic(db, argv, true)
}

/// COPY's options: Ok(replace) or the error reply.
pub fn parse_copy_options(args: &[Arg<'_>], databases: u64) -> Result<bool, Reply> {
    let mut replace = false;
    let mut index = 0;
    while index < args.len() {
        match args[index].to_ascii_uppercase().as_slice() {
            b"REPLACE" => replace = true,
            b"DB" if index + 1 < args.len() => {
                match parse_int(&args[index + 1]) {
                    Some(0) => {}
                    Some(db) if (1..databases as i64).contains(&db) => {
                        return Err(Reply::error(
                            "ERR Copying to another database is not allowed in cluster mode",
                        ))
                    }
                    Some(_) => return Err(Reply::error("ERR DB index is out of range")),
                    None => return Err(Reply::error(NOT_INTEGER)),
                }
                index += 1;
            }
            _ => return Err(Reply::error(SYNTAX)),
        }
        index += 1;
    }
    Ok(replace)
}

pub fn copy(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let replace = match parse_copy_options(&argv[3..], db.config.databases) {
        Ok(replace) => replace,
        Err(reply) => return reply,
    };
    let (source, destination, now) = (&argv[1], &argv[2], db.now_ms);
    if source == destination {
        return Reply::error("ERR source and destination objects are the same");
    }
    let Some(entry) = db
        .keyspace
        .lookup_read(db.slot(source), source, now)
        .map(|e| e.clone())
    else {
        return Reply::Int(0);
    };
    if !replace && db.keyspace.contains(db.slot(destination), destination, now) {
        return Reply::Int(0);
    }
    db.keyspace.insert(db.slot(destination), destination, entry);
    Reply::Int(1)
}

/// KEYS on this core: an array of matching live keys.
pub fn keys_local(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let pattern = &argv[1];
    let now = db.now_ms;
    let match_all = pattern.as_ref() == b"*";
    let mut found = Vec::new();
    for index in 0..db.keyspace.local_slot_count() {
        let Some((_, map)) = db.keyspace.slot_at(index) else {
            break;
        };
        for (key, entry) in map {
            let live = entry.expire_at_ms() == 0 || entry.expire_at_ms() > now;
            if live && (match_all || glob::matches(pattern, key)) {
                found.push(Reply::Bulk(Bytes::copy_from_slice(key)));
            }
        }
    }
    Reply::Array(found)
}

/// SCAN's work on one core: argv = [_, first local slot index, count,
/// pattern or "", type or ""]. Returns [next local index or -1, keys...].
/// Whole slots are returned, so a key present for the whole scan is never
/// missed, however the maps grow between calls.
pub fn scan_local(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let start = parse_int(&argv[1]).unwrap_or(0).max(0) as usize;
    let count = parse_int(&argv[2]).unwrap_or(10).max(1) as usize;
    let (pattern, type_name) = (&argv[3], &argv[4]);
    let now = db.now_ms;
    let mut keys = vec![Reply::Int(-1)];
    let mut index = start;
    // Like Redis, bound the empty slots visited per call.
    let mut visits_left = count.saturating_mul(10).max(100);
    while index < db.keyspace.local_slot_count() && keys.len() - 1 < count && visits_left > 0 {
        let Some((_, map)) = db.keyspace.slot_at(index) else {
            break;
        };
        visits_left -= 1;
        for (key, entry) in map {
            let live = entry.expire_at_ms() == 0 || entry.expire_at_ms() > now;
            // SCAN takes "*" as no pattern at all (an empty key matches).
            let pattern_ok =
                pattern.is_empty() || pattern.as_bytes() == b"*" || glob::matches(pattern, key);
            let type_ok = type_name.is_empty()
                || type_name.eq_ignore_ascii_case(entry.value.type_name().as_bytes());
            if live && pattern_ok && type_ok {
                keys.push(Reply::Bulk(Bytes::copy_from_slice(key)));
            }
        }
        index += 1;
    }
    if index < db.keyspace.local_slot_count() {
        keys[0] = Reply::Int(index as i64);
    }
    Reply::Array(keys)
}

pub fn dbsize_local(db: &mut Db, _argv: &[Arg<'_>]) -> Reply {
    Reply::Int(db.keyspace.len() as i64)
}

pub fn flush_local(db: &mut Db, _argv: &[Arg<'_>]) -> Reply {
    db.keyspace.clear();
    crate::memory::release_free_memory();
    Reply::ok()
}

pub fn randomkey_local(db: &mut Db, _argv: &[Arg<'_>]) -> Reply {
    let (seed, now) = (db.random(), db.now_ms);
    db.keyspace
        .random_key(seed, now)
        .map_or(Reply::Nil, Reply::Bulk)
}

const OBJECT_HELP: &[&str] = &[
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
];

pub fn help_reply(lines: &[&str]) -> Reply {
    Reply::Array(
        lines
            .iter()
            .map(|line| Reply::Simple(line.to_string().into()))
            .collect(),
    )
}

/// The refcount Redis reports: small integers are shared objects.
fn refcount(value: &Value) -> i64 {
    match value {
        Value::Str {
            encoding: StrEncoding::Int,
            bytes,
        } => match parse_int(bytes) {
            Some(number) if (0..10000).contains(&number) => i32::MAX as i64,
            _ => 1,
        },
        _ => 1,
    }
}

pub fn object(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let sub = argv[1].to_ascii_uppercase();
    if sub == b"HELP" && argv.len() == 2 {
        return help_reply(OBJECT_HELP);
    }
    let known = matches!(
        sub.as_slice(),
        b"ENCODING" | b"FREQ" | b"IDLETIME" | b"REFCOUNT"
    );
    if !known {
        return errors::unknown_subcommand("object", &argv[1]);
    }
    if argv.len() != 3 {
        let name = format!(
            "object|{}",
            String::from_utf8_lossy(&argv[1]).to_ascii_lowercase()
        );
        return errors::wrong_arity(&name);
    }
    let now = db.now_ms;
    let lfu = db.config.maxmemory_policy.contains("lfu");
    let Some(entry) = db.keyspace.peek(db.slot(&argv[2]), &argv[2], now) else {
        return Reply::Nil;
    };
    match sub.as_slice() {
        b"ENCODING" => Reply::bulk_static(entry.value.encoding_name()),
        b"REFCOUNT" => Reply::Int(refcount(&entry.value)),
        b"IDLETIME" if lfu => Reply::error("ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."),
        b"IDLETIME" => Reply::Int(entry.idle_secs(now) as i64),
        _ if !lfu => Reply::error("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."),
        _ => Reply::Int(entry.lfu_counter(now, db.config.lfu_decay_time) as i64),
    }
}

pub fn memory_usage(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let sub = argv[1].to_ascii_uppercase();
    if sub != b"USAGE" {
        return errors::unknown_subcommand("memory", &argv[1]);
    }
    if argv.len() < 3 {
        return errors::wrong_arity("memory|usage");
    }
    if argv.len() > 3 {
        let valid = argv.len() == 5 && argv[3].eq_ignore_ascii_case(b"SAMPLES");
        if !valid {
            return Reply::error(SYNTAX);
        }
        if parse_int(&argv[4]).is_none() {
            return Reply::error(NOT_INTEGER);
        }
    }
    let now = db.now_ms;
    match db.keyspace.peek(db.slot(&argv[2]), &argv[2], now) {
        // Key bytes, the value, and the hash table entry with its headers.
        Some(entry) => Reply::Int((argv[2].len() + entry.value.memory_bytes() + 56) as i64),
        None => Reply::Nil,
    }
}
