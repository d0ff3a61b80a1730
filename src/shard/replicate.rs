//! The shard side of replication (see `crate::replication`): each core's
//! feed handed to the hub once per turn, the REPLCONF / PSYNC / SYNC
//! commands, a connection handed over to the hub as a replica, the
//! snapshot a full sync needs, and WAIT.

use super::conn::Conn;
use super::Core;
use crate::protocol::{Arg, Reply};
use crate::replication::{Action, Attach, Outcome, Settings};
use bytes::Bytes;
use std::os::fd::FromRawFd;
use std::rc::Rc;
use std::time::Duration;

/// What REPLCONF told us about a replica-to-be.
#[derive(Default)]
pub struct ReplicaConf {
    pub listening_port: u16,
    pub ip_address: Option<String>,
    /// `REPLCONF capa eof`: it reads a snapshot streamed as it is made.
    pub eof: bool,
}

/// PSYNC / SYNC: the connection is handed to the hub once its earlier
/// replies are written.
pub struct Handover {
    /// PSYNC's replication id and offset; None for SYNC.
    psync: Option<(Vec<u8>, i64)>,
}

/// Hands this core's recorded writes to the hub, once per turn that made
/// some.
pub(super) async fn feed_loop(core: Rc<Core>) {
    loop {
        std::future::poll_fn(|cx| {
            let mut db = core.db.borrow_mut();
            if db.feed.is_empty() {
                db.feed.wait(cx.waker());
                std::task::Poll::Pending
            } else {
                std::task::Poll::Ready(())
            }
        })
        .await;
        core.flush_feed();
    }
}

impl Core {
    /// Sends this core's recorded writes to the hub now (before a barrier
    /// mark, or at the end of a turn).
    pub fn flush_feed(&self) {
        let bytes = {
            let mut db = self.db.borrow_mut();
            db.sync_feed();
            if db.feed.is_on() {
                db.propagate_expired();
            }
            db.feed.take()
        };
        self.shared.replication.send_records(self.id, bytes);
    }

    /// A command the client's core coordinated over other cores (or one
    /// that ran as internal work: SORT ... STORE, MIGRATE's deletion):
    /// replicas get `argv` now, not at the end of the turn, to keep the
    /// time in which another core's write to its keys could overtake it
    /// short (see docs/ARCHITECTURE.md, "Replication").
    pub fn propagate_now<A: AsRef<[u8]>>(&self, argv: &[A]) {
        {
            let mut db = self.db.borrow_mut();
            if !db.feed.is_on() {
                return;
            }
            db.feed.push(argv);
        }
        self.flush_feed();
    }

