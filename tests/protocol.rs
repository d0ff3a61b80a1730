//! The wire protocol as a client sees it: malformed input, frames split across writes, inline
//! commands, error text and RESP3. Every expectation is first checked against a real
//! redis-server 7.0 with the same bytes, then against slotcore.

mod common;

use common::{encode_cmd, on_both, show, Frame, Server};
use std::thread;
use std::time::Duration;

/// Sends `input` on its own connection while another client keeps working, and asserts the
/// reply is exactly `expected`, the connection is then closed, the other client still gets
/// answers and the server still accepts new connections.
fn assert_rejected(server: &mut Server, input: &[u8], expected: &str) {
    let mut bystander = server.client();
    let _: () = redis::cmd("SET")
        .arg("bystander")
        .arg(1)
        .query(&mut bystander)
        .unwrap();

    let mut bad = server.conn();
    // The server may close the connection before it has read everything we send.
    let _ = bad.send_lossy(input);
    let (reply, closed) = bad.read_until_closed(Duration::from_secs(10));
    assert_eq!(
        show(&reply),
        expected,
        "{}: reply to {:?}",
        server.name(),
        show(&input[..input.len().min(64)])
    );
    assert!(
        closed,
        "{}: connection left open after a protocol error",
        server.name()
    );

    let n: i64 = redis::cmd("INCR")
        .arg("bystander")
        .query(&mut bystander)
        .unwrap();
    assert_eq!(n, 2, "{}: the other client's state", server.name());
    server.assert_alive();
}

/// Asserts the server neither replies to nor closes a connection that sent `input` (it is
/// waiting for the rest of a frame).
fn assert_waiting_for_more(server: &mut Server, input: &[u8]) {
    let mut conn = server.conn();
    conn.send(input);
    let (reply, closed) = conn.read_until_closed(Duration::from_millis(300));
    assert_eq!(
        show(&reply),
        "",
        "{}: reply to {:?}",
        server.name(),
        show(input)
    );
    assert!(
        !closed,
        "{}: connection closed after {:?}",
        server.name(),
        show(input)
    );
}

#[test]
fn invalid_multibulk_length_closes_the_connection() {
    on_both(&[], &[], |server| {
        assert_rejected(
            server,
            b"*abc\r\n",
            "-ERR Protocol error: invalid multibulk length\r\n",
        );
    });
}

#[test]
fn invalid_bulk_length_closes_the_connection() {
    on_both(&[], &[], |server| {
        assert_rejected(
            server,
            b"*1\r\n$abc\r\n",
            "-ERR Protocol error: invalid bulk length\r\n",
        );
        assert_rejected(
            server,
            b"*1\r\n$-1\r\n",
            "-ERR Protocol error: invalid bulk length\r\n",
        );
    });
}

#[test]
fn missing_dollar_closes_the_connection() {
    on_both(&[], &[], |server| {
        assert_rejected(
            server,
            b"*1\r\nfoo\r\n",
            "-ERR Protocol error: expected '$', got 'f'\r\n",
        );
    });
}

#[test]
fn error_after_good_commands_in_the_same_write() {
    // The commands before the bad frame are answered, then the error, then the close.
    on_both(&[], &[], |server| {
        assert_rejected(
            server,
            b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\nPING\r\n*1\r\n$x\r\n",
            "+OK\r\n+PONG\r\n-ERR Protocol error: invalid bulk length\r\n",
        );
    });
}

#[test]
fn bulk_longer_than_proto_max_bulk_len_is_rejected() {
    // Redis 7.0 refuses a limit below 1 MiB (see config.rs), so this is the smallest one.
    let limit = ["--proto-max-bulk-len", "1048576"];
    on_both(&limit, &limit, |server| {
        assert_rejected(
            server,
            b"*1\r\n$1048577\r\n",
            "-ERR Protocol error: invalid bulk length\r\n",
        );
        assert_waiting_for_more(server, b"*1\r\n$1048576\r\n");
        // A bulk of exactly the limit is accepted whole.
        let mut conn = server.conn();
        let value = vec![b'v'; 1048576];
        conn.send_cmd(&[b"ECHO", &value]);
        let reply = conn.read_frame().unwrap();
        assert!(
            reply == [b"$1048576\r\n".as_slice(), &value, b"\r\n"].concat(),
            "{}: ECHO of 1 MiB came back as {} bytes",
            server.name(),
            reply.len()
        );
    });
}

