//! One client connection: read, decode, route, execute, reply.
//!
//! Commands of one read are processed in order. A command whose keys live
//! on this core runs inline. Commands for other cores are collected per core
//! and sent as one batch per core when the read is done. Replies are encoded
//! in request order once all the batches have answered. Multi-key commands
//! over several cores (atomic, see `locks`) and commands that need the
//! connection's state or several round trips (`Exec::Coord`) first flush
//! what is pending.

use super::clients::ClientHandle;
use super::locks::Mode;
use super::mesh::Op;
use super::pubsub::Subscriber;
use super::readiness;
use super::serverlog::SlowRecord;
use super::transaction::{runs_inside_multi, TxState};
use super::Core;
use crate::clock::Stopwatch;
use crate::cluster::route::{route, Decision, KeyCheck, Query, Redirect};
use crate::cluster::{core_of_slot, key_hash_slot, KnownSlot};
use crate::command::table::index_of;
use crate::command::ShardFn;
use crate::command::{errors, key_positions, lookup, CommandSpec, Coord, Exec};
use crate::keyspace::key_eq;
use crate::protocol::decode::{decode, Limits, Progress, Request};
use crate::protocol::Reply;
use crate::protocol::{to_owned_args, Arg, SentArgs};
use crate::warning;
use bytes::{Bytes, BytesMut};
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use glommio::net::TcpStream;
use std::ops::Range;
use std::os::unix::io::AsRawFd;
use std::rc::Rc;
use std::sync::atomic::Ordering;

/// Commands decoded from one read before they are executed and answered.
pub const PIPELINE_DEPTH_MAX: usize = 1024;
const READ_BYTES_MIN: usize = 4096;
const READ_BYTES_MAX: usize = 64 * 1024;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum ReplyMode {
    On,
    Off,
    /// Drop this many more replies, then go back to On.
    Skip(u8),
}

/// How a fan-out command's parts become one reply.
#[derive(Clone, Copy)]
enum Merge {
    /// MGET: values back in key order.
    Values,
    /// DEL/EXISTS/TOUCH: the sum of counts.
    Sum,
    /// MSET: OK when every part is OK.
    AllOk,
}

struct Gather {
    merge: Merge,
    parts: Vec<Reply>,
    /// For `Values`: for each key, (part, position in that part's reply).
    order: Vec<(u32, u32)>,
}

enum SlotState {
    Ready(Reply),
    Pending,
}

struct Slot {
    command: u16,
    state: SlotState,
}

/// Where a batched op's reply goes: a slot of the plan.
#[derive(Clone, Copy)]
struct Target {
    slot: u32,
}

#[derive(Default)]
struct Plan {
    slots: Vec<Slot>,
    batches: Vec<Vec<Op>>,
    targets: Vec<Vec<Target>>,
    /// Slowlog records by slot, logged in the pipeline's order when the
    /// plan is written (see `serverlog`).
    slow: Vec<(u32, SlowRecord)>,
}

impl Plan {
    fn is_active(&self) -> bool {
        !self.slots.is_empty()
    }
}

