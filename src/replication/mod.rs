//! Replication, master side: Redis 7.0's PSYNC protocol, so that real
//! Redis replicas (and `redis-cli --rdb`) replicate from slotcore.
//!
//! Every core records the writes it runs, as the commands Redis would
//! propagate (`command::propagate`), into its own feed; once per turn the feed
//! goes to the hub, a thread of its own, over one channel that all cores
//! share. The hub's stream is the order in which the feeds arrive: each
//! core's writes keep their order, and every key lives on one core, so a
//! replica applies each key's writes in the master's order.
//!
//! The hub appends the stream to the backlog (`repl-backlog-size`) and to
//! every online replica, each served by a writer thread and a reader
//! thread (REPLCONF ACK) on the socket its connection handed over.
//!
//! Barriers. Some points must fall at one place in the stream for every
//! core at once: a full sync's snapshot cut, and FLUSHALL. Each core sends
//! a barrier mark into the channel at its own point (after its writes
//! before that point). The hub holds back what a core sends after its mark
//! until every core's mark arrived, then acts (notes the sync's offset, or
//! appends FLUSHALL) and releases the held writes. Each core's order is
//! kept, and the stream has one point where every core is past the
//! barrier.
//!
//! On a replica the hub carries its master's stream instead, byte for
//! byte and at the master's offsets (Redis's PSYNC2): the master link
//! forwards what it applied, and the cores record nothing. A replica made a
//! master keeps its backlog and moves its replication id to `replid2`, so
//! that its old siblings (and its old master, which asks with its own id
//! and offset) continue from it with a partial resync.

use bytes::Bytes;
use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

pub use crate::command::propagate::encode_command;

pub mod aof;
pub mod link;

/// A write refused by `min-replicas-to-write`.
pub const NOREPLICAS: &str = "NOREPLICAS Not enough good replicas to write.";

/// How often a hub that only writes an AOF takes the cores' records (see
/// `Hub::polls`), and how many empty rounds in a row make it wait instead.
const POLL_INTERVAL: Duration = Duration::from_micros(500);
const IDLE_POLLS_MAX: u32 = 20;

/// Seconds between the PINGs the master sends down the stream, until a
/// replica brings `repl-ping-replica-period`.
const PING_PERIOD: Duration = Duration::from_secs(10);

/// The master side's state that cores and commands share.
pub struct Replication {
    /// Set once a replica first attached: cores record their writes.
    on: Arc<AtomicBool>,
    hub: flume::Sender<Msg>,
    pub counters: Arc<Counters>,
    /// What INFO, ROLE and WAIT read; the hub keeps it current.
    published: Arc<Mutex<Published>>,
    /// Held while a barrier (a sync's cut, FLUSHALL) goes through the
    /// cores: one at a time, so each core passes them in the same order.
    barrier_busy: AtomicBool,
    /// Set during a manual failover's pause: the stream sends no PING, so
    /// the offset the paused master reported is where it stays.
    pings_held: Arc<AtomicBool>,
    /// The hub has a backlog: a replica made a master records at once.
    has_backlog: Arc<AtomicBool>,
    /// The output queued for each replica a diskless sync streams to, by
    /// sync id: the snapshot's writer waits for the slowest.
    streaming: Streaming,
    rdb_in_flight: InFlight,
    /// The hub writes an append-only file: the cores record their writes
    /// whatever the replicas.
    aof_on: Arc<AtomicBool>,
    /// `appendfsync always`: a client's writes are fsynced before it
    /// hears their replies.
    aof_always: AtomicBool,
    pub aof_stats: Arc<aof::SinkStats>,
}

/// An AOF sink on its way to the hub (a barrier's action is cloneable).
pub type SinkSlot = Arc<Mutex<Option<aof::Sink>>>;

/// See `Replication::streaming`.
type Streaming = Arc<Mutex<Vec<(u64, std::sync::Weak<AtomicUsize>)>>>;

/// Snapshot bytes sent to the hub and not yet queued for the replicas.
type InFlight = Arc<AtomicUsize>;

/// INFO stats' sync counters, and the barrier ids.
#[derive(Default)]
pub struct Counters {
    pub sync_full: AtomicU64,
    pub sync_partial_ok: AtomicU64,
    pub sync_partial_err: AtomicU64,
    next_id: AtomicU64,
}

impl Counters {
    fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed) + 1
    }
}

/// The hub's state as others see it.
#[derive(Clone, Default)]
pub struct Published {
    /// The stream's replication id (a replica's: its master's).
    pub replid: String,
    /// The id this stream continues, up to `second_offset` (exclusive,
    /// counted as PSYNC asks: the first byte wanted); `-1` when none.
    pub replid2: String,
    pub second_offset: i64,
    pub offset: u64,
    pub backlog: Option<BacklogInfo>,
    pub replicas: Vec<ReplicaInfo>,
}

#[derive(Clone, Copy)]
pub struct BacklogInfo {
    pub size: usize,
    /// The stream position of its first byte, counted from 1 as Redis does.
    pub first_byte: u64,
    pub histlen: u64,
}

#[derive(Clone)]
pub struct ReplicaInfo {
    pub ip: String,
    pub port: u16,
    pub state: &'static str,
    pub ack_offset: u64,
    pub ack_at: Instant,
    /// The connection, for CLIENT LIST and CLIENT KILL: its client id,
    /// peer and local addresses, descriptor, when it connected (ms), and
    /// the output queued for it.
    pub client_id: u64,
    pub addr: String,
    pub laddr: String,
    pub fd: i32,
    pub created_ms: u64,
    pub queued: usize,
    /// Its last command: PSYNC (or SYNC) until its first REPLCONF ACK.
    pub last_command: &'static str,
}

/// A connection that sent PSYNC or SYNC, handed to the hub.
pub struct Attach {
    pub stream: TcpStream,
    /// The connection's client id, peer and local addresses, and when it
    /// connected (ms).
    pub client_id: u64,
    pub addr: String,
    pub laddr: String,
    pub created_ms: u64,
    /// PSYNC's replication id and offset; None for SYNC.
    pub psync: Option<(Vec<u8>, i64)>,
    pub ip: String,
    pub port: u16,
    /// The replication settings as they are now.
    pub settings: Settings,
    /// The replica said `REPLCONF capa eof`: it reads an RDB sent as it is
    /// made (`$EOF:<mark>`), not only a bulk of known length.
    pub eof: bool,
    /// `repl-diskless-sync`: a full sync streams the snapshot to eof
    /// replicas instead of writing `dbfilename` first.
    pub diskless: bool,
    pub outcome: flume::Sender<Outcome>,
}

/// The settings the hub applies: taken when a replica attaches and after
/// a CONFIG SET of any of them.
#[derive(Clone, Copy)]
pub struct Settings {
    /// `repl-backlog-size`.
    pub backlog_size: usize,
    /// `client-output-buffer-limit`'s replica class.
    pub output_limit: crate::config::OutputLimit,
    /// `repl-ping-replica-period`.
    pub ping_period: Duration,
    /// `repl-timeout`.
    pub timeout: Duration,
}

/// What the connection that attached does next.
pub enum Outcome {
    /// A partial resync: the hub serves the replica from its backlog.
    Continue,
    /// A full sync that needs a snapshot: the connection takes it, with
    /// this barrier id; the hub sends the file once written, or (diskless:
    /// true) the snapshot's bytes as they are made.
    Snapshot(u64, bool),
    /// A full sync that waits for a snapshot already starting.
    Joined,
}

