//! PSYNC2, Redis 7.0's replication-id continuity: a replication stream keeps its id and its
//! offsets wherever it is relayed, and a replica promoted to master keeps serving its old
//! master's stream, so the nodes that followed that stream resync with it partially.
//!
//! - A chained replica (a replica of a replica) carries its top master's stream: the same
//!   `master_replid` and the same offsets at every hop, the same keyspace, and when the middle
//!   replica's link drops it resumes with a partial resync without resyncing its own replica.
//! - A replica promoted with `REPLICAOF NO ONE` keeps its old master's id as `master_replid2`,
//!   valid up to `second_repl_offset` (its offset + 1), under a new `master_replid`; its former
//!   sibling and its former master then follow it with partial resyncs.
//! - A former master that took writes after the promotion has gone past that point: following
//!   the promoted replica is a full resync, and its own writes are gone.
//! - In a cluster, `CLUSTER FAILOVER` on one of a master's two replicas: the other replica and
//!   the old master follow the new master with partial resyncs.
//!
//! Every server is slotcore with 2 shard cores (`SLOTCORE_TEST_TARGET=redis`: redis-server
//! 7.0), started by [`Server::start`] with `--save ""` and `--repl-diskless-sync-delay 0`, or,
//! for the cluster, by [`Cluster`] (all slotcore or, under `SLOTCORE_TEST_TARGET=redis`, all
//! redis-server). Assertions on logs use redis-server 7.0.15's own log lines. Nothing is timed:
//! anything asynchronous is waited for with [`eventually`] and a generous limit.

mod common;

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::cluster::{Cluster, Kind, Node, CONVERGE_WAIT};
use common::dataset::{assert_same_keyspace, Copied};
use common::{
    config_set, connect_url, encode_cmd, eventually, info, info_number, shutdown, spread_keys,
    try_info, Server, TempDir,
};
use redis::{Connection, Value};

/// How long anything asynchronous may take: a sync, a reconnection, a promotion.
const SYNC_WAIT: Duration = Duration::from_secs(20);

/// redis-server 7.0.15's log line for a snapshot a replica loaded (a full resync).
const LOADED: &str = "MASTER <-> REPLICA sync: Finished with success";
/// redis-server 7.0.15's log line for a `+CONTINUE` a replica got (a partial resync).
const CONTINUED: &str = "MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization";
/// The start of redis-server 7.0.15's log line for a PSYNC a master refused.
const REFUSED: &str = "Partial resynchronization not accepted";

// ---------------------------------------------------------------------------------------------
// Servers, INFO, waiting.

/// A server under test with no save points and no wait before a diskless full resync starts
/// (Redis waits 5 s for more replicas), followed by `extra`.
fn start(extra: &[&str]) -> Server {
    let mut args = vec!["--save", "", "--repl-diskless-sync-delay", "0"];
    args.extend_from_slice(extra);
    Server::start(&args)
}

/// A server under test started as a replica of `master` (`--replicaof 127.0.0.1 PORT`).
fn start_replica(master: &Server) -> Server {
    let port = master.port().to_string();
    start(&["--replicaof", "127.0.0.1", &port])
}

fn connect(port: u16) -> Connection {
    connect_url(&format!("redis://127.0.0.1:{port}/"))
}

/// One INFO replication field as text.
fn replication_field(conn: &mut Connection, field: &str) -> String {
    let info = info(conn, "replication");
    info.get(field)
        .cloned()
        .unwrap_or_else(|| panic!("INFO replication has no {field}: {info:?}"))
}

/// `sync_full` and `sync_partial_ok` of INFO stats.
fn syncs(conn: &mut Connection) -> (i64, i64) {
    (
        info_number(conn, "stats", "sync_full"),
        info_number(conn, "stats", "sync_partial_ok"),
    )
}

/// Waits until INFO stats' `field` on `conn` reads `value`; panics with INFO stats after
/// [`SYNC_WAIT`].
fn wait_for_stat(conn: &mut Connection, field: &str, value: i64, what: &str) {
    let mut stats = HashMap::new();
    let reached = eventually(SYNC_WAIT, || {
        stats = try_info(conn, "stats").unwrap_or_default();
        stats.get(field).and_then(|n| n.parse::<i64>().ok()) == Some(value)
    });
    assert!(
        reached,
        "{what}: {field} never reached {value} within {SYNC_WAIT:?}: INFO stats {stats:?}"
    );
}

/// [`common::wait_caught_up`] with [`SYNC_WAIT`].
fn wait_caught_up(source_port: u16, replica_port: u16, following_port: u16, what: &str) {
    common::wait_caught_up(
        source_port,
        replica_port,
        Some(following_port),
        SYNC_WAIT,
        what,
    );
}

