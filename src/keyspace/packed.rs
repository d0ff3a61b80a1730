//! A sequence of byte strings in one heap allocation, the compact encoding
//! of small hashes and sorted sets (what Redis's listpack is for them).
//!
//! Each entry is its length as a LEB128 varint (7 bits a byte, low bits
//! first, the high bit set on all but the last byte), then its bytes. The
//! buffer is a boxed slice: its capacity is its length, so every change
//! reallocates to the exact size, as a listpack does, and no growth slack
//! is kept. Entries are found by walking from the start, which is what a
//! listpack does too; the sequences kept this way are small.

use std::ops::Range;

#[derive(Clone, Default, PartialEq, Eq)]
pub struct Packed(Box<[u8]>);

impl std::fmt::Debug for Packed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.iter().map(bytes::Bytes::copy_from_slice))
            .finish()
    }
}

/// The bytes a varint of `value` takes.
pub(crate) fn varint_bytes(mut value: usize) -> usize {
    let mut count = 1;
    while value >= 0x80 {
        value >>= 7;
        count += 1;
    }
    count
}

/// Writes `value` as a varint at the start of `out`; returns its size.
fn write_varint(out: &mut [u8], mut value: usize) -> usize {
    let mut at = 0;
    while value >= 0x80 {
        out[at] = (value as u8 & 0x7f) | 0x80;
        value >>= 7;
        at += 1;
    }
    out[at] = value as u8;
    at + 1
}

/// The varint at the start of `data`: (value, bytes it took).
pub(crate) fn read_varint(data: &[u8]) -> (usize, usize) {
    let (mut value, mut shift, mut at) = (0usize, 0, 0);
    loop {
        let byte = data[at];
        value |= usize::from(byte & 0x7f) << shift;
        at += 1;
        if byte < 0x80 {
            return (value, at);
        }
        shift += 7;
    }
}

/// Appends `value` as a varint (streams pack their entries with it).
pub(crate) fn push_varint(out: &mut Vec<u8>, value: usize) {
    let mut buf = [0u8; 10];
    let size = write_varint(&mut buf, value);
    out.extend_from_slice(&buf[..size]);
}

/// Appends an entry as a `Packed` holds it: its length, then its bytes.
pub(crate) fn push_entry(out: &mut Vec<u8>, entry: &[u8]) {
    push_varint(out, entry.len());
    out.extend_from_slice(entry);
}

/// The entries of bytes in `Packed`'s layout that live elsewhere (a
/// stream node's items).
pub(crate) fn iter_raw(bytes: &[u8]) -> Iter<'_> {
    Iter { rest: bytes }
}

/// The bytes `entries` take once encoded.
fn encoded_bytes(entries: &[&[u8]]) -> usize {
    entries
        .iter()
        .map(|e| varint_bytes(e.len()) + e.len())
        .sum()
}

/// The entries of a `Packed`, front to back.
#[derive(Clone)]
pub struct Iter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.rest.is_empty() {
            return None;
        }
        let (length, header) = read_varint(self.rest);
        let (entry, rest) = self.rest[header..].split_at(length);
        self.rest = rest;
        Some(entry)
    }
}

/// The entries of a `Packed` two by two (a hash's fields and values, a
/// sorted set's members and scores).
#[derive(Clone)]
pub struct Pairs<'a>(Iter<'a>);

impl<'a> Iterator for Pairs<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        Some((self.0.next()?, self.0.next()?))
    }
}

impl Packed {
    pub fn new() -> Self {
        Packed::default()
    }

    /// The number of entries (a walk over them).
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The bytes of the one allocation.
    pub fn allocated_bytes(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> Iter<'_> {
        Iter { rest: &self.0 }
    }