#[test]
fn inline_request_over_64k_without_newline_is_rejected() {
    on_both(&[], &[], |server| {
        assert_rejected(
            server,
            &vec![b'x'; 70_000],
            "-ERR Protocol error: too big inline request\r\n",
        );
    });
}

#[test]
fn unbalanced_quotes_inline_are_rejected() {
    on_both(&[], &[], |server| {
        assert_rejected(
            server,
            b"SET \"a b\r\n",
            "-ERR Protocol error: unbalanced quotes in request\r\n",
        );
    });
}

#[test]
fn multibulk_count_over_int_max_is_rejected() {
    on_both(&[], &[], |server| {
        assert_rejected(
            server,
            b"*2147483648\r\n",
            "-ERR Protocol error: invalid multibulk length\r\n",
        );
    });
}

#[test]
fn multibulk_count_over_one_million_is_accepted() {
    // Redis 7.0 accepts any count up to INT_MAX (7.0 dropped the old 1024*1024 cap), so a command
    // with 1048577 arguments is parsed and reaches the command table.
    on_both(&[], &[], |server| {
        let count = 1_048_577;
        let mut input = format!("*{count}\r\n$4\r\nECHO\r\n").into_bytes();
        for _ in 1..count {
            input.extend_from_slice(b"$1\r\na\r\n");
        }
        let mut conn = server.conn();
        conn.send(&input);
        let reply = conn.read_frame().unwrap();
        assert_eq!(
            show(&reply),
            "-ERR wrong number of arguments for 'echo' command\r\n",
            "{}",
            server.name()
        );
        assert_eq!(conn.call(&["PING"]), "+PONG\r\n");
    });
}

#[test]
fn empty_and_negative_multibulks_and_blank_lines_are_ignored() {
    on_both(&[], &[], |server| {
        let mut conn = server.conn();
        conn.send(b"*0\r\n*-1\r\n\r\n\n*1\r\n$4\r\nPING\r\n");
        assert_eq!(
            show(&conn.read_frame().unwrap()),
            "+PONG\r\n",
            "{}",
            server.name()
        );
        // Nothing else: the empty frames got no reply of their own.
        conn.send(b"ECHO end\r\n");
        assert_eq!(
            show(&conn.read_frame().unwrap()),
            "$3\r\nend\r\n",
            "{}",
            server.name()
        );
    });
}

/// A small xorshift generator, so the garbage is the same on every run.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

#[test]
fn random_garbage_does_not_hurt_other_clients() {
    let mut server = Server::start(&[]);
    let mut bystander = server.client();
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let prefixes: [&[u8]; 4] = [
        b"",
        b"*",
        b"*3\r\n$3\r\nSET\r\n$",
        b"*2\r\n$4\r\nECHO\r\n$5\r\n",
    ];
    for round in 0..16 {
        let mut conn = server.conn();
        let mut input = prefixes[round % prefixes.len()].to_vec();
        input.extend(rng.bytes(16 * 1024));
        for chunk in input.chunks(1024) {
            if conn.send_lossy(chunk).is_err() {
                break;
            }
        }
        // Whatever the server answers (errors, or nothing while it waits for more), it must
        // keep serving everyone else.
        let _ = conn.read_until_closed(Duration::from_millis(200));
        let n: i64 = redis::cmd("INCR")
            .arg("bystander")
            .query(&mut bystander)
            .unwrap();
        assert_eq!(n, round as i64 + 1);
    }
    server.assert_alive();
}

