//! Values: one variant per Redis type, each with the encoding Redis would
//! report for it (OBJECT ENCODING), switched at Redis's thresholds.

use super::members::MemberTable;
use super::packed::Packed;
use super::zset::ZSet;
use super::SeededState;
use super::StrBytes;
use bytes::Bytes;
use hashbrown::{HashMap, HashSet};
use std::collections::VecDeque;

/// The configured thresholds an encoding switches at (from the config).
#[derive(Debug, Clone, Copy)]
pub struct EncodingLimits {
    pub hash_max_listpack_entries: usize,
    pub hash_max_listpack_value: usize,
    pub set_max_intset_entries: usize,
    pub list_max_listpack_size: i64,
    pub zset_max_listpack_entries: usize,
    pub zset_max_listpack_value: usize,
}

impl Default for EncodingLimits {
    fn default() -> Self {
        EncodingLimits {
            hash_max_listpack_entries: 512,
            hash_max_listpack_value: 64,
            set_max_intset_entries: 512,
            list_max_listpack_size: -2,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
        }
    }
}

/// A hash. Small ones keep their fields in insertion order, as Redis's
/// listpack does (so HGETALL's order and DUMP's bytes match Redis), packed
/// field, value, field, value... in one allocation; past the limits they
/// become a hash table and never go back.
#[derive(Debug, Clone)]
pub enum Hash {
    Listpack(Packed),
    // Boxed, so a small hash's `Hash` is no larger than its packed buffer.
    Table(Box<HashMap<Bytes, Bytes, SeededState>>),
}

impl Hash {
    pub fn new() -> Self {
        Hash::Listpack(Packed::new())
    }

    pub fn len(&self) -> usize {
        match self {
            Hash::Listpack(packed) => packed.len() / 2,
            Hash::Table(map) => map.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The index (in pairs) of a listpack's field.
    fn listpack_position(packed: &Packed, field: &[u8]) -> Option<usize> {
        packed.pairs().position(|(f, _)| f == field)
    }

    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match self {
            Hash::Listpack(packed) => packed.pairs().find(|(f, _)| *f == field).map(|(_, v)| v),
            Hash::Table(map) => map.get(field).map(Bytes::as_ref),
        }
    }

    /// Sets a field; true when it is new. Converts to a table when a field
    /// or value is too long for a listpack or there are too many fields.
    pub fn set(&mut self, field: &[u8], value: &[u8], limits: &EncodingLimits) -> bool {
        if let Hash::Listpack(_) = self {
            if field.len() > limits.hash_max_listpack_value
                || value.len() > limits.hash_max_listpack_value
            {
                self.convert_to_table();
            }
        }
        let added = match self {
            Hash::Listpack(packed) => match Self::listpack_position(packed, field) {
                Some(index) => {
                    packed.replace(index * 2 + 1, value);
                    false
                }
                None => {
                    packed.push(&[field, value]);
                    true
                }
            },
            // Copies: arguments are slices of a whole read buffer, and a
            // stored field must not pin the buffer it arrived in.
            Hash::Table(map) => map
                .insert(Bytes::copy_from_slice(field), Bytes::copy_from_slice(value))
                .is_none(),
        };
        if matches!(self, Hash::Listpack(_)) && self.len() > limits.hash_max_listpack_entries {
            self.convert_to_table();
        }
        added
    }

    pub fn remove(&mut self, field: &[u8]) -> bool {
        match self {
            Hash::Listpack(packed) => match Self::listpack_position(packed, field) {
                Some(index) => {
                    packed.remove(index * 2, 2);
                    true
                }
                None => false,
            },
            Hash::Table(map) => map.remove(field).is_some(),
        }
    }

    pub fn convert_to_table(&mut self) {
        if let Hash::Listpack(packed) = self {
            let map = packed
                .pairs()
                .map(|(f, v)| (Bytes::copy_from_slice(f), Bytes::copy_from_slice(v)))
                .collect();
            *self = Hash::Table(Box::new(map));
        }
    }

    /// Field/value pairs: insertion order for a listpack, table order else.
    pub fn iter(&self) -> Box<dyn Iterator<Item = (&[u8], &[u8])> + '_> {
        match self {
            Hash::Listpack(packed) => Box::new(packed.pairs()),
            Hash::Table(map) => Box::new(map.iter().map(|(f, v)| (f.as_ref(), v.as_ref()))),
        }
    }

    fn memory_bytes(&self) -> usize {
        let own = std::mem::size_of::<Self>();
        match self {
            Hash::Listpack(packed) => own + packed.allocated_bytes(),
            Hash::Table(map) => {
                let payload: usize = map.iter().map(|(f, v)| f.len() + v.len()).sum();
                own + 48 + payload + map.capacity() * 72
            }
        }
    }
}

