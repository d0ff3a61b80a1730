//! Bitmap commands, shard side: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP,
//! BITFIELD and BITFIELD_RO, on string values as Redis 7.0's `bitops.c`.
//! Bit 0 is the most significant bit of the first byte.
//!
//! A string a bit command writes is stored `raw` (Redis unshares it first)
//! and keeps its TTL; BITOP's destination is a new `raw` string without
//! one. BITOP over keys on several cores runs in the coordinator
//! (`shard::bits`) with `bitop_compute` and `store_or_delete_local`.

use super::errors::{NOT_INTEGER, SYNTAX, WRONGTYPE};
use super::strings::{read_string, store_string};
use super::{parse_int, Db};
use crate::keyspace::Value;
use crate::protocol::Arg;
use crate::protocol::Reply;
use bytes::Bytes;

const BIT_OFFSET: &str = "ERR bit offset is not an integer or out of range";
const BIT_VALUE: &str = "ERR bit is not an integer or out of range";
const BITFIELD_TYPE: &str =
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";

/// Redis's getBitOffsetFromArgument: a bit offset, `#N` meaning N times the
/// field width (`hash_bits`, BITFIELD only), below proto-max-bulk-len bytes.
fn parse_bit_offset(db: &Db, arg: &[u8], hash_bits: Option<u32>) -> Result<u64, Reply> {
    let (digits, multiplier) = match (arg.first(), hash_bits) {
        (Some(b'#'), Some(bits)) => (&arg[1..], bits as i64),
        _ => (arg, 1),
    };
    let offset = parse_int(digits)
        .ok_or(Reply::error(BIT_OFFSET))?
        .wrapping_mul(multiplier);
    if offset < 0 || (offset as u64 >> 3) >= db.config.proto_max_bulk_len {
        return Err(Reply::error(BIT_OFFSET));
    }
    Ok(offset as u64)
}

/// Redis's lookupStringForBitCommand: the string at `key` (created when
/// missing) zero-padded to hold bit `highest_bit`. The bytes are taken out
/// of the entry (no copy of a large bitmap), so the caller must store them
/// back with `store_raw`.
fn string_for_write(db: &mut Db, key: &[u8], highest_bit: u64) -> Result<Vec<u8>, Reply> {
    let length = usize::try_from(highest_bit >> 3)
        .map_err(|_| Reply::error(BIT_OFFSET))?
        .saturating_add(1);
    let (slot, now) = (db.slot(key), db.now_ms);
    let mut bytes = match db.keyspace.lookup_write(slot, key, now) {
        None => Vec::new(),
        Some(entry) => match &mut entry.value {
            Value::Str { bytes, .. } => Vec::from(std::mem::take(bytes)),
            _ => return Err(Reply::error(WRONGTYPE)),
        },
    };
    if bytes.len() < length {
        bytes.resize(length, 0);
    }
    Ok(bytes)
}

fn store_raw(db: &mut Db, key: &[u8], bytes: Vec<u8>) {
    store_string(db, key, Value::raw_string(Bytes::from(bytes)), 0, true);
}

fn bit_at(bytes: &[u8], offset: u64) -> bool {
    usize::try_from(offset >> 3)
        .ok()
        .and_then(|byte| bytes.get(byte))
        .is_some_and(|byte| byte & (0x80 >> (offset & 7)) != 0)
}

fn put_bit(bytes: &mut [u8], offset: u64, on: bool) {
    if let Some(byte) = usize::try_from(offset >> 3)
        .ok()
        .and_then(|byte| bytes.get_mut(byte))
    {
        let mask = 0x80 >> (offset & 7);
        if on {
            *byte |= mask;
        } else {
            *byte &= !mask;
        }
    }
}

pub fn setbit(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let offset = match parse_bit_offset(db, &argv[2], None) {
        Ok(offset) => offset,
        Err(reply) => return reply,
    };
    let on = match parse_int(&argv[3]) {
        Some(0) => false,
        Some(1) => true,
        _ => return Reply::error(BIT_VALUE),
    };
    let mut bytes = match string_for_write(db, &argv[1], offset) {
        Ok(bytes) => bytes,
        Err(reply) => return reply,
    };
    let old = bit_at(&bytes, offset);
    put_bit(&mut bytes, offset, on);
    store_raw(db, &argv[1], bytes);
    Reply::Int(i64::from(old))
}

