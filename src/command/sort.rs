//! SORT and SORT_RO (Redis's `sort.c`): option parsing, pattern
//! substitution, scores and the comparison rules, plus the small shard-side
//! handlers that read the value to sort, look up pattern keys and store a
//! result. The keys a pattern names may live on any core, so the command
//! itself runs in the coordinator (`shard::sort`), which calls these.

use super::errors::{NOT_INTEGER, SYNTAX, WRONGTYPE};
use super::{parse_int, Db};
use crate::keyspace::{Entry, Value};
use crate::protocol::Arg;
use crate::protocol::Reply;
use bytes::Bytes;
use std::cmp::Ordering;
use std::collections::VecDeque;

/// Redis 7.0 refuses BY patterns (other than a constant) and every GET in
/// cluster mode, whatever slot the pattern would name (7.2 relaxed this).
pub const BY_DENIED: &str = "ERR BY option of SORT denied in Cluster mode.";
pub const GET_DENIED: &str = "ERR GET option of SORT denied in Cluster mode.";
pub const SCORE_ERROR: &str = "ERR One or more scores can't be converted into double";

/// The parsed options of one SORT or SORT_RO.
#[derive(Debug, Clone, PartialEq)]
pub struct SortOptions {
    /// The last BY pattern; only used when `dontsort` is false, and then
    /// every BY given had a `*`.
    pub by: Option<Bytes>,
    /// A BY pattern without `*` ("nosort") was given: no sorting at all.
    pub dontsort: bool,
    pub limit_start: i64,
    pub limit_count: i64,
    pub gets: Vec<Bytes>,
    pub desc: bool,
    pub alpha: bool,
    pub store: Option<Bytes>,
}

/// The bytes C code sees of a Redis string: up to its first NUL (Redis
/// searches patterns with `strchr` and `strstr`).
fn c_str(bytes: &[u8]) -> &[u8] {
    match bytes.iter().position(|&b| b == 0) {
        Some(end) => &bytes[..end],
        None => bytes,
    }
}

fn has_star(pattern: &[u8]) -> bool {
    c_str(pattern).contains(&b'*')
}