    /// After a coordinated write: what replicas get of it.
    pub fn propagate_coordinated(
        &self,
        spec: &crate::command::CommandSpec,
        argv: &[Arg<'_>],
        reply: &Reply,
    ) {
        if reply.is_error() || !spec.is_write() || !self.shared.replication.is_on() {
            return;
        }
        match spec.name {
            // Their own parts (the non-blocking forms, the barrier) went.
            "flushall" | "flushdb" | "blpop" | "brpop" | "blmove" | "blmpop" | "brpoplpush"
            | "bzpopmin" | "bzpopmax" | "bzmpop" => {}
            "migrate" => {
                // The keys moved away (unless COPY): DEL, as Redis sends.
                if *reply != Reply::ok() || argv.iter().any(|a| a.eq_ignore_ascii_case(b"COPY")) {
                    return;
                }
                let mut del: Vec<&[u8]> = vec![b"DEL"];
                match argv.iter().position(|a| a.eq_ignore_ascii_case(b"KEYS")) {
                    Some(at) if argv[3].is_empty() => {
                        del.extend(argv[at + 1..].iter().map(|a| a.as_bytes()))
                    }
                    _ => del.push(&argv[3]),
                }
                self.propagate_now(&del);
            }
            "sort" => {
                if argv
                    .iter()
                    .skip(2)
                    .any(|a| a.eq_ignore_ascii_case(b"STORE"))
                {
                    self.propagate_now(argv);
                }
            }
            // Each core serving it sent its own part (see
            // `propagate::group_read`).
            "xreadgroup" => {}
            _ => self.propagate_now(argv),
        }
    }

    /// This core reached barrier `id`: its writes so far go first.
    pub fn pass_barrier(&self, id: u64) {
        self.flush_feed();
        self.shared.replication.send_barrier(self.id, id);
    }

    /// Runs `action` at one point of the replication stream that every
    /// core passes at once (see `crate::replication`): `each` runs on every
    /// core, which marks the barrier as part of it. Returns `each`'s
    /// replies.
    pub async fn with_barrier(
        &self,
        action: Action,
        each: super::mesh::CoreFn,
        mut argv: Vec<bytes::Bytes>,
    ) -> Vec<Reply> {
        let replication = &self.shared.replication;
        if !replication.is_on() {
            return self
                .on_all(|| super::mesh::Op::Core(each, argv.clone()))
                .await;
        }
        while !replication.try_begin_barrier() {
            glommio::timer::sleep(Duration::from_millis(1)).await;
        }
        let id = replication.next_barrier_id();
        replication.expect(id, action);
        argv.push(bytes::Bytes::from(id.to_string()));
        let replies = self
            .on_all(|| super::mesh::Op::Core(each, argv.clone()))
            .await;
        replication.end_barrier();
        replies
    }

    /// A full sync's snapshot: a background save whose cut is barrier
    /// `id`; the hub sends the file to the replicas waiting on it.
    /// `min-replicas-to-write` is set and fewer online replicas
    /// acknowledged within `min-replicas-max-lag` seconds (Redis's
    /// checkGoodReplicasStatus failing).
    pub(super) fn too_few_good_replicas(&self) -> bool {
        self.min_replicas().is_some_and(|(wanted, max_lag)| {
            (self.shared.replication.good_replicas(max_lag) as u64) < wanted
        })
    }

    /// `min-replicas-to-write` and `min-replicas-max-lag` when both are
    /// set (the check is on).
    pub(super) fn min_replicas(&self) -> Option<(u64, u64)> {
        let config = &self.db.borrow().config;
        let (wanted, max_lag) = (config.min_replicas_to_write, config.min_replicas_max_lag);
        (wanted > 0 && max_lag > 0).then_some((wanted, max_lag))
    }

    async fn snapshot_for_replicas(&self, id: u64, diskless: bool) {
        let replication = &self.shared.replication;
        loop {
            // The barrier slot is given back while another save runs: a
            // plain save takes it for its own cut once it is under way.
            while !replication.try_begin_barrier() {
                glommio::timer::sleep(Duration::from_millis(1)).await;
            }
            let saved = self.save_for_sync(id, diskless).await;
            replication.end_barrier();
            match saved {
                Err(super::persist::SaveError::InProgress) => {
                    glommio::timer::sleep(Duration::from_millis(10)).await;
                }
                Err(super::persist::SaveError::Failed) => {
                    match diskless {
                        true => replication.rdb_end(id, false),
                        false => replication.rdb_ready(id, None),
                    }
                    break;
                }
                Ok(()) => break,
            }
        }
    }
}

/// The barrier id a barrier's per-core function got as its last argument.
pub fn barrier_of(argv: &[Arg<'_>]) -> Option<u64> {
    std::str::from_utf8(argv.last()?).ok()?.parse().ok()
}

impl Conn {
    /// REPLCONF option value ...: what a replica tells its master before
    /// PSYNC.
    /// None: no reply (ACK, GETACK).
    pub(super) fn replconf(&mut self, argv: &[Arg<'_>]) -> Option<Reply> {
        if argv.len().is_multiple_of(2) {
            return Some(Reply::error(crate::command::errors::SYNTAX));
        }
        for pair in argv[1..].chunks(2) {
            let (option, value) = (&pair[0], &pair[1]);
            let name = option.to_ascii_lowercase();
            match name.as_slice() {
                b"listening-port" => match crate::command::parse_int(value) {
                    Some(port) if (0..=65535).contains(&port) => {
                        self.replica_conf.listening_port = port as u16
                    }
                    _ => return Some(Reply::error(crate::command::errors::NOT_INTEGER)),
                },
                b"ip-address" => {
                    self.replica_conf.ip_address = Some(String::from_utf8_lossy(value).into_owned())
                }
                b"capa" => {
                    if value.eq_ignore_ascii_case(b"eof") {
                        self.replica_conf.eof = true;
                    }
                }
                // The snapshot has no functions to filter out; an rdb-only
                // replica (redis-cli --rdb) closes once it has its file.
                b"rdb-only" | b"rdb-filter-only" => {}
                // A replica's acknowledgement on a connection that is not
                // (yet) a replica's, or a GETACK to a master: no reply.
                b"getack" => {
                    self.acknowledge();
                    return None;
                }
                b"ack" => return None,
                _ => {
                    return Some(Reply::error_owned(format!(
                        "ERR Unrecognized REPLCONF option: {}",
                        String::from_utf8_lossy(option)
                    )))
                }
            }
        }
        Some(Reply::ok())
    }

    /// PSYNC replid offset / SYNC: answered by the hub once the connection
    /// is handed over (see `hand_over`). Some: an error to answer.
    pub(super) fn psync(&mut self, argv: &[Arg<'_>]) -> Option<Reply> {
        // A replica serves its own replicas only what it has of its
        // master's stream (Redis's syncCommand).
        let side = &self.core.shared.replica;
        if side.is_on() && !side.is_up() {
            return Some(Reply::error(
                "NOMASTERLINK Can't SYNC while not connected with my master",
            ));
        }
        let psync = if argv[0].eq_ignore_ascii_case(b"PSYNC") {
            let Some(offset) = crate::command::parse_int(&argv[2]) else {
                return Some(Reply::error(crate::command::errors::NOT_INTEGER));
            };
            Some((argv[1].to_vec(), offset))
        } else {
            None
        };
        self.handover = Some(Handover { psync });
        self.close_after_reply = true;
        None
    }

    /// WAIT numreplicas timeout: how many replicas acknowledged the
    /// stream up to this client's writes (the whole stream as it was when
    /// WAIT came: every core's writes so far).
    pub(super) async fn wait_for_replicas(
        &mut self,
        replicas: i64,
        timeout: Option<Duration>,
    ) -> Reply {
        let started = std::time::Instant::now();
        self.core
            .on_all(|| super::mesh::Op::Core(flush_feed_core, Vec::new()))
            .await;
        let replication = &self.core.shared.replication;
        if self.has_written {
            self.has_written = false;
            self.write_offset = replication.offset_after_sent().await;
        }
        let offset = self.write_offset;
        loop {
            let acked = replication.acknowledged(offset);
            if acked as i64 >= replicas
                || timeout.is_some_and(|t| started.elapsed() >= t)
                || self.handle.killed.get()
            {
                return Reply::Int(acked as i64);
            }
            glommio::timer::sleep(Duration::from_millis(5)).await;
        }
    }
}

pub(super) fn flush_feed_core(core: &Core, _argv: &[Arg<'_>]) -> Reply {
    core.flush_feed();
    Reply::ok()
}

/// The replication settings the hub applies, as `config` has them.
pub(super) fn replication_settings(config: &crate::config::Config) -> Settings {
    let seconds = |name: &str, default: u64| {
        Duration::from_secs(
            crate::config::inert::get(config, name, &default.to_string())
                .parse()
                .unwrap_or(default),
        )
    };
    Settings {
        backlog_size: backlog_size(config),
        output_limit: config.output_limit("slave"),
        ping_period: seconds("repl-ping-replica-period", 10),
        timeout: seconds("repl-timeout", 60),
    }
}

/// `repl-backlog-size` in bytes (at least 16 KiB, as Redis's minimum).
pub(super) fn backlog_size(config: &crate::config::Config) -> usize {
    config
        .inert
        .get("repl-backlog-size")
        .and_then(|size| crate::config::parse_memory(size))
        .unwrap_or(1 << 20)
        .max(16 * 1024) as usize
}

/// Hands a connection that sent PSYNC or SYNC to the hub, and takes the
/// snapshot a full sync needs.
pub(super) async fn hand_over(
    core: &Rc<Core>,
    fd: i32,
    client: &super::clients::ClientHandle,
    conf: ReplicaConf,
    handover: Handover,
) {
    let peer = client.addr;
    // SAFETY: `fd` is the connection's open socket; the duplicate is a new
    // descriptor that the std stream owns and closes.
    let duplicate = unsafe { libc::dup(fd) };
    if duplicate < 0 {
        crate::warning!("Cannot hand a replica's connection over: dup failed");
        return;
    }
    // SAFETY: `duplicate` is a fresh descriptor owned by nothing else.
    let stream = unsafe { std::net::TcpStream::from_raw_fd(duplicate) };
    let (outcome_tx, outcome) = flume::bounded(1);
    let (settings, diskless) = {
        let config = &core.db.borrow().config;
        // Redis 7.0's default is yes.
        let diskless = config
            .inert
            .get("repl-diskless-sync")
            .is_none_or(|value| value == "yes");
        (replication_settings(config), diskless)
    };
    core.shared.replication.attach(Attach {
        stream,
        client_id: client.id,
        addr: client.addr.to_string(),
        laddr: client.laddr.to_string(),
        created_ms: client.created_ms,
        psync: handover.psync,
        ip: conf.ip_address.unwrap_or_else(|| peer.ip().to_string()),
        port: conf.listening_port,
        settings,
        eof: conf.eof,
        diskless,
        outcome: outcome_tx,
    });
    if let Ok(Outcome::Snapshot(id, diskless)) = outcome.recv_async().await {
        core.snapshot_for_replicas(id, diskless).await;
    }
}

impl Conn {
    /// ROLE: a master's offset and online replicas, or a replica's master,
    /// link state and offset.
    pub(super) fn role(&self) -> Reply {
        let side = &self.core.shared.replica;
        if side.is_on() {
            let (host, port, state, offset) = side.role();
            return Reply::Array(vec![
                Reply::bulk_static("slave"),
                Reply::Bulk(host.into()),
                Reply::Int(i64::from(port)),
                Reply::bulk_static(state),
                Reply::Int(offset),
            ]);
        }
        let published = self.core.shared.replication.published().clone();
        let replicas = published
            .replicas
            .iter()
            .filter(|r| r.state == "online")
            .map(|r| {
                Reply::Array(vec![
                    Reply::Bulk(r.ip.clone().into()),
                    Reply::Bulk(r.port.to_string().into()),
                    Reply::Bulk(r.ack_offset.to_string().into()),
                ])
            })
            .collect();
        Reply::Array(vec![
            Reply::bulk_static("master"),
            Reply::Int(published.offset as i64),
            Reply::Array(replicas),
        ])
    }

    /// REPLICAOF host port | NO ONE, as Redis's replicaofCommand: the link
    /// (core 0's task) follows the new target; the reply does not wait.
    /// CONFIG GET replicaof (and CONFIG REWRITE) say the new target.
    pub(super) async fn replicaof(&mut self, argv: &[Arg<'_>]) -> Reply {
        if self.core.cluster_enabled {
            return Reply::error("ERR REPLICAOF not allowed in cluster mode.");
        }
        let side = &self.core.shared.replica;
        let who = self.handle.describe(crate::command::now_ms());
        if argv[1].eq_ignore_ascii_case(b"no") && argv[2].eq_ignore_ascii_case(b"one") {
            if self.core.shared.set_master(None) {
                crate::notice!("MASTER MODE enabled (user request from '{who}')");
            }
            self.set_replicaof_config(Bytes::new()).await;
            return Reply::ok();
        }
        let port = std::str::from_utf8(&argv[2])
            .ok()
            .and_then(|text| text.parse::<i64>().ok())
            .filter(|port| (0..=65535).contains(port));
        let Some(port) = port else {
            return Reply::error("ERR Invalid master port");
        };
        let host = String::from_utf8_lossy(&argv[1]).into_owned();
        let current = side.target().0;
        if current
            .as_ref()
            .is_some_and(|(h, p)| h.eq_ignore_ascii_case(&host) && i64::from(*p) == port)
        {
            crate::notice!("REPLICAOF would result into synchronization with the master we are already connected with. No operation performed.");
            return Reply::Simple("OK Already connected to specified master".into());
        }
        self.core
            .shared
            .set_master(Some((host.clone(), port as u16)));
        crate::notice!("REPLICAOF {host}:{port} enabled (user request from '{who}')");
        self.set_replicaof_config(Bytes::from(format!("{host} {port}")))
            .await;
        Reply::ok()
    }

    /// Every core's `replicaof` parameter: "host port", or empty.
    async fn set_replicaof_config(&mut self, value: Bytes) {
        let mut argv = vec![Bytes::new(), Bytes::from_static(b"replicaof")];
        argv.extend(
            value
                .split(|&b| b == b' ')
                .map(|part| value.slice_ref(part)),
        );
        self.on_all(|| super::mesh::Op::Db(crate::command::server::config_set_local, argv.clone()))
            .await;
    }
}
