//! slotcore-bench against real redis-server 7.0 processes: a standalone server and 3-master
//! clusters made with `redis-cli --cluster create`, on free loopback ports in temp directories.
//! Every server is killed by pid when its guard drops, also when a test fails. No assertion
//! depends on timing.

use clap::Parser;
use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::Histogram;
use slotcore_bench::cluster::key_slot;
use slotcore_bench::config::Cli;
use slotcore_bench::stats::Report;
use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

static NEXT_DIRECTORY: AtomicUsize = AtomicUsize::new(0);
const STARTUP_LIMIT: Duration = Duration::from_secs(20);

/// A temp directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!(
            "slotcore-bench-test-{}-{}-{name}",
            std::process::id(),
            NEXT_DIRECTORY.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).expect("creating a temp directory");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A redis-server process, killed (by its pid) on drop; its log is printed if the test failed.
struct Server {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            eprintln!("--- redis-server on port {} ---\n{log}", self.port);
        }
    }
}

/// A port that is free now, and whose cluster bus port (+10000) is free too.
fn free_port() -> u16 {
    loop {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding a free port");
        let port = listener.local_addr().expect("local address").port();
        if port < 55000 && TcpListener::bind(("127.0.0.1", port + 10000)).is_ok() {
            return port;
        }
    }
}

