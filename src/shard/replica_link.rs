//! Replication, replica side: the link to this node's master, run as one
//! task on core 0 (see `crate::replication::link` for what the cores
//! share, and docs/ARCHITECTURE.md "Replication: the replica side").
//!
//! The task follows the target (`REPLICAOF`, `replicaof` in the config
//! file, or the cluster view's master) and, for each, loops: connect, the
//! handshake Redis 7.0's replica sends (PING, AUTH with `masterauth`,
//! REPLCONF listening-port and capa, PSYNC with the master's id and offset
//! when it has them), then either a full sync (the snapshot, `$<len>` or
//! streamed `$EOF:<mark>`, written to a temp file, renamed to `dbfilename`
//! and loaded on every core in place of the dataset) or a partial one;
//! then the socket becomes core 0's master client (`conn::serve_master`),
//! which applies the stream as any client's commands, answers nothing but
//! REPLCONF GETACK, and acknowledges its offset every second. When the
//! link breaks it starts again, a second later, with PSYNC.

use super::Core;
use crate::replication::link::LinkStatus;
use crate::{notice, warning};
use bytes::{Buf, BytesMut};
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use glommio::net::TcpStream;
use std::io::Write;
use std::rc::Rc;
use std::time::Duration;

/// Pause before a link that failed tries again (Redis's replicationCron
/// runs once a second).
const RETRY: Duration = Duration::from_secs(1);

/// Core 0's task: follows the target for as long as the server runs.
pub(super) async fn link_loop(core: Rc<Core>) {
    let side = &core.shared.replica;
    loop {
        let (target, generation) = side.target();
        let Some((host, port)) = target else {
            side.changed(Duration::from_secs(3600)).await;
            continue;
        };
        notice!("Connecting to MASTER {host}:{port}");
        match link_once(&core, &host, port, generation).await {
            Ok(()) => {}
            Err(error) => {
                if side.is_current(generation) {
                    warning!("Replication link to MASTER {host}:{port}: {error}");
                }
            }
        }
        side.set_status(generation, LinkStatus::Connect);
        if side.is_current(generation) {
            side.changed(RETRY).await;
        }
    }
}

type LinkResult = Result<(), String>;

