//! Per-core counters for INFO. Each core counts its own; INFO sums them.

use crate::command::{CommandStats, COMMANDS};
use hdrhistogram::Histogram;
use std::collections::HashMap;

/// Call durations of one command in nanoseconds, for INFO latencystats
/// (the same histogram kind and bounds as Redis: 1 ns to 1 s, 2 digits).
pub type Latency = Histogram<u64>;

fn new_latency() -> Option<Latency> {
    Histogram::new_with_bounds(1, 1_000_000_000, 2).ok()
}

#[derive(Default, Clone)]
pub struct CoreStats {
    /// Node-wide distinct channels, patterns and shard channels with
    /// subscribers; filled in only for INFO's merged copy.
    pub pubsub_counts: [usize; 3],
    pub commands: Vec<CommandStats>,
    pub errors: HashMap<String, u64>,
    /// Container subcommands by full name (`client|list`).
    pub subcommands: HashMap<String, CommandStats>,
    /// Call durations per command-table row, created on first call.
    pub latency: Vec<Option<Box<Latency>>>,
    /// Call durations of container subcommands, by full name.
    pub sub_latency: HashMap<String, Latency>,
    pub total_commands: u64,
    pub total_connections: u64,
    pub rejected_connections: u64,
    pub net_input_bytes: u64,
    pub net_output_bytes: u64,
    pub total_error_replies: u64,
    pub connected_clients: u64,
    /// Clients waiting in a blocking command (BLPOP, BZPOPMIN, ...).
    pub blocked_clients: u64,
    /// Those of them with a timeout (Redis's clients_timeout_table).
    pub clients_in_timeout_table: u64,
}

impl CoreStats {
    pub fn new() -> Self {
        CoreStats {
            commands: vec![CommandStats::default(); COMMANDS.len()],
            latency: vec![None; COMMANDS.len()],
            ..Default::default()
        }
    }

    /// Records one call's duration for a command-table row.
    #[inline]
    pub fn record_latency(&mut self, command: usize, nanos: u64) {
        if let Some(slot) = self.latency.get_mut(command) {
            if slot.is_none() {
                *slot = new_latency().map(Box::new);
            }
            if let Some(histogram) = slot {
                histogram.saturating_record(nanos.max(1));
            }
        }
    }

    /// Records one call's duration for a container subcommand (`client|list`).
    pub fn record_sub_latency(&mut self, name: &str, nanos: u64) {
        if !self.sub_latency.contains_key(name) {
            let Some(histogram) = new_latency() else {
                return;
            };
            self.sub_latency.insert(name.to_string(), histogram);
        }
        if let Some(histogram) = self.sub_latency.get_mut(name) {
            histogram.saturating_record(nanos.max(1));
        }
    }

    /// Every histogram with its full command name.
    pub fn latencies(&self) -> Vec<(String, &Latency)> {
        let rows = COMMANDS
            .iter()
            .zip(&self.latency)
            .filter_map(|(spec, h)| Some((spec.name.to_string(), h.as_deref()?)));
        rows.chain(self.sub_latency.iter().map(|(name, h)| (name.clone(), h)))
            .collect()
    }

    pub fn count_error(&mut self, text: &str) {
        self.total_error_replies += 1;
        *self
            .errors
            .entry(crate::command::errors::error_code(text).to_string())
            .or_insert(0) += 1;
    }

    pub fn merge(&mut self, other: &CoreStats) {
        for (mine, theirs) in self.commands.iter_mut().zip(&other.commands) {
            mine.calls += theirs.calls;
            mine.usec += theirs.usec;
            mine.rejected_calls += theirs.rejected_calls;
            mine.failed_calls += theirs.failed_calls;
        }
        for (code, count) in &other.errors {
            *self.errors.entry(code.clone()).or_insert(0) += count;
        }
        for (mine, theirs) in self.latency.iter_mut().zip(&other.latency) {
            match (mine.as_mut(), theirs) {
                (Some(mine), Some(theirs)) => {
                    let _ = mine.add(theirs.as_ref());
                }
                (None, Some(theirs)) => *mine = Some(theirs.clone()),
                _ => {}
            }
        }
        for (name, theirs) in &other.sub_latency {
            match self.sub_latency.get_mut(name) {
                Some(mine) => {
                    let _ = mine.add(theirs);
                }
                None => {
                    self.sub_latency.insert(name.clone(), theirs.clone());
                }
            }
        }
        for (name, theirs) in &other.subcommands {
            let mine = self.subcommands.entry(name.clone()).or_default();
            mine.calls += theirs.calls;
            mine.usec += theirs.usec;
            mine.rejected_calls += theirs.rejected_calls;
            mine.failed_calls += theirs.failed_calls;
        }
        self.total_commands += other.total_commands;
        self.total_connections += other.total_connections;
        self.rejected_connections += other.rejected_connections;
        self.net_input_bytes += other.net_input_bytes;
        self.net_output_bytes += other.net_output_bytes;
        self.total_error_replies += other.total_error_replies;
        self.connected_clients += other.connected_clients;
        self.blocked_clients += other.blocked_clients;
        self.clients_in_timeout_table += other.clients_in_timeout_table;
    }

