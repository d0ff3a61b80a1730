//! The cluster bus wire format against a real redis-server 7.0: we send it a MEET built with
//! `encode`, decode what it answers with `decode`, and check both directions: its PONG carries
//! what `redis-cli` reports about it, and its CLUSTER NODES shows the address our MEET carried.
//!
//! The tests print a line and pass when `redis-server` is not installed.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use common::{eventually, free_port, redis_cli, Server, TempDir, READ_TIMEOUT};
use slotcore::cluster_bus::wire::{
    decode, encode, frame_length, slot_is_set, Body, Extension, GossipEntry, Header, Message,
    NodeId, MFLAG0_EXT_DATA, NODE_HANDSHAKE, NODE_MASTER, NODE_MYSELF, SLOT_COUNT, STATE_FAIL,
    TYPE_MEET, TYPE_PING, TYPE_PONG,
};

/// The id we claim on the bus; Redis only checks that it is 40 lowercase hex characters.
const OUR_ID: NodeId = *b"0123456789abcdef0123456789abcdef01234567";

fn redis_server_installed() -> bool {
    let installed = Command::new("redis-server")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    if !installed {
        println!("skipping: redis-server is not installed");
    }
    installed
}

/// A cluster-mode redis-server on free loopback ports (client and bus), killed on drop.
struct ClusterRedis {
    server: Server,
    cluster_port: u16,
}

impl ClusterRedis {
    /// Starts `redis-server --cluster-enabled yes` with an explicit `--cluster-port`, because
    /// a free client port above 55535 has no port+10000.
    fn start(extra: &[&str]) -> ClusterRedis {
        let mut last_error = String::new();
        for _ in 0..3 {
            let dir = TempDir::new("bus-wire");
            let (port, cluster_port) = (free_port(), free_port());
            if port == cluster_port {
                continue;
            }
            let dir_text = dir.path().display().to_string();
            let nodes_conf = dir.path().join("nodes.conf").display().to_string();
            let mut argv: Vec<String> = [
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--cluster-enabled",
                "yes",
                "--cluster-port",
                &cluster_port.to_string(),
                "--cluster-config-file",
                &nodes_conf,
                "--dir",
                &dir_text,
                "--save",
                "",
                "--appendonly",
                "no",
            ]
            .iter()
            .map(|arg| arg.to_string())
            .collect();
            argv.extend(extra.iter().map(|arg| arg.to_string()));
            match Server::launch("redis-server", "redis-server", dir, port, &argv) {
                Ok(server) => {
                    return ClusterRedis {
                        server,
                        cluster_port,
                    }
                }
                Err(error) => last_error = error,
            }
        }
        panic!("cluster-mode redis-server did not start:\n{last_error}");
    }

    fn port(&self) -> u16 {
        self.server.port()
    }

    fn cli(&self, args: &[&str]) -> String {
        let output = redis_cli(self.port(), args);
        assert!(output.status.success(), "redis-cli {args:?}: {output:?}");
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }

    fn node_id(&self) -> NodeId {
        let text = self.cli(&["cluster", "myid"]);
        text.as_bytes()
            .try_into()
            .unwrap_or_else(|_| panic!("CLUSTER MYID is not 40 bytes: {text:?}"))
    }
}

/// A connection to a bus port that reads whole messages.
struct Bus {
    stream: TcpStream,
    buffered: Vec<u8>,
}

impl Bus {
    fn connect(cluster_port: u16) -> Bus {
        let stream = TcpStream::connect(("127.0.0.1", cluster_port)).expect("connect to bus");
        stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(READ_TIMEOUT)).unwrap();
        Bus {
            stream,
            buffered: Vec::new(),
        }
    }

    fn send(&mut self, message: &Message) {
        let mut bytes = Vec::new();
        encode(message, &mut bytes);
        self.stream.write_all(&bytes).expect("send to bus");
    }

    /// Reads and decodes the next message, failing the test on a bad frame or a timeout.
    fn read(&mut self) -> Message {
        loop {
            let length = frame_length(&self.buffered).expect("frame from redis-server");
            if let Some(length) = length.filter(|&length| self.buffered.len() >= length) {
                let frame: Vec<u8> = self.buffered.drain(..length).collect();
                return decode(&frame).unwrap_or_else(|e| panic!("decode {length} bytes: {e}"));
            }
            let mut chunk = [0u8; 16384];
            match self.stream.read(&mut chunk) {
                Ok(0) => panic!("redis-server closed the bus connection"),
                Ok(read) => self.buffered.extend_from_slice(&chunk[..read]),
                Err(error) => panic!("reading the bus: {error}"),
            }
        }
    }

    /// Reads until a PONG, skipping anything else (Redis answers PING and MEET with PONG only,
    /// but a skipped message would still have had to decode).
    fn read_pong(&mut self) -> Message {
        for _ in 0..10 {
            let message = self.read();
            if message.header.message_type == TYPE_PONG {
                return message;
            }
        }
        panic!("no PONG among 10 messages");
    }
}

/// A PING or MEET from us: a master at 127.0.0.1 on ports nobody listens on.
fn hello(message_type: u16, port: u16, cluster_port: u16, extensions: Vec<Extension>) -> Message {
    let mut header = Header::new(message_type, OUR_ID);
    header.port = port;
    header.cluster_port = cluster_port;
    header.ip = "127.0.0.1".to_string();
    header.flags = NODE_MASTER;
    Message {
        header,
        body: Body::Gossip {
            entries: vec![],
            extensions,
        },
    }
}

fn gossip(message: &Message) -> (&[GossipEntry], &[Extension]) {
    match &message.body {
        Body::Gossip {
            entries,
            extensions,
        } => (entries, extensions),
        other => panic!("a PONG without a gossip body: {other:?}"),
    }
}

