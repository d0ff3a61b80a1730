//! The validated configuration: config-file directives, command-line flags
//! and CONFIG GET/SET all go through one table of parameters, so a name
//! means the same thing everywhere and nothing is parsed twice.

pub mod inert;
pub mod notify;
mod params;

pub use params::{format_percentile, parameter, parameters, parse_cpu_list, ParamSpec};

use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DebugCommand {
    No,
    Yes,
    Local,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub port: u16,
    pub bind: Vec<String>,
    pub dir: PathBuf,
    pub logfile: String,
    pub loglevel: String,
    pub requirepass: Option<String>,
    pub maxclients: u64,
    pub timeout_secs: u64,
    pub tcp_keepalive_secs: u64,
    pub proto_max_bulk_len: u64,
    pub client_query_buffer_limit: u64,
    pub enable_debug_command: DebugCommand,
    pub save: String,
    /// The RDB file's name, in `dir`.
    pub dbfilename: String,
    pub appendonly: bool,
    pub cluster_enabled: bool,
    pub cluster_config_file: String,
    pub cluster_node_timeout_ms: u64,
    /// The bus port; 0 means the client port + 10000.
    pub cluster_port: u16,
    pub cluster_require_full_coverage: bool,
    pub cluster_allow_reads_when_down: bool,
    pub cluster_announce_ip: String,
    pub cluster_announce_port: u16,
    pub cluster_announce_bus_port: u16,
    pub cluster_announce_hostname: String,
    /// ip, hostname or unknown-endpoint: what redirects and CLUSTER SLOTS
    /// name a node by.
    pub cluster_preferred_endpoint_type: String,
    pub hz: u64,
    pub maxmemory: u64,
    pub maxmemory_policy: String,
    /// Keys sampled per eviction (LRU and LFU policies).
    pub maxmemory_samples: u32,
    /// LFU counters: how slowly they grow, and the minutes per decrement.
    pub lfu_log_factor: u64,
    pub lfu_decay_time: u64,
    /// SLOWLOG: commands that ran this many microseconds or longer are
    /// logged (negative: none); the log keeps this many entries.
    pub slowlog_log_slower_than: i64,
    pub slowlog_max_len: u64,
    /// `min-replicas-to-write` and `min-replicas-max-lag` (kept with the
    /// inert parameters, mirrored here for the write path).
    pub min_replicas_to_write: u64,
    pub min_replicas_max_lag: u64,
    /// LATENCY: events of this many milliseconds or longer are sampled
    /// (0: none).
    pub latency_monitor_threshold: u64,
    /// Per-command latency histograms (INFO latencystats, LATENCY
    /// HISTOGRAM).
    pub latency_tracking: bool,
    pub databases: u64,
    pub daemonize: bool,
    /// Where the PID is written at startup (a daemon without one uses
    /// `process::DEFAULT_PIDFILE`).
    pub pidfile: String,
    pub protected_mode: bool,
    pub tcp_backlog: u64,
    pub notify_keyspace_events: String,
    /// `notify-keyspace-events` as flags (see `notify`).
    pub notify_flags: u32,
    pub lazyfree_lazy_user_flush: bool,
    pub io_memory_bytes: u64,
    /// A hash keeps the compact (listpack) encoding up to this many fields…
    pub hash_max_listpack_entries: u64,
    pub stream_node_max_bytes: u64,
    pub stream_node_max_entries: u64,
    /// …and while every field and value is at most this many bytes.
    pub hash_max_listpack_value: u64,
    /// A set of integers keeps the intset encoding up to this many members.
    pub set_max_intset_entries: u64,
    /// A sparse HyperLogLog becomes dense past this many bytes.
    pub hll_sparse_max_bytes: u64,
    /// Quicklist node size: negative is a size class (-2: 8 KiB), positive
    /// a count of entries.
    pub list_max_listpack_size: i64,
    /// Accepted and reported; lists are deques of values here, not
    /// quicklists of listpack nodes, so there is nothing to compress.
    pub list_compress_depth: i64,
    /// A sorted set keeps the listpack encoding up to this many members…
    pub zset_max_listpack_entries: u64,
    /// …and while every member is at most this many bytes.
    pub zset_max_listpack_value: u64,
    /// Shard cores; 0 means one per available CPU.
    pub shards: usize,
    /// CPUs to pin shard cores to, in order; empty means the first ones.
    pub cpus: Vec<usize>,
    /// INFO latencystats reports these percentiles of each command's
    /// latency.
    pub latency_tracking_info_percentiles: Vec<f64>,
    /// Redis parameters slotcore keeps and does not act on, by canonical
    /// name, while they differ from their default (`inert`).
    pub inert: std::collections::BTreeMap<&'static str, String>,
    /// The config file this server was started with, for CONFIG REWRITE.
    pub config_file: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            port: 6379,
            bind: vec!["127.0.0.1".into()],
            dir: PathBuf::from("."),
            logfile: String::new(),
            loglevel: "notice".into(),
            requirepass: None,
            maxclients: 10000,
            timeout_secs: 0,
            tcp_keepalive_secs: 300,
            proto_max_bulk_len: 512 * 1024 * 1024,
            client_query_buffer_limit: 1024 * 1024 * 1024,
            enable_debug_command: DebugCommand::No,
            save: "3600 1 300 100 60 10000".into(),
            dbfilename: "dump.rdb".into(),
            appendonly: false,
            cluster_enabled: false,
            cluster_config_file: "nodes.conf".into(),
            cluster_node_timeout_ms: 15000,
            cluster_port: 0,
            cluster_require_full_coverage: true,
            cluster_allow_reads_when_down: false,
            cluster_announce_ip: String::new(),
            cluster_announce_port: 0,
            cluster_announce_bus_port: 0,
            cluster_announce_hostname: String::new(),
            cluster_preferred_endpoint_type: "ip".into(),
            hz: 10,
            maxmemory: 0,
            maxmemory_policy: "noeviction".into(),
            maxmemory_samples: 5,
            lfu_log_factor: 10,
            lfu_decay_time: 1,
            slowlog_log_slower_than: 10_000,
            slowlog_max_len: 128,
            min_replicas_to_write: 0,
            min_replicas_max_lag: 10,
            latency_monitor_threshold: 0,
            latency_tracking: true,
            databases: 16,
            daemonize: false,
            pidfile: String::new(),
            protected_mode: true,
            tcp_backlog: 511,
            notify_keyspace_events: String::new(),
            notify_flags: 0,
            lazyfree_lazy_user_flush: false,
            io_memory_bytes: 1024 * 1024,
            hash_max_listpack_entries: 512,
            stream_node_max_bytes: 4096,
            stream_node_max_entries: 100,
            hash_max_listpack_value: 64,
            set_max_intset_entries: 512,
            hll_sparse_max_bytes: 3000,
            list_max_listpack_size: -2,
            list_compress_depth: 0,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            shards: 0,
            cpus: Vec::new(),
            latency_tracking_info_percentiles: vec![50.0, 99.0, 99.9],
            inert: Default::default(),
            config_file: None,
        }
    }
}

