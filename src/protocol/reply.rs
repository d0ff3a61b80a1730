//! Replies as values, and their RESP2/RESP3 encoding.
//!
//! Shard code returns a `Reply`; the connection encodes it with the
//! protocol version that client negotiated. Scalars carry no heap data and a
//! bulk is a refcounted `Bytes`, so the local path allocates nothing to reply.

use bytes::Bytes;
use std::borrow::Cow;

#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Simple(Cow<'static, str>),
    /// Full error text without the leading '-', e.g. "ERR syntax error".
    Error(Cow<'static, str>),
    Int(i64),
    Bulk(Bytes),
    /// A bulk string of at most `SHORT_BULK_BYTES_MAX` bytes carried in the
    /// reply itself: GET of a short value answers without an allocation.
    ShortBulk {
        len: u8,
        bytes: [u8; SHORT_BULK_BYTES_MAX],
    },
    /// A null bulk ($-1 / `_`).
    Nil,
    /// A null array (*-1 / `_`).
    NilArray,
    Array(Vec<Reply>),
    /// A RESP3 map; flattened into an array in RESP2.
    Map(Vec<(Reply, Reply)>),
    /// A RESP3 set; an array in RESP2.
    Set(Vec<Reply>),
    /// Pairs (HRANDFIELD ... WITHVALUES): one flat array in RESP2, an
    /// array of two-element arrays in RESP3.
    Pairs(Vec<(Reply, Reply)>),
    /// A map keyed by key names (XREAD): a RESP3 map, an array of
    /// two-element arrays in RESP2.
    KeyedMap(Vec<(Reply, Reply)>),
    /// A reply already encoded, the same in RESP2 and RESP3 (arrays of
    /// bulk strings: stream entries, which XRANGE and XREAD write straight
    /// into one buffer).
    Encoded(Bytes),
    /// A RESP3 double; a bulk string in RESP2.
    Double(f64),
    /// A double written as Redis's addReplyHumanLongDouble writes it
    /// ("%.17Lf" without trailing zeros: GEOPOS's coordinates): a RESP3
    /// double, a bulk string in RESP2.
    HumanDouble(f64),
    /// A RESP3 verbatim string ("txt"); a bulk string in RESP2.
    Verbatim(String),
    /// RESP3 push data (pub/sub); an array in RESP2.
    Push(Vec<Reply>),
    /// A RESP3 boolean; 1 or 0 in RESP2 (scripts after redis.setresp(3)).
    Bool(bool),
    /// A RESP3 big number; a bulk string in RESP2 (scripts).
    BigNumber(Bytes),
    /// A RESP3 verbatim string of any format; a bulk string in RESP2
    /// (scripts).
    VerbatimAs {
        format: [u8; 3],
        text: Bytes,
    },
}

pub const OK: Reply = Reply::Simple(Cow::Borrowed("OK"));

/// The longest `ShortBulk`: what fits beside the tag without making a
/// `Reply` bigger than a `Bytes` and its tag.
pub const SHORT_BULK_BYTES_MAX: usize = 30;

const _: () = assert!(std::mem::size_of::<Reply>() == 40);

impl Reply {
    pub fn ok() -> Reply {
        OK
    }

    pub fn error(text: impl Into<Cow<'static, str>>) -> Reply {
        Reply::Error(text.into())
    }

    pub fn error_owned(text: String) -> Reply {
        Reply::Error(Cow::Owned(text))
    }

    pub fn bulk_str(text: &str) -> Reply {
        Reply::Bulk(Bytes::copy_from_slice(text.as_bytes()))
    }

    /// A bulk string from text, borrowed when static.
    pub fn bulk(text: impl Into<String>) -> Reply {
        Reply::Bulk(Bytes::from(text.into()))
    }

    /// `bytes` as a bulk string carried inside the reply, when they fit.
    #[inline]
    pub fn short_bulk(bytes: &[u8]) -> Option<Reply> {
        (bytes.len() <= SHORT_BULK_BYTES_MAX).then(|| {
            let mut short = [0; SHORT_BULK_BYTES_MAX];
            short[..bytes.len()].copy_from_slice(bytes);
            Reply::ShortBulk {
                len: bytes.len() as u8,
                bytes: short,
            }
        })
    }

