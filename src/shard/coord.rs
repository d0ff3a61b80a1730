//! Coordinated commands: those that span cores or touch the connection.
//! They run in the connection's task, after any pending batch is flushed,
//! and reach other cores only through the mesh.

use super::clients::ClientFilter;
use super::conn::{Conn, ReplyMode};
use super::locks::Mode;
use super::mesh::{CoreFn, Op};
use super::persist::SaveError;
use super::Core;
use crate::cluster::{core_of_slot, key_hash_slot, SLOT_COUNT};
use crate::command::errors::{self, NOT_INTEGER, SYNTAX};
use crate::command::sets::SetOp;
use crate::command::zsets::ZOp;
use crate::command::{dump, keys, parse_int, server, strings, Coord, Db, ShardFn};
use crate::config::{parameter, parameters, BindAddress, Config, DebugCommand};
use crate::keyspace::{rdb, Entry, Value};
use crate::protocol::Reply;
use crate::protocol::{to_owned_args, Arg};
use crate::warning;
use bytes::Bytes;
use std::borrow::Cow;

impl Conn {
    /// Runs `op` on `core`: inline when it is this one, else over the mesh.
    pub async fn on_core(&self, core: usize, op: Op) -> Reply {
        self.core.on_core(core, op).await
    }

    /// Runs one op on every core, in parallel, and returns the replies in
    /// core order.
    pub async fn on_all(&self, make: impl Fn() -> Op) -> Vec<Reply> {
        self.core.on_all(make).await
    }

    /// See `Core::on_each`.
    pub async fn on_each(&self, ops: Vec<Option<Op>>) -> Vec<Option<Reply>> {
        self.core.on_each(ops).await
    }

    pub(super) async fn on_key(&self, run: ShardFn, argv: Vec<Bytes>, key: &[u8]) -> Reply {
        let core = core_of_slot(key_hash_slot(key), self.core.cores());
        self.on_core(core, Op::Db(run, argv)).await
    }

