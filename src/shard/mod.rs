//! The per-core runtime: one glommio executor per shard core, each with its
//! own io_uring rings, its own SO_REUSEPORT listener, its own keyspace, and
//! its ends of the channel mesh. Only this module touches glommio.

mod aof;
mod bits;
mod blocking;
mod clients;
mod cluster;
mod collections;
mod conn;
mod coord;
mod evict;
mod info;
pub mod locks;
pub mod mesh;
mod migrate;
mod monitor;
mod pause;
pub mod persist;
mod pubsub;
mod readiness;
mod replica_link;
mod replicate;
mod script;
mod serverlog;
mod sort;
mod stats;
mod streams;
mod transaction;

use crate::cluster::ClusterView;
use crate::cluster_bus::runtime::{BusEvent, BusHandle, BusRequest, Publication};
use crate::command::{CommandSpec, Db};
use crate::config::{BindAddress, Config};
use crate::protocol::Reply;
use crate::protocol::{args_of, Arg};
use crate::{notice, warning};
use clients::Clients;
use glommio::channels::channel_mesh::MeshBuilder;
use glommio::net::TcpListener;
use glommio::{LocalExecutorBuilder, Placement};
use locks::{KeyLocks, Mode};
use mesh::{Mesh, Op, Request, Response, CHANNEL_MESSAGES_MAX};
use stats::CoreStats;
use std::cell::{OnceCell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// What every core shares: set at startup, then only counters that are
/// touched when connections open and close, never per request.
pub struct Shared {
    pub next_client_id: AtomicU64,
    pub connected_clients: AtomicUsize,
    /// Clients in MONITOR mode, on any core.
    pub monitors: AtomicUsize,
    /// CLIENT PAUSE: what it holds back, until when. Beside `monitors`,
    /// which every command reads too.
    pub pause: pause::ClientPause,
    pub start_ms: u64,
    pub cores: usize,
    pub executable: String,
    pub config_file: Option<std::path::PathBuf>,
    /// A random 40-hex-digit id for this run of the server (INFO run_id).
    pub run_id: String,
    /// Memory in use once the server is up, before any data: measured
    /// when every core is ready (INFO used_memory_startup).
    pub startup_memory_bytes: AtomicU64,
    /// Where CLUSTER commands go, in cluster mode: the bus core.
    pub bus: Option<flume::Sender<BusRequest>>,
    /// Where our clients' PUBLISHes go to reach the other nodes.
    pub bus_publish: Option<flume::Sender<Publication>>,
    /// The scripts loaded on any core, and each core's running script.
    pub scripts: script::ScriptBodies,
    /// Saving and loading RDB files; changes since the last save.
    pub persistence: persist::Persistence,
    /// Replication, master side: the hub and what INFO reads of it.
    pub replication: crate::replication::Replication,
    /// Replication, replica side: the link's target and state.
    pub replica: crate::replication::link::ReplicaSide,
    /// The manual failover pause settled by core 0, for the bus.
    pub failover_settled: Arc<AtomicU64>,
    /// The append-only file: its manifest, rewrites, INFO's aof_ fields.
    pub aof: aof::AofShared,
}

impl Shared {
    /// Points the replication link at `master` (None: this node becomes a
    /// master); a replica made a master continues its stream under a new
    /// id. Returns false when `master` was already the target.
    pub fn set_master(&self, master: Option<(String, u16)>) -> bool {
        if master.is_none() && self.replica.is_on() {
            // Recording starts before clients may write, and the link is
            // held so that it applies nothing more. A link caught inside a
            // read may have applied writes it has not forwarded yet: then
            // nothing can continue from the stream.
            let still = self.replica.hold_now();
            self.replication.promote(still);
            let changed = self.replica.set_master(None);
            self.replica.release_link();
            return changed;
        }
        self.replica.set_master(master)
    }
}

/// One core's state. Lives in an `Rc` on its executor; nothing in it is
/// shared with other threads.
pub struct Core {
    pub id: usize,
    pub db: RefCell<Db>,
    pub stats: RefCell<CoreStats>,
    pub clients: RefCell<Clients>,
    pub locks: RefCell<KeyLocks>,
    pub pubsub: RefCell<pubsub::Registry>,
    /// Keyspace events on their way to the other cores' subscribers.
    pub notify_outbox: RefCell<pubsub::NotifyOutbox>,
    /// WATCHed keys of this core, with each watching client's flag.
    pub watches: RefCell<transaction::Watches>,
    /// Clients blocked on keys of this core (BLPOP and friends).
    pub blocked: RefCell<blocking::Blocked>,
    /// Connections of this core held by a CLIENT PAUSE.
    pub pause_waiters: RefCell<Vec<std::task::Waker>>,
    transactions: std::cell::Cell<u64>,
    pub shared: Arc<Shared>,
    mesh: OnceCell<Mesh>,
    /// This core's copy of the cluster view; the bus sends new ones.
    pub view: RefCell<Arc<ClusterView>>,
    pub cluster_enabled: bool,
    /// Read readiness of this core's client sockets (see `readiness`).
    pub readiness: Rc<readiness::Readiness>,
    /// maxmemory's candidates for eviction (see `evict`).
    evict_pool: RefCell<evict::Pool>,
    /// SLOWLOG and the LATENCY monitor's events of this core (see
    /// `serverlog`).
    slowlog: RefCell<serverlog::SlowLog>,
    latency_events: RefCell<serverlog::LatencyEvents>,
    /// This core's clients in MONITOR mode.
    monitors: RefCell<Vec<Rc<pubsub::Subscriber>>>,
    /// The sockets this core listens on for clients (see `listen`).
    listeners: RefCell<Vec<Listening>>,
    /// This core's own `Rc`, for the tasks it starts from a `&Core`.
    me: std::rc::Weak<Core>,
    /// This core's Lua interpreter, made by its first script.
    scripts: RefCell<Option<crate::script::Engine>>,
}

/// A socket a core listens on and the task accepting its connections.
struct Listening {
    fd: std::os::unix::io::RawFd,
    _accepting: glommio::Task<()>,
}

impl Drop for Listening {
    /// Stops listening at once. The cancelled task drops the listener, and
    /// with it the descriptor, only when the executor next runs it, and an
    /// io_uring accept in flight keeps the socket listening until the
    /// kernel has processed its cancellation; shutting the socket down
    /// closes the port to new connections now, so that the port can be
    /// bound again straight away.
    fn drop(&mut self) {
        // SAFETY: the listener owning `fd` lives until `_accepting` (a
        // field, dropped after this) is cancelled and its future dropped.
        unsafe { libc::shutdown(self.fd, libc::SHUT_RDWR) };
    }
}

impl Core {
    /// Listens for clients on `addresses` instead of wherever this core
    /// listened before. Every core binds the same addresses with
    /// SO_REUSEPORT and the kernel spreads new connections over them. An
    /// address Redis would pass over (`BindAddress::skips`) is left out;
    /// any other failure leaves this core listening on nothing, and says
    /// which address failed. No addresses: stop listening.
    pub fn listen(&self, addresses: &[BindAddress]) -> Result<(), String> {
        self.listeners.borrow_mut().clear();
        let Some(me) = self.me.upgrade() else {
            return Err("the core is stopping".into());
        };
        let mut listening = Vec::with_capacity(addresses.len());
        for bind in addresses {
            match TcpListener::bind(bind.address).map_err(std::io::Error::from) {
                Ok(listener) => listening.push(Listening {
                    fd: std::os::unix::io::AsRawFd::as_raw_fd(&listener),
                    _accepting: glommio::spawn_local(accept_loop(me.clone(), listener)),
                }),
                Err(error) if bind.skips(&error) => {}
                Err(error) => return Err(format!("Failed listening on {}: {error}", bind.address)),
            }
        }
        *self.listeners.borrow_mut() = listening;
        Ok(())
    }

    pub fn mesh(&self) -> &Mesh {
        self.mesh
            .get()
            .expect("the mesh is joined before any task runs")
    }

    pub fn cores(&self) -> usize {
        self.shared.cores
    }

    /// Runs ops that never wait (internal work) synchronously, in order.
    pub fn run_ops(&self, ops: Vec<Op>) -> Vec<Reply> {
        let (replies, parked) = self.run_until_blocked(ops, &mut Vec::new());
        debug_assert!(
            parked.is_empty(),
            "run_ops is only given ops that never wait"
        );
        replies
    }

    /// Runs ops in order until one must wait for a key lock; returns the
    /// replies so far and the ops left, the waiting one first.
    pub fn run_until_blocked(
        &self,
        ops: Vec<Op>,
        slow: &mut Vec<serverlog::SlowRecord>,
    ) -> (Vec<Reply>, Vec<Op>) {
        {
            let mut db = self.db.borrow_mut();
            db.refresh_clock();
            // Look every command's key up first, so that the batch's cache
            // misses overlap (as the connection does for a read's own
            // commands; see Keyspace::warm_key).
            let keys = || {
                ops.iter().filter_map(|op| match op {
                    Op::Command(_, _, argv, Some((key, slot))) => Some((*slot, argv.get(*key)?)),
                    _ => None,
                })
            };
            keys().for_each(|(slot, _)| db.keyspace.warm_slot(slot));
            keys().for_each(|(slot, key)| db.keyspace.warm_bucket(slot, key));
            keys().for_each(|(slot, key)| db.keyspace.warm_key(slot, key));
        }
        let mut replies = Vec::with_capacity(ops.len());
        let mut ops = ops.into_iter();
        while let Some(op) = ops.next() {
            let logged = slow.len();
            let result = self.try_op(op, slow);
            for record in &mut slow[logged..] {
                record.op = replies.len() as u32;
            }
            match result {
                Ok(reply) => replies.push(reply),
                Err(blocked) => return (replies, std::iter::once(blocked).chain(ops).collect()),
            }
        }
        (replies, Vec::new())
    }

    /// Runs one op on `core`: here, or over the mesh.
    pub async fn on_core(&self, core: usize, op: Op) -> Reply {
        if core == self.id {
            return self.run_op(op).await;
        }
        self.mesh()
            .call(core, vec![op])
            .await
            .pop()
            .unwrap_or(Reply::Nil)
    }

    /// Runs one op on every core, in parallel, and returns the replies in
    /// core order.
    pub async fn on_all(&self, make: impl Fn() -> Op) -> Vec<Reply> {
        let ops = (0..self.cores()).map(|_| Some(make())).collect();
        self.on_each(ops)
            .await
            .into_iter()
            .map(|reply| reply.unwrap_or(Reply::Nil))
            .collect()
    }

    /// Runs `ops[core]` on each core that has one: the other cores' first,
    /// all sent before waiting, then this core's (which may wait for key
    /// locks); replies in core order.
    pub async fn on_each(&self, ops: Vec<Option<Op>>) -> Vec<Option<Reply>> {
        let mut replies: Vec<Option<Reply>> = ops.iter().map(|_| None).collect();
        let mut started = Vec::new();
        let mut local = None;
        for (core, op) in ops.into_iter().enumerate() {
            match op {
                Some(op) if core == self.id => local = Some(op),
                Some(op) => started.push((core, self.mesh().start(core, vec![op]).await)),
                None => {}
            }
        }
        if let Some(op) = local {
            replies[self.id] = Some(self.run_op(op).await);
        }
        for (core, id) in started {
            replies[core] = self.mesh().finish(id, 1).await.pop();
        }
        replies
    }

    /// Runs one op, waiting for key locks if it must.
    pub async fn run_op(&self, op: Op) -> Reply {
        self.run_op_logged(op, &mut Vec::new()).await
    }

    /// `run_op`, keeping the slowlog record of a client command that ran
    /// slowly.
    pub async fn run_op_logged(&self, op: Op, slow: &mut Vec<serverlog::SlowRecord>) -> Reply {
        let mut pending = Some(op);
        std::future::poll_fn(|cx| {
            let op = pending.take().expect("polled after completion");
            self.db.borrow_mut().refresh_clock();
            match self.try_op(op, slow) {
                Ok(reply) => std::task::Poll::Ready(reply),
                Err(blocked) => {
                    self.locks.borrow().wait(cx.waker());
                    pending = Some(blocked);
                    std::task::Poll::Pending
                }
            }
        })
        .await
    }

    /// True when a client command must wait for locks on its keys.
    pub fn command_blocked(&self, spec: &CommandSpec, argv: &[Arg<'_>]) -> bool {
        let locks = self.locks.borrow();
        if locks.is_empty() {
            return false;
        }
        let mode = if spec.is_write() {
            Mode::Exclusive
        } else {
            Mode::Shared
        };
        crate::command::key_positions(spec, argv).any(|i| locks.blocks(&argv[i], mode, 0))
    }

    /// Runs an op, or hands it back if it must wait for a lock.
    // An op is as large as a command's inline argument spans (`SentArgs`);
    // it is moved, not boxed, so that sending one allocates nothing.
    #[allow(clippy::result_large_err)]
    fn try_op(&self, op: Op, slow: &mut Vec<serverlog::SlowRecord>) -> Result<Reply, Op> {
        let internal_error =
            || Reply::error("ERR internal error while executing the command (logged)");
        Ok(match op {
            Op::Db(run, argv) => {
                crate::command::run_guarded(run, &mut self.db.borrow_mut(), &args_of(&argv))
            }
            Op::Core(run, argv) => std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                run(self, &args_of(&argv))
            }))
            .unwrap_or_else(|_| internal_error()),
            Op::Command(spec, run, argv, routed) => {
                let ran = argv.with(|args| {
                    if self.command_blocked(spec, args) {
                        return None;
                    }
                    let watch = crate::clock::Stopwatch::start();
                    let reply = {
                        let mut db = self.db.borrow_mut();
                        if let Some((key, slot)) = routed {
                            db.set_routed(&args[key], slot);
                        }
                        let reply = crate::command::notify::run_notifying(run, &mut db, spec, args);
                        db.clear_routed();
                        reply
                    };
                    self.publish_events();
                    self.after_write(spec, args, &reply);
                    let nanos = watch.elapsed_nanos();
                    slow.extend(self.command_ran(spec, args, nanos));
                    let tracking = self.db.borrow().config.latency_tracking;
                    let mut stats = self.stats.borrow_mut();
                    let index = crate::command::table::index_of(spec);
                    stats.commands[index].add_nanos(nanos);
                    if tracking {
                        stats.record_latency(index, nanos);
                    }
                    Some(reply)
                });
                match ran {
                    Some(reply) => reply,
                    None => return Err(Op::Command(spec, run, argv, routed)),
                }
            }
            Op::Lock {
                transaction,
                keys,
                mode,
            } => {
                if !self
                    .locks
                    .borrow_mut()
                    .try_lock_all(transaction, &keys, mode)
                {
                    return Err(Op::Lock {
                        transaction,
                        keys,
                        mode,
                    });
                }
                Reply::ok()
            }
            Op::Locked {
                transaction,
                run,
                argv,
                release,
                command,
            } => {
                let reply = match command {
                    Some(spec) => crate::command::notify::run_notifying(
                        run,
                        &mut self.db.borrow_mut(),
                        spec,
                        &args_of(&argv),
                    ),
                    None => {
                        crate::command::run_guarded(run, &mut self.db.borrow_mut(), &args_of(&argv))
                    }
                };
                self.publish_events();
                if !reply.is_error() {
                    self.after_locked_write(transaction);
                }
                if release {
                    self.locks.borrow_mut().unlock_all(transaction);
                }
                reply
            }
            Op::Checked {
                spec,
                argv,
                check,
                redirect,
            } => {
                if self.command_blocked(spec, &args_of(&argv)) {
                    return Err(Op::Checked {
                        spec,
                        argv,
                        check,
                        redirect,
                    });
                }
                let args = args_of(&argv);
                let reply = self.run_checked(spec, &args, &check, redirect);
                self.publish_events();
                self.after_write(spec, &args, &reply);
                reply
            }
            Op::Script(call) => {
                if self.script_blocked(&call) {
                    return Err(Op::Script(call));
                }
                self.run_script(&call)
            }
            Op::InstallView(view) => {
                self.install_view(view);
                Reply::ok()
            }
            Op::Unlock(transaction) => {
                self.locks.borrow_mut().unlock_all(transaction);
                Reply::ok()
            }
            Op::Fence(snapshot) => {
                if !self.locks.borrow_mut().fence(snapshot) {
                    return Err(Op::Fence(snapshot));
                }
                Reply::ok()
            }
            Op::Watch { client, keys, flag } => {
                // A key already expired when WATCHed is deleted first: its
                // deletion is no change (Redis's watchedKey.expired).
                self.expire_due(&keys);
                self.watches.borrow_mut().watch(client, keys, flag);
                // Keys expiring from now on are logged, to touch watchers.
                let mut db = self.db.borrow_mut();
                db.keyspace.expired_log.get_or_insert_with(Vec::new);
                Reply::ok()
            }
            Op::Unwatch { client, keys } => {
                self.watches.borrow_mut().unwatch(client, &keys);
                Reply::ok()
            }
            Op::Block { keys, waiter } => self.block(keys, waiter),
            Op::Unblock { client, keys } => {
                self.unblock(client, &keys);
                Reply::ok()
            }
        })
    }

    /// Runs a command in a slot under migration if its keys here allow.
    fn run_checked(
        &self,
        spec: &'static CommandSpec,
        argv: &[Arg<'_>],
        check: &crate::cluster::route::KeyCheck,
        redirect: String,
    ) -> Reply {
        let run = match spec.exec {
            crate::command::Exec::Shard(run) | crate::command::Exec::ShardOrCross(run, _) => run,
            crate::command::Exec::Coord(_) => {
                return Reply::error("ERR this command cannot run in a slot under migration")
            }
        };
        let mut db = self.db.borrow_mut();
        let now = db.now_ms;
        let mut keys = 0;
        let mut missing = 0;
        for i in crate::command::key_positions(spec, argv) {
            keys += 1;
            let slot = crate::cluster::key_hash_slot(&argv[i]);
            if !db.keyspace.contains(slot, &argv[i], now) {
                missing += 1;
            }
        }
        if crate::cluster::route::resolve_check(check, keys, missing).is_some() {
            return Reply::error(redirect);
        }
        crate::command::notify::run_notifying(run, &mut db, spec, argv)
    }

    /// Installs a view from the bus unless this core already has a newer one.
    pub fn install_view(&self, view: Arc<ClusterView>) {
        let mut current = self.view.borrow_mut();
        if view.version > current.version {
            // Core 0 runs the replication link: it follows the view's master.
            if self.id == 0 && view.enabled && view.master_addr != current.master_addr {
                self.shared.set_master(view.master_addr.clone());
            }
            let replica = view.enabled && view.master_addr.is_some();
            let mut db = self.db.borrow_mut();
            if db.replica_by_view != replica {
                db.replica_by_view = replica;
                db.sync_keyspace_config();
            }
            drop(db);
            *current = view;
            // Shard channels follow their slot: when it is no longer ours,
            // its subscribers are unsubscribed (Redis 7.0 does the same).
            if current.enabled {
                let view = current.clone();
                self.pubsub
                    .borrow_mut()
                    .drop_shard_channels(|slot| view.slots[slot as usize] == view.myself);
            }
        }
    }

    /// A transaction id unique across the node: the core in the top bits.
    pub fn next_transaction(&self) -> u64 {
        let next = self.transactions.get() + 1;
        self.transactions.set(next);
        ((self.id as u64 + 1) << 48) | next
    }
}