fn cli(port: u16, arguments: &[&str]) -> String {
    let output = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(arguments)
        .output()
        .expect("redis-cli runs (install redis-tools)");
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// Starts redis-server; retries on a fresh port when the chosen one was taken meanwhile.
fn start_server(directory: &Path, extra: &[&str]) -> Server {
    for _attempt in 0..5 {
        let port = free_port();
        let data = directory.join(format!("node-{port}"));
        std::fs::create_dir_all(&data).expect("creating a data directory");
        let log = data.join("redis.log");
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .args(["--appendonly", "no", "--logfile", &log.to_string_lossy()])
            .arg("--dir")
            .arg(&data)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server runs (install redis-server)");
        let mut server = Server { child, port, log };
        let deadline = Instant::now() + STARTUP_LIMIT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = server.child.try_wait() {
                break;
            }
            if cli(port, &["PING"]) == "PONG" {
                return server;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let log = std::fs::read_to_string(&server.log).unwrap_or_default();
        if !log.contains("Address already in use") {
            panic!("redis-server on port {port} did not start:\n{log}");
        }
    }
    panic!("no free port for redis-server after 5 tries");
}

/// Three masters, all slots assigned, `cluster_state:ok` on every node.
struct Cluster {
    nodes: Vec<Server>,
    _directory: TempDir,
}

impl Cluster {
    fn start() -> Cluster {
        Cluster::start_with_replicas(0)
    }

    /// Three masters with `replicas` replicas each; the masters are `nodes[0..3]`.
    fn start_with_replicas(replicas: usize) -> Cluster {
        let directory = TempDir::new("cluster");
        let count = 3 * (1 + replicas);
        let nodes: Vec<Server> = (0..count)
            .map(|_| {
                start_server(
                    &directory.0,
                    &["--cluster-enabled", "yes", "--cluster-node-timeout", "2000"],
                )
            })
            .collect();
        let addresses: Vec<String> = nodes
            .iter()
            .map(|node| format!("127.0.0.1:{}", node.port))
            .collect();
        let output = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"])
            .output()
            .expect("redis-cli --cluster create runs");
        assert!(
            output.status.success(),
            "cluster create failed: {}",
            String::from_utf8_lossy(&output.stdout)
        );
        let deadline = Instant::now() + STARTUP_LIMIT;
        loop {
            let ready = nodes.iter().all(|node| {
                cli(node.port, &["CLUSTER", "INFO"]).contains("cluster_state:ok")
                    && cli(node.port, &["CLUSTER", "NODES"]).lines().count() == count
            });
            if ready {
                break;
            }
            assert!(Instant::now() < deadline, "cluster did not become ok");
            std::thread::sleep(Duration::from_millis(100));
        }
        Cluster {
            nodes,
            _directory: directory,
        }
    }

    fn node_id(&self, index: usize) -> String {
        cli(self.nodes[index].port, &["CLUSTER", "MYID"])
    }

    /// The node that serves `slot`, as an index into `nodes`.
    fn owner(&self, slot: u16) -> usize {
        let slots = cli(self.nodes[0].port, &["CLUSTER", "SLOTS"]);
        let numbers: Vec<&str> = slots.lines().collect();
        // redis-cli prints each range as start, end, ip, port, id, ... one per line.
        for window in numbers.windows(4) {
            if let (Ok(start), Ok(end), Ok(port)) = (
                window[0].parse::<u16>(),
                window[1].parse::<u16>(),
                window[3].parse::<u16>(),
            ) {
                if (start..=end).contains(&slot) {
                    if let Some(index) = self.nodes.iter().position(|node| node.port == port) {
                        return index;
                    }
                }
            }
        }
        panic!("no owner for slot {slot} in:\n{slots}");
    }
}

fn bench(port: u16, extra: &[&str]) -> Report {
    let port = port.to_string();
    let mut arguments = vec!["slotcore-bench", "-p", &port, "--threads", "2", "-c", "4"];
    arguments.extend_from_slice(extra);
    let cli = Cli::try_parse_from(arguments).expect("valid arguments");
    slotcore_bench::run(&cli.run, false).expect("the run completes")
}

fn assert_clean(report: &Report, requests: u64) {
    assert_eq!(
        report.errors.other, 0,
        "{:?} {:?}",
        report.errors, report.first_error
    );
    assert_eq!(
        report.errors.failed, 0,
        "{:?} {:?}",
        report.errors, report.first_error
    );
    assert_eq!(report.requests, requests, "{:?}", report.errors);
}

#[test]
fn discovers_a_cluster_and_sends_each_key_to_its_owner() {
    let cluster = Cluster::start();
    let report = bench(cluster.nodes[1].port, &["-t", "set", "-n", "600"]);
    assert_clean(&report, 600);
    assert!(report.settings.cluster);
    assert_eq!(report.settings.nodes.len(), 3);
    assert_eq!(report.errors.moved, 0, "the discovered map was right");
    let keys: u64 = cluster
        .nodes
        .iter()
        .map(|node| cli(node.port, &["DBSIZE"]).parse::<u64>().unwrap())
        .sum();
    assert!(keys > 0 && keys <= 600);
    assert!(cluster
        .nodes
        .iter()
        .all(|node| cli(node.port, &["DBSIZE"]) != "0"));
}

#[test]
fn a_stale_map_is_corrected_by_moved() {
    let cluster = Cluster::start();
    // Every slot starts on the seed; two thirds of the keys answer MOVED.
    let report = bench(
        cluster.nodes[0].port,
        &["-t", "get", "-n", "600", "--no-discovery"],
    );
    assert_clean(&report, 600);
    assert!(report.errors.moved > 0, "{:?}", report.errors);
    assert!(report.errors.map_refreshes > 0, "{:?}", report.errors);
    assert!(
        report.settings.nodes.len() == 1,
        "the seed alone at the start"
    );
}

#[test]
fn moved_after_a_slot_changes_owner_during_the_run() {
    let cluster = Cluster::start();
    // The run discovers the map, then the slot of its only key moves to another node on every
    // node, the new owner first and the old one last (as `redis-cli --cluster reshard` ends), so
    // the old owner answers MOVED. The other order would leave a window, as long as a loaded
    // machine makes it, where each of the two redirects to the other. The third node learns
    // before the old owner lets go: a map refresh the first MOVED asks for may read any node,
    // and a third node still naming the old owner would send requests back to it until their
    // redirections ran out (seen in CI on a loaded machine: 2 923 failed requests).
    let slot = key_slot(b"key:000000000000");
    let from = cluster.owner(slot);
    let to = (from + 1) % 3;
    let to_id = cluster.node_id(to);
    let (from_port, to_port) = (cluster.nodes[from].port, cluster.nodes[to].port);
    let third_port = cluster.nodes[(from + 2) % 3].port;
    let ports = [to_port, third_port, from_port];
    // The config epoch `port` knows for node `id` (CLUSTER NODES' seventh field).
    let known_epoch = |port: u16, id: &str| -> u64 {
        cli(port, &["CLUSTER", "NODES"])
            .lines()
            .find(|line| line.starts_with(id))
            .and_then(|line| line.split_whitespace().nth(6)?.parse().ok())
            .unwrap_or(0)
    };
    let mover = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(10);
        // Wait until the old owner has served some GETs: the run has discovered the map.
        while !cli(from_port, &["INFO", "commandstats"]).contains("cmdstat_get:") {
            assert!(Instant::now() < deadline, "the run never reached the owner");
            std::thread::sleep(Duration::from_millis(20));
        }
        let slot = slot.to_string();
        ports
            .iter()
            .map(|port| {
                if *port == to_port {
                    // The new owner's claim must outrank the old owner's from its first
                    // moment: claimed with a smaller config epoch, the old owner's next ping
                    // gives the slot back, and then neither serves it. So the epoch goes up
                    // before the claim, not after it (seen in CI under load: 1 968 failed
                    // requests with the bump right after SETSLOT).
                    let bumped = cli(to_port, &["CLUSTER", "BUMPEPOCH"]);
                    assert!(
                        bumped.starts_with("BUMPED") || bumped.starts_with("STILL"),
                        "{bumped}"
                    );
                }
                let reply = cli(*port, &["CLUSTER", "SETSLOT", &slot, "NODE", &to_id]);
                if *port == to_port {
                    // And the others must know that epoch before they are told: a node
                    // that still has the new owner's older epoch gives the slot back to
                    // the old owner at its next ping (seen in CI: 2 599 failed requests).
                    let epoch = known_epoch(to_port, &to_id);
                    for other in [third_port, from_port] {
                        while known_epoch(other, &to_id) < epoch {
                            assert!(Instant::now() < deadline, "epoch {epoch} did not spread");
                            std::thread::sleep(Duration::from_millis(20));
                        }
                    }
                }
                reply
            })
            .collect::<Vec<_>>()
    });
    let report = bench(
        cluster.nodes[0].port,
        &["-t", "get", "--duration", "3s", "--keyspace", "1"],
    );
    let replies = mover.join().expect("the mover thread");
    assert!(replies.iter().all(|reply| reply == "OK"), "{replies:?}");
    assert_eq!(
        report.errors.unhandled(),
        0,
        "{:?} {:?}",
        report.errors,
        report.first_error
    );
    assert!(report.errors.moved > 0, "{:?}", report.errors);
    assert!(report.errors.map_refreshes > 0, "{:?}", report.errors);
    let served_after = cli(to_port, &["INFO", "commandstats"]);
    assert!(
        served_after.contains("cmdstat_get:"),
        "the new owner got the GETs"
    );
}

