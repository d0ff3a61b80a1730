//! Reading a whole keyspace back through a client and comparing two of them key by key: a
//! master's and its replica's, or a server's and one that loaded its snapshot.
//!
//! - [`snapshot`] reads every key (KEYS *) with TYPE, OBJECT ENCODING, PEXPIRETIME, its contents
//!   in an order that does not depend on hash-table order, and DUMP's payload where that payload
//!   is deterministic; pipelined, so tens of thousands of keys read in a second or two.
//! - [`assert_same_dataset`] asserts two such snapshots hold the same keys with the same state.
//! - [`assert_same_keyspace`] does both for two live servers, DBSIZE included.

use std::collections::BTreeMap;

use redis::{Connection, Value};

use super::show;

/// How the copy being compared was made, which decides what of a stream must match.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Copied {
    /// From a snapshot (an RDB file, a full resync): everything matches, streams' consumer
    /// groups included.
    BySnapshot,
    /// By applying the command stream a master sends its replica. What Redis 7.0 itself does
    /// not carry through that stream is left out: a consumer group's `entries-read` and `lag`
    /// (XREADGROUP reaches the replica as XCLAIMs and an XGROUP SETID without ENTRIESREAD, so
    /// a redis-server replica of a redis-server master shows them unknown), a consumer's
    /// `seen-time` (stamped by the replica's own clock when it creates a consumer), and so
    /// streams' DUMP payloads, which hold both.
    ByCommandStream,
}

/// What a client can see of one key.
#[derive(Clone, Debug)]
pub struct KeyState {
    pub kind: String,
    pub encoding: String,
    /// PEXPIRETIME: the absolute expiry in Unix milliseconds, -1 for none.
    pub expire_at_ms: i64,
    /// The value, in an order that does not depend on hash-table order.
    pub contents: Vec<Vec<u8>>,
    /// DUMP's payload, except for hashtable-encoded hashes and sets (saved in their table's
    /// order, which differs from one process to the next, even between two redis-servers) and,
    /// under [`Copied::ByCommandStream`], streams.
    pub dump: Option<Vec<u8>>,
}

pub type Dataset = BTreeMap<Vec<u8>, KeyState>;

/// How many keys one pipelined round trip reads.
const BATCH: usize = 200;

/// Every key a server holds, with its state (see [`KeyState`]).
pub fn snapshot(conn: &mut Connection, copied: Copied) -> Dataset {
    let mut keys: Vec<Vec<u8>> = redis::cmd("KEYS").arg("*").query(conn).expect("KEYS *");
    keys.sort();
    let mut dataset = Dataset::new();
    for batch in keys.chunks(BATCH) {
        let mut pipe = redis::pipe();
        for key in batch {
            pipe.cmd("TYPE").arg(key);
            pipe.cmd("OBJECT").arg("ENCODING").arg(key);
            pipe.cmd("PEXPIRETIME").arg(key);
        }
        let meta: Vec<Value> = pipe
            .query(conn)
            .unwrap_or_else(|e| panic!("TYPE, OBJECT ENCODING, PEXPIRETIME: {e}"));
        let mut states: Vec<KeyState> = meta
            .chunks(3)
            .map(|m| KeyState {
                kind: text(&m[0]),
                encoding: text(&m[1]),
                expire_at_ms: match m[2] {
                    Value::Int(n) => n,
                    ref other => panic!("PEXPIRETIME reply {other:?}"),
                },
                contents: Vec::new(),
                dump: None,
            })
            .collect();
        let mut pipe = redis::pipe();
        // For each key, how many replies its reads take: (contents, dump).
        let mut shape = Vec::new();
        for (key, state) in batch.iter().zip(&states) {
            let reads = add_reads(&mut pipe, key, &state.kind);
            let dump = dump_is_deterministic(state, copied);
            if dump {
                pipe.cmd("DUMP").arg(key);
            }
            shape.push((reads, dump));
        }
        let replies: Vec<Value> = pipe
            .query(conn)
            .unwrap_or_else(|e| panic!("reading values: {e}"));
        let mut replies = replies.into_iter();
        for ((key, state), (reads, dump)) in batch.iter().zip(&mut states).zip(shape) {
            let read: Vec<Value> = replies.by_ref().take(reads).collect();
            state.contents = contents(key, &state.kind, &read, copied);
            if dump {
                match replies.next() {
                    Some(Value::BulkString(bytes)) => state.dump = Some(bytes),
                    other => panic!("DUMP {} reply {other:?}", show(key)),
                }
            }
        }
        for (key, state) in batch.iter().zip(states) {
            dataset.insert(key.clone(), state);
        }
    }
    dataset
}

