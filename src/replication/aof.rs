//! The append-only file, as Redis 7.0 keeps it: a directory
//! (`appenddirname`) holding one base file (an RDB image, Redis's
//! `aof-use-rdb-preamble`), the incremental files with the writes since,
//! and a manifest naming them in order.
//!
//! The writes are the replication stream's (Redis feeds its AOF and its
//! replicas the same commands): the hub appends what it adds to the stream
//! to the current incremental file too, leaving out its own PINGs and
//! GETACKs, and fsyncs as `appendfsync` says. This module holds the
//! manifest, the hub's file sink and the stream filter; loading and
//! rewriting live in `shard::aof`.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A file the manifest names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AofFile {
    pub name: String,
    pub seq: u64,
}

/// `appendonly.aof.manifest`: the base, the files already replaced
/// (history, deleted once the manifest no longer needs them) and the
/// incremental files, oldest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Manifest {
    pub base: Option<AofFile>,
    pub history: Vec<AofFile>,
    pub incrs: Vec<AofFile>,
}

impl Manifest {
    /// Parses a manifest: one `file NAME seq N type b|h|i` line per file;
    /// `#` comments. Errors name the problem as Redis's log does.
    pub fn parse(text: &str) -> Result<Manifest, String> {
        let mut manifest = Manifest::default();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let words = split_words(line).ok_or("Invalid AOF manifest file format")?;
            if words.len() % 2 != 0 {
                return Err("Invalid AOF manifest file format".into());
            }
            let (mut name, mut seq, mut kind) = (None, None, None);
            for pair in words.chunks(2) {
                match pair[0].as_str() {
                    "file" => name = Some(pair[1].clone()),
                    "seq" => seq = pair[1].parse::<u64>().ok(),
                    "type" => kind = pair[1].chars().next(),
                    _ => {}
                }
            }
            let (Some(name), Some(seq), Some(kind)) = (name, seq, kind) else {
                return Err("Invalid AOF manifest file format".into());
            };
            let file = AofFile { name, seq };
            match kind {
                'b' if manifest.base.is_none() => manifest.base = Some(file),
                'b' => return Err("Found duplicate base file information".into()),
                'h' => manifest.history.push(file),
                'i' => {
                    if manifest.incrs.last().is_some_and(|last| last.seq >= seq) {
                        return Err("Found a non-monotonic sequence number".into());
                    }
                    manifest.incrs.push(file)
                }
                _ => return Err("Unknown AOF file type".into()),
            }
        }
        Ok(manifest)
    }

    /// The manifest's text, as Redis writes it: base, history, incrs.
    pub fn render(&self) -> String {
        let mut text = String::new();
        let mut line = |file: &AofFile, kind: char| {
            text.push_str(&format!(
                "file {} seq {} type {kind}\n",
                quoted(&file.name),
                file.seq
            ));
        };
        if let Some(base) = &self.base {
            line(base, 'b');
        }
        for file in &self.history {
            line(file, 'h');
        }
        for file in &self.incrs {
            line(file, 'i');
        }
        text
    }

    /// The files to load, in order: the base, then every incr.
    pub fn loading_order(&self) -> Vec<&AofFile> {
        self.base.iter().chain(self.incrs.iter()).collect()
    }

    pub fn next_base_seq(&self) -> u64 {
        self.base.as_ref().map_or(0, |b| b.seq) + 1
    }

    pub fn next_incr_seq(&self) -> u64 {
        self.incrs.last().map_or(0, |i| i.seq) + 1
    }
}

/// Redis's sdssplitargs, enough for a manifest: words, or "quoted" ones
/// with backslash escapes.
fn split_words(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else {
            return Some(words);
        };
        let mut word = String::new();
        if first == '"' {
            chars.next();
            loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => match chars.next()? {
                        'n' => word.push('\n'),
                        'r' => word.push('\r'),
                        't' => word.push('\t'),
                        other => word.push(other),
                    },
                    c => word.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                word.push(c);
                chars.next();
            }
        }
        words.push(word);
    }
}

