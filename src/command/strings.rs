//! String commands, shard side.

use super::errors::{self, NOT_FLOAT, NOT_INTEGER, OVERFLOW, STRING_TOO_LONG, SYNTAX, WRONGTYPE};
use super::{parse_int, Db};
use crate::keyspace::{Entry, StrBytes, Value};
use crate::protocol::Arg;
use crate::protocol::Reply;
use bytes::Bytes;

/// Reads a string key: Ok(None) when missing, Err(WRONGTYPE) for another type.
pub fn read_string(db: &mut Db, key: &[u8]) -> Result<Option<Bytes>, Reply> {
    with_string(db, key, StrBytes::to_bytes)
}

/// `read_string`, handing the stored bytes to `read` instead of copying them.
fn with_string<R>(
    db: &mut Db,
    key: &[u8],
    read: impl FnOnce(&StrBytes) -> R,
) -> Result<Option<R>, Reply> {
    let now = db.now_ms;
    match db.keyspace.lookup_read(db.slot(key), key, now) {
        None => Ok(None),
        Some(entry) => match entry.value.as_str() {
            Some(bytes) => Ok(Some(read(bytes))),
            None => Err(Reply::error(WRONGTYPE)),
        },
    }
}

fn bulk_or_nil(value: Option<Bytes>) -> Reply {
    value.map_or(Reply::Nil, Reply::Bulk)
}

/// Stores a string, dropping any expiry unless `keep_ttl`.
pub fn store_string(db: &mut Db, key: &[u8], value: Value, expire_at_ms: u64, keep_ttl: bool) {
    let slot = db.slot(key);
    let now = db.now_ms;
    let mut entry = Entry::new(value, now);
    entry.set_expire_at_ms(expire_at_ms);
    if keep_ttl {
        if let Some(old) = db.keyspace.peek(slot, key, now) {
            entry.set_expire_at_ms(old.expire_at_ms());
        }
    }
    db.keyspace.insert(slot, key, entry);
}

pub fn get(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    // A short value goes into the reply itself: no `Bytes` made only to be
    // copied into the output and freed.
    let reply = with_string(db, &argv[1], |bytes| {
        Reply::short_bulk(bytes).unwrap_or_else(|| Reply::Bulk(bytes.to_bytes()))
    });
    match reply {
        Ok(reply) => reply.unwrap_or(Reply::Nil),
        Err(error) => error,
    }
}

#[derive(Default)]
struct SetOptions {
    nx: bool,
    xx: bool,
    get: bool,
    keep_ttl: bool,
    persist: bool,
    /// (unit is seconds, absolute, argument)
    expire: Option<(bool, bool, Bytes)>,
}

