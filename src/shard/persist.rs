//! Persistence: RDB snapshots (SAVE, BGSAVE, save points, a saving SHUTDOWN
//! or SIGTERM), loading `dbfilename` at startup, and DEBUG RELOAD.
//!
//! Taking a snapshot: the core that takes it fences every core, in
//! ascending order (`locks`), so that no multi-core write is half applied,
//! and cuts it on each: from then on each core's keyspace keeps its keys'
//! values as they were at the cut (`Keyspace::start_capture`), and the
//! fences come down at once. Each core serializes its keys slot by slot in
//! a task of its own while it serves its clients; a key of a slot not yet
//! written is written before it first changes. Clients wait only for the
//! cut (Redis pauses for its fork). A thread started at the cut writes the
//! pieces the cores send as they fill into `temp-<pid>-<n>.rdb` in `dir`,
//! fsyncs it, and renames it over `dbfilename`, as Redis's child does; SAVE
//! waits for that without holding up its core, BGSAVE does not.
//!
//! Changes since the last save (Redis's `dirty`) are counted per core, in
//! a counter of its own cache line that only its core writes.

use super::mesh::Op;
use super::Core;
use crate::cluster::{core_of_slot, key_hash_slot};
use crate::config::Config;
use crate::keyspace::rdb_file::{self, Chunk, Loaded};
use crate::keyspace::Entry;
use crate::protocol::{Arg, Reply};
use crate::{notice, warning};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// A lock that a panic elsewhere does not spoil (the state it guards is
/// only counters and hand-over slots).
trait LockUnpoisoned<T> {
    fn lock_unpoisoned(&self) -> std::sync::MutexGuard<'_, T>;
}

impl<T> LockUnpoisoned<T> for Mutex<T> {
    fn lock_unpoisoned(&self) -> std::sync::MutexGuard<'_, T> {
        self.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Redis's error for writes after a failed background save.
pub const MISCONF: &str = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

/// Redis's CONFIG_BGSAVE_RETRY_DELAY: after a failed save, save points
/// wait this long before trying again.
const RETRY_DELAY_SECS: u64 = 5;

#[repr(align(64))]
#[derive(Default)]
struct Counter(AtomicU64);

/// What every core shares about saving and loading (in `Shared`).
pub struct Persistence {
    /// Each core's changes since startup; only its core writes it.
    dirty: Box<[Counter]>,
    /// A snapshot is being taken or written: one at a time.
    busy: AtomicBool,
    state: Mutex<SaveState>,
    /// Keys read from a file, per core, until each core takes its own.
    loaded: Mutex<Vec<Vec<Loaded>>>,
    next_temp: AtomicU64,
    /// Where the cores are to send their serialized keys, while a snapshot
    /// is cut: the thread writing the file.
    collector: Mutex<Option<flume::Sender<Piece>>>,
    /// The replication barrier a full sync's snapshot cuts at, during its
    /// cut.
    sync_barrier: Mutex<Option<u64>>,
    /// The last background save failed (read by every command: see
    /// `refuses_writes`).
    failed: AtomicBool,
}

struct SaveState {
    last_save_secs: u64,
    last_ok: bool,
    last_try_secs: u64,
    last_bgsave_secs: i64,
    /// When the background save under way started.
    bgsave_started: Option<Instant>,
    saves: u64,
    /// The sum of the cores' counters in the last saved snapshot.
    dirty_saved: u64,
    loaded_keys: u64,
    expired_on_load: u64,
}

/// Where a snapshot is cut in the replication stream.
enum CutAt {
    /// A plain save.
    Save,
    /// A full sync's: the barrier with this id.
    Sync(u64),
    /// An AOF rewrite's: the AOF goes on in this sink's file from the cut
    /// (None: the AOF is off, and the cut is a plain save's).
    Aof(Option<crate::replication::SinkSlot>),
}

/// Why a save did not happen.
#[derive(Debug)]
pub enum SaveError {
    InProgress,
    Failed,
}

/// What a core sends the writer thread.
enum Piece {
    /// Serialized keys (about a MiB).
    Keys(Vec<u8>),
    /// The core has sent all its keys.
    Done,
}

/// What a file read at startup or by DEBUG RELOAD gave.
pub struct FileRead {
    per_core: Vec<Vec<Loaded>>,
    keys: u64,
    expired: u64,
    /// The replication stream the file's dataset stands at.
    pub repl: Option<rdb_file::ReplInfo>,
}

impl Persistence {
    pub fn new(cores: usize, start_ms: u64, file: Option<FileRead>) -> Self {
        let (loaded, keys, expired) = match file {
            Some(file) => (file.per_core, file.keys, file.expired),
            None => ((0..cores).map(|_| Vec::new()).collect(), 0, 0),
        };
        Persistence {
            dirty: (0..cores).map(|_| Counter::default()).collect(),
            busy: AtomicBool::new(false),
            state: Mutex::new(SaveState {
                last_save_secs: start_ms / 1000,
                last_ok: true,
                last_try_secs: 0,
                last_bgsave_secs: -1,
                bgsave_started: None,
                saves: 0,
                dirty_saved: 0,
                loaded_keys: keys,
                expired_on_load: expired,
            }),
            loaded: Mutex::new(loaded),
            next_temp: AtomicU64::new(1),
            collector: Mutex::new(None),
            sync_barrier: Mutex::new(None),
            failed: AtomicBool::new(false),
        }
    }