fn text(value: &Value) -> String {
    match value {
        Value::SimpleString(s) => s.clone(),
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::Okay => "OK".into(),
        Value::Nil => "(nil)".into(),
        other => panic!("not a string reply: {other:?}"),
    }
}

fn dump_is_deterministic(state: &KeyState, copied: Copied) -> bool {
    match state.kind.as_str() {
        "hash" | "set" => state.encoding != "hashtable",
        "stream" => copied == Copied::BySnapshot,
        "none" => false,
        _ => true,
    }
}

/// Adds the commands that read a `kind` value at `key` to `pipe`; returns how many.
fn add_reads(pipe: &mut redis::Pipeline, key: &[u8], kind: &str) -> usize {
    match kind {
        "string" => {
            pipe.cmd("GET").arg(key);
            1
        }
        "list" => {
            pipe.cmd("LRANGE").arg(key).arg(0).arg(-1);
            1
        }
        "zset" => {
            pipe.cmd("ZRANGE").arg(key).arg(0).arg(-1).arg("WITHSCORES");
            1
        }
        "set" => {
            pipe.cmd("SMEMBERS").arg(key);
            1
        }
        "hash" => {
            pipe.cmd("HGETALL").arg(key);
            1
        }
        "stream" => {
            pipe.cmd("XRANGE").arg(key).arg("-").arg("+");
            pipe.cmd("XINFO").arg("STREAM").arg(key).arg("FULL");
            2
        }
        // Gone between KEYS and TYPE (expired): the comparison shows it.
        "none" => 0,
        other => panic!("unexpected type {other} of {}", show(key)),
    }
}

fn contents(key: &[u8], kind: &str, read: &[Value], copied: Copied) -> Vec<Vec<u8>> {
    let items = |value: &Value| -> Vec<Vec<u8>> {
        match value {
            Value::Array(items) => items
                .iter()
                .map(|item| match item {
                    Value::BulkString(bytes) => bytes.clone(),
                    other => panic!("{kind} {}: item {other:?}", show(key)),
                })
                .collect(),
            other => panic!("{kind} {}: reply {other:?}", show(key)),
        }
    };
    match kind {
        "string" => match &read[0] {
            Value::BulkString(bytes) => vec![bytes.clone()],
            other => panic!("GET {} reply {other:?}", show(key)),
        },
        "list" | "zset" => items(&read[0]),
        "set" => {
            let mut members = items(&read[0]);
            members.sort();
            members
        }
        "hash" => {
            let flat = items(&read[0]);
            let mut pairs: Vec<Vec<u8>> = flat
                .chunks(2)
                .map(|pair| [&pair[0][..], b" => ", &pair[1][..]].concat())
                .collect();
            pairs.sort();
            pairs
        }
        "stream" => stream_contents(&read[0], &read[1], copied),
        _ => Vec::new(),
    }
}

/// A stream's entries and everything XINFO STREAM FULL says of it (groups, consumers, pending
/// entries with their delivery times and counts), less the radix tree's node counts, which
/// depend on the implementation, and under [`Copied::ByCommandStream`] what that leaves out.
fn stream_contents(entries: &Value, info: &Value, copied: Copied) -> Vec<Vec<u8>> {
    let Value::Array(fields) = info else {
        panic!("XINFO STREAM FULL reply: {info:?}");
    };
    let mut out = Vec::new();
    flatten(entries, &mut out);
    for pair in fields.chunks(2) {
        let mut name = Vec::new();
        flatten(&pair[0], &mut name);
        if !name[0].starts_with(b"radix-tree") {
            out.extend(name);
            flatten(&pair[1], &mut out);
        }
    }
    if copied == Copied::ByCommandStream {
        for i in 1..out.len() {
            let field = &out[i - 1];
            if [&b"seen-time"[..], b"entries-read", b"lag"].contains(&&field[..]) {
                out[i] = b"(left out)".to_vec();
            }
        }
    }
    out
}

