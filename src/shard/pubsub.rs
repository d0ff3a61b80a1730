//! Pub/Sub on one core: who on this core listens to which channel, pattern
//! or shard channel, and each listener's queue of messages.
//!
//! A client's subscriptions live on the core that accepted it. PUBLISH
//! reaches every core (each delivers to its own subscribers and answers a
//! count); in cluster mode the bus carries it on to the other nodes. A
//! subscriber's connection task sleeps on its queue as well as on its
//! socket, and writes what is queued before any later reply, so messages
//! and replies reach the client in the order Redis would send them.

use super::clients::ClientHandle;
use crate::cluster::key_hash_slot;
use crate::command::glob;
use crate::config::OutputLimit;
use crate::protocol::Reply;
use crate::protocol::{args_of, to_owned_args, Arg};
use crate::warning;
use bytes::Bytes;
use hashbrown::{HashMap, HashSet};
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::task::{Poll, Waker};

/// The three kinds of subscription.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Channel,
    Pattern,
    Shard,
}

impl Kind {
    fn subscribe_word(self) -> &'static str {
        match self {
            Kind::Channel => "subscribe",
            Kind::Pattern => "psubscribe",
            Kind::Shard => "ssubscribe",
        }
    }

    fn unsubscribe_word(self) -> &'static str {
        match self {
            Kind::Channel => "unsubscribe",
            Kind::Pattern => "punsubscribe",
            Kind::Shard => "sunsubscribe",
        }
    }
}

/// A client's names of one kind, in the order it subscribed (UNSUBSCRIBE
/// with no argument answers in that order, as Redis does for patterns).
#[derive(Default)]
pub struct Names {
    order: Vec<Bytes>,
    members: HashSet<Bytes>,
}

impl Names {
    fn insert(&mut self, name: Bytes) -> bool {
        if self.members.insert(name.clone()) {
            self.order.push(name);
            true
        } else {
            false
        }
    }

    fn remove(&mut self, name: &Bytes) -> bool {
        if self.members.remove(name) {
            self.order.retain(|n| n != name);
            true
        } else {
            false
        }
    }

    fn len(&self) -> usize {
        self.order.len()
    }
}

/// One client's subscriptions and the messages waiting for it.
pub struct Subscriber {
    pub handle: Rc<ClientHandle>,
    channels: RefCell<Names>,
    patterns: RefCell<Names>,
    shard_channels: RefCell<Names>,
    queue: RefCell<VecDeque<Reply>>,
    queued_bytes: Cell<usize>,
    /// Since when (ms) more than the soft output limit has been queued.
    over_soft_since: Cell<Option<u64>>,
    waker: Cell<Option<Waker>>,
}

impl Subscriber {
    pub fn new(handle: Rc<ClientHandle>) -> Rc<Self> {
        Rc::new(Subscriber {
            handle,
            channels: RefCell::default(),
            patterns: RefCell::default(),
            shard_channels: RefCell::default(),
            queue: RefCell::default(),
            queued_bytes: Cell::new(0),
            over_soft_since: Cell::new(None),
            waker: Cell::new(None),
        })
    }

    fn set(&self, kind: Kind) -> &RefCell<Names> {
        match kind {
            Kind::Channel => &self.channels,
            Kind::Pattern => &self.patterns,
            Kind::Shard => &self.shard_channels,
        }
    }

    /// Channels plus patterns: the count SUBSCRIBE and friends report.
    pub fn count(&self) -> usize {
        self.channels.borrow().len() + self.patterns.borrow().len()
    }

    pub fn shard_count(&self) -> usize {
        self.shard_channels.borrow().len()
    }

    /// True while the client has any subscription (RESP2 subscribed mode).
    pub fn active(&self) -> bool {
        self.count() + self.shard_count() > 0
    }

    fn count_for(&self, kind: Kind) -> usize {
        match kind {
            Kind::Shard => self.shard_count(),
            _ => self.count(),
        }
    }

    pub fn members(&self, kind: Kind) -> Vec<Bytes> {
        self.set(kind).borrow().order.clone()
    }

    fn update_handle(&self) {
        self.handle.subscriptions.set((
            self.channels.borrow().len(),
            self.patterns.borrow().len(),
            self.shard_channels.borrow().len(),
        ));
    }