    /// Counts `changes` writes on `core` (called only on that core).
    #[inline]
    pub fn add_dirty(&self, core: usize, changes: u64) {
        if let Some(counter) = self.dirty.get(core) {
            let counter = &counter.0;
            counter.store(counter.load(Ordering::Relaxed) + changes, Ordering::Relaxed);
        }
    }

    fn dirty_total(&self) -> u64 {
        self.dirty.iter().map(|c| c.0.load(Ordering::Relaxed)).sum()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, SaveState> {
        self.state.lock_unpoisoned()
    }

    /// The last background save failed (one relaxed load: every command
    /// asks).
    #[inline]
    pub fn last_bgsave_failed(&self) -> bool {
        self.failed.load(Ordering::Relaxed)
    }

    /// A snapshot is being taken (a save, a sync's, an AOF rewrite's).
    pub fn is_busy(&self) -> bool {
        self.busy.load(Ordering::Acquire)
    }

    /// Whether write commands (and PING) get MISCONF, as Redis's
    /// writeCommandsDeniedByDiskError decides: the last background save
    /// failed, save points are set and `stop-writes-on-bgsave-error` is on.
    #[inline]
    pub fn refuses_writes(&self, config: &Config) -> bool {
        self.failed.load(Ordering::Relaxed)
            && !config.save.trim().is_empty()
            && config
                .inert
                .get("stop-writes-on-bgsave-error")
                .is_none_or(|value| value != "no")
    }

    /// LASTSAVE: when the last successful save ended (startup before one).
    pub fn last_save_secs(&self) -> u64 {
        self.state().last_save_secs
    }

    /// The rdb_ fields of INFO persistence, as Redis names them.
    pub fn info_fields(&self) -> Vec<(&'static str, String)> {
        let state = self.state();
        let changes = self.dirty_total().saturating_sub(state.dirty_saved);
        let current = state
            .bgsave_started
            .map_or(-1, |started| started.elapsed().as_secs() as i64);
        vec![
            ("rdb_changes_since_last_save", changes.to_string()),
            (
                "rdb_bgsave_in_progress",
                u8::from(state.bgsave_started.is_some()).to_string(),
            ),
            ("rdb_last_save_time", state.last_save_secs.to_string()),
            (
                "rdb_last_bgsave_status",
                if state.last_ok { "ok" } else { "err" }.to_string(),
            ),
            (
                "rdb_last_bgsave_time_sec",
                state.last_bgsave_secs.to_string(),
            ),
            ("rdb_current_bgsave_time_sec", current.to_string()),
            ("rdb_saves", state.saves.to_string()),
            ("rdb_last_cow_size", "0".to_string()),
            (
                "rdb_last_load_keys_expired",
                state.expired_on_load.to_string(),
            ),
            ("rdb_last_load_keys_loaded", state.loaded_keys.to_string()),
        ]
    }
}

/// Reads `config.dbfilename` (in the working directory, which is `dir`),
/// sorting its keys by the core that owns them; None when there is no file.
pub fn read_file(config: &Config, cores: usize) -> Result<Option<FileRead>, String> {
    let path = PathBuf::from(&config.dbfilename);
    match read_rdb(&path, config, cores, true) {
        Err(None) => Ok(None),
        Err(Some(error)) => Err(error),
        Ok(file) => {
            notice!(
                "Done loading RDB, keys loaded: {}, keys expired: {}.",
                file.keys,
                file.expired
            );
            Ok(Some(file))
        }
    }
}

/// Reads the RDB file at `path`, sorting its keys by the core that owns
/// them. A master (`as_master`) drops the keys whose time has come; a
/// replica keeps them for its master's DEL, as Redis's rdbLoad does.
/// Err(None) when there is no file.
pub fn read_rdb(
    path: &std::path::Path,
    config: &Config,
    cores: usize,
    as_master: bool,
) -> Result<FileRead, Option<String>> {
    let data = match std::fs::read(path) {
        Ok(data) => data,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Err(None),
        Err(error) => {
            return Err(Some(format!(
                "Fatal error loading the DB ({}): {error}. Exiting.",
                path.display()
            )))
        }
    };
    let started = Instant::now();
    let now = crate::command::now_ms();
    let limits = crate::command::dump::config_limits(config);
    let mut per_core: Vec<Vec<Loaded>> = (0..cores).map(|_| Vec::new()).collect();
    let mut expired = 0;
    let summary = rdb_file::load(&data, &limits, |loaded| {
        // A master drops the keys whose time has come (rdbLoadRioWithLoadingCtx).
        if as_master && loaded.expire_at_ms != 0 && loaded.expire_at_ms <= now {
            expired += 1;
            return;
        }
        let core = core_of_slot(key_hash_slot(&loaded.key), cores);
        per_core[core].push(loaded);
    })
    .map_err(|error| Some(format!("Loading RDB file {}: {error}", path.display())))?;
    notice!(
        "DB loaded from disk: {:.3} seconds",
        started.elapsed().as_secs_f64()
    );
    Ok(FileRead {
        per_core,
        keys: summary.keys - expired,
        expired,
        repl: summary.repl,
    })
}

/// Moves the keys read for this core into its keyspace (startup, DEBUG
/// RELOAD).
fn take_loaded(core: &Core, _argv: &[Arg<'_>]) -> Reply {
    let mine = {
        let mut loaded = core.shared.persistence.loaded.lock_unpoisoned();
        loaded
            .get_mut(core.id)
            .map(std::mem::take)
            .unwrap_or_default()
    };
    let mut db = core.db.borrow_mut();
    let now = db.now_ms;
    let lfu = db.keyspace.lfu.is_some();
    for loaded in mine {
        let slot = key_hash_slot(&loaded.key);
        let mut entry = Entry::new(loaded.value, now);
        if loaded.expire_at_ms != 0 {
            entry.set_expire_at_ms(loaded.expire_at_ms);
        }
        if let Some(idle) = loaded.idle_secs.filter(|_| !lfu) {
            entry.set_idle_secs(idle, now);
        }
        db.keyspace.remove(slot, &loaded.key);
        db.keyspace.insert(slot, &loaded.key, entry);
        if let Some(frequency) = loaded.frequency.filter(|_| lfu) {
            if let Some(entry) = db.keyspace.entry_mut(slot, &loaded.key) {
                entry.set_lfu(u64::from(frequency), now);
            }
        }
    }
    Reply::ok()
}

/// A snapshot's cut on one core (every core is fenced): the keyspace
/// starts keeping its values as they are now, a task serializes them slot
/// by slot, and the fence (its id the argument) comes down. Returns the core's change count and
/// its numbers of keys and keys with an expiry (RESIZEDB's hints).
fn cut_core(core: &Core, argv: &[Arg<'_>]) -> Reply {
    let (keys, expires) = {
        let mut db = core.db.borrow_mut();
        db.keyspace.start_capture();
        (db.keyspace.len(), db.keyspace.volatile_len())
    };
    let dirty = core.shared.persistence.dirty[core.id]
        .0
        .load(Ordering::Relaxed);
    // A full sync's replicas get the stream from this core's cut on.
    if let Some(id) = *core.shared.persistence.sync_barrier.lock_unpoisoned() {
        core.pass_barrier(id);
    }
    core.locks
        .borrow_mut()
        .remove_fence(super::replicate::barrier_of(argv).unwrap_or(0));
    let writer = core.shared.persistence.collector.lock_unpoisoned().clone();
    if let (Some(me), Some(writer)) = (core.me.upgrade(), writer) {
        start_serializing(me, writer);
    }
    Reply::Array(vec![
        Reply::Int(dirty as i64),
        Reply::Int(keys as i64),
        Reply::Int(expires as i64),
    ])
}

/// Keys serialized between checks for preemption.
const KEYS_PER_TURN: usize = 256;

thread_local! {
    /// This core's task queue for snapshots (made by its first one).
    static SNAPSHOT_QUEUE: std::cell::OnceCell<glommio::TaskQueueHandle> =
        const { std::cell::OnceCell::new() };
}

/// Starts `serialize_keys` in a task queue whose latency matters: while it
/// has work, glommio preempts every millisecond and runs the reactor, so
/// clients' reads and writes complete between turns (a task that merely
/// yielded held them off for the whole snapshot; a timer between turns
/// idled about a millisecond each).
fn start_serializing(core: std::rc::Rc<Core>, writer: flume::Sender<Piece>) {
    let queue = SNAPSHOT_QUEUE.with(|queue| {
        *queue.get_or_init(|| {
            glommio::executor().create_task_queue(
                glommio::Shares::default(),
                glommio::Latency::Matters(Duration::from_millis(1)),
                "snapshot",
            )
        })
    });
    if let Ok(task) = glommio::spawn_local_into(serialize_keys(core, writer), queue) {
        task.detach();
    }
}

/// Serializes this core's snapshot a turn at a time, sending the writer
/// thread each piece as it fills.
async fn serialize_keys(core: std::rc::Rc<Core>, writer: flume::Sender<Piece>) {
    let send = |pieces: Vec<Vec<u8>>| {
        for piece in pieces.into_iter().filter(|piece| !piece.is_empty()) {
            let _ = writer.send(Piece::Keys(piece));
        }
    };
    // Through the reactor once first: it installs the queue's 1 ms
    // preemption timer in place of the 100 ms one it armed before.
    glommio::timer::sleep(Duration::from_micros(1)).await;
    loop {
        let (done, pieces) = {
            let keyspace = &mut core.db.borrow_mut().keyspace;
            (
                keyspace.capture_step(KEYS_PER_TURN),
                keyspace.take_capture_pieces(),
            )
        };
        send(pieces);
        if done {
            break;
        }
        // The writer (a disk, a replica's socket) sets the pace.
        while writer.len() > PIECES_QUEUED_MAX {
            glommio::timer::sleep(Duration::from_millis(1)).await;
        }
        glommio::yield_if_needed().await;
    }
    let last = core.db.borrow_mut().keyspace.finish_capture();
    send(last.map(Chunk::into_pieces).unwrap_or_default());
    let _ = writer.send(Piece::Done);
}

impl Core {
    /// Fences every core and cuts the snapshot on each (see the module
    /// comment); the cores then send their keys to `writer`. Returns the
    /// sums of their change counts, keys and keys with an expiry at the
    /// cut, and the replication stream's id and offset there (Redis's
    /// rdbPopulateSaveInfo: a master with a backlog, a replica).
    async fn cut(
        &self,
        writer: flume::Sender<Piece>,
        cut_at: CutAt,
    ) -> ([u64; 3], Option<rdb_file::ReplInfo>) {
        use crate::replication::Action;
        let replication = &self.shared.replication;
        let side = &self.shared.replica;
        // A replica cuts where its master link stands between two reads
        // (held again if a full sync's snapshot holds it: holds count);
        // a master's cut is a barrier in its stream when it has one. A
        // plain save gives up holding after a while (the master's own
        // FLUSHALL may be what runs it, the link busy until it ends): its
        // file then says no stream.
        // An AOF's switch must fall where the link stands, as a sync's cut.
        let replica = side.is_on();
        let held = match (replica, &cut_at) {
            (false, _) => false,
            (true, CutAt::Sync(_) | CutAt::Aof(Some(_))) => side.hold_link_within(None).await,
            (true, _) => {
                side.hold_link_within(Some(Duration::from_millis(100)))
                    .await
            }
        };
        let (mark, marked) = flume::bounded(1);
        let mut own_barrier = false;
        let barrier = match &cut_at {
            CutAt::Sync(id) => {
                replication.expect(*id, Action::Sync(mark));
                Some(*id)
            }
            _ if !replica && replication.is_on() => {
                while !replication.try_begin_barrier() {
                    glommio::timer::sleep(Duration::from_millis(1)).await;
                }
                own_barrier = true;
                let id = replication.next_barrier_id();
                let action = match &cut_at {
                    CutAt::Aof(Some(slot)) => Action::AofSwitch(slot.clone(), mark),
                    _ => Action::Mark(mark),
                };
                replication.expect(id, action);
                Some(id)
            }
            _ => None,
        };
        *self.shared.persistence.collector.lock_unpoisoned() = Some(writer);
        *self.shared.persistence.sync_barrier.lock_unpoisoned() = barrier;
        let fence = self.next_transaction();
        for core in 0..self.cores() {
            self.on_core(core, Op::Fence(fence)).await;
        }
        let fence_id = bytes::Bytes::from(fence.to_string());
        let replies = self
            .on_all(|| Op::Core(cut_core, vec![fence_id.clone()]))
            .await;
        *self.shared.persistence.collector.lock_unpoisoned() = None;
        *self.shared.persistence.sync_barrier.lock_unpoisoned() = None;
        if own_barrier {
            replication.end_barrier();
        }
        // A replica's AOF switches while its link is held (a master
        // without recording has no AOF to switch: see `record_for_aof`).
        if let (None, CutAt::Aof(Some(slot))) = (barrier, &cut_at) {
            replication.switch_aof_slot(slot.clone()).await;
        }
        let at = match barrier {
            Some(_) => marked.recv_async().await.ok(),
            None if held => {
                let (replid, offset, continuable) = replication.state().await;
                continuable.then_some((replid, offset))
            }
            None => None,
        };
        if held {
            side.release_link();
        }
        let repl = at.map(|(replid, offset)| rdb_file::ReplInfo { replid, offset });
        let mut sums = [0; 3];
        for reply in replies {
            if let Reply::Array(numbers) = reply {
                for (sum, number) in sums.iter_mut().zip(numbers) {
                    if let Reply::Int(n) = number {
                        *sum += n as u64;
                    }
                }
            }
        }
        (sums, repl)
    }

    /// Saves the dataset to `dbfilename`. In the background, returns once
    /// the snapshot is cut; else once the file is on disk.
    pub async fn save(&self, background: bool, counted: bool) -> Result<(), SaveError> {
        self.save_cut_at(background, counted, None).await
    }

    /// A background save for a full sync whose cut is replication barrier
    /// `id`; the hub gets the file once it is written, as Redis's
    /// disk-based sync sends the BGSAVE's file. Diskless, the snapshot's
    /// bytes go to the hub as they are made and no file is written (Redis's
    /// `repl-diskless-sync`).
    pub async fn save_for_sync(&self, id: u64, diskless: bool) -> Result<(), SaveError> {
        if diskless {
            return self.stream_to_replicas(id).await;
        }
        self.save_cut_at(true, true, Some(id)).await
    }

    /// A diskless sync's snapshot: cut at barrier `id`, its bytes sent to
    /// the hub by a thread as the cores serialize. Not a save: no file, no
    /// change to the last save's time or status.
    async fn stream_to_replicas(&self, id: u64) -> Result<(), SaveError> {
        let persistence = &self.shared.persistence;
        if persistence.busy.swap(true, Ordering::AcqRel) {
            return Err(SaveError::InProgress);
        }
        let started = Instant::now();
        persistence.state().bgsave_started = Some(started);
        let (pieces, received) = flume::unbounded();
        let ([_, keys, expires], repl) = self.cut(pieces, CutAt::Sync(id)).await;
        let image = FileToWrite {
            path: PathBuf::new(),
            temp: PathBuf::new(),
            keys,
            expires,
            cores: self.cores(),
            repl,
        };
        let shared = self.shared.clone();
        let cpus = writer_cpus(&self.db.borrow().config);
        let spawned = std::thread::Builder::new()
            .name("rdb-to-replicas".into())
            .spawn(move || {
                run_on(&cpus);
                let mut sink = ReplicaSink {
                    id,
                    replication: &shared.replication,
                    buffer: Vec::with_capacity(SINK_BYTES),
                };
                let mut done = 0;
                let sent = image
                    .write_rdb(&received, &mut done, &mut sink)
                    .and_then(|()| std::io::Write::flush(&mut sink));
                image.drain(&received, done);
                shared.replication.rdb_end(id, sent.is_ok());
                {
                    let mut state = shared.persistence.state();
                    state.bgsave_started = None;
                }
                match sent {
                    Ok(()) => notice!("Background RDB transfer terminated with success"),
                    Err(error) => warning!("Background RDB transfer error: {error}"),
                }
                shared.persistence.busy.store(false, Ordering::Release);
            });
        if spawned.is_err() {
            warning!("Can't stream to replicas: cannot start a thread");
            self.shared.persistence.state().bgsave_started = None;
            self.shared.persistence.busy.store(false, Ordering::Release);
            return Err(SaveError::Failed);
        }
        notice!("Background RDB transfer started");
        Ok(())
    }

    async fn save_cut_at(
        &self,
        background: bool,
        counted: bool,
        sync: Option<u64>,
    ) -> Result<(), SaveError> {
        let persistence = &self.shared.persistence;
        if persistence.busy.swap(true, Ordering::AcqRel) {
            return Err(SaveError::InProgress);
        }
        let started = Instant::now();
        {
            let mut state = persistence.state();
            // Redis counts SAVE and background saves, not a shutdown's or
            // DEBUG RELOAD's save.
            state.saves += u64::from(counted);
            state.last_try_secs = crate::command::now_ms() / 1000;
            if background {
                state.bgsave_started = Some(started);
            }
        }
        let (pieces, received) = flume::unbounded();
        let cut_at = sync.map_or(CutAt::Save, CutAt::Sync);
        let ([dirty, keys, expires], repl) = self.cut(pieces, cut_at).await;
        let file = FileToWrite {
            path: PathBuf::from(self.db.borrow().config.dbfilename.clone()),
            temp: PathBuf::from(format!(
                "temp-{}-{}.rdb",
                std::process::id(),
                persistence.next_temp.fetch_add(1, Ordering::Relaxed)
            )),
            keys,
            expires,
            cores: self.cores(),
            repl,
        };
        let (done_tx, done_rx) = flume::bounded::<bool>(1);
        let shared = self.shared.clone();
        let cpus = writer_cpus(&self.db.borrow().config);
        let path = file.path.clone();
        let writer = std::thread::Builder::new()
            .name("rdb-save".into())
            .spawn(move || {
                run_on(&cpus);
                let ok = file
                    .write(&received)
                    .map_err(|error| warning!("Write error saving DB on disk: {error}"))
                    .is_ok();
                if let Some(id) = sync {
                    // Opened before the save ends: a later save's rename
                    // cannot take this file from the replicas.
                    let opened = ok
                        .then(|| std::fs::File::open(&path).ok())
                        .flatten()
                        .and_then(|f| f.metadata().ok().map(|m| (std::sync::Arc::new(f), m.len())));
                    shared.replication.rdb_ready(id, opened);
                }
                finish_save(&shared, ok, dirty, background, started);
                let _ = done_tx.send(ok);
            });
        if writer.is_err() {
            warning!("Can't save: cannot start a thread");
            finish_save(&self.shared, false, 0, background, started);
            return Err(SaveError::Failed);
        }
        if background {
            notice!("Background saving started");
            return Ok(());
        }
        match done_rx.recv_async().await {
            Ok(true) => Ok(()),
            _ => Err(SaveError::Failed),
        }
    }

    /// An AOF rewrite's base: a snapshot cut where the AOF goes on in
    /// `next`'s file (None: the AOF is off), written to `temp` and renamed
    /// to `path`. Returns once the cut is made, with what says whether the
    /// file is on disk; the last save's time and status are not touched.
    pub async fn write_aof_base(
        &self,
        path: PathBuf,
        temp: PathBuf,
        next: Option<crate::replication::SinkSlot>,
    ) -> Result<flume::Receiver<bool>, SaveError> {
        let persistence = &self.shared.persistence;
        if persistence.busy.swap(true, Ordering::AcqRel) {
            return Err(SaveError::InProgress);
        }
        let (pieces, received) = flume::unbounded();
        let ([_, keys, expires], repl) = self.cut(pieces, CutAt::Aof(next)).await;
        let file = FileToWrite {
            path,
            temp,
            keys,
            expires,
            cores: self.cores(),
            repl,
        };
        let (done_tx, done_rx) = flume::bounded::<bool>(1);
        let shared = self.shared.clone();
        let cpus = writer_cpus(&self.db.borrow().config);
        let writer = std::thread::Builder::new()
            .name("aof-rewrite".into())
            .spawn(move || {
                run_on(&cpus);
                let ok = file
                    .write(&received)
                    .map_err(|error| warning!("Error writing the AOF base file: {error}"))
                    .is_ok();
                shared.persistence.busy.store(false, Ordering::Release);
                let _ = done_tx.send(ok);
            });
        if writer.is_err() {
            warning!("Can't rewrite append only file in background: cannot start a thread");
            self.shared.persistence.busy.store(false, Ordering::Release);
            return Err(SaveError::Failed);
        }
        Ok(done_rx)
    }

    /// Saves once no save is under way (a shutdown's final save, FLUSHALL's,
    /// DEBUG RELOAD's; Redis kills a running child instead), and waits
    /// until the file is on disk.
    async fn save_after_any_running(&self) -> Result<(), SaveError> {
        while self.shared.persistence.busy.load(Ordering::Acquire) {
            glommio::timer::sleep(Duration::from_millis(10)).await;
        }
        self.save(false, false).await
    }

    /// SHUTDOWN and SIGTERM: saves when asked to (`save` Some(true)) or
    /// when save points are configured (None), then exits. Returns only
    /// if the save failed and `force` is not set.
    pub async fn shut_down(&self, save: Option<bool>, force: bool) -> Reply {
        notice!("User requested shutdown...");
        let save = save.unwrap_or_else(|| !self.db.borrow().config.save.trim().is_empty());
        if save {
            notice!("Saving the final RDB snapshot before exiting.");
            match self.save_after_any_running().await {
                Ok(()) => {}
                Err(_) if force => warning!("Error trying to save the DB, exiting anyway (FORCE)."),
                Err(_) => {
                    warning!("Error trying to save the DB, can't exit.");
                    warning!("Errors trying to shut down the server. Check the logs for more information.");
                    return Reply::error("ERR Errors trying to SHUTDOWN. Check logs.");
                }
            }
        }
        if self.shared.replication.aof_is_on() {
            // Every write so far, written and fsynced.
            notice!("Calling fsync() on the AOF file.");
            self.on_all(|| Op::Core(super::replicate::flush_feed_core, Vec::new()))
                .await;
            self.shared.replication.switch_aof(None).await;
        }
        crate::process::remove_pidfile();
        notice!("slotcore is now ready to exit, bye bye...");
        std::process::exit(0);
    }

    /// DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: saves (unless NOSAVE),
    /// empties the dataset (unless NOFLUSH) and loads the file again. A
    /// key in the file replaces one of the same name (MERGE's behaviour).
    pub async fn debug_reload(&self, argv: &[Arg<'_>]) -> Reply {
        let mut save = true;
        let mut flush = true;
        for option in argv.iter().skip(2) {
            if option.eq_ignore_ascii_case(b"NOSAVE") {
                save = false;
            } else if option.eq_ignore_ascii_case(b"NOFLUSH") {
                flush = false;
            } else if !option.eq_ignore_ascii_case(b"MERGE") {
                return Reply::error(
                    "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.",
                );
            }
        }
        if save && self.save_after_any_running().await.is_err() {
            return Reply::error("ERR");
        }
        let config = self.db.borrow().config.clone();
        let file = match read_file(&config, self.cores()) {
            Ok(Some(file)) => file,
            Ok(None) => {
                warning!("Fatal error loading the DB: no file {}", config.dbfilename);
                return Reply::error("ERR Error trying to load the RDB dump");
            }
            Err(error) => {
                warning!("{error}");
                return Reply::error("ERR Error trying to load the RDB dump");
            }
        };
        self.replace_dataset(file, flush).await;
        warning!("DB reloaded by DEBUG RELOAD");
        Reply::ok()
    }

    /// After FLUSHALL: with save points set, the empty dataset is saved
    /// at once (Redis's flushAllDataAndResetRDB).
    pub async fn save_after_flushall(&self) {
        if self.db.borrow().config.save.trim().is_empty() {
            return;
        }
        let _ = self.save_after_any_running().await;
    }

    /// Empties the dataset (unless not `flush`) and installs `file`'s keys
    /// on every core (DEBUG RELOAD, a replica's full sync).
    pub async fn replace_dataset(&self, file: FileRead, flush: bool) {
        if flush {
            self.on_all(|| Op::Db(crate::command::keys::flush_local, Vec::new()))
                .await;
        }
        let persistence = &self.shared.persistence;
        {
            let mut state = persistence.state();
            state.loaded_keys = file.keys;
            state.expired_on_load = file.expired;
        }
        *persistence.loaded.lock_unpoisoned() = file.per_core;
        self.on_all(|| Op::Core(take_loaded, Vec::new())).await;
    }

    /// At startup: the keys the file held for this core.
    pub fn install_loaded(&self) {
        take_loaded(self, &[]);
    }
}

/// Records a save's end, as Redis's backgroundSaveDoneHandler and rdbSave.
fn finish_save(shared: &super::Shared, ok: bool, dirty: u64, background: bool, started: Instant) {
    let persistence = &shared.persistence;
    {
        let mut state = persistence.state();
        // A failed SAVE leaves the status as it was (Redis's rdbSave sets
        // it only on success); a failed background save sets `err`.
        if ok || background {
            state.last_ok = ok;
            persistence.failed.store(!ok, Ordering::Relaxed);
        }
        if ok {
            state.dirty_saved = dirty;
            state.last_save_secs = crate::command::now_ms() / 1000;
        }
        if background {
            state.bgsave_started = None;
            state.last_bgsave_secs = started.elapsed().as_secs() as i64;
        }
    }
    if background {
        if ok {
            notice!("Background saving terminated with success");
        } else {
            warning!("Background saving error");
        }
    } else if ok {
        notice!("DB saved on disk");
    }
    persistence.busy.store(false, Ordering::Release);
}

/// The CPUs the writer thread runs on: `bgsave_cpulist` (Redis's setting
/// for its saving child) when set, else every CPU the process started with,
/// so that a thread made by a pinned shard core does not share its CPU.
fn writer_cpus(config: &Config) -> Vec<usize> {
    let listed = config.inert.get("bgsave_cpulist").map(String::as_str);
    match listed.map(crate::config::parse_cpu_list) {
        Some(Ok(cpus)) if !cpus.is_empty() => cpus,
        _ => process_cpus().to_vec(),
    }
}

/// The CPUs the process was allowed when it started (read on the first
/// call, which `shard::run` makes before any core is pinned).
pub fn process_cpus() -> &'static [usize] {
    static CPUS: OnceLock<Vec<usize>> = OnceLock::new();
    CPUS.get_or_init(|| {
        // SAFETY: sched_getaffinity writes into the set we own.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        let size = std::mem::size_of::<libc::cpu_set_t>();
        if unsafe { libc::sched_getaffinity(0, size, &mut set) } != 0 {
            return Vec::new();
        }
        (0..libc::CPU_SETSIZE as usize)
            // SAFETY: CPU_ISSET reads the set within its size.
            .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) })
            .collect()
    })
}

/// Moves the calling thread to `cpus` (nothing when empty or refused).
fn run_on(cpus: &[usize]) {
    if cpus.is_empty() {
        return;
    }
    // SAFETY: CPU_SET and sched_setaffinity touch only the set we own.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for &cpu in cpus.iter().filter(|&&cpu| cpu < libc::CPU_SETSIZE as usize) {
            libc::CPU_SET(cpu, &mut set);
        }
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// A snapshot's file, written by a thread of its own as the cores send
/// their keys.
struct FileToWrite {
    path: PathBuf,
    temp: PathBuf,
    /// RESIZEDB's hints: the keys (and keys with an expiry) at the cut.
    keys: u64,
    expires: u64,
    /// How many cores send their keys (each ends with `Piece::Done`).
    cores: usize,
    /// The replication stream at the cut.
    repl: Option<rdb_file::ReplInfo>,
}

impl FileToWrite {
    /// Writes the file under its temporary name, fsyncs it and renames it
    /// over `path`, so that `path` is always a whole file (Redis's rdbSave).
    fn write(&self, pieces: &flume::Receiver<Piece>) -> std::io::Result<()> {
        let mut done = 0;
        let written = self.write_temp(pieces, &mut done);
        self.drain(pieces, done);
        let result = written.and_then(|()| {
            std::fs::rename(&self.temp, &self.path)?;
            // The rename itself reaches the disk with the directory.
            std::fs::File::open(".")?.sync_all()
        });
        if result.is_err() {
            let _ = std::fs::remove_file(&self.temp);
        }
        result
    }

