//! A Redis Cluster made of slotcore nodes (and, optionally, real redis-server 7.0 nodes) on free
//! loopback ports, for the cluster-mode tests.
//!
//! - [`Cluster::start`] launches the nodes, each in its own temporary directory with an explicit
//!   `--cluster-port` (a free client port above 55535 has no port + 10000).
//! - [`Cluster::create`] joins them with `redis-cli --cluster create ... --cluster-yes` and waits
//!   until every node agrees the cluster is healthy ([`Cluster::wait_healthy`]).
//! - [`Cluster::kill`] sends SIGKILL to one node; [`Cluster::restart`] starts it again on the same
//!   ports and in the same directory, so it loads its own `nodes.conf`.
//! - When a test panics, dropping the cluster prints every node's log.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::{free_port, ping_answers, run_tool, TempDir, SLOTCORE, STARTUP_WAIT, TOOL_TIMEOUT};

/// How long a cluster may take to converge after `create` or a restart before a test gives up.
pub const CONVERGE_WAIT: Duration = Duration::from_secs(60);
/// The node timeout every node runs with, in milliseconds.
pub const NODE_TIMEOUT_MS: u64 = 2000;

/// Which server a node runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Slotcore,
    Redis,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Slotcore => "slotcore",
            Kind::Redis => "redis-server",
        }
    }
}

/// One cluster node: a process (while running), its ports and its directory.
pub struct Node {
    pub kind: Kind,
    pub port: u16,
    pub bus_port: u16,
    child: Option<Child>,
    /// How many times the process was started; each start logs to its own file.
    starts: u32,
    /// Arguments after the harness's own (they win: the last of a directive counts).
    extra: Vec<String>,
    // Dropped last, after the process is gone.
    dir: TempDir,
}

impl Node {
    /// Starts a node of `kind` on fresh free ports, trying again with new ports when one was
    /// taken by a parallel test between `free_port` and the server's bind.
    fn start_fresh(kind: Kind, extra: &[String]) -> Node {
        let mut last_error = String::new();
        for _ in 0..5 {
            let (port, bus_port) = (free_port(), free_port());
            if port == bus_port {
                continue;
            }
            let mut node = Node {
                kind,
                port,
                bus_port,
                child: None,
                starts: 0,
                extra: extra.to_vec(),
                dir: TempDir::new(&format!("cluster-{}", kind.name())),
            };
            match node.launch() {
                Ok(()) => return node,
                Err(error) => last_error = error,
            }
        }
        panic!("{} cluster node did not start:\n{last_error}", kind.name());
    }

    fn argv(&self) -> Vec<String> {
        let dir = self.dir.path().display().to_string();
        let mut argv: Vec<String> = vec![
            "--port".into(),
            self.port.to_string(),
            "--bind".into(),
            "127.0.0.1".into(),
            "--cluster-enabled".into(),
            "yes".into(),
            "--cluster-port".into(),
            self.bus_port.to_string(),
            "--cluster-node-timeout".into(),
            NODE_TIMEOUT_MS.to_string(),
            "--dir".into(),
            dir,
        ];
        match self.kind {
            Kind::Slotcore => argv.extend(["--shards".into(), "2".into()]),
            Kind::Redis => argv.extend([
                "--cluster-config-file".into(),
                "nodes.conf".into(),
                "--save".into(),
                "".into(),
                "--appendonly".into(),
                "no".into(),
            ]),
        }
        argv.extend(self.extra.iter().cloned());
        argv
    }