#[test]
fn ask_during_a_migration_is_followed_with_asking() {
    let cluster = Cluster::start();
    let slot = key_slot(b"key:000000000000").to_string();
    let from = cluster.owner(key_slot(b"key:000000000000"));
    let to = (from + 1) % 3;
    let (from_id, to_id) = (cluster.node_id(from), cluster.node_id(to));
    let importing = cli(
        cluster.nodes[to].port,
        &["CLUSTER", "SETSLOT", &slot, "IMPORTING", &from_id],
    );
    let migrating = cli(
        cluster.nodes[from].port,
        &["CLUSTER", "SETSLOT", &slot, "MIGRATING", &to_id],
    );
    assert_eq!((importing.as_str(), migrating.as_str()), ("OK", "OK"));
    // The key is not on the source, so the source answers ASK and the target serves it.
    let report = bench(
        cluster.nodes[0].port,
        &["-t", "set", "-n", "300", "--keyspace", "1"],
    );
    assert_clean(&report, 300);
    assert!(report.errors.ask > 0, "{:?}", report.errors);
    assert_eq!(report.errors.moved, 0, "{:?}", report.errors);
    assert_eq!(cli(cluster.nodes[to].port, &["DBSIZE"]), "1");
}

#[test]
fn a_master_killed_mid_run_is_followed_to_its_promoted_replica() {
    let mut cluster = Cluster::start_with_replicas(1);
    let deadline = Instant::now() + STARTUP_LIMIT;
    // Every replica must have synced, or it may not be allowed to take over.
    while !cluster.nodes[3..]
        .iter()
        .all(|node| cli(node.port, &["INFO", "replication"]).contains("master_link_status:up"))
    {
        assert!(Instant::now() < deadline, "replicas did not sync");
        std::thread::sleep(Duration::from_millis(100));
    }
    let seed = cluster.nodes[1].port;
    let killed_port = cluster.nodes[0].port;
    let run = std::thread::spawn(move || {
        bench(
            seed,
            &["-t", "set", "--duration", "8s", "--keyspace", "1000"],
        )
    });
    std::thread::sleep(Duration::from_secs(1));
    // SIGKILL, as a crash: no goodbye to clients or to the cluster.
    cluster.nodes[0].child.kill().expect("killing a master");
    let report = run.join().expect("the run completes");
    assert_eq!(
        report.errors.unhandled(),
        0,
        "{:?} {:?}",
        report.errors,
        report.first_error
    );
    assert!(report.errors.connection > 0, "{:?}", report.errors);
    assert!(report.errors.map_refreshes > 0, "{:?}", report.errors);
    // After the failover every slot is served again, by the three survivors' masters.
    let slots = cli(seed, &["CLUSTER", "SLOTS"]);
    assert!(!slots.contains(&killed_port.to_string()), "{slots}");
    assert!(cli(seed, &["CLUSTER", "INFO"]).contains("cluster_state:ok"));
}

