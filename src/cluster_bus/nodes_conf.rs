//! nodes.conf in Redis's format: the CLUSTER NODES lines (no handshake
//! nodes) and a `vars currentEpoch N lastVoteEpoch N` line. Written
//! atomically: a temp file beside it, fsync, rename, fsync of the folder.

use super::state::{flags, parse_node_id, set_slot_bit, ClusterState, Node, NodeId};
use crate::cluster::SLOT_COUNT;
use std::io::Write;
use std::path::Path;

impl ClusterState {
    pub fn config_text(&self) -> String {
        let mut text = self.nodes_text(true);
        text.push_str(&format!(
            "vars currentEpoch {} lastVoteEpoch {}\n",
            self.current_epoch, self.last_vote_epoch
        ));
        text
    }

    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let text = self.config_text();
        let folder = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "nodes.conf".into());
        let temp = folder.join(format!("temp-{}-{name}", std::process::id()));
        {
            let mut file = std::fs::File::create(&temp)?;
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
        }
        std::fs::rename(&temp, path)?;
        if let Ok(dir) = std::fs::File::open(folder) {
            let _ = dir.sync_all();
        }
        Ok(())
    }

    /// Loads nodes.conf text; returns an error naming the line that is
    /// wrong. Links and timers start fresh.
    pub fn load_text(&mut self, text: &str, now_ms: u64) -> Result<(), String> {
        let mut myself: Option<NodeId> = None;
        let mut nodes = Vec::new();
        let mut pending_slots: Vec<(NodeId, usize, usize)> = Vec::new();
        let mut migrating = Vec::new();
        let mut importing = Vec::new();
        for (number, line) in text.lines().enumerate() {
            let bad = |why: &str| {
                format!("Unrecoverable error: corrupted cluster config file \"{line}\" (line {}): {why}", number + 1)
            };
            let fields: Vec<&str> = line.split(' ').filter(|f| !f.is_empty()).collect();
            if fields.is_empty() {
                continue;
            }
            if fields[0] == "vars" {
                for pair in fields[1..].chunks(2) {
                    let value = pair
                        .get(1)
                        .and_then(|v| v.parse::<u64>().ok())
                        .ok_or_else(|| bad("bad vars"))?;
                    match pair[0] {
                        "currentEpoch" => self.current_epoch = value,
                        "lastVoteEpoch" => self.last_vote_epoch = value,
                        _ => {}
                    }
                }
                continue;
            }
            if fields.len() < 8 {
                return Err(bad("too few fields"));
            }
            let id = parse_node_id(fields[0].as_bytes()).ok_or_else(|| bad("bad node id"))?;
            let mut node = Node::new(id, 0, now_ms);
            let (address, hostname) = match fields[1].split_once(',') {
                Some((address, hostname)) => (address, hostname),
                None => (fields[1], ""),
            };
            node.hostname = hostname.to_string();
            let (ip_port, cport) = address.split_once('@').ok_or_else(|| bad("no bus port"))?;
            let (ip, port) = ip_port.rsplit_once(':').ok_or_else(|| bad("no port"))?;
            node.ip = ip.to_string();
            node.port = port.parse().map_err(|_| bad("bad port"))?;
            node.cport = cport.parse().map_err(|_| bad("bad bus port"))?;
            for flag in fields[2].split(',') {
                node.flags |= match flag {
                    "myself" => flags::MYSELF,
                    "master" => flags::MASTER,
                    "slave" => flags::SLAVE,
                    "fail?" => flags::PFAIL,
                    "fail" => flags::FAIL,
                    "handshake" => flags::HANDSHAKE,
                    "noaddr" => flags::NOADDR,
                    "nofailover" => flags::NOFAILOVER,
                    _ => 0,
                };
            }
            if node.has(flags::MYSELF) {
                myself = Some(id);
            }
            if fields[3] != "-" {
                node.replica_of =
                    Some(parse_node_id(fields[3].as_bytes()).ok_or_else(|| bad("bad master id"))?);
            }
            node.config_epoch = fields[6].parse().map_err(|_| bad("bad config epoch"))?;
            node.pong_received_ms = now_ms;
            for slot in &fields[8..] {
                if let Some(inner) = slot.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
                    if let Some((number, to)) = inner.split_once("->-") {
                        let to = parse_node_id(to.as_bytes()).ok_or_else(|| bad("bad id"))?;
                        migrating.push((number.parse::<u16>().map_err(|_| bad("bad slot"))?, to));
                    } else if let Some((number, from)) = inner.split_once("-<-") {
                        let from = parse_node_id(from.as_bytes()).ok_or_else(|| bad("bad id"))?;
                        importing.push((number.parse::<u16>().map_err(|_| bad("bad slot"))?, from));
                    }
                    continue;
                }
                let (start, end) = match slot.split_once('-') {
                    Some((start, end)) => (start, end),
                    None => (*slot, *slot),
                };
                let start: usize = start.parse().map_err(|_| bad("bad slot"))?;
                let end: usize = end.parse().map_err(|_| bad("bad slot"))?;
                if start > end || end >= SLOT_COUNT {
                    return Err(bad("slot out of range"));
                }
                pending_slots.push((id, start, end));
            }
            nodes.push(node);
        }
        let myself =
            myself.ok_or("Unrecoverable error: no 'myself' node in the cluster config file")?;
        self.nodes.clear();
        self.myself = myself;
        for node in nodes {
            self.nodes.insert(node.id, node);
        }
        for (id, start, end) in pending_slots {
            for slot in start..=end {
                self.slots[slot] = Some(id);
                if let Some(node) = self.nodes.get_mut(&id) {
                    set_slot_bit(&mut node.slots, slot, true);
                }
            }
        }
        self.migrating = migrating.into_iter().collect();
        self.importing = importing.into_iter().collect();
        // Our own address and announced ports come from this run's config.
        let (port, cport) = (self.announced_port(), self.announced_cport());
        let (announce_ip, hostname) = (
            self.settings.announce_ip.clone(),
            self.settings.announce_hostname.clone(),
        );
        if let Some(me) = self.nodes.get_mut(&myself) {
            me.port = port;
            me.cport = cport;
            me.hostname = hostname;
            if !announce_ip.is_empty() {
                me.ip = announce_ip;
            }
            me.flags &= !(flags::PFAIL | flags::FAIL);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster_bus::state::BusSettings;

    fn settings(port: u16) -> BusSettings {
        BusSettings::for_tests(port, 15000)
    }

    #[test]
    fn a_saved_config_loads_back_the_same() {
        let mut state = ClusterState::new(settings(7000), 1);
        state.me_mut().ip = "127.0.0.1".into();
        for slot in (0..100).chain(200..201) {
            state.assign_slot(slot, state.myself);
        }
        let other = *b"0123456789012345678901234567890123456789";
        let mut node = Node::new(other, flags::MASTER, 1);
        node.ip = "127.0.0.1".into();
        node.port = 7001;
        node.cport = 17001;
        node.config_epoch = 3;
        state.add_node(node);
        state.assign_slot(5000, other);
        state.migrating.insert(7, other);
        state.current_epoch = 5;
        let text = state.config_text();
        assert!(text.contains(" myself,master - 0 0 0 connected 0-99 200 [7->-0123"));
        assert!(text.ends_with("vars currentEpoch 5 lastVoteEpoch 0\n"));

        let mut loaded = ClusterState::new(settings(7000), 1);
        loaded.load_text(&text, 1).expect("loads");
        assert_eq!(loaded.myself, state.myself);
        assert_eq!(loaded.current_epoch, 5);
        assert_eq!(loaded.slots[5000], Some(other));
        assert_eq!(loaded.slots[200], Some(state.myself));
        assert_eq!(loaded.slots[150], None);
        assert_eq!(loaded.migrating.get(&7), Some(&other));
        assert_eq!(loaded.nodes[&other].config_epoch, 3);
    }

    #[test]
    fn a_corrupt_config_names_the_line() {
        let mut state = ClusterState::new(settings(7000), 1);
        let error = state
            .load_text("abc :0@0 myself,master - 0 0 0 connected\n", 1)
            .expect_err("a short id is refused");
        assert!(error.contains("line 1"), "{error}");
    }
}
