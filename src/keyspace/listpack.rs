//! Redis's listpack byte format (`listpack.c`), for DUMP payloads: small
//! hashes are saved as one listpack, lists as a quicklist of them.
//!
//! Layout: total bytes (u32 LE), element count (u16 LE, 65535 when
//! unknown), the entries, then 0xFF. An entry is an encoding byte (with
//! the length or the integer), the data, and its own length written
//! backwards so the list can be walked from the end.

use crate::protocol::decode::parse_i64_strict;
use bytes::Bytes;

const HEADER_BYTES: usize = 6;
const END: u8 = 0xFF;

/// Builds a listpack of `items`, encoding each as Redis would: integers
/// in the smallest integer form, other strings with a 6, 12 or 32-bit length.
pub fn encode<'a>(items: impl Iterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = vec![0u8; HEADER_BYTES];
    let mut count = 0usize;
    for item in items {
        let start = out.len();
        encode_entry(item, &mut out);
        let entry_len = out.len() - start;
        push_backlen(entry_len, &mut out);
        count += 1;
    }
    out.push(END);
    let total = out.len() as u32;
    out[0..4].copy_from_slice(&total.to_le_bytes());
    let count = u16::try_from(count).unwrap_or(u16::MAX);
    out[4..6].copy_from_slice(&count.to_le_bytes());
    out
}

/// The bytes one item takes in a listpack, with its back length.
pub fn entry_bytes(item: &[u8]) -> usize {
    let encoded = match parse_i64_strict(item) {
        Some(value) => int_encoded_bytes(value),
        None if item.len() < 64 => 1 + item.len(),
        None if item.len() < 4096 => 2 + item.len(),
        None => 5 + item.len(),
    };
    encoded + backlen_bytes(encoded)
}

/// The bytes an integer takes in a listpack, with its back length.
pub fn int_entry_bytes(value: i64) -> usize {
    int_encoded_bytes(value) + 1
}

/// The bytes of an integer's encoding byte and data (see `encode_entry`).
fn int_encoded_bytes(value: i64) -> usize {
    match value {
        0..=127 => 1,
        -4096..=4095 => 2,
        -32768..=32767 => 3,
        -8_388_608..=8_388_607 => 4,
        _ if i32::try_from(value).is_ok() => 5,
        _ => 9,
    }
}

fn encode_entry(item: &[u8], out: &mut Vec<u8>) {
    if let Some(value) = parse_i64_strict(item) {
        match value {
            0..=127 => out.push(value as u8),
            -4096..=4095 => {
                let bits = (value as u16) & 0x1fff;
                out.extend_from_slice(&[0xC0 | (bits >> 8) as u8, bits as u8]);
            }
            -32768..=32767 => {
                out.push(0xF1);
                out.extend_from_slice(&(value as i16).to_le_bytes());
            }
            -8_388_608..=8_388_607 => {
                out.push(0xF2);
                out.extend_from_slice(&(value as i32).to_le_bytes()[..3]);
            }
            _ if i32::try_from(value).is_ok() => {
                out.push(0xF3);
                out.extend_from_slice(&(value as i32).to_le_bytes());
            }
            _ => {
                out.push(0xF4);
                out.extend_from_slice(&value.to_le_bytes());
            }
        }
        return;
    }
    let len = item.len();
    if len < 64 {
        out.push(0x80 | len as u8);
    } else if len < 4096 {
        out.extend_from_slice(&[0xE0 | (len >> 8) as u8, len as u8]);
    } else {
        out.push(0xF0);
        out.extend_from_slice(&(len as u32).to_le_bytes());
    }
    out.extend_from_slice(item);
}

fn backlen_bytes(entry_len: usize) -> usize {
    match entry_len {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2_097_150 => 3,
        2_097_151..=268_435_454 => 4,
        _ => 5,
    }
}

/// lpEncodeBacklen: 7 bits per byte, most significant first, high bit set
/// on all but the first byte.
fn push_backlen(entry_len: usize, out: &mut Vec<u8>) {
    let count = backlen_bytes(entry_len);
    for index in 0..count {
        let shift = 7 * (count - 1 - index);
        let mut byte = ((entry_len >> shift) & 127) as u8;
        if index > 0 {
            byte |= 128;
        }
        out.push(byte);
    }
}

