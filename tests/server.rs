//! The server as its users meet it: the Redis command-line tools, AUTH, CLIENT LIST/KILL and
//! SHUTDOWN. Where the reply text matters it is checked against a real redis-server too.

mod common;

use common::{on_both, redis_cli, run_tool, show, Frame, Server};
use std::time::Duration;

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn redis_cli_set_and_get() {
    let server = Server::start(&[]);
    let set = redis_cli(server.port(), &["set", "a", "b"]);
    assert!(set.status.success(), "{set:?}");
    assert_eq!(stdout(&set), "OK\n");
    let get = redis_cli(server.port(), &["get", "a"]);
    assert_eq!(stdout(&get), "b\n");
    let missing = redis_cli(server.port(), &["--no-raw", "get", "nosuchkey"]);
    assert_eq!(stdout(&missing), "(nil)\n");
    let incr = redis_cli(server.port(), &["--no-raw", "incr", "counter"]);
    assert_eq!(stdout(&incr), "(integer) 1\n");
}

#[test]
fn redis_cli_info_server_reports_redis_7_0() {
    let server = Server::start(&[]);
    let info = redis_cli(server.port(), &["--no-raw", "info", "server"]);
    assert!(info.status.success(), "{info:?}");
    let text = stdout(&info);
    assert!(text.contains("redis_version:7.0"), "{text}");
    assert!(text.contains("# Server"), "{text}");
}

#[test]
fn redis_benchmark_runs_without_errors() {
    let server = Server::start(&[]);
    let port = server.port().to_string();
    // redis-benchmark 7.0 prints "Error from server: ..." and exits 1 at the first error reply.
    let args = [
        "-h",
        "127.0.0.1",
        "-p",
        &port,
        "-t",
        "ping,set,get,incr,mset",
        "-c",
        "50",
        "-P",
        "16",
        "-n",
        "20000",
        "-q",
    ];
    let (status, out, err) = run_tool("redis-benchmark", &args, Duration::from_secs(300));
    let all = format!("{out}{err}");
    assert!(
        status.is_some_and(|s| s.success()),
        "redis-benchmark: {status:?}\n{all}"
    );
    // Progress updates are separated by carriage returns; split on those too.
    let lines: Vec<&str> = all
        .split(['\r', '\n'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    for line in &lines {
        assert!(
            !line.to_lowercase().contains("error"),
            "redis-benchmark printed: {line}\n{all}"
        );
    }
    for test in [
        "PING_INLINE",
        "PING_MBULK",
        "SET",
        "GET",
        "INCR",
        "MSET (10 keys)",
    ] {
        let result = format!("{test}: ");
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(&result) && l.contains(" requests per second")),
            "no result line for {test}:\n{all}"
        );
    }
    // Without -r every INCR hits the same key.
    let mut con = server.client();
    let counter: i64 = redis::cmd("GET")
        .arg("counter:__rand_int__")
        .query(&mut con)
        .unwrap();
    assert_eq!(counter, 20000);
}

#[test]
fn shutdown_nosave_exits_with_status_0() {
    on_both(&[], &[], |server| {
        let mut conn = server.conn();
        conn.send(b"SET k v\r\n");
        assert_eq!(show(&conn.read_frame().unwrap()), "+OK\r\n");
        conn.send(b"SHUTDOWN NOSAVE\r\n");
        let (_, closed) = conn.read_until_closed(Duration::from_secs(10));
        assert!(
            closed,
            "{}: connection still open after SHUTDOWN",
            server.name()
        );
        let status = server.wait_exit(Duration::from_secs(10));
        assert!(
            status.is_some_and(|s| s.success()),
            "{}: exit status {status:?}",
            server.name()
        );
    });
}

#[test]
fn client_kill_id_closes_that_connection_only() {
    on_both(&[], &[], |server| {
        let mut killer = server.conn();
        let mut victim = server.conn();
        let mut bystander = server.conn();
        let victim_id = Frame::parse(victim.call(&["CLIENT", "ID"]).as_bytes());
        let Frame::Int(victim_id) = victim_id else {
            panic!("CLIENT ID: {victim_id:?}")
        };
        assert_eq!(bystander.call(&["PING"]), "+PONG\r\n");

        assert_eq!(
            killer.call(&["CLIENT", "KILL", "ID", &victim_id.to_string()]),
            ":1\r\n",
            "{}",
            server.name()
        );
        let (_, closed) = victim.read_until_closed(Duration::from_secs(10));
        assert!(closed, "{}: killed client still connected", server.name());
        assert_eq!(bystander.call(&["PING"]), "+PONG\r\n");
        assert_eq!(
            killer.call(&["CLIENT", "KILL", "ID", &victim_id.to_string()]),
            ":0\r\n",
            "{}",
            server.name()
        );
    });
}