    /// Queues a message and wakes the connection. A subscriber that lets
    /// too much pile up is disconnected, as Redis does: past the hard
    /// limit, or past the soft one for longer than its seconds.
    pub fn push(&self, message: Reply, bytes: usize, limit: OutputLimit) {
        if self.handle.killed.get() {
            return;
        }
        let queued = self.queued_bytes.get() + bytes;
        if self.over_limit(queued as u64, limit) {
            warning!(
                "Client id={} addr={} scheduled to be closed for overcoming of output buffer limits.",
                self.handle.id,
                self.handle.addr
            );
            self.queue.borrow_mut().clear();
            self.queued_bytes.set(0);
            self.handle.kill();
        } else {
            self.queued_bytes.set(queued);
            self.queue.borrow_mut().push_back(message);
        }
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
    }

    /// Redis's checkClientOutputBufferLimits for `queued` bytes.
    fn over_limit(&self, queued: u64, limit: OutputLimit) -> bool {
        if limit.hard > 0 && queued >= limit.hard {
            return true;
        }
        if limit.soft == 0 || queued < limit.soft {
            self.over_soft_since.set(None);
            return false;
        }
        let now = crate::command::now_ms();
        match self.over_soft_since.get() {
            None => {
                self.over_soft_since.set(Some(now));
                false
            }
            Some(since) => now.saturating_sub(since) / 1000 > limit.soft_seconds,
        }
    }

    pub fn has_queued(&self) -> bool {
        !self.queue.borrow().is_empty()
    }

    /// Encodes every queued message into `out`.
    pub fn drain_into(&self, resp3: bool, out: &mut Vec<u8>) {
        let mut queue = self.queue.borrow_mut();
        for message in queue.drain(..) {
            message.encode(resp3, out);
        }
        self.queued_bytes.set(0);
        self.over_soft_since.set(None);
    }

    /// Resolves when a message is queued.
    pub async fn ready(&self) {
        std::future::poll_fn(|cx| {
            if self.has_queued() {
                Poll::Ready(())
            } else {
                self.waker.set(Some(cx.waker().clone()));
                Poll::Pending
            }
        })
        .await
    }
}

/// This core's subscriptions: each channel, pattern and shard channel with
/// its subscribers in the order they subscribed.
#[derive(Default)]
pub struct Registry {
    channels: HashMap<Bytes, Vec<Rc<Subscriber>>>,
    patterns: HashMap<Bytes, Vec<Rc<Subscriber>>>,
    shard_channels: HashMap<Bytes, Vec<Rc<Subscriber>>>,
    /// `client-output-buffer-limit pubsub`, as the core last read it.
    pub limit: Cell<OutputLimit>,
}

fn push_reply(word: &'static str, name: Option<Bytes>, count: usize) -> Reply {
    Reply::Push(vec![
        Reply::bulk_static(word),
        name.map_or(Reply::Nil, Reply::Bulk),
        Reply::Int(count as i64),
    ])
}

