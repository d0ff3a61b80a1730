//! RDB persistence as a user sees it, held to Redis 7.0's behaviour: SAVE, BGSAVE, save points,
//! SHUTDOWN and SIGTERM write `dump.rdb`; a server starts from a file written by itself or by the
//! other (slotcore and redis-server 7.0.15, both ways) with every type, encoding and expiry
//! intact; a damaged file stops the start; and a snapshot taken under load never holds half of a
//! multi-key write.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::dataset::flatten;
use common::every_type::{commands_for, names_on_both_cores, KINDS};
use common::{
    eventually, key_slot, run_in_expecting_exit, show, spread_keys, target_is_redis, RedisServer,
    Server, TempDir,
};
use redis::{Connection, Value};

/// How long anything asynchronous may take: a BGSAVE, a save point firing, a process exiting.
const WAIT: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------------
// A dataset with every type and encoding an RDB file carries.

/// The kinds whose keys also get an expiry.
const VOLATILE: &[&str] = &[
    "embstr",
    "compressible-big",
    "hll-dense",
    "list-big",
    "hash-small",
    "hash-big",
    "set-ints",
    "zset-big",
    "stream",
];

/// Keys with binary names: the kind of value and the name's prefix.
const BINARY_NAMES: &[(&str, &[u8])] = &[
    ("binary", b"\x00\xffbinary name\r\n"),
    ("hash-small", b"\xfe\x00hash"),
    ("zset-small", b"zset \x01\x02"),
];

fn now_ms() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970");
    i64::try_from(since_epoch.as_millis()).expect("milliseconds fit i64")
}

/// Fills a server with a key of every kind in [`KINDS`] on each shard core, binary key names,
/// expiries far in the future on the [`VOLATILE`] kinds, and small strings over many slots.
fn fill_every_type(conn: &mut Connection) {
    let mut keys: Vec<(&str, Vec<u8>)> = Vec::new();
    for kind in KINDS {
        keys.extend(names_on_both_cores(kind.as_bytes()).map(|name| (*kind, name)));
    }
    for (kind, prefix) in BINARY_NAMES {
        keys.extend(names_on_both_cores(prefix).map(|name| (*kind, name)));
    }
    let expire_at_ms = now_ms() + 30 * 24 * 3600 * 1000;
    let mut pipe = redis::pipe();
    for (index, (kind, key)) in keys.iter().enumerate() {
        for command in commands_for(kind, key) {
            pipe.add_command(command).ignore();
        }
        if VOLATILE.contains(kind) {
            let at = expire_at_ms + 1000 * index as i64;
            pipe.cmd("PEXPIREAT").arg(key).arg(at).ignore();
        }
    }
    for key in spread_keys("spread", 128) {
        pipe.cmd("SET")
            .arg(&key)
            .arg(format!("value of {key}"))
            .ignore();
    }
    let () = pipe.query(conn).expect("fill the dataset");
}

// ---------------------------------------------------------------------------------------------
// Reading a dataset back to compare it.

/// What a client can see of one key.
struct KeyState {
    kind: String,
    encoding: String,
    /// PEXPIRETIME: the absolute expiry in Unix milliseconds, -1 for none.
    expire_at_ms: i64,
    /// The value, in an order that does not depend on hash-table order.
    contents: Vec<Vec<u8>>,
    /// DUMP's payload, except for hashtable-encoded hashes and sets: those are saved in their
    /// table's order, which differs from one process to the next (even between two
    /// redis-servers).
    dump: Option<Vec<u8>>,
}

type Dataset = BTreeMap<Vec<u8>, KeyState>;

fn snapshot(conn: &mut Connection) -> Dataset {
    let keys: Vec<Vec<u8>> = redis::cmd("KEYS").arg("*").query(conn).unwrap();
    keys.into_iter()
        .map(|key| {
            let state = key_state(conn, &key);
            (key, state)
        })
        .collect()
}

fn key_state(conn: &mut Connection, key: &[u8]) -> KeyState {
    let kind: String = redis::cmd("TYPE").arg(key).query(conn).unwrap();
    let encoding: String = redis::cmd("OBJECT")
        .arg("ENCODING")
        .arg(key)
        .query(conn)
        .unwrap();
    let expire_at_ms: i64 = redis::cmd("PEXPIRETIME").arg(key).query(conn).unwrap();
    let contents = contents(conn, key, &kind);
    let ordered = !(matches!(kind.as_str(), "hash" | "set") && encoding == "hashtable");
    let dump = ordered.then(|| redis::cmd("DUMP").arg(key).query(conn).unwrap());
    KeyState {
        kind,
        encoding,
        expire_at_ms,
        contents,
        dump,
    }
}

