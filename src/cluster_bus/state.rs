//! The authoritative cluster state, owned by the bus core: the nodes we
//! know, who serves each slot, epochs, failure reports. Synchronous and
//! ignorant of sockets: the runtime feeds it messages and timer ticks, and
//! drains what it wants sent (`Outbox`).
//!
//! The rules follow the Redis Cluster specification and Redis 7.0's
//! `cluster.c`: gossip, PFAIL/FAIL, config epochs and their collisions,
//! UPDATE messages, slot ownership by the highest config epoch.

use super::wire::{self, Body, GossipEntry, Header, Message};
use crate::cluster::view::{ClusterView, NodeEndpoint, NO_NODE};
use crate::cluster::SLOT_COUNT;
use crate::config::Config;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

pub type NodeId = [u8; 40];
pub type LinkId = u64;

pub const SLOT_BYTES: usize = SLOT_COUNT / 8;

pub mod flags {
    pub const MASTER: u16 = 1;
    pub const SLAVE: u16 = 2;
    pub const PFAIL: u16 = 4;
    pub const FAIL: u16 = 8;
    pub const MYSELF: u16 = 16;
    pub const HANDSHAKE: u16 = 32;
    pub const NOADDR: u16 = 64;
    pub const MEET: u16 = 128;
    pub const MIGRATE_TO: u16 = 256;
    pub const NOFAILOVER: u16 = 512;
}

/// How long a forgotten node may not be re-added by gossip (CLUSTER FORGET).
pub const BLACKLIST_TTL_MS: u64 = 60_000;
/// Failure reports older than node timeout times this are ignored.
const FAIL_REPORT_VALIDITY_MULT: u64 = 2;
/// A FAIL flag on a master with slots is cleared after this many node
/// timeouts without a failover.
const FAIL_UNDO_TIME_MULT: u64 = 2;
/// Gossip entries per message: at least this many, or a tenth of the nodes.
const GOSSIP_ENTRIES_MIN: usize = 3;

#[derive(Debug, Clone)]
pub struct Node {
    pub id: NodeId,
    pub ip: String,
    pub port: u16,
    pub cport: u16,
    pub pport: u16,
    pub hostname: String,
    pub flags: u16,
    pub replica_of: Option<NodeId>,
    pub config_epoch: u64,
    pub ping_sent_ms: u64,
    pub pong_received_ms: u64,
    pub data_received_ms: u64,
    pub fail_time_ms: u64,
    /// When we last voted for a replica of this master (ms; 0: never).
    pub voted_ms: u64,
    pub created_ms: u64,
    pub repl_offset: u64,
    pub slots: Box<[u8; SLOT_BYTES]>,
    /// (reporting master, when) for PFAIL/FAIL gossip about this node.
    pub fail_reports: Vec<(NodeId, u64)>,
    /// Our outbound link to it, once we connect.
    pub link: Option<LinkId>,
    pub link_connected: bool,
}

impl Node {
    pub fn new(id: NodeId, node_flags: u16, now_ms: u64) -> Self {
        Node {
            id,
            ip: String::new(),
            port: 0,
            cport: 0,
            pport: 0,
            hostname: String::new(),
            flags: node_flags,
            replica_of: None,
            config_epoch: 0,
            ping_sent_ms: 0,
            pong_received_ms: 0,
            data_received_ms: 0,
            fail_time_ms: 0,
            voted_ms: 0,
            created_ms: now_ms,
            repl_offset: 0,
            slots: Box::new([0; SLOT_BYTES]),
            fail_reports: Vec::new(),
            link: None,
            link_connected: false,
        }
    }

    pub fn has(&self, flag: u16) -> bool {
        self.flags & flag != 0
    }

    pub fn is_master(&self) -> bool {
        self.has(flags::MASTER)
    }

    pub fn slot_count(&self) -> usize {
        self.slots.iter().map(|b| b.count_ones() as usize).sum()
    }

    pub fn id_str(&self) -> &str {
        id_str(&self.id)
    }
}

pub fn id_str(id: &NodeId) -> &str {
    std::str::from_utf8(id).unwrap_or("????????????????????????????????????????")
}

pub fn slot_is_set(bitmap: &[u8; SLOT_BYTES], slot: usize) -> bool {
    bitmap[slot / 8] & (1 << (slot % 8)) != 0
}

pub fn set_slot_bit(bitmap: &mut [u8; SLOT_BYTES], slot: usize, on: bool) {
    if on {
        bitmap[slot / 8] |= 1 << (slot % 8);
    } else {
        bitmap[slot / 8] &= !(1 << (slot % 8));
    }
}

/// A random 40-hex-digit node id.
pub fn random_node_id() -> NodeId {
    use std::hash::{BuildHasher, Hasher};
    let mut id = [0u8; 40];
    for (i, chunk) in id.chunks_mut(16).enumerate() {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(crate::command::now_us() ^ (i as u64) << 56);
        let text = format!("{:016x}", hasher.finish());
        chunk.copy_from_slice(&text.as_bytes()[..chunk.len()]);
    }
    id
}

/// A node id from text: exactly 40 bytes (Redis does not insist on hex).
pub fn parse_node_id(text: &[u8]) -> Option<NodeId> {
    text.try_into().ok()
}

/// Where a message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dest {
    Link(LinkId),
    /// The node's outbound link, when it is up.
    Node(NodeId),
}

/// What the state wants the runtime to do after a call.
#[derive(Default)]
pub struct Outbox {
    pub messages: Vec<(Dest, Vec<u8>)>,
    /// Nodes to open an outbound link to (the link id is already recorded).
    pub connects: Vec<(LinkId, String, u16)>,
    pub disconnects: Vec<LinkId>,
    pub save_config: bool,
    pub view_changed: bool,
    /// PUBLISH / PUBLISHSHARD messages from other nodes, for this node's
    /// subscribers: (shard, channel, message).
    pub publications: Vec<(bool, Vec<u8>, Vec<u8>)>,
    /// A manual failover paused writes until this time (ms since the
    /// epoch), or (0) the pause is over.
    pub failover_pause: Option<u64>,
    /// Slots we served and lost to a node with a greater config epoch
    /// while we stay a master: the cores delete their keys there (Redis's
    /// dirty slots, `delKeysInSlot`).
    pub dirty_slots: Vec<u16>,
}

/// Settings the bus takes from the configuration.
#[derive(Debug, Clone)]
pub struct BusSettings {
    pub port: u16,
    pub cport: u16,
    pub node_timeout_ms: u64,
    pub require_full_coverage: bool,
    pub allow_reads_when_down: bool,
    pub announce_ip: String,
    pub announce_port: u16,
    pub announce_bus_port: u16,
    pub announce_hostname: String,
    pub preferred_endpoint: String,
    /// `cluster-replica-validity-factor` (0: a replica stands for election
    /// however old its data).
    pub replica_validity_factor: u64,
    /// `cluster-replica-no-failover`: this node, as a replica, starts no
    /// failover of its own (manual ones still run); its flags say
    /// `nofailover`.
    pub replica_no_failover: bool,
    /// `repl-ping-replica-period`, in ms.
    pub repl_ping_period_ms: u64,
}

impl BusSettings {
    /// Settings for tests: loopback node on `port`, bus on port + 10000.
    #[cfg(test)]
    pub fn for_tests(port: u16, node_timeout_ms: u64) -> Self {
        BusSettings {
            port,
            cport: port + 10000,
            node_timeout_ms,
            require_full_coverage: true,
            allow_reads_when_down: false,
            announce_ip: String::new(),
            announce_port: 0,
            announce_bus_port: 0,
            announce_hostname: String::new(),
            preferred_endpoint: "ip".into(),
            replica_validity_factor: 10,
            replica_no_failover: false,
            repl_ping_period_ms: 10_000,
        }
    }

    pub fn from_config(config: &Config) -> Self {
        BusSettings {
            port: config.port,
            cport: config.cluster_bus_port(),
            node_timeout_ms: config.cluster_node_timeout_ms.max(1),
            require_full_coverage: config.cluster_require_full_coverage,
            allow_reads_when_down: config.cluster_allow_reads_when_down,
            announce_ip: config.cluster_announce_ip.clone(),
            announce_port: config.cluster_announce_port,
            announce_bus_port: config.cluster_announce_bus_port,
            announce_hostname: config.cluster_announce_hostname.clone(),
            replica_validity_factor: crate::config::inert::get(
                config,
                "cluster-replica-validity-factor",
                "10",
            )
            .parse()
            .unwrap_or(10),
            replica_no_failover: crate::config::inert::get(
                config,
                "cluster-replica-no-failover",
                "no",
            ) == "yes",
            repl_ping_period_ms: crate::config::inert::get(
                config,
                "repl-ping-replica-period",
                "10",
            )
            .parse::<u64>()
            .unwrap_or(10)
            .saturating_mul(1000),
            preferred_endpoint: config.cluster_preferred_endpoint_type.clone(),
        }
    }
}

