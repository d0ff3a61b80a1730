//! DUMP and RESTORE between slotcore and a real redis-server 7.0: a payload
//! made by either must restore in the other to the same value (MIGRATE and
//! `redis-cli --cluster` move keys this way).

mod common;

use common::{RedisServer, Server};
use redis::{Commands, Connection, Value};

/// Values that exercise each RDB string encoding: 8/16/32-bit integers,
/// integers too wide for them, plain short strings, LZF-compressible long
/// strings, incompressible long strings and binary bytes.
fn sample_strings() -> Vec<Vec<u8>> {
    let mut values: Vec<Vec<u8>> = [
        "0",
        "1",
        "-1",
        "127",
        "128",
        "-128",
        "-129",
        "32767",
        "32768",
        "-32768",
        "2147483647",
        "2147483648",
        "-2147483648",
        "-2147483649",
        "12345678901",
        "9223372036854775807",
        "0123",
        "+1",
        " 1",
        "abc",
        "",
        "hello world hello world hello world hello world!",
    ]
    .iter()
    .map(|text| text.as_bytes().to_vec())
    .collect();
    values.push(vec![b'a'; 21]);
    values.push(vec![b'x'; 100_000]);
    values.push((0..5000u32).map(|i| (i % 251) as u8).collect());
    values.push(
        (0..300u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect(),
    );
    values.push((0..=255u8).collect());
    values.push(b"\x00\r\n\xff binary \x00".to_vec());
    values
}

fn dump(conn: &mut Connection, key: &str) -> Vec<u8> {
    redis::cmd("DUMP").arg(key).query(conn).unwrap()
}

fn restore(conn: &mut Connection, key: &str, ttl: u64, payload: &[u8]) -> redis::RedisResult<()> {
    redis::cmd("RESTORE")
        .arg(key)
        .arg(ttl)
        .arg(payload)
        .arg("REPLACE")
        .query(conn)
}

#[test]
fn strings_move_both_ways_with_redis() {
    let slotcore = Server::start(&[]);
    let redis_server = RedisServer::start();
    let (mut ours, mut theirs) = (slotcore.client(), redis_server.client());
    for (index, value) in sample_strings().into_iter().enumerate() {
        let key = format!("k{index}");
        let _: () = theirs.set(&key, &value).unwrap();
        let _: () = ours.set(&key, &value).unwrap();
        let from_redis = dump(&mut theirs, &key);
        let from_us = dump(&mut ours, &key);
        if value.len() <= 20 {
            // Integers and short strings have one encoding: the bytes match.
            assert_eq!(
                from_us,
                from_redis,
                "DUMP of {:?}",
                String::from_utf8_lossy(&value)
            );
        }
        restore(&mut ours, "copy", 0, &from_redis).unwrap();
        restore(&mut theirs, "copy", 0, &from_us).unwrap();
        let here: Vec<u8> = ours.get("copy").unwrap();
        let there: Vec<u8> = theirs.get("copy").unwrap();
        assert_eq!(
            here, value,
            "redis payload restored in slotcore, value {index}"
        );
        assert_eq!(
            there, value,
            "slotcore payload restored in redis, value {index}"
        );
        let encodings: (String, String) = (
            redis::cmd("OBJECT")
                .arg("ENCODING")
                .arg("copy")
                .query(&mut ours)
                .unwrap(),
            redis::cmd("OBJECT")
                .arg("ENCODING")
                .arg("copy")
                .query(&mut theirs)
                .unwrap(),
        );
        assert_eq!(
            encodings.0, encodings.1,
            "encoding after RESTORE, value {index}"
        );
    }
}

#[test]
fn restore_keeps_ttl_and_refuses_busy_keys() {
    let slotcore = Server::start(&[]);
    let mut conn = slotcore.client();
    let _: () = conn.set("source", "value").unwrap();
    let payload = dump(&mut conn, "source");
    let plain: redis::RedisResult<()> = redis::cmd("RESTORE")
        .arg("source")
        .arg(0)
        .arg(&payload)
        .query(&mut conn);
    let error = plain.unwrap_err();
    assert_eq!(error.code(), Some("BUSYKEY"), "{error:?}");
    restore(&mut conn, "volatile", 100_000, &payload).unwrap();
    let ttl: i64 = conn.pttl("volatile").unwrap();
    assert!((90_000..=100_000).contains(&ttl), "{ttl}");
    let asking: Value = redis::cmd("RESTORE-ASKING")
        .arg("other")
        .arg(0)
        .arg(&payload)
        .query(&mut conn)
        .unwrap();
    assert_eq!(asking, Value::Okay);
    let value: String = conn.get("other").unwrap();
    assert_eq!(value, "value");
    let missing: Option<Vec<u8>> = redis::cmd("DUMP")
        .arg("nosuchkey")
        .query(&mut conn)
        .unwrap();
    assert_eq!(missing, None);
}

/// Builds one key of each collection type and encoding in a server.
fn fill_collections(conn: &mut Connection) {
    let commands: Vec<Vec<String>> = vec![
        vec![
            "HSET".into(),
            "hash_small".into(),
            "a".into(),
            "1".into(),
            "b".into(),
            "x".repeat(30),
        ],
        std::iter::once("HSET".to_string())
            .chain(std::iter::once("hash_big".to_string()))
            .chain((0..600).flat_map(|i| [format!("f{i}"), format!("v{i}")]))
            .collect(),
        vec![
            "SADD".into(),
            "set_ints".into(),
            "1".into(),
            "-70000".into(),
            "5".into(),
        ],
        vec![
            "SADD".into(),
            "set_strings".into(),
            "a".into(),
            "b".into(),
            "7".into(),
        ],
        vec![
            "ZADD".into(),
            "zset_small".into(),
            "1".into(),
            "a".into(),
            "0.1".into(),
            "b".into(),
            "-inf".into(),
            "c".into(),
            "-0".into(),
            "d".into(),
            "1e20".into(),
            "7".into(),
        ],
        std::iter::once("ZADD".to_string())
            .chain(std::iter::once("zset_big".to_string()))
            .chain((0..300).flat_map(|i| [format!("{}", f64::from(i) / 7.0), format!("m{i}")]))
            .collect(),
        std::iter::once("RPUSH".to_string())
            .chain(std::iter::once("list".to_string()))
            .chain((0..3000).map(|i| format!("item-{i}")))
            .collect(),
    ];
    for command in commands {
        let mut cmd = redis::cmd(&command[0]);
        for arg in &command[1..] {
            cmd.arg(arg);
        }
        let _: Value = cmd.query(conn).unwrap();
    }
}

/// A key's contents in a form that ignores hash-table order.
fn contents(conn: &mut Connection, key: &str) -> Vec<Vec<u8>> {
    let kind: String = redis::cmd("TYPE").arg(key).query(conn).unwrap();
    let mut items: Vec<Vec<u8>> = match kind.as_str() {
        "hash" => redis::cmd("HGETALL").arg(key).query(conn).unwrap(),
        "set" => redis::cmd("SMEMBERS").arg(key).query(conn).unwrap(),
        "zset" => {
            return redis::cmd("ZRANGE")
                .arg(key)
                .arg(0)
                .arg(-1)
                .arg("WITHSCORES")
                .query(conn)
                .unwrap()
        }
        "list" => {
            return redis::cmd("LRANGE")
                .arg(key)
                .arg(0)
                .arg(-1)
                .query(conn)
                .unwrap()
        }
        other => panic!("unexpected type {other}"),
    };
    if kind == "hash" {
        let mut pairs: Vec<Vec<u8>> = items.chunks(2).map(|pair| pair.concat()).collect();
        pairs.sort();
        return pairs;
    }
    items.sort();
    items
}

#[test]
fn collections_move_both_ways_with_redis() {
    let debug = ["--enable-debug-command", "yes"];
    let slotcore = Server::start(&debug);
    let redis_server = RedisServer::start_with(&debug);
    let (mut ours, mut theirs) = (slotcore.client(), redis_server.client());
    fill_collections(&mut ours);
    fill_collections(&mut theirs);
    for key in [
        "hash_small",
        "hash_big",
        "set_ints",
        "set_strings",
        "list",
        "zset_small",
        "zset_big",
    ] {
        let from_redis = dump(&mut theirs, key);
        let from_us = dump(&mut ours, key);
        if key.starts_with("zset") {
            // Sorted sets are saved in score order in both encodings.
            assert_eq!(from_us, from_redis, "{key}: DUMP payloads");
        }
        restore(&mut ours, "copy", 0, &from_redis).unwrap();
        restore(&mut theirs, "copy", 0, &from_us).unwrap();
        let expected = contents(&mut theirs, key);
        assert_eq!(
            contents(&mut ours, "copy"),
            expected,
            "{key}: redis payload in slotcore"
        );
        assert_eq!(
            contents(&mut theirs, "copy"),
            expected,
            "{key}: slotcore payload in redis"
        );
        let digests: (Vec<String>, Vec<String>) = (
            redis::cmd("DEBUG")
                .arg("DIGEST-VALUE")
                .arg("copy")
                .query(&mut ours)
                .unwrap(),
            redis::cmd("DEBUG")
                .arg("DIGEST-VALUE")
                .arg("copy")
                .query(&mut theirs)
                .unwrap(),
        );
        assert_eq!(
            digests.0, digests.1,
            "{key}: DEBUG DIGEST-VALUE after RESTORE"
        );
        let encodings: (String, String) = (
            redis::cmd("OBJECT")
                .arg("ENCODING")
                .arg("copy")
                .query(&mut ours)
                .unwrap(),
            redis::cmd("OBJECT")
                .arg("ENCODING")
                .arg("copy")
                .query(&mut theirs)
                .unwrap(),
        );
        assert_eq!(encodings.0, encodings.1, "{key}: encoding after RESTORE");
    }
}
