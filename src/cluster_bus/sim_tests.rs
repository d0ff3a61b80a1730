//! The bus rules without sockets: several `ClusterState`s exchange real
//! encoded messages through an in-memory network, with a clock the test
//! moves. Handshakes, gossip, slot ownership and failure detection are
//! checked here deterministically; tests/cluster.rs checks them for real.

use super::commands::Context;
use super::state::{flags, BusSettings, ClusterState, Dest, LinkId, LinkInfo, NodeId};
use super::wire;
use bytes::Bytes;
use std::collections::HashMap;

const TIMEOUT_MS: u64 = 1000;

struct Net {
    nodes: Vec<ClusterState>,
    /// (node, link) -> (peer node, the peer's id for the same connection).
    wires: HashMap<(usize, LinkId), (usize, LinkId)>,
    /// Nodes that are down: nothing reaches them, nothing leaves them.
    down: Vec<bool>,
    /// The failover pauses (ends; 0: over) each node told its cores of.
    pauses: Vec<Vec<u64>>,
    now_ms: u64,
    random: u64,
}

fn settings(port: u16) -> BusSettings {
    BusSettings::for_tests(port, TIMEOUT_MS)
}

impl Net {
    fn new(count: usize) -> Net {
        let now_ms = 1_000_000;
        Net {
            nodes: (0..count)
                .map(|i| ClusterState::new(settings(7000 + i as u16), now_ms))
                .collect(),
            wires: HashMap::new(),
            down: vec![false; count],
            pauses: vec![Vec::new(); count],
            now_ms,
            random: 0x1234_5678,
        }
    }

    fn id(&self, node: usize) -> NodeId {
        self.nodes[node].myself
    }

    fn command(&mut self, node: usize, words: &[&str]) -> crate::protocol::Reply {
        let argv: Vec<Bytes> = words.iter().map(|w| Bytes::from(w.to_string())).collect();
        let now = self.now_ms;
        let args = crate::protocol::args_of(&argv);
        let reply = self.nodes[node].command(&args, Context::default(), &[], now);
        self.nodes[node].update_state(now);
        self.deliver();
        reply
    }

    fn link_info(&self, node: usize, link: LinkId) -> LinkInfo {
        LinkInfo {
            id: link,
            node: self.nodes[node]
                .nodes
                .values()
                .find(|n| n.link == Some(link))
                .map(|n| n.id),
            peer_ip: "127.0.0.1".into(),
            local_ip: "127.0.0.1".into(),
        }
    }

