//! Many clients, pipelines and multi-key commands over keys that hash to every slot, so the
//! cross-core paths run: every value written must be read back exactly.

mod common;

use common::{connect_url, eventually, one_key_per_slot, spread_keys, Server};
use redis::Value;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

#[test]
fn many_connections_over_all_slots() {
    const THREADS: usize = 32;
    const SHARED_INCRS: i64 = 50;
    let server = Server::start(&[]);
    let keys = Arc::new(one_key_per_slot("conc"));
    let shared = Arc::new(spread_keys("shared", 16));

    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let url = server.url();
            let keys = Arc::clone(&keys);
            let shared = Arc::clone(&shared);
            thread::spawn(move || {
                let mut con = connect_url(&url);
                let mut shared_done = 0;
                for (i, slot) in (t..keys.len()).step_by(THREADS).enumerate() {
                    let key = &keys[slot];
                    let value = format!("v:{slot}");
                    let _: () = redis::cmd("SET")
                        .arg(key)
                        .arg(&value)
                        .query(&mut con)
                        .unwrap();
                    let got: String = redis::cmd("GET").arg(key).query(&mut con).unwrap();
                    assert_eq!(got, value);
                    let n: i64 = redis::cmd("INCR")
                        .arg(format!("n:{key}"))
                        .query(&mut con)
                        .unwrap();
                    assert_eq!(n, 1, "n:{key} is incremented by one client only");
                    // Every client also bumps the shared counters, which live on every core.
                    if i % 64 == 0 {
                        for counter in shared.iter() {
                            let _: i64 = redis::cmd("INCR").arg(counter).query(&mut con).unwrap();
                        }
                        shared_done += 1;
                    }
                }
                // Make each client's total on the shared counters a known number.
                for counter in shared.iter() {
                    let _: i64 = redis::cmd("INCRBY")
                        .arg(counter)
                        .arg(SHARED_INCRS - shared_done)
                        .query(&mut con)
                        .unwrap();
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().expect("worker thread");
    }

    // Read everything back on a fresh connection.
    let mut con = server.client();
    for chunk in keys.chunks(1024) {
        let mut pipe = redis::pipe();
        for key in chunk {
            pipe.cmd("GET").arg(key).cmd("GET").arg(format!("n:{key}"));
        }
        let got: Vec<String> = pipe.query(&mut con).unwrap();
        for (key, pair) in chunk.iter().zip(got.chunks(2)) {
            let slot = common::key_slot(key.as_bytes());
            assert_eq!(pair[0], format!("v:{slot}"), "value of {key}");
            assert_eq!(pair[1], "1", "n:{key}");
        }
    }
    for counter in shared.iter() {
        let n: i64 = redis::cmd("GET").arg(counter).query(&mut con).unwrap();
        assert_eq!(n, THREADS as i64 * SHARED_INCRS, "shared counter {counter}");
    }
    let dbsize: usize = redis::cmd("DBSIZE").query(&mut con).unwrap();
    assert_eq!(dbsize, 2 * keys.len() + shared.len());
}

/// What a command in the mixed pipeline should answer, given a model of the keyspace.
fn apply(model: &mut HashMap<String, String>, args: &[String]) -> Value {
    let bulk =
        |v: Option<&String>| v.map_or(Value::Nil, |s| Value::BulkString(s.clone().into_bytes()));
    match args[0].as_str() {
        "SET" => {
            model.insert(args[1].clone(), args[2].clone());
            Value::Okay
        }
        "GET" => bulk(model.get(&args[1])),
        "INCR" => {
            let n = model.get(&args[1]).map_or(0, |v| v.parse::<i64>().unwrap()) + 1;
            model.insert(args[1].clone(), n.to_string());
            Value::Int(n)
        }
        "MGET" => Value::Array(args[1..].iter().map(|k| bulk(model.get(k))).collect()),
        "DEL" => Value::Int(
            args[1..]
                .iter()
                .filter(|k| model.remove(*k).is_some())
                .count() as i64,
        ),
        other => panic!("model has no {other}"),
    }
}

#[test]
fn pipeline_of_1000_mixed_commands_across_cores() {
    let server = Server::start(&[]);
    let keys = spread_keys("pipe", 64);
    let counters = spread_keys("ctr", 8);
    let mut model = HashMap::new();
    let mut pipe = redis::pipe();
    let mut expected = Vec::new();
    for i in 0..1000usize {
        let args: Vec<String> = match i % 5 {
            0 => vec!["SET".into(), keys[i % 64].clone(), format!("value-{i}")],
            1 => vec!["GET".into(), keys[(i * 7) % 64].clone()],
            2 => vec!["INCR".into(), counters[i % 8].clone()],
            3 => std::iter::once("MGET".to_string())
                .chain((0..5).map(|j| keys[(i + j * 13) % 64].clone()))
                .collect(),
            _ => vec![
                "DEL".into(),
                keys[(i * 3) % 64].clone(),
                keys[(i * 11) % 64].clone(),
            ],
        };
        expected.push(apply(&mut model, &args));
        let cmd = pipe.cmd(&args[0]);
        for arg in &args[1..] {
            cmd.arg(arg);
        }
    }
    let mut con = server.client();
    let got: Vec<Value> = pipe.query(&mut con).unwrap();
    assert_eq!(got.len(), expected.len());
    for (i, (got, want)) in got.iter().zip(&expected).enumerate() {
        assert_eq!(got, want, "reply {i} of the pipeline");
    }
    let dbsize: usize = redis::cmd("DBSIZE").query(&mut con).unwrap();
    assert_eq!(dbsize, model.len());
}

fn scan_all(con: &mut redis::Connection, pattern: Option<&str>) -> HashSet<String> {
    let mut seen = HashSet::new();
    let mut cursor = "0".to_string();
    for _ in 0..100_000 {
        let mut cmd = redis::cmd("SCAN");
        cmd.arg(&cursor).arg("COUNT").arg(7);
        if let Some(pattern) = pattern {
            cmd.arg("MATCH").arg(pattern);
        }
        let (next, batch): (String, Vec<String>) = cmd.query(con).unwrap();
        // SCAN may return a key more than once; it must never miss one.
        seen.extend(batch);
        if next == "0" {
            return seen;
        }
        cursor = next;
    }
    panic!("SCAN did not finish within 100000 calls");
}

#[test]
fn multi_key_commands_over_100_keys_spanning_cores() {
    let server = Server::start(&[]);
    let mut con = server.client();
    let keys = spread_keys("multi", 100);
    let values: Vec<String> = (0..100).map(|i| format!("value-{i}")).collect();
    let all: HashSet<String> = keys.iter().cloned().collect();

    let mut mset = redis::cmd("MSET");
    for (k, v) in keys.iter().zip(&values) {
        mset.arg(k).arg(v);
    }
    let _: () = mset.query(&mut con).unwrap();

    let got: Vec<Option<String>> = redis::cmd("MGET").arg(&keys).query(&mut con).unwrap();
    assert_eq!(got, values.iter().cloned().map(Some).collect::<Vec<_>>());

    // EXISTS counts a key each time it is named.
    let exists: i64 = redis::cmd("EXISTS")
        .arg(&keys)
        .arg("multi:missing")
        .arg(&keys[0])
        .query(&mut con)
        .unwrap();
    assert_eq!(exists, 101);
    let touched: i64 = redis::cmd("TOUCH")
        .arg(&keys)
        .arg("multi:missing")
        .query(&mut con)
        .unwrap();
    assert_eq!(touched, 100);

    let dbsize: i64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
    assert_eq!(dbsize, 100);
    let listed: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut con).unwrap();
    assert_eq!(listed.len(), 100, "KEYS * returns each key once");
    assert_eq!(listed.into_iter().collect::<HashSet<_>>(), all);
    assert_eq!(scan_all(&mut con, None), all);
    let ones: HashSet<String> = all
        .iter()
        .filter(|k| k.starts_with("multi:1"))
        .cloned()
        .collect();
    assert!(!ones.is_empty());
    assert_eq!(scan_all(&mut con, Some("multi:1*")), ones);
    let listed: Vec<String> = redis::cmd("KEYS").arg("multi:1*").query(&mut con).unwrap();
    assert_eq!(listed.into_iter().collect::<HashSet<_>>(), ones);

    let deleted: i64 = redis::cmd("DEL")
        .arg(&keys[..50])
        .arg("multi:missing")
        .query(&mut con)
        .unwrap();
    assert_eq!(deleted, 50);
    let exists: i64 = redis::cmd("EXISTS").arg(&keys).query(&mut con).unwrap();
    assert_eq!(exists, 50);
    let unlinked: i64 = redis::cmd("UNLINK").arg(&keys).query(&mut con).unwrap();
    assert_eq!(unlinked, 50);

    let dbsize: i64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
    assert_eq!(dbsize, 0);
    let listed: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut con).unwrap();
    assert!(listed.is_empty(), "{listed:?}");
    assert!(scan_all(&mut con, None).is_empty());
    let got: Vec<Option<String>> = redis::cmd("MGET").arg(&keys).query(&mut con).unwrap();
    assert!(got.iter().all(Option::is_none));
}

