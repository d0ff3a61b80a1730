//! `cjson`: lua_cjson 2.1.0 as Redis 7.0 ships it, JSON encoding and decoding.
//!
//! Encoding: a table whose keys are all positive integers is an array (holes become `null`),
//! unless it is excessively sparse (see `encode_sparse_array`); anything else, the empty
//! table included, is an object whose number keys become strings. Numbers print with
//! `%.14g`, `/` is escaped as `\/`, and bytes are otherwise copied (no UTF-8 check).
//! Decoding: JSON `null` becomes `cjson.null` (a NULL light userdata), numbers are parsed as
//! C's `strtod` parses them (so hex, `inf` and `nan` are accepted by default), and the text
//! ends at its first NUL byte, as the C library reads it as a C string.
//!
//! Every module table has its own settings, changed by the `encode_*`/`decode_*` functions
//! and shared by its functions; `cjson.new()` makes a table with fresh settings.

use std::cell::Cell;
use std::rc::Rc;

use mlua::{Lua, MultiValue, Table, Value};

use super::{c_double_to_i32, lua_error, lua_stack_has_room, lua_type_name, Args, ParkedValues};

const NAME: &str = "cjson";
const VERSION: &str = "2.1.0";

/// The values of an on/off setting, in the order their index is stored.
const BOOLEAN_OPTIONS: &[&str] = &["off", "on"];
/// `encode_invalid_numbers` also accepts "null": encode NaN and infinities as `null`.
const INVALID_NUMBER_OPTIONS: &[&str] = &["off", "on", "null"];
const INVALID_NUMBERS_OFF: i32 = 0;
const INVALID_NUMBERS_ON: i32 = 1;

/// The settings of one module table (`json_config_t`). On/off settings keep the option's
/// index (0, 1, or 2 for "null") as the C library does.
#[derive(Clone, Copy)]
struct Config {
    sparse_convert: i32,
    sparse_ratio: i32,
    sparse_safe: i32,
    encode_max_depth: i32,
    decode_max_depth: i32,
    encode_invalid_numbers: i32,
    encode_number_precision: i32,
    encode_keep_buffer: i32,
    decode_invalid_numbers: i32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            sparse_convert: 0,
            sparse_ratio: 2,
            sparse_safe: 10,
            encode_max_depth: 1000,
            decode_max_depth: 1000,
            encode_invalid_numbers: INVALID_NUMBERS_OFF,
            encode_number_precision: 14,
            encode_keep_buffer: 1,
            decode_invalid_numbers: 1,
        }
    }
}

type SharedConfig = Rc<Cell<Config>>;

type ModuleFunction = fn(&Args, &SharedConfig) -> mlua::Result<MultiValue>;

pub(super) fn create_module(lua: &Lua) -> mlua::Result<Table> {
    let config: SharedConfig = Rc::new(Cell::new(Config::default()));
    let module = lua.create_table()?;
    let functions: [(&'static str, ModuleFunction); 9] = [
        ("encode", encode),
        ("decode", decode),
        ("encode_sparse_array", encode_sparse_array),
        ("encode_max_depth", encode_max_depth),
        ("decode_max_depth", decode_max_depth),
        ("encode_number_precision", encode_number_precision),
        ("encode_keep_buffer", encode_keep_buffer),
        ("encode_invalid_numbers", encode_invalid_numbers),
        ("decode_invalid_numbers", decode_invalid_numbers),
    ];
    for (name, function) in functions {
        let config = Rc::clone(&config);
        let wrapper = lua.create_function(move |lua, values: MultiValue| {
            function(&Args::new(lua, &values), &config)
        })?;
        module.raw_set(name, wrapper)?;
    }
    module.raw_set(
        "new",
        lua.create_function(|lua, _: MultiValue| create_module(lua))?,
    )?;
    module.raw_set("null", Value::NULL)?;
    module.raw_set("_NAME", NAME)?;
    module.raw_set("_VERSION", VERSION)?;
    Ok(module)
}

// ---------------------------------------------------------------------------------------
// Configuration functions. Each returns the setting(s) after the call; no argument (or nil)
// leaves a setting as it is.

fn encode_sparse_array(args: &Args, config: &SharedConfig) -> mlua::Result<MultiValue> {
    check_argument_count(args, 3)?;
    let convert = update(config, |c| {
        enum_option(args, 1, &mut c.sparse_convert, BOOLEAN_OPTIONS)
    })?;
    let ratio = update(config, |c| {
        integer_option(args, 2, &mut c.sparse_ratio, 0, i32::MAX)
    })?;
    let safe = update(config, |c| {
        integer_option(args, 3, &mut c.sparse_safe, 0, i32::MAX)
    })?;
    Ok(MultiValue::from_vec(vec![convert, ratio, safe]))
}

fn encode_max_depth(args: &Args, config: &SharedConfig) -> mlua::Result<MultiValue> {
    check_argument_count(args, 1)?;
    single(update(config, |c| {
        integer_option(args, 1, &mut c.encode_max_depth, 1, i32::MAX)
    }))
}

fn decode_max_depth(args: &Args, config: &SharedConfig) -> mlua::Result<MultiValue> {
    check_argument_count(args, 1)?;
    single(update(config, |c| {
        integer_option(args, 1, &mut c.decode_max_depth, 1, i32::MAX)
    }))
}

fn encode_number_precision(args: &Args, config: &SharedConfig) -> mlua::Result<MultiValue> {
    check_argument_count(args, 1)?;
    single(update(config, |c| {
        integer_option(args, 1, &mut c.encode_number_precision, 1, 14)
    }))
}

/// Whether the C library keeps its encoding buffer between calls; only the setting is
/// observable, so that is all we keep.
fn encode_keep_buffer(args: &Args, config: &SharedConfig) -> mlua::Result<MultiValue> {
    check_argument_count(args, 1)?;
    single(update(config, |c| {
        enum_option(args, 1, &mut c.encode_keep_buffer, BOOLEAN_OPTIONS)
    }))
}

fn encode_invalid_numbers(args: &Args, config: &SharedConfig) -> mlua::Result<MultiValue> {
    check_argument_count(args, 1)?;
    single(update(config, |c| {
        enum_option(
            args,
            1,
            &mut c.encode_invalid_numbers,
            INVALID_NUMBER_OPTIONS,
        )
    }))
}

fn decode_invalid_numbers(args: &Args, config: &SharedConfig) -> mlua::Result<MultiValue> {
    check_argument_count(args, 1)?;
    single(update(config, |c| {
        enum_option(args, 1, &mut c.decode_invalid_numbers, BOOLEAN_OPTIONS)
    }))
}

fn single(value: mlua::Result<Value>) -> mlua::Result<MultiValue> {
    value.map(|value| MultiValue::from_vec(vec![value]))
}

/// Applies one option to the shared settings; a failing option leaves them as they were,
/// while options already applied by the same call stay applied, as in C.
fn update(
    config: &SharedConfig,
    apply: impl FnOnce(&mut Config) -> mlua::Result<Value>,
) -> mlua::Result<Value> {
    let mut settings = config.get();
    let result = apply(&mut settings)?;
    config.set(settings);
    Ok(result)
}

fn check_argument_count(args: &Args, count_max: usize) -> mlua::Result<()> {
    if args.count() > count_max {
        return Err(args.error(count_max + 1, "found too many arguments"));
    }
    Ok(())
}

/// `json_integer_option`. The range error names argument 1 whatever the position, and the
/// value goes through C's conversion to `int`, as in the C library.
fn integer_option(
    args: &Args,
    position: usize,
    setting: &mut i32,
    min: i32,
    max: i32,
) -> mlua::Result<Value> {
    if !args.is_none_or_nil(position) {
        let value = args.integer(position)? as i32;
        if !(min..=max).contains(&value) {
            return Err(args.error(1, &format!("expected integer between {min} and {max}")));
        }
        *setting = value;
    }
    Ok(Value::Integer(i64::from(*setting)))
}

/// `json_enum_option`: a boolean, or the name of an option. Settings 0 and 1 read back as
/// booleans, others as their name.
fn enum_option(
    args: &Args,
    position: usize,
    setting: &mut i32,
    options: &[&str],
) -> mlua::Result<Value> {
    match args.get(position) {
        None | Some(Value::Nil) => {}
        Some(Value::Boolean(enabled)) => *setting = i32::from(*enabled),
        Some(_) => {
            let name = args.string(position)?;
            let name_bytes = name.as_bytes();
            // luaL_checkoption compares C strings, so the name ends at a NUL.
            let name = name_bytes
                .split(|&byte| byte == 0)
                .next()
                .unwrap_or_default();
            let index = options
                .iter()
                .position(|option| option.as_bytes() == name)
                .ok_or_else(|| {
                    args.error(
                        position,
                        &format!("invalid option '{}'", String::from_utf8_lossy(name)),
                    )
                })?;
            *setting = index as i32;
        }
    }
    Ok(match *setting {
        0 | 1 => Value::Boolean(*setting == 1),
        index => Value::String(args.lua.create_string(options[index as usize])?),
    })
}

// ---------------------------------------------------------------------------------------
// Encoding.

fn encode(args: &Args, config: &SharedConfig) -> mlua::Result<MultiValue> {
    if args.count() != 1 {
        return Err(args.error(1, "expected 1 argument"));
    }
    let value = args.get(1).cloned().unwrap_or(Value::Nil);
    let mut encoder = Encoder {
        lua: args.lua,
        config: config.get(),
        output: Vec::new(),
    };
    encoder.encode(value)?;
    single(
        encoder
            .lua
            .create_string(&encoder.output)
            .map(Value::String),
    )
}

/// A table being encoded. Arrays read their table by index; objects read a snapshot of
/// their pairs (key, value, key, value, …) taken in `next` order, so that the walk can
/// resume after a nested table without holding an iterator.
enum EncodeFrame {
    Array {
        length: i32,
        /// Wider than the length, so that it can go one past `i32::MAX`.
        next_index: i64,
        child_slots: usize,
    },
    Object {
        pair_count: i64,
        next_pair: i64,
        child_slots: usize,
    },
}

impl EncodeFrame {
    fn child_slots(&self) -> usize {
        match self {
            EncodeFrame::Array { child_slots, .. } | EncodeFrame::Object { child_slots, .. } => {
                *child_slots
            }
        }
    }
}

struct Encoder<'a> {
    lua: &'a Lua,
    config: Config,
    output: Vec<u8>,
}