    fn binary(&self) -> &'static str {
        match self.kind {
            Kind::Slotcore => SLOTCORE,
            Kind::Redis => "redis-server",
        }
    }

    fn log_path(&self, start: u32) -> PathBuf {
        self.dir.path().join(format!("server.{start}.log"))
    }

    /// Spawns the process and waits until it answers `PING`; on failure kills it and returns
    /// its log.
    fn launch(&mut self) -> Result<(), String> {
        assert!(
            self.child.is_none(),
            "node {} is already running",
            self.port
        );
        self.starts += 1;
        let log_path = self.log_path(self.starts);
        let log = fs::File::create(&log_path).map_err(|e| format!("create log: {e}"))?;
        let log_err = log.try_clone().map_err(|e| format!("clone log: {e}"))?;
        let argv = self.argv();
        let child = Command::new(self.binary())
            .args(&argv)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .spawn()
            .map_err(|e| format!("spawn {}: {e}", self.binary()))?;
        self.child = Some(child);
        let deadline = Instant::now() + STARTUP_WAIT;
        let why = loop {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                break format!("exited before it was ready: {status}");
            }
            if ping_answers(self.port) {
                return Ok(());
            }
            if Instant::now() > deadline {
                break format!(
                    "no PING answer on port {} within {STARTUP_WAIT:?}",
                    self.port
                );
            }
            thread::sleep(Duration::from_millis(25));
        };
        self.kill();
        Err(format!(
            "{} {argv:?}: {why}\n--- log ---\n{}",
            self.kind.name(),
            self.log()
        ))
    }

    /// SIGKILL (what `kill -9` sends), then reaps the process.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(Child::try_wait), Some(Ok(None)))
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// A `redis` crate connection with timeouts.
    pub fn client(&self) -> redis::Connection {
        super::connect_url(&self.url())
    }

    /// A raw RESP connection.
    pub fn conn(&self) -> super::RawConn {
        let stream =
            std::net::TcpStream::connect(("127.0.0.1", self.port)).expect("connect raw socket");
        stream
            .set_read_timeout(Some(super::READ_TIMEOUT))
            .expect("set read timeout");
        stream.set_nodelay(true).expect("set nodelay");
        super::RawConn::new(stream)
    }

    /// Runs one command and returns its reply as a string (bulk or status) or an error text.
    pub fn query_text(&self, args: &[&str]) -> Result<String, String> {
        let mut con = redis::Client::open(self.url())
            .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(2)))
            .map_err(|e| format!("connect {}: {e}", self.port))?;
        let _ = con.set_read_timeout(Some(Duration::from_secs(5)));
        let _ = con.set_write_timeout(Some(Duration::from_secs(5)));
        let mut cmd = redis::cmd(args[0]);
        for arg in &args[1..] {
            cmd.arg(*arg);
        }
        cmd.query::<String>(&mut con)
            .map_err(|e| format!("{args:?} on {}: {e}", self.port))
    }

    /// `CLUSTER NODES`, parsed.
    pub fn cluster_nodes(&self) -> Result<Vec<NodeLine>, String> {
        let text = self.query_text(&["CLUSTER", "NODES"])?;
        text.lines().map(NodeLine::parse).collect()
    }

    /// `CLUSTER INFO` as field -> value.
    pub fn cluster_info(&self) -> Result<Vec<(String, String)>, String> {
        let text = self.query_text(&["CLUSTER", "INFO"])?;
        Ok(text
            .lines()
            .filter_map(|line| line.split_once(':'))
            .map(|(k, v)| (k.to_string(), v.trim_end().to_string()))
            .collect())
    }

    /// One `CLUSTER INFO` field.
    pub fn info_field(&self, field: &str) -> Result<String, String> {
        self.cluster_info()?
            .into_iter()
            .find(|(k, _)| k == field)
            .map(|(_, v)| v)
            .ok_or_else(|| format!("no {field} in CLUSTER INFO of {}", self.port))
    }

    /// This node's id (from the `myself` line of CLUSTER NODES).
    pub fn id(&self) -> String {
        let lines = self
            .cluster_nodes()
            .unwrap_or_else(|e| panic!("CLUSTER NODES: {e}"));
        lines
            .into_iter()
            .find(|line| line.has_flag("myself"))
            .map(|line| line.id)
            .unwrap_or_else(|| panic!("no myself line on node {}", self.port))
    }

    /// Everything the node wrote to stdout and stderr, over all its starts.
    pub fn log(&self) -> String {
        let mut out = String::new();
        for start in 1..=self.starts {
            let text = fs::read_to_string(self.log_path(start)).unwrap_or_default();
            let _ = writeln!(out, "--- start #{start} ---\n{text}");
        }
        out
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One line of `CLUSTER NODES`.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeLine {
    pub id: String,
    pub ip: String,
    pub port: u16,
    pub bus_port: u16,
    pub flags: Vec<String>,
    pub master: String,
    pub config_epoch: u64,
    pub link: String,
    /// Slot ranges (`a-b` or `a`), and migrating/importing entries in brackets.
    pub slots: Vec<String>,
}

impl NodeLine {
    pub fn parse(line: &str) -> Result<NodeLine, String> {
        let fields: Vec<&str> = line.split(' ').collect();
        let bad = |why: &str| format!("bad CLUSTER NODES line ({why}): {line:?}");
        if fields.len() < 8 {
            return Err(bad("fewer than 8 fields"));
        }
        let id = fields[0];
        if id.len() != 40 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad("id"));
        }
        // ip:port@cport[,hostname]
        let addr = fields[1].split(',').next().unwrap_or_default();
        let (ip_port, bus_port) = addr.split_once('@').ok_or_else(|| bad("no @"))?;
        let (ip, port) = ip_port.rsplit_once(':').ok_or_else(|| bad("no :"))?;
        Ok(NodeLine {
            id: id.to_string(),
            ip: ip.to_string(),
            port: port.parse().map_err(|_| bad("port"))?,
            bus_port: bus_port.parse().map_err(|_| bad("bus port"))?,
            flags: fields[2].split(',').map(str::to_string).collect(),
            master: fields[3].to_string(),
            config_epoch: fields[6].parse().map_err(|_| bad("config epoch"))?,
            link: fields[7].to_string(),
            slots: fields[8..].iter().map(|s| s.to_string()).collect(),
        })
    }

    pub fn has_flag(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }

    /// A connected master without fail, pfail or handshake flags.
    pub fn is_healthy_master(&self) -> bool {
        self.has_flag("master")
            && self.link == "connected"
            && !self
                .flags
                .iter()
                .any(|f| matches!(f.as_str(), "fail" | "fail?" | "handshake" | "noaddr"))
    }
}