#[test]
fn scan_sees_every_key_of_a_larger_keyspace() {
    let server = Server::start(&[]);
    let mut con = server.client();
    let keys = one_key_per_slot("scan");
    for chunk in keys.chunks(1000) {
        let mut mset = redis::cmd("MSET");
        for k in chunk {
            mset.arg(k).arg(1);
        }
        let _: () = mset.query(&mut con).unwrap();
    }
    let all: HashSet<String> = keys.iter().cloned().collect();
    assert_eq!(scan_all(&mut con, None), all);
    let listed: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut con).unwrap();
    assert_eq!(listed.len(), keys.len());
}

#[test]
fn keys_with_short_ttl_are_removed_without_being_accessed() {
    let server = Server::start(&[]);
    let mut con = server.client();
    let keys = spread_keys("ttl", 200);
    for key in &keys {
        let _: () = redis::cmd("SET")
            .arg(key)
            .arg("x")
            .arg("PX")
            .arg(50)
            .query(&mut con)
            .unwrap();
    }
    let _: () = redis::cmd("SET")
        .arg("keeper")
        .arg("stays")
        .query(&mut con)
        .unwrap();
    // DBSIZE counts keys that have expired but were not yet removed, so reaching 1 shows active
    // expiry removed them on every core; only the key without a TTL is left.
    let mut dbsize = -1;
    let cleared = eventually(Duration::from_secs(20), || {
        dbsize = redis::cmd("DBSIZE").query(&mut con).unwrap();
        dbsize == 1
    });
    assert!(cleared, "DBSIZE stayed at {dbsize}");
    let keeper: String = redis::cmd("GET").arg("keeper").query(&mut con).unwrap();
    assert_eq!(keeper, "stays");
}