enum Msg {
    Records {
        core: usize,
        bytes: Vec<u8>,
    },
    Barrier {
        core: usize,
        id: u64,
    },
    Expect {
        id: u64,
        action: Action,
    },
    Attach(Attach),
    /// A sync's snapshot is on disk (or failed: None).
    RdbReady {
        id: u64,
        file: Option<(Arc<std::fs::File>, u64)>,
    },
    /// The next bytes of a diskless sync's snapshot.
    RdbBytes {
        id: u64,
        bytes: Bytes,
    },
    /// A diskless sync's snapshot is all sent (or failed).
    RdbEnd {
        id: u64,
        ok: bool,
    },
    Ack {
        replica: u64,
        offset: u64,
    },
    Gone {
        replica: u64,
    },
    /// WAIT: the stream's offset once everything sent before is in it.
    Offset(flume::Sender<u64>),
    /// A master becomes a replica: its stream ends here (no more PINGs).
    Demote,
    /// The replication id, offset and whether there is a backlog, once
    /// everything sent before is in the stream: what PSYNC asks with.
    State(flume::Sender<(String, u64, bool)>),
    /// The master link of `generation` synced: in full (a new stream at
    /// `offset`), or partially (the same stream, maybe under a new id).
    Follow {
        generation: u64,
        replid: String,
        offset: u64,
        full: bool,
        backlog_size: usize,
    },
    /// What the master link of `generation` applied of its master's stream.
    Forward {
        generation: u64,
        bytes: Bytes,
    },
    /// At startup, the stream the loaded file stands at (see `restore`).
    Restore {
        replid: String,
        offset: u64,
        replica: bool,
        backlog_size: usize,
    },
    /// A CONFIG SET of one of the `Settings`: the new values, at once.
    Settings(Settings),
    /// CLIENT KILL: drops the replicas `matches` picks; says how many.
    Kill {
        matches: Box<dyn Fn(&ReplicaInfo) -> bool + Send>,
        reply: flume::Sender<usize>,
    },
    /// A replica becomes a master; `recorded`: the cores record from now
    /// on (the hub had a backlog when the switch was turned).
    Promote {
        recorded: bool,
    },
    /// The AOF goes to this file from here on (None: no AOF); the old
    /// file is written and fsynced first. The reply: the stream's id and
    /// offset at the switch.
    Aof {
        sink: SinkSlot,
        reply: flume::Sender<(String, u64)>,
    },
    AofPolicy(aof::Fsync),
    /// `appendfsync always`: answered once everything in the stream so far
    /// is written and fsynced.
    AofDurable(flume::Sender<()>),
}

/// The all-zero replication id: none.
pub const NO_REPLID: &str = "0000000000000000000000000000000000000000";

/// Whose stream the hub carries.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    /// Its cores' writes.
    Master,
    /// A master turned replica, before its link synced: the stream has
    /// ended, and nothing is added to it.
    Demoted,
    /// The master's stream that the link of this generation forwards.
    Following(u64),
}

#[derive(Clone)]
pub enum Action {
    /// A full sync's cut; the stream's id and offset there go to the
    /// sender (for the snapshot's `repl-id` and `repl-offset`).
    Sync(flume::Sender<(String, u64)>),
    /// A record every core must be past (FLUSHALL).
    Append(Vec<u8>),
    /// A plain save's cut: the stream's id and offset there.
    Mark(flume::Sender<(String, u64)>),
    /// An AOF rewrite's cut: the AOF goes on in the slot's new file; the
    /// stream's id and offset there go to the sender.
    AofSwitch(SinkSlot, flume::Sender<(String, u64)>),
}

impl Replication {
    pub fn new(cores: usize, replid: String) -> Self {
        let (hub, received) = flume::unbounded();
        let counters = Arc::new(Counters::default());
        let on = Arc::new(AtomicBool::new(false));
        let published = Arc::new(Mutex::new(Published::default()));
        let pings_held = Arc::new(AtomicBool::new(false));
        let has_backlog = Arc::new(AtomicBool::new(false));
        let streaming = Streaming::default();
        let rdb_in_flight = InFlight::default();
        let aof_on = Arc::new(AtomicBool::new(false));
        let aof_stats = Arc::new(aof::SinkStats::default());
        {
            let mut published = published.lock().unwrap_or_else(|e| e.into_inner());
            published.replid = replid.clone();
            published.replid2 = NO_REPLID.into();
            published.second_offset = -1;
        }
        let state = Hub {
            counters: counters.clone(),
            cores,
            received,
            sender: hub.clone(),
            on: on.clone(),
            published: published.clone(),
            replid,
            replid2: NO_REPLID.into(),
            second_offset: -1,
            mode: Mode::Master,
            has_backlog: has_backlog.clone(),
            streaming: streaming.clone(),
            rdb_in_flight: rdb_in_flight.clone(),
            backlog: None,
            offset: 0,
            barriers: VecDeque::new(),
            held: VecDeque::new(),
            replicas: Vec::new(),
            next_replica: 0,
            sync: None,
            last_ping: Instant::now(),
            ping_period: PING_PERIOD,
            timeout: Duration::from_secs(60),
            pings_held: pings_held.clone(),
            aof: None,
            aof_on: aof_on.clone(),
            durable_waiters: Vec::new(),
        };
        let started = std::thread::Builder::new()
            .name("repl-hub".into())
            .spawn(move || state.run());
        if let Err(error) = started {
            crate::warning!("Replication is unavailable: cannot start its thread ({error})");
        }
        Replication {
            on,
            hub,
            counters,
            published,
            barrier_busy: AtomicBool::new(false),
            pings_held,
            has_backlog,
            streaming,
            rdb_in_flight,
            aof_on,
            aof_always: AtomicBool::new(false),
            aof_stats,
        }
    }

    /// The AOF goes to `sink`'s file from the stream's present end on
    /// (everything sent to the hub before is in the old file), or stops
    /// (None). Returns the stream's id and offset at the switch.
    pub async fn switch_aof(&self, sink: Option<aof::Sink>) -> Option<(String, u64)> {
        let on = sink.is_some();
        if on {
            // Before the switch: no write after it goes unrecorded.
            self.record_for_aof();
        }
        let at = self.switch_aof_slot(Arc::new(Mutex::new(sink))).await;
        if !on {
            self.aof_on.store(false, Ordering::SeqCst);
        }
        at
    }

    /// `switch_aof` with the sink in its slot.
    pub async fn switch_aof_slot(&self, slot: SinkSlot) -> Option<(String, u64)> {
        let (reply, answer) = flume::bounded(1);
        self.hub.send(Msg::Aof { sink: slot, reply }).ok()?;
        answer.recv_async().await.ok()
    }

    /// Turns recording on ahead of an AOF's first file (see `switch_aof`).
    pub fn record_for_aof(&self) {
        self.aof_on.store(true, Ordering::SeqCst);
        self.on.store(true, Ordering::SeqCst);
    }

    pub fn aof_is_on(&self) -> bool {
        self.aof_on.load(Ordering::Relaxed)
    }

    pub fn set_aof_policy(&self, policy: aof::Fsync) {
        self.aof_always
            .store(policy == aof::Fsync::Always, Ordering::Relaxed);
        let _ = self.hub.send(Msg::AofPolicy(policy));
    }

    /// An AOF is written with `appendfsync always`.
    #[inline]
    pub fn aof_always(&self) -> bool {
        self.aof_always.load(Ordering::Relaxed) && self.aof_on.load(Ordering::Relaxed)
    }

    /// `appendfsync always`: returns once everything the hub received
    /// before is written and fsynced.
    pub async fn aof_durable(&self) {
        let (reply, answer) = flume::bounded(1);
        if self.hub.send(Msg::AofDurable(reply)).is_ok() {
            let _ = answer.recv_async().await;
        }
    }

    /// The most output queued for one replica of diskless sync `id` (its
    /// snapshot's bytes not yet written to the socket), counting the bytes
    /// still on their way through the hub.
    pub fn rdb_queued(&self, id: u64) -> usize {
        let in_flight = self.rdb_in_flight.load(Ordering::Acquire);
        let streaming = self.streaming.lock().unwrap_or_else(|e| e.into_inner());
        in_flight
            + streaming
                .iter()
                .filter(|(sync, _)| *sync == id)
                .filter_map(|(_, queued)| queued.upgrade())
                .map(|queued| queued.load(Ordering::Relaxed))
                .max()
                .unwrap_or(0)
    }