/// Where the shard cores run: pinned CPUs when there are enough.
fn placements(config: &Config, cores: usize) -> Vec<Placement> {
    let available = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let cpus: Vec<usize> = if config.cpus.is_empty() {
        (0..available).collect()
    } else {
        config.cpus.clone()
    };
    if cpus.len() >= cores {
        cpus[..cores]
            .iter()
            .map(|&cpu| Placement::Fixed(cpu))
            .collect()
    } else {
        (0..cores).map(|_| Placement::Unbound).collect()
    }
}

/// glommio registers its I/O buffers with io_uring, which needs locked
/// memory; the default limit (often 8 MiB) is too small for many cores.
fn raise_memlock_limit(bytes_wanted: u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut limit) != 0 || limit.rlim_cur >= bytes_wanted
        {
            return;
        }
        let raised = libc::rlimit {
            rlim_cur: bytes_wanted,
            rlim_max: limit.rlim_max.max(bytes_wanted),
        };
        if libc::setrlimit(libc::RLIMIT_MEMLOCK, &raised) != 0 {
            let soft = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            libc::setrlimit(libc::RLIMIT_MEMLOCK, &soft);
        }
    }
}

/// Starts every shard core and blocks until the server shuts down.
pub fn run(config: Config) -> Result<(), String> {
    let cores = config.shard_count();
    let addresses = config.bind_addresses(config.port)?;
    if addresses.is_empty() {
        return Err("No bind address to listen on".into());
    }
    Config::check_addresses_free(&addresses)?;
    // With appendonly yes the AOF takes the place of dbfilename.
    let aof = aof::startup(&config, cores)?;
    let file = match config.appendonly {
        true => aof.file,
        false => persist::read_file(&config, cores)?,
    };
    let restored = file.as_ref().and_then(|file| file.repl.clone());
    // Before any core is pinned: where snapshot writers may run.
    persist::process_cpus();
    raise_memlock_limit(config.io_memory_bytes * cores as u64 * 2 + 64 * 1024 * 1024);
    let replica_offset = Arc::new(std::sync::atomic::AtomicI64::new(-1));
    let master_heard_ms = Arc::new(AtomicU64::new(0));
    let failover_settled = Arc::new(AtomicU64::new(0));
    let replication = crate::replication::Replication::new(cores, crate::replication::random_id());
    let bus = if config.cluster_enabled {
        let offsets = crate::cluster_bus::runtime::Offsets {
            replica: replica_offset.clone(),
            master_heard_ms: master_heard_ms.clone(),
            master: replication.published_handle(),
            failover_settled: failover_settled.clone(),
        };
        Some(crate::cluster_bus::runtime::start(&config, cores, offsets)?)
    } else {
        None
    };
    let (bus_requests, bus_publish, mut view_receivers, initial_view) = match bus {
        Some(BusHandle {
            requests,
            publications,
            events,
            initial_view,
        }) => (
            Some(requests),
            Some(publications),
            events.into_iter().map(Some).collect(),
            initial_view,
        ),
        None => (None, None, Vec::new(), Arc::new(ClusterView::standalone())),
    };
    view_receivers.resize_with(cores, || None);
    let start_ms = crate::command::now_ms();
    let shared = Arc::new(Shared {
        next_client_id: AtomicU64::new(1),
        connected_clients: AtomicUsize::new(0),
        monitors: AtomicUsize::new(0),
        start_ms,
        cores,
        executable: std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        config_file: config.config_file.clone(),
        run_id: crate::replication::random_id(),
        startup_memory_bytes: AtomicU64::new(0),
        bus: bus_requests,
        bus_publish,
        pause: Default::default(),
        scripts: script::ScriptBodies::new(cores),
        persistence: persist::Persistence::new(cores, start_ms, file),
        replication,
        replica: crate::replication::link::ReplicaSide::new(replica_offset, master_heard_ms),
        failover_settled,
        aof: aof.shared,
    });
    // A replica in nodes.conf, or `replicaof host port` in the
    // configuration (standalone only).
    if initial_view.master_addr.is_some() {
        shared.set_master(initial_view.master_addr.clone());
    }
    let replicaof = crate::config::inert::get(&config, "replicaof", "");
    if let [host, port] = replicaof.split_whitespace().collect::<Vec<_>>()[..] {
        if let Ok(master) = crate::replication::link::parse_replicaof(host, port) {
            shared.set_master(master);
        }
    }
    // The stream the file stands at, for partial resyncs after a restart.
    if let Some(repl) = restored {
        let replica = shared.replica.is_on();
        shared.replication.restore(
            &repl.replid,
            repl.offset,
            replica,
            replicate::backlog_size(&config),
        );
        if replica {
            shared.replica.set_offset(repl.offset as i64);
        }
    }
    let requests = MeshBuilder::<Request, _>::full(cores, CHANNEL_MESSAGES_MAX);
    let responses = MeshBuilder::<Response, _>::full(cores, CHANNEL_MESSAGES_MAX);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
    let mut handles = Vec::new();
    for (index, placement) in placements(&config, cores).into_iter().enumerate() {
        let (config, shared, requests, responses, ready) = (
            config.clone(),
            shared.clone(),
            requests.clone(),
            responses.clone(),
            ready_tx.clone(),
        );
        let addresses = addresses.clone();
        let views = CoreViews {
            initial: initial_view.clone(),
            updates: view_receivers[index].take(),
        };
        let handle = LocalExecutorBuilder::new(placement)
            .name(&format!("shard-{index}"))
            .io_memory(config.io_memory_bytes as usize)
            .spawn(move || core_main(config, shared, requests, responses, addresses, ready, views))
            .map_err(|e| format!("Cannot start shard core {index}: {e}"))?;
        handles.push(handle);
    }
    drop(ready_tx);
    for _ in 0..cores {
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(error)) => return Err(error),
            Err(_) => return Err("a shard core stopped during startup".into()),
        }
    }
    shared
        .startup_memory_bytes
        .store(crate::memory::allocated_bytes(), Ordering::Relaxed);
    notice!("Ready to accept connections tcp");
    for handle in handles {
        let _ = handle.join();
    }
    Ok(())
}

