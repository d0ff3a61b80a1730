//! slotcore as a replication master, with real redis-server 7.0 processes as its replicas
//! (`--replicaof 127.0.0.1 MASTER_PORT`): a full resync carries every type, expiry and stream
//! group; the command stream that follows keeps the replica identical through the commands
//! Redis rewrites for replication, blocking pops, transactions, scripts, FLUSHALL and keys the
//! master expires; a dropped link resumes with a partial resync; INFO replication, ROLE and
//! WAIT see the replicas; `redis-cli --rdb` gets a valid file; and writes racing a full resync
//! reach the replica exactly once.
//!
//! The master is slotcore with 2 shard cores (`SLOTCORE_TEST_TARGET=redis`: redis-server); the
//! replicas are always redis-server. Each comparison reads both keyspaces whole
//! ([`common::dataset`]) once the replica's `slave_repl_offset` has caught up with the master's
//! `master_repl_offset`.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::dataset::{assert_same_keyspace, snapshot, Copied, Dataset};
use common::every_type::{commands_for, names_on_both_cores, KINDS};
use common::{
    eventually, info, info_number, key_slot, redis_cli, run_tool, show, spread_keys, try_info,
    RawConn, RedisServer, Server, TempDir, TOOL_TIMEOUT,
};
use redis::{Connection, Value};

/// How long anything asynchronous may take: a replica's sync, a reconnection, a key expiring.
const SYNC_WAIT: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------------
// Masters, replicas, INFO.

/// The master under test: slotcore with 2 shard cores (or redis-server), no save points, and
/// no wait before a diskless full resync starts (Redis waits 5 s for more replicas).
fn start_master() -> Server {
    Server::start(&["--save", "", "--repl-diskless-sync-delay", "0"])
}

/// A redis-server replica of `master`.
fn start_replica(master: &Server) -> Server {
    let port = master.port().to_string();
    RedisServer::start_with(&["--replicaof", "127.0.0.1", &port])
}

/// A slotcore replica of `master` (2 shard cores; redis-server with
/// `SLOTCORE_TEST_TARGET=redis`).
fn start_slotcore_replica(master: &Server) -> Server {
    let port = master.port().to_string();
    Server::start(&["--save", "", "--replicaof", "127.0.0.1", &port])
}

/// Waits until `replica`'s link to `master` is up and the replica has applied everything the
/// master has sent (its `slave_repl_offset` equals the master's `master_repl_offset`).
fn wait_in_sync(master: &Server, replica: &Server, what: &str) {
    common::wait_caught_up(master.port(), replica.port(), None, SYNC_WAIT, what);
}

/// Waits until the replica is in sync and asserts its keyspace is the master's; returns the
/// master's dataset.
fn assert_replica_matches(
    master: &Server,
    replica: &Server,
    copied: Copied,
    what: &str,
) -> Dataset {
    wait_in_sync(master, replica, what);
    assert_same_keyspace(
        &mut master.client(),
        &mut replica.client(),
        copied,
        &format!(
            "{what}: the replica's keyspace against the {} master's",
            master.name()
        ),
    )
}

// ---------------------------------------------------------------------------------------------
// Small helpers.

fn now_ms() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970");
    i64::try_from(since_epoch.as_millis()).expect("milliseconds fit i64")
}

/// [`names_on_both_cores`] as text: `[even slot, odd slot]`.
fn pair(prefix: &str) -> [String; 2] {
    names_on_both_cores(prefix.as_bytes()).map(|name| String::from_utf8(name).expect("text"))
}

/// Runs a command given as text arguments; panics on an error reply.
fn run(conn: &mut Connection, args: &[&str]) -> Value {
    let mut cmd = redis::cmd(args[0]);
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    cmd.query(conn)
        .unwrap_or_else(|e| panic!("{args:?} on the master: {e}"))
}

/// Runs a command given as byte-string arguments; panics on an error reply.
fn run_bytes(conn: &mut Connection, args: &[&[u8]]) -> Value {
    let mut cmd = redis::cmd(&String::from_utf8_lossy(args[0]));
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    cmd.query(conn).unwrap_or_else(|e| {
        let shown: Vec<String> = args.iter().map(|a| show(a)).collect();
        panic!("{shown:?} on the master: {e}")
    })
}

/// Runs a command and asserts its reply.
fn expect(conn: &mut Connection, args: &[&str], reply: Value) {
    assert_eq!(run(conn, args), reply, "{args:?}");
}

fn bulk(text: &str) -> Value {
    Value::BulkString(text.as_bytes().to_vec())
}

fn int(n: i64) -> Value {
    Value::Int(n)
}

/// Sets its flag when dropped: background writers stop even when the test panics.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

// ---------------------------------------------------------------------------------------------
// A dataset with every type, encoding and expiry an RDB file carries.

/// The kinds whose keys also get an expiry (PEXPIREAT, some hours to days ahead).
const VOLATILE: &[&str] = &[
    "int-small",
    "embstr",
    "compressible",
    "hll-dense",
    "list-big",
    "hash-small",
    "hash-big",
    "set-ints",
    "set-big",
    "zset-big",
    "stream",
];

/// Keys with binary names: the kind of value and the name's prefix.
const BINARY_NAMES: &[(&str, &[u8])] = &[
    ("binary", b"\x00\xffbinary name\r\n"),
    ("int-small", b"\xfe\x00int"),
    ("hash-small", b"\x01hash\x02"),
    ("zset-small", b"zset \x7f\x80"),
];

/// How many plain string keys spread over the slot space [`fill_every_type`] adds.
const SPREAD: usize = 128;

/// Fills a server with a key of every kind in [`KINDS`] on each shard core, binary key names,
/// expiries on the [`VOLATILE`] kinds, and small strings over many slots.
fn fill_every_type(conn: &mut Connection) {
    let mut keys: Vec<(&str, Vec<u8>)> = Vec::new();
    for kind in KINDS {
        keys.extend(names_on_both_cores(kind.as_bytes()).map(|name| (*kind, name)));
    }
    for (kind, prefix) in BINARY_NAMES {
        keys.extend(names_on_both_cores(prefix).map(|name| (*kind, name)));
    }
    let expire_at_ms = now_ms() + 3 * 3600 * 1000;
    let mut pipe = redis::pipe();
    for (index, (kind, key)) in keys.iter().enumerate() {
        for command in commands_for(kind, key) {
            pipe.add_command(command).ignore();
        }
        if VOLATILE.contains(kind) {
            let at = expire_at_ms + 100_000 * index as i64 + 7;
            pipe.cmd("PEXPIREAT").arg(key).arg(at).ignore();
        }
    }
    for key in spread_keys("spread", SPREAD) {
        pipe.cmd("SET")
            .arg(&key)
            .arg(format!("value of {key}"))
            .ignore();
    }
    let () = pipe.query(conn).expect("fill the dataset");
}

/// Asserts `dataset` is the whole of what [`fill_every_type`] wrote, over both cores.
fn assert_dataset_is_full(dataset: &Dataset, what: &str) {
    let kinds: Vec<&str> = KINDS
        .iter()
        .copied()
        .chain(BINARY_NAMES.iter().map(|(kind, _)| *kind))
        .collect();
    let volatile_kinds = kinds.iter().filter(|kind| VOLATILE.contains(kind)).count();
    let volatile = dataset.values().filter(|s| s.expire_at_ms >= 0).count();
    assert_eq!(dataset.len(), SPREAD + 2 * kinds.len(), "{what}: keys");
    assert_eq!(volatile, 2 * volatile_kinds, "{what}: keys with an expiry");
    let parities: BTreeSet<u16> = dataset.keys().map(|key| key_slot(key) % 2).collect();
    assert_eq!(parities.len(), 2, "{what}: keys in both even and odd slots");
    let types: BTreeSet<&str> = dataset.values().map(|s| s.kind.as_str()).collect();
    let all = ["hash", "list", "set", "stream", "string", "zset"];
    assert_eq!(types, all.into_iter().collect(), "{what}: TYPEs");
}

// ---------------------------------------------------------------------------------------------
// 1. Full resync.

/// A replica that attaches to a master already holding every type (int-encoded, binary and
/// compressible strings, HyperLogLogs, lists, hashes, sets and sorted sets in both encodings,
/// streams with consumer groups and pending entries, binary key names, expiries) gets all of
/// it in its full resync: the same keys, types, encodings, absolute expiries, contents and
/// DUMP payloads, streams' group counters and consumers' seen times included. The sync is
/// diskless (Redis 7.0's default): the master writes no `dump.rdb`.
#[test]
fn full_resync_copies_every_type() {
    full_resync_copies_every_type_with(&[]);
}

/// The same with `repl-diskless-sync no`: the snapshot goes to `dump.rdb`, then to the replica.
#[test]
fn full_resync_from_disk_copies_every_type() {
    full_resync_copies_every_type_with(&["--repl-diskless-sync", "no"]);
}

fn full_resync_copies_every_type_with(extra: &[&str]) {
    let mut args = vec!["--save", "", "--repl-diskless-sync-delay", "0"];
    args.extend_from_slice(extra);
    let master = Server::start(&args);
    let diskless = extra.is_empty();
    let mut conn = master.client();
    fill_every_type(&mut conn);
    let before = snapshot(&mut conn, Copied::BySnapshot);
    assert_dataset_is_full(&before, master.name());

    let replica = start_replica(&master);
    let after =
        assert_replica_matches(&master, &replica, Copied::BySnapshot, "after a full resync");
    assert_dataset_is_full(&after, "the master after the resync");
    assert_eq!(
        info_number(&mut conn, "stats", "sync_full"),
        1,
        "sync_full on the master after one replica's first sync"
    );
    let role: Value = redis::cmd("ROLE").query(&mut replica.client()).unwrap();
    let Value::Array(fields) = &role else {
        panic!("the replica's ROLE: {role:?}");
    };
    assert_eq!(
        fields.get(3),
        Some(&bulk("connected")),
        "replica ROLE {role:?}"
    );
    let dump = master.dir().join("dump.rdb");
    assert_eq!(
        dump.exists(),
        !diskless,
        "{} after a {} sync",
        dump.display(),
        if diskless { "diskless" } else { "disk-based" }
    );
}

// ---------------------------------------------------------------------------------------------
// 2. The command stream.

/// What blocking and later serving one blocked command takes: the command, the write another
/// client makes to serve it, and what the reply's text must start with.
struct Blocked<'a> {
    command: &'a [&'a str],
    serve: &'a [&'a str],
    reply_starts: &'a str,
}

