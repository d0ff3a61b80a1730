//! Incremental request decoder: RESP multibulk frames and inline commands.
//!
//! The decoder is stateless between calls: it checks whether the buffer holds
//! one whole request and, if so, records where each argument lies. A partial
//! frame costs no allocation; when a bulk's header is known but its payload is
//! not, the caller learns how many bytes the frame needs so it can reserve the
//! buffer once instead of growing it repeatedly. Rescanning a partial frame
//! only re-reads its headers, never a bulk payload.

use std::ops::Range;

/// Redis's PROTO_INLINE_MAX_SIZE: the longest inline request or header line.
pub const INLINE_BYTES_MAX: usize = 64 * 1024;
/// Redis 7.0 accepts multibulk counts up to INT_MAX.
pub const MULTIBULK_LEN_MAX: i64 = i32::MAX as i64;
/// Limits Redis applies before a client has authenticated.
pub const UNAUTHENTICATED_MULTIBULK_LEN_MAX: i64 = 10;
pub const UNAUTHENTICATED_BULK_BYTES_MAX: i64 = 16 * 1024;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// `proto-max-bulk-len`.
    pub bulk_bytes_max: i64,
    /// True while `requirepass` is set and the client has not authenticated.
    pub unauthenticated: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            bulk_bytes_max: 512 * 1024 * 1024,
            unauthenticated: false,
        }
    }
}

/// A protocol violation. The text is Redis's, without the `ERR ` prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError(pub String);

impl ProtocolError {
    fn new(text: &str) -> Self {
        ProtocolError(format!("Protocol error: {text}"))
    }
}

/// Where one decoded request's arguments are.
#[derive(Debug, Default)]
pub struct Request {
    /// Byte ranges of each argument, relative to the start of the buffer
    /// passed to `decode` (multibulk), or into `inline_storage` (inline).
    pub spans: Vec<Range<usize>>,
    /// Unescaped inline arguments live here, since quoting makes them differ
    /// from the bytes on the wire.
    pub inline_storage: Vec<u8>,
    pub is_inline: bool,
}

