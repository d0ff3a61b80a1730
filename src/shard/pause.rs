//! CLIENT PAUSE / CLIENT UNPAUSE (Redis's pauseClients, with the CLIENT
//! command as its one purpose here).
//!
//! The pause is node-wide: its kind and end time live in `Shared`, and a
//! connection about to run a command reads the kind (one relaxed load, on
//! every core; nothing else is on the request path while no pause is set).
//! Under a pause that holds the command (ALL: every command; WRITE: writes,
//! PUBLISH, SPUBLISH, PFCOUNT, and an EXEC whose queue has one of those),
//! the connection waits, counted in `blocked_clients` and flagged `b` in
//! CLIENT LIST, until the pause ends or CLIENT UNPAUSE wakes every core's
//! waiters. The check comes where Redis's processCommand has it: after the
//! arity, authentication, cluster and memory checks, before a transaction
//! queues the command, so a command with a wrong arity is answered at once
//! and a CLIENT PAUSE inside MULTI takes effect after EXEC. While any pause
//! is in force, keys whose time has come are neither expired (they read as
//! missing, as in Redis) nor evicted.

use super::blocking::BlockedGauge;
use super::conn::Conn;
use super::mesh::Op;
use super::Core;
use crate::command::{lookup, CommandSpec};
use crate::protocol::{args_of, Arg, Reply};
use bytes::Bytes;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

const OFF: u8 = 0;
const WRITE: u8 = 1;
const ALL: u8 = 2;

/// The pauses in force: CLIENT PAUSE's kind and end, and the write pause
/// of a coordinated manual failover (Redis's PAUSE_DURING_FAILOVER purpose:
/// CLIENT UNPAUSE leaves it alone). `set` sums them up for the one load
/// every command pays.
#[derive(Default)]
pub struct ClientPause {
    set: AtomicU8,
    kind: AtomicU8,
    end_ms: AtomicU64,
    failover_end_ms: AtomicU64,
}

impl ClientPause {
    /// True while a pause is set (perhaps already past its end): the one
    /// load every command pays.
    #[inline]
    pub fn is_set(&self) -> bool {
        self.set.load(Ordering::Relaxed) != OFF
    }

    /// The end of the pause in force at `now_ms` that holds a command:
    /// any command under ALL, `write_like` ones under WRITE and under a
    /// manual failover's pause.
    pub fn holds(&self, now_ms: u64, write_like: bool) -> Option<u64> {
        let kind = self.kind.load(Ordering::Acquire);
        let end = self.end_ms.load(Ordering::Acquire);
        let failover_end = self.failover_end_ms.load(Ordering::Acquire);
        let client = (kind == ALL || (kind == WRITE && write_like)) && now_ms < end;
        let failover = write_like && now_ms < failover_end;
        match (client, failover) {
            (true, true) => Some(end.max(failover_end)),
            (true, false) => Some(end),
            (false, true) => Some(failover_end),
            (false, false) => None,
        }
    }

    /// True while a pause of any kind is in force.
    pub fn in_force(&self, now_ms: u64) -> bool {
        (self.kind.load(Ordering::Acquire) != OFF && now_ms < self.end_ms.load(Ordering::Acquire))
            || now_ms < self.failover_end_ms.load(Ordering::Acquire)
    }

    /// Pauses until `end_ms`; a pause already in force keeps the later end
    /// and the stricter kind (ALL over WRITE), as Redis merges them.
    fn pause(&self, all: bool, end_ms: u64, now_ms: u64) {
        let (mut kind, mut end) = (if all { ALL } else { WRITE }, end_ms);
        let kind_now = self.kind.load(Ordering::Acquire);
        if kind_now != OFF && now_ms < self.end_ms.load(Ordering::Acquire) {
            kind = kind.max(kind_now);
            end = end.max(self.end_ms.load(Ordering::Acquire));
        }
        self.end_ms.store(end, Ordering::Release);
        self.kind.store(kind, Ordering::Release);
        self.sum_up();
    }

    fn unpause(&self) {
        self.kind.store(OFF, Ordering::Release);
        self.end_ms.store(0, Ordering::Release);
        self.sum_up();
    }

    /// A manual failover's write pause until `end_ms` (0: over).
    pub fn set_failover(&self, end_ms: u64) {
        self.failover_end_ms.store(end_ms, Ordering::Release);
        self.sum_up();
    }

    fn sum_up(&self) {
        let failover = self.failover_end_ms.load(Ordering::Acquire) != 0;
        let set = self
            .kind
            .load(Ordering::Acquire)
            .max(if failover { WRITE } else { OFF });
        self.set.store(set, Ordering::Release);
    }
}