#[test]
fn client_list_shows_every_connection() {
    let server = Server::start(&[]);
    // Enough connections that they are spread over both shard cores.
    let mut conns: Vec<_> = (0..16).map(|_| server.conn()).collect();
    let mut ids = Vec::new();
    for conn in &mut conns {
        let reply = Frame::parse(conn.call(&["CLIENT", "ID"]).as_bytes());
        let Frame::Int(id) = reply else {
            panic!("CLIENT ID: {reply:?}")
        };
        ids.push(id);
    }
    let unique: std::collections::HashSet<_> = ids.iter().collect();
    assert_eq!(
        unique.len(),
        ids.len(),
        "client ids must be unique across cores: {ids:?}"
    );

    let list = Frame::parse(conns[0].call(&["CLIENT", "LIST"]).as_bytes()).text();
    let lines: Vec<&str> = list.lines().filter(|l| !l.is_empty()).collect();
    assert!(
        lines.len() >= conns.len(),
        "CLIENT LIST has {} lines for {} connections:\n{list}",
        lines.len(),
        conns.len()
    );
    for id in &ids {
        assert!(
            lines.iter().any(|l| l.starts_with(&format!("id={id} "))),
            "client {id} missing from CLIENT LIST:\n{list}"
        );
    }
    for line in &lines {
        assert!(
            line.contains(" addr=127.0.0.1:") && line.contains(" cmd="),
            "CLIENT LIST line: {line}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// AUTH.

#[test]
fn commands_before_auth_are_refused() {
    let password = ["--requirepass", "pw"];
    on_both(&password, &password, |server| {
        let mut conn = server.conn();
        assert_eq!(
            conn.call(&["GET", "a"]),
            "-NOAUTH Authentication required.\r\n",
            "{}",
            server.name()
        );
        assert_eq!(
            conn.call(&["SET", "a", "b"]),
            "-NOAUTH Authentication required.\r\n"
        );
        assert_eq!(conn.call(&["PING"]), "-NOAUTH Authentication required.\r\n");
        let wrongpass = "-WRONGPASS invalid username-password pair or user is disabled.\r\n";
        assert_eq!(
            conn.call(&["AUTH", "wrong"]),
            wrongpass,
            "{}",
            server.name()
        );
        assert_eq!(conn.call(&["AUTH", "default", "wrong"]), wrongpass);
        assert_eq!(
            conn.call(&["GET", "a"]),
            "-NOAUTH Authentication required.\r\n"
        );
        assert_eq!(conn.call(&["AUTH", "pw"]), "+OK\r\n");
        assert_eq!(conn.call(&["GET", "a"]), "$-1\r\n");
        assert_eq!(conn.call(&["SET", "a", "b"]), "+OK\r\n");

        let mut other = server.conn();
        assert_eq!(other.call(&["AUTH", "default", "pw"]), "+OK\r\n");
        assert_eq!(other.call(&["GET", "a"]), "$1\r\nb\r\n");
    });
}

#[test]
fn hello_3_with_auth() {
    let password = ["--requirepass", "pw"];
    on_both(&password, &password, |server| {
        let mut conn = server.conn();
        let wrongpass = "-WRONGPASS invalid username-password pair or user is disabled.\r\n";
        assert_eq!(
            conn.call(&["HELLO", "3", "AUTH", "default", "wrong"]),
            wrongpass,
            "{}",
            server.name()
        );
        let reply = conn.call(&["HELLO", "3", "AUTH", "default", "pw"]);
        assert!(
            reply.starts_with('%'),
            "{}: HELLO 3 AUTH reply: {reply}",
            server.name()
        );
        let map = Frame::parse(reply.as_bytes()).as_map();
        assert_eq!(map["proto"], Frame::Int(3));
        assert_eq!(conn.call(&["GET", "a"]), "_\r\n");
    });
}

#[test]
fn redis_crate_with_password_in_url() {
    let server = Server::start(&["--requirepass", "pw"]);
    let mut con = common::connect_url(&format!("redis://:pw@127.0.0.1:{}/", server.port()));
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut con).unwrap();
    let v: String = redis::cmd("GET").arg("k").query(&mut con).unwrap();
    assert_eq!(v, "v");
    let cli = redis_cli(
        server.port(),
        &["-a", "pw", "--no-auth-warning", "get", "k"],
    );
    assert_eq!(stdout(&cli), "v\n");
}

#[test]
fn large_frames_before_auth_are_refused() {
    let password = ["--requirepass", "pw"];
    on_both(&password, &password, |server| {
        let mut conn = server.conn();
        let _ = conn.send_lossy(b"*11\r\n");
        let (reply, closed) = conn.read_until_closed(Duration::from_secs(10));
        assert_eq!(
            show(&reply),
            "-ERR Protocol error: unauthenticated multibulk length\r\n",
            "{}",
            server.name()
        );
        assert!(closed, "{}", server.name());

        let mut conn = server.conn();
        let _ = conn.send_lossy(b"*2\r\n$4\r\nECHO\r\n$16385\r\n");
        let (reply, closed) = conn.read_until_closed(Duration::from_secs(10));
        assert_eq!(
            show(&reply),
            "-ERR Protocol error: unauthenticated bulk length\r\n",
            "{}",
            server.name()
        );
        assert!(closed, "{}", server.name());

        // After AUTH the same frames are fine.
        let mut conn = server.conn();
        assert_eq!(conn.call(&["AUTH", "pw"]), "+OK\r\n");
        let value = "v".repeat(16385);
        assert_eq!(
            conn.call(&["ECHO", &value]),
            format!("$16385\r\n{value}\r\n")
        );
        let many: Vec<&str> = std::iter::once("DEL")
            .chain(std::iter::repeat_n("k", 10))
            .collect();
        assert_eq!(conn.call(&many), ":0\r\n");
    });
}

#[test]
fn sigterm_shuts_down_cleanly_with_status_zero() {
    let mut server = Server::start(&[]);
    let pid = server.pid();
    // SAFETY: sending a signal to the child process this test started.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGTERM) }, 0);
    let status = server
        .wait_exit(std::time::Duration::from_secs(10))
        .expect("slotcore exits after SIGTERM");
    assert!(status.success(), "exit status {status:?}");
    assert!(
        server.log().contains("Received SIGTERM"),
        "{}",
        server.log()
    );
}

/// The process's resident memory in KiB, from /proc.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .expect("VmRSS line")
}

#[test]
fn flushall_gives_the_memory_of_the_flushed_keys_back() {
    let server = Server::start(&["--enable-debug-command", "yes"]);
    let mut client = server.client();
    let before = rss_kib(server.pid());
    let _: () = redis::cmd("DEBUG")
        .arg("POPULATE")
        .arg(300_000)
        .arg("key")
        .arg(16)
        .query(&mut client)
        .unwrap();
    let populated = rss_kib(server.pid());
    let grown = populated.saturating_sub(before);
    // 300k keys take tens of MiB; a test on a machine where they did not
    // show in VmRSS would prove nothing.
    assert!(grown > 20 * 1024, "RSS grew by {grown} KiB only");
    let _: () = redis::cmd("FLUSHALL").query(&mut client).unwrap();
    // Pages freed by one core for another go back a moment later (each
    // core collects its heap every 100 ms): bounded polling, not a sleep.
    let mut flushed = rss_kib(server.pid());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while flushed >= before + grown / 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
        flushed = rss_kib(server.pid());
    }
    assert!(
        flushed < before + grown / 2,
        "RSS {before} KiB at start, {populated} populated, still {flushed} 5 s after FLUSHALL"
    );
}