pub struct ClusterState {
    pub myself: NodeId,
    pub nodes: BTreeMap<NodeId, Node>,
    pub current_epoch: u64,
    pub last_vote_epoch: u64,
    pub slots: Vec<Option<NodeId>>,
    pub migrating: BTreeMap<u16, NodeId>,
    pub importing: BTreeMap<u16, NodeId>,
    pub state_ok: bool,
    pub size: usize,
    pub settings: BusSettings,
    pub blacklist: HashMap<NodeId, u64>,
    pub stats_sent: [u64; wire::TYPE_COUNT as usize],
    pub stats_received: [u64; wire::TYPE_COUNT as usize],
    pub outbox: Outbox,
    next_link: LinkId,
    view_version: u64,
    cron_ticks: u64,
    started_ms: u64,
    /// This replica's election (Redis's failover_auth_* fields).
    pub election: Election,
    /// A coordinated manual failover (Redis's mf_* fields), on either side.
    pub manual: ManualFailover,
    /// As a replica: when its master last sent anything (ms; 0: never).
    pub master_heard_ms: u64,
    /// As a master: the manual failover pause (its end, `pause_end_ms`)
    /// that the shard cores have settled: every write that passed the
    /// pause check before it is in the replication stream, whose offset
    /// then stays put.
    pub failover_settled: u64,
    /// When a replica last logged why it cannot fail over (ms).
    cant_failover_logged_ms: u64,
}

/// A coordinated manual failover (CLUSTER FAILOVER with no option). The
/// replica asks its master with MFSTART; the master pauses its clients'
/// writes and pings the replica with the PAUSED flag and its replication
/// offset; once the replica applied that much it runs an election at once
/// whose request carries FORCEACK, and wins it with no write lost.
#[derive(Debug, Default, Clone)]
pub struct ManualFailover {
    /// When it gives up (0: none under way).
    pub end_ms: u64,
    /// On the master: the replica that asked.
    pub replica: Option<NodeId>,
    /// On the master: the end of its clients' write pause, which names
    /// the pause (see `ClusterState::failover_settled`).
    pub pause_end_ms: u64,
    /// On the master: the pause has settled (writes that passed the check
    /// before it are in the replication stream), so its messages say
    /// PAUSED with an offset that will not move.
    pub settled: bool,
    /// On the replica: the offset the paused master reported.
    pub master_offset: Option<u64>,
    /// On the replica: it applied that much, and its election started.
    pub can_start: bool,
}

/// A replica's failover election: when it may start, the epoch it asked
/// votes for, and the votes it got.
#[derive(Debug, Default, Clone)]
pub struct Election {
    /// When the request may go out (0: no election under way).
    pub start_ms: u64,
    pub sent: bool,
    pub epoch: u64,
    pub votes: usize,
    pub rank: usize,
    /// CLUSTER FAILOVER FORCE: until when the manual election may run
    /// (0: not manual). Its request asks for votes with FORCEACK.
    pub manual_end_ms: u64,
}

/// How long a manual failover may take (Redis's CLUSTER_MF_TIMEOUT).
pub const MANUAL_FAILOVER_MS: u64 = 5000;

/// How often a replica that cannot fail over says why again (Redis's
/// CLUSTER_CANT_FAILOVER_RELOG_PERIOD).
const CANT_FAILOVER_RELOG_MS: u64 = 10_000;

impl ClusterState {
    pub fn new(settings: BusSettings, now_ms: u64) -> Self {
        let myself = random_node_id();
        let mut state = ClusterState {
            myself,
            nodes: BTreeMap::new(),
            current_epoch: 0,
            last_vote_epoch: 0,
            slots: vec![None; SLOT_COUNT],
            migrating: BTreeMap::new(),
            importing: BTreeMap::new(),
            state_ok: false,
            size: 0,
            settings,
            blacklist: HashMap::new(),
            stats_sent: [0; wire::TYPE_COUNT as usize],
            stats_received: [0; wire::TYPE_COUNT as usize],
            outbox: Outbox::default(),
            next_link: 1,
            view_version: 0,
            cron_ticks: 0,
            started_ms: now_ms,
            election: Election::default(),
            manual: ManualFailover::default(),
            master_heard_ms: 0,
            failover_settled: 0,
            cant_failover_logged_ms: 0,
        };
        state.add_myself(myself, now_ms);
        state
    }

    pub fn add_myself(&mut self, id: NodeId, now_ms: u64) {
        self.myself = id;
        let mut node = Node::new(id, flags::MYSELF | flags::MASTER, now_ms);
        node.port = self.announced_port();
        node.cport = self.announced_cport();
        node.ip = self.settings.announce_ip.clone();
        node.hostname = self.settings.announce_hostname.clone();
        self.nodes.insert(id, node);
    }

    /// A CONFIG SET of a cluster-* parameter (or port, or
    /// repl-ping-replica-period) at runtime: the node timeout, coverage
    /// and validity settings apply from the next tick, and our next
    /// messages, our nodes.conf line and the view say the announced
    /// address, as Redis applies them. A cleared IP is learned again from
    /// the next PING or MEET.
    pub fn set_announce(&mut self, settings: &BusSettings) {
        let was_announced = !self.settings.announce_ip.is_empty();
        // The client port follows CONFIG SET port; the bus port stays
        // where the bus listens.
        self.settings.port = settings.port;
        self.settings.announce_ip = settings.announce_ip.clone();
        self.settings.announce_port = settings.announce_port;
        self.settings.announce_bus_port = settings.announce_bus_port;
        self.settings.announce_hostname = settings.announce_hostname.clone();
        self.settings.preferred_endpoint = settings.preferred_endpoint.clone();
        self.settings.node_timeout_ms = settings.node_timeout_ms;
        self.settings.require_full_coverage = settings.require_full_coverage;
        self.settings.allow_reads_when_down = settings.allow_reads_when_down;
        self.settings.replica_validity_factor = settings.replica_validity_factor;
        self.settings.replica_no_failover = settings.replica_no_failover;
        self.settings.repl_ping_period_ms = settings.repl_ping_period_ms;
        let (port, cport) = (self.announced_port(), self.announced_cport());
        let (ip, hostname) = (
            self.settings.announce_ip.clone(),
            self.settings.announce_hostname.clone(),
        );
        let me = self.me_mut();
        me.port = port;
        me.cport = cport;
        me.hostname = hostname;
        if !ip.is_empty() || was_announced {
            me.ip = ip;
        }
        self.changed();
    }

    pub fn announced_port(&self) -> u16 {
        if self.settings.announce_port != 0 {
            self.settings.announce_port
        } else {
            self.settings.port
        }
    }

    pub fn announced_cport(&self) -> u16 {
        if self.settings.announce_bus_port != 0 {
            self.settings.announce_bus_port
        } else {
            self.settings.cport
        }
    }

    pub fn me(&self) -> &Node {
        &self.nodes[&self.myself]
    }

    pub(crate) fn me_mut(&mut self) -> &mut Node {
        self.nodes
            .get_mut(&self.myself)
            .expect("myself is always among the nodes")
    }

    pub fn new_link_id(&mut self) -> LinkId {
        let id = self.next_link;
        self.next_link += 1;
        id
    }

    /// The config epoch a node is shown with: a replica shows its master's.
    pub fn node_epoch(&self, node: &Node) -> u64 {
        match node.replica_of.and_then(|m| self.nodes.get(&m)) {
            Some(master) if node.has(flags::SLAVE) => master.config_epoch,
            _ => node.config_epoch,
        }
    }

    fn changed(&mut self) {
        self.outbox.save_config = true;
        self.outbox.view_changed = true;
    }

    // -----------------------------------------------------------------------------------------
    // Slots.

