//! Lua scripting: the interpreter behind EVAL, EVALSHA and their read-only
//! forms.
//!
//! Each shard core has its own Lua 5.1 interpreter (`Engine`), made the way
//! Redis 7.0 makes its one: the base, table, string, math libraries and
//! cjson, struct, cmsgpack and bit; `print`, `dofile` and `loadfile` left
//! out; the `redis` table; math.random replaced by Redis's own generator;
//! every reachable table read-only (a patched Lua, see vendor/README.md),
//! and reading a missing global an error. A script runs on the core that
//! owns its keys, synchronously: nothing else runs on that core until it
//! returns, which is what makes it atomic. The commands it calls go
//! through `Host`, which the shard runtime implements.
//!
//! What Redis does that scripts can see, this does in the same way: the
//! conversions between Lua values and replies (`convert`), the error
//! tables and their texts, the `source`/`line` an error carries, script
//! flags in a `#!lua` first line.

pub mod convert;
pub mod libs;
mod rand;

use crate::protocol::Reply;
use bytes::Bytes;
use foldhash::HashMap;
use mlua::{Function, Lua, LuaOptions, MultiValue, StdLib, Table, Value};
use std::rc::Rc;

/// The name Redis gives every script's chunk: errors say `user_script:1:`.
const SCRIPT_CHUNK: &str = "@user_script";

/// The chunk of our own Lua helpers. The error handler skips its frames,
/// so that an error raised through one of them points at the script's
/// line, as Redis's (C) functions do.
const HELPERS_CHUNK: &str = "=redis";

/// Number of runs between two steps of the garbage collector (Redis's
/// LUA_GC_CYCLE_PERIOD), each step as large.
const GC_CYCLE_RUNS: u32 = 50;

/// The globals a script may see: Redis 7.0's allow lists, less getfenv,
/// setfenv and newproxy, which the reference build (Debian's 7.0.15 with
/// its security fixes) no longer has. Anything else a library defines is
/// dropped when the interpreter is made.
const GLOBALS_ALLOWED: &[&str] = &[
    "string",
    "cjson",
    "bit",
    "cmsgpack",
    "math",
    "table",
    "struct",
    "redis",
    "__redis__err__handler",
    "xpcall",
    "tostring",
    "setmetatable",
    "next",
    "assert",
    "tonumber",
    "rawequal",
    "collectgarbage",
    "getmetatable",
    "rawset",
    "pcall",
    "coroutine",
    "type",
    "_G",
    "select",
    "unpack",
    "gcinfo",
    "pairs",
    "rawget",
    "loadstring",
    "ipairs",
    "_VERSION",
    "load",
    "error",
];

/// Flags a script declares in its `#!lua flags=...` line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScriptFlags {
    /// No shebang line: the flags of EVAL before Redis 7.0.
    pub compat: bool,
    pub no_writes: bool,
    pub allow_oom: bool,
    pub allow_stale: bool,
    pub no_cluster: bool,
    pub allow_cross_slot: bool,
}

/// Reads a script's `#!lua` line: its flags and the line's length (the
/// line feed stays in the code, so line numbers do not move).
pub fn parse_shebang(body: &[u8]) -> Result<(ScriptFlags, usize), String> {
    if !body.starts_with(b"#!") {
        let flags = ScriptFlags {
            compat: true,
            ..Default::default()
        };
        return Ok((flags, 0));
    }
    let Some(end) = body.iter().position(|&b| b == b'\n') else {
        return Err("Invalid script shebang".into());
    };
    let line = String::from_utf8_lossy(&body[..end]);
    let mut parts = line.split_ascii_whitespace();
    let Some(engine) = parts.next() else {
        return Err("Invalid engine in script shebang".into());
    };
    if engine != "#!lua" {
        return Err(format!("Unexpected engine in script shebang: {engine}"));
    }
    let mut flags = ScriptFlags::default();
    for part in parts {
        let Some(list) = part.strip_prefix("flags=") else {
            return Err(format!("Unknown lua shebang option: {part}"));
        };
        // "flags=" alone declares none.
        for flag in list.split(',').filter(|_| !list.is_empty()) {
            match flag {
                "no-writes" => flags.no_writes = true,
                "allow-oom" => flags.allow_oom = true,
                "allow-stale" => flags.allow_stale = true,
                "no-cluster" => flags.no_cluster = true,
                "allow-cross-slot-keys" => flags.allow_cross_slot = true,
                _ => return Err(format!("Unexpected flag in script shebang: {flag}")),
            }
        }
    }
    Ok((flags, end))
}