    /// Carries every outbox until the network is quiet.
    fn deliver(&mut self) {
        for _round in 0..1000 {
            let mut moved = false;
            for from in 0..self.nodes.len() {
                let outbox = std::mem::take(&mut self.nodes[from].outbox);
                self.pauses[from].extend(outbox.failover_pause);
                // The node's cores settle a pause at once.
                if let Some(end_ms) = outbox.failover_pause.filter(|&end| end != 0) {
                    self.nodes[from].failover_settled = end_ms;
                }
                for link in outbox.disconnects {
                    if let Some((peer, peer_link)) = self.wires.remove(&(from, link)) {
                        self.wires.remove(&(peer, peer_link));
                        let now = self.now_ms;
                        self.nodes[peer].link_closed(peer_link, now);
                    }
                }
                for (link, _ip, cport) in outbox.connects {
                    moved = true;
                    let now = self.now_ms;
                    let peer = (cport - 17000) as usize;
                    if self.down[from] || self.down.get(peer).copied().unwrap_or(true) {
                        self.nodes[from].link_closed(link, now);
                        continue;
                    }
                    let peer_link = self.nodes[peer].new_link_id();
                    self.wires.insert((from, link), (peer, peer_link));
                    self.wires.insert((peer, peer_link), (from, link));
                    self.random = self
                        .random
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1);
                    self.nodes[from].link_established(link, now, self.random);
                }
                for (dest, bytes) in outbox.messages {
                    let link = match dest {
                        Dest::Link(link) => Some(link),
                        Dest::Node(id) => self.nodes[from]
                            .nodes
                            .get(&id)
                            .filter(|n| n.link_connected)
                            .and_then(|n| n.link),
                    };
                    let Some(&(peer, peer_link)) = link.and_then(|l| self.wires.get(&(from, l)))
                    else {
                        continue;
                    };
                    if self.down[from] || self.down[peer] {
                        continue;
                    }
                    moved = true;
                    let message = wire::decode(&bytes).expect("our own encoding decodes");
                    let info = self.link_info(peer, peer_link);
                    self.random = self
                        .random
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1);
                    let now = self.now_ms;
                    self.nodes[peer].handle_message(&info, message, now, self.random);
                }
            }
            if !moved {
                return;
            }
        }
        panic!("the network never went quiet");
    }

    /// Moves the clock on by `ms`, one cron tick per 100 ms.
    fn run_for(&mut self, ms: u64) {
        for _ in 0..ms / 100 {
            self.now_ms += 100;
            for node in 0..self.nodes.len() {
                if self.down[node] {
                    continue;
                }
                self.random = self
                    .random
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1);
                let now = self.now_ms;
                // A replica whose master is up hears from it over its
                // replication link (not modelled): its data is current.
                let master = self.nodes[node].me().replica_of;
                let master_up = master
                    .and_then(|id| self.nodes.iter().position(|n| n.myself == id))
                    .is_some_and(|m| !self.down[m]);
                if master_up {
                    self.nodes[node].master_heard_ms = now;
                }
                self.nodes[node].cron(now, self.random);
            }
            self.deliver();
        }
    }

    /// Closes every link of `node` (down), as its sockets would close.
    fn cut_off(&mut self, node: usize) {
        let wires: Vec<_> = self
            .wires
            .keys()
            .copied()
            .filter(|(n, _)| *n == node)
            .collect();
        for (node, link) in wires {
            if let Some((peer, peer_link)) = self.wires.remove(&(node, link)) {
                self.wires.remove(&(peer, peer_link));
                let now = self.now_ms;
                self.nodes[peer].link_closed(peer_link, now);
            }
        }
    }

    fn flags_of(&self, on: usize, about: usize) -> u16 {
        self.nodes[on].nodes[&self.id(about)].flags
    }
}

/// Three masters, each with a third of the slots, met through node 0.
fn three_masters() -> Net {
    let mut net = Net::new(3);
    for (node, range) in [(0, "0 5460"), (1, "5461 10922"), (2, "10923 16383")] {
        let (start, end) = range.split_once(' ').expect("two numbers");
        assert!(!net
            .command(node, &["CLUSTER", "ADDSLOTSRANGE", start, end])
            .is_error());
        let epoch = (node + 1).to_string();
        net.command(node, &["CLUSTER", "SET-CONFIG-EPOCH", &epoch]);
    }
    net.command(0, &["CLUSTER", "MEET", "127.0.0.1", "7001"]);
    net.command(0, &["CLUSTER", "MEET", "127.0.0.1", "7002"]);
    net.run_for(3000);
    net
}

#[test]
fn meet_and_gossip_make_every_node_known_to_every_other() {
    let net = three_masters();
    for node in 0..3 {
        let state = &net.nodes[node];
        assert_eq!(
            state.nodes.len(),
            3,
            "node {node}:\n{}",
            state.nodes_text(false)
        );
        assert!(state.nodes.values().all(|n| !n.has(flags::HANDSHAKE)));
        assert!(state.state_ok, "node {node}:\n{}", state.info_text());
        for (other, first_slot) in [(0, 0), (1, 5461), (2, 10923)] {
            assert_eq!(state.slots[first_slot], Some(net.id(other)));
        }
        assert_eq!(state.me().ip, "127.0.0.1");
    }
}

#[test]
fn a_silent_master_becomes_pfail_then_fail_with_a_majority() {
    let mut net = three_masters();
    net.down[2] = true;
    net.cut_off(2);
    net.run_for(TIMEOUT_MS * 4);
    for node in 0..2 {
        assert!(
            net.flags_of(node, 2) & flags::FAIL != 0,
            "node {node}:\n{}",
            net.nodes[node].nodes_text(false)
        );
        assert!(!net.nodes[node].state_ok);
    }
    // It comes back: the others clear FAIL once it answers for a while.
    net.down[2] = false;
    net.run_for(TIMEOUT_MS * 4);
    for node in 0..2 {
        assert_eq!(net.flags_of(node, 2) & (flags::FAIL | flags::PFAIL), 0);
        assert!(net.nodes[node].state_ok);
    }
}