/// Sends each blocking command on a connection of its own, waits until the master counts it
/// blocked, serves it with a write from another client, and checks its reply.
fn block_then_serve(master: &Server, conn: &mut Connection, blocked: &[Blocked]) {
    for case in blocked {
        let mut waiting = RawConn::new(master.raw());
        let args: Vec<&[u8]> = case.command.iter().map(|a| a.as_bytes()).collect();
        waiting.send_cmd(&args);
        let mut clients = HashMap::new();
        let blocked_now = eventually(SYNC_WAIT, || {
            clients = info(conn, "clients");
            clients.get("blocked_clients").map(String::as_str) == Some("1")
        });
        assert!(
            blocked_now,
            "{:?} did not block: INFO clients {clients:?}",
            case.command
        );
        run(conn, case.serve);
        let reply = waiting.read_frame().unwrap_or_else(|e| {
            panic!("{:?} not served after {:?}: {e}", case.command, case.serve)
        });
        let reply = show(&reply);
        assert!(
            reply.starts_with(case.reply_starts),
            "{:?} served by {:?}: {reply:?}",
            case.command,
            case.serve
        );
    }
}

/// Strings and expiries, including every command Redis rewrites for its replicas because it
/// is relative to the time (SET EX/PX/EXAT/KEEPTTL/GET, SETEX, PSETEX, GETEX, EXPIRE,
/// PEXPIRE, EXPIREAT, an expiry in the past, which deletes) or to the value (INCRBYFLOAT).
fn write_strings(conn: &mut Connection) {
    let now_s = now_ms() / 1000;
    let at_s = |ahead: i64| (now_s + ahead).to_string();
    let at_ms = |ahead: i64| (now_ms() + ahead).to_string();
    let [a, b] = pair("str:plain");
    expect(conn, &["SET", &a, "v"], Value::Okay);
    expect(conn, &["SET", &b, "v", "EX", "1000"], Value::Okay);
    expect(conn, &["SET", "str:px", "v", "PX", "1000000"], Value::Okay);
    expect(
        conn,
        &["SET", "str:exat", "v", "EXAT", &at_s(5000)],
        Value::Okay,
    );
    expect(
        conn,
        &["SET", "str:pxat", "v", "PXAT", &at_ms(6_000_000)],
        Value::Okay,
    );
    expect(conn, &["SET", "str:px", "w", "KEEPTTL", "GET"], bulk("v"));
    expect(conn, &["SET", &b, "w", "GET"], bulk("v"));
    expect(
        conn,
        &["SET", "str:px-get", "w", "PX", "123456", "GET"],
        Value::Nil,
    );
    expect(conn, &["SET", "str:nx", "v", "NX"], Value::Okay);
    expect(conn, &["SET", "str:nx", "w", "NX"], Value::Nil);
    expect(
        conn,
        &["SET", "str:nx", "x", "XX", "EX", "900"],
        Value::Okay,
    );
    expect(conn, &["SETEX", "str:setex", "1000", "v"], Value::Okay);
    expect(conn, &["PSETEX", "str:psetex", "1000000", "v"], Value::Okay);
    expect(conn, &["GETSET", &a, "v3"], bulk("v"));
    expect(conn, &["SET", "str:getex", "v"], Value::Okay);
    expect(conn, &["GETEX", "str:getex", "EX", "2000"], bulk("v"));
    expect(conn, &["SET", "str:getex-px", "v"], Value::Okay);
    expect(conn, &["GETEX", "str:getex-px", "PX", "2000000"], bulk("v"));
    expect(
        conn,
        &["SET", "str:getex-persist", "v", "EX", "100"],
        Value::Okay,
    );
    expect(conn, &["GETEX", "str:getex-persist", "PERSIST"], bulk("v"));
    expect(conn, &["SET", "str:getex-past", "v"], Value::Okay);
    expect(
        conn,
        &["GETEX", "str:getex-past", "PXAT", "1000"],
        bulk("v"),
    );
    expect(conn, &["SET", "str:persist", "v", "EX", "500"], Value::Okay);
    expect(conn, &["PERSIST", "str:persist"], int(1));
    for (key, command, ttl) in [
        ("str:expire", "EXPIRE", "3000".to_string()),
        ("str:pexpire", "PEXPIRE", "4000000".to_string()),
        ("str:expireat", "EXPIREAT", at_s(7000)),
        ("str:pexpireat", "PEXPIREAT", at_ms(8_000_000)),
    ] {
        expect(conn, &["SET", key, "v"], Value::Okay);
        expect(conn, &[command, key, &ttl], int(1));
    }
    expect(conn, &["SET", "str:expire-flags", "v"], Value::Okay);
    expect(conn, &["EXPIRE", "str:expire-flags", "100", "NX"], int(1));
    expect(conn, &["EXPIRE", "str:expire-flags", "50", "GT"], int(0));
    expect(
        conn,
        &["PEXPIRE", "str:expire-flags", "200000", "GT"],
        int(1),
    );
    // An expiry in the past deletes the key at once.
    for (key, command, when) in [
        ("str:past-expireat", "EXPIREAT", "1000"),
        ("str:past-pexpire", "PEXPIRE", "-1"),
        ("str:past-expire", "EXPIRE", "0"),
    ] {
        expect(conn, &["SET", key, "v", "EX", "100"], Value::Okay);
        expect(conn, &[command, key, when], int(1));
        expect(conn, &["EXISTS", key], int(0));
    }
    expect(conn, &["SET", "str:float", "10.5"], Value::Okay);
    expect(conn, &["INCRBYFLOAT", "str:float", "0.1"], bulk("10.6"));
    // 3010.60000000000000009 in Redis's long double: the replica must get that string.
    run(conn, &["INCRBYFLOAT", "str:float", "3.0e3"]);
    expect(conn, &["INCRBYFLOAT", "str:float-new", "1.5"], bulk("1.5"));
    expect(conn, &["INCRBYFLOAT", "str:float-new", "1.5"], bulk("3"));
    expect(
        conn,
        &["SET", "str:float-ttl", "1", "EX", "1000"],
        Value::Okay,
    );
    expect(
        conn,
        &["INCRBYFLOAT", "str:float-ttl", "2.25"],
        bulk("3.25"),
    );
    expect(conn, &["SET", "str:int", "5"], Value::Okay);
    expect(conn, &["INCR", "str:int"], int(6));
    expect(conn, &["INCRBY", "str:int", "100"], int(106));
    expect(conn, &["DECR", "str:int"], int(105));
    expect(conn, &["DECRBY", "str:int", "7"], int(98));
    expect(conn, &["INCR", "str:counter"], int(1));
    expect(conn, &["APPEND", "str:append", "hello"], int(5));
    expect(conn, &["APPEND", "str:append", " world"], int(11));
    expect(conn, &["SETRANGE", "str:append", "20", "!"], int(21));
    expect(conn, &["SETRANGE", "str:setrange", "5", "x"], int(6));
    expect(conn, &["SETNX", "str:setnx", "v"], int(1));
    expect(conn, &["SET", "str:getdel", "v"], Value::Okay);
    expect(conn, &["GETDEL", "str:getdel"], bulk("v"));
    let spread = spread_keys("mset", 8);
    let mut mset = vec!["MSET"];
    for key in &spread {
        mset.extend([key.as_str(), key.as_str()]);
    }
    expect(conn, &mset, Value::Okay);
    let [x, y] = pair("msetnx");
    expect(conn, &["MSETNX", &x, "1", &y, "2"], int(1));
    let binary_key: &[u8] = b"\x00bin\xff\r\nkey";
    run_bytes(conn, &[b"SET", binary_key, b"\x00\r\n\xffvalue"]);
    run_bytes(conn, &[b"APPEND", binary_key, b"\x00\x01"]);
    let [bits_a, bits_b] = pair("bits");
    expect(conn, &["SETBIT", &bits_a, "7", "1"], int(0));
    expect(conn, &["SETBIT", &bits_a, "100", "1"], int(0));
    expect(conn, &["SETBIT", &bits_b, "3", "1"], int(0));
    for (op, dest) in [("AND", "bits:and"), ("OR", "bits:or"), ("XOR", "bits:xor")] {
        run(conn, &["BITOP", op, dest, &bits_a, &bits_b]);
    }
    run(conn, &["BITOP", "NOT", "bits:not", &bits_a]);
    run(
        conn,
        &[
            "BITFIELD",
            "bits:field",
            "SET",
            "u8",
            "0",
            "255",
            "INCRBY",
            "u8",
            "0",
            "10",
        ],
    );
    let [hll_a, hll_b] = pair("hll");
    expect(conn, &["PFADD", &hll_a, "a", "b", "c"], int(1));
    expect(conn, &["PFADD", &hll_b, "c", "d", "e"], int(1));
    expect(
        conn,
        &["PFMERGE", "hll:merged", &hll_a, &hll_b],
        Value::Okay,
    );
    // PFCOUNT writes the cardinality it caches into the value, and Redis passes it on.
    expect(conn, &["PFCOUNT", &hll_a], int(3));
    let mut dense = vec!["PFADD".to_string(), "hll:dense".to_string()];
    dense.extend((0..3000).map(|i| format!("e{i}")));
    let dense: Vec<&str> = dense.iter().map(String::as_str).collect();
    expect(conn, &dense, int(1));
}

