//! `struct`: lua_struct 0.2, packing Lua values into binary strings and back.
//!
//! A format is a sequence of options: `<` `>` set little/big endian (native, little, by
//! default), `!n` sets the maximum alignment (8 without n), `b B h H l L T iN IN` are
//! signed/unsigned integers of 1, 2, 8, 8, 8, N (4 by default, at most 32) bytes, `f d` are
//! float and double, `cN` a string of N bytes (N = 0: the whole string when packing, the
//! previous result as length when unpacking), `s` a zero-terminated string, `x` a padding
//! byte, and spaces are ignored. Sizes and alignment follow the x86-64 C types Redis builds
//! with (`long` is 8 bytes), as do integer conversions of out-of-range numbers.

use mlua::{Lua, LuaString, MultiValue, Table, Value};

use super::{
    c_double_to_i64, c_double_to_u64, lua_error, lua_stack_has_room, lua_to_number,
    stack_overflow_error, Args,
};

/// The largest integer size a format may ask for (`MAXINTSIZE`).
const INTEGER_BYTES_MAX: usize = 32;

/// The default of `!`: the alignment of a double on x86-64 (`MAXALIGN`).
const ALIGNMENT_DEFAULT: usize = 8;

pub(super) fn create_module(lua: &Lua) -> mlua::Result<Table> {
    let module = lua.create_table()?;
    module.raw_set("pack", lua.create_function(pack)?)?;
    module.raw_set("unpack", lua.create_function(unpack)?)?;
    module.raw_set("size", lua.create_function(size)?)?;
    Ok(module)
}

#[derive(Clone, Copy, PartialEq)]
enum Endian {
    Little,
    Big,
}

/// Walks a format string the way all three functions do, tracking endianness and alignment.
struct Format<'a> {
    args: &'a Args<'a>,
    /// The format up to its first NUL: the C code reads it as a C string.
    bytes: &'a [u8],
    position: usize,
    endian: Endian,
    alignment: usize,
}

impl<'a> Format<'a> {
    fn new(args: &'a Args<'a>, format: &'a [u8]) -> Self {
        let end = format
            .iter()
            .position(|&byte| byte == 0)
            .unwrap_or(format.len());
        Format {
            args,
            bytes: &format[..end],
            position: 0,
            endian: Endian::Little,
            alignment: 1,
        }
    }

    fn next_option(&mut self) -> Option<u8> {
        let option = *self.bytes.get(self.position)?;
        self.position += 1;
        Some(option)
    }

    /// An optional decimal count after an option (`getnum`).
    fn count(&mut self, default: usize) -> mlua::Result<usize> {
        let mut count: i32 = 0;
        let mut digits = 0;
        while let Some(&digit @ b'0'..=b'9') = self.bytes.get(self.position) {
            let value = i32::from(digit - b'0');
            if count > i32::MAX / 10 || count * 10 > i32::MAX - value {
                return Err(lua_error(self.args.lua, "integral size overflow"));
            }
            count = count * 10 + value;
            self.position += 1;
            digits += 1;
        }
        Ok(if digits == 0 { default } else { count as usize })
    }

    /// The size in bytes an option takes (`optsize`); 0 for options that take no data.
    fn option_size(&mut self, option: u8) -> mlua::Result<usize> {
        Ok(match option {
            b'B' | b'b' | b'x' => 1,
            b'H' | b'h' => 2,
            b'L' | b'l' | b'T' | b'd' => 8,
            b'f' => 4,
            b'c' => self.count(1)?,
            b'i' | b'I' => {
                let size = self.count(4)?;
                if size > INTEGER_BYTES_MAX {
                    return Err(lua_error(
                        self.args.lua,
                        format!("integral size {size} is larger than limit of {INTEGER_BYTES_MAX}"),
                    ));
                }
                size
            }
            _ => 0,
        })
    }

