//! The append-only file, shard side (see `crate::replication::aof` for
//! the files and the hub's sink): reading the AOF at startup, BGREWRITEAOF
//! and its automatic form, `CONFIG SET appendonly` and `appendfsync`, and
//! INFO's aof_ fields.
//!
//! Startup. With `appendonly yes` the AOF takes the place of `dbfilename`,
//! as in Redis 7.0 (an RDB file is not read, even when no AOF exists yet).
//! The base, an RDB image, loads as a snapshot does, before the cores
//! start; core 0 then runs the incremental files' commands through a
//! client with no socket, as Redis's fake client does, while the other
//! cores wait to listen. A missing AOF is created: an empty base and an
//! empty incremental file.
//!
//! Rewrite. A new incremental file is created and named in the manifest;
//! a snapshot is cut at a barrier in the replication stream, where the
//! hub switches the AOF to the new file; the snapshot becomes the new
//! base, and the manifest then names only the new base and the new file.
//! The files it no longer names are deleted.

use super::conn::Conn;
use super::mesh::Op;
use super::Core;
use crate::config::Config;
use crate::protocol::decode::{decode, Limits, Progress, Request};
use crate::protocol::{Arg, Reply};
use crate::replication::aof::{self, AofFile, Fsync, Manifest, Names, Sink};
use crate::{notice, warning};
use bytes::Bytes;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Commands run between two waits for the other cores' replies while a
/// file loads.
const COMMANDS_PER_ROUND: usize = 1024;

/// An AOF file is read this much at a time.
const READ_BYTES: usize = 1 << 20;

/// Where the loading of one file stands.
#[derive(Default)]
struct Run {
    request: Request,
    /// The file up to here holds whole commands, outside a transaction.
    whole: u64,
    count: usize,
}

fn bad_format(path: &Path) -> String {
    format!(
        "Bad file format reading the append only file {}: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>",
        path.display()
    )
}

/// Where the AOF stands (Redis's aof_state).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    Off,
    /// Turned on at run time: the first rewrite makes its base, and the
    /// writes since its cut wait in a temporary incremental file.
    WaitRewrite,
    On,
}

/// What every core shares about the AOF (in `Shared`).
pub struct AofShared {
    inner: Mutex<Inner>,
    /// Set once the AOF read at startup is loaded: the cores listen.
    loaded: AtomicBool,
}

struct Inner {
    dir: PathBuf,
    prefix: String,
    manifest: Manifest,
    state: State,
    /// Files to run at startup, and whether the last may be cut short.
    replay: Vec<PathBuf>,
    rewriting: Option<Instant>,
    scheduled: bool,
    last_rewrite_secs: i64,
    last_ok: bool,
    rewrites: u64,
    failures: u64,
    base_bytes: u64,
    /// aof_current_size after the last rewrite (or load): what
    /// auto-aof-rewrite-percentage measures growth against.
    rewrite_base_bytes: u64,
    /// The AOF was created at this startup (its files are new).
    created: bool,
}

/// What `startup` read.
pub struct Startup {
    pub shared: AofShared,
    /// The base's keys, in place of `dbfilename`'s (with `appendonly yes`).
    pub file: Option<super::persist::FileRead>,
}