fn contents(conn: &mut Connection, key: &[u8], kind: &str) -> Vec<Vec<u8>> {
    let query = |cmd: &mut redis::Cmd, conn: &mut Connection| -> Vec<Vec<u8>> {
        cmd.query(conn)
            .unwrap_or_else(|e| panic!("read {}: {e}", show(key)))
    };
    match kind {
        "string" => {
            let value: Vec<u8> = redis::cmd("GET").arg(key).query(conn).unwrap();
            vec![value]
        }
        "list" => query(redis::cmd("LRANGE").arg(key).arg(0).arg(-1), conn),
        "zset" => query(
            redis::cmd("ZRANGE")
                .arg(key)
                .arg(0)
                .arg(-1)
                .arg("WITHSCORES"),
            conn,
        ),
        "set" => {
            let mut members = query(redis::cmd("SMEMBERS").arg(key), conn);
            members.sort();
            members
        }
        "hash" => {
            let flat = query(redis::cmd("HGETALL").arg(key), conn);
            let mut pairs: Vec<Vec<u8>> = flat
                .chunks(2)
                .map(|pair| [&pair[0][..], b" => ", &pair[1][..]].concat())
                .collect();
            pairs.sort();
            pairs
        }
        "stream" => stream_contents(conn, key),
        other => panic!("unexpected type {other} of {}", show(key)),
    }
}

/// A stream's entries and everything XINFO STREAM FULL says of it (groups, consumers, pending
/// entries with their delivery times and counts), less the radix tree's node counts, which
/// depend on the implementation.
fn stream_contents(conn: &mut Connection, key: &[u8]) -> Vec<Vec<u8>> {
    let entries: Value = redis::cmd("XRANGE")
        .arg(key)
        .arg("-")
        .arg("+")
        .query(conn)
        .unwrap();
    let info: Value = redis::cmd("XINFO")
        .arg("STREAM")
        .arg(key)
        .arg("FULL")
        .query(conn)
        .unwrap();
    let Value::Array(fields) = info else {
        panic!("XINFO STREAM FULL reply: {info:?}");
    };
    let mut out = Vec::new();
    flatten(&entries, &mut out);
    for pair in fields.chunks(2) {
        let mut name = Vec::new();
        flatten(&pair[0], &mut name);
        if !name[0].starts_with(b"radix-tree") {
            out.extend(name);
            flatten(&pair[1], &mut out);
        }
    }
    out
}

/// Asserts `actual` holds the same keys as `expected`, each with the same type, encoding,
/// absolute expiry, contents and (where it is deterministic) DUMP payload.
fn assert_same_dataset(expected: &Dataset, actual: &Dataset, what: &str) {
    let missing: Vec<String> = expected
        .keys()
        .filter(|key| !actual.contains_key(*key))
        .map(|key| show(key))
        .collect();
    let extra: Vec<String> = actual
        .keys()
        .filter(|key| !expected.contains_key(*key))
        .map(|key| show(key))
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{what}: keys missing: {missing:?}; keys not expected: {extra:?}"
    );
    for (key, want) in expected {
        let got = &actual[key];
        let name = show(key);
        assert_eq!(got.kind, want.kind, "{what}: TYPE of {name}");
        assert_eq!(
            got.encoding, want.encoding,
            "{what}: OBJECT ENCODING of {name}"
        );
        assert_eq!(
            got.expire_at_ms, want.expire_at_ms,
            "{what}: PEXPIRETIME of {name}"
        );
        if got.contents != want.contents {
            let first = (0..want.contents.len().max(got.contents.len()))
                .find(|&i| got.contents.get(i) != want.contents.get(i))
                .unwrap_or(0);
            panic!(
                "{what}: contents of {name} differ ({} items expected, {} found); first \
                 difference at item {first}: expected {:?}, found {:?}",
                want.contents.len(),
                got.contents.len(),
                want.contents.get(first).map(|item| show(item)),
                got.contents.get(first).map(|item| show(item)),
            );
        }
        if let (Some(want_dump), Some(got_dump)) = (&want.dump, &got.dump) {
            assert!(
                want_dump == got_dump,
                "{what}: DUMP of {name} differs:\nexpected {}\nfound    {}",
                show(want_dump),
                show(got_dump)
            );
        }
    }
}

