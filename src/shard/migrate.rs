//! MIGRATE: moves keys to another node with DUMP payloads and
//! RESTORE-ASKING (RESTORE outside cluster mode), as Redis's
//! migrateCommand. The keys are locked for the whole exchange, so no other
//! client sees a key on both nodes or writes to one that is leaving.

use super::conn::Conn;
use super::locks::Mode;
use crate::command::errors::{NOT_INTEGER, SYNTAX};
use crate::command::{keys, parse_int, Db};
use crate::keyspace::rdb;
use crate::protocol::Reply;
use crate::protocol::{to_owned_args, Arg};
use bytes::Bytes;
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use glommio::net::TcpStream;
use std::time::Duration;

/// A reply line from the target longer than this is refused.
const TARGET_LINE_BYTES_MAX: usize = 64 * 1024;

struct MigrateArgs {
    host: String,
    port: u16,
    db: i64,
    timeout: Duration,
    copy: bool,
    replace: bool,
    auth: Option<(Option<Bytes>, Bytes)>,
    keys: Vec<Bytes>,
}

fn parse(argv: &[Arg<'_>]) -> Result<MigrateArgs, Reply> {
    let mut args = MigrateArgs {
        host: String::from_utf8_lossy(&argv[1]).into_owned(),
        port: 0,
        db: 0,
        timeout: Duration::from_millis(1000),
        copy: false,
        replace: false,
        auth: None,
        keys: Vec::new(),
    };
    let mut index = 6;
    let mut first_key = 3;
    let mut key_count = 1;
    while index < argv.len() {
        let option = String::from_utf8_lossy(&argv[index]).to_ascii_lowercase();
        let more = argv.len() - index - 1;
        match option.as_str() {
            "copy" => args.copy = true,
            "replace" => args.replace = true,
            "auth" if more >= 1 => {
                args.auth = Some((None, argv[index + 1].to_bytes()));
                index += 1;
            }
            "auth2" if more >= 2 => {
                args.auth = Some((Some(argv[index + 1].to_bytes()), argv[index + 2].to_bytes()));
                index += 2;
            }
            "keys" => {
                if !argv[3].is_empty() {
                    return Err(Reply::error(
                        "ERR When using MIGRATE KEYS option, the key argument must be set to the empty string",
                    ));
                }
                first_key = index + 1;
                key_count = argv.len() - index - 1;
                break;
            }
            _ => return Err(Reply::error(SYNTAX)),
        }
        index += 1;
    }
    let timeout = parse_int(&argv[5]).ok_or(Reply::error(NOT_INTEGER))?;
    args.db = parse_int(&argv[4]).ok_or(Reply::error(NOT_INTEGER))?;
    let timeout = if timeout <= 0 { 1000 } else { timeout };
    args.timeout = Duration::from_millis(timeout as u64);
    args.port = parse_int(&argv[2])
        .and_then(|p| u16::try_from(p).ok())
        .ok_or(Reply::error(NOT_INTEGER))?;
    args.keys = to_owned_args(&argv[first_key..first_key + key_count]);
    Ok(args)
}

/// On the key's core: [payload, ttl ms (0: none)] or nil when missing.
fn dump_for_migrate(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let now = db.now_ms;
    let slot = db.slot(&argv[1]);
    match db.keyspace.peek(slot, &argv[1], now) {
        Some(entry) => {
            let ttl = if entry.expire_at_ms() == 0 {
                0
            } else {
                entry.expire_at_ms().saturating_sub(now).max(1)
            };
            Reply::Array(vec![
                Reply::Bulk(Bytes::from(rdb::dump(&entry.value))),
                Reply::Int(ttl as i64),
            ])
        }
        None => Reply::Nil,
    }
}

fn push_command(out: &mut Vec<u8>, parts: &[&[u8]]) {
    out.extend_from_slice(format!("*{}\r\n", parts.len()).as_bytes());
    for part in parts {
        out.extend_from_slice(format!("${}\r\n", part.len()).as_bytes());
        out.extend_from_slice(part);
        out.extend_from_slice(b"\r\n");
    }
}

/// Reads one single-line reply (`+...` or `-...`) from the target.
async fn read_line(stream: &mut TcpStream, pending: &mut Vec<u8>) -> Option<String> {
    loop {
        if let Some(end) = pending.windows(2).position(|w| w == b"\r\n") {
            let line = String::from_utf8_lossy(&pending[..end]).into_owned();
            pending.drain(..end + 2);
            return Some(line);
        }
        if pending.len() > TARGET_LINE_BYTES_MAX {
            return None;
        }
        let mut chunk = [0u8; 4096];
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(read) => pending.extend_from_slice(&chunk[..read]),
        }
    }
}

