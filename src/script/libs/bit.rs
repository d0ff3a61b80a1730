//! `bit`: LuaBitOp 1.0.2, bitwise operations on 32-bit integers.
//!
//! Lua 5.1 numbers are doubles. LuaBitOp turns one into 32 bits by adding 2^52 + 2^51 and
//! keeping the low word of the sum, which rounds to the nearest integer (ties to even) and
//! wraps modulo 2^32; results come back as signed 32-bit values. We do the same addition, so
//! out-of-range numbers, NaN and infinities give the same bits as in Redis.

use mlua::{Lua, LuaString, MultiValue, Table, Value};

use super::Args;

/// The constant whose addition leaves a double's integer part in its low 32 bits.
const TO_BIT_BIAS: f64 = 6_755_399_441_055_744.0; // 2^52 + 2^51

pub(super) fn create_module(lua: &Lua) -> mlua::Result<Table> {
    let module = lua.create_table()?;
    module.raw_set("tobit", unary(lua, |bits| bits)?)?;
    module.raw_set("bnot", unary(lua, |bits| !bits)?)?;
    module.raw_set("band", fold(lua, |bits, other| bits & other)?)?;
    module.raw_set("bor", fold(lua, |bits, other| bits | other)?)?;
    module.raw_set("bxor", fold(lua, |bits, other| bits ^ other)?)?;
    module.raw_set("lshift", shift(lua, |bits, count| bits << count)?)?;
    module.raw_set("rshift", shift(lua, |bits, count| bits >> count)?)?;
    module.raw_set(
        "arshift",
        shift(lua, |bits, count| ((bits as i32) >> count) as u32)?,
    )?;
    module.raw_set("rol", shift(lua, u32::rotate_left)?)?;
    module.raw_set("ror", shift(lua, u32::rotate_right)?)?;
    module.raw_set("bswap", unary(lua, u32::swap_bytes)?)?;
    module.raw_set("tohex", lua.create_function(tohex)?)?;
    Ok(module)
}

/// An argument as 32 bits (`barg`): a number or numeric string, else a type error.
fn bit_argument(args: &Args, position: usize) -> mlua::Result<u32> {
    let number = args
        .to_number(position)
        .ok_or_else(|| args.type_error(position, "number"))?;
    Ok((number + TO_BIT_BIAS).to_bits() as u32)
}

/// Results are signed 32-bit integers (`BRET`).
fn bit_result(bits: u32) -> Value {
    Value::Integer(i64::from(bits as i32))
}

fn unary(lua: &Lua, operation: fn(u32) -> u32) -> mlua::Result<mlua::Function> {
    lua.create_function(move |lua, values: MultiValue| {
        let args = Args::new(lua, &values);
        Ok(bit_result(operation(bit_argument(&args, 1)?)))
    })
}

/// `band`, `bor`, `bxor`: the first argument combined with all others, which LuaBitOp
/// reads from the last to the second (so a bad argument is reported from the right).
fn fold(lua: &Lua, operation: fn(u32, u32) -> u32) -> mlua::Result<mlua::Function> {
    lua.create_function(move |lua, values: MultiValue| {
        let args = Args::new(lua, &values);
        let mut bits = bit_argument(&args, 1)?;
        for position in (2..=args.count()).rev() {
            bits = operation(bits, bit_argument(&args, position)?);
        }
        Ok(bit_result(bits))
    })
}

/// Shifts and rotations use the low five bits of the count, as the C shifts on x86 do.
fn shift(lua: &Lua, operation: fn(u32, u32) -> u32) -> mlua::Result<mlua::Function> {
    lua.create_function(move |lua, values: MultiValue| {
        let args = Args::new(lua, &values);
        let bits = bit_argument(&args, 1)?;
        let count = bit_argument(&args, 2)? & 31;
        Ok(bit_result(operation(bits, count)))
    })
}

