//! MULTI / EXEC / DISCARD / WATCH / UNWATCH.
//!
//! Queued commands run as one unit that no other client can see half of:
//! - **One core** (every key of the transaction on the connection's own
//!   core, no coordinated command): once no multi-core command holds one of
//!   its keys, the whole transaction runs synchronously, without yielding,
//!   so nothing else on the core runs in between. In cluster mode every
//!   transaction has its keys in one slot, so this is the path it takes.
//! - **Several cores**: every key is locked first, on its core, in
//!   ascending core order (exclusive for keys a queued command writes,
//!   shared for keys only read and for watched keys), exactly as a single
//!   multi-core command locks (see `locks`). The commands then run in order
//!   under that one transaction's locks; the multi-core commands among them
//!   reuse them instead of taking their own. Then every lock is released.
//!
//! WATCH registers the key on its core with a flag shared by the client.
//! A write that succeeds on a watched key sets the flag of every client
//! watching it; EXEC checks it under the locks and answers a null array
//! when it is set.

use super::conn::{Conn, Route};
use super::locks::Mode;
use super::mesh::Op;
use super::Core;
use crate::cluster::{core_of_slot, key_hash_slot};
use crate::command::errors;
use crate::command::table::index_of;
use crate::command::{key_positions, lookup, CommandSpec, Exec};
use crate::protocol::Reply;
use crate::protocol::{args_of, to_owned_args, Arg};
use bytes::Bytes;
use hashbrown::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

const EXECABORT: &str = "EXECABORT Transaction discarded because of previous errors.";

/// One core's watched keys: each with the flags of the clients watching it.
#[derive(Default)]
pub struct Watches {
    keys: HashMap<Bytes, Vec<(u64, Arc<AtomicBool>)>>,
}

impl Watches {
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn watch(&mut self, client: u64, keys: Vec<Bytes>, flag: Arc<AtomicBool>) {
        for key in keys {
            let list = self.keys.entry(key).or_default();
            if !list.iter().any(|(id, _)| *id == client) {
                list.push((client, flag.clone()));
            }
        }
    }

    pub fn unwatch(&mut self, client: u64, keys: &[Bytes]) {
        for key in keys {
            if let Some(list) = self.keys.get_mut(key) {
                list.retain(|(id, _)| *id != client);
                if list.is_empty() {
                    self.keys.remove(key);
                }
            }
        }
    }

    /// A write touched `key`: every client watching it will see EXEC fail.
    pub fn touch(&self, key: &[u8]) {
        if let Some(list) = self.keys.get(key) {
            for (_, flag) in list {
                flag.store(true, Ordering::Release);
            }
        }
    }

    /// FLUSHALL / FLUSHDB: every watched key that the flush deletes is
    /// touched. A watched key that is not stored is left alone, as in Redis
    /// (touchAllWatchedKeysInDb): nothing about it changes. Keys already
    /// expired when WATCHed were deleted then (`Op::Watch`), so a stored
    /// key was live at WATCH time, and deleting it is a change.
    pub fn touch_stored(&self, keyspace: &crate::keyspace::Keyspace) {
        for (key, list) in &self.keys {
            if keyspace.holds(key_hash_slot(key), key) {
                for (_, flag) in list {
                    flag.store(true, Ordering::Release);
                }
            }
        }
    }
}

impl Core {
    /// Removes those of `keys` whose time has come (lazy expiry), touching
    /// their watchers and raising their `expired` events.
    pub fn expire_due(&self, keys: &[Bytes]) {
        {
            let mut db = self.db.borrow_mut();
            db.refresh_clock();
            let now = db.now_ms;
            for key in keys {
                let slot = key_hash_slot(key);
                db.keyspace.peek(slot, key, now);
            }
        }
        self.publish_events();
    }