/// A script's SHA1 in lower-case hex, its name in the script cache.
pub fn sha1_hex(body: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let digest = sha1_smol::Sha1::from(body).digest().bytes();
    let mut hex = String::with_capacity(40);
    for byte in digest {
        hex.push(DIGITS[usize::from(byte >> 4)] as char);
        hex.push(DIGITS[usize::from(byte & 0xf)] as char);
    }
    hex
}

/// What a running script can ask of the server it runs in.
pub trait Host {
    /// Runs one command for redis.call / redis.pcall. `Err` is a refusal
    /// before the command ran, in Redis's words ("-CODE text" or "text");
    /// `Ok` is the command's reply, an error reply included.
    fn call(&self, run: &mut Run, argv: Vec<Bytes>) -> Result<Reply, String>;
    /// redis.log at a level of Redis's (0 debug to 3 warning).
    fn log(&self, level: i32, text: &str);
    /// True when SCRIPT KILL asked for the running script to end.
    fn killed(&self, run: &Run) -> bool;
}

/// The state of one script run: what it may do and what it did.
#[derive(Debug, Clone, Default)]
pub struct Run {
    /// The script's SHA1 (Redis's `funcname` for EVAL).
    pub sha: String,
    pub flags: ScriptFlags,
    /// EVAL_RO / EVALSHA_RO, or a script flagged no-writes.
    pub read_only: bool,
    /// Memory was over maxmemory when the script started.
    pub oom_at_start: bool,
    /// A write command ran.
    pub dirty: bool,
    /// The protocol redis.call replies come in (redis.setresp).
    pub resp3: bool,
    /// The slot of the first key a command used (cluster mode, for the
    /// same-slot rule of scripts with flags).
    pub slot: Option<u16>,
    /// When the run began (a monotonic clock, milliseconds).
    pub started_ms: u64,
    /// The script declared no keys and may still move to the core of the
    /// first key it touches, if that is another core (see shard::script).
    pub may_move: bool,
    /// A write or a publish happened: moving would repeat it.
    pub side_effects: bool,
    /// The core the run asked to move to; its commands are refused from
    /// then on and its reply is thrown away.
    pub moved_to: Option<usize>,
}

/// The run in progress, where the functions scripts call find it.
struct Running {
    host: Rc<dyn Host>,
    run: Run,
}

struct Script {
    function: Function,
    flags: ScriptFlags,
}

/// One core's interpreter and its compiled scripts.
pub struct Engine {
    lua: Lua,
    scripts: HashMap<String, Script>,
    /// `xpcall(f, __redis__err__handler)`: runs a script under the error
    /// handler.
    runner: Function,
    /// Sets or clears a table's read-only flag (not reachable by scripts).
    readonly: Function,
    /// Sets KEYS and ARGV through the globals' read-only guard.
    set_keys_argv: Function,
    runs: u32,
}

impl Engine {
    pub fn new() -> Result<Engine, String> {
        Self::build().map_err(|e| format!("cannot start the Lua interpreter: {e}"))
    }