/// Parses `argv[2..]` as Redis's sortCommandGeneric does, left to right,
/// stopping at the first error. `readonly` is SORT_RO (no STORE);
/// `cluster` refuses BY and GET patterns as Redis 7.0 does.
pub fn parse(argv: &[Arg<'_>], readonly: bool, cluster: bool) -> Result<SortOptions, Reply> {
    let mut options = SortOptions {
        by: None,
        dontsort: false,
        limit_start: 0,
        limit_count: -1,
        gets: Vec::new(),
        desc: false,
        alpha: false,
        store: None,
    };
    let mut j = 2;
    while j < argv.len() {
        let left = argv.len() - j - 1;
        let word = |name: &str| argv[j].eq_ignore_ascii_case(name.as_bytes());
        if word("asc") {
            options.desc = false;
        } else if word("desc") {
            options.desc = true;
        } else if word("alpha") {
            options.alpha = true;
        } else if word("limit") && left >= 2 {
            let (Some(start), Some(count)) = (parse_int(&argv[j + 1]), parse_int(&argv[j + 2]))
            else {
                return Err(Reply::error(NOT_INTEGER));
            };
            (options.limit_start, options.limit_count) = (start, count);
            j += 2;
        } else if !readonly && word("store") && left >= 1 {
            options.store = Some(argv[j + 1].to_bytes());
            j += 1;
        } else if word("by") && left >= 1 {
            let pattern = &argv[j + 1];
            if !has_star(pattern) {
                options.dontsort = true;
            } else if cluster {
                return Err(Reply::error(BY_DENIED));
            }
            options.by = Some(pattern.to_bytes());
            j += 1;
        } else if word("get") && left >= 1 {
            if cluster {
                return Err(Reply::error(GET_DENIED));
            }
            options.gets.push(argv[j + 1].to_bytes());
            j += 1;
        } else {
            return Err(Reply::error(SYNTAX));
        }
        j += 1;
    }
    Ok(options)
}

/// The keys of a SORT (Redis's sortGetKeys): the sorted key, and the last
/// STORE destination. LIMIT, GET and BY skip their arguments; an unknown
/// word is taken as an option without one. SORT_RO has only its key.
pub fn key_positions(argv: &[Arg<'_>], readonly: bool) -> (usize, Option<usize>) {
    let mut store = None;
    if readonly {
        return (1, store);
    }
    let mut i = 2;
    while i < argv.len() {
        let word = &argv[i];
        if word.eq_ignore_ascii_case(b"limit") {
            i += 2;
        } else if word.eq_ignore_ascii_case(b"store") && i + 1 < argv.len() {
            store = Some(i + 1);
        } else if word.eq_ignore_ascii_case(b"get") || word.eq_ignore_ascii_case(b"by") {
            i += 1;
        }
        i += 1;
    }
    (1, store)
}

/// What a pattern names for one element (Redis's lookupKeyByPattern).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// `#`: the element itself.
    Itself,
    /// No `*`: a constant pattern names no key, so the value is nil.
    Nothing,
    /// The string at `key`, or with a field (`->field`) that hash field.
    Key { key: Bytes, field: Option<Bytes> },
}

/// Substitutes `element` for the first `*` of `pattern`; a `->` after the
/// `*` followed by a non-empty name makes the rest a hash field.
pub fn substitute(pattern: &[u8], element: &[u8]) -> Lookup {
    let searched = c_str(pattern);
    if searched == b"#" {
        return Lookup::Itself;
    }
    let Some(star) = searched.iter().position(|&b| b == b'*') else {
        return Lookup::Nothing;
    };
    let arrow = searched[star + 1..]
        .windows(2)
        .position(|pair| pair == b"->")
        .map(|at| star + 1 + at)
        .filter(|&at| searched.len() > at + 2);
    let (key_end, field) = match arrow {
        Some(at) => (at, Some(Bytes::copy_from_slice(&pattern[at + 2..]))),
        None => (pattern.len(), None),
    };
    let mut key = Vec::with_capacity(key_end + element.len());
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(element);
    key.extend_from_slice(&pattern[star + 1..key_end]);
    Lookup::Key {
        key: Bytes::from(key),
        field,
    }
}

/// The kinds of value SORT accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    List,
    Set,
    Zset,
}

impl SourceKind {
    fn code(self) -> i64 {
        match self {
            SourceKind::List => 0,
            SourceKind::Set => 1,
            SourceKind::Zset => 2,
        }
    }

    fn from_code(code: i64) -> Option<Self> {
        match code {
            0 => Some(SourceKind::List),
            1 => Some(SourceKind::Set),
            2 => Some(SourceKind::Zset),
            _ => None,
        }
    }

    /// Whether `BY nosort` honours DESC by reading the value backwards
    /// (lists and sorted sets keep an order; a set has none to reverse).
    fn reverses_unsorted(self) -> bool {
        matches!(self, SourceKind::List | SourceKind::Zset)
    }
}

/// The elements of a value in the order Redis's SORT loads them, or
/// WRONGTYPE for a value SORT does not take.
// A sorted set's members come in rank order. Redis iterates the zset's dict
// when it sorts, which matters only for ALPHA BY ties (see COMPATIBILITY),
// and reads by rank for BY nosort (`reverses_unsorted`).
pub fn elements_of(value: &Value) -> Result<(SourceKind, Vec<Bytes>), Reply> {
    match value {
        Value::List(list) => Ok((SourceKind::List, list.iter().cloned().collect())),
        Value::Set(set) => Ok((SourceKind::Set, set.members())),
        Value::ZSet(zset) => Ok((
            SourceKind::Zset,
            zset.entries()
                .into_iter()
                .map(|(member, _)| member)
                .collect(),
        )),
        Value::Str { .. } | Value::Hash(_) | Value::Stream(_) => Err(Reply::error(WRONGTYPE)),
    }
}