/// Sets its flag when dropped, so waiting threads stop even if the owner panics.
struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[test]
fn mset_is_seen_whole_by_concurrent_mget() {
    mset_seen_whole_with(&[]);
}

#[test]
fn mset_is_seen_whole_with_four_shards_on_two_cpus() {
    mset_seen_whole_with(&["--shards", "4"]);
}

fn mset_seen_whole_with(args: &[&str]) {
    // "MSET is atomic, so all given keys are set at once": a reader never sees some keys of one
    // MSET and some of another, even when the keys live on different cores.
    const ROUNDS: usize = 2000;
    let server = Server::start(args);
    let keys = Arc::new(spread_keys("atomic", 10));
    let writer_done = Arc::new(AtomicBool::new(false));
    let writer = {
        let url = server.url();
        let keys = Arc::clone(&keys);
        let done = SetOnDrop(Arc::clone(&writer_done));
        thread::spawn(move || {
            let _done = done;
            let mut con = connect_url(&url);
            for round in 0..ROUNDS {
                let mut mset = redis::cmd("MSET");
                for key in keys.iter() {
                    mset.arg(key).arg(round);
                }
                let _: () = mset.query(&mut con).unwrap();
            }
        })
    };
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let url = server.url();
            let keys = Arc::clone(&keys);
            let writer_done = Arc::clone(&writer_done);
            thread::spawn(move || {
                let mut con = connect_url(&url);
                let mut last = -1i64;
                let mut reads = 0;
                loop {
                    // Read once more after the writer finished, to see its last MSET.
                    let finished = writer_done.load(Ordering::SeqCst);
                    let got: Vec<Option<i64>> =
                        redis::cmd("MGET").arg(&keys[..]).query(&mut con).unwrap();
                    reads += 1;
                    let first = got[0];
                    assert!(
                        got.iter().all(|v| *v == first),
                        "MGET {reads} saw a partial MSET: {got:?}"
                    );
                    if let Some(round) = first {
                        assert!(
                            round >= last,
                            "MGET went back in time: {round} after {last}"
                        );
                        last = round;
                    }
                    if finished {
                        return last;
                    }
                }
            })
        })
        .collect();
    writer.join().expect("writer");
    for reader in readers {
        let last = reader.join().expect("reader");
        assert_eq!(last, ROUNDS as i64 - 1, "the last MSET");
    }
}

