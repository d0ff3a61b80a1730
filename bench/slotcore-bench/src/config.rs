//! The command line: `slotcore-bench [run options]` and `slotcore-bench compare-plot`.

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "slotcore-bench",
    version,
    about = "Cluster-aware, multi-threaded load generator for Redis-compatible servers",
    disable_help_flag = true,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub run: RunArgs,
    /// Print help
    #[arg(long, action = ArgAction::Help, global = true)]
    pub help: Option<bool>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Plot two or more runs (their --json output) together
    ComparePlot(ComparePlotArgs),
    /// Plot one saved run (its --json output) again, as --plot-dir would have
    Plot(PlotArgs),
}

#[derive(Debug, Args)]
pub struct PlotArgs {
    /// A JSON report written by `slotcore-bench --json` or `--json-file`
    pub report: PathBuf,
    /// Directory for the PNGs
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct ComparePlotArgs {
    /// JSON reports written by `slotcore-bench --json` (label = file stem unless --labels)
    #[arg(required = true, num_args = 2..)]
    pub reports: Vec<PathBuf>,
    /// Directory for the PNGs
    #[arg(long)]
    pub out: PathBuf,
    /// Comma-separated labels, one per report
    #[arg(long, value_delimiter = ',')]
    pub labels: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Workload {
    Get,
    Set,
    Incr,
    Mget,
    Mset,
    Hset,
    Hget,
    Lpush,
    Lpop,
    Zadd,
    Ping,
    /// SET and GET mixed by --ratio
    Mix,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Distribution {
    Uniform,
    Zipfian,
}

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Server host (a cluster's seed node)
    #[arg(short = 'h', long, default_value = "127.0.0.1")]
    pub host: String,
    /// Server port
    #[arg(short = 'p', long, default_value_t = 6379)]
    pub port: u16,
    /// Workload
    #[arg(short = 't', long = "test", value_enum, default_value_t = Workload::Get)]
    pub workload: Workload,
    /// SET:GET ratio for `-t mix`, e.g. 1:10
    #[arg(long, default_value = "1:10", value_parser = parse_ratio)]
    pub ratio: (u32, u32),
    /// Worker threads; 0 = one per CPU
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Connections (clients) in all, spread over the threads; in a cluster each client has one
    /// connection per node it talks to
    #[arg(short = 'c', long = "clients", default_value_t = 50)]
    pub clients: usize,
    /// Requests in flight per client (pipeline depth)
    #[arg(short = 'P', long = "pipeline", default_value_t = 1)]
    pub pipeline: usize,
    /// Total measured requests (instead of --duration)
    #[arg(short = 'n', long = "requests")]
    pub requests: Option<u64>,
    /// Measured run time, e.g. 10s, 500ms, 2m [default: 10s unless -n is given]
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Time to run before measuring
    #[arg(long, value_parser = parse_duration, default_value = "0s")]
    pub warmup: Duration,
    /// Open loop: this many requests per second in all, each timed from its scheduled send time
    #[arg(long)]
    pub rate: Option<f64>,
    /// Number of distinct keys
    #[arg(long, default_value_t = 1_000_000)]
    pub keyspace: u64,
    /// Key popularity
    #[arg(long, value_enum, default_value_t = Distribution::Uniform)]
    pub distribution: Distribution,
    /// Exponent of the zipfian distribution
    #[arg(long, default_value_t = 0.99)]
    pub zipf_exponent: f64,
    /// Value size in bytes for SET, MSET, HSET, LPUSH
    #[arg(short = 'd', long = "value-size", default_value_t = 3)]
    pub value_size: usize,
    /// Keys per MGET/MSET (all share one hash tag)
    #[arg(long, default_value_t = 10)]
    pub multi_keys: usize,
    /// Do not ask CLUSTER SLOTS at start: send everything to the seed and learn the map from
    /// MOVED replies
    #[arg(long)]
    pub no_discovery: bool,
    /// Attempts per request (redirects and retries included) before it counts as failed
    #[arg(long, default_value_t = 64)]
    pub max_attempts: u32,
    /// Print the report as JSON on stdout
    #[arg(long)]
    pub json: bool,
    /// Also write the JSON report to this file
    #[arg(long)]
    pub json_file: Option<PathBuf>,
    /// Write per-second histograms (one per command, tagged) as an HdrHistogram interval log
    #[arg(long)]
    pub hdr_log: Option<PathBuf>,
    /// Write PNG plots (timeline and latency distribution) to this directory
    #[arg(long)]
    pub plot_dir: Option<PathBuf>,
    /// Label for this run in reports and plots
    #[arg(long)]
    pub label: Option<String>,
    /// Random seed for key choice
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// No live progress line even on a terminal
    #[arg(long)]
    pub no_progress: bool,
}

impl RunArgs {
    /// Checks what clap cannot check alone.
    pub fn validate(&self) -> Result<(), String> {
        if self.clients == 0 {
            return Err("-c must be at least 1".into());
        }
        if self.pipeline == 0 {
            return Err("-P must be at least 1".into());
        }
        if self.keyspace == 0 {
            return Err("--keyspace must be at least 1".into());
        }
        if self.multi_keys == 0 {
            return Err("--multi-keys must be at least 1".into());
        }
        if self.requests.is_some() && self.duration.is_some() {
            return Err("give -n or --duration, not both".into());
        }
        if self.requests == Some(0) {
            return Err("-n must be at least 1".into());
        }
        if let Some(rate) = self.rate {
            if !(rate.is_finite() && rate > 0.0) {
                return Err(format!("--rate must be a positive number, got {rate}"));
            }
        }
        if !(self.zipf_exponent.is_finite() && self.zipf_exponent >= 0.0) {
            return Err("--zipf-exponent must be a non-negative number".into());
        }
        if self.max_attempts == 0 {
            return Err("--max-attempts must be at least 1".into());
        }
        Ok(())
    }

    /// The measured duration, when the run is bounded by time.
    pub fn run_duration(&self) -> Option<Duration> {
        match (self.requests, self.duration) {
            (Some(_), _) => None,
            (None, Some(duration)) => Some(duration),
            (None, None) => Some(Duration::from_secs(10)),
        }
    }

    pub fn thread_count(&self) -> usize {
        let threads = if self.threads == 0 {
            std::thread::available_parallelism().map_or(1, |count| count.get())
        } else {
            self.threads
        };
        threads.min(self.clients)
    }
}

/// `10s`, `1.5s`, `500ms`, `2m`, `250us`; a bare number is seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|character: char| !(character.is_ascii_digit() || character == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("bad duration '{text}' (try 10s, 500ms, 2m)"))?;
    let seconds = match unit {
        "" | "s" => value,
        "ms" => value / 1e3,
        "us" => value / 1e6,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => {
            return Err(format!(
                "bad duration unit '{unit}' in '{text}' (s, ms, us, m, h)"
            ))
        }
    };
    if !seconds.is_finite() || seconds < 0.0 {
        return Err(format!("bad duration '{text}'"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// `SET:GET`, e.g. `1:10`; not both zero.
pub fn parse_ratio(text: &str) -> Result<(u32, u32), String> {
    let (set, get) = text
        .split_once(':')
        .ok_or_else(|| format!("bad ratio '{text}' (expected SET:GET, e.g. 1:10)"))?;
    let parse = |part: &str| {
        part.trim()
            .parse::<u32>()
            .map_err(|_| format!("bad ratio '{text}' (expected SET:GET, e.g. 1:10)"))
    };
    let ratio = (parse(set)?, parse(get)?);
    if ratio == (0, 0) {
        return Err("ratio 0:0 sends nothing".into());
    }
    Ok(ratio)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(arguments: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("slotcore-bench").chain(arguments.iter().copied()))
    }

    #[test]
    fn defaults_are_redis_benchmark_like() {
        let cli = parse(&[]).unwrap();
        assert!(cli.command.is_none());
        let run = cli.run;
        assert_eq!((run.host.as_str(), run.port), ("127.0.0.1", 6379));
        assert_eq!((run.clients, run.pipeline, run.value_size), (50, 1, 3));
        assert_eq!(run.workload, Workload::Get);
        assert_eq!(run.run_duration(), Some(Duration::from_secs(10)));
        assert_eq!(run.rate, None);
        assert!(run.validate().is_ok());
    }

    #[test]
    fn parses_a_full_command_line() {
        let cli = parse(&[
            "-h",
            "localhost",
            "-p",
            "7000",
            "-t",
            "mix",
            "--ratio",
            "1:10",
            "--threads",
            "2",
            "-c",
            "8",
            "-P",
            "16",
            "--duration",
            "500ms",
            "--warmup",
            "2s",
            "--rate",
            "1000",
            "--keyspace",
            "100",
            "--distribution",
            "zipfian",
            "--zipf-exponent",
            "1.2",
            "-d",
            "64",
            "--json",
            "--hdr-log",
            "x.hlog",
            "--plot-dir",
            "plots",
        ])
        .unwrap();
        let run = cli.run;
        assert_eq!(run.host, "localhost");
        assert_eq!(run.port, 7000);
        assert_eq!(run.workload, Workload::Mix);
        assert_eq!(run.ratio, (1, 10));
        assert_eq!((run.threads, run.clients, run.pipeline), (2, 8, 16));
        assert_eq!(run.run_duration(), Some(Duration::from_millis(500)));
        assert_eq!(run.warmup, Duration::from_secs(2));
        assert_eq!(run.rate, Some(1000.0));
        assert_eq!(run.distribution, Distribution::Zipfian);
        assert_eq!(run.zipf_exponent, 1.2);
        assert_eq!(run.value_size, 64);
        assert!(run.json);
        assert_eq!(run.hdr_log, Some(PathBuf::from("x.hlog")));
        assert_eq!(run.thread_count(), 2);
        assert!(run.validate().is_ok());
    }

    #[test]
    fn requests_replace_duration() {
        let run = parse(&["-n", "1000"]).unwrap().run;
        assert_eq!(run.run_duration(), None);
        let both = parse(&["-n", "1000", "--duration", "1s"]).unwrap().run;
        assert!(both.validate().is_err());
    }

    #[test]
    fn rejects_bad_values() {
        assert!(parse(&["-t", "nosuch"]).is_err());
        assert!(parse(&["--ratio", "1"]).is_err());
        assert!(parse(&["--ratio", "0:0"]).is_err());
        assert!(parse(&["--duration", "10 parsecs"]).is_err());
        assert!(parse(&["-c", "0"]).unwrap().run.validate().is_err());
        assert!(parse(&["--rate", "0"]).unwrap().run.validate().is_err());
        assert!(parse(&["-P", "0"]).unwrap().run.validate().is_err());
    }

    #[test]
    fn threads_never_exceed_clients() {
        assert_eq!(
            parse(&["--threads", "8", "-c", "3"])
                .unwrap()
                .run
                .thread_count(),
            3
        );
    }

    #[test]
    fn parses_durations() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("250us"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("s").is_err());
    }

    #[test]
    fn compare_plot_subcommand() {
        let cli = parse(&["compare-plot", "a.json", "b.json", "--out", "dir"]).unwrap();
        let Some(Command::ComparePlot(arguments)) = cli.command else {
            panic!("no subcommand")
        };
        assert_eq!(arguments.reports.len(), 2);
        assert_eq!(arguments.out, PathBuf::from("dir"));
        assert!(parse(&["compare-plot", "a.json", "--out", "dir"]).is_err());
    }
}
