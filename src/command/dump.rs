//! DUMP, RESTORE and RESTORE-ASKING, shard side. The payload format lives
//! in `keyspace::rdb`; this file parses the arguments and applies Redis's
//! checks in Redis's order (restoreCommand in its `cluster.c`).

use super::errors::{NOT_INTEGER, SYNTAX};
use super::{parse_int, Db};
use crate::keyspace::rdb::{self, EncodingLimits};
use crate::keyspace::Entry;
use crate::protocol::Arg;
use crate::protocol::Reply;
use bytes::Bytes;

pub fn dump(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let now = db.now_ms;
    match db.keyspace.lookup_read(db.slot(&argv[1]), &argv[1], now) {
        Some(entry) => Reply::Bulk(Bytes::from(rdb::dump(&entry.value))),
        None => Reply::Nil,
    }
}

/// The encoding limits a restored value is shaped by, from the config.
pub fn encoding_limits(db: &Db) -> EncodingLimits {
    config_limits(&db.config)
}

pub fn config_limits(config: &crate::config::Config) -> EncodingLimits {
    EncodingLimits {
        hash_max_listpack_entries: config.hash_max_listpack_entries as usize,
        hash_max_listpack_value: config.hash_max_listpack_value as usize,
        set_max_intset_entries: config.set_max_intset_entries as usize,
        list_max_listpack_size: config.list_max_listpack_size,
        zset_max_listpack_entries: config.zset_max_listpack_entries as usize,
        zset_max_listpack_value: config.zset_max_listpack_value as usize,
    }
}

struct RestoreOptions {
    replace: bool,
    absolute_ttl: bool,
    idle_secs: Option<i64>,
    frequency: Option<i64>,
}

fn parse_restore_options(args: &[Arg<'_>]) -> Result<RestoreOptions, Reply> {
    let mut options = RestoreOptions {
        replace: false,
        absolute_ttl: false,
        idle_secs: None,
        frequency: None,
    };
    let mut index = 0;
    while index < args.len() {
        let has_value = index + 1 < args.len();
        match args[index].to_ascii_uppercase().as_slice() {
            b"REPLACE" => options.replace = true,
            b"ABSTTL" => options.absolute_ttl = true,
            b"IDLETIME" if has_value && options.frequency.is_none() => {
                let idle = parse_int(&args[index + 1]).ok_or(Reply::error(NOT_INTEGER))?;
                if idle < 0 {
                    return Err(Reply::error("ERR Invalid IDLETIME value, must be >= 0"));
                }
                options.idle_secs = Some(idle);
                index += 1;
            }
            b"FREQ" if has_value && options.idle_secs.is_none() => {
                let value = parse_int(&args[index + 1]).ok_or(Reply::error(NOT_INTEGER))?;
                if !(0..=255).contains(&value) {
                    return Err(Reply::error(
                        "ERR Invalid FREQ value, must be >= 0 and <= 255",
                    ));
                }
                options.frequency = Some(value);
                index += 1;
            }
            _ => return Err(Reply::error(SYNTAX)),
        }
        index += 1;
    }
    Ok(options)
}

/// RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f]; also
/// RESTORE-ASKING, which differs only in being accepted on an importing slot.
pub fn restore(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let options = match parse_restore_options(&argv[4..]) {
        Ok(options) => options,
        Err(reply) => return reply,
    };
    let (key, now) = (&argv[1], db.now_ms);
    let slot = db.slot(key);
    if !options.replace && db.keyspace.lookup_write(slot, key, now).is_some() {
        return Reply::error("BUSYKEY Target key name already exists.");
    }
    let Some(mut ttl) = parse_int(&argv[2]) else {
        return Reply::error(NOT_INTEGER);
    };
    if ttl < 0 {
        return Reply::error("ERR Invalid TTL value, must be >= 0");
    }
    let value = match rdb::load(&argv[3], &encoding_limits(db)) {
        Ok(value) => value,
        Err(error) => return Reply::error(error.message()),
    };
    if options.replace {
        db.keyspace.remove(slot, key);
    }
    if ttl != 0 && !options.absolute_ttl {
        ttl = ttl.saturating_add(now as i64);
    }
    if ttl != 0 && ttl as u64 <= now {
        // Already expired: Redis answers OK and stores nothing.
        return Reply::ok();
    }
    let mut entry = Entry::new(value, now);
    entry.set_expire_at_ms(ttl as u64);
    // As Redis's objectSetLRUOrLFU: IDLETIME counts under an LRU policy,
    // FREQ under an LFU one, the other is dropped.
    let lfu = db.keyspace.lfu.is_some();
    if let Some(idle) = options.idle_secs.filter(|_| !lfu) {
        entry.set_idle_secs(u64::try_from(idle).unwrap_or(0), now);
    }
    db.keyspace.insert(slot, key, entry);
    if let Some(frequency) = options.frequency.filter(|_| lfu) {
        if let Some(entry) = db.keyspace.entry_mut(slot, key) {
            entry.set_lfu(frequency as u64, now);
        }
    }
    Reply::ok()
}