/// Commands Redis flags `may-replicate` (7.0): held by a WRITE pause as
/// writes are.
pub(super) fn may_replicate(spec: &CommandSpec) -> bool {
    matches!(
        spec.name,
        "publish" | "spublish" | "pfcount" | "eval" | "evalsha"
    )
}

/// Wakes a core's paused connections so they look at the pause again
/// (CLIENT UNPAUSE, or a pause that changed), and tells its keyspace
/// whether expiry is paused. argv: ["1"] while a pause is in force.
pub(super) fn pause_changed_core(core: &Core, argv: &[crate::protocol::Arg<'_>]) -> Reply {
    core.db.borrow_mut().keyspace.expiry_paused =
        argv.first().is_some_and(|a| a.as_bytes() == b"1");
    for waker in core.pause_waiters.borrow_mut().drain(..) {
        waker.wake();
    }
    Reply::ok()
}

impl Core {
    /// The cron tick's check: a pause whose time ran out lets expiry go on.
    pub(super) fn end_expired_pause(&self) {
        let mut db = self.db.borrow_mut();
        if db.keyspace.expiry_paused && !self.shared.pause.in_force(db.now_ms) {
            db.keyspace.expiry_paused = false;
        }
    }

    /// The cluster bus started (`end_ms` > 0) or ended a manual failover's
    /// write pause, which holds writes until the replica caught up and took
    /// over: every core hears it and wakes its paused connections, which
    /// then go through the cluster checks again (MOVED, once the slots
    /// moved). While it lasts the replication stream sends no PING, so the
    /// offset the bus reports stays put.
    pub(super) fn failover_pause(self: &std::rc::Rc<Self>, end_ms: u64) {
        self.shared.pause.set_failover(end_ms);
        // Core 0 tells the bus once the pause has settled.
        if self.id == 0 && end_ms != 0 {
            let core = self.clone();
            glommio::spawn_local(async move { core.settle_failover_pause(end_ms).await }).detach();
        }
        self.shared.replication.hold_pings(end_ms != 0);
        let in_force = self.shared.pause.in_force(crate::command::now_ms());
        self.db.borrow_mut().keyspace.expiry_paused = in_force;
        for waker in self.pause_waiters.borrow_mut().drain(..) {
            waker.wake();
        }
    }

    /// Once the pause (shared: every core's commands see it now) is in
    /// force, waits until every write that passed the check before it is
    /// in the replication stream: a fence on every core waits out the
    /// multi-core commands under way, each core hands its records to the
    /// hub, and the hub has published the offset. Then the bus may say
    /// PAUSED with an offset that will not move (`failover_settled`).
    async fn settle_failover_pause(&self, end_ms: u64) {
        let fence = self.next_transaction();
        for core in 0..self.cores() {
            self.on_core(core, Op::Fence(fence)).await;
        }
        let fence_id = bytes::Bytes::from(fence.to_string());
        self.on_all(|| Op::Core(settle_core, vec![fence_id.clone()]))
            .await;
        let replication = &self.shared.replication;
        let (_, offset, _) = replication.state().await;
        let in_force = || self.shared.pause.in_force(crate::command::now_ms());
        while replication.published().offset < offset && in_force() {
            glommio::timer::sleep(std::time::Duration::from_millis(1)).await;
        }
        if in_force() {
            self.shared
                .failover_settled
                .store(end_ms, std::sync::atomic::Ordering::Release);
        }
    }

    /// True while a CLIENT PAUSE is in force (eviction waits for its end).
    pub(super) fn paused(&self) -> bool {
        self.shared.pause.is_set() && self.shared.pause.in_force(crate::command::now_ms())
    }
}

/// Resolves once the core's paused connections are woken.
struct PauseChanged<'a> {
    core: &'a Core,
    registered: bool,
}

impl Future for PauseChanged<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.registered {
            return Poll::Ready(());
        }
        self.core
            .pause_waiters
            .borrow_mut()
            .push(cx.waker().clone());
        self.registered = true;
        Poll::Pending
    }
}

