//! Blocking commands: BLPOP, BRPOP, BLMOVE, BLMPOP, BRPOPLPUSH, BZPOPMIN,
//! BZPOPMAX, BZMPOP, and CLIENT UNBLOCK.
//!
//! A command first tries to pop at once, as its non-blocking form would.
//! If every key is empty it blocks: a `Waiter` is registered on the core of
//! each of its keys (in one op per core that also serves it at once if a key
//! there got data in the meantime, so no push is missed). A write on a key
//! with waiters serves them there and then, in the order they blocked
//! (FIFO), on the core that owns the key: the waiter is claimed (one atomic
//! flag, so a client blocked on keys of two cores is served once), the
//! element popped and the reply sent to the client's core. A timeout, CLIENT
//! UNBLOCK or the client closing claims the waiter the same way; when the
//! claim is lost, the reply already sent is the answer, so nothing popped
//! is ever dropped on the floor.

use super::conn::Conn;
use super::mesh::Op;
use super::Core;
use crate::cluster::{core_of_slot, key_hash_slot};
use crate::command::{lists, zsets, Coord};
use crate::protocol::Reply;
use crate::protocol::{args_of, to_owned_args, Arg};
use bytes::Bytes;
use hashbrown::HashMap;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How often a blocked client's socket is checked for having closed.
const CLOSED_CHECK_PERIOD: Duration = Duration::from_millis(100);

/// What a blocked client waits to do once a key has data.
#[derive(Clone, Debug)]
pub enum BlockKind {
    /// BLPOP / BRPOP: one element; the reply is [key, element].
    Pop { left: bool },
    /// BLMPOP: up to `count` elements; the reply is [key, [elements]].
    Mpop { left: bool, count: usize },
    /// BLMOVE / BRPOPLPUSH: the element moves to `destination`.
    Move {
        from_left: bool,
        to_left: bool,
        destination: Bytes,
    },
    /// BZPOPMIN / BZPOPMAX (`count` None: [key, member, score]) and BZMPOP
    /// ([key, [[member, score]...]]).
    Zpop { max: bool, count: Option<usize> },
    /// XREAD / XREADGROUP: entries after an id, or new to a group. Unlike
    /// pops, every reader the new entries concern is served, not only the
    /// first in line.
    Stream(Arc<crate::command::streams::StreamWait>),
}

/// The answer for a blocked client. `retry`: a BLMOVE whose destination
/// is on another core was woken without popping; it moves the element
/// itself under both keys' locks (`lmove_cross`), so no client ever sees
/// the element in neither list, and blocks again if someone was faster.
pub struct Served {
    pub reply: Reply,
    pub retry: bool,
}

pub struct Waiter {
    pub client: u64,
    pub kind: BlockKind,
    claimed: AtomicBool,
    sender: flume::Sender<Served>,
}

impl Waiter {
    /// Takes the right to answer this client; false if someone else has.
    pub fn claim(&self) -> bool {
        self.claimed
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    fn is_claimed(&self) -> bool {
        self.claimed.load(Ordering::Acquire)
    }

    /// Answers the client (after a successful claim).
    pub fn answer(&self, served: Served) {
        let _ = self.sender.try_send(served);
    }
}

/// One core's blocked clients, per key, in the order they blocked.
#[derive(Default)]
pub struct Blocked {
    keys: HashMap<Bytes, VecDeque<Arc<Waiter>>>,
    /// While transactions run here (`deferring` of them), written keys wait
    /// here: blocked clients are served after EXEC, as Redis does.
    deferred: Vec<Bytes>,
    deferring: usize,
}

impl Blocked {
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    fn add(&mut self, key: Bytes, waiter: Arc<Waiter>) {
        self.keys.entry(key).or_default().push_back(waiter);
    }

    fn remove(&mut self, client: u64, keys: &[Bytes]) {
        for key in keys {
            if let Some(list) = self.keys.get_mut(key) {
                list.retain(|w| w.client != client);
                if list.is_empty() {
                    self.keys.remove(key);
                }
            }
        }
    }

    fn front(&mut self, key: &[u8]) -> Option<Arc<Waiter>> {
        let list = self.keys.get_mut(key)?;
        while list.front().is_some_and(|w| w.is_claimed()) {
            list.pop_front();
        }
        let front = list.front().cloned();
        if front.is_none() {
            self.keys.remove(key);
        }
        front
    }