/// Decodes a listpack into its entries (integers as decimal text); None
/// when the bytes are not a well-formed listpack.
pub fn decode(bytes: &[u8]) -> Option<Vec<Bytes>> {
    if bytes.len() < HEADER_BYTES + 1 {
        return None;
    }
    let total = u32::from_le_bytes(bytes[0..4].try_into().ok()?) as usize;
    let count = u16::from_le_bytes(bytes[4..6].try_into().ok()?);
    if total != bytes.len() || bytes[total - 1] != END {
        return None;
    }
    let mut items = Vec::new();
    let mut at = HEADER_BYTES;
    while bytes[at] != END {
        let (item, entry_len) = decode_entry(&bytes[at..total - 1])?;
        items.push(item);
        at += entry_len + backlen_bytes(entry_len);
        if at >= total {
            return None;
        }
    }
    if at != total - 1 || (count != u16::MAX && count as usize != items.len()) {
        return None;
    }
    Some(items)
}

/// One entry's value and the length of its encoding and data.
fn decode_entry(bytes: &[u8]) -> Option<(Bytes, usize)> {
    let first = *bytes.first()?;
    let int = |value: i64, len: usize| Some((Bytes::from(value.to_string()), len));
    let data = |offset: usize, len: usize| {
        let slice = bytes.get(offset..offset.checked_add(len)?)?;
        Some((Bytes::copy_from_slice(slice), offset + len))
    };
    let field = |from: usize, to: usize| bytes.get(from..to);
    match first {
        0x00..=0x7F => int(i64::from(first), 1),
        0x80..=0xBF => data(1, (first & 0x3f) as usize),
        0xC0..=0xDF => {
            let raw = (u16::from(first & 0x1f) << 8) | u16::from(*bytes.get(1)?);
            // Sign-extend 13 bits.
            int(i64::from(((raw << 3) as i16) >> 3), 2)
        }
        0xE0..=0xEF => data(2, ((first as usize & 0x0f) << 8) | *bytes.get(1)? as usize),
        0xF0 => data(
            5,
            u32::from_le_bytes(field(1, 5)?.try_into().ok()?) as usize,
        ),
        0xF1 => int(
            i64::from(i16::from_le_bytes(field(1, 3)?.try_into().ok()?)),
            3,
        ),
        0xF2 => {
            let b = field(1, 4)?;
            int(i64::from(i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8), 4)
        }
        0xF3 => int(
            i64::from(i32::from_le_bytes(field(1, 5)?.try_into().ok()?)),
            5,
        ),
        0xF4 => int(i64::from_le_bytes(field(1, 9)?.try_into().ok()?), 9),
        _ => None,
    }
}

/// Decodes a ziplist, the encoding Redis 6 and older used where 7.0 uses
/// listpacks (payloads of RDB types 10, 13 and 14). Layout: total bytes
/// (u32 LE), tail offset (u32 LE), count (u16 LE), entries, 0xFF; an entry
/// is the previous entry's length (1 or 5 bytes), an encoding, the data.
pub fn decode_ziplist(bytes: &[u8]) -> Option<Vec<Bytes>> {
    const ZIPLIST_HEADER_BYTES: usize = 10;
    if bytes.len() < ZIPLIST_HEADER_BYTES + 1 {
        return None;
    }
    let total = u32::from_le_bytes(bytes[0..4].try_into().ok()?) as usize;
    if total != bytes.len() || bytes[total - 1] != END {
        return None;
    }
    let mut items = Vec::new();
    let mut at = ZIPLIST_HEADER_BYTES;
    while *bytes.get(at)? != END {
        at += if bytes[at] < 0xFE { 1 } else { 5 };
        let (item, len) = decode_ziplist_entry(bytes.get(at..total - 1)?)?;
        items.push(item);
        at += len;
    }
    (at == total - 1).then_some(items)
}