#[test]
fn msetnx_and_rename_across_cores() {
    let server = Server::start(&[]);
    let mut con = server.client();
    let keys = spread_keys("nx", 8);
    // MSETNX sets all or nothing.
    let _: () = redis::cmd("SET")
        .arg(&keys[7])
        .arg("taken")
        .query(&mut con)
        .unwrap();
    let mut msetnx = redis::cmd("MSETNX");
    for key in &keys {
        msetnx.arg(key).arg("new");
    }
    let set: i64 = msetnx.query(&mut con).unwrap();
    assert_eq!(set, 0);
    let exists: i64 = redis::cmd("EXISTS")
        .arg(&keys[..7])
        .query(&mut con)
        .unwrap();
    assert_eq!(exists, 0, "MSETNX that failed set some keys");
    let mut msetnx = redis::cmd("MSETNX");
    for key in &keys[..7] {
        msetnx.arg(key).arg("new");
    }
    let set: i64 = msetnx.query(&mut con).unwrap();
    assert_eq!(set, 1);
    let got: Vec<String> = redis::cmd("MGET").arg(&keys).query(&mut con).unwrap();
    assert_eq!(got[..7], vec!["new".to_string(); 7][..]);

    // RENAME moves a key and its TTL between keys on different cores.
    let (from, to) = (&keys[0], &keys[4]);
    let _: () = redis::cmd("EXPIRE")
        .arg(from)
        .arg(1000)
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("RENAME")
        .arg(from)
        .arg(to)
        .query(&mut con)
        .unwrap();
    let moved: Option<String> = redis::cmd("GET").arg(to).query(&mut con).unwrap();
    assert_eq!(moved.as_deref(), Some("new"));
    let gone: i64 = redis::cmd("EXISTS").arg(from).query(&mut con).unwrap();
    assert_eq!(gone, 0);
    let ttl: i64 = redis::cmd("TTL").arg(to).query(&mut con).unwrap();
    assert!((1..=1000).contains(&ttl), "TTL after RENAME: {ttl}");
    let dbsize: i64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
    assert_eq!(dbsize, 7);
}

/// SMOVE between sets on different cores is atomic for other clients: a
/// concurrent SUNION of the two sets always sees every member exactly once.
#[test]
fn smove_across_cores_is_seen_whole_by_sunion() {
    const MEMBERS: usize = 200;
    let server = Server::start(&[]);
    let per_slot = one_key_per_slot("mv");
    // Slots 0 and 1 are on different cores whenever there are two or more.
    let (left, right) = (per_slot[0].clone(), per_slot[1].clone());
    let mut con = server.client();
    let mut sadd = redis::cmd("SADD");
    sadd.arg(&left);
    for member in 0..MEMBERS {
        sadd.arg(format!("m{member}"));
    }
    let added: usize = sadd.query(&mut con).unwrap();
    assert_eq!(added, MEMBERS);
    let stop = Arc::new(AtomicBool::new(false));
    let movers: Vec<_> = [(left.clone(), right.clone()), (right.clone(), left.clone())]
        .into_iter()
        .map(|(from, to)| {
            let url = server.url();
            let stop = Arc::clone(&stop);
            thread::spawn(move || {
                let mut con = connect_url(&url);
                let mut round = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    let member = format!("m{}", round % MEMBERS);
                    let _: i64 = redis::cmd("SMOVE")
                        .arg(&from)
                        .arg(&to)
                        .arg(member)
                        .query(&mut con)
                        .unwrap();
                    round += 1;
                }
            })
        })
        .collect();
    for _ in 0..300 {
        let union: Vec<String> = redis::cmd("SUNION")
            .arg(&left)
            .arg(&right)
            .query(&mut con)
            .unwrap();
        assert_eq!(union.len(), MEMBERS, "a member was in neither set");
        let both: i64 = redis::cmd("SINTERCARD")
            .arg(2)
            .arg(&left)
            .arg(&right)
            .query(&mut con)
            .unwrap();
        assert_eq!(both, 0, "a member was in both sets");
    }
    stop.store(true, Ordering::Relaxed);
    for mover in movers {
        mover.join().unwrap();
    }
    let total: i64 = redis::cmd("SCARD").arg(&left).query(&mut con).unwrap();
    let other: i64 = redis::cmd("SCARD").arg(&right).query(&mut con).unwrap();
    assert_eq!(total + other, MEMBERS as i64);
}