#[test]
fn client_over_query_buffer_limit_is_disconnected() {
    let limit = ["--client-query-buffer-limit", "1048576"];
    on_both(&limit, &limit, |server| {
        let mut bystander = server.client();
        let mut conn = server.conn();
        let _ = conn.send_lossy(b"*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$3000000\r\n");
        let chunk = vec![b'a'; 64 * 1024];
        for _ in 0..32 {
            if conn.send_lossy(&chunk).is_err() {
                break;
            }
        }
        let (reply, closed) = conn.read_until_closed(Duration::from_secs(10));
        assert!(
            closed,
            "{}: a client 2 MB over the limit stayed connected",
            server.name()
        );
        // Redis closes without a reply; an error line before the close would do no harm.
        assert!(
            reply.is_empty() || reply.starts_with(b"-"),
            "{}: {}",
            server.name(),
            show(&reply)
        );
        let exists: i64 = redis::cmd("EXISTS")
            .arg("big")
            .query(&mut bystander)
            .unwrap();
        assert_eq!(exists, 0, "{}", server.name());
        server.assert_alive();
    });
}

/// Commands whose frames will be cut at awkward places, and the replies they must produce.
const SCRIPT: &[u8] = b"*3\r\n$3\r\nSET\r\n$5\r\nsplit\r\n$5\r\nvalue\r\n\
*2\r\n$3\r\nGET\r\n$5\r\nsplit\r\n\
PING\r\n\
*2\r\n$4\r\nECHO\r\n$10\r\n0123456789\r\n\
*2\r\n$6\r\nINCRBY\r\n$7\r\ncounter\r\n\
$2\r\n42\r\n";
const SCRIPT_REPLIES: &str = "+OK\r\n$5\r\nvalue\r\n+PONG\r\n$10\r\n0123456789\r\n";

#[test]
fn frames_split_across_many_writes_still_work() {
    on_both(&[], &[], |server| {
        for chunk_len in [1, 2, 3, 7, 13] {
            let mut conn = server.conn();
            for chunk in SCRIPT.chunks(chunk_len) {
                conn.send(chunk);
                thread::sleep(Duration::from_millis(1));
            }
            // `INCRBY counter` was sent with only its key: it is wrong arity, which proves the
            // frame boundary was kept even though `$2\r\n42` followed in the same stream.
            let mut replies = Vec::new();
            for _ in 0..4 {
                replies.extend(conn.read_frame().unwrap());
            }
            assert_eq!(
                show(&replies),
                SCRIPT_REPLIES,
                "{} chunk {chunk_len}",
                server.name()
            );
            let rest = conn.read_frame().unwrap();
            assert_eq!(
                show(&rest),
                "-ERR wrong number of arguments for 'incrby' command\r\n"
            );
            // `$2\r\n42\r\n` is then read as two inline commands.
            let unknown = conn.read_frame().unwrap();
            assert_eq!(
                show(&unknown),
                "-ERR unknown command '$2', with args beginning with: \r\n"
            );
            let unknown = conn.read_frame().unwrap();
            assert_eq!(
                show(&unknown),
                "-ERR unknown command '42', with args beginning with: \r\n"
            );
        }
    });
}

#[test]
fn large_value_split_with_pauses_is_stored_whole() {
    on_both(&[], &[], |server| {
        let value: Vec<u8> = (0..200_000u32).map(|i| b'a' + (i % 26) as u8).collect();
        let frame = encode_cmd(&[b"SET", b"big", &value]);
        let mut conn = server.conn();
        for chunk in frame.chunks(4099) {
            conn.send(chunk);
            thread::sleep(Duration::from_millis(2));
        }
        assert_eq!(show(&conn.read_frame().unwrap()), "+OK\r\n");
        conn.send_cmd(&[b"GET", b"big"]);
        let reply = conn.read_frame().unwrap();
        assert_eq!(reply, [b"$200000\r\n".as_slice(), &value, b"\r\n"].concat());
    });
}

