//! SLOWLOG, the LATENCY monitor and MONITOR, each test run against redis-server and slotcore
//! alike.
//! slotcore runs two shard cores, so the keys below live on both and some of the commands
//! run on a core other than the connection's: their entries must still name the client.

mod common;

use common::{config_set, on_both};
use redis::{Connection, Value};

const DEBUG: &[&str] = &["--enable-debug-command", "yes"];

fn text(value: &Value) -> String {
    match value {
        Value::BulkString(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        Value::SimpleString(text) => text.clone(),
        Value::VerbatimString { text, .. } => text.clone(),
        other => panic!("not a string: {other:?}"),
    }
}

fn int(value: &Value) -> i64 {
    match value {
        Value::Int(n) => *n,
        other => panic!("not an integer: {other:?}"),
    }
}

fn items(value: Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items,
        other => panic!("not an array: {other:?}"),
    }
}

/// One SLOWLOG GET entry.
struct Entry {
    id: i64,
    time: i64,
    micros: i64,
    args: Vec<String>,
    peer: String,
    name: String,
}

fn slowlog_get(con: &mut Connection, count: i64) -> Vec<Entry> {
    let reply: Value = redis::cmd("SLOWLOG")
        .arg("GET")
        .arg(count)
        .query(con)
        .unwrap();
    items(reply)
        .into_iter()
        .map(|entry| {
            let fields = items(entry);
            assert_eq!(fields.len(), 6, "an entry has six fields");
            Entry {
                id: int(&fields[0]),
                time: int(&fields[1]),
                micros: int(&fields[2]),
                args: items(fields[3].clone()).iter().map(text).collect(),
                peer: text(&fields[4]),
                name: text(&fields[5]),
            }
        })
        .collect()
}

fn slowlog_len(con: &mut Connection) -> i64 {
    redis::cmd("SLOWLOG").arg("LEN").query(con).unwrap()
}

