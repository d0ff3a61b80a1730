//! Sorted sets. Small ones are one packed buffer of members and scores
//! (each score an entry after its member, see `encode_score`) kept in (score, member)
//! order, as Redis's listpack keeps them; past the limits they become a
//! `Sorted`: the same order split into bounded chunks, plus a member →
//! score table. Ranks are found by summing chunk lengths (a few
//! thousand additions for a million members) and a binary search inside
//! one chunk, so ZRANK and ZRANGE by rank never walk the members.
//!
//! A member is stored twice, in its chunk and in the table, each time as a
//! `Key`: up to 22 bytes inline in its 24 (typical members, `user:1000`,
//! fit), longer ones boxed. A `Bytes` shared by the two would cost 32 bytes
//! in each place, plus the bytes' allocation and the shared header a first
//! clone allocates.

use super::packed::Packed;
use super::value::EncodingLimits;
use super::{Key, SeededState};
use bytes::Bytes;
use hashbrown::HashMap;
use std::cmp::Ordering;

/// A chunk full with this many members is split in two to take one more,
/// or, when the new member goes before the first one or after the last
/// one (members added in order), left full beside a new chunk. A chunk
/// never holds room for more.
const CHUNK_MEMBERS_MAX: usize = 512;

/// A large set built at once (loaded, converted) fills its chunks this
/// far, leaving room for members added later without a split.
const CHUNK_MEMBERS_BUILT: usize = CHUNK_MEMBERS_MAX * 3 / 4;

type Member = Key;

/// Redis's order: by score, then by member bytes. Scores are never NaN.
pub fn order(a_score: f64, a_member: &[u8], b_score: f64, b_member: &[u8]) -> Ordering {
    a_score
        .partial_cmp(&b_score)
        .unwrap_or(Ordering::Equal)
        .then_with(|| a_member.cmp(b_member))
}

fn entry_order(entry: &(Member, f64), score: f64, member: &[u8]) -> Ordering {
    order(entry.1, &entry.0, score, member)
}

/// The ordered chunks of a large sorted set.
#[derive(Debug, Clone, Default)]
pub struct Sorted {
    chunks: Vec<Vec<(Member, f64)>>,
    scores: HashMap<Member, f64, SeededState>,
}

impl Sorted {
    fn from_sorted(entries: Vec<(Bytes, f64)>) -> Self {
        let entries: Vec<(Member, f64)> = entries
            .iter()
            .map(|(member, score)| (Member::from(&member[..]), *score))
            .collect();
        let scores = entries.iter().cloned().collect();
        let chunks = entries
            .chunks(CHUNK_MEMBERS_BUILT)
            .map(<[(Member, f64)]>::to_vec)
            .collect();
        Sorted { chunks, scores }
    }

    /// The chunk an entry with this score and member belongs in.
    fn chunk_for(&self, score: f64, member: &[u8]) -> usize {
        let index = self.chunks.partition_point(|chunk| {
            chunk
                .last()
                .is_some_and(|last| entry_order(last, score, member) == Ordering::Less)
        });
        index.min(self.chunks.len().saturating_sub(1))
    }

    fn insert_new(&mut self, member: &[u8], score: f64) {
        let member = Member::from(member);
        self.scores.insert(member.clone(), score);
        if self.chunks.is_empty() {
            self.chunks.push(vec![(member, score)]);
            return;
        }
        let at = self.chunk_for(score, &member);
        let last = at + 1 == self.chunks.len();
        let chunk = &mut self.chunks[at];
        let inside = chunk.partition_point(|e| entry_order(e, score, &member) == Ordering::Less);
        if chunk.len() < CHUNK_MEMBERS_MAX {
            if chunk.len() == chunk.capacity() {
                // Doubling, but never past the most a chunk holds.
                chunk.reserve_exact(chunk.len().clamp(4, CHUNK_MEMBERS_MAX - chunk.len()));
            }
            chunk.insert(inside, (member, score));
        } else if last && inside == chunk.len() {
            self.chunks.push(vec![(member, score)]);
        } else if at == 0 && inside == 0 {
            self.chunks.insert(0, vec![(member, score)]);
        } else {
            let half = CHUNK_MEMBERS_MAX / 2;
            let mut upper = chunk.split_off(half);
            if inside <= half {
                chunk.insert(inside, (member, score));
            } else {
                upper.reserve_exact(1);
                upper.insert(inside - half, (member, score));
            }
            self.chunks.insert(at + 1, upper);
        }
    }