/// One address `bind` names, with the port to listen on there.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BindAddress {
    pub address: std::net::SocketAddr,
    /// Marked "-" in `bind`: left out when the machine lacks it.
    pub optional: bool,
}

impl BindAddress {
    /// Whether failing to listen here is passed over rather than fatal, as
    /// Redis's listenToPort does: an optional address the machine does not
    /// have, or an address family it does not support.
    pub fn skips(&self, error: &std::io::Error) -> bool {
        match error.raw_os_error() {
            Some(libc::EADDRNOTAVAIL) => self.optional,
            Some(
                libc::ENOPROTOOPT
                | libc::EPROTONOSUPPORT
                | libc::ESOCKTNOSUPPORT
                | libc::EPFNOSUPPORT
                | libc::EAFNOSUPPORT,
            ) => true,
            _ => false,
        }
    }
}

/// One class of `client-output-buffer-limit`: bytes queued before the
/// client is closed at once (`hard`), or after more than `soft` for
/// `soft_seconds` in a row; 0 is no limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutputLimit {
    pub hard: u64,
    pub soft: u64,
    pub soft_seconds: u64,
}

impl Config {
    /// The limits of `class` (normal, slave or pubsub) in
    /// `client-output-buffer-limit`.
    pub fn output_limit(&self, class: &str) -> OutputLimit {
        let value = parameter("client-output-buffer-limit")
            .map(|spec| spec.get(self))
            .unwrap_or_default();
        let words: Vec<&str> = value.split_whitespace().collect();
        words
            .chunks_exact(4)
            .find(|chunk| chunk[0] == class)
            .map(|chunk| {
                let number = |i: usize| chunk[i].parse().unwrap_or(0);
                OutputLimit {
                    hard: number(1),
                    soft: number(2),
                    soft_seconds: number(3),
                }
            })
            .unwrap_or_default()
    }

