//! The append-only file as a user sees it, held to Redis 7.0's multi-part AOF: with
//! `appendonly yes` the server keeps `appendonlydir/` with a base (an RDB image,
//! `appendonly.aof.N.base.rdb`), an incremental file of RESP commands (`appendonly.aof.N.incr.aof`)
//! and a manifest naming them (`appendonly.aof.manifest`, lines `file NAME seq N type b|i`).
//! Every write survives a SIGKILL and comes back on the next start; BGREWRITEAOF and
//! `CONFIG SET appendonly yes` write a new base; an AOF takes precedence over dump.rdb; an incr
//! file cut short loads up to the cut (or stops the start with `aof-load-truncated no`); a
//! directory written by slotcore loads in redis-server 7.0.15 and the other way round; INFO
//! persistence reports it; a replica keeps what it synced in its own AOF.
//!
//! The servers run with `--save ""` throughout, so no dump.rdb plays a part unless a test
//! writes one on purpose.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::dataset::{assert_same_dataset, snapshot, Copied, Dataset};
use common::every_type::{commands_for, names_on_both_cores, with_key, KINDS};
use common::{
    eventually, frame_end, key_slot, run_in_expecting_exit, show, spread_keys, target_is_redis,
    Frame, RedisServer, Server, TempDir,
};
use redis::{Connection, Value};

/// How long anything asynchronous may take: a rewrite, a replica's sync, a process exiting.
const WAIT: Duration = Duration::from_secs(30);

/// The directory Redis 7.0 keeps its AOF in (`appenddirname`), under `dir`.
const AOF_DIR: &str = "appendonlydir";
/// The manifest's name (`appendfilename` plus `.manifest`).
const MANIFEST: &str = "appendonly.aof.manifest";

/// The reply to BGREWRITEAOF when the rewrite starts at once.
const REWRITE_STARTED: &str = "Background append only file rewriting started";

/// The options every AOF server here starts with: no save points, AOF on.
const AOF_ON: &[&str] = &["--save", "", "--appendonly", "yes"];
/// [`AOF_ON`] with an fsync after every write.
const AOF_ALWAYS: &[&str] = &[
    "--save",
    "",
    "--appendonly",
    "yes",
    "--appendfsync",
    "always",
];
/// No save points, AOF off.
const AOF_OFF: &[&str] = &["--save", "", "--appendonly", "no"];

fn now_ms() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970");
    i64::try_from(since_epoch.as_millis()).expect("milliseconds fit i64")
}

// ---------------------------------------------------------------------------------------------
// The AOF directory: manifest, files.

/// One line of the manifest: `file NAME seq SEQ type KIND`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct AofFile {
    name: String,
    seq: u64,
    /// `b` base, `h` history (about to be deleted), `i` incremental.
    kind: char,
}

fn aof_dir(data: &Path) -> PathBuf {
    data.join(AOF_DIR)
}

/// The manifest's text, or None while there is none.
fn manifest_text(data: &Path) -> Option<String> {
    fs::read_to_string(aof_dir(data).join(MANIFEST)).ok()
}

/// The files the manifest names, in its order; None while there is no manifest.
fn read_manifest(data: &Path) -> Option<Vec<AofFile>> {
    let text = manifest_text(data)?;
    let files = text
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            let pairs: BTreeMap<&str, &str> = words
                .chunks(2)
                .filter(|pair| pair.len() == 2)
                .map(|pair| (pair[0], pair[1]))
                .collect();
            let field = |name: &str| {
                *pairs
                    .get(name)
                    .unwrap_or_else(|| panic!("manifest line without {name}: {line:?}"))
            };
            AofFile {
                name: field("file").to_string(),
                seq: field("seq")
                    .parse()
                    .unwrap_or_else(|_| panic!("manifest seq: {line:?}")),
                kind: field("type").chars().next().expect("a type letter"),
            }
        })
        .collect();
    Some(files)
}

/// What a settled manifest of sequence `seq` names: one base and one incr file of that
/// sequence, with Redis's default names.
fn expected_files(seq: u64) -> Vec<AofFile> {
    vec![
        AofFile {
            name: format!("appendonly.aof.{seq}.base.rdb"),
            seq,
            kind: 'b',
        },
        AofFile {
            name: format!("appendonly.aof.{seq}.incr.aof"),
            seq,
            kind: 'i',
        },
    ]
}

/// Waits until the manifest names exactly the base and incr files of sequence `seq` and the
/// directory holds exactly those files and the manifest (no leftovers of an older sequence,
/// no temporary files).
fn wait_for_sequence(data: &Path, seq: u64, what: &str) {
    let want = expected_files(seq);
    let mut want_names: BTreeSet<String> = want.iter().map(|f| f.name.clone()).collect();
    want_names.insert(MANIFEST.to_string());
    let mut seen = (None, BTreeSet::new());
    let settled = eventually(WAIT, || {
        seen = (read_manifest(data), dir_listing(data));
        seen.0.as_ref() == Some(&want) && seen.1 == want_names
    });
    assert!(
        settled,
        "{what}: expected the manifest to name {want:?} and {AOF_DIR} to hold {want_names:?}; \
         manifest {:?}, files {:?}",
        seen.0, seen.1
    );
}

/// The names of the files in `data`'s AOF directory.
fn dir_listing(data: &Path) -> BTreeSet<String> {
    fs::read_dir(aof_dir(data))
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok())
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The bytes of the file the manifest names with kind `kind` (the last one, for incr files).
fn file_of_kind(data: &Path, kind: char) -> (String, Vec<u8>) {
    let manifest = read_manifest(data).expect("a manifest");
    let file = manifest
        .iter()
        .rev()
        .find(|file| file.kind == kind)
        .unwrap_or_else(|| panic!("no type {kind} file in the manifest {manifest:?}"));
    let bytes = fs::read(aof_dir(data).join(&file.name))
        .unwrap_or_else(|e| panic!("read {}: {e}", file.name));
    (file.name.clone(), bytes)
}

/// Whether `needle` occurs in `haystack`.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// The commands in the incr files the manifest names, oldest first, each as its arguments.
/// Every byte of the files must be part of a complete RESP array of bulk strings.
fn incr_commands(data: &Path) -> Vec<Vec<Vec<u8>>> {
    let manifest = read_manifest(data).expect("a manifest");
    let mut commands = Vec::new();
    for file in manifest.iter().filter(|file| file.kind == 'i') {
        let bytes = fs::read(aof_dir(data).join(&file.name))
            .unwrap_or_else(|e| panic!("read {}: {e}", file.name));
        let mut at = 0;
        while at < bytes.len() {
            let end = frame_end(&bytes, at).unwrap_or_else(|| {
                panic!(
                    "{}: a command cut short at offset {at}: {}",
                    file.name,
                    show(&bytes[at..])
                )
            });
            let Frame::Array(items) = Frame::parse(&bytes[at..end]) else {
                panic!(
                    "{}: not a RESP array at offset {at}: {}",
                    file.name,
                    show(&bytes[at..end])
                );
            };
            let args = items
                .into_iter()
                .map(|item| match item {
                    Frame::Bulk(arg) => arg,
                    other => panic!("{}: an argument {other:?} at offset {at}", file.name),
                })
                .collect();
            commands.push(args);
            at = end;
        }
    }
    commands
}

/// Copies `from`'s AOF directory into a new data directory.
fn copy_aof_dir(from: &Path) -> TempDir {
    let copy = TempDir::new("aof-copy");
    let to = aof_dir(copy.path());
    fs::create_dir(&to).expect("create the copy's AOF dir");
    for name in dir_listing(from) {
        fs::copy(aof_dir(from).join(&name), to.join(&name))
            .unwrap_or_else(|e| panic!("copy {name}: {e}"));
    }
    copy
}