impl Conn {
    /// True when a WRITE pause holds this command: a write, a
    /// may-replicate command, or an EXEC with one of those queued.
    fn write_like(&self, spec: &CommandSpec, argv: &[Arg<'_>]) -> bool {
        let held = |spec: &CommandSpec, argv: &[Arg<'_>]| {
            spec.is_write() || (may_replicate(spec) && self.script_may_write(spec, argv))
        };
        held(spec, argv)
            || (spec.name == "exec"
                && self.tx.queued.as_ref().is_some_and(|queued| {
                    queued.iter().any(|argv| {
                        argv.first()
                            .and_then(|name| lookup(name))
                            .is_some_and(|spec| held(spec, &args_of(argv)))
                    })
                }))
    }

    /// EVAL and EVALSHA write unless their script says no-writes in a
    /// `#!lua` line (Redis computes their flags from the script's); a SHA1
    /// not loaded counts as a write, as in Redis.
    fn script_may_write(&self, spec: &CommandSpec, argv: &[Arg<'_>]) -> bool {
        let body = match spec.name {
            "eval" => argv.get(1).map(Arg::to_bytes),
            "evalsha" => argv
                .get(1)
                .and_then(|sha| self.core.shared.scripts.body(&String::from_utf8_lossy(sha))),
            _ => return true,
        };
        match body.map(|body| crate::script::parse_shebang(&body)) {
            Some(Ok((flags, _))) => flags.compat || !flags.no_writes,
            _ => true,
        }
    }

    /// True when a CLIENT PAUSE in force holds `spec` back now.
    pub(super) fn held_by_pause(&self, spec: &CommandSpec, argv: &[Arg<'_>]) -> bool {
        let write_like = self.write_like(spec, argv);
        self.core
            .shared
            .pause
            .holds(crate::command::now_ms(), write_like)
            .is_some()
    }

    /// Waits while a CLIENT PAUSE holds `spec` back (see the module).
    pub(super) async fn wait_while_paused(&mut self, spec: &CommandSpec, argv: &[Arg<'_>]) {
        let write_like = self.write_like(spec, argv);
        // The commands before this one in the pipeline run now.
        self.flush_plan().await;
        let core = self.core.clone();
        let _gauge = BlockedGauge::new(&core, false);
        self.handle.blocked.set(true);
        while let Some(end) = core
            .shared
            .pause
            .holds(crate::command::now_ms(), write_like)
        {
            let wait = Duration::from_millis(end.saturating_sub(crate::command::now_ms()).max(1));
            let woken = PauseChanged {
                core: &core,
                registered: false,
            };
            futures_lite::future::or(woken, glommio::timer::sleep(wait)).await;
        }
        self.handle.blocked.set(false);
    }

    /// CLIENT PAUSE timeout [WRITE|ALL].
    pub(super) async fn client_pause(&mut self, argv: &[crate::protocol::Arg<'_>]) -> Reply {
        let all = match argv.get(3) {
            None => true,
            Some(mode) if mode.eq_ignore_ascii_case(b"write") => false,
            Some(mode) if mode.eq_ignore_ascii_case(b"all") => true,
            Some(_) => return Reply::error("ERR CLIENT PAUSE mode must be WRITE or ALL"),
        };
        let Some(millis) = crate::command::parse_int(&argv[2]) else {
            return Reply::error("ERR timeout is not an integer or out of range");
        };
        if millis < 0 {
            return Reply::error("ERR timeout is negative");
        }
        let now = crate::command::now_ms();
        // A timeout of 0 ends at 0: a pause already over, as in Redis.
        // Redis 7.0 adds the timeout to the time unchecked: one that
        // overflows ends in the past too.
        let end = if millis == 0 {
            0
        } else {
            (now as i64).wrapping_add(millis).max(0) as u64
        };
        self.core.shared.pause.pause(all, end, now);
        self.pause_changed().await;
        Reply::ok()
    }

    /// CLIENT UNPAUSE.
    pub(super) async fn client_unpause(&mut self) -> Reply {
        self.core.shared.pause.unpause();
        self.pause_changed().await;
        Reply::ok()
    }

    async fn pause_changed(&mut self) {
        let in_force = self.core.shared.pause.in_force(crate::command::now_ms());
        let argv = vec![Bytes::from_static(if in_force { b"1" } else { b"0" })];
        self.on_all(|| Op::Core(pause_changed_core, argv.clone()))
            .await;
    }
}

/// A manual failover pause settling on one core (fenced): its expiry is
/// paused, its records go to the hub, and the fence (its id the argument)
/// comes down.
fn settle_core(core: &Core, argv: &[crate::protocol::Arg<'_>]) -> crate::protocol::Reply {
    {
        let mut db = core.db.borrow_mut();
        let now = db.now_ms;
        db.keyspace.expiry_paused = core.shared.pause.in_force(now);
    }
    core.flush_feed();
    core.locks
        .borrow_mut()
        .remove_fence(super::replicate::barrier_of(argv).unwrap_or(0));
    crate::protocol::Reply::ok()
}