/// A name as the manifest writes it: bare unless it needs quoting.
fn quoted(name: &str) -> String {
    if !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_graphic() && c != '"' && c != '\\')
    {
        return name.to_string();
    }
    let mut out = String::from("\"");
    for c in name.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c)
            }
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The file names Redis 7.0 uses under `appenddirname`.
pub struct Names<'a> {
    /// `appendfilename`.
    pub prefix: &'a str,
}

impl Names<'_> {
    pub fn manifest(&self) -> String {
        format!("{}.manifest", self.prefix)
    }
    pub fn base(&self, seq: u64) -> String {
        format!("{}.{seq}.base.rdb", self.prefix)
    }
    pub fn incr(&self, seq: u64) -> String {
        format!("{}.{seq}.incr.aof", self.prefix)
    }
    /// Where writes go while AOF waits for its first rewrite.
    pub fn temp_incr(&self) -> String {
        format!("temp-{}.incr", self.prefix)
    }
    pub fn temp_manifest(&self) -> String {
        format!("temp-{}.manifest", self.prefix)
    }
    pub fn temp_base(&self) -> String {
        format!("temp-rewriteaof-bg-{}.aof", std::process::id())
    }
}

/// Writes `manifest` to `dir` under a temporary name, fsyncs it and
/// renames it into place (Redis's persistAofManifest).
pub fn persist_manifest(dir: &Path, names: &Names<'_>, manifest: &Manifest) -> std::io::Result<()> {
    let temp = dir.join(names.temp_manifest());
    let mut file = File::create(&temp)?;
    file.write_all(manifest.render().as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&temp, dir.join(names.manifest()))?;
    sync_dir(dir)
}

/// A rename or a new file reaches the disk with its directory.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Opens an incremental file for appending, creating it.
pub fn open_incr(path: &Path) -> std::io::Result<File> {
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
}

/// `appendfsync`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fsync {
    Always,
    EverySec,
    No,
}

impl Fsync {
    pub fn parse(text: &str) -> Fsync {
        match text {
            "always" => Fsync::Always,
            "no" => Fsync::No,
            _ => Fsync::EverySec,
        }
    }
}

/// What INFO reads of the sink; the hub keeps it current.
#[derive(Default)]
pub struct SinkStats {
    /// Bytes in the current incremental file.
    pub incr_bytes: AtomicU64,
    /// Bytes in the incremental files before it (since the base).
    pub earlier_incr_bytes: AtomicU64,
    pub last_write_failed: AtomicBool,
    /// Bytes taken from the stream and not yet written.
    pub buffered: AtomicU64,
    pub delayed_fsyncs: AtomicU64,
}

/// The hub's end of the AOF: the current incremental file.
pub struct Sink {
    file: Arc<File>,
    path: PathBuf,
    buffer: Vec<u8>,
    policy: Fsync,
    stats: Arc<SinkStats>,
    /// Written and not yet fsynced.
    unsynced: bool,
    last_fsync: Instant,
    /// Set while the fsync thread works on the file.
    fsyncing: Arc<AtomicBool>,
    last_error_log: Option<Instant>,
}

/// Most bytes held before a write even within one round of the hub.
const BUFFER_BYTES_MAX: usize = 4 << 20;

impl Sink {
    pub fn new(file: File, path: PathBuf, policy: Fsync, stats: Arc<SinkStats>) -> Sink {
        let size = file.metadata().map_or(0, |m| m.len());
        stats.incr_bytes.store(size, Ordering::Relaxed);
        Sink {
            file: Arc::new(file),
            path,
            buffer: Vec::new(),
            policy,
            stats,
            unsynced: false,
            last_fsync: Instant::now(),
            fsyncing: Arc::new(AtomicBool::new(false)),
            last_error_log: None,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn set_policy(&mut self, policy: Fsync) {
        self.policy = policy;
    }

    pub fn policy(&self) -> Fsync {
        self.policy
    }

    /// Takes stream bytes; they are written by `write_out`.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= BUFFER_BYTES_MAX {
            self.write_out();
        }
        self.stats
            .buffered
            .store(self.buffer.len() as u64, Ordering::Relaxed);
    }