/// Asserts every key of `expected` with an expiry has a PTTL that counts down to it (within a
/// minute's tolerance) and every other key has none.
fn assert_ttls(conn: &mut Connection, expected: &Dataset, what: &str) {
    for (key, state) in expected {
        let ttl_ms: i64 = redis::cmd("PTTL").arg(key).query(conn).unwrap();
        if state.expire_at_ms < 0 {
            assert_eq!(ttl_ms, -1, "{what}: PTTL of {}", show(key));
        } else {
            let remaining_ms = state.expire_at_ms - now_ms();
            assert!(
                ttl_ms > 0 && (ttl_ms - remaining_ms).abs() < 60_000,
                "{what}: PTTL of {} is {ttl_ms}, expected about {remaining_ms}",
                show(key)
            );
        }
    }
}

/// Asserts a server holds the whole dataset [`fill_every_type`] wrote, over both cores.
fn assert_dataset_is_full(dataset: &Dataset, what: &str) {
    let kinds: Vec<&str> = KINDS
        .iter()
        .copied()
        .chain(BINARY_NAMES.iter().map(|(kind, _)| *kind))
        .collect();
    let volatile_kinds = kinds.iter().filter(|kind| VOLATILE.contains(kind)).count();
    let volatile = dataset.values().filter(|s| s.expire_at_ms >= 0).count();
    assert_eq!(dataset.len(), 128 + 2 * kinds.len(), "{what}: keys");
    assert_eq!(volatile, 2 * volatile_kinds, "{what}: keys with an expiry");
    let parities: BTreeSet<u16> = dataset.keys().map(|key| key_slot(key) % 2).collect();
    assert_eq!(parities.len(), 2, "{what}: keys in both even and odd slots");
}

// ---------------------------------------------------------------------------------------------
// Saving, INFO persistence, shutting down.

/// INFO persistence as field → value.
fn persistence_info(conn: &mut Connection) -> HashMap<String, String> {
    common::info(conn, "persistence")
}

/// One INFO persistence field as a number.
fn info_number(conn: &mut Connection, field: &str) -> i64 {
    common::info_number(conn, "persistence", field)
}

fn lastsave(conn: &mut Connection) -> i64 {
    redis::cmd("LASTSAVE").query(conn).unwrap()
}

/// SAVE, which must reply OK.
fn save(conn: &mut Connection) {
    let reply: Value = redis::cmd("SAVE").query(conn).unwrap();
    assert_eq!(reply, Value::Okay, "SAVE");
}

/// Sends BGSAVE with `args`, asserts the status reply `Background saving started`, and waits
/// until INFO shows it finished (no save in progress, one more in `rdb_saves`) and succeeded.
fn bgsave(conn: &mut Connection, args: &[&str]) {
    let saves_before = info_number(conn, "rdb_saves");
    let reply: Value = redis::cmd("BGSAVE").arg(args).query(conn).unwrap();
    assert_eq!(
        reply,
        Value::SimpleString("Background saving started".into()),
        "BGSAVE {args:?}"
    );
    let mut info = HashMap::new();
    let done = eventually(WAIT, || {
        info = persistence_info(conn);
        let saves: Option<i64> = info.get("rdb_saves").and_then(|n| n.parse().ok());
        let in_progress = info.get("rdb_bgsave_in_progress").map(String::as_str);
        in_progress == Some("0") && saves > Some(saves_before)
    });
    assert!(
        done,
        "BGSAVE {args:?} did not finish within {WAIT:?}; INFO: {info:?}"
    );
    assert_eq!(
        info["rdb_last_bgsave_status"], "ok",
        "BGSAVE {args:?}; INFO: {info:?}"
    );
}

/// Sends SHUTDOWN with `args` and waits for the process to exit with status 0.
fn shutdown(server: &mut Server, args: &[&str]) {
    common::shutdown(server, args, WAIT);
}

fn set(conn: &mut Connection, key: &str, value: &str) {
    let () = redis::cmd("SET").arg(key).arg(value).query(conn).unwrap();
}

fn get(conn: &mut Connection, key: &str) -> Option<String> {
    redis::cmd("GET").arg(key).query(conn).unwrap()
}

/// Copies `from` to `dump.rdb` in a new directory.
fn copy_to_new_dir(from: &Path) -> TempDir {
    let dir = TempDir::new("persistence-copy");
    fs::copy(from, dir.path().join("dump.rdb"))
        .unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
    dir
}

// ---------------------------------------------------------------------------------------------
// Loading a file another server wrote.

/// Fills `source` with every type, SAVEs it, and returns what it held.
fn fill_and_save(source: &Server) -> Dataset {
    let mut conn = source.client();
    fill_every_type(&mut conn);
    let before = snapshot(&mut conn);
    assert_dataset_is_full(&before, source.name());
    save(&mut conn);
    before
}

