//! maxmemory and its eviction policies, checked the way Redis's own maxmemory tests check
//! them (tests/unit/maxmemory.tcl, which runs only against a server it starts itself), each
//! against redis-server and slotcore alike.

mod common;

use common::{config_set, on_both, Server};
use redis::{Connection, RedisResult, Value};

const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";

fn used_memory(con: &mut Connection) -> u64 {
    let info: String = redis::cmd("INFO").arg("memory").query(con).unwrap();
    info_number(&info, "used_memory")
}

fn info_number(info: &str, name: &str) -> u64 {
    let prefix = format!("{name}:");
    info.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in INFO:\n{info}"))
}

/// FLUSHALL, then a limit 100 KB above what the server uses now, with `policy`. Both
/// servers allocate tens of KB the first time a command runs (buffers, tables, its latency
/// histogram; on every shard core, in slotcore), as much as the limit leaves room for, so
/// every command the tests use runs a few hundred times first.
fn start_limit(con: &mut Connection, policy: &str) -> u64 {
    config_set(con, "maxmemory", "0");
    for n in 0..200 {
        let key = format!("warm:{n}");
        setex(con, &key).unwrap();
        set(con, &key).unwrap();
        let _: Value = redis::cmd("GET").arg(&key).query(con).unwrap();
        let _: Value = redis::cmd("EXISTS").arg(&key).query(con).unwrap();
        used_memory(con);
    }
    let () = redis::cmd("FLUSHALL").query(con).unwrap();
    let limit = used_memory(con) + 100 * 1024;
    config_set(con, "maxmemory", &limit.to_string());
    config_set(con, "maxmemory-policy", policy);
    limit
}

/// Writes keys with `write(n)` until used_memory is within 4 KB of `limit`; returns how many.
fn fill(con: &mut Connection, limit: u64, mut write: impl FnMut(&mut Connection, u64)) -> u64 {
    let mut count = 0;
    loop {
        write(con, count);
        count += 1;
        if used_memory(con) + 4096 > limit {
            assert!(
                count > 10,
                "the limit {limit} was reached after {count} keys: used_memory {}",
                used_memory(con)
            );
            return count;
        }
    }
}

fn setex(con: &mut Connection, key: &str) -> RedisResult<()> {
    redis::cmd("SETEX").arg(key).arg(10000).arg("x").query(con)
}

fn set(con: &mut Connection, key: &str) -> RedisResult<()> {
    redis::cmd("SET").arg(key).arg("x").query(con)
}

fn is_oom(result: &RedisResult<()>) -> bool {
    matches!(result, Err(error) if error.to_string().contains("used memory > 'maxmemory'"))
}

const POLICIES: &[&str] = &[
    "allkeys-random",
    "allkeys-lru",
    "allkeys-lfu",
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
];

#[test]
fn the_memory_limit_is_honoured_by_every_policy() {
    on_both(&[], &[], |server: &mut Server| {
        let name = server.name();
        let mut con = server.client();
        for policy in POLICIES {
            let limit = start_limit(&mut con, policy);
            let added = fill(&mut con, limit, |con, n| {
                setex(con, &format!("first:{n}")).unwrap()
            });
            // As many again, each evicting what it needs.
            for n in 0..added {
                setex(&mut con, &format!("second:{n}")).unwrap();
            }
            let used = used_memory(&mut con);
            assert!(
                used < limit + 4096,
                "{name} {policy}: used_memory {used} over the limit {limit}"
            );
            let stats: String = redis::cmd("INFO").arg("stats").query(&mut con).unwrap();
            assert!(info_number(&stats, "evicted_keys") > 0, "{name} {policy}");
        }
        config_set(&mut con, "maxmemory", "0");
    });
}

#[test]
fn only_allkeys_policies_evict_keys_without_a_ttl() {
    on_both(&[], &[], |server: &mut Server| {
        let name = server.name();
        let mut con = server.client();
        for policy in [
            "allkeys-random",
            "allkeys-lru",
            "volatile-lru",
            "volatile-random",
            "volatile-ttl",
        ] {
            let limit = start_limit(&mut con, policy);
            let added = fill(&mut con, limit, |con, n| {
                set(con, &format!("first:{n}")).unwrap()
            });
            let mut refused = false;
            for n in 0..added {
                refused |= is_oom(&set(&mut con, &format!("second:{n}")));
            }
            if policy.starts_with("allkeys-") {
                let used = used_memory(&mut con);
                assert!(!refused, "{name} {policy}: a SET was refused");
                assert!(
                    used < limit + 4096,
                    "{name} {policy}: used_memory {used}, limit {limit}"
                );
            } else {
                assert!(
                    refused,
                    "{name} {policy}: no SET was refused with nothing to evict"
                );
            }
        }
        config_set(&mut con, "maxmemory", "0");
    });
}

