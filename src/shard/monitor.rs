//! MONITOR: every command the node runs, as a line to each monitoring
//! client.
//!
//! A client's own core writes the line of each of its commands (it has the
//! client's address), after the command ran here, or as it leaves for the
//! core that runs it; the line goes to this core's monitors at once and to
//! the other cores' in order with the keyspace events (`NotifyOutbox`).
//! Whether any client monitors at all is one node-wide counter, the only
//! cost when none does.

use super::conn::Conn;
use super::pubsub::Subscriber;
use super::Core;
use crate::command::CommandSpec;
use crate::protocol::{Arg, Reply};
use bytes::Bytes;
use std::sync::atomic::Ordering;

impl Core {
    /// Hands a monitor line to every monitoring client of the node.
    pub fn feed_monitors(&self, line: Bytes) {
        self.feed_local_monitors(&line);
        if self.cores() > 1 {
            self.send_to_other_cores(super::pubsub::Outgoing::Monitor(line));
        }
    }

    /// Monitors are held to the pubsub class of client-output-buffer-limit
    /// (Redis's normal class has no limit by default).
    fn feed_local_monitors(&self, line: &Bytes) {
        let text = String::from_utf8_lossy(line).into_owned();
        let limit = self.db.borrow().pubsub_limit;
        for monitor in self.monitors.borrow().iter() {
            monitor.push(Reply::Simple(text.clone().into()), text.len() + 3, limit);
        }
    }
}

/// `feed_local_monitors` as an op: argv[0] is the line.
pub(super) fn monitor_local(core: &Core, argv: &[Arg<'_>]) -> Reply {
    core.feed_local_monitors(&argv[0].to_bytes());
    Reply::ok()
}

impl Conn {
    /// Shows a command of this client to the monitors, if there are any.
    /// Administrative commands are not shown, as in Redis.
    #[inline]
    pub(super) fn monitor_command(&self, spec: &CommandSpec, argv: &[Arg<'_>]) {
        if self.core.shared.monitors.load(Ordering::Relaxed) == 0 || self.nested > 0 {
            return;
        }
        if !shown_to_monitors(spec, argv) {
            return;
        }
        self.core.feed_monitors(self.monitor_line(spec, argv));
    }

    fn monitor_line(&self, spec: &CommandSpec, argv: &[Arg<'_>]) -> Bytes {
        monitor_line(&self.handle.addr, spec, argv)
    }

    /// MONITOR: from now on this client receives every command's line.
    pub(super) fn monitor(&mut self) -> Reply {
        if self.tx.exec_transaction.is_some() {
            return Reply::error("ERR MONITOR isn't allowed for DENY BLOCKING client");
        }
        if self.handle.monitor.get() {
            return Reply::ok();
        }
        let subscriber = self
            .subscriber
            .get_or_insert_with(|| Subscriber::new(self.handle.clone()))
            .clone();
        self.core.monitors.borrow_mut().push(subscriber);
        self.handle.monitor.set(true);
        self.core.shared.monitors.fetch_add(1, Ordering::Relaxed);
        Reply::ok()
    }

    /// Leaves MONITOR mode (RESET, or the connection closing).
    pub(super) fn stop_monitoring(&mut self) {
        if !self.handle.monitor.replace(false) {
            return;
        }
        if let Some(subscriber) = &self.subscriber {
            self.core
                .monitors
                .borrow_mut()
                .retain(|monitor| !std::rc::Rc::ptr_eq(monitor, subscriber));
        }
        self.core.shared.monitors.fetch_sub(1, Ordering::Relaxed);
    }
}

/// `<seconds>.<micros> [0 <address>] "arg" "arg"...`, each argument quoted
/// and escaped as Redis's sdscatrepr does, passwords redacted. A script's
/// commands show `lua` for the address, as in Redis.
pub(super) fn monitor_line(
    address: &dyn std::fmt::Display,
    spec: &CommandSpec,
    argv: &[Arg<'_>],
) -> Bytes {
    let now = crate::command::now_us();
    let mut line =
        format!("{}.{:06} [0 {}]", now / 1_000_000, now % 1_000_000, address).into_bytes();
    let redacted = super::serverlog::redacted_positions(spec, argv);
    for (i, arg) in argv.iter().enumerate() {
        line.push(b' ');
        if redacted.contains(&i) {
            line.extend_from_slice(b"\"(redacted)\"");
        } else {
            repr(&mut line, arg);
        }
    }
    Bytes::from(line)
}

/// False for administrative commands and subcommands (CONFIG GET, DEBUG,
/// MONITOR...) and those Redis keeps from monitors.
fn shown_to_monitors(spec: &CommandSpec, argv: &[Arg<'_>]) -> bool {
    let hidden = |flags: &[&str]| flags.contains(&"admin") || flags.contains(&"skip_monitor");
    if hidden(spec.flags) {
        return false;
    }
    if !spec.is_container() || argv.len() < 2 {
        return true;
    }
    let sub = String::from_utf8_lossy(&argv[1]).to_ascii_lowercase();
    let full = format!("{}|{sub}", spec.name);
    crate::command::introspect::doc(&full).is_none_or(|doc| !hidden(doc.flags))
}

/// Appends `arg` in double quotes, escaped as Redis's sdscatrepr does.
fn repr(out: &mut Vec<u8>, arg: &[u8]) {
    out.push(b'"');
    for &byte in arg {
        match byte {
            b'\\' | b'"' => out.extend_from_slice(&[b'\\', byte]),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x07 => out.extend_from_slice(b"\\a"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x20..=0x7e => out.push(byte),
            _ => out.extend_from_slice(format!("\\x{byte:02x}").as_bytes()),
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::repr;

    #[test]
    fn arguments_are_quoted_as_redis_quotes_them() {
        let mut out = Vec::new();
        repr(&mut out, b"a\"b\\c\r\n\t\x07\x08\x00\xff d");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#""a\"b\\c\r\n\t\a\b\x00\xff d""#
        );
    }
}