#[test]
fn multi_exec_is_seen_whole_with_four_shards_on_two_cpus() {
    // A transaction over keys on several cores: INCR of each key, then a read. Readers using
    // MGET or their own MULTI/EXEC must always see every key at the same count, and a WATCH
    // that saw no change lets the check-and-set pattern count exactly.
    const ROUNDS: i64 = 1000;
    let server = Server::start(&["--shards", "4"]);
    let keys = Arc::new(spread_keys("tx", 6));
    let writer_done = Arc::new(AtomicBool::new(false));
    let writer = {
        let url = server.url();
        let keys = Arc::clone(&keys);
        let done = SetOnDrop(Arc::clone(&writer_done));
        thread::spawn(move || {
            let _done = done;
            let mut con = connect_url(&url);
            for round in 1..=ROUNDS {
                let mut pipe = redis::pipe();
                pipe.atomic();
                for key in keys.iter() {
                    pipe.cmd("INCR").arg(key);
                }
                let counts: Vec<i64> = pipe.query(&mut con).unwrap();
                assert!(counts.iter().all(|c| *c == round), "{counts:?}");
            }
        })
    };
    let readers: Vec<_> = (0..3)
        .map(|reader| {
            let url = server.url();
            let keys = Arc::clone(&keys);
            let writer_done = Arc::clone(&writer_done);
            thread::spawn(move || {
                let mut con = connect_url(&url);
                let mut reads = 0;
                loop {
                    let finished = writer_done.load(Ordering::SeqCst);
                    let got: Vec<Option<i64>> = if reader == 0 {
                        redis::cmd("MGET").arg(&keys[..]).query(&mut con).unwrap()
                    } else {
                        let mut pipe = redis::pipe();
                        pipe.atomic();
                        for key in keys.iter() {
                            pipe.cmd("GET").arg(key);
                        }
                        pipe.query(&mut con).unwrap()
                    };
                    reads += 1;
                    assert!(
                        got.iter().all(|v| *v == got[0]),
                        "read {reads} saw half a transaction: {got:?}"
                    );
                    if finished {
                        return got[0];
                    }
                }
            })
        })
        .collect();
    writer.join().expect("writer");
    for reader in readers {
        assert_eq!(reader.join().expect("reader"), Some(ROUNDS));
    }
    // Optimistic locking: two clients add to one counter with WATCH/MULTI/EXEC, retrying when
    // EXEC answers null; no increment may be lost.
    let adders: Vec<_> = (0..2)
        .map(|_| {
            let url = server.url();
            thread::spawn(move || {
                let mut con = connect_url(&url);
                let mut retries = 0;
                for _ in 0..200 {
                    loop {
                        let _: () = redis::cmd("WATCH").arg("cas").query(&mut con).unwrap();
                        let current: Option<i64> =
                            redis::cmd("GET").arg("cas").query(&mut con).unwrap();
                        let result: Option<(String,)> = redis::pipe()
                            .atomic()
                            .cmd("SET")
                            .arg("cas")
                            .arg(current.unwrap_or(0) + 1)
                            .query(&mut con)
                            .unwrap();
                        if result.is_some() {
                            break;
                        }
                        retries += 1;
                    }
                }
                retries
            })
        })
        .collect();
    for adder in adders {
        adder.join().expect("adder");
    }
    let mut con = server.client();
    let total: i64 = redis::cmd("GET").arg("cas").query(&mut con).unwrap();
    assert_eq!(total, 400);
}

