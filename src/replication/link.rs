//! Replication, replica side: what every core shares about this node's
//! link to its master (`REPLICAOF host port`, `replicaof` in the config
//! file, or the cluster's CLUSTER REPLICATE). The link itself runs on core
//! 0 (`shard::replica_link`); here is its target, its state for INFO and
//! ROLE, and the switch every command reads (one relaxed load) to refuse
//! writes on a read-only replica.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// A client's write on a replica with `replica-read-only yes`.
pub const READONLY: &str = "READONLY You can't write against a read only replica.";

/// Any command without the `stale` flag while the link is down and
/// `replica-serve-stale-data no`.
pub const MASTERDOWN: &str =
    "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.";

/// A command without the `loading` flag while a replica loads its
/// master's snapshot.
pub const LOADING: &str = "LOADING Redis is loading the dataset in memory";

/// The link's state, as INFO's `master_link_status` and ROLE name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkStatus {
    /// Waiting to connect (after a failure, or just told).
    Connect,
    /// Connected, in the PSYNC handshake.
    Connecting,
    /// Receiving the master's snapshot.
    Sync,
    /// Applying the master's stream.
    Connected,
}

impl LinkStatus {
    /// ROLE's word for it.
    pub fn role_word(self) -> &'static str {
        match self {
            LinkStatus::Connect => "connect",
            LinkStatus::Connecting => "connecting",
            LinkStatus::Sync => "sync",
            LinkStatus::Connected => "connected",
        }
    }
}

/// What changes rarely, under the lock.
#[derive(Debug, Clone)]
pub struct LinkState {
    /// The master's host and port; None on a master.
    pub master: Option<(String, u16)>,
    /// Grows with every new target: a link to an older one gives up.
    pub generation: u64,
    pub status: LinkStatus,
    /// The master's replication id, once a sync told it ("?" before).
    pub master_replid: String,
    /// When the link went down (ms), for `master_link_down_since_seconds`.
    pub down_since_ms: u64,
    /// Bytes of the snapshot expected (-1: streamed, size unknown) and read.
    pub sync_total_bytes: i64,
    pub sync_read_bytes: u64,
}

pub struct ReplicaSide {
    /// This node replicates from a master.
    on: AtomicBool,
    /// The stream is flowing (`master_link_status:up`).
    up: AtomicBool,
    /// The master's snapshot is being loaded in place of the dataset.
    loading: AtomicBool,
    /// The master's stream offset applied so far (-1 before any sync);
    /// shared with the cluster bus, whose messages carry it.
    offset: Arc<AtomicI64>,
    /// When the master last sent anything (ms); shared with the cluster
    /// bus (a replica's data age, `cluster-replica-validity-factor`).
    last_io_ms: Arc<AtomicU64>,
    state: Mutex<LinkState>,
    wake_tx: flume::Sender<()>,
    wake_rx: flume::Receiver<()>,
    /// The master link is applying a read (between `enter_batch` and
    /// `leave_batch`): the dataset is ahead of the stream forwarded.
    link_busy: AtomicBool,
    /// Snapshots for this node's own replicas that wait for the link to be
    /// still (`hold_link_within`).
    link_holds: AtomicUsize,
}

impl Default for ReplicaSide {
    fn default() -> Self {
        ReplicaSide::new(Arc::new(AtomicI64::new(-1)), Arc::default())
    }
}

impl ReplicaSide {
    /// With `offset` and `last_io_ms` shared (the cluster bus reads them).
    pub fn new(offset: Arc<AtomicI64>, last_io_ms: Arc<AtomicU64>) -> Self {
        offset.store(-1, Ordering::Relaxed);
        let (wake_tx, wake_rx) = flume::unbounded();
        ReplicaSide {
            on: AtomicBool::new(false),
            up: AtomicBool::new(false),
            loading: AtomicBool::new(false),
            offset,
            last_io_ms,
            state: Mutex::new(LinkState {
                master: None,
                generation: 0,
                status: LinkStatus::Connect,
                master_replid: "?".into(),
                down_since_ms: 0,
                sync_total_bytes: -1,
                sync_read_bytes: 0,
            }),
            wake_tx,
            wake_rx,
            link_busy: AtomicBool::new(false),
            link_holds: AtomicUsize::new(0),
        }
    }
}

impl ReplicaSide {
    /// True on a replica (every command asks: one relaxed load).
    #[inline]
    pub fn is_on(&self) -> bool {
        self.on.load(Ordering::Relaxed)
    }

    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    pub fn is_loading(&self) -> bool {
        self.loading.load(Ordering::Relaxed)
    }