/// Asserts `destination`, started on a saved file, holds `before`.
fn assert_loaded(destination: &Server, before: &Dataset, what: &str) {
    let mut loaded = destination.client();
    let after = snapshot(&mut loaded);
    assert_same_dataset(before, &after, what);
    let size: usize = redis::cmd("DBSIZE").query(&mut loaded).unwrap();
    assert_eq!(size, before.len(), "{what}: DBSIZE");
    assert_ttls(&mut loaded, before, what);
}

/// redis-server 7.0 loads slotcore's dump.rdb with every type, encoding, value and absolute
/// expiry as slotcore held them.
#[test]
fn redis_loads_a_file_slotcore_saved() {
    let source = Server::start(&[]);
    let before = fill_and_save(&source);
    let copy = copy_to_new_dir(&source.dir().join("dump.rdb"));
    let destination = RedisServer::start_in(copy.path(), &[]);
    assert_loaded(
        &destination,
        &before,
        "slotcore's file loaded by redis-server",
    );
}

/// slotcore loads redis-server 7.0's dump.rdb with every type, encoding, value and absolute
/// expiry as Redis held them, spread over both shard cores.
#[test]
fn slotcore_loads_a_file_redis_saved() {
    let source = RedisServer::start();
    let before = fill_and_save(&source);
    let copy = copy_to_new_dir(&source.dir().join("dump.rdb"));
    let destination = Server::start_in(copy.path(), &[]);
    assert_loaded(
        &destination,
        &before,
        "redis-server's file loaded by slotcore",
    );
}

/// slotcore restarted on its own directory comes back with the dataset it saved.
#[test]
fn slotcore_restarts_from_its_own_file() {
    let data = TempDir::new("persistence-data");
    let first = Server::start_in(data.path(), &[]);
    let before = fill_and_save(&first);
    drop(first);
    let restarted = Server::start_in(data.path(), &[]);
    assert_loaded(&restarted, &before, "slotcore restarted on its own file");
}

/// An empty dump.rdb from redis-server (SAVE on an empty server) loads as an empty dataset.
#[test]
fn empty_file_from_redis_loads_as_empty_dataset() {
    let redis_server = RedisServer::start();
    save(&mut redis_server.client());
    let copy = copy_to_new_dir(&redis_server.dir().join("dump.rdb"));
    let server = Server::start_in(copy.path(), &[]);
    let mut conn = server.client();
    let size: i64 = redis::cmd("DBSIZE").query(&mut conn).unwrap();
    assert_eq!(size, 0, "DBSIZE after loading an empty file");
    set(&mut conn, "k", "v");
    assert_eq!(get(&mut conn, "k").as_deref(), Some("v"));
}

// ---------------------------------------------------------------------------------------------
// SAVE, BGSAVE, LASTSAVE and INFO persistence.

/// SAVE and BGSAVE (also BGSAVE SCHEDULE with none running) write dump.rdb, move LASTSAVE and
/// `rdb_last_save_time` on, count in `rdb_saves`, and reset `rdb_changes_since_last_save`; the
/// file BGSAVE wrote holds the writes made after the SAVE before it.
#[test]
fn save_and_bgsave_write_the_file_and_show_in_info() {
    let server = Server::start(&[]);
    let mut conn = server.client();
    let file = server.dir().join("dump.rdb");
    let info = persistence_info(&mut conn);
    assert_eq!(info["rdb_saves"], "0", "INFO at start: {info:?}");
    assert_eq!(
        info["rdb_bgsave_in_progress"], "0",
        "INFO at start: {info:?}"
    );
    assert!(!file.exists(), "dump.rdb before any save");

    for key in ["a", "b", "c"] {
        let () = redis::cmd("SET")
            .arg(key)
            .arg(key)
            .query(&mut conn)
            .unwrap();
    }
    assert!(
        info_number(&mut conn, "rdb_changes_since_last_save") > 0,
        "after 3 SETs"
    );
    let started = lastsave(&mut conn);
    save(&mut conn);
    assert!(file.exists(), "dump.rdb after SAVE");
    let after_save = lastsave(&mut conn);
    assert!(
        after_save >= started,
        "LASTSAVE {after_save} after SAVE, {started} before"
    );
    assert_eq!(info_number(&mut conn, "rdb_last_save_time"), after_save);
    assert_eq!(info_number(&mut conn, "rdb_changes_since_last_save"), 0);
    assert_eq!(info_number(&mut conn, "rdb_saves"), 1, "after SAVE");

    set(&mut conn, "d", "after save");
    assert!(
        info_number(&mut conn, "rdb_changes_since_last_save") > 0,
        "after a SET"
    );
    // LASTSAVE counts seconds: start the BGSAVE in a later second than the SAVE.
    let next_second = eventually(Duration::from_secs(3), || now_ms() / 1000 > after_save);
    assert!(next_second, "the clock passes LASTSAVE {after_save}");
    bgsave(&mut conn, &[]);
    let after_bgsave = lastsave(&mut conn);
    assert!(
        after_bgsave > after_save,
        "LASTSAVE {after_bgsave} after BGSAVE, {after_save} before"
    );
    let info = persistence_info(&mut conn);
    assert_eq!(
        info["rdb_last_save_time"],
        after_bgsave.to_string(),
        "{info:?}"
    );
    assert_eq!(info["rdb_changes_since_last_save"], "0", "{info:?}");
    assert_eq!(info["rdb_saves"], "2", "after SAVE and BGSAVE: {info:?}");
    let seconds: i64 = info["rdb_last_bgsave_time_sec"].parse().unwrap();
    assert!(
        seconds >= 0,
        "rdb_last_bgsave_time_sec after a BGSAVE: {info:?}"
    );

    set(&mut conn, "e", "scheduled");
    bgsave(&mut conn, &["SCHEDULE"]);
    assert_eq!(
        info_number(&mut conn, "rdb_saves"),
        3,
        "after BGSAVE SCHEDULE"
    );

    // The file the last BGSAVE wrote holds every write, also those after the SAVE.
    let copy = copy_to_new_dir(&file);
    let loaded = RedisServer::start_in(copy.path(), &[]);
    let mut loaded = loaded.client();
    for (key, value) in [("a", "a"), ("d", "after save"), ("e", "scheduled")] {
        assert_eq!(
            get(&mut loaded, key).as_deref(),
            Some(value),
            "{key} in the BGSAVE file"
        );
    }
}

