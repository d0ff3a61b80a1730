//! Redis 7.0 directives that slotcore accepts and keeps but does not act on
//! (replication, persistence, defragmentation, TLS-free networking knobs,
//! ...), so that a `redis.conf` written for Redis loads unchanged and CONFIG
//! GET/SET/REWRITE answer for every parameter Redis 7.0 has. Each is checked
//! as Redis checks it (its type, bounds and error text, from Redis's
//! `config.c` table) and reported as Redis formats it; nothing reads it,
//! but for a few kept here for their format and read where they act
//! (client-output-buffer-limit's pubsub class, stop-writes-on-bgsave-error,
//! bgsave_cpulist).
//! `docs/COMPATIBILITY.md` lists them; the server logs at startup which ones
//! its configuration set to something other than their default.
//!
//! The values live in `Config::inert`, by canonical name, only while they
//! differ from the default. An alias (`slave-priority`) shares its
//! canonical parameter's value (`replica-priority`).

use super::params::{boolean, choice, integer, one, Access, ParamSpec};
use super::{parse_memory, Config};

/// How a directive's value is checked and written back.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Bool,
    Str,
    Int {
        min: i64,
        max: i64,
    },
    /// A byte count with Redis's units (`1mb`, `64k`, ...), written as bytes.
    Memory {
        min: u64,
        max: u64,
    },
    /// Bytes, or a percentage of maxmemory written `N%` (maxmemory-clients).
    MemoryOrPercent {
        max_percent: i64,
    },
    Octal {
        max: i64,
    },
    Enum(&'static [&'static str]),
    /// One or more words of an enum of flags (shutdown-on-sigint/sigterm).
    ShutdownFlags,
    ClientOutputBufferLimit,
    OomScoreAdjValues,
    /// `replicaof <host> <port>` or `no one` (read at startup, see
    /// `replication::link`), written `host port` or empty.
    ReplicaOf,
    /// A directive whose only accepted value is its (empty) default: setting
    /// it would promise something slotcore does not do.
    Refused(&'static str),
}

impl Kind {
    /// Takes several words; CONFIG SET and a config file's single quoted
    /// word are split on spaces, as Redis's MULTI_ARG_CONFIG.
    pub fn multi_arg(self) -> bool {
        matches!(
            self,
            Kind::ShutdownFlags
                | Kind::ClientOutputBufferLimit
                | Kind::OomScoreAdjValues
                | Kind::Refused(_)
                | Kind::ReplicaOf
        )
    }

