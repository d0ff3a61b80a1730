//! Streams: the data of Redis's `t_stream.c` (stream.h).
//!
//! Entries live in nodes the way Redis keeps them in listpacks under a
//! radix tree: a node starts with the first entry appended to it (its
//! master id, and its field names, which later entries with the same
//! fields do not repeat), takes entries until it holds
//! `stream-node-max-entries` of them (live or deleted) or its listpack
//! would reach `stream-node-max-bytes`, and then a new node starts. A
//! deleted entry stays in its node, flagged, until the whole node goes.
//! Keeping Redis's nodes (and the size its listpack would have) is what
//! makes `XTRIM ... ~`, `XADD ... MAXLEN ~`, XINFO's `radix-tree-keys` and
//! DUMP's bytes come out as Redis's: they all depend on where the nodes
//! begin and end.
//!
//! Consumer groups keep Redis's fields too: the last delivered id, the
//! logical read counter (`entries-read`), the pending entries list (PEL)
//! and the consumers, each with its own PEL. Groups and consumers are
//! kept in byte order, as Redis's radix trees list them.

use super::listpack;
use super::packed::{self, Packed};
use bytes::Bytes;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// A stream entry id: milliseconds and a sequence number.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    pub const MAX: StreamId = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };

    pub const fn new(ms: u64, seq: u64) -> Self {
        StreamId { ms, seq }
    }

    pub fn is_zero(&self) -> bool {
        *self == StreamId::MIN
    }

    /// The next id (streamIncrID); None after the largest.
    pub fn incr(self) -> Option<StreamId> {
        if self.seq < u64::MAX {
            Some(StreamId::new(self.ms, self.seq + 1))
        } else if self.ms < u64::MAX {
            Some(StreamId::new(self.ms + 1, 0))
        } else {
            None
        }
    }

    /// The previous id (streamDecrID); None before 0-0.
    pub fn decr(self) -> Option<StreamId> {
        if self.seq > 0 {
            Some(StreamId::new(self.ms, self.seq - 1))
        } else if self.ms > 0 {
            Some(StreamId::new(self.ms - 1, u64::MAX))
        } else {
            None
        }
    }

    /// "ms-seq", as replies carry it.
    pub fn to_bytes(self) -> Bytes {
        Bytes::from(self.to_string())
    }

    /// Parses "ms-seq" or "ms" (then the sequence is `missing_seq`); no
    /// sign, no spaces, each part a whole u64 (streamGenericParseIDOrReply
    /// without its special forms).
    pub fn parse(text: &[u8], missing_seq: u64) -> Option<StreamId> {
        if text.len() > 127 {
            return None;
        }
        match text.iter().position(|&b| b == b'-') {
            None => Some(StreamId::new(parse_u64(text)?, missing_seq)),
            Some(dash) => Some(StreamId::new(
                parse_u64(&text[..dash])?,
                parse_u64(&text[dash + 1..])?,
            )),
        }
    }
}

/// Redis's string2ull: decimal digits only (a leading `+` or `-` is not a
/// number here), no overflow.
fn parse_u64(text: &[u8]) -> Option<u64> {
    if text.is_empty() || text.len() > 20 || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// The node limits, from `stream-node-max-bytes` and
/// `stream-node-max-entries` (0: no limit).
#[derive(Clone, Copy, Debug)]
pub struct NodeLimits {
    pub max_bytes: u64,
    pub max_entries: u64,
}

impl Default for NodeLimits {
    fn default() -> Self {
        NodeLimits {
            max_bytes: 4096,
            max_entries: 100,
        }
    }
}

/// The largest listpack a node may grow to (STREAM_LISTPACK_MAX_SIZE),
/// and the largest total of one entry's fields and values.
pub const LISTPACK_MAX_SIZE: u64 = 1 << 30;

/// One entry of a node, decoded from the node's bytes. `values` holds the
/// values alone when the entry has its node's field names (Redis's
/// SAMEFIELDS flag), else field, value, field, value..., each as a varint
/// length and its bytes.
#[derive(Clone, Copy, Debug)]
struct NodeEntry<'a> {
    id: StreamId,
    deleted: bool,
    same_fields: bool,
    /// Field/value pairs.
    fields: usize,
    values: &'a [u8],
    /// Where the entry's flags byte is in the node's bytes.
    at: usize,
}

impl NodeEntry<'_> {
    /// Redis's flags integer for this entry.
    fn flags(&self) -> i64 {
        i64::from(self.deleted) | (i64::from(self.same_fields) << 1)
    }
}

const DELETED: u8 = 1;
const SAME_FIELDS: u8 = 2;

