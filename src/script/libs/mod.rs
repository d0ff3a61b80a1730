//! The Lua libraries Redis 7.0 preloads into every script's globals, written in Rust:
//!
//! | global     | behaves like                         | file           |
//! | ---------- | ------------------------------------ | -------------- |
//! | `cjson`    | lua_cjson 2.1.0 as patched by Redis  | `cjson.rs`     |
//! | `bit`      | LuaBitOp 1.0.2                       | `bit.rs`       |
//! | `struct`   | lua_struct 0.2                       | `structlib.rs` |
//! | `cmsgpack` | lua_cmsgpack 0.4.0                   | `cmsgpack.rs`  |
//!
//! Scripts compare results byte for byte with what Redis returns, so each library reproduces
//! the C one's output and its error texts, down to the quirks of the C casts it relies on
//! (what x86-64 gives for a double out of an integer's range, for instance). Errors are
//! `mlua::Error::RuntimeError` carrying the message the C library raises, with the position
//! `luaL_error` puts in front (`user_script:1: `) when a Lua function made the call.
//!
//! Two limits shape the code. Lua 5.1 lets a C function use at most 8000 stack slots, and the
//! C libraries hit that limit on deep nesting or many results; we count the slots they would
//! use and fail at the same point with the same message. And every live mlua `Value` that
//! holds a table or a string takes one slot of mlua's own reference stack (also about 8000),
//! so where a script controls the nesting (all but `cmsgpack.pack`, which stops at 16 levels)
//! the walkers iterate instead of recursing and keep the tables they will come back to inside
//! a Lua table ([`ParkedValues`]): neither the Rust stack nor the reference stack grows with
//! what a script hands them.

mod bit;
mod cjson;
mod cmsgpack;
mod structlib;

use mlua::{Lua, LuaString, MultiValue, Table, Value};

/// Sets the globals `cjson`, `struct`, `cmsgpack` and `bit`, as Redis's `luaLoadLibraries`
/// does (in that order). Making them read-only is the caller's business.
pub fn register_all(lua: &Lua) -> mlua::Result<()> {
    let globals = lua.globals();
    globals.raw_set("cjson", cjson::create_module(lua)?)?;
    globals.raw_set("struct", structlib::create_module(lua)?)?;
    globals.raw_set("cmsgpack", cmsgpack::create_module(lua)?)?;
    globals.raw_set("bit", bit::create_module(lua)?)?;
    Ok(())
}

/// The most stack slots Lua 5.1 grants one C function (`LUAI_MAXCSTACK`); `lua_checkstack`
/// fails beyond it, which is what bounds nesting and result counts in the C libraries.
const LUA_C_FUNCTION_SLOTS_MAX: usize = 8000;

/// Whether `lua_checkstack(L, extra)` would succeed with `used` slots already in use.
fn lua_stack_has_room(used: usize, extra: usize) -> bool {
    used.saturating_add(extra) <= LUA_C_FUNCTION_SLOTS_MAX
}

/// The error `luaL_checkstack` raises when there is no room.
fn stack_overflow_error(lua: &Lua, message: &str) -> mlua::Error {
    lua_error(lua, format!("stack overflow ({message})"))
}

/// An error as `luaL_error` raises it from a library function: the message after the
/// position of the Lua code that called the function (`luaL_where(L, 1)`), when that code
/// is Lua code. Scripts see these positions (`user_script:1: ...`) in Redis too.
fn lua_error(lua: &Lua, message: impl AsRef<str>) -> mlua::Error {
    let location = lua.inspect_stack(1, |debug| {
        let line = debug.current_line()?;
        let short_source = debug.source().short_src?.into_owned();
        Some(format!("{short_source}:{line}: "))
    });
    runtime_error(format!(
        "{}{}",
        location.flatten().unwrap_or_default(),
        message.as_ref()
    ))
}

/// An error raised without a position, as Lua's own runtime errors inside a C function are.
fn runtime_error(message: impl Into<String>) -> mlua::Error {
    mlua::Error::RuntimeError(message.into())
}

/// Lua's own name for a value's type (`lua_typename`): light userdata is "userdata" too.
pub(crate) fn lua_type_name(value: &Value) -> &'static str {
    match value {
        Value::Nil => "nil",
        Value::Boolean(_) => "boolean",
        Value::LightUserData(_) | Value::UserData(_) | Value::Error(_) => "userdata",
        Value::Integer(_) | Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Table(_) => "table",
        Value::Function(_) => "function",
        Value::Thread(_) => "thread",
        _ => "userdata",
    }
}

/// The number a value stands for under `lua_tonumber`: numbers, and strings Lua converts.
pub(crate) fn lua_to_number(lua: &Lua, value: &Value) -> Option<f64> {
    match value {
        Value::Number(number) => Some(*number),
        Value::Integer(integer) => Some(*integer as f64),
        Value::String(_) => lua.coerce_number(value.clone()).ok().flatten(),
        _ => None,
    }
}

