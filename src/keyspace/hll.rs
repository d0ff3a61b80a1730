//! HyperLogLog values in Redis's exact byte layout (its `hyperloglog.c`),
//! so a value made here reads the same in Redis and back.
//!
//! A value is a string: a 16-byte header ("HYLL", the encoding byte, three
//! unused bytes, the cached cardinality as 8 little-endian bytes whose top
//! bit marks it stale) followed by 16384 registers, either dense (6 bits
//! each, 12288 bytes) or sparse (run-length opcodes: ZERO `00xxxxxx` for up
//! to 64 zero registers, XZERO `01xxxxxx yyyyyyyy` for up to 16384, VAL
//! `1vvvvvxx` for up to 4 registers of value 1..=32). A sparse value becomes
//! dense when a register needs more than 32 or it would outgrow
//! `hll-sparse-max-bytes`; it never goes back.
//!
//! Every function here tolerates arbitrary bytes (clients can SET anything):
//! a corrupt sparse body is reported as `Corrupt`, never a panic.

/// Bits of the hash that pick a register.
pub const P: u32 = 14;
pub const REGISTERS: usize = 1 << P;
/// Bits of the hash left to count the zero run in.
const Q: usize = 64 - P as usize;
const REGISTER_BITS: usize = 6;
const REGISTER_MAX: u8 = (1 << REGISTER_BITS) - 1;
pub const HEADER_BYTES: usize = 16;
pub const DENSE_BYTES: usize = HEADER_BYTES + (REGISTERS * REGISTER_BITS).div_ceil(8);
const ENCODING_AT: usize = 4;
const CARD_AT: usize = 8;
pub const DENSE: u8 = 0;
pub const SPARSE: u8 = 1;

const SPARSE_VAL_MAX_VALUE: u8 = 32;
const SPARSE_VAL_MAX_LEN: usize = 4;
const SPARSE_ZERO_MAX_LEN: usize = 64;
const SPARSE_XZERO_MAX_LEN: usize = 16384;
const SEED: u64 = 0xadc8_3b19;
/// 0.5 / ln(2): the estimator's bias constant for m → ∞.
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;

const _: () = assert!(DENSE_BYTES == 12304);

/// A sparse body that does not describe exactly 16384 registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corrupt;

/// One decoded sparse opcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opcode {
    Zero(usize),
    Xzero(usize),
    Val { value: u8, run: usize },
}

impl Opcode {
    /// Decodes the opcode at `at`; a truncated XZERO reads its second byte
    /// as 0, as Redis does (it reads the string's terminating zero).
    fn at(bytes: &[u8], at: usize) -> Opcode {
        let first = bytes[at];
        match first & 0xc0 {
            0x00 => Opcode::Zero((first & 0x3f) as usize + 1),
            0x40 => {
                let second = bytes.get(at + 1).copied().unwrap_or(0);
                Opcode::Xzero((((first & 0x3f) as usize) << 8 | second as usize) + 1)
            }
            _ => Opcode::Val {
                value: ((first >> 2) & 0x1f) + 1,
                run: (first & 0x3) as usize + 1,
            },
        }
    }

    fn width(self) -> usize {
        match self {
            Opcode::Xzero(_) => 2,
            _ => 1,
        }
    }

    fn span(self) -> usize {
        match self {
            Opcode::Zero(run) | Opcode::Xzero(run) | Opcode::Val { run, .. } => run,
        }
    }
}

fn val_byte(value: u8, run: usize) -> u8 {
    debug_assert!((1..=32).contains(&value) && (1..=4).contains(&run));
    0x80 | (value - 1) << 2 | (run - 1) as u8
}

/// Appends a ZERO or XZERO opcode for `run` zero registers.
fn push_zeros(out: &mut Vec<u8>, run: usize) {
    if run > SPARSE_ZERO_MAX_LEN {
        let encoded = run - 1;
        out.push(0x40 | (encoded >> 8) as u8);
        out.push((encoded & 0xff) as u8);
    } else {
        out.push((run - 1) as u8);
    }
}