/// A reply's leaves in order, with array brackets, as byte strings.
pub fn flatten(value: &Value, out: &mut Vec<Vec<u8>>) {
    match value {
        Value::BulkString(bytes) => out.push(bytes.clone()),
        Value::SimpleString(text) => out.push(text.clone().into_bytes()),
        Value::Int(n) => out.push(format!(":{n}").into_bytes()),
        Value::Nil => out.push(b"(nil)".to_vec()),
        Value::Array(items) => {
            out.push(format!("[{}", items.len()).into_bytes());
            for item in items {
                flatten(item, out);
            }
            out.push(b"]".to_vec());
        }
        other => out.push(format!("{other:?}").into_bytes()),
    }
}

/// Asserts `actual` holds the same keys as `expected`, each with the same type, absolute
/// expiry, contents and (where it is deterministic) DUMP payload, and for every type but
/// strings the same encoding. A string's encoding is left out: Redis itself differs there
/// between a master and its replica (INCRBYFLOAT's embstr `11` is an int after the replica's
/// SET or an RDB load; APPEND's raw string loads as embstr), while DUMP saves all three alike.
pub fn assert_same_dataset(expected: &Dataset, actual: &Dataset, what: &str) {
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
        "{what}: {} keys expected, {} found; keys missing ({}): {:?}; keys not expected ({}): \
         {:?}",
        expected.len(),
        actual.len(),
        missing.len(),
        &missing[..missing.len().min(20)],
        extra.len(),
        &extra[..extra.len().min(20)],
    );
    for (key, want) in expected {
        let got = &actual[key];
        let name = show(key);
        assert_eq!(got.kind, want.kind, "{what}: TYPE of {name}");
        if want.kind != "string" {
            assert_eq!(
                got.encoding, want.encoding,
                "{what}: OBJECT ENCODING of {name}"
            );
        }
        assert_eq!(
            got.expire_at_ms, want.expire_at_ms,
            "{what}: PEXPIRETIME of {name}"
        );
        if got.contents != want.contents {
            let first = (0..want.contents.len().max(got.contents.len()))
                .find(|&i| got.contents.get(i) != want.contents.get(i))
                .unwrap_or(0);
            panic!(
                "{what}: contents of {name} ({}) differ ({} items expected, {} found); first \
                 difference at item {first}: expected {:?}, found {:?}",
                want.kind,
                want.contents.len(),
                got.contents.len(),
                want.contents.get(first).map(|item| show(item)),
                got.contents.get(first).map(|item| show(item)),
            );
        }
        if let (Some(want_dump), Some(got_dump)) = (&want.dump, &got.dump) {
            assert!(
                want_dump == got_dump,
                "{what}: DUMP of {name} ({}) differs:\nexpected {}\nfound    {}",
                want.kind,
                show(want_dump),
                show(got_dump)
            );
        }
    }
}

/// Reads both servers' keyspaces and asserts they are the same (see [`assert_same_dataset`]),
/// DBSIZE included: DBSIZE counts keys a replica holds but hides on reads because their time
/// has passed, so it shows a key whose expiry the master never passed on. Returns the
/// expected side's dataset.
pub fn assert_same_keyspace(
    expected: &mut Connection,
    actual: &mut Connection,
    copied: Copied,
    what: &str,
) -> Dataset {
    let want = snapshot(expected, copied);
    let got = snapshot(actual, copied);
    assert_same_dataset(&want, &got, what);
    let want_size: i64 = redis::cmd("DBSIZE").query(expected).expect("DBSIZE");
    let got_size: i64 = redis::cmd("DBSIZE").query(actual).expect("DBSIZE");
    assert_eq!(
        got_size,
        want_size,
        "{what}: DBSIZE ({} keys read back)",
        want.len()
    );
    want
}