    /// Padding needed before an item of `size` bytes at offset `offset` (`gettoalign`). The
    /// arithmetic wraps as the C `size_t` arithmetic does, odd sizes included.
    fn padding(&self, offset: usize, option: u8, size: usize) -> usize {
        if size == 0 || option == b'c' {
            return 0;
        }
        let size = size.min(self.alignment);
        size.wrapping_sub(offset & size.wrapping_sub(1)) & size.wrapping_sub(1)
    }

    /// Options that set state rather than take data (`controloptions`).
    fn control(&mut self, option: u8) -> mlua::Result<()> {
        match option {
            b' ' => {}
            b'>' => self.endian = Endian::Big,
            b'<' => self.endian = Endian::Little,
            b'!' => {
                let alignment = self.count(ALIGNMENT_DEFAULT)?;
                if !alignment.is_power_of_two() {
                    return Err(lua_error(
                        self.args.lua,
                        format!("alignment {alignment} is not a power of 2"),
                    ));
                }
                self.alignment = alignment;
            }
            other => {
                let option = String::from_utf8_lossy(&[other]).into_owned();
                return Err(self
                    .args
                    .error(1, &format!("invalid format option '{option}'")));
            }
        }
        Ok(())
    }
}

/// `struct.pack(format, ...)`.
fn pack(lua: &Lua, mut values: MultiValue) -> mlua::Result<LuaString> {
    let format_string = Args::new(lua, &values).string(1)?;
    // The C function pushes a nil after its arguments once it has the format, so a missing
    // argument reads as that nil ("got nil", not "got no value").
    values.push_back(Value::Nil);
    let args = Args::new(lua, &values);
    let format_bytes = format_string.as_bytes();
    let mut format = Format::new(&args, &format_bytes);
    let mut output: Vec<u8> = Vec::new();
    let mut next_argument = 2;
    while let Some(option) = format.next_option() {
        let mut size = format.option_size(option)?;
        let padding = format.padding(output.len(), option, size);
        output.resize(output.len() + padding, 0);
        match option {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let number = args.number(next_argument)?;
                next_argument += 1;
                put_integer(&mut output, number, format.endian, size);
            }
            b'x' => output.push(0),
            b'f' => {
                let number = args.number(next_argument)? as f32;
                next_argument += 1;
                put_bytes(&mut output, &number.to_le_bytes(), format.endian);
            }
            b'd' => {
                let number = args.number(next_argument)?;
                next_argument += 1;
                put_bytes(&mut output, &number.to_le_bytes(), format.endian);
            }
            b'c' | b's' => {
                let string = args.string(next_argument)?;
                next_argument += 1;
                let bytes = string.as_bytes();
                if size == 0 {
                    size = bytes.len();
                }
                if bytes.len() < size {
                    // The C code reports the position after the string's.
                    return Err(args.error(next_argument, "string too short"));
                }
                output.extend_from_slice(&bytes[..size]);
                if option == b's' {
                    output.push(0);
                }
            }
            other => format.control(other)?,
        }
    }
    lua.create_string(&output)
}

/// Appends the low `size` bytes of a number converted to a 64-bit integer; sizes beyond 8
/// bytes are padded with zeros (the C code shifts an unsigned 64-bit value).
fn put_integer(output: &mut Vec<u8>, number: f64, endian: Endian, size: usize) {
    let mut value = if number < 0.0 {
        c_double_to_i64(number) as u64
    } else {
        c_double_to_u64(number)
    };
    let start = output.len();
    for _ in 0..size {
        output.push((value & 0xff) as u8);
        value >>= 8;
    }
    if endian == Endian::Big {
        output[start..].reverse();
    }
}

/// Appends a value's little-endian bytes in the format's byte order.
fn put_bytes(output: &mut Vec<u8>, little_endian: &[u8], endian: Endian) {
    let start = output.len();
    output.extend_from_slice(little_endian);
    if endian == Endian::Big {
        output[start..].reverse();
    }
}