#[test]
fn tryagain_is_retried_until_the_slot_is_stable() {
    let cluster = Cluster::start();
    // MGET of keys in a migrating slot, when the source has only some of them, answers
    // TRYAGAIN until the migration ends; here it "ends" with SETSLOT STABLE 300 ms later.
    let tag_slot = key_slot(b"000000000000");
    let from = cluster.owner(tag_slot);
    let to = (from + 1) % 3;
    let (from_port, to_port) = (cluster.nodes[from].port, cluster.nodes[to].port);
    let slot = tag_slot.to_string();
    assert_eq!(cli(from_port, &["SET", "mkey:{000000000000}:0", "x"]), "OK");
    let (from_id, to_id) = (cluster.node_id(from), cluster.node_id(to));
    assert_eq!(
        cli(
            to_port,
            &["CLUSTER", "SETSLOT", &slot, "IMPORTING", &from_id]
        ),
        "OK"
    );
    assert_eq!(
        cli(
            from_port,
            &["CLUSTER", "SETSLOT", &slot, "MIGRATING", &to_id]
        ),
        "OK"
    );
    let stabilizer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        [
            cli(from_port, &["CLUSTER", "SETSLOT", &slot, "STABLE"]),
            cli(to_port, &["CLUSTER", "SETSLOT", &slot, "STABLE"]),
        ]
    });
    let report = bench(from_port, &["-t", "mget", "-n", "50", "--keyspace", "1"]);
    assert_eq!(stabilizer.join().unwrap(), ["OK", "OK"]);
    assert_clean(&report, 50);
    assert!(report.errors.tryagain > 0, "{:?}", report.errors);
}

#[test]
fn clusterdown_is_retried_until_the_slot_is_served_again() {
    let cluster = Cluster::start();
    // The owner forgets the slot of the only key, then takes it back 300 ms later; meanwhile
    // it answers CLUSTERDOWN.
    let slot = key_slot(b"key:000000000000");
    let owner_port = cluster.nodes[cluster.owner(slot)].port;
    let slot = slot.to_string();
    assert_eq!(cli(owner_port, &["CLUSTER", "DELSLOTS", &slot]), "OK");
    let restorer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        cli(owner_port, &["CLUSTER", "ADDSLOTS", &slot])
    });
    let report = bench(owner_port, &["-t", "get", "-n", "100", "--keyspace", "1"]);
    assert_eq!(restorer.join().unwrap(), "OK");
    assert_clean(&report, 100);
    assert!(report.errors.clusterdown > 0, "{:?}", report.errors);
}

