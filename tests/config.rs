//! Startup configuration: a Redis-syntax config file, flags that override it, and clear
//! failures for directives or values the server does not accept.

mod common;

use common::{
    eventually, free_port, on_both, ping_answers, run_slotcore_expecting_exit, run_tool, show,
    Server, TempDir, SLOTCORE,
};
use std::net::TcpStream;
use std::time::Duration;

/// How long a server with a bad configuration may take to give up.
const EXIT_WAIT: Duration = Duration::from_secs(10);

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

/// Runs slotcore with `argv` and asserts it exits with a non-zero status; returns its output.
fn assert_refuses_to_start(argv: &[String]) -> String {
    let (status, output) = run_slotcore_expecting_exit(argv, EXIT_WAIT);
    let status = status.unwrap_or_else(|| {
        panic!("slotcore {argv:?} was still running after {EXIT_WAIT:?}:\n{output}")
    });
    assert!(
        !status.success(),
        "slotcore {argv:?} exited with {status}:\n{output}"
    );
    output
}

/// Starts slotcore with a config file (in Redis's syntax) holding port,
/// bind, shards and dir, then `extra` directives; returns the server and
/// the file's path.
fn start_with_config_file(extra: &str) -> (Server, std::path::PathBuf) {
    launch_with_config("slotcore-config", |port, dir| {
        format!(
            "# A config file in Redis's syntax.\n\nport {port}\nbind 127.0.0.1\nshards 2\ndir \"{}\"\n{extra}",
            dir.display()
        )
    })
}

