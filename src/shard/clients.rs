//! This core's connected clients, for CLIENT LIST / INFO / KILL. A client
//! is registered on the core that accepted it; other cores reach it through
//! the mesh.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::os::unix::io::RawFd;
use std::rc::Rc;

pub struct ClientHandle {
    pub id: u64,
    pub fd: RawFd,
    pub addr: SocketAddr,
    pub laddr: SocketAddr,
    pub created_ms: u64,
    pub name: RefCell<String>,
    pub lib_name: RefCell<String>,
    pub lib_ver: RefCell<String>,
    pub last_command_ms: Cell<u64>,
    pub last_command: Cell<&'static str>,
    /// The subcommand of the last command when it was a container
    /// (`client|list`); empty otherwise.
    pub last_subcommand: RefCell<String>,
    pub resp: Cell<u8>,
    pub query_buffer_bytes: Cell<usize>,
    pub killed: Cell<bool>,
    /// CLIENT NO-EVICT ON (shown as flag `e`; RESET keeps it, as Redis does).
    pub no_evict: Cell<bool>,
    /// In MONITOR mode (flag `O`).
    pub monitor: Cell<bool>,
    /// A replica's link to its master (flag `M`, type `master`).
    pub master: Cell<bool>,
    /// Channels, patterns and shard channels subscribed to.
    pub subscriptions: Cell<(usize, usize, usize)>,
    /// Commands queued in MULTI, or -1 outside a transaction.
    pub multi: Cell<i64>,
    /// Waiting in a blocking command (flag `b`).
    pub blocked: Cell<bool>,
    /// The blocking command's waiter, for CLIENT UNBLOCK.
    pub waiter: RefCell<Option<std::sync::Arc<super::blocking::Waiter>>>,
}

impl ClientHandle {
    pub fn new(
        id: u64,
        fd: RawFd,
        addr: SocketAddr,
        laddr: SocketAddr,
        created_ms: u64,
    ) -> ClientHandle {
        ClientHandle {
            id,
            fd,
            addr,
            laddr,
            created_ms,
            name: RefCell::new(String::new()),
            lib_name: RefCell::new(String::new()),
            lib_ver: RefCell::new(String::new()),
            last_command_ms: Cell::new(created_ms),
            last_command: Cell::new("NULL"),
            last_subcommand: RefCell::new(String::new()),
            resp: Cell::new(2),
            query_buffer_bytes: Cell::new(0),
            killed: Cell::new(false),
            no_evict: Cell::new(false),
            monitor: Cell::new(false),
            master: Cell::new(false),
            subscriptions: Cell::new((0, 0, 0)),
            multi: Cell::new(-1),
            blocked: Cell::new(false),
            waiter: RefCell::new(None),
        }
    }

    pub fn is_pubsub(&self) -> bool {
        let (channels, patterns, shard) = self.subscriptions.get();
        channels + patterns + shard > 0
    }

    /// CLIENT LIST's flags, in Redis's order; `N` when none.
    pub fn flags(&self) -> String {
        let mut flags = String::new();
        if self.monitor.get() {
            flags.push('O');
        }
        if self.master.get() {
            flags.push('M');
        }
        if self.is_pubsub() {
            flags.push('P');
        }
        if self.multi.get() >= 0 {
            flags.push('x');
        }
        if self.blocked.get() {
            flags.push('b');
        }
        if self.no_evict.get() {
            flags.push('e');
        }
        if flags.is_empty() {
            flags.push('N');
        }
        flags
    }

    /// Closes the socket under the connection's task, which then ends.
    pub fn kill(&self) {
        self.killed.set(true);
        // SAFETY: shutdown on a descriptor we own; the task still holds the
        // stream, so the descriptor cannot have been reused.
        unsafe {
            libc::shutdown(self.fd, libc::SHUT_RDWR);
        }
    }

    /// The last command's full name: `get`, or `client|list`.
    pub fn full_command_name(&self) -> std::borrow::Cow<'static, str> {
        let sub = self.last_subcommand.borrow();
        if sub.is_empty() {
            std::borrow::Cow::Borrowed(self.last_command.get())
        } else {
            std::borrow::Cow::Owned(format!("{}|{}", self.last_command.get(), sub))
        }
    }

    /// One CLIENT LIST line, with Redis 7.0's fields.
    pub fn describe(&self, now_ms: u64) -> String {
        let age = now_ms.saturating_sub(self.created_ms) / 1000;
        let idle = now_ms.saturating_sub(self.last_command_ms.get()) / 1000;
        let qbuf = self.query_buffer_bytes.get();
        format!(
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db=0 sub={} psub={} ssub={} multi={} qbuf={} qbuf-free={} argv-mem=0 multi-mem=0 rbs=16384 rbp=0 obl=0 oll=0 omem=0 tot-mem={} events=r cmd={}{}{} user=default redir=-1 resp={}",
            self.id,
            self.addr,
            self.laddr,
            self.fd,
            self.name.borrow(),
            age,
            idle,
            self.flags(),
            self.subscriptions.get().0,
            self.subscriptions.get().1,
            self.subscriptions.get().2,
            self.multi.get(),
            qbuf,
            16384usize.saturating_sub(qbuf),
            16384 + qbuf,
            self.last_command.get(),
            if self.last_subcommand.borrow().is_empty() { "" } else { "|" },
            self.last_subcommand.borrow(),
            self.resp.get(),
        )
    }
}