    pub fn set_loading(&self, loading: bool) {
        self.loading.store(loading, Ordering::Relaxed);
    }

    pub fn state(&self) -> MutexGuard<'_, LinkState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Points the link at `master` (None: become a master). Returns false
    /// when that is already the target; else the link task is woken.
    pub fn set_master(&self, master: Option<(String, u16)>) -> bool {
        let mut state = self.state();
        if state.master == master {
            return false;
        }
        // A replica made a master takes writes of its own: what it had of
        // its old master's stream is no longer a point of that stream
        // (Redis gives it a new replication id), so it syncs in full.
        if master.is_none() {
            state.master_replid = "?".into();
            self.offset.store(-1, Ordering::Relaxed);
        }
        state.master = master;
        state.generation += 1;
        state.status = LinkStatus::Connect;
        state.down_since_ms = crate::command::now_ms();
        self.on.store(state.master.is_some(), Ordering::Relaxed);
        self.up.store(false, Ordering::Relaxed);
        drop(state);
        let _ = self.wake_tx.send(());
        true
    }

    /// The current target and its generation.
    pub fn target(&self) -> (Option<(String, u16)>, u64) {
        let state = self.state();
        (state.master.clone(), state.generation)
    }

    /// True while `generation` is still the target's.
    pub fn is_current(&self, generation: u64) -> bool {
        self.state().generation == generation
    }

    /// Waits until the target changes (or `timeout` passes).
    pub async fn changed(&self, timeout: std::time::Duration) {
        // Wake-ups already queued were for targets the caller has seen.
        while self.wake_rx.try_recv().is_ok() {}
        let woken = async {
            let _ = self.wake_rx.recv_async().await;
        };
        let slept = glommio::timer::sleep(timeout);
        futures_lite::future::or(woken, async {
            slept.await;
        })
        .await;
    }

    /// A link of `generation` changed state.
    pub fn set_status(&self, generation: u64, status: LinkStatus) {
        let mut state = self.state();
        if state.generation != generation {
            return;
        }
        let was_up = state.status == LinkStatus::Connected;
        state.status = status;
        if was_up && status != LinkStatus::Connected {
            state.down_since_ms = crate::command::now_ms();
        }
        if status == LinkStatus::Sync {
            state.sync_total_bytes = -1;
            state.sync_read_bytes = 0;
        }
        self.up
            .store(status == LinkStatus::Connected, Ordering::Relaxed);
    }

    /// A sync (full or partial) with the master `replid` at `offset`.
    pub fn synced(&self, replid: &str, offset: i64) {
        self.state().master_replid = replid.to_string();
        self.offset.store(offset, Ordering::Relaxed);
    }

    pub fn offset(&self) -> i64 {
        self.offset.load(Ordering::Relaxed)
    }

    pub fn set_offset(&self, offset: i64) {
        self.offset.store(offset, Ordering::Relaxed);
    }

    /// The master link is about to apply what it read: waits while a
    /// snapshot holds it. (With `hold_link_within`, a Dekker pair: either the
    /// holder sees the link busy, or the link sees the hold.)
    pub async fn enter_batch(&self) {
        loop {
            self.link_busy.store(true, Ordering::SeqCst);
            if self.link_holds.load(Ordering::SeqCst) == 0 {
                return;
            }
            self.link_busy.store(false, Ordering::SeqCst);
            glommio::timer::sleep(std::time::Duration::from_millis(1)).await;
        }
    }

    /// The master link applied and forwarded what it read.
    pub fn leave_batch(&self) {
        self.link_busy.store(false, Ordering::SeqCst);
    }

    /// Holds the master link between two reads, where the dataset is
    /// exactly the stream forwarded so far: a replica's snapshot for its
    /// own replicas (or any save) is cut there. Undone by `release_link`.
    /// Gives up after `limit` (None: never), returning false (nothing is
    /// held then): a save the master's stream itself caused (its FLUSHALL,
    /// with save points set) runs while the link is busy applying it, and
    /// must not wait for the link.
    pub async fn hold_link_within(&self, limit: Option<std::time::Duration>) -> bool {
        let started = std::time::Instant::now();
        self.link_holds.fetch_add(1, Ordering::SeqCst);
        while self.link_busy.load(Ordering::SeqCst) {
            if limit.is_some_and(|limit| started.elapsed() >= limit) {
                self.release_link();
                return false;
            }
            glommio::timer::sleep(std::time::Duration::from_millis(1)).await;
        }
        true
    }

