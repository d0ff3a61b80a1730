//! The DUMP/RESTORE payload: one value in Redis's RDB object format,
//! followed by the RDB version (u16 LE) and a CRC64 (Jones, as Redis's
//! `crc64.c`) of everything before it. Byte-compatible with Redis 7.0
//! (RDB version 10), so keys move between slotcore and redis-server both
//! ways (MIGRATE, `redis-cli --cluster`, DUMP in one and RESTORE in the
//! other).
//!
//! A type plugs in with a `save_*` function (value → type byte and body)
//! and a `load_*` function (type byte and body → value); `dump` and `load`
//! only dispatch.

use super::lzf;
use super::value::Value;
use bytes::Bytes;

pub const RDB_VERSION: u16 = 10;

/// The RDB object types (Redis's `RDB_TYPE_*`).
pub mod object_type {
    pub const STRING: u8 = 0;
}

/// Limits a loaded value's encoding depends on (from the configuration).
#[derive(Debug, Clone, Copy)]
pub struct EncodingLimits {
    pub hash_max_listpack_entries: usize,
    pub hash_max_listpack_value: usize,
}

impl Default for EncodingLimits {
    fn default() -> Self {
        EncodingLimits {
            hash_max_listpack_entries: 128,
            hash_max_listpack_value: 64,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadError {
    /// The footer's version is newer than ours, or the CRC does not match.
    VersionOrChecksum,
    /// The body does not decode as an RDB object.
    BadFormat,
}

impl PayloadError {
    pub fn message(self) -> &'static str {
        match self {
            PayloadError::VersionOrChecksum => "ERR DUMP payload version or checksum are wrong",
            PayloadError::BadFormat => "ERR Bad data format",
        }
    }
}

/// Serializes `value` as DUMP does.
pub fn dump(value: &Value) -> Vec<u8> {
    let mut out = Writer(Vec::with_capacity(16));
    match value {
        Value::Str { bytes, .. } => {
            out.0.push(object_type::STRING);
            out.string(bytes);
        }
    }
    out.0.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(0, &out.0);
    out.0.extend_from_slice(&crc.to_le_bytes());
    out.0
}

/// Redis's verifyDumpPayload: a version we know and a matching CRC.
pub fn verify(payload: &[u8]) -> Result<(), PayloadError> {
    if payload.len() < 10 {
        return Err(PayloadError::VersionOrChecksum);
    }
    let footer = &payload[payload.len() - 10..];
    let version = u16::from_le_bytes([footer[0], footer[1]]);
    if version > RDB_VERSION {
        return Err(PayloadError::VersionOrChecksum);
    }
    let crc = crc64(0, &payload[..payload.len() - 8]);
    if crc.to_le_bytes() != footer[2..] {
        return Err(PayloadError::VersionOrChecksum);
    }
    Ok(())
}

/// Decodes a verified payload's object into a value.
pub fn load(payload: &[u8], limits: &EncodingLimits) -> Result<Value, PayloadError> {
    verify(payload)?;
    let mut reader = Reader {
        data: &payload[..payload.len() - 10],
        at: 0,
    };
    let kind = reader.byte()?;
    let _ = limits;
    match kind {
        object_type::STRING => Ok(Value::string(Bytes::from(reader.string()?))),
        _ => Err(PayloadError::BadFormat),
    }
}

const ENCVAL: u8 = 3;
const ENC_INT8: u8 = 0;
const ENC_INT16: u8 = 1;
const ENC_INT32: u8 = 2;
const ENC_LZF: u8 = 3;

/// Appends RDB lengths and strings (rdbSaveLen, rdbSaveRawString).
pub struct Writer(pub Vec<u8>);

impl Writer {
    pub fn length(&mut self, len: u64) {
        if len < 1 << 6 {
            self.0.push(len as u8);
        } else if len < 1 << 14 {
            self.0.push(((len >> 8) as u8) | 0x40);
            self.0.push(len as u8);
        } else if len <= u64::from(u32::MAX) {
            self.0.push(0x80);
            self.0.extend_from_slice(&(len as u32).to_be_bytes());
        } else {
            self.0.push(0x81);
            self.0.extend_from_slice(&len.to_be_bytes());
        }
    }

    /// A string as Redis saves it with `rdbcompression yes`: a small
    /// integer in 2 to 5 bytes, LZF when that saves at least 4 bytes of a
    /// string over 20, else length and bytes.
    pub fn string(&mut self, bytes: &[u8]) {
        if bytes.len() <= 11 && self.try_integer(bytes) {
            return;
        }
        if bytes.len() > 20 {
            if let Some(packed) = lzf::compress(bytes, bytes.len() - 4) {
                self.0.push((ENCVAL << 6) | ENC_LZF);
                self.length(packed.len() as u64);
                self.length(bytes.len() as u64);
                self.0.extend_from_slice(&packed);
                return;
            }
        }
        self.length(bytes.len() as u64);
        self.0.extend_from_slice(bytes);
    }

    fn try_integer(&mut self, bytes: &[u8]) -> bool {
        // parse_i64_strict accepts exactly the canonical spellings, as
        // Redis's string2ll followed by the ll2string round-trip check.
        let Some(value) = crate::protocol::decode::parse_i64_strict(bytes) else {
            return false;
        };
        if let Ok(small) = i8::try_from(value) {
            self.0.push((ENCVAL << 6) | ENC_INT8);
            self.0.push(small as u8);
        } else if let Ok(medium) = i16::try_from(value) {
            self.0.push((ENCVAL << 6) | ENC_INT16);
            self.0.extend_from_slice(&medium.to_le_bytes());
        } else if let Ok(large) = i32::try_from(value) {
            self.0.push((ENCVAL << 6) | ENC_INT32);
            self.0.extend_from_slice(&large.to_le_bytes());
        } else {
            return false;
        }
        true
    }
}

/// Reads RDB lengths and strings from a payload body.
pub struct Reader<'a> {
    pub data: &'a [u8],
    pub at: usize,
}

impl<'a> Reader<'a> {
    pub fn byte(&mut self) -> Result<u8, PayloadError> {
        let byte = *self.data.get(self.at).ok_or(PayloadError::BadFormat)?;
        self.at += 1;
        Ok(byte)
    }