    /// The addresses `bind` names, on `port` (the client or the bus port).
    /// Redis's "-" prefix marks an address that may be missing; `*` is
    /// every IPv4 address and `::*` every IPv6 one.
    pub fn bind_addresses(&self, port: u16) -> Result<Vec<BindAddress>, String> {
        use std::net::ToSocketAddrs;
        let mut addresses = Vec::new();
        for host in &self.bind {
            let (optional, host) = match host.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, host.as_str()),
            };
            let host = match host {
                "*" => "0.0.0.0",
                "::*" => "::",
                host => host,
            };
            match (host, port).to_socket_addrs() {
                Ok(found) => addresses.extend(
                    found
                        .take(1)
                        .map(|address| BindAddress { address, optional }),
                ),
                Err(error) if !optional => {
                    return Err(format!("Invalid bind address '{host}': {error}"))
                }
                Err(_) => {}
            }
        }
        Ok(addresses)
    }

    /// Fails, with Redis's message, when a socket already listens on one of
    /// `addresses`. The shard cores bind their listeners with SO_REUSEPORT,
    /// which would let them join a port another process of the same user
    /// listens on the same way (a second slotcore) and silently split its
    /// clients with it; a plain bind first refuses that, as Redis would.
    pub fn check_addresses_free(addresses: &[BindAddress]) -> Result<(), String> {
        for bind in addresses {
            match std::net::TcpListener::bind(bind.address) {
                Ok(_) => {}
                Err(error) if bind.skips(&error) => {}
                Err(error) => {
                    let why = match error.kind() {
                        std::io::ErrorKind::AddrInUse => "Address already in use".to_string(),
                        _ => error.to_string(),
                    };
                    return Err(format!(
                        "Could not create server TCP listening socket {}: bind: {why}",
                        bind.address
                    ));
                }
            }
        }
        Ok(())
    }

    /// The cluster bus port: `cluster-port`, else the client port + 10000.
    pub fn cluster_bus_port(&self) -> u16 {
        if self.cluster_port != 0 {
            self.cluster_port
        } else {
            self.port.wrapping_add(10000)
        }
    }
}

