//! Stream commands, shard side (Redis's `t_stream.c`): XADD, XLEN, XRANGE,
//! XREVRANGE, XDEL, XTRIM, XSETID, and XREAD / XREADGROUP for the keys of
//! one core (the coordinator splits them when their keys are on several,
//! and blocks them: `shard::streams`). The consumer-group commands are in
//! `stream_groups`; the data is `keyspace::stream`.

use super::errors::{self, NOT_INTEGER, SYNTAX, WRONGTYPE};
use super::propagate::GroupRecord;
use super::{parse_int, typed_value, Db};
use crate::config::notify::STREAM;
use crate::keyspace::stream::{
    AppendError, EntryView, Group, NodeLimits, Stream, StreamId, TrimStrategy, ENTRIES_READ_UNKNOWN,
};
use crate::keyspace::{Entry, Value};
use crate::protocol::reply::{encode_bulk, encode_header};
use crate::protocol::Arg;
use crate::protocol::Reply;
use bytes::Bytes;

pub const INVALID_ID: &str = "ERR Invalid stream ID specified as stream command argument";

/// The node limits from the config.
pub fn node_limits(db: &Db) -> NodeLimits {
    NodeLimits {
        max_bytes: db.config.stream_node_max_bytes,
        max_entries: db.config.stream_node_max_entries,
    }
}

/// Redis's string2ull: string2ll when that reads it (negative is out of
/// range), else strtoull's reading (leading spaces, a sign, digits).
fn string2ull(text: &[u8]) -> Option<u64> {
    if let Some(value) = crate::protocol::decode::parse_i64_strict(text) {
        return u64::try_from(value).ok();
    }
    let start = text
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r'))?;
    let mut rest = &text[start..];
    let mut negative = false;
    if let Some((&sign, tail)) = rest.split_first() {
        if sign == b'+' || sign == b'-' {
            negative = sign == b'-';
            rest = tail;
        }
    }
    if rest.is_empty() || !rest.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut value: u64 = 0;
    for digit in rest {
        value = value
            .checked_mul(10)?
            .checked_add(u64::from(digit - b'0'))?;
    }
    Some(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

/// What an id argument says (streamGenericParseIDOrReply).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParsedId {
    pub id: StreamId,
    /// False for `ms-*` (XADD's own form).
    pub seq_given: bool,
}

/// Parses an id argument: `-` and `+` unless `strict`, `ms-seq`, `ms`
/// (sequence `missing_seq`), and `ms-*` when `allow_star_seq`.
pub fn parse_id_full(
    arg: &[u8],
    missing_seq: u64,
    strict: bool,
    allow_star_seq: bool,
) -> Result<ParsedId, Reply> {
    let invalid = || Reply::error(INVALID_ID);
    if arg.len() > 127 {
        return Err(invalid());
    }
    // The C string ends at a NUL.
    let text = &arg[..arg.iter().position(|&b| b == 0).unwrap_or(arg.len())];
    let given = |id| {
        Ok(ParsedId {
            id,
            seq_given: true,
        })
    };
    match text {
        b"-" | b"+" if strict => return Err(invalid()),
        b"-" => return given(StreamId::MIN),
        b"+" => return given(StreamId::MAX),
        _ => {}
    }
    match text.iter().position(|&b| b == b'-') {
        None => given(StreamId::new(
            string2ull(text).ok_or_else(invalid)?,
            missing_seq,
        )),
        Some(dash) => {
            let ms = string2ull(&text[..dash]).ok_or_else(invalid)?;
            let seq_text = &text[dash + 1..];
            if allow_star_seq && seq_text == b"*" {
                return Ok(ParsedId {
                    id: StreamId::new(ms, 0),
                    seq_given: false,
                });
            }
            given(StreamId::new(ms, string2ull(seq_text).ok_or_else(invalid)?))
        }
    }
}

/// An id argument where `-` and `+` are not ids (streamParseStrictIDOrReply).
pub fn parse_strict_id(arg: &[u8], missing_seq: u64) -> Result<StreamId, Reply> {
    parse_id_full(arg, missing_seq, true, false).map(|p| p.id)
}

/// An id argument where `-` and `+` are the smallest and largest ids.
pub fn parse_id(arg: &[u8], missing_seq: u64) -> Result<StreamId, Reply> {
    parse_id_full(arg, missing_seq, false, false).map(|p| p.id)
}

/// A range bound (streamParseIntervalIDOrReply): `(` makes it exclusive.
fn parse_interval(arg: &[u8], missing_seq: u64) -> Result<(StreamId, bool), Reply> {
    if arg.len() > 1 && arg[0] == b'(' {
        Ok((parse_strict_id(&arg[1..], missing_seq)?, true))
    } else {
        Ok((parse_id(arg, missing_seq)?, false))
    }
}

/// A stream for reading: Ok(None) when the key is missing.
pub fn read_stream<'a>(db: &'a mut Db, key: &[u8]) -> Result<Option<&'a Stream>, Reply> {
    let found = typed_value(db, key, false, |value| match value {
        Value::Stream(stream) => Some(&mut **stream),
        _ => None,
    })?;
    Ok(found.map(|stream| &*stream))
}

/// A stream for writing: Ok(None) when the key is missing.
pub fn write_stream<'a>(db: &'a mut Db, key: &[u8]) -> Result<Option<&'a mut Stream>, Reply> {
    typed_value(db, key, true, |value| match value {
        Value::Stream(stream) => Some(&mut **stream),
        _ => None,
    })
}