/// Waits until `replica`, following `master`, has applied all of `master`'s stream.
fn wait_in_sync(master: &Server, replica: &Server, what: &str) {
    wait_caught_up(master.port(), replica.port(), master.port(), what);
}

/// Asserts the keyspace of the server on `copy` is that of the one on `source`. In a cluster
/// both connections first send READONLY, so that a replica answers for its master's slots.
fn assert_same_data(source: u16, copy: u16, what: &str) {
    let open = |port: u16| {
        let mut conn = connect(port);
        if cluster_mode(&mut conn) {
            assert_eq!(run(&mut conn, &["READONLY"]), Value::Okay, "READONLY");
        }
        conn
    };
    assert_same_keyspace(
        &mut open(source),
        &mut open(copy),
        Copied::ByCommandStream,
        &format!("{what}: the keyspace on port {copy} against the one on port {source}"),
    );
}

/// Whether the server runs in cluster mode (INFO cluster).
fn cluster_mode(conn: &mut Connection) -> bool {
    info(conn, "cluster")
        .get("cluster_enabled")
        .map(String::as_str)
        == Some("1")
}

/// Counts the lines of `server`'s log that contain `needle`.
fn log_count(server: &Server, needle: &str) -> usize {
    server.log().matches(needle).count()
}

// ---------------------------------------------------------------------------------------------
// Commands and data.

/// Runs a command given as text arguments; panics on an error reply.
fn run(conn: &mut Connection, args: &[&str]) -> Value {
    let mut cmd = redis::cmd(args[0]);
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    cmd.query(conn).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

/// `REPLICAOF 127.0.0.1 PORT` on `replica`, which must answer OK.
fn follow(replica: &Server, master: &Server) {
    let port = master.port().to_string();
    let reply = run(&mut replica.client(), &["REPLICAOF", "127.0.0.1", &port]);
    assert_eq!(reply, Value::Okay, "REPLICAOF 127.0.0.1 {port}");
}

fn now_ms() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970");
    i64::try_from(since_epoch.as_millis()).expect("milliseconds fit i64")
}

/// Writes `count` keys named `{prefix}:{n}`, spread over the slot space (so over both shard
/// cores), of mixed types: strings, counters, lists, hashes, sets, sorted sets, streams, and
/// strings with an expiry hours ahead (relative, which Redis rewrites to an absolute PXAT).
fn write_mixed(conn: &mut Connection, prefix: &str, count: usize) {
    let expire_at_ms = now_ms() + 3 * 3600 * 1000;
    let mut pipe = redis::pipe();
    for (n, key) in spread_keys(prefix, count).iter().enumerate() {
        let kind = n % 9;
        let at = (expire_at_ms + n as i64).to_string();
        let value = format!("value {n}");
        let n = n.to_string();
        let (key, n) = (key.as_str(), n.as_str());
        let commands: &[&[&str]] = match kind {
            0 => &[&["SET", key, &value]],
            1 => &[&["INCRBY", key, n]],
            2 => &[&["RPUSH", key, "a", "b", n]],
            3 => &[&["HSET", key, "f", "v", "n", n]],
            4 => &[&["SADD", key, "x", "y", n]],
            5 => &[&["ZADD", key, "1", "one", n, "n"]],
            6 => &[&["XADD", key, "*", "n", n]],
            7 => &[&["SET", key, "volatile", "PX", "10800000"]],
            _ => &[&["SET", key, "at"], &["PEXPIREAT", key, &at]],
        };
        for args in commands {
            pipe.cmd(args[0]).arg(&args[1..]).ignore();
        }
    }
    let () = pipe
        .query(conn)
        .unwrap_or_else(|e| panic!("writing {count} keys {prefix}:*: {e}"));
}

// ---------------------------------------------------------------------------------------------
// 1. A chain of replicas.

