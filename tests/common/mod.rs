//! Test harness shared by the integration tests.
//!
//! - [`Server`] starts the release `slotcore` binary on a free loopback port in its own temporary
//!   directory, waits until it answers `PING`, and kills it when dropped (printing its log if the
//!   test is failing).
//! - [`RedisServer`] starts a real `redis-server` with the same lifecycle, so a test can check
//!   that an expected reply is what Redis itself sends.
//! - [`RawConn`] speaks bytes over a plain socket and reads whole RESP frames, for byte-exact
//!   assertions; [`Frame`] decodes them when a test needs the structure.
//! - [`redis_cli`] and [`run_tool`] run the Redis command-line tools with a time limit.
//! - [`dataset`] reads a whole keyspace back and compares two of them key by key.

// Every test file includes this module and each uses a different part of it; without this the
// parts one file leaves unused would warn in that file's build.
#![allow(dead_code)]

pub mod cluster;
pub mod dataset;
pub mod every_type;

use std::collections::HashMap;
use std::fs;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// How long a server may take to answer its first `PING`.
pub const STARTUP_WAIT: Duration = Duration::from_secs(10);
/// How long a raw socket waits for bytes before a read gives up.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a command-line tool may run before it is killed.
pub const TOOL_TIMEOUT: Duration = Duration::from_secs(120);

pub const SLOTCORE: &str = env!("CARGO_BIN_EXE_slotcore");

// ---------------------------------------------------------------------------------------------
// Temporary directories and ports.

/// A directory under the system temp dir, removed when dropped.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(prefix: &str) -> TempDir {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = std::env::temp_dir().join(format!(
            "{prefix}-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir_all(&path).expect("create temp dir");
        TempDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `contents` to `name` inside the directory and returns the file's path.
    pub fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.path.join(name);
        fs::write(&path, contents).expect("write file in temp dir");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// A loopback port that was free a moment ago (the OS picked it; we closed it again).