    /// (chunk, index inside it) of an entry known to be present.
    fn locate(&self, score: f64, member: &[u8]) -> Option<(usize, usize)> {
        let at = self.chunk_for(score, member);
        let chunk = self.chunks.get(at)?;
        chunk
            .binary_search_by(|e| entry_order(e, score, member))
            .ok()
            .map(|inside| (at, inside))
    }

    fn remove_entry(&mut self, member: &[u8], score: f64) {
        if let Some((at, inside)) = self.locate(score, member) {
            self.chunks[at].remove(inside);
            if self.chunks[at].is_empty() {
                self.chunks.remove(at);
            } else {
                // Keep chunks from thinning out as members leave.
                let fits = |a: usize, b: usize| a + b <= CHUNK_MEMBERS_MAX / 2;
                if at > 0 && fits(self.chunks[at - 1].len(), self.chunks[at].len()) {
                    let this = self.chunks.remove(at);
                    self.chunks[at - 1].extend(this);
                } else if at + 1 < self.chunks.len()
                    && fits(self.chunks[at].len(), self.chunks[at + 1].len())
                {
                    let next = self.chunks.remove(at + 1);
                    self.chunks[at].extend(next);
                }
            }
        }
        self.scores.remove(member);
    }

    fn rank(&self, score: f64, member: &[u8]) -> Option<usize> {
        let (at, inside) = self.locate(score, member)?;
        Some(self.chunks[..at].iter().map(Vec::len).sum::<usize>() + inside)
    }

    /// (chunk, index inside it) of the entry at `rank`.
    fn position(&self, mut rank: usize) -> Option<(usize, usize)> {
        for (at, chunk) in self.chunks.iter().enumerate() {
            if rank < chunk.len() {
                return Some((at, rank));
            }
            rank -= chunk.len();
        }
        None
    }

    /// Removes the entries with ranks `start..end`, chunk by chunk.
    fn remove_ranks(&mut self, start: usize, end: usize) {
        let (mut at, mut first_rank) = (0, 0);
        while at < self.chunks.len() && first_rank < end {
            let length = self.chunks[at].len();
            let low = start.saturating_sub(first_rank).min(length);
            let high = (end - first_rank).min(length);
            for (member, _) in self.chunks[at].drain(low..high) {
                self.scores.remove(&*member);
            }
            first_rank += length;
            if self.chunks[at].is_empty() {
                self.chunks.remove(at);
            } else {
                at += 1;
            }
        }
        self.merge_small_chunks();
    }

    /// Joins neighbouring chunks that removals left small, so the number
    /// of chunks stays near the number of members over the chunk size.
    fn merge_small_chunks(&mut self) {
        let mut at = 0;
        while at + 1 < self.chunks.len() {
            if self.chunks[at].len() + self.chunks[at + 1].len() <= CHUNK_MEMBERS_MAX / 2 {
                let next = self.chunks.remove(at + 1);
                self.chunks[at].extend(next);
            } else {
                at += 1;
            }
        }
    }

    /// Every entry, in (score, member) order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&[u8], f64)> + '_ {
        self.chunks
            .iter()
            .flatten()
            .map(|(member, score)| (&**member, *score))
    }

    fn partition_point(&self, below: impl Fn(&[u8], f64) -> bool) -> usize {
        let at = self
            .chunks
            .partition_point(|chunk| chunk.last().is_some_and(|(m, s)| below(m, *s)));
        let before: usize = self.chunks[..at].iter().map(Vec::len).sum();
        before
            + self
                .chunks
                .get(at)
                .map_or(0, |chunk| chunk.partition_point(|(m, s)| below(m, *s)))
    }
}

/// A sorted set, in the encoding Redis would report for it.
#[derive(Debug, Clone)]
pub enum ZSet {
    /// Member, score, member, score... (scores as `encode_score` writes
    /// them), in (score, member) order.
    Listpack(Packed),
    Skiplist(Box<Sorted>),
}