/// A node: its entries packed one after the other in `data`, as compact
/// as a listpack (a flags byte, the id as two varints, the field count
/// when the fields are not the master's, the byte length of the items,
/// then each item as a varint length and its bytes), so a stream costs
/// about what Redis's listpacks cost, and no allocation per entry.
#[derive(Clone, Debug)]
struct Node {
    master: StreamId,
    master_fields: Packed,
    data: Vec<u8>,
    /// Where each entry starts in `data`: entries are found by binary
    /// search, and walked backwards, without decoding the whole node.
    offsets: Vec<u32>,
    /// The id of the node's last entry, live or deleted.
    last: StreamId,
    live: u64,
    deleted: u64,
    /// The bytes of the node's listpack except its header, its end byte
    /// and the live and deleted counters (which change size as they grow).
    body_bytes: u64,
}

/// Stream ids are u64 and go through `packed`'s usize varints.
const _: () = assert!(std::mem::size_of::<usize>() == 8);

fn push_varint(out: &mut Vec<u8>, value: u64) {
    packed::push_varint(out, value as usize);
}

fn read_varint(data: &[u8]) -> (u64, usize) {
    let (value, size) = packed::read_varint(data);
    (value as u64, size)
}

/// The entries of a node from byte `at` on, oldest first.
struct NodeEntries<'a> {
    node: &'a Node,
    at: usize,
}

impl<'a> Iterator for NodeEntries<'a> {
    type Item = NodeEntry<'a>;

    fn next(&mut self) -> Option<NodeEntry<'a>> {
        let data = &self.node.data;
        let at = self.at;
        let flags = *data.get(at)?;
        let mut p = at + 1;
        let (ms, n) = read_varint(&data[p..]);
        p += n;
        let (seq, n) = read_varint(&data[p..]);
        p += n;
        let same_fields = flags & SAME_FIELDS != 0;
        let fields = if same_fields {
            self.node.master_fields.len()
        } else {
            let (count, n) = read_varint(&data[p..]);
            p += n;
            count as usize
        };
        let (length, n) = read_varint(&data[p..]);
        p += n;
        let values = &data[p..p + length as usize];
        self.at = p + length as usize;
        Some(NodeEntry {
            id: StreamId::new(self.node.master.ms.wrapping_add(ms), seq),
            deleted: flags & DELETED != 0,
            same_fields,
            fields,
            values,
            at,
        })
    }
}

impl Node {
    fn new(master: StreamId, master_fields: Packed) -> Node {
        let body_bytes = body_int(master_fields.len() as i64)
            + master_fields.iter().map(body_str).sum::<u64>()
            + body_int(0);
        Node {
            master,
            master_fields,
            data: Vec::new(),
            offsets: Vec::new(),
            last: master,
            live: 0,
            deleted: 0,
            body_bytes,
        }
    }

    fn entries(&self) -> NodeEntries<'_> {
        NodeEntries { node: self, at: 0 }
    }

    /// The entry at `index` (in entry order).
    fn entry_at(&self, index: usize) -> Option<NodeEntry<'_>> {
        let at = *self.offsets.get(index)? as usize;
        NodeEntries { node: self, at }.next()
    }

    /// The index of the first entry whose id is not below `id`.
    fn position(&self, id: StreamId) -> usize {
        self.offsets.partition_point(|&at| {
            NodeEntries {
                node: self,
                at: at as usize,
            }
            .next()
            .is_some_and(|e| e.id < id)
        })
    }

    /// The index of the first entry whose id is above `id`.
    fn position_after(&self, id: StreamId) -> usize {
        self.offsets.partition_point(|&at| {
            NodeEntries {
                node: self,
                at: at as usize,
            }
            .next()
            .is_some_and(|e| e.id <= id)
        })
    }

    /// The entry with this id, live or deleted.
    fn find(&self, id: StreamId) -> Option<NodeEntry<'_>> {
        self.entry_at(self.position(id)).filter(|e| e.id == id)
    }

    fn shrink(&mut self) {
        self.data.shrink_to_fit();
        self.offsets.shrink_to_fit();
    }

    /// Appends an entry (`values`: the values alone when `same_fields`)
    /// and accounts for its listpack bytes.
    fn push(&mut self, id: StreamId, deleted: bool, same_fields: bool, values: &[&[u8]]) {
        let at = self.data.len();
        self.offsets.push(at as u32);
        let flags = u8::from(deleted) * DELETED + u8::from(same_fields) * SAME_FIELDS;
        self.data.push(flags);
        push_varint(&mut self.data, id.ms.wrapping_sub(self.master.ms));
        push_varint(&mut self.data, id.seq);
        if !same_fields {
            push_varint(&mut self.data, (values.len() / 2) as u64);
        }
        let length: usize = values
            .iter()
            .map(|v| v.len() + packed::varint_bytes(v.len()))
            .sum();
        push_varint(&mut self.data, length as u64);
        for value in values {
            packed::push_entry(&mut self.data, value);
        }
        self.last = id;
        if deleted {
            self.deleted += 1;
        } else {
            self.live += 1;
        }
        let entry = NodeEntries { node: self, at }.next();
        if let Some(entry) = entry {
            self.body_bytes += self.entry_bytes(&entry);
        }
    }

    /// lpBytes of this node's listpack.
    fn listpack_bytes(&self) -> u64 {
        7 + body_int(self.live as i64) + body_int(self.deleted as i64) + self.body_bytes
    }

    /// The listpack bytes an entry takes in this node.
    fn entry_bytes(&self, entry: &NodeEntry<'_>) -> u64 {
        let mut bytes = body_int(entry.flags())
            + body_int(entry.id.ms.wrapping_sub(self.master.ms) as i64)
            + body_int(entry.id.seq.wrapping_sub(self.master.seq) as i64);
        if !entry.same_fields {
            bytes += body_int(entry.fields as i64);
        }
        bytes += packed::iter_raw(entry.values).map(body_str).sum::<u64>();
        bytes + body_int(lp_count(entry.same_fields, entry.fields))
    }

    /// The entry's field/value pairs.
    fn view<'a>(&'a self, entry: NodeEntry<'a>) -> EntryView<'a> {
        EntryView {
            id: entry.id,
            master_fields: entry.same_fields.then_some(&self.master_fields),
            values: entry.values,
            fields: entry.fields,
        }
    }

    /// The node as the items of its listpack (integers as decimal text),
    /// in Redis's layout: the master entry, then each entry.
    fn listpack_items(&self) -> Vec<Bytes> {
        let int = |v: i64| Bytes::from(v.to_string());
        let mut items = vec![
            int(self.live as i64),
            int(self.deleted as i64),
            int(self.master_fields.len() as i64),
        ];
        items.extend(self.master_fields.iter().map(Bytes::copy_from_slice));
        items.push(int(0));
        for entry in self.entries() {
            items.push(int(entry.flags()));
            items.push(int(entry.id.ms.wrapping_sub(self.master.ms) as i64));
            items.push(int(entry.id.seq.wrapping_sub(self.master.seq) as i64));
            if !entry.same_fields {
                items.push(int(entry.fields as i64));
            }
            items.extend(packed::iter_raw(entry.values).map(Bytes::copy_from_slice));
            items.push(int(lp_count(entry.same_fields, entry.fields)));
        }
        items
    }

    fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Node>()
            + self.master_fields.allocated_bytes()
            + self.data.capacity()
            + self.offsets.capacity() * 4
    }
}

