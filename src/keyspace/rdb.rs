//! The DUMP/RESTORE payload: one value in Redis's RDB object format,
//! followed by the RDB version (u16 LE) and a CRC64 (Jones, as Redis's
//! `crc64.c`) of everything before it. Byte-compatible with Redis 7.0
//! (RDB version 10), so keys move between slotcore and redis-server both
//! ways (MIGRATE, `redis-cli --cluster`, DUMP in one and RESTORE in the
//! other).
//!
//! A type plugs in with a `save_*` function (value → type byte and body)
//! and a `load_*` function (type byte and body → value); `dump` and `load`
//! only dispatch.

pub use super::value::EncodingLimits;
use super::value::{intset_width, Hash, Set, Value};
use super::zset::{listpack_entries, score_text, ZSet};
use super::{listpack, lzf};
use bytes::Bytes;
use std::collections::VecDeque;

pub const RDB_VERSION: u16 = 10;

/// The RDB object types (Redis's `RDB_TYPE_*`).
pub mod object_type {
    pub const STRING: u8 = 0;
    pub const SET: u8 = 2;
    pub const ZSET: u8 = 3;
    pub const HASH: u8 = 4;
    pub const ZSET_2: u8 = 5;
    pub const LIST_ZIPLIST: u8 = 10;
    pub const SET_INTSET: u8 = 11;
    pub const ZSET_ZIPLIST: u8 = 12;
    pub const HASH_ZIPLIST: u8 = 13;
    pub const LIST_QUICKLIST: u8 = 14;
    pub const LIST_QUICKLIST_2: u8 = 18;
    pub const HASH_LISTPACK: u8 = 16;
    pub const ZSET_LISTPACK: u8 = 17;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadError {
    /// The footer's version is newer than ours, or the CRC does not match.
    VersionOrChecksum,
    /// The body does not decode as an RDB object.
    BadFormat,
}

impl PayloadError {
    pub fn message(self) -> &'static str {
        match self {
            PayloadError::VersionOrChecksum => "ERR DUMP payload version or checksum are wrong",
            PayloadError::BadFormat => "ERR Bad data format",
        }
    }
}

/// Serializes `value` as DUMP does.
pub fn dump(value: &Value) -> Vec<u8> {
    let mut out = Writer(Vec::with_capacity(16));
    match value {
        Value::Str { bytes, .. } => {
            out.0.push(object_type::STRING);
            out.string(bytes);
        }
        Value::Hash(hash) => save_hash(hash, &mut out),
        Value::Set(set) => save_set(set, &mut out),
        Value::List(items) => save_list(items, &mut out, limits_for_dump()),
        Value::ZSet(zset) => save_zset(zset, &mut out),
    }
    out.0.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(0, &out.0);
    out.0.extend_from_slice(&crc.to_le_bytes());
    out.0
}

/// Redis's verifyDumpPayload: a version we know and a matching CRC.
pub fn verify(payload: &[u8]) -> Result<(), PayloadError> {
    if payload.len() < 10 {
        return Err(PayloadError::VersionOrChecksum);
    }
    let footer = &payload[payload.len() - 10..];
    let version = u16::from_le_bytes([footer[0], footer[1]]);
    if version > RDB_VERSION {
        return Err(PayloadError::VersionOrChecksum);
    }
    let crc = crc64(0, &payload[..payload.len() - 8]);
    if crc.to_le_bytes() != footer[2..] {
        return Err(PayloadError::VersionOrChecksum);
    }
    Ok(())
}

/// As `load`, for a value moving between this process's cores: a large
/// sorted set stays a skiplist with its scores exactly (a RESTORE would
/// shrink a small one to a listpack, which stores -0 as 0).
pub fn load_moved(payload: &[u8], limits: &EncodingLimits) -> Result<Value, PayloadError> {
    if payload.first() != Some(&object_type::ZSET_2) {
        return load(payload, limits);
    }
    verify(payload)?;
    let mut reader = Reader {
        data: &payload[..payload.len() - 10],
        at: 1,
    };
    let entries = read_zset_entries(&mut reader, object_type::ZSET_2)?;
    Ok(Value::ZSet(ZSet::skiplist_from(entries)))
}