#[derive(Default)]
pub struct Clients {
    pub by_id: BTreeMap<u64, Rc<ClientHandle>>,
}

/// One CLIENT LIST line for a replica's connection (served by the
/// replication hub): flags `S`, its last command (PSYNC, then REPLCONF
/// ACK), idle since that, and the stream queued for it as its output.
pub fn replica_line(replica: &crate::replication::ReplicaInfo, now_ms: u64) -> String {
    let age = now_ms.saturating_sub(replica.created_ms) / 1000;
    let idle = replica.ack_at.elapsed().as_secs();
    let queued = replica.queued;
    format!(
        "id={} addr={} laddr={} fd={} name= age={age} idle={idle} flags=S db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=1024 rbp=0 obl=0 oll={} omem={queued} tot-mem={} events={} cmd={} user=default redir=-1 resp=2",
        replica.client_id,
        replica.addr,
        replica.laddr,
        replica.fd,
        usize::from(queued > 0),
        1024 + queued,
        if queued > 0 { "rw" } else { "r" },
        replica.last_command,
    )
}

/// Which clients CLIENT KILL (new form) or CLIENT LIST selects.
#[derive(Default, Debug, Clone)]
pub struct ClientFilter {
    pub ids: Vec<u64>,
    pub addr: Option<String>,
    pub laddr: Option<String>,
    pub kind: Option<String>,
    pub user: Option<String>,
    pub skip_id: Option<u64>,
}

impl ClientFilter {
    /// Whether replicas can match (no TYPE, or TYPE replica / slave).
    pub fn takes_replicas(&self) -> bool {
        self.kind
            .as_deref()
            .is_none_or(|kind| kind == "replica" || kind == "slave")
            && self.user.as_ref().is_none_or(|u| u == "default")
    }

    /// Whether a replica's connection (see `replica_line`) matches.
    pub fn matches_replica(&self, replica: &crate::replication::ReplicaInfo) -> bool {
        self.takes_replicas()
            && (self.ids.is_empty() || self.ids.contains(&replica.client_id))
            && self.addr.as_ref().is_none_or(|a| *a == replica.addr)
            && self.laddr.as_ref().is_none_or(|a| *a == replica.laddr)
            && self.skip_id != Some(replica.client_id)
    }

    pub fn matches(&self, client: &ClientHandle) -> bool {
        (self.ids.is_empty() || self.ids.contains(&client.id))
            && self
                .addr
                .as_ref()
                .is_none_or(|a| *a == client.addr.to_string())
            && self
                .laddr
                .as_ref()
                .is_none_or(|a| *a == client.laddr.to_string())
            && self.kind.as_ref().is_none_or(|k| {
                if client.master.get() {
                    k == "master"
                } else if client.is_pubsub() {
                    k == "pubsub"
                } else {
                    k == "normal"
                }
            })
            && self.user.as_ref().is_none_or(|u| u == "default")
            && self.skip_id != Some(client.id)
    }

    /// Serialises the filter as mesh arguments (and back with `decode`).
    pub fn encode(&self) -> Vec<bytes::Bytes> {
        let text = |s: &Option<String>| bytes::Bytes::from(s.clone().unwrap_or_default());
        vec![
            bytes::Bytes::new(),
            bytes::Bytes::from(
                self.ids
                    .iter()
                    .map(|id| id.to_string())
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            text(&self.addr),
            text(&self.laddr),
            text(&self.kind),
            text(&self.user),
            bytes::Bytes::from(self.skip_id.map(|id| id.to_string()).unwrap_or_default()),
        ]
    }

    pub fn decode<A: AsRef<[u8]>>(argv: &[A]) -> ClientFilter {
        let text = |i: usize| {
            let value = String::from_utf8_lossy(argv.get(i).map(|b| b.as_ref()).unwrap_or(b""))
                .into_owned();
            (!value.is_empty()).then_some(value)
        };
        ClientFilter {
            ids: text(1)
                .map(|s| s.split(',').filter_map(|id| id.parse().ok()).collect())
                .unwrap_or_default(),
            addr: text(2),
            laddr: text(3),
            kind: text(4),
            user: text(5),
            skip_id: text(6).and_then(|s| s.parse().ok()),
        }
    }
}