/// A save point (CONFIG SET save "1 1") saves on its own after a write, and a restart from
/// that file has the write.
#[test]
fn save_point_saves_after_a_write() {
    let data = TempDir::new("persistence-data");
    let file = data.path().join("dump.rdb");
    let server = Server::start_in(data.path(), &["--save", ""]);
    let mut conn = server.client();
    common::config_set(&mut conn, "save", "1 1");
    set(&mut conn, "k", "saved by a save point");
    let mut info = HashMap::new();
    let saved = eventually(WAIT, || {
        info = persistence_info(&mut conn);
        file.exists() && info["rdb_changes_since_last_save"] == "0"
    });
    assert!(
        saved,
        "no save within {WAIT:?} of a write with save \"1 1\"; INFO: {info:?}"
    );
    assert_eq!(info["rdb_bgsave_in_progress"], "0", "{info:?}");
    assert_eq!(info["rdb_last_bgsave_status"], "ok", "{info:?}");
    drop(server);
    let restarted = Server::start_in(data.path(), &["--save", ""]);
    let value = get(&mut restarted.client(), "k");
    assert_eq!(value.as_deref(), Some("saved by a save point"));
}

// ---------------------------------------------------------------------------------------------
// SHUTDOWN and SIGTERM.

/// Without save points SHUTDOWN does not save; SHUTDOWN SAVE does, and a restart has the keys.
#[test]
fn shutdown_saves_without_save_points_only_when_asked() {
    let data = TempDir::new("persistence-data");
    let file = data.path().join("dump.rdb");
    let no_save_points = ["--save", ""];
    let mut server = Server::start_in(data.path(), &no_save_points);
    set(&mut server.client(), "a", "1");
    shutdown(&mut server, &[]);
    assert!(
        !file.exists(),
        "dump.rdb after SHUTDOWN with no save points"
    );

    let mut server = Server::start_in(data.path(), &no_save_points);
    let mut conn = server.client();
    assert_eq!(get(&mut conn, "a"), None, "a key nothing saved");
    set(&mut conn, "b", "2");
    shutdown(&mut server, &["SAVE"]);
    assert!(file.exists(), "dump.rdb after SHUTDOWN SAVE");

    let server = Server::start_in(data.path(), &no_save_points);
    assert_eq!(
        get(&mut server.client(), "b").as_deref(),
        Some("2"),
        "after SHUTDOWN SAVE"
    );
}