// ---------------------------------------------------------------------------------------------
// Servers: killing, INFO, rewriting.

/// Kills `server` with SIGKILL: no SHUTDOWN, no last flush, fsync or rewrite.
fn kill_hard(mut server: Server) {
    let pid = server.pid().to_string();
    let kill = Command::new("kill")
        .args(["-KILL", &pid])
        .status()
        .expect("run kill");
    assert!(kill.success(), "kill -KILL {pid}");
    let status = server
        .wait_exit(WAIT)
        .unwrap_or_else(|| panic!("{} runs on after SIGKILL", server.name()));
    assert_eq!(status.signal(), Some(9), "{} after SIGKILL", server.name());
}

/// INFO persistence as field → value.
fn persistence(conn: &mut Connection) -> BTreeMap<String, String> {
    common::info(conn, "persistence").into_iter().collect()
}

/// One INFO persistence field as a number.
fn info_number(conn: &mut Connection, field: &str) -> i64 {
    common::info_number(conn, "persistence", field)
}

/// Waits until INFO persistence shows no rewrite running or scheduled and at least `rewrites`
/// rewrites done, the last one successful.
fn wait_rewrites_done(conn: &mut Connection, rewrites: i64, what: &str) {
    let mut info = BTreeMap::new();
    let done = eventually(WAIT, || {
        info = persistence(conn);
        let field = |name: &str| info.get(name).map(String::as_str);
        let count: Option<i64> = field("aof_rewrites").and_then(|n| n.parse().ok());
        field("aof_rewrite_in_progress") == Some("0")
            && field("aof_rewrite_scheduled") == Some("0")
            && count >= Some(rewrites)
    });
    assert!(
        done,
        "{what}: {rewrites} AOF rewrite(s) not done within {WAIT:?}; INFO: {info:?}"
    );
    assert_eq!(
        info["aof_last_bgrewrite_status"], "ok",
        "{what}: INFO: {info:?}"
    );
}

fn set(conn: &mut Connection, key: &str, value: &str) {
    let () = redis::cmd("SET").arg(key).arg(value).query(conn).unwrap();
}

fn get(conn: &mut Connection, key: &str) -> Option<String> {
    redis::cmd("GET").arg(key).query(conn).unwrap()
}

fn dbsize(conn: &mut Connection) -> i64 {
    redis::cmd("DBSIZE").query(conn).unwrap()
}

// ---------------------------------------------------------------------------------------------
// A workload of every kind of write, and checking it came back.

/// Writes of every common kind, keys named `{prefix}:...` spread over the slot space (so over
/// both of slotcore's shard cores): strings with and without expiry, INCR counters, lists,
/// hashes, sets and sorted sets built and then trimmed, a MULTI/EXEC over keys on both cores,
/// keys written then deleted, and an EXPIRE undone by PERSIST. [`Workload::check`] asserts each
/// value and TTL.
struct Workload {
    prefix: String,
}

/// Keys with a TTL, by how they got it: (part of the name, how many, TTL in ms).
const VOLATILE: &[(&str, usize, i64)] = &[
    ("ex", 16, 3_600_000),
    ("px", 16, 7_200_000),
    ("expire", 8, 5_400_000),
];

impl Workload {
    fn new(prefix: &str) -> Workload {
        Workload {
            prefix: prefix.to_string(),
        }
    }

    fn keys(&self, part: &str, count: usize) -> Vec<String> {
        spread_keys(&format!("{}:{part}", self.prefix), count)
    }

    /// Two names, one in an even slot and one in an odd one (one on each slotcore core).
    fn pair(&self, part: &str) -> [String; 2] {
        names_on_both_cores(format!("{}:{part}", self.prefix).as_bytes())
            .map(|name| String::from_utf8(name).expect("text name"))
    }

    /// How many keys the workload leaves.
    fn key_count(&self) -> i64 {
        let volatile: usize = VOLATILE.iter().map(|(_, count, _)| count).sum();
        // strings, counters, persisted, volatile, 2 each of list/hash/set/zset, 3 from MULTI.
        (64 + 16 + 8 + volatile + 8 + 3) as i64
    }

    fn write(&self, conn: &mut Connection) {
        for key in self.keys("str", 64) {
            set(conn, &key, &format!("value of {key}"));
        }
        for (part, count, ttl_ms) in VOLATILE {
            for key in self.keys(part, *count) {
                let mut cmd = redis::cmd("SET");
                cmd.arg(&key).arg(format!("volatile {key}"));
                match *part {
                    "ex" => cmd.arg("EX").arg(ttl_ms / 1000),
                    "px" => cmd.arg("PX").arg(ttl_ms),
                    _ => &mut cmd,
                };
                let () = cmd.query(conn).unwrap();
                if *part == "expire" {
                    let set: i64 = redis::cmd("EXPIRE")
                        .arg(&key)
                        .arg(ttl_ms / 1000)
                        .query(conn)
                        .unwrap();
                    assert_eq!(set, 1, "EXPIRE {key}");
                }
            }
        }
        for key in self.keys("persist", 8) {
            set(conn, &key, "kept");
            let set: i64 = redis::cmd("EXPIRE").arg(&key).arg(100).query(conn).unwrap();
            assert_eq!(set, 1, "EXPIRE {key}");
            let persisted: i64 = redis::cmd("PERSIST").arg(&key).query(conn).unwrap();
            assert_eq!(persisted, 1, "PERSIST {key}");
        }
        for (index, key) in self.keys("counter", 16).iter().enumerate() {
            for _ in 0..=index {
                let _: i64 = redis::cmd("INCR").arg(key).query(conn).unwrap();
            }
        }
        for key in self.pair("list") {
            let _: i64 = redis::cmd("RPUSH")
                .arg(&key)
                .arg(&["a", "b", "c"][..])
                .query(conn)
                .unwrap();
            let _: i64 = redis::cmd("LPUSH").arg(&key).arg("z").query(conn).unwrap();
            let popped: String = redis::cmd("RPOP").arg(&key).query(conn).unwrap();
            assert_eq!(popped, "c");
        }
        for key in self.pair("hash") {
            let _: i64 = redis::cmd("HSET")
                .arg(&key)
                .arg(&["f1", "v1", "f2", "v2", "f3", "v3"][..])
                .query(conn)
                .unwrap();
            let _: i64 = redis::cmd("HDEL").arg(&key).arg("f2").query(conn).unwrap();
            let _: i64 = redis::cmd("HINCRBY")
                .arg(&key)
                .arg("n")
                .arg(5)
                .query(conn)
                .unwrap();
        }
        for key in self.pair("set") {
            let _: i64 = redis::cmd("SADD")
                .arg(&key)
                .arg(&["a", "b", "c", "d"][..])
                .query(conn)
                .unwrap();
            let _: i64 = redis::cmd("SREM").arg(&key).arg("b").query(conn).unwrap();
        }
        for key in self.pair("zset") {
            let _: i64 = redis::cmd("ZADD")
                .arg(&key)
                .arg(&["1", "one", "2", "two", "3", "three"][..])
                .query(conn)
                .unwrap();
            let _: String = redis::cmd("ZINCRBY")
                .arg(&key)
                .arg(10)
                .arg("one")
                .query(conn)
                .unwrap();
            let _: i64 = redis::cmd("ZREM").arg(&key).arg("two").query(conn).unwrap();
        }
        let [tx_string, tx_counter] = self.pair("tx");
        let tx_list = self.pair("txlist")[1].clone();
        let mut transaction = redis::pipe();
        transaction
            .atomic()
            .cmd("SET")
            .arg(&tx_string)
            .arg("in a transaction")
            .cmd("INCRBY")
            .arg(&tx_counter)
            .arg(42)
            .cmd("RPUSH")
            .arg(&tx_list)
            .arg(&["x", "y"][..]);
        let _: Value = transaction.query(conn).expect("MULTI/EXEC");
        let doomed = self.keys("gone", 16);
        for key in &doomed {
            set(conn, key, "soon deleted");
        }
        let deleted: i64 = redis::cmd("DEL").arg(&doomed).query(conn).unwrap();
        assert_eq!(deleted, 16, "DEL of keys on both cores");
    }