    /// A master becomes a replica: the cores stop recording, and the hub
    /// adds nothing more (the caller then flushes every core's feed).
    pub fn stop_recording(&self) {
        self.on.store(false, Ordering::SeqCst);
        let _ = self.hub.send(Msg::Demote);
    }

    /// The replication id and offset once everything sent before is in
    /// the stream, and whether a backlog holds it (else PSYNC has nothing
    /// to continue).
    pub async fn state(&self) -> (String, u64, bool) {
        let (reply, answer) = flume::bounded(1);
        if self.hub.send(Msg::State(reply)).is_err() {
            return (NO_REPLID.into(), 0, false);
        }
        answer
            .recv_async()
            .await
            .unwrap_or((NO_REPLID.into(), 0, false))
    }

    /// The master link of `generation` synced with `replid` at `offset`:
    /// `full`, a new stream; else the stream goes on.
    pub fn follow(
        &self,
        generation: u64,
        replid: &str,
        offset: u64,
        full: bool,
        backlog_size: usize,
    ) {
        let _ = self.hub.send(Msg::Follow {
            generation,
            replid: replid.to_string(),
            offset,
            full,
            backlog_size,
        });
    }

    /// What the master link of `generation` applied, for the backlog and
    /// this node's own replicas.
    pub fn forward(&self, generation: u64, bytes: Bytes) {
        if !bytes.is_empty() {
            let _ = self.hub.send(Msg::Forward { generation, bytes });
        }
    }

    /// At startup, before any client: the loaded file's dataset stands at
    /// `offset` of stream `replid` (Redis's loadDataFromDisk). A replica
    /// asks its master to continue from there; a master takes a new id and
    /// continues `replid` from there for its old replicas.
    pub fn restore(&self, replid: &str, offset: u64, replica: bool, backlog_size: usize) {
        if !replica {
            self.has_backlog.store(true, Ordering::SeqCst);
            self.on.store(true, Ordering::SeqCst);
        }
        let _ = self.hub.send(Msg::Restore {
            replid: replid.to_string(),
            offset,
            replica,
            backlog_size,
        });
    }

    /// A replica becomes a master: a new replication id, the old one kept
    /// as `replid2`; the cores record from now on when there is a backlog
    /// (sent first, so that no record reaches the hub before it).
    /// `still`: the master link is between reads, everything it applied
    /// forwarded.
    pub fn promote(&self, still: bool) {
        let recorded = still && self.has_backlog.load(Ordering::SeqCst);
        let _ = self.hub.send(Msg::Promote { recorded });
        // A master's AOF takes its own writes.
        if recorded || self.aof_on.load(Ordering::SeqCst) {
            self.on.store(true, Ordering::SeqCst);
        }
    }

    /// A manual failover's pause began (true) or ended.
    pub fn hold_pings(&self, held: bool) {
        self.pings_held.store(held, Ordering::Relaxed);
    }

    /// The hub's published state, for the cluster bus (the offset a
    /// master's bus messages carry).
    pub fn published_handle(&self) -> Arc<Mutex<Published>> {
        self.published.clone()
    }

    /// The switch every core's feed reads.
    pub fn switch(&self) -> Arc<AtomicBool> {
        self.on.clone()
    }

    pub fn is_on(&self) -> bool {
        self.on.load(Ordering::Relaxed)
    }

    pub fn published(&self) -> MutexGuard<'_, Published> {
        self.published.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn attach(&self, attach: Attach) {
        let _ = self.hub.send(Msg::Attach(attach));
    }

    /// A core's writes since its last flush.
    pub fn send_records(&self, core: usize, bytes: Vec<u8>) {
        if !bytes.is_empty() {
            let _ = self.hub.send(Msg::Records { core, bytes });
        }
    }

    /// A core is at barrier `id` (its earlier writes already sent).
    pub fn send_barrier(&self, core: usize, id: u64) {
        let _ = self.hub.send(Msg::Barrier { core, id });
    }

    /// Takes the barrier slot (see `barrier_busy`); false when taken.
    pub fn try_begin_barrier(&self) -> bool {
        !self.barrier_busy.swap(true, Ordering::AcqRel)
    }

    pub fn end_barrier(&self) {
        self.barrier_busy.store(false, Ordering::Release);
    }

    pub fn next_barrier_id(&self) -> u64 {
        self.counters.next_id()
    }

    /// Announces what the hub does once every core reached barrier `id`;
    /// sent before any core can reach it.
    pub fn expect(&self, id: u64, action: Action) {
        let _ = self.hub.send(Msg::Expect { id, action });
    }

    pub fn rdb_ready(&self, id: u64, file: Option<(Arc<std::fs::File>, u64)>) {
        let _ = self.hub.send(Msg::RdbReady { id, file });
    }

    /// The next bytes of diskless sync `id`'s snapshot.
    pub fn rdb_bytes(&self, id: u64, bytes: Bytes) {
        self.rdb_in_flight.fetch_add(bytes.len(), Ordering::AcqRel);
        let _ = self.hub.send(Msg::RdbBytes { id, bytes });
    }

    /// Diskless sync `id`'s snapshot is all sent (`ok`) or failed.
    pub fn rdb_end(&self, id: u64, ok: bool) {
        let _ = self.hub.send(Msg::RdbEnd { id, ok });
    }

    /// The stream's offset once everything sent before this call is in
    /// it; asks the online replicas to acknowledge (REPLCONF GETACK).
    pub async fn offset_after_sent(&self) -> u64 {
        let (reply, answer) = flume::bounded(1);
        if self.hub.send(Msg::Offset(reply)).is_err() {
            return 0;
        }
        answer.recv_async().await.unwrap_or(0)
    }

    /// CONFIG SET changed a replication setting: the backlog's size, the
    /// replicas' output limit, the PING period and the timeout take the
    /// new values.
    pub fn settings(&self, settings: Settings) {
        let _ = self.hub.send(Msg::Settings(settings));
    }

    /// CLIENT KILL: drops the replicas `matches` picks; returns how many.
    pub async fn kill(&self, matches: impl Fn(&ReplicaInfo) -> bool + Send + 'static) -> usize {
        let (reply, answer) = flume::bounded(1);
        let sent = self.hub.send(Msg::Kill {
            matches: Box::new(matches),
            reply,
        });
        if sent.is_err() {
            return 0;
        }
        answer.recv_async().await.unwrap_or(0)
    }

    /// Online replicas whose last acknowledgement is at most `max_lag_s`
    /// seconds old (Redis's good replicas, for `min-replicas-to-write`).
    pub fn good_replicas(&self, max_lag_s: u64) -> usize {
        self.published()
            .replicas
            .iter()
            .filter(|r| r.state == "online" && r.ack_at.elapsed().as_secs() <= max_lag_s)
            .count()
    }

    /// Online replicas that acknowledged `offset`.
    pub fn acknowledged(&self, offset: u64) -> usize {
        self.published()
            .replicas
            .iter()
            .filter(|r| r.state == "online" && r.ack_offset >= offset)
            .count()
    }
}

/// The last `size` bytes of the stream.
struct Backlog {
    ring: Vec<u8>,
    size: usize,
    /// Bytes ever written (the stream's offset).
    written: u64,
    /// Stream position of the oldest byte kept.
    start: u64,
}

impl Backlog {
    fn new(size: usize, offset: u64) -> Self {
        Backlog {
            ring: vec![0; size.max(1)],
            size: size.max(1),
            written: offset,
            start: offset,
        }
    }