pub fn free_port() -> u16 {
    // Never the same port twice in one test process: a node killed by one test and restarted
    // on its port must not find it handed to another test's server meanwhile.
    static GIVEN: std::sync::Mutex<std::collections::BTreeSet<u16>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    loop {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local addr").port();
        let mut given = GIVEN
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if given.insert(port) {
            return port;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Servers.

/// A running server process (slotcore or redis-server), killed when dropped.
pub struct Server {
    child: Child,
    port: u16,
    log_path: PathBuf,
    name: &'static str,
    // Dropped last, after the process is gone.
    dir: TempDir,
}

impl Server {
    /// Starts slotcore with `--port P --bind 127.0.0.1 --dir TMP --shards 2` followed by `args`.
    ///
    /// With `SLOTCORE_TEST_TARGET=redis` in the environment it starts redis-server instead
    /// (dropping `--shards`), to check the tests' own expectations against Redis.
    pub fn start(args: &[&str]) -> Server {
        if target_is_redis() {
            return RedisServer::start_with(&without_shards(args));
        }
        Server::launch_with_retries(SLOTCORE, "slotcore", args, slotcore_argv_in)
    }

    /// Launches `binary` on a fresh free port and temp dir with `base(port, dir)` followed by
    /// `args`. A port picked by `free_port` can be taken by a parallel test before the server
    /// binds it; a fresh port on a later try makes that race harmless.
    fn launch_with_retries(
        binary: &str,
        name: &'static str,
        args: &[&str],
        base: impl Fn(u16, &Path) -> Vec<String>,
    ) -> Server {
        let mut last_error = String::new();
        for _ in 0..3 {
            let dir = TempDir::new(&format!("{name}-test"));
            let port = free_port();
            let mut argv = base(port, dir.path());
            argv.extend(args.iter().map(|a| a.to_string()));
            match Server::launch(binary, name, dir, port, &argv) {
                Ok(server) => return server,
                Err(error) => last_error = error,
            }
        }
        panic!("{name} did not start with args {args:?}:\n{last_error}");
    }

    /// Spawns `binary` with exactly `argv` in `dir`, logging to `dir/server.log`, and waits until
    /// `port` answers `PING`. On failure the process is killed and its log returned.
    pub fn launch(
        binary: &str,
        name: &'static str,
        dir: TempDir,
        port: u16,
        argv: &[String],
    ) -> Result<Server, String> {
        let log_path = dir.path().join("server.log");
        let log = fs::File::create(&log_path).map_err(|e| format!("create log: {e}"))?;
        let log_err = log.try_clone().map_err(|e| format!("clone log: {e}"))?;
        let child = Command::new(binary)
            .args(argv)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .spawn()
            .map_err(|e| format!("spawn {binary}: {e}"))?;
        let mut server = Server {
            child,
            port,
            log_path,
            name,
            dir,
        };
        match server.wait_ready() {
            Ok(()) => Ok(server),
            Err(why) => Err(format!(
                "{name} {argv:?}: {why}\n--- log ---\n{}",
                server.log()
            )),
        }
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + STARTUP_WAIT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("exited before it was ready: {status}"));
            }
            if ping_answers(self.port) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "no PING answer on port {} within {STARTUP_WAIT:?}",
                    self.port
                ));
            }
            thread::sleep(Duration::from_millis(25));
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `slotcore` or `redis-server`, for assertion messages.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// A `redis` crate connection with read and write timeouts.
    pub fn client(&self) -> redis::Connection {
        connect_url(&self.url())
    }

    /// A plain socket with a read timeout of [`READ_TIMEOUT`].
    pub fn raw(&self) -> TcpStream {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect raw socket");
        stream
            .set_read_timeout(Some(READ_TIMEOUT))
            .expect("set read timeout");
        stream
            .set_write_timeout(Some(READ_TIMEOUT))
            .expect("set write timeout");
        stream.set_nodelay(true).expect("set nodelay");
        stream
    }

    /// A [`RawConn`] on a fresh socket.
    pub fn conn(&self) -> RawConn {
        RawConn::new(self.raw())
    }

    /// Everything the server wrote to stdout and stderr so far.
    /// The server process's id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log(&self) -> String {
        fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits up to `limit` for the process to exit by itself.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Asserts the process is alive and answers `PING` on a new connection.
    pub fn assert_alive(&mut self) {
        assert!(
            self.is_running(),
            "{} exited; log:\n{}",
            self.name,
            self.log()
        );
        let mut conn = self.conn();
        conn.send(b"PING\r\n");
        let reply = conn.read_frame().expect("PING reply on a new connection");
        assert_eq!(show(&reply), "+PONG\r\n");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            eprintln!(
                "--- {} log (port {}, {}) ---\n{}--- end of log ---",
                self.name,
                self.port,
                self.log_path.display(),
                self.log()
            );
        }
    }
}

/// The real redis-server, for comparisons.
pub struct RedisServer;

impl RedisServer {
    pub fn start() -> Server {
        RedisServer::start_with(&[])
    }

    /// Starts `redis-server --save "" --appendonly no --port P --bind 127.0.0.1 --dir TMP` plus
    /// `args`.
    pub fn start_with(args: &[&str]) -> Server {
        Server::launch_with_retries("redis-server", "redis-server", args, redis_argv_in)
    }
}

/// Runs `check` against redis-server started with `redis_args`, then against slotcore started
/// with `slotcore_args`. The redis-server run proves the expectation is Redis's own behaviour; a
/// failure names the server in its message.
pub fn on_both(redis_args: &[&str], slotcore_args: &[&str], check: impl Fn(&mut Server)) {
    let mut redis = RedisServer::start_with(redis_args);
    check(&mut redis);
    drop(redis);
    let mut slotcore = Server::start(slotcore_args);
    check(&mut slotcore);
}

/// CONFIG SET `name` `value`, which must succeed.
pub fn config_set(con: &mut redis::Connection, name: &str, value: &str) {
    let () = redis::cmd("CONFIG")
        .arg("SET")
        .arg(name)
        .arg(value)
        .query(con)
        .unwrap();
}

/// Whether a new connection to `port` gets a reply to `PING` (`+PONG`, or `-NOAUTH` when the
/// server wants a password first).
pub fn ping_answers(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 64];
    let mut got = Vec::new();
    while !got.ends_with(b"\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return false,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    got.starts_with(b"+PONG") || got.starts_with(b"-NOAUTH")
}