    pub fn pairs(&self) -> Pairs<'_> {
        Pairs(self.iter())
    }

    /// The entry at `index`.
    pub fn get(&self, index: usize) -> Option<&[u8]> {
        self.iter().nth(index)
    }

    /// The byte offset where the entry at `index` starts (the end of the
    /// buffer for `index == len()`); None past that.
    fn offset(&self, index: usize) -> Option<usize> {
        let mut at = 0;
        for _ in 0..index {
            if at == self.0.len() {
                return None;
            }
            let (length, header) = read_varint(&self.0[at..]);
            at += header + length;
        }
        Some(at)
    }

    /// The byte range of the entries `index..index + count`.
    fn byte_range(&self, index: usize, count: usize) -> Range<usize> {
        let start = self
            .offset(index)
            .unwrap_or_else(|| panic!("packed index {index} out of range"));
        let mut end = start;
        for _ in 0..count {
            assert!(end < self.0.len(), "packed range past the end");
            let (length, header) = read_varint(&self.0[end..]);
            end += header + length;
        }
        start..end
    }

    /// Replaces the bytes in `range` with `entries`, reallocating to the
    /// exact new size.
    fn splice(&mut self, range: Range<usize>, entries: &[&[u8]]) {
        let added = encoded_bytes(entries);
        let (old_len, removed) = (self.0.len(), range.len());
        if added == removed {
            // Same size: overwrite in place, no reallocation.
            write_entries(&mut self.0[range.start..range.end], entries);
            return;
        }
        let new_len = old_len - removed + added;
        let mut buffer = std::mem::take(&mut self.0).into_vec();
        if added > removed {
            buffer.reserve_exact(added - removed);
            buffer.resize(new_len, 0);
            buffer.copy_within(range.end..old_len, range.start + added);
        } else {
            buffer.copy_within(range.end..old_len, range.start + added);
            buffer.truncate(new_len);
        }
        write_entries(&mut buffer[range.start..range.start + added], entries);
        // Drops any spare capacity, so the allocation is exactly new_len.
        self.0 = buffer.into_boxed_slice();
    }

    /// Appends `entries` at the end.
    pub fn push(&mut self, entries: &[&[u8]]) {
        let end = self.0.len();
        self.splice(end..end, entries);
    }

    /// Inserts `entries` before the entry at `index` (at the end for
    /// `index == len()`).
    pub fn insert(&mut self, index: usize, entries: &[&[u8]]) {
        let at = self.byte_range(index, 0).start;
        self.splice(at..at, entries);
    }

    /// Replaces the entry at `index` with `entry`.
    pub fn replace(&mut self, index: usize, entry: &[u8]) {
        let range = self.byte_range(index, 1);
        self.splice(range, &[entry]);
    }

    /// Removes the entries `index..index + count`.
    pub fn remove(&mut self, index: usize, count: usize) {
        let range = self.byte_range(index, count);
        self.splice(range, &[]);
    }
}

/// Writes `entries` encoded into `out`, which is exactly their size.
fn write_entries(out: &mut [u8], entries: &[&[u8]]) {
    let mut at = 0;
    for entry in entries {
        at += write_varint(&mut out[at..], entry.len());
        out[at..at + entry.len()].copy_from_slice(entry);
        at += entry.len();
    }
    debug_assert_eq!(at, out.len());
}

