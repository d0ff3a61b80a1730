//! Server and connection commands that need no other core: PING, ECHO,
//! TIME, COMMAND, and the per-core parts of INFO, CONFIG and DEBUG.

use super::errors::{self, NOT_INTEGER, SYNTAX};
use super::introspect::{self, Target};
use super::table::COMMANDS;
use super::{now_us, parse_int, Db};
use crate::keyspace::stream::StreamId;
use crate::keyspace::{Entry, Value};
use crate::protocol::Arg;
use crate::protocol::Reply;
use bytes::Bytes;

pub fn ping(_db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    match argv.len() {
        1 => Reply::Simple("PONG".into()),
        2 => Reply::Bulk(argv[1].to_bytes()),
        _ => errors::wrong_arity("ping"),
    }
}

pub fn echo(_db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    Reply::Bulk(argv[1].to_bytes())
}

pub fn time(_db: &mut Db, _argv: &[Arg<'_>]) -> Reply {
    let now = now_us();
    Reply::Array(vec![
        Reply::bulk_str(&(now / 1_000_000).to_string()),
        Reply::bulk_str(&(now % 1_000_000).to_string()),
    ])
}

const COMMAND_HELP: &[&str] = &[
    "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full Redis command.",
    "GETKEYSANDFLAGS <full-command>",
    "    Return the keys and the access flags from a full Redis command.",
    "HELP",
    "    Prints this help.",
];

pub fn command(_db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    if argv.len() == 1 {
        return Reply::Array(COMMANDS.iter().map(introspect::command_info).collect());
    }
    let sub = argv[1].to_ascii_uppercase();
    match sub.as_slice() {
        b"COUNT" if argv.len() == 2 => Reply::Int(COMMANDS.len() as i64),
        b"LIST" => command_list(&argv[2..]),
        b"INFO" if argv.len() == 2 => {
            Reply::Array(COMMANDS.iter().map(introspect::command_info).collect())
        }
        b"INFO" => Reply::Array(
            argv[2..]
                .iter()
                .map(|name| introspect::target_info(introspect::resolve_name(name)))
                .collect(),
        ),
        b"DOCS" => {
            let targets: Vec<Target> = if argv.len() == 2 {
                COMMANDS.iter().map(Target::Command).collect()
            } else {
                argv[2..]
                    .iter()
                    .filter_map(|name| introspect::resolve_name(name))
                    .collect()
            };
            Reply::Map(
                targets
                    .into_iter()
                    .filter_map(introspect::target_docs)
                    .collect(),
            )
        }
        b"GETKEYS" if argv.len() >= 4 => command_getkeys(&argv[2..], false),
        b"GETKEYSANDFLAGS" if argv.len() >= 4 => command_getkeys(&argv[2..], true),
        b"HELP" if argv.len() == 2 => super::keys::help_reply(COMMAND_HELP),
        b"COUNT" | b"GETKEYS" | b"GETKEYSANDFLAGS" | b"HELP" => errors::wrong_arity(&format!(
            "command|{}",
            String::from_utf8_lossy(&argv[1]).to_ascii_lowercase()
        )),
        _ => errors::unknown_subcommand("command", &argv[1]),
    }
}

/// COMMAND LIST [FILTERBY MODULE|ACLCAT|PATTERN value].
fn command_list(args: &[Arg<'_>]) -> Reply {
    let filter = match args {
        [] => None,
        [filterby, kind, value] if filterby.eq_ignore_ascii_case(b"FILTERBY") => {
            let kind = kind.to_ascii_uppercase();
            if !matches!(kind.as_slice(), b"ACLCAT" | b"PATTERN" | b"MODULE") {
                return Reply::error(SYNTAX);
            }
            Some((kind, value))
        }
        _ => return Reply::error(SYNTAX),
    };
    introspect::list(|name, acl| match &filter {
        None => true,
        Some((kind, value)) => match kind.as_slice() {
            b"ACLCAT" => acl.iter().any(|category| {
                category
                    .trim_start_matches('@')
                    .as_bytes()
                    .eq_ignore_ascii_case(value)
            }),
            b"PATTERN" => super::glob::matches(&value.to_ascii_lowercase(), name.as_bytes()),
            // No modules are loaded, so no command belongs to one.
            _ => false,
        },
    })
}

fn command_getkeys(command_argv: &[Arg<'_>], with_flags: bool) -> Reply {
    match introspect::get_keys(command_argv) {
        Err(error) => Reply::error(error.text()),
        Ok(keys) => Reply::Array(
            keys.into_iter()
                .map(|key| {
                    let name = Reply::Bulk(command_argv[key.index].to_bytes());
                    if with_flags {
                        let flags = key.flags.iter().map(|f| Reply::Simple((*f).into()));
                        Reply::Array(vec![name, Reply::Set(flags.collect())])
                    } else {
                        name
                    }
                })
                .collect(),
        ),
    }
}

/// This core's keyspace figures for INFO: [keys, expires, hits, misses,
/// expired, evicted].
pub fn info_local(db: &mut Db, _argv: &[Arg<'_>]) -> Reply {
    let stats = db.keyspace.stats;
    Reply::Array(vec![
        Reply::Int(db.keyspace.len() as i64),
        Reply::Int(db.keyspace.volatile_len() as i64),
        Reply::Int(stats.hits as i64),
        Reply::Int(stats.misses as i64),
        Reply::Int(stats.expired_keys as i64),
        Reply::Int(stats.evicted_keys as i64),
    ])
}

/// Applies `CONFIG SET name value...` (already validated) on this core.
pub fn config_set_local(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let name = String::from_utf8_lossy(&argv[1]).to_string();
    let values: Vec<String> = argv[2..]
        .iter()
        .map(|v| String::from_utf8_lossy(v).to_string())
        .collect();
    let result = db.config.apply(&name, &values);
    db.sync_keyspace_config();
    match result {
        Ok(()) => Reply::ok(),
        Err(reason) => Reply::error_owned(reason),
    }
}

pub fn config_resetstat_local(db: &mut Db, _argv: &[Arg<'_>]) -> Reply {
    db.keyspace.stats = Default::default();
    Reply::ok()
}

/// DEBUG POPULATE on this core: argv = [_, count, prefix, size or ""].
/// Creates `prefix:N` for every N below count whose slot is this core's.
pub fn populate_local(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let count = parse_int(&argv[1]).unwrap_or(0).max(0);
    let prefix = &argv[2];
    let size = parse_int(&argv[3]).filter(|&s| s > 0).map(|s| s as usize);
    let now = db.now_ms;
    let mut key = Vec::with_capacity(prefix.len() + 21);
    let mut created = 0;
    for n in 0..count {
        key.clear();
        key.extend_from_slice(prefix);
        key.push(b':');
        key.extend_from_slice(crate::protocol::reply::itoa_buf(n).as_bytes_mut());
        let slot = db.slot(&key);
        if crate::cluster::core_of_slot(slot, db.cores) != db.core
            || db.keyspace.contains(slot, &key, now)
        {
            continue;
        }
        let mut value = format!("value:{n}").into_bytes();
        if let Some(size) = size {
            value.resize(size, 0);
        }
        db.keyspace.insert(
            slot,
            &key,
            Entry::new(Value::string(Bytes::from(value)), now),
        );
        created += 1;
    }
    Reply::Int(created)
}

/// Redis's DEBUG DIGEST-VALUE for one key (xorObjectDigest): the type,
/// the value and whether it has an expiry, SHA1-mixed; 40 hex digits, all
/// zeros for a missing key. Redis nodes compare these during resharding.
pub fn digest_value_local(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let now = db.now_ms;
    let mut digest = [0u8; 20];
    if let Some(entry) = db.keyspace.peek(db.slot(&argv[1]), &argv[1], now) {
        object_digest(&mut digest, entry);
    }
    Reply::Simple(
        digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
            .into(),
    )
}

/// DEBUG DIGEST's part on one core: the XOR of SHA1 of every live key's digest
/// (mixDigest of the key, then xorObjectDigest), as 40 hex digits, and the
/// number of keys. XOR makes the order of keys and cores irrelevant.
pub fn dataset_digest_local(db: &mut Db, _argv: &[Arg<'_>]) -> Reply {
    let now = db.now_ms;
    let mut total = [0u8; 20];
    let mut count = 0;
    for index in 0..db.keyspace.local_slot_count() {
        let Some((_, map)) = db.keyspace.slot_at(index) else {
            break;
        };
        for (key, entry) in map {
            if entry.expire_at_ms() != 0 && entry.expire_at_ms() <= now {
                continue;
            }
            let mut digest = [0u8; 20];
            mix_digest(&mut digest, key);
            object_digest(&mut digest, entry);
            // Redis folds each key's digest in with xorDigest, which
            // hashes it first.
            xor_digest(&mut total, &digest);
            count += 1;
        }
    }
    Reply::Array(vec![
        Reply::Bulk(Bytes::copy_from_slice(&total)),
        Reply::Int(count),
    ])
}

/// Combines the cores' parts into Redis's DEBUG DIGEST value.
pub fn dataset_digest(parts: &[([u8; 20], i64)]) -> String {
    let mut final_digest = [0u8; 20];
    if parts.iter().map(|(_, count)| count).sum::<i64>() > 0 {
        // Redis mixes in the database number (0) before the keys.
        mix_digest(&mut final_digest, &0u32.to_be_bytes());
        for (part, _) in parts {
            for (f, p) in final_digest.iter_mut().zip(part) {
                *f ^= p;
            }
        }
    }
    final_digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Redis's xorObjectDigest for one value.
fn object_digest(digest: &mut [u8; 20], entry: &Entry) {
    match &entry.value {
        Value::Str { bytes, .. } => {
            const OBJ_STRING: u32 = 0;
            mix_digest(digest, &OBJ_STRING.to_be_bytes());
            mix_digest(digest, bytes);
        }
        Value::Hash(hash) => {
            // Each pair is mixed on its own and XORed in, so the order of
            // fields does not matter.
            const OBJ_HASH: u32 = 4;
            mix_digest(digest, &OBJ_HASH.to_be_bytes());
            for (field, value) in hash.iter() {
                let mut pair = [0u8; 20];
                mix_digest(&mut pair, field);
                mix_digest(&mut pair, value);
                xor_digest(digest, &pair);
            }
        }
        Value::Set(set) => {
            const OBJ_SET: u32 = 2;
            mix_digest(digest, &OBJ_SET.to_be_bytes());
            for member in set.members() {
                xor_digest(digest, &member);
            }
        }
        Value::Stream(stream) => {
            const OBJ_STREAM: u32 = 6;
            mix_digest(digest, &OBJ_STREAM.to_be_bytes());
            for entry in stream.range(StreamId::MIN, StreamId::MAX) {
                mix_digest(
                    digest,
                    format!("{}.{}", entry.id.ms, entry.id.seq).as_bytes(),
                );
                for item in entry.items() {
                    mix_digest(digest, item);
                }
            }
        }
        Value::ZSet(zset) => {
            const OBJ_ZSET: u32 = 3;
            mix_digest(digest, &OBJ_ZSET.to_be_bytes());
            for (member, score) in zset.entries() {
                let mut pair = [0u8; 20];
                mix_digest(&mut pair, &member);
                mix_digest(
                    &mut pair,
                    crate::protocol::reply::format_double(score).as_bytes(),
                );
                xor_digest(digest, &pair);
            }
        }
        Value::List(items) => {
            const OBJ_LIST: u32 = 1;
            mix_digest(digest, &OBJ_LIST.to_be_bytes());
            for item in items.iter() {
                mix_digest(digest, item);
            }
        }
    }
    if entry.expire_at_ms() != 0 {
        xor_digest(digest, b"!!expire!!");
    }
}

/// Redis's xorDigest: digest ^= SHA1(data).
fn xor_digest(digest: &mut [u8; 20], data: &[u8]) {
    let hash = sha1_smol::Sha1::from(data).digest().bytes();
    for (d, h) in digest.iter_mut().zip(hash) {
        *d ^= h;
    }
}

/// Redis's mixDigest: xorDigest, then digest = SHA1(digest).
fn mix_digest(digest: &mut [u8; 20], data: &[u8]) {
    xor_digest(digest, data);
    *digest = sha1_smol::Sha1::from(&digest[..]).digest().bytes();
}

/// DEBUG OBJECT key, as Redis prints it.
pub fn debug_object_local(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let now = db.now_ms;
    // Redis finds the key in its dict, without expiring it.
    let Some(entry) = db.keyspace.stored(db.slot(&argv[1]), &argv[1]) else {
        return Reply::error(super::errors::NO_SUCH_KEY);
    };
    let (length, encoding) = match &entry.value {
        Value::Str { bytes, .. } => (bytes.len(), entry.value.encoding_name()),
        // What the value takes in an RDB file: the payload less its type
        // byte and footer.
        other => (
            crate::keyspace::rdb::dump(other).len() - 11,
            other.encoding_name(),
        ),
    };
    let idle = entry.idle_secs(now);
    let mut text = format!(
        "Value at:{:p} refcount:1 encoding:{encoding} serializedlength:{} lru:{} lru_seconds_idle:{idle}",
        entry as *const Entry,
        length.max(1),
        entry.access_clock()
    );
    if let Value::List(items) = &entry.value {
        text.push_str(&quicklist_fields(items, db.config.list_max_listpack_size));
    }
    Reply::Simple(text.into())
}

/// The quicklist part of DEBUG OBJECT for a list, as Redis prints it.
fn quicklist_fields(items: &std::collections::VecDeque<Bytes>, fill: i64) -> String {
    use crate::keyspace::rdb;
    let nodes = rdb::list_nodes(items, fill);
    let bytes: usize = nodes
        .iter()
        .map(|&(first, end)| rdb::listpack_bytes(items.range(first..end)))
        .sum();
    let average = items.len() as f64 / nodes.len().max(1) as f64;
    format!(
        " ql_nodes:{} ql_avg_node:{average:.2} ql_listpack_max:{fill} ql_compressed:0 ql_uncompressed_size:{bytes}",
        nodes.len()
    )
}

pub fn set_active_expire_local(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    db.keyspace.active_expire_enabled = argv[1].as_ref() != b"0";
    Reply::ok()
}

/// Validates an integer argument for coordinator-side commands.
pub fn int_arg(arg: &[u8]) -> Result<i64, Reply> {
    parse_int(arg).ok_or(Reply::error(NOT_INTEGER))
}

/// DEBUG PROTOCOL <type>: a test value of each reply type. Attributes and
/// push messages have no place in our replies: `attrib` answers the reply
/// that follows Redis's attribute, and `push` (RESP3) the reply that
/// follows its push message.
pub fn debug_protocol(name: &[u8], resp3: bool) -> Reply {
    let numbers = || (0..3).map(Reply::Int).collect::<Vec<_>>();
    match name.to_ascii_lowercase().as_slice() {
        b"string" => Reply::bulk_static("Hello World"),
        b"integer" => Reply::Int(12345),
        // Redis's test value, not pi.
        #[allow(clippy::approx_constant)]
        b"double" => Reply::Double(3.141),
        b"bignum" => Reply::BigNumber(bytes::Bytes::from_static(
            b"1234567999999999999999999999999999999",
        )),
        b"null" => Reply::Nil,
        b"array" => Reply::Array(numbers()),
        b"set" => Reply::Set(numbers()),
        b"map" => Reply::Map(
            (0..3)
                .map(|j| (Reply::Int(j), Reply::Bool(j == 1)))
                .collect(),
        ),
        b"attrib" => Reply::bulk_static("Some real reply following the attribute"),
        b"push" if !resp3 => Reply::error("ERR RESP2 is not supported by this command"),
        b"push" => Reply::bulk_static("Some real reply following the push reply"),
        b"true" => Reply::Bool(true),
        b"false" => Reply::Bool(false),
        b"verbatim" => Reply::Verbatim("This is a verbatim\nstring".into()),
        _ => Reply::error(
            "ERR Wrong protocol type name. Please use one of the following: \
             string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false",
        ),
    }
}