/// `bit.tohex(x [, n])`: the low `|n|` hex digits of x (8 by default, at most 8), in upper
/// case when n is negative.
fn tohex(lua: &Lua, values: MultiValue) -> mlua::Result<LuaString> {
    let args = Args::new(lua, &values);
    let mut bits = bit_argument(&args, 1)?;
    let requested = if args.get(2).is_none() {
        8
    } else {
        bit_argument(&args, 2)? as i32
    };
    let (digit_count, digits) = match requested {
        // Negating i32::MIN overflows in C; the code gcc emits for Redis then prints eight
        // upper-case digits (observed on redis-server 7.0.15).
        i32::MIN => (8, b"0123456789ABCDEF"),
        count if count < 0 => (count.unsigned_abs().min(8) as usize, b"0123456789ABCDEF"),
        count => (count.min(8) as usize, b"0123456789abcdef"),
    };
    let mut text = [0u8; 8];
    for slot in text[..digit_count].iter_mut().rev() {
        *slot = digits[(bits & 15) as usize];
        bits >>= 4;
    }
    lua.create_string(&text[..digit_count])
}

#[cfg(test)]
mod tests {
    use super::super::testing::check_cases;

    /// Each snippet with redis-server 7.0.15's reply to it (see `testing::run` for the form).
    #[rustfmt::skip]
    const CASES: &[(&str, &str)] = &[
        // BEGIN GENERATED CASES
        (r#"assert(bit.tobit(1) == 1);
assert(bit.band(1) == 1);
assert(bit.bxor(1,2) == 3);
assert(bit.bor(1,2,4,8,16,32,64,128) == 255)
return "ok""#,
         r#"OK "ok""#),
        (r#"local keys = {} for k in pairs(bit) do keys[#keys+1] = k end table.sort(keys) return table.concat(keys, " ")"#,
         r#"OK "arshift band bnot bor bswap bxor lshift rol ror rshift tobit tohex""#),
        (r#"return bit.tobit(1), bit.tobit(-1), bit.tobit(2^31), bit.tobit(2^32), bit.tobit(2^32+5), bit.tobit(-2^31-1)"#,
         r#"OK 1, -1, -2147483648, 0, 5, 2147483647"#),
        (r#"return bit.tobit(0.5), bit.tobit(1.5), bit.tobit(2.5), bit.tobit(-0.5), bit.tobit(-1.5), bit.tobit(0.49999999)"#,
         r#"OK 0, 2, 2, 0, -2, 0"#),
        (r#"return bit.tobit(2^53), bit.tobit(2^60 + 2^40), bit.tobit(1e300), bit.tobit(0/0), bit.tobit(1/0), bit.tobit(-1/0)"#,
         r#"OK 0, 0, -2013235812, 0, 0, 0"#),
        (r#"return bit.tobit("10"), bit.tobit("0x10"), bit.tobit(" 12 "), bit.tobit("1e3"), bit.tobit(4294967295), bit.tobit(0xffffffff)"#,
         r#"OK 10, 16, 12, 1000, -1, -1"#),
        (r#"return bit.tobit("abc")"#,
         r#"ERR user_script:37: bad argument #1 to 'tobit' (number expected, got string)"#),
        (r#"return bit.tobit()"#,
         r#"ERR user_script:37: bad argument #1 to 'tobit' (number expected, got no value)"#),
        (r#"return bit.tobit(nil)"#,
         r#"ERR user_script:37: bad argument #1 to 'tobit' (number expected, got nil)"#),
        (r#"return bit.tobit({})"#,
         r#"ERR user_script:37: bad argument #1 to 'tobit' (number expected, got table)"#),
        (r#"return bit.tobit(true)"#,
         r#"ERR user_script:37: bad argument #1 to 'tobit' (number expected, got boolean)"#),
        (r#"return bit.bnot(0), bit.bnot(-1), bit.bnot(0x12345678), bit.bnot(2^32 + 1)"#,
         r#"OK -1, 0, -305419897, -2"#),
        (r#"return bit.band(0xff, 0x0f, 0x3), bit.bor(1, 2, 4), bit.bxor(0xff, 0x0f), bit.band(-1, 2^31), bit.bor(), 1"#,
         r#"ERR user_script:37: bad argument #1 to 'bor' (number expected, got no value)"#),
        (r#"return bit.band(1, "x", {})"#,
         r#"ERR user_script:37: bad argument #3 to 'band' (number expected, got table)"#),
        (r#"return bit.bor(1, 2, nil)"#,
         r#"ERR user_script:37: bad argument #3 to 'bor' (number expected, got nil)"#),
        (r#"return bit.bxor("3", "5"), bit.band(1.5, 3), bit.bor(-0.0)"#,
         r#"OK 6, 2, 0"#),
        (r#"return bit.lshift(1, 31), bit.lshift(1, 32), bit.lshift(1, 33), bit.lshift(1, -1), bit.lshift(0x80000000, 1)"#,
         r#"OK -2147483648, 1, 2, -2147483648, 0"#),
        (r#"return bit.rshift(-1, 1), bit.rshift(-1, 31), bit.rshift(256, 4), bit.rshift(1, 0), bit.rshift(-256, 36)"#,
         r#"OK 2147483647, 1, 16, 1, 268435440"#),
        (r#"return bit.arshift(-256, 4), bit.arshift(-1, 31), bit.arshift(256, 4), bit.arshift(0x80000000, 31), bit.arshift(-8, 2)"#,
         r#"OK -16, -1, 16, -1, -2"#),
        (r#"return bit.rol(0x12345678, 4), bit.ror(0x12345678, 4), bit.rol(1, 0), bit.ror(1, 32), bit.rol(-1, 7), bit.ror(1, 1)"#,
         r#"OK 591751041, -2128394905, 1, 1, -1, -2147483648"#),
        (r#"return bit.lshift(1)"#,
         r#"ERR user_script:37: bad argument #2 to 'lshift' (number expected, got no value)"#),
        (r#"return bit.rol(1, "x")"#,
         r#"ERR user_script:37: bad argument #2 to 'rol' (number expected, got string)"#),
        (r#"return bit.bswap(0x12345678), bit.bswap(-1), bit.bswap(1), bit.bswap(0x80)"#,
         r#"OK 2018915346, -1, 16777216, -2147483648"#),
        (r#"return bit.tohex(255), bit.tohex(-1), bit.tohex(255, 2), bit.tohex(255, -2), bit.tohex(0x1234abcd, 0)"#,
         r#"OK "000000ff", "ffffffff", "ff", "FF", """#),
        (r#"return bit.tohex(1, 100), bit.tohex(1, -100), bit.tohex(1, -2^31), bit.tohex(0xabcdef, "3"), bit.tohex(0xabcdef, -8)"#,
         r#"OK "00000001", "00000001", "00000001", "def", "00ABCDEF""#),
        (r#"return bit.tohex(0xabcdef, -2^31), bit.tohex(-908063.42344261, 2^31), bit.tohex(0xabcdef, 2^32 - 8)"#,
         r#"OK "00ABCDEF", "FFF224E1", "00ABCDEF""#),
        (r#"return bit.tohex(1, nil)"#,
         r#"ERR user_script:37: bad argument #2 to 'tohex' (number expected, got nil)"#),
        (r#"return bit:tobit()"#,
         r#"ERR user_script:37: calling 'tobit' on bad self (number expected, got table)"#),
        (r#"return bit.band(bit, 1)"#,
         r#"ERR user_script:37: bad argument #1 to 'band' (number expected, got table)"#),
        (r#"return pcall(bit.tobit, "x")"#,
         r#"OK false, "bad argument #1 to \x27?\x27 (number expected, got string)""#),
        (r#"local f = bit.bswap return f({})"#,
         r#"ERR user_script:37: bad argument #1 to 'f' (number expected, got table)"#),
        (r#"local co = coroutine.wrap(function() return bit.tobit(2^32 + 7), pcall(bit.tohex, {}) end) return co()"#,
         r#"OK 7, false, "bad argument #1 to \x27?\x27 (number expected, got table)""#),
        (r#"return bit.tohex()"#,
         r#"ERR user_script:37: bad argument #1 to 'tohex' (number expected, got no value)"#),
        (r#"return bit.tohex(2^32 + 0xbeef), bit.tohex("0x7f", 4), bit.tohex(0/0)"#,
         r#"OK "0000beef", "007f", "00000000""#),
        (r#"local x = 0 for i = 1, 100 do x = bit.bxor(bit.lshift(x, 1), bit.rshift(x, 3), i) end return x"#,
         r#"OK 1072301052"#),
        // END GENERATED CASES
    ];

    #[test]
    fn matches_redis_server() {
        check_cases(CASES);
    }
}