    /// Checks `args` and returns the value as CONFIG GET writes it.
    pub fn parse(self, args: &[String], current: &str) -> Result<String, String> {
        match self {
            Kind::Bool => Ok(if boolean(args)? { "yes" } else { "no" }.into()),
            Kind::Str => Ok(one(args)?.to_string()),
            Kind::Int { min, max } => Ok(integer(args, min, max)?.to_string()),
            Kind::Memory { min, max } => {
                let value = parse_memory(one(args)?)
                    .ok_or_else(|| "argument must be a memory value".to_string())?;
                if value < min || value > max {
                    return Err(format!(
                        "argument must be between {min} and {max} inclusive"
                    ));
                }
                Ok(value.to_string())
            }
            Kind::MemoryOrPercent { max_percent } => {
                let text = one(args)?;
                if let Some(value) = parse_memory(text) {
                    if value > i64::MAX as u64 {
                        return Err(format!(
                            "argument must be between -{max_percent} and {} inclusive",
                            i64::MAX
                        ));
                    }
                    return Ok(value.to_string());
                }
                match text.strip_suffix('%').map(str::parse::<i64>) {
                    Some(Ok(percent)) if percent >= 0 && text.len() > 1 => {
                        if percent > max_percent {
                            return Err(format!(
                                "percentage argument must be less or equal to {max_percent}"
                            ));
                        }
                        Ok(format!("{percent}%"))
                    }
                    _ => Err("argument must be a memory or percent value".into()),
                }
            }
            Kind::Octal { max } => {
                let value = i64::from_str_radix(one(args)?, 8)
                    .map_err(|_| "argument couldn't be parsed as an octal number".to_string())?;
                if !(0..=max).contains(&value) {
                    return Err(format!("argument must be between 0 and {max:o} inclusive"));
                }
                Ok(format!("{value:o}"))
            }
            Kind::Enum(names) => {
                let name = choice(args, names)?;
                // oom-score-adj: `relative` is `yes`, and Redis names a
                // value by the first of its spellings.
                Ok(if name == "relative" { "yes" } else { name }.into())
            }
            Kind::ShutdownFlags => shutdown_flags(args),
            Kind::ClientOutputBufferLimit => client_output_buffer_limit(args, current),
            Kind::OomScoreAdjValues => {
                if args.len() != 3 {
                    return Err("wrong number of arguments".into());
                }
                let mut values = Vec::new();
                for arg in args {
                    match arg.parse::<i64>() {
                        Ok(value) if (-2000..=2000).contains(&value) => {
                            values.push(value.to_string())
                        }
                        _ => {
                            return Err("Invalid oom-score-adj-values, elements must be between -2000 and 2000.".into())
                        }
                    }
                }
                Ok(values.join(" "))
            }
            Kind::ReplicaOf => match args {
                // Its value when none is set, written back as is.
                [] => Ok(String::new()),
                [empty] if empty.is_empty() => Ok(String::new()),
                [host, port] => Ok(crate::replication::link::parse_replicaof(host, port)?
                    .map(|(host, port)| format!("{host} {port}"))
                    .unwrap_or_default()),
                _ => Err("wrong number of arguments".into()),
            },
            // Only the default (`set` passes it as `current`) or nothing.
            Kind::Refused(why) => match args {
                [] => Ok(current.to_string()),
                [value] if value.is_empty() || value == current => Ok(current.to_string()),
                _ => Err(why.into()),
            },
        }
    }
}

/// SHUTDOWN's flags in Redis's enum order, with their bits.
const SHUTDOWN_FLAGS: &[(&str, u8)] = &[
    ("default", 0),
    ("save", 1),
    ("nosave", 2),
    ("now", 4),
    ("force", 8),
];

fn shutdown_flags(args: &[String]) -> Result<String, String> {
    if args.is_empty() {
        return Err(
            "argument(s) must be one of the following: default, save, nosave, now, force".into(),
        );
    }
    let mut bits = 0;
    for arg in args {
        let Some((_, bit)) = SHUTDOWN_FLAGS
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(arg))
        else {
            return Err(
                "argument(s) must be one of the following: default, save, nosave, now, force"
                    .into(),
            );
        };
        bits |= bit;
    }
    if bits & 1 != 0 && bits & 2 != 0 {
        return Err("shutdown options SAVE and NOSAVE can't be used simultaneously".into());
    }
    if bits == 0 {
        return Ok("default".into());
    }
    Ok(SHUTDOWN_FLAGS
        .iter()
        .filter(|(_, bit)| *bit != 0 && bits & bit != 0)
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(" "))
}

pub const CLIENT_OUTPUT_BUFFER_LIMIT_DEFAULT: &str =
    "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60";