/// The client's own address, as CLIENT INFO gives it (`addr=`).
fn own_address(con: &mut Connection) -> String {
    let info: String = redis::cmd("CLIENT").arg("INFO").query(con).unwrap();
    info.split(' ')
        .find_map(|field| field.strip_prefix("addr="))
        .expect("addr= in CLIENT INFO")
        .to_string()
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn slowlog_keeps_every_command_in_order_whichever_core_ran_it() {
    on_both(DEBUG, DEBUG, |server| {
        let name = server.name();
        let mut con = server.client();
        let peer = own_address(&mut con);
        config_set(&mut con, "slowlog-log-slower-than", "0");
        let () = redis::cmd("SLOWLOG").arg("RESET").query(&mut con).unwrap();
        let () = redis::cmd("CLIENT")
            .arg("SETNAME")
            .arg("logger")
            .query(&mut con)
            .unwrap();
        let mut sent: Vec<Vec<String>> = vec![
            vec!["SLOWLOG".into(), "RESET".into()],
            vec!["CLIENT".into(), "SETNAME".into(), "logger".into()],
        ];
        // One at a time, then as one pipeline: keys of both cores.
        for n in 0..8 {
            let () = redis::cmd("SET")
                .arg(format!("key:{n}"))
                .arg(n)
                .query(&mut con)
                .unwrap();
            sent.push(vec!["SET".into(), format!("key:{n}"), n.to_string()]);
        }
        let mut pipe = redis::pipe();
        for n in 0..8 {
            pipe.cmd("GET").arg(format!("key:{n}"));
            sent.push(vec!["GET".into(), format!("key:{n}")]);
        }
        let _: Vec<Value> = pipe.query(&mut con).unwrap();
        // Not logged: the threshold is off by the time it would be.
        config_set(&mut con, "slowlog-log-slower-than", "-1");

        let entries = slowlog_get(&mut con, -1);
        let logged: Vec<Vec<String>> = entries.iter().rev().map(|e| e.args.clone()).collect();
        assert_eq!(logged, sent, "{name}");
        assert!(
            entries.windows(2).all(|pair| pair[0].id > pair[1].id),
            "{name}: ids are newest first"
        );
        let now = unix_now();
        for entry in &entries {
            assert_eq!(entry.peer, peer, "{name}: {:?}", entry.args);
            assert!((now - entry.time).abs() <= 5, "{name}: time {}", entry.time);
            assert!(entry.micros >= 0, "{name}");
        }
        // The name is the one the client had when the command ran.
        assert_eq!(entries.last().unwrap().name, "", "{name}");
        assert!(
            entries[..entries.len() - 1]
                .iter()
                .all(|entry| entry.name == "logger"),
            "{name}"
        );
        assert_eq!(slowlog_len(&mut con), sent.len() as i64, "{name}");
        assert_eq!(slowlog_get(&mut con, 3).len(), 3, "{name}");
        assert_eq!(slowlog_get(&mut con, 0).len(), 0, "{name}");
        let error = redis::cmd("SLOWLOG")
            .arg("GET")
            .arg(-2)
            .query::<Value>(&mut con)
            .unwrap_err();
        assert_eq!(
            error.detail(),
            Some("count should be greater than or equal to -1"),
            "{name}"
        );

        // A shorter log takes effect at the next entry, and keeps the
        // newest of all cores' entries.
        config_set(&mut con, "slowlog-max-len", "5");
        assert_eq!(slowlog_len(&mut con), sent.len() as i64, "{name}");
        config_set(&mut con, "slowlog-log-slower-than", "0");
        assert_eq!(slowlog_len(&mut con), 5, "{name}");
        let newest = slowlog_get(&mut con, -1);
        assert_eq!(newest.len(), 5, "{name}");
        assert_eq!(newest[0].args, ["SLOWLOG", "LEN"], "{name}");
        assert_eq!(newest[1].args[..2], ["CONFIG", "SET"], "{name}");
        assert_eq!(newest[2].args, ["GET", "key:7"], "{name}");
    });
}

#[test]
fn slowlog_logs_what_redis_logs_of_slow_commands() {
    on_both(DEBUG, DEBUG, |server| {
        let name = server.name();
        let mut con = server.client();
        config_set(&mut con, "slowlog-log-slower-than", "100000");
        let () = redis::cmd("SLOWLOG").arg("RESET").query(&mut con).unwrap();
        let () = redis::cmd("PING").query(&mut con).unwrap();
        assert_eq!(slowlog_len(&mut con), 0, "{name}");
        let () = redis::cmd("DEBUG")
            .arg("SLEEP")
            .arg("0.2")
            .query(&mut con)
            .unwrap();
        let entries = slowlog_get(&mut con, 10);
        assert_eq!(entries.len(), 1, "{name}");
        assert_eq!(entries[0].args, ["DEBUG", "SLEEP", "0.2"], "{name}");
        assert!(
            entries[0].micros >= 100_000,
            "{name}: {}",
            entries[0].micros
        );

        // Inside a transaction each command is logged, EXEC is not.
        let () = redis::cmd("SLOWLOG").arg("RESET").query(&mut con).unwrap();
        let _: Value = redis::pipe()
            .atomic()
            .cmd("DEBUG")
            .arg("SLEEP")
            .arg("0.2")
            .cmd("SET")
            .arg("tx:key")
            .arg("1")
            .query(&mut con)
            .unwrap();
        let entries = slowlog_get(&mut con, 10);
        assert_eq!(entries.len(), 1, "{name}");
        assert_eq!(entries[0].args, ["DEBUG", "SLEEP", "0.2"], "{name}");

        // Time spent blocked is not the command's own.
        let () = redis::cmd("SLOWLOG").arg("RESET").query(&mut con).unwrap();
        let _: Value = redis::cmd("BLPOP")
            .arg("no:such:list")
            .arg("0.3")
            .query(&mut con)
            .unwrap();
        assert_eq!(slowlog_len(&mut con), 0, "{name}");

        // Long commands are cut, passwords redacted.
        config_set(&mut con, "slowlog-log-slower-than", "0");
        let () = redis::cmd("SLOWLOG").arg("RESET").query(&mut con).unwrap();
        let mut sadd = redis::cmd("SADD");
        sadd.arg("set");
        for n in 3..=33 {
            sadd.arg(n);
        }
        let _: i64 = sadd.query(&mut con).unwrap();
        let long = "A".repeat(129);
        let _: i64 = redis::cmd("SADD")
            .arg("set")
            .arg("foo")
            .arg(&long)
            .query(&mut con)
            .unwrap();
        let _ = redis::cmd("AUTH").arg("secret").query::<Value>(&mut con);
        config_set(&mut con, "slowlog-log-slower-than", "-1");
        let entries = slowlog_get(&mut con, -1);
        assert_eq!(entries.len(), 4, "{name}");
        assert_eq!(entries[0].args, ["AUTH", "(redacted)"], "{name}");
        assert_eq!(
            entries[1].args,
            [
                "SADD",
                "set",
                "foo",
                &format!("{}... (1 more bytes)", "A".repeat(128))
            ],
            "{name}"
        );
        let mut many: Vec<String> = vec!["SADD".into(), "set".into()];
        many.extend((3..=31).map(|n| n.to_string()));
        many.push("... (2 more arguments)".into());
        assert_eq!(entries[2].args, many, "{name}");
    });
}

#[test]
fn latency_monitor_records_slow_commands_like_redis() {
    on_both(DEBUG, DEBUG, |server| {
        let name = server.name();
        let mut con = server.client();
        let doctor: String = redis::cmd("LATENCY").arg("DOCTOR").query(&mut con).unwrap();
        assert!(
            doctor.starts_with("I'm sorry, Dave, I can't do that."),
            "{name}: {doctor}"
        );
        config_set(&mut con, "latency-monitor-threshold", "100");
        let reset: i64 = redis::cmd("LATENCY").arg("RESET").query(&mut con).unwrap();
        assert_eq!(reset, 0, "{name}");
        let () = redis::cmd("DEBUG")
            .arg("SLEEP")
            .arg("0.15")
            .query(&mut con)
            .unwrap();
        let latest = items(redis::cmd("LATENCY").arg("LATEST").query(&mut con).unwrap());
        assert_eq!(latest.len(), 1, "{name}: {latest:?}");
        let event = items(latest[0].clone());
        assert_eq!(text(&event[0]), "command", "{name}");
        assert!((unix_now() - int(&event[1])).abs() <= 5, "{name}");
        assert!(int(&event[2]) >= 150, "{name}: {event:?}");
        assert_eq!(int(&event[3]), int(&event[2]), "{name}");
        let history = items(
            redis::cmd("LATENCY")
                .arg("HISTORY")
                .arg("command")
                .query(&mut con)
                .unwrap(),
        );
        assert_eq!(history.len(), 1, "{name}");
        let sample = items(history[0].clone());
        assert_eq!(int(&sample[0]), int(&event[1]), "{name}");
        let graph: String = redis::cmd("LATENCY")
            .arg("GRAPH")
            .arg("command")
            .query(&mut con)
            .unwrap();
        let ms = int(&event[2]);
        assert!(
            graph.starts_with(&format!(
                "command - high {ms} ms, low {ms} ms (all time high {ms} ms)\n{}\n",
                "-".repeat(80)
            )),
            "{name}: {graph}"
        );
        let doctor: String = redis::cmd("LATENCY").arg("DOCTOR").query(&mut con).unwrap();
        assert!(
            doctor.starts_with("Dave, I have observed latency spikes in this Redis instance."),
            "{name}: {doctor}"
        );
        assert!(
            doctor.contains("1. command: 1 latency spikes"),
            "{name}: {doctor}"
        );
        let error = redis::cmd("LATENCY")
            .arg("GRAPH")
            .arg("nothing")
            .query::<Value>(&mut con)
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "An error was signalled by the server - ResponseError: No samples available for event 'nothing'",
            "{name}"
        );
        let reset: i64 = redis::cmd("LATENCY")
            .arg("RESET")
            .arg("COMMAND")
            .arg("other")
            .query(&mut con)
            .unwrap();
        assert_eq!(reset, 1, "{name}");
        let latest = items(redis::cmd("LATENCY").arg("LATEST").query(&mut con).unwrap());
        assert!(latest.is_empty(), "{name}");
    });
}