/// Hashes, sets (SPOP's three ways: one member, a count, a count that empties the set), lists,
/// sorted sets, and the commands that store a result, with keys on both cores.
fn write_collections(conn: &mut Connection) {
    let [h, h2] = pair("hash");
    expect(
        conn,
        &["HSET", &h, "f1", "v1", "f2", "v2", "f3", "v3"],
        int(3),
    );
    expect(conn, &["HDEL", &h, "f1"], int(1));
    expect(conn, &["HINCRBY", &h, "n", "5"], int(5));
    expect(conn, &["HINCRBYFLOAT", &h, "fl", "2.5"], bulk("2.5"));
    expect(conn, &["HINCRBYFLOAT", &h, "fl", "0.1"], bulk("2.6"));
    expect(conn, &["HSETNX", &h, "f2", "x"], int(0));
    let mut big = vec!["HSET".to_string(), h2.clone()];
    big.extend((0..600).flat_map(|i| [format!("f{i}"), format!("v{i}")]));
    let big: Vec<&str> = big.iter().map(String::as_str).collect();
    expect(conn, &big, int(600));
    expect(conn, &["HDEL", &h2, "f1", "f2", "f3"], int(3));

    let [ints, strs] = pair("set");
    let members: Vec<String> = (1..=20).map(|i| i.to_string()).collect();
    let mut sadd = vec!["SADD", &ints];
    sadd.extend(members.iter().map(String::as_str));
    expect(conn, &sadd, int(20));
    let letters: Vec<String> = ('a'..='m').map(String::from).collect();
    let mut sadd = vec!["SADD", &strs];
    sadd.extend(letters.iter().map(String::as_str));
    expect(conn, &sadd, int(13));
    expect(conn, &["SREM", &strs, "a", "b"], int(2));
    assert!(matches!(run(conn, &["SPOP", &strs]), Value::BulkString(_)));
    run(conn, &["SPOP", &ints, "3"]);
    expect(conn, &["SADD", "set:small", "x", "y", "z"], int(3));
    run(conn, &["SPOP", "set:small", "10"]);
    expect(conn, &["EXISTS", "set:small"], int(0));
    let many: Vec<String> = (0..700).map(|i| format!("m{i}")).collect();
    let mut sadd = vec!["SADD", "set:big"];
    sadd.extend(many.iter().map(String::as_str));
    expect(conn, &sadd, int(700));
    run(conn, &["SPOP", "set:big", "5"]);
    // Most of what is left: Redis builds the remainder as a new set here.
    run(conn, &["SPOP", "set:big", "600"]);
    let [src, dst] = pair("smove");
    expect(conn, &["SADD", &src, "100", "200", "300"], int(3));
    expect(conn, &["SMOVE", &src, &dst, "200"], int(1));
    let [sa, sb] = pair("setop");
    expect(conn, &["SADD", &sa, "1", "2", "3", "x"], int(4));
    expect(conn, &["SADD", &sb, "2", "3", "4", "x", "y"], int(5));
    expect(conn, &["SINTERSTORE", "set:inter", &sa, &sb], int(3));
    expect(conn, &["SUNIONSTORE", "set:union", &sa, &sb], int(6));
    expect(conn, &["SDIFFSTORE", "set:diff", &sa, &sb], int(1));

    let [la, lb] = pair("list");
    expect(conn, &["LPUSH", &la, "a", "b", "c", "d", "e", "f"], int(6));
    expect(conn, &["RPUSH", &la, "1", "2", "3"], int(9));
    expect(conn, &["LPOP", &la], bulk("f"));
    run(conn, &["RPOP", &la, "2"]);
    expect(conn, &["RPOPLPUSH", &la, &lb], bulk("1"));
    expect(conn, &["LMOVE", &la, &lb, "LEFT", "RIGHT"], bulk("e"));
    expect(conn, &["LINSERT", &la, "BEFORE", "c", "x"], int(5));
    expect(conn, &["LSET", &la, "0", "first"], Value::Okay);
    expect(conn, &["LREM", &la, "0", "b"], int(1));
    expect(conn, &["LPUSHX", &lb, "pushed"], int(3));
    expect(conn, &["RPUSHX", "list:none", "x"], int(0));
    run(
        conn,
        &["LMPOP", "2", "list:none", &la, "LEFT", "COUNT", "2"],
    );
    let items: Vec<String> = (0..2000).map(|i| i.to_string()).collect();
    let mut lpush = vec!["LPUSH", "list:big"];
    lpush.extend(items.iter().map(String::as_str));
    expect(conn, &lpush, int(2000));
    expect(conn, &["LTRIM", "list:big", "100", "1500"], Value::Okay);

    let [za, zb] = pair("zset");
    run(
        conn,
        &[
            "ZADD", &za, "1", "a", "2", "b", "3", "c", "4", "d", "5", "e",
        ],
    );
    expect(conn, &["ZINCRBY", &za, "1.5", "a"], bulk("2.5"));
    run(conn, &["ZPOPMIN", &za]);
    run(conn, &["ZPOPMAX", &za, "1"]);
    run(conn, &["ZMPOP", "2", "zset:none", &za, "MIN", "COUNT", "1"]);
    run(conn, &["ZADD", &zb, "10", "a", "20", "x", "-0.5", "y"]);
    let args = [
        "ZUNIONSTORE",
        "zset:union",
        "2",
        &za,
        &zb,
        "WEIGHTS",
        "1",
        "2",
        "AGGREGATE",
        "MAX",
    ];
    run(conn, &args);
    run(conn, &["ZINTERSTORE", "zset:inter", "2", &za, &zb]);
    run(conn, &["ZRANGESTORE", "zset:range", "zset:union", "0", "1"]);
    run(conn, &["ZREM", "zset:union", "y"]);
    let scores: Vec<String> = (0..300)
        .flat_map(|i| [format!("{}", i * 3), format!("m{i}")])
        .collect();
    let mut zadd = vec!["ZADD", "zset:big"];
    zadd.extend(scores.iter().map(String::as_str));
    expect(conn, &zadd, int(300));
    expect(conn, &["ZREMRANGEBYSCORE", "zset:big", "0", "30"], int(11));
    expect(conn, &["ZREMRANGEBYRANK", "zset:big", "0", "9"], int(10));
    expect(conn, &["RPUSH", "sort:src", "3", "1", "2", "10"], int(4));
    expect(conn, &["SORT", "sort:src", "STORE", "sort:numeric"], int(4));
    let args = [
        "SORT",
        "sort:src",
        "ALPHA",
        "DESC",
        "LIMIT",
        "0",
        "3",
        "STORE",
        "sort:alpha",
    ];
    expect(conn, &args, int(3));
}

/// Key commands (COPY, RENAME, RESTORE with a relative TTL, DEL and UNLINK over both cores),
/// MULTI/EXEC blocks and scripts that write several keys.
fn write_keys_transactions_scripts(conn: &mut Connection) {
    let [src, copy] = pair("copy");
    expect(conn, &["SET", &src, "v", "EX", "1000"], Value::Okay);
    expect(conn, &["COPY", &src, &copy], int(1));
    expect(conn, &["SET", &src, "w"], Value::Okay);
    expect(conn, &["COPY", &src, &copy], int(0));
    expect(conn, &["COPY", &src, &copy, "REPLACE"], int(1));
    expect(conn, &["HSET", "copy:hash", "f", "v"], int(1));
    expect(conn, &["COPY", "copy:hash", "copy:hash2"], int(1));
    let [from, to] = pair("rename");
    expect(conn, &["RPUSH", &from, "a", "b"], int(2));
    expect(conn, &["PEXPIRE", &from, "5000000"], int(1));
    expect(conn, &["RENAME", &from, &to], Value::Okay);
    expect(conn, &["SET", "rename:nx", "v"], Value::Okay);
    expect(conn, &["RENAMENX", "rename:nx", &to], int(0));
    expect(conn, &["RENAMENX", "rename:nx", "rename:nx2"], int(1));

    let [h, _] = pair("hash");
    let payload = match run(conn, &["DUMP", &h]) {
        Value::BulkString(bytes) => bytes,
        other => panic!("DUMP of {h}: {other:?}"),
    };
    let restore = |conn: &mut Connection, key: &str, ttl: &str, extra: &[&str]| {
        let mut cmd = redis::cmd("RESTORE");
        cmd.arg(key).arg(ttl).arg(&payload[..]).arg(extra);
        let reply: Value = cmd
            .query(conn)
            .unwrap_or_else(|e| panic!("RESTORE {key} {ttl} {extra:?}: {e}"));
        assert_eq!(reply, Value::Okay, "RESTORE {key}");
    };
    // A relative TTL, which Redis passes on as an absolute one.
    restore(conn, "restored:ttl", "100000", &[]);
    restore(
        conn,
        "restored:abs",
        &(now_ms() + 9_000_000).to_string(),
        &["ABSTTL"],
    );
    restore(conn, "restored:ttl", "200000", &["REPLACE"]);
    restore(conn, "restored:plain", "0", &[]);

    let doomed = spread_keys("doomed", 8);
    for key in &doomed {
        expect(conn, &["SET", key, "v"], Value::Okay);
    }
    let mut del = vec!["DEL"];
    del.extend(doomed[..4].iter().map(String::as_str));
    del.push("doomed:none");
    expect(conn, &del, int(4));
    let mut unlink = vec!["UNLINK"];
    unlink.extend(doomed[4..].iter().map(String::as_str));
    expect(conn, &unlink, int(4));

    let [ta, tb] = pair("tx");
    let mut transaction = redis::pipe();
    transaction
        .atomic()
        .cmd("SET")
        .arg(&ta)
        .arg("1")
        .arg("EX")
        .arg(100)
        .cmd("INCR")
        .arg(&tb)
        .cmd("INCRBYFLOAT")
        .arg(&tb)
        .arg("0.5")
        .cmd("LPUSH")
        .arg("tx:list")
        .arg("x")
        .cmd("SADD")
        .arg("tx:set")
        .arg("m")
        .cmd("EXPIRE")
        .arg(&ta)
        .arg(200)
        .cmd("DEL")
        .arg("tx:none");
    let _: Value = transaction.query(conn).expect("MULTI/EXEC");
    let mut transaction = redis::pipe();
    transaction
        .atomic()
        .cmd("SPOP")
        .arg("tx:set")
        .cmd("RPOPLPUSH")
        .arg("tx:list")
        .arg(&ta);
    // EXEC runs the SPOP and answers WRONGTYPE for the RPOPLPUSH.
    let _: redis::RedisResult<Value> = transaction.query(conn);
    expect(conn, &["EXISTS", "tx:set"], int(0));
    expect(conn, &["LLEN", "tx:list"], int(1));

    let script = "redis.call('SET', KEYS[1], ARGV[1]) \
                  redis.call('INCRBY', KEYS[2], 5) \
                  redis.call('RPUSH', KEYS[3], ARGV[1], ARGV[2]) \
                  redis.call('SET', KEYS[4], 'x', 'EX', 100) \
                  redis.call('HINCRBYFLOAT', KEYS[5], 'f', '1.5') \
                  redis.call('DEL', KEYS[6]) \
                  return 1";
    expect(conn, &["SET", "{script}:gone", "v"], Value::Okay);
    let keys = [
        "{script}:s",
        "{script}:n",
        "{script}:l",
        "{script}:ex",
        "{script}:h",
        "{script}:gone",
    ];
    let mut eval = vec!["EVAL", script, "6"];
    eval.extend(keys);
    eval.extend(["one", "two"]);
    expect(conn, &eval, int(1));
    expect(conn, &eval, int(1));
}