/// `client-output-buffer-limit <class> <hard> <soft> <seconds> ...`: the
/// classes given replace theirs in `current`; written as Redis does, every
/// class in the order normal, slave, pubsub.
fn client_output_buffer_limit(args: &[String], current: &str) -> Result<String, String> {
    if args.is_empty() || !args.len().is_multiple_of(4) {
        return Err("Wrong number of arguments in buffer limit configuration.".into());
    }
    let mut classes: Vec<(String, [u64; 3])> = current
        .split_whitespace()
        .collect::<Vec<_>>()
        .chunks(4)
        .map(|chunk| {
            let number = |i: usize| chunk.get(i).and_then(|v| v.parse().ok()).unwrap_or(0);
            (
                chunk.first().copied().unwrap_or("").to_string(),
                [number(1), number(2), number(3)],
            )
        })
        .collect();
    let mut updates = Vec::new();
    for chunk in args.chunks(4) {
        let class = match chunk[0].to_ascii_lowercase().as_str() {
            "normal" => "normal",
            "slave" | "replica" => "slave",
            "pubsub" => "pubsub",
            _ => {
                return Err("Invalid client class specified in buffer limit configuration.".into())
            }
        };
        let hard = parse_memory(&chunk[1]);
        let soft = parse_memory(&chunk[2]);
        let seconds = chunk[3].parse::<i64>().ok().filter(|s| *s >= 0);
        match (hard, soft, seconds) {
            (Some(hard), Some(soft), Some(seconds)) => {
                updates.push((class, [hard, soft, seconds as u64]))
            }
            _ => {
                return Err(
                    "Error in hard, soft or soft_seconds setting in buffer limit configuration."
                        .into(),
                )
            }
        }
    }
    for (class, limits) in updates {
        if let Some(entry) = classes.iter_mut().find(|(name, _)| name == class) {
            entry.1 = limits;
        }
    }
    Ok(classes
        .iter()
        .map(|(name, [hard, soft, seconds])| format!("{name} {hard} {soft} {seconds}"))
        .collect::<Vec<_>>()
        .join(" "))
}

const fn inert(
    name: &'static str,
    key: &'static str,
    mutable: bool,
    hidden: bool,
    kind: Kind,
    default: &'static str,
) -> ParamSpec {
    ParamSpec {
        name,
        mutable,
        hidden,
        access: Access::Inert { key, kind, default },
    }
}

/// A directive's value in `config`: what was set, else its default.
pub fn get(config: &Config, key: &str, default: &str) -> String {
    config
        .inert
        .get(key)
        .cloned()
        .unwrap_or_else(|| default.to_string())
}

pub fn set(
    config: &mut Config,
    key: &'static str,
    kind: Kind,
    default: &str,
    args: &[String],
) -> Result<(), String> {
    let split: Vec<String>;
    let args = match args {
        [one] if kind.multi_arg() && one.contains(' ') => {
            split = one.split_whitespace().map(String::from).collect();
            &split[..]
        }
        _ => args,
    };
    // A refused directive compares with its default, the only value it has.
    let current = match kind {
        Kind::Refused(_) => default.to_string(),
        _ => get(config, key, default),
    };
    let value = kind.parse(args, &current)?;
    // Mirrored for the write path (`Config::min_replicas_to_write`).
    let number = || value.parse::<u64>().unwrap_or(0);
    match key {
        "min-replicas-to-write" => config.min_replicas_to_write = number(),
        "min-replicas-max-lag" => config.min_replicas_max_lag = number(),
        _ => {}
    }
    if value == default {
        config.inert.remove(key);
    } else {
        config.inert.insert(key, value);
    }
    Ok(())
}