#[test]
fn timeout_closes_idle_clients_but_not_subscribers_or_busy_ones() {
    on_both(&["--timeout", "1"], &["--timeout", "1"], |server| {
        let mut idle = server.conn();
        let mut subscriber = server.conn();
        let mut busy = server.conn();
        assert_eq!(idle.call(&["PING"]), "+PONG\r\n");
        assert!(subscriber
            .call(&["SUBSCRIBE", "news"])
            .starts_with("*3\r\n"));
        // Redis checks idle clients about ten times a second: well past
        // the second, the idle one is gone, and one that kept talking is not.
        let started = std::time::Instant::now();
        while started.elapsed() < Duration::from_millis(2500) {
            assert_eq!(busy.call(&["PING"]), "+PONG\r\n", "{}", server.name());
            std::thread::sleep(Duration::from_millis(200));
        }
        let (_, closed) = idle.read_until_closed(Duration::from_secs(10));
        assert!(closed, "{}: idle client still connected", server.name());
        assert_eq!(
            subscriber.call(&["PING"]),
            "*2\r\n$4\r\npong\r\n$0\r\n\r\n",
            "{}",
            server.name()
        );
    });
}

/// A second server on a port another one listens on must not start. slotcore's shard cores
/// bind with SO_REUSEPORT, which would let a second slotcore join the first's port and split
/// its clients with it; like redis-server, it refuses with Redis's message and exit status 1.
#[test]
fn a_second_server_on_a_taken_port_refuses_to_start() {
    let first = Server::start(&[]);
    let port = first.port().to_string();
    let dir = common::TempDir::new("second-server");
    let dir_arg = dir.path().display().to_string();
    let base = ["--port", &port, "--bind", "127.0.0.1", "--dir", &dir_arg];
    let slotcore_args: Vec<&str> = base.iter().copied().chain(["--shards", "1"]).collect();
    let redis_args: Vec<&str> = base
        .iter()
        .copied()
        .chain(["--save", "", "--appendonly", "no"])
        .collect();
    for (binary, args) in [
        (common::SLOTCORE, slotcore_args),
        ("redis-server", redis_args),
    ] {
        let (status, stdout, stderr) = run_tool(binary, &args, Duration::from_secs(10));
        let status = status.unwrap_or_else(|| panic!("{binary} on a taken port kept running"));
        assert_eq!(status.code(), Some(1), "{binary}: {stdout}{stderr}");
        let expected =
            format!("Could not create server TCP listening socket 127.0.0.1:{port}: bind: Address already in use");
        assert!(
            stdout.contains(&expected) || stderr.contains(&expected),
            "{binary}: {stdout}{stderr}"
        );
    }
    // Every connection still reaches the first server.
    for _ in 0..8 {
        let info = stdout(&redis_cli(first.port(), &["INFO", "server"]));
        assert!(
            info.contains(&format!("process_id:{}\r", first.pid())),
            "{info}"
        );
    }
}

