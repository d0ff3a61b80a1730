//! A string value's bytes: up to 23 inside the key's entry, longer ones in
//! a `Bytes`.
//!
//! Reading an inline value touches only the entry the lookup already brought
//! into the cache, not a second cache line for the bytes (and a third for a
//! `Bytes`' shared reference count).

use super::inline::InlineOr;
use bytes::Bytes;

/// The longest string kept inline: the type stays the size of a `Bytes`.
const INLINE_BYTES_MAX: usize = 23;

pub type StrBytes = InlineOr<INLINE_BYTES_MAX, Bytes>;

const _: () = assert!(std::mem::size_of::<StrBytes>() == std::mem::size_of::<Bytes>());

impl StrBytes {
    /// Copies a short string inline; keeps a long one's `Bytes`.
    #[inline]
    pub fn new(bytes: Bytes) -> Self {
        StrBytes::inline(&bytes).unwrap_or(StrBytes::Heap(bytes))
    }

    /// A copy of `bytes`: inline when short, else in a new `Bytes`.
    #[inline]
    pub fn copied(bytes: &[u8]) -> Self {
        StrBytes::inline(bytes).unwrap_or_else(|| StrBytes::Heap(Bytes::copy_from_slice(bytes)))
    }

    /// The bytes for a reply or another value. A short string is copied:
    /// cloning a `Bytes` counts a reference in its shared header, a cache
    /// miss of its own (and a first clone allocates that header for good),
    /// where a copy reads only what the reply writes out anyway.
    #[inline]
    pub fn to_bytes(&self) -> Bytes {
        const COPY_BYTES_MAX: usize = 64;
        match self {
            StrBytes::Heap(bytes) if bytes.len() > COPY_BYTES_MAX => bytes.clone(),
            _ => Bytes::copy_from_slice(self),
        }
    }

    /// The bytes, giving up this value (no copy for a long string).
    pub fn into_bytes(self) -> Bytes {
        match self {
            StrBytes::Heap(bytes) => bytes,
            inline => Bytes::copy_from_slice(&inline),
        }
    }
}

impl Default for StrBytes {
    fn default() -> Self {
        StrBytes::new(Bytes::new())
    }
}

impl From<Bytes> for StrBytes {
    fn from(bytes: Bytes) -> Self {
        StrBytes::new(bytes)
    }
}

impl From<StrBytes> for Vec<u8> {
    fn from(value: StrBytes) -> Self {
        match value {
            StrBytes::Heap(bytes) => Vec::from(bytes),
            inline => inline.to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_strings_are_inline_and_every_length_reads_back() {
        for len in [0, 1, 22, 23, 24, 64, 65, 1000] {
            let bytes = Bytes::from((0..len).map(|i| i as u8).collect::<Vec<u8>>());
            let value = StrBytes::new(bytes.clone());
            assert_eq!(value.is_inline(), len <= INLINE_BYTES_MAX, "len {len}");
            assert_eq!(&*value, &bytes[..]);
            assert_eq!(StrBytes::copied(&bytes), value);
            assert_eq!(StrBytes::copied(&bytes).is_inline(), value.is_inline());
            assert_eq!(value.to_bytes(), bytes);
            assert_eq!(Vec::from(value.clone()), bytes.to_vec());
            assert_eq!(value.into_bytes(), bytes);
        }
    }
}