/// Every Redis 7.0 parameter slotcore has no use for, with Redis's aliases,
/// flags, bounds and defaults, TLS's as a Redis built with TLS (Debian's)
/// has them: `tls-port` takes only 0, as slotcore serves plain TCP.
#[rustfmt::skip]
pub static INERT: &[ParamSpec] = &[
    inert("rdbchecksum", "rdbchecksum", false, false, Kind::Bool, "yes"),
    inert("io-threads-do-reads", "io-threads-do-reads", false, false, Kind::Bool, "no"),
    inert("always-show-logo", "always-show-logo", false, false, Kind::Bool, "no"),
    inert("rdbcompression", "rdbcompression", true, false, Kind::Bool, "yes"),
    inert("rdb-del-sync-files", "rdb-del-sync-files", true, false, Kind::Bool, "no"),
    inert("activerehashing", "activerehashing", true, false, Kind::Bool, "yes"),
    inert("stop-writes-on-bgsave-error", "stop-writes-on-bgsave-error", true, false, Kind::Bool, "yes"),
    inert("set-proc-title", "set-proc-title", false, false, Kind::Bool, "yes"),
    inert("dynamic-hz", "dynamic-hz", true, false, Kind::Bool, "yes"),
    inert("lazyfree-lazy-eviction", "lazyfree-lazy-eviction", true, false, Kind::Bool, "no"),
    inert("lazyfree-lazy-expire", "lazyfree-lazy-expire", true, false, Kind::Bool, "no"),
    inert("lazyfree-lazy-server-del", "lazyfree-lazy-server-del", true, false, Kind::Bool, "no"),
    inert("lazyfree-lazy-user-del", "lazyfree-lazy-user-del", true, false, Kind::Bool, "no"),
    inert("repl-disable-tcp-nodelay", "repl-disable-tcp-nodelay", true, false, Kind::Bool, "no"),
    inert("repl-diskless-sync", "repl-diskless-sync", true, false, Kind::Bool, "yes"),
    inert("aof-rewrite-incremental-fsync", "aof-rewrite-incremental-fsync", true, false, Kind::Bool, "yes"),
    inert("no-appendfsync-on-rewrite", "no-appendfsync-on-rewrite", true, false, Kind::Bool, "no"),
    inert("rdb-save-incremental-fsync", "rdb-save-incremental-fsync", true, false, Kind::Bool, "yes"),
    inert("aof-load-truncated", "aof-load-truncated", true, false, Kind::Bool, "yes"),
    inert("aof-use-rdb-preamble", "aof-use-rdb-preamble", true, false, Kind::Bool, "yes"),
    inert("aof-timestamp-enabled", "aof-timestamp-enabled", true, false, Kind::Bool, "no"),
    inert("cluster-replica-no-failover", "cluster-replica-no-failover", true, false, Kind::Bool, "no"),
    inert("cluster-slave-no-failover", "cluster-replica-no-failover", true, false, Kind::Bool, "no"),
    inert("replica-lazy-flush", "replica-lazy-flush", true, false, Kind::Bool, "no"),
    inert("slave-lazy-flush", "replica-lazy-flush", true, false, Kind::Bool, "no"),
    inert("replica-serve-stale-data", "replica-serve-stale-data", true, false, Kind::Bool, "yes"),
    inert("slave-serve-stale-data", "replica-serve-stale-data", true, false, Kind::Bool, "yes"),
    inert("replica-read-only", "replica-read-only", true, false, Kind::Bool, "yes"),
    inert("slave-read-only", "replica-read-only", true, false, Kind::Bool, "yes"),
    inert("replica-ignore-maxmemory", "replica-ignore-maxmemory", true, false, Kind::Bool, "yes"),
    inert("slave-ignore-maxmemory", "replica-ignore-maxmemory", true, false, Kind::Bool, "yes"),
    inert("jemalloc-bg-thread", "jemalloc-bg-thread", true, false, Kind::Bool, "yes"),
    inert("activedefrag", "activedefrag", true, false, Kind::Bool, "no"),
    inert("syslog-enabled", "syslog-enabled", false, false, Kind::Bool, "no"),
    inert("cluster-allow-pubsubshard-when-down", "cluster-allow-pubsubshard-when-down", true, false, Kind::Bool, "yes"),
    inert("crash-log-enabled", "crash-log-enabled", true, false, Kind::Bool, "yes"),
    inert("crash-memcheck-enabled", "crash-memcheck-enabled", true, false, Kind::Bool, "yes"),
    inert("use-exit-on-panic", "use-exit-on-panic", true, true, Kind::Bool, "no"),
    inert("disable-thp", "disable-thp", false, false, Kind::Bool, "yes"),
    inert("cluster-allow-replica-migration", "cluster-allow-replica-migration", true, false, Kind::Bool, "yes"),
    inert("replica-announced", "replica-announced", true, false, Kind::Bool, "yes"),
    inert("aof-disable-auto-gc", "aof-disable-auto-gc", true, false, Kind::Bool, "no"),
    inert("replica-ignore-disk-write-errors", "replica-ignore-disk-write-errors", true, false, Kind::Bool, "no"),
    inert("aclfile", "aclfile", false, false, Kind::Str, ""),
    inert("unixsocket", "unixsocket", false, false, Kind::Str, ""),
    inert("replica-announce-ip", "replica-announce-ip", true, false, Kind::Str, ""),
    inert("slave-announce-ip", "replica-announce-ip", true, false, Kind::Str, ""),
    inert("masteruser", "masteruser", true, false, Kind::Str, ""),
    inert("syslog-ident", "syslog-ident", false, false, Kind::Str, "redis"),
    inert("appendfilename", "appendfilename", false, false, Kind::Str, "appendonly.aof"),
    inert("appenddirname", "appenddirname", false, false, Kind::Str, "appendonlydir"),
    inert("server_cpulist", "server_cpulist", false, false, Kind::Str, ""),
    inert("bio_cpulist", "bio_cpulist", false, false, Kind::Str, ""),
    inert("aof_rewrite_cpulist", "aof_rewrite_cpulist", false, false, Kind::Str, ""),
    inert("bgsave_cpulist", "bgsave_cpulist", false, false, Kind::Str, ""),
    inert("ignore-warnings", "ignore-warnings", true, false, Kind::Str, ""),
    inert("proc-title-template", "proc-title-template", true, false, Kind::Str, "{title} {listen-addr} {server-mode}"),
    inert("bind-source-addr", "bind-source-addr", true, false, Kind::Str, ""),
    inert("masterauth", "masterauth", true, false, Kind::Str, ""),
    inert("supervised", "supervised", false, false, Kind::Enum(&["upstart", "systemd", "auto", "no"]),
        "no",
    ),
    inert("syslog-facility", "syslog-facility", false, false, Kind::Enum(&[ "user", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7", ]),
        "local0",
    ),
    inert("repl-diskless-load", "repl-diskless-load", true, false, Kind::Enum(&["disabled", "on-empty-db", "swapdb"]),
        "disabled",
    ),
    inert("appendfsync", "appendfsync", true, false, Kind::Enum(&["everysec", "always", "no"]),
        "everysec",
    ),
    inert("oom-score-adj", "oom-score-adj", true, false, Kind::Enum(&["no", "yes", "relative", "absolute"]),
        "no",
    ),
    inert("acl-pubsub-default", "acl-pubsub-default", true, false, Kind::Enum(&["allchannels", "resetchannels"]),
        "resetchannels",
    ),
    inert("sanitize-dump-payload", "sanitize-dump-payload", true, false, Kind::Enum(&["no", "yes", "clients"]),
        "no",
    ),
    inert("enable-protected-configs", "enable-protected-configs", false, false, Kind::Enum(&["no", "yes", "local"]),
        "no",
    ),
    inert("enable-module-command", "enable-module-command", false, false, Kind::Enum(&["no", "yes", "local"]),
        "no",
    ),
    inert("propagation-error-behavior", "propagation-error-behavior", true, false, Kind::Enum(&["ignore", "panic", "panic-on-replicas"]),
        "ignore",
    ),
    inert("shutdown-on-sigint", "shutdown-on-sigint", true, false, Kind::ShutdownFlags, "default"),
    inert("shutdown-on-sigterm", "shutdown-on-sigterm", true, false, Kind::ShutdownFlags, "default"),
    inert("io-threads", "io-threads", false, false, Kind::Int { min: 1, max: 128 }, "1"),
    inert("auto-aof-rewrite-percentage", "auto-aof-rewrite-percentage", true, false, Kind::Int { min: 0, max: i32::MAX as i64, }, "100"),
    inert("cluster-replica-validity-factor", "cluster-replica-validity-factor", true, false, Kind::Int { min: 0, max: i32::MAX as i64, }, "10"),
    inert("cluster-slave-validity-factor", "cluster-replica-validity-factor", true, false, Kind::Int { min: 0, max: i32::MAX as i64, }, "10"),
    inert("cluster-migration-barrier", "cluster-migration-barrier", true, false, Kind::Int { min: 0, max: i32::MAX as i64, }, "1"),
    inert("active-defrag-cycle-min", "active-defrag-cycle-min", true, false, Kind::Int { min: 1, max: 99 }, "1"),
    inert("active-defrag-cycle-max", "active-defrag-cycle-max", true, false, Kind::Int { min: 1, max: 99 }, "25"),
    inert("active-defrag-threshold-lower", "active-defrag-threshold-lower", true, false, Kind::Int { min: 0, max: 1000 }, "10"),
    inert("active-defrag-threshold-upper", "active-defrag-threshold-upper", true, false, Kind::Int { min: 0, max: 1000 }, "100"),
    inert("replica-priority", "replica-priority", true, false, Kind::Int { min: 0, max: i32::MAX as i64, }, "100"),
    inert("slave-priority", "replica-priority", true, false, Kind::Int { min: 0, max: i32::MAX as i64, }, "100"),
    inert("repl-diskless-sync-delay", "repl-diskless-sync-delay", true, false, Kind::Int { min: 0, max: i32::MAX as i64, }, "5"),
    inert("maxmemory-eviction-tenacity", "maxmemory-eviction-tenacity", true, false, Kind::Int { min: 0, max: 100 }, "10"),
    inert("replica-announce-port", "replica-announce-port", true, false, Kind::Int { min: 0, max: 65535 }, "0"),
    inert("slave-announce-port", "replica-announce-port", true, false, Kind::Int { min: 0, max: 65535 }, "0"),
    inert("cluster-announce-tls-port", "cluster-announce-tls-port", true, false, Kind::Int { min: 0, max: 65535 }, "0"),
    inert("repl-timeout", "repl-timeout", true, false, Kind::Int { min: 1, max: i32::MAX as i64, }, "60"),
    inert("repl-ping-replica-period", "repl-ping-replica-period", true, false, Kind::Int { min: 1, max: i32::MAX as i64, }, "10"),
    inert("repl-ping-slave-period", "repl-ping-replica-period", true, false, Kind::Int { min: 1, max: i32::MAX as i64, }, "10"),
    inert("rdb-key-save-delay", "rdb-key-save-delay", true, true, Kind::Int { min: i32::MIN as i64, max: i32::MAX as i64, }, "0"),
    inert("key-load-delay", "key-load-delay", true, true, Kind::Int { min: i32::MIN as i64, max: i32::MAX as i64, }, "0"),
    inert("active-expire-effort", "active-expire-effort", true, false, Kind::Int { min: 1, max: 10 }, "1"),
    inert("min-replicas-to-write", "min-replicas-to-write", true, false, Kind::Int { min: 0, max: i32::MAX as i64, }, "0"),
    inert("min-slaves-to-write", "min-replicas-to-write", true, false, Kind::Int { min: 0, max: i32::MAX as i64, }, "0"),
    inert("min-replicas-max-lag", "min-replicas-max-lag", true, false, Kind::Int { min: 0, max: i32::MAX as i64, }, "10"),
    inert("min-slaves-max-lag", "min-replicas-max-lag", true, false, Kind::Int { min: 0, max: i32::MAX as i64, }, "10"),
    inert("watchdog-period", "watchdog-period", true, true, Kind::Int { min: 0, max: i32::MAX as i64, }, "0"),
    inert("shutdown-timeout", "shutdown-timeout", true, false, Kind::Int { min: 0, max: i32::MAX as i64, }, "10"),
    inert("repl-diskless-sync-max-replicas", "repl-diskless-sync-max-replicas", true, false, Kind::Int { min: 0, max: i32::MAX as i64, }, "0"),
    inert("unixsocketperm", "unixsocketperm", false, false, Kind::Octal { max: 0o777 }, "0"),
    inert("socket-mark-id", "socket-mark-id", false, false, Kind::Int { min: 0, max: u32::MAX as i64, }, "0"),
    inert("active-defrag-max-scan-fields", "active-defrag-max-scan-fields", true, false, Kind::Int { min: 1, max: i64::MAX, }, "1000"),
    inert("acllog-max-len", "acllog-max-len", true, false, Kind::Int { min: 0, max: i64::MAX, }, "128"),
    inert("busy-reply-threshold", "busy-reply-threshold", true, false, Kind::Int { min: 0, max: i64::MAX, }, "5000"),
    inert("lua-time-limit", "busy-reply-threshold", true, false, Kind::Int { min: 0, max: i64::MAX, }, "5000"),
    inert("repl-backlog-size", "repl-backlog-size", true, false, Kind::Memory { min: 1, max: i64::MAX as u64, }, "1048576"),
    inert("cluster-link-sendbuf-limit", "cluster-link-sendbuf-limit", true, false, Kind::Memory { min: 0, max: i64::MAX as u64, }, "0"),
    inert("active-defrag-ignore-bytes", "active-defrag-ignore-bytes", true, false, Kind::Memory { min: 1, max: i64::MAX as u64, }, "104857600"),
    inert("tracking-table-max-keys", "tracking-table-max-keys", true, false, Kind::Int { min: 0, max: i64::MAX, }, "1000000"),
    inert("maxmemory-clients", "maxmemory-clients", true, false, Kind::MemoryOrPercent { max_percent: 100 }, "0"),
    inert("repl-backlog-ttl", "repl-backlog-ttl", true, false, Kind::Int { min: 0, max: i64::MAX, }, "3600"),
    inert("auto-aof-rewrite-min-size", "auto-aof-rewrite-min-size", true, false, Kind::Memory { min: 0, max: i64::MAX as u64, }, "67108864"),
    inert("loading-process-events-interval-bytes", "loading-process-events-interval-bytes", true, true, Kind::Int { min: 1024, max: i32::MAX as i64, }, "2097152"),
    inert("tls-port", "tls-port", true, false, Kind::Refused("TLS is not supported: slotcore serves plain TCP only"),
        "0",
    ),
    inert("tls-session-cache-size", "tls-session-cache-size", true, false, Kind::Int { min: 0, max: i32::MAX as i64, }, "20480"),
    inert("tls-session-cache-timeout", "tls-session-cache-timeout", true, false, Kind::Int { min: 0, max: i32::MAX as i64, }, "300"),
    inert("tls-cluster", "tls-cluster", true, false, Kind::Bool, "no"),
    inert("tls-replication", "tls-replication", true, false, Kind::Bool, "no"),
    inert("tls-auth-clients", "tls-auth-clients", true, false, Kind::Enum(&["no", "yes", "optional"]),
        "yes",
    ),
    inert("tls-prefer-server-ciphers", "tls-prefer-server-ciphers", true, false, Kind::Bool, "no"),
    inert("tls-session-caching", "tls-session-caching", true, false, Kind::Bool, "yes"),
    inert("tls-cert-file", "tls-cert-file", true, false, Kind::Str, ""),
    inert("tls-key-file", "tls-key-file", true, false, Kind::Str, ""),
    inert("tls-key-file-pass", "tls-key-file-pass", true, false, Kind::Str, ""),
    inert("tls-client-cert-file", "tls-client-cert-file", true, false, Kind::Str, ""),
    inert("tls-client-key-file", "tls-client-key-file", true, false, Kind::Str, ""),
    inert("tls-client-key-file-pass", "tls-client-key-file-pass", true, false, Kind::Str, ""),
    inert("tls-dh-params-file", "tls-dh-params-file", true, false, Kind::Str, ""),
    inert("tls-ca-cert-file", "tls-ca-cert-file", true, false, Kind::Str, ""),
    inert("tls-ca-cert-dir", "tls-ca-cert-dir", true, false, Kind::Str, ""),
    inert("tls-protocols", "tls-protocols", true, false, Kind::Str, ""),
    inert("tls-ciphers", "tls-ciphers", true, false, Kind::Str, ""),
    inert("tls-ciphersuites", "tls-ciphersuites", true, false, Kind::Str, ""),
    inert("client-output-buffer-limit", "client-output-buffer-limit", true, false, Kind::ClientOutputBufferLimit, CLIENT_OUTPUT_BUFFER_LIMIT_DEFAULT),
    inert("oom-score-adj-values", "oom-score-adj-values", true, false, Kind::OomScoreAdjValues, "0 200 800"),
    inert("replicaof", "replicaof", false, false, Kind::ReplicaOf, ""),
    inert("slaveof", "replicaof", false, false, Kind::ReplicaOf, ""),
];