/// A stream for writing, created empty when missing
/// (streamTypeLookupWriteOrCreate).
pub fn write_or_create_stream<'a>(db: &'a mut Db, key: &[u8]) -> Result<&'a mut Stream, Reply> {
    let (slot, now) = (db.slot(key), db.now_ms);
    let exists = match db.keyspace.lookup_write(slot, key, now) {
        None => false,
        Some(Entry {
            value: Value::Stream(_),
            ..
        }) => true,
        Some(_) => return Err(Reply::error(WRONGTYPE)),
    };
    if !exists {
        let entry = Entry::new(Value::Stream(Box::default()), now);
        db.keyspace.insert(slot, key, entry);
    }
    match write_stream(db, key)? {
        Some(stream) => Ok(stream),
        None => Err(Reply::error(WRONGTYPE)),
    }
}

/// Writes an id as a bulk string ("ms-seq").
fn encode_id(id: StreamId, out: &mut Vec<u8>) {
    let (mut ms, mut seq) = (itoa_u64(id.ms), itoa_u64(id.seq));
    let (ms, seq) = (ms.as_bytes(), seq.as_bytes());
    encode_header(b'$', (ms.len() + 1 + seq.len()) as i64, out);
    out.extend_from_slice(ms);
    out.push(b'-');
    out.extend_from_slice(seq);
    out.extend_from_slice(b"\r\n");
}

/// A u64's decimal digits on the stack.
struct U64Text {
    buf: [u8; 20],
    start: usize,
}

impl U64Text {
    fn as_bytes(&mut self) -> &[u8] {
        &self.buf[self.start..]
    }
}

fn itoa_u64(mut value: u64) -> U64Text {
    let mut text = U64Text {
        buf: [0; 20],
        start: 20,
    };
    loop {
        text.start -= 1;
        text.buf[text.start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            return text;
        }
    }
}

/// Writes an entry as replies carry it: [id, [field, value, ...]].
fn encode_entry(entry: EntryView<'_>, out: &mut Vec<u8>) {
    out.extend_from_slice(b"*2\r\n");
    encode_id(entry.id, out);
    encode_header(b'*', (entry.len() * 2) as i64, out);
    for item in entry.items() {
        encode_bulk(item, out);
    }
}

/// Entries as one array, encoded at once (the same in RESP2 and RESP3).
pub fn encode_entries<'a>(entries: impl Iterator<Item = EntryView<'a>>) -> Reply {
    let mut body = Vec::with_capacity(256);
    let mut count = 0;
    for entry in entries {
        encode_entry(entry, &mut body);
        count += 1;
    }
    entries_array(count, &body)
}

/// The array of `count` encoded entries in `body`.
fn entries_array(count: i64, body: &[u8]) -> Reply {
    let mut out = Vec::with_capacity(body.len() + 16);
    encode_header(b'*', count, &mut out);
    out.extend_from_slice(body);
    Reply::Encoded(Bytes::from(out))
}

/// An entry as replies carry it: [id, [field, value, ...]].
pub fn entry_reply(entry: EntryView<'_>) -> Reply {
    Reply::Array(vec![
        Reply::Bulk(entry.id.to_bytes()),
        Reply::Array(
            entry
                .items()
                .map(|item| Reply::Bulk(Bytes::copy_from_slice(item)))
                .collect(),
        ),
    ])
}

/// streamReplyWithRange without a group: `count` 0 is no limit.
pub fn range_reply(
    stream: &Stream,
    start: StreamId,
    end: StreamId,
    count: usize,
    rev: bool,
) -> Reply {
    let limit = if count == 0 { usize::MAX } else { count };
    if rev {
        encode_entries(stream.range_rev(start, end).take(limit))
    } else {
        encode_entries(stream.range(start, end).take(limit))
    }
}

/// The trimming part of XADD and XTRIM (streamAddTrimArgs).
#[derive(Clone, Copy, Debug)]
pub struct AddTrim {
    pub id: Option<ParsedId>,
    pub no_mkstream: bool,
    pub strategy: Option<TrimStrategy>,
    pub approx: bool,
    pub limit: u64,
}