/// One connection to the master: handshake, sync, then the stream until
/// the link breaks or the target changes.
async fn link_once(core: &Rc<Core>, host: &str, port: u16, generation: u64) -> LinkResult {
    let side = &core.shared.replica;
    let config = core.db.borrow().config.clone();
    let timeout = Duration::from_secs(
        crate::config::inert::get(&config, "repl-timeout", "60")
            .parse()
            .unwrap_or(60),
    );
    side.set_status(generation, LinkStatus::Connecting);
    let backlog_size = super::replicate::backlog_size(&config);
    let stream = TcpStream::connect_timeout(format!("{host}:{port}"), timeout)
        .await
        .map_err(|error| format!("Error condition on socket for SYNC: {error}"))?;
    let _ = stream.set_nodelay(true);
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|error| error.to_string())?;
    notice!("MASTER <-> REPLICA sync started");
    let mut link = Link {
        stream,
        buf: BytesMut::with_capacity(64 * 1024),
    };
    // PING first: a master that needs AUTH answers NOAUTH, which is fine.
    let pong = link.call(&["PING"]).await?;
    if pong.starts_with('-')
        && !pong.starts_with("-NOAUTH")
        && !pong.starts_with("-NOPERM")
        && !pong.starts_with("-ERR operation not permitted")
    {
        return Err(format!("Error reply to PING from master: '{pong}'"));
    }
    notice!("Master replied to PING, replication can continue...");
    let auth = crate::config::inert::get(&config, "masterauth", "");
    if !auth.is_empty() {
        let user = crate::config::inert::get(&config, "masteruser", "");
        let reply = if user.is_empty() {
            link.call(&["AUTH", &auth]).await?
        } else {
            link.call(&["AUTH", &user, &auth]).await?
        };
        if reply.starts_with('-') {
            return Err(format!("Unable to AUTH to MASTER: {reply}"));
        }
    }
    let listening = config.port.to_string();
    let reply = link
        .call(&["REPLCONF", "listening-port", &listening])
        .await?;
    if reply.starts_with('-') {
        notice!("(Non critical) Master does not understand REPLCONF listening-port: {reply}");
    }
    let announce_ip = crate::config::inert::get(&config, "replica-announce-ip", "");
    if !announce_ip.is_empty() {
        let reply = link.call(&["REPLCONF", "ip-address", &announce_ip]).await?;
        if reply.starts_with('-') {
            notice!("(Non critical) Master does not understand REPLCONF ip-address: {reply}");
        }
    }
    let reply = link
        .call(&["REPLCONF", "capa", "eof", "capa", "psync2"])
        .await?;
    if reply.starts_with('-') {
        notice!("(Non critical) Master does not understand REPLCONF capa: {reply}");
    }
    // PSYNC with the stream this node has: its old master's, or (a master
    // turned replica, Redis's replicationCacheMasterUsingMyself) its own,
    // once every core's last writes are in it; or ? -1 for a full sync.
    let replication = &core.shared.replication;
    if replication.is_on() {
        replication.stop_recording();
        core.on_all(|| super::mesh::Op::Core(super::replicate::flush_feed_core, Vec::new()))
            .await;
    }
    let (replid, offset, continuable) = replication.state().await;
    let psync = if continuable {
        notice!(
            "Trying a partial resynchronization (request {replid}:{}).",
            offset + 1
        );
        [replid.clone(), (offset + 1).to_string()]
    } else {
        notice!("Partial resynchronization not possible (no cached master)");
        ["?".to_string(), "-1".to_string()]
    };
    link.send(&["PSYNC", &psync[0], &psync[1]]).await?;
    let reply = link.line_skipping_newlines().await?;
    if !side.is_current(generation) {
        return Ok(());
    }
    let mut words = reply.split_whitespace();
    match words.next() {
        Some("+FULLRESYNC") => {
            let (Some(id), Some(offset)) = (words.next(), words.next()) else {
                return Err(format!("Bad FULLRESYNC reply from master: '{reply}'"));
            };
            let offset: i64 = offset
                .parse()
                .map_err(|_| format!("Bad FULLRESYNC offset from master: '{reply}'"))?;
            notice!("Full resync from master: {id}:{offset}");
            side.set_status(generation, LinkStatus::Sync);
            full_sync(core, &mut link, generation).await?;
            if !side.is_current(generation) {
                return Ok(());
            }
            replication.follow(generation, id, offset.max(0) as u64, true, backlog_size);
            side.synced(id, offset);
        }
        Some("+CONTINUE") => {
            notice!("Successful partial resynchronization with master.");
            let id = words.next().unwrap_or(replid.as_str());
            if id != replid {
                notice!("Master replication ID changed to {id}");
            }
            replication.follow(generation, id, offset, false, backlog_size);
            side.synced(id, offset as i64);
            notice!("MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.");
        }
        _ => {
            return Err(format!(
                "Unexpected reply to PSYNC from master: {}",
                reply.trim()
            ))
        }
    }
    if !side.is_current(generation) {
        return Ok(());
    }
    side.set_status(generation, LinkStatus::Connected);
    side.touch(crate::command::now_ms());
    let Link { stream, buf } = link;
    super::conn::serve_master(core.clone(), stream, buf, generation).await;
    notice!("Connection with master lost.");
    Ok(())
}

/// The socket to the master during the handshake and the snapshot, with
/// what was read and not yet used.
struct Link {
    stream: TcpStream,
    buf: BytesMut,
}

impl Link {
    async fn send(&mut self, argv: &[&str]) -> LinkResult {
        let mut out = Vec::new();
        crate::replication::encode_command(argv, &mut out);
        self.stream
            .write_all(&out)
            .await
            .map_err(|error| format!("Error writing to MASTER: {error}"))
    }

    /// Sends a command and reads its one-line reply.
    async fn call(&mut self, argv: &[&str]) -> Result<String, String> {
        self.send(argv).await?;
        self.line().await
    }

    /// Reads more from the master onto the buffer.
    async fn fill(&mut self) -> LinkResult {
        let mut chunk = [0u8; 64 * 1024];
        match self.stream.read(&mut chunk).await {
            Ok(0) => Err("Master closed the connection".into()),
            Ok(count) => {
                self.buf.extend_from_slice(&chunk[..count]);
                Ok(())
            }
            Err(error) => Err(format!("Error reading from MASTER: {error}")),
        }
    }

    /// One line, without its end (`\r\n` or `\n`).
    async fn line(&mut self) -> Result<String, String> {
        const LINE_BYTES_MAX: usize = 64 * 1024;
        loop {
            if let Some(end) = self.buf.iter().position(|&b| b == b'\n') {
                let line = self.buf.split_to(end + 1);
                let text = String::from_utf8_lossy(&line[..end]);
                return Ok(text.trim_end_matches('\r').to_string());
            }
            if self.buf.len() > LINE_BYTES_MAX {
                return Err("Protocol error: line too long from MASTER".into());
            }
            self.fill().await?;
        }
    }

    /// The next line that is not empty: a master sends newlines to keep the
    /// link alive while it prepares a snapshot.
    async fn line_skipping_newlines(&mut self) -> Result<String, String> {
        loop {
            let line = self.line().await?;
            if !line.is_empty() {
                return Ok(line);
            }
        }
    }
}

