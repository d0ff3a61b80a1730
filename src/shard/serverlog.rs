//! SLOWLOG and the LATENCY monitor: what each core keeps of the commands
//! that ran slowly and of latency events, and the commands that gather it
//! from every core.
//!
//! Each core logs what ran on it. A command run for a client of another
//! core (a cross-core hop) is timed where it runs; when it was slow, its
//! record travels back with the batch's replies and the client's own core
//! logs it with the client's address and name. Entry ids come from one
//! process-wide counter, so SLOWLOG GET merges the cores' logs by id into
//! the order Redis would show. Latency events are kept per core as Redis
//! keeps them per process (a sample per second, the worst of that second,
//! 160 seconds of history) and merged second by second.

use super::conn::Conn;
use super::mesh::Op;
use super::Core;
use crate::command::{parse_int, CommandSpec};
use crate::protocol::{Arg, Reply};
use bytes::Bytes;
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};

/// Redis's SLOWLOG_ENTRY_MAX_ARGC and SLOWLOG_ENTRY_MAX_STRING.
const ENTRY_ARGS_MAX: usize = 32;
const ENTRY_ARG_BYTES_MAX: usize = 128;
/// Seconds of history per latency event (Redis's LATENCY_TS_LEN).
const HISTORY_LEN: usize = 160;
/// LATENCY GRAPH's width in samples.
const GRAPH_COLUMNS: usize = 80;

/// The next slowlog entry's id, shared by every core.
static NEXT_ENTRY_ID: AtomicU64 = AtomicU64::new(0);
/// The oldest entry id still in the node's slowlog. Every id is logged by
/// some core, so the node's log is the ids from here to the newest one, as
/// Redis's one list is: a push with `slowlog-max-len` N moves this up to
/// keep N, SLOWLOG RESET moves it past every id, and each core forgets the
/// entries below it.
static OLDEST_ENTRY_ID: AtomicU64 = AtomicU64::new(0);

fn oldest_entry_id() -> u64 {
    OLDEST_ENTRY_ID.load(Ordering::Relaxed)
}

fn unix_seconds() -> i64 {
    (crate::command::now_ms() / 1000) as i64
}

/// What the slowlog keeps of a command, before it knows the client.
pub struct SlowRecord {
    /// Its op's place in a cross-core batch, for the client's core to put
    /// the record in the pipeline's order.
    pub op: u32,
    time: i64,
    micros: u64,
    args: Vec<Bytes>,
}

