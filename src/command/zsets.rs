//! Sorted set commands, shard side (Redis's `t_zset.c`). Commands over
//! several keys (ZUNION, ZINTER, ZDIFF, their STORE forms, ZINTERCARD,
//! ZMPOP, ZRANGESTORE) run here when all their keys live on one core;
//! across cores `shard::collections` runs them under key locks with the
//! same parsing and computing functions.

use super::dump::encoding_limits;
use super::errors::{NOT_FLOAT, NOT_INTEGER, SYNTAX, WRONGTYPE};
use super::hashes::parse_cursor;
use super::scan;
use super::{drop_if_empty, typed_value};
use super::{parse_int, Db};
use crate::keyspace::zset::{listpack_entries, score_text, Sorted};
use crate::keyspace::{EncodingLimits, Entry, Value, ZSet};
use crate::protocol::Arg;
use crate::protocol::Reply;
use bytes::Bytes;
use hashbrown::HashMap;

const NOT_FLOAT_RANGE: &str = "ERR min or max is not a float";
const NOT_LEX_RANGE: &str = "ERR min or max not valid string range item";
const NAN_RESULT: &str = "ERR resulting score is not a number (NaN)";

// ---------------------------------------------------------------------------
// Scores and ranges
// ---------------------------------------------------------------------------

/// C's strtod over the whole text, as far as Redis's callers need it:
/// leading white space is skipped, `inf`/`infinity`/`nan` in any case.
/// (value, whether the text parsed to its end, whether it over- or
/// underflowed).
fn strtod(text: &[u8]) -> Option<(f64, bool)> {
    let start = text
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))
        .unwrap_or(text.len());
    let body = std::str::from_utf8(&text[start..]).ok()?;
    if body.is_empty() {
        // No conversion: strtod answers 0 with the end at the start.
        return if text.is_empty() {
            Some((0.0, false))
        } else {
            None
        };
    }
    if body.starts_with(['+', '-']) && body[1..].starts_with(['+', '-']) {
        return None;
    }
    let digits = body.trim_start_matches(['+', '-']);
    if digits.starts_with("0x") || digits.starts_with("0X") {
        let value = parse_hex_float(&digits[2..])?;
        return Some((
            if body.starts_with('-') { -value } else { value },
            value.is_infinite(),
        ));
    }
    let value: f64 = body.parse().ok()?;
    let is_word = digits
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic());
    let overflow = value.is_infinite() && !is_word;
    let mantissa = digits.split(['e', 'E']).next().unwrap_or("");
    let underflow = value == 0.0 && mantissa.bytes().any(|b| (b'1'..=b'9').contains(&b));
    Some((value, overflow || underflow))
}

