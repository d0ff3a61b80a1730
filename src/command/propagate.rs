//! What a write sends to replicas: the command as Redis 7.0 propagates
//! it, into this core's [`Feed`] (the shard runtime hands the feed to the
//! replication hub once per turn).
//!
//! Most writes go as the client sent them. Those whose effect depends on
//! the moment or on chance go as their effect, as Redis rewrites them:
//! relative expiries become PXAT / PEXPIREAT with the time the key got,
//! INCRBYFLOAT becomes SET ... KEEPTTL, SPOP becomes SREM, XADD's `*`
//! becomes the id it made and its `~` trim an exact one, RESTORE's TTL
//! becomes ABSTTL. Keys that expire go as DEL, before the command that
//! found them expired.

use super::{CommandSpec, Db};
use crate::keyspace::stream::StreamId;
use crate::protocol::{args_of, Arg, Reply};
use bytes::Bytes;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::Waker;

/// A Redis command as RESP: an array of bulks.
pub fn encode_command<A: AsRef<[u8]>>(argv: &[A], out: &mut Vec<u8>) {
    out.push(b'*');
    out.extend_from_slice(argv.len().to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
    for arg in argv {
        let arg = arg.as_ref();
        out.push(b'$');
        out.extend_from_slice(arg.len().to_string().as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

/// One core's writes on their way to the replication hub.
#[derive(Default)]
pub struct Feed {
    /// The replication switch (set once a replica attached).
    on: Option<Arc<AtomicBool>>,
    buf: Vec<u8>,
    records: usize,
    /// The task that hands the feed over, when it waits for records.
    waker: Option<Waker>,
}

/// Where a group of records began (`Feed::mark`), to wrap it in
/// MULTI/EXEC.
#[derive(Clone, Copy)]
pub struct Mark {
    at: usize,
    records: usize,
}

impl Feed {
    pub fn connect(&mut self, on: Arc<AtomicBool>) {
        self.on = Some(on);
    }

    #[inline]
    pub fn is_on(&self) -> bool {
        self.on
            .as_ref()
            .is_some_and(|on| on.load(Ordering::Relaxed))
    }

    pub fn push<A: AsRef<[u8]>>(&mut self, argv: &[A]) {
        encode_command(argv, &mut self.buf);
        self.records += 1;
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
    }

    /// The records so far, for the hub.
    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub fn wait(&mut self, waker: &Waker) {
        self.waker = Some(waker.clone());
    }

    pub fn mark(&self) -> Mark {
        Mark {
            at: self.buf.len(),
            records: self.records,
        }
    }

    /// Wraps the records since `mark` in MULTI/EXEC when there are more
    /// than one (a transaction's or a script's writes), as Redis does.
    /// The records must still be in the buffer (no turn ended between).
    pub fn wrap_since(&mut self, mark: Mark) {
        if self.records < mark.records + 2 || mark.at > self.buf.len() {
            return;
        }
        let mut multi = Vec::new();
        encode_command(&["MULTI"], &mut multi);
        self.buf.splice(mark.at..mark.at, multi);
        self.push(&["EXEC"]);
    }
}

/// What a rule needs from before the command ran.
pub struct Before {
    /// SET ... GET: whether its key existed (to know whether it set).
    existed: bool,
}

impl Before {
    pub fn capture(db: &mut Db, spec: &CommandSpec, argv: &[Arg<'_>]) -> Self {
        let existed = spec.name == "set" && has_flag(argv, &[b"GET"]) && {
            let (slot, now) = (db.slot(&argv[1]), db.now_ms);
            db.keyspace.contains(slot, &argv[1], now)
        };
        Before { existed }
    }
}

fn has_flag(argv: &[Arg<'_>], flags: &[&[u8]]) -> bool {
    argv.iter()
        .skip(3)
        .any(|arg| flags.iter().any(|f| arg.eq_ignore_ascii_case(f)))
}

fn bulk_bytes(reply: &Reply) -> Option<Bytes> {
    match reply {
        Reply::Bulk(bytes) => Some(bytes.clone()),
        Reply::ShortBulk { len, bytes } => Some(Bytes::copy_from_slice(&bytes[..*len as usize])),
        Reply::Simple(text) => Some(Bytes::copy_from_slice(text.as_bytes())),
        _ => None,
    }
}

fn int_bytes(n: impl std::fmt::Display) -> Bytes {
    Bytes::from(n.to_string())
}

/// The key's expiry after the command (0: none), or None when it is gone.
fn expiry_of(db: &mut Db, key: &[u8]) -> Option<u64> {
    let (slot, now) = (db.slot(key), db.now_ms);
    db.keyspace.peek(slot, key, now).map(|e| e.expire_at_ms())
}

impl Db {
    /// Keys expired since the last call go to replicas as DEL.
    pub fn propagate_expired(&mut self) {
        if let Some(log) = self.keyspace.repl_expired.as_mut() {
            if log.is_empty() {
                return;
            }
            for key in std::mem::take(log) {
                self.feed.push(&[&b"DEL"[..], &key]);
            }
        }
    }

    /// Keeps (or stops keeping) the log of expired keys replicas need.
    pub fn sync_feed(&mut self) {
        let on = self.feed.is_on();
        if on != self.keyspace.repl_expired.is_some() {
            self.keyspace.repl_expired = on.then(Vec::new);
        }
    }
}

/// Records what `argv` (which ran and answered `reply`) sends to replicas.
pub fn command(db: &mut Db, spec: &CommandSpec, argv: &[Arg<'_>], reply: &Reply, before: Before) {
    if reply.is_error() {
        return;
    }
    let key = || Bytes::copy_from_slice(&argv[1]);
    let name = spec.name;
    match name {
        "set" => {
            let get = has_flag(argv, &[b"GET"]);
            let set = if get {
                let nx = has_flag(argv, &[b"NX"]);
                let xx = has_flag(argv, &[b"XX"]);
                (!nx || !before.existed) && (!xx || before.existed)
            } else {
                *reply == Reply::ok()
            };
            if !set {
                return;
            }
            if has_flag(argv, &[b"EX", b"PX", b"EXAT", b"PXAT"]) {
                set_with_expiry(db, &argv[1], &argv[2]);
            } else if get {
                let kept: Vec<&[u8]> = argv
                    .iter()
                    .enumerate()
                    .filter(|(i, a)| *i < 3 || !a.eq_ignore_ascii_case(b"GET"))
                    .map(|(_, a)| a.as_bytes())
                    .collect();
                db.feed.push(&kept);
            } else {
                push_as_is(db, argv);
            }
        }
        "setex" | "psetex" => set_with_expiry(db, &argv[1], &argv[3]),
        "getset" => db.feed.push(&[&b"SET"[..], &argv[1], &argv[2]]),
        "getex" => {
            if matches!(reply, Reply::Nil) {
                return;
            }
            if argv
                .iter()
                .skip(2)
                .any(|a| a.eq_ignore_ascii_case(b"PERSIST"))
            {
                db.feed.push(&[&b"PERSIST"[..], &argv[1]]);
            } else if argv.len() > 2 {
                expiry_effect(db, &argv[1]);
            }
        }
        "expire" | "pexpire" | "expireat" | "pexpireat" => {
            if *reply == Reply::Int(1) {
                expiry_effect(db, &argv[1]);
            }
        }
        "incrbyfloat" => {
            if let Some(value) = bulk_bytes(reply) {
                db.feed.push(&[&b"SET"[..], &argv[1], &value, b"KEEPTTL"]);
            }
        }
        "hincrbyfloat" => {
            if let Some(value) = bulk_bytes(reply) {
                db.feed.push(&[&b"HSET"[..], &argv[1], &argv[2], &value]);
            }
        }
        "spop" => match reply {
            Reply::Array(members) | Reply::Set(members) => {
                if members.is_empty() {
                } else if expiry_of(db, &argv[1]).is_none() {
                    db.feed.push(&[&b"DEL"[..], &argv[1]]);
                } else {
                    let mut srem = vec![Bytes::from_static(b"SREM"), key()];
                    srem.extend(members.iter().filter_map(bulk_bytes));
                    db.feed.push(&srem);
                }
            }
            other => {
                if let Some(member) = bulk_bytes(other) {
                    db.feed.push(&[&b"SREM"[..], &argv[1], &member]);
                }
            }
        },
        "xadd" => {
            if let Some(id) = bulk_bytes(reply) {
                xadd(db, argv, id);
            }
        }
        "xtrim" => {
            let mut out: Vec<Bytes> = argv.iter().map(|a| a.to_bytes()).collect();
            exact_trim(db, &mut out, 2);
            db.feed.push(&out);
        }
        // Their effects went out as they happened (`group_records`).
        "xreadgroup" | "xclaim" | "xautoclaim" => {}
        "restore" | "restore-asking" => restore(db, argv),
        _ => push_as_is(db, argv),
    }
}

/// A consumer group change as Redis sends it to replicas (XREADGROUP,
/// XCLAIM and XAUTOCLAIM are never propagated as themselves: their
/// effects are, with the delivery times the master gave).
pub enum GroupRecord {
    /// `XCLAIM key group consumer 0 id TIME t RETRYCOUNT n FORCE JUSTID
    /// LASTID last` (streamPropagateXCLAIM).
    Claim {
        id: StreamId,
        consumer: Bytes,
        time: i64,
        count: u64,
        last_id: StreamId,
    },
    /// `XGROUP SETID key group last ENTRIESREAD n` (streamPropagateGroupID).
    SetId {
        last_id: StreamId,
        entries_read: i64,
    },
    /// `XGROUP CREATECONSUMER key group consumer`.
    CreateConsumer(Bytes),
}

/// Sends a group's changes on `key` to replicas, in order.
pub fn group_records(db: &mut Db, key: &[u8], group: &[u8], records: Vec<GroupRecord>) {
    if records.is_empty() {
        return;
    }
    db.sync_feed();
    db.propagate_expired();
    for record in records {
        match record {
            GroupRecord::Claim {
                id,
                consumer,
                time,
                count,
                last_id,
            } => db.feed.push(&[
                &b"XCLAIM"[..],
                key,
                group,
                &consumer,
                b"0",
                &id.to_bytes(),
                b"TIME",
                &int_bytes(time),
                b"RETRYCOUNT",
                &int_bytes(count),
                b"FORCE",
                b"JUSTID",
                b"LASTID",
                &last_id.to_bytes(),
            ]),
            GroupRecord::SetId {
                last_id,
                entries_read,
            } => db.feed.push(&[
                &b"XGROUP"[..],
                b"SETID",
                key,
                group,
                &last_id.to_bytes(),
                b"ENTRIESREAD",
                &int_bytes(entries_read),
            ]),
            GroupRecord::CreateConsumer(consumer) => {
                db.feed
                    .push(&[&b"XGROUP"[..], b"CREATECONSUMER", key, group, &consumer])
            }
        }
    }
}

fn push_as_is(db: &mut Db, argv: &[Arg<'_>]) {
    db.feed.push(argv);
}

/// `SET key value PXAT <the key's expiry>`, as Redis propagates a SET
/// with an expiry.
fn set_with_expiry(db: &mut Db, key: &[u8], value: &[u8]) {
    match expiry_of(db, key) {
        Some(at) if at != 0 => db.feed.push(&[b"SET", key, value, b"PXAT", &int_bytes(at)]),
        Some(_) => db.feed.push(&[b"SET", key, value]),
        None => db.feed.push(&[&b"DEL"[..], key]),
    }
}

/// An expiry change as its effect: PEXPIREAT with the time the key got,
/// DEL when the time had passed, PERSIST when it has none.
fn expiry_effect(db: &mut Db, key: &[u8]) {
    match expiry_of(db, key) {
        Some(0) => db.feed.push(&[&b"PERSIST"[..], key]),
        Some(at) => db.feed.push(&[b"PEXPIREAT", key, &int_bytes(at)]),
        None => db.feed.push(&[&b"DEL"[..], key]),
    }
}

/// XADD with the id it made, and an approximate trim made exact.
fn xadd(db: &mut Db, argv: &[Arg<'_>], id: Bytes) {
    let mut out: Vec<Bytes> = argv.iter().map(|a| a.to_bytes()).collect();
    // The id follows the options: NOMKSTREAM, MAXLEN/MINID [=|~] n, LIMIT n.
    let mut i = 2;
    let mut trim_at = None;
    while i < out.len() {
        let arg = &out[i];
        if arg.eq_ignore_ascii_case(b"NOMKSTREAM") {
            i += 1;
        } else if arg.eq_ignore_ascii_case(b"MAXLEN") || arg.eq_ignore_ascii_case(b"MINID") {
            trim_at = Some(i);
            i += 2;
            if out
                .get(i - 1)
                .is_some_and(|a| &a[..] == b"~" || &a[..] == b"=")
            {
                i += 1;
            }
        } else if arg.eq_ignore_ascii_case(b"LIMIT") {
            i += 2;
        } else {
            break;
        }
    }
    if i < out.len() {
        out[i] = id;
    }
    if let Some(at) = trim_at {
        exact_trim(db, &mut out, at);
    }
    db.feed.push(&out);
}

/// Turns `MAXLEN|MINID ~ n [LIMIT m]` at `at` into `MAXLEN = <length>` or
/// `MINID = <first id>`, what the trim left (Redis's
/// streamRewriteTrimArgument): a replica's nodes may differ.
fn exact_trim(db: &mut Db, out: &mut Vec<Bytes>, at: usize) {
    if out.get(at + 1).is_none_or(|a| &a[..] != b"~") {
        return;
    }
    let key = out[1].clone();
    let maxlen = out[at].eq_ignore_ascii_case(b"MAXLEN");
    let value = if maxlen {
        match super::streams::xlen(db, &args_of(&[Bytes::from_static(b"XLEN"), key])) {
            Reply::Int(n) => Bytes::from(n.to_string()),
            _ => return,
        }
    } else {
        let range = [
            Bytes::from_static(b"XRANGE"),
            key,
            Bytes::from_static(b"-"),
            Bytes::from_static(b"+"),
            Bytes::from_static(b"COUNT"),
            Bytes::from_static(b"1"),
        ];
        match first_id(&super::streams::xrange(db, &args_of(&range))) {
            Some(id) => id,
            None => Bytes::from_static(b"0-0"),
        }
    };
    out[at + 1] = Bytes::from_static(b"=");
    out[at + 2] = value;
    if let Some(limit) = out
        .iter()
        .skip(at + 3)
        .position(|a| a.eq_ignore_ascii_case(b"LIMIT"))
    {
        let limit = at + 3 + limit;
        out.drain(limit..(limit + 2).min(out.len()));
    }
}

/// The first entry's id in an XRANGE reply.
fn first_id(reply: &Reply) -> Option<Bytes> {
    match reply {
        Reply::Array(entries) => match entries.first()? {
            Reply::Array(entry) => bulk_bytes(entry.first()?),
            _ => None,
        },
        Reply::Encoded(bytes) => {
            // *1\r\n*2\r\n$<n>\r\n<id>\r\n...
            let text = &bytes[..];
            let dollar = text.iter().position(|&b| b == b'$')?;
            let line_end = dollar + text[dollar..].iter().position(|&b| b == b'\r')?;
            let len: usize = std::str::from_utf8(&text[dollar + 1..line_end])
                .ok()?
                .parse()
                .ok()?;
            text.get(line_end + 2..line_end + 2 + len)
                .map(Bytes::copy_from_slice)
        }
        _ => None,
    }
}

/// RESTORE with a relative TTL goes with the absolute time and ABSTTL.
fn restore(db: &mut Db, argv: &[Arg<'_>]) {
    let absttl = argv
        .iter()
        .skip(4)
        .any(|a| a.eq_ignore_ascii_case(b"ABSTTL"));
    let mut out: Vec<Bytes> = argv.iter().map(|a| a.to_bytes()).collect();
    if !absttl && &argv[2][..] != b"0" {
        if let Some(at) = expiry_of(db, &argv[1]).filter(|&at| at != 0) {
            out[2] = int_bytes(at);
            out.push(Bytes::from_static(b"ABSTTL"));
        }
    }
    db.feed.push(&out);
}