#[test]
fn a_slot_moved_with_setslot_node_converges_everywhere() {
    let mut net = three_masters();
    let (source, target) = (net.id(0), net.id(1));
    let target_text = String::from_utf8_lossy(&target).into_owned();
    let source_text = String::from_utf8_lossy(&source).into_owned();
    net.command(1, &["CLUSTER", "SETSLOT", "100", "IMPORTING", &source_text]);
    net.command(0, &["CLUSTER", "SETSLOT", "100", "MIGRATING", &target_text]);
    net.command(1, &["CLUSTER", "SETSLOT", "100", "NODE", &target_text]);
    net.command(0, &["CLUSTER", "SETSLOT", "100", "NODE", &target_text]);
    net.run_for(2000);
    for node in 0..3 {
        assert_eq!(net.nodes[node].slots[100], Some(target), "node {node}");
        assert!(net.nodes[node].migrating.is_empty());
        assert!(net.nodes[node].importing.is_empty());
    }
    // The importer took a config epoch greater than every other.
    let epochs: Vec<u64> = (0..3).map(|n| net.nodes[n].me().config_epoch).collect();
    assert!(epochs[1] > epochs[0] && epochs[1] > epochs[2], "{epochs:?}");
}

#[test]
fn equal_config_epochs_are_made_unique() {
    let mut net = Net::new(2);
    net.command(0, &["CLUSTER", "ADDSLOTS", "1"]);
    net.command(1, &["CLUSTER", "ADDSLOTS", "2"]);
    net.command(0, &["CLUSTER", "MEET", "127.0.0.1", "7001"]);
    net.run_for(2000);
    let (a, b) = (
        net.nodes[0].me().config_epoch,
        net.nodes[1].me().config_epoch,
    );
    assert_ne!(a, b);
}

#[test]
fn forget_keeps_a_node_out_for_a_while() {
    let mut net = three_masters();
    let forgotten = String::from_utf8_lossy(&net.id(2)).into_owned();
    assert!(!net
        .command(0, &["CLUSTER", "FORGET", &forgotten])
        .is_error());
    net.run_for(2000);
    assert_eq!(
        net.nodes[0].nodes.len(),
        2,
        "gossip must not bring it back yet"
    );
}

#[test]
fn a_message_claiming_our_own_id_changes_nothing() {
    let mut net = three_masters();
    let before = (net.nodes[0].current_epoch, net.nodes[0].me().config_epoch);
    let bytes = net.nodes[1].build_ping(wire::TYPE_PING, 7);
    let mut message = wire::decode(&bytes).expect("decodes");
    message.header.sender = net.id(0);
    message.header.current_epoch = 99;
    message.header.config_epoch = 99;
    let info = LinkInfo {
        id: 999,
        node: None,
        peer_ip: "127.0.0.1".into(),
        local_ip: "127.0.0.1".into(),
    };
    let now = net.now_ms;
    net.nodes[0].handle_message(&info, message, now, 1);
    let after = (net.nodes[0].current_epoch, net.nodes[0].me().config_epoch);
    assert_eq!(before, after);
    assert!(
        net.nodes[0].outbox.messages.is_empty(),
        "no reply to a forgery"
    );
}

/// Node 3 replicates node 2; the FAILOVER_AUTH_REQUEST it would send, at `epoch`.
fn auth_request(net: &Net, epoch: u64) -> wire::Message {
    let master = &net.nodes[0].nodes[&net.id(2)];
    let mut header = wire::Header::new(wire::TYPE_FAILOVER_AUTH_REQUEST, net.id(3));
    header.current_epoch = epoch;
    header.config_epoch = master.config_epoch;
    header.slots = master.slots.clone();
    header.replica_of = Some(net.id(2));
    header.flags = flags::SLAVE;
    wire::Message {
        header,
        body: wire::Body::Empty,
    }
}

/// The FAILOVER_AUTH_ACKs in `node`'s outbox, which is emptied.
fn acks_sent(net: &mut Net, node: usize) -> Vec<Dest> {
    std::mem::take(&mut net.nodes[node].outbox.messages)
        .into_iter()
        .filter(|(_, bytes)| {
            wire::decode(bytes).is_ok_and(|m| m.header.message_type == wire::TYPE_FAILOVER_AUTH_ACK)
        })
        .map(|(dest, _)| dest)
        .collect()
}

