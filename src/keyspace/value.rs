//! Values: one variant per Redis type, each with the encoding Redis would
//! report for it (OBJECT ENCODING), switched at Redis's thresholds.

use super::SeededState;
use bytes::Bytes;
use hashbrown::HashMap;

/// The configured thresholds an encoding switches at (from the config).
#[derive(Debug, Clone, Copy)]
pub struct EncodingLimits {
    pub hash_max_listpack_entries: usize,
    pub hash_max_listpack_value: usize,
}

impl Default for EncodingLimits {
    fn default() -> Self {
        EncodingLimits {
            hash_max_listpack_entries: 512,
            hash_max_listpack_value: 64,
        }
    }
}

/// A hash. Small ones keep their fields in insertion order, as Redis's
/// listpack does (so HGETALL's order and DUMP's bytes match Redis); past
/// the limits they become a hash table and never go back.
#[derive(Debug, Clone)]
pub enum Hash {
    Listpack(Vec<(Bytes, Bytes)>),
    Table(HashMap<Bytes, Bytes, SeededState>),
}

impl Hash {
    pub fn new() -> Self {
        Hash::Listpack(Vec::new())
    }

    pub fn len(&self) -> usize {
        match self {
            Hash::Listpack(pairs) => pairs.len(),
            Hash::Table(map) => map.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, field: &[u8]) -> Option<&Bytes> {
        match self {
            Hash::Listpack(pairs) => pairs.iter().find(|(f, _)| f == field).map(|(_, v)| v),
            Hash::Table(map) => map.get(field),
        }
    }

    /// Sets a field; true when it is new. Converts to a table when a field
    /// or value is too long for a listpack or there are too many fields.
    pub fn set(&mut self, field: Bytes, value: Bytes, limits: &EncodingLimits) -> bool {
        if let Hash::Listpack(_) = self {
            if field.len() > limits.hash_max_listpack_value
                || value.len() > limits.hash_max_listpack_value
            {
                self.convert_to_table();
            }
        }
        let added = match self {
            Hash::Listpack(pairs) => match pairs.iter_mut().find(|(f, _)| *f == field) {
                Some(pair) => {
                    pair.1 = value;
                    false
                }
                None => {
                    pairs.push((field, value));
                    true
                }
            },
            Hash::Table(map) => map.insert(field, value).is_none(),
        };
        if matches!(self, Hash::Listpack(pairs) if pairs.len() > limits.hash_max_listpack_entries) {
            self.convert_to_table();
        }
        added
    }

    pub fn remove(&mut self, field: &[u8]) -> bool {
        match self {
            Hash::Listpack(pairs) => match pairs.iter().position(|(f, _)| f == field) {
                Some(index) => {
                    pairs.remove(index);
                    true
                }
                None => false,
            },
            Hash::Table(map) => map.remove(field).is_some(),
        }
    }

    pub fn convert_to_table(&mut self) {
        if let Hash::Listpack(pairs) = self {
            let map = std::mem::take(pairs).into_iter().collect();
            *self = Hash::Table(map);
        }
    }

    /// Field/value pairs: insertion order for a listpack, table order else.
    pub fn iter(&self) -> Box<dyn Iterator<Item = (&Bytes, &Bytes)> + '_> {
        match self {
            Hash::Listpack(pairs) => Box::new(pairs.iter().map(|(f, v)| (f, v))),
            Hash::Table(map) => Box::new(map.iter()),
        }
    }

    fn memory_bytes(&self) -> usize {
        let payload: usize = self.iter().map(|(f, v)| f.len() + v.len()).sum();
        match self {
            Hash::Listpack(pairs) => 24 + payload + pairs.len() * 64,
            Hash::Table(map) => 48 + payload + map.capacity() * 72,
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

#[derive(Debug, Clone)]
pub enum Value {
    Str { bytes: Bytes, encoding: StrEncoding },
    Hash(Hash),
}

impl Value {
    /// A string as SET stores it: `int` when it reads as a canonical
    /// integer, else `embstr` or `raw` by length.
    pub fn string(bytes: Bytes) -> Self {
        let encoding =
            if bytes.len() <= 20 && crate::protocol::decode::parse_i64_strict(&bytes).is_some() {
                StrEncoding::Int
            } else if bytes.len() <= EMBSTR_BYTES_MAX {
                StrEncoding::Embstr
            } else {
                StrEncoding::Raw
            };
        Value::Str { bytes, encoding }
    }

    /// A string that was modified in place (APPEND, SETRANGE): always `raw`.
    pub fn raw_string(bytes: Bytes) -> Self {
        Value::Str {
            bytes,
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
        Value::Str { bytes, encoding }
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str { .. } => "string",
            Value::Hash(_) => "hash",
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
            Value::Hash(Hash::Listpack(_)) => "listpack",
            Value::Hash(Hash::Table(_)) => "hashtable",
        }
    }

    pub fn as_str(&self) -> Option<&Bytes> {
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
        }
    }
}
