//! Startup configuration: a Redis-syntax config file, flags that override it, and clear
//! failures for directives or values the server does not accept.

mod common;

use common::{
    eventually, free_port, on_both, run_slotcore_expecting_exit, run_tool, show, Server, TempDir,
    SLOTCORE,
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
    let dir = TempDir::new("slotcore-config");
    let port = free_port();
    let text = format!(
        "# A config file in Redis's syntax.\n\nport {port}\nbind 127.0.0.1\nshards 2\ndir \"{}\"\n{extra}",
        dir.path().display()
    );
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