/// Why a configuration was refused, in words a user can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Config {
    /// Sets one directive from its arguments, as a config file line or a
    /// flag gives them. The error text is Redis's reason, without context.
    pub fn apply(&mut self, name: &str, args: &[String]) -> Result<(), String> {
        let spec = parameter(name)
            .ok_or_else(|| "Bad directive or wrong number of arguments".to_string())?;
        spec.set(self, args)
    }

    /// Parses a Redis-style config file's text. `path` only names the file
    /// in error messages.
    pub fn apply_file_text(&mut self, path: &str, text: &str) -> Result<(), ConfigError> {
        // Redis's setConfigSaveOption: a file's first `save` line replaces
        // the default save points, later ones add theirs.
        let mut saves_seen = false;
        for (index, raw_line) in text.lines().enumerate() {
            let line = raw_line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fail = |reason: &str| {
                ConfigError(format!(
                    "*** FATAL CONFIG FILE ERROR (slotcore {}) ***\nReading the configuration file '{}', at line {}\n>>> '{}'\n{}",
                    env!("CARGO_PKG_VERSION"),
                    path,
                    index + 1,
                    line,
                    reason
                ))
            };
            let words = split_config_line(line)
                .ok_or_else(|| fail("Unbalanced quotes in configuration line"))?;
            let Some((name, args)) = words.split_first() else {
                continue;
            };
            let name = name.to_ascii_lowercase();
            let adds_save_points = name == "save" && saves_seen && args != [String::new()];
            let result = if adds_save_points {
                let mut points: Vec<String> =
                    self.save.split_whitespace().map(String::from).collect();
                points.extend(args.iter().cloned());
                self.apply(&name, &points)
            } else {
                self.apply(&name, args)
            };
            result.map_err(|reason| fail(&reason))?;
            saves_seen |= name == "save";
        }
        Ok(())
    }

    pub fn shard_count(&self) -> usize {
        if self.shards > 0 {
            self.shards
        } else {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        }
    }
}

/// Splits a config line into words with Redis's quoting rules.
pub fn split_config_line(line: &str) -> Option<Vec<String>> {
    let mut request = crate::protocol::Request::default();
    let mut text = line.as_bytes().to_vec();
    text.push(b'\n');
    match crate::protocol::decode::decode(&text, &Default::default(), &mut request) {
        Ok(crate::protocol::Progress::Complete { .. }) => Some(
            request
                .spans
                .iter()
                .map(|span| {
                    String::from_utf8_lossy(&request.inline_storage[span.clone()]).into_owned()
                })
                .collect(),
        ),
        _ => None,
    }
}

/// Parses Redis memory values: `1024`, `1k` (1000), `1kb` (1024), `512mb`, `1gb`.
pub fn parse_memory(text: &str) -> Option<u64> {
    let lower = text.to_ascii_lowercase();
    let (digits, unit) = match lower.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => lower.split_at(at),
        None => (lower.as_str(), ""),
    };
    let multiplier: u64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    digits.parse::<u64>().ok()?.checked_mul(multiplier)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_directives_apply_and_errors_name_the_line() {
        let mut config = Config::default();
        config
            .apply_file_text(
                "a.conf",
                "# comment\nport 7001\n\nrequirepass \"p w\"\nsave \"\"\n",
            )
            .unwrap();
        assert_eq!(config.port, 7001);
        assert_eq!(config.requirepass.as_deref(), Some("p w"));
        assert_eq!(config.save, "");
        let mut config = Config::default();
        config
            .apply_file_text("t.conf", "save 900 1\nsave 300 10\n")
            .expect("valid");
        assert_eq!(config.save, "900 1 300 10", "later save lines add points");
        config
            .apply_file_text("t.conf", "save 60 5\nsave \"\"\nsave 5 5\n")
            .expect("valid");
        assert_eq!(config.save, "5 5", "save \"\" clears them");
        let error = config
            .apply_file_text("b.conf", "port 1\n\nfoo bar\n")
            .unwrap_err();
        assert!(error.0.contains("'b.conf', at line 3"), "{error}");
        assert!(error.0.contains("Bad directive"), "{error}");
        let error = config
            .apply_file_text("c.conf", "port notanumber\n")
            .unwrap_err();
        assert!(error.0.contains("at line 1"), "{error}");
        assert!(
            error
                .0
                .contains("argument couldn't be parsed into an integer"),
            "{error}"
        );
    }

    #[test]
    fn memory_units() {
        assert_eq!(parse_memory("1024"), Some(1024));
        assert_eq!(parse_memory("1k"), Some(1000));
        assert_eq!(parse_memory("1KB"), Some(1024));
        assert_eq!(parse_memory("512mb"), Some(512 * 1024 * 1024));
        assert_eq!(parse_memory("1gb"), Some(1 << 30));
        assert_eq!(parse_memory("1x"), None);
        assert_eq!(parse_memory("-1"), None);
    }
}