    /// Asserts every value and TTL [`Workload::write`] left, and that the deleted keys are gone.
    fn check(&self, conn: &mut Connection, what: &str) {
        let what = format!("{what} ({})", self.prefix);
        for key in self.keys("str", 64) {
            assert_eq!(
                get(conn, &key),
                Some(format!("value of {key}")),
                "{what}: {key}"
            );
            let ttl: i64 = redis::cmd("PTTL").arg(&key).query(conn).unwrap();
            assert_eq!(ttl, -1, "{what}: PTTL {key}");
        }
        for (part, count, ttl_ms) in VOLATILE {
            for key in self.keys(part, *count) {
                assert_eq!(
                    get(conn, &key),
                    Some(format!("volatile {key}")),
                    "{what}: {key}"
                );
                let ttl: i64 = redis::cmd("PTTL").arg(&key).query(conn).unwrap();
                assert!(
                    ttl > ttl_ms - 120_000 && ttl <= *ttl_ms,
                    "{what}: PTTL {key} is {ttl}, expected a little under {ttl_ms}"
                );
            }
        }
        for key in self.keys("persist", 8) {
            assert_eq!(get(conn, &key).as_deref(), Some("kept"), "{what}: {key}");
            let ttl: i64 = redis::cmd("PTTL").arg(&key).query(conn).unwrap();
            assert_eq!(ttl, -1, "{what}: PTTL {key} after EXPIRE and PERSIST");
        }
        for (index, key) in self.keys("counter", 16).iter().enumerate() {
            assert_eq!(
                get(conn, key),
                Some((index + 1).to_string()),
                "{what}: counter {key}"
            );
        }
        for key in self.pair("list") {
            let items: Vec<String> = redis::cmd("LRANGE")
                .arg(&key)
                .arg(0)
                .arg(-1)
                .query(conn)
                .unwrap();
            assert_eq!(items, ["z", "a", "b"], "{what}: list {key}");
        }
        for key in self.pair("hash") {
            let fields: BTreeMap<String, String> =
                redis::cmd("HGETALL").arg(&key).query(conn).unwrap();
            let want: BTreeMap<String, String> = [("f1", "v1"), ("f3", "v3"), ("n", "5")]
                .into_iter()
                .map(|(f, v)| (f.to_string(), v.to_string()))
                .collect();
            assert_eq!(fields, want, "{what}: hash {key}");
        }
        for key in self.pair("set") {
            let members: BTreeSet<String> = redis::cmd("SMEMBERS").arg(&key).query(conn).unwrap();
            let want: BTreeSet<String> = ["a", "c", "d"].iter().map(|m| m.to_string()).collect();
            assert_eq!(members, want, "{what}: set {key}");
        }
        for key in self.pair("zset") {
            let items: Vec<String> = redis::cmd("ZRANGE")
                .arg(&key)
                .arg(0)
                .arg(-1)
                .arg("WITHSCORES")
                .query(conn)
                .unwrap();
            assert_eq!(items, ["three", "3", "one", "11"], "{what}: zset {key}");
        }
        let [tx_string, tx_counter] = self.pair("tx");
        let tx_list = self.pair("txlist")[1].clone();
        assert_eq!(
            get(conn, &tx_string).as_deref(),
            Some("in a transaction"),
            "{what}: SET in MULTI"
        );
        assert_eq!(
            get(conn, &tx_counter).as_deref(),
            Some("42"),
            "{what}: INCRBY in MULTI"
        );
        let items: Vec<String> = redis::cmd("LRANGE")
            .arg(&tx_list)
            .arg(0)
            .arg(-1)
            .query(conn)
            .unwrap();
        assert_eq!(items, ["x", "y"], "{what}: RPUSH in MULTI");
        let doomed = self.keys("gone", 16);
        let left: i64 = redis::cmd("EXISTS").arg(&doomed).query(conn).unwrap();
        assert_eq!(left, 0, "{what}: deleted keys back");
    }
}

/// Asserts the server on `conn` holds exactly `before` (every key with its type, encoding,
/// value and absolute expiry; see [`assert_same_dataset`]) and DBSIZE agrees.
fn assert_holds(conn: &mut Connection, before: &Dataset, what: &str) {
    let after = snapshot(conn, Copied::ByCommandStream);
    assert_same_dataset(before, &after, what);
    assert_eq!(dbsize(conn), before.len() as i64, "{what}: DBSIZE");
}

/// Asserts `dataset` has keys in both even and odd slots (on both slotcore cores).
fn assert_on_both_cores(dataset: &Dataset, what: &str) {
    let parities: BTreeSet<u16> = dataset.keys().map(|key| key_slot(key) % 2).collect();
    assert_eq!(parities.len(), 2, "{what}: keys in both even and odd slots");
}

// ---------------------------------------------------------------------------------------------
// Starting with appendonly yes, writing, SIGKILL, starting again.

/// A first start with `appendonly yes` in an empty directory creates `appendonlydir/` with a
/// base of sequence 1 (an RDB image, starting with `REDIS`), an empty incr file of sequence 1,
/// and a manifest naming both, Redis's exact text:
/// `file appendonly.aof.1.base.rdb seq 1 type b` then `file appendonly.aof.1.incr.aof seq 1
/// type i`. No dump.rdb appears.
#[test]
fn first_start_creates_the_aof_directory() {
    let data = TempDir::new("aof-data");
    let server = Server::start_in(data.path(), AOF_ON);
    wait_for_sequence(data.path(), 1, "a first start");
    assert_eq!(
        manifest_text(data.path()).as_deref(),
        Some("file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"),
        "the manifest's text"
    );
    let (name, base) = file_of_kind(data.path(), 'b');
    assert!(
        base.starts_with(b"REDIS"),
        "{name} is not an RDB image: {}",
        show(&base[..base.len().min(32)])
    );
    let (name, incr) = file_of_kind(data.path(), 'i');
    assert!(incr.is_empty(), "{name} on a first start: {}", show(&incr));
    assert_eq!(dbsize(&mut server.client()), 0);
    assert!(
        !data.path().join("dump.rdb").exists(),
        "dump.rdb with --save \"\""
    );
}

/// Writes the workload to a server started with `args`, waits `settle`, SIGKILLs it, starts it
/// again with `appendonly yes` on the same directory and asserts every key, value and absolute
/// expiry came back.
fn survives_sigkill(args: &[&str], settle: Duration) {
    let data = TempDir::new("aof-data");
    let server = Server::start_in(data.path(), args);
    let mut conn = server.client();
    let workload = Workload::new("w");
    workload.write(&mut conn);
    workload.check(&mut conn, "before the kill");
    let before = snapshot(&mut conn, Copied::ByCommandStream);
    assert_eq!(before.len() as i64, workload.key_count(), "keys written");
    assert_on_both_cores(&before, "the workload");
    thread::sleep(settle);
    kill_hard(server);

    let server = Server::start_in(data.path(), AOF_ON);
    let mut conn = server.client();
    workload.check(&mut conn, "after SIGKILL and a restart");
    assert_holds(&mut conn, &before, "after SIGKILL and a restart");
    assert!(
        !data.path().join("dump.rdb").exists(),
        "dump.rdb with --save \"\""
    );
}