    fn build() -> mlua::Result<Engine> {
        // SAFETY: the debug library is loaded as Redis loads it, only for
        // the error handler to keep `debug.getinfo`; the global is removed
        // before any script runs.
        let libs = StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::DEBUG;
        let lua = unsafe { Lua::unsafe_new_with(libs, LuaOptions::default()) };
        lua.set_app_data(rand::Lrand48::default());
        libs::register_all(&lua)?;
        let redis = api::redis_table(&lua)?;
        lua.globals().raw_set("redis", redis.clone())?;
        let math: Table = lua.globals().raw_get("math")?;
        api::set_functions(&lua, &redis, &math)?;
        let helpers: Function = lua
            .load(api::HELPERS)
            .set_name(HELPERS_CHUNK)
            .set_mode(mlua::chunk::ChunkMode::Text)
            .into_function()?;
        let runner: Function = helpers.call(api::helper_functions(&lua)?)?;
        let globals = lua.globals();
        let names: Vec<Value> = globals
            .pairs::<Value, Value>()
            .flatten()
            .map(|(k, _)| k)
            .collect();
        for name in names {
            let allowed = match &name {
                Value::String(s) => GLOBALS_ALLOWED.contains(&&*s.to_string_lossy()),
                _ => false,
            };
            if !allowed {
                globals.raw_set(name, Value::Nil)?;
            }
        }
        // SAFETY: the function only reads its two arguments, checks that
        // the first is a table and flips that table's flag.
        let readonly = unsafe { lua.create_c_function(api::set_readonly)? };
        // SAFETY: the function only sets two fields of the globals table.
        let set_keys_argv = unsafe { lua.create_c_function(api::set_keys_argv)? };
        let engine = Engine {
            lua,
            scripts: HashMap::default(),
            runner,
            readonly,
            set_keys_argv,
            runs: 0,
        };
        engine.protect_globals()?;
        // What building it left behind is garbage now.
        engine.lua.gc_collect()?;
        Ok(engine)
    }

    /// Reading a missing global is an error, and every table reachable from
    /// the globals (libraries, `redis`, their metatables) is read-only.
    fn protect_globals(&self) -> mlua::Result<()> {
        let globals = self.lua.globals();
        let error_meta: Table = self
            .lua
            .load(api::MISSING_GLOBAL)
            .set_name(HELPERS_CHUNK)
            .eval()?;
        globals.set_metatable(Some(error_meta))?;
        let mut seen = Vec::new();
        self.protect(globals, &mut seen)
    }

    fn protect(&self, table: Table, seen: &mut Vec<usize>) -> mlua::Result<()> {
        let address = table.to_pointer() as usize;
        if seen.contains(&address) {
            return Ok(());
        }
        seen.push(address);
        self.readonly.call::<()>((table.clone(), true))?;
        let children: Vec<Table> = table
            .pairs::<Value, Value>()
            .flatten()
            .filter_map(|(_, v)| match v {
                Value::Table(t) => Some(t),
                _ => None,
            })
            .collect();
        for child in children {
            self.protect(child, seen)?;
        }
        if let Some(meta) = table.metatable() {
            self.protect(meta, seen)?;
        }
        Ok(())
    }

    /// True when the script with this SHA1 (lower-case hex) is compiled here.
    pub fn has(&self, sha: &str) -> bool {
        self.scripts.contains_key(sha)
    }

    pub fn flags(&self, sha: &str) -> Option<ScriptFlags> {
        self.scripts.get(sha).map(|script| script.flags)
    }

    pub fn len(&self) -> usize {
        self.scripts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.scripts.is_empty()
    }

    /// Compiles `body` unless it is here already; its SHA1, or the error
    /// reply Redis gives for it.
    pub fn load(&mut self, body: &[u8]) -> Result<String, Reply> {
        let sha = sha1_hex(body);
        if self.scripts.contains_key(&sha) {
            return Ok(sha);
        }
        let (flags, shebang) = parse_shebang(body).map_err(|e| Reply::error(format!("ERR {e}")))?;
        let function = self
            .lua
            .load(&body[shebang..])
            .set_name(SCRIPT_CHUNK)
            .set_mode(mlua::chunk::ChunkMode::Text)
            .into_function()
            .map_err(|e| {
                Reply::error(format!(
                    "ERR Error compiling script (new function): {}",
                    compile_error_text(&e)
                ))
            })?;
        self.scripts.insert(sha.clone(), Script { function, flags });
        Ok(sha)
    }

    /// Forgets every script and starts a fresh interpreter (SCRIPT FLUSH).
    pub fn flush(&mut self) -> Result<(), String> {
        *self = Engine::new()?;
        Ok(())
    }

    /// Memory the interpreter holds (INFO's used_memory_lua).
    pub fn used_memory(&self) -> usize {
        self.lua.used_memory()
    }