impl<'a> FromIterator<&'a [u8]> for Packed {
    fn from_iter<I: IntoIterator<Item = &'a [u8]>>(entries: I) -> Self {
        let mut buffer = Vec::new();
        let mut header = [0u8; 10];
        for entry in entries {
            let size = write_varint(&mut header, entry.len());
            buffer.extend_from_slice(&header[..size]);
            buffer.extend_from_slice(entry);
        }
        Packed(buffer.into_boxed_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(packed: &Packed) -> Vec<Vec<u8>> {
        packed.iter().map(<[u8]>::to_vec).collect()
    }

    fn filled(length: usize, byte: u8) -> Vec<u8> {
        vec![byte; length]
    }

    #[test]
    fn varints_around_their_boundaries() {
        for (value, size) in [
            (0, 1),
            (1, 1),
            (127, 1),
            (128, 2),
            (16383, 2),
            (16384, 3),
            (2_097_151, 3),
            (2_097_152, 4),
            (usize::MAX, 10),
        ] {
            assert_eq!(varint_bytes(value), size, "{value}");
            let mut out = [0u8; 10];
            assert_eq!(write_varint(&mut out, value), size, "{value}");
            assert_eq!(read_varint(&out), (value, size), "{value}");
        }
    }

    #[test]
    fn an_empty_sequence() {
        let packed = Packed::new();
        assert!(packed.is_empty());
        assert_eq!(packed.len(), 0);
        assert_eq!(packed.allocated_bytes(), 0);
        assert_eq!(packed.get(0), None);
        assert_eq!(packed.pairs().count(), 0);
    }

    #[test]
    fn empty_entries_are_entries() {
        let mut packed = Packed::new();
        packed.push(&[b"", b""]);
        assert!(!packed.is_empty());
        assert_eq!(packed.len(), 2);
        assert_eq!(packed.allocated_bytes(), 2);
        assert_eq!(packed.get(1), Some(&b""[..]));
        packed.insert(1, &[b"x"]);
        assert_eq!(entries(&packed), [&b""[..], b"x", b""]);
        packed.remove(0, 1);
        packed.remove(1, 1);
        assert_eq!(entries(&packed), [b"x"]);
        packed.replace(0, b"");
        assert_eq!(entries(&packed), [b""]);
        packed.remove(0, 1);
        assert!(packed.is_empty());
        assert_eq!(packed.allocated_bytes(), 0);
    }

    #[test]
    fn entries_around_the_varint_boundaries() {
        let lengths = [0usize, 1, 127, 128, 129, 16383, 16384, 16385, 70000];
        let items: Vec<Vec<u8>> = lengths
            .iter()
            .enumerate()
            .map(|(i, &length)| filled(length, b'a' + i as u8))
            .collect();
        let mut packed = Packed::new();
        for item in &items {
            packed.push(&[item]);
        }
        assert_eq!(entries(&packed), items);
        let expected: usize = lengths.iter().map(|&l| l + varint_bytes(l)).sum();
        assert_eq!(packed.allocated_bytes(), expected);
        assert_eq!(
            items.iter().map(|i| i.as_slice()).collect::<Packed>(),
            packed
        );
        // Replacing each entry with one of another size class, both ways.
        let mut replaced = items.clone();
        for (index, &length) in lengths.iter().rev().enumerate() {
            let item = filled(length, b'z');
            packed.replace(index, &item);
            replaced[index] = item;
            assert_eq!(entries(&packed), replaced);
        }
        let total: usize = replaced
            .iter()
            .map(|i| i.len() + varint_bytes(i.len()))
            .sum();
        assert_eq!(packed.allocated_bytes(), total);
    }

    #[test]
    fn insert_replace_and_remove_keep_the_others() {
        let mut packed: Packed = [&b"a"[..], b"bb", b"ccc"].into_iter().collect();
        packed.insert(0, &[b"0"]);
        packed.insert(4, &[b"end", b""]);
        packed.insert(2, &[b"mid"]);
        assert_eq!(
            entries(&packed),
            [&b"0"[..], b"a", b"mid", b"bb", b"ccc", b"end", b""]
        );
        packed.replace(1, b"A");
        packed.replace(3, b"a much longer entry");
        packed.replace(4, b"c");
        assert_eq!(
            entries(&packed),
            [
                &b"0"[..],
                b"A",
                b"mid",
                b"a much longer entry",
                b"c",
                b"end",
                b""
            ]
        );
        packed.remove(2, 3);
        assert_eq!(entries(&packed), [&b"0"[..], b"A", b"end", b""]);
        packed.remove(2, 0);
        assert_eq!(packed.len(), 4);
        assert_eq!(
            packed.pairs().collect::<Vec<_>>(),
            [(&b"0"[..], &b"A"[..]), (b"end", b"")]
        );
        packed.remove(0, 4);
        assert!(packed.is_empty());
    }

    #[test]
    #[should_panic(expected = "out of range")]
    fn inserting_past_the_end_panics() {
        let mut packed: Packed = [&b"a"[..]].into_iter().collect();
        packed.insert(2, &[b"b"]);
    }

    #[test]
    #[should_panic(expected = "past the end")]
    fn removing_past_the_end_panics() {
        let mut packed: Packed = [&b"a"[..]].into_iter().collect();
        packed.remove(0, 2);
    }
}