    pub fn assign_slot(&mut self, slot: usize, owner: NodeId) {
        if let Some(old) = self.slots[slot] {
            if let Some(node) = self.nodes.get_mut(&old) {
                set_slot_bit(&mut node.slots, slot, false);
            }
        }
        if let Some(node) = self.nodes.get_mut(&owner) {
            set_slot_bit(&mut node.slots, slot, true);
            self.slots[slot] = Some(owner);
        }
        self.changed();
    }

    pub fn unassign_slot(&mut self, slot: usize) {
        if let Some(old) = self.slots[slot].take() {
            if let Some(node) = self.nodes.get_mut(&old) {
                set_slot_bit(&mut node.slots, slot, false);
            }
        }
        self.changed();
    }

    /// Adopts a master's claimed slots where its config epoch wins
    /// (`clusterUpdateSlotsConfigWith`).
    fn update_slots_from(&mut self, sender: NodeId, sender_epoch: u64, claimed: &[u8; SLOT_BYTES]) {
        if sender == self.myself {
            return;
        }
        // Our shard's master: ourselves, or the master we replicate.
        let me = self.me();
        let our_master = if me.has(flags::SLAVE) {
            me.replica_of
        } else {
            Some(self.myself)
        };
        let mut took_ours = false;
        let mut dirty = Vec::new();
        for slot in 0..SLOT_COUNT {
            if !slot_is_set(claimed, slot) {
                continue;
            }
            let owner = self.slots[slot];
            if owner == Some(sender) || self.importing.contains_key(&(slot as u16)) {
                continue;
            }
            let owner_epoch = owner
                .and_then(|o| self.nodes.get(&o))
                .map(|o| o.config_epoch);
            if owner_epoch.is_none_or(|epoch| epoch < sender_epoch) {
                if owner == Some(self.myself) {
                    self.migrating.remove(&(slot as u16));
                    dirty.push(slot as u16);
                }
                took_ours |= owner.is_some() && owner == our_master;
                self.assign_slot(slot, sender);
            }
        }
        // Our shard lost its last slot to the sender (its replica won a
        // failover, while we were away or as a sibling replica): we
        // replicate the sender now (cluster-allow-replica-migration yes).
        let emptied = our_master
            .and_then(|m| self.nodes.get(&m))
            .is_some_and(|m| m.slot_count() == 0);
        if took_ours && emptied && self.nodes.get(&sender).is_some_and(Node::is_master) {
            crate::warning!(
                "Configuration change detected. Reconfiguring myself as a replica of {}",
                id_str(&sender)
            );
            self.become_replica_of(sender);
        } else if !dirty.is_empty() {
            // Still a master: the keys of the slots we lost must go, or
            // they would come back stale if the slots ever did.
            self.outbox.dirty_slots.extend(dirty);
        }
        // Slots the sender no longer claims stay ours to keep track of until
        // their new owner tells us (as Redis).
    }

    // -----------------------------------------------------------------------------------------
    // Nodes.

    pub fn add_node(&mut self, node: Node) {
        self.nodes.insert(node.id, node);
        self.changed();
    }

    pub fn delete_node(&mut self, id: &NodeId) {
        let Some(node) = self.nodes.remove(id) else {
            return;
        };
        for slot in 0..SLOT_COUNT {
            if self.slots[slot] == Some(*id) {
                self.slots[slot] = None;
            }
        }
        self.migrating.retain(|_, to| to != id);
        self.importing.retain(|_, from| from != id);
        for other in self.nodes.values_mut() {
            other.fail_reports.retain(|(reporter, _)| reporter != id);
        }
        if let Some(link) = node.link {
            self.outbox.disconnects.push(link);
        }
        self.changed();
    }

    fn rename_node(&mut self, old: &NodeId, new: NodeId) {
        if let Some(mut node) = self.nodes.remove(old) {
            node.id = new;
            self.nodes.insert(new, node);
            self.changed();
        }
    }

    pub fn is_blacklisted(&mut self, id: &NodeId, now_ms: u64) -> bool {
        self.blacklist.retain(|_, until| *until > now_ms);
        self.blacklist.contains_key(id)
    }

    /// Starts a handshake with ip:port (CLUSTER MEET or gossip): a node with
    /// a random id in HANDSHAKE state, which the first PONG renames.
    pub fn start_handshake(&mut self, ip: &str, port: u16, cport: u16, now_ms: u64) -> bool {
        let normalized = match ip.parse::<std::net::IpAddr>() {
            Ok(address) => address.to_string(),
            Err(_) => return false,
        };
        if port == 0 || cport == 0 {
            return false;
        }
        let in_progress = self.nodes.values().any(|n| {
            n.has(flags::HANDSHAKE) && n.ip == normalized && n.port == port && n.cport == cport
        });
        if in_progress {
            return true;
        }
        let mut node = Node::new(random_node_id(), flags::HANDSHAKE | flags::MEET, now_ms);
        node.ip = normalized;
        node.port = port;
        node.cport = cport;
        self.add_node(node);
        true
    }

    // -----------------------------------------------------------------------------------------
    // Messages out.

    fn header(&self, message_type: u16) -> Header {
        let me = self.me();
        let (slots, replica_of) = match me.replica_of.and_then(|m| self.nodes.get(&m)) {
            Some(master) if me.has(flags::SLAVE) => (master.slots.clone(), Some(master.id)),
            _ => (me.slots.clone(), None),
        };
        Header {
            message_type,
            port: self.announced_port(),
            current_epoch: self.current_epoch,
            config_epoch: self.node_epoch(me),
            replication_offset: me.repl_offset,
            sender: self.myself,
            slots,
            replica_of,
            ip: self.settings.announce_ip.clone(),
            plaintext_port: 0,
            cluster_port: self.announced_cport(),
            flags: me.flags,
            state: u8::from(!self.state_ok),
            mflags: [
                if self.manual.settled {
                    wire::MFLAG0_PAUSED
                } else {
                    0
                },
                0,
                0,
            ],
        }
    }

    fn gossip_entry(node: &Node) -> GossipEntry {
        GossipEntry {
            node_id: node.id,
            ping_sent_secs: (node.ping_sent_ms / 1000) as u32,
            pong_received_secs: (node.pong_received_ms / 1000) as u32,
            ip: node.ip.clone(),
            port: node.port,
            cluster_port: node.cport,
            flags: node.flags,
            plaintext_port: node.pport,
        }
    }

    /// PING, PONG or MEET with gossip about a few random nodes and every
    /// node we think is failing.
    pub fn build_ping(&mut self, message_type: u16, random: u64) -> Vec<u8> {
        let candidates: Vec<&Node> = self
            .nodes
            .values()
            .filter(|n| {
                !(n.has(flags::MYSELF | flags::HANDSHAKE | flags::NOADDR)
                    || n.link.is_none() && n.slot_count() == 0)
            })
            .collect();
        let wanted = GOSSIP_ENTRIES_MIN.max(self.nodes.len() / 10);
        let mut entries: Vec<GossipEntry> = Vec::new();
        let mut state = random | 1;
        let mut picked = vec![false; candidates.len()];
        let mut tries = 0;
        while entries.len() < wanted.min(candidates.len()) && tries < candidates.len() * 3 {
            tries += 1;
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let index = (state % candidates.len() as u64) as usize;
            if picked[index] || candidates[index].has(flags::PFAIL) {
                continue;
            }
            picked[index] = true;
            entries.push(Self::gossip_entry(candidates[index]));
        }
        for (index, node) in candidates.iter().enumerate() {
            if node.has(flags::PFAIL) && !picked[index] {
                entries.push(Self::gossip_entry(node));
            }
        }
        let mut extensions = Vec::new();
        if !self.settings.announce_hostname.is_empty() {
            extensions.push(wire::Extension::Hostname(
                self.settings.announce_hostname.clone(),
            ));
        }
        let mut header = self.header(message_type);
        if !extensions.is_empty() {
            // Redis 7.0 flags extension data only when it sends some.
            header.mflags[0] |= wire::MFLAG0_EXT_DATA;
        }
        self.encode(Message {
            header,
            body: Body::Gossip {
                entries,
                extensions,
            },
        })
    }

    fn encode(&mut self, message: Message) -> Vec<u8> {
        if let Some(count) = self
            .stats_sent
            .get_mut(message.header.message_type as usize)
        {
            *count += 1;
        }
        let mut out = Vec::new();
        wire::encode(&message, &mut out);
        out
    }

    fn send(&mut self, dest: Dest, bytes: Vec<u8>) {
        self.outbox.messages.push((dest, bytes));
    }