/// A listpack's score entry: an integral score below 2^55 in magnitude as
/// the fewest little-endian bytes of its two's complement that hold it (0
/// to 7; none for 0), as Redis's listpack stores such a score as an
/// integer; any other as the 8 bytes of its f64. Scores N+1..N+5 for N up
/// to a million take 3 bytes, not 8.
fn encode_score(score: f64) -> ScoreBytes {
    const LIMIT: f64 = (1u64 << 55) as f64;
    let whole = ScoreBytes {
        bytes: score.to_le_bytes(),
        len: 8,
    };
    let negative_zero = score == 0.0 && score.is_sign_negative();
    if score != score.trunc() || score.abs() >= LIMIT || negative_zero {
        return whole;
    }
    let value = score as i64;
    // The fewest bytes whose sign extension gives the value back.
    let fits = |len: usize| {
        let shift = 64 - 8 * len as u32;
        (value << shift) >> shift == value
    };
    let len = if value == 0 {
        0
    } else {
        match (1..8).find(|&len| fits(len)) {
            Some(len) => len,
            None => return whole,
        }
    };
    ScoreBytes {
        bytes: value.to_le_bytes(),
        len,
    }
}

/// An encoded score: the first `len` of `bytes`.
struct ScoreBytes {
    bytes: [u8; 8],
    len: usize,
}

impl ScoreBytes {
    fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

fn decode_score(entry: &[u8]) -> f64 {
    match entry.len() {
        8 => f64::from_le_bytes(entry.try_into().unwrap_or_default()),
        0 => 0.0,
        len => {
            let mut bytes = [0u8; 8];
            bytes[..len].copy_from_slice(entry);
            let shift = 64 - 8 * len as u32;
            ((i64::from_le_bytes(bytes) << shift) >> shift) as f64
        }
    }
}

/// A listpack's (member, score) entries, in order.
pub fn listpack_entries(packed: &Packed) -> impl Iterator<Item = (&[u8], f64)> + '_ {
    packed
        .pairs()
        .map(|(member, score)| (member, decode_score(score)))
}

/// A listpack of entries already in order.
fn pack<'a>(entries: impl Iterator<Item = (&'a [u8], f64)>) -> Packed {
    let scores: Vec<(&[u8], ScoreBytes)> = entries
        .map(|(member, score)| (member, encode_score(score)))
        .collect();
    scores
        .iter()
        .flat_map(|(member, score)| [*member, score.as_slice()])
        .collect()
}

impl Default for ZSet {
    fn default() -> Self {
        ZSet::new()
    }
}

impl ZSet {
    pub fn new() -> Self {
        ZSet::Listpack(Packed::new())
    }

    /// A set built from scratch (a STORE result, a loaded payload): a
    /// listpack while it fits the limits, as Redis's
    /// zsetConvertToListpackIfNeeded decides. `entries` need not be sorted.
    pub fn from_entries(mut entries: Vec<(Bytes, f64)>, limits: &EncodingLimits) -> Self {
        entries.sort_by(|a, b| order(a.1, &a.0, b.1, &b.0));
        let fits = entries.len() <= limits.zset_max_listpack_entries
            && entries
                .iter()
                .all(|(m, _)| m.len() <= limits.zset_max_listpack_value);
        if fits {
            ZSet::Listpack(pack(
                entries
                    .iter()
                    .map(|(m, s)| (m.as_ref(), listpack_score(*s))),
            ))
        } else {
            ZSet::Skiplist(Box::new(Sorted::from_sorted(entries)))
        }
    }

    /// A skiplist-encoded set of `entries` (need not be sorted), scores
    /// exactly as given: a large set moving between cores.
    pub fn skiplist_from(mut entries: Vec<(Bytes, f64)>) -> Self {
        entries.sort_by(|a, b| order(a.1, &a.0, b.1, &b.0));
        ZSet::Skiplist(Box::new(Sorted::from_sorted(entries)))
    }

    /// A set built by adding `entries` one by one to a set created for
    /// that many (Redis's zsetTypeCreate then zsetAdd, as ZRANGESTORE
    /// does): members added while it is a listpack store -0 as 0.
    pub fn from_insertions(entries: Vec<(Bytes, f64)>, limits: &EncodingLimits) -> Self {
        let mut zset = ZSet::new();
        if entries.len() > limits.zset_max_listpack_entries {
            zset.convert_to_skiplist();
        }
        for (member, score) in entries {
            zset.insert(&member, score, limits);
        }
        zset
    }

