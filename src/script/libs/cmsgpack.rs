//! `cmsgpack`: lua_cmsgpack 0.4.0, MessagePack encoding of Lua values.
//!
//! Encoding picks the smallest integer format for numbers that are whole and fit in 64 bits,
//! a 32-bit float when the double survives the round trip through one, else a 64-bit float.
//! Strings always use the str formats (no bin). A table whose keys are exactly 1..n is an
//! array, anything else a map. Tables nested 16 deep are encoded as nil, which is how
//! circular references end. Everything else (functions, userdata, nil) is nil.
//!
//! Decoding accepts what encoding produces plus the fixed-size int formats; bin, ext and the
//! rest are "Bad data format". Unsigned 64-bit values above 2^63 come back negative, as in
//! the C library, which pushes them through a signed integer.

use mlua::{Lua, LuaString, MultiValue, Table, Value};

use super::{
    c_double_to_i32, c_double_to_i64, lua_error, lua_stack_has_room, runtime_error,
    stack_overflow_error, Args, ParkedValues,
};

/// Tables nested this deep encode as nil (`LUACMSGPACK_MAX_NESTING`).
const NESTING_MAX: usize = 16;

const NAME: &str = "cmsgpack";
const VERSION: &str = "lua-cmsgpack 0.4.0";
const COPYRIGHT: &str = "Copyright (C) 2012, Salvatore Sanfilippo";
const DESCRIPTION: &str = "MessagePack C implementation for Lua";

/// The `luaL_checkstack` message for running out of room while decoding.
const TOO_MANY_VALUES: &str =
    "too many return values at once; use unpack_one or unpack_limit instead.";

pub(super) fn create_module(lua: &Lua) -> mlua::Result<Table> {
    let module = lua.create_table()?;
    module.raw_set("pack", lua.create_function(pack)?)?;
    module.raw_set("unpack", lua.create_function(unpack)?)?;
    module.raw_set("unpack_one", lua.create_function(unpack_one)?)?;
    module.raw_set("unpack_limit", lua.create_function(unpack_limit)?)?;
    module.raw_set("_NAME", NAME)?;
    module.raw_set("_VERSION", VERSION)?;
    module.raw_set("_COPYRIGHT", COPYRIGHT)?;
    module.raw_set("_DESCRIPTION", DESCRIPTION)?;
    Ok(module)
}

/// `cmsgpack.pack(...)`: the encodings of all arguments, concatenated.
fn pack(lua: &Lua, values: MultiValue) -> mlua::Result<LuaString> {
    let args = Args::new(lua, &values);
    let argument_count = args.count();
    if argument_count == 0 {
        return Err(args.error(0, "MessagePack pack needs input."));
    }
    if !lua_stack_has_room(argument_count, argument_count) {
        return Err(args.error(0, "Too many arguments for MessagePack pack."));
    }
    let mut output = Vec::new();
    for (index, value) in values.iter().enumerate() {
        // The C code keeps each encoded argument on the stack until it concatenates them.
        let slots_used = argument_count + index;
        if !lua_stack_has_room(slots_used, 1) {
            return Err(stack_overflow_error(lua, "in function mp_check"));
        }
        encode_value(lua, &mut output, value, 0, slots_used + 1)?;
    }
    lua.create_string(&output)
}

/// Appends one value. `slots_used` counts the Lua stack slots the C encoder would hold at
/// this point, the value itself included. Recursion is bounded by `NESTING_MAX`.
fn encode_value(
    lua: &Lua,
    output: &mut Vec<u8>,
    value: &Value,
    level: usize,
    slots_used: usize,
) -> mlua::Result<()> {
    match value {
        Value::String(string) => encode_bytes(output, &string.as_bytes()),
        Value::Boolean(boolean) => output.push(if *boolean { 0xc3 } else { 0xc2 }),
        Value::Integer(integer) => encode_number(output, *integer as f64),
        Value::Number(number) => encode_number(output, *number),
        Value::Table(table) if level < NESTING_MAX => {
            encode_table(lua, output, table, level, slots_used)?
        }
        _ => output.push(0xc0),
    }
    Ok(())
}

fn encode_bytes(output: &mut Vec<u8>, bytes: &[u8]) {
    let len = bytes.len();
    if len < 32 {
        output.push(0xa0 | len as u8);
    } else if len <= 0xff {
        output.extend_from_slice(&[0xd9, len as u8]);
    } else if len <= 0xffff {
        output.push(0xda);
        output.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        output.push(0xdb);
        output.extend_from_slice(&(len as u32).to_be_bytes());
    }
    output.extend_from_slice(bytes);
}

/// Whole numbers that survive the C cast to int64 become integers, the rest floats.
fn encode_number(output: &mut Vec<u8>, number: f64) {
    let integer = c_double_to_i64(number);
    if !number.is_infinite() && integer as f64 == number {
        encode_integer(output, integer);
    } else {
        encode_float(output, number);
    }
}

fn encode_float(output: &mut Vec<u8>, number: f64) {
    let single = number as f32;
    if f64::from(single) == number {
        output.push(0xca);
        output.extend_from_slice(&single.to_be_bytes());
    } else {
        output.push(0xcb);
        output.extend_from_slice(&number.to_be_bytes());
    }
}