/// `(int64_t)number` as x86-64 computes it (`cvttsd2si`): truncation toward zero, and
/// `i64::MIN` for NaN and for anything out of range. `lua_tointeger` is this cast.
pub(crate) fn c_double_to_i64(number: f64) -> i64 {
    const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
    if number.is_nan() || !(-TWO_POW_63..TWO_POW_63).contains(&number) {
        i64::MIN
    } else {
        number as i64
    }
}

/// `(uint64_t)number` as gcc compiles it for x86-64: values from 2^63 up are converted
/// after subtracting 2^63; everything else (NaN included) goes through the signed cast.
fn c_double_to_u64(number: f64) -> u64 {
    const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
    if number >= TWO_POW_63 {
        (c_double_to_i64(number - TWO_POW_63) as u64) ^ (1 << 63)
    } else {
        c_double_to_i64(number) as u64
    }
}

/// `(int)number` as x86-64 computes it: truncation, and `i32::MIN` when out of range.
pub(crate) fn c_double_to_i32(number: f64) -> i32 {
    if number.is_nan() || number <= -2_147_483_649.0 || number >= 2_147_483_648.0 {
        i32::MIN
    } else {
        number as i32
    }
}

/// The arguments of one library function, with the checks of Lua's auxiliary library
/// (`luaL_checknumber` and friends) and its error texts.
struct Args<'a> {
    lua: &'a Lua,
    values: &'a MultiValue,
}

impl<'a> Args<'a> {
    fn new(lua: &'a Lua, values: &'a MultiValue) -> Self {
        Args { lua, values }
    }

    fn count(&self) -> usize {
        self.values.len()
    }

    /// The argument at a 1-based position, `None` when the call did not pass one.
    fn get(&self, position: usize) -> Option<&'a Value> {
        position
            .checked_sub(1)
            .and_then(|index| self.values.get(index))
    }

    fn is_none_or_nil(&self, position: usize) -> bool {
        matches!(self.get(position), None | Some(Value::Nil))
    }

    /// `luaL_argerror`: names the function as the calling code does (`'?'` when it cannot
    /// tell, as under `pcall(f, ...)`), and does not count `self` in method calls.
    fn error(&self, position: usize, message: &str) -> mlua::Error {
        let names = self.lua.inspect_stack(0, |debug| {
            let names = debug.names();
            (names.name.map(|name| name.into_owned()), names.name_what)
        });
        let Some((name, name_what)) = names else {
            return lua_error(self.lua, format!("bad argument #{position} ({message})"));
        };
        let name = name.unwrap_or_else(|| "?".to_string());
        let mut position = position as i64;
        if name_what == Some("method") {
            position -= 1;
            if position == 0 {
                return lua_error(
                    self.lua,
                    format!("calling '{name}' on bad self ({message})"),
                );
            }
        }
        lua_error(
            self.lua,
            format!("bad argument #{position} to '{name}' ({message})"),
        )
    }

    /// `luaL_typerror`.
    fn type_error(&self, position: usize, expected: &str) -> mlua::Error {
        let got = self.get(position).map_or("no value", lua_type_name);
        self.error(position, &format!("{expected} expected, got {got}"))
    }

    /// `lua_tonumber` of an argument: 0 for anything that is not a number.
    fn to_number(&self, position: usize) -> Option<f64> {
        self.get(position)
            .and_then(|value| lua_to_number(self.lua, value))
    }

    /// `luaL_checknumber`.
    fn number(&self, position: usize) -> mlua::Result<f64> {
        self.to_number(position)
            .ok_or_else(|| self.type_error(position, "number"))
    }

    /// `luaL_checkinteger`: the number cast to an integer as C casts it.
    fn integer(&self, position: usize) -> mlua::Result<i64> {
        self.number(position).map(c_double_to_i64)
    }

    /// `luaL_optinteger`.
    fn opt_integer(&self, position: usize, default: i64) -> mlua::Result<i64> {
        if self.is_none_or_nil(position) {
            Ok(default)
        } else {
            self.integer(position)
        }
    }

    /// `luaL_checklstring`: strings, and numbers converted as Lua converts them.
    fn string(&self, position: usize) -> mlua::Result<LuaString> {
        match self.get(position) {
            Some(Value::String(string)) => Ok(string.clone()),
            Some(value @ (Value::Integer(_) | Value::Number(_))) => self
                .lua
                .coerce_string(value.clone())?
                .ok_or_else(|| self.type_error(position, "string")),
            _ => Err(self.type_error(position, "string")),
        }
    }
}

/// A stack of Lua values kept in a Lua table. The nesting walkers park the containers they
/// will come back to here, so deep nesting costs Lua heap instead of mlua references.
struct ParkedValues {
    table: Table,
    len: i64,
}

impl ParkedValues {
    fn new(lua: &Lua) -> mlua::Result<Self> {
        Ok(ParkedValues {
            table: lua.create_table()?,
            len: 0,
        })
    }

    fn push(&mut self, value: Value) -> mlua::Result<()> {
        self.len += 1;
        self.table.raw_set(self.len, value)
    }

