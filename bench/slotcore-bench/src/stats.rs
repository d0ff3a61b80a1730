//! What a run measured: per-interval histograms and counters from the workers, merged into the
//! per-second timeline, the per-command totals and the report (text and JSON).

use crate::workload::OP_KINDS;
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Latencies are recorded in nanoseconds, three significant digits.
pub const SIGNIFICANT_DIGITS: u8 = 3;

pub fn new_histogram() -> Histogram<u64> {
    // Auto-resizing from 1 ns; cannot fail for 3 significant digits.
    Histogram::new(SIGNIFICANT_DIGITS).expect("3 significant digits is a valid histogram")
}

/// Events counted by kind. Redirections (MOVED, ASK) and retries (TRYAGAIN, CLUSTERDOWN,
/// connection errors) are handled and the request goes on; `other` (an error reply the tool does
/// not handle) and `failed` (gave up after --max-attempts) end a request unsuccessfully.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    pub moved: u64,
    pub ask: u64,
    pub tryagain: u64,
    pub clusterdown: u64,
    pub connection: u64,
    pub other: u64,
    pub failed: u64,
    /// Times the client re-read the slot map (CLUSTER SLOTS).
    pub map_refreshes: u64,
}

impl Counters {
    pub fn add(&mut self, other: &Counters) {
        self.moved += other.moved;
        self.ask += other.ask;
        self.tryagain += other.tryagain;
        self.clusterdown += other.clusterdown;
        self.connection += other.connection;
        self.other += other.other;
        self.failed += other.failed;
        self.map_refreshes += other.map_refreshes;
    }

    /// Everything that went wrong or was redirected, for the timeline.
    pub fn events(&self) -> u64 {
        self.moved
            + self.ask
            + self.tryagain
            + self.clusterdown
            + self.connection
            + self.other
            + self.failed
    }

    /// Requests that ended without a good reply.
    pub fn unhandled(&self) -> u64 {
        self.other + self.failed
    }
}

/// What one worker saw during one measured second (or the warm-up, which is not reported).
pub struct Interval {
    pub second: u64,
    /// Latency of successful requests, one histogram per command (indexed by `OpKind::index`).
    pub latency: Vec<Histogram<u64>>,
    pub counters: Counters,
    /// Sample text of the first unhandled error reply, to show the user.
    pub first_error: Option<String>,
}

