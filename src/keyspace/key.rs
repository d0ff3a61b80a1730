//! A key as the keyspace stores it: up to 22 bytes inside its node (see
//! `slotmap`), longer ones in their own allocation.
//!
//! A lookup compares the key it is given with the stored one. Stored in a
//! box, that comparison is a cache miss of its own on every hit; inline, the
//! bytes share the entry's cache line, and a short key costs no allocation.
//! Typical keys (`user:1000`, `key:000000123456`, `{tag}:field`) fit.

use super::inline::InlineOr;

/// The longest key kept inline: what fits in 24 bytes beside the variant
/// tag and the length (the size of a boxed slice plus its tag).
const INLINE_BYTES_MAX: usize = 22;

pub type Key = InlineOr<INLINE_BYTES_MAX, Box<[u8]>>;

const _: () = assert!(std::mem::size_of::<Key>() == 24);

impl From<&[u8]> for Key {
    #[inline]
    fn from(key: &[u8]) -> Self {
        Key::inline(key).unwrap_or_else(|| Key::Heap(key.into()))
    }
}

/// `a == b` for the short byte strings keys usually are, compared a word
/// at a time in place: the slice comparison calls `memcmp`, which for a key
/// of ten bytes costs more in the call than in the comparing.
#[inline]
pub fn key_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    // Two overlapping words cover 8 to 16 bytes; two half words, 4 to 7.
    match (a.first_chunk::<8>(), a.last_chunk::<8>()) {
        (Some(a_first), Some(a_last)) if a.len() <= 16 => {
            return b.first_chunk::<8>() == Some(a_first) && b.last_chunk::<8>() == Some(a_last);
        }
        _ => {}
    }
    match (a.first_chunk::<4>(), a.last_chunk::<4>()) {
        (Some(a_first), Some(a_last)) if a.len() < 8 => {
            b.first_chunk::<4>() == Some(a_first) && b.last_chunk::<4>() == Some(a_last)
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn key_eq_is_slice_equality() {
        let base: Vec<u8> = (0..40u8).map(|i| b'a' + i % 26).collect();
        for len in 0..=40 {
            let a = &base[..len];
            assert!(key_eq(a, a));
            if len > 0 {
                assert!(!key_eq(a, &base[..len - 1]), "len {len}");
            }
            for flip in 0..len {
                let mut b = a.to_vec();
                b[flip] ^= 0x20;
                assert!(!key_eq(a, &b), "len {len} flip {flip}");
            }
        }
    }

    #[test]
    fn short_keys_are_inline_and_long_ones_boxed() {
        for len in [0, 1, 21, 22, 23, 100] {
            let bytes: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            let key = Key::from(&bytes[..]);
            assert_eq!(&*key, &bytes[..], "len {len}");
            assert_eq!(key.is_inline(), len <= INLINE_BYTES_MAX);
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
