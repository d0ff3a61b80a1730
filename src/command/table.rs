//! The command table: one row per command. Routing, arity checks, COMMAND
//! and COMMAND DOCS all read these rows; COMMAND adds Redis's metadata for
//! them from `docs` (see `introspect`).

use super::{
    bitmaps, dump, geo, hashes, hyperloglog, keys, lists, server, sets, stream_groups, streams,
    strings, zsets, ShardFn,
};
use std::collections::HashMap;
use std::sync::OnceLock;

/// Commands the coordinator (the connection's task) runs, because they fan
/// out over cores or touch the connection's own state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coord {
    Memory,
    Wait,
    Role,
    Replicaof,
    Psync,
    Replconf,
    Lastsave,
    Save,
    Bgsave,
    Bgrewriteaof,
    Monitor,
    Slowlog,
    Latency,
    Mget,
    Mset,
    Msetnx,
    Del,
    Exists,
    Touch,
    Rename,
    Renamenx,
    Copy,
    Lcs,
    Sinter,
    Sunion,
    Sdiff,
    Sinterstore,
    Sunionstore,
    Sdiffstore,
    Sintercard,
    Smove,
    Lmove,
    Rpoplpush,
    Lmpop,
    Bitop,
    Pfcount,
    Pfmerge,
    Zunion,
    Zinter,
    Zdiff,
    Zunionstore,
    Zinterstore,
    Zdiffstore,
    Zintercard,
    Zmpop,
    Zrangestore,
    GeoStore,
    Sort,
    SortRo,
    Keys,
    Scan,
    Randomkey,
    Dbsize,
    Flushall,
    Info,
    Config,
    Client,
    Hello,
    Auth,
    Select,
    Reset,
    Quit,
    Debug,
    Shutdown,
    Cluster,
    Migrate,
    Asking,
    Readonly,
    Readwrite,
    Subscribe,
    Unsubscribe,
    Psubscribe,
    Punsubscribe,
    Ssubscribe,
    Sunsubscribe,
    Publish,
    Spublish,
    Pubsub,
    Blpop,
    Brpop,
    Blmove,
    Blmpop,
    Brpoplpush,
    Bzpopmin,
    Bzpopmax,
    Bzmpop,
    Multi,
    Exec,
    Discard,
    Watch,
    Unwatch,
    Eval,
    EvalRo,
    Evalsha,
    EvalshaRo,
    Script,
    Xread,
    Xreadgroup,
}

#[derive(Clone, Copy)]
pub enum Exec {
    /// Runs on the core owning its keys, inline when that is this core.
    /// Keyless commands run on the connection's core.
    Shard(ShardFn),
    /// As `Shard` when all keys are on one core; else the coordinator.
    ShardOrCross(ShardFn, Coord),
    /// Always the coordinator.
    Coord(Coord),
}

pub struct CommandSpec {
    pub name: &'static str,
    /// Redis arity: N means exactly N arguments (with the name), -N at least N.
    pub arity: i32,
    pub flags: &'static [&'static str],
    pub acl: &'static [&'static str],
    pub first_key: i32,
    pub last_key: i32,
    pub step: i32,
    pub group: &'static str,
    pub since: &'static str,
    pub summary: &'static str,
    pub exec: Exec,
    /// How `key_positions` finds the keys, worked out from the name and the
    /// flags when the table is built, so no command compares strings for it.
    pub keys: KeyShape,
    /// Has the `write` flag.
    pub write: bool,
    /// Its first argument is a subcommand (`CLIENT LIST`).
    pub container: bool,
    /// Takes key/value pairs (MSET, MSETNX).
    pub pairs: bool,
}

/// Where a command's keys are (see `command::key_positions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyShape {
    /// From `first_key`, `last_key` and `step`.
    Fixed,
    /// MIGRATE: argv[3], or every argument after KEYS.
    Migrate,
    /// SORT and SORT_RO: the key, and STORE's destination (SORT only).
    Sort { read_only: bool },
    /// A destination, then a key count at argv[2] (ZUNIONSTORE and kin).
    CountAfterDestination,
    /// A key count at argv[at], the keys after it (SINTERCARD, LMPOP).
    Count { at: usize },
    /// GEORADIUS and GEORADIUSBYMEMBER: the source, and the destination
    /// of their STORE or STOREDIST option (options begin at `options`).
    GeoStore { options: usize },
    /// XREAD and XREADGROUP: the first half of what follows STREAMS.
    Streams,
}

impl KeyShape {
    const fn of(name: &str, flags: &[&str], first_key: i32) -> KeyShape {
        if str_eq(name, "migrate") {
            KeyShape::Migrate
        } else if str_eq(name, "sort") || str_eq(name, "sort_ro") {
            KeyShape::Sort {
                read_only: str_eq(name, "sort_ro"),
            }
        } else if str_eq(name, "georadius") {
            KeyShape::GeoStore { options: 6 }
        } else if str_eq(name, "georadiusbymember") {
            KeyShape::GeoStore { options: 5 }
        } else if str_eq(name, "xread") || str_eq(name, "xreadgroup") {
            KeyShape::Streams
        } else if !is_one_of("movablekeys", flags) {
            KeyShape::Fixed
        } else if first_key == 1 {
            KeyShape::CountAfterDestination
        } else if str_eq(name, "blmpop")
            || str_eq(name, "bzmpop")
            || str_eq(name, "eval")
            || str_eq(name, "evalsha")
            || str_eq(name, "eval_ro")
            || str_eq(name, "evalsha_ro")
        {
            // The timeout (blocking pops) or the script comes before the
            // key count.
            KeyShape::Count { at: 2 }
        } else {
            KeyShape::Count { at: 1 }
        }
    }
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

const fn is_one_of(name: &str, names: &[&str]) -> bool {
    let mut i = 0;
    while i < names.len() {
        if str_eq(names[i], name) {
            return true;
        }
        i += 1;
    }
    false
}

/// The commands whose first argument is a subcommand.
const CONTAINERS: &[&str] = &[
    "client", "config", "command", "object", "memory", "debug", "cluster", "pubsub", "slowlog",
    "latency", "script", "xgroup", "xinfo",
];

impl CommandSpec {
    pub fn arity_ok(&self, argc: usize) -> bool {
        let argc = argc as i32;
        if self.arity >= 0 {
            argc == self.arity
        } else {
            argc >= -self.arity
        }
    }

    /// False when the arguments cannot be valid whatever their values,
    /// beyond what the arity says (MSET's key/value pairs).
    pub fn shape_ok(&self, argc: usize) -> bool {
        !self.pairs || argc % 2 == 1
    }

    /// Commands whose first argument is a subcommand (`CLIENT LIST`).
    pub fn is_container(&self) -> bool {
        self.container
    }

    pub fn is_write(&self) -> bool {
        self.write
    }