fn target_error(line: &str) -> Reply {
    Reply::error(format!(
        "ERR Target instance replied with error: {}",
        line.strip_prefix('-').unwrap_or(line)
    ))
}

impl Conn {
    pub async fn migrate(&mut self, argv: &[Arg<'_>]) -> Reply {
        let args = match parse(argv) {
            Ok(args) => args,
            Err(reply) => return reply,
        };
        let locks: Vec<(&Bytes, Mode)> = args.keys.iter().map(|k| (k, Mode::Exclusive)).collect();
        let (transaction, cores) = self.lock_keys(&locks).await;
        let reply = self.migrate_locked(transaction, &args).await;
        self.unlock(transaction, &cores).await;
        reply
    }

    async fn migrate_locked(&self, transaction: u64, args: &MigrateArgs) -> Reply {
        let mut found = Vec::new();
        for key in &args.keys {
            let argv = vec![Bytes::new(), key.clone()];
            if let Reply::Array(parts) = self.locked(transaction, dump_for_migrate, argv, key).await
            {
                if let [Reply::Bulk(payload), Reply::Int(ttl)] = parts.as_slice() {
                    found.push((key.clone(), payload.clone(), *ttl));
                }
            }
        }
        if found.is_empty() {
            return Reply::Simple("NOKEY".into());
        }
        let address = format!("{}:{}", args.host, args.port);
        let connected = TcpStream::connect_timeout(address.as_str(), args.timeout).await;
        let Ok(mut stream) = connected else {
            return Reply::error("IOERR error or timeout connecting to the client");
        };
        let _ = stream.set_read_timeout(Some(args.timeout));
        let _ = stream.set_write_timeout(Some(args.timeout));
        let mut out = Vec::new();
        let mut expected_setup = 0;
        if let Some((user, password)) = &args.auth {
            match user {
                Some(user) => push_command(&mut out, &[b"AUTH", user, password]),
                None => push_command(&mut out, &[b"AUTH", password]),
            }
            expected_setup += 1;
        }
        push_command(&mut out, &[b"SELECT", args.db.to_string().as_bytes()]);
        expected_setup += 1;
        let restore: &[u8] = if self.core.cluster_enabled {
            b"RESTORE-ASKING"
        } else {
            b"RESTORE"
        };
        for (key, payload, ttl) in &found {
            let ttl = ttl.to_string();
            let mut parts: Vec<&[u8]> = vec![restore, key, ttl.as_bytes(), payload];
            if args.replace {
                parts.push(b"REPLACE");
            }
            push_command(&mut out, &parts);
        }
        if stream.write_all(&out).await.is_err() {
            return Reply::error("IOERR error or timeout writing to target instance");
        }
        let mut pending = Vec::new();
        for _ in 0..expected_setup {
            match read_line(&mut stream, &mut pending).await {
                Some(line) if line.starts_with('-') => return target_error(&line),
                Some(_) => {}
                None => return Reply::error("IOERR error or timeout reading to target instance"),
            }
        }
        let mut first_error = None;
        for (key, _, _) in &found {
            match read_line(&mut stream, &mut pending).await {
                Some(line) if line.starts_with('-') => {
                    first_error.get_or_insert_with(|| target_error(&line));
                }
                Some(_) if !args.copy => {
                    let argv = vec![Bytes::new(), key.clone()];
                    self.locked(transaction, keys::del_local, argv, key).await;
                }
                Some(_) => {}
                None => return Reply::error("IOERR error or timeout reading to target instance"),
            }
        }
        first_error.unwrap_or_else(Reply::ok)
    }
}