/// Redis's isHLLObject: the magic, a known encoding, and the exact length
/// for a dense value.
pub fn is_valid(bytes: &[u8]) -> bool {
    bytes.len() >= HEADER_BYTES
        && &bytes[..4] == b"HYLL"
        && bytes[ENCODING_AT] <= SPARSE
        && (bytes[ENCODING_AT] != DENSE || bytes.len() == DENSE_BYTES)
}

pub fn encoding(bytes: &[u8]) -> u8 {
    bytes[ENCODING_AT]
}

/// An empty HLL: sparse, all registers in XZERO opcodes, cached count 0.
pub fn new_sparse() -> Vec<u8> {
    let mut hll = Vec::with_capacity(HEADER_BYTES + 2);
    hll.extend_from_slice(b"HYLL");
    hll.resize(HEADER_BYTES, 0);
    hll[ENCODING_AT] = SPARSE;
    let mut left = REGISTERS;
    while left > 0 {
        let run = left.min(SPARSE_XZERO_MAX_LEN);
        push_zeros(&mut hll, run);
        left -= run;
    }
    hll
}

/// The cached cardinality, when it is not marked stale.
pub fn cached_count(hll: &[u8]) -> Option<u64> {
    let mut card = [0u8; 8];
    card.copy_from_slice(&hll[CARD_AT..CARD_AT + 8]);
    (card[7] & 0x80 == 0).then(|| u64::from_le_bytes(card))
}

pub fn set_cached_count(hll: &mut [u8], count: u64) {
    hll[CARD_AT..CARD_AT + 8].copy_from_slice(&count.to_le_bytes());
}

pub fn invalidate_cache(hll: &mut [u8]) {
    hll[CARD_AT + 7] |= 0x80;
}