fn decode_ziplist_entry(bytes: &[u8]) -> Option<(Bytes, usize)> {
    let first = *bytes.first()?;
    let int = |value: i64, len: usize| Some((Bytes::from(value.to_string()), len));
    let data = |offset: usize, len: usize| {
        let slice = bytes.get(offset..offset.checked_add(len)?)?;
        Some((Bytes::copy_from_slice(slice), offset + len))
    };
    let field = |from: usize, to: usize| bytes.get(from..to);
    match first {
        0x00..=0x3F => data(1, (first & 0x3f) as usize),
        0x40..=0x7F => data(2, ((first as usize & 0x3f) << 8) | *bytes.get(1)? as usize),
        0x80 => data(
            5,
            u32::from_be_bytes(field(1, 5)?.try_into().ok()?) as usize,
        ),
        0xC0 => int(
            i64::from(i16::from_le_bytes(field(1, 3)?.try_into().ok()?)),
            3,
        ),
        0xD0 => int(
            i64::from(i32::from_le_bytes(field(1, 5)?.try_into().ok()?)),
            5,
        ),
        0xE0 => int(i64::from_le_bytes(field(1, 9)?.try_into().ok()?), 9),
        0xF0 => {
            let b = field(1, 4)?;
            int(i64::from(i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8), 4)
        }
        0xFE => int(i64::from(*bytes.get(1)? as i8), 2),
        0xF1..=0xFD => int(i64::from(first & 0x0f) - 1, 1),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_encoding() {
        let long = "x".repeat(5000);
        let medium = "y".repeat(100);
        let items: Vec<&[u8]> = vec![
            b"0",
            b"127",
            b"128",
            b"-1",
            b"-4096",
            b"4095",
            b"-4097",
            b"32767",
            b"-32768",
            b"8388607",
            b"-8388608",
            b"8388608",
            b"2147483647",
            b"-2147483649",
            b"9223372036854775807",
            b"-9223372036854775808",
            b"",
            b"abc",
            b"0123",
            medium.as_bytes(),
            long.as_bytes(),
        ];
        let packed = encode(items.iter().copied());
        let decoded = decode(&packed).unwrap();
        let decoded: Vec<&[u8]> = decoded.iter().map(|b| b.as_ref()).collect();
        assert_eq!(decoded, items);
    }

    #[test]
    fn matches_redis_bytes() {
        // HSET h a 1 b hello in redis-server 7.0: the listpack in its DUMP.
        let packed = encode([&b"a"[..], b"1", b"b", b"hello"].into_iter());
        let hex: String = packed.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "16000000040081610201018162028568656c6c6f06ff");
    }

    #[test]
    fn ziplists_decode() {
        // "ab", 7 (immediate), 300 (int16), -2 (int8) and a 70-byte string.
        let long = vec![b'z'; 70];
        let mut body = vec![0x00, 0x02, b'a', b'b'];
        body.extend_from_slice(&[0x04, 0xF8]);
        body.extend_from_slice(&[0x02, 0xC0, 0x2C, 0x01]);
        body.extend_from_slice(&[0x04, 0xFE, 0xFE]);
        body.extend_from_slice(&[0x03, 0x40, 70]);
        body.extend_from_slice(&long);
        let mut ziplist = vec![0u8; 10];
        ziplist.extend_from_slice(&body);
        ziplist.push(0xFF);
        let total = ziplist.len() as u32;
        ziplist[0..4].copy_from_slice(&total.to_le_bytes());
        ziplist[8..10].copy_from_slice(&5u16.to_le_bytes());
        let items = decode_ziplist(&ziplist).unwrap();
        let items: Vec<&[u8]> = items.iter().map(|b| b.as_ref()).collect();
        assert_eq!(items, vec![&b"ab"[..], b"7", b"300", b"-2", &long[..]]);
        ziplist[4] = 0;
        let cut = &ziplist[..ziplist.len() - 2];
        assert!(decode_ziplist(cut).is_none());
    }

    #[test]
    fn malformed_listpacks_are_refused() {
        assert!(decode(&[7, 0, 0, 0, 0, 0, 0xFF]).is_some());
        assert!(decode(&[8, 0, 0, 0, 0, 0, 0xFF]).is_none());
        assert!(decode(&[9, 0, 0, 0, 1, 0, 0x85, 1, 0xFF]).is_none());
    }
}