    pub async fn run_coord(&mut self, coord: Coord, argv: &[Arg<'_>]) -> Reply {
        match coord {
            Coord::Msetnx => self.msetnx(argv).await,
            Coord::Rename => self.rename(argv, false).await,
            Coord::Renamenx => self.rename(argv, true).await,
            Coord::Copy => self.copy(argv).await,
            Coord::Lcs => self.lcs(argv).await,
            Coord::Sinter => self.set_algebra(argv, SetOp::Inter, false, None).await,
            Coord::Sunion => self.set_algebra(argv, SetOp::Union, false, None).await,
            Coord::Sdiff => self.set_algebra(argv, SetOp::Diff, false, None).await,
            Coord::Sinterstore => self.set_algebra(argv, SetOp::Inter, true, None).await,
            Coord::Sunionstore => self.set_algebra(argv, SetOp::Union, true, None).await,
            Coord::Sdiffstore => self.set_algebra(argv, SetOp::Diff, true, None).await,
            Coord::Sintercard => self.sintercard_cross(argv).await,
            Coord::Smove => self.smove_cross(argv).await,
            Coord::Lmove => self.lmove_cross(argv, false).await,
            Coord::Rpoplpush => self.lmove_cross(argv, true).await,
            Coord::Lmpop => self.lmpop_cross(argv).await,
            Coord::Bitop => self.bitop_cross(argv).await,
            Coord::Pfcount => self.pfcount_cross(argv).await,
            Coord::Pfmerge => self.pfmerge_cross(argv).await,
            Coord::Zunion => self.zset_algebra(argv, ZOp::Union, false, false).await,
            Coord::Zinter => self.zset_algebra(argv, ZOp::Inter, false, false).await,
            Coord::Zdiff => self.zset_algebra(argv, ZOp::Diff, false, false).await,
            Coord::Zunionstore => self.zset_algebra(argv, ZOp::Union, true, false).await,
            Coord::Zinterstore => self.zset_algebra(argv, ZOp::Inter, true, false).await,
            Coord::Zdiffstore => self.zset_algebra(argv, ZOp::Diff, true, false).await,
            Coord::Zintercard => self.zset_algebra(argv, ZOp::Inter, false, true).await,
            Coord::Zmpop => self.zmpop_cross(argv).await,
            Coord::Zrangestore => self.zrangestore_cross(argv).await,
            Coord::GeoStore => self.geo_store_cross(argv).await,
            Coord::Sort => self.sort(argv, false).await,
            Coord::Xread => self.stream_read(argv, false).await,
            Coord::Xreadgroup => self.stream_read(argv, true).await,
            Coord::SortRo => self.sort(argv, true).await,
            Coord::Keys => {
                let parts = self
                    .on_all(|| Op::Db(keys::keys_local, to_owned_args(argv)))
                    .await;
                Reply::Array(parts.into_iter().flat_map(array_items).collect())
            }
            Coord::Scan => self.scan(argv).await,
            Coord::Randomkey => self.randomkey().await,
            Coord::Dbsize => sum(self.on_all(|| Op::Db(keys::dbsize_local, vec![])).await),
            Coord::Flushall => self.flushall(argv).await,
            Coord::Info => self.info(argv).await,
            Coord::Config => self.config(argv).await,
            Coord::Client => self.client(argv).await,
            Coord::Hello => self.hello(argv),
            Coord::Auth => self.auth(argv),
            Coord::Select => match parse_int(&argv[1]) {
                Some(0) => Reply::ok(),
                Some(n) if i32::try_from(n).is_ok() => {
                    Reply::error("ERR SELECT is not allowed in cluster mode")
                }
                _ => Reply::error(NOT_INTEGER),
            },
            Coord::Subscribe
            | Coord::Unsubscribe
            | Coord::Psubscribe
            | Coord::Punsubscribe
            | Coord::Ssubscribe
            | Coord::Sunsubscribe
            | Coord::Publish
            | Coord::Spublish
            | Coord::Pubsub => self.pubsub_command(coord, argv).await,
            Coord::Blpop
            | Coord::Brpop
            | Coord::Blmove
            | Coord::Blmpop
            | Coord::Brpoplpush
            | Coord::Bzpopmin
            | Coord::Bzpopmax
            | Coord::Bzmpop => self.blocking_command(coord, argv).await,
            Coord::Eval => self.eval(argv, false, false).await,
            Coord::EvalRo => self.eval(argv, false, true).await,
            Coord::Evalsha => self.eval(argv, true, false).await,
            Coord::EvalshaRo => self.eval(argv, true, true).await,
            Coord::Script => self.script(argv).await,
            Coord::Multi => self.multi(),
            Coord::Exec => self.exec().await,
            Coord::Discard => self.discard().await,
            Coord::Watch => self.watch(argv).await,
            Coord::Unwatch => {
                self.unwatch_all().await;
                Reply::ok()
            }
            Coord::Reset => {
                self.forget_subscriptions();
                if self.tx.queued.is_some() {
                    self.tx.queued = None;
                    self.tx.failed = false;
                    self.handle.multi.set(-1);
                }
                self.unwatch_all().await;
                self.resp3 = false;
                self.handle.resp.set(2);
                self.handle.name.borrow_mut().clear();
                self.reply_mode = ReplyMode::On;
                self.authenticated = self.core.db.borrow().config.requirepass.is_none();
                Reply::Simple("RESET".into())
            }
            Coord::Quit => {
                self.close_after_reply = true;
                Reply::ok()
            }
            Coord::Debug => self.debug(argv).await,
            Coord::Slowlog => self.slowlog(argv).await,
            Coord::Monitor => self.monitor(),
            Coord::Memory => self.memory(argv).await,
            Coord::Wait => self.wait_replicas(argv).await,
            Coord::Psync => self
                .psync(argv)
                .unwrap_or_else(|| Reply::error("ERR Command not allowed inside a transaction")),
            Coord::Replconf => self.replconf(argv).unwrap_or_else(Reply::ok),
            Coord::Role => self.role(),
            Coord::Replicaof => self.replicaof(argv).await,
            Coord::Lastsave => Reply::Int(self.core.shared.persistence.last_save_secs() as i64),
            // Redis runs SAVE beside an AOF rewrite's child: here it
            // waits for the rewrite's snapshot (one at a time).
            Coord::Save if self.core.shared.aof.is_rewriting() => {
                while self.core.shared.persistence.is_busy() {
                    glommio::timer::sleep(std::time::Duration::from_millis(10)).await;
                }
                match self.core.save(false, true).await {
                    Ok(()) => Reply::ok(),
                    Err(SaveError::InProgress) => {
                        Reply::error("ERR Background save already in progress")
                    }
                    Err(SaveError::Failed) => Reply::error("ERR"),
                }
            }
            Coord::Save => match self.core.save(false, true).await {
                Ok(()) => Reply::ok(),
                Err(SaveError::InProgress) => {
                    Reply::error("ERR Background save already in progress")
                }
                Err(SaveError::Failed) => Reply::error("ERR"),
            },
            Coord::Bgsave => self.bgsave(argv).await,
            Coord::Bgrewriteaof => super::aof::bgrewriteaof_reply(self.core.bgrewriteaof().await),
            Coord::Latency => self.latency(argv).await,
            Coord::Shutdown => self.shutdown(argv).await,
            Coord::Cluster => self.cluster(argv).await,
            Coord::Migrate => self.migrate(argv).await,
            Coord::Asking | Coord::Readonly | Coord::Readwrite if !self.core.cluster_enabled => {
                Reply::error(super::cluster::CLUSTER_DISABLED)
            }
            Coord::Asking => {
                self.asking = true;
                Reply::ok()
            }
            Coord::Readonly => {
                self.readonly = true;
                Reply::ok()
            }
            Coord::Readwrite => {
                self.readonly = false;
                Reply::ok()
            }
            Coord::Mget | Coord::Mset | Coord::Del | Coord::Exists | Coord::Touch => {
                Reply::error("ERR internal: fan-out command reached the coordinator")
            }
        }
    }

    /// Locks keys (each with its mode) on their cores, in ascending core
    /// order; returns the transaction and the cores it holds. See `locks`.
    pub(super) async fn lock_keys<K: AsRef<[u8]>>(&self, keys: &[(K, Mode)]) -> (u64, Vec<usize>) {
        // Inside EXEC every key is already locked by the transaction.
        if let Some(transaction) = self.tx.exec_transaction {
            return (transaction, Vec::new());
        }
        let cores = self.core.cores();
        let mut per_core: std::collections::BTreeMap<usize, (Vec<Bytes>, Mode)> =
            Default::default();
        for (key, mode) in keys {
            let key = key.as_ref();
            let core = core_of_slot(key_hash_slot(key), cores);
            let entry = per_core.entry(core).or_insert((Vec::new(), Mode::Shared));
            entry.0.push(Bytes::copy_from_slice(key));
            if *mode == Mode::Exclusive {
                entry.1 = Mode::Exclusive;
            }
        }
        let transaction = self.core.next_transaction();
        for (&core, (core_keys, mode)) in &per_core {
            let op = Op::Lock {
                transaction,
                keys: core_keys.clone(),
                mode: *mode,
            };
            self.on_core(core, op).await;
        }
        (transaction, per_core.into_keys().collect())
    }

    pub(super) async fn unlock(&self, transaction: u64, cores: &[usize]) {
        for &core in cores {
            self.on_core(core, Op::Unlock(transaction)).await;
        }
    }

    /// Runs a shard function on `key`'s core under the transaction's locks.
    pub(super) async fn locked(
        &self,
        transaction: u64,
        run: ShardFn,
        argv: Vec<Bytes>,
        key: &[u8],
    ) -> Reply {
        self.locked_as(transaction, None, run, argv, key).await
    }

    /// `locked`, raising on that core the keyspace events the client
    /// command `command` raises there (`new`, its own event, `del` for a
    /// key it empties), as when a client runs it.
    pub(super) async fn locked_as(
        &self,
        transaction: u64,
        command: Option<&str>,
        run: ShardFn,
        argv: Vec<Bytes>,
        key: &[u8],
    ) -> Reply {
        let core = core_of_slot(key_hash_slot(key), self.core.cores());
        self.on_core(
            core,
            Op::Locked {
                transaction,
                run,
                argv,
                release: false,
                command: command.and_then(|name| crate::command::lookup(name.as_bytes())),
            },
        )
        .await
    }

    async fn msetnx(&self, argv: &[Arg<'_>]) -> Reply {
        let keys: Vec<(&[u8], Mode)> = argv[1..]
            .iter()
            .step_by(2)
            .map(|key| (&key[..], Mode::Exclusive))
            .collect();
        let (transaction, cores) = self.lock_keys(&keys).await;
        let mut any_exists = false;
        for pair in argv[1..].chunks(2) {
            let probe = vec![argv[0].to_bytes(), pair[0].to_bytes()];
            if self
                .locked(transaction, strings::any_exists, probe, &pair[0])
                .await
                == Reply::Int(1)
            {
                any_exists = true;
                break;
            }
        }
        if !any_exists {
            for pair in argv[1..].chunks(2) {
                let set = vec![argv[0].to_bytes(), pair[0].to_bytes(), pair[1].to_bytes()];
                self.locked(transaction, strings::mset_local, set, &pair[0])
                    .await;
            }
        }
        self.unlock(transaction, &cores).await;
        Reply::Int(i64::from(!any_exists))
    }

    /// RENAME across cores: under both keys' locks, the entry leaves the
    /// source core and is written on the destination's.
    async fn rename(&self, argv: &[Arg<'_>], nx: bool) -> Reply {
        let (source, destination) = (&argv[1].to_bytes(), &argv[2].to_bytes());
        let (transaction, cores) = self
            .lock_keys(&[
                (&source[..], Mode::Exclusive),
                (&destination[..], Mode::Exclusive),
            ])
            .await;
        let reply = self
            .rename_locked(transaction, source, destination, nx)
            .await;
        self.unlock(transaction, &cores).await;
        reply
    }

    async fn rename_locked(
        &self,
        transaction: u64,
        source: &Bytes,
        destination: &Bytes,
        nx: bool,
    ) -> Reply {
        let exists = |key: &Bytes| vec![Bytes::new(), key.clone()];
        if self
            .locked(transaction, keys::exists_local, exists(source), source)
            .await
            != Reply::Int(1)
        {
            return Reply::error(errors::NO_SUCH_KEY);
        }
        if nx
            && self
                .locked(
                    transaction,
                    keys::exists_local,
                    exists(destination),
                    destination,
                )
                .await
                == Reply::Int(1)
        {
            return Reply::Int(0);
        }
        let taken = self
            .locked(transaction, take_entry_local, exists(source), source)
            .await;
        if taken == Reply::Nil {
            return Reply::error(errors::NO_SUCH_KEY);
        }
        self.locked(
            transaction,
            put_entry_local,
            put_argv(destination, taken),
            destination,
        )
        .await;
        if nx {
            Reply::Int(1)
        } else {
            Reply::ok()
        }
    }

    async fn copy(&self, argv: &[Arg<'_>]) -> Reply {
        let databases = self.core.db.borrow().config.databases;
        let replace = match keys::parse_copy_options(&argv[3..], databases) {
            Ok(replace) => replace,
            Err(reply) => return reply,
        };
        let (source, destination) = (&argv[1].to_bytes(), &argv[2].to_bytes());
        let (transaction, cores) = self
            .lock_keys(&[
                (&source[..], Mode::Shared),
                (&destination[..], Mode::Exclusive),
            ])
            .await;
        let key_argv = |key: &Bytes| vec![Bytes::new(), key.clone()];
        let value = self
            .locked(transaction, read_entry_local, key_argv(source), source)
            .await;
        let blocked = value == Reply::Nil
            || (!replace
                && self
                    .locked(
                        transaction,
                        keys::exists_local,
                        key_argv(destination),
                        destination,
                    )
                    .await
                    == Reply::Int(1));
        if !blocked {
            self.locked(
                transaction,
                put_entry_local,
                put_argv(destination, value),
                destination,
            )
            .await;
        }
        let copied = !blocked;
        self.unlock(transaction, &cores).await;
        Reply::Int(i64::from(copied))
    }

    async fn lcs(&self, argv: &[Arg<'_>]) -> Reply {
        let (transaction, cores) = self
            .lock_keys(&[(&argv[1][..], Mode::Shared), (&argv[2][..], Mode::Shared)])
            .await;
        let mut values = Vec::new();
        let mut wrong_type = false;
        for key in &argv[1..3] {
            match self
                .locked(
                    transaction,
                    read_entry_local,
                    vec![Bytes::new(), key.to_bytes()],
                    key,
                )
                .await
            {
                // A DUMP payload is not a string.
                Reply::Array(parts) => match parts.first() {
                    Some(Reply::Bulk(value)) if !is_payload(&parts) => values.push(value.clone()),
                    _ => wrong_type = true,
                },
                _ => values.push(Bytes::new()),
            }
        }
        self.unlock(transaction, &cores).await;
        if wrong_type {
            return Reply::error("ERR The specified keys must contain string values");
        }
        let limit = self.core.db.borrow().config.proto_max_bulk_len;
        strings::lcs_reply(&values[0], &values[1], &argv[3..], limit)
    }

    /// SCAN's cursor is a position in the node's slot order: all of core
    /// 0's slots, then core 1's, and so on. Each call scans whole slots on
    /// one core, so the cursor stays valid however keys are added.
    async fn scan(&self, argv: &[Arg<'_>]) -> Reply {
        // Redis parses the cursor with strtoul: "-1" wraps around, "" is 0.
        let Some(cursor) = crate::command::hashes::parse_cursor(&argv[1]) else {
            return Reply::error("ERR invalid cursor");
        };
        let options = match crate::command::scan::parse_scan_options(&argv[2..]) {
            Ok(options) => options,
            Err(reply) => return reply,
        };
        let cores = self.core.cores();
        let counts: Vec<usize> = (0..cores)
            .map(|c| crate::cluster::local_slot_count(c, cores))
            .collect();
        let mut position = if cursor as usize >= SLOT_COUNT {
            SLOT_COUNT
        } else {
            cursor as usize
        };
        let mut keys = Vec::new();
        while position < SLOT_COUNT && keys.len() < options.count {
            let (mut core, mut index) = (0, position);
            while index >= counts[core] {
                index -= counts[core];
                core += 1;
            }
            let op_argv = vec![
                Bytes::new(),
                Bytes::from(index.to_string()),
                Bytes::from((options.count - keys.len()).to_string()),
                options.pattern.clone().unwrap_or_default(),
                options.type_name.clone().unwrap_or_default(),
            ];
            let Reply::Array(mut items) =
                self.on_core(core, Op::Db(keys::scan_local, op_argv)).await
            else {
                break;
            };
            let next = match items.first() {
                Some(Reply::Int(next)) => *next,
                _ => -1,
            };
            keys.extend(items.drain(1..));
            let core_start: usize = counts[..core].iter().sum();
            position = if next < 0 {
                core_start + counts[core]
            } else {
                core_start + next as usize
            };
            // One call per SCAN is enough when it found keys; empty regions
            // continue on the next core so the client is not sent empty
            // pages for nothing.
            if !keys.is_empty() {
                break;
            }
        }
        let next = if position >= SLOT_COUNT { 0 } else { position };
        Reply::Array(vec![Reply::bulk_str(&next.to_string()), Reply::Array(keys)])
    }

    async fn randomkey(&self) -> Reply {
        let cores = self.core.cores();
        let start = self.core.db.borrow_mut().random() as usize % cores;
        for offset in 0..cores {
            let core = (start + offset) % cores;
            let reply = self
                .on_core(core, Op::Db(keys::randomkey_local, vec![]))
                .await;
            if reply != Reply::Nil {
                return reply;
            }
        }
        Reply::Nil
    }

    async fn flushall(&self, argv: &[Arg<'_>]) -> Reply {
        if argv.len() > 2
            || (argv.len() == 2
                && !argv[1].eq_ignore_ascii_case(b"SYNC")
                && !argv[1].eq_ignore_ascii_case(b"ASYNC"))
        {
            return Reply::error(SYNTAX);
        }
        // Replicas get the FLUSHALL where every core passes it: a write a
        // core runs after its part must not reach them before it.
        let mut record = Vec::new();
        crate::command::propagate::encode_command(argv, &mut record);
        self.core
            .with_barrier(
                crate::replication::Action::Append(record),
                flush_core,
                vec![],
            )
            .await;
        // FLUSHALL (not FLUSHDB) then saves the empty dataset when save
        // points are set (Redis's flushAllDataAndResetRDB).
        if argv[0].eq_ignore_ascii_case(b"FLUSHALL") {
            self.core.save_after_flushall().await;
        }
        Reply::ok()
    }

    fn hello(&mut self, argv: &[Arg<'_>]) -> Reply {
        let mut protocol = if self.resp3 { 3 } else { 2 };
        let mut index = 1;
        if argv.len() > 1 {
            match parse_int(&argv[1]) {
                Some(version) if version == 2 || version == 3 => protocol = version,
                Some(_) => return Reply::error("NOPROTO unsupported protocol version"),
                None => {
                    return Reply::error("ERR Protocol version is not an integer or out of range")
                }
            }
            index = 2;
        }
        let mut name = None;
        while index < argv.len() {
            let more = argv.len() - index - 1;
            let option = argv[index].to_ascii_uppercase();
            match option.as_slice() {
                b"AUTH" if more >= 2 => {
                    if let Err(reply) = self.check_password(&argv[index + 1], &argv[index + 2]) {
                        return reply;
                    }
                    index += 3;
                }
                b"SETNAME" if more >= 1 => {
                    if let Err(reply) = valid_client_name(&argv[index + 1]) {
                        return reply;
                    }
                    name = Some(String::from_utf8_lossy(&argv[index + 1]).into_owned());
                    index += 2;
                }
                _ => {
                    return Reply::error_owned(format!(
                        "ERR Syntax error in HELLO option '{}'",
                        String::from_utf8_lossy(&argv[index])
                    ))
                }
            }
        }
        if !self.authenticated && self.core.db.borrow().config.requirepass.is_some() {
            return Reply::error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
        }
        if let Some(name) = name {
            *self.handle.name.borrow_mut() = name;
        }
        self.resp3 = protocol == 3;
        self.handle.resp.set(protocol as u8);
        let text = |s: &str| Reply::bulk_str(s);
        Reply::Map(vec![
            (text("server"), text("redis")),
            (text("version"), text(crate::REDIS_VERSION)),
            (text("proto"), Reply::Int(protocol)),
            (text("id"), Reply::Int(self.handle.id as i64)),
            (
                text("mode"),
                text(if self.core.db.borrow().config.cluster_enabled {
                    "cluster"
                } else {
                    "standalone"
                }),
            ),
            (text("role"), text("master")),
            (text("modules"), Reply::Array(vec![])),
        ])
    }

    fn check_password(&mut self, user: &[u8], password: &[u8]) -> Result<(), Reply> {
        let required = self.core.db.borrow().config.requirepass.clone();
        let ok = match &required {
            Some(required) => user == b"default" && password == required.as_bytes(),
            None => user == b"default",
        };
        if ok {
            self.authenticated = true;
            Ok(())
        } else {
            warning!(
                "AUTH failed for client id={} addr={}",
                self.handle.id,
                self.handle.addr
            );
            Err(Reply::error(errors::WRONGPASS))
        }
    }

    fn auth(&mut self, argv: &[Arg<'_>]) -> Reply {
        if argv.len() > 3 {
            return Reply::error(SYNTAX);
        }
        if argv.len() == 2 && self.core.db.borrow().config.requirepass.is_none() {
            return Reply::error("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?");
        }
        let (user, password): (&[u8], &[u8]) = if argv.len() == 3 {
            (&argv[1], &argv[2])
        } else {
            (b"default", &argv[1])
        };
        match self.check_password(user, password) {
            Ok(()) => Reply::ok(),
            Err(reply) => reply,
        }
    }

    /// BGSAVE [SCHEDULE]: with no other child process here, SCHEDULE only
    /// passes the syntax check.
    async fn bgsave(&mut self, argv: &[Arg<'_>]) -> Reply {
        if argv.len() > 2 || (argv.len() == 2 && !argv[1].eq_ignore_ascii_case(b"SCHEDULE")) {
            return Reply::error(SYNTAX);
        }
        if self.core.shared.aof.is_rewriting() {
            // Redis's answers while its AOF child runs.
            if argv.len() == 1 {
                return Reply::error("ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.");
            }
            if let Some(core) = self.core.me.upgrade() {
                glommio::spawn_local(async move {
                    while core.shared.persistence.is_busy() {
                        glommio::timer::sleep(std::time::Duration::from_millis(10)).await;
                    }
                    let _ = core.save(true, true).await;
                })
                .detach();
            }
            return Reply::Simple("Background saving scheduled".into());
        }
        match self.core.save(true, true).await {
            Ok(()) => Reply::Simple("Background saving started".into()),
            Err(SaveError::InProgress) => Reply::error("ERR Background save already in progress"),
            Err(SaveError::Failed) => Reply::error("ERR"),
        }
    }

    /// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]: saves as Redis
    /// decides (see `Core::shut_down`), then exits.
    async fn shutdown(&mut self, argv: &[Arg<'_>]) -> Reply {
        let (mut nosave, mut save, mut force, mut now, mut abort) =
            (false, false, false, false, false);
        for option in &argv[1..] {
            let flag = match option.to_ascii_uppercase().as_slice() {
                b"NOSAVE" => &mut nosave,
                b"SAVE" => &mut save,
                b"NOW" => &mut now,
                b"FORCE" => &mut force,
                b"ABORT" => &mut abort,
                _ => return Reply::error(SYNTAX),
            };
            *flag = true;
        }
        if (abort && (nosave || save || now || force)) || (nosave && save) {
            return Reply::error(SYNTAX);
        }
        if abort {
            return Reply::error("ERR No shutdown in progress.");
        }
        let save = if nosave {
            Some(false)
        } else {
            save.then_some(true)
        };
        self.core.shut_down(save, force).await
    }
}

fn valid_client_name(name: &[u8]) -> Result<(), Reply> {
    if name.iter().any(|&b| !(b'!'..=b'~').contains(&b)) {
        return Err(Reply::error(
            "ERR Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    Ok(())
}

pub fn array_items(reply: Reply) -> Vec<Reply> {
    match reply {
        Reply::Array(items) => items,
        _ => Vec::new(),
    }
}

/// FLUSHALL on one core: the watched keys it deletes are touched, then
/// every key goes.
fn flush_core(core: &super::Core, argv: &[Arg<'_>]) -> Reply {
    if let Some(id) = super::replicate::barrier_of(argv) {
        core.pass_barrier(id);
    }
    let reply = {
        let mut db = core.db.borrow_mut();
        core.watches.borrow().touch_stored(&db.keyspace);
        let removed = db.keyspace.len() as u64;
        core.shared.persistence.add_dirty(core.id, removed);
        keys::flush_local(&mut db, &[])
    };
    // XREADGROUP readers learn that their keys are gone.
    core.serve_stream_readers_everywhere();
    reply
}

fn sum(replies: Vec<Reply>) -> Reply {
    Reply::Int(
        replies
            .iter()
            .map(|r| if let Reply::Int(n) = r { *n } else { 0 })
            .sum(),
    )
}

/// Reads a key's entry for moving it between cores: [value, expire_at_ms].
pub(super) fn read_entry_local(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let now = db.now_ms;
    let slot = key_hash_slot(&argv[1]);
    match db.keyspace.lookup_read(slot, &argv[1], now) {
        Some(entry) => entry_reply(entry),
        None => Reply::Nil,
    }
}

/// A value on its way to another core: a string as its bytes, its expire time and its
/// encoding name (RENAME and COPY keep OBJECT ENCODING, as in Redis), any other type as its
/// DUMP payload, its expire time and the integer 1 (see `is_payload`).
fn entry_reply(entry: &Entry) -> Reply {
    match &entry.value {
        value @ Value::Str { bytes, .. } => Reply::Array(vec![
            Reply::Bulk(bytes.to_bytes()),
            Reply::Int(entry.expire_at_ms() as i64),
            Reply::Bulk(Bytes::from_static(value.encoding_name().as_bytes())),
        ]),
        other => Reply::Array(vec![
            Reply::Bulk(Bytes::from(rdb::dump(other))),
            Reply::Int(entry.expire_at_ms() as i64),
            Reply::Int(1),
        ]),
    }
}

/// Whether the parts of an `entry_reply` carry a DUMP payload (any type but a string).
pub(super) fn is_payload(parts: &[Reply]) -> bool {
    matches!(parts.get(2), Some(Reply::Int(_)))
}

fn take_entry_local(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    keys::take_entry(db, &argv[1]).map_or(Reply::Nil, |entry| entry_reply(&entry))
}

fn put_argv(key: &Bytes, entry: Reply) -> Vec<Bytes> {
    let parts = array_items(entry);
    let value = match parts.first() {
        Some(Reply::Bulk(value)) => value.clone(),
        _ => Bytes::new(),
    };
    let expire = match parts.get(1) {
        Some(Reply::Int(at)) => *at,
        _ => 0,
    };
    let mut argv = vec![
        Bytes::new(),
        key.clone(),
        value,
        Bytes::from(expire.to_string()),
    ];
    if is_payload(&parts) {
        argv.push(Bytes::from_static(b"payload"));
    } else if let Some(Reply::Bulk(encoding)) = parts.get(2) {
        argv.push(encoding.clone());
    }
    argv
}

pub(super) fn put_entry_local(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let now = db.now_ms;
    let value = match argv.get(4).map(|tag| tag.as_ref()) {
        // Made by rdb::dump on another core of this process. A key moving
        // between cores keeps its encoding, as a renamed key does in Redis:
        // a skiplist is not shrunk back on load.
        Some(b"payload") => match rdb::load_moved(&argv[2], &dump::encoding_limits(db)) {
            Ok(value) => value,
            Err(error) => return Reply::error(error.message()),
        },
        // A string keeps the encoding it had on its own core.
        Some(b"raw") => Value::raw_string(argv[2].to_bytes()),
        Some(b"embstr") => Value::formatted_string(argv[2].to_bytes()),
        _ => Value::string(argv[2].to_bytes()),
    };
    let mut entry = Entry::new(value, now);
    entry.set_expire_at_ms(parse_int(&argv[3]).unwrap_or(0).max(0) as u64);
    db.keyspace.insert(key_hash_slot(&argv[1]), &argv[1], entry);
    Reply::ok()
}

// CONFIG

const CONFIG_HELP: &[&str] = &[
    "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "REWRITE",
    "    Rewrite the configuration file.",
    "HELP",
    "    Prints this help.",
];

impl Conn {
    async fn config(&mut self, argv: &[Arg<'_>]) -> Reply {
        let sub = argv[1].to_ascii_uppercase();
        let arity_error = || {
            errors::wrong_arity(&format!(
                "config|{}",
                String::from_utf8_lossy(&argv[1]).to_ascii_lowercase()
            ))
        };
        match sub.as_slice() {
            b"GET" if argv.len() >= 3 => {
                let config = self.core.db.borrow().config.clone();
                let mut pairs = Vec::new();
                let mut named = std::collections::HashSet::new();
                for pattern in &argv[2..] {
                    let lower = pattern.to_ascii_lowercase();
                    let is_glob = lower.iter().any(|b| matches!(b, b'*' | b'?' | b'['));
                    for spec in parameters() {
                        let hit = if is_glob {
                            !spec.hidden
                                && crate::command::glob::matches(&lower, spec.name.as_bytes())
                        } else {
                            lower == spec.name.as_bytes()
                        };
                        if hit && named.insert(spec.name) {
                            // An exact name is echoed as given, as Redis does.
                            let name = if is_glob {
                                Reply::bulk_str(spec.name)
                            } else {
                                Reply::Bulk(pattern.to_bytes())
                            };
                            pairs.push((name, Reply::bulk_str(&spec.get(&config))));
                        }
                    }
                }
                Reply::Map(pairs)
            }
            b"SET" if argv.len() >= 4 && argv.len().is_multiple_of(2) => {
                self.config_set(argv).await
            }
            // An odd count of names and values: Redis's syntax error.
            b"SET" if argv.len() >= 4 => Reply::error(SYNTAX),
            b"RESETSTAT" if argv.len() == 2 => {
                self.on_all(|| Op::Core(resetstat_core, vec![])).await;
                Reply::ok()
            }
            b"REWRITE" if argv.len() == 2 => self.config_rewrite(),
            b"HELP" if argv.len() == 2 => keys::help_reply(CONFIG_HELP),
            b"GET" | b"SET" | b"RESETSTAT" | b"REWRITE" | b"HELP" => arity_error(),
            _ => errors::unknown_subcommand("config", &argv[1]),
        }
    }

    async fn config_set(&mut self, argv: &[Arg<'_>]) -> Reply {
        // Validate every pair on a copy first, so a bad one changes nothing.
        let current = self.core.db.borrow().config.clone();
        let mut trial = current.clone();
        let mut seen = std::collections::HashSet::new();
        for pair in argv[2..].chunks(2) {
            let name = String::from_utf8_lossy(&pair[0]).to_ascii_lowercase();
            if !seen.insert(name.clone()) {
                return Reply::error_owned(format!("ERR CONFIG SET failed (possibly related to argument '{name}') - duplicate parameter"));
            }
            let Some(spec) = parameter(&name) else {
                return Reply::error_owned(format!(
                    "ERR Unknown option or number of arguments for CONFIG SET - '{name}'"
                ));
            };
            if !spec.mutable {
                return Reply::error_owned(format!("ERR CONFIG SET failed (possibly related to argument '{name}') - can't set immutable config"));
            }
            if name == "dbfilename" && !self.protected_config_allowed() {
                return Reply::error_owned(format!("ERR CONFIG SET failed (possibly related to argument '{name}') - can't set protected config"));
            }
            let value = String::from_utf8_lossy(&pair[1]).into_owned();
            let values = if spec.multi_arg() {
                value.split_whitespace().map(String::from).collect()
            } else {
                vec![value]
            };
            let values = if values.is_empty() {
                vec![String::new()]
            } else {
                values
            };
            if let Err(reason) = spec.set(&mut trial, &values) {
                return Reply::error_owned(format!(
                    "ERR CONFIG SET failed (possibly related to argument '{name}') - {reason}"
                ));
            }
        }
        if let Err(reply) = self.relisten(&current, &trial, &argv[2..]).await {
            return reply;
        }
        let mut announce = false;
        let mut replication = false;
        for pair in argv[2..].chunks(2) {
            let name = String::from_utf8_lossy(&pair[0]).to_ascii_lowercase();
            // The bus takes every cluster-* setting at once. A new client
            // port is announced too (Redis 7.0 goes on announcing the old
            // one until a cluster-announce-* is set).
            announce |= name.starts_with("cluster-")
                || name == "port"
                || name == "repl-ping-replica-period"
                || name == "repl-ping-slave-period";
            replication |= [
                "repl-backlog-size",
                "client-output-buffer-limit",
                "repl-ping-replica-period",
                "repl-ping-slave-period",
                "repl-timeout",
            ]
            .contains(&name.as_str());
            let set_argv = vec![Bytes::new(), Bytes::from(name), pair[1].to_bytes()];
            self.on_all(|| Op::Db(server::config_set_local, set_argv.clone()))
                .await;
        }
        if announce {
            self.announce_to_bus().await;
        }
        let aof_changed = argv[2..].chunks(2).any(|pair| {
            pair[0].eq_ignore_ascii_case(b"appendonly")
                || pair[0].eq_ignore_ascii_case(b"appendfsync")
        });
        if aof_changed {
            if let Err(reason) = self.core.apply_aof_config(&current).await {
                let set_argv = vec![Bytes::new(), Bytes::from("appendonly"), Bytes::from("no")];
                self.on_all(|| Op::Db(server::config_set_local, set_argv.clone()))
                    .await;
                return Reply::error_owned(format!(
                    "ERR CONFIG SET failed (possibly related to argument 'appendonly') - {reason}"
                ));
            }
        }
        if replication {
            let settings = super::replicate::replication_settings(&self.core.db.borrow().config);
            self.core.shared.replication.settings(settings);
        }
        Reply::ok()
    }

    /// Applies a new `port` or `bind` (CONFIG SET `pairs`) before any value
    /// is set: every core stops listening, then listens on the new
    /// addresses. When that fails anywhere, every core listens where it
    /// did before and the reply is Redis's error, naming the first of the
    /// two parameters given (Redis applies them in that order).
    async fn relisten(
        &self,
        current: &Config,
        trial: &Config,
        pairs: &[Arg<'_>],
    ) -> Result<(), Reply> {
        let port_changed = trial.port != current.port;
        let bind_changed = trial.bind != current.bind;
        let Some(blamed) =
            pairs
                .chunks(2)
                .find_map(|pair| match pair[0].to_ascii_lowercase().as_slice() {
                    b"port" if port_changed => Some("port"),
                    b"bind" if bind_changed => Some("bind"),
                    _ => None,
                })
        else {
            return Ok(());
        };
        let failed = |why: &str| {
            warning!(
                "Failed applying new configuration ({blamed}): {why}. Restoring previous settings."
            );
            let reason = match blamed {
                "port" => "Unable to listen on this port. Check server logs.",
                _ => "Failed to bind to specified addresses.",
            };
            Reply::error_owned(format!(
                "ERR CONFIG SET failed (possibly related to argument '{blamed}') - {reason}"
            ))
        };
        let before = listen_addresses(current).unwrap_or_default();
        let after = listen_addresses(trial).map_err(|why| failed(&why))?;
        self.on_all(|| Op::Core(listen_core, Vec::new())).await;
        let mut result = Config::check_addresses_free(&after);
        if result.is_ok() {
            let encoded = encode_addresses(&after);
            let replies = self.on_all(|| Op::Core(listen_core, encoded.clone())).await;
            if let Some(Reply::Error(why)) = replies.into_iter().find(Reply::is_error) {
                result = Err(why.to_string());
            }
        }
        let Err(why) = result else {
            return Ok(());
        };
        let encoded = encode_addresses(&before);
        for reply in self.on_all(|| Op::Core(listen_core, encoded.clone())).await {
            if let Reply::Error(again) = reply {
                warning!("Listening again where the server listened before: {again}");
            }
        }
        Err(failed(&why))
    }

    /// Rewrites the config file: lines of directives we know are replaced
    /// with current values, others are kept, missing ones are appended.
    fn config_rewrite(&self) -> Reply {
        let Some(path) = self.core.shared.config_file.clone() else {
            return Reply::error("ERR The server is running without a config file");
        };
        let config = self.core.db.borrow().config.clone();
        let old = std::fs::read_to_string(&path).unwrap_or_default();
        let mut written = std::collections::HashSet::new();
        let mut lines = Vec::new();
        for line in old.lines() {
            let name = line
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_lowercase();
            match parameter(&name) {
                Some(spec) if !line.trim_start().starts_with('#') => {
                    if written.insert(spec.canonical()) {
                        lines.push(format!("{} {}", spec.name, quote(spec.get(&config))));
                    }
                }
                _ => lines.push(line.to_string()),
            }
        }
        let defaults = crate::config::Config::default();
        for spec in parameters() {
            if spec.name == spec.canonical()
                && !written.contains(spec.name)
                && spec.get(&config) != spec.get(&defaults)
                && spec.name != "dir"
            {
                lines.push(format!("{} {}", spec.name, quote(spec.get(&config))));
            }
        }
        let temp = path.with_extension("tmp-rewrite");
        let text = lines.join("\n") + "\n";
        let result = std::fs::write(&temp, text).and_then(|_| std::fs::rename(&temp, &path));
        match result {
            Ok(()) => Reply::ok(),
            Err(error) => Reply::error_owned(format!("ERR Rewriting config file: {error}")),
        }
    }
}

fn quote(value: String) -> String {
    if value.is_empty() || value.contains(' ') {
        format!("\"{value}\"")
    } else {
        value
    }
}

/// Where a configuration has the shard cores listen: nowhere at port 0.
fn listen_addresses(config: &Config) -> Result<Vec<BindAddress>, String> {
    if config.port == 0 {
        return Ok(Vec::new());
    }
    config.bind_addresses(config.port)
}

/// `addresses` as `listen_core`'s arguments: each address, "-" first when
/// it is optional.
fn encode_addresses(addresses: &[BindAddress]) -> Vec<Bytes> {
    addresses
        .iter()
        .map(|bind| {
            let mark = if bind.optional { "-" } else { "" };
            Bytes::from(format!("{mark}{}", bind.address))
        })
        .collect()
}

/// Has this core listen on the addresses in `argv` (`encode_addresses`)
/// instead of where it listened; none: stop listening.
fn listen_core(core: &Core, argv: &[Arg<'_>]) -> Reply {
    let mut addresses = Vec::with_capacity(argv.len());
    for arg in argv {
        let text = String::from_utf8_lossy(arg);
        let (optional, text) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.as_ref()),
        };
        match text.parse() {
            Ok(address) => addresses.push(BindAddress { address, optional }),
            Err(_) => return Reply::error_owned(format!("Invalid address {text}")),
        }
    }
    match core.listen(&addresses) {
        Ok(()) => Reply::ok(),
        Err(why) => Reply::error_owned(why),
    }
}

fn resetstat_core(core: &Core, argv: &[Arg<'_>]) -> Reply {
    core.stats.borrow_mut().reset();
    server::config_resetstat_local(&mut core.db.borrow_mut(), argv)
}

// CLIENT

const CLIENT_HELP: &[&str] = &[
    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "    * ID <client-id>",
    "      Kill connections by client id.",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "SETINFO <option> <value>",
    "    Set client meta attr. Options are:",
    "    * LIB-NAME: the client lib name.",
    "    * LIB-VER: the client lib version.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "HELP",
    "    Prints this help.",
];

/// CLIENT UNBLOCK on each core: only the client's own core finds it.
fn unblock_core(core: &Core, argv: &[Arg<'_>]) -> Reply {
    let id = argv.first().and_then(|a| parse_int(a)).unwrap_or(0);
    let error = argv.get(1).is_some_and(|a| a.as_ref() == b"1");
    super::blocking::unblock_client(core, id.max(0) as u64, error)
}

fn list_core(core: &Core, argv: &[Arg<'_>]) -> Reply {
    let filter = ClientFilter::decode(argv);
    let now = crate::command::now_ms();
    let lines: Vec<Reply> = core
        .clients
        .borrow()
        .by_id
        .values()
        .filter(|client| filter.matches(client))
        .map(|client| Reply::bulk_str(&client.describe(now)))
        .collect();
    Reply::Array(lines)
}

fn kill_core(core: &Core, argv: &[Arg<'_>]) -> Reply {
    let filter = ClientFilter::decode(argv);
    let mut killed = 0;
    for client in core.clients.borrow().by_id.values() {
        if filter.matches(client) {
            client.kill();
            killed += 1;
        }
    }
    Reply::Int(killed)
}

impl Conn {
    async fn client_lines(&self, filter: &ClientFilter) -> String {
        let encoded = filter.encode();
        let parts = self
            .on_all(|| Op::Core(list_core as CoreFn, encoded.clone()))
            .await;
        let mut text = String::new();
        for line in parts.into_iter().flat_map(array_items) {
            if let Reply::Bulk(line) = line {
                text.push_str(&String::from_utf8_lossy(&line));
                text.push('\n');
            }
        }
        text
    }

    async fn client(&mut self, argv: &[Arg<'_>]) -> Reply {
        let sub = argv[1].to_ascii_uppercase();
        let arity = || {
            errors::wrong_arity(&format!(
                "client|{}",
                String::from_utf8_lossy(&argv[1]).to_ascii_lowercase()
            ))
        };
        match sub.as_slice() {
            b"ID" if argv.len() == 2 => Reply::Int(self.handle.id as i64),
            b"GETNAME" if argv.len() == 2 => {
                let name = self.handle.name.borrow().clone();
                if name.is_empty() {
                    Reply::Nil
                } else {
                    Reply::bulk_str(&name)
                }
            }
            b"SETNAME" if argv.len() == 3 => match valid_client_name(&argv[2]) {
                Ok(()) => {
                    *self.handle.name.borrow_mut() = String::from_utf8_lossy(&argv[2]).into_owned();
                    Reply::ok()
                }
                Err(reply) => reply,
            },
            b"SETINFO" if argv.len() == 4 => {
                let attribute = argv[2].to_ascii_uppercase();
                let target = match attribute.as_slice() {
                    b"LIB-NAME" => &self.handle.lib_name,
                    b"LIB-VER" => &self.handle.lib_ver,
                    _ => {
                        return Reply::error_owned(format!(
                            "ERR Unrecognized option '{}'",
                            String::from_utf8_lossy(&argv[2])
                        ))
                    }
                };
                if argv[3].iter().any(|&b| !(b'!'..=b'~').contains(&b)) {
                    return Reply::error_owned(format!(
                        "ERR {} cannot contain spaces, newlines or special characters.",
                        String::from_utf8_lossy(&argv[2]).to_ascii_lowercase()
                    ));
                }
                *target.borrow_mut() = String::from_utf8_lossy(&argv[3]).into_owned();
                Reply::ok()
            }
            b"INFO" if argv.len() == 2 => {
                Reply::Verbatim(self.handle.describe(crate::command::now_ms()) + "\n")
            }
            b"LIST" => {
                let mut filter = ClientFilter::default();
                let mut index = 2;
                while index < argv.len() {
                    let option = argv[index].to_ascii_uppercase();
                    match option.as_slice() {
                        b"TYPE" if index + 1 < argv.len() => {
                            let kind =
                                String::from_utf8_lossy(&argv[index + 1]).to_ascii_lowercase();
                            if !["normal", "master", "replica", "slave", "pubsub"]
                                .contains(&kind.as_str())
                            {
                                return Reply::error_owned(format!(
                                    "ERR Unknown client type '{}'",
                                    String::from_utf8_lossy(&argv[index + 1])
                                ));
                            }
                            filter.kind = Some(kind);
                            index += 2;
                        }
                        b"ID" if index + 1 < argv.len() => {
                            for id in &argv[index + 1..] {
                                match parse_int(id) {
                                    Some(id) if id > 0 => filter.ids.push(id as u64),
                                    _ => return Reply::error("ERR Invalid client ID"),
                                }
                            }
                            index = argv.len();
                        }
                        _ => return Reply::error(SYNTAX),
                    }
                }
                let replicas_only = filter
                    .kind
                    .as_deref()
                    .is_some_and(|k| k == "replica" || k == "slave");
                let mut text = match replicas_only {
                    true => String::new(),
                    false => self.client_lines(&filter).await,
                };
                let now_ms = crate::command::now_ms();
                let published = self.core.shared.replication.published().clone();
                for replica in published
                    .replicas
                    .iter()
                    .filter(|r| filter.matches_replica(r))
                {
                    text.push_str(&super::clients::replica_line(replica, now_ms));
                    text.push('\n');
                }
                Reply::Verbatim(text)
            }
            b"KILL" if argv.len() >= 3 => self.client_kill(argv).await,
            b"NO-EVICT" if argv.len() == 3 => {
                if argv[2].eq_ignore_ascii_case(b"ON") || argv[2].eq_ignore_ascii_case(b"OFF") {
                    self.handle
                        .no_evict
                        .set(argv[2].eq_ignore_ascii_case(b"ON"));
                    Reply::ok()
                } else {
                    Reply::error(SYNTAX)
                }
            }
            b"REPLY" if argv.len() == 3 => {
                let mode = argv[2].to_ascii_uppercase();
                match mode.as_slice() {
                    b"ON" => {
                        self.reply_mode = ReplyMode::On;
                        Reply::ok()
                    }
                    // OFF and SKIP take effect after this command, which gets no reply.
                    // OFF and SKIP send no reply to themselves; SKIP also
                    // drops the next command's.
                    b"OFF" => {
                        self.reply_mode = ReplyMode::Off;
                        Reply::ok()
                    }
                    b"SKIP" => {
                        self.reply_mode = ReplyMode::Skip(2);
                        Reply::ok()
                    }
                    _ => Reply::error(SYNTAX),
                }
            }
            b"HELP" if argv.len() == 2 => keys::help_reply(CLIENT_HELP),
            b"PAUSE" if argv.len() == 3 || argv.len() == 4 => self.client_pause(argv).await,
            b"UNPAUSE" if argv.len() == 2 => self.client_unpause().await,
            // Its arity (-3) lets more arguments through to clientCommand,
            // which has no form for them.
            b"PAUSE" if argv.len() > 4 => Reply::error_owned(format!(
                "ERR unknown subcommand or wrong number of arguments for '{}'. Try CLIENT HELP.",
                String::from_utf8_lossy(&argv[1])
            )),
            b"UNBLOCK" if argv.len() == 3 || argv.len() == 4 => {
                let Some(id) = parse_int(&argv[2]) else {
                    return Reply::error(NOT_INTEGER);
                };
                let error = match argv.get(3).map(|a| a.to_ascii_uppercase()) {
                    None => false,
                    Some(reason) if reason == b"TIMEOUT" => false,
                    Some(reason) if reason == b"ERROR" => true,
                    Some(_) => {
                        return Reply::error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
                    }
                };
                let args = vec![
                    Bytes::from(id.to_string()),
                    Bytes::from_static(if error { b"1" } else { b"0" }),
                ];
                sum(self.on_all(|| Op::Core(unblock_core, args.clone())).await)
            }
            b"UNBLOCK" if argv.len() > 4 => Reply::error(
                "ERR unknown subcommand or wrong number of arguments for 'unblock'. Try CLIENT HELP.",
            ),
            b"ID" | b"GETNAME" | b"SETNAME" | b"SETINFO" | b"INFO" | b"KILL" | b"NO-EVICT"
            | b"REPLY" | b"HELP" | b"UNBLOCK" | b"PAUSE" | b"UNPAUSE" => arity(),
            _ => errors::unknown_subcommand("client", &argv[1]),
        }
    }

    async fn client_kill(&mut self, argv: &[Arg<'_>]) -> Reply {
        let mut filter = ClientFilter::default();
        if argv.len() == 3 {
            // Old form: CLIENT KILL addr:port.
            filter.addr = Some(String::from_utf8_lossy(&argv[2]).into_owned());
            let killed = self.kill_matching(&filter).await;
            return if killed > 0 {
                Reply::ok()
            } else {
                Reply::error("ERR No such client")
            };
        }
        let mut skip_me = true;
        let mut index = 2;
        while index + 1 < argv.len() {
            let value = String::from_utf8_lossy(&argv[index + 1]).into_owned();
            match argv[index].to_ascii_uppercase().as_slice() {
                b"ID" => match parse_int(&argv[index + 1]) {
                    Some(id) if id > 0 => filter.ids.push(id as u64),
                    _ => return Reply::error("ERR client-id should be greater than 0"),
                },
                b"ADDR" => filter.addr = Some(value),
                b"LADDR" => filter.laddr = Some(value),
                b"TYPE" => {
                    let kind = value.to_ascii_lowercase();
                    if !["normal", "master", "replica", "slave", "pubsub"].contains(&kind.as_str())
                    {
                        return Reply::error_owned(format!("ERR Unknown client type '{value}'"));
                    }
                    filter.kind = Some(kind);
                }
                b"USER" if value != "default" => {
                    return Reply::error_owned(format!("ERR No such user '{value}'"))
                }
                b"USER" => filter.user = Some(value),
                b"SKIPME" => match value.to_ascii_lowercase().as_str() {
                    "yes" => skip_me = true,
                    "no" => skip_me = false,
                    _ => return Reply::error(SYNTAX),
                },
                _ => return Reply::error(SYNTAX),
            }
            index += 2;
        }
        if index != argv.len() {
            return Reply::error(SYNTAX);
        }
        if skip_me {
            filter.skip_id = Some(self.handle.id);
        }
        Reply::Int(self.kill_matching(&filter).await)
    }

    async fn kill_matching(&mut self, filter: &ClientFilter) -> i64 {
        // Killing ourselves closes the connection after this reply.
        if filter.matches(&self.handle) {
            self.close_after_reply = true;
        }
        let mut own = ClientFilter::decode(&filter.encode());
        own.skip_id = Some(self.handle.id);
        let encoded = own.encode();
        let killed: i64 = self
            .on_all(|| Op::Core(kill_core as CoreFn, encoded.clone()))
            .await
            .iter()
            .map(|r| if let Reply::Int(n) = r { *n } else { 0 })
            .sum();
        // Replicas' connections belong to the replication hub.
        let replicas = match filter.takes_replicas() {
            true => {
                let filter = filter.clone();
                let matches = move |r: &crate::replication::ReplicaInfo| filter.matches_replica(r);
                self.core.shared.replication.kill(matches).await as i64
            }
            false => 0,
        };
        killed + replicas + i64::from(self.close_after_reply)
    }
}

// DEBUG

const DEBUG_HELP: &[&str] = &[
    "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DIGEST-VALUE <key> [<key> ...]",
    "    Output a hex signature of the values of all the specified keys.",
    "LOG <message>",
    "    Write <message> to the server log.",
    "OBJECT <key>",
    "    Show low level info about the `key` and associated value.",
    "POPULATE <count> [<prefix>] [<size>]",
    "    Create <count> string keys named key:<num>. If <prefix> is specified then",
    "    it is used instead of the 'key' prefix. These are not propagated to",
    "    replicas. Cluster slots are not respected so keys not belonging to the",
    "    current node can be created in cluster mode.",
    "PROTOCOL <type>",
    "    Reply with a test value of the specified type. <type> can be: string,",
    "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
    "    true, false.",
    "RELOAD [option ...]",
    "    Save the RDB on disk and reload it back to memory. Valid <option> values:",
    "    * MERGE: conflicting keys will be loaded from RDB.",
    "    * NOFLUSH: the existing database will not be removed before load, but",
    "      conflicting keys will generate an exception and kill the server.",
    "    * NOSAVE: the database will be loaded from an existing RDB file.",
    "    Examples:",
    "    * DEBUG RELOAD: verify that the server is able to persist, flush and reload",
    "      the database.",
    "    * DEBUG RELOAD NOSAVE: replace the current database with the contents of an",
    "      existing RDB file.",
    "    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB",
    "      file to the database.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not",
    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
    "    default.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
    "HELP",
    "    Prints this help.",
];

impl Conn {
    /// enable-protected-configs: whether this client may CONFIG SET
    /// dbfilename (Redis's allowProtectedAction).
    fn protected_config_allowed(&self) -> bool {
        let db = self.core.db.borrow();
        match db
            .config
            .inert
            .get("enable-protected-configs")
            .map(String::as_str)
        {
            Some("yes") => true,
            Some("local") => self.handle.addr.ip().is_loopback(),
            _ => false,
        }
    }

    fn debug_allowed(&self) -> bool {
        match self.core.db.borrow().config.enable_debug_command {
            DebugCommand::Yes => true,
            DebugCommand::No => false,
            DebugCommand::Local => self.handle.addr.ip().is_loopback(),
        }
    }

    async fn debug(&mut self, argv: &[Arg<'_>]) -> Reply {
        if !self.debug_allowed() {
            return Reply::error("ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.");
        }
        let sub = argv[1].to_ascii_uppercase();
        match sub.as_slice() {
            b"HELP" => keys::help_reply(DEBUG_HELP),
            b"SLEEP" if argv.len() >= 3 => {
                let seconds = strings::parse_float(&argv[2]).unwrap_or(0.0).max(0.0);
                // Redis blocks the whole server; here the whole core sleeps.
                std::thread::sleep(std::time::Duration::from_secs_f64(seconds.min(3600.0)));
                Reply::ok()
            }
            b"POPULATE" if argv.len() >= 3 => {
                let count = parse_int(&argv[2]).unwrap_or(-1);
                if count < 0 {
                    return Reply::error("ERR value is out of range, must be positive");
                }
                let prefix = argv
                    .get(3)
                    .map(Arg::to_bytes)
                    .unwrap_or_else(|| Bytes::from_static(b"key"));
                let size = argv.get(4).map(Arg::to_bytes).unwrap_or_default();
                if !size.is_empty() && parse_int(&size).is_none() {
                    return Reply::error(NOT_INTEGER);
                }
                let populate = vec![Bytes::new(), argv[2].to_bytes(), prefix, size];
                self.on_all(|| Op::Db(server::populate_local, populate.clone()))
                    .await;
                Reply::ok()
            }
            b"SET-ACTIVE-EXPIRE" if argv.len() == 3 => {
                let flag = vec![Bytes::new(), argv[2].to_bytes()];
                self.on_all(|| Op::Db(server::set_active_expire_local, flag.clone()))
                    .await;
                Reply::ok()
            }
            b"PROTOCOL" if argv.len() == 3 => server::debug_protocol(&argv[2], self.resp3),
            b"RELOAD" => self.core.debug_reload(argv).await,
            // Not in Redis's DEBUG HELP either: lets scripts call noscript
            // commands (Redis's test suite uses it).
            b"SET-DISABLE-DENY-SCRIPTS" if argv.len() == 3 => {
                let disabled = std::str::from_utf8(&argv[2])
                    .ok()
                    .and_then(|text| text.trim().parse::<i64>().ok())
                    .unwrap_or(0);
                self.core.shared.scripts.set_deny_disabled(disabled != 0);
                Reply::ok()
            }
            b"OBJECT" if argv.len() == 3 => {
                self.on_key(
                    server::debug_object_local,
                    vec![Bytes::new(), argv[2].to_bytes()],
                    &argv[2],
                )
                .await
            }
            b"DIGEST-VALUE" => {
                let mut digests = Vec::new();
                for key in &argv[2..] {
                    digests.push(
                        self.on_key(
                            server::digest_value_local,
                            vec![Bytes::new(), key.to_bytes()],
                            key,
                        )
                        .await,
                    );
                }
                Reply::Array(digests)
            }
            b"DIGEST" if argv.len() == 2 => {
                let parts: Vec<([u8; 20], i64)> = self
                    .on_all(|| Op::Db(server::dataset_digest_local, vec![]))
                    .await
                    .into_iter()
                    .map(|part| match &array_items(part)[..] {
                        [Reply::Bulk(digest), Reply::Int(count)] if digest.len() == 20 => {
                            let mut bytes = [0u8; 20];
                            bytes.copy_from_slice(digest);
                            (bytes, *count)
                        }
                        _ => ([0u8; 20], 0),
                    })
                    .collect();
                Reply::Simple(server::dataset_digest(&parts).into())
            }
            b"LOG" if argv.len() >= 3 => {
                warning!("DEBUG LOG: {}", String::from_utf8_lossy(&argv[2]));
                Reply::ok()
            }
            _ => Reply::Error(Cow::Owned(format!(
                "ERR unknown subcommand or wrong number of arguments for '{}'. Try DEBUG HELP.",
                String::from_utf8_lossy(&argv[1])
            ))),
        }
    }
}