    pub fn len(&self) -> usize {
        match self {
            ZSet::Listpack(packed) => packed.len() / 2,
            ZSet::Skiplist(sorted) => sorted.scores.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            ZSet::Listpack(packed) => {
                listpack_entries(packed).find_map(|(m, s)| (m == member).then_some(s))
            }
            ZSet::Skiplist(sorted) => sorted.scores.get(member).copied(),
        }
    }

    /// Adds a member or moves it to a new score; true when it is new. The
    /// caller has checked the score is not NaN.
    pub fn insert(&mut self, member: &[u8], score: f64, limits: &EncodingLimits) -> bool {
        debug_assert!(!score.is_nan());
        let old = self.remove(member);
        if old.is_none() && matches!(self, ZSet::Listpack(_)) {
            let too_long = member.len() > limits.zset_max_listpack_value;
            if too_long || self.len() + 1 > limits.zset_max_listpack_entries {
                self.convert_to_skiplist();
            }
        }
        match self {
            ZSet::Listpack(packed) => {
                let score = listpack_score(score);
                let at = listpack_entries(packed)
                    .take_while(|(m, s)| order(*s, m, score, member).is_lt())
                    .count();
                packed.insert(at * 2, &[member, encode_score(score).as_slice()]);
            }
            // A copy: the member may be a slice of a whole read buffer.
            ZSet::Skiplist(sorted) => sorted.insert_new(member, score),
        }
        old.is_none()
    }

    /// Removes a member, returning its score.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        match self {
            ZSet::Listpack(packed) => {
                let (at, (_, score)) = listpack_entries(packed)
                    .enumerate()
                    .find(|(_, (m, _))| *m == member)?;
                packed.remove(at * 2, 2);
                Some(score)
            }
            ZSet::Skiplist(sorted) => {
                let score = *sorted.scores.get(member)?;
                sorted.remove_entry(member, score);
                Some(score)
            }
        }
    }

    /// The member's rank, lowest score first, and its score.
    pub fn rank(&self, member: &[u8]) -> Option<(usize, f64)> {
        match self {
            ZSet::Listpack(packed) => listpack_entries(packed)
                .enumerate()
                .find(|(_, (m, _))| *m == member)
                .map(|(at, (_, score))| (at, score)),
            ZSet::Skiplist(sorted) => {
                let score = *sorted.scores.get(member)?;
                sorted.rank(score, member).map(|rank| (rank, score))
            }
        }
    }

    /// The entries with ranks `start..end`, ascending.
    pub fn range(&self, start: usize, end: usize) -> Vec<(Bytes, f64)> {
        let end = end.min(self.len());
        if start >= end {
            return Vec::new();
        }
        match self {
            ZSet::Listpack(packed) => listpack_entries(packed)
                .skip(start)
                .take(end - start)
                .map(|(m, s)| (Bytes::copy_from_slice(m), s))
                .collect(),
            ZSet::Skiplist(sorted) => {
                let mut out = Vec::with_capacity(end - start);
                let Some((mut at, mut inside)) = sorted.position(start) else {
                    return out;
                };
                while out.len() < end - start {
                    let Some(chunk) = sorted.chunks.get(at) else {
                        break;
                    };
                    let take = (chunk.len() - inside).min(end - start - out.len());
                    out.extend(
                        chunk[inside..inside + take]
                            .iter()
                            .map(|(member, score)| (Bytes::copy_from_slice(member), *score)),
                    );
                    (at, inside) = (at + 1, 0);
                }
                out
            }
        }
    }

    /// The number of leading entries for which `below(member, score)`
    /// holds; `below` must hold for a prefix of the order only.
    pub fn partition_point(&self, below: impl Fn(&[u8], f64) -> bool) -> usize {
        match self {
            ZSet::Listpack(packed) => listpack_entries(packed)
                .take_while(|(m, s)| below(m, *s))
                .count(),
            ZSet::Skiplist(sorted) => sorted.partition_point(below),
        }
    }

    /// Calls `visit` on each entry with `min <= score < max`, in order,
    /// until it returns false (GEO's box searches).
    pub fn for_each_in(&self, min: f64, max: f64, mut visit: impl FnMut(&[u8], f64) -> bool) {
        match self {
            ZSet::Listpack(packed) => {
                for (member, score) in listpack_entries(packed) {
                    if score < min {
                        continue;
                    }
                    if score >= max || !visit(member, score) {
                        return;
                    }
                }
            }
            ZSet::Skiplist(sorted) => {
                let start = sorted.partition_point(|_, score| score < min);
                let Some((at, inside)) = sorted.position(start) else {
                    return;
                };
                let first = sorted.chunks[at][inside..].iter();
                let rest = sorted.chunks[at + 1..].iter().flatten();
                for (member, score) in first.chain(rest) {
                    if *score >= max || !visit(member, *score) {
                        return;
                    }
                }
            }
        }
    }

    /// Removes the entries with ranks `start..end`; returns how many.
    pub fn remove_range(&mut self, start: usize, end: usize) -> usize {
        let end = end.min(self.len());
        if start >= end {
            return 0;
        }
        match self {
            ZSet::Listpack(packed) => packed.remove(start * 2, (end - start) * 2),
            ZSet::Skiplist(sorted) => sorted.remove_ranks(start, end),
        }
        end - start
    }

    /// All entries, ascending.
    pub fn entries(&self) -> Vec<(Bytes, f64)> {
        self.range(0, self.len())
    }

    pub fn convert_to_skiplist(&mut self) {
        if let ZSet::Listpack(_) = self {
            *self = ZSet::Skiplist(Box::new(Sorted::from_sorted(self.entries())));
        }
    }

    pub fn memory_bytes(&self) -> usize {
        match self {
            ZSet::Listpack(packed) => std::mem::size_of::<Self>() + packed.allocated_bytes(),
            ZSet::Skiplist(sorted) => {
                let boxed: usize = sorted
                    .scores
                    .keys()
                    .filter(|member| !member.is_inline())
                    .map(|member| 2 * member.len())
                    .sum();
                let entry = std::mem::size_of::<(Member, f64)>();
                let chunks: usize = sorted.chunks.iter().map(Vec::capacity).sum();
                64 + boxed + sorted.scores.capacity() * (entry + 1) + chunks * entry
            }
        }
    }
}