fn encode_integer(output: &mut Vec<u8>, integer: i64) {
    if integer >= 0 {
        if integer <= 127 {
            output.push(integer as u8);
        } else if integer <= 0xff {
            output.extend_from_slice(&[0xcc, integer as u8]);
        } else if integer <= 0xffff {
            output.push(0xcd);
            output.extend_from_slice(&(integer as u16).to_be_bytes());
        } else if integer <= 0xffff_ffff {
            output.push(0xce);
            output.extend_from_slice(&(integer as u32).to_be_bytes());
        } else {
            output.push(0xcf);
            output.extend_from_slice(&(integer as u64).to_be_bytes());
        }
    } else if integer >= -32 {
        output.push(integer as i8 as u8);
    } else if integer >= -128 {
        output.extend_from_slice(&[0xd0, integer as i8 as u8]);
    } else if integer >= -32768 {
        output.push(0xd1);
        output.extend_from_slice(&(integer as i16).to_be_bytes());
    } else if integer >= -2_147_483_648 {
        output.push(0xd2);
        output.extend_from_slice(&(integer as i32).to_be_bytes());
    } else {
        output.push(0xd3);
        output.extend_from_slice(&integer.to_be_bytes());
    }
}

/// Array and map headers share their layout: a fix form for up to 15 entries, then 16- and
/// 32-bit counts.
fn encode_header(output: &mut Vec<u8>, count: usize, fix_prefix: u8, prefix16: u8, prefix32: u8) {
    if count <= 15 {
        output.push(fix_prefix | count as u8);
    } else if count <= 0xffff {
        output.push(prefix16);
        output.extend_from_slice(&(count as u16).to_be_bytes());
    } else {
        output.push(prefix32);
        output.extend_from_slice(&(count as u32).to_be_bytes());
    }
}

fn encode_table(
    lua: &Lua,
    output: &mut Vec<u8>,
    table: &Table,
    level: usize,
    slots_used: usize,
) -> mlua::Result<()> {
    if !lua_stack_has_room(slots_used, 2) {
        return Err(stack_overflow_error(lua, "in function table_is_an_array"));
    }
    match array_length(table)? {
        Some(length) => {
            if !lua_stack_has_room(slots_used, 1) {
                return Err(stack_overflow_error(
                    lua,
                    "in function mp_encode_lua_table_as_array",
                ));
            }
            encode_header(output, length, 0x90, 0xdc, 0xdd);
            for index in 1..=length {
                let element: Value = table.raw_get(index)?;
                encode_value(lua, output, &element, level + 1, slots_used + 1)?;
            }
        }
        None => {
            if !lua_stack_has_room(slots_used, 3) {
                return Err(stack_overflow_error(
                    lua,
                    "in function mp_encode_lua_table_as_map",
                ));
            }
            let mut count = 0;
            table.for_each(|_: Value, _: Value| {
                count += 1;
                Ok(())
            })?;
            encode_header(output, count, 0x80, 0xde, 0xdf);
            // The C code pushes a copy of the key above the key and the value to encode it.
            for pair in table.pairs::<Value, Value>() {
                let (key, value) = pair?;
                encode_value(lua, output, &key, level + 1, slots_used + 3)?;
                encode_value(lua, output, &value, level + 1, slots_used + 2)?;
            }
        }
    }
    Ok(())
}

/// `Some(n)` when the keys are exactly 1..n (`table_is_an_array`): every key a number that
/// a C `int` holds exactly, positive, and as many keys as the largest one.
fn array_length(table: &Table) -> mlua::Result<Option<usize>> {
    let mut count: i64 = 0;
    let mut max: i32 = 0;
    for pair in table.pairs::<Value, Value>() {
        let (key, _) = pair?;
        let number = match key {
            Value::Integer(integer) => integer as f64,
            Value::Number(number) => number,
            _ => return Ok(None),
        };
        if number <= 0.0 || f64::from(c_double_to_i32(number)) != number {
            return Ok(None);
        }
        if number > f64::from(max) {
            max = c_double_to_i32(number);
        }
        count += 1;
    }
    Ok((i64::from(max) == count).then_some(count as usize))
}

/// `cmsgpack.unpack(data)`: every value in the data.
fn unpack(lua: &Lua, values: MultiValue) -> mlua::Result<MultiValue> {
    let args = Args::new(lua, &values);
    unpack_full(&args, 0, 0, args.count())
}

/// `cmsgpack.unpack_one(data [, offset])`: the offset after the first value at `offset`
/// (-1 at the end of the data), then that value.
fn unpack_one(lua: &Lua, values: MultiValue) -> mlua::Result<MultiValue> {
    let args = Args::new(lua, &values);
    let offset = args.opt_integer(2, 0)?;
    unpack_full(&args, 1, offset, 1)
}

/// `cmsgpack.unpack_limit(data, limit [, offset])`: like `unpack_one` for up to `limit`
/// values (all of them when both are 0, and then without the offset).
fn unpack_limit(lua: &Lua, values: MultiValue) -> mlua::Result<MultiValue> {
    let args = Args::new(lua, &values);
    let limit = args.integer(2)?;
    let offset = args.opt_integer(3, 0)?;
    unpack_full(&args, limit, offset, 1)
}

/// `mp_unpack_full`. `slots_used` is what the C function has on its stack before decoding:
/// `unpack` keeps all its arguments, the other two only the data.
fn unpack_full(
    args: &Args,
    limit: i64,
    offset: i64,
    slots_used: usize,
) -> mlua::Result<MultiValue> {
    let data_string = args.string(1)?;
    let data_bytes = data_string.as_bytes();
    let data: &[u8] = &data_bytes;
    let len = data.len();
    if offset < 0 || limit < 0 {
        return Err(lua_error(
            args.lua,
            format!(
                "Invalid request to unpack with offset of {} and limit of {}.",
                offset as i32, len as i32
            ),
        ));
    }
    if offset as u64 > len as u64 {
        return Err(lua_error(
            args.lua,
            format!(
                "Start offset {} greater than input length {}.",
                offset as i32, len as i32
            ),
        ));
    }
    let decode_all = limit == 0 && offset == 0;
    let limit = if decode_all {
        i64::from(i32::MAX)
    } else {
        limit
    };
    let mut decoder = Decoder {
        lua: args.lua,
        data,
        position: offset as usize,
    };
    let mut results = Vec::new();
    while decoder.position < len && (results.len() as i64) < limit {
        let value = decoder
            .decode(slots_used + results.len())
            .map_err(|error| error.into_lua(args.lua))?;
        results.push(value);
    }
    if !decode_all {
        if !lua_stack_has_room(slots_used + results.len(), 1) {
            return Err(stack_overflow_error(args.lua, "in function mp_unpack_full"));
        }
        let next_offset = if decoder.position == len {
            -1
        } else {
            decoder.position as i64
        };
        results.insert(0, Value::Integer(next_offset));
    }
    Ok(MultiValue::from_vec(results))
}