/// A core's first view and where later ones arrive. The receivers are
/// made per core index, but a core's identity is its place in the mesh,
/// which only joining tells; views are the same for every core, so a core
/// may take any index's receiver.
struct CoreViews {
    initial: Arc<ClusterView>,
    updates: Option<flume::Receiver<BusEvent>>,
}

async fn core_main(
    config: Config,
    shared: Arc<Shared>,
    requests: MeshBuilder<Request, glommio::channels::channel_mesh::Full>,
    responses: MeshBuilder<Response, glommio::channels::channel_mesh::Full>,
    addresses: Vec<BindAddress>,
    ready: std::sync::mpsc::Sender<Result<(), String>>,
    views: CoreViews,
) {
    let (request_senders, request_receivers) = match requests.join().await {
        Ok(ends) => ends,
        Err(e) => return drop(ready.send(Err(format!("cannot join the request mesh: {e}")))),
    };
    let (response_senders, response_receivers) = match responses.join().await {
        Ok(ends) => ends,
        Err(e) => return drop(ready.send(Err(format!("cannot join the response mesh: {e}")))),
    };
    // A core's identity (and so its slots) is its place in the mesh.
    let id = request_senders.peer_id();
    let readiness = match readiness::Readiness::new().and_then(|r| r.install().map(|()| r)) {
        Ok(readiness) => readiness,
        Err(e) => return drop(ready.send(Err(format!("cannot create an epoll instance: {e}")))),
    };
    let core = Rc::new_cyclic(|me| Core {
        id,
        db: RefCell::new({
            let mut db = Db::new(id, shared.cores, config.clone());
            // A replica by nodes.conf keeps expired keys for its master's DEL.
            db.replica_by_view = views.initial.enabled && views.initial.master_addr.is_some();
            db.sync_keyspace_config();
            db
        }),
        stats: RefCell::new(CoreStats::new()),
        clients: RefCell::new(Clients::default()),
        locks: RefCell::new(KeyLocks::default()),
        pubsub: RefCell::new(pubsub::Registry::default()),
        notify_outbox: RefCell::new(pubsub::NotifyOutbox::default()),
        watches: RefCell::new(transaction::Watches::default()),
        blocked: RefCell::new(blocking::Blocked::default()),
        pause_waiters: RefCell::new(Vec::new()),
        transactions: std::cell::Cell::new(0),
        cluster_enabled: config.cluster_enabled,
        shared,
        mesh: OnceCell::new(),
        view: RefCell::new(views.initial),
        readiness,
        evict_pool: RefCell::default(),
        slowlog: RefCell::default(),
        monitors: RefCell::default(),
        latency_events: RefCell::default(),
        listeners: RefCell::default(),
        me: me.clone(),
        scripts: RefCell::new(None),
    });
    if let Some(updates) = views.updates {
        let core = core.clone();
        glommio::spawn_local(async move {
            while let Ok(event) = updates.recv_async().await {
                match event {
                    BusEvent::View(view) => core.install_view(view),
                    BusEvent::FailoverPause(end_ms) => core.failover_pause(end_ms),
                    BusEvent::DropSlots(slots) => core.drop_slots(&slots),
                    BusEvent::Publish(publication) => {
                        let registry = core.pubsub.borrow();
                        if publication.shard {
                            registry.publish_shard(&publication.channel, &publication.message);
                        } else {
                            registry.publish(&publication.channel, &publication.message);
                        }
                    }
                }
            }
        })
        .detach();
    }
    core.install_loaded();
    let _ = core.mesh.set(Mesh::new(request_senders, response_senders));
    mesh::spawn_handlers(core.clone(), request_receivers, response_receivers);
    glommio::spawn_local(pubsub::notifier_loop(core.clone())).detach();
    core.db
        .borrow_mut()
        .feed
        .connect(core.shared.replication.switch());
    glommio::spawn_local(replicate::feed_loop(core.clone())).detach();
    // The AOF's commands run on core 0 before any core listens.
    if id == 0 {
        core.load_aof().await;
    } else {
        core.wait_for_aof_load().await;
    }
    if let Err(error) = core.listen(&addresses) {
        let _ = ready.send(Err(error));
        return;
    }
    if id == 0 {
        notice!(
            "Server initialized: {} shard cores, port {}",
            core.cores(),
            config.port
        );
    }
    let _ = ready.send(Ok(()));
    glommio::spawn_local(active_expire_loop(core.clone())).detach();
    if id == 0 {
        glommio::spawn_local(persist::save_points_loop(core.clone())).detach();
        glommio::spawn_local(persist::listen_for_signals(core.clone())).detach();
        glommio::spawn_local(replica_link::link_loop(core.clone())).detach();
        glommio::spawn_local(aof::auto_rewrite_loop(core.clone())).detach();
    }
    // The core's tasks run until the process exits (SHUTDOWN, a signal).
    futures_lite::future::pending::<()>().await;
}

