//! INFO: gathers every core's counters and formats Redis's sections with
//! Redis's field names, so redis-cli and exporters parse them.

use super::conn::Conn;
use super::coord::array_items;
use super::mesh::Op;
use super::stats::CoreStats;
use super::Core;
use crate::command::{server, CommandStats, COMMANDS};
use crate::protocol::Arg;
use crate::protocol::Reply;
use std::fmt::Write;

const DEFAULT_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "errorstats",
    "cluster",
    "keyspace",
];
const ALL_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "commandstats",
    "errorstats",
    "latencystats",
    "cluster",
    "keyspace",
];

fn stats_core(core: &Core, _argv: &[Arg<'_>]) -> Reply {
    let stats = core.stats.borrow().to_reply();
    let keyspace = server::info_local(&mut core.db.borrow_mut(), &[]);
    Reply::Array(vec![stats, keyspace])
}

fn rusage() -> (f64, f64) {
    // SAFETY: getrusage fills the struct we pass.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (secs(usage.ru_utime), secs(usage.ru_stime))
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn total_system_memory() -> u64 {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let kilobytes: u64 = meminfo
        .lines()
        .find(|line| line.starts_with("MemTotal:"))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    kilobytes * 1024
}

fn human_bytes(bytes: u64) -> String {
    let units = [("G", 1u64 << 30), ("M", 1 << 20), ("K", 1 << 10)];
    for (unit, size) in units {
        if bytes >= size {
            return format!("{:.2}{unit}", bytes as f64 / size as f64);
        }
    }
    format!("{bytes}B")
}

impl Conn {
    /// Every core's statistics, summed, and its keyspace counters summed.
    pub(super) async fn gather_stats(&self) -> (CoreStats, [i64; 6]) {
        let parts = self.on_all(|| Op::Core(stats_core, vec![])).await;
        let mut stats = CoreStats::new();
        let mut keyspace = [0i64; 6];
        for part in parts {
            let items = array_items(part);
            if let [core_stats, core_keyspace] = &items[..] {
                stats.merge(&CoreStats::from_reply(core_stats));
                for (total, value) in keyspace.iter_mut().zip(array_items(core_keyspace.clone())) {
                    if let Reply::Int(n) = value {
                        *total += n;
                    }
                }
            }
        }
        (stats, keyspace)
    }

    pub(super) async fn info(&mut self, argv: &[Arg<'_>]) -> Reply {
        let mut sections: Vec<String> = Vec::new();
        for arg in &argv[1..] {
            let name = String::from_utf8_lossy(arg).to_ascii_lowercase();
            match name.as_str() {
                "default" => sections.extend(DEFAULT_SECTIONS.iter().map(|s| s.to_string())),
                "all" | "everything" => sections.extend(ALL_SECTIONS.iter().map(|s| s.to_string())),
                _ => sections.push(name),
            }
        }
        if sections.is_empty() {
            sections.extend(DEFAULT_SECTIONS.iter().map(|s| s.to_string()));
        }
        // Memory as the command starts, before gathering the figures
        // allocates (every core's statistics, with their histograms).
        let used_memory = crate::memory::allocated_bytes();
        let (mut stats, keyspace) = self.gather_stats().await;
        if sections.iter().any(|s| s == "stats") {
            stats.pubsub_counts = self.pubsub_counts().await;
        }
        let mut text = String::new();
        let mut seen = Vec::new();
        for section in ALL_SECTIONS {
            if sections.iter().any(|s| s == section) && !seen.contains(section) {
                seen.push(*section);
                if !text.is_empty() {
                    text.push_str("\r\n");
                }
                self.info_section(section, &stats, &keyspace, used_memory, &mut text);
            }
        }
        Reply::Verbatim(text)
    }

    fn info_section(
        &self,
        section: &str,
        stats: &CoreStats,
        keyspace: &[i64; 6],
        used_memory: u64,
        out: &mut String,
    ) {
        let shared = &self.core.shared;
        let config = self.core.db.borrow().config.clone();
        let now = crate::command::now_ms();
        let uptime = now.saturating_sub(shared.start_ms) / 1000;
        let mut line = |text: String| {
            out.push_str(&text);
            out.push_str("\r\n");
        };
        match section {
            "server" => {
                line("# Server".into());
                line(format!("redis_version:{}", crate::REDIS_VERSION));
                line(format!("slotcore_version:{}", env!("CARGO_PKG_VERSION")));
                line("redis_git_sha1:00000000".into());
                line("redis_git_dirty:0".into());
                line("redis_build_id:0".into());
                line(format!(
                    "redis_mode:{}",
                    if config.cluster_enabled {
                        "cluster"
                    } else {
                        "standalone"
                    }
                ));
                line(format!("os:Linux {}", std::env::consts::ARCH));
                line(format!("arch_bits:{}", usize::BITS));
                line("monotonic_clock:POSIX clock_gettime".into());
                line("multiplexing_api:io_uring".into());
                line("atomicvar_api:c11-builtin".into());
                line("gcc_version:0.0.0".into());
                line(format!("process_id:{}", std::process::id()));
                line("process_supervised:no".into());
                line(format!("run_id:{}", shared.run_id));
                line(format!("shard_cores:{}", shared.cores));
                line(format!("tcp_port:{}", config.port));
                line(format!("server_time_usec:{}", crate::command::now_us()));
                line(format!("uptime_in_seconds:{uptime}"));
                line(format!("uptime_in_days:{}", uptime / 86400));
                line(format!("hz:{}", config.hz));
                line(format!("configured_hz:{}", config.hz));
                line(format!("lru_clock:{}", (now / 1000) & 0xFF_FFFF));
                line(format!("executable:{}", shared.executable));
                line(format!(
                    "config_file:{}",
                    shared
                        .config_file
                        .as_ref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default()
                ));
                line("io_threads_active:0".into());
            }
            "clients" => {
                line("# Clients".into());
                line(format!("connected_clients:{}", stats.connected_clients));
                line("cluster_connections:0".into());
                line(format!("maxclients:{}", config.maxclients));
                line("client_recent_max_input_buffer:0".into());
                line("client_recent_max_output_buffer:0".into());
                line(format!("blocked_clients:{}", stats.blocked_clients));
                line("tracking_clients:0".into());
                line(format!(
                    "clients_in_timeout_table:{}",
                    stats.clients_in_timeout_table
                ));
            }
            "memory" => {
                let used = used_memory;
                let rss = rss_bytes();
                line("# Memory".into());
                line(format!("used_memory:{used}"));
                line(format!("used_memory_human:{}", human_bytes(used)));
                line(format!("used_memory_rss:{rss}"));
                line(format!("used_memory_rss_human:{}", human_bytes(rss)));
                line(format!("used_memory_peak:{}", crate::memory::peak_bytes()));
                line(format!(
                    "used_memory_peak_human:{}",
                    human_bytes(crate::memory::peak_bytes())
                ));
                let peak = crate::memory::peak_bytes().max(1);
                line(format!(
                    "used_memory_peak_perc:{:.2}%",
                    used as f64 * 100.0 / peak as f64
                ));
                let startup = shared
                    .startup_memory_bytes
                    .load(std::sync::atomic::Ordering::Relaxed)
                    .min(used);
                line(format!("used_memory_overhead:{startup}"));
                line(format!("used_memory_startup:{startup}"));
                line(format!("used_memory_dataset:{}", used - startup));
                line(format!(
                    "used_memory_dataset_perc:{:.2}%",
                    (used - startup) as f64 * 100.0 / used.max(1) as f64
                ));
                line(format!("allocator_allocated:{used}"));
                line(format!("allocator_active:{used}"));
                line(format!("allocator_resident:{rss}"));
                let total = total_system_memory();
                line(format!("total_system_memory:{total}"));
                line(format!("total_system_memory_human:{}", human_bytes(total)));
                // Every core's Lua interpreter; no functions (FUNCTION is
                // not built): those are truly zero.
                let scripts = &self.core.shared.scripts;
                let lua = scripts.lua_bytes();
                let bodies = scripts.bytes() as u64;
                line(format!("used_memory_lua:{lua}"));
                line(format!("used_memory_vm_eval:{lua}"));
                line(format!("used_memory_lua_human:{}", human_bytes(lua)));
                line(format!("used_memory_scripts_eval:{bodies}"));
                line(format!("number_of_cached_scripts:{}", scripts.len()));
                for zero in [
                    "number_of_functions",
                    "number_of_libraries",
                    "used_memory_vm_functions",
                ] {
                    line(format!("{zero}:0"));
                }
                line(format!("used_memory_vm_total:{lua}"));
                line(format!("used_memory_vm_total_human:{}", human_bytes(lua)));
                line("used_memory_functions:0".into());
                line(format!("used_memory_scripts:{bodies}"));
                line(format!("used_memory_scripts_human:{}", human_bytes(bodies)));
                line(format!("maxmemory:{}", config.maxmemory));
                line(format!("maxmemory_human:{}", human_bytes(config.maxmemory)));
                line(format!("maxmemory_policy:{}", config.maxmemory_policy));
                line(format!(
                    "mem_fragmentation_ratio:{:.2}",
                    rss as f64 / used.max(1) as f64
                ));
                line(format!(
                    "mem_fragmentation_bytes:{}",
                    rss as i64 - used as i64
                ));
                line("allocator_frag_ratio:1.00".into());
                line("allocator_frag_bytes:0".into());
                line(format!(
                    "allocator_rss_ratio:{:.2}",
                    rss as f64 / used.max(1) as f64
                ));
                line(format!("allocator_rss_bytes:{}", rss as i64 - used as i64));
                line("rss_overhead_ratio:1.00".into());
                line("rss_overhead_bytes:0".into());
                for zero in [
                    "mem_not_counted_for_evict",
                    "mem_replication_backlog",
                    "mem_total_replication_buffers",
                    "mem_clients_slaves",
                    "mem_clients_normal",
                    "mem_cluster_links",
                    "mem_aof_buffer",
                ] {
                    line(format!("{zero}:0"));
                }
                line("mem_allocator:mimalloc".into());
                line("active_defrag_running:0".into());
                line("lazyfree_pending_objects:0".into());
                line("lazyfreed_objects:0".into());
            }
            "persistence" => {
                line("# Persistence".into());
                line("loading:0".into());
                line("async_loading:0".into());
                for zero in [
                    "current_cow_peak",
                    "current_cow_size",
                    "current_cow_size_age",
                ] {
                    line(format!("{zero}:0"));
                }
                line("current_fork_perc:0.00".into());
                line("current_save_keys_processed:0".into());
                line("current_save_keys_total:0".into());
                for (name, value) in shared.persistence.info_fields() {
                    line(format!("{name}:{value}"));
                }
                for (name, value) in shared.aof.info_fields(&shared.replication.aof_stats) {
                    line(format!("{name}:{value}"));
                }
            }
            "stats" => {
                line("# Stats".into());
                line(format!(
                    "total_connections_received:{}",
                    stats.total_connections
                ));
                line(format!("total_commands_processed:{}", stats.total_commands));
                line("instantaneous_ops_per_sec:0".into());
                line(format!("total_net_input_bytes:{}", stats.net_input_bytes));
                line(format!("total_net_output_bytes:{}", stats.net_output_bytes));
                line("total_net_repl_input_bytes:0".into());
                line("total_net_repl_output_bytes:0".into());
                for rate in [
                    "instantaneous_input_kbps",
                    "instantaneous_output_kbps",
                    "instantaneous_input_repl_kbps",
                    "instantaneous_output_repl_kbps",
                ] {
                    line(format!("{rate}:0.00"));
                }
                line(format!(
                    "rejected_connections:{}",
                    stats.rejected_connections
                ));
                let counters = &self.core.shared.replication.counters;
                for (name, counter) in [
                    ("sync_full", &counters.sync_full),
                    ("sync_partial_ok", &counters.sync_partial_ok),
                    ("sync_partial_err", &counters.sync_partial_err),
                ] {
                    line(format!(
                        "{name}:{}",
                        counter.load(std::sync::atomic::Ordering::Relaxed)
                    ));
                }
                line(format!("expired_keys:{}", keyspace[4]));
                line("expired_stale_perc:0.00".into());
                line("expired_time_cap_reached_count:0".into());
                line("expire_cycle_cpu_milliseconds:0".into());
                line(format!("evicted_keys:{}", keyspace[5]));
                line("evicted_clients:0".into());
                line("total_eviction_exceeded_time:0".into());
                line("current_eviction_exceeded_time:0".into());
                line(format!("keyspace_hits:{}", keyspace[2]));
                line(format!("keyspace_misses:{}", keyspace[3]));
                line(format!("pubsub_channels:{}", stats.pubsub_counts[0]));
                line(format!("pubsub_patterns:{}", stats.pubsub_counts[1]));
                line(format!("pubsubshard_channels:{}", stats.pubsub_counts[2]));
                for zero in [
                    "latest_fork_usec",
                    "total_forks",
                    "migrate_cached_sockets",
                    "slave_expires_tracked_keys",
                    "active_defrag_hits",
                    "active_defrag_misses",
                    "active_defrag_key_hits",
                    "active_defrag_key_misses",
                    "total_active_defrag_time",
                    "current_active_defrag_time",
                    "tracking_total_keys",
                    "tracking_total_items",
                    "tracking_total_prefixes",
                    "unexpected_error_replies",
                ] {
                    line(format!("{zero}:0"));
                }
                line(format!("total_error_replies:{}", stats.total_error_replies));
                line("total_reads_processed:0".into());
                line("total_writes_processed:0".into());
                for zero in [
                    "io_threaded_reads_processed",
                    "io_threaded_writes_processed",
                    "reply_buffer_shrinks",
                    "reply_buffer_expands",
                ] {
                    line(format!("{zero}:0"));
                }
            }
            "replication" => {
                let replication = &self.core.shared.replication;
                let published = replication.published().clone();
                line("# Replication".into());
                let side = &self.core.shared.replica;
                let replica = side.is_on();
                if replica {
                    let config = &self.core.db.borrow().config;
                    let priority = crate::config::inert::get(config, "replica-priority", "100");
                    let read_only =
                        crate::config::inert::get(config, "replica-read-only", "yes") == "yes";
                    for text in side.info_lines(crate::command::now_ms(), &priority, read_only) {
                        line(text);
                    }
                } else {
                    line("role:master".into());
                }
                line(format!("connected_slaves:{}", published.replicas.len()));
                if let Some((_, max_lag)) = self.core.min_replicas().filter(|_| !replica) {
                    line(format!(
                        "min_slaves_good_slaves:{}",
                        replication.good_replicas(max_lag)
                    ));
                }
                for (n, replica) in published.replicas.iter().enumerate() {
                    line(format!(
                        "slave{n}:ip={},port={},state={},offset={},lag={}",
                        replica.ip,
                        replica.port,
                        replica.state,
                        replica.ack_offset,
                        replica.ack_at.elapsed().as_secs()
                    ));
                }
                line("master_failover_state:no-failover".into());
                // A replica's stream is its master's, under its id.
                line(format!("master_replid:{}", published.replid));
                line(format!("master_replid2:{}", published.replid2));
                if replica {
                    line(format!("master_repl_offset:{}", side.offset().max(0)));
                } else {
                    line(format!("master_repl_offset:{}", published.offset));
                }
                line(format!("second_repl_offset:{}", published.second_offset));
                let configured = self
                    .core
                    .db
                    .borrow()
                    .config
                    .inert
                    .get("repl-backlog-size")
                    .cloned()
                    .unwrap_or_else(|| "1048576".into());
                match published.backlog {
                    Some(backlog) => {
                        line("repl_backlog_active:1".into());
                        line(format!("repl_backlog_size:{}", backlog.size));
                        line(format!(
                            "repl_backlog_first_byte_offset:{}",
                            backlog.first_byte
                        ));
                        line(format!("repl_backlog_histlen:{}", backlog.histlen));
                    }
                    None => {
                        line("repl_backlog_active:0".into());
                        line(format!(
                            "repl_backlog_size:{}",
                            crate::config::parse_memory(&configured).unwrap_or(1 << 20)
                        ));
                        line("repl_backlog_first_byte_offset:0".into());
                        line("repl_backlog_histlen:0".into());
                    }
                }
            }
            "cpu" => {
                let (user, system) = rusage();
                line("# CPU".into());
                line(format!("used_cpu_sys:{system:.6}"));
                line(format!("used_cpu_user:{user:.6}"));
                line("used_cpu_sys_children:0.000000".into());
                line("used_cpu_user_children:0.000000".into());
                line(format!("used_cpu_sys_main_thread:{system:.6}"));
                line(format!("used_cpu_user_main_thread:{user:.6}"));
            }
            "modules" => line("# Modules".into()),
            "commandstats" => {
                line("# Commandstats".into());
                let mut rows: Vec<(String, CommandStats)> = COMMANDS
                    .iter()
                    .zip(&stats.commands)
                    .map(|(spec, counts)| (spec.name.to_string(), *counts))
                    .chain(
                        stats
                            .subcommands
                            .iter()
                            .map(|(name, counts)| (name.clone(), *counts)),
                    )
                    .collect();
                rows.sort_by(|a, b| a.0.cmp(&b.0));
                for (name, counts) in &rows {
                    if counts.calls == 0 && counts.rejected_calls == 0 {
                        continue;
                    }
                    line(format!(
                        "cmdstat_{}:calls={},usec={},usec_per_call={:.2},rejected_calls={},failed_calls={}",
                        name,
                        counts.calls,
                        counts.usec,
                        counts.usec as f64 / counts.calls.max(1) as f64,
                        counts.rejected_calls,
                        counts.failed_calls
                    ));
                }
            }
            "errorstats" => {
                line("# Errorstats".into());
                let mut codes: Vec<_> = stats.errors.iter().collect();
                codes.sort();
                for (code, count) in codes {
                    line(format!("errorstat_{code}:count={count}"));
                }
            }
            "latencystats" => {
                line("# Latencystats".into());
                let mut rows = stats.latencies();
                rows.sort_by(|a, b| a.0.cmp(&b.0));
                let percentiles = &config.latency_tracking_info_percentiles;
                for (name, histogram) in rows {
                    let fields: Vec<String> = percentiles
                        .iter()
                        .map(|p| {
                            let usec = histogram.value_at_quantile(p / 100.0) as f64 / 1000.0;
                            format!("p{}={usec:.3}", crate::config::format_percentile(*p))
                        })
                        .collect();
                    line(format!(
                        "latency_percentiles_usec_{name}:{}",
                        fields.join(",")
                    ));
                }
            }
            "cluster" => {
                line("# Cluster".into());
                line(format!(
                    "cluster_enabled:{}",
                    i32::from(config.cluster_enabled)
                ));
            }
            "keyspace" => {
                line("# Keyspace".into());
                if keyspace[0] > 0 {
                    let mut entry = String::new();
                    let _ = write!(
                        entry,
                        "db0:keys={},expires={},avg_ttl=0",
                        keyspace[0], keyspace[1]
                    );
                    line(entry);
                }
            }
            _ => {}
        }
    }
}

/// MEMORY HELP's lines.
const MEMORY_HELP: &[&str] = &[
    "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DOCTOR",
    "    Return memory problems reports.",
    "MALLOC-STATS",
    "    Return internal statistics report from the memory allocator.",
    "PURGE",
    "    Attempt to purge dirty pages for reclamation by the allocator.",
    "STATS",
    "    Return information about the memory usage of the server.",
    "USAGE <key> [SAMPLES <count>]",
    "    Return memory in bytes used by <key> and its value. Nested values are",
    "    sampled up to <count> times (default: 5, 0 means sample all).",
    "HELP",
    "    Prints this help.",
];

/// The figures MEMORY STATS and DOCTOR report, the same INFO memory
/// reports: slotcore's allocator counts what is allocated, not what for,
/// so beyond the memory in use at startup it is all dataset.
struct MemoryFigures {
    used: u64,
    peak: u64,
    startup: u64,
    rss: u64,
    keys: u64,
}

impl MemoryFigures {
    fn dataset(&self) -> u64 {
        self.used.saturating_sub(self.startup)
    }

    fn fragmentation(&self) -> f64 {
        self.rss as f64 / self.used.max(1) as f64
    }
}

impl Conn {
    /// MEMORY USAGE | STATS | DOCTOR | MALLOC-STATS | PURGE | HELP.
    pub(super) async fn memory(&mut self, argv: &[Arg<'_>]) -> Reply {
        if let Some(error) = self.subcommand_check(argv) {
            return error;
        }
        let sub = String::from_utf8_lossy(&argv[1]).to_ascii_lowercase();
        match sub.as_str() {
            "usage" => {
                let owned = crate::protocol::to_owned_args(argv);
                self.on_key(crate::command::keys::memory_usage, owned, &argv[2])
                    .await
            }
            "help" => crate::command::keys::help_reply(MEMORY_HELP),
            "stats" => self.memory_stats().await,
            "doctor" => Reply::Verbatim(memory_doctor(&self.memory_figures().await)),
            "malloc-stats" => Reply::Verbatim(crate::memory::allocator_report()),
            "purge" => {
                self.on_all(|| Op::Core(purge_core, vec![])).await;
                Reply::ok()
            }
            _ => super::serverlog::syntax_error("MEMORY", &argv[1]),
        }
    }

    async fn memory_figures(&self) -> MemoryFigures {
        let used = crate::memory::allocated_bytes();
        let (_, keyspace) = self.gather_stats().await;
        MemoryFigures {
            used,
            peak: crate::memory::peak_bytes().max(used),
            startup: self
                .core
                .shared
                .startup_memory_bytes
                .load(std::sync::atomic::Ordering::Relaxed)
                .min(used),
            rss: rss_bytes(),
            keys: keyspace[0].max(0) as u64,
        }
    }

    /// MEMORY STATS: Redis's fields, from the figures INFO memory shows.
    async fn memory_stats(&self) -> Reply {
        let m = self.memory_figures().await;
        let int = |n: u64| Reply::Int(n.min(i64::MAX as u64) as i64);
        let net = m.used.saturating_sub(m.startup);
        let fragmentation = m.fragmentation();
        let rss_over = m.rss as i64 - m.used as i64;
        let fields: Vec<(&str, Reply)> = vec![
            ("peak.allocated", int(m.peak)),
            ("total.allocated", int(m.used)),
            ("startup.allocated", int(m.startup)),
            ("replication.backlog", int(0)),
            ("clients.slaves", int(0)),
            ("clients.normal", int(0)),
            ("cluster.links", int(0)),
            ("aof.buffer", int(0)),
            ("lua.caches", int(0)),
            ("functions.caches", int(0)),
            ("overhead.total", int(m.startup)),
            ("keys.count", int(m.keys)),
            (
                "keys.bytes-per-key",
                int(net.checked_div(m.keys).unwrap_or(0)),
            ),
            ("dataset.bytes", int(m.dataset())),
            (
                "dataset.percentage",
                Reply::Double(m.dataset() as f64 * 100.0 / net.max(1) as f64),
            ),
            (
                "peak.percentage",
                Reply::Double(m.used as f64 * 100.0 / m.peak.max(1) as f64),
            ),
            ("allocator.allocated", int(m.used)),
            ("allocator.active", int(m.used)),
            ("allocator.resident", int(m.rss)),
            ("allocator-fragmentation.ratio", Reply::Double(1.0)),
            ("allocator-fragmentation.bytes", int(0)),
            ("allocator-rss.ratio", Reply::Double(fragmentation)),
            ("allocator-rss.bytes", Reply::Int(rss_over)),
            ("rss-overhead.ratio", Reply::Double(1.0)),
            ("rss-overhead.bytes", int(0)),
            ("fragmentation", Reply::Double(fragmentation)),
            ("fragmentation.bytes", Reply::Int(rss_over)),
        ];
        Reply::Map(
            fields
                .into_iter()
                .map(|(name, value)| (Reply::bulk_static(name), value))
                .collect(),
        )
    }
}

/// Gives the core's free memory back to the system (MEMORY PURGE).
fn purge_core(_core: &Core, _argv: &[Arg<'_>]) -> Reply {
    crate::memory::release_free_memory();
    Reply::ok()
}

/// MEMORY DOCTOR: Redis's report, for the conditions slotcore can see
/// (the allocator's own fragmentation and the buffers of clients and
/// replicas are not told apart from the rest here).
fn memory_doctor(m: &MemoryFigures) -> String {
    if m.used < 5 << 20 {
        return "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n".into();
    }
    let big_peak = m.peak as f64 / m.used.max(1) as f64 > 1.5;
    let high_frag = m.fragmentation() > 1.4 && m.rss.saturating_sub(m.used) > 10 << 20;
    if !big_peak && !high_frag {
        return "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n".into();
    }
    let mut report =
        String::from("Sam, I detected a few issues in this Redis instance memory implants:\n\n");
    if big_peak {
        report.push_str(" * Peak memory: In the past this instance used more than 150% the memory that is currently using. The allocator is normally not able to release memory after a peak, so you can expect to see a big fragmentation ratio, however this is actually harmless and is only due to the memory peak, and if the Redis instance Resident Set Size (RSS) is currently bigger than expected, the memory will be used as soon as you fill the Redis instance with more data. If the memory peak was only occasional and you want to try to reclaim memory, please try the MEMORY PURGE command, otherwise the only other option is to shutdown and restart the instance.\n\n");
    }
    if high_frag {
        report.push_str(" * High total RSS: This instance has a memory fragmentation and RSS overhead greater than 1.4 (this means that the Resident Set Size of the Redis process is much larger than the sum of the logical allocations Redis performed). This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. If the problem is a large peak memory, then there is no issue. Otherwise, make sure you are using the Jemalloc allocator and not the default libc malloc. Note: The currently used allocator is \"mimalloc\".\n\n");
    }
    report.push_str("I'm here to keep you safe, Sam. I want to help you.\n");
    report
}