/// How the elements are ordered once the value's kind is known.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub dontsort: bool,
    pub alpha: bool,
    pub desc: bool,
    /// The BY pattern to weigh elements with, when sorting by one.
    pub by: Option<Bytes>,
    pub store: bool,
    pub reverse_unsorted: bool,
}

impl Plan {
    pub fn new(options: &SortOptions, kind: SourceKind) -> Self {
        let mut plan = Plan {
            dontsort: options.dontsort,
            alpha: options.alpha,
            desc: options.desc,
            by: options.by.clone().filter(|_| !options.dontsort),
            store: options.store.is_some(),
            reverse_unsorted: kind.reverses_unsorted(),
        };
        // A set has no order of its own: when the result is stored, Redis
        // sorts it (ALPHA, no BY) so replicas get the same list.
        if plan.dontsort && kind == SourceKind::Set && plan.store {
            plan.dontsort = false;
            plan.alpha = true;
            plan.by = None;
        }
        plan
    }
}

/// The inclusive range of positions SORT outputs for LIMIT `start count`
/// over `len` elements, as Redis clamps it; None when empty.
pub fn output_range(start: i64, count: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut start = start.clamp(0, len);
    let count = count.max(-1).min(len);
    let mut end = if count < 0 {
        len - 1
    } else {
        start + count - 1
    };
    if start >= len {
        start = len - 1;
        end = len - 2;
    }
    end = end.min(len - 1);
    (end >= start && start >= 0).then_some((start as usize, end as usize))
}

/// C's strtod as Redis checks it for a score: the whole string (up to a
/// NUL) must convert, without overflow or underflow, and not to NaN. An
/// empty string is 0, as in Redis.
pub fn parse_score(bytes: &[u8]) -> Option<f64> {
    let text = std::ffi::CString::new(c_str(bytes)).ok()?;
    let mut end: *mut libc::c_char = std::ptr::null_mut();
    // SAFETY: `text` is NUL-terminated and outlives the call; strtod sets
    // `end` inside it. errno is this thread's, read right after.
    let (value, range_error, rest) = unsafe {
        *libc::__errno_location() = 0;
        let value = libc::strtod(text.as_ptr(), &mut end);
        let range_error = *libc::__errno_location() == libc::ERANGE;
        (value, range_error, *end)
    };
    (rest == 0 && !range_error && !value.is_nan()).then_some(value)
}

/// One element being sorted, with what it is sorted by.
struct Item {
    element: Bytes,
    score: f64,
    weight: Option<Bytes>,
}

/// strcoll in the C locale (what Redis compares with when not storing):
/// byte order up to the first NUL.
fn collate(a: &[u8], b: &[u8]) -> Ordering {
    c_str(a).cmp(c_str(b))
}

/// Redis's sortCompare.
fn compare(a: &Item, b: &Item, plan: &Plan) -> Ordering {
    let ordering = if !plan.alpha {
        // Equal scores fall back to the elements, so the result does not
        // depend on the sort algorithm.
        a.score
            .partial_cmp(&b.score)
            .unwrap_or(Ordering::Equal)
            .then_with(|| a.element.cmp(&b.element))
    } else if plan.by.is_some() {
        // A missing weight sorts first; equal weights stay in load order.
        match (&a.weight, &b.weight) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(x), Some(y)) if plan.store => x.cmp(y),
            (Some(x), Some(y)) => collate(x, y),
        }
    } else if plan.store {
        a.element.cmp(&b.element)
    } else {
        collate(&a.element, &b.element)
    };
    if plan.desc {
        ordering.reverse()
    } else {
        ordering
    }
}