    fn pop_front(&mut self, key: &[u8]) {
        if let Some(list) = self.keys.get_mut(key) {
            list.pop_front();
            if list.is_empty() {
                self.keys.remove(key);
            }
        }
    }
}

impl Core {
    /// True when `key` here holds what the waiter pops, with elements.
    fn ready_for(&self, key: &[u8], kind: &BlockKind) -> bool {
        let mut db = self.db.borrow_mut();
        let length = match kind {
            BlockKind::Stream(wait) => {
                return crate::command::streams::blocked_ready(&mut db, key, wait)
            }
            BlockKind::Zpop { .. } => zsets::zcard(
                &mut db,
                &args_of(&[Bytes::from_static(b"zcard"), Bytes::copy_from_slice(key)]),
            ),
            _ => lists::llen(
                &mut db,
                &args_of(&[Bytes::from_static(b"llen"), Bytes::copy_from_slice(key)]),
            ),
        };
        matches!(length, Reply::Int(n) if n > 0)
    }

    /// Pops for `waiter` from `key` (which has data) and answers it; false
    /// when it only woke a BLMOVE to another core's list (see `Served`),
    /// which leaves the element where it is for that client to move.
    fn serve(&self, key: &Bytes, waiter: &Waiter) -> bool {
        if let BlockKind::Move { destination, .. } = &waiter.kind {
            if core_of_slot(key_hash_slot(destination), self.cores()) != self.id {
                waiter.answer(Served {
                    reply: Reply::Nil,
                    retry: true,
                });
                return false;
            }
        }
        let mut db = self.db.borrow_mut();
        let key_arg = key.clone();
        let side = |left: bool| Bytes::from_static(if left { b"LEFT" } else { b"RIGHT" });
        let served = match &waiter.kind {
            BlockKind::Stream(wait) => {
                // Its effects went to replicas as it delivered.
                let reply = crate::command::streams::serve_blocked(&mut db, key, wait);
                drop(db);
                self.publish_events();
                waiter.answer(Served {
                    reply,
                    retry: false,
                });
                // Redis signals no modified key for a read, even a group's:
                // watchers are not touched.
                return true;
            }
            BlockKind::Pop { left } => {
                let argv = [
                    Bytes::from_static(if *left { b"LPOP" } else { b"RPOP" }),
                    key_arg.clone(),
                ];
                let reply = if *left {
                    lists::lpop(&mut db, &args_of(&argv))
                } else {
                    lists::rpop(&mut db, &args_of(&argv))
                };
                propagate_served(&mut db, &argv, &reply);
                Served {
                    reply: Reply::Array(vec![Reply::Bulk(key_arg), reply]),
                    retry: false,
                }
            }
            BlockKind::Mpop { left, count } => {
                let argv = [
                    Bytes::from_static(b"lmpop"),
                    Bytes::from_static(b"1"),
                    key_arg,
                    side(*left),
                    Bytes::from_static(b"COUNT"),
                    Bytes::from(count.to_string()),
                ];
                let reply = lists::lmpop(&mut db, &args_of(&argv));
                propagate_served(&mut db, &argv, &reply);
                Served {
                    reply,
                    retry: false,
                }
            }
            BlockKind::Zpop { max, count } => {
                let mut zpop = vec![
                    Bytes::from_static(if *max { b"ZPOPMAX" } else { b"ZPOPMIN" }),
                    key.clone(),
                ];
                if let Some(count) = count {
                    zpop.push(Bytes::from(count.to_string()));
                }
                let reply = match zsets::pop(&mut db, key, *max, count.unwrap_or(1)) {
                    Ok(Some(entries)) => match count {
                        Some(_) => zsets::mpop_reply(key, entries),
                        None => match entries.into_iter().next() {
                            Some((member, score)) => Reply::Array(vec![
                                Reply::Bulk(key.clone()),
                                Reply::Bulk(member),
                                Reply::Double(score),
                            ]),
                            None => Reply::NilArray,
                        },
                    },
                    Ok(None) => Reply::NilArray,
                    Err(reply) => reply,
                };
                propagate_served(&mut db, &zpop, &reply);
                Served {
                    reply,
                    retry: false,
                }
            }
            BlockKind::Move {
                from_left,
                to_left,
                destination,
            } => {
                let argv = [
                    Bytes::from_static(b"lmove"),
                    key_arg,
                    destination.clone(),
                    side(*from_left),
                    side(*to_left),
                ];
                let reply = lists::lmove(&mut db, &args_of(&argv));
                propagate_served(&mut db, &argv, &reply);
                Served {
                    reply,
                    retry: false,
                }
            }
        };
        // Keyspace events, as Redis raises them when it serves a blocked
        // client: the pop (after the push, for a move on this core), then
        // `del` when the key emptied.
        if db.config.notify_flags != 0 {
            use crate::config::notify::{GENERIC, LIST, ZSET};
            let pop = |left: bool| if left { "lpop" } else { "rpop" };
            match &waiter.kind {
                BlockKind::Pop { left } | BlockKind::Mpop { left, .. } => {
                    db.notify(LIST, pop(*left), key)
                }
                BlockKind::Move {
                    from_left,
                    to_left,
                    destination,
                } => {
                    let push = if *to_left { "lpush" } else { "rpush" };
                    db.notify(LIST, push, destination);
                    db.notify(LIST, pop(*from_left), key);
                }
                BlockKind::Zpop { max, .. } => {
                    db.notify(ZSET, if *max { "zpopmax" } else { "zpopmin" }, key)
                }
                BlockKind::Stream(_) => {}
            }
            let (slot, now) = (db.slot(key), db.now_ms);
            if !db.keyspace.contains(slot, key, now) {
                db.notify(GENERIC, "del", key);
            }
        }
        drop(db);
        self.publish_events();
        waiter.answer(served);
        // The pop wrote the key: clients watching it see EXEC fail.
        self.watches.borrow().touch(key);
        // A move on this core wrote its destination too: its watchers see
        // EXEC fail, and clients blocked on it are served (as Redis's
        // signalKeyAsReady when the push creates the list).
        if let BlockKind::Move { destination, .. } = &waiter.kind {
            self.watches.borrow().touch(destination);
            self.serve_blocked(destination);
        }
        true
    }