#[test]
fn pipelined_writes_get_replies_in_order() {
    on_both(&[], &[], |server| {
        let mut input = Vec::new();
        let mut expected = String::new();
        for i in 0..500 {
            let key = format!("pipe:{i}");
            input.extend(encode_cmd(&[
                b"SET",
                key.as_bytes(),
                i.to_string().as_bytes(),
            ]));
            input.extend(encode_cmd(&[b"GET", key.as_bytes()]));
            expected.push_str(&format!("+OK\r\n${}\r\n{i}\r\n", i.to_string().len()));
        }
        let mut conn = server.conn();
        conn.send(&input);
        let mut replies = Vec::new();
        for _ in 0..1000 {
            replies.extend(conn.read_frame().unwrap());
        }
        assert_eq!(show(&replies), expected, "{}", server.name());
    });
}

#[test]
fn inline_commands() {
    on_both(&[], &[], |server| {
        let mut conn = server.conn();
        conn.send(b"PING\r\n");
        assert_eq!(show(&conn.read_frame().unwrap()), "+PONG\r\n");
        conn.send(b"PING\n");
        assert_eq!(show(&conn.read_frame().unwrap()), "+PONG\r\n");
        conn.send(b"SET greeting \"hello world\"\r\nGET greeting\r\n");
        assert_eq!(show(&conn.read_frame().unwrap()), "+OK\r\n");
        assert_eq!(show(&conn.read_frame().unwrap()), "$11\r\nhello world\r\n");
        conn.send(b"  ECHO   'single quoted'  \r\n");
        assert_eq!(
            show(&conn.read_frame().unwrap()),
            "$13\r\nsingle quoted\r\n"
        );
        conn.send(b"ECHO \"esc\\x41\\n\"\r\n");
        assert_eq!(show(&conn.read_frame().unwrap()), "$5\r\nescA\n\r\n");
    });
}

#[test]
fn inline_ping_on_a_raw_socket() {
    let server = Server::start(&[]);
    let mut conn = server.conn();
    conn.send(b"PING\r\n");
    assert_eq!(show(&conn.read_frame().unwrap()), "+PONG\r\n");
}

// ---------------------------------------------------------------------------------------------
// Error text, byte for byte.

fn assert_replies(server: &Server, input: &[u8], expected: &[&str]) {
    let mut conn = server.conn();
    conn.send(input);
    for want in expected {
        let got = conn.read_frame().unwrap();
        assert_eq!(
            show(&got),
            *want,
            "{}: reply to {:?}",
            server.name(),
            show(input)
        );
    }
}

#[test]
fn unknown_command_error_text() {
    on_both(&[], &[], |server| {
        assert_replies(
            server,
            &encode_cmd(&[b"FOO", b"bar"]),
            &["-ERR unknown command 'FOO', with args beginning with: 'bar' \r\n"],
        );
        assert_replies(
            server,
            b"foo a b\r\n",
            &["-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n"],
        );
        assert_replies(
            server,
            b"NOSUCHCOMMAND\r\n",
            &["-ERR unknown command 'NOSUCHCOMMAND', with args beginning with: \r\n"],
        );
    });
}

#[test]
fn wrong_arity_error_text() {
    on_both(&[], &[], |server| {
        let get_arity = "-ERR wrong number of arguments for 'get' command\r\n";
        assert_replies(server, &encode_cmd(&[b"GET"]), &[get_arity]);
        assert_replies(server, &encode_cmd(&[b"GET", b"a", b"b"]), &[get_arity]);
        assert_replies(server, &encode_cmd(&[b"gEt"]), &[get_arity]);
        assert_replies(
            server,
            b"SET onlykey\r\n",
            &["-ERR wrong number of arguments for 'set' command\r\n"],
        );
    });
}

#[test]
fn incr_on_non_integer_error_text() {
    on_both(&[], &[], |server| {
        assert_replies(
            server,
            b"SET n abc\r\nINCR n\r\nSET m 9223372036854775807\r\nINCR m\r\nGET m\r\n",
            &[
                "+OK\r\n",
                "-ERR value is not an integer or out of range\r\n",
                "+OK\r\n",
                "-ERR increment or decrement would overflow\r\n",
                "$19\r\n9223372036854775807\r\n",
            ],
        );
    });
}