/// An entry's lp-count: the listpack items it takes after its flags.
fn lp_count(same_fields: bool, fields: usize) -> i64 {
    let fields = fields as i64;
    if same_fields {
        fields + 3
    } else {
        fields * 2 + 4
    }
}

fn body_int(value: i64) -> u64 {
    listpack::int_entry_bytes(value) as u64
}

fn body_str(item: &[u8]) -> u64 {
    listpack::entry_bytes(item) as u64
}

/// One live entry, borrowed from its node.
#[derive(Clone, Copy)]
pub struct EntryView<'a> {
    pub id: StreamId,
    master_fields: Option<&'a Packed>,
    values: &'a [u8],
    fields: usize,
}

impl<'a> EntryView<'a> {
    /// The number of field/value pairs.
    pub fn len(&self) -> usize {
        self.fields
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Field, value, field, value... in the order they were added.
    pub fn items(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        let values = packed::iter_raw(self.values);
        let interleaved = self.master_fields.map(|fields| {
            fields
                .iter()
                .zip(values.clone())
                .flat_map(|(f, v)| [f, v].into_iter())
        });
        let plain = match interleaved {
            Some(_) => None,
            None => Some(values),
        };
        interleaved
            .into_iter()
            .flatten()
            .chain(plain.into_iter().flatten())
    }
}

/// What a trim removes (streamAddTrimArgs without the parsing).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrimStrategy {
    MaxLen(u64),
    MinId(StreamId),
}

/// A pending entry: delivered to `consumer`, not acknowledged yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nack {
    pub delivery_time: i64,
    pub delivery_count: u64,
    pub consumer: Bytes,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Consumer {
    /// When the consumer was last seen (ms).
    pub seen_time: i64,
    pub pel: BTreeSet<StreamId>,
}

/// SCG_INVALID_ENTRIES_READ: the group's read counter is unknown.
pub const ENTRIES_READ_UNKNOWN: i64 = -1;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub last_id: StreamId,
    /// The logical read counter, or ENTRIES_READ_UNKNOWN.
    pub entries_read: i64,
    pub pel: BTreeMap<StreamId, Nack>,
    pub consumers: BTreeMap<Bytes, Consumer>,
}

impl Group {
    pub fn new(last_id: StreamId, entries_read: i64) -> Self {
        Group {
            last_id,
            entries_read,
            pel: BTreeMap::new(),
            consumers: BTreeMap::new(),
        }
    }