    /// Holds serving blocked clients until `resume_serving` (EXEC).
    pub fn defer_serving(&self) {
        self.blocked.borrow_mut().deferring += 1;
    }

    pub fn resume_serving(&self) {
        let keys = {
            let mut blocked = self.blocked.borrow_mut();
            blocked.deferring = blocked.deferring.saturating_sub(1);
            if blocked.deferring > 0 {
                return;
            }
            std::mem::take(&mut blocked.deferred)
        };
        for key in keys {
            self.serve_blocked(&key);
        }
    }

    /// Serves the clients blocked on `key`, first come first served, while
    /// it has data.
    pub fn serve_blocked(&self, key: &[u8]) {
        {
            let mut blocked = self.blocked.borrow_mut();
            if blocked.deferring > 0 {
                if !blocked.deferred.iter().any(|k| k == key) {
                    blocked.deferred.push(Bytes::copy_from_slice(key));
                }
                return;
            }
        }
        self.serve_stream_readers(key);
        loop {
            let Some(waiter) = self.blocked.borrow_mut().front(key) else {
                return;
            };
            if matches!(waiter.kind, BlockKind::Stream(_)) {
                // Served above, or not ready.
                return;
            }
            if !self.ready_for(key, &waiter.kind) {
                return;
            }
            self.blocked.borrow_mut().pop_front(key);
            // A woken cross-core BLMOVE has the element: the clients behind
            // it are served when it has moved it (its pop serves them).
            if waiter.claim() && !self.serve(&Bytes::copy_from_slice(key), &waiter) {
                return;
            }
        }
    }

    /// Serves the stream readers of every key (after FLUSHALL, which
    /// deletes keys without naming them).
    pub fn serve_stream_readers_everywhere(&self) {
        let keys: Vec<Bytes> = self
            .blocked
            .borrow()
            .keys
            .iter()
            .filter(|(_, list)| list.iter().any(|w| matches!(w.kind, BlockKind::Stream(_))))
            .map(|(key, _)| key.clone())
            .collect();
        for key in keys {
            self.serve_blocked(&key);
        }
    }