    fn push(&mut self, mut bytes: &[u8]) {
        if bytes.len() > self.size {
            let skip = bytes.len() - self.size;
            self.written += skip as u64;
            bytes = &bytes[skip..];
        }
        let at = (self.written % self.size as u64) as usize;
        let first = bytes.len().min(self.size - at);
        self.ring[at..at + first].copy_from_slice(&bytes[..first]);
        self.ring[..bytes.len() - first].copy_from_slice(&bytes[first..]);
        self.written += bytes.len() as u64;
        self.start = self
            .start
            .max(self.written.saturating_sub(self.size as u64));
    }

    /// A new size, keeping the newest bytes that fit (Redis's
    /// resizeReplicationBacklog).
    fn resize(&mut self, size: usize) {
        let kept = (self.written - self.start).min(size.max(1) as u64);
        let newest = self.since(self.written - kept).unwrap_or_default();
        *self = Backlog::new(size, self.written - kept);
        self.push(&newest);
    }

    /// The stream from position `from` on, if the backlog still has it.
    fn since(&self, from: u64) -> Option<Vec<u8>> {
        if from < self.start || from > self.written {
            return None;
        }
        let mut out = Vec::with_capacity((self.written - from) as usize);
        let mut position = from;
        while position < self.written {
            let at = (position % self.size as u64) as usize;
            let run = ((self.written - position) as usize).min(self.size - at);
            out.extend_from_slice(&self.ring[at..at + run]);
            position += run as u64;
        }
        Some(out)
    }
}

enum ReplicaState {
    /// Waiting for its snapshot's cut (barrier `id`).
    WaitCut(u64),
    /// The cut is made; the stream since is kept until the file is sent.
    WaitRdb(u64, Vec<u8>),
    /// A streamed snapshot is sent whole; the stream since is kept until
    /// the replica's first REPLCONF ACK, as Redis does: a replica reading
    /// an `$EOF:` payload knows its end only when the mark ends a read, so
    /// nothing may follow the mark before it answers.
    WaitAck(Vec<u8>),
    Online,
}

struct Replica {
    id: u64,
    state: ReplicaState,
    out: flume::Sender<Out>,
    queued: Arc<AtomicUsize>,
    /// Bytes its writer has written, and when that last moved while
    /// output waited: a full sync it stopped reading times out.
    written: Arc<AtomicU64>,
    progress: (u64, Instant),
    /// SYNC (not PSYNC): no +FULLRESYNC line.
    old_sync: bool,
    /// Said `capa eof`.
    eof: bool,
    /// In a diskless sync: the 40 bytes that end its snapshot.
    eof_mark: Option<String>,
    limit: crate::config::OutputLimit,
    /// Since when its output has been over the soft limit.
    soft_since: Option<Instant>,
    info: ReplicaInfo,
    stream: TcpStream,
}

impl Replica {
    /// Whether `queued` output bytes pass the hard limit, or the soft one
    /// for longer than its seconds (checkClientOutputBufferLimits).
    fn over_limit(&mut self, queued: usize) -> bool {
        let queued = queued as u64;
        let limit = self.limit;
        if limit.hard > 0 && queued > limit.hard {
            return true;
        }
        if limit.soft > 0 && queued > limit.soft {
            let since = *self.soft_since.get_or_insert_with(Instant::now);
            return since.elapsed().as_secs() > limit.soft_seconds;
        }
        self.soft_since = None;
        false
    }

    /// Queues bytes for the writer, counted against the output limit.
    fn send(&self, bytes: Bytes) {
        self.queued.fetch_add(bytes.len(), Ordering::Relaxed);
        let _ = self.out.send(Out::Bytes(bytes));
    }
}

enum Out {
    Bytes(Bytes),
    File(Arc<std::fs::File>, u64),
}

struct PendingBarrier {
    id: u64,
    action: Option<Action>,
    seen: Vec<bool>,
}

/// How a sync's snapshot ended.
enum SnapshotEnd {
    /// Written to this file (None: the save failed).
    File(Option<(Arc<std::fs::File>, u64)>),
    /// Streamed whole (true) or not.
    Streamed(bool),
}

struct Sync {
    id: u64,
    cut: bool,
    diskless: bool,
}

struct Hub {
    cores: usize,
    counters: Arc<Counters>,
    received: flume::Receiver<Msg>,
    sender: flume::Sender<Msg>,
    on: Arc<AtomicBool>,
    published: Arc<Mutex<Published>>,
    replid: String,
    replid2: String,
    /// PSYNC with `replid2` continues up to here (the first byte it may
    /// ask for); -1 when there is no `replid2`.
    second_offset: i64,
    mode: Mode,
    has_backlog: Arc<AtomicBool>,
    streaming: Streaming,
    rdb_in_flight: InFlight,
    backlog: Option<Backlog>,
    offset: u64,
    barriers: VecDeque<PendingBarrier>,
    /// Messages of cores already past the first pending barrier.
    held: VecDeque<Msg>,
    replicas: Vec<Replica>,
    next_replica: u64,
    sync: Option<Sync>,
    last_ping: Instant,
    /// `repl-ping-replica-period`, as the last replica to attach found it.
    ping_period: Duration,
    /// `repl-timeout`: a replica in a full sync whose writer made no
    /// progress for that long is dropped.
    timeout: Duration,
    pings_held: Arc<AtomicBool>,
    aof: Option<aof::Sink>,
    aof_on: Arc<AtomicBool>,
    /// `appendfsync always` clients waiting for this round's fsync.
    durable_waiters: Vec<flume::Sender<()>>,
}

impl Hub {
    fn run(mut self) {
        // Rounds in a row that found nothing while polling.
        let mut idle_polls = IDLE_POLLS_MAX;
        loop {
            if self.polls() && idle_polls < IDLE_POLLS_MAX {
                std::thread::sleep(POLL_INTERVAL);
                let mut any = false;
                while let Ok(msg) = self.received.try_recv() {
                    self.receive(msg);
                    any = true;
                }
                idle_polls = if any { 0 } else { idle_polls + 1 };
            } else {
                match self.received.recv_timeout(Duration::from_secs(1)) {
                    Ok(msg) => {
                        self.receive(msg);
                        while let Ok(msg) = self.received.try_recv() {
                            self.receive(msg);
                        }
                        idle_polls = 0;
                    }
                    Err(flume::RecvTimeoutError::Timeout) => {}
                    Err(flume::RecvTimeoutError::Disconnected) => return,
                }
            }
            self.tick();
            self.write_aof();
            self.publish();
        }
    }

    /// While the hub only writes an AOF (no replica to serve at once, no
    /// client waiting for an fsync), it takes the cores' records every
    /// POLL_INTERVAL instead of being woken for each: a core's send to a
    /// hub that does not wait costs no system call, and one wake-up per
    /// core turn cost about a microsecond per request at P1. Idle for
    /// IDLE_POLLS_MAX rounds, it waits to be woken again.
    fn polls(&self) -> bool {
        self.aof
            .as_ref()
            .is_some_and(|sink| sink.policy() != aof::Fsync::Always)
            && self.replicas.is_empty()
            && self.durable_waiters.is_empty()
    }

    /// Once a second: replicas waiting for a file hear a newline (as Redis
    /// keeps them from timing out); every PING_PERIOD the stream gets a
    /// PING.
    fn tick(&mut self) {
        if self.replicas.is_empty() {
            return;
        }
        self.drop_stalled_syncs();
        // A replica's replicas hear its master's PINGs, forwarded.
        if self.mode == Mode::Master
            && self.last_ping.elapsed() >= self.ping_period
            && !self.pings_held.load(Ordering::Relaxed)
        {
            self.last_ping = Instant::now();
            let mut ping = Vec::new();
            encode_command(&["PING"], &mut ping);
            self.append(&ping);
        }
        // Newlines keep a waiting replica's link alive until its snapshot
        // starts: never inside a diskless one (its `$EOF:` line is out at
        // the cut).
        for replica in &self.replicas {
            let waiting = match replica.state {
                ReplicaState::WaitCut(_) => true,
                ReplicaState::WaitRdb(..) => replica.eof_mark.is_none(),
                ReplicaState::WaitAck(_) | ReplicaState::Online => false,
            };
            if waiting {
                replica.send(Bytes::from_static(b"\n"));
            }
        }
    }