impl Request {
    pub fn clear(&mut self) {
        self.spans.clear();
        self.inline_storage.clear();
        self.is_inline = false;
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Progress {
    /// A whole request (possibly with zero arguments: an empty line or
    /// `*0`) was decoded; it used this many bytes.
    Complete { consumed: usize },
    /// More bytes are needed; at least `frame_bytes_min` for the whole frame
    /// when known, else 0.
    Incomplete { frame_bytes_min: usize },
}

/// Decodes one request from the start of `buf` into `request`.
pub fn decode(
    buf: &[u8],
    limits: &Limits,
    request: &mut Request,
) -> Result<Progress, ProtocolError> {
    request.clear();
    match buf.first() {
        None => Ok(Progress::Incomplete { frame_bytes_min: 0 }),
        Some(b'*') => decode_multibulk(buf, limits, request),
        Some(_) => decode_inline(buf, request),
    }
}

fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    // Redis looks for '\r' and then requires the byte after it to exist.
    buf.get(from..)?
        .iter()
        .position(|&b| b == b'\r')
        .map(|p| from + p)
}

/// Redis's string2ll: optional '-', digits, no leading zeros, no '+', no spaces.
pub fn parse_i64_strict(bytes: &[u8]) -> Option<i64> {
    if bytes.is_empty() || bytes.len() > 20 {
        return None;
    }
    if bytes == b"0" {
        return Some(0);
    }
    let (negative, digits) = match bytes[0] {
        b'-' => (true, &bytes[1..]),
        _ => (false, bytes),
    };
    if digits.is_empty() || digits[0] == b'0' {
        return None;
    }
    let mut value: u64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    if negative {
        if value > i64::MAX as u64 + 1 {
            return None;
        }
        Some((value as i64).wrapping_neg())
    } else {
        i64::try_from(value).ok()
    }
}

/// The common header line, `<sigil><digits>\r` with the byte after the
/// `\r` present, read in one pass: its number and where its `\r` is. Any
/// other line (a sign, a leading zero, a long number, a partial line, a
/// stray byte) gives None, and the caller's general path reads it, with the
/// same result or Redis's error.
#[inline]
fn short_header(buf: &[u8], pos: usize, sigil: u8) -> Option<(i64, usize)> {
    // 18 digits cannot overflow an i64.
    const DIGITS_MAX: usize = 18;
    let line = buf.get(pos..)?;
    if line.first() != Some(&sigil) || line.get(1) == Some(&b'0') {
        return None;
    }
    let mut value: i64 = 0;
    for (index, &byte) in line.iter().enumerate().skip(1).take(DIGITS_MAX + 1) {
        match byte {
            // A 19th digit would overflow (a debug build panics): the
            // general path reads such a header.
            b'0'..=b'9' if index <= DIGITS_MAX => value = value * 10 + i64::from(byte - b'0'),
            b'\r' if index > 1 && index + 1 < line.len() => return Some((value, pos + index)),
            _ => return None,
        }
    }
    None
}

fn decode_multibulk(
    buf: &[u8],
    limits: &Limits,
    request: &mut Request,
) -> Result<Progress, ProtocolError> {
    if let Some((count, line_end)) = short_header(buf, 0, b'*') {
        return decode_bulks(buf, limits, request, count, line_end);
    }
    let Some(line_end) = find_crlf(buf, 1) else {
        if buf.len() > INLINE_BYTES_MAX {
            return Err(ProtocolError::new("too big mbulk count string"));
        }
        return Ok(Progress::Incomplete { frame_bytes_min: 0 });
    };
    if line_end + 1 >= buf.len() {
        return Ok(Progress::Incomplete { frame_bytes_min: 0 });
    }
    let count = match parse_i64_strict(&buf[1..line_end]) {
        Some(count) => count,
        None => return Err(ProtocolError::new("invalid multibulk length")),
    };
    decode_bulks(buf, limits, request, count, line_end)
}

/// The bulks of a multibulk whose count line ends at `line_end`.
fn decode_bulks(
    buf: &[u8],
    limits: &Limits,
    request: &mut Request,
    count: i64,
    line_end: usize,
) -> Result<Progress, ProtocolError> {
    if count > MULTIBULK_LEN_MAX {
        return Err(ProtocolError::new("invalid multibulk length"));
    }
    if limits.unauthenticated && count > UNAUTHENTICATED_MULTIBULK_LEN_MAX {
        return Err(ProtocolError::new("unauthenticated multibulk length"));
    }
    let mut pos = line_end + 2;
    if count <= 0 {
        return Ok(Progress::Complete { consumed: pos });
    }
    for _ in 0..count {
        let (bulk_bytes, line_end) = match short_header(buf, pos, b'$') {
            Some(header) => header,
            None => match bulk_header(buf, pos)? {
                Some(header) => header,
                None => return Ok(Progress::Incomplete { frame_bytes_min: 0 }),
            },
        };
        if bulk_bytes > limits.bulk_bytes_max {
            return Err(ProtocolError::new("invalid bulk length"));
        }
        if limits.unauthenticated && bulk_bytes > UNAUTHENTICATED_BULK_BYTES_MAX {
            return Err(ProtocolError::new("unauthenticated bulk length"));
        }
        let start = line_end + 2;
        let end = start + bulk_bytes as usize;
        // Like Redis, the two bytes after the payload are skipped unchecked.
        if end + 2 > buf.len() {
            return Ok(Progress::Incomplete {
                frame_bytes_min: end + 2,
            });
        }
        request.spans.push(start..end);
        pos = end + 2;
    }
    Ok(Progress::Complete { consumed: pos })
}

/// A bulk's header line at `pos`, the general way: its length (not yet
/// checked against the limits) and where its `\r` is; None while the line
/// is incomplete.
fn bulk_header(buf: &[u8], pos: usize) -> Result<Option<(i64, usize)>, ProtocolError> {
    let Some(&first) = buf.get(pos) else {
        return Ok(None);
    };
    let Some(line_end) = find_crlf(buf, pos) else {
        if buf.len() - pos > INLINE_BYTES_MAX {
            return Err(ProtocolError::new("too big bulk count string"));
        }
        return Ok(None);
    };
    if line_end + 1 >= buf.len() {
        return Ok(None);
    }
    if first != b'$' {
        return Err(ProtocolError(format!(
            "Protocol error: expected '$', got '{}'",
            first as char
        )));
    }
    match parse_i64_strict(&buf[pos + 1..line_end]) {
        Some(n) if n >= 0 => Ok(Some((n, line_end))),
        _ => Err(ProtocolError::new("invalid bulk length")),
    }
}

fn decode_inline(buf: &[u8], request: &mut Request) -> Result<Progress, ProtocolError> {
    let Some(newline) = buf.iter().position(|&b| b == b'\n') else {
        if buf.len() > INLINE_BYTES_MAX {
            return Err(ProtocolError::new("too big inline request"));
        }
        return Ok(Progress::Incomplete { frame_bytes_min: 0 });
    };
    let mut line = &buf[..newline];
    if line.last() == Some(&b'\r') {
        line = &line[..line.len() - 1];
    }
    request.is_inline = true;
    if !split_args(line, request) {
        return Err(ProtocolError::new("unbalanced quotes in request"));
    }
    Ok(Progress::Complete {
        consumed: newline + 1,
    })
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Redis's sdssplitargs: whitespace-separated words, "double quotes" with
/// escapes (\n \r \t \b \a \\ \" \xHH), 'single quotes' with \' only. A
/// closing quote must be followed by whitespace or the end of the line.
fn split_args(line: &[u8], request: &mut Request) -> bool {
    let mut i = 0;
    loop {
        while i < line.len() && line[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= line.len() {
            return true;
        }
        let start = request.inline_storage.len();
        let out = &mut request.inline_storage;
        let (mut in_double, mut in_single) = (false, false);
        loop {
            let c = line.get(i).copied();
            if in_double {
                match c {
                    None => return false,
                    Some(b'\\')
                        if line.get(i + 1) == Some(&b'x')
                            && line.get(i + 2).and_then(|&b| hex_value(b)).is_some()
                            && line.get(i + 3).and_then(|&b| hex_value(b)).is_some() =>
                    {
                        let high = hex_value(line[i + 2]).unwrap_or(0);
                        let low = hex_value(line[i + 3]).unwrap_or(0);
                        out.push(high * 16 + low);
                        i += 3;
                    }
                    Some(b'\\') if i + 1 < line.len() => {
                        i += 1;
                        out.push(match line[i] {
                            b'n' => b'\n',
                            b'r' => b'\r',
                            b't' => b'\t',
                            b'b' => 8,
                            b'a' => 7,
                            other => other,
                        });
                    }
                    Some(b'"') => {
                        if line.get(i + 1).is_some_and(|b| !b.is_ascii_whitespace()) {
                            return false;
                        }
                        i += 1;
                        break;
                    }
                    Some(other) => out.push(other),
                }
            } else if in_single {
                match c {
                    None => return false,
                    Some(b'\\') if line.get(i + 1) == Some(&b'\'') => {
                        i += 1;
                        out.push(b'\'');
                    }
                    Some(b'\'') => {
                        if line.get(i + 1).is_some_and(|b| !b.is_ascii_whitespace()) {
                            return false;
                        }
                        i += 1;
                        break;
                    }
                    Some(other) => out.push(other),
                }
            } else {
                match c {
                    None => break,
                    Some(b) if b.is_ascii_whitespace() => break,
                    Some(b'"') => in_double = true,
                    Some(b'\'') => in_single = true,
                    Some(other) => out.push(other),
                }
            }
            i += 1;
        }
        request.spans.push(start..request.inline_storage.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(buf: &[u8], request: &Request) -> Vec<Vec<u8>> {
        let source = if request.is_inline {
            &request.inline_storage[..]
        } else {
            buf
        };
        request
            .spans
            .iter()
            .map(|r| source[r.clone()].to_vec())
            .collect()
    }

    fn decode_all(buf: &[u8]) -> Result<(usize, Vec<Vec<u8>>), ProtocolError> {
        let mut request = Request::default();
        match decode(buf, &Limits::default(), &mut request)? {
            Progress::Complete { consumed } => Ok((consumed, args(buf, &request))),
            Progress::Incomplete { .. } => Ok((0, vec![])),
        }
    }

    fn error_text(buf: &[u8]) -> String {
        decode_all(buf).unwrap_err().0
    }

    #[test]
    fn multibulk_split_at_every_byte_is_incomplete_then_complete() {
        let frame = b"*3\r\n$3\r\nSET\r\n$5\r\nmykey\r\n$10\r\n0123456789\r\n";
        for cut in 0..frame.len() {
            let mut request = Request::default();
            let progress = decode(&frame[..cut], &Limits::default(), &mut request).unwrap();
            assert!(
                matches!(progress, Progress::Incomplete { .. }),
                "cut at {cut}"
            );
        }
        let (consumed, argv) = decode_all(frame).unwrap();
        assert_eq!(consumed, frame.len());
        assert_eq!(
            argv,
            vec![b"SET".to_vec(), b"mykey".to_vec(), b"0123456789".to_vec()]
        );
    }

    #[test]
    fn inline_split_at_every_byte_is_incomplete_then_complete() {
        let frame = b"SET \"a b\" 'c d'\r\n";
        for cut in 0..frame.len() - 1 {
            let mut request = Request::default();
            let progress = decode(&frame[..cut], &Limits::default(), &mut request).unwrap();
            assert!(
                matches!(progress, Progress::Incomplete { .. }),
                "cut at {cut}"
            );
        }
        let (consumed, argv) = decode_all(frame).unwrap();
        assert_eq!(consumed, frame.len());
        assert_eq!(
            argv,
            vec![b"SET".to_vec(), b"a b".to_vec(), b"c d".to_vec()]
        );
    }

    #[test]
    fn incomplete_bulk_reports_frame_size() {
        let mut request = Request::default();
        let progress = decode(b"*1\r\n$100\r\nabc", &Limits::default(), &mut request).unwrap();
        assert_eq!(
            progress,
            Progress::Incomplete {
                frame_bytes_min: 10 + 100 + 2
            }
        );
    }

    #[test]
    fn pipelined_frames_decode_one_at_a_time() {
        let buf = b"*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$0\r\n\r\n";
        let (consumed, argv) = decode_all(buf).unwrap();
        assert_eq!(argv, vec![b"PING".to_vec()]);
        let (rest, argv) = decode_all(&buf[consumed..]).unwrap();
        assert_eq!(consumed + rest, buf.len());
        assert_eq!(argv, vec![b"ECHO".to_vec(), b"".to_vec()]);
    }

    #[test]
    fn empty_requests_are_complete_with_no_arguments() {
        assert_eq!(decode_all(b"*0\r\n").unwrap(), (4, vec![]));
        assert_eq!(decode_all(b"*-5\r\n").unwrap(), (5, vec![]));
        assert_eq!(decode_all(b"\r\n").unwrap(), (2, vec![]));
        assert_eq!(decode_all(b"   \n").unwrap(), (4, vec![]));
    }

    #[test]
    fn protocol_errors_have_redis_text() {
        assert_eq!(
            error_text(b"*abc\r\n"),
            "Protocol error: invalid multibulk length"
        );
        assert_eq!(
            error_text(b"*+1\r\n"),
            "Protocol error: invalid multibulk length"
        );
        assert_eq!(
            error_text(b"*01\r\n"),
            "Protocol error: invalid multibulk length"
        );
        assert_eq!(
            error_text(b"*2147483648\r\n"),
            "Protocol error: invalid multibulk length"
        );
        assert_eq!(
            error_text(b"*1\r\n$abc\r\n"),
            "Protocol error: invalid bulk length"
        );
        assert_eq!(
            error_text(b"*1\r\n$-1\r\n"),
            "Protocol error: invalid bulk length"
        );
        assert_eq!(
            error_text(b"*1\r\n$ 4\r\n"),
            "Protocol error: invalid bulk length"
        );
        assert_eq!(
            error_text(b"*1\r\nfoo\r\n"),
            "Protocol error: expected '$', got 'f'"
        );
        assert_eq!(
            error_text(b"*2\r\n$3\r\nGET\r\n:1\r\n"),
            "Protocol error: expected '$', got ':'"
        );
        assert_eq!(
            error_text(b"SET \"a\"b c\r\n"),
            "Protocol error: unbalanced quotes in request"
        );
        assert_eq!(
            error_text(b"SET \"abc\r\n"),
            "Protocol error: unbalanced quotes in request"
        );
        assert_eq!(
            error_text(b"SET 'abc\r\n"),
            "Protocol error: unbalanced quotes in request"
        );
    }

    #[test]
    fn oversized_headers_and_inline_requests_are_rejected() {
        let inline = vec![b'a'; INLINE_BYTES_MAX + 1];
        assert_eq!(
            error_text(&inline),
            "Protocol error: too big inline request"
        );
        let mut count = b"*".to_vec();
        count.extend(vec![b'1'; INLINE_BYTES_MAX + 1]);
        assert_eq!(
            error_text(&count),
            "Protocol error: too big mbulk count string"
        );
        let mut bulk = b"*1\r\n$".to_vec();
        bulk.extend(vec![b'1'; INLINE_BYTES_MAX + 1]);
        assert_eq!(
            error_text(&bulk),
            "Protocol error: too big bulk count string"
        );
    }

    #[test]
    fn bulk_length_limit_is_configurable() {
        let limits = Limits {
            bulk_bytes_max: 1024,
            unauthenticated: false,
        };
        let mut request = Request::default();
        assert!(decode(b"*1\r\n$1024\r\n", &limits, &mut request).is_ok());
        let error = decode(b"*1\r\n$1025\r\n", &limits, &mut request).unwrap_err();
        assert_eq!(error.0, "Protocol error: invalid bulk length");
    }

    #[test]
    fn unauthenticated_limits_apply() {
        let limits = Limits {
            unauthenticated: true,
            ..Limits::default()
        };
        let mut request = Request::default();
        let error = decode(b"*11\r\n", &limits, &mut request).unwrap_err();
        assert_eq!(error.0, "Protocol error: unauthenticated multibulk length");
        let error = decode(b"*1\r\n$16385\r\n", &limits, &mut request).unwrap_err();
        assert_eq!(error.0, "Protocol error: unauthenticated bulk length");
    }

    #[test]
    fn inline_escapes_match_sdssplitargs() {
        let (_, argv) = decode_all(b"SET \"a\\x41\\n\" 'it\\'s'  \r\n").unwrap();
        assert_eq!(
            argv,
            vec![b"SET".to_vec(), b"aA\n".to_vec(), b"it's".to_vec()]
        );
        assert_eq!(
            error_text(b"a\"b c\n"),
            "Protocol error: unbalanced quotes in request",
            "a quote inside a word opens a quoted part that must close"
        );
    }

    #[test]
    fn strict_integers_follow_string2ll() {
        assert_eq!(parse_i64_strict(b"0"), Some(0));
        assert_eq!(parse_i64_strict(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64_strict(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64_strict(b"9223372036854775808"), None);
        assert_eq!(parse_i64_strict(b"-0"), None);
        assert_eq!(parse_i64_strict(b"007"), None);
        assert_eq!(parse_i64_strict(b" 7"), None);
        assert_eq!(parse_i64_strict(b""), None);
    }

    /// The one-pass header reader agrees with the general path on every
    /// line it accepts, and declines every line it could get wrong.
    #[test]
    fn short_headers_agree_with_the_general_path() {
        let numbers: [&[u8]; 14] = [
            b"1",
            b"7",
            b"10",
            b"0",
            b"00",
            b"01",
            b"-1",
            b"+1",
            b" 1",
            b"",
            b"12a",
            b"999999999999999999",
            b"1000000000000000000",
            b"9223372036854775808",
        ];
        for number in numbers {
            let line = [b"$", number, b"\r\n"].concat();
            let general = bulk_header(&line, 0).ok().flatten();
            match short_header(&line, 0, b'$') {
                Some(header) => assert_eq!(Some(header), general, "{line:?}"),
                None => assert!(
                    number.len() > 18
                        || !number.iter().all(u8::is_ascii_digit)
                        || number.starts_with(b"0")
                        || number.is_empty(),
                    "declined {line:?}"
                ),
            }
            // Without the byte after the \r the line is not whole yet.
            assert_eq!(short_header(&line[..line.len() - 1], 0, b'$'), None);
        }
        assert_eq!(short_header(b"*3\r\n", 0, b'$'), None);
        assert_eq!(short_header(b"*3\r\n", 0, b'*'), Some((3, 2)));
    }
}
