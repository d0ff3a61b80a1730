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

/// The arguments of a command sent to another core: one handle on the
/// buffer they lie in and where each one is.
///
/// A `Vec<Bytes>` would take a reference per argument on the sending core
/// and give each back on the receiving one: atomic operations on the read
/// buffer's counter, a cache line the sender's core keeps using, plus an
/// allocation made on one core and freed on the other. This takes one
/// reference and, for up to `SENT_INLINE_MAX` arguments, allocates nothing.
pub struct SentArgs {
    source: Bytes,
    spans: SentSpans,
}

const SENT_INLINE_MAX: usize = 6;

enum SentSpans {
    /// Up to `SENT_INLINE_MAX` arguments in a buffer under 4 GiB.
    Inline {
        len: u8,
        spans: [(u32, u32); SENT_INLINE_MAX],
    },
    Heap(Vec<(usize, usize)>),
}

impl SentArgs {
    pub fn new(args: &[Arg<'_>]) -> Self {
        let shared = args.first().is_some_and(|first| {
            args.iter()
                .all(|arg| std::ptr::eq(arg.source, first.source))
        });
        // Arguments from different buffers (an inline command, a command
        // of a transaction) are copied into one; they are rare and short.
        let source = match args.first() {
            Some(first) if shared => first.source.clone(),
            _ => Bytes::from(
                args.iter()
                    .flat_map(|arg| arg.bytes.iter().copied())
                    .collect::<Vec<u8>>(),
            ),
        };
        let mut offset = 0;
        let mut span_of = |arg: &Arg<'_>| {
            let start = if shared {
                arg.bytes.as_ptr() as usize - source.as_ptr() as usize
            } else {
                offset
            };
            offset += arg.bytes.len();
            (start, start + arg.bytes.len())
        };
        let spans = if args.len() <= SENT_INLINE_MAX && source.len() <= u32::MAX as usize {
            let mut spans = [(0, 0); SENT_INLINE_MAX];
            for (span, arg) in spans.iter_mut().zip(args) {
                let (start, end) = span_of(arg);
                *span = (start as u32, end as u32);
            }
            SentSpans::Inline {
                len: args.len() as u8,
                spans,
            }
        } else {
            SentSpans::Heap(args.iter().map(span_of).collect())
        };
        SentArgs { source, spans }
    }

    fn span(&self, index: usize) -> Option<(usize, usize)> {
        match &self.spans {
            SentSpans::Inline { len, spans } => spans[..*len as usize]
                .get(index)
                .map(|&(start, end)| (start as usize, end as usize)),
            SentSpans::Heap(spans) => spans.get(index).copied(),
        }
    }

    /// Argument `index`'s bytes.
    pub fn get(&self, index: usize) -> Option<&[u8]> {
        let (start, end) = self.span(index)?;
        self.source.get(start..end)
    }

    /// Calls `f` with the arguments, borrowed from a stack array when they
    /// are few.
    pub fn with<R>(&self, f: impl FnOnce(&[Arg<'_>]) -> R) -> R {
        match &self.spans {
            SentSpans::Inline { len, spans } => {
                let mut args = [Arg::new(&self.source); SENT_INLINE_MAX];
                for (arg, &(start, end)) in args.iter_mut().zip(&spans[..*len as usize]) {
                    *arg = Arg::slice(&self.source, start as usize..end as usize);
                }
                f(&args[..*len as usize])
            }
            SentSpans::Heap(spans) => f(&spans
                .iter()
                .map(|&(start, end)| Arg::slice(&self.source, start..end))
                .collect::<Vec<_>>()),
        }
    }
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
    fn sent_arguments_share_one_buffer_or_copy_into_one() {
        let source = Bytes::from_static(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nvv\r\n");
        let args = [
            Arg::slice(&source, 8..11),
            Arg::slice(&source, 17..18),
            Arg::slice(&source, 24..26),
        ];
        let sent = SentArgs::new(&args);
        assert_eq!(sent.source.as_ptr(), source.as_ptr(), "shared, not copied");
        assert_eq!(sent.get(1), Some(&b"k"[..]));
        assert_eq!(sent.get(3), None);
        let words = sent.with(|args| args.iter().map(|a| a.to_vec()).collect::<Vec<_>>());
        assert_eq!(words, [b"SET".to_vec(), b"k".to_vec(), b"vv".to_vec()]);

        // Arguments of different buffers, and more than fit inline.
        for len in [0, 1, 6, 7, 40] {
            let owned: Vec<Bytes> = (0..len).map(|i| Bytes::from(format!("a{i}"))).collect();
            let sent = SentArgs::new(&args_of(&owned));
            assert_eq!(sent.with(to_owned_args), owned, "{len} arguments");
        }
    }

    #[test]
    fn owned_arguments_round_trip() {
        let owned = vec![Bytes::from_static(b"SET"), Bytes::from_static(b"k")];
        let args = args_of(&owned);
        assert!(args[0] == b"SET");
        assert_eq!(to_owned_args(&args), owned);
    }
}