impl Encoder<'_> {
    /// Encodes a value without recursion: the tables being walked wait in a Lua table.
    fn encode(&mut self, value: Value) -> mlua::Result<()> {
        let mut frames: Vec<EncodeFrame> = Vec::new();
        let mut parked: Option<ParkedValues> = None;
        // The array, or the object's snapshot, of the innermost table being walked.
        let mut current: Option<Table> = None;
        let mut pending = Some(value);
        loop {
            match pending.take() {
                Some(Value::Table(table)) => {
                    let (frame, source) =
                        self.open_table(table, frames.len() + 1, frames.last())?;
                    if let Some(parent) = current.replace(source) {
                        let parked = match parked.as_mut() {
                            Some(parked) => parked,
                            None => parked.insert(ParkedValues::new(self.lua)?),
                        };
                        parked.push(Value::Table(parent))?;
                    }
                    frames.push(frame);
                }
                Some(scalar) => self.append_scalar(&scalar)?,
                None => {}
            }
            let (Some(frame), Some(source)) = (frames.last_mut(), current.as_ref()) else {
                return Ok(());
            };
            match frame {
                EncodeFrame::Array {
                    length, next_index, ..
                } if *next_index <= i64::from(*length) => {
                    if *next_index > 1 {
                        self.output.push(b',');
                    }
                    pending = Some(source.raw_get(*next_index)?);
                    *next_index += 1;
                    continue;
                }
                EncodeFrame::Object {
                    pair_count,
                    next_pair,
                    ..
                } if *next_pair < *pair_count => {
                    if *next_pair > 0 {
                        self.output.push(b',');
                    }
                    let key: Value = source.raw_get(2 * *next_pair + 1)?;
                    self.append_key(&key)?;
                    pending = Some(source.raw_get(2 * *next_pair + 2)?);
                    *next_pair += 1;
                    continue;
                }
                EncodeFrame::Array { .. } => self.output.push(b']'),
                EncodeFrame::Object { .. } => self.output.push(b'}'),
            }
            frames.pop();
            current = match (frames.is_empty(), parked.as_mut()) {
                (false, Some(parked)) => Some(parked.pop_table()?),
                _ => None,
            };
        }
    }

    /// Starts a table at nesting `depth`: checks the depth, decides array or object and
    /// writes the opening bracket.
    fn open_table(
        &mut self,
        table: Table,
        depth: usize,
        parent: Option<&EncodeFrame>,
    ) -> mlua::Result<(EncodeFrame, Table)> {
        // The C encoder holds the table itself on the Lua stack, above what its parents hold.
        let slots_used = parent.map_or(1, EncodeFrame::child_slots);
        if depth > self.config.encode_max_depth as usize || !lua_stack_has_room(slots_used, 3) {
            return Err(lua_error(
                self.lua,
                format!("Cannot serialise, excessive nesting ({depth})"),
            ));
        }
        let length = self.array_length(&table)?;
        if length > 0 {
            self.output.push(b'[');
            Ok((
                EncodeFrame::Array {
                    length,
                    next_index: 1,
                    child_slots: slots_used + 1,
                },
                table,
            ))
        } else {
            self.output.push(b'{');
            let snapshot = self.lua.create_table()?;
            let mut pair_count: i64 = 0;
            table.for_each(|key: Value, value: Value| {
                snapshot.raw_set(2 * pair_count + 1, key)?;
                snapshot.raw_set(2 * pair_count + 2, value)?;
                pair_count += 1;
                Ok(())
            })?;
            Ok((
                EncodeFrame::Object {
                    pair_count,
                    next_pair: 0,
                    child_slots: slots_used + 2,
                },
                snapshot,
            ))
        }
    }

    /// `lua_array_length`: the largest key when every key is a positive integer, else 0 or
    /// less (an object). Excessively sparse arrays are objects or errors, per the settings.
    /// The largest key goes through C's conversion to `int`, as in the C library.
    fn array_length(&self, table: &Table) -> mlua::Result<i32> {
        let mut max: i32 = 0;
        let mut items: i32 = 0;
        for pair in table.pairs::<Value, Value>() {
            let (key, _) = pair?;
            let number = match key {
                Value::Integer(integer) => integer as f64,
                Value::Number(number) => number,
                _ => return Ok(-1),
            };
            if number == 0.0 || number.floor() != number || number < 1.0 {
                return Ok(-1);
            }
            if number > f64::from(max) {
                max = c_double_to_i32(number);
            }
            items = items.wrapping_add(1);
        }
        let config = &self.config;
        if config.sparse_ratio > 0
            && max > items.wrapping_mul(config.sparse_ratio)
            && max > config.sparse_safe
        {
            if config.sparse_convert == 0 {
                return Err(lua_error(
                    self.lua,
                    "Cannot serialise table: excessively sparse array",
                ));
            }
            return Ok(-1);
        }
        Ok(max)
    }

    fn append_key(&mut self, key: &Value) -> mlua::Result<()> {
        match key {
            Value::Integer(_) | Value::Number(_) => {
                self.output.push(b'"');
                self.append_number(number_of(key))?;
                self.output.extend_from_slice(b"\":");
            }
            Value::String(string) => {
                append_string(&mut self.output, &string.as_bytes());
                self.output.push(b':');
            }
            other => {
                let type_name = lua_type_name(other);
                return Err(lua_error(
                    self.lua,
                    format!("Cannot serialise {type_name}: table key must be a number or string"),
                ));
            }
        }
        Ok(())
    }

    fn append_scalar(&mut self, value: &Value) -> mlua::Result<()> {
        match value {
            Value::String(string) => append_string(&mut self.output, &string.as_bytes()),
            Value::Integer(_) | Value::Number(_) => self.append_number(number_of(value))?,
            Value::Boolean(true) => self.output.extend_from_slice(b"true"),
            Value::Boolean(false) => self.output.extend_from_slice(b"false"),
            Value::Nil => self.output.extend_from_slice(b"null"),
            Value::LightUserData(pointer) if pointer.0.is_null() => {
                self.output.extend_from_slice(b"null")
            }
            other => {
                let type_name = lua_type_name(other);
                return Err(lua_error(
                    self.lua,
                    format!("Cannot serialise {type_name}: type not supported"),
                ));
            }
        }
        Ok(())
    }

    fn append_number(&mut self, number: f64) -> mlua::Result<()> {
        match self.config.encode_invalid_numbers {
            INVALID_NUMBERS_OFF if !number.is_finite() => {
                return Err(lua_error(
                    self.lua,
                    "Cannot serialise number: must not be NaN or Inf",
                ));
            }
            // Spelled out because some C libraries print "-nan".
            INVALID_NUMBERS_ON if number.is_nan() => {
                self.output.extend_from_slice(b"nan");
                return Ok(());
            }
            INVALID_NUMBERS_OFF | INVALID_NUMBERS_ON => {}
            _ if !number.is_finite() => {
                self.output.extend_from_slice(b"null");
                return Ok(());
            }
            _ => {}
        }
        let precision = self.config.encode_number_precision.clamp(1, 14) as usize;
        self.output
            .extend_from_slice(format_general(number, precision).as_bytes());
        Ok(())
    }
}

fn number_of(value: &Value) -> f64 {
    match value {
        Value::Integer(integer) => *integer as f64,
        Value::Number(number) => *number,
        _ => 0.0,
    }
}

/// A JSON string: `"` `\` `/` and control characters escaped, other bytes as they are.
fn append_string(output: &mut Vec<u8>, bytes: &[u8]) {
    const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";
    output.reserve(bytes.len() + 2);
    output.push(b'"');
    for &byte in bytes {
        match byte {
            b'"' => output.extend_from_slice(b"\\\""),
            b'\\' => output.extend_from_slice(b"\\\\"),
            b'/' => output.extend_from_slice(b"\\/"),
            0x08 => output.extend_from_slice(b"\\b"),
            b'\t' => output.extend_from_slice(b"\\t"),
            b'\n' => output.extend_from_slice(b"\\n"),
            0x0c => output.extend_from_slice(b"\\f"),
            b'\r' => output.extend_from_slice(b"\\r"),
            0x00..=0x1f | 0x7f => {
                output.extend_from_slice(b"\\u00");
                output.push(HEX_DIGITS[usize::from(byte >> 4)]);
                output.push(HEX_DIGITS[usize::from(byte & 15)]);
            }
            _ => output.push(byte),
        }
    }
    output.push(b'"');
}

/// C's `%.<precision>g` (precision 1 to 17).
fn format_general(number: f64, precision: usize) -> String {
    crate::protocol::reply::format_g(number, precision)
}

// ---------------------------------------------------------------------------------------
// Decoding.

