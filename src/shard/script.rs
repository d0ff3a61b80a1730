//! EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT: where a script runs, and
//! the commands it calls.
//!
//! A script runs on the core that owns its keys (KEYS), the connection's
//! own core when it declares none. The connection hands it there as one op
//! (`Op::Script`), like a single-key command, and that core runs it to the
//! end without yielding: nothing else touches its keys meanwhile, which is
//! Redis's atomicity. The keys of one script must all be on one core; in
//! cluster mode they are in one slot anyway, or the router refused them.
//!
//! Each core compiles scripts into its own interpreter. The bodies are
//! also kept in one table for the node (`ScriptBodies`), so that EVALSHA
//! finds a script loaded through any core; that table is only read when a
//! core meets a SHA1 it has not compiled yet, never on the way of a script
//! it knows.

use super::conn::{subcommand_error, Conn};
use super::locks::Mode;
use super::mesh::Op;
use super::Core;
use crate::cluster::{core_of_slot, key_hash_slot};
use crate::command::{errors, key_positions, lookup, parse_int, CommandSpec, Coord, Exec};
use crate::protocol::{args_of, to_owned_args, Arg, Reply};
use crate::script::{Engine, Host, Run};
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

const NOSCRIPT: &str = "NOSCRIPT No matching script. Please use EVAL.";

/// A script's keys on several cores: slotcore runs a script on one core.
const KEYS_ON_CORES: &str = "CROSSSLOT Keys in request don't hash to the same slot (a script's \
                             keys must be on one core of slotcore: give them a common hash tag)";

/// A command of a script whose keys are on another core than the script.
const KEY_ON_OTHER_CORE: &str = "Script attempted to access keys that do not hash to the same \
                                 core (declare every key in KEYS, with a common hash tag)";

/// The node's scripts (SHA1 → body) and what each core's running script
/// is doing, for SCRIPT KILL from any core.
pub struct ScriptBodies {
    bodies: Mutex<HashMap<String, Bytes>>,
    running: Vec<RunningScript>,
    /// DEBUG SET-DISABLE-DENY-SCRIPTS: scripts may call noscript commands.
    deny_disabled: AtomicBool,
}

#[derive(Default)]
struct RunningScript {
    /// When the script began (ms since the epoch), 0 when none runs.
    started_ms: AtomicU64,
    /// It ran a write: SCRIPT KILL cannot undo that.
    dirty: AtomicBool,
    /// SCRIPT KILL asked for it to end.
    kill: AtomicBool,
    /// What the core's interpreter holds (INFO used_memory_lua).
    lua_bytes: AtomicU64,
}

impl ScriptBodies {
    pub fn new(cores: usize) -> Self {
        ScriptBodies {
            bodies: Mutex::new(HashMap::new()),
            running: (0..cores).map(|_| RunningScript::default()).collect(),
            deny_disabled: AtomicBool::new(false),
        }
    }

    pub fn set_deny_disabled(&self, disabled: bool) {
        self.deny_disabled.store(disabled, Ordering::Relaxed);
    }

    fn bodies(&self) -> std::sync::MutexGuard<'_, HashMap<String, Bytes>> {
        self.bodies
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn get(&self, sha: &str) -> Option<Bytes> {
        self.bodies().get(sha).cloned()
    }

    /// The body of a loaded script, by its SHA1 in any case.
    pub fn body(&self, sha: &str) -> Option<Bytes> {
        self.get(&sha.to_ascii_lowercase())
    }

    fn insert(&self, sha: String, body: Bytes) {
        self.bodies().entry(sha).or_insert(body);
    }

    pub fn len(&self) -> usize {
        self.bodies().len()
    }

    /// Memory every core's interpreter holds.
    pub fn lua_bytes(&self) -> u64 {
        self.running
            .iter()
            .map(|script| script.lua_bytes.load(Ordering::Relaxed))
            .sum()
    }

    /// Bytes the bodies and their names take (INFO used_memory_scripts).
    pub fn bytes(&self) -> usize {
        self.bodies()
            .values()
            .map(|body| body.len() + 40 + 64)
            .sum()
    }
}

/// An EVAL-family command on its way to the core that runs it.
pub struct ScriptCall {
    /// The command as the client sent it.
    pub argv: Vec<Bytes>,
    pub evalsha: bool,
    pub read_only: bool,
    /// The EXEC whose locks the script runs under, 0 outside one.
    pub transaction: u64,
    /// It declares no keys and has not moved yet (see `moved`).
    pub may_move: bool,
    /// The client's address, when a client is in MONITOR mode: the core
    /// that runs the script shows the EVAL itself, before the script's own
    /// commands, so every monitor sees them in that order.
    pub monitor_as: Option<String>,
}