#[test]
fn blocked_consumers_get_every_pushed_element_exactly_once() {
    // Four consumers block on three queues whose keys live on different cores (each consumer
    // names them in its own order); two producers push 600 distinct elements. Every element
    // must come out exactly once: none lost to a consumer served twice or a timeout that raced
    // with a push, none duplicated.
    const PER_PRODUCER: usize = 300;
    let server = Server::start(&["--shards", "3"]);
    let queues = Arc::new(spread_keys("queue", 3));
    let consumers: Vec<_> = (0..4)
        .map(|index| {
            let url = server.url();
            let mut queues: Vec<String> = queues.to_vec();
            queues.rotate_left(index % 3);
            thread::spawn(move || {
                let mut con = connect_url(&url);
                let mut got = Vec::new();
                loop {
                    // A short timeout, so timeouts race with pushes too.
                    let reply: Option<(String, String)> = redis::cmd("BLPOP")
                        .arg(&queues[..])
                        .arg(0.05)
                        .query(&mut con)
                        .unwrap();
                    match reply {
                        Some((_, element)) if element == "stop" => return got,
                        Some((_, element)) => got.push(element),
                        None => {}
                    }
                }
            })
        })
        .collect();
    let producers: Vec<_> = (0..2)
        .map(|producer| {
            let url = server.url();
            let queues = Arc::clone(&queues);
            thread::spawn(move || {
                let mut con = connect_url(&url);
                for n in 0..PER_PRODUCER {
                    let queue = &queues[n % queues.len()];
                    let _: i64 = redis::cmd("RPUSH")
                        .arg(queue)
                        .arg(format!("{producer}-{n}"))
                        .query(&mut con)
                        .unwrap();
                }
            })
        })
        .collect();
    for producer in producers {
        producer.join().expect("producer");
    }
    let mut con = server.client();
    let drained = eventually(Duration::from_secs(10), || {
        let lengths: Vec<i64> = queues
            .iter()
            .map(|q| redis::cmd("LLEN").arg(q).query(&mut con).unwrap())
            .collect();
        lengths.iter().all(|n| *n == 0)
    });
    assert!(drained, "the consumers did not drain the queues");
    for _ in 0..4 {
        let _: i64 = redis::cmd("RPUSH")
            .arg(&queues[0])
            .arg("stop")
            .query(&mut con)
            .unwrap();
    }
    let mut all: Vec<String> = consumers
        .into_iter()
        .flat_map(|consumer| consumer.join().expect("consumer"))
        .collect();
    let total = all.len();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), total, "an element came out twice");
    assert_eq!(total, 2 * PER_PRODUCER, "elements lost");
}

