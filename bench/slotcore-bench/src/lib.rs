//! slotcore-bench: a cluster-aware, multi-threaded load generator for Redis-compatible servers.
//!
//! Modules, from the wire up:
//!
//! - `resp`: RESP2 encoding, reply skipping (no allocation) and full parsing (control path).
//! - `cluster`: hash slots, the client's slot map, CLUSTER SLOTS discovery, MOVED/ASK parsing.
//! - `config`: the command line (clap).
//! - `workload`: key choice (uniform, zipfian) and command encoding per workload.
//! - `worker`: one thread's epoll loop over its clients' connections, redirections and retries.
//! - `stats`: intervals, counters, percentiles and the report (text and JSON).
//! - `run` (this file): starts the workers, merges their per-second intervals into the
//!   timeline, the totals and the HdrHistogram interval log, and measures the client's CPU.
//! - `plot`: PNG plots of one run or of several runs side by side.

pub mod cluster;
pub mod config;
pub mod plot;
pub mod resp;
pub mod stats;
pub mod worker;
pub mod workload;

use anyhow::{bail, Context};
use config::{Distribution, RunArgs, Workload};
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::Histogram;
use stats::{
    new_histogram, percentile_curve, ClientCpu, CommandReport, Counters, Interval, Percentiles,
    Report, RunSettings, Second,
};
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use worker::{Message, Shared, Worker, WorkerSetup};
use workload::{Generator, OP_KINDS};

const DISCOVERY_TIMEOUT: Duration = Duration::from_secs(2);

/// user and system CPU seconds of this process so far.
pub fn process_cpu_seconds() -> (f64, f64) {
    // SAFETY: getrusage only writes into the struct we pass.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let status = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    if status != 0 {
        return (0.0, 0.0);
    }
    let seconds = |time: libc::timeval| time.tv_sec as f64 + time.tv_usec as f64 / 1e6;
    (seconds(usage.ru_utime), seconds(usage.ru_stime))
}

/// What the collector does with each finished second.
struct Collector<'a> {
    kinds: Vec<usize>,
    totals: Vec<Histogram<u64>>,
    counters: Counters,
    first_error: Option<String>,
    timeline: Vec<Second>,
    /// Seconds not yet closed: some worker may still send its part.
    open: BTreeMap<u64, Interval>,
    /// The first second after the end of a time-bounded run.
    drain_from_second: Option<u64>,
    hdr_log: Option<HdrLog<'a>>,
}

struct HdrLog<'a> {
    writer: hdrhistogram::serialization::interval_log::IntervalLogWriter<
        'a,
        'a,
        std::fs::File,
        V2DeflateSerializer,
    >,
}

impl Collector<'_> {
    fn absorb(&mut self, interval: Interval) {
        let merged = self
            .open
            .entry(interval.second)
            .or_insert_with(|| Interval::new(interval.second));
        for (into, from) in merged.latency.iter_mut().zip(&interval.latency) {
            if !from.is_empty() {
                // Auto-resizing histograms of the same precision always merge.
                let _ = into.add(from);
            }
        }
        merged.counters.add(&interval.counters);
        if merged.first_error.is_none() {
            merged.first_error = interval.first_error;
        }
    }

    /// Closes every second before `before`, in order.
    fn close_until(&mut self, before: u64) -> anyhow::Result<()> {
        while let Some(entry) = self.open.first_entry() {
            if *entry.key() >= before {
                break;
            }
            let interval = entry.remove();
            self.close(interval)?;
        }
        Ok(())
    }

    fn close(&mut self, interval: Interval) -> anyhow::Result<()> {
        let mut all = new_histogram();
        for &kind in &self.kinds {
            let histogram = &interval.latency[kind];
            let _ = all.add(histogram);
            let _ = self.totals[kind].add(histogram);
            if let Some(log) = &mut self.hdr_log {
                if !histogram.is_empty() {
                    log.writer
                        .write_histogram(
                            histogram,
                            Duration::from_secs(interval.second),
                            Duration::from_secs(1),
                            Tag::new(OP_KINDS[kind].name()),
                        )
                        .context("writing the HdrHistogram log")?;
                }
            }
        }
        self.counters.add(&interval.counters);
        if self.first_error.is_none() {
            self.first_error = interval.first_error;
        }
        // Seconds after the end of a time-bounded run only hold the drain of requests in flight;
        // as a throughput figure they would mislead, so the timeline leaves them out.
        if self
            .drain_from_second
            .is_some_and(|first| interval.second >= first)
        {
            return Ok(());
        }
        let percentiles = Percentiles::of(&all);
        self.timeline.push(Second {
            second: interval.second,
            requests: all.len(),
            p50_us: percentiles.p50_us,
            p99_us: percentiles.p99_us,
            max_us: percentiles.max_us,
            errors: interval.counters.events(),
        });
        Ok(())
    }
}