/// `struct.unpack(format, data [, init])`: the values, then the position after them.
fn unpack(lua: &Lua, values: MultiValue) -> mlua::Result<MultiValue> {
    let args = Args::new(lua, &values);
    let format_string = args.string(1)?;
    let data_string = args.string(2)?;
    let data_bytes = data_string.as_bytes();
    let data: &[u8] = &data_bytes;
    // The C code keeps the offset in a size_t, so a negative one wraps to a huge value and
    // fails the length checks below instead of this one.
    let start = args.opt_integer(3, 1)? as usize;
    if start == 0 {
        return Err(args.error(3, "offset must be 1 or greater"));
    }
    let format_bytes = format_string.as_bytes();
    let mut format = Format::new(&args, &format_bytes);
    let mut position = start - 1;
    let mut results: Vec<Value> = Vec::new();
    while let Some(option) = format.next_option() {
        let mut size = format.option_size(option)?;
        position = position.wrapping_add(format.padding(position, option, size));
        check_data_length(&args, data.len(), position, size)?;
        if !lua_stack_has_room(args.count() + results.len(), 2) {
            return Err(stack_overflow_error(lua, "too many results"));
        }
        match option {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let bytes = &data[position..position + size];
                let signed = option.is_ascii_lowercase();
                results.push(Value::Number(get_integer(bytes, format.endian, signed)));
            }
            b'x' => {}
            b'f' => {
                let bytes = read_array::<4>(&data[position..position + size], format.endian);
                results.push(Value::Number(f64::from(f32::from_le_bytes(bytes))));
            }
            b'd' => {
                let bytes = read_array::<8>(&data[position..position + size], format.endian);
                results.push(Value::Number(f64::from_le_bytes(bytes)));
            }
            b'c' => {
                if size == 0 {
                    size = previous_size(lua, &mut results)?;
                    check_data_length(&args, data.len(), position, size)?;
                }
                results.push(Value::String(
                    lua.create_string(&data[position..position + size])?,
                ));
            }
            b's' => {
                let rest = &data[position..];
                let end = rest
                    .iter()
                    .position(|&byte| byte == 0)
                    .ok_or_else(|| lua_error(lua, "unfinished string in data"))?;
                results.push(Value::String(lua.create_string(&rest[..end])?));
                size = end + 1;
            }
            other => format.control(other)?,
        }
        position = position.wrapping_add(size);
    }
    results.push(Value::Integer(position.wrapping_add(1) as i64));
    Ok(MultiValue::from_vec(results))
}

/// The check before each item: `size` bytes must fit in the data at `position`.
fn check_data_length(
    args: &Args,
    data_len: usize,
    position: usize,
    size: usize,
) -> mlua::Result<()> {
    if size <= data_len && position <= data_len - size {
        Ok(())
    } else {
        Err(args.error(2, "data string too short"))
    }
}

/// `c0` when unpacking: the previous result, which must be a number, gives the length and is
/// removed from the results.
fn previous_size(lua: &Lua, results: &mut Vec<Value>) -> mlua::Result<usize> {
    let number = results.last().and_then(|value| lua_to_number(lua, value));
    let number = number.ok_or_else(|| lua_error(lua, "format 'c0' needs a previous size"))?;
    results.pop();
    Ok(c_double_to_u64(number) as usize)
}

/// Reads an integer of any size as the C code does: into a 64-bit accumulator that keeps
/// only the last eight bytes read, then sign-extends with a mask whose shift count x86
/// takes modulo 64 (which is what sizes above 8 get).
fn get_integer(bytes: &[u8], endian: Endian, signed: bool) -> f64 {
    let mut value: u64 = 0;
    let mut accumulate = |byte: &u8| value = (value << 8) | u64::from(*byte);
    match endian {
        Endian::Big => bytes.iter().for_each(&mut accumulate),
        Endian::Little => bytes.iter().rev().for_each(&mut accumulate),
    }
    if !signed {
        return value as f64;
    }
    let shift = (bytes.len() as u32).wrapping_mul(8).wrapping_sub(1) & 63;
    let mask = u64::MAX << shift;
    if value & mask != 0 {
        value |= mask;
    }
    value as i64 as f64
}