    pub fn take(&mut self, count: usize) -> Result<&'a [u8], PayloadError> {
        let end = self.at.checked_add(count).ok_or(PayloadError::BadFormat)?;
        let bytes = self.data.get(self.at..end).ok_or(PayloadError::BadFormat)?;
        self.at = end;
        Ok(bytes)
    }

    /// rdbLoadLenByRef: (length or encoding, whether it is an encoding).
    fn length_or_encoding(&mut self) -> Result<(u64, bool), PayloadError> {
        let first = self.byte()?;
        match first >> 6 {
            0 => Ok((u64::from(first & 0x3f), false)),
            1 => Ok((
                (u64::from(first & 0x3f) << 8) | u64::from(self.byte()?),
                false,
            )),
            3 => Ok((u64::from(first & 0x3f), true)),
            _ if first == 0x80 => {
                let bytes = self.take(4)?;
                Ok((
                    u64::from(u32::from_be_bytes(bytes.try_into().unwrap_or([0; 4]))),
                    false,
                ))
            }
            _ if first == 0x81 => {
                let bytes = self.take(8)?;
                Ok((
                    u64::from_be_bytes(bytes.try_into().unwrap_or([0; 8])),
                    false,
                ))
            }
            _ => Err(PayloadError::BadFormat),
        }
    }

    pub fn length(&mut self) -> Result<u64, PayloadError> {
        match self.length_or_encoding()? {
            (len, false) => Ok(len),
            (_, true) => Err(PayloadError::BadFormat),
        }
    }

    /// A length that counts things still to be read: bounded by the bytes
    /// left, so a corrupt length cannot make us reserve memory it lies about.
    pub fn count(&mut self) -> Result<usize, PayloadError> {
        let len = self.length()?;
        if len > (self.data.len() - self.at) as u64 {
            return Err(PayloadError::BadFormat);
        }
        Ok(len as usize)
    }