    /// Writes what is buffered (once per round of the hub), and fsyncs as
    /// the policy says: `everysec` on its thread once a second; `always`
    /// when a client waits for it (`flush_and_sync`), else as `everysec`
    /// (records no client waits for: expiries, a round between two).
    pub fn write_out(&mut self) {
        self.write_buffer();
        match self.policy {
            Fsync::Always | Fsync::EverySec => self.fsync_in_background(),
            Fsync::No => {}
        }
    }

    fn write_buffer(&mut self) {
        if !self.buffer.is_empty() {
            match (&*self.file).write_all(&self.buffer) {
                Ok(()) => {
                    self.stats
                        .incr_bytes
                        .fetch_add(self.buffer.len() as u64, Ordering::Relaxed);
                    self.buffer.clear();
                    self.unsynced = true;
                    if self.stats.last_write_failed.swap(false, Ordering::Relaxed) {
                        crate::warning!("AOF write error looks solved, Redis can write again.");
                    }
                }
                Err(error) => {
                    // Kept for the next round: nothing of the stream is
                    // dropped. A short write may have left part of it in
                    // the file; Redis truncates that away, as does this.
                    let _ = self
                        .file
                        .set_len(self.stats.incr_bytes.load(Ordering::Relaxed));
                    self.stats.last_write_failed.store(true, Ordering::Relaxed);
                    let due = self
                        .last_error_log
                        .is_none_or(|at| at.elapsed() >= Duration::from_secs(30));
                    if due {
                        self.last_error_log = Some(Instant::now());
                        crate::warning!("Error writing to the AOF file: {error}");
                    }
                }
            }
            self.stats
                .buffered
                .store(self.buffer.len() as u64, Ordering::Relaxed);
        }
    }

    /// Writes and fsyncs everything taken so far (a switch, a stop, a
    /// client of `appendfsync always` waiting).
    pub fn flush_and_sync(&mut self) {
        self.write_buffer();
        self.fsync_now();
    }

    fn fsync_now(&mut self) {
        // A background fsync under way may not be through yet: its bytes
        // count as unsynced until it is.
        if !self.unsynced && !self.fsyncing.load(Ordering::Acquire) {
            return;
        }
        if let Err(error) = self.file.sync_data() {
            crate::warning!("Can't persist the AOF on disk (fsync): {error}");
            return;
        }
        self.unsynced = false;
        self.last_fsync = Instant::now();
    }

