//! Replies to Lua values and back, as Redis 7.0 converts them.
//!
//! A command's reply reaches the script the way Redis's does: encoded in
//! the protocol the script chose (redis.setresp) and read back, so every
//! reply type comes out exactly as its wire form says (nil bulk → false in
//! RESP2, nil in RESP3; status → {ok=...}; error → {err=...}; RESP3 map →
//! {map={...}}, and so on). What a script returns goes the other way.

use crate::protocol::Reply;
use bytes::Bytes;
use mlua::{Lua, MultiValue, Table, Value};

/// Deepest nesting converted in either direction; Lua's C stack ends
/// Redis's conversions near this depth too.
const NESTING_MAX: usize = 1000;

/// Redis's error table for an error text (luaPushErrorBuff): "-CODE msg"
/// keeps its code, anything else gets ERR; {err = "CODE msg"}.
pub fn error_table(lua: &Lua, text: &str) -> mlua::Result<Table> {
    let (code, message) = match text.strip_prefix('-') {
        Some(rest) => rest.split_once(' ').unwrap_or(("ERR", rest)),
        None => ("ERR", text),
    };
    let message = message.trim_matches(|c| c == '\r' || c == '\n');
    let table = lua.create_table()?;
    table.raw_set("err", format!("{code} {message}"))?;
    Ok(table)
}

/// A command's reply as the script sees it.
pub fn reply_to_lua(lua: &Lua, reply: &Reply, resp3: bool) -> mlua::Result<Value> {
    // The common replies directly; they read back from their wire form as
    // these (the others go through it).
    match reply {
        Reply::Int(n) => return Ok(Value::Number(*n as f64)),
        Reply::Bulk(bytes) => return Ok(Value::String(lua.create_string(bytes)?)),
        Reply::ShortBulk { len, bytes } => {
            return Ok(Value::String(lua.create_string(&bytes[..*len as usize])?))
        }
        Reply::Nil | Reply::NilArray if resp3 => return Ok(Value::Nil),
        Reply::Nil | Reply::NilArray => return Ok(Value::Boolean(false)),
        _ => {}
    }
    let mut wire = Vec::new();
    reply.encode(resp3, &mut wire);
    let mut parser = Parser {
        lua,
        wire: &wire,
        at: 0,
    };
    parser.value(0)
}

/// Reads our own encoding of one reply into Lua values.
struct Parser<'a> {
    lua: &'a Lua,
    wire: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn line(&mut self) -> &[u8] {
        let rest = &self.wire[self.at.min(self.wire.len())..];
        let end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .unwrap_or(rest.len());
        self.at += end + 2;
        &rest[..end]
    }

    fn count(&mut self) -> i64 {
        std::str::from_utf8(self.line())
            .ok()
            .and_then(|text| text.parse().ok())
            .unwrap_or(-1)
    }

    fn bytes(&mut self, len: usize) -> &[u8] {
        let start = self.at.min(self.wire.len());
        let end = (start + len).min(self.wire.len());
        self.at = end + 2;
        &self.wire[start..end]
    }

    fn string(&mut self, bytes: &[u8]) -> mlua::Result<Value> {
        Ok(Value::String(self.lua.create_string(bytes)?))
    }

    /// `{field = value}`, the shape of Redis's typed replies in Lua.
    fn field(&self, field: &str, value: impl mlua::IntoLua) -> mlua::Result<Value> {
        let table = self.lua.create_table()?;
        table.raw_set(field, value)?;
        Ok(Value::Table(table))
    }

    fn value(&mut self, depth: usize) -> mlua::Result<Value> {
        if depth > NESTING_MAX {
            return Err(mlua::Error::runtime("reply nested too deeply"));
        }
        let Some(&marker) = self.wire.get(self.at) else {
            return Ok(Value::Nil);
        };
        self.at += 1;
        match marker {
            b'+' => {
                let text = self.line().to_vec();
                let text = self.lua.create_string(&text)?;
                self.field("ok", text)
            }
            b'-' => {
                let text = String::from_utf8_lossy(self.line()).into_owned();
                let table = error_table(self.lua, &format!("-{text}"))?;
                table.raw_set("ignore_error_stats_update", true)?;
                Ok(Value::Table(table))
            }
            b':' => Ok(Value::Number(self.count() as f64)),
            b'$' => match usize::try_from(self.count()) {
                Ok(len) => {
                    let bytes = self.bytes(len).to_vec();
                    self.string(&bytes)
                }
                Err(_) => Ok(Value::Boolean(false)),
            },
            b'*' | b'>' => match usize::try_from(self.count()) {
                Ok(len) => {
                    let table = self.lua.create_table_with_capacity(len, 0)?;
                    for i in 0..len {
                        table.raw_set(i + 1, self.value(depth + 1)?)?;
                    }
                    Ok(Value::Table(table))
                }
                Err(_) => Ok(Value::Boolean(false)),
            },
            b'%' => {
                let len = self.count().max(0) as usize;
                let map = self.lua.create_table()?;
                for _ in 0..len {
                    let key = self.value(depth + 1)?;
                    let value = self.value(depth + 1)?;
                    if !key.is_nil() {
                        map.raw_set(key, value)?;
                    }
                }
                self.field("map", map)
            }
            b'~' => {
                let len = self.count().max(0) as usize;
                let set = self.lua.create_table()?;
                for _ in 0..len {
                    let member = self.value(depth + 1)?;
                    if !member.is_nil() {
                        set.raw_set(member, true)?;
                    }
                }
                self.field("set", set)
            }
            b'_' => {
                self.line();
                Ok(Value::Nil)
            }
            b',' => {
                let text = String::from_utf8_lossy(self.line()).into_owned();
                self.field("double", text.parse::<f64>().unwrap_or(0.0))
            }
            b'#' => Ok(Value::Boolean(self.line() == b"t")),
            b'(' => {
                let text = self.line().to_vec();
                let text = self.lua.create_string(&text)?;
                self.field("big_number", text)
            }
            b'=' => {
                let len = self.count().max(0) as usize;
                let body = self.bytes(len).to_vec();
                let (format, text) = body.split_at(body.len().min(4));
                let verbatim = self.lua.create_table()?;
                verbatim.raw_set("string", self.lua.create_string(text)?)?;
                verbatim.raw_set(
                    "format",
                    self.lua.create_string(&format[..format.len().min(3)])?,
                )?;
                self.field("verbatim_string", verbatim)
            }
            _ => {
                self.line();
                Ok(Value::Nil)
            }
        }
    }
}