/// Reads the snapshot into a temp file, renames it to `dbfilename` and
/// loads it in place of the dataset, as Redis's readSyncBulkPayload does
/// with `repl-diskless-load disabled`.
async fn full_sync(core: &Rc<Core>, link: &mut Link, generation: u64) -> LinkResult {
    let side = &core.shared.replica;
    let header = link.line_skipping_newlines().await?;
    let Some(size) = header.strip_prefix('$') else {
        return Err(format!(
            "Bad protocol from MASTER, the first byte is not '$' (we received '{header}'), are you sure the host and port are right?"
        ));
    };
    // `$EOF:<40 bytes>`: the payload ends with the same 40 bytes.
    let (mark, mut left) = match size.strip_prefix("EOF:") {
        Some(mark) if mark.len() == 40 => (Some(mark.as_bytes().to_vec()), 0u64),
        Some(_) => return Err("Bad EOF mark from MASTER".into()),
        None => (
            None,
            size.parse::<u64>()
                .map_err(|_| format!("Bad snapshot length from MASTER: '{size}'"))?,
        ),
    };
    match &mark {
        Some(_) => {
            notice!("MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to disk")
        }
        None => notice!("MASTER <-> REPLICA sync: receiving {left} bytes from master to disk"),
    }
    if mark.is_none() {
        side.state().sync_total_bytes = left as i64;
    }
    let temp = std::path::PathBuf::from(format!(
        "temp-{}.{}.rdb",
        crate::command::now_ms() / 1000,
        std::process::id()
    ));
    let result = receive(core, link, &temp, mark.as_deref(), &mut left, generation).await;
    if let Err(error) = result {
        let _ = std::fs::remove_file(&temp);
        return Err(error);
    }
    let config = core.db.borrow().config.clone();
    let path = std::path::PathBuf::from(&config.dbfilename);
    if let Err(error) = std::fs::rename(&temp, &path) {
        let _ = std::fs::remove_file(&temp);
        return Err(format!(
            "Failed trying to rename the temp DB into {} in MASTER <-> REPLICA synchronization: {error}",
            path.display()
        ));
    }
    notice!("MASTER <-> REPLICA sync: Flushing old data");
    notice!("MASTER <-> REPLICA sync: Loading DB in memory");
    let file = super::persist::read_rdb(&path, &config, core.cores(), false).map_err(|error| {
        format!(
            "Failed trying to load the MASTER synchronization DB from disk: {}",
            error.unwrap_or_else(|| "no file".into())
        )
    })?;
    // Clients get LOADING meanwhile, as from Redis's replica.
    side.set_loading(true);
    core.replace_dataset(file, true).await;
    side.set_loading(false);
    core.restart_aof_after_sync().await;
    notice!("MASTER <-> REPLICA sync: Finished with success");
    Ok(())
}

/// Writes the payload to `temp`: `left` bytes, or up to the EOF mark.
async fn receive(
    core: &Rc<Core>,
    link: &mut Link,
    temp: &std::path::Path,
    mark: Option<&[u8]>,
    left: &mut u64,
    generation: u64,
) -> LinkResult {
    let side = &core.shared.replica;
    let mut file = std::fs::File::create(temp).map_err(|error| {
        format!("Opening the temp file needed for MASTER <-> REPLICA synchronization: {error}")
    })?;
    let write = |file: &mut std::fs::File, bytes: &[u8]| {
        file.write_all(bytes).map_err(|error| {
            format!(
                "Write error writing to the DB file {}: {error}",
                temp.display()
            )
        })
    };
    loop {
        if !side.is_current(generation) {
            return Err("the replication target changed".into());
        }
        match mark {
            None => {
                let take = (*left).min(link.buf.len() as u64) as usize;
                write(&mut file, &link.buf[..take])?;
                link.buf.advance(take);
                *left -= take as u64;
                side.state().sync_read_bytes += take as u64;
                if *left == 0 {
                    break;
                }
            }
            Some(mark) => {
                if link.buf.ends_with(mark) {
                    let body = link.buf.len() - mark.len();
                    write(&mut file, &link.buf[..body])?;
                    link.buf.clear();
                    break;
                }
                // Keep the last bytes back: they may be the mark's start.
                let keep = mark.len().min(link.buf.len());
                let body = link.buf.len() - keep;
                write(&mut file, &link.buf[..body])?;
                link.buf.advance(body);
                side.state().sync_read_bytes += body as u64;
            }
        }
        link.fill().await?;
    }
    file.sync_all()
        .map_err(|error| format!("Failed trying to sync the temp DB to disk: {error}"))?;
    Ok(())
}