pub fn getbit(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let offset = match parse_bit_offset(db, &argv[2], None) {
        Ok(offset) => offset,
        Err(reply) => return reply,
    };
    match read_string(db, &argv[1]) {
        Ok(value) => Reply::Int(i64::from(value.is_some_and(|bytes| bit_at(&bytes, offset)))),
        Err(reply) => reply,
    }
}

/// A BITCOUNT/BITPOS range resolved to bytes `start..=end`, with masks of
/// the bits outside a BIT range in the first and last byte.
struct ByteRange {
    start: i64,
    end: i64,
    first_mask: u8,
    last_mask: u8,
}

/// Redis's range arithmetic shared by BITCOUNT and BITPOS: negative
/// indexes from the end, clamped, BIT units turned into bytes and masks.
fn resolve_range(length: i64, mut start: i64, mut end: i64, bit_units: bool) -> ByteRange {
    let total = if bit_units { length << 3 } else { length };
    if start < 0 {
        start += total;
    }
    if end < 0 {
        end += total;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= total {
        end = total - 1;
    }
    let (mut first_mask, mut last_mask) = (0, 0);
    if bit_units && start <= end {
        first_mask = !((1u16 << (8 - (start & 7))) - 1) as u8;
        last_mask = ((1u16 << (7 - (end & 7))) - 1) as u8;
        start >>= 3;
        end >>= 3;
    }
    ByteRange {
        start,
        end,
        first_mask,
        last_mask,
    }
}

fn parse_unit(arg: &[u8]) -> Result<bool, Reply> {
    if arg.eq_ignore_ascii_case(b"bit") {
        Ok(true)
    } else if arg.eq_ignore_ascii_case(b"byte") {
        Ok(false)
    } else {
        Err(Reply::error(SYNTAX))
    }
}

pub fn bitcount(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    // Redis 7.0 looks the key up before it reads the arguments: a missing
    // key counts 0 whatever follows.
    let bytes = match read_string(db, &argv[1]) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return Reply::Int(0),
        Err(reply) => return reply,
    };
    let range = match argv.len() {
        2 => ByteRange {
            start: 0,
            end: bytes.len() as i64 - 1,
            first_mask: 0,
            last_mask: 0,
        },
        4 | 5 => {
            let (Some(start), Some(end)) = (parse_int(&argv[2]), parse_int(&argv[3])) else {
                return Reply::error(NOT_INTEGER);
            };
            // Redis 7.0 answers a range of two negative, crossed indexes
            // before it looks at the unit.
            if start < 0 && end < 0 && start > end {
                return Reply::Int(0);
            }
            let bit_units = match argv.get(4).map(|unit| parse_unit(unit)) {
                Some(Ok(bit_units)) => bit_units,
                Some(Err(reply)) => return reply,
                None => false,
            };
            resolve_range(bytes.len() as i64, start, end, bit_units)
        }
        _ => return Reply::error(SYNTAX),
    };
    if range.start > range.end {
        return Reply::Int(0);
    }
    let (start, end) = (range.start as usize, range.end as usize);
    let mut count: u64 = bytes[start..=end]
        .iter()
        .map(|byte| byte.count_ones() as u64)
        .sum();
    count -= (bytes[start] & range.first_mask).count_ones() as u64;
    count -= (bytes[end] & range.last_mask).count_ones() as u64;
    Reply::Int(count as i64)
}

pub fn bitpos(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let bit = match parse_int(&argv[2]) {
        Some(bit @ (0 | 1)) => bit == 1,
        Some(_) => return Reply::error("ERR The bit argument must be 1 or 0."),
        None => return Reply::error(NOT_INTEGER),
    };
    let bytes = match read_string(db, &argv[1]) {
        Ok(Some(bytes)) => bytes,
        // A missing key is an infinite run of clear bits.
        Ok(None) => return Reply::Int(if bit { -1 } else { 0 }),
        Err(reply) => return reply,
    };
    let length = bytes.len() as i64;
    let (range, end_given) = match argv.len() {
        3 => (resolve_range(length, 0, length - 1, false), false),
        4..=6 => {
            let Some(start) = parse_int(&argv[3]) else {
                return Reply::error(NOT_INTEGER);
            };
            let bit_units = match argv.get(5).map(|unit| parse_unit(unit)) {
                Some(Ok(bit_units)) => bit_units,
                Some(Err(reply)) => return reply,
                None => false,
            };
            let end = match argv.get(4) {
                Some(arg) => match parse_int(arg) {
                    Some(end) => end,
                    None => return Reply::error(NOT_INTEGER),
                },
                None if bit_units => (length << 3) + 7,
                None => length - 1,
            };
            (
                resolve_range(length, start, end, bit_units),
                argv.len() >= 5,
            )
        }
        _ => return Reply::error(SYNTAX),
    };
    if range.start > range.end {
        return Reply::Int(-1);
    }
    Reply::Int(find_bit(&bytes, &range, bit, end_given))
}

