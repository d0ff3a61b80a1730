//! CLUSTER on the shard side: what a shard core answers itself (KEYSLOT,
//! COUNTKEYSINSLOT, GETKEYSINSLOT, HELP, ASKING, READONLY, READWRITE), and
//! the hand-over of every other subcommand to the bus core, with the key
//! counts the bus cannot see.

use super::conn::Conn;
use super::mesh::Op;
use crate::cluster::{core_of_slot, key_hash_slot, SLOT_COUNT};
use crate::cluster_bus::commands::Context;
use crate::cluster_bus::runtime::BusRequest;
use crate::cluster_bus::state::BusSettings;
use crate::command::errors::NOT_INTEGER;
use crate::command::{keys, parse_int, Db};
use crate::protocol::Reply;
use crate::protocol::{to_owned_args, Arg};
use bytes::Bytes;

pub const CLUSTER_DISABLED: &str = "ERR This instance has cluster support disabled";

const HELP: &[&str] = &[
    "CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ADDSLOTS <slot> [<slot> ...]",
    "ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
    "BUMPEPOCH",
    "COUNT-FAILURE-REPORTS <node-id>",
    "COUNTKEYSINSLOT <slot>",
    "DELSLOTS <slot> [<slot> ...]",
    "DELSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
    "FAILOVER [FORCE|TAKEOVER]",
    "FLUSHSLOTS",
    "FORGET <node-id>",
    "GETKEYSINSLOT <slot> <count>",
    "INFO",
    "KEYSLOT <key>",
    "LINKS",
    "MEET <ip> <port> [<bus-port>]",
    "MYID",
    "NODES",
    "REPLICATE <node-id>",
    "RESET [HARD|SOFT]",
    "SET-CONFIG-EPOCH <epoch>",
    "SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)",
    "REPLICAS <node-id>",
    "SAVECONFIG",
    "SHARDS",
    "SLOTS",
    "HELP",
    "    Print this help.",
];

fn wrong_arity(sub: &str) -> Reply {
    Reply::error(format!(
        "ERR wrong number of arguments for 'cluster|{sub}' command"
    ))
}

fn slot_number(arg: &[u8]) -> Result<i64, Reply> {
    parse_int(arg).ok_or(Reply::error(NOT_INTEGER))
}

/// COUNTKEYSINSLOT on the core owning the slot: argv = [slot].
fn count_keys_in_slot(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    match parse_int(&argv[0]) {
        Some(slot) => Reply::Int(db.keyspace.slot_len(slot as u16) as i64),
        None => Reply::Int(0),
    }
}

/// GETKEYSINSLOT on the core owning the slot: argv = [slot, count].
fn get_keys_in_slot(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let (Some(slot), Some(count)) = (parse_int(&argv[0]), parse_int(&argv[1])) else {
        return Reply::Array(Vec::new());
    };
    let keys = db.keyspace.slot_keys(slot as u16, count as usize);
    Reply::Array(keys.into_iter().map(Reply::Bulk).collect())
}