enum DecodeError {
    /// The data ends inside a value (`MP_CUR_ERROR_EOF`).
    MissingBytes,
    /// A type byte this library does not decode (`MP_CUR_ERROR_BADFMT`).
    BadFormat,
    Lua(mlua::Error),
}

impl DecodeError {
    fn into_lua(self, lua: &Lua) -> mlua::Error {
        match self {
            DecodeError::MissingBytes => lua_error(lua, "Missing bytes in input."),
            DecodeError::BadFormat => lua_error(lua, "Bad data format in input."),
            DecodeError::Lua(error) => error,
        }
    }
}

impl From<mlua::Error> for DecodeError {
    fn from(error: mlua::Error) -> Self {
        DecodeError::Lua(error)
    }
}

/// What one type byte and its payload stand for.
enum Item {
    Value(Value),
    Array(usize),
    Map(usize),
}

/// A container being filled. The container itself is the decoder's current table, or is
/// parked while a nested one is filled; a map's key waits in the parked values too.
enum Frame {
    Array {
        next_index: i32,
        remaining: usize,
    },
    /// `remaining` counts pairs; `has_key` says the key of the next pair is parked.
    Map {
        remaining: usize,
        has_key: bool,
    },
}

impl Frame {
    /// Stack slots the C decoder holds for this container while decoding its next element:
    /// the table and the index, or the table and, once decoded, the key.
    fn slots(&self) -> usize {
        match self {
            Frame::Array { .. } => 2,
            Frame::Map { has_key, .. } => 1 + usize::from(*has_key),
        }
    }
}

struct Decoder<'a> {
    lua: &'a Lua,
    data: &'a [u8],
    position: usize,
}

