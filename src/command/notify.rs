//! Keyspace notifications (`notify-keyspace-events`): the events a write
//! command raises, with Redis 7.0's event names.
//!
//! Events are worked out around the command rather than inside every
//! handler: which of its keys existed before and after, its reply, and a
//! table of event names per command. That gives `new` for created keys,
//! the command's own event when it changed something, and `del` for keys
//! it emptied. The shard runtime publishes what `Db::events` collects.

use super::{key_positions, parse_int, CommandSpec, Db};
use crate::config::notify::{GENERIC, HASH, LIST, NEW, SET, STRING, ZSET};
use crate::protocol::Arg;
use crate::protocol::Reply;
use bytes::Bytes;

/// Events to publish: (event, key).
pub type Events = Vec<(&'static str, Bytes)>;

impl Db {
    /// True when keyspace events of `class` are wanted.
    #[inline]
    pub fn wants(&self, class: u32) -> bool {
        let flags = self.config.notify_flags;
        flags & class != 0 && flags & 0b11 != 0
    }

    pub fn notify(&mut self, class: u32, event: &'static str, key: &[u8]) {
        if self.wants(class) {
            self.events.push((event, Bytes::copy_from_slice(key)));
        }
    }

    fn key_exists(&mut self, key: &[u8]) -> bool {
        let slot = self.slot(key);
        let now = self.now_ms;
        self.keyspace.contains(slot, key, now)
    }

    /// Turns keys expired since the last call into `expired` events and
    /// returns them. The log of expired keys is kept while notifications
    /// want them or `watching` (WATCHed keys on this core) asks for it.
    pub fn collect_expired(&mut self, watching: bool) -> Vec<Bytes> {
        let wanted = self.wants(crate::config::notify::EXPIRED);
        let keys = match &mut self.keyspace.expired_log {
            Some(log) if wanted || watching => std::mem::take(log),
            log @ Some(_) => {
                *log = None;
                return Vec::new();
            }
            log @ None => {
                if wanted || watching {
                    *log = Some(Vec::new());
                }
                return Vec::new();
            }
        };
        if wanted {
            self.events
                .extend(keys.iter().map(|key| ("expired", key.clone())));
        }
        keys
    }
}

fn is_change(reply: &Reply) -> bool {
    match reply {
        Reply::Int(n) => *n > 0,
        Reply::Nil | Reply::NilArray | Reply::Error(_) => false,
        Reply::Array(items) => !items.is_empty(),
        _ => true,
    }
}

fn has_flag(argv: &[Arg<'_>], flags: &[&[u8]]) -> bool {
    argv.iter()
        .skip(2)
        .any(|arg| flags.iter().any(|f| arg.eq_ignore_ascii_case(f)))
}

/// Runs a client command, records the keyspace events it raises and,
/// while replicas are fed, what it sends them (after the keys it found
/// expired).
#[inline]
pub fn run_notifying(
    run: super::ShardFn,
    db: &mut Db,
    spec: &CommandSpec,
    argv: &[Arg<'_>],
) -> Reply {
    if db.keyspace.replica_keeps_expired && spec.is_write() {
        // On a read-only replica a write is the master's: every key it
        // finds is live, whatever our clock says.
        db.keyspace.master_write = true;
        let reply = run_and_feed(run, db, spec, argv);
        db.keyspace.master_write = false;
        return reply;
    }
    run_and_feed(run, db, spec, argv)
}

/// `run_notifying`'s work: the command, its events, and what it sends to
/// replicas.
#[inline]
fn run_and_feed(run: super::ShardFn, db: &mut Db, spec: &CommandSpec, argv: &[Arg<'_>]) -> Reply {
    if !db.feed.is_on() {
        return run_raising_events(run, db, spec, argv);
    }
    db.sync_feed();
    // PFCOUNT writes the cardinality it computed into the value, and
    // Redis propagates it then (a replica's bytes must match).
    if !(spec.is_write() || (spec.name == "pfcount" && argv.len() == 2)) {
        // A read that found keys expired sends their DEL now, as Redis
        // does, not with the next write.
        let reply = run_raising_events(run, db, spec, argv);
        db.propagate_expired();
        return reply;
    }
    let before = super::propagate::Before::capture(db, spec, argv);
    let reply = run_raising_events(run, db, spec, argv);
    db.propagate_expired();
    super::propagate::command(db, spec, argv, &reply, before);
    reply
}

// One arm per command, its condition inside, reads as the event table it is.
#[allow(clippy::collapsible_match)]
fn run_raising_events(
    run: super::ShardFn,
    db: &mut Db,
    spec: &CommandSpec,
    argv: &[Arg<'_>],
) -> Reply {
    if spec.is_write() && db.keyspace.capturing() {
        for i in key_positions(spec, argv) {
            db.keyspace.preserve_key(&argv[i]);
        }
    }
    if db.config.notify_flags == 0 || !spec.is_write() {
        return super::run_guarded(run, db, argv);
    }
    let keys: Vec<usize> = key_positions(spec, argv).collect();
    let before: Vec<bool> = keys.iter().map(|&i| db.key_exists(&argv[i])).collect();
    // SMOVE raises `sadd` only when the member was not already there.
    let member_was_there = spec.name == "smove"
        && argv.len() == 4
        && super::sets::sismember(db, &[argv[0], argv[2], argv[3]]) == Reply::Int(1);
    let scores_before = matches!(spec.name, "zadd" | "geoadd")
        .then(|| super::zsets::named_scores(db, argv, spec.name == "geoadd"));
    // Handlers that raise their own events (streams) raise them after the
    // key's `new`, which Redis raises when the key is added.
    let mark = db.events.len();
    let reply = super::run_guarded(run, db, argv);
    if reply.is_error() {
        return reply;
    }
    // ZADD and GEOADD raise their event only when a score changed.
    let scores_changed = scores_before.is_some_and(|before| {
        before != super::zsets::named_scores(db, argv, spec.name == "geoadd")
    });
    let after: Vec<bool> = keys.iter().map(|&i| db.key_exists(&argv[i])).collect();
    let mut at = mark;
    for (n, &i) in keys.iter().enumerate() {
        if !before[n] && after[n] && db.wants(NEW) {
            db.events
                .insert(at, ("new", Bytes::copy_from_slice(&argv[i])));
            at += 1;
        }
    }
    let changed = is_change(&reply);
    let key = |n: usize| keys.get(n).map(|&i| argv[i].as_bytes()).unwrap_or_default();
    let mut own_del = false;
    let side = |arg: Option<&Arg<'_>>, left: &'static str, right: &'static str| {
        if arg.is_some_and(|a| a.eq_ignore_ascii_case(b"LEFT")) {
            left
        } else {
            right
        }
    };
    match spec.name {
        "set" => {
            let set = if has_flag(argv, &[b"GET"]) {
                let nx = has_flag(argv, &[b"NX"]);
                let xx = has_flag(argv, &[b"XX"]);
                (!nx || !before[0]) && (!xx || before[0])
            } else {
                reply == Reply::ok()
            };
            if set {
                db.notify(STRING, "set", key(0));
                if has_flag(argv, &[b"EX", b"PX", b"EXAT", b"PXAT"]) {
                    db.notify(GENERIC, "expire", key(0));
                }
            }
        }
        "setex" | "psetex" => {
            db.notify(STRING, "set", key(0));
            db.notify(GENERIC, "expire", key(0));
        }
        "setnx" | "getset" | "mset" | "msetnx" => {
            if changed || spec.name == "getset" || spec.name == "mset" {
                for n in 0..keys.len() {
                    db.notify(STRING, "set", key(n));
                }
            }
        }
        "append" => db.notify(STRING, "append", key(0)),
        "setrange" => {
            if after[0] {
                db.notify(STRING, "setrange", key(0));
            }
        }
        "incr" | "decr" | "incrby" | "decrby" => db.notify(STRING, "incrby", key(0)),
        "incrbyfloat" => db.notify(STRING, "incrbyfloat", key(0)),
        "getdel" => {
            if changed {
                db.notify(GENERIC, "del", key(0));
                own_del = true;
            }
        }
        "getex" => {
            if before[0] {
                if has_flag(argv, &[b"PERSIST"]) {
                    db.notify(GENERIC, "persist", key(0));
                } else if has_flag(argv, &[b"EX", b"PX", b"EXAT", b"PXAT"]) {
                    let event = if after[0] { "expire" } else { "del" };
                    own_del = !after[0];
                    db.notify(GENERIC, event, key(0));
                }
            }
        }
        "del" | "unlink" => {
            for n in 0..keys.len() {
                if before[n] && !after[n] {
                    db.notify(GENERIC, "del", key(n));
                }
            }
            own_del = true;
        }
        "expire" | "pexpire" | "expireat" | "pexpireat" => {
            if changed {
                let event = if after[0] { "expire" } else { "del" };
                own_del = !after[0];
                db.notify(GENERIC, event, key(0));
            }
        }
        "persist" => {
            if changed {
                db.notify(GENERIC, "persist", key(0));
            }
        }
        "rename" | "renamenx" => {
            if changed {
                db.notify(GENERIC, "rename_from", key(0));
                db.notify(GENERIC, "rename_to", key(1));
                own_del = true;
            }
        }
        "copy" => {
            if changed {
                db.notify(GENERIC, "copy_to", key(1));
            }
        }
        "restore" | "restore-asking" => db.notify(GENERIC, "restore", key(0)),
        "hset" | "hmset" | "hsetnx" => {
            if changed || spec.name != "hsetnx" {
                db.notify(HASH, "hset", key(0));
            }
        }
        "hdel" => {
            if changed {
                db.notify(HASH, "hdel", key(0));
            }
        }
        "hincrby" | "hincrbyfloat" => db.notify(HASH, spec.name, key(0)),
        "lpush" | "lpushx" => {
            if after[0] && changed {
                db.notify(LIST, "lpush", key(0));
            }
        }
        "rpush" | "rpushx" => {
            if after[0] && changed {
                db.notify(LIST, "rpush", key(0));
            }
        }
        "lpop" | "rpop" | "linsert" | "lrem" => {
            if changed {
                db.notify(LIST, spec.name, key(0));
            }
        }
        "lset" | "ltrim" => db.notify(LIST, spec.name, key(0)),
        "lmove" | "rpoplpush" => {
            if changed {
                let (from, to) = if spec.name == "rpoplpush" {
                    ("rpop", "lpush")
                } else {
                    (
                        side(argv.get(3), "lpop", "rpop"),
                        side(argv.get(4), "lpush", "rpush"),
                    )
                };
                // Redis pushes (and tells) first, then tells of the pop.
                db.notify(LIST, to, key(1));
                db.notify(LIST, from, key(0));
            }
        }
        "lmpop" => {
            if let Reply::Array(items) = &reply {
                if let Some(Reply::Bulk(popped)) = items.first() {
                    let count = parse_int(&argv[1]).unwrap_or(0).max(0) as usize;
                    let event = side(argv.get(count + 2), "lpop", "rpop");
                    db.notify(LIST, event, popped);
                }
            }
        }
        "zmpop" => {
            if let Reply::Array(items) = &reply {
                if let Some(Reply::Bulk(popped)) = items.first() {
                    let count = parse_int(&argv[1]).unwrap_or(0).max(0) as usize;
                    let max = argv
                        .get(count + 2)
                        .is_some_and(|a| a.eq_ignore_ascii_case(b"MAX"));
                    db.notify(ZSET, if max { "zpopmax" } else { "zpopmin" }, popped);
                }
            }
        }
        "sadd" | "srem" | "spop" => {
            if changed {
                db.notify(SET, spec.name, key(0));
            }
        }
        "smove" => {
            if changed {
                db.notify(SET, "srem", key(0));
                if !member_was_there {
                    db.notify(SET, "sadd", key(1));
                }
            }
        }
        "sinterstore" | "sunionstore" | "sdiffstore" | "zunionstore" | "zinterstore"
        | "zdiffstore" | "zrangestore" => {
            let class = if spec.name.starts_with('z') {
                ZSET
            } else {
                SET
            };
            if after[0] {
                db.notify(class, spec.name, key(0));
            } else if before[0] {
                db.notify(GENERIC, "del", key(0));
            }
            own_del = true;
        }
        "zadd" => {
            if scores_changed {
                let event = if has_flag(argv, &[b"INCR"]) {
                    "zincr"
                } else {
                    "zadd"
                };
                db.notify(ZSET, event, key(0));
            }
        }
        "geoadd" => {
            if scores_changed {
                db.notify(ZSET, "zadd", key(0));
            }
        }
        "georadius" | "georadiusbymember" | "geosearchstore" => {
            // The destination: GEOSEARCHSTORE's first key, the others'
            // STORE key (their second, when there is one).
            let (at, event) = if spec.name == "geosearchstore" {
                (0, "geosearchstore")
            } else {
                (1, "georadiusstore")
            };
            if at < keys.len() {
                if after[at] {
                    db.notify(ZSET, event, key(at));
                } else if before[at] {
                    db.notify(GENERIC, "del", key(at));
                }
                own_del = true;
            }
        }
        "zincrby" => db.notify(ZSET, "zincr", key(0)),
        "zrem" | "zpopmin" | "zpopmax" => {
            if changed {
                db.notify(ZSET, spec.name, key(0));
            }
        }
        "zremrangebyscore" | "zremrangebyrank" | "zremrangebylex" => {
            if changed {
                let event = match spec.name {
                    "zremrangebyscore" => "zrembyscore",
                    "zremrangebyrank" => "zrembyrank",
                    _ => "zrembylex",
                };
                db.notify(ZSET, event, key(0));
            }
        }
        "setbit" | "bitfield" => {
            if after[0] {
                db.notify(STRING, "setbit", key(0));
            }
        }
        "bitop" => {
            if after[0] {
                db.notify(STRING, "set", key(0));
            } else if before[0] {
                db.notify(GENERIC, "del", key(0));
            }
            own_del = true;
        }
        "pfadd" | "pfmerge" => {
            if changed || spec.name == "pfmerge" {
                db.notify(STRING, "pfadd", key(0));
            }
        }
        _ => {}
    }
    if !own_del {
        for (n, &i) in keys.iter().enumerate() {
            if before[n] && !after[n] {
                db.notify(GENERIC, "del", &argv[i]);
            }
        }
    }
    reply
}

/// Events of a command that ran across cores through its coordinator,
/// from its reply alone (recorded on the connection's core).
pub fn coordinated_events(db: &mut Db, spec: &CommandSpec, argv: &[Arg<'_>], reply: &Reply) {
    if db.config.notify_flags == 0 || !is_change(reply) {
        return;
    }
    match spec.name {
        "rename" | "renamenx" => {
            db.notify(GENERIC, "rename_from", &argv[1]);
            db.notify(GENERIC, "rename_to", &argv[2]);
        }
        "copy" => db.notify(GENERIC, "copy_to", &argv[2]),
        "sinterstore" | "sunionstore" | "sdiffstore" => db.notify(SET, spec.name, &argv[1]),
        "zunionstore" | "zinterstore" | "zdiffstore" | "zrangestore" => {
            db.notify(ZSET, spec.name, &argv[1])
        }
        "geosearchstore" => db.notify(ZSET, "geosearchstore", &argv[1]),
        "georadius" | "georadiusbymember" => {
            let options = if spec.name == "georadius" { 6 } else { 5 };
            if let Some(at) = super::geo::store_key_position(argv, options) {
                db.notify(ZSET, "georadiusstore", &argv[at]);
            }
        }
        "bitop" => db.notify(STRING, "set", &argv[2]),
        "pfmerge" => db.notify(STRING, "pfadd", &argv[1]),
        "sort" => {
            let store = argv
                .iter()
                .rposition(|a| a.eq_ignore_ascii_case(b"STORE"))
                .and_then(|at| argv.get(at + 1));
            if let Some(destination) = store {
                db.notify(LIST, "sortstore", destination);
            }
        }
        _ => {}
    }
}