#[test]
fn volatile_policies_evict_only_keys_with_a_ttl() {
    on_both(&[], &[], |server: &mut Server| {
        let name = server.name();
        let mut con = server.client();
        for policy in [
            "volatile-lru",
            "volatile-lfu",
            "volatile-random",
            "volatile-ttl",
        ] {
            let limit = start_limit(&mut con, policy);
            // Odd keys have a TTL, even ones not.
            let added = fill(&mut con, limit, |con, n| {
                let key = format!("key:{n}");
                if n % 2 == 1 {
                    setex(con, &key).unwrap()
                } else {
                    set(con, &key).unwrap()
                }
            });
            for n in 0..added {
                let _ = setex(&mut con, &format!("foo:{n}"));
            }
            let used = used_memory(&mut con);
            assert!(
                used < limit + 4096,
                "{name} {policy}: used_memory {used}, limit {limit}"
            );
            for n in (0..added).step_by(2) {
                let exists: i64 = redis::cmd("EXISTS")
                    .arg(format!("key:{n}"))
                    .query(&mut con)
                    .unwrap();
                assert_eq!(exists, 1, "{name} {policy}: key:{n} (no TTL) was evicted");
            }
        }
        config_set(&mut con, "maxmemory", "0");
    });
}

#[test]
fn noeviction_refuses_writes_and_transactions_with_redis_errors() {
    on_both(&[], &[], |server: &mut Server| {
        let name = server.name();
        let mut con = server.client();
        let mut conn = server.conn();
        // A limit already passed: nothing can be evicted.
        let () = redis::cmd("SET")
            .arg("kept")
            .arg("v")
            .query(&mut con)
            .unwrap();
        config_set(&mut con, "maxmemory-policy", "noeviction");
        config_set(&mut con, "maxmemory", "1");
        assert_eq!(
            conn.call(&["SET", "a", "b"]),
            format!("-{OOM}\r\n"),
            "{name}"
        );
        // Reads, deletes and commands that add nothing still run.
        assert_eq!(conn.call(&["GET", "kept"]), "$1\r\nv\r\n", "{name}");
        assert_eq!(conn.call(&["PING"]), "+PONG\r\n", "{name}");
        // Inside MULTI every command but EXEC, DISCARD, QUIT and RESET is refused, so EXEC
        // aborts.
        assert_eq!(conn.call(&["MULTI"]), "+OK\r\n", "{name}");
        assert_eq!(conn.call(&["GET", "kept"]), format!("-{OOM}\r\n"), "{name}");
        assert_eq!(
            conn.call(&["EXEC"]),
            "-EXECABORT Transaction discarded because of previous errors.\r\n",
            "{name}"
        );
        // EXEC itself is refused when it holds a command that may add memory.
        config_set(&mut con, "maxmemory", "0");
        assert_eq!(conn.call(&["MULTI"]), "+OK\r\n", "{name}");
        assert_eq!(conn.call(&["SET", "a", "b"]), "+QUEUED\r\n", "{name}");
        config_set(&mut con, "maxmemory", "1");
        assert_eq!(
            conn.call(&["EXEC"]),
            format!("-EXECABORT Transaction discarded because of: {OOM}\r\n"),
            "{name}"
        );
        assert_eq!(conn.call(&["EXISTS", "a"]), ":0\r\n", "{name}");
        assert_eq!(conn.call(&["DEL", "kept"]), ":1\r\n", "{name}");
        let stats: String = redis::cmd("INFO").arg("stats").query(&mut con).unwrap();
        assert_eq!(info_number(&stats, "evicted_keys"), 0, "{name}");
        config_set(&mut con, "maxmemory", "0");
        assert_eq!(conn.call(&["SET", "a", "b"]), "+OK\r\n", "{name}");
        let _: Value = redis::cmd("FLUSHALL").query(&mut con).unwrap();
    });
}

/// Fills memory up to `limit` with 1 KB values under old:N, has `use_keys` use every tenth
/// of them (old:0, old:10...), then writes half as many new keys again, so that about half
/// of the old keys must go. Returns the shares of the used keys and of the others that
/// were kept.
fn evict_around_used_keys(
    con: &mut Connection,
    limit: u64,
    use_keys: impl FnOnce(&mut Connection, &[String]),
) -> (f64, f64) {
    let value = "v".repeat(1000);
    let set_big = |con: &mut Connection, key: &str| -> RedisResult<()> {
        redis::cmd("SET").arg(key).arg(&value).query(con)
    };
    let added = fill(con, limit, |con, n| {
        set_big(con, &format!("old:{n}")).unwrap()
    });
    let used: Vec<String> = (0..added).step_by(10).map(|n| format!("old:{n}")).collect();
    use_keys(con, &used);
    for n in 0..added / 2 {
        set_big(con, &format!("new:{n}")).unwrap();
    }
    let (mut kept_used, mut kept_other) = (0usize, 0usize);
    for n in 0..added {
        let exists: i64 = redis::cmd("EXISTS")
            .arg(format!("old:{n}"))
            .query(con)
            .unwrap();
        if n % 10 == 0 {
            kept_used += exists as usize;
        } else {
            kept_other += exists as usize;
        }
    }
    (
        kept_used as f64 / used.len() as f64,
        kept_other as f64 / (added as usize - used.len()) as f64,
    )
}