/// The elements SORT outputs, in order: `elements` as loaded, `weights`
/// the BY values (one per element) when the plan sorts by a pattern.
/// Errors with SCORE_ERROR when a numeric sort meets a non-number.
///
/// Redis sorts with glibc's qsort (a stable merge sort, so any stable sort
/// gives the same order), or with its own partial quicksort when BY comes
/// with a LIMIT; ties (ALPHA BY, equal weights) come out as they do there.
pub fn order(
    elements: Vec<Bytes>,
    weights: Option<Vec<Option<Bytes>>>,
    plan: &Plan,
    limit: (i64, i64),
) -> Result<Vec<Bytes>, Reply> {
    let range = output_range(limit.0, limit.1, elements.len());
    if plan.dontsort {
        let Some((start, end)) = range else {
            return Ok(Vec::new());
        };
        let mut elements = elements;
        if plan.desc && plan.reverse_unsorted {
            elements.reverse();
        }
        elements.truncate(end + 1);
        return Ok(elements.split_off(start));
    }
    let mut weights = weights.map(Vec::into_iter);
    let mut items = Vec::with_capacity(elements.len());
    let mut score_error = false;
    for element in elements {
        let weight = match &mut weights {
            Some(weights) => weights.next().flatten(),
            None => None,
        };
        let mut item = Item {
            element,
            score: 0.0,
            weight: None,
        };
        if plan.alpha {
            item.weight = weight;
        } else {
            let value = if plan.by.is_some() {
                weight
            } else {
                Some(item.element.clone())
            };
            if let Some(value) = value {
                match parse_score(&value) {
                    Some(score) => item.score = score,
                    None => score_error = true,
                }
            }
        }
        items.push(item);
    }
    // Scores are checked even when LIMIT selects nothing, as in Redis.
    if score_error {
        return Err(Reply::error(SCORE_ERROR));
    }
    let Some((start, end)) = range else {
        return Ok(Vec::new());
    };
    let compare = |a: &Item, b: &Item| compare(a, b, plan);
    if plan.by.is_some() && (start != 0 || end + 1 != items.len()) {
        partial_quicksort(&mut items, start, end, &compare);
    } else {
        items.sort_by(compare);
    }
    items.truncate(end + 1);
    Ok(items.drain(start..).map(|item| item.element).collect())
}

/// Redis's pqsort (`pqsort.c`, the NetBSD qsort that skips partitions
/// outside `first..=last`), step for step, so that elements which compare
/// equal end up where Redis puts them.
fn partial_quicksort<T>(v: &mut [T], first: usize, last: usize, cmp: &impl Fn(&T, &T) -> Ordering) {
    pqsort_part(v, 0, v.len(), first, last, cmp);
}

fn med3<T>(v: &[T], a: usize, b: usize, c: usize, cmp: &impl Fn(&T, &T) -> Ordering) -> usize {
    if cmp(&v[a], &v[b]) == Ordering::Less {
        if cmp(&v[b], &v[c]) == Ordering::Less {
            b
        } else if cmp(&v[a], &v[c]) == Ordering::Less {
            c
        } else {
            a
        }
    } else if cmp(&v[b], &v[c]) == Ordering::Greater {
        b
    } else if cmp(&v[a], &v[c]) == Ordering::Less {
        a
    } else {
        c
    }
}

fn swap_runs<T>(v: &mut [T], a: usize, b: usize, count: usize) {
    for i in 0..count {
        v.swap(a + i, b + i);
    }
}