/// With `appendfsync always` every acknowledged write survives a SIGKILL: a restart with
/// `appendonly yes` holds every key, value and TTL again.
#[test]
fn writes_survive_sigkill_with_appendfsync_always() {
    survives_sigkill(AOF_ALWAYS, Duration::ZERO);
}

/// With the default `appendfsync everysec`, writes more than a second old survive a SIGKILL.
#[test]
fn writes_survive_sigkill_with_appendfsync_everysec() {
    survives_sigkill(AOF_ON, Duration::from_secs(2));
}

/// The incr file holds the writes as RESP commands (arrays of bulk strings, nothing else): a
/// SET of keys on both cores appears as `SET key value`; a restart after SIGKILL has them.
#[test]
fn incr_file_holds_the_writes_as_commands() {
    let data = TempDir::new("aof-data");
    let server = Server::start_in(data.path(), AOF_ALWAYS);
    let mut conn = server.client();
    let keys = names_on_both_cores(b"incr-needle");
    for key in &keys {
        let () = redis::cmd("SET")
            .arg(key)
            .arg(b"needle value")
            .query(&mut conn)
            .unwrap();
    }
    let (name, _) = file_of_kind(data.path(), 'i');
    assert_eq!(name, "appendonly.aof.1.incr.aof");
    let commands = incr_commands(data.path());
    for key in &keys {
        let found = commands.iter().any(|args| {
            args.len() == 3
                && args[0].eq_ignore_ascii_case(b"SET")
                && args[1] == *key
                && args[2] == b"needle value"
        });
        assert!(
            found,
            "no SET {} needle value in {name}; commands: {:?}",
            show(key),
            commands
                .iter()
                .map(|args| args.iter().map(|a| show(a)).collect::<Vec<_>>().join(" "))
                .collect::<Vec<_>>()
        );
    }
    kill_hard(server);

    let server = Server::start_in(data.path(), AOF_ON);
    let mut conn = server.client();
    for key in &keys {
        let value: Option<Vec<u8>> = redis::cmd("GET").arg(key).query(&mut conn).unwrap();
        assert_eq!(
            value.as_deref(),
            Some(&b"needle value"[..]),
            "{} after a restart",
            show(key)
        );
    }
    assert_eq!(dbsize(&mut conn), 2);
}

// ---------------------------------------------------------------------------------------------
// Rewriting.

/// BGREWRITEAOF replies `Background append only file rewriting started`, finishes (INFO:
/// `aof_rewrite_in_progress:0`, `aof_last_bgrewrite_status:ok`, one more in `aof_rewrites`),
/// and leaves a manifest naming `appendonly.aof.2.base.rdb` (holding the data) and
/// `appendonly.aof.2.incr.aof`, with the sequence-1 files deleted. INFO's `aof_base_size` is
/// then the new base's size. Writes from before the rewrite (now in the base) and after it (in
/// the new incr file) survive a SIGKILL.
#[test]
fn bgrewriteaof_starts_a_new_base_and_incr_file() {
    let data = TempDir::new("aof-data");
    let server = Server::start_in(data.path(), AOF_ALWAYS);
    let mut conn = server.client();
    let first = Workload::new("before");
    first.write(&mut conn);
    set(&mut conn, "base-needle", "in the base");
    wait_for_sequence(data.path(), 1, "before the rewrite");
    let rewrites = info_number(&mut conn, "aof_rewrites");

    let reply: Value = redis::cmd("BGREWRITEAOF").query(&mut conn).unwrap();
    assert_eq!(reply, Value::SimpleString(REWRITE_STARTED.into()));
    wait_rewrites_done(&mut conn, rewrites + 1, "BGREWRITEAOF");
    wait_for_sequence(data.path(), 2, "after BGREWRITEAOF");
    let (name, base) = file_of_kind(data.path(), 'b');
    assert!(base.starts_with(b"REDIS"), "{name} is not an RDB image");
    assert!(
        contains(&base, b"base-needle") && contains(&base, b"in the base"),
        "{name} lacks a key written before the rewrite"
    );
    assert_eq!(
        info_number(&mut conn, "aof_base_size"),
        base.len() as i64,
        "INFO aof_base_size after the rewrite"
    );

    let second = Workload::new("after");
    second.write(&mut conn);
    set(&mut conn, "incr-needle", "after the rewrite");
    let (name, incr) = file_of_kind(data.path(), 'i');
    assert_eq!(name, "appendonly.aof.2.incr.aof");
    assert!(
        contains(&incr, b"incr-needle"),
        "{name} lacks a write made after the rewrite"
    );
    let before = snapshot(&mut conn, Copied::ByCommandStream);
    kill_hard(server);

    let server = Server::start_in(data.path(), AOF_ON);
    let mut conn = server.client();
    first.check(&mut conn, "written before the rewrite");
    second.check(&mut conn, "written after the rewrite");
    assert_eq!(
        get(&mut conn, "base-needle").as_deref(),
        Some("in the base")
    );
    assert_eq!(
        get(&mut conn, "incr-needle").as_deref(),
        Some("after the rewrite")
    );
    assert_holds(&mut conn, &before, "after a rewrite, SIGKILL and a restart");
}

/// `CONFIG SET appendonly yes` on a server started without an AOF and holding data replies OK
/// and rewrites: once done, `appendonlydir/` holds a manifest naming
/// `appendonly.aof.1.base.rdb`, which holds the data, and `appendonly.aof.1.incr.aof`.
/// `CONFIG GET appendonly` answers yes. Writes after it go to the incr file; after a SIGKILL a
/// start with `appendonly yes` has everything. There `CONFIG SET appendonly no` turns it off:
/// INFO `aof_enabled:0`, and a write no longer reaches the incr file.
#[test]
fn config_set_appendonly_yes_writes_the_data_to_a_base() {
    let data = TempDir::new("aof-data");
    let server = Server::start_in(data.path(), AOF_OFF);
    let mut conn = server.client();
    let first = Workload::new("early");
    first.write(&mut conn);
    set(&mut conn, "base-needle", "in the base");
    assert!(
        !aof_dir(data.path()).exists(),
        "{AOF_DIR} with appendonly no"
    );
    assert_eq!(info_number(&mut conn, "aof_enabled"), 0);
    let rewrites = info_number(&mut conn, "aof_rewrites");

    common::config_set(&mut conn, "appendonly", "yes");
    assert_eq!(info_number(&mut conn, "aof_enabled"), 1);
    wait_rewrites_done(&mut conn, rewrites + 1, "CONFIG SET appendonly yes");
    wait_for_sequence(data.path(), 1, "after CONFIG SET appendonly yes");
    let (name, base) = file_of_kind(data.path(), 'b');
    assert!(base.starts_with(b"REDIS"), "{name} is not an RDB image");
    assert!(
        contains(&base, b"base-needle") && contains(&base, b"in the base"),
        "{name} lacks the data the server held"
    );
    let reply: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("appendonly")
        .query(&mut conn)
        .unwrap();
    assert_eq!(reply, ["appendonly", "yes"]);

    let second = Workload::new("late");
    second.write(&mut conn);
    let before = snapshot(&mut conn, Copied::ByCommandStream);
    thread::sleep(Duration::from_secs(2));
    kill_hard(server);

    let server = Server::start_in(data.path(), AOF_ON);
    let mut conn = server.client();
    first.check(&mut conn, "held when the AOF was turned on");
    second.check(&mut conn, "written after the AOF was turned on");
    assert_holds(
        &mut conn,
        &before,
        "after CONFIG SET appendonly yes and SIGKILL",
    );

    common::config_set(&mut conn, "appendonly", "no");
    assert_eq!(info_number(&mut conn, "aof_enabled"), 0);
    let reply: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("appendonly")
        .query(&mut conn)
        .unwrap();
    assert_eq!(reply, ["appendonly", "no"]);
    let (name, incr_before) = file_of_kind(data.path(), 'i');
    set(&mut conn, "not-logged", "written with the AOF off");
    thread::sleep(Duration::from_millis(1500));
    let (_, incr_after) = file_of_kind(data.path(), 'i');
    assert!(
        incr_after == incr_before,
        "{name} changed by a write after CONFIG SET appendonly no"
    );
}