    /// Runs a compiled script with its KEYS and ARGV, and converts what it
    /// returns into the reply.
    /// The reply, and the run as it ended.
    pub fn run(
        &mut self,
        host: Rc<dyn Host>,
        run: Run,
        keys: &[Bytes],
        args: &[Bytes],
    ) -> (Reply, Run) {
        let Some(function) = self.scripts.get(&run.sha).map(|s| s.function.clone()) else {
            return (
                Reply::error("NOSCRIPT No matching script. Please use EVAL."),
                run,
            );
        };
        let mut ended = None;
        let mut run = Some(run);
        let outcome = self.set_arguments(keys, args).and_then(|()| {
            if let Some(run) = run.take() {
                self.lua.set_app_data(Running { host, run });
            }
            let outcome = self.runner.call::<MultiValue>(function);
            ended = self
                .lua
                .remove_app_data::<Running>()
                .map(|running| running.run);
            outcome
        });
        let ended = ended.or(run).unwrap_or_default();
        let sha = &ended.sha;
        self.runs += 1;
        if self.runs >= GC_CYCLE_RUNS {
            self.runs = 0;
            // Redis's lua_gc(LUA_GCSTEP, 50): a step worth 50 KB.
            // SAFETY: lua_gc only works on the interpreter's own heap.
            let _ = unsafe {
                self.lua.exec_raw::<()>((), |state| {
                    mlua::ffi::lua_gc(state, mlua::ffi::LUA_GCSTEP, GC_CYCLE_RUNS as _);
                })
            };
        }
        let reply = match outcome {
            Ok(values) => convert::outcome_reply(&values, sha, ended.resp3),
            Err(e) => Reply::error(format!(
                "ERR Error running script {sha}, {}",
                truncate(&e.to_string(), 100)
            )),
        };
        (reply, ended)
    }

    /// KEYS and ARGV are globals, set for each run through the read-only
    /// guard, as Redis sets them.
    fn set_arguments(&self, keys: &[Bytes], args: &[Bytes]) -> mlua::Result<()> {
        let keys = self.array_of(keys)?;
        let args = self.array_of(args)?;
        self.set_keys_argv.call::<()>((keys, args))
    }

    fn array_of(&self, items: &[Bytes]) -> mlua::Result<Table> {
        let table = self.lua.create_table_with_capacity(items.len(), 0)?;
        for (i, item) in items.iter().enumerate() {
            table.raw_set(i + 1, self.lua.create_string(item)?)?;
        }
        Ok(table)
    }
}

/// Lua's own message of a compile error ("user_script:1: ...").
fn compile_error_text(error: &mlua::Error) -> String {
    match error {
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        mlua::Error::RuntimeError(message) | mlua::Error::MemoryError(message) => message.clone(),
        other => other.to_string(),
    }
}

fn truncate(text: &str, chars: usize) -> &str {
    match text.char_indices().nth(chars) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}