impl Decoder<'_> {
    /// Decodes one top-level value, nested containers included, without recursion: the
    /// containers being filled wait in a Lua table rather than on the Rust stack.
    fn decode(&mut self, slots_used: usize) -> Result<Value, DecodeError> {
        let mut frames: Vec<Frame> = Vec::new();
        let mut parked = ParkedValues::new(self.lua)?;
        let mut current: Option<Table> = None;
        // What the frames hold on the C decoder's stack, kept up to date as they change.
        let mut nesting_slots = 0;
        loop {
            let new_frame = match self.read_item(slots_used + nesting_slots)? {
                Item::Value(value) => Err(value),
                Item::Array(0) | Item::Map(0) => Err(Value::Table(self.lua.create_table()?)),
                Item::Array(count) => Ok(Frame::Array {
                    next_index: 1,
                    remaining: count,
                }),
                Item::Map(count) => Ok(Frame::Map {
                    remaining: count,
                    has_key: false,
                }),
            };
            let mut value = match new_frame {
                Err(value) => value,
                Ok(frame) => {
                    if let Some(parent) = current.take() {
                        parked.push(Value::Table(parent))?;
                    }
                    current = Some(self.lua.create_table()?);
                    nesting_slots += frame.slots();
                    frames.push(frame);
                    continue;
                }
            };
            // Store the value, closing every container it completes.
            loop {
                let (Some(frame), Some(table)) = (frames.last_mut(), current.as_ref()) else {
                    return Ok(value);
                };
                let slots_before = frame.slots();
                let complete = store(frame, table, &mut parked, value)?;
                nesting_slots = nesting_slots - slots_before + frame.slots();
                if !complete {
                    break;
                }
                nesting_slots -= frames.pop().map_or(0, |frame| frame.slots());
                value = current.take().map_or(Value::Nil, Value::Table);
                if !frames.is_empty() {
                    current = Some(parked.pop_table()?);
                }
            }
        }
    }

    /// Reads one type byte and the payload of scalars (`mp_decode_to_lua_type`).
    fn read_item(&mut self, slots_used: usize) -> Result<Item, DecodeError> {
        let type_byte = self.peek(1)?[0];
        if !lua_stack_has_room(slots_used, 1) {
            return Err(stack_overflow_error(self.lua, TOO_MANY_VALUES).into());
        }
        let item = match type_byte {
            0xcc => Item::Value(Value::Number(f64::from(self.take(2)?[1]))),
            0xd0 => Item::Value(Value::Number(f64::from(self.take(2)?[1] as i8))),
            0xcd => Item::Value(Value::Number(f64::from(u16::from_be_bytes(
                self.fixed::<2>()?,
            )))),
            0xd1 => Item::Value(Value::Number(f64::from(i16::from_be_bytes(
                self.fixed::<2>()?,
            )))),
            0xce => Item::Value(Value::Number(f64::from(u32::from_be_bytes(
                self.fixed::<4>()?,
            )))),
            0xd2 => Item::Value(Value::Number(f64::from(i32::from_be_bytes(
                self.fixed::<4>()?,
            )))),
            // Pushed as a signed Lua integer in C, so values above 2^63 turn negative.
            0xcf => Item::Value(Value::Number(
                u64::from_be_bytes(self.fixed::<8>()?) as i64 as f64
            )),
            0xd3 => Item::Value(Value::Number(i64::from_be_bytes(self.fixed::<8>()?) as f64)),
            0xc0 => self.single(Value::Nil),
            0xc3 => self.single(Value::Boolean(true)),
            0xc2 => self.single(Value::Boolean(false)),
            0xca => Item::Value(Value::Number(f64::from(f32::from_be_bytes(
                self.fixed::<4>()?,
            )))),
            0xcb => Item::Value(Value::Number(f64::from_be_bytes(self.fixed::<8>()?))),
            0xd9 => {
                let len = usize::from(self.peek(2)?[1]);
                self.string(2, len)?
            }
            0xda => {
                let len = usize::from(u16::from_be_bytes(self.peek_fixed::<2>()?));
                self.string(3, len)?
            }
            0xdb => {
                let len = u32::from_be_bytes(self.peek_fixed::<4>()?) as usize;
                self.string(5, len)?
            }
            0xdc => Item::Array(usize::from(u16::from_be_bytes(self.fixed::<2>()?))),
            0xdd => Item::Array(u32::from_be_bytes(self.fixed::<4>()?) as usize),
            0xde => Item::Map(usize::from(u16::from_be_bytes(self.fixed::<2>()?))),
            0xdf => Item::Map(u32::from_be_bytes(self.fixed::<4>()?) as usize),
            byte if byte & 0x80 == 0 => self.single(Value::Number(f64::from(byte))),
            byte if byte & 0xe0 == 0xe0 => self.single(Value::Number(f64::from(byte as i8))),
            byte if byte & 0xe0 == 0xa0 => self.string(1, usize::from(byte & 0x1f))?,
            byte if byte & 0xf0 == 0x90 => {
                self.single_container(Item::Array(usize::from(byte & 0x0f)))
            }
            byte if byte & 0xf0 == 0x80 => {
                self.single_container(Item::Map(usize::from(byte & 0x0f)))
            }
            _ => return Err(DecodeError::BadFormat),
        };
        if let Item::Array(_) = item {
            // The C decoder checks for one more slot once the array's table is pushed.
            if !lua_stack_has_room(slots_used + 1, 1) {
                return Err(
                    stack_overflow_error(self.lua, "in function mp_decode_to_lua_array").into(),
                );
            }
        }
        Ok(item)
    }

    /// The next `len` bytes, without consuming them.
    fn peek(&self, len: usize) -> Result<&[u8], DecodeError> {
        let rest = &self.data[self.position..];
        rest.get(..len).ok_or(DecodeError::MissingBytes)
    }

    /// Consumes `len` bytes.
    fn take(&mut self, len: usize) -> Result<&[u8], DecodeError> {
        let start = self.position;
        let end = start
            .checked_add(len)
            .filter(|&end| end <= self.data.len())
            .ok_or(DecodeError::MissingBytes)?;
        self.position = end;
        Ok(&self.data[start..end])
    }

    /// A type byte followed by an N-byte big-endian payload, consumed.
    fn fixed<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let bytes = self.take(1 + N)?;
        let mut payload = [0u8; N];
        payload.copy_from_slice(&bytes[1..]);
        Ok(payload)
    }

    /// The N-byte length after a type byte, not consumed.
    fn peek_fixed<const N: usize>(&self) -> Result<[u8; N], DecodeError> {
        let bytes = self.peek(1 + N)?;
        let mut payload = [0u8; N];
        payload.copy_from_slice(&bytes[1..]);
        Ok(payload)
    }

    fn single(&mut self, value: Value) -> Item {
        self.position += 1;
        Item::Value(value)
    }

    fn single_container(&mut self, item: Item) -> Item {
        self.position += 1;
        item
    }

    /// A string of `len` bytes after a header of `header_len` bytes.
    fn string(&mut self, header_len: usize, len: usize) -> Result<Item, DecodeError> {
        let lua = self.lua;
        let bytes = self.take(header_len.saturating_add(len))?;
        Ok(Item::Value(Value::String(
            lua.create_string(&bytes[header_len..])?,
        )))
    }
}

/// Puts a decoded value into the container being filled: the next array element, a map's
/// key (parked until its value arrives) or its value. True when the container is complete.
fn store(
    frame: &mut Frame,
    table: &Table,
    parked: &mut ParkedValues,
    value: Value,
) -> mlua::Result<bool> {
    match frame {
        Frame::Array {
            next_index,
            remaining,
        } => {
            table.raw_set(*next_index, value)?;
            *next_index = next_index.wrapping_add(1);
            *remaining -= 1;
            Ok(*remaining == 0)
        }
        Frame::Map { has_key, .. } if !*has_key => {
            parked.push(value)?;
            *has_key = true;
            Ok(false)
        }
        Frame::Map { remaining, has_key } => {
            set_map_entry(table, parked.pop()?, value)?;
            *has_key = false;
            *remaining -= 1;
            Ok(*remaining == 0)
        }
    }
}