    /// Sends to every node we have a link to, except handshaking ones.
    fn broadcast(&mut self, bytes: Vec<u8>) {
        let targets: Vec<NodeId> = self
            .nodes
            .values()
            .filter(|n| {
                n.link_connected && !n.has(flags::MYSELF | flags::HANDSHAKE | flags::NOADDR)
            })
            .map(|n| n.id)
            .collect();
        for id in targets {
            self.send(Dest::Node(id), bytes.clone());
        }
    }

    pub fn send_ping(&mut self, id: NodeId, message_type: u16, now_ms: u64, random: u64) {
        let bytes = self.build_ping(message_type, random);
        if let Some(node) = self.nodes.get_mut(&id) {
            if message_type == wire::TYPE_PING && node.ping_sent_ms == 0 {
                node.ping_sent_ms = now_ms;
            }
            if message_type == wire::TYPE_MEET {
                node.flags &= !flags::MEET;
            }
        }
        self.send(Dest::Node(id), bytes);
    }

    pub fn broadcast_pong(&mut self, random: u64) {
        let bytes = self.build_ping(wire::TYPE_PONG, random);
        self.broadcast(bytes);
    }

    fn broadcast_fail(&mut self, failing: NodeId) {
        let message = Message {
            header: self.header(wire::TYPE_FAIL),
            body: Body::Fail { node_id: failing },
        };
        let bytes = self.encode(message);
        self.broadcast(bytes);
    }

    /// Carries a PUBLISH (or SPUBLISH) of one of our clients to the other
    /// nodes, as Redis does: PUBLISH to every node, PUBLISHSHARD to the
    /// nodes of our own shard (our replicas).
    pub fn publish(&mut self, shard: bool, channel: &[u8], message: &[u8]) {
        let message_type = if shard {
            wire::TYPE_PUBLISHSHARD
        } else {
            wire::TYPE_PUBLISH
        };
        let message = Message {
            header: self.header(message_type),
            body: Body::Publish {
                channel: channel.to_vec(),
                message: message.to_vec(),
            },
        };
        let bytes = self.encode(message);
        if !shard {
            self.broadcast(bytes);
            return;
        }
        let myself = self.myself;
        let replicas: Vec<NodeId> = self
            .nodes
            .values()
            .filter(|n| n.replica_of == Some(myself) && n.link_connected)
            .map(|n| n.id)
            .collect();
        for id in replicas {
            self.send(Dest::Node(id), bytes.clone());
        }
    }

    fn send_update(&mut self, dest: Dest, about: NodeId) {
        let Some(node) = self.nodes.get(&about) else {
            return;
        };
        let body = Body::Update {
            config_epoch: node.config_epoch,
            node_id: node.id,
            slots: node.slots.clone(),
        };
        let message = Message {
            header: self.header(wire::TYPE_UPDATE),
            body,
        };
        let bytes = self.encode(message);
        self.send(dest, bytes);
    }
}

/// What the runtime knows about the link a message came in on.
#[derive(Debug, Clone)]
pub struct LinkInfo {
    pub id: LinkId,
    /// The node an outbound link was opened to; None for inbound links.
    pub node: Option<NodeId>,
    pub peer_ip: String,
    pub local_ip: String,
}

impl ClusterState {
    // -----------------------------------------------------------------------------------------
    // Messages in (`clusterProcessPacket`).

    pub fn handle_message(&mut self, link: &LinkInfo, message: Message, now_ms: u64, random: u64) {
        let header = &message.header;
        let kind = header.message_type;
        if let Some(count) = self.stats_received.get_mut(kind as usize) {
            *count += 1;
        }
        let sender_id = header.sender;
        if sender_id == self.myself {
            // A peer claiming our own id (a copied nodes.conf, or a forgery)
            // must not move our epochs or slots.
            return;
        }
        let known = self
            .nodes
            .get(&sender_id)
            .is_some_and(|n| !n.has(flags::HANDSHAKE));
        let sender = known.then_some(sender_id);
        if let Some(node) = sender.and_then(|id| self.nodes.get_mut(&id)) {
            node.data_received_ms = now_ms;
        }
        if sender.is_some() {
            if header.current_epoch > self.current_epoch {
                self.current_epoch = header.current_epoch;
                self.outbox.save_config = true;
            }
            let mut epoch_changed = false;
            if let Some(node) = self.nodes.get_mut(&sender_id) {
                if header.config_epoch > node.config_epoch {
                    node.config_epoch = header.config_epoch;
                    epoch_changed = true;
                }
                node.repl_offset = header.replication_offset;
                // Its `nofailover` flag as it announces it now (the
                // replicas' ranks count only those that compete).
                let nofailover = header.flags & flags::NOFAILOVER;
                if node.flags & flags::NOFAILOVER != nofailover {
                    node.flags = (node.flags & !flags::NOFAILOVER) | nofailover;
                    epoch_changed = true;
                }
            }
            if epoch_changed {
                self.changed();
            }
            let me = self.me();
            if self.manual.end_ms != 0
                && self.manual.master_offset.is_none()
                && me.has(flags::SLAVE)
                && me.replica_of == Some(sender_id)
                && header.mflags[0] & wire::MFLAG0_PAUSED != 0
            {
                self.manual.master_offset = Some(header.replication_offset);
                crate::warning!(
                    "Received replication offset for paused master manual failover: {}",
                    header.replication_offset
                );
            }
        }
        match kind {
            wire::TYPE_PING | wire::TYPE_PONG | wire::TYPE_MEET => {
                self.handle_ping(link, message, sender, now_ms, random)
            }
            wire::TYPE_FAIL => {
                if let (Some(_), Body::Fail { node_id }) = (sender, &message.body) {
                    self.handle_fail(*node_id, now_ms);
                }
            }
            wire::TYPE_UPDATE => {
                if let (
                    Some(_),
                    Body::Update {
                        config_epoch,
                        node_id,
                        slots,
                    },
                ) = (sender, &message.body)
                {
                    self.handle_update(*node_id, *config_epoch, slots);
                }
            }
            wire::TYPE_MFSTART => {
                if let Some(sender) = sender {
                    self.manual_failover_requested(sender, now_ms, random);
                }
            }
            wire::TYPE_FAILOVER_AUTH_REQUEST => {
                if let Some(sender) = sender {
                    self.vote_if_needed(sender, &message.header, now_ms);
                }
            }
            wire::TYPE_FAILOVER_AUTH_ACK => {
                // A vote counts from a master serving slots, for our epoch.
                let voter = sender.and_then(|id| self.nodes.get(&id));
                if voter.is_some_and(|n| n.is_master() && n.slot_count() > 0)
                    && header.current_epoch >= self.election.epoch
                    && self.election.sent
                {
                    self.election.votes += 1;
                }
            }
            wire::TYPE_PUBLISH | wire::TYPE_PUBLISHSHARD => {
                if let (Some(_), Body::Publish { channel, message }) = (sender, message.body) {
                    let shard = kind == wire::TYPE_PUBLISHSHARD;
                    self.outbox.publications.push((shard, channel, message));
                }
            }
            _ => {}
        }
    }