impl AofShared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn is_loaded(&self) -> bool {
        self.loaded.load(Ordering::Acquire)
    }

    /// A rewrite's snapshot is being taken.
    pub fn is_rewriting(&self) -> bool {
        self.lock().rewriting.is_some()
    }

    /// INFO persistence's aof_ fields, as Redis 7.0 names them.
    pub fn info_fields(&self, stats: &aof::SinkStats) -> Vec<(&'static str, String)> {
        let inner = self.lock();
        let current = inner
            .rewriting
            .map_or(-1, |started| started.elapsed().as_secs() as i64);
        let mut fields = vec![
            (
                "aof_enabled",
                u8::from(inner.state != State::Off).to_string(),
            ),
            (
                "aof_rewrite_in_progress",
                u8::from(inner.rewriting.is_some()).to_string(),
            ),
            (
                "aof_rewrite_scheduled",
                u8::from(inner.scheduled).to_string(),
            ),
            (
                "aof_last_rewrite_time_sec",
                inner.last_rewrite_secs.to_string(),
            ),
            ("aof_current_rewrite_time_sec", current.to_string()),
            (
                "aof_last_bgrewrite_status",
                if inner.last_ok { "ok" } else { "err" }.into(),
            ),
            ("aof_rewrites", inner.rewrites.to_string()),
            (
                "aof_rewrites_consecutive_failures",
                inner.failures.to_string(),
            ),
            (
                "aof_last_write_status",
                if stats.last_write_failed.load(Ordering::Relaxed) {
                    "err"
                } else {
                    "ok"
                }
                .into(),
            ),
            ("aof_last_cow_size", "0".into()),
            ("module_fork_in_progress", "0".into()),
            ("module_fork_last_cow_size", "0".into()),
        ];
        if inner.state != State::Off {
            fields.extend([
                ("aof_current_size", current_bytes(&inner, stats).to_string()),
                ("aof_base_size", inner.base_bytes.to_string()),
                ("aof_pending_rewrite", u8::from(inner.scheduled).to_string()),
                (
                    "aof_buffer_length",
                    stats.buffered.load(Ordering::Relaxed).to_string(),
                ),
                ("aof_pending_bio_fsync", "0".into()),
                (
                    "aof_delayed_fsync",
                    stats.delayed_fsyncs.load(Ordering::Relaxed).to_string(),
                ),
            ]);
        }
        fields
    }
}

/// aof_current_size: the base and every incremental file.
fn current_bytes(inner: &Inner, stats: &aof::SinkStats) -> u64 {
    inner.base_bytes
        + stats.earlier_incr_bytes.load(Ordering::Relaxed)
        + stats.incr_bytes.load(Ordering::Relaxed)
}

fn names(prefix: &str) -> Names<'_> {
    Names { prefix }
}