/// Decodes a verified payload's object into a value.
pub fn load(payload: &[u8], limits: &EncodingLimits) -> Result<Value, PayloadError> {
    verify(payload)?;
    let mut reader = Reader {
        data: &payload[..payload.len() - 10],
        at: 0,
    };
    let kind = reader.byte()?;
    match kind {
        object_type::STRING => Ok(Value::string(Bytes::from(reader.string()?))),
        object_type::HASH => load_hash(&mut reader, limits),
        object_type::HASH_LISTPACK => load_hash_listpack(&mut reader, limits),
        object_type::SET => load_set(&mut reader, limits),
        object_type::SET_INTSET => load_intset(&mut reader, limits),
        object_type::LIST_QUICKLIST_2 => load_list(&mut reader),
        object_type::ZSET | object_type::ZSET_2 => load_zset(&mut reader, kind, limits),
        object_type::ZSET_LISTPACK => {
            let items = listpack::decode(&reader.string()?).ok_or(PayloadError::BadFormat)?;
            zset_from_items(items, limits)
        }
        object_type::ZSET_ZIPLIST => {
            let items =
                listpack::decode_ziplist(&reader.string()?).ok_or(PayloadError::BadFormat)?;
            zset_from_items(items, limits)
        }
        // Redis 6 and older payloads: ziplists where 7.0 has listpacks.
        object_type::HASH_ZIPLIST => {
            let items =
                listpack::decode_ziplist(&reader.string()?).ok_or(PayloadError::BadFormat)?;
            hash_from_items(items, limits)
        }
        object_type::LIST_ZIPLIST => {
            let items =
                listpack::decode_ziplist(&reader.string()?).ok_or(PayloadError::BadFormat)?;
            list_from_items(items.into())
        }
        object_type::LIST_QUICKLIST => {
            let mut items = VecDeque::new();
            for _ in 0..reader.count()? {
                let node =
                    listpack::decode_ziplist(&reader.string()?).ok_or(PayloadError::BadFormat)?;
                items.extend(node);
            }
            list_from_items(items)
        }
        _ => Err(PayloadError::BadFormat),
    }
}

fn save_hash(hash: &Hash, out: &mut Writer) {
    match hash {
        Hash::Listpack(packed) => {
            out.0.push(object_type::HASH_LISTPACK);
            out.string(&listpack::encode(packed.iter()));
        }
        Hash::Table(map) => {
            out.0.push(object_type::HASH);
            out.length(map.len() as u64);
            for (field, value) in map.iter() {
                out.string(field);
                out.string(value);
            }
        }
    }
}

fn save_set(set: &Set, out: &mut Writer) {
    match set {
        Set::Intset { values, width } => {
            // Redis's intset: width (u32 LE), count (u32 LE), sorted values.
            out.0.push(object_type::SET_INTSET);
            let mut blob = Vec::with_capacity(8 + values.len() * *width as usize);
            blob.extend_from_slice(&u32::from(*width).to_le_bytes());
            blob.extend_from_slice(&(values.len() as u32).to_le_bytes());
            for value in values {
                blob.extend_from_slice(&value.to_le_bytes()[..*width as usize]);
            }
            out.string(&blob);
        }
        Set::Table(members) => {
            out.0.push(object_type::SET);
            out.length(members.len() as u64);
            for member in members {
                out.string(member);
            }
        }
    }
}

/// A listpack sorted set as member and score text (Redis's d2string);
/// a large one as ZSET_2: members from the highest score down, each with
/// its score as a little-endian binary double, as rdbSaveObject writes it.
fn save_zset(zset: &ZSet, out: &mut Writer) {
    match zset {
        ZSet::Listpack(packed) => {
            out.0.push(object_type::ZSET_LISTPACK);
            let entries: Vec<(&[u8], String)> = listpack_entries(packed)
                .map(|(m, s)| (m, score_text(s)))
                .collect();
            let items = entries.iter().flat_map(|(m, s)| [*m, s.as_bytes()]);
            out.string(&listpack::encode(items));
        }
        ZSet::Skiplist(_) => {
            out.0.push(object_type::ZSET_2);
            let entries = zset.entries();
            out.length(entries.len() as u64);
            for (member, score) in entries.iter().rev() {
                out.string(member);
                out.0.extend_from_slice(&score.to_le_bytes());
            }
        }
    }
}