    /// The consumer, created if missing (streamCreateConsumer); true when
    /// it was created.
    pub fn consumer_or_create(&mut self, name: &[u8], now_ms: i64) -> (&mut Consumer, bool) {
        let created = !self.consumers.contains_key(name);
        let consumer = self
            .consumers
            .entry(Bytes::copy_from_slice(name))
            .or_insert_with(|| Consumer {
                seen_time: now_ms,
                pel: BTreeSet::new(),
            });
        (consumer, created)
    }

    /// Removes a consumer and its pending entries from the group's PEL
    /// (streamDelConsumer); the number of pending entries it had, or None
    /// when there is no such consumer.
    pub fn delete_consumer(&mut self, name: &[u8]) -> Option<usize> {
        let consumer = self.consumers.remove(name)?;
        for id in &consumer.pel {
            self.pel.remove(id);
        }
        Some(consumer.pel.len())
    }

    /// Acknowledges one id; true when it was pending.
    pub fn ack(&mut self, id: StreamId) -> bool {
        match self.pel.remove(&id) {
            Some(nack) => {
                if let Some(consumer) = self.consumers.get_mut(&nack.consumer) {
                    consumer.pel.remove(&id);
                }
                true
            }
            None => false,
        }
    }

    fn memory_bytes(&self) -> usize {
        let consumers: usize = self
            .consumers
            .iter()
            .map(|(name, c)| 64 + name.len() + c.pel.len() * 32)
            .sum();
        96 + self.pel.len() * 80 + consumers
    }
}

#[derive(Clone, Debug)]
pub struct Stream {
    /// Which stream this is: a new one per stream made, so that a key
    /// deleted and made again reads as a change (blocked readers).
    pub serial: u64,
    /// How many times the key was signalled ready for blocked readers
    /// (XADD, XGROUP DESTROY): a reader wakes only after one.
    pub signals: u64,
    nodes: BTreeMap<StreamId, Node>,
    length: u64,
    pub last_id: StreamId,
    /// The first live entry's id when this was last updated, as Redis
    /// keeps it (0-0 for an empty stream).
    pub first_id: StreamId,
    pub max_deleted_entry_id: StreamId,
    pub entries_added: u64,
    pub groups: BTreeMap<Bytes, Group>,
}

/// Why an append failed.
#[derive(Debug, PartialEq, Eq)]
pub enum AppendError {
    /// The id is not above the stream's last id (EDOM).
    IdTooSmall,
    /// The fields and values are too large for a listpack (ERANGE).
    TooLarge,
}

impl Default for Stream {
    fn default() -> Self {
        static SERIAL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        Stream {
            serial: SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            signals: 0,
            nodes: BTreeMap::new(),
            length: 0,
            last_id: StreamId::MIN,
            first_id: StreamId::MIN,
            max_deleted_entry_id: StreamId::MIN,
            entries_added: 0,
            groups: BTreeMap::new(),
        }
    }
}

impl Stream {
    pub fn new() -> Self {
        Stream::default()
    }

    /// The number of live entries.
    pub fn len(&self) -> u64 {
        self.length
    }

    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    /// XINFO's radix-tree-keys: the number of nodes.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The id XADD gives an entry: `given` is the argument's id and whether
    /// it had a sequence (`ms-*` has not); None for `*`. Err when no id
    /// above the last can be made (the caller's "equal or smaller" error).
    pub fn next_id(
        &self,
        now_ms: u64,
        given: Option<(StreamId, bool)>,
    ) -> Result<StreamId, AppendError> {
        let id = match given {
            Some((id, true)) => id,
            Some((id, false)) if id.ms == self.last_id.ms => {
                // Redis returns here without setting errno, and XADD
                // answers as for a payload too large.
                if self.last_id.seq == u64::MAX {
                    return Err(AppendError::TooLarge);
                }
                StreamId::new(id.ms, self.last_id.seq + 1)
            }
            Some((id, false)) => StreamId::new(id.ms, 0),
            None if now_ms > self.last_id.ms => StreamId::new(now_ms, 0),
            // Wraps to 0-0 after the largest id, which then fails below.
            None => self.last_id.incr().unwrap_or(StreamId::MIN),
        };
        if id <= self.last_id {
            return Err(AppendError::IdTooSmall);
        }
        Ok(id)
    }