/// streamParseAddOrTrimArgsOrReply: the options, and for XADD the index
/// of the id argument.
pub fn parse_add_trim(db: &Db, argv: &[Arg<'_>], xadd: bool) -> Result<(AddTrim, usize), Reply> {
    let mut args = AddTrim {
        id: None,
        no_mkstream: false,
        strategy: None,
        approx: false,
        limit: 0,
    };
    let mut limit_given = false;
    let mut i = 2;
    let both = "ERR syntax error, MAXLEN and MINID options at the same time are not compatible";
    while i < argv.len() {
        let more = argv.len() - 1 - i;
        let opt = &argv[i][..];
        if xadd && opt == b"*" {
            break;
        } else if (opt.eq_ignore_ascii_case(b"maxlen") || opt.eq_ignore_ascii_case(b"minid"))
            && more > 0
        {
            if args.strategy.is_some() {
                return Err(Reply::error(both));
            }
            args.approx = false;
            let next = &argv[i + 1][..];
            if more >= 2 && next == b"~" {
                args.approx = true;
                i += 1;
            } else if more >= 2 && next == b"=" {
                i += 1;
            }
            let value = &argv[i + 1];
            if opt.eq_ignore_ascii_case(b"maxlen") {
                let max = parse_int(value).ok_or_else(|| Reply::error(NOT_INTEGER))?;
                if max < 0 {
                    return Err(Reply::error("ERR The MAXLEN argument must be >= 0."));
                }
                args.strategy = Some(TrimStrategy::MaxLen(max as u64));
            } else {
                args.strategy = Some(TrimStrategy::MinId(parse_strict_id(value, 0)?));
            }
            i += 1;
        } else if opt.eq_ignore_ascii_case(b"limit") && more > 0 {
            let limit = parse_int(&argv[i + 1]).ok_or_else(|| Reply::error(NOT_INTEGER))?;
            if limit < 0 {
                return Err(Reply::error("ERR The LIMIT argument must be >= 0."));
            }
            args.limit = limit as u64;
            limit_given = true;
            i += 1;
        } else if xadd && opt.eq_ignore_ascii_case(b"nomkstream") {
            args.no_mkstream = true;
        } else if xadd {
            args.id = Some(parse_id_full(opt, 0, true, true)?);
            break;
        } else {
            return Err(Reply::error(SYNTAX));
        }
        i += 1;
    }
    if args.limit != 0 && args.strategy.is_none() {
        return Err(Reply::error(
            "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy",
        ));
    }
    if !xadd && args.strategy.is_none() {
        return Err(Reply::error(
            "ERR syntax error, XTRIM must be called with a trimming strategy",
        ));
    }
    if limit_given {
        if !args.approx {
            return Err(Reply::error(
                "ERR syntax error, LIMIT cannot be used without the special ~ option",
            ));
        }
    } else if args.approx {
        let per_node = db.config.stream_node_max_entries as i64;
        let limit = per_node.saturating_mul(100);
        args.limit = if limit <= 0 {
            10_000
        } else {
            limit.min(1_000_000) as u64
        };
    } else {
        args.limit = 0;
    }
    Ok((args, i))
}

/// XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] *|id field value ...
pub fn xadd(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let (args, id_at) = match parse_add_trim(db, argv, true) {
        Ok(parsed) => parsed,
        Err(reply) => return reply,
    };
    let fields_at = id_at + 1;
    if argv.len() < fields_at + 2 || !(argv.len() - fields_at).is_multiple_of(2) {
        return errors::wrong_arity("xadd");
    }
    if let Some(given) = args.id {
        if given.seq_given && given.id.is_zero() {
            return Reply::error("ERR The ID specified in XADD must be greater than 0-0");
        }
    }
    let limits = node_limits(db);
    let now = db.now_ms;
    let key = &argv[1];
    let existed = match write_stream(db, key) {
        Ok(found) => found.is_some(),
        Err(reply) => return reply,
    };
    if args.no_mkstream && !existed {
        return Reply::Nil;
    }
    let stream = match write_or_create_stream(db, key) {
        Ok(stream) => stream,
        Err(reply) => return reply,
    };
    if stream.last_id == StreamId::MAX {
        return Reply::error(
            "ERR The stream has exhausted the last possible ID, unable to add more items",
        );
    }
    let items: Vec<&[u8]> = argv[fields_at..].iter().map(|a| &a[..]).collect();
    let appended = stream
        .next_id(now, args.id.map(|p| (p.id, p.seq_given)))
        .and_then(|id| stream.append(id, &items, limits).map(|()| id));
    let id = match appended {
        Ok(id) => id,
        Err(error) => {
            // Only a payload too large fails on a new stream; leave no
            // empty key behind it.
            if !existed {
                let slot = db.slot(key);
                db.keyspace.remove(slot, key);
            }
            return Reply::error(match error {
                AppendError::IdTooSmall => {
                    "ERR The ID specified in XADD is equal or smaller than the target stream top item"
                }
                AppendError::TooLarge => "ERR Elements are too large to be stored",
            });
        }
    };
    stream.signals += 1;
    let trimmed = match args.strategy {
        Some(strategy) => stream.trim(strategy, args.approx, args.limit),
        None => 0,
    };
    db.notify(STREAM, "xadd", key);
    if trimmed > 0 {
        db.notify(STREAM, "xtrim", key);
    }
    Reply::Bulk(id.to_bytes())
}

pub fn xlen(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    match read_stream(db, &argv[1]) {
        Ok(stream) => Reply::Int(stream.map_or(0, |s| s.len() as i64)),
        Err(reply) => reply,
    }
}

fn range_command(db: &mut Db, argv: &[Arg<'_>], rev: bool) -> Reply {
    let (start_arg, end_arg) = if rev {
        (&argv[3], &argv[2])
    } else {
        (&argv[2], &argv[3])
    };
    let parsed = (|| {
        let (mut start, start_exclusive) = parse_interval(start_arg, 0)?;
        if start_exclusive {
            start = start
                .incr()
                .ok_or_else(|| Reply::error("ERR invalid start ID for the interval"))?;
        }
        let (mut end, end_exclusive) = parse_interval(end_arg, u64::MAX)?;
        if end_exclusive {
            end = end
                .decr()
                .ok_or_else(|| Reply::error("ERR invalid end ID for the interval"))?;
        }
        let mut count: i64 = -1;
        let mut j = 4;
        while j < argv.len() {
            if argv[j].eq_ignore_ascii_case(b"COUNT") && j + 1 < argv.len() {
                count = parse_int(&argv[j + 1])
                    .ok_or_else(|| Reply::error(NOT_INTEGER))?
                    .max(0);
                j += 2;
            } else {
                return Err(Reply::error(SYNTAX));
            }
        }
        Ok((start, end, count))
    })();
    let (start, end, count) = match parsed {
        Ok(parsed) => parsed,
        Err(reply) => return reply,
    };
    match read_stream(db, &argv[1]) {
        Err(reply) => reply,
        Ok(None) => Reply::Array(Vec::new()),
        Ok(Some(_)) if count == 0 => Reply::NilArray,
        Ok(Some(stream)) => range_reply(stream, start, end, count.max(0) as usize, rev),
    }
}

pub fn xrange(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    range_command(db, argv, false)
}

pub fn xrevrange(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    range_command(db, argv, true)
}

pub fn xdel(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let stream = match write_stream(db, &argv[1]) {
        Ok(Some(stream)) => stream,
        Ok(None) => return Reply::Int(0),
        Err(reply) => return reply,
    };
    let mut ids = Vec::with_capacity(argv.len() - 2);
    for arg in &argv[2..] {
        match parse_strict_id(arg, 0) {
            Ok(id) => ids.push(id),
            Err(reply) => return reply,
        }
    }
    let mut deleted = 0;
    let mut first_entry = false;
    for id in ids {
        if stream.delete(id) {
            first_entry |= id == stream.first_id;
            if id > stream.max_deleted_entry_id {
                stream.max_deleted_entry_id = id;
            }
            deleted += 1;
        }
    }
    if deleted > 0 {
        if stream.is_empty() {
            stream.first_id = StreamId::MIN;
        } else if first_entry {
            stream.refresh_first_id();
        }
        db.notify(STREAM, "xdel", &argv[1]);
    }
    Reply::Int(deleted)
}

pub fn xtrim(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let (args, _) = match parse_add_trim(db, argv, false) {
        Ok(parsed) => parsed,
        Err(reply) => return reply,
    };
    let stream = match write_stream(db, &argv[1]) {
        Ok(Some(stream)) => stream,
        Ok(None) => return Reply::Int(0),
        Err(reply) => return reply,
    };
    let Some(strategy) = args.strategy else {
        return Reply::Int(0);
    };
    let deleted = stream.trim(strategy, args.approx, args.limit);
    if deleted > 0 {
        db.notify(STREAM, "xtrim", &argv[1]);
    }
    Reply::Int(deleted as i64)
}

/// XSETID key last-id [ENTRIESADDED entries-added] [MAXDELETEDID max-deleted-id]
pub fn xsetid(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let parsed = (|| {
        let id = parse_strict_id(&argv[2], 0)?;
        let mut entries_added: i64 = -1;
        let mut max_deleted = StreamId::MIN;
        let mut i = 3;
        while i < argv.len() {
            let more = argv.len() - 1 - i;
            if argv[i].eq_ignore_ascii_case(b"ENTRIESADDED") && more > 0 {
                entries_added = parse_int(&argv[i + 1]).ok_or_else(|| Reply::error(NOT_INTEGER))?;
                if entries_added < 0 {
                    return Err(Reply::error("ERR entries_added must be positive"));
                }
            } else if argv[i].eq_ignore_ascii_case(b"MAXDELETEDID") && more > 0 {
                max_deleted = parse_strict_id(&argv[i + 1], 0)?;
                if id < max_deleted {
                    return Err(Reply::error(
                        "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id",
                    ));
                }
            } else {
                return Err(Reply::error(SYNTAX));
            }
            i += 2;
        }
        Ok((id, entries_added, max_deleted))
    })();
    let (id, entries_added, max_deleted) = match parsed {
        Ok(parsed) => parsed,
        Err(reply) => return reply,
    };
    let stream = match write_stream(db, &argv[1]) {
        Ok(Some(stream)) => stream,
        Ok(None) => return Reply::error("ERR no such key"),
        Err(reply) => return reply,
    };
    if !stream.is_empty() {
        let top = stream.last_entry().map_or(StreamId::MIN, |e| e.id);
        if id < top {
            return Reply::error(
                "ERR The ID specified in XSETID is smaller than the target stream top item",
            );
        }
        if entries_added != -1 && stream.len() > entries_added as u64 {
            return Reply::error(
                "ERR The entries_added specified in XSETID is smaller than the target stream length",
            );
        }
    }
    stream.last_id = id;
    if entries_added != -1 {
        stream.entries_added = entries_added as u64;
    }
    if !max_deleted.is_zero() {
        stream.max_deleted_entry_id = max_deleted;
    }
    db.notify(STREAM, "xsetid", &argv[1]);
    Reply::ok()
}

/// XREAD and XREADGROUP's arguments.
#[derive(Clone, Debug)]
pub struct ReadRequest {
    /// BLOCK's milliseconds (0: forever); None without BLOCK.
    pub block_ms: Option<u64>,
    /// COUNT (0: no limit).
    pub count: u64,
    pub group: Option<(Bytes, Bytes)>,
    pub noack: bool,
    /// Where the keys start; as many ids follow them.
    pub streams_at: usize,
    pub streams: usize,
}

impl ReadRequest {
    pub fn key<'a>(&self, argv: &'a [Arg<'_>], i: usize) -> &'a [u8] {
        &argv[self.streams_at + i]
    }

    pub fn id_arg<'a>(&self, argv: &'a [Arg<'_>], i: usize) -> &'a [u8] {
        &argv[self.streams_at + self.streams + i]
    }
}

/// Parses XREAD / XREADGROUP's options, before any key is looked at.
pub fn parse_read(argv: &[Arg<'_>], xreadgroup: bool) -> Result<ReadRequest, Reply> {
    parse_read_options(argv, xreadgroup, false)
}

fn parse_read_options(
    argv: &[Arg<'_>],
    xreadgroup: bool,
    in_script: bool,
) -> Result<ReadRequest, Reply> {
    let mut request = ReadRequest {
        block_ms: None,
        count: 0,
        group: None,
        noack: false,
        streams_at: 0,
        streams: 0,
    };
    let mut i = 1;
    while i < argv.len() {
        let more = argv.len() - i - 1;
        let opt = &argv[i][..];
        if opt.eq_ignore_ascii_case(b"BLOCK") && more > 0 {
            if in_script {
                return Err(Reply::error(format!(
                    "ERR {} command is not allowed with BLOCK option from scripts",
                    String::from_utf8_lossy(&argv[0])
                )));
            }
            i += 1;
            let millis = parse_int(&argv[i])
                .ok_or_else(|| Reply::error("ERR timeout is not an integer or out of range"))?;
            if millis < 0 {
                return Err(Reply::error("ERR timeout is negative"));
            }
            request.block_ms = Some(millis as u64);
        } else if opt.eq_ignore_ascii_case(b"COUNT") && more > 0 {
            i += 1;
            let count = parse_int(&argv[i]).ok_or_else(|| Reply::error(NOT_INTEGER))?;
            request.count = count.max(0) as u64;
        } else if opt.eq_ignore_ascii_case(b"STREAMS") && more > 0 {
            request.streams_at = i + 1;
            let rest = argv.len() - request.streams_at;
            if !rest.is_multiple_of(2) {
                return Err(Reply::error(
                    "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.",
                ));
            }
            request.streams = rest / 2;
            break;
        } else if opt.eq_ignore_ascii_case(b"GROUP") && more >= 2 {
            if !xreadgroup {
                return Err(Reply::error(
                    "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            request.group = Some((argv[i + 1].to_bytes(), argv[i + 2].to_bytes()));
            i += 2;
        } else if opt.eq_ignore_ascii_case(b"NOACK") {
            if !xreadgroup {
                return Err(Reply::error(
                    "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            request.noack = true;
        } else {
            return Err(Reply::error(SYNTAX));
        }
        i += 1;
    }
    if request.streams_at == 0 {
        return Err(Reply::error(SYNTAX));
    }
    if xreadgroup && request.group.is_none() {
        return Err(Reply::error("ERR Missing GROUP option for XREADGROUP"));
    }
    Ok(request)
}

/// XREAD / XREADGROUP from a script: xreadCommand refuses BLOCK there as
/// its option loop meets it, after the errors of the options before it.
pub fn refuse_block_in_script(argv: &[Arg<'_>], xreadgroup: bool) -> Result<(), Reply> {
    parse_read_options(argv, xreadgroup, true).map(|_| ())
}

/// Where a read starts on one stream: after an id, or (XREADGROUP's `>`)
/// after what the group has delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadFrom {
    After(StreamId),
    New,
}

/// What `probe_key` found about one key, for the coordinator to check the
/// keys in order: whether it is a stream, whether the group exists, and
/// its last id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Probe {
    pub exists: bool,
    pub wrong_type: bool,
    pub group_exists: bool,
    pub last_id: StreamId,
    /// The stream's signal counter mixed with its serial (0 when missing):
    /// a blocked reader wakes only once an XADD or XGROUP DESTROY signalled
    /// the key, or the stream was made again.
    pub signal_mark: u64,
}

pub fn probe_key(db: &mut Db, key: &[u8], group: Option<&[u8]>) -> Probe {
    match read_stream(db, key) {
        Err(_) => Probe {
            exists: true,
            wrong_type: true,
            group_exists: false,
            last_id: StreamId::MIN,
            signal_mark: 0,
        },
        Ok(None) => Probe {
            exists: false,
            wrong_type: false,
            group_exists: false,
            last_id: StreamId::MIN,
            signal_mark: 0,
        },
        Ok(Some(stream)) => Probe {
            exists: true,
            wrong_type: false,
            group_exists: group.is_some_and(|g| stream.groups.contains_key(g)),
            last_id: stream.last_id,
            signal_mark: stream.signals ^ stream.serial << 32,
        },
    }
}

/// The per-key checks of xreadCommand, in its order: the type, the group,
/// then the id argument. Err is the command's reply.
pub fn check_key(
    request: &ReadRequest,
    probe: &Probe,
    key: &[u8],
    id_arg: &[u8],
) -> Result<ReadFrom, Reply> {
    if probe.wrong_type {
        return Err(Reply::error(WRONGTYPE));
    }
    if let Some((group, _)) = &request.group {
        if !probe.exists || !probe.group_exists {
            return Err(Reply::error(format!(
                "NOGROUP No such key '{}' or consumer group '{}' in XREADGROUP with GROUP option",
                String::from_utf8_lossy(key),
                String::from_utf8_lossy(group)
            )));
        }
    }
    if id_arg == b"$" {
        if request.group.is_some() {
            return Err(Reply::error(
                "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.",
            ));
        }
        return Ok(ReadFrom::After(probe.last_id));
    }
    if id_arg == b">" {
        if request.group.is_none() {
            return Err(Reply::error(
                "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.",
            ));
        }
        return Ok(ReadFrom::New);
    }
    parse_strict_id(id_arg, 0).map(ReadFrom::After)
}

/// Serves one key of a read now if it can (the body of xreadCommand's
/// second loop, and of serveClientsBlockedOnStreamKey): the entries, or
/// None when there is nothing to give. Group reads deliver (PEL entries,
/// the group's last id and read counter) and raise the events of a new
/// consumer.
pub fn serve_key(db: &mut Db, request: &ReadRequest, key: &[u8], from: ReadFrom) -> Option<Reply> {
    let now = db.now_ms as i64;
    let count = request.count as usize;
    let mut created_consumer = false;
    let mut records = db.feed.is_on().then(Vec::new);
    let reply = {
        let stream = match write_stream(db, key) {
            Ok(Some(stream)) => stream,
            _ => return None,
        };
        match &request.group {
            None => {
                let ReadFrom::After(after) = from else {
                    return None;
                };
                let top = stream.last_entry()?.id;
                if top <= after {
                    return None;
                }
                let start = after.incr()?;
                range_reply(stream, start, StreamId::MAX, count, false)
            }
            Some((group_name, consumer_name)) => {
                let history = match from {
                    ReadFrom::After(id) => Some(id),
                    ReadFrom::New => None,
                };
                if history.is_none() {
                    let top = stream.last_entry()?.id;
                    let last = stream.groups.get(group_name)?.last_id;
                    if top <= last {
                        return None;
                    }
                }
                let (reply, created) = group_read(
                    stream,
                    group_name,
                    consumer_name,
                    history,
                    count,
                    request.noack,
                    now,
                    records.as_mut(),
                )?;
                created_consumer = created;
                reply
            }
        }
    };
    if created_consumer {
        db.notify(STREAM, "xgroup-createconsumer", key);
    }
    if let (Some(records), Some((group_name, _))) = (records, &request.group) {
        super::propagate::group_records(db, key, group_name, records);
    }
    Some(reply)
}

/// XREADGROUP's delivery on one stream (streamReplyWithRange with a
/// group, or from the consumer's PEL for `history`); None when the group
/// is gone. Also whether the consumer was created. `records` gets what
/// replicas are sent, as Redis propagates it: an XCLAIM per entry
/// delivered; with NOACK the consumer's creation and the group's new last
/// id; nothing for a read of the consumer's history.
#[allow(clippy::too_many_arguments)]
fn group_read(
    stream: &mut Stream,
    group_name: &[u8],
    consumer_name: &[u8],
    history: Option<StreamId>,
    count: usize,
    noack: bool,
    now: i64,
    mut records: Option<&mut Vec<GroupRecord>>,
) -> Option<(Reply, bool)> {
    let mut group = stream.groups.remove(group_name)?;
    let created = {
        let (consumer, created) = group.consumer_or_create(consumer_name, now);
        consumer.seen_time = now;
        created
    };
    if let (true, true, Some(records)) = (created, noack, records.as_mut()) {
        records.push(GroupRecord::CreateConsumer(Bytes::copy_from_slice(
            consumer_name,
        )));
    }
    let reply = match history {
        // Redis starts after the given id (0-0 after the largest).
        Some(after) => {
            let start = after.incr().unwrap_or(StreamId::MIN);
            history_read(stream, &mut group, consumer_name, start, count, now)
        }
        None => {
            let start = group.last_id.incr().unwrap_or(StreamId::MAX);
            let last_before = group.last_id;
            let reply = new_read(
                stream,
                &mut group,
                consumer_name,
                (start, count),
                noack,
                now,
                records.as_deref_mut(),
            );
            if let (true, true, Some(records)) = (noack, group.last_id != last_before, records) {
                records.push(GroupRecord::SetId {
                    last_id: group.last_id,
                    entries_read: group.entries_read,
                });
            }
            reply
        }
    };
    stream
        .groups
        .insert(Bytes::copy_from_slice(group_name), group);
    Some((reply, created))
}

fn new_read(
    stream: &Stream,
    group: &mut Group,
    consumer_name: &[u8],
    (start, count): (StreamId, usize),
    noack: bool,
    now: i64,
    mut records: Option<&mut Vec<GroupRecord>>,
) -> Reply {
    let limit = if count == 0 { usize::MAX } else { count };
    let (mut body, mut count_out) = (Vec::with_capacity(256), 0i64);
    let consumer_key = Bytes::copy_from_slice(consumer_name);
    for entry in stream.range(start, StreamId::MAX).take(limit) {
        let id = entry.id;
        if id > group.last_id {
            if group.entries_read != ENTRIES_READ_UNKNOWN
                && !stream.range_has_tombstones(id, StreamId::MAX)
            {
                group.entries_read += 1;
            } else if stream.entries_added != 0 {
                group.entries_read = stream
                    .estimate_distance(id)
                    .map_or(ENTRIES_READ_UNKNOWN, |d| d as i64);
            }
            group.last_id = id;
        }
        encode_entry(entry, &mut body);
        count_out += 1;
        if !noack {
            if let Some(old) = group.pel.get(&id).map(|n| n.consumer.clone()) {
                if let Some(previous) = group.consumers.get_mut(&old) {
                    previous.pel.remove(&id);
                }
            }
            group.pel.insert(
                id,
                crate::keyspace::stream::Nack {
                    delivery_time: now,
                    delivery_count: 1,
                    consumer: consumer_key.clone(),
                },
            );
            if let Some(consumer) = group.consumers.get_mut(consumer_name) {
                consumer.pel.insert(id);
            }
            if let Some(records) = records.as_mut() {
                records.push(GroupRecord::Claim {
                    id,
                    consumer: consumer_key.clone(),
                    time: now,
                    count: 1,
                    last_id: group.last_id,
                });
            }
        }
    }
    entries_array(count_out, &body)
}

fn history_read(
    stream: &Stream,
    group: &mut Group,
    consumer_name: &[u8],
    start: StreamId,
    count: usize,
    now: i64,
) -> Reply {
    let ids: Vec<StreamId> = match group.consumers.get(consumer_name) {
        Some(consumer) => consumer
            .pel
            .range(start..)
            .take(if count == 0 { usize::MAX } else { count })
            .copied()
            .collect(),
        None => Vec::new(),
    };
    let mut entries = Vec::with_capacity(ids.len());
    for id in ids {
        match stream.get(id) {
            Some(entry) => {
                entries.push(entry_reply(entry));
                if let Some(nack) = group.pel.get_mut(&id) {
                    nack.delivery_time = now;
                    nack.delivery_count += 1;
                }
            }
            None => entries.push(Reply::Array(vec![
                Reply::Bulk(id.to_bytes()),
                Reply::NilArray,
            ])),
        }
    }
    Reply::Array(entries)
}

/// The whole of XREAD / XREADGROUP for keys of this core, as Redis runs
/// it when it does not block: used inline (one core's keys), in
/// transactions and scripts. A BLOCK that finds nothing answers as a
/// timeout here; the coordinator blocks (`shard::streams`).
pub fn read_here(db: &mut Db, argv: &[Arg<'_>], xreadgroup: bool) -> Reply {
    let request = match parse_read(argv, xreadgroup) {
        Ok(request) => request,
        Err(reply) => return reply,
    };
    match read_keys_here(db, &request, argv) {
        ReadOutcome::Answer(reply) => reply,
        ReadOutcome::Nothing(_) => Reply::NilArray,
    }
}

/// What a read of keys of this core came to.
pub enum ReadOutcome {
    /// The reply: entries, or an error of the checks.
    Answer(Reply),
    /// Nothing to serve: where the read starts on each key, and each
    /// key's signal mark, for blocking.
    Nothing(Vec<(Bytes, ReadFrom, u64)>),
}

/// xreadCommand on keys all of this core: the checks in Redis's order,
/// then what can be served now.
pub fn read_keys_here(db: &mut Db, request: &ReadRequest, argv: &[Arg<'_>]) -> ReadOutcome {
    let group = request.group.as_ref().map(|(g, _)| g.clone());
    let mut starts = Vec::with_capacity(request.streams);
    for i in 0..request.streams {
        let key = request.key(argv, i);
        let probe = probe_key(db, key, group.as_deref());
        match check_key(request, &probe, key, request.id_arg(argv, i)) {
            Ok(from) => starts.push((Bytes::copy_from_slice(key), from, probe.signal_mark)),
            Err(reply) => return ReadOutcome::Answer(reply),
        }
    }
    let mut served = Vec::new();
    for (key, from, _) in &starts {
        if let Some(entries) = serve_key(db, request, key, *from) {
            served.push((Reply::Bulk(key.clone()), entries));
        }
    }
    if served.is_empty() {
        ReadOutcome::Nothing(starts)
    } else {
        ReadOutcome::Answer(Reply::KeyedMap(served))
    }
}

/// A blocking read whose keys are all on one core starts there, in the op
/// that registers its waiter, so no write can come between its checks and
/// its wait: the reply when it is answered at once, else None (and the
/// read's start is recorded in `wait`).
pub fn start_blocked_read(db: &mut Db, wait: &StreamWait) -> Option<Reply> {
    let argv = crate::protocol::args_of(&wait.argv);
    match read_keys_here(db, &wait.request, &argv) {
        ReadOutcome::Answer(reply) => Some(reply),
        ReadOutcome::Nothing(starts) => {
            let _ = wait.from.set(starts);
            None
        }
    }
}

pub fn xread(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    read_here(db, argv, false)
}

pub fn xreadgroup(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    read_here(db, argv, true)
}

/// A client blocked in XREAD / XREADGROUP: its options, and where its
/// read starts on each key.
#[derive(Debug)]
pub struct StreamWait {
    pub request: ReadRequest,
    /// The command, when the read is still to start on the keys' core
    /// (`start_blocked_read`); empty when the coordinator started it.
    pub argv: Vec<Bytes>,
    /// Per key: where the read starts, and the stream's entries-added
    /// counter when the client blocked. Redis wakes stream readers only
    /// when an XADD signals the key (not on XSETID, XDEL, XTRIM...);
    /// a counter that moved is that signal here.
    pub from: std::sync::OnceLock<Vec<(Bytes, ReadFrom, u64)>>,
}

/// XREAD_BLOCKED_DEFAULT_COUNT: a blocked read without COUNT gets at
/// most this many entries.
const BLOCKED_DEFAULT_COUNT: u64 = 1000;

impl StreamWait {
    /// True while the read has not started on its core.
    pub fn unstarted(&self) -> bool {
        self.from.get().is_none()
    }

    fn from(&self, key: &[u8]) -> Option<(ReadFrom, u64)> {
        self.from
            .get()?
            .iter()
            .find(|(k, _, _)| k == key)
            .map(|(_, f, added)| (*f, *added))
    }
}

/// Whether a client blocked on `key` is to be answered now
/// (serveClientsBlockedOnStreamKey's test, and its error cases for
/// XREADGROUP: the key gone or no longer a stream, the group destroyed).
pub fn blocked_ready(db: &mut Db, key: &[u8], wait: &StreamWait) -> bool {
    let Some((from, added)) = wait.from(key) else {
        return false;
    };
    let group = wait.request.group.as_ref().map(|(g, _)| g);
    match read_stream(db, key) {
        Ok(Some(stream)) => match group {
            Some(group) => match stream.groups.get(group) {
                Some(g) => signalled(stream, added) && stream.last_id > g.last_id,
                None => true,
            },
            None if !signalled(stream, added) => false,
            None => match from {
                ReadFrom::After(after) => stream.last_id > after,
                ReadFrom::New => false,
            },
        },
        _ => group.is_some(),
    }
}

/// Whether an XADD or XGROUP DESTROY (or a stream made again) signalled the key since the
/// client blocked: `mark` is `Probe::signal_mark` from then.
fn signalled(stream: &Stream, mark: u64) -> bool {
    stream.signals ^ stream.serial << 32 != mark
}

/// Answers a client blocked on `key` (once `blocked_ready`): the entries
/// after where it waits, or the error that unblocks it.
pub fn serve_blocked(db: &mut Db, key: &[u8], wait: &StreamWait) -> Reply {
    let mut request = wait.request.clone();
    if request.count == 0 {
        request.count = BLOCKED_DEFAULT_COUNT;
    }
    let from = wait.from(key).map_or(ReadFrom::New, |(from, _)| from);
    let group = request.group.as_ref().map(|(g, _)| g.clone());
    match read_stream(db, key) {
        Ok(Some(stream)) => {
            if let Some(group) = &group {
                if !stream.groups.contains_key(group) {
                    return Reply::error(
                        "NOGROUP the consumer group this client was blocked on no longer exists",
                    );
                }
            }
        }
        _ if group.is_some() => {
            return Reply::error("UNBLOCKED the stream key no longer exists");
        }
        _ => return Reply::NilArray,
    }
    let reply = if group.is_some() {
        serve_key(db, &request, key, ReadFrom::New)
    } else {
        let ReadFrom::After(after) = from else {
            return Reply::NilArray;
        };
        match read_stream(db, key) {
            Ok(Some(stream)) => after.incr().map(|start| {
                range_reply(stream, start, StreamId::MAX, request.count as usize, false)
            }),
            _ => None,
        }
    };
    Reply::KeyedMap(vec![(
        Reply::Bulk(Bytes::copy_from_slice(key)),
        reply.unwrap_or(Reply::Array(Vec::new())),
    )])
}

/// Probes keys of this core for the coordinator: argv is the group name
/// (empty for XREAD) and the keys; per key [flags, last id], flags 1 when
/// it exists, 2 when it is not a stream, 4 when the group exists.
pub fn probe_local(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let group = (!argv[0].is_empty()).then(|| argv[0].to_vec());
    Reply::Array(
        argv[1..]
            .iter()
            .map(|key| {
                let probe = probe_key(db, key, group.as_deref());
                let flags = i64::from(probe.exists)
                    | i64::from(probe.wrong_type) << 1
                    | i64::from(probe.group_exists) << 2;
                Reply::Array(vec![
                    Reply::Int(flags),
                    Reply::Bulk(probe.last_id.to_bytes()),
                    Reply::Int(probe.signal_mark as i64),
                ])
            })
            .collect(),
    )
}

/// Reads `probe_local`'s answer for one key back.
pub fn probe_of(reply: &Reply) -> Option<Probe> {
    let Reply::Array(parts) = reply else {
        return None;
    };
    let (Some(Reply::Int(flags)), Some(Reply::Bulk(id)), Some(Reply::Int(added))) =
        (parts.first(), parts.get(1), parts.get(2))
    else {
        return None;
    };
    Some(Probe {
        exists: flags & 1 != 0,
        wrong_type: flags & 2 != 0,
        group_exists: flags & 4 != 0,
        last_id: StreamId::parse(id, 0)?,
        signal_mark: *added as u64,
    })
}

/// Serves keys of this core for the coordinator: argv is [count, noack,
/// group, consumer, key, from, key, from...] (`from` an id or `>`; group
/// empty for XREAD); per key the entries, or Nil when none were served.
pub fn serve_local(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let group = (!argv[2].is_empty()).then(|| (argv[2].to_bytes(), argv[3].to_bytes()));
    let request = ReadRequest {
        block_ms: None,
        count: parse_int(&argv[0]).unwrap_or(0).max(0) as u64,
        group,
        noack: &argv[1][..] == b"1",
        streams_at: 0,
        streams: 0,
    };
    let replies: Vec<Reply> = argv[4..]
        .chunks_exact(2)
        .map(|pair| {
            let from = if &pair[1][..] == b">" {
                ReadFrom::New
            } else {
                ReadFrom::After(StreamId::parse(&pair[1], 0).unwrap_or(StreamId::MAX))
            };
            serve_key(db, &request, &pair[0], from).unwrap_or(Reply::Nil)
        })
        .collect();
    Reply::Array(replies)
}

/// The positions of XREAD / XREADGROUP's keys: the first half of the
/// arguments after STREAMS (none when they do not pair up).
pub fn read_key_positions(argv: &[Arg<'_>]) -> std::ops::Range<usize> {
    let Some(at) = argv
        .iter()
        .skip(1)
        .position(|a| a.eq_ignore_ascii_case(b"STREAMS"))
        .map(|p| p + 2)
    else {
        return 0..0;
    };
    let rest = argv.len() - at;
    if !rest.is_multiple_of(2) {
        return 0..0;
    }
    at..at + rest / 2
}

/// True when an XREAD / XREADGROUP asks to block (a BLOCK option before
/// STREAMS): such a read goes through the coordinator.
pub fn read_blocks(argv: &[Arg<'_>]) -> bool {
    argv.iter()
        .skip(1)
        .take_while(|a| !a.eq_ignore_ascii_case(b"STREAMS"))
        .any(|a| a.eq_ignore_ascii_case(b"BLOCK"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_as_redis_reads_them() {
        let ok = |text: &[u8]| parse_id(text, 7).ok();
        assert_eq!(ok(b"-"), Some(StreamId::MIN));
        assert_eq!(ok(b"+"), Some(StreamId::MAX));
        assert_eq!(ok(b"5"), Some(StreamId::new(5, 7)));
        assert_eq!(ok(b"01-02"), Some(StreamId::new(1, 2)));
        assert_eq!(ok(b" 1-2"), Some(StreamId::new(1, 2)));
        assert_eq!(ok(b"+1-2"), Some(StreamId::new(1, 2)));
        assert_eq!(ok(b"1--2"), None);
        assert_eq!(ok(b"1-"), None);
        assert_eq!(ok(b""), None);
        assert_eq!(ok(b"1-2x"), None);
        assert!(parse_strict_id(b"-", 0).is_err());
        let star = parse_id_full(b"5-*", 0, true, true).unwrap();
        assert_eq!((star.id, star.seq_given), (StreamId::new(5, 0), false));
        assert!(parse_strict_id(b"5-*", 0).is_err());
    }
}
