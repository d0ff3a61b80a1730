//! A key of every type and encoding: the commands that build each kind, for the tests that
//! compare datasets across a save and load (tests/persistence.rs) or a replica's sync
//! (tests/replication.rs).

use super::key_slot;

/// The kinds of value [`commands_for`] builds: every type and encoding an RDB file carries.
pub const KINDS: &[&str] = &[
    "int-small",
    "int-negative",
    "int-wide",
    "not-an-int",
    "embstr",
    "short-text",
    "compressible",
    "compressible-big",
    "incompressible",
    "binary",
    "empty",
    "hll-sparse",
    "hll-dense",
    "list-small",
    "list-big",
    "list-ints",
    "hash-small",
    "hash-big",
    "hash-long-value",
    "set-ints",
    "set-strings",
    "set-big",
    "set-big-ints",
    "zset-small",
    "zset-big",
    "stream",
    "stream-empty-group",
];

/// Two names `{prefix}:{n}`, the first in an even slot and the second in an odd one: with
/// slotcore's 2 shard cores (core = slot % 2) one lands on each core.
pub fn names_on_both_cores(prefix: &[u8]) -> [Vec<u8>; 2] {
    let mut found: [Option<Vec<u8>>; 2] = [None, None];
    let mut n = 0u32;
    while found.iter().any(Option::is_none) {
        let mut name = prefix.to_vec();
        name.extend_from_slice(format!(":{n}").as_bytes());
        let parity = usize::from(key_slot(&name) % 2);
        found[parity].get_or_insert(name);
        n += 1;
    }
    found.map(|name| name.expect("both parities found"))
}
/// Bytes that LZF cannot shorten.
pub fn incompressible(len: u32) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

/// `name key args...`.
pub fn with_key<T: redis::ToRedisArgs>(
    name: &str,
    key: &[u8],
    args: impl IntoIterator<Item = T>,
) -> redis::Cmd {
    let mut cmd = redis::cmd(name);
    cmd.arg(key);
    for arg in args {
        cmd.arg(arg);
    }
    cmd
}

/// The commands that build a value of `kind` at `key`.
pub fn commands_for(kind: &str, key: &[u8]) -> Vec<redis::Cmd> {
    let set = |value: Vec<u8>| vec![with_key("SET", key, [value])];
    let texts = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    match kind {
        "int-small" => set(b"7".to_vec()),
        "int-negative" => set(b"-70000".to_vec()),
        "int-wide" => set(b"9223372036854775807".to_vec()),
        "not-an-int" => set(b"0123".to_vec()),
        "embstr" => set(b"hello world".to_vec()),
        // Over 20 bytes, so saving tries LZF on it, which cannot shorten it.
        "short-text" => set(b"abcdefghijklmnopqrstuvwxyz0123".to_vec()),
        "compressible" => set("hello world ".repeat(8).into_bytes()),
        "compressible-big" => set((0..100_000u32).map(|i| (i % 251) as u8).collect()),
        "incompressible" => set(incompressible(300)),
        "binary" => set(b"\x00\r\n\xff binary \x00".to_vec()),
        "empty" => set(Vec::new()),
        "hll-sparse" => vec![with_key("PFADD", key, (0..10).map(|i| format!("e{i}")))],
        "hll-dense" => vec![with_key("PFADD", key, (0..3000).map(|i| format!("e{i}")))],
        "list-small" => {
            let items = ["1", "-2", "three", "12345678901", &"x".repeat(30)];
            vec![with_key("RPUSH", key, texts(&items))]
        }
        // About 30 KB: several quicklist nodes of 8 KB.
        "list-big" => vec![with_key(
            "RPUSH",
            key,
            (0..3000).map(|i| format!("item-{i}")),
        )],
        "list-ints" => vec![with_key("RPUSH", key, (0..400i64).map(|i| i * 1000 - 7))],
        "hash-small" => {
            let fields = ["a", "1", "b", &"x".repeat(30), "c", "-5"];
            vec![with_key("HSET", key, texts(&fields))]
        }
        "hash-big" => {
            let fields = (0..600).flat_map(|i| [format!("f{i}"), format!("v{i}")]);
            vec![with_key("HSET", key, fields)]
        }
        // One value over hash-max-listpack-value (64) makes even a small hash a hashtable.
        "hash-long-value" => vec![with_key(
            "HSET",
            key,
            texts(&["f", &"v".repeat(100), "g", "1"]),
        )],
        "set-ints" => vec![with_key(
            "SADD",
            key,
            texts(&["1", "-70000", "5", "2147483648"]),
        )],
        "set-strings" => vec![with_key("SADD", key, texts(&["a", "b", "7"]))],
        "set-big" => vec![with_key("SADD", key, (0..600).map(|i| format!("m{i}")))],
        // Over set-max-intset-entries (512): a hashtable of integers.
        "set-big-ints" => vec![with_key("SADD", key, 0..1000)],
        "zset-small" => {
            let pairs = [
                "1", "a", "-0", "b", "inf", "c", "-inf", "d", "1e-300", "e", "0.1", "f", "1e20",
                "g",
            ];
            vec![with_key("ZADD", key, texts(&pairs))]
        }
        "zset-big" => {
            let special = texts(&[
                "-0", "zero", "inf", "top", "-inf", "bottom", "1e-300", "tiny",
            ]);
            let pairs = (0..300).flat_map(|i| [format!("{}", f64::from(i) / 7.0), format!("m{i}")]);
            vec![with_key("ZADD", key, pairs.chain(special))]
        }
        "stream" => stream_commands(key),
        // A stream whose only group has seen nothing, and whose entries were all deleted.
        "stream-empty-group" => vec![
            with_key("XADD", key, ["5-1", "f", "v"]),
            with_key("XDEL", key, ["5-1"]),
            with_key("XGROUP", b"CREATE", [key, b"g", b"$"]),
        ],
        other => panic!("no such kind {other}"),
    }
}

/// A stream with a deleted entry and two consumer groups: `readers`, whose consumers alice and
/// bob have entries pending (one of alice's acknowledged, one read twice), and `idle`, with
/// nothing delivered and one consumer.
pub fn stream_commands(key: &[u8]) -> Vec<redis::Cmd> {
    let mut commands: Vec<redis::Cmd> = (0..20)
        .map(|i| {
            // Entries 10.. have other field names than the stream's first entry.
            let field = if i < 10 { "field" } else { "other" };
            with_key(
                "XADD",
                key,
                [
                    format!("1000-{i}"),
                    field.into(),
                    format!("value{i}"),
                    "n".into(),
                    i.to_string(),
                ],
            )
        })
        .collect();
    commands.push(with_key("XDEL", key, ["1000-5"]));
    commands.push(with_key("XGROUP", b"CREATE", [key, b"readers", b"0"]));
    for (consumer, count, from) in [("alice", "6", ">"), ("bob", "3", ">"), ("alice", "2", "0")] {
        let mut read = redis::cmd("XREADGROUP");
        read.arg("GROUP")
            .arg("readers")
            .arg(consumer)
            .arg("COUNT")
            .arg(count);
        read.arg("STREAMS").arg(key).arg(from);
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