    /// Appends an entry (streamAppendItem) with an id from `next_id`.
    /// `items` is field, value, field, value...
    pub fn append(
        &mut self,
        id: StreamId,
        items: &[&[u8]],
        limits: NodeLimits,
    ) -> Result<(), AppendError> {
        if id <= self.last_id {
            return Err(AppendError::IdTooSmall);
        }
        let total: u64 = items.iter().map(|item| item.len() as u64).sum();
        if total > LISTPACK_MAX_SIZE {
            return Err(AppendError::TooLarge);
        }
        let fields = items.len() / 2;
        let max_bytes = if limits.max_bytes == 0 || limits.max_bytes > LISTPACK_MAX_SIZE {
            LISTPACK_MAX_SIZE
        } else {
            limits.max_bytes
        };
        let tail_full = match self.nodes.values().next_back() {
            None => true,
            Some(tail) => {
                tail.listpack_bytes() + total >= max_bytes
                    || (limits.max_entries != 0 && tail.live + tail.deleted >= limits.max_entries)
            }
        };
        if tail_full {
            // A full node keeps no room to grow (lpShrinkToFit).
            if let Some(full) = self.nodes.values_mut().next_back() {
                full.shrink();
            }
            let master_fields = pack(items.iter().step_by(2).copied());
            self.nodes.insert(id, Node::new(id, master_fields));
        }
        let Some(tail) = self.nodes.values_mut().next_back() else {
            return Err(AppendError::TooLarge);
        };
        let same_fields = tail.master_fields.len() == fields
            && tail
                .master_fields
                .iter()
                .zip(items.iter().step_by(2))
                .all(|(master, field)| master == *field);
        if same_fields {
            let values: Vec<&[u8]> = items.iter().skip(1).step_by(2).copied().collect();
            tail.push(id, false, true, &values);
        } else {
            tail.push(id, false, false, items);
        }
        self.length += 1;
        self.entries_added += 1;
        self.last_id = id;
        if self.length == 1 {
            self.first_id = id;
        }
        Ok(())
    }

    /// The node holding `id`, if any (the last one starting at or before it).
    fn node_of(&self, id: StreamId) -> Option<(&StreamId, &Node)> {
        self.nodes.range(..=id).next_back()
    }