#[test]
fn latency_histogram_counts_every_core_and_latency_tracking_turns_it_off() {
    on_both(DEBUG, DEBUG, |server| {
        let name = server.name();
        let mut con = server.client();
        let () = redis::cmd("CONFIG")
            .arg("RESETSTAT")
            .query(&mut con)
            .unwrap();
        for n in 0..10 {
            let () = redis::cmd("SET")
                .arg(format!("k{n}"))
                .arg(n)
                .query(&mut con)
                .unwrap();
        }
        let _: Value = redis::cmd("CLIENT").arg("ID").query(&mut con).unwrap();
        let histogram = items(
            redis::cmd("LATENCY")
                .arg("HISTOGRAM")
                .arg("set")
                .arg("client|id")
                .arg("nosuchcommand")
                .query(&mut con)
                .unwrap(),
        );
        let rows: Vec<(String, Vec<Value>)> = histogram
            .chunks(2)
            .map(|pair| (text(&pair[0]), items(pair[1].clone())))
            .collect();
        let mut names: Vec<&str> = rows.iter().map(|(n, _)| n.as_str()).collect();
        names.sort();
        assert_eq!(names, ["client|id", "set"], "{name}");
        for (command, row) in &rows {
            assert_eq!(text(&row[0]), "calls", "{name}");
            let calls = if command == "set" { 10 } else { 1 };
            assert_eq!(int(&row[1]), calls, "{name}: {command}");
            assert_eq!(text(&row[2]), "histogram_usec", "{name}");
            // Cumulative counts over power-of-two buckets, ending at the calls.
            let buckets = items(row[3].clone());
            let counts: Vec<i64> = buckets.iter().skip(1).step_by(2).map(int).collect();
            assert!(counts.windows(2).all(|w| w[0] < w[1]), "{name}: {counts:?}");
            assert_eq!(counts.last(), Some(&calls), "{name}: {command}");
        }

        config_set(&mut con, "latency-tracking", "no");
        let () = redis::cmd("CONFIG")
            .arg("RESETSTAT")
            .query(&mut con)
            .unwrap();
        let () = redis::cmd("SET")
            .arg("k1")
            .arg("v")
            .query(&mut con)
            .unwrap();
        let histogram = items(
            redis::cmd("LATENCY")
                .arg("HISTOGRAM")
                .query(&mut con)
                .unwrap(),
        );
        assert!(histogram.is_empty(), "{name}: {histogram:?}");
        let info: String = redis::cmd("INFO")
            .arg("latencystats")
            .query(&mut con)
            .unwrap();
        assert!(
            !info.contains("latency_percentiles_usec_set"),
            "{name}: {info}"
        );
    });
}