    fn pop(&mut self) -> mlua::Result<Value> {
        debug_assert!(self.len > 0, "pop from an empty ParkedValues");
        let value = self.table.raw_get(self.len)?;
        self.table.raw_set(self.len, Value::Nil)?;
        self.len -= 1;
        Ok(value)
    }

    fn pop_table(&mut self) -> mlua::Result<Table> {
        match self.pop()? {
            Value::Table(table) => Ok(table),
            other => Err(runtime_error(format!(
                "internal error: parked {} where a table was expected",
                lua_type_name(&other)
            ))),
        }
    }
}

/// Runs Lua snippets the way the unit tests of each library compare them with what
/// redis-server 7.0.15 answered to the same snippet.
#[cfg(test)]
mod testing {
    use mlua::Lua;

    /// Helpers both sides define: `show` renders any value as ASCII, deterministically
    /// (table keys sorted, numbers with 17 digits), so that replies compare as text.
    pub const PRELUDE: &str = r#"
local function show(v, depth)
  depth = depth or 0
  local t = type(v)
  if t == "string" then
    return '"' .. (string.gsub(v, '[^%w %-%.,:;_/!?()%[%]{}+*=<>#@$&|~^]', function(c)
      return string.format("\\x%02x", string.byte(c)) end)) .. '"'
  elseif t == "number" then
    if v ~= v then return "nan" end
    return string.format("%.17g", v)
  elseif t == "table" then
    if depth > 40 then return "{...}" end
    local parts = {}
    for k, x in pairs(v) do
      parts[#parts + 1] = show(k, depth + 1) .. "=" .. show(x, depth + 1)
    end
    table.sort(parts)
    return "{" .. table.concat(parts, ",") .. "}"
  elseif t == "userdata" then
    if v == cjson.null then return "null" end
    return "userdata"
  else
    return tostring(v)
  end
end
local function hex(s)
  return (string.gsub(s, '.', function(c) return string.format('%02x', string.byte(c)) end))
end
local function show_all(...)
  local parts = {}
  for i = 1, select('#', ...) do parts[i] = show((select(i, ...))) end
  return table.concat(parts, ", ")
end
"#;

    /// A fresh interpreter with the libraries registered, and a `pcall` that hands errors to
    /// the script as their message, as Redis's Lua does (mlua hands over an error object).
    pub fn new_lua() -> Lua {
        let lua = Lua::new();
        super::register_all(&lua).expect("libraries register");
        let pcall = lua
            .create_function(
                |lua, (function, args): (mlua::Function, mlua::MultiValue)| {
                    let mut results = mlua::MultiValue::new();
                    match function.call::<mlua::MultiValue>(args) {
                        Ok(values) => {
                            results.push_back(mlua::Value::Boolean(true));
                            results.extend(values);
                        }
                        Err(error) => {
                            results.push_back(mlua::Value::Boolean(false));
                            results.push_back(mlua::Value::String(
                                lua.create_string(root_message(&error))?,
                            ));
                        }
                    }
                    Ok(results)
                },
            )
            .expect("pcall replacement");
        lua.globals().set("pcall", pcall).expect("pcall set");
        lua
    }

    /// Runs `body` (statements ending in `return`) and renders the outcome the way the
    /// expectations were recorded from redis-server: `OK <show_all(results)>` or
    /// `ERR <message>`. The chunk has Redis's name and puts `body` on the same line as the
    /// recording did, so error positions compare too.
    pub fn run(lua: &Lua, body: &str) -> String {
        let chunk = format!("{PRELUDE}\nlocal show_results = show_all\nreturn show_results((function()\n{body}\nend)())");
        match lua.load(&chunk).set_name("@user_script").eval::<String>() {
            Ok(text) => format!("OK {text}"),
            Err(error) => format!("ERR {}", root_message(&error)),
        }
    }

    /// Runs `body` on a thread with a small stack: the walkers must not recurse with the
    /// nesting of what they walk, so deep inputs have to fit in it.
    pub fn run_on_small_stack(body: &'static str) -> String {
        const STACK_BYTES: usize = 256 * 1024;
        std::thread::Builder::new()
            .stack_size(STACK_BYTES)
            .spawn(move || run(&new_lua(), body))
            .expect("thread starts")
            .join()
            .expect("thread finishes")
    }

    fn root_message(error: &mlua::Error) -> String {
        match error {
            mlua::Error::CallbackError { cause, .. } => root_message(cause),
            mlua::Error::RuntimeError(message) => message.clone(),
            other => other.to_string(),
        }
    }

    /// Runs every case in a fresh interpreter and reports all mismatches at once.
    pub fn check_cases(cases: &[(&str, &str)]) {
        let mut failures = Vec::new();
        for (body, expected) in cases {
            let lua = new_lua();
            let got = run(&lua, body);
            if got != *expected {
                failures.push(format!(
                    "case: {body}\n  expected: {expected}\n  got:      {got}"
                ));
            }
        }
        assert!(
            failures.is_empty(),
            "{} of {} cases differ:\n{}",
            failures.len(),
            cases.len(),
            failures.join("\n")
        );
    }
}