#[test]
fn a_request_that_keeps_failing_is_counted_as_failed() {
    let cluster = Cluster::start();
    let tag_slot = key_slot(b"000000000000");
    let from = cluster.owner(tag_slot);
    let to = (from + 1) % 3;
    let (from_port, to_port) = (cluster.nodes[from].port, cluster.nodes[to].port);
    let slot = tag_slot.to_string();
    assert_eq!(cli(from_port, &["SET", "mkey:{000000000000}:0", "x"]), "OK");
    let (from_id, to_id) = (cluster.node_id(from), cluster.node_id(to));
    assert_eq!(
        cli(
            to_port,
            &["CLUSTER", "SETSLOT", &slot, "IMPORTING", &from_id]
        ),
        "OK"
    );
    assert_eq!(
        cli(
            from_port,
            &["CLUSTER", "SETSLOT", &slot, "MIGRATING", &to_id]
        ),
        "OK"
    );
    let report = bench(
        from_port,
        &[
            "-t",
            "mget",
            "-n",
            "4",
            "--keyspace",
            "1",
            "--max-attempts",
            "3",
        ],
    );
    assert_eq!(report.requests, 0);
    assert_eq!(report.errors.failed, 4, "{:?}", report.errors);
    assert_eq!(
        report.errors.tryagain, 12,
        "3 attempts each: {:?}",
        report.errors
    );
}

#[test]
fn every_workload_runs_against_redis() {
    let directory = TempDir::new("workloads");
    let server = start_server(&directory.0, &[]);
    for workload in [
        "get", "set", "incr", "mget", "mset", "hset", "hget", "lpush", "lpop", "zadd", "ping",
        "mix",
    ] {
        let report = bench(server.port, &["-t", workload, "-n", "200", "-P", "4"]);
        assert_clean(&report, 200);
        assert!(!report.settings.cluster);
        assert!(!report.commands.is_empty());
    }
    assert!(cli(server.port, &["EXISTS", "hash:000000000001"])
        .parse::<u64>()
        .is_ok());
}

#[test]
fn open_loop_runs_to_its_schedule() {
    let directory = TempDir::new("open-loop");
    let server = start_server(&directory.0, &[]);
    let report = bench(
        server.port,
        &["--rate", "2000", "--duration", "1s", "-P", "8"],
    );
    assert_eq!(report.errors.unhandled(), 0, "{:?}", report.errors);
    assert_eq!(report.settings.rate, Some(2000.0));
    // 2000 requests are due within the second; a stalled machine can only send fewer.
    assert!(
        report.requests > 0 && report.requests <= 2004,
        "{}",
        report.requests
    );
}

#[test]
fn reconnects_after_the_server_drops_its_clients() {
    let directory = TempDir::new("reconnect");
    let server = start_server(&directory.0, &[]);
    let port = server.port;
    let killer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(500));
        cli(port, &["CLIENT", "KILL", "TYPE", "normal"])
    });
    let report = bench(server.port, &["--duration", "1500ms", "-t", "set"]);
    let killed = killer.join().unwrap();
    assert!(
        killed.parse::<u64>().unwrap_or(0) > 0,
        "CLIENT KILL answered {killed}"
    );
    assert!(report.errors.connection > 0, "{:?}", report.errors);
    assert_eq!(
        report.errors.unhandled(),
        0,
        "{:?} {:?}",
        report.errors,
        report.first_error
    );
    assert!(report.requests > 0);
}

#[test]
fn hdr_log_reads_back_with_the_same_counts() {
    let directory = TempDir::new("hdr-log");
    let server = start_server(&directory.0, &[]);
    let log = directory.0.join("run.hlog");
    let log_argument = log.to_string_lossy().into_owned();
    let report = bench(
        server.port,
        &[
            "-t",
            "mix",
            "--ratio",
            "1:3",
            "-n",
            "3000",
            "--hdr-log",
            &log_argument,
        ],
    );
    assert_clean(&report, 3000);
    let bytes = std::fs::read(&log).unwrap();
    let mut deserializer = Deserializer::new();
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut intervals = 0;
    for entry in IntervalLogIterator::new(&bytes) {
        if let LogEntry::Interval(interval) = entry.expect("a valid log entry") {
            let decoded = base64_decode(interval.encoded_histogram());
            let histogram: Histogram<u64> = deserializer
                .deserialize(&mut decoded.as_slice())
                .expect("a histogram");
            let tag = interval
                .tag()
                .expect("tagged by command")
                .as_str()
                .to_string();
            *counts.entry(tag).or_default() += histogram.len();
            intervals += 1;
        }
    }
    assert!(intervals >= 2, "one histogram per command per second");
    let expected: BTreeMap<String, u64> = report
        .commands
        .iter()
        .map(|command| (command.command.clone(), command.requests))
        .collect();
    assert_eq!(counts, expected);
}

