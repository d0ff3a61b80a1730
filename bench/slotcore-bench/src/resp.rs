//! RESP2 for a load generator: encode commands straight into a connection's write buffer, skip
//! over replies without allocating on the request path, and parse a full reply only for the
//! control path (CLUSTER SLOTS).

use std::io::{self, Read, Write};

/// Deepest array nesting we accept in a reply; CLUSTER SLOTS needs 3.
const NESTING_MAX: usize = 16;

/// What a skipped reply was: a success of any shape, or an error whose text is in the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyKind {
    Ok,
    /// The error text (without the leading `-` and trailing CRLF) is at this range of the buffer.
    Error {
        start: usize,
        end: usize,
    },
}

#[derive(Debug, PartialEq, Eq)]
pub struct ProtocolError(pub String);

impl std::fmt::Display for ProtocolError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "protocol error: {}", self.0)
    }
}

impl std::error::Error for ProtocolError {}

fn find_crlf(buffer: &[u8], from: usize) -> Option<usize> {
    let tail = buffer.get(from..)?;
    tail.windows(2)
        .position(|pair| pair == b"\r\n")
        .map(|at| from + at)
}

fn parse_int(bytes: &[u8]) -> Result<i64, ProtocolError> {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|text| text.parse::<i64>().ok())
        .ok_or_else(|| ProtocolError(format!("bad integer {:?}", String::from_utf8_lossy(bytes))))
}

/// Skips one complete reply at `buffer[at..]`. Returns `None` when the reply is not complete yet,
/// otherwise the position just after it and what it was.
pub fn skip_reply(buffer: &[u8], at: usize) -> Result<Option<(usize, ReplyKind)>, ProtocolError> {
    let mut position = at;
    // Elements still to skip at each open array level, innermost last.
    let mut remaining: Vec<i64> = Vec::new();
    let mut kind = ReplyKind::Ok;
    loop {
        let Some(&tag) = buffer.get(position) else {
            return Ok(None);
        };
        let Some(line_end) = find_crlf(buffer, position + 1) else {
            return Ok(None);
        };
        let line = &buffer[position + 1..line_end];
        position = line_end + 2;
        match tag {
            b'+' | b':' => {}
            b'-' => {
                if remaining.is_empty() {
                    kind = ReplyKind::Error {
                        start: line_end - line.len(),
                        end: line_end,
                    };
                }
            }
            b'$' => {
                let length = parse_int(line)?;
                if length >= 0 {
                    let end = position + length as usize + 2;
                    if buffer.len() < end {
                        return Ok(None);
                    }
                    position = end;
                }
            }
            b'*' => {
                let count = parse_int(line)?;
                if count > 0 {
                    if remaining.len() >= NESTING_MAX {
                        return Err(ProtocolError("arrays nested too deep".into()));
                    }
                    remaining.push(count);
                    continue;
                }
            }
            other => {
                return Err(ProtocolError(format!(
                    "unexpected reply type byte {other:#04x}"
                )))
            }
        }
        // One element finished: close every array it completes.
        loop {
            match remaining.last_mut() {
                None => return Ok(Some((position, kind))),
                Some(count) => {
                    *count -= 1;
                    if *count > 0 {
                        break;
                    }
                    remaining.pop();
                }
            }
        }
    }
}

/// A fully parsed reply, for the control path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Simple(String),
    Error(String),
    Integer(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Value>>),
}

/// Parses one complete reply at `buffer[at..]`; `None` when incomplete.
pub fn parse_value(buffer: &[u8], at: usize) -> Result<Option<(Value, usize)>, ProtocolError> {
    parse_value_at_depth(buffer, at, 0)
}

fn parse_value_at_depth(
    buffer: &[u8],
    at: usize,
    depth: usize,
) -> Result<Option<(Value, usize)>, ProtocolError> {
    if depth > NESTING_MAX {
        return Err(ProtocolError("arrays nested too deep".into()));
    }
    let Some(&tag) = buffer.get(at) else {
        return Ok(None);
    };
    let Some(line_end) = find_crlf(buffer, at + 1) else {
        return Ok(None);
    };
    let line = &buffer[at + 1..line_end];
    let mut position = line_end + 2;
    let text = || String::from_utf8_lossy(line).into_owned();
    let value = match tag {
        b'+' => Value::Simple(text()),
        b'-' => Value::Error(text()),
        b':' => Value::Integer(parse_int(line)?),
        b'$' => {
            let length = parse_int(line)?;
            if length < 0 {
                Value::Bulk(None)
            } else {
                let end = position + length as usize;
                if buffer.len() < end + 2 {
                    return Ok(None);
                }
                let bytes = buffer[position..end].to_vec();
                position = end + 2;
                Value::Bulk(Some(bytes))
            }
        }
        b'*' => {
            let count = parse_int(line)?;
            if count < 0 {
                Value::Array(None)
            } else {
                let mut items = Vec::with_capacity(count.min(1024) as usize);
                for _ in 0..count {
                    match parse_value_at_depth(buffer, position, depth + 1)? {
                        None => return Ok(None),
                        Some((item, next)) => {
                            items.push(item);
                            position = next;
                        }
                    }
                }
                Value::Array(Some(items))
            }
        }
        other => {
            return Err(ProtocolError(format!(
                "unexpected reply type byte {other:#04x}"
            )))
        }
    };
    Ok(Some((value, position)))
}