impl Registry {
    fn map(&mut self, kind: Kind) -> &mut HashMap<Bytes, Vec<Rc<Subscriber>>> {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shard_channels,
        }
    }

    fn map_ref(&self, kind: Kind) -> &HashMap<Bytes, Vec<Rc<Subscriber>>> {
        match kind {
            Kind::Channel => &self.channels,
            Kind::Pattern => &self.patterns,
            Kind::Shard => &self.shard_channels,
        }
    }

    /// SUBSCRIBE / PSUBSCRIBE / SSUBSCRIBE: one confirmation per name.
    pub fn subscribe(&mut self, who: &Rc<Subscriber>, kind: Kind, names: &[Bytes]) -> Vec<Reply> {
        names
            .iter()
            .map(|name| {
                // Arguments are slices of a whole read buffer: keep a copy.
                let name = Bytes::copy_from_slice(name);
                if who.set(kind).borrow_mut().insert(name.clone()) {
                    self.map(kind)
                        .entry(name.clone())
                        .or_default()
                        .push(who.clone());
                }
                who.update_handle();
                push_reply(kind.subscribe_word(), Some(name), who.count_for(kind))
            })
            .collect()
    }

    /// UNSUBSCRIBE and friends: the names given, or every subscription of
    /// that kind when none is. With nothing to drop, one confirmation with
    /// a null name.
    pub fn unsubscribe(&mut self, who: &Rc<Subscriber>, kind: Kind, names: &[Bytes]) -> Vec<Reply> {
        let names: Vec<Bytes> = if names.is_empty() {
            who.members(kind)
        } else {
            names.to_vec()
        };
        if names.is_empty() {
            return vec![push_reply(
                kind.unsubscribe_word(),
                None,
                who.count_for(kind),
            )];
        }
        names
            .into_iter()
            .map(|name| {
                self.remove(who, kind, &name);
                push_reply(kind.unsubscribe_word(), Some(name), who.count_for(kind))
            })
            .collect()
    }

    fn remove(&mut self, who: &Rc<Subscriber>, kind: Kind, name: &Bytes) {
        if who.set(kind).borrow_mut().remove(name) {
            let map = self.map(kind);
            if let Some(list) = map.get_mut(name) {
                list.retain(|s| !Rc::ptr_eq(s, who));
                if list.is_empty() {
                    map.remove(name);
                }
            }
        }
        who.update_handle();
    }

    /// Drops every subscription of a closing or RESET connection.
    pub fn forget(&mut self, who: &Rc<Subscriber>) {
        for kind in [Kind::Channel, Kind::Pattern, Kind::Shard] {
            for name in who.members(kind) {
                self.remove(who, kind, &name);
            }
        }
    }

    /// Delivers a message to this core's subscribers of `channel` and of
    /// the patterns that match it; returns how many received it.
    pub fn publish(&self, channel: &Bytes, message: &Bytes) -> usize {
        let bytes = channel.len() + message.len() + 32;
        let mut receivers = 0;
        if let Some(list) = self.channels.get(channel) {
            for subscriber in list {
                subscriber.push(
                    Reply::Push(vec![
                        Reply::bulk_static("message"),
                        Reply::Bulk(channel.clone()),
                        Reply::Bulk(message.clone()),
                    ]),
                    bytes,
                    self.limit.get(),
                );
            }
            receivers += list.len();
        }
        for (pattern, list) in &self.patterns {
            if !glob::matches(pattern, channel) {
                continue;
            }
            for subscriber in list {
                subscriber.push(
                    Reply::Push(vec![
                        Reply::bulk_static("pmessage"),
                        Reply::Bulk(pattern.clone()),
                        Reply::Bulk(channel.clone()),
                        Reply::Bulk(message.clone()),
                    ]),
                    bytes + pattern.len(),
                    self.limit.get(),
                );
            }
            receivers += list.len();
        }
        receivers
    }

    /// SPUBLISH's delivery on this core.
    pub fn publish_shard(&self, channel: &Bytes, message: &Bytes) -> usize {
        let Some(list) = self.shard_channels.get(channel) else {
            return 0;
        };
        for subscriber in list {
            subscriber.push(
                Reply::Push(vec![
                    Reply::bulk_static("smessage"),
                    Reply::Bulk(channel.clone()),
                    Reply::Bulk(message.clone()),
                ]),
                channel.len() + message.len() + 32,
                self.limit.get(),
            );
        }
        list.len()
    }

    /// Names with at least one subscriber, optionally matching `pattern`.
    pub fn names(&self, kind: Kind, pattern: Option<&[u8]>) -> Vec<Bytes> {
        self.map_ref(kind)
            .keys()
            .filter(|name| pattern.is_none_or(|p| glob::matches(p, name)))
            .cloned()
            .collect()
    }

    pub fn subscribers(&self, kind: Kind, name: &[u8]) -> usize {
        self.map_ref(kind).get(name).map_or(0, Vec::len)
    }

    /// Shard channels whose slot `keep` rejects lose their subscribers,
    /// who are told with `sunsubscribe` (the node stopped serving the slot).
    pub fn drop_shard_channels(&mut self, keep: impl Fn(u16) -> bool) {
        let gone: Vec<Bytes> = self
            .shard_channels
            .keys()
            .filter(|channel| !keep(key_hash_slot(channel)))
            .cloned()
            .collect();
        for channel in gone {
            let Some(list) = self.shard_channels.remove(&channel) else {
                continue;
            };
            for subscriber in list {
                subscriber.shard_channels.borrow_mut().remove(&channel);
                subscriber.update_handle();
                subscriber.push(
                    push_reply(
                        "sunsubscribe",
                        Some(channel.clone()),
                        subscriber.shard_count(),
                    ),
                    channel.len() + 32,
                    self.limit.get(),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    fn subscriber(id: u64) -> Rc<Subscriber> {
        let addr = SocketAddr::from(([127, 0, 0, 1], 1));
        Subscriber::new(Rc::new(ClientHandle::new(id, -1, addr, addr, 0)))
    }

    fn b(text: &str) -> Bytes {
        Bytes::copy_from_slice(text.as_bytes())
    }

    fn drained(who: &Subscriber) -> Vec<u8> {
        let mut out = Vec::new();
        who.drain_into(false, &mut out);
        out
    }

    #[test]
    fn subscribe_publish_and_unsubscribe_count_like_redis() {
        let mut registry = Registry::default();
        let alice = subscriber(1);
        let replies = registry.subscribe(&alice, Kind::Channel, &[b("a"), b("b"), b("a")]);
        let counts: Vec<_> = replies
            .iter()
            .map(|r| match r {
                Reply::Push(items) => items[2].clone(),
                _ => Reply::Nil,
            })
            .collect();
        assert_eq!(counts, vec![Reply::Int(1), Reply::Int(2), Reply::Int(2)]);
        registry.subscribe(&alice, Kind::Pattern, &[b("a*")]);
        assert_eq!(alice.count(), 3);
        assert_eq!(registry.publish(&b("a"), &b("hi")), 2);
        assert_eq!(
            drained(&alice),
            b"*3\r\n$7\r\nmessage\r\n$1\r\na\r\n$2\r\nhi\r\n*4\r\n$8\r\npmessage\r\n$2\r\na*\r\n$1\r\na\r\n$2\r\nhi\r\n"
        );
        assert_eq!(registry.publish(&b("zzz"), &b("hi")), 0);
        let replies = registry.unsubscribe(&alice, Kind::Channel, &[]);
        assert_eq!(replies.len(), 2);
        assert_eq!(registry.names(Kind::Channel, None).len(), 0);
        registry.forget(&alice);
        assert!(!alice.active());
        assert_eq!(registry.names(Kind::Pattern, None).len(), 0);
        assert_eq!(
            registry.unsubscribe(&alice, Kind::Pattern, &[]),
            vec![push_reply("punsubscribe", None, 0)]
        );
    }

    #[test]
    fn lost_slots_unsubscribe_their_shard_channels() {
        let mut registry = Registry::default();
        let bob = subscriber(2);
        registry.subscribe(&bob, Kind::Shard, &[b("{a}x"), b("{b}y")]);
        let slot_a = key_hash_slot(b"a");
        registry.drop_shard_channels(|slot| slot != slot_a);
        assert_eq!(registry.names(Kind::Shard, None), vec![b("{b}y")]);
        assert_eq!(bob.shard_count(), 1);
        assert_eq!(
            drained(&bob),
            b"*3\r\n$12\r\nsunsubscribe\r\n$4\r\n{a}x\r\n:1\r\n"
        );
    }

    #[test]
    fn a_slow_subscriber_is_disconnected_not_buffered_forever() {
        let registry = {
            let mut registry = Registry::default();
            registry.limit.set(OutputLimit {
                hard: 32 << 20,
                soft: 8 << 20,
                soft_seconds: 60,
            });
            let carol = subscriber(3);
            registry.subscribe(&carol, Kind::Channel, &[b("c")]);
            registry
        };
        let big = Bytes::from(vec![b'x'; 1024 * 1024]);
        for _ in 0..40 {
            registry.publish(&b("c"), &big);
        }
        let list = registry
            .channels
            .get(&b("c")[..])
            .cloned()
            .unwrap_or_default();
        assert!(list[0].handle.killed.get());
        assert!(list[0].queued_bytes.get() <= 32 << 20);
    }
}

// ---------------------------------------------------------------------------------------------
// The commands, run by the connection's task (the coordinator).

use super::conn::Conn;
use super::mesh::Op;
use super::Core;
use crate::cluster_bus::runtime::Publication;
use crate::command::errors;
use crate::command::keys::help_reply;
use crate::command::Coord;

const PUBSUB_HELP: &[&str] = &[
    "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
    "HELP",
    "    Prints this help.",
];

fn kind_arg(kind: Kind) -> Bytes {
    Bytes::from_static(match kind {
        Kind::Channel => b"c",
        Kind::Pattern => b"p",
        Kind::Shard => b"s",
    })
}

fn kind_of(arg: Option<&Arg<'_>>) -> Kind {
    match arg.map(|a| a.as_ref()) {
        Some(b"p") => Kind::Pattern,
        Some(b"s") => Kind::Shard,
        _ => Kind::Channel,
    }
}

/// On each core: deliver a publication (`c`|`s`, channel, message).
fn publish_local(core: &Core, argv: &[Arg<'_>]) -> Reply {
    let (Some(channel), Some(message)) = (argv.get(1), argv.get(2)) else {
        return Reply::Int(0);
    };
    let registry = core.pubsub.borrow();
    registry.limit.set(core.db.borrow().pubsub_limit);
    let receivers = match kind_of(argv.first()) {
        Kind::Shard => registry.publish_shard(&channel.to_bytes(), &message.to_bytes()),
        _ => registry.publish(&channel.to_bytes(), &message.to_bytes()),
    };
    Reply::Int(receivers as i64)
}

/// On each core: the names with subscribers (kind, optional pattern).
fn names_local(core: &Core, argv: &[Arg<'_>]) -> Reply {
    let pattern = argv.get(1).map(|p| p.as_ref());
    Reply::Array(
        core.pubsub
            .borrow()
            .names(kind_of(argv.first()), pattern)
            .into_iter()
            .map(Reply::Bulk)
            .collect(),
    )
}

/// On each core: the subscriber count of each name (kind, names...).
fn counts_local(core: &Core, argv: &[Arg<'_>]) -> Reply {
    let registry = core.pubsub.borrow();
    let kind = kind_of(argv.first());
    Reply::Array(
        argv.iter()
            .skip(1)
            .map(|name| Reply::Int(registry.subscribers(kind, name) as i64))
            .collect(),
    )
}

impl Conn {
    pub async fn pubsub_command(&mut self, coord: Coord, argv: &[Arg<'_>]) -> Reply {
        match coord {
            Coord::Subscribe => self.subscribe(Kind::Channel, &to_owned_args(&argv[1..])),
            Coord::Psubscribe => self.subscribe(Kind::Pattern, &to_owned_args(&argv[1..])),
            Coord::Ssubscribe => self.subscribe(Kind::Shard, &to_owned_args(&argv[1..])),
            Coord::Unsubscribe => self.unsubscribe(Kind::Channel, &to_owned_args(&argv[1..])),
            Coord::Punsubscribe => self.unsubscribe(Kind::Pattern, &to_owned_args(&argv[1..])),
            Coord::Sunsubscribe => self.unsubscribe(Kind::Shard, &to_owned_args(&argv[1..])),
            Coord::Publish => self.publish(false, argv).await,
            Coord::Spublish => self.publish(true, argv).await,
            _ => self.pubsub_introspect(argv).await,
        }
    }

    /// Writes every confirmation but the last, which is the reply.
    fn confirmations(&mut self, mut replies: Vec<Reply>) -> Reply {
        let last = replies.pop().unwrap_or(Reply::Nil);
        for reply in replies {
            self.write_extra(&reply);
        }
        last
    }

    fn subscribe(&mut self, kind: Kind, names: &[Bytes]) -> Reply {
        let handle = self.handle.clone();
        let who = self
            .subscriber
            .get_or_insert_with(|| Subscriber::new(handle))
            .clone();
        let replies = self.core.pubsub.borrow_mut().subscribe(&who, kind, names);
        self.confirmations(replies)
    }

    fn unsubscribe(&mut self, kind: Kind, names: &[Bytes]) -> Reply {
        let handle = self.handle.clone();
        let who = self
            .subscriber
            .get_or_insert_with(|| Subscriber::new(handle))
            .clone();
        let replies = self.core.pubsub.borrow_mut().unsubscribe(&who, kind, names);
        self.confirmations(replies)
    }

    /// Drops every subscription (connection closed, RESET).
    pub fn forget_subscriptions(&mut self) {
        self.stop_monitoring();
        if let Some(who) = self.subscriber.take() {
            self.core.pubsub.borrow_mut().forget(&who);
        }
    }

    /// PUBLISH / SPUBLISH: every core of this node delivers to its own
    /// subscribers; the reply counts them. In cluster mode the bus carries
    /// the message on to the other nodes.
    async fn publish(&mut self, shard: bool, argv: &[Arg<'_>]) -> Reply {
        // Copies: the arguments are slices of the connection's read buffer,
        // and subscribers may hold the message for a while.
        let channel = Bytes::copy_from_slice(&argv[1]);
        let message = Bytes::copy_from_slice(&argv[2]);
        let kind = if shard { Kind::Shard } else { Kind::Channel };
        let args = vec![kind_arg(kind), channel.clone(), message.clone()];
        let receivers: i64 = if self.core.cores() == 1 {
            match publish_local(&self.core, &args_of(&args)) {
                Reply::Int(n) => n,
                _ => 0,
            }
        } else {
            self.on_all(|| Op::Core(publish_local, args.clone()))
                .await
                .iter()
                .map(|r| if let Reply::Int(n) = r { *n } else { 0 })
                .sum()
        };
        if let Some(bus) = &self.core.shared.bus_publish {
            let _ = bus.send(Publication {
                shard,
                channel,
                message,
            });
        }
        Reply::Int(receivers)
    }

    async fn pubsub_introspect(&mut self, argv: &[Arg<'_>]) -> Reply {
        let sub = argv[1].to_ascii_uppercase();
        let argc = argv.len();
        match sub.as_slice() {
            b"HELP" if argc == 2 => help_reply(PUBSUB_HELP),
            b"CHANNELS" | b"SHARDCHANNELS" if argc <= 3 => {
                let kind = if sub == b"CHANNELS" {
                    Kind::Channel
                } else {
                    Kind::Shard
                };
                let mut args = vec![kind_arg(kind)];
                args.extend(argv.get(2).map(Arg::to_bytes));
                Reply::Array(self.union_of_names(args).await)
            }
            b"NUMPAT" if argc == 2 => Reply::Int(
                self.union_of_names(vec![kind_arg(Kind::Pattern)])
                    .await
                    .len() as i64,
            ),
            b"NUMPAT" => errors::wrong_arity("pubsub|numpat"),
            b"HELP" => errors::wrong_arity("pubsub|help"),
            b"NUMSUB" | b"SHARDNUMSUB" => {
                let kind = if sub == b"NUMSUB" {
                    Kind::Channel
                } else {
                    Kind::Shard
                };
                let mut args = vec![kind_arg(kind)];
                args.extend(argv[2..].iter().map(Arg::to_bytes));
                let parts = self.on_all(|| Op::Core(counts_local, args.clone())).await;
                let mut totals = vec![0i64; argc - 2];
                for part in parts {
                    if let Reply::Array(counts) = part {
                        for (total, count) in totals.iter_mut().zip(counts) {
                            if let Reply::Int(n) = count {
                                *total += n;
                            }
                        }
                    }
                }
                Reply::Array(
                    argv[2..]
                        .iter()
                        .zip(totals)
                        .flat_map(|(name, total)| [Reply::Bulk(name.to_bytes()), Reply::Int(total)])
                        .collect(),
                )
            }
            b"CHANNELS" | b"SHARDCHANNELS" => Reply::error_owned(format!(
                "ERR unknown subcommand or wrong number of arguments for '{}'. Try PUBSUB HELP.",
                String::from_utf8_lossy(&argv[1])
            )),
            _ => errors::unknown_subcommand("pubsub", &argv[1]),
        }
    }

    /// Distinct channels, patterns and shard channels with subscribers
    /// (INFO's pubsub_channels, pubsub_patterns, pubsubshard_channels).
    pub async fn pubsub_counts(&self) -> [usize; 3] {
        let mut counts = [0; 3];
        for (count, kind) in counts
            .iter_mut()
            .zip([Kind::Channel, Kind::Pattern, Kind::Shard])
        {
            *count = self.union_of_names(vec![kind_arg(kind)]).await.len();
        }
        counts
    }

    /// Distinct names with subscribers over every core.
    async fn union_of_names(&self, args: Vec<Bytes>) -> Vec<Reply> {
        let parts = self.on_all(|| Op::Core(names_local, args.clone())).await;
        let mut seen = HashSet::new();
        let mut names = Vec::new();
        for part in parts {
            if let Reply::Array(items) = part {
                for item in items {
                    if let Reply::Bulk(name) = &item {
                        if seen.insert(name.clone()) {
                            names.push(item);
                        }
                    }
                }
            }
        }
        names
    }
}

// ---------------------------------------------------------------------------------------------
// Keyspace notifications: published where the command ran, and carried to
// the other cores' subscribers in order by one task per core.

/// Messages for the other cores' subscribers and monitors, queued in
/// publication order.
#[derive(Default)]
pub struct NotifyOutbox {
    messages: VecDeque<Outgoing>,
    waker: Option<Waker>,
}

pub enum Outgoing {
    /// A keyspace event: channel and message.
    Event(Bytes, Bytes),
    /// A MONITOR line (see `monitor`).
    Monitor(Bytes),
}

impl Core {
    /// Publishes the keyspace events the last commands raised: to this
    /// core's subscribers now, to the other cores' through the notifier.
    pub fn publish_events(&self) {
        // After every command: nothing to do unless notifications are on,
        // an expiry was logged or a key is watched.
        {
            let db = self.db.borrow();
            if db.config.notify_flags == 0
                && db.events.is_empty()
                && db.keyspace.expired_log.is_none()
                && self.watches.borrow().is_empty()
            {
                return;
            }
        }
        let (events, flags) = {
            let mut db = self.db.borrow_mut();
            let watches = self.watches.borrow();
            // A watched key that expires makes its watchers' EXEC fail, as
            // Redis's signalModifiedKey on expiry does.
            for key in db.collect_expired(!watches.is_empty()) {
                watches.touch(&key);
            }
            if db.config.notify_flags == 0 {
                db.events.clear();
                return;
            }
            if db.events.is_empty() {
                return;
            }
            (std::mem::take(&mut db.events), db.config.notify_flags)
        };
        use crate::config::notify::{KEYEVENT, KEYSPACE};
        let mut messages = Vec::with_capacity(events.len() * 2);
        for (event, key) in events {
            if flags & KEYSPACE != 0 {
                let mut channel = b"__keyspace@0__:".to_vec();
                channel.extend_from_slice(&key);
                messages.push((Bytes::from(channel), Bytes::from_static(event.as_bytes())));
            }
            if flags & KEYEVENT != 0 {
                let channel = format!("__keyevent@0__:{event}");
                messages.push((Bytes::from(channel), key));
            }
        }
        {
            let registry = self.pubsub.borrow();
            registry.limit.set(self.db.borrow().pubsub_limit);
            for (channel, message) in &messages {
                registry.publish(channel, message);
            }
        }
        if self.cores() > 1 {
            for (channel, message) in messages {
                self.send_to_other_cores(Outgoing::Event(channel, message));
            }
        }
    }

    /// Queues a message for the notifier to carry to the other cores.
    pub fn send_to_other_cores(&self, message: Outgoing) {
        let mut outbox = self.notify_outbox.borrow_mut();
        outbox.messages.push_back(message);
        if let Some(waker) = outbox.waker.take() {
            waker.wake();
        }
    }
}

/// Carries this core's keyspace events and monitor lines to the other
/// cores, in order.
pub async fn notifier_loop(core: Rc<Core>) {
    loop {
        let batch: Vec<Outgoing> = std::future::poll_fn(|cx| {
            let mut outbox = core.notify_outbox.borrow_mut();
            if outbox.messages.is_empty() {
                outbox.waker = Some(cx.waker().clone());
                Poll::Pending
            } else {
                Poll::Ready(outbox.messages.drain(..).collect())
            }
        })
        .await;
        for other in (0..core.cores()).filter(|&c| c != core.id) {
            let ops = batch
                .iter()
                .map(|message| match message {
                    Outgoing::Event(channel, message) => Op::Core(
                        publish_local,
                        vec![kind_arg(Kind::Channel), channel.clone(), message.clone()],
                    ),
                    Outgoing::Monitor(line) => {
                        Op::Core(super::monitor::monitor_local, vec![line.clone()])
                    }
                })
                .collect();
            core.mesh().call(other, ops).await;
        }
    }
}
