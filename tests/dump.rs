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
