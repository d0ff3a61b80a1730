//! A key as the keyspace stores it: up to 22 bytes inside the map's bucket,
//! longer ones in their own allocation.
//!
//! A lookup compares the key it is given with the stored one. Stored in a
//! box, that comparison is a cache miss of its own on every hit; inline, the
//! bytes share the bucket's cache line, and a short key costs no allocation.
//! Typical keys (`user:1000`, `key:000000123456`, `{tag}:field`) fit.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

/// The longest key kept inline: what fits in 24 bytes beside the variant
/// tag and the length (the size of a boxed slice plus its tag).
const INLINE_BYTES_MAX: usize = 22;

#[derive(Clone)]
pub enum Key {
    Inline {
        len: u8,
        bytes: [u8; INLINE_BYTES_MAX],
    },
    Boxed(Box<[u8]>),
}

const _: () = assert!(std::mem::size_of::<Key>() == 24);

impl From<&[u8]> for Key {
    #[inline]
    fn from(key: &[u8]) -> Self {
        if key.len() <= INLINE_BYTES_MAX {
            let mut bytes = [0; INLINE_BYTES_MAX];
            bytes[..key.len()].copy_from_slice(key);
            Key::Inline {
                len: key.len() as u8,
                bytes,
            }
        } else {
            Key::Boxed(key.into())
        }
    }
}

impl Deref for Key {
    type Target = [u8];

    #[inline]
    fn deref(&self) -> &[u8] {
        match self {
            Key::Inline { len, bytes } => &bytes[..*len as usize],
            Key::Boxed(boxed) => boxed,
        }
    }
}

impl AsRef<[u8]> for Key {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

// Hash, equality and order are the bytes', so that a map of `Key` can be
// searched with a `&[u8]`.
impl Borrow<[u8]> for Key {
    fn borrow(&self) -> &[u8] {
        self
    }
}

impl Hash for Key {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        (**self).hash(state)
    }
}

impl PartialEq for Key {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for Key {}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Self) -> Ordering {
        (**self).cmp(&**other)
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn short_keys_are_inline_and_long_ones_boxed() {
        for len in [0, 1, 21, 22, 23, 100] {
            let bytes: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            let key = Key::from(&bytes[..]);
            assert_eq!(&*key, &bytes[..], "len {len}");
            assert_eq!(matches!(key, Key::Inline { .. }), len <= INLINE_BYTES_MAX);
        }
    }

    #[test]
    fn hashes_and_orders_as_its_bytes() {
        let state = foldhash::fast::FixedState::default();
        for (a, b) in [
            (&b"abc"[..], &b"abd"[..]),
            (b"", b"a"),
            (&[7u8; 30][..], &[7u8; 22][..]),
        ] {
            let (ka, kb) = (Key::from(a), Key::from(b));
            assert_eq!(state.hash_one(&ka), state.hash_one(a));
            assert_eq!(ka.cmp(&kb), a.cmp(b));
            assert_eq!(ka == kb, a == b);
        }
        let mut map: hashbrown::HashMap<Key, u32> = hashbrown::HashMap::new();
        map.insert(Key::from(&b"user:1000"[..]), 1);
        map.insert(Key::from(&[b'x'; 40][..]), 2);
        assert_eq!(map.get(&b"user:1000"[..]), Some(&1));
        assert_eq!(map.get(&[b'x'; 40][..]), Some(&2));
        assert_eq!(map.get(&b"user:100"[..]), None);
    }
}