    pub fn reset(&mut self) {
        // Gauges, not counters: CONFIG RESETSTAT leaves them.
        let gauges = (
            self.connected_clients,
            self.blocked_clients,
            self.clients_in_timeout_table,
        );
        *self = CoreStats::new();
        (
            self.connected_clients,
            self.blocked_clients,
            self.clients_in_timeout_table,
        ) = gauges;
    }
}

use crate::protocol::Reply;

impl CoreStats {
    /// Packs the counters into a reply so they can cross the mesh.
    pub fn to_reply(&self) -> Reply {
        let totals = [
            self.total_commands,
            self.total_connections,
            self.rejected_connections,
            self.net_input_bytes,
            self.net_output_bytes,
            self.total_error_replies,
            self.connected_clients,
            self.blocked_clients,
            self.clients_in_timeout_table,
        ];
        let commands = self
            .commands
            .iter()
            .flat_map(|c| [c.calls, c.usec, c.rejected_calls, c.failed_calls])
            .map(|n| Reply::Int(n as i64))
            .collect();
        let errors = self
            .errors
            .iter()
            .map(|(code, count)| (Reply::bulk_str(code), Reply::Int(*count as i64)))
            .collect();
        let subcommands = self
            .subcommands
            .iter()
            .map(|(name, c)| {
                (
                    Reply::bulk_str(name),
                    Reply::Array(vec![Reply::Int(c.calls as i64), Reply::Int(c.usec as i64)]),
                )
            })
            .collect();
        let mut serializer = hdrhistogram::serialization::V2Serializer::new();
        let latency = self
            .latencies()
            .into_iter()
            .filter_map(|(name, histogram)| {
                let mut bytes = Vec::new();
                use hdrhistogram::serialization::Serializer;
                serializer.serialize(histogram, &mut bytes).ok()?;
                Some((Reply::bulk_str(&name), Reply::Bulk(bytes.into())))
            })
            .collect();
        Reply::Array(vec![
            Reply::Array(totals.iter().map(|n| Reply::Int(*n as i64)).collect()),
            Reply::Array(commands),
            Reply::Map(errors),
            Reply::Map(subcommands),
            Reply::Map(latency),
        ])
    }

    pub fn from_reply(reply: &Reply) -> CoreStats {
        let mut stats = CoreStats::new();
        let Reply::Array(parts) = reply else {
            return stats;
        };
        let int = |reply: &Reply| {
            if let Reply::Int(n) = reply {
                *n as u64
            } else {
                0
            }
        };
        if let Some(Reply::Array(totals)) = parts.first() {
            let values: Vec<u64> = totals.iter().map(int).collect();
            if let [a, b, c, d, e, f, g, h, i] = values[..] {
                stats.total_commands = a;
                stats.total_connections = b;
                stats.rejected_connections = c;
                stats.net_input_bytes = d;
                stats.net_output_bytes = e;
                stats.total_error_replies = f;
                stats.connected_clients = g;
                stats.blocked_clients = h;
                stats.clients_in_timeout_table = i;
            }
        }
        if let Some(Reply::Array(commands)) = parts.get(1) {
            for (mine, chunk) in stats.commands.iter_mut().zip(commands.chunks_exact(4)) {
                mine.calls = int(&chunk[0]);
                mine.usec = int(&chunk[1]);
                mine.rejected_calls = int(&chunk[2]);
                mine.failed_calls = int(&chunk[3]);
            }
        }
        if let Some(Reply::Map(errors)) = parts.get(2) {
            for (code, count) in errors {
                if let Reply::Bulk(code) = code {
                    stats
                        .errors
                        .insert(String::from_utf8_lossy(code).into_owned(), int(count));
                }
            }
        }
        if let Some(Reply::Map(subcommands)) = parts.get(3) {
            for (name, counts) in subcommands {
                if let (Reply::Bulk(name), Reply::Array(counts)) = (name, counts) {
                    let entry = stats
                        .subcommands
                        .entry(String::from_utf8_lossy(name).into_owned())
                        .or_default();
                    entry.calls = counts.first().map(int).unwrap_or(0);
                    entry.usec = counts.get(1).map(int).unwrap_or(0);
                }
            }
        }
        if let Some(Reply::Map(latency)) = parts.get(4) {
            let mut deserializer = hdrhistogram::serialization::Deserializer::new();
            for (name, bytes) in latency {
                if let (Reply::Bulk(name), Reply::Bulk(bytes)) = (name, bytes) {
                    if let Ok(histogram) = deserializer.deserialize::<u64, _>(&mut &bytes[..]) {
                        let name = String::from_utf8_lossy(name).into_owned();
                        match crate::command::lookup(name.as_bytes()) {
                            Some(spec) if !name.contains('|') => {
                                stats.latency[crate::command::table::index_of(spec)] =
                                    Some(Box::new(histogram));
                            }
                            _ => {
                                stats.sub_latency.insert(name, histogram);
                            }
                        }
                    }
                }
            }
        }
        stats
    }
}