    fn handle_ping(
        &mut self,
        link: &LinkInfo,
        message: Message,
        sender: Option<NodeId>,
        now_ms: u64,
        random: u64,
    ) {
        let header = &message.header;
        let kind = header.message_type;
        // Our own address comes from the socket a MEET (or, while we have
        // none, any PING) reached us on, unless it is announced.
        let learns_ip =
            kind == wire::TYPE_MEET || (kind == wire::TYPE_PING && self.me().ip.is_empty());
        if learns_ip
            && self.settings.announce_ip.is_empty()
            && !link.local_ip.is_empty()
            && self.me().ip != link.local_ip
        {
            let ip = link.local_ip.clone();
            self.me_mut().ip = ip;
            self.changed();
        }
        let peer_ip = if header.ip.is_empty() {
            link.peer_ip.clone()
        } else {
            header.ip.clone()
        };
        if sender.is_none() && kind == wire::TYPE_MEET {
            let mut node = Node::new(random_node_id(), flags::HANDSHAKE, now_ms);
            node.ip = peer_ip.clone();
            node.port = header.port;
            node.cport = header.cluster_port;
            node.pport = header.plaintext_port;
            self.add_node(node);
            if let Body::Gossip { entries, .. } = &message.body {
                self.process_gossip(None, entries, now_ms);
            }
        }
        if kind == wire::TYPE_PING || kind == wire::TYPE_MEET {
            let pong = self.build_ping(wire::TYPE_PONG, random);
            self.send(Dest::Link(link.id), pong);
        }
        // Our outbound link: a handshake completes, or the node changed id.
        if let Some(link_node) = link.node {
            let handshaking = self
                .nodes
                .get(&link_node)
                .is_some_and(|n| n.has(flags::HANDSHAKE));
            if handshaking {
                if sender.is_some() {
                    // We already know this node under its real id.
                    self.delete_node(&link_node);
                    return;
                }
                self.rename_node(&link_node, header.sender);
                if let Some(node) = self.nodes.get_mut(&header.sender) {
                    node.flags &= !flags::HANDSHAKE;
                    node.flags |= header.flags & (flags::MASTER | flags::SLAVE);
                }
                self.outbox.save_config = true;
            } else if link_node != header.sender {
                if let Some(node) = self.nodes.get_mut(&link_node) {
                    node.flags |= flags::NOADDR;
                    node.ip.clear();
                    node.port = 0;
                    node.cport = 0;
                    if let Some(old) = node.link.take() {
                        node.link_connected = false;
                        self.outbox.disconnects.push(old);
                    }
                }
                self.changed();
                return;
            }
        }
        let Some(sender) = sender.or_else(|| {
            // A completed handshake makes the sender known from now on.
            link.node
                .filter(|_| self.nodes.contains_key(&header.sender))
                .map(|_| header.sender)
        }) else {
            return;
        };
        if let Body::Gossip { extensions, .. } = &message.body {
            let hostname = extensions.iter().find_map(|e| match e {
                wire::Extension::Hostname(name) => Some(name.clone()),
                _ => None,
            });
            if let Some(node) = self.nodes.get_mut(&sender) {
                let hostname = hostname.unwrap_or_default();
                if node.hostname != hostname {
                    node.hostname = hostname;
                    self.changed();
                }
            }
        }
        if kind == wire::TYPE_PING || kind == wire::TYPE_MEET {
            self.update_address(
                sender,
                &peer_ip,
                header.port,
                header.cluster_port,
                header.plaintext_port,
            );
        }
        // Our outbound link's node, under its real id once a handshake
        // completed on this very message.
        let outbound_to_sender = link.node.is_some_and(|node| {
            node == sender || !self.nodes.contains_key(&node) && header.sender == sender
        });
        if outbound_to_sender && kind == wire::TYPE_PONG {
            self.pong_received(sender, now_ms);
        }
        self.update_role(sender, header.replica_of);
        let is_master = self.nodes.get(&sender).is_some_and(|n| n.is_master());
        if is_master {
            let claimed = header.slots.clone();
            let differs = self.nodes.get(&sender).is_some_and(|n| n.slots != claimed);
            if differs {
                self.update_slots_from(sender, header.config_epoch, &claimed);
            }
            self.answer_stale_claims(sender, header.config_epoch, &claimed);
            self.handle_epoch_collision(sender, header.config_epoch);
        }
        if let Body::Gossip { entries, .. } = &message.body {
            self.process_gossip(Some(sender), entries, now_ms);
        }
    }

    fn update_address(&mut self, id: NodeId, ip: &str, port: u16, cport: u16, pport: u16) {
        let Some(node) = self.nodes.get_mut(&id) else {
            return;
        };
        if node.ip == ip && node.port == port && node.cport == cport && node.pport == pport {
            return;
        }
        node.ip = ip.to_string();
        node.port = port;
        node.cport = cport;
        node.pport = pport;
        if let Some(old) = node.link.take() {
            node.link_connected = false;
            self.outbox.disconnects.push(old);
        }
        node.flags &= !flags::NOADDR;
        self.changed();
    }

    fn pong_received(&mut self, id: NodeId, now_ms: u64) {
        let timeout = self.settings.node_timeout_ms;
        let Some(node) = self.nodes.get_mut(&id) else {
            return;
        };
        node.pong_received_ms = now_ms;
        node.ping_sent_ms = 0;
        if node.has(flags::PFAIL) {
            node.flags &= !flags::PFAIL;
            self.changed();
        } else if node.has(flags::FAIL) {
            let is_master_with_slots = node.is_master() && node.slot_count() > 0;
            let undo = now_ms.saturating_sub(node.fail_time_ms) > timeout * FAIL_UNDO_TIME_MULT;
            if !is_master_with_slots || undo {
                node.flags &= !flags::FAIL;
                self.changed();
            }
        }
    }

    fn update_role(&mut self, id: NodeId, replica_of: Option<NodeId>) {
        let Some(node) = self.nodes.get_mut(&id) else {
            return;
        };
        match replica_of {
            None if !node.is_master() => {
                node.flags = (node.flags & !flags::SLAVE) | flags::MASTER;
                node.replica_of = None;
                self.changed();
            }
            Some(master) if !node.has(flags::SLAVE) || node.replica_of != Some(master) => {
                node.flags = (node.flags & !flags::MASTER) | flags::SLAVE;
                node.replica_of = Some(master);
                *node.slots = [0; SLOT_BYTES];
                for slot in self.slots.iter_mut() {
                    if *slot == Some(id) {
                        *slot = None;
                    }
                }
                self.changed();
            }
            _ => {}
        }
    }

    /// The sender claims slots that a node with a newer config epoch serves:
    /// tell it with an UPDATE (clusterProcessPacket's "stale config").
    fn answer_stale_claims(
        &mut self,
        sender: NodeId,
        sender_epoch: u64,
        claimed: &[u8; SLOT_BYTES],
    ) {
        for slot in 0..SLOT_COUNT {
            if !slot_is_set(claimed, slot) {
                continue;
            }
            let Some(owner) = self.slots[slot] else {
                continue;
            };
            if owner == sender {
                continue;
            }
            let owner_epoch = self.nodes.get(&owner).map_or(0, |n| n.config_epoch);
            if owner_epoch > sender_epoch {
                self.send_update(Dest::Node(sender), owner);
                return;
            }
        }
    }

    /// Two masters with the same config epoch: the one with the greater id
    /// takes a new epoch (clusterHandleConfigEpochCollision).
    fn handle_epoch_collision(&mut self, sender: NodeId, sender_epoch: u64) {
        let me = self.me();
        if sender_epoch != me.config_epoch || !me.is_master() || sender <= self.myself {
            return;
        }
        self.current_epoch += 1;
        let epoch = self.current_epoch;
        self.me_mut().config_epoch = epoch;
        self.changed();
        crate::notice!(
            "WARNING: configEpoch collision with node {}. configEpoch set to {}",
            id_str(&sender),
            epoch
        );
    }

    fn process_gossip(&mut self, sender: Option<NodeId>, entries: &[GossipEntry], now_ms: u64) {
        let sender_is_master = sender
            .and_then(|id| self.nodes.get(&id))
            .is_some_and(|n| n.is_master());
        for entry in entries {
            let id = entry.node_id;
            if self.nodes.contains_key(&id) {
                if let (true, Some(reporter)) = (sender_is_master, sender) {
                    if id != self.myself {
                        self.note_failure_report(id, reporter, entry.flags, now_ms);
                    }
                }
                let node = self.nodes.get_mut(&id).expect("checked above");
                let pong_ms = entry.pong_received_secs as u64 * 1000;
                if !node.has(flags::PFAIL | flags::FAIL)
                    && node.ping_sent_ms == 0
                    && node.fail_reports.is_empty()
                    && pong_ms <= now_ms + 500
                    && pong_ms > node.pong_received_ms
                {
                    node.pong_received_ms = pong_ms;
                }
                continue;
            }
            let addressable = entry.flags & flags::NOADDR == 0 && !entry.ip.is_empty();
            if sender.is_some() && addressable && !self.is_blacklisted(&id, now_ms) {
                let node_flags = entry.flags & !(flags::MYSELF | flags::PFAIL | flags::FAIL);
                let mut node = Node::new(id, node_flags, now_ms);
                node.ip = entry.ip.clone();
                node.port = entry.port;
                node.cport = entry.cluster_port;
                node.pport = entry.plaintext_port;
                self.add_node(node);
            }
        }
    }