/// The same check must not keep a server from restarting on its port after it was killed with
/// clients connected: their sockets linger on the port in TIME_WAIT for a minute.
#[test]
fn a_killed_server_restarts_on_its_port_at_once() {
    let mut first = Server::start(&[]);
    let port = first.port();
    let mut client = first.conn();
    assert_eq!(client.call(&["PING"]), "+PONG\r\n");
    // SAFETY: sending a signal to the child process this test started.
    assert_eq!(unsafe { libc::kill(first.pid() as i32, libc::SIGKILL) }, 0);
    first
        .wait_exit(Duration::from_secs(10))
        .expect("slotcore exits after SIGKILL");

    let dir = common::TempDir::new("restarted-server");
    let argv: Vec<String> = [
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--shards",
        "2",
    ]
    .iter()
    .map(|a| a.to_string())
    .chain(["--dir".to_string(), dir.path().display().to_string()])
    .collect();
    let second = Server::launch(common::SLOTCORE, "slotcore", dir, port, &argv)
        .unwrap_or_else(|why| panic!("no restart on port {port}: {why}"));
    assert_eq!(stdout(&redis_cli(second.port(), &["PING"])).trim(), "PONG");
}

/// The server turns transparent huge pages off for itself (mimalloc would ask for them on its
/// arena, and each 2 MiB stretch touched would then cost a whole huge page of VmRSS).
#[test]
fn transparent_huge_pages_are_off_for_the_server() {
    if std::env::var("SLOTCORE_TEST_TARGET").as_deref() == Ok("redis") {
        return;
    }
    let server = Server::start(&[]);
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.pid()))
        .expect("the server's /proc status");
    // The line exists from Linux 6.0 on; an older kernel does not say.
    if let Some(line) = status.lines().find(|line| line.starts_with("THP_enabled:")) {
        assert_eq!(line.split_whitespace().nth(1), Some("0"), "{line}");
    }
}