    /// The live entry with this id.
    pub fn get(&self, id: StreamId) -> Option<EntryView<'_>> {
        let (_, node) = self.node_of(id)?;
        let entry = node.find(id)?;
        (!entry.deleted).then(|| node.view(entry))
    }

    pub fn contains(&self, id: StreamId) -> bool {
        self.get(id).is_some()
    }

    /// Live entries from `start` to `end` (both included), oldest first.
    pub fn range(&self, start: StreamId, end: StreamId) -> impl Iterator<Item = EntryView<'_>> {
        self.nodes_over(start, end).flat_map(move |node| {
            let from = node.offsets.get(node.position(start)).copied();
            NodeEntries {
                node,
                at: from.map_or(node.data.len(), |at| at as usize),
            }
            .take_while(move |e| e.id <= end)
            .filter(|e| !e.deleted)
            .map(move |e| node.view(e))
        })
    }

    /// Live entries from `end` down to `start` (both included), newest first.
    pub fn range_rev(&self, start: StreamId, end: StreamId) -> impl Iterator<Item = EntryView<'_>> {
        self.nodes_over(start, end).rev().flat_map(move |node| {
            (0..node.position_after(end))
                .rev()
                .filter_map(move |index| node.entry_at(index))
                .take_while(move |e| e.id >= start)
                .filter(|e| !e.deleted)
                .map(move |e| node.view(e))
        })
    }

    /// The nodes that may hold entries from `start` to `end`.
    fn nodes_over(
        &self,
        start: StreamId,
        end: StreamId,
    ) -> impl DoubleEndedIterator<Item = &Node> + '_ {
        let first_node = self.node_of(start).map_or(StreamId::MIN, |(key, _)| *key);
        let nodes = if start <= end {
            self.nodes.range(first_node..=end)
        } else {
            self.nodes.range(StreamId::MIN..StreamId::MIN)
        };
        nodes.map(|(_, node)| node)
    }

    /// The first or last live entry.
    pub fn first_entry(&self) -> Option<EntryView<'_>> {
        self.range(StreamId::MIN, StreamId::MAX).next()
    }

    pub fn last_entry(&self) -> Option<EntryView<'_>> {
        self.range_rev(StreamId::MIN, StreamId::MAX).next()
    }

    /// The id of the first entry or last entry including deleted ones
    /// (streamGetEdgeID without skipping tombstones); None when empty of
    /// nodes.
    pub fn edge_id_with_tombstones(&self, first: bool) -> Option<StreamId> {
        if first {
            self.nodes.values().next()?.entries().next().map(|e| e.id)
        } else {
            self.nodes.values().next_back().map(|node| node.last)
        }
    }

    /// Flags a live entry deleted (streamDeleteItem); a node whose last
    /// live entry goes is removed. The caller updates `first_id` and
    /// `max_deleted_entry_id` as its command does.
    pub fn delete(&mut self, id: StreamId) -> bool {
        let Some((&key, _)) = self.nodes.range(..=id).next_back() else {
            return false;
        };
        let Some(node) = self.nodes.get_mut(&key) else {
            return false;
        };
        let Some(at) = node.find(id).filter(|e| !e.deleted).map(|e| e.at) else {
            return false;
        };
        if node.live == 1 {
            self.nodes.remove(&key);
        } else {
            node.data[at] |= DELETED;
            node.live -= 1;
            node.deleted += 1;
        }
        self.length -= 1;
        true
    }

    /// Sets `first_id` to the first live entry's id (0-0 when empty), as
    /// Redis does after deleting its first entry or trimming.
    pub fn refresh_first_id(&mut self) {
        self.first_id = if self.length == 0 {
            StreamId::MIN
        } else {
            self.first_entry().map_or(StreamId::MAX, |e| e.id)
        };
    }

    /// Trims from the oldest end (streamTrim); returns the entries removed.
    /// `limit` 0 is no limit.
    pub fn trim(&mut self, strategy: TrimStrategy, approx: bool, limit: u64) -> u64 {
        let mut deleted = 0u64;
        while let Some((&key, node)) = self.nodes.iter_mut().next() {
            if let TrimStrategy::MaxLen(max) = strategy {
                if self.length <= max {
                    break;
                }
            }
            let entries = node.live;
            if limit != 0 && deleted + entries > limit {
                break;
            }
            let remove_node = match strategy {
                TrimStrategy::MaxLen(max) => self.length - entries >= max,
                TrimStrategy::MinId(min) => node.last < min,
            };
            if remove_node {
                self.nodes.remove(&key);
                self.length -= entries;
                deleted += entries;
                continue;
            }
            if approx {
                break;
            }
            let mut flagged = Vec::new();
            let mut length = self.length;
            for entry in node.entries() {
                let stop = match strategy {
                    TrimStrategy::MaxLen(max) => length <= max,
                    TrimStrategy::MinId(min) => entry.id >= min,
                };
                if stop {
                    break;
                }
                if !entry.deleted {
                    flagged.push(entry.at);
                    length -= 1;
                }
            }
            for &at in &flagged {
                node.data[at] |= DELETED;
            }
            let from_node = flagged.len() as u64;
            self.length = length;
            node.live -= from_node;
            node.deleted += from_node;
            deleted += from_node;
            break;
        }
        self.refresh_first_id();
        deleted
    }

    /// streamRangeHasTombstones: whether an entry between `start` and `end`
    /// may have been deleted.
    pub fn range_has_tombstones(&self, start: StreamId, end: StreamId) -> bool {
        if self.length == 0 || self.max_deleted_entry_id.is_zero() {
            return false;
        }
        if self.first_id > self.max_deleted_entry_id {
            return false;
        }
        start <= self.max_deleted_entry_id && self.max_deleted_entry_id <= end
    }

    /// streamEstimateDistanceFromFirstEverEntry: the logical read counter
    /// of an id, when it can be known.
    pub fn estimate_distance(&self, id: StreamId) -> Option<u64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if self.length == 0 && id <= self.last_id {
            return Some(self.entries_added);
        }
        match id.cmp(&self.last_id) {
            std::cmp::Ordering::Equal => return Some(self.entries_added),
            std::cmp::Ordering::Greater => return None,
            std::cmp::Ordering::Less => {}
        }
        if self.max_deleted_entry_id.is_zero() || self.max_deleted_entry_id < self.first_id {
            match id.cmp(&self.first_id) {
                std::cmp::Ordering::Less => return Some(self.entries_added - self.length),
                std::cmp::Ordering::Equal => {
                    return Some(self.entries_added - self.length + 1);
                }
                std::cmp::Ordering::Greater => {}
            }
        }
        None
    }

    /// A group's lag (streamReplyWithCGLag); None when it cannot be known.
    pub fn group_lag(&self, group: &Group) -> Option<i64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if group.entries_read != ENTRIES_READ_UNKNOWN
            && !self.range_has_tombstones(group.last_id, StreamId::MAX)
        {
            return Some(self.entries_added as i64 - group.entries_read);
        }
        self.estimate_distance(group.last_id)
            .map(|read| self.entries_added as i64 - read as i64)
    }

    /// The nodes as Redis's listpacks, each with its master id, for DUMP.
    pub fn node_listpacks(&self) -> impl Iterator<Item = (StreamId, Vec<u8>)> + '_ {
        self.nodes.values().map(|node| {
            let items = node.listpack_items();
            (node.master, listpack::encode(items.iter().map(|i| &i[..])))
        })
    }

    /// Adds a node read from a listpack's items (RESTORE); false when the
    /// items are not a well-formed stream node or do not come after the
    /// nodes already there. The caller sets the length, ids and counters
    /// from the payload and checks them with `check_loaded`.
    pub fn push_loaded_node(&mut self, master: StreamId, items: &[Bytes]) -> bool {
        match parse_node(master, items) {
            Some(node) => {
                let Some(first) = node.entries().next().map(|e| e.id) else {
                    return false;
                };
                let after = self
                    .nodes
                    .values()
                    .next_back()
                    .is_none_or(|tail| first > tail.last);
                if !after {
                    return false;
                }
                self.length += node.live;
                self.nodes.insert(master, node);
                true
            }
            None => false,
        }
    }

    /// The live entries the loaded nodes hold, to check against the
    /// payload's length.
    pub fn loaded_length(&self) -> u64 {
        self.length
    }

    pub fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Stream>()
            + self.nodes.values().map(Node::memory_bytes).sum::<usize>()
            + self
                .groups
                .iter()
                .map(|(name, g)| name.len() + g.memory_bytes())
                .sum::<usize>()
    }

    /// The nodes' master ids, in order (the keys of Redis's radix tree),
    /// for XINFO's `radix-tree-nodes`.
    pub fn node_ids(&self) -> impl Iterator<Item = StreamId> + '_ {
        self.nodes.keys().copied()
    }
}