fn decode(args: &Args, config: &SharedConfig) -> mlua::Result<MultiValue> {
    if args.count() != 1 {
        return Err(args.error(1, "expected 1 argument"));
    }
    let json = args.string(1)?;
    let json_bytes = json.as_bytes();
    let data: &[u8] = &json_bytes;
    // Only the first character of JSON text is sure to be ASCII, and UTF-16 or UTF-32
    // would put a zero byte in the first two.
    if data.len() >= 2 && (data[0] == 0 || data[1] == 0) {
        return Err(lua_error(
            args.lua,
            "JSON parser does not support UTF-16 or UTF-32",
        ));
    }
    let config = config.get();
    let parser = Parser {
        data,
        position: 0,
        decode_invalid_numbers: config.decode_invalid_numbers != 0,
        text: Vec::new(),
    };
    let document_parser = DocumentParser {
        lua: args.lua,
        parser,
        depth_max: config.decode_max_depth,
        frames: Vec::new(),
        parked: ParkedValues::new(args.lua)?,
        current: None,
    };
    let value = document_parser.parse()?;
    single(Ok(value))
}

/// An array or object being filled. The table is the decoder's current one, or parked
/// while a nested one is filled; an object's key waits in the parked values too.
enum DecodeFrame {
    Array { next_index: i32, child_slots: usize },
    Object { child_slots: usize },
}

impl DecodeFrame {
    fn child_slots(&self) -> usize {
        match self {
            DecodeFrame::Array { child_slots, .. } | DecodeFrame::Object { child_slots } => {
                *child_slots
            }
        }
    }
}

/// What starting a value gave: the value itself, or a container that is now being
/// filled and the token that starts its first element.
enum Started {
    Value(Value),
    Container(Token),
}

/// What storing a value gave: the whole document, or the token that starts the next
/// element of the container being filled.
enum Stored {
    Document(Value),
    Next(Token),
}

/// Parses a whole document without recursion (`json_process_value` and the array and
/// object contexts, unrolled): the containers being filled wait in a Lua table.
struct DocumentParser<'a, 'd> {
    lua: &'a Lua,
    parser: Parser<'d>,
    depth_max: i32,
    frames: Vec<DecodeFrame>,
    parked: ParkedValues,
    /// The innermost container being filled.
    current: Option<Table>,
}

impl DocumentParser<'_, '_> {
    fn parse(mut self) -> mlua::Result<Value> {
        let mut token = self.parser.next_token();
        loop {
            let value = match self.start_value(token)? {
                Started::Value(value) => value,
                Started::Container(next) => {
                    token = next;
                    continue;
                }
            };
            match self.store(value)? {
                Stored::Document(document) => return Ok(document),
                Stored::Next(next) => token = next,
            }
        }
    }

    fn start_value(&mut self, token: Token) -> mlua::Result<Started> {
        let lua = self.lua;
        let value = match token.kind {
            TokenKind::String => Value::String(lua.create_string(&self.parser.text)?),
            TokenKind::Number(number) => Value::Number(number),
            TokenKind::Boolean(boolean) => Value::Boolean(boolean),
            TokenKind::Null => Value::NULL,
            TokenKind::ArrayBegin => return self.open(false),
            TokenKind::ObjectBegin => return self.open(true),
            _ => return Err(parse_error(lua, "value", &token)),
        };
        Ok(Started::Value(value))
    }

    /// Starts an array or object (`json_decode_descend` and the start of its context).
    fn open(&mut self, is_object: bool) -> mlua::Result<Started> {
        let depth = self.frames.len() + 1;
        // The C decoder needs room for the table and an element (plus a key).
        let slots_used = self.frames.last().map_or(1, DecodeFrame::child_slots);
        let slots_needed = if is_object { 3 } else { 2 };
        if depth > self.depth_max as usize || !lua_stack_has_room(slots_used, slots_needed) {
            let position = self.parser.position;
            return Err(lua_error(
                self.lua,
                format!("Found too many nested data structures ({depth}) at character {position}"),
            ));
        }
        let table = self.lua.create_table()?;
        let first = self.parser.next_token();
        let closing = if is_object {
            TokenKind::ObjectEnd
        } else {
            TokenKind::ArrayEnd
        };
        if first.kind == closing {
            return Ok(Started::Value(Value::Table(table)));
        }
        if let Some(parent) = self.current.replace(table) {
            self.parked.push(Value::Table(parent))?;
        }
        if is_object {
            self.frames.push(DecodeFrame::Object {
                child_slots: slots_used + 2,
            });
            Ok(Started::Container(self.key(first)?))
        } else {
            self.frames.push(DecodeFrame::Array {
                next_index: 1,
                child_slots: slots_used + 1,
            });
            Ok(Started::Container(first))
        }
    }

    /// Stores a value in the container being filled, closing every container it completes;
    /// with none left, checks that nothing follows the document.
    fn store(&mut self, mut value: Value) -> mlua::Result<Stored> {
        let lua = self.lua;
        loop {
            let (Some(frame), Some(table)) = (self.frames.last_mut(), self.current.as_ref()) else {
                let end = self.parser.next_token();
                if end.kind != TokenKind::End {
                    return Err(parse_error(lua, "the end", &end));
                }
                return Ok(Stored::Document(value));
            };
            match frame {
                DecodeFrame::Array { next_index, .. } => {
                    table.raw_set(*next_index, value)?;
                    *next_index = next_index.wrapping_add(1);
                    let next = self.parser.next_token();
                    match next.kind {
                        TokenKind::ArrayEnd => {}
                        TokenKind::Comma => return Ok(Stored::Next(self.parser.next_token())),
                        _ => return Err(parse_error(lua, "comma or array end", &next)),
                    }
                }
                DecodeFrame::Object { .. } => {
                    table.raw_set(self.parked.pop()?, value)?;
                    let next = self.parser.next_token();
                    match next.kind {
                        TokenKind::ObjectEnd => {}
                        TokenKind::Comma => {
                            let key_token = self.parser.next_token();
                            return Ok(Stored::Next(self.key(key_token)?));
                        }
                        _ => return Err(parse_error(lua, "comma or object end", &next)),
                    }
                }
            }
            self.frames.pop();
            value = self.current.take().map_or(Value::Nil, Value::Table);
            if !self.frames.is_empty() {
                self.current = Some(self.parked.pop_table()?);
            }
        }
    }

    /// An object member's key and colon: parks the key and returns the token that starts
    /// the value.
    fn key(&mut self, token: Token) -> mlua::Result<Token> {
        if token.kind != TokenKind::String {
            return Err(parse_error(self.lua, "object key string", &token));
        }
        self.parked
            .push(Value::String(self.lua.create_string(&self.parser.text)?))?;
        let colon = self.parser.next_token();
        if colon.kind != TokenKind::Colon {
            return Err(parse_error(self.lua, "colon", &colon));
        }
        Ok(self.parser.next_token())
    }
}

fn parse_error(lua: &Lua, expected: &str, token: &Token) -> mlua::Error {
    // Positions count from 1.
    lua_error(
        lua,
        format!(
            "Expected {expected} but found {} at character {}",
            token.kind.name(),
            token.index + 1
        ),
    )
}

#[derive(Clone, Copy, PartialEq)]
enum TokenKind {
    ObjectBegin,
    ObjectEnd,
    ArrayBegin,
    ArrayEnd,
    /// The text is in `Parser::text` until the next token.
    String,
    Number(f64),
    Boolean(bool),
    Null,
    Colon,
    Comma,
    End,
    Error(&'static str),
}

impl TokenKind {
    /// How errors name the token: the C enum's name, or what was wrong with it.
    fn name(&self) -> &'static str {
        match self {
            TokenKind::ObjectBegin => "T_OBJ_BEGIN",
            TokenKind::ObjectEnd => "T_OBJ_END",
            TokenKind::ArrayBegin => "T_ARR_BEGIN",
            TokenKind::ArrayEnd => "T_ARR_END",
            TokenKind::String => "T_STRING",
            TokenKind::Number(_) => "T_NUMBER",
            TokenKind::Boolean(_) => "T_BOOLEAN",
            TokenKind::Null => "T_NULL",
            TokenKind::Colon => "T_COLON",
            TokenKind::Comma => "T_COMMA",
            TokenKind::End => "T_END",
            TokenKind::Error(reason) => reason,
        }
    }
}

struct Token {
    kind: TokenKind,
    /// Where the token starts, or for an error where the error is (0-based).
    index: usize,
}

struct Parser<'a> {
    data: &'a [u8],
    position: usize,
    decode_invalid_numbers: bool,
    /// The text of the last string token, unescaped.
    text: Vec<u8>,
}