/// M ← R1 ← R2: R2 is a replica of R1, itself a replica of M. R2 gets M's keys (some by R1's
/// snapshot, some relayed through R1's stream), its `slave_repl_offset` reaches M's
/// `master_repl_offset` (a relayed stream keeps its master's offsets), and R1 and R2 both name
/// M's `master_replid`. When R1's link to M drops (`CLIENT KILL TYPE master` on R1), R1
/// resumes with a partial resync (M counts one more `sync_partial_ok` and no more `sync_full`)
/// and R2 is not resynced at all: R1 served one full sync and no partial one, and R2 loaded one
/// snapshot. Writes on M made meanwhile and after reach R2.
#[test]
fn a_chained_replica_carries_its_masters_stream() {
    let master = start(&[]);
    let mut on_master = master.client();
    write_mixed(&mut on_master, "before", 200);
    let r1 = start_replica(&master);
    wait_in_sync(&master, &r1, "R1's first sync");
    let r2 = start_replica(&r1);
    wait_in_sync(&r1, &r2, "R2's first sync from R1");
    write_mixed(&mut on_master, "relayed", 200);
    wait_in_sync(&master, &r1, "R1 after the relayed writes");
    wait_in_sync(&r1, &r2, "R2 after the relayed writes");
    // In Redis a sub-replica's offsets are the top master's offsets.
    wait_caught_up(
        master.port(),
        r2.port(),
        r1.port(),
        "R2 against the top master",
    );
    let replid = replication_field(&mut on_master, "master_replid");
    for (name, server) in [("R1", &r1), ("R2", &r2)] {
        assert_eq!(
            replication_field(&mut server.client(), "master_replid"),
            replid,
            "{name}'s master_replid against the top master's"
        );
    }
    assert_same_data(master.port(), r1.port(), "R1 after the relayed writes");
    assert_same_data(master.port(), r2.port(), "R2 after the relayed writes");
    assert_eq!(
        syncs(&mut on_master),
        (1, 0),
        "M's sync_full, sync_partial_ok"
    );
    let mut on_r1 = r1.client();
    assert_eq!(syncs(&mut on_r1), (1, 0), "R1's sync_full, sync_partial_ok");
    assert_eq!(log_count(&r2, LOADED), 1, "snapshots R2 loaded");

    let killed: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("master")
        .query(&mut on_r1)
        .expect("CLIENT KILL TYPE master on R1");
    assert_eq!(killed, 1, "R1's link to M killed");
    // Written while R1's link is down or just back: M's backlog carries them.
    write_mixed(&mut on_master, "while-down", 100);
    wait_for_stat(
        &mut on_master,
        "sync_partial_ok",
        1,
        "M after R1's link dropped",
    );
    wait_in_sync(&master, &r1, "R1 after its partial resync");
    wait_caught_up(
        master.port(),
        r2.port(),
        r1.port(),
        "R2 after R1's partial resync",
    );
    write_mixed(&mut on_master, "after", 100);
    wait_caught_up(
        master.port(),
        r2.port(),
        r1.port(),
        "R2 after the writes that followed",
    );
    assert_same_data(master.port(), r1.port(), "R1 after its partial resync");
    assert_same_data(master.port(), r2.port(), "R2 after R1's partial resync");
    assert_eq!(
        syncs(&mut on_master),
        (1, 1),
        "M's sync_full, sync_partial_ok after R1 resumed"
    );
    assert_eq!(
        syncs(&mut on_r1),
        (1, 0),
        "R1's sync_full, sync_partial_ok: R2 is not resynced when R1 resumes"
    );
    assert_eq!(log_count(&r1, CONTINUED), 1, "partial resyncs R1 logged");
    assert_eq!(log_count(&r1, LOADED), 1, "snapshots R1 loaded");
    assert_eq!(log_count(&r2, LOADED), 1, "snapshots R2 loaded");
    assert_eq!(log_count(&r2, CONTINUED), 0, "partial resyncs R2 logged");
    for (name, server) in [("R1", &r1), ("R2", &r2)] {
        assert_eq!(
            replication_field(&mut server.client(), "master_replid"),
            replid,
            "{name}'s master_replid after R1 resumed"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 2. A promoted replica.

/// What a promotion left: the old stream's id and the offset where the promoted replica took
/// over.
struct Promoted {
    old_replid: String,
    new_replid: String,
    /// The offset every node had reached in the old stream when the replica was promoted.
    offset: i64,
}

/// M with replicas A and B, all in sync after mixed writes; then `REPLICAOF NO ONE` on A.
/// Checks A's INFO replication: the old id as `master_replid2`, valid up to
/// `second_repl_offset` = offset + 1, under a new `master_replid`. M runs with
/// `repl-ping-replica-period` 3600 so that it sends no PING into the stream during the test:
/// its offset moves only with its writes.
fn promote_a_replica() -> (Server, Server, Server, Promoted) {
    let master = start(&["--repl-ping-replica-period", "3600"]);
    let mut on_master = master.client();
    write_mixed(&mut on_master, "first", 200);
    let a = start_replica(&master);
    let b = start_replica(&master);
    write_mixed(&mut on_master, "streamed", 200);
    wait_in_sync(&master, &a, "A before its promotion");
    wait_in_sync(&master, &b, "B before A's promotion");
    let old_replid = replication_field(&mut on_master, "master_replid");
    let mut on_a = a.client();
    let offset = info_number(&mut on_a, "replication", "master_repl_offset");
    assert_eq!(
        info_number(&mut on_master, "replication", "master_repl_offset"),
        offset,
        "M's master_repl_offset and A's"
    );

    assert_eq!(run(&mut on_a, &["REPLICAOF", "NO", "ONE"]), Value::Okay);
    let replication = info(&mut on_a, "replication");
    let field = |name: &str| {
        replication
            .get(name)
            .cloned()
            .unwrap_or_else(|| panic!("INFO replication has no {name}: {replication:?}"))
    };
    assert_eq!(field("role"), "master", "A's role after REPLICAOF NO ONE");
    assert_eq!(
        field("master_replid2"),
        old_replid,
        "A's master_replid2 after REPLICAOF NO ONE: its old master's id"
    );
    assert_eq!(
        field("second_repl_offset"),
        (offset + 1).to_string(),
        "A's second_repl_offset after REPLICAOF NO ONE: its offset + 1"
    );
    assert_eq!(
        field("master_repl_offset"),
        offset.to_string(),
        "A's master_repl_offset after REPLICAOF NO ONE"
    );
    let new_replid = field("master_replid");
    assert!(
        new_replid != old_replid && new_replid.len() == 40,
        "A's new master_replid {new_replid:?} after REPLICAOF NO ONE (old {old_replid:?})"
    );
    let promoted = Promoted {
        old_replid,
        new_replid,
        offset,
    };
    (master, a, b, promoted)
}

/// `REPLICAOF A` on B, A's former sibling: B's PSYNC names the old id and an offset A can
/// serve, so A counts a partial resync and no full one, logs it, and B logs the `+CONTINUE`.
fn sibling_follows_partially(a: &Server, b: &Server, promoted: &Promoted) {
    let mut on_a = a.client();
    write_mixed(&mut on_a, "promoted", 100);
    follow(b, a);
    wait_for_stat(&mut on_a, "sync_partial_ok", 1, "A after B followed it");
    wait_in_sync(a, b, "B after following A");
    assert_eq!(syncs(&mut on_a), (0, 1), "A's sync_full, sync_partial_ok");
    let accepted = format!(
        "Partial resynchronization request from 127.0.0.1:{} accepted",
        b.port()
    );
    assert_eq!(log_count(a, &accepted), 1, "A's log: {accepted:?}");
    assert_eq!(log_count(b, CONTINUED), 1, "partial resyncs B logged");
    assert_eq!(
        log_count(b, LOADED),
        1,
        "snapshots B loaded (its first sync)"
    );
    assert_eq!(
        replication_field(&mut b.client(), "master_replid"),
        promoted.new_replid,
        "B's master_replid after following A"
    );
    assert_same_data(a.port(), b.port(), "B after following A");
}

/// M (the old master) and A (its replica) with B: `REPLICAOF NO ONE` on A, writes on A, and B
/// follows A with a partial resync (see [`sibling_follows_partially`]). Then M, which took no
/// write since, follows A: its own offset is A's `second_repl_offset` - 1, so that is a partial
/// resync too (A: `sync_partial_ok` 2, `sync_full` 0), and M never loads a snapshot. After more
/// writes on A, all three hold the same keyspace and B and M name A's new id.
#[test]
fn a_promoted_replica_continues_its_siblings_stream() {
    let (master, a, b, promoted) = promote_a_replica();
    sibling_follows_partially(&a, &b, &promoted);

    let mut on_master = master.client();
    assert_eq!(
        info_number(&mut on_master, "replication", "master_repl_offset"),
        promoted.offset,
        "M's master_repl_offset before it follows A (it took no write, sent no PING)"
    );
    assert_eq!(
        replication_field(&mut on_master, "master_replid"),
        promoted.old_replid,
        "M's master_replid before it follows A"
    );
    follow(&master, &a);
    let mut on_a = a.client();
    wait_for_stat(&mut on_a, "sync_partial_ok", 2, "A after M followed it");
    wait_in_sync(&a, &master, "M after following A");
    assert_eq!(syncs(&mut on_a), (0, 2), "A's sync_full, sync_partial_ok");
    let accepted = format!(
        "Partial resynchronization request from 127.0.0.1:{} accepted",
        master.port()
    );
    assert_eq!(log_count(&a, &accepted), 1, "A's log: {accepted:?}");
    assert_eq!(log_count(&master, CONTINUED), 1, "partial resyncs M logged");
    assert_eq!(log_count(&master, LOADED), 0, "snapshots M loaded");

    write_mixed(&mut on_a, "later", 100);
    wait_in_sync(&a, &b, "B after the later writes");
    wait_in_sync(&a, &master, "M after the later writes");
    assert_same_data(a.port(), b.port(), "B after the later writes");
    assert_same_data(a.port(), master.port(), "M after the later writes");
    for (name, server) in [("B", &b), ("M", &master)] {
        assert_eq!(
            replication_field(&mut server.client(), "master_replid"),
            promoted.new_replid,
            "{name}'s master_replid after the later writes"
        );
    }
    assert_eq!(
        syncs(&mut on_a),
        (0, 2),
        "A's sync_full, sync_partial_ok at the end"
    );
}

/// As [`a_promoted_replica_continues_its_siblings_stream`], but M takes writes after A's
/// promotion (one overwrites a key A wrote too): M's offset is past A's `second_repl_offset`,
/// so A refuses M's PSYNC (and logs why) and M gets a full resync (A: `sync_full` 1), after
/// which M's keyspace is A's and its own writes since the promotion are gone. B, which
/// followed A before, still resynced partially.
#[test]
fn a_replica_that_wrote_past_the_promotion_point_syncs_in_full() {
    let (master, a, b, promoted) = promote_a_replica();
    let mut on_a = a.client();
    assert_eq!(run(&mut on_a, &["SET", "contested", "from A"]), Value::Okay);
    sibling_follows_partially(&a, &b, &promoted);

    let mut on_master = master.client();
    assert_eq!(
        run(&mut on_master, &["SET", "contested", "from M"]),
        Value::Okay
    );
    write_mixed(&mut on_master, "old-master-only", 50);
    let past = info_number(&mut on_master, "replication", "master_repl_offset");
    assert!(
        past > promoted.offset,
        "M's master_repl_offset {past} after its writes: not past the promotion point {}",
        promoted.offset
    );
    assert_eq!(
        replication_field(&mut on_master, "master_replid"),
        promoted.old_replid,
        "M's master_replid before it follows A"
    );
    follow(&master, &a);
    wait_for_stat(&mut on_a, "sync_full", 1, "A after M followed it");
    wait_in_sync(&a, &master, "M after its full resync");
    assert_eq!(syncs(&mut on_a), (1, 1), "A's sync_full, sync_partial_ok");
    assert_eq!(log_count(&a, REFUSED), 1, "A's log: {REFUSED:?}");
    assert_eq!(log_count(&master, LOADED), 1, "snapshots M loaded");
    assert_eq!(log_count(&master, CONTINUED), 0, "partial resyncs M logged");

    write_mixed(&mut on_a, "later", 50);
    wait_in_sync(&a, &master, "M after the later writes");
    wait_in_sync(&a, &b, "B after the later writes");
    assert_same_data(a.port(), master.port(), "M after its full resync");
    assert_same_data(a.port(), b.port(), "B after the later writes");
    let contested: String = redis::cmd("GET")
        .arg("contested")
        .query(&mut on_master)
        .expect("GET contested on M");
    assert_eq!(contested, "from A", "M's own write after the promotion");
    let leftovers: Vec<String> = redis::cmd("KEYS")
        .arg("old-master-only:*")
        .query(&mut on_master)
        .expect("KEYS on M");
    assert!(
        leftovers.is_empty(),
        "M's own keys after the full resync: {leftovers:?}"
    );
    assert_eq!(
        replication_field(&mut on_master, "master_replid"),
        promoted.new_replid,
        "M's master_replid after its full resync"
    );
}

// ---------------------------------------------------------------------------------------------
// 4. A coordinated failover in a cluster.

/// The kind of node a cluster test starts: slotcore, or redis-server under
/// `SLOTCORE_TEST_TARGET=redis`.
fn cluster_kind() -> Kind {
    if common::target_is_redis() {
        Kind::Redis
    } else {
        Kind::Slotcore
    }
}

/// No save points and no wait before a diskless full resync starts, as [`start`] gives the
/// standalone servers.
fn configure_node(node: &Node) {
    let mut conn = node.client();
    config_set(&mut conn, "save", "");
    config_set(&mut conn, "repl-diskless-sync-delay", "0");
}

/// A replica of `master_id` ([`Cluster::add_replica`]), configured as [`configure_node`] does.
fn add_replica_configured(cluster: &mut Cluster, master_id: &str) -> usize {
    let replica = cluster.add_replica(cluster_kind(), master_id);
    configure_node(cluster.node(replica));
    replica
}

/// A cluster master with two replicas, every one in sync after writes to the master's slots;
/// then `CLUSTER FAILOVER` on the first replica. The old master and the other replica become
/// the new master's replicas, and both resync partially: the new master counts
/// `sync_partial_ok` 2 and `sync_full` 0, and they hold its keyspace and name its new id.
#[test]
fn a_cluster_failover_keeps_the_other_replicas_partial() {
    let kind = cluster_kind();
    let mut cluster = match kind {
        Kind::Slotcore => Cluster::create_new(3, 0),
        Kind::Redis => Cluster::create_new(0, 3),
    };
    for node in &cluster.nodes {
        configure_node(node);
    }
    let master = 0;
    let master_id = cluster.node(master).id();
    let master_port = cluster.node(master).port;
    let promoted = add_replica_configured(&mut cluster, &master_id);
    let other = add_replica_configured(&mut cluster, &master_id);
    let (promoted_port, other_port) = (cluster.node(promoted).port, cluster.node(other).port);

    let mut con = cluster.cluster_client();
    for n in 0..600 {
        let key = format!("psync2:{n}");
        let () = match n % 3 {
            0 => redis::cmd("SET").arg(&key).arg(n).query(&mut con),
            1 => redis::cmd("RPUSH")
                .arg(&key)
                .arg("a")
                .arg(n)
                .query(&mut con),
            _ => redis::cmd("HSET").arg(&key).arg("n").arg(n).query(&mut con),
        }
        .map(|_: Value| ())
        .unwrap_or_else(|e| panic!("writing {key}: {e}"));
    }
    drop(con);
    let mut on_master = cluster.node(master).client();
    let keys: i64 = redis::cmd("DBSIZE").query(&mut on_master).expect("DBSIZE");
    assert!(keys > 0, "the master holds some of the keys");
    wait_caught_up(
        master_port,
        promoted_port,
        master_port,
        "the replica to promote",
    );
    wait_caught_up(master_port, other_port, master_port, "the other replica");
    let old_replid = replication_field(&mut on_master, "master_replid");
    let mut on_promoted = cluster.node(promoted).client();
    assert_eq!(
        syncs(&mut on_promoted),
        (0, 0),
        "the replica's sync_full, sync_partial_ok"
    );

    assert_eq!(
        cluster.node(promoted).query_text(&["CLUSTER", "FAILOVER"]),
        Ok("OK".to_string()),
        "CLUSTER FAILOVER on the replica"
    );
    for (name, port) in [
        ("the old master", master_port),
        ("the other replica", other_port),
    ] {
        let mut conn = connect(port);
        let mut seen = HashMap::new();
        let follows = eventually(CONVERGE_WAIT, || {
            seen = try_info(&mut conn, "replication").unwrap_or_default();
            seen.get("role").map(String::as_str) == Some("slave")
                && seen.get("master_port") == Some(&promoted_port.to_string())
        });
        assert!(
            follows,
            "{name} (port {port}) never followed the promoted replica (port {promoted_port}): \
             INFO replication {seen:?}"
        );
        wait_caught_up(
            promoted_port,
            port,
            promoted_port,
            &format!("{name} after the failover"),
        );
    }
    wait_for_stat(
        &mut on_promoted,
        "sync_partial_ok",
        2,
        "the new master after the failover",
    );
    assert_eq!(
        syncs(&mut on_promoted),
        (0, 2),
        "the new master's sync_full, sync_partial_ok"
    );
    let new_replid = replication_field(&mut on_promoted, "master_replid");
    assert_ne!(new_replid, old_replid, "the new master's master_replid");
    assert_eq!(
        replication_field(&mut on_promoted, "master_replid2"),
        old_replid,
        "the new master's master_replid2"
    );
    for (name, port) in [
        ("the old master", master_port),
        ("the other replica", other_port),
    ] {
        assert_same_data(promoted_port, port, &format!("{name} after the failover"));
        assert_eq!(
            replication_field(&mut connect(port), "master_replid"),
            new_replid,
            "{name}'s master_replid after the failover"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// A transaction split across reads.

/// Plays a master's side of the handshake on `stream` (PING, REPLCONF, PSYNC) and answers
/// PSYNC with `+FULLRESYNC <replid> 0` and an empty RDB (its checksum 0: not checked).
fn fake_master_handshake(stream: &mut std::net::TcpStream, replid: &str) {
    use std::io::{Read, Write};
    let mut seen = Vec::new();
    let mut answered = 0;
    let mut chunk = [0u8; 4096];
    loop {
        let read = stream.read(&mut chunk).expect("read from the replica");
        assert!(
            read > 0,
            "the replica closed during the handshake: {seen:?}"
        );
        seen.extend_from_slice(&chunk[..read]);
        let text = String::from_utf8_lossy(&seen).to_ascii_uppercase();
        // Answer each command once it is whole (its last argument read).
        let commands: Vec<&str> = text.split('*').filter(|c| !c.is_empty()).collect();
        let complete = |c: &str| {
            let lines: Vec<&str> = c.split("\r\n").collect();
            let count: usize = lines[0].parse().unwrap_or(usize::MAX);
            lines.len() > 2 * count + 1 || (lines.len() == 2 * count + 2)
        };
        while answered < commands.len() && complete(commands[answered]) {
            let command = commands[answered];
            answered += 1;
            let name = command.split("\r\n").nth(2).unwrap_or("");
            if name == "PSYNC" {
                let mut reply = format!("+FULLRESYNC {replid} 0\r\n").into_bytes();
                let rdb = b"REDIS0009\xff\0\0\0\0\0\0\0\0";
                reply.extend_from_slice(format!("${}\r\n", rdb.len()).as_bytes());
                reply.extend_from_slice(rdb);
                stream.write_all(&reply).expect("FULLRESYNC to the replica");
                return;
            }
            let reply: &[u8] = if command.contains("PING") {
                b"+PONG\r\n"
            } else {
                b"+OK\r\n"
            };
            stream.write_all(reply).expect("reply to the replica");
        }
    }
}

/// A replica applies a transaction when its EXEC arrives, and only then counts it in its offset
/// and passes it on: a master's MULTI and SET read without their EXEC leave the replica's
/// `slave_repl_offset`, and its own replica, where they were. The master is this test, on a
/// socket; the replica under test has a redis-server replica of its own.
#[test]
fn a_replica_passes_a_transaction_on_once_its_exec_ran() {
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the fake master");
    let master_port = listener
        .local_addr()
        .expect("local addr")
        .port()
        .to_string();
    let replica = start(&["--replicaof", "127.0.0.1", &master_port]);
    let (mut stream, _) = listener.accept().expect("the replica connects");
    fake_master_handshake(&mut stream, &"f".repeat(40));
    let sub =
        common::RedisServer::start_with(&["--replicaof", "127.0.0.1", &replica.port().to_string()]);

    let first = encode_cmd(&[b"SET", b"before", b"1"]);
    stream.write_all(&first).expect("SET to the replica");
    let before = first.len().to_string();
    let mut to_replica = replica.client();
    let mut to_sub = sub.client();
    let applied = eventually(SYNC_WAIT, || {
        replication_field(&mut to_replica, "master_repl_offset") == before
    });
    assert!(applied, "the replica never applied the first SET");
    wait_caught_up(
        replica.port(),
        sub.port(),
        replica.port(),
        "after the first SET",
    );
    assert_eq!(replication_field(&mut to_sub, "slave_repl_offset"), before);

    let mut open = encode_cmd(&[b"MULTI"]);
    open.extend(encode_cmd(&[b"SET", b"inside", b"1"]));
    stream.write_all(&open).expect("MULTI to the replica");
    // Nothing tells when the replica has read them (a GETACK would be queued in the
    // transaction): give it time to.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        replication_field(&mut to_replica, "slave_repl_offset"),
        before,
        "the replica's offset with MULTI and SET read, no EXEC"
    );
    let exists: i64 = redis::cmd("EXISTS")
        .arg("inside")
        .query(&mut to_sub)
        .unwrap();
    assert_eq!(
        exists, 0,
        "the sub-replica got the transaction before its EXEC"
    );

    let exec = encode_cmd(&[b"EXEC"]);
    stream.write_all(&exec).expect("EXEC to the replica");
    let total = (first.len() + open.len() + exec.len()).to_string();
    let applied = eventually(SYNC_WAIT, || {
        replication_field(&mut to_sub, "slave_repl_offset") == total
    });
    assert!(applied, "the sub-replica never reached offset {total}");
    let value: Option<String> = redis::cmd("GET").arg("inside").query(&mut to_sub).unwrap();
    assert_eq!(
        value.as_deref(),
        Some("1"),
        "the transaction's SET on the sub-replica"
    );
    assert_eq!(
        replication_field(&mut to_replica, "slave_repl_offset"),
        total
    );
}

// ---------------------------------------------------------------------------------------------
// Restarts: the RDB file's `repl-id` and `repl-offset`.

/// A replica shut down with a save and started again on its file asks its master to continue
/// from where the file stands, and gets a partial resync: the master's `sync_full` stays 1 and
/// `sync_partial_ok` is 1, the replica loads no snapshot from it, and writes made while it was
/// down reach it.
#[test]
fn a_restarted_replica_continues_with_a_partial_resync() {
    let master = start(&[]);
    let mut to_master = master.client();
    let data = TempDir::new("psync2-replica");
    let port = master.port().to_string();
    let args = [
        "--save",
        "",
        "--repl-diskless-sync-delay",
        "0",
        "--replicaof",
        "127.0.0.1",
        &port,
    ];
    let mut replica = Server::start_in(data.path(), &args);
    write_mixed(&mut to_master, "first", 200);
    wait_in_sync(&master, &replica, "before the restart");
    assert_eq!(
        syncs(&mut to_master),
        (1, 0),
        "the master's syncs before the restart"
    );
    shutdown(&mut replica, &["SAVE"], SYNC_WAIT);
    write_mixed(&mut to_master, "while-down", 100);

    let replica = Server::start_in(data.path(), &args);
    wait_in_sync(&master, &replica, "after the restart");
    assert_eq!(
        syncs(&mut to_master),
        (1, 1),
        "the master's syncs after the restart"
    );
    assert_eq!(
        log_count(&replica, CONTINUED),
        1,
        "partial resyncs the replica logged"
    );
    assert_eq!(
        log_count(&replica, LOADED),
        0,
        "snapshots the restarted replica loaded"
    );
    write_mixed(&mut to_master, "after", 100);
    wait_in_sync(&master, &replica, "after more writes");
    assert_same_data(master.port(), replica.port(), "after the restart");
}

/// A master shut down with a save and started again on its file (on a new port) keeps its old
/// stream as `master_replid2` up to its offset + 1: its replica, told to follow it there,
/// continues with a partial resync (`sync_full` 0, `sync_partial_ok` 1).
#[test]
fn a_restarted_master_lets_its_replica_continue() {
    let data = TempDir::new("psync2-master");
    let args = ["--save", "", "--repl-diskless-sync-delay", "0"];
    let mut master = Server::start_in(data.path(), &args);
    let replica = start_replica(&master);
    let mut to_master = master.client();
    write_mixed(&mut to_master, "first", 200);
    wait_in_sync(&master, &replica, "before the restart");
    let old_id = replication_field(&mut to_master, "master_replid");
    let offset: i64 = replication_field(&mut to_master, "master_repl_offset")
        .parse()
        .expect("master_repl_offset");
    drop(to_master);
    shutdown(&mut master, &["SAVE"], SYNC_WAIT);

    let master = Server::start_in(data.path(), &args);
    let mut to_master = master.client();
    assert_eq!(
        replication_field(&mut to_master, "master_replid2"),
        old_id,
        "the restarted master's master_replid2"
    );
    // Redis's SHUTDOWN sends its replicas a REPLCONF GETACK before it saves: the file may
    // stand a little past the offset read before.
    let restored: i64 = replication_field(&mut to_master, "master_repl_offset")
        .parse()
        .expect("master_repl_offset");
    assert!(
        restored >= offset,
        "the restarted master's master_repl_offset {restored}, before the shutdown {offset}"
    );
    assert_eq!(
        replication_field(&mut to_master, "second_repl_offset"),
        (restored + 1).to_string(),
        "the restarted master's second_repl_offset"
    );
    follow(&replica, &master);
    wait_in_sync(&master, &replica, "after the master's restart");
    assert_eq!(
        syncs(&mut to_master),
        (0, 1),
        "the restarted master's syncs"
    );
    write_mixed(&mut to_master, "after", 100);
    wait_in_sync(&master, &replica, "after more writes");
    assert_same_data(master.port(), replica.port(), "after the master's restart");
}

/// A replica with save points saves when its master's FLUSHALL reaches it, as Redis's does
/// (flushAllDataAndResetRDB), while its master link is applying that FLUSHALL: the save must
/// not wait for the link, and the link goes on with the writes that follow.
#[test]
fn a_replica_with_save_points_goes_on_after_its_masters_flushall() {
    let master = start(&[]);
    let port = master.port().to_string();
    let replica = Server::start(&["--save", "3600 1", "--replicaof", "127.0.0.1", &port]);
    let mut to_master = master.client();
    write_mixed(&mut to_master, "before", 50);
    wait_in_sync(&master, &replica, "before FLUSHALL");
    assert_eq!(run(&mut to_master, &["FLUSHALL"]), Value::Okay, "FLUSHALL");
    write_mixed(&mut to_master, "after", 50);
    wait_in_sync(&master, &replica, "after FLUSHALL");
    assert_same_data(master.port(), replica.port(), "after FLUSHALL");
}