    /// rdbGenericLoadStringObject: plain, integer or LZF.
    pub fn string(&mut self) -> Result<Vec<u8>, PayloadError> {
        let (len, encoded) = self.length_or_encoding()?;
        if !encoded {
            let len = usize::try_from(len).map_err(|_| PayloadError::BadFormat)?;
            return Ok(self.take(len)?.to_vec());
        }
        let value: i64 = match len as u8 {
            ENC_INT8 => i64::from(self.byte()? as i8),
            ENC_INT16 => i64::from(i16::from_le_bytes([self.byte()?, self.byte()?])),
            ENC_INT32 => {
                let bytes = self.take(4)?;
                i64::from(i32::from_le_bytes(bytes.try_into().unwrap_or([0; 4])))
            }
            ENC_LZF => {
                let packed_len = self.length()?;
                let plain_len = self.length()?;
                let packed_len =
                    usize::try_from(packed_len).map_err(|_| PayloadError::BadFormat)?;
                let plain_len = usize::try_from(plain_len).map_err(|_| PayloadError::BadFormat)?;
                let packed = self.take(packed_len)?;
                // LZF expands at most about 260 times; refuse a length that
                // claims more before allocating for it.
                if plain_len == 0 || plain_len / 300 > packed_len {
                    return Err(PayloadError::BadFormat);
                }
                return lzf::decompress(packed, plain_len).ok_or(PayloadError::BadFormat);
            }
            _ => return Err(PayloadError::BadFormat),
        };
        Ok(value.to_string().into_bytes())
    }
}

/// Redis's CRC64: Jones polynomial, reflected, initial value 0, no final
/// XOR (check value for "123456789": 0xe9c6d914c4b8d9ca).
pub fn crc64(mut crc: u64, data: &[u8]) -> u64 {
    for &byte in data {
        crc = CRC64_TABLE[((crc ^ u64::from(byte)) & 0xff) as usize] ^ (crc >> 8);
    }
    crc
}

const CRC64_TABLE: [u64; 256] = crc64_table();

const fn crc64_table() -> [u64; 256] {
    // 0xad93d23594c935a9 with its bits reversed.
    const POLY_REFLECTED: u64 = 0x95ac_9329_ac4b_c9b5;
    let mut table = [0u64; 256];
    let mut index = 0;
    while index < 256 {
        let mut crc = index as u64;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ POLY_REFLECTED
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[index] = crc;
        index += 1;
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn unhex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn crc64_check_value() {
        assert_eq!(crc64(0, b"123456789"), 0xe9c6_d914_c4b8_d9ca);
    }

    #[test]
    fn strings_dump_as_redis_does() {
        // Payloads from redis-server 7.0.15's DUMP.
        let cases = [
            ("1", "00c0010a002678e7b6d10111fc"),
            ("-129", "00c17fff0a001760822854808480"),
            ("32768", "00c2008000000a0045d82eedd5bda910"),
            ("2147483648", "000a323134373438333634380a00e7b129a34c1d76ee"),
            ("0123", "0004303132330a000ae40c929e3b6422"),
            ("", "00000a005d9b5c400f7fa2da"),
            (
                "hello world hello world hello world hello world!",
                "00c314300c68656c6c6f20776f726c642068e0180b0164210a00d6c1f9826fc44347",
            ),
        ];
        for (text, payload) in cases {
            let value = Value::string(Bytes::copy_from_slice(text.as_bytes()));
            assert_eq!(hex(&dump(&value)), payload, "{text:?}");
            let loaded = load(&unhex(payload), &EncodingLimits::default()).unwrap();
            assert_eq!(loaded.as_str().unwrap().as_ref(), text.as_bytes());
        }
    }

    #[test]
    fn bad_payloads_are_refused() {
        let limits = EncodingLimits::default();
        let mut payload = unhex("00c0010a002678e7b6d10111fc");
        assert_eq!(
            load(&payload[..9], &limits).unwrap_err(),
            PayloadError::VersionOrChecksum
        );
        payload[1] ^= 1;
        assert_eq!(
            load(&payload, &limits).unwrap_err(),
            PayloadError::VersionOrChecksum
        );
        // Version 11 with a valid CRC is still refused.
        let mut newer = vec![0u8, 0x01, b'x', 11, 0];
        let crc = crc64(0, &newer);
        newer.extend_from_slice(&crc.to_le_bytes());
        assert_eq!(
            load(&newer, &limits).unwrap_err(),
            PayloadError::VersionOrChecksum
        );
        // A valid footer around a body that is not an object.
        let mut body = vec![0x63u8, 0x05, 10, 0];
        let crc = crc64(0, &body);
        body.extend_from_slice(&crc.to_le_bytes());
        assert_eq!(load(&body, &limits).unwrap_err(), PayloadError::BadFormat);
    }
}