/// BITOP and PFMERGE over keys on different cores see their sources whole:
/// a writer MSETs two keys to the same value, so a concurrent BITOP XOR of
/// them is always all zero bytes, and a PFMERGE of two equal HLLs always
/// counts what one of them counts.
#[test]
fn bitop_and_pfmerge_across_cores_see_sources_whole() {
    const ROUNDS: usize = 500;
    let server = Server::start(&[]);
    let per_slot = one_key_per_slot("bits");
    let (left, right, destination) = (
        per_slot[0].clone(),
        per_slot[1].clone(),
        per_slot[3].clone(),
    );
    let mut con = server.client();
    // Two HLL values of disjoint sets (so a mix of them counts neither),
    // made by the server itself.
    let mut hlls: Vec<(Vec<u8>, i64)> = Vec::new();
    for count in [10, 2000] {
        let mut pfadd = redis::cmd("PFADD");
        pfadd.arg("maker");
        for element in 0..count {
            pfadd.arg(format!("e{count}_{element}"));
        }
        let _: i64 = pfadd.query(&mut con).unwrap();
        let bytes: Vec<u8> = redis::cmd("GET").arg("maker").query(&mut con).unwrap();
        let estimate: i64 = redis::cmd("PFCOUNT").arg("maker").query(&mut con).unwrap();
        hlls.push((bytes, estimate));
        let _: i64 = redis::cmd("DEL").arg("maker").query(&mut con).unwrap();
    }
    // Both sources exist before the reader starts: a PFMERGE of two missing
    // keys makes an empty HLL, which counts 0 without any torn write.
    let _: () = redis::cmd("MSET")
        .arg(&left)
        .arg(&hlls[0].0)
        .arg(&right)
        .arg(&hlls[0].0)
        .query(&mut con)
        .unwrap();
    let writer_done = Arc::new(AtomicBool::new(false));
    let writer = {
        let (url, left, right) = (server.url(), left.clone(), right.clone());
        let hlls = hlls.clone();
        let done = SetOnDrop(Arc::clone(&writer_done));
        thread::spawn(move || {
            let _done = done;
            let mut con = connect_url(&url);
            for round in 0..ROUNDS {
                let value: Vec<u8> = if round % 2 == 0 {
                    format!("{round:0width$}", width = 8 + round % 5).into_bytes()
                } else {
                    hlls[round / 2 % 2].0.clone()
                };
                let _: () = redis::cmd("MSET")
                    .arg(&left)
                    .arg(&value)
                    .arg(&right)
                    .arg(&value)
                    .query(&mut con)
                    .unwrap();
            }
        })
    };
    let estimates: Vec<i64> = hlls.iter().map(|(_, estimate)| *estimate).collect();
    loop {
        let finished = writer_done.load(Ordering::SeqCst);
        let length: i64 = redis::cmd("BITOP")
            .arg("XOR")
            .arg(&destination)
            .arg(&left)
            .arg(&right)
            .query(&mut con)
            .unwrap();
        let xor: Vec<u8> = redis::cmd("GET").arg(&destination).query(&mut con).unwrap();
        assert_eq!(xor.len() as i64, length);
        assert!(
            xor.iter().all(|byte| *byte == 0),
            "BITOP saw a partial MSET"
        );
        let _: i64 = redis::cmd("DEL").arg(&destination).query(&mut con).unwrap();
        let merged: redis::RedisResult<()> = redis::cmd("PFMERGE")
            .arg(&destination)
            .arg(&left)
            .arg(&right)
            .query(&mut con);
        if merged.is_ok() {
            let count: i64 = redis::cmd("PFCOUNT")
                .arg(&destination)
                .query(&mut con)
                .unwrap();
            assert!(
                estimates.contains(&count),
                "PFMERGE saw a partial MSET: {count}"
            );
            let union: i64 = redis::cmd("PFCOUNT")
                .arg(&left)
                .arg(&right)
                .query(&mut con)
                .unwrap_or(estimates[0]);
            assert!(
                estimates.contains(&union),
                "PFCOUNT saw a partial MSET: {union}"
            );
        }
        let _: i64 = redis::cmd("DEL").arg(&destination).query(&mut con).unwrap();
        if finished {
            break;
        }
    }
    writer.join().expect("writer");
}

/// The sorted set commands over keys on several cores read all their keys
/// at one moment for other clients: while another client RENAMEs a sorted
/// set back and forth between two keys on different cores (so exactly one
/// of them exists at any time), ZUNION and ZINTERCARD over both, and a
/// ZUNIONSTORE of both into a third key, always see it exactly once.
#[test]
fn zset_algebra_across_cores_sees_a_rename_whole() {
    const MEMBERS: usize = 100;
    let server = Server::start(&[]);
    let per_slot = one_key_per_slot("zr");
    // Slots 0 and 1 are on different cores whenever there are two or more.
    let (left, right, stored) = (
        per_slot[0].clone(),
        per_slot[1].clone(),
        per_slot[2].clone(),
    );
    let mut con = server.client();
    let mut zadd = redis::cmd("ZADD");
    zadd.arg(&left);
    for member in 0..MEMBERS {
        zadd.arg(member).arg(format!("m{member}"));
    }
    let added: usize = zadd.query(&mut con).unwrap();
    assert_eq!(added, MEMBERS);
    let stop = Arc::new(AtomicBool::new(false));
    let renamer = {
        let (url, stop) = (server.url(), Arc::clone(&stop));
        let (left, right) = (left.clone(), right.clone());
        thread::spawn(move || {
            let mut con = connect_url(&url);
            while !stop.load(Ordering::Relaxed) {
                for (from, to) in [(&left, &right), (&right, &left)] {
                    let _: () = redis::cmd("RENAME")
                        .arg(from)
                        .arg(to)
                        .query(&mut con)
                        .unwrap();
                }
            }
        })
    };
    for _ in 0..300 {
        let union: Vec<String> = redis::cmd("ZUNION")
            .arg(2)
            .arg(&left)
            .arg(&right)
            .query(&mut con)
            .unwrap();
        assert_eq!(
            union.len(),
            MEMBERS,
            "ZUNION saw the set {} times",
            union.len() / MEMBERS
        );
        let both: i64 = redis::cmd("ZINTERCARD")
            .arg(2)
            .arg(&left)
            .arg(&right)
            .query(&mut con)
            .unwrap();
        assert_eq!(both, 0, "the set was under both names");
        let count: i64 = redis::cmd("ZUNIONSTORE")
            .arg(&stored)
            .arg(2)
            .arg(&left)
            .arg(&right)
            .query(&mut con)
            .unwrap();
        assert_eq!(count, MEMBERS as i64, "ZUNIONSTORE stored {count} members");
    }
    stop.store(true, Ordering::Relaxed);
    renamer.join().unwrap();
    let card: i64 = redis::cmd("ZCARD").arg(&stored).query(&mut con).unwrap();
    assert_eq!(card, MEMBERS as i64);
}