    /// A replica in a full sync whose writer wrote nothing for
    /// `repl-timeout` while output waited stopped reading: it is dropped
    /// (Redis's "timedout replica (full sync)"), and a streamed snapshot
    /// waiting for it goes on.
    fn drop_stalled_syncs(&mut self) {
        let now = Instant::now();
        let mut stalled = Vec::new();
        for replica in &mut self.replicas {
            if matches!(
                replica.state,
                ReplicaState::WaitCut(_) | ReplicaState::Online
            ) {
                continue;
            }
            let written = replica.written.load(Ordering::Relaxed);
            let waiting = replica.queued.load(Ordering::Relaxed) > 0;
            if written != replica.progress.0 || !waiting {
                replica.progress = (written, now);
            } else if now.duration_since(replica.progress.1) > self.timeout {
                stalled.push((
                    replica.id,
                    format!("{}:{}", replica.info.ip, replica.info.port),
                ));
            }
        }
        for (id, name) in stalled {
            crate::warning!("Disconnecting timedout replica (full sync): {name}");
            self.drop_replica(id);
        }
    }

    fn publish(&self) {
        let mut published = self.published.lock().unwrap_or_else(|e| e.into_inner());
        if published.replid != self.replid {
            published.replid.clone_from(&self.replid);
        }
        if published.replid2 != self.replid2 {
            published.replid2.clone_from(&self.replid2);
        }
        published.second_offset = self.second_offset;
        published.offset = self.offset;
        published.backlog = self.backlog.as_ref().map(|b| BacklogInfo {
            size: b.size,
            first_byte: b.start + 1,
            histlen: b.written - b.start,
        });
        published.replicas = self
            .replicas
            .iter()
            .map(|r| {
                let mut info = r.info.clone();
                info.queued = r.queued.load(Ordering::Relaxed);
                info
            })
            .collect();
    }

    fn passed_first_barrier(&self, core: usize) -> bool {
        self.barriers
            .front()
            .is_some_and(|b| b.seen.get(core).copied().unwrap_or(false))
    }

    fn receive(&mut self, msg: Msg) {
        match msg {
            Msg::Records { core, .. } | Msg::Barrier { core, .. }
                if self.passed_first_barrier(core) =>
            {
                self.held.push_back(msg);
            }
            // A replica's stream is its master's: nothing of its own (its
            // cores may record for an AOF rewrite's cut; that goes nowhere).
            Msg::Records { .. } if self.mode != Mode::Master => {}
            Msg::Records { bytes, .. } => {
                self.feed_aof(&bytes);
                self.append(&bytes);
            }
            Msg::Barrier { core, id } => {
                if let Some(seen) = self.barrier(id).seen.get_mut(core) {
                    *seen = true;
                }
                self.complete_barriers();
            }
            Msg::Expect { id, action } => {
                self.barrier(id).action = Some(action);
                self.complete_barriers();
            }
            Msg::Attach(attach) => self.attach(attach),
            Msg::RdbReady { id, file } => self.snapshot_done(id, SnapshotEnd::File(file)),
            Msg::RdbBytes { id, bytes } => {
                for replica in &self.replicas {
                    if matches!(replica.state, ReplicaState::WaitRdb(sync, _) if sync == id)
                        && replica.eof_mark.is_some()
                    {
                        replica.send(bytes.clone());
                    }
                }
                self.rdb_in_flight.fetch_sub(bytes.len(), Ordering::AcqRel);
            }
            Msg::RdbEnd { id, ok } => self.snapshot_done(id, SnapshotEnd::Streamed(ok)),
            Msg::Ack { replica, offset } => {
                if let Some(r) = self.replicas.iter_mut().find(|r| r.id == replica) {
                    r.info.ack_offset = offset;
                    r.info.ack_at = Instant::now();
                    r.info.last_command = "replconf";
                    if let ReplicaState::WaitAck(pending) = &mut r.state {
                        let pending = std::mem::take(pending);
                        r.send(Bytes::from(pending));
                        r.state = ReplicaState::Online;
                    }
                }
            }
            Msg::Gone { replica } => self.drop_replica(replica),
            Msg::Offset(reply) => {
                let offset = self.offset;
                if self.mode == Mode::Master
                    && self
                        .replicas
                        .iter()
                        .any(|r| matches!(r.state, ReplicaState::Online))
                {
                    let mut getack = Vec::new();
                    encode_command(&["REPLCONF", "GETACK", "*"], &mut getack);
                    self.append(&getack);
                }
                let _ = reply.send(offset);
            }
            Msg::Demote => {
                if self.mode == Mode::Master {
                    self.mode = Mode::Demoted;
                }
            }
            Msg::State(reply) => {
                let _ = reply.send((self.replid.clone(), self.offset, self.backlog.is_some()));
            }
            Msg::Follow {
                generation,
                replid,
                offset,
                full,
                backlog_size,
            } => self.follow(generation, replid, offset, full, backlog_size),
            Msg::Forward { generation, bytes } => {
                if self.mode == Mode::Following(generation) {
                    if self.aof.is_some() {
                        self.feed_aof(&aof::without_link_chatter(&bytes));
                    }
                    self.append(&bytes);
                }
            }
            Msg::Aof { sink, reply } => {
                self.switch_aof(&sink);
                let _ = reply.send((self.replid.clone(), self.offset));
            }
            Msg::AofPolicy(policy) => {
                if let Some(sink) = self.aof.as_mut() {
                    sink.set_policy(policy);
                }
            }
            Msg::AofDurable(reply) => self.durable_waiters.push(reply),
            Msg::Promote { recorded } => self.promote(recorded),
            Msg::Settings(settings) => {
                self.apply(settings);
                if let Some(backlog) = self.backlog.as_mut() {
                    if backlog.size != settings.backlog_size {
                        backlog.resize(settings.backlog_size);
                    }
                }
                for replica in &mut self.replicas {
                    replica.limit = settings.output_limit;
                }
            }
            Msg::Kill { matches, reply } => {
                let ids: Vec<u64> = self
                    .replicas
                    .iter()
                    .filter(|r| matches(&r.info))
                    .map(|r| r.id)
                    .collect();
                for &id in &ids {
                    self.drop_replica(id);
                }
                let _ = reply.send(ids.len());
            }
            Msg::Restore {
                replid,
                offset,
                replica,
                backlog_size,
            } => {
                self.offset = offset;
                self.backlog = Some(Backlog::new(backlog_size, offset));
                self.has_backlog.store(true, Ordering::SeqCst);
                if replica {
                    self.replid = replid;
                    self.mode = Mode::Demoted;
                } else {
                    self.replid2 = replid;
                    self.second_offset = offset as i64 + 1;
                    self.on.store(true, Ordering::SeqCst);
                }
            }
        }
    }

    /// The link synced (see `Msg::Follow`). A new stream, or a new id for
    /// this one, drops this node's replicas: they ask again, and continue
    /// with `replid2` when they can (Redis's disconnectSlaves).
    fn follow(&mut self, generation: u64, replid: String, offset: u64, full: bool, size: usize) {
        self.mode = Mode::Following(generation);
        self.on.store(false, Ordering::SeqCst);
        let continues = !full && self.backlog.is_some() && self.offset == offset;
        if !continues {
            if !full {
                crate::warning!(
                    "Partial resync at offset {offset}, but the stream here is at {}: starting a new backlog",
                    self.offset
                );
            }
            self.replid = replid;
            self.replid2 = NO_REPLID.into();
            self.second_offset = -1;
            self.offset = offset;
            self.backlog = Some(Backlog::new(size, offset));
            self.has_backlog.store(true, Ordering::SeqCst);
            self.drop_all_replicas();
        } else if replid != self.replid {
            self.replid2 = std::mem::replace(&mut self.replid, replid);
            self.second_offset = self.offset as i64 + 1;
            self.drop_all_replicas();
        }
    }