impl SlowRecord {
    /// At most 32 arguments (the last one saying how many more there
    /// were), each cut to 128 bytes, and passwords redacted, as Redis logs
    /// them.
    pub fn new(spec: &CommandSpec, argv: &[Arg<'_>], micros: u64) -> SlowRecord {
        let redacted = redacted_positions(spec, argv);
        let kept = argv.len().min(ENTRY_ARGS_MAX);
        let args = (0..kept)
            .map(|i| {
                if kept < argv.len() && i == kept - 1 {
                    let more = argv.len() - kept + 1;
                    Bytes::from(format!("... ({more} more arguments)"))
                } else if redacted.contains(&i) {
                    Bytes::from_static(b"(redacted)")
                } else if argv[i].len() > ENTRY_ARG_BYTES_MAX {
                    let mut cut = argv[i][..ENTRY_ARG_BYTES_MAX].to_vec();
                    let more = argv[i].len() - ENTRY_ARG_BYTES_MAX;
                    cut.extend_from_slice(format!("... ({more} more bytes)").as_bytes());
                    Bytes::from(cut)
                } else {
                    // A copy: a slice would keep the whole read buffer alive.
                    Bytes::copy_from_slice(&argv[i])
                }
            })
            .collect();
        SlowRecord {
            op: 0,
            time: unix_seconds(),
            micros,
            args,
        }
    }
}

/// The arguments Redis replaces by "(redacted)": passwords of AUTH, HELLO
/// AUTH and MIGRATE AUTH/AUTH2, and the values of sensitive parameters in
/// CONFIG SET.
pub(super) fn redacted_positions(spec: &CommandSpec, argv: &[Arg<'_>]) -> Vec<usize> {
    let is = |i: usize, word: &str| {
        argv.get(i)
            .is_some_and(|a| a.eq_ignore_ascii_case(word.as_bytes()))
    };
    match spec.name {
        "auth" if argv.len() <= 3 => (1..argv.len()).collect(),
        "hello" => (1..argv.len())
            .filter(|&i| is(i, "auth") && i + 2 < argv.len())
            .flat_map(|i| [i + 1, i + 2])
            .collect(),
        "migrate" => (6..argv.len())
            .flat_map(|i| match () {
                _ if is(i, "auth") => vec![i + 1],
                _ if is(i, "auth2") => vec![i + 1, i + 2],
                _ => vec![],
            })
            .filter(|&i| i < argv.len())
            .collect(),
        "config" if is(1, "set") => (2..argv.len())
            .step_by(2)
            .filter(|&i| {
                ["masterauth", "masteruser", "requirepass"]
                    .iter()
                    .any(|p| is(i, p))
            })
            .map(|i| i + 1)
            .filter(|&i| i < argv.len())
            .collect(),
        _ => Vec::new(),
    }
}

struct SlowEntry {
    id: u64,
    record: SlowRecord,
    peer: String,
    name: String,
}

/// A core's slow commands, newest first.
#[derive(Default)]
pub struct SlowLog {
    entries: VecDeque<SlowEntry>,
}

impl SlowLog {
    fn push(&mut self, record: SlowRecord, peer: String, name: String, max_len: u64) {
        let id = NEXT_ENTRY_ID.fetch_add(1, Ordering::Relaxed);
        OLDEST_ENTRY_ID.fetch_max((id + 1).saturating_sub(max_len), Ordering::Relaxed);
        self.entries.push_front(SlowEntry {
            id,
            record,
            peer,
            name,
        });
        self.forget_old();
    }

    /// Drops the entries no longer in the node's log.
    fn forget_old(&mut self) {
        let oldest = oldest_entry_id();
        while self.entries.back().is_some_and(|entry| entry.id < oldest) {
            self.entries.pop_back();
        }
    }

    fn reset(&mut self) {
        OLDEST_ENTRY_ID.fetch_max(NEXT_ENTRY_ID.load(Ordering::Relaxed), Ordering::Relaxed);
        self.entries.clear();
    }

    fn to_reply(&self, count: usize) -> Reply {
        let oldest = oldest_entry_id();
        Reply::Array(
            self.entries
                .iter()
                .take_while(|entry| entry.id >= oldest)
                .take(count)
                .map(|entry| {
                    Reply::Array(vec![
                        Reply::Int(entry.id as i64),
                        Reply::Int(entry.record.time),
                        Reply::Int(entry.record.micros as i64),
                        Reply::Array(entry.record.args.iter().cloned().map(Reply::Bulk).collect()),
                        Reply::bulk_str(&entry.peer),
                        Reply::bulk_str(&entry.name),
                    ])
                })
                .collect(),
        )
    }
}

/// One latency event's history: a sample per second (the worst of that
/// second), oldest first, and the worst ever.
#[derive(Default, Clone)]
struct Series {
    samples: VecDeque<(i64, u64)>,
    max: u64,
}

impl Series {
    fn add(&mut self, time: i64, ms: u64) {
        self.max = self.max.max(ms);
        match self.samples.back_mut() {
            Some((last, worst)) if *last == time => *worst = (*worst).max(ms),
            _ => {
                self.samples.push_back((time, ms));
                if self.samples.len() > HISTORY_LEN {
                    self.samples.pop_front();
                }
            }
        }
    }
}

/// A core's latency events by name, in the order they first happened.
#[derive(Default)]
pub struct LatencyEvents {
    events: Vec<(&'static str, Series)>,
}

impl LatencyEvents {
    fn add(&mut self, event: &'static str, ms: u64) {
        let time = unix_seconds();
        match self.events.iter_mut().find(|(name, _)| *name == event) {
            Some((_, series)) => series.add(time, ms),
            None => {
                let mut series = Series::default();
                series.add(time, ms);
                self.events.push((event, series));
            }
        }
    }

    /// Every event as [name, [time, ms, time, ms, ...], max].
    fn to_reply(&self) -> Reply {
        Reply::Array(
            self.events
                .iter()
                .map(|(name, series)| {
                    let samples = series
                        .samples
                        .iter()
                        .flat_map(|&(time, ms)| [Reply::Int(time), Reply::Int(ms as i64)])
                        .collect();
                    Reply::Array(vec![
                        Reply::bulk_str(name),
                        Reply::Array(samples),
                        Reply::Int(series.max as i64),
                    ])
                })
                .collect(),
        )
    }
}

impl Core {
    /// A client command ran on this core for `nanos`: the latency
    /// monitor's sample when it took long enough, and the slowlog's record
    /// when it was slow (the caller logs it with the client's address).
    #[inline]
    pub fn command_ran(
        &self,
        spec: &CommandSpec,
        argv: &[Arg<'_>],
        nanos: u64,
    ) -> Option<SlowRecord> {
        let micros = nanos / 1000;
        let (slower_than, latency_threshold) = {
            let config = &self.db.borrow().config;
            (
                config.slowlog_log_slower_than,
                config.latency_monitor_threshold,
            )
        };
        if latency_threshold > 0 && micros / 1000 >= latency_threshold {
            let event = if spec.flags.contains(&"fast") {
                "fast-command"
            } else {
                "command"
            };
            self.latency_event(event, micros / 1000);
        }
        if slower_than < 0 || (micros as i64) < slower_than || spec.flags.contains(&"skip_slowlog")
        {
            return None;
        }
        Some(SlowRecord::new(spec, argv, micros))
    }

    /// Samples `ms` for a latency event when the monitor is on and it is
    /// over the threshold (Redis's latencyAddSampleIfNeeded).
    pub fn latency_sample(&self, event: &'static str, ms: u64) {
        let threshold = self.db.borrow().config.latency_monitor_threshold;
        if threshold > 0 && ms >= threshold {
            self.latency_event(event, ms);
        }
    }

    fn latency_event(&self, event: &'static str, ms: u64) {
        self.latency_events.borrow_mut().add(event, ms);
    }

    /// Whether the latency monitor is on (what a caller checks before it
    /// times something only the monitor wants).
    pub fn latency_monitor_on(&self) -> bool {
        self.db.borrow().config.latency_monitor_threshold > 0
    }

    /// Logs a slow command of a client of this core.
    pub fn log_slow(&self, record: SlowRecord, peer: String, name: String) {
        let max_len = self.db.borrow().config.slowlog_max_len;
        self.slowlog.borrow_mut().push(record, peer, name, max_len);
    }
}

impl Conn {
    /// A command of this client ran here for `nanos`: the latency monitor
    /// and the slowlog take note.
    #[inline]
    pub(super) fn command_ran(&mut self, spec: &CommandSpec, argv: &[Arg<'_>], nanos: u64) {
        if self.nested > 0 {
            return;
        }
        if let Some(record) = self.core.command_ran(spec, argv, nanos) {
            if self.plan_is_active() {
                // Earlier commands of the pipeline are on other cores:
                // logged with theirs, in order.
                self.queue_slow(record);
            } else {
                self.log_slow(record);
            }
        }
    }

    /// An unknown subcommand, or one with the wrong number of arguments.
    pub(super) fn subcommand_check(&self, argv: &[Arg<'_>]) -> Option<Reply> {
        let spec = crate::command::lookup(&argv[0])?;
        super::conn::subcommand_error(spec, argv)
    }

    /// Logs a slow command of this client (run here or on another core).
    pub(super) fn log_slow(&self, record: SlowRecord) {
        let name = self.handle.name.borrow().clone();
        self.core
            .log_slow(record, self.handle.addr.to_string(), name);
    }

    /// SLOWLOG GET [count] | LEN | RESET | HELP.
    pub(super) async fn slowlog(&mut self, argv: &[Arg<'_>]) -> Reply {
        if let Some(error) = self.subcommand_check(argv) {
            return error;
        }
        let sub = String::from_utf8_lossy(&argv[1]).to_ascii_lowercase();
        match (sub.as_str(), argv.len()) {
            ("help", 2) => crate::command::keys::help_reply(&[
                "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "GET [<count>]",
                "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
                "    Entries are made of:",
                "    id, timestamp, time in microseconds, arguments array, client IP and port,",
                "    client name",
                "LEN",
                "    Return the length of the slowlog.",
                "RESET",
                "    Reset the slowlog.",
                "HELP",
                "    Prints this help.",
            ]),
            ("reset", 2) => {
                self.on_all(|| Op::Core(slowlog_reset_core, vec![])).await;
                Reply::ok()
            }
            ("len", 2) => Reply::Int(self.slowlog_entries(usize::MAX).await.len() as i64),
            ("get", 2 | 3) => {
                let count = match argv.get(2).map(|a| parse_int(a)) {
                    None => 10,
                    Some(Some(count)) if count >= -1 => count,
                    Some(_) => {
                        return Reply::error("ERR count should be greater than or equal to -1")
                    }
                };
                let count = usize::try_from(count).unwrap_or(usize::MAX);
                Reply::Array(self.slowlog_entries(count).await)
            }
            _ => syntax_error("SLOWLOG", &argv[1]),
        }
    }

    /// The newest `count` entries of every core's slowlog, newest first.
    async fn slowlog_entries(&self, count: usize) -> Vec<Reply> {
        let limit = Bytes::from(count.min(i64::MAX as usize).to_string());
        let parts = self
            .on_all(|| Op::Core(slowlog_core, vec![limit.clone()]))
            .await;
        let mut entries: Vec<Reply> = parts
            .into_iter()
            .flat_map(super::coord::array_items)
            .collect();
        let id = |entry: &Reply| match entry {
            Reply::Array(fields) => match fields.first() {
                Some(Reply::Int(id)) => *id,
                _ => 0,
            },
            _ => 0,
        };
        entries.sort_by_key(|entry| std::cmp::Reverse(id(entry)));
        entries.truncate(count);
        entries
    }

    /// LATENCY LATEST | HISTORY event | RESET [event ...] | GRAPH event |
    /// DOCTOR | HISTOGRAM [command ...] | HELP.
    pub(super) async fn latency(&mut self, argv: &[Arg<'_>]) -> Reply {
        if let Some(error) = self.subcommand_check(argv) {
            return error;
        }
        let sub = String::from_utf8_lossy(&argv[1]).to_ascii_lowercase();
        match (sub.as_str(), argv.len()) {
            ("help", 2) => crate::command::keys::help_reply(&[
                "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "DOCTOR",
                "    Return a human readable latency analysis report.",
                "GRAPH <event>",
                "    Return an ASCII latency graph for the <event> class.",
                "HISTORY <event>",
                "    Return time-latency samples for the <event> class.",
                "LATEST",
                "    Return the latest latency samples for all events.",
                "RESET [<event> ...]",
                "    Reset latency data of one or more <event> classes.",
                "    (default: reset all data for all event classes)",
                "HISTOGRAM [COMMAND ...]",
                "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
                "    If no commands are specified then all histograms are replied.",
                "HELP",
                "    Prints this help.",
            ]),
            ("latest", 2) => {
                let events = self.latency_events().await;
                Reply::Array(
                    events
                        .iter()
                        .map(|(name, series)| {
                            let (time, ms) = series.samples.back().copied().unwrap_or((0, 0));
                            Reply::Array(vec![
                                Reply::bulk_str(name),
                                Reply::Int(time),
                                Reply::Int(ms as i64),
                                Reply::Int(series.max as i64),
                            ])
                        })
                        .collect(),
                )
            }
            ("history", 3) => {
                let events = self.latency_events().await;
                let wanted = String::from_utf8_lossy(&argv[2]);
                let samples = events
                    .iter()
                    .find(|(name, _)| *name == wanted)
                    .map(|(_, series)| {
                        series
                            .samples
                            .iter()
                            .map(|&(time, ms)| {
                                Reply::Array(vec![Reply::Int(time), Reply::Int(ms as i64)])
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                Reply::Array(samples)
            }
            ("graph", 3) => {
                let events = self.latency_events().await;
                let wanted = String::from_utf8_lossy(&argv[2]);
                match events.iter().find(|(name, _)| *name == wanted) {
                    Some((name, series)) => Reply::Verbatim(graph(name, series)),
                    None => Reply::error_owned(format!(
                        "ERR No samples available for event '{wanted}'"
                    )),
                }
            }
            ("doctor", 2) => {
                let events = self.latency_events().await;
                let report = {
                    let config = &self.core.db.borrow().config;
                    doctor(&events, config)
                };
                Reply::Verbatim(report)
            }
            ("reset", _) => {
                let names: Vec<Bytes> = argv[2..].iter().map(Arg::to_bytes).collect();
                let before = self.latency_events().await;
                self.on_all(|| Op::Core(latency_reset_core, names.clone()))
                    .await;
                let reset = before
                    .iter()
                    .filter(|(name, _)| {
                        names.is_empty()
                            || names.iter().any(|n| n.eq_ignore_ascii_case(name.as_bytes()))
                    })
                    .count();
                Reply::Int(reset as i64)
            }
            ("histogram", _) => self.latency_histogram(&argv[2..]).await,
            _ => syntax_error("LATENCY", &argv[1]),
        }
    }

    /// Every core's latency events merged: per second the worst sample,
    /// the last 160 seconds, the worst ever; in the order each event first
    /// appeared on the lowest core that has it.
    async fn latency_events(&self) -> Vec<(String, Series)> {
        let parts = self.on_all(|| Op::Core(latency_core, vec![])).await;
        let mut merged: Vec<(String, BTreeMap<i64, u64>, u64)> = Vec::new();
        for event in parts.into_iter().flat_map(super::coord::array_items) {
            let Reply::Array(fields) = event else {
                continue;
            };
            let [Reply::Bulk(name), Reply::Array(samples), Reply::Int(max)] = &fields[..] else {
                continue;
            };
            let name = String::from_utf8_lossy(name).into_owned();
            let index = match merged.iter().position(|(n, ..)| *n == name) {
                Some(index) => index,
                None => {
                    merged.push((name, BTreeMap::new(), 0));
                    merged.len() - 1
                }
            };
            let (_, seconds, worst) = &mut merged[index];
            *worst = (*worst).max(*max as u64);
            for pair in samples.chunks_exact(2) {
                if let [Reply::Int(time), Reply::Int(ms)] = pair {
                    let slot = seconds.entry(*time).or_insert(0);
                    *slot = (*slot).max(*ms as u64);
                }
            }
        }
        merged
            .into_iter()
            .map(|(name, seconds, max)| {
                let skip = seconds.len().saturating_sub(HISTORY_LEN);
                let samples = seconds.into_iter().skip(skip).collect();
                (name, Series { samples, max })
            })
            .collect()
    }

    /// LATENCY HISTOGRAM: each command's call durations as a cumulative
    /// distribution over power-of-two microsecond buckets.
    async fn latency_histogram(&mut self, names: &[Arg<'_>]) -> Reply {
        let (stats, _) = self.gather_stats().await;
        let histograms = stats.latencies();
        let wanted = |full: &str| {
            names.is_empty()
                || names.iter().any(|name| {
                    let name = String::from_utf8_lossy(name).to_ascii_lowercase();
                    // A container names its subcommands too, as Redis
                    // answers `client` with `client|id`, `client|list`...
                    // and `client|id` is one of them.
                    let command = name.split('|').next().unwrap_or_default();
                    crate::command::lookup(command.as_bytes()).is_some()
                        && (full == name || full.split('|').next() == Some(name.as_str()))
                })
        };
        let mut rows: Vec<(String, Reply)> = histograms
            .into_iter()
            .filter(|(name, _)| wanted(name))
            .map(|(name, histogram)| {
                let reply = cumulative(histogram);
                (name, reply)
            })
            .collect();
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        Reply::Map(
            rows.into_iter()
                .map(|(name, reply)| (Reply::bulk_str(&name), reply))
                .collect(),
        )
    }
}

/// Redis's addReplySubcommandSyntaxError.
pub(super) fn syntax_error(command: &str, sub: &[u8]) -> Reply {
    let sub: String = String::from_utf8_lossy(sub).chars().take(128).collect();
    Reply::error_owned(format!(
        "ERR unknown subcommand or wrong number of arguments for '{sub}'. Try {command} HELP."
    ))
}

/// One histogram as Redis's fillCommandCDF writes it: calls, then per
/// power-of-two bucket (from 1024 ns) its upper bound in microseconds and
/// the calls up to it, leaving out buckets that add none.
fn cumulative(histogram: &super::stats::Latency) -> Reply {
    let mut buckets = Vec::new();
    let mut previous = 0;
    let mut upper: u64 = 1024;
    let max = histogram.max();
    loop {
        let count = histogram.count_between(0, upper - 1);
        if count > previous {
            buckets.push((
                Reply::Int(((upper - 1) / 1000) as i64),
                Reply::Int(count as i64),
            ));
            previous = count;
        }
        if upper > max || upper >= 1 << 40 {
            break;
        }
        upper *= 2;
    }
    Reply::Map(vec![
        (
            Reply::bulk_static("calls"),
            Reply::Int(histogram.len() as i64),
        ),
        (Reply::bulk_static("histogram_usec"), Reply::Map(buckets)),
    ])
}

/// LATENCY GRAPH: a title, a rule, and the samples as a sparkline of four
/// rows with each sample's age under it, as Redis draws it.
fn graph(name: &str, series: &Series) -> String {
    let now = unix_seconds();
    let values: Vec<u64> = series.samples.iter().map(|&(_, ms)| ms).collect();
    let low = values.iter().copied().min().unwrap_or(0);
    let high = values.iter().copied().max().unwrap_or(0);
    let labels: Vec<String> = series
        .samples
        .iter()
        .map(|&(time, _)| {
            let elapsed = now - time;
            match elapsed {
                e if e < 60 => format!("{e}s"),
                e if e < 3600 => format!("{}m", e / 60),
                e if e < 86400 => format!("{}h", e / 3600),
                e => format!("{}d", e / 86400),
            }
        })
        .collect();
    let mut out = format!(
        "{name} - high {high} ms, low {low} ms (all time high {} ms)\n{}\n",
        series.max,
        "-".repeat(GRAPH_COLUMNS)
    );
    let chunks: Vec<usize> = (0..values.len()).step_by(GRAPH_COLUMNS).collect();
    for (n, &start) in chunks.iter().enumerate() {
        if n > 0 {
            out.push('\n');
        }
        let end = (start + GRAPH_COLUMNS).min(values.len());
        sparkline(
            &mut out,
            &values[start..end],
            &labels[start..end],
            low,
            high,
        );
    }
    out
}

/// Four rows of `_o#` bars (full columns below as `|`), then the labels
/// written downwards after one blank row.
fn sparkline(out: &mut String, values: &[u64], labels: &[String], low: u64, high: u64) {
    const CHARSET: &[u8] = b"_o#";
    const ROWS: i64 = 4;
    let range = if high == low {
        1.0
    } else {
        (high - low) as f64
    };
    let steps = CHARSET.len() as i64 * ROWS;
    let step =
        |value: u64| (((value - low) as f64 * steps as f64 / range) as i64).clamp(0, steps - 1);
    for row in 0..ROWS {
        let line: String = values
            .iter()
            .map(|&value| {
                let index = step(value) - (ROWS - row - 1) * CHARSET.len() as i64;
                match index {
                    i if (0..CHARSET.len() as i64).contains(&i) => CHARSET[i as usize] as char,
                    i if i >= CHARSET.len() as i64 => '|',
                    _ => ' ',
                }
            })
            .collect();
        out.push_str(&line);
        out.push('\n');
    }
    let longest = labels.iter().map(String::len).max().unwrap_or(0);
    if longest == 0 {
        return;
    }
    out.push_str(&" ".repeat(values.len()));
    out.push('\n');
    for row in 0..longest {
        let line: String = labels
            .iter()
            .map(|label| label.as_bytes().get(row).map_or(' ', |&b| b as char))
            .collect();
        out.push_str(&line);
        out.push('\n');
    }
}

/// LATENCY DOCTOR: Redis's report, for the events slotcore records.
fn doctor(events: &[(String, Series)], config: &crate::config::Config) -> String {
    if events.is_empty() && config.latency_monitor_threshold == 0 {
        return "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n".into();
    }
    let now = unix_seconds();
    let mut report = String::new();
    let mut advise = std::collections::BTreeSet::new();
    for (number, (name, series)) in events.iter().enumerate() {
        if number == 0 {
            report.push_str("Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n");
        }
        let samples = series.samples.len() as u64;
        let sum: u64 = series.samples.iter().map(|&(_, ms)| ms).sum();
        let avg = sum.checked_div(samples).unwrap_or(0);
        let mad = series
            .samples
            .iter()
            .map(|&(_, ms)| ms.abs_diff(avg))
            .sum::<u64>()
            .checked_div(samples)
            .unwrap_or(0);
        let oldest = series.samples.front().map_or(now, |&(time, _)| time);
        let period = (now - oldest).max(1) as f64;
        report.push_str(&format!(
            "{}. {name}: {samples} latency spikes (average {avg}ms, mean deviation {mad}ms, period {:.2} sec). Worst all time event {}ms.\n",
            number + 1,
            period / samples.max(1) as f64,
            series.max
        ));
        match name.as_str() {
            "command" => {
                if config.slowlog_log_slower_than < 0 {
                    advise.insert(Advice::SlowlogEnable);
                } else if config.slowlog_log_slower_than as u64 / 1000
                    > config.latency_monitor_threshold
                {
                    advise.insert(Advice::SlowlogTune);
                }
                advise.insert(Advice::SlowlogInspect);
                advise.insert(Advice::LargeObjects);
            }
            "fast-command" => {
                advise.insert(Advice::Scheduler);
            }
            "expire-cycle" => {
                if config.hz < 100 {
                    advise.insert(Advice::Hz);
                }
                advise.insert(Advice::LargeObjects);
            }
            "eviction-del" => {
                advise.insert(Advice::LargeObjects);
            }
            "eviction-cycle" => {
                advise.insert(Advice::MassEviction);
            }
            _ => {}
        }
    }
    if events.is_empty() && advise.is_empty() {
        report.push_str("Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n");
    } else if advise.is_empty() {
        report.push_str("\nWhile there are latency events logged, I'm not able to suggest any easy fix. Please use the Redis community to get some help, providing this report in your help request.\n");
    } else {
        report.push_str("\nI have a few advices for you:\n\n");
        let threshold_us = config.latency_monitor_threshold * 1000;
        for advice in advise {
            report.push_str(&match advice {
                Advice::SlowlogEnable => format!("- There are latency issues with potentially slow commands you are using. Try to enable the Slow Log Redis feature using the command 'CONFIG SET slowlog-log-slower-than {threshold_us}'. If the Slow log is disabled Redis is not able to log slow commands execution for you.\n"),
                Advice::SlowlogTune => format!("- Your current Slow Log configuration only logs events that are slower than your configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than {threshold_us}'.\n"),
                Advice::SlowlogInspect => "- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n".into(),
                Advice::Scheduler => "- The system is slow to execute Redis code paths not containing system calls. This usually means the system does not provide Redis CPU time to run for long periods. You should try to:\n  1) Lower the system load.\n  2) Use a computer / VM just for Redis if you are running other software in the same system.\n  3) Check if you have a \"noisy neighbour\" problem.\n  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency in your system.\n  5) Check if the problem is allocator-related by recompiling Redis with MALLOC=libc, if you are using Jemalloc. However this may create fragmentation problems.\n".into(),
                Advice::Hz => "- In order to make the Redis keys expiring process more incremental, try to set the 'hz' configuration parameter to 100 using 'CONFIG SET hz 100'.\n".into(),
                Advice::LargeObjects => "- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.\n".into(),
                Advice::MassEviction => "- Sudden changes to the 'maxmemory' setting via 'CONFIG SET', or allocation of large objects via sets or sorted sets intersections, STORE option of SORT, Redis Cluster large keys migrations (RESTORE command), may create sudden memory pressure forcing the server to block trying to evict keys. \n".into(),
            });
        }
    }
    report
}

/// DOCTOR's advice, in the order Redis gives it.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Advice {
    SlowlogEnable,
    SlowlogTune,
    SlowlogInspect,
    Scheduler,
    Hz,
    LargeObjects,
    MassEviction,
}

/// This core's newest argv[0] slowlog entries.
fn slowlog_core(core: &Core, argv: &[Arg<'_>]) -> Reply {
    let count = parse_int(&argv[0]).unwrap_or(0).max(0) as usize;
    core.slowlog.borrow().to_reply(count)
}

fn slowlog_reset_core(core: &Core, _argv: &[Arg<'_>]) -> Reply {
    core.slowlog.borrow_mut().reset();
    Reply::ok()
}

fn latency_core(core: &Core, _argv: &[Arg<'_>]) -> Reply {
    core.latency_events.borrow().to_reply()
}

/// Forgets the events named in argv (any case), or all of them.
fn latency_reset_core(core: &Core, argv: &[Arg<'_>]) -> Reply {
    core.latency_events.borrow_mut().events.retain(|(name, _)| {
        !argv.is_empty() && !argv.iter().any(|n| n.eq_ignore_ascii_case(name.as_bytes()))
    });
    Reply::ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str) -> &'static CommandSpec {
        crate::command::lookup(name.as_bytes()).expect("a command")
    }

    fn args(words: &[&str]) -> Vec<Bytes> {
        words.iter().map(|w| Bytes::from(w.to_string())).collect()
    }

    fn logged(words: &[&str]) -> Vec<String> {
        let argv = args(words);
        let argv = crate::protocol::args_of(&argv);
        SlowRecord::new(spec(words[0]), &argv, 1)
            .args
            .iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect()
    }

    #[test]
    fn entries_keep_32_arguments_of_128_bytes() {
        let many: Vec<String> = (0..40).map(|i| i.to_string()).collect();
        let mut words = vec!["sadd", "set"];
        words.extend(many.iter().map(String::as_str));
        let kept = logged(&words);
        assert_eq!(kept.len(), 32);
        assert_eq!(kept[30], "28");
        assert_eq!(kept[31], "... (11 more arguments)");
        let long = "A".repeat(129);
        let kept = logged(&["sadd", "set", &long]);
        assert_eq!(kept[2], format!("{}... (1 more bytes)", "A".repeat(128)));
    }

    #[test]
    fn passwords_are_redacted_as_redis_does() {
        assert_eq!(logged(&["auth", "secret"]), ["auth", "(redacted)"]);
        assert_eq!(
            logged(&["auth", "u", "p"]),
            ["auth", "(redacted)", "(redacted)"]
        );
        assert_eq!(
            logged(&["hello", "3", "AUTH", "u", "p", "SETNAME", "n"]),
            [
                "hello",
                "3",
                "AUTH",
                "(redacted)",
                "(redacted)",
                "SETNAME",
                "n"
            ]
        );
        assert_eq!(
            logged(&["migrate", "h", "1", "k", "0", "5000", "AUTH2", "u", "p"]),
            [
                "migrate",
                "h",
                "1",
                "k",
                "0",
                "5000",
                "AUTH2",
                "(redacted)",
                "(redacted)"
            ]
        );
        assert_eq!(
            logged(&["config", "set", "maxmemory", "1", "requirepass", "x"]),
            [
                "config",
                "set",
                "maxmemory",
                "1",
                "requirepass",
                "(redacted)"
            ]
        );
    }

    #[test]
    fn latency_samples_keep_the_worst_of_each_second() {
        let mut series = Series::default();
        series.add(10, 5);
        series.add(10, 9);
        series.add(10, 7);
        series.add(11, 3);
        assert_eq!(series.samples, [(10, 9), (11, 3)]);
        assert_eq!(series.max, 9);
        for second in 12..400 {
            series.add(second, 1);
        }
        assert_eq!(series.samples.len(), HISTORY_LEN);
        assert_eq!(series.samples.back(), Some(&(399, 1)));
    }
}