/// C99's hexadecimal floating point (`1.8p3`, after the `0x`), which
/// strtod accepts too.
fn parse_hex_float(text: &str) -> Option<f64> {
    let (mantissa, exponent) = match text.split_once(['p', 'P']) {
        Some((mantissa, exponent)) => (mantissa, exponent.parse::<i32>().ok()?),
        None => (text, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    let mut value = 0.0f64;
    for digit in whole.chars() {
        value = value * 16.0 + f64::from(digit.to_digit(16)?);
    }
    let mut scale = 1.0 / 16.0;
    for digit in fraction.chars() {
        value += f64::from(digit.to_digit(16)?) * scale;
        scale /= 16.0;
    }
    Some(value * 2f64.powi(exponent))
}

/// A score argument (Redis's getDoubleFromObject): the whole text a
/// number, no leading space, no overflow, not NaN.
pub fn parse_score(arg: &[u8]) -> Option<f64> {
    if arg.is_empty() || arg[0].is_ascii_whitespace() || arg[0] == 0x0b {
        return None;
    }
    match strtod(arg) {
        Some((value, false)) if !value.is_nan() => Some(value),
        _ => None,
    }
}

/// One end of a score range: `(` makes it exclusive (zslParseRange).
#[derive(Debug, Clone, Copy)]
pub struct ScoreBound {
    value: f64,
    exclusive: bool,
}

fn parse_score_bound(arg: &[u8]) -> Option<ScoreBound> {
    let (text, exclusive) = match arg.first() {
        Some(b'(') => (&arg[1..], true),
        _ => (arg, false),
    };
    match strtod(text) {
        Some((value, _)) if !value.is_nan() => Some(ScoreBound { value, exclusive }),
        _ => None,
    }
}

/// One end of a lexicographic range (zslParseLexRangeItem).
#[derive(Debug, Clone)]
pub enum LexBound {
    Min,
    Max,
    Inclusive(Bytes),
    Exclusive(Bytes),
}

fn parse_lex_bound(arg: &[u8]) -> Option<LexBound> {
    match arg.first() {
        Some(b'+') if arg.len() == 1 => Some(LexBound::Max),
        Some(b'-') if arg.len() == 1 => Some(LexBound::Min),
        Some(b'(') => Some(LexBound::Exclusive(Bytes::copy_from_slice(&arg[1..]))),
        Some(b'[') => Some(LexBound::Inclusive(Bytes::copy_from_slice(&arg[1..]))),
        _ => None,
    }
}

/// What a range selects: ranks, scores or members.
#[derive(Debug, Clone)]
pub enum RangeKind {
    Rank(i64, i64),
    Score(ScoreBound, ScoreBound),
    Lex(LexBound, LexBound),
}

fn above_min_score(score: f64, min: ScoreBound) -> bool {
    if min.exclusive {
        score > min.value
    } else {
        score >= min.value
    }
}

fn below_max_score(score: f64, max: ScoreBound) -> bool {
    if max.exclusive {
        score < max.value
    } else {
        score <= max.value
    }
}

fn above_min_lex(member: &[u8], min: &LexBound) -> bool {
    match min {
        LexBound::Min => true,
        LexBound::Max => false,
        LexBound::Inclusive(bound) => member >= bound.as_ref(),
        LexBound::Exclusive(bound) => member > bound.as_ref(),
    }
}

fn below_max_lex(member: &[u8], max: &LexBound) -> bool {
    match max {
        LexBound::Max => true,
        LexBound::Min => false,
        LexBound::Inclusive(bound) => member <= bound.as_ref(),
        LexBound::Exclusive(bound) => member < bound.as_ref(),
    }
}

/// The ranks `lo..hi` of the members inside a score or lex range, or of a
/// rank range after Redis's index sanitizing. `reverse` matters only for
/// a lex range over a listpack whose scores differ (see `listpack_lex`).
fn bounds(zset: &ZSet, kind: &RangeKind, reverse: bool) -> (usize, usize) {
    match kind {
        RangeKind::Rank(start, end) => rank_bounds(zset.len(), *start, *end),
        RangeKind::Score(min, max) => (
            zset.partition_point(|_, s| !above_min_score(s, *min)),
            zset.partition_point(|_, s| below_max_score(s, *max)),
        ),
        RangeKind::Lex(min, max) => match zset {
            ZSet::Listpack(packed) => {
                let members: Vec<&[u8]> = listpack_entries(packed).map(|(m, _)| m).collect();
                listpack_lex(&members, min, max, reverse)
            }
            ZSet::Skiplist(sorted) => skiplist_lex(zset, sorted, min, max, reverse),
        },
    }
}

/// A lex range over a listpack as Redis walks it (zzlFirstInLexRange /
/// zzlLastInLexRange): from one end to the first member inside, then on
/// while members stay inside. With equal scores, as lex ranges expect,
/// this is the plain range; with mixed scores it is what Redis returns.
fn listpack_lex(
    members: &[&[u8]],
    min: &LexBound,
    max: &LexBound,
    reverse: bool,
) -> (usize, usize) {
    let (Some(first), Some(last)) = (members.first(), members.last()) else {
        return (0, 0);
    };
    if lex_range_is_empty(min, max) || !above_min_lex(last, min) || !below_max_lex(first, max) {
        return (0, 0);
    }
    if reverse {
        let Some(top) = members.iter().rposition(|m| below_max_lex(m, max)) else {
            return (0, 0);
        };
        let inside = members[..=top]
            .iter()
            .rev()
            .take_while(|m| above_min_lex(m, min))
            .count();
        (top + 1 - inside, top + 1)
    } else {
        let Some(bottom) = members.iter().position(|m| above_min_lex(m, min)) else {
            return (0, 0);
        };
        let inside = members[bottom..]
            .iter()
            .take_while(|m| below_max_lex(m, max))
            .count();
        (bottom, bottom + inside)
    }
}

/// A lex range over a skiplist. With equal scores the members are in lex
/// order and two searches find the range. With mixed scores Redis's answer
/// depends on its nodes' random levels; what it always does is answer
/// nothing when the first member is above the range or the last below it
/// (zslIsInLexRange), and, from the member its search lands on, go on
/// while members stay inside. This does the same from a binary search.
fn skiplist_lex(
    zset: &ZSet,
    sorted: &Sorted,
    min: &LexBound,
    max: &LexBound,
    reverse: bool,
) -> (usize, usize) {
    let (Some((first, first_score)), Some((last, last_score))) =
        (sorted.iter().next(), sorted.iter().next_back())
    else {
        return (0, 0);
    };
    if lex_range_is_empty(min, max) || !above_min_lex(last, min) || !below_max_lex(first, max) {
        return (0, 0);
    }
    if first_score == last_score {
        return (
            zset.partition_point(|m, _| !above_min_lex(m, min)),
            zset.partition_point(|m, _| below_max_lex(m, max)),
        );
    }
    if reverse {
        let top = zset.partition_point(|m, _| below_max_lex(m, max));
        let inside = sorted
            .iter()
            .rev()
            .skip(zset.len() - top)
            .take_while(|(m, _)| above_min_lex(m, min))
            .count();
        (top - inside, top)
    } else {
        let bottom = zset.partition_point(|m, _| !above_min_lex(m, min));
        let inside = sorted
            .iter()
            .skip(bottom)
            .take_while(|(m, _)| below_max_lex(m, max))
            .count();
        (bottom, bottom + inside)
    }
}

/// Redis's check for lex ranges that are always empty (min above max, or
/// equal with an exclusive end; `-` and `+` count as exclusive).
fn lex_range_is_empty(min: &LexBound, max: &LexBound) -> bool {
    use std::cmp::Ordering;
    let rank = |bound: &LexBound| match bound {
        LexBound::Min => 0,
        LexBound::Inclusive(_) | LexBound::Exclusive(_) => 1,
        LexBound::Max => 2,
    };
    let text = |bound: &LexBound| match bound {
        LexBound::Inclusive(b) | LexBound::Exclusive(b) => b.clone(),
        _ => Bytes::new(),
    };
    let exclusive = |bound: &LexBound| !matches!(bound, LexBound::Inclusive(_));
    let order = rank(min)
        .cmp(&rank(max))
        .then_with(|| text(min).cmp(&text(max)));
    order == Ordering::Greater || (order == Ordering::Equal && (exclusive(min) || exclusive(max)))
}

/// Negative indexes count from the end; an empty range is (0, 0).
fn rank_bounds(length: usize, start: i64, end: i64) -> (usize, usize) {
    let length = length as i64;
    let start = if start < 0 { length + start } else { start }.max(0);
    let end = if end < 0 { length + end } else { end };
    if start > end || start >= length {
        return (0, 0);
    }
    (start as usize, (end.min(length - 1) + 1) as usize)
}

/// A parsed ZRANGE-family request.
#[derive(Debug, Clone)]
pub struct RangeQuery {
    pub kind: RangeKind,
    pub reverse: bool,
    pub withscores: bool,
    pub offset: i64,
    /// Negative: no limit.
    pub limit: i64,
}

/// Which ZRANGE form: the range kind and direction fixed by the command
/// name, or None where ZRANGE's own keywords choose.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Fixed {
    Rank,
    Score,
    Lex,
}

/// zrangeGenericCommand's parsing: `key_index` is the source key's index;
/// min and max follow it, options after them.
pub fn parse_range(
    argv: &[Arg<'_>],
    key_index: usize,
    store: bool,
    fixed: Option<Fixed>,
    fixed_reverse: Option<bool>,
) -> Result<RangeQuery, Reply> {
    let (mut kind, mut reverse) = (fixed, fixed_reverse);
    let (mut withscores, mut offset, mut limit) = (false, 0i64, -1i64);
    let mut index = key_index + 3;
    while index < argv.len() {
        let left = argv.len() - index - 1;
        let word = argv[index].to_ascii_uppercase();
        match word.as_slice() {
            b"WITHSCORES" if !store => withscores = true,
            b"LIMIT" if left >= 2 => {
                offset = parse_int(&argv[index + 1]).ok_or(Reply::error(NOT_INTEGER))?;
                limit = parse_int(&argv[index + 2]).ok_or(Reply::error(NOT_INTEGER))?;
                index += 2;
            }
            b"REV" if reverse.is_none() => reverse = Some(true),
            b"BYLEX" if kind.is_none() => kind = Some(Fixed::Lex),
            b"BYSCORE" if kind.is_none() => kind = Some(Fixed::Score),
            _ => return Err(Reply::error(SYNTAX)),
        }
        index += 1;
    }
    let kind = kind.unwrap_or(Fixed::Rank);
    let reverse = reverse.unwrap_or(false);
    if limit != -1 && kind == Fixed::Rank {
        return Err(Reply::error(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if withscores && kind == Fixed::Lex {
        return Err(Reply::error(
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    let (mut min, mut max) = (&argv[key_index + 1], &argv[key_index + 2]);
    if reverse && kind != Fixed::Rank {
        std::mem::swap(&mut min, &mut max);
    }
    let kind = match kind {
        Fixed::Rank => match (parse_int(min), parse_int(max)) {
            (Some(start), Some(end)) => RangeKind::Rank(start, end),
            _ => return Err(Reply::error(NOT_INTEGER)),
        },
        Fixed::Score => match (parse_score_bound(min), parse_score_bound(max)) {
            (Some(min), Some(max)) => RangeKind::Score(min, max),
            _ => return Err(Reply::error(NOT_FLOAT_RANGE)),
        },
        Fixed::Lex => match (parse_lex_bound(min), parse_lex_bound(max)) {
            (Some(min), Some(max)) => RangeKind::Lex(min, max),
            _ => return Err(Reply::error(NOT_LEX_RANGE)),
        },
    };
    Ok(RangeQuery {
        kind,
        reverse,
        withscores,
        offset,
        limit,
    })
}

/// The entries a range query selects, in reply order.
pub fn select(zset: &ZSet, query: &RangeQuery) -> Vec<(Bytes, f64)> {
    let (mut lo, mut hi) = bounds(zset, &query.kind, query.reverse);
    if lo >= hi {
        return Vec::new();
    }
    if query.reverse && matches!(query.kind, RangeKind::Rank(..)) {
        // Ranks of a reverse range count from the highest score.
        (lo, hi) = (zset.len() - hi, zset.len() - lo);
    }
    let (offset, limit) = match query.kind {
        RangeKind::Rank(..) => (0, -1),
        _ => (query.offset, query.limit),
    };
    // Redis skips `offset` entries one by one, so a negative offset skips
    // them all; a negative limit means no limit.
    let available = hi - lo;
    if offset < 0 || offset as u64 >= available as u64 {
        return Vec::new();
    }
    let offset = offset as usize;
    let count = if limit < 0 {
        available - offset
    } else {
        (limit as u64).min((available - offset) as u64) as usize
    };
    if query.reverse {
        let mut entries = zset.range(hi - offset - count, hi - offset);
        entries.reverse();
        entries
    } else {
        zset.range(lo + offset, lo + offset + count)
    }
}

/// Members, with their scores when asked (flat in RESP2, pairs in RESP3).
pub fn scored_reply(entries: Vec<(Bytes, f64)>, withscores: bool) -> Reply {
    if withscores {
        Reply::Pairs(
            entries
                .into_iter()
                .map(|(m, s)| (Reply::Bulk(m), Reply::Double(s)))
                .collect(),
        )
    } else {
        Reply::Array(entries.into_iter().map(|(m, _)| Reply::Bulk(m)).collect())
    }
}

// ---------------------------------------------------------------------------
// Keyspace access
// ---------------------------------------------------------------------------

fn zset_of(value: &mut Value) -> Option<&mut ZSet> {
    match value {
        Value::ZSet(zset) => Some(zset),
        _ => None,
    }
}

fn read_zset<'a>(db: &'a mut Db, key: &[u8]) -> Result<Option<&'a mut ZSet>, Reply> {
    typed_value(db, key, false, zset_of)
}

fn write_zset<'a>(db: &'a mut Db, key: &[u8]) -> Result<Option<&'a mut ZSet>, Reply> {
    typed_value(db, key, true, zset_of)
}

/// How a STORE command builds its result: all at once (ZUNIONSTORE and
/// kin) or member by member in reply order (ZRANGESTORE).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Build {
    AllAtOnce,
    InOrder,
}

/// The sorted set a STORE command writes, encoded as Redis would have it.
pub fn build(entries: Vec<(Bytes, f64)>, how: Build, limits: &EncodingLimits) -> ZSet {
    match how {
        Build::AllAtOnce => ZSet::from_entries(entries, limits),
        Build::InOrder => ZSet::from_insertions(entries, limits),
    }
}

/// Stores `entries` at `key` as a new sorted set (replacing whatever was
/// there, TTL included), or deletes the key when there are none; the
/// number stored.
pub fn store(db: &mut Db, key: &[u8], entries: Vec<(Bytes, f64)>, how: Build) -> i64 {
    let (slot, now) = (db.slot(key), db.now_ms);
    if entries.is_empty() {
        db.keyspace.remove(slot, key);
        return 0;
    }
    let zset = build(entries, how, &encoding_limits(db));
    let count = zset.len() as i64;
    db.keyspace
        .insert(slot, key, Entry::new(Value::ZSet(zset), now));
    count
}

// ---------------------------------------------------------------------------
// ZADD, ZINCRBY, ZREM, reads of single members
// ---------------------------------------------------------------------------

#[derive(Default, Clone, Copy)]
struct AddFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    ch: bool,
    incr: bool,
}

/// What one zsetAdd did.
enum Added {
    New(f64),
    Updated(f64),
    Same(f64),
    Nothing,
}

/// Redis's zsetAdd for one member; Err on a NaN result.
fn add_one(
    zset: &mut ZSet,
    mut score: f64,
    member: &[u8],
    flags: AddFlags,
    limits: &EncodingLimits,
) -> Result<Added, ()> {
    match zset.score(member) {
        Some(current) => {
            if flags.nx {
                return Ok(Added::Nothing);
            }
            if flags.incr {
                score += current;
                if score.is_nan() {
                    return Err(());
                }
            }
            if (flags.lt && score >= current) || (flags.gt && score <= current) {
                return Ok(Added::Nothing);
            }
            if score != current {
                zset.insert(member, score, limits);
                return Ok(Added::Updated(score));
            }
            Ok(Added::Same(score))
        }
        None if flags.xx => Ok(Added::Nothing),
        None => {
            zset.insert(member, score, limits);
            Ok(Added::New(score))
        }
    }
}

fn parse_add_flags(argv: &[Arg<'_>], incr: bool) -> (AddFlags, usize) {
    let mut flags = AddFlags {
        incr,
        ..AddFlags::default()
    };
    let mut index = 2;
    while index < argv.len() {
        match argv[index].to_ascii_uppercase().as_slice() {
            b"NX" => flags.nx = true,
            b"XX" => flags.xx = true,
            b"CH" => flags.ch = true,
            b"INCR" => flags.incr = true,
            b"GT" => flags.gt = true,
            b"LT" => flags.lt = true,
            _ => break,
        }
        index += 1;
    }
    (flags, index)
}

/// The current scores of the members a ZADD (or, `geo`, a GEOADD) names,
/// read without touching the key's access time or the hit counters: what
/// tells, for its keyspace event, whether the command changed anything
/// (Redis notifies when a member was added or its score updated).
pub fn named_scores(db: &mut Db, argv: &[Arg<'_>], geo: bool) -> Vec<Option<f64>> {
    let members: Vec<&[u8]> = if geo {
        let first = 2 + argv[2..]
            .iter()
            .take_while(|a| {
                a.eq_ignore_ascii_case(b"nx")
                    || a.eq_ignore_ascii_case(b"xx")
                    || a.eq_ignore_ascii_case(b"ch")
            })
            .count();
        argv[first..]
            .chunks_exact(3)
            .map(|t| t[2].as_bytes())
            .collect()
    } else {
        let (_, first) = parse_add_flags(argv, false);
        argv[first..]
            .chunks_exact(2)
            .map(|p| p[1].as_bytes())
            .collect()
    };
    let (slot, now) = (db.slot(&argv[1]), db.now_ms);
    let zset = db
        .keyspace
        .peek(slot, &argv[1], now)
        .and_then(|entry| match &entry.value {
            Value::ZSet(zset) => Some(zset),
            _ => None,
        });
    members
        .iter()
        .map(|member| zset.and_then(|z| z.score(member)))
        .collect()
}

/// A parsed ZADD: its options and its (score, member) pairs.
type AddRequest<'a> = (AddFlags, Vec<(f64, &'a [u8])>);

/// ZADD's options and score/member pairs, checked in Redis's order.
fn parse_add<'a>(argv: &'a [Arg<'_>], incr: bool) -> Result<AddRequest<'a>, Reply> {
    let (flags, first) = parse_add_flags(argv, incr);
    let elements = argv.len() - first;
    if elements == 0 || elements % 2 == 1 {
        return Err(Reply::error(SYNTAX));
    }
    if flags.nx && flags.xx {
        return Err(Reply::error(
            "ERR XX and NX options at the same time are not compatible",
        ));
    }
    if (flags.nx && (flags.gt || flags.lt)) || (flags.gt && flags.lt) {
        return Err(Reply::error(
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if flags.incr && elements > 2 {
        return Err(Reply::error(
            "ERR INCR option supports a single increment-element pair",
        ));
    }
    let pairs = argv[first..]
        .chunks_exact(2)
        .map(|pair| parse_score(&pair[0]).map(|score| (score, &pair[1][..])))
        .collect::<Option<Vec<_>>>()
        .ok_or(Reply::error(NOT_FLOAT))?;
    Ok((flags, pairs))
}

fn add_generic(db: &mut Db, argv: &[Arg<'_>], incr: bool) -> Reply {
    let (flags, pairs) = match parse_add(argv, incr) {
        Ok(parsed) => parsed,
        Err(reply) => return reply,
    };
    add_pairs(db, &argv[1], flags, pairs)
}

/// GEOADD's options, which it hands to ZADD as they are.
pub struct AddOptions {
    pub nx: bool,
    pub xx: bool,
    pub ch: bool,
}

/// ZADD of parsed pairs (GEOADD computes its scores and adds through
/// this, as Redis's geoaddCommand calls zaddCommand).
pub fn add_parsed(db: &mut Db, key: &[u8], options: AddOptions, pairs: Vec<(f64, &[u8])>) -> Reply {
    if pairs.is_empty() {
        return Reply::error(SYNTAX);
    }
    let flags = AddFlags {
        nx: options.nx,
        xx: options.xx,
        ch: options.ch,
        ..AddFlags::default()
    };
    add_pairs(db, key, flags, pairs)
}

fn add_pairs(db: &mut Db, key: &[u8], flags: AddFlags, pairs: Vec<(f64, &[u8])>) -> Reply {
    let limits = encoding_limits(db);
    let exists = match write_zset(db, key) {
        Ok(zset) => zset.is_some(),
        Err(reply) => return reply,
    };
    let nothing = if flags.incr {
        Reply::Nil
    } else {
        Reply::Int(0)
    };
    if !exists {
        if flags.xx {
            return nothing;
        }
        let (slot, now) = (db.slot(key), db.now_ms);
        let mut zset = ZSet::new();
        if limits.zset_max_listpack_entries == 0 {
            zset.convert_to_skiplist();
        }
        db.keyspace
            .insert(slot, key, Entry::new(Value::ZSet(zset), now));
    }
    let Ok(Some(zset)) = write_zset(db, key) else {
        return Reply::error(WRONGTYPE);
    };
    let (mut added, mut updated, mut processed) = (0i64, 0i64, 0i64);
    let mut last_score = 0.0;
    let mut failed = false;
    for (score, member) in pairs {
        match add_one(zset, score, member, flags, &limits) {
            Ok(Added::New(score)) => {
                (added, processed, last_score) = (added + 1, processed + 1, score)
            }
            Ok(Added::Updated(score)) => {
                (updated, processed, last_score) = (updated + 1, processed + 1, score)
            }
            Ok(Added::Same(score)) => (processed, last_score) = (processed + 1, score),
            Ok(Added::Nothing) => {}
            Err(()) => {
                failed = true;
                break;
            }
        }
    }
    drop_if_empty(db, key);
    if failed {
        return Reply::error(NAN_RESULT);
    }
    if flags.incr {
        if processed > 0 {
            Reply::Double(last_score)
        } else {
            Reply::Nil
        }
    } else {
        Reply::Int(if flags.ch { added + updated } else { added })
    }
}

pub fn zadd(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    add_generic(db, argv, false)
}

pub fn zincrby(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    add_generic(db, argv, true)
}

pub fn zrem(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let removed = match write_zset(db, &argv[1]) {
        Ok(Some(zset)) => argv[2..]
            .iter()
            .filter(|m| zset.remove(m).is_some())
            .count(),
        Ok(None) => 0,
        Err(reply) => return reply,
    };
    drop_if_empty(db, &argv[1]);
    Reply::Int(removed as i64)
}

pub fn zscore(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    match read_zset(db, &argv[1]) {
        Ok(zset) => zset
            .and_then(|z| z.score(&argv[2]))
            .map_or(Reply::Nil, Reply::Double),
        Err(reply) => reply,
    }
}

pub fn zmscore(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    match read_zset(db, &argv[1]) {
        Ok(zset) => Reply::Array(
            argv[2..]
                .iter()
                .map(|m| {
                    zset.as_ref()
                        .and_then(|z| z.score(m))
                        .map_or(Reply::Nil, Reply::Double)
                })
                .collect(),
        ),
        Err(reply) => reply,
    }
}

pub fn zcard(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    match read_zset(db, &argv[1]) {
        Ok(zset) => Reply::Int(zset.map_or(0, |z| z.len() as i64)),
        Err(reply) => reply,
    }
}

fn rank_generic(db: &mut Db, argv: &[Arg<'_>], reverse: bool) -> Reply {
    match read_zset(db, &argv[1]) {
        Ok(Some(zset)) => match zset.rank(&argv[2]) {
            Some((rank, _)) if reverse => Reply::Int((zset.len() - 1 - rank) as i64),
            Some((rank, _)) => Reply::Int(rank as i64),
            None => Reply::Nil,
        },
        Ok(None) => Reply::Nil,
        Err(reply) => reply,
    }
}

pub fn zrank(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    rank_generic(db, argv, false)
}

pub fn zrevrank(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    rank_generic(db, argv, true)
}

fn count_generic(db: &mut Db, argv: &[Arg<'_>], kind: Result<RangeKind, Reply>) -> Reply {
    let kind = match kind {
        Ok(kind) => kind,
        Err(reply) => return reply,
    };
    match read_zset(db, &argv[1]) {
        Ok(Some(zset)) => {
            let (lo, hi) = bounds(zset, &kind, false);
            Reply::Int(hi.saturating_sub(lo) as i64)
        }
        Ok(None) => Reply::Int(0),
        Err(reply) => reply,
    }
}

fn score_range(min: &[u8], max: &[u8]) -> Result<RangeKind, Reply> {
    match (parse_score_bound(min), parse_score_bound(max)) {
        (Some(min), Some(max)) => Ok(RangeKind::Score(min, max)),
        _ => Err(Reply::error(NOT_FLOAT_RANGE)),
    }
}

fn lex_range(min: &[u8], max: &[u8]) -> Result<RangeKind, Reply> {
    match (parse_lex_bound(min), parse_lex_bound(max)) {
        (Some(min), Some(max)) => Ok(RangeKind::Lex(min, max)),
        _ => Err(Reply::error(NOT_LEX_RANGE)),
    }
}

pub fn zcount(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let kind = score_range(&argv[2], &argv[3]);
    count_generic(db, argv, kind)
}

pub fn zlexcount(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let kind = lex_range(&argv[2], &argv[3]);
    count_generic(db, argv, kind)
}

// ---------------------------------------------------------------------------
// The ZRANGE family
// ---------------------------------------------------------------------------

fn range_generic(
    db: &mut Db,
    argv: &[Arg<'_>],
    fixed: Option<Fixed>,
    fixed_reverse: Option<bool>,
) -> Reply {
    let query = match parse_range(argv, 1, false, fixed, fixed_reverse) {
        Ok(query) => query,
        Err(reply) => return reply,
    };
    match read_zset(db, &argv[1]) {
        Ok(Some(zset)) => scored_reply(select(zset, &query), query.withscores),
        Ok(None) => Reply::Array(Vec::new()),
        Err(reply) => reply,
    }
}

pub fn zrange(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    range_generic(db, argv, None, None)
}

pub fn zrevrange(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    range_generic(db, argv, Some(Fixed::Rank), Some(true))
}

pub fn zrangebyscore(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    range_generic(db, argv, Some(Fixed::Score), Some(false))
}

pub fn zrevrangebyscore(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    range_generic(db, argv, Some(Fixed::Score), Some(true))
}

pub fn zrangebylex(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    range_generic(db, argv, Some(Fixed::Lex), Some(false))
}

pub fn zrevrangebylex(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    range_generic(db, argv, Some(Fixed::Lex), Some(true))
}

/// ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count].
pub fn zrangestore(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let query = match parse_range(argv, 2, true, None, None) {
        Ok(query) => query,
        Err(reply) => return reply,
    };
    let entries = match read_zset(db, &argv[2]) {
        Ok(Some(zset)) => select(zset, &query),
        Ok(None) => Vec::new(),
        Err(reply) => return reply,
    };
    Reply::Int(store(db, &argv[1], entries, Build::InOrder))
}

fn remove_range_generic(db: &mut Db, argv: &[Arg<'_>], kind: Result<RangeKind, Reply>) -> Reply {
    let kind = match kind {
        Ok(kind) => kind,
        Err(reply) => return reply,
    };
    let removed = match write_zset(db, &argv[1]) {
        Ok(Some(zset)) => {
            let (lo, hi) = bounds(zset, &kind, false);
            zset.remove_range(lo, hi)
        }
        Ok(None) => 0,
        Err(reply) => return reply,
    };
    drop_if_empty(db, &argv[1]);
    Reply::Int(removed as i64)
}

pub fn zremrangebyrank(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let kind = match (parse_int(&argv[2]), parse_int(&argv[3])) {
        (Some(start), Some(end)) => Ok(RangeKind::Rank(start, end)),
        _ => Err(Reply::error(NOT_INTEGER)),
    };
    remove_range_generic(db, argv, kind)
}

pub fn zremrangebyscore(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let kind = score_range(&argv[2], &argv[3]);
    remove_range_generic(db, argv, kind)
}

pub fn zremrangebylex(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let kind = lex_range(&argv[2], &argv[3]);
    remove_range_generic(db, argv, kind)
}

// ---------------------------------------------------------------------------
// Pops
// ---------------------------------------------------------------------------

/// Pops up to `count` members from the low (`max` false) or high end of
/// the sorted set at `key`, deleting the key when it empties. Ok(None)
/// when the key is missing. Shared with the blocking pops.
pub fn pop(
    db: &mut Db,
    key: &[u8],
    max: bool,
    count: usize,
) -> Result<Option<Vec<(Bytes, f64)>>, Reply> {
    let popped = match write_zset(db, key)? {
        Some(zset) => {
            let length = zset.len();
            let count = count.min(length);
            let (start, end) = if max {
                (length - count, length)
            } else {
                (0, count)
            };
            let mut entries = zset.range(start, end);
            zset.remove_range(start, end);
            if max {
                entries.reverse();
            }
            entries
        }
        None => return Ok(None),
    };
    drop_if_empty(db, key);
    Ok(Some(popped))
}

fn pop_generic(db: &mut Db, argv: &[Arg<'_>], max: bool) -> Reply {
    if argv.len() > 3 {
        return Reply::error(SYNTAX);
    }
    let count = match argv.get(2).map(|arg| parse_int(arg)) {
        None => None,
        Some(Some(count)) if count >= 0 => Some(count as usize),
        Some(_) => return Reply::error("ERR value is out of range, must be positive"),
    };
    if count == Some(0) {
        // Redis checks the type before it answers a count of 0.
        return match read_zset(db, &argv[1]) {
            Err(reply) => reply,
            Ok(_) => Reply::Array(Vec::new()),
        };
    }
    match pop(db, &argv[1], max, count.unwrap_or(1)) {
        Ok(None) => Reply::Array(Vec::new()),
        Ok(Some(entries)) if count.is_some() => scored_reply(entries, true),
        Ok(Some(entries)) => Reply::Array(
            entries
                .into_iter()
                .flat_map(|(m, s)| [Reply::Bulk(m), Reply::Double(s)])
                .collect(),
        ),
        Err(reply) => reply,
    }
}

pub fn zpopmin(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    pop_generic(db, argv, false)
}

pub fn zpopmax(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    pop_generic(db, argv, true)
}

/// ZMPOP's arguments: (number of keys, whether MAX, count).
pub fn parse_zmpop(argv: &[Arg<'_>]) -> Result<(usize, bool, usize), Reply> {
    let numkeys = match parse_int(&argv[1]) {
        Some(count) if count > 0 => count as usize,
        _ => return Err(Reply::error("ERR numkeys should be greater than 0")),
    };
    let where_index = numkeys.saturating_add(2);
    let max = match argv.get(where_index).map(|a| a.to_ascii_uppercase()) {
        Some(word) if word == b"MIN" => false,
        Some(word) if word == b"MAX" => true,
        _ => return Err(Reply::error(SYNTAX)),
    };
    let mut count = None;
    let mut index = where_index + 1;
    while index < argv.len() {
        if count.is_some() || !argv[index].eq_ignore_ascii_case(b"COUNT") || index + 1 >= argv.len()
        {
            return Err(Reply::error(SYNTAX));
        }
        count = match parse_int(&argv[index + 1]) {
            Some(value) if value > 0 => Some(value as usize),
            _ => return Err(Reply::error("ERR count should be greater than 0")),
        };
        index += 2;
    }
    Ok((numkeys, max, count.unwrap_or(1)))
}

/// The reply of ZMPOP (and BZMPOP): the key and its popped pairs, nested
/// in both protocols.
pub fn mpop_reply(key: &[u8], entries: Vec<(Bytes, f64)>) -> Reply {
    Reply::Array(vec![
        Reply::Bulk(Bytes::copy_from_slice(key)),
        Reply::Array(
            entries
                .into_iter()
                .map(|(m, s)| Reply::Array(vec![Reply::Bulk(m), Reply::Double(s)]))
                .collect(),
        ),
    ])
}

/// ZMPOP numkeys key [key ...] MIN|MAX [COUNT count].
pub fn zmpop(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let (numkeys, max, count) = match parse_zmpop(argv) {
        Ok(parsed) => parsed,
        Err(reply) => return reply,
    };
    for key in &argv[2..2 + numkeys] {
        match pop(db, key, max, count) {
            Ok(Some(entries)) => return mpop_reply(key, entries),
            Ok(None) => {}
            Err(reply) => return reply,
        }
    }
    Reply::NilArray
}

// ---------------------------------------------------------------------------
// ZRANDMEMBER, ZSCAN
// ---------------------------------------------------------------------------

pub fn zrandmember(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let count = match argv.get(2).map(|arg| parse_int(arg)) {
        None => None,
        Some(Some(i64::MIN)) => {
            return Reply::error(
                "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
            )
        }
        Some(Some(count)) => Some(count),
        Some(None) => return Reply::error(NOT_INTEGER),
    };
    let withscores = match argv.get(3) {
        None => false,
        Some(word) if argv.len() == 4 && word.eq_ignore_ascii_case(b"WITHSCORES") => true,
        Some(_) => return Reply::error(SYNTAX),
    };
    if withscores && count.is_some_and(|c| !(i64::MIN / 2..=i64::MAX / 2).contains(&c)) {
        return Reply::error("ERR value is out of range");
    }
    let mut seed = db.random() | 1;
    let entries = match read_zset(db, &argv[1]) {
        Ok(Some(zset)) => zset.entries(),
        Ok(None) if count.is_none() => return Reply::Nil,
        Ok(None) => return Reply::Array(Vec::new()),
        Err(reply) => return reply,
    };
    let mut next = move |bound: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % bound as u64) as usize
    };
    let Some(count) = count else {
        let pick = next(entries.len());
        return Reply::Bulk(entries[pick].0.clone());
    };
    let picked: Vec<(Bytes, f64)> = if count < 0 || count == 1 {
        (0..count.unsigned_abs())
            .map(|_| entries[next(entries.len())].clone())
            .collect()
    } else if count as u64 >= entries.len() as u64 {
        // The whole set, as Redis's set iterator walks it: from the top.
        let mut entries = entries;
        entries.reverse();
        entries
    } else {
        let mut entries = entries;
        for index in 0..count as usize {
            let pick = index + next(entries.len() - index);
            entries.swap(index, pick);
        }
        entries.truncate(count as usize);
        entries
    };
    scored_reply(picked, withscores)
}

/// ZSCAN key cursor [MATCH pattern] [COUNT count]. A listpack comes back
/// whole with cursor 0, as Redis's; a skiplist pages (see `scan`).
pub fn zscan(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let Some(cursor) = parse_cursor(&argv[2]) else {
        return Reply::error("ERR invalid cursor");
    };
    let (entries, listpack) = match read_zset(db, &argv[1]) {
        Ok(Some(zset)) => (zset.entries(), matches!(zset, ZSet::Listpack(_))),
        Ok(None) => return scan::reply(0, Vec::new()),
        Err(reply) => return reply,
    };
    let options = match scan::parse_options(&argv[3..]) {
        Ok(options) => options,
        Err(reply) => return reply,
    };
    let (entries, next) = if listpack {
        (entries, 0)
    } else {
        let total = entries.len();
        scan::page(
            entries.into_iter().map(|e| (scan::position(&e.0), e)),
            total,
            cursor,
            options.count,
        )
    };
    // A listpack hands out the score text it stores; a skiplist formats
    // the double (%.17Lg), which differs only for -0.
    let text = |score: f64| {
        if listpack {
            score_text(score)
        } else {
            crate::protocol::reply::format_double(score)
        }
    };
    let items = entries
        .into_iter()
        .filter(|(m, _)| options.matches(m))
        .flat_map(|(m, s)| [Reply::Bulk(m), Reply::bulk(text(s))])
        .collect();
    scan::reply(next, items)
}

// ---------------------------------------------------------------------------
// ZUNION, ZINTER, ZDIFF, their STORE forms, ZINTERCARD
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ZOp {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Aggregate {
    Sum,
    Min,
    Max,
}

#[derive(Debug, Clone)]
pub struct OpOptions {
    pub weights: Vec<f64>,
    pub aggregate: Aggregate,
    pub withscores: bool,
    /// ZINTERCARD's LIMIT; 0 means none.
    pub limit: usize,
}

/// A source of a set operation: a sorted set's entries, or a set's
/// members with score 1. None for a missing key.
pub type Source = Option<Vec<(Bytes, f64)>>;

/// The numkeys argument at `index`, checked against the arguments left.
pub fn parse_numkeys(argv: &[Arg<'_>], index: usize, name: &str) -> Result<usize, Reply> {
    let Some(count) = parse_int(&argv[index]) else {
        return Err(Reply::error(NOT_INTEGER));
    };
    if count < 1 {
        return Err(Reply::error_owned(format!(
            "ERR at least 1 input key is needed for '{name}' command"
        )));
    }
    if count as u64 > (argv.len() - index - 1) as u64 {
        return Err(Reply::error(SYNTAX));
    }
    Ok(count as usize)
}

/// The options after the keys (zunionInterDiffGenericCommand).
pub fn parse_op_options(
    args: &[Arg<'_>],
    numkeys: usize,
    op: ZOp,
    store: bool,
    card: bool,
) -> Result<OpOptions, Reply> {
    let mut options = OpOptions {
        weights: vec![1.0; numkeys],
        aggregate: Aggregate::Sum,
        withscores: false,
        limit: 0,
    };
    let algebra = op != ZOp::Diff && !card;
    let mut index = 0;
    while index < args.len() {
        let remaining = args.len() - index;
        let word = args[index].to_ascii_uppercase();
        match word.as_slice() {
            b"WEIGHTS" if algebra && remaining > numkeys => {
                for (slot, arg) in options.weights.iter_mut().zip(&args[index + 1..]) {
                    *slot =
                        parse_score(arg).ok_or(Reply::error("ERR weight value is not a float"))?;
                }
                index += 1 + numkeys;
            }
            b"AGGREGATE" if algebra && remaining >= 2 => {
                options.aggregate = match args[index + 1].to_ascii_uppercase().as_slice() {
                    b"SUM" => Aggregate::Sum,
                    b"MIN" => Aggregate::Min,
                    b"MAX" => Aggregate::Max,
                    _ => return Err(Reply::error(SYNTAX)),
                };
                index += 2;
            }
            b"WITHSCORES" if !store && !card => {
                options.withscores = true;
                index += 1;
            }
            b"LIMIT" if card && remaining >= 2 => {
                options.limit = match parse_int(&args[index + 1]) {
                    Some(limit) if limit >= 0 => limit as usize,
                    _ => return Err(Reply::error("ERR LIMIT can't be negative")),
                };
                index += 2;
            }
            _ => return Err(Reply::error(SYNTAX)),
        }
    }
    Ok(options)
}

fn aggregate(target: &mut f64, value: f64, how: Aggregate) {
    match how {
        Aggregate::Sum => {
            *target += value;
            // inf + -inf: Redis keeps 0 rather than NaN.
            if target.is_nan() {
                *target = 0.0;
            }
        }
        Aggregate::Min => {
            if value < *target {
                *target = value;
            }
        }
        Aggregate::Max => {
            if value > *target {
                *target = value;
            }
        }
    }
}

fn weighted(score: f64, weight: f64) -> f64 {
    let value = score * weight;
    if value.is_nan() {
        0.0
    } else {
        value
    }
}

/// The result of a set operation, in (score, member) order; with
/// `card_limit` (ZINTERCARD) only its first members are computed.
pub fn compute(op: ZOp, sources: Vec<Source>, options: &OpOptions) -> Vec<(Bytes, f64)> {
    let mut result = match op {
        ZOp::Inter => intersect(sources, options),
        ZOp::Union => union(sources, options),
        ZOp::Diff => difference(sources),
    };
    result.sort_by(|a, b| crate::keyspace::zset::order(a.1, &a.0, b.1, &b.0));
    result
}

fn by_cardinality(sources: Vec<Source>, options: &OpOptions) -> Vec<(Vec<(Bytes, f64)>, f64)> {
    let mut sources: Vec<(Vec<(Bytes, f64)>, f64)> = sources
        .into_iter()
        .zip(&options.weights)
        .map(|(source, weight)| (source.unwrap_or_default(), *weight))
        .collect();
    sources.sort_by_key(|(entries, _)| entries.len());
    sources
}

fn intersect(sources: Vec<Source>, options: &OpOptions) -> Vec<(Bytes, f64)> {
    let sources = by_cardinality(sources, options);
    let Some(((first, first_weight), rest)) = sources.split_first() else {
        return Vec::new();
    };
    let tables: Vec<(HashMap<&Bytes, f64>, f64)> = rest
        .iter()
        .map(|(entries, weight)| (entries.iter().map(|(m, s)| (m, *s)).collect(), *weight))
        .collect();
    let mut result = Vec::new();
    'members: for (member, score) in first {
        let mut total = weighted(*score, *first_weight);
        for (table, weight) in &tables {
            let Some(other) = table.get(member) else {
                continue 'members;
            };
            aggregate(&mut total, *other * weight, options.aggregate);
        }
        result.push((member.clone(), total));
        if options.limit != 0 && result.len() >= options.limit {
            break;
        }
    }
    result
}

fn union(sources: Vec<Source>, options: &OpOptions) -> Vec<(Bytes, f64)> {
    let mut totals: HashMap<Bytes, f64> = HashMap::new();
    for (entries, weight) in by_cardinality(sources, options) {
        for (member, score) in entries {
            let value = weighted(score, weight);
            match totals.get_mut(&member) {
                Some(total) => aggregate(total, value, options.aggregate),
                None => {
                    totals.insert(member, value);
                }
            }
        }
    }
    totals.into_iter().collect()
}

fn difference(sources: Vec<Source>) -> Vec<(Bytes, f64)> {
    let mut sources = sources.into_iter();
    let Some(Some(first)) = sources.next() else {
        return Vec::new();
    };
    let others: Vec<hashbrown::HashSet<Bytes>> = sources
        .flatten()
        .map(|entries| entries.into_iter().map(|(m, _)| m).collect())
        .collect();
    first
        .into_iter()
        .filter(|(m, _)| !others.iter().any(|other| other.contains(m)))
        .collect()
}

/// A source read on this core: WRONGTYPE for anything but a sorted set
/// or (unless `zset_only`) a set.
pub fn read_source(db: &mut Db, key: &[u8], zset_only: bool) -> Result<Source, Reply> {
    let now = db.now_ms;
    match db.keyspace.lookup_read(db.slot(key), key, now) {
        None => Ok(None),
        Some(Entry {
            value: Value::ZSet(zset),
            ..
        }) => Ok(Some(zset.entries())),
        Some(Entry {
            value: Value::Set(set),
            ..
        }) if !zset_only => Ok(Some(set.members().into_iter().map(|m| (m, 1.0)).collect())),
        Some(_) => Err(Reply::error(WRONGTYPE)),
    }
}

/// A source as a reply, for the coordinator: Nil when missing, else a
/// flat array of members and scores. argv: ["", key, "zset"|"any"].
pub fn source_local(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let zset_only = argv.get(2).is_some_and(|a| a.as_ref() == b"zset");
    match read_source(db, &argv[1], zset_only) {
        Ok(None) => Reply::Nil,
        Ok(Some(entries)) => Reply::Array(
            entries
                .into_iter()
                .flat_map(|(m, s)| [Reply::Bulk(m), Reply::Double(s)])
                .collect(),
        ),
        Err(reply) => reply,
    }
}

/// The inverse of `source_local`.
pub fn source_from_reply(reply: Reply) -> Result<Source, Reply> {
    match reply {
        Reply::Nil => Ok(None),
        Reply::Array(items) => {
            let mut entries = Vec::with_capacity(items.len() / 2);
            let mut items = items.into_iter();
            while let (Some(Reply::Bulk(member)), Some(Reply::Double(score))) =
                (items.next(), items.next())
            {
                entries.push((member, score));
            }
            Ok(Some(entries))
        }
        other => Err(other),
    }
}

/// Replies (or stores, answering the count) with an operation's result.
pub fn op_reply(result: Vec<(Bytes, f64)>, options: &OpOptions, card: bool) -> Reply {
    if card {
        return Reply::Int(result.len() as i64);
    }
    scored_reply(result, options.withscores)
}

fn op_generic(db: &mut Db, argv: &[Arg<'_>], op: ZOp, store_result: bool, card: bool) -> Reply {
    let numkeys_index = if store_result { 2 } else { 1 };
    let name = String::from_utf8_lossy(&argv[0]).to_ascii_lowercase();
    let numkeys = match parse_numkeys(argv, numkeys_index, &name) {
        Ok(count) => count,
        Err(reply) => return reply,
    };
    let first_key = numkeys_index + 1;
    let mut sources = Vec::with_capacity(numkeys);
    for key in &argv[first_key..first_key + numkeys] {
        match read_source(db, key, false) {
            Ok(source) => sources.push(source),
            Err(reply) => return reply,
        }
    }
    let options = match parse_op_options(
        &argv[first_key + numkeys..],
        numkeys,
        op,
        store_result,
        card,
    ) {
        Ok(options) => options,
        Err(reply) => return reply,
    };
    let result = compute(op, sources, &options);
    if store_result {
        return Reply::Int(store(db, &argv[1], result, Build::AllAtOnce));
    }
    op_reply(result, &options, card)
}

pub fn zunion(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    op_generic(db, argv, ZOp::Union, false, false)
}

pub fn zinter(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    op_generic(db, argv, ZOp::Inter, false, false)
}

pub fn zdiff(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    op_generic(db, argv, ZOp::Diff, false, false)
}

pub fn zunionstore(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    op_generic(db, argv, ZOp::Union, true, false)
}

pub fn zinterstore(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    op_generic(db, argv, ZOp::Inter, true, false)
}

pub fn zdiffstore(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    op_generic(db, argv, ZOp::Diff, true, false)
}

pub fn zintercard(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    op_generic(db, argv, ZOp::Inter, false, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_parse_as_redis_does() {
        for (text, value) in [
            ("1", 1.0),
            ("-2.5", -2.5),
            ("inf", f64::INFINITY),
            ("+inf", f64::INFINITY),
            ("-INF", f64::NEG_INFINITY),
            ("1e3", 1000.0),
            (".5", 0.5),
            ("0x10", 16.0),
            ("-0x1.8p1", -3.0),
        ] {
            assert_eq!(parse_score(text.as_bytes()), Some(value), "{text}");
        }
        for text in ["", " 1", "nan", "1x", "1e400", "1e-400", "abc", "--1"] {
            assert_eq!(parse_score(text.as_bytes()), None, "{text}");
        }
        let bound = parse_score_bound(b"(1.5").unwrap();
        assert!(bound.exclusive && bound.value == 1.5);
        assert_eq!(parse_score_bound(b"").map(|b| b.value), Some(0.0));
        assert!(parse_score_bound(b"(nan").is_none());
        assert!(parse_score_bound(b"x").is_none());
    }

    #[test]
    fn scores_reply_as_redis_formats_them() {
        let encode = |reply: &Reply, resp3: bool| {
            let mut out = Vec::new();
            reply.encode(resp3, &mut out);
            String::from_utf8(out).unwrap()
        };
        let entries = vec![
            (Bytes::from("a"), 0.1),
            (Bytes::from("b"), -0.0),
            (Bytes::from("c"), 1e20),
            (Bytes::from("d"), f64::INFINITY),
        ];
        let reply = scored_reply(entries, true);
        assert_eq!(
            encode(&reply, false),
            "*8\r\n$1\r\na\r\n$19\r\n0.10000000000000001\r\n$1\r\nb\r\n$2\r\n-0\r\n\
             $1\r\nc\r\n$5\r\n1e+20\r\n$1\r\nd\r\n$3\r\ninf\r\n"
        );
        assert_eq!(
            encode(&reply, true),
            "*4\r\n*2\r\n$1\r\na\r\n,0.10000000000000001\r\n*2\r\n$1\r\nb\r\n,-0\r\n\
             *2\r\n$1\r\nc\r\n,1e+20\r\n*2\r\n$1\r\nd\r\n,inf\r\n"
        );
        let popped = mpop_reply(&Bytes::from("k"), vec![(Bytes::from("m"), 3.0)]);
        assert_eq!(
            encode(&popped, false),
            "*2\r\n$1\r\nk\r\n*1\r\n*2\r\n$1\r\nm\r\n$1\r\n3\r\n"
        );
    }

    #[test]
    fn rank_bounds_sanitize_like_redis() {
        assert_eq!(rank_bounds(5, 0, -1), (0, 5));
        assert_eq!(rank_bounds(5, -2, -1), (3, 5));
        assert_eq!(rank_bounds(5, -100, 1), (0, 2));
        assert_eq!(rank_bounds(5, 3, 1), (0, 0));
        assert_eq!(rank_bounds(5, 5, 10), (0, 0));
        assert_eq!(rank_bounds(5, 1, 100), (1, 5));
    }

    #[test]
    fn union_and_intersection_weigh_and_aggregate() {
        let a: Source = Some(vec![(Bytes::from("x"), 1.0), (Bytes::from("y"), 2.0)]);
        let b: Source = Some(vec![
            (Bytes::from("y"), 10.0),
            (Bytes::from("z"), f64::INFINITY),
        ]);
        let mut options = OpOptions {
            weights: vec![1.0, 2.0],
            aggregate: Aggregate::Sum,
            withscores: true,
            limit: 0,
        };
        let union = compute(ZOp::Union, vec![a.clone(), b.clone()], &options);
        assert_eq!(
            union,
            vec![
                (Bytes::from("x"), 1.0),
                (Bytes::from("y"), 22.0),
                (Bytes::from("z"), f64::INFINITY)
            ]
        );
        options.aggregate = Aggregate::Max;
        let inter = compute(ZOp::Inter, vec![a.clone(), b.clone()], &options);
        assert_eq!(inter, vec![(Bytes::from("y"), 20.0)]);
        let diff = compute(ZOp::Diff, vec![a, b, None], &options);
        assert_eq!(diff, vec![(Bytes::from("x"), 1.0)]);
    }
}