/// With a save point plain SHUTDOWN saves and SHUTDOWN NOSAVE leaves the file as it was.
#[test]
fn shutdown_with_save_points_saves_unless_nosave() {
    let data = TempDir::new("persistence-data");
    let file = data.path().join("dump.rdb");
    let save_points = ["--save", "3600 1"];
    let mut server = Server::start_in(data.path(), &save_points);
    set(&mut server.client(), "a", "1");
    shutdown(&mut server, &[]);
    assert!(file.exists(), "dump.rdb after SHUTDOWN with a save point");
    let saved = fs::read(&file).unwrap();

    let mut server = Server::start_in(data.path(), &save_points);
    let mut conn = server.client();
    assert_eq!(get(&mut conn, "a").as_deref(), Some("1"), "after SHUTDOWN");
    set(&mut conn, "b", "2");
    shutdown(&mut server, &["NOSAVE"]);
    assert!(
        fs::read(&file).unwrap() == saved,
        "dump.rdb changed by SHUTDOWN NOSAVE"
    );

    let server = Server::start_in(data.path(), &save_points);
    let mut conn = server.client();
    assert_eq!(
        get(&mut conn, "a").as_deref(),
        Some("1"),
        "after SHUTDOWN NOSAVE"
    );
    assert_eq!(get(&mut conn, "b"), None, "a write SHUTDOWN NOSAVE dropped");
}

/// SIGTERM acts as plain SHUTDOWN: no file without save points, a saved file with one, and
/// exit status 0 both times.
#[test]
fn sigterm_shuts_down_like_shutdown() {
    let data = TempDir::new("persistence-data");
    let file = data.path().join("dump.rdb");
    for (save, saves) in [("", false), ("3600 1", true)] {
        let mut server = Server::start_in(data.path(), &["--save", save]);
        let () = redis::cmd("SET")
            .arg("k")
            .arg(save)
            .query(&mut server.client())
            .unwrap();
        let kill = Command::new("kill")
            .arg("-TERM")
            .arg(server.pid().to_string())
            .status()
            .expect("run kill");
        assert!(kill.success(), "kill -TERM {}", server.pid());
        let status = server
            .wait_exit(WAIT)
            .unwrap_or_else(|| panic!("{} runs on after SIGTERM", server.name()));
        assert!(
            status.success(),
            "exit after SIGTERM (save {save:?}): {status}"
        );
        assert_eq!(
            file.exists(),
            saves,
            "dump.rdb after SIGTERM with save {save:?}"
        );
    }
    let server = Server::start_in(data.path(), &["--save", ""]);
    assert_eq!(get(&mut server.client(), "k").as_deref(), Some("3600 1"));
}

// ---------------------------------------------------------------------------------------------
// Damaged files.

/// The value [`saved_file`] writes that a test finds in the file: short enough (at most 20
/// bytes) to be stored as it is, never compressed.
const NEEDLE: &[u8] = b"needle-value-0123";

/// Writes every type with the server under test, plus the key `needle` holding [`NEEDLE`], and
/// returns its dump.rdb's bytes and the offset of the needle in them.
fn saved_file(data: &Path) -> (Vec<u8>, usize) {
    let server = Server::start_in(data, &[]);
    let mut conn = server.client();
    fill_every_type(&mut conn);
    let () = redis::cmd("SET")
        .arg("needle")
        .arg(NEEDLE)
        .query(&mut conn)
        .unwrap();
    save(&mut conn);
    let bytes = fs::read(data.join("dump.rdb")).expect("read dump.rdb");
    let at = bytes
        .windows(NEEDLE.len())
        .position(|window| window == NEEDLE)
        .expect("the needle's value stored as it is");
    (bytes, at)
}

/// Starts the server under test on `data`, whose dump.rdb is `damaged`, and asserts it refuses
/// to start, says why in its log, and leaves the file in place.
fn assert_refuses(data: &Path, damaged: &[u8], redis_says: &str) {
    fs::write(data.join("dump.rdb"), damaged).unwrap();
    let (status, log) = run_in_expecting_exit(data, &[], WAIT);
    let status = status.unwrap_or_else(|| panic!("still running after {WAIT:?}; log:\n{log}"));
    assert!(
        !status.success(),
        "exit status {status} with a damaged dump.rdb; log:\n{log}"
    );
    assert!(
        log.to_lowercase().contains("rdb"),
        "the log does not mention the RDB file:\n{log}"
    );
    if target_is_redis() {
        assert!(
            log.contains(redis_says),
            "redis-server's log lacks {redis_says:?}:\n{log}"
        );
    }
    let left = fs::read(data.join("dump.rdb")).expect("dump.rdb is still there");
    assert!(left == damaged, "dump.rdb changed by the failed start");
}

/// A dump.rdb cut short (inside a value: where keys lie in the file differs from run to run)
/// makes the start fail, with the file left as it was.
#[test]
fn truncated_file_stops_the_start() {
    let data = TempDir::new("persistence-data");
    let (bytes, needle_at) = saved_file(data.path());
    let cut = &bytes[..needle_at + NEEDLE.len() / 2];
    assert_refuses(data.path(), cut, "Short read or OOM loading DB");
}