    /// After a write error the cores are still serializing: the save
    /// ends (and another may start) only once they are through.
    fn drain(&self, pieces: &flume::Receiver<Piece>, mut done: usize) {
        while done < self.cores {
            match pieces.recv() {
                Ok(Piece::Done) => done += 1,
                Ok(Piece::Keys(_)) => {}
                Err(_) => break,
            }
        }
    }

    /// Writes the whole file; `done` counts the cores whose keys are all
    /// in.
    fn write_temp(&self, pieces: &flume::Receiver<Piece>, done: &mut usize) -> std::io::Result<()> {
        let file = std::fs::File::create(&self.temp)?;
        let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
        self.write_rdb(pieces, done, &mut out)?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()
    }

    /// Writes the RDB image to `out`: header, the cores' pieces as they
    /// come, footer with the CRC64.
    fn write_rdb<W: std::io::Write>(
        &self,
        pieces: &flume::Receiver<Piece>,
        done: &mut usize,
        out: &mut W,
    ) -> std::io::Result<()> {
        let mut crc = 0;
        let mut put = |bytes: &[u8], out: &mut W| {
            crc = crate::keyspace::rdb::crc64(crc, bytes);
            out.write_all(bytes)
        };
        let now_secs = crate::command::now_ms() / 1000;
        put(
            &rdb_file::header(
                now_secs,
                crate::memory::allocated_bytes(),
                self.repl.as_ref(),
            ),
            out,
        )?;
        if self.keys > 0 {
            put(&rdb_file::database_start(self.keys, self.expires), out)?;
        }
        while *done < self.cores {
            match pieces.recv() {
                Ok(Piece::Keys(bytes)) => put(&bytes, out)?,
                Ok(Piece::Done) => *done += 1,
                Err(_) => {
                    return Err(std::io::Error::other(
                        "a core stopped before sending all its keys",
                    ))
                }
            }
        }
        out.write_all(&rdb_file::footer(crc))
    }
}

/// What a diskless sync sends the hub at a time.
const SINK_BYTES: usize = 1 << 20;

/// A diskless sync's snapshot bytes queued for its slowest replica at
/// most: the snapshot waits for it, as Redis's child waits on its pipe,
/// rather than holding the whole snapshot in memory.
const SINK_QUEUED_MAX: usize = 32 << 20;

/// The cores' serialized pieces waiting for the writer thread at most
/// (each about 1 MB): a core that is ahead waits.
const PIECES_QUEUED_MAX: usize = 32;

/// A diskless sync's snapshot on its way to the hub, in pieces of
/// [`SINK_BYTES`].
struct ReplicaSink<'a> {
    id: u64,
    replication: &'a crate::replication::Replication,
    buffer: Vec<u8>,
}