fn pqsort_part<T>(
    v: &mut [T],
    mut a: usize,
    mut n: usize,
    first: usize,
    last: usize,
    cmp: &impl Fn(&T, &T) -> Ordering,
) {
    // Whether elements `from..from + count` hold any of the wanted range.
    let wanted = |from: usize, count: usize| {
        let end = from + count - 1;
        !((first < from && last < from) || (first > end && last > end))
    };
    loop {
        if n < 7 {
            for pm in a + 1..a + n {
                let mut pl = pm;
                while pl > a && cmp(&v[pl - 1], &v[pl]) == Ordering::Greater {
                    v.swap(pl, pl - 1);
                    pl -= 1;
                }
            }
            return;
        }
        let mut pm = a + n / 2;
        if n > 7 {
            let (mut pl, mut pn) = (a, a + n - 1);
            if n > 40 {
                let d = n / 8;
                pl = med3(v, pl, pl + d, pl + 2 * d, cmp);
                pm = med3(v, pm - d, pm, pm + d, cmp);
                pn = med3(v, pn - 2 * d, pn - d, pn, cmp);
            }
            pm = med3(v, pl, pm, pn, cmp);
        }
        v.swap(a, pm);
        let (mut pa, mut pb) = (a + 1, a + 1);
        let (mut pc, mut pd) = (a + n - 1, a + n - 1);
        loop {
            while pb <= pc {
                match cmp(&v[pb], &v[a]) {
                    Ordering::Greater => break,
                    Ordering::Equal => {
                        v.swap(pa, pb);
                        pa += 1;
                    }
                    Ordering::Less => {}
                }
                pb += 1;
            }
            while pb <= pc {
                match cmp(&v[pc], &v[a]) {
                    Ordering::Less => break,
                    Ordering::Equal => {
                        v.swap(pc, pd);
                        pd -= 1;
                    }
                    Ordering::Greater => {}
                }
                pc -= 1;
            }
            if pb > pc {
                break;
            }
            v.swap(pb, pc);
            pb += 1;
            pc -= 1;
        }
        let pn = a + n;
        let r = (pa - a).min(pb - pa);
        swap_runs(v, a, pb - r, r);
        let r = (pd - pc).min(pn - pd - 1);
        swap_runs(v, pb, pn - r, r);
        let r = pb - pa;
        if r > 1 && wanted(a, r) {
            pqsort_part(v, a, r, first, last, cmp);
        }
        let r = pd - pc;
        if r > 1 && wanted(pn - r, r) {
            a = pn - r;
            n = r;
            continue;
        }
        return;
    }
}

// Shard side.

/// `[_, key]`: nil when missing, else `[kind, elements...]` (see
/// `elements_of`); WRONGTYPE for strings and hashes.
pub fn source_local(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let key = &argv[1];
    let (slot, now) = (db.slot(key), db.now_ms);
    let Some(entry) = db.keyspace.lookup_read(slot, key, now) else {
        return Reply::Nil;
    };
    match elements_of(&entry.value) {
        Ok((kind, elements)) => Reply::Array(
            std::iter::once(Reply::Int(kind.code()))
                .chain(elements.into_iter().map(Reply::Bulk))
                .collect(),
        ),
        Err(reply) => reply,
    }
}

/// Reads `source_local`'s reply back: the kind and elements, or the error.
/// A missing key is an empty list.
pub fn parse_source_reply(reply: Reply) -> Result<(SourceKind, Vec<Bytes>), Reply> {
    match reply {
        Reply::Nil => Ok((SourceKind::List, Vec::new())),
        Reply::Array(parts) => {
            let mut parts = parts.into_iter();
            let kind = match parts.next() {
                Some(Reply::Int(code)) => SourceKind::from_code(code),
                _ => None,
            };
            let kind = kind.ok_or_else(|| Reply::error("ERR internal: bad SORT source"))?;
            let elements = parts
                .filter_map(|part| match part {
                    Reply::Bulk(bytes) => Some(bytes),
                    _ => None,
                })
                .collect();
            Ok((kind, elements))
        }
        Reply::Error(_) => Err(reply),
        _ => Err(Reply::error("ERR internal: bad SORT source")),
    }
}

/// `[_, key, field, key, field...]`, an empty field meaning the key's
/// string: the values, nil where the key is missing, of another type, or
/// has no such field (a real field is never empty: see `substitute`).
/// Every lookup counts as a keyspace hit or miss, also for STORE, as in
/// Redis 7.0.
pub fn lookup_local(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let now = db.now_ms;
    let mut values = Vec::with_capacity(argv.len() / 2);
    for pair in argv[1..].chunks_exact(2) {
        let (key, field) = (&pair[0], &pair[1]);
        let slot = db.slot(key);
        let found = db.keyspace.lookup_read(slot, key, now);
        let value = match found.map(|e| &e.value) {
            Some(Value::Str { bytes, .. }) if field.is_empty() => Some(bytes.to_bytes()),
            Some(Value::Hash(hash)) if !field.is_empty() => {
                hash.get(field).map(Bytes::copy_from_slice)
            }
            _ => None,
        };
        values.push(value.map_or(Reply::Nil, Reply::Bulk));
    }
    Reply::Array(values)
}