/// What the runner gave back (`ok, value`) as the client's reply. `resp3`
/// is the protocol the script had set when it ended (it decides what a
/// boolean becomes).
pub fn outcome_reply(values: &MultiValue, sha: &str, resp3: bool) -> Reply {
    let ok = matches!(values.front(), Some(Value::Boolean(true)));
    let value = values.get(1).cloned().unwrap_or(Value::Nil);
    if ok {
        return lua_to_reply(&value, resp3, 0);
    }
    let Value::Table(error) = value else {
        let text = match &value {
            Value::String(s) => s.to_string_lossy(),
            _ => "execution failure".into(),
        };
        let text: String = text.chars().take(100).collect();
        return Reply::error(format!("ERR Error running script {sha}, {text} "));
    };
    let text = |field: &str| match error.get::<Value>(field) {
        Ok(Value::String(s)) => Some(s.to_string_lossy()),
        Ok(Value::Integer(i)) => Some(i.to_string()),
        Ok(Value::Number(n)) => Some(super::api::lua_number_text(n)),
        _ => None,
    };
    let mut message = text("err").unwrap_or_else(|| "ERR unknown error".into());
    if let (Some(source), Some(line)) = (text("source"), text("line")) {
        message.push_str(&format!(" script: {sha}, on {source}:{line}."));
    }
    Reply::error(message)
}

/// Lua's (long long) cast of a number: C truncates; out of range and NaN
/// give i64::MIN on x86-64.
fn number_reply(n: f64) -> Reply {
    // -2^63 <= n < 2^63 fits; NaN is in no range.
    if !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&n) {
        Reply::Int(i64::MIN)
    } else {
        Reply::Int(n as i64)
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .chars()
        .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
        .collect()
}

/// A value a script returned (luaReplyToRedisReply).
pub fn lua_to_reply(value: &Value, resp3: bool, depth: usize) -> Reply {
    if depth > NESTING_MAX {
        return Reply::error("ERR reached lua stack limit");
    }
    match value {
        Value::String(s) => Reply::Bulk(Bytes::copy_from_slice(&s.as_bytes())),
        Value::Boolean(b) if resp3 => Reply::Bool(*b),
        Value::Boolean(true) => Reply::Int(1),
        Value::Integer(i) => Reply::Int(*i),
        Value::Number(n) => number_reply(*n),
        Value::Table(table) => table_reply(table, resp3, depth),
        _ => Reply::Nil,
    }
}

fn table_reply(table: &Table, resp3: bool, depth: usize) -> Reply {
    let field = |name: &str| table.raw_get::<Value>(name).unwrap_or(Value::Nil);
    if let Value::String(text) = field("err") {
        return Reply::error(lossy(&text.as_bytes()));
    }
    if let Value::String(text) = field("ok") {
        return Reply::Simple(lossy(&text.as_bytes()).into());
    }
    match field("double") {
        Value::Number(n) => return Reply::Double(n),
        Value::Integer(i) => return Reply::Double(i as f64),
        _ => {}
    }
    if let Value::String(text) = field("big_number") {
        return Reply::BigNumber(Bytes::from(lossy(&text.as_bytes())));
    }
    if let Value::Table(verbatim) = field("verbatim_string") {
        let format = verbatim.raw_get::<Value>("format").unwrap_or(Value::Nil);
        let text = verbatim.raw_get::<Value>("string").unwrap_or(Value::Nil);
        if let (Value::String(format), Value::String(text)) = (format, text) {
            let mut tag = [0u8; 3];
            for (slot, byte) in tag.iter_mut().zip(format.as_bytes().iter()) {
                *slot = *byte;
            }
            return Reply::VerbatimAs {
                format: tag,
                text: Bytes::copy_from_slice(&text.as_bytes()),
            };
        }
    }
    if let Value::Table(map) = field("map") {
        let pairs = map
            .pairs::<Value, Value>()
            .flatten()
            .map(|(k, v)| {
                (
                    lua_to_reply(&k, resp3, depth + 1),
                    lua_to_reply(&v, resp3, depth + 1),
                )
            })
            .collect();
        return Reply::Map(pairs);
    }
    if let Value::Table(set) = field("set") {
        let members = set
            .pairs::<Value, Value>()
            .flatten()
            .map(|(k, _)| lua_to_reply(&k, resp3, depth + 1))
            .collect();
        return Reply::Set(members);
    }
    let mut items = Vec::new();
    for i in 1.. {
        match table.raw_get::<Value>(i) {
            Ok(Value::Nil) | Err(_) => break,
            Ok(item) => items.push(lua_to_reply(&item, resp3, depth + 1)),
        }
    }
    Reply::Array(items)
}