/// Streams: XADD with `*` ids, with MAXLEN ~ and NOMKSTREAM; consumer groups with XREADGROUP
/// (with and without BLOCK and NOACK, and one blocked until another client adds), XACK,
/// XCLAIM (of a deleted entry too), XAUTOCLAIM, XTRIM, XDEL, XGROUP SETID and DELCONSUMER.
fn write_streams(master: &Server, conn: &mut Connection) {
    let [st, capped] = pair("stream");
    let mut ids = Vec::new();
    for i in 0..5 {
        match run(conn, &["XADD", &st, "*", "f", &i.to_string()]) {
            Value::BulkString(id) => ids.push(String::from_utf8(id).unwrap()),
            other => panic!("XADD reply {other:?}"),
        }
    }
    for i in 0..300 {
        run(
            conn,
            &[
                "XADD",
                &capped,
                "MAXLEN",
                "~",
                "10",
                "*",
                "n",
                &i.to_string(),
            ],
        );
    }
    run(
        conn,
        &["XADD", &capped, "MAXLEN", "=", "150", "*", "n", "last"],
    );
    expect(
        conn,
        &["XADD", "stream:none", "NOMKSTREAM", "*", "f", "v"],
        Value::Nil,
    );
    expect(conn, &["EXISTS", "stream:none"], int(0));
    run(conn, &["XADD", &st, "NOMKSTREAM", "*", "f", "nomkstream"]);
    expect(conn, &["XGROUP", "CREATE", &st, "g", "0"], Value::Okay);
    expect(
        conn,
        &["XGROUP", "CREATE", "stream:new", "g2", "$", "MKSTREAM"],
        Value::Okay,
    );
    expect(conn, &["XGROUP", "CREATECONSUMER", &st, "g", "zed"], int(1));
    let read = run(
        conn,
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "alice",
            "COUNT",
            "2",
            "STREAMS",
            &st,
            ">",
        ],
    );
    assert!(
        matches!(read, Value::Array(ref s) if !s.is_empty()),
        "XREADGROUP: {read:?}"
    );
    let args = [
        "XREADGROUP",
        "GROUP",
        "g",
        "bob",
        "COUNT",
        "2",
        "BLOCK",
        "1000",
        "STREAMS",
        &st,
        ">",
    ];
    let read = run(conn, &args);
    assert!(
        matches!(read, Value::Array(ref s) if !s.is_empty()),
        "XREADGROUP BLOCK: {read:?}"
    );
    expect(conn, &["XACK", &st, "g", &ids[0]], int(1));
    run(conn, &["XCLAIM", &st, "g", "carol", "0", &ids[1]]);
    run(conn, &["XCLAIM", &st, "g", "carol", "0", &ids[2], "JUSTID"]);
    run(
        conn,
        &["XAUTOCLAIM", &st, "g", "dave", "0", "0-0", "COUNT", "1"],
    );
    run(conn, &["XADD", &st, "*", "f", "more"]);
    expect(conn, &["XDEL", &st, &ids[4]], int(1));
    run(conn, &["XTRIM", &st, "MAXLEN", "4"]);
    expect(conn, &["XGROUP", "CREATE", &st, "g3", "0"], Value::Okay);
    run(
        conn,
        &["XREADGROUP", "GROUP", "g3", "erin", "STREAMS", &st, ">"],
    );
    expect(conn, &["XGROUP", "SETID", &st, "g3", "$"], Value::Okay);
    // NOACK: the consumer's creation and the group's last id go out, no pending entries.
    expect(conn, &["XGROUP", "CREATE", &st, "g4", "0"], Value::Okay);
    run(
        conn,
        &[
            "XREADGROUP",
            "GROUP",
            "g4",
            "gus",
            "COUNT",
            "2",
            "NOACK",
            "STREAMS",
            &st,
            ">",
        ],
    );
    // A claim of a deleted entry drops its pending entry on the replica too.
    run(conn, &["XCLAIM", &st, "g", "carol", "0", &ids[4], "FORCE"]);
    expect(conn, &["XGROUP", "DELCONSUMER", &st, "g", "zed"], int(0));
    block_then_serve(
        master,
        conn,
        &[Blocked {
            command: &[
                "XREADGROUP",
                "GROUP",
                "g2",
                "frank",
                "BLOCK",
                "0",
                "STREAMS",
                "stream:new",
                ">",
            ],
            serve: &["XADD", "stream:new", "*", "f", "later"],
            reply_starts: "*1\r\n*2\r\n$10\r\nstream:new",
        }],
    );
}

/// Blocking pops served at once (data already there) and served later (another client pushes
/// while the first is blocked).
fn write_blocking(master: &Server, conn: &mut Connection) {
    let [la, lb] = pair("blocking");
    expect(conn, &["RPUSH", &la, "x", "y", "z"], int(3));
    run(conn, &["BLPOP", &la, "1"]);
    run(conn, &["BRPOP", &la, "1"]);
    expect(conn, &["BLMOVE", &la, &lb, "LEFT", "RIGHT", "1"], bulk("y"));
    expect(conn, &["EXISTS", &la], int(0));
    run(conn, &["ZADD", "bz:a", "1", "a", "2", "b", "3", "c"]);
    run(conn, &["BZPOPMIN", "bz:a", "1"]);
    run(conn, &["BZPOPMAX", "bz:a", "1"]);
    run(
        conn,
        &["BZMPOP", "1", "2", "bz:none", "bz:a", "MIN", "COUNT", "1"],
    );
    expect(conn, &["EXISTS", "bz:a"], int(0));
    run(conn, &["RPUSH", "bl:m", "1", "2", "3"]);
    run(conn, &["BLMPOP", "1", "1", "bl:m", "LEFT", "COUNT", "2"]);

    let [late_a, late_b] = pair("late");
    // BLMOVE's source and destination on different cores.
    let [dst_even, dst_odd] = pair("late:dst");
    let dst_other = if key_slot(b"late:src").is_multiple_of(2) {
        dst_odd
    } else {
        dst_even
    };
    block_then_serve(
        master,
        conn,
        &[
            Blocked {
                command: &["BLPOP", &late_a, "0"],
                serve: &["RPUSH", &late_a, "a", "b"],
                reply_starts: "*2\r\n",
            },
            Blocked {
                command: &["BRPOP", &late_b, "0"],
                serve: &["RPUSH", &late_b, "a", "b", "c"],
                reply_starts: "*2\r\n",
            },
            Blocked {
                command: &["BLMOVE", "late:src", &dst_other, "RIGHT", "LEFT", "0"],
                serve: &["RPUSH", "late:src", "a", "b"],
                reply_starts: "$1\r\nb",
            },
            Blocked {
                command: &["BZPOPMIN", "late:z", "0"],
                serve: &["ZADD", "late:z", "1", "a", "2", "b"],
                reply_starts: "*3\r\n",
            },
            Blocked {
                command: &["BZPOPMAX", "late:z2", "0"],
                serve: &["ZADD", "late:z2", "1", "a"],
                reply_starts: "*3\r\n",
            },
            Blocked {
                command: &[
                    "BLMPOP", "0", "2", "late:m1", "late:m2", "RIGHT", "COUNT", "2",
                ],
                serve: &["RPUSH", "late:m2", "a", "b", "c"],
                reply_starts: "*2\r\n",
            },
            Blocked {
                command: &["BRPOPLPUSH", "late:rpl", "late:rpl2", "0"],
                serve: &["LPUSH", "late:rpl", "a"],
                reply_starts: "$1\r\na",
            },
        ],
    );
}

/// Keys the master expires by itself (PEXPIRE 100, then nobody touches them): once the master
/// has dropped them, the replica has too (its DBSIZE, which counts keys it hides on reads
/// because their time has passed, matches the master's).
fn expire_on_the_master(master: &Server, replica: &Server, conn: &mut Connection) {
    let mut doomed = Vec::new();
    for prefix in ["expiring:str", "expiring:hash", "expiring:list"] {
        doomed.extend(pair(prefix));
    }
    for (index, key) in doomed.iter().enumerate() {
        match index / 2 {
            0 => expect(conn, &["SET", key, "v"], Value::Okay),
            1 => expect(conn, &["HSET", key, "f", "v"], int(1)),
            _ => expect(conn, &["RPUSH", key, "a", "b"], int(2)),
        }
    }
    expect(
        conn,
        &["SET", "expiring:later", "v", "EX", "3600"],
        Value::Okay,
    );
    wait_in_sync(master, replica, "before keys expire");
    let before: i64 = redis::cmd("DBSIZE").query(conn).unwrap();
    for key in &doomed {
        expect(conn, &["PEXPIRE", key, "100"], int(1));
    }
    let mut size = before;
    let gone = eventually(SYNC_WAIT, || {
        size = redis::cmd("DBSIZE").query(conn).unwrap();
        size == before - doomed.len() as i64
    });
    assert!(
        gone,
        "the master did not expire {doomed:?} within {SYNC_WAIT:?}: DBSIZE {size}, was {before}"
    );
    wait_in_sync(master, replica, "after keys expired on the master");
    let replica_size: i64 = redis::cmd("DBSIZE").query(&mut replica.client()).unwrap();
    assert_eq!(
        replica_size, size,
        "DBSIZE of the replica after the master expired {doomed:?} (the replica drops a key \
         only when its master says so)"
    );
}

/// A replica attached before any write follows a long command stream: strings and expiries
/// (the commands Redis rewrites for its replicas), FLUSHALL, collections, *STORE commands,
/// COPY/RENAME/RESTORE, DEL/UNLINK over both cores, MULTI/EXEC, scripts, streams with consumer
/// groups, blocking pops served at once and later, keys the master expires by itself. After
/// each part the replica's keyspace is the master's.
#[test]
fn command_stream_keeps_the_replica_identical() {
    command_stream_keeps_identical(start_master(), start_replica);
}

/// The same battery with slotcore as the replica: its master link applies every command Redis
/// propagates on the core that owns each key, in the master's order.
#[test]
fn a_slotcore_replica_follows_the_command_stream() {
    command_stream_keeps_identical(start_master(), start_slotcore_replica);
}

/// And a slotcore replica of a real redis-server master, whose snapshot is a disk-based
/// `$<length>` payload (`repl-diskless-sync no`).
#[test]
fn a_slotcore_replica_follows_a_redis_server_master() {
    let master = RedisServer::start_with(&["--repl-diskless-sync", "no"]);
    command_stream_keeps_identical(master, start_slotcore_replica);
}