/// What a script that declares no keys answers when the first key it
/// touches is on another core (before any write): the coordinator runs it
/// again there, once. Never seen by a client. A push reply, which no script
/// can make (a script's value never converts to one), so that a script
/// cannot pass for moved and be run twice.
fn moved(core: usize) -> Reply {
    Reply::Push(vec![
        Reply::Simple("slotcore-script-moved".into()),
        Reply::Int(core as i64),
    ])
}

fn moved_to(reply: &Reply) -> Option<usize> {
    match reply {
        Reply::Push(items) => match items.as_slice() {
            [Reply::Simple(tag), Reply::Int(core)] if tag == "slotcore-script-moved" => {
                usize::try_from(*core).ok()
            }
            _ => None,
        },
        _ => None,
    }
}

impl ScriptCall {
    fn keys(&self) -> &[Bytes] {
        let count = parse_int(&self.argv[2]).unwrap_or(0).max(0) as usize;
        &self.argv[3..(3 + count).min(self.argv.len())]
    }
}

impl Conn {
    /// EVAL, EVALSHA and their _RO forms.
    pub(super) async fn eval(&mut self, argv: &[Arg<'_>], evalsha: bool, read_only: bool) -> Reply {
        // EVAL has no write flag, but its script may write: under
        // `appendfsync always` its reply waits for the fsync.
        self.wrote_in_read |= !read_only;
        // A name that is not 40 characters long cannot be a SHA1: Redis
        // answers before it looks at the key count.
        if evalsha && argv[1].len() != 40 {
            return Reply::error(NOSCRIPT);
        }
        let Some(count) = parse_int(&argv[2]) else {
            return Reply::error(errors::NOT_INTEGER);
        };
        if count > argv.len() as i64 - 3 {
            return Reply::error("ERR Number of keys can't be greater than number of args");
        }
        if count < 0 {
            return Reply::error("ERR Number of keys can't be negative");
        }
        let cores = self.core.cores();
        let keys = &argv[3..3 + count as usize];
        let mut key_cores = keys
            .iter()
            .map(|key| core_of_slot(key_hash_slot(key), cores));
        let core = key_cores.next().unwrap_or(self.core.id);
        if key_cores.any(|other| other != core) {
            return Reply::error(KEYS_ON_CORES);
        }
        let monitored = self.core.shared.monitors.load(Ordering::Relaxed) > 0;
        let call = |may_move| ScriptCall {
            argv: to_owned_args(argv),
            evalsha,
            read_only,
            transaction: self.tx.exec_transaction.unwrap_or(0),
            may_move,
            monitor_as: monitored.then(|| self.handle.addr.to_string()),
        };
        let reply = self
            .on_core(core, Op::Script(Box::new(call(count == 0))))
            .await;
        match moved_to(&reply) {
            Some(core) => self.on_core(core, Op::Script(Box::new(call(false)))).await,
            None => reply,
        }
    }

    /// SCRIPT LOAD, EXISTS, FLUSH, KILL, HELP (DEBUG is not built).
    pub(super) async fn script(&mut self, argv: &[Arg<'_>]) -> Reply {
        if let Some(error) = lookup(b"script").and_then(|spec| subcommand_error(spec, argv)) {
            return error;
        }
        let sub = String::from_utf8_lossy(&argv[1]).to_ascii_lowercase();
        let bodies = &self.core.shared.scripts;
        match (sub.as_str(), argv.len()) {
            ("help", 2) => Reply::Array(
                SCRIPT_HELP
                    .iter()
                    .map(|l| Reply::Simple((*l).into()))
                    .collect(),
            ),
            ("flush", _) => {
                if argv.len() > 3
                    || argv.len() == 3
                        && !argv[2].eq_ignore_ascii_case(b"sync")
                        && !argv[2].eq_ignore_ascii_case(b"async")
                {
                    return Reply::error("ERR SCRIPT FLUSH only support SYNC|ASYNC option");
                }
                bodies.bodies().clear();
                self.on_all(|| Op::Core(flush_core, Vec::new())).await;
                Reply::ok()
            }
            ("exists", n) if n >= 3 => {
                let known = bodies.bodies();
                Reply::Array(
                    argv[2..]
                        .iter()
                        .map(|sha| {
                            // Redis's script dictionary ignores case.
                            let sha = String::from_utf8_lossy(sha).to_ascii_lowercase();
                            Reply::Int(known.contains_key(&sha) as i64)
                        })
                        .collect(),
                )
            }
            ("load", 3) => {
                let body = Bytes::copy_from_slice(&argv[2]);
                self.core.run_op(Op::Core(load_core, vec![body])).await
            }
            ("kill", 2) => kill(&self.core.shared.scripts),
            ("debug", 3) => Reply::error("ERR SCRIPT DEBUG is not supported by slotcore"),
            _ => errors::unknown_subcommand("script", &argv[1]),
        }
    }
}

const SCRIPT_HELP: &[&str] = &[
    "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DEBUG (YES|SYNC|NO)",
    "    Set the debug mode for subsequent scripts executed.",
    "EXISTS <sha1> [<sha1> ...]",
    "    Return information about the existence of the scripts in the script cache.",
    "FLUSH [ASYNC|SYNC]",
    "    Flush the Lua scripts cache. Very dangerous on replicas.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the scripts cache.",
    "    * SYNC: Synchronously flush the scripts cache.",
    "KILL",
    "    Kill the currently executing Lua script.",
    "LOAD <script>",
    "    Load a script into the scripts cache without executing it.",
    "HELP",
    "    Prints this help.",
];

/// SCRIPT KILL: ends the script running on some core, unless it wrote.
fn kill(scripts: &ScriptBodies) -> Reply {
    let running = scripts
        .running
        .iter()
        .find(|script| script.started_ms.load(Ordering::Acquire) != 0);
    let Some(script) = running else {
        return Reply::error("NOTBUSY No scripts in execution right now.");
    };
    if script.dirty.load(Ordering::Acquire) {
        return Reply::error(
            "UNKILLABLE Sorry the script already executed write commands against the dataset. \
             You can either wait the script termination or kill the server in a hard way using \
             the SHUTDOWN NOSAVE command.",
        );
    }
    script.kill.store(true, Ordering::Release);
    Reply::ok()
}

fn flush_core(core: &Core, _argv: &[Arg<'_>]) -> Reply {
    if let Some(engine) = core.scripts.borrow_mut().as_mut() {
        if let Err(error) = engine.flush() {
            return Reply::error(format!("ERR {error}"));
        }
        core.note_lua_memory(engine);
    }
    Reply::ok()
}

/// SCRIPT LOAD on the connection's core: compiled here, known to all.
fn load_core(core: &Core, argv: &[Arg<'_>]) -> Reply {
    let body = argv[0].to_bytes();
    let loaded = core.with_engine(|engine| engine.load(&body));
    match loaded {
        Ok(sha) => {
            core.shared.scripts.insert(sha.clone(), body);
            Reply::bulk(sha)
        }
        Err(reply) => reply,
    }
}

impl Core {
    /// Runs `f` with this core's interpreter, made on first use.
    fn with_engine<T>(&self, f: impl FnOnce(&mut Engine) -> Result<T, Reply>) -> Result<T, Reply> {
        let mut slot = self.scripts.borrow_mut();
        if slot.is_none() {
            *slot = Some(Engine::new().map_err(|e| Reply::error(format!("ERR {e}")))?);
        }
        let Some(engine) = slot.as_mut() else {
            return Err(Reply::error("ERR the Lua interpreter is not available"));
        };
        let result = f(engine);
        self.note_lua_memory(engine);
        result
    }

    fn note_lua_memory(&self, engine: &Engine) {
        self.shared.scripts.running[self.id]
            .lua_bytes
            .store(engine.used_memory() as u64, Ordering::Relaxed);
    }

    /// True while a multi-core command holds one of the script's keys.
    pub fn script_blocked(&self, call: &ScriptCall) -> bool {
        let locks = self.locks.borrow();
        !locks.is_empty()
            && call
                .keys()
                .iter()
                .any(|key| locks.blocks(key, Mode::Exclusive, call.transaction))
    }

    /// Runs a script here: finds or compiles it, checks its flags as
    /// Redis's scriptPrepareForRun does, and runs it to its end.
    pub fn run_script(&self, call: &ScriptCall) -> Reply {
        if let (Some(address), Some(spec)) = (&call.monitor_as, lookup(&call.argv[0])) {
            let line = super::monitor::monitor_line(address, spec, &args_of(&call.argv));
            self.feed_monitors(line);
        }
        let prepared = self.with_engine(|engine| {
            let sha = if call.evalsha {
                let sha = String::from_utf8_lossy(&call.argv[1]).to_ascii_lowercase();
                if !engine.has(&sha) {
                    let body = self
                        .shared
                        .scripts
                        .get(&sha)
                        .ok_or(Reply::error(NOSCRIPT))?;
                    engine.load(&body)?;
                }
                sha
            } else {
                let sha = engine.load(&call.argv[1])?;
                self.shared
                    .scripts
                    .insert(sha.clone(), call.argv[1].clone());
                sha
            };
            let flags = engine.flags(&sha).unwrap_or_default();
            Ok((sha, flags))
        });
        let (sha, flags) = match prepared {
            Ok(prepared) => prepared,
            Err(reply) => return reply,
        };
        let oom = self.memory_excess().is_some();
        if !flags.compat {
            if flags.no_cluster && self.cluster_enabled {
                return Reply::error(
                    "ERR Can not run script on cluster, 'no-cluster' flag is set.",
                );
            }
            if !flags.no_writes && call.read_only {
                return Reply::error(
                    "ERR Can not execute a script with write flag using *_ro command.",
                );
            }
            if !flags.no_writes && self.too_few_good_replicas() {
                return Reply::error(crate::replication::NOREPLICAS);
            }
            // A script with flags and neither allow-oom nor no-writes makes
            // EVAL a deny-oom command: Redis refuses it before it runs.
            if oom && !flags.allow_oom && !flags.no_writes {
                return Reply::error(super::evict::OOM);
            }
        }
        let Some(host) = self.me.upgrade() else {
            return Reply::error("ERR the core is shutting down");
        };
        let run = Run {
            sha,
            flags,
            read_only: call.read_only || (!flags.compat && flags.no_writes),
            oom_at_start: oom,
            // The op's clock, refreshed before it ran (`run_op`, or the
            // mesh batch it came in).
            started_ms: self.db.borrow().now_ms,
            may_move: call.may_move,
            ..Run::default()
        };
        let keys = call.keys();
        let args = &call.argv[3 + keys.len()..];
        let running = &self.shared.scripts.running[self.id];
        running.dirty.store(false, Ordering::Release);
        running.kill.store(false, Ordering::Release);
        running
            .started_ms
            .store(run.started_ms.max(1), Ordering::Release);
        self.defer_serving();
        // Replicas get the script's writes, in MULTI/EXEC when several.
        let mark = self.db.borrow().feed.mark();
        let reply = match self.scripts.borrow_mut().as_mut() {
            Some(engine) => {
                let (reply, ended) = engine.run(host, run, keys, args);
                self.note_lua_memory(engine);
                match ended.moved_to {
                    Some(core) => moved(core),
                    None => reply,
                }
            }
            None => Reply::error("ERR the Lua interpreter is not available"),
        };
        self.db.borrow_mut().feed.wrap_since(mark);
        self.resume_serving();
        running.started_ms.store(0, Ordering::Release);
        reply
    }

    /// A command of a script, checked as Redis's scriptCall checks it.
    fn script_command(&self, run: &mut Run, argv: &[Arg<'_>]) -> Result<Reply, String> {
        if run.moved_to.is_some() {
            return Err(KEY_ON_OTHER_CORE.into());
        }
        let spec = lookup(&argv[0]).ok_or("Unknown Redis command called from script")?;
        // A container's subcommand is its own command to Redis (DEBUG
        // takes a subcommand but is one command).
        let container =
            spec.is_container() && !crate::command::table::subcommands(spec.name).is_empty();
        let (arity, flags) = match container && argv.len() >= 2 {
            true => {
                let full = format!(
                    "{}|{}",
                    spec.name,
                    String::from_utf8_lossy(&argv[1]).to_ascii_lowercase()
                );
                let doc = crate::command::introspect::doc(&full)
                    .ok_or("Unknown Redis command called from script")?;
                (doc.arity, doc.flags)
            }
            false => (spec.arity, spec.flags),
        };
        let argc = argv.len() as i32;
        if (arity > 0 && arity != argc) || argc < -arity {
            return Err("Wrong number of args calling Redis command from script".into());
        }
        if flags.contains(&"noscript") && !self.shared.scripts.deny_disabled.load(Ordering::Relaxed)
        {
            return Err("This Redis command is not allowed from script".into());
        }
        let write = flags.contains(&"write");
        if run.read_only && (write || super::pause::may_replicate(spec)) {
            return Err("Write commands are not allowed from read-only scripts.".into());
        }
        let allow_oom = !run.flags.compat && run.flags.allow_oom;
        if !allow_oom && run.oom_at_start && !run.dirty && flags.contains(&"denyoom") {
            return Err("-OOM command not allowed when used memory > 'maxmemory'.".into());
        }
        // Before the script's first write only: a script that changed
        // the dataset is not failed halfway (scriptVerifyWriteCommandAllow).
        if write && !run.dirty && self.too_few_good_replicas() {
            return Err(format!("-{}", crate::replication::NOREPLICAS));
        }
        if write {
            run.dirty = true;
            self.shared.scripts.running[self.id]
                .dirty
                .store(true, Ordering::Release);
        }
        self.script_keys_here(run, spec, argv)?;
        if write || spec.flags.contains(&"pubsub") {
            run.side_effects = true;
        }
        if !spec.shape_ok(argv.len()) {
            return Ok(errors::wrong_arity(spec.name));
        }
        // xreadCommand refuses BLOCK from a script (checked as it parses).
        if spec.keys == crate::command::KeyShape::Streams
            && crate::command::streams::read_blocks(argv)
        {
            let group = spec.name == "xreadgroup";
            if let Err(reply) = crate::command::streams::refuse_block_in_script(argv, group) {
                return Ok(reply);
            }
        }
        Ok(match spec.exec {
            Exec::Shard(shard) | Exec::ShardOrCross(shard, _) => {
                self.run_script_command(spec, shard, argv)
            }
            Exec::Coord(coord) => self.script_coordinated(coord, argv, run.resp3),
        })
    }

    /// The keys of a script's command must be this node's (cluster mode),
    /// in the script's slot (scripts with flags, cluster mode), and on
    /// this core (slotcore).
    fn script_keys_here(
        &self,
        run: &mut Run,
        spec: &CommandSpec,
        argv: &[Arg<'_>],
    ) -> Result<(), String> {
        let cores = self.cores();
        let view = self.view.borrow();
        for position in key_positions(spec, argv) {
            let slot = key_hash_slot(&argv[position]);
            if self.cluster_enabled {
                if !view.serves(slot) {
                    return Err(
                        "Script attempted to access a non local key in a cluster node".into(),
                    );
                }
                if !run.flags.compat && !run.flags.allow_cross_slot {
                    match run.slot {
                        None => run.slot = Some(slot),
                        Some(first) if first != slot => {
                            return Err("Script attempted to access keys that do not hash to \
                                        the same slot"
                                .into())
                        }
                        Some(_) => {}
                    }
                }
            }
            let core = core_of_slot(slot, cores);
            if core != self.id {
                if run.may_move && !run.side_effects {
                    run.moved_to = Some(core);
                }
                return Err(KEY_ON_OTHER_CORE.into());
            }
        }
        Ok(())
    }

    fn run_script_command(
        &self,
        spec: &'static CommandSpec,
        shard: crate::command::ShardFn,
        argv: &[Arg<'_>],
    ) -> Reply {
        if self.shared.monitors.load(Ordering::Relaxed) > 0 {
            self.feed_monitors(super::monitor::monitor_line(&"lua", spec, argv));
        }
        let watch = crate::clock::Stopwatch::start();
        let reply =
            crate::command::notify::run_notifying(shard, &mut self.db.borrow_mut(), spec, argv);
        self.publish_events();
        self.after_write(spec, argv, &reply);
        let nanos = watch.elapsed_nanos();
        let mut stats = self.stats.borrow_mut();
        stats.total_commands += 1;
        let entry = &mut stats.commands[crate::command::table::index_of(spec)];
        entry.calls += 1;
        entry.add_nanos(nanos);
        if reply.is_error() {
            entry.failed_calls += 1;
        }
        reply
    }

    /// The coordinated commands a script may call that can run on one
    /// core; the others span every core, which a script cannot wait for.
    fn script_coordinated(&self, coord: Coord, argv: &[Arg<'_>], resp3: bool) -> Reply {
        match coord {
            Coord::Debug if argv[1].eq_ignore_ascii_case(b"protocol") && argv.len() == 3 => {
                crate::command::server::debug_protocol(&argv[2], resp3)
            }
            Coord::Debug if argv[1].eq_ignore_ascii_case(b"sleep") && argv.len() == 3 => {
                // As DEBUG SLEEP outside a script: the core sleeps.
                let seconds = crate::command::strings::parse_float(&argv[2]).unwrap_or(0.0);
                std::thread::sleep(std::time::Duration::from_secs_f64(
                    seconds.clamp(0.0, 3600.0),
                ));
                Reply::ok()
            }
            Coord::Select => match parse_int(&argv[1]) {
                Some(0) => Reply::ok(),
                Some(n) if i32::try_from(n).is_ok() => {
                    Reply::error("ERR SELECT is not allowed in cluster mode")
                }
                _ => Reply::error(errors::NOT_INTEGER),
            },
            Coord::Publish | Coord::Spublish => {
                self.publish_from_script(coord == Coord::Spublish, &argv[1], &argv[2])
            }
            Coord::Sort | Coord::SortRo => match lookup(&argv[0]) {
                Some(spec) => self.sort_here(spec, argv, coord == Coord::SortRo),
                None => Reply::error("ERR unknown command"),
            },
            Coord::Blmpop | Coord::Bzmpop => self.mpop_from_script(coord == Coord::Bzmpop, argv),
            _ => Reply::error(format!(
                "ERR slotcore cannot run '{}' from a script: it needs every core",
                String::from_utf8_lossy(&argv[0]).to_ascii_lowercase()
            )),
        }
    }
}

impl Core {
    /// PUBLISH / SPUBLISH from a script: delivered here at once, and to
    /// the other cores' subscribers (and the other nodes) right after, so
    /// the count is this core's receivers only. A shard channel's
    /// subscribers are all on its slot's core, which is this one.
    fn publish_from_script(&self, shard: bool, channel: &[u8], message: &[u8]) -> Reply {
        let (channel, message) = (
            Bytes::copy_from_slice(channel),
            Bytes::copy_from_slice(message),
        );
        let receivers = {
            let registry = self.pubsub.borrow();
            registry.limit.set(self.db.borrow().pubsub_limit);
            if shard {
                registry.publish_shard(&channel, &message)
            } else {
                registry.publish(&channel, &message)
            }
        };
        if !shard && self.cores() > 1 {
            self.send_to_other_cores(super::pubsub::Outgoing::Event(
                channel.clone(),
                message.clone(),
            ));
        }
        if let Some(bus) = &self.shared.bus_publish {
            let _ = bus.send(crate::cluster_bus::runtime::Publication {
                shard,
                channel,
                message,
            });
        }
        Reply::Int(receivers as i64)
    }
}

impl Core {
    /// BLMPOP / BZMPOP from a script never block (Redis runs scripts'
    /// commands as a client that may not): LMPOP / ZMPOP after the same
    /// checks, the timeout's last.
    fn mpop_from_script(&self, sorted_set: bool, argv: &[Arg<'_>]) -> Reply {
        let name: &'static [u8] = if sorted_set { b"zmpop" } else { b"lmpop" };
        let mut now = vec![Bytes::from_static(name)];
        now.extend(argv[2..].iter().map(Arg::to_bytes));
        let now_args = args_of(&now);
        let parsed = if sorted_set {
            crate::command::zsets::parse_zmpop(&now_args).map(drop)
        } else {
            crate::command::lists::parse_lmpop(&now_args).map(drop)
        };
        if let Err(reply) = parsed.and_then(|()| super::blocking::parse_timeout(&argv[1]).map(drop))
        {
            return reply;
        }
        match lookup(name).map(|spec| (spec, spec.exec)) {
            Some((spec, Exec::Shard(run) | Exec::ShardOrCross(run, _))) => {
                self.run_script_command(spec, run, &now_args)
            }
            _ => Reply::error("ERR unknown command"),
        }
    }
}

impl Host for Core {
    fn call(&self, run: &mut Run, argv: Vec<Bytes>) -> Result<Reply, String> {
        self.script_command(run, &args_of(&argv))
    }

    fn log(&self, level: i32, text: &str) {
        let verbosity = match self.db.borrow().config.loglevel.as_str() {
            "debug" => 0,
            "verbose" => 1,
            "notice" => 2,
            "warning" => 3,
            _ => 4,
        };
        if level < verbosity {
            return;
        }
        let level = match level {
            0 => crate::log::Level::Debug,
            1 => crate::log::Level::Verbose,
            2 => crate::log::Level::Notice,
            _ => crate::log::Level::Warning,
        };
        crate::log::write(level, text);
    }

    fn killed(&self, _run: &Run) -> bool {
        self.shared.scripts.running[self.id]
            .kill
            .load(Ordering::Acquire)
    }
}