    /// Serves every stream reader blocked on `key` that now has something
    /// to read, in the order they blocked.
    fn serve_stream_readers(&self, key: &[u8]) {
        let readers: Vec<Arc<Waiter>> = match self.blocked.borrow().keys.get(key) {
            Some(list) => list
                .iter()
                .filter(|w| matches!(w.kind, BlockKind::Stream(_)) && !w.is_claimed())
                .cloned()
                .collect(),
            None => return,
        };
        for reader in readers {
            if self.ready_for(key, &reader.kind) && reader.claim() {
                if let Some(list) = self.blocked.borrow_mut().keys.get_mut(key) {
                    list.retain(|w| !Arc::ptr_eq(w, &reader));
                }
                self.serve(&Bytes::copy_from_slice(key), &reader);
            }
        }
        let mut blocked = self.blocked.borrow_mut();
        if blocked.keys.get(key).is_some_and(|list| list.is_empty()) {
            blocked.keys.remove(key);
        }
    }

    /// Registers a waiter on its keys of this core, or serves it at once if
    /// one of them has data: `Int(1)` when served.
    pub fn block(&self, keys: Vec<Bytes>, waiter: Arc<Waiter>) -> Reply {
        if let BlockKind::Stream(wait) = &waiter.kind {
            if wait.unstarted() {
                let answer = {
                    let mut db = self.db.borrow_mut();
                    db.refresh_clock();
                    crate::command::streams::start_blocked_read(&mut db, wait)
                };
                self.publish_events();
                if let Some(reply) = answer {
                    if waiter.claim() {
                        waiter.answer(Served {
                            reply,
                            retry: false,
                        });
                    }
                    return Reply::Int(1);
                }
            }
        }
        for key in &keys {
            if self.ready_for(key, &waiter.kind) {
                if waiter.claim() {
                    self.serve(key, &waiter);
                }
                return Reply::Int(1);
            }
        }
        let mut blocked = self.blocked.borrow_mut();
        for key in keys {
            blocked.add(key, waiter.clone());
        }
        Reply::Int(0)
    }