fn command_stream_keeps_identical(master: Server, start_replica: fn(&Server) -> Server) {
    let replica = start_replica(&master);
    wait_in_sync(&master, &replica, "an empty master");
    let mut conn = master.client();
    // Streams' group read counters and consumers' seen times are left out (see `Copied`).
    let copied = Copied::ByCommandStream;

    for key in spread_keys("before-flush", 16) {
        expect(&mut conn, &["SET", &key, "v", "EX", "1000"], Value::Okay);
        expect(&mut conn, &["RPUSH", &format!("{key}:list"), "a"], int(1));
    }
    let before = assert_replica_matches(&master, &replica, copied, "before FLUSHALL");
    assert_eq!(before.len(), 32, "keys before FLUSHALL");
    expect(&mut conn, &["FLUSHALL"], Value::Okay);
    let flushed = assert_replica_matches(&master, &replica, copied, "after FLUSHALL");
    assert!(flushed.is_empty(), "keys after FLUSHALL: {}", flushed.len());

    write_strings(&mut conn);
    assert_replica_matches(&master, &replica, copied, "after strings and expiries");
    write_collections(&mut conn);
    assert_replica_matches(&master, &replica, copied, "after collections");
    write_keys_transactions_scripts(&mut conn);
    assert_replica_matches(&master, &replica, copied, "after keys, MULTI/EXEC, scripts");
    write_streams(&master, &mut conn);
    assert_replica_matches(&master, &replica, copied, "after streams");
    write_blocking(&master, &mut conn);
    assert_replica_matches(&master, &replica, copied, "after blocking pops");
    expire_on_the_master(&master, &replica, &mut conn);
    let last = assert_replica_matches(&master, &replica, copied, "after expiries on the master");
    assert!(last.len() > 100, "keys at the end: {}", last.len());
    let types: BTreeSet<&str> = last.values().map(|s| s.kind.as_str()).collect();
    let all = ["hash", "list", "set", "stream", "string", "zset"];
    assert_eq!(types, all.into_iter().collect(), "TYPEs at the end");
}

// ---------------------------------------------------------------------------------------------
// 3. Partial resync.

/// Counts lines of the replica's log that contain `needle`.
fn log_count(replica: &Server, needle: &str) -> usize {
    replica.log().matches(needle).count()
}

/// A replica whose link to its master drops (`CLIENT KILL TYPE master` on the replica)
/// reconnects with PSYNC and gets a partial resync from the master's backlog, twice in a row:
/// the master counts one more `sync_partial_ok` each time and no more `sync_full`, the replica
/// never loads a snapshot again, and the writes made meanwhile and after reach it.
#[test]
fn dropped_link_resumes_with_a_partial_resync() {
    dropped_link_resumes_with(start_replica);
}

/// The same with slotcore as the replica: `CLIENT KILL TYPE master` drops its link, and its
/// PSYNC with the master's id and offset gets +CONTINUE.
#[test]
fn a_slotcore_replica_resumes_with_a_partial_resync() {
    dropped_link_resumes_with(start_slotcore_replica);
}

fn dropped_link_resumes_with(start_replica: fn(&Server) -> Server) {
    let master = start_master();
    let mut conn = master.client();
    for key in spread_keys("first", 32) {
        expect(&mut conn, &["SET", &key, "1"], Value::Okay);
    }
    let replica = start_replica(&master);
    assert_replica_matches(
        &master,
        &replica,
        Copied::BySnapshot,
        "after the full resync",
    );
    let full = info_number(&mut conn, "stats", "sync_full");
    assert_eq!(full, 1, "sync_full after the first sync");
    let partial_before = info_number(&mut conn, "stats", "sync_partial_ok");
    // redis-server 7.0.15's log lines for a snapshot loaded and for a +CONTINUE accepted.
    const LOADED: &str = "MASTER <-> REPLICA sync: Finished with success";
    const CONTINUED: &str = "MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization";
    assert_eq!(
        log_count(&replica, LOADED),
        1,
        "the replica's first sync is a full one"
    );
    let replid = info(&mut conn, "replication")["master_replid"].clone();
    assert_eq!(
        info(&mut replica.client(), "replication")["master_replid"],
        replid,
        "master_replid on the replica and on the master"
    );

    let mut incrs = 0;
    for round in 1..=2i64 {
        let mut to_replica = replica.client();
        let killed: i64 = redis::cmd("CLIENT")
            .arg("KILL")
            .arg("TYPE")
            .arg("master")
            .query(&mut to_replica)
            .expect("CLIENT KILL TYPE master on the replica");
        assert_eq!(killed, 1, "round {round}: the replica's master link killed");
        // Written while the link is down (or just back): the backlog carries them.
        for key in spread_keys(&format!("round{round}"), 16) {
            expect(&mut conn, &["RPUSH", &key, "a", "b"], int(2));
            incrs += 1;
            expect(&mut conn, &["INCR", "counter"], int(incrs));
        }
        let mut stats = HashMap::new();
        let resumed = eventually(SYNC_WAIT, || {
            stats = info(&mut conn, "stats");
            stats
                .get("sync_partial_ok")
                .and_then(|n| n.parse::<i64>().ok())
                == Some(partial_before + round)
        });
        assert!(
            resumed,
            "round {round}: no partial resync within {SYNC_WAIT:?}: INFO stats {stats:?}"
        );
        assert_eq!(
            stats["sync_full"],
            full.to_string(),
            "round {round}: sync_full after a partial resync"
        );
        assert_replica_matches(
            &master,
            &replica,
            Copied::BySnapshot,
            &format!("round {round}: after the partial resync"),
        );
        for key in spread_keys(&format!("after{round}"), 16) {
            expect(&mut conn, &["SADD", &key, "m"], int(1));
        }
        assert_replica_matches(
            &master,
            &replica,
            Copied::BySnapshot,
            &format!("round {round}: after writes that followed the partial resync"),
        );
        assert_eq!(
            log_count(&replica, CONTINUED),
            round as usize,
            "round {round}: partial resyncs the replica logged"
        );
        assert_eq!(
            log_count(&replica, LOADED),
            1,
            "round {round}: snapshots the replica loaded"
        );
        assert_eq!(
            info(&mut to_replica, "replication")["master_replid"],
            replid,
            "round {round}: the replica's master_replid"
        );
    }
    assert_eq!(info_number(&mut conn, "stats", "sync_full"), full);
}

// ---------------------------------------------------------------------------------------------
// 4. INFO replication, ROLE, WAIT.

/// The `slaveN` lines of INFO replication: N → field → value.
fn slave_lines(info: &HashMap<String, String>) -> Vec<HashMap<String, String>> {
    let mut lines: Vec<(usize, HashMap<String, String>)> = info
        .iter()
        .filter_map(|(name, value)| {
            let index = name.strip_prefix("slave")?.parse::<usize>().ok()?;
            let fields = value
                .split(',')
                .filter_map(|field| field.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            Some((index, fields))
        })
        .collect();
    lines.sort_by_key(|(index, _)| *index);
    let indexes: Vec<usize> = lines.iter().map(|(index, _)| *index).collect();
    assert_eq!(
        indexes,
        (0..lines.len()).collect::<Vec<_>>(),
        "slaveN lines numbered from 0: {info:?}"
    );
    lines.into_iter().map(|(_, fields)| fields).collect()
}

/// ROLE's reply on a master: its offset and each replica's (ip, port, offset), all checked for
/// shape.
fn master_role(conn: &mut Connection) -> (i64, Vec<(String, String, i64)>) {
    let role: Value = redis::cmd("ROLE").query(conn).expect("ROLE");
    let Value::Array(fields) = &role else {
        panic!("ROLE reply {role:?}");
    };
    assert_eq!(fields.len(), 3, "ROLE reply {role:?}");
    assert_eq!(fields[0], bulk("master"), "ROLE reply {role:?}");
    let Value::Int(offset) = fields[1] else {
        panic!("ROLE's offset is not an integer: {role:?}");
    };
    let Value::Array(replicas) = &fields[2] else {
        panic!("ROLE's replicas are not an array: {role:?}");
    };
    let replicas = replicas
        .iter()
        .map(|replica| match replica {
            Value::Array(parts) => match &parts[..] {
                [Value::BulkString(ip), Value::BulkString(port), Value::BulkString(offset)] => (
                    String::from_utf8_lossy(ip).into_owned(),
                    String::from_utf8_lossy(port).into_owned(),
                    String::from_utf8_lossy(offset)
                        .parse()
                        .unwrap_or_else(|_| panic!("ROLE replica offset {role:?}")),
                ),
                _ => panic!("ROLE replica entry {replica:?} is not [ip, port, offset] bulks"),
            },
            other => panic!("ROLE replica entry {other:?}"),
        })
        .collect();
    (offset, replicas)
}

/// With two replicas online the master's INFO replication shows `role:master`,
/// `connected_slaves:2`, a 40-hex-digit `master_replid`, `master_repl_offset`, and a `slaveN`
/// line for each replica (its IP, listening port, `state=online`, offset and lag); ROLE lists
/// both as [ip, port, offset]; WAIT 2 after a write answers 2 and WAIT 3 answers 2 once its
/// timeout passes.
#[test]
fn info_role_and_wait_see_two_replicas() {
    let master = start_master();
    let mut conn = master.client();
    expect(&mut conn, &["SET", "k", "v"], Value::Okay);
    let replicas = [start_replica(&master), start_replica(&master)];
    for replica in &replicas {
        wait_in_sync(&master, replica, "two replicas");
    }
    let ports: BTreeSet<String> = replicas.iter().map(|r| r.port().to_string()).collect();
    expect(&mut conn, &["SET", "k", "w"], Value::Okay);
    expect(&mut conn, &["WAIT", "2", "5000"], int(2));

    // Both replicas online, and (they acknowledge what the master sends) their offsets reach
    // the master's.
    let mut last = HashMap::new();
    let online = eventually(SYNC_WAIT, || {
        last = info(&mut conn, "replication");
        let lines = slave_lines(&last);
        let offset = last.get("master_repl_offset");
        last.get("connected_slaves").map(String::as_str) == Some("2")
            && lines.len() == 2
            && lines.iter().all(|l| {
                l.get("state").map(String::as_str) == Some("online") && l.get("offset") == offset
            })
    });
    assert!(
        online,
        "two replicas online and caught up in INFO replication: {last:?}"
    );
    assert_eq!(last["role"], "master", "{last:?}");
    let replid = &last["master_replid"];
    assert!(
        replid.len() == 40 && replid.bytes().all(|b| b.is_ascii_hexdigit()),
        "master_replid {replid:?}"
    );
    let offset: i64 = last["master_repl_offset"]
        .parse()
        .expect("master_repl_offset");
    assert!(
        offset > 0,
        "master_repl_offset {offset} after a write and two syncs"
    );
    let lines = slave_lines(&last);
    let listed: BTreeSet<String> = lines.iter().map(|l| l["port"].clone()).collect();
    assert_eq!(listed, ports, "replicas' listening ports in INFO: {last:?}");
    for line in &lines {
        assert_eq!(line["ip"], "127.0.0.1", "{line:?}");
        let offset: i64 = line["offset"].parse().expect("slave offset");
        assert!(offset > 0, "slave offset in {line:?}");
        line["lag"].parse::<i64>().expect("slave lag is a number");
    }
    for replica in &replicas {
        let theirs = info(&mut replica.client(), "replication");
        assert_eq!(theirs["role"], "slave", "{theirs:?}");
        assert_eq!(
            theirs["master_port"],
            master.port().to_string(),
            "{theirs:?}"
        );
        assert_eq!(
            theirs["master_replid"], *replid,
            "the replica's master_replid"
        );
    }

    // ROLE shows the replicas' offsets reach the master's, which is master_repl_offset.
    let mut role = (0, Vec::new());
    let mut info_offset = 0;
    let acked = eventually(SYNC_WAIT, || {
        role = master_role(&mut conn);
        info_offset = info_number(&mut conn, "replication", "master_repl_offset");
        role.0 == info_offset
            && role.1.len() == 2
            && role.1.iter().all(|(_, _, acked)| *acked == role.0)
    });
    assert!(
        acked,
        "ROLE: replicas' offsets never reached the master's (master_repl_offset \
         {info_offset}): {role:?}"
    );
    let (offset, listed) = role;
    let listed_ports: BTreeSet<String> = listed.iter().map(|(_, port, _)| port.clone()).collect();
    assert_eq!(listed_ports, ports, "ROLE's replicas: {listed:?}");
    assert!(
        listed.iter().all(|(ip, _, _)| ip == "127.0.0.1"),
        "{listed:?}"
    );
    assert!(offset > 0, "ROLE's offset {offset}");
    for replica in &replicas {
        let value: Option<String> = redis::cmd("GET")
            .arg("k")
            .query(&mut replica.client())
            .unwrap();
        assert_eq!(
            value.as_deref(),
            Some("w"),
            "k on replica {}",
            replica.port()
        );
    }

    // WAIT for more replicas than there are answers 2 once its timeout passes; then, with no
    // replica count to wait for, WAIT answers at once how many replicas have acknowledged
    // this client's last write: both (WAIT 3 has just seen them do so).
    expect(&mut conn, &["INCR", "n"], int(1));
    expect(&mut conn, &["WAIT", "3", "100"], int(2));
    expect(&mut conn, &["WAIT", "0", "0"], int(2));
}

// ---------------------------------------------------------------------------------------------
// 5. redis-cli --rdb.

/// `redis-cli --rdb FILE` against the master (a SYNC of its own) writes a file that
/// `redis-check-rdb` accepts and from which a redis-server starts with the master's keyspace.
#[test]
fn redis_cli_rdb_gets_a_valid_file() {
    let master = start_master();
    let mut conn = master.client();
    fill_every_type(&mut conn);
    let out = TempDir::new("replication-rdb");
    let file = out.path().join("dump.rdb");
    let path = file.display().to_string();
    let fetched = redis_cli(master.port(), &["--rdb", &path]);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&fetched.stdout),
        String::from_utf8_lossy(&fetched.stderr)
    );
    assert!(
        fetched.status.success(),
        "redis-cli --rdb: {}: {said}",
        fetched.status
    );
    assert!(file.exists(), "redis-cli --rdb wrote no file: {said}");
    let (status, stdout, stderr) = run_tool("redis-check-rdb", &[&path], TOOL_TIMEOUT);
    let status = status.expect("redis-check-rdb finished");
    assert!(
        status.success() && stdout.contains("RDB looks OK"),
        "redis-check-rdb {path}: {status}\n{stdout}{stderr}"
    );
    let loaded = RedisServer::start_in(out.path(), &[]);
    let dataset = assert_same_keyspace(
        &mut conn,
        &mut loaded.client(),
        Copied::BySnapshot,
        "redis-server started on the file from redis-cli --rdb",
    );
    assert_dataset_is_full(&dataset, "the master");
}

