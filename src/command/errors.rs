//! Error replies whose text clients and tools match on, byte for byte as
//! Redis 7.0 sends them.

use crate::protocol::Reply;

pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
pub const SYNTAX: &str = "ERR syntax error";
pub const NOT_INTEGER: &str = "ERR value is not an integer or out of range";
pub const NOT_FLOAT: &str = "ERR value is not a valid float";
pub const NO_SUCH_KEY: &str = "ERR no such key";
pub const OVERFLOW: &str = "ERR increment or decrement would overflow";
pub const STRING_TOO_LONG: &str = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
pub const NOAUTH: &str = "NOAUTH Authentication required.";
pub const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

pub fn wrong_arity(fullname: &str) -> Reply {
    Reply::error_owned(format!(
        "ERR wrong number of arguments for '{fullname}' command"
    ))
}

pub fn invalid_expire(command: &str) -> Reply {
    Reply::error_owned(format!("ERR invalid expire time in '{command}' command"))
}

/// `ERR unknown command 'FOO', with args beginning with: 'a' 'b' `.
pub fn unknown_command(argv: &[crate::protocol::Arg<'_>]) -> Reply {
    let name = String::from_utf8_lossy(&argv[0]);
    let name: String = name.chars().take(128).collect();
    let mut args = String::new();
    for arg in &argv[1..] {
        if args.len() >= 128 {
            break;
        }
        let room = 128 - args.len();
        let text = String::from_utf8_lossy(arg);
        let clipped: String = text.chars().take(room).collect();
        args.push_str(&format!("'{clipped}' "));
    }
    Reply::error_owned(format!(
        "ERR unknown command '{name}', with args beginning with: {args}"
    ))
}

pub fn unknown_subcommand(command: &str, sub: &[u8]) -> Reply {
    let sub = String::from_utf8_lossy(sub);
    let sub: String = sub.chars().take(128).collect();
    Reply::error_owned(format!(
        "ERR unknown subcommand '{sub}'. Try {} HELP.",
        command.to_ascii_uppercase()
    ))
}

/// The prefix INFO errorstats counts an error under: its first word.
pub fn error_code(text: &str) -> &str {
    text.split(' ').next().unwrap_or("ERR")
}