    /// `everysec`: one fsync a second at most, on a thread of its own, as
    /// Redis hands it to a bio thread; while one runs the next waits
    /// (Redis's aof_delayed_fsync).
    fn fsync_in_background(&mut self) {
        if !self.unsynced || self.last_fsync.elapsed() < Duration::from_secs(1) {
            return;
        }
        if self.fsyncing.swap(true, Ordering::AcqRel) {
            self.stats.delayed_fsyncs.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.unsynced = false;
        self.last_fsync = Instant::now();
        let (file, busy) = (self.file.clone(), self.fsyncing.clone());
        let spawned = std::thread::Builder::new()
            .name("aof-fsync".into())
            .spawn(move || {
                if let Err(error) = file.sync_data() {
                    crate::warning!("Can't persist the AOF on disk (fsync): {error}");
                }
                busy.store(false, Ordering::Release);
            });
        if spawned.is_err() {
            self.fsyncing.store(false, Ordering::Release);
            self.fsync_now();
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.flush_and_sync();
    }
}

/// The stream's bytes that belong in the AOF: every command but PING and
/// REPLCONF, which the master sends its replicas only. `bytes` holds
/// whole commands (the master link forwards what it applied); anything
/// that does not parse as one is kept as it is.
pub fn without_link_chatter(bytes: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let mut kept: Option<Vec<u8>> = None;
    let mut at = 0;
    while at < bytes.len() {
        let Some((name, len)) = command_at(&bytes[at..]) else {
            if let Some(kept) = kept.as_mut() {
                kept.extend_from_slice(&bytes[at..]);
            }
            break;
        };
        let chatter = name.eq_ignore_ascii_case(b"PING") || name.eq_ignore_ascii_case(b"REPLCONF");
        match (&mut kept, chatter) {
            (None, true) => kept = Some(bytes[..at].to_vec()),
            (Some(kept), false) => kept.extend_from_slice(&bytes[at..at + len]),
            _ => {}
        }
        at += len;
    }
    match kept {
        Some(kept) => std::borrow::Cow::Owned(kept),
        None => std::borrow::Cow::Borrowed(bytes),
    }
}

/// The name and whole length of the RESP command at the start of `bytes`.
fn command_at(bytes: &[u8]) -> Option<(&[u8], usize)> {
    let (count, mut at) = header(bytes, b'*')?;
    let mut name: &[u8] = &[];
    for index in 0..count {
        let (len, body) = header(&bytes[at..], b'$')?;
        let start = at + body;
        let end = start.checked_add(len)?;
        if bytes.get(end..end + 2)? != b"\r\n" {
            return None;
        }
        if index == 0 {
            name = &bytes[start..end];
        }
        at = end + 2;
    }
    (count > 0).then_some((name, at))
}

/// `<mark><digits>\r\n`: the number and the bytes it took.
fn header(bytes: &[u8], mark: u8) -> Option<(usize, usize)> {
    if *bytes.first()? != mark {
        return None;
    }
    let end = bytes.iter().position(|&b| b == b'\r')?;
    if bytes.get(end + 1) != Some(&b'\n') || end < 2 {
        return None;
    }
    let number = std::str::from_utf8(&bytes[1..end]).ok()?.parse().ok()?;
    Some((number, end + 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_reads_back_what_it_wrote() {
        let manifest = Manifest {
            base: Some(AofFile {
                name: "appendonly.aof.2.base.rdb".into(),
                seq: 2,
            }),
            history: vec![AofFile {
                name: "appendonly.aof.1.base.rdb".into(),
                seq: 1,
            }],
            incrs: vec![
                AofFile {
                    name: "appendonly.aof.2.incr.aof".into(),
                    seq: 2,
                },
                AofFile {
                    name: "my file.3.incr.aof".into(),
                    seq: 3,
                },
            ],
        };
        let text = manifest.render();
        assert!(text.starts_with("file appendonly.aof.2.base.rdb seq 2 type b\n"));
        assert!(text.contains("file \"my file.3.incr.aof\" seq 3 type i\n"));
        assert_eq!(Manifest::parse(&text), Ok(manifest.clone()));
        assert_eq!(manifest.next_base_seq(), 3);
        assert_eq!(manifest.next_incr_seq(), 4);
    }

    #[test]
    fn a_bad_manifest_is_refused() {
        assert!(Manifest::parse("file a seq 1\n").is_err());
        assert!(Manifest::parse("file a seq x type i\n").is_err());
        assert!(Manifest::parse("file a seq 1 type q\n").is_err());
        assert!(Manifest::parse("file a seq 2 type i\nfile b seq 1 type i\n").is_err());
        assert!(Manifest::parse("file \"a seq 1 type i\n").is_err());
        assert_eq!(Manifest::parse("# nothing\n\n"), Ok(Manifest::default()));
    }

    #[test]
    fn link_chatter_stays_out_of_the_file() {
        let set = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n";
        let ping = b"*1\r\n$4\r\nping\r\n";
        let getack = b"*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n";
        assert_eq!(&*without_link_chatter(set), set);
        let mut mixed = Vec::new();
        for part in [&ping[..], set, getack, set, ping] {
            mixed.extend_from_slice(part);
        }
        assert_eq!(&*without_link_chatter(&mixed), [&set[..], set].concat());
        // Not a command: kept, with what follows.
        let odd = [&ping[..], b"garbage"].concat();
        assert_eq!(&*without_link_chatter(&odd), b"garbage");
    }
}