// ---------------------------------------------------------------------------------------------
// 6. Full resync under write load.

/// How many counters, strings and lists each writer spreads its writes over.
const COUNTERS: usize = 16;
const STRINGS: usize = 300;
const LISTS: usize = 8;

/// Writes until `stop` on its own connection: INCR of a counter, SET of a string, LPUSH onto
/// a list, round robin, keys over both cores. Returns how many INCRs each counter got and how
/// many LPUSHes each list got. An error ends it quietly once `stop` is set (a failing test
/// stops the writers before it kills the master).
fn write_load(url: &str, writer: usize, stop: &AtomicBool, done: &AtomicU64) -> [Vec<i64>; 2] {
    let mut conn = common::connect_url(url);
    let mut incrs = vec![0i64; COUNTERS];
    let mut pushes = vec![0i64; LISTS];
    let mut n = 0usize;
    while !stop.load(Ordering::Relaxed) {
        let counter = format!("load:{writer}:counter:{}", n % COUNTERS);
        let list = format!("load:{writer}:list:{}", n % LISTS);
        let mut step = || -> redis::RedisResult<(i64, i64)> {
            let value: i64 = redis::cmd("INCR").arg(&counter).query(&mut conn)?;
            let () = redis::cmd("SET")
                .arg(format!("load:{writer}:string:{}", n % STRINGS))
                .arg(n)
                .query(&mut conn)?;
            let len: i64 = redis::cmd("LPUSH").arg(&list).arg(n).query(&mut conn)?;
            Ok((value, len))
        };
        let (value, len) = match step() {
            Ok(replies) => replies,
            Err(_) if stop.load(Ordering::Relaxed) => break,
            Err(e) => panic!("writer {writer}: {e}"),
        };
        incrs[n % COUNTERS] += 1;
        assert_eq!(value, incrs[n % COUNTERS], "INCR {counter}");
        pushes[n % LISTS] += 1;
        assert_eq!(len, pushes[n % LISTS], "LPUSH {list}");
        n += 1;
        done.fetch_add(1, Ordering::Relaxed);
    }
    [incrs, pushes]
}

/// A replica that attaches while three clients write as fast as they can (INCR, SET, LPUSH
/// over keys on both cores), on a master holding 100,000 other keys, ends up with exactly the
/// master's keyspace once the writers stop and it catches up: no write between the snapshot's
/// cut and the stream that follows is lost or applied twice (each counter holds exactly its
/// number of INCRs, each list its number of LPUSHes, in order).
#[test]
fn full_resync_under_write_load_loses_and_repeats_nothing() {
    full_resync_under_write_load(false);
}

/// The same, with the snapshot cut on a slotcore replica of the master that applies the
/// stream meanwhile: the redis-server replica of that replica ends up with the master's
/// keyspace, at the master's offsets.
#[test]
fn a_replica_of_a_replica_syncs_under_write_load() {
    full_resync_under_write_load(true);
}

fn full_resync_under_write_load(chained: bool) {
    const FILLER: usize = 100_000;
    const WRITERS: usize = 3;
    let master = start_master();
    let middle = chained.then(|| start_slotcore_replica(&master));
    let mut conn = master.client();
    for chunk in 0..FILLER / 1000 {
        let mut mset = redis::cmd("MSET");
        for i in chunk * 1000..(chunk + 1) * 1000 {
            mset.arg(format!("filler:{i}")).arg(format!("{i:064}"));
        }
        let () = mset.query(&mut conn).expect("MSET filler");
    }

    let stop = Arc::new(AtomicBool::new(false));
    let _stop_on_drop = StopOnDrop(stop.clone());
    let done: Arc<Vec<AtomicU64>> = Arc::new((0..WRITERS).map(|_| AtomicU64::new(0)).collect());
    let started = Instant::now();
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let (stop, done, url) = (stop.clone(), done.clone(), master.url());
            thread::spawn(move || write_load(&url, writer, &stop, &done[writer]))
        })
        .collect();
    let total = |done: &[AtomicU64]| done.iter().map(|d| d.load(Ordering::Relaxed)).sum::<u64>();
    let going = eventually(SYNC_WAIT, || {
        done.iter().all(|d| d.load(Ordering::Relaxed) > 100)
    });
    assert!(going, "the writers did not get going");

    let at_replica_start = total(&done);
    let replica = start_replica(middle.as_ref().unwrap_or(&master));
    let mut to_replica = replica.client();
    let up = eventually(SYNC_WAIT, || {
        try_info(&mut to_replica, "replication")
            .map(|i| i.get("master_link_status").map(String::as_str) == Some("up"))
            .unwrap_or(false)
    });
    assert!(
        up,
        "the replica's link did not come up under load within {SYNC_WAIT:?}"
    );
    let at_link_up = total(&done);
    // Go on writing a while over the live link.
    let more = eventually(SYNC_WAIT, || {
        started.elapsed() > Duration::from_secs(2) && total(&done) > at_link_up + 1000
    });
    assert!(more, "the writers stalled after the replica's link came up");
    stop.store(true, Ordering::Relaxed);
    let written: Vec<[Vec<i64>; 2]> = writers
        .into_iter()
        .map(|writer| writer.join().expect("a writer failed"))
        .collect();
    eprintln!(
        "writes: {at_replica_start} before the replica started, {} while it synced, {} after",
        at_link_up - at_replica_start,
        total(&done) - at_link_up
    );

    for (writer, [incrs, pushes]) in written.iter().enumerate() {
        for (index, count) in incrs.iter().enumerate() {
            let value: i64 = redis::cmd("GET")
                .arg(format!("load:{writer}:counter:{index}"))
                .query(&mut conn)
                .unwrap();
            assert_eq!(
                value, *count,
                "writer {writer}'s counter {index} on the master"
            );
        }
        for (index, count) in pushes.iter().enumerate() {
            let len: i64 = redis::cmd("LLEN")
                .arg(format!("load:{writer}:list:{index}"))
                .query(&mut conn)
                .unwrap();
            assert_eq!(len, *count, "writer {writer}'s list {index} on the master");
        }
    }
    let dataset = assert_replica_matches(
        &master,
        &replica,
        Copied::BySnapshot,
        "after a full resync under write load",
    );
    if let Some(middle) = &middle {
        assert_replica_matches(
            &master,
            middle,
            Copied::BySnapshot,
            "the replica in the middle",
        );
    }
    let load_keys: usize = done
        .iter()
        .map(|d| {
            let n = d.load(Ordering::Relaxed) as usize;
            n.min(COUNTERS) + n.min(STRINGS) + n.min(LISTS)
        })
        .sum();
    assert_eq!(dataset.len(), FILLER + load_keys, "keys on the master");
    let parities: BTreeSet<u16> = dataset.keys().map(|key| key_slot(key) % 2).collect();
    assert_eq!(parities.len(), 2, "keys in both even and odd slots");
}

// ---------------------------------------------------------------------------------------------
// 7. min-replicas-to-write.