    /// A replica made a master: its stream goes on under a new id (Redis's
    /// shiftReplicationId), and its replicas reconnect to hear it.
    fn promote(&mut self, recorded: bool) {
        if self.mode == Mode::Master {
            return;
        }
        self.mode = Mode::Master;
        if self.backlog.is_none() {
            self.replid = random_id();
            return;
        }
        // Recording was turned on with the promotion only if the backlog
        // was there then; if not, writes since may be missing from the
        // stream, and nothing may continue from it.
        self.on.store(true, Ordering::SeqCst);
        if recorded {
            self.replid2 = std::mem::replace(&mut self.replid, random_id());
            self.second_offset = self.offset as i64 + 1;
            crate::notice!(
                "Setting secondary replication ID to {}, valid up to offset: {}. New replication ID is {}",
                self.replid2,
                self.second_offset,
                self.replid
            );
        } else {
            self.replid = random_id();
            self.replid2 = NO_REPLID.into();
            self.second_offset = -1;
        }
        self.drop_all_replicas();
    }

    /// The hub-wide settings (the PING period, the timeout).
    fn apply(&mut self, settings: Settings) {
        self.ping_period = settings.ping_period;
        self.timeout = settings.timeout;
    }

    fn drop_all_replicas(&mut self) {
        let ids: Vec<u64> = self.replicas.iter().map(|r| r.id).collect();
        for id in ids {
            self.drop_replica(id);
        }
    }

    fn barrier(&mut self, id: u64) -> &mut PendingBarrier {
        let at = match self.barriers.iter().position(|b| b.id == id) {
            Some(at) => at,
            None => {
                self.barriers.push_back(PendingBarrier {
                    id,
                    action: None,
                    seen: vec![false; self.cores],
                });
                self.barriers.len() - 1
            }
        };
        &mut self.barriers[at]
    }

    /// Acts on the first barrier once every core reached it, then lets
    /// the writes held behind it through (some may wait for the next).
    fn complete_barriers(&mut self) {
        while let Some(front) = self.barriers.front() {
            if front.action.is_none() || !front.seen.iter().all(|&s| s) {
                return;
            }
            let Some(front) = self.barriers.pop_front() else {
                return;
            };
            match front.action {
                Some(Action::Append(bytes)) => {
                    self.feed_aof(&bytes);
                    self.append(&bytes);
                }
                Some(Action::AofSwitch(sink, mark)) => {
                    self.switch_aof(&sink);
                    let _ = mark.send((self.replid.clone(), self.offset));
                }
                Some(Action::Sync(mark)) => {
                    let _ = mark.send((self.replid.clone(), self.offset));
                    self.cut(front.id);
                }
                Some(Action::Mark(mark)) => {
                    let _ = mark.send((self.replid.clone(), self.offset));
                }
                None => {}
            }
            let held = std::mem::take(&mut self.held);
            for msg in held {
                self.receive(msg);
            }
        }
    }

    /// A sync's snapshot is cut at this point of the stream: its replicas
    /// hear FULLRESYNC with this offset and keep the stream from here.
    fn cut(&mut self, id: u64) {
        if let Some(sync) = self.sync.as_mut().filter(|s| s.id == id) {
            sync.cut = true;
        }
        let line = format!("+FULLRESYNC {} {}\r\n", self.replid, self.offset);
        for replica in &mut self.replicas {
            if matches!(replica.state, ReplicaState::WaitCut(sync) if sync == id) {
                if !replica.old_sync {
                    replica.send(Bytes::from(line.clone()));
                }
                if let Some(mark) = &replica.eof_mark {
                    replica.send(Bytes::from(format!("$EOF:{mark}\r\n")));
                    self.streaming
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push((id, Arc::downgrade(&replica.queued)));
                }
                replica.state = ReplicaState::WaitRdb(id, Vec::new());
                replica.info.state = "wait_bgsave";
            }
        }
    }