fn settings(arguments: &RunArgs, map: &cluster::SlotMap, threads: usize) -> RunSettings {
    let workload = match arguments.workload {
        Workload::Mix => format!("mix SET:GET {}:{}", arguments.ratio.0, arguments.ratio.1),
        other => Generator::kinds(other)[0].name().to_string(),
    };
    let distribution = match arguments.distribution {
        Distribution::Uniform => "uniform".to_string(),
        Distribution::Zipfian => format!("zipfian {}", arguments.zipf_exponent),
    };
    let target = format!("{}:{}", arguments.host, arguments.port);
    RunSettings {
        label: arguments.label.clone().unwrap_or_else(|| target.clone()),
        target,
        cluster: map.cluster,
        nodes: map.nodes.iter().map(ToString::to_string).collect(),
        workload,
        threads,
        clients: arguments.clients,
        pipeline: arguments.pipeline,
        rate: arguments.rate,
        keyspace: arguments.keyspace,
        distribution,
        value_size: arguments.value_size,
        warmup_s: arguments.warmup.as_secs_f64(),
        duration_s: arguments
            .run_duration()
            .map(|duration| duration.as_secs_f64()),
        requests: arguments.requests,
    }
}

/// Runs one benchmark. `progress`: print a live line on stdout (the caller checks it is a
/// terminal).
pub fn run(arguments: &RunArgs, progress: bool) -> anyhow::Result<Report> {
    if let Err(message) = arguments.validate() {
        bail!(message);
    }
    let seed = cluster::resolve(&arguments.host, arguments.port)
        .with_context(|| format!("resolving {}:{}", arguments.host, arguments.port))?;
    let map = if arguments.no_discovery {
        cluster::SlotMap::single(seed, false)
    } else {
        cluster::discover(seed, DISCOVERY_TIMEOUT)
            .with_context(|| format!("asking {seed} for CLUSTER SLOTS"))?
    };
    // Created before any load is sent, so that a bad path fails the run at once.
    let mut hdr_file = match &arguments.hdr_log {
        Some(path) => Some(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        ),
        None => None,
    };
    let threads = arguments.thread_count();
    let warmup_ns = arguments.warmup.as_nanos() as u64;
    let shared = Arc::new(Shared {
        start: Instant::now(),
        measure_start_ns: warmup_ns,
        stop_ns: arguments
            .run_duration()
            .map(|duration| warmup_ns + duration.as_nanos() as u64),
        budget: arguments.requests.map(|count| AtomicI64::new(count as i64)),
        abort: AtomicBool::new(false),
        completed: AtomicU64::new(0),
        errors: AtomicU64::new(0),
    });
    let started_unix_s = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |since| since.as_secs_f64());
    let (sender, receiver) = mpsc::channel();
    let handles = spawn_workers(arguments, &map, &shared, sender)?;

    let measure_start = shared.start + arguments.warmup;
    let now = Instant::now();
    if measure_start > now {
        std::thread::sleep(measure_start - now);
    }
    let cpu_before = process_cpu_seconds();
    let mut serializer = V2DeflateSerializer::new();
    let hdr_log = match hdr_file.as_mut() {
        Some(file) => {
            let base = UNIX_EPOCH + Duration::from_secs_f64(started_unix_s) + arguments.warmup;
            let writer = IntervalLogWriterBuilder::new()
                .add_comment("slotcore-bench latency log, values in nanoseconds")
                .with_start_time(base)
                .with_base_time(base)
                .with_max_value_divisor(1e6)
                .begin_log_with(file, &mut serializer);
            match writer {
                Ok(writer) => Some(HdrLog { writer }),
                Err(error) => {
                    stop_workers(&shared, handles);
                    bail!("writing the HdrHistogram log header: {error:?}");
                }
            }
        }
        None => None,
    };
    let kinds: Vec<usize> = Generator::kinds(arguments.workload)
        .iter()
        .map(|kind| kind.index())
        .collect();
    let mut collector = Collector {
        kinds: kinds.clone(),
        totals: OP_KINDS.iter().map(|_| new_histogram()).collect(),
        counters: Counters::default(),
        first_error: None,
        timeline: Vec::new(),
        open: BTreeMap::new(),
        drain_from_second: arguments
            .run_duration()
            .map(|duration| duration.as_secs_f64().ceil() as u64),
        hdr_log,
    };
    let collected = collect(&receiver, &mut collector, &shared, threads, progress);
    let last_completion_ns = match collected {
        Ok(last) => last,
        Err(error) => {
            stop_workers(&shared, handles);
            return Err(error);
        }
    };
    for handle in handles {
        if handle.join().is_err() {
            bail!("a worker thread panicked");
        }
    }
    let cpu_after = process_cpu_seconds();
    collector.close_until(u64::MAX)?;
    // The log goes straight to the file (a few writes per second), so nothing is left to flush.
    drop(collector.hdr_log.take());
    let elapsed_s = (last_completion_ns.saturating_sub(warmup_ns) as f64 / 1e9).max(1e-9);
    let cpu = (cpu_after.0 - cpu_before.0, cpu_after.1 - cpu_before.1);
    let settings = settings(arguments, &map, threads);
    Ok(build_report(
        collector,
        &kinds,
        settings,
        started_unix_s,
        elapsed_s,
        cpu,
    ))
}

