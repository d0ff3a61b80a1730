//! BITOP, PFCOUNT and PFMERGE over keys on several cores. Under the keys'
//! locks (see `locks`) the coordinator reads each source string from its
//! core, computes the result here, and writes the destination with one
//! shard function on its core, so other clients see the command whole.

use super::conn::Conn;
use super::coord::{is_payload, read_entry_local};
use super::locks::Mode;
use crate::command::bitmaps::{self, BitOp};
use crate::command::errors::WRONGTYPE;
use crate::command::hyperloglog;
use crate::keyspace::hll::{self, REGISTERS};
use crate::protocol::Reply;
use crate::protocol::{to_owned_args, Arg};
use bytes::Bytes;

/// A key's value as read from its core: None when missing, else its bytes
/// and whether it is a string (other types travel as DUMP payloads).
type Read = Option<(Bytes, bool)>;

impl Conn {
    /// Reads every key under the transaction's locks, in order.
    async fn read_values(&self, transaction: u64, keys: &[Bytes]) -> Vec<Read> {
        let mut values = Vec::with_capacity(keys.len());
        for key in keys {
            let argv = vec![Bytes::new(), key.clone()];
            let value = match self.locked(transaction, read_entry_local, argv, key).await {
                // A DUMP payload (see `is_payload`) is not a string.
                Reply::Array(parts) => match parts.first() {
                    Some(Reply::Bulk(bytes)) => Some((bytes.clone(), !is_payload(&parts))),
                    _ => Some((Bytes::new(), false)),
                },
                _ => None,
            };
            values.push(value);
        }
        values
    }

    pub async fn bitop_cross(&self, argv: &[Arg<'_>]) -> Reply {
        let args = argv;
        let argv: &[Bytes] = &to_owned_args(args);
        let op = match bitmaps::parse_bitop(args) {
            Ok(op) => op,
            Err(reply) => return reply,
        };
        let destination = &argv[2];
        let mut locks: Vec<(&Bytes, Mode)> =
            argv[3..].iter().map(|key| (key, Mode::Shared)).collect();
        locks.push((destination, Mode::Exclusive));
        let (transaction, cores) = self.lock_keys(&locks).await;
        let reply = self
            .bitop_locked(transaction, op, destination, &argv[3..])
            .await;
        self.unlock(transaction, &cores).await;
        reply
    }

    async fn bitop_locked(
        &self,
        transaction: u64,
        op: BitOp,
        destination: &Bytes,
        sources: &[Bytes],
    ) -> Reply {
        let values = self.read_values(transaction, sources).await;
        let mut strings = Vec::with_capacity(values.len());
        for value in values {
            match value {
                None => strings.push(None),
                Some((bytes, true)) => strings.push(Some(bytes)),
                Some((_, false)) => return Reply::error(WRONGTYPE),
            }
        }
        let result = Bytes::from(bitmaps::bitop_compute(op, &strings));
        let argv = vec![Bytes::new(), destination.clone(), result];
        self.locked(
            transaction,
            bitmaps::store_or_delete_local,
            argv,
            destination,
        )
        .await
    }

    /// PFCOUNT of several keys: the count of their union, nothing written.
    pub async fn pfcount_cross(&self, argv: &[Arg<'_>]) -> Reply {
        let args = argv;
        let argv: &[Bytes] = &to_owned_args(args);
        let keys = &argv[1..];
        let locks: Vec<(&Bytes, Mode)> = keys.iter().map(|key| (key, Mode::Shared)).collect();
        let (transaction, cores) = self.lock_keys(&locks).await;
        let values = self.read_values(transaction, keys).await;
        self.unlock(transaction, &cores).await;
        let mut max = vec![0u8; REGISTERS];
        match hyperloglog::merge_sources(&mut max, sources(&values)) {
            Ok(_) => Reply::Int(hll::count_registers(&max) as i64),
            Err(reply) => reply,
        }
    }

    /// PFMERGE: the destination is also a source, as in Redis.
    pub async fn pfmerge_cross(&self, argv: &[Arg<'_>]) -> Reply {
        let args = argv;
        let argv: &[Bytes] = &to_owned_args(args);
        let destination = &argv[1];
        let mut locks: Vec<(&Bytes, Mode)> =
            argv[2..].iter().map(|key| (key, Mode::Shared)).collect();
        locks.push((destination, Mode::Exclusive));
        let (transaction, cores) = self.lock_keys(&locks).await;
        let values = self.read_values(transaction, &argv[1..]).await;
        let mut max = vec![0u8; REGISTERS];
        let reply = match hyperloglog::merge_sources(&mut max, sources(&values)) {
            Ok(any_dense) => {
                let dense = Bytes::from_static(if any_dense { b"1" } else { b"0" });
                let argv = vec![Bytes::new(), destination.clone(), Bytes::from(max), dense];
                self.locked(
                    transaction,
                    hyperloglog::pfmerge_apply_local,
                    argv,
                    destination,
                )
                .await
            }
            Err(reply) => reply,
        };
        self.unlock(transaction, &cores).await;
        reply
    }
}

fn sources(values: &[Read]) -> impl Iterator<Item = Option<(&[u8], bool)>> {
    values.iter().map(|value| {
        value
            .as_ref()
            .map(|(bytes, is_string)| (&bytes[..], *is_string))
    })
}