/// Redis's parseExtendedStringArgumentsOrReply for SET (`is_set`) and GETEX.
fn parse_set_options(args: &[Arg<'_>], is_set: bool) -> Result<SetOptions, Reply> {
    let mut options = SetOptions::default();
    let mut index = 0;
    while index < args.len() {
        let option = args[index].to_ascii_uppercase();
        let next = args.get(index + 1);
        let has_expire = options.expire.is_some();
        match option.as_slice() {
            b"NX" if is_set && !options.xx => options.nx = true,
            b"XX" if is_set && !options.nx => options.xx = true,
            b"GET" if is_set => options.get = true,
            b"KEEPTTL" if is_set && !options.persist && !has_expire => options.keep_ttl = true,
            b"PERSIST" if !is_set && !options.keep_ttl && !has_expire => options.persist = true,
            b"EX" | b"PX" | b"EXAT" | b"PXAT"
                if !options.keep_ttl && !options.persist && next.is_some() =>
            {
                // Repeating the same kind is allowed (the last wins); mixing kinds is not.
                let kind = (option[0] == b'E', option.len() == 4);
                if options
                    .expire
                    .as_ref()
                    .is_some_and(|(seconds, absolute, _)| (*seconds, *absolute) != kind)
                {
                    return Err(Reply::error(SYNTAX));
                }
                options.expire = next.map(|value| (kind.0, kind.1, value.to_bytes()));
                index += 1;
            }
            _ => return Err(Reply::error(SYNTAX)),
        }
        index += 1;
    }
    Ok(options)
}

/// Turns an EX/PX/EXAT/PXAT argument into an absolute time in milliseconds.
fn expire_at_ms(
    db: &Db,
    command: &str,
    seconds: bool,
    absolute: bool,
    arg: &[u8],
) -> Result<u64, Reply> {
    let value = parse_int(arg).ok_or(Reply::error(NOT_INTEGER))?;
    if value <= 0 || (seconds && value > i64::MAX / 1000) {
        return Err(errors::invalid_expire(command));
    }
    let mut when = if seconds { value * 1000 } else { value };
    if !absolute {
        when = when
            .checked_add(db.now_ms as i64)
            .ok_or_else(|| errors::invalid_expire(command))?;
    }
    Ok(when as u64)
}

pub fn set(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    if argv.len() == 3 {
        store_string(db, &argv[1], Value::string_copied(&argv[2]), 0, false);
        return Reply::ok();
    }
    let options = match parse_set_options(&argv[3..], true) {
        Ok(options) => options,
        Err(reply) => return reply,
    };
    let expire_at = match &options.expire {
        Some((seconds, absolute, arg)) => match expire_at_ms(db, "set", *seconds, *absolute, arg) {
            Ok(when) => when,
            Err(reply) => return reply,
        },
        None => 0,
    };
    let key = &argv[1];
    let old = if options.get {
        match read_string(db, key) {
            Ok(old) => old,
            Err(reply) => return reply,
        }
    } else {
        None
    };
    let now = db.now_ms;
    let exists = options.get && old.is_some() || db.keyspace.contains(db.slot(key), key, now);
    if (options.nx && exists) || (options.xx && !exists) {
        return if options.get {
            bulk_or_nil(old)
        } else {
            Reply::Nil
        };
    }
    store_string(
        db,
        key,
        Value::string_copied(&argv[2]),
        expire_at,
        options.keep_ttl,
    );
    if options.get {
        bulk_or_nil(old)
    } else {
        Reply::ok()
    }
}

pub fn setnx(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let now = db.now_ms;
    if db.keyspace.contains(db.slot(&argv[1]), &argv[1], now) {
        return Reply::Int(0);
    }
    store_string(db, &argv[1], Value::string_copied(&argv[2]), 0, false);
    Reply::Int(1)
}

fn setex_generic(db: &mut Db, argv: &[Arg<'_>], command: &str, seconds: bool) -> Reply {
    match expire_at_ms(db, command, seconds, false, &argv[2]) {
        Ok(when) => {
            store_string(db, &argv[1], Value::string_copied(&argv[3]), when, false);
            Reply::ok()
        }
        Err(reply) => reply,
    }
}

pub fn setex(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    setex_generic(db, argv, "setex", true)
}

pub fn psetex(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    setex_generic(db, argv, "psetex", false)
}

pub fn getset(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    match read_string(db, &argv[1]) {
        Ok(old) => {
            store_string(db, &argv[1], Value::string_copied(&argv[2]), 0, false);
            bulk_or_nil(old)
        }
        Err(reply) => reply,
    }
}

pub fn getdel(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    match read_string(db, &argv[1]) {
        Ok(Some(value)) => {
            db.keyspace.remove(db.slot(&argv[1]), &argv[1]);
            Reply::Bulk(value)
        }
        Ok(None) => Reply::Nil,
        Err(reply) => reply,
    }
}

pub fn getex(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let options = match parse_set_options(&argv[2..], false) {
        Ok(options) => options,
        Err(reply) => return reply,
    };
    let key = &argv[1];
    let value = match read_string(db, key) {
        Ok(Some(value)) => value,
        Ok(None) => return Reply::Nil,
        Err(reply) => return reply,
    };
    // Like Redis, the expire time is checked only once the key is known to hold a string.
    let expire_at = match &options.expire {
        Some((seconds, absolute, arg)) => match expire_at_ms(db, "getex", *seconds, *absolute, arg)
        {
            Ok(when) => Some(when),
            Err(reply) => return reply,
        },
        None => None,
    };
    let slot = db.slot(key);
    if let Some(when) = expire_at {
        if when <= db.now_ms {
            db.keyspace.remove(slot, key);
        } else {
            db.keyspace.set_expire(slot, key, when);
        }
    } else if options.persist {
        db.keyspace.set_expire(slot, key, 0);
    }
    Reply::Bulk(value)
}

pub fn mget_local(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    Reply::Array(
        argv[1..]
            .iter()
            .map(|key| match read_string(db, key) {
                Ok(Some(value)) => Reply::Bulk(value),
                _ => Reply::Nil,
            })
            .collect(),
    )
}

pub fn mset_local(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    for pair in argv[1..].chunks_exact(2) {
        store_string(db, &pair[0], Value::string_copied(&pair[1]), 0, false);
    }
    Reply::ok()
}

/// MSETNX's first phase on one core: 1 if any of the keys exists.
pub fn any_exists(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let now = db.now_ms;
    let found = argv[1..]
        .iter()
        .any(|key| db.keyspace.contains(db.slot(key), key, now));
    Reply::Int(found as i64)
}

pub fn msetnx_local(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let keys: Vec<Arg<'_>> = std::iter::once(argv[0])
        .chain(argv[1..].iter().step_by(2).copied())
        .collect();
    if any_exists(db, &keys) == Reply::Int(1) {
        return Reply::Int(0);
    }
    mset_local(db, argv);
    Reply::Int(1)
}

pub fn append(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let old = match read_string(db, &argv[1]) {
        Ok(old) => old,
        Err(reply) => return reply,
    };
    let total = old.as_ref().map_or(0, Bytes::len) + argv[2].len();
    if total as u64 > db.config.proto_max_bulk_len {
        return Reply::error(STRING_TOO_LONG);
    }
    let value = match old {
        None => Value::string_copied(&argv[2]),
        Some(old) => {
            let mut joined = Vec::with_capacity(total);
            joined.extend_from_slice(&old);
            joined.extend_from_slice(&argv[2]);
            Value::raw_string(Bytes::from(joined))
        }
    };
    store_string(db, &argv[1], value, 0, true);
    Reply::Int(total as i64)
}

pub fn strlen(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    match read_string(db, &argv[1]) {
        Ok(value) => Reply::Int(value.map_or(0, |v| v.len() as i64)),
        Err(reply) => reply,
    }
}

fn incr_by(db: &mut Db, key: &[u8], increment: i64) -> Reply {
    let current = match read_string(db, key) {
        Ok(None) => 0,
        Ok(Some(value)) => match parse_int(&value) {
            Some(number) => number,
            None => return Reply::error(NOT_INTEGER),
        },
        Err(reply) => return reply,
    };
    let Some(result) = current.checked_add(increment) else {
        return Reply::error(OVERFLOW);
    };
    let text = Bytes::copy_from_slice(crate::protocol::reply::itoa_buf(result).as_bytes_mut());
    store_string(db, key, Value::string(text), 0, true);
    Reply::Int(result)
}

pub fn incr(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    incr_by(db, &argv[1], 1)
}

pub fn decr(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    incr_by(db, &argv[1], -1)
}

pub fn incrby(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    match parse_int(&argv[2]) {
        Some(increment) => incr_by(db, &argv[1], increment),
        None => Reply::error(NOT_INTEGER),
    }
}

pub fn decrby(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    match parse_int(&argv[2]) {
        Some(i64::MIN) => Reply::error("ERR decrement would overflow"),
        Some(decrement) => incr_by(db, &argv[1], -decrement),
        None => Reply::error(NOT_INTEGER),
    }
}

/// Redis's string2ld: a float with no surrounding spaces and not NaN.
pub fn parse_float(arg: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(arg).ok()?;
    if text.is_empty()
        || text.starts_with(char::is_whitespace)
        || text.ends_with(char::is_whitespace)
    {
        return None;
    }
    let value: f64 = text.parse().ok()?;
    (!value.is_nan()).then_some(value)
}

extern "C" {
    fn slotcore_incrbyfloat(
        current: *const u8,
        current_len: usize,
        increment: *const u8,
        increment_len: usize,
        out: *mut u8,
        out_len: usize,
    ) -> std::os::raw::c_long;
    fn slotcore_human_double(value: f64, out: *mut u8, out_len: usize) -> std::os::raw::c_long;
}

/// A double as Redis's addReplyHumanLongDouble writes it (GEOPOS's
/// coordinates): "%.17Lf" of it as a long double, without trailing zeros.
pub fn human_long_double(value: f64) -> String {
    // A double's "%.17Lf" is at most 309 integer digits, the point and 17.
    let mut out = vec![0u8; 400];
    // SAFETY: the helper writes at most out.len() bytes into out.
    let written = unsafe { slotcore_human_double(value, out.as_mut_ptr(), out.len()) };
    out.truncate(written.max(0) as usize);
    String::from_utf8(out).unwrap_or_default()
}

/// INCRBYFLOAT's arithmetic as Redis does it, in C's long double (80-bit on
/// x86-64): strtold, add, "%.17Lf" without trailing zeros. `current` is
/// None for a missing key (0).
pub fn long_double_add(current: Option<&[u8]>, increment: &[u8]) -> Result<String, &'static str> {
    let mut out = vec![0u8; 6 * 1024];
    let (current_ptr, current_len) =
        current.map_or((std::ptr::null(), 0), |c| (c.as_ptr(), c.len()));
    // SAFETY: the pointers and lengths describe live slices; the helper
    // writes at most out.len() bytes into out.
    let written = unsafe {
        slotcore_incrbyfloat(
            current_ptr,
            current_len,
            increment.as_ptr(),
            increment.len(),
            out.as_mut_ptr(),
            out.len(),
        )
    };
    match written {
        -3 => Err("ERR increment would produce NaN or Infinity"),
        n if n < 0 => Err(NOT_FLOAT),
        n => {
            out.truncate(n as usize);
            String::from_utf8(out).map_err(|_| NOT_FLOAT)
        }
    }
}

pub fn incrbyfloat(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let current = match read_string(db, &argv[1]) {
        Ok(current) => current,
        Err(reply) => return reply,
    };
    match long_double_add(current.as_deref(), &argv[2]) {
        Ok(text) => {
            let text = Bytes::from(text);
            store_string(db, &argv[1], Value::formatted_string(text.clone()), 0, true);
            Reply::Bulk(text)
        }
        Err(error) => Reply::error(error),
    }
}

pub fn getrange(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let (Some(mut start), Some(mut end)) = (parse_int(&argv[2]), parse_int(&argv[3])) else {
        return Reply::error(NOT_INTEGER);
    };
    let value = match read_string(db, &argv[1]) {
        Ok(Some(value)) => value,
        Ok(None) => return Reply::Bulk(Bytes::new()),
        Err(reply) => return reply,
    };
    let length = value.len() as i64;
    if start < 0 && end < 0 && start > end {
        return Reply::Bulk(Bytes::new());
    }
    if start < 0 {
        start += length;
    }
    if end < 0 {
        end += length;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= length {
        end = length - 1;
    }
    if start > end || length == 0 {
        return Reply::Bulk(Bytes::new());
    }
    Reply::Bulk(value.slice(start as usize..end as usize + 1))
}

pub fn setrange(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let Some(offset) = parse_int(&argv[2]) else {
        return Reply::error(NOT_INTEGER);
    };
    if offset < 0 {
        return Reply::error("ERR offset is out of range");
    }
    let old = match read_string(db, &argv[1]) {
        Ok(old) => old,
        Err(reply) => return reply,
    };
    let patch = &argv[3];
    if patch.is_empty() {
        return Reply::Int(old.map_or(0, |v| v.len() as i64));
    }
    let offset = offset as u64;
    if offset + patch.len() as u64 > db.config.proto_max_bulk_len {
        return Reply::error(STRING_TOO_LONG);
    }
    let offset = offset as usize;
    let mut bytes = old.map(|v| v.to_vec()).unwrap_or_default();
    if bytes.len() < offset + patch.len() {
        bytes.resize(offset + patch.len(), 0);
    }
    bytes[offset..offset + patch.len()].copy_from_slice(patch);
    let length = bytes.len() as i64;
    store_string(db, &argv[1], Value::raw_string(Bytes::from(bytes)), 0, true);
    Reply::Int(length)
}

pub fn lcs(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let mut values = Vec::with_capacity(2);
    for key in &argv[1..3] {
        let now = db.now_ms;
        match db.keyspace.lookup_read(db.slot(key), key, now) {
            None => values.push(Bytes::new()),
            Some(entry) => match entry.value.as_str() {
                Some(bytes) => values.push(bytes.to_bytes()),
                None => return Reply::error("ERR The specified keys must contain string values"),
            },
        }
    }
    let limit = db.config.proto_max_bulk_len;
    lcs_reply(&values[0], &values[1], &argv[3..], limit)
}

/// The LCS reply for two strings, with LCS's options.
/// LCS over two values; `table_bytes_max` bounds the table (Redis:
/// proto-max-bulk-len), so two long strings cannot exhaust memory.
pub fn lcs_reply(a: &[u8], b: &[u8], options: &[Arg<'_>], table_bytes_max: u64) -> Reply {
    let (mut want_len, mut want_idx, mut with_match_len, mut min_match_len) =
        (false, false, false, 0i64);
    let mut index = 0;
    while index < options.len() {
        let option = options[index].to_ascii_uppercase();
        match option.as_slice() {
            b"IDX" => want_idx = true,
            b"LEN" => want_len = true,
            b"WITHMATCHLEN" => with_match_len = true,
            b"MINMATCHLEN" if index + 1 < options.len() => {
                match parse_int(&options[index + 1]) {
                    Some(value) => min_match_len = value.max(0),
                    None => return Reply::error(NOT_INTEGER),
                }
                index += 1;
            }
            _ => return Reply::error(SYNTAX),
        }
        index += 1;
    }
    if want_len && want_idx {
        return Reply::error("ERR If you want both the length and indexes, please just use IDX.");
    }
    // table[i][j] = LCS length of a[..i] and b[..j].
    let (rows, cols) = (a.len() + 1, b.len() + 1);
    let table_bytes = (rows as u64)
        .saturating_mul(cols as u64)
        .saturating_mul(std::mem::size_of::<u32>() as u64);
    if table_bytes > table_bytes_max {
        return Reply::error(
            "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
        );
    }
    let mut table = vec![0u32; rows * cols];
    for i in 1..rows {
        for j in 1..cols {
            table[i * cols + j] = if a[i - 1] == b[j - 1] {
                table[(i - 1) * cols + j - 1] + 1
            } else {
                table[(i - 1) * cols + j].max(table[i * cols + j - 1])
            };
        }
    }
    let length = table[rows * cols - 1] as usize;
    if want_len {
        return Reply::Int(length as i64);
    }
    let mut result = vec![0u8; length];
    let mut matches = Vec::new();
    let (mut i, mut j, mut k) = (a.len(), b.len(), length);
    // A match range being built: (a_start, a_end, b_start, b_end).
    let mut range: Option<(usize, usize, usize, usize)> = None;
    while i > 0 && j > 0 {
        if a[i - 1] == b[j - 1] {
            result[k - 1] = a[i - 1];
            range = match range {
                Some((a_start, a_end, b_start, b_end)) if a_start == i && b_start == j => {
                    Some((i - 1, a_end, j - 1, b_end))
                }
                other => {
                    if let Some(done) = other {
                        push_match(&mut matches, done, min_match_len, with_match_len);
                    }
                    Some((i - 1, i - 1, j - 1, j - 1))
                }
            };
            i -= 1;
            j -= 1;
            k -= 1;
        } else if table[(i - 1) * cols + j] > table[i * cols + j - 1] {
            i -= 1;
        } else {
            j -= 1;
        }
    }
    if let Some(done) = range {
        push_match(&mut matches, done, min_match_len, with_match_len);
    }
    if want_idx {
        Reply::Map(vec![
            (Reply::bulk_static("matches"), Reply::Array(matches)),
            (Reply::bulk_static("len"), Reply::Int(length as i64)),
        ])
    } else {
        Reply::Bulk(Bytes::from(result))
    }
}

fn push_match(
    matches: &mut Vec<Reply>,
    range: (usize, usize, usize, usize),
    min_len: i64,
    with_len: bool,
) {
    let (a_start, a_end, b_start, b_end) = range;
    let match_len = (a_end - a_start + 1) as i64;
    if match_len < min_len {
        return;
    }
    let mut item = vec![
        Reply::Array(vec![Reply::Int(a_start as i64), Reply::Int(a_end as i64)]),
        Reply::Array(vec![Reply::Int(b_start as i64), Reply::Int(b_end as i64)]),
    ];
    if with_len {
        item.push(Reply::Int(match_len));
    }
    matches.push(Reply::Array(item));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lcs_matches_redis_examples() {
        let reply = lcs_reply(b"ohmytext", b"mynewtext", &[], u64::MAX);
        assert_eq!(reply, Reply::Bulk(Bytes::from_static(b"mytext")));
        assert_eq!(
            lcs_reply(
                b"ohmytext",
                b"mynewtext",
                &crate::protocol::arg::test_args(&["LEN"]),
                u64::MAX
            ),
            Reply::Int(6)
        );
        let idx = lcs_reply(
            b"ohmytext",
            b"mynewtext",
            &crate::protocol::arg::test_args(&["IDX"]),
            u64::MAX,
        );
        let Reply::Map(pairs) = idx else {
            panic!("map expected")
        };
        let Reply::Array(matches) = &pairs[0].1 else {
            panic!("array expected")
        };
        let pair = |a: i64, b: i64| Reply::Array(vec![Reply::Int(a), Reply::Int(b)]);
        assert_eq!(matches[0], Reply::Array(vec![pair(4, 7), pair(5, 8)]));
        assert_eq!(matches[1], Reply::Array(vec![pair(2, 3), pair(0, 1)]));
    }

    #[test]
    fn long_double_addition_prints_like_redis() {
        assert_eq!(long_double_add(Some(b"10.5"), b"0.1").unwrap(), "10.6");
        assert_eq!(long_double_add(Some(b"0.1"), b"0.2").unwrap(), "0.3");
        assert_eq!(long_double_add(None, b"3.0e3").unwrap(), "3000");
        assert_eq!(long_double_add(None, b"0x10").unwrap(), "16");
        assert_eq!(long_double_add(None, b"1e-20").unwrap(), "0");
        assert_eq!(long_double_add(None, b"-0").unwrap(), "0");
        assert_eq!(long_double_add(Some(b"abc"), b"1"), Err(NOT_FLOAT));
        assert_eq!(long_double_add(None, b" 1"), Err(NOT_FLOAT));
        assert_eq!(long_double_add(None, b"nan"), Err(NOT_FLOAT));
        assert_eq!(
            long_double_add(None, b"inf"),
            Err("ERR increment would produce NaN or Infinity")
        );
        assert!(long_double_add(None, b"1e400")
            .unwrap()
            .starts_with("1000000000"));
    }
}