/// Three masters (epochs 1, 2, 3) and node 3, a replica of node 2.
fn three_masters_and_a_replica_of_node_2() -> Net {
    let mut net = Net::new(4);
    for (node, range, epoch) in [
        (0, "0 5460", "1"),
        (1, "5461 10922", "2"),
        (2, "10923 16383", "3"),
    ] {
        let (start, end) = range.split_once(' ').expect("two numbers");
        net.command(node, &["CLUSTER", "ADDSLOTSRANGE", start, end]);
        net.command(node, &["CLUSTER", "SET-CONFIG-EPOCH", epoch]);
    }
    for port in ["7001", "7002", "7003"] {
        net.command(0, &["CLUSTER", "MEET", "127.0.0.1", port]);
    }
    net.run_for(3000);
    let master = String::from_utf8_lossy(&net.id(2)).into_owned();
    assert!(!net
        .command(3, &["CLUSTER", "REPLICATE", &master])
        .is_error());
    net.run_for(2000);
    assert_eq!(net.nodes[0].nodes[&net.id(3)].replica_of, Some(net.id(2)));
    net
}

#[test]
fn a_master_votes_once_per_epoch_for_a_replica_of_a_failed_master() {
    let mut net = three_masters_and_a_replica_of_node_2();
    let info = net.link_info(0, 1);
    let (now, random) = (net.now_ms, net.random);

    // Its master is up: no vote.
    let epoch = net.nodes[0].current_epoch + 1;
    let request = auth_request(&net, epoch);
    net.nodes[0].handle_message(&info, request, now, random);
    assert!(
        acks_sent(&mut net, 0).is_empty(),
        "a vote while the master is up"
    );

    // The master fails: a vote, once for this epoch, and none for the master's slots to a
    // request whose config epoch is older than the owner's.
    net.down[2] = true;
    net.cut_off(2);
    // The replica itself stays out: its own election would take the votes this test forges.
    net.down[3] = true;
    net.cut_off(3);
    net.run_for(TIMEOUT_MS * 4);
    assert!(net.flags_of(0, 2) & flags::FAIL != 0);
    let now = net.now_ms;
    let epoch = net.nodes[0].current_epoch + 1;
    let mut stale = auth_request(&net, epoch);
    stale.header.config_epoch = 2;
    net.nodes[0].handle_message(&info, stale, now, random);
    assert!(
        acks_sent(&mut net, 0).is_empty(),
        "a vote for a stale config epoch"
    );
    let request = auth_request(&net, epoch);
    net.nodes[0].handle_message(&info, request, now, random);
    assert_eq!(acks_sent(&mut net, 0), vec![Dest::Node(net.id(3))]);
    assert_eq!(net.nodes[0].last_vote_epoch, epoch);
    let request = auth_request(&net, epoch);
    net.nodes[0].handle_message(&info, request, now, random);
    assert!(acks_sent(&mut net, 0).is_empty(), "two votes in one epoch");
    // A later epoch, too soon (two node timeouts) after the vote for this master: none.
    let request = auth_request(&net, epoch + 1);
    net.nodes[0].handle_message(&info, request, now + 100, random);
    assert!(
        acks_sent(&mut net, 0).is_empty(),
        "a second vote for one master too soon"
    );
}

#[test]
fn a_replica_of_a_failed_master_wins_an_election_and_takes_its_slots() {
    let mut net = three_masters_and_a_replica_of_node_2();
    let (replica, failed) = (net.id(3), net.id(2));
    net.down[2] = true;
    net.cut_off(2);
    net.run_for(TIMEOUT_MS * 6);
    for node in [0, 1, 3] {
        let state = &net.nodes[node];
        let promoted = &state.nodes[&replica];
        assert!(
            promoted.is_master() && promoted.replica_of.is_none(),
            "node {node} sees the replica as a master"
        );
        assert!(
            (10923..16384).all(|slot| state.slots[slot] == Some(replica)),
            "node {node}: the failed master's slots belong to the replica"
        );
        assert!(
            promoted.config_epoch > 3,
            "node {node}: the winner's config epoch {} is above every other",
            promoted.config_epoch
        );
        assert_eq!(state.nodes[&failed].slot_count(), 0, "node {node}");
    }
    assert!(net.nodes[3].state_ok, "the cluster is ok on the new master");
    // Exactly one election won: both masters voted once.
    assert_eq!(net.nodes[0].last_vote_epoch, net.nodes[1].last_vote_epoch);

    // The failed master comes back: its stale claim is answered, and it replicates the winner.
    net.down[2] = false;
    net.run_for(TIMEOUT_MS * 4);
    let back = &net.nodes[2];
    assert_eq!(
        back.me().replica_of,
        Some(replica),
        "the old master's master"
    );
    assert!(back.me().has(flags::SLAVE), "the old master is a replica");
    assert_eq!(
        net.nodes[0].nodes[&failed].replica_of,
        Some(replica),
        "the others see the old master replicate the winner"
    );
}