fn pack<'a>(items: impl Iterator<Item = &'a [u8]>) -> Packed {
    let items: Vec<&[u8]> = items.collect();
    let mut packed = Packed::new();
    packed.push(&items);
    packed
}

/// Reads a node back from its listpack items (lpValidateIntegrity's
/// stream checks, as far as a node's shape goes).
fn parse_node(master: StreamId, items: &[Bytes]) -> Option<Node> {
    let int = |item: &Bytes| crate::protocol::decode::parse_i64_strict(item);
    let mut at = 0;
    let mut next = || {
        let item = items.get(at);
        at += 1;
        item
    };
    let live = u64::try_from(int(next()?)?).ok()?;
    let deleted = u64::try_from(int(next()?)?).ok()?;
    let field_count = usize::try_from(int(next()?)?).ok()?;
    let mut fields = Vec::with_capacity(field_count.min(items.len()));
    for _ in 0..field_count {
        fields.push(next()?.clone());
    }
    if int(next()?)? != 0 {
        return None;
    }
    let master_fields = pack(fields.iter().map(|f| &f[..]));
    let mut node = Node::new(master, master_fields);
    let mut previous: Option<StreamId> = None;
    while at < items.len() {
        let flags = int(&items[at])?;
        at += 1;
        if !(0..=3).contains(&flags) {
            return None;
        }
        let ms = master.ms.wrapping_add(int(items.get(at)?)? as u64);
        let seq = master.seq.wrapping_add(int(items.get(at + 1)?)? as u64);
        at += 2;
        let same_fields = flags & 2 != 0;
        let count = if same_fields {
            field_count
        } else {
            let count = usize::try_from(int(items.get(at)?)?).ok()?;
            at += 1;
            count
        };
        let take = if same_fields { count } else { count * 2 };
        let values = items.get(at..at + take)?;
        at += take;
        if int(items.get(at)?)? != lp_count(same_fields, count) {
            return None;
        }
        at += 1;
        let id = StreamId::new(ms, seq);
        if previous.is_some_and(|p| p >= id) {
            return None;
        }
        previous = Some(id);
        let values: Vec<&[u8]> = values.iter().map(|v| &v[..]).collect();
        node.push(id, flags & 1 != 0, same_fields, &values);
    }
    if node.live != live || node.deleted != deleted {
        return None;
    }
    node.shrink();
    Some(node)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(stream: &mut Stream, ms: u64, seq: u64, items: &[&str], limits: NodeLimits) {
        let items: Vec<&[u8]> = items.iter().map(|s| s.as_bytes()).collect();
        stream
            .append(StreamId::new(ms, seq), &items, limits)
            .expect("append");
    }

    fn ids(stream: &Stream) -> Vec<(u64, u64)> {
        stream
            .range(StreamId::MIN, StreamId::MAX)
            .map(|e| (e.id.ms, e.id.seq))
            .collect()
    }

    #[test]
    fn ids_parse_and_step_as_redis() {
        assert_eq!(StreamId::parse(b"5", 0), Some(StreamId::new(5, 0)));
        assert_eq!(
            StreamId::parse(b"5", u64::MAX),
            Some(StreamId::new(5, u64::MAX))
        );
        assert_eq!(StreamId::parse(b"1-2", 0), Some(StreamId::new(1, 2)));
        for bad in [
            &b""[..],
            b"-",
            b"1-",
            b"-1",
            b"+1",
            b"1-+2",
            b"1-2-3",
            b"a",
            b" 1",
        ] {
            assert_eq!(StreamId::parse(bad, 0), None, "{:?}", bad);
        }
        assert_eq!(
            StreamId::parse(b"18446744073709551615-18446744073709551615", 0),
            Some(StreamId::MAX)
        );
        assert_eq!(StreamId::parse(b"18446744073709551616", 0), None);
        assert_eq!(StreamId::new(1, u64::MAX).incr(), Some(StreamId::new(2, 0)));
        assert_eq!(StreamId::MAX.incr(), None);
        assert_eq!(StreamId::new(2, 0).decr(), Some(StreamId::new(1, u64::MAX)));
        assert_eq!(StreamId::MIN.decr(), None);
    }

    #[test]
    fn listpack_size_is_tracked_as_the_real_encoding() {
        let mut stream = Stream::new();
        let limits = NodeLimits {
            max_bytes: 1 << 20,
            max_entries: 1000,
        };
        add(&mut stream, 1, 0, &["a", "1", "b", "hello"], limits);
        add(&mut stream, 1, 1, &["a", "2", "b", "x"], limits);
        add(&mut stream, 5000, 7, &["other", "12345678901"], limits);
        add(
            &mut stream,
            99999999,
            0,
            &["a", "-5", "b", &"z".repeat(5000)],
            limits,
        );
        add(&mut stream, 99999999, 1, &[], limits);
        stream.delete(StreamId::new(1, 1));
        for node in stream.nodes.values() {
            let items = node.listpack_items();
            let encoded = listpack::encode(items.iter().map(|i| &i[..]));
            assert_eq!(node.listpack_bytes(), encoded.len() as u64);
            let parsed = parse_node(node.master, &items).expect("parses");
            assert_eq!(parsed.body_bytes, node.body_bytes);
        }
    }

    #[test]
    fn nodes_split_by_entries_and_bytes() {
        let mut stream = Stream::new();
        let limits = NodeLimits {
            max_bytes: 4096,
            max_entries: 10,
        };
        for i in 1..=25 {
            add(&mut stream, i, 0, &["f", "v"], limits);
        }
        assert_eq!(stream.node_count(), 3);
        let mut big = Stream::new();
        for i in 0..10 {
            add(
                &mut big,
                i + 1,
                0,
                &["f", &"v".repeat(1000)],
                NodeLimits::default(),
            );
        }
        // Each entry is about 1 KB: four fit under 4096 bytes (4 + 4 + 2).
        assert_eq!(big.node_count(), 3);
    }

    #[test]
    fn trims_like_redis() {
        let limits = NodeLimits {
            max_bytes: 4096,
            max_entries: 10,
        };
        let mut stream = Stream::new();
        for i in 1..=35 {
            add(&mut stream, i, 0, &["f", "v"], limits);
        }
        // Approximate: whole nodes only, while at least 12 remain.
        assert_eq!(stream.trim(TrimStrategy::MaxLen(12), true, 0), 20);
        assert_eq!(stream.len(), 15);
        assert_eq!(stream.first_id, StreamId::new(21, 0));
        // Exact: flags entries inside the first node.
        assert_eq!(stream.trim(TrimStrategy::MaxLen(12), false, 0), 3);
        assert_eq!(ids(&stream).first(), Some(&(24, 0)));
        assert_eq!(
            stream.trim(TrimStrategy::MinId(StreamId::new(33, 0)), false, 0),
            9
        );
        assert_eq!(ids(&stream), vec![(33, 0), (34, 0), (35, 0)]);
        assert_eq!(stream.first_id, StreamId::new(33, 0));
        // A limit stops before a node that would exceed it.
        let mut limited = Stream::new();
        for i in 1..=35 {
            add(&mut limited, i, 0, &["f", "v"], limits);
        }
        assert_eq!(limited.trim(TrimStrategy::MaxLen(0), true, 15), 10);
    }

    #[test]
    fn deleting_the_last_live_entry_removes_its_node() {
        let limits = NodeLimits {
            max_bytes: 4096,
            max_entries: 2,
        };
        let mut stream = Stream::new();
        for i in 1..=4 {
            add(&mut stream, i, 0, &["f", "v"], limits);
        }
        assert!(stream.delete(StreamId::new(1, 0)));
        assert!(!stream.delete(StreamId::new(1, 0)));
        assert_eq!(stream.node_count(), 2);
        assert!(stream.delete(StreamId::new(2, 0)));
        assert_eq!(stream.node_count(), 1);
        assert_eq!(ids(&stream), vec![(3, 0), (4, 0)]);
        let rev: Vec<u64> = stream
            .range_rev(StreamId::MIN, StreamId::MAX)
            .map(|e| e.id.ms)
            .collect();
        assert_eq!(rev, vec![4, 3]);
        let items: Vec<&[u8]> = stream.get(StreamId::new(3, 0)).unwrap().items().collect();
        assert_eq!(items, vec![&b"f"[..], b"v"]);
    }

    #[test]
    fn next_id_follows_xadd() {
        let mut stream = Stream::new();
        assert_eq!(stream.next_id(100, None), Ok(StreamId::new(100, 0)));
        stream
            .append(StreamId::new(100, 0), &[b"f", b"v"], NodeLimits::default())
            .unwrap();
        assert_eq!(stream.next_id(50, None), Ok(StreamId::new(100, 1)));
        assert_eq!(
            stream.next_id(0, Some((StreamId::new(100, 0), false))),
            Ok(StreamId::new(100, 1))
        );
        assert_eq!(
            stream.next_id(0, Some((StreamId::new(99, 0), false))),
            Err(AppendError::IdTooSmall)
        );
        assert_eq!(
            stream.next_id(0, Some((StreamId::new(100, 0), true))),
            Err(AppendError::IdTooSmall)
        );
    }
}