/// A dump.rdb with one byte changed inside a value (so it still parses) fails its checksum:
/// the start fails, with the file left as it was.
#[test]
fn flipped_byte_fails_the_checksum() {
    let data = TempDir::new("persistence-data");
    let (mut bytes, needle_at) = saved_file(data.path());
    bytes[needle_at + 3] ^= 0x20;
    assert_refuses(data.path(), &bytes, "Wrong RDB checksum");
}

// ---------------------------------------------------------------------------------------------
// Snapshots under load, DEBUG RELOAD.

/// A writer's keys, spread over both shard cores, and how it writes them.
struct Writer {
    keys: Vec<String>,
    /// MSET of all keys (else MULTI with an INCR of each).
    mset: bool,
}

fn names_on_both_cores_text(prefix: &str) -> Vec<String> {
    names_on_both_cores(prefix.as_bytes())
        .into_iter()
        .map(|name| String::from_utf8(name).expect("text name"))
        .collect()
}

/// Runs `writer` until `stop`, counting its writes in `done`.
fn write_until(writer: &Writer, url: &str, stop: &AtomicBool, done: &AtomicU64) {
    let mut conn = common::connect_url(url);
    let mut counter = 0u64;
    while !stop.load(Ordering::Relaxed) {
        counter += 1;
        if writer.mset {
            let mut mset = redis::cmd("MSET");
            for key in &writer.keys {
                mset.arg(key).arg(counter);
            }
            let () = mset.query(&mut conn).expect("MSET");
        } else {
            let mut multi = redis::pipe();
            multi.atomic();
            for key in &writer.keys {
                multi.cmd("INCR").arg(key);
            }
            let _: Vec<i64> = multi.query(&mut conn).expect("MULTI/EXEC");
        }
        done.fetch_add(1, Ordering::Relaxed);
    }
}

/// The one value all of `keys` hold in a loaded snapshot (0 when none exists yet); panics when
/// they differ, which would be half a multi-key write in the file.
fn one_value(conn: &mut Connection, keys: &[String], what: &str) -> u64 {
    let values: Vec<Option<u64>> = redis::cmd("MGET").arg(keys).query(conn).unwrap();
    let first = values[0];
    assert!(
        values.iter().all(|value| *value == first),
        "{what}: a multi-key write is cut in half: {keys:?} = {values:?}"
    );
    first.unwrap_or(0)
}

/// SAVE and BGSAVE taken while clients run MSETs and MULTI/EXEC INCRs over keys on both shard
/// cores write files that hold each such write whole or not at all.
#[test]
fn snapshots_under_load_hold_multi_key_writes_whole() {
    let server = Server::start(&["--enable-debug-command", "yes"]);
    // Enough keys that serializing them takes a while: the writers then
    // change keys the snapshot has not written yet.
    const FILLER: i64 = 200_000;
    let mut setup = server.client();
    let _: () = redis::cmd("DEBUG")
        .arg("POPULATE")
        .arg(FILLER)
        .arg("filler")
        .arg(64)
        .query(&mut setup)
        .expect("DEBUG POPULATE");
    let writers: Vec<Writer> = (0..3)
        .map(|index| {
            let mut keys = names_on_both_cores_text(&format!("w{index}:a"));
            keys.extend(names_on_both_cores_text(&format!("w{index}:b")));
            Writer {
                keys,
                mset: index < 2,
            }
        })
        .collect();
    let writers = Arc::new(writers);
    let stop = Arc::new(AtomicBool::new(false));
    let done: Arc<Vec<AtomicU64>> =
        Arc::new((0..writers.len()).map(|_| AtomicU64::new(0)).collect());
    let threads: Vec<_> = (0..writers.len())
        .map(|index| {
            let (writers, stop, done, url) =
                (writers.clone(), stop.clone(), done.clone(), server.url());
            thread::spawn(move || write_until(&writers[index], &url, &stop, &done[index]))
        })
        .collect();
    let started = eventually(WAIT, || {
        done.iter().all(|count| count.load(Ordering::Relaxed) > 50)
    });
    assert!(started, "writers did not get going");

    let snapshots = TempDir::new("persistence-snapshots");
    let mut conn = server.client();
    for round in 0..6 {
        if round % 2 == 0 {
            save(&mut conn);
        } else {
            bgsave(&mut conn, &[]);
        }
        let path = snapshots.path().join(format!("{round}.rdb"));
        fs::copy(server.dir().join("dump.rdb"), &path).unwrap();
        thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::Relaxed);
    for thread in threads {
        thread.join().expect("a writer failed");
    }

    let mut seen = BTreeSet::new();
    for round in 0..6 {
        let copy = copy_to_new_dir(&snapshots.path().join(format!("{round}.rdb")));
        let loaded = RedisServer::start_in(copy.path(), &[]);
        let mut loaded = loaded.client();
        let size: i64 = redis::cmd("DBSIZE").query(&mut loaded).expect("DBSIZE");
        let written: usize = writers.iter().map(|w| w.keys.len()).sum();
        assert_eq!(
            size,
            FILLER + written as i64,
            "snapshot {round} holds each key once"
        );
        for writer in writers.iter() {
            let value = one_value(&mut loaded, &writer.keys, &format!("snapshot {round}"));
            if writer.mset {
                seen.insert(value);
            }
        }
    }
    assert!(
        seen.len() > 2,
        "writes went on between the snapshots: {seen:?}"
    );
}

