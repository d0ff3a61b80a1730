//! Values. Strings only for now; the other types join as their commands do.

use bytes::Bytes;

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
        }
    }

    pub fn as_str(&self) -> Option<&Bytes> {
        match self {
            Value::Str { bytes, .. } => Some(bytes),
        }
    }

    /// An estimate of the bytes this value uses, for MEMORY USAGE.
    pub fn memory_bytes(&self) -> usize {
        match self {
            Value::Str { bytes, .. } => 16 + bytes.len(),
        }
    }
}
