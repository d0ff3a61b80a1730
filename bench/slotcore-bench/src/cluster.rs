//! Hash slots, the client's slot map, and asking a node for it (CLUSTER SLOTS).

use crate::resp::{self, Value};
use std::io;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

pub const SLOT_COUNT: usize = 16384;

/// CRC16/XMODEM (polynomial 0x1021), the hash Redis Cluster uses for key slots.
pub fn crc16(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &byte in bytes {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// The slot of a key: only the part inside the first non-empty `{...}` is hashed, if any.
pub fn key_slot(key: &[u8]) -> u16 {
    let hashed = match key.iter().position(|&byte| byte == b'{') {
        Some(open) => match key[open + 1..].iter().position(|&byte| byte == b'}') {
            Some(length) if length > 0 => &key[open + 1..open + 1 + length],
            _ => key,
        },
        None => key,
    };
    crc16(hashed) % SLOT_COUNT as u16
}

/// Which node serves each slot, as indexes into `nodes`.
#[derive(Debug, Clone)]
pub struct SlotMap {
    pub nodes: Vec<SocketAddr>,
    pub owner: Vec<u16>,
    /// Whether the seed answered CLUSTER SLOTS (false: a standalone server owns everything).
    pub cluster: bool,
}

impl SlotMap {
    /// Every slot on one node: a standalone server, or a deliberately unknown map that MOVED
    /// replies will correct.
    pub fn single(node: SocketAddr, cluster: bool) -> SlotMap {
        SlotMap {
            nodes: vec![node],
            owner: vec![0; SLOT_COUNT],
            cluster,
        }
    }

    /// The index of `node`, adding it when new.
    pub fn node_index(&mut self, node: SocketAddr) -> u16 {
        match self.nodes.iter().position(|known| *known == node) {
            Some(index) => index as u16,
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u16
            }
        }
    }

    pub fn node_of_slot(&self, slot: u16) -> u16 {
        self.owner[slot as usize]
    }

    /// Replaces the owners with those of `fresh`, keeping this map's node indexes stable (open
    /// connections are indexed by them).
    pub fn absorb(&mut self, fresh: &SlotMap) {
        for slot in 0..SLOT_COUNT {
            let node = fresh.nodes[fresh.owner[slot] as usize];
            self.owner[slot] = self.node_index(node);
        }
        self.cluster = fresh.cluster;
    }
}

/// Resolves `host:port` to its first address.
pub fn resolve(host: &str, port: u16) -> io::Result<SocketAddr> {
    (host, port).to_socket_addrs()?.next().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("{host}:{port} did not resolve"),
        )
    })
}