    pub fn unblock(&self, client: u64, keys: &[Bytes]) {
        self.blocked.borrow_mut().remove(client, keys);
    }
}

/// WAIT on a replica (Redis's waitCommand).
const WAIT_ON_REPLICA: &str = "ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.";

impl Conn {
    /// WAIT numreplicas timeout. Once replicas have attached, how many
    /// acknowledged the stream so far (see `wait_for_replicas`). Before,
    /// 0: at once when none is asked for or inside a transaction, else
    /// after the timeout (in milliseconds; 0 waits until CLIENT UNBLOCK or
    /// the client leaves), as Redis answers without replicas.
    pub(super) async fn wait_replicas(&mut self, argv: &[Arg<'_>]) -> Reply {
        // A replica's replicas get its master's stream, not its writes.
        if self.core.shared.replica.is_on() {
            return Reply::error(WAIT_ON_REPLICA);
        }
        let timeout_error = || Reply::error("ERR timeout is not an integer or out of range");
        let Some(replicas) = crate::command::parse_int(&argv[1]) else {
            return Reply::error(crate::command::errors::NOT_INTEGER);
        };
        let Some(millis) = crate::command::parse_int(&argv[2]) else {
            return timeout_error();
        };
        if millis < 0 {
            return Reply::error("ERR timeout is negative");
        }
        let timeout = (millis > 0).then(|| Duration::from_millis(millis as u64));
        let replication = &self.core.shared.replication;
        if replication.is_on() {
            if self.tx.exec_transaction.is_some() {
                let offset = replication.published().offset;
                return Reply::Int(replication.acknowledged(offset) as i64);
            }
            let watch = crate::clock::Stopwatch::start();
            let reply = self.wait_for_replicas(replicas, timeout).await;
            self.waited_nanos += watch.elapsed_nanos();
            return reply;
        }
        if replicas <= 0 || self.tx.exec_transaction.is_some() {
            return Reply::Int(0);
        }
        let watch = crate::clock::Stopwatch::start();
        // A waiter on no keys: only the timeout, CLIENT UNBLOCK or the
        // client's leaving ends it.
        let served = self
            .wait_once(&[], BlockKind::Pop { left: true }, timeout)
            .await;
        self.waited_nanos += watch.elapsed_nanos();
        match served {
            Some(served) if served.reply.is_error() => served.reply,
            _ => Reply::Int(0),
        }
    }
}

/// A blocked client served: replicas get the non-blocking command that
/// took the data, as Redis propagates it.
fn propagate_served(db: &mut crate::command::Db, argv: &[Bytes], reply: &Reply) {
    if db.feed.is_on() && !reply.is_error() && !matches!(reply, Reply::Nil | Reply::NilArray) {
        db.sync_feed();
        db.propagate_expired();
        db.feed.push(argv);
    }
}

pub fn parse_timeout(arg: &[u8]) -> Result<Option<Duration>, Reply> {
    let not_float = || Reply::error("ERR timeout is not a float or out of range");
    let text = std::str::from_utf8(arg).map_err(|_| not_float())?;
    if text.is_empty() || text.trim() != text {
        return Err(not_float());
    }
    let seconds: f64 = text.parse().map_err(|_| not_float())?;
    if seconds.is_nan() {
        return Err(not_float());
    }
    let millis = seconds * 1000.0;
    // Redis converts to a long long: out of range comes out negative.
    if !millis.is_finite() || millis.abs() >= 9.2e18 || millis.trunc() < 0.0 {
        return Err(Reply::error("ERR timeout is negative"));
    }
    let millis = millis.trunc() as u64;
    Ok((millis > 0).then(|| Duration::from_millis(millis)))
}

fn side_of(arg: &[u8]) -> Option<bool> {
    lists::parse_side(arg)
}

/// True once the peer has closed the socket (EOF on a non-consuming peek).
fn peer_closed(fd: i32) -> bool {
    let mut byte = 0u8;
    // SAFETY: a one-byte peek into a live local buffer; the descriptor
    // belongs to this connection, which is still open.
    let read = unsafe {
        libc::recv(
            fd,
            &mut byte as *mut u8 as *mut libc::c_void,
            1,
            libc::MSG_PEEK | libc::MSG_DONTWAIT,
        )
    };
    read == 0
}

impl Conn {
    pub async fn blocking_command(&mut self, coord: Coord, argv: &[Arg<'_>]) -> Reply {
        let argv: &[Bytes] = &to_owned_args(argv);
        // Parse: the keys, the timeout, what to do, and the reply on timeout.
        let (keys, timeout_arg, kind, now_argv, timeout_reply) = match coord {
            Coord::Blpop | Coord::Brpop => {
                let left = coord == Coord::Blpop;
                let keys = argv[1..argv.len() - 1].to_vec();
                (
                    keys,
                    &argv[argv.len() - 1],
                    BlockKind::Pop { left },
                    None,
                    Reply::NilArray,
                )
            }
            Coord::Blmove | Coord::Brpoplpush => {
                let (from_left, to_left, timeout) = if coord == Coord::Blmove {
                    match (side_of(&argv[3]), side_of(&argv[4])) {
                        (Some(from), Some(to)) => (from, to, &argv[5]),
                        _ => return Reply::error(crate::command::errors::SYNTAX),
                    }
                } else {
                    (false, true, &argv[3])
                };
                let side = |left: bool| Bytes::from_static(if left { b"LEFT" } else { b"RIGHT" });
                let now = vec![
                    Bytes::from_static(b"lmove"),
                    argv[1].clone(),
                    argv[2].clone(),
                    side(from_left),
                    side(to_left),
                ];
                (
                    vec![argv[1].clone()],
                    timeout,
                    BlockKind::Move {
                        from_left,
                        to_left,
                        destination: Bytes::copy_from_slice(&argv[2]),
                    },
                    Some(now),
                    // Redis answers a BLMOVE timeout with a null array too.
                    Reply::NilArray,
                )
            }
            Coord::Bzpopmin | Coord::Bzpopmax => (
                argv[1..argv.len() - 1].to_vec(),
                &argv[argv.len() - 1],
                BlockKind::Zpop {
                    max: coord == Coord::Bzpopmax,
                    count: None,
                },
                None,
                Reply::NilArray,
            ),
            Coord::Bzmpop => {
                // BZMPOP timeout numkeys key... MIN|MAX [COUNT n]
                let mut zmpop = vec![Bytes::from_static(b"zmpop")];
                zmpop.extend_from_slice(&argv[2..]);
                let (numkeys, max, count) = match zsets::parse_zmpop(&args_of(&zmpop)) {
                    Ok(parsed) => parsed,
                    Err(reply) => return reply,
                };
                (
                    zmpop[2..2 + numkeys].to_vec(),
                    &argv[1],
                    BlockKind::Zpop {
                        max,
                        count: Some(count),
                    },
                    Some(zmpop),
                    Reply::NilArray,
                )
            }
            _ => {
                // BLMPOP timeout numkeys key... LEFT|RIGHT [COUNT n]
                let mut lmpop = vec![Bytes::from_static(b"lmpop")];
                lmpop.extend_from_slice(&argv[2..]);
                let (side_index, left, count) = match lists::parse_lmpop(&args_of(&lmpop)) {
                    Ok(parsed) => parsed,
                    Err(reply) => return reply,
                };
                (
                    lmpop[2..side_index].to_vec(),
                    &argv[1],
                    BlockKind::Mpop {
                        left,
                        count: count.unwrap_or(1),
                    },
                    Some(lmpop),
                    Reply::NilArray,
                )
            }
        };
        let timeout = match parse_timeout(timeout_arg) {
            Ok(timeout) => timeout,
            Err(reply) => return reply,
        };
        // First, what the non-blocking form would do.
        let now_reply = match (&kind, now_argv) {
            (_, Some(now)) => self.run_now(&args_of(&now)).await,
            (BlockKind::Pop { left }, None) => {
                let mut reply = Reply::NilArray;
                for key in &keys {
                    let name = Bytes::from_static(if *left { b"lpop" } else { b"rpop" });
                    match self.run_now(&args_of(&[name, key.clone()])).await {
                        Reply::Nil => continue,
                        Reply::Bulk(element) => {
                            reply =
                                Reply::Array(vec![Reply::Bulk(key.clone()), Reply::Bulk(element)]);
                            break;
                        }
                        other => {
                            reply = other;
                            break;
                        }
                    }
                }
                reply
            }
            (BlockKind::Zpop { max, .. }, None) => {
                let mut reply = Reply::NilArray;
                for key in &keys {
                    let name = Bytes::from_static(if *max { b"zpopmax" } else { b"zpopmin" });
                    match self.run_now(&args_of(&[name, key.clone()])).await {
                        Reply::Array(items) if items.is_empty() => continue,
                        Reply::Array(mut items) => {
                            items.insert(0, Reply::Bulk(key.clone()));
                            reply = Reply::Array(items);
                            break;
                        }
                        other => {
                            reply = other;
                            break;
                        }
                    }
                }
                reply
            }
            _ => Reply::NilArray,
        };
        // Inside MULTI/EXEC a blocking command does not block: it answers
        // as its non-blocking form.
        if !matches!(now_reply, Reply::Nil | Reply::NilArray)
            || self.tx.exec_transaction.is_some()
            || self.tx.queued.is_some()
        {
            return now_reply;
        }
        self.block_on(keys, kind, timeout, timeout_reply).await
    }

    /// Runs a command now (the non-blocking form), under EXEC's locks when
    /// inside one. It is part of the blocking command, not a command of
    /// the client's own (`nested`).
    async fn run_now(&mut self, argv: &[Arg<'_>]) -> Reply {
        self.nested += 1;
        let reply = self.run_now_nested(argv).await;
        self.nested -= 1;
        reply
    }

    async fn run_now_nested(&mut self, argv: &[Arg<'_>]) -> Reply {
        if let Some(transaction) = self.tx.exec_transaction {
            return Box::pin(self.exec_one(transaction, argv)).await;
        }
        let Some(spec) = crate::command::lookup(&argv[0]) else {
            return Reply::Nil;
        };
        match spec.exec {
            crate::command::Exec::Shard(run) | crate::command::Exec::ShardOrCross(run, _) => {
                match self.route(spec, argv) {
                    super::conn::Route::One { core, slot, key } => {
                        let op = Op::Command(
                            spec,
                            run,
                            crate::protocol::SentArgs::new(argv),
                            Some((key, slot)),
                        );
                        self.on_core(core, op).await
                    }
                    super::conn::Route::Keyless => Reply::Nil,
                    super::conn::Route::Many => match spec.exec {
                        crate::command::Exec::ShardOrCross(_, coord) => {
                            let reply = Box::pin(self.run_coord_guarded(coord, argv)).await;
                            self.core.propagate_coordinated(spec, argv, &reply);
                            reply
                        }
                        _ => Reply::Nil,
                    },
                }
            }
            crate::command::Exec::Coord(coord) => {
                let reply = Box::pin(self.run_coord_guarded(coord, argv)).await;
                self.core.propagate_coordinated(spec, argv, &reply);
                reply
            }
        }
    }

    /// XREAD / XREADGROUP's wait: until a core answers, the timeout
    /// passes (a null array) or the client goes.
    pub(super) async fn block_for_streams(
        &mut self,
        keys: Vec<Bytes>,
        kind: BlockKind,
        timeout: Option<Duration>,
    ) -> Reply {
        self.block_on(keys, kind, timeout, Reply::NilArray).await
    }

    /// Blocks until a key is served or the timeout passes; the time is the
    /// command's `waited_nanos`, not its duration.
    async fn block_on(
        &mut self,
        keys: Vec<Bytes>,
        kind: BlockKind,
        timeout: Option<Duration>,
        timeout_reply: Reply,
    ) -> Reply {
        let watch = crate::clock::Stopwatch::start();
        let reply = self
            .wait_until_served(keys, kind, timeout, timeout_reply)
            .await;
        self.waited_nanos += watch.elapsed_nanos();
        reply
    }

    async fn wait_until_served(
        &mut self,
        keys: Vec<Bytes>,
        kind: BlockKind,
        timeout: Option<Duration>,
        timeout_reply: Reply,
    ) -> Reply {
        let started = std::time::Instant::now();
        loop {
            let left = match timeout {
                Some(limit) => match limit.checked_sub(started.elapsed()) {
                    Some(left) => Some(left),
                    None => return timeout_reply,
                },
                None => None,
            };
            let Some(served) = self.wait_once(&keys, kind.clone(), left).await else {
                return timeout_reply;
            };
            if !served.retry {
                return served.reply;
            }
            // A BLMOVE to another core's list was woken: move it now,
            // under both keys' locks, unless the client has gone.
            let BlockKind::Move {
                from_left,
                to_left,
                destination,
            } = &kind
            else {
                return served.reply;
            };
            let source = keys[0].clone();
            let closed = self.handle.killed.get() || peer_closed(self.handle.fd);
            let reply = if closed {
                Reply::Nil
            } else {
                let side = |left: bool| Bytes::from_static(if left { b"LEFT" } else { b"RIGHT" });
                let argv = [
                    Bytes::from_static(b"lmove"),
                    source.clone(),
                    destination.clone(),
                    side(*from_left),
                    side(*to_left),
                ];
                let reply = self.lmove_cross(&args_of(&argv), false).await;
                if matches!(reply, Reply::Bulk(_)) {
                    self.core.propagate_now(&argv);
                }
                reply
            };
            if !matches!(reply, Reply::Bulk(_)) {
                // Not moved: the clients blocked behind this one get the
                // element instead.
                let core = core_of_slot(key_hash_slot(&source), self.core.cores());
                self.on_core(core, Op::Core(serve_core, vec![source])).await;
            }
            if closed {
                return timeout_reply;
            }
            if reply != Reply::Nil {
                return reply;
            }
            // Someone else emptied the list first: block again.
        }
    }

    /// Registers the client on its keys' cores and waits until a core
    /// answers, the timeout passes or the client goes (None).
    async fn wait_once(
        &mut self,
        keys: &[Bytes],
        kind: BlockKind,
        timeout: Option<Duration>,
    ) -> Option<Served> {
        let (sender, receiver) = flume::bounded(1);
        let waiter = Arc::new(Waiter {
            client: self.handle.id,
            kind,
            claimed: AtomicBool::new(false),
            sender,
        });
        let cores = self.core.cores();
        let mut per_core: Vec<Vec<Bytes>> = vec![Vec::new(); cores];
        for key in keys {
            let key = Bytes::copy_from_slice(key);
            let list = &mut per_core[core_of_slot(key_hash_slot(&key), cores)];
            if !list.contains(&key) {
                list.push(key);
            }
        }
        let ops = per_core
            .iter()
            .map(|keys| {
                (!keys.is_empty()).then(|| Op::Block {
                    keys: keys.clone(),
                    waiter: waiter.clone(),
                })
            })
            .collect();
        self.handle.blocked.set(true);
        *self.handle.waiter.borrow_mut() = Some(waiter.clone());
        let _counted = BlockedGauge::new(&self.core, timeout.is_some());
        self.on_each(ops).await;
        let fd = self.handle.fd;
        let handle = self.handle.clone();
        let served = futures_lite::future::or(async { receiver.recv_async().await.ok() }, async {
            let started = std::time::Instant::now();
            loop {
                let wait = match timeout {
                    Some(limit) => match limit.checked_sub(started.elapsed()) {
                        Some(left) => left.min(CLOSED_CHECK_PERIOD),
                        None => return None,
                    },
                    None => CLOSED_CHECK_PERIOD,
                };
                glommio::timer::sleep(wait).await;
                if handle.killed.get() || peer_closed(fd) {
                    return None;
                }
            }
        })
        .await;
        let served = match served {
            Some(served) => Some(served),
            // Timed out or closed: answer it ourselves, unless a core
            // already did (then its answer is on the way).
            None if waiter.claim() => None,
            None => receiver.recv_async().await.ok(),
        };
        self.handle.blocked.set(false);
        *self.handle.waiter.borrow_mut() = None;
        let client = self.handle.id;
        let ops = per_core
            .into_iter()
            .map(|keys| (!keys.is_empty()).then_some(Op::Unblock { client, keys }))
            .collect();
        self.on_each(ops).await;
        served
    }
}

/// Counts a client in INFO's blocked_clients (and clients_in_timeout_table
/// when it has a timeout) while it lives, however the wait ends.
pub(super) struct BlockedGauge<'a> {
    core: &'a Core,
    with_timeout: bool,
}

impl<'a> BlockedGauge<'a> {
    pub(super) fn new(core: &'a Core, with_timeout: bool) -> Self {
        let mut stats = core.stats.borrow_mut();
        stats.blocked_clients += 1;
        stats.clients_in_timeout_table += u64::from(with_timeout);
        BlockedGauge { core, with_timeout }
    }
}

impl Drop for BlockedGauge<'_> {
    fn drop(&mut self) {
        let mut stats = self.core.stats.borrow_mut();
        stats.blocked_clients -= 1;
        stats.clients_in_timeout_table -= u64::from(self.with_timeout);
    }
}

/// Serves the clients blocked on argv[0] of this core (after a woken
/// cross-core BLMOVE left its element).
fn serve_core(core: &Core, argv: &[Arg<'_>]) -> Reply {
    if let Some(key) = argv.first() {
        core.serve_blocked(key);
    }
    Reply::ok()
}

pub fn defer_core(core: &Core, _: &[Arg<'_>]) -> Reply {
    core.defer_serving();
    Reply::ok()
}

pub fn resume_core(core: &Core, _: &[Arg<'_>]) -> Reply {
    core.resume_serving();
    Reply::ok()
}

/// CLIENT UNBLOCK on the client's core: answers a blocked client with its
/// timeout reply, or with an error when `error`. `Int(1)` if it was blocked.
pub fn unblock_client(core: &Core, client: u64, error: bool) -> Reply {
    let handle = core.clients.borrow().by_id.get(&client).cloned();
    let Some(handle) = handle else {
        return Reply::Int(0);
    };
    let waiter = handle.waiter.borrow().clone();
    let Some(waiter) = waiter else {
        return Reply::Int(0);
    };
    if !waiter.claim() {
        return Reply::Int(0);
    }
    let reply = if error {
        Reply::error("UNBLOCKED client unblocked via CLIENT UNBLOCK")
    } else {
        Reply::NilArray
    };
    waiter.answer(Served {
        reply,
        retry: false,
    });
    Reply::Int(1)
}