/// Appends `*count\r\n`.
pub fn write_array_header(buffer: &mut Vec<u8>, count: usize) {
    buffer.push(b'*');
    write_decimal(buffer, count as u64);
    buffer.extend_from_slice(b"\r\n");
}

/// Appends one bulk string.
pub fn write_bulk(buffer: &mut Vec<u8>, bytes: &[u8]) {
    buffer.push(b'$');
    write_decimal(buffer, bytes.len() as u64);
    buffer.extend_from_slice(b"\r\n");
    buffer.extend_from_slice(bytes);
    buffer.extend_from_slice(b"\r\n");
}

/// Appends the decimal digits of `value`.
pub fn write_decimal(buffer: &mut Vec<u8>, value: u64) {
    let mut digits = [0u8; 20];
    let mut index = digits.len();
    let mut rest = value;
    loop {
        index -= 1;
        digits[index] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    buffer.extend_from_slice(&digits[index..]);
}

/// Encodes a whole command from its arguments.
pub fn encode_command(arguments: &[&[u8]]) -> Vec<u8> {
    let mut buffer = Vec::new();
    write_array_header(&mut buffer, arguments.len());
    for argument in arguments {
        write_bulk(&mut buffer, argument);
    }
    buffer
}

/// Sends one command on a blocking stream and reads its full reply (control path only).
pub fn call<S: Read + Write>(stream: &mut S, arguments: &[&[u8]]) -> io::Result<Value> {
    stream.write_all(&encode_command(arguments))?;
    let mut buffer = Vec::with_capacity(4096);
    let mut chunk = [0u8; 16384];
    loop {
        match parse_value(&buffer, 0) {
            Ok(Some((value, _))) => return Ok(value),
            Ok(None) => {}
            Err(error) => return Err(io::Error::new(io::ErrorKind::InvalidData, error)),
        }
        let read = stream.read(&mut chunk)?;
        if read == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed before the reply was complete",
            ));
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_scalars_and_reports_errors() {
        assert_eq!(skip_reply(b"+OK\r\n", 0), Ok(Some((5, ReplyKind::Ok))));
        assert_eq!(skip_reply(b":12\r\n", 0), Ok(Some((5, ReplyKind::Ok))));
        assert_eq!(skip_reply(b"$-1\r\n", 0), Ok(Some((5, ReplyKind::Ok))));
        assert_eq!(
            skip_reply(b"$3\r\nabc\r\n+", 0),
            Ok(Some((9, ReplyKind::Ok)))
        );
        let error = b"-MOVED 3999 127.0.0.1:6381\r\n";
        assert_eq!(
            skip_reply(error, 0),
            Ok(Some((
                error.len(),
                ReplyKind::Error {
                    start: 1,
                    end: error.len() - 2
                }
            )))
        );
    }

    #[test]
    fn incomplete_replies_wait_for_more() {
        for partial in [
            &b""[..],
            b"+OK",
            b"+OK\r",
            b"$3\r\nab",
            b"$3\r\nabc\r",
            b"*2\r\n:1\r\n",
        ] {
            assert_eq!(skip_reply(partial, 0), Ok(None), "{partial:?}");
            assert_eq!(parse_value(partial, 0), Ok(None), "{partial:?}");
        }
    }

    #[test]
    fn skips_nested_arrays_and_errors_inside_them_are_not_the_reply() {
        let reply = b"*2\r\n*2\r\n$1\r\na\r\n-ERR x\r\n*0\r\n:7\r\n";
        let skipped = skip_reply(reply, 0);
        assert_eq!(skipped, Ok(Some((reply.len() - 4, ReplyKind::Ok))));
        assert_eq!(skip_reply(b"*-1\r\n", 0), Ok(Some((5, ReplyKind::Ok))));
    }

    #[test]
    fn rejects_garbage() {
        assert!(skip_reply(b"?\r\n", 0).is_err());
        assert!(skip_reply(b"$x\r\n", 0).is_err());
    }

    #[test]
    fn parses_cluster_slots_shape() {
        let reply = b"*1\r\n*3\r\n:0\r\n:5460\r\n*3\r\n$9\r\n127.0.0.1\r\n:7000\r\n$2\r\nid\r\n";
        let (value, end) = parse_value(reply, 0).unwrap().unwrap();
        assert_eq!(end, reply.len());
        let Value::Array(Some(ranges)) = value else {
            panic!("not an array")
        };
        assert_eq!(ranges.len(), 1);
    }

    #[test]
    fn encodes_commands() {
        assert_eq!(
            encode_command(&[b"GET", b"k"]),
            b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"
        );
        let mut buffer = Vec::new();
        write_decimal(&mut buffer, 0);
        write_decimal(&mut buffer, 1234567890);
        assert_eq!(buffer, b"01234567890");
    }
}