/// The monitor's next line without its timestamp: `[0 address] "arg" "arg"...`.
fn monitor_line(monitor: &mut common::RawConn) -> String {
    let frame = String::from_utf8(monitor.read_frame().expect("a monitor line")).unwrap();
    let line = frame
        .strip_prefix('+')
        .and_then(|line| line.strip_suffix("\r\n"))
        .unwrap_or_else(|| panic!("not a status line: {frame:?}"));
    let (time, rest) = line.split_once(' ').expect("a timestamp");
    let (seconds, micros) = time.split_once('.').expect("seconds.micros");
    assert!(
        (unix_now() - seconds.parse::<i64>().unwrap()).abs() <= 5,
        "{line}"
    );
    assert_eq!(micros.len(), 6, "{line}");
    rest.to_string()
}

#[test]
fn monitor_shows_every_command_of_every_core_like_redis() {
    on_both(DEBUG, DEBUG, |server| {
        let name = server.name();
        let mut con = server.client();
        let peer = own_address(&mut con);
        let mut monitor = server.conn();
        assert_eq!(monitor.call(&["MONITOR"]), "+OK\r\n", "{name}");

        let () = redis::cmd("SET")
            .arg("foo")
            .arg("a\"b\n\x01")
            .query(&mut con)
            .unwrap();
        let () = redis::cmd("MSET")
            .arg(&["k1", "1", "k2", "2", "k3", "3"])
            .query(&mut con)
            .unwrap();
        // Administrative commands are not shown; passwords are redacted.
        let _: Value = redis::cmd("CONFIG")
            .arg("GET")
            .arg("maxmemory")
            .query(&mut con)
            .unwrap();
        let _ = redis::cmd("AUTH").arg("secret").query::<Value>(&mut con);
        let mut pipe = redis::pipe();
        for key in ["k1", "k2", "k3", "foo"] {
            pipe.cmd("GET").arg(key);
        }
        let _: Vec<Value> = pipe.query(&mut con).unwrap();
        let _: Value = redis::pipe()
            .atomic()
            .cmd("INCR")
            .arg("k1")
            .cmd("GET")
            .arg("k3")
            .query(&mut con)
            .unwrap();
        let () = redis::cmd("PING").query(&mut con).unwrap();

        let expected = [
            r#""SET" "foo" "a\"b\n\x01""#,
            r#""MSET" "k1" "1" "k2" "2" "k3" "3""#,
            r#""AUTH" "(redacted)""#,
            r#""GET" "k1""#,
            r#""GET" "k2""#,
            r#""GET" "k3""#,
            r#""GET" "foo""#,
            r#""MULTI""#,
            r#""INCR" "k1""#,
            r#""GET" "k3""#,
            r#""EXEC""#,
            r#""PING""#,
        ];
        for want in expected {
            assert_eq!(
                monitor_line(&mut monitor),
                format!("[0 {peer}] {want}"),
                "{name}"
            );
        }

        // A monitor may not touch keys; it sees its own other commands.
        assert_eq!(
            monitor.call(&["GET", "k1"]),
            "-ERR Replica can't interact with the keyspace\r\n",
            "{name}"
        );
        monitor.send_cmd(&[b"PING"]);
        let got = [
            String::from_utf8(monitor.read_frame().unwrap()).unwrap(),
            String::from_utf8(monitor.read_frame().unwrap()).unwrap(),
        ];
        // Redis writes the reply first, then feeds the monitors.
        assert_eq!(got[0], "+PONG\r\n", "{name}");
        assert!(got[1].ends_with(" \"PING\"\r\n"), "{name}: {got:?}");
        let list: String = redis::cmd("CLIENT").arg("LIST").query(&mut con).unwrap();
        assert!(list.contains(" flags=O "), "{name}: {list}");
        // RESET leaves monitor mode.
        assert_eq!(monitor.call(&["RESET"]), "+RESET\r\n", "{name}");
        assert_eq!(monitor.call(&["GET", "k2"]), "$1\r\n2\r\n", "{name}");
        let list: String = redis::cmd("CLIENT").arg("LIST").query(&mut con).unwrap();
        assert!(!list.contains(" flags=O "), "{name}: {list}");
    });
}