async fn accept_loop(core: Rc<Core>, listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok(stream) => {
                glommio::spawn_local(conn::serve(core.clone(), stream)).detach();
            }
            Err(error) => {
                let error = std::io::Error::from(error);
                // The listener was shut down (`Listening`): done.
                if error.raw_os_error() == Some(libc::EINVAL) {
                    return;
                }
                warning!("Accepting client connection: {error}");
                glommio::timer::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// Active expiry: every 1/hz seconds remove keys whose time has come, a
/// bounded number at a time, yielding between rounds so clients are served;
/// then let the allocator return what it holds free (`memory`).
async fn active_expire_loop(core: Rc<Core>) {
    const KEYS_PER_ROUND_MAX: usize = 500;
    loop {
        let hz = core.db.borrow().config.hz.clamp(1, 500);
        glommio::timer::sleep(Duration::from_millis(1000 / hz)).await;
        core.end_expired_pause();
        loop {
            let round = crate::clock::Stopwatch::start();
            let more = {
                let mut db = core.db.borrow_mut();
                // A replica waits for its master's DEL (Redis's replicas
                // expire no keys of their own).
                if !db.keyspace.active_expire_enabled
                    || db.keyspace.expiry_paused
                    || core.shared.replica.is_on()
                {
                    break;
                }
                db.refresh_clock();
                let now = db.now_ms;
                db.keyspace.expire_due(now, KEYS_PER_ROUND_MAX);
                if db.feed.is_on() {
                    db.sync_feed();
                    db.propagate_expired();
                }
                db.keyspace.has_due_keys(now)
            };
            core.publish_events();
            core.latency_sample("expire-cycle", round.elapsed_nanos() / 1_000_000);
            if !more {
                break;
            }
            glommio::yield_if_needed().await;
        }
        // A core whose clients are idle still gives up its share of keys
        // while the process is over maxmemory.
        core.evict_share();
        crate::memory::release_free_memory();
    }
}