// ---------------------------------------------------------------------------------------------
// dump.rdb and a damaged AOF.

/// A start with `appendonly yes` on a directory that holds only a dump.rdb (written by SAVE
/// with the AOF off) starts empty, as Redis 7.0 does: the AOF takes precedence, and there is
/// none yet. It creates `appendonlydir/`, and leaves dump.rdb as it was.
#[test]
fn appendonly_start_ignores_an_existing_dump_rdb() {
    let data = TempDir::new("aof-data");
    let mut server = Server::start_in(data.path(), AOF_OFF);
    let mut conn = server.client();
    set(&mut conn, "from-rdb", "saved by SAVE");
    let reply: Value = redis::cmd("SAVE").query(&mut conn).unwrap();
    assert_eq!(reply, Value::Okay, "SAVE");
    common::shutdown(&mut server, &[], WAIT);
    let rdb = fs::read(data.path().join("dump.rdb")).expect("dump.rdb after SAVE");

    let server = Server::start_in(data.path(), AOF_ON);
    let mut conn = server.client();
    assert_eq!(
        dbsize(&mut conn),
        0,
        "DBSIZE: the AOF, not dump.rdb, was loaded"
    );
    assert_eq!(get(&mut conn, "from-rdb"), None);
    wait_for_sequence(data.path(), 1, "a start with only a dump.rdb");
    assert!(
        fs::read(data.path().join("dump.rdb")).ok() == Some(rdb),
        "dump.rdb changed"
    );
    set(&mut conn, "from-aof", "logged");
    // everysec: what is a second old is in the file (slotcore's hub may write a write's
    // record a moment after its reply; Redis writes it before).
    thread::sleep(Duration::from_secs(2));
    kill_hard(server);

    let server = Server::start_in(data.path(), AOF_ON);
    let mut conn = server.client();
    assert_eq!(get(&mut conn, "from-aof").as_deref(), Some("logged"));
    assert_eq!(get(&mut conn, "from-rdb"), None);
    assert_eq!(dbsize(&mut conn), 1);
}

/// The partial command appended to the incr file: a SET of `x` cut off inside its key.
const PARTIAL: &[u8] = b"*3\r\n$3\r\nSET\r\n$1\r\nx";

/// Writes the workload with a server that then shuts down cleanly, and appends [`PARTIAL`] to
/// its incr file. Returns the directory, the dataset, and the incr file's path and bytes from
/// before the append.
fn dir_with_truncated_incr() -> (TempDir, Dataset, PathBuf, Vec<u8>) {
    let data = TempDir::new("aof-data");
    let mut server = Server::start_in(data.path(), AOF_ON);
    let mut conn = server.client();
    Workload::new("t").write(&mut conn);
    let before = snapshot(&mut conn, Copied::ByCommandStream);
    common::shutdown(&mut server, &[], WAIT);
    let (name, whole) = file_of_kind(data.path(), 'i');
    assert!(!whole.is_empty(), "{name} holds the writes");
    let path = aof_dir(data.path()).join(&name);
    let mut cut = whole.clone();
    cut.extend_from_slice(PARTIAL);
    fs::write(&path, &cut).unwrap();
    (data, before, path, whole)
}

/// An incr file that ends in a partial command loads up to it with the default
/// `aof-load-truncated yes`: the start succeeds with every earlier write and without the key of
/// the partial command, and the file is cut back to its last whole command (Redis logs
/// `!!! Truncating the AOF appendonly.aof.1.incr.aof at offset N !!!`), so writes after the start
/// append to a valid file and survive another SIGKILL.
#[test]
fn truncated_incr_file_loads_up_to_the_cut() {
    let (data, before, incr, whole) = dir_with_truncated_incr();
    let server = Server::start_in(data.path(), AOF_ON);
    let mut conn = server.client();
    Workload::new("t").check(&mut conn, "a truncated incr file");
    assert_eq!(get(&mut conn, "x"), None, "the key of the partial command");
    assert_holds(&mut conn, &before, "a truncated incr file");
    let left = fs::read(&incr).unwrap();
    assert!(
        left == whole,
        "the incr file was not cut back to its last whole command: {} bytes, expected {}",
        left.len(),
        whole.len()
    );
    set(&mut conn, "after-the-cut", "appended");
    thread::sleep(Duration::from_secs(2));
    kill_hard(server);

    let server = Server::start_in(data.path(), AOF_ON);
    let mut conn = server.client();
    assert_eq!(get(&mut conn, "after-the-cut").as_deref(), Some("appended"));
    assert_eq!(get(&mut conn, "x"), None);
    assert_eq!(dbsize(&mut conn), before.len() as i64 + 1);
}

/// With `aof-load-truncated no` an incr file ending in a partial command stops the start:
/// a non-zero exit, a log naming the file, and the file left as it was.
#[test]
fn truncated_incr_file_stops_the_start_without_aof_load_truncated() {
    let (data, _, incr, _) = dir_with_truncated_incr();
    let damaged = fs::read(&incr).unwrap();
    let mut args = AOF_ON.to_vec();
    args.extend(["--aof-load-truncated", "no"]);
    let (status, log) = run_in_expecting_exit(data.path(), &args, WAIT);
    let status = status.unwrap_or_else(|| panic!("still running after {WAIT:?}; log:\n{log}"));
    assert!(
        !status.success(),
        "exit status {status} with a truncated incr file; log:\n{log}"
    );
    assert!(
        log.contains("appendonly.aof.1.incr.aof"),
        "the log does not name the incr file:\n{log}"
    );
    if target_is_redis() {
        let says = "Unexpected end of file reading the append only file appendonly.aof.1.incr.aof";
        assert!(
            log.contains(says),
            "redis-server's log lacks {says:?}:\n{log}"
        );
    }
    assert!(
        fs::read(&incr).unwrap() == damaged,
        "the incr file changed by the failed start"
    );
}

// ---------------------------------------------------------------------------------------------
// One server's AOF loaded by the other.

