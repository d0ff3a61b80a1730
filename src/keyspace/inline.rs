//! Bytes kept inline when there are at most `N` of them, else in a heap
//! type `H` (a boxed slice, a `Bytes`). The base of `Key` and `StrBytes`.
//!
//! Short keys and values are most of them. Inline, they cost no allocation
//! of their own, and reading one touches only the node or entry the hash
//! lookup already brought into the cache, not another cache line elsewhere.
//! Hash, equality and order are the bytes', whichever the representation.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

#[derive(Clone)]
pub enum InlineOr<const N: usize, H> {
    Inline { len: u8, bytes: [u8; N] },
    Heap(H),
}

impl<const N: usize, H> InlineOr<N, H> {
    /// `slice` inline, or None when it is longer than `N`.
    #[inline]
    pub fn inline(slice: &[u8]) -> Option<Self> {
        (slice.len() <= N).then(|| {
            let mut bytes = [0; N];
            bytes[..slice.len()].copy_from_slice(slice);
            InlineOr::Inline {
                len: slice.len() as u8,
                bytes,
            }
        })
    }

    pub fn is_inline(&self) -> bool {
        matches!(self, InlineOr::Inline { .. })
    }
}

impl<const N: usize, H: Deref<Target = [u8]>> Deref for InlineOr<N, H> {
    type Target = [u8];

    #[inline]
    fn deref(&self) -> &[u8] {
        match self {
            InlineOr::Inline { len, bytes } => &bytes[..*len as usize],
            InlineOr::Heap(heap) => heap,
        }
    }
}

impl<const N: usize, H: Deref<Target = [u8]>> AsRef<[u8]> for InlineOr<N, H> {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl<const N: usize, H: Deref<Target = [u8]>> Borrow<[u8]> for InlineOr<N, H> {
    fn borrow(&self) -> &[u8] {
        self
    }
}

impl<const N: usize, H: Deref<Target = [u8]>> Hash for InlineOr<N, H> {
    #[inline]
    fn hash<S: Hasher>(&self, state: &mut S) {
        (**self).hash(state)
    }
}

impl<const N: usize, H: Deref<Target = [u8]>> PartialEq for InlineOr<N, H> {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<const N: usize, H: Deref<Target = [u8]>> Eq for InlineOr<N, H> {}

impl<const N: usize, H: Deref<Target = [u8]>> PartialOrd for InlineOr<N, H> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<const N: usize, H: Deref<Target = [u8]>> Ord for InlineOr<N, H> {
    fn cmp(&self, other: &Self) -> Ordering {
        (**self).cmp(&**other)
    }
}

impl<const N: usize, H: Deref<Target = [u8]>> std::fmt::Debug for InlineOr<N, H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self))
    }
}
