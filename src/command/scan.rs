//! Pages of HSCAN, SSCAN and ZSCAN over collections kept in hash tables.
//!
//! Redis's cursor walks its table's buckets in reverse-binary order, so
//! that a rehash between two calls neither skips nor (mostly) repeats an
//! element. A hashbrown table exposes no buckets, so the cursor here walks
//! the 64-bit hashes of the elements instead: a page holds the elements
//! whose hash is at least the cursor, the smallest hashes first, and the
//! next cursor is one past the largest hash returned. An element's hash
//! never changes while the process runs (one seed per process), so every
//! element present from the first call to the last is returned exactly
//! once, whatever is added, removed or rehashed in between.
//!
//! Finding a page costs one pass over the collection (hash and select), so
//! a page holds at least 1/`PAGES_MAX` of the collection: a full scan is at
//! most `PAGES_MAX` passes, whatever COUNT says (COUNT is a hint in Redis
//! too). Small encodings (listpack, intset) answer in one page, as Redis's.

use super::errors::{NOT_INTEGER, SYNTAX};
use super::parse_int;
use crate::keyspace::SeededState;
use crate::protocol::Arg;
use crate::protocol::Reply;
use bytes::Bytes;
use std::hash::BuildHasher;

/// A full scan takes at most this many pages.
const PAGES_MAX: usize = 64;

/// MATCH, COUNT and (SCAN only) TYPE of the SCAN family.
pub struct Options {
    /// None when there is none, or it is `*`.
    pub pattern: Option<Bytes>,
    pub count: usize,
    pub type_name: Option<Bytes>,
}

/// The options of HSCAN, SSCAN and ZSCAN.
pub fn parse_options(args: &[Arg<'_>]) -> Result<Options, Reply> {
    parse(args, false)
}

/// The options of SCAN, which also takes TYPE.
pub fn parse_scan_options(args: &[Arg<'_>]) -> Result<Options, Reply> {
    parse(args, true)
}

fn parse(args: &[Arg<'_>], with_type: bool) -> Result<Options, Reply> {
    let mut options = Options {
        pattern: None,
        count: 10,
        type_name: None,
    };
    let mut index = 0;
    while index < args.len() {
        let has_value = index + 1 < args.len();
        match args[index].to_ascii_uppercase().as_slice() {
            b"COUNT" if has_value => match parse_int(&args[index + 1]) {
                Some(count) if count >= 1 => options.count = count as usize,
                Some(_) => return Err(Reply::error(SYNTAX)),
                None => return Err(Reply::error(NOT_INTEGER)),
            },
            b"MATCH" if has_value => {
                let text = &args[index + 1];
                options.pattern = (text.as_ref() != b"*").then(|| text.to_bytes());
            }
            b"TYPE" if has_value && with_type => {
                options.type_name = Some(args[index + 1].to_bytes())
            }
            _ => return Err(Reply::error(SYNTAX)),
        }
        index += 2;
    }
    Ok(options)
}

impl Options {
    pub fn matches(&self, element: &[u8]) -> bool {
        self.pattern
            .as_ref()
            .is_none_or(|pattern| super::glob::matches(pattern, element))
    }
}

/// The position of an element in the scan order.
pub fn position(element: &[u8]) -> u64 {
    SeededState.hash_one(element)
}

/// One page: of `items` (each with its position), those at or after
/// `cursor`, at least `count` and at least 1/`PAGES_MAX` of `total`, the
/// smallest positions first; items of equal position always go together.
/// Returns them and the next cursor (0 when nothing is left).
pub fn page<T>(
    items: impl Iterator<Item = (u64, T)>,
    total: usize,
    cursor: u64,
    count: usize,
) -> (Vec<T>, u64) {
    let mut left: Vec<(u64, T)> = items.filter(|(at, _)| *at >= cursor).collect();
    let size = count.max(total.div_ceil(PAGES_MAX)).max(1);
    if left.len() <= size {
        left.sort_unstable_by_key(|(at, _)| *at);
        return (left.into_iter().map(|(_, item)| item).collect(), 0);
    }
    left.select_nth_unstable_by_key(size - 1, |(at, _)| *at);
    let boundary = left[size - 1].0;
    let mut taken: Vec<(u64, T)> = Vec::with_capacity(size);
    let mut rest = false;
    for (at, item) in left {
        if at <= boundary {
            taken.push((at, item));
        } else {
            rest = true;
        }
    }
    taken.sort_unstable_by_key(|(at, _)| *at);
    let next = if rest { boundary.wrapping_add(1) } else { 0 };
    (taken.into_iter().map(|(_, item)| item).collect(), next)
}

/// `[cursor, items]`, as every SCAN answers.
pub fn reply(cursor: u64, items: Vec<Reply>) -> Reply {
    Reply::Array(vec![Reply::bulk(cursor.to_string()), Reply::Array(items)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn full_scan(elements: &[u64], count: usize) -> (Vec<u64>, usize) {
        let mut cursor = 0;
        let mut seen = Vec::new();
        let mut calls = 0;
        loop {
            let items = elements.iter().map(|&e| (e, e));
            let (page, next) = page(items, elements.len(), cursor, count);
            seen.extend(page);
            calls += 1;
            if next == 0 {
                return (seen, calls);
            }
            cursor = next;
        }
    }

    #[test]
    fn a_full_scan_returns_every_element_once_in_few_pages() {
        let elements: Vec<u64> = (0..10_000u64).map(|i| position(&i.to_le_bytes())).collect();
        let (seen, calls) = full_scan(&elements, 10);
        assert_eq!(seen.len(), elements.len());
        assert_eq!(seen.iter().collect::<HashSet<_>>().len(), elements.len());
        assert!(calls <= PAGES_MAX, "{calls} pages");
        let (small, calls) = full_scan(&elements[..15], 10);
        assert_eq!((small.len(), calls), (15, 2));
    }

    #[test]
    fn equal_positions_stay_on_one_page_and_the_last_position_ends_the_scan() {
        let elements = [5, 5, 5, 1, u64::MAX, u64::MAX];
        let (first, next) = page(elements.iter().map(|&e| (e, e)), 6, 0, 2);
        assert_eq!((first, next), (vec![1, 5, 5, 5], 6));
        let (second, next) = page(elements.iter().map(|&e| (e, e)), 6, 6, 1);
        assert_eq!((second, next), (vec![u64::MAX, u64::MAX], 0));
    }

    #[test]
    fn elements_added_or_removed_during_a_scan_do_not_hide_the_others() {
        let mut elements: Vec<u64> = (0..1000u64).map(|i| position(&i.to_le_bytes())).collect();
        let stable: HashSet<u64> = elements[..500].iter().copied().collect();
        let mut cursor = 0;
        let mut seen = HashSet::new();
        let mut round = 1000u64;
        loop {
            let (page, next) = page(elements.iter().map(|&e| (e, e)), elements.len(), cursor, 10);
            seen.extend(page);
            // Between calls: the unstable half shrinks, new elements arrive.
            elements.truncate(elements.len().saturating_sub(7).max(500));
            elements.extend((round..round + 20).map(|i| position(&i.to_le_bytes())));
            round += 20;
            if next == 0 {
                break;
            }
            cursor = next;
        }
        assert!(stable.is_subset(&seen));
    }
}