/// The first bit equal to `bit` inside the range. When none is found a
/// clear-bit search without an explicit end answers the first bit past the
/// range (the string reads as zero-padded); every other search answers -1.
fn find_bit(bytes: &[u8], range: &ByteRange, bit: bool, end_given: bool) -> i64 {
    let (start, end) = (range.start as usize, range.end as usize);
    for (at, byte) in bytes[start..=end].iter().enumerate() {
        let at = start + at;
        // Bits outside the range read as the opposite of what we look for.
        let mut outside = 0u8;
        if at == start {
            outside |= range.first_mask;
        }
        if at == end {
            outside |= range.last_mask;
        }
        let candidates = if bit {
            byte & !outside
        } else {
            !byte & !outside
        };
        if candidates != 0 {
            return (at as i64) * 8 + candidates.leading_zeros() as i64;
        }
    }
    if bit || end_given {
        -1
    } else {
        (end as i64 + 1) * 8
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

/// BITOP's operation and the NOT arity rule.
pub fn parse_bitop(argv: &[Arg<'_>]) -> Result<BitOp, Reply> {
    let name = &argv[1];
    let op = if name.eq_ignore_ascii_case(b"and") {
        BitOp::And
    } else if name.eq_ignore_ascii_case(b"or") {
        BitOp::Or
    } else if name.eq_ignore_ascii_case(b"xor") {
        BitOp::Xor
    } else if name.eq_ignore_ascii_case(b"not") {
        BitOp::Not
    } else {
        return Err(Reply::error(SYNTAX));
    };
    if op == BitOp::Not && argv.len() != 4 {
        return Err(Reply::error(
            "ERR BITOP NOT must be called with a single source key.",
        ));
    }
    Ok(op)
}

/// The result of BITOP over the sources (a missing key reads as empty):
/// as long as the longest, shorter ones zero-padded.
pub fn bitop_compute(op: BitOp, sources: &[Option<Bytes>]) -> Vec<u8> {
    let length = sources.iter().flatten().map(Bytes::len).max().unwrap_or(0);
    let byte_of = |source: &Option<Bytes>, at: usize| {
        source
            .as_ref()
            .and_then(|bytes| bytes.get(at).copied())
            .unwrap_or(0)
    };
    (0..length)
        .map(|at| {
            let mut output = sources.first().map_or(0, |first| byte_of(first, at));
            if op == BitOp::Not {
                output = !output;
            }
            for source in sources.iter().skip(1) {
                let byte = byte_of(source, at);
                match op {
                    BitOp::And => output &= byte,
                    BitOp::Or => output |= byte,
                    BitOp::Xor => output ^= byte,
                    BitOp::Not => {}
                }
            }
            output
        })
        .collect()
}

/// Stores BITOP's result as a new raw string without TTL, or deletes the
/// destination when the result is empty: `[_, destkey, bytes]`.
pub fn store_or_delete_local(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let (key, bytes) = (&argv[1], &argv[2]);
    if bytes.is_empty() {
        let (slot, now) = (db.slot(key), db.now_ms);
        if db.keyspace.lookup_write(slot, key, now).is_some() {
            db.keyspace.remove(slot, key);
        }
    } else {
        store_string(db, key, Value::raw_string(bytes.to_bytes()), 0, false);
    }
    Reply::Int(bytes.len() as i64)
}

/// BITOP when every key is on this core.
pub fn bitop(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let op = match parse_bitop(argv) {
        Ok(op) => op,
        Err(reply) => return reply,
    };
    let mut sources = Vec::with_capacity(argv.len() - 3);
    for key in &argv[3..] {
        match read_string(db, key) {
            Ok(value) => sources.push(value),
            Err(reply) => return reply,
        }
    }
    let result = Bytes::from(bitop_compute(op, &sources));
    let parts = [Bytes::new(), argv[2].to_bytes(), result];
    store_or_delete_local(db, &crate::protocol::args_of(&parts))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overflow {
    Wrap,
    Sat,
    Fail,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldOp {
    Get,
    Set(i64),
    Incrby(i64),
}

#[derive(Debug, Clone, Copy)]
struct Field {
    op: FieldOp,
    offset: u64,
    bits: u32,
    signed: bool,
    overflow: Overflow,
}

/// Redis's getBitfieldTypeFromArgument: `i1`..`i64` or `u1`..`u63`.
fn parse_field_type(arg: &[u8]) -> Result<(bool, u32), Reply> {
    let signed = match arg.first() {
        Some(b'i' | b'I') => true,
        Some(b'u' | b'U') => false,
        _ => return Err(Reply::error(BITFIELD_TYPE)),
    };
    let bits = parse_int(&arg[1..]).ok_or(Reply::error(BITFIELD_TYPE))?;
    let bits_max = if signed { 64 } else { 63 };
    if !(1..=bits_max).contains(&bits) {
        return Err(Reply::error(BITFIELD_TYPE));
    }
    Ok((signed, bits as u32))
}

/// Parses BITFIELD's operations in order, as Redis does: the first bad
/// argument is the reply.
fn parse_fields(db: &Db, argv: &[Arg<'_>]) -> Result<Vec<Field>, Reply> {
    let mut fields = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut at = 2;
    while at < argv.len() {
        let left = argv.len() - at - 1;
        let name = &argv[at];
        let is = |word: &[u8]| name.eq_ignore_ascii_case(word);
        let (kind, takes) = if is(b"get") && left >= 2 {
            (0, 2)
        } else if is(b"set") && left >= 3 {
            (1, 3)
        } else if is(b"incrby") && left >= 3 {
            (2, 3)
        } else if is(b"overflow") && left >= 1 {
            let mode = &argv[at + 1];
            overflow = if mode.eq_ignore_ascii_case(b"wrap") {
                Overflow::Wrap
            } else if mode.eq_ignore_ascii_case(b"sat") {
                Overflow::Sat
            } else if mode.eq_ignore_ascii_case(b"fail") {
                Overflow::Fail
            } else {
                return Err(Reply::error("ERR Invalid OVERFLOW type specified"));
            };
            at += 2;
            continue;
        } else {
            return Err(Reply::error(SYNTAX));
        };
        let (signed, bits) = parse_field_type(&argv[at + 1])?;
        let offset = parse_bit_offset(db, &argv[at + 2], Some(bits))?;
        let op = if kind == 0 {
            FieldOp::Get
        } else {
            let value = parse_int(&argv[at + 3]).ok_or(Reply::error(NOT_INTEGER))?;
            if kind == 1 {
                FieldOp::Set(value)
            } else {
                FieldOp::Incrby(value)
            }
        };
        fields.push(Field {
            op,
            offset,
            bits,
            signed,
            overflow,
        });
        at += 1 + takes;
    }
    Ok(fields)
}

/// Reads `bits` bits at bit `offset`, big-endian; bytes past the end read 0.
fn get_unsigned(bytes: &[u8], offset: u64, bits: u32) -> u64 {
    (0..bits as u64).fold(0, |value, i| {
        (value << 1) | u64::from(bit_at(bytes, offset + i))
    })
}

fn get_signed(bytes: &[u8], offset: u64, bits: u32) -> i64 {
    let value = get_unsigned(bytes, offset, bits);
    if bits < 64 && value & (1 << (bits - 1)) != 0 {
        (value | (u64::MAX << bits)) as i64
    } else {
        value as i64
    }
}

fn set_unsigned(bytes: &mut [u8], offset: u64, bits: u32, value: u64) {
    for i in 0..bits as u64 {
        put_bit(bytes, offset + i, (value >> (bits as u64 - 1 - i)) & 1 == 1);
    }
}

/// Redis's checkUnsignedBitfieldOverflow applied: the value to store after
/// adding `increment` to `value` in a `bits`-wide unsigned field, or None
/// when it overflows under FAIL.
pub fn unsigned_result(value: u64, increment: i64, bits: u32, overflow: Overflow) -> Option<u64> {
    let max = if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let max_increment = max.wrapping_sub(value) as i64;
    let min_increment = value.wrapping_neg() as i64;
    let wrapped = || value.wrapping_add(increment as u64) & max;
    if value > max || (increment > 0 && increment > max_increment) {
        match overflow {
            Overflow::Wrap => Some(wrapped()),
            Overflow::Sat => Some(max),
            Overflow::Fail => None,
        }
    } else if increment < 0 && increment < min_increment {
        match overflow {
            Overflow::Wrap => Some(wrapped()),
            Overflow::Sat => Some(0),
            Overflow::Fail => None,
        }
    } else {
        Some(value.wrapping_add(increment as u64))
    }
}

/// Redis's checkSignedBitfieldOverflow applied, with its quirks (the
/// comparisons use wrapped differences, as the C code does).
pub fn signed_result(value: i64, increment: i64, bits: u32, overflow: Overflow) -> Option<i64> {
    let max = if bits >= 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    let max_increment = (max as u64).wrapping_sub(value as u64) as i64;
    let min_increment = min.wrapping_sub(value);
    let wrapped = || {
        let mut sum = (value as u64).wrapping_add(increment as u64);
        if bits < 64 {
            let mask = u64::MAX << bits;
            if sum & (1u64 << (bits - 1)) != 0 {
                sum |= mask;
            } else {
                sum &= !mask;
            }
        }
        sum as i64
    };
    let narrow = bits != 64;
    if value > max
        || (narrow && increment > max_increment)
        || (value >= 0 && increment > 0 && increment > max_increment)
    {
        match overflow {
            Overflow::Wrap => Some(wrapped()),
            Overflow::Sat => Some(max),
            Overflow::Fail => None,
        }
    } else if value < min
        || (narrow && increment < min_increment)
        || (value < 0 && increment < 0 && increment < min_increment)
    {
        match overflow {
            Overflow::Wrap => Some(wrapped()),
            Overflow::Sat => Some(min),
            Overflow::Fail => None,
        }
    } else {
        Some(value.wrapping_add(increment))
    }
}

/// Runs one SET or INCRBY on `bytes`: the reply (old value for SET, new
/// for INCRBY, nil on FAIL) after writing unless it failed.
fn write_field(bytes: &mut [u8], field: &Field) -> Reply {
    let (offset, bits) = (field.offset, field.bits);
    let (value, increment, is_set) = match field.op {
        FieldOp::Set(value) => (value, 0, true),
        FieldOp::Incrby(increment) => (0, increment, false),
        FieldOp::Get => return Reply::Nil,
    };
    if field.signed {
        let old = get_signed(bytes, offset, bits);
        let (base, reply_old) = if is_set { (value, true) } else { (old, false) };
        match signed_result(base, increment, bits, field.overflow) {
            Some(new) => {
                set_unsigned(bytes, offset, bits, new as u64);
                Reply::Int(if reply_old { old } else { new })
            }
            None => Reply::Nil,
        }
    } else {
        let old = get_unsigned(bytes, offset, bits);
        let base = if is_set { value as u64 } else { old };
        match unsigned_result(base, increment, bits, field.overflow) {
            Some(new) => {
                set_unsigned(bytes, offset, bits, new);
                Reply::Int(if is_set { old as i64 } else { new as i64 })
            }
            None => Reply::Nil,
        }
    }
}

fn read_field(bytes: &[u8], field: &Field) -> Reply {
    if field.signed {
        Reply::Int(get_signed(bytes, field.offset, field.bits))
    } else {
        Reply::Int(get_unsigned(bytes, field.offset, field.bits) as i64)
    }
}

fn bitfield_generic(db: &mut Db, argv: &[Arg<'_>], read_only: bool) -> Reply {
    let fields = match parse_fields(db, argv) {
        Ok(fields) => fields,
        Err(reply) => return reply,
    };
    let highest_write = fields
        .iter()
        .filter(|field| field.op != FieldOp::Get)
        .map(|field| field.offset + field.bits as u64 - 1)
        .max();
    let Some(highest_write) = highest_write else {
        let bytes = match read_string(db, &argv[1]) {
            Ok(bytes) => bytes.unwrap_or_default(),
            Err(reply) => return reply,
        };
        return Reply::Array(fields.iter().map(|f| read_field(&bytes, f)).collect());
    };
    if read_only {
        return Reply::error("ERR BITFIELD_RO only supports the GET subcommand");
    }
    let mut bytes = match string_for_write(db, &argv[1], highest_write) {
        Ok(bytes) => bytes,
        Err(reply) => return reply,
    };
    let replies = fields
        .iter()
        .map(|field| match field.op {
            FieldOp::Get => read_field(&bytes, field),
            _ => write_field(&mut bytes, field),
        })
        .collect();
    store_raw(db, &argv[1], bytes);
    Reply::Array(replies)
}

pub fn bitfield(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    bitfield_generic(db, argv, false)
}

pub fn bitfield_ro(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    bitfield_generic(db, argv, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsigned_overflow_wraps_saturates_or_fails() {
        assert_eq!(unsigned_result(250, 10, 8, Overflow::Wrap), Some(4));
        assert_eq!(unsigned_result(250, 10, 8, Overflow::Sat), Some(255));
        assert_eq!(unsigned_result(250, 10, 8, Overflow::Fail), None);
        assert_eq!(unsigned_result(5, -10, 8, Overflow::Wrap), Some(251));
        assert_eq!(unsigned_result(5, -10, 8, Overflow::Sat), Some(0));
        assert_eq!(unsigned_result(5, -5, 8, Overflow::Fail), Some(0));
        // SET of a negative number into an unsigned field: value > max.
        assert_eq!(
            unsigned_result(-1i64 as u64, 0, 8, Overflow::Wrap),
            Some(255)
        );
        assert_eq!(
            unsigned_result(-1i64 as u64, 0, 8, Overflow::Sat),
            Some(255)
        );
        assert_eq!(
            unsigned_result(1 << 62, 1 << 62, 63, Overflow::Sat),
            Some(i64::MAX as u64)
        );
    }

    #[test]
    fn signed_overflow_wraps_saturates_or_fails() {
        assert_eq!(signed_result(100, 100, 8, Overflow::Wrap), Some(-56));
        assert_eq!(signed_result(100, 100, 8, Overflow::Sat), Some(127));
        assert_eq!(signed_result(-100, -100, 8, Overflow::Sat), Some(-128));
        assert_eq!(signed_result(-100, -100, 8, Overflow::Wrap), Some(56));
        assert_eq!(signed_result(-100, -100, 8, Overflow::Fail), None);
        assert_eq!(
            signed_result(i64::MAX, 1, 64, Overflow::Wrap),
            Some(i64::MIN)
        );
        assert_eq!(
            signed_result(i64::MAX, 1, 64, Overflow::Sat),
            Some(i64::MAX)
        );
        assert_eq!(
            signed_result(i64::MIN, -1, 64, Overflow::Sat),
            Some(i64::MIN)
        );
        assert_eq!(signed_result(-5, 3, 4, Overflow::Fail), Some(-2));
        // Redis's quirk: a huge negative SET into a narrow field compares
        // through a wrapped difference and saturates to the maximum.
        assert_eq!(signed_result(i64::MIN + 1, 0, 8, Overflow::Sat), Some(127));
    }

    #[test]
    fn fields_read_and_write_big_endian_bits() {
        let mut bytes = vec![0u8; 3];
        set_unsigned(&mut bytes, 4, 8, 0xab);
        assert_eq!(bytes, [0x0a, 0xb0, 0]);
        assert_eq!(get_unsigned(&bytes, 4, 8), 0xab);
        assert_eq!(get_signed(&bytes, 4, 8), 0xab_u8 as i8 as i64);
        assert_eq!(get_unsigned(&bytes, 20, 8), 0, "past the end reads zero");
    }

    #[test]
    fn bitop_pads_shorter_sources_with_zeros() {
        let sources = [
            Some(Bytes::from_static(b"\xff\x0f")),
            None,
            Some(Bytes::from_static(b"\x01")),
        ];
        assert_eq!(bitop_compute(BitOp::Or, &sources), [0xff, 0x0f]);
        assert_eq!(bitop_compute(BitOp::And, &sources), [0, 0]);
        assert_eq!(bitop_compute(BitOp::Xor, &sources), [0xfe, 0x0f]);
        assert_eq!(bitop_compute(BitOp::Not, &sources[..1]), [0x00, 0xf0]);
        assert!(bitop_compute(BitOp::Or, &[None]).is_empty());
    }
}