    fn note_failure_report(&mut self, id: NodeId, reporter: NodeId, entry_flags: u16, now_ms: u64) {
        let Some(node) = self.nodes.get_mut(&id) else {
            return;
        };
        if entry_flags & (flags::FAIL | flags::PFAIL) != 0 {
            match node.fail_reports.iter_mut().find(|(r, _)| *r == reporter) {
                Some(report) => report.1 = now_ms,
                None => node.fail_reports.push((reporter, now_ms)),
            }
            self.mark_failing_if_needed(id, now_ms);
        } else {
            node.fail_reports.retain(|(r, _)| *r != reporter);
        }
    }

    fn mark_failing_if_needed(&mut self, id: NodeId, now_ms: u64) {
        let quorum = self.size / 2 + 1;
        let validity = self.settings.node_timeout_ms * FAIL_REPORT_VALIDITY_MULT;
        let i_am_master = self.me().is_master();
        let Some(node) = self.nodes.get_mut(&id) else {
            return;
        };
        if !node.has(flags::PFAIL) || node.has(flags::FAIL) {
            return;
        }
        node.fail_reports
            .retain(|(_, when)| now_ms.saturating_sub(*when) <= validity);
        let failures = node.fail_reports.len() + usize::from(i_am_master);
        if failures < quorum {
            return;
        }
        node.flags = (node.flags & !flags::PFAIL) | flags::FAIL;
        node.fail_time_ms = now_ms;
        crate::notice!("Marking node {} as failing (quorum reached).", id_str(&id));
        self.broadcast_fail(id);
        self.changed();
    }

    /// A replica asks for our vote to replace its failed master
    /// (clusterSendFailoverAuthIfNeeded): a master serving slots votes
    /// once per epoch, for a replica whose master it sees FAIL (or any, on
    /// a manual failover's FORCEACK), at most once per master every two
    /// node timeouts, and only when no slot the replica claims has an
    /// owner with a greater config epoch.
    fn vote_if_needed(&mut self, requester: NodeId, request: &wire::Header, now_ms: u64) {
        let me = self.me();
        if me.has(flags::SLAVE) || me.slot_count() == 0 {
            return;
        }
        let name = id_str(&requester).to_string();
        if request.current_epoch < self.current_epoch {
            crate::warning!(
                "Failover auth denied to {name}: reqEpoch ({}) < curEpoch({})",
                request.current_epoch,
                self.current_epoch
            );
            return;
        }
        if self.last_vote_epoch == self.current_epoch {
            crate::warning!(
                "Failover auth denied to {name}: already voted for epoch {}",
                self.current_epoch
            );
            return;
        }
        let Some(node) = self.nodes.get(&requester) else {
            return;
        };
        let force = request.mflags[0] & wire::MFLAG0_FORCEACK != 0;
        let master = node.replica_of.and_then(|m| self.nodes.get(&m));
        let denied = if node.is_master() {
            Some("it is a master node")
        } else if master.is_none() {
            Some("I don't know its master")
        } else if master.is_some_and(|m| !m.has(flags::FAIL)) && !force {
            Some("its master is up")
        } else {
            None
        };
        if let Some(why) = denied {
            crate::warning!("Failover auth denied to {name}: {why}");
            return;
        }
        let Some(master) = master else {
            return;
        };
        let master_id = master.id;
        let wait = self.settings.node_timeout_ms * 2;
        let since = now_ms.saturating_sub(master.voted_ms);
        if master.voted_ms != 0 && since < wait {
            crate::warning!(
                "Failover auth denied to {name}: can't vote about this master before {} milliseconds",
                wait - since
            );
            return;
        }
        for slot in 0..SLOT_COUNT {
            if !slot_is_set(&request.slots, slot) {
                continue;
            }
            let owner_epoch = self.slots[slot]
                .and_then(|owner| self.nodes.get(&owner))
                .map_or(0, |owner| owner.config_epoch);
            if owner_epoch > request.config_epoch {
                crate::warning!(
                    "Failover auth denied to {name}: slot {slot} epoch ({owner_epoch}) > reqEpoch ({})",
                    request.config_epoch
                );
                return;
            }
        }
        self.last_vote_epoch = self.current_epoch;
        if let Some(master) = self.nodes.get_mut(&master_id) {
            master.voted_ms = now_ms;
        }
        self.outbox.save_config = true;
        let message = Message {
            header: self.header(wire::TYPE_FAILOVER_AUTH_ACK),
            body: Body::Empty,
        };
        let bytes = self.encode(message);
        self.send(Dest::Node(requester), bytes);
        crate::warning!(
            "Failover auth granted to {name} for epoch {}",
            self.current_epoch
        );
    }

    fn handle_fail(&mut self, failing: NodeId, now_ms: u64) {
        let Some(node) = self.nodes.get_mut(&failing) else {
            return;
        };
        if node.has(flags::FAIL | flags::MYSELF) {
            return;
        }
        node.flags = (node.flags & !flags::PFAIL) | flags::FAIL;
        node.fail_time_ms = now_ms;
        self.changed();
    }

    fn handle_update(&mut self, id: NodeId, config_epoch: u64, slots: &[u8; SLOT_BYTES]) {
        let Some(node) = self.nodes.get_mut(&id) else {
            return;
        };
        if node.config_epoch >= config_epoch {
            return;
        }
        if node.has(flags::SLAVE) {
            node.flags = (node.flags & !flags::SLAVE) | flags::MASTER;
            node.replica_of = None;
        }
        node.config_epoch = config_epoch;
        self.update_slots_from(id, config_epoch, slots);
        self.changed();
    }
}

impl ClusterState {
    // -----------------------------------------------------------------------------------------
    // Links and time.

    /// The runtime connected our outbound link: send PING, or MEET.
    pub fn link_established(&mut self, link: LinkId, now_ms: u64, random: u64) {
        let Some(id) = self
            .nodes
            .values()
            .find(|n| n.link == Some(link))
            .map(|n| n.id)
        else {
            self.outbox.disconnects.push(link);
            return;
        };
        let meet = {
            let node = self.nodes.get_mut(&id).expect("found above");
            node.link_connected = true;
            node.has(flags::MEET)
        };
        let kind = if meet {
            wire::TYPE_MEET
        } else {
            wire::TYPE_PING
        };
        // The handshake ping counts as sent even for MEET, so a node that
        // never answers is timed out.
        if let Some(node) = self.nodes.get_mut(&id) {
            if node.ping_sent_ms == 0 {
                node.ping_sent_ms = now_ms;
            }
        }
        self.send_ping(id, kind, now_ms, random);
    }

    /// A link closed (or failed to connect).
    pub fn link_closed(&mut self, link: LinkId, now_ms: u64) {
        for node in self.nodes.values_mut() {
            if node.link == Some(link) {
                // A node we cannot reach counts as pinged and unanswered,
                // or failure detection would never start for it (as
                // Redis's clusterNodeCronHandleReconnect).
                if !node.link_connected && node.ping_sent_ms == 0 {
                    node.ping_sent_ms = now_ms;
                }
                node.link = None;
                node.link_connected = false;
            }
        }
    }