    /// A sync's snapshot is written (its file) or streamed (diskless), or
    /// failed: its replicas get the file, or the streamed snapshot's end
    /// mark, then the stream kept since the cut.
    fn snapshot_done(&mut self, id: u64, snapshot: SnapshotEnd) {
        if self.sync.as_ref().is_some_and(|s| s.id == id) {
            self.sync = None;
        }
        self.streaming
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(sync, _)| *sync != id);
        let mut failed = Vec::new();
        for replica in &mut self.replicas {
            let waiting = match &mut replica.state {
                ReplicaState::WaitRdb(sync, pending) if *sync == id => std::mem::take(pending),
                ReplicaState::WaitCut(sync) if *sync == id => {
                    // The snapshot never started.
                    failed.push(replica.id);
                    continue;
                }
                _ => continue,
            };
            let next = match &snapshot {
                SnapshotEnd::File(Some((file, len))) => {
                    let _ = replica.out.send(Out::File(file.clone(), *len));
                    replica.send(Bytes::from(waiting));
                    ReplicaState::Online
                }
                SnapshotEnd::Streamed(true) => match replica.eof_mark.take() {
                    Some(mark) => {
                        replica.send(Bytes::from(mark));
                        ReplicaState::WaitAck(waiting)
                    }
                    None => {
                        failed.push(replica.id);
                        continue;
                    }
                },
                _ => {
                    failed.push(replica.id);
                    continue;
                }
            };
            replica.state = next;
            replica.info.state = "online";
            replica.info.ack_at = Instant::now();
            crate::notice!(
                "Synchronization with replica {}:{} succeeded",
                replica.info.ip,
                replica.info.port
            );
        }
        for id in failed {
            crate::warning!("SYNC failed. BGSAVE child returned an error");
            self.drop_replica(id);
        }
    }

    /// The AOF's next file (or none), from this point of the stream on.
    fn switch_aof(&mut self, slot: &SinkSlot) {
        let next = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
        // The old file is written and fsynced as it is dropped.
        self.aof = None;
        self.aof_on.store(next.is_some(), Ordering::SeqCst);
        // With no AOF and no replica ever attached, nothing needs the
        // cores' records any more (an attach turns them on again).
        if next.is_none() && self.backlog.is_none() && self.mode == Mode::Master {
            self.on.store(false, Ordering::SeqCst);
        }
        self.aof = next;
    }

    /// Stream bytes for the AOF, written at the end of the round.
    fn feed_aof(&mut self, bytes: &[u8]) {
        if let Some(sink) = self.aof.as_mut() {
            sink.push(bytes);
        }
    }

    /// The end of a round: the AOF gets what the round added, and clients
    /// of `appendfsync always` hear once it is fsynced.
    fn write_aof(&mut self) {
        // Records held behind a barrier may be a waiting client's: its
        // answer waits until they are in.
        let answer = !self.durable_waiters.is_empty() && self.held.is_empty();
        if let Some(sink) = self.aof.as_mut() {
            if answer {
                sink.flush_and_sync();
            } else {
                sink.write_out();
            }
        }
        if !answer {
            return;
        }
        for waiter in self.durable_waiters.drain(..) {
            let _ = waiter.send(());
        }
    }

    /// Appends to the stream: the backlog, online replicas, and replicas
    /// waiting for their file.
    fn append(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        if let Some(backlog) = self.backlog.as_mut() {
            backlog.push(bytes);
        }
        self.offset += bytes.len() as u64;
        let shared = Bytes::copy_from_slice(bytes);
        let mut over = Vec::new();
        for replica in &mut self.replicas {
            match &mut replica.state {
                ReplicaState::Online => {
                    let queued = replica.queued.load(Ordering::Relaxed) + bytes.len();
                    if replica.over_limit(queued) {
                        over.push(replica.id);
                    } else {
                        replica.send(shared.clone());
                    }
                }
                ReplicaState::WaitRdb(_, pending) | ReplicaState::WaitAck(pending) => {
                    pending.extend_from_slice(bytes);
                    let queued = pending.len();
                    if replica.over_limit(queued) {
                        over.push(replica.id);
                    }
                }
                ReplicaState::WaitCut(_) => {}
            }
        }
        for id in over {
            crate::warning!("Client id={id} scheduled to be closed ASAP for overcoming of output buffer limits.");
            self.drop_replica(id);
        }
    }

    fn drop_replica(&mut self, id: u64) {
        if let Some(at) = self.replicas.iter().position(|r| r.id == id) {
            let replica = self.replicas.remove(at);
            let _ = replica.stream.shutdown(std::net::Shutdown::Both);
            crate::notice!(
                "Connection with replica {}:{} lost.",
                replica.info.ip,
                replica.info.port
            );
        }
    }

    /// The stream from PSYNC's `offset` on, when this node can continue
    /// `replid` from there: its own id, or the one it continues up to where
    /// it continues it (Redis's masterTryPartialResynchronization, with its
    /// log lines).
    fn continuation(&self, replid: &[u8], offset: i64, address: &str) -> Option<Vec<u8>> {
        let asked = String::from_utf8_lossy(replid);
        let mine = replid == self.replid.as_bytes();
        let second = replid == self.replid2.as_bytes();
        let continues = mine || (second && offset <= self.second_offset);
        if !continues {
            if asked == "?" {
                crate::notice!("Full resync requested by replica {address}");
            } else if !mine && !second {
                crate::notice!(
                    "Partial resynchronization not accepted: Replication ID mismatch (Replica asked for '{asked}', my replication IDs are '{}' and '{}')",
                    self.replid,
                    self.replid2
                );
            } else {
                crate::notice!(
                    "Partial resynchronization not accepted: Requested offset for second ID was {offset}, but I can reply up to {}",
                    self.second_offset
                );
            }
            return None;
        }
        let stream = (offset >= 1 && self.mode != Mode::Demoted)
            .then(|| self.backlog.as_ref()?.since(offset as u64 - 1))
            .flatten();
        if stream.is_none() {
            crate::notice!(
                "Unable to partial resync with replica {address} for lack of backlog (Replica request was: {offset})."
            );
            if offset > 0 && offset as u64 > self.offset {
                crate::warning!(
                    "Warning: replica {address} tried to PSYNC with an offset that is greater than the master replication offset."
                );
            }
        }
        stream
    }

    fn attach(&mut self, attach: Attach) {
        let Attach {
            stream,
            client_id,
            addr,
            laddr,
            created_ms,
            psync,
            ip,
            port,
            settings,
            eof,
            diskless,
            outcome,
        } = attach;
        self.apply(settings);
        let _ = stream.set_nonblocking(false);
        let (writer, reader) = match (stream.try_clone(), stream.try_clone()) {
            (Ok(writer), Ok(reader)) => (writer, reader),
            _ => return,
        };
        if self.backlog.is_none() {
            self.backlog = Some(Backlog::new(settings.backlog_size, self.offset));
            self.has_backlog.store(true, Ordering::SeqCst);
        }
        if self.mode == Mode::Master {
            self.on.store(true, Ordering::SeqCst);
        }
        let id = self.next_replica;
        self.next_replica += 1;
        let (out, to_write) = flume::unbounded();
        let queued = Arc::new(AtomicUsize::new(0));
        let written = Arc::new(AtomicU64::new(0));
        spawn_writer(
            writer,
            to_write,
            (queued.clone(), written.clone()),
            self.sender.clone(),
            id,
        );
        spawn_reader(reader, self.sender.clone(), id);
        let address = if port == 0 {
            ip.clone()
        } else {
            format!("{ip}:{port}")
        };
        let mut replica = Replica {
            id,
            state: ReplicaState::Online,
            out,
            queued,
            written,
            progress: (0, Instant::now()),
            old_sync: psync.is_none(),
            eof,
            eof_mark: None,
            limit: settings.output_limit,
            soft_since: None,
            info: ReplicaInfo {
                ip,
                port,
                state: "online",
                ack_offset: 0,
                ack_at: Instant::now(),
                client_id,
                addr,
                laddr,
                fd: std::os::fd::AsRawFd::as_raw_fd(&stream),
                created_ms,
                queued: 0,
                last_command: if psync.is_some() { "psync" } else { "sync" },
            },
            stream,
        };
        let partial = psync
            .as_ref()
            .and_then(|(replid, offset)| self.continuation(replid, *offset, &address));
        let counters = self.counters.clone();
        match partial {
            Some(backlog) => {
                let line = format!("+CONTINUE {}\r\n", self.replid);
                replica.send(Bytes::from(line));
                replica.send(Bytes::from(backlog));
                counters.sync_partial_ok.fetch_add(1, Ordering::Relaxed);
                crate::notice!(
                    "Partial resynchronization request from {address} accepted. Sending {} bytes of backlog starting from offset {}.",
                    self.offset - (psync.as_ref().map_or(1, |p| p.1 as u64) - 1),
                    psync.as_ref().map_or(0, |p| p.1)
                );
                self.replicas.push(replica);
                let _ = outcome.send(Outcome::Continue);
            }
            None => {
                counters.sync_full.fetch_add(1, Ordering::Relaxed);
                if psync
                    .as_ref()
                    .is_some_and(|(replid, _)| replid.as_slice() != b"?")
                {
                    counters.sync_partial_err.fetch_add(1, Ordering::Relaxed);
                }
                crate::notice!("Replica {address} asks for synchronization");
                // A diskless sync only for replicas that read `$EOF:`.
                let diskless = diskless && replica.eof;
                let reply = match self
                    .sync
                    .as_ref()
                    .filter(|s| !s.cut && s.diskless == diskless)
                {
                    Some(sync) => {
                        replica.state = ReplicaState::WaitCut(sync.id);
                        Outcome::Joined
                    }
                    None => {
                        let sync_id = self.counters.next_id();
                        self.sync = Some(Sync {
                            id: sync_id,
                            cut: false,
                            diskless,
                        });
                        replica.state = ReplicaState::WaitCut(sync_id);
                        Outcome::Snapshot(sync_id, diskless)
                    }
                };
                if diskless {
                    replica.eof_mark = Some(random_id());
                    crate::notice!("Starting BGSAVE for SYNC with target: replicas sockets");
                } else {
                    crate::notice!("Starting BGSAVE for SYNC with target: disk");
                }
                replica.info.state = "wait_bgsave";
                self.replicas.push(replica);
                let _ = outcome.send(reply);
            }
        }
    }
}

/// 40 random hex digits: a run id, a replication id, the end mark of a
/// diskless sync's snapshot.
pub fn random_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let text: String = (0..3u64)
        .map(|i| {
            let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
            hasher.write_u64(crate::command::now_us() ^ i);
            format!("{:016x}", hasher.finish())
        })
        .collect();
    text[..40].to_string()
}

/// Writes a replica's output in order; a file is sent as a bulk
/// (`$<len>\r\n` and its bytes).
fn spawn_writer(
    mut stream: TcpStream,
    to_write: flume::Receiver<Out>,
    (queued, written): (Arc<AtomicUsize>, Arc<AtomicU64>),
    hub: flume::Sender<Msg>,
    replica: u64,
) {
    let spawned = std::thread::Builder::new()
        .name("repl-writer".into())
        .spawn(move || {
            let sent = (|| -> std::io::Result<()> {
                while let Ok(out) = to_write.recv() {
                    match out {
                        Out::Bytes(bytes) => {
                            stream.write_all(&bytes)?;
                            queued.fetch_sub(bytes.len(), Ordering::Relaxed);
                            written.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                        }
                        Out::File(file, len) => {
                            stream.write_all(format!("${len}\r\n").as_bytes())?;
                            let mut buf = vec![0u8; 1 << 20];
                            let mut at = 0u64;
                            while at < len {
                                let want = ((len - at) as usize).min(buf.len());
                                let read = file.read_at(&mut buf[..want], at)?;
                                if read == 0 {
                                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                                }
                                stream.write_all(&buf[..read])?;
                                at += read as u64;
                                written.fetch_add(read as u64, Ordering::Relaxed);
                            }
                        }
                    }
                }
                Ok(())
            })();
            if sent.is_err() {
                let _ = hub.send(Msg::Gone { replica });
            }
        });
    if spawned.is_err() {
        crate::warning!("Cannot start a thread for a replica");
    }
}

