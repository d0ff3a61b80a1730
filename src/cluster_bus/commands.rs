//! CLUSTER subcommands that read or change the bus state, and the text
//! formats tools parse (CLUSTER NODES, nodes.conf, CLUSTER INFO), byte for
//! byte as Redis 7.0.

use super::state::{flags, id_str, parse_node_id, slot_is_set, ClusterState, Node, NodeId};
use super::wire;
use crate::cluster::SLOT_COUNT;
use crate::protocol::Arg;
use crate::protocol::Reply;
use bytes::Bytes;

/// What the shard side measured for a command before handing it over.
#[derive(Debug, Clone, Copy, Default)]
pub struct Context {
    /// Keys in the whole node.
    pub db_keys: u64,
    /// Keys in the slot the command names (SETSLOT ... NODE).
    pub slot_keys: u64,
}

/// One outbound or inbound link, for CLUSTER LINKS.
#[derive(Debug, Clone)]
pub struct LinkReport {
    pub outbound: bool,
    pub node: String,
    pub created_ms: u64,
    pub send_buffer_bytes: u64,
}

fn text(arg: &[u8]) -> String {
    String::from_utf8_lossy(arg).into_owned()
}

fn wrong_arity(sub: &str) -> Reply {
    Reply::error(format!(
        "ERR wrong number of arguments for 'cluster|{}' command",
        sub.to_ascii_lowercase()
    ))
}

/// Parses a slot argument as Redis's getSlotOrReply.
pub fn parse_slot(arg: &[u8]) -> Result<usize, Reply> {
    match crate::command::parse_int(arg) {
        Some(slot) if (0..SLOT_COUNT as i64).contains(&slot) => Ok(slot as usize),
        _ => Err(Reply::error("ERR Invalid or out of range slot")),
    }
}