/// Asks `node` for the slot map. A server without cluster support (an error reply) owns all
/// slots. Nodes with an empty address are at the address we reached `node` on.
pub fn discover(node: SocketAddr, timeout: Duration) -> io::Result<SlotMap> {
    let mut stream = TcpStream::connect_timeout(&node, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let reply = resp::call(&mut stream, &[b"CLUSTER", b"SLOTS"])?;
    slot_map_from_reply(&reply, node)
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// Builds a map from a CLUSTER SLOTS reply; slots no range covers stay with `seed`.
pub fn slot_map_from_reply(reply: &Value, seed: SocketAddr) -> io::Result<SlotMap> {
    let ranges = match reply {
        Value::Error(_) => return Ok(SlotMap::single(seed, false)),
        Value::Array(Some(ranges)) => ranges,
        other => return Err(invalid(format!("CLUSTER SLOTS answered {other:?}"))),
    };
    let mut map = SlotMap::single(seed, true);
    for range in ranges {
        let Value::Array(Some(fields)) = range else {
            return Err(invalid(format!("bad CLUSTER SLOTS range {range:?}")));
        };
        let (Some(Value::Integer(first)), Some(Value::Integer(last)), Some(master)) =
            (fields.first(), fields.get(1), fields.get(2))
        else {
            return Err(invalid(format!("bad CLUSTER SLOTS range {range:?}")));
        };
        let address = node_address(master, seed)?;
        let index = map.node_index(address);
        let first = (*first).clamp(0, SLOT_COUNT as i64 - 1) as usize;
        let last = (*last).clamp(0, SLOT_COUNT as i64 - 1) as usize;
        for slot in first..=last {
            map.owner[slot] = index;
        }
    }
    Ok(map)
}

fn node_address(node: &Value, seed: SocketAddr) -> io::Result<SocketAddr> {
    let Value::Array(Some(fields)) = node else {
        return Err(invalid(format!("bad CLUSTER SLOTS node {node:?}")));
    };
    let host = match fields.first() {
        Some(Value::Bulk(Some(host))) => String::from_utf8_lossy(host).into_owned(),
        _ => String::new(),
    };
    let Some(Value::Integer(port)) = fields.get(1) else {
        return Err(invalid(format!("bad CLUSTER SLOTS node {node:?}")));
    };
    let port = u16::try_from(*port).map_err(|_| invalid(format!("bad port {port}")))?;
    if host.is_empty() || host == "?" {
        return Ok(SocketAddr::new(seed.ip(), port));
    }
    resolve(&host, port)
}

/// Parses the address of a `MOVED`/`ASK` error text: `MOVED <slot> <host>:<port>`.
pub fn parse_redirect(text: &str) -> Option<(u16, String, u16)> {
    let mut words = text.split_ascii_whitespace();
    words.next()?;
    let slot = words.next()?.parse::<u16>().ok()?;
    let endpoint = words.next()?;
    let (host, port) = endpoint.rsplit_once(':')?;
    Some((slot, host.to_string(), port.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_match_redis() {
        // Values from the Redis Cluster specification and `CLUSTER KEYSLOT`.
        assert_eq!(crc16(b"123456789"), 0x31C3);
        assert_eq!(key_slot(b"foo"), 12182);
        assert_eq!(key_slot(b"{user1000}.following"), key_slot(b"user1000"));
        assert_eq!(key_slot(b"foo{}{bar}"), crc16(b"foo{}{bar}") % 16384);
        assert_eq!(key_slot(b"foo{{bar}}zap"), key_slot(b"{bar"));
        assert_eq!(key_slot(b"{}"), crc16(b"{}") % 16384);
    }

    #[test]
    fn builds_map_from_cluster_slots() {
        let seed: SocketAddr = "127.0.0.1:7000".parse().unwrap();
        let node = |port| {
            Value::Array(Some(vec![
                Value::Bulk(Some(b"".to_vec())),
                Value::Integer(port),
                Value::Bulk(Some(b"id".to_vec())),
            ]))
        };
        let reply = Value::Array(Some(vec![
            Value::Array(Some(vec![
                Value::Integer(0),
                Value::Integer(99),
                node(7001),
            ])),
            Value::Array(Some(vec![
                Value::Integer(100),
                Value::Integer(16383),
                node(7002),
            ])),
        ]));
        let map = slot_map_from_reply(&reply, seed).unwrap();
        assert!(map.cluster);
        assert_eq!(map.nodes[map.node_of_slot(5) as usize].port(), 7001);
        assert_eq!(map.nodes[map.node_of_slot(16383) as usize].port(), 7002);
        let standalone = slot_map_from_reply(&Value::Error("ERR no".into()), seed).unwrap();
        assert!(!standalone.cluster);
        assert_eq!(standalone.nodes, vec![seed]);
    }

    #[test]
    fn parses_redirects() {
        assert_eq!(
            parse_redirect("MOVED 3999 127.0.0.1:6381"),
            Some((3999, "127.0.0.1".to_string(), 6381))
        );
        assert_eq!(
            parse_redirect("ASK 1 ::1:7000"),
            Some((1, "::1".to_string(), 7000))
        );
        assert_eq!(parse_redirect("MOVED x"), None);
    }
}
