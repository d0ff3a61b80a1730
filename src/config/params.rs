//! The parameter table: one row per directive, shared by the config file,
//! the command line and CONFIG GET/SET/REWRITE.

use super::inert::{self, Kind, INERT};
use super::{parse_memory, Config, DebugCommand};

pub struct ParamSpec {
    pub name: &'static str,
    /// CONFIG SET may change it at run time.
    pub mutable: bool,
    /// Left out of CONFIG GET's patterns, answered only by its exact name
    /// (Redis's HIDDEN_CONFIG).
    pub hidden: bool,
    pub(super) access: Access,
}

pub(super) enum Access {
    /// A parameter slotcore acts on: a field of `Config`.
    Typed {
        get: fn(&Config) -> String,
        set: fn(&mut Config, &[String]) -> Result<(), String>,
    },
    /// A Redis parameter slotcore keeps and does not act on (`inert`).
    Inert {
        key: &'static str,
        kind: Kind,
        default: &'static str,
    },
}

impl ParamSpec {
    /// The value as CONFIG GET writes it.
    pub fn get(&self, config: &Config) -> String {
        match &self.access {
            Access::Typed { get, .. } => get(config),
            Access::Inert { key, default, .. } => inert::get(config, key, default),
        }
    }

    /// Checks `args` (the words after the name) and sets the value; the
    /// error is Redis's reason, without context.
    pub fn set(&self, config: &mut Config, args: &[String]) -> Result<(), String> {
        match &self.access {
            Access::Typed { set, .. } => set(config, args),
            Access::Inert { key, kind, default } => inert::set(config, key, *kind, default, args),
        }
    }

    /// The parameter an alias stands for (`slave-priority`:
    /// `replica-priority`); a parameter's own name otherwise.
    pub fn canonical(&self) -> &'static str {
        match &self.access {
            Access::Inert { key, .. } => key,
            Access::Typed { .. } => self.name,
        }
    }

    /// Accepted for compatibility and not acted on.
    pub fn is_inert(&self) -> bool {
        matches!(self.access, Access::Inert { .. })
    }

    /// CONFIG SET splits its one value into words (Redis's MULTI_ARG_CONFIG).
    pub fn multi_arg(&self) -> bool {
        match &self.access {
            Access::Inert { kind, .. } => kind.multi_arg(),
            Access::Typed { .. } => matches!(
                self.name,
                "save" | "bind" | "latency-tracking-info-percentiles"
            ),
        }
    }
}

pub(super) fn one(args: &[String]) -> Result<&str, String> {
    match args {
        [value] => Ok(value),
        _ => Err("wrong number of arguments".into()),
    }
}

pub(super) fn integer(args: &[String], min: i64, max: i64) -> Result<i64, String> {
    let text = one(args)?;
    // string2ll: no sign but '-', no leading zeros, no spaces.
    let value = crate::protocol::decode::parse_i64_strict(text.as_bytes())
        .ok_or_else(|| "argument couldn't be parsed into an integer".to_string())?;
    if value < min || value > max {
        return Err(format!(
            "argument must be between {min} and {max} inclusive"
        ));
    }
    Ok(value)
}

fn memory(args: &[String]) -> Result<u64, String> {
    parse_memory(one(args)?).ok_or_else(|| "argument must be a memory value".to_string())
}

fn bounded_memory(args: &[String], max: u64) -> Result<u64, String> {
    let value = memory(args)?;
    if value > max {
        return Err(format!("argument must be between 0 and {max} inclusive"));
    }
    Ok(value)
}

pub(super) fn boolean(args: &[String]) -> Result<bool, String> {
    match one(args)?.to_ascii_lowercase().as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err("argument must be 'yes' or 'no'".into()),
    }
}