/// CLUSTER FAILOVER on a replica whose master is up: FORCE wins an election (the masters vote
/// because the request carries FORCEACK), TAKEOVER takes the slots without one; either way the
/// old master becomes the new one's replica. On a master it is refused with Redis's error.
#[test]
fn cluster_failover_force_and_takeover_promote_the_replica() {
    for option in ["FORCE", "TAKEOVER"] {
        let mut net = three_masters_and_a_replica_of_node_2();
        let (replica, old) = (net.id(3), net.id(2));
        let refused = net.command(2, &["CLUSTER", "FAILOVER", option]);
        assert_eq!(
            refused,
            crate::protocol::Reply::error("ERR You should send CLUSTER FAILOVER to a replica"),
            "{option} on a master"
        );
        let accepted = net.command(3, &["CLUSTER", "FAILOVER", option]);
        assert_eq!(
            accepted,
            crate::protocol::Reply::ok(),
            "{option} on the replica"
        );
        net.run_for(TIMEOUT_MS * 2);
        for node in 0..4 {
            let state = &net.nodes[node];
            assert!(
                (10923..16384).all(|slot| state.slots[slot] == Some(replica)),
                "{option}: node {node} gives the slots to the replica"
            );
        }
        assert_eq!(
            net.nodes[2].me().replica_of,
            Some(replica),
            "{option}: the old master replicates the new one"
        );
        assert_eq!(
            net.nodes[0].nodes[&old].replica_of,
            Some(replica),
            "{option}: node 0 sees the old master as a replica"
        );
        let voted = net.nodes[0].last_vote_epoch != 0;
        assert_eq!(voted, option == "FORCE", "{option}: node 0 voted");
    }
}

/// CLUSTER FAILOVER with no option: the replica sends MFSTART, its master pauses writes and
/// reports its offset with the PAUSED flag; the replica waits until it applied that much, then
/// wins a FORCEACK election, and the old master (a replica now) lifts its pause.
#[test]
fn a_coordinated_manual_failover_waits_for_the_replica_to_catch_up() {
    let mut net = three_masters_and_a_replica_of_node_2();
    let (replica, old) = (net.id(3), net.id(2));
    net.nodes[2].me_mut().repl_offset = 5000;
    net.nodes[3].me_mut().repl_offset = 4000;
    let accepted = net.command(3, &["CLUSTER", "FAILOVER"]);
    assert_eq!(accepted, crate::protocol::Reply::ok());
    assert_eq!(
        net.nodes[2].manual.replica,
        Some(replica),
        "the master heard MFSTART"
    );
    let pause_end = net.now_ms + super::state::MANUAL_FAILOVER_MS * 2;
    assert_eq!(
        net.pauses[2],
        vec![pause_end],
        "the master paused its writes"
    );

    // Behind the master: no election, however long it waits within the time allowed.
    net.run_for(1000);
    assert_eq!(
        net.nodes[3].manual.master_offset,
        Some(5000),
        "the paused master's offset reached the replica"
    );
    assert!(
        (10923..16384).all(|slot| net.nodes[0].slots[slot] == Some(old)),
        "no failover before the replica caught up"
    );
    assert_eq!(net.nodes[0].last_vote_epoch, 0, "no vote asked for yet");

    // Caught up: the election runs at once and wins.
    net.nodes[3].me_mut().repl_offset = 5000;
    net.run_for(1000);
    for node in 0..4 {
        assert!(
            (10923..16384).all(|slot| net.nodes[node].slots[slot] == Some(replica)),
            "node {node} gives the slots to the replica"
        );
    }
    assert_eq!(
        net.nodes[2].me().replica_of,
        Some(replica),
        "the old master replicates"
    );
    assert_eq!(net.pauses[2], vec![pause_end, 0], "and its writes resume");
    assert!(net.nodes[0].last_vote_epoch != 0, "node 0 voted");
    assert_eq!(
        net.nodes[3].manual.end_ms, 0,
        "the replica's failover state is reset"
    );
}