/// RDB_TYPE_ZSET (scores as length-prefixed text) and RDB_TYPE_ZSET_2
/// (binary doubles). Redis converts the loaded set to a listpack when it
/// fits the limits.
fn load_zset(
    reader: &mut Reader,
    kind: u8,
    limits: &EncodingLimits,
) -> Result<Value, PayloadError> {
    let entries = read_zset_entries(reader, kind)?;
    zset_checked(entries, limits, true)
}

/// The members and scores of a ZSET or ZSET_2 body; a NaN score is a
/// corrupt payload.
fn read_zset_entries(reader: &mut Reader, kind: u8) -> Result<Vec<(Bytes, f64)>, PayloadError> {
    let count = reader.count()?;
    if count == 0 {
        return Err(PayloadError::BadFormat);
    }
    let mut entries = Vec::with_capacity(count);
    for _ in 0..count {
        let member = Bytes::from(reader.string()?);
        let score = if kind == object_type::ZSET_2 {
            let bytes = reader.take(8)?;
            f64::from_le_bytes(bytes.try_into().map_err(|_| PayloadError::BadFormat)?)
        } else {
            text_double(reader)?
        };
        if score.is_nan() {
            return Err(PayloadError::BadFormat);
        }
        entries.push((member, score));
    }
    Ok(entries)
}

/// rdbLoadDoubleValue: a length byte (253 nan, 254 inf, 255 -inf) and text.
fn text_double(reader: &mut Reader) -> Result<f64, PayloadError> {
    let length = reader.byte()?;
    match length {
        253 => Ok(f64::NAN),
        254 => Ok(f64::INFINITY),
        255 => Ok(f64::NEG_INFINITY),
        _ => {
            let text = reader.take(length as usize)?;
            std::str::from_utf8(text)
                .ok()
                .and_then(|t| t.trim().parse::<f64>().ok())
                .ok_or(PayloadError::BadFormat)
        }
    }
}

/// A sorted set from a listpack or ziplist of members and score texts.
fn zset_from_items(items: Vec<Bytes>, limits: &EncodingLimits) -> Result<Value, PayloadError> {
    if items.is_empty() || !items.len().is_multiple_of(2) {
        return Err(PayloadError::BadFormat);
    }
    let mut entries = Vec::with_capacity(items.len() / 2);
    for pair in items.chunks_exact(2) {
        let score = std::str::from_utf8(&pair[1])
            .ok()
            .and_then(|t| t.parse::<f64>().ok())
            .filter(|s| !s.is_nan())
            .ok_or(PayloadError::BadFormat)?;
        entries.push((pair[0].clone(), score));
    }
    // Redis 7.0 converts a loaded listpack on its member count only.
    zset_checked(entries, limits, false)
}

/// A loaded sorted set in the encoding Redis would give it; repeated
/// members are corrupt payloads.
fn zset_checked(
    entries: Vec<(Bytes, f64)>,
    limits: &EncodingLimits,
    check_lengths: bool,
) -> Result<Value, PayloadError> {
    let distinct = entries
        .iter()
        .map(|(m, _)| m)
        .collect::<hashbrown::HashSet<&Bytes>>()
        .len();
    if distinct != entries.len() {
        return Err(PayloadError::BadFormat);
    }
    let mut zset = if check_lengths {
        ZSet::from_entries(entries, limits)
    } else {
        let unlimited = EncodingLimits {
            zset_max_listpack_entries: usize::MAX,
            zset_max_listpack_value: usize::MAX,
            ..*limits
        };
        ZSet::from_entries(entries, &unlimited)
    };
    if zset.len() > limits.zset_max_listpack_entries {
        zset.convert_to_skiplist();
    }
    Ok(Value::ZSet(zset))
}

const NODE_PLAIN: u64 = 1;
const NODE_PACKED: u64 = 2;

/// The default node size, which DUMP uses: `dump` takes no configuration.
fn limits_for_dump() -> EncodingLimits {
    EncodingLimits::default()
}