    /// After a client command ran here: a successful write touches the
    /// watched keys among its keys and serves clients blocked on them.
    #[inline]
    pub fn after_write(&self, spec: &CommandSpec, argv: &[Arg<'_>], reply: &Reply) {
        if !spec.is_write() || reply.is_error() || did_nothing(spec.name, reply) {
            return;
        }
        self.shared.persistence.add_dirty(self.id, 1);
        if !self.watches.borrow().is_empty() && signals_modified_key(spec.name, argv) {
            let watches = self.watches.borrow();
            for position in key_positions(spec, argv) {
                watches.touch(&argv[position]);
            }
        }
        if !self.blocked.borrow().is_empty() {
            for position in key_positions(spec, argv) {
                self.serve_blocked(&argv[position]);
            }
        }
    }

    /// After part of a multi-core command ran here: the keys it holds
    /// exclusively (those it writes) are touched and their blocked clients
    /// served.
    #[inline]
    pub fn after_locked_write(&self, transaction: u64) {
        self.shared.persistence.add_dirty(self.id, 1);
        if self.watches.borrow().is_empty() && self.blocked.borrow().is_empty() {
            return;
        }
        for key in self.locks.borrow().exclusive_keys(transaction) {
            self.watches.borrow().touch(&key);
            self.serve_blocked(&key);
        }
    }
}

/// False for the stream writes that Redis does not signal as a modified
/// key (group state, XSETID): they leave WATCHed keys untouched. XGROUP
/// CREATE ... MKSTREAM signals the key it makes.
fn signals_modified_key(name: &str, argv: &[Arg<'_>]) -> bool {
    match name {
        "xack" | "xclaim" | "xautoclaim" | "xreadgroup" | "xsetid" => false,
        "xgroup" => argv
            .iter()
            .skip(5)
            .any(|a| a.eq_ignore_ascii_case(b"MKSTREAM")),
        _ => true,
    }
}

/// True when a write command's reply says it changed nothing (DEL of a
/// missing key, SADD of members already there, EXPIRE of a missing key...):
/// Redis touches no watched key then.
fn did_nothing(name: &str, reply: &Reply) -> bool {
    match reply {
        Reply::Int(n) => {
            *n <= 0
                && matches!(
                    name,
                    "del"
                        | "unlink"
                        | "expire"
                        | "pexpire"
                        | "expireat"
                        | "pexpireat"
                        | "persist"
                        | "setnx"
                        | "msetnx"
                        | "hsetnx"
                        | "hdel"
                        | "sadd"
                        | "srem"
                        | "smove"
                        | "lpushx"
                        | "rpushx"
                        | "lrem"
                        | "linsert"
                        | "zrem"
                        | "zremrangebyscore"
                        | "zremrangebyrank"
                        | "zremrangebylex"
                        | "pfadd"
                        | "xdel"
                        | "xtrim"
                        | "renamenx"
                        | "copy"
                )
        }
        // GETSET and SET ... GET answer nil for a key they created.
        Reply::Nil | Reply::NilArray => !matches!(name, "getset" | "set"),
        Reply::Array(items) => {
            items.is_empty() && matches!(name, "spop" | "lpop" | "rpop" | "zpopmin" | "zpopmax")
        }
        _ => false,
    }
}

/// A connection's transaction state.
#[derive(Default)]
pub struct TxState {
    /// Commands queued since MULTI; `None` outside a transaction.
    pub queued: Option<Vec<Vec<Bytes>>>,
    /// A command was refused while queueing: EXEC will abort.
    pub failed: bool,
    /// Watched keys and the flag their cores set when one is written.
    pub watched: Vec<Bytes>,
    pub flag: Option<Arc<AtomicBool>>,
    /// The running EXEC's lock transaction: multi-core commands inside it
    /// run under these locks instead of taking their own.
    pub exec_transaction: Option<u64>,
}

/// Commands that act at once inside MULTI instead of being queued.
pub fn runs_inside_multi(name: &str) -> bool {
    matches!(
        name,
        "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
    )
}

impl Conn {
    /// Queues a command inside MULTI (already checked and routed).
    pub fn queue_command(&mut self, argv: &[Arg<'_>]) -> Reply {
        if let Some(queued) = self.tx.queued.as_mut() {
            // Copies: arguments are slices of the read buffer.
            queued.push(argv.iter().map(|a| Bytes::copy_from_slice(a)).collect());
            self.handle.multi.set(queued.len() as i64);
        }
        Reply::Simple("QUEUED".into())
    }

    pub fn multi(&mut self) -> Reply {
        if self.tx.queued.is_some() {
            return Reply::error("ERR MULTI calls can not be nested");
        }
        self.tx.queued = Some(Vec::new());
        if let Some(link) = self.master.as_mut() {
            link.multi_start = link.frame_offset;
        }
        self.tx.failed = false;
        self.handle.multi.set(0);
        Reply::ok()
    }

    pub async fn discard(&mut self) -> Reply {
        if self.tx.queued.is_none() {
            return Reply::error("ERR DISCARD without MULTI");
        }
        self.end_multi();
        self.unwatch_all().await;
        Reply::ok()
    }

    fn end_multi(&mut self) {
        self.tx.queued = None;
        self.tx.failed = false;
        self.handle.multi.set(-1);
    }

    pub async fn watch(&mut self, argv: &[Arg<'_>]) -> Reply {
        if self.tx.queued.is_some() {
            return Reply::error("ERR WATCH inside MULTI is not allowed");
        }
        let flag = self
            .tx
            .flag
            .get_or_insert_with(|| Arc::new(AtomicBool::new(false)))
            .clone();
        let cores = self.core.cores();
        let mut per_core: Vec<Vec<Bytes>> = vec![Vec::new(); cores];
        for key in &argv[1..] {
            if !self.tx.watched.iter().any(|watched| watched[..] == key[..]) {
                let key = Bytes::copy_from_slice(key);
                per_core[core_of_slot(key_hash_slot(&key), cores)].push(key.clone());
                self.tx.watched.push(key);
            }
        }
        let client = self.handle.id;
        let ops = per_core
            .into_iter()
            .map(|keys| {
                (!keys.is_empty()).then(|| Op::Watch {
                    client,
                    keys,
                    flag: flag.clone(),
                })
            })
            .collect();
        self.on_each(ops).await;
        Reply::ok()
    }

    /// Forgets every watched key (UNWATCH, EXEC, DISCARD, RESET, close).
    pub async fn unwatch_all(&mut self) {
        let watched = std::mem::take(&mut self.tx.watched);
        self.tx.flag = None;
        if watched.is_empty() {
            return;
        }
        let cores = self.core.cores();
        let mut per_core: Vec<Vec<Bytes>> = vec![Vec::new(); cores];
        for key in watched {
            per_core[core_of_slot(key_hash_slot(&key), cores)].push(key);
        }
        let client = self.handle.id;
        let ops = per_core
            .into_iter()
            .map(|keys| (!keys.is_empty()).then_some(Op::Unwatch { client, keys }))
            .collect();
        self.on_each(ops).await;
    }

    /// Watched keys whose time has come are expired on their cores before
    /// EXEC looks at the flag: a key alive at WATCH that is logically
    /// expired at EXEC aborts it (Redis's isWatchedKeyExpired), whether or
    /// not anything deleted it yet.
    async fn expire_watched(&mut self) {
        if self.tx.watched.is_empty() {
            return;
        }
        let cores = self.core.cores();
        let mut per_core: Vec<Vec<Bytes>> = vec![Vec::new(); cores];
        for key in &self.tx.watched {
            per_core[core_of_slot(key_hash_slot(key), cores)].push(key.clone());
        }
        let ops = per_core
            .into_iter()
            .map(|keys| (!keys.is_empty()).then(|| Op::Core(expire_due_core, keys)))
            .collect();
        self.on_each(ops).await;
    }

    fn watch_failed(&self) -> bool {
        self.tx
            .flag
            .as_ref()
            .is_some_and(|flag| flag.load(Ordering::Acquire))
    }

    pub async fn exec(&mut self) -> Reply {
        let Some(queued) = self.tx.queued.take() else {
            return Reply::error("ERR EXEC without MULTI");
        };
        let failed = self.tx.failed;
        self.end_multi();
        if failed {
            self.unwatch_all().await;
            return Reply::error(EXECABORT);
        }
        self.expire_watched().await;
        if self.core.cluster_enabled {
            let mut slots = queued.iter().flat_map(|argv| {
                lookup(&argv[0])
                    .map(|spec| {
                        key_positions(spec, &args_of(argv))
                            .map(|i| key_hash_slot(&argv[i]))
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default()
            });
            if let Some(first) = slots.next() {
                if slots.any(|slot| slot != first) {
                    self.unwatch_all().await;
                    return Reply::error("CROSSSLOT Keys in request don't hash to the same slot");
                }
            }
        }
        let reply = if self.runs_on_this_core(&queued) {
            self.exec_here(&queued).await
        } else {
            self.exec_across(&queued).await
        };
        self.unwatch_all().await;
        reply
    }

    /// True when every queued command is a shard command whose keys are
    /// all on this core.
    fn runs_on_this_core(&self, queued: &[Vec<Bytes>]) -> bool {
        let cores = self.core.cores();
        queued.iter().all(|argv| {
            lookup(&argv[0]).is_some_and(|spec| {
                !matches!(spec.exec, Exec::Coord(_))
                    && key_positions(spec, &args_of(argv))
                        .all(|i| core_of_slot(key_hash_slot(&argv[i]), cores) == self.core.id)
            })
        })
    }

    /// The single-core transaction: wait until no multi-core command holds
    /// its keys, then run every command without yielding.
    async fn exec_here(&mut self, queued: &[Vec<Bytes>]) -> Reply {
        let specs: Vec<&'static CommandSpec> =
            queued.iter().filter_map(|argv| lookup(&argv[0])).collect();
        std::future::poll_fn(|cx| {
            let blocked = specs
                .iter()
                .zip(queued)
                .any(|(spec, argv)| self.core.command_blocked(spec, &args_of(argv)));
            if blocked {
                self.core.locks.borrow().wait(cx.waker());
                std::task::Poll::Pending
            } else {
                std::task::Poll::Ready(())
            }
        })
        .await;
        if self.watch_failed() {
            return Reply::NilArray;
        }
        let mut replies = Vec::with_capacity(queued.len());
        self.core.db.borrow_mut().refresh_clock();
        self.core.defer_serving();
        let mark = self.core.db.borrow().feed.mark();
        for (spec, argv) in specs.into_iter().zip(queued) {
            let (Exec::Shard(run) | Exec::ShardOrCross(run, _)) = spec.exec else {
                continue;
            };
            self.count_queued_call(spec);
            if !spec.shape_ok(argv.len()) {
                replies.push(errors::wrong_arity(spec.name));
                continue;
            }
            let args = args_of(argv);
            let watch = crate::clock::Stopwatch::start();
            let reply = crate::command::notify::run_notifying(
                run,
                &mut self.core.db.borrow_mut(),
                spec,
                &args,
            );
            self.core.publish_events();
            self.core.after_write(spec, &args, &reply);
            self.command_ran(spec, &args, watch.elapsed_nanos());
            self.monitor_command(spec, &args);
            replies.push(reply);
        }
        // Replicas get the transaction's writes in MULTI/EXEC.
        self.core.db.borrow_mut().feed.wrap_since(mark);
        self.core.resume_serving();
        Reply::Array(replies)
    }

    /// The multi-core transaction: lock every key in core order, run the
    /// commands under those locks, release.
    async fn exec_across(&mut self, queued: &[Vec<Bytes>]) -> Reply {
        let mut keys: Vec<(Bytes, Mode)> = Vec::new();
        for argv in queued {
            if let Some(spec) = lookup(&argv[0]) {
                // EVAL may write (Redis's may_replicate) though it is no
                // write command.
                let mode = if spec.is_write() || super::pause::may_replicate(spec) {
                    Mode::Exclusive
                } else {
                    Mode::Shared
                };
                keys.extend(key_positions(spec, &args_of(argv)).map(|i| (argv[i].clone(), mode)));
            }
        }
        keys.extend(self.tx.watched.iter().map(|k| (k.clone(), Mode::Shared)));
        let refs: Vec<(&Bytes, Mode)> = keys.iter().map(|(k, m)| (k, *m)).collect();
        let (transaction, cores) = self.lock_keys(&refs).await;
        if self.watch_failed() {
            self.unlock(transaction, &cores).await;
            return Reply::NilArray;
        }
        self.tx.exec_transaction = Some(transaction);
        // Clients blocked on keys the transaction pushes to are served after
        // it, on every core it holds.
        for &core in &cores {
            self.on_core(core, Op::Core(super::blocking::defer_core, vec![]))
                .await;
        }
        let mut replies = Vec::with_capacity(queued.len());
        for argv in queued {
            replies.push(self.exec_one(transaction, &args_of(argv)).await);
        }
        self.tx.exec_transaction = None;
        for &core in &cores {
            self.on_core(core, Op::Core(super::blocking::resume_core, vec![]))
                .await;
        }
        self.unlock(transaction, &cores).await;
        Reply::Array(replies)
    }

    pub(super) async fn exec_one(&mut self, transaction: u64, argv: &[Arg<'_>]) -> Reply {
        let Some(spec) = lookup(&argv[0]) else {
            return errors::unknown_command(argv);
        };
        if !spec.shape_ok(argv.len()) {
            return errors::wrong_arity(spec.name);
        }
        let (run, cross) = match spec.exec {
            // Boxed: EXEC itself is a coordinated command.
            Exec::Coord(coord) => {
                let reply = Box::pin(self.run_coord_guarded(coord, argv)).await;
                self.monitor_command(spec, argv);
                return reply;
            }
            Exec::Shard(run) => (run, None),
            Exec::ShardOrCross(run, coord) => (run, Some(coord)),
        };
        self.count_queued_call(spec);
        self.monitor_command(spec, argv);
        let watch = crate::clock::Stopwatch::start();
        match self.route(spec, argv) {
            Route::Keyless => {
                let reply = crate::command::run_guarded(run, &mut self.core.db.borrow_mut(), argv);
                self.command_ran(spec, argv, watch.elapsed_nanos());
                reply
            }
            Route::One { core, .. } => {
                let op = Op::Locked {
                    transaction,
                    run,
                    argv: to_owned_args(argv),
                    release: false,
                    command: Some(spec),
                };
                let reply = self.on_core(core, op).await;
                self.command_ran(spec, argv, watch.elapsed_nanos());
                reply
            }
            Route::Many => match cross {
                Some(coord) => Box::pin(self.run_cross(spec, coord, run, argv)).await,
                None => Reply::error("CROSSSLOT Keys in request don't hash to the same slot"),
            },
        }
    }

    fn count_queued_call(&mut self, spec: &'static CommandSpec) {
        let command = index_of(spec) as u16;
        self.count_call(command, spec, 0);
    }
}

fn expire_due_core(core: &Core, keys: &[Arg<'_>]) -> Reply {
    core.expire_due(&to_owned_args(keys));
    Reply::ok()
}