    /// Runs every 100 ms (`clusterCron`).
    pub fn cron(&mut self, now_ms: u64, random: u64) {
        self.cron_ticks += 1;
        let timeout = self.settings.node_timeout_ms;
        let handshake_timeout = timeout.max(1000);
        // Handshakes that never completed are dropped.
        let expired: Vec<NodeId> = self
            .nodes
            .values()
            .filter(|n| {
                n.has(flags::HANDSHAKE) && now_ms.saturating_sub(n.created_ms) > handshake_timeout
            })
            .map(|n| n.id)
            .collect();
        for id in expired {
            self.delete_node(&id);
        }
        // Open links to nodes that have none.
        let unlinked: Vec<(NodeId, String, u16)> = self
            .nodes
            .values()
            .filter(|n| {
                n.link.is_none() && !n.has(flags::MYSELF | flags::NOADDR) && !n.ip.is_empty()
            })
            .map(|n| (n.id, n.ip.clone(), n.cport))
            .collect();
        for (id, ip, cport) in unlinked {
            let link = self.new_link_id();
            if let Some(node) = self.nodes.get_mut(&id) {
                node.link = Some(link);
                node.link_connected = false;
            }
            self.outbox.connects.push((link, ip, cport));
        }
        // Once a second, ping the node we heard from longest ago among a
        // few random ones.
        if self.cron_ticks.is_multiple_of(10) {
            self.ping_random_node(now_ms, random);
        }
        let ids: Vec<NodeId> = self.nodes.keys().copied().collect();
        for id in ids {
            let Some(node) = self.nodes.get(&id) else {
                continue;
            };
            if node.has(flags::MYSELF | flags::NOADDR | flags::HANDSHAKE) {
                continue;
            }
            let ping_sent = node.ping_sent_ms;
            // A link that looks stuck is dropped and reopened.
            if node.link_connected
                && ping_sent != 0
                && now_ms.saturating_sub(ping_sent) > timeout / 2
                && now_ms.saturating_sub(node.data_received_ms) > timeout / 2
                && now_ms.saturating_sub(node.created_ms) > timeout
            {
                if let Some(link) = self.nodes.get_mut(&id).and_then(|n| {
                    n.link_connected = false;
                    n.link.take()
                }) {
                    self.outbox.disconnects.push(link);
                }
            }
            let node = &self.nodes[&id];
            if node.link_connected
                && node.ping_sent_ms == 0
                && now_ms.saturating_sub(node.pong_received_ms) > timeout / 2
            {
                self.send_ping(id, wire::TYPE_PING, now_ms, random);
                continue;
            }
            let node = &self.nodes[&id];
            if node.ping_sent_ms == 0 {
                continue;
            }
            let delay = now_ms.saturating_sub(node.ping_sent_ms);
            let data_delay = now_ms.saturating_sub(node.data_received_ms);
            if delay.min(data_delay) > timeout && !node.has(flags::PFAIL | flags::FAIL) {
                crate::notice!("*** NODE {} possibly failing", id_str(&id));
                if let Some(node) = self.nodes.get_mut(&id) {
                    node.flags |= flags::PFAIL;
                }
            }
        }
        let pfail: Vec<NodeId> = self
            .nodes
            .values()
            .filter(|n| n.has(flags::PFAIL))
            .map(|n| n.id)
            .collect();
        for id in pfail {
            self.mark_failing_if_needed(id, now_ms);
        }
        // Commands and messages change flags and slots between ticks, so the
        // state is recomputed every tick (a pass over the slots: cheap).
        self.update_state(now_ms);
        self.update_my_flags();
        self.manual_failover_cron(now_ms, random);
        self.run_election(now_ms, random);
    }

    /// Our `nofailover` flag follows `cluster-replica-no-failover`
    /// (clusterUpdateMyselfFlags); our next messages carry it.
    fn update_my_flags(&mut self) {
        let wanted = self.settings.replica_no_failover;
        let me = self.me_mut();
        if me.has(flags::NOFAILOVER) != wanted {
            me.flags ^= flags::NOFAILOVER;
            self.changed();
        }
    }

    /// MFSTART from a replica of ours (clusterProcessPacket): pause our
    /// clients' writes for twice the failover's time and ping the replica,
    /// whose next messages from us carry the offset to reach.
    fn manual_failover_requested(&mut self, sender: NodeId, now_ms: u64, random: u64) {
        let ours = self
            .nodes
            .get(&sender)
            .is_some_and(|n| n.has(flags::SLAVE) && n.replica_of == Some(self.myself));
        if !ours || !self.me().is_master() {
            return;
        }
        self.reset_manual_failover();
        let pause_end_ms = now_ms + MANUAL_FAILOVER_MS * 2;
        self.manual = ManualFailover {
            end_ms: now_ms + MANUAL_FAILOVER_MS,
            replica: Some(sender),
            pause_end_ms,
            ..ManualFailover::default()
        };
        self.outbox.failover_pause = Some(pause_end_ms);
        crate::warning!("Manual failover requested by replica {}.", id_str(&sender));
        self.send_ping(sender, wire::TYPE_PING, now_ms, random);
    }

    /// A manual failover's progress, every cron tick (manualFailoverCheckTimeout,
    /// clusterHandleManualFailover and clusterCron's pings to the replica).
    fn manual_failover_cron(&mut self, now_ms: u64, random: u64) {
        if self.manual.end_ms == 0 {
            return;
        }
        if now_ms > self.manual.end_ms {
            crate::warning!("Manual failover timed out.");
            self.reset_manual_failover();
            return;
        }
        if let Some(replica) = self.manual.replica {
            // The master: once settled, every tick tells the replica the
            // offset to reach.
            if self.failover_settled == self.manual.pause_end_ms {
                self.manual.settled = true;
                self.send_ping(replica, wire::TYPE_PING, now_ms, random);
            }
            return;
        }
        let Some(target) = self.manual.master_offset else {
            return;
        };
        // Our offset is at least the master's (Redis asks for equality;
        // an offset past it means we have all it had when it paused).
        if !self.manual.can_start && self.me().repl_offset >= target {
            self.manual.can_start = true;
            crate::warning!("All master replication stream processed, manual failover can start.");
            self.election = Election {
                start_ms: now_ms,
                manual_end_ms: self.manual.end_ms,
                ..Election::default()
            };
        }
    }

    /// Ends a manual failover on either side (resetManualFailover): a
    /// master's clients write again.
    pub fn reset_manual_failover(&mut self) {
        if self.manual.replica.is_some() {
            self.outbox.failover_pause = Some(0);
        }
        self.manual = ManualFailover::default();
    }

    /// CLUSTER FAILOVER with no option, on a replica: ask the master to
    /// pause and tell us its offset.
    pub fn start_coordinated_failover(&mut self, master: NodeId, now_ms: u64) {
        self.reset_manual_failover();
        self.manual = ManualFailover {
            end_ms: now_ms + MANUAL_FAILOVER_MS,
            ..ManualFailover::default()
        };
        let message = Message {
            header: self.header(wire::TYPE_MFSTART),
            body: Body::Empty,
        };
        let bytes = self.encode(message);
        self.send(Dest::Node(master), bytes);
        crate::warning!("Manual failover user request accepted.");
    }

    /// A replica whose master is FAIL runs an election, as Redis's
    /// clusterHandleSlaveFailover: after 500 ms plus up to 500 ms at random
    /// plus a second per sibling replica with a greater replication offset,
    /// it bumps the current epoch and asks every master for its vote; with
    /// a majority of the masters serving slots it takes its master's slots
    /// under that epoch and tells everyone. An election that got no
    /// majority within two node timeouts is tried again after four.
    fn run_election(&mut self, now_ms: u64, random: u64) {
        let me = self.me();
        let Some(master) = me
            .replica_of
            .filter(|_| me.has(flags::SLAVE))
            .and_then(|m| self.nodes.get(&m))
        else {
            self.election = Election::default();
            return;
        };
        let manual = self.election.manual_end_ms != 0;
        if self.settings.replica_no_failover && !manual {
            self.election = Election::default();
            return;
        }
        if manual && now_ms > self.election.manual_end_ms {
            crate::warning!("Manual failover timed out.");
            self.election = Election::default();
            return;
        }
        if (!master.has(flags::FAIL) && !manual) || master.slot_count() == 0 {
            self.election = Election::default();
            return;
        }
        let master_id = master.id;
        // Data older than the validity factor allows (counted from the
        // node timeout on, the time a master takes to be FAIL) does not
        // stand for election, unless the failover is manual.
        let factor = self.settings.replica_validity_factor;
        let node_timeout = self.settings.node_timeout_ms;
        let mut data_age = now_ms.saturating_sub(self.master_heard_ms);
        if data_age > node_timeout {
            data_age -= node_timeout;
        }
        if factor != 0
            && !manual
            && data_age > self.settings.repl_ping_period_ms + node_timeout.saturating_mul(factor)
        {
            if now_ms.saturating_sub(self.cant_failover_logged_ms) >= CANT_FAILOVER_RELOG_MS {
                self.cant_failover_logged_ms = now_ms;
                crate::warning!(
                    "Currently unable to failover: Disconnected from master for longer than allowed. Please check the 'cluster-replica-validity-factor' configuration option."
                );
            }
            self.election = Election::default();
            return;
        }
        let timeout = (self.settings.node_timeout_ms * 2).max(2000);
        let retry = timeout * 2;
        if self.election.start_ms != 0 && now_ms.saturating_sub(self.election.start_ms) > retry {
            self.election = Election::default();
        }
        if self.election.start_ms == 0 {
            let my_offset = self.me().repl_offset;
            let rank = self
                .nodes
                .values()
                .filter(|n| {
                    n.id != self.myself
                        && n.has(flags::SLAVE)
                        && n.replica_of == Some(master_id)
                        && !n.has(flags::FAIL | flags::NOFAILOVER)
                        && n.repl_offset > my_offset
                })
                .count();
            let delay = 500 + random % 500 + rank as u64 * 1000;
            self.election = Election {
                start_ms: now_ms + delay,
                rank,
                ..Election::default()
            };
            crate::warning!(
                "Start of election delayed for {delay} milliseconds (rank #{rank}, offset {my_offset})."
            );
            return;
        }
        if now_ms < self.election.start_ms {
            return;
        }
        if now_ms - self.election.start_ms > timeout {
            if self.election.sent {
                crate::warning!("Failover attempt expired.");
                self.election.sent = false;
                // Wait for the retry; start_ms stays to time it.
                self.election.votes = 0;
            }
            return;
        }
        if !self.election.sent {
            self.current_epoch += 1;
            self.election.epoch = self.current_epoch;
            self.election.sent = true;
            self.election.votes = 0;
            crate::warning!(
                "Starting a failover election for epoch {}.",
                self.current_epoch
            );
            let mut header = self.header(wire::TYPE_FAILOVER_AUTH_REQUEST);
            if manual {
                header.mflags[0] |= wire::MFLAG0_FORCEACK;
            }
            let message = Message {
                header,
                body: Body::Empty,
            };
            let bytes = self.encode(message);
            self.broadcast(bytes);
            self.outbox.save_config = true;
            return;
        }
        let quorum = self.size / 2 + 1;
        if self.election.votes < quorum {
            return;
        }
        crate::warning!("Failover election won: I'm the new master.");
        let epoch = self.election.epoch;
        self.replace_master(master_id, epoch, now_ms, random);
    }