#[test]
fn set_syntax_error_text() {
    on_both(&[], &[], |server| {
        assert_replies(
            server,
            b"SET a b XX NX\r\nEXISTS a\r\n",
            &["-ERR syntax error\r\n", ":0\r\n"],
        );
    });
}

// ---------------------------------------------------------------------------------------------
// RESP3.

#[test]
fn hello_3_returns_the_server_map_and_switches_to_resp3() {
    on_both(&[], &[], |server| {
        let mut conn = server.conn();
        conn.send(b"HELLO 3\r\n");
        let raw = conn.read_frame().unwrap();
        assert_eq!(
            raw[0],
            b'%',
            "{}: HELLO 3 reply is not a map: {}",
            server.name(),
            show(&raw)
        );
        let map = Frame::parse(&raw).as_map();
        for field in [
            "server", "version", "proto", "id", "mode", "role", "modules",
        ] {
            assert!(
                map.contains_key(field),
                "{}: HELLO 3 has no {field}: {}",
                server.name(),
                show(&raw)
            );
        }
        assert_eq!(map["proto"], Frame::Int(3));
        assert!(
            matches!(map["id"], Frame::Int(id) if id > 0),
            "{}",
            show(&raw)
        );
        assert!(map["version"].text().starts_with("7.0"), "{}", show(&raw));
        assert_eq!(map["role"].text(), "master");
        assert!(
            ["standalone", "cluster"].contains(&map["mode"].text().as_str()),
            "{}",
            show(&raw)
        );
        assert!(matches!(map["modules"], Frame::Array(_)), "{}", show(&raw));

        // A nil reply is now RESP3's null.
        conn.send(b"GET nosuchkey\r\n");
        assert_eq!(
            show(&conn.read_frame().unwrap()),
            "_\r\n",
            "{}",
            server.name()
        );
        conn.send(b"MGET nosuchkey\r\n");
        assert_eq!(
            show(&conn.read_frame().unwrap()),
            "*1\r\n_\r\n",
            "{}",
            server.name()
        );

        // And back to RESP2.
        conn.send(b"HELLO 2\r\n");
        let raw = conn.read_frame().unwrap();
        assert_eq!(
            raw[0],
            b'*',
            "{}: HELLO 2 reply: {}",
            server.name(),
            show(&raw)
        );
        assert_eq!(Frame::parse(&raw).as_map()["proto"], Frame::Int(2));
        conn.send(b"GET nosuchkey\r\n");
        assert_eq!(
            show(&conn.read_frame().unwrap()),
            "$-1\r\n",
            "{}",
            server.name()
        );
    });
}

#[test]
fn hello_with_unsupported_protocol() {
    on_both(&[], &[], |server| {
        assert_replies(
            server,
            b"HELLO 4\r\nPING\r\n",
            &["-NOPROTO unsupported protocol version\r\n", "+PONG\r\n"],
        );
    });
}

#[test]
fn a_pipeline_longer_than_one_round_is_answered_in_full() {
    // More requests in one write than the server decodes per round
    // (PIPELINE_DEPTH_MAX): all of them must be answered, in order, without
    // the client sending anything more.
    const COUNT: usize = 5000;
    let server = Server::start(&[]);
    let mut conn = server.conn();
    let mut payload = Vec::new();
    for i in 0..COUNT {
        let value = i.to_string();
        payload.extend_from_slice(
            format!("*2\r\n$4\r\nECHO\r\n${}\r\n{}\r\n", value.len(), value).as_bytes(),
        );
    }
    conn.send(&payload);
    for i in 0..COUNT {
        let value = i.to_string();
        let reply = conn.read_frame().expect("a reply");
        assert_eq!(
            String::from_utf8_lossy(&reply),
            format!("${}\r\n{}\r\n", value.len(), value),
            "reply {i}"
        );
    }
}
