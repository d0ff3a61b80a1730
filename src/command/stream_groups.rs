//! Consumer-group and introspection stream commands (XGROUP, XACK,
//! XPENDING, XCLAIM, XAUTOCLAIM, XINFO), shard side, following
//! Redis 7.0's `t_stream.c`: the order of its checks, its error texts and
//! its reply shapes (maps are RESP3 maps, flat arrays in RESP2).

use super::errors::{NOT_INTEGER, NO_SUCH_KEY, SYNTAX};
use super::propagate::GroupRecord;
use super::streams::{
    entry_reply, parse_id, parse_strict_id, range_reply, write_or_create_stream, write_stream,
};
use super::{parse_int, typed_value, Db};
use crate::config::notify::STREAM;
use crate::keyspace::stream::{Group, Nack, Stream, StreamId, ENTRIES_READ_UNKNOWN};
use crate::keyspace::Value;
use crate::protocol::Arg;
use crate::protocol::Reply;
use bytes::Bytes;
use std::borrow::Cow;
use std::collections::HashSet;

/// An argument as C's `%s` prints it: up to its first NUL.
fn c_str(arg: &[u8]) -> Cow<'_, str> {
    let end = arg.iter().position(|&b| b == 0).unwrap_or(arg.len());
    String::from_utf8_lossy(&arg[..end])
}

/// A stream looked up as Redis's lookupKeyRead does (counting a hit or a
/// miss), writable for the commands that change groups.
fn lookup_read<'a>(db: &'a mut Db, key: &[u8]) -> Result<Option<&'a mut Stream>, Reply> {
    typed_value(db, key, false, |value| match value {
        Value::Stream(stream) => Some(&mut **stream),
        _ => None,
    })
}

/// addReplySubcommandSyntaxError.
fn subcommand_syntax_error(argv: &[Arg<'_>]) -> Reply {
    let sub = &argv[1][..];
    let sub = &sub[..sub.len().min(128)];
    Reply::error_owned(format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.",
        c_str(sub),
        c_str(&argv[0]).to_ascii_uppercase()
    ))
}

/// addReplyHelp: the header, the lines, and the HELP footer.
fn help_reply(command: &[u8], lines: &[&str]) -> Reply {
    let mut out = Vec::with_capacity(lines.len() + 3);
    out.push(Reply::Simple(
        format!(
            "{} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            c_str(command).to_ascii_uppercase()
        )
        .into(),
    ));
    out.extend(lines.iter().map(|l| Reply::Simple(l.to_string().into())));
    out.push(Reply::Simple("HELP".into()));
    out.push(Reply::Simple("    Prints this help.".into()));
    Reply::Array(out)
}

const XGROUP_HELP: &[&str] = &[
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
];

const XINFO_HELP: &[&str] = &[
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
];