/// A BLMOVE served by a push, from a list on one core to a list on another, is one step for
/// every other client. The producer pushes and counts in one transaction (the count shares the
/// source's slot); a reader that reads the count and both lengths in one cross-core MULTI/EXEC
/// always finds every pushed element in one of the lists, never one popped and not yet pushed.
#[test]
fn served_blmove_across_cores_is_seen_whole() {
    const ELEMENTS: usize = 300;
    let server = Server::start(&["--shards", "2"]);
    let per_slot = one_key_per_slot("bm");
    // Slots 0 and 1 are on different cores whenever there are two or more.
    let source = format!("{{{}}}source", per_slot[0]);
    let count = format!("{{{}}}count", per_slot[0]);
    let destination = format!("{{{}}}destination", per_slot[1]);
    let done = Arc::new(AtomicBool::new(false));
    let consumer = {
        let (url, source, destination) = (server.url(), source.clone(), destination.clone());
        let done = SetOnDrop(Arc::clone(&done));
        thread::spawn(move || {
            let _done = done;
            let mut con = connect_url(&url);
            for moved in 0..ELEMENTS {
                let element: Option<String> = redis::cmd("BLMOVE")
                    .arg(&source)
                    .arg(&destination)
                    .arg("RIGHT")
                    .arg("LEFT")
                    .arg(5)
                    .query(&mut con)
                    .unwrap();
                assert!(element.is_some(), "BLMOVE timed out after {moved} elements");
            }
        })
    };
    let producer = {
        let (url, source, count) = (server.url(), source.clone(), count.clone());
        thread::spawn(move || {
            let mut con = connect_url(&url);
            for n in 0..ELEMENTS {
                let _: (i64, i64) = redis::pipe()
                    .atomic()
                    .cmd("LPUSH")
                    .arg(&source)
                    .arg(n)
                    .cmd("INCR")
                    .arg(&count)
                    .query(&mut con)
                    .unwrap();
                // Mostly the consumer is blocked when the push comes.
                thread::sleep(Duration::from_micros(300));
            }
        })
    };
    let mut con = server.client();
    let mut observations = 0;
    while !done.load(Ordering::SeqCst) {
        let (pushed, in_source, in_destination): (Option<i64>, i64, i64) = redis::pipe()
            .atomic()
            .cmd("GET")
            .arg(&count)
            .cmd("LLEN")
            .arg(&source)
            .cmd("LLEN")
            .arg(&destination)
            .query(&mut con)
            .unwrap();
        let pushed = pushed.unwrap_or(0);
        assert_eq!(
            in_source + in_destination,
            pushed,
            "{pushed} pushed, {in_source} in the source and {in_destination} in the destination"
        );
        observations += 1;
    }
    producer.join().unwrap();
    consumer.join().unwrap();
    assert!(observations > 0);
    let mut moved: Vec<i64> = redis::cmd("LRANGE")
        .arg(&destination)
        .arg(0)
        .arg(-1)
        .query(&mut con)
        .unwrap();
    moved.sort_unstable();
    assert_eq!(moved, (0..ELEMENTS as i64).collect::<Vec<_>>());
}