impl Default for Hash {
    fn default() -> Self {
        Hash::new()
    }
}

/// How Redis would encode a string, reported by OBJECT ENCODING.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrEncoding {
    Int,
    Embstr,
    Raw,
}

/// Redis keeps strings of up to 44 bytes in one allocation with their header.
pub const EMBSTR_BYTES_MAX: usize = 44;

/// A set. While every member is an integer (and there are at most
/// `set-max-intset-entries`), Redis's intset: sorted integers with the
/// byte width Redis's intset would use (it only ever grows). Else a table
/// that also picks a member at random in O(1) (`MemberTable`).
#[derive(Debug, Clone)]
pub enum Set {
    Intset { values: Vec<i64>, width: u8 },
    Table(MemberTable),
}

/// The intset width (bytes per integer) that holds `value`.
pub fn intset_width(value: i64) -> u8 {
    if i16::try_from(value).is_ok() {
        2
    } else if i32::try_from(value).is_ok() {
        4
    } else {
        8
    }
}

impl Set {
    pub fn new() -> Self {
        Set::Intset {
            values: Vec::new(),
            width: 2,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Set::Intset { values, .. } => values.len(),
            Set::Table(set) => set.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn contains(&self, member: &[u8]) -> bool {
        match self {
            Set::Intset { values, .. } => crate::protocol::decode::parse_i64_strict(member)
                .is_some_and(|v| values.binary_search(&v).is_ok()),
            Set::Table(set) => set.contains(member),
        }
    }

    /// Adds a member; true when it is new.
    pub fn add(&mut self, member: &[u8], limits: &EncodingLimits) -> bool {
        if let Set::Intset { values, width } = self {
            if let Some(value) = crate::protocol::decode::parse_i64_strict(member) {
                let Err(at) = values.binary_search(&value) else {
                    return false;
                };
                values.insert(at, value);
                *width = (*width).max(intset_width(value));
                if values.len() > limits.set_max_intset_entries {
                    self.convert_to_table();
                }
                return true;
            }
            self.convert_to_table();
        }
        match self {
            // A copy: the member may be a slice of a whole read buffer.
            Set::Table(set) => set.insert(Bytes::copy_from_slice(member)),
            Set::Intset { .. } => false,
        }
    }

    pub fn remove(&mut self, member: &[u8]) -> bool {
        match self {
            Set::Intset { values, .. } => {
                let Some(value) = crate::protocol::decode::parse_i64_strict(member) else {
                    return false;
                };
                match values.binary_search(&value) {
                    Ok(at) => {
                        values.remove(at);
                        true
                    }
                    Err(_) => false,
                }
            }
            Set::Table(set) => set.remove(member),
        }
    }

    pub fn convert_to_table(&mut self) {
        if let Set::Intset { values, .. } = self {
            let table = values.iter().map(|v| Bytes::from(v.to_string())).collect();
            *self = Set::Table(table);
        }
    }

    /// The member at `position` (below `len`), in no particular order.
    pub fn member_at(&self, position: usize) -> Bytes {
        match self {
            Set::Intset { values, .. } => Bytes::from(values[position].to_string()),
            Set::Table(set) => set.get(position).clone(),
        }
    }

    /// `wanted` distinct members chosen at random (every member when
    /// `wanted` is the size or more), without copying the others while
    /// they are under a quarter of the set: positions are drawn (Floyd's
    /// sampling) and their members read, O(wanted). SPOP and SRANDMEMBER
    /// of a few members cost the same on a set of any size.
    pub fn random_members(&self, wanted: usize, mut seed: u64) -> Vec<Bytes> {
        let len = self.len();
        if wanted >= len {
            return self.members();
        }
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        if wanted > len / 4 {
            // A partial Fisher-Yates shuffle of a copy.
            let mut members = self.members();
            for index in 0..wanted {
                let pick = index + (next() % (len - index) as u64) as usize;
                members.swap(index, pick);
            }
            members.truncate(wanted);
            return members;
        }
        /// Up to this many positions, a scan finds a drawn one sooner than
        /// a hash set (which SPOP of one member need not allocate).
        const SCANNED_MAX: usize = 64;
        let mut drawn: HashSet<usize> = HashSet::new();
        let mut positions: Vec<usize> = Vec::with_capacity(wanted);
        for top in len - wanted..len {
            let pick = (next() % (top as u64 + 1)) as usize;
            let taken = if wanted <= SCANNED_MAX {
                positions.contains(&pick)
            } else {
                !drawn.insert(pick)
            };
            let position = if taken { top } else { pick };
            if taken && wanted > SCANNED_MAX {
                drawn.insert(top);
            }
            positions.push(position);
        }
        positions
            .into_iter()
            .map(|position| self.member_at(position))
            .collect()
    }

    /// The members: ascending for an intset, table order else.
    pub fn members(&self) -> Vec<Bytes> {
        match self {
            Set::Intset { values, .. } => {
                values.iter().map(|v| Bytes::from(v.to_string())).collect()
            }
            Set::Table(set) => set.iter().cloned().collect(),
        }
    }

    fn memory_bytes(&self) -> usize {
        match self {
            Set::Intset { values, width } => 16 + values.len() * *width as usize,
            Set::Table(set) => {
                48 + set.overhead_bytes() + set.iter().map(|m| m.len()).sum::<usize>()
            }
        }
    }
}

impl Default for Set {
    fn default() -> Self {
        Set::new()
    }
}

#[derive(Debug, Clone)]
pub enum Value {
    Str {
        bytes: StrBytes,
        encoding: StrEncoding,
    },
    // A key's entry stays as small as a string's (Value is 40 bytes, the
    // size of the `Str` variant): hashes and sorted sets are 24 bytes (a
    // packed buffer, or a boxed table), so they live inline; sets and
    // lists are boxed.
    Hash(Hash),
    Set(Box<Set>),
    /// A list. Redis 7.0 reports every list as `quicklist`; DUMP splits it
    /// into listpack nodes by `list-max-listpack-size`.
    List(Box<VecDeque<Bytes>>),
    ZSet(ZSet),
    Stream(Box<super::stream::Stream>),
}

/// How SET stores a string: `int` when it reads as a canonical integer,
/// else `embstr` or `raw` by length.
fn string_encoding(bytes: &[u8]) -> StrEncoding {
    if bytes.len() <= 20 && crate::protocol::decode::parse_i64_strict(bytes).is_some() {
        StrEncoding::Int
    } else if bytes.len() <= EMBSTR_BYTES_MAX {
        StrEncoding::Embstr
    } else {
        StrEncoding::Raw
    }
}

impl Value {
    /// A string as SET stores it: `int` when it reads as a canonical
    /// integer, else `embstr` or `raw` by length.
    pub fn string(bytes: Bytes) -> Self {
        Value::Str {
            encoding: string_encoding(&bytes),
            bytes: bytes.into(),
        }
    }

    /// `string` of a copy of `bytes` (an argument of the request): a short
    /// one is copied straight into the entry, with no allocation on the way.
    pub fn string_copied(bytes: &[u8]) -> Self {
        Value::Str {
            encoding: string_encoding(bytes),
            bytes: StrBytes::copied(bytes),
        }
    }

    /// A string that was modified in place (APPEND, SETRANGE): always `raw`.
    pub fn raw_string(bytes: Bytes) -> Self {
        Value::Str {
            bytes: bytes.into(),
            encoding: StrEncoding::Raw,
        }
    }

    /// A string made by formatting a number (INCRBYFLOAT): `embstr`/`raw`.
    pub fn formatted_string(bytes: Bytes) -> Self {
        let encoding = if bytes.len() <= EMBSTR_BYTES_MAX {
            StrEncoding::Embstr
        } else {
            StrEncoding::Raw
        };
        Value::Str {
            bytes: bytes.into(),
            encoding,
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str { .. } => "string",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::List(_) => "list",
            Value::ZSet(_) => "zset",
            Value::Stream(_) => "stream",
        }
    }

    pub fn encoding_name(&self) -> &'static str {
        match self {
            Value::Str {
                encoding: StrEncoding::Int,
                ..
            } => "int",
            Value::Str {
                encoding: StrEncoding::Embstr,
                ..
            } => "embstr",
            Value::Str {
                encoding: StrEncoding::Raw,
                ..
            } => "raw",
            Value::Hash(hash) => match hash {
                Hash::Listpack(_) => "listpack",
                Hash::Table(_) => "hashtable",
            },
            Value::Set(set) => match **set {
                Set::Intset { .. } => "intset",
                Set::Table(_) => "hashtable",
            },
            Value::List(_) => "quicklist",
            Value::ZSet(zset) => match zset {
                ZSet::Listpack(_) => "listpack",
                ZSet::Skiplist(_) => "skiplist",
            },
            Value::Stream(_) => "stream",
        }
    }

    pub fn as_str(&self) -> Option<&StrBytes> {
        match self {
            Value::Str { bytes, .. } => Some(bytes),
            _ => None,
        }
    }

    /// An estimate of the bytes this value uses, for MEMORY USAGE.
    pub fn memory_bytes(&self) -> usize {
        match self {
            Value::Str { bytes, .. } => 16 + bytes.len(),
            Value::Hash(hash) => hash.memory_bytes(),
            Value::Set(set) => set.memory_bytes(),
            Value::ZSet(zset) => zset.memory_bytes(),
            Value::Stream(stream) => stream.memory_bytes(),
            Value::List(items) => {
                32 + items.capacity() * 32 + items.iter().map(|i| i.len()).sum::<usize>()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distinct members of the set, as many as asked, single picks spread
    /// often (a tenth of the set in 200 single picks): for an intset, a table, and counts on both sides of the
    /// sampling limit.
    #[test]
    fn random_members_are_distinct_members_spread_over_the_set() {
        let limits = EncodingLimits::default();
        for (size, textual) in [(100usize, false), (1000, true)] {
            let mut set = Set::new();
            for i in 0..size {
                let member = if textual {
                    format!("m{i}")
                } else {
                    i.to_string()
                };
                set.add(member.as_bytes(), &limits);
            }
            assert_eq!(matches!(set, Set::Intset { .. }), !textual);
            let all: std::collections::HashSet<Bytes> = set.members().into_iter().collect();
            let mut seen = std::collections::HashSet::new();
            let mut seed = 0x9e37_79b9_7f4a_7c15u64;
            for wanted in [1usize, 2, 5, 64, 65, 200, size, size + 3] {
                for _ in 0..200 {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1) | 1;
                    let picked = set.random_members(wanted, seed);
                    assert_eq!(picked.len(), wanted.min(size), "{wanted} of {size}");
                    let distinct: std::collections::HashSet<&Bytes> = picked.iter().collect();
                    assert_eq!(distinct.len(), picked.len(), "distinct");
                    assert!(picked.iter().all(|m| all.contains(m)), "members");
                    if wanted == 1 {
                        seen.extend(picked);
                    }
                }
            }
            assert!(
                seen.len() > size / 10,
                "single picks spread: {}",
                seen.len()
            );
        }
    }

    #[test]
    fn a_value_is_no_larger_than_a_string() {
        assert_eq!(std::mem::size_of::<Value>(), 40);
    }

    #[test]
    fn a_small_hash_is_its_packed_buffer() {
        assert_eq!(std::mem::size_of::<Hash>(), std::mem::size_of::<Packed>());
        assert_eq!(std::mem::size_of::<ZSet>(), std::mem::size_of::<Packed>());
    }

    fn pairs(hash: &Hash) -> Vec<(String, String)> {
        hash.iter()
            .map(|(f, v)| {
                let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
                (text(f), text(v))
            })
            .collect()
    }

    #[test]
    fn a_listpack_hash_keeps_insertion_order() {
        let limits = EncodingLimits::default();
        let mut hash = Hash::new();
        assert!(hash.set(b"b", b"1", &limits));
        assert!(hash.set(b"a", b"", &limits));
        assert!(hash.set(b"", b"empty field", &limits));
        // Overwriting keeps the position, with a longer and a shorter value.
        assert!(!hash.set(b"b", b"a longer value", &limits));
        assert!(!hash.set(b"a", b"2", &limits));
        assert_eq!(
            pairs(&hash),
            [
                ("b".into(), "a longer value".into()),
                ("a".into(), "2".into()),
                ("".into(), "empty field".into())
            ]
        );
        // A value equal to a field name is not a field.
        assert_eq!(hash.get(b"2"), None);
        assert!(!hash.remove(b"2"));
        assert_eq!(hash.get(b""), Some(&b"empty field"[..]));
        assert!(hash.remove(b"b"));
        assert_eq!(hash.len(), 2);
        assert_eq!(
            pairs(&hash),
            [("a".into(), "2".into()), ("".into(), "empty field".into())]
        );
        assert!(matches!(hash, Hash::Listpack(_)));
    }

    #[test]
    fn a_hash_converts_at_the_limits_and_stays_a_table() {
        let limits = EncodingLimits {
            hash_max_listpack_entries: 2,
            hash_max_listpack_value: 4,
            ..EncodingLimits::default()
        };
        let mut hash = Hash::new();
        hash.set(b"a", b"1234", &limits);
        hash.set(b"b", b"2", &limits);
        assert!(matches!(hash, Hash::Listpack(_)));
        hash.set(b"c", b"3", &limits);
        assert!(matches!(hash, Hash::Table(_)));
        assert_eq!(hash.get(b"a"), Some(&b"1234"[..]));
        hash.remove(b"a");
        hash.remove(b"b");
        assert!(matches!(hash, Hash::Table(_)));

        let mut long = Hash::new();
        long.set(b"f", b"12345", &limits);
        assert!(matches!(long, Hash::Table(_)));
        let mut long_field = Hash::new();
        long_field.set(b"field", b"1", &limits);
        assert!(matches!(long_field, Hash::Table(_)));
    }
}