/// RDB_TYPE_LIST_QUICKLIST_2: a node count, then per node its container
/// kind and a listpack. Nodes are filled from the head as a run of RPUSH
/// would fill them (`_quicklistNodeAllowInsert`).
fn save_list(items: &VecDeque<Bytes>, out: &mut Writer, limits: EncodingLimits) {
    out.0.push(object_type::LIST_QUICKLIST_2);
    let nodes = list_nodes(items, limits.list_max_listpack_size);
    out.length(nodes.len() as u64);
    for (first, end) in nodes {
        out.length(NODE_PACKED);
        let packed = listpack::encode(items.range(first..end).map(|item| item.as_ref()));
        out.string(&packed);
    }
}

/// How a list splits into quicklist nodes for `fill`
/// (list-max-listpack-size): index ranges, filled from the head.
pub fn list_nodes(items: &VecDeque<Bytes>, fill: i64) -> Vec<(usize, usize)> {
    let (bytes_max, count_max) = if fill >= 0 {
        (usize::MAX, fill.max(1) as usize)
    } else {
        let level = (-fill - 1).min(4) as u32;
        (4096usize << level, usize::MAX)
    };
    let mut nodes: Vec<(usize, usize)> = Vec::new();
    let (mut start, mut node_bytes, mut count) = (0usize, 7usize, 0usize);
    for (index, item) in items.iter().enumerate() {
        let grown = node_bytes + item.len() + 8;
        let full = if bytes_max != usize::MAX {
            grown > bytes_max
        } else {
            grown > 8192 || count + 1 > count_max
        };
        if count > 0 && full {
            nodes.push((start, index));
            (start, node_bytes, count) = (index, 7, 0);
        }
        node_bytes += listpack::entry_bytes(item);
        count += 1;
    }
    if count > 0 {
        nodes.push((start, items.len()));
    }
    nodes
}

/// The listpack bytes of `items` (a quicklist node's size).
pub fn listpack_bytes<'a>(items: impl Iterator<Item = &'a Bytes>) -> usize {
    7 + items.map(|item| listpack::entry_bytes(item)).sum::<usize>()
}

fn load_list(reader: &mut Reader) -> Result<Value, PayloadError> {
    let nodes = reader.count()?;
    let mut items = VecDeque::new();
    for _ in 0..nodes {
        let container = reader.length()?;
        let blob = reader.string()?;
        match container {
            NODE_PLAIN => items.push_back(Bytes::from(blob)),
            NODE_PACKED => {
                let entries = listpack::decode(&blob).ok_or(PayloadError::BadFormat)?;
                items.extend(entries);
            }
            _ => return Err(PayloadError::BadFormat),
        }
    }
    list_from_items(items)
}

fn list_from_items(items: VecDeque<Bytes>) -> Result<Value, PayloadError> {
    if items.is_empty() {
        return Err(PayloadError::BadFormat);
    }
    Ok(Value::List(Box::new(items)))
}

/// RDB_TYPE_SET: a count, then members; an intset while they are integers.
fn load_set(reader: &mut Reader, limits: &EncodingLimits) -> Result<Value, PayloadError> {
    let count = reader.count()?;
    if count == 0 {
        return Err(PayloadError::BadFormat);
    }
    let mut set = Set::new();
    if count > limits.set_max_intset_entries {
        set.convert_to_table();
    }
    for _ in 0..count {
        if !set.add(&Bytes::from(reader.string()?), limits) {
            return Err(PayloadError::BadFormat);
        }
    }
    Ok(Value::Set(Box::new(set)))
}