/// A set of cluster nodes, all killed when dropped.
pub struct Cluster {
    pub nodes: Vec<Node>,
}

impl Cluster {
    /// Starts `slotcore` slotcore nodes followed by `redis` redis-server nodes (not yet joined).
    pub fn start(slotcore: usize, redis: usize) -> Cluster {
        Cluster::start_with(slotcore, redis, &[])
    }

    /// [`Cluster::start`], each node with `extra` arguments after the harness's own.
    pub fn start_with(slotcore: usize, redis: usize, extra: &[&str]) -> Cluster {
        let extra: Vec<String> = extra.iter().map(|a| a.to_string()).collect();
        let mut nodes = Vec::new();
        for _ in 0..slotcore {
            nodes.push(Node::start_fresh(Kind::Slotcore, &extra));
        }
        for _ in 0..redis {
            nodes.push(Node::start_fresh(Kind::Redis, &extra));
        }
        Cluster { nodes }
    }

    /// Starts the nodes and joins them into a cluster of masters; waits until it is healthy.
    pub fn create_new(slotcore: usize, redis: usize) -> Cluster {
        let cluster = Cluster::start(slotcore, redis);
        cluster.create();
        cluster
    }

    /// Starts one more node (not yet joined) and returns its index.
    pub fn add_node(&mut self, kind: Kind) -> usize {
        self.nodes.push(Node::start_fresh(kind, &[]));
        self.nodes.len() - 1
    }

    /// Adds a `kind` node as a replica of `master_id` with `redis-cli --cluster add-node
    /// --cluster-slave` and waits until its replication link is up and every node knows it as
    /// that master's replica (as a failover needs: the masters vote only for a replica they
    /// know); returns its index.
    pub fn add_replica(&mut self, kind: Kind, master_id: &str) -> usize {
        let replica = self.add_node(kind);
        let replica_addr = self.node(replica).addr();
        let seed = self.node(1).addr();
        let (status, stdout, stderr) = run_tool(
            "redis-cli",
            &[
                "--cluster",
                "add-node",
                &replica_addr,
                &seed,
                "--cluster-slave",
                "--cluster-master-id",
                master_id,
            ],
            TOOL_TIMEOUT,
        );
        assert!(
            status.is_some_and(|s| s.success()),
            "redis-cli --cluster add-node --cluster-slave failed ({status:?}):\n{stdout}\n{stderr}"
        );
        let linked = super::eventually(CONVERGE_WAIT, || {
            self.node(replica)
                .query_text(&["INFO", "replication"])
                .is_ok_and(|info| info.contains("master_link_status:up"))
        });
        assert!(
            linked,
            "the {} replica never synced: {:?}\n{}",
            kind.name(),
            self.node(replica).query_text(&["INFO", "replication"]),
            self.node(replica).log()
        );
        // Every node knows it as the master's replica (a redis-server replica tells the others
        // with its next pings), as a failover needs: the masters vote only for a replica.
        let replica_port = self.node(replica).port;
        for at in 0..self.nodes.len() {
            let node = self.node(at);
            let known = super::eventually(CONVERGE_WAIT, || {
                node.cluster_nodes().is_ok_and(|lines| {
                    lines.iter().any(|line| {
                        line.port == replica_port
                            && line.has_flag("slave")
                            && line.master == master_id
                    })
                })
            });
            assert!(
                known,
                "node {} never saw the new {} replica: {:?}",
                node.port,
                kind.name(),
                node.cluster_nodes()
            );
        }
        replica
    }

    pub fn node(&self, index: usize) -> &Node {
        &self.nodes[index]
    }