/// Reads what a replica sends: REPLCONF ACK <offset> (anything else is
/// ignored); the end of the connection drops the replica.
fn spawn_reader(mut stream: TcpStream, hub: flume::Sender<Msg>, replica: u64) {
    let spawned = std::thread::Builder::new()
        .name("repl-reader".into())
        .spawn(move || {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            loop {
                match stream.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(read) => buf.extend_from_slice(&chunk[..read]),
                }
                let consumed = parse_acks(&buf, |offset| {
                    let _ = hub.send(Msg::Ack { replica, offset });
                });
                match consumed {
                    Some(consumed) => {
                        buf.drain(..consumed);
                    }
                    None => break,
                }
                if buf.len() > 1 << 20 {
                    break;
                }
            }
            let _ = hub.send(Msg::Gone { replica });
        });
    if spawned.is_err() {
        crate::warning!("Cannot start a thread for a replica");
    }
}

/// Parses the complete commands in `buf`, calling `ack` for each REPLCONF
/// ACK; returns the bytes consumed, or None for malformed input.
fn parse_acks(buf: &[u8], mut ack: impl FnMut(u64)) -> Option<usize> {
    let limits = crate::protocol::Limits {
        bulk_bytes_max: 1 << 20,
        unauthenticated: false,
    };
    let mut request = crate::protocol::Request::default();
    let mut consumed = 0;
    loop {
        match crate::protocol::decode(&buf[consumed..], &limits, &mut request) {
            Ok(crate::protocol::Progress::Complete { consumed: used }) => {
                let args: Vec<&[u8]> = if request.is_inline {
                    request
                        .spans
                        .iter()
                        .map(|r| &request.inline_storage[r.clone()])
                        .collect()
                } else {
                    request
                        .spans
                        .iter()
                        .map(|r| &buf[consumed + r.start..consumed + r.end])
                        .collect()
                };
                if args.len() >= 3
                    && args[0].eq_ignore_ascii_case(b"REPLCONF")
                    && args[1].eq_ignore_ascii_case(b"ACK")
                {
                    if let Some(offset) = std::str::from_utf8(args[2])
                        .ok()
                        .and_then(|s| s.parse::<u64>().ok())
                    {
                        ack(offset);
                    }
                }
                consumed += used;
            }
            Ok(crate::protocol::Progress::Incomplete { .. }) => return Some(consumed),
            Err(_) => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backlog_keeps_the_last_bytes_across_the_wrap() {
        let mut backlog = Backlog::new(8, 100);
        backlog.push(b"abcde");
        assert_eq!(backlog.since(100).as_deref(), Some(&b"abcde"[..]));
        backlog.push(b"fghij");
        assert_eq!(backlog.start, 102);
        assert_eq!(backlog.since(102).as_deref(), Some(&b"cdefghij"[..]));
        assert_eq!(backlog.since(107).as_deref(), Some(&b"hij"[..]));
        assert_eq!(backlog.since(110).as_deref(), Some(&b""[..]));
        assert_eq!(backlog.since(101), None);
        assert_eq!(backlog.since(111), None);
        backlog.push(b"0123456789xy");
        assert_eq!(backlog.since(114).as_deref(), Some(&b"456789xy"[..]));
    }

    /// The hub's published state once it has caught up (`state` is a
    /// round trip; the hub publishes after each batch of messages).
    fn settled(replication: &Replication) -> Published {
        let (replid, offset, _) = futures_lite::future::block_on(replication.state());
        for _ in 0..1000 {
            let published = replication.published().clone();
            if published.offset == offset && published.replid == replid {
                return published;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        panic!("the hub did not publish offset {offset}");
    }

    #[test]
    fn a_promoted_replica_continues_its_masters_stream_under_a_new_id() {
        let master = "m".repeat(40);
        let replication = Replication::new(2, "a".repeat(40));
        replication.stop_recording();
        replication.follow(1, &master, 100, true, 1 << 16);
        replication.forward(1, Bytes::from_static(b"*1\r\n$4\r\nPING\r\n"));
        // A link of another generation forwards nothing.
        replication.forward(2, Bytes::from_static(b"junk"));
        let following = settled(&replication);
        assert_eq!(
            (following.replid.as_str(), following.offset),
            (master.as_str(), 114)
        );
        assert!(!replication.is_on(), "a replica's cores record nothing");
        assert_eq!(following.backlog.map(|b| b.first_byte), Some(101));

        replication.promote(true);
        let promoted = settled(&replication);
        assert!(replication.is_on(), "a master's cores record");
        assert_ne!(promoted.replid, master);
        assert_eq!(promoted.replid.len(), 40);
        assert_eq!(promoted.replid2, master);
        assert_eq!(promoted.second_offset, 115);
        assert_eq!(promoted.offset, 114);
        // The old link's last bytes are not this stream's any more.
        replication.forward(1, Bytes::from_static(b"late"));
        assert_eq!(settled(&replication).offset, 114);
    }

    #[test]
    fn a_promotion_that_may_have_missed_writes_continues_nothing() {
        let replication = Replication::new(1, "a".repeat(40));
        replication.stop_recording();
        replication.follow(1, &"m".repeat(40), 7, true, 1 << 16);
        replication.promote(false);
        let promoted = settled(&replication);
        assert_eq!(promoted.replid2, NO_REPLID);
        assert_eq!(promoted.second_offset, -1);
        assert!(replication.is_on());
    }

    #[test]
    fn a_partial_resync_under_a_new_id_keeps_the_old_one_as_replid2() {
        let replication = Replication::new(1, "a".repeat(40));
        replication.stop_recording();
        replication.follow(1, &"m".repeat(40), 50, true, 1 << 16);
        replication.follow(1, &"n".repeat(40), 50, false, 1 << 16);
        let continued = settled(&replication);
        assert_eq!(continued.replid, "n".repeat(40));
        assert_eq!(continued.replid2, "m".repeat(40));
        assert_eq!(continued.second_offset, 51);
        // Offsets that do not meet start a new backlog under the new id.
        replication.follow(1, &"p".repeat(40), 80, false, 1 << 16);
        let restarted = settled(&replication);
        assert_eq!(
            (restarted.replid2.as_str(), restarted.offset),
            (NO_REPLID, 80)
        );
    }

    #[test]
    fn a_resized_backlog_keeps_the_newest_bytes() {
        let mut backlog = Backlog::new(8, 100);
        backlog.push(b"abcdefghij");
        backlog.resize(4);
        assert_eq!((backlog.start, backlog.written), (106, 110));
        assert_eq!(backlog.since(106).as_deref(), Some(&b"ghij"[..]));
        backlog.resize(16);
        assert_eq!(backlog.since(106).as_deref(), Some(&b"ghij"[..]));
        backlog.push(b"klmnop");
        assert_eq!(backlog.since(106).as_deref(), Some(&b"ghijklmnop"[..]));
    }

    #[test]
    fn acks_are_read_from_complete_commands_only() {
        let mut acks = Vec::new();
        let buf = b"*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$3\r\n123\r\n*3\r\n$8\r\nREPLCONF\r\n$3\r\nack\r\n$2\r\n45";
        let consumed = parse_acks(buf, |o| acks.push(o));
        assert_eq!(acks, vec![123]);
        assert_eq!(consumed, Some(36));
        assert_eq!(parse_acks(b"*x\r\n", |_| {}), None);
    }
}