#[test]
fn allkeys_lru_evicts_idle_keys_before_recently_used_ones() {
    on_both(&[], &[], |server: &mut Server| {
        let name = server.name();
        let mut con = server.client();
        // A megabyte of 1 KB values: a margin that other allocations during the pause below
        // do not eat up.
        let limit = start_limit(&mut con, "allkeys-lru") + 900 * 1024;
        config_set(&mut con, "maxmemory", &limit.to_string());
        let (hot_share, idle_share) = evict_around_used_keys(&mut con, limit, |con, used| {
            // Access times count in seconds (both servers' LRU clock): let the keys age.
            std::thread::sleep(std::time::Duration::from_millis(2500));
            for key in used {
                let _: Value = redis::cmd("GET").arg(key).query(con).unwrap();
            }
        });
        eprintln!("{name}: kept {hot_share:.2} of the recently used keys, {idle_share:.2} of the idle ones");
        assert!(
            idle_share < 0.9,
            "{name}: the idle keys were hardly evicted ({idle_share:.2} kept)"
        );
        // Each eviction takes the idlest of a few sampled keys: recently used ones go far
        // less often.
        assert!(
            hot_share > idle_share + 0.25,
            "{name}: kept {hot_share:.2} of the recently used keys, {idle_share:.2} of the idle ones"
        );
        config_set(&mut con, "maxmemory", "0");
    });
}

#[test]
fn lfu_policies_count_accesses_and_evict_the_least_used_keys() {
    on_both(&[], &[], |server: &mut Server| {
        let name = server.name();
        let mut con = server.client();
        let mut conn = server.conn();
        let limit = start_limit(&mut con, "allkeys-lfu") + 900 * 1024;
        config_set(&mut con, "maxmemory", &limit.to_string());
        // A new key starts at 5 (LFU_INIT_VAL); accesses raise it, ever more slowly.
        assert_eq!(conn.call(&["SET", "counted", "v"]), "+OK\r\n", "{name}");
        assert_eq!(
            conn.call(&["OBJECT", "FREQ", "counted"]),
            ":5\r\n",
            "{name}"
        );
        for _ in 0..100 {
            let _: Value = redis::cmd("GET").arg("counted").query(&mut con).unwrap();
        }
        let freq: i64 = redis::cmd("OBJECT")
            .arg("FREQ")
            .arg("counted")
            .query(&mut con)
            .unwrap();
        assert!(
            (7..=20).contains(&freq),
            "{name}: OBJECT FREQ {freq} after 100 GETs"
        );
        // RESTORE FREQ sets it (IDLETIME would be dropped under LFU).
        let dump: Vec<u8> = redis::cmd("DUMP").arg("counted").query(&mut con).unwrap();
        let () = redis::cmd("RESTORE")
            .arg("restored")
            .arg(0)
            .arg(dump)
            .arg("FREQ")
            .arg(100)
            .query(&mut con)
            .unwrap();
        assert_eq!(
            conn.call(&["OBJECT", "FREQ", "restored"]),
            ":100\r\n",
            "{name}"
        );
        assert!(
            conn.call(&["OBJECT", "IDLETIME", "restored"])
                .starts_with("-ERR An LFU maxmemory policy is selected"),
            "{name}"
        );

        let (used_share, unused_share) = evict_around_used_keys(&mut con, limit, |con, used| {
            // Read often: their counters climb above the others' 5.
            for _ in 0..20 {
                for key in used {
                    let _: Value = redis::cmd("GET").arg(key).query(con).unwrap();
                }
            }
        });
        eprintln!(
            "{name}: kept {used_share:.2} of the often used keys, {unused_share:.2} of the others"
        );
        assert!(unused_share < 0.9, "{name}: hardly anything was evicted");
        assert!(
            used_share > unused_share + 0.25,
            "{name}: kept {used_share:.2} of the often used keys, {unused_share:.2} of the others"
        );
        config_set(&mut con, "maxmemory", "0");
        config_set(&mut con, "maxmemory-policy", "noeviction");
    });
}