/// With `min-replicas-to-write 1`, writes (and EXEC of a transaction holding one) get
/// NOREPLICAS until a replica is online and acknowledging; reads and PING are served; INFO
/// shows `min_slaves_good_slaves`. `min-replicas-max-lag 0` turns the check off, as in Redis.
#[test]
fn min_replicas_to_write_refuses_writes_without_a_good_replica() {
    const NOREPLICAS: &str = "NOREPLICAS Not enough good replicas to write.";
    let master = start_master();
    let mut raw = RawConn::new(master.raw());
    assert_eq!(
        raw.call(&["CONFIG", "SET", "min-replicas-to-write", "1"]),
        "+OK\r\n"
    );
    assert_eq!(raw.call(&["SET", "k", "v"]), format!("-{NOREPLICAS}\r\n"));
    assert_eq!(raw.call(&["GET", "k"]), "$-1\r\n");
    assert_eq!(raw.call(&["PING"]), "+PONG\r\n");
    assert_eq!(raw.call(&["MULTI"]), "+OK\r\n");
    assert_eq!(raw.call(&["INCR", "n"]), format!("-{NOREPLICAS}\r\n"));
    assert_eq!(
        raw.call(&["EXEC"]),
        "-EXECABORT Transaction discarded because of previous errors.\r\n"
    );
    // A script fails at its first write; one with flags and no `no-writes` does not run.
    let in_script = raw.call(&["EVAL", "return redis.call('set', KEYS[1], 1)", "1", "k"]);
    assert!(
        in_script.starts_with(&format!("-{NOREPLICAS} script: ")),
        "{in_script}"
    );
    assert_eq!(
        raw.call(&[
            "EVAL",
            "#!lua\nreturn redis.call('set', KEYS[1], 1)",
            "1",
            "k"
        ]),
        format!("-{NOREPLICAS}\r\n")
    );
    assert_eq!(
        raw.call(&[
            "EVAL",
            "#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])",
            "1",
            "k"
        ]),
        "$-1\r\n"
    );
    let mut conn = master.client();
    assert_eq!(
        info(&mut conn, "replication")
            .get("min_slaves_good_slaves")
            .map(String::as_str),
        Some("0")
    );

    let replica = start_replica(&master);
    wait_in_sync(&master, &replica, "min-replicas-to-write");
    let good = eventually(SYNC_WAIT, || raw.call(&["SET", "k", "v"]) == "+OK\r\n");
    assert!(
        good,
        "SET still refused with an online replica: {}",
        raw.call(&["SET", "k", "v"])
    );
    assert_eq!(
        info(&mut conn, "replication")
            .get("min_slaves_good_slaves")
            .map(String::as_str),
        Some("1")
    );
    assert_eq!(
        raw.call(&["CONFIG", "SET", "min-replicas-to-write", "2"]),
        "+OK\r\n"
    );
    assert_eq!(raw.call(&["DEL", "k"]), format!("-{NOREPLICAS}\r\n"));
    assert_eq!(
        raw.call(&["CONFIG", "SET", "min-slaves-max-lag", "0"]),
        "+OK\r\n"
    );
    assert_eq!(raw.call(&["DEL", "k"]), ":1\r\n");
    assert!(!info(&mut conn, "replication").contains_key("min_slaves_good_slaves"));
}

// ---------------------------------------------------------------------------------------------
// 8. client-output-buffer-limit's replica class.

/// A replica that stops reading is dropped once its output passes
/// `client-output-buffer-limit replica <hard>`; the master goes on serving.
#[test]
fn a_replica_that_stops_reading_is_dropped_at_its_output_limit() {
    stalled_replica_is_dropped(true);
}

/// The same, with the limit set by CONFIG SET once the replica is attached: it applies at
/// once, as in Redis.
#[test]
fn an_output_limit_set_after_the_replica_attached_applies() {
    stalled_replica_is_dropped(false);
}

fn stalled_replica_is_dropped(limit_first: bool) {
    let master = start_master();
    let mut conn = master.client();
    let set_limit = |conn: &mut Connection| {
        let () = redis::cmd("CONFIG")
            .arg("SET")
            .arg("client-output-buffer-limit")
            .arg("replica 1mb 0 0")
            .query(conn)
            .expect("CONFIG SET client-output-buffer-limit");
    };
    if limit_first {
        set_limit(&mut conn);
    }
    // A replica by hand: PSYNC, then nothing read.
    let mut stalled = RawConn::new(master.raw());
    stalled.send_cmd(&[b"REPLCONF", b"listening-port", b"1"]);
    assert_eq!(
        show(&stalled.read_frame().expect("REPLCONF reply")),
        "+OK\r\n"
    );
    stalled.send_cmd(&[b"PSYNC", b"?", b"-1"]);
    let attached = eventually(SYNC_WAIT, || {
        info_number(&mut conn, "replication", "connected_slaves") == 1
    });
    assert!(attached, "the stalled replica never attached");
    if !limit_first {
        set_limit(&mut conn);
    }
    // 1 MB of SETs a round, 32 rounds at most: far under the default 256 MB, far over 1 MB
    // and what the sockets' buffers hold.
    let value = "x".repeat(10_000);
    let mut rounds = 0;
    let dropped = eventually(SYNC_WAIT, || {
        if rounds == 32 {
            return false;
        }
        rounds += 1;
        let mut pipe = redis::pipe();
        for i in 0..100 {
            pipe.cmd("SET").arg(format!("big:{i}")).arg(&value).ignore();
        }
        let () = pipe.query(&mut conn).expect("SETs");
        thread::sleep(Duration::from_millis(20));
        info_number(&mut conn, "replication", "connected_slaves") == 0
    });
    assert!(
        dropped,
        "a replica reading nothing is still attached after {rounds} MB: {:?}",
        info(&mut conn, "replication")
    );
    let pong: String = redis::cmd("PING").query(&mut conn).expect("PING");
    assert_eq!(pong, "PONG");
}

/// CONFIG SET repl-backlog-size after a replica attached (the backlog already made, at 1 MB)
/// resizes it at once, as Redis does: a replica away while 3 MB are written comes back with a
/// partial resync.
#[test]
fn a_backlog_grown_by_config_set_serves_a_longer_absence() {
    let master = start_master();
    let mut conn = master.client();
    let port = master.port().to_string();
    let replica = RedisServer::start_with(&[
        "--replicaof",
        "127.0.0.1",
        &port,
        "--enable-debug-command",
        "yes",
    ]);
    expect(&mut conn, &["SET", "k", "v"], Value::Okay);
    wait_in_sync(&master, &replica, "after the first sync");
    expect(
        &mut conn,
        &["CONFIG", "SET", "repl-backlog-size", "8mb"],
        Value::Okay,
    );
    // The replica sleeps 3 s; meanwhile its link is cut and 3 MB are written.
    let url = replica.url();
    let sleeper = thread::spawn(move || {
        let mut to_replica = common::connect_url(&url);
        let _: redis::RedisResult<Value> = redis::cmd("DEBUG")
            .arg("SLEEP")
            .arg(3)
            .query(&mut to_replica);
    });
    thread::sleep(Duration::from_millis(300));
    let killed: i64 = redis::cmd("CLIENT")
        .arg(&["KILL", "TYPE", "replica"])
        .query(&mut conn)
        .unwrap();
    assert_eq!(killed, 1, "CLIENT KILL TYPE replica");
    let value = "x".repeat(10_000);
    for round in 0..3 {
        let mut pipe = redis::pipe();
        for i in 0..100 {
            pipe.cmd("SET")
                .arg(format!("away:{round}:{i}"))
                .arg(&value)
                .ignore();
        }
        let () = pipe.query(&mut conn).expect("SETs");
    }
    sleeper.join().expect("DEBUG SLEEP");
    let back = eventually(SYNC_WAIT, || {
        info_number(&mut conn, "stats", "sync_partial_ok") == 1
    });
    assert!(back, "no partial resync: {:?}", info(&mut conn, "stats"));
    assert_eq!(
        info_number(&mut conn, "stats", "sync_full"),
        1,
        "full syncs"
    );
    assert_replica_matches(&master, &replica, Copied::BySnapshot, "after the absence");
}

// ---------------------------------------------------------------------------------------------
// 6. slotcore as a replica: what its clients see.

/// A replica refuses its clients' writes with Redis's READONLY error and answers ROLE and INFO
/// as a replica; REPLICAOF checks its port and knows the master it already follows; REPLICAOF
/// NO ONE makes it a master that takes writes, and once it took one, following the master again
/// is a full resync that drops that write. Runs against slotcore as the replica (redis-server
/// with `SLOTCORE_TEST_TARGET=redis`).
#[test]
fn a_replica_refuses_writes_until_replicaof_no_one() {
    let master = start_master();
    let mut conn = master.client();
    for key in spread_keys("kept", 8) {
        expect(&mut conn, &["SET", &key, "1"], Value::Okay);
    }
    let replica = start_slotcore_replica(&master);
    assert_replica_matches(
        &master,
        &replica,
        Copied::BySnapshot,
        "after the first sync",
    );
    let mut to_replica = replica.client();
    let port = master.port().to_string();

    let mut raw = RawConn::new(replica.raw());
    assert_eq!(
        raw.call(&["SET", "x", "1"]),
        "-READONLY You can't write against a read only replica.\r\n",
        "SET on a replica"
    );
    assert_eq!(
        raw.call(&["WAIT", "1", "0"]),
        "-ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 \
         if a replica is configured to be writable (which is not the default) writes to replicas \
         are just local and are not propagated.\r\n",
        "WAIT on a replica"
    );
    let role: Value = redis::cmd("ROLE").query(&mut to_replica).unwrap();
    let Value::Array(fields) = &role else {
        panic!("the replica's ROLE: {role:?}");
    };
    assert_eq!(fields.len(), 5, "ROLE {role:?}");
    assert_eq!(fields[0], bulk("slave"), "ROLE {role:?}");
    assert_eq!(fields[1], bulk("127.0.0.1"), "ROLE {role:?}");
    assert_eq!(fields[2], int(master.port() as i64), "ROLE {role:?}");
    assert_eq!(fields[3], bulk("connected"), "ROLE {role:?}");
    let replication = info(&mut to_replica, "replication");
    for (field, value) in [
        ("role", "slave"),
        ("master_host", "127.0.0.1"),
        ("master_port", port.as_str()),
        ("master_link_status", "up"),
        ("master_sync_in_progress", "0"),
        ("slave_read_only", "1"),
    ] {
        assert_eq!(
            replication.get(field).map(String::as_str),
            Some(value),
            "INFO replication {field}: {replication:?}"
        );
    }
    let clients: String = redis::cmd("CLIENT")
        .arg("LIST")
        .arg("TYPE")
        .arg("master")
        .query(&mut to_replica)
        .unwrap();
    assert!(
        clients.lines().count() == 1 && clients.contains("flags=M"),
        "CLIENT LIST TYPE master on the replica: {clients}"
    );

    assert_eq!(
        raw.call(&["REPLICAOF", "127.0.0.1", "70000"]),
        "-ERR Invalid master port\r\n",
        "REPLICAOF with a bad port"
    );
    expect(
        &mut to_replica,
        &["REPLICAOF", "127.0.0.1", &port],
        Value::SimpleString("OK Already connected to specified master".into()),
    );

    expect(&mut to_replica, &["REPLICAOF", "NO", "ONE"], Value::Okay);
    let role: Value = redis::cmd("ROLE").query(&mut to_replica).unwrap();
    let Value::Array(fields) = &role else {
        panic!("ROLE after REPLICAOF NO ONE: {role:?}");
    };
    assert_eq!(fields[0], bulk("master"), "ROLE after REPLICAOF NO ONE");
    let config_replicaof = |conn: &mut redis::Connection| -> Vec<String> {
        redis::cmd("CONFIG")
            .arg("GET")
            .arg("replicaof")
            .query(conn)
            .unwrap()
    };
    assert_eq!(
        config_replicaof(&mut to_replica),
        ["replicaof", ""],
        "CONFIG GET replicaof after REPLICAOF NO ONE"
    );
    expect(&mut to_replica, &["SET", "only-here", "1"], Value::Okay);
    // Written on the master meanwhile: the next sync must bring it.
    expect(&mut conn, &["SET", "while-apart", "1"], Value::Okay);

    expect(
        &mut to_replica,
        &["REPLICAOF", "127.0.0.1", &port],
        Value::Okay,
    );
    assert_eq!(
        config_replicaof(&mut to_replica),
        ["replicaof".to_string(), format!("127.0.0.1 {port}")],
        "CONFIG GET replicaof after REPLICAOF host port"
    );
    let copied = assert_replica_matches(
        &master,
        &replica,
        Copied::BySnapshot,
        "after following the master again",
    );
    assert!(
        copied.contains_key(b"while-apart".as_slice())
            && !copied.contains_key(b"only-here".as_slice()),
        "keys after following the master again: {:?}",
        copied.keys().collect::<Vec<_>>()
    );
    assert_eq!(
        info_number(&mut conn, "stats", "sync_full"),
        2,
        "sync_full on the master: the replica that took a write of its own resyncs in full"
    );
}