/// `lua_settable` on a fresh table: nil and NaN keys are errors, nil values still go through
/// the table (creating the slot, as in C, so that table sizes come out the same).
fn set_map_entry(table: &Table, key: Value, value: Value) -> mlua::Result<()> {
    match key {
        Value::Nil => Err(runtime_error("table index is nil")),
        Value::Number(number) if number.is_nan() => Err(runtime_error("table index is NaN")),
        key => table.raw_set(key, value),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::check_cases;

    /// Each snippet with redis-server 7.0.15's reply to it (see `testing::run` for the form).
    #[rustfmt::skip]
    const CASES: &[(&str, &str)] = &[
        // BEGIN GENERATED CASES
        (r#"local encoded = cmsgpack.pack(0.1)
local h = ""
for i = 1, #encoded do
    h = h .. string.format("%02x",string.byte(encoded,i))
end
return h"#,
         r#"OK "cb3fb999999999999a""#),
        (r#"local encoded = cmsgpack.pack(-1099511627776)
local h = ""
for i = 1, #encoded do
    h = h .. string.format("%02x",string.byte(encoded,i))
end
return h"#,
         r#"OK "d3ffffff0000000000""#),
        (r#"local str_lt_32 = string.rep("x", 30)
local str_lt_255 = string.rep("x", 250)
local str_lt_65535 = string.rep("x", 65530)
local str_long = string.rep("x", 100000)
local array_lt_15 = {1, 2, 3, 4, 5}
local array_lt_65535 = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18}
local array_big = {}
for i=1, 100000 do
    array_big[i] = i
end
local map_lt_15 = {a=1, b=2}
local map_big = {}
for i=1, 100000 do
    map_big[tostring(i)] = i
end
local some_map = {
    s1=str_lt_32,
    s2=str_lt_255,
    s3=str_lt_65535,
    s4=str_long,
    d1=0.1,
    i1=1,
    i2=250,
    i3=65530,
    i4=100000,
    i5=2^40,
    i6=-1,
    i7=-120,
    i8=-32000,
    i9=-100000,
    i10=-3147483648,
    a1=array_lt_15,
    a2=array_lt_65535,
    a3=array_big,
    m1=map_lt_15,
    m2=map_big,
    b1=false,
    b2=true,
    n=nil
}
local encoded = cmsgpack.pack(some_map)
local decoded = cmsgpack.unpack(encoded)
assert(table.concat(some_map) == table.concat(decoded))
local offset, decoded_one = cmsgpack.unpack_one(encoded, 0)
assert(table.concat(some_map) == table.concat(decoded_one))
assert(offset == -1)
local encoded_multiple = cmsgpack.pack(str_lt_32, str_lt_255, str_lt_65535, str_long)
local offset, obj = cmsgpack.unpack_limit(encoded_multiple, 1, 0)
assert(obj == str_lt_32)
offset, obj = cmsgpack.unpack_limit(encoded_multiple, 1, offset)
assert(obj == str_lt_255)
offset, obj = cmsgpack.unpack_limit(encoded_multiple, 1, offset)
assert(obj == str_lt_65535)
offset, obj = cmsgpack.unpack_limit(encoded_multiple, 1, offset)
assert(obj == str_long)
assert(offset == -1)
return #encoded, decoded.a3[100000], decoded.m2["77777"], decoded.i10, decoded.i5"#,
         r#"OK 1491977, 100000, 77777, -3147483648, 1099511627776"#),
        (r#"local a = {x=nil,y=5}
local b = {x=a}
a['x'] = b
local encoded = cmsgpack.pack(a)
local h = ""
for i = 1, #encoded do
    h = h .. string.format("%02x",string.byte(encoded,i))
end
local re = cmsgpack.unpack(encoded)
assert(re)
assert(re.x)
assert(re.x.x.y == re.y)
assert(re.x.x.x.x.y == re.y)
assert(re.x.x.x.x.x.x.y == re.y)
assert(re.x.x.x.x.x.x.x.x.x.x.y == re.y)
assert(re.x.x.x.x.x.x.x.x.x.x.x.x.x.x.y == re.y)
assert(re.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x)
assert(re.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x == nil)
return {h, re.x.x.x.x.x.x.x.x.y == re.y, re.y == 5}"#,
         r#"OK {1="82a17905a17881a17882a17905a17881a17882a17905a17881a17882a17905a17881a17882a17905a17881a17882a17905a17881a17882a17905a17881a17882a17905a17881a178c0",2=true,3=true}"#),
        (r#"local keys = {} for k, v in pairs(cmsgpack) do keys[#keys+1] = k .. ":" .. tostring(type(v) == "string" and v or type(v)) end table.sort(keys) return table.concat(keys, "|")"#,
         r#"OK "_COPYRIGHT:Copyright (C) 2012, Salvatore Sanfilippo|_DESCRIPTION:MessagePack C implementation for Lua|_NAME:cmsgpack|_VERSION:lua-cmsgpack 0.4.0|pack:function|unpack:function|unpack_limit:function|unpack_one:function""#),
        (r#"return hex(cmsgpack.pack(0, 1, 127, 128, 255, 256, 65535, 65536, 4294967295, 4294967296, 2^53, 2^62))"#,
         r#"OK "00017fcc80ccffcd0100cdffffce00010000ceffffffffcf0000000100000000cf0020000000000000cf4000000000000000""#),
        (r#"return hex(cmsgpack.pack(-1, -32, -33, -128, -129, -32768, -32769, -2147483648, -2147483649, -2^53, -2^63))"#,
         r#"OK "ffe0d0dfd080d1ff7fd18000d2ffff7fffd280000000d3ffffffff7fffffffd3ffe0000000000000d38000000000000000""#),
        (r#"return hex(cmsgpack.pack(2^63)), hex(cmsgpack.pack(2^64)), hex(cmsgpack.pack(-2^64)), hex(cmsgpack.pack(-0.0)), hex(cmsgpack.pack(2^63 - 1024))"#,
         r#"OK "ca5f000000", "ca5f800000", "cadf800000", "00", "cf7ffffffffffffc00""#),
        (r#"return hex(cmsgpack.pack(0.5, 1.5, -2.25, 0.1, 3.14, 1e10 + 0.5, 1e300, -1e-300, 1/3))"#,
         r#"OK "ca3f000000ca3fc00000cac0100000cb3fb999999999999acb40091eb851eb851fcb4202a05f20040000cb7e37e43c8800759ccb81a56e1fc2f8f359cb3fd5555555555555""#),
        (r#"return hex(cmsgpack.pack(1/0)), hex(cmsgpack.pack(-1/0)), hex(cmsgpack.pack(0/0)), hex(cmsgpack.pack(3.4028234663852886e38)), hex(cmsgpack.pack(1e-45)), hex(cmsgpack.pack(2^-149))"#,
         r#"OK "ca7f800000", "caff800000", "cbfff8000000000000", "ca7f7fffff", "cb3696d601ad376ab9", "ca00000001""#),
        (r#"return hex(cmsgpack.pack("", "a", string.rep("b", 31))), hex(cmsgpack.pack(true, false, nil, cjson.null))"#,
         r#"OK "a0a161bf62626262626262626262626262626262626262626262626262626262626262", "c3c2c0c0""#),
        (r#"return hex(string.sub(cmsgpack.pack(string.rep("c", 32)), 1, 4)), hex(string.sub(cmsgpack.pack(string.rep("c", 255)), 1, 4)), hex(string.sub(cmsgpack.pack(string.rep("c", 256)), 1, 4)), hex(string.sub(cmsgpack.pack(string.rep("c", 65535)), 1, 4)), hex(string.sub(cmsgpack.pack(string.rep("c", 65536)), 1, 6))"#,
         r#"OK "d9206363", "d9ff6363", "da010063", "daffff63", "db0001000063""#),
        (r#"return hex(cmsgpack.pack(tostring)), hex(cmsgpack.pack(coroutine.create(function() end))), hex(cmsgpack.pack("\0\255"))"#,
         r#"OK "c0", "c0", "a200ff""#),
        (r#"return hex(cmsgpack.pack({})), hex(cmsgpack.pack({1, 2, 3})), hex(cmsgpack.pack({a = 1})), hex(cmsgpack.pack({[1] = 1, [3] = 3})), hex(cmsgpack.pack({nil, 2}))"#,
         r#"OK "90", "93010203", "81a16101", "8201010303", "810202""#),
        (r#"return hex(cmsgpack.pack({[1.5] = 1})), hex(cmsgpack.pack({[0] = 1})), hex(cmsgpack.pack({[-1] = 1})), hex(cmsgpack.pack({[2^31] = 1})), hex(cmsgpack.pack({[true] = false}))"#,
         r#"OK "81ca3fc0000001", "810001", "81ff01", "81ce8000000001", "81c3c2""#),
        (r#"local t = {} for i = 1, 15 do t[i] = i end local u = {} for i = 1, 16 do u[i] = i end return hex(string.sub(cmsgpack.pack(t), 1, 3)), hex(string.sub(cmsgpack.pack(u), 1, 4))"#,
         r#"OK "9f0102", "dc001001""#),
        (r#"local t = {} for i = 1, 65536 do t[i] = 0 end return hex(string.sub(cmsgpack.pack(t), 1, 6)), #cmsgpack.pack(t)"#,
         r#"OK "dd0001000000", 65541"#),
        (r#"local t = {} for i = 1, 16 do t["k" .. i] = i end local p = cmsgpack.pack(t) return hex(string.sub(p, 1, 3)), #p"#,
         r#"OK "de0010", 74"#),
        (r#"local t = {} for i = 1, 70000 do t["k" .. i] = true end local p = cmsgpack.pack(t) return hex(string.sub(p, 1, 5)), #p"#,
         r#"OK "df00011170", 548899"#),
        (r#"return hex(cmsgpack.pack({{{{{{{{{{{{{{{{{{{{1}}}}}}}}}}}}}}}}}}}}))"#,
         r#"OK "91919191919191919191919191919191c0""#),
        (r#"local t = {} t[1] = t return hex(cmsgpack.pack(t))"#,
         r#"OK "91919191919191919191919191919191c0""#),
        (r#"local t = {} t.a = t return hex(cmsgpack.pack(t))"#,
         r#"OK "81a16181a16181a16181a16181a16181a16181a16181a16181a16181a16181a16181a16181a16181a16181a16181a161c0""#),
        (r#"local t = {} t[t] = 1 return #cmsgpack.pack(t)"#,
         r#"OK 33"#),
        (r#"return cmsgpack.pack()"#,
         r#"ERR user_script:37: bad argument #0 to 'pack' (MessagePack pack needs input.)"#),
        (r#"return #cmsgpack.pack(unpack((function() local t = {} for i = 1, 4000 do t[i] = i end return t end)()))"#,
         r#"OK 11618"#),
        (r#"return cmsgpack.pack(unpack((function() local t = {} for i = 1, 4001 do t[i] = i end return t end)()))"#,
         r#"ERR user_script:37: bad argument #0 to 'pack' (Too many arguments for MessagePack pack.)"#),
        (r#"return cmsgpack.unpack(cmsgpack.pack(0, 1, 127, 128, 255, 256, 65535, 65536, 4294967295, 4294967296, 2^53))"#,
         r#"OK 0, 1, 127, 128, 255, 256, 65535, 65536, 4294967295, 4294967296, 9007199254740992"#),
        (r#"return cmsgpack.unpack(cmsgpack.pack(-1, -32, -33, -128, -129, -32768, -32769, -2147483648, -2147483649, -2^53, -2^63))"#,
         r#"OK -1, -32, -33, -128, -129, -32768, -32769, -2147483648, -2147483649, -9007199254740992, -9.2233720368547758e+18"#),
        (r#"return cmsgpack.unpack(cmsgpack.pack(0.5, -2.25, 0.1, 3.14, 1e300, 1/0, -1/0))"#,
         r#"OK 0.5, -2.25, 0.10000000000000001, 3.1400000000000001, 1.0000000000000001e+300, inf, -inf"#),
        (r#"local x = cmsgpack.unpack(cmsgpack.pack(0/0)) return x ~= x"#,
         r#"OK true"#),
        (r#"return cmsgpack.unpack("\207\255\255\255\255\255\255\255\255"), cmsgpack.unpack("\207\128\0\0\0\0\0\0\0"), cmsgpack.unpack("\211\255\255\255\255\255\255\255\254")"#,
         r#"OK -1, -9.2233720368547758e+18, -2"#),
        (r#"return cmsgpack.unpack("\204\200\208\200\205\255\254\209\255\254\206\255\255\255\254\210\255\255\255\254")"#,
         r#"OK 200, -56, 65534, -2, 4294967294, -2"#),
        (r#"return cmsgpack.unpack("\202\63\192\0\0\203\63\248\0\0\0\0\0\0")"#,
         r#"OK 1.5, 1.5"#),
        (r#"return cmsgpack.unpack("\192\194\195\160\161a\217\3abc\218\0\2de\219\0\0\0\1f")"#,
         r#"OK nil, false, true, "", "a", "abc", "de", "f""#),
        (r#"return cmsgpack.unpack("\224\255\127\0")"#,
         r#"OK -32, -1, 127, 0"#),
        (r#"return cmsgpack.unpack("\145\1\146\2\3\144\128\129\161a\1\220\0\2\1\2\221\0\0\0\1\7\222\0\1\1\2\223\0\0\0\1\3\4")"#,
         r#"OK {1=1}, {1=2,2=3}, {}, {}, {"a"=1}, {1=1,2=2}, {1=7}, {1=2}, {3=4}"#),
        (r#"return cmsgpack.unpack("\147\192\192\3"), #cmsgpack.unpack("\147\192\192\3"), #cmsgpack.unpack("\147\1\192\3")"#,
         r#"OK {3=3}, 0, 1"#),
        (r#"return cmsgpack.unpack("\130\1\192\2\3")"#,
         r#"OK {2=3}"#),
        (r#"return cmsgpack.unpack("\129\192\1")"#,
         r#"ERR table index is nil"#),
        (r#"return cmsgpack.unpack("\129\202\127\192\0\0\1")"#,
         r#"ERR table index is NaN"#),
        (r#"return cmsgpack.unpack("\129\145\1\2")"#,
         r#"OK {{1=1}=2}"#),
        (r#"return cmsgpack.unpack("")"#,
         r#"OK "#),
        (r##"return select("#", cmsgpack.unpack(""))"##,
         r#"OK 0"#),
        (r#"return cmsgpack.unpack("\193")"#,
         r#"ERR user_script:37: Bad data format in input."#),
        (r#"return cmsgpack.unpack("\196\1a")"#,
         r#"ERR user_script:37: Bad data format in input."#),
        (r#"return cmsgpack.unpack("\1\2\199")"#,
         r#"ERR user_script:37: Bad data format in input."#),
        (r#"return cmsgpack.unpack("\205\1")"#,
         r#"ERR user_script:37: Missing bytes in input."#),
        (r#"return cmsgpack.unpack("\217\5abc")"#,
         r#"ERR user_script:37: Missing bytes in input."#),
        (r#"return cmsgpack.unpack("\219\255\255\255\255")"#,
         r#"ERR user_script:37: Missing bytes in input."#),
        (r#"return cmsgpack.unpack("\221\255\255\255\255")"#,
         r#"ERR user_script:37: Missing bytes in input."#),
        (r#"return cmsgpack.unpack("\223\255\255\255\255\1")"#,
         r#"ERR user_script:37: Missing bytes in input."#),
        (r#"return cmsgpack.unpack("\146\1")"#,
         r#"ERR user_script:37: Missing bytes in input."#),
        (r#"return cmsgpack.unpack("\129\1")"#,
         r#"ERR user_script:37: Missing bytes in input."#),
        (r#"return cmsgpack.unpack("\146\1\193")"#,
         r#"ERR user_script:37: Bad data format in input."#),
        (r#"return cmsgpack.unpack()"#,
         r#"ERR user_script:37: bad argument #1 to 'unpack' (string expected, got no value)"#),
        (r#"return cmsgpack.unpack({})"#,
         r#"ERR user_script:37: bad argument #1 to 'unpack' (string expected, got table)"#),
        (r#"return cmsgpack.unpack(12)"#,
         r#"OK 49, 50"#),
        (r#"return cmsgpack.unpack("\1", "ignored")"#,
         r#"OK 1"#),
        (r#"local p = cmsgpack.pack(1, "two", {3}) return cmsgpack.unpack_one(p), cmsgpack.unpack_one(p, 1), cmsgpack.unpack_one(p, 5), cmsgpack.unpack_one(p, #p)"#,
         r#"OK 1, 5, -1, -1"#),
        (r#"local p = cmsgpack.pack(1, 2, 3, 4) return cmsgpack.unpack_limit(p, 2), cmsgpack.unpack_limit(p, 2, 2), cmsgpack.unpack_limit(p, 10, 1), cmsgpack.unpack_limit(p, 0, 0)"#,
         r#"OK 2, -1, -1, 1, 2, 3, 4"#),
        (r#"local p = cmsgpack.pack(1, 2, 3, 4) return cmsgpack.unpack_limit(p, 0, 1), cmsgpack.unpack_limit(p, 0, 4), cmsgpack.unpack_one(p, "2"), cmsgpack.unpack_one(p, 1.9)"#,
         r#"OK 1, -1, 3, 2, 2"#),
        (r#"return cmsgpack.unpack_one("\1\2", -1)"#,
         r#"ERR user_script:37: Invalid request to unpack with offset of -1 and limit of 2."#),
        (r#"return cmsgpack.unpack_limit("\1\2", -1)"#,
         r#"ERR user_script:37: Invalid request to unpack with offset of 0 and limit of 2."#),
        (r#"return cmsgpack.unpack_limit("\1\2", 1, 3)"#,
         r#"ERR user_script:37: Start offset 3 greater than input length 2."#),
        (r#"return cmsgpack.unpack_one("\1\2", 2^32 + 5)"#,
         r#"ERR user_script:37: Start offset 5 greater than input length 2."#),
        (r#"return cmsgpack.unpack_one("\1\2", "x")"#,
         r#"ERR user_script:37: bad argument #2 to 'unpack_one' (number expected, got string)"#),
        (r#"return cmsgpack.unpack_one({}, "x")"#,
         r#"ERR user_script:37: bad argument #2 to 'unpack_one' (number expected, got string)"#),
        (r#"return cmsgpack.unpack_limit("\1\2")"#,
         r#"ERR user_script:37: bad argument #2 to 'unpack_limit' (number expected, got no value)"#),
        (r#"return cmsgpack.unpack_limit("\1\2", {})"#,
         r#"ERR user_script:37: bad argument #2 to 'unpack_limit' (number expected, got table)"#),
        (r#"return cmsgpack.unpack_one()"#,
         r#"ERR user_script:37: bad argument #1 to 'unpack_one' (string expected, got no value)"#),
        (r#"return cmsgpack.unpack_one("\146\1")"#,
         r#"ERR user_script:37: Missing bytes in input."#),
        (r#"return cmsgpack:pack()"#,
         r#"OK "\x88\xac_DESCRIPTION\xd9$MessagePack C implementation for Lua\xa4pack\xc0\xa5_NAME\xa8cmsgpack\xa6unpack\xc0\xaa_COPYRIGHT\xd9(Copyright (C) 2012, Salvatore Sanfilippo\xa8_VERSION\xb2lua-cmsgpack 0.4.0\xaaunpack_one\xc0\xacunpack_limit\xc0""#),
        (r#"return cmsgpack:unpack()"#,
         r#"ERR user_script:37: calling 'unpack' on bad self (string expected, got table)"#),
        (r#"local co = coroutine.wrap(function() return cmsgpack.unpack(cmsgpack.pack({1, {a = 2}})), pcall(cmsgpack.unpack, "\193") end) return co()"#,
         r#"OK {1=1,2={"a"=2}}, false, "Bad data format in input.""#),
        (r##"return select("#", cmsgpack.unpack(string.rep("\1", 7900)))"##,
         r#"OK 7900"#),
        (r#"return cmsgpack.unpack(string.rep("\1", 8000))"#,
         r#"ERR user_script:37: stack overflow (too many return values at once; use unpack_one or unpack_limit instead.)"#),
        (r##"return select("#", cmsgpack.unpack_limit(string.rep("\1", 9000), 7900))"##,
         r#"OK 7901"#),
        (r#"local t = cmsgpack.unpack(string.rep("\145", 3998) .. "\1") local d = 0 while type(t) == "table" do d = d + 1 t = t[1] end return d, t"#,
         r#"OK 3998, 1"#),
        (r#"return cmsgpack.unpack(string.rep("\145", 3999) .. "\1")"#,
         r#"OK {1={1={1={1={1={1={1={1={1={1={1={1={1={1={1={1={1={1={1={1={1={1={1={1={1={1={1={1={1={1={1={1={1={1={1={1={1={1={1={1={1={...}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}"#),
        (r#"return cmsgpack.unpack(string.rep("\145", 100000))"#,
         r#"ERR user_script:37: stack overflow (in function mp_decode_to_lua_array)"#),
        (r#"local t = cmsgpack.unpack(string.rep("\129\161k", 3998) .. "\1") local d = 0 while type(t) == "table" do d = d + 1 t = t.k end return d, t"#,
         r#"OK 3998, 1"#),
        (r#"return cmsgpack.unpack(string.rep("\129\161k", 3999) .. "\1")"#,
         r#"OK {"k"={"k"={"k"={"k"={"k"={"k"={"k"={"k"={"k"={"k"={"k"={"k"={"k"={"k"={"k"={"k"={"k"={"k"={"k"={"k"={"k"={"k"={"k"={"k"={"k"={"k"={"k"={"k"={"k"={"k"={"k"={"k"={"k"={"k"={"k"={"k"={"k"={"k"={"k"={"k"={"k"={...}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}"#),
        (r#"return cmsgpack.unpack(string.rep("\129", 100000))"#,
         r#"ERR user_script:37: stack overflow (too many return values at once; use unpack_one or unpack_limit instead.)"#),
        (r#"return cmsgpack.unpack(string.rep("\129\1", 5000))"#,
         r#"ERR user_script:37: stack overflow (too many return values at once; use unpack_one or unpack_limit instead.)"#),
        (r#"local t = {1, "a", {b = {c = {true, false}}, d = -1.5}, 2^40} return cmsgpack.unpack(cmsgpack.pack(t))"#,
         r#"OK {1=1,2="a",3={"b"={"c"={1=true,2=false}},"d"=-1.5},4=1099511627776}"#),
        (r#"local x = {} for i = 1, 100 do x[i] = {i, tostring(i), i / 3} end local y = cmsgpack.unpack(cmsgpack.pack(x)) return #y, y[50][1], y[50][2], y[50][3]"#,
         r#"OK 100, 50, "50", 16.666666666666668"#),
        // END GENERATED CASES
    ];

    #[test]
    fn matches_redis_server() {
        check_cases(CASES);
    }

    /// The deepest data Redis decodes (3998 nested arrays or maps; see the cases above)
    /// decodes without deep recursion.
    #[test]
    fn deep_nesting_fits_a_small_stack() {
        let body = r#"
local arrays = cmsgpack.unpack(string.rep("\145", 3998) .. "\1")
local maps = cmsgpack.unpack(string.rep("\129\161k", 3998) .. "\1")
local depth = 0 while type(arrays) == "table" do depth = depth + 1 arrays = arrays[1] end
while type(maps) == "table" do depth = depth + 1 maps = maps.k end
local ok, err = pcall(cmsgpack.unpack, string.rep("\145", 1000000))
return depth, arrays, maps, ok, err"#;
        assert_eq!(
            super::super::testing::run_on_small_stack(body),
            r#"OK 7996, 1, 1, false, "stack overflow (in function mp_decode_to_lua_array)""#
        );
    }
}