impl ReplicaSink<'_> {
    /// Waits while the slowest replica has more than [`SINK_QUEUED_MAX`]
    /// queued (the hub drops one that stops reading, after `repl-timeout`).
    fn wait_for_replicas(&self) {
        while self.replication.rdb_queued(self.id) > SINK_QUEUED_MAX {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

impl std::io::Write for ReplicaSink<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= SINK_BYTES {
            self.flush()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.buffer.is_empty() {
            self.wait_for_replicas();
            let full = std::mem::replace(&mut self.buffer, Vec::with_capacity(SINK_BYTES));
            self.replication
                .rdb_bytes(self.id, bytes::Bytes::from(full));
        }
        Ok(())
    }
}

/// `save` parameter: the (seconds, changes) pairs; a malformed one (which
/// CONFIG SET refuses) is skipped.
fn save_points(save: &str) -> Vec<(u64, u64)> {
    let words: Vec<&str> = save.split_whitespace().collect();
    words
        .chunks(2)
        .filter_map(|pair| match pair {
            [seconds, changes] => Some((seconds.parse().ok()?, changes.parse().ok()?)),
            _ => None,
        })
        .collect()
}

/// Core 0's saving cron (Redis's serverCron part): starts a background
/// save when a save point is reached.
pub async fn save_points_loop(core: std::rc::Rc<Core>) {
    loop {
        glommio::timer::sleep(Duration::from_millis(100)).await;
        let persistence = &core.shared.persistence;
        if persistence.busy.load(Ordering::Acquire) {
            continue;
        }
        let points = save_points(&core.db.borrow().config.save);
        if points.is_empty() {
            continue;
        }
        let now_secs = crate::command::now_ms() / 1000;
        let (changes, since_save, may_try) = {
            let state = persistence.state();
            (
                persistence.dirty_total().saturating_sub(state.dirty_saved),
                now_secs.saturating_sub(state.last_save_secs),
                state.last_ok || now_secs.saturating_sub(state.last_try_secs) > RETRY_DELAY_SECS,
            )
        };
        let due = points
            .iter()
            .find(|&&(seconds, wanted)| changes >= wanted && since_save > seconds);
        if let (Some(&(seconds, wanted)), true) = (due, may_try) {
            notice!("{wanted} changes in {seconds} seconds. Saving...");
            let _ = core.save(true, true).await;
        }
    }
}

/// Where SIGTERM and SIGINT go once the cores run (see `listen_for_signals`).
static SIGNALS: OnceLock<flume::Sender<&'static str>> = OnceLock::new();

/// Hands a termination signal to core 0, which shuts down as SHUTDOWN
/// does; false before the cores are up (the caller then just exits).
pub fn request_shutdown(signal: &'static str) -> bool {
    SIGNALS
        .get()
        .is_some_and(|sender| sender.send(signal).is_ok())
}

/// Core 0's listener for termination signals.
pub async fn listen_for_signals(core: std::rc::Rc<Core>) {
    let (sender, receiver) = flume::unbounded();
    if SIGNALS.set(sender).is_err() {
        return;
    }
    while let Ok(signal) = receiver.recv_async().await {
        warning!("Received {signal} scheduling shutdown...");
        core.shut_down(None, false).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_points_are_pairs_of_seconds_and_changes() {
        assert_eq!(
            save_points("3600 1 300 100 60 10000"),
            vec![(3600, 1), (300, 100), (60, 10000)]
        );
        assert!(save_points("").is_empty());
        assert_eq!(save_points("1 x 2 3"), vec![(2, 3)]);
    }
}