pub struct Conn {
    pub core: Rc<Core>,
    pub handle: Rc<ClientHandle>,
    pub resp3: bool,
    pub authenticated: bool,
    pub close_after_reply: bool,
    pub reply_mode: ReplyMode,
    pub out: Vec<u8>,
    /// Cluster mode: the client sent ASKING (good for one command).
    pub asking: bool,
    /// Cluster mode: the client sent READONLY.
    pub readonly: bool,
    /// Its subscriptions and pending messages, once it subscribed.
    pub subscriber: Option<Rc<Subscriber>>,
    /// MULTI / WATCH state.
    pub tx: TxState,
    plan: Plan,
    /// The slot of the current request's second argument, hashed by the
    /// read's prefetch pass: the router reuses it when that argument is the
    /// command's first key.
    slot_hint: KnownSlot,
    /// The last command this connection ran, with its name as the client
    /// spelled it (`name_word`): a pipeline of one command finds it again by
    /// one comparison, without a table lookup.
    last_spec: Option<(u64, &'static CommandSpec)>,
    /// Time the running coordinated command spent blocked (BLPOP waiting
    /// for a push), which its duration leaves out, as Redis's does.
    pub(super) waited_nanos: u64,
    /// Above zero while a command runs commands of its own (a blocking
    /// command's non-blocking form): those are not logged as the client's.
    pub(super) nested: u32,
    /// What REPLCONF said, for a replica-to-be.
    pub(super) replica_conf: super::replicate::ReplicaConf,
    /// Set by PSYNC / SYNC: the connection goes to the replication hub.
    pub(super) handover: Option<super::replicate::Handover>,
    /// The client sent a write since its last WAIT, which then takes the
    /// stream's offset as `write_offset`.
    pub(super) has_written: bool,
    /// The read being served ran a write (`appendfsync always` waits for
    /// the AOF's fsync before its replies go out).
    pub(super) wrote_in_read: bool,
    /// The stream offset a WAIT waits for: the stream as it was at the
    /// first WAIT after this client's last write (0 before any write, so
    /// that WAIT counts every replica, as Redis's does then).
    pub(super) write_offset: u64,
    /// Set on the master client of a replica: the stream it applies.
    pub(super) master: Option<MasterLink>,
}

/// A replica's master client: where the stream is (`offset`, the master's
/// offset of what was read and run; `applied`, of what was run outside an
/// unfinished MULTI) and when it last acknowledged it.
pub(super) struct MasterLink {
    generation: u64,
    offset: i64,
    /// The stream up to here is applied, and forwarded to the hub (this
    /// node's backlog and replicas): a transaction goes when its EXEC has
    /// run, as Redis's replica proxies only what it applied.
    applied: i64,
    /// What was read from `applied` on, not yet forwarded.
    pending: BytesMut,
    /// Where the last MULTI began (set by MULTI): while its transaction
    /// is open, what was read from there on waits.
    pub(super) multi_start: i64,
    /// The offset of the command running (what REPLCONF GETACK reports).
    pub(super) frame_offset: i64,
    last_io_ms: u64,
    last_ack_ms: u64,
    timeout_ms: u64,
}

/// A command name of at most 7 bytes as one word, its length in the top
/// byte, so that equal words are equal names, byte for byte.
fn name_word(name: &[u8]) -> Option<u64> {
    if name.len() > 7 {
        return None;
    }
    // Byte by byte: a copy of a length not known until now is a call.
    let word = name
        .iter()
        .enumerate()
        .fold(0u64, |word, (i, &byte)| word | u64::from(byte) << (8 * i));
    Some(word | (name.len() as u64) << 56)
}

/// What the cluster gate says of a command.
enum Gate {
    Pass,
    Refuse(Reply),
    /// Run it on `core` only if the keys there allow (a slot in migration).
    Check(usize, KeyCheck, String),
}

pub(super) enum Route {
    Keyless,
    /// All keys on `core`; `slot` is the slot of `argv[key]`.
    One {
        core: usize,
        slot: u16,
        key: usize,
    },
    Many,
}

impl Conn {
    pub(super) fn route(&self, spec: &CommandSpec, argv: &[Arg<'_>]) -> Route {
        let cores = self.core.cores();
        if spec.has_one_key_first() && argv.len() > 1 {
            let slot = self.slot_hint.slot_of(&argv[1]);
            return Route::One {
                core: core_of_slot(slot, cores),
                slot,
                key: 1,
            };
        }
        // XREAD / XREADGROUP ... BLOCK: the coordinator blocks.
        if spec.keys == crate::command::KeyShape::Streams
            && crate::command::streams::read_blocks(argv)
        {
            return Route::Many;
        }
        let mut positions = key_positions(spec, argv);
        let Some(first) = positions.next() else {
            return Route::Keyless;
        };
        let slot = self.slot_hint.slot_of(&argv[first]);
        let core = core_of_slot(slot, cores);
        if cores > 1 && positions.any(|i| core_of_slot(key_hash_slot(&argv[i]), cores) != core) {
            return Route::Many;
        }
        Route::One {
            core,
            slot,
            key: first,
        }
    }

    /// True while replies wait for commands on other cores.
    pub(super) fn plan_is_active(&self) -> bool {
        self.plan.is_active()
    }

    /// Keeps the slowlog record of the command about to take the plan's
    /// next slot until the plan is written.
    pub(super) fn queue_slow(&mut self, record: SlowRecord) {
        let slot = self.plan.slots.len() as u32;
        self.plan.slow.push((slot, record));
    }

    /// Hands a reply to the client: directly when nothing is pending,
    /// else into the plan so that replies keep request order.
    fn emit(&mut self, command: u16, reply: Reply) {
        if self.plan.is_active() {
            self.plan.slots.push(Slot {
                command,
                state: SlotState::Ready(reply),
            });
        } else {
            self.write_reply(command, &reply);
        }
    }

    fn write_reply(&mut self, command: u16, reply: &Reply) {
        // Messages published before this reply was made go out first.
        self.write_pushes();
        if let Reply::Error(text) = reply {
            let mut stats = self.core.stats.borrow_mut();
            stats.count_error(text);
            if let Some(entry) = stats.commands.get_mut(command as usize) {
                entry.failed_calls += 1;
            }
        }
        match self.reply_mode {
            ReplyMode::On => reply.encode(self.resp3, &mut self.out),
            mode => {
                // Pub/Sub confirmations go out whatever CLIENT REPLY says,
                // as in Redis (CLIENT_PUSHING); a SKIP is still used up.
                if matches!(reply, Reply::Push(_)) {
                    reply.encode(self.resp3, &mut self.out);
                }
                if let ReplyMode::Skip(left) = mode {
                    self.reply_mode = if left > 1 {
                        ReplyMode::Skip(left - 1)
                    } else {
                        ReplyMode::On
                    };
                }
            }
        }
    }

    /// Writes one more Pub/Sub confirmation of a command that answers
    /// several times (SUBSCRIBE with many channels): it goes out whatever
    /// CLIENT REPLY says and uses up no SKIP (the command's last reply does).
    pub fn write_extra(&mut self, reply: &Reply) {
        self.write_pushes();
        reply.encode(self.resp3, &mut self.out);
    }

    /// Moves the messages queued for this subscriber, if any, into the
    /// output; they go out under CLIENT REPLY OFF too, as in Redis.
    fn write_pushes(&mut self) {
        if let Some(subscriber) = &self.subscriber {
            if subscriber.has_queued() {
                subscriber.drain_into(self.resp3, &mut self.out);
            }
        }
    }

    /// True while RESP2 subscribed mode limits what the client may send.
    fn in_resp2_subscribed_mode(&self) -> bool {
        !self.resp3 && self.subscriber.as_ref().is_some_and(|s| s.active())
    }

    /// Writes a reply for a command that was refused before running.
    pub fn reject(&mut self, command: Option<u16>, reply: Reply) {
        // A command refused inside MULTI makes EXEC abort.
        if self.tx.queued.is_some() {
            self.tx.failed = true;
        }
        if let Some(command) = command {
            self.core.stats.borrow_mut().commands[command as usize].rejected_calls += 1;
        }
        // A refused EXEC ends the transaction and says why, as Redis's
        // execCommandAbort does (with or without MULTI).
        let is_exec = command
            .and_then(|c| crate::command::COMMANDS.get(c as usize))
            .is_some_and(|spec| spec.name == "exec");
        let reply = match reply {
            Reply::Error(text) if is_exec => {
                self.tx.queued = None;
                self.tx.failed = false;
                self.handle.multi.set(-1);
                let reason = text.strip_prefix("ERR ").unwrap_or(&text);
                Reply::error_owned(format!(
                    "EXECABORT Transaction discarded because of: {reason}"
                ))
            }
            other => other,
        };
        // Rejections count as rejected, not failed: no command index here.
        self.emit(u16::MAX, reply);
    }

    fn queue(&mut self, core: usize, op: Op, target: Target) {
        if self.plan.batches.len() < self.core.cores() {
            self.plan.batches.resize_with(self.core.cores(), Vec::new);
            self.plan.targets.resize_with(self.core.cores(), Vec::new);
        }
        self.plan.batches[core].push(op);
        self.plan.targets[core].push(target);
    }

    /// Sends every pending batch, waits for all replies, and writes the
    /// plan's replies in order.
    pub async fn flush_plan(&mut self) {
        if !self.plan.is_active() {
            return;
        }
        let mut started = Vec::new();
        for core in 0..self.plan.batches.len() {
            let ops = std::mem::take(&mut self.plan.batches[core]);
            if !ops.is_empty() {
                let count = ops.len();
                started.push((core, self.core.mesh().start(core, ops).await, count));
            }
        }
        for (core, id, count) in started {
            let (replies, slow) = self.core.mesh().finish_logged(id, count).await;
            let targets = std::mem::take(&mut self.plan.targets[core]);
            for record in slow {
                if let Some(target) = targets.get(record.op as usize) {
                    self.plan.slow.push((target.slot, record));
                }
            }
            for (target, reply) in targets.into_iter().zip(replies) {
                self.plan.slots[target.slot as usize].state = SlotState::Ready(reply);
            }
        }
        let mut slow = std::mem::take(&mut self.plan.slow);
        slow.sort_by_key(|(slot, _)| *slot);
        for (_, record) in slow {
            self.log_slow(record);
        }
        let slots = std::mem::take(&mut self.plan.slots);
        for slot in slots {
            let reply = match slot.state {
                SlotState::Ready(reply) => reply,
                SlotState::Pending => Reply::error("ERR shard unavailable"),
            };
            self.write_reply(slot.command, &reply);
        }
    }

    /// Whether `spec` is refused while the process is over maxmemory with
    /// nothing to evict, as Redis's processCommand decides: a command that
    /// may add memory (`denyoom`), EXEC of a transaction holding one, and
    /// anything queued in MULTI but DISCARD, QUIT and RESET.
    fn refused_when_out_of_memory(&self, spec: &CommandSpec) -> bool {
        let denyoom = |spec: &CommandSpec| spec.flags.contains(&"denyoom");
        match &self.tx.queued {
            _ if denyoom(spec) => true,
            None => false,
            Some(queued) => match spec.name {
                "exec" => queued
                    .iter()
                    .any(|argv| lookup(&argv[0]).is_some_and(denyoom)),
                "discard" | "quit" | "reset" => false,
                _ => true,
            },
        }
    }

    /// Whether `spec` gets MISCONF after a failed background save, as in
    /// Redis's processCommand: a write, EXEC of a transaction holding one,
    /// and PING.
    fn refused_after_failed_save(&self, spec: &CommandSpec) -> bool {
        match (spec.name, &self.tx.queued) {
            ("ping", _) => true,
            ("exec", Some(queued)) => queued
                .iter()
                .any(|argv| lookup(&argv[0]).is_some_and(CommandSpec::is_write)),
            _ => spec.is_write(),
        }
    }

    /// Whether a write (or EXEC of a transaction holding one) is refused
    /// for want of replicas: `min-replicas-to-write` set and fewer online
    /// replicas acknowledged within `min-replicas-max-lag` seconds, as in
    /// Redis's checkGoodReplicasStatus.
    fn lacks_good_replicas(&self, spec: &CommandSpec) -> bool {
        spec.name != "ping"
            && self.core.too_few_good_replicas()
            && self.refused_after_failed_save(spec)
    }

    /// A client's command on a replica: READONLY for a write (or EXEC of a
    /// transaction holding one) with `replica-read-only yes`, MASTERDOWN for
    /// a command without the `stale` flag while the link is down and
    /// `replica-serve-stale-data no`, in Redis's processCommand's order.
    fn refused_on_replica(&self, spec: &CommandSpec) -> Option<Reply> {
        let yes = |name: &str| {
            crate::config::inert::get(&self.core.db.borrow().config, name, "yes") == "yes"
        };
        if spec.name != "ping" && self.refused_after_failed_save(spec) && yes("replica-read-only") {
            return Some(Reply::error(crate::replication::link::READONLY));
        }
        if !self.core.shared.replica.is_up()
            && !spec.flags.contains(&"stale")
            && !yes("replica-serve-stale-data")
        {
            return Some(Reply::error(crate::replication::link::MASTERDOWN));
        }
        if self.core.shared.replica.is_loading() && !spec.flags.contains(&"loading") {
            return Some(Reply::error(crate::replication::link::LOADING));
        }
        None
    }

    /// Runs one command.
    pub async fn dispatch(&mut self, argv: &[Arg<'_>]) {
        let word = name_word(&argv[0]);
        let spec = match self.last_spec {
            Some((last, spec)) if word == Some(last) => spec,
            _ => {
                let Some(spec) = lookup(&argv[0]) else {
                    self.reject(None, errors::unknown_command(argv));
                    return;
                };
                self.last_spec = word.map(|word| (word, spec));
                spec
            }
        };
        let command = index_of(spec) as u16;
        self.has_written |= spec.is_write();
        self.wrote_in_read |= spec.is_write();
        // MSET's pairs are checked by the command itself in Redis, so a
        // transaction queues an odd MSET and EXEC answers the error.
        let shape_ok = spec.shape_ok(argv.len()) || self.tx.queued.is_some();
        if !spec.arity_ok(argv.len()) || !shape_ok {
            self.reject(Some(command), errors::wrong_arity(spec.name));
            if spec.name == "exec" {
                // The aborted transaction forgets its watched keys too.
                self.unwatch_all().await;
            }
            return;
        }
        if !self.authenticated && !spec.flags.contains(&"no_auth") {
            if self.core.db.borrow().config.requirepass.is_some() {
                self.reject(Some(command), Reply::error(errors::NOAUTH));
                return;
            }
            self.authenticated = true;
        }
        if self.handle.monitor.get() && (spec.is_write() || spec.flags.contains(&"readonly")) {
            // A monitor is a replica to Redis, and replicas keep off keys.
            self.reject(
                Some(command),
                Reply::error("ERR Replica can't interact with the keyspace"),
            );
            return;
        }
        self.handle.last_command.set(spec.name);
        if spec.is_container() {
            let mut sub = self.handle.last_subcommand.borrow_mut();
            sub.clear();
            if let Some(name) = argv.get(1) {
                sub.push_str(&String::from_utf8_lossy(name).to_ascii_lowercase());
            }
        } else if !self.handle.last_subcommand.borrow().is_empty() {
            self.handle.last_subcommand.borrow_mut().clear();
        }
        if self.core.cluster_enabled && self.master.is_none() {
            // ASKING is good for the next command only.
            let asking = std::mem::take(&mut self.asking);
            match self.cluster_gate(spec, argv, asking) {
                Gate::Pass => {}
                Gate::Refuse(reply) => {
                    self.reject(Some(command), reply);
                    return;
                }
                // Pub/sub commands route by shard channel but do not touch
                // keys: a slot in migration changes nothing for them.
                Gate::Check(..) if spec.flags.contains(&"pubsub") => {}
                Gate::Check(core, check, redirect) => {
                    if self.core.shared.pause.is_set() && self.held_by_pause(spec, argv) {
                        Box::pin(self.wait_while_paused(spec, argv)).await;
                        // The slots may have moved meanwhile (a manual
                        // failover): the checks again, as Redis reprocesses
                        // a paused command.
                        return Box::pin(self.dispatch(argv)).await;
                    }
                    self.flush_plan().await;
                    let op = Op::Checked {
                        spec,
                        argv: to_owned_args(argv),
                        check,
                        redirect,
                    };
                    let watch = Stopwatch::start();
                    let reply = self.on_core(core, op).await;
                    self.command_ran(spec, argv, watch.elapsed_nanos());
                    self.emit(command, reply);
                    self.monitor_command(spec, argv);
                    return;
                }
            }
        }
        if self.core.shared.replica.is_on() && self.master.is_none() {
            if let Some(reply) = self.refused_on_replica(spec) {
                self.reject(Some(command), reply);
                return;
            }
        }
        // A replica leaves eviction to its master (replica-ignore-maxmemory).
        if let Some(excess) = self
            .core
            .memory_excess()
            .filter(|_| !self.core.shared.replica.is_on())
        {
            if !self.make_room(excess).await && self.refused_when_out_of_memory(spec) {
                self.reject(Some(command), Reply::error(super::evict::OOM));
                return;
            }
        }
        if self.core.shared.persistence.last_bgsave_failed()
            && self.refused_after_failed_save(spec)
            && self
                .core
                .shared
                .persistence
                .refuses_writes(&self.core.db.borrow().config)
        {
            self.reject(Some(command), Reply::error(super::persist::MISCONF));
            return;
        }
        if (spec.is_write() || self.tx.queued.is_some())
            && self.master.is_none()
            && self.lacks_good_replicas(spec)
        {
            self.reject(Some(command), Reply::error(crate::replication::NOREPLICAS));
            return;
        }
        if self.core.shared.pause.is_set() && self.held_by_pause(spec, argv) {
            // Boxed: the wait's state would otherwise grow every command's
            // dispatch future (a measurable cost on the GET path).
            Box::pin(self.wait_while_paused(spec, argv)).await;
            // Then every check again: after a manual failover's pause this
            // node may be a replica, and the command gets MOVED.
            return Box::pin(self.dispatch(argv)).await;
        }
        if self.tx.queued.is_some() && !runs_inside_multi(spec.name) {
            // Redis checks a container's subcommand and its arity before
            // queueing.
            if let Some(error) = subcommand_error(spec, argv) {
                self.reject(Some(command), error);
                return;
            }
            let reply = if spec.flags.contains(&"no_multi") {
                self.reject(
                    Some(command),
                    Reply::error("ERR Command not allowed inside a transaction"),
                );
                return;
            } else {
                self.queue_command(argv)
            };
            self.emit(command, reply);
            return;
        }
        // Coordinated commands are counted after they ran (CONFIG RESETSTAT
        // counts itself, INFO does not see itself), as Redis does.
        if !matches!(spec.exec, Exec::Coord(_)) {
            self.count_call(command, spec, 0);
        }
        if self.subscriber.is_some() && self.in_resp2_subscribed_mode() {
            match spec.name {
                "subscribe" | "ssubscribe" | "psubscribe" | "unsubscribe" | "sunsubscribe"
                | "punsubscribe" | "quit" | "reset" => {}
                "ping" => {
                    // PING in RESP2 subscribed mode answers as a message.
                    let reply = Reply::Array(vec![
                        Reply::bulk_static("pong"),
                        Reply::Bulk(argv.get(1).map(Arg::to_bytes).unwrap_or_default()),
                    ]);
                    self.emit(command, reply);
                    return;
                }
                _ => {
                    let name = self.handle.full_command_name();
                    self.reject(
                        Some(command),
                        Reply::error_owned(format!(
                            "ERR Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
                        )),
                    );
                    return;
                }
            }
        }
        let (run, cross) = match spec.exec {
            Exec::Shard(run) => (run, None),
            Exec::ShardOrCross(run, coord) => (run, Some(coord)),
            Exec::Coord(coord @ (Coord::Psync | Coord::Replconf)) => {
                self.flush_plan().await;
                let reply = match coord {
                    Coord::Psync => self.psync(argv),
                    _ => self.replconf(argv),
                };
                if let Some(reply) = reply {
                    self.emit(command, reply);
                }
                return;
            }
            Exec::Coord(coord) => {
                self.flush_plan().await;
                let reply = self.run_coord_guarded(coord, argv).await;
                self.core.propagate_coordinated(spec, argv, &reply);
                if spec.is_write() {
                    crate::command::notify::coordinated_events(
                        &mut self.core.db.borrow_mut(),
                        spec,
                        argv,
                        &reply,
                    );
                    self.core.publish_events();
                }
                self.emit(command, reply);
                self.monitor_command(spec, argv);
                return;
            }
        };
        match self.route(spec, argv) {
            Route::Keyless => self.run_inline(command, run, argv, None),
            Route::One { core, slot, key } if core == self.core.id => {
                if self.core.command_blocked(spec, argv) {
                    self.wait_for_keys(spec, argv).await;
                }
                self.run_inline(command, run, argv, Some((key, slot)))
            }
            Route::One { core, slot, key } => {
                self.monitor_command(spec, argv);
                self.run_remote(
                    command,
                    core,
                    Op::Command(spec, run, SentArgs::new(argv), Some((key, slot))),
                )
            }
            Route::Many => match cross {
                None => self.emit(
                    command,
                    Reply::error("CROSSSLOT Keys in request don't hash to the same slot"),
                ),
                Some(coord) => {
                    self.flush_plan().await;
                    let reply = self.run_cross(spec, coord, run, argv).await;
                    self.emit(command, reply);
                    self.monitor_command(spec, argv);
                }
            },
        }
    }

    /// A command whose keys span cores: a fan-out (MGET, MSET, DEL...) or
    /// its coordinator.
    pub(super) async fn run_cross(
        &mut self,
        spec: &'static CommandSpec,
        coord: Coord,
        run: ShardFn,
        argv: &[Arg<'_>],
    ) -> Reply {
        match fan_out_merge(coord) {
            Some(merge) => {
                let watch = Stopwatch::start();
                let reply = self.fan_out(spec, merge, run, argv).await;
                let nanos = watch.elapsed_nanos();
                self.record_duration(index_of(spec) as u16, nanos);
                self.command_ran(spec, argv, nanos);
                reply
            }
            None => {
                let reply = self.run_coord_guarded(coord, argv).await;
                self.core.propagate_coordinated(spec, argv, &reply);
                crate::command::notify::coordinated_events(
                    &mut self.core.db.borrow_mut(),
                    spec,
                    argv,
                    &reply,
                );
                self.core.publish_events();
                reply
            }
        }
    }

    /// Cluster routing for a command with keys, through the one gate
    /// (`cluster::route`), with this core's view.
    fn cluster_gate(&self, spec: &'static CommandSpec, argv: &[Arg<'_>], asking: bool) -> Gate {
        self.gate_keys(spec, argv, asking, key_positions(spec, argv))
    }

    fn gate_keys(
        &self,
        spec: &'static CommandSpec,
        argv: &[Arg<'_>],
        asking: bool,
        positions: impl Iterator<Item = usize>,
    ) -> Gate {
        let mut positions = positions.peekable();
        let Some(&first) = positions.peek() else {
            return Gate::Pass;
        };
        let view = self.core.view.borrow();
        let query = Query {
            asking: asking || spec.flags.contains(&"asking"),
            readonly_client: self.readonly,
            readonly_command: !spec.is_write(),
            is_migrate: spec.name == "migrate",
        };
        match route(&view, positions.map(|i| key_hash_slot(&argv[i])), query) {
            Decision::Local => Gate::Pass,
            Decision::Redirect(redirect) => Gate::Refuse(Reply::error(redirect.error_text(&view))),
            Decision::Check(check) => {
                let ask = match check {
                    KeyCheck::Migrating { slot, node } => Redirect::Ask { slot, node },
                    KeyCheck::Importing => Redirect::TryAgain,
                };
                let core = core_of_slot(key_hash_slot(&argv[first]), self.core.cores());
                Gate::Check(core, check, ask.error_text(&view))
            }
        }
    }

    pub(super) async fn run_coord_guarded(&mut self, coord: Coord, argv: &[Arg<'_>]) -> Reply {
        use futures_lite::FutureExt;
        let watch = Stopwatch::start();
        self.waited_nanos = 0;
        let reply = std::panic::AssertUnwindSafe(self.run_coord(coord, argv))
            .catch_unwind()
            .await
            .unwrap_or_else(|_| {
                Reply::error("ERR internal error while executing the command (logged)")
            });
        // A blocking command's time blocked is not its own, as in Redis.
        let nanos = watch.elapsed_nanos().saturating_sub(self.waited_nanos);
        let spec = lookup(&argv[0]);
        if let Some(spec) = spec {
            if matches!(spec.exec, Exec::Coord(_)) {
                self.count_call(index_of(spec) as u16, spec, nanos / 1000);
            }
        }
        if self.core.db.borrow().config.latency_tracking {
            let mut stats = self.core.stats.borrow_mut();
            match spec {
                Some(spec) if self.handle.last_subcommand.borrow().is_empty() => {
                    stats.record_latency(index_of(spec), nanos)
                }
                _ => stats.record_sub_latency(&self.handle.full_command_name(), nanos),
            }
        }
        if let Some(spec) = spec {
            self.command_ran(spec, argv, nanos);
        }
        reply
    }

    /// Counts a call for INFO commandstats. Container commands (CLIENT,
    /// CONFIG, ...) are counted per subcommand, as `config|resetstat`.
    pub(super) fn count_call(&mut self, command: u16, spec: &CommandSpec, usec: u64) {
        let mut stats = self.core.stats.borrow_mut();
        stats.total_commands += 1;
        if spec.is_container() {
            let sub = self.handle.last_subcommand.borrow();
            let entry = stats
                .subcommands
                .entry(format!("{}|{}", spec.name, sub))
                .or_default();
            entry.calls += 1;
            entry.usec += usec;
        } else {
            let entry = &mut stats.commands[command as usize];
            entry.calls += 1;
            entry.usec += usec;
        }
    }

    /// Runs a shard handler on this core. `routed` is the routed key's
    /// position and slot, which the handler reuses instead of rehashing.
    fn run_inline(
        &mut self,
        command: u16,
        run: ShardFn,
        argv: &[Arg<'_>],
        routed: Option<(usize, u16)>,
    ) {
        let watch = Stopwatch::start();
        let reply = {
            let mut db = self.core.db.borrow_mut();
            if let Some((key, slot)) = routed {
                db.set_routed(&argv[key], slot);
            }
            let reply = match crate::command::COMMANDS.get(command as usize) {
                Some(spec) => crate::command::notify::run_notifying(run, &mut db, spec, argv),
                None => crate::command::run_guarded(run, &mut db, argv),
            };
            db.clear_routed();
            reply
        };
        self.core.publish_events();
        let nanos = watch.elapsed_nanos();
        if let Some(spec) = crate::command::COMMANDS.get(command as usize) {
            self.core.after_write(spec, argv, &reply);
            self.command_ran(spec, argv, nanos);
        }
        self.record_duration(command, nanos);
        self.emit(command, reply);
        // After the reply, as Redis feeds its monitors.
        if let Some(spec) = crate::command::COMMANDS.get(command as usize) {
            self.monitor_command(spec, argv);
        }
    }

    /// Adds a call's duration to INFO commandstats and latencystats.
    fn record_duration(&mut self, command: u16, nanos: u64) {
        let tracking = self.core.db.borrow().config.latency_tracking;
        let mut stats = self.core.stats.borrow_mut();
        stats.commands[command as usize].add_nanos(nanos);
        if !tracking {
        } else if self.handle.last_subcommand.borrow().is_empty() {
            stats.record_latency(command as usize, nanos);
        } else {
            stats.record_sub_latency(&self.handle.full_command_name(), nanos);
        }
    }

    fn run_remote(&mut self, command: u16, core: usize, op: Op) {
        let slot = self.plan.slots.len() as u32;
        self.plan.slots.push(Slot {
            command,
            state: SlotState::Pending,
        });
        self.queue(core, op, Target { slot });
    }

    /// A multi-key command over several cores, atomic for every other
    /// client: lock its keys core by core in ascending order, apply every
    /// part (in parallel) and release. See `locks`.
    async fn fan_out(
        &mut self,
        spec: &'static CommandSpec,
        merge_kind: Merge,
        run: ShardFn,
        argv: &[Arg<'_>],
    ) -> Reply {
        let cores = self.core.cores();
        let step = spec.step.max(1) as usize;
        let mut per_core: Vec<Vec<Bytes>> = vec![Vec::new(); cores];
        let mut keys: Vec<Vec<Bytes>> = vec![Vec::new(); cores];
        let mut order = Vec::new();
        for chunk in argv[1..].chunks(step) {
            let core = core_of_slot(key_hash_slot(&chunk[0]), cores);
            if per_core[core].is_empty() {
                per_core[core].push(argv[0].to_bytes());
            }
            order.push((core as u32, ((per_core[core].len() - 1) / step) as u32));
            per_core[core].extend(chunk.iter().map(Arg::to_bytes));
            keys[core].push(chunk[0].to_bytes());
        }
        let mode = if spec.is_write() {
            Mode::Exclusive
        } else {
            Mode::Shared
        };
        // Inside EXEC the keys are already locked by the transaction.
        let (transaction, lock) = match self.tx.exec_transaction {
            Some(transaction) => (transaction, false),
            None => (self.core.next_transaction(), true),
        };
        for (core, core_keys) in keys.into_iter().enumerate() {
            if lock && !core_keys.is_empty() {
                self.on_core(
                    core,
                    Op::Lock {
                        transaction,
                        keys: core_keys,
                        mode,
                    },
                )
                .await;
            }
        }
        let ops = per_core
            .into_iter()
            .map(|sub_argv| {
                (!sub_argv.is_empty()).then(|| Op::Locked {
                    transaction,
                    run,
                    argv: sub_argv,
                    release: lock,
                    command: Some(spec),
                })
            })
            .collect();
        let parts = self
            .on_each(ops)
            .await
            .into_iter()
            .map(|reply| {
                reply.unwrap_or_else(|| match merge_kind {
                    Merge::Sum => Reply::Int(0),
                    Merge::AllOk => Reply::ok(),
                    Merge::Values => Reply::Array(vec![]),
                })
            })
            .collect();
        merge(Gather {
            merge: merge_kind,
            parts,
            order,
        })
    }

    /// Waits while a multi-core command holds locks on this command's keys.
    async fn wait_for_keys(&self, spec: &CommandSpec, argv: &[Arg<'_>]) {
        std::future::poll_fn(|cx| {
            if self.core.command_blocked(spec, argv) {
                self.core.locks.borrow().wait(cx.waker());
                std::task::Poll::Pending
            } else {
                std::task::Poll::Ready(())
            }
        })
        .await
    }
}

/// For a container command: an unknown subcommand, or a known one with the
/// wrong number of arguments, as Redis refuses them before running.
pub(super) fn subcommand_error(spec: &CommandSpec, argv: &[Arg<'_>]) -> Option<Reply> {
    let known = crate::command::table::subcommands(spec.name);
    if !spec.is_container() || argv.len() < 2 || known.is_empty() {
        return None;
    }
    let sub = String::from_utf8_lossy(&argv[1]).to_ascii_lowercase();
    if !known.contains(&sub.as_str()) {
        return Some(errors::unknown_subcommand(spec.name, &argv[1]));
    }
    let fullname = format!("{}|{}", spec.name, sub);
    let arity = crate::command::introspect::doc(&fullname)?.arity;
    let argc = argv.len() as i32;
    let fits = if arity >= 0 {
        argc == arity
    } else {
        argc >= -arity
    };
    (!fits).then(|| errors::wrong_arity(&fullname))
}

fn fan_out_merge(coord: Coord) -> Option<Merge> {
    match coord {
        Coord::Mget => Some(Merge::Values),
        Coord::Del | Coord::Exists | Coord::Touch => Some(Merge::Sum),
        Coord::Mset => Some(Merge::AllOk),
        _ => None,
    }
}

fn merge(gather: Gather) -> Reply {
    if let Some(error) = gather.parts.iter().find(|part| part.is_error()) {
        return error.clone();
    }
    match gather.merge {
        Merge::Sum => Reply::Int(
            gather
                .parts
                .iter()
                .map(|p| if let Reply::Int(n) = p { *n } else { 0 })
                .sum(),
        ),
        Merge::AllOk => Reply::ok(),
        Merge::Values => {
            let mut parts: Vec<Vec<Reply>> = gather
                .parts
                .into_iter()
                .map(|part| {
                    if let Reply::Array(items) = part {
                        items
                    } else {
                        Vec::new()
                    }
                })
                .collect();
            Reply::Array(
                gather
                    .order
                    .iter()
                    .map(|&(part, index)| {
                        parts
                            .get_mut(part as usize)
                            .and_then(|items| items.get_mut(index as usize))
                            .map(|item| std::mem::replace(item, Reply::Nil))
                            .unwrap_or(Reply::Nil)
                    })
                    .collect(),
            )
        }
    }
}

/// An empty vector with `items`' allocation, for items of another type of
/// the same size and alignment (here: the same type with a different
/// lifetime). The standard library collects in place in that case.
/// Arguments' room a connection keeps between reads; a read that needed
/// more gives the rest back.
const SCRATCH_ARGS_KEPT_MAX: usize = 4096;
/// Query buffer a connection keeps once it is empty.
const QUERY_BUFFER_KEPT_MAX: usize = 4 * READ_BYTES_MAX;

/// Empties `items` and frees its room when it is above
/// `SCRATCH_ARGS_KEPT_MAX` entries.
fn shrink_scratch<T>(items: &mut Vec<T>) {
    items.clear();
    if items.capacity() > SCRATCH_ARGS_KEPT_MAX {
        items.shrink_to(SCRATCH_ARGS_KEPT_MAX / 4);
    }
}

fn reuse_vec<T, U>(mut items: Vec<T>) -> Vec<U> {
    items.clear();
    items.into_iter().map(|_| unreachable!()).collect()
}

/// A request decoded from one read: its arguments are `spans[args]`,
/// ranges of the read's bytes, or for an inline command (whose quoting
/// makes them differ from the bytes read) `inline[args]`.
struct Frame {
    args: Range<usize>,
    inline: bool,
    /// Where it starts in the read's bytes.
    start: usize,
}

fn set_keepalive(fd: i32, idle_secs: u64) {
    if idle_secs == 0 {
        return;
    }
    let on: libc::c_int = 1;
    let idle = idle_secs.min(i32::MAX as u64) as libc::c_int;
    let interval = (idle / 3).max(1);
    let size = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: setsockopt with pointers to live c_ints of the stated size.
    unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_KEEPALIVE,
            &on as *const _ as *const libc::c_void,
            size,
        );
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_KEEPIDLE,
            &idle as *const _ as *const libc::c_void,
            size,
        );
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_KEEPINTVL,
            &interval as *const _ as *const libc::c_void,
            size,
        );
    }
}

pub async fn serve(core: Rc<Core>, mut stream: TcpStream) {
    let (maxclients, keepalive, timeout) = {
        let db = core.db.borrow();
        (
            db.config.maxclients,
            db.config.tcp_keepalive_secs,
            db.config.timeout_secs,
        )
    };
    core.stats.borrow_mut().total_connections += 1;
    let connected = core
        .shared
        .connected_clients
        .fetch_add(1, Ordering::Relaxed)
        + 1;
    if connected as u64 > maxclients {
        core.shared
            .connected_clients
            .fetch_sub(1, Ordering::Relaxed);
        core.stats.borrow_mut().rejected_connections += 1;
        let _ = stream
            .write_all(b"-ERR max number of clients reached\r\n")
            .await;
        return;
    }
    let _ = stream.set_nodelay(true);
    set_keepalive(stream.as_raw_fd(), keepalive);
    let read_timeout = (timeout > 0).then(|| std::time::Duration::from_secs(timeout));
    serve_connection(core, stream, read_timeout, None, BytesMut::new()).await;
}

/// A replica's link to its master, once synced: the master's stream is
/// applied as this connection's commands (see `replica_link`). `initial`
/// is what was read after the snapshot. Returns when the link is gone.
pub async fn serve_master(core: Rc<Core>, stream: TcpStream, initial: BytesMut, generation: u64) {
    core.stats.borrow_mut().total_connections += 1;
    core.shared
        .connected_clients
        .fetch_add(1, Ordering::Relaxed);
    let timeout_secs: u64 = {
        let db = core.db.borrow();
        crate::config::inert::get(&db.config, "repl-timeout", "60")
            .parse()
            .unwrap_or(60)
    };
    let now = crate::command::now_ms();
    let offset = core.shared.replica.offset();
    let link = MasterLink {
        generation,
        offset,
        applied: offset,
        pending: BytesMut::new(),
        multi_start: offset,
        frame_offset: offset,
        last_io_ms: now,
        last_ack_ms: 0,
        timeout_ms: timeout_secs * 1000,
    };
    // The read wakes up every second to acknowledge the offset.
    let tick = Some(std::time::Duration::from_secs(1));
    serve_connection(core.clone(), stream, tick, Some(link), initial).await;
    core.shared.replica.leave_batch();
}

async fn serve_connection(
    core: Rc<Core>,
    mut stream: TcpStream,
    read_timeout: Option<std::time::Duration>,
    master: Option<MasterLink>,
    initial: BytesMut,
) {
    // Reads wait on the core's epoll instance (see `readiness`); should the
    // registration fail, on glommio's own poll, as before.
    let mut registration = match core.readiness.register(stream.as_raw_fd()) {
        Ok(registration) => Some(registration),
        Err(error) => {
            warning!(
                "Could not register a client socket for epoll ({error}); using glommio's poll"
            );
            let _ = stream.set_read_timeout(read_timeout);
            None
        }
    };
    let unspecified = std::net::SocketAddr::from(([0, 0, 0, 0], 0));
    let handle = Rc::new(ClientHandle::new(
        core.shared.next_client_id.fetch_add(1, Ordering::Relaxed),
        stream.as_raw_fd(),
        stream.peer_addr().unwrap_or(unspecified),
        stream.local_addr().unwrap_or(unspecified),
        crate::command::now_ms(),
    ));
    core.clients
        .borrow_mut()
        .by_id
        .insert(handle.id, handle.clone());
    core.stats.borrow_mut().connected_clients += 1;
    handle.master.set(master.is_some());
    let mut conn = Conn::with_handle(core.clone(), handle.clone(), master);
    if conn.master.is_some() {
        // At once: a master that streamed the snapshot waits for it.
        conn.acknowledge();
    }
    let mut io = ClientIo {
        stream: &mut stream,
        registration: registration.as_mut(),
        timeout: read_timeout,
    };
    conn.run(&mut io, initial).await;
    // Out of the epoll instance before the socket closes.
    drop(registration);
    if let Some(handover) = conn.handover.take() {
        let conf = std::mem::take(&mut conn.replica_conf);
        super::replicate::hand_over(&core, stream.as_raw_fd(), &handle, conf, handover).await;
    }
    conn.forget_subscriptions();
    conn.unwatch_all().await;
    core.clients.borrow_mut().by_id.remove(&handle.id);
    core.stats.borrow_mut().connected_clients -= 1;
    core.shared
        .connected_clients
        .fetch_sub(1, Ordering::Relaxed);
}

impl Conn {
    /// The client that runs an append-only file's commands at startup
    /// (Redis's fake AOF client): no socket, no replies, and the master
    /// client's standing (no cluster redirects, no refusals on a replica).
    pub(super) fn loader(core: Rc<Core>) -> Conn {
        let unspecified = std::net::SocketAddr::from(([0, 0, 0, 0], 0));
        let handle = Rc::new(ClientHandle::new(
            core.shared.next_client_id.fetch_add(1, Ordering::Relaxed),
            -1,
            unspecified,
            unspecified,
            crate::command::now_ms(),
        ));
        let link = MasterLink {
            generation: 0,
            offset: 0,
            applied: 0,
            pending: BytesMut::new(),
            multi_start: 0,
            frame_offset: 0,
            last_io_ms: 0,
            last_ack_ms: 0,
            timeout_ms: 0,
        };
        Conn::with_handle(core, handle, Some(link))
    }

    /// A connection's state at its start; the master client (`master`)
    /// needs no AUTH and gets no replies.
    fn with_handle(core: Rc<Core>, handle: Rc<ClientHandle>, master: Option<MasterLink>) -> Conn {
        let from_master = master.is_some();
        Conn {
            core,
            handle,
            resp3: false,
            authenticated: from_master,
            close_after_reply: false,
            reply_mode: if from_master {
                ReplyMode::Off
            } else {
                ReplyMode::On
            },
            out: Vec::with_capacity(READ_BYTES_MIN),
            asking: false,
            readonly: false,
            subscriber: None,
            tx: TxState::default(),
            plan: Plan::default(),
            slot_hint: KnownSlot::NONE,
            last_spec: None,
            waited_nanos: 0,
            nested: 0,
            replica_conf: Default::default(),
            handover: None,
            has_written: false,
            wrote_in_read: false,
            write_offset: 0,
            master,
        }
    }
}

/// A client socket's two directions: reads through the core's epoll
/// instance (or glommio's poll); writes straight to the socket, and through
/// glommio for what the socket did not take at once.
struct ClientIo<'a> {
    stream: &'a mut TcpStream,
    registration: Option<&'a mut readiness::Registration>,
    /// The `timeout` directive: an idle client's read fails with TimedOut.
    timeout: Option<std::time::Duration>,
}

impl ClientIo<'_> {
    /// Reads up to `bytes_max` bytes onto the end of `buf`: how many, 0 at
    /// end of stream. The bytes go into the buffer's spare capacity, which
    /// is not zeroed first.
    async fn read(&mut self, buf: &mut BytesMut, bytes_max: usize) -> std::io::Result<usize> {
        let filled = buf.len();
        buf.reserve(bytes_max);
        let Some(registration) = self.registration.as_mut() else {
            // glommio applies the timeout itself.
            buf.resize(filled + bytes_max, 0);
            let result = self.stream.read(&mut buf[filled..]).await;
            buf.truncate(filled + result.as_ref().map_or(0, |count| *count));
            return result;
        };
        let spare = &mut buf.spare_capacity_mut()[..bytes_max];
        let result = match self.timeout {
            None => registration.read(spare).await,
            Some(timeout) => {
                let expired = async {
                    glommio::timer::sleep(timeout).await;
                    Err(std::io::ErrorKind::TimedOut.into())
                };
                futures_lite::future::or(registration.read(spare), expired).await
            }
        };
        if let Ok(count) = result {
            // SAFETY: the read initialized the first `count` bytes of the
            // spare capacity (`count` is at most its length).
            unsafe { buf.set_len(filled + count) };
        }
        result
    }
}

impl Conn {
    /// The master client's REPLCONF ACK with the offset of the command
    /// running (REPLCONF GETACK) or of everything applied.
    pub(super) fn acknowledge(&mut self) {
        let Some(link) = self.master.as_mut() else {
            return;
        };
        link.last_ack_ms = crate::command::now_ms();
        let offset = link.frame_offset.to_string();
        crate::replication::encode_command(&["REPLCONF", "ACK", &offset], &mut self.out);
    }

    /// The master client, after a read (`read`) or a second without one:
    /// false when the link must end (the target changed, or the master was
    /// silent for `repl-timeout`); acknowledges once a second.
    fn master_tick(&mut self, read: bool) -> bool {
        let now = crate::command::now_ms();
        let replica = &self.core.shared.replica;
        let Some(link) = self.master.as_mut() else {
            return true;
        };
        if !replica.is_current(link.generation) {
            return false;
        }
        if read {
            link.last_io_ms = now;
            replica.touch(now);
        } else if now.saturating_sub(link.last_io_ms) > link.timeout_ms {
            warning!("MASTER timeout: no data nor PING received...");
            return false;
        }
        if !read && now.saturating_sub(link.last_ack_ms) >= 1000 {
            self.acknowledge();
        }
        true
    }

    /// Sends what the output holds: at once when the socket takes it all,
    /// as it nearly always does, else the rest through glommio, which
    /// waits for room.
    async fn write_out(&mut self, io: &mut ClientIo<'_>) -> std::io::Result<()> {
        if self.out.is_empty() {
            return Ok(());
        }
        self.core.stats.borrow_mut().net_output_bytes += self.out.len() as u64;
        let sent = readiness::send_now(io.stream.as_raw_fd(), &self.out)?;
        if sent < self.out.len() {
            io.stream.write_all(&self.out[sent..]).await?;
        }
        self.out.clear();
        if self.out.capacity() > READ_BYTES_MAX * 4 {
            self.out.shrink_to(READ_BYTES_MIN);
        }
        Ok(())
    }

    /// Before a read's commands run: hashes each request's second argument
    /// (the first key of most commands) and, when this core owns its slot,
    /// asks for its table, then in a second pass for its bucket and in a
    /// third for its node (`Keyspace::warm_slot`), so that the cache misses
    /// of a pipeline overlap. The slots are kept in `hints` for the router.
    fn prefetch_pass(
        &self,
        chunk: &Bytes,
        frames: &[Frame],
        spans: &[Range<usize>],
        hints: &mut Vec<KnownSlot>,
    ) {
        // Hashing a long argument that turns out not to be a key would
        // waste time; a key this long is hashed by the router instead.
        const HINT_KEY_BYTES_MAX: usize = 256;
        let db = self.core.db.borrow();
        let cores = self.core.cores();
        let key_of = |frame: &Frame| {
            if frame.inline || frame.args.len() < 2 {
                return None;
            }
            let key = &chunk[spans[frame.args.start + 1].clone()];
            (key.len() <= HINT_KEY_BYTES_MAX).then_some(key)
        };
        // A pipeline often repeats a key (a counter, a hot key, a
        // benchmark's one key): a key the same as the one before takes that
        // one's slot, and is not looked ahead for again.
        let mut previous: Option<(&[u8], u16)> = None;
        hints.clear();
        hints.extend(frames.iter().map(|frame| match key_of(frame) {
            Some(key) => match previous {
                Some((last, slot)) if key_eq(last, key) => KnownSlot::new(key, slot),
                _ => {
                    let slot = key_hash_slot(key);
                    if core_of_slot(slot, cores) == self.core.id {
                        db.keyspace.warm_slot(slot);
                    }
                    previous = Some((key, slot));
                    KnownSlot::new(key, slot)
                }
            },
            None => KnownSlot::NONE,
        }));
        let local_keys = || {
            let mut previous: Option<&[u8]> = None;
            frames
                .iter()
                .zip(hints.iter())
                .filter_map(move |(frame, hint)| {
                    let key = key_of(frame)?;
                    if previous.replace(key).is_some_and(|last| key_eq(last, key)) {
                        return None;
                    }
                    let slot = hint.slot_of(key);
                    (core_of_slot(slot, cores) == self.core.id).then_some((slot, key))
                })
        };
        local_keys().for_each(|(slot, key)| db.keyspace.warm_bucket(slot, key));
        local_keys().for_each(|(slot, key)| db.keyspace.warm_key(slot, key));
    }

    async fn run(&mut self, io: &mut ClientIo<'_>, initial: BytesMut) {
        let mut buf = initial;
        buf.reserve(READ_BYTES_MIN);
        let mut read_bytes = READ_BYTES_MIN;
        let mut request = Request::default();
        let mut frames: Vec<Frame> = Vec::new();
        let mut inline_args: Vec<Bytes> = Vec::new();
        let mut spans: Vec<Range<usize>> = Vec::new();
        // The arguments of the request being run; kept empty between reads
        // so that its allocation serves every read.
        let mut argv_store: Vec<Arg<'static>> = Vec::new();
        let mut slot_hints: Vec<KnownSlot> = Vec::new();
        // False when the last round stopped at PIPELINE_DEPTH_MAX with more
        // complete requests already in the buffer: serve those before
        // reading, or a client that sent them all at once would wait forever.
        let mut need_read = buf.is_empty();
        loop {
            if need_read {
                // A read cut short (a subscriber's message came first) may
                // leave glommio's zeroed room behind: back to this.
                let filled = buf.len();
                let read = match self.subscriber.clone() {
                    // A subscriber also wakes up for messages to deliver.
                    Some(subscriber) => {
                        let reading = async { Some(io.read(&mut buf, read_bytes).await) };
                        let pushed = async {
                            subscriber.ready().await;
                            None
                        };
                        futures_lite::future::or(reading, pushed).await
                    }
                    None => Some(io.read(&mut buf, read_bytes).await),
                };
                let count = match read {
                    None => {
                        buf.truncate(filled);
                        if self.handle.killed.get() {
                            break;
                        }
                        self.write_pushes();
                        if self.write_out(io).await.is_err() {
                            break;
                        }
                        continue;
                    }
                    // Subscribers and monitors are not subject to the idle
                    // timeout.
                    Some(Err(error))
                        if error.kind() == std::io::ErrorKind::TimedOut
                            && (self.subscriber.as_ref().is_some_and(|s| s.active())
                                || self.handle.monitor.get()) =>
                    {
                        buf.truncate(filled);
                        continue;
                    }
                    // The master link's second tick.
                    Some(Err(error))
                        if error.kind() == std::io::ErrorKind::TimedOut
                            && self.master.is_some() =>
                    {
                        buf.truncate(filled);
                        if !self.master_tick(false) || self.write_out(io).await.is_err() {
                            break;
                        }
                        continue;
                    }
                    Some(Ok(0) | Err(_)) => break,
                    Some(Ok(count)) => count,
                };
                if self.master.is_some() && !self.master_tick(true) {
                    break;
                }
                read_bytes = if count == read_bytes {
                    (read_bytes * 2).min(READ_BYTES_MAX)
                } else {
                    READ_BYTES_MIN.max(count)
                };
                self.core.stats.borrow_mut().net_input_bytes += count as u64;
            }
            if self.handle.killed.get() {
                break;
            }
            if let Some(link) = &self.master {
                // A snapshot for this node's own replicas may hold the
                // link; a promotion ends it.
                let replica = &self.core.shared.replica;
                replica.enter_batch().await;
                if !replica.is_current(link.generation) {
                    replica.leave_batch();
                    break;
                }
            }
            let (limits, buffer_limit) = {
                let db = self.core.db.borrow();
                let unauthenticated = !self.authenticated && db.config.requirepass.is_some();
                let limits = Limits {
                    bulk_bytes_max: db.config.proto_max_bulk_len as i64,
                    unauthenticated,
                };
                (limits, db.config.client_query_buffer_limit as usize)
            };
            // Decode every complete request in the buffer.
            frames.clear();
            spans.clear();
            inline_args.clear();
            let mut consumed = 0;
            let mut protocol_error = None;
            while frames.len() < PIPELINE_DEPTH_MAX {
                match decode(&buf[consumed..], &limits, &mut request) {
                    Ok(Progress::Complete { consumed: used }) => {
                        if request.spans.is_empty() {
                            // An empty line or `*0`: nothing to run.
                        } else if request.is_inline {
                            let first = inline_args.len();
                            inline_args.extend(request.spans.iter().map(|r| {
                                Bytes::copy_from_slice(&request.inline_storage[r.clone()])
                            }));
                            frames.push(Frame {
                                args: first..inline_args.len(),
                                inline: true,
                                start: consumed,
                            });
                        } else {
                            let first = spans.len();
                            spans.extend(
                                request
                                    .spans
                                    .iter()
                                    .map(|r| r.start + consumed..r.end + consumed),
                            );
                            frames.push(Frame {
                                args: first..spans.len(),
                                inline: false,
                                start: consumed,
                            });
                        }
                        consumed += used;
                    }
                    Ok(Progress::Incomplete { frame_bytes_min }) => {
                        // Room for a big bulk at once, but never a huge
                        // allocation on a client's word alone.
                        const RESERVE_BYTES_MAX: usize = 16 * 1024 * 1024;
                        let have = buf.len() - consumed;
                        if frame_bytes_min > have {
                            buf.reserve((frame_bytes_min - have).min(RESERVE_BYTES_MAX));
                        }
                        break;
                    }
                    Err(error) => {
                        protocol_error = Some(error);
                        break;
                    }
                }
            }
            need_read = frames.len() < PIPELINE_DEPTH_MAX || protocol_error.is_some();
            // CLIENT LIST's qbuf: while its commands run, the whole read,
            // as Redis trims its query buffer only after them.
            self.handle.query_buffer_bytes.set(buf.len());
            let chunk = buf.split_to(consumed).freeze();
            self.core.db.borrow_mut().refresh_clock();
            self.handle
                .last_command_ms
                .set(self.core.db.borrow().now_ms);
            self.prefetch_pass(&chunk, &frames, &spans, &mut slot_hints);
            let mut argv: Vec<Arg<'_>> = reuse_vec(std::mem::take(&mut argv_store));
            for (frame, hint) in frames.iter().zip(slot_hints.iter()) {
                if let Some(link) = self.master.as_mut() {
                    link.frame_offset = link.offset + frame.start as i64;
                }
                self.slot_hint = *hint;
                argv.clear();
                if frame.inline {
                    argv.extend(inline_args[frame.args.clone()].iter().map(Arg::new));
                } else {
                    argv.extend(
                        spans[frame.args.clone()]
                            .iter()
                            .map(|r| Arg::slice(&chunk, r.clone())),
                    );
                }
                self.dispatch(&argv).await;
                if self.close_after_reply {
                    break;
                }
            }
            argv_store = reuse_vec(argv);
            frames.clear();
            slot_hints.clear();
            self.slot_hint = KnownSlot::NONE;
            let forward = self.master.is_some().then(|| chunk.clone());
            drop(chunk);
            self.flush_plan().await;
            if let (Some(link), Some(chunk)) = (self.master.as_mut(), forward) {
                link.offset += consumed as i64;
                link.pending.extend_from_slice(&chunk);
                let applied = match self.tx.queued {
                    Some(_) => link.multi_start,
                    None => link.offset,
                };
                let ready = (applied - link.applied).clamp(0, link.pending.len() as i64);
                let ready = link.pending.split_to(ready as usize);
                link.applied = applied;
                link.frame_offset = applied;
                let replica = &self.core.shared.replica;
                replica.set_offset(applied);
                self.core
                    .shared
                    .replication
                    .forward(link.generation, ready.freeze());
                replica.leave_batch();
                if link.last_io_ms.saturating_sub(link.last_ack_ms) >= 1000 {
                    self.acknowledge();
                }
            }
            // A huge request (SADD of 100 000 members) leaves room for its
            // arguments behind: give it back, as Redis frees a request's
            // argv and trims a big idle query buffer.
            shrink_scratch(&mut argv_store);
            shrink_scratch(&mut spans);
            shrink_scratch(&mut request.spans);
            if buf.is_empty() && buf.capacity() > QUERY_BUFFER_KEPT_MAX {
                buf = BytesMut::with_capacity(READ_BYTES_MIN);
            }
            self.handle.query_buffer_bytes.set(buf.len());
            if let Some(error) = &protocol_error {
                warning!(
                    "Protocol error ({}) from client: id={} addr={}",
                    error.0,
                    self.handle.id,
                    self.handle.addr
                );
                crate::protocol::reply::encode_error(&format!("ERR {}", error.0), &mut self.out);
                self.close_after_reply = true;
            }
            if buf.len() > buffer_limit {
                warning!(
                    "Closing client that reached max query buffer length: id={} addr={}",
                    self.handle.id,
                    self.handle.addr
                );
                self.close_after_reply = true;
            }
            if std::mem::take(&mut self.wrote_in_read) && self.core.shared.replication.aof_always()
            {
                self.wait_for_aof_fsync().await;
            }
            // Let every other connection that became readable in this turn
            // run its commands first, so that the replies go out together,
            // as Redis writes them all before it sleeps. A client waiting in
            // epoll is then woken once per burst rather than once per reply:
            // each wake-up is an inter-processor interrupt, and sending one
            // per connection cost 15% of the CPU at P16.
            if !self.out.is_empty() {
                futures_lite::future::yield_now().await;
            }
            if self.write_out(io).await.is_err() {
                break;
            }
            if self.close_after_reply || self.handle.killed.get() {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_words_tell_every_spelling_apart() {
        assert_eq!(name_word(b"SET"), name_word(b"SET"));
        assert_ne!(name_word(b"SET"), name_word(b"set"));
        assert_ne!(name_word(b"SET"), name_word(b"SET\0"));
        assert_ne!(name_word(b""), name_word(b"\0"));
        assert!(name_word(b"HGETALL").is_some());
        assert_eq!(name_word(b"SMEMBERS"), None);
        assert_eq!(name_word(b"ZRANGEBYSCORE"), None);
    }

    #[test]
    fn reuse_vec_keeps_the_allocation() {
        let source = Bytes::from_static(b"GET key");
        let mut args: Vec<Arg<'_>> = Vec::with_capacity(16);
        args.push(Arg::slice(&source, 0..3));
        let pointer = args.as_ptr() as usize;
        let kept: Vec<Arg<'static>> = reuse_vec(args);
        assert!(kept.is_empty());
        assert_eq!(kept.capacity(), 16);
        assert_eq!(kept.as_ptr() as usize, pointer);
    }
}