/// Starts one worker thread per share of the clients. On failure the ones already started are
/// told to stop and joined.
fn spawn_workers(
    arguments: &RunArgs,
    map: &cluster::SlotMap,
    shared: &Arc<Shared>,
    sender: mpsc::Sender<Message>,
) -> anyhow::Result<Vec<std::thread::JoinHandle<()>>> {
    let threads = arguments.thread_count();
    let mut handles = Vec::new();
    let mut first_client = 0;
    for thread in 0..threads {
        let client_count =
            arguments.clients / threads + usize::from(thread < arguments.clients % threads);
        let setup = WorkerSetup {
            id: thread,
            arguments: arguments.clone(),
            map: map.clone(),
            client_count,
            first_client,
            total_clients: arguments.clients,
            seed: arguments.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ thread as u64,
        };
        first_client += client_count;
        let started = Worker::new(setup, Arc::clone(shared), sender.clone())
            .map_err(|message| anyhow::anyhow!(message))
            .and_then(|worker| {
                std::thread::Builder::new()
                    .name(format!("bench-worker-{thread}"))
                    .spawn(move || worker.run())
                    .context("starting a worker thread")
            });
        match started {
            Ok(handle) => handles.push(handle),
            Err(error) => {
                stop_workers(shared, handles);
                return Err(error);
            }
        }
    }
    Ok(handles)
}

fn stop_workers(shared: &Shared, handles: Vec<std::thread::JoinHandle<()>>) {
    shared.abort.store(true, Ordering::Relaxed);
    for handle in handles {
        let _ = handle.join();
    }
}

fn build_report(
    collector: Collector,
    kinds: &[usize],
    settings: RunSettings,
    started_unix_s: f64,
    elapsed_s: f64,
    (user_s, system_s): (f64, f64),
) -> Report {
    let mut all = new_histogram();
    let mut commands = Vec::new();
    for &kind in kinds {
        let histogram = &collector.totals[kind];
        let _ = all.add(histogram);
        commands.push(CommandReport {
            command: OP_KINDS[kind].name().to_string(),
            requests: histogram.len(),
            throughput_rps: histogram.len() as f64 / elapsed_s,
            latency: Percentiles::of(histogram),
        });
    }
    Report {
        tool: "slotcore-bench".to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        started_unix_s,
        settings,
        elapsed_s,
        requests: all.len(),
        throughput_rps: all.len() as f64 / elapsed_s,
        latency: Percentiles::of(&all),
        commands,
        errors: collector.counters,
        first_error: collector.first_error,
        client_cpu: ClientCpu {
            user_s,
            system_s,
            us_per_request: (user_s + system_s) * 1e6 / all.len().max(1) as f64,
        },
        timeline: collector.timeline,
        percentile_distribution: percentile_curve(&all),
    }
}

/// Receives intervals until every worker is done; returns when the last measured request
/// completed (ns after start).
fn collect(
    receiver: &mpsc::Receiver<Message>,
    collector: &mut Collector,
    shared: &Shared,
    threads: usize,
    progress: bool,
) -> anyhow::Result<u64> {
    // The newest second each worker has sent; a second is closed (and written to the log) once
    // every worker still running has moved past it.
    let mut latest = vec![0u64; threads];
    let mut running = threads;
    let mut last_completion_ns = 0;
    let mut next_progress = Instant::now() + Duration::from_secs(1);
    while running > 0 {
        match receiver.recv_timeout(Duration::from_millis(250)) {
            Ok(Message::Interval { worker, interval }) => {
                latest[worker] = latest[worker].max(interval.second);
                collector.absorb(*interval);
            }
            Ok(Message::Done {
                worker,
                last_completion_ns: last,
            }) => {
                running -= 1;
                latest[worker] = u64::MAX;
                last_completion_ns = last_completion_ns.max(last);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        let closed_before = latest.iter().copied().min().unwrap_or(u64::MAX);
        if closed_before != u64::MAX {
            collector.close_until(closed_before)?;
        }
        if progress && Instant::now() >= next_progress {
            next_progress += Duration::from_secs(1);
            print_progress(shared);
        }
    }
    if progress {
        print!("\r\x1b[2K");
        let _ = std::io::stdout().flush();
    }
    Ok(last_completion_ns)
}

fn print_progress(shared: &Shared) {
    let elapsed = shared.start.elapsed().as_secs_f64();
    let measuring = elapsed - shared.measure_start_ns as f64 / 1e9;
    let completed = shared.completed.load(Ordering::Relaxed);
    let errors = shared.errors.load(Ordering::Relaxed);
    let line = if measuring < 0.0 {
        format!("warming up: {:.0}s left", -measuring)
    } else {
        format!(
            "{measuring:6.1}s  {completed:>10} requests  {:>10.0} requests/s  {errors} errors",
            completed as f64 / measuring.max(1e-3)
        )
    };
    print!("\r\x1b[2K{line}");
    let _ = std::io::stdout().flush();
}