impl Conn {
    pub async fn cluster(&mut self, argv: &[Arg<'_>]) -> Reply {
        let Some(bus) = self.core.shared.bus.clone() else {
            return Reply::error(CLUSTER_DISABLED);
        };
        let sub = String::from_utf8_lossy(&argv[1]).to_ascii_lowercase();
        match sub.as_str() {
            "help" if argv.len() == 2 => Reply::Array(
                HELP.iter()
                    .map(|line| Reply::Simple((*line).into()))
                    .collect(),
            ),
            "keyslot" if argv.len() == 3 => Reply::Int(key_hash_slot(&argv[2]) as i64),
            "countkeysinslot" if argv.len() == 3 => {
                let slot = match slot_number(&argv[2]) {
                    Ok(slot) if (0..SLOT_COUNT as i64).contains(&slot) => slot,
                    Ok(_) => return Reply::error("ERR Invalid slot"),
                    Err(error) => return error,
                };
                self.keys_in_slot(slot as u16).await
            }
            "getkeysinslot" if argv.len() == 4 => {
                let slot = match slot_number(&argv[2]) {
                    Ok(slot) => slot,
                    Err(error) => return error,
                };
                let Some(count) = parse_int(&argv[3]) else {
                    return Reply::error(NOT_INTEGER);
                };
                if count < 0 || !(0..SLOT_COUNT as i64).contains(&slot) {
                    return Reply::error("ERR Invalid slot or number of keys");
                }
                let core = core_of_slot(slot as u16, self.core.cores());
                let args = vec![argv[2].to_bytes(), argv[3].to_bytes()];
                self.on_core(core, Op::Db(get_keys_in_slot, args)).await
            }
            "help" | "keyslot" | "countkeysinslot" | "getkeysinslot" => wrong_arity(&sub),
            _ => self.ask_bus(bus, &sub, argv).await,
        }
    }

    async fn keys_in_slot(&self, slot: u16) -> Reply {
        let core = core_of_slot(slot, self.core.cores());
        let args = vec![Bytes::from(slot.to_string())];
        self.on_core(core, Op::Db(count_keys_in_slot, args)).await
    }

    /// Hands a subcommand to the bus core and installs the view it answers
    /// with, so this client's next command routes by the change.
    async fn ask_bus(&self, bus: flume::Sender<BusRequest>, sub: &str, argv: &[Arg<'_>]) -> Reply {
        let mut context = Context::default();
        if matches!(sub, "flushslots" | "reset" | "replicate") {
            let counts = self.on_all(|| Op::Db(keys::dbsize_local, vec![])).await;
            context.db_keys = counts
                .iter()
                .map(|r| if let Reply::Int(n) = r { *n as u64 } else { 0 })
                .sum();
        }
        let assigns_slot =
            sub == "setslot" && argv.len() >= 5 && argv[3].eq_ignore_ascii_case(b"node");
        if assigns_slot {
            if let Some(slot) = parse_int(&argv[2]).filter(|s| (0..SLOT_COUNT as i64).contains(s)) {
                if let Reply::Int(count) = self.keys_in_slot(slot as u16).await {
                    context.slot_keys = count as u64;
                }
            }
        }
        self.bus_round_trip(bus, to_owned_args(argv), context, None)
            .await
    }

    /// After a CONFIG SET of the announce settings: the bus core takes
    /// them (our next messages, nodes.conf and the view say them).
    pub(super) async fn announce_to_bus(&self) {
        let Some(bus) = self.core.shared.bus.clone() else {
            return;
        };
        let settings = BusSettings::from_config(&self.core.db.borrow().config);
        self.bus_round_trip(bus, Vec::new(), Context::default(), Some(settings))
            .await;
    }

    /// Sends a request to the bus core and installs the view it answers
    /// with on every core before the client hears the reply.
    async fn bus_round_trip(
        &self,
        bus: flume::Sender<BusRequest>,
        argv: Vec<Bytes>,
        context: Context,
        announce: Option<BusSettings>,
    ) -> Reply {
        let version_before = self.core.view.borrow().version;
        let (reply_tx, reply_rx) = flume::bounded(1);
        let request = BusRequest {
            argv,
            context,
            reply: reply_tx,
            announce,
        };
        if bus.send_async(request).await.is_err() {
            return Reply::error("ERR the cluster bus is not running");
        }
        match reply_rx.recv_async().await {
            Ok(answer) => {
                // Every core routes by the change before the client hears
                // of it: a new connection (on any core) must already see,
                // say, an IMPORTING slot that redis-cli just set.
                if answer.view.version > version_before {
                    let view = answer.view;
                    self.on_all(|| Op::InstallView(view.clone())).await;
                }
                answer.reply
            }
            Err(_) => Reply::error("ERR the cluster bus is not running"),
        }
    }
}

impl super::Core {
    /// Deletes this core's keys in `slots`, which the node lost to a node
    /// with a greater config epoch while it stays a master (Redis's dirty
    /// slots, `delKeysInSlot`): each goes to our replicas as DEL and
    /// touches its watchers, as Redis's deletions do.
    pub(super) fn drop_slots(&self, slots: &[u16]) {
        let mut db = self.db.borrow_mut();
        let mut deleted = 0;
        for &slot in slots {
            if core_of_slot(slot, self.shared.cores) != self.id {
                continue;
            }
            for key in db.keyspace.slot_keys(slot, usize::MAX) {
                if db.keyspace.remove(slot, &key).is_none() {
                    continue;
                }
                deleted += 1;
                if db.feed.is_on() {
                    db.feed.push(&[&b"DEL"[..], &key]);
                }
                self.watches.borrow().touch(&key);
            }
        }
        if deleted > 0 {
            self.shared.persistence.add_dirty(self.id, deleted);
            crate::verbose!("Deleted {deleted} keys of slots this node lost");
        }
    }
}