fn file_bytes(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// Reads the manifest under `dir`; None when there is none.
fn read_manifest(dir: &Path, prefix: &str) -> Result<Option<Manifest>, String> {
    let path = dir.join(names(prefix).manifest());
    match std::fs::read_to_string(&path) {
        Ok(text) => Manifest::parse(&text)
            .map(Some)
            .map_err(|why| format!("{why} (manifest {})", path.display())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(format!(
            "Can't open the append-only file manifest {}: {error}",
            path.display()
        )),
    }
}

/// At startup, before the cores: with `appendonly yes`, the AOF's base is
/// read (or a new AOF made); the incremental files wait for core 0
/// (`replay`). Errors stop the start, as Redis exits.
pub fn startup(config: &Config, cores: usize) -> Result<Startup, String> {
    let prefix = crate::config::inert::get(config, "appendfilename", "appendonly.aof");
    let dir = PathBuf::from(crate::config::inert::get(
        config,
        "appenddirname",
        "appendonlydir",
    ));
    let mut inner = Inner {
        dir,
        prefix,
        manifest: Manifest::default(),
        state: State::Off,
        replay: Vec::new(),
        rewriting: None,
        scheduled: false,
        last_rewrite_secs: -1,
        last_ok: true,
        rewrites: 0,
        failures: 0,
        base_bytes: 0,
        rewrite_base_bytes: 0,
        created: false,
    };
    let found = read_manifest(&inner.dir, &inner.prefix);
    if !config.appendonly {
        inner.manifest = found.ok().flatten().unwrap_or_default();
        return Ok(Startup {
            shared: AofShared::new(inner, true),
            file: None,
        });
    }
    inner.state = State::On;
    std::fs::create_dir_all(&inner.dir).map_err(|error| {
        format!(
            "Can't open or create append-only dir {}: {error}",
            inner.dir.display()
        )
    })?;
    let manifest = found?.unwrap_or_default();
    if manifest.base.is_none() && manifest.incrs.is_empty() {
        create_empty(&mut inner)?;
        return Ok(Startup {
            shared: AofShared::new(inner, false),
            file: None,
        });
    }
    let mut file = None;
    for (index, entry) in manifest.loading_order().into_iter().enumerate() {
        let path = inner.dir.join(&entry.name);
        if !path.exists() {
            return Err(format!("The AOF file {} doesn't exist", path.display()));
        }
        let is_base = index == 0 && manifest.base.is_some();
        if is_base && starts_with_rdb(&path) {
            notice!("Reading RDB base file on AOF loading...");
            let started = Instant::now();
            let mut read = super::persist::read_rdb(&path, config, cores, true)
                .map_err(|error| error.unwrap_or_else(|| "no file".into()))?;
            // Writes from the incremental files follow: the image's
            // stream position says nothing of the dataset loaded.
            read.repl = None;
            notice!(
                "DB loaded from base file {}: {:.3} seconds",
                entry.name,
                started.elapsed().as_secs_f64()
            );
            inner.base_bytes = file_bytes(&path);
            file = Some(read);
        } else {
            if is_base {
                inner.base_bytes = file_bytes(&path);
            }
            inner.replay.push(path);
        }
    }
    inner.manifest = manifest;
    Ok(Startup {
        shared: AofShared::new(inner, false),
        file,
    })
}

fn starts_with_rdb(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 5];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && &magic == b"REDIS"
}

/// A new AOF for an empty dataset: an empty base and an empty
/// incremental file, then the manifest naming them.
fn create_empty(inner: &mut Inner) -> Result<(), String> {
    let names = names(&inner.prefix);
    let base = AofFile {
        name: names.base(1),
        seq: 1,
    };
    let incr = AofFile {
        name: names.incr(1),
        seq: 1,
    };
    let fail = |what: &str, error: std::io::Error| format!("Can't create {what}: {error}");
    let mut image = crate::keyspace::rdb_file::header(
        crate::command::now_ms() / 1000,
        crate::memory::allocated_bytes(),
        None,
    );
    let crc = crate::keyspace::rdb::crc64(0, &image);
    image.extend_from_slice(&crate::keyspace::rdb_file::footer(crc));
    let base_path = inner.dir.join(&base.name);
    write_synced(&base_path, &image).map_err(|e| fail(&base.name, e))?;
    notice!("Creating AOF base file {} on server start", base.name);
    aof::open_incr(&inner.dir.join(&incr.name)).map_err(|e| fail(&incr.name, e))?;
    notice!("Creating AOF incr file {} on server start", incr.name);
    let manifest = Manifest {
        base: Some(base),
        history: Vec::new(),
        incrs: vec![incr],
    };
    aof::persist_manifest(&inner.dir, &names, &manifest)
        .map_err(|e| fail("the AOF manifest", e))?;
    // Redis counts a new AOF's size from its first write.
    inner.base_bytes = 0;
    inner.manifest = manifest;
    inner.created = true;
    Ok(())
}

/// A manifest with a base and no incremental file (a rewrite made while
/// the AOF was off): a new incremental file goes after the base, as Redis
/// 7.0's aofOpenIfNeededOnServerStart adds one.
fn add_first_incr(inner: &mut Inner) -> Result<(), String> {
    let names = names(&inner.prefix);
    let seq = inner.manifest.next_incr_seq();
    let incr = AofFile {
        name: names.incr(seq),
        seq,
    };
    let fail = |error: std::io::Error| format!("Can't create {}: {error}", incr.name);
    aof::open_incr(&inner.dir.join(&incr.name)).map_err(fail)?;
    let mut manifest = inner.manifest.clone();
    manifest.incrs.push(incr.clone());
    aof::persist_manifest(&inner.dir, &names, &manifest).map_err(fail)?;
    notice!("Creating AOF incr file {} on server start", incr.name);
    inner.manifest = manifest;
    inner.created = true;
    Ok(())
}

fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

impl AofShared {
    fn new(inner: Inner, loaded: bool) -> AofShared {
        AofShared {
            inner: Mutex::new(inner),
            loaded: AtomicBool::new(loaded),
        }
    }
}

fn fsync_policy(config: &Config) -> Fsync {
    Fsync::parse(&crate::config::inert::get(
        config,
        "appendfsync",
        "everysec",
    ))
}

impl Core {
    /// Core 0 at startup: runs the AOF's incremental files, then opens the
    /// last for appending; the other cores listen once it is done. A file
    /// that cannot be read stops the server, as in Redis.
    pub(super) async fn load_aof(self: &Rc<Self>) {
        let (replay, state) = {
            let mut inner = self.shared.aof.lock();
            (std::mem::take(&mut inner.replay), inner.state)
        };
        if state == State::Off {
            return;
        }
        let started = Instant::now();
        let truncated_ok =
            crate::config::inert::get(&self.db.borrow().config, "aof-load-truncated", "yes")
                != "no";
        let mut conn = Conn::loader(self.clone());
        let count = replay.len();
        for (index, path) in replay.iter().enumerate() {
            let last = index + 1 == count;
            let file_started = Instant::now();
            if let Err(error) = conn.run_file(path, last && truncated_ok).await {
                warning!("{error}");
                std::process::exit(1);
            }
            let name = path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            let kind = if name.contains(".base.") {
                "base"
            } else {
                "incr"
            };
            notice!(
                "DB loaded from {kind} file {name}: {:.3} seconds",
                file_started.elapsed().as_secs_f64()
            );
        }
        notice!(
            "DB loaded from append only file: {:.3} seconds",
            started.elapsed().as_secs_f64()
        );
        if let Err(error) = self.open_last_incr().await {
            warning!("{error}");
            std::process::exit(1);
        }
        self.shared.aof.loaded.store(true, Ordering::Release);
    }

    /// The AOF goes on in the manifest's last incremental file.
    async fn open_last_incr(&self) -> Result<(), String> {
        let (path, earlier, policy) = {
            let mut inner = self.shared.aof.lock();
            if inner.manifest.incrs.is_empty() {
                add_first_incr(&mut inner)?;
            }
            let Some(last) = inner.manifest.incrs.last() else {
                return Err("The AOF manifest names no incremental file".into());
            };
            let earlier: u64 = inner.manifest.incrs[..inner.manifest.incrs.len() - 1]
                .iter()
                .map(|f| file_bytes(&inner.dir.join(&f.name)))
                .sum();
            (
                inner.dir.join(&last.name),
                earlier,
                fsync_policy(&self.db.borrow().config),
            )
        };
        let file = aof::open_incr(&path).map_err(|error| {
            format!(
                "Can't open the append-only file {}: {error}",
                path.display()
            )
        })?;
        if !std::mem::take(&mut self.shared.aof.lock().created) {
            if let Some(name) = path.file_name() {
                notice!(
                    "Opening AOF incr file {} on server start",
                    name.to_string_lossy()
                );
            }
        }
        let replication = &self.shared.replication;
        replication
            .aof_stats
            .earlier_incr_bytes
            .store(earlier, Ordering::Relaxed);
        let sink = Sink::new(file, path, policy, replication.aof_stats.clone());
        replication.set_aof_policy(policy);
        replication.switch_aof(Some(sink)).await;
        let mut inner = self.shared.aof.lock();
        inner.rewrite_base_bytes = current_bytes(&inner, &replication.aof_stats);
        Ok(())
    }

    /// The cores other than 0 wait here before they listen.
    pub(super) async fn wait_for_aof_load(&self) {
        while !self.shared.aof.is_loaded() {
            glommio::timer::sleep(Duration::from_millis(1)).await;
        }
    }
}

impl Conn {
    /// Runs the commands in the AOF file at `path`. A file cut short (a
    /// command, or a transaction, left unfinished) is truncated after its
    /// last whole command when `may_truncate` (the last file, with
    /// aof-load-truncated yes); else it is an error.
    async fn run_file(&mut self, path: &Path, may_truncate: bool) -> Result<(), String> {
        use std::io::Read;
        let open_error = |error: std::io::Error| {
            format!(
                "Fatal error: can't open the append log file {} for reading: {error}",
                path.display()
            )
        };
        let mut file = std::fs::File::open(path).map_err(open_error)?;
        // What was read and not yet run (a command cut by the read), and
        // where it starts in the file.
        let mut pending = bytes::BytesMut::new();
        let mut pending_at: u64 = 0;
        let mut run = Run::default();
        loop {
            // A command bigger than a read doubles the next one, so that a
            // huge value is copied a few times, not once per read.
            let filled = pending.len();
            pending.resize(filled + READ_BYTES.max(filled), 0);
            let count = file.read(&mut pending[filled..]).map_err(open_error)?;
            pending.truncate(filled + count);
            if count == 0 {
                break;
            }
            let data = pending.split().freeze();
            let used = self.run_commands(&data, pending_at, &mut run, path).await?;
            pending_at += used as u64;
            // The rest stays where it is (no copy: nothing else holds the
            // buffer now), and grows by the next read.
            let rest = data.slice(used..);
            drop(data);
            pending = rest
                .try_into_mut()
                .unwrap_or_else(|shared| bytes::BytesMut::from(&shared[..]));
        }
        self.flush_plan().await;
        let whole = run.whole;
        if pending.is_empty() && whole == pending_at {
            return Ok(());
        }
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        if self.tx.queued.is_some() {
            warning!("Revert incomplete MULTI/EXEC transaction in AOF file {name}");
            self.tx = Default::default();
        } else {
            warning!("!!! Warning: short read while loading the AOF file {name}!!!");
        }
        if !may_truncate {
            return Err(format!(
                "Unexpected end of file reading the append only file {name}. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server."
            ));
        }
        warning!("!!! Truncating the AOF {name} at offset {whole} !!!");
        let truncated = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .and_then(|file| file.set_len(whole).and_then(|()| file.sync_all()));
        if let Err(error) = truncated {
            return Err(format!("Error truncating the AOF file {name}: {error}"));
        }
        warning!("AOF {name} loaded anyway because aof-load-truncated is enabled");
        Ok(())
    }

    /// Runs the whole commands at the start of `data` (which starts at
    /// `file_at` in the file); returns the bytes they took.
    async fn run_commands(
        &mut self,
        data: &Bytes,
        file_at: u64,
        run: &mut Run,
        path: &Path,
    ) -> Result<usize, String> {
        let limits = Limits {
            bulk_bytes_max: i64::MAX,
            unauthenticated: false,
        };
        let mut at = 0;
        let mut argv: Vec<Arg<'_>> = Vec::new();
        while at < data.len() {
            let consumed = match data[at] {
                b'*' => match decode(&data[at..], &limits, &mut run.request) {
                    Ok(Progress::Complete { consumed }) => Some(consumed),
                    Ok(Progress::Incomplete { .. }) => None,
                    Err(_) => return Err(bad_format(path)),
                },
                _ => return Err(bad_format(path)),
            };
            let Some(consumed) = consumed else {
                break;
            };
            if !run.request.spans.is_empty() {
                argv.clear();
                argv.extend(
                    run.request
                        .spans
                        .iter()
                        .map(|r| Arg::slice(data, r.start + at..r.end + at)),
                );
                self.dispatch(&argv).await;
            }
            at += consumed;
            if self.tx.queued.is_none() {
                run.whole = file_at + at as u64;
            }
            run.count += 1;
            if run.count.is_multiple_of(COMMANDS_PER_ROUND) {
                self.flush_plan().await;
                glommio::yield_if_needed().await;
            }
        }
        Ok(at)
    }

    /// `appendfsync always`: this read's writes are fsynced in the AOF
    /// before its replies go out (every core's feed to the hub first). The
    /// hub answers every client waiting in one round with one fsync; one
    /// round trip per core shared by its connections was tried and served
    /// fewer requests per fsync (see docs/BENCHMARKS.md, bench/aof).
    pub(super) async fn wait_for_aof_fsync(&mut self) {
        self.core
            .on_all(|| Op::Core(super::replicate::flush_feed_core, Vec::new()))
            .await;
        self.core.shared.replication.aof_durable().await;
    }
}

/// How BGREWRITEAOF began.
pub enum Rewrite {
    Started,
    Scheduled,
    InProgress,
    Failed,
}

impl Core {
    /// BGREWRITEAOF: starts a rewrite, or schedules one while another
    /// snapshot is being taken.
    pub async fn bgrewriteaof(&self) -> Rewrite {
        if self.shared.aof.lock().rewriting.is_some() {
            return Rewrite::InProgress;
        }
        if self.shared.persistence.is_busy() {
            self.schedule_rewrite();
            return Rewrite::Scheduled;
        }
        match self.start_rewrite().await {
            Ok(()) => Rewrite::Started,
            Err(Some(error)) => {
                warning!("{error}");
                Rewrite::Failed
            }
            // Another snapshot began meanwhile.
            Err(None) => {
                self.schedule_rewrite();
                Rewrite::Scheduled
            }
        }
    }

    /// A rewrite to start once no snapshot is being taken.
    fn schedule_rewrite(&self) {
        {
            let mut inner = self.shared.aof.lock();
            if inner.scheduled {
                return;
            }
            inner.scheduled = true;
        }
        let Some(core) = self.me.upgrade() else {
            return;
        };
        glommio::spawn_local(async move {
            loop {
                while core.shared.persistence.is_busy() {
                    glommio::timer::sleep(Duration::from_millis(10)).await;
                }
                match core.start_rewrite().await {
                    Err(None) => continue,
                    Err(Some(error)) => warning!("{error}"),
                    Ok(()) => {}
                }
                break;
            }
        })
        .detach();
    }

    /// Starts a rewrite and returns once its snapshot is cut; a task
    /// finishes it. Err(None): another snapshot is being taken.
    async fn start_rewrite(&self) -> Result<(), Option<String>> {
        let (dir, prefix, state, manifest) = {
            let mut inner = self.shared.aof.lock();
            if inner.rewriting.is_some() {
                return Ok(());
            }
            inner.scheduled = false;
            inner.rewriting = Some(Instant::now());
            (
                inner.dir.clone(),
                inner.prefix.clone(),
                inner.state,
                inner.manifest.clone(),
            )
        };
        let failed = |error: String| {
            let mut inner = self.shared.aof.lock();
            inner.rewriting = None;
            inner.last_ok = false;
            inner.failures += 1;
            Some(error)
        };
        if let Err(error) = std::fs::create_dir_all(&dir) {
            return Err(failed(format!(
                "Can't open or create append-only dir {}: {error}",
                dir.display()
            )));
        }
        let names = names(&prefix);
        // The file the AOF goes on in from the cut, named in the manifest
        // before anything is written to it.
        let next = match state {
            State::Off => None,
            State::WaitRewrite => Some((names.temp_incr(), manifest.clone(), true)),
            State::On => {
                let mut listed = manifest.clone();
                let incr = AofFile {
                    name: names.incr(manifest.next_incr_seq()),
                    seq: manifest.next_incr_seq(),
                };
                listed.incrs.push(incr.clone());
                Some((incr.name, listed, false))
            }
        };
        let mut slot = None;
        if let Some((name, listed, temporary)) = &next {
            let path = dir.join(name);
            // A new file, not the old one emptied: a retried first rewrite
            // finds the AOF still writing to its temporary file until the
            // cut, and those writes belong to the old file, not this one.
            let _ = std::fs::remove_file(&path);
            let created = aof::open_incr(&path).and_then(|file| {
                if !temporary {
                    aof::persist_manifest(&dir, &names, listed)?;
                }
                Ok(file)
            });
            let file = match created {
                Ok(file) => file,
                Err(error) => {
                    return Err(failed(format!(
                        "Can't open the append-only file {}: {error}",
                        path.display()
                    )))
                }
            };
            let replication = &self.shared.replication;
            let policy = fsync_policy(&self.db.borrow().config);
            let sink = Sink::new(file, path, policy, replication.aof_stats.clone());
            replication.record_for_aof();
            slot = Some(Arc::new(Mutex::new(Some(sink))));
            notice!("Creating AOF incr file {name} on background rewrite");
        }
        let base = AofFile {
            name: names.base(manifest.next_base_seq()),
            seq: manifest.next_base_seq(),
        };
        let written = self
            .write_aof_base(dir.join(&base.name), dir.join(names.temp_base()), slot)
            .await;
        let done = match written {
            Ok(done) => done,
            Err(super::persist::SaveError::InProgress) => {
                self.shared.aof.lock().rewriting = None;
                return Err(None);
            }
            Err(super::persist::SaveError::Failed) => {
                return Err(failed(
                    "Can't rewrite append only file in background".into(),
                ))
            }
        };
        if let Some((_, listed, false)) = &next {
            // The AOF now writes to the new file: the manifest names it.
            let mut inner = self.shared.aof.lock();
            inner.manifest = listed.clone();
            let stats = &self.shared.replication.aof_stats;
            let earlier: u64 = listed.incrs[..listed.incrs.len() - 1]
                .iter()
                .map(|f| file_bytes(&dir.join(&f.name)))
                .sum();
            stats.earlier_incr_bytes.store(earlier, Ordering::Relaxed);
        }
        notice!("Background append only file rewriting started");
        let Some(core) = self.me.upgrade() else {
            return Ok(());
        };
        let temporary = next.map(|(name, _, temporary)| (name, temporary));
        glommio::spawn_local(async move {
            let ok = done.recv_async().await.unwrap_or(false);
            core.finish_rewrite(ok, base, temporary);
        })
        .detach();
        Ok(())
    }

    /// The rewrite's base is on disk (or failed): the manifest names the
    /// new base and the AOF's present file; the rest is deleted.
    fn finish_rewrite(&self, ok: bool, base: AofFile, next: Option<(String, bool)>) {
        let mut inner = self.shared.aof.lock();
        let elapsed = inner
            .rewriting
            .take()
            .map_or(0, |started| started.elapsed().as_secs() as i64);
        inner.last_rewrite_secs = elapsed;
        if !ok {
            inner.last_ok = false;
            inner.failures += 1;
            warning!("Background AOF rewrite failed");
            return;
        }
        let prefix = inner.prefix.clone();
        let names = names(&prefix);
        let dir = inner.dir.clone();
        let old = inner.manifest.clone();
        notice!("Background AOF rewrite terminated with success");
        notice!(
            "Successfully renamed the temporary AOF base file {} into {}",
            names.temp_base(),
            base.name
        );
        let mut manifest = Manifest {
            base: Some(base.clone()),
            history: Vec::new(),
            incrs: Vec::new(),
        };
        let mut kept: Option<String> = None;
        match next {
            Some((name, true)) if inner.state == State::Off => {
                // Turned off meanwhile: the first rewrite is dropped.
                let _ = std::fs::remove_file(dir.join(&name));
                let _ = std::fs::remove_file(dir.join(&base.name));
                return;
            }
            Some((name, true)) => {
                // The temporary file of a freshly enabled AOF gets its
                // place in the sequence (the hub's handle follows it).
                let incr = AofFile {
                    name: names.incr(old.next_incr_seq()),
                    seq: old.next_incr_seq(),
                };
                if let Err(error) = std::fs::rename(dir.join(&name), dir.join(&incr.name)) {
                    warning!("Error trying to rename the temporary AOF file {name}: {error}");
                    inner.last_ok = false;
                    inner.failures += 1;
                    return;
                }
                notice!(
                    "Successfully renamed the temporary AOF incr file {name} into {}",
                    incr.name
                );
                kept = Some(incr.name.clone());
                manifest.incrs.push(incr);
                inner.state = State::On;
            }
            Some((name, false)) => {
                if let Some(incr) = old.incrs.iter().find(|f| f.name == name) {
                    manifest.incrs.push(incr.clone());
                }
                kept = Some(name);
            }
            None => {}
        }
        if let Err(error) = aof::persist_manifest(&dir, &names, &manifest) {
            warning!("Error trying to write the AOF manifest after a rewrite: {error}");
            inner.last_ok = false;
            inner.failures += 1;
            return;
        }
        let stale = old
            .base
            .iter()
            .chain(old.history.iter())
            .chain(old.incrs.iter())
            .filter(|f| Some(&f.name) != kept.as_ref() && f.name != base.name);
        for file in stale {
            if std::fs::remove_file(dir.join(&file.name)).is_ok() {
                notice!("Removing the history file {} in the background", file.name);
            }
        }
        let stats = &self.shared.replication.aof_stats;
        stats.earlier_incr_bytes.store(0, Ordering::Relaxed);
        inner.base_bytes = file_bytes(&dir.join(&base.name));
        inner.rewrite_base_bytes = current_bytes(&inner, stats);
        inner.manifest = manifest;
        inner.last_ok = true;
        inner.failures = 0;
        inner.rewrites += 1;
        notice!("Background AOF rewrite finished successfully");
    }

    /// CONFIG SET appendonly yes|no and appendfsync, once the cores have
    /// the new values. Err: Redis's reason, when AOF could not start.
    pub(super) async fn apply_aof_config(&self, before: &Config) -> Result<(), String> {
        let config = self.db.borrow().config.clone();
        let policy = fsync_policy(&config);
        if policy != fsync_policy(before) {
            self.shared.replication.set_aof_policy(policy);
        }
        match (before.appendonly, config.appendonly) {
            (false, true) => {
                self.shared.aof.lock().state = State::WaitRewrite;
                self.shared.replication.set_aof_policy(policy);
                match self.bgrewriteaof().await {
                    Rewrite::Started | Rewrite::InProgress => Ok(()),
                    Rewrite::Scheduled => {
                        notice!("AOF was enabled but there is already another background operation. An AOF background was scheduled to start when possible.");
                        Ok(())
                    }
                    Rewrite::Failed => {
                        self.shared.aof.lock().state = State::Off;
                        Err("Unable to turn on AOF. Check server logs.".into())
                    }
                }
            }
            (true, false) => {
                self.shared.aof.lock().state = State::Off;
                self.shared.replication.switch_aof(None).await;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// A replica's full sync replaced its dataset: its AOF starts over
    /// from a rewrite, as Redis's restartAOFAfterSYNC.
    pub(super) async fn restart_aof_after_sync(&self) {
        if self.shared.aof.lock().state == State::Off {
            return;
        }
        self.shared.replication.switch_aof(None).await;
        self.shared.aof.lock().state = State::WaitRewrite;
        // Kept on: the rewrite's cut sets the AOF's next file.
        self.shared.replication.record_for_aof();
        if let Rewrite::Failed = self.bgrewriteaof().await {
            warning!("Failed enabling the AOF after successful master synchronization! Trying it again in one second.");
        }
    }
}

/// Core 0, once a second: a rewrite once the AOF grew by
/// auto-aof-rewrite-percentage over its size after the last one (and is
/// past auto-aof-rewrite-min-size), as Redis's serverCron.
pub(super) async fn auto_rewrite_loop(core: Rc<Core>) {
    loop {
        glommio::timer::sleep(Duration::from_secs(1)).await;
        let (percentage, min_bytes) = {
            let config = &core.db.borrow().config;
            let percentage: u64 =
                crate::config::inert::get(config, "auto-aof-rewrite-percentage", "100")
                    .parse()
                    .unwrap_or(100);
            let min_bytes: u64 =
                crate::config::inert::get(config, "auto-aof-rewrite-min-size", "67108864")
                    .parse()
                    .unwrap_or(64 << 20);
            (percentage, min_bytes)
        };
        let due = {
            let inner = core.shared.aof.lock();
            let current = current_bytes(&inner, &core.shared.replication.aof_stats);
            let base = inner.rewrite_base_bytes.max(1);
            let growth = (current * 100 / base).saturating_sub(100);
            let due = inner.state == State::On
                && inner.rewriting.is_none()
                && !inner.scheduled
                && percentage > 0
                && current > min_bytes
                && growth >= percentage;
            due.then_some(growth)
        };
        if let Some(growth) = due {
            if core.shared.persistence.is_busy() {
                continue;
            }
            notice!("Starting automatic rewriting of AOF on {growth}% growth");
            let _ = core.bgrewriteaof().await;
        }
        // A freshly enabled AOF whose rewrite failed tries again.
        let retry = {
            let inner = core.shared.aof.lock();
            inner.state == State::WaitRewrite && inner.rewriting.is_none() && !inner.scheduled
        };
        if retry && !core.shared.persistence.is_busy() {
            let _ = core.bgrewriteaof().await;
        }
    }
}

/// BGREWRITEAOF's reply.
pub(super) fn bgrewriteaof_reply(started: Rewrite) -> Reply {
    match started {
        Rewrite::Started => Reply::Simple("Background append only file rewriting started".into()),
        Rewrite::Scheduled => {
            Reply::Simple("Background append only file rewriting scheduled".into())
        }
        Rewrite::InProgress => {
            Reply::error("ERR Background append only file rewriting already in progress")
        }
        Rewrite::Failed => Reply::error("ERR Can't execute an AOF background rewriting. Please check the server logs for more information."),
    }
}