/// RDB_TYPE_SET_INTSET: one string holding an intset.
fn load_intset(reader: &mut Reader, limits: &EncodingLimits) -> Result<Value, PayloadError> {
    let blob = reader.string()?;
    let header = |at: usize| -> Result<usize, PayloadError> {
        let bytes = blob.get(at..at + 4).ok_or(PayloadError::BadFormat)?;
        Ok(u32::from_le_bytes(bytes.try_into().map_err(|_| PayloadError::BadFormat)?) as usize)
    };
    let (width, count) = (header(0)?, header(4)?);
    if !matches!(width, 2 | 4 | 8) || count == 0 || blob.len() != 8 + width * count {
        return Err(PayloadError::BadFormat);
    }
    let values: Vec<i64> = blob[8..]
        .chunks_exact(width)
        .map(|chunk| match width {
            2 => i64::from(i16::from_le_bytes([chunk[0], chunk[1]])),
            4 => i64::from(i32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]])),
            _ => i64::from_le_bytes(chunk.try_into().unwrap_or([0; 8])),
        })
        .collect();
    if values.windows(2).any(|pair| pair[0] >= pair[1])
        || values.iter().any(|v| intset_width(*v) as usize > width)
    {
        return Err(PayloadError::BadFormat);
    }
    let mut set = Set::Intset {
        values,
        width: width as u8,
    };
    if set.len() > limits.set_max_intset_entries {
        set.convert_to_table();
    }
    Ok(Value::Set(Box::new(set)))
}

/// RDB_TYPE_HASH: a count, then field and value strings.
fn load_hash(reader: &mut Reader, limits: &EncodingLimits) -> Result<Value, PayloadError> {
    let count = reader.count()?;
    let mut pairs = Vec::with_capacity(count);
    for _ in 0..count {
        pairs.push((Bytes::from(reader.string()?), Bytes::from(reader.string()?)));
    }
    hash_from_pairs(pairs, limits, true)
}

/// RDB_TYPE_HASH_LISTPACK: one string holding a listpack of fields and values.
fn load_hash_listpack(reader: &mut Reader, limits: &EncodingLimits) -> Result<Value, PayloadError> {
    let items = listpack::decode(&reader.string()?).ok_or(PayloadError::BadFormat)?;
    hash_from_items(items, limits)
}

/// A hash from a flat list of fields and values (a listpack or ziplist).
fn hash_from_items(items: Vec<Bytes>, limits: &EncodingLimits) -> Result<Value, PayloadError> {
    if !items.len().is_multiple_of(2) {
        return Err(PayloadError::BadFormat);
    }
    let mut items = items.into_iter();
    let mut pairs = Vec::with_capacity(items.len() / 2);
    while let (Some(field), Some(value)) = (items.next(), items.next()) {
        pairs.push((field, value));
    }
    // Redis 7.0 converts a loaded listpack on its field count only.
    hash_from_pairs(pairs, limits, false)
}

/// A loaded hash in the encoding Redis would give it (`check_lengths`:
/// also by the length of fields and values); empty hashes and repeated
/// fields are corrupt payloads.
fn hash_from_pairs(
    pairs: Vec<(Bytes, Bytes)>,
    limits: &EncodingLimits,
    check_lengths: bool,
) -> Result<Value, PayloadError> {
    if pairs.is_empty() {
        return Err(PayloadError::BadFormat);
    }
    let count = pairs.len();
    let too_long = check_lengths
        && pairs.iter().any(|(f, v)| {
            f.len() > limits.hash_max_listpack_value || v.len() > limits.hash_max_listpack_value
        });
    let distinct = pairs
        .iter()
        .map(|(f, _)| f)
        .collect::<hashbrown::HashSet<&Bytes>>()
        .len();
    if distinct != count {
        return Err(PayloadError::BadFormat);
    }
    let hash = if count > limits.hash_max_listpack_entries || too_long {
        Hash::Table(Box::new(pairs.into_iter().collect()))
    } else {
        Hash::Listpack(
            pairs
                .iter()
                .flat_map(|(f, v)| [f.as_ref(), v.as_ref()])
                .collect(),
        )
    };
    Ok(Value::Hash(hash))
}

const ENCVAL: u8 = 3;
const ENC_INT8: u8 = 0;
const ENC_INT16: u8 = 1;
const ENC_INT32: u8 = 2;
const ENC_LZF: u8 = 3;

/// Appends RDB lengths and strings (rdbSaveLen, rdbSaveRawString).
pub struct Writer(pub Vec<u8>);