impl Interval {
    pub fn new(second: u64) -> Interval {
        Interval {
            second,
            latency: OP_KINDS.iter().map(|_| new_histogram()).collect(),
            counters: Counters::default(),
            first_error: None,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    pub count: u64,
    pub mean_us: f64,
    pub p50_us: f64,
    pub p90_us: f64,
    pub p99_us: f64,
    pub p99_9_us: f64,
    pub p99_99_us: f64,
    pub max_us: f64,
}

fn micros(nanoseconds: u64) -> f64 {
    nanoseconds as f64 / 1000.0
}

impl Percentiles {
    pub fn of(histogram: &Histogram<u64>) -> Percentiles {
        if histogram.is_empty() {
            return Percentiles::default();
        }
        let at = |quantile: f64| micros(histogram.value_at_quantile(quantile));
        Percentiles {
            count: histogram.len(),
            mean_us: histogram.mean() / 1000.0,
            p50_us: at(0.5),
            p90_us: at(0.9),
            p99_us: at(0.99),
            p99_9_us: at(0.999),
            p99_99_us: at(0.9999),
            max_us: micros(histogram.max()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandReport {
    pub command: String,
    pub requests: u64,
    pub throughput_rps: f64,
    pub latency: Percentiles,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Second {
    /// Seconds since measuring began; this row covers [second, second + 1).
    pub second: u64,
    pub requests: u64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
    /// Redirections, retries and errors of every kind in this second.
    pub errors: u64,
}

/// One point of the latency-by-percentile curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PercentilePoint {
    pub percentile: f64,
    pub latency_us: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientCpu {
    pub user_s: f64,
    pub system_s: f64,
    /// (user + system) CPU time of this process per successful request.
    pub us_per_request: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSettings {
    pub label: String,
    pub target: String,
    pub cluster: bool,
    pub nodes: Vec<String>,
    pub workload: String,
    pub threads: usize,
    pub clients: usize,
    pub pipeline: usize,
    /// Open-loop rate in requests/s; absent in the closed-loop mode.
    pub rate: Option<f64>,
    pub keyspace: u64,
    pub distribution: String,
    pub value_size: usize,
    pub warmup_s: f64,
    pub duration_s: Option<f64>,
    pub requests: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub tool: String,
    pub version: String,
    pub started_unix_s: f64,
    pub settings: RunSettings,
    pub elapsed_s: f64,
    /// Successful measured requests.
    pub requests: u64,
    pub throughput_rps: f64,
    pub latency: Percentiles,
    pub commands: Vec<CommandReport>,
    pub errors: Counters,
    /// Sample text of the first unhandled error reply, if any.
    pub first_error: Option<String>,
    pub client_cpu: ClientCpu,
    pub timeline: Vec<Second>,
    pub percentile_distribution: Vec<PercentilePoint>,
}

/// The latency-by-percentile curve: points at 50%, 75%, 87.5%, ... (halving the rest each time)
/// up to the maximum, as HdrHistogram's own percentile output.
pub fn percentile_curve(histogram: &Histogram<u64>) -> Vec<PercentilePoint> {
    if histogram.is_empty() {
        return Vec::new();
    }
    let mut points = Vec::new();
    let mut rest: f64 = 1.0;
    // 2^-20 is about the 99.9999th percentile; enough for any run this tool makes.
    for _ in 0..=20 {
        let quantile = 1.0 - rest;
        points.push(PercentilePoint {
            percentile: quantile * 100.0,
            latency_us: micros(histogram.value_at_quantile(quantile)),
        });
        if histogram.value_at_quantile(quantile) >= histogram.max() {
            break;
        }
        rest /= 2.0;
    }
    points.push(PercentilePoint {
        percentile: 100.0,
        latency_us: micros(histogram.max()),
    });
    points
}

impl Report {
    /// The report as text, in the spirit of redis-benchmark's summary.
    pub fn to_text(&self) -> String {
        use std::fmt::Write;
        let settings = &self.settings;
        let mut out = String::new();
        let mode = match settings.rate {
            Some(rate) => format!("open loop at {rate:.0} requests/s"),
            None => "closed loop".to_string(),
        };
        let _ =
            writeln!(
            out,
            "slotcore-bench {}: {} on {} ({}, {} node{}), {} threads, {} clients, pipeline {}, {}",
            self.version,
            settings.workload,
            settings.target,
            if settings.cluster { "cluster" } else { "standalone" },
            settings.nodes.len(),
            if settings.nodes.len() == 1 { "" } else { "s" },
            settings.threads,
            settings.clients,
            settings.pipeline,
            mode
        );
        let _ = writeln!(
            out,
            "keyspace {} ({}), value {} bytes, warm-up {:.1}s, measured {:.2}s",
            settings.keyspace,
            settings.distribution,
            settings.value_size,
            settings.warmup_s,
            self.elapsed_s
        );
        let _ = writeln!(
            out,
            "\n{:<8} {:>10} {:>12} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "command",
            "requests",
            "requests/s",
            "p50 µs",
            "p90 µs",
            "p99 µs",
            "p99.9 µs",
            "p99.99 µs",
            "max µs"
        );
        let mut row = |name: &str, requests: u64, rate: f64, latency: &Percentiles| {
            let _ = writeln!(
                out,
                "{:<8} {:>10} {:>12.0} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
                name,
                requests,
                rate,
                latency.p50_us,
                latency.p90_us,
                latency.p99_us,
                latency.p99_9_us,
                latency.p99_99_us,
                latency.max_us
            );
        };
        for command in &self.commands {
            row(
                &command.command,
                command.requests,
                command.throughput_rps,
                &command.latency,
            );
        }
        if self.commands.len() > 1 {
            row("ALL", self.requests, self.throughput_rps, &self.latency);
        }
        let errors = &self.errors;
        let _ = writeln!(
            out,
            "\nredirections: MOVED {} ASK {}; retries: TRYAGAIN {} CLUSTERDOWN {} connection {}; \
             map refreshes {}; errors: other {} failed {}",
            errors.moved,
            errors.ask,
            errors.tryagain,
            errors.clusterdown,
            errors.connection,
            errors.map_refreshes,
            errors.other,
            errors.failed
        );
        if let Some(error) = &self.first_error {
            let _ = writeln!(out, "first unhandled error: {error}");
        }
        let _ = writeln!(
            out,
            "client CPU: {:.2}s user + {:.2}s system = {:.3} µs per request",
            self.client_cpu.user_s, self.client_cpu.system_s, self.client_cpu.us_per_request
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_in_microseconds() {
        let mut histogram = new_histogram();
        for value in 1..=1000u64 {
            histogram.record(value * 1000).unwrap();
        }
        let percentiles = Percentiles::of(&histogram);
        assert_eq!(percentiles.count, 1000);
        assert!(
            (499.0..=501.0).contains(&percentiles.p50_us),
            "{percentiles:?}"
        );
        assert!(
            (989.0..=991.0).contains(&percentiles.p99_us),
            "{percentiles:?}"
        );
        assert!(
            (999.0..=1001.0).contains(&percentiles.max_us),
            "{percentiles:?}"
        );
        assert_eq!(Percentiles::of(&new_histogram()), Percentiles::default());
    }

    #[test]
    fn curve_rises_to_the_max() {
        let mut histogram = new_histogram();
        for value in 1..=100_000u64 {
            histogram.record(value).unwrap();
        }
        let curve = percentile_curve(&histogram);
        assert_eq!(curve.first().unwrap().percentile, 0.0);
        assert_eq!(curve.last().unwrap().percentile, 100.0);
        assert!(curve
            .windows(2)
            .all(|pair| pair[0].latency_us <= pair[1].latency_us));
        assert!(curve.len() > 10);
    }
}