/// Redis's lazyfree test, "UNLINK can reclaim memory in background", made stricter: a
/// request of 100 000 arguments leaves nothing behind once its set is gone, round after
/// round, on the same connection and on new ones. (Its arguments' room, held by the
/// connection, and a slowlog entry holding a slice of the read buffer each kept megabytes.)
#[test]
fn a_huge_request_leaves_no_memory_behind() {
    on_both(&[], &[], |server| {
        let name = server.name();
        let used = |con: &mut redis::Connection| -> i64 {
            let info: String = redis::cmd("INFO").arg("memory").query(con).unwrap();
            info.lines()
                .find_map(|line| line.strip_prefix("used_memory:"))
                .and_then(|value| value.trim().parse().ok())
                .expect("used_memory")
        };
        let members: Vec<i64> = (0..100_000).collect();
        let mut before = None;
        for _ in 0..3 {
            let mut con = server.client();
            let start = used(&mut con);
            before.get_or_insert(start);
            let added: i64 = redis::cmd("SADD")
                .arg("myset")
                .arg(&members)
                .query(&mut con)
                .unwrap();
            assert_eq!(added, 100_000, "{name}");
            let peak = used(&mut con);
            assert!(peak > start + 1_000_000, "{name}: {start} -> {peak}");
            let unlinked: i64 = redis::cmd("UNLINK").arg("myset").query(&mut con).unwrap();
            assert_eq!(unlinked, 1, "{name}");
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            loop {
                let now = used(&mut con);
                if now < start + 500_000 {
                    break;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "{name}: used_memory {start} before, {peak} with the set, {now} after"
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        let mut con = server.client();
        let end = used(&mut con);
        let first = before.unwrap();
        assert!(
            end < first + 500_000,
            "{name}: {first} at first, {end} at the end"
        );
    });
}

/// `client-output-buffer-limit pubsub`: a subscriber that stops reading is disconnected once
/// its messages pass the hard limit, or stay past the soft one for longer than its seconds;
/// the publisher and everyone else go on. Checked on both servers.
#[test]
fn a_subscriber_that_stops_reading_is_cut_off_at_the_output_limit() {
    // Far more than the kernel's socket buffers on loopback take, at 64 KB a message.
    const MESSAGES: usize = 400;
    let message = "x".repeat(64 * 1024);
    let subscribers = |con: &mut redis::Connection| -> i64 {
        let counts: Vec<redis::Value> = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg("news")
            .query(con)
            .unwrap();
        match counts.get(1) {
            Some(redis::Value::Int(n)) => *n,
            other => panic!("PUBSUB NUMSUB: {other:?}"),
        }
    };
    let burst = |con: &mut redis::Connection| {
        for _ in 0..MESSAGES {
            let _: i64 = redis::cmd("PUBLISH")
                .arg("news")
                .arg(&message)
                .query(con)
                .unwrap();
        }
    };
    let wait_until_gone = |con: &mut redis::Connection, name: &str| {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while subscribers(con) != 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "{name}: the subscriber is still there"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    on_both(&[], &[], |server| {
        let name = server.name();
        let mut con = server.client();
        common::config_set(&mut con, "client-output-buffer-limit", "pubsub 1mb 0 0");
        let mut stalled = server.conn();
        assert!(stalled.call(&["SUBSCRIBE", "news"]).starts_with("*3\r\n"));
        assert_eq!(subscribers(&mut con), 1, "{name}");
        burst(&mut con);
        wait_until_gone(&mut con, name);

        // The soft limit: over it for more than a second, then one more message.
        common::config_set(&mut con, "client-output-buffer-limit", "pubsub 0 1mb 1");
        let mut stalled = server.conn();
        assert!(stalled.call(&["SUBSCRIBE", "news"]).starts_with("*3\r\n"));
        burst(&mut con);
        assert_eq!(
            subscribers(&mut con),
            1,
            "{name}: cut off before its seconds"
        );
        std::thread::sleep(Duration::from_millis(2500));
        let _: i64 = redis::cmd("PUBLISH")
            .arg("news")
            .arg("one more")
            .query(&mut con)
            .unwrap();
        wait_until_gone(&mut con, name);
        let () = redis::cmd("PING").query(&mut con).unwrap();
    });
}

/// WAIT with no replica to acknowledge: it blocks until its timeout (0: until CLIENT UNBLOCK,
/// which answers 0, or with ERROR the UNBLOCKED error), counts as a blocked client, and
/// LASTSAVE is the start time when nothing was ever saved. Checked on both servers.
#[test]
fn wait_blocks_until_its_timeout_or_client_unblock() {
    on_both(&[], &[], |server| {
        let name = server.name();
        let mut con = server.client();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let lastsave: i64 = redis::cmd("LASTSAVE").query(&mut con).unwrap();
        assert!(
            (now - 30..=now).contains(&lastsave),
            "{name}: {lastsave} vs {now}"
        );

        let blocked = |con: &mut redis::Connection| {
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            loop {
                let info: String = redis::cmd("INFO").arg("clients").query(con).unwrap();
                if info.contains("blocked_clients:1\r\n") {
                    break;
                }
                assert!(std::time::Instant::now() < deadline, "{name}: {info}");
                std::thread::sleep(Duration::from_millis(20));
            }
        };

        // With a timeout it blocks, then answers 0 by itself.
        let mut waiting = server.conn();
        waiting.send_cmd(&[b"WAIT", b"1", b"300"]);
        blocked(&mut con);
        assert_eq!(show(&waiting.read_frame().unwrap()), ":0\r\n", "{name}");

        for (how, want) in [
            ("TIMEOUT", ":0\r\n"),
            (
                "ERROR",
                "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n",
            ),
        ] {
            let mut waiting = server.conn();
            let id = waiting.call(&["CLIENT", "ID"]);
            let id = id.trim().trim_start_matches(':').to_string();
            waiting.send_cmd(&[b"WAIT", b"1", b"0"]);
            blocked(&mut con);
            let unblocked: i64 = redis::cmd("CLIENT")
                .arg("UNBLOCK")
                .arg(&id)
                .arg(how)
                .query(&mut con)
                .unwrap();
            assert_eq!(unblocked, 1, "{name}: {how}");
            assert_eq!(show(&waiting.read_frame().unwrap()), want, "{name}: {how}");
        }
    });
}

/// MEMORY STATS names Redis 7.0's fields (but the per-database `db.N` breakdown) with
/// figures that agree with each other and with DBSIZE; DOCTOR and MALLOC-STATS report.
#[test]
fn memory_stats_and_doctor_answer_like_redis() {
    let fields = |server: &mut Server| -> Vec<(String, redis::Value)> {
        let mut con = server.client();
        for n in 0..500 {
            let () = redis::cmd("SET")
                .arg(format!("k{n}"))
                .arg("v")
                .query(&mut con)
                .unwrap();
        }
        let stats: Vec<redis::Value> = redis::cmd("MEMORY").arg("STATS").query(&mut con).unwrap();
        let doctor: String = redis::cmd("MEMORY").arg("DOCTOR").query(&mut con).unwrap();
        assert!(doctor.contains("Sam"), "{doctor}");
        let malloc: String = redis::cmd("MEMORY")
            .arg("MALLOC-STATS")
            .query(&mut con)
            .unwrap();
        assert!(!malloc.is_empty());
        stats
            .chunks(2)
            .map(|pair| match &pair[0] {
                redis::Value::BulkString(name) => {
                    (String::from_utf8_lossy(name).into_owned(), pair[1].clone())
                }
                other => panic!("field name {other:?}"),
            })
            .filter(|(name, _)| !name.starts_with("db."))
            .collect()
    };
    let mut redis = common::RedisServer::start();
    let expected: Vec<String> = fields(&mut redis).into_iter().map(|(n, _)| n).collect();
    drop(redis);
    let mut slotcore = Server::start(&[]);
    let got = fields(&mut slotcore);
    let names: Vec<String> = got.iter().map(|(n, _)| n.clone()).collect();
    assert_eq!(names, expected);
    let int = |name: &str| match got.iter().find(|(n, _)| n == name).map(|(_, v)| v) {
        Some(redis::Value::Int(n)) => *n,
        other => panic!("{name}: {other:?}"),
    };
    assert_eq!(int("keys.count"), 500);
    assert!(int("total.allocated") <= int("peak.allocated"));
    assert!(int("startup.allocated") < int("total.allocated"));
    assert_eq!(
        int("dataset.bytes") + int("overhead.total"),
        int("total.allocated")
    );
}

/// CLIENT PAUSE WRITE holds writes, PUBLISH and a transaction's writes (each a blocked client
/// with flag `b`) while reads and wrong-arity commands answer; CLIENT UNPAUSE lets them run in
/// order. While paused, a key whose time has come reads as missing but is not expired (no
/// `expired_keys`) until the pause ends. CLIENT PAUSE ALL holds even PING until its end.
/// Checked on both servers.
#[test]
fn client_pause_holds_writes_until_unpause_or_its_end() {
    on_both(&[], &["--shards", "2"], |server| {
        let name = server.name();
        let mut con = server.client();
        let info_field = |con: &mut redis::Connection, section: &str, field: &str| -> i64 {
            let info: String = redis::cmd("INFO").arg(section).query(con).unwrap();
            info.lines()
                .find_map(|line| line.strip_prefix(&format!("{field}:")))
                .and_then(|value| value.trim().parse().ok())
                .unwrap_or_else(|| panic!("{name}: no {field} in {info}"))
        };
        let wait_blocked = |con: &mut redis::Connection, count: i64| {
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            while info_field(con, "clients", "blocked_clients") != count {
                assert!(
                    std::time::Instant::now() < deadline,
                    "{name}: not {count} blocked"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        };
        // CLIENT PAUSE with `args`, or CLIENT UNPAUSE without.
        let pause = |con: &mut redis::Connection, args: &[&str]| {
            let mut command = redis::cmd("CLIENT");
            command.arg(if args.is_empty() { "UNPAUSE" } else { "PAUSE" });
            let () = command.arg(args).query(con).unwrap();
        };
        pause(&mut con, &["60000", "WRITE"]);
        let mut reader = server.conn();
        assert_eq!(reader.call(&["GET", "k"]), "$-1\r\n", "{name}");
        assert_eq!(reader.call(&["PING"]), "+PONG\r\n", "{name}");
        assert_eq!(
            reader.call(&["SET", "k"]),
            "-ERR wrong number of arguments for 'set' command\r\n",
            "{name}"
        );
        let mut writer = server.conn();
        writer.send_cmd(&[b"SET", b"k", b"v"]);
        writer.send_cmd(&[b"GET", b"k"]);
        wait_blocked(&mut con, 1);
        let list: String = redis::cmd("CLIENT").arg("LIST").query(&mut con).unwrap();
        assert!(
            list.lines()
                .any(|line| line.contains("flags=b ") && line.contains("cmd=set")),
            "{name}: {list}"
        );
        let mut publisher = server.conn();
        publisher.send_cmd(&[b"PUBLISH", b"ch", b"m"]);
        let mut transaction = server.conn();
        assert_eq!(transaction.call(&["MULTI"]), "+OK\r\n", "{name}");
        transaction.send_cmd(&[b"INCR", b"n"]);
        wait_blocked(&mut con, 3);
        assert_eq!(
            reader.call(&["GET", "k"]),
            "$-1\r\n",
            "{name}: written while paused"
        );
        pause(&mut con, &[]);
        assert_eq!(show(&writer.read_frame().unwrap()), "+OK\r\n", "{name}");
        assert_eq!(show(&writer.read_frame().unwrap()), "$1\r\nv\r\n", "{name}");
        assert_eq!(show(&publisher.read_frame().unwrap()), ":0\r\n", "{name}");
        assert_eq!(
            show(&transaction.read_frame().unwrap()),
            "+QUEUED\r\n",
            "{name}"
        );
        assert_eq!(transaction.call(&["EXEC"]), "*1\r\n:1\r\n", "{name}");
        wait_blocked(&mut con, 0);

        // Expiry waits for the end of the pause.
        assert_eq!(
            reader.call(&["SET", "e", "v", "PX", "30"]),
            "+OK\r\n",
            "{name}"
        );
        let expired = info_field(&mut con, "stats", "expired_keys");
        pause(&mut con, &["60000", "WRITE"]);
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(reader.call(&["GET", "e"]), "$-1\r\n", "{name}");
        assert_eq!(reader.call(&["EXISTS", "e"]), ":0\r\n", "{name}");
        assert_eq!(
            info_field(&mut con, "stats", "expired_keys"),
            expired,
            "{name}: expired while paused"
        );
        pause(&mut con, &[]);
        assert_eq!(reader.call(&["GET", "e"]), "$-1\r\n", "{name}");
        assert_eq!(
            info_field(&mut con, "stats", "expired_keys"),
            expired + 1,
            "{name}"
        );

        // ALL holds every command, PING and CLIENT UNPAUSE included, until the pause's end.
        pause(&mut con, &["2000"]);
        reader.send_cmd(&[b"PING"]);
        let mut other = server.conn();
        other.send_cmd(&[b"CLIENT", b"UNPAUSE"]);
        let (early, closed) = reader.read_until_closed(Duration::from_millis(300));
        assert!(early.is_empty() && !closed, "{name}: {}", show(&early));
        assert_eq!(show(&reader.read_frame().unwrap()), "+PONG\r\n", "{name}");
        assert_eq!(show(&other.read_frame().unwrap()), "+OK\r\n", "{name}");
    });
}

#[test]
fn redis_crate_scripts_run_on_the_core_of_their_keys() {
    on_both(&[], &["--shards", "2"], |server| {
        let name = server.name();
        let mut first = server.client();
        let mut second = server.client();
        // redis::Script sends EVALSHA and falls back to EVAL on NOSCRIPT: the first call loads
        // it (on whichever core owns the key), the others find it through any connection.
        let incr = redis::Script::new("return redis.call('incrby', KEYS[1], ARGV[1])");
        for round in 1..=3i64 {
            for i in 0..40 {
                let con = if i % 2 == 0 { &mut first } else { &mut second };
                let key = format!("script:{i}");
                let value: i64 = incr.key(&key).arg(i).invoke(con).unwrap();
                assert_eq!(value, i * round, "{name}: {key}");
            }
        }
        let exists: Vec<i64> = redis::cmd("SCRIPT")
            .arg("EXISTS")
            .arg(incr.get_hash())
            .query(&mut second)
            .unwrap();
        assert_eq!(exists, [1], "{name}");
        // A script that declares no keys may still use one (as Redis allows outside a
        // cluster): slotcore runs it on that key's core.
        let set = "redis.call('set', ARGV[1], ARGV[2]); return redis.call('get', ARGV[1])";
        for i in 0..20 {
            let key = format!("undeclared:{i}");
            let value: String = redis::cmd("EVAL")
                .arg(set)
                .arg(0)
                .arg(&key)
                .arg(i)
                .query(&mut first)
                .unwrap();
            assert_eq!(value, i.to_string(), "{name}: {key}");
            let stored: String = redis::cmd("GET").arg(&key).query(&mut second).unwrap();
            assert_eq!(stored, i.to_string(), "{name}: {key}");
        }
        let () = redis::cmd("SCRIPT").arg("FLUSH").query(&mut first).unwrap();
        let exists: Vec<i64> = redis::cmd("SCRIPT")
            .arg("EXISTS")
            .arg(incr.get_hash())
            .query(&mut second)
            .unwrap();
        assert_eq!(exists, [0], "{name}");
        let value: i64 = incr.key("script:1").arg(1).invoke(&mut second).unwrap();
        assert_eq!(value, 4, "{name}");
    });
}

#[test]
fn script_kill_ends_a_busy_script_and_the_server_goes_on() {
    // Redis answers SCRIPT KILL only once a script has run for busy-reply-threshold ms.
    on_both(
        &["--busy-reply-threshold", "200"],
        &["--shards", "2"],
        |server| {
            let name = server.name();
            let mut busy = server.conn();
            busy.send_cmd(&[b"EVAL", b"local i = 0 while true do i = i + 1 end", b"0"]);
            std::thread::sleep(Duration::from_millis(300));
            // A connection on the busy core waits with the script (slotcore): new ones until one
            // answers, the others read after.
            let mut waiting = Vec::new();
            let mut replies = Vec::new();
            for _ in 0..40 {
                let mut killer = server.conn();
                killer.send_cmd(&[b"SCRIPT", b"KILL"]);
                killer
                    .stream
                    .set_read_timeout(Some(Duration::from_millis(500)))
                    .unwrap();
                match killer.read_frame() {
                    Ok(reply) => {
                        replies.push(show(&reply));
                        break;
                    }
                    Err(_) => waiting.push(killer),
                }
            }
            for killer in &mut waiting {
                killer
                    .stream
                    .set_read_timeout(Some(Duration::from_secs(10)))
                    .unwrap();
                replies.push(show(&killer.read_frame().unwrap()));
            }
            assert!(
                replies.iter().any(|r| r == "+OK\r\n"),
                "{name}: {replies:?}"
            );
            assert!(
                replies
                    .iter()
                    .all(|r| r == "+OK\r\n" || r.starts_with("-NOTBUSY")),
                "{name}: {replies:?}"
            );
            let killed = show(&busy.read_frame().unwrap());
            assert!(
                killed.starts_with("-ERR Script killed by user with SCRIPT KILL... script: "),
                "{name}: {killed}"
            );
            assert_eq!(busy.call(&["EVAL", "return 1", "0"]), ":1\r\n", "{name}");
            assert_eq!(
                server.conn().call(&["SCRIPT", "KILL"]),
                "-NOTBUSY No scripts in execution right now.\r\n",
                "{name}"
            );
        },
    );
}

/// The `redis` crate's stream API as a work queue: a producer adds entries to streams on both
/// shard cores while three consumers of one group block in XREADGROUP on all of them and
/// acknowledge what they get. Every entry must be delivered to exactly one consumer, and the
/// group must end with nothing pending and no lag. Run against redis-server too.
#[test]
fn redis_crate_stream_consumer_group_over_keys_on_both_cores() {
    use redis::streams::{StreamReadOptions, StreamReadReply};
    use redis::Commands;
    use std::collections::HashSet;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Mutex;
    const STREAMS: usize = 6;
    const ENTRIES: usize = 300;
    on_both(&[], &["--shards", "2"], |server| {
        let name = server.name();
        let keys: Vec<String> = (0..STREAMS).map(|i| format!("jobs:{i}")).collect();
        let mut admin = server.client();
        for key in &keys {
            let () = admin.xgroup_create_mkstream(key, "workers", "$").unwrap();
        }
        let url = server.url();
        let delivered = Mutex::new(Vec::<(String, String)>::new());
        let done = AtomicBool::new(false);
        std::thread::scope(|scope| {
            for worker in 0..3 {
                let (url, keys, delivered, done) = (&url, &keys, &delivered, &done);
                scope.spawn(move || {
                    let mut con = common::connect_url(url);
                    let ids: Vec<&str> = keys.iter().map(|_| ">").collect();
                    let options = StreamReadOptions::default()
                        .group("workers", format!("w{worker}"))
                        .block(200)
                        .count(7);
                    loop {
                        let reply: Option<StreamReadReply> =
                            con.xread_options(keys, &ids, &options).unwrap();
                        let Some(reply) = reply else {
                            if done.load(Ordering::Acquire) {
                                return;
                            }
                            continue;
                        };
                        for stream in reply.keys {
                            for entry in &stream.ids {
                                let acked: i64 =
                                    con.xack(&stream.key, "workers", &[&entry.id]).unwrap();
                                assert_eq!(acked, 1, "{name}: {} {}", stream.key, entry.id);
                                delivered
                                    .lock()
                                    .unwrap()
                                    .push((stream.key.clone(), entry.id.clone()));
                            }
                        }
                    }
                });
            }
            let mut producer = common::connect_url(&url);
            for n in 0..ENTRIES {
                let key = &keys[n % STREAMS];
                let _: String = producer
                    .xadd(
                        key,
                        "*",
                        &[("n", n.to_string()), ("payload", "x".repeat(n % 50))],
                    )
                    .unwrap();
            }
            // Give the consumers time to drain, then let them stop on their next timeout.
            let deadline = std::time::Instant::now() + Duration::from_secs(20);
            while delivered.lock().unwrap().len() < ENTRIES {
                assert!(
                    std::time::Instant::now() < deadline,
                    "{name}: only {} of {ENTRIES} delivered",
                    delivered.lock().unwrap().len()
                );
                std::thread::sleep(Duration::from_millis(20));
            }
            done.store(true, Ordering::Release);
        });
        let delivered = delivered.into_inner().unwrap();
        let unique: HashSet<&(String, String)> = delivered.iter().collect();
        assert_eq!(delivered.len(), ENTRIES, "{name}: delivered twice");
        assert_eq!(unique.len(), ENTRIES, "{name}");
        for key in &keys {
            let length: usize = admin.xlen(key).unwrap();
            assert_eq!(length, ENTRIES / STREAMS, "{name}: {key}");
            let pending: redis::Value = redis::cmd("XPENDING")
                .arg(key)
                .arg("workers")
                .query(&mut admin)
                .unwrap();
            let redis::Value::Array(summary) = pending else {
                panic!("{name}: XPENDING {pending:?}");
            };
            assert_eq!(
                summary.first(),
                Some(&redis::Value::Int(0)),
                "{name}: {key}"
            );
            let groups: redis::Value = redis::cmd("XINFO")
                .arg("GROUPS")
                .arg(key)
                .query(&mut admin)
                .unwrap();
            // The one group's fields: nothing left to read, every entry read.
            let redis::Value::Array(groups) = groups else {
                panic!("{name}: XINFO GROUPS {groups:?}");
            };
            let Some(redis::Value::Array(fields)) = groups.first() else {
                panic!("{name}: XINFO GROUPS {groups:?}");
            };
            let field = |wanted: &str| {
                fields
                    .chunks(2)
                    .find(|pair| pair[0] == redis::Value::BulkString(wanted.as_bytes().to_vec()))
                    .map(|pair| pair[1].clone())
            };
            assert_eq!(field("lag"), Some(redis::Value::Int(0)), "{name}: {key}");
            assert_eq!(
                field("entries-read"),
                Some(redis::Value::Int((ENTRIES / STREAMS) as i64)),
                "{name}: {key}"
            );
        }
    });
}
