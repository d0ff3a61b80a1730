//! Set, sorted set and list commands whose keys live on several cores.
//! Under the keys' locks (see `locks`), the coordinator reads what it needs
//! from each core (a set travels as its DUMP payload, a sorted set's
//! members as a reply of members and scores), computes, and writes the
//! results back with ordinary shard functions, so the command is atomic for
//! every other client as it is in Redis.

use super::conn::Conn;
use super::coord::{is_payload, put_entry_local, read_entry_local};
use super::locks::Mode;
use crate::command::errors::{SYNTAX, WRONGTYPE};
use crate::command::sets::{self, SetOp};
use crate::command::zsets::{self, ZOp};
use crate::command::{dump, geo, keys, lists};
use crate::keyspace::ZSet;
use crate::keyspace::{rdb, Set, Value};
use crate::protocol::Reply;
use crate::protocol::{args_of, to_owned_args, Arg};
use bytes::Bytes;

fn key_argv(key: &Bytes) -> Vec<Bytes> {
    vec![Bytes::new(), key.clone()]
}

impl Conn {
    /// A key's type name under the transaction's locks ("none" if missing).
    async fn type_of(&self, transaction: u64, key: &Bytes) -> String {
        match self
            .locked(transaction, keys::type_, key_argv(key), key)
            .await
        {
            Reply::Simple(name) => name.into_owned(),
            _ => "none".into(),
        }
    }

    /// A set read from its core: None when missing, WRONGTYPE for others.
    async fn fetch_set(&self, transaction: u64, key: &Bytes) -> Result<Option<Set>, Reply> {
        let limits = dump::config_limits(&self.core.db.borrow().config);
        match self
            .locked(transaction, read_entry_local, key_argv(key), key)
            .await
        {
            Reply::Array(parts) if is_payload(&parts) => match parts.first() {
                Some(Reply::Bulk(payload)) => match rdb::load(payload, &limits) {
                    Ok(Value::Set(set)) => Ok(Some(*set)),
                    Ok(_) => Err(Reply::error(WRONGTYPE)),
                    Err(error) => Err(Reply::error(error.message())),
                },
                _ => Err(Reply::error(WRONGTYPE)),
            },
            Reply::Array(_) => Err(Reply::error(WRONGTYPE)),
            _ => Ok(None),
        }
    }