/// A numeric field of CLUSTER INFO.
fn info_field(info: &str, name: &str) -> u64 {
    info.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in CLUSTER INFO:\n{info}"))
}

/// Sends our MEET (with `extensions`) and returns Redis's PONG, checking the header fields
/// every PONG shares. Redis drops a MEET whose length does not add up, so a PONG also proves
/// our encoding of the extensions.
fn meet(redis: &ClusterRedis, extensions: Vec<Extension>) -> Message {
    let (our_port, our_cluster_port) = (free_port(), free_port());
    let mut bus = Bus::connect(redis.cluster_port);
    bus.send(&hello(TYPE_MEET, our_port, our_cluster_port, extensions));
    let pong = bus.read_pong();
    let header = &pong.header;
    assert_eq!(header.sender, redis.node_id(), "sender is CLUSTER MYID");
    assert_eq!(header.port, redis.port());
    assert_eq!(header.cluster_port, redis.cluster_port);
    assert_eq!(header.flags, NODE_MASTER | NODE_MYSELF);
    assert_eq!(header.replica_of, None);
    assert!((0..SLOT_COUNT as u16).all(|slot| !slot_is_set(&header.slots, slot)));
    // Epochs only grow (meeting another node may bump them), so the PONG's are at most what
    // CLUSTER INFO says a moment later.
    let info = redis.cli(&["cluster", "info"]);
    assert!(header.current_epoch <= info_field(&info, "cluster_current_epoch"));
    assert!(header.config_epoch <= info_field(&info, "cluster_my_epoch"));
    // No slots are assigned, so the cluster is down from its point of view.
    assert!(info.contains("cluster_state:fail"), "{info}");
    assert_eq!(header.state, STATE_FAIL);

    // Redis decoded our MEET: it added a handshake node at the address and ports we sent.
    let address = format!("127.0.0.1:{our_port}@{our_cluster_port}");
    let nodes = redis.cli(&["cluster", "nodes"]);
    assert!(
        nodes
            .lines()
            .any(|line| line.contains(&address) && line.contains("handshake")),
        "no handshake node {address} in CLUSTER NODES:\n{nodes}"
    );
    pong
}

#[test]
fn redis_answers_our_meet_with_a_pong_we_decode() {
    if !redis_server_installed() {
        return;
    }
    let redis = ClusterRedis::start(&[]);
    let pong = meet(&redis, vec![]);
    let (entries, extensions) = gossip(&pong);
    // Redis gossips about neither itself nor nodes in handshake, and has no others.
    assert_eq!(entries, &[]);
    // Without an announced hostname, 7.0 sends no extension and no EXT_DATA flag.
    assert_eq!(extensions, &[]);
    assert_eq!(pong.header.mflags, [0, 0, 0]);
    assert_eq!(pong.header.ip, "");
    // A lone node that never met another keeps both epochs at zero.
    assert_eq!(
        (pong.header.current_epoch, pong.header.config_epoch),
        (0, 0)
    );
}

#[test]
fn redis_announced_hostname_decodes_as_an_extension() {
    if !redis_server_installed() {
        return;
    }
    let redis = ClusterRedis::start(&["--cluster-announce-hostname", "somehost"]);
    // Ours too, and one of a type 7.0 does not know, which it must skip.
    let ours = vec![
        Extension::Hostname("our-host".to_string()),
        Extension::Other {
            kind: 99,
            data: vec![7; 16],
        },
    ];
    let pong = meet(&redis, ours);
    let (_, extensions) = gossip(&pong);
    assert_eq!(extensions, &[Extension::Hostname("somehost".to_string())]);
    assert_eq!(pong.header.mflags[0] & MFLAG0_EXT_DATA, MFLAG0_EXT_DATA);
}

#[test]
fn redis_gossip_entry_describes_the_node_it_met() {
    if !redis_server_installed() {
        return;
    }
    let first = ClusterRedis::start(&[]);
    let second = ClusterRedis::start(&[]);
    let second_id = second.node_id();
    first.cli(&[
        "cluster",
        "meet",
        "127.0.0.1",
        &second.port().to_string(),
        &second.cluster_port.to_string(),
    ]);
    let second_id_text = String::from_utf8_lossy(&second_id).into_owned();
    let joined = eventually(Duration::from_secs(10), || {
        first.cli(&["cluster", "nodes"]).lines().any(|line| {
            line.starts_with(&second_id_text)
                && !line.contains("handshake")
                && line.ends_with("connected")
        })
    });
    assert!(joined, "{}", first.cli(&["cluster", "nodes"]));

    // Redis picks gossip entries at random among the nodes it knows (itself, the second node
    // and our handshake node, of which only the second qualifies), a few tries per PONG; ask
    // until one PONG carries it.
    let pong = meet(&first, vec![]);
    let mut bus = Bus::connect(first.cluster_port);
    let mut pongs = vec![pong];
    while pongs.len() < 40 && gossip(pongs.last().unwrap()).0.is_empty() {
        bus.send(&hello(TYPE_PING, free_port(), free_port(), vec![]));
        pongs.push(bus.read_pong());
    }
    let (entries, _) = gossip(pongs.last().unwrap());
    assert_eq!(entries.len(), 1, "after {} PONGs", pongs.len());
    let entry = &entries[0];
    assert_eq!(entry.node_id, second_id);
    assert_eq!(entry.ip, "127.0.0.1");
    assert_eq!(entry.port, second.port());
    assert_eq!(entry.cluster_port, second.cluster_port);
    assert_eq!(entry.flags & (NODE_MASTER | NODE_HANDSHAKE), NODE_MASTER);
    assert_eq!(entry.plaintext_port, 0);
    assert!(entry.pong_received_secs > 1_600_000_000, "{entry:?}");
}