pub(super) fn choice(args: &[String], choices: &[&'static str]) -> Result<&'static str, String> {
    let value = one(args)?.to_ascii_lowercase();
    choices
        .iter()
        .find(|choice| **choice == value)
        .copied()
        .ok_or_else(|| {
            format!(
                "argument(s) must be one of the following: {}",
                choices.join(", ")
            )
        })
}

fn yes_no(value: bool) -> String {
    if value { "yes" } else { "no" }.into()
}

/// Redis's CONFIG_BINDADDR_MAX.
const BIND_ADDRESSES_MAX: usize = 16;

const LOGLEVELS: &[&str] = &["debug", "verbose", "notice", "warning", "nothing"];
const MAXMEMORY_POLICIES: &[&str] = &[
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "noeviction",
];

macro_rules! param {
    ($name:literal, $mutable:expr, |$c:ident| $get:expr, |$cs:ident, $args:ident| $set:expr) => {
        ParamSpec {
            name: $name,
            mutable: $mutable,
            hidden: false,
            access: Access::Typed {
                get: |$c: &Config| -> String { $get },
                set: |$cs: &mut Config, $args: &[String]| -> Result<(), String> {
                    $set;
                    Ok(())
                },
            },
        }
    };
}

pub static PARAMETERS: &[ParamSpec] = &[
    param!("port", true, |c| c.port.to_string(), |c, a| c.port =
        integer(a, 0, 65535)? as u16),
    param!("bind", true, |c| c.bind.join(" "), |c, a| {
        if a.len() > BIND_ADDRESSES_MAX {
            return Err("Too many bind addresses specified.".into());
        }
        // A single empty argument is no address at all, as in Redis.
        c.bind = match a {
            [only] if only.is_empty() => Vec::new(),
            _ => a.to_vec(),
        }
    }),
    param!("dir", false, |c| c.dir.display().to_string(), |c, a| c
        .dir =
        one(a)?.into()),
    param!("logfile", false, |c| c.logfile.clone(), |c, a| c.logfile =
        one(a)?.into()),
    param!("loglevel", true, |c| c.loglevel.clone(), |c, a| c
        .loglevel =
        choice(a, LOGLEVELS)?.into()),
    param!(
        "requirepass",
        true,
        |c| c.requirepass.clone().unwrap_or_default(),
        |c, a| {
            let value = one(a)?;
            c.requirepass = (!value.is_empty()).then(|| value.to_string())
        }
    ),
    param!("maxclients", true, |c| c.maxclients.to_string(), |c, a| c
        .maxclients =
        integer(a, 1, i32::MAX as i64)? as u64),
    param!("timeout", true, |c| c.timeout_secs.to_string(), |c, a| c
        .timeout_secs =
        integer(a, 0, i32::MAX as i64)? as u64),
    param!(
        "tcp-keepalive",
        true,
        |c| c.tcp_keepalive_secs.to_string(),
        |c, a| { c.tcp_keepalive_secs = integer(a, 0, i32::MAX as i64)? as u64 }
    ),
    param!(
        "proto-max-bulk-len",
        true,
        |c| c.proto_max_bulk_len.to_string(),
        |c, a| {
            let value = memory(a)?;
            if !(1024 * 1024..=i64::MAX as u64).contains(&value) {
                return Err(
                    "argument must be between 1048576 and 9223372036854775807 inclusive".into(),
                );
            }
            c.proto_max_bulk_len = value
        }
    ),
    param!(
        "client-query-buffer-limit",
        true,
        |c| c.client_query_buffer_limit.to_string(),
        |c, a| {
            let value = memory(a)?;
            if !(1024 * 1024..=i64::MAX as u64).contains(&value) {
                return Err(
                    "argument must be between 1048576 and 9223372036854775807 inclusive".into(),
                );
            }
            c.client_query_buffer_limit = value
        }
    ),
    param!(
        "enable-debug-command",
        false,
        |c| match c.enable_debug_command {
            DebugCommand::No => "no".into(),
            DebugCommand::Yes => "yes".into(),
            DebugCommand::Local => "local".into(),
        },
        |c, a| c.enable_debug_command = match choice(a, &["no", "yes", "local"])? {
            "yes" => DebugCommand::Yes,
            "local" => DebugCommand::Local,
            _ => DebugCommand::No,
        }
    ),
    param!("save", true, |c| c.save.clone(), |c, a| {
        // Redis's setConfigSaveOption: pairs of seconds and changes.
        // Seconds at least 1, changes at least 0.
        let words: Vec<&str> = a.iter().flat_map(|w| w.split_whitespace()).collect();
        let valid = |(i, w): (usize, &&str)| {
            w.strip_prefix('+')
                .unwrap_or(w)
                .parse::<i64>()
                .is_ok_and(|n| n >= if i % 2 == 0 { 1 } else { 0 })
        };
        if words.len() % 2 == 1 || !words.iter().enumerate().all(valid) {
            return Err("Invalid save parameters".into());
        }
        c.save = words.join(" ")
    }),
    param!("dbfilename", true, |c| c.dbfilename.clone(), |c, a| {
        let name = one(a)?;
        // Redis's isValidDBfilename (pathIsBaseName).
        if name.contains('/') {
            return Err("dbfilename can't be a path, just a filename".into());
        }
        c.dbfilename = name.into()
    }),
    param!("appendonly", true, |c| yes_no(c.appendonly), |c, a| c
        .appendonly =
        boolean(a)?),
    param!(
        "cluster-enabled",
        false,
        |c| yes_no(c.cluster_enabled),
        |c, a| c.cluster_enabled = boolean(a)?
    ),
    param!(
        "cluster-config-file",
        false,
        |c| c.cluster_config_file.clone(),
        |c, a| { c.cluster_config_file = one(a)?.into() }
    ),
    param!(
        "cluster-node-timeout",
        true,
        |c| c.cluster_node_timeout_ms.to_string(),
        |c, a| { c.cluster_node_timeout_ms = integer(a, 0, i64::MAX)? as u64 }
    ),
    param!(
        "cluster-port",
        false,
        |c| c.cluster_port.to_string(),
        |c, a| { c.cluster_port = integer(a, 0, 65535)? as u16 }
    ),
    param!(
        "cluster-require-full-coverage",
        true,
        |c| yes_no(c.cluster_require_full_coverage),
        |c, a| c.cluster_require_full_coverage = boolean(a)?
    ),
    param!(
        "cluster-allow-reads-when-down",
        true,
        |c| yes_no(c.cluster_allow_reads_when_down),
        |c, a| c.cluster_allow_reads_when_down = boolean(a)?
    ),
    param!(
        "cluster-announce-ip",
        true,
        |c| c.cluster_announce_ip.clone(),
        |c, a| c.cluster_announce_ip = one(a)?.to_string()
    ),
    param!(
        "cluster-announce-port",
        true,
        |c| c.cluster_announce_port.to_string(),
        |c, a| { c.cluster_announce_port = integer(a, 0, 65535)? as u16 }
    ),
    param!(
        "cluster-announce-bus-port",
        true,
        |c| c.cluster_announce_bus_port.to_string(),
        |c, a| { c.cluster_announce_bus_port = integer(a, 0, 65535)? as u16 }
    ),
    param!(
        "cluster-announce-hostname",
        true,
        |c| c.cluster_announce_hostname.clone(),
        |c, a| c.cluster_announce_hostname = one(a)?.to_string()
    ),
    param!(
        "cluster-preferred-endpoint-type",
        true,
        |c| c.cluster_preferred_endpoint_type.clone(),
        |c, a| c.cluster_preferred_endpoint_type =
            choice(a, &["ip", "hostname", "unknown-endpoint"])?.to_string()
    ),
    param!("hz", true, |c| c.hz.to_string(), |c, a| c.hz =
        integer(a, 0, i32::MAX as i64)?.clamp(1, 500) as u64),
    param!("maxmemory", true, |c| c.maxmemory.to_string(), |c, a| c
        .maxmemory =
        memory(a)?),
    param!(
        "maxmemory-policy",
        true,
        |c| c.maxmemory_policy.clone(),
        |c, a| { c.maxmemory_policy = choice(a, MAXMEMORY_POLICIES)?.into() }
    ),
    param!(
        "lfu-log-factor",
        true,
        |c| c.lfu_log_factor.to_string(),
        |c, a| c.lfu_log_factor = integer(a, 0, i32::MAX as i64)? as u64
    ),
    param!(
        "lfu-decay-time",
        true,
        |c| c.lfu_decay_time.to_string(),
        |c, a| c.lfu_decay_time = integer(a, 0, i32::MAX as i64)? as u64
    ),
    param!(
        "maxmemory-samples",
        true,
        |c| c.maxmemory_samples.to_string(),
        |c, a| c.maxmemory_samples = integer(a, 1, i32::MAX as i64)? as u32
    ),
    param!(
        "slowlog-log-slower-than",
        true,
        |c| c.slowlog_log_slower_than.to_string(),
        |c, a| c.slowlog_log_slower_than = integer(a, -1, i64::MAX)?
    ),
    param!(
        "slowlog-max-len",
        true,
        |c| c.slowlog_max_len.to_string(),
        |c, a| c.slowlog_max_len = integer(a, 0, i64::MAX)? as u64
    ),
    param!(
        "latency-monitor-threshold",
        true,
        |c| c.latency_monitor_threshold.to_string(),
        |c, a| c.latency_monitor_threshold = integer(a, 0, i64::MAX)? as u64
    ),
    param!(
        "latency-tracking",
        true,
        |c| yes_no(c.latency_tracking),
        |c, a| c.latency_tracking = boolean(a)?
    ),
    param!("databases", false, |c| c.databases.to_string(), |c, a| c
        .databases =
        integer(a, 1, i32::MAX as i64)? as u64),
    param!("daemonize", false, |c| yes_no(c.daemonize), |c, a| c
        .daemonize =
        boolean(a)?),
    param!("pidfile", false, |c| c.pidfile.clone(), |c, a| c.pidfile =
        one(a)?.to_string()),
    param!(
        "protected-mode",
        true,
        |c| yes_no(c.protected_mode),
        |c, a| c.protected_mode = boolean(a)?
    ),
    param!(
        "tcp-backlog",
        false,
        |c| c.tcp_backlog.to_string(),
        |c, a| c.tcp_backlog = integer(a, 0, i32::MAX as i64)? as u64
    ),
    param!(
        "notify-keyspace-events",
        true,
        |c| crate::config::notify::flags_to_string(c.notify_flags),
        |c, a| {
            c.notify_flags = crate::config::notify::parse_flags(one(a)?)?;
            c.notify_keyspace_events = crate::config::notify::flags_to_string(c.notify_flags);
        }
    ),
    param!(
        "stream-node-max-bytes",
        true,
        |c| c.stream_node_max_bytes.to_string(),
        |c, a| c.stream_node_max_bytes = bounded_memory(a, i64::MAX as u64)?
    ),
    param!(
        "stream-node-max-entries",
        true,
        |c| c.stream_node_max_entries.to_string(),
        |c, a| c.stream_node_max_entries = integer(a, 0, i64::MAX)? as u64
    ),
    // Each encoding threshold answers to its 7.0 name and to its older
    // ziplist alias, as in Redis.
    param!(
        "hash-max-listpack-entries",
        true,
        |c| c.hash_max_listpack_entries.to_string(),
        |c, a| c.hash_max_listpack_entries = integer(a, 0, i64::MAX)? as u64
    ),
    param!(
        "hash-max-ziplist-entries",
        true,
        |c| c.hash_max_listpack_entries.to_string(),
        |c, a| c.hash_max_listpack_entries = integer(a, 0, i64::MAX)? as u64
    ),
    param!(
        "hash-max-listpack-value",
        true,
        |c| c.hash_max_listpack_value.to_string(),
        |c, a| c.hash_max_listpack_value = bounded_memory(a, i64::MAX as u64)?
    ),
    param!(
        "hash-max-ziplist-value",
        true,
        |c| c.hash_max_listpack_value.to_string(),
        |c, a| c.hash_max_listpack_value = bounded_memory(a, i64::MAX as u64)?
    ),
    param!(
        "set-max-intset-entries",
        true,
        |c| c.set_max_intset_entries.to_string(),
        |c, a| c.set_max_intset_entries = integer(a, 0, i64::MAX)? as u64
    ),
    param!(
        "hll-sparse-max-bytes",
        true,
        |c| c.hll_sparse_max_bytes.to_string(),
        |c, a| c.hll_sparse_max_bytes = bounded_memory(a, i64::MAX as u64)?
    ),
    param!(
        "list-max-listpack-size",
        true,
        |c| c.list_max_listpack_size.to_string(),
        |c, a| c.list_max_listpack_size = integer(a, i32::MIN as i64, i32::MAX as i64)?
    ),
    param!(
        "list-max-ziplist-size",
        true,
        |c| c.list_max_listpack_size.to_string(),
        |c, a| c.list_max_listpack_size = integer(a, i32::MIN as i64, i32::MAX as i64)?
    ),
    param!(
        "list-compress-depth",
        true,
        |c| c.list_compress_depth.to_string(),
        |c, a| c.list_compress_depth = integer(a, 0, i32::MAX as i64)?
    ),
    param!(
        "zset-max-listpack-entries",
        true,
        |c| c.zset_max_listpack_entries.to_string(),
        |c, a| c.zset_max_listpack_entries = integer(a, 0, i64::MAX)? as u64
    ),
    param!(
        "zset-max-listpack-value",
        true,
        |c| c.zset_max_listpack_value.to_string(),
        |c, a| c.zset_max_listpack_value = bounded_memory(a, i64::MAX as u64)?
    ),
    param!(
        "zset-max-ziplist-entries",
        true,
        |c| c.zset_max_listpack_entries.to_string(),
        |c, a| c.zset_max_listpack_entries = integer(a, 0, i64::MAX)? as u64
    ),
    param!(
        "zset-max-ziplist-value",
        true,
        |c| c.zset_max_listpack_value.to_string(),
        |c, a| c.zset_max_listpack_value = bounded_memory(a, i64::MAX as u64)?
    ),
    param!(
        "lazyfree-lazy-user-flush",
        true,
        |c| yes_no(c.lazyfree_lazy_user_flush),
        |c, a| { c.lazyfree_lazy_user_flush = boolean(a)? }
    ),
    param!(
        "latency-tracking-info-percentiles",
        true,
        |c| c
            .latency_tracking_info_percentiles
            .iter()
            .map(|p| format_percentile(*p))
            .collect::<Vec<_>>()
            .join(" "),
        |c, a| c.latency_tracking_info_percentiles = percentiles(a)?
    ),
    param!("shards", false, |c| c.shards.to_string(), |c, a| c.shards =
        integer(a, 0, 1024)? as usize),
    param!(
        "cpus",
        false,
        |c| c
            .cpus
            .iter()
            .map(|cpu| cpu.to_string())
            .collect::<Vec<_>>()
            .join(","),
        |c, a| { c.cpus = parse_cpu_list(&a.join(","))? }
    ),
    param!(
        "io-memory",
        false,
        |c| c.io_memory_bytes.to_string(),
        |c, a| c.io_memory_bytes = memory(a)?
    ),
];

/// A percentile as Redis writes it: `%f` without its trailing zeros
/// (`99.9`, `50`).
pub fn format_percentile(value: f64) -> String {
    let text = format!("{value:.6}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// `latency-tracking-info-percentiles`: numbers in [0, 100]; one empty word
/// is none.
fn percentiles(args: &[String]) -> Result<Vec<f64>, String> {
    let words: Vec<&str> = match args {
        [one] => one.split_whitespace().collect(),
        _ => args.iter().map(String::as_str).collect(),
    };
    let mut values = Vec::new();
    for word in words {
        let value: f64 = word
            .parse()
            .ok()
            .filter(|v: &f64| !v.is_nan())
            .ok_or_else(|| "Invalid latency-tracking-info-percentiles parameters".to_string())?;
        if !(0.0..=100.0).contains(&value) {
            return Err(
                "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"
                    .into(),
            );
        }
        values.push(value);
    }
    Ok(values)
}

/// Parses `0,2,4-7` into a list of CPUs.
pub fn parse_cpu_list(text: &str) -> Result<Vec<usize>, String> {
    let mut cpus = Vec::new();
    for part in text
        .split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
    {
        let bad = || format!("bad CPU list '{text}': expected e.g. 0,2,4-7");
        match part.split_once('-') {
            Some((first, last)) => {
                let (first, last): (usize, usize) = (
                    first.parse().map_err(|_| bad())?,
                    last.parse().map_err(|_| bad())?,
                );
                if first > last {
                    return Err(bad());
                }
                cpus.extend(first..=last);
            }
            None => cpus.push(part.parse().map_err(|_| bad())?),
        }
    }
    Ok(cpus)
}

pub fn parameter(name: &str) -> Option<&'static ParamSpec> {
    parameters().find(|spec| spec.name.eq_ignore_ascii_case(name))
}

/// Every parameter: those slotcore acts on, then the inert ones.
pub fn parameters() -> impl Iterator<Item = &'static ParamSpec> {
    PARAMETERS.iter().chain(INERT.iter())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_values_round_trip() {
        let config = Config::default();
        let all: Vec<_> = parameters().collect();
        for (index, spec) in all.iter().enumerate() {
            assert!(
                all[index + 1..].iter().all(|other| other.name != spec.name),
                "{}",
                spec.name
            );
            let value = spec.get(&config);
            let mut copy = config.clone();
            let args: Vec<String> = if spec.name == "bind" {
                value.split(' ').map(String::from).collect()
            } else {
                vec![value.clone()]
            };
            if spec.name == "cpus" && value.is_empty() {
                continue;
            }
            spec.set(&mut copy, &args)
                .unwrap_or_else(|e| panic!("{}: {e}", spec.name));
            assert_eq!(spec.get(&copy), value, "{}", spec.name);
        }
    }

    #[test]
    fn bad_values_get_redis_reasons() {
        let mut config = Config::default();
        assert_eq!(
            config.apply("port", &["x".into()]),
            Err("argument couldn't be parsed into an integer".into())
        );
        assert_eq!(
            config.apply("port", &["70000".into()]),
            Err("argument must be between 0 and 65535 inclusive".into())
        );
        assert_eq!(
            config.apply("appendonly", &["maybe".into()]),
            Err("argument must be 'yes' or 'no'".into())
        );
        assert_eq!(parse_cpu_list("0,2-4").unwrap(), vec![0, 2, 3, 4]);
        assert!(parse_cpu_list("4-2").is_err());
    }
}