/// `N` bytes of data in the format's byte order, as little-endian bytes.
fn read_array<const N: usize>(bytes: &[u8], endian: Endian) -> [u8; N] {
    let mut array = [0u8; N];
    array.copy_from_slice(&bytes[..N]);
    if endian == Endian::Big {
        array.reverse();
    }
    array
}

/// `struct.size(format)`: the bytes `pack` would produce; options without a fixed size are
/// errors, and unknown letters count as nothing.
fn size(lua: &Lua, values: MultiValue) -> mlua::Result<i64> {
    let args = Args::new(lua, &values);
    let format_string = args.string(1)?;
    let format_bytes = format_string.as_bytes();
    let mut format = Format::new(&args, &format_bytes);
    let mut total: usize = 0;
    while let Some(option) = format.next_option() {
        let size = format.option_size(option)?;
        total = total.wrapping_add(format.padding(total, option, size));
        if option == b's' {
            return Err(args.error(1, "option 's' has no fixed size"));
        }
        if option == b'c' && size == 0 {
            return Err(args.error(1, "option 'c0' has no fixed size"));
        }
        if !option.is_ascii_alphanumeric() {
            format.control(option)?;
        }
        total = total.wrapping_add(size);
    }
    Ok(total as i64)
}

#[cfg(test)]
mod tests {
    use super::super::testing::check_cases;