/// Standard base64 (the interval log's histogram encoding).
fn base64_decode(text: &str) -> Vec<u8> {
    let value = |byte: u8| -> u32 {
        match byte {
            b'A'..=b'Z' => u32::from(byte - b'A'),
            b'a'..=b'z' => u32::from(byte - b'a') + 26,
            b'0'..=b'9' => u32::from(byte - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {byte}"),
        }
    };
    let bytes: Vec<u8> = text.bytes().filter(|&byte| byte != b'=').collect();
    let mut out = Vec::new();
    for chunk in bytes.chunks(4) {
        let mut bits = 0u32;
        for (index, &byte) in chunk.iter().enumerate() {
            bits |= value(byte) << (18 - 6 * index);
        }
        let produced = chunk.len() * 3 / 4;
        for index in 0..produced {
            out.push((bits >> (16 - 8 * index)) as u8);
        }
    }
    out
}

#[test]
fn json_output_parses_and_plots_render() {
    let directory = TempDir::new("json");
    let server = start_server(&directory.0, &[]);
    let plots = directory.0.join("plots");
    let output = Command::new(env!("CARGO_BIN_EXE_slotcore-bench"))
        .args([
            "-p",
            &server.port.to_string(),
            "-n",
            "2000",
            "-c",
            "4",
            "--json",
        ])
        .arg("--plot-dir")
        .arg(&plots)
        .output()
        .expect("slotcore-bench runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("stdout is one JSON document");
    assert_eq!(json["requests"], 2000);
    for field in ["throughput_rps", "elapsed_s"] {
        assert!(json[field].as_f64().unwrap() > 0.0, "{field}");
    }
    for field in [
        "p50_us",
        "p90_us",
        "p99_us",
        "p99_9_us",
        "p99_99_us",
        "max_us",
    ] {
        assert!(json["latency"][field].as_f64().unwrap() > 0.0, "{field}");
    }
    assert_eq!(json["commands"][0]["command"], "GET");
    for kind in [
        "moved",
        "ask",
        "tryagain",
        "clusterdown",
        "connection",
        "other",
        "failed",
    ] {
        assert_eq!(json["errors"][kind], 0, "{kind}");
    }
    assert!(json["client_cpu"]["us_per_request"].as_f64().is_some());
    assert!(json["timeline"]
        .as_array()
        .is_some_and(|rows| !rows.is_empty()));
    assert!(json["percentile_distribution"]
        .as_array()
        .is_some_and(|rows| rows.len() > 2));
    let report: Report = serde_json::from_slice(&output.stdout).unwrap();
    let saved = directory.0.join("run.json");
    std::fs::write(&saved, &output.stdout).unwrap();
    for name in ["timeline.png", "latency-distribution.png"] {
        assert_png(&plots.join(name));
    }
    let compared = directory.0.join("compare");
    let status = Command::new(env!("CARGO_BIN_EXE_slotcore-bench"))
        .args(["compare-plot"])
        .args([&saved, &saved])
        .arg("--out")
        .arg(&compared)
        .args(["--labels", "a,b"])
        .status()
        .unwrap();
    assert!(status.success());
    for name in ["compare-timeline.png", "compare-distribution.png"] {
        assert_png(&compared.join(name));
    }
    assert_eq!(report.requests, 2000);
}

fn assert_png(path: &Path) {
    let bytes = std::fs::read(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{} is not a PNG",
        path.display()
    );
    assert!(
        bytes.len() > 10_000,
        "{} is suspiciously small",
        path.display()
    );
}