    /// True when argv[1] is the command's only key (GET, SET, INCR, HSET...),
    /// so that `key_positions` would give just 1 for any valid arity.
    #[inline]
    pub fn has_one_key_first(&self) -> bool {
        matches!(self.keys, KeyShape::Fixed) && self.first_key == 1 && self.last_key == 1
    }
}

macro_rules! command {
    ($name:literal, $arity:expr, [$($flag:literal),*], [$($acl:literal),*], $first:expr, $last:expr, $step:expr,
     $group:literal, $since:literal, $summary:literal, $exec:expr) => {
        CommandSpec {
            name: $name,
            arity: $arity,
            flags: &[$($flag),*],
            acl: &[$($acl),*],
            first_key: $first,
            last_key: $last,
            step: $step,
            group: $group,
            since: $since,
            summary: $summary,
            exec: $exec,
            keys: KeyShape::of($name, &[$($flag),*], $first),
            write: is_one_of("write", &[$($flag),*]),
            container: is_one_of($name, CONTAINERS),
            pairs: is_one_of($name, &["mset", "msetnx"]),
        }
    };
}

use Exec::{Coord as C, Shard as S, ShardOrCross as X};

pub static COMMANDS: &[CommandSpec] = &[
    // connection
    command!("ping", -1, ["fast", "sentinel"], ["@fast", "@connection"], 0, 0, 0, "connection", "1.0.0", "Ping the server", S(server::ping)),
    command!("echo", 2, ["loading", "stale", "fast"], ["@fast", "@connection"], 0, 0, 0, "connection", "1.0.0", "Echo the given string", S(server::echo)),
    command!("quit", -1, ["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"], ["@fast", "@connection"], 0, 0, 0, "connection", "1.0.0", "Close the connection", C(Coord::Quit)),
    command!("hello", -1, ["noscript", "loading", "stale", "fast", "no_auth", "sentinel", "allow_busy"], ["@fast", "@connection"], 0, 0, 0, "connection", "6.0.0", "Handshake with Redis", C(Coord::Hello)),
    command!("auth", -2, ["noscript", "loading", "stale", "fast", "no_auth", "sentinel", "allow_busy"], ["@fast", "@connection"], 0, 0, 0, "connection", "1.0.0", "Authenticate to the server", C(Coord::Auth)),
    command!("select", 2, ["loading", "stale", "fast"], ["@fast", "@connection"], 0, 0, 0, "connection", "1.0.0", "Change the selected database for the current connection", C(Coord::Select)),
    command!("reset", 1, ["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"], ["@fast", "@connection"], 0, 0, 0, "connection", "6.2.0", "Reset the connection", C(Coord::Reset)),
    command!("client", -2, [], ["@slow"], 0, 0, 0, "connection", "2.4.0", "A container for client connection commands", C(Coord::Client)),
    // strings
    command!("get", 2, ["readonly", "fast"], ["@read", "@string", "@fast"], 1, 1, 1, "string", "1.0.0", "Get the value of a key", S(strings::get)),
    command!("set", -3, ["write", "denyoom"], ["@write", "@string", "@slow"], 1, 1, 1, "string", "1.0.0", "Set the string value of a key", S(strings::set)),
    command!("setnx", 3, ["write", "denyoom", "fast"], ["@write", "@string", "@fast"], 1, 1, 1, "string", "1.0.0", "Set the value of a key, only if the key does not exist", S(strings::setnx)),
    command!("setex", 4, ["write", "denyoom"], ["@write", "@string", "@slow"], 1, 1, 1, "string", "2.0.0", "Set the value and expiration of a key", S(strings::setex)),
    command!("psetex", 4, ["write", "denyoom"], ["@write", "@string", "@slow"], 1, 1, 1, "string", "2.6.0", "Set the value and expiration in milliseconds of a key", S(strings::psetex)),
    command!("getset", 3, ["write", "denyoom", "fast"], ["@write", "@string", "@fast"], 1, 1, 1, "string", "1.0.0", "Set the string value of a key and return its old value", S(strings::getset)),
    command!("getdel", 2, ["write", "fast"], ["@write", "@string", "@fast"], 1, 1, 1, "string", "6.2.0", "Get the value of a key and delete the key", S(strings::getdel)),
    command!("getex", -2, ["write", "fast"], ["@write", "@string", "@fast"], 1, 1, 1, "string", "6.2.0", "Get the value of a key and optionally set its expiration", S(strings::getex)),
    command!("mget", -2, ["readonly", "fast"], ["@read", "@string", "@fast"], 1, -1, 1, "string", "1.0.0", "Get the values of all the given keys", X(strings::mget_local, Coord::Mget)),
    command!("mset", -3, ["write", "denyoom"], ["@write", "@string", "@slow"], 1, -1, 2, "string", "1.0.1", "Set multiple keys to multiple values", X(strings::mset_local, Coord::Mset)),
    command!("msetnx", -3, ["write", "denyoom"], ["@write", "@string", "@slow"], 1, -1, 2, "string", "1.0.1", "Set multiple keys to multiple values, only if none of the keys exist", X(strings::msetnx_local, Coord::Msetnx)),
    command!("append", 3, ["write", "denyoom", "fast"], ["@write", "@string", "@fast"], 1, 1, 1, "string", "2.0.0", "Append a value to a key", S(strings::append)),
    command!("strlen", 2, ["readonly", "fast"], ["@read", "@string", "@fast"], 1, 1, 1, "string", "2.2.0", "Get the length of the value stored in a key", S(strings::strlen)),
    command!("incr", 2, ["write", "denyoom", "fast"], ["@write", "@string", "@fast"], 1, 1, 1, "string", "1.0.0", "Increment the integer value of a key by one", S(strings::incr)),
    command!("decr", 2, ["write", "denyoom", "fast"], ["@write", "@string", "@fast"], 1, 1, 1, "string", "1.0.0", "Decrement the integer value of a key by one", S(strings::decr)),
    command!("incrby", 3, ["write", "denyoom", "fast"], ["@write", "@string", "@fast"], 1, 1, 1, "string", "1.0.0", "Increment the integer value of a key by the given amount", S(strings::incrby)),
    command!("decrby", 3, ["write", "denyoom", "fast"], ["@write", "@string", "@fast"], 1, 1, 1, "string", "1.0.0", "Decrement the integer value of a key by the given number", S(strings::decrby)),
    command!("incrbyfloat", 3, ["write", "denyoom", "fast"], ["@write", "@string", "@fast"], 1, 1, 1, "string", "2.6.0", "Increment the float value of a key by the given amount", S(strings::incrbyfloat)),
    command!("getrange", 4, ["readonly"], ["@read", "@string", "@slow"], 1, 1, 1, "string", "2.4.0", "Get a substring of the string stored at a key", S(strings::getrange)),
    command!("substr", 4, ["readonly"], ["@read", "@string", "@slow"], 1, 1, 1, "string", "1.0.0", "Get a substring of the string stored at a key", S(strings::getrange)),
    command!("setrange", 4, ["write", "denyoom"], ["@write", "@string", "@slow"], 1, 1, 1, "string", "2.2.0", "Overwrite part of a string at key starting at the specified offset", S(strings::setrange)),
    command!("lcs", -3, ["readonly"], ["@read", "@string", "@slow"], 1, 2, 1, "string", "7.0.0", "Find longest common substring", X(strings::lcs, Coord::Lcs)),
    // hashes
    command!("hset", -4, ["write", "denyoom", "fast"], ["@write", "@hash", "@fast"], 1, 1, 1, "hash", "2.0.0", "Set the string value of a hash field", S(hashes::hset)),
    command!("hsetnx", 4, ["write", "denyoom", "fast"], ["@write", "@hash", "@fast"], 1, 1, 1, "hash", "2.0.0", "Set the value of a hash field, only if the field does not exist", S(hashes::hsetnx)),
    command!("hmset", -4, ["write", "denyoom", "fast"], ["@write", "@hash", "@fast"], 1, 1, 1, "hash", "2.0.0", "Set multiple hash fields to multiple values", S(hashes::hmset)),
    command!("hget", 3, ["readonly", "fast"], ["@read", "@hash", "@fast"], 1, 1, 1, "hash", "2.0.0", "Get the value of a hash field", S(hashes::hget)),
    command!("hmget", -3, ["readonly", "fast"], ["@read", "@hash", "@fast"], 1, 1, 1, "hash", "2.0.0", "Get the values of all the given hash fields", S(hashes::hmget)),
    command!("hgetall", 2, ["readonly"], ["@read", "@hash", "@slow"], 1, 1, 1, "hash", "2.0.0", "Get all the fields and values in a hash", S(hashes::hgetall)),
    command!("hdel", -3, ["write", "fast"], ["@write", "@hash", "@fast"], 1, 1, 1, "hash", "2.0.0", "Delete one or more hash fields", S(hashes::hdel)),
    command!("hexists", 3, ["readonly", "fast"], ["@read", "@hash", "@fast"], 1, 1, 1, "hash", "2.0.0", "Determine if a hash field exists", S(hashes::hexists)),
    command!("hlen", 2, ["readonly", "fast"], ["@read", "@hash", "@fast"], 1, 1, 1, "hash", "2.0.0", "Get the number of fields in a hash", S(hashes::hlen)),
    command!("hstrlen", 3, ["readonly", "fast"], ["@read", "@hash", "@fast"], 1, 1, 1, "hash", "3.2.0", "Get the length of the value of a hash field", S(hashes::hstrlen)),
    command!("hkeys", 2, ["readonly"], ["@read", "@hash", "@slow"], 1, 1, 1, "hash", "2.0.0", "Get all the fields in a hash", S(hashes::hkeys)),
    command!("hvals", 2, ["readonly"], ["@read", "@hash", "@slow"], 1, 1, 1, "hash", "2.0.0", "Get all the values in a hash", S(hashes::hvals)),
    command!("hincrby", 4, ["write", "denyoom", "fast"], ["@write", "@hash", "@fast"], 1, 1, 1, "hash", "2.0.0", "Increment the integer value of a hash field by the given number", S(hashes::hincrby)),
    command!("hincrbyfloat", 4, ["write", "denyoom", "fast"], ["@write", "@hash", "@fast"], 1, 1, 1, "hash", "2.6.0", "Increment the float value of a hash field by the given amount", S(hashes::hincrbyfloat)),
    command!("hrandfield", -2, ["readonly"], ["@read", "@hash", "@slow"], 1, 1, 1, "hash", "6.2.0", "Get one or multiple random fields from a hash", S(hashes::hrandfield)),
    command!("hscan", -3, ["readonly"], ["@read", "@hash", "@slow"], 1, 1, 1, "hash", "2.8.0", "Incrementally iterate hash fields and associated values", S(hashes::hscan)),
    // sets
    command!("sadd", -3, ["write", "denyoom", "fast"], ["@write", "@set", "@fast"], 1, 1, 1, "set", "1.0.0", "Add one or more members to a set", S(sets::sadd)),
    command!("srem", -3, ["write", "fast"], ["@write", "@set", "@fast"], 1, 1, 1, "set", "1.0.0", "Remove one or more members from a set", S(sets::srem)),
    command!("smembers", 2, ["readonly"], ["@read", "@set", "@slow"], 1, 1, 1, "set", "1.0.0", "Get all the members in a set", S(sets::smembers)),
    command!("sismember", 3, ["readonly", "fast"], ["@read", "@set", "@fast"], 1, 1, 1, "set", "1.0.0", "Determine if a given value is a member of a set", S(sets::sismember)),
    command!("smismember", -3, ["readonly", "fast"], ["@read", "@set", "@fast"], 1, 1, 1, "set", "6.2.0", "Returns the membership associated with the given elements for a set", S(sets::smismember)),
    command!("scard", 2, ["readonly", "fast"], ["@read", "@set", "@fast"], 1, 1, 1, "set", "1.0.0", "Get the number of members in a set", S(sets::scard)),
    command!("spop", -2, ["write", "fast"], ["@write", "@set", "@fast"], 1, 1, 1, "set", "1.0.0", "Remove and return one or multiple random members from a set", S(sets::spop)),
    command!("srandmember", -2, ["readonly"], ["@read", "@set", "@slow"], 1, 1, 1, "set", "1.0.0", "Get one or multiple random members from a set", S(sets::srandmember)),
    command!("smove", 4, ["write", "fast"], ["@write", "@set", "@fast"], 1, 2, 1, "set", "1.0.0", "Move a member from one set to another", X(sets::smove, Coord::Smove)),
    command!("sinter", -2, ["readonly"], ["@read", "@set", "@slow"], 1, -1, 1, "set", "1.0.0", "Intersect multiple sets", X(sets::sinter, Coord::Sinter)),
    command!("sunion", -2, ["readonly"], ["@read", "@set", "@slow"], 1, -1, 1, "set", "1.0.0", "Add multiple sets", X(sets::sunion, Coord::Sunion)),
    command!("sdiff", -2, ["readonly"], ["@read", "@set", "@slow"], 1, -1, 1, "set", "1.0.0", "Subtract multiple sets", X(sets::sdiff, Coord::Sdiff)),
    command!("sintercard", -3, ["readonly", "movablekeys"], ["@read", "@set", "@slow"], 0, 0, 0, "set", "7.0.0", "Intersect multiple sets and return the cardinality of the result", X(sets::sintercard, Coord::Sintercard)),
    command!("sinterstore", -3, ["write", "denyoom"], ["@write", "@set", "@slow"], 1, -1, 1, "set", "1.0.0", "Intersect multiple sets and store the resulting set in a key", X(sets::sinterstore, Coord::Sinterstore)),
    command!("sunionstore", -3, ["write", "denyoom"], ["@write", "@set", "@slow"], 1, -1, 1, "set", "1.0.0", "Add multiple sets and store the resulting set in a key", X(sets::sunionstore, Coord::Sunionstore)),
    command!("sdiffstore", -3, ["write", "denyoom"], ["@write", "@set", "@slow"], 1, -1, 1, "set", "1.0.0", "Subtract multiple sets and store the resulting set in a key", X(sets::sdiffstore, Coord::Sdiffstore)),
    command!("sscan", -3, ["readonly"], ["@read", "@set", "@slow"], 1, 1, 1, "set", "2.8.0", "Incrementally iterate Set elements", S(sets::sscan)),
    // lists
    command!("lpush", -3, ["write", "denyoom", "fast"], ["@write", "@list", "@fast"], 1, 1, 1, "list", "1.0.0", "Prepend one or multiple elements to a list", S(lists::lpush)),
    command!("rpush", -3, ["write", "denyoom", "fast"], ["@write", "@list", "@fast"], 1, 1, 1, "list", "1.0.0", "Append one or multiple elements to a list", S(lists::rpush)),
    command!("lpushx", -3, ["write", "denyoom", "fast"], ["@write", "@list", "@fast"], 1, 1, 1, "list", "2.2.0", "Prepend an element to a list, only if the list exists", S(lists::lpushx)),
    command!("rpushx", -3, ["write", "denyoom", "fast"], ["@write", "@list", "@fast"], 1, 1, 1, "list", "2.2.0", "Append an element to a list, only if the list exists", S(lists::rpushx)),
    command!("lpop", -2, ["write", "fast"], ["@write", "@list", "@fast"], 1, 1, 1, "list", "1.0.0", "Remove and get the first elements in a list", S(lists::lpop)),
    command!("rpop", -2, ["write", "fast"], ["@write", "@list", "@fast"], 1, 1, 1, "list", "1.0.0", "Remove and get the last elements in a list", S(lists::rpop)),
    command!("llen", 2, ["readonly", "fast"], ["@read", "@list", "@fast"], 1, 1, 1, "list", "1.0.0", "Get the length of a list", S(lists::llen)),
    command!("lrange", 4, ["readonly"], ["@read", "@list", "@slow"], 1, 1, 1, "list", "1.0.0", "Get a range of elements from a list", S(lists::lrange)),
    command!("lindex", 3, ["readonly"], ["@read", "@list", "@slow"], 1, 1, 1, "list", "1.0.0", "Get an element from a list by its index", S(lists::lindex)),
    command!("lset", 4, ["write", "denyoom"], ["@write", "@list", "@slow"], 1, 1, 1, "list", "1.0.0", "Set the value of an element in a list by its index", S(lists::lset)),
    command!("linsert", 5, ["write", "denyoom"], ["@write", "@list", "@slow"], 1, 1, 1, "list", "2.2.0", "Insert an element before or after another element in a list", S(lists::linsert)),
    command!("lrem", 4, ["write"], ["@write", "@list", "@slow"], 1, 1, 1, "list", "1.0.0", "Remove elements from a list", S(lists::lrem)),
    command!("ltrim", 4, ["write"], ["@write", "@list", "@slow"], 1, 1, 1, "list", "1.0.0", "Trim a list to the specified range", S(lists::ltrim)),
    command!("lpos", -3, ["readonly"], ["@read", "@list", "@slow"], 1, 1, 1, "list", "6.0.6", "Return the index of matching elements on a list", S(lists::lpos)),
    command!("lmpop", -4, ["write", "movablekeys"], ["@write", "@list", "@slow"], 0, 0, 0, "list", "7.0.0", "Pop elements from a list", X(lists::lmpop, Coord::Lmpop)),
    command!("lmove", 5, ["write", "denyoom"], ["@write", "@list", "@slow"], 1, 2, 1, "list", "6.2.0", "Pop an element from a list, push it to another list and return it", X(lists::lmove, Coord::Lmove)),
    command!("rpoplpush", 3, ["write", "denyoom"], ["@write", "@list", "@slow"], 1, 2, 1, "list", "1.2.0", "Remove the last element in a list, prepend it to another list and return it", X(lists::rpoplpush, Coord::Rpoplpush)),
    // bitmaps
    command!("setbit", 4, ["write", "denyoom"], ["@write", "@bitmap", "@slow"], 1, 1, 1, "bitmap", "2.2.0", "Sets or clears the bit at offset in the string value stored at key", S(bitmaps::setbit)),
    command!("getbit", 3, ["readonly", "fast"], ["@read", "@bitmap", "@fast"], 1, 1, 1, "bitmap", "2.2.0", "Returns the bit value at offset in the string value stored at key", S(bitmaps::getbit)),
    command!("bitcount", -2, ["readonly"], ["@read", "@bitmap", "@slow"], 1, 1, 1, "bitmap", "2.6.0", "Count set bits in a string", S(bitmaps::bitcount)),
    command!("bitpos", -3, ["readonly"], ["@read", "@bitmap", "@slow"], 1, 1, 1, "bitmap", "2.8.7", "Find first bit set or clear in a string", S(bitmaps::bitpos)),
    command!("bitop", -4, ["write", "denyoom"], ["@write", "@bitmap", "@slow"], 2, -1, 1, "bitmap", "2.6.0", "Perform bitwise operations between strings", X(bitmaps::bitop, Coord::Bitop)),
    command!("bitfield", -2, ["write", "denyoom"], ["@write", "@bitmap", "@slow"], 1, 1, 1, "bitmap", "3.2.0", "Perform arbitrary bitfield integer operations on strings", S(bitmaps::bitfield)),
    command!("bitfield_ro", -2, ["readonly", "fast"], ["@read", "@bitmap", "@fast"], 1, 1, 1, "bitmap", "6.0.0", "Perform arbitrary bitfield integer operations on strings. Read-only variant of BITFIELD", S(bitmaps::bitfield_ro)),
    // hyperloglog
    // streams
    command!("xadd", -5, ["write", "denyoom", "fast"], ["@write", "@stream", "@fast"], 1, 1, 1, "stream", "5.0.0", "Appends a new entry to a stream", S(streams::xadd)),
    command!("xlen", 2, ["readonly", "fast"], ["@read", "@stream", "@fast"], 1, 1, 1, "stream", "5.0.0", "Return the number of entries in a stream", S(streams::xlen)),
    command!("xrange", -4, ["readonly"], ["@read", "@stream", "@slow"], 1, 1, 1, "stream", "5.0.0", "Return a range of elements in a stream, with IDs matching the specified IDs interval", S(streams::xrange)),
    command!("xrevrange", -4, ["readonly"], ["@read", "@stream", "@slow"], 1, 1, 1, "stream", "5.0.0", "Return a range of elements in a stream, with IDs matching the specified IDs interval, in reverse order (from greater to smaller IDs) compared to XRANGE", S(streams::xrevrange)),
    command!("xdel", -3, ["write", "fast"], ["@write", "@stream", "@fast"], 1, 1, 1, "stream", "5.0.0", "Removes the specified entries from the stream. Returns the number of items actually deleted, that may be different from the number of IDs passed in case certain IDs do not exist.", S(streams::xdel)),
    command!("xtrim", -4, ["write"], ["@write", "@stream", "@slow"], 1, 1, 1, "stream", "5.0.0", "Trims the stream to (approximately if '~' is passed) a certain size", S(streams::xtrim)),
    command!("xsetid", -3, ["write", "denyoom", "fast"], ["@write", "@stream", "@fast"], 1, 1, 1, "stream", "5.0.0", "An internal command for replicating stream values", S(streams::xsetid)),
    command!("xread", -4, ["readonly", "blocking", "movablekeys"], ["@read", "@stream", "@slow", "@blocking"], 0, 0, 0, "stream", "5.0.0", "Return never seen elements in multiple streams, with IDs greater than the ones reported by the caller for each stream. Can block.", X(streams::xread, Coord::Xread)),
    command!("xreadgroup", -7, ["write", "blocking", "movablekeys"], ["@write", "@stream", "@slow", "@blocking"], 0, 0, 0, "stream", "5.0.0", "Return new entries from a stream using a consumer group, or access the history of the pending entries for a given consumer. Can block.", X(streams::xreadgroup, Coord::Xreadgroup)),
    command!("xgroup", -2, ["write"], ["@slow"], 2, 2, 1, "stream", "5.0.0", "A container for consumer groups commands", S(stream_groups::xgroup)),
    command!("xack", -4, ["write", "fast"], ["@write", "@stream", "@fast"], 1, 1, 1, "stream", "5.0.0", "Marks a pending message as correctly processed, effectively removing it from the pending entries list of the consumer group. Return value of the command is the number of messages successfully acknowledged, that is, the IDs we were actually able to resolve in the PEL.", S(stream_groups::xack)),
    command!("xpending", -3, ["readonly"], ["@read", "@stream", "@slow"], 1, 1, 1, "stream", "5.0.0", "Return information and entries from a stream consumer group pending entries list, that are messages fetched but never acknowledged.", S(stream_groups::xpending)),
    command!("xclaim", -6, ["write", "fast"], ["@write", "@stream", "@fast"], 1, 1, 1, "stream", "5.0.0", "Changes (or acquires) ownership of a message in a consumer group, as if the message was delivered to the specified consumer.", S(stream_groups::xclaim)),
    command!("xautoclaim", -6, ["write", "fast"], ["@write", "@stream", "@fast"], 1, 1, 1, "stream", "6.2.0", "Changes (or acquires) ownership of messages in a consumer group, as if the messages were delivered to the specified consumer.", S(stream_groups::xautoclaim)),
    command!("xinfo", -2, ["readonly"], ["@slow"], 2, 2, 1, "stream", "5.0.0", "A container for stream introspection commands", S(stream_groups::xinfo)),
    command!("pfadd", -2, ["write", "denyoom", "fast"], ["@write", "@hyperloglog", "@fast"], 1, 1, 1, "hyperloglog", "2.8.9", "Adds the specified elements to the specified HyperLogLog.", S(hyperloglog::pfadd)),
    command!("pfcount", -2, ["readonly"], ["@read", "@hyperloglog", "@slow"], 1, -1, 1, "hyperloglog", "2.8.9", "Return the approximated cardinality of the set(s) observed by the HyperLogLog at key(s).", X(hyperloglog::pfcount, Coord::Pfcount)),
    command!("pfmerge", -2, ["write", "denyoom"], ["@write", "@hyperloglog", "@slow"], 1, -1, 1, "hyperloglog", "2.8.9", "Merge N different HyperLogLogs into a single one.", X(hyperloglog::pfmerge, Coord::Pfmerge)),
    command!("pfdebug", 3, ["write", "denyoom", "admin"], ["@write", "@hyperloglog", "@admin", "@slow", "@dangerous"], 2, 2, 1, "hyperloglog", "2.8.9", "Internal commands for debugging HyperLogLog values", S(hyperloglog::pfdebug)),
    command!("pfselftest", 1, ["admin"], ["@hyperloglog", "@admin", "@slow", "@dangerous"], 0, 0, 0, "hyperloglog", "2.8.9", "An internal command for testing HyperLogLog values", S(hyperloglog::pfselftest)),
    // sorted sets
    command!("zadd", -4, ["write", "denyoom", "fast"], ["@write", "@sortedset", "@fast"], 1, 1, 1, "sorted-set", "1.2.0", "Add one or more members to a sorted set, or update its score if it already exists", S(zsets::zadd)),
    command!("zcard", 2, ["readonly", "fast"], ["@read", "@sortedset", "@fast"], 1, 1, 1, "sorted-set", "1.2.0", "Get the number of members in a sorted set", S(zsets::zcard)),
    command!("zcount", 4, ["readonly", "fast"], ["@read", "@sortedset", "@fast"], 1, 1, 1, "sorted-set", "2.0.0", "Count the members in a sorted set with scores within the given values", S(zsets::zcount)),
    command!("zdiff", -3, ["readonly", "movablekeys"], ["@read", "@sortedset", "@slow"], 0, 0, 0, "sorted-set", "6.2.0", "Subtract multiple sorted sets", X(zsets::zdiff, Coord::Zdiff)),
    command!("zdiffstore", -4, ["write", "denyoom", "movablekeys"], ["@write", "@sortedset", "@slow"], 1, 1, 1, "sorted-set", "6.2.0", "Subtract multiple sorted sets and store the resulting sorted set in a new key", X(zsets::zdiffstore, Coord::Zdiffstore)),
    command!("zincrby", 4, ["write", "denyoom", "fast"], ["@write", "@sortedset", "@fast"], 1, 1, 1, "sorted-set", "1.2.0", "Increment the score of a member in a sorted set", S(zsets::zincrby)),
    command!("zinter", -3, ["readonly", "movablekeys"], ["@read", "@sortedset", "@slow"], 0, 0, 0, "sorted-set", "6.2.0", "Intersect multiple sorted sets", X(zsets::zinter, Coord::Zinter)),
    command!("zintercard", -3, ["readonly", "movablekeys"], ["@read", "@sortedset", "@slow"], 0, 0, 0, "sorted-set", "7.0.0", "Intersect multiple sorted sets and return the cardinality of the result", X(zsets::zintercard, Coord::Zintercard)),
    command!("zinterstore", -4, ["write", "denyoom", "movablekeys"], ["@write", "@sortedset", "@slow"], 1, 1, 1, "sorted-set", "2.0.0", "Intersect multiple sorted sets and store the resulting sorted set in a new key", X(zsets::zinterstore, Coord::Zinterstore)),
    command!("zlexcount", 4, ["readonly", "fast"], ["@read", "@sortedset", "@fast"], 1, 1, 1, "sorted-set", "2.8.9", "Count the number of members in a sorted set between a given lexicographical range", S(zsets::zlexcount)),
    command!("zmpop", -4, ["write", "movablekeys"], ["@write", "@sortedset", "@slow"], 0, 0, 0, "sorted-set", "7.0.0", "Remove and return members with scores in a sorted set", X(zsets::zmpop, Coord::Zmpop)),
    command!("zmscore", -3, ["readonly", "fast"], ["@read", "@sortedset", "@fast"], 1, 1, 1, "sorted-set", "6.2.0", "Get the score associated with the given members in a sorted set", S(zsets::zmscore)),
    command!("zpopmax", -2, ["write", "fast"], ["@write", "@sortedset", "@fast"], 1, 1, 1, "sorted-set", "5.0.0", "Remove and return members with the highest scores in a sorted set", S(zsets::zpopmax)),
    command!("zpopmin", -2, ["write", "fast"], ["@write", "@sortedset", "@fast"], 1, 1, 1, "sorted-set", "5.0.0", "Remove and return members with the lowest scores in a sorted set", S(zsets::zpopmin)),
    command!("zrandmember", -2, ["readonly"], ["@read", "@sortedset", "@slow"], 1, 1, 1, "sorted-set", "6.2.0", "Get one or multiple random elements from a sorted set", S(zsets::zrandmember)),
    command!("zrange", -4, ["readonly"], ["@read", "@sortedset", "@slow"], 1, 1, 1, "sorted-set", "1.2.0", "Return a range of members in a sorted set", S(zsets::zrange)),
    command!("zrangebylex", -4, ["readonly"], ["@read", "@sortedset", "@slow"], 1, 1, 1, "sorted-set", "2.8.9", "Return a range of members in a sorted set, by lexicographical range", S(zsets::zrangebylex)),
    command!("zrangebyscore", -4, ["readonly"], ["@read", "@sortedset", "@slow"], 1, 1, 1, "sorted-set", "1.0.5", "Return a range of members in a sorted set, by score", S(zsets::zrangebyscore)),
    command!("zrangestore", -5, ["write", "denyoom"], ["@write", "@sortedset", "@slow"], 1, 2, 1, "sorted-set", "6.2.0", "Store a range of members from sorted set into another key", X(zsets::zrangestore, Coord::Zrangestore)),
    command!("zrank", 3, ["readonly", "fast"], ["@read", "@sortedset", "@fast"], 1, 1, 1, "sorted-set", "2.0.0", "Determine the index of a member in a sorted set", S(zsets::zrank)),
    command!("zrem", -3, ["write", "fast"], ["@write", "@sortedset", "@fast"], 1, 1, 1, "sorted-set", "1.2.0", "Remove one or more members from a sorted set", S(zsets::zrem)),
    command!("zremrangebylex", 4, ["write"], ["@write", "@sortedset", "@slow"], 1, 1, 1, "sorted-set", "2.8.9", "Remove all members in a sorted set between the given lexicographical range", S(zsets::zremrangebylex)),
    command!("zremrangebyrank", 4, ["write"], ["@write", "@sortedset", "@slow"], 1, 1, 1, "sorted-set", "2.0.0", "Remove all members in a sorted set within the given indexes", S(zsets::zremrangebyrank)),
    command!("zremrangebyscore", 4, ["write"], ["@write", "@sortedset", "@slow"], 1, 1, 1, "sorted-set", "1.2.0", "Remove all members in a sorted set within the given scores", S(zsets::zremrangebyscore)),
    command!("zrevrange", -4, ["readonly"], ["@read", "@sortedset", "@slow"], 1, 1, 1, "sorted-set", "1.2.0", "Return a range of members in a sorted set, by index, with scores ordered from high to low", S(zsets::zrevrange)),
    command!("zrevrangebylex", -4, ["readonly"], ["@read", "@sortedset", "@slow"], 1, 1, 1, "sorted-set", "2.8.9", "Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.", S(zsets::zrevrangebylex)),
    command!("zrevrangebyscore", -4, ["readonly"], ["@read", "@sortedset", "@slow"], 1, 1, 1, "sorted-set", "2.2.0", "Return a range of members in a sorted set, by score, with scores ordered from high to low", S(zsets::zrevrangebyscore)),
    command!("zrevrank", 3, ["readonly", "fast"], ["@read", "@sortedset", "@fast"], 1, 1, 1, "sorted-set", "2.0.0", "Determine the index of a member in a sorted set, with scores ordered from high to low", S(zsets::zrevrank)),
    command!("zscan", -3, ["readonly"], ["@read", "@sortedset", "@slow"], 1, 1, 1, "sorted-set", "2.8.0", "Incrementally iterate sorted sets elements and associated scores", S(zsets::zscan)),
    command!("zscore", 3, ["readonly", "fast"], ["@read", "@sortedset", "@fast"], 1, 1, 1, "sorted-set", "1.2.0", "Get the score associated with the given member in a sorted set", S(zsets::zscore)),
    command!("zunion", -3, ["readonly", "movablekeys"], ["@read", "@sortedset", "@slow"], 0, 0, 0, "sorted-set", "6.2.0", "Add multiple sorted sets", X(zsets::zunion, Coord::Zunion)),
    command!("zunionstore", -4, ["write", "denyoom", "movablekeys"], ["@write", "@sortedset", "@slow"], 1, 1, 1, "sorted-set", "2.0.0", "Add multiple sorted sets and store the resulting sorted set in a new key", X(zsets::zunionstore, Coord::Zunionstore)),
    // geo
    command!("geoadd", -5, ["write", "denyoom"], ["@write", "@geo", "@slow"], 1, 1, 1, "geo", "3.2.0", "Add one or more geospatial items in the geospatial index represented using a sorted set", S(geo::geoadd)),
    command!("geodist", -4, ["readonly"], ["@read", "@geo", "@slow"], 1, 1, 1, "geo", "3.2.0", "Returns the distance between two members of a geospatial index", S(geo::geodist)),
    command!("geohash", -2, ["readonly"], ["@read", "@geo", "@slow"], 1, 1, 1, "geo", "3.2.0", "Returns members of a geospatial index as standard geohash strings", S(geo::geohash)),
    command!("geopos", -2, ["readonly"], ["@read", "@geo", "@slow"], 1, 1, 1, "geo", "3.2.0", "Returns longitude and latitude of members of a geospatial index", S(geo::geopos)),
    command!("georadius", -6, ["write", "denyoom", "movablekeys"], ["@write", "@geo", "@slow"], 1, 1, 1, "geo", "3.2.0", "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a point", X(geo::georadius, Coord::GeoStore)),
    command!("georadiusbymember", -5, ["write", "denyoom", "movablekeys"], ["@write", "@geo", "@slow"], 1, 1, 1, "geo", "3.2.0", "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a member", X(geo::georadiusbymember, Coord::GeoStore)),
    command!("georadius_ro", -6, ["readonly"], ["@read", "@geo", "@slow"], 1, 1, 1, "geo", "3.2.10", "A read-only variant for GEORADIUS", S(geo::georadius_ro)),
    command!("georadiusbymember_ro", -5, ["readonly"], ["@read", "@geo", "@slow"], 1, 1, 1, "geo", "3.2.10", "A read-only variant for GEORADIUSBYMEMBER", S(geo::georadiusbymember_ro)),
    command!("geosearch", -7, ["readonly"], ["@read", "@geo", "@slow"], 1, 1, 1, "geo", "6.2.0", "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle.", S(geo::geosearch)),
    command!("geosearchstore", -8, ["write", "denyoom"], ["@write", "@geo", "@slow"], 1, 2, 1, "geo", "6.2.0", "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle, and store the result in another key.", X(geo::geosearchstore, Coord::GeoStore)),
    // keys
    command!("del", -2, ["write"], ["@keyspace", "@write", "@slow"], 1, -1, 1, "generic", "1.0.0", "Delete a key", X(keys::del_local, Coord::Del)),
    command!("unlink", -2, ["write", "fast"], ["@keyspace", "@write", "@fast"], 1, -1, 1, "generic", "4.0.0", "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.", X(keys::del_local, Coord::Del)),
    command!("exists", -2, ["readonly", "fast"], ["@keyspace", "@read", "@fast"], 1, -1, 1, "generic", "1.0.0", "Determine if a key exists", X(keys::exists_local, Coord::Exists)),
    command!("touch", -2, ["readonly", "fast"], ["@keyspace", "@read", "@fast"], 1, -1, 1, "generic", "3.2.1", "Alters the last access time of a key(s). Returns the number of existing keys specified.", X(keys::touch_local, Coord::Touch)),
    command!("type", 2, ["readonly", "fast"], ["@keyspace", "@read", "@fast"], 1, 1, 1, "generic", "1.0.0", "Determine the type stored at key", S(keys::type_)),
    command!("expire", -3, ["write", "fast"], ["@keyspace", "@write", "@fast"], 1, 1, 1, "generic", "1.0.0", "Set a key's time to live in seconds", S(keys::expire)),
    command!("pexpire", -3, ["write", "fast"], ["@keyspace", "@write", "@fast"], 1, 1, 1, "generic", "2.6.0", "Set a key's time to live in milliseconds", S(keys::pexpire)),
    command!("expireat", -3, ["write", "fast"], ["@keyspace", "@write", "@fast"], 1, 1, 1, "generic", "1.2.0", "Set the expiration for a key as a UNIX timestamp", S(keys::expireat)),
    command!("pexpireat", -3, ["write", "fast"], ["@keyspace", "@write", "@fast"], 1, 1, 1, "generic", "2.6.0", "Set the expiration for a key as a UNIX timestamp specified in milliseconds", S(keys::pexpireat)),
    command!("ttl", 2, ["readonly", "fast"], ["@keyspace", "@read", "@fast"], 1, 1, 1, "generic", "1.0.0", "Get the time to live for a key in seconds", S(keys::ttl)),
    command!("pttl", 2, ["readonly", "fast"], ["@keyspace", "@read", "@fast"], 1, 1, 1, "generic", "2.6.0", "Get the time to live for a key in milliseconds", S(keys::pttl)),
    command!("expiretime", 2, ["readonly", "fast"], ["@keyspace", "@read", "@fast"], 1, 1, 1, "generic", "7.0.0", "Get the expiration Unix timestamp for a key", S(keys::expiretime)),
    command!("pexpiretime", 2, ["readonly", "fast"], ["@keyspace", "@read", "@fast"], 1, 1, 1, "generic", "7.0.0", "Get the expiration Unix timestamp for a key in milliseconds", S(keys::pexpiretime)),
    command!("persist", 2, ["write", "fast"], ["@keyspace", "@write", "@fast"], 1, 1, 1, "generic", "2.2.0", "Remove the expiration from a key", S(keys::persist)),
    command!("rename", 3, ["write"], ["@keyspace", "@write", "@slow"], 1, 2, 1, "generic", "1.0.0", "Rename a key", X(keys::rename, Coord::Rename)),
    command!("renamenx", 3, ["write", "fast"], ["@keyspace", "@write", "@fast"], 1, 2, 1, "generic", "1.0.0", "Rename a key, only if the new key does not exist", X(keys::renamenx, Coord::Renamenx)),
    command!("copy", -3, ["write", "denyoom"], ["@keyspace", "@write", "@slow"], 1, 2, 1, "generic", "6.2.0", "Copy a key", X(keys::copy, Coord::Copy)),
    command!("dump", 2, ["readonly"], ["@keyspace", "@read", "@slow"], 1, 1, 1, "generic", "2.6.0", "Return a serialized version of the value stored at the specified key.", S(dump::dump)),
    command!("restore", -4, ["write", "denyoom"], ["@keyspace", "@write", "@slow", "@dangerous"], 1, 1, 1, "generic", "2.6.0", "Create a key using the provided serialized value, previously obtained using DUMP.", S(dump::restore)),
    command!("restore-asking", -4, ["write", "denyoom", "asking"], ["@keyspace", "@write", "@slow", "@dangerous"], 1, 1, 1, "server", "3.0.0", "An internal command for migrating keys in a cluster", S(dump::restore)),
    command!("migrate", -6, ["write", "movablekeys"], ["@keyspace", "@write", "@slow", "@dangerous"], 3, 3, 1, "generic", "2.6.0", "Atomically transfer a key from a Redis instance to another one.", C(Coord::Migrate)),
    command!("sort", -2, ["write", "denyoom", "movablekeys"], ["@write", "@set", "@sortedset", "@list", "@slow", "@dangerous"], 1, 1, 1, "generic", "1.0.0", "Sort the elements in a list, set or sorted set", C(Coord::Sort)),
    command!("sort_ro", -2, ["readonly", "movablekeys"], ["@read", "@set", "@sortedset", "@list", "@slow", "@dangerous"], 1, 1, 1, "generic", "7.0.0", "Sort the elements in a list, set or sorted set. Read-only variant of SORT.", C(Coord::SortRo)),
    command!("keys", 2, ["readonly"], ["@keyspace", "@read", "@slow", "@dangerous"], 0, 0, 0, "generic", "1.0.0", "Find all keys matching the given pattern", C(Coord::Keys)),
    command!("scan", -2, ["readonly"], ["@keyspace", "@read", "@slow"], 0, 0, 0, "generic", "2.8.0", "Incrementally iterate the keys space", C(Coord::Scan)),
    command!("randomkey", 1, ["readonly"], ["@keyspace", "@read", "@slow"], 0, 0, 0, "generic", "1.0.0", "Return a random key from the keyspace", C(Coord::Randomkey)),
    command!("dbsize", 1, ["readonly", "fast"], ["@keyspace", "@read", "@fast"], 0, 0, 0, "server", "1.0.0", "Return the number of keys in the selected database", C(Coord::Dbsize)),
    command!("flushall", -1, ["write"], ["@keyspace", "@write", "@slow", "@dangerous"], 0, 0, 0, "server", "1.0.0", "Remove all keys from all databases", C(Coord::Flushall)),
    command!("flushdb", -1, ["write"], ["@keyspace", "@write", "@slow", "@dangerous"], 0, 0, 0, "server", "1.0.0", "Remove all keys from the current database", C(Coord::Flushall)),
    command!("object", -2, ["readonly"], ["@keyspace", "@read", "@slow"], 2, 2, 1, "generic", "2.2.3", "A container for object introspection commands", S(keys::object)),
    command!("memory", -2, ["readonly"], ["@read", "@slow"], 2, 2, 1, "server", "4.0.0", "A container for memory diagnostics commands", C(Coord::Memory)),
    // server
    command!("info", -1, ["loading", "stale", "sentinel"], ["@slow", "@dangerous"], 0, 0, 0, "server", "1.0.0", "Get information and statistics about the server", C(Coord::Info)),
    command!("command", -1, ["loading", "stale"], ["@slow", "@connection"], 0, 0, 0, "server", "2.8.13", "Get array of Redis command details", S(server::command)),
    command!("config", -2, [], ["@slow"], 0, 0, 0, "server", "2.0.0", "A container for server configuration commands", C(Coord::Config)),
    command!("psync", -3, ["admin", "noscript", "no_async_loading", "no_multi"], ["@admin", "@slow", "@dangerous"], 0, 0, 0, "server", "2.8.0", "Internal command used for replication", C(Coord::Psync)),
    command!("sync", 1, ["admin", "noscript", "no_async_loading", "no_multi"], ["@admin", "@slow", "@dangerous"], 0, 0, 0, "server", "1.0.0", "Internal command used for replication", C(Coord::Psync)),
    command!("replconf", -1, ["admin", "noscript", "loading", "stale", "allow_busy"], ["@admin", "@slow", "@dangerous"], 0, 0, 0, "server", "3.0.0", "An internal command for configuring the replication stream", C(Coord::Replconf)),
    command!("replicaof", 3, ["admin", "noscript", "stale", "no_async_loading"], ["@admin", "@slow", "@dangerous"], 0, 0, 0, "server", "5.0.0", "Make the server a replica of another instance, or promote it as master.", C(Coord::Replicaof)),
    command!("slaveof", 3, ["admin", "noscript", "stale", "no_async_loading"], ["@admin", "@slow", "@dangerous"], 0, 0, 0, "server", "1.0.0", "Make the server a replica of another instance, or promote it as master.", C(Coord::Replicaof)),
    command!("role", 1, ["noscript", "loading", "stale", "fast"], ["@admin", "@fast", "@dangerous"], 0, 0, 0, "server", "2.8.12", "Return the role of the instance in the context of replication", C(Coord::Role)),
    command!("save", 1, ["admin", "noscript", "no_async_loading", "no_multi"], ["@admin", "@slow", "@dangerous"], 0, 0, 0, "server", "1.0.0", "Synchronously save the dataset to disk", C(Coord::Save)),
    command!("bgsave", -1, ["admin", "noscript", "no_async_loading"], ["@admin", "@slow", "@dangerous"], 0, 0, 0, "server", "1.0.0", "Asynchronously save the dataset to disk", C(Coord::Bgsave)),
    command!("bgrewriteaof", 1, ["admin", "noscript", "no_async_loading"], ["@admin", "@slow", "@dangerous"], 0, 0, 0, "server", "1.0.0", "Asynchronously rewrite the append-only file", C(Coord::Bgrewriteaof)),
    command!("lastsave", 1, ["loading", "stale", "fast"], ["@admin", "@fast", "@dangerous"], 0, 0, 0, "server", "1.0.0", "Get the UNIX time stamp of the last successful save to disk", C(Coord::Lastsave)),
    command!("wait", 3, ["noscript"], ["@slow", "@connection"], 0, 0, 0, "generic", "3.0.0", "Wait for the synchronous replication of all the write commands sent in the context of the current connection", C(Coord::Wait)),
    command!("time", 1, ["loading", "stale", "fast"], ["@fast"], 0, 0, 0, "server", "2.6.0", "Return the current server time", S(server::time)),
    command!("debug", -2, ["admin", "noscript", "loading", "stale"], ["@admin", "@slow", "@dangerous"], 0, 0, 0, "server", "1.0.0", "A container for debugging commands", C(Coord::Debug)),
    command!("monitor", 1, ["admin", "noscript", "loading", "stale"], ["@admin", "@slow", "@dangerous"], 0, 0, 0, "server", "1.0.0", "Listen for all requests received by the server in real time", C(Coord::Monitor)),
    command!("slowlog", -2, [], ["@slow"], 0, 0, 0, "server", "2.2.12", "A container for slow log commands", C(Coord::Slowlog)),
    command!("latency", -2, [], ["@slow"], 0, 0, 0, "server", "2.8.13", "A container for latency diagnostics commands", C(Coord::Latency)),
    command!("shutdown", -1, ["admin", "noscript", "loading", "stale", "no_multi", "sentinel", "allow_busy"], ["@admin", "@slow", "@dangerous"], 0, 0, 0, "server", "1.0.0", "Synchronously save the dataset to disk and then shut down the server", C(Coord::Shutdown)),
    command!("cluster", -2, [], ["@slow"], 0, 0, 0, "cluster", "3.0.0", "A container for cluster commands", C(Coord::Cluster)),
    command!("asking", 1, ["fast"], ["@fast", "@connection"], 0, 0, 0, "cluster", "3.0.0", "Sent by cluster clients after an -ASK redirect", C(Coord::Asking)),
    command!("readonly", 1, ["loading", "stale", "fast"], ["@fast", "@connection"], 0, 0, 0, "cluster", "3.0.0", "Enables read queries for a connection to a cluster replica node", C(Coord::Readonly)),
    command!("readwrite", 1, ["loading", "stale", "fast"], ["@fast", "@connection"], 0, 0, 0, "cluster", "3.0.0", "Disables read queries for a connection to a cluster replica node", C(Coord::Readwrite)),
    // blocking lists
    command!("blpop", -3, ["write", "noscript", "blocking"], ["@write", "@list", "@slow", "@blocking"], 1, -2, 1, "list", "2.0.0", "Remove and get the first element in a list, or block until one is available", C(Coord::Blpop)),
    command!("brpop", -3, ["write", "noscript", "blocking"], ["@write", "@list", "@slow", "@blocking"], 1, -2, 1, "list", "2.0.0", "Remove and get the last element in a list, or block until one is available", C(Coord::Brpop)),
    command!("blmove", 6, ["write", "denyoom", "noscript", "blocking"], ["@write", "@list", "@slow", "@blocking"], 1, 2, 1, "list", "6.2.0", "Pop an element from a list, push it to another list and return it; or block until one is available", C(Coord::Blmove)),
    command!("blmpop", -5, ["write", "blocking", "movablekeys"], ["@write", "@list", "@slow", "@blocking"], 0, 0, 0, "list", "7.0.0", "Pop elements from a list, or block until one is available", C(Coord::Blmpop)),
    command!("brpoplpush", 4, ["write", "denyoom", "noscript", "blocking"], ["@write", "@list", "@slow", "@blocking"], 1, 2, 1, "list", "2.2.0", "Pop an element from a list, push it to another list and return it; or block until one is available", C(Coord::Brpoplpush)),
    command!("bzpopmin", -3, ["write", "noscript", "blocking", "fast"], ["@write", "@sortedset", "@fast", "@blocking"], 1, -2, 1, "sorted-set", "5.0.0", "Remove and return the member with the lowest score from one or more sorted sets, or block until one is available", C(Coord::Bzpopmin)),
    command!("bzpopmax", -3, ["write", "noscript", "blocking", "fast"], ["@write", "@sortedset", "@fast", "@blocking"], 1, -2, 1, "sorted-set", "5.0.0", "Remove and return the member with the highest score from one or more sorted sets, or block until one is available", C(Coord::Bzpopmax)),
    command!("bzmpop", -5, ["write", "blocking", "movablekeys"], ["@write", "@sortedset", "@slow", "@blocking"], 0, 0, 0, "sorted-set", "7.0.0", "Remove and return members with scores in a sorted set or block until one is available", C(Coord::Bzmpop)),
    // transactions
    command!("multi", 1, ["noscript", "loading", "stale", "fast", "allow_busy"], ["@fast", "@transaction"], 0, 0, 0, "transactions", "1.2.0", "Mark the start of a transaction block", C(Coord::Multi)),
    command!("exec", 1, ["noscript", "loading", "stale", "skip_slowlog"], ["@slow", "@transaction"], 0, 0, 0, "transactions", "1.2.0", "Execute all commands issued after MULTI", C(Coord::Exec)),
    command!("discard", 1, ["noscript", "loading", "stale", "fast", "allow_busy"], ["@fast", "@transaction"], 0, 0, 0, "transactions", "2.0.0", "Discard all commands issued after MULTI", C(Coord::Discard)),
    command!("watch", -2, ["noscript", "loading", "stale", "fast", "allow_busy"], ["@fast", "@transaction"], 1, -1, 1, "transactions", "2.2.0", "Watch the given keys to determine execution of the MULTI/EXEC block", C(Coord::Watch)),
    command!("unwatch", 1, ["noscript", "loading", "stale", "fast", "allow_busy"], ["@fast", "@transaction"], 0, 0, 0, "transactions", "2.2.0", "Forget about all watched keys", C(Coord::Unwatch)),
    // pubsub
    command!("subscribe", -2, ["pubsub", "noscript", "loading", "stale"], ["@pubsub", "@slow"], 0, 0, 0, "pubsub", "2.0.0", "Listen for messages published to the given channels", C(Coord::Subscribe)),
    command!("unsubscribe", -1, ["pubsub", "noscript", "loading", "stale"], ["@pubsub", "@slow"], 0, 0, 0, "pubsub", "2.0.0", "Stop listening for messages posted to the given channels", C(Coord::Unsubscribe)),
    command!("psubscribe", -2, ["pubsub", "noscript", "loading", "stale"], ["@pubsub", "@slow"], 0, 0, 0, "pubsub", "2.0.0", "Listen for messages published to channels matching the given patterns", C(Coord::Psubscribe)),
    command!("punsubscribe", -1, ["pubsub", "noscript", "loading", "stale"], ["@pubsub", "@slow"], 0, 0, 0, "pubsub", "2.0.0", "Stop listening for messages posted to channels matching the given patterns", C(Coord::Punsubscribe)),
    command!("ssubscribe", -2, ["pubsub", "noscript", "loading", "stale"], ["@pubsub", "@slow"], 1, -1, 1, "pubsub", "7.0.0", "Listen for messages published to the given shard channels", C(Coord::Ssubscribe)),
    command!("sunsubscribe", -1, ["pubsub", "noscript", "loading", "stale"], ["@pubsub", "@slow"], 1, -1, 1, "pubsub", "7.0.0", "Stop listening for messages posted to the given shard channels", C(Coord::Sunsubscribe)),
    command!("publish", 3, ["pubsub", "loading", "stale", "fast"], ["@pubsub", "@fast"], 0, 0, 0, "pubsub", "2.0.0", "Post a message to a channel", C(Coord::Publish)),
    command!("spublish", 3, ["pubsub", "loading", "stale", "fast"], ["@pubsub", "@fast"], 1, 1, 1, "pubsub", "7.0.0", "Post a message to a shard channel", C(Coord::Spublish)),
    command!("pubsub", -2, [], ["@slow"], 0, 0, 0, "pubsub", "2.8.0", "A container for Pub/Sub commands", C(Coord::Pubsub)),
    // scripting
    command!("eval", -3, ["noscript", "stale", "skip_monitor", "no_mandatory_keys", "movablekeys"], ["@slow", "@scripting"], 0, 0, 0, "scripting", "2.6.0", "Execute a Lua script server side", C(Coord::Eval)),
    command!("eval_ro", -3, ["readonly", "noscript", "stale", "skip_monitor", "no_mandatory_keys", "movablekeys"], ["@slow", "@scripting"], 0, 0, 0, "scripting", "7.0.0", "Execute a read-only Lua script server side", C(Coord::EvalRo)),
    command!("evalsha", -3, ["noscript", "stale", "skip_monitor", "no_mandatory_keys", "movablekeys"], ["@slow", "@scripting"], 0, 0, 0, "scripting", "2.6.0", "Execute a Lua script server side", C(Coord::Evalsha)),
    command!("evalsha_ro", -3, ["readonly", "noscript", "stale", "skip_monitor", "no_mandatory_keys", "movablekeys"], ["@slow", "@scripting"], 0, 0, 0, "scripting", "7.0.0", "Execute a read-only Lua script server side", C(Coord::EvalshaRo)),
    command!("script", -2, [], ["@slow"], 0, 0, 0, "scripting", "2.6.0", "A container for Lua scripts management commands", C(Coord::Script)),
];

/// The subcommands slotcore implements, per container, as COMMAND lists
/// them (`client|list`). A container missing here lists none.
static SUBCOMMANDS: &[(&str, &[&str])] = &[
    (
        "script",
        &["debug", "exists", "flush", "help", "kill", "load"],
    ),
    (
        "client",
        &[
            "getname", "help", "id", "info", "kill", "list", "no-evict", "pause", "reply",
            "setname", "unblock", "unpause",
        ],
    ),
    (
        "command",
        &[
            "count",
            "docs",
            "getkeys",
            "getkeysandflags",
            "help",
            "info",
            "list",
        ],
    ),
    (
        "cluster",
        &[
            "addslots",
            "addslotsrange",
            "bumpepoch",
            "count-failure-reports",
            "countkeysinslot",
            "delslots",
            "delslotsrange",
            "flushslots",
            "forget",
            "getkeysinslot",
            "help",
            "info",
            "keyslot",
            "links",
            "meet",
            "myid",
            "nodes",
            "replicas",
            "replicate",
            "reset",
            "saveconfig",
            "set-config-epoch",
            "setslot",
            "shards",
            "slaves",
            "slots",
        ],
    ),
    ("config", &["get", "help", "resetstat", "rewrite", "set"]),
    (
        "memory",
        &["doctor", "help", "malloc-stats", "purge", "stats", "usage"],
    ),
    ("slowlog", &["get", "help", "len", "reset"]),
    (
        "latency",
        &[
            "doctor",
            "graph",
            "help",
            "histogram",
            "history",
            "latest",
            "reset",
        ],
    ),
    (
        "pubsub",
        &[
            "channels",
            "help",
            "numpat",
            "numsub",
            "shardchannels",
            "shardnumsub",
        ],
    ),
    (
        "object",
        &["encoding", "freq", "help", "idletime", "refcount"],
    ),
    (
        "xgroup",
        &[
            "create",
            "createconsumer",
            "delconsumer",
            "destroy",
            "help",
            "setid",
        ],
    ),
    ("xinfo", &["consumers", "groups", "help", "stream"]),
];

/// The implemented subcommands of the command `name` (lower case).
pub fn subcommands(name: &str) -> &'static [&'static str] {
    SUBCOMMANDS
        .iter()
        .find(|(container, _)| *container == name)
        .map_or(&[], |(_, subs)| subs)
}