impl Parser<'_> {
    /// The byte at `index`, 0 past the end: the C parser reads a NUL-terminated string.
    fn byte(&self, index: usize) -> u8 {
        self.data.get(index).copied().unwrap_or(0)
    }

    fn starts_with(&self, prefix: &[u8]) -> bool {
        self.data
            .get(self.position..)
            .is_some_and(|rest| rest.starts_with(prefix))
    }

    fn error(&self, reason: &'static str) -> Token {
        Token {
            kind: TokenKind::Error(reason),
            index: self.position,
        }
    }

    /// `json_next_token`.
    fn next_token(&mut self) -> Token {
        while matches!(self.byte(self.position), b' ' | b'\t' | b'\n' | b'\r') {
            self.position += 1;
        }
        let index = self.position;
        let single = |kind| Token { kind, index };
        let kind = match self.byte(index) {
            b'{' => TokenKind::ObjectBegin,
            b'}' => TokenKind::ObjectEnd,
            b'[' => TokenKind::ArrayBegin,
            b']' => TokenKind::ArrayEnd,
            b',' => TokenKind::Comma,
            b':' => TokenKind::Colon,
            0 => return single(TokenKind::End),
            b'"' => return self.string_token(),
            b'-' | b'0'..=b'9' => {
                if !self.decode_invalid_numbers && self.is_invalid_number() {
                    return self.error("invalid number");
                }
                return self.number_token();
            }
            b'f' | b'i' | b'I' | b'n' | b'N' | b't' | b'+' => return self.word_token(),
            _ => return self.error("invalid token"),
        };
        self.position += 1;
        single(kind)
    }

    /// Tokens starting with a letter or `+`: the literals, or with invalid numbers allowed,
    /// `inf`, `nan` and signed numbers.
    fn word_token(&mut self) -> Token {
        let index = self.position;
        for (word, kind) in [
            (&b"true"[..], TokenKind::Boolean(true)),
            (b"false", TokenKind::Boolean(false)),
            (b"null", TokenKind::Null),
        ] {
            if self.starts_with(word) {
                self.position += word.len();
                return Token { kind, index };
            }
        }
        if self.decode_invalid_numbers && self.is_invalid_number() {
            return self.number_token();
        }
        self.error("invalid token")
    }

    /// Numbers `strtod` takes but JSON does not (`json_is_invalid_number`): a leading `+`,
    /// hex, leading zeros, infinity and NaN.
    fn is_invalid_number(&self) -> bool {
        let mut index = self.position;
        match self.byte(index) {
            b'+' => return true,
            b'-' => index += 1,
            _ => {}
        }
        let first = self.byte(index);
        if first == b'0' {
            let second = self.byte(index + 1);
            return second | 0x20 == b'x' || second.is_ascii_digit();
        }
        // The C code compares a (signed) char, so bytes from 0x80 count as "ordinary".
        if (first as i8) <= b'9' as i8 {
            return false;
        }
        let rest = &self.data[index.min(self.data.len())..];
        starts_with_ignore_case(rest, b"inf") || starts_with_ignore_case(rest, b"nan")
    }

    fn number_token(&mut self) -> Token {
        let index = self.position;
        match parse_c_double(&self.data[index..]) {
            Some((number, consumed)) => {
                self.position += consumed;
                Token {
                    kind: TokenKind::Number(number),
                    index,
                }
            }
            None => self.error("invalid number"),
        }
    }

    /// `json_next_string_token`: unescapes into `text`. Errors point at the offending
    /// escape or at the end of the input.
    fn string_token(&mut self) -> Token {
        let index = self.position;
        self.position += 1;
        self.text.clear();
        loop {
            let byte = self.byte(self.position);
            match byte {
                b'"' => break,
                0 => return self.error("unexpected end of string"),
                b'\\' => {
                    let unescaped = match self.byte(self.position + 1) {
                        b'"' => b'"',
                        b'\\' => b'\\',
                        b'/' => b'/',
                        b'b' => 0x08,
                        b't' => b'\t',
                        b'n' => b'\n',
                        b'f' => 0x0c,
                        b'r' => b'\r',
                        b'u' => {
                            if !self.unicode_escape() {
                                return self.error("invalid unicode escape code");
                            }
                            continue;
                        }
                        _ => return self.error("invalid escape code"),
                    };
                    self.text.push(unescaped);
                    self.position += 2;
                }
                _ => {
                    self.text.push(byte);
                    self.position += 1;
                }
            }
        }
        self.position += 1;
        Token {
            kind: TokenKind::String,
            index,
        }
    }

    /// A `\uXXXX` escape (or a surrogate pair of them) at the current position, appended as
    /// UTF-8. False, with nothing consumed, when it is malformed.
    fn unicode_escape(&mut self) -> bool {
        let Some(mut code_point) = self.hex4(self.position + 2) else {
            return false;
        };
        let mut escape_len = 6;
        if code_point & 0xf800 == 0xd800 {
            // A surrogate: it must be a high one, followed by an escaped low one.
            if code_point & 0x400 != 0
                || self.byte(self.position + 6) != b'\\'
                || self.byte(self.position + 7) != b'u'
            {
                return false;
            }
            let Some(low) = self
                .hex4(self.position + 8)
                .filter(|low| low & 0xfc00 == 0xdc00)
            else {
                return false;
            };
            code_point = (((code_point & 0x3ff) << 10) | (low & 0x3ff)) + 0x10000;
            escape_len = 12;
        }
        // Surrogates never get here: a high one was combined above, a low one refused.
        let Some(character) = char::from_u32(code_point) else {
            return false;
        };
        let mut utf8 = [0u8; 4];
        self.text
            .extend_from_slice(character.encode_utf8(&mut utf8).as_bytes());
        self.position += escape_len;
        true
    }

    fn hex4(&self, index: usize) -> Option<u32> {
        (0..4).try_fold(0u32, |value, offset| {
            let digit = char::from(self.byte(index + offset)).to_digit(16)?;
            Some((value << 4) | digit)
        })
    }
}

