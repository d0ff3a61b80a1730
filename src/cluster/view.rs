//! The immutable cluster view every shard core routes with.
//!
//! Only the bus core builds views (`cluster_bus`); it hands each shard core
//! an `Arc<ClusterView>` whenever something routing depends on changes, and
//! the core swaps its own copy. Nothing here is ever mutated after it is
//! built, so routing takes no lock.

use super::slot::SLOT_COUNT;
use std::collections::HashMap;

/// `slots[s]` when no node serves slot `s`.
pub const NO_NODE: u16 = u16::MAX;

/// What a redirect names: a node's endpoint and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeEndpoint {
    pub id: String,
    /// The endpoint clients are sent to (ip, hostname, or `?`), as
    /// `cluster-preferred-endpoint-type` says.
    pub endpoint: String,
    pub port: u16,
}

#[derive(Debug, Clone)]
pub struct ClusterView {
    /// False in standalone mode: no routing at all.
    pub enabled: bool,
    /// Grows with every view the bus builds.
    pub version: u64,
    pub myself: u16,
    pub nodes: Vec<NodeEndpoint>,
    /// For each of the 16384 slots, the index in `nodes` of its master.
    pub slots: Box<[u16]>,
    /// Slots this node is migrating away, and to which node.
    pub migrating: HashMap<u16, u16>,
    /// Slots this node is importing, and from which node.
    pub importing: HashMap<u16, u16>,
    /// `cluster_state:ok`.
    pub state_ok: bool,
    pub allow_reads_when_down: bool,
    /// The master's index when this node is a replica.
    pub master: Option<u16>,
    /// The master's ip and client port when this node is a replica: where
    /// its replication link connects.
    pub master_addr: Option<(String, u16)>,
}

impl ClusterView {
    /// The view of a standalone server: never consulted.
    pub fn standalone() -> Self {
        ClusterView {
            enabled: false,
            version: 0,
            myself: 0,
            nodes: Vec::new(),
            slots: vec![NO_NODE; SLOT_COUNT].into_boxed_slice(),
            migrating: HashMap::new(),
            importing: HashMap::new(),
            state_ok: true,
            allow_reads_when_down: false,
            master: None,
            master_addr: None,
        }
    }

    pub fn node(&self, index: u16) -> Option<&NodeEndpoint> {
        self.nodes.get(index as usize)
    }

    /// True when this node serves `slot`.
    pub fn serves(&self, slot: u16) -> bool {
        self.slots[slot as usize] == self.myself
    }

    /// True when this node serves `slot` with nothing special going on: the
    /// fast path of routing.
    #[inline]
    pub fn serves_plainly(&self, slot: u16) -> bool {
        self.slots[slot as usize] == self.myself
            && self.migrating.is_empty()
            && self.importing.is_empty()
    }
}