    /// SINTER, SUNION, SDIFF, their STORE forms (`store`) and SINTERCARD
    /// (`card`: the limit) over keys on several cores.
    pub async fn set_algebra(
        &self,
        argv: &[Arg<'_>],
        op: SetOp,
        store: bool,
        card: Option<usize>,
    ) -> Reply {
        let argv: &[Bytes] = &to_owned_args(argv);
        let (destination, sources) = if store {
            (Some(&argv[1]), &argv[2..])
        } else {
            (None, &argv[1..])
        };
        let mut locks: Vec<(&Bytes, Mode)> = sources.iter().map(|k| (k, Mode::Shared)).collect();
        if let Some(destination) = destination {
            locks.push((destination, Mode::Exclusive));
        }
        let (transaction, cores) = self.lock_keys(&locks).await;
        let reply = self
            .set_algebra_locked(transaction, sources, destination, op, card)
            .await;
        self.unlock(transaction, &cores).await;
        reply
    }

    async fn set_algebra_locked(
        &self,
        transaction: u64,
        sources: &[Bytes],
        destination: Option<&Bytes>,
        op: SetOp,
        card: Option<usize>,
    ) -> Reply {
        let mut sets_read = Vec::with_capacity(sources.len());
        for key in sources {
            match self.fetch_set(transaction, key).await {
                Ok(set) => sets_read.push(set),
                Err(reply) => return reply,
            }
        }
        let limits = dump::config_limits(&self.core.db.borrow().config);
        let members = sets::compute(op, sets_read, &limits);
        if let Some(limit) = card {
            return Reply::Int(members.len().min(limit) as i64);
        }
        let Some(destination) = destination else {
            return Reply::Set(members.into_iter().map(Reply::Bulk).collect());
        };
        if members.is_empty() {
            self.locked(
                transaction,
                keys::del_local,
                key_argv(destination),
                destination,
            )
            .await;
            return Reply::Int(0);
        }
        let mut result = Set::new();
        for member in &members {
            result.add(member, &limits);
        }
        let count = result.len() as i64;
        self.store_value(transaction, destination, &Value::Set(Box::new(result)))
            .await;
        Reply::Int(count)
    }

    pub async fn sintercard_cross(&self, argv: &[Arg<'_>]) -> Reply {
        let args = argv;
        let argv: &[Bytes] = &to_owned_args(args);
        match sets::parse_sintercard(args) {
            Ok((count, limit)) => {
                let keys: Vec<Bytes> = std::iter::once(Bytes::new())
                    .chain(argv[2..2 + count].iter().cloned())
                    .collect();
                self.set_algebra(&args_of(&keys), SetOp::Inter, false, Some(limit))
                    .await
            }
            Err(reply) => reply,
        }
    }

    /// SMOVE between cores: SREM on the source's core, SADD on the
    /// destination's, both under the two keys' locks.
    pub async fn smove_cross(&self, argv: &[Arg<'_>]) -> Reply {
        let args = argv;
        let argv: &[Bytes] = &to_owned_args(args);
        let (source, destination, member) = (&argv[1], &argv[2], &argv[3]);
        let (transaction, cores) = self
            .lock_keys(&[(source, Mode::Exclusive), (destination, Mode::Exclusive)])
            .await;
        let source_type = self.type_of(transaction, source).await;
        let destination_type = self.type_of(transaction, destination).await;
        let reply = if source_type == "none" {
            Reply::Int(0)
        } else if source_type != "set" || !matches!(destination_type.as_str(), "none" | "set") {
            Reply::error(WRONGTYPE)
        } else {
            // Each half raises its own events on its core, as Redis's SMOVE
            // does: srem (and del when the source empties), then sadd.
            let remove = vec![Bytes::new(), source.clone(), member.clone()];
            let removed = self
                .locked_as(transaction, Some("srem"), sets::srem, remove, source)
                .await;
            if removed == Reply::Int(1) {
                let add = vec![Bytes::new(), destination.clone(), member.clone()];
                self.locked_as(transaction, Some("sadd"), sets::sadd, add, destination)
                    .await;
                Reply::Int(1)
            } else {
                Reply::Int(0)
            }
        };
        self.unlock(transaction, &cores).await;
        reply
    }

    /// LMOVE (and RPOPLPUSH: `sides` None means RIGHT LEFT) between cores.
    pub async fn lmove_cross(&self, argv: &[Arg<'_>], rpoplpush: bool) -> Reply {
        let args = argv;
        let argv: &[Bytes] = &to_owned_args(args);
        let (from_left, to_left) = if rpoplpush {
            (false, true)
        } else {
            match (lists::parse_side(&argv[3]), lists::parse_side(&argv[4])) {
                (Some(from), Some(to)) => (from, to),
                _ => return Reply::error(SYNTAX),
            }
        };
        let (source, destination) = (&argv[1], &argv[2]);
        let (transaction, cores) = self
            .lock_keys(&[(source, Mode::Exclusive), (destination, Mode::Exclusive)])
            .await;
        let source_type = self.type_of(transaction, source).await;
        let destination_type = self.type_of(transaction, destination).await;
        let reply = if source_type == "none" {
            Reply::Nil
        } else if source_type != "list" || !matches!(destination_type.as_str(), "none" | "list") {
            Reply::error(WRONGTYPE)
        } else {
            // Each half raises its own events on its core: the pop (and del
            // when the source empties), then the push. Redis raises the push
            // first; on two cores the two arrive in either order anyway.
            let (pop, pop_name): (fn(&mut crate::command::Db, &[Arg<'_>]) -> Reply, _) =
                if from_left {
                    (lists::lpop, "lpop")
                } else {
                    (lists::rpop, "rpop")
                };
            let item = self
                .locked_as(transaction, Some(pop_name), pop, key_argv(source), source)
                .await;
            if let Reply::Bulk(value) = &item {
                let (push, push_name): (fn(&mut crate::command::Db, &[Arg<'_>]) -> Reply, _) =
                    if to_left {
                        (lists::lpush, "lpush")
                    } else {
                        (lists::rpush, "rpush")
                    };
                let argv = vec![Bytes::new(), destination.clone(), value.clone()];
                self.locked_as(transaction, Some(push_name), push, argv, destination)
                    .await;
            }
            item
        };
        self.unlock(transaction, &cores).await;
        reply
    }

    /// Replaces `destination` with `value` (no expiry) on its core, under
    /// the transaction's locks: a *STORE result travels as its DUMP payload.
    async fn store_value(&self, transaction: u64, destination: &Bytes, value: &Value) {
        let put = vec![
            Bytes::new(),
            destination.clone(),
            Bytes::from(rdb::dump(value)),
            Bytes::from_static(b"0"),
            Bytes::from_static(b"payload"),
        ];
        self.locked(transaction, put_entry_local, put, destination)
            .await;
    }

    /// LMPOP over keys on several cores: the first non-empty list in key
    /// order, all keys locked so none changes meanwhile.
    pub async fn lmpop_cross(&self, argv: &[Arg<'_>]) -> Reply {
        let args = argv;
        let argv: &[Bytes] = &to_owned_args(args);
        let (side_index, left, wanted) = match lists::parse_lmpop(args) {
            Ok(parsed) => parsed,
            Err(reply) => return reply,
        };
        let side: &'static [u8] = if left { b"LEFT" } else { b"RIGHT" };
        let keys = &argv[2..side_index];
        self.first_pop(("lmpop", lists::lmpop), keys, side, wanted.unwrap_or(1))
            .await
    }

    /// LMPOP / ZMPOP over keys of several cores, all locked: runs the
    /// one-key form (`1 key side COUNT count`, raising its events) on each
    /// key in order, and answers with the first that pops something.
    async fn first_pop(
        &self,
        (name, run): (&'static str, crate::command::ShardFn),
        keys: &[Bytes],
        side: &'static [u8],
        count: usize,
    ) -> Reply {
        let locks: Vec<(&Bytes, Mode)> = keys.iter().map(|k| (k, Mode::Exclusive)).collect();
        let (transaction, cores) = self.lock_keys(&locks).await;
        let count = Bytes::from(count.to_string());
        let mut reply = Reply::NilArray;
        for key in keys {
            let one = vec![
                Bytes::from_static(name.as_bytes()),
                Bytes::from_static(b"1"),
                key.clone(),
                Bytes::from_static(side),
                Bytes::from_static(b"COUNT"),
                count.clone(),
            ];
            let answer = self.locked_as(transaction, Some(name), run, one, key).await;
            if answer != Reply::NilArray {
                reply = answer;
                break;
            }
        }
        self.unlock(transaction, &cores).await;
        reply
    }

    /// A sorted set operation's source from its core (see
    /// `zsets::source_local`): None when missing, WRONGTYPE as an error.
    async fn fetch_source(
        &self,
        transaction: u64,
        key: &Bytes,
        zset_only: bool,
    ) -> Result<zsets::Source, Reply> {
        let kind = Bytes::from_static(if zset_only { b"zset" } else { b"any" });
        let argv = vec![Bytes::new(), key.clone(), kind];
        let reply = self
            .locked(transaction, zsets::source_local, argv, key)
            .await;
        zsets::source_from_reply(reply)
    }

    /// Replaces `destination` with a sorted set of `entries` (deletes it
    /// when there are none), under the transaction's locks; the count.
    async fn store_zset(
        &self,
        transaction: u64,
        destination: &Bytes,
        entries: Vec<(Bytes, f64)>,
        how: zsets::Build,
    ) -> i64 {
        if entries.is_empty() {
            self.locked(
                transaction,
                keys::del_local,
                key_argv(destination),
                destination,
            )
            .await;
            return 0;
        }
        let limits = dump::config_limits(&self.core.db.borrow().config);
        let zset = zsets::build(entries, how, &limits);
        let count = zset.len() as i64;
        self.store_value(transaction, destination, &Value::ZSet(zset))
            .await;
        count
    }

    /// ZUNION, ZINTER, ZDIFF, their STORE forms (`store`) and ZINTERCARD
    /// (`card`) over keys on several cores, checked in Redis's order:
    /// the key count, then the sources' types, then the options.
    pub async fn zset_algebra(&self, argv: &[Arg<'_>], op: ZOp, store: bool, card: bool) -> Reply {
        let args = argv;
        let argv: &[Bytes] = &to_owned_args(args);
        let numkeys_index = if store { 2 } else { 1 };
        let name = String::from_utf8_lossy(&argv[0]).to_ascii_lowercase();
        let numkeys = match zsets::parse_numkeys(args, numkeys_index, &name) {
            Ok(count) => count,
            Err(reply) => return reply,
        };
        let first_key = numkeys_index + 1;
        let sources = &argv[first_key..first_key + numkeys];
        let mut locks: Vec<(&Bytes, Mode)> = sources.iter().map(|k| (k, Mode::Shared)).collect();
        if store {
            locks.push((&argv[1], Mode::Exclusive));
        }
        let (transaction, cores) = self.lock_keys(&locks).await;
        let mut read = Vec::with_capacity(numkeys);
        let mut reply = None;
        for key in sources {
            match self.fetch_source(transaction, key, false).await {
                Ok(source) => read.push(source),
                Err(error) => {
                    reply = Some(error);
                    break;
                }
            }
        }
        let reply = match reply {
            Some(error) => error,
            None => match zsets::parse_op_options(
                &args[first_key + numkeys..],
                numkeys,
                op,
                store,
                card,
            ) {
                Err(error) => error,
                Ok(options) => {
                    let result = zsets::compute(op, read, &options);
                    if store {
                        Reply::Int(
                            self.store_zset(transaction, &argv[1], result, zsets::Build::AllAtOnce)
                                .await,
                        )
                    } else {
                        zsets::op_reply(result, &options, card)
                    }
                }
            },
        };
        self.unlock(transaction, &cores).await;
        reply
    }

    /// ZRANGESTORE with its source and destination on different cores.
    pub async fn zrangestore_cross(&self, argv: &[Arg<'_>]) -> Reply {
        let args = argv;
        let argv: &[Bytes] = &to_owned_args(args);
        let query = match zsets::parse_range(args, 2, true, None, None) {
            Ok(query) => query,
            Err(reply) => return reply,
        };
        let (destination, source) = (&argv[1], &argv[2]);
        let (transaction, cores) = self
            .lock_keys(&[(source, Mode::Shared), (destination, Mode::Exclusive)])
            .await;
        let reply = match self.fetch_source(transaction, source, true).await {
            Err(error) => error,
            Ok(entries) => {
                let limits = dump::config_limits(&self.core.db.borrow().config);
                let zset = ZSet::from_entries(entries.unwrap_or_default(), &limits);
                let selected = zsets::select(&zset, &query);
                Reply::Int(
                    self.store_zset(transaction, destination, selected, zsets::Build::InOrder)
                        .await,
                )
            }
        };
        self.unlock(transaction, &cores).await;
        reply
    }

    /// GEORADIUS and GEORADIUSBYMEMBER with STORE or STOREDIST, and
    /// GEOSEARCHSTORE, with the source and the destination on different
    /// cores: the search runs on the source's core, its result is stored
    /// on the destination's, both keys locked meanwhile.
    pub async fn geo_store_cross(&self, argv: &[Arg<'_>]) -> Reply {
        let (source, destination) = if argv[0].eq_ignore_ascii_case(b"geosearchstore") {
            (2, Some(1))
        } else {
            let options = if argv[0].eq_ignore_ascii_case(b"georadius") {
                6
            } else {
                5
            };
            (1, geo::store_key_position(argv, options))
        };
        let owned = to_owned_args(argv);
        let mut keys = vec![(&owned[source], Mode::Shared)];
        if let Some(destination) = destination {
            keys.push((&owned[destination], Mode::Exclusive));
        }
        let (transaction, cores) = self.lock_keys(&keys).await;
        let found = self
            .locked(
                transaction,
                geo::search_for_store,
                owned.clone(),
                &owned[source],
            )
            .await;
        let reply = match (geo::entries_from_reply(found), destination) {
            (Ok(entries), Some(destination)) => Reply::Int(
                self.store_zset(
                    transaction,
                    &owned[destination],
                    entries,
                    zsets::Build::AllAtOnce,
                )
                .await,
            ),
            (Ok(_), None) => Reply::error(SYNTAX),
            (Err(reply), _) => reply,
        };
        self.unlock(transaction, &cores).await;
        reply
    }

    /// ZMPOP over keys on several cores: the first non-empty sorted set in
    /// key order, all keys locked so none changes meanwhile.
    pub async fn zmpop_cross(&self, argv: &[Arg<'_>]) -> Reply {
        let args = argv;
        let argv: &[Bytes] = &to_owned_args(args);
        let (numkeys, max, count) = match zsets::parse_zmpop(args) {
            Ok(parsed) => parsed,
            Err(reply) => return reply,
        };
        let side: &'static [u8] = if max { b"MAX" } else { b"MIN" };
        let keys = &argv[2..2 + numkeys];
        self.first_pop(("zmpop", zsets::zmpop), keys, side, count)
            .await
    }
}