/// A replica expires nothing itself: a key whose time has come reads as missing there, but it
/// stays stored (DBSIZE counts it) until the master's DEL arrives, so a write the master still
/// makes on it finds it on the replica too. (Runs against redis-server replicas with
/// `SLOTCORE_TEST_TARGET=redis`.)
#[test]
fn a_replica_keeps_an_expired_key_until_its_master_deletes_it() {
    let master = Server::start(&[
        "--save",
        "",
        "--repl-diskless-sync-delay",
        "0",
        "--enable-debug-command",
        "yes",
    ]);
    let mut conn = master.client();
    // The master expires only on access: the key's DEL goes out when we ask.
    expect(&mut conn, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"], Value::Okay);
    let replica = start_slotcore_replica(&master);
    let mut on_replica = replica.client();
    expect(&mut conn, &["SET", "kept", "1"], Value::Okay);
    expect(&mut conn, &["SET", "short", "1", "PX", "1000"], Value::Okay);
    wait_in_sync(&master, &replica, "after the two SETs");
    let arrived: i64 = redis::cmd("DBSIZE").query(&mut on_replica).unwrap();
    assert_eq!(arrived, 2, "the keys reached the replica");
    // Past its time (the master has not looked at it).
    let due = common::eventually(SYNC_WAIT, || {
        redis::cmd("PTTL")
            .arg("short")
            .query::<i64>(&mut on_replica)
            .ok()
            == Some(-2)
    });
    assert!(due, "the key never read as expired on the replica");
    let value: Option<String> = redis::cmd("GET")
        .arg("short")
        .query(&mut on_replica)
        .unwrap();
    assert_eq!(value, None, "GET of an expired key on the replica");
    let exists: i64 = redis::cmd("EXISTS")
        .arg("short")
        .query(&mut on_replica)
        .unwrap();
    assert_eq!(exists, 0, "EXISTS of an expired key on the replica");
    let size: i64 = redis::cmd("DBSIZE").query(&mut on_replica).unwrap();
    assert_eq!(
        size, 2,
        "the replica still stores the key until its master's DEL"
    );

    // The master looks at it: it expires there, and its DEL reaches the replica.
    let gone: Option<String> = redis::cmd("GET").arg("short").query(&mut conn).unwrap();
    assert_eq!(gone, None);
    let deleted = common::eventually(SYNC_WAIT, || {
        redis::cmd("DBSIZE").query::<i64>(&mut on_replica).ok() == Some(1)
    });
    assert!(deleted, "the master's DEL never reached the replica");
}

// ---------------------------------------------------------------------------------------------
// CLIENT LIST and CLIENT KILL see the replicas.

/// The `field=value` pairs of a CLIENT LIST line.
fn client_fields(line: &str) -> HashMap<String, String> {
    line.split(' ')
        .filter_map(|pair| pair.split_once('='))
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

/// CLIENT LIST's lines for `args` (e.g. `TYPE replica`).
fn client_list(conn: &mut Connection, args: &[&str]) -> Vec<HashMap<String, String>> {
    let text: String = redis::cmd("CLIENT")
        .arg("LIST")
        .arg(args)
        .query(conn)
        .unwrap_or_else(|e| panic!("CLIENT LIST {args:?}: {e}"));
    text.lines().map(client_fields).collect()
}

/// A master lists its replica's connection in CLIENT LIST (flags `S`, last command REPLCONF,
/// under TYPE replica and TYPE slave, not under TYPE normal, and by ID), and CLIENT KILL TYPE
/// replica and CLIENT KILL ID drop it: the replica comes back with a partial resync each time.
#[test]
fn client_list_and_kill_see_the_replicas() {
    let master = start_master();
    let mut conn = master.client();
    let replica = start_replica(&master);
    expect(&mut conn, &["SET", "k", "v"], Value::Okay);
    wait_in_sync(&master, &replica, "after the first sync");

    for round in 1..=2i64 {
        let listed = client_list(&mut conn, &["TYPE", "replica"]);
        assert_eq!(
            listed.len(),
            1,
            "round {round}: CLIENT LIST TYPE replica: {listed:?}"
        );
        let line = &listed[0];
        assert_eq!(line["flags"], "S", "round {round}: the replica's flags");
        // PSYNC until its first REPLCONF ACK, then that.
        assert!(
            ["psync", "replconf"].contains(&line["cmd"].as_str()),
            "round {round}: the replica's last command: {line:?}"
        );
        assert_eq!(line["laddr"], format!("127.0.0.1:{}", master.port()));
        let id = line["id"].clone();
        assert_eq!(
            client_list(&mut conn, &["TYPE", "slave"]),
            listed,
            "TYPE slave"
        );
        assert_eq!(
            client_list(&mut conn, &["ID", &id]).len(),
            1,
            "CLIENT LIST ID {id}"
        );
        assert!(
            client_list(&mut conn, &["TYPE", "normal"])
                .iter()
                .all(|l| l["id"] != id),
            "round {round}: the replica under TYPE normal"
        );
        assert!(
            client_list(&mut conn, &[]).iter().any(|l| l["id"] == id),
            "round {round}: the replica in CLIENT LIST"
        );
        let kill: &[&str] = match round {
            1 => &["KILL", "TYPE", "replica"],
            _ => &["KILL", "ID", &id],
        };
        let killed: i64 = redis::cmd("CLIENT").arg(kill).query(&mut conn).unwrap();
        assert_eq!(killed, 1, "round {round}: CLIENT {kill:?}");
        let back = eventually(SYNC_WAIT, || {
            info_number(&mut conn, "stats", "sync_partial_ok") == round
                && client_list(&mut conn, &["TYPE", "replica"])
                    .iter()
                    .any(|l| l["id"] != id)
        });
        assert!(
            back,
            "round {round}: the replica never came back with a partial resync"
        );
    }
    assert_eq!(
        info_number(&mut conn, "stats", "sync_full"),
        1,
        "full syncs"
    );
}

// ---------------------------------------------------------------------------------------------
// A replica that stops reading during a streamed full sync.

/// A replica that asks for a streamed (diskless) full sync and then reads nothing does not make
/// the master queue the whole snapshot for it: its output (CLIENT LIST `omem`) stays within
/// 34 MB while the snapshot is about 100 MB, and after `repl-timeout` without progress it is
/// dropped, as Redis drops it; a replica that reads then syncs.
#[test]
fn a_stalled_replica_holds_back_a_streamed_sync_until_it_is_dropped() {
    let master = start_master();
    let mut conn = master.client();
    // 100 MB of values that do not compress (an RDB compresses repetitive ones to nothing).
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut noise = || {
        (0..25)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                format!("{seed:016x}")
            })
            .collect::<String>()
    };
    for chunk in 0..250 {
        let mut mset = redis::cmd("MSET");
        for i in 0..1000 {
            mset.arg(format!("stall:{chunk}:{i}")).arg(noise());
        }
        let () = mset.query(&mut conn).expect("MSET");
    }
    expect(
        &mut conn,
        &["CONFIG", "SET", "repl-timeout", "3"],
        Value::Okay,
    );
    let mut stalled = RawConn::new(master.raw());
    stalled.send_cmd(&[b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"]);
    assert_eq!(
        show(&stalled.read_frame().expect("REPLCONF reply")),
        "+OK\r\n"
    );
    stalled.send_cmd(&[b"PSYNC", b"?", b"-1"]);
    let queued = |conn: &mut Connection| -> Option<u64> {
        let text: String = redis::cmd("CLIENT")
            .arg(&["LIST", "TYPE", "replica"])
            .query(conn)
            .expect("CLIENT LIST TYPE replica");
        let line = text.lines().next()?;
        line.split(' ')
            .find_map(|pair| pair.strip_prefix("omem="))
            .and_then(|n| n.parse().ok())
    };
    let attached = eventually(SYNC_WAIT, || queued(&mut conn).is_some());
    assert!(attached, "the stalled replica never attached");
    let mut most = 0;
    let dropped = eventually(Duration::from_secs(30), || match queued(&mut conn) {
        Some(omem) => {
            most = most.max(omem);
            false
        }
        None => info_number(&mut conn, "replication", "connected_slaves") == 0,
    });
    assert!(
        dropped,
        "the stalled replica was never dropped (omem up to {most})"
    );
    assert!(
        most <= 34 << 20,
        "output queued for the stalled replica: {most} bytes"
    );
    assert!(
        master
            .log()
            .contains("Disconnecting timedout replica (full sync)"),
        "the master's log names no timed-out replica"
    );
    drop(stalled);
    let replica = start_replica(&master);
    wait_in_sync(&master, &replica, "a replica after the stalled one");
    let keys: i64 = redis::cmd("DBSIZE")
        .query(&mut replica.client())
        .expect("DBSIZE");
    assert_eq!(keys, 250_000, "keys on the replica that synced");
}