/// A listpack keeps a score as text (Redis's d2string): an integral score
/// becomes an integer there, so -0 comes back as 0.
fn listpack_score(score: f64) -> f64 {
    if score == 0.0 {
        0.0
    } else {
        score
    }
}

/// Redis's d2string (7.0): an integral score within ±2^52 as an integer,
/// else `%.17g`; what a listpack stores for a score.
pub fn score_text(score: f64) -> String {
    const LIMIT: f64 = 4_503_599_627_370_496.0;
    if score.is_finite() && score > -(LIMIT - 1.0) && score < LIMIT && score == score.trunc() {
        (score as i64).to_string()
    } else {
        crate::protocol::reply::format_double(score)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(entries: usize, value: usize) -> EncodingLimits {
        EncodingLimits {
            zset_max_listpack_entries: entries,
            zset_max_listpack_value: value,
            ..EncodingLimits::default()
        }
    }

    fn members(zset: &ZSet) -> Vec<String> {
        zset.entries()
            .iter()
            .map(|(m, _)| String::from_utf8_lossy(m).into_owned())
            .collect()
    }

    #[test]
    fn orders_by_score_then_member_in_both_encodings() {
        for limit in [128, 0] {
            let limits = limits(limit, 64);
            let mut zset = ZSet::new();
            assert!(zset.insert(b"b", 1.0, &limits));
            assert!(zset.insert(b"a", 1.0, &limits));
            assert!(zset.insert(b"c", f64::NEG_INFINITY, &limits));
            assert!(zset.insert(b"d", f64::INFINITY, &limits));
            assert!(!zset.insert(b"a", 5.0, &limits));
            assert_eq!(members(&zset), ["c", "b", "a", "d"]);
            assert_eq!(zset.rank(b"a"), Some((2, 5.0)));
            assert_eq!(zset.score(b"d"), Some(f64::INFINITY));
            assert_eq!(zset.remove(b"b"), Some(1.0));
            assert_eq!(zset.remove(b"b"), None);
            assert_eq!(zset.len(), 3);
            let expected = if limit == 0 { "skiplist" } else { "listpack" };
            assert_eq!(matches!(zset, ZSet::Skiplist(_)), expected == "skiplist");
        }
    }

    #[test]
    fn converts_at_the_limits() {
        let limits = limits(3, 4);
        let mut zset = ZSet::new();
        for (i, m) in ["a", "b", "c"].iter().enumerate() {
            zset.insert(m.as_bytes(), i as f64, &limits);
        }
        assert!(matches!(zset, ZSet::Listpack(_)));
        zset.insert(b"d", 9.0, &limits);
        assert!(matches!(zset, ZSet::Skiplist(_)));
        let mut long = ZSet::new();
        long.insert(b"12345", 1.0, &limits);
        assert!(matches!(long, ZSet::Skiplist(_)));
    }

    #[test]
    fn large_sets_keep_ranks_across_chunks() {
        let limits = limits(0, 64);
        let mut zset = ZSet::new();
        // Inserted out of order, so chunks split in the middle too.
        for i in 0..5000u32 {
            let key = (i * 7919) % 5000;
            zset.insert(format!("m{key:05}").as_bytes(), f64::from(key), &limits);
        }
        assert_eq!(zset.len(), 5000);
        for key in [0u32, 1, 511, 512, 2500, 4999] {
            let member = format!("m{key:05}");
            assert_eq!(
                zset.rank(member.as_bytes()),
                Some((key as usize, f64::from(key)))
            );
        }
        let slice = zset.range(1020, 1030);
        assert_eq!(slice.len(), 10);
        assert_eq!(slice[0].1, 1020.0);
        assert_eq!(zset.partition_point(|_, s| s < 3000.5), 3001);
        assert_eq!(zset.remove_range(10, 4000), 3990);
        assert_eq!(zset.len(), 1010);
        assert_eq!(zset.rank(b"m04000"), Some((10, 4000.0)));
        let all = zset.entries();
        assert!(all.windows(2).all(|w| w[0].1 < w[1].1));
    }

    #[test]
    fn chunks_stay_full_as_members_leave() {
        let limits = limits(0, 64);
        let mut zset = ZSet::new();
        for i in 0..4000u32 {
            zset.insert(format!("m{i:05}").as_bytes(), f64::from(i), &limits);
        }
        for i in (0..4000u32).filter(|i| i % 10 != 0) {
            zset.remove(format!("m{i:05}").as_bytes());
        }
        let ZSet::Skiplist(sorted) = &zset else {
            panic!("not a skiplist");
        };
        assert!(sorted.chunks.len() <= 4, "{} chunks", sorted.chunks.len());
        assert_eq!(zset.rank(b"m03990"), Some((399, 3990.0)));
        zset.remove_range(0, 5);
        assert_eq!(zset.rank(b"m00050"), Some((0, 50.0)));
        assert_eq!(zset.len(), 395);
    }

    /// (members, capacity) of each chunk.
    fn chunk_shapes(zset: &ZSet) -> Vec<(usize, usize)> {
        let ZSet::Skiplist(sorted) = zset else {
            panic!("not a skiplist");
        };
        sorted
            .chunks
            .iter()
            .map(|chunk| (chunk.len(), chunk.capacity()))
            .collect()
    }

    #[test]
    fn members_added_in_order_fill_their_chunks_and_no_chunk_holds_room_past_the_most() {
        let limits = limits(0, 64);
        let (max, count) = (CHUNK_MEMBERS_MAX, 3 * CHUNK_MEMBERS_MAX + 10);
        for ascending in [true, false] {
            let mut zset = ZSet::new();
            for i in 0..count {
                let i = if ascending { i } else { count - 1 - i };
                zset.insert(format!("m{i:05}").as_bytes(), i as f64, &limits);
            }
            let mut lengths: Vec<usize> = chunk_shapes(&zset).iter().map(|s| s.0).collect();
            lengths.sort_unstable();
            assert_eq!(lengths, [10, max, max, max], "ascending {ascending}");
            assert!(chunk_shapes(&zset)
                .iter()
                .all(|&(_, capacity)| capacity <= max));
            assert_eq!(zset.rank(b"m01000"), Some((1000, 1000.0)));
        }
        // Out of order: full chunks split in two, and still no chunk grows past the most.
        let mut zset = ZSet::new();
        for i in 0..count {
            let key = (i * 7919) % count;
            zset.insert(format!("m{key:05}").as_bytes(), key as f64, &limits);
        }
        let shapes = chunk_shapes(&zset);
        assert!(shapes
            .iter()
            .all(|&(len, capacity)| len <= capacity && capacity <= max));
        assert_eq!(shapes.iter().map(|s| s.0).sum::<usize>(), count);
        assert!(
            shapes.iter().any(|&(len, _)| len < max),
            "split: {shapes:?}"
        );
        let ranks_ok =
            (0..count).all(|i| zset.rank(format!("m{i:05}").as_bytes()) == Some((i, i as f64)));
        assert!(ranks_ok);
        // A long member is stored whole in both places.
        let long = [b'z'; 100];
        zset.insert(&long, -1.0, &limits);
        assert_eq!(zset.rank(&long), Some((0, -1.0)));
        assert_eq!(zset.range(0, 1)[0].0, &long[..]);
        assert_eq!(zset.remove(&long), Some(-1.0));
    }

    #[test]
    fn listpack_members_and_scores_are_packed_in_order() {
        let limits = EncodingLimits::default();
        let mut zset = ZSet::new();
        // A member that reads like a score, and an empty member.
        for (member, score) in [(&b"m"[..], 2.0), (&[0u8; 8][..], 1.0), (b"", 1.0)] {
            assert!(zset.insert(member, score, &limits));
        }
        let ZSet::Listpack(packed) = &zset else {
            panic!("not a listpack");
        };
        assert_eq!(packed.len(), 6);
        // Integral scores take the fewest bytes that hold them.
        assert_eq!(packed.allocated_bytes(), (1 + 2) + (9 + 2) + (2 + 2));
        let pairs: Vec<(&[u8], f64)> = listpack_entries(packed).collect();
        assert_eq!(pairs, [(&b""[..], 1.0), (&[0u8; 8][..], 1.0), (b"m", 2.0)]);
        assert_eq!(zset.score(&1.0f64.to_le_bytes()), None);
        assert_eq!(zset.rank(&[0u8; 8]), Some((1, 1.0)));
        assert_eq!(
            zset.range(1, 9),
            [(Bytes::from(vec![0u8; 8]), 1.0), (Bytes::from("m"), 2.0)]
        );
        assert_eq!(zset.partition_point(|_, s| s < 2.0), 2);
        assert_eq!(zset.remove_range(0, 2), 2);
        assert_eq!(zset.entries(), [(Bytes::from("m"), 2.0)]);
        let built = ZSet::from_entries(
            vec![(Bytes::from("b"), -0.0), (Bytes::from("a"), 3.5)],
            &limits,
        );
        assert_eq!(
            built.entries(),
            [(Bytes::from("b"), 0.0), (Bytes::from("a"), 3.5)]
        );
        assert!(built.score(b"b").is_some_and(|s| s.is_sign_positive()));
    }

    #[test]
    fn listpack_scores_round_trip_in_the_fewest_bytes() {
        for (score, len) in [
            (0.0, 0),
            (1.0, 1),
            (-1.0, 1),
            (127.0, 1),
            (128.0, 2),
            (-128.0, 1),
            (-129.0, 2),
            (1_000_005.0, 3),
            (4_503_599_627_370_496.0, 7),
            (-36_028_797_018_963_968.0, 8),
            (36_028_797_018_963_967.0, 8),
            (-0.0, 8),
            (0.5, 8),
            (-2.25, 8),
            (1e20, 8),
            (f64::INFINITY, 8),
            (f64::NEG_INFINITY, 8),
            (f64::MIN_POSITIVE, 8),
        ] {
            let encoded = encode_score(score);
            assert_eq!(encoded.len, len, "{score}");
            let back = decode_score(encoded.as_slice());
            assert_eq!(back.to_bits(), score.to_bits(), "{score}");
        }
        for value in (-70_000i64..70_000).step_by(7) {
            assert_eq!(
                decode_score(encode_score(value as f64).as_slice()),
                value as f64
            );
        }
    }

    #[test]
    fn listpack_scores_are_stored_as_text_would_be() {
        let mut zset = ZSet::new();
        zset.insert(b"z", -0.0, &EncodingLimits::default());
        assert!(zset.score(b"z").is_some_and(|s| s.is_sign_positive()));
        assert_eq!(score_text(3.0), "3");
        assert_eq!(score_text(-0.0), "0");
        assert_eq!(score_text(0.1), "0.10000000000000001");
        assert_eq!(score_text(4_503_599_627_370_496.0), "4503599627370496");
        assert_eq!(score_text(1e20), "1e+20");
        assert_eq!(score_text(f64::NEG_INFINITY), "-inf");
    }
}