/// A coordinated failover whose replica never catches up gives up after MANUAL_FAILOVER_MS:
/// nothing moves, and the master's writes resume.
#[test]
fn a_coordinated_manual_failover_times_out_when_the_replica_lags() {
    let mut net = three_masters_and_a_replica_of_node_2();
    let old = net.id(2);
    net.nodes[2].me_mut().repl_offset = 5000;
    net.nodes[3].me_mut().repl_offset = 4000;
    net.command(3, &["CLUSTER", "FAILOVER"]);
    net.run_for(super::state::MANUAL_FAILOVER_MS + 500);
    assert!(
        (10923..16384).all(|slot| net.nodes[3].slots[slot] == Some(old)),
        "the slots stay with the master"
    );
    assert_eq!(net.nodes[2].manual.end_ms, 0, "the master gave up");
    assert_eq!(net.nodes[3].manual.end_ms, 0, "the replica gave up");
    assert_eq!(net.pauses[2].last(), Some(&0), "the master's writes resume");
    assert!(net.nodes[2].me().is_master(), "and it is still the master");
}

/// A replica whose data is older than `cluster-replica-validity-factor` allows does not stand
/// for election when its master fails (the slots stay uncovered); with the factor at 0 it does,
/// and wins.
#[test]
fn a_replica_with_stale_data_does_not_stand_for_election() {
    let mut net = three_masters_and_a_replica_of_node_2();
    let (replica, failed) = (net.id(3), net.id(2));
    net.nodes[3].settings.replica_validity_factor = 1;
    net.down[2] = true;
    net.cut_off(2);
    // Its link went down a minute ago: 60 s - node timeout > ping period + 1 x node timeout.
    net.nodes[3].master_heard_ms = net.now_ms - 60_000;
    net.run_for(TIMEOUT_MS * 6);
    assert!(
        net.nodes[0].nodes[&failed].has(flags::FAIL),
        "the master is FAIL"
    );
    assert!(
        (10923..16384).all(|slot| net.nodes[0].slots[slot] == Some(failed)),
        "no failover with stale data"
    );
    assert_eq!(net.nodes[0].last_vote_epoch, 0, "no vote was asked for");

    net.nodes[3].settings.replica_validity_factor = 0;
    net.run_for(TIMEOUT_MS * 4);
    assert!(
        (10923..16384).all(|slot| net.nodes[0].slots[slot] == Some(replica)),
        "with the check off the replica takes the slots"
    );
}

/// `cluster-replica-no-failover`: the replica's flags say `nofailover` to every node, and when
/// its master fails it does not run an election; CLUSTER FAILOVER FORCE still works.
#[test]
fn a_replica_set_not_to_fail_over_waits_for_a_manual_failover() {
    let mut net = three_masters_and_a_replica_of_node_2();
    let (replica, failed) = (net.id(3), net.id(2));
    net.nodes[3].settings.replica_no_failover = true;
    net.run_for(2000);
    assert!(
        net.flags_of(0, 3) & flags::NOFAILOVER != 0,
        "node 0 sees the replica's nofailover flag"
    );
    net.down[2] = true;
    net.cut_off(2);
    net.run_for(TIMEOUT_MS * 6);
    assert!(net.flags_of(0, 2) & flags::FAIL != 0, "the master is FAIL");
    assert!(
        (10923..16384).all(|slot| net.nodes[0].slots[slot] == Some(failed)),
        "no automatic failover"
    );
    assert_eq!(net.nodes[0].last_vote_epoch, 0, "no vote was asked for");
    assert_eq!(
        net.command(3, &["CLUSTER", "FAILOVER", "FORCE"]),
        crate::protocol::Reply::ok()
    );
    net.run_for(TIMEOUT_MS * 2);
    assert!(
        (10923..16384).all(|slot| net.nodes[0].slots[slot] == Some(replica)),
        "the forced failover takes the slots"
    );
}
