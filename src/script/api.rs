//! What scripts call: the `redis` table, math.random, pcall, the error
//! handler and the hook that ends a killed script.
//!
//! The functions are Rust ones returning `(value, raise)`, each called
//! through a small C function (`raising`) that raises `value` when `raise`
//! is true: Redis raises its error tables from C, which mlua cannot do from
//! Rust, and a C function (unlike a Lua wrapper) keeps its caller's frame
//! on a tail call, so the error handler finds the script's line as Redis's
//! does.

use super::convert::{error_table, reply_to_lua};
use super::libs::{c_double_to_i32, c_double_to_i64, lua_to_number, lua_type_name};
use super::rand::Lrand48;
use super::Running;
use crate::protocol::reply::format_g17;
use bytes::Bytes;
use mlua::{ffi, Lua, MultiValue, Table, Value};
use std::os::raw::c_int;

/// Our Lua side, run once with the Rust functions it needs. It sets pcall
/// and the error handler, and returns the runner: `runner(f)` calls `f`
/// under the error handler with the kill hook set and answers `ok, value`.
pub const HELPERS: &str = r#"
local raw = ...
local error, type, tostring, lua_pcall, xpcall = error, type, tostring, pcall, xpcall
-- A library's error (raised from Rust) as the message its C original raises.
local message_of = raw.message_of
local dbg = debug
debug = nil

-- pcall answers an error table's text, as Redis's own pcall does.
local function pcall_result(ok, ...)
  if ok then return true, ... end
  local e = message_of((...))
  if type(e) == 'table' then
    local text = e.err
    if type(text) == 'string' or type(text) == 'number' then return false, text end
  end
  return false, e
end
pcall = function(f, ...) return pcall_result(lua_pcall(f, ...)) end