    /// `redis-cli --cluster create <every node> --cluster-yes`, then [`Cluster::wait_healthy`].
    pub fn create(&self) {
        let addrs: Vec<String> = self.nodes.iter().map(Node::addr).collect();
        let mut args = vec!["--cluster", "create"];
        args.extend(addrs.iter().map(String::as_str));
        args.push("--cluster-yes");
        let (status, stdout, stderr) = run_tool("redis-cli", &args, TOOL_TIMEOUT);
        assert!(
            status.is_some_and(|s| s.success()),
            "redis-cli --cluster create failed ({status:?}):\n{stdout}\n{stderr}"
        );
        assert!(
            stdout.contains("[OK] All 16384 slots covered"),
            "redis-cli --cluster create did not cover every slot:\n{stdout}\n{stderr}"
        );
        self.wait_healthy(CONVERGE_WAIT);
    }

    /// Waits until every running node reports `cluster_state:ok` and lists every node, itself
    /// included, as a connected master without failure flags. Panics after `limit`, showing
    /// what each node said last.
    pub fn wait_healthy(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            let problems = self.health_problems();
            if problems.is_empty() {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "the cluster was not healthy within {limit:?}:\n{}",
                    problems.join("\n")
                );
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// What stops the cluster from being healthy right now (empty when it is).
    pub fn health_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for node in &self.nodes {
            let who = format!("{} {}", node.kind.name(), node.port);
            match node.info_field("cluster_state") {
                Ok(state) if state == "ok" => {}
                Ok(state) => problems.push(format!("{who}: cluster_state:{state}")),
                Err(error) => problems.push(format!("{who}: {error}")),
            }
            match node.cluster_nodes() {
                Ok(lines) => {
                    for other in &self.nodes {
                        match lines.iter().find(|line| line.port == other.port) {
                            Some(line) if line.is_healthy_master() => {}
                            Some(line) => problems.push(format!("{who} sees {line:?}")),
                            None => problems.push(format!("{who} does not list {}", other.port)),
                        }
                    }
                    if lines.len() != self.nodes.len() {
                        problems.push(format!("{who} lists {} nodes: {lines:?}", lines.len()));
                    }
                }
                Err(error) => problems.push(format!("{who}: {error}")),
            }
        }
        problems
    }

    /// SIGKILL to node `index`.
    pub fn kill(&mut self, index: usize) {
        self.nodes[index].kill();
    }

    /// Starts node `index` again on its own ports and directory.
    pub fn restart(&mut self, index: usize) {
        let node = &mut self.nodes[index];
        if let Err(error) = node.launch() {
            panic!("restart of node {}: {error}", node.port);
        }
    }

    /// `redis://` URLs of every node, for the `redis` crate's cluster client.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(Node::url).collect()
    }

    /// The `redis` crate's cluster client (RESP2, synchronous) with timeouts.
    pub fn cluster_client(&self) -> redis::cluster::ClusterConnection {
        redis::cluster::ClusterClientBuilder::new(self.urls())
            .connection_timeout(Duration::from_secs(5))
            .response_timeout(Duration::from_secs(30))
            .build()
            .expect("cluster client")
            .get_connection()
            .expect("cluster connection")
    }

    /// The node whose CLUSTER NODES line says it serves `slot` (asked of node 0).
    pub fn owner_of(&self, slot: u16) -> &Node {
        let lines = self.nodes[0]
            .cluster_nodes()
            .unwrap_or_else(|e| panic!("CLUSTER NODES: {e}"));
        for line in &lines {
            if line.slots.iter().any(|range| range_contains(range, slot)) {
                if let Some(node) = self.nodes.iter().find(|n| n.port == line.port) {
                    return node;
                }
            }
        }
        panic!("no node serves slot {slot}: {lines:?}");
    }

    pub fn print_logs(&self) {
        for node in &self.nodes {
            eprintln!(
                "=== {} node, port {} bus {} ({}) ===\n{}=== end of log ===",
                node.kind.name(),
                node.port,
                node.bus_port,
                node.dir().display(),
                node.log()
            );
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            node.kill();
        }
        if thread::panicking() {
            self.print_logs();
        }
    }
}

/// Whether a CLUSTER NODES slot field (`a-b` or `a`; brackets never match) holds `slot`.
pub fn range_contains(range: &str, slot: u16) -> bool {
    if range.starts_with('[') {
        return false;
    }
    match range.split_once('-') {
        Some((a, b)) => match (a.parse::<u16>(), b.parse::<u16>()) {
            (Ok(a), Ok(b)) => (a..=b).contains(&slot),
            _ => false,
        },
        None => range.parse::<u16>() == Ok(slot),
    }
}