/// DEBUG RELOAD (save, empty, load) replies OK and leaves every key as it was.
#[test]
fn debug_reload_keeps_the_dataset() {
    let server = Server::start(&["--enable-debug-command", "yes"]);
    let mut conn = server.client();
    fill_every_type(&mut conn);
    let before = snapshot(&mut conn);
    assert_dataset_is_full(&before, server.name());
    let reply: Value = redis::cmd("DEBUG").arg("RELOAD").query(&mut conn).unwrap();
    assert_eq!(reply, Value::Okay, "DEBUG RELOAD");
    assert!(
        server.dir().join("dump.rdb").exists(),
        "dump.rdb after DEBUG RELOAD"
    );
    let after = snapshot(&mut conn);
    assert_same_dataset(&before, &after, "after DEBUG RELOAD");
    assert_ttls(&mut conn, &before, "after DEBUG RELOAD");
}

// ---------------------------------------------------------------------------------------------
// A save that fails.

/// The reply to a write refused after a failed background save.
const MISCONF: &str = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

/// Runs `command` and returns its error's text ("" when it succeeded).
fn error_of(conn: &mut Connection, command: &[&str]) -> String {
    let mut cmd = redis::cmd(command[0]);
    cmd.arg(&command[1..]);
    match cmd.query::<Value>(conn) {
        Ok(_) => String::new(),
        Err(error) => {
            let code = error.code().unwrap_or_default().to_string();
            let detail = error.detail().unwrap_or_default().to_string();
            format!("{code} {detail}")
        }
    }
}

/// A background save that cannot write its file (a directory stands where dump.rdb goes)
/// reports `err`, and with save points set the server refuses writes and PING with MISCONF
/// while reads go on, until `stop-writes-on-bgsave-error no` or a save that succeeds. A failed
/// SAVE answers `ERR`.
#[test]
fn a_failed_background_save_stops_writes() {
    common::on_both(&["--save", "3600 1"], &["--save", "3600 1"], |server| {
        let name = server.name();
        let mut conn = server.client();
        set(&mut conn, "k", "v");
        let blocker = server.dir().join("dump.rdb");
        fs::create_dir(&blocker).unwrap();
        assert_eq!(error_of(&mut conn, &["SAVE"]), "ERR ", "{name}: SAVE");
        let reply: Value = redis::cmd("BGSAVE").query(&mut conn).unwrap();
        assert_eq!(
            reply,
            Value::SimpleString("Background saving started".into())
        );
        let failed = eventually(WAIT, || {
            let info = persistence_info(&mut conn);
            info["rdb_bgsave_in_progress"] == "0" && info["rdb_last_bgsave_status"] == "err"
        });
        assert!(failed, "{name}: the BGSAVE did not fail");
        for command in [&["SET", "k", "w"][..], &["PING"], &["DEL", "k"]] {
            assert_eq!(error_of(&mut conn, command), MISCONF, "{name}: {command:?}");
        }
        assert_eq!(
            get(&mut conn, "k").as_deref(),
            Some("v"),
            "{name}: reads go on"
        );
        let mut transaction = redis::pipe();
        transaction.atomic().cmd("SET").arg("k").arg("x");
        let refused: redis::RedisResult<Value> = transaction.query(&mut conn);
        assert!(refused.is_err(), "{name}: a write in MULTI: {refused:?}");

        common::config_set(&mut conn, "stop-writes-on-bgsave-error", "no");
        set(&mut conn, "k", "w");
        common::config_set(&mut conn, "stop-writes-on-bgsave-error", "yes");
        assert_eq!(error_of(&mut conn, &["SET", "k", "x"]), MISCONF, "{name}");

        fs::remove_dir(&blocker).unwrap();
        bgsave(&mut conn, &[]);
        set(&mut conn, "k", "after");
        assert_eq!(get(&mut conn, "k").as_deref(), Some("after"), "{name}");
    });
}
