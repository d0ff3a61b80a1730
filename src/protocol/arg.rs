//! One argument of a request, as a command sees it: bytes borrowed from the
//! buffer they were read into.
//!
//! An argument used to be a `Bytes` slice of the read buffer, and making
//! one (and dropping it) took two atomic reference-count updates: a SET
//! paid six before it did anything, about 5% of a pipelined server's CPU.
//! An `Arg` is only a borrow. A command that keeps an argument (a list
//! push, a value stored as sent) asks for `to_bytes`, which takes the
//! reference then, and only for what it keeps.

use bytes::Bytes;
use std::ops::{Deref, Range};

#[derive(Clone, Copy)]
pub struct Arg<'a> {
    bytes: &'a [u8],
    /// What `bytes` lies in, for `to_bytes`.
    source: &'a Bytes,
}

impl<'a> Arg<'a> {
    /// All of `source`.
    #[inline]
    pub fn new(source: &'a Bytes) -> Self {
        Arg {
            bytes: source,
            source,
        }
    }

    /// `range` of `source`. Panics when the range is out of bounds, as
    /// slicing does; callers pass the spans the decoder found in it.
    #[inline]
    pub fn slice(source: &'a Bytes, range: Range<usize>) -> Self {
        Arg {
            bytes: &source[range],
            source,
        }
    }

    /// The bytes, for as long as the buffer they borrow from.
    #[inline]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// An owned handle on the same bytes, sharing the read buffer.
    #[inline]
    pub fn to_bytes(&self) -> Bytes {
        if self.bytes.len() == self.source.len() {
            self.source.clone()
        } else {
            self.source.slice_ref(self.bytes)
        }
    }
}

/// Arguments of owned values (a queued transaction, a command sent from
/// another core), for the functions that take `&[Arg<'_>]`.
pub fn args_of(owned: &[Bytes]) -> Vec<Arg<'_>> {
    owned.iter().map(Arg::new).collect()
}

/// Calls `f` with the arguments of owned values, without allocating for
/// the few arguments most commands have (a command run for another core).
pub fn with_args<R>(owned: &[Bytes], f: impl FnOnce(&[Arg<'_>]) -> R) -> R {
    const INLINE_MAX: usize = 8;
    static EMPTY: Bytes = Bytes::new();
    if owned.len() > INLINE_MAX {
        return f(&args_of(owned));
    }
    let mut args = [Arg::new(&EMPTY); INLINE_MAX];
    for (arg, value) in args.iter_mut().zip(owned) {
        *arg = Arg::new(value);
    }
    f(&args[..owned.len()])
}

/// Owned copies of the handles, for a command that outlives its read: one
/// sent to another core, queued in MULTI, or blocked.
pub fn to_owned_args(args: &[Arg<'_>]) -> Vec<Bytes> {
    args.iter().map(Arg::to_bytes).collect()
}

impl Deref for Arg<'_> {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        self.bytes
    }
}

impl AsRef<[u8]> for Arg<'_> {
    #[inline]
    fn as_ref(&self) -> &[u8] {
        self.bytes
    }
}

impl std::fmt::Debug for Arg<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "b\"{}\"", self.bytes.escape_ascii())
    }
}

impl PartialEq for Arg<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl PartialEq<[u8]> for Arg<'_> {
    fn eq(&self, other: &[u8]) -> bool {
        self.bytes == other
    }
}

impl PartialEq<&[u8]> for Arg<'_> {
    fn eq(&self, other: &&[u8]) -> bool {
        self.bytes == *other
    }
}

impl<const N: usize> PartialEq<&[u8; N]> for Arg<'_> {
    fn eq(&self, other: &&[u8; N]) -> bool {
        self.bytes == *other
    }
}

impl PartialEq<&str> for Arg<'_> {
    fn eq(&self, other: &&str) -> bool {
        self.bytes == other.as_bytes()
    }
}

/// Arguments made of words, for tests: the words' buffers are leaked.
#[cfg(test)]
pub fn test_args(words: &[&str]) -> Vec<Arg<'static>> {
    let owned: &'static [Bytes] = Vec::leak(
        words
            .iter()
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect(),
    );
    args_of(owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_bytes_shares_the_source_and_keeps_only_the_slice() {
        let source = Bytes::from_static(b"*1\r\n$4\r\nPING\r\n");
        let arg = Arg::slice(&source, 8..12);
        assert_eq!(&*arg, b"PING");
        let owned = arg.to_bytes();
        assert_eq!(&owned[..], b"PING");
        assert_eq!(owned.as_ptr(), source[8..].as_ptr());
        let whole = Arg::new(&source).to_bytes();
        assert_eq!(whole, source);
        assert!(Arg::slice(&source, 3..3).to_bytes().is_empty());
    }

    #[test]
    fn owned_arguments_round_trip() {
        let owned = vec![Bytes::from_static(b"SET"), Bytes::from_static(b"k")];
        let args = args_of(&owned);
        assert!(args[0] == b"SET");
        assert_eq!(to_owned_args(&args), owned);
        for len in [0, 2, 8, 9, 20] {
            let many: Vec<Bytes> = (0..len).map(|i| Bytes::from(i.to_string())).collect();
            let seen = with_args(&many, to_owned_args);
            assert_eq!(seen, many, "{len} arguments");
        }
    }
}