/// `[_, key]`: 1 if the key exists, else 0, without counting a keyspace
/// hit or miss.
pub fn exists_local(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let key = &argv[1];
    let (slot, now) = (db.slot(key), db.now_ms);
    Reply::Int(i64::from(db.keyspace.contains(slot, key, now)))
}

/// `[_, destination, items...]`: replaces the destination with a list of
/// the items (at least one) and answers their count.
pub fn store_local(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let destination = &argv[1];
    // Copies: items may be slices of a larger buffer a stored value must
    // not keep alive.
    let list: VecDeque<Bytes> = argv[2..]
        .iter()
        .map(|item| Bytes::copy_from_slice(item))
        .collect();
    let count = list.len() as i64;
    let (slot, now) = (db.slot(destination), db.now_ms);
    db.keyspace.insert(
        slot,
        destination,
        Entry::new(Value::List(Box::new(list)), now),
    );
    Reply::Int(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<Arg<'static>> {
        crate::protocol::arg::test_args(words)
    }

    fn key(key: &str, field: Option<&str>) -> Lookup {
        Lookup::Key {
            key: Bytes::from(key.to_string()),
            field: field.map(|f| Bytes::from(f.to_string())),
        }
    }

    #[test]
    fn patterns_substitute_the_first_star() {
        assert_eq!(substitute(b"w_*", b"a"), key("w_a", None));
        assert_eq!(substitute(b"*_w_*", b"a"), key("a_w_*", None));
        assert_eq!(substitute(b"h_*->f", b"a"), key("h_a", Some("f")));
        assert_eq!(substitute(b"h_*->f->g", b"a"), key("h_a", Some("f->g")));
        // A `->` with nothing after it, or before the `*`, is part of the key.
        assert_eq!(substitute(b"h_*->", b"a"), key("h_a->", None));
        assert_eq!(substitute(b"h->*", b"a"), key("h->a", None));
        assert_eq!(substitute(b"#", b"a"), Lookup::Itself);
        assert_eq!(substitute(b"#\0x", b"a"), Lookup::Itself);
        assert_eq!(substitute(b"##", b"a"), Lookup::Nothing);
        assert_eq!(substitute(b"nosort", b"a"), Lookup::Nothing);
        // C string search: a `*` after a NUL is not seen.
        assert_eq!(substitute(b"k\0*", b"a"), Lookup::Nothing);
        assert_eq!(substitute(b"*", b""), key("", None));
    }

    #[test]
    fn scores_follow_strtod() {
        assert_eq!(parse_score(b"1.5"), Some(1.5));
        assert_eq!(parse_score(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_score(b" 1"), Some(1.0));
        assert_eq!(parse_score(b"0x10"), Some(16.0));
        assert_eq!(parse_score(b""), Some(0.0));
        assert_eq!(parse_score(b"12\0abc"), Some(12.0));
        assert_eq!(parse_score(b"1 "), None);
        assert_eq!(parse_score(b" "), None);
        assert_eq!(parse_score(b"abc"), None);
        assert_eq!(parse_score(b"nan"), None);
        assert_eq!(parse_score(b"1e400"), None);
        assert_eq!(parse_score(b"1e-310"), None);
    }

    #[test]
    fn limits_clamp_like_redis() {
        assert_eq!(output_range(0, -1, 6), Some((0, 5)));
        assert_eq!(output_range(-3, 2, 6), Some((0, 1)));
        assert_eq!(output_range(2, 100, 6), Some((2, 5)));
        assert_eq!(output_range(10, 1, 6), None);
        assert_eq!(output_range(5, 1, 6), Some((5, 5)));
        assert_eq!(output_range(1, 0, 6), None);
        assert_eq!(output_range(0, -5, 6), Some((0, 5)));
        assert_eq!(output_range(i64::MIN, i64::MAX, 3), Some((0, 2)));
        assert_eq!(output_range(0, -1, 0), None);
    }

    #[test]
    fn options_parse_left_to_right() {
        let options = parse(
            &argv(&[
                "sort", "k", "by", "w_*", "limit", "1", "2", "get", "#", "desc", "alpha", "store",
                "d",
            ]),
            false,
            false,
        )
        .unwrap();
        assert_eq!(options.by.as_deref(), Some(&b"w_*"[..]));
        assert!(!options.dontsort && options.desc && options.alpha);
        assert_eq!((options.limit_start, options.limit_count), (1, 2));
        assert_eq!(options.store.as_deref(), Some(&b"d"[..]));
        let nosort = parse(
            &argv(&["sort", "k", "by", "nosort", "by", "w_*"]),
            false,
            false,
        )
        .unwrap();
        assert!(nosort.dontsort);
        let error =
            |words: &[&str], readonly, cluster| parse(&argv(words), readonly, cluster).err();
        assert_eq!(
            error(&["sort_ro", "k", "store", "d"], true, false),
            Some(Reply::error(SYNTAX))
        );
        assert_eq!(
            error(&["sort", "k", "limit", "1"], false, false),
            Some(Reply::error(SYNTAX))
        );
        assert_eq!(
            error(&["sort", "k", "limit", "a", "1"], false, false),
            Some(Reply::error(NOT_INTEGER))
        );
        assert_eq!(
            error(&["sort", "k", "by", "w_*"], false, true),
            Some(Reply::error(BY_DENIED))
        );
        assert_eq!(
            error(&["sort", "k", "get", "#"], false, true),
            Some(Reply::error(GET_DENIED))
        );
        assert_eq!(
            error(&["sort", "k", "by", "{k}*"], false, true),
            Some(Reply::error(BY_DENIED))
        );
        assert_eq!(error(&["sort", "k", "by", "nosort"], false, true), None);
        // The first error wins.
        assert_eq!(
            error(&["sort", "k", "foo", "get", "#"], false, true),
            Some(Reply::error(SYNTAX))
        );
    }

    #[test]
    fn keys_are_the_source_and_the_last_store() {
        let keys = |words: &[&str]| key_positions(&argv(words), false);
        assert_eq!(keys(&["sort", "a", "store", "b"]), (1, Some(3)));
        assert_eq!(
            keys(&["sort", "a", "store", "b", "store", "c", "limit", "store", "d"]),
            (1, Some(5))
        );
        assert_eq!(
            keys(&["sort", "a", "by", "store", "get", "store"]),
            (1, None)
        );
        assert_eq!(keys(&["sort", "a", "store"]), (1, None));
        assert_eq!(
            key_positions(&argv(&["sort_ro", "a", "store", "b"]), true),
            (1, None)
        );
    }

    fn bytes(words: &[&str]) -> Vec<Bytes> {
        words.iter().map(|w| Bytes::from(w.to_string())).collect()
    }

    fn plan(options: &[&str], kind: SourceKind) -> (Plan, (i64, i64)) {
        let mut words = vec!["sort", "k"];
        words.extend_from_slice(options);
        let options = parse(&argv(&words), false, false).unwrap();
        (
            Plan::new(&options, kind),
            (options.limit_start, options.limit_count),
        )
    }

    fn sorted(
        elements: &[&str],
        weights: Option<&[Option<&str>]>,
        options: &[&str],
    ) -> Result<Vec<Bytes>, Reply> {
        let (plan, limit) = plan(options, SourceKind::List);
        let weights = weights.map(|w| {
            w.iter()
                .map(|w| w.map(|w| Bytes::from(w.to_string())))
                .collect()
        });
        order(bytes(elements), weights, &plan, limit)
    }

    #[test]
    fn numbers_tie_break_on_the_elements() {
        let list = ["3", "1", "2", "10", "1.5", "-inf"];
        assert_eq!(
            sorted(&list, None, &[]).unwrap(),
            bytes(&["-inf", "1", "1.5", "2", "3", "10"])
        );
        assert_eq!(
            sorted(&list, None, &["desc", "limit", "1", "2"]).unwrap(),
            bytes(&["3", "2"])
        );
        assert_eq!(
            sorted(&list, None, &["alpha"]).unwrap(),
            bytes(&["-inf", "1", "1.5", "10", "2", "3"])
        );
        assert_eq!(
            sorted(&["1", "abc"], None, &[]),
            Err(Reply::error(SCORE_ERROR))
        );
        let nothing = &["limit", "5", "1"];
        assert_eq!(
            sorted(&["1", "abc"], None, nothing),
            Err(Reply::error(SCORE_ERROR))
        );
        assert_eq!(
            sorted(&["1", "abc"], None, &["by", "nosort", "limit", "5", "1"]),
            Ok(vec![])
        );
        let weights = [Some("1"), Some("1"), Some("0"), None];
        let elements = ["a", "b", "c", "d"];
        assert_eq!(
            sorted(&elements, Some(&weights), &["by", "w_*"]).unwrap(),
            bytes(&["c", "d", "a", "b"])
        );
        assert_eq!(
            sorted(&elements, Some(&weights), &["by", "w_*", "desc"]).unwrap(),
            bytes(&["b", "a", "d", "c"])
        );
    }

    #[test]
    fn alpha_by_puts_missing_first_and_keeps_ties_in_order() {
        // As redis-server 7.0.15 answers.
        let weights = [Some("1"), Some("1"), Some("0"), None];
        let elements = ["a", "b", "c", "d"];
        let by = |extra: &[&str]| {
            let mut options = vec!["by", "w_*", "alpha"];
            options.extend_from_slice(extra);
            sorted(&elements, Some(&weights), &options).unwrap()
        };
        assert_eq!(by(&[]), bytes(&["d", "c", "a", "b"]));
        assert_eq!(by(&["desc"]), bytes(&["a", "b", "c", "d"]));
        assert_eq!(by(&["limit", "1", "2"]), bytes(&["c", "a"]));
    }

    #[test]
    fn partial_quicksort_sorts_the_wanted_range() {
        let mut state = 12345u64;
        for len in 1..120usize {
            let mut values: Vec<u64> = (0..len)
                .map(|_| {
                    state = state
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    (state >> 33) % 10
                })
                .collect();
            let mut sorted = values.clone();
            sorted.sort();
            let (first, last) = (len / 3, (len / 2).max(len / 3));
            partial_quicksort(&mut values, first, last, &|a: &u64, b: &u64| a.cmp(b));
            assert_eq!(values[first..=last], sorted[first..=last], "{len}");
        }
    }

    #[test]
    fn nosort_keeps_list_order_and_reverses_it_for_desc() {
        let list = ["c", "a", "b", "d"];
        assert_eq!(
            sorted(&list, None, &["by", "nosort"]).unwrap(),
            bytes(&list)
        );
        assert_eq!(
            sorted(&list, None, &["by", "nosort", "desc", "limit", "1", "2"]).unwrap(),
            bytes(&["b", "a"])
        );
        let (set_plan, limit) = plan(&["by", "nosort", "desc"], SourceKind::Set);
        assert_eq!(
            order(bytes(&list), None, &set_plan, limit).unwrap(),
            bytes(&list)
        );
        // Stored, a set is sorted as ALPHA.
        let (stored, limit) = plan(&["by", "nosort", "store", "d"], SourceKind::Set);
        assert!(!stored.dontsort && stored.alpha && stored.by.is_none());
        assert_eq!(
            order(bytes(&list), None, &stored, limit).unwrap(),
            bytes(&["a", "b", "c", "d"])
        );
    }
}