/// MurmurHash64A, little-endian reads (Redis's endian-neutral variant).
pub fn murmurhash64a(data: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    // Redis passes the length as an int: the multiply is on its 64-bit
    // widening, which matches for every length a client can send.
    let mut h = seed ^ (data.len() as u64).wrapping_mul(M);
    let mut chunks = data.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let mut k = u64::from_le_bytes(word);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        for (i, byte) in tail.iter().enumerate() {
            h ^= (*byte as u64) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The register an element hashes to and the length of its "00..1" run
/// (1..=Q+1), as Redis's hllPatLen.
pub fn pattern(element: &[u8]) -> (usize, u8) {
    let hash = murmurhash64a(element, SEED);
    let index = (hash & (REGISTERS as u64 - 1)) as usize;
    let rest = (hash >> P) | (1u64 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

/// A dense register (`registers` starts after the header).
pub fn dense_get(registers: &[u8], index: usize) -> u8 {
    let byte = index * REGISTER_BITS / 8;
    let shift = (index * REGISTER_BITS) & 7;
    let low = registers[byte] as u16;
    let high = registers.get(byte + 1).copied().unwrap_or(0) as u16;
    (((low >> shift) | (high << (8 - shift))) & REGISTER_MAX as u16) as u8
}

pub fn dense_put(registers: &mut [u8], index: usize, value: u8) {
    let byte = index * REGISTER_BITS / 8;
    let shift = (index * REGISTER_BITS) & 7;
    let value = value as u16 & REGISTER_MAX as u16;
    let mask = (REGISTER_MAX as u16) << shift;
    registers[byte] = (registers[byte] as u16 & !mask | value << shift) as u8;
    if let Some(next) = registers.get_mut(byte + 1) {
        *next = (*next as u16 & !(mask >> 8) | (value << shift) >> 8) as u8;
    }
}

/// Raises a dense register to `count`; true when it changed.
fn dense_raise(registers: &mut [u8], index: usize, count: u8) -> bool {
    if count > dense_get(registers, index) {
        dense_put(registers, index, count);
        true
    } else {
        false
    }
}

/// Walks a sparse body, calling `visit(first_register, opcode)` for each
/// opcode. Returns the number of registers covered, or None when a VAL
/// would run past the last register (Redis 7.0 reports such a value as
/// corrupt; it is not visited, so nothing is written out of range).
fn walk_sparse(body: &[u8], mut visit: impl FnMut(usize, Opcode)) -> Option<usize> {
    let (mut at, mut index) = (0, 0);
    while at < body.len() {
        let op = Opcode::at(body, at);
        if let Opcode::Val { run, .. } = op {
            if index + run > REGISTERS {
                return None;
            }
        }
        visit(index, op);
        index += op.span();
        at += op.width();
    }
    Some(index)
}

/// Redis's hllSparseToDense; a dense value is left as it is.
pub fn sparse_to_dense(hll: &mut Vec<u8>) -> Result<(), Corrupt> {
    if hll[ENCODING_AT] == DENSE {
        return Ok(());
    }
    let mut dense = vec![0u8; DENSE_BYTES];
    dense[..HEADER_BYTES].copy_from_slice(&hll[..HEADER_BYTES]);
    dense[ENCODING_AT] = DENSE;
    let registers = &mut dense[HEADER_BYTES..];
    let covered = walk_sparse(&hll[HEADER_BYTES..], |first, op| {
        if let Opcode::Val { value, run } = op {
            for index in first..first + run {
                dense_put(registers, index, value);
            }
        }
    });
    if covered != Some(REGISTERS) {
        return Err(Corrupt);
    }
    *hll = dense;
    Ok(())
}

/// Redis's hllSparseSet: raises register `index` to `count` in a sparse
/// value, splitting and re-merging opcodes byte for byte as Redis does, or
/// promotes the value to dense. Ok(true) when a register changed.
pub fn sparse_set(
    hll: &mut Vec<u8>,
    index: usize,
    count: u8,
    sparse_bytes_max: usize,
) -> Result<bool, Corrupt> {
    if count > SPARSE_VAL_MAX_VALUE {
        return promote(hll, index, count);
    }
    // Locate the opcode covering `index`.
    let end = hll.len();
    let (mut at, mut first, mut prev, mut span) = (HEADER_BYTES, 0usize, None, 0usize);
    let mut op = Opcode::Zero(0);
    while at < end {
        op = Opcode::at(hll, at);
        span = op.span();
        if index < first + span {
            break;
        }
        prev = Some(at);
        at += op.width();
        first += span;
    }
    if span == 0 || at >= end {
        return Err(Corrupt);
    }
    let has_next = at + op.width() < end;
    match op {
        Opcode::Val { value, .. } if value >= count => return Ok(false),
        Opcode::Val { run: 1, .. } | Opcode::Zero(1) => {
            hll[at] = val_byte(count, 1);
            return Ok(merge_and_finish(hll, prev));
        }
        _ => {}
    }
    // Split the opcode into up to three: before, our register, after.
    let last = first + span - 1;
    let mut sequence = Vec::with_capacity(5);
    match op {
        Opcode::Val { value, .. } => {
            if index != first {
                sequence.push(val_byte(value, index - first));
            }
            sequence.push(val_byte(count, 1));
            if index != last {
                sequence.push(val_byte(value, last - index));
            }
        }
        Opcode::Zero(_) | Opcode::Xzero(_) => {
            if index != first {
                push_zeros(&mut sequence, index - first);
            }
            sequence.push(val_byte(count, 1));
            if index != last {
                push_zeros(&mut sequence, last - index);
            }
        }
    }
    let old_width = op.width();
    let delta = sequence.len() as isize - old_width as isize;
    if delta > 0 && end + delta as usize > sparse_bytes_max {
        return promote(hll, index, count);
    }
    // As Redis's memmove + memcpy on a zero-terminated buffer: bytes past
    // the old end read as zero, and the new length is end + delta.
    let new_len = (end as isize + delta) as usize;
    hll.resize(end.max(new_len).max(at + sequence.len()) + 1, 0);
    if delta != 0 && has_next {
        let next = at + old_width;
        hll.copy_within(next..end, (next as isize + delta) as usize);
    }
    hll[at..at + sequence.len()].copy_from_slice(&sequence);
    hll.truncate(new_len);
    Ok(merge_and_finish(hll, prev))
}

/// Step 4 of Redis's hllSparseSet: merge adjacent VALs of equal value
/// (scanning up to five opcodes from `prev`), then mark the cache stale.
fn merge_and_finish(hll: &mut Vec<u8>, prev: Option<usize>) -> bool {
    let mut at = prev.unwrap_or(HEADER_BYTES);
    let mut end = hll.len();
    let mut scans_left = 5;
    while at < end && scans_left > 0 {
        scans_left -= 1;
        match Opcode::at(hll, at) {
            Opcode::Xzero(_) => at += 2,
            Opcode::Zero(_) => at += 1,
            Opcode::Val { value, run } => {
                if at + 1 < end {
                    if let Opcode::Val {
                        value: next_value,
                        run: next_run,
                    } = Opcode::at(hll, at + 1)
                    {
                        if value == next_value && run + next_run <= SPARSE_VAL_MAX_LEN {
                            hll[at + 1] = val_byte(value, run + next_run);
                            hll.remove(at);
                            end -= 1;
                            continue;
                        }
                    }
                }
                at += 1;
            }
        }
    }
    invalidate_cache(hll);
    true
}

fn promote(hll: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupt> {
    sparse_to_dense(hll)?;
    Ok(dense_raise(&mut hll[HEADER_BYTES..], index, count))
}

/// Raises register `index` to `count` in either encoding.
pub fn set_register(
    hll: &mut Vec<u8>,
    index: usize,
    count: u8,
    sparse_bytes_max: usize,
) -> Result<bool, Corrupt> {
    match hll[ENCODING_AT] {
        DENSE => Ok(dense_raise(&mut hll[HEADER_BYTES..], index, count)),
        SPARSE => sparse_set(hll, index, count, sparse_bytes_max),
        _ => Err(Corrupt),
    }
}

/// Redis's hllAdd: Ok(true) when the element changed a register.
pub fn add(hll: &mut Vec<u8>, element: &[u8], sparse_bytes_max: usize) -> Result<bool, Corrupt> {
    let (index, count) = pattern(element);
    set_register(hll, index, count, sparse_bytes_max)
}

/// Redis's hllMerge: `max[i] = max(max[i], register i)`.
pub fn merge_into(max: &mut [u8], hll: &[u8]) -> Result<(), Corrupt> {
    debug_assert_eq!(max.len(), REGISTERS);
    if hll[ENCODING_AT] == DENSE {
        let registers = &hll[HEADER_BYTES..];
        for (index, slot) in max.iter_mut().enumerate() {
            *slot = (*slot).max(dense_get(registers, index));
        }
        return Ok(());
    }
    let covered = walk_sparse(&hll[HEADER_BYTES..], |first, op| {
        if let Opcode::Val { value, run } = op {
            for slot in &mut max[first..first + run] {
                *slot = (*slot).max(value);
            }
        }
    });
    if covered == Some(REGISTERS) {
        Ok(())
    } else {
        Err(Corrupt)
    }
}

/// Redis's hllCount for a stored value.
pub fn count(hll: &[u8]) -> Result<u64, Corrupt> {
    let mut histogram = [0u64; 64];
    if hll[ENCODING_AT] == DENSE {
        let registers = &hll[HEADER_BYTES..];
        for index in 0..REGISTERS {
            histogram[dense_get(registers, index) as usize] += 1;
        }
    } else {
        // Redis's histogram loop has no early stop; only the total matters.
        let body = &hll[HEADER_BYTES..];
        let (mut at, mut covered) = (0, 0);
        while at < body.len() {
            let op = Opcode::at(body, at);
            let slot = match op {
                Opcode::Val { value, .. } => value as usize,
                _ => 0,
            };
            histogram[slot] += op.span() as u64;
            covered += op.span();
            at += op.width();
        }
        if covered != REGISTERS {
            return Err(Corrupt);
        }
    }
    Ok(estimate(&histogram))
}

/// hllCount over plain byte registers (PFCOUNT of several keys).
pub fn count_registers(max: &[u8]) -> u64 {
    let mut histogram = [0u64; 64];
    for value in max {
        histogram[(*value & 63) as usize] += 1;
    }
    estimate(&histogram)
}

/// Ertl's improved estimator ("New cardinality estimation algorithms for
/// HyperLogLog sketches", arXiv:1702.01284), in Redis's operation order so
/// the floating point result is the same.
fn estimate(histogram: &[u64; 64]) -> u64 {
    let m = REGISTERS as f64;
    let mut z = m * tau((m - histogram[Q + 1] as f64) / m);
    for j in (1..=Q).rev() {
        z += histogram[j] as f64;
        z *= 0.5;
    }
    z += m * sigma(histogram[0] as f64 / m);
    llround(ALPHA_INF * m * m / z) as u64
}

/// C's llroundl on x86-64: out of range (or infinite, when every register
/// is past the estimator's range) gives i64::MIN.
fn llround(x: f64) -> i64 {
    let rounded = x.round();
    if rounded.is_finite() && rounded >= i64::MIN as f64 && rounded < i64::MAX as f64 {
        rounded as i64
    } else {
        i64::MIN
    }
}

fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let (mut y, mut z) = (1.0, x);
    loop {
        x *= x;
        let previous = z;
        z += x * y;
        y += y;
        if previous == z {
            return z;
        }
    }
}

fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let (mut y, mut z) = (1.0, 1.0 - x);
    loop {
        x = x.sqrt();
        let previous = z;
        y *= 0.5;
        // C's pow(1 - x, 2), which compilers turn into this product.
        z -= (1.0 - x) * (1.0 - x) * y;
        if previous == z {
            return z / 3.0;
        }
    }
}

/// PFDEBUG DECODE's text for a sparse body: "z:N", "Z:N", "v:V,N".
pub fn decode_sparse(hll: &[u8]) -> String {
    let body = &hll[HEADER_BYTES..];
    let mut parts = Vec::new();
    let mut at = 0;
    while at < body.len() {
        let op = Opcode::at(body, at);
        parts.push(match op {
            Opcode::Zero(run) => format!("z:{run}"),
            Opcode::Xzero(run) => format!("Z:{run}"),
            Opcode::Val { value, run } => format!("v:{value},{run}"),
        });
        at += op.width();
    }
    parts.join(" ")
}

/// The 16384 register values of a dense value.
pub fn dense_registers(hll: &[u8]) -> impl Iterator<Item = u8> + '_ {
    let registers = &hll[HEADER_BYTES..];
    (0..REGISTERS).map(move |index| dense_get(registers, index))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_redis_registers() {
        // Register and run length Redis 7.0 reports (PFDEBUG DECODE) after
        // PFADD of each element: they pin MurmurHash64A and hllPatLen.
        assert_eq!(murmurhash64a(b"", 0), 0);
        for (element, index, count) in [
            (&b"a"[..], 12711, 2),
            (b"hello", 9216, 1),
            (b"foo", 7348, 5),
            (b"", 5938, 2),
            (b"12345678", 10579, 3),
            (b"abcdefghi", 6903, 1),
        ] {
            assert_eq!(pattern(element), (index, count), "{element:?}");
        }
    }

    #[test]
    fn an_empty_hll_is_two_xzero_bytes_and_counts_zero() {
        let hll = new_sparse();
        assert_eq!(hll.len(), 18);
        assert_eq!(&hll[16..], &[0x7f, 0xff]);
        assert!(is_valid(&hll));
        assert_eq!(count(&hll), Ok(0));
        assert_eq!(decode_sparse(&hll), "Z:16384");
    }

    #[test]
    fn dense_registers_round_trip_without_touching_neighbours() {
        let mut registers = vec![0u8; DENSE_BYTES - HEADER_BYTES];
        let mut state = 12345u64;
        let mut expected = vec![0u8; REGISTERS];
        for (index, slot) in expected.iter_mut().enumerate() {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            *slot = (state >> 58) as u8;
            dense_put(&mut registers, index, *slot);
        }
        for (index, value) in expected.iter().enumerate() {
            assert_eq!(dense_get(&registers, index), *value, "register {index}");
        }
    }

    #[test]
    fn sparse_set_splits_and_merges_like_redis() {
        let mut hll = new_sparse();
        assert_eq!(sparse_set(&mut hll, 100, 3, 3000), Ok(true));
        assert_eq!(decode_sparse(&hll), "Z:100 v:3,1 Z:16283");
        assert_eq!(sparse_set(&mut hll, 101, 3, 3000), Ok(true));
        assert_eq!(decode_sparse(&hll), "Z:100 v:3,2 Z:16282");
        assert_eq!(sparse_set(&mut hll, 101, 2, 3000), Ok(false));
        assert_eq!(sparse_set(&mut hll, 0, 1, 3000), Ok(true));
        assert_eq!(decode_sparse(&hll), "v:1,1 Z:99 v:3,2 Z:16282");
        assert_eq!(sparse_set(&mut hll, 102, 5, 3000), Ok(true));
        assert_eq!(decode_sparse(&hll), "v:1,1 Z:99 v:3,2 v:5,1 Z:16281");
        assert_eq!(sparse_set(&mut hll, 103, 3, 3000), Ok(true));
        assert_eq!(sparse_set(&mut hll, 1, 2, 3000), Ok(true));
        assert_eq!(
            decode_sparse(&hll),
            "v:1,1 v:2,1 Z:98 v:3,2 v:5,1 v:3,1 Z:16280"
        );
        assert_eq!(
            cached_count(&hll),
            None,
            "the cache is stale after a change"
        );
        let mut dense = hll.clone();
        sparse_to_dense(&mut dense).unwrap();
        assert_eq!(dense.len(), DENSE_BYTES);
        let registers: Vec<u8> = dense_registers(&dense).collect();
        assert_eq!(&registers[..5], &[1, 2, 0, 0, 0]);
        assert_eq!(&registers[100..105], &[3, 3, 5, 3, 0]);
        assert_eq!(count(&hll), count(&dense));
    }

    #[test]
    fn a_value_over_32_or_over_the_byte_limit_promotes_to_dense() {
        let mut hll = new_sparse();
        assert_eq!(sparse_set(&mut hll, 7, 33, 3000), Ok(true));
        assert_eq!(encoding(&hll), DENSE);
        assert_eq!(dense_get(&hll[HEADER_BYTES..], 7), 33);
        let mut hll = new_sparse();
        assert_eq!(sparse_set(&mut hll, 7, 2, 20), Ok(true));
        assert_eq!(hll.len(), 20);
        assert_eq!(sparse_set(&mut hll, 9000, 2, 20), Ok(true));
        assert_eq!(encoding(&hll), DENSE);
        assert_eq!(count(&hll), Ok(2));
    }

    #[test]
    fn corrupt_sparse_bodies_are_errors_not_panics() {
        // The last body runs past register 16383.
        for body in [
            &[][..],
            &[0x7f][..],
            &[0x40][..],
            &[0x80; 3][..],
            &[0xff; 5000][..],
        ] {
            let mut hll = new_sparse();
            hll.truncate(HEADER_BYTES);
            hll.extend_from_slice(body);
            assert!(count(&hll).is_err());
            assert!(merge_into(&mut [0u8; REGISTERS], &hll).is_err());
            assert!(sparse_to_dense(&mut hll.clone()).is_err());
            let _ = sparse_set(&mut hll.clone(), 16383, 3, 3000);
            let _ = sparse_set(&mut hll.clone(), 16383, 40, 3000);
        }
    }

    #[test]
    fn registers_past_the_estimator_count_like_redis() {
        // Every register at 63: the estimate is infinite, which Redis's
        // llroundl turns into 2^63 (and the cache bytes then read stale).
        let mut hll = vec![0xffu8; DENSE_BYTES];
        hll[..HEADER_BYTES].copy_from_slice(b"HYLL\0\0\0\0\0\0\0\0\0\0\0\x80");
        assert_eq!(count(&hll), Ok(1 << 63));
        assert_eq!(count_registers(&[63u8; REGISTERS]), 1 << 63);
    }

    #[test]
    fn counts_grow_with_distinct_elements() {
        let mut hll = new_sparse();
        for i in 0..1000 {
            add(&mut hll, format!("element:{i}").as_bytes(), 3000).unwrap();
        }
        let estimate = count(&hll).unwrap();
        assert!((980..=1020).contains(&estimate), "{estimate}");
        let mut max = vec![0u8; REGISTERS];
        merge_into(&mut max, &hll).unwrap();
        assert_eq!(count_registers(&max), estimate);
    }
}