/// Starts slotcore with its config file's text made by `text(port, dir)`, on a free port
/// in a fresh directory; returns the server and the file's path.
fn launch_with_config(
    prefix: &str,
    text: impl FnOnce(u16, &std::path::Path) -> String,
) -> (Server, std::path::PathBuf) {
    let dir = TempDir::new(prefix);
    let port = free_port();
    let text = text(port, dir.path());
    let file = dir.write("slotcore.conf", &text);
    let server = Server::launch(
        SLOTCORE,
        "slotcore",
        dir,
        port,
        &[file.display().to_string()],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    (server, file)
}

#[test]
fn config_file_directives_are_used() {
    let (server, _file) = start_with_config_file("requirepass \"two words\"\n");
    let mut conn = server.conn();
    assert_eq!(
        conn.call(&["GET", "a"]),
        "-NOAUTH Authentication required.\r\n"
    );
    assert_eq!(conn.call(&["AUTH", "two words"]), "+OK\r\n");
    assert_eq!(conn.call(&["PING"]), "+PONG\r\n");
}

#[test]
fn flags_override_the_config_file() {
    let dir = TempDir::new("slotcore-config");
    let file_port = free_port();
    let flag_port = free_port();
    let file = dir.write(
        "slotcore.conf",
        &format!("port {file_port}\nbind 127.0.0.1\nshards 2\nrequirepass filepw\n"),
    );
    let argv = strings(&[
        &file.display().to_string(),
        "--port",
        &flag_port.to_string(),
        "--dir",
        &dir.path().display().to_string(),
        "--requirepass",
        "flagpw",
    ]);
    let server = Server::launch(SLOTCORE, "slotcore", dir, flag_port, &argv)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut conn = server.conn();
    assert_eq!(
        conn.call(&["AUTH", "filepw"]),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(conn.call(&["AUTH", "flagpw"]), "+OK\r\n");
    assert!(
        TcpStream::connect(("127.0.0.1", file_port)).is_err(),
        "the port from the file is listening although --port overrode it"
    );
}

#[test]
fn unknown_directive_names_file_and_line() {
    let dir = TempDir::new("slotcore-config");
    let file = dir.write(
        "unknown-directive.conf",
        &format!("port {}\nbind 127.0.0.1\nfoo bar\nshards 2\n", free_port()),
    );
    let output = assert_refuses_to_start(&[file.display().to_string()]);
    assert!(
        output.contains("unknown-directive.conf"),
        "no file name in:\n{output}"
    );
    assert!(output.contains("line 3"), "no line number in:\n{output}");
    assert!(output.contains("foo"), "no directive name in:\n{output}");
}

#[test]
fn bad_value_in_file_fails_clearly() {
    let dir = TempDir::new("slotcore-config");
    let file = dir.write("bad-value.conf", "bind 127.0.0.1\nport notanumber\n");
    let output = assert_refuses_to_start(&[file.display().to_string()]);
    assert!(
        output.contains("bad-value.conf"),
        "no file name in:\n{output}"
    );
    assert!(output.contains("line 2"), "no line number in:\n{output}");
    assert!(output.contains("port"), "no directive name in:\n{output}");
}

#[test]
fn bad_flags_fail_clearly() {
    let dir = TempDir::new("slotcore-config");
    let dir_arg = dir.path().display().to_string();
    let port = free_port().to_string();
    let base = [
        "--port",
        port.as_str(),
        "--bind",
        "127.0.0.1",
        "--dir",
        dir_arg.as_str(),
        "--shards",
        "2",
    ];

    let output = assert_refuses_to_start(&strings(&[
        "--port",
        "notanumber",
        "--bind",
        "127.0.0.1",
        "--dir",
        &dir_arg,
    ]));
    assert!(output.contains("port"), "no directive name in:\n{output}");

    let mut unknown = strings(&base);
    unknown.extend(strings(&["--foo", "bar"]));
    let output = assert_refuses_to_start(&unknown);
    assert!(output.contains("foo"), "no directive name in:\n{output}");
}

#[test]
fn proto_max_bulk_len_below_1mb_is_refused_like_redis() {
    // Redis 7.0's lower bound for proto-max-bulk-len is 1 MiB; check redis-server agrees first.
    let dir = TempDir::new("redis-config");
    let port = free_port().to_string();
    let dir_arg = dir.path().display().to_string();
    let args = [
        "--port",
        &port,
        "--bind",
        "127.0.0.1",
        "--dir",
        &dir_arg,
        "--proto-max-bulk-len",
        "1024",
    ];
    let (status, out, err) = run_tool("redis-server", &args, EXIT_WAIT);
    assert!(
        status.is_some_and(|s| !s.success()),
        "redis-server accepted it: {out}{err}"
    );
    assert!(format!("{out}{err}").contains("1048576"), "{out}{err}");

    let output = assert_refuses_to_start(&strings(&args));
    assert!(
        output.contains("proto-max-bulk-len"),
        "no directive name in:\n{output}"
    );
    assert!(output.contains("1048576"), "no bound in:\n{output}");
}

#[test]
fn missing_config_file_fails() {
    let dir = TempDir::new("slotcore-config");
    let missing = dir.path().join("no-such-file.conf").display().to_string();
    let port = free_port().to_string();
    let output = assert_refuses_to_start(&strings(&[
        &missing,
        "--port",
        &port,
        "--bind",
        "127.0.0.1",
    ]));
    assert!(
        output.contains("no-such-file.conf"),
        "no file name in:\n{output}"
    );
}

#[test]
fn idle_clients_are_closed_after_timeout() {
    on_both(&["--timeout", "1"], &["--timeout", "1"], |server| {
        let mut idle = server.conn();
        assert_eq!(idle.call(&["PING"]), "+PONG\r\n");
        let (reply, closed) = idle.read_until_closed(Duration::from_secs(15));
        assert!(closed, "{}: idle client still connected", server.name());
        assert_eq!(show(&reply), "", "{}", server.name());
    });
}

#[test]
fn maxclients_refuses_extra_connections() {
    on_both(&["--maxclients", "3"], &["--maxclients", "3"], |server| {
        // The harness's own readiness check may still hold a place for a moment after it hung
        // up, so each of the three allowed clients may need a second try.
        let mut open = Vec::new();
        while open.len() < 3 {
            let admitted = eventually(Duration::from_secs(10), || {
                let mut conn = server.conn();
                let _ = conn.send_lossy(b"PING\r\n");
                let pong = conn.read_frame().is_ok_and(|reply| reply == b"+PONG\r\n");
                if pong {
                    open.push(conn);
                }
                pong
            });
            assert!(
                admitted,
                "{}: only {} clients admitted with maxclients 3",
                server.name(),
                open.len()
            );
        }
        let mut extra = server.conn();
        let _ = extra.send_lossy(b"PING\r\n");
        let (reply, closed) = extra.read_until_closed(Duration::from_secs(10));
        assert_eq!(
            show(&reply),
            "-ERR max number of clients reached\r\n",
            "{}",
            server.name()
        );
        assert!(closed, "{}", server.name());
        // Closing one makes room again.
        drop(open.pop());
        let admitted = eventually(Duration::from_secs(10), || {
            let mut conn = server.conn();
            let _ = conn.send_lossy(b"PING\r\n");
            conn.read_frame().is_ok_and(|reply| reply == b"+PONG\r\n")
        });
        assert!(admitted, "{}: no room after a client left", server.name());
    });
}

#[test]
fn config_set_then_rewrite_updates_the_file() {
    let (server, file) = start_with_config_file("maxclients 100\n");
    let port = server.port();
    let mut conn = server.conn();
    assert_eq!(
        conn.call(&["CONFIG", "SET", "maxclients", "200", "timeout", "7"]),
        "+OK\r\n"
    );
    // Every core sees the new value.
    assert_eq!(
        conn.call(&["CONFIG", "GET", "maxclients"]),
        "*2\r\n$10\r\nmaxclients\r\n$3\r\n200\r\n"
    );
    assert_eq!(conn.call(&["CONFIG", "REWRITE"]), "+OK\r\n");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("# A config file in Redis's syntax."),
        "{text}"
    );
    assert!(text.contains("maxclients 200"), "{text}");
    assert!(!text.contains("maxclients 100"), "{text}");
    assert!(text.contains("timeout 7"), "{text}");
    assert!(text.contains(&format!("port {port}")), "{text}");
}

#[test]
fn config_rewrite_without_a_file_is_refused_like_redis() {
    let server = Server::start(&[]);
    let mut conn = server.conn();
    assert_eq!(
        conn.call(&["CONFIG", "REWRITE"]),
        "-ERR The server is running without a config file\r\n"
    );
}

/// The config file Debian ships with redis-server (scripts/test installs it): every Redis
/// 7.0 directive it sets loads, the inert ones are kept, and CONFIG REWRITE writes a file
/// that loads again with what was set.
#[test]
fn redis_own_config_file_loads_and_rewrites() {
    let shipped = std::fs::read_to_string("/etc/redis/redis.conf")
        .expect("/etc/redis/redis.conf (installed with redis-server by scripts/test)");
    // Later lines win, as in Redis: keep the server in the test's port and directory.
    let (server, file) = launch_with_config("slotcore-redis-conf", |port, dir| {
        format!(
            "{shipped}\nport {port}\nbind 127.0.0.1\nshards 2\ndaemonize no\nlogfile \"\"\npidfile \"\"\ndir \"{}\"\n",
            dir.display()
        )
    });
    let mut conn = server.conn();
    assert_eq!(
        conn.call(&["CONFIG", "GET", "repl-diskless-sync"]),
        "*2\r\n$18\r\nrepl-diskless-sync\r\n$3\r\nyes\r\n"
    );
    assert_eq!(
        conn.call(&[
            "CONFIG",
            "SET",
            "slave-priority",
            "7",
            "client-output-buffer-limit",
            "pubsub 1mb 2mb 3",
            "latency-tracking-info-percentiles",
            "50 99.99",
        ]),
        "+OK\r\n"
    );
    assert_eq!(conn.call(&["CONFIG", "REWRITE"]), "+OK\r\n");
    drop(conn);
    let rewritten = std::fs::read_to_string(&file).unwrap();
    // The alias and its parameter are one line.
    assert_eq!(rewritten.matches("priority 7").count(), 1, "{rewritten}");
    drop(server);

    // The first server's port and directory are gone with it.
    let (server, _) = launch_with_config("slotcore-redis-conf-again", |port, dir| {
        format!("{rewritten}\nport {port}\ndir \"{}\"\n", dir.display())
    });
    let mut conn = server.conn();
    assert_eq!(
        conn.call(&["CONFIG", "GET", "replica-priority"]),
        "*2\r\n$16\r\nreplica-priority\r\n$1\r\n7\r\n"
    );
    assert!(conn
        .call(&["CONFIG", "GET", "client-output-buffer-limit"])
        .contains("pubsub 1048576 2097152 3"),);
    assert_eq!(
        conn.call(&["CONFIG", "GET", "latency-tracking-info-percentiles"]),
        "*2\r\n$33\r\nlatency-tracking-info-percentiles\r\n$8\r\n50 99.99\r\n"
    );
    // The pubsub class of client-output-buffer-limit is acted on: not named.
    assert!(server
        .log()
        .contains("have no effect here: replica-priority\n"));
}

/// Directives that would promise what slotcore does not do stop startup with the reason, and
/// so does `replicaof` where Redis refuses it: a bad port, or cluster mode (where CLUSTER
/// REPLICATE names the master).
#[test]
fn bad_replicaof_and_tls_directives_are_refused() {
    let output = assert_refuses_to_start(&strings(&["--replicaof", "127.0.0.1", "70000"]));
    assert!(output.contains("Invalid master port"), "{output}");
    let output = assert_refuses_to_start(&strings(&[
        "--cluster-enabled",
        "yes",
        "--replicaof",
        "127.0.0.1",
        "6379",
    ]));
    assert!(
        output.contains("replicaof directive not allowed in cluster mode"),
        "{output}"
    );
    let output = assert_refuses_to_start(&strings(&["--tls-port", "6380"]));
    assert!(output.contains("TLS is not supported"), "{output}");
}

/// Kills the daemon a test started, by the PID its PID file names, even when the test fails.
struct Daemon(Option<i32>);

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            // SAFETY: a signal to the process this test started.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}

/// `daemonize yes`: the command returns at once, the server runs on in the background, its
/// PID in `pidfile`; SHUTDOWN removes the file.
#[test]
fn daemonize_writes_the_pidfile_and_shutdown_removes_it() {
    let dir = TempDir::new("slotcore-daemon");
    let port = free_port();
    let pidfile = dir.path().join("slotcore.pid");
    let log = dir.path().join("slotcore.log");
    let status = std::process::Command::new(SLOTCORE)
        .args(strings(&[
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--shards",
            "2",
            "--daemonize",
            "yes",
            "--pidfile",
            &pidfile.display().to_string(),
            "--logfile",
            &log.display().to_string(),
            // Its final save goes there, not into the tests' directory.
            "--dir",
            &dir.path().display().to_string(),
        ]))
        .status()
        .expect("run slotcore");
    assert!(status.success(), "{status}");
    let mut daemon = Daemon(None);
    assert!(
        eventually(Duration::from_secs(10), || {
            daemon.0 = std::fs::read_to_string(&pidfile)
                .ok()
                .and_then(|text| text.trim().parse().ok());
            daemon.0.is_some() && TcpStream::connect(("127.0.0.1", port)).is_ok()
        }),
        "no PID file or listener; log:\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let pid = daemon.0.unwrap();
    assert_ne!(pid as u32, std::process::id());
    let mut conn = common::RawConn::new(TcpStream::connect(("127.0.0.1", port)).unwrap());
    assert_eq!(conn.call(&["PING"]), "+PONG\r\n");
    conn.send_cmd(&[b"SHUTDOWN"]);
    assert!(
        eventually(Duration::from_secs(10), || !pidfile.exists()
            // SAFETY: signal 0 only checks that the process exists.
            && unsafe { libc::kill(pid, 0) } != 0),
        "the daemon did not exit or left its PID file"
    );
    daemon.0 = None;
    assert!(std::fs::read_to_string(&log)
        .unwrap()
        .contains("Ready to accept connections"));
}

/// How many sockets listen on loopback `port` (from /proc/net/tcp, state 0A).
fn listeners_on(port: u16) -> usize {
    let table = std::fs::read_to_string("/proc/net/tcp").expect("read /proc/net/tcp");
    let wanted = format!(":{port:04X}");
    table
        .lines()
        .skip(1)
        .filter(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            fields.len() > 3 && fields[1].ends_with(&wanted) && fields[3] == "0A"
        })
        .count()
}

#[test]
fn config_set_port_and_bind_move_the_listeners_like_redis() {
    on_both(&[], &[], |server| {
        let name = server.name();
        // slotcore's two shard cores each listen (SO_REUSEPORT); redis-server once.
        let per_port = if name == "slotcore" { 2 } else { 1 };
        let old = server.port();
        let mut conn = server.conn();
        assert_eq!(listeners_on(old), per_port, "{name}");

        let new = free_port();
        assert_eq!(
            conn.call(&["CONFIG", "SET", "port", &new.to_string()]),
            "+OK\r\n",
            "{name}"
        );
        assert_eq!(listeners_on(new), per_port, "{name}");
        assert_eq!(listeners_on(old), 0, "{name}");
        assert!(ping_answers(new), "{name}: no answer on the new port");
        assert!(!ping_answers(old), "{name}: still answers on the old port");
        let info = conn.call(&["INFO", "server"]);
        assert!(
            info.contains(&format!("tcp_port:{new}\r\n")),
            "{name}: {info}"
        );
        // The same port again changes nothing.
        assert_eq!(
            conn.call(&["CONFIG", "SET", "port", &new.to_string()]),
            "+OK\r\n",
            "{name}"
        );
        assert_eq!(listeners_on(new), per_port, "{name}");

        // A port another socket listens on: refused, and every value of the
        // same CONFIG SET is left as it was.
        let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let busy_port = busy.local_addr().unwrap().port().to_string();
        assert_eq!(
            conn.call(&["CONFIG", "SET", "port", &busy_port, "maxclients", "77"]),
            "-ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port. Check server logs.\r\n",
            "{name}"
        );
        assert_eq!(
            conn.call(&["CONFIG", "GET", "port"]),
            format!(
                "*2\r\n$4\r\nport\r\n${}\r\n{new}\r\n",
                new.to_string().len()
            ),
            "{name}"
        );
        assert_eq!(
            conn.call(&["CONFIG", "GET", "maxclients"]),
            "*2\r\n$10\r\nmaxclients\r\n$5\r\n10000\r\n",
            "{name}"
        );
        assert_eq!(listeners_on(new), per_port, "{name}");
        assert!(ping_answers(new), "{name}: no answer after the failed port");
        drop(busy);

        // An address that cannot be bound: refused, still listening.
        assert_eq!(
            conn.call(&["CONFIG", "SET", "bind", "999.999.999.999"]),
            "-ERR CONFIG SET failed (possibly related to argument 'bind') - Failed to bind to specified addresses.\r\n",
            "{name}"
        );
        assert_eq!(
            conn.call(&["CONFIG", "GET", "bind"]),
            "*2\r\n$4\r\nbind\r\n$9\r\n127.0.0.1\r\n",
            "{name}"
        );
        assert!(ping_answers(new), "{name}: no answer after the failed bind");

        // No address at all: nobody new gets in; connected clients go on.
        assert_eq!(
            conn.call(&["CONFIG", "SET", "bind", ""]),
            "+OK\r\n",
            "{name}"
        );
        assert_eq!(
            conn.call(&["CONFIG", "GET", "bind"]),
            "*2\r\n$4\r\nbind\r\n$0\r\n\r\n",
            "{name}"
        );
        assert_eq!(listeners_on(new), 0, "{name}");
        assert!(!ping_answers(new), "{name}: answers with no bind address");
        assert_eq!(
            conn.call(&["CONFIG", "SET", "bind", "127.0.0.1"]),
            "+OK\r\n",
            "{name}"
        );
        assert_eq!(listeners_on(new), per_port, "{name}");
        assert!(ping_answers(new), "{name}: no answer after bind came back");

        // Port 0: no TCP listener; then a port again.
        assert_eq!(
            conn.call(&["CONFIG", "SET", "port", "0"]),
            "+OK\r\n",
            "{name}"
        );
        assert_eq!(listeners_on(new), 0, "{name}");
        assert!(!ping_answers(new), "{name}: answers at port 0");
        let last = free_port();
        assert_eq!(
            conn.call(&["CONFIG", "SET", "port", &last.to_string()]),
            "+OK\r\n",
            "{name}"
        );
        assert_eq!(listeners_on(last), per_port, "{name}");
        assert!(ping_answers(last), "{name}: no answer on the last port");
        assert_eq!(conn.call(&["PING"]), "+PONG\r\n", "{name}");
    });
}

#[test]
fn config_set_port_is_announced_to_the_cluster() {
    let server = Server::start(&["--cluster-enabled", "yes"]);
    let bus_port = server.port() + 10000;
    let mut conn = server.conn();
    let new = free_port();
    assert_eq!(
        conn.call(&["CONFIG", "SET", "port", &new.to_string()]),
        "+OK\r\n"
    );
    let nodes = conn.call(&["CLUSTER", "NODES"]);
    let myself = nodes
        .lines()
        .find(|line| line.contains("myself"))
        .unwrap_or_else(|| panic!("no myself line: {nodes}"));
    // The new client port; the bus stays on the port it listens on.
    assert!(myself.contains(&format!(":{new}@{bus_port} ")), "{myself}");
}