/// Finds a command by name, case-insensitively, without allocating.
pub fn lookup(name: &[u8]) -> Option<&'static CommandSpec> {
    static INDEX: OnceLock<HashMap<&'static [u8], usize, foldhash::fast::RandomState>> =
        OnceLock::new();
    let index = INDEX.get_or_init(|| {
        COMMANDS
            .iter()
            .enumerate()
            .map(|(i, spec)| (spec.name.as_bytes(), i))
            .collect()
    });
    let mut lower = [0u8; 32];
    if name.len() > lower.len() {
        return None;
    }
    for (slot, byte) in lower.iter_mut().zip(name) {
        *slot = byte.to_ascii_lowercase();
    }
    index.get(&lower[..name.len()]).map(|&i| &COMMANDS[i])
}

/// The position of a command in the table (for per-command statistics).
pub fn index_of(spec: &CommandSpec) -> usize {
    // Rows are statics in one slice, so the address gives the index.
    let base = COMMANDS.as_ptr() as usize;
    (spec as *const CommandSpec as usize - base) / std::mem::size_of::<CommandSpec>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_lowercase_and_found() {
        for (i, spec) in COMMANDS.iter().enumerate() {
            assert_eq!(spec.name, spec.name.to_ascii_lowercase());
            assert!(
                COMMANDS[i + 1..]
                    .iter()
                    .all(|other| other.name != spec.name),
                "{}",
                spec.name
            );
            assert!(std::ptr::eq(
                lookup(spec.name.to_ascii_uppercase().as_bytes()).unwrap(),
                spec
            ));
            assert_eq!(index_of(spec), i);
        }
        assert!(lookup(b"nosuchcommand").is_none());
    }

    /// The router's shortcut for one-key commands finds what the key spec
    /// finds, for every argument count the command's arity allows.
    #[test]
    fn one_key_first_commands_have_exactly_argv_1_as_key() {
        let key = bytes::Bytes::from_static(b"k");
        let arguments: Vec<crate::protocol::Arg<'_>> =
            (0..8).map(|_| crate::protocol::Arg::new(&key)).collect();
        let mut shortcut = 0;
        for spec in COMMANDS.iter().filter(|spec| spec.has_one_key_first()) {
            shortcut += 1;
            for argc in 2..arguments.len() {
                if spec.arity_ok(argc) {
                    let keys: Vec<usize> =
                        crate::command::key_positions(spec, &arguments[..argc]).collect();
                    assert_eq!(keys, [1], "{} with {argc} arguments", spec.name);
                }
            }
        }
        assert!(shortcut > 50, "{shortcut}");
        for name in ["get", "set", "incr", "hset", "lpush", "zadd"] {
            assert!(
                lookup(name.as_bytes()).unwrap().has_one_key_first(),
                "{name}"
            );
        }
        for name in ["mget", "del", "sort", "lmpop", "migrate", "rename"] {
            assert!(
                !lookup(name.as_bytes()).unwrap().has_one_key_first(),
                "{name}"
            );
        }
    }

    #[test]
    fn key_positions_fit_inside_the_arity() {
        for spec in COMMANDS {
            assert_ne!(spec.arity, 0, "{}", spec.name);
            if spec.first_key > 0 {
                assert!(
                    spec.first_key < spec.arity.abs() || spec.arity < 0,
                    "{}",
                    spec.name
                );
                assert!(spec.step >= 1, "{}", spec.name);
                assert!(
                    spec.last_key < 0 || spec.last_key >= spec.first_key,
                    "{}",
                    spec.name
                );
            } else {
                assert_eq!((spec.last_key, spec.step), (0, 0), "{}", spec.name);
            }
            // Keyed commands read or write, except WATCH and the shard
            // channel commands (whose "keys" only route).
            assert!(
                spec.flags.contains(&"write") != spec.flags.contains(&"readonly")
                    || spec.first_key == 0
                    || spec.name == "watch"
                    || spec.flags.contains(&"pubsub"),
                "{}",
                spec.name
            );
        }
    }
}