    /// Makes this node a replica of `master` (CLUSTER REPLICATE, or our
    /// shard's slots taken over): no slot migrations, no election.
    pub fn become_replica_of(&mut self, master: NodeId) {
        let id = self.myself;
        if let Some(node) = self.nodes.get_mut(&id) {
            node.flags = (node.flags & !flags::MASTER) | flags::SLAVE;
            node.replica_of = Some(master);
        }
        self.migrating.clear();
        self.importing.clear();
        self.election = Election::default();
        self.reset_manual_failover();
        self.changed();
    }

    /// CLUSTER FAILOVER FORCE: an election at once, whose request asks the
    /// masters to vote although our master is not FAIL.
    pub fn start_manual_election(&mut self, now_ms: u64) {
        self.election = Election {
            start_ms: now_ms,
            manual_end_ms: now_ms + MANUAL_FAILOVER_MS,
            ..Election::default()
        };
    }

    /// CLUSTER FAILOVER TAKEOVER: a new config epoch without votes, and our
    /// master's slots (clusterBumpConfigEpochWithoutConsensus, then
    /// clusterFailoverReplaceYourMaster).
    pub fn take_over(&mut self, master_id: NodeId, now_ms: u64, random: u64) {
        self.current_epoch += 1;
        let epoch = self.current_epoch;
        crate::warning!("Taking over the master (user request).");
        self.replace_master(master_id, epoch, now_ms, random);
    }

    /// Makes this replica the master of its master's slots under `epoch`,
    /// and tells everyone.
    fn replace_master(&mut self, master_id: NodeId, epoch: u64, now_ms: u64, random: u64) {
        let id = self.myself;
        if let Some(node) = self.nodes.get_mut(&id) {
            node.flags = (node.flags & !flags::SLAVE) | flags::MASTER;
            node.replica_of = None;
            if node.config_epoch < epoch {
                node.config_epoch = epoch;
                crate::warning!("configEpoch set to {epoch} after successful failover");
            }
        }
        let theirs: Vec<usize> = (0..SLOT_COUNT)
            .filter(|&slot| self.slots[slot] == Some(master_id))
            .collect();
        for slot in theirs {
            self.assign_slot(slot, id);
        }
        self.election = Election::default();
        self.reset_manual_failover();
        self.changed();
        self.update_state(now_ms);
        self.broadcast_pong(random);
    }

    fn ping_random_node(&mut self, now_ms: u64, random: u64) {
        let candidates: Vec<&Node> = self
            .nodes
            .values()
            .filter(|n| {
                n.link_connected
                    && n.ping_sent_ms == 0
                    && !n.has(flags::MYSELF | flags::PFAIL | flags::HANDSHAKE)
            })
            .collect();
        if candidates.is_empty() {
            return;
        }
        let mut state = random | 1;
        let mut oldest: Option<&Node> = None;
        for _ in 0..5 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let node = candidates[(state % candidates.len() as u64) as usize];
            if oldest.is_none_or(|o| node.pong_received_ms < o.pong_received_ms) {
                oldest = Some(node);
            }
        }
        if let Some(id) = oldest.map(|n| n.id) {
            self.send_ping(id, wire::TYPE_PING, now_ms, random);
        }
    }

    /// Recomputes `cluster_state` and `cluster_size` (clusterUpdateState).
    pub fn update_state(&mut self, now_ms: u64) {
        // Like Redis, give a restarted node a moment to hear from the others
        // before it declares the cluster healthy.
        const WRITABLE_DELAY_MS: u64 = 2000;
        let mut ok = true;
        if self.settings.require_full_coverage {
            ok = self.slots.iter().all(|owner| match owner {
                None => false,
                Some(id) => self.nodes.get(id).is_some_and(|n| !n.has(flags::FAIL)),
            });
        }
        let masters: Vec<&Node> = self
            .nodes
            .values()
            .filter(|n| n.is_master() && n.slot_count() > 0)
            .collect();
        self.size = masters.len();
        let reachable = masters
            .iter()
            .filter(|n| !n.has(flags::FAIL | flags::PFAIL))
            .count();
        if reachable < self.size / 2 + 1 {
            ok = false;
        }
        if ok && !self.state_ok && now_ms.saturating_sub(self.started_ms) < WRITABLE_DELAY_MS {
            let assigned = self.slots.iter().any(|s| s.is_some());
            if assigned && self.nodes.len() > 1 {
                return;
            }
        }
        if ok != self.state_ok {
            crate::notice!("Cluster state changed: {}", if ok { "ok" } else { "fail" });
            self.state_ok = ok;
            self.outbox.view_changed = true;
        }
    }

    // -----------------------------------------------------------------------------------------
    // The view the shard cores route with.

    pub fn build_view(&mut self) -> Arc<ClusterView> {
        self.view_version += 1;
        let index: HashMap<NodeId, u16> = self
            .nodes
            .keys()
            .enumerate()
            .map(|(i, id)| (*id, i as u16))
            .collect();
        let nodes = self
            .nodes
            .values()
            .map(|n| NodeEndpoint {
                id: n.id_str().to_string(),
                endpoint: self.endpoint_of(n),
                port: n.port,
            })
            .collect();
        let slots = self
            .slots
            .iter()
            .map(|owner| {
                owner
                    .and_then(|o| index.get(&o).copied())
                    .unwrap_or(NO_NODE)
            })
            .collect();
        let map = |entries: &BTreeMap<u16, NodeId>| {
            entries
                .iter()
                .filter_map(|(slot, id)| index.get(id).map(|i| (*slot, *i)))
                .collect()
        };
        let me = self.me();
        let master = me
            .replica_of
            .filter(|_| me.has(flags::SLAVE))
            .and_then(|m| index.get(&m).copied());
        let master_addr = me
            .replica_of
            .filter(|_| me.has(flags::SLAVE))
            .and_then(|m| self.nodes.get(&m))
            .filter(|m| !m.ip.is_empty() && m.port != 0)
            .map(|m| (m.ip.clone(), m.port));
        Arc::new(ClusterView {
            enabled: true,
            version: self.view_version,
            myself: index[&self.myself],
            nodes,
            slots,
            migrating: map(&self.migrating),
            importing: map(&self.importing),
            state_ok: self.state_ok,
            allow_reads_when_down: self.settings.allow_reads_when_down,
            master,
            master_addr,
        })
    }

    /// The endpoint a node is named by in redirects and CLUSTER SLOTS.
    pub fn endpoint_of(&self, node: &Node) -> String {
        match self.settings.preferred_endpoint.as_str() {
            "hostname" if !node.hostname.is_empty() => node.hostname.clone(),
            "hostname" => "?".into(),
            "unknown-endpoint" => "?".into(),
            _ => node.ip.clone(),
        }
    }
}