impl Writer {
    pub fn length(&mut self, len: u64) {
        if len < 1 << 6 {
            self.0.push(len as u8);
        } else if len < 1 << 14 {
            self.0.push(((len >> 8) as u8) | 0x40);
            self.0.push(len as u8);
        } else if len <= u64::from(u32::MAX) {
            self.0.push(0x80);
            self.0.extend_from_slice(&(len as u32).to_be_bytes());
        } else {
            self.0.push(0x81);
            self.0.extend_from_slice(&len.to_be_bytes());
        }
    }

    /// A string as Redis saves it with `rdbcompression yes`: a small
    /// integer in 2 to 5 bytes, LZF when that saves at least 4 bytes of a
    /// string over 20, else length and bytes.
    pub fn string(&mut self, bytes: &[u8]) {
        if bytes.len() <= 11 && self.try_integer(bytes) {
            return;
        }
        if bytes.len() > 20 {
            if let Some(packed) = lzf::compress(bytes, bytes.len() - 4) {
                self.0.push((ENCVAL << 6) | ENC_LZF);
                self.length(packed.len() as u64);
                self.length(bytes.len() as u64);
                self.0.extend_from_slice(&packed);
                return;
            }
        }
        self.length(bytes.len() as u64);
        self.0.extend_from_slice(bytes);
    }

    fn try_integer(&mut self, bytes: &[u8]) -> bool {
        // parse_i64_strict accepts exactly the canonical spellings, as
        // Redis's string2ll followed by the ll2string round-trip check.
        let Some(value) = crate::protocol::decode::parse_i64_strict(bytes) else {
            return false;
        };
        if let Ok(small) = i8::try_from(value) {
            self.0.push((ENCVAL << 6) | ENC_INT8);
            self.0.push(small as u8);
        } else if let Ok(medium) = i16::try_from(value) {
            self.0.push((ENCVAL << 6) | ENC_INT16);
            self.0.extend_from_slice(&medium.to_le_bytes());
        } else if let Ok(large) = i32::try_from(value) {
            self.0.push((ENCVAL << 6) | ENC_INT32);
            self.0.extend_from_slice(&large.to_le_bytes());
        } else {
            return false;
        }
        true
    }
}

/// Reads RDB lengths and strings from a payload body.
pub struct Reader<'a> {
    pub data: &'a [u8],
    pub at: usize,
}

impl<'a> Reader<'a> {
    pub fn byte(&mut self) -> Result<u8, PayloadError> {
        let byte = *self.data.get(self.at).ok_or(PayloadError::BadFormat)?;
        self.at += 1;
        Ok(byte)
    }

    pub fn take(&mut self, count: usize) -> Result<&'a [u8], PayloadError> {
        let end = self.at.checked_add(count).ok_or(PayloadError::BadFormat)?;
        let bytes = self.data.get(self.at..end).ok_or(PayloadError::BadFormat)?;
        self.at = end;
        Ok(bytes)
    }

    /// rdbLoadLenByRef: (length or encoding, whether it is an encoding).
    fn length_or_encoding(&mut self) -> Result<(u64, bool), PayloadError> {
        let first = self.byte()?;
        match first >> 6 {
            0 => Ok((u64::from(first & 0x3f), false)),
            1 => Ok((
                (u64::from(first & 0x3f) << 8) | u64::from(self.byte()?),
                false,
            )),
            3 => Ok((u64::from(first & 0x3f), true)),
            _ if first == 0x80 => {
                let bytes = self.take(4)?;
                Ok((
                    u64::from(u32::from_be_bytes(bytes.try_into().unwrap_or([0; 4]))),
                    false,
                ))
            }
            _ if first == 0x81 => {
                let bytes = self.take(8)?;
                Ok((
                    u64::from_be_bytes(bytes.try_into().unwrap_or([0; 8])),
                    false,
                ))
            }
            _ => Err(PayloadError::BadFormat),
        }
    }

    pub fn length(&mut self) -> Result<u64, PayloadError> {
        match self.length_or_encoding()? {
            (len, false) => Ok(len),
            (_, true) => Err(PayloadError::BadFormat),
        }
    }

    /// A length that counts things still to be read: bounded by the bytes
    /// left, so a corrupt length cannot make us reserve memory it lies about.
    pub fn count(&mut self) -> Result<usize, PayloadError> {
        let len = self.length()?;
        if len > (self.data.len() - self.at) as u64 {
            return Err(PayloadError::BadFormat);
        }
        Ok(len as usize)
    }

    /// rdbGenericLoadStringObject: plain, integer or LZF.
    pub fn string(&mut self) -> Result<Vec<u8>, PayloadError> {
        let (len, encoded) = self.length_or_encoding()?;
        if !encoded {
            let len = usize::try_from(len).map_err(|_| PayloadError::BadFormat)?;
            return Ok(self.take(len)?.to_vec());
        }
        let value: i64 = match len as u8 {
            ENC_INT8 => i64::from(self.byte()? as i8),
            ENC_INT16 => i64::from(i16::from_le_bytes([self.byte()?, self.byte()?])),
            ENC_INT32 => {
                let bytes = self.take(4)?;
                i64::from(i32::from_le_bytes(bytes.try_into().unwrap_or([0; 4])))
            }
            ENC_LZF => {
                let packed_len = self.length()?;
                let plain_len = self.length()?;
                let packed_len =
                    usize::try_from(packed_len).map_err(|_| PayloadError::BadFormat)?;
                let plain_len = usize::try_from(plain_len).map_err(|_| PayloadError::BadFormat)?;
                let packed = self.take(packed_len)?;
                // LZF expands at most about 260 times; refuse a length that
                // claims more before allocating for it.
                if plain_len == 0 || plain_len / 300 > packed_len {
                    return Err(PayloadError::BadFormat);
                }
                return lzf::decompress(packed, plain_len).ok_or(PayloadError::BadFormat);
            }
            _ => return Err(PayloadError::BadFormat),
        };
        Ok(value.to_string().into_bytes())
    }
}