    /// Holds the master link at once: true when it is between reads (it
    /// then waits); false when it is applying one.
    pub fn hold_now(&self) -> bool {
        self.link_holds.fetch_add(1, Ordering::SeqCst);
        !self.link_busy.load(Ordering::SeqCst)
    }

    pub fn release_link(&self) {
        self.link_holds.fetch_sub(1, Ordering::SeqCst);
    }

    pub fn touch(&self, now_ms: u64) {
        self.last_io_ms.store(now_ms, Ordering::Relaxed);
    }

    pub fn last_io_ms(&self) -> u64 {
        self.last_io_ms.load(Ordering::Relaxed)
    }

    /// INFO replication's lines for a replica, in Redis 7.0's order (up to
    /// `slave_read_only`; the caller adds the rest).
    pub fn info_lines(&self, now_ms: u64, priority: &str, read_only: bool) -> Vec<String> {
        let state = self.state().clone();
        let (host, port) = state.master.clone().unwrap_or_default();
        let up = state.status == LinkStatus::Connected;
        let mut lines = vec![
            "role:slave".to_string(),
            format!("master_host:{host}"),
            format!("master_port:{port}"),
            format!("master_link_status:{}", if up { "up" } else { "down" }),
        ];
        let last_io = self.last_io_ms();
        lines.push(format!(
            "master_last_io_seconds_ago:{}",
            if up && last_io != 0 {
                (now_ms.saturating_sub(last_io) / 1000) as i64
            } else {
                -1
            }
        ));
        let syncing = state.status == LinkStatus::Sync;
        lines.push(format!("master_sync_in_progress:{}", u8::from(syncing)));
        let offset = self.offset().max(0);
        lines.push(format!("slave_read_repl_offset:{offset}"));
        lines.push(format!("slave_repl_offset:{offset}"));
        if syncing {
            lines.push(format!(
                "master_sync_total_bytes:{}",
                state.sync_total_bytes
            ));
            lines.push(format!("master_sync_read_bytes:{}", state.sync_read_bytes));
            lines.push(format!(
                "master_sync_left_bytes:{}",
                if state.sync_total_bytes < 0 {
                    -1
                } else {
                    state.sync_total_bytes - state.sync_read_bytes as i64
                }
            ));
            lines.push("master_sync_perc:0.00".into());
            lines.push("master_sync_last_io_seconds_ago:0".into());
        }
        if !up {
            lines.push(format!(
                "master_link_down_since_seconds:{}",
                now_ms.saturating_sub(state.down_since_ms) / 1000
            ));
        }
        lines.push(format!("slave_priority:{priority}"));
        lines.push(format!("slave_read_only:{}", u8::from(read_only)));
        lines.push("replica_announced:1".into());
        lines
    }

    /// ROLE's reply on a replica: host, port, state, offset.
    pub fn role(&self) -> (String, u16, &'static str, i64) {
        let state = self.state();
        let (host, port) = state.master.clone().unwrap_or_default();
        (host, port, state.status.role_word(), self.offset())
    }
}

/// Parses `replicaof`'s two words as Redis's setConfigReplicaOfOption:
/// `no one` is None.
pub fn parse_replicaof(host: &str, port: &str) -> Result<Option<(String, u16)>, String> {
    if host.eq_ignore_ascii_case("no") && port.eq_ignore_ascii_case("one") {
        return Ok(None);
    }
    match port.parse::<u16>() {
        Ok(port) => Ok(Some((host.to_string(), port))),
        Err(_) => Err("Invalid master port".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replicaof_takes_no_one_and_a_port_in_range() {
        assert_eq!(parse_replicaof("NO", "One"), Ok(None));
        assert_eq!(
            parse_replicaof("127.0.0.1", "7000"),
            Ok(Some(("127.0.0.1".into(), 7000)))
        );
        assert!(parse_replicaof("127.0.0.1", "65536").is_err());
        assert!(parse_replicaof("127.0.0.1", "7x").is_err());
        assert!(parse_replicaof("127.0.0.1", "-1").is_err());
    }

    #[test]
    fn a_new_target_turns_the_switch_and_bumps_the_generation() {
        let side = ReplicaSide::default();
        assert!(!side.is_on());
        assert!(side.set_master(Some(("h".into(), 1))));
        assert!(side.is_on());
        let (_, generation) = side.target();
        assert!(!side.set_master(Some(("h".into(), 1))));
        assert!(side.is_current(generation));
        side.set_status(generation, LinkStatus::Connected);
        assert!(side.is_up());
        assert!(side.set_master(None));
        assert!(!side.is_on() && !side.is_up());
        assert!(!side.is_current(generation));
    }
}