-- Where an error happened, as Redis's handler finds it: the caller of the
-- C function that raised it, past the frames of these helpers (which
-- stand in for Redis's C functions).
function __redis__err__handler(err)
  dbg.sethook()
  local level = 2
  local i = dbg.getinfo(level, 'nSl')
  if i and i.what == 'C' then
    level = level + 1
    i = dbg.getinfo(level, 'nSl')
    while i and i.source == '=redis' do
      level = level + 1
      i = dbg.getinfo(level, 'nSl')
    end
  end
  err = message_of(err)
  if type(err) ~= 'table' then err = {err = 'ERR ' .. tostring(err)} end
  if i then
    err['source'] = i.source
    err['line'] = i.currentline
  end
  return err
end
local handler = __redis__err__handler

local killed = raw.killed
local function kill_error()
  error({err = 'ERR Script killed by user with SCRIPT KILL...'})
end
-- Once killed, every line raises again, so that pcall cannot keep the
-- script going.
local function on_line() kill_error() end
local function on_count()
  if killed() then
    dbg.sethook(on_line, 'l')
    kill_error()
  end
end

return function(f)
  dbg.sethook(on_count, '', 100000)
  local ok, value = xpcall(f, handler)
  dbg.sethook()
  return ok, value
end
"#;

/// The metatable of the globals: reading a missing one is an error.
pub const MISSING_GLOBAL: &str = r#"
local error, type, tostring = error, type, tostring
return {
  __index = function(_, name)
    if type(name) ~= 'string' and type(name) ~= 'number' then
      error("Second argument to luaProtectedTableError must be a string or number", 2)
    end
    error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
  end
}
"#;

/// Redis's REDIS_VERSION_NUM for the version we match (0x00MMmmpp).
const REDIS_VERSION_NUM: u32 = 0x0007_000f;

extern "C" {
    /// Added to Lua by vendor/lua-src (Redis's patch).
    fn lua_enablereadonlytable(state: *mut ffi::lua_State, index: c_int, enabled: c_int);
}

/// `set_readonly(table, enabled)`.
pub unsafe extern "C-unwind" fn set_readonly(state: *mut ffi::lua_State) -> c_int {
    if ffi::lua_type(state, 1) == ffi::LUA_TTABLE {
        lua_enablereadonlytable(state, 1, ffi::lua_toboolean(state, 2));
    }
    0
}

/// `set_keys_argv(keys, argv)`: the globals KEYS and ARGV, set with the
/// globals' read-only flag lifted for the two stores.
pub unsafe extern "C-unwind" fn set_keys_argv(state: *mut ffi::lua_State) -> c_int {
    lua_enablereadonlytable(state, ffi::LUA_GLOBALSINDEX, 0);
    ffi::lua_pushvalue(state, 1);
    ffi::lua_setfield(state, ffi::LUA_GLOBALSINDEX, c"KEYS".as_ptr());
    ffi::lua_pushvalue(state, 2);
    ffi::lua_setfield(state, ffi::LUA_GLOBALSINDEX, c"ARGV".as_ptr());
    lua_enablereadonlytable(state, ffi::LUA_GLOBALSINDEX, 1);
    0
}

/// The `redis` table with its constants; HELPERS adds the functions.
pub fn redis_table(lua: &Lua) -> mlua::Result<Table> {
    let redis = lua.create_table()?;
    redis.raw_set("REDIS_VERSION_NUM", REDIS_VERSION_NUM)?;
    redis.raw_set("REDIS_VERSION", crate::REDIS_VERSION)?;
    for (name, level) in [
        ("LOG_DEBUG", 0),
        ("LOG_VERBOSE", 1),
        ("LOG_NOTICE", 2),
        ("LOG_WARNING", 3),
    ] {
        redis.raw_set(name, level)?;
    }
    for (name, flags) in [
        ("REPL_NONE", 0),
        ("REPL_AOF", 1),
        ("REPL_SLAVE", 2),
        ("REPL_REPLICA", 2),
        ("REPL_ALL", 3),
    ] {
        redis.raw_set(name, flags)?;
    }
    Ok(redis)
}

type RawFn = fn(&Lua, Args) -> mlua::Result<MultiValue>;

/// A function's arguments, packed by `call_raw` into a table, with their
/// count (a trailing nil counts).
pub struct Args {
    table: Table,
    count: usize,
}

impl Args {
    fn len(&self) -> usize {
        self.count
    }

    fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Argument `index` (from 0); nil past the end.
    fn get(&self, index: usize) -> Value {
        if index >= self.count {
            return Value::Nil;
        }
        self.table.raw_get(index + 1).unwrap_or(Value::Nil)
    }

    fn exists(&self, index: usize) -> Option<Value> {
        (index < self.count).then(|| self.get(index))
    }
}

impl mlua::FromLuaMulti for Args {
    fn from_lua_multi(values: MultiValue, _lua: &Lua) -> mlua::Result<Self> {
        let mut values = values.into_iter();
        let table = match values.next() {
            Some(Value::Table(table)) => table,
            _ => return Err(mlua::Error::runtime("arguments not packed")),
        };
        let count = match values.next() {
            Some(Value::Integer(n)) => n.max(0) as usize,
            Some(Value::Number(n)) => n.max(0.0) as usize,
            _ => 0,
        };
        Ok(Args { table, count })
    }
}

/// How many values a function gives back when it does not raise.
#[derive(Clone, Copy)]
enum Results {
    One,
    None,
}

/// Sets the `redis` table's functions and Redis's math.random and
/// math.randomseed.
pub fn set_functions(lua: &Lua, redis: &Table, math: &Table) -> mlua::Result<()> {
    let functions: [(&Table, &str, RawFn, Results); 12] = [
        (redis, "call", call, Results::One),
        (redis, "pcall", pcall, Results::One),
        (redis, "sha1hex", sha1hex, Results::One),
        (redis, "error_reply", error_reply, Results::One),
        (redis, "status_reply", status_reply, Results::One),
        (redis, "log", log, Results::None),
        (redis, "setresp", setresp, Results::None),
        (redis, "set_repl", set_repl, Results::None),
        (redis, "acl_check_cmd", acl_check_cmd, Results::One),
        (redis, "breakpoint", breakpoint, Results::One),
        (math, "random", random, Results::One),
        (math, "randomseed", randomseed, Results::None),
    ];
    for (table, name, function, results) in functions {
        table.raw_set(name, raising(lua, function, results)?)?;
    }
    redis.raw_set("debug", raising(lua, nothing, Results::None)?)?;
    redis.raw_set("replicate_commands", raising(lua, yes, Results::One)?)?;
    Ok(())
}

/// The Rust functions HELPERS itself calls.
pub fn helper_functions(lua: &Lua) -> mlua::Result<Table> {
    let table = lua.create_table()?;
    table.raw_set("killed", lua.create_function(killed)?)?;
    table.raw_set("message_of", lua.create_function(message_of)?)?;
    Ok(table)
}

/// `function` behind a C closure that raises what it returns when it says
/// so (see the module's comment).
fn raising(lua: &Lua, function: RawFn, results: Results) -> mlua::Result<mlua::Function> {
    let function = lua.create_function(function)?;
    let trampoline: ffi::lua_CFunction = match results {
        Results::One => raise_or_return_one,
        Results::None => raise_or_return_none,
    };
    // SAFETY: pops the function pushed as the argument and pushes one
    // closure over it, which exec_raw returns.
    unsafe {
        lua.exec_raw::<mlua::Function>(function, |state| {
            ffi::lua_pushcclosure(state, trampoline, 1);
        })
    }
}

/// Calls upvalue 1 with every argument packed in one table (so that
/// thousands of arguments need no more than one of mlua's references)
/// and their count; it answers `value, raise`.
unsafe fn call_raw(state: *mut ffi::lua_State) -> bool {
    let count = ffi::lua_gettop(state);
    ffi::lua_createtable(state, count, 0);
    ffi::lua_insert(state, 1);
    for index in (1..=count).rev() {
        ffi::lua_rawseti(state, 1, index as ffi::lua_Integer);
    }
    ffi::lua_pushinteger(state, count as ffi::lua_Integer);
    ffi::lua_pushvalue(state, ffi::lua_upvalueindex(1));
    ffi::lua_insert(state, 1);
    ffi::lua_call(state, 2, 2);
    let raise = ffi::lua_toboolean(state, -1) != 0;
    ffi::lua_settop(state, -2);
    raise
}

/// Raises the value on top. A message gets the caller's position first,
/// as luaL_error gives it ("user_script:1: ...").
unsafe fn raise_top(state: *mut ffi::lua_State) {
    if ffi::lua_type(state, -1) == ffi::LUA_TSTRING {
        ffi::luaL_where(state, 1);
        ffi::lua_insert(state, -2);
        ffi::lua_concat(state, 2);
    }
    ffi::lua_error(state);
}

unsafe extern "C-unwind" fn raise_or_return_one(state: *mut ffi::lua_State) -> c_int {
    if call_raw(state) {
        raise_top(state);
    }
    1
}

unsafe extern "C-unwind" fn raise_or_return_none(state: *mut ffi::lua_State) -> c_int {
    if call_raw(state) {
        raise_top(state);
    }
    0
}

fn nothing(_lua: &Lua, _args: Args) -> mlua::Result<MultiValue> {
    Ok(MultiValue::new())
}

fn yes(lua: &Lua, _args: Args) -> mlua::Result<MultiValue> {
    value(true, lua)
}

/// redis.breakpoint: false, there is no debugger session.
fn breakpoint(lua: &Lua, _args: Args) -> mlua::Result<MultiValue> {
    value(false, lua)
}

fn value(value: impl mlua::IntoLua, lua: &Lua) -> mlua::Result<MultiValue> {
    Ok(MultiValue::from_vec(vec![value.into_lua(lua)?]))
}

fn raise(value: impl mlua::IntoLua, lua: &Lua) -> mlua::Result<MultiValue> {
    Ok(MultiValue::from_vec(vec![
        value.into_lua(lua)?,
        Value::Boolean(true),
    ]))
}

/// Raises Redis's error table for `text` (luaPushError + luaError).
fn raise_error(lua: &Lua, text: &str) -> mlua::Result<MultiValue> {
    raise(error_table(lua, text)?, lua)
}

/// `lua_tolstring`: strings, and numbers as Lua prints them.
fn string_of(value: &Value) -> Option<Vec<u8>> {
    match value {
        Value::String(s) => Some(s.as_bytes().to_vec()),
        Value::Integer(i) => Some(i.to_string().into_bytes()),
        Value::Number(n) => Some(lua_number_text(*n).into_bytes()),
        _ => None,
    }
}

/// Lua 5.1's "%.14g".
pub fn lua_number_text(n: f64) -> String {
    crate::protocol::reply::format_g(n, 14)
}

fn call(lua: &Lua, args: Args) -> mlua::Result<MultiValue> {
    command(lua, args, true)
}

fn pcall(lua: &Lua, args: Args) -> mlua::Result<MultiValue> {
    command(lua, args, false)
}

fn command(lua: &Lua, args: Args, raising: bool) -> mlua::Result<MultiValue> {
    let fail = |lua: &Lua, table: Table| {
        if raising {
            raise(table, lua)
        } else {
            value(table, lua)
        }
    };
    let Some(mut running) = lua.app_data_mut::<Running>() else {
        return raise_error(
            lua,
            "redis.call/pcall can only be called inside a script invocation",
        );
    };
    if args.is_empty() {
        drop(running);
        let table = error_table(
            lua,
            "Please specify at least one argument for this redis lib call",
        )?;
        return fail(lua, table);
    }
    let mut argv = Vec::with_capacity(args.len());
    for index in 0..args.len() {
        let bytes = match &args.get(index) {
            Value::String(s) => Bytes::copy_from_slice(&s.as_bytes()),
            // Not Lua's "%.14g": Redis sends numbers at full precision.
            Value::Integer(i) => Bytes::from(format_g17(*i as f64)),
            Value::Number(n) => Bytes::from(format_g17(*n)),
            _ => {
                drop(running);
                let table = error_table(
                    lua,
                    "Lua redis lib command arguments must be strings or integers",
                )?;
                return fail(lua, table);
            }
        };
        argv.push(bytes);
    }
    let host = running.host.clone();
    let result = host.call(&mut running.run, argv);
    let resp3 = running.run.resp3;
    drop(running);
    match result {
        Err(text) => {
            let table = error_table(lua, &text)?;
            table.raw_set("ignore_error_stats_update", true)?;
            fail(lua, table)
        }
        Ok(reply) => {
            let converted = reply_to_lua(lua, &reply, resp3)?;
            match converted {
                Value::Table(table) if reply.is_error() => fail(lua, table),
                other => value(other, lua),
            }
        }
    }
}

fn sha1hex(lua: &Lua, args: Args) -> mlua::Result<MultiValue> {
    if args.len() != 1 {
        return raise_error(lua, "wrong number of arguments");
    }
    let text = string_of(&args.get(0)).unwrap_or_default();
    value(super::sha1_hex(&text), lua)
}

fn single_string(args: &Args) -> Option<mlua::LuaString> {
    match (args.len(), args.get(0)) {
        (1, Value::String(s)) => Some(s),
        _ => None,
    }
}

fn error_reply(lua: &Lua, args: Args) -> mlua::Result<MultiValue> {
    let Some(text) = single_string(&args) else {
        return value(error_table(lua, "wrong number or type of arguments")?, lua);
    };
    let text = text.to_string_lossy();
    let text = if text.starts_with('-') {
        text
    } else {
        format!("-{text}")
    };
    value(error_table(lua, &text)?, lua)
}

fn status_reply(lua: &Lua, args: Args) -> mlua::Result<MultiValue> {
    let Some(text) = single_string(&args) else {
        return value(error_table(lua, "wrong number or type of arguments")?, lua);
    };
    let table = lua.create_table()?;
    table.raw_set("ok", text)?;
    value(table, lua)
}

fn log(lua: &Lua, args: Args) -> mlua::Result<MultiValue> {
    if args.len() < 2 {
        return raise_error(lua, "redis.log() requires two arguments or more.");
    }
    let Some(level) = lua_to_number(lua, &args.get(0)) else {
        return raise_error(lua, "First argument must be a number (log level).");
    };
    let level = c_double_to_i32(level);
    if !(0..=3).contains(&level) {
        return raise_error(lua, "Invalid debug level.");
    }
    let parts: Vec<Vec<u8>> = (1..args.len())
        .filter_map(|i| string_of(&args.get(i)))
        .collect();
    let text = String::from_utf8_lossy(&parts.join(&b' ')).into_owned();
    if let Some(running) = lua.app_data_ref::<Running>() {
        running.host.log(level, &text);
    }
    Ok(MultiValue::new())
}

/// Redis's error for a function of the `redis` table called when no
/// script runs (from a coroutine or a library callback kept past the run).
fn outside_script(lua: &Lua, name: &str) -> Option<mlua::Result<MultiValue>> {
    lua.app_data_ref::<Running>().is_none().then(|| {
        raise_error(
            lua,
            &format!("{name} can only be called inside a script invocation"),
        )
    })
}

fn setresp(lua: &Lua, args: Args) -> mlua::Result<MultiValue> {
    if let Some(outside) = outside_script(lua, "redis.setresp") {
        return outside;
    }
    if args.len() != 1 {
        return raise_error(lua, "redis.setresp() requires one argument.");
    }
    let resp = c_double_to_i32(lua_to_number(lua, &args.get(0)).unwrap_or(0.0));
    if resp != 2 && resp != 3 {
        return raise_error(lua, "RESP version must be 2 or 3.");
    }
    if let Some(mut running) = lua.app_data_mut::<Running>() {
        running.run.resp3 = resp == 3;
    }
    Ok(MultiValue::new())
}

fn set_repl(lua: &Lua, args: Args) -> mlua::Result<MultiValue> {
    if let Some(outside) = outside_script(lua, "redis.set_repl") {
        return outside;
    }
    if args.len() != 1 {
        return raise_error(lua, "redis.set_repl() requires two arguments.");
    }
    let flags = c_double_to_i32(lua_to_number(lua, &args.get(0)).unwrap_or(0.0));
    if flags & !3 != 0 {
        return raise_error(
            lua,
            "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.",
        );
    }
    // Nothing is replicated or logged to an AOF here: the flags have
    // nothing to change.
    Ok(MultiValue::new())
}

fn acl_check_cmd(lua: &Lua, args: Args) -> mlua::Result<MultiValue> {
    if let Some(outside) = outside_script(lua, "redis.acl_check_cmd") {
        return outside;
    }
    let Some(name) = args.exists(0) else {
        return raise_error(
            lua,
            "Please specify at least one argument for this redis lib call",
        );
    };
    let Some(name) = string_of(&name) else {
        return raise_error(
            lua,
            "Lua redis lib command arguments must be strings or integers",
        );
    };
    match crate::command::lookup(&name) {
        // The default user may run every command.
        Some(_) => value(true, lua),
        None => raise_error(lua, "Invalid command passed to redis.acl_check_cmd()"),
    }
}

/// luaL_checkint's argument, or luaL_argerror's message for it.
fn check_int(lua: &Lua, args: &Args, index: usize) -> Result<i32, String> {
    let got = args.exists(index);
    match got.as_ref().and_then(|value| lua_to_number(lua, value)) {
        // (int)lua_tointeger: the 64-bit cast, then its low 32 bits.
        Some(n) => Ok(c_double_to_i64(n) as i32),
        None => {
            let kind = match &got {
                None => "no value",
                Some(v) => lua_type_name(v),
            };
            Err(format!(
                "bad argument #{} to 'random' (number expected, got {kind})",
                index + 1
            ))
        }
    }
}

/// Redis's math.random: Lua's, with Redis's own lrand48.
fn random(lua: &Lua, args: Args) -> mlua::Result<MultiValue> {
    if lua.app_data_ref::<Running>().is_none() {
        return raise(
            "math.random can only be called inside a script invocation",
            lua,
        );
    }
    let r = {
        let Some(mut rng) = lua.app_data_mut::<Lrand48>() else {
            return raise(
                "math.random can only be called inside a script invocation",
                lua,
            );
        };
        let max = i32::MAX as f64;
        (rng.next() % i32::MAX) as f64 / max
    };
    let result = match args.len() {
        0 => Ok(r),
        1 => check_int(lua, &args, 0).and_then(|u| {
            if 1 <= u {
                Ok((r * u as f64).floor() + 1.0)
            } else {
                Err("bad argument #1 to 'random' (interval is empty)".into())
            }
        }),
        2 => check_int(lua, &args, 0).and_then(|l| {
            let u = check_int(lua, &args, 1)?;
            if l <= u {
                Ok((r * (u as f64 - l as f64 + 1.0)).floor() + l as f64)
            } else {
                Err("bad argument #2 to 'random' (interval is empty)".into())
            }
        }),
        _ => Err("wrong number of arguments".into()),
    };
    match result {
        Ok(n) => value(n, lua),
        Err(text) => raise(text, lua),
    }
}

fn randomseed(lua: &Lua, args: Args) -> mlua::Result<MultiValue> {
    if lua.app_data_ref::<Running>().is_none() {
        return raise(
            "math.randomseed can only be called inside a script invocation",
            lua,
        );
    }
    let seed = match check_int(lua, &args, 0) {
        Ok(seed) => seed,
        Err(text) => return raise(text.replace("'random'", "'randomseed'"), lua),
    };
    if let Some(mut rng) = lua.app_data_mut::<Lrand48>() {
        rng.seed(seed);
    }
    Ok(MultiValue::new())
}

/// An error raised by a Rust function is a userdata to Lua: its message,
/// as the C library Redis has would have raised it. Other values as they
/// are.
fn message_of(lua: &Lua, value: Value) -> mlua::Result<Value> {
    match value {
        Value::Error(error) => Ok(Value::String(lua.create_string(root_message(&error))?)),
        other => Ok(other),
    }
}

fn root_message(error: &mlua::Error) -> String {
    match error {
        mlua::Error::RuntimeError(message) | mlua::Error::MemoryError(message) => message.clone(),
        mlua::Error::CallbackError { cause, .. } | mlua::Error::WithContext { cause, .. } => {
            root_message(cause)
        }
        other => other.to_string(),
    }
}

fn killed(lua: &Lua, _args: MultiValue) -> mlua::Result<MultiValue> {
    let killed = lua
        .app_data_ref::<Running>()
        .is_some_and(|running| running.host.killed(&running.run));
    value(killed, lua)
}