impl ClusterState {
    /// Runs `CLUSTER <sub> ...` (argv[0] is CLUSTER). `links` describes the
    /// runtime's links for CLUSTER LINKS.
    pub fn command(
        &mut self,
        argv: &[Arg<'_>],
        context: Context,
        links: &[LinkReport],
        now_ms: u64,
    ) -> Reply {
        let Some(sub) = argv.get(1) else {
            return Reply::error("ERR wrong number of arguments for 'cluster' command");
        };
        let sub = text(sub).to_ascii_lowercase();
        let args = &argv[2..];
        let reply = match (sub.as_str(), args.len()) {
            ("myid", 0) => Ok(Reply::Bulk(Bytes::copy_from_slice(&self.myself))),
            ("nodes", 0) => Ok(Reply::Verbatim(self.nodes_text(false))),
            ("slots", 0) => Ok(self.slots_reply()),
            ("shards", 0) => Ok(self.shards_reply()),
            ("info", 0) => Ok(Reply::Verbatim(self.info_text())),
            ("meet", 2 | 3) => self.meet(args, now_ms),
            ("addslots", n) if n > 0 => self.add_slots(args, false),
            ("delslots", n) if n > 0 => self.del_slots(args, false),
            ("addslotsrange", n) if n > 0 && n % 2 == 0 => self.add_slots(args, true),
            ("delslotsrange", n) if n > 0 && n % 2 == 0 => self.del_slots(args, true),
            ("flushslots", 0) => self.flush_slots(context),
            ("setslot", n) if n >= 2 => self.set_slot(args, context),
            ("forget", 1) => self.forget(&args[0], now_ms),
            ("reset", 0 | 1) => self.reset(args, context, now_ms),
            ("bumpepoch", 0) => Ok(self.bump_epoch()),
            ("set-config-epoch", 1) => self.set_config_epoch(&args[0]),
            ("count-failure-reports", 1) => self.count_failure_reports(&args[0]),
            ("links", 0) => Ok(links_reply(links)),
            ("saveconfig", 0) => {
                self.outbox.save_config = true;
                Ok(Reply::ok())
            }
            ("replicate", 1) => self.replicate(&args[0], context),
            ("replicas" | "slaves", 1) => self.replicas(&args[0]),
            ("failover", 0 | 1) => self.failover(args, now_ms),
            (
                "myid"
                | "nodes"
                | "slots"
                | "shards"
                | "info"
                | "meet"
                | "addslots"
                | "delslots"
                | "addslotsrange"
                | "delslotsrange"
                | "flushslots"
                | "setslot"
                | "forget"
                | "reset"
                | "bumpepoch"
                | "set-config-epoch"
                | "count-failure-reports"
                | "links"
                | "saveconfig"
                | "replicate"
                | "replicas"
                | "slaves"
                | "failover",
                _,
            ) => Err(wrong_arity(&sub)),
            _ => Err(Reply::error(format!(
                "ERR unknown subcommand '{}'. Try CLUSTER HELP.",
                text(&argv[1])
            ))),
        };
        reply.unwrap_or_else(|error| error)
    }

    fn meet(&mut self, args: &[Arg<'_>], now_ms: u64) -> Result<Reply, Reply> {
        let ip = text(&args[0]);
        let port = crate::command::parse_int(&args[1])
            .filter(|p| (0..=65535).contains(p))
            .ok_or_else(|| {
                Reply::error(format!(
                    "ERR Invalid base port specified: {}",
                    text(&args[1])
                ))
            })?;
        let cport = match args.get(2) {
            Some(arg) => crate::command::parse_int(arg)
                .filter(|p| (0..=65535).contains(p))
                .ok_or_else(|| {
                    Reply::error(format!("ERR Invalid bus port specified: {}", text(arg)))
                })?,
            None => port + 10000,
        };
        if cport > 65535 || !self.start_handshake(&ip, port as u16, cport as u16, now_ms) {
            return Err(Reply::error(format!(
                "ERR Invalid node address specified: {ip}:{}",
                text(&args[1])
            )));
        }
        Ok(Reply::ok())
    }

    /// The slots named by ADDSLOTS/DELSLOTS (or their RANGE forms), each once.
    fn slot_arguments(args: &[Arg<'_>], ranges: bool) -> Result<Vec<usize>, Reply> {
        let mut seen = vec![false; SLOT_COUNT];
        let mut slots = Vec::new();
        let mut add = |slot: usize| -> Result<(), Reply> {
            if std::mem::replace(&mut seen[slot], true) {
                return Err(Reply::error(format!(
                    "ERR Slot {slot} specified multiple times"
                )));
            }
            slots.push(slot);
            Ok(())
        };
        if ranges {
            for pair in args.chunks(2) {
                let (start, end) = (parse_slot(&pair[0])?, parse_slot(&pair[1])?);
                if start > end {
                    return Err(Reply::error(format!(
                        "ERR start slot number {start} is greater than end slot number {end}"
                    )));
                }
                for slot in start..=end {
                    add(slot)?;
                }
            }
        } else {
            let parsed: Vec<usize> = args
                .iter()
                .map(|a| parse_slot(a))
                .collect::<Result<_, _>>()?;
            for slot in parsed {
                add(slot)?;
            }
        }
        Ok(slots)
    }

    fn add_slots(&mut self, args: &[Arg<'_>], ranges: bool) -> Result<Reply, Reply> {
        if self.me().has(flags::SLAVE) {
            return Err(Reply::error("ERR Please use SETSLOT only with masters."));
        }
        let slots = Self::slot_arguments(args, ranges)?;
        if let Some(busy) = slots.iter().find(|s| self.slots[**s].is_some()) {
            return Err(Reply::error(format!("ERR Slot {busy} is already busy")));
        }
        for slot in slots {
            self.importing.remove(&(slot as u16));
            self.assign_slot(slot, self.myself);
        }
        Ok(Reply::ok())
    }

    fn del_slots(&mut self, args: &[Arg<'_>], ranges: bool) -> Result<Reply, Reply> {
        let slots = Self::slot_arguments(args, ranges)?;
        if let Some(free) = slots.iter().find(|s| self.slots[**s].is_none()) {
            return Err(Reply::error(format!(
                "ERR Slot {free} is already unassigned"
            )));
        }
        for slot in slots {
            self.unassign_slot(slot);
        }
        Ok(Reply::ok())
    }

    fn flush_slots(&mut self, context: Context) -> Result<Reply, Reply> {
        if context.db_keys != 0 {
            return Err(Reply::error(
                "ERR DB must be empty to perform CLUSTER FLUSHSLOTS.",
            ));
        }
        for slot in 0..SLOT_COUNT {
            if self.slots[slot] == Some(self.myself) {
                self.unassign_slot(slot);
            }
        }
        Ok(Reply::ok())
    }

    fn known_node(&self, arg: &[u8]) -> Result<NodeId, Reply> {
        parse_node_id(arg)
            .filter(|id| self.nodes.contains_key(id))
            .ok_or_else(|| Reply::error(format!("ERR I don't know about node {}", text(arg))))
    }

    fn set_slot(&mut self, args: &[Arg<'_>], context: Context) -> Result<Reply, Reply> {
        if self.me().has(flags::SLAVE) {
            return Err(Reply::error("ERR Please use SETSLOT only with masters."));
        }
        let slot = parse_slot(&args[0])?;
        let action = text(&args[1]).to_ascii_lowercase();
        let invalid = || {
            Reply::error(
                "ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP",
            )
        };
        match (action.as_str(), args.len()) {
            ("migrating", 3) => {
                if self.slots[slot] != Some(self.myself) {
                    return Err(Reply::error(format!(
                        "ERR I'm not the owner of hash slot {slot}"
                    )));
                }
                let target = self.known_node(&args[2])?;
                if !self.nodes[&target].is_master() {
                    return Err(Reply::error("ERR Target node is not a master"));
                }
                self.migrating.insert(slot as u16, target);
            }
            ("importing", 3) => {
                if self.slots[slot] == Some(self.myself) {
                    return Err(Reply::error(format!(
                        "ERR I'm already the owner of hash slot {slot}"
                    )));
                }
                let source = self.known_node(&args[2])?;
                if !self.nodes[&source].is_master() {
                    return Err(Reply::error("ERR Target node is not a master"));
                }
                self.importing.insert(slot as u16, source);
            }
            ("stable", 2) => {
                self.migrating.remove(&(slot as u16));
                self.importing.remove(&(slot as u16));
            }
            ("node", 3) => {
                let target = self.known_node(&args[2])?;
                if self.slots[slot] == Some(self.myself)
                    && target != self.myself
                    && context.slot_keys != 0
                {
                    return Err(Reply::error(format!(
                        "ERR Can't assign hashslot {slot} to a different node while I still hold keys for this hash slot."
                    )));
                }
                if context.slot_keys == 0 {
                    self.migrating.remove(&(slot as u16));
                }
                let was_importing = self.importing.contains_key(&(slot as u16));
                self.assign_slot(slot, target);
                if target == self.myself && was_importing {
                    self.importing.remove(&(slot as u16));
                    // The new owner takes a config epoch of its own so the
                    // others accept its claim (clusterBumpConfigEpochWithoutConsensus).
                    self.bump_epoch();
                    crate::notice!("configEpoch updated after importing slot {slot}");
                    let random = crate::command::now_us();
                    self.broadcast_pong(random);
                }
            }
            _ => return Err(invalid()),
        }
        self.outbox.save_config = true;
        self.outbox.view_changed = true;
        Ok(Reply::ok())
    }

    fn forget(&mut self, arg: &[u8], now_ms: u64) -> Result<Reply, Reply> {
        let id = parse_node_id(arg)
            .filter(|id| self.nodes.contains_key(id))
            .ok_or_else(|| Reply::error(format!("ERR Unknown node {}", text(arg))))?;
        if id == self.myself {
            return Err(Reply::error(
                "ERR I tried hard but I can't forget myself...",
            ));
        }
        if self.me().has(flags::SLAVE) && self.me().replica_of == Some(id) {
            return Err(Reply::error("ERR Can't forget my master!"));
        }
        self.blacklist
            .insert(id, now_ms + super::state::BLACKLIST_TTL_MS);
        self.delete_node(&id);
        Ok(Reply::ok())
    }

    fn reset(&mut self, args: &[Arg<'_>], context: Context, now_ms: u64) -> Result<Reply, Reply> {
        let hard = match args.first().map(|a| text(a).to_ascii_lowercase()) {
            None => false,
            Some(kind) if kind == "soft" => false,
            Some(kind) if kind == "hard" => true,
            Some(_) => return Err(Reply::error("ERR syntax error")),
        };
        if self.me().is_master() && context.db_keys != 0 {
            return Err(Reply::error(
                "ERR CLUSTER RESET can't be called with master nodes containing keys",
            ));
        }
        self.migrating.clear();
        self.importing.clear();
        for slot in 0..SLOT_COUNT {
            self.slots[slot] = None;
        }
        let others: Vec<NodeId> = self
            .nodes
            .keys()
            .filter(|id| **id != self.myself)
            .copied()
            .collect();
        for id in others {
            self.delete_node(&id);
        }
        let me = self.myself;
        let node = self.nodes.get_mut(&me).expect("myself is always known");
        *node.slots = [0; super::state::SLOT_BYTES];
        node.flags = (node.flags & !flags::SLAVE) | flags::MASTER;
        node.replica_of = None;
        if hard {
            self.current_epoch = 0;
            self.last_vote_epoch = 0;
            self.nodes.remove(&me);
            self.add_myself(super::state::random_node_id(), now_ms);
            let ip = self.settings.announce_ip.clone();
            let _ = ip;
        }
        self.outbox.save_config = true;
        self.outbox.view_changed = true;
        self.update_state(now_ms);
        Ok(Reply::ok())
    }

    /// CLUSTER BUMPEPOCH: a new config epoch unless ours is already the
    /// unique greatest.
    pub fn bump_epoch(&mut self) -> Reply {
        let max = self
            .nodes
            .values()
            .map(|n| n.config_epoch)
            .max()
            .unwrap_or(0);
        let mine = self.me().config_epoch;
        let unique_max = mine != 0
            && mine == max
            && self
                .nodes
                .values()
                .filter(|n| n.config_epoch == max)
                .count()
                == 1;
        if unique_max {
            return Reply::Simple(format!("STILL {mine}").into());
        }
        self.current_epoch += 1;
        let epoch = self.current_epoch;
        let me = self.myself;
        if let Some(node) = self.nodes.get_mut(&me) {
            node.config_epoch = epoch;
        }
        self.outbox.save_config = true;
        Reply::Simple(format!("BUMPED {epoch}").into())
    }

    fn set_config_epoch(&mut self, arg: &[u8]) -> Result<Reply, Reply> {
        let epoch = crate::command::parse_int(arg)
            .ok_or_else(|| Reply::error("ERR value is not an integer or out of range"))?;
        if epoch < 0 {
            return Err(Reply::error(format!(
                "ERR Invalid config epoch specified: {epoch}"
            )));
        }
        if self.nodes.len() > 1 {
            return Err(Reply::error(
                "ERR The user can assign a config epoch only when the node does not know any other node.",
            ));
        }
        if self.me().config_epoch != 0 {
            return Err(Reply::error("ERR Node config epoch is already non-zero"));
        }
        let me = self.myself;
        if let Some(node) = self.nodes.get_mut(&me) {
            node.config_epoch = epoch as u64;
        }
        self.current_epoch = self.current_epoch.max(epoch as u64);
        self.outbox.save_config = true;
        Ok(Reply::ok())
    }

    fn count_failure_reports(&mut self, arg: &[u8]) -> Result<Reply, Reply> {
        let id = parse_node_id(arg)
            .filter(|id| self.nodes.contains_key(id))
            .ok_or_else(|| Reply::error(format!("ERR Unknown node {}", text(arg))))?;
        Ok(Reply::Int(self.nodes[&id].fail_reports.len() as i64))
    }

    fn replicate(&mut self, arg: &[u8], context: Context) -> Result<Reply, Reply> {
        let master = parse_node_id(arg)
            .filter(|id| self.nodes.contains_key(id))
            .ok_or_else(|| Reply::error(format!("ERR Unknown node {}", text(arg))))?;
        if master == self.myself {
            return Err(Reply::error("ERR Can't replicate myself"));
        }
        if !self.nodes[&master].is_master() {
            return Err(Reply::error(
                "ERR I can only replicate a master, not a replica.",
            ));
        }
        let me = self.me();
        if me.is_master() && (me.slot_count() != 0 || context.db_keys != 0) {
            return Err(Reply::error(
                "ERR To set a master the node must be empty and without assigned slots.",
            ));
        }
        self.become_replica_of(master);
        Ok(Reply::ok())
    }

    /// CLUSTER FAILOVER [FORCE|TAKEOVER] on a replica, with Redis's checks
    /// and errors. FORCE runs an election at once (the masters vote though
    /// our master is up); TAKEOVER takes the slots without votes. With no
    /// option the master pauses its clients' writes until we caught up, then
    /// we run that election (`ManualFailover`).
    fn failover(&mut self, args: &[Arg<'_>], now_ms: u64) -> Result<Reply, Reply> {
        let option = args.first().map(|a| text(a).to_ascii_lowercase());
        let (force, takeover) = match option.as_deref() {
            None => (false, false),
            Some("force") => (true, false),
            Some("takeover") => (false, true),
            Some(_) => return Err(Reply::error(crate::command::errors::SYNTAX)),
        };
        let me = self.me();
        if me.is_master() {
            return Err(Reply::error(
                "ERR You should send CLUSTER FAILOVER to a replica",
            ));
        }
        let Some(master) = me.replica_of.and_then(|m| self.nodes.get(&m)) else {
            return Err(Reply::error(
                "ERR I'm a replica but my master is unknown to me",
            ));
        };
        let master_id = master.id;
        if !force && !takeover && (master.has(flags::FAIL) || !master.link_connected) {
            return Err(Reply::error(
                "ERR Master is down or failed, please use CLUSTER FAILOVER FORCE",
            ));
        }
        if takeover {
            self.reset_manual_failover();
            self.take_over(master_id, now_ms, now_ms);
        } else if force {
            self.reset_manual_failover();
            self.start_manual_election(now_ms);
            crate::warning!("Forced failover user request accepted.");
        } else {
            self.start_coordinated_failover(master_id, now_ms);
        }
        Ok(Reply::ok())
    }

    fn replicas(&self, arg: &[u8]) -> Result<Reply, Reply> {
        let master = parse_node_id(arg)
            .filter(|id| self.nodes.contains_key(id))
            .ok_or_else(|| Reply::error(format!("ERR Unknown node {}", text(arg))))?;
        if !self.nodes[&master].is_master() {
            return Err(Reply::error("ERR The specified node is not a master"));
        }
        let lines = self
            .nodes
            .values()
            .filter(|n| n.has(flags::SLAVE) && n.replica_of == Some(master))
            .map(|n| Reply::Bulk(Bytes::from(self.node_line(n, false))))
            .collect();
        Ok(Reply::Array(lines))
    }

    // -----------------------------------------------------------------------------------------
    // Text formats.

    fn flags_text(node: &Node) -> String {
        let names = [
            (flags::MYSELF, "myself"),
            (flags::MASTER, "master"),
            (flags::SLAVE, "slave"),
            (flags::PFAIL, "fail?"),
            (flags::FAIL, "fail"),
            (flags::HANDSHAKE, "handshake"),
            (flags::NOADDR, "noaddr"),
            (flags::NOFAILOVER, "nofailover"),
        ];
        let set: Vec<&str> = names
            .iter()
            .filter(|(bit, _)| node.has(*bit))
            .map(|(_, name)| *name)
            .collect();
        if set.is_empty() {
            "noflags".into()
        } else {
            set.join(",")
        }
    }

    /// One CLUSTER NODES line (without the newline). `for_config` adds what
    /// only nodes.conf keeps.
    pub fn node_line(&self, node: &Node, _for_config: bool) -> String {
        let mut line = format!("{} {}:{}@{}", node.id_str(), node.ip, node.port, node.cport);
        if !node.hostname.is_empty() {
            line.push(',');
            line.push_str(&node.hostname);
        }
        let master = match node.replica_of {
            Some(id) if node.has(flags::SLAVE) => id_str(&id).to_string(),
            _ => "-".into(),
        };
        let connected = node.has(flags::MYSELF) || node.link_connected;
        line.push_str(&format!(
            " {} {} {} {} {} {}",
            Self::flags_text(node),
            master,
            node.ping_sent_ms,
            node.pong_received_ms,
            self.node_epoch(node),
            if connected {
                "connected"
            } else {
                "disconnected"
            }
        ));
        if node.is_master() {
            for (start, end) in slot_ranges(|slot| slot_is_set(&node.slots, slot)) {
                if start == end {
                    line.push_str(&format!(" {start}"));
                } else {
                    line.push_str(&format!(" {start}-{end}"));
                }
            }
        }
        if node.has(flags::MYSELF) {
            for (slot, to) in &self.migrating {
                line.push_str(&format!(" [{slot}->-{}]", id_str(to)));
            }
            for (slot, from) in &self.importing {
                line.push_str(&format!(" [{slot}-<-{}]", id_str(from)));
            }
        }
        line
    }

    /// CLUSTER NODES, or nodes.conf's node lines (no handshake nodes).
    pub fn nodes_text(&self, for_config: bool) -> String {
        let mut text = String::new();
        for node in self.nodes.values() {
            if for_config && node.has(flags::HANDSHAKE) {
                continue;
            }
            text.push_str(&self.node_line(node, for_config));
            text.push('\n');
        }
        text
    }

    pub fn info_text(&self) -> String {
        let assigned = self.slots.iter().filter(|s| s.is_some()).count();
        let count_flag = |flag: u16| {
            self.slots
                .iter()
                .filter(|s| {
                    s.and_then(|id| self.nodes.get(&id))
                        .is_some_and(|n| n.has(flag))
                })
                .count()
        };
        let (pfail, fail) = (count_flag(flags::PFAIL), count_flag(flags::FAIL));
        let mut info = format!(
            "cluster_state:{}\r\ncluster_slots_assigned:{assigned}\r\ncluster_slots_ok:{}\r\n\
             cluster_slots_pfail:{pfail}\r\ncluster_slots_fail:{fail}\r\ncluster_known_nodes:{}\r\n\
             cluster_size:{}\r\ncluster_current_epoch:{}\r\ncluster_my_epoch:{}\r\n",
            if self.state_ok { "ok" } else { "fail" },
            assigned - pfail - fail,
            self.nodes.len(),
            self.size,
            self.current_epoch,
            self.node_epoch(self.me()),
        );
        for (stats, direction) in [
            (&self.stats_sent, "sent"),
            (&self.stats_received, "received"),
        ] {
            let mut total = 0;
            for (kind, count) in stats.iter().enumerate() {
                if *count == 0 {
                    continue;
                }
                total += count;
                info.push_str(&format!(
                    "cluster_stats_messages_{}_{direction}:{count}\r\n",
                    wire::type_name(kind as u16)
                ));
            }
            info.push_str(&format!("cluster_stats_messages_{direction}:{total}\r\n"));
        }
        info.push_str("total_cluster_links_buffer_limit_exceeded:0\r\n");
        info
    }

    /// A node as CLUSTER SLOTS lists it: endpoint, port, id, metadata.
    fn slots_node(&self, node: &Node) -> Reply {
        let mut metadata = Vec::new();
        if self.settings.preferred_endpoint != "ip" && !node.ip.is_empty() {
            metadata.push((Reply::bulk("ip"), Reply::bulk(node.ip.clone())));
        }
        if self.settings.preferred_endpoint != "hostname" && !node.hostname.is_empty() {
            metadata.push((Reply::bulk("hostname"), Reply::bulk(node.hostname.clone())));
        }
        Reply::Array(vec![
            Reply::bulk(self.endpoint_of(node)),
            Reply::Int(node.port as i64),
            Reply::Bulk(Bytes::copy_from_slice(&node.id)),
            Reply::Map(metadata),
        ])
    }

    fn replicas_of(&self, master: &NodeId) -> impl Iterator<Item = &Node> {
        let master = *master;
        self.nodes
            .values()
            .filter(move |n| n.has(flags::SLAVE) && n.replica_of == Some(master))
    }

    pub fn slots_reply(&self) -> Reply {
        let mut entries = Vec::new();
        for master in self.nodes.values().filter(|n| n.is_master()) {
            for (start, end) in slot_ranges(|slot| self.slots[slot] == Some(master.id)) {
                let mut entry = vec![
                    Reply::Int(start as i64),
                    Reply::Int(end as i64),
                    self.slots_node(master),
                ];
                for replica in self.replicas_of(&master.id) {
                    if !replica.has(flags::FAIL) {
                        entry.push(self.slots_node(replica));
                    }
                }
                entries.push((start, Reply::Array(entry)));
            }
        }
        entries.sort_by_key(|(start, _)| *start);
        Reply::Array(entries.into_iter().map(|(_, r)| r).collect())
    }

    fn shard_node(&self, node: &Node) -> Reply {
        let mut fields = vec![
            (
                Reply::bulk("id"),
                Reply::Bulk(Bytes::copy_from_slice(&node.id)),
            ),
            (Reply::bulk("port"), Reply::Int(node.port as i64)),
            (Reply::bulk("ip"), Reply::bulk(node.ip.clone())),
            (Reply::bulk("endpoint"), Reply::bulk(self.endpoint_of(node))),
        ];
        if !node.hostname.is_empty() {
            fields.push((Reply::bulk("hostname"), Reply::bulk(node.hostname.clone())));
        }
        let role = if node.has(flags::SLAVE) {
            "replica"
        } else {
            "master"
        };
        let health = if node.has(flags::FAIL) {
            "fail"
        } else {
            "online"
        };
        fields.extend([
            (Reply::bulk("role"), Reply::bulk(role)),
            (
                Reply::bulk("replication-offset"),
                Reply::Int(node.repl_offset as i64),
            ),
            (Reply::bulk("health"), Reply::bulk(health)),
        ]);
        Reply::Map(fields)
    }

    pub fn shards_reply(&self) -> Reply {
        let mut shards = Vec::new();
        for master in self.nodes.values().filter(|n| n.is_master()) {
            let mut slots = Vec::new();
            for (start, end) in slot_ranges(|slot| slot_is_set(&master.slots, slot)) {
                slots.push(Reply::Int(start as i64));
                slots.push(Reply::Int(end as i64));
            }
            let mut nodes = vec![self.shard_node(master)];
            nodes.extend(self.replicas_of(&master.id).map(|r| self.shard_node(r)));
            shards.push(Reply::Map(vec![
                (Reply::bulk("slots"), Reply::Array(slots)),
                (Reply::bulk("nodes"), Reply::Array(nodes)),
            ]));
        }
        Reply::Array(shards)
    }
}

fn links_reply(links: &[LinkReport]) -> Reply {
    Reply::Array(
        links
            .iter()
            .map(|link| {
                Reply::Map(vec![
                    (
                        Reply::bulk("direction"),
                        Reply::bulk(if link.outbound { "to" } else { "from" }),
                    ),
                    (Reply::bulk("node"), Reply::bulk(link.node.clone())),
                    (
                        Reply::bulk("create-time"),
                        Reply::Int(link.created_ms as i64),
                    ),
                    (Reply::bulk("events"), Reply::bulk("r")),
                    (
                        Reply::bulk("send-buffer-allocated"),
                        Reply::Int(link.send_buffer_bytes as i64),
                    ),
                    (
                        Reply::bulk("send-buffer-used"),
                        Reply::Int(link.send_buffer_bytes as i64),
                    ),
                ])
            })
            .collect(),
    )
}

/// Contiguous runs of slots for which `member` holds.
pub fn slot_ranges(member: impl Fn(usize) -> bool) -> Vec<(usize, usize)> {
    let mut ranges = Vec::new();
    let mut start = None;
    for slot in 0..=SLOT_COUNT {
        let inside = slot < SLOT_COUNT && member(slot);
        match (inside, start) {
            (true, None) => start = Some(slot),
            (false, Some(first)) => {
                ranges.push((first, slot - 1));
                start = None;
            }
            _ => {}
        }
    }
    ranges
}
