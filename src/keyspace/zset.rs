//! Sorted sets. Small ones are one packed buffer of members and scores
//! (each score an 8-byte entry after its member) kept in (score, member)
//! order, as Redis's listpack keeps them; past the limits they become a
//! `Sorted`: the same order split into bounded chunks, plus a member →
//! score table. Ranks are found by summing chunk lengths (a few
//! thousand additions for a million members) and a binary search inside
//! one chunk, so ZRANK and ZRANGE by rank never walk the members.

use super::packed::Packed;
use super::value::EncodingLimits;
use super::SeededState;
use bytes::Bytes;
use hashbrown::HashMap;
use std::cmp::Ordering;

/// A chunk is split in two when it grows past this many members.
const CHUNK_MEMBERS_MAX: usize = 512;

/// Redis's order: by score, then by member bytes. Scores are never NaN.
pub fn order(a_score: f64, a_member: &[u8], b_score: f64, b_member: &[u8]) -> Ordering {
    a_score
        .partial_cmp(&b_score)
        .unwrap_or(Ordering::Equal)
        .then_with(|| a_member.cmp(b_member))
}

fn entry_order(entry: &(Bytes, f64), score: f64, member: &[u8]) -> Ordering {
    order(entry.1, &entry.0, score, member)
}

/// The ordered chunks of a large sorted set.
#[derive(Debug, Clone, Default)]
pub struct Sorted {
    chunks: Vec<Vec<(Bytes, f64)>>,
    scores: HashMap<Bytes, f64, SeededState>,
}

impl Sorted {
    fn from_sorted(entries: Vec<(Bytes, f64)>) -> Self {
        let scores = entries.iter().cloned().collect();
        let chunks = entries
            .chunks(CHUNK_MEMBERS_MAX / 2)
            .map(<[(Bytes, f64)]>::to_vec)
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

    fn insert_new(&mut self, member: Bytes, score: f64) {
        self.scores.insert(member.clone(), score);
        if self.chunks.is_empty() {
            self.chunks.push(vec![(member, score)]);
            return;
        }
        let at = self.chunk_for(score, &member);
        let chunk = &mut self.chunks[at];
        let inside = chunk.partition_point(|e| entry_order(e, score, &member) == Ordering::Less);
        chunk.insert(inside, (member, score));
        if chunk.len() > CHUNK_MEMBERS_MAX {
            let upper = chunk.split_off(chunk.len() / 2);
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
                self.scores.remove(&member);
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
    /// Member, score, member, score... with each score as the 8 bytes of
    /// its f64 (little-endian), in (score, member) order.
    Listpack(Packed),
    Skiplist(Box<Sorted>),
}

/// A listpack's (member, score) entries, in order.
pub fn listpack_entries(packed: &Packed) -> impl Iterator<Item = (&[u8], f64)> + '_ {
    packed.pairs().map(|(member, score)| {
        let score: [u8; 8] = score.try_into().expect("a listpack score is 8 bytes");
        (member, f64::from_le_bytes(score))
    })
}

/// A listpack of entries already in order.
fn pack<'a>(entries: impl Iterator<Item = (&'a [u8], f64)>) -> Packed {
    let scores: Vec<(&[u8], [u8; 8])> = entries
        .map(|(member, score)| (member, score.to_le_bytes()))
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
                packed.insert(at * 2, &[member, &score.to_le_bytes()]);
            }
            // A copy: the member may be a slice of a whole read buffer.
            ZSet::Skiplist(sorted) => sorted.insert_new(Bytes::copy_from_slice(member), score),
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
                    out.extend_from_slice(&chunk[inside..inside + take]);
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
                let payload: usize = sorted.scores.keys().map(|m| m.len()).sum();
                64 + payload + sorted.scores.capacity() * 56 + sorted.scores.len() * 40
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
        assert_eq!(packed.allocated_bytes(), (1 + 9) + (9 + 9) + (2 + 9));
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