/// A subcommand Redis does not know, or one given the wrong number of
/// arguments: Redis refuses them before running the container.
fn subcommand_error(container: &str, argv: &[Arg<'_>]) -> Option<Reply> {
    let sub = String::from_utf8_lossy(&argv[1]).to_ascii_lowercase();
    if !super::table::subcommands(container).contains(&sub.as_str()) {
        return Some(super::errors::unknown_subcommand(container, &argv[1]));
    }
    let fullname = format!("{container}|{sub}");
    let arity = super::introspect::doc(&fullname)?.arity;
    let argc = argv.len() as i32;
    let fits = if arity >= 0 {
        argc == arity
    } else {
        argc >= -arity
    };
    (!fits).then(|| super::errors::wrong_arity(&fullname))
}

fn no_group_for_key(group: &[u8], key: &[u8]) -> Reply {
    Reply::error_owned(format!(
        "NOGROUP No such consumer group '{}' for key name '{}'",
        c_str(group),
        c_str(key)
    ))
}

fn no_key_or_group(key: &[u8], group: &[u8]) -> Reply {
    Reply::error_owned(format!(
        "NOGROUP No such key '{}' or consumer group '{}'",
        c_str(key),
        c_str(group)
    ))
}

fn id_reply(id: StreamId) -> Reply {
    Reply::Bulk(id.to_bytes())
}

fn field(name: &'static str) -> Reply {
    Reply::bulk_static(name)
}

/// getLongLongFromObjectOrReply with Redis's default message.
fn long_long(arg: &[u8]) -> Result<i64, Reply> {
    parse_int(arg).ok_or_else(|| Reply::error(NOT_INTEGER))
}

/// getLongLongFromObjectOrReply with a message of the command's own.
fn long_long_or(arg: &[u8], message: &'static str) -> Result<i64, Reply> {
    parse_int(arg).ok_or_else(|| Reply::error(message))
}

/// streamParseIntervalIDOrReply: `(` makes the bound exclusive.
fn parse_interval(arg: &[u8], missing_seq: u64) -> Result<(StreamId, bool), Reply> {
    if arg.len() > 1 && arg[0] == b'(' {
        Ok((parse_strict_id(&arg[1..], missing_seq)?, true))
    } else {
        Ok((parse_id(arg, missing_seq)?, false))
    }
}

fn unwrap_reply(result: Result<Reply, Reply>) -> Reply {
    result.unwrap_or_else(|reply| reply)
}

// ---------------------------------------------------------------------
// XGROUP
// ---------------------------------------------------------------------

/// XGROUP CREATE key group id|$ [MKSTREAM] [ENTRIESREAD n]
/// XGROUP SETID key group id|$ [ENTRIESREAD n]
/// XGROUP DESTROY key group
/// XGROUP CREATECONSUMER key group consumer
/// XGROUP DELCONSUMER key group consumer
/// XGROUP HELP
pub fn xgroup(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    unwrap_reply(xgroup_inner(db, argv))
}

fn xgroup_inner(db: &mut Db, argv: &[Arg<'_>]) -> Result<Reply, Reply> {
    if let Some(error) = subcommand_error("xgroup", argv) {
        return Err(error);
    }
    let argc = argv.len();
    let opt = &argv[1][..];
    let is = |name: &[u8]| opt.eq_ignore_ascii_case(name);
    let mut mkstream = false;
    let mut entries_read = ENTRIES_READ_UNKNOWN;
    // What the lookups found: whether the key is a stream, its last id,
    // and whether the group exists.
    let mut exists = false;
    let mut stream_last_id = StreamId::MIN;
    let mut group_exists = false;
    if argc >= 4 {
        let (create, setid) = (is(b"CREATE"), is(b"SETID"));
        let mut i = 5;
        while i < argc {
            if create && argv[i].eq_ignore_ascii_case(b"MKSTREAM") {
                mkstream = true;
                i += 1;
            } else if (create || setid)
                && argv[i].eq_ignore_ascii_case(b"ENTRIESREAD")
                && i + 1 < argc
            {
                entries_read = long_long(&argv[i + 1])?;
                if entries_read < 0 && entries_read != ENTRIES_READ_UNKNOWN {
                    return Err(Reply::error(
                        "ERR value for ENTRIESREAD must be positive or -1",
                    ));
                }
                i += 2;
            } else {
                return Err(subcommand_syntax_error(argv));
            }
        }
        if let Some(stream) = write_stream(db, &argv[2])? {
            exists = true;
            stream_last_id = stream.last_id;
            group_exists = stream.groups.contains_key(&argv[3][..]);
        }
    }
    if argc >= 4 && !mkstream {
        if !exists {
            return Err(Reply::error(
                "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.",
            ));
        }
        if !group_exists && (is(b"SETID") || is(b"CREATECONSUMER") || is(b"DELCONSUMER")) {
            return Err(no_group_for_key(&argv[3], &argv[2]));
        }
    }
    let now = db.now_ms as i64;
    if argc == 2 && is(b"HELP") {
        Ok(help_reply(&argv[0], XGROUP_HELP))
    } else if is(b"CREATE") && (5..=8).contains(&argc) {
        let id = if &argv[4][..] == b"$" {
            stream_last_id
        } else {
            parse_strict_id(&argv[4], 0)?
        };
        let key = &argv[2];
        if !exists {
            // MKSTREAM, now that the command can no longer fail.
            // (`new` is raised around the command, before its own events.)
            write_or_create_stream(db, key)?;
        }
        let stream = write_or_create_stream(db, key)?;
        if stream.groups.contains_key(&argv[3][..]) {
            return Err(Reply::error("BUSYGROUP Consumer Group name already exists"));
        }
        stream
            .groups
            .insert(argv[3].to_bytes(), Group::new(id, entries_read));
        db.notify(STREAM, "xgroup-create", key);
        Ok(Reply::ok())
    } else if is(b"SETID") && (argc == 5 || argc == 7) {
        let id = if &argv[4][..] == b"$" {
            stream_last_id
        } else {
            parse_id(&argv[4], 0)?
        };
        let group = write_stream(db, &argv[2])?
            .and_then(|s| s.groups.get_mut(&argv[3][..]))
            .ok_or_else(|| no_group_for_key(&argv[3], &argv[2]))?;
        group.last_id = id;
        group.entries_read = entries_read;
        db.notify(STREAM, "xgroup-setid", &argv[2]);
        Ok(Reply::ok())
    } else if is(b"DESTROY") && argc == 4 {
        let removed = match write_stream(db, &argv[2])? {
            Some(stream) => {
                let removed = stream.groups.remove(&argv[3][..]).is_some();
                // Redis signals the key: its blocked group readers learn
                // the group is gone.
                stream.signals += u64::from(removed);
                removed
            }
            None => false,
        };
        if removed {
            db.notify(STREAM, "xgroup-destroy", &argv[2]);
        }
        Ok(Reply::Int(i64::from(removed)))
    } else if is(b"CREATECONSUMER") && argc == 5 {
        let group = write_stream(db, &argv[2])?
            .and_then(|s| s.groups.get_mut(&argv[3][..]))
            .ok_or_else(|| no_group_for_key(&argv[3], &argv[2]))?;
        let created = !group.consumers.contains_key(&argv[4][..]);
        if created {
            group.consumer_or_create(&argv[4], now);
            db.notify(STREAM, "xgroup-createconsumer", &argv[2]);
        }
        Ok(Reply::Int(i64::from(created)))
    } else if is(b"DELCONSUMER") && argc == 5 {
        let group = write_stream(db, &argv[2])?
            .and_then(|s| s.groups.get_mut(&argv[3][..]))
            .ok_or_else(|| no_group_for_key(&argv[3], &argv[2]))?;
        let pending = group.delete_consumer(&argv[4]);
        if pending.is_some() {
            db.notify(STREAM, "xgroup-delconsumer", &argv[2]);
        }
        Ok(Reply::Int(pending.unwrap_or(0) as i64))
    } else {
        Err(subcommand_syntax_error(argv))
    }
}

// ---------------------------------------------------------------------
// XACK
// ---------------------------------------------------------------------

/// XACK key group id [id ...]
pub fn xack(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    unwrap_reply(xack_inner(db, argv))
}

fn xack_inner(db: &mut Db, argv: &[Arg<'_>]) -> Result<Reply, Reply> {
    let Some(group) = lookup_read(db, &argv[1])?.and_then(|s| s.groups.get_mut(&argv[2][..]))
    else {
        return Ok(Reply::Int(0));
    };
    // All the ids parse before any is acknowledged.
    let ids = argv[3..]
        .iter()
        .map(|arg| parse_strict_id(arg, 0))
        .collect::<Result<Vec<_>, _>>()?;
    let acknowledged = ids.into_iter().filter(|&id| group.ack(id)).count();
    Ok(Reply::Int(acknowledged as i64))
}

// ---------------------------------------------------------------------
// XPENDING
// ---------------------------------------------------------------------

/// XPENDING key group [[IDLE min-idle] start end count [consumer]]
pub fn xpending(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    unwrap_reply(xpending_inner(db, argv))
}

/// The extended form's arguments.
struct PendingRange {
    min_idle: i64,
    start: StreamId,
    end: StreamId,
    count: i64,
    consumer: Option<Bytes>,
}

fn parse_pending_range(argv: &[Arg<'_>]) -> Result<PendingRange, Reply> {
    let argc = argv.len();
    let mut min_idle = 0;
    let mut at = 3;
    if argv[3].eq_ignore_ascii_case(b"IDLE") {
        min_idle = long_long(&argv[4])?;
        if argc < 8 {
            return Err(Reply::error(SYNTAX));
        }
        at += 2;
    }
    let count = long_long(&argv[at + 2])?.max(0);
    let (mut start, start_exclusive) = parse_interval(&argv[at], 0)?;
    if start_exclusive {
        start = start
            .incr()
            .ok_or_else(|| Reply::error("ERR invalid start ID for the interval"))?;
    }
    let (mut end, end_exclusive) = parse_interval(&argv[at + 1], u64::MAX)?;
    if end_exclusive {
        end = end
            .decr()
            .ok_or_else(|| Reply::error("ERR invalid end ID for the interval"))?;
    }
    Ok(PendingRange {
        min_idle,
        start,
        end,
        count,
        consumer: argv.get(at + 3).map(|a| a.to_bytes()),
    })
}

fn xpending_inner(db: &mut Db, argv: &[Arg<'_>]) -> Result<Reply, Reply> {
    let argc = argv.len();
    if argc != 3 && !(6..=9).contains(&argc) {
        return Err(Reply::error(SYNTAX));
    }
    let range = if argc >= 6 {
        Some(parse_pending_range(argv)?)
    } else {
        None
    };
    let now = db.now_ms as i64;
    let group = lookup_read(db, &argv[1])?
        .and_then(|s| s.groups.get(&argv[2][..]))
        .ok_or_else(|| no_key_or_group(&argv[1], &argv[2]))?;
    Ok(match range {
        None => pending_summary(group),
        Some(range) => pending_entries(group, &range, now),
    })
}

/// XPENDING key group: the count, the smallest and greatest ids, and the
/// consumers with pending entries with their counts (as bulk strings).
fn pending_summary(group: &Group) -> Reply {
    let (Some(first), Some(last)) = (group.pel.keys().next(), group.pel.keys().next_back()) else {
        return Reply::Array(vec![Reply::Int(0), Reply::Nil, Reply::Nil, Reply::NilArray]);
    };
    let consumers = group
        .consumers
        .iter()
        .filter(|(_, consumer)| !consumer.pel.is_empty())
        .map(|(name, consumer)| {
            Reply::Array(vec![
                Reply::Bulk(name.clone()),
                Reply::Bulk(Bytes::from(consumer.pel.len().to_string())),
            ])
        })
        .collect();
    Reply::Array(vec![
        Reply::Int(group.pel.len() as i64),
        id_reply(*first),
        id_reply(*last),
        Reply::Array(consumers),
    ])
}

fn pending_entries(group: &Group, range: &PendingRange, now: i64) -> Reply {
    let ids: Box<dyn Iterator<Item = StreamId> + '_> = match &range.consumer {
        None => Box::new(group.pel.range(range.start..).map(|(id, _)| *id)),
        Some(name) => match group.consumers.get(name) {
            Some(consumer) => Box::new(consumer.pel.range(range.start..).copied()),
            None => return Reply::Array(Vec::new()),
        },
    };
    let mut left = range.count;
    let mut out = Vec::new();
    for id in ids.take_while(|&id| id <= range.end) {
        if left == 0 {
            break;
        }
        let Some(nack) = group.pel.get(&id) else {
            continue;
        };
        let idle = now.wrapping_sub(nack.delivery_time);
        if range.min_idle != 0 && idle < range.min_idle {
            continue;
        }
        left -= 1;
        out.push(Reply::Array(vec![
            id_reply(id),
            Reply::Bulk(nack.consumer.clone()),
            Reply::Int(idle.max(0)),
            Reply::Int(nack.delivery_count as i64),
        ]));
    }
    Reply::Array(out)
}

// ---------------------------------------------------------------------
// XCLAIM and XAUTOCLAIM
// ---------------------------------------------------------------------

/// What a claim does to a pending entry's delivery count.
#[derive(Clone, Copy)]
enum DeliveryCount {
    Set(u64),
    Keep,
    Increment,
}

/// Gives the pending entry `id` to `consumer` with a new delivery time
/// and count. The consumer is looked up (its seen time refreshed) or
/// created the first time (`consumer_seen` false), as XCLAIM and
/// XAUTOCLAIM do once per call; true when it was created. `had_owner` is
/// false for a NACK that FORCE just made.
#[allow(clippy::too_many_arguments)]
fn give(
    group: &mut Group,
    id: StreamId,
    consumer: &[u8],
    consumer_seen: &mut bool,
    had_owner: bool,
    delivery_time: i64,
    count: DeliveryCount,
    now: i64,
) -> bool {
    let mut created = false;
    if !*consumer_seen {
        let (found, was_created) = group.consumer_or_create(consumer, now);
        found.seen_time = now;
        created = was_created;
        *consumer_seen = true;
    }
    let Some(nack) = group.pel.get_mut(&id) else {
        return created;
    };
    let moves = !had_owner || nack.consumer[..] != *consumer;
    if had_owner && moves {
        if let Some(old) = group.consumers.get_mut(&nack.consumer) {
            old.pel.remove(&id);
        }
    }
    nack.delivery_time = delivery_time;
    match count {
        DeliveryCount::Set(value) => nack.delivery_count = value,
        DeliveryCount::Keep => {}
        DeliveryCount::Increment => nack.delivery_count = nack.delivery_count.wrapping_add(1),
    }
    if moves {
        if let Some((name, new)) = group.consumers.get_key_value(consumer) {
            nack.consumer = name.clone();
            let _ = new;
        }
        if let Some(new) = group.consumers.get_mut(consumer) {
            new.pel.insert(id);
        }
    }
    created
}

/// Drops a pending entry whose stream entry is gone.
fn drop_pending(group: &mut Group, id: StreamId) {
    group.ack(id);
}

/// XCLAIM's options after the ids.
struct ClaimOptions {
    force: bool,
    justid: bool,
    /// IDLE or TIME, as a delivery time; -1 when neither was given.
    delivery_time: i64,
    retry_count: i64,
    last_id: StreamId,
}

fn parse_claim_options(argv: &[Arg<'_>], now: i64) -> Result<ClaimOptions, Reply> {
    let mut options = ClaimOptions {
        force: false,
        justid: false,
        delivery_time: -1,
        retry_count: -1,
        last_id: StreamId::MIN,
    };
    let mut j = 0;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        let opt = &argv[j][..];
        if opt.eq_ignore_ascii_case(b"FORCE") {
            options.force = true;
        } else if opt.eq_ignore_ascii_case(b"JUSTID") {
            options.justid = true;
        } else if opt.eq_ignore_ascii_case(b"IDLE") && more > 0 {
            j += 1;
            let idle = long_long_or(&argv[j], "ERR Invalid IDLE option argument for XCLAIM")?;
            options.delivery_time = now.wrapping_sub(idle);
        } else if opt.eq_ignore_ascii_case(b"TIME") && more > 0 {
            j += 1;
            options.delivery_time =
                long_long_or(&argv[j], "ERR Invalid TIME option argument for XCLAIM")?;
        } else if opt.eq_ignore_ascii_case(b"RETRYCOUNT") && more > 0 {
            j += 1;
            options.retry_count = long_long_or(
                &argv[j],
                "ERR Invalid RETRYCOUNT option argument for XCLAIM",
            )?;
        } else if opt.eq_ignore_ascii_case(b"LASTID") && more > 0 {
            j += 1;
            options.last_id = parse_strict_id(&argv[j], 0)?;
        } else {
            return Err(Reply::error_owned(format!(
                "ERR Unrecognized XCLAIM option '{}'",
                c_str(opt)
            )));
        }
        j += 1;
    }
    Ok(options)
}

/// XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms]
/// [TIME ms] [RETRYCOUNT count] [FORCE] [JUSTID] [LASTID id]
pub fn xclaim(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let mut records = db.feed.is_on().then(Vec::new);
    let outcome = xclaim_inner(db, argv, records.as_mut());
    if let Some(records) = records {
        super::propagate::group_records(db, &argv[1], &argv[2], records);
    }
    claimed(db, &argv[1], outcome)
}

/// A claim's reply, raising `xgroup-createconsumer` when it made the
/// consumer.
fn claimed(db: &mut Db, key: &[u8], outcome: Result<(Reply, bool), Reply>) -> Reply {
    match outcome {
        Ok((reply, created)) => {
            if created {
                db.notify(STREAM, "xgroup-createconsumer", key);
            }
            reply
        }
        Err(reply) => reply,
    }
}

fn xclaim_inner(
    db: &mut Db,
    argv: &[Arg<'_>],
    records: Option<&mut Vec<GroupRecord>>,
) -> Result<(Reply, bool), Reply> {
    let now = db.now_ms as i64;
    let stream = lookup_read(db, &argv[1])?
        .filter(|s| s.groups.contains_key(&argv[2][..]))
        .ok_or_else(|| no_key_or_group(&argv[1], &argv[2]))?;
    let min_idle = long_long_or(&argv[4], "ERR Invalid min-idle-time argument for XCLAIM")?.max(0);
    // The ids run until the first argument that is not one; options follow.
    let mut ids = Vec::new();
    let mut j = 5;
    while j < argv.len() {
        match parse_strict_id(&argv[j], 0) {
            Ok(id) => ids.push(id),
            Err(_) => break,
        }
        j += 1;
    }
    let options = parse_claim_options(&argv[j..], now)?;
    Ok(claim(
        stream,
        (&argv[2], &argv[3]),
        &ids,
        min_idle,
        &options,
        now,
        records,
    ))
}

/// The claiming part of XCLAIM, on a stream known to have the group.
/// `records` gets what replicas are sent: an XCLAIM with the delivery
/// time and count for each entry claimed or dropped, else the group's
/// new last id.
fn claim(
    stream: &mut Stream,
    (group_name, consumer): (&[u8], &[u8]),
    ids: &[StreamId],
    min_idle: i64,
    options: &ClaimOptions,
    now: i64,
    mut records: Option<&mut Vec<GroupRecord>>,
) -> (Reply, bool) {
    let Some((group_key, mut group)) = stream.groups.remove_entry(group_name) else {
        return (Reply::Array(Vec::new()), false);
    };
    let mut propagate_last_id = false;
    if options.last_id > group.last_id {
        group.last_id = options.last_id;
        propagate_last_id = true;
    }
    let delivery_time = match options.delivery_time {
        -1 => now,
        time if time < 0 || time > now => now,
        time => time,
    };
    let mut consumer_seen = false;
    let mut created = false;
    let mut out = Vec::new();
    for &id in ids {
        let entry = stream.get(id);
        let Some(entry) = entry else {
            // The entry is gone: so goes its pending entry.
            if let (Some(records), Some(_)) = (records.as_mut(), group.pel.get(&id)) {
                records.push(claim_record(&group, id));
                propagate_last_id = false;
            }
            drop_pending(&mut group, id);
            continue;
        };
        let mut forced = false;
        if options.force && !group.pel.contains_key(&id) {
            group.pel.insert(
                id,
                Nack {
                    delivery_time: now,
                    delivery_count: 1,
                    consumer: Bytes::new(),
                },
            );
            forced = true;
        }
        let Some(nack) = group.pel.get(&id) else {
            continue;
        };
        // A NACK FORCE made has no owner, and no idle time to check.
        if !forced && min_idle != 0 && now.wrapping_sub(nack.delivery_time) < min_idle {
            continue;
        }
        let count = if options.retry_count >= 0 {
            DeliveryCount::Set(options.retry_count as u64)
        } else if options.justid {
            DeliveryCount::Keep
        } else {
            DeliveryCount::Increment
        };
        created |= give(
            &mut group,
            id,
            consumer,
            &mut consumer_seen,
            !forced,
            delivery_time,
            count,
            now,
        );
        if let Some(records) = records.as_mut() {
            records.push(claim_record(&group, id));
            propagate_last_id = false;
        }
        out.push(if options.justid {
            id_reply(id)
        } else {
            entry_reply(entry)
        });
    }
    if let (true, Some(records)) = (propagate_last_id, records) {
        records.push(GroupRecord::SetId {
            last_id: group.last_id,
            entries_read: group.entries_read,
        });
    }
    stream.groups.insert(group_key, group);
    (Reply::Array(out), created)
}

/// The XCLAIM that gives a replica `id`'s pending entry as it is in
/// `group` (streamPropagateXCLAIM).
fn claim_record(group: &Group, id: StreamId) -> GroupRecord {
    let (consumer, time, count) = group.pel.get(&id).map_or((Bytes::new(), 0, 0), |n| {
        (n.consumer.clone(), n.delivery_time, n.delivery_count)
    });
    GroupRecord::Claim {
        id,
        consumer,
        time,
        count,
        last_id: group.last_id,
    }
}

/// The largest COUNT XAUTOCLAIM takes: LONG_MAX / max(sizeof(streamID), 10).
const AUTOCLAIM_MAX_COUNT: i64 = i64::MAX / 16;

/// XAUTOCLAIM allocates COUNT stream ids (16 bytes each) up front and
/// fails when that allocation cannot be had (ztrymalloc). Redis 7.0.15
/// on the reference machine gets up to 40 TiB (a COUNT of 2748779069440)
/// and fails above; that bound is used here.
fn autoclaim_allocation_fails(count: i64) -> bool {
    const LIMIT: u64 = 40 << 40;
    (count as u64).saturating_mul(16) > LIMIT
}

/// XAUTOCLAIM key group consumer min-idle-time start [COUNT count] [JUSTID]
pub fn xautoclaim(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let mut records = db.feed.is_on().then(Vec::new);
    let outcome = xautoclaim_inner(db, argv, records.as_mut());
    if let Some(records) = records {
        super::propagate::group_records(db, &argv[1], &argv[2], records);
    }
    claimed(db, &argv[1], outcome)
}

fn xautoclaim_inner(
    db: &mut Db,
    argv: &[Arg<'_>],
    records: Option<&mut Vec<GroupRecord>>,
) -> Result<(Reply, bool), Reply> {
    let now = db.now_ms as i64;
    // Redis looks the key up first (a keyspace hit or miss), and checks
    // its type after the arguments.
    let found = lookup_read(db, &argv[1]);
    let min_idle = long_long_or(
        &argv[4],
        "ERR Invalid min-idle-time argument for XAUTOCLAIM",
    )?
    .max(0);
    let (mut start, start_exclusive) = parse_interval(&argv[5], 0)?;
    if start_exclusive {
        start = start
            .incr()
            .ok_or_else(|| Reply::error("ERR invalid start ID for the interval"))?;
    }
    let mut count: i64 = 100;
    let mut justid = false;
    let mut j = 6;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        let opt = &argv[j][..];
        if opt.eq_ignore_ascii_case(b"COUNT") && more > 0 {
            count = parse_int(&argv[j + 1])
                .filter(|c| (1..=AUTOCLAIM_MAX_COUNT).contains(c))
                .ok_or_else(|| Reply::error("ERR COUNT must be > 0"))?;
            j += 1;
        } else if opt.eq_ignore_ascii_case(b"JUSTID") {
            justid = true;
        } else {
            return Err(Reply::error(SYNTAX));
        }
        j += 1;
    }
    let stream = found?
        .filter(|s| s.groups.contains_key(&argv[2][..]))
        .ok_or_else(|| no_key_or_group(&argv[1], &argv[2]))?;
    if autoclaim_allocation_fails(count) {
        return Err(Reply::error(
            "ERR Insufficient memory, failed allocating transient memory, COUNT too high.",
        ));
    }
    Ok(autoclaim(
        stream,
        (&argv[2], &argv[3]),
        min_idle,
        (start, count),
        justid,
        now,
        records,
    ))
}

/// The claiming part of XAUTOCLAIM: [cursor, claimed, deleted ids].
/// `records` gets an XCLAIM for each entry claimed or dropped.
fn autoclaim(
    stream: &mut Stream,
    (group_name, consumer): (&[u8], &[u8]),
    min_idle: i64,
    (start, count): (StreamId, i64),
    justid: bool,
    now: i64,
    mut records: Option<&mut Vec<GroupRecord>>,
) -> (Reply, bool) {
    let Some((group_key, mut group)) = stream.groups.remove_entry(group_name) else {
        return (Reply::Array(Vec::new()), false);
    };
    let mut count = count;
    let mut attempts = count.saturating_mul(10);
    let mut consumer_seen = false;
    let mut created = false;
    let mut claimed = Vec::new();
    let mut deleted = Vec::new();
    // Where the PEL is read from next; None once past its end.
    let mut position = Some(start);
    let next_at = |group: &Group, from: Option<StreamId>| {
        from.and_then(|from| group.pel.range(from..).next().map(|(id, _)| *id))
    };
    let mut at_end = false;
    loop {
        if attempts == 0 {
            break;
        }
        attempts -= 1;
        if count == 0 {
            break;
        }
        let Some(id) = next_at(&group, position) else {
            at_end = true;
            break;
        };
        position = id.incr();
        let Some(entry) = stream.get(id) else {
            if let Some(records) = records.as_mut() {
                records.push(claim_record(&group, id));
            }
            drop_pending(&mut group, id);
            deleted.push(id_reply(id));
            count -= 1;
            continue;
        };
        let idle = group
            .pel
            .get(&id)
            .map_or(0, |n| now.wrapping_sub(n.delivery_time));
        if min_idle != 0 && idle < min_idle {
            continue;
        }
        let deliveries = if justid {
            DeliveryCount::Keep
        } else {
            DeliveryCount::Increment
        };
        created |= give(
            &mut group,
            id,
            consumer,
            &mut consumer_seen,
            true,
            now,
            deliveries,
            now,
        );
        if let Some(records) = records.as_mut() {
            records.push(claim_record(&group, id));
        }
        claimed.push(if justid {
            id_reply(id)
        } else {
            entry_reply(entry)
        });
        count -= 1;
    }
    let cursor = if at_end {
        StreamId::MIN
    } else {
        next_at(&group, position).unwrap_or(StreamId::MIN)
    };
    stream.groups.insert(group_key, group);
    (
        Reply::Array(vec![
            id_reply(cursor),
            Reply::Array(claimed),
            Reply::Array(deleted),
        ]),
        created,
    )
}

// ---------------------------------------------------------------------
// XINFO
// ---------------------------------------------------------------------

/// XINFO CONSUMERS key group | GROUPS key | STREAM key [FULL [COUNT n]] | HELP
pub fn xinfo(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    unwrap_reply(xinfo_inner(db, argv))
}

fn xinfo_inner(db: &mut Db, argv: &[Arg<'_>]) -> Result<Reply, Reply> {
    if let Some(error) = subcommand_error("xinfo", argv) {
        return Err(error);
    }
    let opt = &argv[1][..];
    if opt.eq_ignore_ascii_case(b"HELP") {
        if argv.len() != 2 {
            return Err(subcommand_syntax_error(argv));
        }
        return Ok(help_reply(&argv[0], XINFO_HELP));
    } else if argv.len() < 3 {
        return Err(subcommand_syntax_error(argv));
    }
    let now = db.now_ms as i64;
    let key = &argv[2];
    let stream = lookup_read(db, key)?.ok_or_else(|| Reply::error(NO_SUCH_KEY))?;
    let stream: &Stream = stream;
    if opt.eq_ignore_ascii_case(b"CONSUMERS") && argv.len() == 4 {
        let group = stream
            .groups
            .get(&argv[3][..])
            .ok_or_else(|| no_group_for_key(&argv[3], key))?;
        Ok(consumers_info(group, now))
    } else if opt.eq_ignore_ascii_case(b"GROUPS") && argv.len() == 3 {
        Ok(groups_info(stream))
    } else if opt.eq_ignore_ascii_case(b"STREAM") {
        stream_info(stream, argv)
    } else {
        Err(subcommand_syntax_error(argv))
    }
}

fn consumers_info(group: &Group, now: i64) -> Reply {
    Reply::Array(
        group
            .consumers
            .iter()
            .map(|(name, consumer)| {
                Reply::Map(vec![
                    (field("name"), Reply::Bulk(name.clone())),
                    (field("pending"), Reply::Int(consumer.pel.len() as i64)),
                    (
                        field("idle"),
                        Reply::Int(now.wrapping_sub(consumer.seen_time).max(0)),
                    ),
                ])
            })
            .collect(),
    )
}

fn entries_read_reply(group: &Group) -> Reply {
    if group.entries_read == ENTRIES_READ_UNKNOWN {
        Reply::Nil
    } else {
        Reply::Int(group.entries_read)
    }
}

fn lag_reply(stream: &Stream, group: &Group) -> Reply {
    stream.group_lag(group).map_or(Reply::Nil, Reply::Int)
}

fn groups_info(stream: &Stream) -> Reply {
    Reply::Array(
        stream
            .groups
            .iter()
            .map(|(name, group)| {
                Reply::Map(vec![
                    (field("name"), Reply::Bulk(name.clone())),
                    (field("consumers"), Reply::Int(group.consumers.len() as i64)),
                    (field("pending"), Reply::Int(group.pel.len() as i64)),
                    (field("last-delivered-id"), id_reply(group.last_id)),
                    (field("entries-read"), entries_read_reply(group)),
                    (field("lag"), lag_reply(stream, group)),
                ])
            })
            .collect(),
    )
}

/// The number of nodes of the radix tree Redis keeps a stream's nodes in
/// (`rax->numnodes`), keyed by their master ids as 16 big-endian bytes.
///
/// Redis's rax keeps itself fully compressed for keys that are all of the
/// same length (none a prefix of another): insertion splits compressed
/// nodes only where keys diverge, and deletion merges the chains it
/// leaves. Its nodes are then the root, the keys, the prefixes where keys
/// diverge and, under each of those, one per next byte — a function of
/// the set of keys alone, whatever order they came and went in.
pub fn rax_node_count(keys: impl Iterator<Item = StreamId>) -> u64 {
    let encode = |id: StreamId| -> [u8; 16] {
        let mut key = [0u8; 16];
        key[..8].copy_from_slice(&id.ms.to_be_bytes());
        key[8..].copy_from_slice(&id.seq.to_be_bytes());
        key
    };
    let prefix = |key: &[u8; 16], len: usize| -> (u8, [u8; 16]) {
        let mut cut = [0u8; 16];
        cut[..len].copy_from_slice(&key[..len]);
        (len as u8, cut)
    };
    let mut nodes: HashSet<(u8, [u8; 16])> = HashSet::new();
    nodes.insert((0, [0; 16]));
    let mut previous: Option<[u8; 16]> = None;
    for id in keys {
        let key = encode(id);
        nodes.insert((16, key));
        if let Some(before) = previous {
            let common = before.iter().zip(&key).take_while(|(a, b)| a == b).count();
            if common < 16 {
                nodes.insert(prefix(&before, common));
                nodes.insert(prefix(&before, common + 1));
                nodes.insert(prefix(&key, common + 1));
            }
        }
        previous = Some(key);
    }
    nodes.len() as u64
}

/// XINFO STREAM key [FULL [COUNT count]]
fn stream_info(stream: &Stream, argv: &[Arg<'_>]) -> Result<Reply, Reply> {
    let options = &argv[3..];
    let mut count: i64 = 10;
    let full = !options.is_empty();
    if full {
        if options.len() != 1 && options.len() != 3 {
            return Err(subcommand_syntax_error(argv));
        }
        if !options[0].eq_ignore_ascii_case(b"full") {
            return Err(subcommand_syntax_error(argv));
        }
        if options.len() == 3 {
            if !options[1].eq_ignore_ascii_case(b"count") {
                return Err(subcommand_syntax_error(argv));
            }
            count = long_long(&options[2])?;
            if count < 0 {
                count = 10;
            }
        }
    }
    let mut map = vec![
        (field("length"), Reply::Int(stream.len() as i64)),
        (
            field("radix-tree-keys"),
            Reply::Int(stream.node_count() as i64),
        ),
        (
            field("radix-tree-nodes"),
            Reply::Int(rax_node_count(stream.node_ids()) as i64),
        ),
        (field("last-generated-id"), id_reply(stream.last_id)),
        (
            field("max-deleted-entry-id"),
            id_reply(stream.max_deleted_entry_id),
        ),
        (
            field("entries-added"),
            Reply::Int(stream.entries_added as i64),
        ),
        (field("recorded-first-entry-id"), id_reply(stream.first_id)),
    ];
    if !full {
        map.push((field("groups"), Reply::Int(stream.groups.len() as i64)));
        map.push((
            field("first-entry"),
            stream.first_entry().map_or(Reply::Nil, entry_reply),
        ));
        map.push((
            field("last-entry"),
            stream.last_entry().map_or(Reply::Nil, entry_reply),
        ));
        return Ok(Reply::Map(map));
    }
    let limit = if count == 0 {
        usize::MAX
    } else {
        usize::try_from(count).unwrap_or(usize::MAX)
    };
    map.push((
        field("entries"),
        range_reply(stream, StreamId::MIN, StreamId::MAX, limit, false),
    ));
    let groups = stream
        .groups
        .iter()
        .map(|(name, group)| group_full_info(stream, name, group, limit))
        .collect();
    map.push((field("groups"), Reply::Array(groups)));
    Ok(Reply::Map(map))
}

fn group_full_info(stream: &Stream, name: &Bytes, group: &Group, limit: usize) -> Reply {
    let pending = group
        .pel
        .iter()
        .take(limit)
        .map(|(id, nack)| {
            Reply::Array(vec![
                id_reply(*id),
                Reply::Bulk(nack.consumer.clone()),
                Reply::Int(nack.delivery_time),
                Reply::Int(nack.delivery_count as i64),
            ])
        })
        .collect();
    let consumers = group
        .consumers
        .iter()
        .map(|(consumer_name, consumer)| {
            let pending = consumer
                .pel
                .iter()
                .take(limit)
                .map(|id| {
                    let (time, count) = group
                        .pel
                        .get(id)
                        .map_or((0, 0), |n| (n.delivery_time, n.delivery_count as i64));
                    Reply::Array(vec![id_reply(*id), Reply::Int(time), Reply::Int(count)])
                })
                .collect();
            Reply::Map(vec![
                (field("name"), Reply::Bulk(consumer_name.clone())),
                (field("seen-time"), Reply::Int(consumer.seen_time)),
                (field("pel-count"), Reply::Int(consumer.pel.len() as i64)),
                (field("pending"), Reply::Array(pending)),
            ])
        })
        .collect();
    Reply::Map(vec![
        (field("name"), Reply::Bulk(name.clone())),
        (field("last-delivered-id"), id_reply(group.last_id)),
        (field("entries-read"), entries_read_reply(group)),
        (field("lag"), lag_reply(stream, group)),
        (field("pel-count"), Reply::Int(group.pel.len() as i64)),
        (field("pending"), Reply::Array(pending)),
        (field("consumers"), Reply::Array(consumers)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::stream::NodeLimits;

    fn stream_with(ids: &[(u64, u64)], limits: NodeLimits) -> Stream {
        let mut stream = Stream::new();
        for &(ms, seq) in ids {
            stream
                .append(StreamId::new(ms, seq), &[b"f", b"v"], limits)
                .expect("append");
        }
        stream
    }

    fn one_per_node() -> NodeLimits {
        NodeLimits {
            max_bytes: 4096,
            max_entries: 1,
        }
    }

    fn ids_of(ids: &[(u64, u64)]) -> Vec<StreamId> {
        ids.iter()
            .map(|&(ms, seq)| StreamId::new(ms, seq))
            .collect()
    }

    /// A group where `owner` has every id pending, delivered at `time`.
    fn group_with_pending(ids: &[StreamId], owner: &[u8], time: i64) -> Group {
        let mut group = Group::new(StreamId::MIN, ENTRIES_READ_UNKNOWN);
        group.consumer_or_create(owner, time);
        for &id in ids {
            group.pel.insert(
                id,
                Nack {
                    delivery_time: time,
                    delivery_count: 1,
                    consumer: Bytes::copy_from_slice(owner),
                },
            );
            group.consumers.get_mut(owner).unwrap().pel.insert(id);
        }
        group
    }

    fn bulk(text: &str) -> Reply {
        Reply::Bulk(Bytes::copy_from_slice(text.as_bytes()))
    }

    #[test]
    fn rax_nodes_count_as_redis_reports_them() {
        // Values read from Redis 7.0.15's XINFO STREAM.
        assert_eq!(rax_node_count(std::iter::empty()), 1);
        assert_eq!(rax_node_count(ids_of(&[(5, 5)]).into_iter()), 2);
        assert_eq!(
            rax_node_count(ids_of(&[(1, 0), (2, 0), (2, 1)]).into_iter()),
            8
        );
        // The count depends on the keys alone.
        let stream = stream_with(&[(1, 0), (2, 0), (2, 1)], one_per_node());
        assert_eq!(stream.node_count(), 3);
        assert_eq!(rax_node_count(stream.node_ids()), 8);
    }

    #[test]
    fn pending_summary_lists_consumers_with_entries() {
        let ids = ids_of(&[(1, 0), (2, 0)]);
        let mut group = group_with_pending(&ids, b"alice", 0);
        group.consumer_or_create(b"bob", 0);
        assert_eq!(
            pending_summary(&group),
            Reply::Array(vec![
                Reply::Int(2),
                bulk("1-0"),
                bulk("2-0"),
                Reply::Array(vec![Reply::Array(vec![bulk("alice"), bulk("2")])]),
            ])
        );
        let empty = Group::new(StreamId::MIN, 0);
        assert_eq!(
            pending_summary(&empty),
            Reply::Array(vec![Reply::Int(0), Reply::Nil, Reply::Nil, Reply::NilArray])
        );
    }

    #[test]
    fn pending_entries_filter_by_range_idle_and_count() {
        let ids = ids_of(&[(1, 0), (2, 0), (3, 0)]);
        let mut group = group_with_pending(&ids, b"alice", 1000);
        group.pel.get_mut(&ids[1]).unwrap().delivery_time = 500;
        let range = PendingRange {
            min_idle: 600,
            start: StreamId::MIN,
            end: StreamId::MAX,
            count: 10,
            consumer: None,
        };
        let Reply::Array(rows) = pending_entries(&group, &range, 1200) else {
            panic!("not an array");
        };
        assert_eq!(
            rows,
            vec![Reply::Array(vec![
                bulk("2-0"),
                bulk("alice"),
                Reply::Int(700),
                Reply::Int(1)
            ])]
        );
        let range = PendingRange {
            min_idle: 0,
            start: StreamId::new(2, 0),
            end: StreamId::MAX,
            count: 1,
            consumer: Some(Bytes::from_static(b"alice")),
        };
        let Reply::Array(rows) = pending_entries(&group, &range, 1200) else {
            panic!("not an array");
        };
        assert_eq!(rows.len(), 1);
        let nobody = PendingRange {
            consumer: Some(Bytes::from_static(b"nobody")),
            ..range
        };
        assert_eq!(
            pending_entries(&group, &nobody, 0),
            Reply::Array(Vec::new())
        );
    }

    #[test]
    fn xclaim_moves_entries_and_drops_deleted_ones() {
        let mut stream = stream_with(&[(1, 0), (2, 0), (3, 0)], NodeLimits::default());
        let ids = ids_of(&[(1, 0), (2, 0), (3, 0)]);
        stream.groups.insert(
            Bytes::from_static(b"g"),
            group_with_pending(&ids, b"alice", 0),
        );
        stream.delete(ids[2]);
        let options = ClaimOptions {
            force: false,
            justid: true,
            delivery_time: 40,
            retry_count: -1,
            last_id: StreamId::new(9, 0),
        };
        let mut records = Vec::new();
        let (reply, created) = claim(
            &mut stream,
            (b"g", b"bob"),
            &ids,
            0,
            &options,
            100,
            Some(&mut records),
        );
        assert!(created);
        assert_eq!(reply, Reply::Array(vec![bulk("1-0"), bulk("2-0")]));
        // Replicas get an XCLAIM per entry claimed or dropped, with the
        // time and count the entry has here (the dropped one as it was).
        let claims: Vec<(StreamId, &[u8], i64, u64, StreamId)> = records
            .iter()
            .map(|r| match r {
                GroupRecord::Claim {
                    id,
                    consumer,
                    time,
                    count,
                    last_id,
                } => (*id, &consumer[..], *time, *count, *last_id),
                _ => panic!("not an XCLAIM"),
            })
            .collect();
        let nine = StreamId::new(9, 0);
        assert_eq!(
            claims,
            vec![
                (ids[0], &b"bob"[..], 40, 1, nine),
                (ids[1], &b"bob"[..], 40, 1, nine),
                (ids[2], &b"alice"[..], 0, 1, nine),
            ]
        );
        let group = &stream.groups[&b"g"[..]];
        assert_eq!(group.last_id, StreamId::new(9, 0));
        assert!(!group.pel.contains_key(&ids[2]));
        assert!(group.consumers[&b"alice"[..]].pel.is_empty());
        assert_eq!(group.consumers[&b"bob"[..]].pel.len(), 2);
        let nack = &group.pel[&ids[0]];
        // JUSTID leaves the delivery count alone.
        assert_eq!((nack.delivery_time, nack.delivery_count), (40, 1));
        assert_eq!(&nack.consumer[..], b"bob");
    }

    #[test]
    fn xclaim_force_creates_the_nack_and_counts_a_delivery() {
        let mut stream = stream_with(&[(1, 0)], NodeLimits::default());
        stream
            .groups
            .insert(Bytes::from_static(b"g"), Group::new(StreamId::MIN, 0));
        let options = ClaimOptions {
            force: true,
            justid: false,
            delivery_time: -1,
            retry_count: -1,
            last_id: StreamId::MIN,
        };
        let ids = ids_of(&[(1, 0), (7, 0)]);
        let (reply, created) = claim(
            &mut stream,
            (b"g", b""),
            &ids,
            1_000_000,
            &options,
            100,
            None,
        );
        assert!(created);
        let Reply::Array(entries) = reply else {
            panic!("not an array");
        };
        assert_eq!(entries.len(), 1);
        let group = &stream.groups[&b"g"[..]];
        let nack = &group.pel[&ids[0]];
        assert_eq!((nack.delivery_time, nack.delivery_count), (100, 2));
        assert!(group.consumers[&b""[..]].pel.contains(&ids[0]));
        assert!(!group.pel.contains_key(&ids[1]));
    }

    #[test]
    fn xautoclaim_returns_the_next_cursor_and_deleted_ids() {
        let all = [(1, 0), (2, 0), (3, 0), (4, 0)];
        let mut stream = stream_with(&all, NodeLimits::default());
        let ids = ids_of(&all);
        stream.groups.insert(
            Bytes::from_static(b"g"),
            group_with_pending(&ids, b"alice", 0),
        );
        stream.delete(ids[1]);
        let (reply, _) = autoclaim(
            &mut stream,
            (b"g", b"bob"),
            0,
            (StreamId::MIN, 2),
            true,
            10,
            None,
        );
        assert_eq!(
            reply,
            Reply::Array(vec![
                bulk("3-0"),
                Reply::Array(vec![bulk("1-0")]),
                Reply::Array(vec![bulk("2-0")]),
            ])
        );
        let (reply, created) = autoclaim(
            &mut stream,
            (b"g", b"bob"),
            0,
            (StreamId::new(3, 0), 5),
            true,
            10,
            None,
        );
        assert!(!created);
        assert_eq!(
            reply,
            Reply::Array(vec![
                bulk("0-0"),
                Reply::Array(vec![bulk("3-0"), bulk("4-0")]),
                Reply::Array(Vec::new()),
            ])
        );
        // Entries not idle long enough use up attempts (COUNT * 10).
        let (reply, _) = autoclaim(
            &mut stream,
            (b"g", b"carol"),
            100,
            (StreamId::MIN, 1),
            false,
            10,
            None,
        );
        assert_eq!(
            reply,
            Reply::Array(vec![
                bulk("0-0"),
                Reply::Array(Vec::new()),
                Reply::Array(Vec::new()),
            ])
        );
        assert!(!stream.groups[&b"g"[..]]
            .consumers
            .contains_key(&b"carol"[..]));
    }

    #[test]
    fn help_and_syntax_errors_read_as_redis_writes_them() {
        let Reply::Array(lines) = help_reply(b"xinfo", XINFO_HELP) else {
            panic!("not an array");
        };
        assert_eq!(lines.len(), XINFO_HELP.len() + 3);
        assert_eq!(
            lines[0],
            Reply::Simple("XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:".into())
        );
        assert_eq!(
            lines.last(),
            Some(&Reply::Simple("    Prints this help.".into()))
        );
        let owned = [Bytes::from_static(b"xgroup"), Bytes::from_static(b"Create")];
        assert_eq!(
            subcommand_syntax_error(&crate::protocol::args_of(&owned)),
            Reply::error(
                "ERR unknown subcommand or wrong number of arguments for 'Create'. Try XGROUP HELP."
            )
        );
    }
}