/// A `redis` crate connection to `url` with read and write timeouts.
pub fn connect_url(url: &str) -> redis::Connection {
    let client = redis::Client::open(url).expect("redis client");
    let con = client
        .get_connection_with_timeout(READ_TIMEOUT)
        .unwrap_or_else(|e| panic!("connect to {url}: {e}"));
    con.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("read timeout");
    con.set_write_timeout(Some(Duration::from_secs(30)))
        .expect("write timeout");
    con
}

// ---------------------------------------------------------------------------------------------
// Running the binary or a tool to completion.

/// Runs `program args` with a time limit; kills it and returns `None` for the status if it
/// overruns. Returns (status, stdout, stderr).
pub fn run_tool(
    program: &str,
    args: &[&str],
    limit: Duration,
) -> (Option<ExitStatus>, String, String) {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {program}: {e}"));
    let stdout = read_in_background(child.stdout.take().expect("stdout"));
    let stderr = read_in_background(child.stderr.take().expect("stderr"));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(20));
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    (status, stdout, stderr)
}

fn read_in_background(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// `redis-cli -h 127.0.0.1 -p PORT args...`, with a time limit.
pub fn redis_cli(port: u16, args: &[&str]) -> Output {
    let port = port.to_string();
    let mut argv = vec!["-h", "127.0.0.1", "-p", port.as_str()];
    argv.extend_from_slice(args);
    let (status, stdout, stderr) = run_tool("redis-cli", &argv, TOOL_TIMEOUT);
    let status = status.unwrap_or_else(|| panic!("redis-cli {args:?} did not finish"));
    Output {
        status,
        stdout: stdout.into_bytes(),
        stderr: stderr.into_bytes(),
    }
}

/// Runs the slotcore binary with `argv` to completion (it is expected to refuse to start).
/// Returns its status (`None` if it was still running after `limit` and had to be killed) and
/// its stdout and stderr together.
pub fn run_slotcore_expecting_exit(
    argv: &[String],
    limit: Duration,
) -> (Option<ExitStatus>, String) {
    let args: Vec<&str> = argv.iter().map(String::as_str).collect();
    let (status, stdout, stderr) = run_tool(SLOTCORE, &args, limit);
    (status, format!("{stdout}{stderr}"))
}

// ---------------------------------------------------------------------------------------------
// Raw RESP over a socket.

/// A socket plus a receive buffer, reading one complete RESP frame at a time.
pub struct RawConn {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl RawConn {
    pub fn new(stream: TcpStream) -> RawConn {
        RawConn {
            stream,
            buf: Vec::new(),
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send to server");
    }

    /// Sends `bytes`, ignoring errors (the server may already have closed the connection).
    pub fn send_lossy(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Sends a command as a RESP multibulk.
    pub fn send_cmd(&mut self, args: &[&[u8]]) {
        self.send(&encode_cmd(args));
    }

    /// Reads exactly one complete frame and returns its bytes. Fails on timeout or EOF.
    pub fn read_frame(&mut self) -> io::Result<Vec<u8>> {
        loop {
            if let Some(end) = frame_end(&self.buf, 0) {
                return Ok(self.buf.drain(..end).collect());
            }
            let mut chunk = [0u8; 65536];
            match self.stream.read(&mut chunk)? {
                0 => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("connection closed; partial bytes: {}", show(&self.buf)),
                    ))
                }
                n => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// Sends a command and returns the reply's bytes as text (escaped where not printable).
    pub fn call(&mut self, args: &[&str]) -> String {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.send_cmd(&args);
        show(&self.read_frame().expect("reply"))
    }

    /// Reads until the server closes the connection (or `limit` passes) and returns what came.
    /// The flag is true when the connection was closed (EOF or reset).
    pub fn read_until_closed(&mut self, limit: Duration) -> (Vec<u8>, bool) {
        let deadline = Instant::now() + limit;
        let mut out = std::mem::take(&mut self.buf);
        let _ = self
            .stream
            .set_read_timeout(Some(Duration::from_millis(100)));
        let closed = loop {
            let mut chunk = [0u8; 65536];
            match self.stream.read(&mut chunk) {
                Ok(0) => break true,
                Ok(n) => out.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    if Instant::now() > deadline {
                        break false;
                    }
                }
                Err(_) => break true,
            }
        };
        let _ = self.stream.set_read_timeout(Some(READ_TIMEOUT));
        (out, closed)
    }

    /// Reads whatever arrives within `wait` without expecting the connection to close.
    pub fn read_for(&mut self, wait: Duration) -> Vec<u8> {
        self.read_until_closed(wait).0
    }

    pub fn shutdown_write(&self) {
        let _ = self.stream.shutdown(Shutdown::Write);
    }
}

/// Encodes a command as a RESP multibulk.
pub fn encode_cmd(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Bytes as text, with bytes that are not printable ASCII shown as `\xNN` (CR and LF stay as
/// they are so frames read naturally in assertion messages).
pub fn show(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &b in bytes {
        match b {
            b'\r' => out.push('\r'),
            b'\n' => out.push('\n'),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out
}

fn line_end(buf: &[u8], from: usize) -> Option<usize> {
    buf.get(from..)?
        .windows(2)
        .position(|w| w == b"\r\n")
        .map(|i| from + i)
}

/// The end offset of the complete frame starting at `at`, or `None` if more bytes are needed.
pub fn frame_end(buf: &[u8], at: usize) -> Option<usize> {
    let kind = *buf.get(at)?;
    let eol = line_end(buf, at + 1)?;
    let header = std::str::from_utf8(&buf[at + 1..eol]).ok();
    let count = || header.and_then(|h| h.parse::<i64>().ok());
    match kind {
        b'+' | b'-' | b':' | b'_' | b'#' | b',' | b'(' => Some(eol + 2),
        b'$' | b'!' | b'=' => {
            let len = count()?;
            if len < 0 {
                return Some(eol + 2);
            }
            let end = eol + 2 + len as usize + 2;
            (buf.len() >= end).then_some(end)
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let n = count()?;
            if n < 0 {
                return Some(eol + 2);
            }
            let elements = if matches!(kind, b'%' | b'|') {
                2 * n
            } else {
                n
            };
            let mut pos = eol + 2;
            for _ in 0..elements {
                pos = frame_end(buf, pos)?;
            }
            // An attribute (`|`) precedes the value it describes.
            if kind == b'|' {
                return frame_end(buf, pos);
            }
            Some(pos)
        }
        other => panic!(
            "not a RESP frame type byte: {:?} in {}",
            other as char,
            show(buf)
        ),
    }
}

/// A decoded RESP2/RESP3 frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Vec<u8>),
    /// RESP2 `$-1` and `*-1`.
    Nil,
    /// RESP3 `_`.
    Null,
    Array(Vec<Frame>),
    Map(Vec<(Frame, Frame)>),
    Set(Vec<Frame>),
    Push(Vec<Frame>),
    Bool(bool),
    Double(String),
    BigNumber(String),
    Verbatim(Vec<u8>),
}

impl Frame {
    /// Decodes one complete frame (as returned by [`RawConn::read_frame`]).
    pub fn parse(bytes: &[u8]) -> Frame {
        let (frame, end) = parse_at(bytes, 0);
        assert_eq!(
            end,
            bytes.len(),
            "trailing bytes after frame: {}",
            show(bytes)
        );
        frame
    }

    /// The text of a simple or bulk string.
    pub fn text(&self) -> String {
        match self {
            Frame::Simple(s) | Frame::Error(s) => s.clone(),
            Frame::Bulk(b) | Frame::Verbatim(b) => String::from_utf8_lossy(b).into_owned(),
            Frame::Int(n) => n.to_string(),
            other => panic!("not a string frame: {other:?}"),
        }
    }

    /// A map's entries keyed by their text (RESP3 maps, or RESP2 flat key/value arrays).
    pub fn as_map(&self) -> HashMap<String, Frame> {
        match self {
            Frame::Map(pairs) => pairs.iter().map(|(k, v)| (k.text(), v.clone())).collect(),
            Frame::Array(items) if items.len() % 2 == 0 => items
                .chunks(2)
                .map(|kv| (kv[0].text(), kv[1].clone()))
                .collect(),
            other => panic!("not a map: {other:?}"),
        }
    }
}

fn parse_at(buf: &[u8], at: usize) -> (Frame, usize) {
    let kind = buf[at];
    let eol = line_end(buf, at + 1).expect("complete frame");
    let line = String::from_utf8_lossy(&buf[at + 1..eol]).into_owned();
    let next = eol + 2;
    let number = || {
        line.parse::<i64>()
            .unwrap_or_else(|_| panic!("bad length {line:?}"))
    };
    let bulk = |len: i64| {
        (
            buf[next..next + len as usize].to_vec(),
            next + len as usize + 2,
        )
    };
    let items = |n: i64| {
        let mut pos = next;
        let mut out = Vec::new();
        for _ in 0..n {
            let (frame, end) = parse_at(buf, pos);
            out.push(frame);
            pos = end;
        }
        (out, pos)
    };
    match kind {
        b'+' => (Frame::Simple(line), next),
        b'-' => (Frame::Error(line), next),
        b':' => (Frame::Int(number()), next),
        b'_' => (Frame::Null, next),
        b'#' => (Frame::Bool(line == "t"), next),
        b',' => (Frame::Double(line), next),
        b'(' => (Frame::BigNumber(line), next),
        b'$' | b'!' | b'=' if number() < 0 => (Frame::Nil, next),
        b'$' => {
            let (bytes, end) = bulk(number());
            (Frame::Bulk(bytes), end)
        }
        b'!' => {
            let (bytes, end) = bulk(number());
            (
                Frame::Error(String::from_utf8_lossy(&bytes).into_owned()),
                end,
            )
        }
        b'=' => {
            let (bytes, end) = bulk(number());
            (Frame::Verbatim(bytes), end)
        }
        b'*' | b'~' | b'>' if number() < 0 => (Frame::Nil, next),
        b'*' => {
            let (items, end) = items(number());
            (Frame::Array(items), end)
        }
        b'~' => {
            let (items, end) = items(number());
            (Frame::Set(items), end)
        }
        b'>' => {
            let (items, end) = items(number());
            (Frame::Push(items), end)
        }
        b'%' => {
            let (items, end) = items(2 * number());
            let mut pairs = Vec::new();
            let mut iter = items.into_iter();
            while let (Some(k), Some(v)) = (iter.next(), iter.next()) {
                pairs.push((k, v));
            }
            (Frame::Map(pairs), end)
        }
        other => panic!("unexpected frame type {:?}", other as char),
    }
}

// ---------------------------------------------------------------------------------------------
// Keys and slots.

/// CRC16-CCITT (XMODEM), the hash Redis Cluster uses for key slots.
pub fn crc16(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &b in bytes {
        crc ^= (b as u16) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// The cluster slot of `key`, honouring `{hash tags}`.
pub fn key_slot(key: &[u8]) -> u16 {
    let hashed = match key.iter().position(|&b| b == b'{') {
        Some(open) => match key[open + 1..].iter().position(|&b| b == b'}') {
            Some(0) | None => key,
            Some(len) => &key[open + 1..open + 1 + len],
        },
        None => key,
    };
    crc16(hashed) % 16384
}

/// One key per slot, `keys[slot]` hashing to `slot`, named `{prefix}:{n}`.
pub fn one_key_per_slot(prefix: &str) -> Vec<String> {
    let mut keys: Vec<Option<String>> = vec![None; 16384];
    let mut missing = 16384;
    let mut n = 0u64;
    while missing > 0 {
        let key = format!("{prefix}:{n}");
        let slot = key_slot(key.as_bytes()) as usize;
        if keys[slot].is_none() {
            keys[slot] = Some(key);
            missing -= 1;
        }
        n += 1;
    }
    keys.into_iter()
        .map(|k| k.expect("every slot filled"))
        .collect()
}

/// `count` keys named `{prefix}:{n}` whose slots are spread evenly over the slot space, so they
/// land on every shard whatever the slot-to-core map.
pub fn spread_keys(prefix: &str, count: usize) -> Vec<String> {
    let per_slot = one_key_per_slot(prefix);
    (0..count)
        .map(|i| per_slot[i * 16384 / count].clone())
        .collect()
}

/// Polls `check` every 20 ms until it returns true or `limit` passes; returns the last result.
pub fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if check() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn crc16_matches_redis_cluster_spec() {
    // The reference values from the Redis Cluster specification.
    assert_eq!(crc16(b"123456789"), 0x31C3);
    assert_eq!(key_slot(b"foo"), 12182);
    assert_eq!(key_slot(b"{user1000}.following"), key_slot(b"user1000"));
    assert_eq!(key_slot(b"foo{}{bar}"), crc16(b"foo{}{bar}") % 16384);
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| item.to_string()).collect()
}

// ---------------------------------------------------------------------------------------------
// Servers on a data directory the test keeps (persistence).

/// INFO `section` as field → value.
pub fn try_info(
    conn: &mut redis::Connection,
    section: &str,
) -> redis::RedisResult<HashMap<String, String>> {
    let text: String = redis::cmd("INFO").arg(section).query(conn)?;
    Ok(text
        .lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.to_string(), value.trim().to_string()))
        .collect())
}

/// INFO `section` as field → value; panics on an error.
pub fn info(conn: &mut redis::Connection, section: &str) -> HashMap<String, String> {
    try_info(conn, section).unwrap_or_else(|e| panic!("INFO {section}: {e}"))
}

/// One INFO field as a number.
pub fn info_number(conn: &mut redis::Connection, section: &str, field: &str) -> i64 {
    let info = info(conn, section);
    let value = info
        .get(field)
        .unwrap_or_else(|| panic!("INFO {section} has no {field}: {info:?}"));
    value
        .parse()
        .unwrap_or_else(|_| panic!("INFO {section} {field}:{value} is not a number"))
}

/// Waits up to `limit` until the replica on `replica_port`, whose link to the server on
/// `following_port` (any, when None) is up, has applied everything the server on `source_port` has in its
/// stream: its `slave_repl_offset` equals the source's `master_repl_offset`. The source is the
/// server it follows, or in a chain the top master (in Redis a sub-replica's offsets are its
/// top master's). Panics with both sides' INFO after `limit`.
pub fn wait_caught_up(
    source_port: u16,
    replica_port: u16,
    following_port: Option<u16>,
    limit: Duration,
    what: &str,
) {
    let connect = |port: u16| connect_url(&format!("redis://127.0.0.1:{port}/"));
    let (mut to_source, mut to_replica) = (connect(source_port), connect(replica_port));
    let mut seen = String::from("no INFO yet");
    let synced = eventually(limit, || {
        let (Ok(theirs), Ok(ours)) = (
            try_info(&mut to_replica, "replication"),
            try_info(&mut to_source, "replication"),
        ) else {
            return false;
        };
        let field = |info: &HashMap<String, String>, name: &str| {
            info.get(name).cloned().unwrap_or_else(|| "(none)".into())
        };
        let link = field(&theirs, "master_link_status");
        let following = field(&theirs, "master_port");
        let applied = field(&theirs, "slave_repl_offset");
        let sent = field(&ours, "master_repl_offset");
        seen = format!(
            "replica master_port:{following} master_link_status:{link} \
             slave_repl_offset:{applied}; source master_repl_offset:{sent} connected_slaves:{}",
            field(&ours, "connected_slaves")
        );
        following_port.is_none_or(|port| following == port.to_string())
            && link == "up"
            && sent != "(none)"
            && applied == sent
    });
    assert!(
        synced,
        "{what}: the replica (port {replica_port}, following port {following_port:?}) did not \
         catch up with the server on port {source_port} within {limit:?}: {seen}"
    );
}

/// Sends SHUTDOWN with `args` and waits up to `limit` for the process to exit with status 0.
pub fn shutdown(server: &mut Server, args: &[&str], limit: Duration) {
    let mut conn = server.client();
    // On success the server closes the connection without a reply.
    let reply: redis::RedisResult<redis::Value> = redis::cmd("SHUTDOWN").arg(args).query(&mut conn);
    let status = server.wait_exit(limit).unwrap_or_else(|| {
        panic!(
            "{} runs on after SHUTDOWN {args:?}: {reply:?}",
            server.name()
        )
    });
    assert!(
        status.success(),
        "{} after SHUTDOWN {args:?}: {status}",
        server.name()
    );
}

/// Whether `SLOTCORE_TEST_TARGET=redis` asks for redis-server in place of slotcore.
pub fn target_is_redis() -> bool {
    std::env::var("SLOTCORE_TEST_TARGET").as_deref() == Ok("redis")
}

impl Server {
    /// Starts slotcore like [`Server::start`], but with `--dir data_dir`: a directory the test
    /// owns and keeps after this server is gone, so a later server can start on the files this
    /// one wrote (`dump.rdb`). The log stays in the server's own temp dir, one per start. With
    /// `SLOTCORE_TEST_TARGET=redis` it starts redis-server instead, as [`Server::start`] does.
    pub fn start_in(data_dir: &Path, args: &[&str]) -> Server {
        if target_is_redis() {
            return RedisServer::start_in(data_dir, &without_shards(args));
        }
        Server::launch_with_retries(SLOTCORE, "slotcore", args, |port, _| {
            slotcore_argv_in(port, data_dir)
        })
    }
}

impl RedisServer {
    /// Starts redis-server like [`RedisServer::start_with`], but with `--dir data_dir`, a
    /// directory the test keeps (see [`Server::start_in`]).
    pub fn start_in(data_dir: &Path, args: &[&str]) -> Server {
        Server::launch_with_retries("redis-server", "redis-server", args, |port, _| {
            redis_argv_in(port, data_dir)
        })
    }
}

/// Runs the server [`Server::start_in`] would start (slotcore, or redis-server with
/// `SLOTCORE_TEST_TARGET=redis`) on `data_dir` with `args`, expecting it to refuse to start.
/// Returns its status (`None` if it still ran after `limit` and was killed) and its stdout and
/// stderr together. A port taken by someone else before the server bound it is retried on a
/// fresh one, as [`Server::start`] does.
pub fn run_in_expecting_exit(
    data_dir: &Path,
    args: &[&str],
    limit: Duration,
) -> (Option<ExitStatus>, String) {
    let mut tries = 0;
    loop {
        let port = free_port();
        let (binary, mut argv) = if target_is_redis() {
            ("redis-server", redis_argv_in(port, data_dir))
        } else {
            (SLOTCORE, slotcore_argv_in(port, data_dir))
        };
        argv.extend(without_shards_if_redis(args).iter().map(|a| a.to_string()));
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let (status, stdout, stderr) = run_tool(binary, &argv, limit);
        let output = format!("{stdout}{stderr}");
        tries += 1;
        if tries == 3 || !output.contains("Address already in use") {
            return (status, output);
        }
    }
}

fn slotcore_argv_in(port: u16, data_dir: &Path) -> Vec<String> {
    let mut argv = strings(&["--port", &port.to_string(), "--bind", "127.0.0.1"]);
    argv.extend(strings(&[
        "--dir",
        &data_dir.display().to_string(),
        "--shards",
        "2",
    ]));
    argv
}

fn redis_argv_in(port: u16, data_dir: &Path) -> Vec<String> {
    let mut argv = strings(&[
        "--save",
        "",
        "--appendonly",
        "no",
        "--port",
        &port.to_string(),
    ]);
    argv.extend(strings(&[
        "--bind",
        "127.0.0.1",
        "--dir",
        &data_dir.display().to_string(),
    ]));
    argv
}

/// `args` without `--shards N`, which redis-server does not know.
fn without_shards<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut kept = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if *arg == "--shards" {
            iter.next();
        } else {
            kept.push(*arg);
        }
    }
    kept
}

fn without_shards_if_redis<'a>(args: &[&'a str]) -> Vec<&'a str> {
    if target_is_redis() {
        without_shards(args)
    } else {
        args.to_vec()
    }
}