/// A stream like [`common::every_type::stream_commands`]'s (a deleted entry, two groups,
/// entries pending with two consumers, one acknowledged, a consumer that read nothing) but
/// without its re-read of pending entries from ID 0: Redis 7.0 does not log such a history read
/// (only reads of new entries, as XCLAIMs), so the delivery times and counts it raised live
/// come back from an incr file as the `>` reads left them.
fn logged_stream_commands(key: &[u8]) -> Vec<redis::Cmd> {
    let mut commands: Vec<redis::Cmd> = (0..20)
        .map(|i| {
            let field = if i < 10 { "field" } else { "other" };
            with_key(
                "XADD",
                key,
                [format!("1000-{i}"), field.into(), format!("value{i}")],
            )
        })
        .collect();
    commands.push(with_key("XDEL", key, ["1000-5"]));
    commands.push(with_key("XGROUP", b"CREATE", [key, b"readers", b"0"]));
    for (consumer, count) in [("alice", "6"), ("bob", "3")] {
        let mut read = redis::cmd("XREADGROUP");
        read.arg("GROUP").arg("readers").arg(consumer);
        read.arg("COUNT")
            .arg(count)
            .arg("STREAMS")
            .arg(key)
            .arg(">");
        commands.push(read);
    }
    commands.push(with_key("XACK", key, ["readers", "1000-0"]));
    commands.push(with_key("XGROUP", b"CREATE", [key, b"idle", b"$"]));
    commands.push(with_key(
        "XGROUP",
        b"CREATECONSUMER",
        [key, b"idle", b"carol"],
    ));
    commands
}

/// Fills a server of the writer's kind (`start_writer`) with every type and encoding, the first
/// half before a BGREWRITEAOF (so in the base) and the second after (in the incr file, with
/// [`logged_stream_commands`]' stream), plus the [`Workload`] in each half,
/// SIGKILLs it, and starts a server of the reader's kind (`start_reader`) on a copy of its AOF
/// directory: the reader holds the writer's dataset.
fn aof_loads_across(
    start_writer: fn(&Path, &[&str]) -> Server,
    start_reader: fn(&Path, &[&str]) -> Server,
) {
    let data = TempDir::new("aof-data");
    let writer = start_writer(data.path(), AOF_ALWAYS);
    let mut conn = writer.client();
    let fill = |conn: &mut Connection, phase: &str| {
        let mut pipe = redis::pipe();
        for kind in KINDS {
            for key in names_on_both_cores(format!("{phase}-{kind}").as_bytes()) {
                let commands = if phase == "incr" && *kind == "stream" {
                    logged_stream_commands(&key)
                } else {
                    commands_for(kind, &key)
                };
                for command in commands {
                    pipe.add_command(command).ignore();
                }
            }
        }
        let () = pipe.query(conn).expect("fill every type");
    };
    fill(&mut conn, "base");
    Workload::new("base").write(&mut conn);
    let rewrites = info_number(&mut conn, "aof_rewrites");
    let reply: Value = redis::cmd("BGREWRITEAOF").query(&mut conn).unwrap();
    assert_eq!(reply, Value::SimpleString(REWRITE_STARTED.into()));
    wait_rewrites_done(&mut conn, rewrites + 1, "BGREWRITEAOF");
    wait_for_sequence(data.path(), 2, "after BGREWRITEAOF");
    fill(&mut conn, "incr");
    Workload::new("incr").write(&mut conn);
    let expire_at = now_ms() + 3_600_000;
    let [stream, _] = names_on_both_cores(b"incr-stream");
    let set_at: i64 = redis::cmd("PEXPIREAT")
        .arg(&stream)
        .arg(expire_at)
        .query(&mut conn)
        .unwrap();
    assert_eq!(set_at, 1, "PEXPIREAT on a stream");
    let before = snapshot(&mut conn, Copied::ByCommandStream);
    assert_on_both_cores(&before, writer.name());
    let writer_name = writer.name();
    kill_hard(writer);

    let copy = copy_aof_dir(data.path());
    let reader = start_reader(copy.path(), AOF_ON);
    let what = format!("{writer_name}'s AOF loaded by {}", reader.name());
    let mut conn = reader.client();
    Workload::new("base").check(&mut conn, &what);
    Workload::new("incr").check(&mut conn, &what);
    assert_holds(&mut conn, &before, &what);
}

/// redis-server 7.0 loads slotcore's AOF directory (base and incr file) with every type,
/// encoding, value and absolute expiry slotcore held (redis-server's own with
/// `SLOTCORE_TEST_TARGET=redis`).
#[test]
fn redis_loads_an_aof_slotcore_wrote() {
    aof_loads_across(Server::start_in, RedisServer::start_in);
}

/// slotcore loads redis-server 7.0's AOF directory (base and incr file) with every type,
/// encoding, value and absolute expiry Redis held, over both shard cores (redis-server with
/// `SLOTCORE_TEST_TARGET=redis`).
#[test]
fn slotcore_loads_an_aof_redis_wrote() {
    aof_loads_across(RedisServer::start_in, Server::start_in);
}

// ---------------------------------------------------------------------------------------------
// INFO persistence.

/// The AOF fields INFO persistence has whether the AOF is on or off.
const AOF_FIELDS_ALWAYS: &[&str] = &[
    "aof_enabled",
    "aof_rewrite_in_progress",
    "aof_rewrite_scheduled",
    "aof_last_rewrite_time_sec",
    "aof_current_rewrite_time_sec",
    "aof_last_bgrewrite_status",
    "aof_rewrites",
    "aof_last_write_status",
];

/// The AOF fields INFO persistence has only while the AOF is on.
const AOF_FIELDS_WHEN_ON: &[&str] = &[
    "aof_current_size",
    "aof_base_size",
    "aof_pending_rewrite",
    "aof_buffer_length",
    "aof_pending_bio_fsync",
    "aof_delayed_fsync",
];