    /// Each snippet with redis-server 7.0.15's reply to it (see `testing::run` for the form).
    #[rustfmt::skip]
    const CASES: &[(&str, &str)] = &[
        // BEGIN GENERATED CASES
        (r#"local keys = {} for k in pairs(struct) do keys[#keys+1] = k end table.sort(keys) return table.concat(keys, " ")"#,
         r#"OK "pack size unpack""#),
        (r#"return hex(struct.pack("b", -1)), hex(struct.pack("B", 255)), hex(struct.pack("h", -2)), hex(struct.pack("H", 65535))"#,
         r#"OK "ff", "ff", "feff", "ffff""#),
        (r#"return hex(struct.pack("<i", 1)), hex(struct.pack(">i", 1)), hex(struct.pack("!i", 1)), hex(struct.pack("<I2", 0x1234)), hex(struct.pack(">I3", 0x123456))"#,
         r#"OK "01000000", "00000001", "01000000", "3412", "123456""#),
        (r#"return hex(struct.pack("<l", -1)), hex(struct.pack(">L", 2^40)), hex(struct.pack("T", 12)), hex(struct.pack("<i8", -2)), hex(struct.pack("<i16", -1)), hex(struct.pack(">i12", -3))"#,
         r#"OK "ffffffffffffffff", "0000010000000000", "0c00000000000000", "feffffffffffffff", "ffffffffffffffff0000000000000000", "00000000fffffffffffffffd""#),
        (r#"return hex(struct.pack("<b", 256)), hex(struct.pack("<b", 1.9)), hex(struct.pack("<b", -1.9)), hex(struct.pack("<B", -1)), hex(struct.pack("<h", 70000))"#,
         r#"OK "00", "01", "ff", "ff", "7011""#),
        (r#"return hex(struct.pack("<L", 0/0)), hex(struct.pack("<L", -(0/0))), hex(struct.pack("<L", 1/0)), hex(struct.pack("<L", -1/0))"#,
         r#"OK "0000000000000080", "0000000000000080", "0000000000000000", "0000000000000080""#),
        (r#"return hex(struct.pack("<L", 2^63)), hex(struct.pack("<L", 2^64)), hex(struct.pack("<L", 2^65)), hex(struct.pack("<l", -2^64)), hex(struct.pack("<L", 2^63+4096)), hex(struct.pack("<l", 2^63)), hex(struct.pack("<l", -2^63))"#,
         r#"OK "0000000000000080", "0000000000000000", "0000000000000000", "0000000000000080", "0010000000000080", "0000000000000080", "0000000000000080""#),
        (r#"return hex(struct.pack("<f", 1.5)), hex(struct.pack(">f", 1.5)), hex(struct.pack("<d", 0.1)), hex(struct.pack(">d", -2)), hex(struct.pack("f", 1e40)), hex(struct.pack("f", 0.1))"#,
         r#"OK "0000c03f", "3fc00000", "9a9999999999b93f", "c000000000000000", "0000807f", "cdcccc3d""#),
        (r#"return hex(struct.pack("c5", "hello world")), hex(struct.pack("c0", "abc")), hex(struct.pack("s", "abc")), hex(struct.pack("c", "xyz")), hex(struct.pack("s", ""))"#,
         r#"OK "68656c6c6f", "616263", "61626300", "78", "00""#),
        (r#"return struct.pack("c5", "ab")"#,
         r#"ERR user_script:37: bad argument #3 to 'pack' (string too short)"#),
        (r#"return struct.pack("i", "x")"#,
         r#"ERR user_script:37: bad argument #2 to 'pack' (number expected, got string)"#),
        (r#"return struct.pack("i")"#,
         r#"ERR user_script:37: bad argument #2 to 'pack' (number expected, got nil)"#),
        (r#"return struct.pack("s", {})"#,
         r#"ERR user_script:37: bad argument #2 to 'pack' (string expected, got table)"#),
        (r#"return hex(struct.pack("i", "12")), hex(struct.pack("c2", 123)), hex(struct.pack(7)), hex(struct.pack(""))"#,
         r#"ERR user_script:37: bad argument #1 to 'pack' (invalid format option '7')"#),
        (r#"return hex(struct.pack("!4 b i", 1, 2)), hex(struct.pack("!8 b d", 1, 2)), hex(struct.pack("!2 b i", 1, 2)), hex(struct.pack("! b h b l", 1, 2, 3, 4)), hex(struct.pack("b i", 1, 2))"#,
         r#"OK "0100000002000000", "01000000000000000000000000000040", "010002000000", "01000200030000000400000000000000", "0102000000""#),
        (r#"return hex(struct.pack("!8 b i3 b i5 b i7", 1, 2, 3, 4, 5, 6)), hex(struct.pack("!8 b c3 b", 1, "abc", 2)), hex(struct.pack("!8 bxxh", 1, 2)), hex(struct.pack("!8 b s h", 1, "z", 2))"#,
         r#"OK "01000002000003040000000005000006000000000000", "0161626302", "010000000200", "017a00000200""#),
        (r#"return struct.pack("!3 i", 1)"#,
         r#"ERR user_script:37: alignment 3 is not a power of 2"#),
        (r#"return struct.pack("!0 i", 1)"#,
         r#"ERR user_script:37: alignment 0 is not a power of 2"#),
        (r#"return struct.pack("z", 1)"#,
         r#"ERR user_script:37: bad argument #1 to 'pack' (invalid format option 'z')"#),
        (r#"return struct.pack("i33", 1)"#,
         r#"ERR user_script:37: integral size 33 is larger than limit of 32"#),
        (r#"return struct.pack("i99999999999", 1)"#,
         r#"ERR user_script:37: integral size overflow"#),
        (r#"return struct.pack("c2147483648", "x")"#,
         r#"ERR user_script:37: integral size overflow"#),
        (r#"return hex(struct.pack("i0", 5)), hex(struct.pack("<i1", -1)), hex(struct.pack("<I32", 1)), hex(struct.pack("x")), hex(struct.pack("b\0garbage", 1))"#,
         r#"OK "", "ff", "0100000000000000000000000000000000000000000000000000000000000000", "00", "01""#),
        (r#"return struct.pack("5", 1)"#,
         r#"ERR user_script:37: bad argument #1 to 'pack' (invalid format option '5')"#),
        (r#"return struct.unpack("<i", struct.pack("<i", -5))"#,
         r#"OK -5, 5"#),
        (r#"return struct.unpack("b B h H l L T", struct.pack("b B h H l L T", -1, 255, -2, 65535, -3, 2^40, 7))"#,
         r#"OK -1, 255, -2, 65535, -3, 1099511627776, 7, 31"#),
        (r#"return struct.unpack(">i3 <I3 !4 b i", "\255\255\254\1\2\3\9\0\0\0\1\0\0\0")"#,
         r#"OK -2, 197121, 9, 65536, 13"#),
        (r#"return struct.unpack("<i9", "\255\255\255\255\255\255\255\255\1")"#,
         r#"OK -1, 10"#),
        (r#"return struct.unpack("<i16", "\1\0\0\0\0\0\0\0\0\0\0\0\0\0\0\128")"#,
         r#"OK 1, 17"#),
        (r#"return struct.unpack("<i16", string.rep("\255", 16))"#,
         r#"OK -1, 17"#),
        (r#"return struct.unpack(">I16", "\1\2\3\4\5\6\7\8\9\10\11\12\13\14\15\16")"#,
         r#"OK 6.5134524249499622e+17, 17"#),
        (r#"return struct.unpack("<I8", "\255\255\255\255\255\255\255\255"), struct.unpack("<i8", "\0\0\0\0\0\0\0\128"), struct.unpack("<i0", "")"#,
         r#"OK 1.8446744073709552e+19, -9.2233720368547758e+18, 0, 1"#),
        (r#"return struct.unpack("<f >f d", struct.pack("<f >f d", 1.5, -0.25, 0.1))"#,
         r#"OK 1.5, -0.25, 0.10000000000000001, 17"#),
        (r#"return struct.unpack("f", struct.pack("f", 0.1)), struct.unpack("d", struct.pack("d", 1/0)), struct.unpack("d", struct.pack("d", -0.0))"#,
         r#"OK 0.10000000149011612, inf, 0, 9"#),
        (r#"return struct.unpack("c3 c0 s c", "abc\0\0\0hello\0xyz")"#,
         r#"ERR user_script:37: format 'c0' needs a previous size"#),
        (r#"return struct.unpack("b c0", "\3abcdef")"#,
         r#"OK "abc", 5"#),
        (r#"return struct.unpack("c1 c0", "3abcdef")"#,
         r#"OK "abc", 5"#),
        (r#"return struct.unpack("c0", "abc")"#,
         r#"ERR user_script:37: format 'c0' needs a previous size"#),
        (r#"return struct.unpack("c1 c0", "xabc")"#,
         r#"ERR user_script:37: format 'c0' needs a previous size"#),
        (r#"return struct.unpack("b c0", "\9abc")"#,
         r#"ERR user_script:37: bad argument #2 to 'unpack' (data string too short)"#),
        (r#"return struct.unpack("s", "abc")"#,
         r#"ERR user_script:37: unfinished string in data"#),
        (r#"return struct.unpack("i", "abc")"#,
         r#"ERR user_script:37: bad argument #2 to 'unpack' (data string too short)"#),
        (r#"return struct.unpack("b", "abc", 3), struct.unpack("b", "abc", 2.9)"#,
         r#"OK 99, 98, 3"#),
        (r#"return struct.unpack("b", "abc", 4)"#,
         r#"ERR user_script:37: bad argument #2 to 'unpack' (data string too short)"#),
        (r#"return struct.unpack("b", "abc", 0)"#,
         r#"ERR user_script:37: bad argument #3 to 'unpack' (offset must be 1 or greater)"#),
        (r#"return struct.unpack("b", "abc", -1)"#,
         r#"ERR user_script:37: bad argument #2 to 'unpack' (data string too short)"#),
        (r#"return struct.unpack("", "abc", -5), struct.unpack("", "abc", 100), struct.unpack("x", "ab", 2)"#,
         r#"OK -5, 100, 3"#),
        (r#"return struct.unpack("b", "abc", "2"), struct.unpack("b", "abc", nil)"#,
         r#"OK 98, 97, 2"#),
        (r#"return struct.unpack("b", "abc", "x")"#,
         r#"ERR user_script:37: bad argument #3 to 'unpack' (number expected, got string)"#),
        (r#"return struct.unpack("b", nil)"#,
         r#"ERR user_script:37: bad argument #2 to 'unpack' (string expected, got nil)"#),
        (r#"return struct.unpack("b")"#,
         r#"ERR user_script:37: bad argument #2 to 'unpack' (string expected, got no value)"#),
        (r#"return struct.unpack(123, "\1\2\3\4")"#,
         r#"ERR user_script:37: bad argument #1 to 'unpack' (invalid format option '1')"#),
        (r#"return struct.unpack("!4 b i x b", "\1\0\0\0\2\0\0\0\3\4")"#,
         r#"OK 1, 2, 4, 11"#),
        (r#"return struct.unpack("!8 b d", struct.pack("!8 b d", 7, 2.5))"#,
         r#"OK 7, 2.5, 17"#),
        (r#"return struct.unpack("q", "a")"#,
         r#"ERR user_script:37: bad argument #1 to 'unpack' (invalid format option 'q')"#),
        (r#"local ok, err = pcall(struct.unpack, string.rep("b", 8000), string.rep("a", 8000)) return ok, err"#,
         r#"OK false, "stack overflow (too many results)""#),
        (r##"return select("#", struct.unpack(string.rep("b", 7900), string.rep("a", 8000)))"##,
         r#"OK 7901"#),
        (r#"return struct.size("b"), struct.size("i"), struct.size("!8 b d"), struct.size("<i3 h"), struct.size("!4 b i x b"), struct.size("c10"), struct.size("")"#,
         r#"OK 1, 4, 16, 5, 10, 10, 0"#),
        (r#"return struct.size("s")"#,
         r#"ERR user_script:37: bad argument #1 to 'size' (option 's' has no fixed size)"#),
        (r#"return struct.size("c0")"#,
         r#"ERR user_script:37: bad argument #1 to 'size' (option 'c0' has no fixed size)"#),
        (r#"return struct.size("bzq"), struct.size("b5"), struct.size("!2 b h")"#,
         r#"OK 1, 1, 4"#),
        (r#"return struct.size("b!")"#,
         r#"OK 1"#),
        (r#"return struct.size("b%")"#,
         r#"ERR user_script:37: bad argument #1 to 'size' (invalid format option '%')"#),
        (r#"return struct.size("!6")"#,
         r#"ERR user_script:37: alignment 6 is not a power of 2"#),
        (r#"return struct.size("i40")"#,
         r#"ERR user_script:37: integral size 40 is larger than limit of 32"#),
        (r#"return struct.size()"#,
         r#"ERR user_script:37: bad argument #1 to 'size' (string expected, got no value)"#),
        (r#"return struct:size()"#,
         r#"ERR user_script:37: calling 'size' on bad self (string expected, got table)"#),
        (r#"local co = coroutine.wrap(function() return struct.unpack("<h", struct.pack("<h", -7)), pcall(struct.pack, "i", "x") end) return co()"#,
         r#"OK -7, false, "bad argument #2 to \x27?\x27 (number expected, got string)""#),
        (r#"return struct.pack()"#,
         r#"ERR user_script:37: bad argument #1 to 'pack' (string expected, got no value)"#),
        (r#"return hex(struct.pack(">!4 h c2 i", 1, "ab", 2)), struct.size(">!4 h c2 i")"#,
         r#"OK "0001616200000002", 8"#),
        // END GENERATED CASES
    ];

    #[test]
    fn matches_redis_server() {
        check_cases(CASES);
    }
}