mod api;

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    /// A host that answers GET and SET from a map, as a shard would.
    #[derive(Default)]
    struct MapHost {
        values: RefCell<HashMap<Vec<u8>, Bytes>>,
    }

    impl Host for MapHost {
        fn call(&self, run: &mut Run, argv: Vec<Bytes>) -> Result<Reply, String> {
            match argv[0].to_ascii_lowercase().as_slice() {
                b"get" => Ok(self
                    .values
                    .borrow()
                    .get(&argv[1][..])
                    .map_or(Reply::Nil, |v| Reply::Bulk(v.clone()))),
                b"set" => {
                    run.dirty = true;
                    self.values
                        .borrow_mut()
                        .insert(argv[1].to_vec(), argv[2].clone());
                    Ok(Reply::ok())
                }
                b"hgetall" => Ok(Reply::Map(vec![(
                    Reply::bulk_str("f"),
                    Reply::bulk_str("v"),
                )])),
                b"bad" => Ok(Reply::error(
                    "WRONGTYPE Operation against a key holding the wrong kind of value",
                )),
                _ => Err("Unknown Redis command called from script".into()),
            }
        }

        fn log(&self, _level: i32, _text: &str) {}

        fn killed(&self, _run: &Run) -> bool {
            false
        }
    }

    fn eval(engine: &mut Engine, host: &Rc<MapHost>, body: &str, keys: &[&str]) -> Reply {
        let sha = engine
            .load(body.as_bytes())
            .unwrap_or_else(|e| panic!("{e:?}"));
        let run = Run {
            sha,
            flags: engine.flags(&sha1_hex(body.as_bytes())).unwrap_or_default(),
            ..Run::default()
        };
        let keys: Vec<Bytes> = keys
            .iter()
            .map(|k| Bytes::copy_from_slice(k.as_bytes()))
            .collect();
        engine.run(host.clone(), run, &keys, &[]).0
    }

    #[test]
    fn scripts_call_commands_and_convert_replies_as_redis() {
        let mut engine = Engine::new().unwrap();
        let host = Rc::new(MapHost::default());
        let set = "return redis.call('set', KEYS[1], 'v')";
        assert_eq!(eval(&mut engine, &host, set, &["k"]), Reply::ok());
        let get = "return {redis.call('get', KEYS[1]), redis.call('get', 'nope')}";
        assert_eq!(
            eval(&mut engine, &host, get, &["k"]),
            // A nil bulk is false in Lua, and false goes back as a nil.
            Reply::Array(vec![Reply::bulk_str("v"), Reply::Nil])
        );
        let map = "redis.setresp(3) return redis.call('hgetall', 'h').map.f";
        assert_eq!(eval(&mut engine, &host, map, &[]), Reply::bulk_str("v"));
        let pcall = "return redis.pcall('bad')";
        assert_eq!(
            eval(&mut engine, &host, pcall, &[]),
            Reply::error("WRONGTYPE Operation against a key holding the wrong kind of value")
        );
        let call = "\n\nreturn redis.call('nosuch')";
        assert_eq!(
            eval(&mut engine, &host, call, &[]),
            Reply::error(format!(
                "ERR Unknown Redis command called from script script: {}, on @user_script:3.",
                sha1_hex(call.as_bytes())
            ))
        );
        assert_eq!(eval(&mut engine, &host, "return 3.99", &[]), Reply::Int(3));
        assert_eq!(eval(&mut engine, &host, "return false", &[]), Reply::Nil);
    }

    #[test]
    fn the_sandbox_is_read_only_and_missing_globals_are_errors() {
        let mut engine = Engine::new().unwrap();
        let host = Rc::new(MapHost::default());
        for (body, text) in [
            ("x = 1", "user_script:1: Attempt to modify a readonly table"),
            (
                "redis.call = nil",
                "user_script:1: Attempt to modify a readonly table",
            ),
            (
                "return print",
                "user_script:1: Script attempted to access nonexistent global variable 'print'",
            ),
            (
                "return getfenv",
                "user_script:1: Script attempted to access nonexistent global variable 'getfenv'",
            ),
        ] {
            assert_eq!(
                eval(&mut engine, &host, body, &[]),
                Reply::error(format!(
                    "ERR {text} script: {}, on @user_script:1.",
                    sha1_hex(body.as_bytes())
                )),
                "{body}"
            );
        }
        // Precompiled chunks are refused, as in Redis.
        let dump = "return loadstring(string.dump(function() return 1 end)) == nil";
        assert_eq!(eval(&mut engine, &host, dump, &[]), Reply::Int(1));
    }

    #[test]
    fn sha1_names_are_lower_case_hex() {
        assert_eq!(sha1_hex(b""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(
            sha1_hex(b"return 1"),
            "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"
        );
    }

    #[test]
    fn shebang_lines_give_flags() {
        let (flags, length) = parse_shebang(b"#!lua flags=no-writes,allow-oom\nreturn 1").unwrap();
        assert!(flags.no_writes && flags.allow_oom && !flags.compat);
        assert_eq!(length, 31);
        assert!(parse_shebang(b"return 1").unwrap().0.compat);
        assert_eq!(
            parse_shebang(b"#!lua flags=\nreturn 1").unwrap().0,
            ScriptFlags::default()
        );
        assert_eq!(
            parse_shebang(b"#!lua flags=no-writes,\n").unwrap_err(),
            "Unexpected flag in script shebang: "
        );
        assert_eq!(
            parse_shebang(b"#!py\n").unwrap_err(),
            "Unexpected engine in script shebang: #!py"
        );
        assert_eq!(
            parse_shebang(b"#!lua").unwrap_err(),
            "Invalid script shebang"
        );
    }
}