/// INFO persistence with the AOF off has `aof_enabled:0` and no size fields; with it on,
/// `aof_enabled:1`, the rewrite and status fields (`aof_rewrites:0`, statuses `ok`, times -1
/// before any rewrite) and the size fields. `aof_current_size` grows with writes. After a
/// restart that loads the AOF, `aof_base_size` is the base file's size and `aof_current_size`
/// the base's and incr file's together.
#[test]
fn info_persistence_reports_the_aof() {
    let off = Server::start(AOF_OFF);
    let info = persistence(&mut off.client());
    for field in AOF_FIELDS_ALWAYS {
        assert!(
            info.contains_key(*field),
            "AOF off: INFO lacks {field}: {info:?}"
        );
    }
    assert_eq!(info["aof_enabled"], "0");
    for field in AOF_FIELDS_WHEN_ON {
        assert!(
            !info.contains_key(*field),
            "AOF off: INFO has {field}: {info:?}"
        );
    }
    drop(off);

    let data = TempDir::new("aof-data");
    let server = Server::start_in(data.path(), AOF_ON);
    let mut conn = server.client();
    let info = persistence(&mut conn);
    for field in AOF_FIELDS_ALWAYS.iter().chain(AOF_FIELDS_WHEN_ON) {
        assert!(
            info.contains_key(*field),
            "AOF on: INFO lacks {field}: {info:?}"
        );
    }
    for (field, value) in [
        ("aof_enabled", "1"),
        ("aof_rewrite_in_progress", "0"),
        ("aof_rewrite_scheduled", "0"),
        ("aof_last_rewrite_time_sec", "-1"),
        ("aof_current_rewrite_time_sec", "-1"),
        ("aof_last_bgrewrite_status", "ok"),
        ("aof_rewrites", "0"),
        ("aof_last_write_status", "ok"),
    ] {
        assert_eq!(info[field], value, "AOF on: INFO {field}: {info:?}");
    }
    let size = info_number(&mut conn, "aof_current_size");
    Workload::new("i").write(&mut conn);
    let grew = eventually(WAIT, || info_number(&mut conn, "aof_current_size") > size);
    assert!(grew, "aof_current_size stays {size} after writes");
    thread::sleep(Duration::from_secs(2));
    kill_hard(server);

    let server = Server::start_in(data.path(), AOF_ON);
    let mut conn = server.client();
    let (_, base) = file_of_kind(data.path(), 'b');
    let (_, incr) = file_of_kind(data.path(), 'i');
    let info = persistence(&mut conn);
    assert_eq!(
        info["aof_base_size"],
        base.len().to_string(),
        "after loading: aof_base_size, the base's size; INFO: {info:?}"
    );
    assert_eq!(
        info["aof_current_size"],
        (base.len() + incr.len()).to_string(),
        "after loading: aof_current_size, the base's and the incr file's sizes; INFO: {info:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// A replica's AOF.

/// A replica started with `appendonly yes` (and `appendfsync always`) keeps what it syncs in
/// its AOF: after its full sync (which Redis follows with an AOF rewrite, so the synced data
/// lands in a new base) and more writes on the master that WAIT saw it acknowledge, a SIGKILL
/// and a start without `replicaof` on its directory hold the master's dataset.
#[test]
fn a_replica_keeps_its_synced_data_in_its_aof() {
    let master = Server::start(&["--save", "", "--repl-diskless-sync-delay", "0"]);
    let mut to_master = master.client();
    let synced = Workload::new("synced");
    synced.write(&mut to_master);

    let data = TempDir::new("aof-replica");
    let master_port = master.port().to_string();
    let mut args = AOF_ALWAYS.to_vec();
    args.extend(["--replicaof", "127.0.0.1", &master_port]);
    let replica = Server::start_in(data.path(), &args);
    common::wait_caught_up(master.port(), replica.port(), None, WAIT, "full sync");
    let mut to_replica = replica.client();
    wait_rewrites_done(
        &mut to_replica,
        1,
        "the replica's rewrite after its full sync",
    );
    let manifest = eventually(WAIT, || {
        read_manifest(data.path()).is_some_and(|files| {
            files.iter().map(|file| file.kind).collect::<Vec<_>>() == ['b', 'i']
        })
    });
    assert!(
        manifest,
        "the replica's manifest: {:?}",
        read_manifest(data.path())
    );

    let streamed = Workload::new("streamed");
    streamed.write(&mut to_master);
    let acked: i64 = redis::cmd("WAIT")
        .arg(1)
        .arg(WAIT.as_millis() as u64)
        .query(&mut to_master)
        .unwrap();
    assert_eq!(acked, 1, "WAIT 1");
    common::wait_caught_up(master.port(), replica.port(), None, WAIT, "more writes");
    let before = snapshot(&mut to_master, Copied::ByCommandStream);
    assert_eq!(
        before.len() as i64,
        synced.key_count() + streamed.key_count()
    );
    kill_hard(replica);

    let restarted = Server::start_in(data.path(), AOF_ON);
    let mut conn = restarted.client();
    let role: Vec<Value> = redis::cmd("ROLE").query(&mut conn).unwrap();
    assert_eq!(
        role.first(),
        Some(&Value::BulkString(b"master".to_vec())),
        "ROLE of the restarted replica"
    );
    synced.check(&mut conn, "synced before the kill");
    streamed.check(&mut conn, "streamed before the kill");
    assert_holds(&mut conn, &before, "the replica's AOF after SIGKILL");
}

/// `auto-aof-rewrite-percentage` and `auto-aof-rewrite-min-size`: once the AOF grew past the
/// minimum size and by the percentage over its size after the last rewrite, the server
/// rewrites it by itself (Redis's serverCron), and the next generation of files holds it all.
#[test]
fn the_aof_rewrites_itself_once_it_grew() {
    let data = TempDir::new("aof-data");
    let args = [
        AOF_ON,
        &[
            "--auto-aof-rewrite-min-size",
            "64kb",
            "--auto-aof-rewrite-percentage",
            "100",
        ],
    ]
    .concat();
    let server = Server::start_in(data.path(), &args);
    let mut conn = server.client();
    assert_eq!(info_number(&mut conn, "aof_rewrites"), 0);
    // About 200 KB of writes, over both cores.
    let value = "v".repeat(1000);
    for round in 0..200 {
        set(&mut conn, &format!("grow:{round}"), &value);
    }
    wait_rewrites_done(&mut conn, 1, "an automatic rewrite");
    wait_for_sequence(data.path(), 2, "after the automatic rewrite");
    let (name, base) = file_of_kind(data.path(), 'b');
    assert!(
        contains(&base, b"grow:199"),
        "{name} lacks the keys written before the rewrite"
    );
    assert!(
        server
            .log()
            .contains("Starting automatic rewriting of AOF on"),
        "no 'Starting automatic rewriting' in the log"
    );
    set(&mut conn, "after", "the rewrite");
    let before = snapshot(&mut conn, Copied::ByCommandStream);
    thread::sleep(Duration::from_secs(2));
    kill_hard(server);
    let server = Server::start_in(data.path(), AOF_ON);
    assert_holds(
        &mut server.client(),
        &before,
        "after an automatic rewrite and SIGKILL",
    );
}

/// A rewrite while clients write without pause: the base is cut at one point of the stream
/// and the new incr file starts exactly there, so after a SIGKILL and a restart every
/// acknowledged INCR is counted once (a write on both sides of the cut would count twice, one
/// in neither side not at all).
#[test]
fn a_rewrite_under_writes_loses_and_repeats_nothing() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let data = TempDir::new("aof-data");
    let server = Server::start_in(data.path(), AOF_ALWAYS);
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|writer| {
            let mut conn = server.client();
            let stop = stop.clone();
            thread::spawn(move || {
                // Counters on both cores, and a MULTI over two of them.
                let keys: Vec<String> = (0..8).map(|k| format!("count:{writer}:{k}")).collect();
                let mut done = 0i64;
                while !stop.load(Ordering::Relaxed) {
                    let mut pipe = redis::pipe();
                    for key in &keys {
                        pipe.cmd("INCR").arg(key).ignore();
                    }
                    pipe.atomic()
                        .cmd("INCR")
                        .arg(&keys[0])
                        .ignore()
                        .cmd("INCR")
                        .arg(&keys[1])
                        .ignore();
                    let () = pipe.query(&mut conn).unwrap();
                    done += 1;
                }
                (keys, done)
            })
        })
        .collect();
    let mut conn = server.client();
    thread::sleep(Duration::from_millis(300));
    for generation in 1..=3 {
        let reply: Value = redis::cmd("BGREWRITEAOF").query(&mut conn).unwrap();
        assert_eq!(reply, Value::SimpleString(REWRITE_STARTED.into()));
        wait_rewrites_done(&mut conn, generation, "a rewrite under writes");
        thread::sleep(Duration::from_millis(200));
    }
    stop.store(true, Ordering::Relaxed);
    let expected: Vec<(String, i64)> = writers
        .into_iter()
        .flat_map(|writer| {
            let (keys, done) = writer.join().unwrap();
            keys.into_iter()
                .enumerate()
                .map(move |(k, key)| (key, if k < 2 { 2 * done } else { done }))
        })
        .collect();
    assert!(
        expected.iter().all(|(_, count)| *count > 0),
        "the writers ran"
    );
    wait_for_sequence(data.path(), 4, "after three rewrites");
    kill_hard(server);
    let server = Server::start_in(data.path(), AOF_ON);
    let mut conn = server.client();
    for (key, count) in expected {
        let found: Option<i64> = redis::cmd("GET").arg(&key).query(&mut conn).unwrap();
        assert_eq!(found, Some(count), "{key} after three rewrites and SIGKILL");
    }
}