/// Redis's CRC64: Jones polynomial, reflected, initial value 0, no final
/// XOR (check value for "123456789": 0xe9c6d914c4b8d9ca).
pub fn crc64(mut crc: u64, data: &[u8]) -> u64 {
    for &byte in data {
        crc = CRC64_TABLE[((crc ^ u64::from(byte)) & 0xff) as usize] ^ (crc >> 8);
    }
    crc
}

const CRC64_TABLE: [u64; 256] = crc64_table();

const fn crc64_table() -> [u64; 256] {
    // 0xad93d23594c935a9 with its bits reversed.
    const POLY_REFLECTED: u64 = 0x95ac_9329_ac4b_c9b5;
    let mut table = [0u64; 256];
    let mut index = 0;
    while index < 256 {
        let mut crc = index as u64;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ POLY_REFLECTED
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[index] = crc;
        index += 1;
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn unhex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn crc64_check_value() {
        assert_eq!(crc64(0, b"123456789"), 0xe9c6_d914_c4b8_d9ca);
    }

    #[test]
    fn strings_dump_as_redis_does() {
        // Payloads from redis-server 7.0.15's DUMP.
        let cases = [
            ("1", "00c0010a002678e7b6d10111fc"),
            ("-129", "00c17fff0a001760822854808480"),
            ("32768", "00c2008000000a0045d82eedd5bda910"),
            ("2147483648", "000a323134373438333634380a00e7b129a34c1d76ee"),
            ("0123", "0004303132330a000ae40c929e3b6422"),
            ("", "00000a005d9b5c400f7fa2da"),
            (
                "hello world hello world hello world hello world!",
                "00c314300c68656c6c6f20776f726c642068e0180b0164210a00d6c1f9826fc44347",
            ),
        ];
        for (text, payload) in cases {
            let value = Value::string_copied(text.as_bytes());
            assert_eq!(hex(&dump(&value)), payload, "{text:?}");
            let loaded = load(&unhex(payload), &EncodingLimits::default()).unwrap();
            assert_eq!(loaded.as_str().unwrap().as_ref(), text.as_bytes());
        }
    }

    #[test]
    fn bad_payloads_are_refused() {
        let limits = EncodingLimits::default();
        let mut payload = unhex("00c0010a002678e7b6d10111fc");
        assert_eq!(
            load(&payload[..9], &limits).unwrap_err(),
            PayloadError::VersionOrChecksum
        );
        payload[1] ^= 1;
        assert_eq!(
            load(&payload, &limits).unwrap_err(),
            PayloadError::VersionOrChecksum
        );
        // Version 11 with a valid CRC is still refused.
        let mut newer = vec![0u8, 0x01, b'x', 11, 0];
        let crc = crc64(0, &newer);
        newer.extend_from_slice(&crc.to_le_bytes());
        assert_eq!(
            load(&newer, &limits).unwrap_err(),
            PayloadError::VersionOrChecksum
        );
        // A valid footer around a body that is not an object.
        let mut body = vec![0x63u8, 0x05, 10, 0];
        let crc = crc64(0, &body);
        body.extend_from_slice(&crc.to_le_bytes());
        assert_eq!(load(&body, &limits).unwrap_err(), PayloadError::BadFormat);
    }

    fn round_trip(value: &Value, limits: &EncodingLimits) -> Value {
        load(&dump(value), limits).unwrap()
    }

    #[test]
    fn collections_round_trip_in_their_encodings() {
        let limits = EncodingLimits::default();
        let mut hash = Hash::new();
        for (field, value) in [("a", "1"), ("b", "hello"), ("n", "-4097")] {
            hash.set(field.as_bytes(), value.as_bytes(), &limits);
        }
        let loaded = round_trip(&Value::Hash(hash.clone()), &limits);
        assert_eq!(loaded.encoding_name(), "listpack");
        let Value::Hash(loaded) = loaded else {
            panic!("not a hash");
        };
        assert!(matches!(loaded, Hash::Listpack(_)));
        assert_eq!(
            loaded.iter().collect::<Vec<_>>(),
            hash.iter().collect::<Vec<_>>()
        );
        hash.convert_to_table();
        assert_eq!(
            round_trip(&Value::Hash(hash), &limits).encoding_name(),
            "listpack"
        );

        let mut set = Set::new();
        for member in ["5", "-70000", "3"] {
            set.add(&Bytes::from(member), &limits);
        }
        let loaded = round_trip(&Value::Set(Box::new(set)), &limits);
        let Value::Set(loaded) = loaded else {
            panic!("not a set");
        };
        assert_eq!(loaded.members(), vec!["-70000", "3", "5"]);
        let mut strings = Set::new();
        strings.add(&Bytes::from("x"), &limits);
        assert_eq!(
            round_trip(&Value::Set(Box::new(strings)), &limits).encoding_name(),
            "hashtable"
        );

        let list: VecDeque<Bytes> = (0..5000)
            .map(|i| Bytes::from(format!("item-{i}")))
            .collect();
        assert!(list_nodes(&list, -2).len() > 1);
        let Value::List(loaded) = round_trip(&Value::List(Box::new(list.clone())), &limits) else {
            panic!("not a list");
        };
        assert_eq!(*loaded, list);
    }

    #[test]
    fn corrupt_collections_are_bad_data_format() {
        let limits = EncodingLimits::default();
        let with_footer = |mut body: Vec<u8>| {
            body.extend_from_slice(&RDB_VERSION.to_le_bytes());
            let crc = crc64(0, &body);
            body.extend_from_slice(&crc.to_le_bytes());
            body
        };
        let cases: [Vec<u8>; 6] = [
            // A listpack hash whose listpack claims 99 bytes.
            vec![object_type::HASH_LISTPACK, 7, 99, 0, 0, 0, 0, 0, 0xFF],
            // A hash with a repeated field.
            vec![object_type::HASH, 2, 1, b'a', 1, b'1', 1, b'a', 1, b'2'],
            // An empty set, and an intset of width 3.
            vec![object_type::SET, 0],
            vec![object_type::SET_INTSET, 10, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0],
            // A quicklist node of an unknown container kind.
            vec![object_type::LIST_QUICKLIST_2, 1, 7, 1, b'x'],
            // A count larger than the payload.
            vec![object_type::HASH, 0x80, 0x7f, 0xff, 0xff, 0xff],
        ];
        for body in cases {
            assert_eq!(
                load(&with_footer(body.clone()), &limits).unwrap_err(),
                PayloadError::BadFormat,
                "{body:?}"
            );
        }
    }
}