fn starts_with_ignore_case(bytes: &[u8], prefix: &[u8]) -> bool {
    bytes.len() >= prefix.len() && bytes[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// The longest prefix of `bytes` that glibc's `strtod` converts, and its length; `None`
/// when it converts nothing. Accepts decimal and hex notation, `inf`, `infinity` and `nan`
/// (with an optional `(chars)` suffix, whose payload is not kept).
fn parse_c_double(bytes: &[u8]) -> Option<(f64, usize)> {
    let (negative, sign_len) = match bytes.first() {
        Some(b'-') => (true, 1),
        Some(b'+') => (false, 1),
        _ => (false, 0),
    };
    let rest = &bytes[sign_len..];
    let (magnitude, len) = if starts_with_ignore_case(rest, b"inf") {
        (
            f64::INFINITY,
            if starts_with_ignore_case(rest, b"infinity") {
                8
            } else {
                3
            },
        )
    } else if starts_with_ignore_case(rest, b"nan") {
        (f64::NAN, 3 + nan_suffix_len(&rest[3..]))
    } else if let Some(parsed) = parse_hex_double(rest) {
        parsed
    } else {
        parse_decimal_double(rest)?
    };
    Some((
        if negative { -magnitude } else { magnitude },
        sign_len + len,
    ))
}

/// The length of a `(n-char-sequence)` after "nan", 0 when there is none.
fn nan_suffix_len(bytes: &[u8]) -> usize {
    if bytes.first() != Some(&b'(') {
        return 0;
    }
    let inner = bytes[1..]
        .iter()
        .take_while(|byte| byte.is_ascii_alphanumeric() || **byte == b'_')
        .count();
    if bytes.get(1 + inner) == Some(&b')') {
        inner + 2
    } else {
        0
    }
}

fn count_digits(bytes: &[u8], radix: u32) -> usize {
    bytes
        .iter()
        .take_while(|byte| char::from(**byte).is_digit(radix))
        .count()
}

/// Decimal notation: digits with an optional fraction, then an optional exponent (taken
/// only when it has digits).
fn parse_decimal_double(bytes: &[u8]) -> Option<(f64, usize)> {
    let integer_digits = count_digits(bytes, 10);
    let mut len = integer_digits;
    let mut fraction_digits = 0;
    if bytes.get(len) == Some(&b'.') {
        fraction_digits = count_digits(&bytes[len + 1..], 10);
        len += 1 + fraction_digits;
    }
    if integer_digits + fraction_digits == 0 {
        return None;
    }
    if matches!(bytes.get(len), Some(b'e' | b'E')) {
        let sign_len = usize::from(matches!(bytes.get(len + 1), Some(b'+' | b'-')));
        let exponent_digits = count_digits(&bytes[(len + 1 + sign_len).min(bytes.len())..], 10);
        if exponent_digits > 0 {
            len += 1 + sign_len + exponent_digits;
        }
    }
    let text = std::str::from_utf8(&bytes[..len]).ok()?;
    Some((text.parse::<f64>().ok()?, len))
}

/// Hex notation: `0x`, hex digits with an optional fraction, then an optional binary
/// exponent `p`. Rounded to nearest, ties to even (subnormal results may round twice).
fn parse_hex_double(bytes: &[u8]) -> Option<(f64, usize)> {
    if bytes.len() < 3 || bytes[0] != b'0' || bytes[1] | 0x20 != b'x' {
        return None;
    }
    let digits = &bytes[2..];
    let integer_digits = count_digits(digits, 16);
    let mut fraction_digits = 0;
    if digits.get(integer_digits) == Some(&b'.') {
        fraction_digits = count_digits(&digits[integer_digits + 1..], 16);
    }
    if integer_digits + fraction_digits == 0 {
        return None;
    }
    let mut mantissa: u64 = 0;
    let mut exponent: i64 = 0;
    let mut sticky = false;
    let fraction_start = integer_digits + 1;
    let all_digits = digits[..integer_digits].iter().chain(
        digits
            .get(fraction_start..fraction_start + fraction_digits)
            .unwrap_or(&[]),
    );
    for (position, &digit) in all_digits.enumerate() {
        let value = u64::from(char::from(digit).to_digit(16).unwrap_or(0));
        let in_fraction = position >= integer_digits;
        if mantissa >> 60 == 0 {
            mantissa = (mantissa << 4) | value;
            if in_fraction {
                exponent -= 4;
            }
        } else {
            sticky |= value != 0;
            if !in_fraction {
                exponent += 4;
            }
        }
    }
    let mut len = 2
        + integer_digits
        + if fraction_digits > 0 || digits.get(integer_digits) == Some(&b'.') {
            1 + fraction_digits
        } else {
            0
        };
    if matches!(bytes.get(len), Some(b'p' | b'P')) {
        let sign_len = usize::from(matches!(bytes.get(len + 1), Some(b'+' | b'-')));
        let exponent_bytes = &bytes[(len + 1 + sign_len).min(bytes.len())..];
        let exponent_digits = count_digits(exponent_bytes, 10);
        if exponent_digits > 0 {
            let value = exponent_bytes[..exponent_digits]
                .iter()
                .fold(0i64, |value, digit| {
                    (value * 10 + i64::from(digit - b'0')).min(1 << 20)
                });
            exponent += if bytes[len + 1] == b'-' {
                -value
            } else {
                value
            };
            len += 1 + sign_len + exponent_digits;
        }
    }
    Some((scale_binary(mantissa, sticky, exponent), len))
}

/// mantissa × 2^exponent, rounded once to 53 bits (the sticky bit stands for dropped
/// non-zero digits below the mantissa).
fn scale_binary(mut mantissa: u64, sticky: bool, mut exponent: i64) -> f64 {
    if mantissa == 0 {
        return 0.0;
    }
    let bits = 64 - mantissa.leading_zeros() as i64;
    if bits > 53 {
        let shift = (bits - 53) as u32;
        let remainder = mantissa & ((1u64 << shift) - 1);
        let half = 1u64 << (shift - 1);
        mantissa >>= shift;
        exponent += i64::from(shift);
        if remainder > half || (remainder == half && (sticky || mantissa & 1 == 1)) {
            mantissa += 1;
        }
    }
    let mut value = mantissa as f64;
    // Scale in steps that stay within the exponent range of a double.
    while exponent != 0 {
        let step = exponent.clamp(-1000, 1000);
        value *= 2f64.powi(step as i32);
        exponent -= step;
        if value == 0.0 || value.is_infinite() {
            break;
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::super::testing::check_cases;
    use super::{format_general, parse_c_double};

    /// Each snippet with redis-server 7.0.15's reply to it (see `testing::run` for the form).
    #[rustfmt::skip]
    const CASES: &[(&str, &str)] = &[
        // BEGIN GENERATED CASES
        (r#"return table.concat(cjson.decode("[0.0, -5e3, -1, 0.3e-3, 1023.2, 0e10]"), " ")"#,
         r#"OK "0 -5000 -1 0.0003 1023.2 0""#),
        (r#"local decoded = cjson.decode('{"keya": "a", "keyb": "b"}')
return {decoded.keya, decoded.keyb}"#,
         r#"OK {1="a",2="b"}"#),
        (r#"local some_map = {
    s1="Some string",
    n1=100,
    a1={"Some","String","Array"},
    nil1=nil,
    b1=true,
    b2=false}
local encoded = cjson.encode(some_map)
local decoded = cjson.decode(encoded)
assert(table.concat(some_map) == table.concat(decoded))
cjson.encode_keep_buffer(false)
encoded = cjson.encode(some_map)
decoded = cjson.decode(encoded)
assert(table.concat(some_map) == table.concat(decoded))
local table1 = {one="one", [1]="one"}
encoded = cjson.encode(table1)
decoded = cjson.decode(encoded)
assert(decoded["one"] == table1["one"])
assert(decoded["1"] == table1[1])
local array1 = {[1]="one", [2]="two"}
encoded = cjson.encode(array1)
decoded = cjson.decode(encoded)
assert(table.concat(array1) == table.concat(decoded))
local invalid_map = {}
invalid_map[false] = "false"
local ok, encoded = pcall(cjson.encode, invalid_map)
assert(ok == false)
cjson.encode_max_depth(1)
ok, encoded = pcall(cjson.encode, some_map)
assert(ok == false)
cjson.decode_max_depth(1)
ok, decoded = pcall(cjson.decode, '{"obj": {"array": [1,2,3,4]}}')
assert(ok == false)
ok, encoded = pcall(cjson.encode, {num1=0/0})
assert(ok == false)
cjson.encode_invalid_numbers(true)
ok, encoded = pcall(cjson.encode, {num1=0/0})
assert(ok == true)
cjson.decode_max_depth(1000)
cjson.encode_max_depth(1000)
cjson.encode_invalid_numbers(false)
return "ok""#,
         r#"OK "ok""#),
        (r#"local keys = {} for k, v in pairs(cjson) do keys[#keys+1] = k .. ":" .. type(v) end table.sort(keys) return table.concat(keys, " ")"#,
         r#"OK "_NAME:string _VERSION:string decode:function decode_invalid_numbers:function decode_max_depth:function encode:function encode_invalid_numbers:function encode_keep_buffer:function encode_max_depth:function encode_number_precision:function encode_sparse_array:function new:function null:userdata""#),
        (r#"return cjson._NAME, cjson._VERSION, cjson.null == cjson.decode("null"), type(cjson.null), cjson.decode_array_with_array_mt"#,
         r#"OK "cjson", "2.1.0", true, "userdata", nil"#),
        (r#"return cjson.encode(1), cjson.encode(-1.5), cjson.encode("x"), cjson.encode(true), cjson.encode(false), cjson.encode(nil), cjson.encode(cjson.null)"#,
         r#"OK "1", "-1.5", "\x22x\x22", "true", "false", "null", "null""#),
        (r#"return cjson.encode({0.1, 1/3, 1e20, 1e15, 123456789012345, 1e-5, -0.0, 2^53, 0.5, 100, 1e14, 12345678901234567890, 5e-324, 1.7976931348623157e308})"#,
         r#"OK "[0.1,0.33333333333333,1e+20,1e+15,1.2345678901234e+14,1e-05,-0,9.007199254741e+15,0.5,100,1e+14,1.2345678901235e+19,4.9406564584125e-324,1.7976931348623e+308]""#),
        (r#"return cjson.encode({0.0001, 0.00001, 123456.789, 1e100, -1e-100, 99999999999999, 999999999999999, 3.14159265358979})"#,
         r#"OK "[0.0001,1e-05,123456.789,1e+100,-1e-100,99999999999999,1e+15,3.1415926535898]""#),
        (r#"return cjson.encode({"a/b\"c\\d\1\127\128\8\9\10\12\13\31 ", "\0", "\255\254", "\226\130\172"})"#,
         r#"OK "[\x22a\x5c/b\x5c\x22c\x5c\x5cd\x5cu0001\x5cu007f\x80\x5cb\x5ct\x5cn\x5cf\x5cr\x5cu001f \x22,\x22\x5cu0000\x22,\x22\xff\xfe\x22,\x22\xe2\x82\xac\x22]""#),
        (r#"return cjson.encode("\11\14\15\16\17\18\19\20\21\22\23\24\25\26\27\28\29\30")"#,
         r#"OK "\x22\x5cu000b\x5cu000e\x5cu000f\x5cu0010\x5cu0011\x5cu0012\x5cu0013\x5cu0014\x5cu0015\x5cu0016\x5cu0017\x5cu0018\x5cu0019\x5cu001a\x5cu001b\x5cu001c\x5cu001d\x5cu001e\x22""#),
        (r#"return cjson.encode({}), cjson.encode({{}}), cjson.encode({{{}}}), cjson.encode({a={}})"#,
         r#"OK "{}", "[{}]", "[[{}]]", "{\x22a\x22:{}}""#),
        (r#"return cjson.encode({1,2,3}), cjson.encode({[1]=1, [2]=2, [4]=3}), cjson.encode({[3]="x"}), cjson.encode({nil, nil, 3})"#,
         r#"OK "[1,2,3]", "[1,2,null,3]", "[null,null,\x22x\x22]", "[null,null,3]""#),
        (r#"return cjson.encode({[1]=1, [2]=2, [20]=3})"#,
         r#"ERR user_script:37: Cannot serialise table: excessively sparse array"#),
        (r#"return cjson.encode({[11]=1})"#,
         r#"ERR user_script:37: Cannot serialise table: excessively sparse array"#),
        (r#"return cjson.encode({[10]=1}), cjson.encode({[1]=1, [12]=2, [3]=3, [4]=4, [5]=5, [6]=6})"#,
         r#"OK "[null,null,null,null,null,null,null,null,null,1]", "[1,null,3,4,5,6,null,null,null,null,null,2]""#),
        (r#"return cjson.encode({[1.5]=1}), cjson.encode({[0]="z"}), cjson.encode({[-1]="m"}), cjson.encode({[1e20]=1})"#,
         r#"OK "{\x221.5\x22:1}", "{\x220\x22:\x22z\x22}", "{\x22-1\x22:\x22m\x22}", "{\x221e+20\x22:1}""#),
        (r#"return cjson.encode({[1]=1, a=2})"#,
         r#"OK "{\x221\x22:1,\x22a\x22:2}""#),
        (r#"return cjson.encode({x={y={z={1,2,{w="deep"}}}}})"#,
         r#"OK "{\x22x\x22:{\x22y\x22:{\x22z\x22:[1,2,{\x22w\x22:\x22deep\x22}]}}}""#),
        (r#"return cjson.decode(cjson.encode({a=1, b={c="d"}, e={1,2,3}}))"#,
         r#"OK {"a"=1,"b"={"c"="d"},"e"={1=1,2=2,3=3}}"#),
        (r#"return cjson.encode({[2^31]=1})"#,
         r#"OK "{\x222147483648\x22:1}""#),
        (r#"return cjson.encode({[2^31]=1, [2^32]=2})"#,
         r#"OK "{\x222147483648\x22:1,\x224294967296\x22:2}""#),
        (r#"return cjson.encode({[1/0]=1})"#,
         r#"ERR user_script:37: Cannot serialise number: must not be NaN or Inf"#),
        (r#"cjson.encode_invalid_numbers("null") return cjson.encode({[1/0]=1})"#,
         r#"OK "{\x22null\x22:1}""#),
        (r#"cjson.encode_invalid_numbers(true) return cjson.encode({[1/0]="a"}), cjson.encode({[-1/0]="b"})"#,
         r#"OK "{\x22inf\x22:\x22a\x22}", "{\x22-inf\x22:\x22b\x22}""#),
        (r#"return cjson.encode({[true]=1})"#,
         r#"ERR user_script:37: Cannot serialise boolean: table key must be a number or string"#),
        (r#"return cjson.encode({[{}]=1})"#,
         r#"ERR user_script:37: Cannot serialise table: table key must be a number or string"#),
        (r#"return cjson.encode({[cjson.null]=1})"#,
         r#"ERR user_script:37: Cannot serialise userdata: table key must be a number or string"#),
        (r#"return cjson.encode(function() end)"#,
         r#"ERR user_script:37: Cannot serialise function: type not supported"#),
        (r#"return cjson.encode({tostring})"#,
         r#"ERR user_script:37: Cannot serialise function: type not supported"#),
        (r#"return cjson.encode(coroutine.create(function() end))"#,
         r#"ERR user_script:37: Cannot serialise thread: type not supported"#),
        (r#"return cjson.encode({1, 2, {a=function() end}})"#,
         r#"ERR user_script:37: Cannot serialise function: type not supported"#),
        (r#"return cjson.encode()"#,
         r#"ERR user_script:37: bad argument #1 to 'encode' (expected 1 argument)"#),
        (r#"return cjson.encode(1, 2)"#,
         r#"ERR user_script:37: bad argument #1 to 'encode' (expected 1 argument)"#),
        (r#"return cjson.encode(0/0)"#,
         r#"ERR user_script:37: Cannot serialise number: must not be NaN or Inf"#),
        (r#"return cjson.encode(-1/0)"#,
         r#"ERR user_script:37: Cannot serialise number: must not be NaN or Inf"#),
        (r#"cjson.encode_invalid_numbers("null") return cjson.encode({1/0, -1/0, 0/0})"#,
         r#"OK "[null,null,null]""#),
        (r#"cjson.encode_invalid_numbers(true) return cjson.encode({1/0, -1/0, 0/0, -(0/0)})"#,
         r#"OK "[inf,-inf,nan,nan]""#),
        (r#"local t = {} t[1] = t return cjson.encode(t)"#,
         r#"ERR user_script:37: Cannot serialise, excessive nesting (1001)"#),
        (r#"local t = {} t.x = t return cjson.encode(t)"#,
         r#"ERR user_script:37: Cannot serialise, excessive nesting (1001)"#),
        (r#"cjson.encode_max_depth(1) return cjson.encode({a={1}})"#,
         r#"ERR user_script:37: Cannot serialise, excessive nesting (2)"#),
        (r#"cjson.encode_max_depth(2) return cjson.encode({a={1}}), pcall(cjson.encode, {{{}}})"#,
         r#"OK "{\x22a\x22:[1]}", false, "Cannot serialise, excessive nesting (3)""#),
        (r#"local t = {} local c = t for i = 1, 999 do c[1] = {} c = c[1] end return #cjson.encode(t)"#,
         r#"OK 2000"#),
        (r#"local t = {} local c = t for i = 1, 1000 do c[1] = {} c = c[1] end return pcall(cjson.encode, t)"#,
         r#"OK false, "Cannot serialise, excessive nesting (1001)""#),
        (r#"cjson.encode_max_depth(100000) local t = {} local c = t for i = 1, 7996 do c[1] = {} c = c[1] end return #cjson.encode(t)"#,
         r#"OK 15994"#),
        (r#"cjson.encode_max_depth(100000) local t = {} local c = t for i = 1, 7997 do c[1] = {} c = c[1] end return pcall(cjson.encode, t)"#,
         r#"OK false, "Cannot serialise, excessive nesting (7998)""#),
        (r#"cjson.encode_max_depth(100000) local t = {} local c = t for i = 1, 3998 do c.k = {} c = c.k end return #cjson.encode(t)"#,
         r#"OK 23990"#),
        (r#"cjson.encode_max_depth(100000) local t = {} local c = t for i = 1, 3999 do c.k = {} c = c.k end return pcall(cjson.encode, t)"#,
         r#"OK false, "Cannot serialise, excessive nesting (4000)""#),
        (r#"cjson.encode_max_depth(100000) local t = {} t[1] = t return pcall(cjson.encode, t)"#,
         r#"OK false, "Cannot serialise, excessive nesting (7998)""#),
        (r#"return cjson.encode_sparse_array()"#,
         r#"OK false, 2, 10"#),
        (r#"cjson.encode_sparse_array(true) return cjson.encode({[1]=1, [2]=2, [20]=3})"#,
         r#"OK "{\x221\x22:1,\x222\x22:2,\x2220\x22:3}""#),
        (r#"cjson.encode_sparse_array(false, 0) return #cjson.encode({[1]=1, [200]=2})"#,
         r#"OK 995"#),
        (r#"cjson.encode_sparse_array(false, 1, 0) return pcall(cjson.encode, {[1]=1, [3]=2})"#,
         r#"OK false, "Cannot serialise table: excessively sparse array""#),
        (r#"cjson.encode_sparse_array(false, 3, 1) return cjson.encode({[1]=1, [3]=2}), pcall(cjson.encode, {[1]=1, [4]=2})"#,
         r#"OK "[1,null,2]", true, "[1,null,null,2]""#),
        (r#"return cjson.encode_sparse_array("on", 5, 20), cjson.encode_sparse_array(), cjson.encode_sparse_array("off")"#,
         r#"OK true, true, false, 5, 20"#),
        (r#"return cjson.encode_sparse_array(true, -1)"#,
         r#"ERR user_script:37: bad argument #1 to 'encode_sparse_array' (expected integer between 0 and 2147483647)"#),
        (r#"return cjson.encode_sparse_array(true, 2, -1)"#,
         r#"ERR user_script:37: bad argument #1 to 'encode_sparse_array' (expected integer between 0 and 2147483647)"#),
        (r#"return cjson.encode_sparse_array("maybe")"#,
         r#"ERR user_script:37: bad argument #1 to 'encode_sparse_array' (invalid option 'maybe')"#),
        (r#"return cjson.encode_sparse_array(1, 2, 3, 4)"#,
         r#"ERR user_script:37: bad argument #4 to 'encode_sparse_array' (found too many arguments)"#),
        (r#"return cjson.encode_sparse_array(nil, "x")"#,
         r#"ERR user_script:37: bad argument #2 to 'encode_sparse_array' (number expected, got string)"#),
        (r#"local ok, e = pcall(cjson.encode_sparse_array, true, -1) return ok, e, cjson.encode_sparse_array()"#,
         r#"OK false, "bad argument #1 to \x27?\x27 (expected integer between 0 and 2147483647)", true, 2, 10"#),
        (r#"return cjson.encode_max_depth(), cjson.decode_max_depth(), cjson.encode_number_precision(), cjson.encode_keep_buffer(), cjson.encode_invalid_numbers(), cjson.decode_invalid_numbers()"#,
         r#"OK 1000, 1000, 14, true, false, true"#),
        (r#"return cjson.encode_max_depth(0)"#,
         r#"ERR user_script:37: bad argument #1 to 'encode_max_depth' (expected integer between 1 and 2147483647)"#),
        (r#"return cjson.encode_max_depth(1, 2)"#,
         r#"ERR user_script:37: bad argument #2 to 'encode_max_depth' (found too many arguments)"#),
        (r#"return cjson.encode_max_depth("x")"#,
         r#"ERR user_script:37: bad argument #1 to 'encode_max_depth' (number expected, got string)"#),
        (r#"return cjson.encode_max_depth("12"), cjson.encode_max_depth(7.9), cjson.encode_max_depth(2^32 + 5), cjson.encode_max_depth(nil)"#,
         r#"OK 12, 7, 5, 5"#),
        (r#"return cjson.encode_max_depth(2^31)"#,
         r#"ERR user_script:37: bad argument #1 to 'encode_max_depth' (expected integer between 1 and 2147483647)"#),
        (r#"return cjson.decode_max_depth(-5)"#,
         r#"ERR user_script:37: bad argument #1 to 'decode_max_depth' (expected integer between 1 and 2147483647)"#),
        (r#"return cjson.encode_number_precision(15)"#,
         r#"ERR user_script:37: bad argument #1 to 'encode_number_precision' (expected integer between 1 and 14)"#),
        (r#"return cjson.encode_number_precision(0)"#,
         r#"ERR user_script:37: bad argument #1 to 'encode_number_precision' (expected integer between 1 and 14)"#),
        (r#"cjson.encode_number_precision(1) return cjson.encode({0.25, 2.5, 0.35, 15, 0.125, 95})"#,
         r#"OK "[0.2,2,0.3,2e+01,0.1,1e+02]""#),
        (r#"cjson.encode_number_precision(2) return cjson.encode({0.125, 0.375, 1.005, 99.5, 995, 0.0001})"#,
         r#"OK "[0.12,0.38,1,1e+02,1e+03,0.0001]""#),
        (r#"cjson.encode_number_precision(5) return cjson.encode({math.pi, 123456, 1234567, 0.000012345678})"#,
         r#"OK "[3.1416,1.2346e+05,1.2346e+06,1.2346e-05]""#),
        (r#"return cjson.encode_invalid_numbers("null"), cjson.encode_invalid_numbers("on"), cjson.encode_invalid_numbers(false), cjson.encode_keep_buffer(), cjson.decode_invalid_numbers()"#,
         r#"OK "null", true, false, true, true"#),
        (r#"return cjson.encode_invalid_numbers("foo")"#,
         r#"ERR user_script:37: bad argument #1 to 'encode_invalid_numbers' (invalid option 'foo')"#),
        (r#"return cjson.encode_invalid_numbers({})"#,
         r#"ERR user_script:37: bad argument #1 to 'encode_invalid_numbers' (string expected, got table)"#),
        (r#"return cjson.encode_invalid_numbers(1)"#,
         r#"ERR user_script:37: bad argument #1 to 'encode_invalid_numbers' (invalid option '1')"#),
        (r#"return cjson.encode_keep_buffer("on"), cjson.encode_keep_buffer(false), cjson.encode_keep_buffer("null")"#,
         r#"ERR user_script:37: bad argument #1 to 'encode_keep_buffer' (invalid option 'null')"#),
        (r#"return cjson.decode_invalid_numbers("off"), cjson.decode_invalid_numbers(true), cjson.decode_invalid_numbers("on\0x")"#,
         r#"OK false, true, true"#),
        (r#"local c2 = cjson.new() c2.encode_max_depth(5) return cjson.encode_max_depth(), c2.encode_max_depth(), c2._NAME, c2.null == cjson.null, type(c2.new)"#,
         r#"OK 1000, 5, "cjson", true, "function""#),
        (r#"local c2 = cjson.new() return c2.encode({1, "a", {b=true}})"#,
         r#"OK "[1,\x22a\x22,{\x22b\x22:true}]""#),
        (r#"return cjson.decode('[1,"\\u00e9\\ud83d\\ude00\\u0000x",true,false,null,{"a":[]}]')"#,
         r#"OK {1=1,2="\xc3\xa9\xf0\x9f\x98\x80\x00x",3=true,4=false,5=null,6={"a"={}}}"#),
        (r#"return cjson.encode(cjson.decode('[1,"\\u00e9\\ud83d\\ude00\\u0000x",true,false,null,{"a":[]}]'))"#,
         r#"OK "[1,\x22\xc3\xa9\xf0\x9f\x98\x80\x5cu0000x\x22,true,false,null,{\x22a\x22:{}}]""#),
        (r#"return cjson.decode('"\\"\\\\\\/\\b\\f\\n\\r\\t"'), cjson.decode('"\\u0041\\u00ff\\u0800\\uffff\\uD800\\uDC00\\udbff\\udfff"')"#,
         r#"OK "\x22\x5c/\x08\x0c\x0a\x0d\x09", "A\xc3\xbf\xe0\xa0\x80\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf""#),
        (r#"return cjson.decode('  {"a" : 1 , "b" :[ 1 , 2 ] }  \n\t\r')"#,
         r#"OK {"a"=1,"b"={1=1,2=2}}"#),
        (r#"return cjson.decode('{"a":1,"a":2}'), cjson.decode('{"":3}'), cjson.decode('[[],{}]')"#,
         r#"OK {"a"=2}, {""=3}, {1={},2={}}"#),
        (r#"return cjson.decode("123"), cjson.decode(123), cjson.decode("-0"), cjson.decode("1E2"), cjson.decode("1.5e+3"), cjson.decode("-1.25e-2")"#,
         r#"OK 123, 123, -0, 100, 1500, -0.012500000000000001"#),
        (r#"return cjson.decode("0x10"), cjson.decode("-0x1p4"), cjson.decode("1e400"), cjson.decode("-1e400"), cjson.decode("007"), cjson.decode("1.")"#,
         r#"OK 16, -16, inf, -inf, 7, 1"#),
        (r#"return cjson.decode("Infinity"), cjson.decode("-Infinity"), cjson.decode("inf"), cjson.decode("+5"), cjson.decode("-inf"), cjson.decode("INF")"#,
         r#"OK inf, -inf, inf, 5, -inf, inf"#),
        (r#"local n = cjson.decode("nan") local m = cjson.decode("-nan") local p = cjson.decode("NaN(123)") return n ~= n, m ~= m, p ~= p, tostring(n), tostring(m)"#,
         r#"OK true, true, true, "nan", "-nan""#),
        (r#"return cjson.decode("12\0garbage"), cjson.decode("[1,2]\0]"), cjson.decode("[\"ab\0cd\"]")"#,
         r#"ERR user_script:37: Expected value but found unexpected end of string at character 5"#),
        (r#"return cjson.decode("12345678901234567890"), cjson.decode("0.1"), cjson.decode("4.9e-324"), cjson.decode("2.2250738585072011e-308")"#,
         r#"OK 1.2345678901234567e+19, 0.10000000000000001, 4.9406564584124654e-324, 2.2250738585072009e-308"#),
        (r#"return cjson.decode("x")"#,
         r#"ERR user_script:37: Expected value but found invalid token at character 1"#),
        (r#"return cjson.decode("")"#,
         r#"ERR user_script:37: Expected value but found T_END at character 1"#),
        (r#"return cjson.decode("  ")"#,
         r#"ERR user_script:37: Expected value but found T_END at character 3"#),
        (r#"return cjson.decode("[1,2")"#,
         r#"ERR user_script:37: Expected comma or array end but found T_END at character 5"#),
        (r#"return cjson.decode("[1,2,]")"#,
         r#"ERR user_script:37: Expected value but found T_ARR_END at character 6"#),
        (r#"return cjson.decode("[1 2]")"#,
         r#"ERR user_script:37: Expected comma or array end but found T_NUMBER at character 4"#),
        (r#"return cjson.decode('{"a" 1}')"#,
         r#"ERR user_script:37: Expected colon but found T_NUMBER at character 6"#),
        (r#"return cjson.decode('{"a":1,}')"#,
         r#"ERR user_script:37: Expected object key string but found T_OBJ_END at character 8"#),
        (r#"return cjson.decode('{"a":1 "b":2}')"#,
         r#"ERR user_script:37: Expected comma or object end but found T_STRING at character 8"#),
        (r#"return cjson.decode('{1:2}')"#,
         r#"ERR user_script:37: Expected object key string but found T_NUMBER at character 2"#),
        (r#"return cjson.decode('{"a":}')"#,
         r#"ERR user_script:37: Expected value but found T_OBJ_END at character 6"#),
        (r#"return cjson.decode('[1]]')"#,
         r#"ERR user_script:37: Expected the end but found T_ARR_END at character 4"#),
        (r#"return cjson.decode('1 2')"#,
         r#"ERR user_script:37: Expected the end but found T_NUMBER at character 3"#),
        (r#"return cjson.decode(']')"#,
         r#"ERR user_script:37: Expected value but found T_ARR_END at character 1"#),
        (r#"return cjson.decode('}')"#,
         r#"ERR user_script:37: Expected value but found T_OBJ_END at character 1"#),
        (r#"return cjson.decode(':')"#,
         r#"ERR user_script:37: Expected value but found T_COLON at character 1"#),
        (r#"return cjson.decode(',')"#,
         r#"ERR user_script:37: Expected value but found T_COMMA at character 1"#),
        (r#"return cjson.decode('"abc')"#,
         r#"ERR user_script:37: Expected value but found unexpected end of string at character 5"#),
        (r#"return cjson.decode('"ab\\qc"')"#,
         r#"ERR user_script:37: Expected value but found invalid escape code at character 4"#),
        (r#"return cjson.decode('"ab\\')"#,
         r#"ERR user_script:37: Expected value but found invalid escape code at character 4"#),
        (r#"return cjson.decode('"ab\\u12"')"#,
         r#"ERR user_script:37: Expected value but found invalid unicode escape code at character 4"#),
        (r#"return cjson.decode('"ab\\u12zz"')"#,
         r#"ERR user_script:37: Expected value but found invalid unicode escape code at character 4"#),
        (r#"return cjson.decode('"ab\\udc00"')"#,
         r#"ERR user_script:37: Expected value but found invalid unicode escape code at character 4"#),
        (r#"return cjson.decode('"ab\\ud800"')"#,
         r#"ERR user_script:37: Expected value but found invalid unicode escape code at character 4"#),
        (r#"return cjson.decode('"ab\\ud800\\u0041"')"#,
         r#"ERR user_script:37: Expected value but found invalid unicode escape code at character 4"#),
        (r#"return cjson.decode('"ab\\ud800x\\udc00"')"#,
         r#"ERR user_script:37: Expected value but found invalid unicode escape code at character 4"#),
        (r#"return cjson.decode('"a\0b"')"#,
         r#"ERR user_script:37: Expected value but found unexpected end of string at character 3"#),
        (r#"return cjson.decode("tru")"#,
         r#"ERR user_script:37: Expected value but found invalid token at character 1"#),
        (r#"return cjson.decode("truex")"#,
         r#"ERR user_script:37: Expected the end but found invalid token at character 5"#),
        (r#"return cjson.decode("nul")"#,
         r#"ERR user_script:37: Expected value but found invalid token at character 1"#),
        (r#"return cjson.decode("fals")"#,
         r#"ERR user_script:37: Expected value but found invalid token at character 1"#),
        (r#"return cjson.decode("True")"#,
         r#"ERR user_script:37: Expected value but found invalid token at character 1"#),
        (r#"return cjson.decode("-")"#,
         r#"ERR user_script:37: Expected value but found invalid number at character 1"#),
        (r#"return cjson.decode("-x")"#,
         r#"ERR user_script:37: Expected value but found invalid number at character 1"#),
        (r#"return cjson.decode("+")"#,
         r#"ERR user_script:37: Expected value but found invalid number at character 1"#),
        (r#"return cjson.decode("+x")"#,
         r#"ERR user_script:37: Expected value but found invalid number at character 1"#),
        (r#"return cjson.decode("ix")"#,
         r#"ERR user_script:37: Expected value but found invalid token at character 1"#),
        (r#"return cjson.decode(".5")"#,
         r#"ERR user_script:37: Expected value but found invalid token at character 1"#),
        (r#"return cjson.decode("1.5.3")"#,
         r#"ERR user_script:37: Expected the end but found invalid token at character 4"#),
        (r#"return cjson.decode("\255")"#,
         r#"ERR user_script:37: Expected value but found invalid token at character 1"#),
        (r#"return cjson.decode("[\"a\", \255]")"#,
         r#"ERR user_script:37: Expected value but found invalid token at character 7"#),
        (r#"return cjson.decode("\0\0")"#,
         r#"ERR user_script:37: JSON parser does not support UTF-16 or UTF-32"#),
        (r#"return cjson.decode("a\0")"#,
         r#"ERR user_script:37: JSON parser does not support UTF-16 or UTF-32"#),
        (r#"return cjson.decode("\0")"#,
         r#"ERR user_script:37: Expected value but found T_END at character 1"#),
        (r#"return cjson.decode()"#,
         r#"ERR user_script:37: bad argument #1 to 'decode' (expected 1 argument)"#),
        (r#"return cjson.decode(nil)"#,
         r#"ERR user_script:37: bad argument #1 to 'decode' (string expected, got nil)"#),
        (r#"return cjson.decode({})"#,
         r#"ERR user_script:37: bad argument #1 to 'decode' (string expected, got table)"#),
        (r#"return cjson.decode("1", "2")"#,
         r#"ERR user_script:37: bad argument #1 to 'decode' (expected 1 argument)"#),
        (r#"return cjson:decode()"#,
         r#"ERR user_script:37: calling 'decode' on bad self (string expected, got table)"#),
        (r#"return cjson:encode()"#,
         r#"ERR user_script:37: Cannot serialise function: type not supported"#),
        (r#"local co = coroutine.wrap(function() return cjson.encode(cjson.decode('[1,{"a":2}]')), pcall(cjson.decode, "[") end) return co()"#,
         r#"OK "[1,{\x22a\x22:2}]", false, "Expected value but found T_END at character 2""#),
        (r#"local decode = cjson.decode return decode("{")"#,
         r#"ERR user_script:37: Expected object key string but found T_END at character 2"#),
        (r#"cjson.decode_invalid_numbers(false) return cjson.decode("[1, -2.5e3, 0, -0, 0.5]")"#,
         r#"OK {1=1,2=-2500,3=0,4=-0,5=0.5}"#),
        (r#"cjson.decode_invalid_numbers(false) return cjson.decode("0x10")"#,
         r#"ERR user_script:37: Expected value but found invalid number at character 1"#),
        (r#"cjson.decode_invalid_numbers(false) return cjson.decode("[1, 007]")"#,
         r#"ERR user_script:37: Expected value but found invalid number at character 5"#),
        (r#"cjson.decode_invalid_numbers(false) return cjson.decode("+1")"#,
         r#"ERR user_script:37: Expected value but found invalid token at character 1"#),
        (r#"cjson.decode_invalid_numbers(false) return cjson.decode("-inf")"#,
         r#"ERR user_script:37: Expected value but found invalid number at character 1"#),
        (r#"cjson.decode_invalid_numbers(false) return cjson.decode("inf")"#,
         r#"ERR user_script:37: Expected value but found invalid token at character 1"#),
        (r#"cjson.decode_invalid_numbers(false) return cjson.decode("nan")"#,
         r#"ERR user_script:37: Expected value but found invalid token at character 1"#),
        (r#"cjson.decode_invalid_numbers(false) return cjson.decode("-\255")"#,
         r#"ERR user_script:37: Expected value but found invalid number at character 1"#),
        (r#"cjson.decode_max_depth(1) return cjson.decode('{"obj": {"array": [1,2,3,4]}}')"#,
         r#"ERR user_script:37: Found too many nested data structures (2) at character 9"#),
        (r#"cjson.decode_max_depth(2) return cjson.decode('[[1]]'), pcall(cjson.decode, '[[[1]]]')"#,
         r#"OK {1={1=1}}, false, "Found too many nested data structures (3) at character 3""#),
        (r#"return #cjson.encode(cjson.decode(string.rep("[", 1000) .. string.rep("]", 1000)))"#,
         r#"OK 2000"#),
        (r#"return cjson.decode(string.rep("[", 1001) .. string.rep("]", 1001))"#,
         r#"ERR user_script:37: Found too many nested data structures (1001) at character 1001"#),
        (r#"return cjson.decode(string.rep("[", 100000))"#,
         r#"ERR user_script:37: Found too many nested data structures (1001) at character 1001"#),
        (r#"cjson.decode_max_depth(100000) local t = cjson.decode(string.rep("[", 7998) .. string.rep("]", 7998)) local d = 0 while t do d = d + 1 t = t[1] end return d"#,
         r#"OK 7998"#),
        (r#"cjson.decode_max_depth(100000) return cjson.decode(string.rep("[", 7999) .. string.rep("]", 7999))"#,
         r#"ERR user_script:37: Found too many nested data structures (7999) at character 7999"#),
        (r#"cjson.decode_max_depth(100000) local t = cjson.decode(string.rep('{"a":', 3998) .. "1" .. string.rep("}", 3998)) local d = 0 while type(t) == "table" do d = d + 1 t = t.a end return d, t"#,
         r#"OK 3998, 1"#),
        (r#"cjson.decode_max_depth(100000) return cjson.decode(string.rep('{"a":', 3999) .. "1" .. string.rep("}", 3999))"#,
         r#"OK {"a"={"a"={"a"={"a"={"a"={"a"={"a"={"a"={"a"={"a"={"a"={"a"={"a"={"a"={"a"={"a"={"a"={"a"={"a"={"a"={"a"={"a"={"a"={"a"={"a"={"a"={"a"={"a"={"a"={"a"={"a"={"a"={"a"={"a"={"a"={"a"={"a"={"a"={"a"={"a"={"a"={...}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}"#),
        (r#"cjson.decode_max_depth(100000) return cjson.decode(string.rep("[", 200000))"#,
         r#"ERR user_script:37: Found too many nested data structures (7999) at character 7999"#),
        (r#"local t = {} for i = 1, 10000 do t[i] = {id = i, name = "n" .. i} end local s = cjson.encode(t) local d = cjson.decode(s) return #s, #d, d[5000].id, d[5000].name"#,
         r#"OK 267789, 10000, 5000, "n5000""#),
        (r#"local t = {} for i = 1, 20000 do t["k" .. i] = i end local d = cjson.decode(cjson.encode(t)) local n = 0 for k, v in pairs(d) do n = n + v end return n"#,
         r#"OK 200010000"#),
        // END GENERATED CASES
    ];

    #[test]
    fn matches_redis_server() {
        check_cases(CASES);
    }

    /// The deepest documents Redis accepts once the depth limits are raised (7997 nested
    /// arrays to encode, 7998 to decode; see the cases above) walk without deep recursion.
    #[test]
    fn deep_nesting_fits_a_small_stack() {
        let body = r#"
cjson.encode_max_depth(100000)
cjson.decode_max_depth(100000)
local t = {} local c = t for i = 1, 7996 do c[1] = {} c = c[1] end
local encoded = cjson.encode(t)
local decoded = cjson.decode(encoded)
local depth = 0 while decoded do depth = depth + 1 decoded = decoded[1] end
local ok, err = pcall(cjson.decode, string.rep("[", 1000000))
return #encoded, depth, ok, err"#;
        assert_eq!(
            super::super::testing::run_on_small_stack(body),
            r#"OK 15994, 7997, false, "Found too many nested data structures (7999) at character 7999""#
        );
    }

    /// `%.Ng` as glibc prints it (checked with printf(1)).
    #[test]
    fn formats_like_printf_g() {
        let cases: &[(f64, usize, &str)] = &[
            (0.1, 14, "0.1"),
            (1.0 / 3.0, 14, "0.33333333333333"),
            (1e20, 14, "1e+20"),
            (123456789012345.0, 14, "1.2345678901234e+14"),
            (1e-5, 14, "1e-05"),
            (0.0001, 14, "0.0001"),
            (-0.0, 14, "-0"),
            (100.0, 14, "100"),
            (0.125, 2, "0.12"),
            (2.5, 1, "2"),
            (1e300, 17, "1.0000000000000001e+300"),
            (99999999999999.0, 14, "99999999999999"),
            (100000000000000.0, 14, "1e+14"),
            (-123.0, 2, "-1.2e+02"),
            (95.0, 1, "1e+02"),
            (f64::INFINITY, 14, "inf"),
        ];
        for &(number, precision, expected) in cases {
            assert_eq!(
                format_general(number, precision),
                expected,
                "{number} with precision {precision}"
            );
        }
    }

    /// What glibc's strtod consumes and returns (hex values checked with Python's
    /// `float.fromhex`, which rounds correctly).
    #[test]
    fn parses_like_strtod() {
        let cases: &[(&str, f64, usize)] = &[
            ("1.5e3x", 1500.0, 5),
            ("1e", 1.0, 1),
            ("1e+", 1.0, 1),
            ("-.5", -0.5, 3),
            ("0x", 0.0, 1),
            ("0x1p4", 16.0, 5),
            ("0x.8", 0.5, 4),
            ("0x1.8p-1", 0.75, 8),
            ("0x1p", 1.0, 3),
            ("-0x10", -16.0, 5),
            ("Infinity", f64::INFINITY, 8),
            ("-inf", f64::NEG_INFINITY, 4),
            ("0x1fffffffffffffff", 2305843009213693952.0, 18),
            ("0x20000000000000100000001", 6.189700196426902e26, 25),
            // Ties round to even; a non-zero digit beyond the kept ones breaks the tie.
            ("0x1.00000000000008p0", 1.0, 20),
            ("0x1.000000000000080000001p0", 1.0000000000000002, 27),
            ("0x1.00000000000018p0", 1.0000000000000004, 20),
        ];
        for &(text, value, len) in cases {
            assert_eq!(
                parse_c_double(text.as_bytes()),
                Some((value, len)),
                "{text}"
            );
        }
        let (nan, len) = parse_c_double(b"nan(123)x").unwrap_or((0.0, 0));
        assert!(nan.is_nan() && len == 8);
        assert_eq!(parse_c_double(b"-"), None);
        assert_eq!(parse_c_double(b"."), None);
    }
}