/// An incr file far bigger than one read, with values bigger than one read too (slotcore reads
/// an AOF a MiB at a time): every key comes back after a SIGKILL, byte for byte.
#[test]
fn a_large_incr_file_loads_whole() {
    let data = TempDir::new("aof-data");
    let server = Server::start_in(data.path(), AOF_ALWAYS);
    let mut conn = server.client();
    let big: Vec<Vec<u8>> = (0..3u8)
        .map(|n| {
            (0..3 * 1024 * 1024 + 7 * n as usize)
                .map(|i| (i % 251) as u8 ^ n)
                .collect()
        })
        .collect();
    for (n, value) in big.iter().enumerate() {
        let () = redis::cmd("SET")
            .arg(format!("big:{n}"))
            .arg(value)
            .query(&mut conn)
            .unwrap();
    }
    let mut pipe = redis::pipe();
    for n in 0..20_000 {
        pipe.cmd("SET").arg(format!("small:{n}")).arg(n).ignore();
    }
    let () = pipe.query(&mut conn).unwrap();
    let () = redis::cmd("APPEND")
        .arg("big:0")
        .arg("tail")
        .query::<i64>(&mut conn)
        .map(|_| ())
        .unwrap();
    let (name, incr) = file_of_kind(data.path(), 'i');
    assert!(incr.len() > 9 << 20, "{name} has only {} bytes", incr.len());
    kill_hard(server);

    let server = Server::start_in(data.path(), AOF_ON);
    let mut conn = server.client();
    assert_eq!(dbsize(&mut conn), 20_003);
    for (n, value) in big.iter().enumerate() {
        let found: Vec<u8> = redis::cmd("GET")
            .arg(format!("big:{n}"))
            .query(&mut conn)
            .unwrap();
        let mut expected = value.clone();
        if n == 0 {
            expected.extend_from_slice(b"tail");
        }
        assert!(found == expected, "big:{n} differs after the restart");
    }
    for n in [0, 9_999, 19_999] {
        assert_eq!(get(&mut conn, &format!("small:{n}")), Some(n.to_string()));
    }
}

/// A cluster node keeps its slots' keys in its AOF: after a SIGKILL and a restart on its own
/// directory (nodes.conf and appendonlydir) it rejoins with every key, and the cluster client
/// reads them all.
#[test]
fn a_cluster_node_comes_back_with_its_keys_from_its_aof() {
    use common::cluster::Cluster;
    let (slotcore, redis) = if target_is_redis() { (0, 3) } else { (3, 0) };
    let mut cluster = Cluster::start_with(slotcore, redis, AOF_ALWAYS);
    cluster.create();
    let mut client = cluster.cluster_client();
    for n in 0..300 {
        let () = redis::cmd("SET")
            .arg(format!("key:{n}"))
            .arg(format!("value {n}"))
            .query(&mut client)
            .unwrap();
    }
    let held = dbsize(&mut cluster.node(1).client());
    assert!(held > 0, "node 1 holds none of the keys");
    cluster.kill(1);
    cluster.restart(1);
    cluster.wait_healthy(WAIT);
    assert_eq!(
        dbsize(&mut cluster.node(1).client()),
        held,
        "node 1's keys after SIGKILL and a restart"
    );
    let mut client = cluster.cluster_client();
    for n in 0..300 {
        let value: Option<String> = redis::cmd("GET")
            .arg(format!("key:{n}"))
            .query(&mut client)
            .unwrap();
        assert_eq!(value, Some(format!("value {n}")), "key:{n}");
    }
}

/// BGREWRITEAOF on a server without an AOF writes a base (the manifest names no incremental
/// file); a start with `appendonly yes` loads it and adds an incremental file for what comes
/// next.
#[test]
fn a_base_written_with_the_aof_off_starts_an_aof() {
    let data = TempDir::new("aof-data");
    let server = Server::start_in(data.path(), &["--save", ""]);
    let mut conn = server.client();
    let workload = Workload::new("off");
    workload.write(&mut conn);
    let reply: Value = redis::cmd("BGREWRITEAOF").query(&mut conn).unwrap();
    assert_eq!(reply, Value::SimpleString(REWRITE_STARTED.into()));
    wait_rewrites_done(&mut conn, 1, "BGREWRITEAOF with the AOF off");
    let files = read_manifest(data.path()).expect("a manifest after BGREWRITEAOF");
    assert!(
        files.iter().all(|f| f.kind != 'i'),
        "an incr file with the AOF off: {files:?}"
    );
    let before = snapshot(&mut conn, Copied::ByCommandStream);
    let mut server = server;
    common::shutdown(&mut server, &["NOSAVE"], WAIT);
    drop(server);

    let server = Server::start_in(data.path(), AOF_ALWAYS);
    let mut conn = server.client();
    assert_holds(
        &mut conn,
        &before,
        "the base a rewrite wrote with the AOF off",
    );
    let files = read_manifest(data.path()).expect("a manifest");
    assert!(
        files.iter().any(|f| f.kind == 'i'),
        "no incr file after a start with appendonly yes: {files:?}"
    );
    set(&mut conn, "later", "write");
    kill_hard(server);
    let server = Server::start_in(data.path(), AOF_ON);
    let mut conn = server.client();
    assert_eq!(get(&mut conn, "later").as_deref(), Some("write"));
    workload.check(&mut conn, "after SIGKILL");
}

/// While an AOF rewrite runs, BGSAVE answers Redis's "Another child process is active" error,
/// BGSAVE SCHEDULE is scheduled and then saves, and SAVE saves.
#[test]
fn saves_while_a_rewrite_runs() {
    let data = TempDir::new("aof-data");
    let server = Server::start_in(
        data.path(),
        &[AOF_ON, &["--enable-debug-command", "yes"]].concat(),
    );
    let mut conn = server.client();
    // Enough data that the rewrite is still writing when the next commands come.
    let () = redis::cmd("DEBUG")
        .arg("POPULATE")
        .arg(100_000)
        .arg("key")
        .arg(2000)
        .query(&mut conn)
        .unwrap();
    let reply: Value = redis::cmd("BGREWRITEAOF").query(&mut conn).unwrap();
    assert_eq!(reply, Value::SimpleString(REWRITE_STARTED.into()));
    let refused: redis::RedisResult<Value> = redis::cmd("BGSAVE").query(&mut conn);
    let error = refused.expect_err("BGSAVE during a rewrite");
    assert!(
        error
            .to_string()
            .contains("Another child process is active (AOF?): can't BGSAVE right now"),
        "BGSAVE during a rewrite: {error}"
    );
    let scheduled: Value = redis::cmd("BGSAVE")
        .arg("SCHEDULE")
        .query(&mut conn)
        .unwrap();
    assert_eq!(
        scheduled,
        Value::SimpleString("Background saving scheduled".into())
    );
    wait_rewrites_done(&mut conn, 1, "the rewrite");
    let saved = eventually(WAIT, || {
        info_number(&mut conn, "rdb_bgsave_in_progress") == 0
            && data.path().join("dump.rdb").exists()
    });
    assert!(saved, "the scheduled BGSAVE wrote no dump.rdb");
    fs::remove_file(data.path().join("dump.rdb")).unwrap();
    let reply: Value = redis::cmd("BGREWRITEAOF").query(&mut conn).unwrap();
    assert_eq!(reply, Value::SimpleString(REWRITE_STARTED.into()));
    let () = redis::cmd("SAVE").query(&mut conn).unwrap();
    assert!(
        data.path().join("dump.rdb").exists(),
        "SAVE during a rewrite"
    );
    wait_rewrites_done(&mut conn, 2, "the second rewrite");
}
