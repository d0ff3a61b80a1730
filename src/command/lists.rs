//! List commands without blocking, shard side (Redis's `t_list.c`).
//! LMOVE, RPOPLPUSH and LMPOP run here when their keys live on one core;
//! across cores `shard::collections` runs them under key locks.

use super::errors::{self, NOT_INTEGER, NO_SUCH_KEY, SYNTAX, WRONGTYPE};
use super::{drop_if_empty, typed_value};
use super::{parse_int, Db};
use crate::keyspace::{Entry, Value};
use crate::protocol::Arg;
use crate::protocol::Reply;
use bytes::Bytes;
use std::collections::VecDeque;

type List = VecDeque<Bytes>;

/// A list for reading or writing (without creating it).
fn get_list<'a>(db: &'a mut Db, key: &[u8], read: bool) -> Result<Option<&'a mut List>, Reply> {
    typed_value(db, key, !read, |value| match value {
        Value::List(list) => Some(&mut **list),
        _ => None,
    })
}

fn push_generic(db: &mut Db, argv: &[Arg<'_>], left: bool, only_existing: bool) -> Reply {
    let key = &argv[1];
    let exists = match get_list(db, key, false) {
        Ok(list) => list.is_some(),
        Err(reply) => return reply,
    };
    if !exists {
        if only_existing {
            return Reply::Int(0);
        }
        let now = db.now_ms;
        let entry = Entry::new(Value::List(Box::default()), now);
        db.keyspace.insert(db.slot(key), key, entry);
    }
    let Ok(Some(list)) = get_list(db, key, false) else {
        return Reply::error(WRONGTYPE);
    };
    // Copies: arguments are slices of a whole read buffer, which a stored
    // item must not keep alive.
    for item in &argv[2..] {
        let item = Bytes::copy_from_slice(item);
        if left {
            list.push_front(item);
        } else {
            list.push_back(item);
        }
    }
    Reply::Int(list.len() as i64)
}

pub fn lpush(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    push_generic(db, argv, true, false)
}

pub fn rpush(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    push_generic(db, argv, false, false)
}

pub fn lpushx(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    push_generic(db, argv, true, true)
}

pub fn rpushx(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    push_generic(db, argv, false, true)
}

fn pop_generic(db: &mut Db, argv: &[Arg<'_>], left: bool, name: &str) -> Reply {
    if argv.len() > 3 {
        return errors::wrong_arity(name);
    }
    let count = match argv.get(2).map(|arg| parse_int(arg)) {
        None => None,
        Some(Some(count)) if count >= 0 => Some(count as usize),
        Some(_) => return Reply::error("ERR value is out of range, must be positive"),
    };
    let list = match get_list(db, &argv[1], false) {
        Ok(Some(list)) => list,
        Ok(None) if count.is_some() => return Reply::NilArray,
        Ok(None) => return Reply::Nil,
        Err(reply) => return reply,
    };
    let wanted = count.unwrap_or(1).min(list.len());
    let popped: Vec<Bytes> = (0..wanted)
        .filter_map(|_| {
            if left {
                list.pop_front()
            } else {
                list.pop_back()
            }
        })
        .collect();
    drop_if_empty(db, &argv[1]);
    match count {
        Some(_) => Reply::Array(popped.into_iter().map(Reply::Bulk).collect()),
        None => popped.into_iter().next().map_or(Reply::Nil, Reply::Bulk),
    }
}

pub fn lpop(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    pop_generic(db, argv, true, "lpop")
}

pub fn rpop(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    pop_generic(db, argv, false, "rpop")
}

pub fn llen(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    match get_list(db, &argv[1], true) {
        Ok(list) => Reply::Int(list.map_or(0, |l| l.len() as i64)),
        Err(reply) => reply,
    }
}

/// LRANGE/LTRIM's index rules: Some((first, last)) inclusive, None if empty.
fn clamp_range(start: i64, stop: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut start = if start < 0 { len + start } else { start };
    let mut stop = if stop < 0 { len + stop } else { stop };
    if start < 0 {
        start = 0;
    }
    if start > stop || start >= len {
        return None;
    }
    if stop >= len {
        stop = len - 1;
    }
    Some((start as usize, stop as usize))
}

fn two_ints(a: &[u8], b: &[u8]) -> Result<(i64, i64), Reply> {
    match (parse_int(a), parse_int(b)) {
        (Some(a), Some(b)) => Ok((a, b)),
        _ => Err(Reply::error(NOT_INTEGER)),
    }
}

pub fn lrange(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let (start, stop) = match two_ints(&argv[2], &argv[3]) {
        Ok(range) => range,
        Err(reply) => return reply,
    };
    match get_list(db, &argv[1], true) {
        Ok(Some(list)) => match clamp_range(start, stop, list.len()) {
            Some((first, last)) => Reply::Array(
                list.range(first..=last)
                    .map(|item| Reply::Bulk(item.clone()))
                    .collect(),
            ),
            None => Reply::Array(Vec::new()),
        },
        Ok(None) => Reply::Array(Vec::new()),
        Err(reply) => reply,
    }
}

pub fn ltrim(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let (start, stop) = match two_ints(&argv[2], &argv[3]) {
        Ok(range) => range,
        Err(reply) => return reply,
    };
    match get_list(db, &argv[1], false) {
        Ok(Some(list)) => match clamp_range(start, stop, list.len()) {
            Some((first, last)) => {
                list.truncate(last + 1);
                list.drain(..first);
            }
            None => list.clear(),
        },
        Ok(None) => return Reply::ok(),
        Err(reply) => return reply,
    }
    drop_if_empty(db, &argv[1]);
    Reply::ok()
}

fn resolve_index(index: i64, len: usize) -> Option<usize> {
    let index = if index < 0 { len as i64 + index } else { index };
    (0..len as i64).contains(&index).then_some(index as usize)
}

pub fn lindex(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    // Like Redis, the index is parsed only once the key is known to hold a list.
    match get_list(db, &argv[1], true) {
        Ok(Some(list)) => {
            let Some(index) = parse_int(&argv[2]) else {
                return Reply::error(NOT_INTEGER);
            };
            resolve_index(index, list.len()).map_or(Reply::Nil, |at| Reply::Bulk(list[at].clone()))
        }
        Ok(None) => Reply::Nil,
        Err(reply) => reply,
    }
}

pub fn lset(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    // Like Redis: no such key and WRONGTYPE come before a bad index.
    match get_list(db, &argv[1], false) {
        Ok(Some(list)) => match parse_int(&argv[2]).map(|index| resolve_index(index, list.len())) {
            None => Reply::error(NOT_INTEGER),
            Some(Some(at)) => {
                list[at] = Bytes::copy_from_slice(&argv[3]);
                Reply::ok()
            }
            Some(None) => Reply::error("ERR index out of range"),
        },
        Ok(None) => Reply::error(NO_SUCH_KEY),
        Err(reply) => reply,
    }
}

pub fn linsert(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let after = match argv[2].to_ascii_uppercase().as_slice() {
        b"BEFORE" => false,
        b"AFTER" => true,
        _ => return Reply::error(SYNTAX),
    };
    match get_list(db, &argv[1], false) {
        Ok(Some(list)) => match list.iter().position(|item| item[..] == argv[3][..]) {
            Some(at) => {
                list.insert(at + usize::from(after), Bytes::copy_from_slice(&argv[4]));
                Reply::Int(list.len() as i64)
            }
            None => Reply::Int(-1),
        },
        Ok(None) => Reply::Int(0),
        Err(reply) => reply,
    }
}

pub fn lrem(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let Some(count) = parse_int(&argv[2]) else {
        return Reply::error(NOT_INTEGER);
    };
    let element = &argv[3];
    let removed = match get_list(db, &argv[1], false) {
        Ok(Some(list)) => remove_matches(list, element, count),
        Ok(None) => 0,
        Err(reply) => return reply,
    };
    drop_if_empty(db, &argv[1]);
    Reply::Int(removed as i64)
}

/// Removes up to |count| items equal to `element` (all when 0), from the
/// head when count >= 0, from the tail otherwise.
fn remove_matches(list: &mut List, element: &[u8], count: i64) -> usize {
    let limit = if count == 0 {
        usize::MAX
    } else {
        count.unsigned_abs() as usize
    };
    let mut positions: Vec<usize> = if count >= 0 {
        (0..list.len())
            .filter(|&i| list[i] == element)
            .take(limit)
            .collect()
    } else {
        (0..list.len())
            .rev()
            .filter(|&i| list[i] == element)
            .take(limit)
            .collect()
    };
    positions.sort_unstable();
    let removed = positions.len();
    let mut index = 0;
    let mut next = positions.into_iter().peekable();
    list.retain(|_| {
        let keep = next.peek() != Some(&index);
        if !keep {
            next.next();
        }
        index += 1;
        keep
    });
    removed
}

struct LposOptions {
    rank: i64,
    count: Option<usize>,
    maxlen: usize,
}

fn parse_lpos_options(args: &[Arg<'_>]) -> Result<LposOptions, Reply> {
    let mut options = LposOptions {
        rank: 1,
        count: None,
        maxlen: 0,
    };
    let mut index = 0;
    while index < args.len() {
        let Some(value) = args.get(index + 1) else {
            return Err(Reply::error(SYNTAX));
        };
        match args[index].to_ascii_uppercase().as_slice() {
            b"RANK" => {
                let Some(rank) = parse_int(value) else {
                    return Err(Reply::error(NOT_INTEGER));
                };
                if rank == 0 {
                    return Err(Reply::error("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"));
                }
                options.rank = rank;
            }
            // Redis's getPositiveLongFromObjectOrReply: one message for "not a number" too.
            b"COUNT" => match parse_int(value) {
                Some(count) if count >= 0 => options.count = Some(count as usize),
                _ => return Err(Reply::error("ERR COUNT can't be negative")),
            },
            b"MAXLEN" => match parse_int(value) {
                Some(maxlen) if maxlen >= 0 => options.maxlen = maxlen as usize,
                _ => return Err(Reply::error("ERR MAXLEN can't be negative")),
            },
            _ => return Err(Reply::error(SYNTAX)),
        }
        index += 2;
    }
    Ok(options)
}

pub fn lpos(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let options = match parse_lpos_options(&argv[3..]) {
        Ok(options) => options,
        Err(reply) => return reply,
    };
    let list = match get_list(db, &argv[1], true) {
        Ok(Some(list)) => list,
        Ok(None) if options.count.is_some() => return Reply::Array(Vec::new()),
        Ok(None) => return Reply::Nil,
        Err(reply) => return reply,
    };
    let len = list.len();
    let scan = if options.maxlen == 0 {
        len
    } else {
        options.maxlen.min(len)
    };
    let indexes: Box<dyn Iterator<Item = usize>> = if options.rank > 0 {
        Box::new(0..scan)
    } else {
        Box::new((len - scan..len).rev())
    };
    let wanted = match options.count {
        Some(0) => usize::MAX,
        Some(count) => count,
        None => 1,
    };
    // Redis negates the rank in a C long: i64::MIN stays negative and
    // every match counts, as for rank -1.
    let skip = if options.rank == i64::MIN {
        0
    } else {
        (options.rank.unsigned_abs() - 1) as usize
    };
    let found: Vec<Reply> = indexes
        .filter(|&i| list[i][..] == argv[2][..])
        .skip(skip)
        .take(wanted)
        .map(|i| Reply::Int(i as i64))
        .collect();
    match options.count {
        Some(_) => Reply::Array(found),
        None => found.into_iter().next().unwrap_or(Reply::Nil),
    }
}

/// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]: pops from the
/// first non-empty list, replying [key, [items]], or a null array.
pub fn lmpop(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let count = match parse_int(&argv[1]) {
        Some(count) if count > 0 => count as usize,
        _ => return Reply::error("ERR numkeys should be greater than 0"),
    };
    let side_index = count.saturating_add(2);
    let Some(left) = argv.get(side_index).and_then(|arg| parse_side(arg)) else {
        return Reply::error(SYNTAX);
    };
    let mut wanted: Option<usize> = None;
    let mut index = side_index + 1;
    while index < argv.len() {
        if wanted.is_some()
            || !argv[index].eq_ignore_ascii_case(b"COUNT")
            || index + 1 >= argv.len()
        {
            return Reply::error(SYNTAX);
        }
        wanted = match parse_int(&argv[index + 1]) {
            Some(value) if value > 0 => Some(value as usize),
            _ => return Reply::error("ERR count should be greater than 0"),
        };
        index += 2;
    }
    for key in &argv[2..side_index] {
        let list = match get_list(db, key, false) {
            Ok(Some(list)) if !list.is_empty() => list,
            Ok(_) => continue,
            Err(reply) => return reply,
        };
        let take = wanted.unwrap_or(1).min(list.len());
        let items: Vec<Reply> = (0..take)
            .filter_map(|_| {
                if left {
                    list.pop_front()
                } else {
                    list.pop_back()
                }
            })
            .map(Reply::Bulk)
            .collect();
        drop_if_empty(db, key);
        return Reply::Array(vec![Reply::Bulk(key.to_bytes()), Reply::Array(items)]);
    }
    Reply::NilArray
}

/// LMPOP's arguments: (position of LEFT|RIGHT, from the left, count).
pub fn parse_lmpop(argv: &[Arg<'_>]) -> Result<(usize, bool, Option<usize>), Reply> {
    let count = match parse_int(&argv[1]) {
        Some(count) if count > 0 => count as usize,
        _ => return Err(Reply::error("ERR numkeys should be greater than 0")),
    };
    let side_index = count.saturating_add(2);
    let Some(left) = argv.get(side_index).and_then(|arg| parse_side(arg)) else {
        return Err(Reply::error(SYNTAX));
    };
    let mut wanted: Option<usize> = None;
    let mut index = side_index + 1;
    while index < argv.len() {
        if wanted.is_some()
            || !argv[index].eq_ignore_ascii_case(b"COUNT")
            || index + 1 >= argv.len()
        {
            return Err(Reply::error(SYNTAX));
        }
        wanted = match parse_int(&argv[index + 1]) {
            Some(value) if value > 0 => Some(value as usize),
            _ => return Err(Reply::error("ERR count should be greater than 0")),
        };
        index += 2;
    }
    Ok((side_index, left, wanted))
}

pub fn parse_side(arg: &[u8]) -> Option<bool> {
    match arg.to_ascii_uppercase().as_slice() {
        b"LEFT" => Some(true),
        b"RIGHT" => Some(false),
        _ => None,
    }
}

fn move_generic(
    db: &mut Db,
    source: &Arg<'_>,
    destination: &Arg<'_>,
    from_left: bool,
    to_left: bool,
) -> Reply {
    match get_list(db, source, false) {
        Ok(Some(_)) => {}
        Ok(None) => return Reply::Nil,
        Err(reply) => return reply,
    }
    let destination_exists = match get_list(db, destination, false) {
        Ok(list) => list.is_some(),
        Err(reply) => return reply,
    };
    let Ok(Some(list)) = get_list(db, source, false) else {
        return Reply::Nil;
    };
    let item = if from_left {
        list.pop_front()
    } else {
        list.pop_back()
    };
    let Some(item) = item else {
        return Reply::Nil;
    };
    if !destination_exists && source != destination {
        let now = db.now_ms;
        let entry = Entry::new(Value::List(Box::default()), now);
        db.keyspace.insert(db.slot(destination), destination, entry);
    }
    if let Ok(Some(list)) = get_list(db, destination, false) {
        if to_left {
            list.push_front(item.clone());
        } else {
            list.push_back(item.clone());
        }
    }
    drop_if_empty(db, source);
    Reply::Bulk(item)
}

pub fn lmove(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    match (parse_side(&argv[3]), parse_side(&argv[4])) {
        (Some(from_left), Some(to_left)) => {
            move_generic(db, &argv[1], &argv[2], from_left, to_left)
        }
        _ => Reply::error(SYNTAX),
    }
}

pub fn rpoplpush(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    move_generic(db, &argv[1], &argv[2], false, true)
}