    pub fn bulk_static(text: &'static str) -> Reply {
        Reply::Bulk(Bytes::from_static(text.as_bytes()))
    }

    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }

    /// Encodes into `out` using RESP3 when `resp3`, else RESP2.
    pub fn encode(&self, resp3: bool, out: &mut Vec<u8>) {
        match self {
            Reply::Simple(text) => {
                out.push(b'+');
                out.extend_from_slice(text.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
            Reply::Error(text) => encode_error(text, out),
            Reply::Int(value) => encode_header(b':', *value, out),
            Reply::Bulk(bytes) => encode_bulk(bytes, out),
            Reply::ShortBulk { len, bytes } => encode_bulk(&bytes[..*len as usize], out),
            Reply::Nil if resp3 => out.extend_from_slice(b"_\r\n"),
            Reply::Nil => out.extend_from_slice(b"$-1\r\n"),
            Reply::NilArray if resp3 => out.extend_from_slice(b"_\r\n"),
            Reply::NilArray => out.extend_from_slice(b"*-1\r\n"),
            Reply::Array(items) => encode_aggregate(b'*', items, resp3, out),
            Reply::Set(items) => {
                encode_aggregate(if resp3 { b'~' } else { b'*' }, items, resp3, out)
            }
            Reply::Push(items) => {
                encode_aggregate(if resp3 { b'>' } else { b'*' }, items, resp3, out)
            }
            Reply::Map(pairs) => {
                if resp3 {
                    encode_header(b'%', pairs.len() as i64, out);
                } else {
                    encode_header(b'*', 2 * pairs.len() as i64, out);
                }
                for (key, value) in pairs {
                    key.encode(resp3, out);
                    value.encode(resp3, out);
                }
            }
            Reply::Encoded(bytes) => out.extend_from_slice(bytes),
            Reply::KeyedMap(pairs) => {
                if resp3 {
                    encode_header(b'%', pairs.len() as i64, out);
                } else {
                    encode_header(b'*', pairs.len() as i64, out);
                }
                for (key, value) in pairs {
                    if !resp3 {
                        encode_header(b'*', 2, out);
                    }
                    key.encode(resp3, out);
                    value.encode(resp3, out);
                }
            }
            Reply::Pairs(pairs) => {
                encode_header(b'*', (pairs.len() * if resp3 { 1 } else { 2 }) as i64, out);
                for (first, second) in pairs {
                    if resp3 {
                        encode_header(b'*', 2, out);
                    }
                    first.encode(resp3, out);
                    second.encode(resp3, out);
                }
            }
            Reply::Double(value) => encode_double(&format_double(*value), resp3, out),
            Reply::HumanDouble(value) => encode_double(
                &crate::command::strings::human_long_double(*value),
                resp3,
                out,
            ),
            Reply::Verbatim(text) => encode_verbatim(b"txt", text.as_bytes(), resp3, out),
            Reply::VerbatimAs { format, text } => encode_verbatim(format, text, resp3, out),
            Reply::Bool(value) if resp3 => {
                out.extend_from_slice(if *value { b"#t\r\n" } else { b"#f\r\n" })
            }
            Reply::Bool(value) => encode_header(b':', i64::from(*value), out),
            Reply::BigNumber(text) if resp3 => {
                out.push(b'(');
                out.extend_from_slice(text);
                out.extend_from_slice(b"\r\n");
            }
            Reply::BigNumber(text) => encode_bulk(text, out),
        }
    }
}

fn encode_verbatim(format: &[u8], text: &[u8], resp3: bool, out: &mut Vec<u8>) {
    if resp3 {
        encode_header(b'=', text.len() as i64 + 4, out);
        out.extend_from_slice(format);
        out.push(b':');
        out.extend_from_slice(text);
        out.extend_from_slice(b"\r\n");
    } else {
        encode_bulk(text, out);
    }
}

/// A double already written out: `,text` in RESP3, a bulk string in RESP2.
fn encode_double(text: &str, resp3: bool, out: &mut Vec<u8>) {
    if resp3 {
        out.push(b',');
        out.extend_from_slice(text.as_bytes());
        out.extend_from_slice(b"\r\n");
    } else {
        encode_bulk(text.as_bytes(), out);
    }
}

fn encode_aggregate(marker: u8, items: &[Reply], resp3: bool, out: &mut Vec<u8>) {
    encode_header(marker, items.len() as i64, out);
    for item in items {
        item.encode(resp3, out);
    }
}

/// Writes `-TEXT\r\n`; newlines inside the text would break the protocol, so
/// like Redis they become spaces.
pub fn encode_error(text: &str, out: &mut Vec<u8>) {
    out.push(b'-');
    out.extend(
        text.bytes()
            .map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
    );
    out.extend_from_slice(b"\r\n");
}

pub fn encode_header(marker: u8, value: i64, out: &mut Vec<u8>) {
    out.push(marker);
    let mut digits = itoa_buf(value);
    out.extend_from_slice(digits.as_bytes_mut());
    out.extend_from_slice(b"\r\n");
}

pub fn encode_bulk(bytes: &[u8], out: &mut Vec<u8>) {
    encode_header(b'$', bytes.len() as i64, out);
    out.extend_from_slice(bytes);
    out.extend_from_slice(b"\r\n");
}

/// A small stack buffer holding the decimal form of an i64.
pub struct IntText {
    buf: [u8; 20],
    start: usize,
}

impl IntText {
    pub fn as_bytes_mut(&mut self) -> &[u8] {
        &self.buf[self.start..]
    }
}

pub fn itoa_buf(value: i64) -> IntText {
    let mut buf = [0u8; 20];
    let mut pos = buf.len();
    let negative = value < 0;
    let mut magnitude = value.unsigned_abs();
    loop {
        pos -= 1;
        buf[pos] = b'0' + (magnitude % 10) as u8;
        magnitude /= 10;
        if magnitude == 0 {
            break;
        }
    }
    if negative {
        pos -= 1;
        buf[pos] = b'-';
    }
    IntText { buf, start: pos }
}

/// Formats a double the way Redis 7.0 replies with one (`%.17g`, with
/// `inf`, `-inf` and `nan`).
pub fn format_double(value: f64) -> String {
    if value.is_nan() {
        return "nan".to_string();
    }
    if value.is_infinite() {
        return if value > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    format_g17(value)
}

/// C's `%.17g`.
pub fn format_g17(value: f64) -> String {
    format_g(value, 17)
}

/// C's `%.<precision>g` (glibc's spelling of infinities and NaNs).
pub fn format_g(value: f64, precision: usize) -> String {
    if value.is_nan() {
        return if value.is_sign_negative() {
            "-nan"
        } else {
            "nan"
        }
        .into();
    }
    if value.is_infinite() {
        return if value > 0.0 { "inf" } else { "-inf" }.into();
    }
    if value == 0.0 {
        return if value.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let precision = precision.max(1);
    // Whole numbers with no more digits than the precision print as
    // integers (the common case, without the exact decimal conversion).
    if value.fract() == 0.0 && value.abs() < 10f64.powi(precision as i32) {
        return format!("{}", value as i64);
    }
    let scientific = format!("{:.*e}", precision - 1, value);
    // Rust's rounding of the mantissa decides the true exponent.
    let (mantissa, exp_text) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exp: i32 = exp_text.parse().unwrap_or(0);
    if exp < -4 || exp >= precision as i32 {
        let mantissa = trim_fraction(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (precision as i32 - 1 - exp).max(0) as usize;
        trim_fraction(&format!("{:.*}", decimals, value)).to_string()
    }
}

fn trim_fraction(text: &str) -> &str {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(reply: &Reply, resp3: bool) -> String {
        let mut out = Vec::new();
        reply.encode(resp3, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn resp2_and_resp3_encodings() {
        assert_eq!(encode(&Reply::ok(), false), "+OK\r\n");
        assert_eq!(encode(&Reply::Int(-42), false), ":-42\r\n");
        assert_eq!(
            encode(&Reply::Int(i64::MIN), false),
            ":-9223372036854775808\r\n"
        );
        assert_eq!(encode(&Reply::Nil, false), "$-1\r\n");
        assert_eq!(encode(&Reply::Nil, true), "_\r\n");
        assert_eq!(encode(&Reply::NilArray, false), "*-1\r\n");
        assert_eq!(encode(&Reply::bulk_str("hi"), false), "$2\r\nhi\r\n");
        let map = Reply::Map(vec![(Reply::bulk_str("a"), Reply::Int(1))]);
        assert_eq!(encode(&map, false), "*2\r\n$1\r\na\r\n:1\r\n");
        assert_eq!(encode(&map, true), "%1\r\n$1\r\na\r\n:1\r\n");
        assert_eq!(encode(&Reply::Double(1.5), true), ",1.5\r\n");
        assert_eq!(encode(&Reply::Double(1.5), false), "$3\r\n1.5\r\n");
        assert_eq!(
            encode(&Reply::Verbatim("ab".into()), true),
            "=6\r\ntxt:ab\r\n"
        );
        assert_eq!(encode(&Reply::error("ERR x\r\ny"), false), "-ERR x  y\r\n");
    }

    #[test]
    fn doubles_format_like_printf_g17() {
        assert_eq!(format_double(1.5), "1.5");
        assert_eq!(format_double(3.0), "3");
        assert_eq!(format_double(0.1), "0.10000000000000001");
        assert_eq!(format_double(1e20), "1e+20");
        assert_eq!(format_double(1.5e-5), "1.5e-05");
        assert_eq!(format_double(f64::INFINITY), "inf");
        assert_eq!(format_double(f64::NEG_INFINITY), "-inf");
        assert_eq!(format_double(-2.25), "-2.25");
    }
}
